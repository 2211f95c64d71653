//! Comparisons and selection: `setp`, `set`, `selp`, `slct`, `testp`.

use super::fp::Fmt;
use super::int::{mask, val};
use super::lower::{f1, f3, unsupported};
use super::{Alu, ArithError};
use ferrocuda_ptx::ir::{
    self, BoolOp, CmpOp, Modifier as M, Opcode as O, ScalarType as T, TestClass,
};

/// Integer comparison of `w`-bit values; `signed` picks the order of `lt le gt ge`
/// (`lo ls hi hs` are always unsigned). `None` for float-only operators.
#[inline]
pub fn cmp_int(op: CmpOp, a: u64, b: u64, w: u32, signed: bool) -> Option<bool> {
    let (x, y) = (val(a, w, signed), val(b, w, signed));
    let (ux, uy) = (a & mask(w), b & mask(w));
    Some(match op {
        CmpOp::Eq => x == y,
        CmpOp::Ne => x != y,
        CmpOp::Lt => x < y,
        CmpOp::Le => x <= y,
        CmpOp::Gt => x > y,
        CmpOp::Ge => x >= y,
        CmpOp::Lo => ux < uy,
        CmpOp::Ls => ux <= uy,
        CmpOp::Hi => ux > uy,
        CmpOp::Hs => ux >= uy,
        _ => return None,
    })
}

/// Float comparison: ordered operators are false when either operand is NaN, the `u`
/// variants true; `num`/`nan` test for NaN. `None` for unsigned-integer operators.
#[inline]
pub fn cmp_float(op: CmpOp, x: f64, y: f64) -> Option<bool> {
    let un = x.is_nan() || y.is_nan();
    Some(match op {
        CmpOp::Eq => !un && x == y,
        CmpOp::Ne => !un && x != y,
        CmpOp::Lt => !un && x < y,
        CmpOp::Le => !un && x <= y,
        CmpOp::Gt => !un && x > y,
        CmpOp::Ge => !un && x >= y,
        CmpOp::Equ => un || x == y,
        CmpOp::Neu => un || x != y,
        CmpOp::Ltu => un || x < y,
        CmpOp::Leu => un || x <= y,
        CmpOp::Gtu => un || x > y,
        CmpOp::Geu => un || x >= y,
        CmpOp::Num => !un,
        CmpOp::Nan => un,
        _ => return None,
    })
}

/// Combines a comparison result with the third predicate operand.
#[inline]
pub fn combine(op: BoolOp, x: bool, c: bool) -> bool {
    match op {
        BoolOp::And => x && c,
        BoolOp::Or => x || c,
        BoolOp::Xor => x ^ c,
    }
}

/// `testp`: classifies a float of `fmt`.
#[inline]
pub fn testp(fmt: Fmt, class: TestClass, a: u64) -> bool {
    let nan = fmt.is_nan(a);
    let inf = fmt.is_inf(a);
    match class {
        TestClass::Finite => !nan && !inf,
        TestClass::Infinite => inf,
        TestClass::Number => !nan,
        TestClass::NotANumber => nan,
        // The GPU counts ±0 as normal (observed on sm_90).
        TestClass::Normal => !nan && !inf && !fmt.is_subnormal(a),
        TestClass::Subnormal => fmt.is_subnormal(a),
    }
}

/// How a source type is compared.
#[derive(Clone, Copy)]
enum Kind {
    Int(u32, bool),
    Float(Fmt),
    /// Two packed halves compared separately.
    Pair(Fmt),
}

fn kind(inst: &ir::Instruction, ty: T) -> Result<Kind, ArithError> {
    Ok(match ty {
        T::F16 => Kind::Float(Fmt::F16),
        T::BF16 => Kind::Float(Fmt::BF16),
        T::F32 => Kind::Float(Fmt::F32),
        T::F64 => Kind::Float(Fmt::F64),
        T::F16x2 => Kind::Pair(Fmt::F16),
        T::BF16x2 => Kind::Pair(Fmt::BF16),
        T::B16 | T::B32 | T::B64 | T::U16 | T::U32 | T::U64 | T::U8 | T::B8 => {
            Kind::Int(ty.bits(), false)
        }
        T::S8 | T::S16 | T::S32 | T::S64 => Kind::Int(ty.bits(), true),
        _ => return Err(unsupported(inst, format!("comparison of {ty}"))),
    })
}

/// A comparison of two values of one type, with the type's `.ftz` handling folded in.
type Cmp2 = Box<dyn Fn(u64, u64) -> bool + Send + Sync>;

