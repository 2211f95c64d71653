//! Lowering: the PTX IR of a module becomes one flat array of compact instructions.
//!
//! Decoding happens once per module load. Every operand is resolved to a register *slot* of
//! the warp's lane-wise register file: the functions' own registers, and pseudo-registers
//! holding immediates (written once when a register file is created), special registers
//! (`%tid`, `%laneid`, … written when a warp starts) and symbol bases (the per-lane local frame
//! base, the dynamic shared base). So the executor never inspects operand kinds: every source is
//! `regs[slot][lane]`.

#![allow(clippy::type_complexity)]

use crate::arith::{self, Alu};
use crate::{Error, Site};
use ferrocuda_ptx::ir::{self, Opcode, Operand, ScalarType, SourceLoc, StateSpace};
use std::collections::HashMap;

/// Index of a lane-wise register in a warp's register file.
pub(crate) type Slot = u32;
/// "No register" (a discarded destination or an absent operand).
pub(crate) const NONE: Slot = u32::MAX;

/// Fixed pseudo-register slots.
pub(crate) mod sr {
    use super::Slot;
    pub const ZERO: Slot = 0;
    pub const TID: Slot = 1;
    pub const NTID: Slot = 4;
    pub const CTAID: Slot = 7;
    pub const NCTAID: Slot = 10;
    pub const LANEID: Slot = 13;
    pub const WARPID: Slot = 14;
    pub const NWARPID: Slot = 15;
    pub const SMID: Slot = 16;
    pub const NSMID: Slot = 17;
    pub const GRIDID: Slot = 18;
    pub const LM_EQ: Slot = 19;
    pub const LM_LE: Slot = 20;
    pub const LM_LT: Slot = 21;
    pub const LM_GE: Slot = 22;
    pub const LM_GT: Slot = 23;
    pub const DYN_SMEM: Slot = 24;
    pub const TOTAL_SMEM: Slot = 25;
    /// Shared-space offset of the dynamic shared region of the running kernel.
    pub const DYN_BASE: Slot = 26;
    /// Per-lane base of the current local frame (local-space address).
    pub const FRAME: Slot = 27;
    pub const ONE: Slot = 28;
    pub const FIXED: u32 = 32;
}

/// Generic-address windows for the per-block and per-thread state spaces (4 GiB each), above
/// the device heap and below the end of the canonical lower half.
pub(crate) const SHARED_WINDOW: u64 = 0x7f00_0000_0000;
pub(crate) const LOCAL_WINDOW: u64 = 0x7f01_0000_0000;
pub(crate) const PARAM_WINDOW: u64 = 0x7f02_0000_0000;
/// Function "addresses" for indirect calls: `FUNC_WINDOW + 16 * function index`.
pub(crate) const FUNC_WINDOW: u64 = 0x7f03_0000_0000;
pub(crate) const WINDOW_SIZE: u64 = 1 << 32;

/// The state space a memory instruction accesses, resolved at decode time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Space {
    /// Device memory (`.global` and `.const`).
    Global,
    /// The block's shared memory (offset addresses).
    Shared,
    /// The thread's local memory (frame stack; also `.func` parameters).
    Local,
    /// The kernel's parameter buffer (read-only).
    KParam,
    /// A generic address, classified per access by window.
    Generic,
}

/// Timers read by `%clock`, `%clock64`, `%globaltimer`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Timer {
    Clock,
    Clock64,
    Global,
    GlobalLo,
    GlobalHi,
}

/// Hot two-source operations executed without an indirect call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BinK {
    Add32,
    Add64,
    Sub32,
    Sub64,
    MulLo32,
    MulLo64,
    MulWideU32,
    MulWideS32,
    And,
    Or,
    Xor,
    Shl32,
    Shl64,
    ShrU32,
    ShrS32,
    ShrU64,
    ShrS64,
    MinS32,
    MaxS32,
    MinU32,
    MaxU32,
    FAdd32,
    FSub32,
    FMul32,
    /// `cvt.u64.u32` (b unused).
    Zext32,
    /// `cvt.s64.s32` (b unused).
    Sext32,
    /// Predicate negation `a ^ 1` (b unused).
    PNot,
    /// `not` of an integer or predicate: every bit flipped, masked to the width (b unused).
    Not,
    /// `add.rn.f64`, `sub.rn.f64`, `mul.rn.f64` (NaNs as the GPU propagates them).
    FAdd64,
    FSub64,
    FMul64,
    /// `setp.CMP.f32` (no `.ftz`): 1 where the comparison holds, NaNs as PTX orders them.
    FSetp32(ir::CmpOp),
    /// `cvt.rn.f32.s32` (b unused).
    CvtF32S32,
    /// `cvt.rn.f32.u32` (b unused).
    CvtF32U32,
}

/// Hot three-source operations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TriK {
    MadLo32,
    MadLo64,
    MadWideU32,
    MadWideS32,
    Fma32,
    /// `fma.rn.f64` (NaNs as the GPU propagates them).
    Fma64,
    /// `selp`: c ? a : b.
    Selp,
}

/// Integer comparisons of the `setp` fast path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ICmp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

/// `bar` / `barrier` flavours.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum BarKind {
    #[default]
    Sync,
    Arrive,
    RedPopc,
    RedAnd,
    RedOr,
}

/// Where a `call` argument comes from.
#[derive(Debug, Clone, Copy)]
pub(crate) enum ArgSrc {
    /// Bytes of the caller's frame (a call-site `.param` variable): (offset, size).
    Frame(u32, u32),
    /// A register or immediate slot.
    Reg(Slot),
}

/// Where a `call` return value goes.
#[derive(Debug, Clone, Copy)]
pub(crate) enum RetDst {
    Frame(u32, u32),
    Reg(Slot),
    Discard,
}

#[derive(Debug, Clone, Copy)]
pub(crate) enum CallTarget {
    Direct(u32),
    /// A CUDA system function the module declares but does not define.
    System(SystemCall),
    Indirect(Slot),
    /// An indirect call naming a `.calltargets` list: the register's function must be one of
    /// [`Program::call_lists`]`[list]`.
    Listed {
        slot: Slot,
        list: u32,
    },
}

/// The CUDA system functions device code calls by name (`printf`, `assert`, the device heap),
/// which the executor provides as a GPU's driver does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SystemCall {
    /// `vprintf(format, args) -> int`.
    Vprintf,
    /// `__assertfail(message, file, line, function, char_size)`.
    AssertFail,
    /// `malloc(size) -> pointer`.
    Malloc,
    /// `free(pointer)`.
    Free,
}

impl SystemCall {
    /// The system function `name`, with the number of parameters it takes.
    fn named(name: &str) -> Option<(SystemCall, usize)> {
        Some(match name {
            "vprintf" => (SystemCall::Vprintf, 2),
            "__assertfail" => (SystemCall::AssertFail, 5),
            "malloc" => (SystemCall::Malloc, 1),
            "free" => (SystemCall::Free, 1),
            _ => return None,
        })
    }
}

/// A decoded instruction.
pub(crate) enum Op {
    Nop,
    Mov {
        d: Slot,
        a: Slot,
        wm: u64,
    },
    /// `mov.b64 %rd, {%r1, %r2}`: concatenates `n` parts of `bits` each.
    Pack {
        d: Slot,
        parts: [Slot; 4],
        n: u8,
        bits: u8,
        wm: u64,
    },
    /// `mov.b64 {%r1, %r2}, %rd`: splits into `n` parts of `bits` each.
    Unpack {
        ds: [Slot; 4],
        n: u8,
        bits: u8,
        a: Slot,
    },
    Bin {
        k: BinK,
        d: Slot,
        a: Slot,
        b: Slot,
        wm: u64,
    },
    Tri {
        k: TriK,
        d: Slot,
        a: Slot,
        b: Slot,
        c: Slot,
        wm: u64,
    },
    SetpI {
        d: Slot,
        a: Slot,
        b: Slot,
        cmp: ICmp,
        w64: bool,
        signed: bool,
    },
    Alu1 {
        d: Slot,
        wm: u64,
        a: Slot,
        f: Box<dyn Fn(u64) -> u64 + Send + Sync>,
    },
    Alu2 {
        d: Slot,
        wm: u64,
        a: Slot,
        b: Slot,
        f: Box<dyn Fn(u64, u64) -> u64 + Send + Sync>,
    },
    Alu3 {
        d: Slot,
        wm: u64,
        a: Slot,
        b: Slot,
        c: Slot,
        f: Box<dyn Fn(u64, u64, u64) -> u64 + Send + Sync>,
    },
    Alu4 {
        d: Slot,
        wm: u64,
        s: [Slot; 4],
        f: Box<dyn Fn(u64, u64, u64, u64) -> u64 + Send + Sync>,
    },
    AluCmp {
        p: Slot,
        pwm: u64,
        q: Slot,
        qwm: u64,
        a: Slot,
        b: Slot,
        c: Slot,
        f: Box<dyn Fn(u64, u64, u64) -> (u64, u64) + Send + Sync>,
    },
    AluCarry {
        d: Slot,
        wm: u64,
        a: Slot,
        b: Slot,
        c: Slot,
        write_cc: bool,
        f: Box<dyn Fn(u64, u64, u64, bool) -> (u64, bool) + Send + Sync>,
    },
    Ld {
        space: Space,
        ds: [Slot; 4],
        wms: [u64; 4],
        n: u8,
        bytes: u8,
        sext: bool,
        addr: Slot,
        off: i64,
    },
    St {
        space: Space,
        ss: [Slot; 4],
        n: u8,
        bytes: u8,
        addr: Slot,
        off: i64,
    },
    Atom {
        space: Space,
        op: ir::AtomOp,
        ty: ScalarType,
        d: Slot,
        wm: u64,
        addr: Slot,
        off: i64,
        b: Slot,
        c: Slot,
    },
    CpAsync {
        dst: Slot,
        doff: i64,
        src: Slot,
        soff: i64,
        size: u32,
        src_size: Slot,
    },
    /// Adds (`to == false`) or subtracts a window base; `window == 0` is the identity.
    Cvta {
        d: Slot,
        a: Slot,
        window: u64,
        to: bool,
        wm: u64,
    },
    Isspacep {
        d: Slot,
        a: Slot,
        space: StateSpace,
    },
    ReadTimer {
        d: Slot,
        kind: Timer,
        wm: u64,
    },
    Bra {
        target: u32,
    },
    Brx {
        idx: Slot,
        targets: Box<[u32]>,
    },
    Call {
        target: CallTarget,
        args: Box<[ArgSrc]>,
        rets: Box<[RetDst]>,
        /// Bytes of the caller's frame (the callee's frame starts after it).
        frame: u32,
    },
    Ret,
    Exit,
    Trap,
    Brkpt,
    Bar {
        kind: BarKind,
        id: Slot,
        count: Slot,
        d: Slot,
        src: Slot,
        neg: bool,
    },
    Shfl {
        mode: ir::ShflMode,
        d: Slot,
        p: Slot,
        a: Slot,
        b: Slot,
        c: Slot,
    },
    Vote {
        mode: ir::VoteMode,
        d: Slot,
        a: Slot,
        neg: bool,
    },
    Activemask {
        d: Slot,
    },
    Match {
        all: bool,
        d: Slot,
        p: Slot,
        a: Slot,
        w64: bool,
    },
    Redux {
        op: ir::AtomOp,
        signed: bool,
        d: Slot,
        a: Slot,
    },
    Elect {
        d: Slot,
        p: Slot,
        mask: Slot,
    },
    /// `ldmatrix.sync.aligned.m8n8.xN{.trans}.shared.b16`: a warp loads `n` 8×8 matrices of
    /// 16-bit elements whose rows lanes `8m..8m+8` address; lane `t` receives elements
    /// `(t/4, 2(t%4))` and `(t/4, 2(t%4)+1)` of each matrix (transposed with `.trans`).
    Ldmatrix {
        space: Space,
        ds: [Slot; 4],
        wms: [u64; 4],
        n: u8,
        trans: bool,
        addr: Slot,
        off: i64,
    },
    /// A warp's matrix multiply-accumulate (boxed: rare, and large).
    Mma(Box<MmaOp>),
    /// `wmma.load`: a warp reads a matrix into its fragment registers.
    WmmaLoad(Box<WmmaMemOp>),
    /// `wmma.store`: a warp writes a fragment out as a matrix.
    WmmaStore(Box<WmmaMemOp>),
    /// `wmma.mma`.
    Wmma(Box<WmmaOp>),
}

/// Shapes of `mma.sync` the executor runs (m×n×k).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MmaShape {
    M16N8K4,
    M16N8K8,
    M16N8K16,
    M16N8K32,
    M8N8K4,
}

/// Element types of `mma.sync` operands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MmaType {
    F16,
    Bf16,
    Tf32,
    F32,
    F64,
    S8,
    U8,
    S32,
}

impl MmaType {
    fn of(t: &ScalarType) -> Option<MmaType> {
        Some(match t {
            ScalarType::F16 => MmaType::F16,
            ScalarType::BF16 => MmaType::Bf16,
            ScalarType::TF32 => MmaType::Tf32,
            ScalarType::F32 => MmaType::F32,
            ScalarType::F64 => MmaType::F64,
            ScalarType::S8 => MmaType::S8,
            ScalarType::U8 => MmaType::U8,
            ScalarType::S32 => MmaType::S32,
            _ => return None,
        })
    }

    /// The register type that holds one (or a packed group) of these elements.
    fn register(self) -> ScalarType {
        if self == MmaType::F64 {
            ScalarType::B64
        } else {
            ScalarType::B32
        }
    }
}

