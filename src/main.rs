//! The `gradflow` command line: `list`, `run`, `resume`, `compare` and `reproduce` (see
//! `docs/guide.md`).

use clap::{Args, Parser, Subcommand};
use gradflow::integrators::scalar::rtol_floor;
use gradflow::output::{report_json, trajectory_csv, write_atomic};
use gradflow::run::{Dtype, RunSpec, SpecField};
use gradflow::{Error, Report};
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "gradflow",
    version,
    about = "Integrate gradient flows: every optimizer is an ODE integrator"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// List every problem and method with its keys and defaults.
    List {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Integrate one problem's gradient flow with one method.
    Run(Box<RunArgs>),
    /// Continue a checkpointed run.
    Resume(Box<ResumeArgs>),
    /// Compare methods side by side on one or more problems.
    Compare(Box<CompareArgs>),
    /// Reproduce the article's derivation as asserted experiments.
    Reproduce {
        /// Reduced experiments that run in seconds.
        #[arg(long)]
        quick: bool,
        /// Run only the experiment with this id.
        #[arg(long, value_name = "ID")]
        only: Option<String>,
        /// Output directory (default: docs/reproduction for a full run, target/reproduction
        /// for --quick or --only, so a partial run never overwrites the committed one).
        #[arg(long, value_name = "DIR")]
        out: Option<String>,
    },
}

/// Start, stops, recording and precision, shared by `run` and `compare`.
#[derive(Args, Default)]
struct Common {
    /// Start point, comma-separated (default: the problem's).
    #[arg(long, value_name = "a,b,...", allow_hyphen_values = true)]
    x0: Option<String>,
    /// Stop after N accepted steps.
    #[arg(long, value_name = "N")]
    steps: Option<u64>,
    /// Stop at virtual time T.
    #[arg(long, value_name = "T", allow_hyphen_values = true)]
    t_end: Option<f64>,
    /// Stop when ‖∇L‖₂ ≤ G.
    #[arg(long, value_name = "G", allow_hyphen_values = true)]
    gtol: Option<f64>,
    /// Stop when L ≤ F.
    #[arg(long, value_name = "F", allow_hyphen_values = true)]
    ftol: Option<f64>,
    /// Stop after E gradient evaluations.
    #[arg(long, value_name = "E")]
    max_evals: Option<u64>,
    /// Record step 0, every K-th accepted step and the last.
    #[arg(long, value_name = "K")]
    record: Option<u64>,
    /// Leave θ out of the report and the trajectory.
    #[arg(long)]
    no_theta: bool,
    /// Precision: f64 or f32.
    #[arg(long, value_name = "f64|f32")]
    dtype: Option<String>,
}

impl Common {
    /// Applies the flags given on top of `spec`.
    fn apply(self, spec: &mut RunSpec) -> Result<(), Error> {
        if let Some(x0) = &self.x0 {
            spec.x0 = Some(parse_x0(x0)?);
        }
        spec.steps = self.steps.or(spec.steps);
        spec.t_end = self.t_end.or(spec.t_end);
        spec.gtol = self.gtol.or(spec.gtol);
        spec.ftol = self.ftol.or(spec.ftol);
        spec.max_evals = self.max_evals.or(spec.max_evals);
        spec.record = self.record.or(spec.record);
        spec.no_theta |= self.no_theta;
        if let Some(d) = self.dtype {
            spec.dtype = match d.as_str() {
                "f64" => Dtype::F64,
                "f32" => Dtype::F32,
                _ => return Err(Error::usage(format!("--dtype {d}: expected f64 or f32"))),
            };
        }
        Ok(())
    }
}

#[derive(Args)]
struct RunArgs {
    /// Problem spec, e.g. `rosenbrock:n=2`.
    #[arg(long, value_name = "SPEC")]
    problem: Option<String>,
    /// Method spec, e.g. `dopri5:rtol=1e-8`.
    #[arg(long, value_name = "SPEC")]
    method: Option<String>,
    /// Read the run from a JSON file with the same fields (flags given too override it).
    #[arg(long, value_name = "FILE.json")]
    spec: Option<String>,
    /// Write the report as JSON.
    #[arg(long, value_name = "FILE.json")]
    out: Option<String>,
    /// Write the trajectory as CSV.
    #[arg(long, value_name = "FILE.csv")]
    csv: Option<String>,
    /// Save the complete integration state to FILE (atomically) as the run goes.
    #[arg(long, value_name = "FILE")]
    checkpoint: Option<String>,
    /// Save the checkpoint every K accepted steps (and at the end; default 1000).
    #[arg(long, value_name = "K")]
    checkpoint_every: Option<u64>,
    #[command(flatten)]
    common: Common,
}

