//! A loss given as a formula, e.g. `(1-x)^2 + 100*(y-x^2)^2`, with exact derivatives.
//!
//! The formula is checked by a small parser of its own, which knows the grammar below and
//! points at the column of the first mistake; the checked formula is then handed, fully
//! parenthesized, to the [`exmex`] crate, which evaluates it and differentiates it
//! symbolically: the gradient comes from the n first partial derivatives, the Hessian from
//! the n(n+1)/2 second ones (built on first use), and the Hessian-vector product from the
//! Hessian. So the explicit methods and the Hessian-based ones (implicit Euler, ros23,
//! rodas4) all run on a formula.
//!
//! # Grammar
//!
//! - Numbers: `2`, `0.5`, `.5`, `1e-3`, `2.5E+4`.
//! - Variables: a letter or `_`, then letters, digits or `_` (`x`, `y2`, `theta_1`, `α`).
//!   **Their order in θ is the sorted order of their names** (Rust's byte order of
//!   strings): `x, y, z`; `a, b, x`; but `x1, x10, x2` — pad numbered names (`x01`, …).
//! - Constants: `pi` (also `π`) and `e`; they cannot be variable names.
//! - Operators, loosest first: `+ -`, then `* /`, then unary `-`/`+`, then `^` (also
//!   written `**`). As in mathematics and Python: `-x^2` is `-(x^2)`; `^` groups to the
//!   right, `2^3^2` is `2^9`; `x^-2` is `x^(-2)`; `a - b + c` is `(a - b) + c`.
//! - Functions (one argument, in parentheses): `sqrt exp ln log` (natural) `log2 log10
//!   sin cos tan asin acos atan sinh cosh tanh asinh acosh atanh`. Functions without a
//!   derivative (`abs`, `min`, `max`, …) are not offered: the flow needs ∇L.
//!
//! Values and derivatives are computed in `f64`; an `f32` run converts θ to `f64`, evaluates
//! and rounds the results to `f32`.
//!
//! ```
//! use gradflow_problems::{Expr, Objective};
//! use nalgebra::DVector;
//!
//! let f = Expr::parse("(1-x)^2 + 100*(y-x^2)^2").unwrap();
//! assert_eq!(f.variables(), ["x", "y"]);
//! let x: DVector<f64> = DVector::from_vec(vec![-1.2, 1.0]);
//! let mut g = DVector::zeros(2);
//! let loss = f.value_and_gradient(&x, &mut g);
//! assert!((loss - 24.2).abs() < 1e-12);
//! assert!((g[0] + 215.6).abs() < 1e-10 && (g[1] + 88.0).abs() < 1e-10);
//!
//! // A mistake is reported with its column.
//! let err = Expr::parse("(1-x)^2 + 100*(y-x^2))^2").unwrap_err();
//! assert_eq!(err.column, Some(22));
//! assert!(err.to_string().contains("unmatched ')' at column 22"));
//! ```

use crate::objective::{Objective, Real};
use exmex::{Differentiate, Express, FlatEx};
use nalgebra::{DMatrix, DVector};
use std::fmt;
use std::sync::{Arc, Mutex, OnceLock};

/// The functions a formula may call (all have first and second derivatives).
pub const FUNCTIONS: [&str; 18] = [
    "sqrt", "exp", "ln", "log", "log2", "log10", "sin", "cos", "tan", "asin", "acos", "atan",
    "sinh", "cosh", "tanh", "asinh", "acosh", "atanh",
];

/// The named constants of a formula and their values.
pub const CONSTANTS: [(&str, f64); 3] = [
    ("pi", std::f64::consts::PI),
    ("π", std::f64::consts::PI),
    ("e", std::f64::consts::E),
];

/// How deeply a formula may nest (parentheses, powers, signs and function calls
/// together).
pub const MAX_DEPTH: usize = 200;

/// The longest formula, in characters.
pub const MAX_LEN: usize = 1000;

