//! Stiff gradient flows: backward Euler (the proximal point method) and the linearly
//! implicit Rosenbrock-type methods `ros23` and `rodas4`, against closed forms, measured
//! orders, SciPy's reference solution of the Rosenbrock flow and the explicit pairs'
//! evaluation counts.
//!
//! `cargo test --release --test stiff -- --nocapture` prints the counts and errors.

mod common;

use common::{fixture, integrate, problem, slope};
use gradflow::integrators::rosw::{RosenbrockTableau, RODAS4, ROS23};
use gradflow::integrators::tableau;
use gradflow::integrators::{
    Controller, ImplicitEuler, RosenbrockMethod, RungeKutta, Stats, Status, Stop,
};
use gradflow::problems::Objective;
use gradflow::{Dtype, GradientFlow, RunSpec};
use nalgebra::DVector;
use serde_json::Value;

/// The DOP853 reference (rtol = atol = 1e-13) of `name` at time `t`.
fn reference(name: &str, t: f64) -> DVector<f64> {
    let text = std::fs::read_to_string(fixture("scipy/reference.json")).expect("fixture");
    let data: Value = serde_json::from_str(&text).expect("valid JSON");
    let r = data["references"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["problem"] == name)
        .expect("reference for the problem");
    let nums = |v: &Value| -> Vec<f64> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap())
            .collect()
    };
    let i = nums(&r["t"])
        .iter()
        .position(|&x| x == t)
        .expect("reference time");
    DVector::from_vec(nums(&r["y"][i]))
}

#[test]
fn implicit_euler_on_the_quadratic_is_the_resolvent_power_even_at_h_lambda_100() {
    // λ = 1, √1000, 1000 and h = 0.1: hλ_max = 100, fifty times past explicit Euler's
    // stability limit hλ < 2.
    let p = problem("quadratic", &[("n", 3.0), ("kappa", 1000.0)]);
    let (h, n) = (0.1, 50u64);
    let stepper = ImplicitEuler::fixed(h, 1e-6, 1e-9, 3);
    let (run, status) = integrate(&*p, stepper, p.start(), &Stop::steps(n));
    assert_eq!(status, Status::MaxSteps);
    let lambda = [1.0, 1000f64.sqrt(), 1000.0];
    for (i, &l) in lambda.iter().enumerate() {
        let want = (1.0 + h * l).powi(-(n as i32));
        // Each step's y + Δ cancels to about hλ·ε relative; n steps add up.
        let tol = n as f64 * (1.0 + h * l) * 4.0 * f64::EPSILON * want;
        let got = run.y()[i];
        assert!((got - want).abs() <= tol, "θ{i}: {got:e} vs {want:e}");
    }
    // A linear field: one Newton iteration, so one gradient and one Hessian a step.
    let s = run.stats();
    assert_eq!((s.evals, s.jac_evals, s.rejected), (1 + n, n, 0), "{s:?}");
    // Explicit Euler at the same step blows up.
    let euler = RungeKutta::fixed(&tableau::EULER, h, 3);
    let (_, status) = integrate(&*p, euler, p.start(), &Stop::steps(400));
    assert_eq!(status, Status::Diverged);
}

#[test]
fn explicit_and_implicit_euler_bracket_the_exact_flow() {
    // (1 − hλ)ⁿ ≤ e^(−λnh) ≤ (1 + hλ)⁻ⁿ for 0 < hλ < 1.
    let p = problem("quadratic", &[("n", 4.0), ("kappa", 10.0)]);
    let (h, n) = (0.05, 40u64);
    let stop = Stop::steps(n);
    let (implicit, _) = integrate(
        &*p,
        ImplicitEuler::fixed(h, 1e-10, 1e-12, 4),
        p.start(),
        &stop,
    );
    let euler = RungeKutta::fixed(&tableau::EULER, h, 4);
    let (explicit, _) = integrate(&*p, euler, p.start(), &stop);
    let mut exact = DVector::zeros(4);
    assert!(p.exact_flow(&p.start(), h * n as f64, &mut exact));
    for i in 0..4 {
        let (lo, mid, hi) = (explicit.y()[i], exact[i], implicit.y()[i]);
        assert!(lo < mid && mid < hi, "θ{i}: {lo} < {mid} < {hi}");
    }
    assert_eq!(implicit.t(), explicit.t());
}

