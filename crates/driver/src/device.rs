//! Devices: one list over every platform (NVIDIA GPUs first, then the CPU device).

use std::sync::atomic::Ordering;

use crate::context::Context;
use crate::error::{Error, ErrorCode, Result};
use crate::launch::LaunchLimits;
use crate::{registry, ContextFlags, Platform};

/// Device properties, numbered as CUDA's `CUdevice_attribute` (what `cuDeviceGetAttribute`
/// and deviceQuery report).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(i32)]
#[non_exhaustive]
pub enum DeviceAttribute {
    /// `CU_DEVICE_ATTRIBUTE_MAX_THREADS_PER_BLOCK`.
    MaxThreadsPerBlock = 1,
    /// `CU_DEVICE_ATTRIBUTE_MAX_BLOCK_DIM_X`.
    MaxBlockDimX = 2,
    /// `CU_DEVICE_ATTRIBUTE_MAX_BLOCK_DIM_Y`.
    MaxBlockDimY = 3,
    /// `CU_DEVICE_ATTRIBUTE_MAX_BLOCK_DIM_Z`.
    MaxBlockDimZ = 4,
    /// `CU_DEVICE_ATTRIBUTE_MAX_GRID_DIM_X`.
    MaxGridDimX = 5,
    /// `CU_DEVICE_ATTRIBUTE_MAX_GRID_DIM_Y`.
    MaxGridDimY = 6,
    /// `CU_DEVICE_ATTRIBUTE_MAX_GRID_DIM_Z`.
    MaxGridDimZ = 7,
    /// `CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK`.
    MaxSharedMemoryPerBlock = 8,
    /// `CU_DEVICE_ATTRIBUTE_TOTAL_CONSTANT_MEMORY`.
    TotalConstantMemory = 9,
    /// `CU_DEVICE_ATTRIBUTE_WARP_SIZE`.
    WarpSize = 10,
    /// `CU_DEVICE_ATTRIBUTE_MAX_PITCH`.
    MaxPitch = 11,
    /// `CU_DEVICE_ATTRIBUTE_MAX_REGISTERS_PER_BLOCK`.
    MaxRegistersPerBlock = 12,
    /// `CU_DEVICE_ATTRIBUTE_CLOCK_RATE`.
    ClockRate = 13,
    /// `CU_DEVICE_ATTRIBUTE_TEXTURE_ALIGNMENT`.
    TextureAlignment = 14,
    /// `CU_DEVICE_ATTRIBUTE_GPU_OVERLAP`.
    GpuOverlap = 15,
    /// `CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT`.
    MultiprocessorCount = 16,
    /// `CU_DEVICE_ATTRIBUTE_KERNEL_EXEC_TIMEOUT`.
    KernelExecTimeout = 17,
    /// `CU_DEVICE_ATTRIBUTE_INTEGRATED`.
    Integrated = 18,
    /// `CU_DEVICE_ATTRIBUTE_CAN_MAP_HOST_MEMORY`.
    CanMapHostMemory = 19,
    /// `CU_DEVICE_ATTRIBUTE_COMPUTE_MODE`.
    ComputeMode = 20,
    /// `CU_DEVICE_ATTRIBUTE_MAXIMUM_TEXTURE1D_WIDTH`.
    MaximumTexture1dWidth = 21,
    /// `CU_DEVICE_ATTRIBUTE_MAXIMUM_TEXTURE2D_WIDTH`.
    MaximumTexture2dWidth = 22,
    /// `CU_DEVICE_ATTRIBUTE_MAXIMUM_TEXTURE2D_HEIGHT`.
    MaximumTexture2dHeight = 23,
    /// `CU_DEVICE_ATTRIBUTE_MAXIMUM_TEXTURE3D_WIDTH`.
    MaximumTexture3dWidth = 24,
    /// `CU_DEVICE_ATTRIBUTE_MAXIMUM_TEXTURE3D_HEIGHT`.
    MaximumTexture3dHeight = 25,
    /// `CU_DEVICE_ATTRIBUTE_MAXIMUM_TEXTURE3D_DEPTH`.
    MaximumTexture3dDepth = 26,
    /// `CU_DEVICE_ATTRIBUTE_SURFACE_ALIGNMENT`.
    SurfaceAlignment = 30,
    /// `CU_DEVICE_ATTRIBUTE_CONCURRENT_KERNELS`.
    ConcurrentKernels = 31,
    /// `CU_DEVICE_ATTRIBUTE_ECC_ENABLED`.
    EccEnabled = 32,
    /// `CU_DEVICE_ATTRIBUTE_PCI_BUS_ID`.
    PciBusId = 33,
    /// `CU_DEVICE_ATTRIBUTE_PCI_DEVICE_ID`.
    PciDeviceId = 34,
    /// `CU_DEVICE_ATTRIBUTE_TCC_DRIVER`.
    TccDriver = 35,
    /// `CU_DEVICE_ATTRIBUTE_MEMORY_CLOCK_RATE`.
    MemoryClockRate = 36,
    /// `CU_DEVICE_ATTRIBUTE_GLOBAL_MEMORY_BUS_WIDTH`.
    GlobalMemoryBusWidth = 37,
    /// `CU_DEVICE_ATTRIBUTE_L2_CACHE_SIZE`.
    L2CacheSize = 38,
    /// `CU_DEVICE_ATTRIBUTE_MAX_THREADS_PER_MULTIPROCESSOR`.
    MaxThreadsPerMultiprocessor = 39,
    /// `CU_DEVICE_ATTRIBUTE_ASYNC_ENGINE_COUNT`.
    AsyncEngineCount = 40,
    /// `CU_DEVICE_ATTRIBUTE_UNIFIED_ADDRESSING`.
    UnifiedAddressing = 41,
    /// `CU_DEVICE_ATTRIBUTE_PCI_DOMAIN_ID`.
    PciDomainId = 50,
    /// `CU_DEVICE_ATTRIBUTE_TEXTURE_PITCH_ALIGNMENT`.
    TexturePitchAlignment = 51,
    /// `CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR`.
    ComputeCapabilityMajor = 75,
    /// `CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR`.
    ComputeCapabilityMinor = 76,
    /// `CU_DEVICE_ATTRIBUTE_STREAM_PRIORITIES_SUPPORTED`.
    StreamPrioritiesSupported = 78,
    /// `CU_DEVICE_ATTRIBUTE_GLOBAL_L1_CACHE_SUPPORTED`.
    GlobalL1CacheSupported = 79,
    /// `CU_DEVICE_ATTRIBUTE_LOCAL_L1_CACHE_SUPPORTED`.
    LocalL1CacheSupported = 80,
    /// `CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_MULTIPROCESSOR`.
    MaxSharedMemoryPerMultiprocessor = 81,
    /// `CU_DEVICE_ATTRIBUTE_MAX_REGISTERS_PER_MULTIPROCESSOR`.
    MaxRegistersPerMultiprocessor = 82,
    /// `CU_DEVICE_ATTRIBUTE_MANAGED_MEMORY`.
    ManagedMemory = 83,
    /// `CU_DEVICE_ATTRIBUTE_MULTI_GPU_BOARD`.
    MultiGpuBoard = 84,
    /// `CU_DEVICE_ATTRIBUTE_MULTI_GPU_BOARD_GROUP_ID`.
    MultiGpuBoardGroupId = 85,
    /// `CU_DEVICE_ATTRIBUTE_HOST_NATIVE_ATOMIC_SUPPORTED`.
    HostNativeAtomicSupported = 86,
    /// `CU_DEVICE_ATTRIBUTE_SINGLE_TO_DOUBLE_PRECISION_PERF_RATIO`.
    SingleToDoublePrecisionPerfRatio = 87,
    /// `CU_DEVICE_ATTRIBUTE_PAGEABLE_MEMORY_ACCESS`.
    PageableMemoryAccess = 88,
    /// `CU_DEVICE_ATTRIBUTE_CONCURRENT_MANAGED_ACCESS`.
    ConcurrentManagedAccess = 89,
    /// `CU_DEVICE_ATTRIBUTE_COMPUTE_PREEMPTION_SUPPORTED`.
    ComputePreemptionSupported = 90,
    /// `CU_DEVICE_ATTRIBUTE_CAN_USE_HOST_POINTER_FOR_REGISTERED_MEM`.
    CanUseHostPointerForRegisteredMem = 91,
    /// `CU_DEVICE_ATTRIBUTE_COOPERATIVE_LAUNCH`.
    CooperativeLaunch = 95,
    /// `CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN`.
    MaxSharedMemoryPerBlockOptin = 97,
    /// `CU_DEVICE_ATTRIBUTE_CAN_FLUSH_REMOTE_WRITES`.
    CanFlushRemoteWrites = 98,
    /// `CU_DEVICE_ATTRIBUTE_HOST_REGISTER_SUPPORTED`.
    HostRegisterSupported = 99,
    /// `CU_DEVICE_ATTRIBUTE_PAGEABLE_MEMORY_ACCESS_USES_HOST_PAGE_TABLES`.
    PageableMemoryAccessUsesHostPageTables = 100,
    /// `CU_DEVICE_ATTRIBUTE_DIRECT_MANAGED_MEM_ACCESS_FROM_HOST`.
    DirectManagedMemAccessFromHost = 101,
    /// `CU_DEVICE_ATTRIBUTE_VIRTUAL_MEMORY_MANAGEMENT_SUPPORTED`.
    VirtualMemoryManagementSupported = 102,
    /// `CU_DEVICE_ATTRIBUTE_MAX_BLOCKS_PER_MULTIPROCESSOR`.
    MaxBlocksPerMultiprocessor = 106,
    /// `CU_DEVICE_ATTRIBUTE_GENERIC_COMPRESSION_SUPPORTED`.
    GenericCompressionSupported = 107,
    /// `CU_DEVICE_ATTRIBUTE_MAX_PERSISTING_L2_CACHE_SIZE`.
    MaxPersistingL2CacheSize = 108,
    /// `CU_DEVICE_ATTRIBUTE_MAX_ACCESS_POLICY_WINDOW_SIZE`.
    MaxAccessPolicyWindowSize = 109,
    /// `CU_DEVICE_ATTRIBUTE_RESERVED_SHARED_MEMORY_PER_BLOCK`.
    ReservedSharedMemoryPerBlock = 111,
    /// `CU_DEVICE_ATTRIBUTE_MEMORY_POOLS_SUPPORTED`.
    MemoryPoolsSupported = 115,
    /// `CU_DEVICE_ATTRIBUTE_CLUSTER_LAUNCH`.
    ClusterLaunch = 120,
    /// `CU_DEVICE_ATTRIBUTE_NUMA_CONFIG`.
    NumaConfig = 130,
    /// `CU_DEVICE_ATTRIBUTE_NUMA_ID`.
    NumaId = 131,
    /// `CU_DEVICE_ATTRIBUTE_MULTICAST_SUPPORTED`.
    MulticastSupported = 132,
    /// `CU_DEVICE_ATTRIBUTE_MPS_ENABLED`.
    MpsEnabled = 133,
    /// `CU_DEVICE_ATTRIBUTE_HOST_NUMA_ID`.
    HostNumaId = 134,
}

