//! What the quad function needs to know of the kernel before either function is translated:
//! how it holds each register, how registers vary across a quad (`lanes`), and which
//! shared-memory accesses it makes four at a time, grouped so that one check covers several.
//! A group whose check fails, and a guarded access whose lanes disagree, leave the quad to the
//! one-thread function there, so those instructions are resume points of it.

use super::wide_slots;
use crate::jit::body::Body;
use crate::jit::lanes::{lone_guards, shapes, Shape};
use crate::jit::liveness::Flow;
use crate::lower::{Op, Program, Slot, Space, NONE};
use std::collections::{HashMap, HashSet};

/// A shared-memory load or store of one 4- or 8-byte element per lane at an address of a
/// known shape.
pub(in crate::jit) struct SharedAccess {
    pub(in crate::jit) store: bool,
    pub(in crate::jit) addr: Slot,
    pub(in crate::jit) off: i64,
    pub(in crate::jit) bytes: u64,
    /// The register loaded or stored, and the load's width mask.
    pub(in crate::jit) slot: Slot,
    pub(in crate::jit) wm: u64,
    /// `bytes` (consecutive elements) or 0 (one for all lanes).
    pub(in crate::jit) stride: i64,
}

/// Accesses at the same address register (not written between them) and alignment in a
/// straight line of code: the first of them checks lane 0's address for all.
#[derive(Clone, Copy)]
pub(in crate::jit) struct SharedGroup {
    pub(in crate::jit) first: u32,
    /// The lowest offset, and how many elements from there the group's accesses reach.
    pub(in crate::jit) lo: i64,
    pub(in crate::jit) span: u64,
}

pub(in crate::jit) struct QuadPlan {
    /// Registers the quad function holds as 64-bit lanes.
    pub(in crate::jit) wide: HashSet<Slot>,
    pub(in crate::jit) shapes: HashMap<Slot, Shape>,
    /// Guarded instructions whose guard is true (`true`) or false in at most one lane (see
    /// `lanes::lone_guards`).
    pub(in crate::jit) lone: HashMap<u32, bool>,
    /// Per shared-memory access made four at a time: its group.
    pub(in crate::jit) groups: HashMap<u32, SharedGroup>,
    /// The first instructions of the quad function's straight lines of code (see `leaders`).
    pub(in crate::jit) leaders: Vec<u32>,
}

impl QuadPlan {
    /// `flows` are the program's instructions' (see `body::flow`), `live_in` the registers
    /// live at the kernel's entry, `quad_points` the instructions the quad function resumes at.
    pub(in crate::jit) fn new(
        body: &Body,
        prog: &Program,
        flows: &[Flow],
        carry: Slot,
        live_in: &[Slot],
        quad_points: &[u32],
    ) -> QuadPlan {
        let shapes = shapes(body, prog, flows, carry, live_in);
        let mut plan = QuadPlan {
            wide: wide_slots(body, prog, flows, carry),
            lone: lone_guards(body, prog, flows, carry, &shapes),
            shapes,
            groups: HashMap::new(),
            leaders: leaders(body, prog, quad_points),
        };
        let end = body.func_of(body.entry()).map_or(0, |f| f.2);
        for (i, &start) in plan.leaders.clone().iter().enumerate() {
            let stop = plan.leaders.get(i + 1).copied().unwrap_or(end);
            plan.group(body, prog, flows, start, stop);
        }
        plan
    }

    /// The form of a shared-memory access the quad function makes four at a time.
    pub(in crate::jit) fn shared_access(
        &self,
        body: &Body,
        prog: &Program,
        pc: u32,
    ) -> Option<SharedAccess> {
        let (store, addr, off, bytes, slot, wm) =
            element(&prog.insts[pc as usize].op, Space::Shared)?;
        let stride = match self.shapes.get(&addr) {
            _ if body.consts.contains_key(&addr) => 0,
            Some(Shape::Affine(s)) if *s == 0 || *s == bytes as i64 => *s,
            _ => return None,
        };
        // A 32-bit address wraps where lane 0's address plus the offset does not only with an
        // offset near 2^32.
        if !self.wide.contains(&addr) && off.unsigned_abs() >= 1 << 31 {
            return None;
        }
        Some(SharedAccess {
            store,
            addr,
            off,
            bytes,
            slot,
            wm,
            stride,
        })
    }

