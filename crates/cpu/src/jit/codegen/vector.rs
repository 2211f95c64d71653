//! Four threads at a time: a second compiled function that runs four consecutive threads of a
//! block (a *quad*) with 128-bit vector instructions.
//!
//! Each PTX register of the quad is an `i32x4` (registers of at most 32 bits) or a pair of
//! `i64x2` (lanes 0–1 and 2–3), holding the values the one-thread code holds. The common
//! arithmetic, comparisons and `f32` operations are vector instructions. A global load or
//! store whose four addresses are consecutive is one vector access after one bounds check,
//! and one whose addresses are evenly spaced is four plain accesses after one. A shared-memory
//! access whose address is known to be consecutive or the same in every lane (`lanes`) is
//! one vector or scalar access, and one check covers a group of them (`plan`). Everything
//! else runs lane by lane with the one-thread translation of the same instruction
//! (`per_lane`), so the quad covers every instruction the compiler covers.
//!
//! The quad function stops where the one-thread function does (barriers, the end of a slice
//! of backward branches), saving the quad's registers to the four threads' frames, so either
//! function can resume them. Where the quad's threads take a branch different ways (or a
//! shared-memory access fails its check, or its guard differs by lane), the quad stops there
//! and the block's scheduler runs its threads on with the one-thread function; once they all
//! wait at the same barrier, the quad function resumes them together (after checking that
//! their registers still have the shapes it assumes).

use super::{int_cc, Ctx, Resume, Translator, FLAGS};

pub(super) mod plan;
use crate::jit::body::{flow, Body};
use crate::jit::lanes::Shape;
use crate::jit::liveness::Flow;
use crate::jit::{EXITED, STOP_LEFT, STOP_OTHER, STOP_SLICED, WAITING};
use crate::lower::{sr, BinK, Op, Program, Slot, Space, TriK, NONE};
use cranelift_codegen::ir::condcodes::{FloatCC, IntCC};
use cranelift_codegen::ir::types::{F32, F32X4, I32, I32X4, I64, I64X2, I8X16};
use cranelift_codegen::ir::{
    Block, BlockArg, ConstantData, Endianness, InstBuilder, MemFlagsData, Type, Value,
};
use cranelift_frontend::Variable;
use plan::{SharedAccess, SharedGroup};
use std::collections::HashSet;
use std::mem::offset_of;

/// A quad's 64-bit values: lanes 0–1 and 2–3.
type Quad = [Value; 2];

/// Instructions a quad function may run lane by lane.
const MAX_LANE_BY_LANE: u32 = 32;

/// Quad functions are compiled (`FERROCUDA_CPU_JIT_QUADS=0` turns them off, to compare).
pub(in crate::jit) fn enabled() -> bool {
    static ENABLED: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *ENABLED.get_or_init(|| std::env::var_os("FERROCUDA_CPU_JIT_QUADS").is_none_or(|v| v != "0"))
}

/// Whether the kernel can run four threads at a time (see the module documentation): no
/// calls, stops, indirect branches or guarded barriers.
pub(in crate::jit) fn qualifies(body: &Body, prog: &Program) -> Result<(), String> {
    if body.calls {
        return Err("calls".into());
    }
    let (_, start, end) = body
        .func_of(body.entry())
        .ok_or_else(|| "no kernel body".to_string())?;
    for pc in start..end {
        let inst = &prog.insts[pc as usize];
        match &inst.op {
            Op::Trap | Op::Brkpt | Op::Call { .. } | Op::Brx { .. } => {
                return Err("a stop or call".into())
            }
            Op::Bar { .. } if inst.guard != NONE => return Err("a guarded barrier".into()),
            _ => {}
        }
    }
    Ok(())
}

fn little() -> MemFlagsData {
    MemFlagsData::new().with_endianness(Endianness::Little)
}

/// The width each register the kernel writes needs: 32 bits where every write is at most
/// that wide (masked to it), 64 otherwise. (`flows` as `body::flows` gives them.)
pub(super) fn wide_slots(
    body: &Body,
    prog: &Program,
    flows: &[Flow],
    carry: Slot,
) -> HashSet<Slot> {
    let mut wide = HashSet::new();
    let (_, start, end) = body.func_of(body.entry()).unwrap_or((0, 0, 0));
    for pc in start..end {
        let f = &flows[pc as usize];
        let widths: Vec<(Slot, u64)> = match &prog.insts[pc as usize].op {
            Op::Mov { d, wm, .. }
            | Op::Bin { d, wm, .. }
            | Op::Tri { d, wm, .. }
            | Op::Alu1 { d, wm, .. }
            | Op::Alu2 { d, wm, .. }
            | Op::Alu3 { d, wm, .. }
            | Op::Alu4 { d, wm, .. }
            | Op::Atom { d, wm, .. }
            | Op::Cvta { d, wm, .. }
            | Op::ReadTimer { d, wm, .. }
            | Op::Pack { d, wm, .. } => vec![(*d, *wm)],
            Op::AluCarry { d, wm, .. } => vec![(*d, *wm), (carry, 1)],
            Op::SetpI { d, .. } | Op::Isspacep { d, .. } => vec![(*d, 1)],
            Op::AluCmp { p, pwm, q, qwm, .. } => vec![(*p, *pwm), (*q, *qwm)],
            Op::Ld { ds, wms, n, .. } => (0..*n as usize).map(|i| (ds[i], wms[i])).collect(),
            _ => Vec::new(),
        };
        for &d in &f.defs {
            let wm = widths.iter().find(|w| w.0 == d).map_or(u64::MAX, |w| w.1);
            if wm > 0xffff_ffff {
                wide.insert(d);
            }
        }
    }
    wide
}

/// A vector result: 32-bit lanes, or a quad of 64-bit lanes, and the width mask it is
/// written with.
pub(super) enum Write {
    W32(Value, u64),
    W64(Quad, u64),
}

/// How a quad holds a register.
#[derive(Clone, Copy)]
pub(super) enum VVar {
    /// One `i32x4`.
    W32(Variable),
    /// Two `i64x2`: lanes 0–1 and 2–3.
    W64([Variable; 2]),
}

impl Translator<'_, '_> {
    fn vvar(&mut self, s: Slot) -> VVar {
        if let Some(&v) = self.vvars.get(&s) {
            return v;
        }
        let v = if self.is_wide(s) {
            VVar::W64([self.b.declare_var(I64X2), self.b.declare_var(I64X2)])
        } else {
            VVar::W32(self.b.declare_var(I32X4))
        };
        self.vvars.insert(s, v);
        v
    }

    fn vconst(&mut self, ty: Type, bytes: Vec<u8>) -> Value {
        let c = self.b.func.dfg.constants.insert(ConstantData::from(bytes));
        self.b.ins().vconst(ty, c)
    }

    fn splat32(&mut self, c: u32) -> Value {
        self.vconst(I32X4, [c; 4].iter().flat_map(|x| x.to_le_bytes()).collect())
    }

    fn splat64(&mut self, c: u64) -> Quad {
        let v = self.vconst(I64X2, [c; 2].iter().flat_map(|x| x.to_le_bytes()).collect());
        [v, v]
    }

    /// `v` (an `i64`) in every 64-bit lane.
    fn splat64_of(&mut self, v: Value) -> Quad {
        let v = self.b.ins().splat(I64X2, v);
        [v, v]
    }

    /// `v + [0, 1, 2, 3] * step` (`v` an `i64`), 32 bits wide.
    fn iota32(&mut self, v: Value, step: u32) -> Value {
        let n = self.b.ins().ireduce(I32, v);
        let s = self.b.ins().splat(I32X4, n);
        let k = self.vconst(
            I32X4,
            [0, step, 2 * step, 3 * step]
                .iter()
                .flat_map(|x| x.to_le_bytes())
                .collect(),
        );
        self.b.ins().iadd(s, k)
    }

