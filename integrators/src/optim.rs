//! The optimizers as integrators: explicit Euler steps θ₊ = θ − h ⊙ d on the gradient
//! flow, under the step-size rules of Su Jianlin's "adaptive learning rates" argument.
//!
//! The field is f = −∇L, and a step reads the gradient g: ∇L itself from a field that
//! gives it ([`VectorField::gradient`], a gradient flow), else −f (exact). A run stepped
//! one step at a time reads −f (the driver evaluates f to check it), a run in one loop
//! ([`Stepper::advance`]) ∇L; `GradientFlow`'s f is 0 − ∇L, so the two can differ only
//! where a component of ∇L is +0, and only in the sign of a zero (of θ, or of a momentum
//! buffer). Every method here is one Euler step with a rule for h:
//!
//! | rule | step h | source |
//! |---|---|---|
//! | [`Rule::Fixed`] | h = lr (with optional heavy-ball momentum) | `torch.optim.SGD` |
//! | [`Rule::Normalized`] | h = lr/‖g‖₂: θ moves exactly lr | the article's error control |
//! | [`Rule::Sign`] | hᵢ = lr/\|gᵢ\|: θ ← θ − lr·sign(g) | the same, per component |
//! | [`Rule::RmsNorm`] | h = lr/(√G + ε), G ← αG + (1−α)‖g‖² | the article's eq. (14) |
//! | [`Rule::Rms`] | hᵢ = lr/(√vᵢ + ε), v ← αv + (1−α)g⊙g | eq. (15), `torch.optim.RMSprop` |
//! | [`Rule::Adagrad`] | hᵢ = lr/(√Sᵢ + ε), S ← S + g⊙g | `torch.optim.Adagrad` |
//! | [`Rule::Adam`] | hᵢ = (lr/b₁)/(√vᵢ/√b₂ + ε) on d = m | `torch.optim.Adam` |
//!
//! Floating-point operations follow PyTorch's `_single_tensor_*` code paths in order
//! (e.g. `addcdiv` computes θ + ((−lr)·g)/avg), so a float64 run reproduces a PyTorch run
//! to round-off. One exception, for speed: Adam divides once per component, r = 1/dᵢ with
//! dᵢ = √vᵢ·(1/√b₂) + ε, and steps by (−lr/b₁·mᵢ)·r, where PyTorch divides twice
//! (√vᵢ/√b₂, then mᵢ/dᵢ); θ moves by at most one rounding more per step.
//!
//! **Virtual time.** Each step reports the ODE time it advanced, `dt = c·h̄`:
//! * h̄ is the step for a scalar rule, and for a per-component (diagonal) rule the
//!   gradient-weighted mean h̄ = Σhᵢgᵢ²/Σgᵢ²: the scalar step whose GD step decreases L by
//!   the same amount to first order. In one dimension it is h itself, so a per-component
//!   method and its global variant report the same t.
//! * c = (1 − τ)/(1 − μ) for heavy-ball momentum μ with dampening τ (SGD's and RMSprop's
//!   momentum): the flow time at which heavy ball tracks the gradient flow (Kovachki &
//!   Stuart, JMLR 22 (2021)); c = 1 otherwise (Adam's m is an average, not a sum).

use crate::driver::{Evals, Leg, Next};
use crate::kernel::{
    dispatch, elementwise, leaf_loop, nest, sweep, zip_all, Block, Lanes, Summary, Theta,
};
use crate::scalar::{lit, norm_squared, sized, sized_mut};
use crate::stepper::{Accepted, StepResult, Stepper};
use crate::{Scalar, VectorField};
use nalgebra::DVector;
use serde::{Deserialize, Serialize};

/// A step-size rule with its state (accumulators, momentum buffers).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(bound = "T: Scalar")]
#[serde(rename_all = "snake_case")]
pub enum Rule<T: Scalar> {
    /// h = lr; with `momentum` μ > 0, SGD's heavy ball: b ← g on the first step, then
    /// b ← μb + (1 − τ)g; d = g + μb (Nesterov) or b; θ ← θ − lr·d.
    Fixed {
        /// Momentum μ (0: plain gradient descent).
        momentum: T,
        /// Dampening τ.
        dampening: T,
        /// Nesterov's variant.
        nesterov: bool,
        /// Momentum buffer b.
        buf: DVector<T>,
    },
    /// h = lr/‖g‖₂: θ ← θ − lr·g/‖g‖ moves exactly lr per step.
    Normalized,
    /// hᵢ = lr/|gᵢ|: θ ← θ − lr·sign(g).
    Sign,
    /// One scalar accumulator G ← αG + (1 − α)‖g‖²; h = lr/(√G + ε) (eq. 14).
    RmsNorm {
        /// Decay α.
        alpha: T,
        /// ε, added after the square root.
        eps: T,
        /// The accumulator G.
        g2: T,
    },
    /// Per-component accumulator v ← αv + (1 − α)g⊙g; hᵢ = lr/(√vᵢ + ε) (eq. 15,
    /// RMSprop). Centered: √(v − ḡ⊙ḡ) with ḡ ← lerp(ḡ, g, 1 − α). Momentum μ > 0:
    /// b ← μb + g/avg, θ ← θ − lr·b.
    Rms {
        /// Decay α.
        alpha: T,
        /// ε, added after the square root.
        eps: T,
        /// Subtract the squared mean gradient.
        centered: bool,
        /// Momentum μ.
        momentum: T,
        /// v.
        v: DVector<T>,
        /// ḡ (centered only).
        gbar: DVector<T>,
        /// b (momentum only).
        buf: DVector<T>,
    },
    /// S ← S + g⊙g (S₀ = initial accumulator); hᵢ = clr/(√Sᵢ + ε), clr = lr/(1 + (k−1)η).
    Adagrad {
        /// ε.
        eps: T,
        /// Learning-rate decay η.
        lr_decay: T,
        /// S.
        sum: DVector<T>,
    },
    /// m ← lerp(m, g, 1 − β₁), v ← β₂v + (1 − β₂)g⊙g; θ ← θ − (lr/b₁)·m/(√v/√b₂ + ε),
    /// b₁ = 1 − β₁ᵏ, b₂ = 1 − β₂ᵏ; AMSGrad uses v̂ = max(v̂, v) for v.
    Adam {
        /// β₁.
        beta1: T,
        /// β₂.
        beta2: T,
        /// ε.
        eps: T,
        /// AMSGrad.
        amsgrad: bool,
        /// First moment m.
        m: DVector<T>,
        /// Second moment v.
        v: DVector<T>,
        /// max v (AMSGrad only).
        vmax: DVector<T>,
    },
}

