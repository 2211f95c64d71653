//! `f32` and `f64` arithmetic: add/sub/mul/fma/mad/div/rcp/sqrt in every rounding mode, with
//! `.ftz` and `.sat`; abs/neg/min/max/copysign; and the `.approx` instructions
//! (rcp, sqrt, rsqrt, sin, cos, lg2, ex2, tanh, div).
//!
//! Round-to-nearest uses the host's IEEE arithmetic (bit-exact). Directed rounding of
//! add/sub/mul/div/fma goes through `rustc_apfloat`; directed `sqrt` rounds the nearest result
//! one ulp in the direction given by the sign of the exact residual `x − r²`.
//! The `.approx` instructions are evaluated in `f64` and rounded once: within PTX's documented
//! error bounds, but not the GPU's own approximation bit for bit.

use super::fp::{self, Fmt};
use super::lower::{f1, f2, f3, float_rnd, unsupported};
use super::{Alu, ArithError, Rnd, NAN_F32, NAN_F64};
use ferrocuda_ptx::ir::{self, Modifier as M, Opcode as O, ScalarType as T};

/// Canonical NaN for any f32 NaN.
#[inline]
pub fn canon32(x: u32) -> u32 {
    if x & 0x7FFF_FFFF > 0x7F80_0000 {
        NAN_F32
    } else {
        x
    }
}

#[inline]
fn isnan64(x: u64) -> bool {
    x & 0x7FFF_FFFF_FFFF_FFFF > 0x7FF0_0000_0000_0000
}

/// The quiet bit of an f64 NaN.
const QUIET64: u64 = 1 << 51;

/// The NaN rule of f64 arithmetic (observed on sm_90): a NaN result is a NaN operand, quieted
/// (sign and payload kept), or the generated NaN [`NAN_F64`] when no operand is NaN. `ops` lists
/// the operands in the order the GPU prefers them: `b, a` for add/sub/mul, `b, c, a` for fma,
/// `a, b` for div.
#[inline]
pub fn prop64(r: u64, ops: &[u64]) -> u64 {
    if !isnan64(r) {
        return r;
    }
    for &x in ops {
        if isnan64(x) {
            return x | QUIET64;
        }
    }
    NAN_F64
}

/// `.ftz` on an f32: subnormals become zeros of the same sign.
#[inline]
pub fn flush32(x: u32) -> u32 {
    if x & 0x7F80_0000 == 0 {
        x & 0x8000_0000
    } else {
        x
    }
}

/// `.ftz` on an f64.
#[inline]
pub fn flush64(x: u64) -> u64 {
    if x & 0x7FF0_0000_0000_0000 == 0 {
        x & 0x8000_0000_0000_0000
    } else {
        x
    }
}

#[inline]
fn in32(x: u32, ftz: bool) -> u32 {
    if ftz {
        flush32(x)
    } else {
        x
    }
}

/// Result post-processing: canonical NaN, then `.ftz`, then `.sat`.
#[inline]
fn out32(r: u32, ftz: bool, sat: bool) -> u32 {
    let r = canon32(r);
    let r = if ftz { flush32(r) } else { r };
    if sat {
        Fmt::F32.saturate(r as u64) as u32
    } else {
        r
    }
}

#[inline]
fn f(x: u32) -> f32 {
    f32::from_bits(x)
}

#[inline]
fn d(x: u64) -> f64 {
    f64::from_bits(x)
}

/// `.ftz` on a result that rounded to ±2^-126: flushed if the value was tiny after rounding
/// with an unbounded exponent (IEEE "after rounding" tininess, as the GPU detects it).
/// `exact` gives the exact result (or one rounded to odd) in f64; it runs only in that case.
#[inline]
fn ftz_edge(r: u32, ftz: bool, rnd: Rnd, exact: impl Fn() -> f64) -> u32 {
    if ftz && r & 0x7FFF_FFFF == 0x0080_0000 && fp::tiny_after_rounding(Fmt::F32, exact(), rnd) {
        r & 0x8000_0000
    } else {
        r
    }
}

/// `add{.rnd}{.ftz}{.sat}.f32`.
#[inline]
pub fn add_f32(a: u32, b: u32, rnd: Rnd, ftz: bool, sat: bool) -> u32 {
    let (a, b) = (in32(a, ftz), in32(b, ftz));
    let r = match rnd {
        Rnd::Rn => (f(a) + f(b)).to_bits(),
        _ => fp::soft_add(Fmt::F32, a as u64, b as u64, rnd) as u32,
    };
    let r = ftz_edge(r, ftz, rnd, || f(a) as f64 + f(b) as f64);
    out32(r, ftz, sat)
}

/// `sub{.rnd}{.ftz}{.sat}.f32`.
#[inline]
pub fn sub_f32(a: u32, b: u32, rnd: Rnd, ftz: bool, sat: bool) -> u32 {
    let (a, b) = (in32(a, ftz), in32(b, ftz));
    let r = match rnd {
        Rnd::Rn => (f(a) - f(b)).to_bits(),
        _ => fp::soft_sub(Fmt::F32, a as u64, b as u64, rnd) as u32,
    };
    let r = ftz_edge(r, ftz, rnd, || f(a) as f64 - f(b) as f64);
    out32(r, ftz, sat)
}

