//! Running a grid: blocks spread over worker threads, warps of 32 lanes in lockstep.
//!
//! Each worker runs whole blocks (CTAs). Inside a block, each warp runs until every one of its
//! lanes is blocked (at a barrier) or exited, or its time slice ends; then the next warp runs.
//! A warp executes the instruction at the lowest program counter among its runnable lanes, for
//! the lanes at that counter, so divergent lanes reconverge where their paths meet.

// Lane loops index several lane arrays at once so that they vectorize.
#![allow(clippy::needless_range_loop, clippy::type_complexity)]

use crate::arith::float::prop64;
use crate::fp;
use crate::heap::DeviceHeap;
use crate::lower::{
    sr, ArgSrc, BarKind, BinK, CallTarget, ICmp, Inst, Op, Program, RetDst, Slot, Space, Timer,
    TriK, FUNC_WINDOW, LOCAL_WINDOW, NONE, PARAM_WINDOW, SHARED_WINDOW, WINDOW_SIZE,
};
use crate::memory::{Allocation, Memory};
use crate::{Error, Site};
use ferrocuda_ptx::ir::{self, AtomOp, ScalarType};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

pub(crate) mod compiled;
mod mma;
mod printf;
mod shared;
mod simd;
mod system;
mod wmma;

pub(crate) use compiled::CompiledHost;
pub(crate) use mma::register_counts as mma_register_counts;
use shared::SharedMemory;
pub(crate) use simd::available as vector_isa_available;
pub(crate) use wmma::registers as wmma_registers;

/// Backward branches a warp may take before it yields to the other warps of its block (so a
/// warp spinning on a flag another warp sets still makes progress).
const SLICE: u32 = 4096;
/// Deepest call nesting before `StackOverflow`.
const MAX_CALL_DEPTH: usize = 1024;

/// Everything a launch's workers share.
pub(crate) struct Launch<'a> {
    pub(crate) prog: &'a Program,
    pub(crate) kernel: u32,
    pub(crate) name: &'a str,
    pub(crate) mem: &'a Memory,
    pub(crate) params: &'a [u8],
    pub(crate) grid: [u32; 3],
    pub(crate) block: [u32; 3],
    pub(crate) dyn_shared: u32,
    pub(crate) static_shared: u32,
    pub(crate) nsm: u32,
    pub(crate) gridid: u64,
    pub(crate) start: Instant,
    pub(crate) next_cta: AtomicU64,
    pub(crate) abort: AtomicBool,
    /// First fault (by block index) and the error.
    pub(crate) error: Mutex<Option<(u64, Error)>>,
    /// The device heap (`malloc`, `free`).
    pub(crate) heap: &'a DeviceHeap,
    /// What blocks printed (`printf`; failed assertions): (block index, standard output,
    /// standard error), in the order blocks finished.
    pub(crate) output: Mutex<Vec<(u64, Vec<u8>, Vec<u8>)>>,
    /// Bytes `printf` may still print in this launch (a GPU's printf FIFO, 1 MiB by default:
    /// what does not fit is lost).
    pub(crate) printf_room: std::sync::atomic::AtomicUsize,
    /// Bytes each thread's call stack (its local memory) may grow to.
    pub(crate) stack_limit: usize,
    /// Run warps with the build of the warp loop for the host's vector unit
    /// ([`simd::available`]).
    pub(crate) vector_isa: bool,
    /// The kernel compiled to machine code, where it could be (see `jit`).
    pub(crate) compiled: Option<&'a crate::jit::JitKernel>,
    /// Under tiered compilation, a launch that starts in the interpreter or compares the two
    /// paths: each block asks the kernel where to run (see `compilation`).
    pub(crate) tiering: Option<&'a crate::Kernel>,
}

impl Launch<'_> {
    /// Where dynamic shared memory starts in a block's shared memory: after the static part,
    /// 16-byte aligned.
    pub(crate) fn dyn_base(&self) -> u64 {
        (self.static_shared as u64).div_ceil(16) * 16
    }

    /// Bytes of a block's shared memory, static and dynamic.
    pub(crate) fn shared_len(&self) -> usize {
        self.dyn_base() as usize + self.dyn_shared as usize
    }

    fn fail(&self, cta: u64, e: Error) {
        self.abort.store(true, Ordering::Relaxed);
        if let Ok(mut g) = self.error.lock() {
            match &*g {
                Some((c, _)) if *c <= cta => {}
                _ => *g = Some((cta, e)),
            }
        }
    }

    /// The worker loop: takes blocks until none are left or a block faulted.
    pub(crate) fn work(&self, smid: u32) {
        if self.vector_isa {
            simd::work_v3(self, smid)
        } else {
            self.work_inner::<false>(smid)
        }
    }

    /// [`work`](Self::work), inlined into the baseline and the vector builds; `FMA`: the host
    /// has a fused multiply-add instruction.
    #[inline(always)]
    fn work_inner<const FMA: bool>(&self, smid: u32) {
        let total = self.grid[0] as u64 * self.grid[1] as u64 * self.grid[2] as u64;
        let threads = self.block.iter().map(|&x| x as u64).product::<u64>();
        // Each path's state, made when a block first runs on it.
        let mut interpreter: Option<Worker> = None;
        let mut runner: Option<compiled::Runner> = None;
        loop {
            if self.abort.load(Ordering::Relaxed) {
                return;
            }
            let i = self.next_cta.fetch_add(1, Ordering::Relaxed);
            if i >= total {
                return;
            }
            let gx = self.grid[0] as u64;
            let gy = self.grid[1] as u64;
            let cta = [
                (i % gx) as u32,
                ((i / gx) % gy) as u32,
                (i / (gx * gy)) as u32,
            ];
            // Blocks are independent: under tiered compilation, each may run on either path.
            let (jit, timed) = match (self.compiled, self.tiering) {
                (Some(k), _) => (Some(k), false),
                (None, Some(kernel)) => kernel.block_path(self.start),
                (None, None) => (None, false),
            };
            // A timed block counts from when its path's state exists (made once per worker).
            let t0;
            let r = match jit {
                Some(k) => {
                    let run = runner.get_or_insert_with(|| compiled::Runner::new(self, smid, k));
                    t0 = timed.then(Instant::now);
                    run.run_block(cta.map(u64::from))
                }
                None => {
                    let w = interpreter.get_or_insert_with(|| Worker::new(self, smid));
                    t0 = timed.then(Instant::now);
                    let r = w.run_cta::<FMA>(cta);
                    if !w.c.stdout.is_empty() || !w.c.stderr.is_empty() {
                        let out = std::mem::take(&mut w.c.stdout);
                        let err = std::mem::take(&mut w.c.stderr);
                        if let Ok(mut o) = self.output.lock() {
                            o.push((i, out, err));
                        }
                    }
                    r
                }
            };
            if let Err(e) = r {
                self.fail(i, e);
                return;
            }
            if let (Some(t0), Some(kernel)) = (t0, self.tiering) {
                kernel.record_trial(jit.is_some(), t0.elapsed(), threads);
            }
        }
    }
}

#[derive(Clone, Copy, Default)]
struct Frame {
    ret_pc: u32,
    call_pc: u32,
    callee: u32,
    caller_base: u64,
    saved_at: u32,
}

/// One warp's state: lane-wise registers and per-lane control state.
#[derive(Default)]
struct Warp {
    regs: Vec<[u64; 32]>,
    pc: [u32; 32],
    present: u32,
    exited: u32,
    waiting: u32,
    bar_wait: [u32; 16],
    bar_dst: [Slot; 16],
    bar_kind: [BarKind; 16],
    carry: u32,
    /// Lanes inside a called function (a non-empty call stack in `frames`).
    in_call: u32,
    /// Schedule the highest program counter next (see `run_warp_inner`).
    prefer_max: bool,
    /// Some lane made a call in this block (so call stacks may need clearing).
    called: bool,
    /// The warp ran the kernel's block-invariant prologue in an earlier block.
    prologue_done: bool,
    frames: Vec<Vec<Frame>>,
    saved: Vec<Vec<u64>>,
    local: Vec<Vec<u8>>,
}

impl Warp {
    fn runnable(&self) -> u32 {
        self.present & !self.exited & !self.waiting
    }
}

#[derive(Clone, Copy, Default)]
struct Bar {
    arrived: u32,
    count: u32,
    popc: u32,
    and: bool,
    or: bool,
}

/// Iterates the set bits of a lane mask.
#[derive(Clone, Copy)]
struct Lanes(u32);

impl Iterator for Lanes {
    type Item = usize;
    #[inline(always)]
    fn next(&mut self) -> Option<usize> {
        if self.0 == 0 {
            return None;
        }
        let l = self.0.trailing_zeros() as usize;
        self.0 &= self.0 - 1;
        Some(l)
    }
}

/// Each lane's values of `slots` (a matrix fragment's registers), lane by lane.
fn per_lane(regs: &[[u64; 32]], slots: &[Slot]) -> Vec<Vec<u64>> {
    (0..32)
        .map(|l| slots.iter().map(|&s| regs[s as usize][l]).collect())
        .collect()
}

/// Writes each lane's values (`values[lane]`) to `slots`.
fn set_per_lane(regs: &mut [[u64; 32]], slots: &[Slot], values: &[Vec<u64>]) {
    for (l, v) in values.iter().enumerate() {
        for (&s, &x) in slots.iter().zip(v) {
            set(regs, s, l, x);
        }
    }
}

/// Warp-wide matrix instructions (`.sync.aligned`) need all 32 lanes.
fn whole_warp(exec: u32, what: &str) -> Result<(), Error> {
    if exec == u32::MAX {
        return Ok(());
    }
    Err(Error::IllegalInstruction {
        what: format!(
            "{what} executed by {} of the warp's 32 lanes (it needs all of them)",
            exec.count_ones()
        ),
        at: Site::default(),
    })
}

#[inline(always)]
fn write(regs: &mut [[u64; 32]], d: Slot, m: u32, v: &[u64; 32], wm: u64) {
    if d == NONE {
        return;
    }
    let dst = &mut regs[d as usize];
    if m == u32::MAX {
        for l in 0..32 {
            dst[l] = v[l] & wm;
        }
    } else {
        for l in 0..32 {
            if (m >> l) & 1 != 0 {
                dst[l] = v[l] & wm;
            }
        }
    }
}

/// The lanes whose predicate value (bit 0) is set, as a mask.
#[inline(always)]
fn lane_bits(g: &[u64; 32]) -> u32 {
    let mut e = 0u32;
    for l in 0..32 {
        e |= (g[l] as u32 & 1).wrapping_neg() & (1u32 << l);
    }
    e
}

/// The destination row `d` (mutable) and the source rows, when `d` is a real slot distinct from
/// every source: the whole-warp fast paths then compute straight into the destination.
#[inline(always)]
fn rows<const N: usize>(
    regs: &mut [[u64; 32]],
    d: Slot,
    srcs: [Slot; N],
) -> Option<(&mut [u64; 32], [&[u64; 32]; N])> {
    let di = d as usize;
    if d == NONE || di >= regs.len() || srcs.contains(&d) {
        return None;
    }
    let (lo, hi) = regs.split_at_mut(di);
    let (dst, rest) = hi.split_first_mut()?;
    let (lo, rest): (&[[u64; 32]], &[[u64; 32]]) = (lo, rest);
    let r = srcs.map(|s| {
        let s = s as usize;
        if s < di {
            lo.get(s)
        } else {
            rest.get(s - di - 1)
        }
    });
    if r.contains(&None) {
        return None;
    }
    Some((dst, r.map(|x| x.unwrap_or(&[0; 32]))))
}

