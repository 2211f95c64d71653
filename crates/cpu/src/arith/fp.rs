//! Floating-point formats as bit patterns, and exact arithmetic in any rounding mode.
//!
//! Round-to-nearest conversions that run in hot loops (f16/bf16 ↔ f32) are bit manipulations
//! here; everything with a directed rounding mode goes through `rustc_apfloat`, which
//! implements IEEE 754 arithmetic exactly for every rounding mode and format.

use super::{Rnd, NAN_BF16, NAN_F16, NAN_F32, NAN_F64};
use rustc_apfloat::ieee::{BFloat, Double, Float8E4M3FN, Float8E5M2, Half, Single};
use rustc_apfloat::{Float, FloatConvert, Round};

/// A binary floating-point format the PTX ALU computes in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Fmt {
    /// IEEE binary16 (`.f16`).
    F16,
    /// bfloat16 (`.bf16`): f32's exponent, 7 fraction bits.
    BF16,
    /// IEEE binary32 (`.f32`).
    F32,
    /// IEEE binary64 (`.f64`).
    F64,
    /// fp8 `.e4m3` (no infinities; `0x7F`/`0xFF` are NaN).
    E4M3,
    /// fp8 `.e5m2`.
    E5M2,
}

impl Fmt {
    /// Width in bits.
    pub const fn bits(self) -> u32 {
        match self {
            Fmt::F16 | Fmt::BF16 => 16,
            Fmt::F32 => 32,
            Fmt::F64 => 64,
            Fmt::E4M3 | Fmt::E5M2 => 8,
        }
    }

    /// Number of stored fraction bits.
    pub const fn frac_bits(self) -> u32 {
        match self {
            Fmt::F16 => 10,
            Fmt::BF16 => 7,
            Fmt::F32 => 23,
            Fmt::F64 => 52,
            Fmt::E4M3 => 3,
            Fmt::E5M2 => 2,
        }
    }

    /// The NaN the GPU produces in this format.
    pub const fn nan(self) -> u64 {
        match self {
            Fmt::F16 => NAN_F16 as u64,
            Fmt::BF16 => NAN_BF16 as u64,
            Fmt::F32 => NAN_F32 as u64,
            Fmt::F64 => NAN_F64,
            Fmt::E4M3 | Fmt::E5M2 => 0x7F,
        }
    }

    /// The sign bit.
    pub const fn sign(self) -> u64 {
        1u64 << (self.bits() - 1)
    }

    /// Every bit but the sign.
    pub const fn abs_mask(self) -> u64 {
        self.sign() - 1
    }

    /// The bit pattern of +∞ (for `.e4m3`, which has none: its NaN).
    pub const fn inf(self) -> u64 {
        match self {
            Fmt::E4M3 => 0x7F,
            _ => self.abs_mask() & !((1u64 << self.frac_bits()) - 1),
        }
    }

    /// Largest finite magnitude.
    pub const fn max_finite(self) -> u64 {
        match self {
            Fmt::E4M3 => 0x7E,
            _ => self.inf() - 1,
        }
    }

    /// The bits of +1.0.
    pub const fn one(self) -> u64 {
        let bias = (1u64 << (self.bits() - self.frac_bits() - 2)) - 1;
        bias << self.frac_bits()
    }

    pub fn is_nan(self, x: u64) -> bool {
        match self {
            Fmt::E4M3 => x & 0x7F == 0x7F,
            _ => x & self.abs_mask() > self.inf(),
        }
    }

    pub fn is_inf(self, x: u64) -> bool {
        self != Fmt::E4M3 && x & self.abs_mask() == self.inf()
    }

    pub fn is_zero(self, x: u64) -> bool {
        x & self.abs_mask() == 0
    }

    pub fn is_neg(self, x: u64) -> bool {
        x & self.sign() != 0
    }

    /// Nonzero with a zero exponent field.
    pub fn is_subnormal(self, x: u64) -> bool {
        let a = x & self.abs_mask();
        a != 0 && a < (1u64 << self.frac_bits())
    }

    /// `.ftz`: a subnormal becomes a zero of the same sign.
    #[inline]
    pub fn flush(self, x: u64) -> u64 {
        if self.is_subnormal(x) {
            x & self.sign()
        } else {
            x
        }
    }

    /// `.sat`: clamp to [+0.0, 1.0]; NaN and negative values (−0.0 included) become +0.0.
    #[inline]
    pub fn saturate(self, x: u64) -> u64 {
        if self.is_nan(x) || self.is_neg(x) {
            0
        } else if x > self.one() {
            self.one()
        } else {
            x
        }
    }

