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

/// 1/x for a positive normal `x` without a division: Newton's iteration r ← r·(2 − x·r)
/// from a seed read off the bits of x (the integer C − bits(x), relative error below
/// 5.1% for C = 0x7FDE_6238_22FC_16E6 in f64 and 0x7EF3_11C3 in f32), four iterations
/// in f64 and three in f32 (the error squares at each: 5.1e-2, 2.6e-3, 6.5e-6, 4.2e-11,
/// then round-off). Without fused multiply–adds the result is within 2 ulps of 1/x
/// (tested over every binade), not correctly rounded, and the same on every vector width.
///
/// Division and square root share one slow, barely pipelined unit, while this uses
/// multiplies only: a kernel already bound by that unit (Adam's √v and its two
/// divisions) gets one more quotient without waiting for it. x = 0 gives +∞ and x = +∞
/// gives 0, as 1/x does; subnormal x are out of range.
///
/// ```
/// use gradflow_integrators::scalar::reciprocal;
/// for x in [1e-8f64, 0.3, 1.0, 7.0, 3.5e12] {
///     assert!((reciprocal(x) * x - 1.0).abs() < 4.0 * f64::EPSILON);
/// }
/// assert!((reciprocal(3.0f32) * 3.0 - 1.0).abs() < 4.0 * f32::EPSILON);
/// ```
#[inline(always)]
pub fn reciprocal<T: Scalar>(x: T) -> T {
    use std::any::Any;
    let any = &x as &dyn Any;
    if let Some(&x) = any.downcast_ref::<f64>() {
        let mut r = f64::from_bits(0x7FDE_6238_22FC_16E6u64.wrapping_sub(x.to_bits()));
        for _ in 0..4 {
            r *= 2.0 - x * r;
        }
        nalgebra::convert(match x {
            0.0 => f64::INFINITY,
            f64::INFINITY => 0.0,
            _ => r,
        })
    } else if let Some(&x) = any.downcast_ref::<f32>() {
        let mut r = f32::from_bits(0x7EF3_11C3u32.wrapping_sub(x.to_bits()));
        for _ in 0..3 {
            r *= 2.0 - x * r;
        }
        nalgebra::convert(f64::from(match x {
            0.0 => f32::INFINITY,
            f32::INFINITY => 0.0,
            _ => r,
        }))
    } else {
        T::one() / x
    }
}

/// The smallest relative tolerance the adaptive methods accept, 100·ε of the precision
/// (2.2e-14 in f64, 1.2e-5 in f32); a smaller one is raised to it, as SciPy does.
#[inline]
pub fn rtol_floor<T: Scalar>() -> T {
    lit::<T>(100.0) * T::default_epsilon()
}

/// True when every component is finite.
#[inline]
pub fn all_finite<T: Scalar>(v: &nalgebra::DVector<T>) -> bool {
    v.as_slice().iter().all(|x| x.is_finite())
}

/// ‖v‖² summed left to right over the slice (nalgebra's `norm_squared` order for a
/// vector, without its iterator's bookkeeping).
#[inline]
pub fn norm_squared<T: Scalar>(v: &nalgebra::DVector<T>) -> T {
    v.as_slice().iter().fold(T::zero(), |s, &x| s + x * x)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_division_free_reciprocal_is_within_two_ulps_of_the_quotient() {
        // Every binade of the normal range, 64 mantissas each (the seed's error depends
        // on the mantissa only), against the correctly rounded 1/x.
        let ulps = |r: f64, q: f64| ((r.to_bits() as i64) - (q.to_bits() as i64)).abs();
        let mut worst = 0;
        for e in -1020..1020 {
            for k in 0..64 {
                let x = (1.0 + f64::from(k) / 64.0 + 1e-3) * 2f64.powi(e);
                worst = worst.max(ulps(reciprocal(x), 1.0 / x));
            }
        }
        assert!(worst <= 2, "f64: {worst} ulps");
        let mut worst = 0;
        for e in -125..126 {
            for k in 0..64 {
                let x = (1.0 + k as f32 / 64.0 + 1e-3) * 2f32.powi(e);
                let (r, q) = (reciprocal(x), 1.0 / x);
                worst = worst.max(((r.to_bits() as i32) - (q.to_bits() as i32)).abs());
            }
        }
        assert!(worst <= 2, "f32: {worst} ulps");
        assert_eq!(reciprocal(0.0f64), f64::INFINITY);
        assert_eq!(reciprocal(f64::INFINITY), 0.0);
        assert_eq!(reciprocal(0.0f32), f32::INFINITY);
        assert_eq!(reciprocal(f32::INFINITY), 0.0);
    }

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
