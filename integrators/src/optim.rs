//! The optimizers as integrators: explicit Euler steps θ₊ = θ − h ⊙ d on the gradient
//! flow, under the step-size rules of Su Jianlin's "adaptive learning rates" argument.
//!
//! The field is f = −∇L, so the gradient is g = −f (exact in floating point). Every
//! method here is one Euler step with a rule for h:
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
//! to round-off.
//!
//! **Virtual time.** Each step reports the ODE time it advanced, `dt = c·h̄`:
//! * h̄ is the step for a scalar rule, and for a per-component (diagonal) rule the
//!   gradient-weighted mean h̄ = Σhᵢgᵢ²/Σgᵢ²: the scalar step whose GD step decreases L by
//!   the same amount to first order. In one dimension it is h itself, so a per-component
//!   method and its global variant report the same t.
//! * c = (1 − τ)/(1 − μ) for heavy-ball momentum μ with dampening τ (SGD's and RMSprop's
//!   momentum): the flow time at which heavy ball tracks the gradient flow (Kovachki &
//!   Stuart, JMLR 22 (2021)); c = 1 otherwise (Adam's m is an average, not a sum).

use crate::scalar::lit;
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

/// `torch.lerp(a, b, w)`: a + w(b − a) for |w| < ½, else b − (b − a)(1 − w).
#[inline]
fn lerp<T: Scalar>(a: T, b: T, w: T) -> T {
    if w.abs() < lit(0.5) {
        a + w * (b - a)
    } else {
        b - (b - a) * (T::one() - w)
    }
}

/// Running summary of the per-component steps hᵢ of one step.
struct Diag<T> {
    min: T,
    max: T,
    hg2: T,
    g2: T,
    /// Components with gᵢ ≠ 0, and the last such hᵢ.
    count: usize,
    last: T,
}

impl<T: Scalar> Diag<T> {
    fn new() -> Self {
        Diag {
            min: T::max_value().unwrap_or(T::one()),
            max: T::zero(),
            hg2: T::zero(),
            g2: T::zero(),
            count: 0,
            last: T::zero(),
        }
    }

    #[inline]
    fn add(&mut self, h: T, g: T) {
        self.min = self.min.min(h);
        self.max = self.max.max(h);
        let g2 = g * g;
        self.hg2 += h * g2;
        self.g2 += g2;
        if g != T::zero() {
            self.count += 1;
            self.last = h;
        }
    }

