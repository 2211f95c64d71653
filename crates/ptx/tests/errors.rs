//! Bad PTX is rejected with a precise diagnostic: line, column, offending text, expectation.

use ferrocuda_ptx::{parse, ErrorKind};

const HEAD: &str = ".version 8.0\n.target sm_80\n.address_size 64\n";

/// Wraps `body` in a kernel with a few registers; the body starts on line 7.
fn kernel(body: &str) -> String {
    format!(
        "{HEAD}.visible .entry k(.param .u64 p)\n{{\n.reg .b32 %r<4>;\n.reg .pred %p<2>;\n.reg .f32 %f<2>;\n.reg .b64 %rd<2>;\n{body}\n}}\n"
    )
}

/// Asserts an error of `kind` at (`line`, `col`) whose token is `found`.
fn err_at(src: &str, kind: ErrorKind, line: u32, col: u32, found: &str) -> String {
    let e = parse(src).expect_err("must be rejected");
    assert_eq!(e.kind, kind, "{e}");
    assert_eq!((e.line, e.col), (line, col), "{e}");
    assert_eq!(e.found, found, "{e}");
    e.to_string()
}

const L: u32 = 10; // first body line of `kernel`

#[test]
fn unknown_instruction() {
    let text = err_at(
        &kernel("\tadd.s32 %r1, %r2, %r3;\n\tadd2.s32 %r1, %r2, %r3;"),
        ErrorKind::UnknownInstruction,
        L + 1,
        2,
        "add2",
    );
    assert!(
        text.starts_with("11:2: unknown instruction (found `add2`, expected a PTX instruction)")
    );
    assert!(
        text.ends_with("\tadd2.s32 %r1, %r2, %r3;\n\t^^^^"),
        "{text}"
    );
}

#[test]
fn unknown_modifier_points_at_the_suffix() {
    let text = err_at(
        &kernel("\tadd.sat.s33 %r1, %r2, %r3;"),
        ErrorKind::UnknownModifier,
        L,
        9,
        ".s33",
    );
    assert!(text.contains("unknown modifier for `add`"), "{text}");
}

#[test]
fn operand_count() {
    let text = err_at(
        &kernel("\tadd.s32 %r1, %r2;"),
        ErrorKind::Operand,
        L,
        18,
        ";",
    );
    assert!(text.contains("expected 3 operands"), "{text}");
    err_at(
        &kernel("\tneg.s32 %r1, %r2, %r3;"),
        ErrorKind::Operand,
        L,
        20,
        "%r3",
    );
}

#[test]
fn operand_kind() {
    let text = err_at(
        &kernel("\tadd.s32 5, %r2, %r3;"),
        ErrorKind::Operand,
        L,
        10,
        "5",
    );
    assert!(text.contains("expected a register or `_`"), "{text}");
    err_at(
        &kernel("\tld.global.u32 %r1, %rd1;"),
        ErrorKind::Operand,
        L,
        21,
        "%rd1",
    );
    err_at(
        &kernel("\tld.global.v4.u32 {%r1, %r2}, [%rd1];"),
        ErrorKind::Operand,
        L,
        19,
        "{",
    );
}

#[test]
fn register_types() {
    let text = err_at(
        &kernel("\tadd.s32 %r1, %r2, %f1;"),
        ErrorKind::Type,
        L,
        20,
        "%f1",
    );
    assert!(text.contains("register `%f1` is .f32"), "{text}");
    err_at(
        &kernel("\tadd.f32 %f1, %rd1, %f1;"),
        ErrorKind::Type,
        L,
        15,
        "%rd1",
    );
    err_at(
        &kernel("\t@%r1 bra $L;\n$L:\n\tret;"),
        ErrorKind::Type,
        L,
        3,
        "%r1",
    );
    err_at(
        &kernel("\tsetp.eq.s32 %r1, %r2, %r3;"),
        ErrorKind::Type,
        L,
        14,
        "%r1",
    );
    // ptxas leniency: bit types match same-size types, ld/st/cvt take wider registers.
    parse(&kernel(
        "\tadd.u32 %r1, %r2, 1;\n\tadd.f32 %r1, %r2, %r3;\n\tld.global.u8 %r1, [%rd1];\n\
         \tst.global.u16 [%rd1], %r1;\n\tcvt.u64.u32 %rd1, %r1;\n\tcvt.u32.u16 %r1, %r2;",
    ))
    .unwrap();
}

