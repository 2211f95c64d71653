#![allow(dead_code)]
// PTX kernels shared by the benchmark and the tests that check them against native Rust.

/// `y[i] = a * x[i] + y[i]`.
pub const SAXPY: &str = r#"
.version 8.0
.target sm_90
.address_size 64

.visible .entry saxpy(.param .u32 n, .param .f32 a, .param .u64 x, .param .u64 y)
{
    .reg .pred %p<2>;
    .reg .b32 %r<6>;
    .reg .f32 %f<5>;
    .reg .b64 %rd<8>;
    ld.param.u32 %r1, [n];
    ld.param.f32 %f1, [a];
    ld.param.u64 %rd1, [x];
    ld.param.u64 %rd2, [y];
    mov.u32 %r2, %ctaid.x;
    mov.u32 %r3, %ntid.x;
    mov.u32 %r4, %tid.x;
    mad.lo.s32 %r5, %r2, %r3, %r4;
    setp.ge.s32 %p1, %r5, %r1;
    @%p1 bra $L_end;
    cvta.to.global.u64 %rd3, %rd1;
    cvta.to.global.u64 %rd4, %rd2;
    mul.wide.s32 %rd5, %r5, 4;
    add.s64 %rd6, %rd3, %rd5;
    add.s64 %rd7, %rd4, %rd5;
    ld.global.f32 %f2, [%rd6];
    ld.global.f32 %f3, [%rd7];
    fma.rn.f32 %f4, %f1, %f2, %f3;
    st.global.f32 [%rd7], %f4;
$L_end:
    ret;
}
"#;

/// Block-wise sum of `u32`s: a shared-memory tree per block, one atomic add per block.
pub const REDUCE: &str = r#"
.version 8.0
.target sm_90
.address_size 64

.visible .entry reduce(.param .u64 in, .param .u64 out, .param .u32 n)
{
    .reg .pred %p<4>;
    .reg .b32 %r<20>;
    .reg .b64 %rd<10>;
    .shared .align 4 .b8 sdata[1024];
    ld.param.u64 %rd1, [in];
    ld.param.u64 %rd2, [out];
    ld.param.u32 %r1, [n];
    mov.u32 %r2, %tid.x;
    mov.u32 %r3, %ctaid.x;
    mov.u32 %r4, %ntid.x;
    mad.lo.s32 %r5, %r3, %r4, %r2;
    mov.u32 %r6, 0;
    setp.ge.u32 %p1, %r5, %r1;
    @%p1 bra SKIP;
    mul.wide.u32 %rd3, %r5, 4;
    add.s64 %rd4, %rd1, %rd3;
    ld.global.u32 %r6, [%rd4];
SKIP:
    shl.b32 %r7, %r2, 2;
    mov.u32 %r8, sdata;
    add.s32 %r9, %r8, %r7;
    st.shared.u32 [%r9], %r6;
    bar.sync 0;
    shr.u32 %r10, %r4, 1;
LOOP:
    setp.eq.s32 %p2, %r10, 0;
    @%p2 bra DONE;
    setp.ge.u32 %p3, %r2, %r10;
    @%p3 bra NEXT;
    shl.b32 %r11, %r10, 2;
    add.s32 %r12, %r9, %r11;
    ld.shared.u32 %r13, [%r12];
    ld.shared.u32 %r14, [%r9];
    add.s32 %r14, %r14, %r13;
    st.shared.u32 [%r9], %r14;
NEXT:
    bar.sync 0;
    shr.u32 %r10, %r10, 1;
    bra.uni LOOP;
DONE:
    setp.ne.s32 %p2, %r2, 0;
    @%p2 bra END;
    ld.shared.u32 %r15, [sdata];
    red.global.add.u32 [%rd2], %r15;
END:
    ret;
}
"#;

