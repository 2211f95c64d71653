//! Kernels compiled to host machine code (Cranelift), for the kernels whose instructions it
//! covers; the interpreter (`exec`) runs the others.
//!
//! The interpreter runs a warp's 32 lanes in lockstep and pays for fetch, dispatch and
//! register bookkeeping on every warp-instruction, and for every divergent branch. Compiled
//! code keeps PTX registers in machine registers and runs a block in *rounds of passes*:
//!
//! - The one-thread function runs the block's threads in turn, each from where it stopped
//!   (its *resume point*) until it exits, reaches a barrier (`bar.sync 0`, `__syncthreads()`)
//!   or has taken 4096 backward branches. A thread that stops saves the registers live there
//!   to its frame (`liveness`). Stopping in loops lets a thread spinning on a flag that a
//!   later thread of its block sets make progress, as with a GPU's independent thread
//!   scheduling.
//! - Kernels without calls get a second function that runs four consecutive threads (a
//!   *quad*) at a time with 128-bit vector instructions (`codegen::vector`). It stops at the
//!   same points, and also where the quad's threads take a branch different ways: from there
//!   each goes on with the one-thread function, and quads whose threads all reach the same
//!   barrier run as quads again after it.
//! - The block's scheduler (`exec::compiled`) runs a pass of the quad function, then the
//!   one-thread function over the quads it left; when no thread can run and some wait at the
//!   barrier, it releases them (threads that exited do not count), until every thread has
//!   exited. A kernel without loops or barriers needs one round.
//! - Past a barrier the quads usually all resume at the same point: each barrier of a kernel
//!   with a quad function (and its entry) gets a function of its own, a loop over the quads of
//!   the code from there to the next barriers, with no dispatch among resume points. It also
//!   releases the barrier, quad by quad, and leaves quads that wait elsewhere to the whole quad
//!   function.
//! - A thread's frame holds only the registers live where it may stop; registers loaded once
//!   from the kernel's parameters are loaded again where it resumes instead.
//!
//! That wins where warps diverge, on memory-bound code, and (four at a time) on shared-memory
//! kernels; on uniform arithmetic loops the interpreter's lockstep warps (vector instructions
//! over 32 lanes) can be faster, which is why tiered compilation (`crate::compilation`) times
//! both on a kernel's blocks and keeps the faster.
//!
//! - Memory accesses are checked inline: shared, local and parameter accesses against their
//!   sizes, global accesses against the allocation the same instruction touched last.
//!   Anything else (the first touch of an allocation, generic addresses, atomics, the
//!   arithmetic the interpreter also calls out of line) goes through helper functions of the
//!   executor, which report faults exactly as the interpreter does. Those called off the
//!   straight line go through trampolines that preserve every register (see
//!   `codegen::trampoline`), so the thread loop keeps its values in registers around them.
//! - Direct calls of non-recursive functions are compiled too (see
//!   `codegen::Translator::call_to`).
//! - Warp-wide operations (shuffles, votes, matrix instructions), other barriers (with a
//!   thread count, a reduction, or `bar.arrive`), system calls (`printf` must print in the
//!   GPU's order), indirect or recursive calls stay in the interpreter: they need a warp's
//!   lanes together.
//!
//! `FERROCUDA_CPU_JIT_DUMP=1` prints each compiled kernel's Cranelift IR and machine code on
//! standard error; `FERROCUDA_CPU_JIT_QUADS=0` turns the four-thread functions off.
//!
//! This module holds the crate's `unsafe` for compiled code: calling it, and sharing and
//! freeing the code memory.

#![allow(unsafe_code)]

mod body;
mod codegen;
mod lanes;
mod liveness;

use crate::lower::Program;
use cranelift_jit::JITModule;
use std::sync::Mutex;

pub(crate) use codegen::compile;

/// A thread's resume slot holding this has exited.
pub(crate) const EXITED: u32 = u32::MAX;
/// Set in a thread's resume slot while it waits at a barrier (the rest is where it resumes
/// once the block's scheduler releases the barrier).
pub(crate) const WAITING: u32 = 1 << 31;
/// Backward branches a thread takes before it lets the others run.
pub(crate) const SLICE: u32 = 4096;

/// Bits of `JitCtx::stops`: the quad function left a quad to the one-thread function (its
/// threads went different ways, or resume at different points); a thread or quad stopped
/// at a loop head after its slice; a barrier's function passed over a quad that resumes
/// elsewhere.
pub(crate) const STOP_LEFT: u64 = 1;
pub(crate) const STOP_SLICED: u64 = 2;
pub(crate) const STOP_OTHER: u64 = 4;

