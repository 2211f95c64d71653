//! Replays results recorded on an NVIDIA H100 (`testdata/h100.txt`) through [`lower`]: every
//! IEEE-exact and integer form must reproduce the GPU's bits, NaN payloads and carry flags
//! included.

use super::{lower, Alu};
use ferrocuda_ptx::ir::{
    self, BoolOp, CmpOp, Modifier as M, Opcode as O, PrmtMode, Rounding, ScalarType as T, TestClass,
};

const DATA: &str = include_str!("testdata/h100.txt");

fn scalar(s: &str) -> Option<T> {
    Some(match s {
        "pred" => T::Pred,
        "b8" => T::B8,
        "b16" => T::B16,
        "b32" => T::B32,
        "b64" => T::B64,
        "u8" => T::U8,
        "u16" => T::U16,
        "u32" => T::U32,
        "u64" => T::U64,
        "s8" => T::S8,
        "s16" => T::S16,
        "s32" => T::S32,
        "s64" => T::S64,
        "f16" => T::F16,
        "f16x2" => T::F16x2,
        "bf16" => T::BF16,
        "bf16x2" => T::BF16x2,
        "tf32" => T::TF32,
        "f32" => T::F32,
        "f64" => T::F64,
        "e4m3x2" => T::E4M3x2,
        "e5m2x2" => T::E5M2x2,
        _ => return None,
    })
}

fn cmp_op(s: &str) -> Option<CmpOp> {
    Some(match s {
        "eq" => CmpOp::Eq,
        "ne" => CmpOp::Ne,
        "lt" => CmpOp::Lt,
        "le" => CmpOp::Le,
        "gt" => CmpOp::Gt,
        "ge" => CmpOp::Ge,
        "lo" => CmpOp::Lo,
        "ls" => CmpOp::Ls,
        "hi" => CmpOp::Hi,
        "hs" => CmpOp::Hs,
        "equ" => CmpOp::Equ,
        "neu" => CmpOp::Neu,
        "ltu" => CmpOp::Ltu,
        "leu" => CmpOp::Leu,
        "gtu" => CmpOp::Gtu,
        "geu" => CmpOp::Geu,
        "num" => CmpOp::Num,
        "nan" => CmpOp::Nan,
        _ => return None,
    })
}

fn opcode(s: &str) -> O {
    match s {
        "add" => O::Add,
        "sub" => O::Sub,
        "mul" => O::Mul,
        "mad" => O::Mad,
        "fma" => O::Fma,
        "div" => O::Div,
        "rem" => O::Rem,
        "abs" => O::Abs,
        "neg" => O::Neg,
        "min" => O::Min,
        "max" => O::Max,
        "rcp" => O::Rcp,
        "sqrt" => O::Sqrt,
        "copysign" => O::Copysign,
        "testp" => O::Testp,
        "addc" => O::Addc,
        "subc" => O::Subc,
        "madc" => O::Madc,
        "mul24" => O::Mul24,
        "mad24" => O::Mad24,
        "sad" => O::Sad,
        "popc" => O::Popc,
        "clz" => O::Clz,
        "bfind" => O::Bfind,
        "brev" => O::Brev,
        "not" => O::Not,
        "cnot" => O::Cnot,
        "and" => O::And,
        "bfe" => O::Bfe,
        "bfi" => O::Bfi,
        "bmsk" => O::Bmsk,
        "szext" => O::Szext,
        "shf" => O::Shf,
        "shl" => O::Shl,
        "shr" => O::Shr,
        "prmt" => O::Prmt,
        "lop3" => O::Lop3,
        "dp4a" => O::Dp4a,
        "dp2a" => O::Dp2a,
        "setp" => O::Setp,
        "set" => O::Set,
        "selp" => O::Selp,
        "slct" => O::Slct,
        "cvt" => O::Cvt,
        other => panic!("opcode {other} in the test data"),
    }
}

