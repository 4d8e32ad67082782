//! Step-size controllers for error control.
//!
//! After a step with error norm `err` (accept when `err < 1`), the next step is
//! `h · factor` with
//!
//! * **I** (integral) control, as SciPy's `solve_ivp`:
//!   `factor = safety · err^(−1/k)`, k = q + 1 for an estimate of order q;
//! * **PI** control (Gustafsson 1991; Hairer & Wanner's DOPRI5 with β = 0.04,
//!   α = 0.17): `factor = safety · err^(−α) · err_old^β`, with `err_old` the error of
//!   the last accepted step (at least 1e-4).
//!
//! Either way the factor is clamped to `[min_factor, max_factor]` = [0.2, 10], `err = 0`
//! gives `max_factor`, a step right after a rejection does not grow (factor ≤ 1), and a
//! rejected step is retried with `max(min_factor, safety · err^(−α))`.

use crate::scalar::lit;
use crate::Scalar;
use serde::{Deserialize, Serialize};

/// Which controller turns an error norm into the next step size.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Controller {
    /// Integral control: factor = safety · err^(−1/k).
    I,
    /// Proportional-integral control: factor = safety · err^(−alpha) · err_old^beta.
    Pi {
        /// Exponent on the current error.
        alpha: f64,
        /// Exponent on the previous accepted error.
        beta: f64,
    },
}

impl Controller {
    /// DOPRI5's PI gains (Hairer, Nørsett & Wanner, `dopri5.f`: β = 0.04, α = 0.2 − 0.75β).
    pub const DOPRI5_PI: Controller = Controller::Pi {
        alpha: 0.17,
        beta: 0.04,
    };

    /// Order-scaled PI gains α = 0.7/k, β = 0.4/k for an error estimate of order k − 1
    /// (Gustafsson 1991; OrdinaryDiffEq.jl's default PI controller).
    pub fn pi_for_order(error_order: u32) -> Controller {
        let k = f64::from(error_order + 1);
        Controller::Pi {
            alpha: 0.7 / k,
            beta: 0.4 / k,
        }
    }
}

/// A controller with its constants and history.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ErrorControl<T> {
    /// The control law.
    pub controller: Controller,
    /// k = q + 1 for an error estimate of order q: the I controller's exponent is −1/k.
    pub k: T,
    /// Safety factor (0.9).
    pub safety: T,
    /// Smallest factor (0.2).
    pub min_factor: T,
    /// Largest factor (10).
    pub max_factor: T,
    /// Error norm of the last accepted step, floored at 1e-4 (PI history).
    pub err_old: T,
}

impl<T: Scalar> ErrorControl<T> {
    /// A controller for an embedded estimate of order `error_order`.
    pub fn new(controller: Controller, error_order: u32) -> Self {
        ErrorControl {
            controller,
            k: lit(f64::from(error_order + 1)),
            safety: lit(0.9),
            min_factor: lit(0.2),
            max_factor: lit(10.0),
            err_old: lit(1e-4),
        }
    }

    fn alpha(&self) -> T {
        match self.controller {
            Controller::I => T::one() / self.k,
            Controller::Pi { alpha, .. } => lit(alpha),
        }
    }

    /// The factor for the step after an accepted one (`err < 1`); updates the history.
    pub fn accept(&mut self, err: T, after_rejection: bool) -> T {
        let factor = if err == T::zero() {
            self.max_factor
        } else {
            let mut f = self.safety * err.powf(-self.alpha());
            if let Controller::Pi { beta, .. } = self.controller {
                f *= self.err_old.powf(lit(beta));
            }
            f.min(self.max_factor).max(self.min_factor)
        };
        if let Controller::Pi { .. } = self.controller {
            self.err_old = err.max(lit(1e-4));
        }
        if after_rejection {
            factor.min(T::one())
        } else {
            factor
        }
    }

    /// The factor to retry a rejected step with (`err ≥ 1`, or not finite).
    pub fn reject(&self, err: T) -> T {
        if !err.is_finite() {
            return self.min_factor;
        }
        (self.safety * err.powf(-self.alpha())).max(self.min_factor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn i_control_matches_scipy_rules() {
        let mut c = ErrorControl::<f64>::new(Controller::I, 4);
        // accept: min(10, 0.9·err^(−1/5))
        assert_eq!(c.accept(0.5, false), 0.9 * 0.5f64.powf(-0.2));
        assert_eq!(c.accept(0.0, false), 10.0);
        assert_eq!(c.accept(1e-12, false), 10.0);
        assert_eq!(c.accept(0.5, true), 1.0);
        // reject: max(0.2, 0.9·err^(−1/5))
        assert_eq!(c.reject(2.0), 0.9 * 2f64.powf(-0.2));
        assert_eq!(c.reject(1e9), 0.2);
        assert_eq!(c.reject(f64::NAN), 0.2);
    }

    #[test]
    fn pi_control_uses_the_previous_error() {
        let mut c = ErrorControl::<f64>::new(Controller::DOPRI5_PI, 4);
        let f1 = c.accept(0.5, false);
        assert_eq!(f1, 0.9 * 0.5f64.powf(-0.17) * 1e-4f64.powf(0.04));
        let f2 = c.accept(0.5, false);
        assert_eq!(f2, 0.9 * 0.5f64.powf(-0.17) * 0.5f64.powf(0.04));
        assert!(f2 > f1);
    }
}
