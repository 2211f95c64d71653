//! Instruction → per-lane function: picks the family and the specialised closure.

use super::{bits, compare, convert, float, half, int, Alu, ArithError, Rnd};
use ferrocuda_ptx::ir::{self, Modifier, Opcode as O, ScalarType as T};

/// Lowers an ALU instruction into a per-lane function; `Ok(None)` if `inst` is not an ALU op
/// (`mov`, loads and stores, control flow, barriers, warp collectives and atomics are the
/// executor's). `Err` for an ALU form this implementation does not compute.
pub fn lower(inst: &ir::Instruction, f: &ir::Function) -> Result<Option<Alu>, ArithError> {
    let _ = f;
    let alu = match inst.opcode {
        O::Add
        | O::Sub
        | O::Mul
        | O::Mad
        | O::Fma
        | O::Div
        | O::Rem
        | O::Abs
        | O::Neg
        | O::Min
        | O::Max
        | O::Rcp
        | O::Sqrt
        | O::Rsqrt
        | O::Sin
        | O::Cos
        | O::Lg2
        | O::Ex2
        | O::Tanh
        | O::Copysign => {
            let ty = ty(inst)?;
            // Mixed-precision forms (`add.f32.f16`) and three-input min/max are newer than
            // what is modelled here.
            if inst.types.len() > 1 {
                return Err(unsupported(inst, "mixed-precision form"));
            }
            if matches!(inst.opcode, O::Min | O::Max) && inst.operands.len() > 3 {
                return Err(unsupported(inst, "three-input min/max"));
            }
            if inst.has(Modifier::Oob) || inst.has(Modifier::Hint("satfinite".into())) {
                return Err(unsupported(inst, ".oob/.satfinite arithmetic"));
            }
            match ty {
                T::F32 | T::F64 => float::lower(inst, ty)?,
                T::F16 | T::F16x2 | T::BF16 | T::BF16x2 => half::lower(inst, ty)?,
                T::U16x2 | T::S16x2 => int::lower_x2(inst, ty)?,
                _ => int::lower(inst, ty)?,
            }
        }
        O::Addc | O::Subc | O::Madc | O::Mul24 | O::Mad24 | O::Sad | O::Dp4a | O::Dp2a => {
            int::lower(inst, ty(inst)?)?
        }
        O::Popc
        | O::Clz
        | O::Bfind
        | O::Brev
        | O::Bfe
        | O::Bfi
        | O::Bmsk
        | O::Prmt
        | O::Lop3
        | O::Shf
        | O::Shl
        | O::Shr
        | O::And
        | O::Or
        | O::Xor
        | O::Not
        | O::Cnot
        | O::Szext => bits::lower(inst, ty(inst)?)?,
        O::Cvt => convert::lower(inst)?,
        O::Setp | O::Set | O::Selp | O::Slct | O::Testp => compare::lower(inst)?,
        _ => return Ok(None),
    };
    Ok(Some(alu))
}

/// The type of source operand `i` (0-based, destinations excluded) of an ALU instruction:
/// what [`super::imm_bits`] needs for an immediate in that position. `None` when the
/// instruction has no type suffix.
pub fn src_type(inst: &ir::Instruction, i: usize) -> Option<T> {
    let t0 = inst.ty()?;
    let t1 = inst.types.get(1).copied();
    let signed_pair = t0.is_signed() || t1.is_some_and(|t| t.is_signed());
    Some(match (inst.opcode, i) {
        (O::Cvt, _) => t1?,
        (O::Setp | O::Selp, 2) | (O::Set, 2) => T::Pred,
        (O::Set, _) => t1?,
        (O::Slct, 2) => t1?,
        (O::Shl | O::Shr, 1) | (O::Bfe, 1 | 2) | (O::Bfi, 2 | 3) | (O::Shf, 2) | (O::Szext, 1) => {
            T::U32
        }
        (O::Lop3, 3) => T::B32,
        (O::Mad, 2) if inst.has(ir::Modifier::Wide) => wide(t0),
        (O::Dp4a | O::Dp2a, 1) => t1?,
        (O::Dp4a | O::Dp2a, 2) => {
            if signed_pair {
                T::S32
            } else {
                T::U32
            }
        }
        _ => t0,
    })
}

