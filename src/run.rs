//! Run specs (the fields of `gradflow run`, from flags or `--spec FILE.json`) and running
//! them.

use crate::error::{Error, Result};
use crate::flow::GradientFlow;
use crate::methods::Method;
use crate::report::{to_vec, MethodEntry, ProblemEntry, Recorder, Report};
use crate::spec::{ProblemSpec, Spec, Value};
use crate::steppers::AnyStepper;
use crate::stiffness::StiffnessMonitor;
use gradflow_integrators::scalar::to_f64;
use gradflow_integrators::{Integrator, Observer, Point, Scalar, Status, Stop};
use gradflow_problems::{Expr, Objective, Real};
use nalgebra::DVector;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::time::Instant;

/// A problem or method given as a spec string or as `{"name": ..., "params": {...}}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum SpecField {
    /// `NAME[:key=value,...]`.
    Text(String),
    /// Name and keys.
    Object {
        /// Name.
        name: String,
        /// Keys.
        #[serde(default)]
        params: BTreeMap<String, Value>,
    },
}

impl SpecField {
    /// The field read as a problem: a registered problem or an `expr:` formula (which
    /// is written only as text, `"expr:FORMULA"`).
    pub fn problem_spec(&self) -> Result<ProblemSpec> {
        match self {
            SpecField::Text(s) => ProblemSpec::parse(s),
            SpecField::Object { name, .. } if name.trim() == crate::spec::EXPR => {
                Err(Error::usage(
                    "an expr problem is written as one string, \"expr:FORMULA\", not as {\"name\": \"expr\", ...}",
                ))
            }
            SpecField::Object { .. } => self.spec().map(ProblemSpec::Registry),
        }
    }

    /// The parsed spec.
    pub fn spec(&self) -> Result<Spec> {
        match self {
            SpecField::Text(s) => Spec::parse(s),
            SpecField::Object { name, params } => Ok(Spec {
                name: name.clone(),
                params: params.iter().map(|(k, v)| (k.clone(), *v)).collect(),
            }),
        }
    }
}

impl From<&str> for SpecField {
    fn from(s: &str) -> Self {
        SpecField::Text(s.to_string())
    }
}

/// Floating-point precision of a run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Dtype {
    /// 64-bit.
    #[default]
    F64,
    /// 32-bit.
    F32,
}

/// Everything a run needs: the fields of `gradflow run` (and of its `--spec` JSON).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunSpec {
    /// The problem spec, e.g. `rosenbrock:n=2`.
    pub problem: SpecField,
    /// The method spec, e.g. `dopri5:rtol=1e-8`.
    pub method: SpecField,
    /// Start point (default: the problem's).
    #[serde(default)]
    pub x0: Option<Vec<f64>>,
    /// Stop after this many accepted steps.
    #[serde(default)]
    pub steps: Option<u64>,
    /// Stop at this virtual time.
    #[serde(default, alias = "t-end")]
    pub t_end: Option<f64>,
    /// Stop when ‖∇L‖₂ ≤ gtol.
    #[serde(default)]
    pub gtol: Option<f64>,
    /// Stop when L ≤ ftol.
    #[serde(default)]
    pub ftol: Option<f64>,
    /// Stop after this many gradient evaluations.
    #[serde(default, alias = "max-evals")]
    pub max_evals: Option<u64>,
    /// Record every K-th accepted step.
    #[serde(default)]
    pub record: Option<u64>,
    /// Leave θ out of the report.
    #[serde(default, alias = "no-theta")]
    pub no_theta: bool,
    /// Precision.
    #[serde(default)]
    pub dtype: Dtype,
    /// Write the report JSON here (CLI).
    #[serde(default)]
    pub out: Option<String>,
    /// Write the trajectory CSV here (CLI).
    #[serde(default)]
    pub csv: Option<String>,
    /// Thin the recorded trajectory to at most this many points (doubling the interval).
    #[serde(default, skip_serializing_if = "Option::is_none", alias = "record-max")]
    pub record_max: Option<usize>,
    /// Save the complete integration state here, atomically.
    #[serde(default)]
    pub checkpoint: Option<String>,
    /// Save every K accepted steps (and at the end); default 1000.
    #[serde(default, alias = "checkpoint-every")]
    pub checkpoint_every: Option<u64>,
}

impl RunSpec {
    /// A run of `method` on `problem` with no stop yet.
    ///
    /// ```
    /// use gradflow::RunSpec;
    /// let report = RunSpec::new("rosenbrock", "dopri5:rtol=1e-8")
    ///     .t_end(1000.0)
    ///     .run()
    ///     .unwrap();
    /// assert_eq!(report.status.as_str(), "t_end");
    /// assert!(report.loss < 1e-12);
    /// ```
    pub fn new(problem: &str, method: &str) -> Self {
        RunSpec {
            problem: problem.into(),
            method: method.into(),
            x0: None,
            steps: None,
            t_end: None,
            gtol: None,
            ftol: None,
            max_evals: None,
            record: None,
            no_theta: false,
            dtype: Dtype::F64,
            out: None,
            csv: None,
            record_max: None,
            checkpoint: None,
            checkpoint_every: None,
        }
    }

