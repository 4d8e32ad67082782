//! The Jacobian J = ∂f/∂y that implicit steppers linearize with: the field's own
//! ([`VectorField::jacobian`]; −∇²L for a gradient flow) or forward differences of f.

use crate::scalar::lit;
use crate::{Scalar, VectorField};
use nalgebra::{DMatrix, DVector};
use serde::{Deserialize, Serialize};

/// A Jacobian matrix with the workspace to compute it, valid for one point at a time.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(bound = "T: Scalar")]
pub struct Jacobian<T: Scalar> {
    matrix: DMatrix<T>,
    valid: bool,
    /// The last evaluation fell back to finite differences.
    differenced: bool,
    y: DVector<T>,
    f: DVector<T>,
}

impl<T: Scalar> Jacobian<T> {
    /// Whether every buffer fits a state of dimension `n`.
    pub fn is_consistent(&self, n: usize) -> bool {
        self.matrix.shape() == (n, n) && self.y.len() == n && self.f.len() == n
    }

    /// Storage for a state of dimension `n`.
    pub fn new(n: usize) -> Self {
        Jacobian {
            matrix: DMatrix::zeros(n, n),
            valid: false,
            differenced: false,
            y: DVector::zeros(n),
            f: DVector::zeros(n),
        }
    }

    /// The matrix of the last [`Jacobian::update`].
    pub fn matrix(&self) -> &DMatrix<T> {
        &self.matrix
    }

    /// True when the last update used finite differences (the field has no Jacobian).
    pub fn differenced(&self) -> bool {
        self.differenced
    }

    /// True when the matrix belongs to the current point.
    pub fn is_valid(&self) -> bool {
        self.valid
    }

    /// Marks the matrix stale (the point moved).
    pub fn invalidate(&mut self) {
        self.valid = false;
    }

    /// J at `(t, y)`, with `f0 = f(t, y)`, unless already valid: the field's Jacobian, or
    /// forward differences Jᵢⱼ ≈ (fᵢ(y + δⱼeⱼ) − fᵢ(y))/δⱼ with δⱼ = √ε·max(|yⱼ|, 1)
    /// (n evaluations of f). Returns `false` when the result is not finite.
    pub fn update(
        &mut self,
        field: &mut dyn VectorField<T>,
        t: T,
        y: &DVector<T>,
        f0: &DVector<T>,
    ) -> bool {
        if self.valid {
            return true;
        }
        self.differenced = !field.jacobian(t, y, &mut self.matrix);
        if self.differenced {
            let root_eps = T::default_epsilon().sqrt();
            self.y.copy_from(y);
            for j in 0..y.len() {
                let yj = y[j];
                let mut delta = root_eps * yj.abs().max(T::one());
                // Make the step exactly representable: δ = (y + δ) − y.
                let shifted = yj + delta;
                delta = shifted - yj;
                if delta == T::zero() {
                    delta = lit::<T>(f64::from(f32::MIN_POSITIVE)).max(root_eps);
                }
                self.y[j] = yj + delta;
                field.eval(t, &self.y, &mut self.f);
                self.y[j] = yj;
                let mut col = self.matrix.column_mut(j);
                col.zip_zip_apply(&self.f, f0, |c, fi, f0i| *c = (fi - f0i) / delta);
            }
        }
        self.valid = self.matrix.iter().all(|v| v.is_finite());
        self.valid
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn differences_a_field_without_a_jacobian() {
        // f(y) = (−y₀², y₀y₁): J = [[−2y₀, 0], [y₁, y₀]].
        let mut field = |_t: f64, y: &DVector<f64>, dy: &mut DVector<f64>| {
            dy[0] = -y[0] * y[0];
            dy[1] = y[0] * y[1];
        };
        let y = DVector::from_vec(vec![1.5, -2.0]);
        let mut f0 = DVector::zeros(2);
        field(0.0, &y, &mut f0);
        let mut jac = Jacobian::new(2);
        assert!(jac.update(&mut field, 0.0, &y, &f0));
        assert!(jac.differenced());
        let want = DMatrix::from_row_slice(2, 2, &[-3.0, 0.0, -2.0, 1.5]);
        assert!((jac.matrix() - want).amax() < 1e-6);
    }
}