/// `C = A * B` for square `n × n` row-major `f32` matrices (`n` a multiple of 16), 16×16 tiles
/// in shared memory, the inner product unrolled as nvcc does.
pub fn matmul_ptx() -> String {
    let mut inner = String::new();
    for k in 0..16 {
        inner += &format!(
            "    ld.shared.f32 %f4, [%r18+{}];\n    ld.shared.f32 %f5, [%r20+{}];\n    fma.rn.f32 %f1, %f4, %f5, %f1;\n",
            4 * k,
            64 * k
        );
    }
    format!(
        r#"
.version 8.0
.target sm_90
.address_size 64

.visible .entry matmul(.param .u64 A, .param .u64 B, .param .u64 C, .param .u32 N)
{{
    .shared .align 4 .f32 As[256];
    .shared .align 4 .f32 Bs[256];
    .reg .pred %p<3>;
    .reg .b32 %r<40>;
    .reg .f32 %f<10>;
    .reg .b64 %rd<20>;
    ld.param.u64 %rd1, [A];
    ld.param.u64 %rd2, [B];
    ld.param.u64 %rd3, [C];
    ld.param.u32 %r1, [N];
    mov.u32 %r2, %tid.x;
    mov.u32 %r3, %tid.y;
    mov.u32 %r4, %ctaid.x;
    mov.u32 %r5, %ctaid.y;
    shl.b32 %r6, %r5, 4;
    add.s32 %r7, %r6, %r3;
    shl.b32 %r8, %r4, 4;
    add.s32 %r9, %r8, %r2;
    mov.f32 %f1, 0f00000000;
    shl.b32 %r10, %r3, 4;
    add.s32 %r11, %r10, %r2;
    shl.b32 %r12, %r11, 2;
    mov.u32 %r13, As;
    add.s32 %r14, %r13, %r12;
    mov.u32 %r15, Bs;
    add.s32 %r16, %r15, %r12;
    shl.b32 %r17, %r3, 6;
    add.s32 %r18, %r13, %r17;
    shl.b32 %r19, %r2, 2;
    add.s32 %r20, %r15, %r19;
    mov.u32 %r21, 0;
LOOP:
    mad.lo.s32 %r22, %r7, %r1, %r21;
    add.s32 %r23, %r22, %r2;
    mul.wide.u32 %rd4, %r23, 4;
    add.s64 %rd5, %rd1, %rd4;
    ld.global.f32 %f2, [%rd5];
    st.shared.f32 [%r14], %f2;
    add.s32 %r24, %r21, %r3;
    mad.lo.s32 %r25, %r24, %r1, %r9;
    mul.wide.u32 %rd6, %r25, 4;
    add.s64 %rd7, %rd2, %rd6;
    ld.global.f32 %f3, [%rd7];
    st.shared.f32 [%r16], %f3;
    bar.sync 0;
{inner}    bar.sync 0;
    add.s32 %r21, %r21, 16;
    setp.lt.u32 %p1, %r21, %r1;
    @%p1 bra LOOP;
    mad.lo.s32 %r26, %r7, %r1, %r9;
    mul.wide.u32 %rd8, %r26, 4;
    add.s64 %rd9, %rd3, %rd8;
    st.global.f32 [%rd9], %f1;
    ret;
}}
"#
    )
}

