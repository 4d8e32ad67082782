//! Experiment 4: the stability limit of an explicit step on a stiff quadratic.

use super::common::{fix, problem, sci, trace, verdict, Outcome, Table};
use super::Claim;
use crate::error::Result;
use crate::plot::{Figure, Series};
use gradflow_integrators::tableau::{self, Tableau};
use gradflow_integrators::{Integrator, RungeKutta, Stop};
use nalgebra::DVector;
use serde_json::json;

/// λ_max of `quadratic:n=2,kappa=1000` (λ = (1, 1000)).
const LAMBDA_MAX: f64 = 1000.0;

/// The schemes and the real-axis limits x_b quoted in the issue (REFERENCES §3): the step
/// on θ̇ = −λθ multiplies θ by the stability function R(−hλ), and |R(−x)| ≤ 1 exactly for
/// 0 ≤ x ≤ x_b.
const SCHEMES: [(&Tableau, &str, f64); 3] = [
    (&tableau::EULER, "euler", 2.0),
    (&tableau::RK4, "rk4", 2.7853),
    (
        &tableau::DOPRI5,
        "dopri5 (propagating 5th-order formula)",
        3.3066,
    ),
];

/// R(−x): one step of size x of the tableau on y′ = −y from y = 1.
pub fn amplification(tab: &'static Tableau, x: f64) -> f64 {
    let mut field = |_t: f64, y: &DVector<f64>, dy: &mut DVector<f64>| {
        dy.copy_from(y);
        dy.neg_mut();
    };
    let mut run = Integrator::new(
        RungeKutta::fixed(tab, x, 1),
        0.0,
        DVector::from_element(1, 1.0),
    );
    run.integrate(&mut field, &Stop::steps(1), &mut ());
    run.y()[0]
}

/// The real-axis stability limit x_b of a tableau: |R(−x)| = 1 by bisection on [1, 4]
/// (each of the three has |R| < 1 at 1 and > 1 at 4, with one crossing between).
pub fn real_axis_limit(tab: &'static Tableau) -> f64 {
    let (mut lo, mut hi) = (1.0, 4.0);
    for _ in 0..60 {
        let mid = 0.5 * (lo + hi);
        if amplification(tab, mid).abs() <= 1.0 {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    0.5 * (lo + hi)
}

/// Experiment 4: each scheme at 0.999 and 1.001 of its limit, h = factor·x_b/λ_max, on
/// L = ½(θ₁² + 1000θ₂²) from (1, 1). θ₂ is multiplied by R(−hλ_max) every step, so it
/// shrinks below the limit and grows above it by exactly |R(−hλ_max)| per step.
pub fn stability(_quick: bool) -> Result<Outcome> {
    let q = problem("quadratic", &[("n", 2.0), ("kappa", LAMBDA_MAX)])?;
    let x0 = [1.0, 1.0];
    let n0 = super::common::dist(&x0, &[0.0, 0.0]);
    let steps = 5000u64;
    let mut table = Table::new(&[
        "method",
        "x_b quoted",
        "x_b measured",
        "h·λ_max",
        "|R(−hλ_max)|",
        "measured |θ₂,N/θ₂,N−1|",
        "‖θ_N‖ (N = 5000)",
        "",
    ]);
    let mut pass = true;
    let mut measured = Vec::new();
    let mut series = Vec::new();
    let (mut limits, mut worst_match) = (Vec::new(), 0.0f64);
    for (tab, name, quoted) in SCHEMES {
        let limit = real_axis_limit(tab);
        limits.push(format!("{limit:.5}"));
        let limit_ok = (limit - quoted).abs() <= 1e-4;
        pass &= limit_ok;
        for factor in [0.999, 1.001] {
            let x = factor * quoted;
            let h = x / LAMBDA_MAX;
            let r = amplification(tab, x).abs();
            let stepper = Box::new(RungeKutta::fixed(tab, h, 2));
            let (_, tr) = trace(&*q, stepper, &x0, &Stop::steps(steps));
            let n = tr.y.len();
            let rho = if n >= 2 {
                (tr.y[n - 1][1] / tr.y[n - 2][1]).abs()
            } else {
                f64::NAN
            };
            let norm =
                tr.y.last()
                    .map_or(f64::NAN, |y| super::common::dist(y, &[0.0, 0.0]));
            let matches = (rho / r - 1.0).abs() <= 1e-9;
            worst_match = worst_match.max((rho / r - 1.0).abs());
            let ok = if factor < 1.0 {
                matches && rho < 1.0 && norm <= 1e-3 * n0
            } else {
                matches && rho > 1.0
            };
            pass &= ok;
            measured.push(json!({
                "method": name, "factor": factor, "x_b_measured": limit, "h_lambda_max": x,
                "R": r, "per_step_factor": rho, "final_norm": norm, "pass": ok && limit_ok,
            }));
            table.row(vec![
                format!("`{}`", name.split(' ').next().unwrap_or(name)),
                fix(quoted, 4),
                fix(limit, 5),
                format!("{factor} x_b = {}", fix(x, 5)),
                fix(r, 6),
                fix(rho, 6),
                sci(norm),
                verdict(ok && limit_ok).into(),
            ]);
            series.push(Series {
                name: format!("{} at {factor}·x_b", name.split(' ').next().unwrap_or(name)),
                points: tr
                    .y
                    .iter()
                    .enumerate()
                    .map(|(k, y)| (k as f64, y[1].abs()))
                    .collect(),
                dashed: factor > 1.0,
            });
        }
    }
    let figure = Figure {
        title: "Just below and just above the stability limit: |θ₂| on λ = (1, 1000)".into(),
        x_label: "step".into(),
        y_label: "|θ₂|".into(),
        y_log: true,
        series,
        ..Figure::default()
    };
    Ok(Outcome {
        claim: Claim {
            id: "4-stability".into(),
            claim: "An explicit step is stable on a quadratic only below its real-axis limit h·λ_max < x_b: 2 for Euler (GD), 2.7853 for RK4, 3.3066 for DOPRI5.".into(),
            measured: json!(measured),
            expected: "at 0.999·x_b: per-step factor < 1 and ‖θ_N‖ ≤ 1e-3‖θ₀‖; at 1.001·x_b: per-step factor > 1; the factor equals |R(−hλ_max)| to 1e-9 (relative) in both; x_b from the tableau within 1e-4 of the quoted value".into(),
            pass,
        },
        headline: format!(
            "x_b = {}; per-step factor = |R(−hλ_max)| to {worst_match:.1e}",
            limits.join(", ")
        ),
        setup: "`quadratic:n=2,kappa=1000` (λ = (1, 1000)) from (1, 1), 5000 fixed steps of h = factor·x_b/1000 with \
                `RungeKutta::fixed` on `tableau::EULER`, `RK4` and `DOPRI5` (its 5th-order propagating weights, \
                no error control). R is measured by one step of the same tableau on y′ = −y; x_b by bisection \
                of |R(−x)| = 1.".into(),
        table: table.markdown(),
        figures: vec![(String::new(), figure)],
        notes: "For Euler R(−x) = 1 − x, so GD with lr = h converges on a quadratic iff h < 2/λ_max. \
             The limits computed from the tableaus agree with the quoted ones."
        .into(),
    })
}
