//! Sticky errors and `device_reset`, which act on the whole process: one test, in its own
//! binary, so nothing else runs beside it.

use ferrocuda_driver as driver;
use ferrocuda_runtime::*;

embed_module!(
    KERNELS = "kernels/add_one.ptx",
    FAULTS = "kernels/faults.ptx"
);

fn add_one_works() -> Result<()> {
    let d = malloc_from(&[1.0f32; 64])?;
    launch!(KERNELS::add_one<<<1, 64>>>(d, 64i32))?;
    device_synchronize()?;
    assert!(d.to_vec()?.iter().all(|&x| x == 2.0));
    Ok(())
}

#[test]
fn sticky_errors_last_until_device_reset_and_reset_hits_every_primary_user() {
    add_one_works().unwrap();

    // "Plugin B" keeps memory in the primary context; "plugin C" in its own context.
    let b_mem = malloc_from(&[5u32; 4]).unwrap();
    let dev = current_driver_device().unwrap();
    let c_ctx = driver::Context::new(dev, driver::ContextFlags::SCHED_AUTO).unwrap();
    c_ctx.push_current().unwrap();
    let c_mem = malloc_from(&[6u32; 4]).unwrap();
    driver::Context::pop_current().unwrap();

    // A kernel storing to an address no allocation holds.
    launch!(FAULTS::store_at<<<1, 1>>>(0x10u64, 1u32)).unwrap();
    let e = device_synchronize().unwrap_err();
    assert_eq!(e.code(), ErrorCode::IllegalAddress, "{e}");

    // Sticky: every later call fails with it, and get_last_error does not clear it.
    let e = malloc::<f32>(4).unwrap_err();
    assert_eq!(e.code(), ErrorCode::IllegalAddress);
    assert_eq!(get_last_error(), ErrorCode::IllegalAddress);
    assert_eq!(get_last_error(), ErrorCode::IllegalAddress);
    assert_eq!(peek_at_last_error(), ErrorCode::IllegalAddress);
    assert_eq!(
        launch!(KERNELS::add_one<<<1, 1>>>(b_mem, 1i32))
            .unwrap_err()
            .code(),
        ErrorCode::IllegalAddress
    );

    // The reset clears it; modules reload and work again. An NVIDIA driver may instead keep
    // the fault for the whole process (CUDA documents that after cudaErrorIllegalAddress "the
    // process must be terminated and relaunched"; seen with another context alive on an H100,
    // driver 580): then the rest of this test cannot run there.
    device_reset().unwrap();
    if dev.platform() == driver::Platform::Nvidia {
        if let Err(e) = add_one_works() {
            assert_eq!(e.code(), ErrorCode::IllegalAddress, "{e}");
            eprintln!("skipping the recovery checks: the NVIDIA driver keeps the fault: {e}");
            return;
        }
    }
    assert_eq!(get_last_error(), ErrorCode::Success);
    add_one_works().unwrap();
    // The old primary context stayed current in name; the call after the reset made the
    // device's new one current.
    let cur = driver::Context::current().unwrap();
    assert!(cur.is_primary() && !cur.is_reset());

    // Embedded modules are loaded afresh: globals start from their initial values again.
    let read_counter = || {
        let (addr, _) = FAULTS.global("counter").unwrap();
        let mut b = [0u8; 4];
        memcpy_from_symbol(&mut b, addr).unwrap();
        u32::from_le_bytes(b)
    };
    launch!(FAULTS::bump_counter<<<1, 1>>>()).unwrap();
    assert_eq!(read_counter(), 8);

    // Plugin B's memory went with the primary context...
    let mut out = [0u32; 4];
    let e = memcpy(&mut out, &b_mem, 16, MemcpyKind::DeviceToHost).unwrap_err();
    assert_ne!(e.code(), ErrorCode::Success);
    // ...plugin C's, in its own context, did not.
    c_ctx.push_current().unwrap();
    memcpy(&mut out, &c_mem, 16, MemcpyKind::DeviceToHost).unwrap();
    assert_eq!(out, [6; 4]);
    driver::Context::pop_current().unwrap();

    device_reset().unwrap();
    assert_eq!(read_counter(), 7, "the module was reloaded after the reset");
    // A kernel given plugin B's stale memory gets a null pointer and faults loudly, rather
    // than writing into memory allocated since the reset.
    let fresh = malloc_from(&[0.0f32; 4]).unwrap();
    launch!(KERNELS::add_one<<<1, 4>>>(b_mem, 4i32)).unwrap();
    assert_eq!(
        device_synchronize().unwrap_err().code(),
        ErrorCode::IllegalAddress
    );
    drop(fresh);
    // A second reset in a row is harmless.
    device_reset().unwrap();
    device_reset().unwrap();
    add_one_works().unwrap();
}