/// The type of the (first) destination of an ALU instruction: its register width is what the
/// executor truncates [`Alu`] results to. `None` when the instruction has no type suffix.
pub fn dst_type(inst: &ir::Instruction) -> Option<T> {
    let t0 = inst.ty()?;
    let t1 = inst.types.get(1).copied();
    Some(match inst.opcode {
        O::Setp | O::Testp => T::Pred,
        O::Mul | O::Mad if inst.has(ir::Modifier::Wide) => wide(t0),
        O::Popc | O::Clz | O::Bfind => T::U32,
        O::Dp4a | O::Dp2a => {
            if t0.is_signed() || t1.is_some_and(|t| t.is_signed()) {
                T::S32
            } else {
                T::U32
            }
        }
        _ => t0,
    })
}

/// The integer type twice as wide (the result of `.wide`).
fn wide(t: T) -> T {
    match t {
        T::S8 => T::S16,
        T::U8 | T::B8 => T::U16,
        T::S16 => T::S32,
        T::U16 | T::B16 => T::U32,
        T::S32 => T::S64,
        T::U32 | T::B32 => T::U64,
        other => other,
    }
}

/// The instruction type (first type suffix).
pub(super) fn ty(inst: &ir::Instruction) -> Result<T, ArithError> {
    inst.ty()
        .ok_or_else(|| ArithError::Malformed(format!("{:?} without a type suffix", inst.opcode)))
}

/// `Unsupported` at the instruction's source position.
pub(super) fn unsupported(inst: &ir::Instruction, what: impl Into<String>) -> ArithError {
    ArithError::Unsupported {
        what: format!("{:?}{}: {}", inst.opcode, suffixes(inst), what.into()).to_lowercase(),
        line: inst.loc.line,
        col: inst.loc.col,
    }
}

fn suffixes(inst: &ir::Instruction) -> String {
    inst.types.iter().map(|t| t.name()).collect()
}

/// The float rounding modifier (`.rn .rz .rm .rp .rna`), if any; integer rounding and `.rs`
/// are reported as unsupported here (conversions handle them themselves).
pub(super) fn float_rnd(inst: &ir::Instruction) -> Result<Option<Rnd>, ArithError> {
    Ok(match inst.rounding() {
        None => None,
        Some(ir::Rounding::Rn) => Some(Rnd::Rn),
        Some(ir::Rounding::Rz) => Some(Rnd::Rz),
        Some(ir::Rounding::Rm) => Some(Rnd::Rm),
        Some(ir::Rounding::Rp) => Some(Rnd::Rp),
        Some(ir::Rounding::Rna) => Some(Rnd::Rna),
        Some(r) => return Err(unsupported(inst, format!("rounding {r:?}"))),
    })
}

/// Boxes a one-source closure.
pub(super) fn f1(f: impl Fn(u64) -> u64 + Send + Sync + 'static) -> Alu {
    Alu::F1(Box::new(f))
}

/// Boxes a two-source closure.
pub(super) fn f2(f: impl Fn(u64, u64) -> u64 + Send + Sync + 'static) -> Alu {
    Alu::F2(Box::new(f))
}

/// Boxes a three-source closure.
pub(super) fn f3(f: impl Fn(u64, u64, u64) -> u64 + Send + Sync + 'static) -> Alu {
    Alu::F3(Box::new(f))
}

