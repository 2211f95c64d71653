//! The checked intermediate representation of a PTX module.
//!
//! The parser resolves every name: registers become [`RegId`]s into the function's register
//! table, labels become instruction indices, and symbols become [`SymbolRef`]s. Scoped blocks
//! (`{ ... }`) are flattened, with shadowed register names given their own [`RegId`]. What reaches
//! this IR has passed the checker, so consumers (the CPU executor, launch checks, `fcuda ptx`) can
//! rely on operand counts and kinds matching each opcode.

use std::fmt;

/// Where a construct came from in the PTX text (1-based).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct SourceLoc {
    pub line: u32,
    pub col: u32,
}

/// A whole PTX module (one `.ptx` text).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Module {
    /// `.version major.minor`.
    pub version: (u32, u32),
    /// `.target` entries, e.g. `["sm_90a"]` or `["sm_80", "texmode_independent"]`.
    pub target: Vec<String>,
    /// `.address_size` (32 or 64; 64 when absent).
    pub address_size: u32,
    /// Module-scope variables in `.global`, `.const`, `.shared` (and `.local`).
    pub globals: Vec<Variable>,
    /// Kernels (`.entry`) and device functions (`.func`), in source order.
    pub functions: Vec<Function>,
}

impl Module {
    /// The kernel (`.entry`) with this name.
    pub fn kernel(&self, name: &str) -> Option<&Function> {
        self.functions
            .iter()
            .find(|f| f.kind == FunctionKind::Entry && f.name == name)
    }

    /// Every kernel, in source order.
    pub fn kernels(&self) -> impl Iterator<Item = &Function> {
        self.functions
            .iter()
            .filter(|f| f.kind == FunctionKind::Entry)
    }

    /// The module-scope variable with this name.
    pub fn global(&self, name: &str) -> Option<&Variable> {
        self.globals.iter().find(|g| g.name == name)
    }
}

/// Index into [`Module::globals`].
pub type GlobalId = usize;
/// Index into [`Module::functions`].
pub type FuncId = usize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FunctionKind {
    /// `.entry`: a kernel.
    Entry,
    /// `.func`: a device function.
    Func,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Linkage {
    /// No linkage directive: visible only inside the module.
    #[default]
    Internal,
    Visible,
    Extern,
    Weak,
    Common,
}

/// A kernel or device function.
#[derive(Debug, Clone, PartialEq)]
pub struct Function {
    pub name: String,
    pub kind: FunctionKind,
    pub linkage: Linkage,
    /// Parameters, with offsets laid out as the driver packs them for a kernel.
    pub params: Vec<Param>,
    /// Return values of a `.func` (empty for kernels).
    pub returns: Vec<Param>,
    /// Every register the body names, declared or implicit (`%tid` and friends are not here).
    pub regs: Vec<RegDecl>,
    /// Function-scope variables: `.local`, `.shared`, `.param` arrays and the like.
    pub locals: Vec<Variable>,
    /// The body; `None` for a declaration (`.extern .func` or a prototype).
    pub body: Option<Vec<Instruction>>,
    pub bounds: LaunchBounds,
    /// `.noreturn` on a `.func`.
    pub noreturn: bool,
    /// `.pragma` strings in the function (e.g. `"nounroll"`).
    pub pragmas: Vec<String>,
    pub loc: SourceLoc,
}

impl Function {
    /// The parameter layout the launch path checks arguments against.
    pub fn signature(&self) -> KernelSignature {
        KernelSignature {
            name: self.name.clone(),
            params: self
                .params
                .iter()
                .map(|p| ParamLayout {
                    name: p.name.clone(),
                    offset: p.offset,
                    size: p.size,
                    align: p.align,
                })
                .collect(),
        }
    }

    /// Total bytes of the packed parameter buffer (`.param` space) of a kernel.
    pub fn param_bytes(&self) -> u32 {
        self.params
            .iter()
            .map(|p| p.offset + p.size)
            .max()
            .unwrap_or(0)
    }
}

/// `.maxntid`, `.reqntid`, `.minnctapersm`, `.maxnreg`, `.maxnctapersm`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LaunchBounds {
    pub maxntid: Option<[u32; 3]>,
    pub reqntid: Option<[u32; 3]>,
    pub minnctapersm: Option<u32>,
    pub maxnctapersm: Option<u32>,
    pub maxnreg: Option<u32>,
}

/// A kernel's parameter list as launches see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KernelSignature {
    pub name: String,
    pub params: Vec<ParamLayout>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParamLayout {
    pub name: String,
    pub offset: u32,
    pub size: u32,
    pub align: u32,
}