/// A warp's `mma.sync.aligned.SHAPE.row.col.D.A.B.C d, a, b, c` (see `exec::mma`).
#[derive(Debug)]
pub(crate) struct MmaOp {
    pub(crate) shape: MmaShape,
    pub(crate) a_ty: MmaType,
    pub(crate) b_ty: MmaType,
    pub(crate) c_ty: MmaType,
    pub(crate) d_ty: MmaType,
    /// `.satfinite` (integer results clamp instead of wrapping).
    pub(crate) satfinite: bool,
    /// Fragment registers of each operand.
    pub(crate) d: Vec<Slot>,
    pub(crate) a: Vec<Slot>,
    pub(crate) b: Vec<Slot>,
    pub(crate) c: Vec<Slot>,
}

/// A `wmma` fragment: its matrix's shape and element type, and how many registers hold it in
/// each lane (see `exec::wmma`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct WmmaFrag {
    pub(crate) ty: MmaType,
    pub(crate) rows: usize,
    pub(crate) cols: usize,
    pub(crate) regs: usize,
}

/// `wmma.load` / `wmma.store`: a fragment's registers and the matrix in memory.
#[derive(Debug)]
pub(crate) struct WmmaMemOp {
    pub(crate) frag: WmmaFrag,
    /// `.row` (else `.col`): how the matrix lies in memory.
    pub(crate) row_major: bool,
    pub(crate) space: Space,
    pub(crate) regs: Vec<Slot>,
    pub(crate) addr: Slot,
    pub(crate) off: i64,
    /// Elements between rows (`.row`) or columns (`.col`); [`NONE`]: the matrix's own width.
    pub(crate) stride: Slot,
}

/// `wmma.mma`: `d = a·b + c` on fragments.
#[derive(Debug)]
pub(crate) struct WmmaOp {
    pub(crate) a: WmmaFrag,
    pub(crate) b: WmmaFrag,
    pub(crate) c: WmmaFrag,
    pub(crate) d: WmmaFrag,
    pub(crate) satfinite: bool,
    pub(crate) ra: Vec<Slot>,
    pub(crate) rb: Vec<Slot>,
    pub(crate) rc: Vec<Slot>,
    pub(crate) rd: Vec<Slot>,
}

impl Op {
    /// The slots this operation reads and writes, or `None` for operations whose effects
    /// are not a pure function of their operands (memory other than kernel parameters,
    /// timers, warp collectives, control flow, carries).
    fn pure_slots(&self) -> Option<(Vec<Slot>, Vec<Slot>)> {
        let v = |x: &[Slot]| x.iter().copied().filter(|&s| s != NONE).collect::<Vec<_>>();
        Some(match self {
            Op::Mov { d, a, .. } | Op::Alu1 { d, a, .. } | Op::Cvta { d, a, .. } => {
                (v(&[*a]), v(&[*d]))
            }
            Op::Bin { d, a, b, .. } | Op::SetpI { d, a, b, .. } | Op::Alu2 { d, a, b, .. } => {
                (v(&[*a, *b]), v(&[*d]))
            }
            Op::Tri { d, a, b, c, .. } | Op::Alu3 { d, a, b, c, .. } => {
                (v(&[*a, *b, *c]), v(&[*d]))
            }
            Op::Alu4 { d, s, .. } => (v(s), v(&[*d])),
            Op::AluCmp { p, q, a, b, c, .. } => (v(&[*a, *b, *c]), v(&[*p, *q])),
            Op::Pack { d, parts, n, .. } => (v(&parts[..*n as usize]), v(&[*d])),
            Op::Unpack { ds, n, a, .. } => (v(&[*a]), v(&ds[..*n as usize])),
            _ => return None,
        })
    }

    /// Every slot this operation may write (for counting definitions).
    fn written_slots(&self) -> Vec<Slot> {
        let v = |x: &[Slot]| x.iter().copied().filter(|&s| s != NONE).collect::<Vec<_>>();
        if let Some((_, w)) = self.pure_slots() {
            return w;
        }
        match self {
            Op::AluCarry { d, .. }
            | Op::Atom { d, .. }
            | Op::Isspacep { d, .. }
            | Op::ReadTimer { d, .. }
            | Op::Vote { d, .. }
            | Op::Activemask { d }
            | Op::Redux { d, .. }
            | Op::Bar { d, .. } => v(&[*d]),
            Op::Ld { ds, n, .. } | Op::Ldmatrix { ds, n, .. } => v(&ds[..*n as usize]),
            Op::Mma(m) => v(&m.d),
            Op::WmmaLoad(m) => v(&m.regs),
            Op::Wmma(m) => v(&m.rd),
            Op::Shfl { d, p, .. } | Op::Match { d, p, .. } | Op::Elect { d, p, .. } => v(&[*d, *p]),
            Op::Call { rets, .. } => rets
                .iter()
                .filter_map(|r| match r {
                    RetDst::Reg(s) => Some(*s),
                    _ => None,
                })
                .collect(),
            _ => Vec::new(),
        }
    }
}

/// A decoded instruction with its guard.
pub(crate) struct Inst {
    pub(crate) op: Op,
    /// Guard predicate slot, or [`NONE`].
    pub(crate) guard: Slot,
    /// `@!%p`.
    pub(crate) neg: bool,
}

/// Per-function facts the executor needs.
#[derive(Debug, Clone, Default)]
pub(crate) struct FuncInfo {
    pub(crate) entry: u32,
    /// Kernels: how many instructions at `entry` compute values that are the same in every
    /// block for a given lane (see [`hoist_block_invariants`]). A warp runs them in its first
    /// block only; its registers keep the results for the blocks it runs after.
    pub(crate) invariant_prologue: u32,
    pub(crate) reg_base: u32,
    pub(crate) nregs: u32,
    /// Bytes of one activation's local frame.
    pub(crate) frame: u32,
    /// Frame offsets and sizes of `.func` parameters and return values.
    pub(crate) params: Vec<(u32, u32)>,
    pub(crate) rets: Vec<(u32, u32)>,
    /// Part of a call-graph cycle: its registers are saved across calls.
    pub(crate) recursive: bool,
    pub(crate) has_body: bool,
    /// For kernels: static shared bytes; deepest local stack over the call graph.
    pub(crate) static_shared: u32,
    pub(crate) local_stack: u32,
    /// 32-bit registers a GPU would need at least (declared registers, 64-bit counting twice).
    pub(crate) reg_count32: u32,
}

/// The lowered module.
pub(crate) struct Program {
    pub(crate) insts: Vec<Inst>,
    pub(crate) locs: Vec<SourceLoc>,
    pub(crate) nslots: u32,
    /// Immediate pseudo-registers: (slot, value).
    pub(crate) consts: Vec<(Slot, u64)>,
    pub(crate) funcs: Vec<FuncInfo>,
    /// Device address ranges of `.const` variables (for `isspacep.const`).
    pub(crate) const_ranges: Vec<(u64, u64)>,
    /// The functions each `.calltargets`-restricted call may reach ([`CallTarget::Listed`]).
    pub(crate) call_lists: Vec<Box<[u32]>>,
    /// Function names by index (for run-time error messages).
    pub(crate) func_names: Vec<Box<str>>,
}

/// Where module-scope variables live, decided before lowering.
pub(crate) struct Layout {
    /// Per module global: its address (device address for `.global`/`.const`, shared offset for
    /// `.shared`); `None` for `.extern .shared` (dynamic shared).
    pub(crate) globals: Vec<Option<u64>>,
    /// Per function: shared offsets of its function-scope `.shared` variables.
    pub(crate) func_shared: Vec<Vec<Option<u64>>>,
    /// Per function: end of the static shared memory it can see.
    pub(crate) shared_end: Vec<u64>,
    pub(crate) const_ranges: Vec<(u64, u64)>,
    /// Per function, module-wide facts every program starts from.
    pub(crate) functions: FunctionFacts,
}

/// What each function's lowering needs to know of the others, computed once per module.
pub(crate) struct FunctionFacts {
    /// Frames, parameters and register counts (slots are given per program).
    infos: Vec<FuncInfo>,
    /// Frame offsets of each function's `.local`/`.param` locals.
    locals: Vec<Vec<Option<u32>>>,
    /// The function's address is taken somewhere: an indirect call may reach it.
    address_taken: Vec<bool>,
    /// The functions each one calls directly or through a listed call (`.calltargets`, call
    /// tables), and whether it also calls through a plain pointer.
    callees: Vec<(Vec<u32>, bool)>,
}

impl FunctionFacts {
    pub(crate) fn new(m: &ir::Module) -> FunctionFacts {
        let mut infos = Vec::with_capacity(m.functions.len());
        let mut locals = Vec::with_capacity(m.functions.len());
        for f in &m.functions {
            let (l, params, rets, frame) = frame_layout(f);
            let reg_count32 = f
                .regs
                .iter()
                .map(|r| if r.ty.size() > 4 { 2 } else { 1 })
                .sum::<u32>();
            infos.push(FuncInfo {
                nregs: f.regs.len() as u32,
                frame,
                params,
                rets,
                local_stack: frame,
                reg_count32,
                ..FuncInfo::default()
            });
            locals.push(l);
        }
        FunctionFacts {
            infos,
            locals,
            address_taken: address_taken(m),
            callees: m.functions.iter().map(callees).collect(),
        }
    }

    /// The functions a program for `roots` must hold, by index.
    fn reachable(&self, roots: &[u32]) -> Vec<bool> {
        let n = self.infos.len();
        let mut seen = vec![false; n];
        let mut stack: Vec<u32> = roots.to_vec();
        let mut pointers = false;
        loop {
            while let Some(f) = stack.pop() {
                let Some(s) = seen.get_mut(f as usize) else {
                    continue;
                };
                if std::mem::replace(s, true) {
                    continue;
                }
                let (direct, pointer) = &self.callees[f as usize];
                stack.extend(direct);
                pointers |= pointer;
            }
            // Once: every function whose address is taken.
            let more: Vec<u32> = (0..n as u32)
                .filter(|&g| pointers && self.address_taken[g as usize] && !seen[g as usize])
                .collect();
            if more.is_empty() {
                return seen;
            }
            stack = more;
        }
    }
}

/// The functions `f` calls by name or through a listed call, and whether it calls through a
/// plain pointer.
fn callees(f: &ir::Function) -> (Vec<u32>, bool) {
    let mut out = Vec::new();
    let mut pointer = false;
    for inst in f.body.iter().flatten() {
        if inst.opcode != Opcode::Call {
            continue;
        }
        let mut listed = false;
        for o in &inst.operands {
            match o {
                Operand::Callee(c) => out.push(*c as u32),
                Operand::List(l) => {
                    for c in l {
                        if let Operand::Callee(c) = c {
                            out.push(*c as u32);
                            listed = true;
                        }
                    }
                }
                _ => {}
            }
        }
        if matches!(inst.operands.get(1), Some(Operand::Reg(_))) && !listed {
            pointer = true;
        }
    }
    out.sort_unstable();
    out.dedup();
    (out, pointer)
}

fn unsupported(what: impl Into<String>, loc: SourceLoc, func: &str) -> Error {
    Error::Unsupported {
        what: what.into(),
        at: Site {
            kernel: func.to_string(),
            line: loc.line,
            col: loc.col,
        },
    }
}

fn align_up(x: u64, a: u64) -> u64 {
    let a = a.max(1);
    x.div_ceil(a) * a
}

/// Width mask of a register type.
pub(crate) fn type_mask(t: ScalarType) -> u64 {
    match t {
        ScalarType::Pred => 1,
        _ if t.bits() >= 64 => u64::MAX,
        _ => (1u64 << t.bits()) - 1,
    }
}

/// The integer type twice as wide (for `.wide` operands).
fn doubled(t: ScalarType) -> ScalarType {
    use ScalarType::*;
    match t {
        S16 => S32,
        U16 => U32,
        B16 => B32,
        S32 => S64,
        U32 => U64,
        B32 => B64,
        t => t,
    }
}

/// The type an immediate in operand position `k` is converted with.
fn src_type(inst: &ir::Instruction, k: usize) -> ScalarType {
    use ScalarType::*;
    let t0 = inst.ty().unwrap_or(B32);
    let t1 = inst.types.get(1).copied().unwrap_or(t0);
    match inst.opcode {
        Opcode::Shl | Opcode::Shr if k == 2 => U32,
        Opcode::Shf if k == 3 => U32,
        Opcode::Bfe if k >= 2 => U32,
        Opcode::Bfi if k >= 3 => U32,
        Opcode::Bmsk | Opcode::Fns | Opcode::Dp4a | Opcode::Dp2a => B32,
        Opcode::Szext if k == 2 => U32,
        Opcode::Setp | Opcode::Set | Opcode::Selp if k == 3 => Pred,
        Opcode::Set | Opcode::Cvt => t1,
        Opcode::Slct if k == 3 => t1,
        Opcode::Mad | Opcode::Madc if k == 3 && inst.has(ir::Modifier::Wide) => doubled(t0),
        Opcode::Clz | Opcode::Popc | Opcode::Bfind | Opcode::Brev => t0,
        _ => t0,
    }
}

/// Builds the register-slot view of a module while lowering its functions.
struct Lowerer<'a> {
    m: &'a ir::Module,
    layout: &'a Layout,
    insts: Vec<Inst>,
    locs: Vec<SourceLoc>,
    nslots: u32,
    consts: HashMap<u64, Slot>,
    const_list: Vec<(Slot, u64)>,
    funcs: Vec<FuncInfo>,
    /// Per function: frame offsets of its `.local`/`.param` locals.
    local_off: Vec<Vec<Option<u32>>>,
    /// Branch fix-ups: (op index, function, IR instruction index).
    fix: Vec<(usize, u32, Vec<u32>)>,
    /// Per function: op index of each IR instruction (plus one past the end).
    starts: Vec<Vec<u32>>,
    call_lists: Vec<Box<[u32]>>,
}

