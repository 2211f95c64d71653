//! Integer arithmetic of every width: add/sub/mul/mad (`.lo .hi .wide .sat`, carry chains),
//! `mul24`/`mad24`, `sad`, `div`/`rem`, `abs`/`neg`/`min`/`max`, `dp4a`/`dp2a`.
//!
//! Values travel as `u64` bit patterns; `w` is the operand width in bits (8, 16, 32, 64) and
//! results are returned masked to their width.

use super::lower::{f1, f2, f3, unsupported};
use super::{Alu, ArithError};
use ferrocuda_ptx::ir::{self, Modifier as M, Opcode as O, ScalarType as T};

/// All ones in the low `w` bits.
#[inline]
pub const fn mask(w: u32) -> u64 {
    if w >= 64 {
        u64::MAX
    } else {
        (1u64 << w) - 1
    }
}

/// The low `w` bits of `x` read as a signed integer.
#[inline]
pub const fn sext(x: u64, w: u32) -> i64 {
    let s = 64 - w;
    ((x << s) as i64) >> s
}

/// The low `w` bits of `x` as an i128 value, signed or not.
#[inline]
pub const fn val(x: u64, w: u32, signed: bool) -> i128 {
    if signed {
        sext(x, w) as i128
    } else {
        (x & mask(w)) as i128
    }
}

/// `a + b` modulo 2^w.
#[inline]
pub fn add(a: u64, b: u64, w: u32) -> u64 {
    a.wrapping_add(b) & mask(w)
}

/// `a - b` modulo 2^w.
#[inline]
pub fn sub(a: u64, b: u64, w: u32) -> u64 {
    a.wrapping_sub(b) & mask(w)
}

/// `add.sat.s32`: clamps to [i32::MIN, i32::MAX].
#[inline]
pub fn add_sat_s32(a: u64, b: u64) -> u64 {
    (a as i32).saturating_add(b as i32) as u32 as u64
}

/// `sub.sat.s32`: clamps to [i32::MIN, i32::MAX].
#[inline]
pub fn sub_sat_s32(a: u64, b: u64) -> u64 {
    (a as i32).saturating_sub(b as i32) as u32 as u64
}

/// `mul.lo`: the low `w` bits of the product.
#[inline]
pub fn mul_lo(a: u64, b: u64, w: u32) -> u64 {
    a.wrapping_mul(b) & mask(w)
}

/// `mul.hi`: the high `w` bits of the 2w-bit product.
#[inline]
pub fn mul_hi(a: u64, b: u64, w: u32, signed: bool) -> u64 {
    let p = val(a, w, signed).wrapping_mul(val(b, w, signed));
    ((p >> w) as u64) & mask(w)
}

/// `mul.wide`: the whole 2w-bit product of w-bit operands (w = 16 or 32).
#[inline]
pub fn mul_wide(a: u64, b: u64, w: u32, signed: bool) -> u64 {
    (val(a, w, signed) * val(b, w, signed)) as u64 & mask(2 * w)
}

/// `mad.lo`: low `w` bits of `a*b + c`.
#[inline]
pub fn mad_lo(a: u64, b: u64, c: u64, w: u32) -> u64 {
    a.wrapping_mul(b).wrapping_add(c) & mask(w)
}

/// `mad.hi`: high `w` bits of `a*b`, plus `c`, modulo 2^w.
#[inline]
pub fn mad_hi(a: u64, b: u64, c: u64, w: u32, signed: bool) -> u64 {
    add(mul_hi(a, b, w, signed), c, w)
}

/// `mad.hi.sat.s32`: high 32 bits of `a*b` plus `c`, clamped to the s32 range.
#[inline]
pub fn mad_hi_sat_s32(a: u64, b: u64, c: u64) -> u64 {
    let hi = ((a as i32 as i64) * (b as i32 as i64)) >> 32;
    let s = hi + c as i32 as i64;
    s.clamp(i32::MIN as i64, i32::MAX as i64) as i32 as u32 as u64
}

