//! One engine for every explicit Runge–Kutta tableau, at a fixed step or under error
//! control.

use crate::controller::{Controller, ErrorControl};
use crate::norm::error_norm;
use crate::scalar::{lit, rtol_floor};
use crate::stepper::{scheme_step, InitialParts, Scheme, StepResult, Stepper};
use crate::tableau::Tableau;
use crate::{Scalar, VectorField};
use nalgebra::DVector;
use serde::{Deserialize, Serialize};

/// How the step size is chosen.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepSize<T> {
    /// Every step has size `h` (the last one is shortened to land on a time limit).
    Fixed(T),
    /// Error control on the tableau's embedded estimate.
    Adaptive {
        /// Relative tolerance (raised to at least 100·ε, as SciPy does).
        rtol: T,
        /// Absolute tolerance.
        atol: T,
        /// The step size the next step tries; `None` until the first step picks one.
        h: Option<T>,
        /// The controller and its history.
        control: ErrorControl<T>,
        /// The largest step tried (SciPy's `max_step`; `None`: no limit, also for a
        /// checkpoint written before the field existed).
        #[serde(default = "Option::default")]
        max_step: Option<T>,
    },
}

impl<T: Scalar> StepSize<T> {
    /// The step size the next step tries: the fixed h, or the controller's proposal.
    pub fn next(&self) -> Option<T> {
        match self {
            StepSize::Fixed(h) => Some(*h),
            StepSize::Adaptive { h, .. } => *h,
        }
    }

    /// Limits every adaptive step to `max_step` (`None`: no limit), as SciPy's
    /// `max_step`: the first step and each proposal of the controller are cut to it. No
    /// effect at a fixed step.
    pub fn set_max_step(&mut self, limit: Option<T>) {
        if let StepSize::Adaptive { max_step, .. } = self {
            *max_step = limit;
        }
    }

    /// Stores the next adaptive step and the controller's updated history.
    pub(crate) fn set_next(&mut self, h_next: T, control: ErrorControl<T>) {
        if let StepSize::Adaptive { h, control: c, .. } = self {
            *h = Some(h_next);
            *c = control;
        }
    }
}

/// An explicit Runge–Kutta method: a [`Tableau`] run at a fixed or controlled step.
///
/// Stage buffers are allocated once, in the constructor. With an embedded tableau under
/// error control the last evaluation `f(t + h, y₊)` becomes the next step's first stage
/// (FSAL), and the error estimate is `h Σ eᵢ kᵢ`, measured in the norm of
/// [`crate::norm::error_norm`].
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(bound = "T: Scalar")]
pub struct RungeKutta<T: Scalar> {
    #[serde(with = "crate::tableau::by_name")]
    tableau: &'static Tableau,
    size: StepSize<T>,
    /// Stages k₀…k_{s−1}, plus k_s = f(t + h, y₊) for an embedded pair.
    k: Vec<DVector<T>>,
    /// k₀ holds f(t, y) at the current point.
    k0_valid: bool,
    stage: DVector<T>,
}

impl<T: Scalar> RungeKutta<T> {
    fn with_size(tableau: &'static Tableau, size: StepSize<T>, dim: usize) -> Self {
        let slots = tableau.stages() + usize::from(tableau.e.is_some());
        RungeKutta {
            tableau,
            size,
            k: vec![DVector::zeros(dim); slots],
            k0_valid: false,
            stage: DVector::zeros(dim),
        }
    }

    /// The tableau at a fixed step `h`, for a state of dimension `dim`.
    pub fn fixed(tableau: &'static Tableau, h: T, dim: usize) -> Self {
        Self::with_size(tableau, StepSize::Fixed(h), dim)
    }

    /// An embedded pair under I control (SciPy's rule), for a state of dimension `dim`.
    ///
    /// # Panics
    /// If the tableau has no embedded error estimate.
    pub fn adaptive(tableau: &'static Tableau, rtol: T, atol: T, dim: usize) -> Self {
        Self::controlled(tableau, rtol, atol, None, Controller::I, dim)
    }

