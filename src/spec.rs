//! Spec strings `NAME[:key=value[,key=value...]]` and the keys they set.

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::fmt;

/// A key's value: a number or a boolean.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Value {
    /// A boolean (`true`, `false`).
    Bool(bool),
    /// A finite number.
    Number(f64),
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Bool(b) => write!(f, "{b}"),
            // `{:?}` prints the shortest string that reads back to the same f64.
            Value::Number(x) => write!(f, "{x:?}"),
        }
    }
}

/// A parsed spec: a name and the keys given, in order.
#[derive(Clone, Debug, PartialEq)]
pub struct Spec {
    /// Problem or method name.
    pub name: String,
    /// Keys as given.
    pub params: Vec<(String, Value)>,
}

impl Spec {
    /// Parses `NAME[:key=value[,key=value...]]`. Values are numbers or `true`/`false`;
    /// numbers must be finite.
    ///
    /// ```
    /// use gradflow::spec::{Spec, Value};
    /// let s = Spec::parse("adam:lr=1e-2,amsgrad=true").unwrap();
    /// assert_eq!(s.name, "adam");
    /// assert_eq!(s.params[0], ("lr".to_string(), Value::Number(0.01)));
    /// assert_eq!(s.params[1], ("amsgrad".to_string(), Value::Bool(true)));
    /// assert!(Spec::parse("adam:lr").is_err());
    /// ```
    pub fn parse(text: &str) -> Result<Spec> {
        let text = text.trim();
        let (name, rest) = match text.split_once(':') {
            Some((n, r)) => (n.trim(), Some(r)),
            None => (text, None),
        };
        if name.is_empty() {
            return Err(Error::usage(format!(
                "spec '{text}' has no name; expected NAME[:key=value,...]"
            )));
        }
        let mut params: Vec<(String, Value)> = Vec::new();
        if let Some(rest) = rest {
            if rest.trim().is_empty() {
                return Err(Error::usage(format!(
                    "spec '{text}' has ':' but no keys; expected NAME[:key=value,...]"
                )));
            }
            for part in rest.split(',') {
                let (k, v) = part.split_once('=').ok_or_else(|| {
                    Error::usage(format!(
                        "in spec '{text}': '{}' is not key=value",
                        part.trim()
                    ))
                })?;
                let (k, v) = (k.trim(), v.trim());
                if k.is_empty() {
                    return Err(Error::usage(format!(
                        "in spec '{text}': empty key in '{part}'"
                    )));
                }
                if params.iter().any(|(key, _)| key == k) {
                    return Err(Error::usage(format!(
                        "in spec '{text}': key '{k}' given twice"
                    )));
                }
                params.push((k.to_string(), parse_value(k, v, text)?));
            }
        }
        Ok(Spec {
            name: name.to_string(),
            params,
        })
    }
}

/// The name of a problem given by a formula: `expr:FORMULA`.
pub const EXPR: &str = "expr";

/// A problem spec: a registered problem with its keys, or a formula.
///
/// `expr:FORMULA` takes everything after the first `:` as the formula, whole (it may hold
/// `:`-free text with `,`, `=` and spaces); any other text is a [`Spec`].
///
/// ```
/// use gradflow::spec::ProblemSpec;
/// let p = ProblemSpec::parse("expr:(1-x)^2 + 100*(y-x^2)^2").unwrap();
/// assert_eq!(p, ProblemSpec::Expr("(1-x)^2 + 100*(y-x^2)^2".to_string()));
/// assert!(matches!(ProblemSpec::parse("rosenbrock:n=3").unwrap(), ProblemSpec::Registry(_)));
/// assert!(ProblemSpec::parse("expr").is_err());
/// ```
#[derive(Clone, Debug, PartialEq)]
pub enum ProblemSpec {
    /// A registered problem: name and keys.
    Registry(Spec),
    /// The formula of an `expr:` problem, as given.
    Expr(String),
}

impl ProblemSpec {
    /// Parses a problem spec: `expr:FORMULA` or `NAME[:key=value,...]`.
    pub fn parse(text: &str) -> Result<ProblemSpec> {
        let name = text.split_once(':').map_or(text, |(n, _)| n).trim();
        if name != EXPR {
            return Spec::parse(text).map(ProblemSpec::Registry);
        }
        match text.split_once(':') {
            Some((_, formula)) if !formula.trim().is_empty() => {
                Ok(ProblemSpec::Expr(formula.to_string()))
            }
            _ => Err(Error::usage(format!(
                "problem '{}' needs a formula: expr:FORMULA, e.g. 'expr:(1-x)^2 + 100*(y-x^2)^2' (with --x0)",
                text.trim()
            ))),
        }
    }
}

impl fmt::Display for ProblemSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProblemSpec::Registry(s) => s.fmt(f),
            ProblemSpec::Expr(formula) => write!(f, "{EXPR}:{formula}"),
        }
    }
}

fn parse_value(key: &str, v: &str, text: &str) -> Result<Value> {
    match v {
        "true" => return Ok(Value::Bool(true)),
        "false" => return Ok(Value::Bool(false)),
        _ => {}
    }
    match v.parse::<f64>() {
        Ok(x) if x.is_finite() => Ok(Value::Number(x)),
        Ok(_) => Err(Error::usage(format!(
            "in spec '{text}': {key}={v} is not a finite number"
        ))),
        Err(_) => Err(Error::usage(format!(
            "in spec '{text}': {key}={v} is neither a number nor true/false"
        ))),
    }
}

impl fmt::Display for Spec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)?;
        for (i, (k, v)) in self.params.iter().enumerate() {
            f.write_str(if i == 0 { ":" } else { "," })?;
            write!(f, "{k}={v}")?;
        }
        Ok(())
    }
}

