//! Fuzzes the `--spec FILE.json` run spec: `serde_json::from_str::<RunSpec>` must never
//! panic, and a spec it accepts must run (`RunSpec::run`) without panicking; an `Err`
//! from either is fine.
//!
//! To keep every input cheap the target bounds the run before starting it: at most 3
//! steps, `record` at most 2, no checkpoint file, and no problem bigger than n = 9999
//! (n ≤ 100 for the methods that build a dense Hessian).
#![no_main]

use gradflow::spec::Value;
use gradflow::RunSpec;
use libfuzzer_sys::fuzz_target;

/// The largest `n` the target runs.
const MAX_N: f64 = 9999.0;
/// The largest `n` for the methods that factor a dense n × n Hessian.
const MAX_N_HESSIAN: f64 = 100.0;

/// Whether `text` has `n=` followed by more than 4 digits.
fn has_big_n(text: &str) -> bool {
    text.match_indices("n=").any(|(i, m)| {
        text[i + m.len()..]
            .chars()
            .take_while(|c| c.is_ascii_digit())
            .count()
            > 4
    })
}

/// Whether the parsed problem asks for a dimension larger than `max`
/// (catches `n=1e8` and the `{"name": ..., "params": {"n": ...}}` form too).
fn problem_too_big(spec: &RunSpec, max: f64) -> bool {
    spec.problem.spec().is_ok_and(|p| {
        p.params
            .iter()
            .any(|(k, v)| k == "n" && matches!(v, Value::Number(x) if *x > max))
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(mut spec) = serde_json::from_str::<RunSpec>(text) else {
        return;
    };
    spec.steps = Some(spec.steps.unwrap_or(3).min(3));
    spec.record = spec.record.map(|k| k.min(2));
    // A fuzzed path must not make the run write files.
    spec.checkpoint = None;
    spec.checkpoint_every = None;
    spec.out = None;
    spec.csv = None;
    if has_big_n(text) || problem_too_big(&spec, MAX_N) {
        return;
    }
    let hessian = spec
        .method
        .spec()
        .is_ok_and(|m| matches!(m.name.as_str(), "implicit-euler" | "ros23" | "rodas4"));
    if hessian && problem_too_big(&spec, MAX_N_HESSIAN) {
        return;
    }
    let _ = spec.run();
});
