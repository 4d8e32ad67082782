//! Automatic derivatives (feature `autodiff`): one generic loss function gives the value,
//! the gradient, the Hessian-vector product and the Hessian, by forward-mode dual numbers
//! ([`num_dual`]).
//!
//! Write the loss once, generically over num-dual's [`DualNum`] scalars, by implementing
//! [`AutoLoss`]; [`AutoObjective`] turns it into an [`Objective`] that every method runs.
//!
//! # Cost (forward mode)
//!
//! Each evaluation with dual numbers carries one direction of derivative, so:
//!
//! | what | evaluations of the loss | scalar type |
//! | --- | --- | --- |
//! | L | 1 | `f64` |
//! | ∇L (and L with it) | n | [`Dual64`]: direction eᵢ |
//! | ∇²L·v | n | [`HyperDual64`]: directions eᵢ and v |
//! | ∇²L (dense) | n(n+1)/2 | [`HyperDual64`]: directions eᵢ and eⱼ |
//!
//! A gradient thus costs O(n) evaluations of L, about n times a hand-written gradient
//! (reverse mode would cost a constant multiple of one L): fine for the small and
//! medium problems of the registry, not for n in the thousands. Each dual evaluation
//! costs 2–4 times an `f64` one.
//!
//! Values are computed in `f64`; an `f32` run converts θ to `f64` and the results back.
//!
//! # Example
//!
//! ```
//! use gradflow_problems::autodiff::{AutoLoss, AutoObjective, DualNum};
//! use gradflow_problems::Objective;
//! use nalgebra::DVector;
//!
//! /// Rosenbrock's function in any dimension, written once.
//! struct Banana;
//!
//! impl AutoLoss for Banana {
//!     fn loss<D: DualNum<Primitive = f64> + Copy>(&self, x: &[D]) -> D {
//!         x.windows(2)
//!             .map(|w| (w[1] - w[0] * w[0]).powi(2) * 100.0 + (D::one() - w[0]).powi(2))
//!             .sum()
//!     }
//! }
//!
//! let f = AutoObjective::new(Banana, vec![-1.2, 1.0]);
//! let x: DVector<f64> = f.start();
//! let mut g = DVector::zeros(2);
//! let loss = f.value_and_gradient(&x, &mut g);
//! assert!((loss - 24.2).abs() < 1e-12);
//! assert!((g[0] + 215.6).abs() < 1e-12 && (g[1] + 88.0).abs() < 1e-12);
//!
//! // ∇²L·v, exact: the Hessian at (−1.2, 1) is [[1330, 480], [480, 200]].
//! let mut hv = DVector::zeros(2);
//! assert!(f.hessian_vector(&x, &DVector::from_vec(vec![1.0, 0.0]), &mut hv));
//! assert!((hv[0] - 1330.0).abs() < 1e-9 && (hv[1] - 480.0).abs() < 1e-9);
//! ```

use crate::objective::{Objective, Real};
use nalgebra::{DMatrix, DVector};

pub use num_dual::{self, Dual64, DualNum, HyperDual64};

/// A loss L: ℝⁿ → ℝ written once for any scalar of num-dual: `f64` for values, dual
/// numbers for derivatives.
///
/// Write it with the operations of [`DualNum`]: `+ - * /` between scalars and with `f64`
/// on the right (`x[0] * 100.0`), `powi`, `powf`, `sqrt`, `exp`, `ln`, `sin`, ...;
/// constants as `D::from(2.5)` or `D::one()`. The length of `x` is the dimension the
/// [`AutoObjective`] was built with.
pub trait AutoLoss {
    /// L(x).
    fn loss<D: DualNum<Primitive = f64> + Copy>(&self, x: &[D]) -> D;
}

/// An [`AutoLoss`] with a start point (which fixes the dimension), as an [`Objective`]
/// with exact derivatives by forward-mode automatic differentiation. See the
/// [module documentation](self) for the cost.
#[derive(Clone, Debug)]
pub struct AutoObjective<L> {
    loss: L,
    start: Vec<f64>,
}

impl<L: AutoLoss> AutoObjective<L> {
    /// The objective of `loss` in dimension `start.len()`, starting at `start`.
    pub fn new(loss: L, start: Vec<f64>) -> Self {
        AutoObjective { loss, start }
    }

    /// The loss.
    pub fn loss(&self) -> &L {
        &self.loss
    }

    /// The dimension n.
    pub fn dim(&self) -> usize {
        self.start.len()
    }
}

/// Up to this dimension the dual numbers of one evaluation live on the stack.
const STACK: usize = 16;

