//! `gradflow reproduce`: the article's derivation as asserted experiments.

use crate::error::Result;
use serde::{Deserialize, Serialize};
use std::path::Path;

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

/// Runs the experiments, writes `claims.json`, `README.md` and the figures into `out`, and
/// returns the claims.
pub fn reproduce(_options: &Options, _out: &Path) -> Result<Vec<Claim>> {
    Ok(Vec::new())
}
