//! Stiffness detection: an explicit adaptive run whose steps sit at the stability limit
//! says so (report field, warning line) and names the stiff methods; a run whose steps are
//! set by accuracy does not.

use gradflow::stiffness::{stability_bound, CHECK_EVERY, FRACTION, STIFF_CHECKS};
use gradflow::RunSpec;
use std::process::Command;

#[test]
fn rosenbrock_flow_is_found_stiff_where_dopri5_sits_at_its_stability_bound() {
    let r = RunSpec::new("rosenbrock", "dopri5:rtol=1e-6,atol=1e-6")
        .t_end(100.0)
        .run()
        .unwrap();
    let s = r
        .stiffness
        .expect("the Rosenbrock flow turns stiff near the minimum");
    let bound = stability_bound("dopri5").unwrap();
    assert_eq!(s.bound, bound);
    // Found after STIFF_CHECKS checks at the limit, at a check point.
    assert_eq!(s.step % CHECK_EVERY, 0);
    assert!(s.step >= CHECK_EVERY * u64::from(STIFF_CHECKS));
    assert!(
        s.h_rho >= FRACTION * bound && s.h_rho <= 1.2 * bound,
        "h·ρ = {}",
        s.h_rho
    );
    // In the valley θ₂ ≈ θ₁² the Hessian's largest eigenvalue is about 200(1 + 4θ₁²):
    // between 200 and 1001.6 (its value at the minimum (1, 1)).
    assert!(s.rho > 200.0 && s.rho < 1001.7, "ρ = {}", s.rho);
    assert!(s.suggest.iter().any(|m| m == "ros23"));
    // The monitor's products are its own cost, not the integration's.
    assert_eq!(r.hess_evals, 0);
    assert!(
        s.hvps > 0 && s.hvps * 50 < r.grad_evals,
        "{} vs {}",
        s.hvps,
        r.grad_evals
    );

    // And what it suggests does the job with far fewer gradients.
    let stiff = RunSpec::new("rosenbrock", "ros23:rtol=1e-6,atol=1e-6")
        .t_end(100.0)
        .run()
        .unwrap();
    assert!(stiff.stiffness.is_none());
    assert!(stiff.grad_evals * 20 < r.grad_evals);
}

#[test]
fn accuracy_bound_steps_are_not_called_stiff() {
    // κ = 1: every eigenvalue 1, the step is set by the tolerance (h·ρ ≈ 0.05 ≪ 3.3).
    let r = RunSpec::new("quadratic:n=4,kappa=1", "dopri5:rtol=1e-10,atol=1e-12")
        .t_end(10.0)
        .run()
        .unwrap();
    assert!(
        r.accepted > CHECK_EVERY * u64::from(STIFF_CHECKS),
        "{}",
        r.accepted
    );
    assert!(r.stiffness.is_none());
    // bs23 on the same stiff flow as above is caught too, with its own bound.
    let r = RunSpec::new("rosenbrock", "bs23:rtol=1e-4,atol=1e-4")
        .t_end(100.0)
        .run()
        .unwrap();
    assert_eq!(r.stiffness.unwrap().bound, stability_bound("bs23").unwrap());
}

#[test]
fn the_cli_prints_one_warning_line_naming_the_stiff_methods() {
    let out = Command::new(env!("CARGO_BIN_EXE_gradflow"))
        .args([
            "run",
            "--problem",
            "rosenbrock",
            "--method",
            "dopri5:rtol=1e-6",
            "--t-end",
            "100",
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = err.lines().filter(|l| l.starts_with("warning:")).collect();
    assert_eq!(lines.len(), 1, "{err}");
    for m in ["ros23", "rodas4", "implicit-euler", "dopri5"] {
        assert!(lines[0].contains(m), "{}", lines[0]);
    }
    // Not for a stiff method.
    let out = Command::new(env!("CARGO_BIN_EXE_gradflow"))
        .args([
            "run",
            "--problem",
            "rosenbrock",
            "--method",
            "ros23:rtol=1e-6",
            "--t-end",
            "100",
        ])
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&out.stderr).contains("warning:"));
}

#[test]
fn auto_switches_on_the_stiff_flow_and_is_dopri5_where_the_flow_is_not_stiff() {
    // Rosenbrock's flow turns stiff in the valley: `auto` hands over to rodas4 and needs
    // under 1% of dopri5's gradients to t = 1000, and ends at the minimum.
    let auto = RunSpec::new("rosenbrock", "auto")
        .t_end(1000.0)
        .run()
        .unwrap();
    let explicit = RunSpec::new("rosenbrock", "dopri5")
        .t_end(1000.0)
        .run()
        .unwrap();
    assert!(
        100 * auto.grad_evals < explicit.grad_evals,
        "{}",
        auto.grad_evals
    );
    for x in auto.theta.as_ref().unwrap() {
        assert!((x - 1.0).abs() < 1e-8, "θ = {:?}", auto.theta);
    }
    // The logistic flow never turns stiff: the same steps as dopri5, bit for bit, plus
    // one Hessian-vector product per accepted step for the estimate of ρ.
    let auto = RunSpec::new("logistic", "auto").t_end(100.0).run().unwrap();
    let explicit = RunSpec::new("logistic", "dopri5")
        .t_end(100.0)
        .run()
        .unwrap();
    assert_eq!(auto.theta, explicit.theta);
    assert_eq!(auto.grad_evals, explicit.grad_evals);
    assert_eq!(auto.hess_evals, auto.accepted);
    // No warning for auto: it is its own remedy.
    assert!(auto.stiffness.is_none());
}
