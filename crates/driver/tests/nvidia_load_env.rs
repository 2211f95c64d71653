//! `FERROCUDA_LIBCUDA` names the only library tried, and a bad path is an error, not a panic.
//! (A separate test binary: it changes the environment before the process-wide load.)

use ferrocuda_driver::nvidia::sys::{driver, LoadError, LIBCUDA_ENV};

#[test]
fn bad_libcuda_path_is_reported() {
    std::env::set_var(LIBCUDA_ENV, "/nonexistent/libcuda.so");
    let err = driver().unwrap_err();
    match &err {
        LoadError::LibraryNotFound { tried, .. } => {
            assert_eq!(tried, &["/nonexistent/libcuda.so".to_string()]);
        }
        other => panic!("unexpected {other:?}"),
    }
    assert!(err.to_string().contains("/nonexistent/libcuda.so"), "{err}");
    // The failure is cached and handed out again.
    assert_eq!(driver().unwrap_err(), err);
}
