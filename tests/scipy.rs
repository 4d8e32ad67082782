//! `dopri5` and `bs23` against SciPy: endpoints against a DOP853 reference at
//! rtol = atol = 1e-13, and step counts against SciPy's RK45/RK23 at the same tolerances
//! (fixtures made by `scripts/gen_scipy_reference.py`), also under `max_step`
//! (`scripts/gen_scipy_max_step.py`).

mod common;

use common::{fixture, integrate, problem};
use gradflow::integrators::tableau::{self, Tableau};
use gradflow::integrators::{Controller, RungeKutta, Status, Stop};
use nalgebra::DVector;
use serde_json::Value;

fn load() -> Value {
    let text = std::fs::read_to_string(fixture("scipy/reference.json")).expect("fixture");
    serde_json::from_str(&text).expect("valid JSON")
}

fn vec_of(v: &Value) -> Vec<f64> {
    v.as_array()
        .expect("array")
        .iter()
        .map(|x| x.as_f64().expect("number"))
        .collect()
}

/// The reference state of `name` at time `t`.
fn reference(data: &Value, name: &str, t: f64) -> DVector<f64> {
    let r = data["references"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["problem"] == name)
        .expect("reference for the problem");
    let ts = vec_of(&r["t"]);
    let i = ts.iter().position(|&x| x == t).expect("reference time");
    DVector::from_vec(vec_of(&r["y"][i]))
}

struct Outcome {
    y: DVector<f64>,
    accepted: u64,
    rejected: u64,
    evals: u64,
}

fn solve(name: &str, tab: &'static Tableau, rtol: f64, atol: f64, c: Controller) -> Outcome {
    let p = problem(name, &[]);
    let stepper = RungeKutta::controlled(tab, rtol, atol, None, c, p.dim());
    let (run, status) = integrate(&*p, stepper, p.start(), &Stop::t_end(100.0));
    assert_eq!(status, Status::TEnd);
    assert_eq!(run.t(), 100.0);
    let s = run.stats();
    Outcome {
        y: run.y().clone(),
        accepted: s.accepted,
        rejected: s.rejected,
        evals: s.evals,
    }
}

#[test]
fn endpoints_and_step_counts_match_scipy() {
    let data = load();
    println!(
        "{:<11} {:<6} {:>6} | {:>8} {:>8} {:>9} | {:>8} {:>8} {:>9} | {:>8} {:>8} {:>9} | err",
        "problem",
        "method",
        "rtol",
        "scipy",
        "rej",
        "nfev",
        "I",
        "rej",
        "evals",
        "PI",
        "rej",
        "evals"
    );
    for run in data["runs"].as_array().unwrap() {
        let name = run["problem"].as_str().unwrap();
        let (rtol, atol) = (run["rtol"].as_f64().unwrap(), run["atol"].as_f64().unwrap());
        let tab = match run["method"].as_str().unwrap() {
            "RK45" => &tableau::DOPRI5,
            "RK23" => &tableau::BS23,
            other => panic!("unexpected method {other}"),
        };
        let pi = if tab.name == "dopri5" {
            Controller::DOPRI5_PI
        } else {
            Controller::pi_for_order(tab.error_order)
        };
        let ours = solve(name, tab, rtol, atol, Controller::I);
        let ours_pi = solve(name, tab, rtol, atol, pi);
        let want = reference(&data, name, 100.0);
        let err = (&ours.y - &want).amax();
        let err_pi = (&ours_pi.y - &want).amax();
        let (acc, rej, nfev) = (
            run["n_accepted"].as_u64().unwrap(),
            run["n_rejected"].as_u64().unwrap(),
            run["nfev"].as_u64().unwrap(),
        );
        println!(
            "{name:<11} {:<6} {rtol:>6.0e} | {acc:>8} {rej:>8} {nfev:>9} | {:>8} {:>8} {:>9} | {:>8} {:>8} {:>9} | {err:.1e} (PI {err_pi:.1e}, scipy {:.1e})",
            tab.name, ours.accepted, ours.rejected, ours.evals, ours_pi.accepted, ours_pi.rejected,
            ours_pi.evals, run["max_abs_err"].as_f64().unwrap()
        );
        assert!(
            err <= 10.0 * rtol,
            "{name} {}: error {err} > 10·rtol",
            tab.name
        );
        assert!(
            err_pi <= 10.0 * rtol,
            "{name} {} PI: error {err_pi}",
            tab.name
        );
        let within = |a: u64, b: u64| (a as f64 - b as f64).abs() <= 0.2 * b as f64;
        assert!(
            within(ours.accepted, acc),
            "{name} {}: {} accepted vs SciPy {acc}",
            tab.name,
            ours.accepted
        );
        assert!(
            within(ours.evals, nfev),
            "{name} {}: {} evals vs SciPy {nfev}",
            tab.name,
            ours.evals
        );
    }
}

