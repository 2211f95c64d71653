//! What the compiler covers, and each instruction's registers and successors: the kernel's
//! body (its functions and the calls between them), checked before translation, and the data
//! flow that liveness works on.

use super::liveness::Flow;
use crate::lower::{sr, ArgSrc, BarKind, CallTarget, Op, Program, RetDst, Slot, NONE};
use std::collections::HashMap;

/// The kernel's instructions (and its callees') and what the translation needs to know of
/// its slots.
pub(super) struct Body {
    /// The kernel's function index.
    pub(super) kernel: u32,
    /// Every function with code in the program: (index, first instruction, end).
    pub(super) funcs: Vec<(u32, u32, u32)>,
    pub(super) consts: HashMap<Slot, u64>,
    pub(super) nslots: u32,
    /// Some function calls another: the frame base is a register, not 0.
    pub(super) calls: bool,
    /// Per called function: the calls to it (their instructions), in order.
    pub(super) callers: HashMap<u32, Vec<u32>>,
}

impl Body {
    /// A slot the compiled code keeps in a variable (a PTX register, not an immediate or a
    /// special register).
    pub(super) fn is_reg(&self, s: Slot) -> bool {
        s != NONE && s >= sr::FIXED && s < self.nslots && !self.consts.contains_key(&s)
    }

    /// The function instruction `pc` belongs to.
    pub(super) fn func_of(&self, pc: u32) -> Option<(u32, u32, u32)> {
        self.funcs
            .iter()
            .copied()
            .find(|&(_, s, e)| (s..e).contains(&pc))
    }

    pub(super) fn entry(&self) -> u32 {
        self.funcs
            .iter()
            .find(|f| f.0 == self.kernel)
            .map_or(0, |f| f.1)
    }
}

/// Liveness pseudo-slots beyond the program's own: the carry flag, then per function the
/// call it returns to.
pub(super) fn ret_site_slot(nslots: u32, f: u32) -> Slot {
    nslots + 1 + f
}

