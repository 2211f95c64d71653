//! Half-precision arithmetic: `f16`, `bf16` and their packed `x2` forms (each 16-bit half
//! computed independently).
//!
//! add/sub/mul are computed exactly rounded in f32 and rounded once more to the 16-bit format;
//! that second rounding is harmless because f32 has more than twice the precision plus two
//! bits (so no f32 result lands on a 16-bit rounding boundary it was not already on).
//! `fma` is computed in f64 (the product of two 16-bit values is exact there) with the sum
//! rounded to odd, then rounded once to the 16-bit format. The tests check both against `rustc_apfloat`.

use super::float::minmax;
use super::fp::{self, Fmt};
use super::lower::{f1, f2, f3, float_rnd, unsupported};
use super::{Alu, ArithError, Rnd};
use ferrocuda_ptx::ir::{self, Modifier as M, Opcode as O, ScalarType as T};

/// Exact value of a 16-bit float as f32.
#[inline]
pub fn to_f32(fmt: Fmt, x: u16) -> f32 {
    match fmt {
        Fmt::BF16 => fp::bf16_to_f32(x),
        _ => fp::f16_to_f32(x),
    }
}

/// f32 rounded to nearest even in the 16-bit format.
#[inline]
pub fn from_f32(fmt: Fmt, x: f32) -> u16 {
    match fmt {
        Fmt::BF16 => fp::f32_to_bf16_rn(x),
        _ => fp::f32_to_f16_rn(x),
    }
}

/// Result modifiers of half-precision arithmetic.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HalfOpts {
    /// `.ftz`: subnormal inputs and results become signed zeros.
    pub ftz: bool,
    /// `.sat`: clamp to [0.0, 1.0].
    pub sat: bool,
    /// `.relu`: negative results become +0.0.
    pub relu: bool,
}

#[inline]
fn inp(fmt: Fmt, x: u64, o: HalfOpts) -> u16 {
    let x = x & 0xFFFF;
    (if o.ftz { fmt.flush(x) } else { x }) as u16
}

/// `.ftz` tininess: below the smallest normal after rounding to the format's precision with
/// an unbounded exponent (the intermediate `r` is exact, or rounded to odd).
#[inline]
fn tiny(fmt: Fmt, r: f64) -> bool {
    fp::tiny_after_rounding(fmt, r, Rnd::Rn)
}

/// Result post-processing. `tiny` says the result is tiny in the IEEE "after rounding" sense:
/// `.ftz` flushes such results even when the subnormal-range rounding reached the smallest
/// normal (GPU-observed).
#[inline]
fn outp(fmt: Fmt, r: u16, tiny: bool, o: HalfOpts) -> u64 {
    let r = fmt.canon(r as u64);
    let r = if o.ftz && (tiny || fmt.is_subnormal(r)) {
        r & fmt.sign()
    } else {
        r
    };
    let r = if o.sat { fmt.saturate(r) } else { r };
    if o.relu {
        fmt.relu(r)
    } else {
        r
    }
}

/// `add.rn{.ftz}{.sat}.f16` / `add.rn.bf16`.
#[inline]
pub fn add(fmt: Fmt, a: u64, b: u64, o: HalfOpts) -> u64 {
    let r = to_f32(fmt, inp(fmt, a, o)) + to_f32(fmt, inp(fmt, b, o));
    outp(fmt, from_f32(fmt, r), tiny(fmt, r as f64), o)
}

/// `sub.rn{.ftz}{.sat}.f16` / `sub.rn.bf16`.
#[inline]
pub fn sub(fmt: Fmt, a: u64, b: u64, o: HalfOpts) -> u64 {
    let r = to_f32(fmt, inp(fmt, a, o)) - to_f32(fmt, inp(fmt, b, o));
    outp(fmt, from_f32(fmt, r), tiny(fmt, r as f64), o)
}

/// `mul.rn{.ftz}{.sat}.f16` / `mul.rn.bf16`.
#[inline]
pub fn mul(fmt: Fmt, a: u64, b: u64, o: HalfOpts) -> u64 {
    let r = to_f32(fmt, inp(fmt, a, o)) * to_f32(fmt, inp(fmt, b, o));
    outp(fmt, from_f32(fmt, r), tiny(fmt, r as f64), o)
}