impl<T: Scalar> Rule<T> {
    /// SGD, with heavy-ball momentum when `momentum > 0`.
    pub fn sgd(momentum: T, dampening: T, nesterov: bool, dim: usize) -> Self {
        let n = if momentum > T::zero() { dim } else { 0 };
        Rule::Fixed {
            momentum,
            dampening,
            nesterov,
            buf: DVector::zeros(n),
        }
    }

    /// The scalar accumulator of eq. (14).
    pub fn rms_norm(alpha: T, eps: T) -> Self {
        Rule::RmsNorm {
            alpha,
            eps,
            g2: T::zero(),
        }
    }

    /// RMSprop's per-component accumulator (eq. 15).
    pub fn rms(alpha: T, eps: T, centered: bool, momentum: T, dim: usize) -> Self {
        Rule::Rms {
            alpha,
            eps,
            centered,
            momentum,
            v: DVector::zeros(dim),
            gbar: DVector::zeros(if centered { dim } else { 0 }),
            buf: DVector::zeros(if momentum > T::zero() { dim } else { 0 }),
        }
    }

    /// Adagrad with S₀ = `initial` in every component.
    pub fn adagrad(eps: T, lr_decay: T, initial: T, dim: usize) -> Self {
        Rule::Adagrad {
            eps,
            lr_decay,
            sum: DVector::from_element(dim, initial),
        }
    }

    /// Adam (AMSGrad when `amsgrad`).
    pub fn adam(beta1: T, beta2: T, eps: T, amsgrad: bool, dim: usize) -> Self {
        Rule::Adam {
            beta1,
            beta2,
            eps,
            amsgrad,
            m: DVector::zeros(dim),
            v: DVector::zeros(dim),
            vmax: DVector::zeros(if amsgrad { dim } else { 0 }),
        }
    }

    /// c in dt = c·h̄: (1 − τ)/(1 − μ) for heavy-ball momentum, else 1.
    pub fn time_factor(&self) -> T {
        match self {
            Rule::Fixed {
                momentum,
                dampening,
                ..
            } if *momentum > T::zero() => (T::one() - *dampening) / (T::one() - *momentum),
            Rule::Rms { momentum, .. } if *momentum > T::zero() => {
                T::one() / (T::one() - *momentum)
            }
            _ => T::one(),
        }
    }

    /// Whether the step is one scalar h times the gradient (so it can be shortened to
    /// land on a time limit).
    fn is_scalar_without_memory(&self) -> bool {
        match self {
            Rule::Fixed { momentum, .. } => *momentum == T::zero(),
            Rule::Normalized | Rule::RmsNorm { .. } => true,
            _ => false,
        }
    }
}

/// `R` of [`Optimizer::update`]: every rule (`ANY`), or the one rule it is compiled for,
/// so that a loop over many steps of one rule holds that rule's code alone.
const ANY: u8 = 0;

/// The rules' numbers for `R`.
mod kind {
    pub const FIXED: u8 = 1;
    pub const NORMALIZED: u8 = 2;
    pub const SIGN: u8 = 3;
    pub const RMS_NORM: u8 = 4;
    pub const RMS: u8 = 5;
    pub const ADAGRAD: u8 = 6;
    pub const ADAM: u8 = 7;
}

/// `torch.lerp(a, b, w)` for a fixed weight: a + w(b − a) for |w| < ½, else
/// b − (b − a)(1 − w).
#[derive(Clone, Copy)]
struct Lerp<T> {
    /// w, or −(1 − w) for the form from b.
    coef: T,
    small: bool,
}

impl<T: Scalar> Lerp<T> {
    fn new(w: T) -> Self {
        let small = w.abs() < lit(0.5);
        Lerp {
            coef: if small { w } else { -(T::one() - w) },
            small,
        }
    }

    /// b − d(1 − w) is computed as b + d·(−(1 − w)), the same bits (negation is exact),
    /// so both branches are one multiply and one add from a selected base (no fused
    /// multiply–add): the loop vectorizes.
    #[inline(always)]
    fn at(self, a: T, b: T) -> T {
        let d = b - a;
        let base = if self.small { a } else { b };
        base + self.coef * d
    }
}