/// Calls `f` with a buffer of `n` copies of `fill` (on the stack for small n).
#[inline]
fn with_buffer<D: Copy, R>(n: usize, fill: D, f: impl FnOnce(&mut [D]) -> R) -> R {
    if n <= STACK {
        let mut buf = [fill; STACK];
        f(&mut buf[..n])
    } else {
        let mut buf = vec![fill; n];
        f(&mut buf)
    }
}

#[inline]
fn to_f64<T: Real>(v: T) -> f64 {
    nalgebra::try_convert::<T, f64>(v).unwrap_or(f64::NAN)
}

impl<L: AutoLoss> AutoObjective<L> {
    /// L and ∇L at `x`: n evaluations with `Dual64`, the i-th seeded with eᵢ.
    fn value_gradient_f64<T: Real>(&self, x: &DVector<T>, g: &mut DVector<T>) -> T {
        let n = x.len();
        let zero = Dual64::new(0.0, 0.0);
        with_buffer(n, zero, |d| {
            for (dj, xj) in d.iter_mut().zip(x.iter()) {
                *dj = Dual64::new(to_f64(*xj), 0.0);
            }
            let mut value = if n == 0 {
                self.loss.loss::<f64>(&[])
            } else {
                f64::NAN
            };
            for i in 0..n {
                d[i].eps = 1.0;
                let r = self.loss.loss(d);
                d[i].eps = 0.0;
                g[i] = nalgebra::convert(r.eps);
                value = r.re;
            }
            nalgebra::convert(value)
        })
    }

    /// (∇²L·v)ᵢ = the ε₁ε₂ part of L(x + ε₁eᵢ + ε₂v), with `HyperDual64`, for every i.
    fn hessian_vector_f64<T: Real>(&self, x: &DVector<T>, v: &DVector<T>, hv: &mut DVector<T>) {
        let zero = HyperDual64::new(0.0, 0.0, 0.0, 0.0);
        with_buffer(x.len(), zero, |d| {
            for ((dj, xj), vj) in d.iter_mut().zip(x.iter()).zip(v.iter()) {
                *dj = HyperDual64::new(to_f64(*xj), 0.0, to_f64(*vj), 0.0);
            }
            for i in 0..d.len() {
                d[i].eps1 = 1.0;
                let r = self.loss.loss(d);
                d[i].eps1 = 0.0;
                hv[i] = nalgebra::convert(r.eps1eps2);
            }
        })
    }

    /// Hᵢⱼ = the ε₁ε₂ part of L(x + ε₁eᵢ + ε₂eⱼ) for j ≤ i, mirrored.
    fn hessian_f64<T: Real>(&self, x: &DVector<T>, h: &mut DMatrix<T>) {
        let zero = HyperDual64::new(0.0, 0.0, 0.0, 0.0);
        with_buffer(x.len(), zero, |d| {
            for (dj, xj) in d.iter_mut().zip(x.iter()) {
                *dj = HyperDual64::new(to_f64(*xj), 0.0, 0.0, 0.0);
            }
            for i in 0..d.len() {
                d[i].eps1 = 1.0;
                for j in 0..=i {
                    d[j].eps2 = 1.0;
                    let r = self.loss.loss(d);
                    d[j].eps2 = 0.0;
                    let hij: T = nalgebra::convert(r.eps1eps2);
                    h[(i, j)] = hij;
                    h[(j, i)] = hij;
                }
                d[i].eps1 = 0.0;
            }
        })
    }
}

impl<T: Real, L: AutoLoss> Objective<T> for AutoObjective<L> {
    fn dim(&self) -> usize {
        self.start.len()
    }

    fn value(&self, x: &DVector<T>) -> T {
        with_buffer(x.len(), 0.0, |buf| {
            for (b, v) in buf.iter_mut().zip(x.iter()) {
                *b = to_f64(*v);
            }
            nalgebra::convert(self.loss.loss::<f64>(buf))
        })
    }

    /// n forward-mode evaluations (see the [module documentation](self)).
    fn gradient(&self, x: &DVector<T>, g: &mut DVector<T>) {
        self.value_gradient_f64(x, g);
    }

    /// The value comes with the gradient's evaluations: n in all.
    fn value_and_gradient(&self, x: &DVector<T>, g: &mut DVector<T>) -> T {
        self.value_gradient_f64(x, g)
    }

    /// n hyper-dual evaluations.
    fn hessian_vector(&self, x: &DVector<T>, v: &DVector<T>, hv: &mut DVector<T>) -> bool {
        self.hessian_vector_f64(x, v, hv);
        true
    }

    /// n(n+1)/2 hyper-dual evaluations.
    fn hessian(&self, x: &DVector<T>, h: &mut DMatrix<T>) -> bool {
        self.hessian_f64(x, h);
        true
    }

    fn start(&self) -> DVector<T> {
        DVector::from_iterator(
            self.start.len(),
            self.start.iter().map(|&v| nalgebra::convert(v)),
        )
    }
}