/// `fma.rn{.ftz}{.sat|.relu}.f16` / `fma.rn{.relu}.bf16`: `a*b + c` rounded once.
#[inline]
pub fn fma(fmt: Fmt, a: u64, b: u64, c: u64, o: HalfOpts) -> u64 {
    let x = to_f32(fmt, inp(fmt, a, o)) as f64;
    let y = to_f32(fmt, inp(fmt, b, o)) as f64;
    let z = to_f32(fmt, inp(fmt, c, o)) as f64;
    let r = fp::round_to_odd_sum(x * y, z); // x*y is exact in f64
    let h = match fmt {
        Fmt::BF16 => fp::f64_to_bf16_rn(r),
        _ => fp::f64_to_f16_rn(r),
    };
    outp(fmt, h, tiny(fmt, r), o)
}

/// `neg{.ftz}` of a 16-bit float: flips the sign bit (NaN becomes the canonical NaN).
#[inline]
pub fn neg(fmt: Fmt, a: u64, o: HalfOpts) -> u64 {
    let x = inp(fmt, a, o) as u64;
    if fmt.is_nan(x) {
        fmt.nan()
    } else {
        x ^ 0x8000
    }
}

/// `abs{.ftz}` of a 16-bit float: clears the sign bit (NaN becomes the canonical NaN).
#[inline]
pub fn abs(fmt: Fmt, a: u64, o: HalfOpts) -> u64 {
    fmt.canon(inp(fmt, a, o) as u64) & 0x7FFF
}

/// `ex2.approx{.ftz}` of a 16-bit float.
#[inline]
pub fn ex2(fmt: Fmt, a: u64, o: HalfOpts) -> u64 {
    let x = to_f32(fmt, inp(fmt, a, o)) as f64;
    let r = x.exp2() as f32;
    outp(fmt, from_f32(fmt, r), tiny(fmt, r as f64), o)
}

/// `tanh.approx` of a 16-bit float.
#[inline]
pub fn tanh(fmt: Fmt, a: u64, o: HalfOpts) -> u64 {
    let x = to_f32(fmt, inp(fmt, a, o)) as f64;
    let r = x.tanh() as f32;
    outp(fmt, from_f32(fmt, r), tiny(fmt, r as f64), o)
}

/// Applies a per-half binary function to both halves of packed operands.
#[inline]
fn pair2(h: impl Fn(u64, u64) -> u64, a: u64, b: u64) -> u64 {
    h(a & 0xFFFF, b & 0xFFFF) | (h((a >> 16) & 0xFFFF, (b >> 16) & 0xFFFF) << 16)
}

/// A one-source closure over a scalar half operation (generic, so `h` is inlined), applied to
/// both halves for packed types.
fn un(
    pair: bool,
    fmt: Fmt,
    o: HalfOpts,
    h: impl Fn(Fmt, u64, HalfOpts) -> u64 + Copy + Send + Sync + 'static,
) -> Alu {
    if pair {
        f1(move |a| h(fmt, a & 0xFFFF, o) | (h(fmt, (a >> 16) & 0xFFFF, o) << 16))
    } else {
        f1(move |a| h(fmt, a, o))
    }
}

/// A two-source closure over a scalar half operation (generic, so `h` is inlined).
fn bin(
    pair: bool,
    fmt: Fmt,
    o: HalfOpts,
    h: impl Fn(Fmt, u64, u64, HalfOpts) -> u64 + Copy + Send + Sync + 'static,
) -> Alu {
    if pair {
        f2(move |a, b| pair2(|x, y| h(fmt, x, y, o), a, b))
    } else {
        f2(move |a, b| h(fmt, a, b, o))
    }
}

