//! `expr:` problems end to end: the same trajectories as the registry problems they
//! spell out (through the library and through the binary), the Hessian-based methods,
//! checkpoints, compare, run-spec files, and the usage errors (parse errors with their
//! column, a missing or wrong `--x0`).
//!
//! # The tolerance of "the same trajectory"
//!
//! An `expr:` formula is evaluated by a different sequence of floating-point operations
//! than the hand-written registry code: its derivative is exmex's symbolic one (e.g.
//! `((y-x^2)*2)*(0-x*2)*100` where Rosenbrock's code computes `-400·x·a`) and `x^2` is
//! `powf(x, 2)`, not `x*x`. Each gradient therefore differs by a few ulps (relative
//! ~1e-16), and these differences are carried along the run. Both flows contract toward
//! their minima, so the differences stay of the size of round-off: the largest measured
//! (θ normwise, t, and the loss relative to the larger of |L| and L(θ₀) — near a minimum
//! L itself is a cancellation) is 1.1e-15. The tests allow `RTOL` = 1e-12: a thousand
//! times the measured round-off, and still far below what any wrong derivative term
//! gives (a wrong coefficient changes the first Euler step of size 1e-3 by ≥ 1e-5,
//! relative).

use gradflow::compare::Comparison;
use gradflow::{Report, RunSpec};
use std::path::PathBuf;
use std::process::{Command, Output};

const ROSENBROCK: &str = "expr:(1-x)^2 + 100*(y-x^2)^2";
const HIMMELBLAU: &str = "expr:(x^2+y-11)^2 + (x+y^2-7)^2";
/// The relative tolerance of "the same trajectory" (see the module documentation).
const RTOL: f64 = 1e-12;

