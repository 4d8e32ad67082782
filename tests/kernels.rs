//! The fused optimizer kernels against a plain per-component reference, and their
//! invariances: the same bits on every vector path, on one or two threads, in place or
//! as an integrator step.
//!
//! One test function: it switches the process-wide vector path, so nothing else may run
//! beside it in this binary.

use gradflow_integrators::kernel::{self, LEAF, PAR_MIN};
use gradflow_integrators::optim::{Optimizer, Rule};
use gradflow_integrators::{Stepper, VectorField};
use nalgebra::DVector;

/// Large enough to split into several leaves and to run on two threads, and not a
/// multiple of the lane count, so that the remainder loop runs too.
const N: usize = 2 * PAR_MIN + 2 * LEAF + 13;

fn gradient(n: usize, k: usize) -> DVector<f64> {
    // A gradient with mixed signs and magnitudes, and exact zeros.
    DVector::from_fn(n, |i, _| {
        let x = ((i * 7919 + k * 104_729) % 10_007) as f64;
        if i % 97 == 0 {
            0.0
        } else {
            (x - 5003.0) * 1e-3 * (1.0 + (i % 5) as f64)
        }
    })
}

fn rules(n: usize) -> Vec<(&'static str, Rule<f64>)> {
    vec![
        ("sgd", Rule::sgd(0.0, 0.0, false, n)),
        ("heavy ball", Rule::sgd(0.9, 0.1, false, n)),
        ("nesterov", Rule::sgd(0.9, 0.0, true, n)),
        ("normalized", Rule::Normalized),
        ("sign", Rule::Sign),
        ("rmsprop-norm", Rule::rms_norm(0.99, 1e-8)),
        ("rmsprop", Rule::rms(0.99, 1e-8, false, 0.0, n)),
        ("rmsprop centered", Rule::rms(0.9, 1e-8, true, 0.0, n)),
        ("rmsprop momentum", Rule::rms(0.9, 1e-8, false, 0.5, n)),
        (
            "rmsprop centered momentum",
            Rule::rms(0.9, 1e-6, true, 0.5, n),
        ),
        ("adagrad", Rule::adagrad(1e-10, 0.01, 0.1, n)),
        ("adam", Rule::adam(0.9, 0.999, 1e-8, false, n)),
        (
            "adam beta1 > 1/2 weight",
            Rule::adam(0.3, 0.99, 1e-8, false, n),
        ),
        ("amsgrad", Rule::adam(0.9, 0.999, 1e-8, true, n)),
    ]
}

/// θ, the reported times and the optimizer (with its state) after `steps` in-place steps.
fn run_in_place(rule: &Rule<f64>, n: usize, steps: usize) -> (Vec<u64>, Vec<u64>, Optimizer<f64>) {
    let mut opt = Optimizer::new(1e-3, rule.clone(), n);
    let mut theta = DVector::from_fn(n, |i, _| 1.0 + (i % 11) as f64 * 0.1);
    let mut times = Vec::new();
    for k in 0..steps {
        let g = gradient(n, k);
        let dt = opt.step_in_place(&mut theta, &g).unwrap();
        times.push(dt.to_bits());
    }
    (theta.iter().map(|x| x.to_bits()).collect(), times, opt)
}

/// A field that hands the stepper −g for the step number it is at.
struct Replay {
    k: usize,
}

impl VectorField<f64> for Replay {
    fn eval(&mut self, _t: f64, y: &DVector<f64>, dy: &mut DVector<f64>) {
        dy.copy_from(&-gradient(y.len(), self.k));
        self.k += 1;
    }
}

/// The same steps as integrator steps (θ₊ written into a second vector, from f = −g).
fn run_as_steps(rule: &Rule<f64>, n: usize, steps: usize) -> (Vec<u64>, Vec<u64>) {
    let mut opt = Optimizer::new(1e-3, rule.clone(), n);
    let mut theta = DVector::from_fn(n, |i, _| 1.0 + (i % 11) as f64 * 0.1);
    let mut next = theta.clone();
    let mut field = Replay { k: 0 };
    let mut times = Vec::new();
    for _ in 0..steps {
        match opt.step(&mut field, 0.0, &theta, &mut next, None) {
            gradflow_integrators::StepResult::Accepted(a) => times.push(a.dt.to_bits()),
            other => panic!("optimizer step not accepted: {other:?}"),
        }
        std::mem::swap(&mut theta, &mut next);
    }
    (theta.iter().map(|x| x.to_bits()).collect(), times)
}

/// Adam and RMSprop written the plain way, one component at a time, with
/// h̄ = Σhᵢgᵢ²/Σgᵢ² summed left to right: RMSprop in torch's order, Adam with the library's
/// one division (r = 1/d for θ and h̄, √v scaled by 1/√b₂), or in torch's order (two
/// divisions, `torch_order`).
fn reference(name: &str, n: usize, steps: usize) -> (Vec<f64>, Vec<f64>) {
    reference_in(name, n, steps, false)
}

