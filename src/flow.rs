//! An objective seen as the vector field of its gradient flow.

use gradflow_integrators::{Scalar, VectorField};
use gradflow_problems::{Objective, Real};
use nalgebra::DVector;

/// The gradient flow dθ/dt = −∇L(θ) of an objective, as a [`VectorField`].
///
/// `eval` writes −∇L(θ); the potential is L itself, so the driver's `ftol` stop reads the
/// loss. Steppers that want the gradient take g = −f, which is exact in floating point.
pub struct GradientFlow<'a, O: ?Sized> {
    objective: &'a O,
}

impl<'a, O: ?Sized> GradientFlow<'a, O> {
    /// The flow of `objective`.
    pub fn new(objective: &'a O) -> Self {
        GradientFlow { objective }
    }

    /// The objective.
    pub fn objective(&self) -> &'a O {
        self.objective
    }
}

impl<T, O> VectorField<T> for GradientFlow<'_, O>
where
    T: Scalar + Real,
    O: Objective<T> + ?Sized,
{
    #[inline]
    fn eval(&mut self, _t: T, y: &DVector<T>, dy: &mut DVector<T>) {
        self.objective.gradient(y, dy);
        dy.neg_mut();
    }

    fn potential(&mut self, y: &DVector<T>) -> Option<T> {
        Some(self.objective.value(y))
    }
}