/// What the compiled function returns.
pub(crate) const PASS_DONE: u32 = 0;
pub(crate) const PASS_FAULT: u32 = 1;

/// The state the compiled function and the executor's helpers share for one block pass. The
/// compiled code reads and writes its fields at fixed offsets (`offset_of!`).
#[repr(C)]
pub(crate) struct JitCtx<'h, 'l> {
    /// The pass runs threads `first..nthreads` of the block (`first` is 0 except where the
    /// executor runs the threads of some quads one at a time; only kernels with a quad
    /// function read it).
    pub(crate) first: u64,
    pub(crate) nthreads: u64,
    /// The threads' register frames, [`JitKernel::frame_slots`] words a thread, interleaved by
    /// quads: the `i`-th slot the frame holds (the registers live where a thread may stop) of
    /// thread `t` is word `(t / 4 * frame_slots + i) * 4 + t % 4`, so that
    /// the quad function saves a register of four threads with vector stores.
    pub(crate) regs: *mut u64,
    /// Per thread: its resume point (with [`WAITING`] while it waits at a barrier), or
    /// [`EXITED`].
    pub(crate) resume: *mut u32,
    pub(crate) shared: *mut u8,
    pub(crate) shared_len: u64,
    pub(crate) params: *const u8,
    pub(crate) params_len: u64,
    /// Per-thread local memory: `local_stride` bytes per thread, `local_len` of them usable.
    pub(crate) local: *mut u8,
    pub(crate) local_stride: u64,
    pub(crate) local_len: u64,
    /// Per global memory instruction of `w` (a power of two) bytes: the allocation it touched
    /// last, as `[device base, units, host address of the base]`. An access at `addr` uses the
    /// entry when `(addr - base).rotate_right(log2 w) < units` (see `codegen::access`); 0 units
    /// match nothing.
    pub(crate) sites: *mut [u64; 3],
    /// `shared_len / 2^k` for k in 0..6: how many aligned accesses of 2^k bytes fit.
    pub(crate) shared_units: [u64; 6],
    /// `local_len / 2^k`, likewise.
    pub(crate) local_units: [u64; 6],
    /// Nonzero after a helper faulted.
    pub(crate) status: u64,
    /// The instruction that faulted.
    pub(crate) fault_pc: u64,
    /// A helper's second result.
    pub(crate) scratch: u64,
    /// The result of a helper called through a trampoline (see `codegen::trampoline`).
    pub(crate) ret: u64,
    /// What stopped threads during the pass ([`STOP_LEFT`], [`STOP_SLICED`]), for the block's
    /// scheduler: without either, every thread waits at the barrier or has exited.
    pub(crate) stops: u64,
    /// The threads of the quads the quad function left (`STOP_LEFT`) lie in
    /// `left_from..left_to`.
    pub(crate) left_from: u64,
    pub(crate) left_to: u64,
    pub(crate) ntid: [u64; 3],
    pub(crate) ctaid: [u64; 3],
    pub(crate) nctaid: [u64; 3],
    pub(crate) smid: u64,
    pub(crate) nsmid: u64,
    pub(crate) gridid: u64,
    pub(crate) dyn_smem: u64,
    pub(crate) total_smem: u64,
    pub(crate) dyn_base: u64,
    /// The executor's side of the helpers.
    pub(crate) host: &'h mut crate::exec::CompiledHost<'l>,
}

/// A compiled kernel.
pub(crate) struct JitKernel {
    /// Owns the code; freed on drop.
    module: Mutex<Option<JITModule>>,
    code: *const u8,
    /// Words of one thread's register frame: the slots live where it may stop (registers, the
    /// carry flag, return sites).
    pub(crate) frame_slots: u32,
    /// Bytes each global memory instruction accesses (its [`JitCtx::sites`] entry).
    pub(crate) site_bytes: Vec<u32>,
    /// The kernel has no loops, barriers or branches a quad may diverge at: one pass runs
    /// every thread to its exit, and the resume points are neither read nor written.
    pub(crate) single_pass: bool,
    /// The kernel has no loops or barriers: one round (the quad pass, then the one-thread
    /// function for the quads it left) runs every thread to its exit, and the quad function
    /// starts every quad at the kernel's entry.
    pub(crate) one_round: bool,
    /// The function that runs four threads at a time, for kernels that qualify (see
    /// `codegen::vector`), in blocks whose x size is a multiple of four.
    pub(crate) quads: Option<*const u8>,
    /// Per quad point: a quad function that resumes only there, for the rounds after a barrier
    /// where every quad does (and for a block's first round, at point 0, the entry).
    pub(crate) barriers: Vec<Option<*const u8>>,
    /// Resume points below this one are also the quad function's; the others (the branches
    /// where a quad's threads went different ways) only the one-thread function's.
    pub(crate) quad_points: u32,
    /// The number of resume points. In a kernel with a quad function, a thread the one-thread
    /// function stopped at quad point `p` records `resume_points + p`: the quad function
    /// resumes it only after checking that the quad's registers have the shapes it assumes
    /// (see `lanes`), and records `resume_points + quad_points + p` when they do not, which
    /// leaves the quad to the one-thread function until its threads stop again.
    pub(crate) resume_points: u32,
}