#[test]
fn the_first_step_is_scipys() {
    // SciPy's select_initial_step, for every problem, pair and tolerance of the fixture.
    let data = load();
    for name in ["rosenbrock", "himmelblau", "logistic"] {
        for r in data["runs"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["problem"] == name)
        {
            let want = r["first_step"].as_f64().unwrap();
            let tab = if r["method"] == "RK45" {
                &tableau::DOPRI5
            } else {
                &tableau::BS23
            };
            let p = problem(name, &[]);
            let (rtol, atol) = (r["rtol"].as_f64().unwrap(), r["atol"].as_f64().unwrap());
            let mut stepper = RungeKutta::adaptive(tab, rtol, atol, p.dim());
            let mut flow = gradflow::GradientFlow::new(&*p);
            let h = stepper
                .propose_initial_step(&mut flow, 0.0, &p.start(), Some(100.0))
                .unwrap();
            assert!(
                (h - want).abs() <= 1e-12 * want,
                "{name} {}: {h} vs SciPy {want}",
                tab.name
            );
        }
    }
}

#[test]
fn max_step_caps_every_step_as_scipys_does() {
    // SciPy's RK45/RK23 with max_step (fixture by scripts/gen_scipy_max_step.py): the cap
    // applies to the first step and to every proposal, so where it binds the runs take
    // the same steps.
    let text = std::fs::read_to_string(fixture("scipy/max_step.json")).expect("fixture");
    let data: Value = serde_json::from_str(&text).expect("valid JSON");
    for r in data["runs"].as_array().unwrap() {
        let name = r["problem"].as_str().unwrap();
        let tab = if r["method"] == "RK45" {
            &tableau::DOPRI5
        } else {
            &tableau::BS23
        };
        let num = |k: &str| r[k].as_f64().unwrap();
        let (t_end, rtol, atol, cap) = (num("t_end"), num("rtol"), num("atol"), num("max_step"));
        let p = problem(name, &[]);
        let stepper = RungeKutta::controlled(tab, rtol, atol, None, Controller::I, p.dim())
            .with_max_step(Some(cap));
        let (run, status) = integrate(&*p, stepper, p.start(), &Stop::t_end(t_end));
        assert_eq!((status, run.t()), (Status::TEnd, t_end));
        let s = run.stats();
        let (acc, rej, nfev) = (
            r["n_accepted"].as_u64().unwrap(),
            r["n_rejected"].as_u64().unwrap(),
            r["nfev"].as_u64().unwrap(),
        );
        let dy = (run.y() - DVector::from_vec(vec_of(&r["y"]))).amax();
        println!(
            "{name:<10} {} max_step={cap:e}: {}/{}/{} vs SciPy {acc}/{rej}/{nfev}, longest step {:e}, |y - y_scipy| = {dy:.1e}",
            tab.name,
            s.accepted,
            s.rejected,
            s.evals,
            s.h_max.unwrap()
        );
        assert!(s.h_max.unwrap() <= cap, "{name}: a step above max_step");
        // The same steps: every count equal, the endpoints equal to round-off (the two
        // sum their stages in different orders).
        assert_eq!(
            (s.accepted, s.rejected, s.evals),
            (acc, rej, nfev),
            "{name} {}",
            tab.name
        );
        assert!(dy <= 1e-12, "{name} {}: {dy}", tab.name);
    }
}