    fn each(&mut self, v: Quad, f: impl Fn(&mut Self, Value) -> Value) -> Quad {
        [f(self, v[0]), f(self, v[1])]
    }

    fn each2(&mut self, x: Quad, y: Quad, f: impl Fn(&mut Self, Value, Value) -> Value) -> Quad {
        [f(self, x[0], y[0]), f(self, x[1], y[1])]
    }

    /// The low 32 bits of the four lanes, as one `i32x4`.
    fn narrow(&mut self, v: Quad) -> Value {
        let a = self.b.ins().bitcast(I8X16, little(), v[0]);
        let b = self.b.ins().bitcast(I8X16, little(), v[1]);
        let idx: Vec<u8> = vec![0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18, 19, 24, 25, 26, 27];
        let imm = self.b.func.dfg.immediates.push(ConstantData::from(idx));
        let s = self.b.ins().shuffle(a, b, imm);
        self.b.ins().bitcast(I32X4, little(), s)
    }

    /// Four 32-bit lanes zero- (or sign-) extended to a quad of 64-bit lanes.
    fn widen(&mut self, v: Value, signed: bool) -> Quad {
        if signed {
            [self.b.ins().swiden_low(v), self.b.ins().swiden_high(v)]
        } else {
            [self.b.ins().uwiden_low(v), self.b.ins().uwiden_high(v)]
        }
    }

    /// A value the same for every thread of the quad (`%ntid`, `%ctaid`, ...).
    fn uniform(&mut self, s: Slot) -> Value {
        self.enter_lane(0);
        self.get(s)
    }

    /// Slot `s` as 32-bit lanes (its low 32 bits).
    fn vget32(&mut self, s: Slot) -> Value {
        if s == NONE {
            return self.splat32(0);
        }
        if let Some(&c) = self.body.consts.get(&s) {
            return self.splat32(c as u32);
        }
        if s == self.carry || self.body.is_reg(s) {
            return match self.vvar(s) {
                VVar::W32(v) => self.b.use_var(v),
                VVar::W64([a, b]) => {
                    let q = [self.b.use_var(a), self.b.use_var(b)];
                    self.narrow(q)
                }
            };
        }
        match s {
            sr::TID => {
                self.vtid_used = true;
                let x = self.b.use_var(self.vtid[0]);
                self.iota32(x, 1)
            }
            sr::LANEID => {
                let t = self.b.use_var(self.vt);
                let l = self.b.ins().band_imm_s(t, 31);
                self.iota32(l, 1)
            }
            sr::LM_EQ | sr::LM_LE | sr::LM_LT | sr::LM_GE | sr::LM_GT => {
                // Per lane, as the one-thread code computes them.
                let mut q = self.splat32(0);
                for lane in 0..4u8 {
                    self.enter_lane(lane as u32);
                    let v = self.get(s);
                    let v = self.b.ins().ireduce(I32, v);
                    q = self.b.ins().insertlane(q, v, lane);
                }
                q
            }
            _ => {
                let v = self.uniform(s);
                let n = self.b.ins().ireduce(I32, v);
                self.b.ins().splat(I32X4, n)
            }
        }
    }

    /// Slot `s` as 64-bit lanes.
    fn vget64(&mut self, s: Slot) -> Quad {
        if let Some(&c) = self.body.consts.get(&s) {
            return self.splat64(c);
        }
        if s != NONE && (s == self.carry || self.body.is_reg(s)) {
            if let VVar::W64([a, b]) = self.vvar(s) {
                return [self.b.use_var(a), self.b.use_var(b)];
            }
        }
        match s {
            NONE
            | sr::TID
            | sr::LANEID
            | sr::LM_EQ
            | sr::LM_LE
            | sr::LM_LT
            | sr::LM_GE
            | sr::LM_GT => {
                let v = self.vget32(s);
                self.widen(v, false)
            }
            _ if s == self.carry || self.body.is_reg(s) => {
                let v = self.vget32(s);
                self.widen(v, false)
            }
            _ => {
                let v = self.uniform(s);
                self.splat64_of(v)
            }
        }
    }

    /// Writes 32-bit lanes (masked to `wm`) to slot `d`.
    fn vset32(&mut self, d: Slot, v: Value, wm: u64) {
        if d == NONE {
            return;
        }
        // (Predicate lanes made from a mask are 0 or 1 already.)
        let v = if wm < 0xffff_ffff && !(wm == 1 && self.vmasks.contains_key(&v)) {
            let m = self.splat32(wm as u32);
            self.b.ins().band(v, m)
        } else {
            v
        };
        match self.vvar(d) {
            VVar::W32(var) => self.b.def_var(var, v),
            VVar::W64([a, b]) => {
                let q = self.widen(v, false);
                self.b.def_var(a, q[0]);
                self.b.def_var(b, q[1]);
            }
        }
    }

    /// Writes 64-bit lanes (masked to `wm`) to slot `d`.
    fn vset64(&mut self, d: Slot, v: Quad, wm: u64) {
        if d == NONE {
            return;
        }
        let v = if wm != u64::MAX {
            let m = self.splat64(wm);
            self.each2(v, m, |t, a, b| t.b.ins().band(a, b))
        } else {
            v
        };
        match self.vvar(d) {
            // Only 32-bit writes reach a 32-bit register (`wide_slots`).
            VVar::W32(var) => {
                let n = self.narrow(v);
                self.b.def_var(var, n)
            }
            VVar::W64([a, b]) => {
                self.b.def_var(a, v[0]);
                self.b.def_var(b, v[1]);
            }
        }
    }

    /// An `f32x4` result's bits, NaNs made the GPU's canonical NaN.
    fn vcanon32(&mut self, f: Value) -> Value {
        // A NaN is rare: fixed off the straight line. (The branch also makes Cranelift compute
        // the result here rather than where it is first stored, which would keep the operands
        // of a chain of `fma`s live, and spilled, until then.)
        let nan = self.b.ins().fcmp(FloatCC::Unordered, f, f);
        let any = self.b.ins().vany_true(nan);
        let bits = self.b.ins().bitcast(I32X4, little(), f);
        let fix = self.b.create_block();
        let join = self.b.create_block();
        self.b.set_cold_block(fix);
        self.b.append_block_param(join, I32X4);
        self.b
            .ins()
            .brif(any, fix, &[], join, &[BlockArg::Value(bits)]);
        self.b.switch_to_block(fix);
        let canon = self.splat32(crate::fp::NAN32);
        let fixed = self.b.ins().bitselect(nan, canon, bits);
        self.b.ins().jump(join, &[BlockArg::Value(fixed)]);
        self.b.switch_to_block(join);
        self.b.block_params(join)[0]
    }

    fn vf32(&mut self, s: Slot) -> Value {
        let v = self.vget32(s);
        self.b.ins().bitcast(F32X4, little(), v)
    }

    /// A lane mask (all ones where the predicate holds, or fails with `neg`).
    fn vtruth(&mut self, s: Slot, neg: bool) -> Value {
        let v = self.vget32(s);
        self.mask_from(v, neg)
    }

    /// The lane mask of predicate lanes `v` (or of their negation).
    fn mask_from(&mut self, v: Value, neg: bool) -> Value {
        match self.vmasks.get(&v) {
            // The mask the predicate was made from (a comparison of this block).
            Some(&m) if neg => self.b.ins().bnot(m),
            Some(&m) => m,
            None => {
                let z = self.splat32(0);
                let cc = if neg { IntCC::Equal } else { IntCC::NotEqual };
                self.b.ins().icmp(cc, v, z)
            }
        }
    }

    /// A lane mask as predicate lanes (1 where set).
    fn vbit(&mut self, m: Value) -> Value {
        let one = self.splat32(1);
        let v = self.b.ins().band(m, one);
        self.vmasks.insert(v, m);
        v
    }

    /// Runs the one-thread code as lane `lane` of the quad (its thread index).
    fn enter_lane(&mut self, lane: u32) {
        let t = self.b.use_var(self.vt);
        let t = self.b.ins().iadd_imm_s(t, lane as i64);
        self.b.def_var(self.t, t);
        // (`%tid` is read from the quad's, see `get`.)
        self.lane = Some(lane);
    }

