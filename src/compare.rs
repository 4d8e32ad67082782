//! Step-size strategies side by side: the same problems, the same stops, one row each.
//!
//! `compare` is `run` plus three measurements: the path deviation from the exact
//! gradient-flow curve ([`crate::path`]), the distance to the known minimizer, and, with
//! tuning, the best fixed learning rate on a log grid.

use crate::error::{Error, Result};
use crate::methods::Method;
use crate::path::{Deviation, FlowCurve};
use crate::report::Report;
use crate::run::{Dtype, RunSpec, SpecField};
use crate::spec::{Spec, Value};
use gradflow_integrators::{Observer, Point, Scalar, Status};
use gradflow_problems::Real;
use nalgebra::DVector;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Max and mean distance of the accepted iterates from the flow curve.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct PathDeviation {
    /// Largest distance.
    pub max: f64,
    /// Mean distance over the accepted iterates.
    pub mean: f64,
}

/// One (problem, method) of a comparison: the run report plus the comparison's fields.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CompareRun {
    /// The `run` report.
    #[serde(flatten)]
    pub report: Report,
    /// Distance of the iterates from the exact flow curve (null without a reference).
    pub path_deviation: Option<PathDeviation>,
    /// ‖θ − θ*‖₂ at the end (null where the minimizer is unknown).
    pub distance_to_minimizer: Option<f64>,
    /// The learning rate `--tune` chose (present only for tuned methods).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tuned: Option<BTreeMap<String, f64>>,
}

/// The log grid `--tune` searches: `points` values from `lo` to `hi`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TuneGrid {
    /// Smallest lr.
    pub lo: f64,
    /// Largest lr.
    pub hi: f64,
    /// Number of grid points (≥ 2).
    pub points: usize,
}

impl Default for TuneGrid {
    /// 1e-5 … 1 with three points per decade.
    fn default() -> Self {
        TuneGrid {
            lo: 1e-5,
            hi: 1.0,
            points: 16,
        }
    }
}

impl TuneGrid {
    /// The grid values lo·(hi/lo)^(k/(points − 1)).
    pub fn values(&self) -> Vec<f64> {
        let n = self.points.max(2);
        (0..n)
            .map(|k| self.lo * (self.hi / self.lo).powf(k as f64 / (n - 1) as f64))
            .collect()
    }
}

/// What to compare and how.
#[derive(Clone, Debug)]
pub struct Comparison {
    /// Problem specs (`all` expands to every registered problem).
    pub problems: Vec<String>,
    /// Method specs.
    pub methods: Vec<String>,
    /// Stops, start, recording and precision shared by every run (its problem and method
    /// are ignored).
    pub base: RunSpec,
    /// Tune the lr of fixed-step methods on this grid.
    pub tune: Option<TuneGrid>,
}

/// Whether a method takes a fixed learning rate (and no tolerance): what `--tune` tunes.
pub fn is_tunable(method: &Method) -> bool {
    method.info.keys.iter().any(|k| k.name == "lr")
        && !method.info.keys.iter().any(|k| k.name == "rtol")
}

/// Observer that measures the deviation of accepted iterates (not step 0), and the time
/// it spends doing so (taken out of the run's wall time, which times the integration).
struct Accepted<'a>(Deviation<'a>, std::time::Duration);

impl<T: Scalar> Observer<T> for Accepted<'_> {
    fn observe(&mut self, p: &Point<'_, T>) {
        if p.step > 0 {
            let clock = std::time::Instant::now();
            Observer::<T>::observe(&mut self.0, p);
            self.1 += clock.elapsed();
        }
    }
}

impl Comparison {
    /// The problem specs with `all` expanded.
    pub fn problem_specs(&self) -> Vec<String> {
        let mut out = Vec::new();
        for p in &self.problems {
            if p == "all" {
                out.extend(
                    gradflow_problems::registry()
                        .iter()
                        .map(|i| i.name.to_string()),
                );
            } else {
                out.push(p.clone());
            }
        }
        out
    }

