//! The driver: runs a stepper until a stop condition holds.

use crate::field::Counted;
use crate::scalar::{all_finite, norm_squared, sized};
use crate::stepper::{Accepted, StepResult, Stepper};
use crate::{Scalar, VectorField};
use nalgebra::DVector;
use serde::{Deserialize, Serialize};

/// When a run ends. The first condition that holds ends it; a run needs at least one.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Stop<T> {
    /// Accepted steps.
    pub max_steps: Option<u64>,
    /// Time of the ODE; a stepper that can shorten its step lands on it exactly.
    pub t_end: Option<T>,
    /// ‖f(t, y)‖₂ ≤ gtol (for a gradient flow, ‖∇L‖₂).
    pub gtol: Option<T>,
    /// Potential V(y) ≤ ftol (for a gradient flow, the loss).
    pub ftol: Option<T>,
    /// Evaluations of the field.
    pub max_evals: Option<u64>,
}

impl<T: Scalar> Stop<T> {
    /// Stop after `n` accepted steps.
    pub fn steps(n: u64) -> Self {
        Stop {
            max_steps: Some(n),
            ..Stop::none()
        }
    }

    /// Stop at time `t_end`.
    pub fn t_end(t_end: T) -> Self {
        Stop {
            t_end: Some(t_end),
            ..Stop::none()
        }
    }

    /// No condition at all (add one before running).
    pub fn none() -> Self {
        Stop {
            max_steps: None,
            t_end: None,
            gtol: None,
            ftol: None,
            max_evals: None,
        }
    }

    /// The budget stops (`max_steps`, `t_end`, `max_evals`, in that order) that hold after
    /// `accepted` steps and `evals` evaluations at time `t`.
    #[inline(always)]
    fn spent(&self, accepted: u64, evals: u64, t: T) -> Option<Status> {
        if self.max_steps.is_some_and(|n| accepted >= n) {
            Some(Status::MaxSteps)
        } else if self.t_end.is_some_and(|te| t >= te) {
            Some(Status::TEnd)
        } else if self.max_evals.is_some_and(|e| evals >= e) {
            Some(Status::MaxEvals)
        } else {
            None
        }
    }

    /// True when only budget stops are set (no `ftol`, no `gtol`): a run can then go on
    /// without evaluating anything but its steps.
    pub fn is_budget_only(&self) -> bool {
        self.ftol.is_none() && self.gtol.is_none()
    }

    /// True when no condition is set: such a run would never end by itself.
    pub fn is_empty(&self) -> bool {
        self.max_steps.is_none()
            && self.t_end.is_none()
            && self.gtol.is_none()
            && self.ftol.is_none()
            && self.max_evals.is_none()
    }
}

/// Why a run ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// `max_steps` accepted steps were taken.
    MaxSteps,
    /// The time reached `t_end`.
    TEnd,
    /// ‖f‖ ≤ gtol.
    Gtol,
    /// V ≤ ftol.
    Ftol,
    /// The evaluation budget was spent.
    MaxEvals,
    /// A non-finite value appeared; the state is the last one whose y and ‖f(t, y)‖² are
    /// both finite.
    Diverged,
    /// Error control asked for a step below the floor.
    StepTooSmall,
    /// The stop had no condition, so nothing ran.
    NoStop,
}

impl Status {
    /// The name used in reports (`max_steps`, `t_end`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Status::MaxSteps => "max_steps",
            Status::TEnd => "t_end",
            Status::Gtol => "gtol",
            Status::Ftol => "ftol",
            Status::MaxEvals => "max_evals",
            Status::Diverged => "diverged",
            Status::StepTooSmall => "step_too_small",
            Status::NoStop => "no_stop",
        }
    }

    /// True for a run that ended by one of its stops (not a numerical failure).
    pub fn is_success(self) -> bool {
        !matches!(
            self,
            Status::Diverged | Status::StepTooSmall | Status::NoStop
        )
    }
}

/// Counts and step sizes of a run.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Stats<T> {
    /// Accepted steps.
    pub accepted: u64,
    /// Rejected step attempts.
    pub rejected: u64,
    /// Evaluations of the field (gradients, for a gradient flow).
    pub evals: u64,
    /// Jacobian (and Jacobian-vector) evaluations of the field (Hessians, for a gradient
    /// flow); 0 for explicit methods.
    #[serde(default)]
    pub jac_evals: u64,
    /// Smallest accepted step size.
    pub h_min: Option<T>,
    /// Largest accepted step size.
    pub h_max: Option<T>,
    /// Step size of the last accepted step.
    pub h_last: Option<T>,
}

