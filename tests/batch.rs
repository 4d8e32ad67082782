//! The driver's batched path gives the same bits as its step-by-step path.
//!
//! When nothing observes a run ([`Observer::is_inert`]) and only a budget stops it, the
//! driver hands the run to the stepper's own loop ([`Stepper::advance`]). Each case
//! here runs twice, once with `()` (the batch) and once with an observer that counts
//! (one step at a time), and compares status, time, state and statistics bit for bit,
//! including runs that diverge either way (the field, or the step, not finite) and
//! runs continued after a first call. (The optimizers' loop reads ∇L where the step
//! reads −f, which differ in the sign of a zero component; no case here has one.)

mod common;

use gradflow::integrators::{
    Integrator, Observer, Point, Stats, Status, Stepper, Stop, VectorField,
};
use gradflow::methods::Method;
use gradflow::GradientFlow;
use nalgebra::DVector;

/// A field made afresh for each call of a continued run.
type Field<'a> = Box<dyn VectorField<f64> + 'a>;

/// Counts the points it sees: not inert, so the driver steps one at a time.
struct Count(u64);

impl Observer<f64> for Count {
    fn observe(&mut self, _point: &Point<'_, f64>) {
        self.0 += 1;
    }
}

const METHODS: &[&str] = &[
    "euler:lr=0.001",
    "momentum:lr=0.001,momentum=0.9",
    "momentum:lr=0.001,momentum=0.9,nesterov=true",
    "momentum:lr=0.001,momentum=0.5,dampening=0.3",
    "normalized:lr=0.01",
    "sign:lr=0.001",
    "rmsprop-norm:lr=0.01",
    "rmsprop:lr=0.01",
    "rmsprop:lr=0.01,centered=true",
    "rmsprop:lr=0.01,momentum=0.5",
    "rmsprop:lr=0.01,centered=true,momentum=0.5",
    "adagrad:lr=0.1,lr_decay=0.01,initial_accumulator_value=0.1",
    "adam:lr=0.01",
    "adam:lr=0.01,amsgrad=true",
];

/// The integrators, which take the default `Stepper::advance` (derivative and step in the
/// leg's loop).
const ODE_METHODS: &[&str] = &[
    "rk4:lr=0.001",
    "heun-euler:rtol=1e-5",
    "bs23:rtol=1e-6",
    "dopri5:rtol=1e-8",
    "implicit-euler:lr=0.01",
    "implicit-euler:rtol=1e-4",
    "ros23:rtol=1e-5",
    "rodas4:rtol=1e-6",
    "auto:rtol=1e-6",
];

fn bits(v: &DVector<f64>) -> Vec<u64> {
    v.iter().map(|x| x.to_bits()).collect()
}

/// The outcome of a run, for comparing bit for bit (f64 fields as bits).
#[derive(Debug, PartialEq)]
struct Outcome {
    status: Vec<Status>,
    t: u64,
    y: Vec<u64>,
    stats: Stats<u64>,
    /// The stepper's per-component step range (its state after the run).
    range: Option<(u64, u64)>,
}

fn outcome<S: Stepper<f64>>(run: &Integrator<f64, S>, status: Vec<Status>) -> Outcome {
    let s = run.stats();
    let b = |x: Option<f64>| x.map(f64::to_bits);
    Outcome {
        status,
        t: run.t().to_bits(),
        y: bits(run.y()),
        stats: Stats {
            accepted: s.accepted,
            rejected: s.rejected,
            evals: s.evals,
            jac_evals: s.jac_evals,
            h_min: b(s.h_min),
            h_max: b(s.h_max),
            h_last: b(s.h_last),
        },
        range: run
            .stepper()
            .step_range()
            .map(|(lo, hi)| (lo.to_bits(), hi.to_bits())),
    }
}