/// Stack for exmex's differentiation, per character of the expression it differentiates:
/// its recursion takes ~10-30 KiB of stack per character (measured), far more than a
/// worker thread's 2 MiB for a formula of a few dozen terms, so it runs on a thread of
/// its own with this much stack (reserved, not used, unless needed) …
const STACK_PER_CHAR: usize = 64 << 10;
/// … plus this much …
const STACK_BASE: usize = 16 << 20;
/// … and never more than this.
const STACK_MAX: usize = 1 << 30;

/// Why a formula was rejected: a message, and the 1-based column (in characters) of the
/// mistake in the formula where there is one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExprError {
    /// The formula as given.
    pub formula: String,
    /// 1-based column of the mistake (in characters); one past the end when the formula
    /// ends too early; `None` when the mistake has no place (e.g. no variables).
    pub column: Option<usize>,
    /// What is wrong.
    pub message: String,
    /// How to put it right, where there is more to say (e.g. the known functions).
    pub hint: Option<String>,
}

impl ExprError {
    fn at(formula: &str, column: usize, message: impl Into<String>) -> Self {
        ExprError {
            formula: formula.to_string(),
            column: Some(column),
            message: message.into(),
            hint: None,
        }
    }

    fn whole(formula: &str, message: impl Into<String>) -> Self {
        ExprError {
            formula: formula.to_string(),
            column: None,
            message: message.into(),
            hint: None,
        }
    }

    fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

impl fmt::Display for ExprError {
    /// The message with its column and hint, then the formula and a caret under the
    /// column:
    ///
    /// ```text
    /// unknown function 'foo' at column 5 (known: sqrt, exp, ...)
    ///   x + foo(y)
    ///       ^
    /// ```
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Tabs and line breaks would move the caret: show them as spaces.
        let shown: String = self
            .formula
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
        f.write_str(&self.message)?;
        if let Some(col) = self.column {
            write!(f, " at column {col}")?;
        }
        if let Some(hint) = &self.hint {
            write!(f, " ({hint})")?;
        }
        write!(f, "\n  {shown}")?;
        if let Some(col) = self.column {
            write!(f, "\n  {}^", " ".repeat(col.saturating_sub(1)))?;
        }
        Ok(())
    }
}

impl std::error::Error for ExprError {}

/// A loss L(θ) given by a formula in its named variables, with exact derivatives.
///
/// Cheap to clone (the parsed formula and its derivatives are shared). See the
/// [module documentation](self) for the grammar and the order of the variables.
#[derive(Clone, Debug)]
pub struct Expr {
    inner: Arc<Inner>,
    start: Option<Vec<f64>>,
}

#[derive(Debug)]
struct Inner {
    formula: String,
    variables: Vec<String>,
    value: FlatEx<f64>,
    gradient: Vec<FlatEx<f64>>,
    /// The lower triangle of the Hessian, row by row (entry (i, j), j ≤ i, at
    /// i(i+1)/2 + j); built on first use; `None` if a second derivative failed.
    hessian: OnceLock<Option<Vec<FlatEx<f64>>>>,
}

