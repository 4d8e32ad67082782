//! Backward (implicit) Euler: y₊ = y + h f(t + h, y₊). On a gradient flow,
//! θ₊ + h∇L(θ₊) = θ is the optimality condition of θ₊ = argmin L(θ′) + ‖θ′ − θ‖²/(2h): the
//! proximal point method (Rockafellar 1976; Parikh & Boyd, *Proximal Algorithms*, 2014,
//! §4.1). On L = ½ Σ λᵢθᵢ² it gives θₙ = (1 + hλᵢ)⁻ⁿθ₀ᵢ, stable for every h > 0.

use crate::controller::{Controller, ErrorControl};
use crate::jacobian::Jacobian;
use crate::linalg::ShiftedSystem;
use crate::norm::error_norm;
use crate::rk::StepSize;
use crate::scalar::{lit, rtol_floor};
use crate::stepper::{scheme_step, InitialParts, Scheme, StepResult, Stepper};
use crate::{Scalar, VectorField};
use nalgebra::DVector;
use serde::{Deserialize, Serialize};

/// Newton iterations per attempt before it counts as not converging: RADAU5's NIT for
/// error control (a slow iteration says the step is too long), more at a fixed step,
/// where the step is the user's and the iteration goes on while it contracts.
const MAX_NEWTON_ADAPTIVE: u32 = 7;
const MAX_NEWTON_FIXED: u32 = 30;

/// Backward Euler, with the implicit equation solved by simplified Newton iteration.
///
/// **Newton.** With J = ∂f/∂y at (t, y) (−∇²L for a gradient flow: once per accepted step)
/// and M = I − hJ factored once per attempt (Cholesky of I + h∇²L where L is convex, LU
/// otherwise, see [`crate::linalg`]): z₀ = y, then Δₖ = M⁻¹(y + h f(zₖ) − zₖ),
/// zₖ₊₁ = zₖ + Δₖ. The iterate zₖ (k ≥ 1) is accepted when ‖Δₖ‖ ≤ κ in the weighted RMS
/// norm of [`crate::norm::error_norm`], with the tolerance of Hairer & Wanner's RADAU5
/// widened from 10ε to 30ε at its round-off end, κ = max(30ε/rtol, min(0.03, √rtol))
/// (a correction at the level of round-off must pass, or a tight rtol would stall Newton).
/// Accepting zₖ rather than zₖ + Δₖ keeps f(y₊) = f(zₖ) exact, and it starts the next
/// step. On a linear field z₁ is the exact backward-Euler step and one evaluation of f
/// suffices. The iteration fails when it does not contract
/// (‖Δₖ‖ ≥ ‖Δₖ₋₁‖), after 7 iterations (30 at a fixed step), or on a non-finite value;
/// the attempt is then rejected and retried with h/2 (never a panic).
///
/// **Step size.** Either fixed (`h = lr`, shortened only when Newton fails, and at the end
/// to land on a time limit), or controlled by the estimate
/// err = ‖M⁻¹ (h/2)(f(y₊) − f(y))‖ of the local error −(h²/2)y″: the factor M⁻¹ (from
/// the factorization at hand) keeps stiff components, where f(y₊) − f(y) is large but the
/// step is accurate, from dominating the estimate, as in Hairer & Wanner's RADAU5
/// (*Solving ODEs II*, §IV.8). The controller is [`ErrorControl`] for an estimate of order
/// 1, SciPy's first step, landing on t_end, `TooSmall` below 10·spacing(t).
///
/// The ODE time is t = Σh.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(bound = "T: Scalar")]
pub struct ImplicitEuler<T: Scalar> {
    size: StepSize<T>,
    /// Tolerances of the Newton norm (and of error control, when adaptive).
    rtol: T,
    atol: T,
    newton_tol: T,
    jac: Jacobian<T>,
    system: ShiftedSystem<T>,
    f0: DVector<T>,
    f0_valid: bool,
    /// f at the Newton iterate; f(y₊) after a step.
    fz: DVector<T>,
    delta: DVector<T>,
    newton_iterations: u64,
}

/// Why an attempt did not produce y₊.
enum Newton {
    Converged,
    Failed,
}

impl<T: Scalar> ImplicitEuler<T> {
    /// Whether every buffer fits a state of dimension `dim` (a check for a state read
    /// back from a file).
    pub fn is_consistent(&self, dim: usize) -> bool {
        self.jac.is_consistent(dim)
            && self.system.is_consistent(dim)
            && self.f0.len() == dim
            && self.fz.len() == dim
            && self.delta.len() == dim
    }