/// `mad.wide`: 2w-bit `a*b + c` with `c` 2w bits wide (w = 16 or 32).
#[inline]
pub fn mad_wide(a: u64, b: u64, c: u64, w: u32, signed: bool) -> u64 {
    mul_wide(a, b, w, signed).wrapping_add(c) & mask(2 * w)
}

/// The 48-bit product of the low 24 bits of `a` and `b` (sign-extended from bit 23 if signed).
#[inline]
fn mul24(a: u64, b: u64, signed: bool) -> i64 {
    let (x, y) = if signed {
        (sext(a, 24), sext(b, 24))
    } else {
        ((a & 0xFF_FFFF) as i64, (b & 0xFF_FFFF) as i64)
    };
    x * y
}

/// `mul24.lo`: low 32 bits of the 48-bit product.
#[inline]
pub fn mul24_lo(a: u64, b: u64, signed: bool) -> u64 {
    mul24(a, b, signed) as u64 & 0xFFFF_FFFF
}

/// `mul24.hi`: bits 47..16 of the 48-bit product.
#[inline]
pub fn mul24_hi(a: u64, b: u64, signed: bool) -> u64 {
    (mul24(a, b, signed) >> 16) as u64 & 0xFFFF_FFFF
}

/// `mad24.hi.sat.s32`: bits 47..16 of the product plus `c`, clamped to the s32 range.
#[inline]
pub fn mad24_hi_sat_s32(a: u64, b: u64, c: u64) -> u64 {
    let s = (mul24(a, b, true) >> 16) as i32 as i64 + c as i32 as i64;
    s.clamp(i32::MIN as i64, i32::MAX as i64) as i32 as u32 as u64
}

/// `sad`: `c + |a - b|` modulo 2^w.
#[inline]
pub fn sad(a: u64, b: u64, c: u64, w: u32, signed: bool) -> u64 {
    let d = (val(a, w, signed) - val(b, w, signed)).unsigned_abs() as u64;
    add(c, d, w)
}

/// `div`: truncating division. Division by zero gives all ones (−1 for signed types, as the
/// GPU's division sequence does); `MIN / -1` gives `MIN`.
#[inline]
pub fn div(a: u64, b: u64, w: u32, signed: bool) -> u64 {
    let (x, y) = (val(a, w, signed), val(b, w, signed));
    if y == 0 {
        return mask(w);
    }
    (x / y) as u64 & mask(w)
}

/// `rem`: remainder with the dividend's sign. `x % 0` gives all ones (as the GPU's division
/// sequence does, signed or not); `MIN % -1` gives 0.
#[inline]
pub fn rem(a: u64, b: u64, w: u32, signed: bool) -> u64 {
    let (x, y) = (val(a, w, signed), val(b, w, signed));
    if y == 0 {
        return mask(w);
    }
    (x % y) as u64 & mask(w)
}

/// `abs.sN`: `|a|` modulo 2^w (`abs(MIN)` is `MIN`).
#[inline]
pub fn abs(a: u64, w: u32) -> u64 {
    sext(a, w).unsigned_abs() & mask(w)
}

/// `neg`: `-a` modulo 2^w.
#[inline]
pub fn neg(a: u64, w: u32) -> u64 {
    a.wrapping_neg() & mask(w)
}

/// `min`, signed or unsigned.
#[inline]
pub fn min(a: u64, b: u64, w: u32, signed: bool) -> u64 {
    val(a, w, signed).min(val(b, w, signed)) as u64 & mask(w)
}

/// `max`, signed or unsigned.
#[inline]
pub fn max(a: u64, b: u64, w: u32, signed: bool) -> u64 {
    val(a, w, signed).max(val(b, w, signed)) as u64 & mask(w)
}

