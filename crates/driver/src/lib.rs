//! The driver layer of ferrocuda: CUDA's driver API in Rust, over NVIDIA GPUs and the CPU
//! device behind one API.
//!
//! Explicit initialisation ([`init`]), one device list ([`Device`]: NVIDIA GPUs first, then
//! the CPU device), contexts with a per-thread context stack ([`Context`]), modules loaded
//! from PTX, cubin or fatbin ([`Module`], [`Function`]), device and page-locked host memory
//! ([`DeviceBuffer`], [`PinnedHostBuffer`]), streams and events ([`Stream`], [`Event`]) and
//! checked kernel launches ([`Function::launch`]). Every failure is an [`Error`] carrying the
//! `CUresult` a CUDA user knows ([`ErrorCode`]).
//!
//! ```no_run
//! use ferrocuda_driver as driver;
//! # fn main() -> driver::Result<()> {
//! driver::init()?;
//! let dev = driver::Device::default()?;
//! let ctx = driver::Context::new(dev, driver::ContextFlags::SCHED_AUTO)?;
//! let module = ctx.load_ptx(".version 7.0\n.target sm_50\n.address_size 64\n.visible .entry k() { ret; }")?;
//! let k = module.function("k")?;
//! let stream = ctx.default_stream();
//! k.launch(1u32, 32u32, 0, &stream, &[])?;
//! stream.synchronize()?;
//! # Ok(()) }
//! ```
//!
//! # Platforms
//! The NVIDIA platform loads `libcuda.so.1` at run time (`FERROCUDA_LIBCUDA` names another
//! path). Without it, or with a driver too old, there are simply no NVIDIA devices:
//! [`nvidia_unavailable_reason`] says why, and the CPU device still works.
//!
//! # Thread safety
//! As in CUDA, contexts, modules, functions, device buffers, streams and events may be used
//! from any thread (`Send + Sync`); [`PinnedHostBuffer`] is like a `Vec` (`Send + Sync`, access
//! through `&mut`). Every resource holds its context alive, so dropping resources in any
//! order never touches a destroyed context.

#![warn(missing_docs)]
// `unsafe` lives only in the FFI module (`nvidia/`), each block with a `// SAFETY:` line.
#![deny(unsafe_code)]

mod context;
mod cpu;
mod device;
mod error;
mod launch;
mod limit;
mod memory;
mod module;
/// Raw access to libcuda (`sys`) and its thin wrappers (`result`), for tools that need an
/// entry point the safe API does not cover.
#[doc(hidden)]
#[allow(unsafe_code)]
pub mod nvidia;
mod platform;
mod slice;
mod stream;

use std::sync::atomic::AtomicU64;
use std::sync::{Arc, OnceLock};

pub use bytemuck;
pub use context::Context;
pub use device::{Device, DeviceAttribute, DEVICE_ENV};
pub use error::{Error, ErrorCode, Result};
pub use launch::{DeviceRepr, Dim3, KernelArg, LaunchConfig, LaunchLimits};
pub use limit::Limit;
pub use memory::{DeviceBuffer, DevicePtr, PinnedHostBuffer};
pub use module::{
    Function, FunctionAttribute, JitOptions, KernelSignature, LaunchBuilder, Module, ParamLayout,
};
pub use slice::{DeviceSlice, DeviceSliceMut};
pub use stream::{Event, Stream};

use platform::PlatformBackend;

/// Which implementation a device runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Platform {
    /// A real NVIDIA GPU through libcuda.
    Nvidia,
    /// The built-in device that executes PTX on the CPU.
    Cpu,
}

impl Platform {
    /// `"nvidia"` or `"cpu"`.
    pub fn name(self) -> &'static str {
        match self {
            Platform::Nvidia => "nvidia",
            Platform::Cpu => "cpu",
        }
    }
}