/// `mul{.rnd}{.ftz}{.sat}.f32`.
#[inline]
pub fn mul_f32(a: u32, b: u32, rnd: Rnd, ftz: bool, sat: bool) -> u32 {
    let (a, b) = (in32(a, ftz), in32(b, ftz));
    let r = match rnd {
        Rnd::Rn => (f(a) * f(b)).to_bits(),
        _ => fp::soft_mul(Fmt::F32, a as u64, b as u64, rnd) as u32,
    };
    let r = ftz_edge(r, ftz, rnd, || f(a) as f64 * f(b) as f64);
    out32(r, ftz, sat)
}

/// `fma{.rnd}{.ftz}{.sat}.f32` (and `mad.f32`, which is fused): `a*b + c` rounded once.
#[inline]
pub fn fma_f32(a: u32, b: u32, c: u32, rnd: Rnd, ftz: bool, sat: bool) -> u32 {
    let (a, b, c) = (in32(a, ftz), in32(b, ftz), in32(c, ftz));
    let r = match rnd {
        Rnd::Rn => f(a).mul_add(f(b), f(c)).to_bits(),
        _ => fp::soft_fma(Fmt::F32, a as u64, b as u64, c as u64, rnd) as u32,
    };
    let r = ftz_edge(r, ftz, rnd, || {
        fp::round_to_odd_sum(f(a) as f64 * f(b) as f64, f(c) as f64)
    });
    out32(r, ftz, sat)
}

/// IEEE `div{.rnd}{.ftz}.f32`.
#[inline]
pub fn div_f32(a: u32, b: u32, rnd: Rnd, ftz: bool) -> u32 {
    let (a, b) = (in32(a, ftz), in32(b, ftz));
    let r = match rnd {
        Rnd::Rn => (f(a) / f(b)).to_bits(),
        _ => fp::soft_div(Fmt::F32, a as u64, b as u64, rnd) as u32,
    };
    out32(r, ftz, false)
}

/// IEEE `rcp{.rnd}{.ftz}.f32`: `1/a` correctly rounded.
#[inline]
pub fn rcp_f32(a: u32, rnd: Rnd, ftz: bool) -> u32 {
    div_f32(0x3F80_0000, a, rnd, ftz)
}

/// One ulp up (`up`) or down from a positive finite float's bits.
#[inline]
fn step(bits: u64, up: bool) -> u64 {
    if up {
        bits + 1
    } else {
        bits - 1
    }
}

/// IEEE `sqrt{.rnd}{.ftz}.f32`.
#[inline]
pub fn sqrt_f32(a: u32, rnd: Rnd, ftz: bool) -> u32 {
    let a = in32(a, ftz);
    let x = f(a);
    let r = x.sqrt();
    if rnd == Rnd::Rn || !r.is_finite() || r == 0.0 {
        return out32(r.to_bits(), ftz, false);
    }
    // r has 24 significant bits, so r² is exact in f64.
    let rr = r as f64 * r as f64;
    let xd = x as f64;
    let bits = r.to_bits() as u64;
    let res = if rr == xd {
        bits
    } else {
        let above = xd > rr; // the exact root lies above r
        match rnd {
            Rnd::Rp if above => step(bits, true),
            Rnd::Rz | Rnd::Rm if !above => step(bits, false),
            _ => bits,
        }
    };
    out32(res as u32, ftz, false)
}

/// `add{.rnd}.f64`.
#[inline]
pub fn add_f64(a: u64, b: u64, rnd: Rnd) -> u64 {
    match rnd {
        Rnd::Rn => prop64((d(a) + d(b)).to_bits(), &[b, a]),
        _ => prop64(fp::soft_add(Fmt::F64, a, b, rnd), &[b, a]),
    }
}

/// `sub{.rnd}.f64`.
#[inline]
pub fn sub_f64(a: u64, b: u64, rnd: Rnd) -> u64 {
    match rnd {
        Rnd::Rn => prop64((d(a) - d(b)).to_bits(), &[b, a]),
        _ => prop64(fp::soft_sub(Fmt::F64, a, b, rnd), &[b, a]),
    }
}

/// `mul{.rnd}.f64`.
#[inline]
pub fn mul_f64(a: u64, b: u64, rnd: Rnd) -> u64 {
    match rnd {
        Rnd::Rn => prop64((d(a) * d(b)).to_bits(), &[b, a]),
        _ => prop64(fp::soft_mul(Fmt::F64, a, b, rnd), &[b, a]),
    }
}

/// `fma{.rnd}.f64` / `mad{.rnd}.f64`.
#[inline]
pub fn fma_f64(a: u64, b: u64, c: u64, rnd: Rnd) -> u64 {
    match rnd {
        Rnd::Rn => prop64(d(a).mul_add(d(b), d(c)).to_bits(), &[b, c, a]),
        _ => prop64(fp::soft_fma(Fmt::F64, a, b, c, rnd), &[b, c, a]),
    }
}

/// `div{.rnd}.f64`.
#[inline]
pub fn div_f64(a: u64, b: u64, rnd: Rnd) -> u64 {
    match rnd {
        Rnd::Rn => prop64((d(a) / d(b)).to_bits(), &[a, b]),
        _ => prop64(fp::soft_div(Fmt::F64, a, b, rnd), &[a, b]),
    }
}

/// `rcp{.rnd}.f64`.
#[inline]
pub fn rcp_f64(a: u64, rnd: Rnd) -> u64 {
    div_f64(1.0f64.to_bits(), a, rnd)
}