/// Whether the kernel can be compiled, and its body if so.
pub(super) fn check(prog: &Program, kernel: u32) -> Result<Body, String> {
    if prog.funcs.get(kernel as usize).is_none() {
        return Err("no such kernel".into());
    }
    // Functions are laid out one after another; each runs to the next one's entry.
    let mut entries: Vec<(u32, u32)> = prog
        .funcs
        .iter()
        .enumerate()
        .filter(|(_, f)| f.has_body)
        .map(|(i, f)| (f.entry, i as u32))
        .collect();
    entries.sort_unstable();
    let funcs: Vec<(u32, u32, u32)> = entries
        .iter()
        .enumerate()
        .map(|(k, &(e, f))| {
            let end = entries.get(k + 1).map_or(prog.insts.len() as u32, |n| n.0);
            (f, e, end)
        })
        .collect();
    let mut consts: HashMap<Slot, u64> = prog.consts.iter().copied().collect();
    consts.insert(sr::ZERO, 0);
    consts.insert(sr::ONE, 1);
    let mut body = Body {
        kernel,
        funcs,
        consts,
        nslots: prog.nslots,
        calls: false,
        callers: HashMap::new(),
    };
    if !body.funcs.iter().any(|f| f.0 == kernel && f.1 < f.2) {
        return Err("empty kernel".into());
    }
    for &(_, start, end) in &body.funcs {
        for pc in start..end {
            let inst = &prog.insts[pc as usize];
            let writes_ok = |ds: &[Slot]| ds.iter().all(|&d| d == NONE || body.is_reg(d));
            let ok = match &inst.op {
                Op::Nop
                | Op::Exit
                | Op::Ret
                | Op::Trap
                | Op::Brkpt
                | Op::St { .. }
                | Op::Isspacep { .. }
                | Op::ReadTimer { .. } => true,
                Op::Mov { d, .. }
                | Op::Pack { d, .. }
                | Op::Bin { d, .. }
                | Op::Tri { d, .. }
                | Op::SetpI { d, .. }
                | Op::Alu1 { d, .. }
                | Op::Alu2 { d, .. }
                | Op::Alu3 { d, .. }
                | Op::Alu4 { d, .. }
                | Op::AluCarry { d, .. }
                | Op::Atom { d, .. }
                | Op::Cvta { d, .. } => writes_ok(&[*d]),
                Op::AluCmp { p, q, .. } => writes_ok(&[*p, *q]),
                Op::Unpack { ds, .. } | Op::Ld { ds, .. } => writes_ok(ds),
                Op::Bra { target } => (start..end).contains(target),
                // (Not a function's last instruction: it resumes at the next one.)
                Op::Bar { .. } if is_block_barrier(&body, &inst.op) && pc + 1 < end => true,
                Op::Call {
                    target: CallTarget::Direct(f),
                    args,
                    rets,
                    ..
                } => {
                    let callee = prog.funcs.get(*f as usize);
                    let direct = callee.is_some_and(|c| c.has_body && !c.recursive);
                    let regs = args.len() <= callee.map_or(0, |c| c.params.len())
                        && rets.iter().all(|r| match r {
                            RetDst::Reg(s) => body.is_reg(*s),
                            _ => true,
                        });
                    if !direct {
                        return Err("`call` of a recursive function".into());
                    }
                    regs
                }
                other => return Err(format!("`{}` is not compiled", op_name(other))),
            };
            if !ok {
                return Err(format!("`{}` at {pc} is not compiled", op_name(&inst.op)));
            }
            if inst.guard != NONE && !body.is_reg(inst.guard) {
                return Err("a guard that is not a register".into());
            }
            if let Op::Ld { n, bytes, .. } | Op::St { n, bytes, .. } = &inst.op {
                if !(1..=4).contains(n) || !matches!(bytes, 1 | 2 | 4 | 8) {
                    return Err("an unusual memory access".into());
                }
            }
        }
    }
    for &(_, start, end) in &body.funcs.clone() {
        for pc in start..end {
            if let Op::Call {
                target: CallTarget::Direct(f),
                ..
            } = &prog.insts[pc as usize].op
            {
                body.calls = true;
                body.callers.entry(*f).or_default().push(pc);
            }
        }
    }
    if body.callers.contains_key(&kernel) {
        return Err("a call of the kernel itself".into());
    }
    Ok(body)
}

/// `bar.sync 0` / `barrier.sync 0` (`__syncthreads()`): barrier 0 of the whole block, with no
/// thread count or reduction. The compiled code stops each thread there (see
/// `codegen::Resume::Barrier`); other barriers stay in the interpreter.
pub(super) fn is_block_barrier(body: &Body, op: &Op) -> bool {
    matches!(op, Op::Bar { kind: BarKind::Sync, id, count, d, src, .. }
        if body.consts.get(id) == Some(&0) && *count == NONE && *d == NONE && *src == NONE)
}

pub(super) fn op_name(op: &Op) -> &'static str {
    match op {
        Op::Bar { .. } => "bar (other than `bar.sync 0`)",
        Op::Call { .. } => "call",
        Op::Brx { .. } => "brx.idx",
        Op::Shfl { .. } => "shfl",
        Op::Vote { .. } => "vote",
        Op::Activemask { .. } => "activemask",
        Op::Match { .. } => "match",
        Op::Redux { .. } => "redux",
        Op::Elect { .. } => "elect",
        Op::Ldmatrix { .. } => "ldmatrix",
        Op::Mma(_) => "mma",
        Op::WmmaLoad(_) | Op::WmmaStore(_) | Op::Wmma(_) => "wmma",
        Op::CpAsync { .. } => "cp.async",
        _ => "instruction",
    }
}

/// Every instruction's flow (see [`flow`]), by program counter.
pub(super) fn flows(body: &Body, prog: &Program, carry: u32) -> Vec<Flow> {
    (0..prog.insts.len() as u32)
        .map(|pc| flow(body, prog, pc, carry))
        .collect()
}

