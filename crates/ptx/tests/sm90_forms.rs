//! sm_90 additions: packed 16-bit integer arithmetic (`.u16x2`/`.s16x2`), the cluster special
//! registers, and indirect calls restricted by a `.calltargets` list.

use ferrocuda_ptx::ir::*;
use ferrocuda_ptx::{parse, ErrorKind};

const HEAD: &str = ".version 8.0\n.target sm_90\n.address_size 64\n";

/// Wraps `body` in a kernel; the body starts on line 10.
fn kernel(body: &str) -> String {
    format!(
        "{HEAD}.visible .entry k(.param .u64 p)\n{{\n.reg .b32 %r<4>;\n.reg .pred %p<2>;\n.reg .b64 %rd<2>;\n{body}\n}}\n"
    )
}

const L: u32 = 9;

fn body(src: &str) -> Vec<Instruction> {
    let m = parse(src).unwrap_or_else(|e| panic!("{e}"));
    m.kernel("k").unwrap().body.clone().unwrap()
}

fn err_at(src: &str, kind: ErrorKind, line: u32, col: u32, found: &str) -> String {
    let e = parse(src).expect_err("must be rejected");
    assert_eq!(e.kind, kind, "{e}");
    assert_eq!((e.line, e.col), (line, col), "{e}");
    assert_eq!(e.found, found, "{e}");
    e.to_string()
}

#[test]
fn packed_integer_forms_parse() {
    let b = body(&kernel(
        "\tadd.u16x2 %r1, %r2, %r3;\n\tadd.s16x2 %r1, %r2, %r3;\n\tmin.u16x2 %r1, %r2, %r3;\n\tmax.relu.s16x2 %r1, %r2, %r3;\n\tmin.relu.s16x2 %r1, %r2, %r3;\n\tmax.s16x2 %r1, %r2, %r3;",
    ));
    assert_eq!(b.len(), 6);
    assert_eq!(
        (b[0].opcode, b[0].types.as_slice()),
        (Opcode::Add, &[ScalarType::U16x2][..])
    );
    assert_eq!(b[1].types, vec![ScalarType::S16x2]);
    assert!(b[3].has(Modifier::Relu));
    assert!(!b[5].has(Modifier::Relu));
    assert_eq!(ScalarType::U16x2.size(), 4);
    assert!(ScalarType::S16x2.is_packed_int());
    assert!(!ScalarType::S16x2.is_float());
    assert_eq!(ScalarType::S16x2.to_string(), ".s16x2");
}

#[test]
fn packed_integers_need_b32_registers() {
    let src =
        format!("{HEAD}.visible .entry k()\n{{\n.reg .b16 %h<3>;\nadd.u16x2 %h1, %h2, %h2;\n}}\n");
    err_at(&src, ErrorKind::Type, 7, 11, "%h1");
}

#[test]
fn packed_integers_only_in_add_min_max_on_registers() {
    let text = err_at(
        &kernel("\tmul.lo.u16x2 %r1, %r2, %r3;"),
        ErrorKind::UnknownModifier,
        L,
        8,
        ".u16x2",
    );
    assert!(text.contains("`mul` does not take type .u16x2"), "{text}");
    err_at(
        &kernel("\tsetp.lt.s16x2 %p1, %r2, %r3;"),
        ErrorKind::UnknownModifier,
        L,
        9,
        ".s16x2",
    );
    err_at(
        &kernel("\tabs.s16x2 %r1, %r2;"),
        ErrorKind::UnknownModifier,
        L,
        5,
        ".s16x2",
    );
    // What ptxas 13.0 refuses on an H100 although the ISA text lists it: `sub` with packed
    // types ("Unexpected instruction types"), and immediate operands ("Arguments mismatch").
    let text = err_at(
        &kernel("\tsub.s16x2 %r1, %r2, %r3;"),
        ErrorKind::UnknownModifier,
        L,
        5,
        ".s16x2",
    );
    assert!(text.contains("`sub` does not take type .s16x2"), "{text}");
    let text = err_at(
        &kernel("\tadd.u16x2 %r1, %r2, 0x8000FFFF;"),
        ErrorKind::UnknownModifier,
        L,
        5,
        ".u16x2",
    );
    assert!(text.contains("operands must be registers"), "{text}");
}

#[test]
fn packed_integer_modifiers_are_checked() {
    // `.relu` only on the signed form of min/max.
    let text = err_at(
        &kernel("\tmin.relu.u16x2 %r1, %r2, %r3;"),
        ErrorKind::UnknownModifier,
        L,
        5,
        ".relu",
    );
    assert!(text.contains("not allowed with .u16x2"), "{text}");
    err_at(
        &kernel("\tadd.relu.s16x2 %r1, %r2, %r3;"),
        ErrorKind::UnknownModifier,
        L,
        5,
        ".relu",
    );
    err_at(
        &kernel("\tadd.sat.s16x2 %r1, %r2, %r3;"),
        ErrorKind::UnknownModifier,
        L,
        5,
        ".sat",
    );
    err_at(
        &kernel("\tadd.cc.u16x2 %r1, %r2, %r3;"),
        ErrorKind::UnknownModifier,
        L,
        5,
        ".cc",
    );
    err_at(
        &kernel("\tmax.NaN.s16x2 %r1, %r2, %r3;"),
        ErrorKind::UnknownModifier,
        L,
        5,
        ".NaN",
    );
}

