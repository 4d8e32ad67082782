//! Formula objectives (`Expr`): derivatives against finite differences on random formulas
//! and against the registry's analytic ones, parse errors with their columns, and no panic
//! on any input.

use gradflow_problems::expr::{FUNCTIONS, MAX_DEPTH, MAX_LEN};
use gradflow_problems::{Beale, Expr, Himmelblau, Objective, Quadratic, Rosenbrock};
use nalgebra::{DMatrix, DVector};

/// A small deterministic generator (no dependency, the same cases every run).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn unit(&mut self) -> f64 {
        self.next() as f64 / (1u64 << 31) as f64
    }
}

/// A random smooth formula in x, y, z, defined everywhere (logs and roots take positive
/// arguments), of depth at most `depth`.
fn random_formula(rng: &mut Lcg, depth: u32) -> String {
    let leaf = |rng: &mut Lcg| match rng.below(4) {
        0 => "x".to_string(),
        1 => "y".to_string(),
        2 => "z".to_string(),
        _ => format!("{:.3}", rng.unit() * 3.0 - 1.5),
    };
    if depth == 0 {
        return leaf(rng);
    }
    let a = random_formula(rng, depth - 1);
    let b = random_formula(rng, depth - 1);
    match rng.below(13) {
        0 => format!("{a} + {b}"),
        1 => format!("({a}) - ({b})"),
        2 => format!("({a})*({b})"),
        3 => format!("({a})/(2 + ({b})^2)"),
        4 => format!("({a})^2"),
        5 => format!("-({a})^3"),
        6 => format!("sin({a})"),
        7 => format!("cos({a})*{b}"),
        8 => format!("exp(-({a})^2)"),
        9 => format!("ln(1 + ({a})^2)"),
        10 => format!("sqrt(1 + ({a})^2)"),
        11 => format!("atan({a}) + tanh({b})"),
        _ => format!("(1.5 + sin({a}))^(1 + cos({b})^2)"),
    }
}

fn v(x: &[f64]) -> DVector<f64> {
    DVector::from_column_slice(x)
}

/// Central differences of the value: the gradient.
fn fd_gradient(f: &Expr, x: &DVector<f64>, h: f64) -> DVector<f64> {
    DVector::from_fn(x.len(), |i, _| {
        let (mut p, mut m) = (x.clone(), x.clone());
        p[i] += h;
        m[i] -= h;
        (f.value(&p) - f.value(&m)) / (2.0 * h)
    })
}

/// Central differences of the gradient: the Hessian.
fn fd_hessian(f: &Expr, x: &DVector<f64>, h: f64) -> DMatrix<f64> {
    let n = x.len();
    let mut out = DMatrix::zeros(n, n);
    let (mut gp, mut gm) = (DVector::zeros(n), DVector::zeros(n));
    for j in 0..n {
        let (mut p, mut m) = (x.clone(), x.clone());
        p[j] += h;
        m[j] -= h;
        f.gradient(&p, &mut gp);
        f.gradient(&m, &mut gm);
        out.set_column(j, &((&gp - &gm) / (2.0 * h)));
    }
    out
}

#[test]
fn random_formulas_have_the_derivatives_of_finite_differences() {
    let mut rng = Lcg(7);
    let mut checked = 0;
    for _ in 0..150 {
        let formula = random_formula(&mut rng, 3);
        let f = match Expr::parse(&formula) {
            Ok(f) => f,
            // Every variable drawn may sit in a constant subformula.
            Err(e) if e.message.contains("no variables") => continue,
            Err(e) => panic!("{formula}: {e}"),
        };
        let n = f.dim();
        let x = DVector::from_fn(n, |_, _| rng.unit() * 2.0 - 1.0);
        let mut g = DVector::zeros(n);
        let value = f.value_and_gradient(&x, &mut g);
        if !value.is_finite() || !g.iter().all(|v| v.is_finite()) {
            continue;
        }
        assert_eq!(value, f.value(&x));
        let fd = fd_gradient(&f, &x, 1e-6);
        let scale = 1.0 + g.amax();
        assert!(
            (&g - &fd).amax() <= 1e-6 * scale,
            "{formula} at {x}: gradient {g} vs {fd}"
        );
        let mut h = DMatrix::zeros(n, n);
        assert!(f.hessian(&x, &mut h));
        assert_eq!(h, h.transpose(), "{formula}: not symmetric");
        let fdh = fd_hessian(&f, &x, 1e-5);
        let hscale = 1.0 + h.amax();
        assert!(
            (&h - &fdh).amax() <= 1e-5 * hscale,
            "{formula} at {x}: Hessian {h} vs {fdh}"
        );
        let dir = DVector::from_fn(n, |_, _| rng.unit() - 0.5);
        let mut hv = DVector::zeros(n);
        assert!(f.hessian_vector(&x, &dir, &mut hv));
        assert!((&hv - &h * &dir).amax() <= 1e-12 * hscale);
        checked += 1;
    }
    assert!(checked > 100, "only {checked} formulas were finite");
}