/// One sweep of a rule without state or sums: θ₊ᵢ = `$body` of θᵢ = `$th`, gᵢ = `$g`.
macro_rules! stateless {
    ($theta:expr, |$th:ident, $g:ident| $body:expr) => {
        sweep(
            Block {
                theta: $theta,
                state: [],
            },
            #[inline(always)]
            |b: Block<'_, T, 0>| {
                dispatch(
                    b.len(),
                    #[inline(always)]
                    || elementwise!(b, [], |$th, $g, _j| $body),
                );
                Summary::empty()
            },
        )
    };
}

/// One sweep of a per-component rule over θ and the state columns named (each name is a
/// mutable vector of the rule, and inside `$body` the chunk holding component `$j`):
/// `$body` gives (θ₊ᵢ, hᵢgᵢ², dᵢ) and the sweep returns Σhᵢgᵢ² and Σgᵢ², in lanes (see
/// [`crate::kernel`]).
macro_rules! per_component {
    ($theta:expr, [$($s:ident),+], |$th:ident, $g:ident, $j:ident| $body:block) => {
        sweep(
            Block {
                theta: $theta,
                state: [$($s.as_mut_slice()),+],
            },
            #[inline(always)] |b| {
                if b.len() < $crate::kernel::LANES {
                    // Fewer components than lanes: each would sit alone in its lane and the
                    // lanes are added in order, so plain running sums give the same bits,
                    // without setting up the lanes (what a step at n = 2 costs).
                    let (mut hg2s, mut g2s) = (T::zero(), T::zero());
                    elementwise!(b, [$($s),+], |$th, $g, $j| {
                        let (next, hg2, _) = $body;
                        hg2s += hg2;
                        g2s += $g * $g;
                        next
                    });
                    return Summary {
                        hg2: hg2s,
                        g2: g2s,
                        ..Summary::empty()
                    };
                }
                dispatch(
                    b.len(),
                    #[inline(always)]
                    || {
                        let mut acc = Lanes::new(false);
                        let len = leaf_loop!(b, [$($s),+], |$th, $g, $j| {
                            let (next, hg2, d) = $body;
                            acc.add($j, hg2, $g * $g, d, d);
                            next
                        });
                        acc.finish(len)
                    },
                )
            },
        )
    };
}

/// An optimizer: explicit Euler steps on the gradient flow under a [`Rule`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(bound = "T: Scalar")]
pub struct Optimizer<T: Scalar> {
    /// Learning rate lr.
    pub lr: T,
    /// The step-size rule and its state.
    pub rule: Rule<T>,
    /// Steps taken (PyTorch's `step`).
    pub steps: u64,
    /// f(t, y) = −∇L at the current point, when valid; the gradient ∇L = −f instead
    /// when `holds_gradient` (from a field that gives it, [`VectorField::gradient`]).
    f: DVector<T>,
    f_valid: bool,
    #[serde(default)]
    holds_gradient: bool,
    /// The per-component step range of the last step, or what it takes to work it out.
    #[serde(default)]
    range: StepRange<T>,
}

impl<T: Scalar> Optimizer<T> {
    /// An optimizer with learning rate `lr` and `rule`, for a state of dimension `dim`.
    pub fn new(lr: T, rule: Rule<T>, dim: usize) -> Self {
        Optimizer {
            lr,
            rule,
            steps: 0,
            f: DVector::zeros(dim),
            f_valid: false,
            holds_gradient: false,
            range: StepRange::None,
        }
    }

    /// Whether every buffer fits a state of dimension `dim` (a check for a state read
    /// back from a file).
    pub fn is_consistent(&self, dim: usize) -> bool {
        let fits = |v: &DVector<T>, used: bool| v.len() == if used { dim } else { 0 };
        self.f.len() == dim
            && match &self.rule {
                Rule::Fixed { momentum, buf, .. } => fits(buf, *momentum > T::zero()),
                Rule::Normalized | Rule::Sign | Rule::RmsNorm { .. } => true,
                Rule::Rms {
                    centered,
                    momentum,
                    v,
                    gbar,
                    buf,
                    ..
                } => fits(v, true) && fits(gbar, *centered) && fits(buf, *momentum > T::zero()),
                Rule::Adagrad { sum, .. } => fits(sum, true),
                Rule::Adam {
                    amsgrad,
                    m,
                    v,
                    vmax,
                    ..
                } => fits(m, true) && fits(v, true) && fits(vmax, *amsgrad),
            }
    }

    /// (min, max) of the per-component step hᵢ in the last step (diagonal rules only).
    pub fn step_range(&self) -> Option<(T, T)> {
        self.range.resolve(&self.rule)
    }

