//! `cvt`: every conversion between integer and floating-point types, with rounding,
//! `.ftz`, `.sat`, `.relu` and `.satfinite`; packed `f16x2`/`bf16x2`/fp8x2 results; `tf32`.
//!
//! Float → integer rounds with `.rni .rzi .rmi .rpi` and saturates to the destination range;
//! NaN gives 0 as PTX defines, except where the GPU gives the top bit (see [`float_to_int`]). Signed integer results are returned sign-extended to 64
//! bits, so a narrow `.s8`/`.s16` result widens correctly into a larger register.

use super::fp::{self, Fmt};
use super::int::{mask, val};
use super::lower::{f1, f2, unsupported};
use super::{Alu, ArithError, Rnd};
use ferrocuda_ptx::ir::{self, Modifier as M, Rounding, ScalarType as T};

/// Result modifiers of a conversion to a float type.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FloatOpts {
    /// `.ftz`: flush f32 subnormal inputs and f32 subnormal results.
    pub ftz: bool,
    /// `.sat`: clamp to [0.0, 1.0] (NaN → +0.0).
    pub sat: bool,
    /// `.relu`: negative results become +0.0.
    pub relu: bool,
    /// `.satfinite`: infinities and overflow become the largest finite value of that sign.
    pub satfinite: bool,
}

/// Integer rounding of float → integer and float → integral-float conversions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IntRnd {
    /// `.rni`: nearest, ties to even.
    Nearest,
    /// `.rzi`: towards zero.
    Zero,
    /// `.rmi`: towards −∞.
    Down,
    /// `.rpi`: towards +∞.
    Up,
}

#[inline]
fn round_f64(x: f64, r: IntRnd) -> f64 {
    match r {
        IntRnd::Nearest => x.round_ties_even(),
        IntRnd::Zero => x.trunc(),
        IntRnd::Down => x.floor(),
        IntRnd::Up => x.ceil(),
    }
}

/// Integer → integer: sign- or zero-extends from the source type, truncates to the
/// destination, or with `sat` clamps the source value into the destination range.
#[inline]
pub fn int_to_int(a: u64, sw: u32, ss: bool, dw: u32, ds: bool, sat: bool) -> u64 {
    let v = val(a, sw, ss);
    let v = if sat {
        let (lo, hi) = range(dw, ds);
        v.clamp(lo, hi)
    } else {
        v
    };
    int_result(v, dw, ds)
}

/// The range of a `w`-bit integer type.
#[inline]
fn range(w: u32, signed: bool) -> (i128, i128) {
    if signed {
        (-(1i128 << (w - 1)), (1i128 << (w - 1)) - 1)
    } else {
        (0, (1i128 << w) - 1)
    }
}

/// The bits of an integer result: truncated to `w`, then sign-extended to 64 bits if signed.
#[inline]
fn int_result(v: i128, w: u32, signed: bool) -> u64 {
    let bits = v as u64 & mask(w);
    if signed {
        super::int::sext(bits, w) as u64
    } else {
        bits
    }
}

/// Float (format `src`) → integer of `dw` bits: rounded by `r`, saturated to the destination
/// range. NaN gives what the GPU's conversion units give (observed on sm_90): the top bit of
/// the destination for 64-bit destinations and for any f64 source, 0 otherwise.
#[inline]
pub fn float_to_int(src: Fmt, a: u64, r: IntRnd, ftz: bool, dw: u32, ds: bool) -> u64 {
    let a = if ftz && src == Fmt::F32 {
        src.flush(a)
    } else {
        a
    };
    let x = src.to_f64(a);
    if x.is_nan() {
        return nan_to_int(src, dw, ds);
    }
    let v = round_f64(x, r) as i128; // saturating; exact for every in-range value
    let (lo, hi) = range(dw, ds);
    int_result(v.clamp(lo, hi), dw, ds)
}