#[derive(Args)]
struct ResumeArgs {
    /// The checkpoint file (from `run --checkpoint`); it keeps being updated.
    file: String,
    /// Stop after N accepted steps in all (new stops replace the saved ones).
    #[arg(long, value_name = "N")]
    steps: Option<u64>,
    /// Stop at virtual time T.
    #[arg(long, value_name = "T", allow_hyphen_values = true)]
    t_end: Option<f64>,
    /// Stop when ‖∇L‖₂ ≤ G.
    #[arg(long, value_name = "G", allow_hyphen_values = true)]
    gtol: Option<f64>,
    /// Stop when L ≤ F.
    #[arg(long, value_name = "F", allow_hyphen_values = true)]
    ftol: Option<f64>,
    /// Stop after E gradient evaluations in all.
    #[arg(long, value_name = "E")]
    max_evals: Option<u64>,
    /// Write the report as JSON.
    #[arg(long, value_name = "FILE.json")]
    out: Option<String>,
    /// Write the trajectory as CSV.
    #[arg(long, value_name = "FILE.csv")]
    csv: Option<String>,
    /// Save every K accepted steps from now on.
    #[arg(long, value_name = "K")]
    checkpoint_every: Option<u64>,
}

#[derive(Args)]
struct CompareArgs {
    /// Problem spec; repeat for several, or `all` for every registered problem.
    #[arg(long, value_name = "SPEC", required = true)]
    problem: Vec<String>,
    /// Method spec; repeat for several.
    #[arg(long, value_name = "SPEC", required = true)]
    method: Vec<String>,
    /// Tune the lr of every fixed-step method on a log grid (needs --gtol or --ftol).
    #[arg(long)]
    tune: bool,
    /// Range of the tuning grid.
    #[arg(long, value_name = "LO,HI", default_value = "1e-5,1")]
    tune_range: String,
    /// Points of the tuning grid.
    #[arg(long, value_name = "N", default_value_t = 16)]
    tune_points: usize,
    /// Write `{"runs": [...]}` as JSON.
    #[arg(long, value_name = "FILE.json")]
    out: Option<String>,
    /// Write one CSV row per run.
    #[arg(long, value_name = "FILE.csv")]
    csv: Option<String>,
    /// Write SVG figures into DIR.
    #[arg(long, value_name = "DIR")]
    plot: Option<String>,
    #[command(flatten)]
    common: Common,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::List { json } => list(json),
        Command::Run(args) => run(*args),
        Command::Compare(args) => compare(*args),
        Command::Resume(args) => resume(*args),
        Command::Reproduce { quick, only, out } => {
            let partial = quick || only.is_some();
            let out = out.unwrap_or_else(|| {
                if partial {
                    "target/reproduction"
                } else {
                    "docs/reproduction"
                }
                .to_string()
            });
            reproduce(quick, only, &out)
        }
    };
    match result {
        Ok(code) => code,
        Err(e @ Error::Io(_)) => {
            eprintln!("gradflow: error: {e}");
            ExitCode::from(1)
        }
        Err(e) => {
            eprintln!("gradflow: error: {e}");
            ExitCode::from(2)
        }
    }
}

fn parse_x0(text: &str) -> Result<Vec<f64>, Error> {
    text.split(',')
        .enumerate()
        .map(|(i, s)| {
            s.trim().parse::<f64>().map_err(|_| {
                Error::usage(format!(
                    "--x0: value {} '{}' is not a number",
                    i + 1,
                    s.trim()
                ))
            })
        })
        .collect()
}

