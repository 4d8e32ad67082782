//! The linear algebra of implicit steppers: factor the iteration matrix M = I − c·J once,
//! solve with it many times, all in storage allocated once.
//!
//! nalgebra's `Cholesky` and `LU` take their matrix by value and, for a dynamic size,
//! allocate the permutation on every factorization (and drop the matrix when a
//! factorization fails); a stepper must not allocate per step, so the two textbook
//! factorizations are written here in place (Golub & Van Loan, *Matrix Computations*,
//! 4th ed., Alg. 4.2.1 (Cholesky, gaxpy form) and Alg. 3.4.1 (LU with partial pivoting)).

use crate::Scalar;
use nalgebra::{DMatrix, DVector};
use serde::{Deserialize, Serialize};

/// Which factorization the last call to [`ShiftedSystem::factor`] produced.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Factorization {
    /// M = L Lᵀ: J was exactly symmetric (a Hessian, for a gradient flow) and M positive
    /// definite, as I + h∇²L is wherever L is convex.
    Cholesky,
    /// P M = L U with partial pivoting: the general case.
    Lu,
}

/// M = I − c·J for a Jacobian J and a scalar c (hγ for a Rosenbrock method, h for
/// backward Euler), factored in place.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(bound = "T: Scalar")]
pub struct ShiftedSystem<T: Scalar> {
    m: DMatrix<T>,
    piv: Vec<usize>,
    kind: Option<Factorization>,
}

impl<T: Scalar> ShiftedSystem<T> {
    /// Whether the storage fits an n × n system (and its pivots are in range).
    pub fn is_consistent(&self, n: usize) -> bool {
        self.m.shape() == (n, n) && self.piv.len() == n && self.piv.iter().all(|&p| p < n)
    }

    /// Storage for an n × n system.
    pub fn new(n: usize) -> Self {
        ShiftedSystem {
            m: DMatrix::zeros(n, n),
            piv: vec![0; n],
            kind: None,
        }
    }

    /// The factorization in place, if the last [`ShiftedSystem::factor`] succeeded.
    pub fn kind(&self) -> Option<Factorization> {
        self.kind
    }

    fn load(&mut self, jac: &DMatrix<T>, c: T) {
        self.m.zip_apply(jac, |m, j| *m = -(c * j));
        for i in 0..self.m.nrows() {
            self.m[(i, i)] += T::one();
        }
    }

    /// Factors M = I − c·J: Cholesky when J is exactly symmetric and M turns out positive
    /// definite, LU with partial pivoting otherwise. `false` when M is singular or not
    /// finite (nothing is then factored).
    pub fn factor(&mut self, jac: &DMatrix<T>, c: T) -> bool {
        self.kind = None;
        self.load(jac, c);
        if is_symmetric(jac) && self.cholesky() {
            self.kind = Some(Factorization::Cholesky);
            return true;
        }
        self.load(jac, c);
        if self.lu() {
            self.kind = Some(Factorization::Lu);
            return true;
        }
        false
    }

    /// Lower-triangular L with M = L Lᵀ, in the lower triangle; `false` on a pivot that
    /// is not positive and finite.
    fn cholesky(&mut self) -> bool {
        let n = self.m.nrows();
        let m = &mut self.m;
        for j in 0..n {
            let mut d = m[(j, j)];
            for k in 0..j {
                d -= m[(j, k)] * m[(j, k)];
            }
            if !(d > T::zero() && d.is_finite()) {
                return false;
            }
            let d = d.sqrt();
            m[(j, j)] = d;
            for i in j + 1..n {
                let mut s = m[(i, j)];
                for k in 0..j {
                    s -= m[(i, k)] * m[(j, k)];
                }
                m[(i, j)] = s / d;
            }
        }
        true
    }

