//! Instruction → per-lane function: picks the family and the specialised closure.

use super::{bits, compare, convert, float, half, int, Alu, ArithError, Rnd};
use ferrocuda_ptx::ir::{self, Opcode as O, ScalarType as T};

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
            match ty {
                T::F32 | T::F64 => float::lower(inst, ty)?,
                T::F16 | T::F16x2 | T::BF16 | T::BF16x2 => half::lower(inst, ty)?,
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
