//! Stiffness detection for the explicit adaptive methods.
//!
//! An explicit method on the gradient flow θ′ = −∇L(θ) is stable only while h·λ stays in
//! its stability region; on the negative real axis, where −∇²L has its spectrum near a
//! minimum, that is h·ρ(∇²L) ≤ x_b, with x_b = 3.3066 for Dormand–Prince 5(4), 2.5127 for
//! Bogacki–Shampine 3(2) and 2 for Heun–Euler (which propagates the Euler solution). When
//! error control keeps the accepted steps at h·ρ ≈ x_b, the step is set by stability, not
//! accuracy: the flow is stiff there, and a stiff method (`ros23`, `rodas4`,
//! `implicit-euler`) takes far fewer steps (Hairer & Wanner, *Solving ODEs II*, §IV.2: the
//! test of `dopri5.f`).
//!
//! [`StiffnessMonitor`] watches a run as an [`Observer`]: every [`CHECK_EVERY`] accepted
//! steps it advances a power iteration for ρ(∇²L) by [`POWER_STEPS`] Hessian-vector
//! products (warm-started from the last vector, so the estimate sharpens along the run),
//! and after [`STIFF_CHECKS`] consecutive checks with h·ρ ≥ [`FRACTION`]·x_b it records a
//! [`Stiffness`]. Its products are counted in the record (`hvps`), not in the run's
//! `hess_evals`: they are the monitor's cost, not the integration's (about 2% of
//! Dormand–Prince's gradients at these settings).

use gradflow_integrators::scalar::to_f64;
use gradflow_integrators::{Observer, Point, Scalar};
use gradflow_problems::{Objective, Real};
use nalgebra::DVector;
use serde::{Deserialize, Serialize};

/// Accepted steps between two checks.
pub const CHECK_EVERY: u64 = 25;
/// Power-iteration steps (Hessian-vector products) per check.
pub const POWER_STEPS: u64 = 3;
/// Consecutive checks at the stability limit before the flow is called stiff.
pub const STIFF_CHECKS: u32 = 4;
/// A step is at the stability limit when h·ρ ≥ this fraction of x_b.
pub const FRACTION: f64 = 0.6;

/// The methods that do not need stability to set their step.
pub const STIFF_METHODS: [&str; 3] = ["ros23", "rodas4", "implicit-euler"];

/// x_b, the stability bound on the negative real axis, of an explicit adaptive method; `None`
/// for every other method (fixed steps diverge instead, stiff methods need no warning).
pub fn stability_bound(method: &str) -> Option<f64> {
    match method {
        "dopri5" => Some(3.3066),
        "bs23" => Some(2.5127),
        "heun-euler" => Some(2.0),
        _ => None,
    }
}

/// Where a run turned stiff (the report's `stiffness` field).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Stiffness {
    /// The accepted step at which the flow was found stiff.
    pub step: u64,
    /// Its time.
    pub t: f64,
    /// Its step size.
    pub h: f64,
    /// The estimate of ρ(∇²L) there.
    pub rho: f64,
    /// h·ρ.
    pub h_rho: f64,
    /// The method's stability bound x_b.
    pub bound: f64,
    /// Hessian-vector products the monitor spent (in the whole run).
    pub hvps: u64,
    /// Methods to try instead.
    pub suggest: Vec<String>,
}

impl Stiffness {
    /// The warning line the CLI prints.
    pub fn warning(&self, method: &str) -> String {
        let methods = match self.suggest.split_last() {
            Some((last, [])) => last.clone(),
            Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
            None => String::new(),
        };
        format!(
            "warning: the flow is stiff: from step {} (t = {:.4e}) {method}'s steps sat at its \
             stability limit (h·ρ(∇²L) = {:.3}, x_b = {:.4}); a stiff method takes far fewer \
             steps: try --method {methods}",
            self.step, self.t, self.h_rho, self.bound
        )
    }
}

/// Watches accepted steps for steps held at the stability limit (see the module docs).
pub struct StiffnessMonitor<'a, T: Scalar, O: ?Sized> {
    objective: &'a O,
    bound: f64,
    v: DVector<T>,
    hv: DVector<T>,
    above: u32,
    hvps: u64,
    disabled: bool,
    found: Option<Stiffness>,
}