/// `sqrt{.rnd}.f64`.
#[inline]
pub fn sqrt_f64(a: u64, rnd: Rnd) -> u64 {
    let x = d(a);
    let r = x.sqrt();
    if rnd == Rnd::Rn || !r.is_finite() || r == 0.0 {
        return prop64(r.to_bits(), &[a]);
    }
    // Scale tiny inputs by an even power of two so the residual x − r² cannot underflow.
    let small = x < f64::from_bits(0x0100_0000_0000_0000); // 2^-1007
    let (xs, rs) = if small {
        let xs = x * 2f64.powi(200);
        (xs, xs.sqrt())
    } else {
        (x, r)
    };
    let residual = (-rs).mul_add(rs, xs);
    let bits = rs.to_bits();
    let adj = if residual == 0.0 {
        bits
    } else {
        let above = residual > 0.0;
        match rnd {
            Rnd::Rp if above => step(bits, true),
            Rnd::Rz | Rnd::Rm if !above => step(bits, false),
            _ => bits,
        }
    };
    if small {
        (d(adj) * 2f64.powi(-100)).to_bits()
    } else {
        adj
    }
}

/// `min`/`max` of two values of `fmt` (after any `.ftz`): NaN operands are ignored unless
/// both are NaN or `nan` (`.NaN`) is set, which give the canonical NaN; −0.0 orders below
/// +0.0. With `xorsign` (`.xorsign.abs`) the magnitudes are compared and the result takes the
/// XOR of the operands' signs.
#[inline]
pub fn minmax(fmt: Fmt, a: u64, b: u64, is_max: bool, nan: bool, xorsign: bool) -> u64 {
    let (mut a, mut b) = (a, b);
    let sign = (a ^ b) & fmt.sign();
    if xorsign {
        a &= fmt.abs_mask();
        b &= fmt.abs_mask();
    }
    let (an, bn) = (fmt.is_nan(a), fmt.is_nan(b));
    let r = if an || bn {
        if nan || (an && bn) {
            return fmt.nan();
        } else if an {
            b
        } else {
            a
        }
    } else {
        let key = |x: u64| {
            let m = (x & fmt.abs_mask()) as i64;
            if fmt.is_neg(x) {
                -m - 1
            } else {
                m
            }
        };
        if (key(a) < key(b)) != is_max {
            a
        } else {
            b
        }
    };
    if xorsign {
        r | sign
    } else {
        r
    }
}

/// `min{.ftz}{.NaN}{.xorsign.abs}.f32`.
#[inline]
pub fn min_f32(a: u32, b: u32, ftz: bool, nan: bool, xorsign: bool) -> u32 {
    minmax(
        Fmt::F32,
        in32(a, ftz) as u64,
        in32(b, ftz) as u64,
        false,
        nan,
        xorsign,
    ) as u32
}

/// `max{.ftz}{.NaN}{.xorsign.abs}.f32`.
#[inline]
pub fn max_f32(a: u32, b: u32, ftz: bool, nan: bool, xorsign: bool) -> u32 {
    minmax(
        Fmt::F32,
        in32(a, ftz) as u64,
        in32(b, ftz) as u64,
        true,
        nan,
        xorsign,
    ) as u32
}

/// `abs{.ftz}.f32`: clears the sign bit; a NaN becomes the canonical NaN.
#[inline]
pub fn abs_f32(a: u32, ftz: bool) -> u32 {
    canon32(in32(a, ftz)) & 0x7FFF_FFFF
}

/// `neg{.ftz}.f32`: flips the sign bit; a NaN becomes the canonical NaN (sign unchanged).
#[inline]
pub fn neg_f32(a: u32, ftz: bool) -> u32 {
    let a = in32(a, ftz);
    if a & 0x7FFF_FFFF > 0x7F80_0000 {
        NAN_F32
    } else {
        a ^ 0x8000_0000
    }
}

/// `abs.f64`: clears the sign bit; a NaN is returned quieted with its sign unchanged.
#[inline]
pub fn abs_f64(a: u64) -> u64 {
    if isnan64(a) {
        a | QUIET64
    } else {
        a & 0x7FFF_FFFF_FFFF_FFFF
    }
}

/// `neg.f64`: flips the sign bit; a NaN is returned quieted with its sign unchanged.
#[inline]
pub fn neg_f64(a: u64) -> u64 {
    if isnan64(a) {
        a | QUIET64
    } else {
        a ^ 0x8000_0000_0000_0000
    }
}

/// `min`/`max.f64`: as [`minmax`], except that NaNs propagate the f64 way: two NaN operands
/// give the second, quieted; `.NaN` gives the NaN operand, quieted.
#[inline]
pub fn minmax_f64(a: u64, b: u64, is_max: bool, nan: bool, xorsign: bool) -> u64 {
    match (isnan64(a), isnan64(b)) {
        (true, true) => b | QUIET64,
        (true, false) if nan => a | QUIET64,
        (false, true) if nan => b | QUIET64,
        _ => minmax(Fmt::F64, a, b, is_max, false, xorsign),
    }
}

/// `copysign`: `b` with the sign of `a`.
#[inline]
pub fn copysign(fmt: Fmt, a: u64, b: u64) -> u64 {
    (b & fmt.abs_mask()) | (a & fmt.sign())
}

/// `rcp.approx{.ftz}.f32` (max error 1 ulp): the correctly rounded reciprocal.
#[inline]
pub fn rcp_approx_f32(a: u32, ftz: bool) -> u32 {
    rcp_f32(a, Rnd::Rn, ftz)
}