#[test]
fn registry_problems_written_as_formulas_have_their_derivatives() {
    let cases: Vec<(&str, Box<dyn Objective<f64>>)> = vec![
        ("(1-x)^2 + 100*(y-x^2)^2", Box::new(Rosenbrock::new(2))),
        (
            "100*(b-a^2)^2 + (1-a)^2 + 100*(c-b^2)^2 + (1-b)^2 + 100*(d-c^2)^2 + (1-c)^2 + 100*(e1-d^2)^2 + (1-d)^2",
            Box::new(Rosenbrock::new(5)),
        ),
        ("(x^2+y-11)^2 + (x+y^2-7)^2", Box::new(Himmelblau)),
        (
            "(1.5 - x + x*y)^2 + (2.25 - x + x*y^2)^2 + (2.625 - x + x*y^3)^2",
            Box::new(Beale),
        ),
        (
            "0.5*(x^2 + 10*y^2)",
            Box::new(Quadratic::<f64>::new(2, 10.0, 1.0)),
        ),
    ];
    let mut rng = Lcg(11);
    for (formula, registry) in cases {
        let f = Expr::parse(formula).unwrap();
        let n = f.dim();
        assert_eq!(n, registry.dim(), "{formula}");
        for _ in 0..20 {
            let x = DVector::from_fn(n, |_, _| rng.unit() * 4.0 - 2.0);
            let (mut g, mut want) = (DVector::zeros(n), DVector::zeros(n));
            let value = f.value_and_gradient(&x, &mut g);
            let expected = registry.value_and_gradient(&x, &mut want);
            assert!((value - expected).abs() <= 1e-13 * expected.abs().max(1.0));
            assert!(
                (&g - &want).amax() <= 1e-13 * want.amax().max(1.0),
                "{formula}: {g} vs {want}"
            );
            let (mut h, mut hw) = (DMatrix::zeros(n, n), DMatrix::zeros(n, n));
            assert!(f.hessian(&x, &mut h) && registry.hessian(&x, &mut hw));
            assert!(
                (&h - &hw).amax() <= 1e-13 * hw.amax().max(1.0),
                "{formula}: {h} vs {hw}"
            );
            let dir = DVector::from_fn(n, |_, _| rng.unit() - 0.5);
            let (mut hv, mut hvw) = (DVector::zeros(n), DVector::zeros(n));
            assert!(f.hessian_vector(&x, &dir, &mut hv));
            assert!(registry.hessian_vector(&x, &dir, &mut hvw));
            assert!(
                (&hv - &hvw).amax() <= 1e-13 * hvw.amax().max(1.0),
                "{formula}"
            );
        }
    }
}

#[test]
fn every_function_has_a_first_and_second_derivative() {
    for name in FUNCTIONS {
        // Inside every function's domain: acosh needs > 1, atanh/asin/acos |.| < 1.
        let arg = match name {
            "acosh" => "1.5 + x^2",
            "asin" | "acos" | "atanh" => "0.3*x",
            _ => "0.5 + 0.25*x^2",
        };
        let f = Expr::parse(&format!("{name}({arg})")).unwrap();
        let x = v(&[0.7]);
        let mut g = DVector::zeros(1);
        f.gradient(&x, &mut g);
        let fd = fd_gradient(&f, &x, 1e-6);
        assert!(
            (g[0] - fd[0]).abs() < 1e-7 * (1.0 + g[0].abs()),
            "{name}: {g} vs {fd}"
        );
        let mut h = DMatrix::zeros(1, 1);
        assert!(f.hessian(&x, &mut h), "{name}");
        let fdh = fd_hessian(&f, &x, 1e-5);
        assert!(
            (h[(0, 0)] - fdh[(0, 0)]).abs() < 1e-5 * (1.0 + h[(0, 0)].abs()),
            "{name}"
        );
    }
}

#[test]
fn f32_evaluates_in_f64_and_rounds() {
    let f = Expr::parse("(1-x)^2 + 100*(y-x^2)^2").unwrap();
    let x64 = v(&[-1.2, 1.0]);
    let x32: DVector<f32> = x64.map(|a| a as f32);
    let mut g32 = DVector::<f32>::zeros(2);
    let l32 = f.value_and_gradient(&x32, &mut g32);
    let mut g64 = DVector::zeros(2);
    // θ rounded to f32 first, as the f32 run holds it.
    let l64 = f.value_and_gradient(&x32.map(f64::from), &mut g64);
    assert_eq!(l32, l64 as f32);
    assert_eq!(g32, g64.map(|a| a as f32));
}

#[test]
fn starts_are_checked() {
    let f = Expr::parse("x^2 + y^2").unwrap();
    assert_eq!(Objective::<f64>::start(&f), v(&[0.0, 0.0]));
    let f = f.with_start(&[1.0, 2.0]).unwrap();
    assert_eq!(Objective::<f64>::start(&f), v(&[1.0, 2.0]));
    let e = f.clone().with_start(&[1.0]).unwrap_err().to_string();
    assert!(e.contains("2 variables (x, y)"), "{e}");
    assert!(f.with_start(&[1.0, f64::NAN]).is_err());
}