/// Lowers f16/bf16 (and `x2`) arithmetic.
pub(super) fn lower(inst: &ir::Instruction, ty: T) -> Result<Alu, ArithError> {
    let fmt = match ty {
        T::F16 | T::F16x2 => Fmt::F16,
        _ => Fmt::BF16,
    };
    let pair = matches!(ty, T::F16x2 | T::BF16x2);
    if float_rnd(inst)?.is_some_and(|r| r != Rnd::Rn) {
        return Err(unsupported(inst, "directed rounding on half precision"));
    }
    let o = HalfOpts {
        ftz: inst.has(M::Ftz),
        sat: inst.has(M::Sat),
        relu: inst.has(M::Relu),
    };
    let alu = match inst.opcode {
        O::Add => bin(pair, fmt, o, add),
        O::Sub => bin(pair, fmt, o, sub),
        O::Mul => bin(pair, fmt, o, mul),
        O::Fma | O::Mad => {
            if pair {
                f3(move |a, b, c| {
                    let lo = fma(fmt, a & 0xFFFF, b & 0xFFFF, c & 0xFFFF, o);
                    let hi = fma(
                        fmt,
                        (a >> 16) & 0xFFFF,
                        (b >> 16) & 0xFFFF,
                        (c >> 16) & 0xFFFF,
                        o,
                    );
                    lo | (hi << 16)
                })
            } else {
                f3(move |a, b, c| fma(fmt, a, b, c, o))
            }
        }
        O::Neg => un(pair, fmt, o, neg),
        O::Abs => un(pair, fmt, o, abs),
        O::Ex2 => un(pair, fmt, o, ex2),
        O::Tanh => un(pair, fmt, o, tanh),
        O::Min | O::Max => {
            let (nan, xs) = (inst.has(M::NaN), inst.has(M::XorSign));
            let is_max = inst.opcode == O::Max;
            let h = move |a: u64, b: u64| {
                let (a, b) = (inp(fmt, a, o) as u64, inp(fmt, b, o) as u64);
                let r = minmax(fmt, a, b, is_max, nan, xs);
                if o.relu {
                    fmt.relu(r)
                } else {
                    r
                }
            };
            if pair {
                f2(move |a, b| pair2(h, a, b))
            } else {
                f2(h)
            }
        }
        _ => return Err(unsupported(inst, "half-precision form")),
    };
    Ok(alu)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn arb16() -> impl Strategy<Value = u64> {
        prop_oneof![
            3 => any::<u16>().prop_map(|x| x as u64),
            1 => proptest::sample::select(vec![0u64, 0x8000, 1, 0x8001, 0x3FF, 0x400, 0x3C00, 0xBC00,
                0x7BFF, 0xFBFF, 0x7C00, 0xFC00, 0x7E00, 0x7F80, 0xFF80, 0x7F7F, 0x0080, 0x007F]),
        ]
    }

    #[test]
    fn relu_sat_ftz() {
        let o = HalfOpts {
            relu: true,
            ..Default::default()
        };
        assert_eq!(fma(Fmt::F16, 0xBC00, 0x3C00, 0, o), 0); // −1·1 + 0 → 0
        assert_eq!(fma(Fmt::F16, 0x7C00, 0, 0, o), 0x7FFF); // ∞·0 = NaN stays NaN
        let s = HalfOpts {
            sat: true,
            ..Default::default()
        };
        assert_eq!(add(Fmt::F16, 0x3C00, 0x3C00, s), 0x3C00);
        let z = HalfOpts {
            ftz: true,
            ..Default::default()
        };
        assert_eq!(add(Fmt::F16, 1, 1, z), 0);
        assert_eq!(add(Fmt::F16, 1, 1, HalfOpts::default()), 2);
        // 0x3BFF · 2^-14 rounds up to the smallest normal, but is tiny after rounding with an
        // unbounded exponent; −(2^-14 − 2^-34) is not (both GPU-observed).
        assert_eq!(mul(Fmt::F16, 0x3BFF, 0x0400, HalfOpts::default()), 0x0400);
        assert_eq!(mul(Fmt::F16, 0x3BFF, 0x0400, z), 0);
        assert_eq!(fma(Fmt::F16, 0x8401, 0x3BFE, 0x83CA, z), 0x8400);
        assert_eq!(neg(Fmt::BF16, 0x7F81, HalfOpts::default()), 0x7FFF);
        assert_eq!(abs(Fmt::F16, 0xFE12, HalfOpts::default()), 0x7FFF);
        assert_eq!(
            pair2(
                |a, b| add(Fmt::F16, a, b, HalfOpts::default()),
                0x3C00_4000,
                0x3C00_3C00
            ),
            0x4000_4200
        );
    }

    proptest! {
        #[test]
        fn half_ops_match_apfloat(a in arb16(), b in arb16(), c in arb16(), bf in any::<bool>()) {
            let fmt = if bf { Fmt::BF16 } else { Fmt::F16 };
            let o = HalfOpts::default();
            let rn = Rnd::Rn;
            prop_assert_eq!(add(fmt, a, b, o), fp::soft_add(fmt, a, b, rn));
            prop_assert_eq!(sub(fmt, a, b, o), fp::soft_sub(fmt, a, b, rn));
            prop_assert_eq!(mul(fmt, a, b, o), fp::soft_mul(fmt, a, b, rn));
            prop_assert_eq!(fma(fmt, a, b, c, o), fp::soft_fma(fmt, a, b, c, rn));
        }
    }
}