/// Integer → float of format `dst`, rounded by `r` (then `.sat`).
#[inline]
pub fn int_to_float(a: u64, sw: u32, ss: bool, dst: Fmt, r: Rnd, sat: bool) -> u64 {
    let v = val(a, sw, ss);
    let bits = match (dst, r) {
        (Fmt::F64, Rnd::Rn) => (v as f64).to_bits(),
        (Fmt::F32, Rnd::Rn) => (v as f32).to_bits() as u64,
        _ => fp::soft_from_int(dst, v, r),
    };
    if sat {
        dst.saturate(bits)
    } else {
        bits
    }
}

/// The integer a NaN converts to (see [`float_to_int`]): the top bit alone (sign-extended for
/// signed types) from f64 and into 64-bit types, 0 otherwise.
#[inline]
fn nan_to_int(src: Fmt, dw: u32, ds: bool) -> u64 {
    if src == Fmt::F64 || dw == 64 {
        int_result(1i128 << (dw - 1), dw, ds)
    } else {
        0
    }
}

/// The NaN a conversion produces from the NaN `a` (observed on sm_90): conversions to or
/// from f64 keep the sign and the top of the payload and set the quiet bit; bf16 → f32 is a
/// plain shift; the others give the destination's canonical NaN.
#[inline]
pub fn convert_nan(src: Fmt, dst: Fmt, a: u64) -> u64 {
    let frac = a & ((1u64 << src.frac_bits()) - 1);
    let neg = src.is_neg(a);
    let keep = |frac: u64| {
        let quiet = 1u64 << (dst.frac_bits() - 1);
        (neg as u64 * dst.sign()) | dst.inf() | quiet | frac
    };
    match (src, dst) {
        (Fmt::F64, Fmt::F64) => a | (1 << 51),
        (s, Fmt::F64) if s != Fmt::E4M3 && s != Fmt::E5M2 => keep(frac << (52 - s.frac_bits())),
        (Fmt::F64, Fmt::F32 | Fmt::F16 | Fmt::BF16) => keep(frac >> (52 - dst.frac_bits())),
        (Fmt::BF16, Fmt::F32) => a << 16,
        _ => dst.nan(),
    }
}

/// Float → float between formats, rounded by `r` (NaN as [`convert_nan`] says).
#[inline]
pub fn float_to_float(src: Fmt, dst: Fmt, a: u64, r: Rnd, o: FloatOpts) -> u64 {
    let a = if o.ftz && src == Fmt::F32 {
        src.flush(a)
    } else {
        a
    };
    if src.is_nan(a) {
        // With .ftz an f32 NaN is canonicalised on the way in (GPU-observed).
        let a = if o.ftz && src == Fmt::F32 {
            src.nan()
        } else {
            a
        };
        return finish(dst, convert_nan(src, dst, a), o);
    }
    if o.satfinite && matches!(dst, Fmt::E4M3 | Fmt::E5M2) {
        // Clamp before rounding: fp8 rounding past the top has no infinity to land on.
        let x = src.to_f64(a);
        let max = dst.to_f64(dst.max_finite());
        if x.abs() > max {
            return finish(dst, dst.max_finite() | ((x < 0.0) as u64 * dst.sign()), o);
        }
    }
    let bits = match (src, dst) {
        (s, d) if s == d => a,
        (Fmt::F16, Fmt::F32) => fp::f16_to_f32(a as u16).to_bits() as u64,
        (Fmt::BF16, Fmt::F32) => fp::bf16_to_f32(a as u16).to_bits() as u64,
        (Fmt::F32, Fmt::F64) => (f32::from_bits(a as u32) as f64).to_bits(),
        (Fmt::F32, Fmt::F16) if r == Rnd::Rn => fp::f32_to_f16_rn(f32::from_bits(a as u32)) as u64,
        (Fmt::F32, Fmt::BF16) if r == Rnd::Rn => {
            fp::f32_to_bf16_rn(f32::from_bits(a as u32)) as u64
        }
        (Fmt::F64, Fmt::F32) => fp::f64_to_f32_bits(a, r) as u64,
        _ => fp::soft_convert(src, dst, a, r),
    };
    let bits = if o.satfinite && dst.is_inf(bits) {
        dst.max_finite() | (bits & dst.sign())
    } else {
        bits
    };
    finish(dst, bits, o)
}

