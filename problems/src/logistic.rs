//! Regularized logistic regression on the breast-cancer table.

use crate::objective::{lit, Objective, Real};
use nalgebra::{DMatrix, DVector};

/// The Breast Cancer Wisconsin (Diagnostic) table as shipped with the crate (see
/// `data/README.md` for its provenance): 569 rows, 30 features, then `target`.
pub const BREAST_CANCER_CSV: &str = include_str!("../data/breast_cancer.csv");

/// L(w) = (1/m) Σᵢ [log(1 + exp(xᵢ·w)) − yᵢ (xᵢ·w)] + (μ/2) Σⱼ₌₁³⁰ wⱼ².
///
/// Each feature column is standardized as (x − mean)/std with the population std; the
/// design row is the 30 standardized features followed by 1.0 (the bias, last, not
/// regularized), so n = 31. Start w = 0, where L = ln 2. Strongly convex for μ > 0.
///
/// The value and gradient sweep blocks of [`BLOCK`] rows: z = X_b w (X column-major,
/// vectorized across the rows, the block's z in registers), e = exp(−|z|) once per row,
/// r = σ(z) − y, then ∇L += X_bᵀ r (X row-major, padded to whole vectors, vectorized
/// across the columns with 32 sums in registers); no allocation, the widest vector unit
/// chosen at run time, and exp(−|z|) by [`BlockExp`](crate::vexp::BlockExp) (within 1 ulp
/// of the C library's) in the same sweep. zᵢ sums over j in order; ∇Lⱼ sums the even and
/// the odd rows in order and then adds the two (two chains per column). Where the CPU
/// has fused multiply–adds (AVX2 with FMA, AVX-512) the products and exp's polynomial
/// use them: those paths agree with each other bit for bit and with the plain double
/// loop to round-off; the portable path rounds each product and sum separately.
#[derive(Clone, Debug)]
pub struct Logistic<T: Real> {
    /// Row-major design matrix, m rows of n = features + 1, each row padded with zeros
    /// to `stride` (a multiple of [`COLS`]) so that the gradient sweeps whole vectors.
    x: Vec<T>,
    stride: usize,
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
        if width > MAX_STRIDE {
            return Err(format!(
                "the table has {} feature columns, at most {} are supported",
                width - 1,
                MAX_STRIDE - 1
            ));
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
        let stride = width.div_ceil(COLS) * COLS;
        let mut padded = vec![T::zero(); m * stride];
        for (dst, src) in padded.chunks_exact_mut(stride).zip(x.chunks_exact(width)) {
            dst[..width].copy_from_slice(src);
        }
        Ok(Logistic {
            x: padded,
            stride,
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
        &self.x[i * self.stride..][..self.n]
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
    fn pass(&self, w: &DVector<T>, g: Option<&mut DVector<T>>, with_value: bool) -> T {
        let m = self.rows();
        let w = w.as_slice();
        // ∇L's sums over the rows, padded to `stride` columns.
        let mut gp = [T::zero(); MAX_STRIDE];
        let mut sums = g.is_some().then(|| &mut gp[..self.stride]);
        let mut loss = T::zero();
        for start in (0..m).step_by(BLOCK) {
            let len = BLOCK.min(m - start);
            let gp = sums.as_deref_mut();
            let value = with_value.then_some(&mut loss);
            wide(
                #[inline(always)]
                |fused| {
                    if fused {
                        self.block::<true>(w, start, len, gp, value);
                    } else {
                        self.block::<false>(w, start, len, gp, value);
                    }
                },
            );
        }
        let mf = lit::<T>(m as f64);
        if let Some(g) = g {
            for (j, (gj, &sj)) in g.iter_mut().zip(gp.iter()).enumerate() {
                *gj = sj / mf;
                if j + 1 < self.n {
                    *gj += self.mu * w[j];
                }
            }
        }
        loss / mf
    }

    /// One block of `len` rows from `start`: z = X_b w, e = exp(−|z|) for the whole block
    /// (vectorized, no branches), then σ(z) = (1 or e)/(1 + e) and
    /// softplus(z) = (z or 0) + ln(1 + e), the numbers of `sigmoid` and `softplus` (which
    /// take one exp each); adds X_bᵀ(σ − y) into `gp` and softplus(z) − yz, row by row,
    /// into `loss`.
    #[inline(always)]
    fn block<const FUSED: bool>(
        &self,
        w: &[T],
        start: usize,
        len: usize,
        gp: Option<&mut [T]>,
        loss: Option<&mut T>,
    ) {
        let mut z = [T::zero(); BLOCK];
        let mut e = [T::zero(); BLOCK];
        let (zb, eb) = (&mut z[..len], &mut e[..len]);
        block_times_w::<T, FUSED>(self.xc.as_slice(), self.rows(), start, w, zb);
        for (ek, &zk) in eb.iter_mut().zip(zb.iter()) {
            *ek = -zk.abs();
        }
        T::exp_in_place::<FUSED>(eb);
        let yb = &self.y[start..start + len];
        if let Some(loss) = loss {
            for ((&zk, &ek), &yk) in zb.iter().zip(eb.iter()).zip(yb) {
                let ln = ek.ln_1p();
                *loss += (if zk > T::zero() { zk + ln } else { ln }) - yk * zk;
            }
        }
        if let Some(gp) = gp {
            for ((zk, &ek), &yk) in zb.iter_mut().zip(eb.iter()).zip(yb) {
                let num = if *zk >= T::zero() { T::one() } else { ek };
                *zk = num / (T::one() + ek) - yk;
            }
            let rows = &self.x[start * self.stride..(start + len) * self.stride];
            add_block_transpose_times_r::<T, FUSED>(rows, self.stride, zb, gp);
        }
    }
}

/// Gradient columns accumulated per sweep over a block's rows (four AVX-512 registers
/// of f64, held there across the rows).
const COLS: usize = 32;

/// Largest padded row (at most 1023 features and the bias): the gradient's sums live on
/// the stack.
const MAX_STRIDE: usize = 1024;

/// a·b + c, fused (one rounding) when `FUSED`.
#[inline(always)]
fn madd<T: Real, const FUSED: bool>(a: T, b: T, c: T) -> T {
    if FUSED {
        a.mul_add(b, c)
    } else {
        a * b + c
    }
}

/// z = X_b w for the rows `start..start + z.len()` of the column-major m × n matrix `xc`:
/// zᵢ = Σⱼ xᵢⱼwⱼ, summed over j in order for every row. Vectorized across the rows, the
/// block's z held in registers while the columns stream past.
#[inline(always)]
fn block_times_w<T: Real, const FUSED: bool>(
    xc: &[T],
    m: usize,
    start: usize,
    w: &[T],
    z: &mut [T],
) {
    if z.len() == BLOCK {
        let mut acc = [T::zero(); BLOCK];
        for (j, &wj) in w.iter().enumerate() {
            let col = &xc[j * m + start..][..BLOCK];
            for (a, &x) in acc.iter_mut().zip(col) {
                *a = madd::<T, FUSED>(x, wj, *a);
            }
        }
        z.copy_from_slice(&acc);
    } else {
        z.fill(T::zero());
        for (j, &wj) in w.iter().enumerate() {
            let col = &xc[j * m + start..][..z.len()];
            for (zi, &x) in z.iter_mut().zip(col) {
                *zi = madd::<T, FUSED>(x, wj, *zi);
            }
        }
    }
}

/// g += X_bᵀ r for the row-major rows `rows` (each padded to `stride`, a multiple of
/// [`COLS`]): gⱼ += Σₖ xₖⱼrₖ, the even and the odd rows summed in order separately and
/// then added (two independent chains per column, so that the multiply–adds' latency
/// hides). Vectorized across the columns, [`COLS`] at a time held in registers while the
/// rows stream past.
#[inline(always)]
fn add_block_transpose_times_r<T: Real, const FUSED: bool>(
    rows: &[T],
    stride: usize,
    r: &[T],
    g: &mut [T],
) {
    for (c, gc) in g.chunks_exact_mut(COLS).enumerate() {
        let mut even = [T::zero(); COLS];
        let mut odd = [T::zero(); COLS];
        let pairs = rows.chunks_exact(2 * stride).zip(r.chunks_exact(2));
        for (two, rk) in pairs {
            let (r0, r1) = (rk[0], rk[1]);
            let x0 = &two[c * COLS..][..COLS];
            let x1 = &two[stride + c * COLS..][..COLS];
            for (a, &x) in even.iter_mut().zip(x0) {
                *a = madd::<T, FUSED>(x, r0, *a);
            }
            for (a, &x) in odd.iter_mut().zip(x1) {
                *a = madd::<T, FUSED>(x, r1, *a);
            }
        }
        if r.len() % 2 == 1 {
            let last = &rows[(r.len() - 1) * stride + c * COLS..][..COLS];
            let rk = r[r.len() - 1];
            for (e, &x) in even.iter_mut().zip(last) {
                *e = madd::<T, FUSED>(x, rk, *e);
            }
        }
        for ((gj, &e), &o) in gc.iter_mut().zip(&even).zip(&odd) {
            *gj += e + o;
        }
    }
}

/// Runs `f` compiled for the widest vector unit the CPU has, AVX-512 or AVX2 with FMA
/// (chosen at run time; `f` must be `#[inline(always)]` to be compiled with it), telling
/// it whether fused multiply–adds are available. Those paths give the same bits as each
/// other; the portable one (no FMA) rounds the products' sums differently.
#[inline(always)]
fn wide<R>(f: impl FnOnce(bool) -> R) -> R {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") {
            // SAFETY: the CPU has AVX-512 F (which includes FMA).
            return unsafe { with_avx512(|| f(true)) };
        }
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
        {
            // SAFETY: the CPU has AVX2 and FMA.
            return unsafe { with_avx2_fma(|| f(true)) };
        }
    }
    f(false)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn with_avx512<R>(f: impl FnOnce() -> R) -> R {
    f()
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn with_avx2_fma<R>(f: impl FnOnce() -> R) -> R {
    f()
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

    /// log(1 + e^z), evaluated without overflow.
    #[inline]
    fn softplus<T: Real>(z: T) -> T {
        if z > T::zero() {
            z + (-z).exp().ln_1p()
        } else {
            z.exp().ln_1p()
        }
    }

    /// The plain double loop the blocked products replace: zᵢ = Σⱼ xᵢⱼwⱼ, then
    /// gⱼ += xᵢⱼ(σ(zᵢ) − yᵢ), row by row, with the C library's exp. Also returns the
    /// scales of round-off: (1/m)Σᵢ(|softplus| + |yᵢzᵢ| + |zᵢ|) for the value and
    /// (1/m)Σᵢ|xᵢⱼ|(|rᵢ| + σᵢ + Σₖ|xᵢₖwₖ|) for ∇Lⱼ (the size of what is summed and
    /// rounded, z's own sum included).
    fn naive(model: &Logistic<f64>, w: &DVector<f64>) -> (f64, DVector<f64>, f64, DVector<f64>) {
        let mut g = DVector::zeros(model.n);
        let mut scale = DVector::zeros(model.n);
        let (mut loss, mut loss_scale) = (0.0, 0.0);
        for i in 0..model.rows() {
            let row = model.row(i);
            let (mut z, mut z_abs) = (0.0, 0.0);
            for (a, b) in row.iter().zip(w.iter()) {
                z += a * b;
                z_abs += (a * b).abs();
            }
            let sp = softplus(z);
            loss += sp - model.y[i] * z;
            loss_scale += sp.abs() + (model.y[i] * z).abs() + z_abs;
            let s = sigmoid(z);
            let r = s - model.y[i];
            for ((gj, sj), a) in g.iter_mut().zip(scale.iter_mut()).zip(row) {
                *gj += a * r;
                *sj += a.abs() * (r.abs() + s + z_abs);
            }
        }
        let m = model.rows() as f64;
        for (j, (gj, sj)) in g.iter_mut().zip(scale.iter_mut()).enumerate() {
            *gj /= m;
            *sj /= m;
            if j + 1 < model.n {
                *gj += model.mu * w[j];
            }
        }
        (loss / m + model.ridge(w), g, loss_scale / m, scale)
    }

    /// The blocked value and gradient against the double loop: equal up to round-off,
    /// 16 ε of the scale of what is summed (the sums are grouped differently and may
    /// fuse their multiply–adds; exp is within 1 ulp of the C library's).
    fn assert_matches_the_double_loop(model: &Logistic<f64>, w: &DVector<f64>) {
        let (value, grad, value_scale, scale) = naive(model, w);
        let mut g = DVector::zeros(model.n);
        let v = model.value_and_gradient(w, &mut g);
        let eps = 16.0 * f64::EPSILON;
        assert!(
            (v - value).abs() <= eps * value_scale,
            "value {v} vs {value}"
        );
        assert_eq!(model.value(w).to_bits(), v.to_bits(), "value alone");
        for (j, ((a, b), s)) in g.iter().zip(grad.iter()).zip(scale.iter()).enumerate() {
            assert!((a - b).abs() <= eps * s, "∇L[{j}]: {a} vs {b} (scale {s})");
        }
        let mut g_alone = DVector::zeros(model.n);
        model.gradient(w, &mut g_alone);
        assert_eq!(g_alone, g, "gradient alone");
    }

    #[test]
    fn blocked_products_equal_the_double_loop_to_round_off() {
        let model = Logistic::<f64>::breast_cancer(1e-3).unwrap();
        assert!(model.rows() > 8 * BLOCK, "several blocks and a partial one");
        for s in 0..5 {
            let w = DVector::from_fn(model.n, |j, _| ((j * 7 + s * 3) % 11) as f64 * 0.1 - 0.5);
            assert_matches_the_double_loop(&model, &w);
        }
        // A dropped row moves ∇L by |xᵢ rᵢ|/m ≈ 1e-4, far above the bound: the check
        // can fail.
        let w = DVector::from_element(model.n, 0.1);
        let (_, grad, _, scale) = naive(&model, &w);
        let i = model.rows() - 1;
        let r = sigmoid(model.dot(i, &w)) - model.y[i];
        let j = 3;
        let moved = grad[j] - model.row(i)[j] * r / model.rows() as f64;
        assert!((moved - grad[j]).abs() > 1e3 * 16.0 * f64::EPSILON * scale[j]);
    }

    #[test]
    fn wider_tables_and_partial_blocks_agree_with_the_double_loop_too() {
        // 45 features (stride 64: two column sweeps, the second partly padding) and
        // 151 rows (two whole blocks and a partial one of odd length).
        let mut csv = (1..=45).map(|j| format!("f{j},")).collect::<String>() + "target\n";
        for i in 0..151 {
            for j in 0..45 {
                csv += &format!(
                    "{},",
                    ((i * 31 + j * 17) % 23) as f64 * 0.37 - (j % 5) as f64
                );
            }
            csv += if (i * 7) % 3 == 0 { "1\n" } else { "0\n" };
        }
        let model = Logistic::<f64>::from_csv(&csv, 1e-2).unwrap();
        assert_eq!((model.dim(), model.rows()), (46, 151));
        let w = DVector::from_fn(46, |j, _| ((j * 5) % 9) as f64 * 0.05 - 0.2);
        assert_matches_the_double_loop(&model, &w);
        let wide = (0..=1024).map(|j| format!("f{j},")).collect::<String>() + "t\n";
        let err = Logistic::<f64>::from_csv(&wide, 1e-3).unwrap_err();
        assert!(err.contains("1025 feature columns"), "{err}");
    }
}