/// Every lane holds the same value (a compare-free reduction that vectorizes, where `==` on
/// arrays calls `memcmp`).
#[inline(always)]
fn all_equal<T>(v: &[T; 32]) -> bool
where
    T: Copy + std::ops::BitXor<Output = T> + std::ops::BitOr<Output = T> + Default + PartialEq,
{
    let mut d = T::default();
    for l in 0..32 {
        d = d | (v[l] ^ v[0]);
    }
    d == T::default()
}

/// A hot two-source operation on all 32 lanes, masked to the destination width.
#[inline(always)]
fn bin_lanes(k: BinK, av: &[u64; 32], bv: &[u64; 32], o: &mut [u64; 32], wm: u64) {
    macro_rules! lanes2 {
        (|$x:ident, $y:ident| $e:expr) => {
            for l in 0..32 {
                let $x = av[l];
                let $y = bv[l];
                o[l] = ($e) & wm;
            }
        };
    }
    match k {
        BinK::Add32 => lanes2!(|x, y| (x as u32).wrapping_add(y as u32) as u64),
        BinK::Add64 => lanes2!(|x, y| x.wrapping_add(y)),
        BinK::Sub32 => lanes2!(|x, y| (x as u32).wrapping_sub(y as u32) as u64),
        BinK::Sub64 => lanes2!(|x, y| x.wrapping_sub(y)),
        BinK::MulLo32 => {
            lanes2!(|x, y| (x as u32).wrapping_mul(y as u32) as u64)
        }
        BinK::MulLo64 => lanes2!(|x, y| x.wrapping_mul(y)),
        // Scaling by a uniform power of two (array indexing): a shift, which vectorizes.
        BinK::MulWideU32 | BinK::MulWideS32
            if all_equal(bv) && (bv[0] as u32).is_power_of_two() && bv[0] as u32 <= 1 << 30 =>
        {
            let sh = (bv[0] as u32).trailing_zeros();
            if k == BinK::MulWideU32 {
                lanes2!(|x, _y| (x as u32 as u64) << sh)
            } else {
                lanes2!(|x, _y| ((x as i32 as i64) << sh) as u64)
            }
        }
        BinK::MulWideU32 => {
            lanes2!(|x, y| (x as u32 as u64) * (y as u32 as u64))
        }
        BinK::MulWideS32 => {
            lanes2!(|x, y| ((x as i32 as i64) * (y as i32 as i64)) as u64)
        }
        BinK::And => lanes2!(|x, y| x & y),
        BinK::Or => lanes2!(|x, y| x | y),
        BinK::Xor => lanes2!(|x, y| x ^ y),
        // Uniform shift counts (immediates): one count for all lanes.
        BinK::Shl32 | BinK::ShrU32 if all_equal(bv) => {
            let c = bv[0] as u32;
            if c >= 32 {
                *o = [0; 32];
            } else if k == BinK::Shl32 {
                lanes2!(|x, _y| ((x as u32) << c) as u64)
            } else {
                lanes2!(|x, _y| ((x as u32) >> c) as u64)
            }
        }
        BinK::Shl32 => lanes2!(|x, y| if (y as u32) < 32 {
            ((x as u32) << (y as u32)) as u64
        } else {
            0
        }),
        BinK::Shl64 => {
            lanes2!(|x, y| if (y as u32) < 64 { x << (y as u32) } else { 0 })
        }
        BinK::ShrU32 => lanes2!(|x, y| if (y as u32) < 32 {
            ((x as u32) >> (y as u32)) as u64
        } else {
            0
        }),
        BinK::ShrS32 => {
            lanes2!(|x, y| ((x as i32) >> (y as u32).min(31)) as u32 as u64)
        }
        BinK::ShrU64 => {
            lanes2!(|x, y| if (y as u32) < 64 { x >> (y as u32) } else { 0 })
        }
        BinK::ShrS64 => {
            lanes2!(|x, y| ((x as i64) >> (y as u32).min(63)) as u64)
        }
        BinK::MinS32 => lanes2!(|x, y| (x as i32).min(y as i32) as u32 as u64),
        BinK::MaxS32 => lanes2!(|x, y| (x as i32).max(y as i32) as u32 as u64),
        BinK::MinU32 => lanes2!(|x, y| (x as u32).min(y as u32) as u64),
        BinK::MaxU32 => lanes2!(|x, y| (x as u32).max(y as u32) as u64),
        BinK::FAdd32 => {
            lanes2!(|x, y| fp::canon32(f32::from_bits(x as u32) + f32::from_bits(y as u32)))
        }
        BinK::FSub32 => {
            lanes2!(|x, y| fp::canon32(f32::from_bits(x as u32) - f32::from_bits(y as u32)))
        }
        BinK::FMul32 => {
            lanes2!(|x, y| fp::canon32(f32::from_bits(x as u32) * f32::from_bits(y as u32)))
        }
        BinK::Zext32 => lanes2!(|x, _y| x & 0xffff_ffff),
        BinK::Sext32 => lanes2!(|x, _y| x as u32 as i32 as i64 as u64),
        BinK::PNot => lanes2!(|x, _y| (x ^ 1) & 1),
        BinK::Not => lanes2!(|x, _y| !x),
        BinK::FAdd64 => {
            lanes2!(|x, y| prop64((f64::from_bits(x) + f64::from_bits(y)).to_bits(), &[y, x]))
        }
        BinK::FSub64 => {
            lanes2!(|x, y| prop64((f64::from_bits(x) - f64::from_bits(y)).to_bits(), &[y, x]))
        }
        BinK::FMul64 => {
            lanes2!(|x, y| prop64((f64::from_bits(x) * f64::from_bits(y)).to_bits(), &[y, x]))
        }
        // Rust's integer-to-float `as` rounds to nearest, ties to even, as `.rn` does.
        BinK::FSetp32(c) => {
            lanes2!(|x, y| fcmp32(c, f32::from_bits(x as u32), f32::from_bits(y as u32)) as u64)
        }
        BinK::CvtF32S32 => lanes2!(|x, _y| (x as i32 as f32).to_bits() as u64),
        BinK::CvtF32U32 => lanes2!(|x, _y| (x as u32 as f32).to_bits() as u64),
    }
}

/// A `setp` comparison of two `f32`s: ordered forms are false and unordered (`…u`) forms true
/// when either is NaN.
#[inline(always)]
fn fcmp32(c: ir::CmpOp, x: f32, y: f32) -> bool {
    use ir::CmpOp::*;
    let un = x.is_nan() || y.is_nan();
    match c {
        Eq => x == y,
        Ne => !un && x != y,
        Lt | Lo => x < y,
        Le | Ls => x <= y,
        Gt | Hi => x > y,
        Ge | Hs => x >= y,
        Equ => un || x == y,
        Neu => x != y,
        Ltu => un || x < y,
        Leu => un || x <= y,
        Gtu => un || x > y,
        Geu => un || x >= y,
        Num => !un,
        Nan => un,
    }
}

/// A hot three-source operation on all 32 lanes, masked to the destination width.
#[inline(always)]
fn tri_lanes<const FMA: bool>(
    k: TriK,
    av: &[u64; 32],
    bv: &[u64; 32],
    cv: &[u64; 32],
    o: &mut [u64; 32],
    wm: u64,
) {
    macro_rules! lanes3 {
        (|$x:ident, $y:ident, $z:ident| $e:expr) => {
            for l in 0..32 {
                let $x = av[l];
                let $y = bv[l];
                let $z = cv[l];
                o[l] = ($e) & wm;
            }
        };
    }
    match k {
        TriK::MadLo32 => {
            lanes3!(|x, y, z| (x as u32).wrapping_mul(y as u32).wrapping_add(z as u32) as u64)
        }
        TriK::MadLo64 => lanes3!(|x, y, z| x.wrapping_mul(y).wrapping_add(z)),
        TriK::MadWideU32 => {
            lanes3!(|x, y, z| ((x as u32 as u64) * (y as u32 as u64)).wrapping_add(z))
        }
        TriK::MadWideS32 => {
            lanes3!(|x, y, z| ((x as i32 as i64) * (y as i32 as i64)).wrapping_add(z as i64) as u64)
        }
        // Where the host has an FMA unit (the vector build of the warp loop), one instruction.
        TriK::Fma32 if FMA => lanes3!(|x, y, z| fp::canon32(
            f32::from_bits(x as u32).mul_add(f32::from_bits(y as u32), f32::from_bits(z as u32))
        )),
        TriK::Fma32 => lanes3!(|x, y, z| fp::canon32(fp::fma32(
            f32::from_bits(x as u32),
            f32::from_bits(y as u32),
            f32::from_bits(z as u32)
        ))),
        TriK::Fma64 => lanes3!(|x, y, z| prop64(
            f64::from_bits(x)
                .mul_add(f64::from_bits(y), f64::from_bits(z))
                .to_bits(),
            &[y, z, x]
        )),
        TriK::Selp => lanes3!(|x, y, z| if z & 1 != 0 { x } else { y }),
    }
}

/// The bits a zero-extended load of `bytes` can set.
#[inline(always)]
fn load_mask(bytes: u32) -> u64 {
    if bytes >= 8 {
        u64::MAX
    } else {
        (1u64 << (bytes * 8)) - 1
    }
}

/// An integer `setp` on all 32 lanes: 1 where the comparison holds, else 0.
#[inline(always)]
fn setp_lanes(
    cmp: ICmp,
    w64: bool,
    signed: bool,
    av: &[u64; 32],
    bv: &[u64; 32],
    o: &mut [u64; 32],
) {
    macro_rules! cmp1 {
        ($f:expr, $op:tt) => {{
            let f = $f;
            for l in 0..32 {
                o[l] = (f(av[l]) $op f(bv[l])) as u64;
            }
        }};
    }
    macro_rules! cmp {
        ($f:expr) => {
            match cmp {
                ICmp::Eq => cmp1!($f, ==),
                ICmp::Ne => cmp1!($f, !=),
                ICmp::Lt => cmp1!($f, <),
                ICmp::Le => cmp1!($f, <=),
                ICmp::Gt => cmp1!($f, >),
                ICmp::Ge => cmp1!($f, >=),
            }
        };
    }
    match (w64, signed) {
        (false, false) => cmp!(|v: u64| v as u32),
        (false, true) => cmp!(|v: u64| v as u32 as i32),
        (true, true) => cmp!(|v: u64| v as i64),
        (true, false) => cmp!(|v: u64| v),
    }
}

#[inline(always)]
fn set(regs: &mut [[u64; 32]], d: Slot, l: usize, v: u64) {
    if d != NONE {
        regs[d as usize][l] = v;
    }
}

#[inline(always)]
fn le_read(buf: &[u8], o: usize, n: usize) -> Option<u64> {
    let s = buf.get(o..o.checked_add(n)?)?;
    Some(match n {
        1 => s[0] as u64,
        2 => u16::from_le_bytes(s.try_into().ok()?) as u64,
        4 => u32::from_le_bytes(s.try_into().ok()?) as u64,
        8 => u64::from_le_bytes(s.try_into().ok()?),
        _ => return None,
    })
}

