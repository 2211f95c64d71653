//! Device-side `assert` and heap through the driver layer, on every device (own test binary:
//! a failed assertion poisons its context). The kernels are nvcc's
//! (`tests/fixtures/kernels/printf.cu`).

mod common;

use ferrocuda_driver::ErrorCode;

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

#[test]
fn failed_assertion_is_cuda_error_assert_and_sticky() {
    for ctx in common::contexts() {
        let m = ctx.load_ptx(PTX).unwrap();
        let f = m.function("assert_some").unwrap();
        let out = ctx.alloc_zeroed::<i32>(32).unwrap();
        let s = ctx.default_stream();
        // Threads 15..31 fail `v < 100` and print their messages to standard error.
        let launched = f.launch(1u32, 32u32, 0, &s, &[&out]);
        let e = launched.and_then(|()| s.synchronize()).unwrap_err();
        assert_eq!(e.code(), ErrorCode::Assert, "{e}");
        assert_eq!(e.code().name(), "CUDA_ERROR_ASSERT");
        assert_eq!(ctx.synchronize().unwrap_err().code(), ErrorCode::Assert);
        assert_eq!(out.to_vec().unwrap_err().code(), ErrorCode::Assert);
    }
}
