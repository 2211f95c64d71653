//! With libcuda missing (`FERROCUDA_LIBCUDA=/nonexistent`), the CPU device still works and
//! the reason is reported. Own test binary: the variable must be set before `init`.

use ferrocuda_driver::{self as driver, Context, ContextFlags, Device, ErrorCode, Platform};

#[test]
fn missing_libcuda_leaves_the_cpu_device() {
    std::env::set_var("FERROCUDA_LIBCUDA", "/nonexistent/libcuda.so.1");
    assert_eq!(
        Device::count().unwrap_err().code(),
        ErrorCode::NotInitialized,
        "calls before init fail"
    );
    driver::init().unwrap();
    driver::init().unwrap(); // idempotent
    let reason = driver::nvidia_unavailable_reason().expect("a reason");
    assert!(!reason.is_empty());
    let all = Device::all().unwrap();
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].platform(), Platform::Cpu);
    assert_eq!(Device::default().unwrap(), all[0]);
    let e = Device::from_spec("cuda:0").unwrap_err();
    assert_eq!(e.code(), ErrorCode::NoDevice);
    assert!(e.to_string().contains(&reason), "{e}");
    // The CPU device works.
    let ctx = Context::new(all[0], ContextFlags::SCHED_AUTO).unwrap();
    let b = ctx.upload(&[1u32, 2, 3]).unwrap();
    assert_eq!(b.to_vec().unwrap(), vec![1, 2, 3]);
    assert!(driver::driver_version().unwrap() >= 12000);
}
