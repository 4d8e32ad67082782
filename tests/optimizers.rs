//! The optimizers' equivalences, their virtual time and their failure modes.

mod common;

use common::Trace;
use gradflow::integrators::{Integrator, Optimizer, Rule, Status, Stop};
use gradflow::methods::methods;
use gradflow::{GradientFlow, Report, RunSpec};
use nalgebra::DVector;

fn run(problem: &str, method: &str, steps: u64, record: u64) -> Report {
    RunSpec::new(problem, method)
        .steps(steps)
        .record(record)
        .run()
        .unwrap_or_else(|e| panic!("{problem} {method}: {e}"))
}

fn thetas(r: &Report) -> Vec<Vec<u64>> {
    r.trajectory
        .iter()
        .map(|p| {
            p.theta
                .as_ref()
                .unwrap()
                .iter()
                .map(|x| x.to_bits())
                .collect()
        })
        .collect()
}

#[test]
fn momentum_zero_is_euler_bit_for_bit() {
    for problem in ["rosenbrock", "beale", "logistic"] {
        let a = run(problem, "momentum:lr=0.001,momentum=0", 500, 1);
        let b = run(problem, "euler:lr=0.001", 500, 1);
        assert_eq!(thetas(&a), thetas(&b), "{problem}");
        assert_eq!(a.t, b.t);
    }
}

#[test]
fn rmsprop_is_rmsprop_norm_in_one_dimension() {
    for problem in ["quadratic:n=1", "quartic:n=1"] {
        for keys in ["lr=0.01,alpha=0.9", "lr=0.003,alpha=0.99,eps=0"] {
            let a = run(problem, &format!("rmsprop:{keys}"), 2000, 1);
            let b = run(problem, &format!("rmsprop-norm:{keys}"), 2000, 1);
            assert_eq!(thetas(&a), thetas(&b), "{problem} {keys}");
            // The same virtual time: h̄ of the diagonal step is h in 1-D.
            for (p, q) in a.trajectory.iter().zip(&b.trajectory) {
                assert_eq!(p.t, q.t, "{problem} {keys} step {}", p.step);
            }
        }
    }
}

#[test]
fn normalized_is_sign_in_one_dimension_and_moves_exactly_lr() {
    for problem in ["quadratic:n=1", "quartic:n=1"] {
        let a = run(problem, "normalized:lr=0.001", 900, 1);
        let b = run(problem, "sign:lr=0.001", 900, 1);
        assert_eq!(thetas(&a), thetas(&b), "{problem}");
        assert_eq!(a.t, b.t, "{problem}");
    }
    // In n dimensions every step has length lr, to round-off.
    let r = run("rosenbrock", "normalized:lr=0.01", 300, 1);
    for w in r.trajectory.windows(2) {
        let (p, q) = (w[0].theta.as_ref().unwrap(), w[1].theta.as_ref().unwrap());
        let len = p
            .iter()
            .zip(q)
            .map(|(a, b)| (a - b).powi(2))
            .sum::<f64>()
            .sqrt();
        assert!(
            (len - 0.01).abs() < 1e-15,
            "step {}: length {len}",
            w[1].step
        );
    }
}

#[test]
fn adam_with_beta1_zero_is_rmsprop_with_a_bias_corrected_rate() {
    // Same gradients fed to both (a field of t only): v evolves identically, and with
    // eps = 0 PyTorch's formulas give Δθ_adam = √(1 − β₂ᵏ)·Δθ_rmsprop at step k
    // (m = lerp(m, g, 1) = g exactly; denominator √v/√(1 − β₂ᵏ)).
    let beta2 = 0.9;
    /// The field seen at the k-th evaluation: the same sequence for both optimizers.
    fn field_at(k: u64, dy: &mut DVector<f64>) {
        let t = k as f64 * 0.01;
        dy[0] = -(1.0 + (3.0 * t).sin());
        dy[1] = 0.5 * (2.0 + t).ln();
    }
    let trace = |rule: Rule<f64>| {
        let mut k = 0u64;
        let mut field = |_t: f64, _y: &DVector<f64>, dy: &mut DVector<f64>| {
            field_at(k, dy);
            k += 1;
        };
        let mut trace = Trace::default();
        let x0 = DVector::from_vec(vec![0.3, -0.2]);
        let mut run = Integrator::new(Optimizer::new(0.01, rule, 2), 0.0, x0);
        run.integrate(&mut field, &Stop::steps(50), &mut trace);
        trace
    };
    let ta = trace(Rule::adam(0.0, beta2, 0.0, false, 2));
    let tb = trace(Rule::rms(beta2, 0.0, false, 0.0, 2));
    for k in 1..=50usize {
        let scale = (1.0 - beta2.powf(k as f64)).sqrt();
        for i in 0..2 {
            let da = ta.points[k].2[i] - ta.points[k - 1].2[i];
            let db = tb.points[k].2[i] - tb.points[k - 1].2[i];
            assert!(
                (da - scale * db).abs() <= 1e-14 * da.abs(),
                "step {k}: {da} vs {}",
                scale * db
            );
        }
    }
}