impl Expr {
    /// Parses `formula` and differentiates it once in every variable.
    ///
    /// Errors name the mistake and its column: an unknown character or function, a
    /// missing operand or operator, an unmatched parenthesis, a number out of range, a
    /// formula without variables or nested deeper than [`MAX_DEPTH`].
    pub fn parse(formula: &str) -> Result<Expr, ExprError> {
        if let Some(inner) = cached(formula) {
            return Ok(Expr { inner, start: None });
        }
        let length = formula.chars().count();
        if length > MAX_LEN {
            return Err(ExprError::at(
                formula,
                MAX_LEN + 1,
                format!("the formula is longer than {MAX_LEN} characters"),
            ));
        }
        let tokens = tokenize(formula)?;
        let mut parser = Parser {
            formula,
            tokens: &tokens,
            pos: 0,
            depth: 0,
            end_column: formula.chars().count() + 1,
        };
        let ast = parser.parse_all()?;
        let mut text = String::new();
        emit(&ast, &mut text);
        let (value, gradient) = on_big_stack(text.len(), || {
            let value = guarded(|| exmex::parse::<f64>(&text))
                .map_err(|e| format!("cannot evaluate the formula: {e}"))?;
            let gradient = (0..value.var_names().len())
                .map(|i| guarded(|| value.clone().partial(i)))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| format!("cannot differentiate the formula: {e}"))?;
            Ok((value, gradient))
        })
        .map_err(|e| ExprError::whole(formula, e))?;
        let variables: Vec<String> = value.var_names().to_vec();
        if variables.is_empty() {
            return Err(ExprError::whole(
                formula,
                "the formula has no variables: nothing to optimize",
            ));
        }
        let inner = Arc::new(Inner {
            formula: formula.to_string(),
            variables,
            value,
            gradient,
            hessian: OnceLock::new(),
        });
        remember(&inner);
        Ok(Expr { inner, start: None })
    }

    /// The formula as given.
    pub fn formula(&self) -> &str {
        &self.inner.formula
    }

    /// The variables in their order in θ (sorted by name).
    pub fn variables(&self) -> &[String] {
        &self.inner.variables
    }

    /// The number of variables n (the dimension of θ).
    pub fn dim(&self) -> usize {
        self.inner.variables.len()
    }

    /// The same loss with start θ₀ = `start` (without one, [`Objective::start`] is the
    /// origin). Errors when `start` has the wrong length or a non-finite value.
    pub fn with_start(mut self, start: &[f64]) -> Result<Expr, ExprError> {
        let n = self.inner.variables.len();
        if start.len() != n {
            return Err(ExprError::whole(
                &self.inner.formula,
                format!(
                    "the start has {} values; the formula has {n} variables ({})",
                    start.len(),
                    self.inner.variables.join(", ")
                ),
            ));
        }
        if let Some(i) = start.iter().position(|x| !x.is_finite()) {
            return Err(ExprError::whole(
                &self.inner.formula,
                format!("start value {} = {} is not finite", i + 1, start[i]),
            ));
        }
        self.start = Some(start.to_vec());
        Ok(self)
    }

    /// The lower triangle of the Hessian's formulas, built on first use (`None` when
    /// they cannot be built; the Hessian-based methods then difference the gradient).
    fn hessian_formulas(&self) -> Option<&[FlatEx<f64>]> {
        self.inner
            .hessian
            .get_or_init(|| {
                let gradient = &self.inner.gradient;
                let longest = gradient
                    .iter()
                    .map(|g| g.unparse().len())
                    .max()
                    .unwrap_or(0);
                on_big_stack(longest, || {
                    let n = gradient.len();
                    let mut out = Vec::with_capacity(n * (n + 1) / 2);
                    for (i, gi) in gradient.iter().enumerate() {
                        for j in 0..=i {
                            out.push(guarded(|| gi.clone().partial(j))?);
                        }
                    }
                    Ok(out)
                })
                .ok()
            })
            .as_deref()
    }
}

/// The formulas parsed last (a run, `compare` and `resume` check a spec several times;
/// differentiating takes milliseconds to seconds, so it is done once).
static CACHE: Mutex<Vec<Arc<Inner>>> = Mutex::new(Vec::new());

/// How many parsed formulas the cache keeps.
const CACHE_SIZE: usize = 16;

fn cached(formula: &str) -> Option<Arc<Inner>> {
    let cache = CACHE.lock().ok()?;
    cache.iter().find(|i| i.formula == formula).cloned()
}

fn remember(inner: &Arc<Inner>) {
    if let Ok(mut cache) = CACHE.lock() {
        if cache.len() >= CACHE_SIZE {
            cache.remove(0);
        }
        cache.push(Arc::clone(inner));
    }
}

/// Runs `f` (exmex's parsing and differentiation of an expression of `chars` characters)
/// on a thread with stack enough for it.
fn on_big_stack<R: Send>(
    chars: usize,
    f: impl FnOnce() -> Result<R, String> + Send,
) -> Result<R, String> {
    let stack = STACK_BASE.saturating_add(chars.saturating_mul(STACK_PER_CHAR));
    if stack > STACK_MAX {
        return Err("the formula is too large to differentiate".to_string());
    }
    std::thread::scope(|scope| {
        std::thread::Builder::new()
            .name("gradflow-expr".into())
            .stack_size(stack)
            .spawn_scoped(scope, f)
            .map_err(|e| format!("cannot start the thread that differentiates the formula: {e}"))?
            .join()
            .unwrap_or_else(|_| Err("internal error of the expression evaluator".to_string()))
    })
}