/// A symbol's value: a base slot plus a constant.
#[derive(Debug, Clone, Copy)]
struct SymVal {
    base: Slot,
    off: i64,
    /// The symbol's own space (how `ld.param` and `cvta` treat it).
    space: Space,
}

impl<'a> Lowerer<'a> {
    fn konst(&mut self, v: u64) -> Slot {
        if v == 0 {
            return sr::ZERO;
        }
        if let Some(&s) = self.consts.get(&v) {
            return s;
        }
        let s = self.nslots;
        self.nslots += 1;
        self.consts.insert(v, s);
        self.const_list.push((s, v));
        s
    }

    fn temp(&mut self) -> Slot {
        let s = self.nslots;
        self.nslots += 1;
        s
    }

    fn emit(&mut self, op: Op, _fid: u32, loc: SourceLoc) {
        self.insts.push(Inst {
            op,
            guard: NONE,
            neg: false,
        });
        self.locs.push(loc);
    }

    fn reg(&self, fid: u32, r: ir::RegId) -> Slot {
        self.funcs[fid as usize].reg_base + r
    }

    fn reg_wm(&self, fid: u32, r: ir::RegId) -> u64 {
        let f = &self.m.functions[fid as usize];
        f.regs
            .get(r as usize)
            .map(|d| type_mask(d.ty))
            .unwrap_or(u64::MAX)
    }

    fn sym(
        &mut self,
        fid: u32,
        s: ir::SymbolRef,
        add: i64,
        loc: SourceLoc,
    ) -> Result<SymVal, Error> {
        let f = &self.m.functions[fid as usize];
        let bad = |what: &str| unsupported(what.to_string(), loc, &f.name);
        Ok(match s {
            ir::SymbolRef::Global(g) => {
                let var = self
                    .m
                    .globals
                    .get(g)
                    .ok_or_else(|| bad("reference to a missing variable"))?;
                match (var.space, self.layout.globals[g]) {
                    (StateSpace::Shared | StateSpace::SharedCluster, None) => SymVal {
                        base: sr::DYN_BASE,
                        off: add,
                        space: Space::Shared,
                    },
                    (StateSpace::Shared | StateSpace::SharedCluster, Some(o)) => SymVal {
                        base: sr::ZERO,
                        off: o as i64 + add,
                        space: Space::Shared,
                    },
                    (StateSpace::Global | StateSpace::Const, Some(a)) => SymVal {
                        base: sr::ZERO,
                        off: a as i64 + add,
                        space: Space::Global,
                    },
                    _ => {
                        return Err(bad(&format!(
                            "module-scope {} variable `{}`",
                            var.space.name(),
                            var.name
                        )))
                    }
                }
            }
            ir::SymbolRef::Local(i) => {
                let var = f
                    .locals
                    .get(i)
                    .ok_or_else(|| bad("reference to a missing local"))?;
                match var.space {
                    StateSpace::Local | StateSpace::Param => {
                        let o = self.local_off[fid as usize]
                            .get(i)
                            .copied()
                            .flatten()
                            .ok_or_else(|| bad("local variable"))?;
                        SymVal {
                            base: sr::FRAME,
                            off: o as i64 + add,
                            space: Space::Local,
                        }
                    }
                    StateSpace::Shared | StateSpace::SharedCluster => match self.layout.func_shared
                        [fid as usize]
                        .get(i)
                        .copied()
                        .flatten()
                    {
                        Some(o) => SymVal {
                            base: sr::ZERO,
                            off: o as i64 + add,
                            space: Space::Shared,
                        },
                        None => SymVal {
                            base: sr::DYN_BASE,
                            off: add,
                            space: Space::Shared,
                        },
                    },
                    sp => {
                        return Err(bad(&format!(
                            "function-scope {} variable `{}`",
                            sp.name(),
                            var.name
                        )))
                    }
                }
            }
            ir::SymbolRef::Param(i) => {
                let p = f
                    .params
                    .get(i)
                    .ok_or_else(|| bad("reference to a missing parameter"))?;
                if f.kind == ir::FunctionKind::Entry {
                    SymVal {
                        base: sr::ZERO,
                        off: p.offset as i64 + add,
                        space: Space::KParam,
                    }
                } else {
                    let (o, _) = self.funcs[fid as usize].params[i];
                    SymVal {
                        base: sr::FRAME,
                        off: o as i64 + add,
                        space: Space::Local,
                    }
                }
            }
            ir::SymbolRef::Return(i) => {
                let (o, _) = *self.funcs[fid as usize]
                    .rets
                    .get(i)
                    .ok_or_else(|| bad("reference to a missing return value"))?;
                SymVal {
                    base: sr::FRAME,
                    off: o as i64 + add,
                    space: Space::Local,
                }
            }
            ir::SymbolRef::Function(g) => SymVal {
                base: sr::ZERO,
                off: (FUNC_WINDOW + 16 * g as u64) as i64 + add,
                space: Space::Global,
            },
        })
    }

    /// A symbol's value in a register slot (emitting an add when its base is per-lane).
    fn sym_slot(&mut self, fid: u32, v: SymVal, loc: SourceLoc) -> Slot {
        if v.base == sr::ZERO {
            return self.konst(v.off as u64);
        }
        let t = self.temp();
        let k = self.konst(v.off as u64);
        self.emit(
            Op::Bin {
                k: BinK::Add64,
                d: t,
                a: v.base,
                b: k,
                wm: u64::MAX,
            },
            fid,
            loc,
        );
        t
    }

    /// The slot holding source operand `o` (index `k`) of `inst`.
    fn src(&mut self, fid: u32, inst: &ir::Instruction, k: usize) -> Result<Slot, Error> {
        let o = inst
            .operands
            .get(k)
            .ok_or_else(|| self.err(fid, inst, "missing operand"))?;
        self.src_op(fid, inst, o, src_type(inst, k))
    }

    fn src_op(
        &mut self,
        fid: u32,
        inst: &ir::Instruction,
        o: &Operand,
        ty: ScalarType,
    ) -> Result<Slot, Error> {
        Ok(match o {
            Operand::Reg(r) => self.reg(fid, *r),
            Operand::NotReg(r) => {
                let t = self.temp();
                let a = self.reg(fid, *r);
                self.emit(
                    Op::Bin {
                        k: BinK::PNot,
                        d: t,
                        a,
                        b: sr::ZERO,
                        wm: 1,
                    },
                    fid,
                    inst.loc,
                );
                t
            }
            Operand::Imm(i) => self.konst(arith::imm_bits(*i, ty)),
            Operand::Special(s, d) => self.special(fid, inst, *s, *d)?,
            Operand::Symbol(s, add) => {
                let v = self.sym(fid, *s, *add, inst.loc)?;
                self.sym_slot(fid, v, inst.loc)
            }
            Operand::Sink => self.temp(),
            _ => return Err(self.err(fid, inst, "operand kind")),
        })
    }

    fn special(
        &mut self,
        fid: u32,
        inst: &ir::Instruction,
        s: ir::SpecialReg,
        d: Option<ir::Dim>,
    ) -> Result<Slot, Error> {
        use ir::SpecialReg::*;
        let dim = match d {
            Some(ir::Dim::Y) => 1,
            Some(ir::Dim::Z) => 2,
            _ => 0,
        };
        let timer = |k| -> Option<Timer> { Some(k) };
        let t = match s {
            Clock => timer(Timer::Clock),
            Clock64 => timer(Timer::Clock64),
            Globaltimer => timer(Timer::Global),
            GlobaltimerLo => timer(Timer::GlobalLo),
            GlobaltimerHi => timer(Timer::GlobalHi),
            _ => None,
        };
        if let Some(kind) = t {
            let d = self.temp();
            self.emit(
                Op::ReadTimer {
                    d,
                    kind,
                    wm: u64::MAX,
                },
                fid,
                inst.loc,
            );
            return Ok(d);
        }
        Ok(match s {
            Tid => sr::TID + dim,
            Ntid => sr::NTID + dim,
            Ctaid | ClusterId => sr::CTAID + dim,
            // Without a cluster launch every CTA is its own 1x1x1 cluster, so the cluster grid
            // is the CTA grid.
            Nctaid | NclusterId => sr::NCTAID + dim,
            Laneid => sr::LANEID,
            Warpid => sr::WARPID,
            Nwarpid => sr::NWARPID,
            Smid => sr::SMID,
            Nsmid => sr::NSMID,
            Gridid => sr::GRIDID,
            LanemaskEq => sr::LM_EQ,
            LanemaskLe => sr::LM_LE,
            LanemaskLt => sr::LM_LT,
            LanemaskGe => sr::LM_GE,
            LanemaskGt => sr::LM_GT,
            DynamicSmemSize => sr::DYN_SMEM,
            TotalSmemSize => sr::TOTAL_SMEM,
            ClusterNctaid | ClusterNctarank => sr::ONE,
            ClusterCtaid | ClusterCtarank | IsExplicitCluster | Envreg(_) | Pm(_) => sr::ZERO,
            _ => return Err(self.err(fid, inst, "special register")),
        })
    }

    fn err(&self, fid: u32, inst: &ir::Instruction, what: &str) -> Error {
        let f = &self.m.functions[fid as usize];
        unsupported(
            format!("{what} in `{:?}`", inst.opcode).to_lowercase(),
            inst.loc,
            &f.name,
        )
    }

    /// Destination slot and width mask of operand `o`.
    fn dst(&mut self, fid: u32, inst: &ir::Instruction, o: &Operand) -> Result<(Slot, u64), Error> {
        match o {
            Operand::Reg(r) => Ok((self.reg(fid, *r), self.reg_wm(fid, *r))),
            Operand::Sink => Ok((NONE, 0)),
            _ => Err(self.err(fid, inst, "destination operand")),
        }
    }

    /// `d` or `d|p` destinations.
    fn dst_pair(
        &mut self,
        fid: u32,
        inst: &ir::Instruction,
    ) -> Result<((Slot, u64), (Slot, u64)), Error> {
        let o = inst
            .operands
            .first()
            .ok_or_else(|| self.err(fid, inst, "missing destination"))?;
        match o {
            Operand::Vector(v) if v.len() == 2 => {
                let a = self.dst(fid, inst, &v[0])?;
                let b = self.dst(fid, inst, &v[1])?;
                Ok((a, b))
            }
            o => Ok((self.dst(fid, inst, o)?, (NONE, 0))),
        }
    }

    /// An address operand: base slot, constant offset and the symbol's own space.
    fn addr(
        &mut self,
        fid: u32,
        inst: &ir::Instruction,
        k: usize,
    ) -> Result<(Slot, i64, Option<Space>), Error> {
        match inst.operands.get(k) {
            Some(Operand::Addr(a)) => match a.base {
                ir::AddrBase::Reg(r) => Ok((self.reg(fid, r), a.offset, None)),
                ir::AddrBase::Absolute => Ok((sr::ZERO, a.offset, None)),
                ir::AddrBase::Symbol(s) => {
                    let v = self.sym(fid, s, a.offset, inst.loc)?;
                    Ok((v.base, v.off, Some(v.space)))
                }
            },
            _ => Err(self.err(fid, inst, "address operand")),
        }
    }

    fn mem_space(
        &self,
        fid: u32,
        inst: &ir::Instruction,
        sym: Option<Space>,
    ) -> Result<Space, Error> {
        let is_entry = self.m.functions[fid as usize].kind == ir::FunctionKind::Entry;
        Ok(match inst.space() {
            None => match sym {
                // A symbol named without a space qualifier means its own space.
                Some(Space::KParam) | Some(Space::Local) | Some(Space::Shared) => {
                    sym.unwrap_or(Space::Generic)
                }
                _ => Space::Generic,
            },
            Some(StateSpace::Global) | Some(StateSpace::Const) => Space::Global,
            Some(StateSpace::Shared) | Some(StateSpace::SharedCluster) => Space::Shared,
            Some(StateSpace::Local) => Space::Local,
            Some(StateSpace::Param) => match sym {
                Some(s) => s,
                None if is_entry => Space::KParam,
                None => Space::Local,
            },
            Some(s) => return Err(self.err(fid, inst, &format!("state space {}", s.name()))),
        })
    }

    fn lower_function(&mut self, fid: u32) -> Result<(), Error> {
        let m = self.m;
        let f = &m.functions[fid as usize];
        let Some(body) = &f.body else {
            return Ok(());
        };
        let mut starts = Vec::with_capacity(body.len() + 1);
        self.funcs[fid as usize].entry = self.insts.len() as u32;
        for inst in body {
            starts.push(self.insts.len() as u32);
            let first = self.insts.len();
            self.lower_inst(fid, inst)?;
            // The guard applies to the instruction's own op, the last one emitted for it; ops
            // emitted before it compute operands and are harmless to run unguarded.
            if let Some(g) = inst.guard {
                let slot = self.reg(fid, g.reg);
                if let Some(last) = self.insts.len().checked_sub(1).filter(|&l| l >= first) {
                    self.insts[last].guard = slot;
                    self.insts[last].neg = g.negate;
                }
            }
        }
        starts.push(self.insts.len() as u32);
        // Falling off the end of a body returns (exits, for a kernel).
        self.emit(Op::Ret, fid, f.loc);
        self.starts[fid as usize] = starts;
        Ok(())
    }

    fn label(&self, fid: u32, inst: &ir::Instruction, o: &Operand) -> Result<u32, Error> {
        match o {
            Operand::Label(l) => Ok(*l),
            _ => Err(self.err(fid, inst, "branch target")),
        }
    }