#[inline(always)]
fn le_write(buf: &mut [u8], o: usize, n: usize, v: u64) -> Option<()> {
    let s = buf.get_mut(o..o.checked_add(n)?)?;
    match n {
        1 => s[0] = v as u8,
        2 => s.copy_from_slice(&(v as u16).to_le_bytes()),
        4 => s.copy_from_slice(&(v as u32).to_le_bytes()),
        8 => s.copy_from_slice(&v.to_le_bytes()),
        _ => return None,
    }
    Some(())
}

/// Where an atomic at `addr` in `space` operates: the space a generic address falls in and the
/// address inside it; a misaligned address is a fault.
fn atomic_target(space: Space, addr: u64, ty: ScalarType) -> Result<(Space, u64), Error> {
    let bytes = ty.size();
    let (space, a) = match space {
        Space::Generic => Cta::classify(addr),
        s => (s, addr),
    };
    if a & (bytes as u64 - 1) != 0 {
        return Err(fault(addr, bytes, "atomic"));
    }
    Ok((space, a))
}

/// An atomic on global memory at device address `a` inside `al`: the old value, or `None`
/// out of bounds.
#[inline(always)]
fn atomic_global(
    al: &Allocation,
    a: u64,
    op: AtomOp,
    ty: ScalarType,
    b: u64,
    c: u64,
) -> Option<u64> {
    let off = a - al.base;
    if op == AtomOp::Add && !ty.is_float() {
        al.fetch_add(off, ty.size(), b)
    } else {
        al.rmw(off, ty.size(), |old| atom_apply(op, ty, old, b, c))
    }
}

/// An atomic on the block's shared memory (one worker runs the block, so a read and a write
/// are atomic): the old value, or `None` out of bounds.
fn atomic_shared(
    shared: &mut SharedMemory,
    a: u64,
    op: AtomOp,
    ty: ScalarType,
    b: u64,
    c: u64,
) -> Option<u64> {
    let old = shared.read(a, ty.size())?;
    shared.write(a, ty.size(), atom_apply(op, ty, old, b, c));
    Some(old)
}

/// `isspacep.space` of generic address `v`.
fn in_space(prog: &Program, space: ir::StateSpace, v: u64) -> bool {
    let (s, _) = Cta::classify(v);
    match space {
        ir::StateSpace::Shared | ir::StateSpace::SharedCluster => s == Space::Shared,
        ir::StateSpace::Local => s == Space::Local,
        ir::StateSpace::Param => s == Space::KParam,
        ir::StateSpace::Global => s == Space::Global,
        ir::StateSpace::Const => prog
            .const_ranges
            .iter()
            .any(|&(b, n)| v.wrapping_sub(b) < n),
        _ => false,
    }
}

/// A timer special register, as the device reads it (`%clock` counts at 2 GHz from the launch).
fn read_timer(start: Instant, kind: Timer) -> u64 {
    let ns = start.elapsed().as_nanos() as u64;
    match kind {
        Timer::Clock => (ns * 2) & 0xffff_ffff,
        Timer::Clock64 => ns * 2,
        Timer::Global => now_ns(),
        Timer::GlobalLo => now_ns() & 0xffff_ffff,
        Timer::GlobalHi => now_ns() >> 32,
    }
}

fn fault(addr: u64, bytes: u32, access: &'static str) -> Error {
    if addr & (bytes as u64).wrapping_sub(1) != 0 {
        Error::MisalignedAddress {
            addr,
            bytes,
            access,
            at: Site::default(),
        }
    } else {
        Error::IllegalAddress {
            addr,
            bytes,
            access,
            at: Site::default(),
        }
    }
}

fn sext(v: u64, bytes: u32) -> u64 {
    let sh = 64 - bytes * 8;
    (((v << sh) as i64) >> sh) as u64
}

/// The new value of an atomic location: `old` combined with `b` (and `c` for `cas`).
fn atom_apply(op: AtomOp, ty: ScalarType, old: u64, b: u64, c: u64) -> u64 {
    use ScalarType::*;
    let bytes = ty.size();
    let wm = if bytes >= 8 {
        u64::MAX
    } else {
        (1u64 << (bytes * 8)) - 1
    };
    let r = match op {
        AtomOp::And => old & b,
        AtomOp::Or => old | b,
        AtomOp::Xor => old ^ b,
        AtomOp::Exch => b,
        AtomOp::Cas => {
            if old & wm == b & wm {
                c
            } else {
                old
            }
        }
        AtomOp::Inc => {
            if (old & wm) >= (b & wm) {
                0
            } else {
                old + 1
            }
        }
        AtomOp::Dec => {
            if old & wm == 0 || (old & wm) > (b & wm) {
                b
            } else {
                old - 1
            }
        }
        AtomOp::Add => match ty {
            F32 => {
                let x = fp::ftz32(f32::from_bits(old as u32)) + fp::ftz32(f32::from_bits(b as u32));
                fp::canon32(fp::ftz32(x))
            }
            F64 => {
                let x = f64::from_bits(old) + f64::from_bits(b);
                if x.is_nan() {
                    fp::NAN64
                } else {
                    x.to_bits()
                }
            }
            F16 => f16_add(old as u16, b as u16) as u64,
            BF16 => bf16_add(old as u16, b as u16) as u64,
            F16x2 => {
                (f16_add(old as u16, b as u16) as u64)
                    | (f16_add((old >> 16) as u16, (b >> 16) as u16) as u64) << 16
            }
            BF16x2 => {
                (bf16_add(old as u16, b as u16) as u64)
                    | (bf16_add((old >> 16) as u16, (b >> 16) as u16) as u64) << 16
            }
            _ => old.wrapping_add(b),
        },
        AtomOp::Min | AtomOp::Max => {
            let less = match ty {
                S32 => (old as i32) < (b as i32),
                S64 => (old as i64) < (b as i64),
                F32 => {
                    let (x, y) = (f32::from_bits(old as u32), f32::from_bits(b as u32));
                    return fmin_max(
                        op,
                        x.is_nan(),
                        y.is_nan(),
                        x < y || (x == y && old > b),
                        old,
                        b,
                    );
                }
                F64 => {
                    let (x, y) = (f64::from_bits(old), f64::from_bits(b));
                    return fmin_max(
                        op,
                        x.is_nan(),
                        y.is_nan(),
                        x < y || (x == y && old > b),
                        old,
                        b,
                    );
                }
                _ => (old & wm) < (b & wm),
            };
            if (op == AtomOp::Min) == less {
                old
            } else {
                b
            }
        }
        AtomOp::Popc => old,
    };
    r & wm
}

fn fmin_max(op: AtomOp, xn: bool, yn: bool, x_less: bool, x: u64, y: u64) -> u64 {
    match (xn, yn) {
        (true, true) => x,
        (true, false) => y,
        (false, true) => x,
        _ => {
            if (op == AtomOp::Min) == x_less {
                x
            } else {
                y
            }
        }
    }
}

fn f16_add(a: u16, b: u16) -> u16 {
    fp::f64_to_small(fp::f16_to_f64(a) + fp::f16_to_f64(b), 5, 10)
}

fn bf16_add(a: u16, b: u16) -> u16 {
    fp::f64_to_small(fp::bf16_to_f64(a) + fp::bf16_to_f64(b), 8, 7)
}

fn now_ns() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
}

/// A worker thread's state: the block it runs and a cache of the last allocation it touched.
struct Worker<'a> {
    warps: Vec<Warp>,
    c: Cta<'a>,
}

/// The running block's state other than its warps.
struct Cta<'a> {
    l: &'a Launch<'a>,
    shared: SharedMemory,
    /// Most recently used allocations (kernels touch a few arrays at a time).
    cache: Vec<Arc<Allocation>>,
    bars: [Bar; 16],
    live: u32,
    cta: [u32; 3],
    /// What the block printed and its failed assertions' messages.
    stdout: Vec<u8>,
    stderr: Vec<u8>,
}

/// What a warp's run ended with.
enum Stop {
    /// No runnable lanes (blocked at a barrier, or exited), or its slice ended.
    Yield,
}

