//! Helpers shared by the integration tests.
#![allow(dead_code)]

use gradflow::integrators::{Integrator, Observer, Point, Scalar, Status, Stepper, Stop};
use gradflow::problems::{build, Objective};
use gradflow::GradientFlow;
use nalgebra::DVector;

/// A registry problem in f64.
pub fn problem(name: &str, params: &[(&str, f64)]) -> Box<dyn Objective<f64> + Send + Sync> {
    match build::<f64>(name, params) {
        Ok(p) => p,
        Err(e) => panic!("{name}: {e}"),
    }
}

/// Integrates the gradient flow of `objective` with `stepper` from `x0` until `stop`.
pub fn integrate<T: Scalar + gradflow::problems::Real, S: Stepper<T>>(
    objective: &dyn Objective<T>,
    stepper: S,
    x0: DVector<T>,
    stop: &Stop<T>,
) -> (Integrator<T, S>, Status) {
    let mut run = Integrator::new(stepper, T::zero(), x0);
    let mut flow = GradientFlow::new(objective);
    let status = run.integrate(&mut flow, stop, &mut ());
    (run, status)
}

/// Least-squares slope of log(err) against log(h).
pub fn slope(h: &[f64], err: &[f64]) -> f64 {
    let x: Vec<f64> = h.iter().map(|v| v.ln()).collect();
    let y: Vec<f64> = err.iter().map(|v| v.ln()).collect();
    let n = x.len() as f64;
    let (mx, my) = (x.iter().sum::<f64>() / n, y.iter().sum::<f64>() / n);
    let sxy: f64 = x.iter().zip(&y).map(|(a, b)| (a - mx) * (b - my)).sum();
    let sxx: f64 = x.iter().map(|a| (a - mx) * (a - mx)).sum();
    sxy / sxx
}

/// Keeps every accepted state (for step-by-step checks).
#[derive(Default)]
pub struct Trace {
    pub points: Vec<(u64, f64, Vec<f64>, Option<f64>)>,
}

impl Observer<f64> for Trace {
    fn observe(&mut self, p: &Point<'_, f64>) {
        self.points
            .push((p.step, p.t, p.y.as_slice().to_vec(), p.h));
    }
}

/// Path to a committed fixture.
pub fn fixture(rel: &str) -> String {
    format!("{}/tests/fixtures/{rel}", env!("CARGO_MANIFEST_DIR"))
}