impl DeviceAttribute {
    /// Every attribute, in numeric order.
    pub const ALL: &'static [DeviceAttribute] = &[
        DeviceAttribute::MaxThreadsPerBlock,
        DeviceAttribute::MaxBlockDimX,
        DeviceAttribute::MaxBlockDimY,
        DeviceAttribute::MaxBlockDimZ,
        DeviceAttribute::MaxGridDimX,
        DeviceAttribute::MaxGridDimY,
        DeviceAttribute::MaxGridDimZ,
        DeviceAttribute::MaxSharedMemoryPerBlock,
        DeviceAttribute::TotalConstantMemory,
        DeviceAttribute::WarpSize,
        DeviceAttribute::MaxPitch,
        DeviceAttribute::MaxRegistersPerBlock,
        DeviceAttribute::ClockRate,
        DeviceAttribute::TextureAlignment,
        DeviceAttribute::GpuOverlap,
        DeviceAttribute::MultiprocessorCount,
        DeviceAttribute::KernelExecTimeout,
        DeviceAttribute::Integrated,
        DeviceAttribute::CanMapHostMemory,
        DeviceAttribute::ComputeMode,
        DeviceAttribute::MaximumTexture1dWidth,
        DeviceAttribute::MaximumTexture2dWidth,
        DeviceAttribute::MaximumTexture2dHeight,
        DeviceAttribute::MaximumTexture3dWidth,
        DeviceAttribute::MaximumTexture3dHeight,
        DeviceAttribute::MaximumTexture3dDepth,
        DeviceAttribute::SurfaceAlignment,
        DeviceAttribute::ConcurrentKernels,
        DeviceAttribute::EccEnabled,
        DeviceAttribute::PciBusId,
        DeviceAttribute::PciDeviceId,
        DeviceAttribute::TccDriver,
        DeviceAttribute::MemoryClockRate,
        DeviceAttribute::GlobalMemoryBusWidth,
        DeviceAttribute::L2CacheSize,
        DeviceAttribute::MaxThreadsPerMultiprocessor,
        DeviceAttribute::AsyncEngineCount,
        DeviceAttribute::UnifiedAddressing,
        DeviceAttribute::PciDomainId,
        DeviceAttribute::TexturePitchAlignment,
        DeviceAttribute::ComputeCapabilityMajor,
        DeviceAttribute::ComputeCapabilityMinor,
        DeviceAttribute::StreamPrioritiesSupported,
        DeviceAttribute::GlobalL1CacheSupported,
        DeviceAttribute::LocalL1CacheSupported,
        DeviceAttribute::MaxSharedMemoryPerMultiprocessor,
        DeviceAttribute::MaxRegistersPerMultiprocessor,
        DeviceAttribute::ManagedMemory,
        DeviceAttribute::MultiGpuBoard,
        DeviceAttribute::MultiGpuBoardGroupId,
        DeviceAttribute::HostNativeAtomicSupported,
        DeviceAttribute::SingleToDoublePrecisionPerfRatio,
        DeviceAttribute::PageableMemoryAccess,
        DeviceAttribute::ConcurrentManagedAccess,
        DeviceAttribute::ComputePreemptionSupported,
        DeviceAttribute::CanUseHostPointerForRegisteredMem,
        DeviceAttribute::CooperativeLaunch,
        DeviceAttribute::MaxSharedMemoryPerBlockOptin,
        DeviceAttribute::CanFlushRemoteWrites,
        DeviceAttribute::HostRegisterSupported,
        DeviceAttribute::PageableMemoryAccessUsesHostPageTables,
        DeviceAttribute::DirectManagedMemAccessFromHost,
        DeviceAttribute::VirtualMemoryManagementSupported,
        DeviceAttribute::MaxBlocksPerMultiprocessor,
        DeviceAttribute::GenericCompressionSupported,
        DeviceAttribute::MaxPersistingL2CacheSize,
        DeviceAttribute::MaxAccessPolicyWindowSize,
        DeviceAttribute::ReservedSharedMemoryPerBlock,
        DeviceAttribute::MemoryPoolsSupported,
        DeviceAttribute::ClusterLaunch,
        DeviceAttribute::NumaConfig,
        DeviceAttribute::NumaId,
        DeviceAttribute::MulticastSupported,
        DeviceAttribute::MpsEnabled,
        DeviceAttribute::HostNumaId,
    ];

    /// The raw `CUdevice_attribute` number.
    pub fn as_raw(self) -> i32 {
        self as i32
    }

    /// The attribute for a raw `CUdevice_attribute` number, when ferrocuda knows it.
    pub fn from_raw(raw: i32) -> Option<DeviceAttribute> {
        DeviceAttribute::ALL
            .iter()
            .copied()
            .find(|a| a.as_raw() == raw)
    }

    /// The `cuda.h` name, e.g. `CU_DEVICE_ATTRIBUTE_WARP_SIZE`.
    pub fn name(self) -> &'static str {
        match self {
            DeviceAttribute::MaxThreadsPerBlock => "CU_DEVICE_ATTRIBUTE_MAX_THREADS_PER_BLOCK",
            DeviceAttribute::MaxBlockDimX => "CU_DEVICE_ATTRIBUTE_MAX_BLOCK_DIM_X",
            DeviceAttribute::MaxBlockDimY => "CU_DEVICE_ATTRIBUTE_MAX_BLOCK_DIM_Y",
            DeviceAttribute::MaxBlockDimZ => "CU_DEVICE_ATTRIBUTE_MAX_BLOCK_DIM_Z",
            DeviceAttribute::MaxGridDimX => "CU_DEVICE_ATTRIBUTE_MAX_GRID_DIM_X",
            DeviceAttribute::MaxGridDimY => "CU_DEVICE_ATTRIBUTE_MAX_GRID_DIM_Y",
            DeviceAttribute::MaxGridDimZ => "CU_DEVICE_ATTRIBUTE_MAX_GRID_DIM_Z",
            DeviceAttribute::MaxSharedMemoryPerBlock => {
                "CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK"
            }
            DeviceAttribute::TotalConstantMemory => "CU_DEVICE_ATTRIBUTE_TOTAL_CONSTANT_MEMORY",
            DeviceAttribute::WarpSize => "CU_DEVICE_ATTRIBUTE_WARP_SIZE",
            DeviceAttribute::MaxPitch => "CU_DEVICE_ATTRIBUTE_MAX_PITCH",
            DeviceAttribute::MaxRegistersPerBlock => "CU_DEVICE_ATTRIBUTE_MAX_REGISTERS_PER_BLOCK",
            DeviceAttribute::ClockRate => "CU_DEVICE_ATTRIBUTE_CLOCK_RATE",
            DeviceAttribute::TextureAlignment => "CU_DEVICE_ATTRIBUTE_TEXTURE_ALIGNMENT",
            DeviceAttribute::GpuOverlap => "CU_DEVICE_ATTRIBUTE_GPU_OVERLAP",
            DeviceAttribute::MultiprocessorCount => "CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT",
            DeviceAttribute::KernelExecTimeout => "CU_DEVICE_ATTRIBUTE_KERNEL_EXEC_TIMEOUT",
            DeviceAttribute::Integrated => "CU_DEVICE_ATTRIBUTE_INTEGRATED",
            DeviceAttribute::CanMapHostMemory => "CU_DEVICE_ATTRIBUTE_CAN_MAP_HOST_MEMORY",
            DeviceAttribute::ComputeMode => "CU_DEVICE_ATTRIBUTE_COMPUTE_MODE",
            DeviceAttribute::MaximumTexture1dWidth => "CU_DEVICE_ATTRIBUTE_MAXIMUM_TEXTURE1D_WIDTH",
            DeviceAttribute::MaximumTexture2dWidth => "CU_DEVICE_ATTRIBUTE_MAXIMUM_TEXTURE2D_WIDTH",
            DeviceAttribute::MaximumTexture2dHeight => {
                "CU_DEVICE_ATTRIBUTE_MAXIMUM_TEXTURE2D_HEIGHT"
            }
            DeviceAttribute::MaximumTexture3dWidth => "CU_DEVICE_ATTRIBUTE_MAXIMUM_TEXTURE3D_WIDTH",
            DeviceAttribute::MaximumTexture3dHeight => {
                "CU_DEVICE_ATTRIBUTE_MAXIMUM_TEXTURE3D_HEIGHT"
            }
            DeviceAttribute::MaximumTexture3dDepth => "CU_DEVICE_ATTRIBUTE_MAXIMUM_TEXTURE3D_DEPTH",
            DeviceAttribute::SurfaceAlignment => "CU_DEVICE_ATTRIBUTE_SURFACE_ALIGNMENT",
            DeviceAttribute::ConcurrentKernels => "CU_DEVICE_ATTRIBUTE_CONCURRENT_KERNELS",
            DeviceAttribute::EccEnabled => "CU_DEVICE_ATTRIBUTE_ECC_ENABLED",
            DeviceAttribute::PciBusId => "CU_DEVICE_ATTRIBUTE_PCI_BUS_ID",
            DeviceAttribute::PciDeviceId => "CU_DEVICE_ATTRIBUTE_PCI_DEVICE_ID",
            DeviceAttribute::TccDriver => "CU_DEVICE_ATTRIBUTE_TCC_DRIVER",
            DeviceAttribute::MemoryClockRate => "CU_DEVICE_ATTRIBUTE_MEMORY_CLOCK_RATE",
            DeviceAttribute::GlobalMemoryBusWidth => "CU_DEVICE_ATTRIBUTE_GLOBAL_MEMORY_BUS_WIDTH",
            DeviceAttribute::L2CacheSize => "CU_DEVICE_ATTRIBUTE_L2_CACHE_SIZE",
            DeviceAttribute::MaxThreadsPerMultiprocessor => {
                "CU_DEVICE_ATTRIBUTE_MAX_THREADS_PER_MULTIPROCESSOR"
            }
            DeviceAttribute::AsyncEngineCount => "CU_DEVICE_ATTRIBUTE_ASYNC_ENGINE_COUNT",
            DeviceAttribute::UnifiedAddressing => "CU_DEVICE_ATTRIBUTE_UNIFIED_ADDRESSING",
            DeviceAttribute::PciDomainId => "CU_DEVICE_ATTRIBUTE_PCI_DOMAIN_ID",
            DeviceAttribute::TexturePitchAlignment => "CU_DEVICE_ATTRIBUTE_TEXTURE_PITCH_ALIGNMENT",
            DeviceAttribute::ComputeCapabilityMajor => {
                "CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR"
            }
            DeviceAttribute::ComputeCapabilityMinor => {
                "CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR"
            }
            DeviceAttribute::StreamPrioritiesSupported => {
                "CU_DEVICE_ATTRIBUTE_STREAM_PRIORITIES_SUPPORTED"
            }
            DeviceAttribute::GlobalL1CacheSupported => {
                "CU_DEVICE_ATTRIBUTE_GLOBAL_L1_CACHE_SUPPORTED"
            }
            DeviceAttribute::LocalL1CacheSupported => {
                "CU_DEVICE_ATTRIBUTE_LOCAL_L1_CACHE_SUPPORTED"
            }
            DeviceAttribute::MaxSharedMemoryPerMultiprocessor => {
                "CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_MULTIPROCESSOR"
            }
            DeviceAttribute::MaxRegistersPerMultiprocessor => {
                "CU_DEVICE_ATTRIBUTE_MAX_REGISTERS_PER_MULTIPROCESSOR"
            }
            DeviceAttribute::ManagedMemory => "CU_DEVICE_ATTRIBUTE_MANAGED_MEMORY",
            DeviceAttribute::MultiGpuBoard => "CU_DEVICE_ATTRIBUTE_MULTI_GPU_BOARD",
            DeviceAttribute::MultiGpuBoardGroupId => "CU_DEVICE_ATTRIBUTE_MULTI_GPU_BOARD_GROUP_ID",
            DeviceAttribute::HostNativeAtomicSupported => {
                "CU_DEVICE_ATTRIBUTE_HOST_NATIVE_ATOMIC_SUPPORTED"
            }
            DeviceAttribute::SingleToDoublePrecisionPerfRatio => {
                "CU_DEVICE_ATTRIBUTE_SINGLE_TO_DOUBLE_PRECISION_PERF_RATIO"
            }
            DeviceAttribute::PageableMemoryAccess => "CU_DEVICE_ATTRIBUTE_PAGEABLE_MEMORY_ACCESS",
            DeviceAttribute::ConcurrentManagedAccess => {
                "CU_DEVICE_ATTRIBUTE_CONCURRENT_MANAGED_ACCESS"
            }
            DeviceAttribute::ComputePreemptionSupported => {
                "CU_DEVICE_ATTRIBUTE_COMPUTE_PREEMPTION_SUPPORTED"
            }
            DeviceAttribute::CanUseHostPointerForRegisteredMem => {
                "CU_DEVICE_ATTRIBUTE_CAN_USE_HOST_POINTER_FOR_REGISTERED_MEM"
            }
            DeviceAttribute::CooperativeLaunch => "CU_DEVICE_ATTRIBUTE_COOPERATIVE_LAUNCH",
            DeviceAttribute::MaxSharedMemoryPerBlockOptin => {
                "CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN"
            }
            DeviceAttribute::CanFlushRemoteWrites => "CU_DEVICE_ATTRIBUTE_CAN_FLUSH_REMOTE_WRITES",
            DeviceAttribute::HostRegisterSupported => "CU_DEVICE_ATTRIBUTE_HOST_REGISTER_SUPPORTED",
            DeviceAttribute::PageableMemoryAccessUsesHostPageTables => {
                "CU_DEVICE_ATTRIBUTE_PAGEABLE_MEMORY_ACCESS_USES_HOST_PAGE_TABLES"
            }
            DeviceAttribute::DirectManagedMemAccessFromHost => {
                "CU_DEVICE_ATTRIBUTE_DIRECT_MANAGED_MEM_ACCESS_FROM_HOST"
            }
            DeviceAttribute::VirtualMemoryManagementSupported => {
                "CU_DEVICE_ATTRIBUTE_VIRTUAL_MEMORY_MANAGEMENT_SUPPORTED"
            }
            DeviceAttribute::MaxBlocksPerMultiprocessor => {
                "CU_DEVICE_ATTRIBUTE_MAX_BLOCKS_PER_MULTIPROCESSOR"
            }
            DeviceAttribute::GenericCompressionSupported => {
                "CU_DEVICE_ATTRIBUTE_GENERIC_COMPRESSION_SUPPORTED"
            }
            DeviceAttribute::MaxPersistingL2CacheSize => {
                "CU_DEVICE_ATTRIBUTE_MAX_PERSISTING_L2_CACHE_SIZE"
            }
            DeviceAttribute::MaxAccessPolicyWindowSize => {
                "CU_DEVICE_ATTRIBUTE_MAX_ACCESS_POLICY_WINDOW_SIZE"
            }
            DeviceAttribute::ReservedSharedMemoryPerBlock => {
                "CU_DEVICE_ATTRIBUTE_RESERVED_SHARED_MEMORY_PER_BLOCK"
            }
            DeviceAttribute::MemoryPoolsSupported => "CU_DEVICE_ATTRIBUTE_MEMORY_POOLS_SUPPORTED",
            DeviceAttribute::ClusterLaunch => "CU_DEVICE_ATTRIBUTE_CLUSTER_LAUNCH",
            DeviceAttribute::NumaConfig => "CU_DEVICE_ATTRIBUTE_NUMA_CONFIG",
            DeviceAttribute::NumaId => "CU_DEVICE_ATTRIBUTE_NUMA_ID",
            DeviceAttribute::MulticastSupported => "CU_DEVICE_ATTRIBUTE_MULTICAST_SUPPORTED",
            DeviceAttribute::MpsEnabled => "CU_DEVICE_ATTRIBUTE_MPS_ENABLED",
            DeviceAttribute::HostNumaId => "CU_DEVICE_ATTRIBUTE_HOST_NUMA_ID",
        }
    }
}