    /// Lane `lane` of slot `s`, as the one-thread code holds it.
    fn lane_of(&mut self, s: Slot, lane: u32) -> Value {
        match self.vvar(s) {
            VVar::W32(v) => {
                let q = self.b.use_var(v);
                let x = self.b.ins().extractlane(q, lane as u8);
                self.b.ins().uextend(I64, x)
            }
            VVar::W64(vs) => {
                let q = self.b.use_var(vs[(lane / 2) as usize]);
                self.b.ins().extractlane(q, (lane % 2) as u8)
            }
        }
    }

    /// Sets lane `lane` of slot `s` to `x` (an `i64` of the one-thread code).
    fn set_lane(&mut self, s: Slot, lane: u32, x: Value) {
        match self.vvar(s) {
            VVar::W32(v) => {
                let q = self.b.use_var(v);
                let n = self.b.ins().ireduce(I32, x);
                let q = self.b.ins().insertlane(q, n, lane as u8);
                self.b.def_var(v, q);
            }
            VVar::W64(vs) => {
                let var = vs[(lane / 2) as usize];
                let q = self.b.use_var(var);
                let q = self.b.ins().insertlane(q, x, (lane % 2) as u8);
                self.b.def_var(var, q);
            }
        }
    }

    /// Instruction `pc` lane by lane with the one-thread translation (its guard included).
    /// (`cold`: the slow path of a vector access, which does not count against
    /// [`MAX_LANE_BY_LANE`].)
    fn per_lane(&mut self, pc: u32, site_bytes: &mut Vec<u32>, cold: bool) -> Result<(), String> {
        if !cold {
            self.vlanes += 1;
        }
        let f = flow(self.body, self.prog, pc, self.carry);
        let mut slots: Vec<Slot> = f.uses.iter().chain(&f.defs).copied().collect();
        slots.sort_unstable();
        slots.dedup();
        for lane in 0..4u32 {
            self.enter_lane(lane);
            for &s in &slots {
                let v = self.lane_of(s, lane);
                let var = self.var(s);
                self.b.def_var(var, v);
            }
            self.guarded_op(pc, site_bytes)?;
            for &d in &f.defs {
                let var = self.var(d);
                let v = self.b.use_var(var);
                self.set_lane(d, lane, v);
            }
        }
        Ok(())
    }

    /// The vector form of a pure instruction: its result and the register it goes to, or
    /// `None` when it has none and runs lane by lane.
    fn vpure(&mut self, op: &Op) -> Option<(Slot, Write)> {
        let w = match op {
            Op::Mov { d, a, wm } if !self.is_wide(*d) => (*d, Write::W32(self.vget32(*a), *wm)),
            Op::Mov { d, a, wm } => (*d, Write::W64(self.vget64(*a), *wm)),
            Op::Cvta {
                d,
                a,
                window,
                to,
                wm,
            } => {
                let x = self.vget64(*a);
                let w = self.splat64(*window);
                let v = if *to {
                    self.each2(x, w, |t, a, b| t.b.ins().isub(a, b))
                } else {
                    self.each2(x, w, |t, a, b| t.b.ins().iadd(a, b))
                };
                (*d, Write::W64(v, *wm))
            }
            Op::Bin { k, d, a, b, wm } => (*d, self.vbin(*k, *d, *a, *b, *wm)?),
            Op::Tri { k, d, a, b, c, wm } => (*d, self.vtri(*k, *d, *a, *b, *c, *wm)?),
            Op::SetpI {
                d,
                a,
                b,
                cmp,
                w64,
                signed,
            } => {
                let cc = int_cc(*cmp, *signed);
                let m = if *w64 {
                    let (x, y) = (self.vget64(*a), self.vget64(*b));
                    let m = self.each2(x, y, |t, a, b| t.b.ins().icmp(cc, a, b));
                    self.narrow(m)
                } else {
                    let (x, y) = (self.vget32(*a), self.vget32(*b));
                    self.b.ins().icmp(cc, x, y)
                };
                (*d, Write::W32(self.vbit(m), 1))
            }
            _ => return None,
        };
        Some(w)
    }