    /// One step in place, the way `torch.optim` steps: θ ← θ + Δ(g) for the gradient
    /// `grad` at `theta`, updating the rule's state. Returns the ODE time advanced,
    /// dt = c·h̄ (see the module documentation).
    ///
    /// This is the fused kernel without the integrator around it: one sweep over θ, g
    /// and the state. An [`crate::Integrator`] instead writes θ₊ into a second vector,
    /// so that it can return to θₖ when a step diverges.
    ///
    /// ```
    /// use gradflow_integrators::optim::{Optimizer, Rule};
    /// use nalgebra::DVector;
    ///
    /// // L = ½‖θ‖²: g = θ, so SGD with lr = 0.1 scales θ by 0.9 each step.
    /// let mut opt = Optimizer::new(0.1, Rule::sgd(0.0, 0.0, false, 2), 2);
    /// let mut theta = DVector::from_vec(vec![1.0, -2.0]);
    /// let grad = theta.clone();
    /// let dt = opt.step_in_place(&mut theta, &grad).unwrap();
    /// assert_eq!((dt, theta[0], theta[1]), (0.1, 0.9, -1.8));
    /// ```
    pub fn step_in_place(
        &mut self,
        theta: &mut DVector<T>,
        grad: &DVector<T>,
    ) -> Result<T, DimensionError> {
        if !self.is_consistent(theta.len()) || grad.len() != theta.len() {
            return Err(DimensionError {
                expected: self.f.len(),
                theta: theta.len(),
                grad: grad.len(),
            });
        }
        self.steps += 1;
        let scalars = Scalars::of::<ANY>(&self.rule, self.lr, self.steps);
        let (h, _, range) = Self::update::<ANY>(
            &mut self.rule,
            self.lr,
            self.steps,
            scalars,
            Theta::in_place(theta.as_mut_slice(), grad.as_slice()),
            None,
        );
        self.range = range;
        Ok(self.rule.time_factor() * h)
    }

    /// The steps of [`Stepper::advance`], compiled for rule `R` alone (and for states of
    /// one to four components, for their dimension too).
    fn leg<const R: u8>(&mut self, field: &mut dyn VectorField<T>, leg: &mut Leg<'_, T>) {
        match (leg.dim(), self.f.len()) {
            (1, 1) => self.leg_sized::<R, 1>(field, leg),
            (2, 2) => self.leg_sized::<R, 2>(field, leg),
            (3, 3) => self.leg_sized::<R, 3>(field, leg),
            (4, 4) => self.leg_sized::<R, 4>(field, leg),
            _ => self.leg_sized::<R, 0>(field, leg),
        }
    }

    /// [`Optimizer::leg`] for states of dimension `N` (0: any): every loop of a step over
    /// a tiny state unrolls, with no trip count to keep ([`crate::scalar::sized`]).
    #[inline(always)]
    fn leg_sized<const R: u8, const N: usize>(
        &mut self,
        field: &mut dyn VectorField<T>,
        leg: &mut Leg<'_, T>,
    ) {
        let form = self.step_form();
        // Each step's scalars are worked out during the step before (see `Scalars`).
        let mut next = Scalars::of::<R>(&self.rule, self.lr, self.steps + 1);
        leg.run_sized::<N>(
            #[inline(always)]
            |t, y, y_new, t_end| {
                let evals = Evals {
                    field: u64::from(self.load(field, t, y)),
                    jacobian: 0,
                };
                // ‖g‖² = ‖f‖² (negation is exact). Over the whole slice, not `sized`: the
                // unrolled sum would read g as one vector, just after the field wrote it
                // component by component, and such a load waits for the stores to retire
                // (a store-forwarding stall: measured, a third of a step at n = 2).
                if !norm_squared(self.f.as_slice()).is_finite() {
                    return Next::FieldNotFinite(evals);
                }
                let (y, y_new) = (
                    sized::<N, _>(y.as_slice()),
                    sized_mut::<N, _>(y_new.as_mut_slice()),
                );
                let a = self.euler_step::<R, N>(t, y, y_new, t_end, form, next);
                next = Scalars::of::<R>(&self.rule, self.lr, self.steps + 1);
                Next::Stepped(a, evals)
            },
        );
    }

    /// What a step needs of the rule besides its state: the time factor c and whether
    /// the step may be shortened to land on a time limit (worked out once per leg).
    fn step_form(&self) -> (T, bool) {
        (
            self.rule.time_factor(),
            self.rule.is_scalar_without_memory(),
        )
    }

    /// Makes `self.f` hold what a step reads at the current point, evaluating the field
    /// if it holds nothing valid: the gradient where the field gives it
    /// ([`VectorField::gradient`]: ∇L itself, for a gradient flow), else f. Returns
    /// whether the field was evaluated.
    #[inline(always)]
    fn load(&mut self, field: &mut dyn VectorField<T>, t: T, y: &DVector<T>) -> bool {
        let fresh = !self.f_valid;
        if fresh {
            self.f_valid = true;
            self.holds_gradient = field.gradient(t, y, &mut self.f);
            if !self.holds_gradient {
                field.eval(t, y, &mut self.f);
            }
        }
        fresh
    }

    /// One Euler step from (t, y) into `y_new` with f(t, y) or g(t, y) already in `self.f`;
    /// `(c, lands)` is [`Optimizer::step_form`], `scalars` the step's [`Scalars`].
    #[inline(always)]
    fn euler_step<const R: u8, const N: usize>(
        &mut self,
        t: T,
        y: &[T],
        y_new: &mut [T],
        t_limit: Option<T>,
        (c, lands): (T, bool),
        scalars: Scalars<T>,
    ) -> Accepted<T> {
        self.steps += 1;
        let room = match t_limit {
            Some(tl) if lands => Some(tl - t),
            _ => None,
        };
        let (h, landed, range) = Self::update::<R>(
            &mut self.rule,
            self.lr,
            self.steps,
            scalars,
            Theta::step(
                y,
                y_new,
                sized::<N, _>(self.f.as_slice()),
                !self.holds_gradient,
            ),
            room,
        );
        self.range = range;
        self.f_valid = false;
        Accepted {
            h,
            dt: c * h,
            rejected: 0,
            landed,
        }
    }