/// What a [`StiffnessMonitor`] has learned so far, as a checkpoint keeps it: the power
/// iteration's vector, the run of checks at the limit, the products spent and what was
/// found. A resumed run's monitor continues from it, so its `stiffness` field equals the
/// uninterrupted run's.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(bound = "T: Scalar")]
pub struct MonitorState<T: Scalar> {
    v: DVector<T>,
    above: u32,
    hvps: u64,
    disabled: bool,
    found: Option<Stiffness>,
}

impl<'a, T: Scalar + Real, O: Objective<T> + ?Sized> StiffnessMonitor<'a, T, O> {
    /// A monitor for a method with stability bound `bound`.
    pub fn new(objective: &'a O, bound: f64) -> Self {
        let n = objective.dim();
        // A start with a component along every direction of a generic spectrum.
        let mut v = DVector::from_fn(n, |i, _| {
            nalgebra::convert::<f64, T>(1.0 + (i % 7) as f64 * 0.1)
        });
        let norm = v.norm();
        if norm > T::zero() {
            v /= norm;
        }
        StiffnessMonitor {
            objective,
            bound,
            v,
            hv: DVector::zeros(n),
            above: 0,
            hvps: 0,
            disabled: false,
            found: None,
        }
    }

    /// The monitor's state, for a checkpoint.
    pub fn state(&self) -> MonitorState<T> {
        MonitorState {
            v: self.v.clone(),
            above: self.above,
            hvps: self.hvps,
            disabled: self.disabled,
            found: self.found.clone(),
        }
    }

    /// Continues from a checkpoint's state; `false` (and no change) when its vector does
    /// not fit the problem's dimension.
    pub fn restore(&mut self, state: MonitorState<T>) -> bool {
        if state.v.len() != self.v.len() {
            return false;
        }
        self.v = state.v;
        self.above = state.above;
        self.hvps = state.hvps;
        self.disabled = state.disabled;
        self.found = state.found;
        true
    }

    /// What the monitor found, with its total cost.
    pub fn result(&self) -> Option<Stiffness> {
        self.found.clone().map(|s| Stiffness {
            hvps: self.hvps,
            ..s
        })
    }

    /// ρ(∇²L) at `y` after [`POWER_STEPS`] more power-iteration steps.
    fn spectral_radius(&mut self, y: &DVector<T>) -> Option<f64> {
        let mut rho = 0.0;
        for _ in 0..POWER_STEPS {
            if !self.objective.hessian_vector(y, &self.v, &mut self.hv) {
                return None;
            }
            self.hvps += 1;
            let norm = self.hv.norm();
            rho = to_f64(norm);
            if !(rho.is_finite() && rho > 0.0) {
                return Some(rho);
            }
            self.v.copy_from(&self.hv);
            self.v /= norm;
        }
        Some(rho)
    }
}

impl<T: Scalar + Real, O: Objective<T> + ?Sized> Observer<T> for StiffnessMonitor<'_, T, O> {
    fn observe(&mut self, p: &Point<'_, T>) {
        if self.disabled
            || self.found.is_some()
            || p.step == 0
            || !p.step.is_multiple_of(CHECK_EVERY)
        {
            return;
        }
        let Some(h) = p.h.map(to_f64) else {
            return;
        };
        let Some(rho) = self.spectral_radius(p.y) else {
            // No Hessian-vector products: nothing to estimate with.
            self.disabled = true;
            return;
        };
        if h * rho >= FRACTION * self.bound {
            self.above += 1;
        } else {
            self.above = 0;
        }
        if self.above >= STIFF_CHECKS {
            self.found = Some(Stiffness {
                step: p.step,
                t: to_f64(p.t),
                h,
                rho,
                h_rho: h * rho,
                bound: self.bound,
                hvps: self.hvps,
                suggest: STIFF_METHODS.iter().map(|s| s.to_string()).collect(),
            });
        }
    }
}