/// `div.approx{.ftz}.f32`: `a * (1/b)` with the reciprocal flushed to zero when subnormal, so
/// for 2^126 < |b| < 2^128 the result is 0 (NaN for infinite `a`) as PTX documents.
///
/// Without `.ftz` the GPU scales subnormal divisors, so those get the correctly rounded
/// quotient.
#[inline]
pub fn div_approx_f32(a: u32, b: u32, ftz: bool) -> u32 {
    if !ftz && b & 0x7F80_0000 == 0 {
        return div_f32(a, b, Rnd::Rn, false);
    }
    let r = flush32(rcp_f32(b, Rnd::Rn, ftz));
    mul_f32(a, r, Rnd::Rn, ftz, false)
}

/// `div.full{.ftz}.f32` (max error 2 ulp): the correctly rounded quotient.
#[inline]
pub fn div_full_f32(a: u32, b: u32, ftz: bool) -> u32 {
    div_f32(a, b, Rnd::Rn, ftz)
}

/// Evaluates `g` in f64 on the (optionally flushed) f32 input and rounds to f32.
#[inline]
fn via_f64(a: u32, ftz: bool, g: impl Fn(f64) -> f64) -> u32 {
    let x = f(in32(a, ftz)) as f64;
    out32((g(x) as f32).to_bits(), ftz, false)
}

/// `sqrt.approx{.ftz}.f32`: the correctly rounded root.
#[inline]
pub fn sqrt_approx_f32(a: u32, ftz: bool) -> u32 {
    sqrt_f32(a, Rnd::Rn, ftz)
}

/// `rsqrt.approx{.ftz}.f32`: `1/sqrt(a)`.
#[inline]
pub fn rsqrt_approx_f32(a: u32, ftz: bool) -> u32 {
    via_f64(a, ftz, |x| 1.0 / x.sqrt())
}

/// `sin.approx{.ftz}.f32`.
#[inline]
pub fn sin_approx_f32(a: u32, ftz: bool) -> u32 {
    via_f64(a, ftz, f64::sin)
}

/// `cos.approx{.ftz}.f32`.
#[inline]
pub fn cos_approx_f32(a: u32, ftz: bool) -> u32 {
    via_f64(a, ftz, f64::cos)
}

/// `lg2.approx{.ftz}.f32`: log₂ (−∞ for ±0, NaN for negative inputs).
#[inline]
pub fn lg2_approx_f32(a: u32, ftz: bool) -> u32 {
    via_f64(a, ftz, |x| {
        if x == 0.0 {
            f64::NEG_INFINITY
        } else {
            x.log2()
        }
    })
}

/// `ex2.approx{.ftz}.f32`: 2^a.
#[inline]
pub fn ex2_approx_f32(a: u32, ftz: bool) -> u32 {
    via_f64(a, ftz, f64::exp2)
}

/// `tanh.approx.f32`.
#[inline]
pub fn tanh_approx_f32(a: u32) -> u32 {
    via_f64(a, false, f64::tanh)
}

/// Keeps the upper 32 bits of an f64 (the part the f64 `.approx.ftz` instructions compute).
const HI32: u64 = 0xFFFF_FFFF_0000_0000;
/// The NaN the f64 `.approx.ftz` instructions produce.
const NAN_HI64: u64 = 0x7FFF_FFFF_0000_0000;

/// `rcp.approx.ftz.f64`: the GPU reads only the upper 32 bits of the operand and produces
/// only the upper 32 bits of the result; this computes the reciprocal of the truncated operand
/// and truncates it, with subnormals flushed and NaN as `0x7FFFFFFF_00000000`.
#[inline]
pub fn rcp_approx_ftz_f64(a: u64) -> u64 {
    let x = flush64(a & HI32);
    if isnan64(x) {
        return NAN_HI64;
    }
    flush64((1.0 / d(x)).to_bits()) & HI32
}

/// `rsqrt.approx.ftz.f64`: like [`rcp_approx_ftz_f64`], for `1/sqrt(a)`.
#[inline]
pub fn rsqrt_approx_ftz_f64(a: u64) -> u64 {
    let x = flush64(a & HI32);
    let r = 1.0 / d(x).sqrt();
    if r.is_nan() {
        return NAN_HI64;
    }
    flush64(r.to_bits()) & HI32
}

/// `rsqrt.approx.f64`: `1/sqrt(a)` in f64.
#[inline]
pub fn rsqrt_approx_f64(a: u64) -> u64 {
    prop64((1.0 / d(a).sqrt()).to_bits(), &[a])
}