/// `dp4a`: `c` plus the four byte-wise products of `a` and `b` (each byte signed or not).
#[inline]
pub fn dp4a(a: u64, b: u64, c: u64, a_signed: bool, b_signed: bool) -> u64 {
    let byte = |x: u64, i: u32, s: bool| val(x >> (8 * i), 8, s) as i64;
    let mut acc = c as u32 as i64;
    for i in 0..4 {
        acc = acc.wrapping_add(byte(a, i, a_signed) * byte(b, i, b_signed));
    }
    acc as u64 & 0xFFFF_FFFF
}

/// `dp2a.lo`/`.hi`: `c` plus the products of `a`'s two 16-bit halves with bytes 0–1 (`.lo`) or
/// 2–3 (`.hi`) of `b`.
#[inline]
pub fn dp2a(a: u64, b: u64, c: u64, a_signed: bool, b_signed: bool, hi: bool) -> u64 {
    let base = if hi { 2 } else { 0 };
    let mut acc = c as u32 as i64;
    for i in 0..2 {
        let x = val(a >> (16 * i), 16, a_signed) as i64;
        let y = val(b >> (8 * (base + i)), 8, b_signed) as i64;
        acc = acc.wrapping_add(x * y);
    }
    acc as u64 & 0xFFFF_FFFF
}

/// Applies `f` to the two 16-bit halves of `a` and `b` (`.u16x2`/`.s16x2` operands, low half
/// first) and packs the two 16-bit results.
#[inline]
pub fn x2(a: u64, b: u64, f: impl Fn(u16, u16) -> u16) -> u64 {
    let lo = f(a as u16, b as u16);
    let hi = f((a >> 16) as u16, (b >> 16) as u16);
    u64::from(lo) | u64::from(hi) << 16
}

/// `add.u16x2`/`add.s16x2`: lane-wise wrapping addition.
#[inline]
pub fn add_x2(a: u64, b: u64) -> u64 {
    x2(a, b, u16::wrapping_add)
}

/// `min`/`max` of `.u16x2` or `.s16x2` (lane-wise, signed or not); `relu` (`.s16x2` only)
/// clamps a negative lane result to 0.
#[inline]
pub fn minmax_x2(a: u64, b: u64, is_min: bool, signed: bool, relu: bool) -> u64 {
    x2(a, b, |x, y| {
        let r = match (signed, is_min) {
            (true, true) => (x as i16).min(y as i16) as u16,
            (true, false) => (x as i16).max(y as i16) as u16,
            (false, true) => x.min(y),
            (false, false) => x.max(y),
        };
        if relu && (r as i16) < 0 {
            0
        } else {
            r
        }
    })
}

/// Lowers `add`/`min`/`max` on packed 16-bit integers (`.u16x2`, `.s16x2`); `sub` does not
/// take them (ptxas 13.0 refuses it).
pub(super) fn lower_x2(inst: &ir::Instruction, ty: T) -> Result<Alu, ArithError> {
    let signed = ty == T::S16x2;
    let relu = inst.has(M::Relu);
    let allowed = |m: &M| *m == M::Relu && signed && matches!(inst.opcode, O::Min | O::Max);
    if let Some(m) = inst.mods.iter().find(|m| !allowed(m)) {
        return Err(unsupported(inst, format!("{m:?} with {ty}")));
    }
    Ok(match inst.opcode {
        O::Add => f2(add_x2),
        O::Min => f2(move |a, b| minmax_x2(a, b, true, signed, relu)),
        O::Max => f2(move |a, b| minmax_x2(a, b, false, signed, relu)),
        _ => return Err(unsupported(inst, format!("{ty} form"))),
    })
}

/// `a + b + cin` with carry out (`add.cc`, `addc`).
#[inline]
pub fn add_carry(a: u64, b: u64, cin: bool, w: u32) -> (u64, bool) {
    let s = (a & mask(w)) as u128 + (b & mask(w)) as u128 + cin as u128;
    (s as u64 & mask(w), s >> w != 0)
}

