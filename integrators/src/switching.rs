//! Stiffness detection: integrate with an explicit pair while it is accuracy-bound, and
//! hand over to a linearly implicit method once its step is held at its stability bound.
//!
//! An explicit method on y′ = f(y) is stable only while hλ stays inside its stability
//! region; on the negative real axis, where a gradient flow's Jacobian −∇²L has its
//! spectrum near a minimum, that is h·ρ(J) ≤ x_b with x_b = 3.3066 for Dormand–Prince 5(4)
//! and 2.5127 for Bogacki–Shampine 3(2) (REFERENCES §3). When error control keeps
//! producing steps with h·ρ close to x_b, the step is set by stability, not accuracy: the
//! flow is stiff there (Hairer & Wanner, *Solving ODEs II*, §IV.2, the test of `dopri5.f`
//! with its count of 15 such steps). ρ(J) is estimated by one step of power iteration per
//! accepted step, warm-started from the last estimate's vector, with the field's
//! Jacobian-vector product (a Hessian-vector product for a gradient flow, counted as a
//! Hessian evaluation) or a forward difference of f (one more evaluation of f).
//!
//! The switch is one way: a gradient flow that is stiff near its minimum stays stiff.

use crate::rk::RungeKutta;
use crate::rosw::{RosenbrockMethod, RosenbrockTableau, RODAS4};
use crate::scalar::lit;
use crate::stepper::{StepResult, Stepper};
use crate::tableau::{Tableau, DOPRI5};
use crate::{Controller, Scalar, VectorField};
use nalgebra::DVector;
use serde::{Deserialize, Serialize};

/// Consecutive accepted steps with h·ρ above the threshold before switching (`dopri5.f`).
const STIFF_STEPS: u32 = 15;
/// A step is stability-bound when h·ρ exceeds this fraction of the real stability bound.
const FRACTION: f64 = 0.6;

/// An explicit pair that switches to a Rosenbrock-type method when the flow turns stiff.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(bound = "T: Scalar")]
pub struct Switching<T: Scalar> {
    explicit: RungeKutta<T>,
    implicit: RosenbrockMethod<T>,
    /// The explicit tableau's stability bound on the negative real axis.
    bound: T,
    stiff: bool,
    run: u32,
    switched_at: Option<T>,
    rho: Option<T>,
    /// Power-iteration vector (unit length) and scratch.
    v: DVector<T>,
    jv: DVector<T>,
    f: DVector<T>,
    probe: DVector<T>,
}

impl<T: Scalar> Switching<T> {
    /// `explicit` (stability bound `bound` on the negative real axis) under SciPy's I
    /// control until the flow turns stiff, then `implicit`; both at `rtol`, `atol`.
    pub fn new(
        explicit: &'static Tableau,
        bound: f64,
        implicit: &'static RosenbrockTableau,
        rtol: T,
        atol: T,
        dim: usize,
    ) -> Self {
        let mut v = DVector::from_fn(dim, |i, _| if i % 2 == 0 { T::one() } else { -T::one() });
        let norm = v.norm();
        if norm > T::zero() {
            v /= norm;
        }
        Switching {
            explicit: RungeKutta::controlled(explicit, rtol, atol, None, Controller::I, dim),
            implicit: RosenbrockMethod::controlled(implicit, rtol, atol, None, Controller::I, dim),
            bound: lit(bound),
            stiff: false,
            run: 0,
            switched_at: None,
            rho: None,
            v,
            jv: DVector::zeros(dim),
            f: DVector::zeros(dim),
            probe: DVector::zeros(dim),
        }
    }

    /// The same switch with every step of either method at most `max_step` (SciPy's
    /// `max_step`; `None`: no limit).
    pub fn with_max_step(mut self, max_step: Option<T>) -> Self {
        self.explicit = self.explicit.with_max_step(max_step);
        self.implicit = self.implicit.with_max_step(max_step);
        self
    }

