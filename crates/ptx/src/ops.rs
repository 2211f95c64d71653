//! The instruction tables: opcode names, suffix → [`Modifier`]/type mapping, and the operand
//! shape (count, kinds, register types) each opcode accepts.
//!
//! The rules follow the PTX ISA's operand type-checking section, relaxed the way `ptxas` is:
//! bit-size types match any type of the same size, signed and unsigned integers of one size
//! match each other, and `ld`/`st`/`cvt` data registers may be wider than the instruction type.

use crate::ir::*;

/// Maps an instruction's base name to its opcode; `None` for names PTX does not define.
pub(crate) fn opcode(name: &str) -> Option<Opcode> {
    use Opcode::*;
    Some(match name {
        "abs" => Abs,
        "activemask" => Activemask,
        "add" => Add,
        "addc" => Addc,
        "alloca" => Alloca,
        "and" => And,
        "atom" => Atom,
        "bar" => Bar,
        "barrier" => Barrier,
        "bfe" => Bfe,
        "bfi" => Bfi,
        "bfind" => Bfind,
        "bmsk" => Bmsk,
        "bra" => Bra,
        "brev" => Brev,
        "brkpt" => Brkpt,
        "brx" => Brx,
        "call" => Call,
        "clz" => Clz,
        "cnot" => Cnot,
        "copysign" => Copysign,
        "cos" => Cos,
        "cp" => CpAsync,
        "createpolicy" => Createpolicy,
        "cvt" => Cvt,
        "cvta" => Cvta,
        "discard" => Discard,
        "div" => Div,
        "dp2a" => Dp2a,
        "dp4a" => Dp4a,
        "elect" => Elect,
        "ex2" => Ex2,
        "exit" => Exit,
        "fence" => Fence,
        "fma" => Fma,
        "fns" => Fns,
        "getctarank" => Getctarank,
        "griddepcontrol" => Griddepcontrol,
        "isspacep" => Isspacep,
        "ld" => Ld,
        "ldmatrix" => Ldmatrix,
        "ldu" => Ldu,
        "lg2" => Lg2,
        "lop3" => Lop3,
        "mad" => Mad,
        "mad24" => Mad24,
        "madc" => Madc,
        "mapa" => Mapa,
        "match" => Match,
        "max" => Max,
        "mbarrier" => Mbarrier,
        "membar" => Membar,
        "min" => Min,
        "mma" => Mma,
        "mov" => Mov,
        "mul" => Mul,
        "mul24" => Mul24,
        "nanosleep" => Nanosleep,
        "neg" => Neg,
        "not" => Not,
        "or" => Or,
        "pmevent" => Pmevent,
        "popc" => Popc,
        "prefetch" => Prefetch,
        "prefetchu" => Prefetchu,
        "prmt" => Prmt,
        "rcp" => Rcp,
        "red" => Red,
        "redux" => Redux,
        "rem" => Rem,
        "ret" => Ret,
        "rsqrt" => Rsqrt,
        "sad" => Sad,
        "selp" => Selp,
        "set" => Set,
        "setmaxnreg" => Setmaxnreg,
        "setp" => Setp,
        "shf" => Shf,
        "shfl" => Shfl,
        "shl" => Shl,
        "shr" => Shr,
        "sin" => Sin,
        "slct" => Slct,
        "sqrt" => Sqrt,
        "st" => St,
        "stackrestore" => Stackrestore,
        "stacksave" => Stacksave,
        "stmatrix" => Stmatrix,
        "sub" => Sub,
        "subc" => Subc,
        "suld" => Suld,
        "sust" => Sust,
        "szext" => Szext,
        "tanh" => Tanh,
        "testp" => Testp,
        "tex" => Tex,
        "tld4" => Tld4,
        "trap" => Trap,
        "txq" => Txq,
        "vote" => Vote,
        "wgmma" => Wgmma,
        "wmma" => Wmma,
        "xor" => Xor,
        // Valid PTX the IR does not model.
        "vadd"
        | "vsub"
        | "vabsdiff"
        | "vmin"
        | "vmax"
        | "vshl"
        | "vshr"
        | "vmad"
        | "vset"
        | "vadd2"
        | "vsub2"
        | "vavrg2"
        | "vabsdiff2"
        | "vmin2"
        | "vmax2"
        | "vset2"
        | "vadd4"
        | "vsub4"
        | "vavrg4"
        | "vabsdiff4"
        | "vmin4"
        | "vmax4"
        | "vset4"
        | "suq"
        | "sured"
        | "tensormap"
        | "multimem"
        | "applypriority"
        | "istypep"
        | "movmatrix"
        | "tcgen05"
        | "clusterlaunchcontrol" => Other,
        _ => return None,
    })
}

