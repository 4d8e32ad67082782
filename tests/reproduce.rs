//! `gradflow reproduce`: the quick catalogue passes and writes its files, and a broken method
//! makes its claim fail.

use gradflow::integrators::tableau::{self, Tableau};
use gradflow::integrators::{Optimizer, Rule, RungeKutta, Stepper};
use gradflow::reproduce::{clock, euler, experiments, reproduce, select, Claim, Options};
use std::path::PathBuf;
use std::process::Command;

/// A fresh directory under the system's temp dir.
fn scratch(name: &str) -> PathBuf {
    let dir =
        std::env::temp_dir().join(format!("gradflow-reproduce-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// Every element that opens also closes, in order (enough to catch a truncated SVG).
fn well_formed(text: &str) -> bool {
    let mut stack: Vec<String> = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find('<') {
        rest = &rest[i + 1..];
        let Some(j) = rest.find('>') else {
            return false;
        };
        let tag = &rest[..j];
        rest = &rest[j + 1..];
        if let Some(name) = tag.strip_prefix('/') {
            if stack.pop().as_deref() != Some(name.trim()) {
                return false;
            }
        } else if !tag.ends_with('/') && !tag.starts_with('?') && !tag.starts_with('!') {
            stack.push(tag.split_whitespace().next().unwrap_or("").to_string());
        }
    }
    stack.is_empty()
}

#[test]
fn the_quick_catalogue_passes_and_writes_claims_readme_and_figures() {
    let dir = scratch("quick");
    let clock = std::time::Instant::now();
    let claims = reproduce(
        &Options {
            quick: true,
            only: None,
        },
        &dir,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let seconds = clock.elapsed().as_secs_f64();
    println!("quick reproduction: {seconds:.1} s");
    assert_eq!(claims.len(), experiments().len());
    for c in &claims {
        println!(
            "{} {} {}",
            if c.pass { "PASS" } else { "FAIL" },
            c.id,
            c.measured
        );
        assert!(c.pass, "claim {} failed: {}", c.id, c.measured);
    }
    assert!(seconds < 60.0, "the quick run took {seconds} s");

    let json = std::fs::read_to_string(dir.join("claims.json")).unwrap();
    let read: Vec<Claim> = serde_json::from_str(&json).unwrap();
    assert_eq!(read.len(), claims.len());
    for (a, b) in read.iter().zip(&claims) {
        assert_eq!(
            (&a.id, a.pass, &a.claim, &a.expected),
            (&b.id, b.pass, &b.claim, &b.expected)
        );
        assert!(a.measured.is_object() || a.measured.is_array(), "{}", a.id);
    }

    let readme = std::fs::read_to_string(dir.join("README.md")).unwrap();
    assert!(
        readme.contains("11 of 11 claims pass"),
        "{}",
        &readme[..400.min(readme.len())]
    );
    assert!(readme.contains("--quick"));
    let mut figures = 0;
    for e in experiments() {
        assert!(
            readme.contains(&format!("<a id=\"{}\"></a>", e.id)),
            "README lacks {}",
            e.id
        );
        let svg = dir.join(format!("{}.svg", e.id));
        let text = std::fs::read_to_string(&svg).unwrap_or_else(|_| panic!("no {}", svg.display()));
        assert!(
            text.starts_with("<svg") && well_formed(&text),
            "{} is not well-formed",
            svg.display()
        );
        assert!(!text.contains("NaN"), "{}", svg.display());
        assert!(readme.contains(&format!("]({}.svg)", e.id)));
    }
    // Every figure the README links exists and is well-formed.
    for link in readme
        .split("](")
        .skip(1)
        .filter_map(|s| s.split(')').next())
    {
        if link.ends_with(".svg") {
            let text = std::fs::read_to_string(dir.join(link)).unwrap();
            assert!(well_formed(&text), "{link}");
            figures += 1;
        }
    }
    assert!(figures >= experiments().len());
    let _ = std::fs::remove_dir_all(&dir);
}

/// Explicit midpoint (Runge 1895): order 2.
static MIDPOINT: Tableau = Tableau {
    name: "midpoint",
    c: &[0.0, 0.5],
    a: &[&[], &[0.5]],
    b: &[0.0, 1.0],
    e: None,
    order: 2,
    embedded_order: 0,
    error_order: 0,
};

fn stretched_euler(h: f64, n: usize) -> Box<dyn Stepper<f64> + Send> {
    Box::new(RungeKutta::fixed(&tableau::EULER, h * 1.05, n))
}

fn midpoint(h: f64, n: usize) -> Box<dyn Stepper<f64> + Send> {
    Box::new(RungeKutta::fixed(&MIDPOINT, h, n))
}

#[test]
fn experiment_1_fails_for_a_method_that_is_not_gd() {
    assert!(
        euler::gd_is_euler_with(true, &euler::euler)
            .unwrap()
            .claim
            .pass
    );
    for (name, scheme) in [
        (
            "Euler with step 1.05·h",
            &stretched_euler as &dyn Fn(f64, usize) -> _,
        ),
        ("explicit midpoint", &midpoint),
    ] {
        let o = euler::gd_is_euler_with(true, scheme).unwrap();
        println!("{name}: {}", o.claim.measured);
        assert!(!o.claim.pass, "{name} passed as gradient descent");
    }
    // The midpoint rule fails on the order (slope 2), the stretched step on the constant.
    let m = euler::gd_is_euler_with(true, &midpoint)
        .unwrap()
        .claim
        .measured;
    assert!(m["slope_Q"].as_f64().unwrap() > 1.9, "{m}");
    let s = euler::gd_is_euler_with(true, &stretched_euler)
        .unwrap()
        .claim
        .measured;
    assert!(
        (s["err_over_hC_Q"].as_f64().unwrap() - 1.0).abs() > 0.01,
        "{s}"
    );
}

#[test]
fn experiment_2_fails_for_a_second_order_step() {
    let o = euler::local_error_with(true, &midpoint).unwrap();
    println!("midpoint: {}", o.claim.measured);
    assert!(!o.claim.pass);
}

#[test]
fn experiment_5_fails_for_a_normalized_step_of_1_01_lr() {
    assert!(
        clock::sign_clock_with(true, &clock::normalized)
            .unwrap()
            .claim
            .pass
    );
    let long = |lr: f64, n: usize| -> Box<dyn Stepper<f64> + Send> {
        Box::new(Optimizer::new(1.01 * lr, Rule::Normalized, n))
    };
    let o = clock::sign_clock_with(true, &long).unwrap();
    println!("1.01·lr: {}", o.claim.measured);
    assert!(
        !o.claim.pass,
        "a step of 1.01·lr passed as 'moves exactly lr'"
    );
    for p in o.claim.measured.as_array().unwrap() {
        assert!(p["max_step_length_error"].as_f64().unwrap() > 1e-6, "{p}");
    }
}

#[test]
fn only_selects_by_id_or_number_and_rejects_unknown_ids() {
    assert_eq!(select(Some("5")).unwrap()[0].id, "5-sign-descent-clock");
    assert_eq!(
        select(Some("11-stiff-minimum")).unwrap()[0].id,
        "11-stiff-minimum"
    );
    assert_eq!(select(None).unwrap().len(), 11);
    let e = select(Some("12")).unwrap_err().to_string();
    assert!(
        e.contains("unknown experiment '12'") && e.contains("4-stability"),
        "{e}"
    );
}

#[test]
fn the_cli_runs_one_experiment_and_exits_by_its_verdict() {
    let dir = scratch("cli");
    let out = Command::new(env!("CARGO_BIN_EXE_gradflow"))
        .args(["reproduce", "--quick", "--only", "4", "--out"])
        .arg(&dir)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("PASS 4-stability") && stdout.contains("1 passed, 0 failed"),
        "{stdout}"
    );
    let claims: Vec<Claim> =
        serde_json::from_str(&std::fs::read_to_string(dir.join("claims.json")).unwrap()).unwrap();
    assert_eq!(claims.len(), 1);
    assert!(dir.join("4-stability.svg").exists() && dir.join("README.md").exists());
    let bad = Command::new(env!("CARGO_BIN_EXE_gradflow"))
        .args(["reproduce", "--only", "nope", "--out"])
        .arg(&dir)
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("unknown experiment"));
    let _ = std::fs::remove_dir_all(&dir);
}
