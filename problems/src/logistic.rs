//! Regularized logistic regression on the breast-cancer table.

use crate::objective::{lit, Objective, Real};
use nalgebra::{DMatrix, DMatrixView, DVector, DVectorViewMut};

/// The Breast Cancer Wisconsin (Diagnostic) table as shipped with the crate (see
/// `data/README.md` for its provenance): 569 rows, 30 features, then `target`.
pub const BREAST_CANCER_CSV: &str = include_str!("../data/breast_cancer.csv");

/// L(w) = (1/m) Σᵢ [log(1 + exp(xᵢ·w)) − yᵢ (xᵢ·w)] + (μ/2) Σⱼ₌₁³⁰ wⱼ².
///
/// Each feature column is standardized as (x − mean)/std with the population std; the
/// design row is the 30 standardized features followed by 1.0 (the bias, last, not
/// regularized), so n = 31. Start w = 0, where L = ln 2. Strongly convex for μ > 0.
///
/// The value and gradient go through matrix–vector products (nalgebra's `gemv`) on
/// blocks of [`BLOCK`] rows: z = X_b w (X column-major), r = σ(z) − y, ∇L += X_bᵀ r (Xᵀ
/// column-major, which is X's row-major buffer); no allocation. Each product is a
/// sequence of vectorized axpys, so every sum still runs sequentially in its natural
/// order (zᵢ over j, ∇Lⱼ over rows in file order): the order the PyTorch fixtures use,
/// bit for bit.
#[derive(Clone, Debug)]
pub struct Logistic<T: Real> {
    /// Row-major design matrix, m rows of n = features + 1.
    x: Vec<T>,
    /// The same matrix column-major, for the products.
    xc: DMatrix<T>,
    y: Vec<T>,
    n: usize,
    mu: T,
}

/// Rows per block of the value and gradient products (a stack buffer of z).
pub const BLOCK: usize = 64;

/// σ(z) = 1/(1 + e^(−z)), evaluated without overflow.
#[inline]
fn sigmoid<T: Real>(z: T) -> T {
    if z >= T::zero() {
        T::one() / (T::one() + (-z).exp())
    } else {
        let e = z.exp();
        e / (T::one() + e)
    }
}

/// log(1 + e^z), evaluated without overflow.
#[inline]
fn softplus<T: Real>(z: T) -> T {
    if z > T::zero() {
        z + (-z).exp().ln_1p()
    } else {
        z.exp().ln_1p()
    }
}

impl<T: Real> Logistic<T> {
    /// The model on the shipped breast-cancer table with ridge weight `mu`.
    pub fn breast_cancer(mu: f64) -> Result<Self, String> {
        Self::from_csv(BREAST_CANCER_CSV, mu)
    }

    /// The model on a CSV table with a header row, feature columns, then a 0/1 target.
    pub fn from_csv(csv: &str, mu: f64) -> Result<Self, String> {
        let mut rows: Vec<Vec<f64>> = Vec::new();
        let mut lines = csv.lines().enumerate();
        let width = match lines.next() {
            Some((_, header)) => header.split(',').count(),
            None => return Err("the table is empty".into()),
        };
        if width < 2 {
            return Err("the table needs at least one feature and a target column".into());
        }
        for (no, line) in lines {
            if line.trim().is_empty() {
                continue;
            }
            let row = line
                .split(',')
                .map(|s| s.trim().parse::<f64>())
                .collect::<Result<Vec<f64>, _>>()
                .map_err(|e| format!("line {}: {e}", no + 1))?;
            if row.len() != width {
                return Err(format!(
                    "line {}: {} columns, the header has {width}",
                    no + 1,
                    row.len()
                ));
            }
            if row.iter().any(|v| !v.is_finite()) {
                return Err(format!("line {}: a value is not finite", no + 1));
            }
            rows.push(row);
        }
        let m = rows.len();
        if m == 0 {
            return Err("the table has no rows".into());
        }
        let features = width - 1;
        let mf = m as f64;
        let mut x = vec![T::zero(); m * width];
        for j in 0..features {
            let mut sum = 0.0;
            for r in &rows {
                sum += r[j];
            }
            let mean = sum / mf;
            let mut ss = 0.0;
            for r in &rows {
                let d = r[j] - mean;
                ss += d * d;
            }
            let std = (ss / mf).sqrt();
            if std == 0.0 {
                return Err(format!("feature column {} is constant", j + 1));
            }
            for (i, r) in rows.iter().enumerate() {
                x[i * width + j] = lit((r[j] - mean) / std);
            }
        }
        let mut y = Vec::with_capacity(m);
        for (i, r) in rows.iter().enumerate() {
            x[i * width + features] = T::one();
            let target = r[features];
            if target != 0.0 && target != 1.0 {
                return Err(format!("line {}: target {target} is not 0 or 1", i + 2));
            }
            y.push(lit(target));
        }
        let xc = DMatrix::from_row_slice(m, width, &x);
        Ok(Logistic {
            x,
            xc,
            y,
            n: width,
            mu: lit(mu),
        })
    }

