//! The analytic test functions: quadratic, quartic, Rosenbrock, Beale, Himmelblau.

use crate::objective::{lit, Objective, Real};
use nalgebra::{DMatrix, DVector};

/// L(θ) = ½ Σᵢ λᵢ θᵢ², λᵢ = s·κ^((i−1)/(n−1)) (λ = s when n = 1).
///
/// Start: all ones. Minimum 0 at 0. Exact flow θᵢ(t) = θ₀ᵢ e^(−λᵢ t).
#[derive(Clone, Debug)]
pub struct Quadratic<T: Real> {
    lambda: DVector<T>,
}

impl<T: Real> Quadratic<T> {
    /// Eigenvalues spread geometrically from `scale` to `scale·kappa`.
    pub fn new(n: usize, kappa: f64, scale: f64) -> Self {
        let lambda = DVector::from_fn(n, |i, _| {
            let p = if n > 1 {
                i as f64 / (n - 1) as f64
            } else {
                0.0
            };
            lit(scale * kappa.powf(p))
        });
        Quadratic { lambda }
    }

    /// A quadratic with the given eigenvalues.
    pub fn with_eigenvalues(lambda: DVector<T>) -> Self {
        Quadratic { lambda }
    }

    /// The eigenvalues λᵢ of the Hessian.
    pub fn eigenvalues(&self) -> &DVector<T> {
        &self.lambda
    }
}

impl<T: Real> Objective<T> for Quadratic<T> {
    fn dim(&self) -> usize {
        self.lambda.len()
    }
    fn value(&self, x: &DVector<T>) -> T {
        let mut s = T::zero();
        for (&l, &xi) in self.lambda.iter().zip(x.iter()) {
            s += l * xi * xi;
        }
        lit::<T>(0.5) * s
    }
    fn gradient(&self, x: &DVector<T>, g: &mut DVector<T>) {
        g.zip_zip_apply(&self.lambda, x, |gi, l, xi| *gi = l * xi);
    }
    fn hessian_vector(&self, _x: &DVector<T>, v: &DVector<T>, hv: &mut DVector<T>) -> bool {
        hv.zip_zip_apply(&self.lambda, v, |h, l, vi| *h = l * vi);
        true
    }
    /// ∇²L = diag(λ).
    fn hessian(&self, _x: &DVector<T>, h: &mut DMatrix<T>) -> bool {
        h.fill(T::zero());
        h.set_diagonal(&self.lambda);
        true
    }
    fn start(&self) -> DVector<T> {
        DVector::from_element(self.dim(), T::one())
    }
    fn minimizer(&self) -> Option<DVector<T>> {
        Some(DVector::zeros(self.dim()))
    }
    fn exact_flow(&self, x0: &DVector<T>, t: T, out: &mut DVector<T>) -> bool {
        out.zip_zip_apply(&self.lambda, x0, |o, l, x| *o = x * (-l * t).exp());
        true
    }
}

/// L(θ) = ¼ Σᵢ θᵢ⁴: a flat minimum, where the Hessian vanishes.
///
/// Start: all ones. Minimum 0 at 0. Exact flow θᵢ(t) = θ₀ᵢ / √(1 + 2θ₀ᵢ² t).
#[derive(Clone, Debug)]
pub struct Quartic {
    n: usize,
}

impl Quartic {
    /// The quartic in n dimensions.
    pub fn new(n: usize) -> Self {
        Quartic { n }
    }
}

impl<T: Real> Objective<T> for Quartic {
    fn dim(&self) -> usize {
        self.n
    }
    fn value(&self, x: &DVector<T>) -> T {
        let mut s = T::zero();
        for &xi in x.iter() {
            let x2 = xi * xi;
            s += x2 * x2;
        }
        lit::<T>(0.25) * s
    }
    fn gradient(&self, x: &DVector<T>, g: &mut DVector<T>) {
        g.zip_apply(x, |gi, xi| *gi = xi * xi * xi);
    }
    fn hessian_vector(&self, x: &DVector<T>, v: &DVector<T>, hv: &mut DVector<T>) -> bool {
        hv.zip_zip_apply(x, v, |h, xi, vi| *h = lit::<T>(3.0) * xi * xi * vi);
        true
    }
    /// ∇²L = diag(3θᵢ²).
    fn hessian(&self, x: &DVector<T>, h: &mut DMatrix<T>) -> bool {
        h.fill(T::zero());
        for (i, &xi) in x.iter().enumerate() {
            h[(i, i)] = lit::<T>(3.0) * xi * xi;
        }
        true
    }
    fn start(&self) -> DVector<T> {
        DVector::from_element(self.n, T::one())
    }
    fn minimizer(&self) -> Option<DVector<T>> {
        Some(DVector::zeros(self.n))
    }
    fn exact_flow(&self, x0: &DVector<T>, t: T, out: &mut DVector<T>) -> bool {
        out.zip_apply(x0, |o, x| {
            *o = x / (T::one() + lit::<T>(2.0) * x * x * t).sqrt();
        });
        true
    }
}

