//! The gradient-flow curve through a start point and the distance of iterates from it.
//!
//! Methods reparametrize time (a normalized step advances t unevenly), so a method
//! "follows the flow" when its iterates lie on the curve the flow traces, whatever the
//! clock. The deviation of a point is its Euclidean distance to that curve.

use crate::error::{Error, Result};
use crate::flow::GradientFlow;
use gradflow_integrators::{tableau, Integrator, Observer, Point, RungeKutta, Status, Stop};
use gradflow_problems::Objective;
use nalgebra::DVector;

/// Vertices of the reference polyline after resampling by arc length.
const VERTICES: usize = 20_000;

/// The flow curve from a start point, as a polyline of points spaced evenly in arc length.
#[derive(Clone, Debug)]
pub struct FlowCurve {
    points: Vec<DVector<f64>>,
    tree: Groups,
    /// Whether the curve came from the closed-form flow (else from dopri5).
    pub exact: bool,
}

/// The curve's vertices in consecutive groups, each with a bounding ball: a query scans
/// only the groups whose ball can hold a nearer vertex (‖x − c‖ − r < best), so a point far
/// from the curve costs about √N distance evaluations, not N.
#[derive(Clone, Debug, Default)]
struct Groups {
    size: usize,
    centers: Vec<DVector<f64>>,
    radii: Vec<f64>,
}

impl Groups {
    fn new(points: &[DVector<f64>]) -> Self {
        let size = ((points.len() as f64).sqrt().ceil() as usize).max(1);
        let mut centers = Vec::new();
        let mut radii = Vec::new();
        for chunk in points.chunks(size) {
            let c = chunk[chunk.len() / 2].clone();
            let r = chunk.iter().map(|p| (p - &c).norm()).fold(0.0, f64::max);
            centers.push(c);
            radii.push(r);
        }
        Groups {
            size,
            centers,
            radii,
        }
    }

    /// Nearest vertex to x: (squared distance, vertex), starting from a known bound.
    fn nearest(&self, points: &[DVector<f64>], x: &[f64], mut best: (f64, usize)) -> (f64, usize) {
        for (g, (c, &r)) in self.centers.iter().zip(&self.radii).enumerate() {
            let lb = dist2(c, x).sqrt() - r;
            if lb > 0.0 && lb * lb >= best.0 {
                continue;
            }
            let start = g * self.size;
            let end = (start + self.size).min(points.len());
            for (i, p) in points[start..end].iter().enumerate() {
                let mut d = 0.0;
                for (a, b) in p.iter().zip(x) {
                    d += (a - b) * (a - b);
                    if d >= best.0 {
                        break;
                    }
                }
                if d < best.0 {
                    best = (d, start + i);
                }
            }
        }
        best
    }
}

/// Collects the accepted states of the reference run, filling long steps with cubic
/// Hermite interpolation on the field values at both ends (error O(h⁴), below the
/// integration tolerance), so the polyline follows the curve between steps.
struct Collect<'a> {
    objective: &'a dyn Objective<f64>,
    points: Vec<DVector<f64>>,
    /// Time and field at the last kept point.
    t_prev: f64,
    f_prev: DVector<f64>,
    /// States closer than this to the last kept point are skipped.
    spacing: f64,
}

impl Observer<f64> for Collect<'_> {
    fn observe(&mut self, p: &Point<'_, f64>) {
        if let Some(last) = self.points.last() {
            if (p.y - last).norm() < self.spacing {
                return;
            }
        }
        let mut f = DVector::zeros(p.y.len());
        self.objective.gradient(p.y, &mut f);
        f.neg_mut();
        if let Some(y0) = self.points.last() {
            let h = p.t - self.t_prev;
            let chord = (p.y - y0).norm();
            let pieces = (chord / (20.0 * self.spacing)).ceil().clamp(1.0, 64.0) as usize;
            let y0 = y0.clone();
            for k in 1..pieces {
                let s = k as f64 / pieces as f64;
                let (s2, s3) = (s * s, s * s * s);
                let h00 = 2.0 * s3 - 3.0 * s2 + 1.0;
                let h10 = s3 - 2.0 * s2 + s;
                let h01 = -2.0 * s3 + 3.0 * s2;
                let h11 = s3 - s2;
                let y = &y0 * h00 + &self.f_prev * (h10 * h) + p.y * h01 + &f * (h11 * h);
                self.points.push(y);
            }
        }
        self.points.push(p.y.clone());
        self.t_prev = p.t;
        self.f_prev = f;
    }
}

