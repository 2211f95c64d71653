//! Recursive-descent parser from tokens to the checked [`Module`], with name resolution.
//!
//! Registers, variables and labels are scoped by `{ }` blocks; functions and module variables
//! may be referenced before their declaration (resolved once the whole module is read). Each
//! instruction is checked against the tables in [`crate::ops`] as soon as it is parsed, so a
//! diagnostic points at the first offending token.

use crate::diag::{Error, ErrorKind};
use crate::fxmap::FxMap;
use crate::ir::*;
use crate::lexer::{lex, parse_number, Number, Tok, TokKind};
use crate::ops::{self, kind, Role, Suffix};

/// Deepest `{ }` nesting accepted in a function body.
const MAX_BLOCK_DEPTH: usize = 256;
/// Deepest `{ }` nesting accepted in an initializer.
const MAX_INIT_DEPTH: usize = 32;
/// Most registers one function may declare.
const MAX_REGS: usize = 1 << 20;
/// Largest initialized variable, in bytes.
const MAX_INIT_BYTES: u64 = 64 << 20;
/// Most initialized bytes in one module.
const MAX_MODULE_INIT_BYTES: u64 = 256 << 20;
/// Registers one module may declare regardless of its size (larger inputs get 4 per byte).
const MIN_MODULE_REGS: usize = 1 << 21;
/// Most operands (or vector/list elements) one instruction may have.
const MAX_OPERANDS: usize = 256;
/// Placeholder for a reference resolved after parsing.
const UNRESOLVED: SymbolRef = SymbolRef::Global(usize::MAX);
const NO_SUB: u16 = u16::MAX;

/// Parses and checks a whole module.
pub(crate) fn parse_module(src: &str) -> Result<Module, Error> {
    let toks = lex(src)?;
    let mut p = Parser {
        src,
        toks,
        pos: 0,
        module: Module {
            address_size: 64,
            ..Module::default()
        },
        globals: FxMap::default(),
        funcs: FxMap::default(),
        has_body: Vec::new(),
        fixups: Vec::new(),
        reloc_fixups: Vec::new(),
        call_tables: Vec::new(),
        op_toks: Vec::new(),
        regs_left: MIN_MODULE_REGS.max(src.len().saturating_mul(4)),
        init_left: MAX_MODULE_INIT_BYTES,
    };
    p.module_items()?;
    p.resolve_module()?;
    Ok(p.module)
}

/// A name in a function body left for the end of the module (a function or a module variable
/// declared later).
struct Fixup {
    func: FuncId,
    instr: u32,
    operand: u16,
    sub: u16,
    tok: u32,
}

/// An indirect `call` naming a call table (`call (r), %rd, (a), jmptbl;`): instruction `instr` of
/// function `func` gets the functions of global `global`'s initializer as its target list.
struct CallTableFixup {
    func: FuncId,
    instr: u32,
    global: GlobalId,
    tok: u32,
}

/// A symbol inside a module variable's initializer, resolved at the end of the module.
struct RelocFixup {
    global: GlobalId,
    reloc: usize,
    tok: u32,
}

/// A branch target waiting for its block to close.
struct LabelRef {
    instr: u32,
    operand: u16,
    sub: u16,
    tok: u32,
}

#[derive(Default)]
struct Scope<'s> {
    regs: FxMap<&'s str, RegId>,
    ranges: FxMap<&'s str, (RegId, u32)>,
    vars: FxMap<&'s str, SymbolRef>,
    labels: FxMap<&'s str, u32>,
    protos: FxMap<&'s str, FuncId>,
    /// `.branchtargets` label lists (name tokens).
    targets: FxMap<&'s str, Vec<u32>>,
    /// `.calltargets` function lists (name tokens).
    calltargets: FxMap<&'s str, Vec<u32>>,
    pending: Vec<LabelRef>,
}

struct FnState<'s> {
    id: FuncId,
    regs: Vec<RegDecl>,
    locals: Vec<Variable>,
    body: Vec<Instruction>,
    pragmas: Vec<String>,
    scopes: Vec<Scope<'s>>,
    /// Every label in the function: its index, or `None` when defined in several blocks.
    all_labels: FxMap<&'s str, Option<u32>>,
}

struct Parser<'s> {
    src: &'s str,
    toks: Vec<Tok>,
    pos: usize,
    module: Module,
    globals: FxMap<&'s str, GlobalId>,
    funcs: FxMap<&'s str, FuncId>,
    has_body: Vec<bool>,
    fixups: Vec<Fixup>,
    reloc_fixups: Vec<RelocFixup>,
    /// Indirect calls whose target list is a call table (an array of function addresses),
    /// expanded once the tables' initializers are resolved.
    call_tables: Vec<CallTableFixup>,
    /// Token index where each operand of the instruction being parsed starts.
    op_toks: Vec<u32>,
    /// Registers the rest of the module may still declare (bounds memory on hostile input).
    regs_left: usize,
    /// Initialized bytes the rest of the module may still declare.
    init_left: u64,
}

/// A variable declaration before it is placed in module or function scope.
struct VarDecl<'s> {
    var: Variable,
    name: &'s str,
    name_tok: u32,
    /// Symbols inside the initializer: (relocation index, token).
    reloc_toks: Vec<(usize, u32)>,
}

/// One value of an initializer.
enum InitVal {
    Num(Number, bool),
    Sym {
        tok: u32,
        addend: i64,
        generic: bool,
    },
}

fn align_up(v: u64, a: u64) -> u64 {
    if a <= 1 {
        v
    } else {
        v.div_ceil(a).saturating_mul(a)
    }
}

fn special_reg(name: &str) -> Option<(SpecialReg, Option<Dim>)> {
    use SpecialReg::*;
    let (base, dim) = match name.split_once('.') {
        Some((b, d)) => {
            let d = match d {
                "x" => Dim::X,
                "y" => Dim::Y,
                "z" => Dim::Z,
                _ => return None,
            };
            (b, Some(d))
        }
        None => (name, None),
    };
    let dims_ok = |r: SpecialReg| -> Option<(SpecialReg, Option<Dim>)> { Some((r, dim)) };
    let r = match base {
        "%tid" => return dims_ok(Tid),
        "%ntid" => return dims_ok(Ntid),
        "%ctaid" => return dims_ok(Ctaid),
        "%nctaid" => return dims_ok(Nctaid),
        "%clusterid" => return dims_ok(ClusterId),
        "%nclusterid" => return dims_ok(NclusterId),
        "%cluster_nctaid" => return dims_ok(ClusterNctaid),
        "%cluster_ctaid" => return dims_ok(ClusterCtaid),
        "%laneid" => Laneid,
        "%warpid" => Warpid,
        "%nwarpid" => Nwarpid,
        "%smid" => Smid,
        "%nsmid" => Nsmid,
        "%gridid" => Gridid,
        "%lanemask_eq" => LanemaskEq,
        "%lanemask_le" => LanemaskLe,
        "%lanemask_lt" => LanemaskLt,
        "%lanemask_ge" => LanemaskGe,
        "%lanemask_gt" => LanemaskGt,
        "%clock" => Clock,
        "%clock64" => Clock64,
        "%globaltimer" => Globaltimer,
        "%globaltimer_lo" => GlobaltimerLo,
        "%globaltimer_hi" => GlobaltimerHi,
        "%dynamic_smem_size" => DynamicSmemSize,
        "%total_smem_size" => TotalSmemSize,
        "%cluster_nctarank" => ClusterNctarank,
        "%cluster_ctarank" => ClusterCtarank,
        "%is_explicit_cluster" => IsExplicitCluster,
        _ => {
            if let Some(n) = base.strip_prefix("%envreg") {
                let n: u8 = n.parse::<u8>().ok().filter(|&n| n < 32)?;
                Envreg(n)
            } else if let Some(n) = base.strip_prefix("%pm") {
                let n: u8 = n.parse().ok().filter(|&n| n < 8)?;
                Pm(n)
            } else {
                return None;
            }
        }
    };
    if dim.is_some() {
        return None;
    }
    Some((r, None))
}

/// Doubles an integer type's width (the destination of `mul.wide`/`mad.wide`).
fn widened(t: ScalarType) -> ScalarType {
    use ScalarType::*;
    match t {
        U16 => U32,
        U32 => U64,
        S16 => S32,
        S32 => S64,
        B16 => B32,
        B32 => B64,
        other => other,
    }
}

impl<'s> Parser<'s> {
    // ---- token helpers -------------------------------------------------------------------

    fn tok(&self, i: usize) -> Tok {
        self.toks[i.min(self.toks.len() - 1)]
    }

    fn peek(&self) -> Tok {
        self.tok(self.pos)
    }

    fn peek_at(&self, n: usize) -> Tok {
        self.tok(self.pos + n)
    }

