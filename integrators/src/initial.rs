//! The first step of error control, shared by every adaptive stepper.

use crate::norm::{rms, scaled_rms};
use crate::scalar::lit;
use crate::{Scalar, VectorField};
use nalgebra::DVector;

/// SciPy's `select_initial_step` (Hairer, Nørsett & Wanner, *Solving ODEs I*, §II.4), the
/// rule [`crate::RungeKutta`] uses: with d₀ = ‖y‖, d₁ = ‖f₀‖ in the scaled RMS norm, a probe
/// h₀ = 0.01·d₀/d₁ (1e-6 when either is below 1e-5), one Euler probe
/// f₁ = f(t + h₀, y + h₀f₀) estimating d₂ = ‖f₁ − f₀‖/h₀, and
/// h₁ = (0.01/max(d₁, d₂))^(1/(q+1)) for an error estimate of order q; the result is
/// min(100·h₀, h₁, interval). One evaluation of f; `probe` and `f1` are scratch.
#[allow(clippy::too_many_arguments)]
pub(crate) fn select_initial_step<T: Scalar>(
    field: &mut dyn VectorField<T>,
    t: T,
    y: &DVector<T>,
    f0: &DVector<T>,
    interval: T,
    rtol: T,
    atol: T,
    error_order: u32,
    probe: &mut DVector<T>,
    f1: &mut DVector<T>,
) -> T {
    if interval == T::zero() {
        return T::zero();
    }
    let d0 = scaled_rms(y, y, rtol, atol);
    let d1 = scaled_rms(f0, y, rtol, atol);
    let small = lit::<T>(1e-5);
    let mut h0 = if d0 < small || d1 < small {
        lit(1e-6)
    } else {
        lit::<T>(0.01) * d0 / d1
    };
    h0 = h0.min(interval);
    probe.zip_zip_apply(y, f0, |s, yi, fi| *s = yi + h0 * fi);
    field.eval(t + h0, probe, f1);
    let mut sum = T::zero();
    for ((&a, &b), &yi) in f1.iter().zip(f0.iter()).zip(y.iter()) {
        let r = (a - b) / (atol + yi.abs() * rtol);
        sum += r * r;
    }
    let d2 = rms(sum, y.len()) / h0;
    let tiny = lit::<T>(1e-15);
    let h1 = if d1 <= tiny && d2 <= tiny {
        lit::<T>(1e-6).max(h0 * lit(1e-3))
    } else {
        let q1 = lit::<T>(f64::from(error_order + 1));
        (lit::<T>(0.01) / d1.max(d2)).powf(T::one() / q1)
    };
    (lit::<T>(100.0) * h0).min(h1).min(interval)
}
