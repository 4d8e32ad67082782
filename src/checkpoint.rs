//! Checkpoints: the complete state of a run, written atomically, and resuming from it.
//!
//! A checkpoint holds the run spec, the integrator (stepper state — stages, FSAL value,
//! accumulators, momentum buffers, controller history, step size —, t, y, statistics) and
//! the trajectory recorded so far. A resumed run continues exactly where the saved one
//! stopped: its report equals the uninterrupted run's (θ bit for bit, t, counts).

use crate::error::{Error, Result};
use crate::report::{Record, Report};
use crate::run::{Dtype, RunSpec};
use crate::steppers::{AnyStepper, SavedStepper};
use crate::stiffness::MonitorState;
use gradflow_integrators::{Integrator, Scalar};
use gradflow_problems::Real;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// The format tag at the top of every checkpoint file.
pub const FORMAT: &str = "gradflow-checkpoint-1";

/// The state of a run in progress.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(bound = "T: Scalar")]
pub struct RunState<T: Scalar> {
    /// The integrator with its stepper's state.
    pub integrator: Integrator<T, SavedStepper<T>>,
    /// The trajectory recorded so far.
    pub records: Vec<Record>,
    /// Seconds spent integrating so far.
    pub wall_seconds: f64,
    /// The stiffness monitor's state, for the explicit adaptive methods (absent in a
    /// checkpoint written before it was kept: the monitor then starts afresh).
    #[serde(default = "Option::default")]
    pub monitor: Option<MonitorState<T>>,
}

#[derive(Serialize)]
struct FileOut<'a, T: Scalar> {
    format: &'a str,
    spec: &'a RunSpec,
    state: RunState<T>,
}

#[derive(Deserialize)]
struct FileIn {
    format: String,
    spec: RunSpec,
    state: serde_json::Value,
}

/// Writes the checkpoint of `run` to `path` (temporary file, fsync, rename).
pub fn save<T: Scalar>(
    path: &Path,
    spec: &RunSpec,
    run: &Integrator<T, AnyStepper<T>>,
    records: &[Record],
    wall_seconds: f64,
    monitor: Option<MonitorState<T>>,
) -> Result<()> {
    let saved = run.stepper().saved().ok_or_else(|| {
        Error::usage("this method's state cannot be checkpointed yet".to_string())
    })?;
    let integrator = run.clone().map_stepper(|_| saved);
    let file = FileOut {
        format: FORMAT,
        spec,
        state: RunState {
            integrator,
            records: records.to_vec(),
            wall_seconds,
            monitor,
        },
    };
    let json = serde_json::to_vec(&file)
        .map_err(|e| Error::Io(format!("cannot encode the checkpoint: {e}")))?;
    crate::output::write_atomic(path, &json)
}

/// Reads a checkpoint: its spec, to which `adjust` may apply new stops or outputs, then
/// continues the run and returns its report.
pub fn resume(path: &Path, adjust: impl FnOnce(&mut RunSpec)) -> Result<(RunSpec, Report)> {
    let where_ = path.display();
    let text = std::fs::read_to_string(path)
        .map_err(|e| Error::usage(format!("checkpoint {where_}: cannot read: {e}")))?;
    let file: FileIn = serde_json::from_str(&text)
        .map_err(|e| Error::usage(format!("checkpoint {where_}: not a valid checkpoint: {e}")))?;
    if file.format != FORMAT {
        return Err(Error::usage(format!(
            "checkpoint {where_}: format '{}', expected '{FORMAT}'",
            file.format
        )));
    }
    let mut spec = file.spec;
    adjust(&mut spec);
    let report = match spec.dtype {
        Dtype::F64 => continue_run::<f64>(&spec, file.state, path)?,
        Dtype::F32 => continue_run::<f32>(&spec, file.state, path)?,
    };
    Ok((spec, report))
}

fn continue_run<T: Scalar + Real>(
    spec: &RunSpec,
    state: serde_json::Value,
    path: &Path,
) -> Result<Report> {
    let where_ = path.display();
    let state: RunState<T> = serde_json::from_value(state)
        .map_err(|e| Error::usage(format!("checkpoint {where_}: bad state: {e}")))?;
    let resolved = spec.resolve()?;
    let dim = resolved.objective::<T>()?.dim();
    let fresh = resolved.method.any_stepper::<T>(dim).saved();
    let fits = fresh.is_some_and(|f| state.integrator.stepper().matches(&f, dim))
        && state.integrator.y().len() == dim
        && state.integrator.y().iter().all(|x| x.is_finite());
    if !fits {
        return Err(Error::usage(format!(
            "checkpoint {where_}: its state does not belong to method '{}' on problem '{}' (n = {dim})",
            resolved.method.name(),
            resolved.problem_name
        )));
    }
    resolved.execute::<T>(spec, &mut (), Some(state))
}