/// Opcodes whose suffix grammar is large and exotic (tensor cores, async copies, textures,
/// barriers of the memory-model extensions): unknown suffixes are kept as hints, operands are
/// not shape-checked, and the executor decides what it supports.
pub(crate) fn is_exotic(op: Opcode) -> bool {
    use Opcode::*;
    matches!(
        op,
        Mma | Wmma
            | Wgmma
            | Ldmatrix
            | Stmatrix
            | CpAsync
            | Mbarrier
            | Tex
            | Tld4
            | Suld
            | Sust
            | Txq
            | Createpolicy
            | Griddepcontrol
            | Setmaxnreg
            | Pmevent
            | Fence
            | Prefetch
            | Prefetchu
            | Discard
            | Elect
            | Getctarank
            | Mapa
            | Barrier
            | Other
    )
}

/// A PTX fundamental type name (without the dot).
pub(crate) fn scalar_type(s: &str) -> Option<ScalarType> {
    use ScalarType::*;
    Some(match s {
        "pred" => Pred,
        "b8" => B8,
        "b16" => B16,
        "b32" => B32,
        "b64" => B64,
        "b128" => B128,
        "u8" => U8,
        "u16" => U16,
        "u32" => U32,
        "u64" => U64,
        "s8" => S8,
        "s16" => S16,
        "s32" => S32,
        "s64" => S64,
        "f16" => F16,
        "f16x2" => F16x2,
        "bf16" => BF16,
        "bf16x2" => BF16x2,
        "tf32" => TF32,
        "f32" => F32,
        "f64" => F64,
        "e4m3" => E4M3,
        "e5m2" => E5M2,
        "e4m3x2" => E4M3x2,
        "e5m2x2" => E5M2x2,
        "u16x2" => U16x2,
        "s16x2" => S16x2,
        _ => return None,
    })
}

/// A state-space name (without the dot), including the `::` refinements.
pub(crate) fn state_space(s: &str) -> Option<StateSpace> {
    use StateSpace::*;
    Some(match s {
        "reg" => Reg,
        "sreg" => Sreg,
        "const" => Const,
        "global" => Global,
        "local" => Local,
        "param" | "param::entry" | "param::func" => Param,
        "shared" | "shared::cta" => Shared,
        "shared::cluster" => SharedCluster,
        "tex" => Tex,
        _ => return None,
    })
}

/// One instruction suffix, classified.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Suffix {
    Type(ScalarType),
    Mod(Modifier),
}