/// A `.param` declaration of a function or kernel.
#[derive(Debug, Clone, PartialEq)]
pub struct Param {
    pub name: String,
    /// Element type; `.b8` for byte arrays holding structs.
    pub ty: ScalarType,
    /// Array length (`.param .b8 s[24]` → 24); 1 for a scalar.
    pub count: u32,
    /// Bytes: `ty.size() * count`.
    pub size: u32,
    /// Alignment: `.align N` when given, else the element size.
    pub align: u32,
    /// Offset in the packed parameter buffer (each parameter at its alignment).
    pub offset: u32,
    /// `.ptr .global .align 16` attributes (Triton, clang), when present.
    pub ptr: Option<PtrAttr>,
    pub loc: SourceLoc,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PtrAttr {
    /// The state space the pointer points into; `None` means generic.
    pub space: Option<StateSpace>,
    pub align: u32,
}

/// A register declaration (`.reg .f32 %f<4>` declares `%f0`…`%f3`).
#[derive(Debug, Clone, PartialEq)]
pub struct RegDecl {
    pub name: String,
    pub ty: ScalarType,
    /// `.reg .v4 .f32 %v` declares a vector register (rare).
    pub vector: Option<u8>,
}

/// Index into [`Function::regs`].
pub type RegId = u32;

/// A variable in an addressable state space (module or function scope).
#[derive(Debug, Clone, PartialEq)]
pub struct Variable {
    pub name: String,
    pub space: StateSpace,
    pub linkage: Linkage,
    /// Element type.
    pub ty: ScalarType,
    /// Vector width of the element (`.v4 .f32`), 1 when scalar.
    pub vector: u8,
    /// Element count (product of array dimensions; 1 for a scalar). `0` for `.extern .shared`
    /// unsized arrays (dynamic shared memory).
    pub count: u64,
    /// Bytes: element size × vector × count.
    pub size: u64,
    pub align: u32,
    /// Initial bytes (little-endian, `size` long) when the declaration has an initializer.
    pub init: Option<Vec<u8>>,
    /// Addresses of other symbols stored inside `init` (`.global .u64 p = x;` or
    /// `generic(x)`), patched in when the module is loaded.
    pub relocations: Vec<Relocation>,
    pub loc: SourceLoc,
}

/// "Store the address of `target` (plus `addend`) at byte `offset` of the initializer."
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Relocation {
    pub offset: u64,
    pub target: SymbolRef,
    pub addend: i64,
    /// `generic(sym)` rather than the state-space address.
    pub generic: bool,
    /// Bytes written (4 or 8).
    pub size: u8,
}

/// A resolved reference to something with an address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SymbolRef {
    Global(GlobalId),
    /// Index into the enclosing function's [`Function::locals`].
    Local(usize),
    /// Index into the enclosing function's [`Function::params`].
    Param(usize),
    /// Index into the enclosing function's [`Function::returns`].
    Return(usize),
    Function(FuncId),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StateSpace {
    Reg,
    Sreg,
    Const,
    Global,
    Local,
    Param,
    Shared,
    /// `.shared::cluster`.
    SharedCluster,
    Tex,
}

impl StateSpace {
    pub fn name(self) -> &'static str {
        match self {
            StateSpace::Reg => ".reg",
            StateSpace::Sreg => ".sreg",
            StateSpace::Const => ".const",
            StateSpace::Global => ".global",
            StateSpace::Local => ".local",
            StateSpace::Param => ".param",
            StateSpace::Shared => ".shared",
            StateSpace::SharedCluster => ".shared::cluster",
            StateSpace::Tex => ".tex",
        }
    }
}

/// PTX fundamental types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ScalarType {
    Pred,
    B8,
    B16,
    B32,
    B64,
    B128,
    U8,
    U16,
    U32,
    U64,
    S8,
    S16,
    S32,
    S64,
    F16,
    F16x2,
    BF16,
    BF16x2,
    TF32,
    F32,
    F64,
    /// `.e4m3`, `.e5m2` and friends (fp8 formats; conversions only).
    E4M3,
    E5M2,
    E4M3x2,
    E5M2x2,
    /// `.u16x2` / `.s16x2`: two 16-bit integers packed in a `.b32` register (low half first),
    /// operated on lane-wise by `add`, `sub`, `min`, `max` (sm_90, PTX 8.0).
    U16x2,
    S16x2,
}

impl ScalarType {
    /// Size in bytes (a predicate counts as 1 for layout purposes).
    pub fn size(self) -> u32 {
        use ScalarType::*;
        match self {
            Pred | B8 | U8 | S8 | E4M3 | E5M2 => 1,
            B16 | U16 | S16 | F16 | BF16 | E4M3x2 | E5M2x2 => 2,
            B32 | U32 | S32 | F32 | F16x2 | BF16x2 | TF32 | U16x2 | S16x2 => 4,
            B64 | U64 | S64 | F64 => 8,
            B128 => 16,
        }
    }