/// Runs an exmex call; a panic inside it becomes an error.
fn guarded<R>(f: impl FnOnce() -> exmex::ExResult<R>) -> Result<R, String> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(Ok(r)) => Ok(r),
        Ok(Err(e)) => Err(e.msg().to_string()),
        Err(_) => Err("internal error of the expression evaluator".to_string()),
    }
}

/// Evaluates `e` at `x` (NaN if the evaluator refuses, which a finite run reports as
/// divergence).
#[inline]
fn eval(e: &FlatEx<f64>, x: &[f64]) -> f64 {
    e.eval(x).unwrap_or(f64::NAN)
}

/// Calls `f` with θ converted to `f64` (on the stack for up to 16 variables).
#[inline]
fn with_f64<T: Real, R>(x: &DVector<T>, f: impl FnOnce(&[f64]) -> R) -> R {
    let to = |v: &T| nalgebra::try_convert::<T, f64>(*v).unwrap_or(f64::NAN);
    if x.len() <= 16 {
        let mut buf = [0.0; 16];
        for (b, v) in buf.iter_mut().zip(x.iter()) {
            *b = to(v);
        }
        f(&buf[..x.len()])
    } else {
        let buf: Vec<f64> = x.iter().map(to).collect();
        f(&buf)
    }
}

impl<T: Real> Objective<T> for Expr {
    fn dim(&self) -> usize {
        self.inner.variables.len()
    }

    fn value(&self, x: &DVector<T>) -> T {
        nalgebra::convert(with_f64(x, |x| eval(&self.inner.value, x)))
    }

    fn gradient(&self, x: &DVector<T>, g: &mut DVector<T>) {
        with_f64(x, |x| {
            for (gi, e) in g.iter_mut().zip(&self.inner.gradient) {
                *gi = nalgebra::convert(eval(e, x));
            }
        })
    }

    fn value_and_gradient(&self, x: &DVector<T>, g: &mut DVector<T>) -> T {
        with_f64(x, |x| {
            for (gi, e) in g.iter_mut().zip(&self.inner.gradient) {
                *gi = nalgebra::convert(eval(e, x));
            }
            nalgebra::convert(eval(&self.inner.value, x))
        })
    }

    /// ∇²L·v from the dense Hessian of second partial derivatives (n(n+1)/2 formulas).
    fn hessian_vector(&self, x: &DVector<T>, v: &DVector<T>, hv: &mut DVector<T>) -> bool {
        let Some(h) = self.hessian_formulas() else {
            return false;
        };
        with_f64(x, |x| {
            hv.fill(T::zero());
            let mut k = 0;
            for i in 0..x.len() {
                for j in 0..=i {
                    let hij: T = nalgebra::convert(eval(&h[k], x));
                    hv[i] += hij * v[j];
                    if i != j {
                        hv[j] += hij * v[i];
                    }
                    k += 1;
                }
            }
        });
        true
    }

    fn hessian(&self, x: &DVector<T>, out: &mut DMatrix<T>) -> bool {
        let Some(h) = self.hessian_formulas() else {
            return false;
        };
        with_f64(x, |x| {
            let mut k = 0;
            for i in 0..x.len() {
                for j in 0..=i {
                    let hij: T = nalgebra::convert(eval(&h[k], x));
                    out[(i, j)] = hij;
                    out[(j, i)] = hij;
                    k += 1;
                }
            }
        });
        true
    }

    /// The start given by [`Expr::with_start`], else the origin.
    fn start(&self) -> DVector<T> {
        match &self.start {
            Some(s) => DVector::from_iterator(s.len(), s.iter().map(|&v| nalgebra::convert(v))),
            None => DVector::zeros(self.inner.variables.len()),
        }
    }
}

