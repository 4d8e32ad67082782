//! Whole runs and gradients, each next to what it is measured against:
//!
//! * `overhead/*`: 2 000 steps of `euler` and `adam` on `rosenbrock` (n = 2) through the
//!   library's driver and through `RunSpec` (report included), next to a hand-written
//!   loop doing the same arithmetic in the same order;
//! * `dopri5/*`: the `rosenbrock` flow to t = 100 at rtol = atol = 10⁻⁶, gradflow's
//!   Dormand–Prince next to `ode_solvers`' over `DVector` (throughput: field evaluations
//!   per second, so the time per evaluation compares whatever the step counts);
//! * `gradient/*`: `logistic` next to the naive double loop over the data, and
//!   `rosenbrock:n=1000`.
//!
//! ```sh
//! cargo bench --bench runs
//! ```

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use gradflow::GradientFlow;
use gradflow_integrators::optim::Optimizer;
use gradflow_integrators::{tableau, Integrator, RungeKutta, Stop};
use gradflow_problems::{Logistic, Objective, Rosenbrock};
use nalgebra::DVector;
use std::hint::black_box;

/// The routes a user's code takes at small n, shared with `examples/small_n.rs`.
#[path = "common/small_n.rs"]
mod small_n;

const STEPS: usize = small_n::STEPS as usize;

/// ∇L of Rosenbrock in two dimensions, the library's operations.
#[inline(always)]
fn rosenbrock_gradient(x: [f64; 2]) -> [f64; 2] {
    let a = x[1] - x[0] * x[0];
    [
        0.0 + (-400.0 * x[0] * a - 2.0 * (1.0 - x[0])),
        200.0 * a + 0.0,
    ]
}

fn hand_euler(lr: f64) -> [f64; 2] {
    let mut x = [-1.2, 1.0];
    for _ in 0..STEPS {
        let g = rosenbrock_gradient(x);
        for i in 0..2 {
            x[i] += -lr * g[i];
        }
    }
    x
}

fn hand_adam(lr: f64) -> [f64; 2] {
    let (b1, b2, eps) = (0.9f64, 0.999f64, 1e-8);
    let mut x = [-1.2, 1.0];
    let (mut m, mut v) = ([0.0; 2], [0.0; 2]);
    for k in 1..=STEPS {
        let g = rosenbrock_gradient(x);
        let bc1 = 1.0 - b1.powf(k as f64);
        let bc2_sqrt = (1.0 - b2.powf(k as f64)).powf(0.5);
        let step = lr / bc1;
        for i in 0..2 {
            m[i] += (1.0 - b1) * (g[i] - m[i]);
            v[i] = b2 * v[i] + (1.0 - b2) * g[i] * g[i];
            x[i] += (-step * m[i]) * (1.0 / (v[i].sqrt() * (1.0 / bc2_sqrt) + eps));
        }
    }
    x
}

fn overhead(c: &mut Criterion) {
    let rosenbrock = Rosenbrock::new(2);
    let start = DVector::from_vec(vec![-1.2, 1.0]);
    let mut group = c.benchmark_group("overhead");
    group.throughput(Throughput::Elements(STEPS as u64));
    for name in ["euler", "adam"] {
        let (lr, rule) = small_n::method(name == "adam");
        // The same θ from every route: the benchmarks compare equal work.
        let hand = if name == "euler" {
            hand_euler(lr)
        } else {
            hand_adam(lr)
        };
        let mut run = Integrator::new(Optimizer::new(lr, rule.clone(), 2), 0.0, start.clone());
        run.integrate(
            &mut GradientFlow::new(&rosenbrock),
            &Stop::steps(STEPS as u64),
            &mut (),
        );
        assert_eq!(
            run.y().as_slice(),
            &hand,
            "{name}: library and hand loop disagree"
        );

        group.bench_function(format!("{name}/hand loop"), |b| {
            b.iter(|| {
                if name == "euler" {
                    hand_euler(black_box(lr))
                } else {
                    hand_adam(black_box(lr))
                }
            })
        });
        assert_eq!(small_n::hand(&rosenbrock, name == "adam", lr), hand[0]);
        group.bench_function(format!("{name}/hand loop, DVector + Objective"), |b| {
            b.iter(|| small_n::hand(&rosenbrock, name == "adam", black_box(lr)))
        });
        assert_eq!(small_n::in_place(&rosenbrock, &rule, lr), hand[0]);
        group.bench_function(format!("{name}/step_in_place in a loop"), |b| {
            b.iter(|| small_n::in_place(&rosenbrock, &rule, black_box(lr)))
        });
        group.bench_function(format!("{name}/driver"), |b| {
            b.iter(|| small_n::driver(&rosenbrock, &rule, black_box(lr)))
        });
        let spec =
            gradflow::RunSpec::new("rosenbrock", &format!("{name}:lr={lr}")).steps(STEPS as u64);
        group.bench_function(format!("{name}/RunSpec"), |b| {
            b.iter(|| spec.run().map(|r| r.loss))
        });
    }
    group.finish();
}

