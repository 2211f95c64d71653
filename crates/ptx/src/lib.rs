//! PTX text and GPU code containers in, a checked intermediate representation out.
//!
//! This is the front end every other ferrocuda layer builds on: the CPU device executes its
//! [`ir::Module`], the launch path checks arguments against [`ir::KernelSignature`]s, and
//! `fcuda ptx` prints what it finds. It accepts PTX as real compilers emit it (nvcc at `-O3`
//! and `-G`, clang, Triton, rustc, numba), reports malformed input as an [`Error`] positioned
//! at line and column, and never panics. Pure safe Rust.

#![forbid(unsafe_code)]

pub mod container;
pub mod describe;
mod diag;
mod fxmap;
pub mod ir;
mod lexer;
mod ops;
mod parser;

pub use diag::{Error, ErrorKind};

/// Lexes, parses and checks one PTX module.
///
/// Every name is resolved and every instruction checked against its opcode's operand shape and
/// register types, so consumers of the returned [`ir::Module`] need not re-validate.
///
/// ```
/// let m = ferrocuda_ptx::parse(".version 8.0\n.target sm_80\n.address_size 64\n\
///     .visible .entry k(.param .u64 p)\n{\n\tret;\n}\n").unwrap();
/// assert_eq!(m.kernel("k").unwrap().params[0].size, 8);
/// ```
pub fn parse(src: &str) -> Result<ir::Module, Error> {
    parser::parse_module(src)
}