    /// `.relu`: negative values become +0.0; NaN becomes the canonical NaN.
    #[inline]
    pub fn relu(self, x: u64) -> u64 {
        if self.is_nan(x) {
            self.nan()
        } else if self.is_neg(x) {
            0
        } else {
            x
        }
    }

    /// Any NaN becomes this format's canonical NaN.
    #[inline]
    pub fn canon(self, x: u64) -> u64 {
        if self.is_nan(x) {
            self.nan()
        } else {
            x
        }
    }

    /// Exact value as f64 (`None` for NaN). Every format here but f64 embeds exactly.
    pub fn to_f64(self, x: u64) -> f64 {
        match self {
            Fmt::F64 => f64::from_bits(x),
            Fmt::F32 => f32::from_bits(x as u32) as f64,
            Fmt::F16 => f16_to_f32(x as u16) as f64,
            Fmt::BF16 => f32::from_bits((x as u32) << 16) as f64,
            Fmt::E4M3 | Fmt::E5M2 => {
                let mut lost = false;
                with_fmt!(self, F => {
                    let v: Double = F::from_bits(x as u128).convert(&mut lost).value;
                    f64::from_bits(v.to_bits() as u64)
                })
            }
        }
    }
}

/// Runs `$body` with `$F` bound to the `rustc_apfloat` type of `$fmt`.
macro_rules! with_fmt {
    ($fmt:expr, $F:ident => $body:expr) => {
        match $fmt {
            Fmt::F16 => {
                type $F = Half;
                $body
            }
            Fmt::BF16 => {
                type $F = BFloat;
                $body
            }
            Fmt::F32 => {
                type $F = Single;
                $body
            }
            Fmt::F64 => {
                type $F = Double;
                $body
            }
            Fmt::E4M3 => {
                type $F = Float8E4M3FN;
                $body
            }
            Fmt::E5M2 => {
                type $F = Float8E5M2;
                $body
            }
        }
    };
}
pub(crate) use with_fmt;

/// The `rustc_apfloat` rounding mode of `r`.
pub fn round_of(r: Rnd) -> Round {
    match r {
        Rnd::Rn => Round::NearestTiesToEven,
        Rnd::Rz => Round::TowardZero,
        Rnd::Rm => Round::TowardNegative,
        Rnd::Rp => Round::TowardPositive,
        Rnd::Rna => Round::NearestTiesToAway,
    }
}

fn out<F: Float>(fmt: Fmt, v: F) -> u64 {
    if v.is_nan() {
        fmt.nan()
    } else {
        v.to_bits() as u64
    }
}

/// `a + b` in `fmt`, exactly rounded by `r`.
pub fn soft_add(fmt: Fmt, a: u64, b: u64, r: Rnd) -> u64 {
    with_fmt!(fmt, F => out(fmt, F::from_bits(a as u128).add_r(F::from_bits(b as u128), round_of(r)).value))
}

/// `a - b` in `fmt`, exactly rounded by `r`.
pub fn soft_sub(fmt: Fmt, a: u64, b: u64, r: Rnd) -> u64 {
    with_fmt!(fmt, F => out(fmt, F::from_bits(a as u128).sub_r(F::from_bits(b as u128), round_of(r)).value))
}

/// `a * b` in `fmt`, exactly rounded by `r`.
pub fn soft_mul(fmt: Fmt, a: u64, b: u64, r: Rnd) -> u64 {
    with_fmt!(fmt, F => out(fmt, F::from_bits(a as u128).mul_r(F::from_bits(b as u128), round_of(r)).value))
}

/// `a / b` in `fmt`, exactly rounded by `r`.
pub fn soft_div(fmt: Fmt, a: u64, b: u64, r: Rnd) -> u64 {
    with_fmt!(fmt, F => out(fmt, F::from_bits(a as u128).div_r(F::from_bits(b as u128), round_of(r)).value))
}

/// `a * b + c` with one rounding by `r`.
pub fn soft_fma(fmt: Fmt, a: u64, b: u64, c: u64, r: Rnd) -> u64 {
    with_fmt!(fmt, F => out(fmt, F::from_bits(a as u128).mul_add_r(
        F::from_bits(b as u128), F::from_bits(c as u128), round_of(r)).value))
}

/// `a` rounded to an integral value of the same format.
pub fn soft_round_int(fmt: Fmt, a: u64, r: Rnd) -> u64 {
    with_fmt!(fmt, F => out(fmt, F::from_bits(a as u128).round_to_integral(round_of(r)).value))
}

