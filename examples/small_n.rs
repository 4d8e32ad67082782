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

#[path = "../benches/common/small_n.rs"]
mod small_n;

use gradflow_problems::Rosenbrock;
use small_n::{driver, hand, in_place};
use std::hint::black_box;

/// Runs `route` of `method` `reps` times: θ₁ and the mean microseconds per run.
fn measure(route: &str, method: &str, reps: u32) -> Result<(f64, f64), String> {
    let adam = match method {
        "euler" => false,
        "adam" => true,
        other => return Err(format!("method '{other}': expected euler or adam")),
    };
    let (lr, rule) = small_n::method(adam);
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