#[test]
fn cluster_special_registers() {
    let b = body(&kernel(
        "\tmov.u32 %r1, %clusterid.y;\n\tmov.u32 %r1, %nclusterid.z;\n\tmov.u32 %r1, %cluster_ctaid.x;\n\tmov.u32 %r1, %cluster_nctaid.y;\n\tmov.u32 %r1, %cluster_ctarank;\n\tmov.u32 %r1, %cluster_nctarank;\n\tmov.pred %p1, %is_explicit_cluster;",
    ));
    let sregs: Vec<_> = b.iter().map(|i| i.operands[1].clone()).collect();
    use SpecialReg::*;
    assert_eq!(
        sregs,
        vec![
            Operand::Special(ClusterId, Some(Dim::Y)),
            Operand::Special(NclusterId, Some(Dim::Z)),
            Operand::Special(ClusterCtaid, Some(Dim::X)),
            Operand::Special(ClusterNctaid, Some(Dim::Y)),
            Operand::Special(ClusterCtarank, None),
            Operand::Special(ClusterNctarank, None),
            Operand::Special(IsExplicitCluster, None),
        ]
    );
}

#[test]
fn cluster_registers_reject_bad_dimensions() {
    // The rank registers are scalars; `.w` is no dimension.
    err_at(
        &kernel("\tmov.u32 %r1, %cluster_ctarank.x;"),
        ErrorKind::Undefined,
        L,
        15,
        "%cluster_ctarank.x",
    );
    err_at(
        &kernel("\tmov.u32 %r1, %nclusterid.w;"),
        ErrorKind::Undefined,
        L,
        15,
        "%nclusterid.w",
    );
}

const CALLS: &str = "
.version 8.0
.target sm_90
.address_size 64
.func (.param .b32 r) inc(.param .b32 x)
{
	.reg .b32 %v;
	ld.param.b32 %v, [x];
	add.s32 %v, %v, 1;
	st.param.b32 [r], %v;
	ret;
}
.visible .entry k(.param .u64 p)
{
	.reg .b32 %r<3>;
	.reg .b64 %rd<2>;
	Ftgt: .calltargets inc, dbl;
	mov.u64 %rd1, inc;
	{
	.param .b32 a;
	.param .b32 ret;
	st.param.b32 [a], %r1;
	call (ret), %rd1, (a), Ftgt;
	ld.param.b32 %r2, [ret];
	}
	ret;
}
.func (.param .b32 r) dbl(.param .b32 x)
{
	.reg .b32 %v;
	ld.param.b32 %v, [x];
	add.s32 %v, %v, %v;
	st.param.b32 [r], %v;
	ret;
}
";

#[test]
fn indirect_call_through_calltargets() {
    let m = parse(CALLS).unwrap_or_else(|e| panic!("{e}"));
    let k = m.kernel("k").unwrap();
    let call = k
        .body
        .as_ref()
        .unwrap()
        .iter()
        .find(|i| i.opcode == Opcode::Call)
        .unwrap();
    let inc = m.functions.iter().position(|f| f.name == "inc").unwrap();
    let dbl = m.functions.iter().position(|f| f.name == "dbl").unwrap();
    assert!(matches!(call.operands[1], Operand::Reg(_)));
    // The forward-declared `dbl` is resolved at the end of the module.
    assert_eq!(call.operands[3], Operand::Prototype(inc));
    assert_eq!(
        call.operands[4],
        Operand::List(vec![Operand::Callee(inc), Operand::Callee(dbl)])
    );
}

#[test]
fn calltargets_errors() {
    // A list naming no function.
    let src = CALLS.replace(".calltargets inc, dbl;", ".calltargets inc, nosuch;");
    let e = parse(&src).expect_err("undefined function");
    assert_eq!(
        (e.kind, e.line, e.found.as_str()),
        (ErrorKind::Undefined, 17, "nosuch")
    );
    // An undefined list.
    let src = CALLS.replace("(a), Ftgt;", "(a), Fnone;");
    let e = parse(&src).expect_err("undefined list");
    assert_eq!(
        (e.kind, e.line, e.found.as_str()),
        (ErrorKind::Undefined, 23, "Fnone")
    );
    // A direct call takes no list.
    let src = CALLS.replace(
        "call (ret), %rd1, (a), Ftgt;",
        "call (ret), inc, (a), Ftgt;",
    );
    let e = parse(&src).expect_err("direct call with a list");
    assert_eq!(
        (e.kind, e.line, e.found.as_str()),
        (ErrorKind::Operand, 23, "Ftgt")
    );
    // A list naming a variable.
    let src = CALLS.replace(".calltargets inc, dbl;", ".calltargets inc, %r1;");
    let e = parse(&src).expect_err("variable in the list");
    assert_eq!(e.line, 17, "{e}");
    // Duplicate list names.
    let src = CALLS.replace(
        "Ftgt: .calltargets inc, dbl;",
        "Ftgt: .calltargets inc, dbl;\n\tFtgt: .calltargets inc;",
    );
    let e = parse(&src).expect_err("duplicate list");
    assert_eq!((e.kind, e.line), (ErrorKind::Duplicate, 18));
}