    /// An embedded pair with a chosen controller and optional first step `h0`.
    ///
    /// # Panics
    /// If the tableau has no embedded error estimate.
    pub fn controlled(
        tableau: &'static Tableau,
        rtol: T,
        atol: T,
        h0: Option<T>,
        controller: Controller,
        dim: usize,
    ) -> Self {
        assert!(
            tableau.e.is_some(),
            "{} has no error estimate",
            tableau.name
        );
        let floor = rtol_floor::<T>();
        let size = StepSize::Adaptive {
            rtol: rtol.max(floor),
            atol,
            h: h0,
            control: ErrorControl::new(controller, tableau.error_order),
            max_step: None,
        };
        Self::with_size(tableau, size, dim)
    }

    /// Whether every buffer fits a state of dimension `dim` (a check for a state read
    /// back from a file).
    pub fn is_consistent(&self, dim: usize) -> bool {
        let slots = self.tableau.stages() + usize::from(self.tableau.e.is_some());
        self.k.len() == slots
            && self.k.iter().all(|k| k.len() == dim)
            && self.stage.len() == dim
            && match &self.size {
                StepSize::Fixed(_) => true,
                StepSize::Adaptive { .. } => self.tableau.e.is_some(),
            }
    }

    /// The tableau this method runs.
    pub fn tableau(&self) -> &'static Tableau {
        self.tableau
    }

    /// The step-size rule and its state.
    pub fn step_size(&self) -> &StepSize<T> {
        &self.size
    }

    /// The same method with every adaptive step at most `max_step` (SciPy's `max_step`;
    /// `None`: no limit). See [`StepSize::set_max_step`].
    pub fn with_max_step(mut self, max_step: Option<T>) -> Self {
        self.size.set_max_step(max_step);
        self
    }

    fn ensure_k0(&mut self, field: &mut dyn VectorField<T>, t: T, y: &DVector<T>) {
        if !self.k0_valid {
            field.eval(t, y, &mut self.k[0]);
            self.k0_valid = true;
        }
    }

    /// Stages 1..s and y₊ = y + h Σ bᵢkᵢ, with k₀ already in place.
    fn stages(&mut self, field: &mut dyn VectorField<T>, t: T, y: &DVector<T>, h: T) {
        let tab = self.tableau;
        let (k, stage) = (&mut self.k, &mut self.stage);
        for i in 1..tab.stages() {
            combine(stage, y, h, tab.a[i], k);
            let ti = t + h * lit::<T>(tab.c[i]);
            field.eval(ti, stage, &mut k[i]);
        }
    }

    /// The first step error control would try from `(t, y)` toward `t_limit`, for a
    /// state of the dimension given at construction (one evaluation, or two without a
    /// cached f(t, y)).
    pub fn propose_initial_step(
        &mut self,
        field: &mut dyn VectorField<T>,
        t: T,
        y: &DVector<T>,
        t_limit: Option<T>,
    ) -> Option<T> {
        let StepSize::Adaptive { rtol, atol, .. } = self.size else {
            return None;
        };
        self.ensure_k0(field, t, y);
        let interval = t_limit.map_or(T::max_value().unwrap_or(T::one()), |tl| tl - t);
        Some(self.initial_step(field, t, y, interval, rtol, atol))
    }
}

/// out = y + h Σⱼ coef\[j\]·k\[j\], one pass, skipping zero coefficients.
#[inline]
fn combine<T: Scalar>(out: &mut DVector<T>, y: &DVector<T>, h: T, coef: &[f64], k: &[DVector<T>]) {
    out.copy_from(y);
    let out = out.as_mut_slice();
    // Accumulate Σⱼ coef[j]·k[j] into a zeroed increment via the output, then scale: for
    // one nonzero coefficient this is exactly y + (h·c)·k.
    match coef.iter().filter(|&&c| c != 0.0).count() {
        0 => {}
        1 => {
            let (j, &c) = coef
                .iter()
                .enumerate()
                .find(|(_, &c)| c != 0.0)
                .unwrap_or((0, &0.0));
            let hc = h * lit::<T>(c);
            for (o, &kj) in out.iter_mut().zip(k[j].iter()) {
                *o += hc * kj;
            }
        }
        _ => {
            for (m, o) in out.iter_mut().enumerate() {
                let mut acc = T::zero();
                for (j, &c) in coef.iter().enumerate() {
                    if c != 0.0 {
                        acc += lit::<T>(c) * k[j][m];
                    }
                }
                *o += h * acc;
            }
        }
    }
}