    fn vbin(&mut self, k: BinK, d: Slot, a: Slot, b: Slot, wm: u64) -> Option<Write> {
        // Shifts by a constant only (a lane's own count would need a lane-by-lane shift).
        let count = self.body.consts.get(&b).map(|&c| c & 0xffff_ffff);
        let narrow_dest = !self.is_wide(d);
        Some(match k {
            BinK::Add32
            | BinK::Sub32
            | BinK::MulLo32
            | BinK::MinS32
            | BinK::MaxS32
            | BinK::MinU32
            | BinK::MaxU32 => {
                let (x, y) = (self.vget32(a), self.vget32(b));
                let r = match k {
                    BinK::Add32 => self.b.ins().iadd(x, y),
                    BinK::Sub32 => self.b.ins().isub(x, y),
                    BinK::MulLo32 => self.b.ins().imul(x, y),
                    BinK::MinS32 => self.b.ins().smin(x, y),
                    BinK::MaxS32 => self.b.ins().smax(x, y),
                    BinK::MinU32 => self.b.ins().umin(x, y),
                    _ => self.b.ins().umax(x, y),
                };
                Write::W32(r, wm)
            }
            BinK::Add64 | BinK::Sub64 | BinK::MulLo64 => {
                let (x, y) = (self.vget64(a), self.vget64(b));
                let r = self.each2(x, y, |t, a, b| match k {
                    BinK::Add64 => t.b.ins().iadd(a, b),
                    BinK::Sub64 => t.b.ins().isub(a, b),
                    _ => t.b.ins().imul(a, b),
                });
                Write::W64(r, wm)
            }
            BinK::MulWideU32 | BinK::MulWideS32 => {
                let signed = k == BinK::MulWideS32;
                let x = self.vget32(a);
                let x = self.widen(x, signed);
                match self.body.consts.get(&b) {
                    // By a power of two (an element size): a shift.
                    Some(&c) if (c as u32).is_power_of_two() => {
                        let sh = self.b.ins().iconst(I32, (c as u32).trailing_zeros() as i64);
                        Write::W64(self.each(x, |t, a| t.b.ins().ishl(a, sh)), wm)
                    }
                    _ => {
                        let y = self.vget32(b);
                        let y = self.widen(y, signed);
                        Write::W64(self.each2(x, y, |t, a, b| t.b.ins().imul(a, b)), wm)
                    }
                }
            }
            BinK::And | BinK::Or | BinK::Xor if narrow_dest => {
                let (x, y) = (self.vget32(a), self.vget32(b));
                let r = match k {
                    BinK::And => self.b.ins().band(x, y),
                    BinK::Or => self.b.ins().bor(x, y),
                    _ => self.b.ins().bxor(x, y),
                };
                Write::W32(r, wm)
            }
            BinK::And | BinK::Or | BinK::Xor => {
                let (x, y) = (self.vget64(a), self.vget64(b));
                Write::W64(
                    self.each2(x, y, |t, a, b| match k {
                        BinK::And => t.b.ins().band(a, b),
                        BinK::Or => t.b.ins().bor(a, b),
                        _ => t.b.ins().bxor(a, b),
                    }),
                    wm,
                )
            }
            BinK::Not if narrow_dest => {
                let x = self.vget32(a);
                Write::W32(self.b.ins().bnot(x), wm)
            }
            BinK::Not => {
                let x = self.vget64(a);
                Write::W64(self.each(x, |t, a| t.b.ins().bnot(a)), wm)
            }
            BinK::PNot => {
                let x = self.vget32(a);
                let one = self.splat32(1);
                Write::W32(self.b.ins().bxor(x, one), 1)
            }
            BinK::Zext32 | BinK::Sext32 => {
                let x = self.vget32(a);
                Write::W64(self.widen(x, k == BinK::Sext32), wm)
            }
            BinK::Shl32 | BinK::ShrU32 | BinK::ShrS32 => {
                let c = count?;
                let x = self.vget32(a);
                if c >= 32 && k != BinK::ShrS32 {
                    return Some(Write::W32(self.splat32(0), wm));
                }
                let sh = self.b.ins().iconst(I32, c.min(31) as i64);
                Write::W32(
                    match k {
                        BinK::Shl32 => self.b.ins().ishl(x, sh),
                        BinK::ShrU32 => self.b.ins().ushr(x, sh),
                        _ => self.b.ins().sshr(x, sh),
                    },
                    wm,
                )
            }
            BinK::Shl64 | BinK::ShrU64 | BinK::ShrS64 => {
                let c = count?;
                let x = self.vget64(a);
                if c >= 64 && k != BinK::ShrS64 {
                    return Some(Write::W64(self.splat64(0), wm));
                }
                let sh = self.b.ins().iconst(I32, c.min(63) as i64);
                Write::W64(
                    self.each(x, |t, a| match k {
                        BinK::Shl64 => t.b.ins().ishl(a, sh),
                        BinK::ShrU64 => t.b.ins().ushr(a, sh),
                        _ => t.b.ins().sshr(a, sh),
                    }),
                    wm,
                )
            }
            BinK::FAdd32 | BinK::FSub32 | BinK::FMul32 => {
                let (x, y) = (self.vf32(a), self.vf32(b));
                let r = match k {
                    BinK::FAdd32 => self.b.ins().fadd(x, y),
                    BinK::FSub32 => self.b.ins().fsub(x, y),
                    _ => self.b.ins().fmul(x, y),
                };
                Write::W32(self.vcanon32(r), wm)
            }
            BinK::CvtF32S32 | BinK::CvtF32U32 => {
                let x = self.vget32(a);
                let f = if k == BinK::CvtF32S32 {
                    self.b.ins().fcvt_from_sint(F32X4, x)
                } else {
                    self.b.ins().fcvt_from_uint(F32X4, x)
                };
                Write::W32(self.b.ins().bitcast(I32X4, little(), f), wm)
            }
            BinK::FSetp32(c) => {
                use ferrocuda_ptx::ir::CmpOp::*;
                let (x, y) = (self.vf32(a), self.vf32(b));
                let mut fcmp = |cc| self.b.ins().fcmp(cc, x, y);
                // x86 compares vectors without `one` and `ueq`: those are two compares.
                let m = match c {
                    Eq => fcmp(FloatCC::Equal),
                    Ne => {
                        let (o, n) = (fcmp(FloatCC::Ordered), fcmp(FloatCC::NotEqual));
                        self.b.ins().band(o, n)
                    }
                    Equ => {
                        let (u, e) = (fcmp(FloatCC::Unordered), fcmp(FloatCC::Equal));
                        self.b.ins().bor(u, e)
                    }
                    Lt | Lo => fcmp(FloatCC::LessThan),
                    Le | Ls => fcmp(FloatCC::LessThanOrEqual),
                    Gt | Hi => fcmp(FloatCC::GreaterThan),
                    Ge | Hs => fcmp(FloatCC::GreaterThanOrEqual),
                    Neu => fcmp(FloatCC::NotEqual),
                    Ltu => fcmp(FloatCC::UnorderedOrLessThan),
                    Leu => fcmp(FloatCC::UnorderedOrLessThanOrEqual),
                    Gtu => fcmp(FloatCC::UnorderedOrGreaterThan),
                    Geu => fcmp(FloatCC::UnorderedOrGreaterThanOrEqual),
                    Num => fcmp(FloatCC::Ordered),
                    Nan => fcmp(FloatCC::Unordered),
                };
                Write::W32(self.vbit(m), 1)
            }
            _ => return None,
        })
    }

    fn vtri(&mut self, k: TriK, d: Slot, a: Slot, b: Slot, c: Slot, wm: u64) -> Option<Write> {
        Some(match k {
            TriK::MadLo32 => {
                let (x, y, z) = (self.vget32(a), self.vget32(b), self.vget32(c));
                let p = self.b.ins().imul(x, y);
                Write::W32(self.b.ins().iadd(p, z), wm)
            }
            TriK::MadLo64 | TriK::MadWideU32 | TriK::MadWideS32 => {
                let (x, y) = if k == TriK::MadLo64 {
                    (self.vget64(a), self.vget64(b))
                } else {
                    let signed = k == TriK::MadWideS32;
                    let (x, y) = (self.vget32(a), self.vget32(b));
                    (self.widen(x, signed), self.widen(y, signed))
                };
                let z = self.vget64(c);
                let p = self.each2(x, y, |t, a, b| t.b.ins().imul(a, b));
                Write::W64(self.each2(p, z, |t, a, b| t.b.ins().iadd(a, b)), wm)
            }
            TriK::Fma32 if self.fma => {
                let (x, y, z) = (self.vf32(a), self.vf32(b), self.vf32(c));
                let r = self.b.ins().fma(x, y, z);
                Write::W32(self.vcanon32(r), wm)
            }
            TriK::Selp => {
                let p = self.vget32(c);
                let m = match self.vmasks.get(&p) {
                    Some(&m) => m,
                    None => {
                        let one = self.splat32(1);
                        let p = self.b.ins().band(p, one);
                        self.mask_from(p, false)
                    }
                };
                if self.is_wide(d) {
                    let (x, y) = (self.vget64(a), self.vget64(b));
                    let m = self.widen(m, true);
                    Write::W64(
                        [
                            self.b.ins().bitselect(m[0], x[0], y[0]),
                            self.b.ins().bitselect(m[1], x[1], y[1]),
                        ],
                        wm,
                    )
                } else {
                    let (x, y) = (self.vget32(a), self.vget32(b));
                    Write::W32(self.b.ins().bitselect(m, x, y), wm)
                }
            }
            _ => return None,
        })
    }

    /// A shared-memory load or store of the form `QuadPlan::shared_access` takes: consecutive
    /// elements are one vector access, one element for all lanes one scalar access (a store
    /// keeps the last lane's value, as lane by lane does). The first access of its group
    /// checks lane 0's address for the whole group; when that fails, or (under a guard) the
    /// lanes disagree, the quad's threads go on one at a time from there. False when the
    /// instruction does not have that form.
    fn vshared(&mut self, pc: u32) -> bool {
        let plan = self.vplan.clone().expect("the quad function has a plan");
        let (Some(a), Some(&g)) = (
            plan.shared_access(self.body, self.prog, pc),
            plan.groups.get(&pc),
        ) else {
            return false;
        };
        let lane0 = self.group_check(&a, g);
        let inst = &self.prog.insts[pc as usize];
        if inst.guard == NONE {
            self.shared_fast(&a, lane0);
            return true;
        }
        let run = self.b.create_block();
        let skip = self.b.create_block();
        self.split_on_guard(pc, run, skip);
        self.b.switch_to_block(run);
        self.shared_fast(&a, lane0);
        self.b.ins().jump(skip, &[]);
        self.b.switch_to_block(skip);
        true
    }

