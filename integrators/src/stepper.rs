//! The contract between a scheme and the driver.

use crate::{Scalar, VectorField};
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