impl<T> Default for Stats<T> {
    fn default() -> Self {
        Stats {
            accepted: 0,
            rejected: 0,
            evals: 0,
            jac_evals: 0,
            h_min: None,
            h_max: None,
            h_last: None,
        }
    }
}

impl<T> Stats<T> {
    /// Moves the counts of `field` into the statistics.
    fn absorb<S: Scalar>(&mut self, field: &mut Counted<'_, S>) {
        self.evals += std::mem::take(&mut field.evals);
        self.jac_evals += std::mem::take(&mut field.jac_evals);
    }
}

/// The state an [`Observer`] sees after an accepted step (and at step 0).
#[derive(Clone, Copy)]
pub struct Point<'a, T: Scalar> {
    /// Accepted steps so far.
    pub step: u64,
    /// Field evaluations so far.
    pub evals: u64,
    /// Time.
    pub t: T,
    /// State.
    pub y: &'a DVector<T>,
    /// Size of the step that led here (`None` at step 0); for a diagonal step, the
    /// gradient-weighted mean of its components.
    pub h: Option<T>,
    /// The stepper, for [`Point::h_range`], worked out only when asked for.
    pub stepper: Option<&'a dyn Stepper<T>>,
}

impl<T: Scalar> Point<'_, T> {
    /// (min, max) of the per-component steps of a diagonal step (a sweep over the
    /// stepper's state: call it when recording, not on every step).
    pub fn h_range(&self) -> Option<(T, T)> {
        self.stepper.and_then(|s| s.step_range())
    }
}

impl<T: Scalar> std::fmt::Debug for Point<'_, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Point")
            .field("step", &self.step)
            .field("evals", &self.evals)
            .field("t", &self.t)
            .field("y", &self.y)
            .field("h", &self.h)
            .field("h_range", &self.h_range())
            .finish()
    }
}

/// Watches a run: called at the start, after every accepted step and at the end.
pub trait Observer<T: Scalar> {
    /// After every accepted step, and once with step 0 before the first.
    fn observe(&mut self, point: &Point<'_, T>);
    /// Once when the run ends, with the final state.
    fn finish(&mut self, _point: &Point<'_, T>, _status: Status) {}
    /// True for an observer whose [`Observer::observe`] does nothing: the driver may then
    /// take steps in batches ([`Stepper::advance`]) without calling it. `finish` is still
    /// called.
    fn is_inert(&self) -> bool {
        false
    }
}

impl<T: Scalar> Observer<T> for () {
    fn observe(&mut self, _point: &Point<'_, T>) {}
    fn is_inert(&self) -> bool {
        true
    }
}

/// (t, h_last) and (h_min, h_max) before the last accepted step, for rolling back.
type Before<T> = (Option<(T, Option<T>)>, Option<(Option<T>, Option<T>)>);

/// The bookkeeping of an accepted step in the driver's loop (after the state vectors are
/// swapped: the old state stays in `y_new`, for rolling back): t advances by dt (or lands
/// on t_end), the counts and step sizes are updated. [`Leg::run`] does the same on plain
/// numbers; `tests/batch.rs` checks that the two agree bit for bit.
#[inline(always)]
fn record<T: Scalar>(
    t: &mut T,
    stats: &mut Stats<T>,
    before: &mut Before<T>,
    a: &Accepted<T>,
    t_end: Option<T>,
) {
    stats.rejected += u64::from(a.rejected);
    *before = (Some((*t, stats.h_last)), Some((stats.h_min, stats.h_max)));
    *t = match (a.landed, t_end) {
        (true, Some(t_end)) => t_end,
        _ => *t + a.dt,
    };
    stats.accepted += 1;
    // h is finite (dt = c·h is): plain comparisons, not NaN-aware min/max.
    stats.h_min = Some(stats.h_min.map_or(a.h, |m| if a.h < m { a.h } else { m }));
    stats.h_max = Some(stats.h_max.map_or(a.h, |m| if a.h > m { a.h } else { m }));
    stats.h_last = Some(a.h);
}

/// Why a [`Leg`] ended before its budget.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Halt {
    /// f(t, y) is not finite at the current state: the run returns to the one before.
    Field,
    /// The step (θ₊ or dt) is not finite: the run stays at the current state.
    Step,
    /// Error control gave up.
    TooSmall,
}

/// Evaluations one step of a [`Leg::run`] loop made.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Evals {
    /// Of the field.
    pub field: u64,
    /// Of its Jacobian, or of Jacobian-vector products.
    pub jacobian: u64,
}

/// What one step of a [`Leg::run`] loop did.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Next<T> {
    /// θ₊ is in the second state vector.
    Stepped(Accepted<T>, Evals),
    /// f(t, y) is not finite at the current state, and nothing was stepped: the run
    /// returns to the state before and ends as diverged.
    FieldNotFinite(Evals),
    /// Error control asked for a step below its floor: the run ends there
    /// (`StepTooSmall`).
    TooSmall(Evals),
}

