//! Property tests: mutated or truncated PTX never panics and errors point inside the input;
//! layout-only changes (whitespace, comments) leave the IR unchanged; literals round-trip.

use ferrocuda_ptx::ir::*;
use ferrocuda_ptx::{describe::describe, parse};
use proptest::prelude::*;

fn samples() -> Vec<String> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/samples");
    let mut v: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "ptx"))
        .collect();
    v.sort();
    v.iter()
        .map(|p| std::fs::read_to_string(p).unwrap())
        .collect()
}

/// Asserts `src` parses or fails with a position inside it.
fn check_positioned(src: &str) {
    if let Err(e) = parse(src) {
        let lines: Vec<&str> = src.split('\n').collect();
        assert!(e.line >= 1 && (e.line as usize) <= lines.len(), "{e}");
        let line = lines[e.line as usize - 1];
        assert!(e.col >= 1 && (e.col as usize) <= line.len() + 1, "{e}");
        assert!(!e.to_string().is_empty());
    }
}

#[derive(Debug, Clone)]
enum Edit {
    Truncate(usize),
    Delete(usize, usize),
    Insert(usize, String),
    Duplicate(usize, usize),
    Swap(usize, usize),
}

fn edit() -> impl Strategy<Value = Edit> {
    let tokens = prop::sample::select(vec![
        "{",
        "}",
        "[",
        "]",
        "(",
        ")",
        ";",
        ",",
        "|",
        "@",
        "!",
        "%r1",
        "%p1",
        "$L__BB0_2",
        ".reg",
        ".b32",
        ".v4",
        "-",
        "+",
        "0x",
        "0f3F800000",
        "\"",
        "/*",
        "//",
        "\n",
        "<100>",
        "_",
        "ld.global.u32",
        "bra",
        "call.uni",
        ":",
    ]);
    prop_oneof![
        any::<usize>().prop_map(Edit::Truncate),
        (any::<usize>(), 0usize..64).prop_map(|(a, n)| Edit::Delete(a, n)),
        (any::<usize>(), tokens.prop_map(str::to_string)).prop_map(|(a, t)| Edit::Insert(a, t)),
        (any::<usize>(), any::<String>()).prop_map(|(a, t)| Edit::Insert(a, t)),
        (any::<usize>(), 0usize..200).prop_map(|(a, n)| Edit::Duplicate(a, n)),
        (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Edit::Swap(a, b)),
    ]
}