fn run_spec(args: RunArgs) -> Result<RunSpec, Error> {
    let mut spec =
        match &args.spec {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| Error::usage(format!("--spec {path}: cannot read: {e}")))?;
                serde_json::from_str::<RunSpec>(&text)
                    .map_err(|e| Error::usage(format!("--spec {path}: {e}")))?
            }
            None => {
                let problem = args.problem.clone().ok_or_else(|| {
                    Error::usage("--problem SPEC is required (or --spec FILE.json)")
                })?;
                let method = args.method.clone().ok_or_else(|| {
                    Error::usage("--method SPEC is required (or --spec FILE.json)")
                })?;
                RunSpec::new(&problem, &method)
            }
        };
    if let Some(p) = args.problem {
        spec.problem = SpecField::Text(p);
    }
    if let Some(m) = args.method {
        spec.method = SpecField::Text(m);
    }
    spec.out = args.out.or(spec.out);
    spec.csv = args.csv.or(spec.csv);
    spec.checkpoint = args.checkpoint.or(spec.checkpoint);
    spec.checkpoint_every = args.checkpoint_every.or(spec.checkpoint_every);
    args.common.apply(&mut spec)?;
    Ok(spec)
}

fn run(args: RunArgs) -> Result<ExitCode, Error> {
    let spec = run_spec(args)?;
    let report = spec.run()?;
    finish_run(&spec, &report)
}

fn resume(args: ResumeArgs) -> Result<ExitCode, Error> {
    let new_stops = args.steps.is_some()
        || args.t_end.is_some()
        || args.gtol.is_some()
        || args.ftol.is_some()
        || args.max_evals.is_some();
    let file = args.file.clone();
    let (spec, report) = gradflow::checkpoint::resume(Path::new(&args.file), |spec| {
        if new_stops {
            spec.steps = args.steps;
            spec.t_end = args.t_end;
            spec.gtol = args.gtol;
            spec.ftol = args.ftol;
            spec.max_evals = args.max_evals;
        }
        spec.out = args.out.or(spec.out.take());
        spec.csv = args.csv.or(spec.csv.take());
        spec.checkpoint = Some(file);
        spec.checkpoint_every = args.checkpoint_every.or(spec.checkpoint_every);
    })?;
    finish_run(&spec, &report)
}

/// Writes the report and trajectory files a spec asks for and prints the summary.
fn finish_run(spec: &RunSpec, report: &Report) -> Result<ExitCode, Error> {
    // Encode everything before writing anything, so a failure leaves no file behind.
    let json = match &spec.out {
        Some(_) => Some(report_json(report)?),
        None => None,
    };
    let csv = spec.csv.as_ref().map(|_| trajectory_csv(report));
    if let (Some(path), Some(json)) = (&spec.out, json) {
        write_atomic(Path::new(path), json.as_bytes())?;
    }
    if let (Some(path), Some(csv)) = (&spec.csv, csv) {
        write_atomic(Path::new(path), csv.as_bytes())?;
    }
    print_summary(report);
    if let Some(stiff) = &report.stiffness {
        eprintln!("{}", stiff.warning(&report.method.name));
    }
    if let Some(Some(gradflow::spec::Value::Number(rtol))) = report.method.params.get("rtol") {
        let floor = if report.dtype == "f32" {
            f64::from(rtol_floor::<f32>())
        } else {
            rtol_floor::<f64>()
        };
        if *rtol < floor {
            eprintln!(
                "warning: rtol={rtol:e} is below 100·ε of {}; the run used rtol={floor:e}",
                report.dtype
            );
        }
    }
    Ok(if report.status.is_success() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(3)
    })
}