    /// Groups the accesses of the straight line `start..end`.
    fn group(&mut self, body: &Body, prog: &Program, flows: &[Flow], start: u32, end: u32) {
        let mut open: HashMap<(Slot, u64, i64), Vec<u32>> = HashMap::new();
        let mut groups: Vec<Vec<u32>> = Vec::new();
        for pc in start..end {
            if let Some(a) = self.shared_access(body, prog, pc) {
                let key = (a.addr, a.bytes, a.off.rem_euclid(a.bytes as i64));
                open.entry(key).or_default().push(pc);
            }
            let defs = &flows[pc as usize].defs;
            let closed: Vec<_> = open
                .keys()
                .filter(|k| defs.contains(&k.0))
                .copied()
                .collect();
            for k in closed {
                groups.extend(open.remove(&k));
            }
        }
        groups.extend(open.into_values());
        for g in groups {
            let mut lo = i64::MAX;
            let mut hi = i64::MIN;
            let mut bytes = 1;
            for &pc in &g {
                let a = self.shared_access(body, prog, pc).expect("grouped");
                let n = if a.stride == 0 { 1 } else { 4 };
                lo = lo.min(a.off);
                hi = hi.max(a.off + n * a.bytes as i64);
                bytes = a.bytes;
            }
            let span = ((hi - lo) as u64).div_ceil(bytes);
            for &pc in &g {
                self.groups.insert(
                    pc,
                    SharedGroup {
                        first: g[0],
                        lo,
                        span,
                    },
                );
            }
        }
    }

    /// The instructions where the quad function may leave a quad's threads to the one-thread
    /// function, in order: conditional branches and guarded exits (the threads take them
    /// different ways), the first access of each group (its check failed), and every guarded
    /// access (its lanes disagree).
    pub(in crate::jit) fn handoffs(&self, body: &Body, prog: &Program) -> Vec<u32> {
        let (_, start, end) = body.func_of(body.entry()).unwrap_or((0, 0, 0));
        (start..end)
            .filter(|&pc| {
                let inst = &prog.insts[pc as usize];
                let access = self.groups.get(&pc).is_some_and(|g| g.first == pc);
                let guarded = inst.guard != NONE;
                access
                    || (guarded && matches!(inst.op, Op::Bra { .. } | Op::Exit | Op::Ret))
                    || (guarded && self.groups.contains_key(&pc))
            })
            .collect()
    }
}

/// A load (of a whole register) or store of one 4- or 8-byte element per lane in `space`: (is
/// a store, address register, offset, bytes, the register loaded or stored, the load's width
/// mask).
pub(in crate::jit) fn element(op: &Op, space: Space) -> Option<(bool, Slot, i64, u64, Slot, u64)> {
    match op {
        Op::Ld {
            space: s,
            ds,
            wms,
            n: 1,
            bytes,
            addr,
            off,
            ..
        } if *s == space
            && ((*bytes == 4 && wms[0] == 0xffff_ffff) || (*bytes == 8 && wms[0] == u64::MAX)) =>
        {
            Some((false, *addr, *off, *bytes as u64, ds[0], wms[0]))
        }
        Op::St {
            space: s,
            ss,
            n: 1,
            bytes,
            addr,
            off,
        } if *s == space && (*bytes == 4 || *bytes == 8) => {
            Some((true, *addr, *off, *bytes as u64, ss[0], 0))
        }
        _ => None,
    }
}

/// The first instructions of the quad function's straight lines of code: the kernel's entry,
/// where it resumes, branch targets, and what follows a branch, an exit or a barrier.
pub(in crate::jit) fn leaders(body: &Body, prog: &Program, quad_points: &[u32]) -> Vec<u32> {
    let Some((_, start, end)) = body.func_of(body.entry()) else {
        return Vec::new();
    };
    let mut leaders = vec![start];
    leaders.extend(quad_points);
    for pc in start..end {
        match &prog.insts[pc as usize].op {
            Op::Bra { target } => leaders.extend([*target, pc + 1]),
            Op::Exit | Op::Ret | Op::Bar { .. } => leaders.push(pc + 1),
            _ => {}
        }
    }
    leaders.retain(|&l| (start..end).contains(&l));
    leaders.sort_unstable();
    leaders.dedup();
    leaders
}
