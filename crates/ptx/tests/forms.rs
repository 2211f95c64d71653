//! Instruction forms real compilers emit, one per line: all accepted, with the suffixes mapped
//! onto the IR the executor reads.

use ferrocuda_ptx::ir::*;
use ferrocuda_ptx::parse;

const DECLS: &str = "
.version 8.7
.target sm_90a
.address_size 64
.global .texref tex0;
.global .align 4 .b8 gbuf[64];
.visible .entry forms(.param .u64 p0, .param .align 16 .b8 p1[32])
.maxntid 128, 2
.maxnreg 64
.minnctapersm 1
.maxnctapersm 4
{
	.reg .pred %p<6>;
	.reg .b16 %rs<8>;
	.reg .b32 %r<40>;
	.reg .b64 %rd<16>;
	.reg .f32 %f<80>;
	.reg .f64 %fd<8>;
	.reg .v2 .f32 %vf;
	.shared .align 16 .b8 smem[256];
	.local .align 8 .b8 __local_depot0[16];
	.pragma \"nounroll\";
";

/// Every line must parse inside the kernel above.
const FORMS: &[&str] = &[
    "add.s32 %r1, %r2, -3;",
    "add.sat.s32 %r1, %r2, %r3;",
    "add.cc.u32 %r1, %r2, %r3;",
    "addc.cc.u32 %r1, %r2, 0;",
    "sub.f64 %fd1, %fd2, 0d3FF0000000000000;",
    "subc.u32 %r1, %r2, %r3;",
    "mul.lo.u64 %rd1, %rd2, 0xFFFFFFFFFFFFFFFF;",
    "mul.hi.s32 %r1, %r2, %r3;",
    "mul.wide.u16 %r1, %rs1, %rs2;",
    "mul24.lo.u32 %r1, %r2, %r3;",
    "mad.lo.s32 %r1, %r2, %r3, %r4;",
    "mad.wide.s32 %rd1, %r2, 4, %rd3;",
    "mad.hi.cc.u32 %r1, %r2, %r3, %r4;",
    "madc.lo.u32 %r1, %r2, %r3, %r4;",
    "mad24.hi.sat.s32 %r1, %r2, %r3, %r4;",
    "sad.u32 %r1, %r2, %r3, %r4;",
    "div.rn.f32 %f1, %f2, %f3;",
    "div.full.f32 %f1, %f2, %f3;",
    "div.approx.ftz.f32 %f1, %f2, 0f40000000;",
    "div.s32 %r1, %r2, 7;",
    "rem.u64 %rd1, %rd2, %rd3;",
    "abs.ftz.f32 %f1, %f2;",
    "neg.s64 %rd1, %rd2;",
    "min.NaN.f32 %f1, %f2, %f3;",
    "max.xorsign.abs.f32 %f1, %f2, %f3;",
    "min.relu.s32 %r1, %r2, %r3;",
    "copysign.f64 %fd1, %fd2, %fd3;",
    "fma.rn.ftz.sat.f32 %f1, %f2, %f3, %f4;",
    "fma.rn.relu.bf16 %rs1, %rs2, %rs3, %rs4;",
    "fma.rn.f16x2 %r1, %r2, %r3, %r4;",
    "add.rn.bf16x2 %r1, %r2, %r3;",
    "sqrt.approx.ftz.f32 %f1, %f2;",
    "rsqrt.approx.f64 %fd1, %fd2;",
    "rcp.rn.f64 %fd1, %fd2;",
    "sin.approx.ftz.f32 %f1, %f2;",
    "cos.approx.f32 %f1, %f2;",
    "lg2.approx.ftz.f32 %f1, %f2;",
    "ex2.approx.f16x2 %r1, %r2;",
    "tanh.approx.f32 %f1, %f2;",
    "testp.notanumber.f64 %p1, %fd1;",
    "and.b32 %r1, %r2, 0x0000FFFF;",
    "or.pred %p1, %p2, %p3;",
    "xor.b64 %rd1, %rd2, %rd3;",
    "not.b16 %rs1, %rs2;",
    "cnot.b32 %r1, %r2;",
    "shl.b32 %r1, %r2, 31;",
    "shr.s64 %rd1, %rd2, %r3;",
    "shf.r.clamp.b32 %r1, %r2, %r3, %r4;",
    "lop3.b32 %r1, %r2, %r3, %r4, 0x96;",
    "prmt.b32.b4e %r1, %r2, %r3, %r4;",
    "bfe.s64 %rd1, %rd2, %r3, 8;",
    "bfi.b64 %rd1, %rd2, %rd3, 0, 16;",
    "bfind.shiftamt.u32 %r1, %r2;",
    "brev.b64 %rd1, %rd2;",
    "clz.b64 %r1, %rd2;",
    "popc.b32 %r1, %r2;",
    "bmsk.clamp.b32 %r1, %r2, %r3;",
    "szext.wrap.s32 %r1, %r2, 8;",
    "fns.b32 %r1, %r2, %r3, 1;",
    "dp4a.u32.s32 %r1, %r2, %r3, %r4;",
    "dp2a.lo.s32.s32 %r1, %r2, %r3, %r4;",
    "setp.geu.ftz.f32 %p1, %f1, %f2;",
    "setp.lo.u32 %p1|%p2, %r1, %r2;",
    "setp.nan.and.f64 %p1, %fd1, %fd2, !%p3;",
    "setp.ne.b16 %p1, %rs1, 0;",
    "set.lt.u32.f32 %r1, %f1, %f2;",
    "selp.f32 %f1, 0f3F800000, %f2, %p1;",
    "slct.f32.s32 %f1, %f2, %f3, %r1;",
    "mov.u32 %r1, WARP_SZ;",
    "mov.u64 %rd1, gbuf;",
    "mov.u64 %rd1, forms;",
    "mov.u32 %r1, %cluster_ctarank;",
    "mov.u32 %r1, %smid;",
    "mov.u32 %r1, %pm3;",
    "mov.u64 %rd1, %globaltimer;",
    "mov.b64 {%r1, %r2}, %rd1;",
    "mov.b64 %rd1, {%r1, %r2};",
    "mov.b32 {%rs1, _}, %r1;",
    "mov.f32 %f1, 1.5;",
    "mov.f32 %f1, -0f3F800000;",
    "mov.b16 %rs1, 0x3C00;",
    "cvt.rn.f32.s64 %f1, %rd1;",
    "cvt.rzi.ftz.s32.f32 %r1, %f1;",
    "cvt.rni.f64.f64 %fd1, %fd2;",
    "cvt.sat.u8.s32 %rs1, %r1;",
    "cvt.s64.s8 %rd1, %rs1;",
    "cvt.rn.bf16x2.f32 %r1, %f1, %f2;",
    "cvt.rn.satfinite.e4m3x2.f32 %rs1, %f1, %f2;",
    "cvt.rna.tf32.f32 %r1, %f1;",
    "cvt.f32.f16 %f1, %rs1;",
    "cvt.pack.sat.u8.s32.b32 %r1, %r2, %r3, %r4;",
    "cvta.to.shared.u64 %rd1, %rd2;",
    "cvta.const.u64 %rd1, %rd2;",
    "isspacep.shared::cta %p1, %rd1;",
    "ld.global.nc.L1::no_allocate.L2::cache_hint.v4.u32 {%r1, %r2, %r3, %r4}, [%rd1+16], %rd2;",
    "ld.relaxed.gpu.global.u32 %r1, [%rd1];",
    "ld.acquire.sys.b64 %rd1, [%rd2];",
    "ld.volatile.shared.u8 %rs1, [smem+3];",
    "ld.shared::cluster.u32 %r1, [%r2];",
    "ld.local.v2.f64 {%fd1, %fd2}, [__local_depot0];",
    "ld.param.v2.u64 {%rd1, %rd2}, [p1+16];",
    "ld.const.f32 %f1, [1024];",
    "ld.global.v8.f32 {%f1, %f2, %f3, %f4, %f5, %f6, %f7, %f8}, [%rd1];",
    "ldu.global.f32 %f1, [%rd1];",
    "st.global.wb.v2.f32 [%rd1+-8], {%f1, 0f00000000};",
    "st.release.cta.shared.b32 [%r1], %r2;",
    "st.async.shared::cluster.mbarrier::complete_tx::bytes.u32 [%r1], %r2, [%r3];",
    "st.u64 [%rd1], %rd2;",
    "atom.global.add.u64 %rd1, [%rd2], 1;",
    "atom.acq_rel.gpu.global.cas.b32 %r1, [%rd1], %r2, %r3;",
    "atom.shared.inc.u32 %r1, [%r2], 100;",
    "atom.global.add.noftz.f16 %rs1, [%rd1], %rs2;",
    "atom.global.v2.f32.add {%f1, %f2}, [%rd1], {%f3, %f4};",
    "atom.global.exch.b64 %rd1, [%rd2], %rd3;",
    "atom.global.add.L2::cache_hint.u32 %r1, [%rd1], %r2, %rd3;",
    "red.global.max.s32 [%rd1], %r1;",
    "red.async.relaxed.cluster.shared::cluster.mbarrier::complete_tx::bytes.add.u32 [%r1], %r2, [%r3];",
    "bar.sync 0;",
    "bar.sync 1, 64;",
    "bar.arrive 2, %r1;",
    "bar.red.popc.u32 %r1, 0, %p1;",
    "bar.red.or.pred %p1, 0, !%p2;",
    "barrier.sync.aligned 0;",
    "barrier.cluster.arrive.release.aligned;",
    "bar.warp.sync -1;",
    "membar.cta;",
    "fence.proxy.async.shared::cta;",
    "fence.sc.sys;",
    "shfl.sync.up.b32 %r1|%p1, %r2, 1, 0, -1;",
    "shfl.sync.idx.b32 %f1, %f2, %r1, 0x1f, %r3;",
    "shfl.down.b32 %r1, %r2, 4, 31;",
    "vote.sync.any.pred %p1, %p2, -1;",
    "vote.uni.pred %p1, !%p2;",
    "vote.ballot.b32 %r1, %p2;",
    "match.all.sync.b64 %r1|%p1, %rd1, -1;",
    "redux.sync.min.u32 %r1, %r2, -1;",
    "activemask.b32 %r1;",
    "elect.sync %r1|%p1, -1;",
    "nanosleep.u32 100;",
    "prefetch.global.L2::evict_last [%rd1];",
    "prefetchu.L1 [%rd1];",
    "discard.global.L2 [%rd1], 128;",
    "createpolicy.fractional.L2::evict_last.b64 %rd1, 1.0;",
    "cp.async.cg.shared.global.L2::128B [%r1], [%rd1], 16, %r2;",
    "cp.async.commit_group;",
    "cp.async.wait_group 0;",
    "cp.async.bulk.tensor.2d.shared::cluster.global.mbarrier::complete_tx::bytes [%r1], [%rd1, {%r2, %r3}], [%r4];",
    "mbarrier.init.shared::cta.b64 [%r1], 32;",
    "mbarrier.try_wait.parity.shared::cta.b64 %p1, [%r1], %r2;",
    "ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%r1, %r2, %r3, %r4}, [%r5];",
    "stmatrix.sync.aligned.m8n8.x2.shared.b16 [%r1], {%r2, %r3};",
    "wmma.load.a.sync.aligned.row.m16n16k16.global.f16 {%r1, %r2, %r3, %r4, %r5, %r6, %r7, %r8}, [%rd1], %r9;",
    "mma.sync.aligned.m16n8k8.row.col.f32.bf16.bf16.f32 {%f1, %f2, %f3, %f4}, {%r1, %r2}, {%r3}, {%f5, %f6, %f7, %f8};",
    "wgmma.fence.sync.aligned;",
    "wgmma.mma_async.sync.aligned.m64n8k16.f32.bf16.bf16 {%f1, %f2, %f3, %f4}, %rd1, %rd2, 1, 1, 1, 0, 0;",
    "tex.2d.v4.f32.f32 {%f1, %f2, %f3, %f4}, [tex0, {%f5, %f6}];",
    "tld4.r.2d.v4.f32.f32 {%f1, %f2, %f3, %f4}, [tex0, {%f5, %f6}];",
    "txq.width.b32 %r1, [tex0];",
    "suld.b.2d.v4.b32.trap {%r1, %r2, %r3, %r4}, [%rd1, {%r5, %r6}];",
    "sust.b.1d.b32.clamp [%rd1, {%r1}], {%r2};",
    "griddepcontrol.launch_dependents;",
    "setmaxnreg.inc.sync.aligned.u32 240;",
    "getctarank.shared::cluster.u32 %r1, %r2;",
    "mapa.shared::cluster.u32 %r1, %r2, %r3;",
    "alloca.u64 %rd1, 64;",
    "stacksave.u64 %rd1;",
    "stackrestore.u64 %rd1;",
    "vadd.s32.s32.s32.sat %r1, %r2, %r3, %r4;",
    "multimem.ld_reduce.relaxed.sys.global.add.f32 %f1, [%rd1];",
    "tcgen05.alloc.cta_group::1.sync.aligned.shared::cta.b32 [%r1], 32;",
    "pmevent 1;",
    "brkpt;",
    "trap;",
    "exit;",
    "ret.uni;",
];

fn kernel_with(forms: &[&str]) -> String {
    let mut s = String::from(DECLS);
    for f in forms {
        s.push('\t');
        s.push_str(f);
        s.push('\n');
    }
    s.push_str("}\n");
    s
}

#[test]
fn every_form_parses() {
    let mut failures = Vec::new();
    for f in FORMS {
        if let Err(e) = parse(&kernel_with(&[f])) {
            failures.push(format!("{f}\n{e}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    let m = parse(&kernel_with(FORMS)).unwrap();
    let k = m.kernel("forms").unwrap();
    assert_eq!(k.body.as_ref().unwrap().len(), FORMS.len());
    assert_eq!(k.bounds.maxntid, Some([128, 2, 1]));
    assert_eq!(k.bounds.maxnreg, Some(64));
    assert_eq!(k.bounds.maxnctapersm, Some(4));
    assert_eq!(k.pragmas, vec!["nounroll".to_string()]);
    assert_eq!(k.params[1].offset, 16);
    assert_eq!(k.param_bytes(), 48);
    assert_eq!(m.global("tex0").unwrap().ty, ScalarType::B64);
}

fn one(form: &str) -> Instruction {
    let m = parse(&kernel_with(&[form])).unwrap_or_else(|e| panic!("{e}"));
    m.kernel("forms").unwrap().body.as_ref().unwrap()[0].clone()
}

#[test]
fn suffixes_map_to_typed_modifiers() {
    let i = one(
        "ld.global.nc.L1::no_allocate.L2::cache_hint.v4.u32 {%r1, %r2, %r3, %r4}, [%rd1+16], %rd2;",
    );
    assert_eq!(i.space(), Some(StateSpace::Global));
    assert_eq!(i.vector(), Some(4));
    assert!(i.has(Modifier::Cache(CacheOp::Nc)));
    assert!(i.has(Modifier::Hint("L2::cache_hint".into())));
    assert_eq!(i.types, vec![ScalarType::U32]);
    assert_eq!(i.operands.len(), 3);

    let i = one("cvt.rzi.ftz.s32.f32 %r1, %f1;");
    assert_eq!(i.rounding(), Some(Rounding::Rzi));
    assert!(i.has(Modifier::Ftz));
    assert_eq!(i.types, vec![ScalarType::S32, ScalarType::F32]);

    let i = one("setp.nan.and.f64 %p1, %fd1, %fd2, !%p3;");
    assert_eq!(i.cmp(), Some(CmpOp::Nan));
    assert!(i.has(Modifier::Bool(BoolOp::And)));
    assert!(matches!(i.operands[3], Operand::NotReg(_)));

    let i = one("atom.acq_rel.gpu.global.cas.b32 %r1, [%rd1], %r2, %r3;");
    assert!(i.has(Modifier::Sem(MemSemantics::AcqRel)));
    assert!(i.has(Modifier::Scope(Scope::Gpu)));
    assert!(i.has(Modifier::Atom(AtomOp::Cas)));

    let i = one("bar.red.popc.u32 %r1, 0, %p1;");
    assert_eq!(i.opcode, Opcode::Bar);
    assert!(i.has(Modifier::Red) && i.has(Modifier::Atom(AtomOp::Popc)));

    let i = one("membar.cta;");
    assert!(i.has(Modifier::Scope(Scope::Cta)));

    let i = one("vadd.s32.s32.s32.sat %r1, %r2, %r3, %r4;");
    assert_eq!(i.opcode, Opcode::Other);
    assert_eq!(i.mods[0], Modifier::Hint("vadd.s32.s32.s32.sat".into()));

    let i = one("mov.u32 %r1, WARP_SZ;");
    assert_eq!(i.operands[1], Operand::Imm(Imm::Int(32)));

    let i = one("mov.f32 %f1, -0f3F800000;");
    assert_eq!(i.operands[1], Operand::Imm(Imm::F32(0xBF80_0000)));

    let i = one("mov.f32 %f1, 1.5;");
    assert_eq!(i.operands[1], Operand::Imm(Imm::F64(1.5f64.to_bits())));

    let i = one("ld.const.f32 %f1, [1024];");
    assert_eq!(
        i.operands[1],
        Operand::Addr(Address {
            base: AddrBase::Absolute,
            offset: 1024
        })
    );

    let i = one("mul.lo.u64 %rd1, %rd2, 0xFFFFFFFFFFFFFFFF;");
    assert_eq!(i.operands[2], Operand::Imm(Imm::UInt(u64::MAX)));

    let i = one("tex.2d.v4.f32.f32 {%f1, %f2, %f3, %f4}, [tex0, {%f5, %f6}];");
    assert!(
        matches!(&i.operands[1], Operand::List(v) if v.len() == 2 && matches!(v[0], Operand::Symbol(SymbolRef::Global(0), 0)))
    );
}

#[test]
fn branch_tables_scoped_labels_and_forward_references() {
    let src = "
.version 8.0
.target sm_80
.address_size 64
.visible .entry k(.param .u32 n)
{
	.reg .b32 %r<3>;
	.reg .pred %p;
	ld.param.u32 %r1, [n];
	ts: .branchtargets $L_a, $L_b;
	brx.idx %r1, ts;
$L_a:
	{
	$L_inner:
	add.u32 %r1, %r1, 1;
	setp.lt.u32 %p, %r1, 10;
	@%p bra $L_inner;
	@!%p bra $L_b;
	}
	{
	$L_inner:
	bra.uni $L_inner;
	}
$L_b:
	call.uni later, (%r1);
	ret;
}
.func later(.param .b32 x)
{
	ret;
}
";
    let m = parse(src).unwrap_or_else(|e| panic!("{e}"));
    let b = m.kernel("k").unwrap().body.as_ref().unwrap();
    assert_eq!(
        b[1].operands[1],
        Operand::List(vec![Operand::Label(2), Operand::Label(7)])
    );
    // Each block's `$L_inner` is its own label; `$L_b` is found in the enclosing block.
    assert_eq!(b[4].operands[0], Operand::Label(2));
    assert_eq!(b[5].operands[0], Operand::Label(7));
    assert_eq!(b[6].operands[0], Operand::Label(6));
    assert_eq!(b[7].opcode, Opcode::Call);
    assert_eq!(b[7].operands[1], Operand::Callee(1));
    assert!(matches!(&b[7].operands[2], Operand::List(v) if matches!(v[0], Operand::Reg(_))));
}

#[test]
fn registers_named_without_percent() {
    // cuda_fp16.h inline asm, as nvcc emits it.
    let i = {
        let src = kernel_with(&[
            "{ .reg .pred __$temp3;\n  setp.lt.f16  __$temp3, %rs4, %rs5;\n  selp.u16 %rs6, 1, 0, __$temp3;}",
            "{ .reg .b32 tmp;\n  @!%p1 mov.b32 tmp, 7;\n  st.shared.u32 [tmp], tmp;}",
        ]);
        let m = parse(&src).unwrap_or_else(|e| panic!("{e}"));
        m.kernel("forms").unwrap().clone()
    };
    let b = i.body.as_ref().unwrap();
    let Operand::Reg(t) = b[0].operands[0] else {
        panic!("{:?}", b[0].operands)
    };
    assert_eq!(i.regs[t as usize].name, "__$temp3");
    assert_eq!(b[1].operands[3], Operand::Reg(t));
    assert!(matches!(
        b[3].operands[0],
        Operand::Addr(Address {
            base: AddrBase::Reg(_),
            offset: 0
        })
    ));
}
