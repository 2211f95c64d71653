//! `fcuda devices`: deviceQuery's essentials for every device of every platform.

use std::process::ExitCode;

use ferrocuda_driver::{self as driver, Device, DeviceAttribute as A};
use ferrocuda_runtime::{version_string, Error, Result};

fn attr(d: Device, a: A) -> String {
    d.attribute(a)
        .map_or_else(|e| format!("? ({})", e.code().name()), |v| v.to_string())
}

pub fn run() -> Result<ExitCode> {
    driver::init().map_err(Error::from)?;
    let devices = Device::all().map_err(Error::from)?;
    let driver_version = driver::driver_version().map_err(Error::from)?;
    println!(
        "ferrocuda runtime {} ({}), driver {} ({})",
        version_string(ferrocuda_runtime::RUNTIME_VERSION),
        ferrocuda_runtime::RUNTIME_VERSION,
        version_string(driver_version),
        driver_version
    );
    match driver::nvidia_unavailable_reason() {
        Some(reason) => println!("NVIDIA platform: unavailable ({reason})"),
        None => println!("NVIDIA platform: available"),
    }
    let default = Device::default().ok();
    println!("{} device(s)", devices.len());
    for d in devices {
        let name = d
            .name()
            .unwrap_or_else(|e| format!("? ({})", e.code().name()));
        let mark = if Some(d) == default {
            "  [default]"
        } else {
            ""
        };
        println!();
        println!("Device {} ({d}): \"{name}\"{mark}", d.ordinal());
        println!("  platform                        {}", d.platform().name());
        match d.compute_capability() {
            Ok((ma, mi)) => println!("  compute capability              {ma}.{mi}"),
            Err(e) => println!("  compute capability              ? ({})", e.code().name()),
        }
        match d.total_memory() {
            Ok(b) => println!(
                "  global memory                   {} MiB ({b} bytes)",
                b / (1024 * 1024)
            ),
            Err(e) => println!("  global memory                   ? ({})", e.code().name()),
        }
        println!(
            "  multiprocessors                 {}",
            attr(d, A::MultiprocessorCount)
        );
        println!("  warp size                       {}", attr(d, A::WarpSize));
        println!(
            "  max threads per block           {}",
            attr(d, A::MaxThreadsPerBlock)
        );
        println!(
            "  max block dimensions            {} x {} x {}",
            attr(d, A::MaxBlockDimX),
            attr(d, A::MaxBlockDimY),
            attr(d, A::MaxBlockDimZ)
        );
        println!(
            "  max grid dimensions             {} x {} x {}",
            attr(d, A::MaxGridDimX),
            attr(d, A::MaxGridDimY),
            attr(d, A::MaxGridDimZ)
        );
        println!(
            "  shared memory per block         {} bytes",
            attr(d, A::MaxSharedMemoryPerBlock)
        );
        println!(
            "  constant memory                 {} bytes",
            attr(d, A::TotalConstantMemory)
        );
        println!(
            "  registers per block             {}",
            attr(d, A::MaxRegistersPerBlock)
        );
        println!(
            "  clock rate                      {} kHz",
            attr(d, A::ClockRate)
        );
        println!(
            "  L2 cache                        {} bytes",
            attr(d, A::L2CacheSize)
        );
        println!(
            "  unified addressing              {}",
            attr(d, A::UnifiedAddressing)
        );
    }
    Ok(ExitCode::SUCCESS)
}