impl<T: Scalar> Scheme<T> for RungeKutta<T> {
    fn prepare(&mut self, field: &mut dyn VectorField<T>, t: T, y: &DVector<T>) -> bool {
        self.ensure_k0(field, t, y);
        true
    }

    fn size(&mut self) -> &mut StepSize<T> {
        &mut self.size
    }

    /// SciPy's `select_initial_step` ([`crate::initial`]), with the stage buffers as
    /// scratch.
    /// k₀ = f(t, y) is the first stage; the stage buffer and the last stage are scratch.
    fn initial_parts(&mut self) -> InitialParts<'_, T> {
        let last = self.k.len() - 1;
        let (head, tail) = self.k.split_at_mut(last);
        InitialParts {
            f0: &head[0],
            order: self.tableau.error_order,
            scratch: (&mut self.stage, &mut tail[0]),
        }
    }

    /// The stages and y₊ = y + h Σ bᵢkᵢ; under error control also f(y₊) (the last stage
    /// of an FSAL pair) and the error h Σ eᵢkᵢ in the weighted RMS norm.
    fn attempt(
        &mut self,
        field: &mut dyn VectorField<T>,
        t: T,
        y: &DVector<T>,
        y_new: &mut DVector<T>,
        h: T,
        tol: Option<(T, T)>,
    ) -> Option<T> {
        let tab = self.tableau;
        self.stages(field, t, y, h);
        combine(y_new, y, h, tab.b, &self.k);
        let Some((rtol, atol)) = tol else {
            return Some(T::zero());
        };
        let s = tab.stages();
        field.eval(t + h, y_new, &mut self.k[s]);
        // The stage buffer as scratch for the error vector.
        combine_increment(&mut self.stage, h, tab.e.unwrap_or(&[]), &self.k);
        Some(error_norm(&self.stage, y, y_new, rtol, atol))
    }

    /// An explicit attempt cannot fail; were it to, shrink as for an error that is not
    /// finite.
    fn after_failure(&self, h: T, control: &ErrorControl<T>) -> T {
        h * control.reject(lit(f64::NAN))
    }

    /// Under error control f(y₊) is in the last stage's buffer and becomes k₀; at a fixed
    /// step it was not evaluated.
    fn accepted(&mut self) {
        if matches!(self.size, StepSize::Adaptive { .. }) {
            let s = self.tableau.stages();
            self.k.swap(0, s);
            self.k0_valid = true;
        } else {
            self.k0_valid = false;
        }
    }
}

impl<T: Scalar> Stepper<T> for RungeKutta<T> {
    fn derivative(&mut self, field: &mut dyn VectorField<T>, t: T, y: &DVector<T>) -> &DVector<T> {
        self.ensure_k0(field, t, y);
        &self.k[0]
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
        self.k0_valid = false;
    }

    fn next_step_size(&self) -> Option<T> {
        self.size.next()
    }
}

/// out = h Σⱼ coef\[j\]·k\[j\].
#[inline]
fn combine_increment<T: Scalar>(out: &mut DVector<T>, h: T, coef: &[f64], k: &[DVector<T>]) {
    for (m, o) in out.iter_mut().enumerate() {
        let mut acc = T::zero();
        for (j, &c) in coef.iter().enumerate() {
            if c != 0.0 {
                acc += lit::<T>(c) * k[j][m];
            }
        }
        *o = h * acc;
    }
}
