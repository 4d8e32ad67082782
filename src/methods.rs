//! The method registry: spec → a configured stepper.
//!
//! Every method is a scheme under a step-size rule; see the table in `docs/methods.md` for
//! each formula and the meaning of its time `t`.

use crate::error::{Error, Result};
use crate::spec::{resolve, Key, Kind, Spec, Value};
use crate::steppers::AnyStepper;
use gradflow_integrators::rosw::{self, RosenbrockTableau};
use gradflow_integrators::tableau::{self, Tableau};
use gradflow_integrators::{
    Controller, ImplicitEuler, Optimizer, RosenbrockMethod, Rule, RungeKutta, Scalar, Stepper,
    Switching,
};

/// Which scheme and step-size rule a method is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MethodId {
    /// Explicit Euler at a fixed step.
    Euler,
    /// Classical RK4 at a fixed step.
    Rk4,
    /// Euler steps under Heun's error estimate.
    HeunEuler,
    /// Bogacki–Shampine 3(2).
    Bs23,
    /// Dormand–Prince 5(4).
    Dopri5,
    /// Euler under h = lr/‖g‖.
    Normalized,
    /// Euler under hᵢ = lr/|gᵢ|.
    Sign,
    /// SGD with heavy-ball momentum.
    Momentum,
    /// RMSprop (per-component accumulator, eq. 15).
    Rmsprop,
    /// Scalar accumulator (eq. 14).
    RmspropNorm,
    /// Adam.
    Adam,
    /// Adagrad.
    Adagrad,
    /// Backward Euler (the proximal point method), fixed or adaptive step.
    ImplicitEuler,
    /// Shampine & Reichelt's linearly implicit 2(3) Rosenbrock triple.
    Ros23,
    /// Hairer & Wanner's stiffly accurate Rosenbrock method of order 4(3).
    Rodas4,
    /// Dormand–Prince until the flow turns stiff, then RODAS4.
    Auto,
}

/// A registered method.
#[derive(Clone, Copy, Debug)]
pub struct MethodInfo {
    /// Which method.
    pub id: MethodId,
    /// Registry name.
    pub name: &'static str,
    /// One line of meaning.
    pub description: &'static str,
    /// Keys with defaults.
    pub keys: &'static [Key],
}

const fn num(name: &'static str, default: f64, kind: Kind, doc: &'static str) -> Key {
    Key {
        name,
        default: Some(Value::Number(default)),
        kind,
        doc,
    }
}

const LR: Key = num("lr", 1e-3, Kind::POSITIVE, "step size h");
const RTOL: Key = num("rtol", 1e-6, Kind::POSITIVE, "relative tolerance");
const ATOL: Key = num("atol", 1e-9, Kind::NON_NEGATIVE, "absolute tolerance");
const H0: Key = Key {
    name: "h0",
    default: None,
    kind: Kind::POSITIVE,
    doc: "first step (auto: Hairer–Nørsett–Wanner's estimate, as SciPy)",
};
const PI: Key = Key {
    name: "pi",
    default: Some(Value::Bool(false)),
    kind: Kind::Bool,
    doc: "PI step control instead of SciPy's I control",
};
const MAX_STEP: Key = Key {
    name: "max_step",
    default: None,
    kind: Kind::POSITIVE,
    doc: "largest step, as SciPy's max_step (auto: no limit)",
};
const ADAPTIVE: &[Key] = &[RTOL, ATOL, H0, PI, MAX_STEP];
/// The keys of the linearly implicit methods (I control, as SciPy).
const STIFF: &[Key] = &[RTOL, ATOL, H0, MAX_STEP];
/// Backward Euler's step: fixed when given, error-controlled when absent.
const LR_OR_ADAPTIVE: Key = Key {
    name: "lr",
    default: None,
    kind: Kind::POSITIVE,
    doc:
        "fixed step h (auto: adaptive step under rtol/atol; with lr they set the Newton tolerance)",
};
const LR2: Key = num("lr", 1e-2, Kind::POSITIVE, "learning rate");
const LR_OPT: Key = num("lr", 1e-3, Kind::POSITIVE, "learning rate");
const LR_LEN: Key = num(
    "lr",
    1e-3,
    Kind::POSITIVE,
    "step length in θ (per component for sign)",
);
const ALPHA: Key = num(
    "alpha",
    0.99,
    Kind::UNIT,
    "decay of the squared-gradient average",
);
const EPS: Key = num(
    "eps",
    1e-8,
    Kind::NON_NEGATIVE,
    "added to the root of the average",
);
const MU: Key = num("momentum", 0.0, Kind::UNIT, "momentum μ");

