//! placeholder
use super::{Alu, ArithError};
use ferrocuda_ptx::ir;

pub(super) fn lower(inst: &ir::Instruction, _ty: ir::ScalarType) -> Result<Alu, ArithError> {
    Err(super::lower::unsupported(inst, "not yet"))
}