/// L(θ) = Σᵢ₌₁ⁿ⁻¹ [100 (θᵢ₊₁ − θᵢ²)² + (1 − θᵢ)²] (Rosenbrock 1960, the chained form).
///
/// Start (−1.2, 1, −1.2, 1, ...). Minimum 0 at all ones. The Hessian there has
/// eigenvalues ≈ 1001.6 and 0.4 (n = 2): the flow is stiff near the minimum.
#[derive(Clone, Debug)]
pub struct Rosenbrock {
    n: usize,
}

impl Rosenbrock {
    /// The chained Rosenbrock function in n ≥ 2 dimensions.
    pub fn new(n: usize) -> Self {
        Rosenbrock { n }
    }

    /// The Hessian block of term i at rows/columns (i, i+1): with a = θᵢ₊₁ − θᵢ²,
    /// (800θᵢ² − 400a + 2, −400θᵢ, 200).
    #[inline]
    fn block<T: Real>(x: &DVector<T>, i: usize) -> (T, T, T) {
        let a = x[i + 1] - x[i] * x[i];
        let hii = lit::<T>(800.0) * x[i] * x[i] - lit::<T>(400.0) * a + lit::<T>(2.0);
        (hii, -lit::<T>(400.0) * x[i], lit::<T>(200.0))
    }
}

impl<T: Real> Objective<T> for Rosenbrock {
    fn dim(&self) -> usize {
        self.n
    }
    fn value(&self, x: &DVector<T>) -> T {
        let (c100, one) = (lit::<T>(100.0), T::one());
        let mut s = T::zero();
        for i in 0..self.n.saturating_sub(1) {
            let a = x[i + 1] - x[i] * x[i];
            let b = one - x[i];
            s += c100 * a * a + b * b;
        }
        s
    }
    /// gᵢ = 200aᵢ₋₁ + ((−400θᵢ)·aᵢ − 2(1 − θᵢ)) with aᵢ = θᵢ₊₁ − θᵢ² (a term is absent at
    /// the ends): the operations of the fixtures' generator, which accumulates
    /// gᵢ += (−400θᵢ)·aᵢ − 2(1 − θᵢ), gᵢ₊₁ += 200aᵢ, in the same order, and one
    /// independent expression per component, so the loop vectorizes.
    fn gradient(&self, x: &DVector<T>, g: &mut DVector<T>) {
        let (c400, c200, two, one) = (lit::<T>(-400.0), lit::<T>(200.0), lit::<T>(2.0), T::one());
        let n = self.n;
        let (x, g) = (&x.as_slice()[..n], &mut g.as_mut_slice()[..n]);
        let right = |xi: T, next: T| c400 * xi * (next - xi * xi) - two * (one - xi);
        let left = |prev: T, xi: T| c200 * (xi - prev * prev);
        match n {
            0 => {}
            1 => g[0] = T::zero(),
            _ => {
                g[0] = T::zero() + right(x[0], x[1]);
                for (gi, w) in g[1..n - 1].iter_mut().zip(x.windows(3)) {
                    *gi = left(w[0], w[1]) + right(w[1], w[2]);
                }
                g[n - 1] = left(x[n - 2], x[n - 1]) + T::zero();
            }
        }
    }
    fn value_and_gradient(&self, x: &DVector<T>, g: &mut DVector<T>) -> T {
        let (c400, c200, c100, two, one) = (
            lit::<T>(-400.0),
            lit::<T>(200.0),
            lit::<T>(100.0),
            lit::<T>(2.0),
            T::one(),
        );
        g.fill(T::zero());
        let mut s = T::zero();
        for i in 0..self.n.saturating_sub(1) {
            let a = x[i + 1] - x[i] * x[i];
            let b = one - x[i];
            s += c100 * a * a + b * b;
            g[i] += c400 * x[i] * a - two * b;
            g[i + 1] += c200 * a;
        }
        s
    }
    fn hessian_vector(&self, x: &DVector<T>, v: &DVector<T>, hv: &mut DVector<T>) -> bool {
        hv.fill(T::zero());
        for i in 0..self.n.saturating_sub(1) {
            let (hii, hij, hjj) = Self::block(x, i);
            hv[i] += hii * v[i] + hij * v[i + 1];
            hv[i + 1] += hij * v[i] + hjj * v[i + 1];
        }
        true
    }
    /// Tridiagonal: each term i adds its 2 × 2 block (see `block`) at rows/columns i, i+1.
    fn hessian(&self, x: &DVector<T>, h: &mut DMatrix<T>) -> bool {
        h.fill(T::zero());
        for i in 0..self.n.saturating_sub(1) {
            let (hii, hij, hjj) = Self::block(x, i);
            h[(i, i)] += hii;
            h[(i, i + 1)] += hij;
            h[(i + 1, i)] += hij;
            h[(i + 1, i + 1)] += hjj;
        }
        true
    }
    fn start(&self) -> DVector<T> {
        DVector::from_fn(self.n, |i, _| if i % 2 == 0 { lit(-1.2) } else { T::one() })
    }
    fn minimizer(&self) -> Option<DVector<T>> {
        Some(DVector::from_element(self.n, T::one()))
    }
}