const fn flag(name: &'static str, doc: &'static str) -> Key {
    Key {
        name,
        default: Some(Value::Bool(false)),
        kind: Kind::Bool,
        doc,
    }
}

/// A number in [0, 1].
const CLOSED_UNIT: Kind = Kind::Number {
    lo: 0.0,
    lo_open: false,
    hi: 1.0,
    hi_open: false,
};

static METHODS: &[MethodInfo] = &[
    MethodInfo {
        id: MethodId::Euler,
        name: "euler",
        description: "explicit Euler, fixed step h = lr: plain gradient descent; t = Σh",
        keys: &[LR],
    },
    MethodInfo {
        id: MethodId::Rk4,
        name: "rk4",
        description: "classical Runge–Kutta of order 4, fixed step h = lr; t = Σh",
        keys: &[LR],
    },
    MethodInfo {
        id: MethodId::HeunEuler,
        name: "heun-euler",
        description: "gradient descent with an error-controlled step: Euler steps, Heun's estimate ½h²|f′f|; t = Σh",
        keys: ADAPTIVE,
    },
    MethodInfo {
        id: MethodId::Bs23,
        name: "bs23",
        description: "adaptive Bogacki–Shampine 3(2), FSAL, as SciPy's RK23; t = Σh",
        keys: ADAPTIVE,
    },
    MethodInfo {
        id: MethodId::Dopri5,
        name: "dopri5",
        description: "adaptive Dormand–Prince 5(4), FSAL, as SciPy's RK45; t = Σh",
        keys: ADAPTIVE,
    },
    MethodInfo {
        id: MethodId::Normalized,
        name: "normalized",
        description: "the article's error control: Euler with h = lr/‖∇L‖, θ moves lr per step; t = Σh",
        keys: &[LR_LEN],
    },
    MethodInfo {
        id: MethodId::Sign,
        name: "sign",
        description: "error control per component: θ ← θ − lr·sign(∇L), hᵢ = lr/|gᵢ|; t = Σ h̄",
        keys: &[LR_LEN],
    },
    MethodInfo {
        id: MethodId::Momentum,
        name: "momentum",
        description: "torch.optim.SGD with heavy-ball momentum; t = Σ lr(1 − τ)/(1 − μ)",
        keys: &[
            LR_OPT,
            num("momentum", 0.9, Kind::UNIT, "momentum μ"),
            num("dampening", 0.0, CLOSED_UNIT, "dampening τ"),
            flag("nesterov", "Nesterov's momentum (needs μ > 0, τ = 0)"),
        ],
    },
    MethodInfo {
        id: MethodId::Rmsprop,
        name: "rmsprop",
        description: "torch.optim.RMSprop: per-component accumulator (eq. 15), hᵢ = lr/(√vᵢ + eps); t = Σ h̄",
        keys: &[LR2, ALPHA, EPS, flag("centered", "subtract the squared mean gradient"), MU],
    },
    MethodInfo {
        id: MethodId::RmspropNorm,
        name: "rmsprop-norm",
        description: "scalar accumulator G ← αG + (1 − α)‖∇L‖² (eq. 14), h = lr/(√G + eps); t = Σh",
        keys: &[LR2, ALPHA, EPS],
    },
    MethodInfo {
        id: MethodId::Adam,
        name: "adam",
        description: "torch.optim.Adam: RMSprop with momentum and bias corrections; t = Σ h̄",
        keys: &[
            LR_OPT,
            num("beta1", 0.9, Kind::UNIT, "decay of the first moment"),
            num("beta2", 0.999, Kind::UNIT, "decay of the second moment"),
            EPS,
            flag("amsgrad", "use the running maximum of the second moment"),
        ],
    },
    MethodInfo {
        id: MethodId::Adagrad,
        name: "adagrad",
        description: "torch.optim.Adagrad: cumulative sum of g⊙g, hᵢ = lr/(√Sᵢ + eps); t = Σ h̄",
        keys: &[
            LR2,
            num("eps", 1e-10, Kind::NON_NEGATIVE, "added to the root of the sum"),
            num("initial_accumulator_value", 0.0, Kind::NON_NEGATIVE, "S₀"),
            num("lr_decay", 0.0, Kind::NON_NEGATIVE, "lr/(1 + (k − 1)·lr_decay) at step k"),
        ],
    },
    MethodInfo {
        id: MethodId::ImplicitEuler,
        name: "implicit-euler",
        description: "backward Euler θ₊ + h∇L(θ₊) = θ by Newton on the Hessian: the proximal point method, stable for any h; fixed h = lr, or adaptive without lr; t = Σh",
        keys: &[LR_OR_ADAPTIVE, RTOL, ATOL, MAX_STEP],
    },
    MethodInfo {
        id: MethodId::Ros23,
        name: "ros23",
        description: "linearly implicit Rosenbrock 2(3) (ode23s), one factorization of I + hγ∇²L per step; t = Σh",
        keys: STIFF,
    },
    MethodInfo {
        id: MethodId::Rodas4,
        name: "rodas4",
        description: "stiffly accurate Rosenbrock 4(3) (Hairer–Wanner RODAS4) using the Hessian; t = Σh",
        keys: STIFF,
    },
    MethodInfo {
        id: MethodId::Auto,
        name: "auto",
        description: "dopri5 until its steps sit at the stability limit (h·ρ(∇²L) > 0.6·3.3066 for 15 steps, ρ by one Hessian-vector product a step), then rodas4, as LSODA switches (one way); t = Σh",
        keys: &[RTOL, ATOL, MAX_STEP],
    },
];