    /// Checks every spec and the stops before anything runs.
    pub fn check(&self) -> Result<()> {
        if self.problems.is_empty() || self.methods.is_empty() {
            return Err(Error::usage(
                "compare needs at least one --problem and one --method",
            ));
        }
        if self.tune.is_some() && self.base.gtol.is_none() && self.base.ftol.is_none() {
            return Err(Error::usage(
                "--tune needs a target stop: --gtol or --ftol (and a budget such as --max-evals)",
            ));
        }
        if let Some(g) = self.tune {
            if !(g.lo > 0.0 && g.hi > g.lo && g.hi.is_finite() && g.points >= 2) {
                return Err(Error::usage(format!(
                    "tune grid {}..{} with {} points is invalid; expected 0 < lo < hi and ≥ 2 points",
                    g.lo, g.hi, g.points
                )));
            }
        }
        for p in self.problem_specs() {
            for m in &self.methods {
                self.spec_for(&p, m).resolve()?;
            }
        }
        Ok(())
    }

    fn spec_for(&self, problem: &str, method: &str) -> RunSpec {
        let mut spec = self.base.clone();
        spec.problem = SpecField::Text(problem.to_string());
        spec.method = SpecField::Text(method.to_string());
        spec
    }

    /// Runs every (problem, method) pair, in parallel, rows in (problem, method) order.
    /// The output is the same whatever the number of threads (wall times aside).
    pub fn run(&self) -> Result<Vec<CompareRun>> {
        self.run_with_progress(&|| {})
    }

    /// [`Comparison::run`], calling `row_done` as each row finishes (from any thread; for
    /// a progress bar).
    pub fn run_with_progress(&self, row_done: &(dyn Fn() + Sync)) -> Result<Vec<CompareRun>> {
        self.check()?;
        let problems = self.problem_specs();
        // One reference curve per problem (and start).
        let curves: Vec<Option<FlowCurve>> = problems
            .par_iter()
            .map(|p| self.curve(p))
            .collect::<Result<_>>()?;
        let jobs: Vec<(usize, &String)> = (0..problems.len())
            .flat_map(|i| self.methods.iter().map(move |m| (i, m)))
            .collect();
        jobs.par_iter()
            .map(|&(i, m)| {
                let row = self.one(&problems[i], m, curves[i].as_ref());
                row_done();
                row
            })
            .collect()
    }

    fn curve(&self, problem: &str) -> Result<Option<FlowCurve>> {
        let spec = self.spec_for(problem, "euler");
        let resolved = spec.resolve()?;
        let objective = resolved.objective::<f64>()?;
        let x0 = match &spec.x0 {
            Some(x) if x.len() == objective.dim() => DVector::from_vec(x.clone()),
            Some(x) => {
                return Err(Error::usage(format!(
                    "x0 has {} values; problem '{}' has dimension {}",
                    x.len(),
                    resolved.problem_name,
                    objective.dim()
                )))
            }
            None => objective.start(),
        };
        Ok(FlowCurve::new(&*objective, &x0).ok())
    }

    /// One row: a plain run, or the best of the lr grid for a tunable method.
    fn one(&self, problem: &str, method: &str, curve: Option<&FlowCurve>) -> Result<CompareRun> {
        let parsed = Method::parse(method)?;
        match self.tune {
            Some(grid) if is_tunable(&parsed) => {
                let candidates: Vec<CompareRun> = grid
                    .values()
                    .par_iter()
                    .map(|&lr| self.measure(problem, &with_lr(method, lr)?, curve))
                    .collect::<Result<_>>()?;
                let reached =
                    |r: &CompareRun| matches!(r.report.status, Status::Gtol | Status::Ftol);
                let best = candidates
                    .iter()
                    .zip(grid.values())
                    .filter(|(r, _)| reached(r))
                    .min_by_key(|(r, _)| r.report.grad_evals)
                    .or_else(|| {
                        // Nothing reached the target: keep the lowest final loss.
                        candidates
                            .iter()
                            .zip(grid.values())
                            .filter(|(r, _)| r.report.loss.is_finite())
                            .min_by(|a, b| a.0.report.loss.total_cmp(&b.0.report.loss))
                    });
                let (row, lr) = match best {
                    Some((r, lr)) => (r.clone(), lr),
                    None => (candidates[0].clone(), grid.lo),
                };
                Ok(CompareRun {
                    tuned: Some(BTreeMap::from([("lr".to_string(), lr)])),
                    ..row
                })
            }
            _ => self.measure(problem, method, curve),
        }
    }