    fn lower_inst(&mut self, fid: u32, inst: &ir::Instruction) -> Result<(), Error> {
        use ir::Modifier as M;
        let m = self.m;
        let f = &m.functions[fid as usize];
        let loc = inst.loc;
        let ops = &inst.operands;
        let ty = inst.ty();
        match inst.opcode {
            Opcode::Mov => return self.lower_mov(fid, inst),
            Opcode::Ld | Opcode::Ldu => {
                let t = ty.ok_or_else(|| self.err(fid, inst, "type"))?;
                let (addr, off, sym) = self.addr(fid, inst, 1)?;
                let space = self.mem_space(fid, inst, sym)?;
                let mut ds = [NONE; 4];
                let mut wms = [0u64; 4];
                let dests: Vec<&Operand> = match &ops[0] {
                    Operand::Vector(v) => v.iter().collect(),
                    o => vec![o],
                };
                if dests.len() > 4 || t.size() > 8 {
                    return Err(self.err(fid, inst, "vector width or element type"));
                }
                for (i, o) in dests.iter().enumerate() {
                    let (s, w) = self.dst(fid, inst, o)?;
                    ds[i] = s;
                    wms[i] = w;
                }
                let op = Op::Ld {
                    space,
                    ds,
                    wms,
                    n: dests.len() as u8,
                    bytes: t.size() as u8,
                    sext: t.is_signed(),
                    addr,
                    off,
                };
                self.emit(op, fid, loc);
            }
            Opcode::St => {
                let t = ty.ok_or_else(|| self.err(fid, inst, "type"))?;
                let (addr, off, sym) = self.addr(fid, inst, 0)?;
                let space = self.mem_space(fid, inst, sym)?;
                if space == Space::KParam {
                    return Err(self.err(fid, inst, "store to kernel parameters"));
                }
                let srcs: Vec<Operand> = match &ops[1] {
                    Operand::Vector(v) => v.clone(),
                    o => vec![o.clone()],
                };
                if srcs.len() > 4 || t.size() > 8 {
                    return Err(self.err(fid, inst, "vector width or element type"));
                }
                let mut ss = [NONE; 4];
                for (i, o) in srcs.iter().enumerate() {
                    ss[i] = self.src_op(fid, inst, o, t)?;
                }
                let op = Op::St {
                    space,
                    ss,
                    n: srcs.len() as u8,
                    bytes: t.size() as u8,
                    addr,
                    off,
                };
                self.emit(op, fid, loc);
            }
            Opcode::Atom | Opcode::Red => {
                let t = ty.ok_or_else(|| self.err(fid, inst, "type"))?;
                let op = inst
                    .mods
                    .iter()
                    .find_map(|m| match m {
                        M::Atom(a) => Some(*a),
                        _ => None,
                    })
                    .ok_or_else(|| self.err(fid, inst, "atomic operation"))?;
                if inst.vector().is_some() || matches!(t, ScalarType::B128) {
                    return Err(self.err(fid, inst, "vector atomic"));
                }
                let base = if inst.opcode == Opcode::Atom { 1 } else { 0 };
                let (d, wm) = if base == 1 {
                    self.dst(fid, inst, &ops[0])?
                } else {
                    (NONE, 0)
                };
                let (addr, off, sym) = self.addr(fid, inst, base)?;
                let space = self.mem_space(fid, inst, sym)?;
                if !matches!(space, Space::Global | Space::Shared | Space::Generic) {
                    return Err(self.err(fid, inst, "atomic state space"));
                }
                let b = self.src_op(fid, inst, &ops[base + 1], t)?;
                let c = if op == ir::AtomOp::Cas {
                    self.src_op(fid, inst, &ops[base + 2], t)?
                } else {
                    sr::ZERO
                };
                self.emit(
                    Op::Atom {
                        space,
                        op,
                        ty: t,
                        d,
                        wm,
                        addr,
                        off,
                        b,
                        c,
                    },
                    fid,
                    loc,
                );
            }
            Opcode::CpAsync => {
                // `cp.async.ca.shared.global [dst], [src], size{, src_size}`; the group
                // operations (commit/wait) have no address operands and are no-ops.
                if ops.len() >= 3
                    && matches!(ops[0], Operand::Addr(_))
                    && matches!(ops[1], Operand::Addr(_))
                {
                    if inst.mods.iter().any(
                        |m| matches!(m, M::Hint(h) if h.contains("bulk") || h.contains("tensor")),
                    ) {
                        return Err(self.err(fid, inst, "bulk asynchronous copy"));
                    }
                    let (dst, doff, _) = self.addr(fid, inst, 0)?;
                    let (src, soff, _) = self.addr(fid, inst, 1)?;
                    let size = match &ops[2] {
                        Operand::Imm(ir::Imm::Int(n)) if matches!(n, 4 | 8 | 16) => *n as u32,
                        Operand::Imm(ir::Imm::UInt(n)) if matches!(n, 4 | 8 | 16) => *n as u32,
                        _ => return Err(self.err(fid, inst, "copy size")),
                    };
                    let src_size = match ops.get(3) {
                        Some(o @ (Operand::Reg(_) | Operand::Imm(_))) => {
                            self.src_op(fid, inst, o, ScalarType::U32)?
                        }
                        _ => NONE,
                    };
                    self.emit(
                        Op::CpAsync {
                            dst,
                            doff,
                            src,
                            soff,
                            size,
                            src_size,
                        },
                        fid,
                        loc,
                    );
                } else if ops.iter().any(|o| matches!(o, Operand::Addr(_))) {
                    return Err(self.err(fid, inst, "asynchronous copy form"));
                } else {
                    self.emit(Op::Nop, fid, loc);
                }
            }
            Opcode::Cvta => {
                let (d, wm) = self.dst(fid, inst, &ops[0])?;
                let a = self.src_op(fid, inst, &ops[1], ty.unwrap_or(ScalarType::U64))?;
                let window = match inst.space() {
                    Some(StateSpace::Shared) | Some(StateSpace::SharedCluster) => SHARED_WINDOW,
                    Some(StateSpace::Local) => LOCAL_WINDOW,
                    Some(StateSpace::Param) => PARAM_WINDOW,
                    Some(StateSpace::Global) | Some(StateSpace::Const) => 0,
                    _ => return Err(self.err(fid, inst, "state space")),
                };
                let to = inst.has(M::To);
                self.emit(
                    Op::Cvta {
                        d,
                        a,
                        window,
                        to,
                        wm,
                    },
                    fid,
                    loc,
                );
            }
            Opcode::Isspacep => {
                let (d, _) = self.dst(fid, inst, &ops[0])?;
                let a = self.src_op(fid, inst, &ops[1], ScalarType::U64)?;
                let space = inst
                    .space()
                    .ok_or_else(|| self.err(fid, inst, "state space"))?;
                self.emit(Op::Isspacep { d, a, space }, fid, loc);
            }
            Opcode::Bra => {
                let l = self.label(fid, inst, &ops[0])?;
                self.fix.push((self.insts.len(), fid, vec![l]));
                self.emit(Op::Bra { target: l }, fid, loc);
            }
            Opcode::Brx => {
                let idx = self.src_op(fid, inst, &ops[0], ScalarType::U32)?;
                let labels = match &ops[1] {
                    Operand::List(v) => v
                        .iter()
                        .map(|o| self.label(fid, inst, o))
                        .collect::<Result<Vec<_>, _>>()?,
                    _ => return Err(self.err(fid, inst, "target list")),
                };
                self.fix.push((self.insts.len(), fid, labels.clone()));
                self.emit(
                    Op::Brx {
                        idx,
                        targets: labels.into_boxed_slice(),
                    },
                    fid,
                    loc,
                );
            }
            Opcode::Call => self.lower_call(fid, inst)?,
            Opcode::Ret => self.emit(Op::Ret, fid, loc),
            Opcode::Exit => self.emit(Op::Exit, fid, loc),
            Opcode::Trap => self.emit(Op::Trap, fid, loc),
            Opcode::Brkpt => self.emit(Op::Brkpt, fid, loc),
            Opcode::Nanosleep
            | Opcode::Fence
            | Opcode::Membar
            | Opcode::Prefetch
            | Opcode::Prefetchu
            | Opcode::Discard
            | Opcode::Griddepcontrol
            | Opcode::Setmaxnreg
            | Opcode::Pmevent
            | Opcode::BarWarp => self.emit(Op::Nop, fid, loc),
            Opcode::Createpolicy | Opcode::Getctarank => {
                // The cache policy is opaque (0); every block is rank 0 of its own cluster.
                let (d, wm) = self.dst(fid, inst, &ops[0])?;
                self.emit(Op::Mov { d, a: sr::ZERO, wm }, fid, loc);
            }
            Opcode::Bar | Opcode::Barrier => self.lower_bar(fid, inst)?,
            Opcode::Shfl => {
                let mode = inst
                    .mods
                    .iter()
                    .find_map(|m| match m {
                        M::Shfl(s) => Some(*s),
                        _ => None,
                    })
                    .ok_or_else(|| self.err(fid, inst, "shuffle mode"))?;
                let ((d, _), (p, _)) = self.dst_pair(fid, inst)?;
                let a = self.src(fid, inst, 1)?;
                let b = self.src_op(fid, inst, &ops[2], ScalarType::U32)?;
                let c = self.src_op(fid, inst, &ops[3], ScalarType::U32)?;
                self.emit(
                    Op::Shfl {
                        mode,
                        d,
                        p,
                        a,
                        b,
                        c,
                    },
                    fid,
                    loc,
                );
            }
            Opcode::Vote => {
                let mode = inst
                    .mods
                    .iter()
                    .find_map(|m| match m {
                        M::Vote(s) => Some(*s),
                        _ => None,
                    })
                    .ok_or_else(|| self.err(fid, inst, "vote mode"))?;
                let (d, _) = self.dst(fid, inst, &ops[0])?;
                let (a, neg) = match &ops[1] {
                    Operand::NotReg(r) => (self.reg(fid, *r), true),
                    o => (self.src_op(fid, inst, o, ScalarType::Pred)?, false),
                };
                self.emit(Op::Vote { mode, d, a, neg }, fid, loc);
            }
            Opcode::Activemask => {
                let (d, _) = self.dst(fid, inst, &ops[0])?;
                self.emit(Op::Activemask { d }, fid, loc);
            }
            Opcode::Match => {
                let ((d, _), (p, _)) = self.dst_pair(fid, inst)?;
                let a = self.src(fid, inst, 1)?;
                let w64 = ty.is_some_and(|t| t.size() == 8);
                let all = inst.has(M::MatchAll);
                self.emit(Op::Match { all, d, p, a, w64 }, fid, loc);
            }
            Opcode::Redux => {
                let op = inst
                    .mods
                    .iter()
                    .find_map(|m| match m {
                        M::Atom(a) => Some(*a),
                        M::Bool(ir::BoolOp::And) => Some(ir::AtomOp::And),
                        M::Bool(ir::BoolOp::Or) => Some(ir::AtomOp::Or),
                        M::Bool(ir::BoolOp::Xor) => Some(ir::AtomOp::Xor),
                        _ => None,
                    })
                    .ok_or_else(|| self.err(fid, inst, "reduction"))?;
                if ty.is_some_and(|t| t.is_float()) {
                    return Err(self.err(fid, inst, "floating-point reduction"));
                }
                let (d, _) = self.dst(fid, inst, &ops[0])?;
                let a = self.src(fid, inst, 1)?;
                let signed = ty.is_some_and(|t| t.is_signed());
                self.emit(Op::Redux { op, signed, d, a }, fid, loc);
            }
            Opcode::Elect => {
                let ((d, _), (p, _)) = self.dst_pair(fid, inst)?;
                let mask = match ops.get(1) {
                    Some(o) => self.src_op(fid, inst, o, ScalarType::U32)?,
                    None => self.konst(u32::MAX as u64),
                };
                self.emit(Op::Elect { d, p, mask }, fid, loc);
            }
            Opcode::Ldmatrix => {
                let hint = |h: &str| inst.mods.iter().any(|m| matches!(m, M::Hint(x) if x == h));
                if !hint("m8n8") || ty.is_some_and(|t| t.size() != 2) {
                    return Err(unsupported(
                        "`ldmatrix` other than `.m8n8` with 16-bit elements".to_string(),
                        loc,
                        &f.name,
                    ));
                }
                let n = if hint("x4") {
                    4
                } else if hint("x2") {
                    2
                } else {
                    1
                };
                let (addr, off, sym) = self.addr(fid, inst, 1)?;
                let space = self.mem_space(fid, inst, sym)?;
                let dests: Vec<&Operand> = match &ops[0] {
                    Operand::Vector(v) => v.iter().collect(),
                    o => vec![o],
                };
                if dests.len() != n {
                    return Err(self.err(fid, inst, "one destination per matrix"));
                }
                let mut ds = [NONE; 4];
                let mut wms = [0u64; 4];
                for (i, o) in dests.iter().enumerate() {
                    let (s, w) = self.dst(fid, inst, o)?;
                    ds[i] = s;
                    wms[i] = w;
                }
                let trans = hint("trans");
                let n = n as u8;
                self.emit(
                    Op::Ldmatrix {
                        space,
                        ds,
                        wms,
                        n,
                        trans,
                        addr,
                        off,
                    },
                    fid,
                    loc,
                );
            }
            Opcode::Mma => self.lower_mma(fid, inst)?,
            Opcode::Wmma => self.lower_wmma(fid, inst)?,
            Opcode::Wgmma
            | Opcode::Stmatrix
            | Opcode::Tex
            | Opcode::Tld4
            | Opcode::Txq
            | Opcode::Suld
            | Opcode::Sust
            | Opcode::Mbarrier
            | Opcode::Mapa
            | Opcode::Alloca
            | Opcode::Stacksave
            | Opcode::Stackrestore
            | Opcode::Other => {
                let name = match (inst.opcode, inst.mods.first()) {
                    (Opcode::Other, Some(M::Hint(h))) => h.clone(),
                    (op, _) => format!("{op:?}").to_lowercase(),
                };
                return Err(unsupported(format!("instruction `{name}`"), loc, &f.name));
            }
            _ => {
                if self.fast_alu(fid, inst)? {
                    return Ok(());
                }
                let alu = arith::lower(inst, f)?
                    .ok_or_else(|| self.err(fid, inst, "instruction form"))?;
                self.lower_alu(fid, inst, alu)?;
            }
        }
        Ok(())
    }

