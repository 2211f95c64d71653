//! The NVIDIA platform: the driver API over libcuda, loaded at run time.

use crate::device::DeviceAttribute;
use crate::error::Result;
use crate::platform::{ContextBackend, PlatformBackend};
use crate::{ContextFlags, MemoryKind, Platform};

/// The NVIDIA platform.
pub(crate) struct NvidiaPlatform;

impl NvidiaPlatform {
    /// Loads libcuda; the error is the reason there are no NVIDIA devices.
    pub(crate) fn load() -> std::result::Result<NvidiaPlatform, String> {
        Err("the NVIDIA platform is not built in yet".into())
    }
}

impl PlatformBackend for NvidiaPlatform {
    fn platform(&self) -> Platform {
        Platform::Nvidia
    }
    fn driver_version(&self) -> Result<i32> {
        unreachable!()
    }
    fn device_count(&self) -> usize {
        0
    }
    fn device_name(&self, _dev: usize) -> Result<String> {
        unreachable!()
    }
    fn device_uuid(&self, _dev: usize) -> Result<[u8; 16]> {
        unreachable!()
    }
    fn device_total_memory(&self, _dev: usize) -> Result<u64> {
        unreachable!()
    }
    fn device_attribute(&self, _dev: usize, _attr: DeviceAttribute) -> Result<i32> {
        unreachable!()
    }
    fn create_context(&self, _dev: usize, _flags: ContextFlags) -> Result<Box<dyn ContextBackend>> {
        unreachable!()
    }
    fn primary_context_retain(&self, _dev: usize) -> Result<Box<dyn ContextBackend>> {
        unreachable!()
    }
    fn primary_context_state(&self, _dev: usize) -> Result<(ContextFlags, bool)> {
        unreachable!()
    }
    fn primary_context_set_flags(&self, _dev: usize, _flags: ContextFlags) -> Result<()> {
        unreachable!()
    }
    fn primary_context_reset(&self, _dev: usize) -> Result<()> {
        unreachable!()
    }
    fn pointer_kind(&self, _addr: u64) -> Option<(MemoryKind, Option<usize>)> {
        None
    }
}