    /// Instruction `pc`'s guard decides for the whole quad: on to `all` where it holds in
    /// every lane, to `none` where it holds in none; where the lanes disagree, the quad's
    /// threads go on one at a time from `pc` (a hand-over point).
    fn split_on_guard(&mut self, pc: u32, all: Block, none: Block) {
        let inst = &self.prog.insts[pc as usize];
        let m = self.vtruth(inst.guard, inst.neg);
        let diverge = self.b.create_block();
        self.b.set_cold_block(diverge);
        // A guard true (or false) in at most one lane: the quad never goes all one way, and
        // the code there is not the quad function's (a `%tid.x == 0` block with a helper call
        // would cost the whole loop its registers). Should it all the same, it hands over.
        let lone = self.vplan.as_ref().and_then(|p| p.lone.get(&pc));
        match lone.map(|&t| t != inst.neg) {
            Some(true) => {
                let any = self.b.ins().vany_true(m);
                self.b.ins().brif(any, diverge, &[], none, &[]);
            }
            Some(false) => {
                let every = self.b.ins().vall_true(m);
                self.b.ins().brif(every, all, &[], diverge, &[]);
            }
            None => {
                let every = self.b.ins().vall_true(m);
                let any = self.b.ins().vany_true(m);
                let mixed = self.b.create_block();
                self.b.ins().brif(every, all, &[], mixed, &[]);
                self.b.switch_to_block(mixed);
                self.b.ins().brif(any, diverge, &[], none, &[]);
            }
        }
        self.b.switch_to_block(diverge);
        let ri = self.resume_index[&(Resume::Handoff, pc)];
        self.vstop(ri, false, pc);
    }

    /// Lane 0's base address for group `g`'s accesses, checked at its first access (which
    /// goes on one thread at a time when the check fails).
    fn group_check(&mut self, a: &SharedAccess, g: SharedGroup) -> Value {
        if let Some(&lane0) = self.vgroup_checks.get(&g.first) {
            return lane0;
        }
        let lane0 = if self.is_wide(a.addr) {
            let q = self.vget64(a.addr);
            self.b.ins().extractlane(q[0], 0)
        } else {
            let v = self.vget32(a.addr);
            let x = self.b.ins().extractlane(v, 0);
            self.b.ins().uextend(I64, x)
        };
        // Aligned, and `span` elements from there fit: the element index (the offset rotated
        // right, so that a misaligned one is huge) is below `units + 1 - span`.
        let k = a.bytes.trailing_zeros() as i64;
        let at = self.b.ins().iadd_imm_s(lane0, g.lo);
        let r = self.b.ins().rotr_imm_s(at, k);
        let units = self.cf(offset_of!(Ctx, shared_units) + 8 * k as usize);
        let fits = self
            .b
            .ins()
            .icmp_imm_s(IntCC::UnsignedGreaterThanOrEqual, units, g.span as i64);
        let limit = self.b.ins().iadd_imm_s(units, 1 - g.span as i64);
        let zero = self.iconst(0);
        let limit = self.b.ins().select(fits, limit, zero);
        let ok = self.b.ins().icmp(IntCC::UnsignedLessThan, r, limit);
        let fast = self.b.create_block();
        let fail = self.b.create_block();
        self.b.set_cold_block(fail);
        self.b.ins().brif(ok, fast, &[], fail, &[]);
        self.b.switch_to_block(fail);
        let ri = self.resume_index[&(Resume::Handoff, g.first)];
        self.vstop(ri, false, g.first);
        self.b.switch_to_block(fast);
        self.vgroup_checks.insert(g.first, lane0);
        lane0
    }

    /// `vshared`'s access, once its group's check passed.
    fn shared_fast(&mut self, a: &SharedAccess, lane0: Value) {
        let &SharedAccess {
            store,
            off,
            bytes,
            slot,
            wm,
            stride,
            ..
        } = a;
        let a0 = self.b.ins().iadd_imm_s(lane0, off);
        let base = self.cf(offset_of!(Ctx, shared));
        let p = self.b.ins().iadd(base, a0);
        let flags = MemFlagsData::new().with_notrap();
        match (store, bytes, stride) {
            (true, 4, 0) => {
                let v = self.vget32(slot);
                let x = self.b.ins().extractlane(v, 3);
                self.b.ins().store(flags, x, p, 0);
            }
            (true, _, 0) => {
                let v = self.vget64(slot);
                let x = self.b.ins().extractlane(v[1], 1);
                self.b.ins().store(flags, x, p, 0);
            }
            (true, 4, _) => {
                let v = self.vget32(slot);
                self.b.ins().store(flags, v, p, 0);
            }
            (true, _, _) => {
                let v = self.vget64(slot);
                self.b.ins().store(flags, v[0], p, 0);
                self.b.ins().store(flags, v[1], p, 16);
            }
            (false, 4, 0) => {
                // (As `f32`: x86 broadcasts it from memory in one instruction.)
                let x = self.b.ins().load(F32, flags, p, 0);
                let v = self.b.ins().splat(F32X4, x);
                let v = self.b.ins().bitcast(I32X4, little(), v);
                self.vset32(slot, v, wm);
            }
            (false, _, 0) => {
                let x = self.b.ins().load(I64, flags, p, 0);
                let v = self.splat64_of(x);
                self.vset64(slot, v, wm);
            }
            (false, 4, _) => {
                let v = self.b.ins().load(I32X4, flags, p, 0);
                self.vset32(slot, v, wm);
            }
            (false, _, _) => {
                let v = [
                    self.b.ins().load(I64X2, flags, p, 0),
                    self.b.ins().load(I64X2, flags, p, 16),
                ];
                self.vset64(slot, v, wm);
            }
        }
    }

