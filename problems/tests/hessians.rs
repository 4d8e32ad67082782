//! Dense Hessians against independent checks: the Hessian-vector products (column by
//! column and on a generic vector), central differences of the gradient, and symmetry.

use gradflow_problems::{build, Objective};
use nalgebra::{DMatrix, DVector};

/// Every registry problem, with points away from the start so that every term is
/// exercised (the registry returns boxes, so `Box`'s forwarding is tested too).
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

fn hessian_of(f: &dyn Objective<f64>, x: &DVector<f64>) -> DMatrix<f64> {
    let n = f.dim();
    // Start from garbage: `hessian` must overwrite every entry.
    let mut h = DMatrix::from_element(n, n, f64::NAN);
    assert!(f.hessian(x, &mut h), "has a Hessian");
    h
}

#[test]
fn every_problem_has_a_symmetric_hessian_that_agrees_with_its_products() {
    for (name, params) in cases() {
        let f = build::<f64>(name, &params).unwrap_or_else(|e| panic!("{name}: {e}"));
        let n = f.dim();
        for k in 0..3 {
            let x = probe_point(n, k as f64) + f.start() * 0.5;
            let h = hessian_of(&*f, &x);
            let scale = h.amax().max(1.0);
            assert!(
                (&h - h.transpose()).amax() <= 1e-14 * scale,
                "{name}: not symmetric"
            );
            // Column j is H·eⱼ.
            let mut hv = DVector::zeros(n);
            for j in 0..n {
                let e = DVector::from_fn(n, |i, _| if i == j { 1.0 } else { 0.0 });
                assert!(f.hessian_vector(&x, &e, &mut hv));
                let col = h.column(j);
                assert!(
                    (col - &hv).amax() <= 1e-13 * scale,
                    "{name} column {j}: {col} vs Hv {hv}"
                );
            }
            // And on a generic vector.
            let v = DVector::from_fn(n, |i, _| ((i as f64) * 0.9 + 0.4).cos());
            assert!(f.hessian_vector(&x, &v, &mut hv));
            assert!((&h * &v - &hv).amax() <= 1e-13 * scale * v.amax(), "{name}");
        }
    }
}

#[test]
fn hessians_match_central_differences_of_the_gradient() {
    for (name, params) in cases() {
        let f = build::<f64>(name, &params).unwrap_or_else(|e| panic!("{name}: {e}"));
        let n = f.dim();
        let x = probe_point(n, 1.0) + f.start() * 0.5;
        let h = hessian_of(&*f, &x);
        let (mut gp, mut gm) = (DVector::zeros(n), DVector::zeros(n));
        for j in 0..n {
            let eps = 1e-6 * x[j].abs().max(1.0);
            let (mut xp, mut xm) = (x.clone(), x.clone());
            xp[j] += eps;
            xm[j] -= eps;
            f.gradient(&xp, &mut gp);
            f.gradient(&xm, &mut gm);
            for i in 0..n {
                let fd = (gp[i] - gm[i]) / (2.0 * eps);
                let tol = 1e-6 * h[(i, j)].abs().max(1.0);
                assert!(
                    (fd - h[(i, j)]).abs() <= tol,
                    "{name} H[{i},{j}] = {} vs FD {fd}",
                    h[(i, j)]
                );
            }
        }
    }
}

#[test]
fn closed_forms_at_known_points() {
    // Rosenbrock at its minimum (1, 1): [[802, −400], [−400, 200]], eigenvalues ≈ 1001.6
    // and 0.4.
    let f = build::<f64>("rosenbrock", &[]).unwrap();
    let h = hessian_of(&*f, &DVector::from_element(2, 1.0));
    assert_eq!(
        h,
        DMatrix::from_row_slice(2, 2, &[802.0, -400.0, -400.0, 200.0])
    );
    // Chained Rosenbrock is tridiagonal.
    let f = build::<f64>("rosenbrock", &[("n", 5.0)]).unwrap();
    let h = hessian_of(&*f, &probe_point(5, 2.0));
    for i in 0..5usize {
        for j in 0..5 {
            if i.abs_diff(j) > 1 {
                assert_eq!(h[(i, j)], 0.0, "({i}, {j})");
            }
        }
    }
    // The quadratic's Hessian is diag(λ), anywhere.
    let f = build::<f64>("quadratic", &[("n", 3.0), ("kappa", 100.0)]).unwrap();
    let h = hessian_of(&*f, &probe_point(3, 1.0));
    assert_eq!(
        h,
        DMatrix::from_diagonal(&DVector::from_vec(vec![1.0, 10.0, 100.0]))
    );
    // Logistic at w = 0: σ = ½, so H = XᵀX/(4m) + μ I without the bias; the bias column is
    // (mean of each standardized feature)/4 = 0, and H[bias, bias] = 1/4.
    let mu = 1e-2;
    let f = build::<f64>("logistic", &[("mu", mu)]).unwrap();
    let n = f.dim();
    let h = hessian_of(&*f, &DVector::zeros(n));
    assert!((h[(n - 1, n - 1)] - 0.25).abs() < 1e-15);
    for j in 0..n - 1 {
        assert!(h[(j, n - 1)].abs() < 1e-14, "bias column {j}");
        // Standardized features have unit variance: H[j, j] = 1/4 + μ.
        assert!(
            (h[(j, j)] - 0.25 - mu).abs() < 1e-12,
            "H[{j},{j}] = {}",
            h[(j, j)]
        );
    }
}

#[test]
fn hessians_exist_in_f32() {
    for (name, params) in cases() {
        let f32p = build::<f32>(name, &params).unwrap_or_else(|e| panic!("{name}: {e}"));
        let f64p = build::<f64>(name, &params).unwrap();
        let n = f64p.dim();
        let x = probe_point(n, 1.0) + f64p.start() * 0.5;
        let h64 = hessian_of(&*f64p, &x);
        let x32 = x.map(|v| v as f32);
        let mut h32 = DMatrix::<f32>::zeros(n, n);
        assert!(f32p.hessian(&x32, &mut h32), "{name}");
        let diff = (h32.map(f64::from) - &h64).amax();
        assert!(
            diff <= 1e-4 * h64.amax().max(1.0),
            "{name}: f32 off by {diff}"
        );
    }
}
