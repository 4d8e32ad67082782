//! The roofline of the optimizers' steps on this machine, measured in one process.
//!
//! ```sh
//! cargo run --release --example roofline            # n = 1e7
//! cargo run --release --example roofline -- 1000000 # another n
//! ```
//!
//! The bound: an elementwise step moves a fixed number of bytes per parameter (read θ, g
//! and the state; write θ and the state: SGD 3, RMSprop 5, Adam 7 words), so its time is
//! at least bytes / bandwidth. The bandwidth is measured here, on the in-place streaming
//! update y ← y + a·x (3 words per element, the same traffic pattern as a step), and
//! every step is reported as achieved GB/s and as a fraction of that bound, next to a
//! plain hand-written loop doing the same arithmetic in the same order.
//!
//! Rows: `library` is [`Optimizer::step_in_place`] (the fused kernel, θ updated in place);
//! `integrator` is the same kernel as an integrator step, which writes θ₊ into a second
//! vector to keep θₖ (one more word per parameter: the cache line is read before it is
//! written); `hand loop` is the loop below, compiled for the default target; `in-cache`
//! is the library step on 2¹⁴ components (all in L2) repeated to cover n, the time the
//! arithmetic takes when memory is not the limit (a step whose in-cache time exceeds its
//! bound is compute-bound).

use gradflow_integrators::kernel;
use gradflow_integrators::optim::{Optimizer, Rule};
#[cfg(test)]
use gradflow_integrators::scalar::to_f64;
use gradflow_integrators::{Scalar, Stepper, VectorField};
use nalgebra::DVector;
use std::time::Instant;

/// Best time of `reps` runs of `f`, after one warm-up run.
fn best_of(reps: usize, mut f: impl FnMut()) -> f64 {
    f();
    (0..reps)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed().as_secs_f64()
        })
        .fold(f64::INFINITY, f64::min)
}

/// y ← y + a·x, in halves on as many threads as the current rayon pool has.
fn axpy<T: Scalar>(y: &mut [T], x: &[T], a: T) {
    if y.len() >= 1 << 16 && rayon::current_num_threads() > 1 {
        let mid = y.len() / 2;
        let (y0, y1) = y.split_at_mut(mid);
        let (x0, x1) = x.split_at(mid);
        rayon::join(|| axpy(y0, x0, a), || axpy(y1, x1, a));
    } else {
        for (yi, &xi) in y.iter_mut().zip(x) {
            *yi += a * xi;
        }
    }
}

/// The updates written the plain way: one loop, the library's operation order (torch's,
/// except Adam's single division).
fn hand_sgd<T: Scalar>(theta: &mut [T], g: &[T], lr: T) {
    for (t, &gi) in theta.iter_mut().zip(g) {
        *t += -lr * gi;
    }
}

fn hand_rmsprop<T: Scalar>(theta: &mut [T], g: &[T], v: &mut [T], lr: T, alpha: T, eps: T) {
    for ((t, &gi), vi) in theta.iter_mut().zip(g).zip(v.iter_mut()) {
        *vi = alpha * *vi + (T::one() - alpha) * gi * gi;
        *t += (-lr * gi) / (vi.sqrt() + eps);
    }
}

#[allow(clippy::too_many_arguments)]
fn hand_adam<T: Scalar>(
    theta: &mut [T],
    g: &[T],
    m: &mut [T],
    v: &mut [T],
    k: i32,
    lr: T,
    (b1, b2): (T, T),
    eps: T,
) {
    // `beta ** step` and `** 0.5`, as PyTorch's single-tensor Adam (and the library) do.
    let kf = nalgebra::convert::<f64, T>(f64::from(k));
    let bc1 = T::one() - b1.powf(kf);
    let bc2_sqrt = (T::one() - b2.powf(kf)).powf(nalgebra::convert(0.5));
    let step = lr / bc1;
    for (((t, &gi), mi), vi) in theta.iter_mut().zip(g).zip(m.iter_mut()).zip(v.iter_mut()) {
        *mi += (T::one() - b1) * (gi - *mi);
        *vi = b2 * *vi + (T::one() - b2) * gi * gi;
        *t += (-step * *mi) * (T::one() / (vi.sqrt() * (T::one() / bc2_sqrt) + eps));
    }
}

