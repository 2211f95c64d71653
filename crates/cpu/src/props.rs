//! The CPU device's attributes, as `cuDeviceGetAttribute` / `deviceQuery` report them.

/// Attribute values of the CPU device.
///
/// Limits that shape what kernels may do (threads per block, grid and block dimensions, shared
/// memory, registers) are those of an H100 (compute capability 9.0), so code tuned for a GPU
/// launches unchanged. Hardware details with no CPU equivalent (L2 size, memory bus width,
/// memory clock) are nominal H100 values, reported so that tools printing them show something
/// sensible; nothing in the executor depends on them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceProperties {
    /// Device name: `"ferrocuda CPU device"`.
    pub name: String,
    /// Compute capability reported (9.0).
    pub compute_capability: (u32, u32),
    /// Bytes of device memory (`FERROCUDA_CPU_MEMORY`, else half the physical memory).
    pub total_memory: u64,
    /// Lanes per warp (32).
    pub warp_size: u32,
    /// Threads per block (1024).
    pub max_threads_per_block: u32,
    /// Block dimension limits (1024, 1024, 64).
    pub max_block_dim: [u32; 3],
    /// Grid dimension limits (2^31-1, 65535, 65535).
    pub max_grid_dim: [u32; 3],
    /// Static shared memory per block (48 KiB).
    pub shared_memory_per_block: u32,
    /// Shared memory per block with opt-in (`cudaFuncAttributeMaxDynamicSharedMemorySize`),
    /// 227 KiB as on H100.
    pub shared_memory_per_block_optin: u32,
    /// Shared memory per multiprocessor (228 KiB).
    pub shared_memory_per_multiprocessor: u32,
    /// 32-bit registers per block (65536).
    pub registers_per_block: u32,
    /// 32-bit registers per multiprocessor (65536).
    pub registers_per_multiprocessor: u32,
    /// Multiprocessors: one per worker thread (usable CPU cores).
    pub multiprocessor_count: u32,
    /// Resident threads per multiprocessor (2048).
    pub max_threads_per_multiprocessor: u32,
    /// Resident blocks per multiprocessor (32).
    pub max_blocks_per_multiprocessor: u32,
    /// Core clock in kHz (nominal: 1 980 000, the H100 SXM boost clock).
    pub clock_rate_khz: u32,
    /// Memory clock in kHz (nominal H100 value).
    pub memory_clock_rate_khz: u32,
    /// Memory bus width in bits (nominal H100 value: 5120).
    pub memory_bus_width: u32,
    /// L2 cache bytes (nominal H100 value: 50 MiB).
    pub l2_cache_size: u32,
    /// Constant memory bytes (64 KiB).
    pub total_constant_memory: u32,
    /// Kernel parameter bytes (32764, as CUDA 12.1+ allows).
    pub max_parameter_bytes: u32,
    /// Maximum pitch for `cuMemAllocPitch` (2^31-1 bytes).
    pub max_pitch: u64,
    /// Texture alignment requirement (512 bytes).
    pub texture_alignment: u32,
    /// Whether kernels may run concurrently (yes: streams are independent workers).
    pub concurrent_kernels: bool,
    /// Whether the device shares the host's address space: no, device addresses are their own.
    pub unified_addressing: bool,
    /// Whether copies overlap with kernels (yes).
    pub async_engine_count: u32,
    /// Whether a kernel run-time limit (watchdog) applies (no).
    pub kernel_exec_timeout: bool,
    /// Whether the device is integrated with the host (yes: it is the host).
    pub integrated: bool,
    /// Whether ECC is on (no).
    pub ecc_enabled: bool,
    /// PCI bus id (0: not a PCI device).
    pub pci_bus_id: u32,
    /// PCI device id (0: not a PCI device).
    pub pci_device_id: u32,
    /// PCI domain id (0: not a PCI device).
    pub pci_domain_id: u32,
    /// Whether cooperative launches are supported (no).
    pub cooperative_launch: bool,
    /// Maximum blocks per cluster (1: clusters are single blocks).
    pub max_cluster_size: u32,
}

impl DeviceProperties {
    /// The properties of a device with `workers` worker threads and `total_memory` bytes.
    pub fn new(workers: u32, total_memory: u64) -> DeviceProperties {
        DeviceProperties {
            name: "ferrocuda CPU device".to_string(),
            compute_capability: (9, 0),
            total_memory,
            warp_size: 32,
            max_threads_per_block: 1024,
            max_block_dim: [1024, 1024, 64],
            max_grid_dim: [i32::MAX as u32, 65535, 65535],
            shared_memory_per_block: 48 * 1024,
            shared_memory_per_block_optin: 227 * 1024,
            shared_memory_per_multiprocessor: 228 * 1024,
            registers_per_block: 65536,
            registers_per_multiprocessor: 65536,
            multiprocessor_count: workers.max(1),
            max_threads_per_multiprocessor: 2048,
            max_blocks_per_multiprocessor: 32,
            clock_rate_khz: 1_980_000,
            memory_clock_rate_khz: 2_619_000,
            memory_bus_width: 5120,
            l2_cache_size: 50 * 1024 * 1024,
            total_constant_memory: 64 * 1024,
            max_parameter_bytes: 32764,
            max_pitch: i32::MAX as u64,
            texture_alignment: 512,
            concurrent_kernels: true,
            unified_addressing: false,
            async_engine_count: 1,
            kernel_exec_timeout: false,
            integrated: true,
            ecc_enabled: false,
            pci_bus_id: 0,
            pci_device_id: 0,
            pci_domain_id: 0,
            cooperative_launch: false,
            max_cluster_size: 1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_match_an_h100() {
        let p = DeviceProperties::new(0, 1 << 30);
        assert_eq!(p.multiprocessor_count, 1);
        assert_eq!(p.max_grid_dim, [2147483647, 65535, 65535]);
        assert_eq!(p.compute_capability, (9, 0));
        assert!(p.shared_memory_per_block_optin > p.shared_memory_per_block);
    }
}