/// Lowers an `f32`/`f64` arithmetic instruction.
pub(super) fn lower(inst: &ir::Instruction, ty: T) -> Result<Alu, ArithError> {
    let ftz = inst.has(M::Ftz);
    let sat = inst.has(M::Sat);
    let approx = inst.has(M::Approx);
    let rnd_opt = float_rnd(inst)?;
    let rnd = rnd_opt.unwrap_or(Rnd::Rn);
    if rnd == Rnd::Rna {
        return Err(unsupported(inst, ".rna on arithmetic"));
    }
    if ty == T::F64 {
        return lower_f64(inst, ftz, sat, approx, rnd);
    }
    let plain = rnd == Rnd::Rn && !ftz && !sat;
    let alu = match inst.opcode {
        O::Add if plain => f2(|a, b| canon32((f(a as u32) + f(b as u32)).to_bits()) as u64),
        O::Add => f2(move |a, b| add_f32(a as u32, b as u32, rnd, ftz, sat) as u64),
        O::Sub if plain => f2(|a, b| canon32((f(a as u32) - f(b as u32)).to_bits()) as u64),
        O::Sub => f2(move |a, b| sub_f32(a as u32, b as u32, rnd, ftz, sat) as u64),
        O::Mul if plain => f2(|a, b| canon32((f(a as u32) * f(b as u32)).to_bits()) as u64),
        O::Mul => f2(move |a, b| mul_f32(a as u32, b as u32, rnd, ftz, sat) as u64),
        O::Fma | O::Mad if plain => {
            f3(|a, b, c| canon32(f(a as u32).mul_add(f(b as u32), f(c as u32)).to_bits()) as u64)
        }
        O::Fma | O::Mad => {
            f3(move |a, b, c| fma_f32(a as u32, b as u32, c as u32, rnd, ftz, sat) as u64)
        }
        O::Div if approx => f2(move |a, b| div_approx_f32(a as u32, b as u32, ftz) as u64),
        O::Div if inst.has(M::Full) => f2(move |a, b| div_full_f32(a as u32, b as u32, ftz) as u64),
        O::Div if plain => f2(|a, b| canon32((f(a as u32) / f(b as u32)).to_bits()) as u64),
        O::Div => f2(move |a, b| div_f32(a as u32, b as u32, rnd, ftz) as u64),
        O::Rcp if approx => f1(move |a| rcp_approx_f32(a as u32, ftz) as u64),
        O::Rcp => f1(move |a| rcp_f32(a as u32, rnd, ftz) as u64),
        O::Sqrt if approx => f1(move |a| sqrt_approx_f32(a as u32, ftz) as u64),
        O::Sqrt => f1(move |a| sqrt_f32(a as u32, rnd, ftz) as u64),
        O::Rsqrt => f1(move |a| rsqrt_approx_f32(a as u32, ftz) as u64),
        O::Sin => f1(move |a| sin_approx_f32(a as u32, ftz) as u64),
        O::Cos => f1(move |a| cos_approx_f32(a as u32, ftz) as u64),
        O::Lg2 => f1(move |a| lg2_approx_f32(a as u32, ftz) as u64),
        O::Ex2 => f1(move |a| ex2_approx_f32(a as u32, ftz) as u64),
        O::Tanh => f1(|a| tanh_approx_f32(a as u32) as u64),
        O::Abs => f1(move |a| abs_f32(a as u32, ftz) as u64),
        O::Neg => f1(move |a| neg_f32(a as u32, ftz) as u64),
        O::Min | O::Max => {
            let (nan, xs) = (inst.has(M::NaN), inst.has(M::XorSign));
            if inst.opcode == O::Min {
                f2(move |a, b| min_f32(a as u32, b as u32, ftz, nan, xs) as u64)
            } else {
                f2(move |a, b| max_f32(a as u32, b as u32, ftz, nan, xs) as u64)
            }
        }
        O::Copysign => f2(|a, b| copysign(Fmt::F32, a, b)),
        _ => return Err(unsupported(inst, "f32 form")),
    };
    Ok(alu)
}

