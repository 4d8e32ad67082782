//! eˣ over a whole block of arguments, in a loop the compiler vectorizes.
//!
//! A call of the C library's `exp` per element costs more than the rest of the logistic
//! gradient's arithmetic together; this computes the same function with the classic
//! reduction (Cody & Waite; Tang, ACM TOMS 15 (1989)) and no table, branch or call, so
//! that one loop evaluates eight f64 lanes at a time:
//!
//! * x = k·ln 2 + r with k = round(x/ln 2) and |r| ≤ ln 2 / 2, r = (x − k·ln2₁) − k·ln2₂
//!   where ln2₁ has trailing zero bits (k·ln2₁ is exact);
//! * eʳ by its Taylor polynomial, degree 13 in f64 (truncation below 10⁻¹⁷ relative) and
//!   7 in f32 (below 10⁻⁸), by Horner's rule;
//! * 2ᵏ built from its bits; near the ends of the range the scaling is split in two
//!   factors, so that overflow gives +∞ and underflow rounds into the subnormals (and to 0).
//!
//! Every vector width gives the same bits: Horner's rule takes fused multiply–adds or
//! none, as the caller chooses (`FUSED`), and nothing else depends on the width. Measured
//! against the C library: within 1 ulp over the whole range either way (`tests`). NaN
//! stays NaN.

/// eˣ in place over a block (see the [module documentation](self)).
pub trait BlockExp: Sized {
    /// Replaces every x by eˣ; with `FUSED`, Horner's rule takes fused multiply–adds
    /// (fast only where the CPU has them: a function compiled with `fma` enabled).
    fn exp_in_place<const FUSED: bool>(x: &mut [Self]);
}

macro_rules! block_exp {
    ($t:ty, $bits:ty, $lo:expr, $hi:expr, $shifter:expr, $bias:expr, $mant:expr,
     $split:expr, $ln2_hi:expr, $ln2_lo:expr, [$($c:expr),+]) => {
        impl BlockExp for $t {
            #[inline(always)]
            fn exp_in_place<const FUSED: bool>(x: &mut [$t]) {
                const LOG2E: $t = std::f64::consts::LOG2_E as $t;
                const SHIFTER: $t = $shifter;
                // Exponent adjustments for the split scaling, and their powers of two.
                const SPLIT: $t = $split;
                let (down, up) = (
                    <$t>::from_bits((($bias - $split as $bits) as $bits) << $mant),
                    <$t>::from_bits((($bias + $split as $bits) as $bits) << $mant),
                );
                for xi in x.iter_mut() {
                    // Clamp (keeping NaN: comparisons with NaN are false).
                    let x = if *xi < $lo { $lo } else if *xi > $hi { $hi } else { *xi };
                    // k = round(x·log₂e), exact in the low bits of t.
                    let t = x * LOG2E + SHIFTER;
                    let k = t - SHIFTER;
                    let r = (x - k * $ln2_hi) - k * $ln2_lo;
                    let mut p: $t = 0.0;
                    $( p = if FUSED { p.mul_add(r, $c) } else { p * r + $c }; )+
                    // 2ᵏ = 2^(k + adj) · 2^(−adj): adj ≠ 0 only near the ends of the range.
                    let (adj, post) = if k < -SPLIT {
                        (SPLIT, down)
                    } else if k > SPLIT {
                        (-SPLIT, up)
                    } else {
                        (0.0, 1.0)
                    };
                    let shifted = (t + adj).to_bits();
                    let scale = <$t>::from_bits(
                        shifted
                            .wrapping_sub(SHIFTER.to_bits())
                            .wrapping_add($bias)
                            << $mant,
                    );
                    *xi = (p * scale) * post;
                }
            }
        }
    };
}

// f64: 1.5·2⁵² rounds to an integer in the low mantissa bits; e^−746 and e^710 are past
// both ends; ln2₁ has 32 significant bits (fdlibm's split).
block_exp!(
    f64,
    u64,
    -746.0,
    710.0,
    6_755_399_441_055_744.0,
    1023u64,
    52,
    600.0,
    f64::from_bits(0x3FE6_2E42_FEE0_0000),
    f64::from_bits(0x3DEA_39EF_3579_3C76),
    [
        1.0 / 6_227_020_800.0,
        1.0 / 479_001_600.0,
        1.0 / 39_916_800.0,
        1.0 / 3_628_800.0,
        1.0 / 362_880.0,
        1.0 / 40_320.0,
        1.0 / 5_040.0,
        1.0 / 720.0,
        1.0 / 120.0,
        1.0 / 24.0,
        1.0 / 6.0,
        0.5,
        1.0,
        1.0
    ]
);

