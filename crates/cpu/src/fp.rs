//! Small floating-point helpers for atomics on narrow float types (`f16`, `bf16`), where the
//! executor must round exactly as the GPU does.

/// `f16` bits → `f64` (exact).
pub(crate) fn f16_to_f64(b: u16) -> f64 {
    let sign = if b & 0x8000 != 0 { -1.0 } else { 1.0 };
    let exp = ((b >> 10) & 0x1f) as i32;
    let mant = (b & 0x3ff) as f64;
    sign * match exp {
        0 => mant * 2f64.powi(-24),
        31 if mant == 0.0 => f64::INFINITY,
        31 => f64::NAN,
        e => (1024.0 + mant) * 2f64.powi(e - 25),
    }
}

/// `bf16` bits → `f64` (exact).
pub(crate) fn bf16_to_f64(b: u16) -> f64 {
    f32::from_bits((b as u32) << 16) as f64
}

/// Rounds `x` to nearest-even in a binary format with `ebits` exponent and `mbits` fraction
/// bits (`f16`: 5/10, `bf16`: 8/7), with subnormals; NaN becomes the canonical `0x7fff`.
pub(crate) fn f64_to_small(x: f64, ebits: u32, mbits: u32) -> u16 {
    let sign = (((x.to_bits() >> 63) as u32) << (ebits + mbits)) as u16;
    let inf = (((1u32 << ebits) - 1) << mbits) as u16;
    if x.is_nan() {
        return 0x7fff;
    }
    let a = x.abs();
    if a.is_infinite() {
        return sign | inf;
    }
    if a == 0.0 {
        return sign;
    }
    let bias = (1i32 << (ebits - 1)) - 1;
    let (emin, emax) = (1 - bias, bias);
    let e = ((a.to_bits() >> 52) & 0x7ff) as i32 - 1023;
    if e > emax + 1 {
        return sign | inf;
    }
    let mut qe = e.max(emin);
    let scaled = a * 2f64.powi(mbits as i32 - qe);
    let mut r = scaled.round_ties_even() as u64;
    if r == 1u64 << (mbits + 1) {
        r >>= 1;
        qe += 1;
    }
    if qe > emax {
        return sign | inf;
    }
    let bits = if r >= 1u64 << mbits {
        (((qe + bias) as u64) << mbits) | (r - (1u64 << mbits))
    } else {
        r
    };
    sign | bits as u16
}

/// Flushes an `f32` subnormal to a zero of the same sign.
pub(crate) fn ftz32(x: f32) -> f32 {
    if x.is_subnormal() {
        f32::from_bits(x.to_bits() & 0x8000_0000)
    } else {
        x
    }
}

/// The GPU's canonical `f32` NaN.
pub(crate) const NAN32: u32 = 0x7fff_ffff;
/// The GPU's canonical `f64` NaN.
pub(crate) const NAN64: u64 = 0x7fff_ffff_ffff_ffff;

/// `f32` result bits with a NaN replaced by the canonical NaN.
#[inline(always)]
pub(crate) fn canon32(x: f32) -> u64 {
    if x.is_nan() {
        NAN32 as u64
    } else {
        x.to_bits() as u64
    }
}

