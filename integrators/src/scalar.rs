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

/// The spacing of floating-point numbers at `t`: |nextafter(t, ∞) − t|, up to a factor of 2.
#[inline]
pub fn spacing<T: Scalar>(t: T) -> T {
    let eps = T::default_epsilon();
    let tiny = T::min_value().unwrap_or(eps);
    (t.abs() * eps).max(tiny)
}

/// True when every component is finite.
#[inline]
pub fn all_finite<T: Scalar>(v: &nalgebra::DVector<T>) -> bool {
    v.iter().all(|x| x.is_finite())
}
