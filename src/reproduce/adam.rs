//! Experiments 8–9: Adam = RMSprop + momentum tends to the sign flow; heavy-ball momentum
//! with μ = 1 − λε is a damped oscillator in time t = kε.

use super::common::{dist, fix, sci, slope, thetas, verdict, Outcome, Table};
use super::euler::LAMBDA;
use super::Claim;
use crate::error::Result;
use crate::plot::{Figure, Series};
use crate::RunSpec;
use serde_json::json;

/// The quadratic of experiment 8, ½(θ₁² + 10θ₂²), from (1, 1).
const Q2: &str = "quadratic:n=2,kappa=10";

fn run(method: &str, steps: u64) -> Result<crate::Report> {
    RunSpec::new(Q2, method)
        .x0(vec![1.0, 1.0])
        .steps(steps)
        .record(1)
        .run()
}

/// Experiment 8: Adam against sign descent and the sign flow.
///
/// With β₁ = β₂ = 0 (and ε = 0) Adam's step is m/√v = g/|g| per component: sign descent
/// θ ← θ − lr·sign(∇L), an Euler step of size lr of the sign flow θ̇ = −sign(∇L), the
/// per-component form of R7. With β fixed, the averages lag the gradient by
/// β/(1 − β) steps, which moves θ by O(lr), so as lr → 0 at fixed β Adam follows the sign
/// flow in time τ = k·lr with an O(lr) error (Balles & Hennig, ICML 2018, deterministic
/// case). On Q the velocity deficit is lr·(β₂/(1 − β₂) − β₁/(1 − β₁))/θ per unit τ, so the
/// distance at τ = 0.5 is ≈ 8·ln 2·lr·√2 for (β₁, β₂) = (0.5, 0.9): ten times smaller at
/// lr/10.
pub fn adam_sign_flow(_quick: bool) -> Result<Outcome> {
    let lr = 1e-3;
    let n = 2000u64; // to τ = 2: through the minimum (τ = 1) into the final cycle
    let sign = thetas(&run(&format!("sign:lr={lr:?}"), n)?);
    let mut t_a = Table::new(&["method", "steps", "max ‖θ_adam − θ_sign‖∞", "required", ""]);
    let mut pass = true;
    let mut m_a = Vec::new();
    let mut d_sign = f64::NAN;
    for (eps, required) in [("0", Some(1e-12)), ("1e-8", None)] {
        let spec = format!("adam:lr={lr:?},beta1=0,beta2=0,eps={eps}");
        let a = thetas(&run(&spec, n)?);
        let d = a
            .iter()
            .zip(&sign)
            .map(|(x, y)| {
                x.iter()
                    .zip(y)
                    .map(|(p, q)| (p - q).abs())
                    .fold(0.0, f64::max)
            })
            .fold(0.0, f64::max);
        let same_length = a.len() == sign.len();
        let ok = match required {
            Some(r) => same_length && d <= r,
            None => true,
        };
        pass &= ok;
        if required.is_some() {
            d_sign = d;
        }
        m_a.push(json!({ "method": spec, "max_difference": d, "required": required }));
        t_a.row(vec![
            format!("`{spec}`"),
            n.to_string(),
            sci(d),
            required.map_or("(not a claim)".into(), |r| format!("≤ {}", sci(r))),
            if required.is_some() {
                verdict(ok).into()
            } else {
                String::new()
            },
        ]);
    }
    // Distance to the sign flow θ(τ) = (1 − τ)(1, 1) up to τ = 0.5.
    let horizon = 0.5f64;
    let mut t_b = Table::new(&[
        "(β₁, β₂)",
        "lr",
        "steps",
        "max ‖θₖ − θ_sign-flow(k·lr)‖ for k·lr ≤ 0.5",
        "ratio lr = 1e-3 / 1e-4",
        "",
    ]);
    let mut m_b = Vec::new();
    let mut series = Vec::new();
    let mut shrink = f64::NAN;
    for (b1, b2, claimed) in [(0.5, 0.9, true), (0.9, 0.999, false)] {
        let mut d = Vec::new();
        for lr in [1e-3, 1e-4] {
            let steps = (horizon / lr).round() as u64;
            let th = thetas(&run(
                &format!("adam:lr={lr:?},beta1={b1:?},beta2={b2:?},eps=0"),
                steps,
            )?);
            let gaps: Vec<(f64, f64)> = th
                .iter()
                .enumerate()
                .skip(1)
                .map(|(k, y)| {
                    let tau = k as f64 * lr;
                    (tau, dist(y, &[1.0 - tau, 1.0 - tau]))
                })
                .collect();
            d.push(gaps.iter().map(|p| p.1).fold(0.0, f64::max));
            series.push(Series {
                name: format!("β = ({b1}, {b2}), lr = {lr:e}"),
                points: gaps,
                dashed: !claimed,
            });
        }
        let ratio = d[0] / d[1];
        let ok = ratio >= 8.0;
        if claimed {
            pass &= ok;
            shrink = ratio;
        }
        m_b.push(json!({
            "beta1": b1, "beta2": b2, "distance_lr_1e-3": d[0], "distance_lr_1e-4": d[1],
            "ratio": ratio, "claimed": claimed,
        }));
        for (i, lr) in [1e-3, 1e-4].iter().enumerate() {
            t_b.row(vec![
                format!("({b1}, {b2})"),
                sci(*lr),
                ((horizon / lr).round() as u64).to_string(),
                sci(d[i]),
                if i == 0 { fix(ratio, 2) } else { String::new() },
                match (i, claimed) {
                    (0, true) => format!("{} (≥ 8)", verdict(ok)),
                    (0, false) => "(not a claim)".into(),
                    _ => String::new(),
                },
            ]);
        }
    }
    let figure = Figure {
        title: "Adam on ½(θ₁² + 10θ₂²): distance to the sign flow at τ = k·lr".into(),
        x_label: "τ = k·lr".into(),
        y_label: "‖θₖ − θ(τ)‖".into(),
        y_log: true,
        series,
        ..Figure::default()
    };
    Ok(Outcome {
        claim: Claim {
            id: "8-adam-sign-flow".into(),
            claim: "Adam without averaging is sign descent, and with fixed β it follows the sign flow θ̇ = −sign(∇L) with an error of order lr.".into(),
            measured: json!({ "no_averaging": m_a, "sign_flow": m_b }),
            expected: "adam:beta1=0,beta2=0,eps=0 equals sign descent to 1e-12 over 2000 steps; with (β₁, β₂) = (0.5, 0.9) the max distance to the sign flow over τ ≤ 0.5 shrinks at least 8× from lr = 1e-3 to 1e-4".into(),
            pass,
        },
        headline: format!(
            "β = 0: max |θ − θ_sign| = {}; (0.5, 0.9): distance shrinks {shrink:.2}× from lr = 1e-3 to 1e-4",
            sci(d_sign)
        ),
        setup: "`quadratic:n=2,kappa=10` (λ = (1, 10)) from (1, 1). (a) `adam:beta1=0,beta2=0` against `sign`, \
                lr = 1e-3, 2000 steps (through the minimum at τ = 1 into the final cycle). (b) `adam` with eps = 0 \
                at lr = 1e-3 and 1e-4 to τ = k·lr = 0.5, against the sign flow θ(τ) = (1 − τ)(1, 1).".into(),
        table: format!("{}\n{}", t_a.markdown(), t_b.markdown()),
        figures: vec![(String::new(), figure)],
        notes: "The claim needs eps = 0: Adam's default eps = 1e-8 shortens each step by lr·ε/(|gᵢ| + ε), about \
             1e-8 relative near the minimum (|gᵢ| ≈ lr); in the final cycle such differences decide on which \
             side of 0 an iterate lands, and the two paths part by O(lr) (second row). With (0.9, 0.999) the lag β₂/(1 − β₂) = 999 \
             steps is not small against the 500–5000 steps of the run: the limit needs lr ≪ 1 − β₂."
        .into(),
    })
}