impl<'a> Worker<'a> {
    fn new(l: &'a Launch<'a>, smid: u32) -> Worker<'a> {
        let threads = l.block[0] * l.block[1] * l.block[2];
        let nwarps = threads.div_ceil(32);
        let shared_len = l.shared_len();
        let mut warps = Vec::with_capacity(nwarps as usize);
        let f = &l.prog.funcs[l.kernel as usize];
        for _ in 0..nwarps {
            let mut w = Warp {
                regs: vec![[0u64; 32]; l.prog.nslots as usize],
                bar_dst: [NONE; 16],
                frames: vec![Vec::new(); 32],
                saved: vec![Vec::new(); 32],
                local: vec![vec![0u8; f.local_stack as usize]; 32],
                ..Warp::default()
            };
            for &(s, v) in &l.prog.consts {
                w.regs[s as usize] = [v; 32];
            }
            w.regs[sr::ONE as usize] = [1; 32];
            warps.push(w);
        }
        Self::init_static(l, smid, &mut warps);
        Worker {
            warps,
            c: Cta {
                l,
                shared: SharedMemory::new(shared_len),
                cache: Vec::with_capacity(4),
                bars: [Bar::default(); 16],
                live: 0,
                cta: [0; 3],
                stdout: Vec::new(),
                stderr: Vec::new(),
            },
        }
    }

    /// Writes the special registers that stay the same for every block of the launch.
    fn init_static(l: &Launch, smid: u32, warps: &mut [Warp]) {
        let [bx, by, bz] = l.block;
        let threads = bx * by * bz;
        let dyn_base = l.dyn_base();
        for (wi, w) in warps.iter_mut().enumerate() {
            let first = wi as u32 * 32;
            let n = (threads - first).min(32);
            let r = &mut w.regs;
            for lane in 0..32u32 {
                let t = first + lane;
                let li = lane as usize;
                let (x, y, z) = if lane < n {
                    (t % bx, (t / bx) % by, t / (bx * by))
                } else {
                    (0, 0, 0)
                };
                r[sr::TID as usize][li] = x as u64;
                r[sr::TID as usize + 1][li] = y as u64;
                r[sr::TID as usize + 2][li] = z as u64;
                r[sr::LANEID as usize][li] = lane as u64;
                r[sr::LM_EQ as usize][li] = 1u64 << lane;
                r[sr::LM_LE as usize][li] = ((2u64 << lane) - 1) & 0xffff_ffff;
                r[sr::LM_LT as usize][li] = (1u64 << lane) - 1;
                r[sr::LM_GE as usize][li] = (0xffff_ffffu64 << lane) & 0xffff_ffff;
                r[sr::LM_GT as usize][li] = (0xffff_ffffu64 << (lane + 1)) & 0xffff_ffff;
            }
            for d in 0..3 {
                r[sr::NTID as usize + d] = [l.block[d] as u64; 32];
                r[sr::NCTAID as usize + d] = [l.grid[d] as u64; 32];
            }
            r[sr::WARPID as usize] = [wi as u64; 32];
            r[sr::NWARPID as usize] = [64; 32];
            r[sr::SMID as usize] = [smid as u64; 32];
            r[sr::NSMID as usize] = [l.nsm as u64; 32];
            r[sr::GRIDID as usize] = [l.gridid; 32];
            r[sr::DYN_SMEM as usize] = [l.dyn_shared as u64; 32];
            r[sr::TOTAL_SMEM as usize] = [dyn_base + l.dyn_shared as u64; 32];
            r[sr::DYN_BASE as usize] = [dyn_base; 32];
        }
    }

    #[inline(always)]
    fn run_cta<const FMA: bool>(&mut self, cta: [u32; 3]) -> Result<(), Error> {
        let l = self.c.l;
        let [bx, by, bz] = l.block;
        let threads = bx * by * bz;
        let nwarps = threads.div_ceil(32);
        let kf = &l.prog.funcs[l.kernel as usize];
        let entry = kf.entry;
        // After its first block a warp skips the block-invariant prologue: its registers still
        // hold those values (see `lower::hoist_block_invariants`).
        let after_prologue = entry + kf.invariant_prologue;
        self.c.cta = cta;
        self.c.live = threads;
        self.c.bars = [Bar::default(); 16];
        for (wi, w) in self.warps.iter_mut().enumerate() {
            let first = wi as u32 * 32;
            let n = (threads - first).min(32);
            w.present = if n == 32 { u32::MAX } else { (1u32 << n) - 1 };
            w.exited = 0;
            w.waiting = 0;
            w.bar_wait = [0; 16];
            w.carry = 0;
            w.in_call = 0;
            w.prefer_max = false;
            w.pc = [if w.prologue_done {
                after_prologue
            } else {
                entry
            }; 32];
            if w.called {
                // A faulting or exiting callee can leave frames behind.
                for fr in &mut w.frames {
                    fr.clear();
                }
                for s in &mut w.saved {
                    s.clear();
                }
                w.called = false;
            }
            let r = &mut w.regs;
            for d in 0..3 {
                r[sr::CTAID as usize + d] = [cta[d] as u64; 32];
            }
            r[sr::FRAME as usize] = [0; 32];
            r[sr::FRAME as usize] = [0; 32];
        }
        loop {
            let mut ran = false;
            for wi in 0..nwarps as usize {
                if self.warps[wi].runnable() != 0 {
                    let r = self.c.run_warp::<FMA>(&mut self.warps[wi]);
                    match r {
                        Ok(Stop::Yield) => ran = true,
                        Err(e) => return Err(e),
                    }
                }
            }
            let released = self.release_barriers();
            if self.c.live == 0 {
                for w in &mut self.warps {
                    w.prologue_done = true;
                }
                return Ok(());
            }
            if l.abort.load(Ordering::Relaxed) {
                return Ok(());
            }
            if !ran && !released {
                let pc = self
                    .warps
                    .iter()
                    .find(|w| w.waiting != 0)
                    .map(|w| w.pc[w.waiting.trailing_zeros() as usize]);
                let at = pc
                    .map(|p| self.c.site(p.saturating_sub(1)))
                    .unwrap_or_default();
                return Err(Error::Deadlock {
                    what: format!(
                        "{} of {} live threads wait at barriers that cannot complete",
                        self.warps
                            .iter()
                            .map(|w| w.waiting.count_ones())
                            .sum::<u32>(),
                        self.c.live
                    ),
                    at,
                });
            }
        }
    }

    /// Releases every barrier whose expected arrivals are complete; true if any was.
    fn release_barriers(&mut self) -> bool {
        let mut any = false;
        for id in 0..16 {
            let b = self.c.bars[id];
            if b.arrived == 0 {
                continue;
            }
            let need = if b.count > 0 { b.count } else { self.c.live };
            if b.arrived < need {
                continue;
            }
            any = true;
            self.c.bars[id] = Bar::default();
            for w in &mut self.warps {
                let m = w.bar_wait[id];
                if m == 0 {
                    continue;
                }
                w.waiting &= !m;
                w.bar_wait[id] = 0;
                let d = w.bar_dst[id];
                let v = match w.bar_kind[id] {
                    BarKind::RedPopc => b.popc as u64,
                    BarKind::RedAnd => b.and as u64,
                    BarKind::RedOr => b.or as u64,
                    _ => continue,
                };
                if d != NONE {
                    for lane in Lanes(m) {
                        w.regs[d as usize][lane] = v;
                    }
                }
            }
        }
        any
    }
}

impl<'a> Cta<'a> {
    fn site(&self, pc: u32) -> Site {
        Site::new(
            self.l.name,
            self.l
                .prog
                .locs
                .get(pc as usize)
                .copied()
                .unwrap_or_default(),
        )
    }

    #[inline(always)]
    fn alloc_for(&mut self, addr: u64) -> Option<&Arc<Allocation>> {
        if let Some(i) = self
            .cache
            .iter()
            .position(|c| addr.wrapping_sub(c.base) < c.size)
        {
            self.cache.swap(0, i);
            return Some(&self.cache[0]);
        }
        let a = self.l.mem.lookup(addr)?;
        if self.cache.len() == 4 {
            self.cache.pop();
        }
        self.cache.insert(0, a);
        Some(&self.cache[0])
    }

    #[inline(always)]
    fn gload(&mut self, addr: u64, bytes: u32) -> Result<u64, Error> {
        match self.alloc_for(addr) {
            Some(a) => a
                .load(addr - a.base, bytes)
                .ok_or_else(|| fault(addr, bytes, "load")),
            None => Err(fault(addr, bytes, "load")),
        }
    }

    #[inline(always)]
    fn gstore(&mut self, addr: u64, bytes: u32, v: u64) -> Result<(), Error> {
        match self.alloc_for(addr) {
            Some(a) => a
                .store(addr - a.base, bytes, v)
                .ok_or_else(|| fault(addr, bytes, "store")),
            None => Err(fault(addr, bytes, "store")),
        }
    }

    /// Resolves a generic address to its space and the space-relative address.
    #[inline(always)]
    fn classify(addr: u64) -> (Space, u64) {
        if addr.wrapping_sub(SHARED_WINDOW) < WINDOW_SIZE {
            (Space::Shared, addr - SHARED_WINDOW)
        } else if addr.wrapping_sub(LOCAL_WINDOW) < WINDOW_SIZE {
            (Space::Local, addr - LOCAL_WINDOW)
        } else if addr.wrapping_sub(PARAM_WINDOW) < WINDOW_SIZE {
            (Space::KParam, addr - PARAM_WINDOW)
        } else {
            (Space::Global, addr)
        }
    }

    /// One lane's load of `bytes` at `addr` in `space`.
    #[inline(always)]
    fn load(
        &mut self,
        w: &Warp,
        lane: usize,
        space: Space,
        addr: u64,
        bytes: u32,
    ) -> Result<u64, Error> {
        let (space, a) = match space {
            Space::Generic => Self::classify(addr),
            s => (s, addr),
        };
        if a & (bytes as u64 - 1) != 0 {
            return Err(fault(addr, bytes, "load"));
        }
        let r = match space {
            Space::Global | Space::Generic => return self.gload(a, bytes),
            s => self.read_block_space(w, lane, s, a, bytes),
        };
        r.ok_or_else(|| fault(addr, bytes, "load"))
    }

    /// One lane's read from a space of the block's own (shared, local, kernel parameters) at
    /// the space-relative address `a`; `None` out of bounds (and for global memory).
    #[inline(always)]
    fn read_block_space(
        &self,
        w: &Warp,
        lane: usize,
        space: Space,
        a: u64,
        bytes: u32,
    ) -> Option<u64> {
        match space {
            Space::Shared => self.shared.read(a, bytes),
            Space::Local => usize::try_from(a)
                .ok()
                .and_then(|o| le_read(&w.local[lane], o, bytes as usize)),
            Space::KParam => usize::try_from(a)
                .ok()
                .and_then(|o| le_read(self.l.params, o, bytes as usize)),
            Space::Global | Space::Generic => None,
        }
    }

    #[inline(always)]
    fn store(
        &mut self,
        w: &mut Warp,
        lane: usize,
        space: Space,
        addr: u64,
        bytes: u32,
        v: u64,
    ) -> Result<(), Error> {
        let (space, a) = match space {
            Space::Generic => Self::classify(addr),
            s => (s, addr),
        };
        if a & (bytes as u64 - 1) != 0 {
            return Err(fault(addr, bytes, "store"));
        }
        let r = match space {
            Space::Global | Space::Generic => return self.gstore(a, bytes, v),
            Space::Shared => self.shared.write(a, bytes, v),
            Space::Local => usize::try_from(a)
                .ok()
                .and_then(|o| le_write(&mut w.local[lane], o, bytes as usize, v)),
            Space::KParam => None,
        };
        r.ok_or_else(|| fault(addr, bytes, "store"))
    }

    fn atomic(
        &mut self,
        space: Space,
        addr: u64,
        op: AtomOp,
        ty: ScalarType,
        b: u64,
        c: u64,
    ) -> Result<u64, Error> {
        let (space, a) = atomic_target(space, addr, ty)?;
        let r = match space {
            Space::Global | Space::Generic => match self.alloc_for(a) {
                Some(al) => atomic_global(al, a, op, ty, b, c),
                None => None,
            },
            Space::Shared => atomic_shared(&mut self.shared, a, op, ty, b, c),
            _ => None,
        };
        r.ok_or_else(|| fault(addr, ty.size(), "atomic"))
    }