    fn measure(
        &self,
        problem: &str,
        method: &str,
        curve: Option<&FlowCurve>,
    ) -> Result<CompareRun> {
        let spec = self.spec_for(problem, method);
        let resolved = spec.resolve()?;
        match spec.dtype {
            Dtype::F64 => measure::<f64>(&resolved, &spec, curve),
            Dtype::F32 => measure::<f32>(&resolved, &spec, curve),
        }
    }
}

fn measure<T: Scalar + Real>(
    resolved: &crate::run::Resolved,
    spec: &RunSpec,
    curve: Option<&FlowCurve>,
) -> Result<CompareRun> {
    let (report, deviation) = match curve {
        Some(c) => {
            let mut dev = Accepted(Deviation::new(c), std::time::Duration::ZERO);
            let mut report = resolved.run_observed::<T>(spec, &mut dev)?;
            report.wall_seconds = (report.wall_seconds - dev.1.as_secs_f64()).max(0.0);
            let d = PathDeviation {
                max: dev.0.max,
                mean: dev.0.mean(),
            };
            (report, Some(d))
        }
        None => (resolved.run::<T>(spec)?, None),
    };
    let objective = resolved.objective::<f64>()?;
    let distance_to_minimizer = match (objective.minimizer(), &report.theta) {
        (Some(m), Some(theta)) => Some(
            m.iter()
                .zip(theta)
                .map(|(a, b)| (a - b) * (a - b))
                .sum::<f64>()
                .sqrt(),
        ),
        _ => None,
    };
    Ok(CompareRun {
        report,
        path_deviation: deviation,
        distance_to_minimizer,
        tuned: None,
    })
}

/// The method spec with `lr` set to `lr`.
fn with_lr(method: &str, lr: f64) -> Result<String> {
    let mut spec = Spec::parse(method)?;
    spec.params.retain(|(k, _)| k != "lr");
    spec.params.push(("lr".to_string(), Value::Number(lr)));
    Ok(spec.to_string())
}

/// Formats a number for the table.
fn num(x: f64) -> String {
    if x == 0.0 {
        "0".into()
    } else if x.is_finite() {
        format!("{x:.3e}")
    } else {
        format!("{x}")
    }
}