fn print_summary(r: &Report) {
    let mut out = String::new();
    let params = |m: &std::collections::BTreeMap<String, String>| {
        m.iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(",")
    };
    let pp = r
        .problem
        .params
        .iter()
        .map(|(k, v)| (k.clone(), format!("{v}")))
        .collect();
    let mp = r
        .method
        .params
        .iter()
        .map(|(k, v)| (k.clone(), v.map_or("auto".to_string(), |v| v.to_string())))
        .collect();
    let pp = params(&pp);
    let sep = if pp.is_empty() { "" } else { ":" };
    match (&r.problem.formula, &r.problem.variables) {
        (Some(formula), Some(vars)) => {
            let _ = writeln!(
                out,
                "problem  {}:{formula} (n = {}: {})",
                r.problem.name,
                r.problem.dim,
                vars.join(", ")
            );
        }
        _ => {
            let _ = writeln!(
                out,
                "problem  {}{sep}{pp} (n = {})",
                r.problem.name, r.problem.dim
            );
        }
    }
    let _ = writeln!(
        out,
        "method   {}:{} ({})",
        r.method.name,
        params(&mp),
        r.dtype
    );
    let _ = writeln!(out, "status   {}", r.status.as_str());
    let _ = writeln!(
        out,
        "steps    {} accepted, {} rejected, {} gradient evaluations",
        r.accepted, r.rejected, r.grad_evals
    );
    let _ = writeln!(out, "t        {:.6e}", r.t);
    let _ = writeln!(out, "loss     {:.6e}   |grad| {:.6e}", r.loss, r.grad_norm);
    if let Some(theta) = &r.theta {
        let shown: Vec<String> = theta.iter().take(6).map(|x| format!("{x:.10}")).collect();
        let more = if theta.len() > 6 { ", ..." } else { "" };
        let _ = writeln!(out, "theta    [{}{more}]", shown.join(", "));
    }
    let _ = writeln!(out, "wall     {:.3e} s", r.wall_seconds);
    emit(&out);
}

/// Prints to stdout, ignoring a closed pipe (`gradflow list | head`).
fn emit(text: &str) {
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
}

/// The `list` line of the formula problem.
const EXPR_LINE: &str = "a loss written as a formula, e.g. 'expr:(1-x)^2 + 100*(y-x^2)^2'; variables in sorted order (x, y); needs --x0; exact derivatives (docs/guide.md)";

fn list(json: bool) -> Result<ExitCode, Error> {
    use gradflow::methods::methods;
    let mut out = String::new();
    use gradflow_problems::registry;
    if json {
        let problems: Vec<_> = registry()
            .iter()
            .map(|p| {
                serde_json::json!({
                    "name": p.name,
                    "description": p.description,
                    "keys": p.keys.iter().map(|k| serde_json::json!({
                        "name": k.name, "default": k.default, "valid": k.valid(), "doc": k.doc,
                    })).collect::<Vec<_>>(),
                })
            })
            .collect();
        let methods: Vec<_> = methods()
            .iter()
            .map(|m| {
                serde_json::json!({
                    "name": m.name,
                    "description": m.description,
                    "keys": m.keys.iter().map(|k| serde_json::json!({
                        "name": k.name, "default": k.default, "valid": k.kind.describe(), "doc": k.doc,
                    })).collect::<Vec<_>>(),
                })
            })
            .collect();
        let doc = serde_json::json!({
            "problems": problems,
            "formula": {
                "name": "expr",
                "syntax": "expr:FORMULA",
                "description": EXPR_LINE,
                "needs": "x0",
                "functions": gradflow_problems::expr::FUNCTIONS,
            },
            "methods": methods,
        });
        let _ = writeln!(
            out,
            "{}",
            serde_json::to_string_pretty(&doc).unwrap_or_default()
        );
        emit(&out);
        return Ok(ExitCode::SUCCESS);
    }
    let _ = writeln!(out, "Problems (--problem NAME[:key=value,...])");
    for p in registry() {
        let _ = writeln!(out, "  {:<12} {}", p.name, p.description);
        for k in p.keys {
            let _ = writeln!(
                out,
                "      {:<10} default {:<8} {} ({})",
                k.name,
                format!("{}", k.default),
                k.doc,
                k.valid()
            );
        }
    }
    let _ = writeln!(out, "  {:<12} {EXPR_LINE}", "expr:FORMULA");
    let _ = writeln!(
        out,
        "      functions: {}",
        gradflow_problems::expr::FUNCTIONS.join(" ")
    );
    let _ = writeln!(out);
    let _ = writeln!(out, "Methods (--method NAME[:key=value,...])");
    for m in methods() {
        let _ = writeln!(out, "  {:<12} {}", m.name, m.description);
        for k in m.keys {
            let d = k.default.map_or("auto".to_string(), |v| v.to_string());
            let _ = writeln!(
                out,
                "      {:<10} default {:<8} {} ({})",
                k.name,
                d,
                k.doc,
                k.kind.describe()
            );
        }
    }
    emit(&out);
    Ok(ExitCode::SUCCESS)
}

