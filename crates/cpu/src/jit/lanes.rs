//! How a register's value varies across the four consecutive threads of a quad (see
//! `codegen::vector`): the same in all of them (a loop counter, a shared-memory row), one
//! element apart (`sdata[tid.x]`), or anything. A shared-memory access whose address has a
//! known shape is one vector access (or one scalar access for all four) after one check.
//!
//! The analysis holds for every value a register takes in the quad function, which runs only
//! while the quad's branches are uniform. Threads that went on one at a time may come back to
//! it with values that break it; the quad function checks those when it resumes them.

use super::body::Body;
use super::liveness::Flow;
use crate::lower::{sr, BinK, ICmp, Op, Program, Slot, Space, TriK, NONE};
use std::collections::HashMap;

/// Lane `l` of a register holds lane 0's value plus `l` times the stride, modulo the
/// register's width (`Affine(0)`: the same in every lane), or nothing is known.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum Shape {
    Affine(i64),
    Varying,
}

impl Shape {
    fn join(self, other: Shape) -> Shape {
        if self == other {
            self
        } else {
            Shape::Varying
        }
    }

    fn uniform(self) -> bool {
        self == Shape::Affine(0)
    }

    fn map(self, f: impl Fn(i64) -> Option<i64>) -> Shape {
        match self {
            Shape::Affine(s) => f(s).map_or(Shape::Varying, Shape::Affine),
            Shape::Varying => Shape::Varying,
        }
    }
}

/// The shape of every register the kernel function reads or writes. `flows` are the program's
/// instructions' (see `body::flow`), `live_in` the registers read before they are written
/// (zero in every thread); `carry` is the carry flag's slot.
pub(super) fn shapes(
    body: &Body,
    prog: &Program,
    flows: &[Flow],
    carry: Slot,
    live_in: &[Slot],
) -> HashMap<Slot, Shape> {
    let (_, start, end) = body.func_of(body.entry()).unwrap_or((0, 0, 0));
    let mut known: HashMap<Slot, Shape> = live_in.iter().map(|&s| (s, Shape::Affine(0))).collect();
    let mut changed = true;
    while changed {
        changed = false;
        for pc in start..end {
            let inst = &prog.insts[pc as usize];
            let f = &flows[pc as usize];
            if f.defs.is_empty() {
                continue;
            }
            let get = |s: Slot| source(body, carry, &known, s);
            // Registers no write reaches yet: wait for one.
            let ops: Vec<Option<Shape>> = f.uses.iter().map(|&s| get(s)).collect();
            if ops.iter().any(Option::is_none) {
                continue;
            }
            let guard_uniform = inst.guard == NONE || get(inst.guard).is_some_and(Shape::uniform);
            let all_uniform = ops.iter().all(|o| o.is_some_and(Shape::uniform));
            let value = if !guard_uniform {
                // Some lanes write, others keep the old value.
                Shape::Varying
            } else {
                result(body, &inst.op, &get).unwrap_or(if all_uniform {
                    Shape::Affine(0)
                } else {
                    Shape::Varying
                })
            };
            for &d in &f.defs {
                let v = match &inst.op {
                    // Narrower than 32 bits, the lanes may wrap where the address arithmetic
                    // does not.
                    _ if !value.uniform() && narrow_write(&inst.op, d) => Shape::Varying,
                    _ => value,
                };
                let new = match known.get(&d) {
                    Some(&old) => old.join(v),
                    None => v,
                };
                if known.insert(d, new) != Some(new) {
                    changed = true;
                }
            }
        }
    }
    known
}

/// The shape of operand `s`, `None` for a register no write reaches yet.
fn source(body: &Body, carry: Slot, known: &HashMap<Slot, Shape>, s: Slot) -> Option<Shape> {
    if s == NONE || body.consts.contains_key(&s) {
        return Some(Shape::Affine(0));
    }
    if s == carry || body.is_reg(s) {
        return known.get(&s).copied();
    }
    Some(match s {
        // Quads lie within a row of the block (its x size is a multiple of four) and within a
        // warp.
        sr::TID | sr::LANEID => Shape::Affine(1),
        sr::LM_EQ | sr::LM_LE | sr::LM_LT | sr::LM_GE | sr::LM_GT => Shape::Varying,
        _ => Shape::Affine(0),
    })
}

