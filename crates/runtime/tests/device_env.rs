//! `FERROCUDA_DEVICE` chooses the runtime's default device. Its own binary: the variable is
//! read once, when the runtime initialises.

use ferrocuda_driver as driver;
use ferrocuda_runtime::*;

#[test]
fn ferrocuda_device_selects_the_default_device() {
    std::env::set_var("FERROCUDA_DEVICE", "cpu");
    let dev = current_driver_device().unwrap();
    assert_eq!(dev.platform(), driver::Platform::Cpu);
    assert_eq!(get_device().unwrap(), dev.ordinal());
    // Memory and launches land there, in its primary context, which driver users share.
    let d = malloc::<u32>(4).unwrap();
    assert_eq!(d.device(), dev.ordinal());
    let primary = dev.retain_primary_context().unwrap();
    assert_eq!(*d.as_driver().context(), primary);
    // Other threads start on the same default.
    let other = std::thread::spawn(get_device).join().unwrap().unwrap();
    assert_eq!(other, dev.ordinal());
}