/// Runs `method` through `stops` in turn (a continued run), batched or not.
fn run<'a>(
    field: &mut dyn FnMut() -> Field<'a>,
    method: &str,
    y0: &DVector<f64>,
    stops: &[Stop<f64>],
    batched: bool,
) -> (Outcome, u64) {
    let stepper = Method::parse(method)
        .unwrap_or_else(|e| panic!("{method}: {e}"))
        .stepper::<f64>(y0.len());
    let mut run = Integrator::new(stepper, 0.0, y0.clone());
    let mut count = Count(0);
    let mut status = Vec::new();
    for stop in stops {
        let mut f = field();
        status.push(if batched {
            run.integrate(&mut *f, stop, &mut ())
        } else {
            run.integrate(&mut *f, stop, &mut count)
        });
    }
    (outcome(&run, status), count.0)
}

fn assert_same<'a>(
    field: &mut dyn FnMut() -> Field<'a>,
    method: &str,
    y0: &DVector<f64>,
    stops: &[Stop<f64>],
    what: &str,
    reset: &dyn Fn(),
) -> Outcome {
    reset();
    let (batched, _) = run(field, method, y0, stops, true);
    reset();
    let (stepped, observed) = run(field, method, y0, stops, false);
    assert_eq!(batched, stepped, "{what}, {method}");
    // The step-by-step run really was observed at every step it kept (and at step 0).
    assert!(observed > stepped.stats.accepted, "{what}, {method}");
    batched
}

fn budgets() -> Vec<(&'static str, Vec<Stop<f64>>)> {
    vec![
        ("steps", vec![Stop::steps(300)]),
        ("t_end", vec![Stop::t_end(0.0123)]),
        (
            "evals",
            vec![Stop {
                max_evals: Some(77),
                ..Stop::none()
            }],
        ),
        (
            "continued",
            vec![Stop::steps(40), Stop::steps(41), Stop::t_end(0.05)],
        ),
    ]
}

#[test]
fn batched_runs_equal_stepped_runs_on_registry_problems() {
    // Dimensions 1 to 4 take the optimizers' loops compiled for their size, 40 and
    // logistic's the loop for any size.
    let problems: [(&str, &[(&str, f64)]); 6] = [
        ("rosenbrock", &[]),
        ("rosenbrock", &[("n", 3.0)]),
        ("quadratic", &[("n", 1.0)]),
        ("quadratic", &[("n", 4.0)]),
        ("quadratic", &[("n", 40.0)]),
        ("logistic", &[]),
    ];
    for (name, params) in problems {
        let objective = common::problem(name, params);
        let name = format!("{name} {params:?}");
        let y0 = objective.start();
        for method in METHODS.iter().chain(ODE_METHODS) {
            for (budget, stops) in budgets() {
                let mut field = || Box::new(GradientFlow::new(&*objective)) as Field;
                let out = assert_same(
                    &mut field,
                    method,
                    &y0,
                    &stops,
                    &format!("{name} {budget}"),
                    &|| {},
                );
                assert!(out.stats.accepted > 0, "{name} {budget} {method}: no step");
            }
        }
    }
}

