//! The table of `docs/stiff.md`: explicit pairs against implicit and linearly implicit
//! methods on a stiff flow (`rosenbrock`), a stiff quadratic and a well-conditioned one
//! (`logistic`), at the registry's defaults rtol = 1e-6, atol = 1e-9.
//!
//! `cargo run --release --example stiff_table`
//!
//! Endpoint errors are max-norm distances to SciPy's DOP853 reference at rtol = atol =
//! 1e-13 (`tests/fixtures/scipy/reference.json`) or to the exact flow (quadratic). Wall
//! time is the integration loop alone (the report's `wall_seconds`), the best of five runs.

use gradflow::problems::build;
use gradflow::RunSpec;
use nalgebra::DVector;
use serde_json::Value;

/// The reference state of `problem` at `t`.
fn reference(problem: &str, t: f64) -> Vec<f64> {
    if problem.starts_with("quadratic") {
        let p = build::<f64>("quadratic", &[("n", 2.0), ("kappa", 1000.0)]).expect("problem");
        let mut out = DVector::zeros(2);
        p.exact_flow(&p.start(), t, &mut out);
        return out.as_slice().to_vec();
    }
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/scipy/reference.json"
    );
    let text = std::fs::read_to_string(path).expect("the SciPy fixture");
    let data: Value = serde_json::from_str(&text).expect("valid JSON");
    let r = data["references"]
        .as_array()
        .and_then(|refs| refs.iter().find(|r| r["problem"] == problem))
        .expect("a reference for the problem");
    let nums = |v: &Value| -> Vec<f64> {
        v.as_array()
            .map(|a| a.iter().filter_map(Value::as_f64).collect())
            .unwrap_or_default()
    };
    let i = nums(&r["t"])
        .iter()
        .position(|&x| x == t)
        .expect("reference time");
    nums(&r["y"][i])
}

fn main() {
    let cases = [
        ("rosenbrock", 1000.0),
        ("quadratic:n=2,kappa=1000", 20.0),
        ("logistic", 100.0),
    ];
    let methods = ["dopri5", "bs23", "ros23", "rodas4", "implicit-euler"];
    println!("| problem | t | method | grad evals | Hessian evals | accepted | rejected | endpoint error | wall (ms) |");
    println!("|---|---:|---|---:|---:|---:|---:|---:|---:|");
    for (problem, t_end) in cases {
        let want = reference(problem.split(':').next().unwrap_or(problem), t_end);
        for method in methods {
            let spec = RunSpec::new(problem, method).t_end(t_end);
            let mut best = f64::INFINITY;
            let mut last = None;
            for _ in 0..5 {
                let r = spec.run().expect("a valid run");
                best = best.min(r.wall_seconds);
                last = Some(r);
            }
            let r = last.expect("five runs");
            let theta = r.theta.as_deref().unwrap_or(&[]);
            let err = theta
                .iter()
                .zip(&want)
                .map(|(a, b)| (a - b).abs())
                .fold(0.0, f64::max);
            println!(
                "| `{problem}` | {t_end} | `{method}` | {} | {} | {} | {} | {err:.1e} | {:.3} |",
                r.grad_evals,
                r.hess_evals,
                r.accepted,
                r.rejected,
                best * 1e3
            );
        }
    }
}
