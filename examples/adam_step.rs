//! One `Adam` step at n = 10⁷ on one thread, measured the way
//! `scripts/bench_torch_adam.py` measures PyTorch's `Adam(fused=True)`: θ = 1, g = ½,
//! lr = 10⁻⁹, three warm-up steps, then the best of 20 (f64, then f32).
//!
//! ```sh
//! cargo run --release --example adam_step          # one thread
//! cargo run --release --example adam_step -- 2     # a pool of two
//! python3 scripts/bench_torch_adam.py             # both, alternating
//! ```

use gradflow_integrators::optim::{Optimizer, Rule};
use gradflow_integrators::Scalar;
use nalgebra::DVector;
use std::time::Instant;

const N: usize = 10_000_000;

/// θ = 1, g = ½ and an Adam optimizer with PyTorch's defaults and lr = 10⁻⁹.
fn setup<T: Scalar>(n: usize) -> (DVector<T>, DVector<T>, Optimizer<T>) {
    let c = |x: f64| nalgebra::convert::<f64, T>(x);
    let rule = Rule::adam(c(0.9), c(0.999), c(1e-8), false, n);
    (
        DVector::from_element(n, c(1.0)),
        DVector::from_element(n, c(0.5)),
        Optimizer::new(c(1e-9), rule, n),
    )
}

/// Milliseconds of the best of 20 steps after three warm-up steps.
fn best_step<T: Scalar>() -> f64 {
    let (mut theta, grad, mut opt) = setup::<T>(N);
    let mut step = || opt.step_in_place(&mut theta, &grad).map(|_| ());
    for _ in 0..3 {
        step().expect("matching dimensions");
    }
    (0..20)
        .map(|_| {
            let start = Instant::now();
            step().expect("matching dimensions");
            start.elapsed().as_secs_f64() * 1e3
        })
        .fold(f64::INFINITY, f64::min)
}

fn main() {
    let threads: usize = std::env::args()
        .nth(1)
        .map(|a| a.parse().expect("threads: a positive integer"))
        .unwrap_or(1);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("a thread pool");
    pool.install(|| {
        for (dtype, ms) in [("f64", best_step::<f64>()), ("f32", best_step::<f32>())] {
            println!(
                "gradflow {dtype} Adam step_in_place, {threads} thread(s): {ms:7.2} ms per step"
            );
        }
    });
}

#[test]
fn the_measured_step_is_adams() {
    // Adam's first step moves every component by lr·m̂/(√v̂ + ε) = lr·g/(|g| + ε), and
    // advances the time by its step on d = m, hᵢ = (lr/b₁)/(|g| + ε) with b₁ = 1 − β₁.
    let (mut theta, grad, mut opt) = setup::<f64>(40);
    let dt = opt.step_in_place(&mut theta, &grad).unwrap();
    let expected = 1.0 - 1e-9 * 0.5 / (0.5 + 1e-8);
    assert!(theta.iter().all(|&t| (t - expected).abs() <= f64::EPSILON));
    let h = (1e-9 / (1.0 - 0.9)) / (0.5 + 1e-8);
    assert!((dt - h).abs() <= 1e-14 * h, "{dt} vs {h}");
}