    fn lower_mov(&mut self, fid: u32, inst: &ir::Instruction) -> Result<(), Error> {
        let ops = &inst.operands;
        let ty = inst.ty().unwrap_or(ScalarType::B64);
        let loc = inst.loc;
        match (&ops[0], &ops[1]) {
            (Operand::Vector(parts), src) => {
                let n = parts.len();
                if n == 0 || n > 4 || ty.bits() % n as u32 != 0 {
                    return Err(self.err(fid, inst, "vector unpack"));
                }
                let a = self.src_op(fid, inst, src, ty)?;
                let mut ds = [NONE; 4];
                for (i, p) in parts.iter().enumerate() {
                    ds[i] = self.dst(fid, inst, p)?.0;
                }
                let bits = (ty.bits() / n as u32) as u8;
                self.emit(
                    Op::Unpack {
                        ds,
                        n: n as u8,
                        bits,
                        a,
                    },
                    fid,
                    loc,
                );
            }
            (d, Operand::Vector(parts)) => {
                let n = parts.len();
                if n == 0 || n > 4 || ty.bits() % n as u32 != 0 {
                    return Err(self.err(fid, inst, "vector pack"));
                }
                let (d, wm) = self.dst(fid, inst, d)?;
                let bits = (ty.bits() / n as u32) as u8;
                let part_ty = match bits {
                    8 => ScalarType::B8,
                    16 => ScalarType::B16,
                    32 => ScalarType::B32,
                    _ => ScalarType::B64,
                };
                let mut ps = [sr::ZERO; 4];
                for (i, p) in parts.iter().enumerate() {
                    ps[i] = match p {
                        Operand::Sink => sr::ZERO,
                        p => self.src_op(fid, inst, p, part_ty)?,
                    };
                }
                self.emit(
                    Op::Pack {
                        d,
                        parts: ps,
                        n: n as u8,
                        bits,
                        wm,
                    },
                    fid,
                    loc,
                );
            }
            (d, s) => {
                let (d, wm) = self.dst(fid, inst, d)?;
                let a = self.src_op(fid, inst, s, ty)?;
                let wm = wm & type_mask(ty).max(if ty == ScalarType::Pred { 1 } else { 0 });
                self.emit(Op::Mov { d, a, wm }, fid, loc);
            }
        }
        Ok(())
    }

    fn lower_call(&mut self, fid: u32, inst: &ir::Instruction) -> Result<(), Error> {
        let ops = &inst.operands;
        let (rets_o, target_o, args_o) = match (ops.first(), ops.get(1), ops.get(2)) {
            (Some(Operand::List(r)), Some(t), Some(Operand::List(a))) => {
                (r.clone(), t.clone(), a.clone())
            }
            (Some(Operand::List(r)), Some(t), None) => (r.clone(), t.clone(), Vec::new()),
            _ => return Err(self.err(fid, inst, "call operands")),
        };
        let target = match target_o {
            Operand::Callee(c) if c < self.m.functions.len() => {
                let callee = &self.m.functions[c];
                let system = SystemCall::named(&callee.name).filter(|_| callee.body.is_none());
                if let Some((sc, nparams)) = system {
                    if callee.params.len() != nparams || args_o.len() != nparams {
                        return Err(unsupported(
                            format!(
                                "call to `{}` with {} arguments (the system function takes {nparams})",
                                callee.name,
                                args_o.len()
                            ),
                            inst.loc,
                            &self.m.functions[fid as usize].name,
                        ));
                    }
                    CallTarget::System(sc)
                } else if callee.body.is_none() {
                    return Err(unsupported(
                        format!(
                            "call to `{}`, which has no body in this module",
                            self.m.functions[c].name
                        ),
                        inst.loc,
                        &self.m.functions[fid as usize].name,
                    ));
                } else {
                    CallTarget::Direct(c as u32)
                }
            }
            Operand::Reg(r) => match ops.get(4) {
                // `.calltargets`: the call may reach only the listed functions.
                Some(Operand::List(l)) => {
                    let mut list = Vec::with_capacity(l.len());
                    for o in l {
                        match o {
                            Operand::Callee(c) if *c < self.m.functions.len() => {
                                list.push(*c as u32)
                            }
                            _ => return Err(self.err(fid, inst, "call target list")),
                        }
                    }
                    self.call_lists.push(list.into_boxed_slice());
                    CallTarget::Listed {
                        slot: self.reg(fid, r),
                        list: self.call_lists.len() as u32 - 1,
                    }
                }
                _ => CallTarget::Indirect(self.reg(fid, r)),
            },
            _ => return Err(self.err(fid, inst, "call target")),
        };
        let mut args = Vec::new();
        for a in &args_o {
            args.push(match a {
                Operand::Symbol(s, add)
                | Operand::Addr(ir::Address {
                    base: ir::AddrBase::Symbol(s),
                    offset: add,
                }) => {
                    let v = self.sym(fid, *s, *add, inst.loc)?;
                    match (v.base, v.space) {
                        (sr::FRAME, _) => ArgSrc::Frame(v.off as u32, self.sym_size(fid, *s)),
                        _ => ArgSrc::Reg(self.sym_slot(fid, v, inst.loc)),
                    }
                }
                o => ArgSrc::Reg(self.src_op(fid, inst, o, ScalarType::B64)?),
            });
        }
        let mut rets = Vec::new();
        for r in &rets_o {
            rets.push(match r {
                Operand::Symbol(s, add)
                | Operand::Addr(ir::Address {
                    base: ir::AddrBase::Symbol(s),
                    offset: add,
                }) => {
                    let v = self.sym(fid, *s, *add, inst.loc)?;
                    if v.base != sr::FRAME {
                        return Err(self.err(fid, inst, "return destination"));
                    }
                    RetDst::Frame(v.off as u32, self.sym_size(fid, *s))
                }
                Operand::Reg(r) => RetDst::Reg(self.reg(fid, *r)),
                Operand::Sink => RetDst::Discard,
                _ => return Err(self.err(fid, inst, "return destination")),
            });
        }
        let frame = self.funcs[fid as usize].frame;
        self.emit(
            Op::Call {
                target,
                args: args.into_boxed_slice(),
                rets: rets.into_boxed_slice(),
                frame,
            },
            fid,
            inst.loc,
        );
        Ok(())
    }

    /// The registers of a fragment operand (`{%r1, …}`): `count` of them, destinations or
    /// sources holding elements of `ty`.
    fn fragment(
        &mut self,
        fid: u32,
        inst: &ir::Instruction,
        o: Option<&Operand>,
        count: usize,
        ty: MmaType,
        dest: bool,
    ) -> Result<Vec<Slot>, Error> {
        let list = match o {
            Some(Operand::Vector(v)) => v.clone(),
            Some(o) => vec![o.clone()],
            None => Vec::new(),
        };
        if list.len() != count {
            return Err(self.err(
                fid,
                inst,
                "fragment registers (their number for this shape and type)",
            ));
        }
        list.iter()
            .map(|o| {
                if dest {
                    self.dst(fid, inst, o).map(|d| d.0)
                } else {
                    self.src_op(fid, inst, o, ty.register())
                }
            })
            .collect()
    }

    fn lower_mma(&mut self, fid: u32, inst: &ir::Instruction) -> Result<(), Error> {
        use ir::Modifier as M;
        let hint = |h: &str| inst.mods.iter().any(|m| matches!(m, M::Hint(x) if x == h));
        let f = &self.m.functions[fid as usize];
        let shape = [
            ("m16n8k4", MmaShape::M16N8K4),
            ("m16n8k8", MmaShape::M16N8K8),
            ("m16n8k16", MmaShape::M16N8K16),
            ("m16n8k32", MmaShape::M16N8K32),
            ("m8n8k4", MmaShape::M8N8K4),
        ]
        .into_iter()
        .find(|(h, _)| hint(h))
        .map(|(_, s)| s);
        let types: Vec<Option<MmaType>> = inst.types.iter().map(MmaType::of).collect();
        use MmaShape::*;
        use MmaType::*;
        let supported = match (shape, types.as_slice()) {
            (Some(sh), &[Some(d), Some(a), Some(b), Some(c)]) => {
                let ok = matches!(
                    (sh, a, b, d, c),
                    (M16N8K16 | M16N8K8, F16, F16, F32 | F16, F32 | F16)
                        | (M16N8K16 | M16N8K8, Bf16, Bf16, F32, F32)
                        | (M16N8K8 | M16N8K4, Tf32, Tf32, F32, F32)
                        | (M16N8K32 | M16N8K16, S8 | U8, S8 | U8, S32, S32)
                        | (M8N8K4, F64, F64, F64, F64)
                );
                ok.then_some((sh, a, b, c, d))
            }
            _ => None,
        };
        let Some((shape, a_ty, b_ty, c_ty, d_ty)) =
            supported.filter(|_| hint("row") && hint("col"))
        else {
            return Err(unsupported(
                "`mma` of this shape, layout or element types: the executor runs \
                 .m16n8k{4,8,16,32} and .m8n8k4 (f64), .row.col, with f16, bf16, tf32, f64 \
                 and s8/u8 operands"
                    .to_string(),
                inst.loc,
                &f.name,
            ));
        };
        let (na, nb, nc, nd) = crate::exec::mma_register_counts(shape, a_ty, c_ty, d_ty);
        let ops = &inst.operands;
        let d = self.fragment(fid, inst, ops.first(), nd, d_ty, true)?;
        let a = self.fragment(fid, inst, ops.get(1), na, a_ty, false)?;
        let b = self.fragment(fid, inst, ops.get(2), nb, b_ty, false)?;
        let c = self.fragment(fid, inst, ops.get(3), nc, c_ty, false)?;
        self.emit(
            Op::Mma(Box::new(MmaOp {
                shape,
                a_ty,
                b_ty,
                c_ty,
                d_ty,
                satfinite: hint("satfinite"),
                d,
                a,
                b,
                c,
            })),
            fid,
            inst.loc,
        );
        Ok(())
    }

    fn lower_wmma(&mut self, fid: u32, inst: &ir::Instruction) -> Result<(), Error> {
        use ir::Modifier as M;
        use MmaType::*;
        let hint = |h: &str| inst.mods.iter().any(|m| matches!(m, M::Hint(x) if x == h));
        let f = &self.m.functions[fid as usize];
        let refuse = || {
            unsupported(
                "`wmma` of this shape or element type: the executor runs .m16n16k16, \
                 .m32n8k16, .m8n32k16 (f16, bf16, s8, u8), .m16n16k8 (tf32) and .m8n8k4 (f64)"
                    .to_string(),
                inst.loc,
                &f.name,
            )
        };
        let (m, n, k) = match ["m16n16k16", "m32n8k16", "m8n32k16", "m16n16k8", "m8n8k4"]
            .into_iter()
            .find(|h| hint(h))
        {
            Some("m16n16k16") => (16, 16, 16),
            Some("m32n8k16") => (32, 8, 16),
            Some("m8n32k16") => (8, 32, 16),
            Some("m16n16k8") => (16, 16, 8),
            Some(_) => (8, 8, 4),
            None => return Err(refuse()),
        };
        let types: Vec<MmaType> = inst.types.iter().filter_map(MmaType::of).collect();
        if types.len() != inst.types.len() {
            return Err(refuse());
        }
        let frag = |which: u8, t: MmaType| {
            let (rows, cols) = match which {
                b'a' => (m, k),
                b'b' => (k, n),
                _ => (m, n),
            };
            WmmaFrag {
                ty: t,
                rows,
                cols,
                regs: crate::exec::wmma_registers(t, rows, cols, which),
            }
        };
        let valid_inputs = |a: MmaType| match (m, n, k) {
            (16, 16, 8) => a == Tf32,
            (8, 8, 4) => a == F64,
            _ => matches!(a, F16 | Bf16 | S8 | U8),
        };
        let ops = &inst.operands;
        if hint("mma") {
            let (d, a, b, c) = match *types.as_slice() {
                [d, c] => (d, F16, F16, c),
                [d, a, b, c] => (d, a, b, c),
                _ => return Err(refuse()),
            };
            let int = matches!(a, S8 | U8);
            let accumulators_ok = if int {
                matches!(b, S8 | U8) && d == S32 && c == S32
            } else if a == F64 {
                b == F64 && d == F64 && c == F64
            } else {
                a == b && (matches!((d, c), (F32 | F16, F32 | F16)) && (a == F16 || d == F32))
            };
            if !valid_inputs(a) || !accumulators_ok {
                return Err(refuse());
            }
            let (fa, fb, fc, fd) = (frag(b'a', a), frag(b'b', b), frag(b'c', c), frag(b'c', d));
            let rd = self.fragment(fid, inst, ops.first(), fd.regs, d, true)?;
            let ra = self.fragment(fid, inst, ops.get(1), fa.regs, a, false)?;
            let rb = self.fragment(fid, inst, ops.get(2), fb.regs, b, false)?;
            let rc = self.fragment(fid, inst, ops.get(3), fc.regs, c, false)?;
            self.emit(
                Op::Wmma(Box::new(WmmaOp {
                    a: fa,
                    b: fb,
                    c: fc,
                    d: fd,
                    satfinite: hint("satfinite"),
                    ra,
                    rb,
                    rc,
                    rd,
                })),
                fid,
                inst.loc,
            );
            return Ok(());
        }
        let (load, which) = if hint("load") {
            let w = [("a", b'a'), ("b", b'b'), ("c", b'c')]
                .into_iter()
                .find(|(h, _)| hint(h));
            (true, w.map(|x| x.1))
        } else if hint("store") && hint("d") {
            (false, Some(b'c'))
        } else {
            (false, None)
        };
        let (Some(which), &[t]) = (which, types.as_slice()) else {
            return Err(refuse());
        };
        let ok = match which {
            b'c' => matches!(t, F16 | F32 | S32) || (t == F64 && (m, n, k) == (8, 8, 4)),
            _ => valid_inputs(t),
        };
        if !ok {
            return Err(refuse());
        }
        let fr = frag(which, t);
        let (regs_at, addr_at) = if load { (0, 1) } else { (1, 0) };
        let (addr, off, sym) = self.addr(fid, inst, addr_at)?;
        let space = self.mem_space(fid, inst, sym)?;
        let regs = self.fragment(fid, inst, ops.get(regs_at), fr.regs, t, load)?;
        let stride = match ops.get(2) {
            Some(o) => self.src_op(fid, inst, o, ScalarType::U32)?,
            None => NONE,
        };
        let mem = Box::new(WmmaMemOp {
            frag: fr,
            row_major: hint("row"),
            space,
            regs,
            addr,
            off,
            stride,
        });
        self.emit(
            if load {
                Op::WmmaLoad(mem)
            } else {
                Op::WmmaStore(mem)
            },
            fid,
            inst.loc,
        );
        Ok(())
    }

