//! Automatic derivatives (feature `autodiff`) against the analytic gradients, Hessians and
//! Hessian-vector products of the registry problems, written once as generic losses.
#![cfg(feature = "autodiff")]

use gradflow_problems::autodiff::{AutoLoss, AutoObjective, DualNum};
use gradflow_problems::{Beale, Himmelblau, Objective, Quadratic, Rosenbrock};
use nalgebra::{DMatrix, DVector};

struct RosenbrockLoss;

impl AutoLoss for RosenbrockLoss {
    fn loss<D: DualNum<Primitive = f64> + Copy>(&self, x: &[D]) -> D {
        x.windows(2)
            .map(|w| (w[1] - w[0] * w[0]).powi(2) * 100.0 + (D::one() - w[0]).powi(2))
            .sum()
    }
}

struct BealeLoss;

impl AutoLoss for BealeLoss {
    fn loss<D: DualNum<Primitive = f64> + Copy>(&self, p: &[D]) -> D {
        let (x, y) = (p[0], p[1]);
        let c = |k: f64| D::from(k);
        (c(1.5) - x + x * y).powi(2)
            + (c(2.25) - x + x * y.powi(2)).powi(2)
            + (c(2.625) - x + x * y.powi(3)).powi(2)
    }
}

struct HimmelblauLoss;

impl AutoLoss for HimmelblauLoss {
    fn loss<D: DualNum<Primitive = f64> + Copy>(&self, p: &[D]) -> D {
        let (x, y) = (p[0], p[1]);
        (x * x + y - 11.0).powi(2) + (x + y * y - 7.0).powi(2)
    }
}

/// ½ Σ λᵢθᵢ² with the registry's eigenvalues.
struct QuadraticLoss(Vec<f64>);

impl AutoLoss for QuadraticLoss {
    fn loss<D: DualNum<Primitive = f64> + Copy>(&self, x: &[D]) -> D {
        x.iter()
            .zip(&self.0)
            .map(|(&xi, &l)| xi * xi * (0.5 * l))
            .sum()
    }
}

struct Lcg(u64);

impl Lcg {
    fn unit(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Compares value, gradient, Hessian and Hessian-vector product at random points.
fn agrees(name: &str, auto: &dyn Objective<f64>, exact: &dyn Objective<f64>, spread: f64) {
    let n = exact.dim();
    assert_eq!(auto.dim(), n, "{name}");
    let mut rng = Lcg(n as u64 + 17);
    for _ in 0..25 {
        let x = DVector::from_fn(n, |_, _| (rng.unit() * 2.0 - 1.0) * spread);
        let close = |a: f64, b: f64, scale: f64| (a - b).abs() <= 1e-13 * scale.max(1.0);
        let (mut g, mut ge) = (DVector::zeros(n), DVector::zeros(n));
        let (l, le) = (
            auto.value_and_gradient(&x, &mut g),
            exact.value_and_gradient(&x, &mut ge),
        );
        assert!(close(l, le, le.abs()), "{name}: L {l} vs {le}");
        assert_eq!(
            auto.value(&x),
            l,
            "{name}: value and value_and_gradient differ"
        );
        for i in 0..n {
            assert!(close(g[i], ge[i], ge.amax()), "{name}: ∇L {g} vs {ge}");
        }
        let (mut h, mut he) = (DMatrix::zeros(n, n), DMatrix::zeros(n, n));
        assert!(auto.hessian(&x, &mut h) && exact.hessian(&x, &mut he));
        assert!(
            (&h - &he).amax() <= 1e-13 * he.amax().max(1.0),
            "{name}: {h} vs {he}"
        );
        let v = DVector::from_fn(n, |_, _| rng.unit() - 0.5);
        let (mut hv, mut hve) = (DVector::zeros(n), DVector::zeros(n));
        assert!(auto.hessian_vector(&x, &v, &mut hv) && exact.hessian_vector(&x, &v, &mut hve));
        assert!(
            (&hv - &hve).amax() <= 1e-13 * hve.amax().max(1.0),
            "{name}: Hv {hv} vs {hve}"
        );
    }
}

#[test]
fn automatic_derivatives_are_the_analytic_ones() {
    agrees(
        "rosenbrock n=5",
        &AutoObjective::new(RosenbrockLoss, vec![0.0; 5]),
        &Rosenbrock::new(5),
        2.0,
    );
    agrees(
        "rosenbrock n=2",
        &AutoObjective::new(RosenbrockLoss, vec![0.0; 2]),
        &Rosenbrock::new(2),
        2.0,
    );
    agrees(
        "beale",
        &AutoObjective::new(BealeLoss, vec![1.0, 1.0]),
        &Beale,
        4.5,
    );
    agrees(
        "himmelblau",
        &AutoObjective::new(HimmelblauLoss, vec![0.0, 0.0]),
        &Himmelblau,
        5.0,
    );
    let q = Quadratic::<f64>::new(4, 100.0, 0.5);
    // The eigenvalues from the quadratic's own Hessian (diagonal).
    let mut h = DMatrix::zeros(4, 4);
    assert!(q.hessian(&DVector::zeros(4), &mut h));
    let lambdas: Vec<f64> = (0..4).map(|i| h[(i, i)]).collect();
    agrees(
        "quadratic n=4",
        &AutoObjective::new(QuadraticLoss(lambdas), vec![1.0; 4]),
        &q,
        3.0,
    );
}

/// A wrong loss is told apart: the check above can fail.
#[test]
fn a_different_loss_has_different_derivatives() {
    struct Off;
    impl AutoLoss for Off {
        fn loss<D: DualNum<Primitive = f64> + Copy>(&self, p: &[D]) -> D {
            let (x, y) = (p[0], p[1]);
            (x * x + y - 11.0).powi(2) + (x + y * y - 7.0001).powi(2)
        }
    }
    let x = DVector::from_vec(vec![1.0, 2.0]);
    let (mut g, mut ge) = (DVector::zeros(2), DVector::zeros(2));
    AutoObjective::new(Off, vec![0.0, 0.0]).gradient(&x, &mut g);
    Himmelblau.gradient(&x, &mut ge);
    assert!((&g - &ge).amax() > 1e-5);
}

/// f32 evaluates in f64 and rounds; the start fixes the dimension; more than 16
/// variables leave the stack buffer for the heap.
#[test]
fn precision_start_and_large_dimension() {
    let f = AutoObjective::new(RosenbrockLoss, vec![-1.2, 1.0]);
    let x32: DVector<f32> = f.start();
    assert_eq!(x32, DVector::from_vec(vec![-1.2f32, 1.0]));
    let (mut g32, mut g64) = (DVector::<f32>::zeros(2), DVector::zeros(2));
    let l32 = f.value_and_gradient(&x32, &mut g32);
    let l64 = f.value_and_gradient(&x32.map(f64::from), &mut g64);
    assert_eq!(l32, l64 as f32);
    assert_eq!(g32, g64.map(|v| v as f32));

    let n = 40;
    agrees(
        "rosenbrock n=40",
        &AutoObjective::new(RosenbrockLoss, vec![0.0; n]),
        &Rosenbrock::new(n),
        1.5,
    );
}
