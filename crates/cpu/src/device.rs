//! The device, loaded modules and kernels: the public face of the executor.

use crate::memory::{configured_total, Memory};
use crate::{DeviceProperties, Error};
use ferrocuda_ptx::ir;
use std::sync::Arc;

/// The CPU device: a worker pool that runs kernel grids, and the device memory they use.
///
/// One per process is enough; it is `Send + Sync` and meant to be shared behind an `Arc`.
pub struct Device {
    props: DeviceProperties,
    memory: Memory,
    pool: rayon::ThreadPool,
}

impl std::fmt::Debug for Device {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Device")
            .field("workers", &self.pool.current_num_threads())
            .finish()
    }
}

impl Default for Device {
    fn default() -> Self {
        Device::new()
    }
}

/// Launch shape of a kernel, as `cuLaunchKernel` takes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LaunchConfig {
    /// Blocks in x, y, z.
    pub grid: [u32; 3],
    /// Threads per block in x, y, z.
    pub block: [u32; 3],
    /// Bytes of dynamic shared memory per block.
    pub dynamic_shared: u32,
}

/// Per-kernel attributes, as `cuFuncGetAttribute` reports them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct KernelAttributes {
    /// 32-bit registers per thread (declared registers, 64-bit ones counting twice).
    pub num_regs: u32,
    /// Static shared memory bytes per block.
    pub shared_size_bytes: u32,
    /// Local memory bytes per thread (the kernel's `.local` frame and its callees').
    pub local_size_bytes: u32,
    /// Bytes of `.const` variables in the module.
    pub const_size_bytes: u32,
    /// Largest block size the kernel can be launched with (`.maxntid`/`.reqntid`, else 1024).
    pub max_threads_per_block: u32,
    /// Bytes of the kernel's parameter buffer.
    pub param_bytes: u32,
    /// `.reqntid` when the kernel requires an exact block shape.
    pub required_block: Option<[u32; 3]>,
    /// PTX ISA version of the module, as major*10+minor.
    pub ptx_version: u32,
    /// Target architecture the executor reports (90).
    pub binary_version: u32,
}

/// A module loaded onto the device: its lowered code and its `.global`/`.const` variables.
///
/// Dropping it frees the variables' device memory.
pub struct LoadedModule {
    memory: Memory,
    globals: Vec<(String, u64, u64)>,
    kernels: Vec<Kernel>,
}

impl std::fmt::Debug for LoadedModule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoadedModule")
            .field("globals", &self.globals)
            .field(
                "kernels",
                &self.kernels.iter().map(|k| k.name()).collect::<Vec<_>>(),
            )
            .finish()
    }
}

pub(crate) struct KernelInner {
    pub(crate) name: String,
    pub(crate) signature: ir::KernelSignature,
    pub(crate) attrs: KernelAttributes,
}

/// A kernel of a loaded module; cheap to clone.
#[derive(Clone)]
pub struct Kernel {
    pub(crate) inner: Arc<KernelInner>,
}

impl std::fmt::Debug for Kernel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Kernel")
            .field("name", &self.name())
            .finish()
    }
}

impl Kernel {
    /// The kernel's (mangled) name.
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// The parameter layout launches are checked against.
    pub fn signature(&self) -> &ir::KernelSignature {
        &self.inner.signature
    }

    /// Registers, shared/local/const sizes and block-size limits of the kernel.
    pub fn attributes(&self) -> KernelAttributes {
        self.inner.attrs
    }
}

impl LoadedModule {
    /// The kernel named `name`.
    pub fn kernel(&self, name: &str) -> Option<Kernel> {
        self.kernels.iter().find(|k| k.name() == name).cloned()
    }

    /// Names of every kernel in the module, in source order.
    pub fn kernel_names(&self) -> impl Iterator<Item = &str> {
        self.kernels.iter().map(|k| k.name())
    }

    /// `(device address, bytes)` of the module-scope `.global` or `.const` variable `name`.
    pub fn global(&self, name: &str) -> Option<(u64, u64)> {
        self.globals
            .iter()
            .find(|g| g.0 == name)
            .map(|g| (g.1, g.2))
    }
}

impl Drop for LoadedModule {
    fn drop(&mut self) {
        for g in &self.globals {
            let _ = self.memory.free(g.1);
        }
    }
}

impl Device {
    /// A device with one worker per available core and the configured memory size.
    pub fn new() -> Device {
        let workers = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1);
        Device::with_workers(workers)
    }

    /// A device with `workers` worker threads (at least one).
    pub fn with_workers(workers: usize) -> Device {
        let workers = workers.max(1);
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(workers)
            .thread_name(|i| format!("ferrocuda-cpu-{i}"))
            .build()
            .or_else(|_| rayon::ThreadPoolBuilder::new().num_threads(1).build())
            .expect("a one-thread pool can always be built");
        let total = configured_total();
        Device {
            props: DeviceProperties::new(workers as u32, total),
            memory: Memory::with_capacity(total),
            pool,
        }
    }

    /// Attribute values (warp size, limits, memory size, …).
    pub fn properties(&self) -> &DeviceProperties {
        &self.props
    }

    /// The device memory.
    pub fn memory(&self) -> &Memory {
        &self.memory
    }

    /// Loads a module: allocates and initializes its variables, lowers its functions.
    pub fn load_module(&self, m: &ir::Module) -> Result<LoadedModule, Error> {
        let _ = m;
        Err(Error::Unsupported {
            what: "module loading".into(),
            at: crate::Site::default(),
        })
    }

    /// Runs the whole grid of `k` to completion with the packed parameter buffer `params`.
    pub fn launch(&self, k: &Kernel, cfg: &LaunchConfig, params: &[u8]) -> Result<(), Error> {
        let _ = (k, cfg, params, &self.pool);
        Err(Error::Unsupported {
            what: "launch".into(),
            at: crate::Site::default(),
        })
    }
}