/// `clang_collatz` of `tests/fixtures/clang/clang_kernels.o3_sm_80.ptx` with its device
/// function `collatz_steps` inlined by hand (registers renamed, the parameter and return
/// value moved through registers), so that the kernel has no call.
pub const COLLATZ_INLINED: &str = r#"
.version 8.0
.target sm_80
.address_size 64
.visible .entry clang_collatz(
	.param .u64 clang_collatz_param_0,
	.param .u64 clang_collatz_param_1,
	.param .u32 clang_collatz_param_2
)
{
	.reg .pred 	%p<12>;
	.reg .b32 	%r<6>;
	.reg .b64 	%rd<30>;
	ld.param.u32 	%r1, [clang_collatz_param_2];
	mov.u32 	%r2, %ctaid.x;
	mov.u32 	%r3, %ntid.x;
	mov.u32 	%r4, %tid.x;
	mad.lo.s32 	%r5, %r2, %r3, %r4;
	setp.ge.u32 	%p1, %r5, %r1;
	@%p1 bra 	LBB2_2;
	ld.param.u64 	%rd3, [clang_collatz_param_0];
	ld.param.u64 	%rd4, [clang_collatz_param_1];
	cvta.to.global.u64 	%rd5, %rd4;
	cvta.to.global.u64 	%rd6, %rd3;
	mul.wide.u32 	%rd7, %r5, 8;
	add.s64 	%rd1, %rd5, %rd7;
	add.s64 	%rd2, %rd6, %rd7;
	ld.global.u64 	%rd8, [%rd2];
	mov.u64 %rd24, %rd8;
	setp.lt.s64 	%p1, %rd24, 2;
	mov.u64 	%rd26, 0;
	@%p1 bra 	LBB3_6;
	mov.u64 	%rd23, 0;
	mov.pred 	%p3, 0;
	bra.uni 	LBB3_2;
LBB3_4:
	shr.u64 	%rd24, %rd24, 1;
LBB3_5:
	add.s64 	%rd26, %rd23, 1;
	setp.gt.s64 	%p6, %rd24, 1;
	setp.lt.u64 	%p7, %rd23, 999;
	and.pred  	%p8, %p6, %p7;
	mov.u64 	%rd23, %rd26;
	@%p8 bra 	LBB3_2;
	bra.uni 	LBB3_6;
LBB3_2:
	and.b64  	%rd21, %rd24, 1;
	setp.eq.b64 	%p2, %rd21, 1;
	xor.pred  	%p4, %p2, %p3;
	not.pred 	%p5, %p4;
	@%p5 bra 	LBB3_4;
	mul.lo.s64 	%rd22, %rd24, 3;
	add.s64 	%rd24, %rd22, 1;
	bra.uni 	LBB3_5;
LBB3_6:
	st.global.u64 	[%rd1], %rd26;
LBB2_2:
	ret;
}
"#;

/// Each thread steps a linear congruential generator `n` times from its index: uniform
/// arithmetic in a loop, where the interpreter's lockstep warps do well.
pub const LCG: &str = r#"
.version 8.0
.target sm_90
.address_size 64
.visible .entry lcg(.param .u64 out, .param .u32 n)
{
    .reg .pred %p<2>;
    .reg .b32 %r<8>;
    .reg .b64 %rd<4>;
    ld.param.u64 %rd1, [out];
    ld.param.u32 %r1, [n];
    mov.u32 %r2, %ctaid.x;
    mov.u32 %r3, %ntid.x;
    mov.u32 %r4, %tid.x;
    mad.lo.s32 %r5, %r2, %r3, %r4;
    mov.u32 %r6, %r5;
    setp.eq.u32 %p1, %r1, 0;
    @%p1 bra DONE;
LOOP:
    mad.lo.s32 %r6, %r6, 1664525, 1013904223;
    sub.s32 %r1, %r1, 1;
    setp.ne.u32 %p1, %r1, 0;
    @%p1 bra LOOP;
DONE:
    mul.wide.u32 %rd2, %r5, 4;
    add.s64 %rd3, %rd1, %rd2;
    st.global.u32 [%rd3], %r6;
    ret;
}
"#;

/// [`LCG`] where the first thread of each warp takes 32 times the steps of the others: a warp
/// runs as long as that thread, most of its lanes idle, where compiled threads run only their
/// own steps.
pub fn lcg_divergent() -> String {
    LCG.replace(
        "    mov.u32 %r6, %r5;\n",
        "    mov.u32 %r6, %r5;\n    and.b32 %r7, %r4, 31;\n    setp.eq.u32 %p1, %r7, 0;\n    @%p1 shl.b32 %r1, %r1, 5;\n",
    )
}
