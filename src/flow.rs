//! An objective seen as the vector field of its gradient flow.

use gradflow_integrators::{Scalar, VectorField};
use gradflow_problems::{Objective, Real};
use nalgebra::{DMatrix, DVector};

/// The gradient flow dθ/dt = −∇L(θ) of an objective, as a [`VectorField`].
///
/// `eval` writes −∇L(θ); the potential is L itself, so the driver's `ftol` stop reads the
/// loss. The optimizers, which step along the gradient, take ∇L itself
/// ([`VectorField::gradient`]). The Jacobian is J = −∇²L (and Jv = −∇²L·v), where the
/// objective has a Hessian; the driver counts these as Hessian evaluations.
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
    /// f = 0 − ∇L: −∇L exactly, except that a zero component is +0.
    ///
    /// Not `−x`: the compiler turns a negation in place into a one-byte XOR of the sign
    /// bit in memory, and the next read of that value, a full eight bytes, cannot then be
    /// forwarded from the store buffer. At small n, where the optimizer reads f at once,
    /// that stall cost a third of a step (measured on `rosenbrock`).
    #[inline]
    fn eval(&mut self, _t: T, y: &DVector<T>, dy: &mut DVector<T>) {
        self.objective.gradient(y, dy);
        for x in dy.as_mut_slice() {
            *x = T::zero() - *x;
        }
    }

    fn potential(&mut self, y: &DVector<T>) -> Option<T> {
        Some(self.objective.value(y))
    }

    /// ∇L itself, bit for bit.
    #[inline]
    fn gradient(&mut self, _t: T, y: &DVector<T>, grad: &mut DVector<T>) -> bool {
        self.objective.gradient(y, grad);
        true
    }

    fn jacobian(&mut self, _t: T, y: &DVector<T>, jac: &mut DMatrix<T>) -> bool {
        let ok = self.objective.hessian(y, jac);
        if ok {
            jac.neg_mut();
        }
        ok
    }

    fn jacobian_vector(
        &mut self,
        _t: T,
        y: &DVector<T>,
        v: &DVector<T>,
        jv: &mut DVector<T>,
    ) -> bool {
        let ok = self.objective.hessian_vector(y, v, jv);
        if ok {
            jv.neg_mut();
        }
        ok
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gradflow_problems::Rosenbrock;

    #[test]
    fn the_gradient_is_the_objectives_and_the_field_its_negative() {
        let objective = Rosenbrock::new(3);
        let mut flow = GradientFlow::new(&objective);
        let y = DVector::from_vec(vec![0.3f64, -1.2, 2.0]);
        let (mut g, mut f, mut want) = (
            DVector::<f64>::zeros(3),
            DVector::zeros(3),
            DVector::zeros(3),
        );
        objective.gradient(&y, &mut want);
        assert!(flow.gradient(0.0, &y, &mut g));
        flow.eval(0.0, &y, &mut f);
        for i in 0..3 {
            assert_eq!(g[i].to_bits(), want[i].to_bits(), "component {i}");
            assert_eq!(f[i].to_bits(), (-want[i]).to_bits(), "component {i}");
        }
        // A field without a gradient says so and writes nothing.
        let mut plain = |_t: f64, y: &DVector<f64>, dy: &mut DVector<f64>| dy.copy_from(y);
        let mut untouched = DVector::from_element(3, 7.0);
        assert!(!VectorField::gradient(&mut plain, 0.0, &y, &mut untouched));
        assert_eq!(untouched, DVector::from_element(3, 7.0));
    }
}