    /// A global load or store of one 4- or 8-byte element per lane, where the lanes'
    /// addresses are evenly spaced (consecutive, one for all, or strided as Triton's
    /// two-elements-a-thread loads), inside the allocation the instruction touched last, and
    /// (under a guard) every lane takes part: one vector access for consecutive elements,
    /// four plain accesses after one check per lane otherwise. Lane by lane when any of that
    /// fails (which also updates the allocation entry). False when the instruction does not
    /// have that form.
    fn vglobal(&mut self, pc: u32, site_bytes: &mut Vec<u32>) -> Result<bool, String> {
        let inst = &self.prog.insts[pc as usize];
        let Some((store, addr, off, bytes, slot, wm)) = plan::element(&inst.op, Space::Global)
        else {
            return Ok(false);
        };
        let (guard, neg) = (inst.guard, inst.neg);
        let site = site_bytes.len() as u32;
        site_bytes.push(bytes as u32);
        let a = self.vget64(addr);
        let a = if off == 0 {
            a
        } else {
            let o = self.splat64(off as u64);
            self.each2(a, o, |t, a, b| t.b.ins().iadd(a, b))
        };
        let lanes: Vec<Value> = (0..4)
            .map(|l| self.b.ins().extractlane(a[l / 2], (l % 2) as u8))
            .collect();
        let all = if guard == NONE {
            None
        } else {
            let m = self.vtruth(guard, neg);
            Some(self.b.ins().vall_true(m))
        };
        let sites = self.sites.expect("set at the entry");
        let e = self.b.ins().iadd_imm_s(sites, site as i64 * 24);
        let base = self.b.ins().load(I64, FLAGS, e, 0);
        let units = self.b.ins().load(I64, FLAGS, e, 8);
        let host = self.b.ins().load(I64, FLAGS, e, 16);
        let k = bytes.trailing_zeros() as i64;
        let index = |t: &mut Self, l: Value| {
            let rel = t.b.ins().isub(l, base);
            t.b.ins().rotr_imm_s(rel, k)
        };
        // Consecutive (the common case, checked first): lanes 2 and 3 are lanes 0 and 1 plus
        // two elements, lane 1 is lane 0 plus one, and lane 0 is inside the entry's allocation
        // with room for three more.
        let d = self.b.ins().isub(a[1], a[0]);
        let two = self.splat64(2 * bytes);
        let d2 = self.b.ins().icmp(IntCC::Equal, d, two[0]);
        let halves = self.b.ins().vall_true(d2);
        let step = self.b.ins().isub(lanes[1], lanes[0]);
        let one = self.b.ins().icmp_imm_s(IntCC::Equal, step, bytes as i64);
        let r0 = index(self, lanes[0]);
        let inside = self.b.ins().icmp(IntCC::UnsignedLessThan, r0, units);
        let left = self.b.ins().isub(units, r0);
        let room = self.b.ins().icmp_imm_s(IntCC::UnsignedGreaterThan, left, 3);
        let mut ok = self.b.ins().band(halves, one);
        for c in [inside, room].into_iter().chain(all) {
            ok = self.b.ins().band(ok, c);
        }
        let vector = self.b.create_block();
        let spaced = self.b.create_block();
        let each = self.b.create_block();
        let slow = self.b.create_block();
        let join = self.b.create_block();
        self.b.set_cold_block(slow);
        self.b.ins().brif(ok, vector, &[], spaced, &[]);
        // Evenly spaced otherwise (one for all, or every other element): lanes 2 and 3 are
        // lanes 0 and 1 plus two steps, and every lane is inside the allocation and aligned.
        // (Checking the first and last lanes only would not do: three steps can wrap around
        // the address space back into the allocation.)
        self.b.switch_to_block(spaced);
        let two = self.b.ins().iadd(step, step);
        let two = self.b.ins().splat(I64X2, two);
        let d2 = self.b.ins().icmp(IntCC::Equal, d, two);
        let mut ok = self.b.ins().vall_true(d2);
        for &l in &lanes {
            let r = index(self, l);
            let inside = self.b.ins().icmp(IntCC::UnsignedLessThan, r, units);
            ok = self.b.ins().band(ok, inside);
        }
        if let Some(all) = all {
            ok = self.b.ins().band(ok, all);
        }
        self.b.ins().brif(ok, each, &[], slow, &[]);

        let flags = MemFlagsData::new().with_notrap();
        self.b.switch_to_block(vector);
        let rel = self.b.ins().isub(lanes[0], base);
        let p = self.b.ins().iadd(host, rel);
        match (store, bytes) {
            (true, 4) => {
                let v = self.vget32(slot);
                self.b.ins().store(flags, v, p, 0);
            }
            (true, _) => {
                let v = self.vget64(slot);
                self.b.ins().store(flags, v[0], p, 0);
                self.b.ins().store(flags, v[1], p, 16);
            }
            (false, 4) => {
                let v = self.b.ins().load(I32X4, flags, p, 0);
                self.vset32(slot, v, wm);
            }
            (false, _) => {
                let v = [
                    self.b.ins().load(I64X2, flags, p, 0),
                    self.b.ins().load(I64X2, flags, p, 16),
                ];
                self.vset64(slot, v, wm);
            }
        }
        self.b.ins().jump(join, &[]);

        // Spaced otherwise: four plain accesses in lane order (the last lane wins where they
        // coincide, as lane by lane).
        self.b.switch_to_block(each);
        let ty = if bytes == 4 { I32 } else { I64 };
        let vals: Option<Vec<Value>> = store.then(|| {
            (0..4)
                .map(|l| {
                    if bytes == 4 {
                        let v = self.vget32(slot);
                        self.b.ins().extractlane(v, l as u8)
                    } else {
                        let v = self.vget64(slot);
                        self.b.ins().extractlane(v[l / 2], (l % 2) as u8)
                    }
                })
                .collect()
        });
        let mut loaded = Vec::new();
        for l in 0..4 {
            let rel = self.b.ins().isub(lanes[l], base);
            let p = self.b.ins().iadd(host, rel);
            match &vals {
                Some(vals) => {
                    self.b.ins().store(flags, vals[l], p, 0);
                }
                None => loaded.push(self.b.ins().load(ty, flags, p, 0)),
            }
        }
        if !store {
            if bytes == 4 {
                let mut v = self.splat32(0);
                for (l, &x) in loaded.iter().enumerate() {
                    v = self.b.ins().insertlane(v, x, l as u8);
                }
                self.vset32(slot, v, wm);
            } else {
                let mut q = self.splat64(0);
                for (l, &x) in loaded.iter().enumerate() {
                    q[l / 2] = self.b.ins().insertlane(q[l / 2], x, (l % 2) as u8);
                }
                self.vset64(slot, q, wm);
            }
        }
        self.b.ins().jump(join, &[]);

        self.b.switch_to_block(slow);
        self.force_site = Some(site);
        let r = self.per_lane(pc, site_bytes, true);
        self.force_site = None;
        r?;
        self.b.ins().jump(join, &[]);
        self.b.switch_to_block(join);
        Ok(true)
    }

    /// The block of instruction `pc` of the kernel; past its end, the quad's exit.
    fn vblock(&mut self, pc: u32) -> Block {
        match self.body.func_of(self.body.entry()) {
            Some((_, _, end)) if pc < end => self.block_at(pc),
            _ => self.vexit,
        }
    }

    /// Notes that the pass leaves this quad to the one-thread function: [`STOP_LEFT`], and the
    /// range of threads the block's scheduler looks for such quads in.
    fn note_left(&mut self) {
        self.note_stop(STOP_LEFT);
        let t = self.b.use_var(self.vt);
        let ctx = self.ctx();
        let from = offset_of!(Ctx, left_from) as i32;
        let v = self.b.ins().load(I64, FLAGS, ctx, from);
        let v = self.b.ins().umin(v, t);
        self.b.ins().store(FLAGS, v, ctx, from);
        let end = self.b.ins().iadd_imm_s(t, 4);
        let to = offset_of!(Ctx, left_to) as i32;
        let v = self.b.ins().load(I64, FLAGS, ctx, to);
        let v = self.b.ins().umax(v, end);
        self.b.ins().store(FLAGS, v, ctx, to);
    }

    /// The quad's register frame: the slot at place `i` of the frame (see `frame_offset`), lane
    /// `l`, at `32 * i + 8 * l` (see `JitCtx::regs`).
    fn vframe_ptr(&mut self) -> Value {
        if self.quad_points > 1 {
            // Kernels with loops or barriers load and save frames on their hot paths: the
            // thread loop keeps a pointer to the quad's frame.
            self.vframe_used = true;
            return self.b.use_var(self.vframe);
        }
        let t = self.b.use_var(self.vt);
        self.frame_of(t)
    }

    /// The resume slots of the quad's four threads (see `JitCtx::resume`).
    fn vresume_ptr(&mut self) -> Value {
        let t = self.b.use_var(self.vt);
        let off = self.b.ins().ishl_imm_s(t, 2);
        let resume = self.cf(offset_of!(Ctx, resume));
        self.b.ins().iadd(resume, off)
    }

    /// Sets the resume slots of the quad's four threads to `v`. (As two 64-bit stores of an
    /// immediate: a vector constant would be hoisted out of the thread loop, and one per stop
    /// would crowd the vector registers the loop keeps.)
    fn vstore_resume(&mut self, v: u32) {
        let p = self.vresume_ptr();
        let pair = self.iconst(v as u64 * 0x1_0000_0001);
        self.b.ins().store(FLAGS, pair, p, 0);
        self.b.ins().store(FLAGS, pair, p, 8);
    }

    /// Saves the registers live at resume point `ri` for the quad's four threads, records it
    /// as theirs (`waiting` at a barrier), and moves on to the next quad. The one-thread
    /// function can resume them there as well as the quad function. (Stopping at instruction
    /// `at`: registers its frame holds already there are not saved again.)
    fn vstop(&mut self, ri: u32, waiting: bool, at: u32) {
        let live = self.live[ri as usize].clone();
        let frame = self.vframe_ptr();
        let unchanged = self.vunchanged.get(&at).cloned().unwrap_or_default();
        for s in live {
            if s != self.carry && !self.body.is_reg(s) || unchanged.contains(&s) {
                continue;
            }
            let off = self.frame_offset(s);
            match self.vvar(s) {
                VVar::W32(v) => {
                    let v = self.b.use_var(v);
                    self.b.ins().store(FLAGS, v, frame, off);
                }
                VVar::W64([a, b]) => {
                    let (a, b) = (self.b.use_var(a), self.b.use_var(b));
                    self.b.ins().store(FLAGS, a, frame, off);
                    self.b.ins().store(FLAGS, b, frame, off + 16);
                }
            }
        }
        if ri >= self.quad_points {
            self.note_left();
        } else if !waiting {
            self.note_stop(STOP_SLICED);
        }
        self.vstore_resume(if waiting { ri | WAITING } else { ri });
        self.b.ins().jump(self.next_thread, &[]);
    }