/// `a` (format `from`) converted to format `to`, rounded by `r`.
pub fn soft_convert(from: Fmt, to: Fmt, a: u64, r: Rnd) -> u64 {
    with_fmt!(from, A => with_fmt!(to, B => {
        let mut lost = false;
        let v: B = A::from_bits(a as u128).convert_r(round_of(r), &mut lost).value;
        out(to, v)
    }))
}

/// The integer `v` converted to `fmt`, rounded by `r`.
pub fn soft_from_int(fmt: Fmt, v: i128, r: Rnd) -> u64 {
    with_fmt!(fmt, F => out(fmt, F::from_i128_r(v, round_of(r)).value))
}

/// f64 bits converted to `fmt` (canonical NaN for NaN), rounded by `r`.
pub fn from_f64(fmt: Fmt, x: u64, r: Rnd) -> u64 {
    match (fmt, r) {
        (Fmt::F64, _) => Fmt::F64.canon(x),
        (Fmt::F32, _) => f64_to_f32_bits(x, r) as u64,
        _ => soft_convert(Fmt::F64, fmt, x, r),
    }
}

/// f64 bits converted to f32 bits, rounded by `r` (canonical NaN for NaN).
#[inline]
pub fn f64_to_f32_bits(x: u64, r: Rnd) -> u32 {
    let f = f64::from_bits(x);
    if f.is_nan() {
        return NAN_F32;
    }
    if r == Rnd::Rn {
        (f as f32).to_bits()
    } else {
        soft_convert(Fmt::F64, Fmt::F32, x, r) as u32
    }
}

/// Exact f16 → f32 (NaN becomes the canonical f32 NaN).
#[inline]
pub fn f16_to_f32(h: u16) -> f32 {
    let sign = ((h as u32) & 0x8000) << 16;
    let exp = ((h >> 10) & 0x1F) as u32;
    let man = (h & 0x3FF) as u32;
    match exp {
        0 => {
            let v = man as f32 * (1.0 / 16_777_216.0);
            f32::from_bits(v.to_bits() | sign)
        }
        31 if man != 0 => f32::from_bits(NAN_F32),
        31 => f32::from_bits(sign | 0x7F80_0000),
        _ => f32::from_bits(sign | ((exp + 112) << 23) | (man << 13)),
    }
}

/// Exact bf16 → f32 (NaN becomes the canonical f32 NaN).
#[inline]
pub fn bf16_to_f32(h: u16) -> f32 {
    let f = f32::from_bits((h as u32) << 16);
    if f.is_nan() {
        f32::from_bits(NAN_F32)
    } else {
        f
    }
}

/// f32 → f16 rounded to nearest even (canonical NaN for NaN).
#[inline]
pub fn f32_to_f16_rn(x: f32) -> u16 {
    let u = x.to_bits();
    let sign = ((u >> 16) & 0x8000) as u16;
    let a = u & 0x7FFF_FFFF;
    if a > 0x7F80_0000 {
        return NAN_F16;
    }
    // 65520 is halfway between the largest f16 (65504) and 2^16; the tie goes to even, ∞.
    if a >= 0x477F_F000 {
        return sign | 0x7C00;
    }
    if a < 0x3880_0000 {
        // Below 2^-14: subnormal in f16, a multiple of 2^-24 (exact scaling in f32).
        let k = (f32::from_bits(a) * 16_777_216.0).round_ties_even() as u16;
        return sign | k;
    }
    let r = a + 0xFFF + ((a >> 13) & 1);
    sign | ((r >> 13) - (112 << 10)) as u16
}

/// f32 → bf16 rounded to nearest even (canonical NaN for NaN).
#[inline]
pub fn f32_to_bf16_rn(x: f32) -> u16 {
    let u = x.to_bits();
    if u & 0x7FFF_FFFF > 0x7F80_0000 {
        return NAN_BF16;
    }
    ((u + 0x7FFF + ((u >> 16) & 1)) >> 16) as u16
}

/// f64 → f16 rounded to nearest even. Double rounding through f32 would be wrong, so values
/// that are not exact in f32 take the exact path.
#[inline]
pub fn f64_to_f16_rn(x: f64) -> u16 {
    let f = x as f32;
    if f as f64 == x {
        f32_to_f16_rn(f)
    } else {
        soft_convert(Fmt::F64, Fmt::F16, x.to_bits(), Rnd::Rn) as u16
    }
}

/// f64 → bf16 rounded to nearest even (exact path when not exact in f32).
#[inline]
pub fn f64_to_bf16_rn(x: f64) -> u16 {
    let f = x as f32;
    if f as f64 == x {
        f32_to_bf16_rn(f)
    } else {
        soft_convert(Fmt::F64, Fmt::BF16, x.to_bits(), Rnd::Rn) as u16
    }
}