/// L(x, y) = (1.5 − x + xy)² + (2.25 − x + xy²)² + (2.625 − x + xy³)² (Beale 1958).
///
/// Start (1, 1). Minimum 0 at (3, 0.5).
#[derive(Clone, Copy, Debug, Default)]
pub struct Beale;

impl Beale {
    /// The residuals rₖ = cₖ − x + x yᵏ and the powers y, y², y³.
    fn residuals<T: Real>(x: &DVector<T>) -> ([T; 3], [T; 3]) {
        let (px, py) = (x[0], x[1]);
        let y2 = py * py;
        let y3 = y2 * py;
        let r = [
            lit::<T>(1.5) - px + px * py,
            lit::<T>(2.25) - px + px * y2,
            lit::<T>(2.625) - px + px * y3,
        ];
        (r, [py, y2, y3])
    }

    /// (H₁₁, H₁₂, H₂₂) of H = 2 Σₖ (∇rₖ ∇rₖᵀ + rₖ ∇²rₖ), with ∇rₖ = (yᵏ − 1, k x yᵏ⁻¹)
    /// and ∇²rₖ = [[0, k yᵏ⁻¹], [k yᵏ⁻¹, k(k−1) x yᵏ⁻²]].
    fn hessian2<T: Real>(x: &DVector<T>) -> (T, T, T) {
        let (r, _) = Self::residuals(x);
        let (px, py) = (x[0], x[1]);
        let two = lit::<T>(2.0);
        let (mut hxx, mut hxy, mut hyy) = (T::zero(), T::zero(), T::zero());
        let mut ypow = T::one(); // y^(k−1)
        let mut ypow2 = T::zero(); // y^(k−2), 0 for k = 1
        for (k, &rk) in r.iter().enumerate() {
            let kf = lit::<T>(k as f64 + 1.0);
            let dx = ypow * py - T::one();
            let dy = kf * px * ypow;
            hxx += dx * dx;
            hxy += dx * dy + rk * kf * ypow;
            hyy += dy * dy + rk * kf * (kf - T::one()) * px * ypow2;
            ypow2 = ypow;
            ypow *= py;
        }
        (two * hxx, two * hxy, two * hyy)
    }
}

impl<T: Real> Objective<T> for Beale {
    fn dim(&self) -> usize {
        2
    }
    fn value(&self, x: &DVector<T>) -> T {
        let (r, _) = Self::residuals(x);
        r[0] * r[0] + r[1] * r[1] + r[2] * r[2]
    }
    fn gradient(&self, x: &DVector<T>, g: &mut DVector<T>) {
        let (r, y) = Self::residuals(x);
        let (two, four, six, one) = (lit::<T>(2.0), lit::<T>(4.0), lit::<T>(6.0), T::one());
        let px = x[0];
        g[0] = two * r[0] * (y[0] - one) + two * r[1] * (y[1] - one) + two * r[2] * (y[2] - one);
        g[1] = two * r[0] * px + four * r[1] * px * y[0] + six * r[2] * px * y[1];
    }
    fn hessian_vector(&self, x: &DVector<T>, v: &DVector<T>, hv: &mut DVector<T>) -> bool {
        let (hxx, hxy, hyy) = Self::hessian2(x);
        hv[0] = hxx * v[0] + hxy * v[1];
        hv[1] = hxy * v[0] + hyy * v[1];
        true
    }
    fn hessian(&self, x: &DVector<T>, h: &mut DMatrix<T>) -> bool {
        let (hxx, hxy, hyy) = Self::hessian2(x);
        h[(0, 0)] = hxx;
        h[(0, 1)] = hxy;
        h[(1, 0)] = hxy;
        h[(1, 1)] = hyy;
        true
    }
    fn start(&self) -> DVector<T> {
        DVector::from_element(2, T::one())
    }
    fn minimizer(&self) -> Option<DVector<T>> {
        Some(DVector::from_vec(vec![lit(3.0), lit(0.5)]))
    }
}

