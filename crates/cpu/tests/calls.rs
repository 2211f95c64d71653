mod common;
use common::*;

const CALLS: &str = r#"
.version 8.0
.target sm_90
.address_size 64

.func (.param .b32 func_retval0) add3(.param .b32 a, .param .b32 b, .param .b32 c)
{
    .reg .b32 %r<6>;
    ld.param.b32 %r1, [a];
    ld.param.b32 %r2, [b];
    ld.param.b32 %r3, [c];
    add.s32 %r4, %r1, %r2;
    add.s32 %r5, %r4, %r3;
    st.param.b32 [func_retval0+0], %r5;
    ret;
}

// Recursive: fib(n) with its own local frame holding n.
.func (.param .b32 func_retval0) fib(.param .b32 n)
{
    .local .align 4 .b8 __local_depot1[4];
    .reg .pred %p<2>;
    .reg .b32 %r<10>;
    ld.param.b32 %r1, [n];
    st.local.u32 [__local_depot1], %r1;
    setp.lt.u32 %p1, %r1, 2;
    @%p1 bra BASE;
    sub.s32 %r2, %r1, 1;
    {
    .param .b32 param0;
    st.param.b32 [param0+0], %r2;
    .param .b32 retval0;
    call.uni (retval0), fib, (param0);
    ld.param.b32 %r3, [retval0+0];
    }
    ld.local.u32 %r1, [__local_depot1];
    sub.s32 %r4, %r1, 2;
    {
    .param .b32 param0;
    st.param.b32 [param0+0], %r4;
    .param .b32 retval0;
    call.uni (retval0), fib, (param0);
    ld.param.b32 %r5, [retval0+0];
    }
    add.s32 %r6, %r3, %r5;
    st.param.b32 [func_retval0+0], %r6;
    ret;
BASE:
    st.param.b32 [func_retval0+0], %r1;
    ret;
}

.func (.param .b32 func_retval0) twice(.param .b32 x)
{
    .reg .b32 %r<3>;
    ld.param.b32 %r1, [x];
    shl.b32 %r2, %r1, 1;
    st.param.b32 [func_retval0+0], %r2;
    ret;
}

.func (.param .b32 func_retval0) square(.param .b32 x)
{
    .reg .b32 %r<3>;
    ld.param.b32 %r1, [x];
    mul.lo.s32 %r2, %r1, %r1;
    st.param.b32 [func_retval0+0], %r2;
    ret;
}

.global .align 8 .u64 fns[2] = {twice, square};

.visible .entry calls(.param .u64 out)
{
    .reg .b32 %r<20>;
    .reg .b64 %rd<10>;
    ld.param.u64 %rd1, [out];
    mov.u32 %r1, %tid.x;
    {
    .param .b32 param0;
    st.param.b32 [param0+0], %r1;
    .param .b32 param1;
    st.param.b32 [param1+0], 10;
    .param .b32 param2;
    st.param.b32 [param2+0], 100;
    .param .b32 retval0;
    call.uni (retval0), add3, (param0, param1, param2);
    ld.param.b32 %r2, [retval0+0];
    }
    // divergent recursion depth: fib(tid % 12)
    rem.u32 %r3, %r1, 12;
    {
    .param .b32 param0;
    st.param.b32 [param0+0], %r3;
    .param .b32 retval0;
    call.uni (retval0), fib, (param0);
    ld.param.b32 %r4, [retval0+0];
    }
    // indirect call through a table, selected per lane
    and.b32 %r5, %r1, 1;
    mul.wide.u32 %rd2, %r5, 8;
    mov.u64 %rd3, fns;
    add.s64 %rd4, %rd3, %rd2;
    ld.global.u64 %rd5, [%rd4];
    {
    .param .b32 param0;
    st.param.b32 [param0+0], %r1;
    .param .b32 retval0;
    proto: .callprototype (.param .b32 _) _ (.param .b32 _);
    call (retval0), %rd5, (param0), proto;
    ld.param.b32 %r6, [retval0+0];
    }
    mul.wide.u32 %rd6, %r1, 12;
    add.s64 %rd7, %rd1, %rd6;
    st.global.u32 [%rd7], %r2;
    st.global.u32 [%rd7+4], %r4;
    st.global.u32 [%rd7+8], %r6;
    ret;
}
"#;

fn fib(n: u32) -> u32 {
    if n < 2 {
        n
    } else {
        fib(n - 1) + fib(n - 2)
    }
}

#[test]
fn direct_recursive_and_indirect_calls() {
    let m = load(CALLS);
    let n = 48u32;
    let out = upload_u32(&vec![0; 3 * n as usize]);
    run(
        &m,
        "calls",
        cfg([2, 1, 1], [n, 1, 1], 0),
        Params::default().u64(out),
    )
    .unwrap();
    let o = download_u32(out, 3 * n as usize);
    for t in 0..n {
        let r = &o[3 * t as usize..3 * t as usize + 3];
        assert_eq!(r[0], t + 110, "add3 of {t}");
        assert_eq!(r[1], fib(t % 12), "fib of {t}");
        assert_eq!(
            r[2],
            if t % 2 == 0 { 2 * t } else { t * t },
            "indirect of {t}"
        );
    }
}

const DEEP: &str = r#"
.version 8.0
.target sm_90
.address_size 64

.func forever(.param .b32 n)
{
    .reg .b32 %r<3>;
    ld.param.b32 %r1, [n];
    add.s32 %r2, %r1, 1;
    {
    .param .b32 param0;
    st.param.b32 [param0+0], %r2;
    call.uni forever, (param0);
    }
    ret;
}

.visible .entry deep()
{
    {
    .param .b32 param0;
    st.param.b32 [param0+0], 0;
    call.uni forever, (param0);
    }
    ret;
}
"#;

#[test]
fn unbounded_recursion_is_a_stack_overflow() {
    let m = load(DEEP);
    let e = run(&m, "deep", cfg([1, 1, 1], [1, 1, 1], 0), Params::default()).unwrap_err();
    assert!(
        matches!(e, ferrocuda_cpu::Error::StackOverflow { .. }),
        "{e}"
    );
    assert!(e.to_string().contains("deep"), "{e}");
}