/// Max-norm error at `t_end` of the exact flow of `name` under fixed steps `h`.
fn fixed_step_error(name: &str, params: &[(&str, f64)], method: &str, h: f64, t_end: f64) -> f64 {
    let p = problem(name, params);
    let n = p.dim();
    let stop = Stop::t_end(t_end);
    let y = match method {
        "implicit-euler" => {
            let (run, s) = integrate(
                &*p,
                ImplicitEuler::fixed(h, 1e-10, 1e-12, n),
                p.start(),
                &stop,
            );
            assert_eq!((s, run.t()), (Status::TEnd, t_end));
            run.y().clone()
        }
        _ => {
            let tab: &'static RosenbrockTableau = if method == "ros23" { &ROS23 } else { &RODAS4 };
            let (run, s) = integrate(&*p, RosenbrockMethod::fixed(tab, h, n), p.start(), &stop);
            assert_eq!((s, run.t()), (Status::TEnd, t_end));
            run.y().clone()
        }
    };
    let mut exact = DVector::zeros(n);
    assert!(p.exact_flow(&p.start(), t_end, &mut exact));
    (y - exact).amax()
}

#[test]
fn fixed_step_orders_on_the_exact_quadratic_and_quartic_flows() {
    println!(
        "{:<15} {:<10} {:>7} {:>8}  errors at h = 0.04, 0.02, 0.01, 0.005",
        "method", "problem", "slope", "C"
    );
    for (method, order) in [("implicit-euler", 1), ("ros23", 2), ("rodas4", 4)] {
        for (name, params) in [
            ("quadratic", vec![("n", 2.0), ("kappa", 10.0)]),
            ("quartic", vec![("n", 2.0)]),
        ] {
            let hs = [0.04, 0.02, 0.01, 0.005];
            let errs: Vec<f64> = hs
                .iter()
                .map(|&h| fixed_step_error(name, &params, method, h, 1.0))
                .collect();
            let s = slope(&hs, &errs);
            // The error constant C = lim e/hᵖ, extrapolated from the last two errors on the
            // assumption e = C hᵖ + D hᵖ⁺¹: positive and finite only for the right p.
            let q: Vec<f64> = errs
                .iter()
                .zip(&hs)
                .map(|(e, h)| e / h.powi(order))
                .collect();
            let c = 2.0 * q[3] - q[2];
            let shown: Vec<String> = errs.iter().map(|e| format!("{e:.2e}")).collect();
            println!(
                "{method:<15} {name:<10} {s:>7.3} {c:>8.2e}  {}",
                shown.join(" ")
            );
            assert!(
                c > 0.5 * q[3] && c < 1.5 * q[3],
                "{method} on {name}: e/h^p = {q:?}"
            );
            if (method, name) == ("rodas4", "quartic") {
                // On this flow RODAS4's h⁵ error term is about 30 times its h⁴ one
                // (e ≈ C h⁴ (1 + 32h)), so the slope would reach 4 ± 0.1 only below
                // h ≈ 2e-3, where the errors (≈ 1e-14) are round-off: the local slopes fall
                // toward 4 (4.49, 4.38, 4.24), and C above is positive and finite, which
                // only order 4 gives (e/h⁵ would grow without bound, e/h³ go to 0).
                let local: Vec<f64> = errs.windows(2).map(|w| (w[0] / w[1]).log2()).collect();
                println!("{method:<15} {name:<10} local slopes {local:.3?}");
                assert!(local.windows(2).all(|w| w[1] < w[0]), "{local:?}");
                assert!((3.9..=4.3).contains(&local[2]), "{local:?}");
            } else {
                let p = f64::from(order);
                assert!(
                    (s - p).abs() <= 0.1,
                    "{method} on {name}: slope {s}, errors {errs:?}"
                );
            }
        }
    }
}

struct Outcome {
    stats: Stats<f64>,
    err: f64,
    secs: f64,
}