/// Every registered method.
pub fn methods() -> &'static [MethodInfo] {
    METHODS
}

/// Looks a method up by name.
pub fn info(name: &str) -> Result<&'static MethodInfo> {
    METHODS.iter().find(|m| m.name == name).ok_or_else(|| {
        let valid: Vec<&str> = METHODS.iter().map(|m| m.name).collect();
        Error::usage(format!(
            "unknown method '{name}'; valid: {}",
            valid.join(", ")
        ))
    })
}

/// A method with every key resolved to its value.
#[derive(Clone, Debug)]
pub struct Method {
    /// The registry entry.
    pub info: &'static MethodInfo,
    /// Every key with its value (`None`: automatic).
    pub params: Vec<(&'static str, Option<Value>)>,
}

impl Method {
    /// Parses and checks a method spec such as `dopri5:rtol=1e-8`.
    ///
    /// ```
    /// let m = gradflow::methods::Method::parse("rk4:lr=0.01").unwrap();
    /// assert_eq!(m.number("lr"), Some(0.01));
    /// assert!(gradflow::methods::Method::parse("rk4:lr=-1").is_err());
    /// ```
    pub fn parse(text: &str) -> Result<Method> {
        Self::from_spec(&Spec::parse(text)?)
    }

    /// Checks a parsed spec.
    pub fn from_spec(spec: &Spec) -> Result<Method> {
        let info = info(&spec.name)?;
        let params = resolve("method", spec, info.keys)?;
        let method = Method { info, params };
        if info.id == MethodId::ImplicitEuler
            && method.number("lr").is_some()
            && method.number("max_step").is_some()
        {
            return Err(Error::usage(
                "method 'implicit-euler': max_step limits the adaptive step; with lr the step is \
                 fixed (give one of lr and max_step)"
                    .to_string(),
            ));
        }
        if info.id == MethodId::Momentum && method.flag("nesterov") {
            let (mu, tau) = (method.number("momentum"), method.number("dampening"));
            if mu.unwrap_or(0.0) <= 0.0 || tau.unwrap_or(0.0) != 0.0 {
                return Err(Error::usage(format!(
                    "method 'momentum': nesterov=true needs momentum > 0 and dampening = 0 \
                     (got momentum={}, dampening={})",
                    mu.unwrap_or(0.0),
                    tau.unwrap_or(0.0)
                )));
            }
        }
        Ok(method)
    }

    /// The registry name.
    pub fn name(&self) -> &'static str {
        self.info.name
    }

    /// A numeric key's value (`None` when automatic or absent).
    pub fn number(&self, key: &str) -> Option<f64> {
        match self.value(key) {
            Some(Value::Number(x)) => Some(x),
            _ => None,
        }
    }

