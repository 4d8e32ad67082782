//! Property tests of the spec grammar (proptest): any string parses to a spec or an error,
//! never a panic, and every valid spec survives parse → print → parse unchanged.

use gradflow::methods::{methods, Method};
use gradflow::spec::{Kind, Spec, Value};
use proptest::prelude::*;

/// A valid method spec: a registered name with some of its keys at valid values.
fn valid_method() -> impl Strategy<Value = String> {
    let n = methods().len();
    (
        0..n,
        proptest::collection::vec((0usize..8, 0.0f64..0.99, any::<bool>()), 0..4),
    )
        .prop_map(|(i, picks)| {
            let m = &methods()[i];
            let mut parts = Vec::new();
            for (k, x, b) in picks {
                let Some(key) = m.keys.get(k % m.keys.len().max(1)) else {
                    continue;
                };
                if parts
                    .iter()
                    .any(|p: &String| p.starts_with(&format!("{}=", key.name)))
                {
                    continue;
                }
                // implicit-euler takes max_step for its adaptive step only (without lr),
                // a cross-key rule checked in tests/cli.rs.
                let has = |k: &str| {
                    parts
                        .iter()
                        .any(|p: &String| p.starts_with(&format!("{k}=")))
                };
                if (key.name == "max_step" && has("lr")) || (key.name == "lr" && has("max_step")) {
                    continue;
                }
                let v = match key.kind {
                    // nesterov=true also needs momentum > 0 and dampening = 0 (a cross-key
                    // rule checked separately in tests/optimizers.rs).
                    Kind::Bool => Value::Bool(b && key.name != "nesterov"),
                    Kind::Number {
                        lo, lo_open, hi, ..
                    } => {
                        let hi = if hi.is_finite() { hi } else { lo + 10.0 };
                        let v = lo + (hi - lo) * x;
                        Value::Number(if lo_open && v <= lo { lo + 1e-3 } else { v })
                    }
                };
                parts.push(format!("{}={v}", key.name));
            }
            if parts.is_empty() {
                m.name.to_string()
            } else {
                format!("{}:{}", m.name, parts.join(","))
            }
        })
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 2000,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn any_string_is_a_spec_or_an_error(text in ".{0,40}") {
        if let Ok(spec) = Spec::parse(&text) {
            let again = Spec::parse(&spec.to_string());
            prop_assert_eq!(again, Ok(spec));
        }
        let _ = Method::parse(&text);
    }

    #[test]
    fn spec_shaped_strings_are_specs_or_errors(
        text in "[a-z0-9-]{0,12}(:([a-z_]{0,8}=[-+0-9.eEnaifrtuls]{0,8},?){0,4})?"
    ) {
        if let Ok(spec) = Spec::parse(&text) {
            prop_assert_eq!(Spec::parse(&spec.to_string()), Ok(spec));
        }
        let _ = Method::parse(&text);
    }

    #[test]
    fn valid_method_specs_round_trip(text in valid_method()) {
        let m = Method::parse(&text);
        prop_assert!(m.is_ok(), "{}: {:?}", text, m.err());
        let m = m.unwrap();
        let printed = m.spec().to_string();
        let back = Method::parse(&printed).unwrap();
        prop_assert_eq!(back.params, m.params);
    }
}