    /// Number of rows m.
    pub fn rows(&self) -> usize {
        self.y.len()
    }

    /// Design row i (standardized features, then 1).
    pub fn row(&self, i: usize) -> &[T] {
        &self.x[i * self.n..(i + 1) * self.n]
    }

    /// Target of row i.
    pub fn target(&self, i: usize) -> T {
        self.y[i]
    }

    /// Fraction of rows classified correctly by σ(xᵢ·w) ≥ ½.
    pub fn accuracy(&self, w: &DVector<T>) -> f64 {
        let half = lit::<T>(0.5);
        let correct = (0..self.rows())
            .filter(|&i| {
                let p = sigmoid(self.dot(i, w));
                (p >= half) == (self.y[i] == T::one())
            })
            .count();
        correct as f64 / self.rows() as f64
    }

    #[inline]
    fn dot(&self, i: usize, w: &DVector<T>) -> T {
        let mut z = T::zero();
        for (&a, &b) in self.row(i).iter().zip(w.iter()) {
            z += a * b;
        }
        z
    }

    /// (μ/2) Σⱼ wⱼ² over the features (the bias, last, is not regularized).
    fn ridge(&self, w: &DVector<T>) -> T {
        let mut s = T::zero();
        for &wj in w.iter().take(self.n - 1) {
            s += wj * wj;
        }
        self.mu / lit(2.0) * s
    }

    /// Shared pass: the mean loss (without the ridge term, if `with_value`) and, with
    /// `g`, (1/m) Xᵀ(σ(Xw) − y).
    fn pass(&self, w: &DVector<T>, mut g: Option<&mut DVector<T>>, with_value: bool) -> T {
        if let Some(g) = g.as_deref_mut() {
            g.fill(T::zero());
        }
        let mut loss = T::zero();
        let mut z = [T::zero(); BLOCK];
        let m = self.rows();
        let mut start = 0;
        while start < m {
            let len = BLOCK.min(m - start);
            let xb = self.xc.rows(start, len);
            let mut zb = DVectorViewMut::from_slice(&mut z[..len], len);
            zb.gemv(T::one(), &xb, w, T::zero());
            for (zk, &yk) in zb.iter_mut().zip(&self.y[start..start + len]) {
                if with_value {
                    loss += softplus(*zk) - yk * *zk;
                }
                *zk = sigmoid(*zk) - yk;
            }
            if let Some(g) = g.as_deref_mut() {
                let xt = DMatrixView::from_slice(&self.x, self.n, m);
                g.gemv(T::one(), &xt.columns(start, len), &zb, T::one());
            }
            start += len;
        }
        let mf = lit::<T>(m as f64);
        if let Some(g) = g {
            for (j, gj) in g.iter_mut().enumerate() {
                *gj /= mf;
                if j + 1 < self.n {
                    *gj += self.mu * w[j];
                }
            }
        }
        loss / mf
    }
}