/// Experiment 9: heavy ball as a damped oscillator.
///
/// `momentum` (torch's SGD: b ← μb + g, θ ← θ − lr·b, b₁ = g₀) with lr = ε² and
/// μ = 1 − λε: with vₖ = (θₖ − θₖ₋₁)/ε, vₖ₊₁ = vₖ − ε(λvₖ + ∇L(θₖ)) and θₖ₊₁ = θₖ + εvₖ₊₁,
/// the symplectic Euler method with step ε for θ̈ + λθ̇ + ∇L = 0, θ(0) = θ₀, θ̇(0) = 0 (Su
/// Jianlin's predecessor article; Qian 1999). On L = θ² (∇L = 2θ) with λ = 2 the solution is
/// θ(t) = e^(−t)(cos t + sin t); the error at t = kε is first order in ε.
pub fn momentum_oscillator(_quick: bool) -> Result<Outcome> {
    let t_end = 10.0;
    let ks: Vec<u32> = (3..=10).collect();
    let exact = |t: f64| (-t).exp() * (t.cos() + t.sin());
    let (mut eps, mut errs) = (Vec::new(), Vec::new());
    let mut series = Vec::new();
    for &k in &ks {
        let e = 1.0 / f64::from(1u32 << k);
        let steps = (t_end / e).round() as u64;
        let spec = format!("momentum:lr={:?},momentum={:?}", e * e, 1.0 - LAMBDA * e);
        let r = RunSpec::new("quadratic:n=1,scale=2", &spec)
            .steps(steps)
            .record(1)
            .run()?;
        let th = thetas(&r);
        let err = th
            .iter()
            .enumerate()
            .map(|(j, y)| (y[0] - exact(j as f64 * e)).abs())
            .fold(0.0, f64::max);
        eps.push(e);
        errs.push(err);
        if k == 3 || k == 5 {
            series.push(Series {
                name: format!("momentum, ε = 2^-{k}"),
                points: th
                    .iter()
                    .enumerate()
                    .map(|(j, y)| (j as f64 * e, y[0]))
                    .collect(),
                dashed: false,
            });
        }
    }
    let ts: Vec<f64> = (0..=400).map(|i| i as f64 * t_end / 400.0).collect();
    series.push(Series {
        name: "θ″ + 2θ′ + 2θ = 0".into(),
        points: ts.iter().map(|&t| (t, exact(t))).collect(),
        dashed: true,
    });
    series.push(Series {
        name: "gradient flow e^(−2t)".into(),
        points: ts.iter().map(|&t| (t, (-LAMBDA * t).exp())).collect(),
        dashed: true,
    });
    let last5 = eps.len() - 5;
    let s = slope(&eps[last5..], &errs[last5..]);
    let pass = (0.97..=1.03).contains(&s);
    let mut table = Table::new(&[
        "ε",
        "lr = ε²",
        "momentum = 1 − 2ε",
        "steps",
        "max |θₖ − θ(kε)|",
        "/ε",
    ]);
    for (i, &e) in eps.iter().enumerate() {
        table.row(vec![
            format!("2^-{}", ks[i]),
            sci(e * e),
            fix(1.0 - LAMBDA * e, 6),
            ((t_end / e).round() as u64).to_string(),
            sci(errs[i]),
            fix(errs[i] / e, 4),
        ]);
    }
    let figure = Figure {
        title: "Heavy ball with lr = ε², μ = 1 − 2ε on θ²: a damped oscillator in t = kε".into(),
        x_label: "t = kε".into(),
        y_label: "θ".into(),
        series,
        ..Figure::default()
    };
    Ok(Outcome {
        claim: Claim {
            id: "9-momentum-ode".into(),
            claim: "Heavy-ball momentum with lr = ε² and momentum = 1 − λε integrates the damped oscillator θ̈ + λθ̇ + ∇L = 0 with time step ε = √lr, to first order.".into(),
            measured: json!({ "slope": s, "eps": eps, "max_error": errs }),
            expected: "log-log slope of max error against ε over the last four halvings (ε = 2⁻⁶…2⁻¹⁰) in [0.97, 1.03]".into(),
            pass,
        },
        headline: format!("slope {s:.4}; max error/ε → {:.4}", errs[errs.len() - 1] / eps[eps.len() - 1]),
        setup: "`quadratic:n=1,scale=2` (∇L = 2θ) from θ = 1, `momentum:lr=ε²,momentum=1−2ε` (λ = 2), k up to 10/ε, \
                against θ(t) = e^(−t)(cos t + sin t) at t = kε, for ε = 2⁻³…2⁻¹⁰.".into(),
        table: format!("{}\nslope over ε = 2⁻⁶…2⁻¹⁰: {}\n", table.markdown(), fix(s, 4)),
        figures: vec![(String::new(), figure)],
        notes: "The report's virtual time for `momentum` is k·lr/(1 − μ) = kε/2, the clock of a different limit: at \
             fixed μ, as lr → 0, heavy ball tracks the first-order gradient flow (Kovachki & Stuart 2021). With \
             μ = 1 − λε the inertia does not vanish and the limit is second order, in t = kε."
        .into(),
    })
}
