//! Running compiled kernels (`jit`): the block scheduler around the compiled passes, and the
//! helpers compiled code calls for what it does not do inline.
//!
//! Helpers report a fault by storing the error here and setting the context's status; the
//! compiled code then stops the pass and the scheduler attaches the instruction's source
//! location, as the interpreter does.

use super::shared::SharedMemory;
use super::{
    atomic_global, atomic_shared, atomic_target, fault, in_space, le_read, prop64, read_timer, Cta,
    Launch,
};
use crate::jit::{
    JitCtx, JitKernel, EXITED, PASS_FAULT, STOP_LEFT, STOP_OTHER, STOP_SLICED, WAITING,
};
use crate::lower::{Op, Space, TriK};
use crate::memory::Allocation;
use crate::{fp, Error, Site};
use ferrocuda_ptx::ir::{self, AtomOp};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::Ordering;
use std::sync::Arc;

/// Allocations a worker keeps resolved before it starts over.
const CACHED_ALLOCATIONS: usize = 64;

/// The executor's side of a worker running compiled code.
pub(crate) struct CompiledHost<'l> {
    l: &'l Launch<'l>,
    shared: SharedMemory,
    /// All threads' local memory, `local_stride` bytes each.
    local: SharedMemory,
    local_stride: u64,
    local_len: u64,
    /// Allocations the site entries point into (kept alive while they do).
    cache: Vec<Arc<Allocation>>,
    /// Per global memory instruction: `[base, units, host address]` (see `JitCtx::sites`).
    sites: Vec<[u64; 3]>,
    site_bytes: Vec<u32>,
    error: Option<Error>,
}

/// Packs a memory helper call's constant operands: the space, the element width, whether it
/// stores, the vector's width when its alignment is to be checked (else 0) and the
/// instruction's site-cache entry (`u32::MAX`: none).
pub(crate) fn mem_code(space: Space, bytes: u32, store: bool, valign: u32, site: u32) -> u64 {
    let s = match space {
        Space::Global => 0u64,
        Space::Shared => 1,
        Space::Local => 2,
        Space::KParam => 3,
        Space::Generic => 4,
    };
    s | (bytes as u64) << 8
        | (store as u64) << 16
        | (valign as u64 & 0xff) << 24
        | (site as u64) << 32
}

fn run_helper(
    ctx: &mut JitCtx<'_, '_>,
    f: impl FnOnce(&mut JitCtx<'_, '_>) -> Result<u64, Error>,
) -> u64 {
    match catch_unwind(AssertUnwindSafe(|| f(&mut *ctx))) {
        Ok(Ok(v)) => v,
        Ok(Err(e)) => {
            ctx.host.error = Some(e);
            ctx.status = 1;
            0
        }
        Err(_) => {
            ctx.host.error = Some(Error::IllegalInstruction {
                what: "internal error in the compiled kernel's helper".into(),
                at: Site::default(),
            });
            ctx.status = 1;
            0
        }
    }
}

/// A memory access the compiled code did not complete inline (see [`mem_code`]).
pub(crate) extern "C" fn h_mem(
    ctx: &mut JitCtx<'_, '_>,
    addr: u64,
    value: u64,
    t: u64,
    code: u64,
) -> u64 {
    run_helper(ctx, |ctx| ctx.host.mem(addr, value, t, code))
}

/// An operation the interpreter runs through a closure (`Alu*`), or `fma.rn.f32` on a host
/// without a fused multiply-add. The second result, if any, goes to the context's scratch.
pub(crate) extern "C" fn h_alu(
    ctx: &mut JitCtx<'_, '_>,
    pc: u64,
    a: u64,
    b: u64,
    c: u64,
    d: u64,
) -> u64 {
    run_helper(ctx, |ctx| {
        let prog = ctx.host.l.prog;
        Ok(match &prog.insts[pc as usize].op {
            Op::Alu1 { f, wm, .. } => f(a) & wm,
            Op::Alu2 { f, wm, .. } => f(a, b) & wm,
            Op::Alu3 { f, wm, .. } => f(a, b, c) & wm,
            Op::Alu4 { f, wm, .. } => f(a, b, c, d) & wm,
            Op::AluCmp { f, pwm, qwm, .. } => {
                let (x, y) = f(a, b, c);
                ctx.scratch = y & qwm;
                x & pwm
            }
            Op::AluCarry {
                f, wm, write_cc, ..
            } => {
                let (v, cout) = f(a, b, c, d & 1 != 0);
                ctx.scratch = if *write_cc { cout as u64 } else { d };
                v & wm
            }
            Op::Tri {
                k: TriK::Fma32, wm, ..
            } => {
                let r = fp::fma32(
                    f32::from_bits(a as u32),
                    f32::from_bits(b as u32),
                    f32::from_bits(c as u32),
                );
                fp::canon32(r) & wm
            }
            Op::Tri { k: TriK::Fma64, .. } => prop64(
                f64::from_bits(a)
                    .mul_add(f64::from_bits(b), f64::from_bits(c))
                    .to_bits(),
                &[b, c, a],
            ),
            _ => return Err(internal("h_alu")),
        })
    })
}

