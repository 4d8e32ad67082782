//! Vector fields `dy/dt = f(t, y)`.

use crate::Scalar;
use nalgebra::{DMatrix, DVector};

/// The right-hand side of an ODE, `dy/dt = f(t, y)`.
///
/// `eval` writes `f(t, y)` into `dy`, a buffer the caller owns and sizes: an
/// evaluation never allocates. A field that is the negative gradient of a
/// potential `V` (a gradient flow, `f = −∇V`) may expose `V` through
/// [`VectorField::potential`]; the driver uses it for the `ftol` stop. Implicit and
/// linearly implicit steppers use the Jacobian `J = ∂f/∂y` ([`VectorField::jacobian`],
/// `J = −∇²V` for a gradient flow) where the field has one, and finite differences of
/// `f` otherwise.
pub trait VectorField<T: Scalar> {
    /// Writes `f(t, y)` into `dy`.
    fn eval(&mut self, t: T, y: &DVector<T>, dy: &mut DVector<T>);

    /// The potential `V(y)` with `f = −∇V`, where there is one.
    fn potential(&mut self, _y: &DVector<T>) -> Option<T> {
        None
    }

    /// Writes the gradient `∇V(t, y) = −f(t, y)` of the potential into `grad` and returns
    /// `true`, for a gradient flow that gives it; the default returns `false` and evaluates
    /// nothing. One such call counts as one evaluation of the field.
    ///
    /// The optimizers step along the gradient: a field that writes it directly saves the
    /// negation between ∇V and f on every step (for a field that computes ∇V and negates
    /// it, as `GradientFlow` would, a pass over the state).
    fn gradient(&mut self, _t: T, _y: &DVector<T>, _grad: &mut DVector<T>) -> bool {
        false
    }

    /// Writes the Jacobian `J = ∂f/∂y (t, y)` into `jac` (n × n, every entry overwritten);
    /// `false` when the field has none (then `jac` holds nothing meaningful).
    fn jacobian(&mut self, _t: T, _y: &DVector<T>, _jac: &mut DMatrix<T>) -> bool {
        false
    }

    /// Writes the Jacobian-vector product `J v` into `jv`; `false` when the field has none.
    fn jacobian_vector(
        &mut self,
        _t: T,
        _y: &DVector<T>,
        _v: &DVector<T>,
        _jv: &mut DVector<T>,
    ) -> bool {
        false
    }
}

impl<T, F> VectorField<T> for F
where
    T: Scalar,
    F: FnMut(T, &DVector<T>, &mut DVector<T>),
{
    fn eval(&mut self, t: T, y: &DVector<T>, dy: &mut DVector<T>) {
        self(t, y, dy)
    }
}

/// Wraps a field and counts its evaluations, and its Jacobian (and Jacobian-vector)
/// evaluations that succeeded.
pub(crate) struct Counted<'a, T: Scalar> {
    pub inner: &'a mut dyn VectorField<T>,
    pub evals: u64,
    pub jac_evals: u64,
}

impl<T: Scalar> Counted<'_, T> {
    /// The counts so far, reset to zero.
    #[inline(always)]
    pub(crate) fn take(&mut self) -> crate::driver::Evals {
        crate::driver::Evals {
            field: std::mem::take(&mut self.evals),
            jacobian: std::mem::take(&mut self.jac_evals),
        }
    }
}

impl<T: Scalar> VectorField<T> for Counted<'_, T> {
    #[inline]
    fn eval(&mut self, t: T, y: &DVector<T>, dy: &mut DVector<T>) {
        self.evals += 1;
        self.inner.eval(t, y, dy)
    }

    fn potential(&mut self, y: &DVector<T>) -> Option<T> {
        self.inner.potential(y)
    }

    #[inline]
    fn gradient(&mut self, t: T, y: &DVector<T>, grad: &mut DVector<T>) -> bool {
        let ok = self.inner.gradient(t, y, grad);
        self.evals += u64::from(ok);
        ok
    }

    fn jacobian(&mut self, t: T, y: &DVector<T>, jac: &mut DMatrix<T>) -> bool {
        let ok = self.inner.jacobian(t, y, jac);
        self.jac_evals += u64::from(ok);
        ok
    }

    fn jacobian_vector(
        &mut self,
        t: T,
        y: &DVector<T>,
        v: &DVector<T>,
        jv: &mut DVector<T>,
    ) -> bool {
        let ok = self.inner.jacobian_vector(t, y, v, jv);
        self.jac_evals += u64::from(ok);
        ok
    }
}