    /// Stop after `n` accepted steps.
    pub fn steps(mut self, n: u64) -> Self {
        self.steps = Some(n);
        self
    }

    /// Stop at virtual time `t`.
    pub fn t_end(mut self, t: f64) -> Self {
        self.t_end = Some(t);
        self
    }

    /// Stop when ‖∇L‖₂ ≤ `g`.
    pub fn gtol(mut self, g: f64) -> Self {
        self.gtol = Some(g);
        self
    }

    /// Stop when L ≤ `f`.
    pub fn ftol(mut self, f: f64) -> Self {
        self.ftol = Some(f);
        self
    }

    /// Stop after `e` gradient evaluations.
    pub fn max_evals(mut self, e: u64) -> Self {
        self.max_evals = Some(e);
        self
    }

    /// Start from `x0`.
    pub fn x0(mut self, x0: Vec<f64>) -> Self {
        self.x0 = Some(x0);
        self
    }

    /// Record every `k`-th accepted step.
    pub fn record(mut self, k: u64) -> Self {
        self.record = Some(k);
        self
    }

    /// Run in precision `dtype`.
    pub fn dtype(mut self, dtype: Dtype) -> Self {
        self.dtype = dtype;
        self
    }

    /// Checks the spec: problem, method, keys, start and stops. An `expr:` problem is
    /// parsed and differentiated here, and needs `x0` with one value per variable.
    pub fn resolve(&self) -> Result<Resolved> {
        let pspec = match self.problem.problem_spec()? {
            ProblemSpec::Registry(spec) => spec,
            ProblemSpec::Expr(formula) => return self.resolve_expr(&formula),
        };
        let mut pparams = Vec::new();
        for (k, v) in &pspec.params {
            match v {
                Value::Number(x) => pparams.push((k.as_str(), *x)),
                Value::Bool(b) => {
                    return Err(Error::usage(format!(
                        "problem '{}': {k}={b} is invalid; expected a number",
                        pspec.name
                    )))
                }
            }
        }
        let problem_params = gradflow_problems::registry::resolve(&pspec.name, &pparams)?;
        let method = Method::from_spec(&self.method.spec()?)?;
        self.check_run()?;
        Ok(Resolved {
            problem_name: gradflow_problems::registry::info(&pspec.name)?
                .name
                .to_string(),
            problem_params,
            expr: None,
            method,
        })
    }

    /// [`RunSpec::resolve`] for the formula of an `expr:` problem.
    fn resolve_expr(&self, formula: &str) -> Result<Resolved> {
        let expr = Expr::parse(formula).map_err(gradflow_problems::ProblemError::from)?;
        let method = Method::from_spec(&self.method.spec()?)?;
        self.check_run()?;
        let vars = expr.variables();
        let order = format!(
            "{} variable{} {}",
            vars.len(),
            if vars.len() == 1 { "" } else { "s" },
            vars.join(", ")
        );
        match &self.x0 {
            None => {
                return Err(Error::usage(format!(
                    "problem 'expr:{formula}' has no default start: give --x0 (\"x0\" in a spec file) with one value for each of its {order}, in this order"
                )))
            }
            Some(x0) if x0.len() != vars.len() => {
                return Err(Error::usage(format!(
                    "x0 has {} values; problem 'expr:{formula}' has {order} (in this order)",
                    x0.len()
                )))
            }
            Some(_) => {}
        }
        Ok(Resolved {
            problem_name: crate::spec::EXPR.to_string(),
            problem_params: Vec::new(),
            expr: Some(expr),
            method,
        })
    }

    /// Checks the stops, the recording and the start (every problem alike).
    fn check_run(&self) -> Result<()> {
        let nonneg = |name: &str, v: Option<f64>| -> Result<()> {
            match v {
                Some(x) if !(x.is_finite() && x >= 0.0) => Err(Error::usage(format!(
                    "{name} = {x} is invalid; expected a finite number ≥ 0"
                ))),
                _ => Ok(()),
            }
        };
        nonneg("t_end", self.t_end)?;
        nonneg("gtol", self.gtol)?;
        if let Some(f) = self.ftol {
            if !f.is_finite() {
                return Err(Error::usage(format!("ftol = {f} is not finite")));
            }
        }
        if self.record == Some(0) {
            return Err(Error::usage(
                "record = 0 is invalid; expected an integer ≥ 1",
            ));
        }
        if self.stop::<f64>().is_empty() {
            return Err(Error::usage(
                "no stop given; use at least one of steps, t_end, gtol, ftol, max_evals",
            ));
        }
        if let Some(x0) = &self.x0 {
            if let Some(i) = x0.iter().position(|x| !x.is_finite()) {
                return Err(Error::usage(format!("x0[{i}] = {} is not finite", x0[i])));
            }
        }
        Ok(())
    }