/// Classifies suffix `s` (without the dot) of opcode `op`; `None` when `op` has no such suffix.
pub(crate) fn suffix(op: Opcode, s: &str) -> Option<Suffix> {
    use Modifier as M;
    use Opcode::*;
    if let Some(t) = scalar_type(s) {
        return Some(Suffix::Type(t));
    }
    let cmp = |c| Some(Suffix::Mod(M::Cmp(c)));
    // Opcode-specific meanings first.
    match op {
        Setp | Set => match s {
            "eq" => return cmp(CmpOp::Eq),
            "ne" => return cmp(CmpOp::Ne),
            "lt" => return cmp(CmpOp::Lt),
            "le" => return cmp(CmpOp::Le),
            "gt" => return cmp(CmpOp::Gt),
            "ge" => return cmp(CmpOp::Ge),
            "lo" => return cmp(CmpOp::Lo),
            "ls" => return cmp(CmpOp::Ls),
            "hi" => return cmp(CmpOp::Hi),
            "hs" => return cmp(CmpOp::Hs),
            "equ" => return cmp(CmpOp::Equ),
            "neu" => return cmp(CmpOp::Neu),
            "ltu" => return cmp(CmpOp::Ltu),
            "leu" => return cmp(CmpOp::Leu),
            "gtu" => return cmp(CmpOp::Gtu),
            "geu" => return cmp(CmpOp::Geu),
            "num" => return cmp(CmpOp::Num),
            "nan" => return cmp(CmpOp::Nan),
            _ => {}
        },
        Atom | Red | Redux => {
            let a = match s {
                "and" => Some(AtomOp::And),
                "or" => Some(AtomOp::Or),
                "xor" => Some(AtomOp::Xor),
                "cas" => Some(AtomOp::Cas),
                "exch" => Some(AtomOp::Exch),
                "add" => Some(AtomOp::Add),
                "inc" => Some(AtomOp::Inc),
                "dec" => Some(AtomOp::Dec),
                "min" => Some(AtomOp::Min),
                "max" => Some(AtomOp::Max),
                _ => None,
            };
            if let Some(a) = a {
                return Some(Suffix::Mod(M::Atom(a)));
            }
        }
        Bar | Barrier if s == "popc" => return Some(Suffix::Mod(M::Atom(AtomOp::Popc))),
        Vote => match s {
            "all" => return Some(Suffix::Mod(M::Vote(VoteMode::All))),
            "any" => return Some(Suffix::Mod(M::Vote(VoteMode::Any))),
            "uni" => return Some(Suffix::Mod(M::Vote(VoteMode::Uni))),
            "ballot" => return Some(Suffix::Mod(M::Vote(VoteMode::Ballot))),
            _ => {}
        },
        Match => match s {
            "any" => return Some(Suffix::Mod(M::MatchAny)),
            "all" => return Some(Suffix::Mod(M::MatchAll)),
            _ => {}
        },
        Shfl => match s {
            "up" => return Some(Suffix::Mod(M::Shfl(ShflMode::Up))),
            "down" => return Some(Suffix::Mod(M::Shfl(ShflMode::Down))),
            "bfly" => return Some(Suffix::Mod(M::Shfl(ShflMode::Bfly))),
            "idx" => return Some(Suffix::Mod(M::Shfl(ShflMode::Idx))),
            _ => {}
        },
        Prmt => {
            let m = match s {
                "f4e" => Some(PrmtMode::F4e),
                "b4e" => Some(PrmtMode::B4e),
                "rc8" => Some(PrmtMode::Rc8),
                "ecl" => Some(PrmtMode::Ecl),
                "ecr" => Some(PrmtMode::Ecr),
                "rc16" => Some(PrmtMode::Rc16),
                _ => None,
            };
            if let Some(m) = m {
                return Some(Suffix::Mod(M::PrmtMode(m)));
            }
        }
        Testp => {
            let t = match s {
                "finite" => Some(TestClass::Finite),
                "infinite" => Some(TestClass::Infinite),
                "number" => Some(TestClass::Number),
                "notanumber" => Some(TestClass::NotANumber),
                "normal" => Some(TestClass::Normal),
                "subnormal" => Some(TestClass::Subnormal),
                _ => None,
            };
            if let Some(t) = t {
                return Some(Suffix::Mod(M::Test(t)));
            }
        }
        Shf => match s {
            "l" => return Some(Suffix::Mod(M::Left)),
            "r" => return Some(Suffix::Mod(M::Right)),
            _ => {}
        },
        Membar => match s {
            "gl" => return Some(Suffix::Mod(M::Scope(Scope::Gpu))),
            "cta" => return Some(Suffix::Mod(M::Scope(Scope::Cta))),
            "sys" => return Some(Suffix::Mod(M::Scope(Scope::Sys))),
            _ => {}
        },
        Brx if s == "idx" => return Some(Suffix::Mod(M::Hint("idx".into()))),
        _ => {}
    }
    if let Some(sp) = state_space(s) {
        if sp != StateSpace::Reg && sp != StateSpace::Sreg {
            return Some(Suffix::Mod(M::Space(sp)));
        }
    }
    let m = match s {
        "rn" => M::Round(Rounding::Rn),
        "rz" => M::Round(Rounding::Rz),
        "rm" => M::Round(Rounding::Rm),
        "rp" => M::Round(Rounding::Rp),
        "rna" => M::Round(Rounding::Rna),
        "rs" => M::Round(Rounding::Rs),
        "rni" => M::Round(Rounding::Rni),
        "rzi" => M::Round(Rounding::Rzi),
        "rmi" => M::Round(Rounding::Rmi),
        "rpi" => M::Round(Rounding::Rpi),
        "ftz" => M::Ftz,
        "sat" => M::Sat,
        "approx" => M::Approx,
        "full" => M::Full,
        "relu" => M::Relu,
        "NaN" => M::NaN,
        "xorsign" => M::XorSign,
        "abs" => M::Abs,
        "oob" => M::Oob,
        "hi" => M::Hi,
        "lo" => M::Lo,
        "wide" => M::Wide,
        "cc" => M::Cc,
        "and" => M::Bool(BoolOp::And),
        "or" => M::Bool(BoolOp::Or),
        "xor" => M::Bool(BoolOp::Xor),
        "v2" => M::Vec(2),
        "v4" => M::Vec(4),
        "v8" => M::Vec(8),
        "weak" => M::Sem(MemSemantics::Weak),
        "relaxed" => M::Sem(MemSemantics::Relaxed),
        "acquire" => M::Sem(MemSemantics::Acquire),
        "release" => M::Sem(MemSemantics::Release),
        "acq_rel" => M::Sem(MemSemantics::AcqRel),
        "sc" => M::Sem(MemSemantics::SeqCst),
        "volatile" => M::Sem(MemSemantics::Volatile),
        "mmio" => M::Sem(MemSemantics::Mmio),
        "cta" => M::Scope(Scope::Cta),
        "cluster" => M::Scope(Scope::Cluster),
        "gpu" => M::Scope(Scope::Gpu),
        "sys" => M::Scope(Scope::Sys),
        "ca" => M::Cache(CacheOp::Ca),
        "cg" => M::Cache(CacheOp::Cg),
        "cs" => M::Cache(CacheOp::Cs),
        "lu" => M::Cache(CacheOp::Lu),
        "cv" => M::Cache(CacheOp::Cv),
        "wb" => M::Cache(CacheOp::Wb),
        "wt" => M::Cache(CacheOp::Wt),
        "nc" => M::Cache(CacheOp::Nc),
        "sync" => M::Sync,
        "arrive" => M::Arrive,
        "red" => M::Red,
        "aligned" => M::Aligned,
        "uni" => M::Uni,
        "to" => M::To,
        "wrap" => M::Wrap,
        "clamp" => M::Clamp,
        "shiftamt" => M::ShiftAmt,
        // Suffixes that change nothing an executor computes, or that it reads by name.
        "noftz" | "noinc" | "satfinite" | "pack" | "trap" | "zero" | "unified" | "async"
        | "nounroll" | "max_threads" => M::Hint(s.to_string()),
        _ if s.contains("::") => M::Hint(s.to_string()),
        _ if is_exotic(op) => M::Hint(s.to_string()),
        _ => return None,
    };
    Some(Suffix::Mod(m))
}