    /// Doolittle LU with row pivoting: unit-lower L below the diagonal, U on and above;
    /// `piv[k]` is the row swapped with row k at step k.
    fn lu(&mut self) -> bool {
        let n = self.m.nrows();
        let m = &mut self.m;
        for k in 0..n {
            let mut p = k;
            let mut best = m[(k, k)].abs();
            for i in k + 1..n {
                let v = m[(i, k)].abs();
                if v > best {
                    best = v;
                    p = i;
                }
            }
            if !(best > T::zero() && best.is_finite()) {
                return false;
            }
            self.piv[k] = p;
            if p != k {
                m.swap_rows(k, p);
            }
            let pivot = m[(k, k)];
            for i in k + 1..n {
                m[(i, k)] /= pivot;
            }
            for j in k + 1..n {
                let mkj = m[(k, j)];
                if mkj != T::zero() {
                    for i in k + 1..n {
                        let lik = m[(i, k)];
                        m[(i, j)] -= lik * mkj;
                    }
                }
            }
        }
        true
    }

    /// Overwrites `b` with M⁻¹b. Call only after a successful [`ShiftedSystem::factor`].
    pub fn solve_mut(&self, b: &mut DVector<T>) {
        let n = self.m.nrows();
        let m = &self.m;
        match self.kind {
            Some(Factorization::Cholesky) => {
                // L z = b, then Lᵀ x = z.
                for i in 0..n {
                    let mut s = b[i];
                    for k in 0..i {
                        s -= m[(i, k)] * b[k];
                    }
                    b[i] = s / m[(i, i)];
                }
                for i in (0..n).rev() {
                    let mut s = b[i];
                    for k in i + 1..n {
                        s -= m[(k, i)] * b[k];
                    }
                    b[i] = s / m[(i, i)];
                }
            }
            Some(Factorization::Lu) => {
                for k in 0..n {
                    b.swap_rows(k, self.piv[k]);
                }
                for i in 0..n {
                    let mut s = b[i];
                    for k in 0..i {
                        s -= m[(i, k)] * b[k];
                    }
                    b[i] = s;
                }
                for i in (0..n).rev() {
                    let mut s = b[i];
                    for k in i + 1..n {
                        s -= m[(i, k)] * b[k];
                    }
                    b[i] = s / m[(i, i)];
                }
            }
            None => {}
        }
    }
}

/// True when `a` equals its transpose exactly (as a Hessian built from one formula does).
fn is_symmetric<T: Scalar>(a: &DMatrix<T>) -> bool {
    let n = a.nrows();
    (0..n).all(|j| (j + 1..n).all(|i| a[(i, j)] == a[(j, i)]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(jac: DMatrix<f64>, c: f64, want: Factorization) {
        let n = jac.nrows();
        let mut s = ShiftedSystem::new(n);
        assert!(s.factor(&jac, c));
        assert_eq!(s.kind(), Some(want));
        let m = DMatrix::identity(n, n) - &jac * c;
        let x = DVector::from_fn(n, |i, _| 1.0 + i as f64 * 0.5);
        let mut b = &m * &x;
        s.solve_mut(&mut b);
        assert!((&b - &x).amax() < 1e-12, "{b} vs {x}");
    }

    #[test]
    fn solves_symmetric_definite_systems_by_cholesky() {
        // J = −H with H the Rosenbrock Hessian at (1, 1).
        let jac = DMatrix::from_row_slice(2, 2, &[-802.0, 400.0, 400.0, -200.0]);
        check(jac, 0.1, Factorization::Cholesky);
    }

    #[test]
    fn falls_back_to_lu_when_indefinite_or_unsymmetric() {
        // I − cJ indefinite: symmetric, but Cholesky fails.
        let jac = DMatrix::from_row_slice(2, 2, &[3.0, 0.0, 0.0, -1.0]);
        check(jac, 1.0, Factorization::Lu);
        // Unsymmetric, with a zero leading entry of M that needs a row swap.
        let jac = DMatrix::from_row_slice(3, 3, &[1.0, 2.0, 0.0, -1.0, 0.5, 3.0, 4.0, 0.0, 1.0]);
        check(jac, 1.0, Factorization::Lu);
    }

    #[test]
    fn singular_or_non_finite_systems_are_refused() {
        let mut s = ShiftedSystem::new(2);
        let jac = DMatrix::from_row_slice(2, 2, &[1.0, 0.0, 0.0, 1.0]);
        assert!(!s.factor(&jac, 1.0));
        assert_eq!(s.kind(), None);
        let jac = DMatrix::from_row_slice(2, 2, &[f64::NAN, 0.0, 0.0, 1.0]);
        assert!(!s.factor(&jac, 0.5));
    }
}