/// The state of the hand loops: RMSprop's v or Adam's m and v, and the step count.
struct HandState<T> {
    s1: Vec<T>,
    s2: Vec<T>,
    k: i32,
}

impl<T: Scalar> HandState<T> {
    fn new(n: usize) -> Self {
        HandState {
            s1: vec![T::zero(); n],
            s2: vec![T::zero(); n],
            k: 0,
        }
    }
}

/// One hand-loop step of `method` with the roofline's hyperparameters.
fn hand_step<T: Scalar>(method: &str, s: &mut HandState<T>, theta: &mut [T], g: &[T], lr: T) {
    let c = |x: f64| nalgebra::convert::<f64, T>(x);
    match method {
        "euler" => hand_sgd(theta, g, lr),
        "rmsprop" => hand_rmsprop(theta, g, &mut s.s1, lr, c(0.99), c(1e-8)),
        _ => {
            s.k += 1;
            hand_adam(
                theta,
                g,
                &mut s.s1,
                &mut s.s2,
                s.k,
                lr,
                (c(0.9), c(0.999)),
                c(1e-8),
            )
        }
    }
}

/// A field whose value is already in the stepper's buffer: the integrator step alone.
struct Given;

impl<T: Scalar> VectorField<T> for Given {
    fn eval(&mut self, _t: T, _y: &DVector<T>, _dy: &mut DVector<T>) {}
}

struct Row {
    method: &'static str,
    words: usize,
    library: f64,
    in_cache: f64,
    integrator: f64,
    hand: f64,
}

/// The library's rule for `method`, with the hand loops' hyperparameters.
fn rule_for<T: Scalar>(method: &str, n: usize) -> Rule<T> {
    let c = |x: f64| nalgebra::convert::<f64, T>(x);
    match method {
        "euler" => Rule::sgd(T::zero(), T::zero(), false, n),
        "rmsprop" => Rule::rms(c(0.99), c(1e-8), false, T::zero(), n),
        _ => Rule::adam(c(0.9), c(0.999), c(1e-8), false, n),
    }
}

fn measure<T: Scalar>(n: usize, reps: usize) -> (f64, Vec<Row>) {
    let c = |x: f64| nalgebra::convert::<f64, T>(x);
    let x = DVector::<T>::from_fn(n, |i, _| c(((i % 1000) as f64 + 1.0) * 1e-3));
    let mut y = DVector::<T>::from_element(n, c(1.0));
    let stream = best_of(reps, || axpy(y.as_mut_slice(), x.as_slice(), c(1e-9)));
    let grad = x.clone();
    let field: DVector<T> = -&grad;
    let mut theta = DVector::<T>::from_element(n, c(1.0));
    let mut rows = Vec::new();

    let rule_for = rule_for::<T>;
    for (method, words) in [("euler", 3), ("rmsprop", 5), ("adam", 7)] {
        let rule = rule_for(method, n);
        let lr = c(1e-9);
        let mut opt = Optimizer::new(lr, rule.clone(), n);
        let library = best_of(reps, || {
            let _ = opt.step_in_place(&mut theta, &grad);
        });
        // The same kernel on 2¹⁴ components (every array in L2), repeated to cover n:
        // what the arithmetic costs when memory is not the limit.
        let small = 1 << 14;
        let (mut theta_s, grad_s) = (
            theta.rows(0, small).into_owned(),
            grad.rows(0, small).into_owned(),
        );
        let mut opt_s = Optimizer::new(lr, rule_for(method, small), small);
        let in_cache = best_of(reps, || {
            for _ in 0..n.div_ceil(small) {
                let _ = opt_s.step_in_place(&mut theta_s, &grad_s);
            }
        }) * n as f64
            / (n.div_ceil(small) * small) as f64;
        let mut stepper = Optimizer::new(lr, rule, n);
        // The stepper reads the field into its own buffer once; afterwards `Given` leaves it.
        stepper.derivative(
            &mut |_t: T, _y: &DVector<T>, dy: &mut DVector<T>| dy.copy_from(&field),
            T::zero(),
            &theta,
        );
        let mut next = theta.clone();
        let integrator = best_of(reps, || {
            stepper.step(&mut Given, T::zero(), &theta, &mut next, None);
        });
        let mut hand_state = HandState::new(n);
        let hand = best_of(reps, || {
            hand_step(
                method,
                &mut hand_state,
                theta.as_mut_slice(),
                grad.as_slice(),
                lr,
            )
        });
        rows.push(Row {
            method,
            words,
            library,
            in_cache,
            integrator,
            hand,
        });
    }
    (stream, rows)
}