impl<T: Real> Objective<T> for Logistic<T> {
    fn dim(&self) -> usize {
        self.n
    }
    fn value(&self, w: &DVector<T>) -> T {
        self.pass(w, None, true) + self.ridge(w)
    }
    fn gradient(&self, w: &DVector<T>, g: &mut DVector<T>) {
        self.pass(w, Some(g), false);
    }
    fn value_and_gradient(&self, w: &DVector<T>, g: &mut DVector<T>) -> T {
        self.pass(w, Some(g), true) + self.ridge(w)
    }
    /// ∇²L·v = (1/m) Xᵀ D X v + μ v (bias excluded), D = diag(σ(zᵢ)(1 − σ(zᵢ))).
    fn hessian_vector(&self, w: &DVector<T>, v: &DVector<T>, hv: &mut DVector<T>) -> bool {
        hv.fill(T::zero());
        for i in 0..self.rows() {
            let s = sigmoid(self.dot(i, w));
            let u = self.dot(i, v) * s * (T::one() - s);
            for (h, &a) in hv.iter_mut().zip(self.row(i)) {
                *h += a * u;
            }
        }
        let m = lit::<T>(self.rows() as f64);
        for (j, h) in hv.iter_mut().enumerate() {
            *h /= m;
            if j + 1 < self.n {
                *h += self.mu * v[j];
            }
        }
        true
    }
    /// ∇²L = (1/m) Xᵀ D X + μ I (the bias, last, excluded from μ I), D = diag(σ(zᵢ)(1 −
    /// σ(zᵢ))): the lower triangle is accumulated row by row, then mirrored.
    fn hessian(&self, w: &DVector<T>, h: &mut DMatrix<T>) -> bool {
        h.fill(T::zero());
        let n = self.n;
        for i in 0..self.rows() {
            let s = sigmoid(self.dot(i, w));
            let d = s * (T::one() - s);
            let row = self.row(i);
            for (j, &aj) in row.iter().enumerate() {
                let daj = d * aj;
                for (k, &ak) in row.iter().enumerate().skip(j) {
                    h[(k, j)] += daj * ak;
                }
            }
        }
        let m = lit::<T>(self.rows() as f64);
        for j in 0..n {
            for k in j..n {
                let v = h[(k, j)] / m;
                h[(k, j)] = v;
                h[(j, k)] = v;
            }
            if j + 1 < n {
                h[(j, j)] += self.mu;
            }
        }
        true
    }
    fn start(&self) -> DVector<T> {
        DVector::zeros(self.n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The plain double loop the blocked products replace: zᵢ = Σⱼ xᵢⱼwⱼ, then
    /// gⱼ += xᵢⱼ(σ(zᵢ) − yᵢ), row by row.
    fn naive(model: &Logistic<f64>, w: &DVector<f64>) -> (f64, DVector<f64>) {
        let mut g = DVector::zeros(model.n);
        let mut loss = 0.0;
        for i in 0..model.rows() {
            let row = model.row(i);
            let mut z = 0.0;
            for (a, b) in row.iter().zip(w.iter()) {
                z += a * b;
            }
            loss += softplus(z) - model.y[i] * z;
            let r = sigmoid(z) - model.y[i];
            for (gj, a) in g.iter_mut().zip(row) {
                *gj += a * r;
            }
        }
        let m = model.rows() as f64;
        for (j, gj) in g.iter_mut().enumerate() {
            *gj /= m;
            if j + 1 < model.n {
                *gj += model.mu * w[j];
            }
        }
        (loss / m + model.ridge(w), g)
    }

    #[test]
    fn blocked_products_equal_the_double_loop_bit_for_bit() {
        let model = Logistic::<f64>::breast_cancer(1e-3).unwrap();
        assert!(model.rows() > 8 * BLOCK, "several blocks and a partial one");
        for s in 0..5 {
            let w = DVector::from_fn(model.n, |j, _| ((j * 7 + s * 3) % 11) as f64 * 0.1 - 0.5);
            let (value, grad) = naive(&model, &w);
            let mut g = DVector::zeros(model.n);
            let v = model.value_and_gradient(&w, &mut g);
            assert_eq!(v.to_bits(), value.to_bits());
            assert_eq!(model.value(&w).to_bits(), value.to_bits());
            for (a, b) in g.iter().zip(grad.iter()) {
                assert_eq!(a.to_bits(), b.to_bits());
            }
        }
    }
}