fn scratch(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("gradflow-expr-{}-{tag}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// |a − b| / max(|a|, |b|, 1e-300): a relative difference that is 0 for equal numbers.
fn rel(a: f64, b: f64) -> f64 {
    if a == b {
        0.0
    } else {
        (a - b).abs() / a.abs().max(b.abs()).max(1e-300)
    }
}

/// The largest relative difference between two runs' θ and loss: at every recorded point
/// (`whole`), or at the end only; after checking that they made the same steps and ended
/// alike.
fn max_difference(a: &Report, b: &Report, whole: bool) -> f64 {
    assert_eq!(a.status, b.status);
    assert_eq!(
        (a.steps, a.rejected, a.grad_evals),
        (b.steps, b.rejected, b.grad_evals)
    );
    assert_eq!(a.trajectory.len(), b.trajectory.len());
    assert!(a.trajectory.len() > 2);
    let points = if whole { 0 } else { a.trajectory.len() - 1 };
    let norm = |v: &[f64]| v.iter().fold(0.0_f64, |m, x| m.max(x.abs()));
    let loss0 = a.trajectory[0].loss;
    let mut worst = rel(a.t, b.t);
    for (p, q) in a.trajectory.iter().zip(&b.trajectory).skip(points) {
        assert_eq!(p.step, q.step);
        let (tp, tq) = (p.theta.as_ref().unwrap(), q.theta.as_ref().unwrap());
        let diff: Vec<f64> = tp.iter().zip(tq).map(|(x, y)| x - y).collect();
        let dtheta = norm(&diff) / norm(tp).max(norm(tq)).max(1e-300);
        let dloss = (p.loss - q.loss).abs() / p.loss.abs().max(q.loss.abs()).max(loss0);
        worst = worst.max(rel(p.t, q.t)).max(dtheta).max(dloss);
    }
    worst
}

/// Runs `problem` from `x0` with `method` until `stop` (steps or t_end), recording every
/// accepted step.
fn run(problem: &str, method: &str, x0: &[f64], stop: Stop) -> Report {
    let spec = RunSpec::new(problem, method).x0(x0.to_vec()).record(1);
    match stop {
        Stop::Steps(n) => spec.steps(n),
        Stop::TEnd(t) => spec.t_end(t),
    }
    .run()
    .unwrap()
}

#[derive(Clone, Copy)]
enum Stop {
    Steps(u64),
    TEnd(f64),
}

/// The registry problem and its formula run alike under an explicit fixed step, an
/// optimizer, an adaptive pair and a Rosenbrock-type method (which uses the Hessian).
///
/// Fixed-step runs are compared at every step. Adaptive runs are compared at t_end, where
/// both land exactly: in between, their step sizes differ by ~1e-9 relative, because the
/// error estimate is a difference of two nearly equal solutions (of relative size ~rtol),
/// which magnifies the ulp-level differences of the gradients by 1/rtol; the step points
/// then lie at slightly different times, while the solution at a common time agrees to
/// round-off.
#[test]
fn formulas_follow_the_registry_trajectories() {
    for (formula, registry, x0) in [
        (ROSENBROCK, "rosenbrock", [-1.2, 1.0]),
        (HIMMELBLAU, "himmelblau", [0.0, 0.0]),
    ] {
        for (method, stop, whole) in [
            ("euler:lr=1e-3", Stop::Steps(1000), true),
            ("adam:lr=1e-2", Stop::Steps(1000), true),
            ("dopri5:rtol=1e-8", Stop::TEnd(2.0), false),
            ("ros23:rtol=1e-6", Stop::TEnd(50.0), false),
            ("rodas4", Stop::TEnd(50.0), false),
            ("implicit-euler:lr=0.05", Stop::Steps(200), true),
        ] {
            let mine = run(formula, method, &x0, stop);
            let theirs = run(registry, method, &x0, stop);
            let d = max_difference(&mine, &theirs, whole);
            println!(
                "{registry} {method}: max relative difference {d:.2e} ({})",
                if whole { "every step" } else { "at t_end" }
            );
            assert!(d <= RTOL, "{registry} {method}: {d:e}");
            assert_eq!(mine.problem.name, "expr");
            assert_eq!(
                mine.problem.formula.as_deref(),
                formula.strip_prefix("expr:")
            );
            assert_eq!(mine.problem.variables, Some(vec!["x".into(), "y".into()]));
            // Not a trivial agreement: the run moved.
            let end = mine.theta.as_ref().unwrap();
            assert!(
                (end[0] - x0[0]).abs() + (end[1] - x0[1]).abs() > 0.1,
                "{end:?}"
            );
        }
    }
}

/// The comparison above can fail: a formula off by 1e-5 in one coefficient is told apart.
#[test]
fn a_slightly_different_formula_is_not_the_same_trajectory() {
    let x0 = [-1.2, 1.0];
    let mine = run(
        "expr:(1-x)^2 + 100.001*(y-x^2)^2",
        "euler:lr=1e-3",
        &x0,
        Stop::Steps(1000),
    );
    let theirs = run("rosenbrock", "euler:lr=1e-3", &x0, Stop::Steps(1000));
    let d = max_difference(&mine, &theirs, true);
    assert!(d > 1e3 * RTOL, "{d:e}");
}

/// Round-trip of numbers, f32 runs, and a 3-variable formula whose order is by name.
#[test]
fn f32_runs_and_variable_order() {
    let f64_run = run(ROSENBROCK, "euler:lr=1e-3", &[-1.2, 1.0], Stop::Steps(500));
    let f32_run = RunSpec::new(ROSENBROCK, "euler:lr=1e-3")
        .x0(vec![-1.2, 1.0])
        .steps(500)
        .dtype(gradflow::Dtype::F32)
        .run()
        .unwrap();
    assert_eq!(f32_run.dtype, "f32");
    let (a, b) = (f64_run.theta.unwrap(), f32_run.theta.unwrap());
    for (x, y) in a.iter().zip(&b) {
        assert!((x - y).abs() < 1e-4, "{a:?} {b:?}");
    }
    // Variables sorted by name: b, x, z. The minimum is at (b, x, z) = (3, 1, -2).
    let r = RunSpec::new("expr:(z+2)^2 + (x-1)^2 + (b-3)^2", "dopri5")
        .x0(vec![0.0, 0.0, 0.0])
        .t_end(40.0)
        .run()
        .unwrap();
    assert_eq!(
        r.problem.variables,
        Some(vec!["b".into(), "x".into(), "z".into()])
    );
    let theta = r.theta.unwrap();
    for (got, want) in theta.iter().zip([3.0, 1.0, -2.0]) {
        // dopri5's default rtol = 1e-6 bounds the error.
        assert!((got - want).abs() < 1e-5, "{theta:?}");
    }
}

/// A checkpointed expr run resumes bit for bit, and compare and run-spec files take
/// formulas.
#[test]
fn checkpoints_compare_and_spec_files() {
    let dir = scratch("ckpt");
    for method in ["dopri5", "rmsprop", "rodas4"] {
        let spec = || {
            RunSpec::new(HIMMELBLAU, method)
                .x0(vec![-1.0, 1.0])
                .record(20)
        };
        let whole = spec().steps(300).run().unwrap();
        let path = dir.join(format!("{method}.json"));
        spec()
            .steps(120)
            .checkpoint(path.to_str().unwrap(), 50)
            .run()
            .unwrap();
        let (resumed_spec, resumed) =
            gradflow::checkpoint::resume(&path, |s| s.steps = Some(300)).unwrap();
        assert_eq!(resumed_spec.problem, spec().problem);
        let bits = |r: &Report| -> Vec<u64> {
            r.theta
                .as_ref()
                .unwrap()
                .iter()
                .map(|x| x.to_bits())
                .collect()
        };
        assert_eq!(bits(&whole), bits(&resumed), "{method}");
        assert_eq!(whole.t.to_bits(), resumed.t.to_bits(), "{method}");
        assert_eq!(
            (whole.steps, whole.grad_evals),
            (resumed.steps, resumed.grad_evals)
        );
        assert_eq!(whole.trajectory, resumed.trajectory, "{method}");
    }

    let mut base = RunSpec::new("rosenbrock", "euler")
        .x0(vec![-1.2, 1.0])
        .steps(300);
    base.record = Some(1);
    let cmp = Comparison {
        problems: vec![ROSENBROCK.to_string(), "rosenbrock".to_string()],
        methods: vec!["euler:lr=1e-3".to_string(), "ros23".to_string()],
        base,
        tune: None,
    };
    let rows = cmp.run().unwrap();
    assert_eq!(rows.len(), 4);
    for m in 0..2 {
        let (a, b) = (&rows[m], &rows[2 + m]);
        assert_eq!(a.report.problem.name, "expr");
        assert!(max_difference(&a.report, &b.report, m == 0) <= RTOL);
        // The flow-curve reference is computed for formulas as for registry problems. Its
        // adaptive steps differ slightly (see `formulas_follow_the_registry_trajectories`),
        // so the deviations (~1e-5, differences of points of size ~1) agree to ~1e-8.
        let (da, db) = (a.path_deviation.unwrap(), b.path_deviation.unwrap());
        assert!((da.max - db.max).abs() <= 1e-7, "{da:?} {db:?}");
        assert!((da.mean - db.mean).abs() <= 1e-7, "{da:?} {db:?}");
    }
    let figures = cmp.plot(&rows, &dir.join("figures")).unwrap();
    assert!(!figures.is_empty());

    let file = dir.join("spec.json");
    std::fs::write(
        &file,
        format!(r#"{{"problem": "{ROSENBROCK}", "method": "euler:lr=1e-3", "x0": [-1.2, 1], "steps": 10}}"#),
    )
    .unwrap();
    let from_file: RunSpec =
        serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    let a = from_file.run().unwrap();
    let b = run(ROSENBROCK, "euler:lr=1e-3", &[-1.2, 1.0], Stop::Steps(10));
    assert_eq!(a.theta, b.theta);
    let object: RunSpec = serde_json::from_str(
        r#"{"problem": {"name": "expr", "params": {}}, "method": "euler", "x0": [1], "steps": 1}"#,
    )
    .unwrap();
    let e = object.run().unwrap_err().to_string();
    assert!(e.contains("\"expr:FORMULA\""), "{e}");
}

// ----------------------------------------------------------------------------------
// Through the binary.

fn gradflow(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_gradflow"))
        .args(args)
        .output()
        .expect("the binary runs")
}

fn report(path: &std::path::Path) -> Report {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn the_binary_runs_formulas_like_registry_problems() {
    let dir = scratch("cli");
    for (formula, registry, x0) in [
        (ROSENBROCK, "rosenbrock", "-1.2,1"),
        (HIMMELBLAU, "himmelblau", "0,0"),
    ] {
        for (method, stop, whole) in [
            ("euler:lr=1e-3", ["--steps", "1000"], true),
            ("dopri5:rtol=1e-8", ["--t-end", "2"], false),
            ("ros23", ["--t-end", "20"], false),
        ] {
            let mut reports = Vec::new();
            for (i, problem) in [formula, registry].into_iter().enumerate() {
                let out = dir.join(format!("{registry}-{i}.json"));
                let o = gradflow(&[
                    "run",
                    "--problem",
                    problem,
                    "--method",
                    method,
                    "--x0",
                    x0,
                    stop[0],
                    stop[1],
                    "--record",
                    "1",
                    "--out",
                    out.to_str().unwrap(),
                ]);
                assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
                reports.push(report(&out));
            }
            let d = max_difference(&reports[0], &reports[1], whole);
            assert!(d <= RTOL, "{registry} {method}: {d:e}");
            // The summary names the formula and the order of its variables.
            let o = gradflow(&[
                "run",
                "--problem",
                formula,
                "--method",
                method,
                "--x0",
                x0,
                stop[0],
                stop[1],
            ]);
            let text = String::from_utf8_lossy(&o.stdout);
            assert!(
                text.contains(&format!("problem  {formula} (n = 2: x, y)")),
                "{text}"
            );
        }
    }
}

/// Bad formulas and starts are usage errors: exit 2, the column (with the formula and a
/// caret under it) or the variables named, and no file written.
#[test]
fn the_binary_reports_bad_formulas_and_starts() {
    let dir = scratch("bad");
    let out = dir.join("out.json");
    let cases: [(&str, &str, &[&str]); 7] = [
        (
            "expr:(1-x)^2 + 100*(y-x^2))^2",
            "--x0=1,2",
            &[
                "unmatched ')' at column 22\n",
                // The formula, then a caret under column 22.
                "\n  (1-x)^2 + 100*(y-x^2))^2\n                       ^\n",
            ],
        ),
        (
            "expr:(1-x)^2 + 100*(y-x^2)^2",
            "--record=1",
            &["has no default start", "2 variables x, y", "--x0"],
        ),
        (
            "expr:(1-x)^2 + 100*(y-x^2)^2",
            "--x0=1,2,3",
            &["x0 has 3 values", "2 variables x, y"],
        ),
        (
            "expr:2x + y",
            "--x0=1,2",
            &["at column 2", "write * between factors"],
        ),
        (
            "expr:x + foo(y)",
            "--x0=1,2",
            &["unknown function 'foo' at column 5"],
        ),
        (
            "expr:x + (y",
            "--x0=1,2",
            &["this '(' is never closed at column 5"],
        ),
        ("expr", "--x0=1", &["needs a formula"]),
    ];
    for (problem, extra, needles) in cases {
        let o = gradflow(&[
            "run",
            "--problem",
            problem,
            "--method",
            "euler",
            "--steps",
            "3",
            extra,
            "--out",
            out.to_str().unwrap(),
        ]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{problem}: {err}");
        for needle in needles {
            assert!(err.contains(needle), "{problem}: {err:?} lacks {needle:?}");
        }
        assert!(!out.exists(), "{problem}: wrote a report");
    }
}

#[test]
fn the_binary_resumes_and_compares_formulas() {
    let dir = scratch("cli-resume");
    let ckpt = dir.join("ckpt.json");
    let (whole, resumed) = (dir.join("whole.json"), dir.join("resumed.json"));
    let args = [
        "--problem",
        HIMMELBLAU,
        "--method",
        "dopri5",
        "--x0",
        "-1,1",
        "--record",
        "5",
    ];
    let o = gradflow(
        &[
            &["run"][..],
            &args,
            &["--steps", "80", "--out", whole.to_str().unwrap()],
        ]
        .concat(),
    );
    assert!(o.status.success());
    let o = gradflow(
        &[
            &["run"][..],
            &args,
            &[
                "--steps",
                "30",
                "--checkpoint",
                ckpt.to_str().unwrap(),
                "--checkpoint-every",
                "10",
            ],
        ]
        .concat(),
    );
    assert!(o.status.success());
    let o = gradflow(&[
        "resume",
        ckpt.to_str().unwrap(),
        "--steps",
        "80",
        "--out",
        resumed.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let (a, b) = (report(&whole), report(&resumed));
    assert_eq!(a.theta, b.theta);
    assert_eq!(a.trajectory, b.trajectory);

    let o = gradflow(&[
        "compare",
        "--problem",
        ROSENBROCK,
        "--problem",
        HIMMELBLAU,
        "--method",
        "euler:lr=1e-3",
        "--method",
        "rodas4",
        "--x0",
        "-1,1",
        "--steps",
        "200",
        "--plot",
        dir.join("fig").to_str().unwrap(),
    ]);
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(text.contains(&format!("== {ROSENBROCK} ==")), "{text}");
    assert!(text.contains("wrote"), "{text}");

    let o = gradflow(&["list"]);
    assert!(String::from_utf8_lossy(&o.stdout).contains("expr:FORMULA"));
}