/// Registers an instruction reads and writes, and where control goes next.
pub(super) fn flow(body: &Body, prog: &Program, pc: u32, carry: u32) -> Flow {
    let Some((fid, _, end)) = body.func_of(pc) else {
        return Flow {
            uses: Vec::new(),
            defs: Vec::new(),
            kills: true,
            succs: Vec::new(),
        };
    };
    let inst = &prog.insts[pc as usize];
    let mut uses: Vec<Slot> = Vec::new();
    let mut defs: Vec<Slot> = Vec::new();
    match &inst.op {
        Op::Mov { d, a, .. } | Op::Cvta { d, a, .. } | Op::Alu1 { d, a, .. } => {
            uses.push(*a);
            defs.push(*d);
        }
        Op::Isspacep { d, a, .. } => {
            uses.push(*a);
            defs.push(*d);
        }
        Op::Pack { d, parts, n, .. } => {
            uses.extend(&parts[..*n as usize]);
            defs.push(*d);
        }
        Op::Unpack { ds, n, a, .. } => {
            uses.push(*a);
            defs.extend(&ds[..*n as usize]);
        }
        Op::Bin { d, a, b, .. } | Op::SetpI { d, a, b, .. } | Op::Alu2 { d, a, b, .. } => {
            uses.extend([*a, *b]);
            defs.push(*d);
        }
        Op::Tri { d, a, b, c, .. } | Op::Alu3 { d, a, b, c, .. } => {
            uses.extend([*a, *b, *c]);
            defs.push(*d);
        }
        Op::Alu4 { d, s, .. } => {
            uses.extend(s);
            defs.push(*d);
        }
        Op::AluCmp { p, q, a, b, c, .. } => {
            uses.extend([*a, *b, *c]);
            defs.extend([*p, *q]);
        }
        Op::AluCarry {
            d,
            a,
            b,
            c,
            write_cc,
            ..
        } => {
            uses.extend([*a, *b, *c, carry]);
            defs.push(*d);
            if *write_cc {
                defs.push(carry);
            }
        }
        Op::Ld { ds, n, addr, .. } => {
            uses.push(*addr);
            defs.extend(&ds[..*n as usize]);
        }
        Op::St { ss, n, addr, .. } => {
            uses.push(*addr);
            uses.extend(&ss[..*n as usize]);
        }
        Op::Atom { d, addr, b, c, .. } => {
            uses.extend([*addr, *b, *c]);
            defs.push(*d);
        }
        Op::ReadTimer { d, .. } => defs.push(*d),
        Op::Call {
            target: CallTarget::Direct(f),
            args,
            ..
        } => {
            // The frame base moves to the callee's frame; the callee returns to this call.
            for a in args.iter() {
                if let ArgSrc::Reg(s) = a {
                    uses.push(*s);
                }
            }
            uses.push(sr::FRAME);
            defs.push(ret_site_slot(body.nslots, *f));
        }
        Op::Ret if fid != body.kernel => uses.extend([sr::FRAME, ret_site_slot(body.nslots, fid)]),
        _ => {}
    }
    uses.push(inst.guard);
    let nslots = body.nslots;
    let keep = |s: &Slot| {
        *s == carry
            || body.is_reg(*s)
            || (*s == sr::FRAME && body.calls)
            || (*s > nslots && *s != NONE)
    };
    uses.retain(keep);
    defs.retain(keep);
    let next = pc + 1;
    let mut succs = Vec::new();
    let guarded = inst.guard != NONE;
    match &inst.op {
        Op::Bra { target } => succs.push(*target),
        Op::Call {
            target: CallTarget::Direct(f),
            ..
        } => succs.push(prog.funcs[*f as usize].entry),
        // A function returns to the instruction after each call of it.
        Op::Ret if fid != body.kernel => {
            if let Some(calls) = body.callers.get(&fid) {
                succs.extend(calls.iter().map(|c| c + 1));
            }
        }
        Op::Exit | Op::Ret | Op::Trap | Op::Brkpt => {}
        _ => {
            if next < end {
                succs.push(next);
            }
        }
    }
    if guarded && next < end && !succs.contains(&next) {
        succs.push(next);
    }
    Flow {
        uses,
        defs,
        kills: !guarded,
        succs,
    }
}