/// Boxes a four-source closure.
pub(super) fn f4(f: impl Fn(u64, u64, u64, u64) -> u64 + Send + Sync + 'static) -> Alu {
    Alu::F4(Box::new(f))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ir::{BoolOp, CmpOp, Imm, Modifier as M, Operand, SourceLoc};

    fn func() -> ir::Function {
        ir::Function {
            name: "k".into(),
            kind: ir::FunctionKind::Entry,
            linkage: ir::Linkage::Visible,
            params: vec![],
            returns: vec![],
            regs: vec![],
            locals: vec![],
            body: None,
            bounds: Default::default(),
            noreturn: false,
            pragmas: vec![],
            loc: SourceLoc::default(),
        }
    }

    fn inst(op: O, types: &[T], mods: &[M], nsrc: usize) -> ir::Instruction {
        let mut operands = vec![Operand::Reg(0)];
        operands.extend((0..nsrc).map(|i| Operand::Reg(i as u32 + 1)));
        ir::Instruction {
            guard: None,
            opcode: op,
            types: types.to_vec(),
            mods: mods.to_vec(),
            operands,
            loc: SourceLoc { line: 7, col: 3 },
        }
    }

    fn get(i: &ir::Instruction) -> Alu {
        lower(i, &func()).expect("lowers").expect("is an ALU op")
    }

    fn run2(alu: &Alu, a: u64, b: u64) -> u64 {
        match alu {
            Alu::F2(f) => f(a, b),
            other => panic!("expected F2, got {other:?}"),
        }
    }

    fn run3(alu: &Alu, a: u64, b: u64, c: u64) -> u64 {
        match alu {
            Alu::F3(f) => f(a, b, c),
            other => panic!("expected F3, got {other:?}"),
        }
    }

    #[test]
    fn non_alu_opcodes_are_not_lowered() {
        for op in [
            O::Mov,
            O::Ld,
            O::St,
            O::Bra,
            O::Bar,
            O::Shfl,
            O::Atom,
            O::Ret,
        ] {
            assert!(lower(&inst(op, &[T::U32], &[], 1), &func())
                .unwrap()
                .is_none());
        }
    }

    #[test]
    fn integer_forms() {
        let add = get(&inst(O::Add, &[T::S32], &[], 2));
        assert_eq!(run2(&add, 0xFFFF_FFFF, 2), 1);
        let sat = get(&inst(O::Add, &[T::S32], &[M::Sat], 2));
        assert_eq!(run2(&sat, 0x7FFF_FFFF, 1), 0x7FFF_FFFF);
        let wide = get(&inst(O::Mul, &[T::S32], &[M::Wide], 2));
        assert_eq!(run2(&wide, 0xFFFF_FFFF, 0xFFFF_FFFF), 1);
        let hi = get(&inst(O::Mul, &[T::U32], &[M::Hi], 2));
        assert_eq!(run2(&hi, 0x8000_0000, 4), 2);
        let div = get(&inst(O::Div, &[T::U32], &[], 2));
        assert_eq!(run2(&div, 9, 0), 0xFFFF_FFFF);
        let rem = get(&inst(O::Rem, &[T::S64], &[], 2));
        assert_eq!(run2(&rem, 9, 0), u64::MAX);
        let madw = get(&inst(O::Mad, &[T::U32], &[M::Wide], 3));
        assert_eq!(run3(&madw, 0xFFFF_FFFF, 2, 1), 0x1_FFFF_FFFF);
        match get(&inst(O::Addc, &[T::U32], &[M::Cc], 2)) {
            Alu::Carry(f) => assert_eq!(f(0xFFFF_FFFF, 0, 0, true), (0, true)),
            other => panic!("expected Carry, got {other:?}"),
        }
        match get(&inst(O::Mad, &[T::U32], &[M::Lo, M::Cc], 3)) {
            // mad.cc ignores the incoming carry; madc adds it.
            Alu::Carry(f) => assert_eq!(f(0x8000_0000, 2, 1, true), (1, false)),
            other => panic!("expected Carry, got {other:?}"),
        }
        match get(&inst(O::Madc, &[T::U32], &[M::Lo, M::Cc], 3)) {
            Alu::Carry(f) => assert_eq!(f(0x8000_0000, 2, 0xFFFF_FFFF, true), (0, true)),
            other => panic!("expected Carry, got {other:?}"),
        }
    }

    #[test]
    fn bit_forms() {
        let shf = get(&inst(O::Shf, &[T::B32], &[M::Left, M::Wrap], 3));
        assert_eq!(run3(&shf, 0x8000_0000, 1, 33), 3);
        match get(&inst(O::Lop3, &[T::B32], &[], 4)) {
            Alu::F4(f) => assert_eq!(f(0b1100, 0b1010, 0, 0xF0 & 0xCC), 0b1000),
            other => panic!("expected F4, got {other:?}"),
        }
        let shr = get(&inst(O::Shr, &[T::S32], &[], 2));
        assert_eq!(run2(&shr, 0x8000_0000, 99), 0xFFFF_FFFF);
        let prmt = get(&inst(
            O::Prmt,
            &[T::B32],
            &[M::PrmtMode(ir::PrmtMode::Rc8)],
            3,
        ));
        assert_eq!(run3(&prmt, 0x4433_2211, 0, 1), 0x2222_2222);
    }

    #[test]
    fn float_forms() {
        let one = 1.0f32.to_bits() as u64;
        let tiny = 1e-30f32.to_bits() as u64;
        let rp = get(&inst(O::Add, &[T::F32], &[M::Round(ir::Rounding::Rp)], 2));
        assert_eq!(run2(&rp, one, tiny), one + 1);
        let rn = get(&inst(O::Add, &[T::F32], &[], 2));
        assert_eq!(run2(&rn, one, tiny), one);
        let fma = get(&inst(O::Fma, &[T::F64], &[M::Round(ir::Rounding::Rz)], 3));
        let x = 1.0f64.to_bits();
        assert_eq!(
            run3(&fma, x, x, (-1e-300f64).to_bits()),
            0x3FEF_FFFF_FFFF_FFFF
        );
        let h2 = get(&inst(O::Add, &[T::F16x2], &[M::Round(ir::Rounding::Rn)], 2));
        assert_eq!(run2(&h2, 0x3C00_3C00, 0x3C00_4000), 0x4000_4200);
        let ex2 = get(&inst(O::Ex2, &[T::F32], &[M::Approx], 1));
        match ex2 {
            Alu::F1(f) => assert_eq!(f(2.0f32.to_bits() as u64), 4.0f32.to_bits() as u64),
            other => panic!("expected F1, got {other:?}"),
        }
    }

    #[test]
    fn compare_forms() {
        let nan = 0x7FC0_0000u64;
        let one = 1.0f32.to_bits() as u64;
        let setp = get(&inst(
            O::Setp,
            &[T::F32],
            &[M::Cmp(CmpOp::Ltu), M::Bool(BoolOp::And)],
            3,
        ));
        match setp {
            Alu::Cmp(f) => {
                assert_eq!(f(nan, one, 1), (1, 0));
                assert_eq!(f(one, nan, 0), (0, 0));
                assert_eq!(f(2 * one, one, 1), (0, 1));
            }
            other => panic!("expected Cmp, got {other:?}"),
        }
        match get(&inst(O::Set, &[T::F32, T::S32], &[M::Cmp(CmpOp::Lt)], 2)) {
            Alu::Cmp(f) => assert_eq!(f(0xFFFF_FFFF, 0, 1).0, one),
            other => panic!("expected Cmp, got {other:?}"),
        }
        match get(&inst(O::Setp, &[T::F16x2], &[M::Cmp(CmpOp::Gt)], 2)) {
            Alu::Cmp(f) => assert_eq!(f(0x3C00_0000, 0x0000_3C00, 1), (0, 1)),
            other => panic!("expected Cmp, got {other:?}"),
        }
        let selp = get(&inst(O::Selp, &[T::B32], &[], 3));
        assert_eq!(run3(&selp, 5, 6, 0), 6);
        let slct = get(&inst(O::Slct, &[T::B32, T::F32], &[], 3));
        assert_eq!(run3(&slct, 5, 6, 0x8000_0000), 5);
        assert_eq!(run3(&slct, 5, 6, nan), 6);
    }

    #[test]
    fn conversion_forms() {
        let pack = get(&inst(
            O::Cvt,
            &[T::F16x2, T::F32],
            &[M::Round(ir::Rounding::Rn)],
            2,
        ));
        assert_eq!(
            run2(&pack, 1.0f32.to_bits() as u64, 2.0f32.to_bits() as u64),
            0x3C00_4000
        );
        match get(&inst(
            O::Cvt,
            &[T::S32, T::F32],
            &[M::Round(ir::Rounding::Rni)],
            1,
        )) {
            Alu::F1(f) => {
                assert_eq!(f(2.5f32.to_bits() as u64) as u32, 2);
                assert_eq!(f(0x7FC0_0000), 0);
                assert_eq!(f((-1e10f32).to_bits() as u64) as u32, i32::MIN as u32);
            }
            other => panic!("expected F1, got {other:?}"),
        }
        match get(&inst(O::Cvt, &[T::S64, T::S8], &[], 1)) {
            Alu::F1(f) => assert_eq!(f(0x80), (-128i64) as u64),
            other => panic!("expected F1, got {other:?}"),
        }
    }

    #[test]
    fn operand_types() {
        let shl = inst(O::Shl, &[T::B64], &[], 2);
        assert_eq!(
            (src_type(&shl, 0), src_type(&shl, 1)),
            (Some(T::B64), Some(T::U32))
        );
        let madw = inst(O::Mad, &[T::S32], &[M::Wide], 3);
        assert_eq!(src_type(&madw, 2), Some(T::S64));
        assert_eq!(dst_type(&madw), Some(T::S64));
        let cvt = inst(O::Cvt, &[T::F32, T::S8], &[], 1);
        assert_eq!(
            (src_type(&cvt, 0), dst_type(&cvt)),
            (Some(T::S8), Some(T::F32))
        );
        let set = inst(O::Set, &[T::U32, T::F64], &[M::Cmp(CmpOp::Lt)], 3);
        assert_eq!(
            (src_type(&set, 1), src_type(&set, 2)),
            (Some(T::F64), Some(T::Pred))
        );
        let slct = inst(O::Slct, &[T::B32, T::F32], &[], 3);
        assert_eq!(src_type(&slct, 2), Some(T::F32));
        let dp = inst(O::Dp4a, &[T::U32, T::S32], &[], 3);
        assert_eq!(
            (src_type(&dp, 1), dst_type(&dp)),
            (Some(T::S32), Some(T::S32))
        );
        let popc = inst(O::Popc, &[T::B64], &[], 1);
        assert_eq!(dst_type(&popc), Some(T::U32));
        let lop = inst(O::Lop3, &[T::B32], &[], 4);
        assert_eq!(src_type(&lop, 3), Some(T::B32));
    }

    #[test]
    fn newer_forms_are_reported() {
        let mixed = inst(O::Add, &[T::F32, T::F16], &[], 2);
        assert!(lower(&mixed, &func()).is_err());
        let three = inst(O::Max, &[T::S32], &[], 3);
        assert!(lower(&three, &func()).is_err());
        let oob = inst(O::Fma, &[T::F16], &[M::Round(ir::Rounding::Rn), M::Oob], 3);
        assert!(lower(&oob, &func()).is_err());
    }

    #[test]
    fn unsupported_forms_report_position() {
        let e = lower(&inst(O::Add, &[T::B128], &[], 2), &func()).unwrap_err();
        assert!(
            matches!(
                e,
                ArithError::Unsupported {
                    line: 7,
                    col: 3,
                    ..
                }
            ),
            "{e}"
        );
        let e = lower(
            &inst(O::Cvt, &[T::F32, T::F32], &[M::Round(ir::Rounding::Rs)], 1),
            &func(),
        );
        assert!(e.is_err());
        let e = lower(&inst(O::Add, &[], &[], 2), &func()).unwrap_err();
        assert!(matches!(e, ArithError::Malformed(_)));
        let _ = Imm::Int(0);
    }
}