    /// The gradient-weighted mean Σhᵢgᵢ²/Σgᵢ² (0 when g = 0); a single weighted value is
    /// returned as it is, so that in one dimension h̄ = h exactly.
    fn mean(&self) -> T {
        if self.count == 1 {
            self.last
        } else if self.g2 > T::zero() {
            self.hg2 / self.g2
        } else {
            T::zero()
        }
    }
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
    /// f(t, y) = −∇L at the current point, when valid.
    f: DVector<T>,
    f_valid: bool,
    /// Per-component step range (min, max) of the last step, for diagonal rules.
    h_range: Option<(T, T)>,
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
            h_range: None,
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
        self.h_range
    }

    /// Writes θ₊ from θ and returns (h̄, diagonal range). `t_room`: time left before the
    /// limit, for rules that can shorten their step.
    fn update(&mut self, y: &DVector<T>, out: &mut DVector<T>, t_room: Option<T>) -> (T, bool) {
        let lr = self.lr;
        let neg_lr = -lr;
        let f = &self.f;
        let k = self.steps;
        let mut diag = Diag::new();
        let mut landed = false;
        let mut is_diag = true;
        let h = match &mut self.rule {
            Rule::Fixed {
                momentum,
                dampening,
                nesterov,
                buf,
            } => {
                is_diag = false;
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
                    out.zip_zip_apply(y, f, |o, th, fi| *o = th + neg_h * -fi);
                    h
                } else {
                    let damp = T::one() - tau;
                    let first = k == 1;
                    for ((o, (&th, &fi)), b) in out
                        .iter_mut()
                        .zip(y.iter().zip(f.iter()))
                        .zip(buf.iter_mut())
                    {
                        let g = -fi;
                        *b = if first { g } else { mu * *b + damp * g };
                        let d = if *nesterov { g + mu * *b } else { *b };
                        *o = th + neg_lr * d;
                    }
                    lr
                }
            }
            Rule::Normalized => {
                is_diag = false;
                let norm = f.norm();
                if norm == T::zero() {
                    out.copy_from(y);
                    T::zero()
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
                    out.zip_zip_apply(y, f, |o, th, fi| *o = th + step * (-fi / norm));
                    h
                }
            }
            Rule::Sign => {
                for (o, (&th, &fi)) in out.iter_mut().zip(y.iter().zip(f.iter())) {
                    let g = -fi;
                    let s = if g > T::zero() {
                        T::one()
                    } else if g < T::zero() {
                        -T::one()
                    } else {
                        T::zero()
                    };
                    if g != T::zero() {
                        diag.add(lr / g.abs(), g);
                    }
                    *o = th + neg_lr * s;
                }
                diag.mean()
            }
            Rule::RmsNorm { alpha, eps, g2 } => {
                is_diag = false;
                let norm = f.norm();
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
                out.zip_zip_apply(y, f, |o, th, fi| *o = th + (step * -fi) / avg);
                h
            }
            Rule::Rms {
                alpha,
                eps,
                centered,
                momentum,
                v,
                gbar,
                buf,
            } => {
                let (a, e, mu) = (*alpha, *eps, *momentum);
                let one_minus = T::one() - a;
                for i in 0..y.len() {
                    let g = -f[i];
                    v[i] = a * v[i] + one_minus * g * g;
                    let avg = if *centered {
                        gbar[i] = lerp(gbar[i], g, one_minus);
                        (v[i] + -gbar[i] * gbar[i]).sqrt()
                    } else {
                        v[i].sqrt()
                    } + e;
                    diag.add(lr / avg, g);
                    out[i] = if mu > T::zero() {
                        buf[i] = mu * buf[i] + g / avg;
                        y[i] + neg_lr * buf[i]
                    } else {
                        y[i] + (neg_lr * g) / avg
                    };
                }
                diag.mean()
            }
            Rule::Adagrad { eps, lr_decay, sum } => {
                let clr = lr / (T::one() + lit::<T>((k - 1) as f64) * *lr_decay);
                let neg_clr = -clr;
                for i in 0..y.len() {
                    let g = -f[i];
                    sum[i] += g * g;
                    let std = sum[i].sqrt() + *eps;
                    diag.add(clr / std, g);
                    out[i] = y[i] + (neg_clr * g) / std;
                }
                diag.mean()
            }
            Rule::Adam {
                beta1,
                beta2,
                eps,
                amsgrad,
                m,
                v,
                vmax,
            } => {
                let kf = lit::<T>(k as f64);
                let bc1 = T::one() - beta1.powf(kf);
                let bc2 = T::one() - beta2.powf(kf);
                let step = lr / bc1;
                let neg_step = -step;
                let bc2_sqrt = bc2.powf(lit(0.5));
                let (w1, w2) = (T::one() - *beta1, T::one() - *beta2);
                for i in 0..y.len() {
                    let g = -f[i];
                    m[i] = lerp(m[i], g, w1);
                    v[i] = *beta2 * v[i] + w2 * g * g;
                    let second = if *amsgrad {
                        vmax[i] = vmax[i].max(v[i]);
                        vmax[i]
                    } else {
                        v[i]
                    };
                    let denom = second.sqrt() / bc2_sqrt + *eps;
                    diag.add(step / denom, g);
                    out[i] = y[i] + (neg_step * m[i]) / denom;
                }
                diag.mean()
            }
        };
        self.h_range = is_diag.then_some((diag.min.min(diag.max), diag.max));
        (h, landed)
    }
}

impl<T: Scalar> Stepper<T> for Optimizer<T> {
    fn derivative(&mut self, field: &mut dyn VectorField<T>, t: T, y: &DVector<T>) -> &DVector<T> {
        if !self.f_valid {
            field.eval(t, y, &mut self.f);
            self.f_valid = true;
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
        self.derivative(field, t, y);
        self.steps += 1;
        let room = match t_limit {
            Some(tl) if self.rule.is_scalar_without_memory() => Some(tl - t),
            _ => None,
        };
        let (h, landed) = self.update(y, y_new, room);
        self.f_valid = false;
        StepResult::Accepted(Accepted {
            h,
            dt: self.rule.time_factor() * h,
            rejected: 0,
            landed,
        })
    }

    fn invalidate(&mut self) {
        self.f_valid = false;
    }

    fn next_step_size(&self) -> Option<T> {
        Some(self.lr)
    }

    fn step_range(&self) -> Option<(T, T)> {
        self.h_range
    }
}
