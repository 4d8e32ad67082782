//! The problem registry: name → description, keys with defaults, constructor.

use crate::objective::{Objective, Real};
use crate::{Beale, Himmelblau, Logistic, Quadratic, Quartic, Rosenbrock};
use std::fmt;

/// A numeric key of a problem, with its default and valid range.
#[derive(Clone, Copy, Debug)]
pub struct KeySpec {
    /// Key name.
    pub name: &'static str,
    /// Default value.
    pub default: f64,
    /// Whether the value must be an integer.
    pub integer: bool,
    /// Smallest valid value.
    pub min: f64,
    /// Whether `min` itself is valid.
    pub min_inclusive: bool,
    /// Largest valid value.
    pub max: f64,
    /// One line of meaning.
    pub doc: &'static str,
}

impl KeySpec {
    /// The valid range in words, e.g. "an integer in [1, 100000000]".
    pub fn valid(&self) -> String {
        let kind = if self.integer {
            "an integer"
        } else {
            "a number"
        };
        let open = if self.min_inclusive { '[' } else { '(' };
        if self.max.is_finite() {
            format!("{kind} in {open}{}, {}]", self.min, self.max)
        } else if self.min_inclusive {
            format!("{kind} ≥ {}", self.min)
        } else {
            format!("{kind} > {}", self.min)
        }
    }

    fn accepts(&self, v: f64) -> bool {
        v.is_finite()
            && (!self.integer || v.fract() == 0.0)
            && (v > self.min || (self.min_inclusive && v == self.min))
            && v <= self.max
    }
}

/// A registered problem.
#[derive(Clone, Copy, Debug)]
pub struct ProblemInfo {
    /// Registry name.
    pub name: &'static str,
    /// One line of description.
    pub description: &'static str,
    /// Keys with defaults.
    pub keys: &'static [KeySpec],
}

/// Largest dimension a registry problem may be built with.
pub const MAX_DIM: f64 = 1e8;

const N_KEY: KeySpec = KeySpec {
    name: "n",
    default: 2.0,
    integer: true,
    min: 1.0,
    min_inclusive: true,
    max: MAX_DIM,
    doc: "dimension",
};

static REGISTRY: [ProblemInfo; 6] = [
    ProblemInfo {
        name: "quadratic",
        description: "½ Σ λᵢθᵢ², λᵢ = scale·kappa^((i−1)/(n−1)); exact flow θ₀e^(−λt)",
        keys: &[
            N_KEY,
            KeySpec {
                name: "kappa",
                default: 10.0,
                integer: false,
                min: 0.0,
                min_inclusive: false,
                max: f64::INFINITY,
                doc: "condition number λₙ/λ₁",
            },
            KeySpec {
                name: "scale",
                default: 1.0,
                integer: false,
                min: 0.0,
                min_inclusive: false,
                max: f64::INFINITY,
                doc: "smallest eigenvalue λ₁",
            },
        ],
    },
    ProblemInfo {
        name: "quartic",
        description: "¼ Σ θᵢ⁴, a flat minimum; exact flow θ₀/√(1 + 2θ₀²t)",
        keys: &[KeySpec {
            default: 1.0,
            ..N_KEY
        }],
    },
    ProblemInfo {
        name: "rosenbrock",
        description: "Σ 100(θᵢ₊₁ − θᵢ²)² + (1 − θᵢ)², from (−1.2, 1, ...); minimum at all ones",
        keys: &[KeySpec { min: 2.0, ..N_KEY }],
    },
    ProblemInfo {
        name: "beale",
        description: "(1.5 − x + xy)² + (2.25 − x + xy²)² + (2.625 − x + xy³)², from (1, 1)",
        keys: &[],
    },
    ProblemInfo {
        name: "himmelblau",
        description: "(x² + y − 11)² + (x + y² − 7)², from (0, 0); the flow ends at (3, 2)",
        keys: &[],
    },
    ProblemInfo {
        name: "logistic",
        description: "ridge logistic regression on the breast-cancer table (569 × 30, n = 31)",
        keys: &[KeySpec {
            name: "mu",
            default: 1e-3,
            integer: false,
            min: 0.0,
            min_inclusive: true,
            max: f64::INFINITY,
            doc: "ridge weight on the 30 feature weights (not the bias)",
        }],
    },
];

/// Every registered problem.
pub fn registry() -> &'static [ProblemInfo] {
    &REGISTRY
}