    pub fn bits(self) -> u32 {
        self.size() * 8
    }

    pub fn is_signed(self) -> bool {
        matches!(
            self,
            ScalarType::S8 | ScalarType::S16 | ScalarType::S32 | ScalarType::S64
        )
    }

    /// Whether this is a packed pair of 16-bit integers (`.u16x2`, `.s16x2`).
    pub fn is_packed_int(self) -> bool {
        matches!(self, ScalarType::U16x2 | ScalarType::S16x2)
    }

    pub fn is_float(self) -> bool {
        use ScalarType::*;
        matches!(self, F16 | F16x2 | BF16 | BF16x2 | TF32 | F32 | F64)
    }

    pub fn name(self) -> &'static str {
        use ScalarType::*;
        match self {
            Pred => ".pred",
            B8 => ".b8",
            B16 => ".b16",
            B32 => ".b32",
            B64 => ".b64",
            B128 => ".b128",
            U8 => ".u8",
            U16 => ".u16",
            U32 => ".u32",
            U64 => ".u64",
            S8 => ".s8",
            S16 => ".s16",
            S32 => ".s32",
            S64 => ".s64",
            F16 => ".f16",
            F16x2 => ".f16x2",
            BF16 => ".bf16",
            BF16x2 => ".bf16x2",
            TF32 => ".tf32",
            F32 => ".f32",
            F64 => ".f64",
            E4M3 => ".e4m3",
            E5M2 => ".e5m2",
            E4M3x2 => ".e4m3x2",
            E5M2x2 => ".e5m2x2",
            U16x2 => ".u16x2",
            S16x2 => ".s16x2",
        }
    }
}

impl fmt::Display for ScalarType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One PTX instruction, with its guard, modifiers and operands.
///
/// `types` holds the instruction's type suffixes in source order: `add.f32` → `[F32]`,
/// `cvt.rn.f32.s32` → `[F32, S32]`, `setp.lt.and.s32` → `[S32]`, `ld.global.v4.f32` → `[F32]`.
/// Every other suffix is a [`Modifier`].
#[derive(Debug, Clone, PartialEq)]
pub struct Instruction {
    pub guard: Option<Guard>,
    pub opcode: Opcode,
    pub types: Vec<ScalarType>,
    pub mods: Vec<Modifier>,
    pub operands: Vec<Operand>,
    pub loc: SourceLoc,
}

impl Instruction {
    pub fn has(&self, m: Modifier) -> bool {
        self.mods.contains(&m)
    }

    /// The first type suffix (the instruction type for most opcodes).
    pub fn ty(&self) -> Option<ScalarType> {
        self.types.first().copied()
    }

    pub fn rounding(&self) -> Option<Rounding> {
        self.mods.iter().find_map(|m| match m {
            Modifier::Round(r) => Some(*r),
            _ => None,
        })
    }

    pub fn space(&self) -> Option<StateSpace> {
        self.mods.iter().find_map(|m| match m {
            Modifier::Space(s) => Some(*s),
            _ => None,
        })
    }

    pub fn cmp(&self) -> Option<CmpOp> {
        self.mods.iter().find_map(|m| match m {
            Modifier::Cmp(c) => Some(*c),
            _ => None,
        })
    }

    pub fn vector(&self) -> Option<u8> {
        self.mods.iter().find_map(|m| match m {
            Modifier::Vec(n) => Some(*n),
            _ => None,
        })
    }
}

/// `@%p` or `@!%p`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Guard {
    pub reg: RegId,
    pub negate: bool,
}