// ---------------------------------------------------------------------------------------
// The formula's own parser: tokens with columns, a recursive-descent parse with the
// usual precedence, and the fully parenthesized text handed to exmex.

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    Num(f64),
    Ident(String),
    Op(char),
    Open,
    Close,
    Comma,
}

/// A token and its 1-based column.
type Token = (Tok, usize);

fn is_ident_start(c: char) -> bool {
    c.is_alphabetic() || c == '_'
}

fn is_ident_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

fn tokenize(formula: &str) -> Result<Vec<Token>, ExprError> {
    let chars: Vec<char> = formula.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let col = i + 1;
        if c.is_whitespace() {
            i += 1;
        } else if c.is_ascii_digit()
            || (c == '.' && chars.get(i + 1).is_some_and(|d| d.is_ascii_digit()))
        {
            let start = i;
            while i < chars.len() && chars[i].is_ascii_digit() {
                i += 1;
            }
            if i < chars.len() && chars[i] == '.' {
                i += 1;
                while i < chars.len() && chars[i].is_ascii_digit() {
                    i += 1;
                }
            }
            // An exponent only when digits follow (`2e` is 2 next to the constant e).
            if i < chars.len() && (chars[i] == 'e' || chars[i] == 'E') {
                let mut j = i + 1;
                if j < chars.len() && (chars[j] == '+' || chars[j] == '-') {
                    j += 1;
                }
                if j < chars.len() && chars[j].is_ascii_digit() {
                    i = j;
                    while i < chars.len() && chars[i].is_ascii_digit() {
                        i += 1;
                    }
                }
            }
            let text: String = chars[start..i].iter().collect();
            match text.parse::<f64>() {
                Ok(v) if v.is_finite() => out.push((Tok::Num(v), col)),
                _ => {
                    return Err(ExprError::at(
                        formula,
                        col,
                        format!("number '{text}' is out of range"),
                    ))
                }
            }
        } else if is_ident_start(c) {
            let start = i;
            while i < chars.len() && is_ident_char(chars[i]) {
                i += 1;
            }
            out.push((Tok::Ident(chars[start..i].iter().collect()), col));
        } else {
            i += 1;
            let tok = match c {
                '(' => Tok::Open,
                ')' => Tok::Close,
                '*' if chars.get(i) == Some(&'*') => {
                    i += 1;
                    Tok::Op('^')
                }
                '+' | '-' | '*' | '/' | '^' => Tok::Op(c),
                ',' => Tok::Comma,
                _ => {
                    return Err(ExprError::at(
                        formula,
                        col,
                        format!("unexpected character '{c}'"),
                    )
                    .hint("expected a number, a variable, a function, an operator + - * / ^ or a parenthesis"))
                }
            };
            out.push((tok, col));
        }
    }
    Ok(out)
}

#[derive(Debug)]
enum Ast {
    Num(f64),
    Var(String),
    Neg(Box<Ast>),
    Bin(char, Box<Ast>, Box<Ast>),
    Call(String, Box<Ast>),
}