    /// Scalar loads from one space with the width resolved outside the lane loop: uniform
    /// kernel-parameter reads happen once, global reads check the allocation of the first lane
    /// once and then only a range compare per lane. `false` when the slow path must run.
    #[allow(clippy::too_many_arguments, clippy::modulo_one)]
    #[inline(always)]
    fn ld_fast(
        &mut self,
        w: &mut Warp,
        exec: u32,
        space: Space,
        d: Slot,
        wm: u64,
        bytes: u32,
        sx: bool,
        addr: Slot,
        off: i64,
    ) -> Result<bool, Error> {
        let sh = if sx { 64 - bytes * 8 } else { 0 };
        let fix = |v: u64| ((((v << sh) as i64) >> sh) as u64) & wm;
        match space {
            Space::KParam if addr == sr::ZERO => {
                let a = off as u64;
                let v = usize::try_from(a)
                    .ok()
                    .and_then(|o| le_read(self.l.params, o, bytes as usize))
                    .filter(|_| a & (bytes as u64 - 1) == 0)
                    .ok_or_else(|| fault(a, bytes, "load"))?;
                write(&mut w.regs, d, exec, &[fix(v); 32], u64::MAX);
                Ok(true)
            }
            Space::Global => {
                let av = &w.regs[addr as usize];
                let first = av[exec.trailing_zeros() as usize].wrapping_add(off as u64);
                let Some(al) = self.alloc_for(first) else {
                    return Err(fault(first, bytes, "load"));
                };
                let (base, size) = (al.base, al.size);
                let mut o = [0u64; 32];
                if exec == u32::MAX {
                    // The whole warp: one bounds and alignment check for all lanes.
                    let mut offs = [0u64; 32];
                    for l in 0..32 {
                        offs[l] = av[l].wrapping_add(off as u64).wrapping_sub(base);
                    }
                    // Straight into the destination register (a failed gather loads nothing).
                    let out = if d == NONE {
                        &mut o
                    } else {
                        &mut w.regs[d as usize]
                    };
                    if al.gather(&offs, bytes, out) {
                        if sx {
                            for v in out.iter_mut() {
                                *v = fix(*v);
                            }
                        } else if wm & load_mask(bytes) != load_mask(bytes) {
                            for v in out.iter_mut() {
                                *v &= wm;
                            }
                        }
                        return Ok(true);
                    }
                }
                let av = &w.regs[addr as usize];
                let mut miss = 0u32;
                for l in Lanes(exec) {
                    let a = av[l].wrapping_add(off as u64);
                    let r = a.wrapping_sub(base);
                    if r < size {
                        match al.load(r, bytes) {
                            Some(v) => o[l] = fix(v),
                            None => return Err(fault(a, bytes, "load")),
                        }
                    } else {
                        miss |= 1 << l;
                    }
                }
                // Lanes outside the first lane's allocation.
                for l in Lanes(miss) {
                    let a = av[l].wrapping_add(off as u64);
                    if a & (bytes as u64 - 1) != 0 {
                        return Err(fault(a, bytes, "load"));
                    }
                    o[l] = fix(self.gload(a, bytes)?);
                }
                write(&mut w.regs, d, exec, &o, u64::MAX);
                Ok(true)
            }
            Space::Shared => {
                let av = &w.regs[addr as usize];
                if exec == u32::MAX && d != NONE {
                    // The whole warp, straight into the destination (a failed gather loads
                    // nothing and the lanes are rechecked one by one for the error).
                    let mut offs = [0u64; 32];
                    for l in 0..32 {
                        offs[l] = av[l].wrapping_add(off as u64);
                    }
                    let out = &mut w.regs[d as usize];
                    if self.shared.gather(&offs, bytes, out) {
                        if sx || wm & load_mask(bytes) != load_mask(bytes) {
                            for v in out.iter_mut() {
                                *v = fix(*v);
                            }
                        }
                        return Ok(true);
                    }
                }
                let av = &w.regs[addr as usize];
                let mut o = [0u64; 32];
                for l in Lanes(exec) {
                    let a = av[l].wrapping_add(off as u64);
                    match self.shared.read(a, bytes) {
                        Some(v) => o[l] = fix(v),
                        None => return Err(fault(a, bytes, "load")),
                    }
                }
                write(&mut w.regs, d, exec, &o, u64::MAX);
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    /// Scalar global stores: the first lane's allocation is resolved once, the other lanes
    /// only compare against its range.
    #[inline(always)]
    fn st_global(
        &mut self,
        w: &Warp,
        exec: u32,
        src: Slot,
        bytes: u32,
        addr: Slot,
        off: i64,
    ) -> Result<(), Error> {
        let av = &w.regs[addr as usize];
        let sv = &w.regs[src as usize];
        let first = av[exec.trailing_zeros() as usize].wrapping_add(off as u64);
        let Some(al) = self.alloc_for(first) else {
            return Err(fault(first, bytes, "store"));
        };
        if exec == u32::MAX {
            // The whole warp: one bounds and alignment check for all lanes.
            let mut offs = [0u64; 32];
            for l in 0..32 {
                offs[l] = av[l].wrapping_add(off as u64).wrapping_sub(al.base);
            }
            if al.scatter(&offs, bytes, sv) {
                return Ok(());
            }
        }
        let mut miss = 0u32;
        for l in Lanes(exec) {
            let a = av[l].wrapping_add(off as u64);
            let r = a.wrapping_sub(al.base);
            if r < al.size {
                if al.store(r, bytes, sv[l]).is_none() {
                    return Err(fault(a, bytes, "store"));
                }
            } else {
                miss |= 1 << l;
            }
        }
        // Lanes outside the first lane's allocation.
        for l in Lanes(miss) {
            let a = av[l].wrapping_add(off as u64);
            if a & (bytes as u64 - 1) != 0 {
                return Err(fault(a, bytes, "store"));
            }
            self.gstore(a, bytes, sv[l])?;
        }
        Ok(())
    }

    /// Scalar shared stores with the width resolved outside the lane loop.
    #[inline(always)]
    fn st_shared(
        &mut self,
        w: &Warp,
        exec: u32,
        src: Slot,
        bytes: u32,
        addr: Slot,
        off: i64,
    ) -> Result<(), Error> {
        let av = &w.regs[addr as usize];
        let sv = &w.regs[src as usize];
        if exec == u32::MAX {
            // The whole warp: one check for all lanes.
            let mut offs = [0u64; 32];
            for l in 0..32 {
                offs[l] = av[l].wrapping_add(off as u64);
            }
            if self.shared.scatter(&offs, bytes, sv) {
                return Ok(());
            }
        }
        for l in Lanes(exec) {
            let a = av[l].wrapping_add(off as u64);
            if self.shared.write(a, bytes, sv[l]).is_none() {
                return Err(fault(a, bytes, "store"));
            }
        }
        Ok(())
    }

    /// Runs warp `w` until it has no runnable lanes or its slice ends.
    #[inline(always)]
    fn run_warp<const FMA: bool>(&mut self, w: &mut Warp) -> Result<Stop, Error> {
        let mut pc = 0u32;
        match self.run_warp_inner::<FMA>(w, &mut pc) {
            Ok(s) => Ok(s),
            Err(e) => Err(e.with_site(|| self.site(pc))),
        }
    }

    /// The warp loop.
    #[inline(always)]
    fn run_warp_inner<const FMA: bool>(
        &mut self,
        w: &mut Warp,
        pcout: &mut u32,
    ) -> Result<Stop, Error> {
        let prog = self.l.prog;
        let insts: &[Inst] = &prog.insts;
        let mut budget = SLICE;
        'outer: loop {
            let runnable = w.runnable();
            if runnable == 0 {
                return Ok(Stop::Yield);
            }
            // Lowest counter first, so paths reconverge; after a slice spent spinning in a
            // divergent loop, the highest one once, so a lane holding a lock the others spin on
            // gets to release it (forward progress as with independent thread scheduling).
            let first = w.pc[runnable.trailing_zeros() as usize];
            let (mut pc, mut mask) = if runnable == u32::MAX && all_equal(&w.pc) {
                // Converged (the common case): no per-lane scan.
                (first, runnable)
            } else {
                let mut pc = u32::MAX;
                if w.prefer_max {
                    pc = 0;
                    for l in Lanes(runnable) {
                        pc = pc.max(w.pc[l]);
                    }
                } else {
                    for l in Lanes(runnable) {
                        pc = pc.min(w.pc[l]);
                    }
                }
                let mut mask = 0u32;
                for l in Lanes(runnable) {
                    if w.pc[l] == pc {
                        mask |= 1 << l;
                    }
                }
                (pc, mask)
            };
            w.prefer_max = false;
            let mut others = runnable & !mask;
            let mut others_min = u32::MAX;
            for l in Lanes(others) {
                others_min = others_min.min(w.pc[l]);
            }
            macro_rules! leave {
                () => {{
                    for l in Lanes(mask) {
                        w.pc[l] = pc;
                    }
                    continue 'outer;
                }};
            }
            // After advancing `pc`: lanes waiting at the new counter join; past the lowest
            // waiting counter, the warp goes back to the scheduler.
            macro_rules! merge {
                () => {
                    if others != 0 && pc >= others_min {
                        if pc > others_min {
                            leave!();
                        }
                        for l in Lanes(others) {
                            if w.pc[l] == pc {
                                mask |= 1 << l;
                            }
                        }
                        others &= !mask;
                        others_min = u32::MAX;
                        for l in Lanes(others) {
                            others_min = others_min.min(w.pc[l]);
                        }
                    }
                };
            }
            loop {
                *pcout = pc;
                let inst = &insts[pc as usize];
                let exec = if inst.guard == NONE {
                    mask
                } else {
                    let mut e = lane_bits(&w.regs[inst.guard as usize]);
                    if inst.neg {
                        e = !e;
                    }
                    e & mask
                };
                match &inst.op {
                    Op::Nop => {}
                    Op::Mov { d, a, wm } => {
                        let fused = if exec == u32::MAX {
                            rows(&mut w.regs, *d, [*a])
                        } else {
                            None
                        };
                        match fused {
                            Some((dst, [av])) => {
                                for l in 0..32 {
                                    dst[l] = av[l] & wm;
                                }
                            }
                            None if *d != NONE => {
                                let v = w.regs[*a as usize];
                                write(&mut w.regs, *d, exec, &v, *wm);
                            }
                            None => {}
                        }
                    }
                    Op::Bin { k, d, a, b, wm } => {
                        let fused = if exec == u32::MAX {
                            rows(&mut w.regs, *d, [*a, *b])
                        } else {
                            None
                        };
                        match fused {
                            Some((dst, [av, bv])) => bin_lanes(*k, av, bv, dst, *wm),
                            None => {
                                let mut o = [0u64; 32];
                                bin_lanes(
                                    *k,
                                    &w.regs[*a as usize],
                                    &w.regs[*b as usize],
                                    &mut o,
                                    u64::MAX,
                                );
                                write(&mut w.regs, *d, exec, &o, *wm);
                            }
                        }
                    }
                    Op::Tri { k, d, a, b, c, wm } => {
                        let fused = if exec == u32::MAX {
                            rows(&mut w.regs, *d, [*a, *b, *c])
                        } else {
                            None
                        };
                        match fused {
                            Some((dst, [av, bv, cv])) => tri_lanes::<FMA>(*k, av, bv, cv, dst, *wm),
                            None => {
                                let r = &w.regs;
                                let mut o = [0u64; 32];
                                tri_lanes::<FMA>(
                                    *k,
                                    &r[*a as usize],
                                    &r[*b as usize],
                                    &r[*c as usize],
                                    &mut o,
                                    u64::MAX,
                                );
                                write(&mut w.regs, *d, exec, &o, *wm);
                            }
                        }
                    }
                    Op::SetpI {
                        d,
                        a,
                        b,
                        cmp,
                        w64,
                        signed,
                    } => {
                        let fused = if exec == u32::MAX {
                            rows(&mut w.regs, *d, [*a, *b])
                        } else {
                            None
                        };
                        match fused {
                            Some((dst, [av, bv])) => setp_lanes(*cmp, *w64, *signed, av, bv, dst),
                            None => {
                                let mut o = [0u64; 32];
                                let r = &w.regs;
                                setp_lanes(
                                    *cmp,
                                    *w64,
                                    *signed,
                                    &r[*a as usize],
                                    &r[*b as usize],
                                    &mut o,
                                );
                                write(&mut w.regs, *d, exec, &o, 1);
                            }
                        }
                    }
                    Op::Pack {
                        d,
                        parts,
                        n,
                        bits,
                        wm,
                    } => {
                        let mut o = [0u64; 32];
                        let pm = if *bits >= 64 {
                            u64::MAX
                        } else {
                            (1u64 << bits) - 1
                        };
                        for i in 0..*n as usize {
                            let pv = &w.regs[parts[i] as usize];
                            let sh = i as u32 * *bits as u32;
                            for l in 0..32 {
                                o[l] |= (pv[l] & pm) << sh;
                            }
                        }
                        write(&mut w.regs, *d, exec, &o, *wm);
                    }
                    Op::Unpack { ds, n, bits, a } => {
                        let v = w.regs[*a as usize];
                        let pm = if *bits >= 64 {
                            u64::MAX
                        } else {
                            (1u64 << bits) - 1
                        };
                        for i in 0..*n as usize {
                            let sh = i as u32 * *bits as u32;
                            let mut o = [0u64; 32];
                            for l in 0..32 {
                                o[l] = (v[l] >> sh) & pm;
                            }
                            write(&mut w.regs, ds[i], exec, &o, u64::MAX);
                        }
                    }
                    Op::Alu1 { d, wm, a, f } => {
                        for l in Lanes(exec) {
                            let v = f(w.regs[*a as usize][l]);
                            set(&mut w.regs, *d, l, v & wm);
                        }
                    }
                    Op::Alu2 { d, wm, a, b, f } => {
                        for l in Lanes(exec) {
                            let v = f(w.regs[*a as usize][l], w.regs[*b as usize][l]);
                            set(&mut w.regs, *d, l, v & wm);
                        }
                    }
                    Op::Alu3 { d, wm, a, b, c, f } => {
                        for l in Lanes(exec) {
                            let r = &w.regs;
                            let v = f(r[*a as usize][l], r[*b as usize][l], r[*c as usize][l]);
                            set(&mut w.regs, *d, l, v & wm);
                        }
                    }
                    Op::Alu4 { d, wm, s, f } => {
                        for l in Lanes(exec) {
                            let r = &w.regs;
                            let v = f(
                                r[s[0] as usize][l],
                                r[s[1] as usize][l],
                                r[s[2] as usize][l],
                                r[s[3] as usize][l],
                            );
                            set(&mut w.regs, *d, l, v & wm);
                        }
                    }
                    Op::AluCmp {
                        p,
                        pwm,
                        q,
                        qwm,
                        a,
                        b,
                        c,
                        f,
                    } => {
                        for l in Lanes(exec) {
                            let r = &w.regs;
                            let (x, y) = f(r[*a as usize][l], r[*b as usize][l], r[*c as usize][l]);
                            set(&mut w.regs, *p, l, x & pwm);
                            set(&mut w.regs, *q, l, y & qwm);
                        }
                    }
                    Op::AluCarry {
                        d,
                        wm,
                        a,
                        b,
                        c,
                        write_cc,
                        f,
                    } => {
                        for l in Lanes(exec) {
                            let r = &w.regs;
                            let cin = (w.carry >> l) & 1 != 0;
                            let (v, cout) =
                                f(r[*a as usize][l], r[*b as usize][l], r[*c as usize][l], cin);
                            set(&mut w.regs, *d, l, v & wm);
                            if *write_cc {
                                w.carry = (w.carry & !(1 << l)) | ((cout as u32) << l);
                            }
                        }
                    }
                    Op::Ld {
                        space,
                        ds,
                        wms,
                        n,
                        bytes,
                        sext: sx,
                        addr,
                        off,
                    } => {
                        let bytes = *bytes as u32;
                        let n = *n as usize;
                        let vbytes = bytes * n as u32;
                        if n == 1
                            && exec != 0
                            && self
                                .ld_fast(w, exec, *space, ds[0], wms[0], bytes, *sx, *addr, *off)?
                        {
                            pc += 1;
                            merge!();
                            continue;
                        }
                        for l in Lanes(exec) {
                            let a = w.regs[*addr as usize][l].wrapping_add(*off as u64);
                            if n > 1 && a & (vbytes as u64 - 1) != 0 {
                                return Err(fault(a, vbytes, "load"));
                            }
                            for i in 0..n {
                                let mut v =
                                    self.load(w, l, *space, a + (i as u64) * bytes as u64, bytes)?;
                                if *sx {
                                    v = sext(v, bytes);
                                }
                                set(&mut w.regs, ds[i], l, v & wms[i]);
                            }
                        }
                    }
                    Op::St {
                        space,
                        ss,
                        n,
                        bytes,
                        addr,
                        off,
                    } => {
                        let bytes = *bytes as u32;
                        let n = *n as usize;
                        let vbytes = bytes * n as u32;
                        if n == 1 && matches!(*space, Space::Global | Space::Shared) && exec != 0 {
                            if *space == Space::Global {
                                self.st_global(w, exec, ss[0], bytes, *addr, *off)?;
                            } else {
                                self.st_shared(w, exec, ss[0], bytes, *addr, *off)?;
                            }
                            pc += 1;
                            merge!();
                            continue;
                        }
                        for l in Lanes(exec) {
                            let a = w.regs[*addr as usize][l].wrapping_add(*off as u64);
                            if n > 1 && a & (vbytes as u64 - 1) != 0 {
                                return Err(fault(a, vbytes, "store"));
                            }
                            for i in 0..n {
                                let v = w.regs[ss[i] as usize][l];
                                self.store(w, l, *space, a + (i as u64) * bytes as u64, bytes, v)?;
                            }
                        }
                    }
                    Op::Atom {
                        space,
                        op,
                        ty,
                        d,
                        wm,
                        addr,
                        off,
                        b,
                        c,
                    } => {
                        for l in Lanes(exec) {
                            let a = w.regs[*addr as usize][l].wrapping_add(*off as u64);
                            let bv = w.regs[*b as usize][l];
                            let cv = w.regs[*c as usize][l];
                            let old = self.atomic(*space, a, *op, *ty, bv, cv)?;
                            set(&mut w.regs, *d, l, old & wm);
                        }
                    }
                    Op::CpAsync {
                        dst,
                        doff,
                        src,
                        soff,
                        size,
                        src_size,
                    } => {
                        for l in Lanes(exec) {
                            let da = w.regs[*dst as usize][l].wrapping_add(*doff as u64);
                            let sa = w.regs[*src as usize][l].wrapping_add(*soff as u64);
                            let valid = if *src_size == NONE {
                                *size
                            } else {
                                (w.regs[*src_size as usize][l] as u32).min(*size)
                            };
                            if da % *size as u64 != 0 || sa % *size as u64 != 0 {
                                return Err(fault(
                                    if da % *size as u64 != 0 { da } else { sa },
                                    *size,
                                    "async copy",
                                ));
                            }
                            for i in 0..*size as u64 {
                                let v = if (i as u32) < valid {
                                    self.load(w, l, Space::Global, sa + i, 1)?
                                } else {
                                    0
                                };
                                self.store(w, l, Space::Shared, da + i, 1, v)?;
                            }
                        }
                    }
                    Op::Cvta {
                        d,
                        a,
                        window,
                        to,
                        wm,
                    } => {
                        let av = &w.regs[*a as usize];
                        let mut o = [0u64; 32];
                        for l in 0..32 {
                            o[l] = if *to {
                                av[l].wrapping_sub(*window)
                            } else {
                                av[l].wrapping_add(*window)
                            };
                        }
                        write(&mut w.regs, *d, exec, &o, *wm);
                    }
                    Op::Isspacep { d, a, space } => {
                        for l in Lanes(exec) {
                            let v = w.regs[*a as usize][l];
                            set(&mut w.regs, *d, l, in_space(prog, *space, v) as u64);
                        }
                    }
                    Op::ReadTimer { d, kind, wm } => {
                        let v = read_timer(self.l.start, *kind);
                        write(&mut w.regs, *d, exec, &[v; 32], *wm);
                    }
                    Op::Shfl {
                        mode,
                        d,
                        p,
                        a,
                        b,
                        c,
                    } => {
                        let av = w.regs[*a as usize];
                        let bv = w.regs[*b as usize];
                        let cv = w.regs[*c as usize];
                        for l in Lanes(exec) {
                            let lane = l as i32;
                            let bval = (bv[l] & 0x1f) as i32;
                            let clamp = (cv[l] & 0x1f) as i32;
                            let seg = ((cv[l] >> 8) & 0x1f) as i32;
                            let max_lane = (lane & seg) | (clamp & !seg);
                            let min_lane = lane & seg;
                            let (j, ok) = match mode {
                                ir::ShflMode::Up => (lane - bval, lane - bval >= max_lane),
                                ir::ShflMode::Down => (lane + bval, lane + bval <= max_lane),
                                ir::ShflMode::Bfly => (lane ^ bval, (lane ^ bval) <= max_lane),
                                ir::ShflMode::Idx => {
                                    let j = min_lane | (bval & !seg);
                                    (j, j <= max_lane)
                                }
                            };
                            let j = if ok { j } else { lane };
                            set(&mut w.regs, *d, l, av[(j & 31) as usize] & 0xffff_ffff);
                            set(&mut w.regs, *p, l, ok as u64);
                        }
                    }
                    Op::Vote { mode, d, a, neg } => {
                        let mut bits = 0u32;
                        for l in Lanes(exec) {
                            if ((w.regs[*a as usize][l] & 1) != 0) != *neg {
                                bits |= 1 << l;
                            }
                        }
                        let v = match mode {
                            ir::VoteMode::All => (bits == exec) as u64,
                            ir::VoteMode::Any => (bits != 0) as u64,
                            ir::VoteMode::Uni => (bits == 0 || bits == exec) as u64,
                            ir::VoteMode::Ballot => bits as u64,
                        };
                        write(&mut w.regs, *d, exec, &[v; 32], u64::MAX);
                    }
                    Op::Activemask { d } => {
                        write(&mut w.regs, *d, exec, &[exec as u64; 32], u64::MAX);
                    }
                    Op::Match { all, d, p, a, w64 } => {
                        let av = w.regs[*a as usize];
                        let key = |l: usize| if *w64 { av[l] } else { av[l] & 0xffff_ffff };
                        let first = Lanes(exec).next().map(key);
                        let all_eq = Lanes(exec).all(|l| Some(key(l)) == first);
                        for l in Lanes(exec) {
                            let v = if *all {
                                if all_eq {
                                    exec
                                } else {
                                    0
                                }
                            } else {
                                let k = key(l);
                                Lanes(exec)
                                    .filter(|&j| key(j) == k)
                                    .fold(0u32, |m, j| m | 1 << j)
                            };
                            set(&mut w.regs, *d, l, v as u64);
                            set(&mut w.regs, *p, l, all_eq as u64);
                        }
                    }
                    Op::Redux { op, signed, d, a } => {
                        let av = w.regs[*a as usize];
                        let mut it = Lanes(exec).map(|l| av[l] as u32);
                        let r = match op {
                            AtomOp::Add => it.fold(0u32, |s, v| s.wrapping_add(v)),
                            AtomOp::And => it.fold(u32::MAX, |s, v| s & v),
                            AtomOp::Or => it.fold(0, |s, v| s | v),
                            AtomOp::Xor => it.fold(0, |s, v| s ^ v),
                            AtomOp::Min if *signed => {
                                it.map(|v| v as i32).min().unwrap_or(0) as u32
                            }
                            AtomOp::Max if *signed => {
                                it.map(|v| v as i32).max().unwrap_or(0) as u32
                            }
                            AtomOp::Min => it.min().unwrap_or(0),
                            AtomOp::Max => it.max().unwrap_or(0),
                            _ => it.next().unwrap_or(0),
                        };
                        write(&mut w.regs, *d, exec, &[r as u64; 32], u64::MAX);
                    }
                    Op::Ldmatrix {
                        space,
                        ds,
                        wms,
                        n,
                        trans,
                        addr,
                        off,
                    } => {
                        // Each row is eight 16-bit elements at the address one lane supplies:
                        // rows of matrix m come from lanes 8m..8m+8.
                        let mut rows = [[0u16; 8]; 32];
                        for (r, row) in rows.iter_mut().enumerate().take(8 * *n as usize) {
                            if exec & (1 << r) == 0 {
                                return Err(Error::IllegalInstruction {
                                    what: format!(
                                        "ldmatrix (.aligned) with lane {r}, which supplies a row \
                                         address, not converged"
                                    ),
                                    at: Site::default(),
                                });
                            }
                            let a = w.regs[*addr as usize][r].wrapping_add(*off as u64);
                            if a & 15 != 0 {
                                return Err(fault(a, 16, "ldmatrix row"));
                            }
                            for (c, e) in row.iter_mut().enumerate() {
                                *e = self.load(w, r, *space, a + 2 * c as u64, 2)? as u16;
                            }
                        }
                        for l in Lanes(exec) {
                            let (r, c) = (l / 4, 2 * (l % 4));
                            for m in 0..*n as usize {
                                let mat = &rows[8 * m..8 * m + 8];
                                let (lo, hi) = if *trans {
                                    (mat[c][r], mat[c + 1][r])
                                } else {
                                    (mat[r][c], mat[r][c + 1])
                                };
                                let v = lo as u64 | (hi as u64) << 16;
                                set(&mut w.regs, ds[m], l, v & wms[m]);
                            }
                        }
                    }
                    Op::Elect { d, p, mask: mslot } => {
                        let mut lead = 32usize;
                        if let Some(l0) = Lanes(exec).next() {
                            let mm = w.regs[*mslot as usize][l0] as u32 & exec;
                            lead = if mm == 0 {
                                32
                            } else {
                                mm.trailing_zeros() as usize
                            };
                        }
                        for l in Lanes(exec) {
                            set(&mut w.regs, *d, l, lead as u64 & 0xffff_ffff);
                            set(&mut w.regs, *p, l, (l == lead) as u64);
                        }
                    }
                    Op::Bra { target } => {
                        let t = *target;
                        if exec == mask {
                            if t <= pc {
                                // Lanes looping while others of the warp wait elsewhere may
                                // be spinning on them: after a whole slice, give those a turn.
                                // Every back-branch costs the same, so ordinary divergent
                                // loops finish (and reconverge) long before that.
                                budget = budget.saturating_sub(1);
                                if budget == 0 || self.l.abort.load(Ordering::Relaxed) {
                                    pc = t;
                                    for l in Lanes(mask) {
                                        w.pc[l] = pc;
                                    }
                                    w.prefer_max = others != 0;
                                    return Ok(Stop::Yield);
                                }
                            }
                            pc = t;
                            if others != 0 && pc >= others_min {
                                leave!();
                            }
                            continue;
                        } else if exec != 0 {
                            for l in Lanes(mask) {
                                w.pc[l] = if exec >> l & 1 != 0 { t } else { pc + 1 };
                            }
                            if t <= pc {
                                // Divergent loops may be spin-waits on another lane: switch
                                // after a slice.
                                budget = budget.saturating_sub(1);
                                if budget == 0 || self.l.abort.load(Ordering::Relaxed) {
                                    w.prefer_max = true;
                                    return Ok(Stop::Yield);
                                }
                            }
                            continue 'outer;
                        }
                    }
                    Op::Brx { idx, targets } => {
                        let rest = mask & !exec;
                        for l in Lanes(exec) {
                            let i = w.regs[*idx as usize][l] as usize;
                            match targets.get(i) {
                                Some(&t) => w.pc[l] = t,
                                None => {
                                    return Err(Error::IllegalInstruction {
                                        what: format!(
                                            "brx.idx index {i} out of range ({} targets)",
                                            targets.len()
                                        ),
                                        at: Site::default(),
                                    })
                                }
                            }
                        }
                        for l in Lanes(rest) {
                            w.pc[l] = pc + 1;
                        }
                        if exec != 0 {
                            continue 'outer;
                        }
                    }
                    Op::Exit => {
                        if exec != 0 {
                            w.exited |= exec;
                            self.live -= exec.count_ones();
                            mask &= !exec;
                            if mask == 0 {
                                continue 'outer;
                            }
                        }
                    }
                    Op::Ret => {
                        if exec != 0 {
                            self.ret(w, exec)?;
                            for l in Lanes(mask & !exec) {
                                w.pc[l] = pc + 1;
                            }
                            continue 'outer;
                        }
                    }
                    Op::WmmaLoad(m) => {
                        if exec != 0 {
                            self.wmma_load(w, exec, m)?;
                        }
                    }
                    Op::WmmaStore(m) => {
                        if exec != 0 {
                            self.wmma_store(w, exec, m)?;
                        }
                    }
                    Op::Wmma(m) => {
                        if exec != 0 {
                            whole_warp(exec, "wmma.mma")?;
                            let r = |slots: &[Slot]| per_lane(&w.regs, slots);
                            let d = wmma::run(m, &r(&m.ra), &r(&m.rb), &r(&m.rc));
                            set_per_lane(&mut w.regs, &m.rd, &d);
                        }
                    }
                    Op::Mma(m) => {
                        if exec != 0 {
                            whole_warp(exec, "mma.sync")?;
                            let r = |slots: &[Slot]| per_lane(&w.regs, slots);
                            let d = mma::run(m, &r(&m.a), &r(&m.b), &r(&m.c));
                            set_per_lane(&mut w.regs, &m.d, &d);
                        }
                    }
                    Op::Call {
                        target: CallTarget::System(sc),
                        args,
                        rets,
                        ..
                    } => {
                        if exec != 0 {
                            self.system_call(w, exec, *sc, args, rets)?;
                        }
                    }
                    Op::Call {
                        target,
                        args,
                        rets: _,
                        frame,
                    } => {
                        if exec != 0 {
                            self.call(w, exec, pc, *target, args, *frame)?;
                            for l in Lanes(mask & !exec) {
                                w.pc[l] = pc + 1;
                            }
                            continue 'outer;
                        }
                    }
                    Op::Trap => {
                        if exec != 0 {
                            return Err(Error::Trap {
                                at: Site::default(),
                            });
                        }
                    }
                    Op::Brkpt => {
                        if exec != 0 {
                            return Err(Error::IllegalInstruction {
                                what: "brkpt".into(),
                                at: Site::default(),
                            });
                        }
                    }
                    Op::Bar {
                        kind,
                        id,
                        count,
                        d,
                        src,
                        neg,
                    } => {
                        if exec != 0 {
                            let l0 = exec.trailing_zeros() as usize;
                            let bid = w.regs[*id as usize][l0];
                            if bid >= 16 {
                                return Err(Error::IllegalInstruction {
                                    what: format!("barrier id {bid} out of range 0..16"),
                                    at: Site::default(),
                                });
                            }
                            let bid = bid as usize;
                            let cnt = if *count == NONE {
                                0
                            } else {
                                w.regs[*count as usize][l0] as u32
                            };
                            let b = &mut self.bars[bid];
                            b.arrived += exec.count_ones();
                            if cnt != 0 {
                                b.count = cnt;
                            }
                            if b.arrived == exec.count_ones() {
                                b.and = true;
                            }
                            if *src != NONE {
                                for l in Lanes(exec) {
                                    let v = (w.regs[*src as usize][l] & 1 != 0) != *neg;
                                    b.popc += v as u32;
                                    b.and &= v;
                                    b.or |= v;
                                }
                            }
                            if *kind != BarKind::Arrive {
                                w.waiting |= exec;
                                w.bar_wait[bid] |= exec;
                                w.bar_dst[bid] = *d;
                                w.bar_kind[bid] = *kind;
                                for l in Lanes(exec) {
                                    w.pc[l] = pc + 1;
                                }
                                mask &= !exec;
                                if mask == 0 {
                                    continue 'outer;
                                }
                            }
                        }
                    }
                }
                pc += 1;
                merge!();
            }
        }
    }

    fn call(
        &mut self,
        w: &mut Warp,
        exec: u32,
        pc: u32,
        target: CallTarget,
        args: &[ArgSrc],
        frame: u32,
    ) -> Result<(), Error> {
        let prog = self.l.prog;
        w.called = true;
        for l in Lanes(exec) {
            let callee = match target {
                CallTarget::Direct(f) => f,
                CallTarget::System(_) => {
                    return Err(Error::IllegalInstruction {
                        what: "a system function has no code to jump to".into(),
                        at: Site::default(),
                    })
                }
                CallTarget::Indirect(s) | CallTarget::Listed { slot: s, .. } => {
                    let a = w.regs[s as usize][l];
                    let off = a.wrapping_sub(FUNC_WINDOW);
                    let f = off / 16;
                    let bad_address = || Error::IllegalAddress {
                        addr: a,
                        bytes: 0,
                        access: "indirect call",
                        at: Site::default(),
                    };
                    if off % 16 != 0 || f >= prog.funcs.len() as u64 {
                        return Err(bad_address());
                    }
                    // The list first: a function outside it may not be in this kernel's
                    // program at all.
                    if let CallTarget::Listed { list, .. } = target {
                        let allowed = &prog.call_lists[list as usize];
                        if !allowed.contains(&(f as u32)) {
                            return Err(Error::IllegalInstruction {
                                what: format!(
                                    "indirect call to `{}`, which is not in the call's target \
                                     list (`.calltargets` or call table)",
                                    prog.func_names.get(f as usize).map_or("?", |n| n)
                                ),
                                at: Site::default(),
                            });
                        }
                    }
                    if !prog.funcs[f as usize].has_body {
                        return Err(bad_address());
                    }
                    f as u32
                }
            };
            let fi = &prog.funcs[callee as usize];
            if w.frames[l].len() >= MAX_CALL_DEPTH {
                return Err(Error::StackOverflow {
                    depth: w.frames[l].len() as u32,
                    at: Site::default(),
                });
            }
            let base = w.regs[sr::FRAME as usize][l];
            let nb = base + frame as u64;
            let need = nb as usize + fi.frame as usize;
            if need > self.l.stack_limit {
                return Err(Error::StackOverflow {
                    depth: w.frames[l].len() as u32,
                    at: Site::default(),
                });
            }
            let local = &mut w.local[l];
            if local.len() < need {
                local.resize(need, 0);
            }
            for (i, a) in args.iter().enumerate() {
                let Some(&(poff, psize)) = fi.params.get(i) else {
                    break;
                };
                let dst = nb as usize + poff as usize;
                match *a {
                    ArgSrc::Frame(off, size) => {
                        let src = base as usize + off as usize;
                        let n = size.min(psize) as usize;
                        local.copy_within(src..src + n, dst);
                    }
                    ArgSrc::Reg(s) => {
                        let v = w.regs[s as usize][l];
                        let n = (psize as usize).min(8);
                        local[dst..dst + n].copy_from_slice(&v.to_le_bytes()[..n]);
                    }
                }
            }
            let saved_at = w.saved[l].len() as u32;
            if fi.recursive {
                let (rb, n) = (fi.reg_base as usize, fi.nregs as usize);
                for r in rb..rb + n {
                    w.saved[l].push(w.regs[r][l]);
                }
            }
            w.frames[l].push(Frame {
                ret_pc: pc + 1,
                call_pc: pc,
                callee,
                caller_base: base,
                saved_at,
            });
            w.regs[sr::FRAME as usize][l] = nb;
            w.in_call |= 1 << l;
            w.pc[l] = fi.entry;
        }
        Ok(())
    }

    fn ret(&mut self, w: &mut Warp, exec: u32) -> Result<(), Error> {
        let prog = self.l.prog;
        // Returning from the kernel ends the thread.
        let top = exec & !w.in_call;
        w.exited |= top;
        self.live -= top.count_ones();
        for l in Lanes(exec & w.in_call) {
            let Some(fr) = w.frames[l].pop() else {
                w.in_call &= !(1 << l);
                w.exited |= 1 << l;
                self.live -= 1;
                continue;
            };
            if w.frames[l].is_empty() {
                w.in_call &= !(1 << l);
            }
            let fi = &prog.funcs[fr.callee as usize];
            let cb = w.regs[sr::FRAME as usize][l] as usize;
            if let Op::Call { rets, .. } = &prog.insts[fr.call_pc as usize].op {
                for (i, r) in rets.iter().enumerate() {
                    let Some(&(roff, rsize)) = fi.rets.get(i) else {
                        break;
                    };
                    let src = cb + roff as usize;
                    match *r {
                        RetDst::Frame(off, size) => {
                            let dst = fr.caller_base as usize + off as usize;
                            let n = size.min(rsize) as usize;
                            w.local[l].copy_within(src..src + n, dst);
                        }
                        RetDst::Reg(s) => {
                            let n = (rsize as usize).min(8);
                            let v = le_read(&w.local[l], src, n).unwrap_or(0);
                            w.regs[s as usize][l] = v;
                        }
                        RetDst::Discard => {}
                    }
                }
            }
            if fi.recursive {
                let (rb, n) = (fi.reg_base as usize, fi.nregs as usize);
                let at = fr.saved_at as usize;
                for (k, r) in (rb..rb + n).enumerate() {
                    w.regs[r][l] = w.saved[l][at + k];
                }
                w.saved[l].truncate(at);
            }
            w.regs[sr::FRAME as usize][l] = fr.caller_base;
            w.pc[l] = fr.ret_pc;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lanes_iterates_set_bits_in_order() {
        assert_eq!(Lanes(0b1010_0001).collect::<Vec<_>>(), [0, 5, 7]);
        assert_eq!(Lanes(u32::MAX).count(), 32);
        assert_eq!(Lanes(0).next(), None);
    }

    #[test]
    fn rows_splits_destination_from_distinct_sources() {
        let mut regs: Vec<[u64; 32]> = (0..5).map(|i| [i as u64; 32]).collect();
        let (dst, [a, b]) = rows(&mut regs, 2, [4, 0]).unwrap();
        assert_eq!((a[0], b[0]), (4, 0));
        dst[3] = 9;
        assert_eq!(regs[2][3], 9);
        assert!(rows(&mut regs, 2, [2, 0]).is_none());
        assert!(rows(&mut regs, NONE, [1, 0]).is_none());
        assert!(rows(&mut regs, 1, [7]).is_none());
        assert!(rows(&mut regs, 1, [3, 3]).is_some());
    }

    #[test]
    fn uniform_shifts_clear_every_lane_when_out_of_range() {
        let a: [u64; 32] = std::array::from_fn(|l| 0x8000_0001 + l as u64);
        let mut o = [7u64; 32];
        bin_lanes(BinK::Shl32, &a, &[32; 32], &mut o, u64::MAX);
        assert_eq!(o, [0; 32]);
        bin_lanes(BinK::ShrU32, &a, &[31; 32], &mut o, u64::MAX);
        assert_eq!(o, [1; 32]);
        bin_lanes(BinK::Shl32, &a, &[1; 32], &mut o, 0xff);
        assert_eq!(o[0], 2);
        let mut b = [1u64; 32];
        b[3] = 40;
        bin_lanes(BinK::ShrU32, &a, &b, &mut o, u64::MAX);
        assert_eq!((o[0], o[3]), (0x4000_0000, 0));
        // Uniform power-of-two wide multiplies, signed and unsigned, by 1 and 2^31.
        let m = [-3i32 as u32 as u64, 0xffff_ffff, 5, 0x8000_0000];
        for y in [1u64, 4, 0x8000_0000] {
            let av: [u64; 32] = std::array::from_fn(|l| m[l % 4]);
            bin_lanes(BinK::MulWideS32, &av, &[y; 32], &mut o, u64::MAX);
            for l in 0..4 {
                let want = (m[l] as u32 as i32 as i64).wrapping_mul(y as u32 as i32 as i64);
                assert_eq!(o[l], want as u64, "s32 {:#x} * {y:#x}", m[l]);
            }
            bin_lanes(BinK::MulWideU32, &av, &[y; 32], &mut o, u64::MAX);
            for l in 0..4 {
                assert_eq!(o[l], (m[l] as u32 as u64) * y, "u32 {:#x} * {y:#x}", m[l]);
            }
        }
    }

    #[test]
    fn setp_lanes_compares_by_width_and_signedness() {
        let vals = [
            0u64,
            1,
            0x7fff_ffff,
            0x8000_0000,
            0xffff_ffff,
            1 << 32,
            u64::MAX,
        ];
        let av: [u64; 32] = std::array::from_fn(|l| vals[l % 7]);
        let bv: [u64; 32] = std::array::from_fn(|l| vals[(l / 7) % 7]);
        let mut o = [9u64; 32];
        for cmp in [ICmp::Eq, ICmp::Ne, ICmp::Lt, ICmp::Le, ICmp::Gt, ICmp::Ge] {
            for (w64, signed) in [(false, false), (false, true), (true, false), (true, true)] {
                setp_lanes(cmp, w64, signed, &av, &bv, &mut o);
                for l in 0..32 {
                    let key = |v: u64| -> i128 {
                        match (w64, signed) {
                            (false, false) => v as u32 as i128,
                            (false, true) => v as u32 as i32 as i128,
                            (true, false) => v as i128,
                            (true, true) => v as i64 as i128,
                        }
                    };
                    let (x, y) = (key(av[l]), key(bv[l]));
                    let want = match cmp {
                        ICmp::Eq => x == y,
                        ICmp::Ne => x != y,
                        ICmp::Lt => x < y,
                        ICmp::Le => x <= y,
                        ICmp::Gt => x > y,
                        ICmp::Ge => x >= y,
                    };
                    assert_eq!(o[l], want as u64, "{cmp:?} {w64} {signed} lane {l}");
                }
            }
        }
    }

    #[test]
    fn inline_float_compares_match_the_general_ones() {
        use ir::CmpOp::*;
        let vals = [
            0.0f32,
            -0.0,
            1.0,
            -1.5,
            f32::INFINITY,
            f32::NEG_INFINITY,
            f32::NAN,
            f32::from_bits(1),
            f32::MAX,
        ];
        for c in [
            Eq, Ne, Lt, Le, Gt, Ge, Equ, Neu, Ltu, Leu, Gtu, Geu, Num, Nan,
        ] {
            for &x in &vals {
                for &y in &vals {
                    let want = crate::arith::compare::cmp_float(c, x as f64, y as f64);
                    assert_eq!(Some(fcmp32(c, x, y)), want, "{c:?} {x} {y}");
                }
            }
        }
    }

    #[test]
    fn lane_bits_reads_bit_zero_of_each_lane() {
        let mut g = [0u64; 32];
        g[0] = 1;
        g[5] = 3;
        g[31] = u64::MAX;
        g[7] = 2;
        assert_eq!(lane_bits(&g), 1 | 1 << 5 | 1 << 31);
        assert_eq!(lane_bits(&[1; 32]), u32::MAX);
        assert_eq!(load_mask(1), 0xff);
        assert_eq!(load_mask(4), 0xffff_ffff);
        assert_eq!(load_mask(8), u64::MAX);
    }

    #[test]
    fn little_endian_helpers_check_bounds() {
        let mut b = [0u8; 8];
        le_write(&mut b, 2, 4, 0xdead_beef).unwrap();
        assert_eq!(le_read(&b, 2, 4), Some(0xdead_beef));
        assert_eq!(le_read(&b, 2, 2), Some(0xbeef));
        assert_eq!(le_read(&b, 6, 4), None);
        assert_eq!(le_read(&b, usize::MAX, 4), None);
        assert!(le_write(&mut b, 7, 2, 1).is_none());
        assert_eq!(sext(0x80, 1), u64::MAX - 0x7f);
        assert_eq!(sext(0x7fff, 2), 0x7fff);
    }

    #[test]
    fn atomic_operations_follow_ptx_semantics() {
        use ScalarType::*;
        assert_eq!(atom_apply(AtomOp::Inc, U32, 5, 5, 0), 0);
        assert_eq!(atom_apply(AtomOp::Inc, U32, 4, 5, 0), 5);
        assert_eq!(atom_apply(AtomOp::Inc, U32, 9, 5, 0), 0);
        assert_eq!(atom_apply(AtomOp::Dec, U32, 0, 5, 0), 5);
        assert_eq!(atom_apply(AtomOp::Dec, U32, 7, 5, 0), 5);
        assert_eq!(atom_apply(AtomOp::Dec, U32, 3, 5, 0), 2);
        assert_eq!(atom_apply(AtomOp::Cas, B32, 3, 3, 9), 9);
        assert_eq!(atom_apply(AtomOp::Cas, B32, 4, 3, 9), 4);
        assert_eq!(
            atom_apply(AtomOp::Min, S32, (-1i32) as u32 as u64, 1, 0),
            0xffff_ffff
        );
        assert_eq!(atom_apply(AtomOp::Min, U32, 0xffff_ffff, 1, 0), 1);
        assert_eq!(atom_apply(AtomOp::Max, S64, (-5i64) as u64, 3, 0), 3);
        assert_eq!(atom_apply(AtomOp::Add, U32, 0xffff_ffff, 2, 0), 1);
        // f32 atomic add flushes subnormal inputs and results.
        let sub = 0x0000_0001u64;
        assert_eq!(atom_apply(AtomOp::Add, F32, sub, sub, 0), 0);
        assert_eq!(
            atom_apply(
                AtomOp::Add,
                F32,
                1.5f32.to_bits() as u64,
                2.25f32.to_bits() as u64,
                0
            ),
            3.75f32.to_bits() as u64
        );
        assert_eq!(
            atom_apply(AtomOp::Add, F32, f32::NAN.to_bits() as u64, 0, 0),
            0x7fff_ffff
        );
        assert_eq!(atom_apply(AtomOp::Add, F16, 0x3c00, 0x3c00, 0), 0x4000);
        assert_eq!(
            atom_apply(AtomOp::Add, BF16x2, 0x3f80_3f80, 0x3f80_4000, 0),
            0x4000_4040
        );
        assert_eq!(atom_apply(AtomOp::Exch, B64, 1, u64::MAX, 0), u64::MAX);
    }

    #[test]
    fn generic_addresses_classify_by_window() {
        assert_eq!(Cta::classify(SHARED_WINDOW + 12), (Space::Shared, 12));
        assert_eq!(Cta::classify(LOCAL_WINDOW + 4), (Space::Local, 4));
        assert_eq!(Cta::classify(PARAM_WINDOW), (Space::KParam, 0));
        assert_eq!(
            Cta::classify(0x7e00_0000_0100),
            (Space::Global, 0x7e00_0000_0100)
        );
    }
}
