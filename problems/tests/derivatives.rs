//! Gradients, Hessian-vector products and exact flows against independent checks:
//! central finite differences and the ODE itself.

use gradflow_problems::{build, registry, Objective};
use nalgebra::DVector;

/// Problem specs with points away from the start, so that every term is exercised.
fn cases() -> Vec<(&'static str, Vec<(&'static str, f64)>)> {
    vec![
        ("quadratic", vec![("n", 4.0), ("kappa", 30.0)]),
        ("quadratic", vec![("n", 1.0), ("scale", 2.0)]),
        ("quartic", vec![("n", 3.0)]),
        ("rosenbrock", vec![("n", 2.0)]),
        ("rosenbrock", vec![("n", 5.0)]),
        ("beale", vec![]),
        ("himmelblau", vec![]),
        ("logistic", vec![("mu", 1e-2)]),
    ]
}

fn probe_point(n: usize, k: f64) -> DVector<f64> {
    DVector::from_fn(n, |i, _| 0.3 + 0.1 * k * ((i as f64) * 1.7 + k).sin())
}

/// Central difference of the gradient check: |g − FD| ≤ tol·max(1, |g|).
#[test]
fn gradients_match_central_differences() {
    for (name, params) in cases() {
        let Ok(f) = build::<f64>(name, &params) else {
            panic!("{name} builds")
        };
        let n = f.dim();
        for k in 0..3 {
            let x = probe_point(n, k as f64) + f.start() * 0.5;
            let mut g = DVector::zeros(n);
            f.gradient(&x, &mut g);
            let mut g2 = DVector::zeros(n);
            let v = f.value_and_gradient(&x, &mut g2);
            assert_eq!(g, g2, "{name}: value_and_gradient gives another gradient");
            assert!(
                (v - f.value(&x)).abs() <= 1e-14 * v.abs().max(1.0),
                "{name}"
            );
            for i in 0..n {
                let h = 1e-6 * x[i].abs().max(1.0);
                let (mut xp, mut xm) = (x.clone(), x.clone());
                xp[i] += h;
                xm[i] -= h;
                let fd = (f.value(&xp) - f.value(&xm)) / (2.0 * h);
                let tol = 1e-6 * g[i].abs().max(1.0);
                assert!((fd - g[i]).abs() <= tol, "{name} ∂{i}: {} vs FD {fd}", g[i]);
            }
        }
    }
}

#[test]
fn hessian_vector_products_match_differences_of_the_gradient() {
    for (name, params) in cases() {
        let Ok(f) = build::<f64>(name, &params) else {
            panic!("{name} builds")
        };
        let n = f.dim();
        let x = probe_point(n, 1.0) + f.start() * 0.5;
        let v = DVector::from_fn(n, |i, _| ((i as f64) * 0.9 + 0.4).cos());
        let mut hv = DVector::zeros(n);
        assert!(f.hessian_vector(&x, &v, &mut hv), "{name} has a Hessian");
        let eps = 1e-6;
        let (mut gp, mut gm) = (DVector::zeros(n), DVector::zeros(n));
        f.gradient(&(&x + &v * eps), &mut gp);
        f.gradient(&(&x - &v * eps), &mut gm);
        let fd = (gp - gm) / (2.0 * eps);
        let scale = hv.amax().max(1.0);
        assert!(
            (&fd - &hv).amax() <= 1e-6 * scale,
            "{name}: Hv {hv} vs FD {fd}"
        );
    }
}

