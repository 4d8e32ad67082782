//! Random and malformed input at the parsers: spec strings, run-spec JSON and checkpoint
//! files get errors, never a panic; valid specs round-trip (parse → print → parse).
//!
//! A small deterministic generator stands in for a property-testing crate: the cases are
//! the same on every run, and a failure names the input.

use gradflow::checkpoint::resume;
use gradflow::methods::Method;
use gradflow::run::RunSpec;
use gradflow::spec::Spec;

struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

const PIECES: &[&str] = &[
    "adam",
    "rmsprop",
    "euler",
    "dopri5",
    "rosenbrock",
    "quadratic",
    "n",
    "lr",
    "alpha",
    "eps",
    "kappa",
    "amsgrad",
    ":",
    ",",
    "=",
    "==",
    "::",
    "1",
    "0",
    "-1",
    "1e-3",
    "1e999",
    "nan",
    "inf",
    "-inf",
    "true",
    "false",
    "0.5",
    " ",
    "",
    "é",
    "∞",
    "\u{0}",
    "1e",
    ".",
    "-",
    "+5",
    "0x10",
];

fn random_spec(rng: &mut Lcg) -> String {
    (0..rng.below(9)).map(|_| rng.pick(PIECES)).collect()
}

#[test]
fn random_spec_strings_give_errors_not_panics() {
    let mut rng = Lcg(1);
    let mut valid = 0;
    for _ in 0..20_000 {
        let text = random_spec(&mut rng);
        if let Ok(spec) = Spec::parse(&text) {
            valid += 1;
            let again = Spec::parse(&spec.to_string())
                .unwrap_or_else(|e| panic!("'{text}' printed as '{spec}' does not parse: {e}"));
            assert_eq!(again, spec, "'{text}' does not round-trip");
        }
        let _ = Method::parse(&text);
        let _ = RunSpec::new(&text, "euler").steps(1).resolve();
        let _ = RunSpec::new("rosenbrock", &text).steps(1).resolve();
    }
    assert!(
        valid > 100,
        "the generator should also make valid specs ({valid})"
    );
}

#[test]
fn every_valid_method_spec_round_trips() {
    for m in gradflow::methods::methods() {
        let method = Method::parse(m.name).unwrap();
        let text = method.spec().to_string();
        let back = Method::parse(&text).unwrap_or_else(|e| panic!("{text}: {e}"));
        assert_eq!(back.params, method.params, "{text}");
    }
}

#[test]
fn random_json_run_specs_give_errors_not_panics() {
    let mut rng = Lcg(2);
    let keys = [
        "\"problem\"",
        "\"method\"",
        "\"x0\"",
        "\"steps\"",
        "\"t_end\"",
        "\"gtol\"",
        "\"ftol\"",
        "\"max_evals\"",
        "\"record\"",
        "\"dtype\"",
        "\"no_theta\"",
        "\"bogus\"",
    ];
    let values = [
        "\"rosenbrock\"",
        "\"adam:lr=0.1\"",
        "[1, 2]",
        "[]",
        "[1e999]",
        "-1",
        "0",
        "1e308",
        "3",
        "null",
        "true",
        "\"f32\"",
        "\"f16\"",
        "{\"name\": \"beale\"}",
        "{}",
        "\"\"",
        "18446744073709551616",
        "1.5",
    ];
    for _ in 0..5_000 {
        let fields: Vec<String> = (0..rng.below(6))
            .map(|_| format!("{}: {}", rng.pick(&keys), rng.pick(&values)))
            .collect();
        let text = format!("{{{}}}", fields.join(", "));
        if let Ok(spec) = serde_json::from_str::<RunSpec>(&text) {
            let mut spec = spec;
            // Keep runs short: the point is the checking, not the integration.
            spec.steps = Some(spec.steps.unwrap_or(3).min(3));
            spec.record = spec.record.map(|r| r.min(2));
            let _ = spec.run();
        }
    }
}

#[test]
fn mangled_checkpoints_give_errors_not_panics() {
    let dir = std::env::temp_dir().join(format!("gradflow-robust-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let good = dir.join("good.json");
    RunSpec::new("rosenbrock", "rmsprop:centered=true,momentum=0.5")
        .steps(20)
        .checkpoint(good.to_str().unwrap(), 10)
        .run()
        .unwrap();
    let bytes = std::fs::read(&good).unwrap();
    let mut rng = Lcg(3);
    let bad = dir.join("bad.json");
    for _ in 0..400 {
        let mut b = bytes.clone();
        match rng.below(3) {
            0 => b.truncate(rng.below(b.len())),
            1 => {
                for _ in 0..1 + rng.below(4) {
                    let i = rng.below(b.len());
                    b[i] = b"0123456789-e.,:[]{}\"x"[rng.below(21)];
                }
            }
            _ => {
                let i = rng.below(b.len());
                b.insert(i, b"9-]"[rng.below(3)]);
            }
        }
        std::fs::write(&bad, &b).unwrap();
        // Either an error, or (for a harmless change) a run that ends.
        let _ = resume(&bad, |s| s.steps = Some(40));
    }
}
