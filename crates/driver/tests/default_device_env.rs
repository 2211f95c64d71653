//! `Device::default()` honours `FERROCUDA_DEVICE` (own test binary: it sets the variable).

use ferrocuda_driver::{self as driver, Device, ErrorCode, Platform, DEVICE_ENV};

#[test]
fn default_device_follows_the_environment() {
    driver::init().unwrap();
    std::env::remove_var(DEVICE_ENV);
    let d = Device::default().unwrap();
    let first_gpu = Device::all()
        .unwrap()
        .into_iter()
        .find(|d| d.platform() == Platform::Nvidia);
    match first_gpu {
        Some(g) => assert_eq!(d, g),
        None => assert_eq!(d.platform(), Platform::Cpu),
    }

    std::env::set_var(DEVICE_ENV, "cpu");
    assert_eq!(Device::default().unwrap().platform(), Platform::Cpu);

    std::env::set_var(DEVICE_ENV, "no-such-device");
    let e = Device::default().unwrap_err();
    assert_eq!(e.code(), ErrorCode::InvalidValue);
    assert!(
        e.to_string().contains("FERROCUDA_DEVICE=no-such-device"),
        "{e}"
    );

    std::env::set_var(DEVICE_ENV, "99");
    assert_eq!(
        Device::default().unwrap_err().code(),
        ErrorCode::InvalidDevice
    );
    std::env::remove_var(DEVICE_ENV);
}
