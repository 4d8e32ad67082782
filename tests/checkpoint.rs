//! Checkpoint and resume: a resumed run equals the uninterrupted one (θ bit for bit, t,
//! counts), in process for every method and across SIGKILLs of the binary; damaged or
//! mismatched checkpoints are errors.

use gradflow::checkpoint::resume;
use gradflow::methods::methods;
use gradflow::{Report, RunSpec};
use std::path::PathBuf;
use std::process::{Command, Stdio};

fn scratch(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("gradflow-ckpt-{}-{tag}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn same(a: &Report, b: &Report, what: &str) {
    let bits = |r: &Report| -> Vec<u64> {
        r.theta
            .as_ref()
            .unwrap()
            .iter()
            .map(|x| x.to_bits())
            .collect()
    };
    assert_eq!(bits(a), bits(b), "{what}: θ");
    assert_eq!(a.t.to_bits(), b.t.to_bits(), "{what}: t");
    assert_eq!(
        (a.steps, a.rejected, a.grad_evals),
        (b.steps, b.rejected, b.grad_evals),
        "{what}: counts"
    );
    assert_eq!(a.status, b.status, "{what}: status");
    assert_eq!(a.trajectory, b.trajectory, "{what}: trajectory");
    assert_eq!(a.stiffness, b.stiffness, "{what}: stiffness");
}

#[test]
fn every_method_resumes_bit_for_bit() {
    let dir = scratch("methods");
    for m in methods() {
        for problem in ["rosenbrock", "logistic"] {
            let whole = RunSpec::new(problem, m.name)
                .steps(600)
                .record(50)
                .run()
                .unwrap();
            let path = dir.join(format!("{}-{problem}.json", m.name));
            let first = RunSpec::new(problem, m.name)
                .steps(250)
                .record(50)
                .checkpoint(path.to_str().unwrap(), 100)
                .run()
                .unwrap();
            assert_eq!(first.steps, 250.min(whole.steps));
            let (_, resumed) = resume(&path, |s| s.steps = Some(600)).unwrap();
            same(&whole, &resumed, &format!("{problem} {}", m.name));
        }
    }
}

#[test]
fn checkpoints_do_not_change_a_run() {
    let dir = scratch("same");
    let plain = RunSpec::new("himmelblau", "dopri5")
        .t_end(20.0)
        .record(7)
        .run()
        .unwrap();
    let saved = RunSpec::new("himmelblau", "dopri5")
        .t_end(20.0)
        .record(7)
        .checkpoint(dir.join("c.json").to_str().unwrap(), 13)
        .run()
        .unwrap();
    same(&plain, &saved, "dopri5 with checkpoints");
}

#[test]
fn damaged_or_foreign_checkpoints_are_errors() {
    let dir = scratch("bad");
    let good = dir.join("good.json");
    RunSpec::new("rosenbrock", "adam")
        .steps(30)
        .checkpoint(good.to_str().unwrap(), 10)
        .run()
        .unwrap();
    let text = std::fs::read_to_string(&good).unwrap();
    let bad = |name: &str, content: &str| {
        let p = dir.join(name);
        std::fs::write(&p, content).unwrap();
        p
    };
    let cases = [
        bad("truncated.json", &text[..text.len() / 2]),
        bad("empty.json", ""),
        bad("garbage.json", "not json at all"),
        bad(
            "other-method.json",
            &text.replacen("\"adam\"", "\"rmsprop\"", 1),
        ),
        bad(
            "other-problem.json",
            &text.replacen("rosenbrock", "logistic", 1),
        ),
        bad(
            "format.json",
            &text.replacen("gradflow-checkpoint-1", "gradflow-checkpoint-9", 1),
        ),
        dir.join("missing.json"),
    ];
    for path in cases {
        let e = resume(&path, |_| {}).expect_err(&path.display().to_string());
        assert!(
            e.to_string().contains("checkpoint") || e.to_string().contains("method"),
            "{e}"
        );
    }
}

/// A small deterministic generator for kill times.
fn lcg(state: &mut u64) -> u64 {
    *state = state
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    *state >> 33
}

#[test]
fn a_run_killed_again_and_again_ends_like_an_uninterrupted_one() {
    let dir = scratch("kill");
    let bin = env!("CARGO_BIN_EXE_gradflow");
    let ckpt = dir.join("run.ckpt");
    let args = [
        "--problem",
        "rosenbrock:n=1000",
        "--method",
        "adam:lr=0.002",
        "--steps",
        "60000",
        "--record",
        "1000",
    ];
    let whole = dir.join("whole.json");
    let st = Command::new(bin)
        .arg("run")
        .args(args)
        .args(["--out", whole.to_str().unwrap()])
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(st.success());
    let out = dir.join("resumed.json");
    let mut seed = 7u64;
    let mut kills = 0;
    for attempt in 0..60 {
        let mut cmd = Command::new(bin);
        if ckpt.exists() {
            cmd.args([
                "resume",
                ckpt.to_str().unwrap(),
                "--out",
                out.to_str().unwrap(),
            ]);
        } else {
            cmd.arg("run").args(args).args([
                "--checkpoint",
                ckpt.to_str().unwrap(),
                "--checkpoint-every",
                "500",
                "--out",
                out.to_str().unwrap(),
            ]);
        }
        let mut child = cmd
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let wait_ms = 20 + lcg(&mut seed) % 120;
        std::thread::sleep(std::time::Duration::from_millis(wait_ms));
        if attempt < 8 && child.try_wait().unwrap().is_none() {
            child.kill().unwrap(); // SIGKILL
            kills += 1;
        }
        let status = child.wait().unwrap();
        if ckpt.exists() {
            let text = std::fs::read_to_string(&ckpt).unwrap();
            assert!(
                serde_json::from_str::<serde_json::Value>(&text).is_ok(),
                "checkpoint is whole"
            );
        }
        if status.success() {
            break;
        }
    }
    assert!(
        kills >= 3,
        "the test should kill the run several times ({kills})"
    );
    let read = |p: &PathBuf| -> Report {
        serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
    };
    same(&read(&whole), &read(&out), "killed and resumed");
}

#[test]
fn max_step_holds_through_a_checkpoint() {
    // The cap is part of the stepper's state: a resumed run keeps it, and ends as the
    // uninterrupted one does.
    let dir = scratch("max-step");
    for method in [
        "dopri5:max_step=0.01",
        "rodas4:max_step=0.5",
        "implicit-euler:max_step=0.25",
        "auto:max_step=0.75",
    ] {
        let cap: f64 = method.rsplit('=').next().unwrap().parse().unwrap();
        let whole = RunSpec::new("rosenbrock", method)
            .t_end(20.0)
            .run()
            .unwrap();
        assert!(whole.h_max.unwrap() <= cap, "{method}: {:?}", whole.h_max);
        let path = dir.join(format!("{}.json", method.replace([':', '='], "-")));
        RunSpec::new("rosenbrock", method)
            .steps(40)
            .checkpoint(path.to_str().unwrap(), 10)
            .run()
            .unwrap();
        let (_, resumed) = resume(&path, |s| {
            s.steps = None;
            s.t_end = Some(20.0);
        })
        .unwrap();
        same(&whole, &resumed, method);
        assert_eq!(resumed.h_max, whole.h_max, "{method}");
    }
}

#[test]
fn the_stiffness_monitor_resumes_where_it_stopped() {
    // dopri5 on the Rosenbrock flow is found stiff at step 100 after four checks at its
    // stability limit (every 25 steps, warm-started power iterations): a run interrupted
    // before that, between checks, or after it reports the same finding and cost.
    let dir = scratch("monitor");
    let whole = RunSpec::new("rosenbrock", "dopri5")
        .steps(400)
        .run()
        .unwrap();
    let found = whole.stiffness.clone().expect("the flow is stiff");
    assert_eq!(found.step, 100);
    for stop_at in [30, 60, 90, 130] {
        let path = dir.join(format!("dopri5-{stop_at}.json"));
        RunSpec::new("rosenbrock", "dopri5")
            .steps(stop_at)
            .checkpoint(path.to_str().unwrap(), 10)
            .run()
            .unwrap();
        let (_, resumed) = resume(&path, |s| s.steps = Some(400)).unwrap();
        same(&whole, &resumed, &format!("dopri5 stopped at {stop_at}"));
    }
}