/// A stretch of a run that nothing observes and only a budget stops: what a stepper's
/// [`Stepper::advance`] runs, with [`Leg::run`], in one loop.
///
/// Its bookkeeping is the driver's, so a run gives the same bits whether its steps came
/// one by one or in a leg.
pub struct Leg<'a, T: Scalar> {
    stop: &'a Stop<T>,
    t: T,
    y: &'a mut DVector<T>,
    y_new: &'a mut DVector<T>,
    stats: Stats<T>,
    before: Before<T>,
    halt: Option<Halt>,
}

impl<T: Scalar> Leg<'_, T> {
    /// Calls `step(t, y, y_new, t_end)` until a budget stop holds or a step fails,
    /// accepting each step as the driver accepts a [`Stepper::step`]: θ₊ and dt must be
    /// finite (else the run ends as diverged at y), then the state moves to θ₊.
    ///
    /// `step` writes θ₊ from (t, y) into `y_new`, not passing `t_end` if it can shorten its
    /// step. The time and the counts live in registers for the whole loop, and are
    /// written back when it ends (so a panic inside `step` leaves the run's counts behind
    /// its state).
    #[inline(always)]
    pub fn run(&mut self, step: impl FnMut(T, &DVector<T>, &mut DVector<T>, Option<T>) -> Next<T>) {
        self.run_sized::<0>(step)
    }

    /// The state's dimension.
    pub(crate) fn dim(&self) -> usize {
        self.y.len()
    }

    /// [`Leg::run`] for a state of dimension `N` known at compile time (0: any), so that
    /// its checks over θ₊ unroll ([`sized`]). Panics if the state is smaller than `N`.
    #[inline(always)]
    pub(crate) fn run_sized<const N: usize>(
        &mut self,
        mut step: impl FnMut(T, &DVector<T>, &mut DVector<T>, Option<T>) -> Next<T>,
    ) {
        // `record`'s bookkeeping on plain numbers (no options, the stops' limits hoisted),
        // so that the loop keeps them in registers; the options are rebuilt at the end.
        let stop = self.stop;
        let t_end = stop.t_end;
        let max_steps = stop.max_steps.unwrap_or(u64::MAX);
        let max_evals = stop.max_evals.unwrap_or(u64::MAX);
        let entry = (self.t, self.stats);
        let mut s = self.stats;
        let mut t = self.t;
        // min, max and last h; ±∞ stand for "none yet" (an accepted h is never NaN).
        let inf = T::one() / T::zero();
        let (mut lo, mut hi) = (s.h_min.unwrap_or(inf), s.h_max.unwrap_or(-inf));
        let mut last = s.h_last.unwrap_or(T::zero());
        // (t, h_last, h_min, h_max) before the last accepted step.
        let mut prev = (t, last, lo, hi);
        // The two vectors trade places by reference, and once at the end if need be.
        let (mut y, mut y_new) = (&mut *self.y, &mut *self.y_new);
        let mut swapped = false;
        let halt = loop {
            if s.accepted >= max_steps || s.evals >= max_evals || t_end.is_some_and(|te| t >= te) {
                break None;
            }
            match step(t, y, y_new, t_end) {
                Next::FieldNotFinite(e) => {
                    (s.evals, s.jac_evals) = (s.evals + e.field, s.jac_evals + e.jacobian);
                    break Some(Halt::Field);
                }
                Next::TooSmall(e) => {
                    (s.evals, s.jac_evals) = (s.evals + e.field, s.jac_evals + e.jacobian);
                    break Some(Halt::TooSmall);
                }
                Next::Stepped(a, e) => {
                    (s.evals, s.jac_evals) = (s.evals + e.field, s.jac_evals + e.jacobian);
                    s.rejected += u64::from(a.rejected);
                    if !a.dt.is_finite() || !all_finite(sized::<N, _>(y_new.as_slice())) {
                        break Some(Halt::Step);
                    }
                    std::mem::swap(&mut y, &mut y_new);
                    swapped = !swapped;
                    prev = (t, last, lo, hi);
                    t = match (a.landed, t_end) {
                        (true, Some(t_end)) => t_end,
                        _ => t + a.dt,
                    };
                    s.accepted += 1;
                    lo = if a.h < lo { a.h } else { lo };
                    hi = if a.h > hi { a.h } else { hi };
                    last = a.h;
                }
            }
        };
        if swapped {
            std::mem::swap(self.y, self.y_new);
        }
        let taken = s.accepted - entry.1.accepted;
        if taken > 0 {
            (s.h_min, s.h_max, s.h_last) = (Some(lo), Some(hi), Some(last));
            self.before = if taken == 1 {
                let e = entry.1;
                (Some((entry.0, e.h_last)), Some((e.h_min, e.h_max)))
            } else {
                let (t0, l0, lo0, hi0) = prev;
                (Some((t0, Some(l0))), Some((Some(lo0), Some(hi0))))
            };
        }
        (self.t, self.stats, self.halt) = (t, s, halt);
    }
}

