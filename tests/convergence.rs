//! The integrators against closed forms: Euler's exact recurrence, measured orders of
//! convergence on the exact quadratic and quartic flows, and tolerance proportionality.

mod common;

use common::{integrate, problem, slope};
use gradflow::integrators::tableau::{self, Tableau};
use gradflow::integrators::{Controller, RungeKutta, Status, Stop};
use gradflow::problems::Objective;
use nalgebra::DVector;

#[test]
fn euler_on_the_quadratic_is_the_closed_form_recurrence() {
    let q = problem("quadratic", &[("n", 3.0), ("kappa", 10.0)]);
    let (h, n) = (0.01, 150u64);
    let (run, status) = integrate(
        &*q,
        RungeKutta::fixed(&tableau::EULER, h, 3),
        q.start(),
        &Stop::steps(n),
    );
    assert_eq!(status, Status::MaxSteps);
    let lambda = [1.0, 10f64.sqrt(), 10.0];
    for (i, l) in lambda.iter().enumerate() {
        let want = (1.0 - h * l).powi(n as i32);
        // n roundings of a product: relative error ≤ n·ε.
        let rel = (run.y()[i] - want).abs() / want.abs();
        assert!(
            rel < 150.0 * f64::EPSILON,
            "θ{i}: {} vs {want} ({rel:e})",
            run.y()[i]
        );
    }
    assert!((run.t() - 1.5).abs() < 1e-13);
}

/// Endpoint error at T = 1 of `tab` at fixed steps T/n against the exact flow.
fn ladder(obj: &dyn Objective<f64>, tab: &'static Tableau, ns: &[u64]) -> (Vec<f64>, Vec<f64>) {
    let x0 = obj.start();
    let mut exact = DVector::zeros(obj.dim());
    assert!(obj.exact_flow(&x0, 1.0, &mut exact));
    let mut hs = Vec::new();
    let mut errs = Vec::new();
    for &n in ns {
        let h = 1.0 / n as f64;
        let (run, status) = integrate(
            obj,
            RungeKutta::fixed(tab, h, obj.dim()),
            x0.clone(),
            &Stop::t_end(1.0),
        );
        assert_eq!(status, Status::TEnd);
        assert_eq!(
            run.stats().accepted,
            n,
            "{}: lands on T in n steps",
            tab.name
        );
        hs.push(h);
        errs.push((run.y() - &exact).amax());
    }
    (hs, errs)
}

#[test]
fn measured_orders_match_the_tableaus() {
    let quad = problem("quadratic", &[("n", 2.0), ("kappa", 4.0)]);
    let quart = problem("quartic", &[("n", 1.0)]);
    // Ladders in the asymptotic range, above round-off (errors 1e-4 … 1e-13).
    let cases: [(&Tableau, &[u64], &[u64]); 4] = [
        (
            &tableau::EULER,
            &[64, 128, 256, 512, 1024],
            &[64, 128, 256, 512, 1024],
        ),
        (&tableau::RK4, &[32, 64, 128, 256], &[128, 256, 512]),
        (&tableau::BS23, &[32, 64, 128, 256], &[64, 128, 256, 512]),
        (&tableau::DOPRI5, &[64, 128, 256], &[]),
    ];
    for (tab, nq, n4) in cases {
        for (name, obj, ns) in [("quadratic", &quad, nq), ("quartic", &quart, n4)] {
            if ns.is_empty() {
                continue;
            }
            let (h, e) = ladder(&**obj, tab, ns);
            let p = slope(&h, &e);
            println!("{:<7} {name:<10} errors {e:?} slope {p:.3}", tab.name);
            let want = f64::from(tab.order);
            assert!((p - want).abs() <= 0.1, "{} on {name}: slope {p}", tab.name);
        }
    }
}

/// DOPRI5 on the quartic: the error is C₅h⁵ + C₆h⁶ + … with C₆/C₅ ≈ 50 (T = 1), so the
/// asymptotic range h ≪ 1/50 lies below double-precision round-off (error 8e-16 at
/// h = 1/256). What can be measured is the approach: local slopes log₂(e(h)/e(h/2))
/// fall monotonically toward 5 (6.4, 6.0, 5.7, 5.45, 5.2 for n = 16 … 256).
#[test]
fn dopri5_on_the_quartic_approaches_order_five_from_above() {
    let quart = problem("quartic", &[("n", 1.0)]);
    let (_, e) = ladder(&*quart, &tableau::DOPRI5, &[8, 16, 32, 64, 128, 256]);
    let local: Vec<f64> = e.windows(2).map(|w| (w[0] / w[1]).log2()).collect();
    println!("dopri5 quartic errors {e:?} local slopes {local:.3?}");
    for w in local.windows(2) {
        assert!(w[1] < w[0], "local slopes decrease: {local:?}");
    }
    let last = local[local.len() - 1];
    assert!((5.0..5.4).contains(&last), "last local slope {last}");
}

/// Endpoint error at t = 10 for each rtol (atol = rtol/1000).
fn tolerance_ladder(obj: &dyn Objective<f64>, tab: &'static Tableau, rtols: &[f64]) -> Vec<f64> {
    let x0 = obj.start();
    let mut exact = DVector::zeros(obj.dim());
    obj.exact_flow(&x0, 10.0, &mut exact);
    rtols
        .iter()
        .map(|&rtol| {
            let stepper =
                RungeKutta::controlled(tab, rtol, rtol * 1e-3, None, Controller::I, obj.dim());
            let (run, status) = integrate(obj, stepper, x0.clone(), &Stop::t_end(10.0));
            assert_eq!(status, Status::TEnd);
            assert_eq!(run.t(), 10.0, "lands exactly on t_end");
            (run.y() - &exact).amax()
        })
        .collect()
}

#[test]
fn adaptive_errors_shrink_in_proportion_to_the_tolerance() {
    let quad = problem("quadratic", &[("n", 3.0), ("kappa", 10.0)]);
    let quart = problem("quartic", &[("n", 2.0)]);
    let rtols = [1e-4, 1e-5, 1e-6, 1e-7, 1e-8, 1e-9, 1e-10];
    // Global error ∝ rtol for a pair propagating its higher order (error per step ≈ tol,
    // h ∝ tol^(1/(q+1)), global error ∝ h^p with p = q + 1). Heun–Euler propagates Euler
    // (p = 1 < q + 1 = 2), so its global error goes as rtol^(1/2).
    for (tab, lo, hi) in [
        (&tableau::DOPRI5, 0.8, 1.2),
        (&tableau::BS23, 0.8, 1.2),
        (&tableau::HEUN_EULER, 0.4, 0.6),
    ] {
        for (name, obj) in [("quadratic", &quad), ("quartic", &quart)] {
            let errs = tolerance_ladder(&**obj, tab, &rtols);
            let p = slope(&rtols, &errs);
            println!("{:<10} {name:<10} errors {errs:?} slope {p:.3}", tab.name);
            assert!((lo..=hi).contains(&p), "{} on {name}: slope {p}", tab.name);
            // Meets the tolerance up to the usual global-error growth.
            if tab.name != "heun-euler" {
                for (e, r) in errs.iter().zip(&rtols) {
                    assert!(
                        *e < 100.0 * r,
                        "{} on {name}: error {e} at rtol {r}",
                        tab.name
                    );
                }
            }
        }
    }
}