/// Per guarded instruction whose guard is true in at most one lane of a quad (`true`), or
/// false in at most one (`false`): the guard's last write before it, in the same straight
/// line of code, compares for equality two values whose difference steps by a nonzero amount
/// from lane to lane (`%tid.x == 0`). A branch there never goes one way for the whole quad.
/// (`shapes` as [`shapes`] gives them.)
pub(super) fn lone_guards(
    body: &Body,
    prog: &Program,
    flows: &[Flow],
    carry: Slot,
    shapes: &HashMap<Slot, Shape>,
) -> HashMap<u32, bool> {
    let (_, start, end) = body.func_of(body.entry()).unwrap_or((0, 0, 0));
    let entered: std::collections::HashSet<u32> = (start..end)
        .flat_map(|pc| {
            flows[pc as usize]
                .succs
                .iter()
                .copied()
                .filter(move |&s| s != pc + 1)
        })
        .collect();
    let lone = |pc: u32| match &prog.insts[pc as usize].op {
        Op::SetpI { a, b, cmp, w64, .. }
            if prog.insts[pc as usize].guard == NONE && matches!(cmp, ICmp::Eq | ICmp::Ne) =>
        {
            let get = |s| source(body, carry, shapes, s);
            match (get(*a), get(*b)) {
                (Some(Shape::Affine(x)), Some(Shape::Affine(y))) => {
                    let mask = if *w64 { u64::MAX } else { u32::MAX as u64 };
                    let step = x.wrapping_sub(y) as u64;
                    (1..4u64)
                        .all(|k| step.wrapping_mul(k) & mask != 0)
                        .then_some(*cmp == ICmp::Eq)
                }
                _ => None,
            }
        }
        _ => None,
    };
    let mut out = HashMap::new();
    for pc in start..end {
        let guard = prog.insts[pc as usize].guard;
        if guard == NONE {
            continue;
        }
        let mut k = pc;
        while k > start && !entered.contains(&k) {
            k -= 1;
            if flows[k as usize].defs.contains(&guard) {
                if let Some(t) = lone(k) {
                    out.insert(pc, t);
                }
                break;
            }
        }
    }
    out
}

/// Whether `op` writes `d` masked to fewer than 32 bits.
fn narrow_write(op: &Op, d: Slot) -> bool {
    let wm = match op {
        Op::Mov { wm, .. } | Op::Bin { wm, .. } | Op::Tri { wm, .. } | Op::Cvta { wm, .. } => *wm,
        Op::Ld { ds, wms, .. } => ds.iter().position(|&x| x == d).map_or(0, |i| wms[i]),
        _ => 0,
    };
    wm < 0xffff_ffff
}

