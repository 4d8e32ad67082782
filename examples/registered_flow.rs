//! Integrate a registered problem's gradient flow from code.
//!
//! `cargo run --release --example registered_flow`

use gradflow::RunSpec;

fn run() -> Result<gradflow::Report, gradflow::Error> {
    // Rosenbrock's flow from (−1.2, 1) to t = 1000 with Dormand–Prince 5(4), PI control.
    RunSpec::new("rosenbrock", "dopri5:rtol=1e-8,pi=true")
        .t_end(1000.0)
        .record(1000)
        .run()
}

fn main() -> Result<(), gradflow::Error> {
    let r = run()?;
    for p in &r.trajectory {
        println!("step {:>7}  t = {:>9.3}  L = {:.3e}", p.step, p.t, p.loss);
    }
    println!(
        "{}: θ = {:?} after {} gradients",
        r.status.as_str(),
        r.theta,
        r.grad_evals
    );
    Ok(())
}

#[test]
fn reaches_the_minimum() {
    let r = run().unwrap();
    let theta = r.theta.unwrap();
    assert!((theta[0] - 1.0).abs() < 1e-6 && (theta[1] - 1.0).abs() < 1e-6);
}