    /// Writes θ₊ and returns (h̄, whether the step was shortened to land on the limit).
    /// `t_room`: time left before the limit, for rules that can shorten their step.
    /// `k` is the step's number (from 1) and `scalars` its [`Scalars`]; returns h̄,
    /// whether the step landed, and the per-component step range.
    #[inline(always)]
    fn update<const R: u8>(
        rule: &mut Rule<T>,
        lr: T,
        k: u64,
        scalars: Scalars<T>,
        theta: Theta<'_, T>,
        t_room: Option<T>,
    ) -> (T, bool, StepRange<T>) {
        let neg_lr = -lr;
        let n = theta.len();
        let mut landed = false;
        // Per-component rules return hᵢ = c/dᵢ's summary and c.
        let (h, diag) = match rule {
            Rule::Fixed {
                momentum,
                dampening,
                nesterov,
                buf,
            } if R == ANY || R == kind::FIXED => {
                let (mu, tau) = (*momentum, *dampening);
                if mu == T::zero() {
                    let mut h = lr;
                    if let Some(room) = t_room {
                        if room <= h {
                            h = room;
                            landed = true;
                        }
                    }
                    let neg_h = -h;
                    stateless!(theta, |th, g| th + neg_h * g);
                    (h, Diag::None)
                } else {
                    let damp = T::one() - tau;
                    let first = k == 1;
                    let nesterov = *nesterov;
                    let block = Block {
                        theta,
                        state: [buf.as_mut_slice()],
                    };
                    sweep(
                        block,
                        #[inline(always)]
                        |b: Block<'_, T, 1>| {
                            dispatch(
                                b.len(),
                                #[inline(always)]
                                || {
                                    elementwise!(b, [buf], |th, g, j| {
                                        let b = if first { g } else { mu * buf[j] + damp * g };
                                        buf[j] = b;
                                        let d = if nesterov { g + mu * b } else { b };
                                        th + neg_lr * d
                                    })
                                },
                            );
                            Summary::empty()
                        },
                    );
                    (lr, Diag::None)
                }
            }
            Rule::Normalized if R == ANY || R == kind::NORMALIZED => {
                let norm = gradient_norm(&theta);
                if norm == T::zero() {
                    copy_theta(theta);
                    (T::zero(), Diag::None)
                } else {
                    let mut step = neg_lr;
                    let mut h = lr / norm;
                    if let Some(room) = t_room {
                        if room <= h {
                            // Shorten to land on the limit: θ − room·g.
                            step = -room * norm;
                            h = room;
                            landed = true;
                        }
                    }
                    stateless!(theta, |th, g| th + step * (g / norm));
                    (h, Diag::None)
                }
            }
            Rule::Sign if R == ANY || R == kind::SIGN => {
                let (zero, one, far) = (T::zero(), T::one(), Summary::<T>::empty().dmin);
                let s = sweep(
                    Block { theta, state: [] },
                    #[inline(always)]
                    |b: Block<'_, T, 0>| {
                        dispatch(
                            b.len(),
                            #[inline(always)]
                            || {
                                let mut acc = Lanes::new(true);
                                let len = leaf_loop!(b, [], |th, g, j| {
                                    let a = g.abs();
                                    let nonzero = g != zero;
                                    // hᵢ = lr/|gᵢ| over the components that move: hᵢgᵢ² = lr·|gᵢ|.
                                    acc.add(j, lr * a, g * g, if nonzero { a } else { far }, a);
                                    let s = if g > zero {
                                        one
                                    } else if g < zero {
                                        -one
                                    } else {
                                        zero
                                    };
                                    th + neg_lr * s
                                });
                                acc.finish(len)
                            },
                        )
                    },
                );
                (T::zero(), Diag::Sign(s))
            }
            Rule::RmsNorm { alpha, eps, g2 } if R == ANY || R == kind::RMS_NORM => {
                let norm = gradient_norm(&theta);
                // G ← αG + ((1 − α)‖g‖)‖g‖: addcmul's order on the scalar ‖g‖, so that in
                // one dimension this is RMSprop bit for bit (√(g²) = |g| exactly).
                *g2 = *alpha * *g2 + (T::one() - *alpha) * norm * norm;
                let avg = g2.sqrt() + *eps;
                let mut h = lr / avg;
                let mut step = neg_lr;
                if let Some(room) = t_room {
                    if room <= h {
                        h = room;
                        step = -room * avg;
                        landed = true;
                    }
                }
                stateless!(theta, |th, g| th + (step * g) / avg);
                (h, Diag::None)
            }
            Rule::Rms {
                alpha,
                eps,
                centered,
                momentum,
                v,
                gbar,
                buf,
            } if R == ANY || R == kind::RMS => {
                let (a, e, mu) = (*alpha, *eps, *momentum);
                let one_minus = T::one() - a;
                let lerp = Lerp::new(one_minus);
                let s = match (*centered, mu > T::zero()) {
                    (false, false) => per_component!(theta, [v], |th, g, j| {
                        let vi = a * v[j] + one_minus * g * g;
                        v[j] = vi;
                        let avg = vi.sqrt() + e;
                        let delta = (neg_lr * g) / avg;
                        (th + delta, -delta * g, avg)
                    }),
                    (true, false) => per_component!(theta, [v, gbar], |th, g, j| {
                        let vi = a * v[j] + one_minus * g * g;
                        v[j] = vi;
                        let gb = lerp.at(gbar[j], g);
                        gbar[j] = gb;
                        let avg = (vi + -gb * gb).sqrt() + e;
                        let delta = (neg_lr * g) / avg;
                        (th + delta, -delta * g, avg)
                    }),
                    (false, true) => per_component!(theta, [v, buf], |th, g, j| {
                        let vi = a * v[j] + one_minus * g * g;
                        v[j] = vi;
                        let avg = vi.sqrt() + e;
                        let q = g / avg;
                        let bi = mu * buf[j] + q;
                        buf[j] = bi;
                        (th + neg_lr * bi, (lr * q) * g, avg)
                    }),
                    (true, true) => per_component!(theta, [v, gbar, buf], |th, g, j| {
                        let vi = a * v[j] + one_minus * g * g;
                        v[j] = vi;
                        let gb = lerp.at(gbar[j], g);
                        gbar[j] = gb;
                        let avg = (vi + -gb * gb).sqrt() + e;
                        let q = g / avg;
                        let bi = mu * buf[j] + q;
                        buf[j] = bi;
                        (th + neg_lr * bi, (lr * q) * g, avg)
                    }),
                };
                (T::zero(), Diag::Lazy(s, lr, T::one()))
            }
            Rule::Adagrad { eps, sum, .. } if R == ANY || R == kind::ADAGRAD => {
                let clr = scalars.rate;
                let neg_clr = -clr;
                let e = *eps;
                let s = per_component!(theta, [sum], |th, g, j| {
                    let si = sum[j] + g * g;
                    sum[j] = si;
                    let std = si.sqrt() + e;
                    let delta = (neg_clr * g) / std;
                    (th + delta, -delta * g, std)
                });
                (T::zero(), Diag::Lazy(s, clr, T::one()))
            }
            Rule::Adam {
                beta1,
                beta2,
                eps,
                amsgrad,
                m,
                v,
                vmax,
            } if R == ANY || R == kind::ADAM => {
                let Scalars {
                    rate: step,
                    bc2_sqrt,
                    inv_bc2,
                } = scalars;
                let neg_step = -step;
                let (b2, e) = (*beta2, *eps);
                let w2 = T::one() - *beta2;
                let lerp = Lerp::new(T::one() - *beta1);
                // One division per component: r = 1/dᵢ gives both θ's step (−step·mᵢ)·r and
                // the reported time's hᵢgᵢ² = (step·r)·gᵢ², and √v̂ is scaled by 1/√b₂.
                // PyTorch divides twice (√v/√b₂, then m/d) and reports no time; the divider
                // (shared with √) is what bounds this step in cache. Each reordered
                // operation moves θ's step by at most one rounding. See docs/performance.md.
                let s = if *amsgrad {
                    per_component!(theta, [m, v, vmax], |th, g, j| {
                        let mi = lerp.at(m[j], g);
                        m[j] = mi;
                        let vi = b2 * v[j] + w2 * g * g;
                        v[j] = vi;
                        let top = vmax[j].max(vi);
                        vmax[j] = top;
                        let denom = top.sqrt() * inv_bc2 + e;
                        let r = T::one() / denom;
                        (th + (neg_step * mi) * r, (step * r) * (g * g), denom)
                    })
                } else {
                    per_component!(theta, [m, v], |th, g, j| {
                        let mi = lerp.at(m[j], g);
                        m[j] = mi;
                        let vi = b2 * v[j] + w2 * g * g;
                        v[j] = vi;
                        let denom = vi.sqrt() * inv_bc2 + e;
                        let r = T::one() / denom;
                        (th + (neg_step * mi) * r, (step * r) * (g * g), denom)
                    })
                };
                (T::zero(), Diag::Lazy(s, step, bc2_sqrt))
            }
            // `R` is the rule's own number wherever it is not `ANY` (`advance` chooses it).
            _ => unreachable!("update::<{R}> called on another rule"),
        };
        let range = match diag {
            Diag::None => return (h, landed, StepRange::None),
            // hᵢ = c/dᵢ, and division by a positive number is monotone: the extreme
            // steps are c over the extreme denominators, exactly.
            Diag::Sign(s) => StepRange::Known {
                lo: if s.dmax > T::zero() {
                    lr / s.dmax
                } else {
                    T::zero()
                },
                hi: if s.dmax > T::zero() {
                    lr / s.dmin
                } else {
                    T::zero()
                },
            },
            Diag::Lazy(_, c, bc2_sqrt) => StepRange::Lazy { c, bc2_sqrt },
        };
        let (Diag::Sign(s) | Diag::Lazy(s, ..)) = diag else {
            return (h, landed, range);
        };
        let h = if n == 1 {
            // One component: h̄ is its step, exactly (even where g² underflows).
            range.resolve(rule).map_or(T::zero(), |r| r.1)
        } else if s.g2 > T::zero() {
            s.hg2 / s.g2
        } else {
            T::zero()
        };
        (h, false, range)
    }
}