/// The Rosenbrock flow f = −∇L for `ode_solvers`.
struct RosenbrockFlow;

impl ode_solvers::System<f64, ode_solvers::DVector<f64>> for RosenbrockFlow {
    fn system(&self, _t: f64, y: &ode_solvers::DVector<f64>, dy: &mut ode_solvers::DVector<f64>) {
        let g = rosenbrock_gradient([y[0], y[1]]);
        dy[0] = -g[0];
        dy[1] = -g[1];
    }
}

fn ode_solvers_run() -> (u32, f64) {
    let y0 = ode_solvers::DVector::from_vec(vec![-1.2, 1.0]);
    let mut solver = ode_solvers::Dopri5::from_param(
        RosenbrockFlow,
        0.0,
        100.0,
        100.0,
        y0,
        1e-6,
        1e-6,
        0.9,
        0.04,
        0.2,
        10.0,
        100.0,
        0.0,
        u32::MAX,
        u32::MAX,
        ode_solvers::dop_shared::OutputType::Sparse,
    );
    match solver.integrate() {
        Ok(stats) => (
            stats.num_eval,
            solver.y_out().last().map_or(f64::NAN, |y| y[0]),
        ),
        Err(e) => panic!("ode_solvers: {e:?}"),
    }
}

fn gradflow_run() -> (u64, f64) {
    let rosenbrock = Rosenbrock::new(2);
    let mut run = Integrator::new(
        RungeKutta::adaptive(&tableau::DOPRI5, 1e-6, 1e-6, 2),
        0.0,
        DVector::from_vec(vec![-1.2, 1.0]),
    );
    run.integrate(
        &mut GradientFlow::new(&rosenbrock),
        &Stop::t_end(100.0),
        &mut (),
    );
    (run.stats().evals, run.y()[0])
}

fn dopri5(c: &mut Criterion) {
    let (ours, ours_y) = gradflow_run();
    let (theirs, theirs_y) = ode_solvers_run();
    eprintln!("dopri5 to t = 100: gradflow {ours} evaluations (θ₁ = {ours_y}), ode_solvers {theirs} (θ₁ = {theirs_y})");
    let mut group = c.benchmark_group("dopri5");
    group.sample_size(20);
    group.throughput(Throughput::Elements(ours));
    group.bench_function("gradflow", |b| b.iter(gradflow_run));
    group.throughput(Throughput::Elements(u64::from(theirs)));
    group.bench_function("ode_solvers", |b| b.iter(ode_solvers_run));
    group.finish();
}

/// The logistic gradient as a plain double loop: zᵢ = xᵢ·w, then g += xᵢ(σ(zᵢ) − yᵢ).
fn naive_logistic(model: &Logistic<f64>, mu: f64, w: &DVector<f64>, g: &mut DVector<f64>) {
    g.fill(0.0);
    let n = w.len();
    for i in 0..model.rows() {
        let row = model.row(i);
        let mut z = 0.0;
        for j in 0..n {
            z += row[j] * w[j];
        }
        let r = 1.0 / (1.0 + (-z).exp()) - model.target(i);
        for j in 0..n {
            g[j] += row[j] * r;
        }
    }
    let m = model.rows() as f64;
    for j in 0..n {
        g[j] /= m;
        if j + 1 < n {
            g[j] += mu * w[j];
        }
    }
}

fn gradients(c: &mut Criterion) {
    let mut group = c.benchmark_group("gradient");
    let model = match Logistic::<f64>::breast_cancer(1e-3) {
        Ok(m) => m,
        Err(e) => panic!("{e}"),
    };
    let w = DVector::from_fn(31, |j, _| (j % 7) as f64 * 0.05 - 0.15);
    let mut g = DVector::zeros(31);
    let mut g_naive = DVector::zeros(31);
    model.gradient(&w, &mut g);
    naive_logistic(&model, 1e-3, &w, &mut g_naive);
    assert!(
        (&g - &g_naive).amax() < 1e-14,
        "the two logistic gradients disagree"
    );
    group.bench_function("logistic", |b| {
        b.iter(|| model.gradient(black_box(&w), &mut g))
    });
    group.bench_function("logistic/naive double loop", |b| {
        b.iter(|| naive_logistic(&model, 1e-3, black_box(&w), &mut g_naive))
    });
    let rosenbrock = Rosenbrock::new(1000);
    let x = DVector::from_fn(1000, |i, _| (i % 13) as f64 * 0.1 - 0.6);
    let mut gx = DVector::zeros(1000);
    group.bench_function("rosenbrock n=1000", |b| {
        b.iter(|| rosenbrock.gradient(black_box(&x), &mut gx))
    });
    group.finish();
}

criterion_group!(benches, overhead, dopri5, gradients);
criterion_main!(benches);
