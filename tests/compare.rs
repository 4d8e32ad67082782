//! `compare`: path deviation, tuning, the suite, and its files.

use gradflow::compare::{CompareRun, Comparison, TuneGrid};
use gradflow::RunSpec;
use std::process::Command;

fn base() -> RunSpec {
    RunSpec::new("rosenbrock", "euler")
}

fn compare(
    problems: &[&str],
    methods: &[&str],
    base: RunSpec,
    tune: Option<TuneGrid>,
) -> Vec<CompareRun> {
    Comparison {
        problems: problems.iter().map(|s| s.to_string()).collect(),
        methods: methods.iter().map(|s| s.to_string()).collect(),
        base,
        tune,
    }
    .run()
    .unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn eq14_follows_the_flow_and_eq15_gets_there_first() {
    // L = ½(θ₁² + 100θ₂²) from (1, 1): the flow hugs θ₂ = θ₁¹⁰⁰; RMSprop runs down the diagonal.
    let (lr, alpha) = (1e-2, 0.9);
    let rows = compare(
        &["quadratic:n=2,kappa=100"],
        &[
            "rmsprop-norm:lr=0.01,alpha=0.9",
            "rmsprop:lr=0.01,alpha=0.9",
        ],
        base().x0(vec![1.0, 1.0]).ftol(1e-2).steps(100_000),
        None,
    );
    let (norm, rms) = (&rows[0], &rows[1]);
    let (dn, dr) = (norm.path_deviation.unwrap(), rms.path_deviation.unwrap());
    println!(
        "rmsprop-norm: {} steps, deviation {:.3e}; rmsprop: {} steps, deviation {:.3e}",
        norm.report.steps, dn.max, rms.report.steps, dr.max
    );
    assert_eq!(norm.report.status.as_str(), "ftol");
    assert_eq!(rms.report.status.as_str(), "ftol");
    assert!(
        dn.max <= lr / (1.0f64 - alpha).sqrt(),
        "eq. 14 deviation {}",
        dn.max
    );
    assert!(dr.max >= 0.3, "eq. 15 deviation {}", dr.max);
    assert!(rms.report.steps < norm.report.steps);
}

#[test]
fn euler_path_deviation_is_first_order_in_lr() {
    let rows = compare(
        &["rosenbrock"],
        &["euler:lr=1e-4", "euler:lr=5e-5", "euler:lr=2.5e-5"],
        base().t_end(3.0),
        None,
    );
    let d: Vec<f64> = rows.iter().map(|r| r.path_deviation.unwrap().max).collect();
    println!("euler deviations at lr = 1e-4, 5e-5, 2.5e-5: {d:?}");
    for w in d.windows(2) {
        let ratio = w[0] / w[1];
        assert!(
            (1.8..2.2).contains(&ratio),
            "halving lr divides the deviation by {ratio}"
        );
    }
}

/// Gradients of the best tuned `euler` over those of `heun-euler`, to L ≤ ftol.
fn heun_gain(problem: &str, x0: Vec<f64>, ftol: f64) -> (f64, Vec<CompareRun>) {
    let rows = compare(
        &[problem],
        &["euler", "heun-euler:rtol=1e-2,atol=1e-2"],
        base().x0(x0).ftol(ftol).max_evals(2_000_000),
        Some(TuneGrid {
            lo: 1e-4,
            hi: 1.0,
            points: 13,
        }),
    );
    for r in &rows {
        println!(
            "{problem} {} {:?}: {} ({} gradients)",
            r.report.method.name,
            r.tuned,
            r.report.status.as_str(),
            r.report.grad_evals
        );
    }
    // The tuned Euler reaches the target; if heun-euler spends the whole budget without
    // reaching it, the ratio below is an upper bound on its gain.
    assert_eq!(rows[0].report.status.as_str(), "ftol");
    (
        rows[0].report.grad_evals as f64 / rows[1].report.grad_evals as f64,
        rows,
    )
}

#[test]
fn error_controlled_gd_wins_on_a_flat_minimum_and_not_on_a_stiff_one() {
    // ‖θ‖∞ ≤ 1e-3 follows from L = ¼Σθᵢ⁴ ≤ ¼·1e-12.
    let (gain, rows) = heun_gain("quartic:n=3", vec![1.0, 0.7, 0.3], 0.25e-12);
    assert!(rows[0].tuned.is_some() && rows[1].tuned.is_none());
    assert_eq!(rows[1].report.status.as_str(), "ftol");
    assert!(gain >= 100.0, "quartic: heun-euler gain {gain}");
    let (gain, _) = heun_gain("quadratic:n=2,kappa=1000", vec![1.0, 1.0], 1e-10);
    assert!(gain < 100.0, "stiff quadratic: heun-euler gain {gain}");
    println!("gain on the stiff quadratic: {gain:.2}");
}

#[test]
fn tuning_needs_a_target() {
    let cmp = Comparison {
        problems: vec!["rosenbrock".into()],
        methods: vec!["euler".into()],
        base: base().steps(10),
        tune: Some(TuneGrid::default()),
    };
    assert!(cmp.run().unwrap_err().to_string().contains("--gtol"));
}

fn gradflow(args: &[&str], threads: &str) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_gradflow"))
        .args(args)
        .env("RAYON_NUM_THREADS", threads)
        .output()
        .unwrap()
}