/// The scalars of step k that depend on k alone: Adam's step lr/b₁ with √b₂ and 1/√b₂
/// (b₁ = 1 − β₁ᵏ, b₂ = 1 − β₂ᵏ), Adagrad's decayed rate lr/(1 + (k − 1)η), lr for the other
/// rules.
///
/// Apart from the sweep so that a loop of steps can work out the next step's scalars
/// before the field is evaluated: Adam's two powers, square root and division then run
/// while the gradient is computed instead of after it (they are the longest chain of a
/// step at small n).
#[derive(Clone, Copy, Debug, PartialEq)]
struct Scalars<T> {
    rate: T,
    bc2_sqrt: T,
    inv_bc2: T,
}

impl<T: Scalar> Scalars<T> {
    /// The scalars of step `k` of `rule` (compiled for rule `R`, as
    /// [`Optimizer::update`]).
    #[inline(always)]
    fn of<const R: u8>(rule: &Rule<T>, lr: T, k: u64) -> Self {
        let plain = Scalars {
            rate: lr,
            bc2_sqrt: T::one(),
            inv_bc2: T::one(),
        };
        match rule {
            Rule::Adagrad { lr_decay, .. } if R == ANY || R == kind::ADAGRAD => Scalars {
                rate: lr / (T::one() + lit::<T>((k - 1) as f64) * *lr_decay),
                ..plain
            },
            Rule::Adam { beta1, beta2, .. } if R == ANY || R == kind::ADAM => {
                let kf = lit::<T>(k as f64);
                let bc1 = T::one() - beta1.powf(kf);
                let bc2 = T::one() - beta2.powf(kf);
                // PyTorch's bc2 ** 0.5 is pow(b₂, ½), which is √b₂ for every b₂ ≥ +0 (the
                // compiler makes that substitution itself, keeping fix-ups for −0 and −∞,
                // which b₂ = 1 − β₂ᵏ never is).
                let bc2_sqrt = bc2.sqrt();
                Scalars {
                    rate: lr / bc1,
                    bc2_sqrt,
                    inv_bc2: T::one() / bc2_sqrt,
                }
            }
            _ => plain,
        }
    }
}