    fn with_size(size: StepSize<T>, rtol: T, atol: T, dim: usize) -> Self {
        let rtol = rtol.max(rtol_floor::<T>());
        let round_off = lit::<T>(30.0) * T::default_epsilon();
        let newton_tol = (round_off / rtol).max(lit::<T>(0.03).min(rtol.sqrt()));
        ImplicitEuler {
            size,
            rtol,
            atol,
            newton_tol,
            jac: Jacobian::new(dim),
            system: ShiftedSystem::new(dim),
            f0: DVector::zeros(dim),
            f0_valid: false,
            fz: DVector::zeros(dim),
            delta: DVector::zeros(dim),
            newton_iterations: 0,
        }
    }

    /// The proximal point method: a fixed step `h`, Newton converged in the norm of
    /// `rtol`, `atol`.
    pub fn fixed(h: T, rtol: T, atol: T, dim: usize) -> Self {
        Self::with_size(StepSize::Fixed(h), rtol, atol, dim)
    }

    /// Error control with SciPy's I controller; `h0` the first step (`None`: SciPy's
    /// estimate). `rtol` is raised to at least 100·ε.
    pub fn adaptive(rtol: T, atol: T, h0: Option<T>, dim: usize) -> Self {
        let floor = rtol_floor::<T>();
        let size = StepSize::Adaptive {
            rtol: rtol.max(floor),
            atol,
            h: h0,
            control: ErrorControl::new(Controller::I, 1),
            max_step: None,
        };
        Self::with_size(size, rtol, atol, dim)
    }

    /// The step-size rule and its state.
    pub fn step_size(&self) -> &StepSize<T> {
        &self.size
    }

    /// The same method with every adaptive step at most `max_step` (SciPy's `max_step`;
    /// `None`: no limit). See [`crate::rk::StepSize::set_max_step`].
    pub fn with_max_step(mut self, max_step: Option<T>) -> Self {
        self.size.set_max_step(max_step);
        self
    }

    /// Newton iterations so far (every attempt counted).
    pub fn newton_iterations(&self) -> u64 {
        self.newton_iterations
    }

    fn ensure_f0(&mut self, field: &mut dyn VectorField<T>, t: T, y: &DVector<T>) {
        if !self.f0_valid {
            field.eval(t, y, &mut self.f0);
            self.f0_valid = true;
        }
    }

    /// Solves z = y + h f(t + h, z) into `z` (and f(z) into `self.fz`).
    fn newton(
        &mut self,
        field: &mut dyn VectorField<T>,
        t: T,
        y: &DVector<T>,
        z: &mut DVector<T>,
        h: T,
    ) -> Newton {
        if !self.system.factor(self.jac.matrix(), h) {
            return Newton::Failed;
        }
        z.copy_from(y);
        self.fz.copy_from(&self.f0);
        let max_iterations = match self.size {
            StepSize::Fixed(_) => MAX_NEWTON_FIXED,
            StepSize::Adaptive { .. } => MAX_NEWTON_ADAPTIVE,
        };
        let mut previous: Option<T> = None;
        for k in 0..=max_iterations {
            // Δ = M⁻¹ (y + h f(z) − z).
            self.delta
                .zip_zip_apply(y, &self.fz, |d, yi, fi| *d = yi + h * fi);
            self.delta -= &*z;
            self.system.solve_mut(&mut self.delta);
            let norm = error_norm(&self.delta, y, z, self.rtol, self.atol);
            if !norm.is_finite() {
                return Newton::Failed;
            }
            if k >= 1 && norm <= self.newton_tol {
                return Newton::Converged;
            }
            if previous.is_some_and(|p| norm >= p) || k == max_iterations {
                return Newton::Failed;
            }
            previous = Some(norm);
            *z += &self.delta;
            field.eval(t + h, z, &mut self.fz);
            self.newton_iterations += 1;
        }
        Newton::Failed
    }

    /// The filtered local error estimate ‖M⁻¹ (h/2)(f(y₊) − f(y))‖.
    fn error(&mut self, y: &DVector<T>, y_new: &DVector<T>, h: T, rtol: T, atol: T) -> T {
        let half_h = h * lit(0.5);
        self.delta
            .zip_zip_apply(&self.fz, &self.f0, |d, a, b| *d = half_h * (a - b));
        self.system.solve_mut(&mut self.delta);
        error_norm(&self.delta, y, y_new, rtol, atol)
    }
}

