//! The weighted RMS norm of error control.

use crate::Scalar;
use nalgebra::DVector;

/// err = sqrt(mean_i (e_i / sc_i)²) with sc_i = atol + rtol·max(|y_i|, |ŷ_i|).
///
/// The norm of Hairer, Nørsett & Wanner, *Solving ODEs I*, §II.4, eq. (4.11), as SciPy's
/// `solve_ivp` uses it. An accepted step has `err < 1`.
pub fn error_norm<T: Scalar>(
    e: &DVector<T>,
    y: &DVector<T>,
    y_new: &DVector<T>,
    rtol: T,
    atol: T,
) -> T {
    let mut sum = T::zero();
    for ((&ei, &yi), &zi) in e.iter().zip(y.iter()).zip(y_new.iter()) {
        let sc = atol + rtol * yi.abs().max(zi.abs());
        let r = ei / sc;
        sum += r * r;
    }
    rms(sum, e.len())
}

/// sqrt(sum / n), with n = 0 giving 0.
#[inline]
pub(crate) fn rms<T: Scalar>(sum_of_squares: T, n: usize) -> T {
    if n == 0 {
        return T::zero();
    }
    (sum_of_squares / nalgebra::convert::<f64, T>(n as f64)).sqrt()
}

/// sqrt(mean_i (v_i / (atol + rtol·|y_i|))²), the scaled RMS of `select_initial_step`.
pub(crate) fn scaled_rms<T: Scalar>(v: &DVector<T>, y: &DVector<T>, rtol: T, atol: T) -> T {
    let mut sum = T::zero();
    for (&vi, &yi) in v.iter().zip(y.iter()) {
        let r = vi / (atol + yi.abs() * rtol);
        sum += r * r;
    }
    rms(sum, v.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn norm_of_a_uniform_error_is_its_scaled_size() {
        let e = DVector::from_vec(vec![1e-6, -1e-6]);
        let y = DVector::from_vec(vec![1.0, -3.0]);
        let z = DVector::from_vec(vec![2.0, 1.0]);
        // sc = (1e-6 + 1e-3·2, 1e-6 + 1e-3·3)
        let want = (((1e-6 / 2.001e-3f64).powi(2) + (1e-6 / 3.001e-3f64).powi(2)) / 2.0).sqrt();
        let got = error_norm(&e, &y, &z, 1e-3, 1e-6);
        assert!((got - want).abs() <= 1e-15 * want);
    }
}