/// What a rule's sweep reports: nothing (one scalar step), or the sums of hᵢgᵢ² and gᵢ²
/// with the range known (`Sign`) or with c (and Adam's √b₂) to work it out later.
enum Diag<T> {
    None,
    Sign(Summary<T>),
    Lazy(Summary<T>, T, T),
}

/// The per-component step range (min hᵢ, max hᵢ) of the last step.
///
/// Per-component rules have hᵢ = c/dᵢ with dᵢ a function of their state (√vᵢ + ε and
/// the like), so the range is worked out from the state when asked for, in a separate
/// sweep, instead of in every step's sweep: recording is off the hot path.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(bound = "T: Scalar")]
#[serde(rename_all = "snake_case")]
enum StepRange<T> {
    /// A scalar step.
    #[default]
    None,
    /// Known (sign descent: dᵢ = |gᵢ| is not state).
    Known { lo: T, hi: T },
    /// hᵢ = c/dᵢ from the state, with Adam's bias correction √b₂.
    Lazy { c: T, bc2_sqrt: T },
}

impl<T: Scalar> StepRange<T> {
    fn resolve(&self, rule: &Rule<T>) -> Option<(T, T)> {
        match *self {
            StepRange::None => None,
            StepRange::Known { lo, hi } => Some((lo, hi)),
            StepRange::Lazy { c, bc2_sqrt } => {
                let (lo, hi) = extreme_denominators(rule, bc2_sqrt)?;
                Some(if hi > T::zero() {
                    (c / hi, c / lo)
                } else {
                    (T::zero(), T::zero())
                })
            }
        }
    }
}

/// (min dᵢ, max dᵢ) from a per-component rule's state, with the kernels' arithmetic.
fn extreme_denominators<T: Scalar>(rule: &Rule<T>, bc2_sqrt: T) -> Option<(T, T)> {
    let mut lo = Summary::<T>::empty().dmin;
    let mut hi = T::zero();
    let mut see = |d: T| {
        if d < lo {
            lo = d;
        }
        if d > hi {
            hi = d;
        }
    };
    match rule {
        Rule::Rms {
            eps,
            centered: true,
            v,
            gbar,
            ..
        } => v
            .iter()
            .zip(gbar.iter())
            .for_each(|(&vi, &gb)| see((vi + -gb * gb).sqrt() + *eps)),
        Rule::Rms { eps, v, .. } => v.iter().for_each(|&vi| see(vi.sqrt() + *eps)),
        Rule::Adagrad { eps, sum, .. } => sum.iter().for_each(|&si| see(si.sqrt() + *eps)),
        Rule::Adam {
            eps,
            amsgrad,
            v,
            vmax,
            ..
        } => {
            let second = if *amsgrad { vmax } else { v };
            let inv_bc2 = T::one() / bc2_sqrt;
            second.iter().for_each(|&x| see(x.sqrt() * inv_bc2 + *eps));
        }
        _ => return None,
    }
    Some((lo, hi))
}

/// ‖g‖₂ of the gradient a step reads (nalgebra's norm, as before this kernel existed).
fn gradient_norm<T: Scalar>(theta: &Theta<'_, T>) -> T {
    let g = theta.dir;
    nalgebra::DVectorView::from_slice(g, g.len()).norm()
}