    fn sym_size(&self, fid: u32, s: ir::SymbolRef) -> u32 {
        let f = &self.m.functions[fid as usize];
        match s {
            ir::SymbolRef::Local(i) => f.locals.get(i).map(|v| v.size as u32).unwrap_or(0),
            ir::SymbolRef::Param(i) => f.params.get(i).map(|p| p.size).unwrap_or(0),
            ir::SymbolRef::Return(i) => f.returns.get(i).map(|p| p.size).unwrap_or(0),
            _ => 8,
        }
    }

    fn lower_bar(&mut self, fid: u32, inst: &ir::Instruction) -> Result<(), Error> {
        use ir::Modifier as M;
        let ops = &inst.operands;
        let red = inst.has(M::Red);
        let kind = if red {
            match inst.mods.iter().find_map(|m| match m {
                M::Atom(ir::AtomOp::Popc) => Some(BarKind::RedPopc),
                M::Bool(ir::BoolOp::And) | M::Atom(ir::AtomOp::And) => Some(BarKind::RedAnd),
                M::Bool(ir::BoolOp::Or) | M::Atom(ir::AtomOp::Or) => Some(BarKind::RedOr),
                _ => None,
            }) {
                Some(k) => k,
                None => return Err(self.err(fid, inst, "barrier reduction")),
            }
        } else if inst.has(M::Arrive) {
            BarKind::Arrive
        } else {
            BarKind::Sync
        };
        let (d, rest) = if red {
            (
                self.dst(
                    fid,
                    inst,
                    ops.first().ok_or_else(|| self.err(fid, inst, "operands"))?,
                )?
                .0,
                &ops[1..],
            )
        } else {
            (NONE, &ops[..])
        };
        let id = match rest.first() {
            Some(o) => self.src_op(fid, inst, o, ScalarType::U32)?,
            None => sr::ZERO,
        };
        let (count, src, neg) = if red {
            let (count, p) = match rest.len() {
                3 => (Some(&rest[1]), &rest[2]),
                2 => (None, &rest[1]),
                _ => return Err(self.err(fid, inst, "operands")),
            };
            let count = match count {
                Some(o) => self.src_op(fid, inst, o, ScalarType::U32)?,
                None => NONE,
            };
            let (src, neg) = match p {
                Operand::NotReg(r) => (self.reg(fid, *r), true),
                o => (self.src_op(fid, inst, o, ScalarType::Pred)?, false),
            };
            (count, src, neg)
        } else {
            let count = match rest.get(1) {
                Some(o) => self.src_op(fid, inst, o, ScalarType::U32)?,
                None => NONE,
            };
            (count, NONE, false)
        };
        if kind == BarKind::Arrive && count == NONE {
            return Err(self.err(fid, inst, "thread count"));
        }
        self.emit(
            Op::Bar {
                kind,
                id,
                count,
                d,
                src,
                neg,
            },
            fid,
            inst.loc,
        );
        Ok(())
    }

    /// Hot ALU forms executed inline; `false` when `inst` is not one of them.
    fn fast_alu(&mut self, fid: u32, inst: &ir::Instruction) -> Result<bool, Error> {
        use ir::Modifier as M;
        use ScalarType::*;
        let Some(ty) = inst.ty() else {
            return Ok(false);
        };
        let ops = &inst.operands;
        let only = |allowed: &[M]| inst.mods.iter().all(|m| allowed.contains(m));
        let i32t = matches!(ty, U32 | S32 | B32);
        let i64t = matches!(ty, U64 | S64 | B64);
        let rn = [M::Round(ir::Rounding::Rn)];
        let bin = match inst.opcode {
            Opcode::Add if only(&[]) && i32t => Some(BinK::Add32),
            Opcode::Add if only(&[]) && i64t => Some(BinK::Add64),
            Opcode::Sub if only(&[]) && i32t => Some(BinK::Sub32),
            Opcode::Sub if only(&[]) && i64t => Some(BinK::Sub64),
            Opcode::Add if only(&rn) && ty == F32 => Some(BinK::FAdd32),
            Opcode::Sub if only(&rn) && ty == F32 => Some(BinK::FSub32),
            Opcode::Mul if only(&rn) && ty == F32 => Some(BinK::FMul32),
            Opcode::Add if only(&rn) && ty == F64 => Some(BinK::FAdd64),
            Opcode::Sub if only(&rn) && ty == F64 => Some(BinK::FSub64),
            Opcode::Mul if only(&rn) && ty == F64 => Some(BinK::FMul64),
            Opcode::Mul if only(&[M::Lo]) && i32t => Some(BinK::MulLo32),
            Opcode::Mul if only(&[M::Lo]) && i64t => Some(BinK::MulLo64),
            Opcode::Mul if only(&[M::Wide]) && ty == U32 => Some(BinK::MulWideU32),
            Opcode::Mul if only(&[M::Wide]) && ty == S32 => Some(BinK::MulWideS32),
            Opcode::And if only(&[]) && (i32t || i64t || ty == Pred) => Some(BinK::And),
            Opcode::Or if only(&[]) && (i32t || i64t || ty == Pred) => Some(BinK::Or),
            Opcode::Xor if only(&[]) && (i32t || i64t || ty == Pred) => Some(BinK::Xor),
            Opcode::Shl if only(&[]) && i32t => Some(BinK::Shl32),
            Opcode::Shl if only(&[]) && i64t => Some(BinK::Shl64),
            Opcode::Shr if only(&[]) && matches!(ty, U32 | B32) => Some(BinK::ShrU32),
            Opcode::Shr if only(&[]) && ty == S32 => Some(BinK::ShrS32),
            Opcode::Shr if only(&[]) && matches!(ty, U64 | B64) => Some(BinK::ShrU64),
            Opcode::Shr if only(&[]) && ty == S64 => Some(BinK::ShrS64),
            Opcode::Min if only(&[]) && ty == S32 => Some(BinK::MinS32),
            Opcode::Max if only(&[]) && ty == S32 => Some(BinK::MaxS32),
            Opcode::Min if only(&[]) && ty == U32 => Some(BinK::MinU32),
            Opcode::Max if only(&[]) && ty == U32 => Some(BinK::MaxU32),
            _ => None,
        };
        if let Some(k) = bin {
            if ops.len() != 3 {
                return Ok(false);
            }
            let (d, wm) = self.dst(fid, inst, &ops[0])?;
            let a = self.src(fid, inst, 1)?;
            let b = self.src(fid, inst, 2)?;
            self.emit(Op::Bin { k, d, a, b, wm }, fid, inst.loc);
            return Ok(true);
        }
        if inst.opcode == Opcode::Not && only(&[]) && ops.len() == 2 && (i32t || i64t || ty == Pred)
        {
            let (d, wm) = self.dst(fid, inst, &ops[0])?;
            let a = self.src(fid, inst, 1)?;
            self.emit(
                Op::Bin {
                    k: BinK::Not,
                    d,
                    a,
                    b: sr::ZERO,
                    wm,
                },
                fid,
                inst.loc,
            );
            return Ok(true);
        }
        let rn_only = inst.mods.len() == 1 && only(&rn);
        if inst.opcode == Opcode::Cvt
            && inst.types.len() == 2
            && (inst.mods.is_empty() || rn_only)
            && ops.len() == 2
        {
            let k = match (inst.types[0], inst.types[1], rn_only) {
                (U64, U32, false) | (S64, U32, false) => BinK::Zext32,
                (S64, S32, false) => BinK::Sext32,
                // Narrowing integers: the low 32 bits.
                (U32 | S32 | B32, U64 | S64 | B64, false) => BinK::Zext32,
                (F32, S32, true) => BinK::CvtF32S32,
                (F32, U32, true) => BinK::CvtF32U32,
                _ => return Ok(false),
            };
            let (d, wm) = self.dst(fid, inst, &ops[0])?;
            let a = self.src(fid, inst, 1)?;
            self.emit(
                Op::Bin {
                    k,
                    d,
                    a,
                    b: sr::ZERO,
                    wm,
                },
                fid,
                inst.loc,
            );
            return Ok(true);
        }
        let tri = match inst.opcode {
            Opcode::Mad if only(&[M::Lo]) && i32t => Some(TriK::MadLo32),
            Opcode::Mad if only(&[M::Lo]) && i64t => Some(TriK::MadLo64),
            Opcode::Mad if only(&[M::Wide]) && ty == U32 => Some(TriK::MadWideU32),
            Opcode::Mad if only(&[M::Wide]) && ty == S32 => Some(TriK::MadWideS32),
            Opcode::Fma | Opcode::Mad if only(&rn) && inst.has(rn[0].clone()) && ty == F32 => {
                Some(TriK::Fma32)
            }
            Opcode::Fma | Opcode::Mad if only(&rn) && inst.has(rn[0].clone()) && ty == F64 => {
                Some(TriK::Fma64)
            }
            Opcode::Selp if only(&[]) => Some(TriK::Selp),
            _ => None,
        };
        if let Some(k) = tri {
            if ops.len() != 4 {
                return Ok(false);
            }
            let (d, wm) = self.dst(fid, inst, &ops[0])?;
            let a = self.src(fid, inst, 1)?;
            let b = self.src(fid, inst, 2)?;
            let c = self.src(fid, inst, 3)?;
            self.emit(Op::Tri { k, d, a, b, c, wm }, fid, inst.loc);
            return Ok(true);
        }
        if inst.opcode == Opcode::Setp
            && ops.len() == 3
            && matches!(ops[0], Operand::Reg(_))
            && ty == F32
            && inst.mods.len() == 1
        {
            if let Some(c) = inst.cmp() {
                if !matches!(
                    c,
                    ir::CmpOp::Lo | ir::CmpOp::Ls | ir::CmpOp::Hi | ir::CmpOp::Hs
                ) {
                    let (d, _) = self.dst(fid, inst, &ops[0])?;
                    let a = self.src(fid, inst, 1)?;
                    let b = self.src(fid, inst, 2)?;
                    self.emit(
                        Op::Bin {
                            k: BinK::FSetp32(c),
                            d,
                            a,
                            b,
                            wm: 1,
                        },
                        fid,
                        inst.loc,
                    );
                    return Ok(true);
                }
            }
        }
        if inst.opcode == Opcode::Setp
            && ops.len() == 3
            && matches!(ops[0], Operand::Reg(_))
            && (i32t || i64t)
        {
            let Some(c) = inst.cmp() else {
                return Ok(false);
            };
            if inst.mods.len() != 1 {
                return Ok(false);
            }
            let signed = ty.is_signed();
            let cmp = match (c, signed) {
                (ir::CmpOp::Eq, _) => ICmp::Eq,
                (ir::CmpOp::Ne, _) => ICmp::Ne,
                (ir::CmpOp::Lt, _) | (ir::CmpOp::Lo, false) => ICmp::Lt,
                (ir::CmpOp::Le, _) | (ir::CmpOp::Ls, false) => ICmp::Le,
                (ir::CmpOp::Gt, _) | (ir::CmpOp::Hi, false) => ICmp::Gt,
                (ir::CmpOp::Ge, _) | (ir::CmpOp::Hs, false) => ICmp::Ge,
                _ => return Ok(false),
            };
            let (d, _) = self.dst(fid, inst, &ops[0])?;
            let a = self.src(fid, inst, 1)?;
            let b = self.src(fid, inst, 2)?;
            self.emit(
                Op::SetpI {
                    d,
                    a,
                    b,
                    cmp,
                    w64: i64t,
                    signed,
                },
                fid,
                inst.loc,
            );
            return Ok(true);
        }
        Ok(false)
    }

