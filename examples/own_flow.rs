//! Integrate a gradient flow of your own: implement `Objective`, pick a stepper, run.
//!
//! `cargo run --release --example own_flow`

use gradflow::integrators::{tableau, Integrator, RungeKutta, Status, Stop};
use gradflow::problems::Objective;
use gradflow::GradientFlow;
use nalgebra::DVector;

/// L(x, y) = (x − 1)² + 10 (y − x²)²: a milder Rosenbrock valley.
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

fn main() {
    let objective = Valley;
    let stepper = RungeKutta::adaptive(&tableau::DOPRI5, 1e-9, 1e-12, 2);
    let mut run = Integrator::new(stepper, 0.0, objective.start());
    let status = run.integrate(
        &mut GradientFlow::new(&objective),
        &Stop::t_end(50.0),
        &mut (),
    );
    let s = run.stats();
    println!(
        "{} at t = {}: θ = [{:.9}, {:.9}] after {} steps ({} rejected, {} gradients)",
        status.as_str(),
        run.t(),
        run.y()[0],
        run.y()[1],
        s.accepted,
        s.rejected,
        s.evals
    );
    assert_eq!(status, Status::TEnd);
    assert!((run.y()[0] - 1.0).abs() < 1e-6 && (run.y()[1] - 1.0).abs() < 1e-6);
}

#[test]
fn reaches_the_minimum() {
    main();
}
