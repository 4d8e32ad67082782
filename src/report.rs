//! The run report (the JSON of `gradflow run --out`) and the observer that records it.

use gradflow_integrators::scalar::to_f64;
use gradflow_integrators::{Observer, Point, Scalar, Status};
use gradflow_problems::{Objective, Real};
use nalgebra::DVector;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The problem of a report: name, every key with its value, dimension.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProblemEntry {
    /// Registry name.
    pub name: String,
    /// Every key with its value (integral values are written as JSON integers).
    #[serde(serialize_with = "integral_as_integers")]
    pub params: BTreeMap<String, f64>,
    /// Dimension n.
    pub dim: usize,
    /// The formula of an `expr` problem (absent for registered problems).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub formula: Option<String>,
    /// The variables of an `expr` problem in their order in θ (absent otherwise).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variables: Option<Vec<String>>,
}

/// Writes `2.0` as `2` (keys such as `n`), other values as they are.
fn integral_as_integers<S: serde::Serializer>(
    params: &BTreeMap<String, f64>,
    s: S,
) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeMap;
    let mut map = s.serialize_map(Some(params.len()))?;
    for (k, &v) in params {
        if v.fract() == 0.0 && v.abs() < 9.0e15 {
            map.serialize_entry(k, &(v as i64))?;
        } else {
            map.serialize_entry(k, &v)?;
        }
    }
    map.end()
}

/// The method of a report: name and every key with its value (`null`: automatic).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MethodEntry {
    /// Registry name.
    pub name: String,
    /// Every key with its value.
    pub params: BTreeMap<String, Option<crate::spec::Value>>,
}

/// One recorded point of a trajectory.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// Accepted steps so far.
    pub step: u64,
    /// Gradient evaluations so far.
    #[serde(default)]
    pub grad_evals: u64,
    /// Virtual time t.
    pub t: f64,
    /// L(θ).
    pub loss: f64,
    /// ‖∇L(θ)‖₂.
    pub grad_norm: f64,
    /// The step size h of the step that led here (`null` at step 0); for a per-component
    /// step, the gradient-weighted mean Σhᵢgᵢ²/Σgᵢ².
    pub h: Option<f64>,
    /// [min, max] of the per-component steps hᵢ (per-component methods only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub h_range: Option<[f64; 2]>,
    /// θ (`null` with `--no-theta`).
    pub theta: Option<Vec<f64>>,
}

/// What a run did: the contract's report (`gradflow run --out`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// The problem.
    pub problem: ProblemEntry,
    /// The method.
    pub method: MethodEntry,
    /// Precision of the run: `f64` or `f32`.
    pub dtype: String,
    /// Why the run ended.
    pub status: Status,
    /// Accepted steps.
    pub steps: u64,
    /// Accepted steps.
    pub accepted: u64,
    /// Rejected step attempts.
    pub rejected: u64,
    /// Gradient evaluations spent by the integration.
    pub grad_evals: u64,
    /// Hessian (or Hessian-vector) evaluations.
    pub hess_evals: u64,
    /// Virtual time reached.
    pub t: f64,
    /// Final L(θ).
    pub loss: f64,
    /// Final ‖∇L(θ)‖₂.
    pub grad_norm: f64,
    /// Final θ (`null` with `--no-theta`).
    pub theta: Option<Vec<f64>>,
    /// Smallest accepted step size.
    pub h_min: Option<f64>,
    /// Largest accepted step size.
    pub h_max: Option<f64>,
    /// Seconds spent in the integration loop alone.
    pub wall_seconds: f64,
    /// Where an explicit adaptive method's steps were held at its stability limit (absent
    /// when they were not, and for every other method): see [`crate::stiffness`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stiffness: Option<crate::stiffness::Stiffness>,
    /// Step 0, every K-th accepted step (with `--record K`) and the last.
    pub trajectory: Vec<Record>,
}

pub(crate) fn to_vec<T: Scalar>(v: &DVector<T>) -> Vec<f64> {
    v.iter().map(|&x| to_f64(x)).collect()
}

/// Records step 0, every `every`-th accepted step and the last, with L and ‖∇L‖.
///
/// L and ∇L at recorded points are evaluated on the objective directly and do not count
/// as the integration's gradient evaluations.
pub struct Recorder<'a, T: Scalar, O: ?Sized> {
    objective: &'a O,
    every: Option<u64>,
    theta: bool,
    g: DVector<T>,
    /// Thin to at most this many points by doubling the interval.
    max_points: Option<usize>,
    /// The recorded points.
    pub records: Vec<Record>,
}

impl<'a, T: Scalar + Real, O: Objective<T> + ?Sized> Recorder<'a, T, O> {
    /// A recorder for `objective`; `every = None` keeps the first and last point only.
    pub fn new(objective: &'a O, every: Option<u64>, theta: bool) -> Self {
        Recorder {
            objective,
            every,
            theta,
            g: DVector::zeros(objective.dim()),
            max_points: None,
            records: Vec::new(),
        }
    }

    /// Keeps at most about `max` points: when the trajectory grows past it, every other
    /// point is dropped and the interval doubles (step 0 and the last point stay).
    pub fn thinned(mut self, max: Option<usize>) -> Self {
        self.max_points = max.map(|m| m.max(2));
        self
    }

    fn record(&mut self, p: &Point<'_, T>) {
        let loss = self.objective.value_and_gradient(p.y, &mut self.g);
        self.records.push(Record {
            step: p.step,
            grad_evals: p.evals,
            t: to_f64(p.t),
            loss: to_f64(loss),
            grad_norm: to_f64(self.g.norm()),
            h: p.h.map(to_f64),
            h_range: p.h_range().map(|(a, b)| [to_f64(a), to_f64(b)]),
            theta: self.theta.then(|| to_vec(p.y)),
        });
    }
}

impl<T: Scalar + Real, O: Objective<T> + ?Sized> Observer<T> for Recorder<'_, T, O> {
    fn observe(&mut self, p: &Point<'_, T>) {
        let due = match self.every {
            _ if p.step == 0 => self.records.is_empty(),
            Some(k) => p.step.is_multiple_of(k),
            None => false,
        };
        if due {
            self.record(p);
            if let (Some(max), Some(k)) = (self.max_points, self.every) {
                if self.records.len() > max {
                    let k2 = 2 * k;
                    self.records.retain(|r| r.step % k2 == 0);
                    self.every = Some(k2);
                }
            }
        }
    }

    /// Without a recording interval, nothing is recorded after step 0 until the end.
    fn is_inert(&self) -> bool {
        self.every.is_none() && !self.records.is_empty()
    }

    fn finish(&mut self, p: &Point<'_, T>, _status: Status) {
        // A diverged run rolls back to the last finite state: drop what lies past it.
        while self.records.last().is_some_and(|r| r.step > p.step) {
            self.records.pop();
        }
        if self.records.last().map(|r| r.step) != Some(p.step) {
            self.record(p);
        }
    }
}