impl FlowCurve {
    /// The curve of dθ/dt = −∇L from `x0`: the closed form where the objective has one,
    /// else `dopri5` at rtol = 1e-10, atol = 1e-12, integrated until ‖∇L‖ ≤ 1e-7·‖∇L(x0)‖,
    /// t = 1e5 or 5·10⁶ gradients (near the minimizer the rest of the curve is shorter
    /// than the distances measured). States are kept every 1e-5·(1 + ‖x0‖) of distance.
    pub fn new(objective: &dyn Objective<f64>, x0: &DVector<f64>) -> Result<FlowCurve> {
        let n = objective.dim();
        let mut probe = DVector::zeros(n);
        let raw = if objective.exact_flow(x0, 0.0, &mut probe) {
            let mut g = DVector::zeros(n);
            objective.gradient(x0, &mut g);
            // Sample t densely near 0 (fast components) and out to where every component
            // has decayed: t_k = T·(k/N)³.
            let samples = 20_000;
            let t_far = Self::settle_time(objective, x0);
            (0..=samples)
                .map(|k| {
                    let s = k as f64 / samples as f64;
                    let mut out = DVector::zeros(n);
                    objective.exact_flow(x0, t_far * s * s * s, &mut out);
                    out
                })
                .collect()
        } else {
            let mut g = DVector::zeros(n);
            objective.gradient(x0, &mut g);
            let stop = Stop {
                t_end: Some(1e5),
                gtol: Some(1e-7 * g.norm()),
                max_evals: Some(5_000_000),
                ..Stop::none()
            };
            let stepper = RungeKutta::adaptive(&tableau::DOPRI5, 1e-10, 1e-12, n);
            let mut run = Integrator::new(stepper, 0.0, x0.clone());
            let mut collect = Collect {
                objective,
                points: Vec::new(),
                t_prev: 0.0,
                f_prev: DVector::zeros(n),
                spacing: 1e-5 * (1.0 + x0.norm()),
            };
            let status = run.integrate(&mut GradientFlow::new(objective), &stop, &mut collect);
            if matches!(status, Status::Diverged | Status::StepTooSmall) {
                return Err(Error::usage(format!(
                    "the reference flow could not be computed ({})",
                    status.as_str()
                )));
            }
            collect.points
        };
        let points = resample(&raw, VERTICES);
        Ok(FlowCurve {
            tree: Groups::new(&points),
            points,
            exact: objective.exact_flow(x0, 0.0, &mut probe),
        })
    }

    /// A time by which the closed-form flow has settled: where ‖θ(t)‖ ≤ 1e-9‖θ₀‖, found by
    /// doubling t.
    fn settle_time(objective: &dyn Objective<f64>, x0: &DVector<f64>) -> f64 {
        let mut out = DVector::zeros(x0.len());
        let target = 1e-9 * x0.norm().max(f64::MIN_POSITIVE);
        let mut t = 1e-3;
        while t < 1e12 {
            objective.exact_flow(x0, t, &mut out);
            if out.norm() <= target {
                break;
            }
            t *= 2.0;
        }
        t
    }

    /// The polyline's vertices.
    pub fn points(&self) -> &[DVector<f64>] {
        &self.points
    }

    /// Distance from `x` to the polyline.
    pub fn distance(&self, x: &[f64]) -> f64 {
        self.distance_near(x, 0).0
    }

    /// Distance from `x` to the polyline and the index of the nearest vertex; `hint` (the
    /// previous iterate's vertex) seeds the search with a good bound.
    pub fn distance_near(&self, x: &[f64], hint: usize) -> (f64, usize) {
        let pts = &self.points;
        if pts.len() == 1 {
            return (dist2(&pts[0], x).sqrt(), 0);
        }
        let hint = hint.min(pts.len() - 1);
        let (mut best, best_i) = self.tree.nearest(pts, x, (dist2(&pts[hint], x), hint));
        let lo = best_i.saturating_sub(1);
        let hi = (best_i + 1).min(pts.len() - 1);
        for i in lo..hi {
            best = best.min(segment_dist2(&pts[i], &pts[i + 1], x));
        }
        (best.sqrt(), best_i)
    }
}

fn dist2(p: &DVector<f64>, x: &[f64]) -> f64 {
    p.iter().zip(x).map(|(a, b)| (a - b) * (a - b)).sum()
}

/// Squared distance from x to the segment [a, b].
fn segment_dist2(a: &DVector<f64>, b: &DVector<f64>, x: &[f64]) -> f64 {
    let (mut ab2, mut axab) = (0.0, 0.0);
    for ((ai, bi), xi) in a.iter().zip(b.iter()).zip(x) {
        ab2 += (bi - ai) * (bi - ai);
        axab += (xi - ai) * (bi - ai);
    }
    let s = if ab2 > 0.0 {
        (axab / ab2).clamp(0.0, 1.0)
    } else {
        0.0
    };
    a.iter()
        .zip(b.iter())
        .zip(x)
        .map(|((ai, bi), xi)| {
            let p = ai + s * (bi - ai);
            (xi - p) * (xi - p)
        })
        .sum()
}