/// A run in progress: a stepper, the current `(t, y)` and the statistics so far.
///
/// [`Integrator::integrate`] can be called again with new stops to continue a run.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(bound(serialize = "S: Serialize", deserialize = "S: Deserialize<'de>"))]
pub struct Integrator<T: Scalar, S> {
    stepper: S,
    t: T,
    y: DVector<T>,
    y_new: DVector<T>,
    stats: Stats<T>,
    started: bool,
    /// (t, h_last) of the state kept in `y_new` after a swap, for rolling back.
    previous: Option<(T, Option<T>)>,
    /// (h_min, h_max) before the last accepted step, for rolling back (absent in a
    /// checkpoint written before the field existed: a roll-back then keeps the range).
    #[serde(default = "Option::default")]
    previous_range: Option<(Option<T>, Option<T>)>,
}

impl<T: Scalar, S> Integrator<T, S> {
    /// Current time.
    pub fn t(&self) -> T {
        self.t
    }

    /// Current state.
    pub fn y(&self) -> &DVector<T> {
        &self.y
    }

    /// Statistics so far.
    pub fn stats(&self) -> &Stats<T> {
        &self.stats
    }

    /// The stepper, with its state.
    pub fn stepper(&self) -> &S {
        &self.stepper
    }

    /// The same run with its stepper converted (e.g. into a serializable form for a
    /// checkpoint, and back).
    pub fn map_stepper<S2>(self, f: impl FnOnce(S) -> S2) -> Integrator<T, S2> {
        Integrator {
            stepper: f(self.stepper),
            t: self.t,
            y: self.y,
            y_new: self.y_new,
            stats: self.stats,
            started: self.started,
            previous: self.previous,
            previous_range: self.previous_range,
        }
    }
}

impl<T: Scalar, S: Stepper<T>> Integrator<T, S> {
    /// A run of `stepper` from `(t0, y0)`.
    pub fn new(stepper: S, t0: T, y0: DVector<T>) -> Self {
        let n = y0.len();
        Integrator {
            stepper,
            t: t0,
            y: y0,
            y_new: DVector::zeros(n),
            stats: Stats::default(),
            started: false,
            previous: None,
            previous_range: None,
        }
    }

