//! The one scalar trait every generic item is written against.

use nalgebra::RealField;
use serde::{de::DeserializeOwned, Serialize};

/// A real floating-point scalar: `f32` or `f64`.
///
/// One trait with a blanket impl, so that generic code carries a single bound.
pub trait Scalar: RealField + Copy + Serialize + DeserializeOwned {}

impl<T> Scalar for T where T: RealField + Copy + Serialize + DeserializeOwned {}

/// Converts an `f64` constant into `T` (rounding to nearest for `f32`).
#[inline]
pub fn lit<T: Scalar>(x: f64) -> T {
    nalgebra::convert(x)
}

/// Converts `x` to `f64` exactly (every `f32` is an `f64`).
#[inline]
pub fn to_f64<T: Scalar>(x: T) -> f64 {
    x.to_subset().unwrap_or(f64::NAN)
}

/// The spacing of floating-point numbers at `t`: |nextafter(t, ∞) − t|, up to a factor
/// of 2, and never below the smallest normal `f32` (so it is positive at t = 0).
#[inline]
pub fn spacing<T: Scalar>(t: T) -> T {
    let floor: T = lit(f64::from(f32::MIN_POSITIVE));
    (t.abs() * T::default_epsilon()).max(floor)
}

/// The smallest relative tolerance the adaptive methods accept, 100·ε of the precision
/// (2.2e-14 in f64, 1.2e-5 in f32); a smaller one is raised to it, as SciPy does.
#[inline]
pub fn rtol_floor<T: Scalar>() -> T {
    lit::<T>(100.0) * T::default_epsilon()
}

/// True when every component is finite.
#[inline]
pub fn all_finite<T: Scalar>(v: &[T]) -> bool {
    v.iter().all(|x| x.is_finite())
}

/// ‖v‖² summed left to right (nalgebra's `norm_squared` order for a vector, without its
/// iterator's bookkeeping).
#[inline]
pub fn norm_squared<T: Scalar>(v: &[T]) -> T {
    v.iter().fold(T::zero(), |s, &x| s + x * x)
}

/// `v` with its length fixed at compile time to `N` (`N = 0`: any length, `v` itself).
///
/// A loop over a slice of known length unrolls completely, without a prologue or a trip
/// count: what a step over a tiny state costs. Panics if `v` is shorter than `N`.
#[inline(always)]
pub fn sized<const N: usize, T>(v: &[T]) -> &[T] {
    if N == 0 {
        v
    } else {
        &v[..N]
    }
}

/// [`sized`] for a mutable slice.
#[inline(always)]
pub fn sized_mut<const N: usize, T>(v: &mut [T]) -> &mut [T] {
    if N == 0 {
        v
    } else {
        &mut v[..N]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spacing_is_positive_everywhere_and_close_to_the_ulp() {
        assert!(spacing(0.0f64) > 0.0 && spacing(0.0f32) > 0.0);
        for t in [1.0f64, 100.0, 1e-3, 12345.678] {
            let ulp = t.next_up() - t;
            assert!(spacing(t) >= ulp / 2.0 && spacing(t) <= 2.0 * ulp, "{t}");
        }
        let t = 100.0f32;
        let ulp = t.next_up() - t;
        assert!(spacing(t) >= ulp / 2.0 && spacing(t) <= 2.0 * ulp);
    }
}