/// Why a problem could not be built.
#[derive(Clone, Debug, PartialEq)]
pub enum ProblemError {
    /// No problem of that name.
    UnknownProblem {
        /// The name given.
        name: String,
        /// The valid names.
        valid: Vec<&'static str>,
    },
    /// The problem has no such key.
    UnknownKey {
        /// The problem.
        problem: &'static str,
        /// The key given.
        key: String,
        /// The valid keys.
        valid: Vec<&'static str>,
    },
    /// A value outside its range.
    BadValue {
        /// The problem.
        problem: &'static str,
        /// The key.
        key: &'static str,
        /// The value given.
        value: f64,
        /// The valid range in words.
        valid: String,
    },
    /// The data could not be loaded.
    Data(String),
    /// An `expr:` formula was rejected (its message carries the column).
    Expr(crate::expr::ExprError),
}

impl fmt::Display for ProblemError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProblemError::UnknownProblem { name, valid } => {
                write!(f, "unknown problem '{name}'; valid: {}", valid.join(", "))
            }
            ProblemError::UnknownKey {
                problem,
                key,
                valid,
            } => {
                if valid.is_empty() {
                    write!(f, "problem '{problem}' takes no keys, got '{key}'")
                } else {
                    write!(
                        f,
                        "unknown key '{key}' for problem '{problem}'; valid: {}",
                        valid.join(", ")
                    )
                }
            }
            ProblemError::BadValue {
                problem,
                key,
                value,
                valid,
            } => write!(f, "{problem}: {key}={value} is invalid; expected {valid}"),
            ProblemError::Data(msg) => write!(f, "problem data: {msg}"),
            ProblemError::Expr(e) => write!(f, "problem 'expr': {e}"),
        }
    }
}

impl std::error::Error for ProblemError {}

impl From<crate::expr::ExprError> for ProblemError {
    fn from(e: crate::expr::ExprError) -> Self {
        ProblemError::Expr(e)
    }
}

/// Looks a problem up by name.
pub fn info(name: &str) -> Result<&'static ProblemInfo, ProblemError> {
    REGISTRY
        .iter()
        .find(|p| p.name == name)
        .ok_or_else(|| ProblemError::UnknownProblem {
            name: name.to_string(),
            valid: REGISTRY.iter().map(|p| p.name).collect(),
        })
}

/// Every key of the problem with its value: the given one or the default.
pub fn resolve(
    name: &str,
    params: &[(&str, f64)],
) -> Result<Vec<(&'static str, f64)>, ProblemError> {
    let info = info(name)?;
    for (key, value) in params {
        let spec =
            info.keys
                .iter()
                .find(|k| k.name == *key)
                .ok_or_else(|| ProblemError::UnknownKey {
                    problem: info.name,
                    key: key.to_string(),
                    valid: info.keys.iter().map(|k| k.name).collect(),
                })?;
        if !spec.accepts(*value) {
            return Err(ProblemError::BadValue {
                problem: info.name,
                key: spec.name,
                value: *value,
                valid: spec.valid(),
            });
        }
    }
    Ok(info
        .keys
        .iter()
        .map(|k| {
            let v = params
                .iter()
                .rev()
                .find(|(key, _)| *key == k.name)
                .map_or(k.default, |&(_, v)| v);
            (k.name, v)
        })
        .collect())
}

/// Builds a registered problem from its name and keys (missing keys take their defaults).
///
/// ```
/// use gradflow_problems::{build, Objective};
/// let q = build::<f64>("quadratic", &[("n", 3.0), ("kappa", 100.0)]).ok().unwrap();
/// assert_eq!(q.dim(), 3);
/// assert!(build::<f64>("quadratic", &[("n", 0.0)]).is_err());
/// ```
pub fn build<T: Real>(
    name: &str,
    params: &[(&str, f64)],
) -> Result<Box<dyn Objective<T> + Send + Sync>, ProblemError> {
    let values = resolve(name, params)?;
    let get = |key: &str| {
        values
            .iter()
            .find(|(k, _)| *k == key)
            .map_or(0.0, |&(_, v)| v)
    };
    let dim = || get("n") as usize;
    Ok(match name {
        "quadratic" => Box::new(Quadratic::<T>::new(dim(), get("kappa"), get("scale"))),
        "quartic" => Box::new(Quartic::new(dim())),
        "rosenbrock" => Box::new(Rosenbrock::new(dim())),
        "beale" => Box::new(Beale),
        "himmelblau" => Box::new(Himmelblau),
        "logistic" => {
            Box::new(Logistic::<T>::breast_cancer(get("mu")).map_err(ProblemError::Data)?)
        }
        _ => {
            return Err(ProblemError::UnknownProblem {
                name: name.to_string(),
                valid: REGISTRY.iter().map(|p| p.name).collect(),
            })
        }
    })
}