/// `fma.rn.f32` computed exactly without a hardware FMA instruction (which a portable build
/// cannot assume), in a form that vectorizes across lanes.
///
/// The product of two `f32`s is exact in `f64`; the sum with `c` is rounded to odd in `f64`
/// (round to nearest, then, if inexact, move to the neighbour with an odd last bit, using the
/// exact error from TwoSum). Rounding a round-to-odd result with at least two extra bits of
/// precision to `f32` gives the correctly rounded `f32` result, so this equals a true FMA.
///
/// Builds for CPUs with FMA (`-C target-cpu=native` or `x86-64-v3`) use the instruction, which
/// gives the same results and vectorizes too.
#[inline(always)]
pub(crate) fn fma32(a: f32, b: f32, c: f32) -> f32 {
    if cfg!(target_feature = "fma") {
        return a.mul_add(b, c);
    }
    let p = a as f64 * b as f64;
    let cf = c as f64;
    let s = p + cf;
    let bb = s - p;
    let e = (p - (s - bb)) + (cf - bb);
    let bits = s.to_bits();
    // Branch-free and compare-free on integers (floating-point compares give lane masks), so
    // that the lane loop vectorizes; infinities and NaNs pass through unchanged.
    let inexact = if e != 0.0 { 1u64 } else { 0 };
    let finite = if s.is_finite() { 1u64 } else { 0 };
    let adjust = (!bits & 1) & inexact & finite;
    // `+adjust` away from zero-ward rounding, `-adjust` otherwise.
    let toward = if (e > 0.0) == (s > 0.0) { 0 } else { u64::MAX };
    let odd = bits.wrapping_add((adjust ^ toward).wrapping_sub(toward));
    f64::from_bits(odd) as f32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fma32_matches_a_fused_multiply_add() {
        let mut x = 0x1234_5678_9abc_def0u64;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let special = [
            0.0f32,
            -0.0,
            1.0,
            -1.0,
            f32::MIN_POSITIVE,
            1e-45,
            f32::MAX,
            f32::INFINITY,
            f32::NAN,
        ];
        for i in 0..200_000 {
            let r = next();
            let mut pick = |k: u64| -> f32 {
                if (r >> (k * 3)) & 7 == 0 {
                    special[((r >> (k * 5 + 20)) % special.len() as u64) as usize]
                } else {
                    // Values with nearby exponents make cancellation and ties likely.
                    let bits = (next() as u32 & 0x807f_ffff)
                        | ((((next() >> 40) % 24) as u32 + 115) << 23);
                    f32::from_bits(bits)
                }
            };
            let (a, b, c) = (pick(0), pick(1), pick(2));
            let want = a.mul_add(b, c);
            let got = fma32(a, b, c);
            assert!(
                got.to_bits() == want.to_bits() || (got.is_nan() && want.is_nan()),
                "case {i}: fma({a:e}, {b:e}, {c:e}) = {got:e}, want {want:e}"
            );
        }
        // A double-rounding trap: the f64 sum lands exactly on an f32 midpoint.
        let a = 1.0f32 + f32::EPSILON;
        let b = 1.0f32 + f32::EPSILON / 2.0f32.powi(0);
        let c = -1.0f32;
        assert_eq!(fma32(a, b, c).to_bits(), a.mul_add(b, c).to_bits());
    }

    #[test]
    fn f16_round_trip_and_rounding() {
        for b in [
            0u16, 0x3c00, 0xbc00, 0x0001, 0x03ff, 0x0400, 0x7bff, 0x7c00, 0xfc00,
        ] {
            assert_eq!(f64_to_small(f16_to_f64(b), 5, 10), b, "{b:#x}");
        }
        // 1 + 2^-11 is a tie between 1 and 1+2^-10: rounds to even (1).
        assert_eq!(f64_to_small(1.0 + 2f64.powi(-11), 5, 10), 0x3c00);
        assert_eq!(f64_to_small(1.0 + 3.0 * 2f64.powi(-11), 5, 10), 0x3c02);
        assert_eq!(f64_to_small(65520.0, 5, 10), 0x7c00);
        assert_eq!(f64_to_small(65519.0, 5, 10), 0x7bff);
        assert_eq!(f64_to_small(f64::NAN, 5, 10), 0x7fff);
    }

    #[test]
    fn bf16_rounding() {
        assert_eq!(f64_to_small(1.0, 8, 7), 0x3f80);
        assert_eq!(f64_to_small(bf16_to_f64(0x4049), 8, 7), 0x4049);
        assert_eq!(f64_to_small(-2.0, 8, 7), 0xc000);
        assert_eq!(f64_to_small(f32::MAX as f64 * 2.0, 8, 7), 0x7f80);
    }

    #[test]
    fn ftz_and_canonical_nan() {
        assert_eq!(ftz32(f32::from_bits(0x8000_0001)).to_bits(), 0x8000_0000);
        assert_eq!(ftz32(1.0), 1.0);
        assert_eq!(canon32(f32::NAN), 0x7fff_ffff);
    }
}
