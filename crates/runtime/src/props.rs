//! Device properties (`cudaGetDeviceProperties`, `cudaDeviceGetAttribute`).

use ferrocuda_driver::{Device, DeviceAttribute, Platform};

use crate::error::{Error, ErrorCode, Result};
use crate::state::{get_device_count, record};

/// The essentials of `cudaDeviceProp`: what deviceQuery prints and what launch
/// configurations are sized from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceProp {
    /// The device's name.
    pub name: String,
    /// `cpu` or `cuda:N`: how `FERROCUDA_DEVICE` and `--device` name it.
    pub spec: String,
    /// The platform it runs on.
    pub platform: Platform,
    /// Device memory in bytes.
    pub total_global_mem: u64,
    /// Compute capability major version.
    pub major: i32,
    /// Compute capability minor version.
    pub minor: i32,
    /// Streaming multiprocessors (worker threads on the CPU device).
    pub multi_processor_count: i32,
    /// Threads in a warp.
    pub warp_size: i32,
    /// Largest block, in threads.
    pub max_threads_per_block: i32,
    /// Largest block extent per dimension.
    pub max_threads_dim: [i32; 3],
    /// Largest grid extent per dimension.
    pub max_grid_size: [i32; 3],
    /// Static plus default dynamic shared memory per block, in bytes.
    pub shared_mem_per_block: i32,
    /// Constant memory, in bytes.
    pub total_const_mem: i32,
    /// 32-bit registers per block.
    pub regs_per_block: i32,
    /// Resident threads per multiprocessor.
    pub max_threads_per_multi_processor: i32,
    /// L2 cache size in bytes.
    pub l2_cache_size: i32,
    /// Whether kernels of different streams may run concurrently.
    pub concurrent_kernels: bool,
    /// Whether the device shares one address space with the host.
    pub unified_addressing: bool,
}

fn device(ordinal: usize) -> Result<Device> {
    let count = get_device_count()?;
    if ordinal >= count {
        return Err(Error::with_detail(
            ErrorCode::InvalidDevice,
            format!("device {ordinal} (there are {count})"),
        ));
    }
    Device::get(ordinal).map_err(Error::from)
}

/// One attribute of a device (`cudaDeviceGetAttribute`).
pub fn device_get_attribute(attr: DeviceAttribute, ordinal: usize) -> Result<i32> {
    record(|| device(ordinal)?.attribute(attr).map_err(Error::from))
}

/// The properties of a device (`cudaGetDeviceProperties`).
pub fn get_device_properties(ordinal: usize) -> Result<DeviceProp> {
    record(|| {
        let d = device(ordinal)?;
        let a = |attr| d.attribute(attr).map_err(Error::from);
        use DeviceAttribute as A;
        Ok(DeviceProp {
            name: d.name().map_err(Error::from)?,
            spec: d.to_string(),
            platform: d.platform(),
            total_global_mem: d.total_memory().map_err(Error::from)?,
            major: a(A::ComputeCapabilityMajor)?,
            minor: a(A::ComputeCapabilityMinor)?,
            multi_processor_count: a(A::MultiprocessorCount)?,
            warp_size: a(A::WarpSize)?,
            max_threads_per_block: a(A::MaxThreadsPerBlock)?,
            max_threads_dim: [
                a(A::MaxBlockDimX)?,
                a(A::MaxBlockDimY)?,
                a(A::MaxBlockDimZ)?,
            ],
            max_grid_size: [a(A::MaxGridDimX)?, a(A::MaxGridDimY)?, a(A::MaxGridDimZ)?],
            shared_mem_per_block: a(A::MaxSharedMemoryPerBlock)?,
            total_const_mem: a(A::TotalConstantMemory)?,
            regs_per_block: a(A::MaxRegistersPerBlock)?,
            max_threads_per_multi_processor: a(A::MaxThreadsPerMultiprocessor)?,
            l2_cache_size: a(A::L2CacheSize)?,
            concurrent_kernels: a(A::ConcurrentKernels)? != 0,
            unified_addressing: a(A::UnifiedAddressing)? != 0,
        })
    })
}