    /// Register `s` of the quad as saved in its frame at `frame`.
    fn vload_saved(&mut self, s: Slot, frame: Value) -> Write {
        let off = self.frame_offset(s);
        if self.is_wide(s) {
            Write::W64(
                [
                    self.b.ins().load(I64X2, FLAGS, frame, off),
                    self.b.ins().load(I64X2, FLAGS, frame, off + 16),
                ],
                u64::MAX,
            )
        } else {
            Write::W32(self.b.ins().load(I32X4, FLAGS, frame, off), u64::MAX)
        }
    }

    /// Fills `back`, the way back to the loop head `target`: after a slice of backward
    /// branches the quad stops there and lets the block's other threads run (a quad spinning
    /// on a flag a later thread sets still gets it).
    fn vloop(&mut self, back: Block, target: u32, at: u32) {
        self.b.switch_to_block(back);
        let n = self.b.use_var(self.budget);
        let n = self.b.ins().iadd_imm_s(n, -1);
        self.b.def_var(self.budget, n);
        let head = self.vblock(target);
        let spent = self.b.create_block();
        self.b.set_cold_block(spent);
        self.b.ins().brif(n, head, &[], spent, &[]);
        self.b.switch_to_block(spent);
        let ri = self.resume_index[&(Resume::LoopHead, target)];
        self.vstop(ri, false, at);
    }

    /// Writes a vector result to `d`, only in the lanes of `mask` where there is one.
    fn vwrite(&mut self, d: Slot, w: Write, mask: Option<Value>) {
        if d == NONE {
            return;
        }
        match (w, mask) {
            (Write::W32(v, wm), None) => self.vset32(d, v, wm),
            (Write::W64(v, wm), None) => self.vset64(d, v, wm),
            (Write::W32(v, wm), Some(m)) if !self.is_wide(d) => {
                let v = if wm < 0xffff_ffff {
                    let k = self.splat32(wm as u32);
                    self.b.ins().band(v, k)
                } else {
                    v
                };
                let old = self.vget32(d);
                let v = self.b.ins().bitselect(m, v, old);
                self.vset32(d, v, u64::MAX);
            }
            (w, Some(m)) => {
                let v = match w {
                    Write::W32(v, wm) => {
                        let q = self.widen(v, false);
                        let k = self.splat64(wm);
                        self.each2(q, k, |t, a, b| t.b.ins().band(a, b))
                    }
                    Write::W64(v, wm) => {
                        let k = self.splat64(wm);
                        self.each2(v, k, |t, a, b| t.b.ins().band(a, b))
                    }
                };
                let m = self.widen(m, true);
                let old = self.vget64(d);
                let v = [
                    self.b.ins().bitselect(m[0], v[0], old[0]),
                    self.b.ins().bitselect(m[1], v[1], old[1]),
                ];
                self.vset64(d, v, u64::MAX);
            }
        }
    }

    /// Emits instruction `pc` for the quad; false when control does not fall through.
    fn vinst(&mut self, pc: u32, site_bytes: &mut Vec<u32>) -> Result<bool, String> {
        let prog = self.prog;
        let inst = &prog.insts[pc as usize];
        match &inst.op {
            Op::Bra { .. } | Op::Exit | Op::Ret => {
                let back = match &inst.op {
                    Op::Bra { target } if *target <= pc => Some((self.b.create_block(), *target)),
                    _ => None,
                };
                let to = match (&inst.op, back) {
                    (_, Some((blk, _))) => blk,
                    (Op::Bra { target }, None) => self.vblock(*target),
                    _ => self.vexit,
                };
                if inst.guard == NONE {
                    self.b.ins().jump(to, &[]);
                    if let Some((blk, target)) = back {
                        self.vloop(blk, target, pc);
                    }
                    return Ok(false);
                }
                let next = self.vblock(pc + 1);
                self.split_on_guard(pc, to, next);
                if let Some((blk, target)) = back {
                    self.vloop(blk, target, pc);
                }
                return Ok(false);
            }
            Op::Bar { .. } => {
                let ri = self.resume_index[&(Resume::Barrier, pc + 1)];
                self.vstop(ri, true, pc);
                return Ok(false);
            }
            Op::Ld {
                space: Space::KParam,
                ds,
                wms,
                n,
                bytes,
                sext,
                addr,
                off,
            } if inst.guard == NONE => {
                // The same for every thread: loaded once.
                if let Some(vals) = self.param_load(Space::KParam, *addr, *off, *n, *bytes, *sext) {
                    for i in 0..*n as usize {
                        let w = if self.is_wide(ds[i]) {
                            Write::W64(self.splat64_of(vals[i]), wms[i])
                        } else {
                            let n = self.b.ins().ireduce(I32, vals[i]);
                            Write::W32(self.b.ins().splat(I32X4, n), wms[i])
                        };
                        self.vwrite(ds[i], w, None);
                    }
                    return Ok(true);
                }
            }
            _ => {}
        }
        if self.vglobal(pc, site_bytes)? || self.vshared(pc) {
            return Ok(true);
        }
        if let Some((d, w)) = self.vpure(&inst.op) {
            let mask = if inst.guard == NONE {
                None
            } else {
                Some(self.vtruth(inst.guard, inst.neg))
            };
            self.vwrite(d, w, mask);
            return Ok(true);
        }
        self.per_lane(pc, site_bytes, false)?;
        Ok(true)
    }

    /// Threads the one-thread function stopped at quad point `ri`: on to `resume` when the
    /// registers live there have the shapes the quad function assumes (see `lanes`), else
    /// recorded at `ri + others` (the one-thread function's alias of the point) and left.
    fn check_shapes(&mut self, ri: u32, resume: Block, others: u32) {
        let live = self.live[ri as usize].clone();
        let frame = self.vframe_ptr();
        let mut ok = None;
        for s in live {
            let Some(&Shape::Affine(st)) = self.vplan.as_ref().and_then(|p| p.shapes.get(&s))
            else {
                continue;
            };
            if s != self.carry && !self.body.is_reg(s) {
                continue;
            }
            let fits = match self.vload_saved(s, frame) {
                Write::W64(q, _) => {
                    let l0 = self.b.ins().extractlane(q[0], 0);
                    let steps = self.vconst(
                        I64X2,
                        [0, st].iter().flat_map(|x| x.to_le_bytes()).collect(),
                    );
                    let base = self.b.ins().splat(I64X2, l0);
                    let lo = self.b.ins().iadd(base, steps);
                    let hi_steps = self.vconst(
                        I64X2,
                        [st.wrapping_mul(2), st.wrapping_mul(3)]
                            .iter()
                            .flat_map(|x| x.to_le_bytes())
                            .collect(),
                    );
                    let hi = self.b.ins().iadd(base, hi_steps);
                    let a = self.b.ins().icmp(IntCC::Equal, q[0], lo);
                    let b = self.b.ins().icmp(IntCC::Equal, q[1], hi);
                    let m = self.b.ins().band(a, b);
                    self.b.ins().vall_true(m)
                }
                Write::W32(v, _) => {
                    let l0 = self.b.ins().extractlane(v, 0);
                    let l0 = self.b.ins().uextend(I64, l0);
                    let want = self.iota32(l0, st as u32);
                    let m = self.b.ins().icmp(IntCC::Equal, v, want);
                    self.b.ins().vall_true(m)
                }
            };
            ok = Some(match ok {
                None => fits,
                Some(o) => self.b.ins().band(o, fits),
            });
        }
        let Some(ok) = ok else {
            self.b.ins().jump(resume, &[]);
            return;
        };
        let fail = self.b.create_block();
        self.b.set_cold_block(fail);
        self.b.ins().brif(ok, resume, &[], fail, &[]);
        self.b.switch_to_block(fail);
        self.vstore_resume(ri + others);
        self.note_left();
        self.b.ins().jump(self.next_thread, &[]);
    }

