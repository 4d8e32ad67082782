//! The objective trait.

use crate::vexp::BlockExp;
use nalgebra::{DMatrix, DVector, RealField};

/// A real floating-point scalar (`f32` or `f64`), with eˣ over a block
/// ([`BlockExp`], for the vectorized loops of the data-driven losses).
pub trait Real: RealField + Copy + BlockExp {}

impl<T: RealField + Copy + BlockExp> Real for T {}

/// Converts an `f64` constant into `T`.
#[inline]
pub(crate) fn lit<T: Real>(x: f64) -> T {
    nalgebra::convert(x)
}

/// A differentiable loss L: ℝⁿ → ℝ.
///
/// Gradients, Hessian-vector products and dense Hessians are written into caller-owned
/// buffers of length [`Objective::dim`] (n × n for a Hessian): evaluating never allocates.
pub trait Objective<T: Real> {
    /// The dimension n of θ.
    fn dim(&self) -> usize;

    /// L(θ).
    fn value(&self, x: &DVector<T>) -> T;

    /// ∇L(θ), written into `g`.
    fn gradient(&self, x: &DVector<T>, g: &mut DVector<T>);

    /// L(θ) and ∇L(θ) in one pass.
    fn value_and_gradient(&self, x: &DVector<T>, g: &mut DVector<T>) -> T {
        self.gradient(x, g);
        self.value(x)
    }

    /// The Hessian-vector product ∇²L(θ)·v written into `hv`; `false` when the objective
    /// has no Hessian.
    fn hessian_vector(&self, _x: &DVector<T>, _v: &DVector<T>, _hv: &mut DVector<T>) -> bool {
        false
    }

    /// The dense Hessian ∇²L(θ) written into `h` (n × n, symmetric, every entry
    /// overwritten); `false` when the objective has no Hessian. Implicit integrators use it
    /// as the Jacobian −∇²L of the gradient flow.
    fn hessian(&self, _x: &DVector<T>, _h: &mut DMatrix<T>) -> bool {
        false
    }

    /// The default start θ₀.
    fn start(&self) -> DVector<T>;

    /// A minimizer, where one is known.
    fn minimizer(&self) -> Option<DVector<T>> {
        None
    }

    /// The exact gradient flow θ(t) from θ(0) = `x0` (dθ/dt = −∇L), written into `out`;
    /// `false` where no closed form is known.
    fn exact_flow(&self, _x0: &DVector<T>, _t: T, _out: &mut DVector<T>) -> bool {
        false
    }
}

impl<T: Real, O: Objective<T> + ?Sized> Objective<T> for Box<O> {
    fn dim(&self) -> usize {
        (**self).dim()
    }
    fn value(&self, x: &DVector<T>) -> T {
        (**self).value(x)
    }
    fn gradient(&self, x: &DVector<T>, g: &mut DVector<T>) {
        (**self).gradient(x, g)
    }
    fn value_and_gradient(&self, x: &DVector<T>, g: &mut DVector<T>) -> T {
        (**self).value_and_gradient(x, g)
    }
    fn hessian_vector(&self, x: &DVector<T>, v: &DVector<T>, hv: &mut DVector<T>) -> bool {
        (**self).hessian_vector(x, v, hv)
    }
    fn hessian(&self, x: &DVector<T>, h: &mut DMatrix<T>) -> bool {
        (**self).hessian(x, h)
    }
    fn start(&self) -> DVector<T> {
        (**self).start()
    }
    fn minimizer(&self) -> Option<DVector<T>> {
        (**self).minimizer()
    }
    fn exact_flow(&self, x0: &DVector<T>, t: T, out: &mut DVector<T>) -> bool {
        (**self).exact_flow(x0, t, out)
    }
}