/// `sub.cc` / `subc`: `a + !b + cin`, the GPU's subtraction, with its carry out. The carry
/// flag is the inverted borrow: `sub.cc` sets it when no borrow occurs, and `subc` computes
/// `a - b - 1 + cin` (`a - b` when the flag is set). GPU-observed.
#[inline]
pub fn sub_carry(a: u64, b: u64, cin: bool, w: u32) -> (u64, bool) {
    add_carry(a, !b, cin, w)
}

fn width(inst: &ir::Instruction, ty: T) -> Result<(u32, bool), ArithError> {
    match ty {
        T::U8 | T::U16 | T::U32 | T::U64 | T::B8 | T::B16 | T::B32 | T::B64 => {
            Ok((ty.bits(), false))
        }
        T::S8 | T::S16 | T::S32 | T::S64 => Ok((ty.bits(), true)),
        _ => Err(unsupported(inst, format!("type {ty}"))),
    }
}

fn carry(f: impl Fn(u64, u64, u64, bool) -> (u64, bool) + Send + Sync + 'static) -> Alu {
    Alu::Carry(Box::new(f))
}

/// Lowers an integer arithmetic instruction of type `ty`.
pub(super) fn lower(inst: &ir::Instruction, ty: T) -> Result<Alu, ArithError> {
    let (w, s) = width(inst, ty)?;
    let sat = inst.has(M::Sat);
    let cc = inst.has(M::Cc);
    let hi = inst.has(M::Hi);
    let wide = inst.has(M::Wide);
    if sat && ty != T::S32 {
        return Err(unsupported(inst, ".sat on a type other than .s32"));
    }
    let alu = match inst.opcode {
        O::Add if cc => carry(move |a, b, _, _| add_carry(a, b, false, w)),
        O::Addc => carry(move |a, b, _, c| add_carry(a, b, c, w)),
        O::Sub if cc => carry(move |a, b, _, _| sub_carry(a, b, true, w)),
        O::Subc => carry(move |a, b, _, c| sub_carry(a, b, c, w)),
        O::Add if sat => f2(add_sat_s32),
        O::Sub if sat => f2(sub_sat_s32),
        O::Add => match w {
            32 => f2(|a, b| (a as u32).wrapping_add(b as u32) as u64),
            64 => f2(|a, b| a.wrapping_add(b)),
            _ => f2(move |a, b| add(a, b, w)),
        },
        O::Sub => match w {
            32 => f2(|a, b| (a as u32).wrapping_sub(b as u32) as u64),
            64 => f2(|a, b| a.wrapping_sub(b)),
            _ => f2(move |a, b| sub(a, b, w)),
        },
        O::Mul if wide => {
            if w > 32 {
                return Err(unsupported(inst, ".wide on a 64-bit type"));
            }
            f2(move |a, b| mul_wide(a, b, w, s))
        }
        O::Mul if hi => match (w, s) {
            (32, false) => f2(|a, b| (a as u32 as u64 * b as u32 as u64) >> 32),
            (32, true) => f2(|a, b| ((a as i32 as i64 * b as i32 as i64) >> 32) as u32 as u64),
            _ => f2(move |a, b| mul_hi(a, b, w, s)),
        },
        O::Mul => match w {
            32 => f2(|a, b| (a as u32).wrapping_mul(b as u32) as u64),
            64 => f2(|a, b| a.wrapping_mul(b)),
            _ => f2(move |a, b| mul_lo(a, b, w)),
        },
        O::Mad | O::Madc if cc || inst.opcode == O::Madc => {
            let with_cin = inst.opcode == O::Madc;
            if hi {
                carry(move |a, b, c, cin| {
                    let (r, co) = add_carry(mul_hi(a, b, w, s), c, cin && with_cin, w);
                    (r, co)
                })
            } else {
                carry(move |a, b, c, cin| add_carry(mul_lo(a, b, w), c, cin && with_cin, w))
            }
        }
        O::Mad if wide => {
            if w > 32 {
                return Err(unsupported(inst, ".wide on a 64-bit type"));
            }
            f3(move |a, b, c| mad_wide(a, b, c, w, s))
        }
        O::Mad if hi && sat => f3(mad_hi_sat_s32),
        O::Mad if hi => f3(move |a, b, c| mad_hi(a, b, c, w, s)),
        O::Mad => match w {
            32 => f3(|a, b, c| (a as u32).wrapping_mul(b as u32).wrapping_add(c as u32) as u64),
            _ => f3(move |a, b, c| mad_lo(a, b, c, w)),
        },
        O::Mul24 | O::Mad24 if w != 32 => return Err(unsupported(inst, "24-bit multiply type")),
        O::Mul24 if hi => f2(move |a, b| mul24_hi(a, b, s)),
        O::Mul24 => f2(move |a, b| mul24_lo(a, b, s)),
        O::Mad24 if hi && sat => f3(mad24_hi_sat_s32),
        O::Mad24 if hi => f3(move |a, b, c| add(mul24_hi(a, b, s), c, 32)),
        O::Mad24 => f3(move |a, b, c| add(mul24_lo(a, b, s), c, 32)),
        O::Sad => f3(move |a, b, c| sad(a, b, c, w, s)),
        O::Div => match (w, s) {
            (32, false) => f2(|a, b| {
                let (a, b) = (a as u32, b as u32);
                a.checked_div(b).unwrap_or(u32::MAX) as u64
            }),
            _ => f2(move |a, b| div(a, b, w, s)),
        },
        O::Rem => match (w, s) {
            (32, false) => f2(|a, b| {
                let (a, b) = (a as u32, b as u32);
                a.checked_rem(b).unwrap_or(u32::MAX) as u64
            }),
            _ => f2(move |a, b| rem(a, b, w, s)),
        },
        O::Abs => f1(move |a| abs(a, w)),
        O::Neg => f1(move |a| neg(a, w)),
        O::Min | O::Max => {
            let relu = inst.has(M::Relu);
            if relu && ty != T::S32 {
                return Err(unsupported(inst, ".relu on a type other than .s32"));
            }
            let is_min = inst.opcode == O::Min;
            f2(move |a, b| {
                let r = if is_min {
                    min(a, b, w, s)
                } else {
                    max(a, b, w, s)
                };
                if relu && (r as i32) < 0 {
                    0
                } else {
                    r
                }
            })
        }
        O::Dp4a | O::Dp2a => {
            let bty = inst.types.get(1).copied().unwrap_or(ty);
            let (_, bs) = width(inst, bty)?;
            if inst.opcode == O::Dp4a {
                f3(move |a, b, c| dp4a(a, b, c, s, bs))
            } else {
                f3(move |a, b, c| dp2a(a, b, c, s, bs, hi))
            }
        }
        _ => return Err(unsupported(inst, "integer form")),
    };
    Ok(alu)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const WIDTHS: [u32; 4] = [8, 16, 32, 64];

    fn wrap(v: i128, w: u32) -> u64 {
        v as u64 & mask(w)
    }

    #[test]
    fn division_edge_cases() {
        assert_eq!(div(7, 0, 32, false), 0xFFFF_FFFF);
        assert_eq!(div(7, 0, 32, true), 0xFFFF_FFFF);
        assert_eq!(div(7, 0, 64, false), u64::MAX);
        assert_eq!(rem(7, 0, 32, false), 0xFFFF_FFFF);
        assert_eq!(rem((-7i32) as u32 as u64, 0, 32, true), 0xFFFF_FFFF);
        assert_eq!(rem(7, 0, 16, true), 0xFFFF);
        let min = i32::MIN as u32 as u64;
        assert_eq!(div(min, 0xFFFF_FFFF, 32, true), min);
        assert_eq!(rem(min, 0xFFFF_FFFF, 32, true), 0);
        assert_eq!(div(i64::MIN as u64, u64::MAX, 64, true), i64::MIN as u64);
        assert_eq!(
            div((-7i32) as u32 as u64, 2, 32, true),
            (-3i32) as u32 as u64
        );
        assert_eq!(
            rem((-7i32) as u32 as u64, 2, 32, true),
            (-1i32) as u32 as u64
        );
    }

    #[test]
    fn mul24_and_sat_forms() {
        // 0x800000 is −2^23 as a signed 24-bit value.
        assert_eq!(
            mul24_lo(0x80_0000, 2, true),
            (-(1i64 << 24)) as u64 & 0xFFFF_FFFF
        );
        assert_eq!(mul24_lo(0xFF80_0000 | 0x80_0000, 2, false), 0x100_0000);
        assert_eq!(
            mul24_hi(0xFF_FFFF, 0xFF_FFFF, false),
            (0xFF_FFFFu64 * 0xFF_FFFF) >> 16
        );
        assert_eq!(add_sat_s32(i32::MAX as u64, 1), i32::MAX as u32 as u64);
        assert_eq!(
            sub_sat_s32(i32::MIN as u32 as u64, 1),
            i32::MIN as u32 as u64
        );
        assert_eq!(
            mad_hi_sat_s32(0x7FFF_FFFF, 0x7FFF_FFFF, 0x7FFF_FFFF),
            0x7FFF_FFFF
        );
    }

    #[test]
    fn carry_chain_builds_64_bit_add() {
        let (lo, c) = add_carry(0xFFFF_FFFF, 1, false, 32);
        let (hi, c2) = add_carry(0, 0, c, 32);
        assert_eq!((lo, hi, c2), (0, 1, false));
        // 5:0 − 0:1 = 4:FFFFFFFF; the low word borrows, so its carry flag is clear.
        let (lo, c) = sub_carry(0, 1, true, 32);
        let (hi, _) = sub_carry(5, 0, c, 32);
        assert_eq!((lo, c, hi), (0xFFFF_FFFF, false, 4));
        assert_eq!(sub_carry(5, 3, true, 32), (2, true));
    }

    #[test]
    fn dot_products() {
        // bytes a = [1, -1, 2, -2] (signed), b = [3, 4, 5, 6]
        let a = u32::from_le_bytes([1, 0xFF, 2, 0xFE]) as u64;
        let b = u32::from_le_bytes([3, 4, 5, 6]) as u64;
        assert_eq!(dp4a(a, b, 10, true, false), (10 + 3 - 4 + 10 - 12) as u64);
        assert_eq!(dp4a(a, b, 0, false, false), 3 + 255 * 4 + 10 + 254 * 6);
        let a2 = (((-3i16) as u16 as u64) << 16) | 7;
        assert_eq!(
            dp2a(a2, b, 1, true, true, false),
            (1 + 7 * 3 - 3 * 4) as u64
        );
        assert_eq!(dp2a(a2, b, 1, true, true, true), (1 + 7 * 5 - 3 * 6) as u64);
    }

    #[test]
    fn packed_halves_wrap_independently() {
        // 0xFFFF + 1 wraps in the low half without carrying into the high half.
        assert_eq!(add_x2(0x0001_FFFF, 0x0001_0001), 0x0002_0000);
        assert_eq!(add_x2(0x7FFF_8000, 0x0001_FFFF), 0x8000_7FFF);
        // -1 (0xFFFF) is the signed minimum of {-1, 1} but the unsigned maximum.
        let (a, b) = (0xFFFF_0001, 0x0001_FFFF);
        assert_eq!(minmax_x2(a, b, true, true, false), 0xFFFF_FFFF);
        assert_eq!(minmax_x2(a, b, true, false, false), 0x0001_0001);
        assert_eq!(minmax_x2(a, b, false, true, false), 0x0001_0001);
        assert_eq!(minmax_x2(a, b, false, false, false), 0xFFFF_FFFF);
        assert_eq!(minmax_x2(a, b, true, true, true), 0);
        // relu keeps positives and zeroes each negative lane on its own.
        assert_eq!(
            minmax_x2(0x8000_0005, 0x8001_0007, false, true, true),
            0x0000_0007
        );
    }

    proptest! {
        #[test]
        fn packed_matches_per_lane_i32(a in any::<u32>(), b in any::<u32>()) {
            let (a, b) = (a as u64, b as u64);
            let lane = |x: u64, i: u32| (x >> (16 * i)) as u16;
            for i in 0..2 {
                let (x, y) = (lane(a, i), lane(b, i));
                let (sx, sy) = (x as i16 as i32, y as i16 as i32);
                prop_assert_eq!(lane(add_x2(a, b), i), (x as u32 + y as u32) as u16);
                prop_assert_eq!(lane(minmax_x2(a, b, true, false, false), i), x.min(y));
                prop_assert_eq!(lane(minmax_x2(a, b, false, false, false), i), x.max(y));
                prop_assert_eq!(lane(minmax_x2(a, b, true, true, false), i), sx.min(sy) as u16);
                prop_assert_eq!(lane(minmax_x2(a, b, false, true, true), i), sx.max(sy).max(0) as u16);
                prop_assert_eq!(lane(minmax_x2(a, b, true, true, true), i), sx.min(sy).max(0) as u16);
            }
            prop_assert!(add_x2(a, b) <= 0xFFFF_FFFF);
        }

        #[test]
        fn arithmetic_matches_i128(a in any::<u64>(), b in any::<u64>(), c in any::<u64>(), wi in 0usize..4, s in any::<bool>()) {
            let w = WIDTHS[wi];
            let (x, y, z) = (val(a, w, s), val(b, w, s), val(c, w, s));
            prop_assert_eq!(add(a, b, w), wrap(x + y, w));
            prop_assert_eq!(sub(a, b, w), wrap(x - y, w));
            prop_assert_eq!(mul_lo(a, b, w), wrap(x.wrapping_mul(y), w));
            let full = x.wrapping_mul(y);
            prop_assert_eq!(mul_hi(a, b, w, s), wrap(full >> w, w));
            prop_assert_eq!(mad_lo(a, b, c, w), wrap(full + z, w));
            prop_assert_eq!(mad_hi(a, b, c, w, s), wrap((full >> w) + z, w));
            prop_assert_eq!(sad(a, b, c, w, s), wrap(z + (x - y).abs(), w));
            prop_assert_eq!(min(a, b, w, s), wrap(x.min(y), w));
            prop_assert_eq!(max(a, b, w, s), wrap(x.max(y), w));
            prop_assert_eq!(neg(a, w), wrap(-x, w));
            if y != 0 && !(s && y == -1) {
                prop_assert_eq!(div(a, b, w, s), wrap(x / y, w));
                prop_assert_eq!(rem(a, b, w, s), wrap(x % y, w));
            }
            if w <= 32 {
                prop_assert_eq!(mul_wide(a, b, w, s), wrap(x * y, 2 * w));
                let cw = val(c, 2 * w, s);
                prop_assert_eq!(mad_wide(a, b, c, w, s), wrap(x * y + cw, 2 * w));
            }
            if s {
                prop_assert_eq!(abs(a, w), wrap(x.abs(), w));
            }
            let (r, co) = add_carry(a, b, c & 1 == 1, w);
            let ux = (a & mask(w)) as i128;
            let uy = (b & mask(w)) as i128;
            let sum = ux + uy + (c & 1) as i128;
            prop_assert_eq!((r, co), (wrap(sum, w), sum >> w != 0));
            let (r, co) = sub_carry(a, b, c & 1 == 1, w);
            let dif = ux - uy - 1 + (c & 1) as i128;
            prop_assert_eq!((r, co), (wrap(dif, w), dif >= 0));
        }
    }
}