    /// The stop conditions in precision `T`.
    pub fn stop<T: Scalar>(&self) -> Stop<T> {
        let c = |x: f64| nalgebra::convert::<f64, T>(x);
        Stop {
            max_steps: self.steps,
            t_end: self.t_end.map(c),
            gtol: self.gtol.map(c),
            ftol: self.ftol.map(c),
            max_evals: self.max_evals,
        }
    }

    /// Save checkpoints to `path` every `every` accepted steps (and at the end).
    pub fn checkpoint(mut self, path: &str, every: u64) -> Self {
        self.checkpoint = Some(path.to_string());
        self.checkpoint_every = Some(every);
        self
    }

    /// Checks and runs the spec in its precision.
    pub fn run(&self) -> Result<Report> {
        let resolved = self.resolve()?;
        match self.dtype {
            Dtype::F64 => resolved.run::<f64>(self),
            Dtype::F32 => resolved.run::<f32>(self),
        }
    }
}

/// A checked run spec: the problem's keys and the method resolved.
#[derive(Clone, Debug)]
pub struct Resolved {
    /// Problem name: a registry name, or `expr` for a formula.
    pub problem_name: String,
    /// Every problem key with its value (none for `expr`).
    pub problem_params: Vec<(&'static str, f64)>,
    /// The parsed formula of an `expr` problem (cheap to clone).
    pub expr: Option<Expr>,
    /// The method.
    pub method: Method,
}

impl Resolved {
    /// Builds the problem in precision `T`.
    pub fn objective<T: Real>(&self) -> Result<Box<dyn Objective<T> + Send + Sync>> {
        if let Some(expr) = &self.expr {
            return Ok(Box::new(expr.clone()));
        }
        Ok(gradflow_problems::build::<T>(
            &self.problem_name,
            &self.problem_params,
        )?)
    }

    /// Runs in precision `T`.
    pub fn run<T: Scalar + Real>(&self, spec: &RunSpec) -> Result<Report> {
        self.run_observed::<T>(spec, &mut ())
    }

    /// Runs in precision `T`, showing every accepted step to `extra` as well.
    pub fn run_observed<T: Scalar + Real>(
        &self,
        spec: &RunSpec,
        extra: &mut dyn Observer<T>,
    ) -> Result<Report> {
        self.execute::<T>(spec, extra, None)
    }