fn report<T: Scalar>(dtype: &str, n: usize, reps: usize, threads: usize) {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("a thread pool");
    let (stream, rows) = pool.install(|| measure::<T>(n, reps));
    let word = std::mem::size_of::<T>() as f64;
    let stream_gbs = 3.0 * word * n as f64 / stream / 1e9;
    println!(
        "\n{dtype}, {threads} thread(s): y ← y + a·x streams {stream_gbs:.1} GB/s ({:.2} ms)",
        stream * 1e3
    );
    println!(
        "{:<8} {:>5} {:>9} {:>11} {:>9} {:>7} {:>12} {:>14} {:>9} {:>9}",
        "method",
        "B/par",
        "bound ms",
        "library ms",
        "GB/s",
        "of bnd",
        "in-cache ms",
        "integrator ms",
        "hand ms",
        "lib/hand"
    );
    for r in rows {
        let bytes = r.words as f64 * word * n as f64;
        let bound = bytes / (stream_gbs * 1e9);
        println!(
            "{:<8} {:>5} {:>9.2} {:>11.2} {:>9.1} {:>6.0}% {:>12.2} {:>14.2} {:>9.2} {:>9.2}",
            r.method,
            r.words * word as usize,
            bound * 1e3,
            r.library * 1e3,
            bytes / r.library / 1e9,
            100.0 * bound / r.library,
            r.in_cache * 1e3,
            r.integrator * 1e3,
            r.hand * 1e3,
            r.library / r.hand
        );
    }
}

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .map(|a| a.parse().expect("n: a positive integer"))
        .unwrap_or(10_000_000);
    let reps = 20;
    println!(
        "roofline at n = {n}, best of {reps} runs; kernels take the {} path",
        kernel::vector_path()
    );
    for threads in [1, 2] {
        report::<f64>("f64", n, reps, threads);
        report::<f32>("f32", n, reps, threads);
    }
    kernel::set_vector_path(false);
    println!("\nportable kernels forced (the build's default target):");
    report::<f64>("f64", n, reps, 1);
}

/// The library's in-place steps and the hand loops, from the same θ with the same
/// gradients, end bit for bit equal: the roofline compares equal work.
#[cfg(test)]
fn same_work<T: Scalar>(n: usize) {
    let c = |x: f64| nalgebra::convert::<f64, T>(x);
    let lr = c(1e-3);
    for method in ["euler", "rmsprop", "adam"] {
        let mut opt = Optimizer::new(lr, rule_for::<T>(method, n), n);
        let mut hand = HandState::new(n);
        let mut a = DVector::<T>::from_fn(n, |i, _| c(1.0 + (i % 13) as f64 * 0.01));
        let mut b = a.clone();
        for k in 0..4 {
            let g = DVector::<T>::from_fn(n, |i, _| c(((i * 7 + k * 3) % 17) as f64 * 0.1 - 0.8));
            opt.step_in_place(&mut a, &g).expect("matching dimensions");
            hand_step(method, &mut hand, b.as_mut_slice(), g.as_slice(), lr);
        }
        let bits =
            |v: &DVector<T>| -> Vec<u64> { v.iter().map(|&x| to_f64(x).to_bits()).collect() };
        assert!(bits(&a) == bits(&b), "{method}");
    }
}

#[test]
fn the_compared_loops_do_the_same_arithmetic() {
    // Large enough for the two-thread halves, odd to run the remainder loops.
    let n = 3 * kernel::PAR_MIN + 5;
    for threads in [1, 2] {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .expect("a thread pool");
        pool.install(|| {
            same_work::<f64>(n);
            same_work::<f32>(n);
        });
    }
}