    /// Dormand–Prince 5(4) (x_b = 3.3066), then RODAS4.
    pub fn dopri5_rodas4(rtol: T, atol: T, dim: usize) -> Self {
        Self::new(&DOPRI5, 3.3066, &RODAS4, rtol, atol, dim)
    }

    /// Whether every buffer fits a state of dimension `dim` (a check for a state read back
    /// from a file).
    pub fn is_consistent(&self, dim: usize) -> bool {
        self.explicit.is_consistent(dim)
            && self.implicit.is_consistent(dim)
            && [&self.v, &self.jv, &self.f, &self.probe]
                .iter()
                .all(|b| b.len() == dim)
    }

    /// True once the implicit method has taken over.
    pub fn is_stiff(&self) -> bool {
        self.stiff
    }

    /// The time at which the implicit method took over.
    pub fn switched_at(&self) -> Option<T> {
        self.switched_at
    }

    /// The last estimate of the spectral radius ρ(J).
    pub fn spectral_radius(&self) -> Option<T> {
        self.rho
    }

    /// One power-iteration step at (t, y) with f(t, y) in `self.f`: ρ ≈ ‖J v‖, v ← Jv/ρ.
    fn estimate(&mut self, field: &mut dyn VectorField<T>, t: T, y: &DVector<T>) -> Option<T> {
        if !field.jacobian_vector(t, y, &self.v, &mut self.jv) {
            // Jv ≈ (f(y + εv) − f(y))/ε, ε = √eps·max(1, ‖y‖) for the unit vector v.
            let eps = T::default_epsilon().sqrt() * y.norm().max(T::one());
            self.probe
                .zip_zip_apply(y, &self.v, |p, yi, vi| *p = yi + eps * vi);
            field.eval(t, &self.probe, &mut self.jv);
            self.jv.zip_apply(&self.f, |j, fi| *j = (*j - fi) / eps);
        }
        let rho = self.jv.norm();
        if !(rho.is_finite() && rho > T::zero()) {
            return None;
        }
        self.v.copy_from(&self.jv);
        self.v /= rho;
        Some(rho)
    }
}

impl<T: Scalar> Stepper<T> for Switching<T> {
    fn derivative(&mut self, field: &mut dyn VectorField<T>, t: T, y: &DVector<T>) -> &DVector<T> {
        if self.stiff {
            self.implicit.derivative(field, t, y)
        } else {
            self.explicit.derivative(field, t, y)
        }
    }

    fn step(
        &mut self,
        field: &mut dyn VectorField<T>,
        t: T,
        y: &DVector<T>,
        y_new: &mut DVector<T>,
        t_limit: Option<T>,
    ) -> StepResult<T> {
        if self.stiff {
            return self.implicit.step(field, t, y, y_new, t_limit);
        }
        let result = self.explicit.step(field, t, y, y_new, t_limit);
        if let StepResult::Accepted(a) = result {
            // f at the new point is the explicit pair's next first stage (FSAL): free.
            let t_new = t + a.dt;
            self.f
                .copy_from(self.explicit.derivative(field, t_new, y_new));
            self.rho = self.estimate(field, t_new, y_new);
            let bound = self
                .rho
                .is_some_and(|rho| !a.landed && a.h * rho > lit::<T>(FRACTION) * self.bound);
            self.run = if bound { self.run + 1 } else { 0 };
            if self.run >= STIFF_STEPS {
                self.stiff = true;
                self.switched_at = Some(t_new);
                self.implicit.invalidate();
                self.implicit.set_next_step(a.h);
            }
        }
        result
    }

    fn invalidate(&mut self) {
        self.explicit.invalidate();
        self.implicit.invalidate();
    }

    fn next_step_size(&self) -> Option<T> {
        if self.stiff {
            self.implicit.next_step_size()
        } else {
            self.explicit.next_step_size()
        }
    }
}