#[test]
fn normalized_lags_the_exact_clock_by_at_most_the_bound() {
    // On L = θ²/2 from θ₀ = 1 the exact flow reaches θ at t_exact(θ) = ln(θ₀/θ); a
    // normalized step of length lr advances t by lr/|L′(θₙ)| = lr/θₙ, a left Riemann sum of
    // ∫dθ/θ, so 0 ≤ t_exact(θₙ) − tₙ ≤ lr·(1/|L′(θₙ)| − 1/|L′(θ₀)|).
    let lr = 1e-3;
    let r = run("quadratic:n=1", "normalized:lr=0.001", 899, 1);
    let theta0 = 1.0f64;
    for p in &r.trajectory {
        let th = p.theta.as_ref().unwrap()[0];
        let gap = (theta0 / th).ln() - p.t;
        let bound = lr * (1.0 / th - 1.0 / theta0);
        assert!(
            gap >= -1e-12 && gap <= bound + 1e-12,
            "step {}: gap {gap} bound {bound}",
            p.step
        );
    }
    let last = r.trajectory.last().unwrap();
    assert!((last.theta.as_ref().unwrap()[0] - 0.101).abs() < 1e-9);
}

#[test]
fn heavy_ball_time_is_lr_over_one_minus_mu() {
    let r = run("rosenbrock", "momentum:lr=0.001,momentum=0.9", 100, 10);
    assert!((r.t - 100.0 * 0.001 / (1.0 - 0.9)).abs() < 1e-12);
    let r = run(
        "rosenbrock",
        "momentum:lr=0.001,momentum=0.5,dampening=0.3",
        100,
        10,
    );
    assert!((r.t - 100.0 * 0.001 * 0.7 / 0.5).abs() < 1e-12);
}

#[test]
fn diagonal_steps_report_their_spread() {
    let r = run("rosenbrock", "rmsprop:lr=0.01", 20, 1);
    for p in &r.trajectory[1..] {
        let [lo, hi] = p.h_range.expect("per-component range");
        let h = p.h.unwrap();
        assert!(
            lo <= h && h <= hi && lo < hi,
            "step {}: {lo} ≤ {h} ≤ {hi}",
            p.step
        );
    }
    let r = run("rosenbrock", "rmsprop-norm:lr=0.01", 5, 1);
    assert!(r.trajectory.iter().all(|p| p.h_range.is_none()));
}

#[test]
fn every_optimizer_blows_up_into_diverged_not_a_panic() {
    for m in methods() {
        let spec = match m.name {
            "heun-euler" | "bs23" | "dopri5" | "implicit-euler" | "ros23" | "rodas4" | "auto" => {
                continue
            }
            "sign" | "normalized" => format!("{}:lr=1e300", m.name),
            _ => format!("{}:lr=1e200", m.name),
        };
        let r = RunSpec::new("rosenbrock", &spec)
            .steps(50)
            .record(1)
            .run()
            .unwrap();
        assert_eq!(r.status, Status::Diverged, "{spec}");
        assert!(r.theta.unwrap().iter().all(|x| x.is_finite()), "{spec}");
        // The step range is that of the steps kept: the step rolled back does not count.
        let kept: Vec<f64> = r.trajectory.iter().filter_map(|p| p.h).collect();
        let lo = kept.iter().copied().reduce(f64::min);
        let hi = kept.iter().copied().reduce(f64::max);
        assert_eq!(
            (r.h_min, r.h_max),
            (lo, hi),
            "{spec}: {} steps kept",
            r.steps
        );
    }
}

#[test]
fn invalid_optimizer_keys_are_rejected() {
    for bad in [
        "rmsprop:alpha=1",
        "rmsprop:alpha=-0.1",
        "adam:beta1=1",
        "adam:beta2=1.5",
        "adam:eps=-1",
        "momentum:momentum=1",
        "momentum:nesterov=true,momentum=0",
        "momentum:nesterov=true,dampening=0.1",
        "adagrad:initial_accumulator_value=-1",
        "rmsprop-norm:centered=true",
        "sign:lr=0",
    ] {
        let e = RunSpec::new("rosenbrock", bad)
            .steps(1)
            .run()
            .unwrap_err()
            .to_string();
        let key = bad.split(':').nth(1).unwrap().split('=').next().unwrap();
        assert!(e.contains(key), "{bad}: {e}");
    }
}

#[test]
fn optimizers_integrate_a_flow_from_code() {
    let p = gradflow::problems::build::<f64>("beale", &[]).unwrap_or_else(|e| panic!("{e}"));
    let mut run = Integrator::new(
        Optimizer::new(0.01, Rule::adam(0.9, 0.999, 1e-8, false, 2), 2),
        0.0,
        p.start(),
    );
    let status = run.integrate(&mut GradientFlow::new(&*p), &Stop::steps(3000), &mut ());
    assert_eq!(status, Status::MaxSteps);
    assert!(
        (run.y()[0] - 3.0).abs() < 1e-3 && (run.y()[1] - 0.5).abs() < 1e-3,
        "{}",
        run.y()
    );
}