fn adaptive(method: &str, rtol: f64, atol: f64, t_end: f64) -> Outcome {
    let p = problem("rosenbrock", &[]);
    let stop = Stop::t_end(t_end);
    let clock = std::time::Instant::now();
    let (y, t, stats, status) = match method {
        "dopri5" => {
            let st = RungeKutta::controlled(&tableau::DOPRI5, rtol, atol, None, Controller::I, 2);
            let (run, s) = integrate(&*p, st, p.start(), &stop);
            (run.y().clone(), run.t(), *run.stats(), s)
        }
        "implicit-euler" => {
            let (run, s) = integrate(
                &*p,
                ImplicitEuler::adaptive(rtol, atol, None, 2),
                p.start(),
                &stop,
            );
            (run.y().clone(), run.t(), *run.stats(), s)
        }
        _ => {
            let tab: &'static RosenbrockTableau = if method == "ros23" { &ROS23 } else { &RODAS4 };
            let (run, s) = integrate(
                &*p,
                RosenbrockMethod::adaptive(tab, rtol, atol, 2),
                p.start(),
                &stop,
            );
            (run.y().clone(), run.t(), *run.stats(), s)
        }
    };
    let secs = clock.elapsed().as_secs_f64();
    assert_eq!(
        (status, t),
        (Status::TEnd, t_end),
        "{method} lands on t_end"
    );
    let err = (y - reference("rosenbrock", t_end)).amax();
    println!(
        "{method:<15} t={t_end:<5} rtol={rtol:.0e} atol={atol:.0e}: {:>8} grad, {:>5} Hessian, {:>6} accepted, {:>4} rejected, endpoint error {err:.2e}, {secs:.4} s",
        stats.evals, stats.jac_evals, stats.accepted, stats.rejected
    );
    Outcome { stats, err, secs }
}

#[test]
fn the_rosenbrock_flow_to_t_1000_costs_a_fraction_of_dopri5() {
    let dopri5 = adaptive("dopri5", 1e-6, 1e-9, 1000.0);
    let ros23 = adaptive("ros23", 1e-6, 1e-9, 1000.0);
    let rodas4 = adaptive("rodas4", 1e-6, 1e-9, 1000.0);
    let implicit = adaptive("implicit-euler", 1e-6, 1e-9, 1000.0);
    // dopri5 is stability-bound near the minimum (hλ ≤ 3.3 with λ ≈ 1001.6).
    assert!(dopri5.stats.evals > 1_500_000, "{}", dopri5.stats.evals);
    for (name, o) in [
        ("ros23", &ros23),
        ("rodas4", &rodas4),
        ("implicit-euler", &implicit),
    ] {
        assert!(o.err <= 1e-5, "{name}: endpoint error {}", o.err);
        assert_eq!(
            o.stats.jac_evals, o.stats.accepted,
            "{name}: one Hessian a step"
        );
    }
    assert!(
        ros23.stats.evals * 100 <= dopri5.stats.evals,
        "ros23 {} vs dopri5 {}",
        ros23.stats.evals,
        dopri5.stats.evals
    );
    assert!(rodas4.stats.evals * 100 <= dopri5.stats.evals);
    println!(
        "ros23/dopri5 gradient evaluations: {:.3}%, wall {:.1}x faster",
        100.0 * ros23.stats.evals as f64 / dopri5.stats.evals as f64,
        dopri5.secs / ros23.secs
    );
}

#[test]
fn rodas4_on_the_rosenbrock_flow_to_t_100_against_scipys_bdf() {
    // SciPy's BDF with the analytic Jacobian at rtol = atol = 1e-6 takes 697 gradient and
    // 39 Jacobian evaluations to an endpoint error of 1.2e-10 (the numbers). A
    // Rosenbrock method needs a Hessian every step and six gradients (RODAS4), so it
    // does not reach that: these are the counts it achieves.
    let o = adaptive("rodas4", 1e-6, 1e-6, 100.0);
    println!(
        "rodas4 vs BDF: {} vs 697 gradients, {} vs 39 Hessians, error {:.2e} vs 1.2e-10",
        o.stats.evals, o.stats.jac_evals, o.err
    );
    assert!(o.stats.evals <= 1200, "{}", o.stats.evals);
    assert!(o.stats.jac_evals <= 200, "{}", o.stats.jac_evals);
    assert!(o.err <= 5e-9, "{}", o.err);
    let r = adaptive("ros23", 1e-6, 1e-6, 100.0);
    assert!(r.err <= 5e-9, "{}", r.err);
}