/// Each bad formula is rejected with the column of its mistake.
#[test]
fn parse_errors_point_at_the_column() {
    let cases: &[(&str, Option<usize>, &str)] = &[
        ("", Some(1), "the formula is empty"),
        ("   ", Some(1), "the formula is empty"),
        ("x +", Some(4), "the formula ends"),
        ("x + * y", Some(5), "before '*'"),
        ("(x + y", Some(1), "this '(' is never closed"),
        ("x + y)", Some(6), "unmatched ')'"),
        ("2x", Some(2), "found 'x'"),
        ("x y", Some(3), "found 'y'"),
        ("(x y)", Some(4), "found 'y'"),
        ("sin x", Some(1), "function 'sin' without an argument"),
        ("foo(x)", Some(1), "unknown function 'foo'"),
        ("abs(x)", Some(1), "unknown function 'abs'"),
        ("x @ y", Some(3), "unexpected character '@'"),
        ("atan2(x, y)", Some(1), "unknown function 'atan2'"),
        ("max(x, y)", Some(1), "unknown function 'max'"),
        ("x + 1e999", Some(5), "out of range"),
        ("()", Some(2), "before ')'"),
        ("x^", Some(3), "the formula ends"),
        ("θ + ,", Some(5), "unexpected ','"),
        ("3 + pi", None, "no variables"),
        ("(x, y)", Some(3), "unexpected ','"),
    ];
    for &(formula, column, needle) in cases {
        let e = Expr::parse(formula).unwrap_err();
        assert_eq!(e.column, column, "{formula:?}: {e}");
        let text = e.to_string();
        assert!(text.contains(needle), "{formula:?}: {text}");
        if let Some(c) = column {
            assert!(text.contains(&format!(" at column {c}")), "{text}");
            // The last line is the caret, under the column (after two spaces of indent).
            let caret = text.lines().last().unwrap();
            assert_eq!(caret, format!("  {}^", " ".repeat(c - 1)), "{text}");
        }
    }
}

/// The nesting and length limits hold, and formulas within them are parsed and
/// differentiated twice from a thread with a 2 MiB stack (rayon's and std's default for
/// spawned threads), although exmex's differentiation needs far more: it runs on a thread
/// of its own.
#[test]
fn large_formulas_are_bounded() {
    let nested = |k: usize| format!("{}x{}", "(".repeat(k), ")".repeat(k));
    let e = Expr::parse(&nested(MAX_DEPTH + 1)).unwrap_err();
    assert_eq!(e.column, Some(MAX_DEPTH + 1));
    assert!(e.message.contains("nests deeper"), "{e}");
    let e = Expr::parse(&"x+".repeat(MAX_LEN)).unwrap_err();
    assert_eq!(e.column, Some(MAX_LEN + 1));
    let handle = std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(move || {
            let mut results = Vec::new();
            for (formula, x) in [
                (nested(MAX_DEPTH), 0.1),
                (format!("{}x", "-".repeat(MAX_DEPTH)), 0.1),
                // A sum of 100 terms: exmex's recursion needs ~16 MiB of stack for it.
                (vec!["x^2"; 100].join(" + "), 1.5),
            ] {
                let f = Expr::parse(&formula).unwrap();
                let (mut g, mut h) = (DVector::zeros(1), DMatrix::zeros(1, 1));
                f.gradient(&v(&[x]), &mut g);
                assert!(f.hessian(&v(&[x]), &mut h));
                results.push((g[0], h[(0, 0)]));
            }
            results
        })
        .unwrap();
    let results = handle.join().unwrap();
    assert_eq!(results, [(1.0, 0.0), (1.0, 0.0), (300.0, 200.0)]);
}

/// Random text, including near-formulas, is parsed or rejected, never a panic.
#[test]
fn any_text_is_a_formula_or_an_error() {
    const PIECES: &[&str] = &[
        "x", "y", "2", ".5", "1e3", "e", "pi", "+", "-", "*", "/", "^", "**", "(", ")", "sin",
        "sqrt(", "ln", ",", " ", "@", "{", "}", "θ", "1e", "..", "_", "exp(",
    ];
    let mut rng = Lcg(3);
    let mut ok = 0;
    for _ in 0..20_000 {
        let text: String = (0..rng.below(10))
            .map(|_| PIECES[rng.below(PIECES.len() as u64) as usize])
            .collect();
        if let Ok(f) = Expr::parse(&text) {
            ok += 1;
            let x = DVector::from_element(f.dim(), 0.5);
            let mut g = DVector::zeros(f.dim());
            let _ = f.value_and_gradient(&x, &mut g);
            let mut h = DMatrix::zeros(f.dim(), f.dim());
            let _ = f.hessian(&x, &mut h);
        }
    }
    assert!(
        ok > 100,
        "the generator should make valid formulas too ({ok})"
    );
}