    fn lower_alu(&mut self, fid: u32, inst: &ir::Instruction, alu: Alu) -> Result<(), Error> {
        let ops = &inst.operands;
        let loc = inst.loc;
        match alu {
            Alu::Cmp(f) => {
                let ((p, pwm), (q, qwm)) = self.dst_pair(fid, inst)?;
                let a = self.src(fid, inst, 1)?;
                let b = self.src(fid, inst, 2)?;
                let c = if ops.len() > 3 {
                    self.src(fid, inst, 3)?
                } else {
                    sr::ONE
                };
                self.emit(
                    Op::AluCmp {
                        p,
                        pwm,
                        q,
                        qwm,
                        a,
                        b,
                        c,
                        f,
                    },
                    fid,
                    loc,
                );
            }
            Alu::Carry(f) => {
                let (d, wm) = self.dst(fid, inst, &ops[0])?;
                let a = self.src(fid, inst, 1)?;
                let b = self.src(fid, inst, 2)?;
                let c = if ops.len() > 3 {
                    self.src(fid, inst, 3)?
                } else {
                    sr::ZERO
                };
                let write_cc = inst.has(ir::Modifier::Cc);
                self.emit(
                    Op::AluCarry {
                        d,
                        wm,
                        a,
                        b,
                        c,
                        write_cc,
                        f,
                    },
                    fid,
                    loc,
                );
            }
            alu => {
                let (d, wm) = self.dst(fid, inst, &ops[0])?;
                let mut s = [sr::ZERO; 4];
                let n = ops.len() - 1;
                for (i, slot) in s.iter_mut().enumerate().take(n.min(4)) {
                    *slot = self.src(fid, inst, i + 1)?;
                }
                let op = match alu {
                    Alu::F1(f) if n == 1 => Op::Alu1 { d, wm, a: s[0], f },
                    Alu::F2(f) if n == 2 => Op::Alu2 {
                        d,
                        wm,
                        a: s[0],
                        b: s[1],
                        f,
                    },
                    Alu::F3(f) if n == 3 => Op::Alu3 {
                        d,
                        wm,
                        a: s[0],
                        b: s[1],
                        c: s[2],
                        f,
                    },
                    Alu::F4(f) if n == 4 => Op::Alu4 { d, wm, s, f },
                    _ => return Err(self.err(fid, inst, "operand count")),
                };
                self.emit(op, fid, loc);
            }
        }
        Ok(())
    }
}

/// Lays out a function's local frame: `.local` and call-site `.param` variables, then (for a
/// `.func`) its parameters and return values. Returns (local offsets, params, rets, size).
#[allow(clippy::type_complexity)]
fn frame_layout(f: &ir::Function) -> (Vec<Option<u32>>, Vec<(u32, u32)>, Vec<(u32, u32)>, u32) {
    let mut off = 0u64;
    let mut locals = Vec::with_capacity(f.locals.len());
    for v in &f.locals {
        if matches!(v.space, StateSpace::Local | StateSpace::Param) {
            off = align_up(off, v.align.max(1) as u64);
            locals.push(Some(off as u32));
            off += v.size.max(1);
        } else {
            locals.push(None);
        }
    }
    let mut params = Vec::new();
    let mut rets = Vec::new();
    if f.kind == ir::FunctionKind::Func {
        for p in &f.params {
            off = align_up(off, p.align.max(1) as u64);
            params.push((off as u32, p.size));
            off += p.size.max(1) as u64;
        }
        for p in &f.returns {
            off = align_up(off, p.align.max(1) as u64);
            rets.push((off as u32, p.size));
            off += p.size.max(1) as u64;
        }
    }
    (locals, params, rets, align_up(off, 16) as u32)
}

/// Shared-memory layout: module-scope `.shared` variables first (all kernels see the same
/// offsets), then function-scope ones of `.func`s, then each kernel's own (kernels overlap, as
/// only one kernel runs in a block).
pub(crate) fn shared_layout(m: &ir::Module) -> (Vec<Option<u64>>, Vec<Vec<Option<u64>>>, Vec<u64>) {
    let mut off = 0u64;
    let mut globals = vec![None; m.globals.len()];
    for (i, g) in m.globals.iter().enumerate() {
        if matches!(g.space, StateSpace::Shared | StateSpace::SharedCluster) && g.count != 0 {
            off = align_up(off, g.align.max(1) as u64);
            globals[i] = Some(off);
            off += g.size;
        }
    }
    let mut func_shared = vec![Vec::new(); m.functions.len()];
    let place = |f: &ir::Function, off: &mut u64| -> Vec<Option<u64>> {
        f.locals
            .iter()
            .map(|v| {
                if matches!(v.space, StateSpace::Shared | StateSpace::SharedCluster) && v.count != 0
                {
                    *off = align_up(*off, v.align.max(1) as u64);
                    let o = *off;
                    *off += v.size;
                    Some(o)
                } else {
                    None
                }
            })
            .collect()
    };
    for (i, f) in m.functions.iter().enumerate() {
        if f.kind == ir::FunctionKind::Func {
            func_shared[i] = place(f, &mut off);
        }
    }
    let common = off;
    let mut ends = vec![common; m.functions.len()];
    for (i, f) in m.functions.iter().enumerate() {
        if f.kind == ir::FunctionKind::Entry {
            let mut o = common;
            func_shared[i] = place(f, &mut o);
            ends[i] = o;
        }
    }
    (globals, func_shared, ends)
}

/// Lowers every function of `m` into one program.
/// Moves a kernel's block-invariant computations to its start and returns how many there are.
///
/// A value is block-invariant when it is the same in every block for a given thread index:
/// immediates, kernel parameters, `%tid`, `%ntid`, `%nctaid`, `%laneid`, `%warpid`, lane masks
/// and pure arithmetic on those. A warp keeps its registers from block to block, so such an
/// instruction need only run in the first block a warp runs. Moved are unguarded pure
/// instructions (and in-bounds loads of kernel parameters) whose operands are block-invariant
/// and whose destinations have no other definition in the kernel; they keep their order of
/// discovery, so each follows the ones it reads. Branch targets are remapped: a branch to a
/// moved instruction goes to the instruction after it, since its effect has already happened.
fn hoist_block_invariants(
    insts: &mut Vec<Inst>,
    locs: &mut Vec<SourceLoc>,
    start: u32,
    end: u32,
    consts: &[(Slot, u64)],
    param_bytes: u64,
) -> u32 {
    let (start, end) = (start as usize, end as usize);
    if end <= start {
        return 0;
    }
    let mut defs: HashMap<Slot, u32> = HashMap::new();
    for inst in &insts[start..end] {
        for d in inst.op.written_slots() {
            *defs.entry(d).or_default() += 1;
        }
    }
    let mut invariant: std::collections::HashSet<Slot> = consts.iter().map(|c| c.0).collect();
    invariant.extend([sr::ZERO, sr::ONE, sr::LANEID, sr::WARPID, sr::NWARPID]);
    invariant.extend([sr::SMID, sr::NSMID, sr::GRIDID]);
    invariant.extend([sr::LM_EQ, sr::LM_LE, sr::LM_LT, sr::LM_GE, sr::LM_GT]);
    invariant.extend([sr::DYN_SMEM, sr::TOTAL_SMEM, sr::DYN_BASE]);
    for d in 0..3 {
        invariant.extend([sr::TID + d, sr::NTID + d, sr::NCTAID + d]);
    }
    let mut order: Vec<usize> = Vec::new();
    let mut moved = vec![false; end - start];
    loop {
        let before = order.len();
        for i in start..end {
            if moved[i - start] || insts[i].guard != NONE {
                continue;
            }
            let (reads, writes) = match &insts[i].op {
                Op::Ld {
                    space: Space::KParam,
                    ds,
                    n,
                    bytes,
                    addr,
                    off,
                    ..
                } if *addr == sr::ZERO
                    && *off >= 0
                    && (*off as u64) + (*n as u64) * (*bytes as u64) <= param_bytes
                    && (*off as u64) % (*bytes as u64).max(1) == 0 =>
                {
                    (
                        Vec::new(),
                        ds[..*n as usize]
                            .iter()
                            .copied()
                            .filter(|&s| s != NONE)
                            .collect(),
                    )
                }
                op => match op.pure_slots() {
                    Some(rw) => rw,
                    None => continue,
                },
            };
            let ok = !writes.is_empty()
                && reads.iter().all(|s| invariant.contains(s))
                && writes
                    .iter()
                    .all(|d| defs.get(d) == Some(&1) && *d >= sr::FIXED);
            if ok {
                moved[i - start] = true;
                order.push(i);
                invariant.extend(writes);
            }
        }
        if order.len() == before {
            break;
        }
    }
    if order.is_empty() {
        return 0;
    }
    // The new layout: moved instructions first (in discovery order), then the rest in order.
    let rest: Vec<usize> = (start..end).filter(|&i| !moved[i - start]).collect();
    let layout: Vec<usize> = order.iter().copied().chain(rest.iter().copied()).collect();
    // Where each old position (and the end) now lives: kept instructions follow the moved
    // ones in order, and a moved one maps to the next kept instruction.
    let mut new_pos = Vec::with_capacity(end - start + 1);
    let mut kept = 0;
    for &m in &moved {
        new_pos.push((start + order.len() + kept) as u32);
        kept += usize::from(!m);
    }
    new_pos.push(end as u32);
    let map = |t: u32| -> u32 {
        let t = t as usize;
        if (start..=end).contains(&t) {
            new_pos[t - start]
        } else {
            t as u32
        }
    };
    let mut taken: Vec<Option<Inst>> = insts.drain(start..end).map(Some).collect();
    let taken_locs: Vec<SourceLoc> = locs.drain(start..end).collect();
    let mut new_insts = Vec::with_capacity(layout.len());
    let mut new_locs = Vec::with_capacity(layout.len());
    for &old in &layout {
        if let Some(mut inst) = taken[old - start].take() {
            match &mut inst.op {
                Op::Bra { target } => *target = map(*target),
                Op::Brx { targets, .. } => {
                    for t in targets.iter_mut() {
                        *t = map(*t);
                    }
                }
                _ => {}
            }
            new_insts.push(inst);
            new_locs.push(taken_locs[old - start]);
        }
    }
    insts.splice(start..start, new_insts);
    locs.splice(start..start, new_locs);
    order.len() as u32
}

/// The functions whose address a module takes anywhere (in code or in a variable's
/// initializer): what an indirect call may reach.
fn address_taken(m: &ir::Module) -> Vec<bool> {
    fn mark(o: &Operand, taken: &mut [bool]) {
        match o {
            Operand::Symbol(ir::SymbolRef::Function(g), _)
            | Operand::Addr(ir::Address {
                base: ir::AddrBase::Symbol(ir::SymbolRef::Function(g)),
                ..
            }) => {
                if let Some(t) = taken.get_mut(*g) {
                    *t = true;
                }
            }
            Operand::Vector(v) | Operand::List(v) => v.iter().for_each(|o| mark(o, taken)),
            _ => {}
        }
    }
    let mut taken = vec![false; m.functions.len()];
    for f in &m.functions {
        for inst in f.body.iter().flatten() {
            inst.operands.iter().for_each(|o| mark(o, &mut taken));
        }
    }
    for g in &m.globals {
        for r in &g.relocations {
            if let ir::SymbolRef::Function(f) = r.target {
                if let Some(t) = taken.get_mut(f) {
                    *t = true;
                }
            }
        }
    }
    taken
}