fn comparator(inst: &ir::Instruction, k: Kind, op: CmpOp, ftz: bool) -> Result<Cmp2, ArithError> {
    let bad = || unsupported(inst, format!("comparison {op:?} for this type"));
    Ok(match k {
        Kind::Int(w, s) => {
            cmp_int(op, 0, 0, w, s).ok_or_else(bad)?;
            Box::new(move |a, b| cmp_int(op, a, b, w, s).unwrap_or(false))
        }
        Kind::Float(fmt) | Kind::Pair(fmt) => {
            cmp_float(op, 0.0, 0.0).ok_or_else(bad)?;
            let conv = move |x: u64| {
                let x = x & if fmt.bits() == 64 {
                    u64::MAX
                } else {
                    mask(fmt.bits())
                };
                fmt.to_f64(if ftz { fmt.flush(x) } else { x })
            };
            match (fmt, ftz, op) {
                (Fmt::F32, false, CmpOp::Lt) => {
                    Box::new(|a, b| f32::from_bits(a as u32) < f32::from_bits(b as u32))
                }
                (Fmt::F32, false, CmpOp::Ge) => {
                    Box::new(|a, b| f32::from_bits(a as u32) >= f32::from_bits(b as u32))
                }
                _ => Box::new(move |a, b| cmp_float(op, conv(a), conv(b)).unwrap_or(false)),
            }
        }
    })
}

