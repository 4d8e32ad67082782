//! Every optimizer against `torch.optim` in float64 (fixtures made by
//! `scripts/gen_torch_fixtures.py`, with the same gradient formulas as the problems here).
//!
//! At every recorded step k: max |θ − θ_torch| / max(1, |θ_torch|) ≤ tol_k with
//! tol_k = max(1e-10, 10·spread_k), where spread_k is the largest relative distance, up
//! to step k, between torch's trajectory and torch's own runs from a start perturbed by a
//! relative 1e-14 and with every gradient perturbed by a relative 1e-14. The spread is the
//! measured reason for any tolerance above 1e-10: runs in RMSprop's oscillating regime
//! amplify one-ulp differences (printed below).

mod common;

use common::fixture;
use gradflow::RunSpec;
use serde_json::Value;

fn floats(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

#[test]
fn optimizers_reproduce_torch_trajectories() {
    let text = std::fs::read_to_string(fixture("torch/trajectories.json")).unwrap();
    let data: Value = serde_json::from_str(&text).unwrap();
    let cases = data["cases"].as_array().unwrap();
    assert!(cases.len() >= 33);
    let mut methods_seen = std::collections::BTreeSet::new();
    for case in cases {
        let id = case["id"].as_str().unwrap();
        let method = case["method"].as_str().unwrap();
        methods_seen.insert(method.split(':').next().unwrap().to_string());
        let report = RunSpec::new(case["problem"].as_str().unwrap(), method)
            .x0(floats(&case["x0"]))
            .steps(case["steps"].as_u64().unwrap())
            .record(case["record_every"].as_u64().unwrap())
            .run()
            .unwrap_or_else(|e| panic!("{id}: {e}"));
        let records = case["records"].as_array().unwrap();
        assert_eq!(report.trajectory.len(), records.len(), "{id}");
        let (mut worst, mut worst_ratio, mut spread) = (0.0f64, 0.0f64, 0.0f64);
        for (ours, theirs) in report.trajectory.iter().zip(records) {
            assert_eq!(ours.step, theirs["step"].as_u64().unwrap(), "{id}");
            spread = spread.max(theirs["spread"].as_f64().unwrap());
            let tol = 1e-10f64.max(10.0 * spread);
            let want = floats(&theirs["theta"]);
            let got = ours.theta.as_ref().unwrap();
            let err = got
                .iter()
                .zip(&want)
                .map(|(a, b)| (a - b).abs() / b.abs().max(1.0))
                .fold(0.0, f64::max);
            assert!(
                err <= tol,
                "{id} step {}: error {err:e} > tolerance {tol:e}",
                ours.step
            );
            worst = worst.max(err);
            worst_ratio = worst_ratio.max(err / tol);
        }
        println!("{id:<32} max error {worst:9.2e}  final spread {spread:9.2e}  max error/tol {worst_ratio:.2e}");
    }
    for m in ["euler", "momentum", "rmsprop", "adam", "adagrad"] {
        assert!(methods_seen.contains(m), "fixtures cover {m}");
    }
}
