//! Integrate the gradient flow of a loss given as two closures, with an error-controlled
//! gradient descent (Heun–Euler) and with Adam, and compare where they end.
//!
//! `cargo run --release --example closure_flow`

use gradflow::integrators::{tableau, Integrator, Optimizer, Rule, RungeKutta, Stop};
use gradflow::problems::{FnObjective, Objective};
use gradflow::GradientFlow;
use nalgebra::DVector;

/// L(x, y) = log(1 + (x − 2)² + 10(y + 1)²): minimum 0 at (2, −1).
fn objective() -> impl Objective<f64> {
    FnObjective::new(
        DVector::from_vec(vec![-1.0, 1.0]),
        |p: &DVector<f64>| (1.0 + (p[0] - 2.0).powi(2) + 10.0 * (p[1] + 1.0).powi(2)).ln(),
        |p: &DVector<f64>, g: &mut DVector<f64>| {
            let q = 1.0 + (p[0] - 2.0).powi(2) + 10.0 * (p[1] + 1.0).powi(2);
            g[0] = 2.0 * (p[0] - 2.0) / q;
            g[1] = 20.0 * (p[1] + 1.0) / q;
        },
    )
}

fn run() -> (DVector<f64>, DVector<f64>) {
    let f = objective();
    // The flow to t = 40, where it is within 1e-30 of the minimum in exact arithmetic.
    let heun = RungeKutta::adaptive(&tableau::HEUN_EULER, 1e-6, 1e-9, 2);
    let mut a = Integrator::new(heun, 0.0, f.start());
    let sa = a.integrate(&mut GradientFlow::new(&f), &Stop::t_end(40.0), &mut ());
    let adam = Optimizer::new(0.05, Rule::adam(0.9, 0.999, 1e-8, false, 2), 2);
    let mut b = Integrator::new(adam, 0.0, f.start());
    let sb = b.integrate(&mut GradientFlow::new(&f), &Stop::steps(5000), &mut ());
    let show = |y: &DVector<f64>| format!("({:.8}, {:.8})", y[0], y[1]);
    println!(
        "heun-euler: {} at t = {:.1}, θ = {}, {} gradients",
        sa.as_str(),
        a.t(),
        show(a.y()),
        a.stats().evals
    );
    println!(
        "adam:       {} at t = {:.3}, θ = {}, {} gradients",
        sb.as_str(),
        b.t(),
        show(b.y()),
        b.stats().evals
    );
    (a.y().clone(), b.y().clone())
}

fn main() {
    run();
}

#[test]
fn both_reach_the_minimum() {
    let (a, b) = run();
    let m = DVector::from_vec(vec![2.0, -1.0]);
    assert!((&a - &m).amax() < 1e-5, "{a}");
    assert!((&b - &m).amax() < 1e-3, "{b}");
}