    /// A boolean key's value (`false` when absent).
    pub fn flag(&self, key: &str) -> bool {
        matches!(self.value(key), Some(Value::Bool(true)))
    }

    fn value(&self, key: &str) -> Option<Value> {
        self.params
            .iter()
            .find(|(k, _)| *k == key)
            .and_then(|(_, v)| *v)
    }

    /// The spec string with every key, e.g. `rk4:lr=0.01`.
    pub fn spec(&self) -> Spec {
        Spec {
            name: self.info.name.to_string(),
            params: self
                .params
                .iter()
                .filter_map(|(k, v)| v.map(|v| (k.to_string(), v)))
                .collect(),
        }
    }

    /// A stepper for a state of dimension `dim`, in precision `T`.
    pub fn stepper<T: Scalar>(&self, dim: usize) -> Box<dyn Stepper<T> + Send> {
        Box::new(self.any_stepper(dim))
    }

    /// The stepper as one concrete type (what a checkpoint stores).
    pub fn any_stepper<T: Scalar>(&self, dim: usize) -> AnyStepper<T> {
        let c = |x: f64| nalgebra::convert::<f64, T>(x);
        let lr = || c(self.number("lr").unwrap_or(1e-3));
        let key = |k: &str| c(self.number(k).unwrap_or(0.0));
        let opt = |rule: Rule<T>| AnyStepper::Optimizer(Optimizer::new(lr(), rule, dim));
        // The error-control keys, shared by the adaptive methods (absent ones unused).
        let rtol = c(self.number("rtol").unwrap_or(1e-6));
        let atol = c(self.number("atol").unwrap_or(1e-9));
        let h0 = self.number("h0").map(c);
        let max_step = self.number("max_step").map(c);
        let adaptive = |tab: &'static Tableau, pi: Controller| {
            let controller = if self.flag("pi") { pi } else { Controller::I };
            AnyStepper::Rk(
                RungeKutta::controlled(tab, rtol, atol, h0, controller, dim)
                    .with_max_step(max_step),
            )
        };
        let stiff = |tab: &'static RosenbrockTableau| {
            AnyStepper::Rosenbrock(
                RosenbrockMethod::controlled(tab, rtol, atol, h0, Controller::I, dim)
                    .with_max_step(max_step),
            )
        };
        match self.info.id {
            MethodId::Euler => AnyStepper::Rk(RungeKutta::fixed(&tableau::EULER, lr(), dim)),
            MethodId::Rk4 => AnyStepper::Rk(RungeKutta::fixed(&tableau::RK4, lr(), dim)),
            MethodId::HeunEuler => adaptive(&tableau::HEUN_EULER, Controller::pi_for_order(1)),
            MethodId::Bs23 => adaptive(&tableau::BS23, Controller::pi_for_order(2)),
            MethodId::Dopri5 => adaptive(&tableau::DOPRI5, Controller::DOPRI5_PI),
            MethodId::Normalized => opt(Rule::Normalized),
            MethodId::Sign => opt(Rule::Sign),
            MethodId::Momentum => opt(Rule::sgd(
                key("momentum"),
                key("dampening"),
                self.flag("nesterov"),
                dim,
            )),
            MethodId::Rmsprop => opt(Rule::rms(
                key("alpha"),
                key("eps"),
                self.flag("centered"),
                key("momentum"),
                dim,
            )),
            MethodId::RmspropNorm => opt(Rule::rms_norm(key("alpha"), key("eps"))),
            MethodId::Adam => opt(Rule::adam(
                key("beta1"),
                key("beta2"),
                key("eps"),
                self.flag("amsgrad"),
                dim,
            )),
            MethodId::Adagrad => opt(Rule::adagrad(
                key("eps"),
                key("lr_decay"),
                key("initial_accumulator_value"),
                dim,
            )),
            MethodId::ImplicitEuler => AnyStepper::Implicit(match self.number("lr") {
                Some(h) => ImplicitEuler::fixed(c(h), rtol, atol, dim),
                None => ImplicitEuler::adaptive(rtol, atol, None, dim).with_max_step(max_step),
            }),
            MethodId::Ros23 => stiff(&rosw::ROS23),
            MethodId::Rodas4 => stiff(&rosw::RODAS4),
            MethodId::Auto => AnyStepper::Auto(Box::new(
                Switching::dopri5_rodas4(rtol, atol, dim).with_max_step(max_step),
            )),
        }
    }
}
