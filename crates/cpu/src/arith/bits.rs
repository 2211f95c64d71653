//! Bit manipulation: logic ops, shifts and funnel shifts, `popc clz bfind brev bfe bfi bmsk
//! szext prmt lop3`.

use super::int::{mask, sext};
use super::lower::{f1, f2, f3, f4, unsupported};
use super::{Alu, ArithError};
use ferrocuda_ptx::ir::{self, Modifier as M, Opcode as O, PrmtMode, ScalarType as T};

/// `popc`: number of set bits in the low `w` bits.
#[inline]
pub fn popc(a: u64, w: u32) -> u64 {
    (a & mask(w)).count_ones() as u64
}

/// `clz`: leading zeros of the `w`-bit value.
#[inline]
pub fn clz(a: u64, w: u32) -> u64 {
    ((a & mask(w)).leading_zeros() - (64 - w)) as u64
}

/// `bfind`: bit position of the most significant non-sign bit (for signed types: the most
/// significant bit that differs from the sign); `0xFFFFFFFF` if there is none. With
/// `.shiftamt`, the left shift that would bring that bit to the top instead.
#[inline]
pub fn bfind(a: u64, w: u32, signed: bool, shiftamt: bool) -> u64 {
    let mut x = a & mask(w);
    if signed && sext(a, w) < 0 {
        x = !x & mask(w);
    }
    if x == 0 {
        return 0xFFFF_FFFF;
    }
    let pos = 63 - x.leading_zeros() as u64;
    if shiftamt {
        (w as u64 - 1) - pos
    } else {
        pos
    }
}

/// `brev`: bit reversal of the `w`-bit value.
#[inline]
pub fn brev(a: u64, w: u32) -> u64 {
    a.reverse_bits() >> (64 - w)
}

/// `bfe`: extracts `len` bits from position `pos`, zero- or sign-extended (the sign is the
/// field's top bit, or the value's top bit when the field runs past it). For 32-bit types
/// `pos = b & 0xff`, `len = c & 0xff` as PTX specifies; the 64-bit forms use the whole 32-bit
/// operands (GPU-observed: `ptxas` expands them into shifts that do not mask).
#[inline]
pub fn bfe(a: u64, b: u64, c: u64, w: u32, signed: bool) -> u64 {
    let (pos, len) = field(b, c, w);
    let msb = w as u64 - 1;
    let a = a & mask(w);
    let sbit = if !signed || len == 0 {
        0
    } else {
        (a >> (pos + len - 1).min(msb)) & 1
    };
    let fill = if sbit == 1 { mask(w) } else { 0 };
    if pos > msb {
        return fill;
    }
    // Bits available from `pos` upwards, and how many of them the field takes.
    let n = len.min(w as u64 - pos) as u32;
    let field = if n == 0 { 0 } else { (a >> pos) & mask(n) };
    field | (fill & !mask(n))
}

/// Position and length operands of `bfe`/`bfi` for a `w`-bit type.
#[inline]
fn field(b: u64, c: u64, w: u32) -> (u64, u64) {
    if w == 64 {
        (b & 0xFFFF_FFFF, c & 0xFFFF_FFFF)
    } else {
        (b & 0xFF, c & 0xFF)
    }
}

/// `bfi`: inserts the low `len` bits of `a` into `b` at `pos` (operands read as for [`bfe`]).
#[inline]
pub fn bfi(a: u64, b: u64, c: u64, d: u64, w: u32) -> u64 {
    let (pos, len) = field(c, d, w);
    if pos >= w as u64 || len == 0 {
        return b & mask(w);
    }
    let n = len.min(w as u64 - pos) as u32;
    let m = mask(n) << pos;
    ((b & !m) | ((a << pos) & m)) & mask(w)
}

/// `bmsk`: a mask of `b` ones starting at bit `a` (`.clamp`: both limited to 32; `.wrap`:
/// both taken modulo 32).
#[inline]
pub fn bmsk(a: u64, b: u64, wrap: bool) -> u64 {
    let (start, width) = if wrap {
        ((a & 31) as u32, (b & 31) as u32)
    } else {
        ((a as u32).min(32), (b as u32).min(32))
    };
    if start >= 32 {
        return 0;
    }
    (mask(width) << start) & 0xFFFF_FFFF
}

