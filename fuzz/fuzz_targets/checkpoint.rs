//! Fuzzes reading a checkpoint file: `checkpoint::resume` on arbitrary bytes must never
//! panic (an `Err` is fine). A checkpoint that loads continues for at most 5 more steps,
//! and never writes a checkpoint or output of its own.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::io::Write;
use std::path::PathBuf;
use std::sync::OnceLock;

/// One temporary file per process (libFuzzer runs inputs one after another).
fn path() -> &'static PathBuf {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        std::env::temp_dir().join(format!(
            "gradflow-fuzz-checkpoint-{}.json",
            std::process::id()
        ))
    })
}

/// Whether the checkpoint's problem asks for a dimension above `max` (a loaded checkpoint
/// must carry a state of that dimension, so this only guards the problem's construction).
fn problem_too_big(spec: &gradflow::RunSpec, max: f64) -> bool {
    spec.problem.spec().is_ok_and(|p| {
        p.params
            .iter()
            .any(|(k, v)| k == "n" && matches!(v, gradflow::spec::Value::Number(x) if *x > max))
    })
}

fuzz_target!(|data: &[u8]| {
    let path = path();
    {
        let Ok(mut f) = std::fs::File::create(path) else {
            return;
        };
        if f.write_all(data).is_err() {
            return;
        }
    }
    let _ = gradflow::checkpoint::resume(path, |s| {
        s.steps = Some(s.steps.unwrap_or(0).min(5));
        s.record = s.record.map(|k| k.min(2));
        // A fuzzed path must not make the run write files.
        s.checkpoint = None;
        s.checkpoint_every = None;
        s.out = None;
        s.csv = None;
        if problem_too_big(s, 100.0) {
            // An unknown problem makes `resolve` fail before anything is built.
            s.problem = gradflow::run::SpecField::Text("too-big-for-the-fuzzer".into());
        }
    });
});