#[test]
fn batched_runs_diverge_where_stepped_runs_do() {
    // f = −y until the field turns NaN at its k-th evaluation (counted over all the calls
    // of a continued run): the run returns to the state before, whose field was finite.
    // k = 2 returns to the start (no step sizes yet). With a first call of 5 steps, the
    // failure comes at the first step of the second
    // call (k = 6), at its second (k = 7) or further in (k = 25).
    let y0 = DVector::from_vec(vec![1.0, -2.0, 0.5]);
    let calls = std::cell::Cell::new(0u32);
    let cases: [(u32, &[Stop<f64>]); 5] = [
        (2, &[Stop::steps(100)]),
        (25, &[Stop::steps(100)]),
        (6, &[Stop::steps(5), Stop::steps(100)]),
        (7, &[Stop::steps(5), Stop::steps(100)]),
        (25, &[Stop::steps(5), Stop::steps(100)]),
    ];
    for method in METHODS {
        for (k, stops) in cases {
            let mut field = || {
                Box::new(|_t: f64, y: &DVector<f64>, dy: &mut DVector<f64>| {
                    calls.set(calls.get() + 1);
                    for (d, &x) in dy.iter_mut().zip(y.iter()) {
                        *d = if calls.get() >= k { f64::NAN } else { -x };
                    }
                }) as Field
            };
            let what = format!("NaN field at evaluation {k} of {} call(s)", stops.len());
            let out = assert_same(&mut field, method, &y0, stops, &what, &|| calls.set(0));
            assert_eq!(
                *out.status.last().unwrap(),
                Status::Diverged,
                "{what} {method}"
            );
            assert_eq!(out.stats.evals, u64::from(k), "{what} {method}");
            assert_eq!(out.stats.accepted, u64::from(k) - 2, "{what} {method}");
        }
    }
    // f = 10¹⁰·y with lr = 10³⁰⁰: θ₊ overflows (Euler, momentum: the step is refused and
    // the run stays at y₀) or θ reaches ~10³⁰⁰ and the field there overflows (the rules
    // that normalize the step: the run returns to the state before).
    let mut field = || {
        Box::new(|_t: f64, y: &DVector<f64>, dy: &mut DVector<f64>| {
            for (d, &x) in dy.iter_mut().zip(y.iter()) {
                *d = 1e10 * x;
            }
        }) as Field
    };
    for method in METHODS {
        let name = method.split(':').next().unwrap();
        let method = format!("{name}:lr=1e300");
        let stops = [Stop::steps(10_000)];
        let out = assert_same(&mut field, &method, &y0, &stops, "overflow", &|| {});
        assert_eq!(out.status, vec![Status::Diverged], "{method}");
        assert!(
            out.y.iter().all(|&b| f64::from_bits(b).is_finite()),
            "{method}"
        );
        if name == "euler" || name == "momentum" {
            assert_eq!((out.stats.accepted, &out.y), (0, &bits(&y0)), "{method}");
        }
    }
}

#[test]
fn batched_runs_give_up_where_stepped_runs_do() {
    // y' = 1/(1 − t)² blows up at t = 1: error control shrinks the step until it gives up
    // (or y overflows), the same way in both paths.
    let y0 = DVector::from_vec(vec![1.0]);
    let mut field = || {
        Box::new(|t: f64, _y: &DVector<f64>, dy: &mut DVector<f64>| {
            dy[0] = 1.0 / ((1.0 - t) * (1.0 - t));
        }) as Field
    };
    let mut too_small = 0;
    for method in ["heun-euler:rtol=1e-6", "bs23:rtol=1e-6", "dopri5:rtol=1e-8"] {
        let out = assert_same(
            &mut field,
            method,
            &y0,
            &[Stop::t_end(2.0)],
            "blow-up",
            &|| {},
        );
        assert!(
            matches!(out.status[0], Status::StepTooSmall | Status::Diverged),
            "{method}: {:?}",
            out.status
        );
        too_small += usize::from(out.status[0] == Status::StepTooSmall);
    }
    assert!(too_small > 0, "no run gave up on its step size");
}

#[test]
fn reports_with_and_without_recording_agree() {
    // Without a recording interval a `RunSpec` run goes through the batch; recording every
    // step, one step at a time. The summary is the same, bit for bit.
    for method in METHODS.iter().chain(ODE_METHODS) {
        for problem in ["rosenbrock", "logistic"] {
            let spec = gradflow::RunSpec::new(problem, method).steps(250);
            let quiet = spec.run().unwrap();
            let recorded = spec.clone().record(1).run().unwrap();
            let summary = |r: &gradflow::Report| {
                (
                    r.status,
                    r.accepted,
                    r.grad_evals,
                    r.t.to_bits(),
                    r.loss.to_bits(),
                    r.theta
                        .as_ref()
                        .map(|v| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>()),
                    r.h_min.map(f64::to_bits),
                    r.h_max.map(f64::to_bits),
                )
            };
            assert_eq!(summary(&quiet), summary(&recorded), "{problem} {method}");
            assert_eq!(
                quiet.trajectory.len(),
                2,
                "{problem} {method}: start and end"
            );
            assert_eq!(recorded.trajectory.len(), 251, "{problem} {method}");
        }
    }
}