/// `szext`: sign- (`signed`) or zero-extends the low `b` bits of `a` (`.clamp`: `b` limited
/// to 32; `.wrap`: `b` modulo 32).
#[inline]
pub fn szext(a: u64, b: u64, wrap: bool, signed: bool) -> u64 {
    let n = if wrap {
        (b & 31) as u32
    } else {
        (b as u32).min(32)
    };
    match n {
        0 => 0,
        32.. => a & 0xFFFF_FFFF,
        _ if signed => sext(a, n) as u64 & 0xFFFF_FFFF,
        _ => a & mask(n),
    }
}

/// `prmt.b32`: byte permute of the 8 bytes `{b, a}` selected by `c` in `mode` (`None` is the
/// default, 4-bit selectors with sign replication).
#[inline]
pub fn prmt(a: u64, b: u64, c: u64, mode: Option<PrmtMode>) -> u64 {
    let src = ((b & 0xFFFF_FFFF) << 32) | (a & 0xFFFF_FFFF);
    let byte = |i: u64| (src >> (8 * (i & 7))) & 0xFF;
    let s = c & 3;
    let sel: [u64; 4] = match mode {
        None => {
            let mut d = 0;
            for i in 0..4 {
                let n = (c >> (4 * i)) & 0xF;
                let v = byte(n & 7);
                let v = if n & 8 != 0 {
                    if v & 0x80 != 0 {
                        0xFF
                    } else {
                        0
                    }
                } else {
                    v
                };
                d |= v << (8 * i);
            }
            return d;
        }
        Some(PrmtMode::F4e) => [s, s + 1, s + 2, s + 3],
        Some(PrmtMode::B4e) => [s, s + 7, s + 6, s + 5],
        Some(PrmtMode::Rc8) => [s, s, s, s],
        Some(PrmtMode::Ecl) => [s, s.max(1), s.max(2), 3],
        Some(PrmtMode::Ecr) => [0, s.min(1), s.min(2), s],
        Some(PrmtMode::Rc16) => {
            let h = (s & 1) * 2;
            [h, h + 1, h, h + 1]
        }
    };
    sel.iter()
        .enumerate()
        .fold(0, |d, (i, &n)| d | (byte(n) << (8 * i)))
}

/// `lop3`: the bitwise function of `a, b, c` whose truth table is `lut` (index bit 2 = a,
/// bit 1 = b, bit 0 = c, as in `0xF0 & 0xCC` for `a & b`).
#[inline]
pub fn lop3(a: u64, b: u64, c: u64, lut: u64) -> u64 {
    let mut r = 0u64;
    for i in 0..8 {
        if (lut >> i) & 1 != 0 {
            let x = if i & 4 != 0 { a } else { !a };
            let y = if i & 2 != 0 { b } else { !b };
            let z = if i & 1 != 0 { c } else { !c };
            r |= x & y & z;
        }
    }
    r & 0xFFFF_FFFF
}

/// `shf.l` / `shf.r`: funnel shift of the 64-bit `{b, a}` by `c` (`.wrap`: `c & 31`;
/// `.clamp`: `min(c, 32)`), returning the high word for `.l` and the low word for `.r`.
/// `arith` fills with `b`'s sign on the right shift (`shf.r.s32`).
#[inline]
pub fn shf(a: u64, b: u64, c: u64, left: bool, wrap: bool, arith: bool) -> u64 {
    let n = if wrap {
        (c & 31) as u32
    } else {
        (c as u32).min(32)
    };
    let v = ((b & 0xFFFF_FFFF) << 32) | (a & 0xFFFF_FFFF);
    if left {
        ((v << n) >> 32) & 0xFFFF_FFFF
    } else if arith {
        (((v as i64) >> n) as u64) & 0xFFFF_FFFF
    } else {
        (v >> n) & 0xFFFF_FFFF
    }
}

/// `shl`: `a << b`; amounts of `w` or more (`b` read as u32) give 0.
#[inline]
pub fn shl(a: u64, b: u64, w: u32) -> u64 {
    let n = b as u32;
    if n >= w {
        0
    } else {
        (a << n) & mask(w)
    }
}

/// `shr`: logical (`.u`, `.b`) or arithmetic (`.s`) right shift; amounts of `w` or more give
/// 0 or the sign fill.
#[inline]
pub fn shr(a: u64, b: u64, w: u32, signed: bool) -> u64 {
    let n = (b as u32).min(w - 1 + !signed as u32);
    if signed {
        (sext(a, w) >> n.min(63)) as u64 & mask(w)
    } else if n >= w {
        0
    } else {
        (a & mask(w)) >> n
    }
}

