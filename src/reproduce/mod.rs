//! `gradflow reproduce`: the article's derivation as asserted experiments.
//!
//! Each experiment is a function `fn(quick) -> Result<Outcome>` that measures one claim of
//! Su Jianlin's argument (gradient descent is Euler; h|L′| measures the error; fixing it gives
//! sign descent with an uneven clock; averaging gives RMSprop; eq. 14 follows the flow, eq. 15
//! wins in practice; Adam is RMSprop plus momentum) and returns the claim with its measured
//! numbers and verdict, a Markdown table and figures. [`reproduce`] runs the catalogue and
//! writes `claims.json`, one SVG per figure and `README.md`, the derivation told step by step.
//! Experiments that take a [`common::Maker`] (`*_with`) can be run on a deliberately broken
//! method, whose claim must then fail.

pub mod adam;
pub mod clock;
pub mod common;
pub mod control;
pub mod euler;
mod readme;
pub mod rmsprop;
pub mod stability;

use crate::error::{Error, Result};
use crate::output::write_atomic;
use common::Outcome;
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::time::Instant;

/// One claim: what it says, what was measured, what was expected, and whether it held.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Claim {
    /// Experiment id.
    pub id: String,
    /// The claim in one sentence.
    pub claim: String,
    /// The measured numbers.
    pub measured: serde_json::Value,
    /// The expected value with its tolerance, in words.
    pub expected: String,
    /// Whether the measurement meets the expectation.
    pub pass: bool,
}

/// Options of a reproduction.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// Reduced experiments that run in seconds.
    pub quick: bool,
    /// Run only the experiment with this id.
    pub only: Option<String>,
}

/// An experiment of the catalogue.
#[derive(Clone, Copy, Debug)]
pub struct Experiment {
    /// Id, `N-name`; `--only` takes it or its number N.
    pub id: &'static str,
    /// Section title in the README.
    pub title: &'static str,
    /// Runs it (`true`: the quick version).
    pub run: fn(bool) -> Result<Outcome>,
}

static EXPERIMENTS: [Experiment; 11] = [
    Experiment {
        id: "1-gd-is-euler",
        title: "Gradient descent is Euler's method, of first order",
        run: euler::gd_is_euler,
    },
    Experiment {
        id: "2-local-error",
        title: "The local error is ½h²|L″L′|",
        run: euler::local_error,
    },
    Experiment {
        id: "3-modified-flow",
        title: "GD follows a modified flow to second order",
        run: euler::modified_flow,
    },
    Experiment {
        id: "4-stability",
        title: "The stability limit",
        run: stability::stability,
    },
    Experiment {
        id: "5-sign-descent-clock",
        title: "Fixing the error gives sign descent with an uneven clock",
        run: clock::sign_clock,
    },
    Experiment {
        id: "6-rmsprop-average",
        title: "Averaging gives RMSprop",
        run: clock::rmsprop_average,
    },
    Experiment {
        id: "7-eq14-vs-eq15",
        title: "Eq. 14 follows the flow, eq. 15 wins in practice",
        run: rmsprop::eq14_vs_eq15,
    },
    Experiment {
        id: "8-adam-sign-flow",
        title: "Adam tends to the sign flow",
        run: adam::adam_sign_flow,
    },
    Experiment {
        id: "9-momentum-ode",
        title: "Momentum is a second-order ODE with time step √lr",
        run: adam::momentum_oscillator,
    },
    Experiment {
        id: "10-flat-minimum",
        title: "Error-controlled GD beats the best fixed step on a flat minimum",
        run: control::flat_minimum,
    },
    Experiment {
        id: "11-stiff-minimum",
        title: "…and does not on a stiff one",
        run: control::stiff_minimum,
    },
];

/// The catalogue, in the order of the argument.
pub fn experiments() -> &'static [Experiment] {
    &EXPERIMENTS
}

/// The experiments `only` selects: all without it; else the one whose id or number matches.
pub fn select(only: Option<&str>) -> Result<Vec<&'static Experiment>> {
    match only {
        None => Ok(EXPERIMENTS.iter().collect()),
        Some(want) => {
            let want = want.trim();
            EXPERIMENTS
                .iter()
                .find(|e| e.id == want || readme::number(e.id) == want)
                .map(|e| vec![e])
                .ok_or_else(|| {
                    let ids: Vec<&str> = EXPERIMENTS.iter().map(|e| e.id).collect();
                    Error::usage(format!(
                        "unknown experiment '{want}'; valid: {} (or their numbers 1–{})",
                        ids.join(", "),
                        ids.len()
                    ))
                })
        }
    }
}

/// Runs the experiments, writes `claims.json`, `README.md` and the figures into `out`, and
/// returns the claims.
pub fn reproduce(options: &Options, out: &Path) -> Result<Vec<Claim>> {
    let selected = select(options.only.as_deref())?;
    std::fs::create_dir_all(out)
        .map_err(|e| Error::Io(format!("cannot create {}: {e}", out.display())))?;
    let clock = Instant::now();
    let mut results = Vec::with_capacity(selected.len());
    for e in selected {
        let start = Instant::now();
        let outcome = (e.run)(options.quick)?;
        results.push((e, outcome, start.elapsed().as_secs_f64()));
    }
    let seconds = clock.elapsed().as_secs_f64();
    for (e, o, _) in &results {
        for (suffix, fig) in &o.figures {
            let path = out.join(format!("{}{suffix}.svg", e.id));
            let svg = common::headroom(fig.clone()).render();
            write_atomic(&path, svg.as_bytes())?;
        }
    }
    let claims: Vec<Claim> = results.iter().map(|r| r.1.claim.clone()).collect();
    let json = serde_json::to_string_pretty(&claims)
        .map_err(|e| Error::Io(format!("cannot encode claims: {e}")))?;
    write_atomic(&out.join("claims.json"), format!("{json}\n").as_bytes())?;
    let text = readme::render(options, out, &results, seconds);
    write_atomic(&out.join("README.md"), text.as_bytes())?;
    Ok(claims)
}