// f32: 1.5·2²³; ln2₁ = 0x3F317200 (12 significant bits).
block_exp!(
    f32,
    u32,
    -104.0,
    89.0,
    12_582_912.0,
    127u32,
    23,
    60.0,
    f32::from_bits(0x3F31_7200),
    f32::from_bits(0x35BF_BE8E),
    [
        1.0 / 5_040.0,
        1.0 / 720.0,
        1.0 / 120.0,
        1.0 / 24.0,
        1.0 / 6.0,
        0.5,
        1.0,
        1.0
    ]
);

#[cfg(test)]
mod tests {
    use super::*;

    fn ulps64(a: f64, b: f64) -> u64 {
        (a.to_bits() as i64 - b.to_bits() as i64).unsigned_abs()
    }

    /// The largest distance in ulps from `libm` over `xs`, without and with `FUSED`
    /// (`bits`: the float's bits as an integer, in which adjacent floats differ by 1).
    fn worst_ulps<T: BlockExp + Copy>(
        xs: &[T],
        libm: impl Fn(T) -> T,
        bits: impl Fn(T) -> i64,
    ) -> [u64; 2] {
        let worst = |e: &[T]| {
            xs.iter()
                .zip(e)
                .map(|(&x, &y)| (bits(libm(x)) - bits(y)).unsigned_abs())
                .max()
                .unwrap()
        };
        let (mut plain, mut fused) = (xs.to_vec(), xs.to_vec());
        T::exp_in_place::<false>(&mut plain);
        T::exp_in_place::<true>(&mut fused);
        [worst(&plain), worst(&fused)]
    }

    #[test]
    fn f64_is_within_one_ulp_of_the_c_library_over_the_whole_range() {
        let xs: Vec<f64> = (0..200_001)
            .map(|i| -745.0 + 1454.7 * f64::from(i) / 200_000.0)
            .chain((0..20_001).map(|i| -1.0 + 2.0 * f64::from(i) / 20_000.0))
            .collect();
        let worst = worst_ulps(&xs, f64::exp, |x| x.to_bits() as i64);
        assert!(worst[0] <= 1 && worst[1] <= 1, "{worst:?} ulps");
    }

    #[test]
    fn f32_is_within_one_ulp_of_the_c_library_over_the_whole_range() {
        let xs: Vec<f32> = (0..200_001)
            .map(|i| -103.0 + 191.7 * i as f32 / 200_000.0)
            .collect();
        let worst = worst_ulps(&xs, f32::exp, |x| i64::from(x.to_bits()));
        assert!(worst[0] <= 1 && worst[1] <= 1, "{worst:?} ulps");
    }

    #[test]
    fn the_ends_of_the_range_and_special_values() {
        let mut e = [
            0.0,
            -0.0,
            1.0,
            -744.8,
            -746.0,
            -1e300,
            f64::NEG_INFINITY,
            709.78,
            709.8,
            1e300,
            f64::INFINITY,
            f64::NAN,
            -708.5,
            -744.0,
        ];
        let x = e;
        f64::exp_in_place::<false>(&mut e);
        assert_eq!(&e[..2], &[1.0, 1.0]);
        assert!(ulps64(e[2], std::f64::consts::E) <= 1);
        assert_eq!(&e[4..7], &[0.0, 0.0, 0.0]);
        assert!(
            ulps64(e[3], x[3].exp()) <= 1 && e[3] > 0.0,
            "smallest subnormal"
        );
        assert!(e[7].is_finite() && ulps64(e[7], x[7].exp()) <= 1);
        assert_eq!(&e[8..11], &[f64::INFINITY; 3]);
        assert!(e[11].is_nan());
        // Subnormal results, rounded once.
        assert!(ulps64(e[12], x[12].exp()) <= 1 && ulps64(e[13], x[13].exp()) <= 1);
        let mut f = [0.0f32, -104.0, 89.0, f32::NAN, -88.0, -100.0];
        f32::exp_in_place::<false>(&mut f);
        assert_eq!(&f[..3], &[1.0, 0.0, f32::INFINITY]);
        assert!(f[3].is_nan());
        assert!((f[4] / (-88.0f32).exp() - 1.0).abs() < 2e-7 && f[5] > 0.0);
    }
}