/// `p + z` rounded to odd in f64: the rounded sum, moved to its odd neighbour when inexact.
/// Rounding that once more to any format with at most 51 significant bits gives the
/// correctly rounded sum (a tie in the narrow format can no longer be faked by a lost term).
#[inline]
pub fn round_to_odd_sum(p: f64, z: f64) -> f64 {
    let s = p + z;
    if !s.is_finite() {
        return s;
    }
    // TwoSum: the exact error of the addition.
    let pp = s - z;
    let zz = s - pp;
    let e = (p - pp) + (z - zz);
    let bits = s.to_bits();
    if e == 0.0 || bits & 1 == 1 {
        return s;
    }
    // Step one ulp towards the exact value (magnitude up if e has s's sign).
    let away = (e > 0.0) == (s > 0.0);
    f64::from_bits(if away { bits + 1 } else { bits - 1 })
}

/// IEEE 754 tininess "after rounding", which the GPU's `.ftz` uses: `x` (exact, or rounded to
/// odd) is nonzero and, rounded by `r` to `fmt`'s precision with an unbounded exponent range,
/// still below the smallest normal in magnitude.
pub fn tiny_after_rounding(fmt: Fmt, x: f64, r: Rnd) -> bool {
    let emin = match fmt {
        Fmt::F16 => 14,
        Fmt::BF16 | Fmt::F32 => 126,
        _ => return false,
    };
    if x == 0.0 || !x.is_finite() {
        return false;
    }
    // Rounding the magnitude: directed modes swap for negative values.
    let r = match (r, x < 0.0) {
        (Rnd::Rm, true) => Rnd::Rp,
        (Rnd::Rp, true) => Rnd::Rm,
        (m, _) => m,
    };
    // Scale the smallest normal to 1.0 (a power of two: exact) and round in the normal range.
    let s = x.abs() * 2f64.powi(emin);
    from_f64(fmt, s.to_bits(), r) < fmt.one()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn f16_roundtrip_every_pattern() {
        for h in 0..=u16::MAX {
            let f = f16_to_f32(h);
            let want = soft_convert(Fmt::F16, Fmt::F32, h as u64, Rnd::Rn) as u32;
            assert_eq!(f.to_bits(), want, "{h:#x}");
            if !f.is_nan() {
                assert_eq!(f32_to_f16_rn(f), h);
            }
        }
    }

    #[test]
    fn bf16_roundtrip_every_pattern() {
        for h in 0..=u16::MAX {
            let f = bf16_to_f32(h);
            let want = soft_convert(Fmt::BF16, Fmt::F32, h as u64, Rnd::Rn) as u32;
            assert_eq!(f.to_bits(), want, "{h:#x}");
        }
    }

    #[test]
    fn format_constants() {
        assert_eq!(Fmt::F32.one(), 0x3F80_0000);
        assert_eq!(Fmt::F16.one(), 0x3C00);
        assert_eq!(Fmt::BF16.one(), 0x3F80);
        assert_eq!(Fmt::F64.one(), 1.0f64.to_bits());
        assert_eq!(Fmt::F16.inf(), 0x7C00);
        assert_eq!(Fmt::E5M2.inf(), 0x7C);
        assert_eq!(Fmt::E4M3.max_finite(), 0x7E);
        assert_eq!(Fmt::E4M3.to_f64(0x7E), 448.0);
        assert_eq!(Fmt::E5M2.to_f64(0x7B), 57344.0);
    }

    proptest! {
        #[test]
        fn f32_to_f16_matches_apfloat(u in any::<u32>()) {
            let want = soft_convert(Fmt::F32, Fmt::F16, u as u64, Rnd::Rn) as u16;
            prop_assert_eq!(f32_to_f16_rn(f32::from_bits(u)), want);
        }

        #[test]
        fn f32_to_bf16_matches_apfloat(u in any::<u32>()) {
            let want = soft_convert(Fmt::F32, Fmt::BF16, u as u64, Rnd::Rn) as u16;
            prop_assert_eq!(f32_to_bf16_rn(f32::from_bits(u)), want);
        }

        #[test]
        fn f64_to_half_matches_apfloat(u in any::<u64>()) {
            let x = f64::from_bits(u);
            prop_assert_eq!(f64_to_f16_rn(x) as u64, soft_convert(Fmt::F64, Fmt::F16, u, Rnd::Rn));
            prop_assert_eq!(f64_to_bf16_rn(x) as u64, soft_convert(Fmt::F64, Fmt::BF16, u, Rnd::Rn));
        }
    }
}