#[test]
fn no_step_sequence_takes_rodas4_to_bdfs_count_at_that_tolerance() {
    // The issue asks rodas4 for at most BDF's 697 gradients at rtol = atol = 1e-6 to
    // t = 100. RODAS4 pays six gradients a step (f(y) and five stages), so that allows
    // 116 steps. Here every step is the longest one RODAS4's own error estimate accepts
    // from where it stands (err < 1, found by bisection to 0.1%): the greedy sequence,
    // each of whose steps is longer than a controller (which keeps a safety factor below
    // the limit) would take from the same point. It still needs about 147 steps.
    // (Greedy is not proven optimal; the controlled run, asserted below, takes more.)
    let p = problem("rosenbrock", &[]);
    let mut field = GradientFlow::new(&*p);
    let (rtol, atol, t_end) = (1e-6, 1e-6, 100.0);
    let mut m = RosenbrockMethod::fixed(&RODAS4, 1.0, 2);
    let (mut t, mut y): (f64, _) = (0.0, p.start());
    let mut y_new = DVector::zeros(2);
    let mut steps = 0;
    let mut h: f64 = 1e-4;
    let mut ok = |t, y: &DVector<f64>, h, out: &mut DVector<f64>| {
        m.trial_error(&mut field, t, y, h, (rtol, atol), out)
            .is_some_and(|e| e < 1.0)
    };
    while t < t_end {
        // Bracket the longest acceptable step, then bisect.
        let mut lo = h.min(t_end - t);
        while !ok(t, &y, lo, &mut y_new) {
            lo *= 0.5;
        }
        let mut hi = lo * 2.0;
        while hi < t_end - t && ok(t, &y, hi, &mut y_new) {
            lo = hi;
            hi *= 2.0;
        }
        if hi >= t_end - t && ok(t, &y, t_end - t, &mut y_new) {
            lo = t_end - t;
        } else {
            while hi - lo > 1e-3 * lo {
                let mid = 0.5 * (lo + hi);
                if ok(t, &y, mid, &mut y_new) {
                    lo = mid;
                } else {
                    hi = mid;
                }
            }
        }
        assert!(ok(t, &y, lo, &mut y_new));
        y.copy_from(&y_new);
        t = if lo == t_end - t { t_end } else { t + lo };
        h = lo;
        steps += 1;
    }
    let err = (&y - reference("rosenbrock", t_end)).amax();
    println!(
        "rodas4, longest acceptable step every time: {steps} steps = {} gradients (BDF: 697), endpoint error {err:.1e}",
        6 * steps
    );
    assert!(6 * steps > 800, "{steps} steps");
    let controlled = adaptive("rodas4", rtol, atol, t_end);
    assert!(
        controlled.stats.accepted >= steps,
        "a controller beat the bound"
    );
}

#[test]
fn a_step_cap_buys_the_slow_modes_damping_for_a_few_gradients() {
    // RODAS4's last steps to t = 100 (h·λ_slow ≈ −8.5, −14.7) damp the slow mode by only
    // 0.11 and 0.16 (docs/stiff.md); max_step = 20 keeps them shorter.
    let want = reference("rosenbrock", 100.0);
    let run = |spec: &str| {
        let r = RunSpec::new("rosenbrock", spec).t_end(100.0).run().unwrap();
        let err = (DVector::from_vec(r.theta.clone().unwrap()) - &want).amax();
        println!(
            "{spec}: {} gradients, {} Hessians, longest step {:.1}, endpoint error {err:.1e}",
            r.grad_evals,
            r.hess_evals,
            r.h_max.unwrap()
        );
        (r, err)
    };
    let (free, free_err) = run("rodas4:rtol=1e-6,atol=1e-6");
    let (capped, capped_err) = run("rodas4:rtol=1e-6,atol=1e-6,max_step=20");
    assert!(free.h_max.unwrap() > 30.0 && capped.h_max.unwrap() <= 20.0);
    assert!(
        capped_err <= 1.2e-10 && free_err > 10.0 * capped_err,
        "{free_err} {capped_err}"
    );
    assert!(
        capped.grad_evals <= free.grad_evals + 12,
        "{}",
        capped.grad_evals
    );
}