/// The NaN an f64 operation gives (see `arith::float::prop64`): `r` is its NaN result, `n` of
/// `x, y, z` its operands in the order the GPU prefers them.
pub(crate) extern "C" fn h_nan64(
    _ctx: &mut JitCtx<'_, '_>,
    r: u64,
    x: u64,
    y: u64,
    z: u64,
    n: u64,
) -> u64 {
    prop64(r, &[x, y, z][..(n as usize).min(3)])
}

/// `atom` / `red` at `addr`.
pub(crate) extern "C" fn h_atom(
    ctx: &mut JitCtx<'_, '_>,
    pc: u64,
    addr: u64,
    b: u64,
    c: u64,
) -> u64 {
    run_helper(ctx, |ctx| {
        let prog = ctx.host.l.prog;
        match &prog.insts[pc as usize].op {
            Op::Atom { space, op, ty, .. } => ctx.host.atomic(*space, addr, *op, *ty, b, c),
            _ => Err(internal("h_atom")),
        }
    })
}

/// Timers, `isspacep`, `trap`, `brkpt`, and a call whose frame does not fit the thread's stack.
pub(crate) extern "C" fn h_misc(ctx: &mut JitCtx<'_, '_>, pc: u64, v: u64, _t: u64) -> u64 {
    run_helper(ctx, |ctx| {
        let l = ctx.host.l;
        match &l.prog.insts[pc as usize].op {
            Op::ReadTimer { kind, .. } => Ok(read_timer(l.start, *kind)),
            Op::Isspacep { space, .. } => Ok(in_space(l.prog, *space, v) as u64),
            Op::Call { .. } => Err(Error::StackOverflow {
                depth: 0,
                at: Site::default(),
            }),
            Op::Trap => Err(Error::Trap {
                at: Site::default(),
            }),
            Op::Brkpt => Err(Error::IllegalInstruction {
                what: "brkpt".into(),
                at: Site::default(),
            }),
            _ => Err(internal("h_misc")),
        }
    })
}

fn internal(what: &str) -> Error {
    Error::IllegalInstruction {
        what: format!("internal error: {what} called for another instruction"),
        at: Site::default(),
    }
}

impl<'l> CompiledHost<'l> {
    fn alloc_for(&mut self, addr: u64) -> Option<Arc<Allocation>> {
        if let Some(a) = self
            .cache
            .iter()
            .find(|c| addr.wrapping_sub(c.base) < c.size)
        {
            return Some(a.clone());
        }
        let a = self.l.mem.lookup(addr)?;
        if self.cache.len() >= CACHED_ALLOCATIONS {
            // The site entries may point into any of them: forget those first.
            self.sites.iter_mut().for_each(|s| *s = [0; 3]);
            self.cache.clear();
        }
        self.cache.push(a.clone());
        Some(a)
    }

    fn mem(&mut self, addr: u64, value: u64, t: u64, code: u64) -> Result<u64, Error> {
        let space = match code & 0xff {
            0 => Space::Global,
            1 => Space::Shared,
            2 => Space::Local,
            3 => Space::KParam,
            _ => Space::Generic,
        };
        let bytes = (code >> 8 & 0xff) as u32;
        let store = code >> 16 & 1 != 0;
        let valign = (code >> 24 & 0xff) as u32;
        let site = (code >> 32) as u32;
        let access = if store { "store" } else { "load" };
        if valign > 1 && addr & (valign as u64 - 1) != 0 {
            return Err(fault(addr, valign, access));
        }
        let (space, a) = match space {
            Space::Generic => Cta::classify(addr),
            s => (s, addr),
        };
        if a & (bytes as u64 - 1) != 0 {
            return Err(fault(addr, bytes, access));
        }
        let r = match space {
            Space::Global | Space::Generic => {
                let al = self
                    .alloc_for(a)
                    .ok_or_else(|| fault(addr, bytes, access))?;
                let off = a - al.base;
                let r = if store {
                    al.store(off, bytes, value).map(|_| 0)
                } else {
                    al.load(off, bytes)
                };
                if r.is_some() {
                    if let Some(&total) = self.site_bytes.get(site as usize) {
                        let total = total as u64;
                        if total.is_power_of_two() && al.size >= total && al.base % total == 0 {
                            let units = (al.size - total) / total + 1;
                            self.sites[site as usize] = [al.base, units, al.host_address()];
                        }
                    }
                }
                r
            }
            Space::Shared if store => self.shared.write(a, bytes, value).map(|_| 0),
            Space::Shared => self.shared.read(a, bytes),
            Space::Local => {
                let fits = a
                    .checked_add(bytes as u64)
                    .is_some_and(|e| e <= self.local_len);
                let o = t * self.local_stride + a;
                match (fits, store) {
                    (false, _) => None,
                    (true, true) => self.local.write(o, bytes, value).map(|_| 0),
                    (true, false) => self.local.read(o, bytes),
                }
            }
            Space::KParam if store => None,
            Space::KParam => usize::try_from(a)
                .ok()
                .and_then(|o| le_read(self.l.params, o, bytes as usize)),
        };
        r.ok_or_else(|| fault(addr, bytes, access))
    }

