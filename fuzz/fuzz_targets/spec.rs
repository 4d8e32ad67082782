//! Fuzzes the spec-string parser `NAME[:key=value,...]` and what is built on it.
//!
//! - `Spec::parse` must never panic; when it accepts a string, printing the spec and
//!   parsing the print must give back an equal spec (Display / parse round trip).
//! - `Method::parse` and `RunSpec::resolve` (the text as a method, then as a problem)
//!   must never panic; their `Err`s are fine.
#![no_main]

use gradflow::methods::Method;
use gradflow::spec::Spec;
use gradflow::RunSpec;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(spec) = Spec::parse(text) {
        let printed = spec.to_string();
        let again = Spec::parse(&printed)
            .unwrap_or_else(|e| panic!("{text:?} parsed, but its print {printed:?} does not: {e}"));
        assert_eq!(
            again, spec,
            "{text:?} printed as {printed:?} parses to a different spec"
        );
    }
    let _ = Method::parse(text);
    let _ = RunSpec::new(text, "euler").steps(1).resolve();
    let _ = RunSpec::new("rosenbrock", text).steps(1).resolve();
});