/// Lowers `setp`, `set`, `selp`, `slct`, `testp`.
pub(super) fn lower(inst: &ir::Instruction) -> Result<Alu, ArithError> {
    let ty0 = inst
        .ty()
        .ok_or_else(|| ArithError::Malformed(format!("{:?} without a type", inst.opcode)))?;
    let ftz = inst.has(M::Ftz);
    match inst.opcode {
        O::Selp => Ok(f3(|a, b, c| if c & 1 != 0 { a } else { b })),
        O::Slct => {
            let cty = *inst
                .types
                .get(1)
                .ok_or_else(|| ArithError::Malformed("slct without a compare type".into()))?;
            match cty {
                T::S32 => Ok(f3(|a, b, c| if (c as i32) >= 0 { a } else { b })),
                T::F32 => Ok(f3(move |a, b, c| {
                    let c = if ftz { Fmt::F32.flush(c) } else { c };
                    if f32::from_bits(c as u32) >= 0.0 {
                        a
                    } else {
                        b
                    }
                })),
                t => Err(unsupported(inst, format!("slct compare type {t}"))),
            }
        }
        O::Testp => {
            let class = inst
                .mods
                .iter()
                .find_map(|m| match m {
                    M::Test(t) => Some(*t),
                    _ => None,
                })
                .ok_or_else(|| ArithError::Malformed("testp without a class".into()))?;
            let fmt = match ty0 {
                T::F32 => Fmt::F32,
                T::F64 => Fmt::F64,
                T::F16 => Fmt::F16,
                T::BF16 => Fmt::BF16,
                t => return Err(unsupported(inst, format!("testp of {t}"))),
            };
            Ok(f1(move |a| testp(fmt, class, a) as u64))
        }
        O::Setp | O::Set => {
            let op = inst
                .cmp()
                .ok_or_else(|| ArithError::Malformed("comparison without an operator".into()))?;
            let bop = inst
                .mods
                .iter()
                .find_map(|m| match m {
                    M::Bool(b) => Some(*b),
                    _ => None,
                })
                .unwrap_or(BoolOp::And);
            let (dty, sty) = if inst.opcode == O::Set {
                let s = *inst
                    .types
                    .get(1)
                    .ok_or_else(|| ArithError::Malformed("set without a source type".into()))?;
                (Some(ty0), s)
            } else {
                (None, ty0)
            };
            let k = kind(inst, sty)?;
            let cmp = comparator(inst, k, op, ftz)?;
            let pair = matches!(k, Kind::Pair(_));
            match dty {
                None if pair => Ok(Alu::Cmp(Box::new(move |a, b, c| {
                    let c = c & 1 != 0;
                    let lo = combine(bop, cmp(a & 0xFFFF, b & 0xFFFF), c);
                    let hi = combine(bop, cmp((a >> 16) & 0xFFFF, (b >> 16) & 0xFFFF), c);
                    (lo as u64, hi as u64)
                }))),
                None => Ok(Alu::Cmp(Box::new(move |a, b, c| {
                    let c = c & 1 != 0;
                    let x = cmp(a, b);
                    (combine(bop, x, c) as u64, combine(bop, !x, c) as u64)
                }))),
                Some(d) => {
                    // The value written for "true" (false is always 0).
                    let (one, half) = match d {
                        T::U32 | T::S32 | T::B32 => (0xFFFF_FFFFu64, 0xFFFFu64),
                        T::F32 => (Fmt::F32.one(), Fmt::F16.one()),
                        T::F16 | T::F16x2 => (Fmt::F16.one(), Fmt::F16.one()),
                        T::BF16 | T::BF16x2 => (Fmt::BF16.one(), Fmt::BF16.one()),
                        t => return Err(unsupported(inst, format!("set destination {t}"))),
                    };
                    if pair {
                        Ok(Alu::Cmp(Box::new(move |a, b, c| {
                            let c = c & 1 != 0;
                            let lo = combine(bop, cmp(a & 0xFFFF, b & 0xFFFF), c);
                            let hi = combine(bop, cmp((a >> 16) & 0xFFFF, (b >> 16) & 0xFFFF), c);
                            let v = (if lo { half } else { 0 }) | (if hi { half << 16 } else { 0 });
                            (v, 0)
                        })))
                    } else {
                        Ok(Alu::Cmp(Box::new(move |a, b, c| {
                            let x = combine(bop, cmp(a, b), c & 1 != 0);
                            (if x { one } else { 0 }, 0)
                        })))
                    }
                }
            }
        }
        _ => Err(unsupported(inst, "comparison")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FLOAT_OPS: [CmpOp; 14] = [
        CmpOp::Eq,
        CmpOp::Ne,
        CmpOp::Lt,
        CmpOp::Le,
        CmpOp::Gt,
        CmpOp::Ge,
        CmpOp::Equ,
        CmpOp::Neu,
        CmpOp::Ltu,
        CmpOp::Leu,
        CmpOp::Gtu,
        CmpOp::Geu,
        CmpOp::Num,
        CmpOp::Nan,
    ];

    #[test]
    fn float_ops_with_nan() {
        let nan = f64::NAN;
        for op in FLOAT_OPS {
            let unordered = matches!(
                op,
                CmpOp::Equ
                    | CmpOp::Neu
                    | CmpOp::Ltu
                    | CmpOp::Leu
                    | CmpOp::Gtu
                    | CmpOp::Geu
                    | CmpOp::Nan
            );
            assert_eq!(cmp_float(op, nan, 1.0), Some(unordered), "{op:?}");
            assert_eq!(cmp_float(op, 1.0, nan), Some(unordered), "{op:?}");
        }
        assert_eq!(cmp_float(CmpOp::Eq, 0.0, -0.0), Some(true));
        assert_eq!(cmp_float(CmpOp::Lt, -0.0, 0.0), Some(false));
        assert_eq!(cmp_float(CmpOp::Ltu, 1.0, 2.0), Some(true));
        assert_eq!(cmp_float(CmpOp::Num, 1.0, 2.0), Some(true));
        assert_eq!(cmp_float(CmpOp::Lo, 1.0, 2.0), None);
    }

    #[test]
    fn int_ops_signedness() {
        let m1 = 0xFFFF_FFFFu64;
        assert_eq!(cmp_int(CmpOp::Lt, m1, 0, 32, true), Some(true));
        assert_eq!(cmp_int(CmpOp::Lt, m1, 0, 32, false), Some(false));
        assert_eq!(cmp_int(CmpOp::Lo, m1, 0, 32, true), Some(false));
        assert_eq!(cmp_int(CmpOp::Hi, m1, 0, 32, true), Some(true));
        assert_eq!(cmp_int(CmpOp::Ge, 0x80, 0x7F, 8, true), Some(false));
        assert_eq!(cmp_int(CmpOp::Equ, 0, 0, 32, true), None);
    }

    #[test]
    fn testp_classes() {
        let f = Fmt::F32;
        assert!(testp(f, TestClass::Subnormal, 1));
        assert!(!testp(f, TestClass::Normal, 1));
        assert!(testp(f, TestClass::Normal, 0x3F80_0000));
        assert!(testp(f, TestClass::Normal, 0));
        assert!(testp(f, TestClass::Normal, 0x8000_0000));
        assert!(testp(f, TestClass::Infinite, 0xFF80_0000));
        assert!(!testp(f, TestClass::Finite, 0x7FC0_0000));
        assert!(testp(f, TestClass::NotANumber, 0x7FC0_0000));
        assert!(testp(Fmt::F64, TestClass::Finite, 1.0f64.to_bits()));
    }
}
