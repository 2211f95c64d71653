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
        // The CPU device grows its stacks on demand: it has no stack limit to report.
        let stack = ctx.limit(Limit::StackSize);
        match ctx.device().platform() {
            Platform::Cpu => assert_eq!(stack.unwrap_err().code(), ErrorCode::UnsupportedLimit),
            _ => assert!(stack.unwrap() > 0),
        }
    }
}