/// Operand kinds an operand position accepts (a bit set).
pub(crate) mod kind {
    pub const REG: u16 = 1;
    pub const IMM: u16 = 2;
    pub const VEC: u16 = 4;
    pub const ADDR: u16 = 8;
    pub const SYM: u16 = 16;
    pub const SPECIAL: u16 = 32;
    pub const LABEL: u16 = 64;
    pub const SINK: u16 = 128;
    pub const NOT: u16 = 256;
    pub const LIST: u16 = 512;
    /// `%p|%q` pairs (kept as a two-element vector).
    pub const PIPE: u16 = 1024;
    pub const SRC: u16 = REG | IMM | SPECIAL | SYM;
    pub const DST: u16 = REG | SINK;
}

/// Which type a register in an operand position must be compatible with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    /// The first type suffix, exact size.
    T0,
    /// The second type suffix (`cvt` source, `set`/`slct` operand type), exact size.
    T1,
    /// Twice the first type's width under `.wide`, else the first type.
    Wide,
    /// The first type, but the register may be wider (`ld`, `st`).
    T0Wide,
    /// `cvt` operands: any integer width for integer types.
    Cvt0,
    Cvt1,
    /// A predicate.
    Pred,
    /// Any 32-bit integer or bit register (shift amounts, masks, lane indices).
    B32,
    /// Anything (type not checked).
    Any,
}

