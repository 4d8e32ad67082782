//! Pieces every experiment uses: the outcome it returns, a Markdown table, number
//! formatting, a trace observer, log-log slopes.

use super::Claim;
use crate::error::{Error, Result};
use crate::flow::GradientFlow;
use crate::plot::Figure;
use crate::report::Report;
use gradflow_integrators::{Integrator, Observer, Point, Status, Stepper, Stop};
use gradflow_problems::Objective;
use nalgebra::DVector;
use std::fmt::Write as _;

/// A scheme under test: builds a stepper with step (or learning rate) `h` for a state of
/// dimension `n`. Experiments that take one can be run with a deliberately broken
/// method, to show that their claim then fails.
pub type Maker<'a> = &'a dyn Fn(f64, usize) -> Box<dyn Stepper<f64> + Send>;

/// What an experiment produced: its claim and everything the README shows about it.
#[derive(Clone, Debug)]
pub struct Outcome {
    /// The claim with its measurement and verdict.
    pub claim: Claim,
    /// The key measured numbers in one line, for the README's summary.
    pub headline: String,
    /// The setup, in Markdown (problems, start, methods, steps, stops).
    pub setup: String,
    /// The numbers, as one or more Markdown tables.
    pub table: String,
    /// Figures: (file-name suffix, figure); the first has no suffix.
    pub figures: Vec<(String, Figure)>,
    /// Remarks on the measurement (what a threshold means, what was found), in Markdown.
    pub notes: String,
}

/// A Markdown table built row by row.
#[derive(Clone, Debug, Default)]
pub struct Table {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    /// A table with these column headers.
    pub fn new(header: &[&str]) -> Self {
        Table {
            header: header.iter().map(|s| s.to_string()).collect(),
            rows: Vec::new(),
        }
    }

    /// Appends a row.
    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    /// The table as GitHub Markdown.
    pub fn markdown(&self) -> String {
        let mut s = String::new();
        let cell = |c: &String| c.replace('|', "\\|");
        let line = |cells: &[String]| cells.iter().map(cell).collect::<Vec<_>>().join(" | ");
        let _ = writeln!(s, "| {} |", line(&self.header));
        let _ = writeln!(
            s,
            "|{}",
            self.header.iter().map(|_| " --- |").collect::<String>()
        );
        for r in &self.rows {
            let _ = writeln!(s, "| {} |", line(r));
        }
        s
    }
}

/// A number in scientific notation with 4 significant digits, e.g. `1.234e-3`.
pub fn sci(x: f64) -> String {
    if x == 0.0 {
        "0".into()
    } else if x.is_finite() {
        format!("{x:.3e}")
    } else {
        format!("{x}")
    }
}

/// A number with `d` decimals.
pub fn fix(x: f64, d: usize) -> String {
    format!("{x:.d$}")
}

/// "PASS" or "FAIL".
pub fn verdict(pass: bool) -> &'static str {
    if pass {
        "PASS"
    } else {
        "FAIL"
    }
}

/// Least-squares slope of ln(y) against ln(x): the order p in y ≈ C·xᵖ.
pub fn slope(x: &[f64], y: &[f64]) -> f64 {
    let lx: Vec<f64> = x.iter().map(|v| v.ln()).collect();
    let ly: Vec<f64> = y.iter().map(|v| v.ln()).collect();
    let n = lx.len() as f64;
    let (mx, my) = (lx.iter().sum::<f64>() / n, ly.iter().sum::<f64>() / n);
    let sxy: f64 = lx.iter().zip(&ly).map(|(a, b)| (a - mx) * (b - my)).sum();
    let sxx: f64 = lx.iter().map(|a| (a - mx) * (a - mx)).sum();
    sxy / sxx
}

/// A registry problem in f64.
pub fn problem(
    name: &str,
    params: &[(&str, f64)],
) -> Result<Box<dyn Objective<f64> + Send + Sync>> {
    Ok(gradflow_problems::build::<f64>(name, params)?)
}

/// Every accepted state of a run: step 0 first.
#[derive(Clone, Debug, Default)]
pub struct Trace {
    /// Virtual time t after each step (t₀ first).
    pub t: Vec<f64>,
    /// θ after each step (θ₀ first).
    pub y: Vec<Vec<f64>>,
    /// Step size of the step that led to each state (`None` at step 0).
    pub h: Vec<Option<f64>>,
}

impl Observer<f64> for Trace {
    fn observe(&mut self, p: &Point<'_, f64>) {
        self.t.push(p.t);
        self.y.push(p.y.as_slice().to_vec());
        self.h.push(p.h);
    }
}

