//! The command line as the contract describes it: exit codes, messages, files.

use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU32, Ordering};

fn gradflow(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_gradflow"))
        .args(args)
        .output()
        .expect("the binary runs")
}

/// A fresh scratch directory for one test.
fn scratch() -> PathBuf {
    static N: AtomicU32 = AtomicU32::new(0);
    let dir = std::env::temp_dir().join(format!(
        "gradflow-cli-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn bad_input_exits_2_names_the_bad_part_and_writes_nothing() {
    let dir = scratch();
    let spec_bad_json = dir.join("bad.json");
    std::fs::write(&spec_bad_json, "{\"problem\": \"rosenbrock\", ").unwrap();
    let spec_unknown = dir.join("unknown.json");
    std::fs::write(
        &spec_unknown,
        r#"{"problem": "rosenbrock", "method": "euler", "steps": 3, "colour": 1}"#,
    )
    .unwrap();
    let missing = dir.join("missing.json");
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec!["--problem", "nope", "--method", "euler", "--steps", "3"],
            "unknown problem 'nope'",
        ),
        (
            vec![
                "--problem",
                "rosenbrock",
                "--method",
                "implicit-euler:lr=0.1,max_step=1",
                "--steps",
                "3",
            ],
            "max_step limits the adaptive step",
        ),
        (
            vec![
                "--problem",
                "rosenbrock",
                "--method",
                "rodas4:max_step=0",
                "--steps",
                "3",
            ],
            "max_step=0.0 is invalid",
        ),
        (
            vec![
                "--problem",
                "rosenbrock",
                "--method",
                "nope",
                "--steps",
                "3",
            ],
            "unknown method 'nope'",
        ),
        (
            vec![
                "--problem",
                "rosenbrock:m=3",
                "--method",
                "euler",
                "--steps",
                "3",
            ],
            "unknown key 'm'",
        ),
        (
            vec![
                "--problem",
                "rosenbrock:n=0",
                "--method",
                "euler",
                "--steps",
                "3",
            ],
            "n=0",
        ),
        (
            vec![
                "--problem",
                "rosenbrock:n=true",
                "--method",
                "euler",
                "--steps",
                "3",
            ],
            "n=true",
        ),
        (
            vec![
                "--problem",
                "rosenbrock",
                "--method",
                "euler:foo=1",
                "--steps",
                "3",
            ],
            "unknown key 'foo'",
        ),
        (
            vec![
                "--problem",
                "rosenbrock",
                "--method",
                "euler:lr=-1",
                "--steps",
                "3",
            ],
            "lr=-1",
        ),
        (
            vec![
                "--problem",
                "rosenbrock",
                "--method",
                "euler:lr=true",
                "--steps",
                "3",
            ],
            "lr=true",
        ),
        (
            vec![
                "--problem",
                "rosenbrock",
                "--method",
                "dopri5:rtol=-1e-6",
                "--steps",
                "3",
            ],
            "rtol",
        ),
        (
            vec![
                "--problem",
                "rosenbrock",
                "--method",
                "dopri5:atol=-1",
                "--steps",
                "3",
            ],
            "atol",
        ),
        (
            vec![
                "--problem",
                "rosenbrock",
                "--method",
                "dopri5:pi=2",
                "--steps",
                "3",
            ],
            "pi=2",
        ),
        (
            vec![
                "--problem",
                "rosenbrock",
                "--method",
                "euler:lr=",
                "--steps",
                "3",
            ],
            "lr=",
        ),
        (
            vec![
                "--problem",
                "rosenbrock",
                "--method",
                "euler",
                "--x0",
                "1,2,3",
                "--steps",
                "3",
            ],
            "x0 has 3 values",
        ),
        (
            vec![
                "--problem",
                "rosenbrock",
                "--method",
                "euler",
                "--x0",
                "1,abc",
                "--steps",
                "3",
            ],
            "abc",
        ),
        (
            vec![
                "--problem",
                "rosenbrock",
                "--method",
                "euler",
                "--x0",
                "1,nan",
                "--steps",
                "3",
            ],
            "x0[1]",
        ),
        (
            vec!["--problem", "rosenbrock", "--method", "euler"],
            "no stop given",
        ),
        (
            vec![
                "--problem",
                "rosenbrock",
                "--method",
                "euler",
                "--t-end",
                "nan",
            ],
            "t_end",
        ),
        (
            vec![
                "--problem",
                "rosenbrock",
                "--method",
                "euler",
                "--gtol",
                "-1",
            ],
            "gtol",
        ),
        (
            vec![
                "--problem",
                "rosenbrock",
                "--method",
                "euler",
                "--steps",
                "3",
                "--record",
                "0",
            ],
            "record",
        ),
        (
            vec![
                "--problem",
                "rosenbrock",
                "--method",
                "euler",
                "--steps",
                "3",
                "--dtype",
                "f16",
            ],
            "f16",
        ),
        (vec!["--method", "euler", "--steps", "3"], "--problem"),
        (vec!["--spec", spec_bad_json.to_str().unwrap()], "bad.json"),
        (vec!["--spec", spec_unknown.to_str().unwrap()], "colour"),
        (vec!["--spec", missing.to_str().unwrap()], "missing.json"),
    ];
    for (i, (args, needle)) in cases.iter().enumerate() {
        let out = dir.join(format!("out{i}.json"));
        let csv = dir.join(format!("out{i}.csv"));
        let mut all = vec!["run"];
        all.extend(args.iter().copied());
        all.extend([
            "--out",
            out.to_str().unwrap(),
            "--csv",
            csv.to_str().unwrap(),
        ]);
        let o = gradflow(&all);
        let msg = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {msg}");
        assert!(
            msg.contains(needle),
            "{args:?}: message '{msg}' lacks '{needle}'"
        );
        assert!(!msg.contains("panicked"), "{args:?}: {msg}");
        assert!(!out.exists() && !csv.exists(), "{args:?} wrote a file");
    }
    // Steps must be a non-negative integer: clap's own usage error, exit 2 too.
    let o = gradflow(&[
        "run",
        "--problem",
        "rosenbrock",
        "--method",
        "euler",
        "--steps",
        "-1",
    ]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn a_blow_up_exits_3_and_still_writes_the_report() {
    let dir = scratch();
    let out = dir.join("r.json");
    let o = gradflow(&[
        "run",
        "--problem",
        "rosenbrock",
        "--method",
        "euler:lr=1",
        "--steps",
        "100",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    let r: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(r["status"], "diverged");
    assert!(r["loss"].as_f64().unwrap().is_finite());
    assert!(r["theta"]
        .as_array()
        .unwrap()
        .iter()
        .all(|x| x.as_f64().unwrap().is_finite()));
}

#[test]
fn run_writes_the_contract_report_and_csv() {
    let dir = scratch();
    let (out, csv) = (dir.join("r.json"), dir.join("r.csv"));
    let o = gradflow(&[
        "run",
        "--problem",
        "rosenbrock",
        "--method",
        "dopri5:rtol=1e-8",
        "--t-end",
        "10",
        "--record",
        "50",
        "--x0",
        "-1.2,1",
        "--out",
        out.to_str().unwrap(),
        "--csv",
        csv.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(stdout.contains("t_end"), "{stdout}");
    let r: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    for key in [
        "problem",
        "method",
        "status",
        "steps",
        "accepted",
        "rejected",
        "grad_evals",
        "hess_evals",
        "t",
        "loss",
        "grad_norm",
        "theta",
        "wall_seconds",
        "trajectory",
    ] {
        assert!(r.get(key).is_some(), "report lacks {key}");
    }
    assert_eq!(r["problem"]["name"], "rosenbrock");
    assert_eq!(r["problem"]["params"]["n"], 2.0);
    assert_eq!(r["problem"]["dim"], 2);
    assert_eq!(r["method"]["name"], "dopri5");
    assert_eq!(r["method"]["params"]["rtol"], 1e-8);
    assert_eq!(r["status"], "t_end");
    assert_eq!(r["t"], 10.0);
    let traj = r["trajectory"].as_array().unwrap();
    assert_eq!(traj[0]["step"], 0);
    assert_eq!(traj[0]["theta"], serde_json::json!([-1.2, 1.0]));
    assert_eq!(traj.last().unwrap()["step"], r["accepted"]);
    let lines = std::fs::read_to_string(&csv).unwrap();
    assert!(lines.starts_with("step,t,h,loss,grad_norm,theta_0,theta_1\n"));
    assert_eq!(lines.lines().count(), traj.len() + 1);

    // The same run from a JSON spec gives the same report (wall time aside).
    let spec = dir.join("spec.json");
    std::fs::write(
        &spec,
        r#"{"problem": {"name": "rosenbrock", "params": {"n": 2}}, "method": "dopri5:rtol=1e-8",
            "t_end": 10, "record": 50, "x0": [-1.2, 1]}"#,
    )
    .unwrap();
    let out2 = dir.join("r2.json");
    let o = gradflow(&[
        "run",
        "--spec",
        spec.to_str().unwrap(),
        "--out",
        out2.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let mut a = r.clone();
    let mut b: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out2).unwrap()).unwrap();
    a["wall_seconds"] = 0.into();
    b["wall_seconds"] = 0.into();
    assert_eq!(a, b);
}

#[test]
fn no_theta_leaves_theta_out() {
    let dir = scratch();
    let out = dir.join("r.json");
    let o = gradflow(&[
        "run",
        "--problem",
        "logistic",
        "--method",
        "euler:lr=0.1",
        "--steps",
        "5",
        "--no-theta",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0));
    let r: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert!(r["theta"].is_null());
    assert!(r["trajectory"]
        .as_array()
        .unwrap()
        .iter()
        .all(|p| p["theta"].is_null()));
}

#[test]
fn list_names_every_problem_and_method() {
    let o = gradflow(&["list", "--json"]);
    assert_eq!(o.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let names = |k: &str| -> Vec<String> {
        v[k].as_array()
            .unwrap()
            .iter()
            .map(|p| p["name"].as_str().unwrap().to_string())
            .collect()
    };
    for p in [
        "quadratic",
        "quartic",
        "rosenbrock",
        "beale",
        "himmelblau",
        "logistic",
    ] {
        assert!(names("problems").contains(&p.to_string()), "{p}");
    }
    for m in gradflow::methods::methods() {
        assert!(names("methods").contains(&m.name.to_string()), "{}", m.name);
    }
    let text = gradflow(&["list"]);
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.contains("dopri5") && text.contains("rtol") && text.contains("1e-6"));
}

#[test]
fn an_rtol_below_the_floor_is_raised_and_said() {
    let o = gradflow(&[
        "run",
        "--problem",
        "himmelblau",
        "--method",
        "dopri5:rtol=1e-20",
        "--t-end",
        "1",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stderr(&o)
            .contains("rtol=1e-20 is below 100·ε of f64; the run used rtol=2.220446049250313e-14"),
        "{}",
        stderr(&o)
    );
    let o = gradflow(&[
        "run",
        "--problem",
        "himmelblau",
        "--method",
        "dopri5:rtol=1e-6",
        "--t-end",
        "1",
    ]);
    assert!(!stderr(&o).contains("warning"), "{}", stderr(&o));
}