/// One operand position: the kinds it accepts and the type its registers must match.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Spec {
    pub kinds: u16,
    pub role: Role,
}

macro_rules! sp {
    ($k:expr, $r:expr) => {
        Spec {
            kinds: $k,
            role: $r,
        }
    };
}

use kind::*;
use Role::*;

const D: Spec = sp!(DST, T0);
const S: Spec = sp!(SRC, T0);
const S1: Spec = sp!(SRC, T1);
const SB32: Spec = sp!(SRC, B32);
const PD: Spec = sp!(DST | PIPE, Pred);
const PS: Spec = sp!(REG | NOT | IMM, Pred);

/// The operand shape of an instruction: positions plus how many are required.
pub(crate) struct Shape {
    pub specs: &'static [Spec],
    pub min: usize,
    pub max: usize,
}

fn shape(specs: &'static [Spec], min: usize) -> Shape {
    Shape {
        specs,
        min,
        max: specs.len(),
    }
}

fn exact(specs: &'static [Spec]) -> Shape {
    shape(specs, specs.len())
}

/// The operand shape of `op` with modifiers `mods`; `None` for opcodes checked elsewhere
/// (`call`, `bra`, `brx`) or not shape-checked (exotic ones).
pub(crate) fn operand_shape(op: Opcode, mods: &[Modifier]) -> Option<Shape> {
    use Opcode::*;
    let has = |m: &Modifier| mods.contains(m);
    let has_bool = mods.iter().any(|m| matches!(m, Modifier::Bool(_)));
    Some(match op {
        Add | Sub | Div | Rem | Min | Max | And | Or | Xor | Copysign | Addc | Subc | Mul24 => {
            exact(&[D, S, S])
        }
        Mul => {
            const W: [Spec; 3] = [sp!(DST, Wide), S, S];
            exact(&W)
        }
        Mad | Madc => {
            const W: [Spec; 4] = [sp!(DST, Wide), S, S, sp!(SRC, Wide)];
            exact(&W)
        }
        Fma | Mad24 | Sad => exact(&[D, S, S, S]),
        Abs | Neg | Not | Cnot | Sqrt | Rsqrt | Rcp | Sin | Cos | Lg2 | Ex2 | Tanh | Brev => {
            exact(&[D, S])
        }
        Clz | Popc | Bfind => exact(&[sp!(DST, B32), S]),
        Bfe => exact(&[D, S, SB32, SB32]),
        Bfi => exact(&[D, S, S, SB32, SB32]),
        Prmt => exact(&[D, S, S, S]),
        Shl | Shr => exact(&[D, S, SB32]),
        Shf => exact(&[D, S, S, SB32]),
        Lop3 => exact(&[D, S, S, S, sp!(IMM, Any)]),
        Bmsk => exact(&[D, SB32, SB32]),
        Szext => exact(&[D, S, SB32]),
        Fns => exact(&[D, SB32, SB32, sp!(SRC, Any)]),
        Dp4a | Dp2a => exact(&[sp!(DST, Any), sp!(SRC, Any), sp!(SRC, Any), sp!(SRC, Any)]),
        Setp => {
            if has_bool {
                exact(&[PD, S, S, PS])
            } else {
                exact(&[PD, S, S])
            }
        }
        Set => {
            if has_bool {
                exact(&[D, S1, S1, PS])
            } else {
                exact(&[D, S1, S1])
            }
        }
        Selp => exact(&[D, S, S, PS]),
        Slct => exact(&[D, S, S, S1]),
        Testp => exact(&[PD, S]),
        Mov => exact(&[sp!(DST | VEC, T0), sp!(SRC | VEC | NOT, T0)]),
        Cvt => shape(
            &[
                sp!(DST, Cvt0),
                sp!(SRC, Cvt1),
                sp!(SRC, Cvt1),
                sp!(SRC, Cvt1),
            ],
            2,
        ),
        Cvta => exact(&[D, S]),
        Isspacep => exact(&[PD, sp!(SRC, Any)]),
        Ld | Ldu => shape(&[sp!(DST | VEC, T0Wide), sp!(ADDR, Any), sp!(SRC, Any)], 2),
        St => shape(
            &[sp!(ADDR, Any), sp!(SRC | VEC, T0Wide), sp!(SRC | ADDR, Any)],
            2,
        ),
        Atom => {
            if has(&Modifier::Atom(AtomOp::Cas)) {
                shape(
                    &[
                        sp!(DST | VEC, T0),
                        sp!(ADDR, Any),
                        sp!(SRC | VEC, T0),
                        sp!(SRC | VEC, T0),
                        sp!(SRC, Any),
                    ],
                    4,
                )
            } else {
                shape(
                    &[
                        sp!(DST | VEC, T0),
                        sp!(ADDR, Any),
                        sp!(SRC | VEC, T0),
                        sp!(SRC, Any),
                    ],
                    3,
                )
            }
        }
        Red => shape(
            &[sp!(ADDR, Any), sp!(SRC | VEC, T0), sp!(SRC | ADDR, Any)],
            2,
        ),
        Bar | Barrier => shape(
            &[
                sp!(DST | SRC, Any),
                sp!(SRC | NOT, Any),
                sp!(SRC | NOT, Any),
                sp!(SRC | NOT, Any),
            ],
            0,
        ),
        BarWarp => exact(&[SB32]),
        Membar | Trap | Brkpt | Exit | Ret => exact(&[]),
        Shfl => {
            if has(&Modifier::Sync) {
                exact(&[sp!(DST | PIPE, T0), S, SB32, SB32, SB32])
            } else {
                exact(&[sp!(DST | PIPE, T0), S, SB32, SB32])
            }
        }
        Vote => {
            if has(&Modifier::Vote(VoteMode::Ballot)) {
                shape(&[sp!(DST, B32), PS, SB32], 2)
            } else {
                shape(&[PD, PS, SB32], 2)
            }
        }
        Match => exact(&[sp!(DST | PIPE, B32), S, SB32]),
        Redux => exact(&[D, S, SB32]),
        Activemask => exact(&[sp!(DST, B32)]),
        Nanosleep => exact(&[SB32]),
        Alloca => shape(&[D, S, sp!(IMM, Any)], 2),
        Stacksave => exact(&[D]),
        Stackrestore => exact(&[S]),
        _ => return None,
    })
}

