//! Device-side `malloc`/`free` through the driver layer, on every device. The kernel is
//! nvcc's (`tests/fixtures/kernels/printf.cu`).

mod common;

const PTX: &str = include_str!("../../../tests/fixtures/ptx/printf.o3_sm90.ptx");

#[test]
fn device_heap_blocks_work_and_a_huge_request_is_null() {
    for ctx in common::contexts() {
        let m = ctx.load_ptx(PTX).unwrap();
        let f = m.function("device_heap").unwrap();
        let out = ctx.alloc_zeroed::<i32>(256).unwrap();
        let s = ctx.default_stream();
        f.launch(2u32, 64u32, 0, &s, &[&out]).unwrap();
        s.synchronize().unwrap();
        let got = out.to_vec().unwrap();
        for t in 0..128 {
            // p[0..4] = 10t + k, summed; malloc(1 TiB) is null.
            assert_eq!(got[2 * t], 40 * t as i32 + 6, "thread {t}");
            assert_eq!(got[2 * t + 1], 1, "thread {t}");
        }
    }
}

/// `malloc(size)` by one thread: `out[0]` = 1 when it returned a block.
const BIG_MALLOC: &str = r#"
.version 8.0
.target sm_90
.address_size 64
.extern .func (.param .b64 func_retval0) malloc (.param .b64 malloc_param_0);
.extern .func free (.param .b64 free_param_0);
.visible .entry big_malloc(.param .u64 out, .param .u64 size)
{
    .reg .b64 %rd<4>;
    .reg .pred %p;
    .reg .b32 %r1;
    ld.param.u64 %rd1, [out];
    ld.param.u64 %rd2, [size];
    {
    .param .b64 a;
    st.param.b64 [a], %rd2;
    .param .b64 r;
    call.uni (r), malloc, (a);
    ld.param.b64 %rd3, [r];
    }
    setp.ne.u64 %p, %rd3, 0;
    selp.u32 %r1, 1, 0, %p;
    st.global.u32 [%rd1], %r1;
    {
    .param .b64 b;
    st.param.b64 [b], %rd3;
    call.uni free, (b);
    }
    ret;
}
"#;

fn malloc_succeeds(ctx: &ferrocuda_driver::Context, bytes: u64) -> bool {
    let m = ctx.load_ptx(BIG_MALLOC).unwrap();
    let out = ctx.alloc_zeroed::<u32>(1).unwrap();
    let s = ctx.default_stream();
    m.function("big_malloc")
        .unwrap()
        .launch(1u32, 1u32, 0, &s, &[&out, &bytes])
        .and_then(|()| s.synchronize())
        .unwrap();
    out.to_vec().unwrap()[0] == 1
}

#[test]
fn the_heap_limit_sizes_kernels_malloc() {
    use ferrocuda_driver::{ErrorCode, Limit, Platform};
    const MIB: usize = 1 << 20;
    // The default heap (8 MiB) cannot hold 16 MiB.
    for ctx in common::contexts() {
        assert!(ctx.limit(Limit::MallocHeapSize).unwrap() >= 8 * MIB);
        assert!(
            !malloc_succeeds(&ctx, 16 * MIB as u64),
            "{:?}",
            ctx.device()
        );
    }
    // Set before the first kernel that uses malloc, a 64 MiB heap can.
    for ctx in common::contexts() {
        ctx.set_limit(Limit::MallocHeapSize, 64 * MIB).unwrap();
        assert!(ctx.limit(Limit::MallocHeapSize).unwrap() >= 64 * MIB);
        assert!(malloc_succeeds(&ctx, 16 * MIB as u64), "{:?}", ctx.device());
        ctx.set_limit(Limit::PrintfFifoSize, 4 * MIB).unwrap();
        assert!(ctx.limit(Limit::PrintfFifoSize).unwrap() >= 4 * MIB);
        ctx.set_limit(Limit::StackSize, 4096).unwrap();
        assert!(ctx.limit(Limit::StackSize).unwrap() >= 4096);
        let sync_depth = ctx.limit(Limit::DevRuntimeSyncDepth);
        if ctx.device().platform() == Platform::Cpu {
            assert_eq!(sync_depth.unwrap_err().code(), ErrorCode::UnsupportedLimit);
        }
    }
}

/// `deep(n)` recurses `n` times, each frame with a 4 KiB local array.
const DEEP: &str = r#"
.version 8.0
.target sm_90
.address_size 64
.func (.param .b32 r) deep(.param .b32 n)
{
    .local .align 4 .b8 buf[4096];
    .reg .pred %p;
    .reg .b32 %r<4>;
    ld.param.b32 %r1, [n];
    st.local.u32 [buf+4092], %r1;
    setp.eq.s32 %p, %r1, 0;
    @%p bra DONE;
    sub.s32 %r2, %r1, 1;
    {
    .param .b32 a;
    st.param.b32 [a], %r2;
    .param .b32 b;
    call (b), deep, (a);
    ld.param.b32 %r3, [b];
    }
DONE:
    ld.local.u32 %r1, [buf+4092];
    st.param.b32 [r], %r1;
    ret;
}
.visible .entry recurse(.param .u64 out, .param .u32 n)
{
    .reg .b32 %r<3>;
    .reg .b64 %rd1;
    ld.param.u64 %rd1, [out];
    ld.param.u32 %r1, [n];
    {
    .param .b32 a;
    st.param.b32 [a], %r1;
    .param .b32 b;
    call (b), deep, (a);
    ld.param.b32 %r2, [b];
    }
    st.global.u32 [%rd1], %r2;
    ret;
}
"#;

/// On the CPU device a thread's stack grows to 1 MiB by default; a larger stack limit lets
/// deeper recursion run (about 1.6 MiB here), as on a GPU.
#[test]
fn the_stack_limit_bounds_recursion_on_the_cpu_device() {
    use ferrocuda_driver::{ErrorCode, Limit};
    let run = |stack: Option<usize>| {
        let ctx = common::cpu_context();
        if let Some(s) = stack {
            ctx.set_limit(Limit::StackSize, s).unwrap();
        }
        let m = ctx.load_ptx(DEEP).unwrap();
        let out = ctx.alloc_zeroed::<u32>(1).unwrap();
        let s = ctx.default_stream();
        m.function("recurse")
            .unwrap()
            .launch(1u32, 1u32, 0, &s, &[&out, &400u32])
            .and_then(|()| s.synchronize())
            .map(|()| out.to_vec().unwrap()[0])
    };
    let e = run(None).unwrap_err();
    assert_eq!(e.code(), ErrorCode::HardwareStackError, "{e}");
    assert_eq!(run(Some(8 << 20)).unwrap(), 400);
}