impl<T: Scalar> Scheme<T> for ImplicitEuler<T> {
    fn prepare(&mut self, field: &mut dyn VectorField<T>, t: T, y: &DVector<T>) -> bool {
        self.ensure_f0(field, t, y);
        self.jac.update(field, t, y, &self.f0)
    }

    fn size(&mut self) -> &mut StepSize<T> {
        &mut self.size
    }

    fn initial_parts(&mut self) -> InitialParts<'_, T> {
        InitialParts {
            f0: &self.f0,
            order: 1,
            scratch: (&mut self.delta, &mut self.fz),
        }
    }

    fn attempt(
        &mut self,
        field: &mut dyn VectorField<T>,
        t: T,
        y: &DVector<T>,
        y_new: &mut DVector<T>,
        h: T,
        tol: Option<(T, T)>,
    ) -> Option<T> {
        match self.newton(field, t, y, y_new, h) {
            Newton::Failed => None,
            Newton::Converged => Some(tol.map_or(T::zero(), |(rtol, atol)| {
                self.error(y, y_new, h, rtol, atol)
            })),
        }
    }

    /// Newton did not converge: halve the step.
    fn after_failure(&self, h: T, _control: &ErrorControl<T>) -> T {
        h * lit(0.5)
    }

    /// f(y₊) is the last Newton iterate's field: it becomes f at the new point.
    fn accepted(&mut self) {
        std::mem::swap(&mut self.f0, &mut self.fz);
        self.f0_valid = true;
        self.jac.invalidate();
    }
}

impl<T: Scalar> Stepper<T> for ImplicitEuler<T> {
    fn derivative(&mut self, field: &mut dyn VectorField<T>, t: T, y: &DVector<T>) -> &DVector<T> {
        self.ensure_f0(field, t, y);
        &self.f0
    }

    fn step(
        &mut self,
        field: &mut dyn VectorField<T>,
        t: T,
        y: &DVector<T>,
        y_new: &mut DVector<T>,
        t_limit: Option<T>,
    ) -> StepResult<T> {
        scheme_step(self, field, t, y, y_new, t_limit)
    }

    fn invalidate(&mut self) {
        self.f0_valid = false;
        self.jac.invalidate();
    }

    fn next_step_size(&self) -> Option<T> {
        self.size.next()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nalgebra::DMatrix;

    #[test]
    fn one_step_on_a_linear_decay_is_the_resolvent() {
        // y' = −λy with its Jacobian: y₊ = y/(1 + hλ), one evaluation of f after f(y).
        struct Decay {
            lambda: f64,
            evals: u32,
        }
        impl VectorField<f64> for Decay {
            fn eval(&mut self, _t: f64, y: &DVector<f64>, dy: &mut DVector<f64>) {
                self.evals += 1;
                dy[0] = -self.lambda * y[0];
            }
            fn jacobian(&mut self, _t: f64, _y: &DVector<f64>, j: &mut DMatrix<f64>) -> bool {
                j[(0, 0)] = -self.lambda;
                true
            }
        }
        let mut field = Decay {
            lambda: 250.0,
            evals: 0,
        };
        let mut m = ImplicitEuler::fixed(0.1, 1e-6, 1e-9, 1);
        let y = DVector::from_element(1, 2.0);
        let mut y_new = DVector::zeros(1);
        let r = m.step(&mut field, 0.0, &y, &mut y_new, None);
        assert!(matches!(r, StepResult::Accepted(a) if a.h == 0.1 && a.rejected == 0));
        // y₊ = y + Δ cancels: round-off relative to y₊ is about hλ·ε.
        assert!((y_new[0] - 2.0 / 26.0).abs() <= 30.0 * f64::EPSILON * y_new[0]);
        assert_eq!(field.evals, 2);
        // Without a Jacobian (a closure), forward differences cost one more evaluation and
        // Newton still converges.
        let mut field = |_t: f64, y: &DVector<f64>, dy: &mut DVector<f64>| dy[0] = -250.0 * y[0];
        let mut m = ImplicitEuler::fixed(0.1, 1e-10, 1e-12, 1);
        m.step(&mut field, 0.0, &y, &mut y_new, None);
        assert!((y_new[0] - 2.0 / 26.0).abs() < 1e-11);
    }
}