/// How many type suffixes `op` takes: `(min, max)`; `None` when not checked.
pub(crate) fn type_count(op: Opcode, mods: &[Modifier]) -> Option<(usize, usize)> {
    use Opcode::*;
    Some(match op {
        Cvt => (2, 3),
        Set | Slct | Dp4a | Dp2a => (2, 2),
        Bar | Barrier | Membar | Trap | Brkpt | Exit | Ret | Bra | Brx | Call => (0, 1),
        BarWarp | Isspacep | Nanosleep => (0, 1),
        Vote if mods.contains(&Modifier::Vote(VoteMode::Ballot)) => (1, 1),
        Vote => (0, 1),
        Alloca | Stacksave | Stackrestore => (1, 1),
        Cvta | Activemask => (0, 1),
        _ if is_exotic(op) => return None,
        _ => (1, 1),
    })
}

/// Whether a register of type `reg` may stand where type `ty` is expected.
///
/// `wide` permits registers wider than `ty` (the `ld`/`st`/`cvt` relaxation).
pub(crate) fn compatible(reg: ScalarType, ty: ScalarType, wide: bool) -> bool {
    use ScalarType::*;
    if reg == ty {
        return true;
    }
    if reg == Pred || ty == Pred {
        return false;
    }
    let is_bit = |t: ScalarType| matches!(t, B8 | B16 | B32 | B64 | B128);
    let is_int = |t: ScalarType| matches!(t, U8 | U16 | U32 | U64 | S8 | S16 | S32 | S64);
    let (rs, ts) = (reg.size(), ty.size());
    let same = rs == ts;
    if same && (is_bit(reg) || is_bit(ty) || (is_int(reg) && is_int(ty))) {
        return true;
    }
    if wide && rs > ts {
        // Narrow integer/bit data in a wider integer/bit register, or any type in a wider
        // bit-size register.
        return is_bit(reg) || ((is_int(reg)) && (is_int(ty) || is_bit(ty)));
    }
    false
}