fn compare(args: CompareArgs) -> Result<ExitCode, Error> {
    use gradflow::compare::{csv, matrix, table, Comparison, TuneGrid};
    let mut base = RunSpec::new("rosenbrock", "euler");
    if args.plot.is_some() && args.common.record.is_none() {
        // Every step for the figures, thinned to a few thousand points per run.
        base.record = Some(1);
        base.record_max = Some(4000);
    }
    args.common.apply(&mut base)?;
    let tune = if args.tune {
        let range = parse_x0(&args.tune_range).map_err(|_| {
            Error::usage(format!("--tune-range {}: expected LO,HI", args.tune_range))
        })?;
        let [lo, hi] = range[..] else {
            return Err(Error::usage(format!(
                "--tune-range {}: expected LO,HI",
                args.tune_range
            )));
        };
        Some(TuneGrid {
            lo,
            hi,
            points: args.tune_points,
        })
    } else {
        None
    };
    let cmp = Comparison {
        problems: args.problem,
        methods: args.method,
        base,
        tune,
    };
    let rows = {
        use std::io::IsTerminal;
        let total = (cmp.problem_specs().len() * cmp.methods.len()) as u64;
        let bar = if std::io::stderr().is_terminal() {
            indicatif::ProgressBar::new(total)
        } else {
            indicatif::ProgressBar::hidden()
        };
        bar.set_style(
            indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} runs {elapsed}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        let rows = cmp.run_with_progress(&|| bar.inc(1));
        bar.finish_and_clear();
        rows?
    };
    let json = match &args.out {
        Some(_) => Some(
            serde_json::to_string_pretty(&serde_json::json!({ "runs": &rows }))
                .map_err(|e| Error::Io(format!("cannot encode JSON: {e}")))?,
        ),
        None => None,
    };
    if let (Some(path), Some(json)) = (&args.out, json) {
        write_atomic(Path::new(path), json.as_bytes())?;
    }
    if let Some(path) = &args.csv {
        write_atomic(Path::new(path), csv(&rows).as_bytes())?;
    }
    let mut out = String::new();
    let problems = cmp.problem_specs();
    let m = cmp.methods.len();
    for (i, p) in problems.iter().enumerate() {
        let mine: Vec<_> = rows[i * m..(i + 1) * m].iter().collect();
        let _ = writeln!(out, "== {p} ==");
        out.push_str(&table(&mine));
        out.push('\n');
    }
    if problems.len() > 1 {
        let _ = writeln!(out, "gradient evaluations to the target (or the status):");
        out.push_str(&matrix(&problems, &cmp.methods, &rows));
    }
    let _ = writeln!(
        out,
        "* best in column; dist* = distance to the known minimizer; dev = distance of the accepted iterates from the gradient-flow curve"
    );
    if let Some(dir) = &args.plot {
        let files = cmp.plot(&rows, Path::new(dir))?;
        let _ = writeln!(out, "wrote {} figures to {dir}", files.len());
    }
    emit(&out);
    Ok(ExitCode::SUCCESS)
}

fn reproduce(quick: bool, only: Option<String>, out: &str) -> Result<ExitCode, Error> {
    use gradflow::reproduce::{reproduce, Options};
    let claims = reproduce(&Options { quick, only }, Path::new(out))?;
    let mut text = String::new();
    for c in &claims {
        let _ = writeln!(
            text,
            "{} {:<28} {}",
            if c.pass { "PASS" } else { "FAIL" },
            c.id,
            c.claim
        );
    }
    let passed = claims.iter().filter(|c| c.pass).count();
    let failed = claims.len() - passed;
    let _ = writeln!(text, "{passed} passed, {failed} failed");
    let _ = writeln!(
        text,
        "wrote {out}/claims.json, {out}/README.md and the figures"
    );
    emit(&text);
    Ok(if failed == 0 && !claims.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(3)
    })
}
