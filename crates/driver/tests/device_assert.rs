//! Device-side `assert` through the driver layer, on every device (own test binary: on a GPU,
//! a failed assertion poisons more than its own context). The kernel is nvcc's
//! (`tests/fixtures/kernels/printf.cu`).

mod common;

use ferrocuda_driver::ErrorCode;

const PTX: &str = include_str!("../../../tests/fixtures/ptx/printf.o3_sm90.ptx");

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