/// The table of one problem's rows, best value of each column marked with `*`.
pub fn table(rows: &[&CompareRun]) -> String {
    let mut out = String::new();
    if rows.is_empty() {
        return out;
    }
    let header = [
        "method", "status", "acc", "rej", "grads", "t", "loss", "|grad|", "dist*", "dev max",
        "dev mean", "wall s",
    ];
    let reached = |r: &CompareRun| matches!(r.report.status, Status::Gtol | Status::Ftol);
    let best = |f: &dyn Fn(&CompareRun) -> Option<f64>| -> Option<f64> {
        rows.iter()
            .filter_map(|r| f(r))
            .filter(|v| v.is_finite())
            .reduce(f64::min)
    };
    let any_reached = rows.iter().any(|r| reached(r));
    let grads = |r: &CompareRun| (!any_reached || reached(r)).then_some(r.report.grad_evals as f64);
    type Column<'a> = (&'a dyn Fn(&CompareRun) -> Option<f64>, usize);
    let cols: Vec<Column> = vec![
        (&grads, 4),
        (&|r: &CompareRun| Some(r.report.loss), 6),
        (&|r: &CompareRun| Some(r.report.grad_norm), 7),
        (&|r: &CompareRun| r.distance_to_minimizer, 8),
        (&|r: &CompareRun| r.path_deviation.map(|d| d.max), 9),
        (&|r: &CompareRun| r.path_deviation.map(|d| d.mean), 10),
        (&|r: &CompareRun| Some(r.report.wall_seconds), 11),
    ];
    let bests: Vec<(usize, Option<f64>)> = cols.iter().map(|(f, c)| (*c, best(*f))).collect();
    let mut cells: Vec<Vec<String>> = vec![header.iter().map(|s| s.to_string()).collect()];
    for r in rows {
        let rep = &r.report;
        let method = match r.tuned.as_ref().and_then(|t| t.get("lr")) {
            Some(lr) => format!("{} (lr={lr:.2e})", rep.method.name),
            None => rep.method.name.clone(),
        };
        let dev = r.path_deviation;
        let mut row = vec![
            method,
            rep.status.as_str().to_string(),
            rep.accepted.to_string(),
            rep.rejected.to_string(),
            rep.grad_evals.to_string(),
            num(rep.t),
            num(rep.loss),
            num(rep.grad_norm),
            r.distance_to_minimizer.map_or("-".into(), num),
            dev.map_or("-".into(), |d| num(d.max)),
            dev.map_or("-".into(), |d| num(d.mean)),
            format!("{:.2e}", rep.wall_seconds),
        ];
        for ((f, c), (_, b)) in cols.iter().zip(&bests) {
            if let (Some(v), Some(b)) = (f(r), b) {
                if v == *b && rows.len() > 1 {
                    row[*c].push('*');
                }
            }
        }
        cells.push(row);
    }
    let widths: Vec<usize> = (0..header.len())
        .map(|c| {
            cells
                .iter()
                .map(|r| r[c].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    for row in &cells {
        let line: Vec<String> = row
            .iter()
            .zip(&widths)
            .enumerate()
            .map(|(i, (s, w))| {
                if i < 2 {
                    format!("{s:<w$}")
                } else {
                    format!("{s:>w$}")
                }
            })
            .collect();
        out.push_str(line.join("  ").trim_end());
        out.push('\n');
    }
    out
}

/// The suite matrix: problems × methods, gradient evaluations to the target or the status.
pub fn matrix(problems: &[String], methods: &[String], rows: &[CompareRun]) -> String {
    let mut cells = vec![std::iter::once("problem".to_string())
        .chain(methods.iter().cloned())
        .collect::<Vec<_>>()];
    for (i, p) in problems.iter().enumerate() {
        let mut line = vec![p.clone()];
        for j in 0..methods.len() {
            let r = &rows[i * methods.len() + j].report;
            line.push(match r.status {
                Status::Gtol | Status::Ftol => r.grad_evals.to_string(),
                s => s.as_str().to_string(),
            });
        }
        cells.push(line);
    }
    let widths: Vec<usize> = (0..cells[0].len())
        .map(|c| {
            cells
                .iter()
                .map(|r| r[c].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for row in &cells {
        let line: Vec<String> = row
            .iter()
            .zip(&widths)
            .map(|(s, w)| format!("{s:>w$}"))
            .collect();
        out.push_str(line.join("  ").trim_end());
        out.push('\n');
    }
    out
}

/// The rows as CSV, one line per (problem, method).
pub fn csv(rows: &[CompareRun]) -> String {
    let mut s = String::from(
        "problem,method,tuned_lr,status,accepted,rejected,grad_evals,hess_evals,t,loss,grad_norm,distance_to_minimizer,path_deviation_max,path_deviation_mean,wall_seconds\n",
    );
    let opt = |x: Option<f64>| x.map_or(String::new(), |v| format!("{v:?}"));
    for r in rows {
        let rep = &r.report;
        s.push_str(&format!(
            "{},{},{},{},{},{},{},{},{:?},{:?},{:?},{},{},{},{:?}\n",
            rep.problem.name,
            rep.method.name,
            opt(r.tuned.as_ref().and_then(|t| t.get("lr").copied())),
            rep.status.as_str(),
            rep.accepted,
            rep.rejected,
            rep.grad_evals,
            rep.hess_evals,
            rep.t,
            rep.loss,
            rep.grad_norm,
            opt(r.distance_to_minimizer),
            opt(r.path_deviation.map(|d| d.max)),
            opt(r.path_deviation.map(|d| d.mean)),
            rep.wall_seconds
        ));
    }
    s
}

/// A file-name-safe form of a problem spec; a long one (an `expr:` formula) is cut to
/// 60 characters and told apart from others by a hash of the whole spec.
fn slug(spec: &str) -> String {
    let safe: String = spec
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if safe.len() <= 60 {
        return safe;
    }
    // FNV-1a, 64 bits: stable across runs and platforms.
    let hash = spec.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    format!("{}_{hash:016x}", &safe[..60])
}

impl Comparison {
    /// Writes the figures of every problem into `dir` and returns their paths:
    /// L against gradient evaluations, L against t with the exact flow, the step size
    /// against the step, and for 2-D problems the paths over the loss levels with the flow
    /// curve. Series come from the recorded trajectories (record every step for smooth
    /// lines).
    pub fn plot(
        &self,
        rows: &[CompareRun],
        dir: &std::path::Path,
    ) -> Result<Vec<std::path::PathBuf>> {
        use crate::plot::{Figure, Series};
        std::fs::create_dir_all(dir)
            .map_err(|e| Error::Io(format!("cannot create {}: {e}", dir.display())))?;
        let problems = self.problem_specs();
        let mut written = Vec::new();
        let label = |r: &CompareRun| match r.tuned.as_ref().and_then(|t| t.get("lr")) {
            Some(lr) => format!("{} lr={lr:.2e}", r.report.method.name),
            None => r.report.method.name.clone(),
        };
        for (i, problem) in problems.iter().enumerate() {
            let mine = &rows[i * self.methods.len()..(i + 1) * self.methods.len()];
            let series = |f: &dyn Fn(&crate::report::Record) -> (f64, f64)| -> Vec<Series> {
                mine.iter()
                    .map(|r| Series {
                        name: label(r),
                        points: r.report.trajectory.iter().map(f).collect(),
                        dashed: false,
                    })
                    .collect()
            };
            let mut figs: Vec<(&str, Figure)> = Vec::new();
            figs.push((
                "loss-evals",
                Figure {
                    title: format!("{problem}: loss against gradient evaluations"),
                    x_label: "gradient evaluations".into(),
                    y_label: "L(θ)".into(),
                    x_log: true,
                    y_log: true,
                    series: series(&|p| (p.grad_evals as f64, p.loss)),
                    ..Figure::default()
                },
            ));
            // The exact flow's loss against t, from a tight dopri5 run to the latest t.
            let t_max = mine.iter().map(|r| r.report.t).fold(0.0, f64::max);
            let mut loss_t = series(&|p| (p.t, p.loss));
            if t_max > 0.0 {
                let mut flow = self.spec_for(problem, "dopri5:rtol=1e-8,atol=1e-10");
                flow.steps = None;
                flow.gtol = None;
                flow.ftol = None;
                flow.max_evals = Some(2_000_000);
                flow.t_end = Some(t_max);
                flow.record = Some(1);
                flow.record_max = Some(4000);
                flow.no_theta = true;
                flow.dtype = Dtype::F64;
                if let Ok(r) = flow.run() {
                    loss_t.push(Series {
                        name: "gradient flow".into(),
                        points: r.trajectory.iter().map(|p| (p.t, p.loss)).collect(),
                        dashed: true,
                    });
                }
            }
            figs.push((
                "loss-time",
                Figure {
                    title: format!("{problem}: loss against virtual time t"),
                    x_label: "t".into(),
                    y_label: "L(θ)".into(),
                    y_log: true,
                    series: loss_t,
                    ..Figure::default()
                },
            ));
            let mut steps = series(&|p| (p.step as f64, p.h.unwrap_or(f64::NAN)));
            for r in mine {
                if r.report.trajectory.iter().any(|p| p.h_range.is_some()) {
                    for (k, name) in [(0, "min hᵢ"), (1, "max hᵢ")] {
                        steps.push(Series {
                            name: format!("{} {name}", label(r)),
                            points: r
                                .report
                                .trajectory
                                .iter()
                                .map(|p| (p.step as f64, p.h_range.map_or(f64::NAN, |h| h[k])))
                                .collect(),
                            dashed: true,
                        });
                    }
                }
            }
            figs.push((
                "step-size",
                Figure {
                    title: format!("{problem}: step size h (dashed: per-component range)"),
                    x_label: "accepted step".into(),
                    y_label: "h".into(),
                    y_log: true,
                    series: steps,
                    ..Figure::default()
                },
            ));
            if let Some(fig) = self.paths_2d(problem, mine, &label)? {
                figs.push(("paths", fig));
            }
            for (kind, fig) in figs {
                let path = dir.join(format!("{}_{kind}.svg", slug(problem)));
                crate::output::write_atomic(&path, fig.render().as_bytes())?;
                written.push(path);
            }
        }
        Ok(written)
    }

    /// 2-D problems: the paths over shaded loss levels with the flow curve.
    fn paths_2d(
        &self,
        problem: &str,
        rows: &[CompareRun],
        label: &dyn Fn(&CompareRun) -> String,
    ) -> Result<Option<crate::plot::Figure>> {
        use crate::plot::{Figure, Series, Shade};
        let spec = self.spec_for(problem, "euler");
        let objective = spec.resolve()?.objective::<f64>()?;
        if objective.dim() != 2 {
            return Ok(None);
        }
        let x0 = spec
            .x0
            .clone()
            .map_or_else(|| objective.start(), DVector::from_vec);
        let mut series: Vec<Series> = rows
            .iter()
            .map(|r| Series {
                name: label(r),
                points: r
                    .report
                    .trajectory
                    .iter()
                    .filter_map(|p| p.theta.as_ref().map(|t| (t[0], t[1])))
                    .collect(),
                dashed: false,
            })
            .collect();
        if let Ok(curve) = FlowCurve::new(&*objective, &x0) {
            series.push(Series {
                name: "gradient flow".into(),
                points: curve.points().iter().map(|p| (p[0], p[1])).collect(),
                dashed: true,
            });
        }
        let (mut x0r, mut x1r, mut y0r, mut y1r) = (
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::INFINITY,
            f64::NEG_INFINITY,
        );
        for (x, y) in series.iter().flat_map(|s| s.points.iter()) {
            if x.is_finite() && y.is_finite() {
                x0r = x0r.min(*x);
                x1r = x1r.max(*x);
                y0r = y0r.min(*y);
                y1r = y1r.max(*y);
            }
        }
        if !x0r.is_finite() {
            return Ok(None);
        }
        let (px, py) = (0.1 * (x1r - x0r).max(1e-3), 0.1 * (y1r - y0r).max(1e-3));
        let (xr, yr) = ((x0r - px, x1r + px), (y0r - py, y1r + py));
        let n = 40;
        let mut p = DVector::zeros(2);
        let values: Vec<Vec<f64>> = (0..n)
            .map(|j| {
                (0..n)
                    .map(|i| {
                        p[0] = xr.0 + (i as f64 + 0.5) * (xr.1 - xr.0) / n as f64;
                        p[1] = yr.0 + (j as f64 + 0.5) * (yr.1 - yr.0) / n as f64;
                        (objective.value(&p).max(0.0) + 1e-12).ln()
                    })
                    .collect()
            })
            .collect();
        Ok(Some(Figure {
            title: format!("{problem}: paths over log L (darker is higher)"),
            x_label: "θ₁".into(),
            y_label: "θ₂".into(),
            series,
            shade: Some(Shade {
                x: xr,
                y: yr,
                values,
            }),
            bounds: Some((xr, yr)),
            ..Figure::default()
        }))
    }
}