#[test]
fn exact_flows_solve_the_gradient_flow() {
    for (name, params) in [
        ("quadratic", vec![("n", 3.0), ("kappa", 10.0)]),
        ("quartic", vec![("n", 2.0)]),
    ] {
        let Ok(f) = build::<f64>(name, &params) else {
            panic!("{name} builds")
        };
        let n = f.dim();
        let x0 = DVector::from_fn(n, |i, _| 1.0 - 0.3 * i as f64);
        let mut at0 = DVector::zeros(n);
        assert!(f.exact_flow(&x0, 0.0, &mut at0));
        assert_eq!(at0, x0, "{name}: θ(0) = θ₀");
        for t in [0.1, 0.7, 2.0] {
            let h = 1e-5;
            let (mut a, mut b, mut c) = (DVector::zeros(n), DVector::zeros(n), DVector::zeros(n));
            f.exact_flow(&x0, t + h, &mut a);
            f.exact_flow(&x0, t - h, &mut b);
            f.exact_flow(&x0, t, &mut c);
            let dtheta = (a - b) / (2.0 * h);
            let mut g = DVector::zeros(n);
            f.gradient(&c, &mut g);
            assert!((dtheta + g).amax() < 1e-8, "{name} at t = {t}");
        }
    }
}

#[test]
fn logistic_at_zero_has_loss_ln2_and_known_gradient() {
    let Ok(f) = build::<f64>("logistic", &[]) else {
        panic!()
    };
    assert_eq!(f.dim(), 31);
    let w = f.start();
    // 569 sequential additions of ln 2: rounding error at most m·ε·ln 2 ≈ 9e-14.
    assert!((f.value(&w) - std::f64::consts::LN_2).abs() < 1e-13);
    // At w = 0, σ = ½ and the features are centered, so ∂L/∂bias = ½ − mean(y) = ½ − 357/569.
    let mut g = DVector::zeros(31);
    f.gradient(&w, &mut g);
    assert!((g[30] - (0.5 - 357.0 / 569.0)).abs() < 1e-13);
}

#[test]
fn logistic_is_stable_for_large_margins() {
    let Ok(f) = build::<f64>("logistic", &[]) else {
        panic!()
    };
    let w = DVector::from_element(31, 400.0);
    let mut g = DVector::zeros(31);
    let v = f.value_and_gradient(&w, &mut g);
    assert!(v.is_finite() && g.iter().all(|x| x.is_finite()));
}

#[test]
fn quadratic_eigenvalues_follow_the_definition() {
    let q = gradflow_problems::Quadratic::<f64>::new(3, 100.0, 1.0);
    let l = q.eigenvalues();
    assert_eq!(l[0], 1.0);
    assert!((l[1] - 10.0).abs() < 1e-13);
    assert!((l[2] - 100.0).abs() < 1e-12);
}

#[test]
fn registry_rejects_bad_keys_and_values() {
    assert!(build::<f64>("nope", &[])
        .err()
        .unwrap()
        .to_string()
        .contains("rosenbrock"));
    let e = build::<f64>("rosenbrock", &[("m", 2.0)])
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("'m'") && e.contains("valid: n"), "{e}");
    for bad in [0.0, 1.0, 2.5, -3.0, f64::NAN, f64::INFINITY, 1e12] {
        assert!(
            build::<f64>("rosenbrock", &[("n", bad)]).is_err(),
            "n = {bad}"
        );
    }
    assert!(build::<f64>("quadratic", &[("kappa", 0.0)]).is_err());
    assert!(build::<f64>("logistic", &[("mu", -1.0)]).is_err());
    assert!(build::<f64>("beale", &[("n", 2.0)]).is_err());
    for p in registry() {
        assert!(
            build::<f64>(p.name, &[]).is_ok(),
            "{} builds with defaults",
            p.name
        );
        assert!(
            build::<f32>(p.name, &[]).is_ok(),
            "{} builds in f32",
            p.name
        );
    }
}

#[test]
fn minimizers_are_stationary() {
    for p in registry() {
        let Ok(f) = build::<f64>(p.name, &[]) else {
            panic!()
        };
        if let Some(m) = f.minimizer() {
            let mut g = DVector::zeros(f.dim());
            f.gradient(&m, &mut g);
            assert!(g.amax() < 1e-12, "{}: ∇L at the minimizer = {g}", p.name);
            assert!(f.value(&m).abs() < 1e-12, "{}", p.name);
        }
    }
}