/// Instruction base names. `bar.sync`, `bar.arrive`, `bar.red` are [`Opcode::Bar`] with
/// modifiers; `barrier.sync` is [`Opcode::Barrier`]; `bar.warp.sync` is [`Opcode::BarWarp`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Opcode {
    Abs,
    Activemask,
    Add,
    Addc,
    Alloca,
    And,
    Atom,
    Bar,
    BarWarp,
    Barrier,
    Bfe,
    Bfi,
    Bfind,
    Bmsk,
    Bra,
    Brev,
    Brkpt,
    Brx,
    Call,
    Clz,
    Cnot,
    Copysign,
    Cos,
    CpAsync,
    Createpolicy,
    Cvt,
    Cvta,
    Discard,
    Div,
    Dp2a,
    Dp4a,
    Elect,
    Ex2,
    Exit,
    Fence,
    Fma,
    Fns,
    Getctarank,
    Griddepcontrol,
    Isspacep,
    Ld,
    Ldmatrix,
    Ldu,
    Lg2,
    Lop3,
    Mad,
    Mad24,
    Madc,
    Mapa,
    Match,
    Max,
    Mbarrier,
    Membar,
    Min,
    Mma,
    Mov,
    Mul,
    Mul24,
    Nanosleep,
    Neg,
    Not,
    Or,
    Pmevent,
    Popc,
    Prefetch,
    Prefetchu,
    Prmt,
    Rcp,
    Red,
    Redux,
    Rem,
    Ret,
    Rsqrt,
    Sad,
    Selp,
    Set,
    Setmaxnreg,
    Setp,
    Shf,
    Shfl,
    Shl,
    Shr,
    Sin,
    Slct,
    Sqrt,
    St,
    Stackrestore,
    Stacksave,
    Stmatrix,
    Sub,
    Subc,
    Suld,
    Sust,
    Szext,
    Tanh,
    Testp,
    Tex,
    Tld4,
    Trap,
    Txq,
    Vote,
    Wgmma,
    Wmma,
    Xor,
    /// A valid PTX instruction this IR does not model (video instructions, `suq`, `tensormap`,
    /// `multimem`, `tcgen05`, …). The parser keeps the full spelled opcode as the first
    /// [`Modifier::Hint`] and every suffix as further hints; executors report it as unsupported.
    Other,
}

/// Rounding modifiers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Rounding {
    /// Floating-point results: nearest even, towards zero, towards −∞, towards +∞,
    /// nearest ties-away (`.rna`, cvt to tf32), stochastic (`.rs`).
    Rn,
    Rz,
    Rm,
    Rp,
    Rna,
    Rs,
    /// Integer results of float→int `cvt` and float `cvt.rXi`: nearest even, towards zero, floor, ceil.
    Rni,
    Rzi,
    Rmi,
    Rpi,
}

/// Comparison operators of `setp`, `set`, `slct`-style compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Lo,
    Ls,
    Hi,
    Hs,
    Equ,
    Neu,
    Ltu,
    Leu,
    Gtu,
    Geu,
    Num,
    Nan,
}

/// `.and` / `.or` / `.xor` combining in `setp`, `set`, `bar.red`, `redux`, `atom`/`red`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BoolOp {
    And,
    Or,
    Xor,
}