// SAFETY: `code` points into memory owned by `module`, which lives as long as the kernel and
// is never written after compilation; running the code concurrently from several threads is
// what it is compiled for (each call gets its own `JitCtx`). The module itself is only touched
// on drop, behind its mutex.
unsafe impl Send for JitKernel {}
// SAFETY: as above: shared access only reads `code` and the plain fields.
unsafe impl Sync for JitKernel {}

impl JitKernel {
    /// Runs one pass of the block described by `ctx` (see the module documentation):
    /// [`PASS_DONE`], or [`PASS_FAULT`] with the error in the host and `ctx.fault_pc` set.
    pub(crate) fn pass(&self, ctx: &mut JitCtx<'_, '_>) -> u32 {
        // SAFETY: `code` is a finalized function of `module` (alive as long as `self`), compiled
        // with the signature `extern "C" fn(*mut JitCtx) -> u32`. It only accesses memory
        // through `ctx`'s pointers, each checked against the bounds `ctx` gives (which the
        // executor sets to buffers it owns for the duration of the call), and calls the
        // executor's helpers with `ctx` itself.
        let f: extern "C" fn(*mut JitCtx<'_, '_>) -> u32 =
            unsafe { std::mem::transmute(self.code) };
        f(ctx)
    }

    /// Runs a pass of the block's quads whose four threads resume at the same quad resume
    /// point: [`PASS_DONE`] or [`PASS_FAULT`] as [`JitKernel::pass`]. Only for kernels with
    /// `quads`.
    pub(crate) fn pass_quads(&self, ctx: &mut JitCtx<'_, '_>) -> u32 {
        let Some(code) = self.quads else {
            return PASS_DONE;
        };
        // SAFETY: as in `pass`: `code` is a finalized function of `module` with the same
        // signature and the same discipline for memory and helpers.
        let f: extern "C" fn(*mut JitCtx<'_, '_>) -> u32 = unsafe { std::mem::transmute(code) };
        f(ctx)
    }

    /// Whether the kernel has a function for the barrier before quad point `p` (see
    /// `barriers`).
    pub(crate) fn has_barrier_function(&self, p: u32) -> bool {
        self.barriers.get(p as usize).is_some_and(Option::is_some)
    }

    /// Releases the barrier before quad point `p`, where every thread of the block that has
    /// not exited waits: a pass of the function for `p` resumes the quads waiting there,
    /// passes over exited quads, and releases the threads of any other in place, noting
    /// [`STOP_OTHER`]. (At point 0, it starts the block's quads at the entry.) `None` where
    /// the kernel has no such function.
    pub(crate) fn pass_barrier(&self, p: u32, ctx: &mut JitCtx<'_, '_>) -> Option<u32> {
        let code = self.barriers.get(p as usize).copied().flatten()?;
        // SAFETY: as in `pass`: `code` is one of this kernel's finalized quad functions, with
        // the same signature and the same discipline for memory and helpers.
        let f: extern "C" fn(*mut JitCtx<'_, '_>) -> u32 = unsafe { std::mem::transmute(code) };
        Some(f(ctx))
    }
}

impl Drop for JitKernel {
    fn drop(&mut self) {
        let m = match self.module.get_mut() {
            Ok(m) => m.take(),
            Err(p) => p.into_inner().take(),
        };
        if let Some(m) = m {
            // SAFETY: the code is only reachable through `self.code`, and `self` is going away:
            // no pass of this kernel runs (a launch holds the kernel for its duration).
            unsafe { m.free_memory() };
        }
    }
}

/// The host is one Cranelift supports (whether kernels are compiled is `compilation`'s).
pub(crate) fn available() -> bool {
    static AVAILABLE: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *AVAILABLE.get_or_init(|| {
        cfg!(all(
            target_endian = "little",
            any(target_arch = "x86_64", target_arch = "aarch64")
        )) && cranelift_native::builder().is_ok()
    })
}

/// Why a kernel runs in the interpreter instead (for tests and diagnostics).
pub(crate) fn unsupported_reason(prog: &Program, kernel: u32) -> Option<String> {
    body::check(prog, kernel).err()
}