/// Result modifiers: `.ftz` (f32 results), `.sat`, `.relu`.
#[inline]
fn finish(dst: Fmt, bits: u64, o: FloatOpts) -> u64 {
    let bits = if o.ftz && dst == Fmt::F32 {
        dst.flush(bits)
    } else {
        bits
    };
    let bits = if o.sat { dst.saturate(bits) } else { bits };
    if o.relu {
        dst.relu(bits)
    } else {
        bits
    }
}

/// Float → integral value in the same format (`cvt.rni.f32.f32` and friends).
#[inline]
pub fn round_to_int(fmt: Fmt, a: u64, r: IntRnd, o: FloatOpts) -> u64 {
    let a = if o.ftz && fmt == Fmt::F32 {
        fmt.flush(a)
    } else {
        a
    };
    if fmt.is_nan(a) {
        return finish(fmt, convert_nan(fmt, fmt, a), o);
    }
    let bits = match fmt {
        Fmt::F32 => (round_f64(f32::from_bits(a as u32) as f64, r) as f32).to_bits() as u64,
        Fmt::F64 => round_f64(f64::from_bits(a), r).to_bits(),
        _ => {
            let m = match r {
                IntRnd::Nearest => Rnd::Rn,
                IntRnd::Zero => Rnd::Rz,
                IntRnd::Down => Rnd::Rm,
                IntRnd::Up => Rnd::Rp,
            };
            fp::soft_round_int(fmt, a, m)
        }
    };
    finish(fmt, bits, o)
}

/// `cvt.rna.tf32.f32` (and `.rn`/`.rz`): rounds to 10 fraction bits, returned as an f32 bit
/// pattern with the low 13 bits zero.
#[inline]
pub fn f32_to_tf32(a: u32, r: Rnd, o: FloatOpts) -> u32 {
    if a & 0x7FFF_FFFF > 0x7F80_0000 {
        // The GPU clears the low 13 bits of a NaN (which can leave an infinity).
        return a & !0x1FFF;
    }
    let sign = a & 0x8000_0000;
    let neg = sign != 0;
    let lsb = (a >> 13) & 1;
    let inc = match r {
        Rnd::Rna => 0x1000,
        Rnd::Rn => 0xFFF + lsb,
        Rnd::Rz => 0,
        Rnd::Rp if !neg => 0x1FFF,
        Rnd::Rm if neg => 0x1FFF,
        Rnd::Rp | Rnd::Rm => 0,
    };
    let mag = a & 0x7FFF_FFFF;
    let mut bits = if mag == 0x7F80_0000 {
        mag
    } else {
        (mag + inc) & !0x1FFF
    };
    if o.satfinite && bits >= 0x7F80_0000 {
        bits = 0x7F7F_E000;
    }
    finish(
        Fmt::F32,
        (bits | sign) as u64,
        FloatOpts { ftz: false, ..o },
    ) as u32
}

fn fmt_of(t: T) -> Option<Fmt> {
    Some(match t {
        T::F16 | T::F16x2 => Fmt::F16,
        T::BF16 | T::BF16x2 => Fmt::BF16,
        T::F32 => Fmt::F32,
        T::F64 => Fmt::F64,
        T::E4M3 | T::E4M3x2 => Fmt::E4M3,
        T::E5M2 | T::E5M2x2 => Fmt::E5M2,
        _ => return None,
    })
}

fn is_pair(t: T) -> bool {
    matches!(t, T::F16x2 | T::BF16x2 | T::E4M3x2 | T::E5M2x2)
}

fn int_of(t: T) -> Option<(u32, bool)> {
    match t {
        T::U8 | T::U16 | T::U32 | T::U64 | T::B8 | T::B16 | T::B32 | T::B64 => {
            Some((t.bits(), false))
        }
        T::S8 | T::S16 | T::S32 | T::S64 => Some((t.bits(), true)),
        _ => None,
    }
}

