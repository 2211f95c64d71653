//! placeholder
use super::{Alu, ArithError};
use ferrocuda_ptx::ir;

pub(super) fn lower(inst: &ir::Instruction) -> Result<Alu, ArithError> {
    Err(super::lower::unsupported(inst, "not yet"))
}
