//! The contract between a scheme and the driver.

use crate::driver::{Leg, Next};
use crate::field::Counted;
use crate::rk::StepSize;
use crate::scalar::{lit, norm_squared, spacing};
use crate::{ErrorControl, Scalar, VectorField};
use nalgebra::DVector;

/// One accepted step.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Accepted<T> {
    /// The step size `h` used by the accepted step.
    pub h: T,
    /// The ODE time the step advanced (equal to `h` for a Runge–Kutta step).
    pub dt: T,
    /// Attempts rejected before this one was accepted.
    pub rejected: u32,
    /// The step was shortened to land exactly on the time limit.
    pub landed: bool,
}

/// A fixed step `h` from `t`, shortened to end exactly on `t_limit` when it would pass
/// it or leave a sliver of a few ulps before it; the flag says whether it lands.
pub(crate) fn fixed_step<T: Scalar>(t: T, h: T, t_limit: Option<T>) -> (T, bool) {
    let slack = T::one() + nalgebra::convert::<f64, T>(8.0) * T::default_epsilon();
    match t_limit {
        Some(tl) if tl - t <= h * slack => (tl - t, true),
        _ => (h, false),
    }
}

/// An attempted adaptive step `h` from `t`, clipped to end exactly on `t_limit` when it
/// would pass it (SciPy's rule); the flag says whether it lands.
pub(crate) fn clipped_step<T: Scalar>(t: T, h: T, t_limit: Option<T>) -> (T, bool) {
    match t_limit {
        Some(tl) if t + h > tl => (tl - t, true),
        _ => (h, false),
    }
}

/// What a call to [`Stepper::step`] produced.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum StepResult<T> {
    /// A step was accepted; `y_new` holds the new state.
    Accepted(Accepted<T>),
    /// Error control asked for a step below the floor `10·spacing(t)`.
    TooSmall {
        /// The step size that was refused.
        h: T,
    },
}

/// A scheme together with its step-size rule: advances `(t, y)` by one accepted step.
///
/// A stepper owns its workspace and state (stages, buffers, controller history), so a
/// step does not allocate. It caches `f(t, y)` at the current point where the scheme
/// gets it for free (first same as last), which the driver also uses for the
/// gradient-norm stop.
pub trait Stepper<T: Scalar> {
    /// `f(t, y)` at the current point, evaluated only if not already known.
    fn derivative(&mut self, field: &mut dyn VectorField<T>, t: T, y: &DVector<T>) -> &DVector<T>;

    /// Takes one step from `(t, y)`, writing the new state into `y_new`. With
    /// `t_limit`, a stepper that can shorten its step does not pass it.
    fn step(
        &mut self,
        field: &mut dyn VectorField<T>,
        t: T,
        y: &DVector<T>,
        y_new: &mut DVector<T>,
        t_limit: Option<T>,
    ) -> StepResult<T>;

    /// Takes steps in one loop until `leg` is done, for a run that nothing observes and
    /// only a budget stops; returns `false`, without stepping, if the stepper leaves the
    /// run to the driver's loop (which then calls [`Stepper::step`] once per step).
    ///
    /// This exists for speed at small n, where the driver's per-step work (the call, the
    /// result's bookkeeping, the observer) costs as much as the step. The default runs
    /// [`Stepper::derivative`] and [`Stepper::step`] in [`Leg::run`], with the driver's
    /// check before each step (‖f‖² finite, else [`crate::driver::Next::FieldNotFinite`]);
    /// a stepper may run its own loop instead (the optimizers do), as long as each step
    /// is the one `step` takes.
    fn advance(&mut self, field: &mut dyn VectorField<T>, leg: &mut Leg<'_, T>) -> bool {
        let mut field = Counted {
            inner: field,
            evals: 0,
            jac_evals: 0,
        };
        leg.run(
            #[inline(always)]
            |t, y, y_new, t_end| {
                let f_ok = norm_squared(self.derivative(&mut field, t, y).as_slice()).is_finite();
                if !f_ok {
                    return Next::FieldNotFinite(field.take());
                }
                match self.step(&mut field, t, y, y_new, t_end) {
                    StepResult::Accepted(a) => Next::Stepped(a, field.take()),
                    StepResult::TooSmall { .. } => Next::TooSmall(field.take()),
                }
            },
        );
        true
    }

    /// Forgets the cached `f(t, y)` (call after changing `y` from outside).
    fn invalidate(&mut self);

    /// The step size the next step will try, where the method has one.
    fn next_step_size(&self) -> Option<T> {
        None
    }

    /// (min, max) of the per-component step sizes hᵢ of the last step, for methods with
    /// a diagonal step (one h per component).
    fn step_range(&self) -> Option<(T, T)> {
        None
    }
}

impl<T: Scalar, S: Stepper<T> + ?Sized> Stepper<T> for Box<S> {
    fn derivative(&mut self, field: &mut dyn VectorField<T>, t: T, y: &DVector<T>) -> &DVector<T> {
        (**self).derivative(field, t, y)
    }

    fn step(
        &mut self,
        field: &mut dyn VectorField<T>,
        t: T,
        y: &DVector<T>,
        y_new: &mut DVector<T>,
        t_limit: Option<T>,
    ) -> StepResult<T> {
        (**self).step(field, t, y, y_new, t_limit)
    }

    fn advance(&mut self, field: &mut dyn VectorField<T>, leg: &mut Leg<'_, T>) -> bool {
        (**self).advance(field, leg)
    }

    fn invalidate(&mut self) {
        (**self).invalidate()
    }

    fn next_step_size(&self) -> Option<T> {
        (**self).next_step_size()
    }