/// Lowers a bit-manipulation instruction of type `ty`.
pub(super) fn lower(inst: &ir::Instruction, ty: T) -> Result<Alu, ArithError> {
    let w = match ty {
        T::Pred => 1,
        T::B128 => return Err(unsupported(inst, "128-bit operands")),
        t if t.is_float() => return Err(unsupported(inst, format!("type {t}"))),
        t => t.bits(),
    };
    let s = ty.is_signed();
    let m = mask(w);
    let wrap = inst.has(M::Wrap);
    let alu = match inst.opcode {
        O::And => f2(|a, b| a & b),
        O::Or => f2(|a, b| a | b),
        O::Xor => f2(|a, b| a ^ b),
        O::Not => f1(move |a| !a & m),
        O::Cnot => f1(move |a| (a & m == 0) as u64),
        O::Popc => f1(move |a| popc(a, w)),
        O::Clz => f1(move |a| clz(a, w)),
        O::Bfind => {
            let sa = inst.has(M::ShiftAmt);
            f1(move |a| bfind(a, w, s, sa))
        }
        O::Brev => f1(move |a| brev(a, w)),
        O::Bfe => f3(move |a, b, c| bfe(a, b, c, w, s)),
        O::Bfi => f4(move |a, b, c, d| bfi(a, b, c, d, w)),
        O::Bmsk => f2(move |a, b| bmsk(a, b, wrap)),
        O::Szext => f2(move |a, b| szext(a, b, wrap, s)),
        O::Prmt => {
            let mode = inst.mods.iter().find_map(|m| match m {
                M::PrmtMode(p) => Some(*p),
                _ => None,
            });
            f3(move |a, b, c| prmt(a, b, c, mode))
        }
        O::Lop3 => {
            if inst.mods.iter().any(|m| matches!(m, M::Bool(_))) {
                return Err(unsupported(inst, "lop3 with a predicate result"));
            }
            f4(lop3)
        }
        O::Shf => {
            let left = inst.has(M::Left);
            let right = inst.has(M::Right);
            if left == right {
                return Err(unsupported(inst, "shf without .l or .r"));
            }
            f3(move |a, b, c| shf(a, b, c, left, wrap, s))
        }
        O::Shl => match w {
            32 => f2(|a, b| {
                if b as u32 >= 32 {
                    0
                } else {
                    ((a as u32) << b) as u64
                }
            }),
            _ => f2(move |a, b| shl(a, b, w)),
        },
        O::Shr => f2(move |a, b| shr(a, b, w, s)),
        _ => return Err(unsupported(inst, "bit operation")),
    };
    Ok(alu)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn shifts_past_width() {
        assert_eq!(shl(1, 32, 32), 0);
        assert_eq!(shl(1, 31, 32), 0x8000_0000);
        assert_eq!(shl(1, 0x1_0000_0001, 32), 2); // the amount is read as u32
        assert_eq!(shr(0x8000_0000, 40, 32, false), 0);
        assert_eq!(shr(0x8000_0000, 40, 32, true), 0xFFFF_FFFF);
        assert_eq!(shr(0x4000_0000, 40, 32, true), 0);
        assert_eq!(shr(0x8000, 3, 16, true), 0xF000);
        assert_eq!(shr(u64::MAX, 64, 64, true), u64::MAX);
    }

    #[test]
    fn bfind_and_friends() {
        assert_eq!(bfind(0, 32, false, false), 0xFFFF_FFFF);
        assert_eq!(bfind(1, 32, false, false), 0);
        assert_eq!(bfind(0x8000_0000, 32, false, false), 31);
        assert_eq!(bfind(0x8000_0000, 32, false, true), 0);
        assert_eq!(bfind(0xFFFF_FFFF, 32, true, false), 0xFFFF_FFFF);
        assert_eq!(bfind(0xFFFF_FFFE, 32, true, false), 0);
        assert_eq!(bfind(0x8000_0000, 32, true, false), 30);
        assert_eq!(clz(0, 32), 32);
        assert_eq!(clz(1, 64), 63);
        assert_eq!(brev(1, 32), 0x8000_0000);
        assert_eq!(popc(u64::MAX, 32), 32);
    }

    #[test]
    fn bfe_matches_ptx_pseudocode() {
        fn reference(a: u64, b: u64, c: u64, w: u32, signed: bool) -> u64 {
            let msb = w as u64 - 1;
            let m = if w == 64 { 0xFFFF_FFFF } else { 0xFF };
            let (pos, len) = (b & m, c & m);
            let sbit = if !signed || len == 0 {
                0
            } else {
                (a >> (pos + len - 1).min(msb)) & 1
            };
            let mut d = 0;
            for i in 0..=msb {
                let bit = if i < len && pos + i <= msb {
                    (a >> (pos + i)) & 1
                } else {
                    sbit
                };
                d |= bit << i;
            }
            d
        }
        for w in [32, 64] {
            for s in [false, true] {
                for pos in [0u64, 1, 5, 31, 32, 63, 64, 200, 0x1FF, 0x1_0000_0003] {
                    for len in [0u64, 1, 3, 8, 31, 32, 33, 64, 255] {
                        for a in [0u64, 0xDEAD_BEEF_8765_4321, u64::MAX, 0x8000_0000] {
                            let a = a & mask(w);
                            assert_eq!(
                                bfe(a, pos, len, w, s),
                                reference(a, pos, len, w, s),
                                "bfe w={w} s={s} pos={pos} len={len} a={a:#x}"
                            );
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn prmt_modes() {
        let a = 0x3322_1100;
        let b = 0x7766_5544;
        assert_eq!(prmt(a, b, 0x3210, None), a);
        assert_eq!(prmt(a, b, 0x7654, None), b);
        assert_eq!(prmt(0x80, 0, 0x4448, None), 0xFF);
        assert_eq!(prmt(0x80, 0, 0x0008, None), 0x8080_80FF);
        assert_eq!(prmt(a, b, 1, Some(PrmtMode::F4e)), 0x4433_2211);
        assert_eq!(prmt(a, b, 0, Some(PrmtMode::B4e)), 0x5566_7700);
        assert_eq!(prmt(a, b, 2, Some(PrmtMode::Rc8)), 0x2222_2222);
        assert_eq!(prmt(a, b, 1, Some(PrmtMode::Ecl)), 0x3322_1111);
        assert_eq!(prmt(a, b, 1, Some(PrmtMode::Ecr)), 0x1111_1100);
        assert_eq!(prmt(a, b, 3, Some(PrmtMode::Rc16)), 0x3322_3322);
    }

    #[test]
    fn funnel_shifts_and_masks() {
        assert_eq!(shf(0x8000_0000, 1, 1, true, false, false), 3);
        assert_eq!(shf(0, 1, 1, false, false, false), 0x8000_0000);
        assert_eq!(shf(5, 7, 40, true, false, false), 5);
        assert_eq!(shf(5, 7, 40, false, false, false), 7);
        assert_eq!(shf(5, 7, 32, true, true, false), 7);
        assert_eq!(shf(0, 0x8000_0000, 32, false, false, true), 0x8000_0000);
        assert_eq!(shf(0, 0x8000_0000, 31, false, false, true), 0);
        assert_eq!(bmsk(4, 4, false), 0xF0);
        assert_eq!(bmsk(30, 8, false), 0xC000_0000);
        assert_eq!(bmsk(32, 8, false), 0);
        assert_eq!(bmsk(33, 8, true), 0x1FE);
        assert_eq!(szext(0x80, 8, false, true), 0xFFFF_FF80);
        assert_eq!(szext(0x180, 8, false, false), 0x80);
        assert_eq!(szext(0x180, 0, false, true), 0);
        assert_eq!(bfi(0xF, 0, 4, 2, 32), 0x30);
        assert_eq!(bfi(0xF, 0, 31, 4, 32), 0x8000_0000);
    }

    proptest! {
        #[test]
        fn lop3_matches_lut(a in any::<u32>(), b in any::<u32>(), c in any::<u32>()) {
            let (a, b, c) = (a as u64, b as u64, c as u64);
            prop_assert_eq!(lop3(a, b, c, 0xF0 & 0xCC), a & b);
            prop_assert_eq!(lop3(a, b, c, 0xF0 | 0xAA), a | c);
            prop_assert_eq!(lop3(a, b, c, 0xF0 ^ 0xCC ^ 0xAA), a ^ b ^ c);
            prop_assert_eq!(lop3(a, b, c, 0), 0);
            prop_assert_eq!(lop3(a, b, c, 0xFF), 0xFFFF_FFFF);
        }

        #[test]
        fn funnel_matches_u64(a in any::<u32>(), b in any::<u32>(), c in 0u64..64) {
            let v = ((b as u64) << 32) | a as u64;
            let n = c.min(32);
            prop_assert_eq!(shf(a as u64, b as u64, c, false, false, false), (v >> n) & 0xFFFF_FFFF);
            prop_assert_eq!(shf(a as u64, b as u64, c, true, false, false), ((v << n) >> 32) & 0xFFFF_FFFF);
        }
    }
}