    /// Runs from the start, or continues the checkpointed `resume` state, writing
    /// checkpoints when the spec asks for them.
    pub(crate) fn execute<T: Scalar + Real>(
        &self,
        spec: &RunSpec,
        extra: &mut dyn Observer<T>,
        resume: Option<crate::checkpoint::RunState<T>>,
    ) -> Result<Report> {
        let objective = self.objective::<T>()?;
        let n = objective.dim();
        let x0: DVector<T> = match &spec.x0 {
            Some(x) if x.len() != n => {
                return Err(Error::usage(format!(
                    "x0 has {} values; problem '{}' has dimension {n}",
                    x.len(),
                    self.problem_name
                )))
            }
            Some(x) => DVector::from_iterator(n, x.iter().map(|&v| nalgebra::convert(v))),
            None => objective.start(),
        };
        let stop = spec.stop::<T>();
        let mut flow = GradientFlow::new(&*objective);
        let mut recorder =
            Recorder::new(&*objective, spec.record, !spec.no_theta).thinned(spec.record_max);
        let bound = crate::stiffness::stability_bound(self.method.name());
        let mut monitor = bound.map(|b| StiffnessMonitor::new(&*objective, b));
        let mut none = ();
        // The monitor and the caller's observer, borrowed anew for each stretch of the
        // run, so that the monitor's state can be checkpointed between them.
        macro_rules! watchers {
            () => {
                Both(
                    match monitor.as_mut() {
                        Some(m) => m as &mut dyn Observer<T>,
                        None => &mut none,
                    },
                    &mut *extra,
                )
            };
        }
        let (mut run, mut wall_seconds) = match resume {
            Some(state) => {
                if state.integrator.y().len() != n {
                    return Err(Error::usage(format!(
                        "the checkpoint's state has dimension {}, problem '{}' has {n}",
                        state.integrator.y().len(),
                        self.problem_name
                    )));
                }
                recorder.records = state.records;
                if let (Some(m), Some(saved)) = (monitor.as_mut(), state.monitor) {
                    if !m.restore(saved) {
                        return Err(Error::usage(
                            "the checkpoint's stiffness monitor does not fit the problem"
                                .to_string(),
                        ));
                    }
                }
                (
                    state.integrator.map_stepper(AnyStepper::from),
                    state.wall_seconds,
                )
            }
            None => (
                Integrator::new(self.method.any_stepper::<T>(n), T::zero(), x0),
                0.0,
            ),
        };
        let status = match &spec.checkpoint {
            None => {
                let clock = Instant::now();
                let status =
                    run.integrate(&mut flow, &stop, &mut Both(&mut recorder, &mut watchers!()));
                wall_seconds += clock.elapsed().as_secs_f64();
                status
            }
            Some(path) => {
                if run.stepper().saved().is_none() {
                    return Err(Error::usage(format!(
                        "method '{}' does not support checkpoints yet",
                        self.method.name()
                    )));
                }
                let every = spec.checkpoint_every.unwrap_or(1000).max(1);
                let path = std::path::Path::new(path);
                loop {
                    // Run to the next multiple of `every` accepted steps, then save.
                    let next = (run.stats().accepted / every + 1) * every;
                    let chunk = Stop {
                        max_steps: Some(stop.max_steps.map_or(next, |m| m.min(next))),
                        ..stop
                    };
                    let clock = Instant::now();
                    let status = run.integrate(
                        &mut flow,
                        &chunk,
                        &mut Unfinished(&mut recorder, &mut watchers!()),
                    );
                    wall_seconds += clock.elapsed().as_secs_f64();
                    crate::checkpoint::save(
                        path,
                        spec,
                        &run,
                        &recorder.records,
                        wall_seconds,
                        monitor.as_ref().map(|m| m.state()),
                    )?;
                    let chunk_end = status == Status::MaxSteps
                        && stop.max_steps.is_none_or(|m| run.stats().accepted < m);
                    if !chunk_end {
                        let p = run.point();
                        recorder.finish(&p, status);
                        watchers!().finish(&p, status);
                        break status;
                    }
                }
            }
        };
        let mut g = DVector::zeros(n);
        let loss = objective.value_and_gradient(run.y(), &mut g);
        let stats = run.stats();
        Ok(Report {
            problem: ProblemEntry {
                name: self.problem_name.to_string(),
                params: self
                    .problem_params
                    .iter()
                    .map(|&(k, v)| (k.to_string(), v))
                    .collect(),
                dim: n,
                formula: self.expr.as_ref().map(|e| e.formula().to_string()),
                variables: self.expr.as_ref().map(|e| e.variables().to_vec()),
            },
            method: MethodEntry {
                name: self.method.name().to_string(),
                params: self
                    .method
                    .params
                    .iter()
                    .map(|&(k, v)| (k.to_string(), v))
                    .collect(),
            },
            dtype: match spec.dtype {
                Dtype::F64 => "f64".into(),
                Dtype::F32 => "f32".into(),
            },
            status,
            steps: stats.accepted,
            accepted: stats.accepted,
            rejected: stats.rejected,
            grad_evals: stats.evals,
            hess_evals: stats.jac_evals,
            t: to_f64(run.t()),
            loss: to_f64(loss),
            grad_norm: to_f64(g.norm()),
            theta: (!spec.no_theta).then(|| to_vec(run.y())),
            h_min: stats.h_min.map(to_f64),
            h_max: stats.h_max.map(to_f64),
            wall_seconds,
            stiffness: monitor.as_ref().and_then(|m| m.result()),
            trajectory: recorder.records,
        })
    }
}

/// Two observers in one that do not see the end of a chunk of a checkpointed run.
struct Unfinished<'a, 'b, T: Scalar>(&'a mut dyn Observer<T>, &'b mut dyn Observer<T>);

impl<T: Scalar> Observer<T> for Unfinished<'_, '_, T> {
    fn observe(&mut self, p: &Point<'_, T>) {
        self.0.observe(p);
        self.1.observe(p);
    }
    fn is_inert(&self) -> bool {
        self.0.is_inert() && self.1.is_inert()
    }
}

/// Two observers in one.
struct Both<'a, 'b, T: Scalar>(&'a mut dyn Observer<T>, &'b mut dyn Observer<T>);

impl<T: Scalar> Observer<T> for Both<'_, '_, T> {
    fn observe(&mut self, p: &Point<'_, T>) {
        self.0.observe(p);
        self.1.observe(p);
    }
    fn finish(&mut self, p: &Point<'_, T>, status: Status) {
        self.0.finish(p, status);
        self.1.finish(p, status);
    }
    fn is_inert(&self) -> bool {
        self.0.is_inert() && self.1.is_inert()
    }
}