#[test]
fn branch_and_call_target_lists_in_the_forms_nvcc_emits() {
    // nvcc spreads a jump table over lines with `$L_brx_N:` names; a function-pointer call
    // names a `.callprototype` declared in the same block.
    let src = "
.version 8.0
.target sm_90
.address_size 64
.func (.param .b32 func_retval0) f(.param .b32 f_param_0)
{
	ret;
}
.visible .entry k(.param .u32 n)
{
	.reg .b32 %r<4>;
	.reg .b64 %rd<2>;
	ld.param.u32 %r1, [n];
$L_brx_0: .branchtargets
	$L__BB0_2,
	$L__BB0_3,
	$L__BB0_2;
	brx.idx.uni 	%r1, $L_brx_0;
$L__BB0_2:
	mov.u64 	%rd1, f;
	{ // callseq 0, 0
	.param .b32 param0;
	st.param.b32 	[param0], %r1;
	.param .b32 retval0;
	prototype_0 : .callprototype (.param .b32 _) _ (.param .b32 _);
	call (retval0), 
	%rd1, 
	(
	param0
	)
	, prototype_0;
	ld.param.b32 	%r2, [retval0];
	} // callseq 0
$L__BB0_3:
	ret;
}
";
    let m = parse(src).unwrap_or_else(|e| panic!("{e}"));
    let b = m.kernel("k").unwrap().body.as_ref().unwrap();
    assert_eq!(b[1].opcode, Opcode::Brx);
    assert!(b[1].has(Modifier::Uni));
    assert_eq!(
        b[1].operands[1],
        Operand::List(vec![
            Operand::Label(2),
            Operand::Label(6),
            Operand::Label(2)
        ])
    );
    let call = &b[4];
    assert_eq!(call.opcode, Opcode::Call);
    assert_eq!(call.operands.len(), 4);
    assert!(matches!(call.operands[3], Operand::Prototype(p) if m.functions[p].body.is_none()));
    // A `.calltargets` list is not a branch table, and a label is not a function.
    let bad = src.replace("$L_brx_0: .branchtargets", "$L_brx_0: .calltargets");
    let e = parse(&bad).expect_err("brx.idx needs a branch table");
    assert_eq!(
        (e.kind, e.line, e.found.as_str()),
        (ErrorKind::Undefined, 18, "$L_brx_0")
    );
    let bad = src.replace("prototype_0;", "$L_brx_0;");
    let e = parse(&bad).expect_err("a branch table is no call target list");
    assert_eq!(
        (e.kind, e.line, e.found.as_str()),
        (ErrorKind::Undefined, 31, "$L_brx_0")
    );
    // Lists share one namespace per block.
    let bad = src.replace(
        "$L_brx_0: .branchtargets",
        "$L_brx_0: .calltargets f;\n$L_brx_0: .branchtargets",
    );
    let e = parse(&bad).expect_err("duplicate list name");
    assert_eq!((e.kind, e.line), (ErrorKind::Duplicate, 15));
}

const TABLE: &str = "
.version 8.0
.target sm_90
.address_size 64
.func (.param .b32 r) inc(.param .b32 x)
{
	ret;
}
.func (.param .b32 r) dbl(.param .b32 x)
{
	ret;
}
.global .align 8 .u64 jmptbl[4] = {inc, dbl, inc};
.global .align 8 .u64 mixed[2] = {inc, mixed};
.global .u32 plain[2] = {1, 2};
.visible .entry k(.param .u64 p)
{
	.reg .b32 %r<3>;
	.reg .b64 %rd<2>;
	ld.global.u64 %rd1, [jmptbl+8];
	{
	.param .b32 a;
	.param .b32 ret;
	st.param.b32 [a], %r1;
	call (ret), %rd1, (a), jmptbl;
	ld.param.b32 %r2, [ret];
	}
	ret;
}
";

#[test]
fn indirect_call_through_a_call_table() {
    let m = parse(TABLE).unwrap_or_else(|e| panic!("{e}"));
    let b = m.kernel("k").unwrap().body.as_ref().unwrap();
    let call = b.iter().find(|i| i.opcode == Opcode::Call).unwrap();
    // Each function once, in table order.
    assert_eq!(call.operands[3], Operand::Prototype(0));
    assert_eq!(
        call.operands[4],
        Operand::List(vec![Operand::Callee(0), Operand::Callee(1)])
    );
    for bad in ["mixed", "plain"] {
        let src = TABLE.replace("(a), jmptbl;", &format!("(a), {bad};"));
        let e = parse(&src).expect_err("not a table of functions");
        assert_eq!(
            (e.kind, e.line, e.found.as_str()),
            (ErrorKind::Operand, 25, bad),
            "{e}"
        );
    }
}