fn floor_char(s: &str, mut i: usize) -> usize {
    i = i.min(s.len());
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

fn apply(src: &mut String, e: &Edit) {
    match e {
        Edit::Truncate(a) => {
            let a = floor_char(src, a % (src.len() + 1));
            src.truncate(a);
        }
        Edit::Delete(a, n) => {
            let a = floor_char(src, a % (src.len() + 1));
            let b = floor_char(src, a + n);
            src.replace_range(a..b, "");
        }
        Edit::Insert(a, t) => {
            let a = floor_char(src, a % (src.len() + 1));
            src.insert_str(a, t);
        }
        Edit::Duplicate(a, n) => {
            let a = floor_char(src, a % (src.len() + 1));
            let b = floor_char(src, a + n);
            let piece = src[a..b].to_string();
            src.insert_str(b, &piece);
        }
        Edit::Swap(a, b) => {
            let (mut a, mut b) = (
                floor_char(src, a % (src.len() + 1)),
                floor_char(src, b % (src.len() + 1)),
            );
            if a > b {
                std::mem::swap(&mut a, &mut b);
            }
            let piece = src[a..b].to_string();
            src.replace_range(a..b, "");
            src.push_str(&piece);
        }
    }
}

/// The IR without source positions, for comparing layouts of the same program.
fn strip_locs(mut m: Module) -> Module {
    for g in &mut m.globals {
        g.loc = SourceLoc::default();
    }
    for f in &mut m.functions {
        f.loc = SourceLoc::default();
        for p in f.params.iter_mut().chain(f.returns.iter_mut()) {
            p.loc = SourceLoc::default();
        }
        for l in &mut f.locals {
            l.loc = SourceLoc::default();
        }
        for i in f.body.iter_mut().flatten() {
            i.loc = SourceLoc::default();
        }
    }
    m
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn mutations_never_panic(which in any::<prop::sample::Index>(),
                             edits in prop::collection::vec(edit(), 1..6)) {
        let all = samples();
        let mut src = which.get(&all).clone();
        for e in &edits {
            apply(&mut src, e);
        }
        check_positioned(&src);
    }

    #[test]
    fn arbitrary_text_never_panics(s in "\\PC{0,400}") {
        check_positioned(&s);
    }

    #[test]
    fn whitespace_and_comments_do_not_change_the_ir(which in any::<prop::sample::Index>(),
                                                    seed in any::<u64>()) {
        let all = samples();
        let src = which.get(&all);
        // Insert layout after every `,` and `;` (never inside `.loc` lines, which end at
        // the newline, or inside strings).
        let fills = [" ", "\t ", " /* c */ ", "  ", " /**/"];
        let mut out = String::with_capacity(src.len() * 2);
        let mut k = seed;
        for line in src.split_inclusive('\n') {
            if line.contains(".loc") || line.contains('"') {
                out.push_str(line);
                continue;
            }
            for ch in line.chars() {
                out.push(ch);
                if ch == ',' || ch == ';' {
                    k = k.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                    out.push_str(fills[(k >> 33) as usize % fills.len()]);
                }
            }
        }
        let a = parse(src).unwrap();
        let b = parse(&out).unwrap();
        prop_assert_eq!(describe(&a), describe(&b));
        prop_assert_eq!(strip_locs(a), strip_locs(b));
    }

    #[test]
    fn integer_literals_round_trip(v in any::<u64>(), base in 0u8..4, unsigned in any::<bool>()) {
        let lit = match base {
            0 => format!("{v}"),
            1 => format!("0x{v:X}"),
            2 => format!("0{v:o}"),
            _ => format!("0b{v:b}"),
        };
        let lit = if unsigned { format!("{lit}U") } else { lit };
        let src = format!(".version 8.0\n.target sm_80\n.entry k()\n{{\n.reg .b64 %rd;\n\
                           mov.b64 %rd, {lit};\n}}\n");
        let m = parse(&src).unwrap();
        let op = &m.functions[0].body.as_ref().unwrap()[0].operands[1];
        let want = if unsigned || v > i64::MAX as u64 { Imm::UInt(v) } else { Imm::Int(v as i64) };
        // `0` in octal spelling is just `00`; both are the value 0.
        prop_assert_eq!(op, &Operand::Imm(want));
    }

    #[test]
    fn float_literals_keep_exact_bits(b32 in any::<u32>(), b64 in any::<u64>()) {
        let src = format!(".version 8.0\n.target sm_80\n.entry k()\n{{\n.reg .f32 %f;\n\
                           .reg .f64 %d;\nmov.f32 %f, 0f{b32:08X};\nmov.f64 %d, 0D{b64:016x};\n}}\n");
        let m = parse(&src).unwrap();
        let body = m.functions[0].body.as_ref().unwrap();
        prop_assert_eq!(&body[0].operands[1], &Operand::Imm(Imm::F32(b32)));
        prop_assert_eq!(&body[1].operands[1], &Operand::Imm(Imm::F64(b64)));
    }

    #[test]
    fn kernel_params_pack_at_their_alignment(
        params in prop::collection::vec((0usize..6, prop::option::of(0u32..5), 1u32..5), 1..12)
    ) {
        let tys = [(".u8", 1u32), (".u16", 2), (".u32", 4), (".u64", 8), (".f32", 4), (".f64", 8)];
        let mut decl = Vec::new();
        let mut expect = Vec::new();
        let mut off = 0u32;
        for (i, (t, align_log, count)) in params.iter().enumerate() {
            let (name, size) = tys[*t];
            let align = align_log.map_or(size, |l| 1 << l);
            let a = match align_log {
                Some(l) => format!(".align {} ", 1u32 << l),
                None => String::new(),
            };
            let arr = if *count > 1 { format!("[{count}]") } else { String::new() };
            decl.push(format!(".param {a}{name} p{i}{arr}"));
            off = off.div_ceil(align) * align;
            expect.push((off, size * count, align));
            off += size * count;
        }
        let src = format!(".version 8.0\n.target sm_80\n.entry k({})\n{{\nret;\n}}\n", decl.join(", "));
        let m = parse(&src).unwrap();
        let got: Vec<(u32, u32, u32)> = m.functions[0].params.iter().map(|p| (p.offset, p.size, p.align)).collect();
        prop_assert_eq!(got, expect);
        prop_assert_eq!(m.functions[0].param_bytes(), off);
    }
}