macro_rules! flags {
    ($(#[$doc:meta])* $name:ident { $($(#[$fdoc:meta])* $flag:ident = $v:expr),* $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
        pub struct $name(pub u32);
        impl $name {
            $($(#[$fdoc])* pub const $flag: $name = $name($v);)*
            /// The raw bits CUDA uses.
            pub fn bits(self) -> u32 { self.0 }
            /// Whether every bit of `other` is set.
            pub fn contains(self, other: $name) -> bool { self.0 & other.0 == other.0 }
        }
        impl std::ops::BitOr for $name {
            type Output = $name;
            fn bitor(self, rhs: $name) -> $name { $name(self.0 | rhs.0) }
        }
    };
}

flags!(
    /// Context creation flags (`CU_CTX_*`): scheduling policy and host mapping.
    ContextFlags {
        /// Let the driver choose how the host waits (`CU_CTX_SCHED_AUTO`).
        SCHED_AUTO = 0,
        /// Spin while waiting for results (`CU_CTX_SCHED_SPIN`).
        SCHED_SPIN = 1,
        /// Yield the thread while waiting (`CU_CTX_SCHED_YIELD`).
        SCHED_YIELD = 2,
        /// Block on a synchronisation primitive while waiting (`CU_CTX_SCHED_BLOCKING_SYNC`).
        SCHED_BLOCKING_SYNC = 4,
        /// Allow mapped page-locked allocations (`CU_CTX_MAP_HOST`).
        MAP_HOST = 8,
        /// Keep local memory at its largest size (`CU_CTX_LMEM_RESIZE_TO_MAX`).
        LMEM_RESIZE_TO_MAX = 16,
    }
);

flags!(
    /// Stream creation flags (`CU_STREAM_*`).
    StreamFlags {
        /// A blocking stream: it synchronises with the default (null) stream.
        DEFAULT = 0,
        /// A stream that does not synchronise with the default stream.
        NON_BLOCKING = 1,
    }
);

flags!(
    /// Event creation flags (`CU_EVENT_*`).
    EventFlags {
        /// Timing enabled, host waits by spinning or yielding.
        DEFAULT = 0,
        /// The host blocks while waiting on the event (`CU_EVENT_BLOCKING_SYNC`).
        BLOCKING_SYNC = 1,
        /// No timestamps: cheaper, and `elapsed_ms` fails (`CU_EVENT_DISABLE_TIMING`).
        DISABLE_TIMING = 2,
        /// Interprocess event (`CU_EVENT_INTERPROCESS`, needs `DISABLE_TIMING`).
        INTERPROCESS = 4,
    }
);

/// Which kind of memory an address points into (`CU_POINTER_ATTRIBUTE_MEMORY_TYPE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MemoryKind {
    /// Device memory of [`PointerInfo::device`].
    Device,
    /// Page-locked host memory allocated or registered through the driver.
    Host,
    /// Not known to any platform: ordinary (pageable) host memory, or nothing at all.
    Unknown,
}

/// What the driver knows about an address (used for `cudaMemcpyDefault`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PointerInfo {
    /// Device, page-locked host, or unknown memory.
    pub kind: MemoryKind,
    /// The device owning the memory, for device memory.
    pub device: Option<Device>,
}

pub(crate) struct DeviceSlot {
    platform: Arc<dyn PlatformBackend>,
    local: usize,
    limits: OnceLock<LaunchLimits>,
    primary_epoch: AtomicU64,
}

pub(crate) struct Registry {
    nvidia: Option<Arc<dyn PlatformBackend>>,
    nvidia_reason: Option<String>,
    cpu: Arc<dyn PlatformBackend>,
    devices: Vec<DeviceSlot>,
}

static REGISTRY: OnceLock<Registry> = OnceLock::new();

/// Initialises every platform that is present (`cuInit`). Calling it again does nothing.
///
/// A missing or unusable libcuda is not an error: there are then no NVIDIA devices, and
/// [`nvidia_unavailable_reason`] tells why.
pub fn init() -> Result<()> {
    REGISTRY.get_or_init(|| {
        let (nvidia, nvidia_reason) = match nvidia::NvidiaPlatform::load() {
            Ok(p) => (Some(Arc::new(p) as Arc<dyn PlatformBackend>), None),
            Err(reason) => (None, Some(reason)),
        };
        let cpu: Arc<dyn PlatformBackend> = Arc::new(cpu::CpuPlatform::new());
        let mut devices = Vec::new();
        for p in nvidia.iter().chain(std::iter::once(&cpu)) {
            for local in 0..p.device_count() {
                devices.push(DeviceSlot {
                    platform: Arc::clone(p),
                    local,
                    limits: OnceLock::new(),
                    primary_epoch: AtomicU64::new(0),
                });
            }
        }
        Registry {
            nvidia,
            nvidia_reason,
            cpu,
            devices,
        }
    });
    Ok(())
}

pub(crate) fn registry() -> Result<&'static Registry> {
    REGISTRY.get().ok_or_else(|| {
        Error::new(
            ErrorCode::NotInitialized,
            "call ferrocuda_driver::init() first",
        )
    })
}

/// Why there are no NVIDIA devices (libcuda missing, too old, a missing entry point, `cuInit`
/// failing), or `None` when the NVIDIA platform loaded. Before [`init`], `None`.
pub fn nvidia_unavailable_reason() -> Option<String> {
    REGISTRY.get().and_then(|r| r.nvidia_reason.clone())
}

/// The CUDA version the installed NVIDIA driver supports (`cuDriverGetVersion`, e.g. 13000),
/// or the version ferrocuda implements when only the CPU device is present.
pub fn driver_version() -> Result<i32> {
    let reg = registry()?;
    match &reg.nvidia {
        Some(p) => p.driver_version(),
        None => reg.cpu.driver_version(),
    }
}

/// Which device and kind of memory `addr` belongs to (`cuPointerGetAttributes`).
pub fn pointer_info(addr: u64) -> Result<PointerInfo> {
    let reg = registry()?;
    for p in reg.nvidia.iter().chain(std::iter::once(&reg.cpu)) {
        if let Some((kind, local)) = p.pointer_kind(addr) {
            let device = local.and_then(|local| {
                (0..reg.devices.len())
                    .find(|&i| {
                        let s = &reg.devices[i];
                        Arc::ptr_eq(&s.platform, p) && s.local == local
                    })
                    .and_then(|i| Device::get(i).ok())
            });
            return Ok(PointerInfo { kind, device });
        }
    }
    Ok(PointerInfo {
        kind: MemoryKind::Unknown,
        device: None,
    })
}
