//! Seed 002's compatibility rule at initialisation: a runtime newer than the driver is
//! refused, naming both versions. Its own binary: the override must be set before the first
//! runtime call of the process.

use ferrocuda_runtime::*;

#[test]
fn a_driver_older_than_the_runtime_is_refused_at_init() {
    std::env::set_var(DRIVER_VERSION_OVERRIDE_ENV, "12040");
    let e = init_runtime().unwrap_err();
    assert_eq!(e.code(), ErrorCode::InsufficientDriver);
    let msg = e.to_string();
    assert!(msg.contains("13.0") && msg.contains("12.4"), "{msg}");
    // Every later call reports the same failure.
    assert_eq!(
        get_device_count().unwrap_err().code(),
        ErrorCode::InsufficientDriver
    );
    assert_eq!(
        malloc::<u8>(1).unwrap_err().code(),
        ErrorCode::InsufficientDriver
    );
    assert_eq!(get_last_error(), ErrorCode::InsufficientDriver);
}