/// Lowers `cvt.dtype.atype` (F1; F2 for the two-source packing forms, `a` to the upper half).
pub(super) fn lower(inst: &ir::Instruction) -> Result<Alu, ArithError> {
    let (dt, st) = match inst.types[..] {
        [d, s] => (d, s),
        _ => return Err(ArithError::Malformed("cvt needs two types".into())),
    };
    let o = FloatOpts {
        ftz: inst.has(M::Ftz),
        sat: inst.has(M::Sat),
        relu: inst.has(M::Relu),
        satfinite: inst.has(M::Hint("satfinite".into())),
    };
    let (frnd, irnd) = match inst.rounding() {
        None => (None, None),
        Some(Rounding::Rn) => (Some(Rnd::Rn), None),
        Some(Rounding::Rz) => (Some(Rnd::Rz), None),
        Some(Rounding::Rm) => (Some(Rnd::Rm), None),
        Some(Rounding::Rp) => (Some(Rnd::Rp), None),
        Some(Rounding::Rna) => (Some(Rnd::Rna), None),
        Some(Rounding::Rni) => (None, Some(IntRnd::Nearest)),
        Some(Rounding::Rzi) => (None, Some(IntRnd::Zero)),
        Some(Rounding::Rmi) => (None, Some(IntRnd::Down)),
        Some(Rounding::Rpi) => (None, Some(IntRnd::Up)),
        Some(Rounding::Rs) => return Err(unsupported(inst, "stochastic rounding")),
    };
    let r = frnd.unwrap_or(Rnd::Rn);

    // f32 → tf32.
    if dt == T::TF32 {
        if st != T::F32 {
            return Err(unsupported(inst, "tf32 from a type other than f32"));
        }
        return Ok(f1(move |a| f32_to_tf32(a as u32, r, o) as u64));
    }

    match (int_of(dt), int_of(st), fmt_of(dt), fmt_of(st)) {
        (Some((dw, ds)), Some((sw, ss)), _, _) => {
            let sat = o.sat;
            Ok(f1(move |a| int_to_int(a, sw, ss, dw, ds, sat)))
        }
        (Some((dw, ds)), None, _, Some(src)) if !is_pair(st) => {
            let ir = irnd.unwrap_or(IntRnd::Zero);
            let ftz = o.ftz;
            Ok(match (src, ir, dw, ds, ftz) {
                (Fmt::F32, IntRnd::Zero, 32, true, false) => {
                    f1(|a| f32::from_bits(a as u32) as i32 as i64 as u64)
                }
                (Fmt::F32, IntRnd::Zero, 32, false, false) => {
                    f1(|a| f32::from_bits(a as u32) as u32 as u64)
                }
                _ => f1(move |a| float_to_int(src, a, ir, ftz, dw, ds)),
            })
        }
        (None, Some((sw, ss)), Some(dst), None) if !is_pair(dt) => {
            let sat = o.sat;
            Ok(match (dst, r, sw, ss, sat) {
                (Fmt::F32, Rnd::Rn, 32, true, false) => {
                    f1(|a| (a as u32 as i32 as f32).to_bits() as u64)
                }
                (Fmt::F32, Rnd::Rn, 32, false, false) => f1(|a| (a as u32 as f32).to_bits() as u64),
                _ => f1(move |a| int_to_float(a, sw, ss, dst, r, sat)),
            })
        }
        (None, None, Some(dst), Some(src)) => match (is_pair(dt), is_pair(st)) {
            (false, false) => {
                if let Some(ir) = irnd {
                    if src != dst {
                        return Err(unsupported(inst, "integer rounding between formats"));
                    }
                    return Ok(f1(move |a| round_to_int(src, a, ir, o)));
                }
                Ok(match (src, dst, o == FloatOpts::default()) {
                    (Fmt::F16, Fmt::F32, true) => f1(|a| fp::f16_to_f32(a as u16).to_bits() as u64),
                    (Fmt::F32, Fmt::F16, true) if r == Rnd::Rn => {
                        f1(|a| fp::f32_to_f16_rn(f32::from_bits(a as u32)) as u64)
                    }
                    _ => f1(move |a| float_to_float(src, dst, a, r, o)),
                })
            }
            // Two scalars packed into one register: a → upper half, b → lower half.
            (true, false) if inst.operands.len() >= 3 => {
                let w = dst.bits();
                Ok(f2(move |a, b| {
                    let hi = float_to_float(src, dst, a, r, o);
                    let lo = float_to_float(src, dst, b, r, o);
                    (hi << w) | lo
                }))
            }
            // Packed → packed (fp8x2 ↔ f16x2): each half converted.
            (true, true) => {
                let (sw, dw) = (src.bits(), dst.bits());
                Ok(f1(move |a| {
                    let lo = float_to_float(src, dst, a & mask(sw), r, o);
                    let hi = float_to_float(src, dst, (a >> sw) & mask(sw), r, o);
                    (hi << dw) | lo
                }))
            }
            _ => Err(unsupported(inst, "packed conversion form")),
        },
        _ => Err(unsupported(inst, "conversion between these types")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn int_widths() {
        assert_eq!(int_to_int(0xFF, 8, true, 32, true, false), u64::MAX);
        assert_eq!(int_to_int(0xFF, 8, false, 32, true, false), 0xFF);
        assert_eq!(int_to_int(0x1_2345, 32, false, 16, false, false), 0x2345);
        assert_eq!(int_to_int(0x1_2345, 32, false, 16, false, true), 0xFFFF);
        assert_eq!(int_to_int(0xFFFF_FFFF, 32, true, 16, false, true), 0);
        assert_eq!(int_to_int(0xFFFF_FFFF, 32, true, 8, true, true), u64::MAX);
        assert_eq!(
            int_to_int(0x8000_0000, 32, false, 32, true, true),
            0x7FFF_FFFF
        );
        assert_eq!(
            int_to_int(u64::MAX, 64, false, 64, true, true),
            i64::MAX as u64
        );
    }

    #[test]
    fn float_to_int_saturates() {
        let f = |x: f32| x.to_bits() as u64;
        assert_eq!(
            float_to_int(Fmt::F32, f(f32::NAN), IntRnd::Zero, false, 32, true),
            0
        );
        let nan64 = f64::NAN.to_bits();
        assert_eq!(
            float_to_int(Fmt::F64, nan64, IntRnd::Zero, false, 32, false),
            1 << 31
        );
        assert_eq!(
            float_to_int(Fmt::F32, f(f32::NAN), IntRnd::Zero, false, 64, false),
            1 << 63
        );
        assert_eq!(
            float_to_int(Fmt::F32, f(3e9), IntRnd::Zero, false, 32, true),
            i32::MAX as u64
        );
        assert_eq!(
            float_to_int(Fmt::F32, f(-3e9), IntRnd::Zero, false, 32, true),
            i32::MIN as i64 as u64
        );
        assert_eq!(
            float_to_int(Fmt::F32, f(-1.0), IntRnd::Zero, false, 32, false),
            0
        );
        assert_eq!(
            float_to_int(Fmt::F32, f(f32::INFINITY), IntRnd::Zero, false, 64, false),
            u64::MAX
        );
        assert_eq!(
            float_to_int(Fmt::F32, f(2.5), IntRnd::Nearest, false, 32, true),
            2
        );
        assert_eq!(
            float_to_int(Fmt::F32, f(-2.5), IntRnd::Down, false, 32, true),
            (-3i64) as u64
        );
        assert_eq!(
            float_to_int(Fmt::F32, f(2.1), IntRnd::Up, false, 32, true),
            3
        );
        assert_eq!(
            float_to_int(Fmt::F32, f(300.0), IntRnd::Zero, false, 8, false),
            255
        );
        assert_eq!(
            float_to_int(Fmt::F32, f(-300.0), IntRnd::Zero, false, 8, true),
            (-128i64) as u64
        );
        // −tiny rounds down to −1 unless .ftz flushes it first.
        assert_eq!(
            float_to_int(Fmt::F32, 0x8000_0001, IntRnd::Down, false, 32, true),
            u64::MAX
        );
        assert_eq!(
            float_to_int(Fmt::F32, 0x8000_0001, IntRnd::Down, true, 32, true),
            0
        );
        assert_eq!(
            float_to_int(Fmt::F64, 1e300f64.to_bits(), IntRnd::Zero, false, 64, true),
            i64::MAX as u64
        );
        assert_eq!(
            float_to_int(Fmt::F16, 0x3C00, IntRnd::Zero, false, 32, true),
            1
        );
    }

    #[test]
    fn int_to_float_rounding() {
        // 2^24 + 1 is not representable in f32.
        let v = (1u64 << 24) + 1;
        assert_eq!(
            int_to_float(v, 32, false, Fmt::F32, Rnd::Rn, false),
            (16_777_216f32).to_bits() as u64
        );
        assert_eq!(
            int_to_float(v, 32, false, Fmt::F32, Rnd::Rp, false),
            (16_777_218f32).to_bits() as u64
        );
        assert_eq!(
            int_to_float(u64::MAX, 64, false, Fmt::F32, Rnd::Rz, false),
            0x5F7F_FFFF
        );
        assert_eq!(
            int_to_float(u64::MAX, 64, true, Fmt::F16, Rnd::Rn, false),
            0xBC00
        );
        assert_eq!(
            int_to_float(70000, 32, false, Fmt::F16, Rnd::Rn, false),
            0x7C00
        );
        assert_eq!(
            int_to_float(70000, 32, false, Fmt::F16, Rnd::Rz, false),
            0x7BFF
        );
        assert_eq!(
            int_to_float(5, 32, true, Fmt::F32, Rnd::Rn, true),
            0x3F80_0000
        );
    }

    #[test]
    fn float_float_modifiers() {
        let o = FloatOpts::default();
        let big = 1e300f64.to_bits();
        assert_eq!(
            float_to_float(Fmt::F64, Fmt::F32, big, Rnd::Rn, o),
            0x7F80_0000
        );
        assert_eq!(
            float_to_float(Fmt::F64, Fmt::F32, big, Rnd::Rz, o),
            0x7F7F_FFFF
        );
        let sf = FloatOpts {
            satfinite: true,
            ..o
        };
        assert_eq!(
            float_to_float(Fmt::F32, Fmt::F16, 0x4780_0000, Rnd::Rn, sf),
            0x7BFF
        );
        let relu = FloatOpts { relu: true, ..o };
        assert_eq!(
            float_to_float(Fmt::F32, Fmt::F16, 0xBF80_0000, Rnd::Rn, relu),
            0
        );
        assert_eq!(
            float_to_float(Fmt::F32, Fmt::F16, 0x7FC0_0000, Rnd::Rn, relu),
            0x7FFF
        );
        let ftz = FloatOpts { ftz: true, ..o };
        assert_eq!(float_to_float(Fmt::F32, Fmt::F64, 1, Rnd::Rn, ftz), 0);
        assert_eq!(
            float_to_float(Fmt::F64, Fmt::F32, 1e-40f64.to_bits(), Rnd::Rn, ftz),
            0
        );
        // fp8 with .satfinite clamps to ±448 (e4m3) / ±57344 (e5m2).
        assert_eq!(
            float_to_float(Fmt::F32, Fmt::E4M3, 1000f32.to_bits() as u64, Rnd::Rn, sf),
            0x7E
        );
        assert_eq!(
            float_to_float(
                Fmt::F32,
                Fmt::E4M3,
                (-1000f32).to_bits() as u64,
                Rnd::Rn,
                sf
            ),
            0xFE
        );
        assert_eq!(
            float_to_float(
                Fmt::F32,
                Fmt::E5M2,
                f32::INFINITY.to_bits() as u64,
                Rnd::Rn,
                sf
            ),
            0x7B
        );
        assert_eq!(
            float_to_float(Fmt::F32, Fmt::E4M3, 1f32.to_bits() as u64, Rnd::Rn, sf),
            0x38
        );
        assert_eq!(
            float_to_float(Fmt::E4M3, Fmt::F16, 0x38, Rnd::Rn, o),
            0x3C00
        );
        // NaN conversions (GPU-observed).
        assert_eq!(
            convert_nan(Fmt::F32, Fmt::F64, 0xFFC0_1234),
            0xFFF8_0246_8000_0000
        );
        assert_eq!(
            convert_nan(Fmt::F64, Fmt::F32, 0xFFF8_0000_0000_1234),
            0xFFC0_0000
        );
        assert_eq!(
            convert_nan(Fmt::F16, Fmt::F64, 0x7FA3),
            0x7FFE_8C00_0000_0000
        );
        assert_eq!(
            convert_nan(Fmt::F64, Fmt::F16, 0x7FF0_0000_0000_0001),
            0x7E00
        );
        assert_eq!(convert_nan(Fmt::BF16, Fmt::F32, 0x7F81), 0x7F81_0000);
        assert_eq!(convert_nan(Fmt::F32, Fmt::F16, 0x7F81_0000), 0x7FFF);
        let sat = FloatOpts { sat: true, ..o };
        assert_eq!(
            float_to_float(Fmt::F32, Fmt::F16, 0x7FC0_0000, Rnd::Rn, sat),
            0
        );
    }

    #[test]
    fn integral_rounding_and_tf32() {
        let o = FloatOpts::default();
        assert_eq!(
            round_to_int(Fmt::F32, 2.5f32.to_bits() as u64, IntRnd::Nearest, o),
            2f32.to_bits() as u64
        );
        assert_eq!(
            round_to_int(Fmt::F32, (-2.5f32).to_bits() as u64, IntRnd::Up, o),
            (-2f32).to_bits() as u64
        );
        assert_eq!(round_to_int(Fmt::F16, 0x3E00, IntRnd::Nearest, o), 0x4000); // 1.5 → 2
        assert_eq!(f32_to_tf32(0x3F80_1000, Rnd::Rna, o), 0x3F80_2000);
        assert_eq!(f32_to_tf32(0x3F80_1000, Rnd::Rn, o), 0x3F80_0000);
        assert_eq!(f32_to_tf32(0x3F80_3000, Rnd::Rn, o), 0x3F80_4000);
        assert_eq!(f32_to_tf32(0x7F7F_FFFF, Rnd::Rna, o), 0x7F80_0000);
        assert_eq!(f32_to_tf32(0x7FFF_FFFF, Rnd::Rna, o), 0x7FFF_E000);
        assert_eq!(f32_to_tf32(0x7F80_0001, Rnd::Rna, o), 0x7F80_0000);
    }

    proptest! {
        #[test]
        fn f32_to_int_matches_reference(u in any::<u32>()) {
            let x = f32::from_bits(u);
            let want = if x.is_nan() { 0 } else { x.trunc() as i32 };
            prop_assert_eq!(float_to_int(Fmt::F32, u as u64, IntRnd::Zero, false, 32, true), want as i64 as u64);
            let want = if x.is_nan() { 1 << 63 } else { x.floor() as u64 };
            prop_assert_eq!(float_to_int(Fmt::F32, u as u64, IntRnd::Down, false, 64, false), want);
        }

        #[test]
        fn f64_to_f32_directed_matches_apfloat(u in any::<u64>()) {
            for r in [Rnd::Rn, Rnd::Rz, Rnd::Rm, Rnd::Rp] {
                let got = float_to_float(Fmt::F64, Fmt::F32, u, r, FloatOpts::default());
                let want = if Fmt::F64.is_nan(u) {
                    convert_nan(Fmt::F64, Fmt::F32, u)
                } else {
                    fp::soft_convert(Fmt::F64, Fmt::F32, u, r)
                };
                prop_assert_eq!(got, want);
            }
        }
    }
}
