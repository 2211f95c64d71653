//! Seed 002's compatibility check: the runtime must not be newer than the driver.
//!
//! The runtime makes this check itself when it initialises; this program shows the versions
//! and the rule, including what a too-old driver looks like. (To see the real initialisation
//! fail, run with `FERROCUDA_TEST_DRIVER_VERSION=12040`: the driver then reports 12.4.)
//!
//! `cargo run --example version_check`

use ferrocuda_runtime as cuda;

/// The program; `fcuda demo` runs it too.
pub fn run() -> cuda::Result<()> {
    let runtime_version = cuda::runtime_version();
    let driver_version = cuda::driver_version()?;
    println!(
        "runtime version {runtime_version} ({}), driver version {driver_version} ({})",
        cuda::version_string(runtime_version),
        cuda::version_string(driver_version)
    );

    // Make sure the runtime is not newer than the driver.
    cuda::check_compatibility(runtime_version, driver_version)?;
    println!("compatible: the driver supports this runtime");

    // What an older driver (CUDA 12.4) would get.
    match cuda::check_compatibility(runtime_version, 12040) {
        Err(e) => println!("with a CUDA 12.4 driver: {e}"),
        Ok(()) => {
            return Err(cuda::Error::with_detail(
                cuda::ErrorCode::Unknown,
                "an older driver was accepted",
            ))
        }
    }
    Ok(())
}

fn main() -> std::process::ExitCode {
    match run() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
