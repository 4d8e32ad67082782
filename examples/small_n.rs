//! The small-n routes of `cargo bench --bench runs -- overhead`, one at a time, for a
//! profiler: 2 000 steps of `euler` or `adam` on `rosenbrock` (n = 2), repeated.
//!
//! ```sh
//! cargo build --release --example small_n
//! valgrind --tool=callgrind target/release/examples/small_n driver adam 100
//! perf record target/release/examples/small_n driver euler 100000
//! ```
//!
//! Routes: `hand` (a loop on `DVector` with `Objective::gradient`, the benchmark's
//! baseline), `in-place` (`Optimizer::step_in_place` in that loop) and `driver`
//! (`Integrator::integrate` with `()` as observer). Each prints its θ₁, the same for all
//! three, and the mean wall time of one run (the benchmark's numbers are criterion's).

use gradflow::GradientFlow;
use gradflow_integrators::optim::{Optimizer, Rule};
use gradflow_integrators::{Integrator, Stop};
use gradflow_problems::{Objective, Rosenbrock};
use nalgebra::DVector;
use std::hint::black_box;

const STEPS: u64 = 2_000;

fn hand(objective: &Rosenbrock, adam: bool, lr: f64) -> f64 {
    let (b1, b2, eps) = (0.9f64, 0.999f64, 1e-8);
    let mut x = objective.start();
    let mut g = DVector::zeros(2);
    let (mut m, mut v) = (DVector::<f64>::zeros(2), DVector::<f64>::zeros(2));
    for k in 1..=STEPS {
        objective.gradient(&x, &mut g);
        if adam {
            let bc1 = 1.0 - b1.powf(k as f64);
            let bc2_sqrt = (1.0 - b2.powf(k as f64)).powf(0.5);
            let step = lr / bc1;
            for i in 0..2 {
                m[i] += (1.0 - b1) * (g[i] - m[i]);
                v[i] = b2 * v[i] + (1.0 - b2) * g[i] * g[i];
                x[i] += (-step * m[i]) * (1.0 / (v[i].sqrt() * (1.0 / bc2_sqrt) + eps));
            }
        } else {
            x.axpy(-lr, &g, 1.0);
        }
    }
    x[0]
}

fn in_place(objective: &Rosenbrock, rule: &Rule<f64>, lr: f64) -> f64 {
    let mut opt = Optimizer::new(lr, rule.clone(), 2);
    let mut x = objective.start();
    let mut g = DVector::zeros(2);
    for _ in 0..STEPS {
        objective.gradient(&x, &mut g);
        if opt.step_in_place(&mut x, &g).is_err() {
            return f64::NAN;
        }
    }
    x[0]
}

fn driver(objective: &Rosenbrock, rule: &Rule<f64>, lr: f64) -> f64 {
    let opt = Optimizer::new(lr, rule.clone(), 2);
    let mut run = Integrator::new(opt, 0.0, objective.start());
    run.integrate(
        &mut GradientFlow::new(objective),
        &Stop::steps(STEPS),
        &mut (),
    );
    run.y()[0]
}

/// Runs `route` of `method` `reps` times: θ₁ and the mean microseconds per run.
fn measure(route: &str, method: &str, reps: u32) -> Result<(f64, f64), String> {
    let adam = match method {
        "euler" => false,
        "adam" => true,
        other => return Err(format!("method '{other}': expected euler or adam")),
    };
    let (lr, rule) = if adam {
        (1e-3, Rule::adam(0.9, 0.999, 1e-8, false, 2))
    } else {
        (1e-4, Rule::sgd(0.0, 0.0, false, 2))
    };
    let objective = Rosenbrock::new(2);
    let once = |lr: f64| match route {
        "hand" => Ok(hand(&objective, adam, lr)),
        "in-place" => Ok(in_place(&objective, &rule, lr)),
        "driver" => Ok(driver(&objective, &rule, lr)),
        other => Err(format!(
            "route '{other}': expected hand, in-place or driver"
        )),
    };
    let theta = once(lr)?;
    let clock = std::time::Instant::now();
    for _ in 0..reps {
        black_box(once(black_box(lr))?);
    }
    Ok((
        theta,
        clock.elapsed().as_secs_f64() * 1e6 / f64::from(reps.max(1)),
    ))
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let route = args.first().map_or("driver", String::as_str);
    let method = args.get(1).map_or("euler", String::as_str);
    let reps = match args.get(2).map(|r| r.parse::<u32>()) {
        None => 10_000,
        Some(Ok(r)) => r,
        Some(Err(e)) => {
            eprintln!("repetitions '{}': {e}", args[2]);
            std::process::exit(2);
        }
    };
    match measure(route, method, reps) {
        Ok((theta, us)) => println!("{route} {method}: θ₁ = {theta:.17}, {us:.2} µs per run"),
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    }
}

#[test]
fn the_three_routes_agree() {
    for method in ["euler", "adam"] {
        let (hand, _) = measure("hand", method, 1).unwrap();
        for route in ["in-place", "driver"] {
            let (theta, _) = measure(route, method, 1).unwrap();
            assert_eq!(theta.to_bits(), hand.to_bits(), "{route} {method}");
        }
    }
    assert!(measure("nowhere", "euler", 1).is_err());
    assert!(measure("driver", "sgd", 1).is_err());
}