/// Integrates the gradient flow of `objective` with `stepper` from `x0` until `stop`,
/// keeping every accepted state.
pub fn trace(
    objective: &dyn Objective<f64>,
    stepper: Box<dyn Stepper<f64> + Send>,
    x0: &[f64],
    stop: &Stop<f64>,
) -> (Status, Trace) {
    let mut run = Integrator::new(stepper, 0.0, DVector::from_column_slice(x0));
    let mut flow = GradientFlow::new(objective);
    let mut trace = Trace::default();
    let status = run.integrate(&mut flow, stop, &mut trace);
    (status, trace)
}

/// The exact gradient flow θ(t) from `x0`, where the objective has a closed form.
pub fn exact(objective: &dyn Objective<f64>, x0: &[f64], t: f64) -> Result<Vec<f64>> {
    let mut out = DVector::zeros(x0.len());
    if objective.exact_flow(&DVector::from_column_slice(x0), t, &mut out) {
        Ok(out.as_slice().to_vec())
    } else {
        Err(Error::usage("the objective has no closed-form flow"))
    }
}

/// The flow of `objective` at time `t_end` by `dopri5` at rtol = 1e-12, atol = 1e-14 (for
/// flows without a closed form, such as a modified loss).
pub fn accurate(objective: &dyn Objective<f64>, x0: &[f64], t_end: f64) -> Result<Vec<f64>> {
    use gradflow_integrators::{tableau, RungeKutta};
    let n = x0.len();
    let stepper = RungeKutta::adaptive(&tableau::DOPRI5, 1e-12, 1e-14, n);
    let mut run = Integrator::new(stepper, 0.0, DVector::from_column_slice(x0));
    let stop = Stop {
        t_end: Some(t_end),
        max_evals: Some(10_000_000),
        ..Stop::none()
    };
    match run.integrate(&mut GradientFlow::new(objective), &stop, &mut ()) {
        Status::TEnd => Ok(run.y().as_slice().to_vec()),
        s => Err(Error::usage(format!(
            "the reference integration ended with {}",
            s.as_str()
        ))),
    }
}

/// θ at every recorded point of a report (a run with `record(1)` and θ kept).
pub fn thetas(report: &Report) -> Vec<Vec<f64>> {
    report
        .trajectory
        .iter()
        .map(|r| r.theta.clone().unwrap_or_default())
        .collect()
}

/// Euclidean distance.
pub fn dist(a: &[f64], b: &[f64]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y) * (x - y))
        .sum::<f64>()
        .sqrt()
}

/// Log-spaced values from `lo` to `hi` (both included).
pub fn logspace(lo: f64, hi: f64, points: usize) -> Vec<f64> {
    let n = points.max(2);
    (0..n)
        .map(|k| lo * (hi / lo).powf(k as f64 / (n - 1) as f64))
        .collect()
}

/// Fixes the ranges of a figure without explicit bounds so that the data stay below the
/// legend, which `plot` draws in the top-right corner (16 px per entry of a 380 px high
/// plot area). Log axes keep whole decades, as `plot` would choose.
pub fn headroom(mut fig: Figure) -> Figure {
    if fig.bounds.is_some() {
        return fig;
    }
    let ok = |v: f64, log: bool| v.is_finite() && (!log || v > 0.0);
    let (mut x0, mut x1, mut y0, mut y1) = (
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::INFINITY,
        f64::NEG_INFINITY,
    );
    for s in &fig.series {
        for &(x, y) in &s.points {
            if ok(x, fig.x_log) && ok(y, fig.y_log) {
                x0 = x0.min(x);
                x1 = x1.max(x);
                y0 = y0.min(y);
                y1 = y1.max(y);
            }
        }
    }
    if !(x0.is_finite() && y0.is_finite()) {
        return fig;
    }
    // Share of the plot's height the legend takes, with a margin.
    let share = (16.0 * (fig.series.len() as f64 + 1.0) / 380.0).min(0.6);
    let xr = if fig.x_log {
        let (a, b) = (x0.log10().floor(), x1.log10().ceil());
        (10f64.powf(a), 10f64.powf(b.max(a + 1.0)))
    } else {
        let pad = if x1 > x0 { 0.05 * (x1 - x0) } else { 0.5 };
        (x0 - pad, x1 + pad)
    };
    let yr = if fig.y_log {
        let (a, b) = (y0.log10().floor(), y1.log10());
        let top = (a + (b - a).max(1.0) / (1.0 - share)).ceil();
        (10f64.powf(a), 10f64.powf(top))
    } else {
        let pad = if y1 > y0 { 0.05 * (y1 - y0) } else { 0.5 };
        let lo = y0 - pad;
        (lo, lo + (y1 + pad - lo) / (1.0 - share))
    };
    fig.bounds = Some((xr, yr));
    fig
}