/// The shape of the value `op` writes where its operands' shapes say more than "uniform if
/// they all are" (`None` otherwise).
fn result(body: &Body, op: &Op, get: &dyn Fn(Slot) -> Option<Shape>) -> Option<Shape> {
    let sh = |s: Slot| get(s).unwrap_or(Shape::Varying);
    let konst = |s: Slot| body.consts.get(&s).copied();
    let add = |a: Shape, b: Shape, sign: i64| match (a, b) {
        (Shape::Affine(x), Shape::Affine(y)) => Shape::Affine(x.wrapping_add(sign.wrapping_mul(y))),
        _ => Shape::Varying,
    };
    let scale = |a: Shape, c: Option<u64>| match (a, c) {
        (Shape::Affine(0), _) => Shape::Affine(0),
        (a, Some(c)) => a.map(|s| s.checked_mul(c as i64)),
        _ => Shape::Varying,
    };
    Some(match op {
        Op::Mov { a, .. } | Op::Cvta { a, .. } => sh(*a),
        Op::Bin { k, a, b, .. } => match k {
            BinK::Add32 | BinK::Add64 => add(sh(*a), sh(*b), 1),
            BinK::Sub32 | BinK::Sub64 => add(sh(*a), sh(*b), -1),
            BinK::MulLo32 | BinK::MulLo64 => match (konst(*a), konst(*b)) {
                (_, Some(c)) => scale(sh(*a), Some(c)),
                (Some(c), _) => scale(sh(*b), Some(c)),
                _ if sh(*a).uniform() && sh(*b).uniform() => Shape::Affine(0),
                _ => Shape::Varying,
            },
            BinK::Shl32 | BinK::Shl64 => match konst(*b) {
                Some(c) if c < 32 => scale(sh(*a), Some(1 << c)),
                _ if sh(*a).uniform() && sh(*b).uniform() => Shape::Affine(0),
                _ => Shape::Varying,
            },
            // Widening: lane 0's value plus the strides may wrap in 32 bits where the wide
            // result does not.
            _ => return None,
        },
        Op::Tri { k, a, b, c, .. } => match k {
            TriK::MadLo32 | TriK::MadLo64 => {
                let p = match (konst(*a), konst(*b)) {
                    (_, Some(k)) => scale(sh(*a), Some(k)),
                    (Some(k), _) => scale(sh(*b), Some(k)),
                    _ if sh(*a).uniform() && sh(*b).uniform() => Shape::Affine(0),
                    _ => Shape::Varying,
                };
                add(p, sh(*c), 1)
            }
            TriK::Selp if sh(*c).uniform() => sh(*a).join(sh(*b)),
            _ => return None,
        },
        // What memory holds may differ by lane (local memory is each thread's own), and an
        // atomic returns each lane its own old value; the kernel's parameters are the same for
        // every thread.
        Op::Ld {
            space: Space::KParam,
            addr,
            ..
        } if sh(*addr).uniform() => Shape::Affine(0),
        Op::Ld { .. } | Op::Atom { .. } | Op::ReadTimer { .. } => Shape::Varying,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::{lone_guards, shapes, Shape};
    use crate::jit::body::{check, flows, Body};
    use crate::jit::liveness::Flow;
    use crate::lower::{self, Layout, Op, Program, Slot};
    use std::collections::HashMap;

    fn program(body: &str) -> Program {
        let m = ferrocuda_ptx::parse(&format!(
            ".version 8.0\n.target sm_90\n.address_size 64\n{body}"
        ))
        .unwrap();
        let (globals, func_shared, shared_end) = lower::shared_layout(&m);
        let layout = Layout {
            globals,
            func_shared,
            shared_end,
            const_ranges: Vec::new(),
            functions: lower::FunctionFacts::new(&m),
        };
        lower::lower_program(&m, &layout, &[0]).unwrap()
    }

    /// The kernel of `body` (PTX text after the module header), its flows and its registers'
    /// shapes.
    fn analysed(body: &str) -> (Program, Body, Vec<Flow>, HashMap<Slot, Shape>) {
        let prog = program(body);
        let b = check(&prog, 0).unwrap();
        let flows = flows(&b, &prog, prog.nslots);
        let sh = shapes(&b, &prog, &flows, prog.nslots, &[]);
        (prog, b, flows, sh)
    }

    /// The shape of the address of each shared-memory store, in program order.
    fn store_shapes(body: &str) -> Vec<Shape> {
        let (prog, b, _, sh) = analysed(body);
        prog.insts
            .iter()
            .filter_map(|i| match &i.op {
                Op::St { addr, .. } if b.consts.contains_key(addr) => Some(Shape::Affine(0)),
                Op::St { addr, .. } => Some(sh.get(addr).copied().unwrap_or(Shape::Varying)),
                _ => None,
            })
            .collect()
    }

    /// `lone_guards` for the program's guarded branches, in program order.
    fn branch_guards(body: &str) -> Vec<Option<bool>> {
        let (prog, b, flows, sh) = analysed(body);
        let lone = lone_guards(&b, &prog, &flows, prog.nslots, &sh);
        (0..prog.insts.len() as u32)
            .filter(|&pc| {
                let i = &prog.insts[pc as usize];
                matches!(i.op, Op::Bra { .. }) && i.guard != crate::lower::NONE
            })
            .map(|pc| lone.get(&pc).copied())
            .collect()
    }

    #[test]
    fn equality_with_the_thread_index_holds_in_one_lane_at_most() {
        let got = branch_guards(
            ".visible .entry k(.param .u32 n)\n{\n\
             .reg .b32 %r<12>;\n.reg .pred %p<4>;\n\
             mov.u32 %r1, %tid.x;\nld.param.u32 %r2, [n];\n\
             setp.eq.u32 %p1, %r1, 0;\n@%p1 bra A;\nA:\n\
             setp.ne.u32 %p1, %r1, %r2;\n@%p1 bra B;\nB:\n\
             setp.ne.u32 %p1, %r1, %r2;\n@!%p1 bra C;\nC:\n\
             shl.b32 %r3, %r1, 30;\nsetp.eq.u32 %p2, %r3, 0;\n@%p2 bra D;\nD:\n\
             shl.b32 %r4, %r1, 31;\nsetp.eq.u32 %p2, %r4, 0;\n@%p2 bra E;\nE:\n\
             setp.eq.u32 %p3, %r2, 7;\n@%p3 bra F;\nF:\n\
             setp.lt.u32 %p3, %r1, %r2;\n@%p3 bra G;\nG:\n\
             setp.eq.u32 %p1, %r1, 5;\nbra.uni H;\nH:\n@%p1 bra I;\nI:\n\
             setp.eq.u32 %p1, %r1, 5;\n@%p3 bra J;\nsetp.eq.u32 %p1, %r2, 9;\nJ:\n\
             @%p1 bra K;\nK:\n\
             ret;\n}\n",
        );
        assert_eq!(
            got,
            vec![
                // tid.x == 0: true in one lane at most.
                Some(true),
                // tid.x != n: false in one lane at most (negated or not, the same guard).
                Some(false),
                Some(false),
                // tid.x << 30 takes four values in a quad, tid.x << 31 two.
                Some(true),
                None,
                // Uniform, or an ordering.
                None,
                None,
                // Past a label only the jump just before it reaches.
                Some(true),
                // Guards written before a label other jumps reach.
                None,
                None,
            ]
        );
    }

    #[test]
    fn shapes_join_to_varying_unless_equal() {
        assert_eq!(Shape::Affine(4).join(Shape::Affine(4)), Shape::Affine(4));
        assert_eq!(Shape::Affine(0).join(Shape::Affine(4)), Shape::Varying);
        assert_eq!(Shape::Varying.join(Shape::Affine(0)), Shape::Varying);
    }

    #[test]
    fn addresses_from_the_thread_index_have_its_stride() {
        let got = store_shapes(
            ".visible .entry k(.param .u32 n)\n{\n\
             .reg .b32 %r<12>;\n.reg .pred %p<2>;\n.shared .align 4 .b32 buf[256];\n\
             mov.u32 %r1, %tid.x;\nmov.u32 %r2, buf;\n\
             shl.b32 %r3, %r1, 2;\nadd.s32 %r4, %r2, %r3;\nst.shared.u32 [%r4], %r1;\n\
             mov.u32 %r5, %tid.y;\nmov.u32 %r6, %ntid.x;\nmad.lo.s32 %r7, %r5, %r6, %r2;\n\
             st.shared.u32 [%r7], %r1;\n\
             mad.lo.s32 %r8, %r1, 8, %r7;\nst.shared.u32 [%r8], %r1;\n\
             setp.lt.u32 %p1, %r1, 3;\nmov.u32 %r9, %r2;\n@%p1 add.s32 %r9, %r9, 4;\n\
             st.shared.u32 [%r9], %r1;\n\
             ld.param.u32 %r10, [n];\nadd.s32 %r11, %r2, %r10;\nst.shared.u32 [%r11], %r1;\n\
             ret;\n}\n",
        );
        assert_eq!(
            got,
            vec![
                // buf + 4 * tid.x: one element apart.
                Shape::Affine(4),
                // buf + tid.y * ntid.x: the same in every lane of a quad.
                Shape::Affine(0),
                // 8 * tid.x plus a uniform value.
                Shape::Affine(8),
                // Written under a predicate that differs by lane.
                Shape::Varying,
                // buf plus a kernel parameter.
                Shape::Affine(0),
            ]
        );
    }

    #[test]
    fn a_register_written_two_ways_joins_them() {
        // `%r3` is 4 * tid.x on entry and then 8 * tid.x in a loop: no stride holds for every
        // value it takes.
        let got = store_shapes(
            ".visible .entry k()\n{\n.reg .b32 %r<6>;\n.reg .pred %p<2>;\n\
             .shared .align 4 .b32 buf[256];\n\
             mov.u32 %r1, %tid.x;\nshl.b32 %r3, %r1, 2;\nmov.u32 %r4, 0;\nLOOP:\n\
             st.shared.u32 [%r3], %r1;\nshl.b32 %r3, %r1, 3;\nadd.s32 %r4, %r4, 1;\n\
             setp.lt.u32 %p1, %r4, 3;\n@%p1 bra LOOP;\nret;\n}\n",
        );
        assert_eq!(got, vec![Shape::Varying]);
    }
}
