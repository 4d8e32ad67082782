//! Train the ridge logistic regression on the breast-cancer table with Adam and report the
//! training accuracy.
//!
//! `cargo run --release --example logistic`

use gradflow::integrators::{Integrator, Optimizer, Rule, Stop};
use gradflow::problems::{Logistic, Objective};
use gradflow::GradientFlow;

fn run() -> f64 {
    let model = match Logistic::<f64>::breast_cancer(1e-3) {
        Ok(m) => m,
        Err(e) => panic!("the shipped table loads: {e}"),
    };
    let adam = Optimizer::new(0.01, Rule::adam(0.9, 0.999, 1e-8, false, 31), 31);
    let mut run = Integrator::new(adam, 0.0, model.start());
    run.integrate(&mut GradientFlow::new(&model), &Stop::steps(2000), &mut ());
    let accuracy = model.accuracy(run.y());
    println!(
        "adam, 2000 steps: loss {:.5}, training accuracy {:.2}% ({} rows)",
        model.value(run.y()),
        100.0 * accuracy,
        model.rows()
    );
    accuracy
}

fn main() {
    run();
}

#[test]
fn reaches_the_stated_accuracy() {
    assert!(run() >= 0.98);
}