fn lower_f64(
    inst: &ir::Instruction,
    ftz: bool,
    sat: bool,
    approx: bool,
    rnd: Rnd,
) -> Result<Alu, ArithError> {
    if sat || (ftz && !approx) {
        return Err(unsupported(inst, ".ftz/.sat on f64"));
    }
    let rn = rnd == Rnd::Rn;
    let alu = match inst.opcode {
        O::Add if rn => f2(|a, b| prop64((d(a) + d(b)).to_bits(), &[b, a])),
        O::Add => f2(move |a, b| add_f64(a, b, rnd)),
        O::Sub if rn => f2(|a, b| prop64((d(a) - d(b)).to_bits(), &[b, a])),
        O::Sub => f2(move |a, b| sub_f64(a, b, rnd)),
        O::Mul if rn => f2(|a, b| prop64((d(a) * d(b)).to_bits(), &[b, a])),
        O::Mul => f2(move |a, b| mul_f64(a, b, rnd)),
        O::Fma | O::Mad if rn => {
            f3(|a, b, c| prop64(d(a).mul_add(d(b), d(c)).to_bits(), &[b, c, a]))
        }
        O::Fma | O::Mad => f3(move |a, b, c| fma_f64(a, b, c, rnd)),
        O::Div if approx => return Err(unsupported(inst, "div.approx.f64")),
        O::Div => f2(move |a, b| div_f64(a, b, rnd)),
        O::Rcp if approx => f1(rcp_approx_ftz_f64),
        O::Rcp => f1(move |a| rcp_f64(a, rnd)),
        O::Sqrt if approx => return Err(unsupported(inst, "sqrt.approx.f64")),
        O::Sqrt => f1(move |a| sqrt_f64(a, rnd)),
        O::Rsqrt if ftz => f1(rsqrt_approx_ftz_f64),
        O::Rsqrt => f1(rsqrt_approx_f64),
        O::Abs => f1(abs_f64),
        O::Neg => f1(neg_f64),
        O::Min | O::Max => {
            let (nan, xs) = (inst.has(M::NaN), inst.has(M::XorSign));
            let is_max = inst.opcode == O::Max;
            f2(move |a, b| minmax_f64(a, b, is_max, nan, xs))
        }
        O::Copysign => f2(|a, b| copysign(Fmt::F64, a, b)),
        _ => return Err(unsupported(inst, "f64 form")),
    };
    Ok(alu)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const MODES: [Rnd; 4] = [Rnd::Rn, Rnd::Rz, Rnd::Rm, Rnd::Rp];

    /// Interesting f32 bit patterns: zeros, subnormals, normals at the edges, infinities, NaNs.
    fn special32() -> Vec<u32> {
        let mut v = vec![
            0,
            0x8000_0000,
            1,
            0x8000_0001,
            0x007F_FFFF,
            0x807F_FFFF,
            0x0080_0000,
            0x8080_0000,
            0x3F80_0000,
            0xBF80_0000,
            0x3F80_0001,
            0x4000_0000,
            0x7F7F_FFFF,
            0xFF7F_FFFF,
            0x7F80_0000,
            0xFF80_0000,
            0x7FC0_0000,
            0x7F80_0001,
            0xFFC0_1234,
            0x3400_0000,
            0x4B80_0000,
        ];
        v.extend([0.1f32, -3.5, 1e30, -1e-30, 1e-40, 3.0, 7.0].map(f32::to_bits));
        v
    }

    fn arb32() -> impl Strategy<Value = u32> {
        prop_oneof![
            3 => any::<u32>(),
            1 => proptest::sample::select(special32()),
            // Values of similar magnitude, so sums cancel and round in interesting ways.
            2 => (0x3F00_0000u32..0x4000_0000).prop_map(|x| x | (x & 1) << 31),
        ]
    }

    /// Exact reference: the operation in f64 (exact for add/sub/mul of f32), rounded to f32 by
    /// apfloat in the requested mode.
    fn ref_f32(exact: f64, rnd: Rnd) -> u32 {
        fp::f64_to_f32_bits(exact.to_bits(), rnd)
    }

    #[test]
    fn specials_all_modes() {
        let s = special32();
        for &a in &s {
            for &b in &s {
                for rnd in MODES {
                    let (x, y) = (f(a) as f64, f(b) as f64);
                    let (a6, b6) = (a as u64, b as u64);
                    assert_eq!(
                        add_f32(a, b, rnd, false, false) as u64,
                        fp::soft_add(Fmt::F32, a6, b6, rnd)
                    );
                    assert_eq!(
                        sub_f32(a, b, rnd, false, false) as u64,
                        fp::soft_sub(Fmt::F32, a6, b6, rnd)
                    );
                    if x * y != 0.0 || x.is_nan() || y.is_nan() {
                        assert_eq!(mul_f32(a, b, rnd, false, false), ref_f32(x * y, rnd));
                    }
                    let dv = div_f32(a, b, rnd, false);
                    assert_eq!(dv, fp::soft_div(Fmt::F32, a as u64, b as u64, rnd) as u32);
                }
            }
        }
    }

    #[test]
    fn nan_is_canonical() {
        assert_eq!(
            add_f32(0x7F80_0000, 0xFF80_0000, Rnd::Rn, false, false),
            NAN_F32
        );
        assert_eq!(add_f32(0xFFC0_1234, 0, Rnd::Rz, false, false), NAN_F32);
        assert_eq!(sqrt_f32(0xBF80_0000, Rnd::Rp, false), NAN_F32);
        // f64 generates 0xFFF8… and propagates NaN operands quieted (GPU-observed).
        assert_eq!(div_f64(0, 0, Rnd::Rn), NAN_F64);
        assert_eq!(
            add_f64(0x7FF0_0000_0000_0001, 0, Rnd::Rn),
            0x7FF8_0000_0000_0001
        );
        assert_eq!(
            add_f64(1.0f64.to_bits(), 0xFFF8_0000_0000_1234, Rnd::Rz),
            0xFFF8_0000_0000_1234
        );
        let nan_c = 0x7FF0_0000_0000_0001;
        assert_eq!(
            fma_f64(1.0f64.to_bits(), 2.0f64.to_bits(), nan_c, Rnd::Rn),
            nan_c | 1 << 51
        );
        // Two NaN operands: b wins for add/sub/mul/fma, a for div.
        let (n1, n2) = (0x7FF8_0000_0000_0000, 0xFFF8_0000_0000_1234);
        assert_eq!(sub_f64(n1, n2, Rnd::Rp), n2);
        assert_eq!(fma_f64(n2, 1.0f64.to_bits(), n1, Rnd::Rm), n1);
        assert_eq!(fma_f64(1.0f64.to_bits(), n2, n1, Rnd::Rm), n2);
        assert_eq!(div_f64(n1, n2, Rnd::Rn), n1);
        assert_eq!(abs_f64(0xFFF8_0000_0000_1234), 0xFFF8_0000_0000_1234);
        assert_eq!(neg_f64(0x7FF0_0000_0000_0001), 0x7FF8_0000_0000_0001);
        assert_eq!(
            minmax_f64(
                0xFFF8_0000_0000_1234,
                0x7FF0_0000_0000_0001,
                true,
                false,
                false
            ),
            0x7FF8_0000_0000_0001
        );
        assert_eq!(abs_f32(0xFFC0_1234, false), NAN_F32);
        assert_eq!(neg_f32(0x7F80_0001, false), NAN_F32);
        assert_eq!(div_f64(0, 0, Rnd::Rm), NAN_F64);
        assert_eq!(sqrt_f64((-1.0f64).to_bits(), Rnd::Rz), NAN_F64);
    }

    #[test]
    fn ftz_and_sat() {
        // 2^-126 * 0.5 is subnormal: flushed on output, and subnormal inputs read as zero.
        assert_eq!(mul_f32(0x0080_0000, 0x3F00_0000, Rnd::Rn, true, false), 0);
        assert_eq!(
            mul_f32(0x8080_0000, 0x3F00_0000, Rnd::Rn, true, false),
            0x8000_0000
        );
        assert_eq!(add_f32(1, 1, Rnd::Rn, false, false), 2);
        assert_eq!(add_f32(1, 1, Rnd::Rn, true, false), 0);
        assert_eq!(add_f32(0x4000_0000, 0, Rnd::Rn, false, true), 0x3F80_0000);
        assert_eq!(add_f32(0xC000_0000, 0, Rnd::Rn, false, true), 0);
        assert_eq!(add_f32(0x7F80_0000, 0xFF80_0000, Rnd::Rn, false, true), 0);
        assert_eq!(add_f32(0x3F00_0000, 0, Rnd::Rn, false, true), 0x3F00_0000);
        // (1 − 2^-24)·2^-126 rounds to 2^-126 in the subnormal range but is tiny after
        // rounding with an unbounded exponent: .ftz flushes it.
        let below = mul_f32(0x3F7F_FFFF, 0x0080_0000, Rnd::Rn, false, false);
        assert_eq!(below, 0x0080_0000);
        assert_eq!(mul_f32(0x3F7F_FFFF, 0x0080_0000, Rnd::Rn, true, false), 0);
        // H100 results at the boundary (.ftz):
        let m = |a, b, r| mul_f32(a, b, r, true, false);
        assert_eq!(m(0xBF7F_FFFF, 0x0080_0000, Rnd::Rn), 0x8000_0000);
        assert_eq!(m(0x3F7F_FFFF, 0x0080_0001, Rnd::Rz), 0x0080_0000);
        assert_eq!(
            fma_f32(0x3F7F_FFFF, 0x0080_0000, 0, Rnd::Rn, true, false),
            0
        );
        assert_eq!(
            fma_f32(0x00FF_FFFF, 0x3F7F_FFFF, 0x8080_0000, Rnd::Rn, true, false),
            0
        );
        assert_eq!(add_f32(0x00FF_FFFF, 0x8080_0001, Rnd::Rn, true, false), 0);
        assert_eq!(sub_f32(0x0100_0000, 0x00FF_FFFF, Rnd::Rn, true, false), 0);
        assert_eq!(div_f32(0x00FF_FFFF, 0x4000_0001, Rnd::Rn, true), 0);
        assert_eq!(sqrt_f32(0x0080_0001, Rnd::Rn, true), 0x2000_0000);
        // Exact with 24 bits, so tiny in every mode.
        assert_eq!(mul_f32(0x3F7F_FFFF, 0x0080_0000, Rnd::Rp, true, false), 0);
        // A sum just below 2^-126 that needs more than 24 bits rounds up to 2^-126 with an
        // unbounded exponent in .rp: not tiny, kept.
        let (x, y) = (0x0080_0001, 0x8000_0000 | 0x0000_0001);
        assert_eq!(
            fma_f32(0x3F80_0000, x, y, Rnd::Rp, false, false),
            0x0080_0000
        );
    }

    #[test]
    fn min_max_rules() {
        let (one, none, nan) = (0x3F80_0000u32, 0xBF80_0000u32, 0x7FC0_0001u32);
        assert_eq!(min_f32(one, nan, false, false, false), one);
        assert_eq!(max_f32(nan, none, false, false, false), none);
        assert_eq!(min_f32(one, nan, false, true, false), NAN_F32);
        assert_eq!(min_f32(nan, nan, false, false, false), NAN_F32);
        assert_eq!(min_f32(0, 0x8000_0000, false, false, false), 0x8000_0000);
        assert_eq!(max_f32(0x8000_0000, 0, false, false, false), 0);
        // xorsign.abs: |−1| vs |2| → 1 with sign(−1) ^ sign(2) = negative.
        assert_eq!(min_f32(none, 0x4000_0000, false, false, true), none);
        assert_eq!(max_f32(none, 0xC000_0000, false, false, true), 0x4000_0000);
        assert_eq!(min_f32(1, 2, true, false, false), 0);
    }

    #[test]
    fn approx_ops_within_bounds() {
        assert_eq!(div_approx_f32(0x3F80_0000, 0x7F00_0001, false), 0);
        assert_eq!(div_approx_f32(0x7F80_0000, 0x7F00_0001, false), NAN_F32);
        assert_eq!(lg2_approx_f32(0, false), 0xFF80_0000);
        assert_eq!(lg2_approx_f32(0x4100_0000, false), 3.0f32.to_bits());
        assert_eq!(ex2_approx_f32(0xFF80_0000, false), 0);
        assert_eq!(ex2_approx_f32(0x4040_0000, false), 8.0f32.to_bits());
        assert_eq!(rsqrt_approx_f32(0x4080_0000, false), 0.5f32.to_bits());
        assert_eq!(rsqrt_approx_f32(0x8000_0000, false), 0xFF80_0000);
        assert_eq!(sin_approx_f32(0x7F80_0000, false), NAN_F32);
        assert_eq!(tanh_approx_f32(0x7F80_0000), 0x3F80_0000);
        assert_eq!(rcp_approx_ftz_f64(0), f64::INFINITY.to_bits());
        assert_eq!(rcp_approx_ftz_f64(1), f64::INFINITY.to_bits());
        // Only the upper words take part (GPU: 1/3.5 → 0x3FD24924_00000000).
        assert_eq!(
            rcp_approx_ftz_f64(0x400C_0000_0000_0000),
            0x3FD2_4924_0000_0000
        );
        assert_eq!(rcp_approx_ftz_f64(0x7FF0_0000_0000_0001), 0);
        assert_eq!(
            rcp_approx_ftz_f64(0x7FF8_0000_0000_0000),
            0x7FFF_FFFF_0000_0000
        );
        assert_eq!(
            rsqrt_approx_ftz_f64(0x3FE0_0000_0000_0000),
            0x3FF6_A09E_0000_0000
        );
        assert_eq!(
            rsqrt_approx_ftz_f64((-2.0f64).to_bits()),
            0x7FFF_FFFF_0000_0000
        );
    }

    #[test]
    fn sqrt_directed_exact_cases() {
        // sqrt(2) is irrational: rz/rm below rp by one ulp; sqrt(4) is exact in every mode.
        let two = 2.0f32.to_bits();
        let rz = sqrt_f32(two, Rnd::Rz, false);
        assert_eq!(sqrt_f32(two, Rnd::Rp, false), rz + 1);
        assert_eq!(sqrt_f32(two, Rnd::Rm, false), rz);
        for rnd in MODES {
            assert_eq!(sqrt_f32(4.0f32.to_bits(), rnd, false), 2.0f32.to_bits());
            assert_eq!(sqrt_f64(4.0f64.to_bits(), rnd), 2.0f64.to_bits());
            assert_eq!(sqrt_f32(0x8000_0000, rnd, false), 0x8000_0000);
        }
    }

    proptest! {
        #[test]
        fn f32_ops_all_modes_match_reference(a in arb32(), b in arb32(), c in arb32()) {
            for rnd in MODES {
                let (x, y) = (f(a) as f64, f(b) as f64);
                let (a6, b6) = (a as u64, b as u64);
                prop_assert_eq!(add_f32(a, b, rnd, false, false) as u64, fp::soft_add(Fmt::F32, a6, b6, rnd));
                prop_assert_eq!(sub_f32(a, b, rnd, false, false) as u64, fp::soft_sub(Fmt::F32, a6, b6, rnd));
                prop_assert_eq!(mul_f32(a, b, rnd, false, false) as u64, fp::soft_mul(Fmt::F32, a6, b6, rnd));
                // The product of two f32 is exact in f64: an independent reference.
                if x * y != 0.0 {
                    prop_assert_eq!(mul_f32(a, b, rnd, false, false), ref_f32(x * y, rnd));
                }
                prop_assert_eq!(div_f32(a, b, rnd, false),
                    fp::soft_div(Fmt::F32, a as u64, b as u64, rnd) as u32);
                prop_assert_eq!(fma_f32(a, b, c, rnd, false, false),
                    fp::soft_fma(Fmt::F32, a as u64, b as u64, c as u64, rnd) as u32);
                // sqrt: the f64 root is within 2^-53 relative, far from any f32 boundary
                // unless exact; compare with the f64 root rounded in the mode when inexact.
                let s = sqrt_f32(a, rnd, false);
                let r64 = x.sqrt();
                if r64.is_nan() {
                    prop_assert_eq!(s, NAN_F32);
                } else {
                    let exact = (r64 as f32 as f64) == r64 && r64 * r64 == x;
                    if exact || rnd == Rnd::Rn {
                        prop_assert_eq!(s, (r64 as f32).to_bits());
                    } else {
                        prop_assert_eq!(s, ref_f32(r64, rnd));
                    }
                }
            }
        }

        #[test]
        fn f64_ops_all_modes_match_apfloat(a in any::<u64>(), b in any::<u64>(), c in any::<u64>()) {
            for rnd in MODES {
                prop_assert_eq!(add_f64(a, b, rnd), prop64(fp::soft_add(Fmt::F64, a, b, rnd), &[b, a]));
                prop_assert_eq!(mul_f64(a, b, rnd), prop64(fp::soft_mul(Fmt::F64, a, b, rnd), &[b, a]));
                prop_assert_eq!(div_f64(a, b, rnd), prop64(fp::soft_div(Fmt::F64, a, b, rnd), &[a, b]));
                prop_assert_eq!(fma_f64(a, b, c, rnd),
                    prop64(fp::soft_fma(Fmt::F64, a, b, c, rnd), &[b, c, a]));
            }
        }

        #[test]
        fn f64_sqrt_directed_brackets_root(a in 0x0070_0000_0000_0000u64..0x7FF0_0000_0000_0000) {
            let down = sqrt_f64(a, Rnd::Rz);
            let up = sqrt_f64(a, Rnd::Rp);
            prop_assert_eq!(down, sqrt_f64(a, Rnd::Rm));
            let rn = sqrt_f64(a, Rnd::Rn);
            prop_assert!(rn == down || rn == up);
            prop_assert!(up == down || up == down + 1);
            // a − down² ≥ 0 ≥ a − up², signs exact (no underflow in this range).
            let res = |r: u64| d(fp::soft_fma(Fmt::F64, r ^ (1 << 63), r, a, Rnd::Rn));
            prop_assert!(res(down) >= 0.0);
            prop_assert!(res(up) <= 0.0);
        }
    }
}