#[test]
fn undefined_names() {
    err_at(
        &kernel("\tmov.u32 %r1, %q9;"),
        ErrorKind::Undefined,
        L,
        15,
        "%q9",
    );
    err_at(
        &kernel("\tmov.u32 %r1, %r4;"),
        ErrorKind::Undefined,
        L,
        15,
        "%r4",
    );
    err_at(
        &kernel("\tbra $L__nowhere;"),
        ErrorKind::Undefined,
        L,
        6,
        "$L__nowhere",
    );
    err_at(
        &kernel("\tmov.u64 %rd1, nosuch;"),
        ErrorKind::Undefined,
        L,
        16,
        "nosuch",
    );
    err_at(
        &kernel("\tcall.uni nofunc, ();"),
        ErrorKind::Undefined,
        L,
        11,
        "nofunc",
    );
    // A block-local register is gone after its block.
    err_at(
        &kernel("\t{\n\t.reg .b32 %t;\n\tmov.u32 %t, 1;\n\t}\n\tmov.u32 %t, 2;"),
        ErrorKind::Undefined,
        L + 4,
        10,
        "%t",
    );
}

#[test]
fn duplicates() {
    err_at(
        &kernel(".reg .b32 %r2;"),
        ErrorKind::Duplicate,
        L,
        11,
        "%r2",
    );
    err_at(
        &kernel("$L:\n\tret;\n$L:\n\tret;"),
        ErrorKind::Duplicate,
        L + 2,
        1,
        "$L",
    );
    let src = format!("{HEAD}.global .u32 g;\n.global .u32 g;\n");
    err_at(&src, ErrorKind::Duplicate, 5, 14, "g");
    let src = format!("{HEAD}.func f()\n{{\nret;\n}}\n.func f()\n{{\nret;\n}}\n");
    err_at(&src, ErrorKind::Duplicate, 8, 7, "f");
    // Shadowing in an inner block is fine.
    parse(&kernel("\t{\n\t.reg .b32 %r1;\n\tmov.u32 %r1, 1;\n\t}")).unwrap();
}

#[test]
fn module_directives() {
    err_at(".version 10.0\n", ErrorKind::Unsupported, 1, 10, "10.0");
    err_at(
        ".version 8.0\n.target gfx90a\n",
        ErrorKind::Unsupported,
        2,
        9,
        "gfx90a",
    );
    err_at(
        ".version 8.0\n.target sm_80\n.address_size 48\n",
        ErrorKind::Unsupported,
        3,
        15,
        "48",
    );
    for t in ["sm_90a", "sm_100a", "sm_120", "compute_90", "sm_35"] {
        parse(&format!(".version 9.0\n.target {t}\n.address_size 64\n")).unwrap();
    }
    parse(".version 1.0\n.target sm_10, map_f64_to_f32\n.address_size 32\n").unwrap();
}

#[test]
fn syntax_errors_name_what_was_expected() {
    let text = err_at(
        &kernel("\tadd.s32 %r1, %r2, %r3"),
        ErrorKind::Syntax,
        L + 1,
        1,
        "}",
    );
    assert!(text.contains("expected `;`"), "{text}");
    let e = parse(&format!("{HEAD}.visible .entry k(\n")).unwrap_err();
    assert_eq!(e.found, "");
    assert!(e.to_string().contains("end of input"));
    err_at(
        &format!("{HEAD}.entry k() {{ ret; }}\n.bogus x;\n"),
        ErrorKind::Syntax,
        5,
        1,
        ".bogus",
    );
}

#[test]
fn limits_are_errors_not_crashes() {
    let deep = format!("{}{}", "{\n".repeat(300), "}\n".repeat(300));
    let e = parse(&kernel(&deep)).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Limit);
    let e = parse(&kernel(".reg .b32 %x<4000000>;")).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Limit);
    let src = format!("{HEAD}.global .b8 big[1000000000] = {{1}};\n");
    assert_eq!(parse(&src).unwrap_err().kind, ErrorKind::Limit);
    let src = format!("{HEAD}.global .b8 big[18446744073709551615][16];\n");
    assert_eq!(parse(&src).unwrap_err().kind, ErrorKind::Limit);
    let src = format!("{HEAD}.global .u32 a[2] = {{1, 2, 3}};\n");
    assert_eq!(parse(&src).unwrap_err().kind, ErrorKind::Syntax);
}

#[test]
fn extern_declaration_then_definition_keeps_relocations() {
    let src = format!(
        "{HEAD}.extern .global .align 8 .u64 p;\n.global .u32 x;\n.global .align 8 .u64 p = x;\n"
    );
    let m = parse(&src).unwrap();
    assert_eq!(m.globals.len(), 2);
    let p = m.global("p").unwrap();
    assert_eq!(p.linkage, ferrocuda_ptx::ir::Linkage::Internal);
    assert_eq!(
        p.relocations[0].target,
        ferrocuda_ptx::ir::SymbolRef::Global(1)
    );
}

#[test]
fn destination_vectors_hold_registers() {
    err_at(
        &kernel("\tld.global.v2.u32 {%r1, 5}, [%rd1];"),
        ErrorKind::Operand,
        L,
        19,
        "{",
    );
}