/// Resamples a polyline to at most `m` vertices evenly spaced in arc length (keeping both
/// ends and dropping repeated points).
fn resample(raw: &[DVector<f64>], m: usize) -> Vec<DVector<f64>> {
    let mut pts: Vec<&DVector<f64>> = Vec::with_capacity(raw.len());
    for p in raw {
        if pts.last().is_none_or(|q| (*q - p).norm() > 0.0) {
            pts.push(p);
        }
    }
    if pts.len() <= 2 {
        return pts.into_iter().cloned().collect();
    }
    let mut cum = Vec::with_capacity(pts.len());
    let mut s = 0.0;
    cum.push(0.0);
    for w in pts.windows(2) {
        s += (w[1] - w[0]).norm();
        cum.push(s);
    }
    let total = s;
    let mut out = Vec::with_capacity(m);
    let mut j = 0;
    for k in 0..m {
        let target = total * k as f64 / (m - 1) as f64;
        while j + 1 < cum.len() - 1 && cum[j + 1] < target {
            j += 1;
        }
        let span = cum[j + 1] - cum[j];
        let u = if span > 0.0 {
            ((target - cum[j]) / span).clamp(0.0, 1.0)
        } else {
            0.0
        };
        out.push(pts[j] + (pts[j + 1] - pts[j]) * u);
    }
    out
}

/// Running max and mean of the deviation of every accepted iterate.
pub struct Deviation<'a> {
    curve: &'a FlowCurve,
    hint: usize,
    /// Largest deviation so far.
    pub max: f64,
    sum: f64,
    count: u64,
    buf: Vec<f64>,
}

impl<'a> Deviation<'a> {
    /// A tracker against `curve`.
    pub fn new(curve: &'a FlowCurve) -> Self {
        Deviation {
            curve,
            hint: 0,
            max: 0.0,
            sum: 0.0,
            count: 0,
            buf: Vec::new(),
        }
    }

    /// Mean deviation so far (0 before any point).
    pub fn mean(&self) -> f64 {
        if self.count == 0 {
            0.0
        } else {
            self.sum / self.count as f64
        }
    }

    /// Adds one iterate.
    pub fn add(&mut self, x: &[f64]) {
        let (d, i) = self.curve.distance_near(x, self.hint);
        self.hint = i;
        self.max = self.max.max(d);
        self.sum += d;
        self.count += 1;
    }
}

impl<T: gradflow_integrators::Scalar> Observer<T> for Deviation<'_> {
    fn observe(&mut self, p: &Point<'_, T>) {
        self.buf.clear();
        self.buf
            .extend(p.y.iter().map(|&v| gradflow_integrators::scalar::to_f64(v)));
        let x = std::mem::take(&mut self.buf);
        self.add(&x);
        self.buf = x;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gradflow_problems::build;

    #[test]
    fn points_on_the_exact_curve_have_zero_deviation() {
        let q = build::<f64>("quadratic", &[("n", 2.0), ("kappa", 100.0)])
            .unwrap_or_else(|e| panic!("{e}"));
        let x0 = q.start();
        let curve = FlowCurve::new(&*q, &x0).unwrap();
        assert!(curve.exact);
        let mut on = DVector::zeros(2);
        for t in [0.0, 0.003, 0.05, 0.7, 3.0] {
            q.exact_flow(&x0, t, &mut on);
            let d = curve.distance(on.as_slice());
            println!("t = {t}: {d:e}");
            assert!(d < 1e-6, "t = {t}");
        }
        // (1, 0.5) is off the curve θ₂ = θ₁¹⁰⁰; its distance is at least 0.5 − 1e-3 · ...
        let d = curve.distance(&[0.5, 0.5]);
        let want = 0.5 - 0.5f64.powi(100); // the vertical gap, an upper bound
        assert!(d > 0.45 && d <= want + 1e-9, "{d}");
    }

    #[test]
    fn the_integrated_curve_matches_the_exact_one() {
        // A quartic without using its closed form: compare dopri5's curve to the formula.
        struct Hidden(Box<dyn Objective<f64> + Send + Sync>);
        impl Objective<f64> for Hidden {
            fn dim(&self) -> usize {
                self.0.dim()
            }
            fn value(&self, x: &DVector<f64>) -> f64 {
                self.0.value(x)
            }
            fn gradient(&self, x: &DVector<f64>, g: &mut DVector<f64>) {
                self.0.gradient(x, g)
            }
            fn start(&self) -> DVector<f64> {
                DVector::from_vec(vec![1.0, 0.5])
            }
        }
        let q = build::<f64>("quartic", &[("n", 2.0)]).unwrap_or_else(|e| panic!("{e}"));
        let hidden = Hidden(q);
        let x0 = hidden.start();
        let curve = FlowCurve::new(&hidden, &x0).unwrap();
        assert!(!curve.exact);
        let mut on = DVector::zeros(2);
        for t in [0.0, 0.1, 1.0, 10.0, 100.0] {
            hidden.0.exact_flow(&x0, t, &mut on);
            let d = curve.distance(on.as_slice());
            println!("t = {t}: {d:e}");
            assert!(d < 1e-6, "t = {t}");
        }
    }
}
