//! A faulting kernel on an NVIDIA GPU (own test binary: the fault poisons the context).

mod common;

use common::kernels;
use ferrocuda_driver::{Context, ContextFlags, DevicePtr, ErrorCode};

#[test]
fn out_of_bounds_kernel_is_illegal_address_and_sticky_on_a_gpu() {
    let Some(gpu) = common::gpu() else { return };
    let ctx = Context::new(gpu, ContextFlags::SCHED_AUTO).unwrap();
    let m = kernels(&ctx);
    let f = m.function("store_at").unwrap();
    let buf = ctx.alloc::<u32>(4).unwrap();
    let s = ctx.default_stream();
    let bad = DevicePtr::from_raw(0x10);
    f.launch(1u32, 1u32, 0, &s, &[&bad, &1u32]).unwrap();
    let e = s.synchronize().unwrap_err();
    assert_eq!(e.code(), ErrorCode::IllegalAddress, "{e}");
    assert_eq!(
        ctx.synchronize().unwrap_err().code(),
        ErrorCode::IllegalAddress
    );
    assert_eq!(buf.to_vec().unwrap_err().code(), ErrorCode::IllegalAddress);
    // Dropping resources of the failed context does not crash.
    drop(buf);
    drop(f);
    drop(m);
    drop(ctx);
}