    fn step_range(&self) -> Option<(T, T)> {
        (**self).step_range()
    }
}

/// f(t, y), the error estimate's order and two scratch vectors, for the first step.
pub(crate) struct InitialParts<'a, T: Scalar> {
    pub f0: &'a DVector<T>,
    pub order: u32,
    pub scratch: (&'a mut DVector<T>, &'a mut DVector<T>),
}

/// A one-step scheme seen as attempts from (t, y) (explicit Runge–Kutta, backward Euler,
/// Rosenbrock-type): what [`scheme_step`] needs of it.
pub(crate) trait Scheme<T: Scalar> {
    /// Makes what every attempt from (t, y) needs known: f(t, y), and for the stiff
    /// schemes the Jacobian; `false` when that is not finite.
    fn prepare(&mut self, field: &mut dyn VectorField<T>, t: T, y: &DVector<T>) -> bool;
    /// The step-size mode.
    fn size(&mut self) -> &mut StepSize<T>;
    /// What SciPy's rule for the first step needs: f(t, y), the order of the error
    /// estimate, and two scratch vectors.
    fn initial_parts(&mut self) -> InitialParts<'_, T>;
    /// The first step of an adaptive run: SciPy's `select_initial_step`
    /// ([`crate::initial`]) with the scheme's order and scratch.
    fn initial_step(
        &mut self,
        field: &mut dyn VectorField<T>,
        t: T,
        y: &DVector<T>,
        interval: T,
        rtol: T,
        atol: T,
    ) -> T {
        let p = self.initial_parts();
        crate::initial::select_initial_step(
            field,
            t,
            y,
            p.f0,
            interval,
            rtol,
            atol,
            p.order,
            p.scratch.0,
            p.scratch.1,
        )
    }
    /// One attempt of size h into `y_new`: `None` when its linear algebra failed, else its
    /// error norm under `tol` = (rtol, atol) (0 without `tol`).
    fn attempt(
        &mut self,
        field: &mut dyn VectorField<T>,
        t: T,
        y: &DVector<T>,
        y_new: &mut DVector<T>,
        h: T,
        tol: Option<(T, T)>,
    ) -> Option<T>;
    /// The step to try after an attempt of size h failed.
    fn after_failure(&self, h: T, control: &ErrorControl<T>) -> T;
    /// Bookkeeping once `y_new` is accepted.
    fn accepted(&mut self);
}

/// One step of a [`Scheme`], the loop every stepper but the optimizers shares: prepare,
/// then attempts. At a fixed step a failed attempt halves the step (and the step no
/// longer lands on the limit); under error control a failed attempt or an error above 1
/// shrinks it as the scheme and controller say (SciPy's rules for the explicit pairs). Steps below 10 ulps of t, or not finite,
/// end in [`StepResult::TooSmall`]; a Jacobian that is not finite hands back a non-finite
/// state for the driver to report as divergence.
pub(crate) fn scheme_step<T: Scalar, S: Scheme<T>>(
    scheme: &mut S,
    field: &mut dyn VectorField<T>,
    t: T,
    y: &DVector<T>,
    y_new: &mut DVector<T>,
    t_limit: Option<T>,
) -> StepResult<T> {
    if !scheme.prepare(field, t, y) {
        y_new.fill(lit::<T>(f64::NAN));
        return StepResult::Accepted(Accepted {
            h: T::zero(),
            dt: T::zero(),
            rejected: 0,
            landed: false,
        });
    }
    let min_step = lit::<T>(10.0) * spacing(t);
    let mut rejected = 0u32;
    match scheme.size().clone() {
        StepSize::Fixed(h_fixed) => {
            let (mut h, mut landed) = fixed_step(t, h_fixed, t_limit);
            loop {
                // A sliver left before the limit is taken as it is; only halving after a
                // failure can make the step too small.
                if (rejected > 0 && h < min_step) || !h.is_finite() {
                    return StepResult::TooSmall { h };
                }
                if scheme.attempt(field, t, y, y_new, h, None).is_some() {
                    scheme.accepted();
                    return StepResult::Accepted(Accepted {
                        h,
                        dt: h,
                        rejected,
                        landed,
                    });
                }
                h *= lit(0.5);
                landed = false;
                rejected += 1;
            }
        }
        StepSize::Adaptive {
            rtol,
            atol,
            h,
            mut control,
            max_step,
        } => {
            let interval = t_limit.map_or(T::max_value().unwrap_or(T::one()), |tl| tl - t);
            let mut h_abs = match h {
                Some(h) => h.min(interval),
                None => scheme.initial_step(field, t, y, interval, rtol, atol),
            };
            // SciPy's max_step: the first step and every proposal are cut to it.
            if let Some(cap) = max_step {
                h_abs = h_abs.min(cap);
            }
            h_abs = h_abs.max(min_step);
            loop {
                if h_abs < min_step || !h_abs.is_finite() {
                    scheme.size().set_next(h_abs, control);
                    return StepResult::TooSmall { h: h_abs };
                }
                let (h, landed) = clipped_step(t, h_abs, t_limit);
                match scheme.attempt(field, t, y, y_new, h, Some((rtol, atol))) {
                    None => h_abs = scheme.after_failure(h, &control),
                    Some(err) if err < T::one() => {
                        let factor = control.accept(err, rejected > 0);
                        scheme.size().set_next(h * factor, control);
                        scheme.accepted();
                        return StepResult::Accepted(Accepted {
                            h,
                            dt: h,
                            rejected,
                            landed,
                        });
                    }
                    Some(err) => h_abs = h * control.reject(err),
                }
                rejected += 1;
            }
        }
    }
}
