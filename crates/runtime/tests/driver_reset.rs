//! A primary-context reset made through the driver layer (`cuDevicePrimaryCtxReset`), not
//! `device_reset`: the runtime notices and starts afresh, as cudart does. Alone in its binary,
//! since a reset acts on the whole process.

use ferrocuda_driver as driver;
use ferrocuda_runtime::*;

embed_module!(KERNELS = "kernels/add_one.ptx");

#[test]
fn a_reset_through_the_driver_layer_is_seen_by_the_runtime() {
    let d = malloc_from(&[1.0f32; 64]).unwrap();
    launch!(KERNELS::add_one<<<1, 64>>>(d, 64i32)).unwrap();
    device_synchronize().unwrap();
    assert!(d.to_vec().unwrap().iter().all(|&x| x == 2.0));

    let dev = current_driver_device().unwrap();
    dev.reset_primary_context().unwrap();

    // The old allocation went with the context, and says so.
    assert_eq!(
        d.to_vec().unwrap_err().code(),
        ErrorCode::InvalidDevicePointer
    );
    // New work runs in the device's new primary context, which is current, and the embedded
    // module is loaded into it afresh.
    let e = malloc_from(&[1.0f32; 64]).unwrap();
    launch!(KERNELS::add_one<<<1, 64>>>(e, 64i32)).unwrap();
    device_synchronize().unwrap();
    assert!(e.to_vec().unwrap().iter().all(|&x| x == 2.0));
    let cur = driver::Context::current().unwrap();
    assert!(cur.is_primary() && !cur.is_reset());
    assert_eq!(*e.as_driver().context(), cur);
}