    /// The current state as an observer sees it (the step that led here, if any).
    pub fn point(&self) -> Point<'_, T> {
        Point {
            step: self.stats.accepted,
            evals: self.stats.evals,
            t: self.t,
            y: &self.y,
            h: self.stats.h_last,
            stepper: Some(&self.stepper),
        }
    }

    /// Runs until a condition of `stop` holds, a value turns non-finite (`Diverged`, the
    /// state stays the last finite one) or error control gives up (`StepTooSmall`).
    ///
    /// The budget stops (`max_steps`, `t_end`, `max_evals`) are checked before the state
    /// ones (`ftol`, then `gtol`), so a budget stop costs no extra evaluation.
    pub fn integrate(
        &mut self,
        field: &mut dyn VectorField<T>,
        stop: &Stop<T>,
        observer: &mut dyn Observer<T>,
    ) -> Status {
        if stop.is_empty() {
            return Status::NoStop;
        }
        let mut field = Counted {
            inner: field,
            evals: 0,
            jac_evals: 0,
        };
        if !self.started {
            self.started = true;
            observer.observe(&Point {
                step: 0,
                evals: self.stats.evals + field.evals,
                t: self.t,
                y: &self.y,
                h: None,
                stepper: None,
            });
        }
        // Nothing to observe and only a budget to check: the stepper takes its steps in
        // one loop of its own (one call for the whole run), unless it declines.
        let mut batch = observer.is_inert() && stop.is_budget_only();
        let status = loop {
            if let Some(status) = self.check(&mut field, stop) {
                break status;
            }
            if batch {
                self.stats.absorb(&mut field);
                let mut leg = Leg {
                    stop,
                    t: self.t,
                    y: &mut self.y,
                    y_new: &mut self.y_new,
                    stats: self.stats,
                    before: (self.previous, self.previous_range),
                    halt: None,
                };
                if self.stepper.advance(&mut *field.inner, &mut leg) {
                    let halt = leg.halt;
                    (self.t, self.stats) = (leg.t, leg.stats);
                    (self.previous, self.previous_range) = leg.before;
                    match halt {
                        None => continue,
                        Some(Halt::Field) => {
                            self.roll_back();
                            break Status::Diverged;
                        }
                        Some(Halt::Step) => {
                            self.stepper.invalidate();
                            break Status::Diverged;
                        }
                        Some(Halt::TooSmall) => break Status::StepTooSmall,
                    }
                }
                batch = false;
            }
            // Every scheme starts from f(t, y): evaluating it here costs nothing extra and
            // catches a state whose field is not finite, or whose ‖f‖² overflows, before
            // stepping from it.
            let f_ok = norm_squared(
                self.stepper
                    .derivative(&mut field, self.t, &self.y)
                    .as_slice(),
            )
            .is_finite();
            self.stats.absorb(&mut field);
            if !f_ok {
                self.roll_back();
                break Status::Diverged;
            }
            let result =
                self.stepper
                    .step(&mut field, self.t, &self.y, &mut self.y_new, stop.t_end);
            self.stats.absorb(&mut field);
            match result {
                StepResult::TooSmall { .. } => break Status::StepTooSmall,
                StepResult::Accepted(a) => {
                    if !a.dt.is_finite() || !all_finite(self.y_new.as_slice()) {
                        self.stats.rejected += u64::from(a.rejected);
                        self.stepper.invalidate();
                        break Status::Diverged;
                    }
                    std::mem::swap(&mut self.y, &mut self.y_new);
                    let mut before = (self.previous, self.previous_range);
                    record(&mut self.t, &mut self.stats, &mut before, &a, stop.t_end);
                    (self.previous, self.previous_range) = before;
                    let s = &self.stats;
                    observer.observe(&Point {
                        step: s.accepted,
                        evals: s.evals,
                        t: self.t,
                        y: &self.y,
                        h: Some(a.h),
                        stepper: Some(&self.stepper),
                    });
                }
            }
        };
        self.stats.absorb(&mut field);
        observer.finish(
            &Point {
                step: self.stats.accepted,
                evals: self.stats.evals,
                t: self.t,
                y: &self.y,
                h: self.stats.h_last,
                stepper: Some(&self.stepper),
            },
            status,
        );
        status
    }

    /// Returns to the state before the last accepted step (kept in `y_new`), when the
    /// field is not finite at the current one: a diverged run reports the last state whose
    /// y and f(t, y) are both finite.
    fn roll_back(&mut self) {
        if let Some((t, h_last)) = self.previous.take() {
            std::mem::swap(&mut self.y, &mut self.y_new);
            self.t = t;
            self.stats.accepted -= 1;
            self.stats.h_last = h_last;
            if let Some((h_min, h_max)) = self.previous_range.take() {
                self.stats.h_min = h_min;
                self.stats.h_max = h_max;
            }
        }
        self.stepper.invalidate();
    }

    /// The stop conditions, budget first.
    fn check(&mut self, field: &mut Counted<'_, T>, stop: &Stop<T>) -> Option<Status> {
        if let Some(status) =
            stop.spent(self.stats.accepted, self.stats.evals + field.evals, self.t)
        {
            return Some(status);
        }
        if let Some(ftol) = stop.ftol {
            match field.potential(&self.y) {
                Some(v) if !v.is_finite() => {
                    self.roll_back();
                    return Some(Status::Diverged);
                }
                Some(v) if v <= ftol => return Some(Status::Ftol),
                _ => {}
            }
        }
        if let Some(gtol) = stop.gtol {
            let f = self.stepper.derivative(field, self.t, &self.y);
            let norm = f.norm();
            self.stats.absorb(field);
            if !norm.is_finite() {
                self.roll_back();
                return Some(Status::Diverged);
            }
            if norm <= gtol {
                return Some(Status::Gtol);
            }
        }
        None
    }
}