/// One device of the combined list. Cheap to copy; it names the device by its ordinal.
///
/// `Send + Sync`: devices are usable from any thread, as in CUDA.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Device {
    ordinal: usize,
}

/// The environment variable [`Device::default`] reads: a device spec (`cpu`, `cuda:N`, `N`).
pub const DEVICE_ENV: &str = "FERROCUDA_DEVICE";

impl Device {
    /// Number of devices over all platforms (the CPU device included).
    pub fn count() -> Result<usize> {
        Ok(registry()?.devices.len())
    }

    /// The device with this ordinal in the combined list.
    pub fn get(ordinal: usize) -> Result<Device> {
        let n = Device::count()?;
        if ordinal >= n {
            return Err(Error::new(
                ErrorCode::InvalidDevice,
                format!("device ordinal {ordinal} out of range ({n} devices)"),
            ));
        }
        Ok(Device { ordinal })
    }

    /// Every device, NVIDIA GPUs first, then the CPU device.
    pub fn all() -> Result<Vec<Device>> {
        Ok((0..Device::count()?)
            .map(|ordinal| Device { ordinal })
            .collect())
    }

    /// The device a spec names: `cpu`, `cuda:N` (the N-th NVIDIA GPU) or `N` (an ordinal in
    /// the combined list).
    pub fn from_spec(spec: &str) -> Result<Device> {
        let reg = registry()?;
        let spec = spec.trim();
        if spec.eq_ignore_ascii_case("cpu") {
            return Device::all()?
                .into_iter()
                .find(|d| d.platform() == Platform::Cpu)
                .ok_or_else(|| Error::new(ErrorCode::NoDevice, "no CPU device"));
        }
        if let Some(n) = spec
            .strip_prefix("cuda:")
            .or_else(|| spec.strip_prefix("CUDA:"))
        {
            let n: usize = n.parse().map_err(|_| {
                Error::invalid_value(format!("bad device spec `{spec}`: expected cuda:N"))
            })?;
            let gpus: Vec<Device> = Device::all()?
                .into_iter()
                .filter(|d| d.platform() == Platform::Nvidia)
                .collect();
            if gpus.is_empty() {
                return Err(match &reg.nvidia_reason {
                    Some(reason) => Error::NvidiaUnavailable {
                        reason: reason.clone(),
                    },
                    None => Error::new(ErrorCode::NoDevice, "no NVIDIA GPU found"),
                });
            }
            return gpus.get(n).copied().ok_or_else(|| {
                Error::new(
                    ErrorCode::InvalidDevice,
                    format!("`{spec}`: only {} NVIDIA GPU(s)", gpus.len()),
                )
            });
        }
        match spec.parse::<usize>() {
            Ok(n) => Device::get(n),
            Err(_) => Err(Error::invalid_value(format!(
                "bad device spec `{spec}`: expected `cpu`, `cuda:N` or an ordinal"
            ))),
        }
    }