    /// Translates the quad function: a pass over the block's quads (from thread `first`, a
    /// multiple of four, its `%tid.x` too), each from its resume point. A quad whose threads
    /// resume at different points, or at a point only the one-thread function has, is left
    /// to it.
    pub(super) fn run_quads(
        mut self,
        resumes: &[(Resume, u32)],
        live: &[Vec<Slot>],
        quad_points: u32,
        region: Option<u32>,
        site_bytes: &mut Vec<u32>,
        target: cranelift_codegen::isa::TargetFrontendConfig,
    ) -> Result<(), String> {
        self.live = live.to_vec();
        for (i, r) in resumes.iter().enumerate() {
            self.resume_index.insert(*r, i as u32);
        }
        // Without loops or barriers, every quad the pass runs starts at the entry, and the
        // block's scheduler needs no record of the quads that exit.
        let one_round = quad_points == 1;
        self.enter_pass();
        self.first_thread();
        let t = self.b.use_var(self.t);
        self.b.def_var(self.vt, t);
        let frame = self.frame_of(t);
        self.b.def_var(self.vframe, frame);
        for k in 0..3 {
            let v = self.b.use_var(self.tid[k]);
            self.b.def_var(self.vtid[k], v);
        }
        let head = self.thread_loop(self.vt);
        let resume_blocks: Vec<Block> = (0..quad_points).map(|_| self.b.create_block()).collect();
        // The quad's resume slots.
        let slots = (!one_round).then(|| {
            let p = self.vresume_ptr();
            (p, self.b.ins().load(I32X4, FLAGS, p, 0))
        });
        if let (Some(ri), Some((p, rv))) = (region, slots) {
            // One barrier, as the block's scheduler releases it (or the entry, at a block's
            // first round): quads waiting there (as either function recorded it) resume,
            // exited ones are passed over, and any other is released in place and left to the
            // whole quad function.
            let nresumes = resumes.len() as u32;
            let test = |t: &mut Self, want: u32, then: Block| {
                let w = t.splat32(want);
                let same = t.b.ins().icmp(IntCC::Equal, rv, w);
                let same = t.b.ins().vall_true(same);
                let other = t.b.create_block();
                t.b.set_cold_block(other);
                t.b.ins().brif(same, then, &[], other, &[]);
                t.b.switch_to_block(other);
            };
            let checked = (ri > 0).then(|| self.b.create_block());
            match checked {
                // The entry, where every thread of a block starts.
                None => test(&mut self, 0, resume_blocks[0]),
                Some(checked) => {
                    test(&mut self, ri | WAITING, resume_blocks[ri as usize]);
                    test(&mut self, (nresumes + ri) | WAITING, checked);
                }
            }
            let next = self.next_thread;
            test(&mut self, EXITED, next);
            let exited = self.splat32(EXITED);
            let running = self.b.ins().icmp(IntCC::NotEqual, rv, exited);
            let waiting = self.splat32(WAITING);
            let bit = self.b.ins().band(running, waiting);
            let released = self.b.ins().band_not(rv, bit);
            self.b.ins().store(FLAGS, released, p, 0);
            self.note_stop(STOP_OTHER);
            self.b.ins().jump(next, &[]);
            if let Some(checked) = checked {
                self.b.switch_to_block(checked);
                self.check_shapes(ri, resume_blocks[ri as usize], nresumes + quad_points);
            }
        } else if let Some((_, rv)) = slots {
            let r0 = self.b.ins().extractlane(rv, 0);
            let r0s = self.b.ins().splat(I32X4, r0);
            let same = self.b.ins().icmp(IntCC::Equal, rv, r0s);
            let same = self.b.ins().vall_true(same);
            let dispatch = self.b.create_block();
            let leave = self.b.create_block();
            self.b.set_cold_block(leave);
            self.b.ins().brif(same, dispatch, &[], leave, &[]);
            self.b.switch_to_block(leave);
            self.note_left();
            self.b.ins().jump(self.next_thread, &[]);
            self.b.switch_to_block(dispatch);
            // Quad points as this function records them, then the one-thread function's own
            // points (left to it), then quad points as it records them (checked first), and as
            // this function leaves them when the check fails (left to it). Waiting and exited
            // threads are past the table.
            let nresumes = resumes.len();
            let checked: Vec<Block> = (0..quad_points).map(|_| self.b.create_block()).collect();
            let own = vec![leave; nresumes - quad_points as usize];
            let failed = vec![leave; quad_points as usize];
            let calls: Vec<_> = resume_blocks
                .iter()
                .chain(&own)
                .chain(&checked)
                .chain(&failed)
                .map(|&rb| self.b.func.dfg.block_call(rb, &[]))
                .collect();
            let def = self.b.func.dfg.block_call(self.next_thread, &[]);
            let jt = self
                .b
                .create_jump_table(cranelift_codegen::ir::JumpTableData::new(def, &calls));
            self.b.ins().br_table(r0, jt);
            for (i, &blk) in checked.iter().enumerate() {
                self.b.switch_to_block(blk);
                self.check_shapes(i as u32, resume_blocks[i], nresumes as u32 + quad_points);
            }
        } else {
            self.b.ins().jump(resume_blocks[0], &[]);
        }
        for (i, &blk) in resume_blocks.iter().enumerate() {
            if region.is_some_and(|r| r as usize != i) {
                continue;
            }
            self.b.switch_to_block(blk);
            let (kind, pc) = resumes[i];
            let live = self.live[i].clone();
            let frame = (kind != Resume::Entry && !live.is_empty()).then(|| self.vframe_ptr());
            for s in live {
                if s != self.carry && !self.body.is_reg(s) {
                    continue;
                }
                match frame {
                    // Registers read before the kernel writes them (the carry flag of an
                    // `addc`, say) start at zero, as in the one-thread code.
                    None => {
                        let zero = self.splat32(0);
                        self.vset32(s, zero, u64::MAX);
                    }
                    Some(frame) => {
                        let w = self.vload_saved(s, frame);
                        self.vwrite(s, w, None);
                    }
                }
            }
            if kind != Resume::Entry {
                for load in self.reloads.get(i).cloned().unwrap_or_default() {
                    self.vinst(load, site_bytes)?;
                }
            }
            let to = self.vblock(pc);
            self.b.ins().jump(to, &[]);
        }

        let start = self.body.entry();
        let (_, _, end) = self.body.func_of(start).expect("checked");
        let leaders = self.vplan.as_ref().map(|p| p.leaders.clone());
        for l in leaders.unwrap_or_default() {
            self.block_at(l);
        }
        let vexit = self.vexit;
        self.emit_code(start, end, vexit, |t, pc| t.vinst(pc, site_bytes))?;
        // Each instruction run lane by lane is four copies of its one-thread code: past a few
        // dozen, compiling the quad function takes many times as long as the one-thread
        // function (a kernel with 159 local-memory accesses: 390 ms against 22 ms).
        if self.vlanes > MAX_LANE_BY_LANE {
            return Err(format!(
                "{} of {} instructions run lane by lane",
                self.vlanes,
                end - start
            ));
        }

        // The quad's threads exit.
        self.b.switch_to_block(self.vexit);
        if !one_round {
            self.vstore_resume(EXITED);
        }
        self.b.ins().jump(self.next_thread, &[]);

        // Next quad.
        self.b.switch_to_block(self.next_thread);
        if self.vframe_used {
            let frame = self.b.use_var(self.vframe);
            let frame = self.b.ins().iadd_imm_s(frame, self.frame_slots as i64 * 32);
            self.b.def_var(self.vframe, frame);
        }
        if self.vtid_used {
            self.advance_threads(self.vt, self.vtid, 4);
        } else {
            let t = self.b.use_var(self.vt);
            let t = self.b.ins().iadd_imm_s(t, 4);
            self.b.def_var(self.vt, t);
        }
        self.b.ins().jump(head, &[]);

        self.b.seal_all_blocks();
        self.b.finalize(target);
        Ok(())
    }
}