#[cfg(test)]
mod tests {
    use super::{compatible, opcode, suffix, Suffix};
    use crate::ir::*;
    use ScalarType::*;

    #[test]
    fn type_compatibility_is_ptxas_relaxed() {
        assert!(compatible(B32, U32, false));
        assert!(compatible(B32, F32, false));
        assert!(compatible(S32, U32, false));
        assert!(compatible(U32, B32, false));
        assert!(!compatible(U32, F32, false));
        assert!(!compatible(F32, F64, false));
        assert!(!compatible(B64, U32, false));
        assert!(compatible(B64, U32, true));
        assert!(compatible(U32, U8, true));
        assert!(compatible(B16, U8, true));
        assert!(!compatible(F64, F32, true));
        assert!(!compatible(Pred, B32, true));
        assert!(!compatible(B32, Pred, false));
        assert!(compatible(B32, F16x2, false));
        assert!(compatible(B16, BF16, false));
    }

    #[test]
    fn suffixes_depend_on_opcode() {
        assert_eq!(
            suffix(Opcode::Setp, "lo"),
            Some(Suffix::Mod(Modifier::Cmp(CmpOp::Lo)))
        );
        assert_eq!(suffix(Opcode::Mul, "lo"), Some(Suffix::Mod(Modifier::Lo)));
        assert_eq!(
            suffix(Opcode::Atom, "add"),
            Some(Suffix::Mod(Modifier::Atom(AtomOp::Add)))
        );
        assert_eq!(
            suffix(Opcode::Setp, "and"),
            Some(Suffix::Mod(Modifier::Bool(BoolOp::And)))
        );
        assert_eq!(
            suffix(Opcode::Ld, "shared::cta"),
            Some(Suffix::Mod(Modifier::Space(StateSpace::Shared)))
        );
        assert_eq!(
            suffix(Opcode::Ld, "L2::cache_hint"),
            Some(Suffix::Mod(Modifier::Hint("L2::cache_hint".into())))
        );
        assert_eq!(suffix(Opcode::Add, "bogus"), None);
        assert!(suffix(Opcode::Mma, "m16n8k16").is_some());
        assert_eq!(suffix(Opcode::Add, "s32"), Some(Suffix::Type(S32)));
    }

    #[test]
    fn opcode_names() {
        assert_eq!(opcode("ld"), Some(Opcode::Ld));
        assert_eq!(opcode("vadd"), Some(Opcode::Other));
        assert_eq!(opcode("ad"), None);
    }
}
