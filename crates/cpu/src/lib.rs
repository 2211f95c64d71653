//! ferrocuda-cpu: the built-in CPU device that executes PTX with the GPU's exact results.
//!
//! [`Device`] loads a checked [`ferrocuda_ptx::ir::Module`] ([`Device::load_module`]), lowering
//! each kernel once, with the functions it calls, into a compact pre-decoded form, and runs
//! kernel grids on a pool of worker threads ([`Device::launch`]). Blocks (CTAs) are spread over
//! the workers; inside a block, warps of 32 lanes run in lockstep with per-lane program
//! counters, so divergent code reconverges where its paths meet and barriers, shuffles and
//! votes behave as on a GPU. Kernels without warp-wide instructions are compiled to machine
//! code (Cranelift), with the same results: by default once a kernel has run for a while in
//! the interpreter, in the background, and kept only where it measures faster ([`Compilation`]
//! says when; [`Kernel::interpreted_because`] says which kernels the compiler covers). Compiled
//! code runs a block one thread at a time, stopping each at its barriers, and kernels without
//! calls four threads at a time with vector instructions ([`Kernel::is_vectorized`]).
//! Device memory ([`Memory`]) uses 64-bit device addresses with every access bounds- and
//! alignment-checked: a bad access is an [`Error`] naming the kernel, the PTX line and the
//! address, never a crash.

// `unsafe` lives only in the memory module (shared device memory), in `exec::simd` (calling
// the warp loop built for the host's vector unit after checking the CPU has it) and in `jit`
// (calling compiled kernels and owning their code), each block with a `// SAFETY:` line.
#![deny(unsafe_code)]

pub mod arith;

mod compilation;
mod device;
mod error;
mod exec;
mod fp;
pub mod heap;
mod jit;
mod lower;
#[allow(unsafe_code)]
mod memory;
mod props;

pub use compilation::{default_compilation, set_default_compilation, Compilation, HOT};
pub use device::{
    Device, Kernel, KernelAttributes, KernelOutput, LaunchConfig, LaunchResources, LoadedModule,
    PRINTF_FIFO_BYTES, STACK_BYTES,
};
pub use error::{Error, Site};
pub use heap::DeviceHeap;
pub use memory::Memory;
pub use props::DeviceProperties;
