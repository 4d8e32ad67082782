//! The small-n routes of `cargo bench --bench runs -- overhead`, shared with
//! `examples/small_n.rs`: 2 000 steps on `rosenbrock` (n = 2) from its start, each
//! returning θ₁.

use gradflow::GradientFlow;
use gradflow_integrators::optim::{Optimizer, Rule};
use gradflow_integrators::{Integrator, Stop};
use gradflow_problems::{Objective, Rosenbrock};
use nalgebra::DVector;

/// Steps of every route.
pub const STEPS: u64 = 2_000;

/// `euler` (lr = 10⁻⁴) or `adam` (lr = 10⁻³, torch's defaults otherwise): its learning
/// rate and rule.
pub fn method(adam: bool) -> (f64, Rule<f64>) {
    if adam {
        (1e-3, Rule::adam(0.9, 0.999, 1e-8, false, 2))
    } else {
        (1e-4, Rule::sgd(0.0, 0.0, false, 2))
    }
}

/// The loops written the way a user holding a `DVector` and an `Objective` would: the
/// library's gradient, the update inline (the baseline of the overhead benchmark). The
/// difference to the driver is the framework alone (stop checks, divergence checks,
/// statistics, observer, dispatch).
pub fn hand(objective: &Rosenbrock, adam: bool, lr: f64) -> f64 {
    let (b1, b2, eps) = (0.9f64, 0.999f64, 1e-8);
    let mut x = objective.start();
    let mut g = DVector::zeros(2);
    let (mut m, mut v) = (DVector::<f64>::zeros(2), DVector::<f64>::zeros(2));
    for k in 1..=STEPS {
        objective.gradient(&x, &mut g);
        if adam {
            let bc1 = 1.0 - b1.powf(k as f64);
            let bc2_sqrt = (1.0 - b2.powf(k as f64)).powf(0.5);
            let step = lr / bc1;
            for i in 0..2 {
                m[i] += (1.0 - b1) * (g[i] - m[i]);
                v[i] = b2 * v[i] + (1.0 - b2) * g[i] * g[i];
                x[i] += (-step * m[i]) * (1.0 / (v[i].sqrt() * (1.0 / bc2_sqrt) + eps));
            }
        } else {
            x.axpy(-lr, &g, 1.0);
        }
    }
    x[0]
}

/// The library's optimizer in the user's loop, the way `torch.optim` is used: the
/// objective's gradient, then `Optimizer::step_in_place` (the fused kernel, with the
/// reported time), without the integrator around it.
pub fn in_place(objective: &Rosenbrock, rule: &Rule<f64>, lr: f64) -> f64 {
    let mut opt = Optimizer::new(lr, rule.clone(), 2);
    let mut x = objective.start();
    let mut g = DVector::zeros(2);
    let mut t = 0.0;
    for _ in 0..STEPS {
        objective.gradient(&x, &mut g);
        t += opt.step_in_place(&mut x, &g).unwrap_or(f64::NAN);
    }
    x[0] + 0.0 * t
}

/// Through the driver: `Integrator::integrate` with `()` as observer.
pub fn driver(objective: &Rosenbrock, rule: &Rule<f64>, lr: f64) -> f64 {
    let opt = Optimizer::new(lr, rule.clone(), 2);
    let mut run = Integrator::new(opt, 0.0, objective.start());
    run.integrate(
        &mut GradientFlow::new(objective),
        &Stop::steps(STEPS),
        &mut (),
    );
    run.y()[0]
}
