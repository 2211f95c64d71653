//! Runtime and driver versions, and the compatibility rule between them.
//!
//! CUDA encodes versions as `1000 * major + 10 * minor` (CUDA 13.0 → `13000`). A runtime may run
//! on a driver of the same or a newer version, never an older one: the runtime would call entry
//! points the driver does not have. ferrocuda's runtime checks this once, at initialisation,
//! and refuses with [`ErrorCode::InsufficientDriver`] naming both versions.

use crate::error::{Error, ErrorCode, Result};

/// The CUDA API level this runtime implements (CUDA 13.0).
pub const RUNTIME_VERSION: i32 = 13000;

/// Environment variable that replaces the driver's reported version during the runtime's
/// initialisation check. It exists so tests and the `version_check` example can show the
/// failure on any machine; it changes nothing else.
pub const DRIVER_VERSION_OVERRIDE_ENV: &str = "FERROCUDA_TEST_DRIVER_VERSION";

/// Formats a CUDA version number as `major.minor` (`12040` → `12.4`).
pub fn version_string(v: i32) -> String {
    format!("{}.{}", v / 1000, (v % 1000) / 10)
}

/// The runtime's version (`cudaRuntimeGetVersion`).
pub fn runtime_version() -> i32 {
    RUNTIME_VERSION
}

/// Seed 002's rule: a runtime newer than the driver cannot run on it.
///
/// Returns [`ErrorCode::InsufficientDriver`] with both versions in the message when
/// `runtime > driver`.
pub fn check_compatibility(runtime: i32, driver: i32) -> Result<()> {
    if runtime > driver {
        return Err(Error::with_detail(
            ErrorCode::InsufficientDriver,
            format!(
                "runtime {} ({runtime}) is newer than driver {} ({driver}); \
                 install a driver that supports CUDA {} or newer",
                version_string(runtime),
                version_string(driver),
                version_string(runtime),
            ),
        ));
    }
    Ok(())
}

/// Reads [`DRIVER_VERSION_OVERRIDE_ENV`], if set to a number.
pub(crate) fn driver_version_override() -> Result<Option<i32>> {
    match std::env::var(DRIVER_VERSION_OVERRIDE_ENV) {
        Ok(s) => s.trim().parse::<i32>().map(Some).map_err(|_| {
            Error::with_detail(
                ErrorCode::InvalidValue,
                format!("{DRIVER_VERSION_OVERRIDE_ENV}={s:?} is not a version number like 12040"),
            )
        }),
        Err(_) => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_versions() {
        assert_eq!(version_string(13000), "13.0");
        assert_eq!(version_string(12040), "12.4");
        assert_eq!(version_string(11080), "11.8");
    }

    #[test]
    fn older_driver_is_refused_naming_both() {
        let e = check_compatibility(13000, 12040).unwrap_err();
        assert_eq!(e.code(), ErrorCode::InsufficientDriver);
        let msg = e.to_string();
        assert!(msg.contains("13.0") && msg.contains("12.4"), "{msg}");
        assert!(msg.starts_with("cudaErrorInsufficientDriver"), "{msg}");
    }

    #[test]
    fn same_or_newer_driver_is_accepted() {
        assert!(check_compatibility(13000, 13000).is_ok());
        assert!(check_compatibility(13000, 13020).is_ok());
        assert!(check_compatibility(12040, 13000).is_ok());
    }
}