/// L(x, y) = (x² + y − 11)² + (x + y² − 7)² (Himmelblau 1972).
///
/// Start (0, 0). Four minima of value 0; the flow from (0, 0) ends at (3, 2), reported as
/// the minimizer.
#[derive(Clone, Copy, Debug, Default)]
pub struct Himmelblau;

impl<T: Real> Objective<T> for Himmelblau {
    fn dim(&self) -> usize {
        2
    }
    fn value(&self, x: &DVector<T>) -> T {
        let a = x[0] * x[0] + x[1] - lit(11.0);
        let b = x[0] + x[1] * x[1] - lit(7.0);
        a * a + b * b
    }
    fn gradient(&self, x: &DVector<T>, g: &mut DVector<T>) {
        let a = x[0] * x[0] + x[1] - lit(11.0);
        let b = x[0] + x[1] * x[1] - lit(7.0);
        let (two, four) = (lit::<T>(2.0), lit::<T>(4.0));
        g[0] = four * x[0] * a + two * b;
        g[1] = two * a + four * x[1] * b;
    }
    fn hessian_vector(&self, x: &DVector<T>, v: &DVector<T>, hv: &mut DVector<T>) -> bool {
        let (hxx, hxy, hyy) = himmelblau_hessian(x);
        hv[0] = hxx * v[0] + hxy * v[1];
        hv[1] = hxy * v[0] + hyy * v[1];
        true
    }
    fn hessian(&self, x: &DVector<T>, h: &mut DMatrix<T>) -> bool {
        let (hxx, hxy, hyy) = himmelblau_hessian(x);
        h[(0, 0)] = hxx;
        h[(0, 1)] = hxy;
        h[(1, 0)] = hxy;
        h[(1, 1)] = hyy;
        true
    }
    fn start(&self) -> DVector<T> {
        DVector::zeros(2)
    }
    fn minimizer(&self) -> Option<DVector<T>> {
        Some(DVector::from_vec(vec![lit(3.0), lit(2.0)]))
    }
}

/// Himmelblau's (H₁₁, H₁₂, H₂₂) with a = x² + y − 11, b = x + y² − 7:
/// (4a + 8x² + 2, 4(x + y), 4b + 8y² + 2).
fn himmelblau_hessian<T: Real>(x: &DVector<T>) -> (T, T, T) {
    let a = x[0] * x[0] + x[1] - lit(11.0);
    let b = x[0] + x[1] * x[1] - lit(7.0);
    let (two, four, eight) = (lit::<T>(2.0), lit::<T>(4.0), lit::<T>(8.0));
    let hxx = four * a + eight * x[0] * x[0] + two;
    let hxy = four * (x[0] + x[1]);
    let hyy = two + four * b + eight * x[1] * x[1];
    (hxx, hxy, hyy)
}

#[cfg(test)]
mod rosenbrock_tests {
    use super::*;

    #[test]
    fn gradient_is_the_accumulating_loop_bit_for_bit() {
        for n in [1usize, 2, 3, 5, 1000] {
            let f = Rosenbrock::new(n);
            let x = DVector::from_fn(n, |i, _| ((i * 37) % 17) as f64 * 0.13 - 1.1);
            let mut expected = DVector::<f64>::zeros(n);
            for i in 0..n.saturating_sub(1) {
                let a = x[i + 1] - x[i] * x[i];
                expected[i] += -400.0 * x[i] * a - 2.0 * (1.0 - x[i]);
                expected[i + 1] += 200.0 * a;
            }
            let mut g = DVector::from_element(n, f64::NAN);
            f.gradient(&x, &mut g);
            let mut g2 = DVector::<f64>::zeros(n);
            f.value_and_gradient(&x, &mut g2);
            for i in 0..n {
                assert_eq!(g[i].to_bits(), expected[i].to_bits(), "n = {n}, i = {i}");
                assert_eq!(g2[i].to_bits(), expected[i].to_bits(), "n = {n}, i = {i}");
            }
        }
    }
}
