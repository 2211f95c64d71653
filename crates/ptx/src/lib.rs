//! PTX text and GPU code containers in, a checked intermediate representation out.
//!
//! This is the front end every other ferrocuda layer builds on: the CPU device executes its
//! [`ir::Module`], the launch path checks arguments against [`ir::KernelSignature`]s, and
//! `fcuda ptx` prints what it finds. It accepts PTX as real compilers emit it (nvcc at `-O3`
//! and `-G`, clang, Triton, rustc, numba), reports malformed input as an [`Error`] positioned
//! at line and column, and never panics. Pure safe Rust.

#![forbid(unsafe_code)]

pub mod container;
pub mod ir;