    /// The device to use when none is named: `FERROCUDA_DEVICE` when set, else the first
    /// NVIDIA GPU, else the CPU device.
    #[allow(clippy::should_implement_trait)]
    pub fn default() -> Result<Device> {
        match std::env::var(DEVICE_ENV) {
            Ok(spec) if !spec.trim().is_empty() => {
                Device::from_spec(&spec).map_err(|e| e.context(format_args!("{DEVICE_ENV}={spec}")))
            }
            _ => Device::get(0),
        }
    }

    /// Position in the combined device list.
    pub fn ordinal(self) -> usize {
        self.ordinal
    }

    #[inline]
    fn slot(self) -> &'static crate::DeviceSlot {
        // A `Device` only exists once the registry does, and ordinals are checked on creation.
        &registry().expect("device exists only after init").devices[self.ordinal]
    }

    /// The platform this device belongs to.
    pub fn platform(self) -> Platform {
        self.slot().platform.platform()
    }

    /// The ordinal within its platform (the `N` of `cuda:N`).
    pub fn platform_ordinal(self) -> usize {
        self.slot().local
    }

    /// The device's name (`cuDeviceGetName`).
    pub fn name(self) -> Result<String> {
        let s = self.slot();
        s.platform.device_name(s.local)
    }

    /// The device's 16-byte UUID (`cuDeviceGetUuid`).
    pub fn uuid(self) -> Result<[u8; 16]> {
        let s = self.slot();
        s.platform.device_uuid(s.local)
    }

    /// Device memory in bytes (`cuDeviceTotalMem`).
    pub fn total_memory(self) -> Result<u64> {
        let s = self.slot();
        s.platform.device_total_memory(s.local)
    }

    /// `(major, minor)` compute capability.
    pub fn compute_capability(self) -> Result<(i32, i32)> {
        Ok((
            self.attribute(DeviceAttribute::ComputeCapabilityMajor)?,
            self.attribute(DeviceAttribute::ComputeCapabilityMinor)?,
        ))
    }

    /// One attribute (`cuDeviceGetAttribute`).
    pub fn attribute(self, attr: DeviceAttribute) -> Result<i32> {
        let s = self.slot();
        s.platform.device_attribute(s.local, attr)
    }

    /// The grid and block limits launches are checked against, read once per device.
    #[inline]
    pub fn launch_limits(self) -> Result<LaunchLimits> {
        match self.slot().limits.get() {
            Some(l) => Ok(*l),
            None => self.read_launch_limits(),
        }
    }

    /// [`Device::launch_limits`] on first use: reads the attributes and keeps them.
    #[cold]
    fn read_launch_limits(self) -> Result<LaunchLimits> {
        let s = self.slot();
        let a = |attr| -> Result<u32> { Ok(self.attribute(attr)?.max(0) as u32) };
        let lim = LaunchLimits {
            max_block: [
                a(DeviceAttribute::MaxBlockDimX)?,
                a(DeviceAttribute::MaxBlockDimY)?,
                a(DeviceAttribute::MaxBlockDimZ)?,
            ],
            max_grid: [
                a(DeviceAttribute::MaxGridDimX)?,
                a(DeviceAttribute::MaxGridDimY)?,
                a(DeviceAttribute::MaxGridDimZ)?,
            ],
            max_threads_per_block: a(DeviceAttribute::MaxThreadsPerBlock)?,
        };
        Ok(*s.limits.get_or_init(|| lim))
    }

    /// Retains the device's primary context (`cuDevicePrimaryCtxRetain`); dropping the last
    /// handle of the returned context releases it. Every retain shares the one context.
    pub fn retain_primary_context(self) -> Result<Context> {
        let s = self.slot();
        let backend = s.platform.primary_context_retain(s.local)?;
        Ok(Context::from_backend(self, backend, true))
    }

    /// `(flags, active)` of the primary context (`cuDevicePrimaryCtxGetState`).
    pub fn primary_context_state(self) -> Result<(ContextFlags, bool)> {
        let s = self.slot();
        s.platform.primary_context_state(s.local)
    }

    /// Sets the flags the primary context is created with (`cuDevicePrimaryCtxSetFlags`).
    pub fn set_primary_context_flags(self, flags: ContextFlags) -> Result<()> {
        let s = self.slot();
        s.platform.primary_context_set_flags(s.local, flags)
    }

    /// Destroys the primary context with every allocation, module and stream in it, and
    /// with it any sticky error (`cuDevicePrimaryCtxReset`). Handles retained before the
    /// reset then fail with `CUDA_ERROR_CONTEXT_IS_DESTROYED`; retain the primary context
    /// again to go on. Buffers that outlive the reset drop without freeing anything.
    pub fn reset_primary_context(self) -> Result<()> {
        let s = self.slot();
        s.platform.primary_context_reset(s.local)?;
        s.primary_epoch.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }

    pub(crate) fn primary_epoch(self) -> u64 {
        self.slot().primary_epoch.load(Ordering::SeqCst)
    }

    pub(crate) fn backend(self) -> (&'static dyn crate::platform::PlatformBackend, usize) {
        let s = self.slot();
        (s.platform.as_ref(), s.local)
    }
}

impl std::fmt::Display for Device {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.platform() {
            Platform::Cpu => write!(f, "cpu"),
            Platform::Nvidia => write!(f, "cuda:{}", self.platform_ordinal()),
        }
    }
}