fn reference_in(name: &str, n: usize, steps: usize, torch_order: bool) -> (Vec<f64>, Vec<f64>) {
    let lr = 1e-3;
    let mut theta: Vec<f64> = (0..n).map(|i| 1.0 + (i % 11) as f64 * 0.1).collect();
    let (mut m, mut v) = (vec![0.0; n], vec![0.0; n]);
    let mut times = Vec::new();
    for k in 1..=steps {
        let g = gradient(n, k - 1);
        let (mut hg2, mut g2) = (0.0, 0.0);
        for i in 0..n {
            let gi = g[i];
            let h = if name == "adam" {
                let (b1, b2, eps) = (0.9f64, 0.999f64, 1e-8);
                m[i] += (1.0 - b1) * (gi - m[i]);
                v[i] = b2 * v[i] + (1.0 - b2) * gi * gi;
                let bc1 = 1.0 - b1.powf(k as f64);
                let bc2_sqrt = (1.0 - b2.powf(k as f64)).powf(0.5);
                let step = lr / bc1;
                if torch_order {
                    let denom = v[i].sqrt() / bc2_sqrt + eps;
                    theta[i] += (-step * m[i]) / denom;
                    step / denom
                } else {
                    let r = 1.0 / (v[i].sqrt() * (1.0 / bc2_sqrt) + eps);
                    theta[i] += (-step * m[i]) * r;
                    step * r
                }
            } else {
                let (a, eps) = (0.99, 1e-8);
                v[i] = a * v[i] + (1.0 - a) * gi * gi;
                let avg = v[i].sqrt() + eps;
                theta[i] += (-lr * gi) / avg;
                lr / avg
            };
            hg2 += h * gi * gi;
            g2 += gi * gi;
        }
        times.push(hg2 / g2);
    }
    (theta, times)
}

#[test]
fn kernels_agree_with_the_reference_on_every_path_thread_count_and_form() {
    let one = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();
    let two = rayon::ThreadPoolBuilder::new()
        .num_threads(2)
        .build()
        .unwrap();
    let steps = 4;
    for (name, rule) in rules(N) {
        kernel::set_vector_path(true);
        let (wide, wide_t, opt) = two.install(|| run_in_place(&rule, N, steps));
        kernel::set_vector_path(false);
        let (portable, portable_t, opt_portable) = one.install(|| run_in_place(&rule, N, steps));
        kernel::set_vector_path(true);
        assert_eq!(
            wide, portable,
            "{name}: θ, widest path on 2 threads vs portable on 1"
        );
        assert_eq!(wide_t, portable_t, "{name}: dt");
        assert_eq!(opt, opt_portable, "{name}: optimizer state");
        assert_eq!(opt.step_range(), opt_portable.step_range(), "{name}: range");

        let (stepped, stepped_t) = one.install(|| run_as_steps(&rule, N, steps));
        assert_eq!(wide, stepped, "{name}: θ, in place vs integrator step");
        assert_eq!(wide_t, stepped_t, "{name}: dt, in place vs integrator step");
    }

    // θ bit for bit against the plain loops; h̄ to round-off (the sums are grouped
    // differently: lanes, leaves, a tree).
    for (name, rule) in [
        ("adam", Rule::adam(0.9, 0.999, 1e-8, false, N)),
        ("rmsprop", Rule::rms(0.99, 1e-8, false, 0.0, N)),
    ] {
        let (theta, times, opt) = run_in_place(&rule, N, steps);
        let (ref_theta, ref_times) = reference(name, N, steps);
        let ref_bits: Vec<u64> = ref_theta.iter().map(|x| x.to_bits()).collect();
        assert_eq!(theta, ref_bits, "{name}: θ against the plain loop");
        for (k, (&t, &r)) in times.iter().zip(&ref_times).enumerate() {
            let t = f64::from_bits(t);
            assert!((t - r).abs() <= 1e-13 * r, "{name} step {k}: h̄ {t} vs {r}");
        }
        // Torch's two divisions instead of one: θ's step moves by a few roundings, θ
        // (of order 1, steps of order 1e-3) by at most one ulp per step taken.
        let (torch_theta, _) = reference_in(name, N, steps, true);
        let ulps = theta
            .iter()
            .zip(&torch_theta)
            .map(|(&t, &r)| (t as i64 - r.to_bits() as i64).unsigned_abs())
            .max();
        println!("{name}: θ within {ulps:?} ulps of torch's order");
        assert!(
            ulps <= Some(steps as u64),
            "{name}: {ulps:?} ulps from torch's order"
        );
        // The range is min/max of lr/dᵢ over every component, worked out from the state.
        let (lo, hi) = opt.step_range().unwrap();
        assert!(lo > 0.0 && lo <= hi, "{name}: range ({lo}, {hi})");
    }

    // A wrong length is an error, not a panic or a partial update.
    let mut opt = Optimizer::new(0.1, Rule::adam(0.9, 0.999, 1e-8, false, 3), 3);
    let mut theta = DVector::from_element(3, 1.0);
    assert!(opt
        .step_in_place(&mut theta, &DVector::from_element(2, 1.0))
        .is_err());
    assert!(opt
        .step_in_place(
            &mut DVector::from_element(4, 1.0),
            &DVector::from_element(4, 1.0)
        )
        .is_err());
    assert_eq!(theta, DVector::from_element(3, 1.0));
    assert_eq!(opt.steps, 0);
}