struct Parser<'a> {
    formula: &'a str,
    tokens: &'a [Token],
    pos: usize,
    depth: usize,
    end_column: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos)
    }

    fn err(&self, column: usize, message: impl Into<String>) -> ExprError {
        ExprError::at(self.formula, column, message)
    }

    fn describe(tok: &Tok) -> String {
        match tok {
            Tok::Num(_) => "a number".into(),
            Tok::Ident(s) => format!("'{s}'"),
            Tok::Op(c) => format!("'{c}'"),
            Tok::Open => "'('".into(),
            Tok::Close => "')'".into(),
            Tok::Comma => "','".into(),
        }
    }

    fn enter(&mut self, column: usize) -> Result<(), ExprError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.err(
                column,
                format!("the formula nests deeper than {MAX_DEPTH} levels"),
            ));
        }
        Ok(())
    }

    fn parse_all(&mut self) -> Result<Ast, ExprError> {
        if self.tokens.is_empty() {
            return Err(self.err(1, "the formula is empty"));
        }
        let ast = self.sum()?;
        match self.peek() {
            None => Ok(ast),
            Some((Tok::Close, col)) => Err(self.err(*col, "unmatched ')'")),
            Some((Tok::Comma, col)) => Err(self.comma(*col)),
            Some((tok, col)) => {
                let e = self.err(
                    *col,
                    format!(
                        "expected an operator + - * / ^ or the end, found {}",
                        Self::describe(tok)
                    ),
                );
                Err(if matches!(tok, Tok::Ident(_) | Tok::Num(_) | Tok::Open) {
                    e.hint("write * between factors: 2*x, not 2x")
                } else {
                    e
                })
            }
        }
    }

    /// sum := product (('+' | '-') product)*, grouped to the left.
    fn sum(&mut self) -> Result<Ast, ExprError> {
        let mut left = self.product()?;
        while let Some(&(Tok::Op(op @ ('+' | '-')), _)) = self.peek() {
            self.pos += 1;
            let right = self.product()?;
            left = Ast::Bin(op, Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    /// product := unary (('*' | '/') unary)*, grouped to the left.
    fn product(&mut self) -> Result<Ast, ExprError> {
        let mut left = self.unary()?;
        while let Some(&(Tok::Op(op @ ('*' | '/')), _)) = self.peek() {
            self.pos += 1;
            let right = self.unary()?;
            left = Ast::Bin(op, Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    /// unary := ('-' | '+') unary | power.
    fn unary(&mut self) -> Result<Ast, ExprError> {
        match self.peek() {
            Some(&(Tok::Op(op @ ('+' | '-')), col)) => {
                self.pos += 1;
                self.enter(col)?;
                let inner = self.unary()?;
                self.depth -= 1;
                Ok(if op == '-' {
                    Ast::Neg(Box::new(inner))
                } else {
                    inner
                })
            }
            _ => self.power(),
        }
    }

    /// power := atom ('^' unary)?: binds tighter than a sign on its left, groups to the
    /// right, and its exponent may carry a sign.
    fn power(&mut self) -> Result<Ast, ExprError> {
        let base = self.atom()?;
        match self.peek() {
            Some(&(Tok::Op('^'), col)) => {
                self.pos += 1;
                self.enter(col)?;
                let exponent = self.unary()?;
                self.depth -= 1;
                Ok(Ast::Bin('^', Box::new(base), Box::new(exponent)))
            }
            _ => Ok(base),
        }
    }

    /// atom := number | constant | variable | function '(' sum ')' | '(' sum ')'.
    fn atom(&mut self) -> Result<Ast, ExprError> {
        let Some((tok, col)) = self.peek().cloned() else {
            return Err(self.err(
                self.end_column,
                "the formula ends where a number, variable, function or '(' is expected",
            ));
        };
        self.pos += 1;
        match tok {
            Tok::Num(v) => Ok(Ast::Num(v)),
            Tok::Open => {
                self.enter(col)?;
                let inner = self.sum()?;
                self.depth -= 1;
                self.close(col)?;
                Ok(inner)
            }
            Tok::Ident(name) => {
                if let Some(&(_, v)) = CONSTANTS.iter().find(|(c, _)| *c == name) {
                    return Ok(Ast::Num(v));
                }
                let is_function = FUNCTIONS.contains(&name.as_str());
                let called = matches!(self.peek(), Some((Tok::Open, _)));
                match (is_function, called) {
                    (true, true) => {
                        self.pos += 1;
                        self.enter(col)?;
                        let arg = self.sum()?;
                        self.depth -= 1;
                        self.close(col)?;
                        Ok(Ast::Call(name, Box::new(arg)))
                    }
                    (true, false) => Err(self
                        .err(col, format!("function '{name}' without an argument"))
                        .hint(format!("write {name}(...)"))),
                    (false, true) => {
                        Err(self
                            .err(col, format!("unknown function '{name}'"))
                            .hint(format!(
                                "known: {}; for a product write {name}*(...)",
                                FUNCTIONS.join(", ")
                            )))
                    }
                    (false, false) => Ok(Ast::Var(name)),
                }
            }
            Tok::Close => Err(self.err(
                col,
                "expected a number, variable, function or '(' before ')'",
            )),
            Tok::Comma => Err(self.comma(col)),
            Tok::Op(c) => Err(self.err(
                col,
                format!("expected a number, variable, function or '(' before '{c}'"),
            )),
        }
    }

    fn comma(&self, column: usize) -> ExprError {
        self.err(column, "unexpected ','")
            .hint("functions here take one argument")
    }

    /// Consumes the ')' that closes the '(' (or call) at column `open`.
    fn close(&mut self, open: usize) -> Result<(), ExprError> {
        match self.peek() {
            Some((Tok::Close, _)) => {
                self.pos += 1;
                Ok(())
            }
            None => Err(self.err(open, "this '(' is never closed")),
            Some((Tok::Comma, col)) => Err(self.comma(*col)),
            Some((tok, col)) => Err(self
                .err(
                    *col,
                    format!("expected an operator or ')', found {}", Self::describe(tok)),
                )
                .hint(format!("the '(' at column {open} is open"))),
        }
    }
}

/// Writes `ast` fully parenthesized for exmex (whose own precedence then never matters):
/// numbers as plain decimals, which read back exactly, variables in braces.
fn emit(ast: &Ast, out: &mut String) {
    match ast {
        Ast::Num(v) => out.push_str(&format!("({v})")),
        Ast::Var(name) => {
            out.push('{');
            out.push_str(name);
            out.push('}');
        }
        Ast::Neg(a) => {
            out.push_str("(-(");
            emit(a, out);
            out.push_str("))");
        }
        Ast::Bin(op, a, b) => {
            out.push('(');
            emit(a, out);
            out.push(*op);
            emit(b, out);
            out.push(')');
        }
        Ast::Call(f, a) => {
            out.push('(');
            out.push_str(f);
            out.push('(');
            emit(a, out);
            out.push_str("))");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(formula: &str) -> String {
        let tokens = tokenize(formula).unwrap();
        let mut p = Parser {
            formula,
            tokens: &tokens,
            pos: 0,
            depth: 0,
            end_column: formula.chars().count() + 1,
        };
        let mut s = String::new();
        emit(&p.parse_all().unwrap(), &mut s);
        s
    }

    fn at(formula: &str, x: &[f64]) -> f64 {
        let f = Expr::parse(formula).unwrap();
        Objective::<f64>::value(&f, &DVector::from_column_slice(x))
    }

    #[test]
    fn precedence_is_the_usual_one() {
        assert_eq!(text("-x^2"), "(-(({x}^(2))))");
        assert_eq!(at("-x^2", &[3.0]), -9.0);
        assert_eq!(at("2^3^2 + 0*x", &[1.0]), 512.0);
        assert_eq!(at("x^-2", &[2.0]), 0.25);
        assert_eq!(at("x**2", &[3.0]), 9.0);
        assert_eq!(at("8/x/2", &[2.0]), 2.0);
        assert_eq!(at("x - 1 + 2", &[0.0]), 1.0);
        assert_eq!(at("2*-x^2", &[3.0]), -18.0);
        assert_eq!(at("1e-3*x + 2.5E+1", &[1000.0]), 26.0);
        assert_eq!(at(".5*x", &[4.0]), 2.0);
        assert_eq!(at("e*x", &[1.0]), std::f64::consts::E);
        assert_eq!(at("sin(pi*x)", &[0.5]), 1.0);
    }

    #[test]
    fn numbers_read_back_exactly() {
        for v in [
            0.1,
            1e-7,
            123456.789,
            1e300,
            5e-324,
            2.2250738585072014e-308,
        ] {
            let f = Expr::parse(&format!("{v:e}*x")).unwrap();
            assert_eq!(
                Objective::<f64>::value(&f, &DVector::from_element(1, 1.0)),
                v
            );
        }
    }

    #[test]
    fn variables_are_sorted_by_name() {
        let f = Expr::parse("y + 2*x + 3*b").unwrap();
        assert_eq!(f.variables(), ["b", "x", "y"]);
        assert_eq!(at("y + 2*x + 3*b", &[1.0, 10.0, 100.0]), 123.0);
    }
}
