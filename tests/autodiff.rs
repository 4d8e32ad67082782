//! Automatic derivatives (feature `autodiff`) drive every method: a generic Rosenbrock loss
//! through `AutoObjective` runs like the registry's hand-differentiated Rosenbrock under
//! every registered method (explicit Runge–Kutta, adaptive pairs, the article's
//! normalized and sign steps, the optimizers, implicit Euler and the Rosenbrock-type
//! methods, which use the Hessian).
#![cfg(feature = "autodiff")]

use gradflow::integrators::{Integrator, Stop};
use gradflow::methods::{methods, Method};
use gradflow::problems::autodiff::{AutoLoss, AutoObjective, DualNum};
use gradflow::problems::{Objective, Rosenbrock};
use gradflow::GradientFlow;
use nalgebra::DVector;

struct RosenbrockLoss;

impl AutoLoss for RosenbrockLoss {
    fn loss<D: DualNum<Primitive = f64> + Copy>(&self, x: &[D]) -> D {
        x.windows(2)
            .map(|w| (w[1] - w[0] * w[0]).powi(2) * 100.0 + (D::one() - w[0]).powi(2))
            .sum()
    }
}

/// 300 steps of `method` on `f` from the registry's start; θ, t and the step count.
fn run(method: &Method, f: &dyn Objective<f64>) -> (DVector<f64>, f64, u64) {
    let n = f.dim();
    let mut run = Integrator::new(
        method.any_stepper::<f64>(n),
        0.0,
        Rosenbrock::new(n).start(),
    );
    run.integrate(&mut GradientFlow::new(f), &Stop::steps(300), &mut ());
    (run.y().clone(), run.t(), run.stats().accepted)
}

/// Every method family, n = 4. The automatic gradient evaluates the same formula as the
/// registry's code in a different order, so the two agree to a few ulps per gradient.
/// Fixed-step runs stay within ~1e-15 relative (measured: ≤ 9e-16); adaptive ones
/// further apart (measured: 2.7e-11 for dopri5), because their error estimate is a
/// difference of two nearly equal solutions, of relative size rtol, which magnifies
/// ulp-level differences by 1/rtol in the step sizes. 1e-8 relative bounds both and is
/// far below what a wrong derivative gives.
#[test]
fn every_method_runs_on_automatic_derivatives() {
    let n = 4;
    let auto = AutoObjective::new(RosenbrockLoss, vec![0.0; n]);
    let exact = Rosenbrock::new(n);
    let mut worst = 0.0_f64;
    for info in methods() {
        let method = Method::parse(info.name).unwrap();
        let (ya, ta, sa) = run(&method, &auto);
        let (ye, te, se) = run(&method, &exact);
        assert_eq!(sa, se, "{}: steps", info.name);
        let d = (&ya - &ye).amax() / ye.amax() + (ta - te).abs() / te.abs().max(1e-300);
        worst = worst.max(d);
        println!("{}: {d:.1e}", info.name);
        assert!(d <= 1e-8, "{}: θ {ya} vs {ye}, t {ta} vs {te}", info.name);
        assert!(
            (&ya - exact.start()).amax() > 1e-3,
            "{}: did not move",
            info.name
        );
    }
    println!("largest relative difference over every method: {worst:.1e}");
}

/// The guide's example: dopri5 on the automatic Rosenbrock in 4 dimensions reaches the
/// minimum by t = 200.
#[test]
fn the_guide_example_reaches_the_minimum() {
    use gradflow::integrators::{tableau, RungeKutta};
    let f = AutoObjective::new(RosenbrockLoss, vec![-1.2, 1.0, -1.2, 1.0]);
    let stepper = RungeKutta::adaptive(&tableau::DOPRI5, 1e-9, 1e-12, 4);
    let mut run = Integrator::new(stepper, 0.0, f.start());
    run.integrate(&mut GradientFlow::new(&f), &Stop::t_end(200.0), &mut ());
    let err = run.y().map(|v| v - 1.0).amax();
    println!(
        "guide example: max |θ − 1| = {err:.1e} after {} steps",
        run.stats().accepted
    );
    assert!(err < 1e-7, "{}", run.y());
}
