//! Properties of the steppers through the library: Heun–Euler is gradient descent with
//! a controlled step, f32 runs, divergence, allocation-free stepping, JSON round trips.

mod common;

use common::{integrate, problem, Trace};
use gradflow::integrators::tableau;
use gradflow::integrators::{Integrator, RungeKutta, Status, Stop};
use gradflow::methods::methods;
use gradflow::{Dtype, GradientFlow, RunSpec};

#[test]
fn heun_euler_accepts_plain_gradient_descent_steps_at_one_gradient_each() {
    let p = problem("rosenbrock", &[]);
    let stepper = RungeKutta::adaptive(&tableau::HEUN_EULER, 1e-3, 1e-6, 2);
    let mut run = Integrator::new(stepper, 0.0, p.start());
    let mut trace = Trace::default();
    let status = run.integrate(&mut GradientFlow::new(&*p), &Stop::steps(500), &mut trace);
    assert_eq!(status, Status::MaxSteps);
    let s = run.stats();
    // f(y₀), the initial-step probe, then one evaluation per attempt (FSAL).
    assert_eq!(s.evals, 2 + s.accepted + s.rejected, "{s:?}");
    assert!(s.rejected > 0, "the test should exercise rejections");
    let mut g = nalgebra::DVector::zeros(2);
    for w in trace.points.windows(2) {
        let (prev, next) = (&w[0], &w[1]);
        let h = next.3.unwrap();
        p.gradient(&nalgebra::DVector::from_vec(prev.2.clone()), &mut g);
        for i in 0..2 {
            // y₊ = y + h·(−g): bit for bit the GD step θ − h∇L.
            assert_eq!(next.2[i], prev.2[i] + h * -g[i], "step {}", next.0);
            assert_eq!(next.2[i], prev.2[i] - h * g[i], "step {}", next.0);
        }
        assert_eq!(next.1, prev.1 + h, "t = Σh");
    }
}

#[test]
fn every_method_runs_in_f32() {
    for m in methods() {
        // Adaptive methods stop at a time, fixed-step ones after a number of steps (an f32
        // clock reaches t_end at another step than an f64 one).
        let adaptive = m.keys.iter().any(|k| k.name == "rtol");
        let spec = |dtype| {
            let s = RunSpec::new("rosenbrock", m.name).dtype(dtype);
            if adaptive {
                s.t_end(2.0)
            } else {
                s.steps(2000)
            }
        };
        let r32 = spec(Dtype::F32).run().unwrap();
        let r64 = spec(Dtype::F64).run().unwrap();
        assert!(r32.status.is_success(), "{}: {:?}", m.name, r32.status);
        assert_eq!(r32.dtype, "f32");
        let (a, b) = (r32.theta.unwrap(), r64.theta.unwrap());
        let diff = a
            .iter()
            .zip(&b)
            .map(|(x, y)| (x - y).abs())
            .fold(0.0, f64::max);
        // RMSprop-type runs oscillate on Rosenbrock's valley floor and amplify rounding
        // (see tests/torch.rs), so f32 and f64 agree in loss more closely than in θ.
        assert!(diff < 0.05, "{}: f32 {a:?} vs f64 {b:?}", m.name);
        assert!(
            (r32.loss - r64.loss).abs() < 2e-3 * (1.0 + r64.loss),
            "{}: loss {} vs {}",
            m.name,
            r32.loss,
            r64.loss
        );
        // An f32 value read back as f64 is still an f32.
        assert!(a.iter().all(|&x| (x as f32) as f64 == x));
    }
}

#[test]
fn blowing_up_ends_diverged_with_the_last_finite_state() {
    let r = RunSpec::new("rosenbrock", "euler:lr=1")
        .steps(100)
        .run()
        .unwrap();
    assert_eq!(r.status, Status::Diverged);
    assert!(r.loss.is_finite() && r.grad_norm.is_finite());
    assert!(r.theta.unwrap().iter().all(|x| x.is_finite()));
    assert!(r.steps < 100);
    // The state reported is the one reached after `steps` steps.
    let again = RunSpec::new("rosenbrock", "euler:lr=1")
        .steps(r.steps)
        .run()
        .unwrap();
    assert_eq!(again.status, Status::MaxSteps);
    assert_eq!(again.loss, r.loss);
}

