//! One step of every method on `quadratic` (a gradient that costs one multiply per
//! component, so the step's own cost shows), at n = 2, 10³, 10⁶, 10⁷, in f64 and f32.
//!
//! ```sh
//! cargo bench --bench steps                      # all (about 10 minutes)
//! cargo bench --bench steps -- 'step/f64/n=1000/' # one group
//! ```
//!
//! A step includes the field evaluation it needs (one gradient for an optimizer, six for
//! a Dormand–Prince step, and the Hessian for the stiff methods, which are measured at
//! n ≤ 10³ only: they factor a dense n × n matrix). Throughput is reported in components
//! per second.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use gradflow::methods::{methods, Method};
use gradflow::GradientFlow;
use gradflow_integrators::{Scalar, Stepper};
use gradflow_problems::{Quadratic, Real};
use nalgebra::DVector;
use std::time::Duration;

const STIFF: [&str; 3] = ["implicit-euler", "ros23", "rodas4"];

fn steps<T: Scalar + Real>(c: &mut Criterion, dtype: &str) {
    for n in [2usize, 1_000, 1_000_000, 10_000_000] {
        let mut group = c.benchmark_group(format!("step/{dtype}/n={n}"));
        group.throughput(Throughput::Elements(n as u64));
        if n >= 1_000_000 {
            group
                .sample_size(10)
                .warm_up_time(Duration::from_millis(500))
                .measurement_time(Duration::from_secs(2));
        } else {
            group
                .warm_up_time(Duration::from_millis(500))
                .measurement_time(Duration::from_secs(1));
        }
        let objective = Quadratic::<T>::new(n, 100.0, 1.0);
        for info in methods() {
            if n > 1_000 && STIFF.contains(&info.name) {
                continue;
            }
            if n == 1_000 && STIFF.contains(&info.name) {
                // A dense factorization of 10³ × 10³ per step: ten samples are plenty.
                group.sample_size(10);
            }
            let method = match Method::parse(info.name) {
                Ok(m) => m,
                Err(e) => panic!("{}: {e}", info.name),
            };
            let mut stepper = method.any_stepper::<T>(n);
            let mut field = GradientFlow::new(&objective);
            let mut y = DVector::from_element(n, T::one());
            let mut next = y.clone();
            let t = T::zero();
            group.bench_function(BenchmarkId::from_parameter(info.name), |b| {
                b.iter(|| {
                    let r = stepper.step(&mut field, t, &y, &mut next, None);
                    std::mem::swap(&mut y, &mut next);
                    // Keep θ of order one, so that no method runs into zero or underflow.
                    if !y[0].is_finite() || y[0] < nalgebra::convert(1e-3) {
                        y.fill(T::one());
                        stepper.invalidate();
                    }
                    r
                })
            });
        }
        group.finish();
    }
}

fn bench(c: &mut Criterion) {
    steps::<f64>(c, "f64");
    steps::<f32>(c, "f32");
}

criterion_group!(benches, bench);
criterion_main!(benches);