/// Lowers the functions `roots` can reach (by direct calls, by the target lists of listed
/// calls, and, once a reached function calls through a plain pointer, every function whose
/// address the module takes) into one program.
///
/// Each kernel gets a program of its own: a warp's register file then holds the slots of that
/// kernel and its callees only, not those of every function in the module (a module of many
/// kernels would otherwise cost every warp of every launch the registers of all of them).
pub(crate) fn lower_program(
    m: &ir::Module,
    layout: &Layout,
    roots: &[u32],
) -> Result<Program, Error> {
    let nf = m.functions.len();
    let taken = &layout.functions.address_taken;
    let mut lw = Lowerer {
        m,
        layout,
        insts: Vec::new(),
        locs: Vec::new(),
        nslots: sr::FIXED,
        consts: HashMap::new(),
        const_list: Vec::new(),
        funcs: layout.functions.infos.clone(),
        local_off: layout.functions.locals.clone(),
        fix: Vec::new(),
        starts: vec![Vec::new(); nf],
        call_lists: Vec::new(),
    };
    // In module order: PTX declares a function before its first use, so callees come before
    // their callers. Which lanes of a divergent warp run first follows program counters
    // (lowest first, see `exec`), so lanes inside a call finish it before lanes elsewhere in
    // the caller move on, as on the GPU.
    let lowered = layout.functions.reachable(roots);
    for (fid, f) in m.functions.iter().enumerate() {
        if !lowered[fid] {
            continue;
        }
        if let Some(r) = f.regs.iter().find(|r| r.vector.is_some()) {
            return Err(unsupported(
                format!("vector register `{}`", r.name),
                f.loc,
                &f.name,
            ));
        }
        let info = &mut lw.funcs[fid];
        info.reg_base = lw.nslots;
        info.has_body = f.body.is_some();
        lw.nslots += f.regs.len() as u32;
        lw.lower_function(fid as u32)?;
    }
    // Branch targets: IR instruction indices → op indices.
    for (at, fid, labels) in std::mem::take(&mut lw.fix) {
        let starts = &lw.starts[fid as usize];
        let map = |l: u32| -> Result<u32, Error> {
            starts.get(l as usize).copied().ok_or_else(|| {
                Error::InvalidModule(format!("branch to instruction {l} out of range"))
            })
        };
        match &mut lw.insts[at].op {
            Op::Bra { target } => *target = map(labels[0])?,
            Op::Brx { targets, .. } => {
                for (t, l) in targets.iter_mut().zip(labels) {
                    *t = map(l)?;
                }
            }
            _ => {}
        }
    }
    // Recursion: functions on a call-graph cycle (calls through a plain pointer may reach any
    // function whose address is taken; listed calls are edges to their lists) save their
    // registers across calls.
    let succ = |f: usize| -> Vec<usize> {
        if !lowered[f] {
            return Vec::new();
        }
        let (direct, pointer) = &layout.functions.callees[f];
        let mut v: Vec<usize> = direct.iter().map(|&c| c as usize).collect();
        if *pointer {
            v.extend((0..nf).filter(|&g| taken[g]));
        }
        v
    };
    let succs: Vec<Vec<usize>> = (0..nf).map(succ).collect();
    for f in (0..nf).filter(|&f| lowered[f]) {
        // f is recursive if f is reachable from its successors.
        let mut seen = vec![false; nf];
        let mut stack = succs[f].clone();
        while let Some(g) = stack.pop() {
            if g == f {
                lw.funcs[f].recursive = true;
                break;
            }
            if !seen[g] {
                seen[g] = true;
                stack.extend(succs[g].iter().copied());
            }
        }
    }
    // Deepest local stack of each kernel (non-recursive paths; recursion grows on demand).
    let mut depth_memo: Vec<Option<u32>> = vec![None; nf];
    fn deepest(
        f: usize,
        succs: &[Vec<usize>],
        funcs: &[FuncInfo],
        memo: &mut [Option<u32>],
        on: &mut Vec<bool>,
    ) -> u32 {
        if let Some(d) = memo[f] {
            return d;
        }
        if on[f] {
            return 0;
        }
        on[f] = true;
        let mut best = 0;
        for &g in &succs[f] {
            best = best.max(deepest(g, succs, funcs, memo, on));
        }
        on[f] = false;
        let d = funcs[f].frame + best;
        memo[f] = Some(d);
        d
    }
    for f in (0..nf).filter(|&f| lowered[f]) {
        let mut on = vec![false; nf];
        let d = deepest(f, &succs, &lw.funcs, &mut depth_memo, &mut on);
        lw.funcs[f].local_stack = d;
        lw.funcs[f].static_shared = layout.shared_end[f] as u32;
    }
    for f in 0..nf {
        if m.functions[f].kind == ir::FunctionKind::Entry && lw.funcs[f].has_body {
            let end = lw.starts[f].last().copied().unwrap_or(lw.funcs[f].entry);
            let psize = m.functions[f]
                .params
                .iter()
                .map(|p| p.offset as u64 + p.size as u64)
                .max()
                .unwrap_or(0);
            let n = hoist_block_invariants(
                &mut lw.insts,
                &mut lw.locs,
                lw.funcs[f].entry,
                end,
                &lw.const_list,
                psize,
            );
            lw.funcs[f].invariant_prologue = n;
        }
    }
    Ok(Program {
        insts: lw.insts,
        locs: lw.locs,
        nslots: lw.nslots,
        consts: lw.const_list,
        funcs: lw.funcs,
        const_ranges: layout.const_ranges.clone(),
        call_lists: lw.call_lists,
        func_names: m.functions.iter().map(|f| f.name.as_str().into()).collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn module(body: &str) -> ir::Module {
        ferrocuda_ptx::parse(&format!(
            ".version 8.0\n.target sm_90\n.address_size 64\n{body}"
        ))
        .unwrap()
    }

    fn lower(m: &ir::Module) -> Result<Program, Error> {
        let (globals, func_shared, shared_end) = shared_layout(m);
        let layout = Layout {
            globals,
            func_shared,
            shared_end,
            const_ranges: Vec::new(),
            functions: FunctionFacts::new(m),
        };
        let all: Vec<u32> = (0..m.functions.len() as u32).collect();
        lower_program(m, &layout, &all)
    }

    fn layout(m: &ir::Module) -> Layout {
        let (globals, func_shared, shared_end) = shared_layout(m);
        Layout {
            globals,
            func_shared,
            shared_end,
            const_ranges: Vec::new(),
            functions: FunctionFacts::new(m),
        }
    }

    #[test]
    fn a_kernel_program_holds_the_registers_of_its_own_call_graph_only() {
        let m = module(
            ".func (.param .b32 r) inc(.param .b32 x)\n{\n .reg .b32 %v<3>;\n \
             ld.param.b32 %v1, [x];\n add.s32 %v2, %v1, 1;\n st.param.b32 [r], %v2;\n ret;\n}\n\
             .func (.param .b32 r) neg(.param .b32 x)\n{\n .reg .b32 %v<3>;\n \
             ld.param.b32 %v1, [x];\n neg.s32 %v2, %v1;\n st.param.b32 [r], %v2;\n ret;\n}\n\
             .visible .entry big()\n{\n .reg .b32 %r<900>;\n mov.u32 %r1, 5;\n ret;\n}\n\
             .visible .entry small(.param .u32 n)\n{\n .reg .b32 %r<4>;\n ld.param.u32 %r1, [n];\n \
             { .param .b32 a;\n .param .b32 b;\n st.param.b32 [a], %r1;\n \
             call (b), inc, (a);\n ld.param.b32 %r2, [b];\n }\n ret;\n}\n\
             .visible .entry ptr(.param .u32 n)\n{\n .reg .b32 %r<4>;\n .reg .b64 %rd<2>;\n \
             ld.param.u32 %r1, [n];\n mov.u64 %rd1, neg;\n \
             proto: .callprototype (.param .b32 _) _ (.param .b32 _);\n \
             { .param .b32 a;\n .param .b32 b;\n st.param.b32 [a], %r1;\n \
             call (b), %rd1, (a), proto;\n ld.param.b32 %r2, [b];\n }\n ret;\n}\n",
        );
        let find = |n: &str| m.functions.iter().position(|f| f.name == n).unwrap() as u32;
        let (inc, neg, big, small, ptr) = (
            find("inc"),
            find("neg"),
            find("big"),
            find("small"),
            find("ptr"),
        );
        let l = layout(&m);
        let p = lower_program(&m, &l, &[small]).unwrap();
        let lowered = |p: &Program| -> Vec<u32> {
            (0..p.funcs.len() as u32)
                .filter(|&f| p.funcs[f as usize].has_body)
                .collect()
        };
        let mut want = vec![inc, small];
        want.sort();
        assert_eq!(lowered(&p), want);
        // The 900 registers of `big` are not in `small`'s register file.
        assert!(p.nslots < sr::FIXED + 40, "{} slots", p.nslots);
        let p = lower_program(&m, &l, &[big]).unwrap();
        assert!(p.nslots >= sr::FIXED + 900);
        assert_eq!(lowered(&p), vec![big]);
        // A call through a plain pointer may reach every function whose address is taken.
        let p = lower_program(&m, &l, &[ptr]).unwrap();
        assert!(p.funcs[neg as usize].has_body);
        assert!(!p.funcs[inc as usize].has_body);
    }

    #[test]
    fn hot_instructions_take_fast_paths_and_immediates_become_slots() {
        let m = module(
            ".visible .entry k(.param .u32 n)\n{\n .reg .b32 %r<4>;\n .reg .f32 %f<3>;\n .reg .pred %p<2>;\n \
             ld.param.u32 %r1, [n];\n add.s32 %r2, %r1, 7;\n mad.lo.s32 %r3, %r2, %r1, 7;\n \
             fma.rn.f32 %f1, %f2, %f2, %f2;\n setp.lt.s32 %p1, %r3, %r1;\n @%p1 bra L;\n L:\n ret;\n}\n",
        );
        let p = lower(&m).unwrap();
        assert!(matches!(p.insts[1].op, Op::Bin { k: BinK::Add32, .. }));
        assert!(matches!(
            p.insts[2].op,
            Op::Tri {
                k: TriK::MadLo32,
                ..
            }
        ));
        // The comparison only reads the parameter and values made from it: it moves ahead of
        // the `fma`, whose operand is never defined, into the block-invariant prologue.
        assert!(matches!(
            p.insts[3].op,
            Op::SetpI {
                cmp: ICmp::Lt,
                signed: true,
                ..
            }
        ));
        assert_eq!(p.funcs[0].invariant_prologue, 4);
        assert!(matches!(p.insts[4].op, Op::Tri { k: TriK::Fma32, .. }));
        assert!(matches!(p.insts[5].op, Op::Bra { target: 6 }));
        assert_ne!(p.insts[5].guard, NONE);
        // One pseudo-register holds the immediate 7 for both uses.
        assert_eq!(p.consts.iter().filter(|c| c.1 == 7).count(), 1);
        assert!(matches!(
            p.insts[0].op,
            Op::Ld {
                space: Space::KParam,
                ..
            }
        ));
    }

    #[test]
    fn block_invariant_work_moves_to_the_kernel_start() {
        let m = module(
            ".visible .entry k(.param .u64 x, .param .u32 n)\n{\n .reg .b32 %r<8>;\n              .reg .b64 %rd<4>;\n .reg .pred %p<2>;\n              mov.u32 %r1, %ctaid.x;\n ld.param.u32 %r2, [n];\n mov.u32 %r3, %tid.x;\n              setp.ge.u32 %p1, %r1, %r2;\n @%p1 bra END;\n              L:\n shl.b32 %r4, %r3, 2;\n add.s32 %r5, %r5, %r4;\n              add.s32 %r6, %r1, %r3;\n setp.lt.u32 %p1, %r5, 64;\n @%p1 bra L;\n              ld.param.u64 %rd1, [x];\n              END:\n ret;\n}\n",
        );
        let p = lower(&m).unwrap();
        let f = &p.funcs[0];
        // Moved: the parameter loads, `%tid` and `tid << 2`. Kept: anything from `%ctaid`, the
        // twice-defined predicate, the accumulator that reads itself.
        assert_eq!(f.invariant_prologue, 4);
        let e = f.entry as usize;
        assert!(matches!(
            p.insts[e].op,
            Op::Ld {
                space: Space::KParam,
                ..
            }
        ));
        assert!(matches!(p.insts[e + 1].op, Op::Mov { .. }));
        assert!(matches!(p.insts[e + 2].op, Op::Bin { k: BinK::Shl32, .. }));
        assert!(matches!(
            p.insts[e + 3].op,
            Op::Ld {
                space: Space::KParam,
                ..
            }
        ));
        // Branches follow their targets: `bra END` to the `ret`, `bra L` to the first kept
        // instruction after the moved `shl` (the `add` that reads it).
        let ret = p
            .insts
            .iter()
            .position(|i| matches!(i.op, Op::Ret))
            .unwrap();
        let targets: Vec<u32> = p
            .insts
            .iter()
            .filter_map(|i| match i.op {
                Op::Bra { target } => Some(target),
                _ => None,
            })
            .collect();
        assert_eq!(targets.len(), 2);
        assert_eq!(targets[0], ret as u32);
        assert!(matches!(
            p.insts[targets[1] as usize].op,
            Op::Bin { k: BinK::Add32, .. }
        ));
        assert_eq!(p.locs.len(), p.insts.len());
    }

    #[test]
    fn frames_hold_locals_params_and_returns() {
        let m = module(
            ".func (.param .b64 r) f(.param .b32 a, .param .b8 s[12])\n{\n .local .align 8 .b8 d[20];\n \
             st.param.b64 [r], 0;\n ret;\n}\n",
        );
        let (locals, params, rets, size) = frame_layout(&m.functions[0]);
        assert_eq!(locals, [Some(0)]);
        assert_eq!(params, [(20, 4), (24, 12)]);
        assert_eq!(rets, [(40, 8)]);
        assert_eq!(size, 48);
    }

    #[test]
    fn kernels_share_module_shared_and_overlap_their_own() {
        let m = module(
            ".shared .align 4 .b8 common[8];\n.extern .shared .align 16 .b8 dyn[];\n\
             .visible .entry a()\n{\n .shared .align 4 .b8 x[100];\n ret;\n}\n\
             .visible .entry b()\n{\n .shared .align 8 .b8 y[4];\n ret;\n}\n",
        );
        let (globals, func_shared, ends) = shared_layout(&m);
        assert_eq!(globals, [Some(0), None]);
        assert_eq!(func_shared[0], [Some(8)]);
        assert_eq!(func_shared[1], [Some(8)]);
        assert_eq!(ends, [108, 12]);
    }

    #[test]
    fn recursion_is_detected_and_unsupported_opcodes_are_named() {
        let m = module(
            ".func f()\n{\n call.uni f, ();\n ret;\n}\n.func g()\n{\n ret;\n}\n\
             .visible .entry k()\n{\n call.uni f, ();\n call.uni g, ();\n ret;\n}\n",
        );
        let p = lower(&m).unwrap();
        assert!(p.funcs[0].recursive);
        assert!(!p.funcs[1].recursive);
        let m = module(".visible .entry k()\n{\n .reg .b32 %r<3>;\n stmatrix.sync.aligned.m8n8.x1.shared.b16 [%r2], {%r1};\n ret;\n}\n");
        match lower(&m) {
            Err(Error::Unsupported { what, at }) => {
                assert!(what.contains("stmatrix"), "{what}");
                assert_eq!(at.line, 7);
            }
            Err(e) => panic!("{e}"),
            Ok(_) => panic!("stmatrix lowered"),
        }
    }

    #[test]
    fn immediate_types_follow_operand_positions() {
        let m = module(
            ".visible .entry k()\n{\n .reg .b32 %r<3>;\n .reg .b64 %rd<3>;\n shl.b64 %rd1, %rd2, 3;\n \
             mad.wide.s32 %rd1, %r1, %r2, -1;\n ret;\n}\n",
        );
        let body = m.functions[0].body.as_ref().unwrap();
        assert_eq!(src_type(&body[0], 2), ScalarType::U32);
        assert_eq!(src_type(&body[1], 3), ScalarType::S64);
        assert_eq!(type_mask(ScalarType::U16), 0xffff);
        assert_eq!(type_mask(ScalarType::Pred), 1);
    }
}