    fn text(&self, t: Tok) -> &'s str {
        let src: &'s str = self.src;
        src.get(t.start as usize..t.end as usize).unwrap_or("")
    }

    fn bump(&mut self) -> Tok {
        let t = self.peek();
        if t.kind != TokKind::Eof {
            self.pos += 1;
        }
        t
    }

    fn is_punct(&self, c: u8) -> bool {
        self.peek().kind == TokKind::Punct(c)
    }

    fn eat_punct(&mut self, c: u8) -> bool {
        if self.is_punct(c) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn err_tok(&self, t: Tok, kind: ErrorKind, msg: &str, expected: Option<&str>) -> Error {
        Error::at(
            self.src,
            t.start as usize,
            kind,
            msg,
            self.text(t),
            expected,
        )
    }

    fn err_idx(&self, i: u32, kind: ErrorKind, msg: &str, expected: Option<&str>) -> Error {
        self.err_tok(self.tok(i as usize), kind, msg, expected)
    }

    fn syntax(&self, expected: &str) -> Error {
        let t = self.peek();
        self.err_tok(t, ErrorKind::Syntax, "syntax error", Some(expected))
    }

    fn expect_punct(&mut self, c: u8) -> Result<Tok, Error> {
        if self.is_punct(c) {
            Ok(self.bump())
        } else {
            let e = format!("`{}`", c as char);
            Err(self.syntax(&e))
        }
    }

    fn expect_ident(&mut self, what: &str) -> Result<Tok, Error> {
        if self.peek().kind == TokKind::Ident {
            Ok(self.bump())
        } else {
            Err(self.syntax(what))
        }
    }

    /// An unsigned integer literal (sizes, counts, alignments).
    fn expect_u64(&mut self, what: &str) -> Result<u64, Error> {
        let t = self.peek();
        if t.kind == TokKind::Num {
            if let Some(Number::Int { value, .. }) = parse_number(self.text(t)) {
                self.pos += 1;
                return Ok(value);
            }
        }
        Err(self.syntax(what))
    }

    fn expect_u32(&mut self, what: &str) -> Result<u32, Error> {
        let t = self.peek();
        let v = self.expect_u64(what)?;
        u32::try_from(v)
            .map_err(|_| self.err_tok(t, ErrorKind::Limit, "value too large", Some(what)))
    }

    fn expect_align(&mut self) -> Result<u32, Error> {
        let t = self.peek();
        let a = self.expect_u32("an alignment")?;
        if a == 0 || !a.is_power_of_two() {
            return Err(self.err_tok(
                t,
                ErrorKind::Syntax,
                "alignment must be a power of two",
                Some("1, 2, 4, 8, 16, …"),
            ));
        }
        Ok(a)
    }

    fn tok_index(&self) -> u32 {
        self.pos as u32
    }

    // ---- module level --------------------------------------------------------------------

    fn module_items(&mut self) -> Result<(), Error> {
        loop {
            let t = self.peek();
            match t.kind {
                TokKind::Eof => return Ok(()),
                TokKind::Punct(b';') => {
                    self.pos += 1;
                }
                TokKind::Dir => self.module_directive()?,
                _ => return Err(self.syntax("a directive (`.version`, `.entry`, `.func`, …)")),
            }
        }
    }

    fn module_directive(&mut self) -> Result<(), Error> {
        let t = self.peek();
        let d = self.text(t);
        match d {
            ".version" => {
                self.pos += 1;
                let v = self.peek();
                let text = self.text(v);
                let parsed = if v.kind == TokKind::Num {
                    text.split_once('.')
                        .and_then(|(a, b)| Some((a.parse::<u32>().ok()?, b.parse::<u32>().ok()?)))
                } else {
                    None
                };
                let Some((maj, min)) = parsed else {
                    return Err(self.syntax("a version number like `8.5`"));
                };
                if !(1..=9).contains(&maj) || min > 99 {
                    return Err(self.err_tok(
                        v,
                        ErrorKind::Unsupported,
                        "unsupported PTX version",
                        Some("a version from 1.0 to 9.x"),
                    ));
                }
                self.pos += 1;
                self.module.version = (maj, min);
            }
            ".target" => {
                self.pos += 1;
                loop {
                    let tt = self.expect_ident("a target like `sm_80`")?;
                    let name = self.text(tt);
                    let ok = if let Some(rest) = name
                        .strip_prefix("sm_")
                        .or_else(|| name.strip_prefix("compute_"))
                    {
                        !rest.is_empty()
                            && rest.as_bytes()[0].is_ascii_digit()
                            && rest.bytes().all(|c| c.is_ascii_alphanumeric())
                    } else {
                        matches!(
                            name,
                            "texmode_unified" | "texmode_independent" | "debug" | "map_f64_to_f32"
                        )
                    };
                    if !ok {
                        return Err(self.err_tok(
                            tt,
                            ErrorKind::Unsupported,
                            "unsupported target",
                            Some("`sm_NN`, `compute_NN`, `texmode_*`, `debug` or `map_f64_to_f32`"),
                        ));
                    }
                    self.module.target.push(name.to_string());
                    if !self.eat_punct(b',') {
                        break;
                    }
                }
            }
            ".address_size" => {
                self.pos += 1;
                let v = self.peek();
                let n = self.expect_u64("32 or 64")?;
                if n != 32 && n != 64 {
                    return Err(self.err_tok(
                        v,
                        ErrorKind::Unsupported,
                        "unsupported address size",
                        Some("32 or 64"),
                    ));
                }
                self.module.address_size = n as u32;
            }
            ".file" => {
                self.pos += 1;
                self.expect_u64("a file number")?;
                if self.peek().kind != TokKind::Str {
                    return Err(self.syntax("a file name string"));
                }
                self.pos += 1;
                while self.eat_punct(b',') {
                    self.expect_u64("a timestamp or size")?;
                }
            }
            ".loc" => self.skip_loc(),
            ".section" => self.skip_section()?,
            ".pragma" => {
                self.pos += 1;
                self.pragma_strings()?;
            }
            ".alias" => {
                // `.alias a, b;` — keep parsing simple: both names must be functions.
                self.pos += 1;
                self.expect_ident("an alias name")?;
                self.expect_punct(b',')?;
                self.expect_ident("an aliasee name")?;
                self.expect_punct(b';')?;
            }
            _ => {
                let linkage = self.linkage();
                let t = self.peek();
                match self.text(t) {
                    ".entry" => {
                        self.pos += 1;
                        self.function(FunctionKind::Entry, linkage)?;
                    }
                    ".func" => {
                        self.pos += 1;
                        self.function(FunctionKind::Func, linkage)?;
                    }
                    ".global" | ".const" | ".shared" | ".local" | ".tex" if t.kind == TokKind::Dir => {
                        self.module_variables(linkage)?;
                    }
                    _ => {
                        return Err(self.err_tok(
                            t,
                            ErrorKind::Syntax,
                            "unknown or misplaced directive",
                            Some("`.version`, `.target`, `.entry`, `.func`, `.global`, `.const`, `.shared`, …"),
                        ))
                    }
                }
            }
        }
        Ok(())
    }

    /// Linkage directives in front of a function or variable.
    fn linkage(&mut self) -> Linkage {
        let mut l = Linkage::Internal;
        loop {
            let t = self.peek();
            if t.kind != TokKind::Dir {
                return l;
            }
            l = match self.text(t) {
                ".visible" => Linkage::Visible,
                ".extern" => Linkage::Extern,
                ".weak" => Linkage::Weak,
                ".common" => Linkage::Common,
                _ => return l,
            };
            self.pos += 1;
        }
    }

    /// `.loc file line col[, function_name sym, inlined_at f l c]`: skipped to the end of line.
    fn skip_loc(&mut self) {
        let line = self.peek().line;
        self.pos += 1;
        while self.peek().kind != TokKind::Eof && self.peek().line == line {
            if self.is_punct(b'}') || self.is_punct(b'{') {
                break;
            }
            self.pos += 1;
        }
    }

    /// `.section .debug_xxx { … }`: DWARF data the executor does not need.
    fn skip_section(&mut self) -> Result<(), Error> {
        self.pos += 1;
        let name = self.peek();
        if !matches!(name.kind, TokKind::Dir | TokKind::Ident) {
            return Err(self.syntax("a section name"));
        }
        self.pos += 1;
        let open = self.expect_punct(b'{')?;
        let mut depth = 1usize;
        loop {
            let t = self.bump();
            match t.kind {
                TokKind::Eof => {
                    return Err(self.err_tok(
                        open,
                        ErrorKind::Syntax,
                        "unterminated section",
                        Some("a closing `}`"),
                    ))
                }
                TokKind::Punct(b'{') => {
                    depth += 1;
                    if depth > MAX_BLOCK_DEPTH {
                        return Err(self.err_tok(t, ErrorKind::Limit, "nesting too deep", None));
                    }
                }
                TokKind::Punct(b'}') => {
                    depth -= 1;
                    if depth == 0 {
                        return Ok(());
                    }
                }
                _ => {}
            }
        }
    }

    fn pragma_strings(&mut self) -> Result<Vec<String>, Error> {
        let mut out = Vec::new();
        loop {
            let t = self.peek();
            if t.kind != TokKind::Str {
                return Err(self.syntax("a pragma string"));
            }
            self.pos += 1;
            let s = self.text(t);
            out.push(
                s.get(1..s.len().saturating_sub(1))
                    .unwrap_or("")
                    .to_string(),
            );
            if !self.eat_punct(b',') {
                break;
            }
        }
        self.expect_punct(b';')?;
        Ok(out)
    }

    fn module_variables(&mut self, linkage: Linkage) -> Result<(), Error> {
        let decls = self.variables(linkage, true)?;
        for d in decls {
            let id = self.module.globals.len();
            if let Some(&prev) = self.globals.get(d.name) {
                let prev_linkage = self.module.globals[prev].linkage;
                // `.extern` declarations may be repeated or followed by the definition.
                if prev_linkage == Linkage::Extern || d.var.linkage == Linkage::Extern {
                    if d.var.linkage != Linkage::Extern {
                        for (reloc, tok) in d.reloc_toks {
                            self.reloc_fixups.push(RelocFixup {
                                global: prev,
                                reloc,
                                tok,
                            });
                        }
                        self.module.globals[prev] = d.var;
                    }
                    continue;
                }
                return Err(self.err_idx(
                    d.name_tok,
                    ErrorKind::Duplicate,
                    "duplicate definition of module variable",
                    Some("a new name"),
                ));
            }
            if self.funcs.contains_key(d.name) {
                return Err(self.err_idx(
                    d.name_tok,
                    ErrorKind::Duplicate,
                    "name already used by a function",
                    Some("a new name"),
                ));
            }
            for (reloc, tok) in d.reloc_toks {
                self.reloc_fixups.push(RelocFixup {
                    global: id,
                    reloc,
                    tok,
                });
            }
            self.globals.insert(d.name, id);
            self.module.globals.push(d.var);
        }
        Ok(())
    }

    /// `<space> [.align N] [.vN] .type name[dims] [= init] {, name…};` at the current position
    /// (the space directive).
    fn variables(
        &mut self,
        linkage: Linkage,
        module_scope: bool,
    ) -> Result<Vec<VarDecl<'s>>, Error> {
        let st = self.bump();
        let space = ops::state_space(self.text(st).trim_start_matches('.')).ok_or_else(|| {
            self.err_tok(
                st,
                ErrorKind::Syntax,
                "expected a state space",
                Some("`.global`, `.shared`, …"),
            )
        })?;
        let mut align: Option<u32> = None;
        let mut vector = 1u8;
        let mut ty: Option<ScalarType> = None;
        loop {
            let t = self.peek();
            if t.kind != TokKind::Dir {
                break;
            }
            let d = self.text(t);
            self.pos += 1;
            match d {
                ".align" => align = Some(self.expect_align()?),
                ".v2" => vector = 2,
                ".v4" => vector = 4,
                ".v8" => vector = 8,
                ".texref" | ".samplerref" | ".surfref" => ty = Some(ScalarType::B64),
                ".attribute" => {
                    // `.attribute(.managed)` and the like.
                    self.expect_punct(b'(')?;
                    while !self.is_punct(b')') && self.peek().kind != TokKind::Eof {
                        self.pos += 1;
                    }
                    self.expect_punct(b')')?;
                }
                _ => match ops::scalar_type(&d[1..]) {
                    Some(s) => ty = Some(s),
                    None => {
                        return Err(self.err_tok(
                            t,
                            ErrorKind::Syntax,
                            "unknown variable attribute",
                            Some("`.align N`, `.v2`/`.v4`, or a type like `.b32`"),
                        ))
                    }
                },
            }
        }
        let Some(ty) = ty else {
            return Err(self.syntax("a type like `.b32`"));
        };
        let elem = u64::from(ty.size()) * u64::from(vector);
        let align = align.unwrap_or(elem as u32);
        let mut out = Vec::new();
        loop {
            let name_tok_i = self.tok_index();
            let nt = self.expect_ident("a variable name")?;
            let name = self.text(nt);
            let loc = SourceLoc {
                line: nt.line,
                col: nt.col,
            };
            // Array dimensions; `None` for `[]`.
            let mut dims: Vec<Option<u64>> = Vec::new();
            while self.eat_punct(b'[') {
                if self.eat_punct(b']') {
                    dims.push(None);
                    continue;
                }
                let n = self.expect_u64("an array size")?;
                self.expect_punct(b']')?;
                dims.push(Some(n));
                if dims.len() > 8 {
                    return Err(self.err_idx(
                        name_tok_i,
                        ErrorKind::Limit,
                        "too many array dimensions",
                        None,
                    ));
                }
            }
            let mut var = Variable {
                name: name.to_string(),
                space,
                linkage,
                ty,
                vector,
                count: 1,
                size: elem,
                align,
                init: None,
                relocations: Vec::new(),
                loc,
            };
            let mut reloc_toks = Vec::new();
            let inner: u64 = dims
                .iter()
                .skip(1)
                .try_fold(1u64, |acc, d| acc.checked_mul(d.unwrap_or(0)))
                .ok_or_else(|| {
                    self.err_idx(name_tok_i, ErrorKind::Limit, "array too large", None)
                })?;
            if dims.iter().skip(1).any(Option::is_none) {
                return Err(self.err_idx(
                    name_tok_i,
                    ErrorKind::Syntax,
                    "only the first array dimension may be left empty",
                    None,
                ));
            }
            let first = dims.first().copied();
            if self.eat_punct(b'=') {
                let mut writes: Vec<(u64, InitVal)> = Vec::new();
                // Scalar-unit dimensions: array dims, then the vector width.
                let mut unit_dims: Vec<Option<u64>> = dims.clone();
                if vector > 1 {
                    unit_dims.push(Some(u64::from(vector)));
                }
                let init_tok = self.peek();
                if self.is_punct(b'{') {
                    self.init_list(&unit_dims, 0, 0, &mut writes)?;
                } else {
                    let v = self.init_value()?;
                    writes.push((0, v));
                }
                let per_first = inner.saturating_mul(u64::from(vector));
                let count = match first {
                    Some(Some(n)) => n.checked_mul(inner),
                    Some(None) => {
                        let max = writes
                            .iter()
                            .map(|w| w.0.saturating_add(1))
                            .max()
                            .unwrap_or(0);
                        Some(max.div_ceil(per_first.max(1)).saturating_mul(inner))
                    }
                    None => Some(1),
                }
                .ok_or_else(|| {
                    self.err_idx(name_tok_i, ErrorKind::Limit, "array too large", None)
                })?;
                let size = count
                    .checked_mul(elem)
                    .filter(|&s| s <= MAX_INIT_BYTES)
                    .ok_or_else(|| {
                        self.err_tok(
                            init_tok,
                            ErrorKind::Limit,
                            "initialized variable larger than 64 MiB",
                            None,
                        )
                    })?;
                if size > self.init_left {
                    return Err(self.err_tok(
                        init_tok,
                        ErrorKind::Limit,
                        "initialized data in module larger than 256 MiB",
                        None,
                    ));
                }
                self.init_left -= size;
                let units = count * u64::from(vector);
                let esz = u64::from(ty.size());
                let mut bytes = vec![0u8; size as usize];
                for (idx, val) in writes {
                    if idx >= units {
                        return Err(self.err_tok(
                            init_tok,
                            ErrorKind::Syntax,
                            "too many initializers",
                            Some(&format!("at most {units} values")),
                        ));
                    }
                    let off = idx * esz;
                    match val {
                        InitVal::Num(n, neg) => {
                            let raw = encode(ty, n, neg);
                            let le = raw.to_le_bytes();
                            let o = off as usize;
                            let len = (esz as usize).min(8);
                            bytes[o..o + len].copy_from_slice(&le[..len]);
                        }
                        InitVal::Sym {
                            tok,
                            addend,
                            generic,
                        } => {
                            if esz != 4 && esz != 8 {
                                return Err(self.err_idx(
                                    tok,
                                    ErrorKind::Type,
                                    "a symbol address needs a 32- or 64-bit element",
                                    Some("`.u32`, `.u64`, `.b64`, …"),
                                ));
                            }
                            if !module_scope {
                                return Err(self.err_idx(
                                    tok,
                                    ErrorKind::Syntax,
                                    "symbol addresses are only allowed in module-scope initializers",
                                    None,
                                ));
                            }
                            reloc_toks.push((var.relocations.len(), tok));
                            var.relocations.push(Relocation {
                                offset: off,
                                target: UNRESOLVED,
                                addend,
                                generic,
                                size: esz as u8,
                            });
                        }
                    }
                }
                var.count = count;
                var.size = size;
                var.init = Some(bytes);
            } else {
                let count = match first {
                    Some(Some(n)) => n.checked_mul(inner),
                    Some(None) => Some(0),
                    None => Some(1),
                };
                let size = count.and_then(|c| c.checked_mul(elem));
                let (Some(count), Some(size)) = (count, size) else {
                    return Err(self.err_idx(
                        name_tok_i,
                        ErrorKind::Limit,
                        "array too large",
                        None,
                    ));
                };
                var.count = count;
                var.size = size;
            }
            out.push(VarDecl {
                var,
                name,
                name_tok: name_tok_i,
                reloc_toks,
            });
            if !self.eat_punct(b',') {
                break;
            }
        }
        self.expect_punct(b';')?;
        Ok(out)
    }

    /// A `{ … }` initializer list at scalar index `base` for dimensions `dims`.
    fn init_list(
        &mut self,
        dims: &[Option<u64>],
        base: u64,
        depth: usize,
        writes: &mut Vec<(u64, InitVal)>,
    ) -> Result<(), Error> {
        let open = self.expect_punct(b'{')?;
        if depth >= MAX_INIT_DEPTH {
            return Err(self.err_tok(
                open,
                ErrorKind::Limit,
                "initializer nested too deeply",
                None,
            ));
        }
        let stride: u64 = dims
            .iter()
            .skip(1)
            .map(|d| d.unwrap_or(1))
            .fold(1u64, u64::saturating_mul);
        let mut cursor = 0u64;
        if self.eat_punct(b'}') {
            return Ok(());
        }
        loop {
            if self.is_punct(b'{') {
                if dims.len() > 1 {
                    cursor = align_up(cursor, stride);
                    self.init_list(&dims[1..], base.saturating_add(cursor), depth + 1, writes)?;
                    cursor = cursor.saturating_add(stride);
                } else {
                    // Braces around a scalar: `{ {1}, {2} }`.
                    self.init_list(&[], base.saturating_add(cursor), depth + 1, writes)?;
                    cursor = cursor.saturating_add(1);
                }
            } else {
                let v = self.init_value()?;
                writes.push((base.saturating_add(cursor), v));
                cursor = cursor.saturating_add(1);
            }
            if let Some(Some(n)) = dims.first() {
                let limit = n.saturating_mul(stride);
                if cursor > limit {
                    let t = self.tok(self.pos.saturating_sub(1));
                    return Err(self.err_tok(
                        t,
                        ErrorKind::Syntax,
                        "too many initializers",
                        Some(&format!("at most {limit} values in this list")),
                    ));
                }
            } else if dims.is_empty() && cursor > 1 {
                let t = self.tok(self.pos.saturating_sub(1));
                return Err(self.err_tok(
                    t,
                    ErrorKind::Syntax,
                    "too many initializers",
                    Some("one value"),
                ));
            }
            if writes.len() > (MAX_INIT_BYTES as usize) {
                return Err(self.err_tok(open, ErrorKind::Limit, "initializer too long", None));
            }
            if !self.eat_punct(b',') {
                break;
            }
        }
        self.expect_punct(b'}')?;
        Ok(())
    }

    /// One initializer value: a number, `sym`, `sym+N`, `generic(sym)[+N]`.
    fn init_value(&mut self) -> Result<InitVal, Error> {
        let neg = self.eat_punct(b'-');
        let t = self.peek();
        match t.kind {
            TokKind::Num => {
                let n = parse_number(self.text(t)).ok_or_else(|| {
                    self.err_tok(
                        t,
                        ErrorKind::Syntax,
                        "malformed number",
                        Some("a PTX numeric literal"),
                    )
                })?;
                self.pos += 1;
                Ok(InitVal::Num(n, neg))
            }
            TokKind::Ident if !neg => {
                let name = self.text(t);
                let (tok, generic) =
                    if name == "generic" && self.peek_at(1).kind == TokKind::Punct(b'(') {
                        self.pos += 2;
                        let i = self.tok_index();
                        self.expect_ident("a symbol")?;
                        self.expect_punct(b')')?;
                        (i, true)
                    } else {
                        let i = self.tok_index();
                        self.pos += 1;
                        (i, false)
                    };
                let addend = self.opt_offset()?;
                Ok(InitVal::Sym {
                    tok,
                    addend,
                    generic,
                })
            }
            _ => Err(self.syntax("an initializer value")),
        }
    }

    /// An optional `+N`, `-N` or `+-N` after a symbol or register.
    fn opt_offset(&mut self) -> Result<i64, Error> {
        let t = self.peek();
        let mut neg = match t.kind {
            TokKind::Punct(b'+') => false,
            TokKind::Punct(b'-') => true,
            _ => return Ok(0),
        };
        self.pos += 1;
        if self.eat_punct(b'-') {
            neg = !neg;
        }
        let nt = self.peek();
        let n = if nt.kind == TokKind::Num {
            parse_number(self.text(nt))
        } else {
            None
        };
        let Some(Number::Int { value, .. }) = n else {
            return Err(self.syntax("an integer offset"));
        };
        self.pos += 1;
        let v = value as i64;
        Ok(if neg { v.wrapping_neg() } else { v })
    }

    // ---- functions -----------------------------------------------------------------------

    fn function(&mut self, kind: FunctionKind, linkage: Linkage) -> Result<(), Error> {
        let mut noreturn = false;
        let mut bounds = LaunchBounds::default();
        let mut pragmas = Vec::new();
        let mut scope0: Scope<'s> = Scope::default();
        let mut regs: Vec<RegDecl> = Vec::new();
        // Attributes before the name (`.func .attribute(...) name`).
        self.fn_directives(&mut bounds, &mut noreturn, &mut pragmas, true)?;
        let mut returns = Vec::new();
        if kind == FunctionKind::Func && self.is_punct(b'(') {
            returns = self.param_list(&mut scope0, &mut regs, true)?;
        }
        let name_i = self.tok_index();
        let nt = self.expect_ident("a function name")?;
        let name = self.text(nt);
        let params = if self.is_punct(b'(') {
            self.param_list(&mut scope0, &mut regs, false)?
        } else {
            Vec::new()
        };
        self.fn_directives(&mut bounds, &mut noreturn, &mut pragmas, false)?;
        let has_body = self.is_punct(b'{');
        if !has_body {
            self.expect_punct(b';')?;
        }
        let f = Function {
            name: name.to_string(),
            kind,
            linkage,
            params,
            returns,
            regs: Vec::new(),
            locals: Vec::new(),
            body: None,
            bounds,
            noreturn,
            pragmas: Vec::new(),
            loc: SourceLoc {
                line: nt.line,
                col: nt.col,
            },
        };
        if self.globals.contains_key(name) {
            return Err(self.err_idx(
                name_i,
                ErrorKind::Duplicate,
                "name already used by a module variable",
                Some("a new name"),
            ));
        }
        let id = match self.funcs.get(name) {
            Some(&prev) => {
                if has_body && self.has_body[prev] {
                    return Err(self.err_idx(
                        name_i,
                        ErrorKind::Duplicate,
                        "duplicate definition of function",
                        Some("a new name"),
                    ));
                }
                if has_body {
                    self.module.functions[prev] = f;
                }
                prev
            }
            None => {
                let id = self.module.functions.len();
                self.module.functions.push(f);
                self.has_body.push(false);
                self.funcs.insert(name, id);
                id
            }
        };
        if !has_body {
            return Ok(());
        }
        self.has_body[id] = true;
        let mut fs = FnState {
            id,
            regs,
            locals: Vec::new(),
            body: Vec::new(),
            pragmas,
            scopes: vec![scope0],
            all_labels: FxMap::default(),
        };
        self.pos += 1; // `{`
        self.block(&mut fs, 1)?;
        // The outermost scope is closed: any label still pending may live in a sibling block.
        let f = &mut self.module.functions[id];
        f.regs = fs.regs;
        f.locals = fs.locals;
        f.body = Some(fs.body);
        f.pragmas = fs.pragmas;
        Ok(())
    }

    fn fn_directives(
        &mut self,
        bounds: &mut LaunchBounds,
        noreturn: &mut bool,
        pragmas: &mut Vec<String>,
        before_name: bool,
    ) -> Result<(), Error> {
        loop {
            let t = self.peek();
            if t.kind != TokKind::Dir {
                return Ok(());
            }
            let d = self.text(t);
            match d {
                ".noreturn" => {
                    self.pos += 1;
                    *noreturn = true;
                }
                ".attribute" => {
                    self.pos += 1;
                    self.expect_punct(b'(')?;
                    let mut depth = 1;
                    while depth > 0 {
                        let t = self.bump();
                        match t.kind {
                            TokKind::Eof => return Err(self.syntax("`)`")),
                            TokKind::Punct(b'(') => depth += 1,
                            TokKind::Punct(b')') => depth -= 1,
                            _ => {}
                        }
                        if depth > 16 {
                            return Err(self.err_tok(
                                t,
                                ErrorKind::Limit,
                                "nesting too deep",
                                None,
                            ));
                        }
                    }
                }
                _ if before_name => return Ok(()),
                ".maxntid" | ".reqntid" | ".reqnctapercluster" => {
                    self.pos += 1;
                    let mut v = [1u32; 3];
                    for (i, slot) in v.iter_mut().enumerate() {
                        if i > 0 && !self.eat_punct(b',') {
                            break;
                        }
                        *slot = self.expect_u32("a thread count")?;
                    }
                    match d {
                        ".maxntid" => bounds.maxntid = Some(v),
                        ".reqntid" => bounds.reqntid = Some(v),
                        _ => {}
                    }
                }
                ".minnctapersm" | ".maxnctapersm" | ".maxnreg" | ".maxclusterrank" => {
                    self.pos += 1;
                    let n = self.expect_u32("a count")?;
                    match d {
                        ".minnctapersm" => bounds.minnctapersm = Some(n),
                        ".maxnctapersm" => bounds.maxnctapersm = Some(n),
                        ".maxnreg" => bounds.maxnreg = Some(n),
                        _ => {}
                    }
                }
                ".explicitcluster" | ".blocksareclusters" => {
                    self.pos += 1;
                }
                ".pragma" => {
                    self.pos += 1;
                    let p = self.pragma_strings()?;
                    pragmas.extend(p);
                }
                _ => return Ok(()),
            }
        }
    }

    /// `( .param .type name, … )` of a function, return list or prototype.
    fn param_list(
        &mut self,
        scope: &mut Scope<'s>,
        regs: &mut Vec<RegDecl>,
        returns: bool,
    ) -> Result<Vec<Param>, Error> {
        self.expect_punct(b'(')?;
        let mut params: Vec<Param> = Vec::new();
        let mut offset = 0u64;
        if self.eat_punct(b')') {
            return Ok(params);
        }
        loop {
            let st = self.peek();
            let space = self.text(st);
            if st.kind != TokKind::Dir || !matches!(space, ".param" | ".reg") {
                return Err(self.syntax("`.param` or `.reg`"));
            }
            self.pos += 1;
            let is_reg = space == ".reg";
            let mut align = None;
            let mut ty = None;
            let mut ptr: Option<PtrAttr> = None;
            loop {
                let t = self.peek();
                if t.kind != TokKind::Dir {
                    break;
                }
                let d = self.text(t);
                self.pos += 1;
                match d {
                    ".align" => {
                        let a = self.expect_align()?;
                        match &mut ptr {
                            Some(p) => p.align = a,
                            None => align = Some(a),
                        }
                    }
                    ".ptr" => {
                        ptr = Some(PtrAttr {
                            space: None,
                            align: 1,
                        })
                    }
                    ".global" | ".shared" | ".const" | ".local" if ptr.is_some() => {
                        if let Some(p) = &mut ptr {
                            p.space = ops::state_space(&d[1..]);
                        }
                    }
                    _ => match ops::scalar_type(&d[1..]) {
                        Some(s) => ty = Some(s),
                        None => {
                            return Err(self.err_tok(
                                t,
                                ErrorKind::Syntax,
                                "unknown parameter attribute",
                                Some("`.align N`, `.ptr`, or a type like `.u64`"),
                            ))
                        }
                    },
                }
            }
            let Some(ty) = ty else {
                return Err(self.syntax("a parameter type like `.u64`"));
            };
            let name_i = self.tok_index();
            let nt = self.expect_ident("a parameter name")?;
            let name = self.text(nt);
            let mut count = 1u64;
            while self.eat_punct(b'[') {
                if self.eat_punct(b']') {
                    count = 0;
                    continue;
                }
                let n = self.expect_u64("an array size")?;
                self.expect_punct(b']')?;
                count = count.saturating_mul(n);
            }
            let size = count.saturating_mul(u64::from(ty.size()));
            let (Ok(count32), Ok(size32)) = (u32::try_from(count), u32::try_from(size)) else {
                return Err(self.err_idx(name_i, ErrorKind::Limit, "parameter too large", None));
            };
            let align = align.unwrap_or(ty.size());
            let off = align_up(offset, u64::from(align));
            offset = off.saturating_add(size);
            let Ok(off32) = u32::try_from(off) else {
                return Err(self.err_idx(
                    name_i,
                    ErrorKind::Limit,
                    "parameter list too large",
                    None,
                ));
            };
            if name != "_" {
                if scope.vars.contains_key(name) || scope.regs.contains_key(name) {
                    return Err(self.err_idx(
                        name_i,
                        ErrorKind::Duplicate,
                        "duplicate parameter name",
                        Some("a new name"),
                    ));
                }
                if is_reg {
                    let id = regs.len() as RegId;
                    regs.push(RegDecl {
                        name: name.to_string(),
                        ty,
                        vector: None,
                    });
                    scope.regs.insert(name, id);
                } else {
                    let r = if returns {
                        SymbolRef::Return(params.len())
                    } else {
                        SymbolRef::Param(params.len())
                    };
                    scope.vars.insert(name, r);
                }
            }
            params.push(Param {
                name: name.to_string(),
                ty,
                count: count32,
                size: size32,
                align,
                offset: off32,
                ptr,
                loc: SourceLoc {
                    line: nt.line,
                    col: nt.col,
                },
            });
            if !self.eat_punct(b',') {
                break;
            }
        }
        self.expect_punct(b')')?;
        Ok(params)
    }

    // ---- function bodies -----------------------------------------------------------------

    /// Statements until the `}` closing the current block (already opened).
    fn block(&mut self, fs: &mut FnState<'s>, depth: usize) -> Result<(), Error> {
        loop {
            let t = self.peek();
            match t.kind {
                TokKind::Eof => return Err(self.syntax("`}` closing the function body")),
                TokKind::Punct(b'}') => {
                    self.pos += 1;
                    return self.close_scope(fs);
                }
                TokKind::Punct(b'{') => {
                    if depth >= MAX_BLOCK_DEPTH {
                        return Err(self.err_tok(
                            t,
                            ErrorKind::Limit,
                            "blocks nested too deeply",
                            Some("at most 256 levels"),
                        ));
                    }
                    self.pos += 1;
                    fs.scopes.push(Scope::default());
                    self.block(fs, depth + 1)?;
                }
                TokKind::Punct(b';') => self.pos += 1,
                TokKind::Dir => self.body_directive(fs)?,
                TokKind::Ident if self.peek_at(1).kind == TokKind::Punct(b':') => self.label(fs)?,
                TokKind::Ident | TokKind::Punct(b'@') => self.instruction(fs)?,
                _ => return Err(self.syntax("an instruction, label, directive or `}`")),
            }
        }
    }

    /// Resolves the innermost scope's pending branch targets and pops it.
    fn close_scope(&mut self, fs: &mut FnState<'s>) -> Result<(), Error> {
        let Some(scope) = fs.scopes.pop() else {
            return Ok(());
        };
        let outermost = fs.scopes.is_empty();
        for r in scope.pending {
            let name = self.text(self.tok(r.tok as usize));
            let target = match scope.labels.get(name) {
                Some(&i) => Some(i),
                None if outermost => fs.all_labels.get(name).copied().flatten(),
                None => None,
            };
            match target {
                Some(i) => patch(&mut fs.body, r.instr, r.operand, r.sub, Operand::Label(i)),
                None if outermost => {
                    return Err(self.err_idx(
                        r.tok,
                        ErrorKind::Undefined,
                        "undefined label",
                        Some("a label defined in this function"),
                    ))
                }
                None => {
                    if let Some(parent) = fs.scopes.last_mut() {
                        parent.pending.push(r);
                    }
                }
            }
        }
        Ok(())
    }

    fn label(&mut self, fs: &mut FnState<'s>) -> Result<(), Error> {
        let i = self.tok_index();
        let t = self.bump();
        let name = self.text(t);
        self.pos += 1; // `:`
        let next = self.peek();
        if next.kind == TokKind::Dir {
            match self.text(next) {
                ".callprototype" => {
                    self.pos += 1;
                    return self.prototype(fs, i, t);
                }
                dir @ (".branchtargets" | ".calltargets") => {
                    let is_call = dir == ".calltargets";
                    self.pos += 1;
                    let mut names = Vec::new();
                    loop {
                        names.push(self.tok_index());
                        self.expect_ident(if is_call {
                            "a function name"
                        } else {
                            "a label"
                        })?;
                        if !self.eat_punct(b',') {
                            break;
                        }
                    }
                    self.expect_punct(b';')?;
                    let scope = fs
                        .scopes
                        .last_mut()
                        .ok_or_else(|| self.syntax("a function body"))?;
                    let taken =
                        scope.targets.contains_key(name) || scope.calltargets.contains_key(name);
                    if taken {
                        return Err(self.err_idx(
                            i,
                            ErrorKind::Duplicate,
                            "duplicate target list",
                            Some("a new name"),
                        ));
                    }
                    if is_call {
                        scope.calltargets.insert(name, names);
                    } else {
                        scope.targets.insert(name, names);
                    }
                    return Ok(());
                }
                _ => {}
            }
        }
        let idx = fs.body.len() as u32;
        let Some(scope) = fs.scopes.last_mut() else {
            return Err(self.syntax("a function body"));
        };
        if scope.labels.insert(name, idx).is_some() {
            return Err(self.err_idx(
                i,
                ErrorKind::Duplicate,
                "duplicate label",
                Some("a new label name"),
            ));
        }
        fs.all_labels
            .entry(name)
            .and_modify(|v| *v = None)
            .or_insert(Some(idx));
        Ok(())
    }

    /// `name: .callprototype (.param …) _ (.param …);`
    fn prototype(&mut self, fs: &mut FnState<'s>, name_i: u32, nt: Tok) -> Result<(), Error> {
        let mut scratch = Scope::default();
        let mut regs = Vec::new();
        let mut bounds = LaunchBounds::default();
        let mut noreturn = false;
        let mut pragmas = Vec::new();
        let returns = if self.is_punct(b'(') {
            self.param_list(&mut scratch, &mut regs, true)?
        } else {
            Vec::new()
        };
        let u = self.expect_ident("`_`")?;
        if self.text(u) != "_" {
            return Err(self.err_tok(u, ErrorKind::Syntax, "syntax error", Some("`_`")));
        }
        let params = if self.is_punct(b'(') {
            self.param_list(&mut scratch, &mut regs, false)?
        } else {
            Vec::new()
        };
        self.fn_directives(&mut bounds, &mut noreturn, &mut pragmas, false)?;
        self.expect_punct(b';')?;
        let name = self.text(nt);
        let id = self.module.functions.len();
        self.module.functions.push(Function {
            name: name.to_string(),
            kind: FunctionKind::Func,
            linkage: Linkage::Internal,
            params,
            returns,
            regs: Vec::new(),
            locals: Vec::new(),
            body: None,
            bounds,
            noreturn,
            pragmas,
            loc: SourceLoc {
                line: nt.line,
                col: nt.col,
            },
        });
        self.has_body.push(false);
        let Some(scope) = fs.scopes.last_mut() else {
            return Err(self.syntax("a function body"));
        };
        if scope.protos.insert(name, id).is_some() {
            return Err(self.err_idx(
                name_i,
                ErrorKind::Duplicate,
                "duplicate prototype",
                Some("a new name"),
            ));
        }
        Ok(())
    }

    fn body_directive(&mut self, fs: &mut FnState<'s>) -> Result<(), Error> {
        let t = self.peek();
        match self.text(t) {
            ".reg" => self.reg_decl(fs),
            ".loc" => {
                self.skip_loc();
                Ok(())
            }
            ".pragma" => {
                self.pos += 1;
                let p = self.pragma_strings()?;
                fs.pragmas.extend(p);
                Ok(())
            }
            ".local" | ".shared" | ".param" | ".const" | ".global" => {
                let decls = self.variables(Linkage::Internal, false)?;
                self.add_locals(fs, decls)
            }
            ".extern" | ".visible" | ".weak" => {
                let l = self.linkage();
                let t2 = self.peek();
                if t2.kind == TokKind::Dir
                    && matches!(self.text(t2), ".shared" | ".global" | ".const" | ".local")
                {
                    let decls = self.variables(l, false)?;
                    self.add_locals(fs, decls)
                } else {
                    Err(self.syntax("a variable declaration"))
                }
            }
            _ => Err(self.err_tok(
                t,
                ErrorKind::Syntax,
                "unknown or misplaced directive in function body",
                Some("`.reg`, `.local`, `.shared`, `.param`, `.loc`, `.pragma` or an instruction"),
            )),
        }
    }

    fn add_locals(&mut self, fs: &mut FnState<'s>, decls: Vec<VarDecl<'s>>) -> Result<(), Error> {
        for d in decls {
            let Some(scope) = fs.scopes.last_mut() else {
                return Err(self.syntax("a function body"));
            };
            if scope.vars.contains_key(d.name) {
                return Err(self.err_idx(
                    d.name_tok,
                    ErrorKind::Duplicate,
                    "duplicate variable",
                    Some("a new name"),
                ));
            }
            scope.vars.insert(d.name, SymbolRef::Local(fs.locals.len()));
            fs.locals.push(d.var);
        }
        Ok(())
    }

    /// `.reg [.vN] .type %r<N>, %x, …;`
    fn reg_decl(&mut self, fs: &mut FnState<'s>) -> Result<(), Error> {
        self.pos += 1;
        let mut vector = None;
        let mut ty = None;
        loop {
            let t = self.peek();
            if t.kind != TokKind::Dir {
                break;
            }
            let d = self.text(t);
            self.pos += 1;
            match d {
                ".v2" => vector = Some(2),
                ".v4" => vector = Some(4),
                ".v8" => vector = Some(8),
                ".align" => {
                    self.expect_align()?;
                }
                _ => match ops::scalar_type(&d[1..]) {
                    Some(s) => ty = Some(s),
                    None => {
                        return Err(self.err_tok(
                            t,
                            ErrorKind::Syntax,
                            "unknown register type",
                            Some("a type like `.b32` or `.pred`"),
                        ))
                    }
                },
            }
        }
        let Some(ty) = ty else {
            return Err(self.syntax("a register type like `.b32`"));
        };
        loop {
            let ni = self.tok_index();
            let nt = self.expect_ident("a register name")?;
            let name = self.text(nt);
            let Some(scope) = fs.scopes.last_mut() else {
                return Err(self.syntax("a function body"));
            };
            if self.eat_punct(b'<') {
                let count = self.expect_u32("a register count")?;
                self.expect_punct(b'>')?;
                let Some(scope) = fs.scopes.last_mut() else {
                    return Err(self.syntax("a function body"));
                };
                if fs.regs.len() + count as usize > MAX_REGS || count as usize > self.regs_left {
                    return Err(self.err_idx(
                        ni,
                        ErrorKind::Limit,
                        "too many registers in one function",
                        Some("at most 1048576"),
                    ));
                }
                if scope.ranges.contains_key(name) {
                    return Err(self.err_idx(
                        ni,
                        ErrorKind::Duplicate,
                        "duplicate register declaration",
                        Some("a new name"),
                    ));
                }
                self.regs_left -= count as usize;
                let base = fs.regs.len() as RegId;
                scope.ranges.insert(name, (base, count));
                fs.regs.reserve(count as usize);
                let mut digits = [0u8; 10];
                for i in 0..count {
                    // `format!` is measurably slower here; nvcc declares thousands of these.
                    let mut n = i;
                    let mut k = digits.len();
                    loop {
                        k -= 1;
                        digits[k] = b'0' + (n % 10) as u8;
                        n /= 10;
                        if n == 0 {
                            break;
                        }
                    }
                    let mut reg = String::with_capacity(name.len() + digits.len() - k);
                    reg.push_str(name);
                    reg.extend(digits[k..].iter().map(|&d| char::from(d)));
                    fs.regs.push(RegDecl {
                        name: reg,
                        ty,
                        vector,
                    });
                }
            } else {
                if scope.regs.contains_key(name) || range_lookup(&scope.ranges, name).is_some() {
                    return Err(self.err_idx(
                        ni,
                        ErrorKind::Duplicate,
                        "duplicate register declaration",
                        Some("a new name"),
                    ));
                }
                if fs.regs.len() >= MAX_REGS {
                    return Err(self.err_idx(
                        ni,
                        ErrorKind::Limit,
                        "too many registers in one function",
                        None,
                    ));
                }
                let id = fs.regs.len() as RegId;
                scope.regs.insert(name, id);
                fs.regs.push(RegDecl {
                    name: name.to_string(),
                    ty,
                    vector,
                });
            }
            if !self.eat_punct(b',') {
                break;
            }
        }
        self.expect_punct(b';')?;
        Ok(())
    }

    fn lookup_reg(&self, fs: &FnState<'s>, name: &str) -> Option<RegId> {
        let numbered = name.as_bytes().last().is_some_and(u8::is_ascii_digit);
        for s in fs.scopes.iter().rev() {
            // Most names come from `%r<N>` ranges; try those first.
            if numbered && !s.ranges.is_empty() {
                if let Some(r) = range_lookup(&s.ranges, name) {
                    return Some(r);
                }
            }
            if !s.regs.is_empty() {
                if let Some(&r) = s.regs.get(name) {
                    return Some(r);
                }
            }
        }
        None
    }

    fn lookup_var(&self, fs: &FnState<'s>, name: &str) -> Option<SymbolRef> {
        for s in fs.scopes.iter().rev() {
            if let Some(&r) = s.vars.get(name) {
                return Some(r);
            }
        }
        if let Some(&g) = self.globals.get(name) {
            return Some(SymbolRef::Global(g));
        }
        self.funcs.get(name).map(|&f| SymbolRef::Function(f))
    }

    /// A register operand by token; errors when undeclared.
    fn reg_operand(&mut self, fs: &FnState<'s>, ti: u32) -> Result<Operand, Error> {
        let t = self.tok(ti as usize);
        let name = self.text(t);
        if let Some(r) = self.lookup_reg(fs, name) {
            return Ok(Operand::Reg(r));
        }
        if let Some((s, d)) = special_reg(name) {
            return Ok(Operand::Special(s, d));
        }
        Err(self.err_tok(
            t,
            ErrorKind::Undefined,
            "undefined register",
            Some("a register declared with `.reg`"),
        ))
    }

    fn instruction(&mut self, fs: &mut FnState<'s>) -> Result<(), Error> {
        let first = self.peek();
        let loc = SourceLoc {
            line: first.line,
            col: first.col,
        };
        let mut guard = None;
        if self.eat_punct(b'@') {
            let negate = self.eat_punct(b'!');
            let gi = self.tok_index();
            self.expect_ident("a predicate register")?;
            let Operand::Reg(r) = self.reg_operand(fs, gi)? else {
                return Err(self.err_idx(
                    gi,
                    ErrorKind::Operand,
                    "a guard must be a predicate register",
                    Some("`%p`"),
                ));
            };
            if fs.regs[r as usize].ty != ScalarType::Pred {
                return Err(self.err_idx(
                    gi,
                    ErrorKind::Type,
                    "guard register is not a predicate",
                    Some("a `.pred` register"),
                ));
            }
            guard = Some(Guard { reg: r, negate });
        }
        let opi = self.tok_index();
        let ot = self.expect_ident("an instruction")?;
        let full = self.text(ot);
        let mut parts = full.split('.');
        let base = parts.next().unwrap_or("");
        let Some(mut opcode) = ops::opcode(base) else {
            let shown = &full[..base.len()];
            return Err(Error::at(
                self.src,
                ot.start as usize,
                ErrorKind::UnknownInstruction,
                "unknown instruction",
                shown,
                Some("a PTX instruction"),
            ));
        };
        let mut types = Vec::new();
        let mut mods = Vec::new();
        if opcode == Opcode::Other {
            mods.push(Modifier::Hint(full.to_string()));
        }
        let mut off = base.len() + 1;
        let mut first_suffix = true;
        for part in parts {
            let here = off;
            off += part.len() + 1;
            if first_suffix && opcode == Opcode::Bar && part == "warp" {
                opcode = Opcode::BarWarp;
                first_suffix = false;
                continue;
            }
            first_suffix = false;
            match ops::suffix(opcode, part) {
                Some(Suffix::Type(t)) => types.push(t),
                Some(Suffix::Mod(m)) => {
                    if opcode != Opcode::Other {
                        mods.push(m);
                    }
                }
                None => {
                    return Err(Error::at(
                        self.src,
                        ot.start as usize + here - 1,
                        ErrorKind::UnknownModifier,
                        format!("unknown modifier for `{base}`"),
                        &full[here - 1..here + part.len()],
                        Some("a modifier or type this instruction accepts"),
                    ));
                }
            }
        }
        // Operands.
        let mut operands = Vec::new();
        self.op_toks.clear();
        if opcode == Opcode::Call {
            self.call_operands(fs, &mut operands)?;
        } else if !self.is_punct(b';') {
            loop {
                let idx = operands.len();
                if idx >= MAX_OPERANDS {
                    return Err(self.syntax("`;`"));
                }
                let ti = self.tok_index();
                self.op_toks.push(ti);
                let op = self.operand(fs, opcode, idx as u16)?;
                operands.push(op);
                if !self.eat_punct(b',') {
                    break;
                }
            }
        }
        let end_i = self.tok_index();
        self.expect_punct(b';')?;
        let inst = Instruction {
            guard,
            opcode,
            types,
            mods,
            operands,
            loc,
        };
        self.check(fs, &inst, opi, end_i)?;
        fs.body.push(inst);
        Ok(())
    }

    /// `call[.uni] [(rets),] target[, (args)][, prototype];` normalized to
    /// `[List(rets), target, List(args)]` plus `Prototype` for indirect calls.
    /// The function `name` (token `ti`) as operand `operand` (element `sub` of a list) of the
    /// instruction being parsed; a function declared later in the module is resolved at the end
    /// (a fixup).
    fn callee(
        &mut self,
        fs: &FnState<'s>,
        name: &str,
        ti: u32,
        operand: u16,
        sub: u16,
    ) -> Result<Operand, Error> {
        if let Some(&f) = self.funcs.get(name) {
            return Ok(Operand::Callee(f));
        }
        if self.lookup_var(fs, name).is_some() {
            return Err(self.err_idx(
                ti,
                ErrorKind::Operand,
                "call target is not a function",
                Some("a function name"),
            ));
        }
        self.fixups.push(Fixup {
            func: fs.id,
            instr: fs.body.len() as u32,
            operand,
            sub,
            tok: ti,
        });
        Ok(Operand::Callee(usize::MAX))
    }

    fn call_operands(&mut self, fs: &mut FnState<'s>, out: &mut Vec<Operand>) -> Result<(), Error> {
        let rets = if self.is_punct(b'(') {
            let l = self.list(fs, 0)?;
            self.expect_punct(b',')?;
            l
        } else {
            Operand::List(Vec::new())
        };
        out.push(rets);
        let ti = self.tok_index();
        let t = self.expect_ident("a function name or a register holding its address")?;
        let name = self.text(t);
        let target = if name.starts_with('%') || self.lookup_reg(fs, name).is_some() {
            match self.reg_operand(fs, ti)? {
                Operand::Reg(r) => Operand::Reg(r),
                _ => {
                    return Err(self.err_idx(
                        ti,
                        ErrorKind::Operand,
                        "call target must be a function or register",
                        None,
                    ))
                }
            }
        } else {
            self.callee(fs, name, ti, 1, NO_SUB)?
        };
        let indirect = matches!(target, Operand::Reg(_));
        out.push(target);
        let mut args = Operand::List(Vec::new());
        if self.eat_punct(b',') {
            if self.is_punct(b'(') {
                args = self.list(fs, 2)?;
                if self.eat_punct(b',') {
                    out.push(args);
                    args = Operand::Sink;
                }
            }
            if matches!(args, Operand::Sink) || !self.is_punct(b';') {
                let pi = self.tok_index();
                let pt = self.expect_ident("a prototype name")?;
                let pname = self.text(pt);
                if !indirect {
                    return Err(self.err_idx(
                        pi,
                        ErrorKind::Operand,
                        "a direct call takes no prototype",
                        Some("`;`"),
                    ));
                }
                let proto = fs
                    .scopes
                    .iter()
                    .rev()
                    .find_map(|s| s.protos.get(pname).copied());
                if out.len() == 2 {
                    out.push(Operand::List(Vec::new()));
                }
                if let Some(proto) = proto {
                    out.push(Operand::Prototype(proto));
                    return Ok(());
                }
                let list = fs
                    .scopes
                    .iter()
                    .rev()
                    .find_map(|s| s.calltargets.get(pname).cloned());
                let Some(list) = list else {
                    // A call table: `.global`/`.const` array initialized with function names.
                    if let Some(SymbolRef::Global(g)) = self.lookup_var(fs, pname) {
                        self.call_tables.push(CallTableFixup {
                            func: fs.id,
                            instr: fs.body.len() as u32,
                            global: g,
                            tok: pi,
                        });
                        out.push(Operand::Prototype(usize::MAX));
                        out.push(Operand::List(Vec::new()));
                        return Ok(());
                    }
                    return Err(self.err_idx(
                        pi,
                        ErrorKind::Undefined,
                        "undefined call prototype",
                        Some("a `.callprototype` or `.calltargets` label, or a call table"),
                    ));
                };
                let mut callees = Vec::with_capacity(list.len());
                for (sub, lt) in list.into_iter().enumerate() {
                    let fname = self.text(self.tok(lt as usize));
                    callees.push(self.callee(fs, fname, lt, 4, sub as u16)?);
                }
                let first = match callees.first() {
                    Some(Operand::Callee(f)) => *f,
                    _ => usize::MAX,
                };
                out.push(Operand::Prototype(first));
                out.push(Operand::List(callees));
                return Ok(());
            }
        }
        if indirect {
            let t = self.peek();
            return Err(self.err_tok(
                t,
                ErrorKind::Operand,
                "an indirect call needs a prototype",
                Some("`, prototype_name`"),
            ));
        }
        out.push(args);
        Ok(())
    }

    /// A parenthesised `call` argument or return list.
    fn list(&mut self, fs: &mut FnState<'s>, idx: u16) -> Result<Operand, Error> {
        self.expect_punct(b'(')?;
        let mut items = Vec::new();
        if !self.eat_punct(b')') {
            loop {
                if items.len() >= MAX_OPERANDS {
                    return Err(self.syntax("`)`"));
                }
                let sub = items.len() as u16;
                let op = self.simple_operand(fs, Opcode::Call, idx, sub)?;
                items.push(op);
                if !self.eat_punct(b',') {
                    break;
                }
            }
            self.expect_punct(b')')?;
        }
        Ok(Operand::List(items))
    }

    /// One operand of a non-`call` instruction.
    fn operand(
        &mut self,
        fs: &mut FnState<'s>,
        opcode: Opcode,
        idx: u16,
    ) -> Result<Operand, Error> {
        let t = self.peek();
        match t.kind {
            TokKind::Punct(b'[') => self.address(fs, idx),
            TokKind::Punct(b'{') => {
                self.pos += 1;
                let mut items = Vec::new();
                loop {
                    if items.len() >= MAX_OPERANDS {
                        return Err(self.syntax("`}`"));
                    }
                    let sub = items.len() as u16;
                    let op = self.simple_operand(fs, opcode, idx, sub)?;
                    if !matches!(op, Operand::Reg(_) | Operand::Imm(_) | Operand::Sink) {
                        return Err(self.err_tok(
                            t,
                            ErrorKind::Operand,
                            "vector elements must be registers, immediates or `_`",
                            None,
                        ));
                    }
                    items.push(op);
                    if !self.eat_punct(b',') {
                        break;
                    }
                }
                self.expect_punct(b'}')?;
                Ok(Operand::Vector(items))
            }
            TokKind::Ident if opcode == Opcode::Brx && idx == 1 => {
                self.pos += 1;
                let name = self.text(t);
                let list = fs
                    .scopes
                    .iter()
                    .rev()
                    .find_map(|s| s.targets.get(name).cloned());
                let Some(list) = list else {
                    return Err(self.err_tok(
                        t,
                        ErrorKind::Undefined,
                        "undefined branch target list",
                        Some("a `.branchtargets` label"),
                    ));
                };
                let mut items = Vec::with_capacity(list.len());
                for (sub, lt) in list.into_iter().enumerate() {
                    items.push(Operand::Label(u32::MAX));
                    if let Some(scope) = fs.scopes.last_mut() {
                        scope.pending.push(LabelRef {
                            instr: fs.body.len() as u32,
                            operand: idx,
                            sub: sub as u16,
                            tok: lt,
                        });
                    }
                }
                Ok(Operand::List(items))
            }
            _ => {
                let op = self.simple_operand(fs, opcode, idx, NO_SUB)?;
                // `%p|%q` destination pairs.
                if self.is_punct(b'|') {
                    self.pos += 1;
                    let second = self.simple_operand(fs, opcode, idx, 1)?;
                    if !matches!(op, Operand::Reg(_) | Operand::Sink)
                        || !matches!(second, Operand::Reg(_) | Operand::Sink)
                    {
                        return Err(self.err_tok(
                            t,
                            ErrorKind::Operand,
                            "`|` pairs must be registers",
                            None,
                        ));
                    }
                    return Ok(Operand::Vector(vec![op, second]));
                }
                Ok(op)
            }
        }
    }

    /// A register, `!%p`, immediate, `_`, symbol or label.
    fn simple_operand(
        &mut self,
        fs: &mut FnState<'s>,
        opcode: Opcode,
        idx: u16,
        sub: u16,
    ) -> Result<Operand, Error> {
        let ti = self.tok_index();
        let t = self.peek();
        match t.kind {
            TokKind::Punct(b'!') => {
                self.pos += 1;
                let ri = self.tok_index();
                self.expect_ident("a predicate register")?;
                match self.reg_operand(fs, ri)? {
                    Operand::Reg(r) => Ok(Operand::NotReg(r)),
                    _ => Err(self.err_idx(
                        ri,
                        ErrorKind::Operand,
                        "only registers can be negated",
                        Some("`!%p`"),
                    )),
                }
            }
            TokKind::Punct(b'-') | TokKind::Num => {
                let neg = self.eat_punct(b'-');
                let nt = self.peek();
                if nt.kind != TokKind::Num {
                    return Err(self.syntax("a number"));
                }
                self.pos += 1;
                let n = parse_number(self.text(nt)).ok_or_else(|| {
                    self.err_tok(
                        nt,
                        ErrorKind::Syntax,
                        "malformed number",
                        Some("a PTX numeric literal"),
                    )
                })?;
                let imm = make_imm(n, neg).ok_or_else(|| {
                    self.err_tok(
                        nt,
                        ErrorKind::Syntax,
                        "integer literal out of range",
                        Some("a 64-bit value"),
                    )
                })?;
                Ok(Operand::Imm(imm))
            }
            TokKind::Ident => {
                self.pos += 1;
                let name = self.text(t);
                if name == "_" {
                    return Ok(Operand::Sink);
                }
                if name.starts_with('%') {
                    return self.reg_operand(fs, ti);
                }
                if opcode != Opcode::Bra {
                    // Register names need no `%` (cuda_fp16.h's inline asm declares
                    // `.reg .pred __$temp3;`).
                    if let Some(r) = self.lookup_reg(fs, name) {
                        return Ok(Operand::Reg(r));
                    }
                }
                if name == "WARP_SZ" {
                    // The predefined warp-size constant.
                    return Ok(Operand::Imm(Imm::Int(32)));
                }
                if opcode == Opcode::Bra {
                    let Some(scope) = fs.scopes.last_mut() else {
                        return Err(self.syntax("a function body"));
                    };
                    scope.pending.push(LabelRef {
                        instr: fs.body.len() as u32,
                        operand: idx,
                        sub,
                        tok: ti,
                    });
                    return Ok(Operand::Label(u32::MAX));
                }
                let off = self.opt_offset()?;
                match self.lookup_var(fs, name) {
                    Some(s) => Ok(Operand::Symbol(s, off)),
                    None => {
                        self.fixups.push(Fixup {
                            func: fs.id,
                            instr: fs.body.len() as u32,
                            operand: idx,
                            sub,
                            tok: ti,
                        });
                        Ok(Operand::Symbol(UNRESOLVED, off))
                    }
                }
            }
            _ => Err(self.syntax("an operand")),
        }
    }

    /// `[reg]`, `[reg+off]`, `[sym+off]`, `[imm]`.
    fn address(&mut self, fs: &mut FnState<'s>, idx: u16) -> Result<Operand, Error> {
        self.pos += 1; // `[`
        let ti = self.tok_index();
        let t = self.peek();
        let base = match t.kind {
            TokKind::Ident => {
                self.pos += 1;
                let name = self.text(t);
                if let Some(r) = self.lookup_reg(fs, name) {
                    AddrBase::Reg(r)
                } else if name.starts_with('%') {
                    match self.reg_operand(fs, ti)? {
                        Operand::Reg(r) => AddrBase::Reg(r),
                        _ => {
                            return Err(self.err_idx(
                                ti,
                                ErrorKind::Operand,
                                "a special register cannot be an address",
                                Some("a register or symbol"),
                            ))
                        }
                    }
                } else {
                    match self.lookup_var(fs, name) {
                        Some(s) => AddrBase::Symbol(s),
                        None => {
                            self.fixups.push(Fixup {
                                func: fs.id,
                                instr: fs.body.len() as u32,
                                operand: idx,
                                sub: NO_SUB,
                                tok: ti,
                            });
                            AddrBase::Symbol(UNRESOLVED)
                        }
                    }
                }
            }
            TokKind::Num => {
                let n = parse_number(self.text(t));
                let Some(Number::Int { value, .. }) = n else {
                    return Err(self.syntax("an address"));
                };
                self.pos += 1;
                let off = self.opt_offset()?;
                self.expect_punct(b']')?;
                return Ok(Operand::Addr(Address {
                    base: AddrBase::Absolute,
                    offset: (value as i64).wrapping_add(off),
                }));
            }
            _ => return Err(self.syntax("a register, symbol or number inside `[ ]`")),
        };
        let offset = self.opt_offset()?;
        if self.is_punct(b',') {
            // Texture, surface and tensor-copy operands: `[tex, {%f1, %f2}]`.
            let first = match base {
                AddrBase::Reg(r) if offset == 0 => Operand::Reg(r),
                AddrBase::Symbol(s) if offset == 0 => Operand::Symbol(s, 0),
                _ => return Err(self.syntax("`]`")),
            };
            let mut items = vec![first];
            while self.eat_punct(b',') {
                if items.len() >= 16 {
                    return Err(self.syntax("`]`"));
                }
                let t = self.peek();
                let item = if self.is_punct(b'{') {
                    self.operand(fs, Opcode::Tex, idx)?
                } else if t.kind == TokKind::Ident && !self.text(t).starts_with('%') {
                    return Err(self.syntax("a register, immediate or vector"));
                } else {
                    self.simple_operand(fs, Opcode::Tex, idx, NO_SUB)?
                };
                items.push(item);
            }
            self.expect_punct(b']')?;
            return Ok(Operand::List(items));
        }
        self.expect_punct(b']')?;
        Ok(Operand::Addr(Address { base, offset }))
    }

    // ---- checks --------------------------------------------------------------------------

    fn check(
        &self,
        fs: &FnState<'s>,
        inst: &Instruction,
        opi: u32,
        end_i: u32,
    ) -> Result<(), Error> {
        let op = inst.opcode;
        let opname = self.text(self.tok(opi as usize));
        if let Some((lo, hi)) = ops::type_count(op, &inst.mods) {
            let n = inst.types.len();
            if n < lo || n > hi {
                let exp = match (lo, hi) {
                    (0, 1) => "at most one type suffix".to_string(),
                    (a, b) if a == b => {
                        format!("{a} type suffix{}", if a == 1 { "" } else { "es" })
                    }
                    (a, b) => format!("{a} to {b} type suffixes"),
                };
                return Err(self.err_idx(
                    opi,
                    ErrorKind::UnknownModifier,
                    "wrong number of type suffixes",
                    Some(&exp),
                ));
            }
        }
        self.check_packed_int(inst, opi)?;
        let n = inst.operands.len();
        let op_tok = |i: usize| self.op_toks.get(i).copied().unwrap_or(end_i);
        match op {
            Opcode::Bra => {
                if n != 1 || !matches!(inst.operands[0], Operand::Label(_)) {
                    let at = if n == 0 { end_i } else { op_tok(0) };
                    return Err(self.err_idx(
                        at,
                        ErrorKind::Operand,
                        "`bra` takes one label",
                        Some("a label"),
                    ));
                }
                return Ok(());
            }
            Opcode::Brx => {
                if n != 2
                    || !matches!(inst.operands[0], Operand::Reg(_))
                    || !matches!(inst.operands[1], Operand::List(_))
                {
                    let at = if n == 0 { end_i } else { op_tok(0) };
                    return Err(self.err_idx(
                        at,
                        ErrorKind::Operand,
                        "`brx.idx` takes an index register and a target list",
                        Some("`%r, targets`"),
                    ));
                }
                return Ok(());
            }
            Opcode::Call => return Ok(()),
            _ => {}
        }
        let Some(shape) = ops::operand_shape(op, &inst.mods) else {
            return Ok(());
        };
        if n < shape.min || n > shape.max {
            let exp = if shape.min == shape.max {
                format!(
                    "{} operand{}",
                    shape.min,
                    if shape.min == 1 { "" } else { "s" }
                )
            } else {
                format!("{} to {} operands", shape.min, shape.max)
            };
            let at = if n > shape.max {
                op_tok(shape.max)
            } else {
                end_i
            };
            return Err(self.err_idx(
                at,
                ErrorKind::Operand,
                &format!("wrong number of operands for `{opname}`"),
                Some(&exp),
            ));
        }
        let vec_mod = inst.vector();
        for (i, (o, spec)) in inst.operands.iter().zip(shape.specs).enumerate() {
            let k = match o {
                Operand::Reg(_) => kind::REG,
                Operand::NotReg(_) => kind::NOT,
                Operand::Imm(_) => kind::IMM,
                Operand::Special(..) => kind::SPECIAL,
                Operand::Symbol(..) => kind::SYM,
                Operand::Addr(_) => kind::ADDR,
                Operand::Vector(v) => {
                    // `%p|%q` pairs are two-element vectors; accept where PIPE or VEC is.
                    if spec.kinds & kind::PIPE != 0 && v.len() == 2 {
                        kind::PIPE
                    } else {
                        kind::VEC
                    }
                }
                Operand::Label(_) => kind::LABEL,
                Operand::Sink => kind::SINK,
                Operand::List(_) => kind::LIST,
                Operand::Callee(_) | Operand::Prototype(_) => kind::SYM,
            };
            if spec.kinds & k == 0 {
                return Err(self.err_idx(
                    op_tok(i),
                    ErrorKind::Operand,
                    &format!("operand {} of `{opname}` has the wrong kind", i + 1),
                    Some(&kinds_text(spec.kinds)),
                ));
            }
            // Destination vectors hold registers (or `_`), never immediates.
            if let Operand::Vector(v) = o {
                if spec.kinds & kind::SINK != 0 && v.iter().any(|e| matches!(e, Operand::Imm(_))) {
                    return Err(self.err_idx(
                        op_tok(i),
                        ErrorKind::Operand,
                        "a destination vector cannot hold immediates",
                        Some("registers or `_`"),
                    ));
                }
            }
            // Vector lengths of ld/st/atom.
            if let Operand::Vector(v) = o {
                if matches!(
                    op,
                    Opcode::Ld | Opcode::Ldu | Opcode::St | Opcode::Atom | Opcode::Red
                ) {
                    let want = vec_mod.map_or(1, usize::from);
                    if v.len() != want {
                        return Err(self.err_idx(
                            op_tok(i),
                            ErrorKind::Operand,
                            "vector operand length does not match the instruction",
                            Some(&format!(
                                "{want} element{}",
                                if want == 1 { "" } else { "s" }
                            )),
                        ));
                    }
                }
            } else if vec_mod.is_some()
                && matches!(op, Opcode::Ld | Opcode::Ldu | Opcode::St)
                && spec.role == Role::T0Wide
            {
                return Err(self.err_idx(
                    op_tok(i),
                    ErrorKind::Operand,
                    "a `.vN` access needs a vector operand",
                    Some("`{%r1, %r2, …}`"),
                ));
            }
            // Register types.
            let Some((want, wide, cvt)) = self.role_type(inst, spec.role) else {
                continue;
            };
            let check_reg = |r: RegId| -> Result<(), Error> {
                let Some(decl) = fs.regs.get(r as usize) else {
                    return Ok(());
                };
                let ok = ops::compatible(decl.ty, want, wide)
                    || (cvt && int_like(decl.ty) && int_like(want));
                if ok {
                    Ok(())
                } else {
                    Err(self.err_idx(
                        op_tok(i),
                        ErrorKind::Type,
                        &format!(
                            "register `{}` is {} but operand {} of `{opname}` is {}",
                            decl.name,
                            decl.ty,
                            i + 1,
                            want
                        ),
                        Some(&format!("a register compatible with {want}")),
                    ))
                }
            };
            match o {
                Operand::Reg(r) | Operand::NotReg(r) => check_reg(*r)?,
                Operand::Vector(v) if k == kind::PIPE => {
                    // `%d|%p`: the second register is always a predicate.
                    if let Some(Operand::Reg(r)) = v.first() {
                        check_reg(*r)?;
                    }
                    if let Some(Operand::Reg(r)) = v.get(1) {
                        if fs
                            .regs
                            .get(*r as usize)
                            .is_some_and(|d| d.ty != ScalarType::Pred)
                        {
                            return Err(self.err_idx(
                                op_tok(i),
                                ErrorKind::Type,
                                "the register after `|` must be a predicate",
                                Some("a `.pred` register"),
                            ));
                        }
                    }
                }
                Operand::Vector(v) if op != Opcode::Mov => {
                    for e in v {
                        if let Operand::Reg(r) = e {
                            check_reg(*r)?;
                        }
                    }
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// The packed 16-bit integer types (`.u16x2`, `.s16x2`) exist only in `add`, `min` and
    /// `max`, with no modifier but `.relu` on `min`/`max.s16x2` (PTX ISA 8.0), and with register
    /// operands only: ptxas 13.0 refuses `sub` with them and immediate operands.
    fn check_packed_int(&self, inst: &Instruction, opi: u32) -> Result<(), Error> {
        let Some(ty) = inst.types.iter().copied().find(|t| t.is_packed_int()) else {
            return Ok(());
        };
        if ops::is_exotic(inst.opcode) {
            return Ok(());
        }
        let t = self.tok(opi as usize);
        let full = self.text(t);
        // Points at suffix `.name` of the instruction token.
        let at_suffix = |name: &str, msg: String, exp: &str| {
            let off = full
                .match_indices('.')
                .map(|(i, _)| i)
                .find(|&i| full[i + 1..].split('.').next().is_some_and(|s| s == name))
                .unwrap_or(0);
            let end = (off + 1 + name.len()).min(full.len());
            Error::at(
                self.src,
                t.start as usize + off,
                ErrorKind::UnknownModifier,
                msg,
                &full[off..end],
                Some(exp),
            )
        };
        let tname = &ty.name()[1..];
        let op = inst.opcode;
        if !matches!(op, Opcode::Add | Opcode::Min | Opcode::Max) {
            let base = full.split('.').next().unwrap_or("");
            return Err(at_suffix(
                tname,
                format!("`{base}` does not take type {ty}"),
                "`add`, `min` or `max` for packed 16-bit integers",
            ));
        }
        if inst.operands.iter().any(|o| matches!(o, Operand::Imm(_))) {
            return Err(at_suffix(
                tname,
                format!("{ty} operands must be registers"),
                "a `.b32` register for each operand",
            ));
        }
        for m in &inst.mods {
            let relu_ok = *m == Modifier::Relu
                && ty == ScalarType::S16x2
                && matches!(op, Opcode::Min | Opcode::Max);
            if relu_ok {
                continue;
            }
            let name = match m {
                Modifier::Sat => "sat",
                Modifier::Relu => "relu",
                Modifier::Cc => "cc",
                Modifier::Ftz => "ftz",
                Modifier::NaN => "NaN",
                Modifier::XorSign => "xorsign",
                Modifier::Abs => "abs",
                Modifier::Hi => "hi",
                Modifier::Lo => "lo",
                Modifier::Wide => "wide",
                _ => tname,
            };
            return Err(at_suffix(
                name,
                format!("modifier not allowed with {ty}"),
                if ty == ScalarType::S16x2 && matches!(op, Opcode::Min | Opcode::Max) {
                    "no modifier but `.relu`"
                } else {
                    "no modifier"
                },
            ));
        }
        Ok(())
    }

    /// The type a register in role `role` must be compatible with: (type, wider allowed,
    /// any integer width allowed).
    fn role_type(&self, inst: &Instruction, role: Role) -> Option<(ScalarType, bool, bool)> {
        let t0 = inst.types.first().copied();
        match role {
            Role::T0 => t0.map(|t| (t, false, false)),
            Role::T1 => inst
                .types
                .get(1)
                .or(inst.types.first())
                .map(|&t| (t, false, false)),
            Role::Wide => t0.map(|t| {
                if inst.has(Modifier::Wide) {
                    (widened(t), false, false)
                } else {
                    (t, false, false)
                }
            }),
            Role::T0Wide => t0.map(|t| (t, true, false)),
            Role::Cvt0 => t0.map(|t| (t, true, true)),
            Role::Cvt1 => inst.types.last().map(|&t| (t, true, true)),
            Role::Pred => Some((ScalarType::Pred, false, false)),
            Role::B32 => Some((ScalarType::U32, false, false)),
            Role::Any => None,
        }
    }

    // ---- module-level resolution ---------------------------------------------------------

    fn resolve_module(&mut self) -> Result<(), Error> {
        let fixups = std::mem::take(&mut self.fixups);
        for fx in fixups {
            let t = self.tok(fx.tok as usize);
            let name = self.text(t);
            let is_callee = matches!(
                self.module
                    .functions
                    .get(fx.func)
                    .and_then(|f| f.body.as_ref())
                    .and_then(|b| b.get(fx.instr as usize)),
                Some(Instruction {
                    opcode: Opcode::Call,
                    ..
                })
            ) && ((fx.operand == 1 && fx.sub == NO_SUB) || fx.operand == 4);
            let target = if is_callee {
                self.funcs.get(name).map(|&f| SymbolRef::Function(f))
            } else if let Some(&g) = self.globals.get(name) {
                Some(SymbolRef::Global(g))
            } else {
                self.funcs.get(name).map(|&f| SymbolRef::Function(f))
            };
            let Some(target) = target else {
                let what = if is_callee {
                    "undefined function"
                } else {
                    "undefined symbol"
                };
                return Err(self.err_tok(
                    t,
                    ErrorKind::Undefined,
                    what,
                    Some("a declared variable or function"),
                ));
            };
            if let Some(body) = self
                .module
                .functions
                .get_mut(fx.func)
                .and_then(|f| f.body.as_mut())
            {
                let new = match target {
                    SymbolRef::Function(f) if is_callee => Operand::Callee(f),
                    s => Operand::Symbol(s, 0),
                };
                // The first `.calltargets` function is also the call's prototype.
                if let (true, 4, 0, SymbolRef::Function(f)) =
                    (is_callee, fx.operand, fx.sub, target)
                {
                    patch(body, fx.instr, 3, NO_SUB, Operand::Prototype(f));
                }
                patch(body, fx.instr, fx.operand, fx.sub, new);
            }
        }
        let relocs = std::mem::take(&mut self.reloc_fixups);
        for rf in relocs {
            let t = self.tok(rf.tok as usize);
            let name = self.text(t);
            let target = if let Some(&g) = self.globals.get(name) {
                SymbolRef::Global(g)
            } else if let Some(&f) = self.funcs.get(name) {
                SymbolRef::Function(f)
            } else {
                return Err(self.err_tok(
                    t,
                    ErrorKind::Undefined,
                    "undefined symbol in initializer",
                    Some("a declared variable or function"),
                ));
            };
            if let Some(r) = self
                .module
                .globals
                .get_mut(rf.global)
                .and_then(|g| g.relocations.get_mut(rf.reloc))
            {
                r.target = target;
            }
        }
        for ct in std::mem::take(&mut self.call_tables) {
            let g = &self.module.globals[ct.global];
            let mut relocs: Vec<&Relocation> = g.relocations.iter().collect();
            relocs.sort_by_key(|r| r.offset);
            let mut seen: FxMap<FuncId, ()> = FxMap::default();
            let mut callees = Vec::new();
            let mut all_functions = true;
            for r in relocs {
                match r.target {
                    SymbolRef::Function(f) => {
                        if seen.insert(f, ()).is_none() {
                            callees.push(Operand::Callee(f));
                        }
                    }
                    _ => all_functions = false,
                }
            }
            let space_ok = matches!(g.space, StateSpace::Global | StateSpace::Const);
            if !space_ok || !all_functions || callees.is_empty() {
                return Err(self.err_idx(
                    ct.tok,
                    ErrorKind::Operand,
                    "a call table must be a `.global` or `.const` array of function addresses",
                    Some("a `.calltargets` label, a `.callprototype` label or a call table"),
                ));
            }
            let first = match callees[0] {
                Operand::Callee(f) => f,
                _ => usize::MAX,
            };
            if let Some(body) = self
                .module
                .functions
                .get_mut(ct.func)
                .and_then(|f| f.body.as_mut())
            {
                patch(body, ct.instr, 3, NO_SUB, Operand::Prototype(first));
                patch(body, ct.instr, 4, NO_SUB, Operand::List(callees));
            }
        }
        Ok(())
    }
}

fn int_like(t: ScalarType) -> bool {
    !t.is_float()
        && t != ScalarType::Pred
        && !matches!(
            t,
            ScalarType::E4M3 | ScalarType::E5M2 | ScalarType::E4M3x2 | ScalarType::E5M2x2
        )
}

fn kinds_text(k: u16) -> String {
    let mut v = Vec::new();
    for (bit, name) in [
        (kind::REG, "a register"),
        (kind::IMM, "an immediate"),
        (kind::SPECIAL, "a special register"),
        (kind::SYM, "a symbol"),
        (kind::VEC, "a vector `{…}`"),
        (kind::ADDR, "an address `[…]`"),
        (kind::NOT, "`!%p`"),
        (kind::SINK, "`_`"),
        (kind::PIPE, "`%p|%q`"),
        (kind::LABEL, "a label"),
    ] {
        if k & bit != 0 {
            v.push(name);
        }
    }
    v.join(" or ")
}

/// Looks `name` up among `%r<N>` range declarations.
fn range_lookup(ranges: &FxMap<&str, (RegId, u32)>, name: &str) -> Option<RegId> {
    let b = name.as_bytes();
    let mut split = b.len();
    while split > 0 && b[split - 1].is_ascii_digit() {
        split -= 1;
    }
    // Try every split point inside the trailing digits (prefixes may end in digits); a
    // register index has at most 10 digits.
    let mut s = split.max(b.len().saturating_sub(10));
    while s < b.len() {
        let digits = &name[s..];
        if digits.len() == 1 || !digits.starts_with('0') {
            if let Some(&(base, count)) = ranges.get(&name[..s]) {
                if let Ok(n) = digits.parse::<u32>() {
                    if n < count {
                        return Some(base + n);
                    }
                }
            }
        }
        s += 1;
    }
    None
}

/// An immediate from a literal, negated when `neg`.
fn make_imm(n: Number, neg: bool) -> Option<Imm> {
    Some(match n {
        Number::Int { value, unsigned } => {
            if neg {
                if value > (i64::MAX as u64) + 1 {
                    return None;
                }
                Imm::Int((value as i64).wrapping_neg())
            } else if unsigned {
                Imm::UInt(value)
            } else {
                Imm::Int(value as i64)
            }
        }
        Number::F32(b) => Imm::F32(if neg { b ^ 0x8000_0000 } else { b }),
        Number::F64(b) | Number::Dec(b) => Imm::F64(if neg { b ^ (1 << 63) } else { b }),
    })
}

/// The little-endian bit pattern of initializer value `n` stored as `ty`.
fn encode(ty: ScalarType, n: Number, neg: bool) -> u64 {
    use ScalarType as T;
    let as_f64 = |n: Number| -> f64 {
        match n {
            Number::Int { value, unsigned } => {
                if unsigned {
                    value as f64
                } else {
                    value as i64 as f64
                }
            }
            Number::F32(b) => f64::from(f32::from_bits(b)),
            Number::F64(b) | Number::Dec(b) => f64::from_bits(b),
        }
    };
    match ty {
        T::F32 => {
            let bits = match n {
                Number::F32(b) => b,
                other => (as_f64(other) as f32).to_bits(),
            };
            u64::from(if neg { bits ^ 0x8000_0000 } else { bits })
        }
        T::F64 => {
            let bits = match n {
                Number::F64(b) | Number::Dec(b) => b,
                other => as_f64(other).to_bits(),
            };
            if neg {
                bits ^ (1 << 63)
            } else {
                bits
            }
        }
        _ => {
            let raw = match n {
                Number::Int { value, .. } => value,
                Number::F32(b) => u64::from(b),
                Number::F64(b) => b,
                Number::Dec(b) => {
                    let v = f64::from_bits(b);
                    if ty.size() == 4 {
                        u64::from((v as f32).to_bits())
                    } else if ty.size() == 8 {
                        b
                    } else {
                        v as i64 as u64
                    }
                }
            };
            if neg {
                raw.wrapping_neg()
            } else {
                raw
            }
        }
    }
}

/// Replaces the placeholder at `operand`/`sub` of instruction `instr` with `new`, keeping a
/// symbol's offset or an address's offset.
fn patch(body: &mut [Instruction], instr: u32, operand: u16, sub: u16, new: Operand) {
    let Some(inst) = body.get_mut(instr as usize) else {
        return;
    };
    let Some(mut slot) = inst.operands.get_mut(operand as usize) else {
        return;
    };
    if sub != NO_SUB {
        match slot {
            Operand::List(v) | Operand::Vector(v) => match v.get_mut(sub as usize) {
                Some(s) => slot = s,
                None => return,
            },
            _ => {}
        }
    }
    match (slot, new) {
        (Operand::Symbol(s, _), Operand::Symbol(n, _)) => *s = n,
        (Operand::Addr(a), Operand::Symbol(n, _)) => a.base = AddrBase::Symbol(n),
        (slot, new) => *slot = new,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn range_lookup_handles_digit_prefixes_and_bounds() {
        let mut m: FxMap<&str, (RegId, u32)> = FxMap::default();
        m.insert("%r", (10, 5));
        m.insert("%r2_", (100, 3));
        m.insert("%x1", (200, 20));
        assert_eq!(range_lookup(&m, "%r0"), Some(10));
        assert_eq!(range_lookup(&m, "%r4"), Some(14));
        assert_eq!(range_lookup(&m, "%r5"), None);
        assert_eq!(range_lookup(&m, "%r04"), None);
        assert_eq!(range_lookup(&m, "%r2_2"), Some(102));
        assert_eq!(range_lookup(&m, "%x119"), Some(219));
        assert_eq!(range_lookup(&m, "%x1"), None);
        let long = format!("%r{}", "9".repeat(100_000));
        assert_eq!(range_lookup(&m, &long), None);
    }

    #[test]
    fn immediates_and_initializer_encoding() {
        let int = |value, unsigned| Number::Int { value, unsigned };
        assert_eq!(make_imm(int(5, false), true), Some(Imm::Int(-5)));
        assert_eq!(make_imm(int(1 << 63, true), true), Some(Imm::Int(i64::MIN)));
        assert_eq!(make_imm(int(u64::MAX, true), true), None);
        assert_eq!(make_imm(int(7, true), false), Some(Imm::UInt(7)));
        assert_eq!(
            make_imm(Number::F32(0x3F80_0000), true),
            Some(Imm::F32(0xBF80_0000))
        );
        assert_eq!(encode(ScalarType::F32, int(2, false), false), 0x4000_0000);
        assert_eq!(
            encode(ScalarType::F32, Number::Dec(0.5f64.to_bits()), true),
            u64::from((-0.5f32).to_bits())
        );
        assert_eq!(encode(ScalarType::S32, int(5, false), true), (-5i64) as u64);
        assert_eq!(
            encode(ScalarType::F64, Number::F32(0x3F80_0000), false),
            1.0f64.to_bits()
        );
    }

    #[test]
    fn special_registers() {
        assert_eq!(special_reg("%tid.x"), Some((SpecialReg::Tid, Some(Dim::X))));
        assert_eq!(special_reg("%ctaid"), Some((SpecialReg::Ctaid, None)));
        assert_eq!(
            special_reg("%envreg31"),
            Some((SpecialReg::Envreg(31), None))
        );
        assert_eq!(special_reg("%envreg32"), None);
        assert_eq!(special_reg("%pm7"), Some((SpecialReg::Pm(7), None)));
        assert_eq!(special_reg("%laneid.x"), None);
        assert_eq!(special_reg("%tid.w"), None);
        assert_eq!(special_reg("%bogus"), None);
    }

    #[test]
    fn widened_and_aligned() {
        assert_eq!(widened(ScalarType::S32), ScalarType::S64);
        assert_eq!(widened(ScalarType::U16), ScalarType::U32);
        assert_eq!(align_up(9, 8), 16);
        assert_eq!(align_up(16, 8), 16);
        assert_eq!(align_up(3, 1), 3);
        assert_eq!(align_up(u64::MAX, 16), u64::MAX);
    }
}