/// Operation of `atom` / `red` / `redux` / `bar.red`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AtomOp {
    And,
    Or,
    Xor,
    Cas,
    Exch,
    Add,
    Inc,
    Dec,
    Min,
    Max,
    Popc,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MemSemantics {
    Weak,
    Relaxed,
    Acquire,
    Release,
    AcqRel,
    SeqCst,
    Volatile,
    Mmio,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scope {
    Cta,
    Cluster,
    Gpu,
    Sys,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CacheOp {
    Ca,
    Cg,
    Cs,
    Lu,
    Cv,
    Wb,
    Wt,
    /// `.nc` (non-coherent, read-only path).
    Nc,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ShflMode {
    Up,
    Down,
    Bfly,
    Idx,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum VoteMode {
    All,
    Any,
    Uni,
    Ballot,
}

/// Every instruction suffix other than the type suffixes. The parser maps the spelled suffix
/// onto one of these; suffixes with no effect on results (cache hints, `.L2::evict_last`,
/// `.level::prefetch_size`) are kept as [`Modifier::Hint`] with their text.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Modifier {
    Round(Rounding),
    Ftz,
    Sat,
    Approx,
    Full,
    /// `.relu` (min/max/cvt/fma variants).
    Relu,
    /// `.NaN` (min/max propagate NaN).
    NaN,
    /// `.xorsign.abs` min/max.
    XorSign,
    Abs,
    /// `.oob` fma.
    Oob,
    /// `.hi` / `.lo` / `.wide` of `mul`, `mad`, `mul24`, `mad24`.
    Hi,
    Lo,
    Wide,
    /// `.cc` of `add.cc` / `sub.cc` / `mad.cc` (carry out).
    Cc,
    Cmp(CmpOp),
    Bool(BoolOp),
    Space(StateSpace),
    /// `.v2`, `.v4`, `.v8`.
    Vec(u8),
    Sem(MemSemantics),
    Scope(Scope),
    Cache(CacheOp),
    Atom(AtomOp),
    Shfl(ShflMode),
    Vote(VoteMode),
    /// `.sync` (bar, shfl, vote, match, redux, barrier).
    Sync,
    /// `.arrive` (bar.arrive, barrier.arrive, mbarrier).
    Arrive,
    /// `.red` (bar.red).
    Red,
    /// `.aligned`.
    Aligned,
    /// `.uni` (bra.uni, call.uni, vote.uni is Vote(Uni)).
    Uni,
    /// `.any` / `.all` of `match`.
    MatchAny,
    MatchAll,
    /// `.to` of `cvta.to.global` (the space is a separate `Space` modifier).
    To,
    /// `.wrap` / `.clamp` of `shf`.
    Wrap,
    Clamp,
    /// `.l` / `.r` of `shf` (funnel shift direction).
    Left,
    Right,
    /// `.shiftamt` of `bfind`.
    ShiftAmt,
    /// `.f4e`, `.b4e`, `.rc8`, `.ecl`, `.ecr`, `.rc16` of `prmt`.
    PrmtMode(PrmtMode),
    /// `.finite`, `.infinite`, `.number`, `.notanumber`, `.normal`, `.subnormal` of `testp`.
    Test(TestClass),
    /// `.noftz`/`.noinc` and other modifiers that change nothing for the executor.
    Hint(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PrmtMode {
    F4e,
    B4e,
    Rc8,
    Ecl,
    Ecr,
    Rc16,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TestClass {
    Finite,
    Infinite,
    Number,
    NotANumber,
    Normal,
    Subnormal,
}

/// Special registers (`%tid.x` is `Special(Tid, Some(X))`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SpecialReg {
    Tid,
    Ntid,
    Ctaid,
    Nctaid,
    Laneid,
    Warpid,
    Nwarpid,
    Smid,
    Nsmid,
    Gridid,
    LanemaskEq,
    LanemaskLe,
    LanemaskLt,
    LanemaskGe,
    LanemaskGt,
    Clock,
    Clock64,
    Globaltimer,
    GlobaltimerLo,
    GlobaltimerHi,
    DynamicSmemSize,
    TotalSmemSize,
    ClusterId,
    ClusterNctaid,
    ClusterCtaid,
    ClusterNctarank,
    ClusterCtarank,
    IsExplicitCluster,
    /// `%envreg0`…`%envreg31`.
    Envreg(u8),
    /// `%pm0`…`%pm7`.
    Pm(u8),
    /// `%nclusterid`: the number of clusters in the grid, per dimension.
    NclusterId,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dim {
    X,
    Y,
    Z,
}

/// An immediate value. Integers keep their 64-bit pattern; float literals keep the exact bits
/// the text gave (`0f3F800000` → `F32(0x3F800000)`), decimal float literals become `F64`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Imm {
    Int(i64),
    /// Unsigned literal with the `U` suffix or too large for `i64`.
    UInt(u64),
    F32(u32),
    F64(u64),
}

/// An address operand `[base+offset]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Address {
    pub base: AddrBase,
    pub offset: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddrBase {
    Reg(RegId),
    Symbol(SymbolRef),
    /// `[1024]`: an absolute address.
    Absolute,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Operand {
    Reg(RegId),
    /// `!%p` as a source of `setp`/`set`/`selp`/bool ops.
    NotReg(RegId),
    Imm(Imm),
    Special(SpecialReg, Option<Dim>),
    /// A symbol used as a value (`mov.u64 %rd1, shared_buf;`, `cvta.global.u64 %rd, g;`),
    /// plus an optional constant offset (`sym+8`).
    Symbol(SymbolRef, i64),
    Addr(Address),
    /// `{%r1, %r2, %r3, %r4}`; elements are `Reg`, `Imm` or `Sink`. A `%d|%p` destination pair
    /// (`setp`, `shfl`, `match`, `elect`) is a two-element vector in the first operand.
    Vector(Vec<Operand>),
    /// A branch target: index into the function body.
    Label(u32),
    /// `_`: a discarded destination.
    Sink,
    /// Parenthesised argument/return lists of `call`. A `call` always has
    /// `[List(returns), target, List(args)]` (target `Callee` or `Reg`), plus `Prototype` for an
    /// indirect call. An indirect call naming a `.calltargets` list or a call table (a
    /// `.global`/`.const` array initialized with function names) has `Prototype` of the list's
    /// first function followed by `List` of every listed function (each once) as `Callee`s:
    /// the only functions the register may hold. Also `brx.idx`'s resolved target list (`Label`s) and bracketed texture or
    /// tensor operands like `[tex, {%f1, %f2}]` (first element the handle).
    List(Vec<Operand>),
    /// The function a `call` targets directly.
    Callee(FuncId),
    /// `%r` of `brx.idx` label tables or `call` with a prototype: the prototype's function index.
    Prototype(FuncId),
}