#[test]
fn every_stiff_method_runs_through_run_spec_in_f64_and_f32() {
    let want = reference("rosenbrock", 10.0);
    for method in [
        "ros23",
        "rodas4",
        "implicit-euler",
        "implicit-euler:lr=0.01",
    ] {
        for dtype in [Dtype::F64, Dtype::F32] {
            let r = RunSpec::new("rosenbrock", method)
                .t_end(10.0)
                .dtype(dtype)
                .run()
                .unwrap_or_else(|e| panic!("{method}: {e}"));
            assert_eq!(r.status, Status::TEnd, "{method} {dtype:?}");
            assert_eq!(r.t, 10.0, "{method} {dtype:?}");
            assert!(r.hess_evals > 0 && r.hess_evals <= r.accepted + r.rejected);
            let theta = r.theta.unwrap();
            let err = theta
                .iter()
                .zip(want.iter())
                .map(|(a, b)| (a - b).abs())
                .fold(0.0, f64::max);
            // The fixed step 0.01 is first order: O(h) away from the flow.
            let tol = if method.contains("lr") { 2e-2 } else { 1e-3 };
            assert!(
                err <= tol,
                "{method} {dtype:?}: θ(10) {theta:?}, error {err:e}"
            );
        }
    }
}

#[test]
fn a_huge_proximal_step_never_panics() {
    // h = 1e3 and 1e200 from the start of the Rosenbrock valley: Newton may fail, and the
    // step is then halved until it converges; the run never panics and stays finite.
    for lr in ["1e3", "1e200"] {
        let r = RunSpec::new("rosenbrock", &format!("implicit-euler:lr={lr}"))
            .steps(5)
            .run()
            .unwrap();
        assert!(r.status.is_success(), "lr={lr}: {:?}", r.status);
        let theta = r.theta.unwrap();
        assert!(theta.iter().all(|x| x.is_finite()), "lr={lr}: {theta:?}");
        println!(
            "implicit-euler:lr={lr}: {:?}, θ = {theta:?}, {} rejected, {} gradients",
            r.status, r.rejected, r.grad_evals
        );
    }
}

#[test]
fn on_the_stiff_quadratic_implicit_methods_are_bound_by_accuracy_not_stability() {
    // κ = 1000 to t = 20: dopri5 is held at hλ_max ≲ 3.3 for the whole run, the
    // implicit methods only by the accuracy of the slow mode.
    let p = problem("quadratic", &[("n", 2.0), ("kappa", 1000.0)]);
    let mut exact = DVector::zeros(2);
    p.exact_flow(&p.start(), 20.0, &mut exact);
    let stop = Stop::t_end(20.0);
    let st = RungeKutta::controlled(&tableau::DOPRI5, 1e-6, 1e-9, None, Controller::I, 2);
    let (dopri5, _) = integrate(&*p, st, p.start(), &stop);
    let explicit = dopri5.stats().evals;
    println!("dopri5 quadratic κ=1000: {:?}", dopri5.stats());
    for tab in [&ROS23, &RODAS4] {
        let st = RosenbrockMethod::adaptive(tab, 1e-6, 1e-9, 2);
        let (run, s) = integrate(&*p, st, p.start(), &stop);
        assert_eq!(s, Status::TEnd);
        let err = (run.y() - &exact).amax();
        println!(
            "{} quadratic κ=1000: {:?}, error {err:.1e}",
            tab.name,
            run.stats()
        );
        assert!(err <= 1e-6, "{}: {err}", tab.name);
        assert!(
            run.stats().evals * 10 <= explicit,
            "{}: {:?}",
            tab.name,
            run.stats()
        );
    }
}

#[test]
fn objectives_without_a_hessian_fall_back_to_differences() {
    // A user objective with a gradient only: the Jacobian is differenced from gradients
    // (n = 2 more per step), no Hessian is counted, and the flow is still followed.
    struct Valley;
    impl Objective<f64> for Valley {
        fn dim(&self) -> usize {
            2
        }
        fn value(&self, p: &DVector<f64>) -> f64 {
            (p[0] - 1.0).powi(2) + 10.0 * (p[1] - p[0] * p[0]).powi(2)
        }
        fn gradient(&self, p: &DVector<f64>, g: &mut DVector<f64>) {
            let a = p[1] - p[0] * p[0];
            g[0] = 2.0 * (p[0] - 1.0) - 40.0 * p[0] * a;
            g[1] = 20.0 * a;
        }
        fn start(&self) -> DVector<f64> {
            DVector::from_vec(vec![-1.0, 2.0])
        }
    }
    let stop = Stop::t_end(50.0);
    let st = RosenbrockMethod::adaptive(&RODAS4, 1e-8, 1e-10, 2);
    let (run, status) = integrate(&Valley, st, Valley.start(), &stop);
    assert_eq!(status, Status::TEnd);
    let s = run.stats();
    assert_eq!(s.jac_evals, 0);
    assert!(
        (run.y() - DVector::from_element(2, 1.0)).amax() < 1e-6,
        "{}",
        run.y()
    );
    // Six gradients a step, plus two for each differenced Jacobian.
    assert!(s.evals >= 8 * s.accepted, "{s:?}");
    let st = ImplicitEuler::adaptive(1e-6, 1e-9, None, 2);
    let (run, status) = integrate(&Valley, st, Valley.start(), &stop);
    assert_eq!(status, Status::TEnd);
    assert!(
        (run.y() - DVector::from_element(2, 1.0)).amax() < 1e-4,
        "{}",
        run.y()
    );
}