/// θ₊ = θ (a step of length zero).
fn copy_theta<T: Scalar>(theta: Theta<'_, T>) {
    if let Some(y) = theta.from {
        theta.out.copy_from_slice(y);
    }
}

/// θ, the gradient and the optimizer's state do not have matching dimensions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DimensionError {
    /// The optimizer's dimension.
    pub expected: usize,
    /// θ's length.
    pub theta: usize,
    /// The gradient's length.
    pub grad: usize,
}

impl std::fmt::Display for DimensionError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "optimizer of dimension {} given θ of length {} and a gradient of length {}",
            self.expected, self.theta, self.grad
        )
    }
}

impl std::error::Error for DimensionError {}

impl<T: Scalar> Stepper<T> for Optimizer<T> {
    fn derivative(&mut self, field: &mut dyn VectorField<T>, t: T, y: &DVector<T>) -> &DVector<T> {
        if !self.f_valid {
            field.eval(t, y, &mut self.f);
            (self.f_valid, self.holds_gradient) = (true, false);
        } else if self.holds_gradient {
            // f = 0 − g, the bits `GradientFlow::eval` writes.
            for x in self.f.iter_mut() {
                *x = T::zero() - *x;
            }
            self.holds_gradient = false;
        }
        &self.f
    }

    fn step(
        &mut self,
        field: &mut dyn VectorField<T>,
        t: T,
        y: &DVector<T>,
        y_new: &mut DVector<T>,
        t_limit: Option<T>,
    ) -> StepResult<T> {
        self.load(field, t, y);
        let form = self.step_form();
        let scalars = Scalars::of::<ANY>(&self.rule, self.lr, self.steps + 1);
        StepResult::Accepted(self.euler_step::<ANY, 0>(
            t,
            y.as_slice(),
            y_new.as_mut_slice(),
            t_limit,
            form,
            scalars,
        ))
    }

    /// The driver's loop without the driver: the same steps as [`Stepper::step`], with
    /// the rule's arithmetic inlined into one loop (what a step at small n costs). The
    /// loop is compiled for each rule, and for states of one to four components; it
    /// reads ∇L from the field where the field gives it ([`VectorField::gradient`]), and
    /// works each step's scalars (Adam's bias corrections) out during the step before.
    fn advance(&mut self, field: &mut dyn VectorField<T>, leg: &mut Leg<'_, T>) -> bool {
        match self.rule {
            Rule::Fixed { .. } => self.leg::<{ kind::FIXED }>(field, leg),
            Rule::Normalized => self.leg::<{ kind::NORMALIZED }>(field, leg),
            Rule::Sign => self.leg::<{ kind::SIGN }>(field, leg),
            Rule::RmsNorm { .. } => self.leg::<{ kind::RMS_NORM }>(field, leg),
            Rule::Rms { .. } => self.leg::<{ kind::RMS }>(field, leg),
            Rule::Adagrad { .. } => self.leg::<{ kind::ADAGRAD }>(field, leg),
            Rule::Adam { .. } => self.leg::<{ kind::ADAM }>(field, leg),
        }
        true
    }

    fn invalidate(&mut self) {
        self.f_valid = false;
    }

    fn next_step_size(&self) -> Option<T> {
        Some(self.lr)
    }

    fn step_range(&self) -> Option<(T, T)> {
        self.range.resolve(&self.rule)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// f = −y, with its potential's gradient ∇V = y given too.
    struct Bowl;

    impl VectorField<f64> for Bowl {
        fn eval(&mut self, _t: f64, y: &DVector<f64>, dy: &mut DVector<f64>) {
            dy.copy_from(&-y);
        }

        fn gradient(&mut self, _t: f64, y: &DVector<f64>, grad: &mut DVector<f64>) -> bool {
            grad.copy_from(y);
            true
        }
    }

    #[test]
    fn a_cached_gradient_is_handed_out_as_the_field_and_steps_the_same() {
        let y = DVector::from_vec(vec![1.5, -2.0, 0.0]);
        let sgd = || Optimizer::new(0.1, Rule::sgd(0.0, 0.0, false, 3), 3);
        let mut opt = sgd();
        assert!(opt.load(&mut Bowl, 0.0, &y), "a first load evaluates");
        assert!(!opt.load(&mut Bowl, 0.0, &y), "a second reads the cache");
        assert!(opt.holds_gradient);
        let f = opt.derivative(&mut Bowl, 0.0, &y).clone();
        assert_eq!(f.as_slice(), &[-1.5, 2.0, 0.0]);
        assert_eq!(f[2].to_bits(), 0.0f64.to_bits(), "0 − 0 is +0");
        // A step from the cached f equals a step from a freshly read g.
        let (mut from_f, mut from_g) = (DVector::zeros(3), DVector::zeros(3));
        opt.step(&mut Bowl, 0.0, &y, &mut from_f, None);
        sgd().step(&mut Bowl, 0.0, &y, &mut from_g, None);
        let want: Vec<u64> = y.iter().map(|&x| (x + -0.1 * x).to_bits()).collect();
        for got in [&from_f, &from_g] {
            assert_eq!(got.iter().map(|x| x.to_bits()).collect::<Vec<_>>(), want);
        }
    }
}