/// Checks that `text` is well-formed XML as far as tags go: every element closes in order.
fn well_formed(text: &str) -> bool {
    let mut stack: Vec<String> = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find('<') {
        rest = &rest[i + 1..];
        let Some(j) = rest.find('>') else {
            return false;
        };
        let tag = &rest[..j];
        rest = &rest[j + 1..];
        if let Some(name) = tag.strip_prefix('/') {
            if stack.pop().as_deref() != Some(name.trim()) {
                return false;
            }
        } else if !tag.ends_with('/') && !tag.starts_with('?') && !tag.starts_with('!') {
            stack.push(tag.split_whitespace().next().unwrap_or("").to_string());
        }
    }
    stack.is_empty()
}

#[test]
fn the_cli_writes_json_csv_and_figures_identically_for_any_thread_count() {
    let dir = std::env::temp_dir().join(format!("gradflow-compare-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let run = |threads: &str, tag: &str| {
        let out = dir.join(format!("{tag}.json"));
        let csv = dir.join(format!("{tag}.csv"));
        let plots = dir.join(format!("{tag}-plots"));
        let o = gradflow(
            &[
                "compare",
                "--problem",
                "himmelblau",
                "--problem",
                "quadratic:n=2,kappa=10",
                "--method",
                "euler:lr=0.01",
                "--method",
                "heun-euler",
                "--method",
                "rmsprop",
                "--method",
                "adam:lr=0.05",
                "--steps",
                "300",
                "--out",
                out.to_str().unwrap(),
                "--csv",
                csv.to_str().unwrap(),
                "--plot",
                plots.to_str().unwrap(),
            ],
            threads,
        );
        assert_eq!(
            o.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&o.stderr)
        );
        let mut v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
        for r in v["runs"].as_array_mut().unwrap() {
            r["wall_seconds"] = 0.into();
        }
        (
            v,
            String::from_utf8_lossy(&o.stdout).into_owned(),
            plots,
            csv,
        )
    };
    let (one, stdout, plots, csv) = run("1", "one");
    let (two, _, _, _) = run("2", "two");
    assert_eq!(one, two, "output depends on the thread count");
    assert!(
        stdout.contains("== himmelblau ==") && stdout.contains('*'),
        "{stdout}"
    );
    let runs = one["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 8);
    for r in runs {
        for key in [
            "problem",
            "method",
            "status",
            "steps",
            "accepted",
            "rejected",
            "grad_evals",
            "hess_evals",
            "t",
            "loss",
            "grad_norm",
            "theta",
            "wall_seconds",
            "trajectory",
            "path_deviation",
            "distance_to_minimizer",
        ] {
            assert!(r.get(key).is_some(), "run lacks {key}");
        }
        assert!(
            r["path_deviation"]["max"].as_f64().unwrap()
                >= r["path_deviation"]["mean"].as_f64().unwrap()
        );
        assert!(r["distance_to_minimizer"].as_f64().is_some());
        assert!(r.get("tuned").is_none());
    }
    assert_eq!(std::fs::read_to_string(&csv).unwrap().lines().count(), 9);
    let mut figures = 0;
    for entry in std::fs::read_dir(&plots).unwrap() {
        let path = entry.unwrap().path();
        let svg = std::fs::read_to_string(&path).unwrap();
        assert!(well_formed(&svg), "{} is not well-formed", path.display());
        for m in ["euler", "heun-euler", "rmsprop", "adam"] {
            assert!(
                svg.contains(&format!("data-name=\"{m}")),
                "{} lacks {m}",
                path.display()
            );
        }
        figures += 1;
    }
    assert_eq!(
        figures, 8,
        "3 figures per problem and a path figure for each 2-D one"
    );
}

#[test]
fn compare_rejects_bad_input_like_run() {
    for args in [
        vec![
            "compare",
            "--problem",
            "nope",
            "--method",
            "euler",
            "--steps",
            "3",
        ],
        vec![
            "compare",
            "--problem",
            "rosenbrock",
            "--method",
            "euler:lr=-1",
            "--steps",
            "3",
        ],
        vec!["compare", "--problem", "rosenbrock", "--method", "euler"],
        vec![
            "compare",
            "--problem",
            "rosenbrock",
            "--method",
            "euler",
            "--steps",
            "3",
            "--tune",
        ],
        vec![
            "compare",
            "--problem",
            "rosenbrock",
            "--method",
            "euler",
            "--gtol",
            "1",
            "--tune",
            "--tune-range",
            "1,0.1",
        ],
    ] {
        let o = gradflow(&args, "1");
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        assert!(!String::from_utf8_lossy(&o.stderr).is_empty());
    }
}