#[test]
fn a_blow_up_ends_the_run_without_a_panic() {
    // y' = y², y(0) = 1 blows up at t = 1: error control gives up (or the state turns
    // non-finite) there, long before t_end = 2.
    use gradflow::integrators::Integrator;
    let field = |_t: f64, y: &DVector<f64>, dy: &mut DVector<f64>| dy[0] = y[0] * y[0];
    let stop = Stop::t_end(2.0);
    let steppers: Vec<Box<dyn gradflow::integrators::Stepper<f64>>> = vec![
        Box::new(RosenbrockMethod::adaptive(&ROS23, 1e-6, 1e-9, 1)),
        Box::new(RosenbrockMethod::adaptive(&RODAS4, 1e-6, 1e-9, 1)),
        Box::new(ImplicitEuler::adaptive(1e-6, 1e-9, None, 1)),
    ];
    for stepper in steppers {
        let mut run = Integrator::new(stepper, 0.0, DVector::from_element(1, 1.0));
        let mut f = field;
        let status = run.integrate(&mut f, &stop, &mut ());
        assert!(
            matches!(status, Status::StepTooSmall | Status::Diverged),
            "{status:?} at t = {}",
            run.t()
        );
        // Implicit steps may end a hair past the pole.
        assert!((run.t() - 1.0).abs() < 1e-2, "t = {}", run.t());
    }
}

#[test]
fn stiffness_detection_hands_stiff_flows_to_rodas4_and_leaves_logistic_explicit() {
    use gradflow::integrators::Switching;
    // Rosenbrock: dopri5 while the valley is being found, rodas4 once h·ρ(∇²L) sits at
    // dopri5's stability bound.
    let p = problem("rosenbrock", &[]);
    let (run, status) = integrate(
        &*p,
        Switching::dopri5_rodas4(1e-6, 1e-9, 2),
        p.start(),
        &Stop::t_end(1000.0),
    );
    assert_eq!((status, run.t()), (Status::TEnd, 1000.0));
    let s = run.stats();
    let sw = run.stepper();
    let err = (run.y() - reference("rosenbrock", 1000.0)).amax();
    println!(
        "switching on rosenbrock: stiff from t = {:?} (ρ ≈ {:?}), {s:?}, error {err:.1e}",
        sw.switched_at(),
        sw.spectral_radius()
    );
    assert!(sw.is_stiff());
    assert!(err <= 1e-5, "{err}");
    assert!(s.evals <= 50_000, "{s:?}");
    // Logistic: never stiff on [0, 100]; dopri5's own 272 gradients (SciPy's RK45 count)
    // plus one Hessian-vector product per step for the estimate.
    let p = problem("logistic", &[]);
    let (run, status) = integrate(
        &*p,
        Switching::dopri5_rodas4(1e-6, 1e-9, p.dim()),
        p.start(),
        &Stop::t_end(100.0),
    );
    assert_eq!(status, Status::TEnd);
    let s = run.stats();
    println!("switching on logistic: {s:?}");
    assert!(!run.stepper().is_stiff());
    assert_eq!(s.evals, 272);
    assert_eq!(s.jac_evals, s.accepted);
    // The stiff quadratic switches too.
    let p = problem("quadratic", &[("n", 2.0), ("kappa", 1000.0)]);
    let (run, _) = integrate(
        &*p,
        Switching::dopri5_rodas4(1e-6, 1e-9, 2),
        p.start(),
        &Stop::t_end(20.0),
    );
    println!(
        "switching on quadratic κ=1000: stiff from t = {:?}, ρ ≈ {:?}, {:?}",
        run.stepper().switched_at(),
        run.stepper().spectral_radius(),
        run.stats()
    );
    assert!(run.stepper().is_stiff());
}