/// The instruction as the parser would produce it from `text` (`add.rn.f32`).
fn instruction(text: &str, nsrc: usize) -> ir::Instruction {
    let mut parts = text.split('.');
    let op = opcode(parts.next().unwrap_or_default());
    let (mut types, mut mods) = (vec![], vec![]);
    for p in parts {
        if let Some(t) = scalar(p) {
            types.push(t);
            continue;
        }
        if matches!(op, O::Setp | O::Set) {
            if let Some(c) = cmp_op(p) {
                mods.push(M::Cmp(c));
                continue;
            }
        }
        mods.push(match p {
            "rn" => M::Round(Rounding::Rn),
            "rz" => M::Round(Rounding::Rz),
            "rm" => M::Round(Rounding::Rm),
            "rp" => M::Round(Rounding::Rp),
            "rna" => M::Round(Rounding::Rna),
            "rni" => M::Round(Rounding::Rni),
            "rzi" => M::Round(Rounding::Rzi),
            "rmi" => M::Round(Rounding::Rmi),
            "rpi" => M::Round(Rounding::Rpi),
            "ftz" => M::Ftz,
            "sat" => M::Sat,
            "relu" => M::Relu,
            "NaN" => M::NaN,
            "xorsign" => M::XorSign,
            "abs" => M::Abs,
            "hi" => M::Hi,
            "lo" => M::Lo,
            "wide" => M::Wide,
            "cc" => M::Cc,
            "and" => M::Bool(BoolOp::And),
            "or" => M::Bool(BoolOp::Or),
            "xor" => M::Bool(BoolOp::Xor),
            "wrap" => M::Wrap,
            "clamp" => M::Clamp,
            "shiftamt" => M::ShiftAmt,
            "l" => M::Left,
            "r" => M::Right,
            "f4e" => M::PrmtMode(PrmtMode::F4e),
            "b4e" => M::PrmtMode(PrmtMode::B4e),
            "rc8" => M::PrmtMode(PrmtMode::Rc8),
            "ecl" => M::PrmtMode(PrmtMode::Ecl),
            "ecr" => M::PrmtMode(PrmtMode::Ecr),
            "rc16" => M::PrmtMode(PrmtMode::Rc16),
            "finite" => M::Test(TestClass::Finite),
            "infinite" => M::Test(TestClass::Infinite),
            "number" => M::Test(TestClass::Number),
            "notanumber" => M::Test(TestClass::NotANumber),
            "normal" => M::Test(TestClass::Normal),
            "subnormal" => M::Test(TestClass::Subnormal),
            other => M::Hint(other.to_string()),
        });
    }
    let mut operands = vec![ir::Operand::Reg(0)];
    operands.extend((1..=nsrc as u32).map(ir::Operand::Reg));
    ir::Instruction {
        guard: None,
        opcode: op,
        types,
        mods,
        operands,
        loc: ir::SourceLoc::default(),
    }
}

fn hex(s: &str) -> u64 {
    u64::from_str_radix(s, 16).unwrap_or_else(|e| panic!("bad hex {s}: {e}"))
}

#[test]
fn h100_results_reproduce_bit_for_bit() {
    let f = ir::Function {
        name: "k".into(),
        kind: ir::FunctionKind::Entry,
        linkage: ir::Linkage::Visible,
        params: vec![],
        returns: vec![],
        regs: vec![],
        locals: vec![],
        body: None,
        bounds: Default::default(),
        noreturn: false,
        pragmas: vec![],
        loc: ir::SourceLoc::default(),
    };
    let (mut checked, mut failures) = (0, vec![]);
    for line in DATA
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        let w: Vec<&str> = line.split(' ').collect();
        let (text, form) = (w[0], w[1]);
        let (form, imms) = match form.split_once(':') {
            Some((f, i)) => (f, i.split(',').map(|x| x.parse::<u64>().unwrap()).collect()),
            None => (form, vec![]),
        };
        let nsrc: usize = w[2].parse().unwrap();
        let dbits: u32 = w[3].parse().unwrap();
        let mut src: Vec<u64> = w[4].split(',').map(hex).collect();
        src.truncate(nsrc.max(3));
        let cin = w[5] == "1";
        let (want_d, want_e) = (hex(w[6]), hex(w[7]));
        let mut args: Vec<u64> = src[..nsrc].to_vec();
        args.extend(&imms);
        let inst = instruction(text, args.len());
        let alu = lower(&inst, &f)
            .unwrap_or_else(|e| panic!("{text}: {e}"))
            .unwrap_or_else(|| panic!("{text}: not an ALU op"));
        let at = |i: usize| args.get(i).copied();
        let (d, e) = match (&alu, form) {
            (Alu::F1(g), _) => (g(args[0]), None),
            (Alu::F2(g), _) => (g(args[0], args[1]), None),
            (Alu::F3(g), _) => (g(args[0], args[1], args[2]), None),
            (Alu::F4(g), _) => (g(args[0], args[1], args[2], args[3]), None),
            (Alu::Cmp(g), "setp") => {
                let (p, q) = g(args[0], args[1], at(2).unwrap_or(1));
                (p, Some(q))
            }
            (Alu::Cmp(g), _) => (g(args[0], args[1], at(2).unwrap_or(1)).0, None),
            (Alu::Carry(g), _) => {
                let (r, c) = g(args[0], args[1], at(2).unwrap_or(0), cin);
                // Forms without .cc leave the flag as it was.
                let flag = if text.contains(".cc") { c } else { cin };
                (r, Some(flag as u64))
            }
        };
        let mask = if dbits >= 64 {
            u64::MAX
        } else {
            (1 << dbits) - 1
        };
        checked += 1;
        if d & mask != want_d || e.is_some_and(|e| e != want_e) {
            failures.push(format!("{line}  → got {:x} {:?}", d & mask, e));
        }
    }
    assert!(checked > 5000, "only {checked} vectors");
    assert!(
        failures.is_empty(),
        "{} of {checked} differ from the GPU:\n{}",
        failures.len(),
        failures[..failures.len().min(20)].join("\n")
    );
}