/// The type and range of a method key.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Kind {
    /// `true` or `false`.
    Bool,
    /// A number in a range; `lo_open`/`hi_open` exclude the ends.
    Number {
        /// Lower end.
        lo: f64,
        /// Whether `lo` itself is excluded.
        lo_open: bool,
        /// Upper end.
        hi: f64,
        /// Whether `hi` itself is excluded.
        hi_open: bool,
    },
}

impl Kind {
    /// A number ≥ 0.
    pub const NON_NEGATIVE: Kind = Kind::Number {
        lo: 0.0,
        lo_open: false,
        hi: f64::INFINITY,
        hi_open: true,
    };
    /// A number > 0.
    pub const POSITIVE: Kind = Kind::Number {
        lo: 0.0,
        lo_open: true,
        hi: f64::INFINITY,
        hi_open: true,
    };
    /// A number in [0, 1).
    pub const UNIT: Kind = Kind::Number {
        lo: 0.0,
        lo_open: false,
        hi: 1.0,
        hi_open: true,
    };

    /// The valid values in words.
    pub fn describe(&self) -> String {
        match *self {
            Kind::Bool => "true or false".into(),
            Kind::Number {
                lo,
                lo_open,
                hi,
                hi_open,
            } => {
                if hi.is_infinite() {
                    format!("a number {} {lo}", if lo_open { ">" } else { "≥" })
                } else {
                    format!(
                        "a number in {}{lo}, {hi}{}",
                        if lo_open { '(' } else { '[' },
                        if hi_open { ')' } else { ']' }
                    )
                }
            }
        }
    }

    fn accepts(&self, v: Value) -> bool {
        match (*self, v) {
            (Kind::Bool, Value::Bool(_)) => true,
            (
                Kind::Number {
                    lo,
                    lo_open,
                    hi,
                    hi_open,
                },
                Value::Number(x),
            ) => {
                x.is_finite()
                    && (x > lo || (!lo_open && x == lo))
                    && (x < hi || (!hi_open && x == hi))
            }
            _ => false,
        }
    }
}

/// A key of a method: name, default (`None`: chosen automatically), kind, meaning.
#[derive(Clone, Copy, Debug)]
pub struct Key {
    /// Key name.
    pub name: &'static str,
    /// Default value; `None` means the method picks it (e.g. the first step `h0`).
    pub default: Option<Value>,
    /// Type and range.
    pub kind: Kind,
    /// One line of meaning.
    pub doc: &'static str,
}

/// Checks the keys of `spec` against `keys` and returns every key with its value
/// (given, or the default; `None` for an automatic one), in the order of `keys`.
pub fn resolve(
    what: &str,
    spec: &Spec,
    keys: &[Key],
) -> Result<Vec<(&'static str, Option<Value>)>> {
    for (k, v) in &spec.params {
        let key = keys.iter().find(|key| key.name == k).ok_or_else(|| {
            let valid: Vec<&str> = keys.iter().map(|k| k.name).collect();
            if valid.is_empty() {
                Error::usage(format!("{what} '{}' takes no keys, got '{k}'", spec.name))
            } else {
                Error::usage(format!(
                    "unknown key '{k}' for {what} '{}'; valid: {}",
                    spec.name,
                    valid.join(", ")
                ))
            }
        })?;
        if !key.kind.accepts(*v) {
            return Err(Error::usage(format!(
                "{what} '{}': {k}={v} is invalid; expected {}",
                spec.name,
                key.kind.describe()
            )));
        }
    }
    Ok(keys
        .iter()
        .map(|key| {
            let given = spec
                .params
                .iter()
                .find(|(k, _)| k == key.name)
                .map(|(_, v)| *v);
            (key.name, given.or(key.default))
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_round_trip_through_display() {
        for text in [
            "rosenbrock",
            "rosenbrock:n=2",
            "adam:lr=0.001,amsgrad=true,eps=1e-8",
        ] {
            let s = Spec::parse(text).unwrap();
            assert_eq!(Spec::parse(&s.to_string()).unwrap(), s);
        }
    }

    #[test]
    fn expr_specs_take_the_formula_whole() {
        for formula in ["(1-x)^2 + 100*(y-x^2)^2", " x^2 ", "a,b=c:d"] {
            let text = format!("expr:{formula}");
            let p = ProblemSpec::parse(&text).unwrap();
            assert_eq!(p, ProblemSpec::Expr(formula.to_string()));
            assert_eq!(p.to_string(), text);
        }
        assert_eq!(
            ProblemSpec::parse(" expr :x").unwrap(),
            ProblemSpec::Expr("x".into())
        );
        for text in ["expr", "expr:", "expr:  "] {
            let e = ProblemSpec::parse(text).unwrap_err().to_string();
            assert!(e.contains("needs a formula"), "{text}: {e}");
        }
        let p = ProblemSpec::parse("rosenbrock:n=3").unwrap();
        assert_eq!(
            p,
            ProblemSpec::Registry(Spec::parse("rosenbrock:n=3").unwrap())
        );
        assert!(ProblemSpec::parse("rosenbrock:n").is_err());
    }

    #[test]
    fn malformed_specs_are_errors_naming_the_part() {
        for (text, needle) in [
            ("", "no name"),
            (":lr=1", "no name"),
            ("adam:", "no keys"),
            ("adam:lr", "'lr' is not key=value"),
            ("adam:lr=abc", "lr=abc"),
            ("adam:lr=nan", "finite"),
            ("adam:lr=1e999", "finite"),
            ("adam:lr=1,lr=2", "twice"),
            ("adam:=1", "empty key"),
        ] {
            let e = Spec::parse(text).unwrap_err().to_string();
            assert!(e.contains(needle), "{text}: {e}");
        }
    }
}