#[test]
fn adaptive_methods_give_up_with_step_too_small() {
    // y' = y², y(0) = 1 blows up at t = 1: error control shrinks h until it gives up.
    for tab in [&tableau::HEUN_EULER, &tableau::BS23, &tableau::DOPRI5] {
        let mut field = |_t: f64, y: &nalgebra::DVector<f64>, dy: &mut nalgebra::DVector<f64>| {
            dy[0] = y[0] * y[0];
        };
        let stepper = RungeKutta::adaptive(tab, 1e-6, 1e-9, 1);
        let mut run = Integrator::new(stepper, 0.0, nalgebra::DVector::from_element(1, 1.0));
        let status = run.integrate(&mut field, &Stop::t_end(2.0), &mut ());
        assert_eq!(status, Status::StepTooSmall, "{}", tab.name);
        // Euler (heun-euler) lags the blow-up slightly: it gives up just past t = 1.
        assert!(
            run.t() < 1.01 && run.y()[0] > 1e3 && run.y()[0].is_finite(),
            "{}",
            tab.name
        );
    }
}

#[test]
fn stops_end_the_run_where_they_say() {
    let base = || RunSpec::new("quadratic:n=3,kappa=10", "euler:lr=0.01");
    let r = base().gtol(1e-3).run().unwrap();
    assert_eq!(r.status, Status::Gtol);
    assert!(r.grad_norm <= 1e-3);
    let r = base().ftol(1e-6).run().unwrap();
    assert_eq!(r.status, Status::Ftol);
    assert!(r.loss <= 1e-6);
    let r = base().t_end(0.5).run().unwrap();
    assert_eq!((r.status, r.t, r.steps), (Status::TEnd, 0.5, 50));
    let mut spec = base();
    spec.max_evals = Some(7);
    let r = spec.run().unwrap();
    assert_eq!((r.status, r.grad_evals), (Status::MaxEvals, 7));
    // Euler spends one gradient per step, and a step budget none beyond it.
    let r = base().steps(40).run().unwrap();
    assert_eq!(
        (r.status, r.steps, r.grad_evals),
        (Status::MaxSteps, 40, 40)
    );
}

#[test]
fn adaptive_methods_land_exactly_on_t_end() {
    for m in [
        "heun-euler",
        "bs23",
        "dopri5",
        "rk4:lr=0.003",
        "euler:lr=0.001",
    ] {
        let r = RunSpec::new("himmelblau", m).t_end(1.0).run().unwrap();
        assert_eq!((r.status, r.t), (Status::TEnd, 1.0), "{m}");
    }
}

#[test]
fn recording_keeps_step_zero_every_kth_and_the_last() {
    let r = RunSpec::new("beale", "euler:lr=0.01")
        .steps(25)
        .record(10)
        .run()
        .unwrap();
    let steps: Vec<u64> = r.trajectory.iter().map(|p| p.step).collect();
    assert_eq!(steps, [0, 10, 20, 25]);
    let r = RunSpec::new("beale", "euler:lr=0.01")
        .steps(25)
        .run()
        .unwrap();
    let steps: Vec<u64> = r.trajectory.iter().map(|p| p.step).collect();
    assert_eq!(steps, [0, 25]);
    assert_eq!(r.trajectory[1].theta, r.theta);
    assert_eq!(r.trajectory[1].loss, r.loss);
}

#[test]
fn reports_read_back_bit_for_bit() {
    let r = RunSpec::new("logistic", "dopri5:rtol=1e-9")
        .t_end(3.0)
        .record(7)
        .run()
        .unwrap();
    let text = gradflow::output::report_json(&r).unwrap();
    let back: gradflow::Report = serde_json::from_str(&text).unwrap();
    assert_eq!(back, r);
    let bits = |v: &Vec<f64>| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    assert_eq!(
        bits(back.theta.as_ref().unwrap()),
        bits(r.theta.as_ref().unwrap())
    );
}

#[test]
fn integrator_continues_a_run_with_new_stops() {
    let p = problem("quartic", &[("n", 2.0)]);
    let one = || RungeKutta::adaptive(&tableau::DOPRI5, 1e-8, 1e-10, 2);
    let (whole, _) = integrate(&*p, one(), p.start(), &Stop::t_end(5.0));
    let mut split = Integrator::new(one(), 0.0, p.start());
    let mut flow = GradientFlow::new(&*p);
    split.integrate(&mut flow, &Stop::steps(7), &mut ());
    split.integrate(&mut flow, &Stop::t_end(5.0), &mut ());
    assert_eq!(split.y(), whole.y());
    assert_eq!(split.stats(), whole.stats());
}