    fn atomic(
        &mut self,
        space: Space,
        addr: u64,
        op: AtomOp,
        ty: ir::ScalarType,
        b: u64,
        c: u64,
    ) -> Result<u64, Error> {
        let (space, a) = atomic_target(space, addr, ty)?;
        let r = match space {
            Space::Global | Space::Generic => self
                .alloc_for(a)
                .and_then(|al| atomic_global(&al, a, op, ty, b, c)),
            Space::Shared => atomic_shared(&mut self.shared, a, op, ty, b, c),
            _ => None,
        };
        r.ok_or_else(|| fault(addr, ty.size(), "atomic"))
    }
}

/// A worker's state for running blocks of a compiled kernel, one at a time.
pub(super) struct Runner<'l> {
    k: &'l JitKernel,
    host: CompiledHost<'l>,
    regs: Vec<u64>,
    resume: Vec<u32>,
    /// The resume slots hold what a block wrote (they start at the entry otherwise).
    dirty: bool,
    smid: u32,
}

impl<'l> Runner<'l> {
    pub(super) fn new(l: &'l Launch<'l>, smid: u32, k: &'l JitKernel) -> Runner<'l> {
        let threads = (l.block[0] * l.block[1] * l.block[2]) as usize;
        let f = &l.prog.funcs[l.kernel as usize];
        let local_len = f.local_stack as u64;
        let local_stride = local_len.div_ceil(16) * 16;
        Runner {
            k,
            host: CompiledHost {
                l,
                shared: SharedMemory::new(l.shared_len()),
                local: SharedMemory::new((local_stride as usize * threads).max(8)),
                local_stride,
                local_len,
                cache: Vec::new(),
                sites: vec![[0; 3]; k.site_bytes.len()],
                site_bytes: k.site_bytes.clone(),
                error: None,
            },
            // Whole quads (see `JitCtx::regs`), so the quad function's frames fit.
            regs: vec![0u64; threads.div_ceil(4) * 4 * k.frame_slots as usize],
            resume: vec![0u32; threads],
            dirty: false,
            smid,
        }
    }

    /// Runs the block at `cta` to its end (every thread exited) or to its first fault.
    ///
    /// Rounds of passes: the quad function runs the quads whose four threads resume at the
    /// same point, the one-thread function the other threads, each up to its exit, a barrier
    /// or the end of its slice. Once no thread can run and some wait at the barrier, it is
    /// released.
    pub(super) fn run_block(&mut self, cta: [u64; 3]) -> Result<(), Error> {
        let l = self.host.l;
        let k = self.k;
        let threads = self.resume.len();
        let shared_len = l.shared_len();
        let dyn_base = l.dyn_base();
        if !k.single_pass && self.dirty {
            self.resume.iter_mut().for_each(|r| *r = 0);
        }
        // (A kernel without loops or barriers whose quads all ran to their exit leaves the
        // resume slots as they were.)
        self.dirty = !k.one_round;
        // Four threads at a time where the kernel has a quad function and quads fit the
        // block's rows.
        let quads = k.quads.is_some() && l.block[0] % 4 == 0;
        // Where every thread waits at the barrier or has exited, and the kernel has a function
        // for the barrier the first waits at: its quad point (that function releases it). At
        // first every thread is at the entry (point 0).
        let mut point = (quads && k.has_barrier_function(0)).then_some(0);
        let host = &mut self.host;
        let mut ctx = JitCtx {
            first: 0,
            nthreads: threads as u64,
            regs: self.regs.as_mut_ptr(),
            resume: self.resume.as_mut_ptr(),
            shared: host.shared.as_mut_ptr(),
            shared_len: shared_len as u64,
            params: l.params.as_ptr(),
            params_len: l.params.len() as u64,
            local: host.local.as_mut_ptr(),
            local_stride: host.local_stride,
            local_len: host.local_len,
            sites: host.sites.as_mut_ptr(),
            shared_units: std::array::from_fn(|k| shared_len as u64 >> k),
            local_units: std::array::from_fn(|k| host.local_len >> k),
            status: 0,
            fault_pc: 0,
            scratch: 0,
            ret: 0,
            stops: 0,
            left_from: u64::MAX,
            left_to: 0,
            ntid: l.block.map(|x| x as u64),
            ctaid: cta,
            nctaid: l.grid.map(|x| x as u64),
            smid: self.smid as u64,
            nsmid: l.nsm as u64,
            gridid: l.gridid,
            dyn_smem: l.dyn_shared as u64,
            total_smem: dyn_base + l.dyn_shared as u64,
            dyn_base,
            host,
        };
        loop {
            // A round: every thread, from where it stopped (the pointers anew, as the last
            // round's release borrowed the slots).
            ctx.first = 0;
            ctx.nthreads = threads as u64;
            ctx.regs = self.regs.as_mut_ptr();
            ctx.resume = self.resume.as_mut_ptr();
            ctx.stops = 0;
            ctx.left_from = u64::MAX;
            ctx.left_to = 0;
            let mut r = if quads {
                // Past a barrier, the function for it alone, then the whole quad function if
                // that released quads that resume elsewhere.
                match point.and_then(|p| k.pass_barrier(p, &mut ctx)) {
                    Some(r) if r == PASS_FAULT || ctx.stops & STOP_OTHER == 0 => r,
                    _ => k.pass_quads(&mut ctx),
                }
            } else {
                k.pass(&mut ctx)
            };
            if !quads || ctx.stops != 0 || r == PASS_FAULT {
                self.dirty = true;
            }
            if quads && r != PASS_FAULT && ctx.stops & STOP_LEFT != 0 {
                // The quads the quad function left (their threads resume at different points,
                // or went different ways at a branch): one thread at a time, in runs of
                // consecutive quads.
                let mut q = ctx.left_from as usize / 4;
                let nquads = (ctx.left_to as usize).min(threads) / 4;
                let left = |q: usize| one_at_a_time(&self.resume[4 * q..4 * q + 4], k);
                while q < nquads && r != PASS_FAULT {
                    if !left(q) {
                        q += 1;
                        continue;
                    }
                    let mut e = q + 1;
                    while e < nquads && left(e) {
                        e += 1;
                    }
                    ctx.first = 4 * q as u64;
                    ctx.nthreads = 4 * e as u64;
                    r = k.pass(&mut ctx);
                    q = e;
                }
            }
            if r == PASS_FAULT {
                let pc = ctx.fault_pc as u32;
                let e = ctx.host.error.take().unwrap_or_else(|| internal("pass"));
                return Err(e.with_site(|| site(l, pc)));
            }
            if k.single_pass || k.one_round || l.abort.load(Ordering::Relaxed) {
                return Ok(());
            }
            // Threads that stopped at a loop head run on in the next round; when none did, every
            // thread waits at the barrier or has exited, and those waiting go on past it.
            point = None;
            if ctx.stops & STOP_SLICED == 0 {
                // Every thread waits at the barrier or has exited.
                let Some(first) = self.resume.iter().find(|&&r| r != EXITED) else {
                    return Ok(());
                };
                point =
                    quad_point(first & !WAITING, k).filter(|&p| quads && k.has_barrier_function(p));
                if point.is_none() {
                    release(&mut self.resume);
                }
            }
        }
    }
}

/// Releases the threads waiting at the barrier.
fn release(resume: &mut [u32]) {
    for r in resume.iter_mut() {
        // (Branch-free, so that it runs four slots a vector instruction.)
        *r &= !WAITING | ((*r == EXITED) as u32) << 31;
    }
}

/// The quad point a thread's resume slot `r` records, as either function records it (see
/// `JitKernel::resume_points`).
fn quad_point(r: u32, k: &JitKernel) -> Option<u32> {
    if r < k.quad_points {
        Some(r)
    } else {
        let p = r.checked_sub(k.resume_points)?;
        (p < k.quad_points).then_some(p)
    }
}

/// Whether a quad whose threads' resume slots are `r` has threads that can run and that the
/// quad function leaves to the one-thread function: they resume at different points, or at
/// one that function alone resumes at (see `JitKernel::resume_points`).
fn one_at_a_time(r: &[u32], k: &JitKernel) -> bool {
    let quad_point = |x: u32| {
        x < k.quad_points || (k.resume_points..k.resume_points + k.quad_points).contains(&x)
    };
    r.iter().any(|&x| x & WAITING == 0) && (r.iter().any(|&x| x != r[0]) || !quad_point(r[0]))
}

fn site(l: &Launch<'_>, pc: u32) -> Site {
    Site::new(
        l.name,
        l.prog.locs.get(pc as usize).copied().unwrap_or_default(),
    )
}
