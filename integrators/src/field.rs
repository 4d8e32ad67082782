//! Vector fields `dy/dt = f(t, y)`.

use crate::Scalar;
use nalgebra::DVector;

/// The right-hand side of an ODE, `dy/dt = f(t, y)`.
///
/// `eval` writes `f(t, y)` into `dy`, a buffer the caller owns and sizes: an
/// evaluation never allocates. A field that is the negative gradient of a
/// potential `V` (a gradient flow, `f = −∇V`) may expose `V` through
/// [`VectorField::potential`]; the driver uses it for the `ftol` stop.
pub trait VectorField<T: Scalar> {
    /// Writes `f(t, y)` into `dy`.
    fn eval(&mut self, t: T, y: &DVector<T>, dy: &mut DVector<T>);

    /// The potential `V(y)` with `f = −∇V`, where there is one.
    fn potential(&mut self, _y: &DVector<T>) -> Option<T> {
        None
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

/// Wraps a field and counts its evaluations.
pub(crate) struct Counted<'a, T: Scalar> {
    pub inner: &'a mut dyn VectorField<T>,
    pub evals: u64,
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
}
