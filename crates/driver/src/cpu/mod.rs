//! The CPU platform: the driver API over crate `cpu` (the PTX executor).
//!
//! One process-wide [`ferrocuda_cpu::Device`] backs the single CPU device. Contexts share
//! its memory but track their own allocations (freed when the context is destroyed or its
//! primary context reset). Streams are worker threads running their jobs in order; the null
//! stream follows CUDA's legacy default-stream rules. A fault inside a kernel becomes the
//! context's sticky error: it is reported at the next synchronisation point and by every
//! later call on the context, as on a GPU.

mod stream;

use std::any::Any;
use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::{AtomicI32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex, MutexGuard, Weak};

use ferrocuda_cpu as cpu;

use crate::device::DeviceAttribute;
use crate::error::{Error, ErrorCode, Result};
use crate::launch::{LaunchConfig, PackedArgs};
use crate::limit::Limit;
use crate::module::{container_error, FunctionAttribute, JitOptions, KernelSignature};
use crate::platform::{
    downcast, ContextBackend, EventBackend, Fill, FunctionBackend, HostAlloc, ModuleBackend,
    Pending, PlatformBackend, StreamBackend,
};
use crate::{ContextFlags, EventFlags, MemoryKind, Platform, StreamFlags};

use stream::{EventCore, Job, StreamCore};

/// The CUDA API level the CPU device reports (`cuDriverGetVersion`): 13.0.
const CPU_DRIVER_VERSION: i32 = 13000;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Maps an executor error from a running kernel onto the code a GPU reports.
pub(crate) fn kernel_error(e: cpu::Error) -> Error {
    let code = match &e {
        cpu::Error::IllegalAddress { .. } => ErrorCode::IllegalAddress,
        cpu::Error::MisalignedAddress { .. } => ErrorCode::MisalignedAddress,
        cpu::Error::Trap { .. } => ErrorCode::LaunchFailed,
        cpu::Error::Assert { .. } => ErrorCode::Assert,
        cpu::Error::IllegalInstruction { .. } => ErrorCode::IllegalInstruction,
        cpu::Error::StackOverflow { .. } => ErrorCode::HardwareStackError,
        cpu::Error::Deadlock { .. } => ErrorCode::LaunchTimeout,
        cpu::Error::OutOfMemory => ErrorCode::OutOfMemory,
        cpu::Error::Unsupported { .. } => ErrorCode::NotSupported,
        cpu::Error::NotFound(_) => ErrorCode::NotFound,
        cpu::Error::InvalidModule(_) => ErrorCode::InvalidPtx,
        cpu::Error::InvalidValue(_)
        | cpu::Error::InvalidConfiguration(_)
        | cpu::Error::SharedMemoryTooLarge { .. } => ErrorCode::InvalidValue,
    };
    Error::new(code, e.to_string())
}

/// Maps an executor error from a host-side call (copy, memset, free): a bad address there is
/// `CUDA_ERROR_INVALID_VALUE`, as `cuMemcpy*` reports it.
fn host_error(e: cpu::Error) -> Error {
    match e {
        cpu::Error::IllegalAddress { .. } | cpu::Error::MisalignedAddress { .. } => {
            Error::invalid_value(e.to_string())
        }
        other => kernel_error(other),
    }
}

fn ptx_error(e: ferrocuda_ptx::Error) -> Error {
    let code = if e.kind == ferrocuda_ptx::ErrorKind::Unsupported {
        ErrorCode::UnsupportedPtxVersion
    } else {
        ErrorCode::InvalidPtx
    };
    Error::Ptx {
        code,
        what: "PTX does not parse".into(),
        text: e.to_string(),
    }
}

/// Page-locked host ranges handed out or registered on the CPU platform, for
/// [`crate::pointer_info`].
type HostRanges = Arc<Mutex<BTreeMap<usize, usize>>>;

fn host_range_of(ranges: &HostRanges, addr: usize) -> Option<(usize, usize)> {
    let r = lock(ranges);
    let (&start, &len) = r.range(..=addr).next_back()?;
    (addr < start + len).then_some((start, len))
}

/// Removes a host range from the registry when dropped.
struct HostRangeToken {
    ranges: HostRanges,
    start: usize,
}

impl Drop for HostRangeToken {
    fn drop(&mut self) {
        lock(&self.ranges).remove(&self.start);
    }
}

fn add_host_range(ranges: &HostRanges, start: usize, len: usize) -> Result<HostRangeToken> {
    let mut r = lock(ranges);
    let overlaps = r
        .range(..start + len)
        .next_back()
        .is_some_and(|(&s, &l)| s + l > start);
    if overlaps {
        return Err(Error::new(
            ErrorCode::HostMemoryAlreadyRegistered,
            format!("host range {start:#x}+{len} is already registered"),
        ));
    }
    r.insert(start, len);
    Ok(HostRangeToken {
        ranges: Arc::clone(ranges),
        start,
    })
}

struct PrimarySlot {
    refs: u32,
    state: Option<Arc<CtxState>>,
    flags: ContextFlags,
}

/// The CPU platform: one device.
pub(crate) struct CpuPlatform {
    dev: Arc<cpu::Device>,
    primary: Arc<Mutex<PrimarySlot>>,
    host_ranges: HostRanges,
    next_id: Arc<AtomicU64>,
}

impl CpuPlatform {
    pub(crate) fn new() -> CpuPlatform {
        CpuPlatform {
            dev: Arc::new(cpu::Device::new()),
            primary: Arc::new(Mutex::new(PrimarySlot {
                refs: 0,
                state: None,
                flags: ContextFlags::SCHED_AUTO,
            })),
            host_ranges: Arc::new(Mutex::new(BTreeMap::new())),
            next_id: Arc::new(AtomicU64::new(1)),
        }
    }

    fn check_dev(&self, dev: usize) -> Result<()> {
        if dev == 0 {
            Ok(())
        } else {
            Err(Error::new(
                ErrorCode::InvalidDevice,
                format!("the CPU platform has one device, not {dev}"),
            ))
        }
    }

    fn new_state(&self, flags: ContextFlags) -> Arc<CtxState> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        Arc::new_cyclic(|weak| CtxState {
            id,
            dev: Arc::clone(&self.dev),
            flags,
            sticky: Mutex::new(None),
            allocs: Mutex::new(HashSet::new()),
            streams: Mutex::new(Vec::new()),
            null: StreamCore::new(weak.clone(), true, true, 0),
            host_ranges: Arc::clone(&self.host_ranges),
            heap: Arc::new(cpu::DeviceHeap::new(cpu::heap::DEFAULT_HEAP_BYTES)),
            printf_fifo: AtomicUsize::new(cpu::PRINTF_FIFO_BYTES),
            stack: AtomicUsize::new(cpu::STACK_BYTES),
        })
    }
}

impl PlatformBackend for CpuPlatform {
    fn platform(&self) -> Platform {
        Platform::Cpu
    }

    fn driver_version(&self) -> Result<i32> {
        Ok(CPU_DRIVER_VERSION)
    }

    fn device_count(&self) -> usize {
        1
    }

    fn device_name(&self, dev: usize) -> Result<String> {
        self.check_dev(dev)?;
        Ok(self.dev.properties().name.clone())
    }

    fn device_uuid(&self, dev: usize) -> Result<[u8; 16]> {
        self.check_dev(dev)?;
        // A fixed, recognisable UUID: "ferrocuda-cpu-0" padded.
        let mut u = [0u8; 16];
        u[..15].copy_from_slice(b"ferrocuda-cpu-0");
        Ok(u)
    }

    fn device_total_memory(&self, dev: usize) -> Result<u64> {
        self.check_dev(dev)?;
        Ok(self.dev.properties().total_memory)
    }

    fn device_attribute(&self, dev: usize, attr: DeviceAttribute) -> Result<i32> {
        self.check_dev(dev)?;
        cpu_attribute(self.dev.properties(), attr)
    }

    fn create_context(&self, dev: usize, flags: ContextFlags) -> Result<Box<dyn ContextBackend>> {
        self.check_dev(dev)?;
        Ok(Box::new(CpuContext {
            state: self.new_state(flags),
            primary: None,
        }))
    }

    fn primary_context_retain(&self, dev: usize) -> Result<Box<dyn ContextBackend>> {
        self.check_dev(dev)?;
        let mut slot = lock(&self.primary);
        let flags = slot.flags;
        let state = Arc::clone(slot.state.get_or_insert_with(|| self.new_state(flags)));
        slot.refs += 1;
        Ok(Box::new(CpuContext {
            state,
            primary: Some(Arc::clone(&self.primary)),
        }))
    }

    fn primary_context_state(&self, dev: usize) -> Result<(ContextFlags, bool)> {
        self.check_dev(dev)?;
        let slot = lock(&self.primary);
        Ok((slot.flags, slot.state.is_some()))
    }

    fn primary_context_set_flags(&self, dev: usize, flags: ContextFlags) -> Result<()> {
        self.check_dev(dev)?;
        lock(&self.primary).flags = flags;
        Ok(())
    }

    fn primary_context_reset(&self, dev: usize) -> Result<()> {
        self.check_dev(dev)?;
        let state = {
            let mut slot = lock(&self.primary);
            slot.refs = 0;
            slot.state.take()
        };
        if let Some(s) = state {
            s.destroy();
            s.set_sticky(Error::new(
                ErrorCode::ContextIsDestroyed,
                "the primary context was reset",
            ));
        }
        Ok(())
    }

    fn pointer_kind(&self, addr: u64) -> Option<(MemoryKind, Option<usize>)> {
        if self.dev.memory().allocation(addr).is_some() {
            return Some((MemoryKind::Device, Some(0)));
        }
        let host = usize::try_from(addr).ok()?;
        host_range_of(&self.host_ranges, host).map(|_| (MemoryKind::Host, None))
    }
}

fn b(v: bool) -> i32 {
    i32::from(v)
}

fn clamp(v: u64) -> i32 {
    i32::try_from(v).unwrap_or(i32::MAX)
}

/// Answers `cuDeviceGetAttribute` for the CPU device from the executor's properties.
fn cpu_attribute(p: &cpu::DeviceProperties, attr: DeviceAttribute) -> Result<i32> {
    use DeviceAttribute as A;
    let v: i64 = match attr {
        A::MaxThreadsPerBlock => p.max_threads_per_block.into(),
        A::MaxBlockDimX => p.max_block_dim[0].into(),
        A::MaxBlockDimY => p.max_block_dim[1].into(),
        A::MaxBlockDimZ => p.max_block_dim[2].into(),
        A::MaxGridDimX => p.max_grid_dim[0].into(),
        A::MaxGridDimY => p.max_grid_dim[1].into(),
        A::MaxGridDimZ => p.max_grid_dim[2].into(),
        A::MaxSharedMemoryPerBlock => p.shared_memory_per_block.into(),
        A::TotalConstantMemory => p.total_constant_memory.into(),
        A::WarpSize => p.warp_size.into(),
        A::MaxPitch => clamp(p.max_pitch).into(),
        A::MaxRegistersPerBlock => p.registers_per_block.into(),
        A::ClockRate => p.clock_rate_khz.into(),
        A::TextureAlignment => p.texture_alignment.into(),
        A::GpuOverlap => b(p.async_engine_count > 0).into(),
        A::MultiprocessorCount => p.multiprocessor_count.into(),
        A::KernelExecTimeout => b(p.kernel_exec_timeout).into(),
        A::Integrated => b(p.integrated).into(),
        // Page-locked host memory is not addressable by CPU-device kernels.
        A::CanMapHostMemory => 0,
        // CU_COMPUTEMODE_DEFAULT.
        A::ComputeMode => 0,
        A::ConcurrentKernels => b(p.concurrent_kernels).into(),
        A::EccEnabled => b(p.ecc_enabled).into(),
        A::PciBusId => p.pci_bus_id.into(),
        A::PciDeviceId => p.pci_device_id.into(),
        A::PciDomainId => p.pci_domain_id.into(),
        A::TccDriver => 0,
        A::MemoryClockRate => p.memory_clock_rate_khz.into(),
        A::GlobalMemoryBusWidth => p.memory_bus_width.into(),
        A::L2CacheSize => p.l2_cache_size.into(),
        A::MaxThreadsPerMultiprocessor => p.max_threads_per_multiprocessor.into(),
        A::AsyncEngineCount => p.async_engine_count.into(),
        A::UnifiedAddressing => b(p.unified_addressing).into(),
        A::ComputeCapabilityMajor => p.compute_capability.0.into(),
        A::ComputeCapabilityMinor => p.compute_capability.1.into(),
        A::StreamPrioritiesSupported => 1,
        A::GlobalL1CacheSupported | A::LocalL1CacheSupported => 1,
        A::MaxSharedMemoryPerMultiprocessor => p.shared_memory_per_multiprocessor.into(),
        A::MaxRegistersPerMultiprocessor => p.registers_per_multiprocessor.into(),
        A::MaxSharedMemoryPerBlockOptin => p.shared_memory_per_block_optin.into(),
        A::MaxBlocksPerMultiprocessor => p.max_blocks_per_multiprocessor.into(),
        A::CooperativeLaunch => b(p.cooperative_launch).into(),
        A::HostRegisterSupported => 1,
        A::ClusterLaunch => b(p.max_cluster_size > 1).into(),
        A::SingleToDoublePrecisionPerfRatio => 2,
        A::ReservedSharedMemoryPerBlock => 0,
        A::MultiGpuBoard | A::MultiGpuBoardGroupId => 0,
        A::MaximumTexture1dWidth
        | A::MaximumTexture2dWidth
        | A::MaximumTexture2dHeight
        | A::MaximumTexture3dWidth
        | A::MaximumTexture3dHeight
        | A::MaximumTexture3dDepth
        | A::SurfaceAlignment
        | A::TexturePitchAlignment => 0,
        // NUMA ids: -1 as CUDA reports for "not applicable".
        A::NumaId | A::HostNumaId => -1,
        _ => 0,
    };
    Ok(i32::try_from(v).unwrap_or(i32::MAX))
}

/// A CPU context's state, shared by every handle (all retains of a primary context).
pub(crate) struct CtxState {
    id: u64,
    dev: Arc<cpu::Device>,
    flags: ContextFlags,
    sticky: Mutex<Option<Error>>,
    allocs: Mutex<HashSet<u64>>,
    streams: Mutex<Vec<Weak<StreamCore>>>,
    null: Arc<StreamCore>,
    host_ranges: HostRanges,
    /// Kernels' `malloc` heap (`CU_LIMIT_MALLOC_HEAP_SIZE`); freed with the context.
    heap: Arc<cpu::DeviceHeap>,
    /// `CU_LIMIT_PRINTF_FIFO_SIZE`.
    printf_fifo: AtomicUsize,
    /// `CU_LIMIT_STACK_SIZE` (at least `cpu::STACK_BYTES`).
    stack: AtomicUsize,
}

impl CtxState {
    pub(crate) fn sticky(&self) -> Option<Error> {
        lock(&self.sticky).clone()
    }

    /// Records the context's first fault; later calls on the context return it.
    pub(crate) fn set_sticky(&self, e: Error) {
        let mut s = lock(&self.sticky);
        if s.is_none() {
            *s = Some(e);
        }
    }

    fn check(&self) -> Result<()> {
        match self.sticky() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    fn live_streams(&self) -> Vec<Arc<StreamCore>> {
        let mut v = lock(&self.streams);
        v.retain(|w| w.strong_count() > 0);
        v.iter().filter_map(Weak::upgrade).collect()
    }

    /// Waits for the null stream and every blocking stream (what a synchronous call waits
    /// for under legacy default-stream rules). From a stream's own worker (a host function
    /// dropping a buffer, say) it does not wait: that would wait for itself.
    fn legacy_sync(&self) {
        if stream::in_worker() {
            return;
        }
        self.null.drain();
        for s in self.live_streams() {
            if s.blocking {
                s.drain();
            }
        }
    }

    /// Waits for every stream of the context.
    fn sync_all(&self) {
        if stream::in_worker() {
            return;
        }
        self.null.drain();
        for s in self.live_streams() {
            s.drain();
        }
    }

    /// Queues `job` on `core`, adding the legacy default-stream dependencies first.
    fn enqueue(&self, core: &Arc<StreamCore>, job: Job) -> Result<()> {
        self.check()?;
        if core.null {
            let deps: Vec<(Arc<StreamCore>, u64)> = self
                .live_streams()
                .into_iter()
                .filter(|s| s.blocking && !s.idle())
                .map(|s| {
                    let seq = s.submitted();
                    (s, seq)
                })
                .collect();
            if !deps.is_empty() {
                core.push(Box::new(move |_| {
                    for (s, seq) in deps {
                        s.wait_for(seq);
                    }
                    Ok(())
                }))?;
            }
        } else if core.blocking && !self.null.idle() {
            let null = Arc::clone(&self.null);
            let seq = null.submitted();
            core.push(Box::new(move |_| {
                null.wait_for(seq);
                Ok(())
            }))?;
        }
        core.push(job)?;
        Ok(())
    }

    fn memory(&self) -> &cpu::Memory {
        self.dev.memory()
    }

    /// `CUDA_ERROR_INVALID_VALUE` unless `[addr, addr + len)` lies in one allocation.
    fn check_range(&self, addr: u64, len: u64, what: &str) -> Result<()> {
        match self.memory().allocation(addr) {
            Some((base, size)) if addr.checked_add(len).is_some_and(|e| e <= base + size) => Ok(()),
            _ => Err(Error::invalid_value(format!(
                "{what}: [{addr:#x}, +{len}) is not inside one device allocation"
            ))),
        }
    }

    fn free_all(&self) {
        let allocs: Vec<u64> = lock(&self.allocs).drain().collect();
        for a in allocs {
            let _ = self.memory().free(a);
        }
    }

    /// Destroys the context: waits for its work, frees its allocations, stops its null
    /// stream's worker.
    fn destroy(&self) {
        self.sync_all();
        self.free_all();
        self.heap.release_all(self.memory());
        self.null.close();
    }
}

/// One handle to a CPU context. Dropping a created context destroys it; dropping a primary
/// context handle releases it (the last release destroys it).
struct CpuContext {
    state: Arc<CtxState>,
    primary: Option<Arc<Mutex<PrimarySlot>>>,
}

impl Drop for CpuContext {
    fn drop(&mut self) {
        let destroy = match &self.primary {
            None => true,
            Some(slot) => {
                let mut slot = lock(slot);
                // A handle from before a reset no longer counts towards the slot.
                let current = slot
                    .state
                    .as_ref()
                    .is_some_and(|s| Arc::ptr_eq(s, &self.state));
                if current {
                    slot.refs = slot.refs.saturating_sub(1);
                    if slot.refs == 0 {
                        slot.state = None;
                    }
                }
                current && slot.refs == 0
            }
        };
        if destroy {
            self.state.destroy();
        }
    }
}

impl ContextBackend for CpuContext {
    fn id(&self) -> u64 {
        self.state.id
    }

    fn flags(&self) -> Result<ContextFlags> {
        Ok(self.state.flags)
    }

    fn push_current(&self) -> Result<()> {
        Ok(())
    }

    fn pop_current(&self) -> Result<()> {
        Ok(())
    }

    fn detach(&self) {
        // Release is decided against the primary slot's current state; nothing to mark.
    }

    fn synchronize(&self) -> Result<()> {
        self.state.sync_all();
        self.state.check()
    }

    fn mem_alloc(&self, bytes: u64) -> Result<u64> {
        self.state.check()?;
        let addr = self.state.memory().alloc(bytes).map_err(host_error)?;
        lock(&self.state.allocs).insert(addr);
        Ok(addr)
    }

    fn mem_free(&self, addr: u64) -> Result<()> {
        // Like cuMemFree, wait for work that may still use the memory.
        self.state.sync_all();
        if !lock(&self.state.allocs).remove(&addr) {
            return Err(Error::invalid_value(format!(
                "{addr:#x} is not an allocation of this context"
            )));
        }
        self.state.memory().free(addr).map_err(host_error)?;
        self.state.check()
    }

    fn mem_get_info(&self) -> Result<(u64, u64)> {
        self.state.check()?;
        Ok(self.state.memory().info())
    }

    fn limit(&self, limit: Limit) -> Result<usize> {
        self.state.check()?;
        match limit {
            Limit::MallocHeapSize => Ok(self.state.heap.limit() as usize),
            Limit::PrintfFifoSize => Ok(self.state.printf_fifo.load(Ordering::Relaxed)),
            Limit::StackSize => Ok(self.state.stack.load(Ordering::Relaxed)),
            other => Err(other.unsupported("CPU device")),
        }
    }

    fn set_limit(&self, limit: Limit, value: usize) -> Result<()> {
        self.state.check()?;
        match limit {
            Limit::MallocHeapSize => self.state.heap.set_limit(value as u64),
            Limit::PrintfFifoSize => self.state.printf_fifo.store(value, Ordering::Relaxed),
            // Stacks grow on demand: a limit below the device's least is rounded up to it,
            // as a GPU rounds limits up to its granularity.
            Limit::StackSize => self
                .state
                .stack
                .store(value.max(cpu::STACK_BYTES), Ordering::Relaxed),
            other => return Err(other.unsupported("CPU device")),
        }
        Ok(())
    }

    fn memcpy_htod(&self, dst: u64, src: &[u8]) -> Result<()> {
        self.state.legacy_sync();
        self.state.check()?;
        self.state.memory().write(dst, src).map_err(host_error)
    }

    fn memcpy_dtoh(&self, dst: &mut [u8], src: u64) -> Result<()> {
        self.state.legacy_sync();
        self.state.check()?;
        self.state.memory().read(src, dst).map_err(host_error)
    }

    fn memcpy_dtod(&self, dst: u64, src: u64, bytes: u64) -> Result<()> {
        self.state.legacy_sync();
        self.state.check()?;
        self.state
            .memory()
            .copy(dst, src, bytes)
            .map_err(host_error)
    }

    fn memset(&self, dst: u64, fill: Fill, count: u64) -> Result<()> {
        self.state.legacy_sync();
        self.state.check()?;
        self.state
            .memory()
            .fill(dst, &fill.bytes(), count)
            .map_err(host_error)
    }

    fn load_module(&self, image: &[u8], _opts: &JitOptions) -> Result<Box<dyn ModuleBackend>> {
        self.state.check()?;
        // PTX as it is; a fatbin (or an executable embedding one) through its PTX entry.
        let (major, minor) = self.state.dev.properties().compute_capability;
        let text = ferrocuda_ptx::container::ptx_for(image, major * 10 + minor)
            .map_err(container_error)?;
        let ir = ferrocuda_ptx::parse(&text).map_err(ptx_error)?;
        let loaded = self.state.dev.load_module(&ir).map_err(kernel_error)?;
        Ok(Box::new(CpuModule {
            loaded: Arc::new(loaded),
            dev: Arc::clone(&self.state.dev),
            target: target_arch(&ir.target),
        }))
    }

    fn null_stream(&self) -> Arc<dyn StreamBackend> {
        Arc::new(CpuStream {
            core: Arc::clone(&self.state.null),
            state: Arc::clone(&self.state),
            owned: false,
        })
    }

    fn create_stream(&self, flags: StreamFlags, priority: i32) -> Result<Arc<dyn StreamBackend>> {
        self.state.check()?;
        let (least, greatest) = self.stream_priority_range()?;
        // Out-of-range priorities are clamped, as CUDA does.
        let priority = priority.clamp(greatest, least);
        let core = StreamCore::new(
            Arc::downgrade(&self.state),
            !flags.contains(StreamFlags::NON_BLOCKING),
            false,
            priority,
        );
        lock(&self.state.streams).push(Arc::downgrade(&core));
        Ok(Arc::new(CpuStream {
            core,
            state: Arc::clone(&self.state),
            owned: true,
        }))
    }

    fn stream_priority_range(&self) -> Result<(i32, i32)> {
        // The range an H100 reports; the CPU device runs streams side by side regardless.
        Ok((0, -5))
    }

    fn create_event(&self, flags: EventFlags) -> Result<Arc<dyn EventBackend>> {
        self.state.check()?;
        Ok(Arc::new(CpuEvent {
            core: EventCore::new(!flags.contains(EventFlags::DISABLE_TIMING)),
            state: Arc::clone(&self.state),
        }))
    }

    fn host_alloc(&self, bytes: usize) -> Result<Box<dyn HostAlloc>> {
        let mut buf = Vec::new();
        buf.try_reserve_exact(bytes.div_ceil(16)).map_err(|_| {
            Error::new(
                ErrorCode::OutOfMemory,
                format!("cannot allocate {bytes} bytes of host memory"),
            )
        })?;
        buf.resize(bytes.div_ceil(16), 0u128);
        let token = if bytes == 0 {
            None
        } else {
            Some(add_host_range(
                &self.state.host_ranges,
                buf.as_ptr() as usize,
                bytes,
            )?)
        };
        Ok(Box::new(CpuHostAlloc {
            _token: token,
            buf,
            len: bytes,
        }))
    }

    fn host_register(&self, ptr: usize, len: usize) -> Result<Box<dyn Send + Sync>> {
        Ok(Box::new(add_host_range(&self.state.host_ranges, ptr, len)?))
    }
}

/// The virtual architecture a module's `.target` names (`sm_86` → 86, `sm_90a` → 90), as
/// `CU_FUNC_ATTRIBUTE_PTX_VERSION` reports it; 0 when none is named.
fn target_arch(target: &[String]) -> u32 {
    target
        .iter()
        .find_map(|t| {
            let digits: String = t
                .strip_prefix("sm_")
                .or_else(|| t.strip_prefix("compute_"))?
                .chars()
                .take_while(char::is_ascii_digit)
                .collect();
            digits.parse().ok()
        })
        .unwrap_or(0)
}

/// Maps a container error: an image without usable PTX is `CUDA_ERROR_NO_BINARY_FOR_GPU`
/// (the CPU device runs PTX only), a malformed one `CUDA_ERROR_INVALID_IMAGE`.
/// Host memory the CPU platform hands out as "page-locked" (16-byte aligned).
struct CpuHostAlloc {
    _token: Option<HostRangeToken>,
    buf: Vec<u128>,
    len: usize,
}

impl HostAlloc for CpuHostAlloc {
    fn bytes(&self) -> &[u8] {
        &bytemuck::cast_slice(&self.buf)[..self.len]
    }

    fn bytes_mut(&mut self) -> &mut [u8] {
        &mut bytemuck::cast_slice_mut(&mut self.buf)[..self.len]
    }
}

struct CpuModule {
    loaded: Arc<cpu::LoadedModule>,
    dev: Arc<cpu::Device>,
    /// The `.target` architecture (`CU_FUNC_ATTRIBUTE_PTX_VERSION`).
    target: u32,
}

impl ModuleBackend for CpuModule {
    fn function(&self, name: &str) -> Result<Arc<dyn FunctionBackend>> {
        let kernel = self.loaded.kernel(name).ok_or_else(|| {
            Error::new(
                ErrorCode::NotFound,
                format!("no kernel named `{name}` in the module"),
            )
        })?;
        let attrs = kernel.attributes();
        let props = self.dev.properties();
        let default_dyn = props
            .shared_memory_per_block
            .saturating_sub(attrs.shared_size_bytes);
        Ok(Arc::new(CpuFunction {
            kernel,
            _module: Arc::clone(&self.loaded),
            dev: Arc::clone(&self.dev),
            max_dynamic_shared: AtomicI32::new(clamp(default_dyn.into())),
            carveout: AtomicI32::new(-1),
            target: self.target,
        }))
    }

    fn global(&self, name: &str) -> Result<(u64, u64)> {
        self.loaded.global(name).ok_or_else(|| {
            Error::new(
                ErrorCode::NotFound,
                format!("no global variable named `{name}` in the module"),
            )
        })
    }
}

struct CpuFunction {
    kernel: cpu::Kernel,
    /// Keeps the module's globals alive while the function (or a launch of it) exists.
    _module: Arc<cpu::LoadedModule>,
    dev: Arc<cpu::Device>,
    max_dynamic_shared: AtomicI32,
    carveout: AtomicI32,
    target: u32,
}

impl FunctionBackend for CpuFunction {
    fn as_any(&self) -> &dyn Any {
        self
    }

    fn attribute(&self, attr: FunctionAttribute) -> Result<i32> {
        let a = self.kernel.attributes();
        let v = match attr {
            FunctionAttribute::MaxThreadsPerBlock => a.max_threads_per_block,
            FunctionAttribute::SharedSizeBytes => a.shared_size_bytes,
            FunctionAttribute::ConstSizeBytes => a.const_size_bytes,
            FunctionAttribute::LocalSizeBytes => a.local_size_bytes,
            FunctionAttribute::NumRegs => a.num_regs,
            FunctionAttribute::PtxVersion => self.target,
            FunctionAttribute::BinaryVersion => a.binary_version,
            FunctionAttribute::CacheModeCa => 0,
            FunctionAttribute::MaxDynamicSharedSizeBytes => {
                return Ok(self.max_dynamic_shared.load(Ordering::Relaxed))
            }
            FunctionAttribute::PreferredSharedMemoryCarveout => {
                return Ok(self.carveout.load(Ordering::Relaxed))
            }
        };
        Ok(clamp(v.into()))
    }

    fn set_attribute(&self, attr: FunctionAttribute, value: i32) -> Result<()> {
        match attr {
            FunctionAttribute::MaxDynamicSharedSizeBytes => {
                let a = self.kernel.attributes();
                let optin = self.dev.properties().shared_memory_per_block_optin;
                let limit = optin.saturating_sub(a.shared_size_bytes);
                if value < 0 || value as u32 > limit {
                    return Err(Error::invalid_value(format!(
                        "kernel `{}`: MaxDynamicSharedSizeBytes {value} exceeds {limit} \
                         ({optin} opt-in minus {} static)",
                        self.kernel.name(),
                        a.shared_size_bytes
                    )));
                }
                self.max_dynamic_shared.store(value, Ordering::Relaxed);
                Ok(())
            }
            FunctionAttribute::PreferredSharedMemoryCarveout => {
                if !(-1..=100).contains(&value) {
                    return Err(Error::invalid_value(format!(
                        "shared memory carveout {value} is not -1 or 0..=100 percent"
                    )));
                }
                self.carveout.store(value, Ordering::Relaxed);
                Ok(())
            }
            other => Err(Error::invalid_value(format!(
                "function attribute {other:?} is read-only"
            ))),
        }
    }

    fn param_layout(&self) -> Option<KernelSignature> {
        Some(self.kernel.signature().clone())
    }
}

struct CpuStream {
    core: Arc<StreamCore>,
    state: Arc<CtxState>,
    /// Created streams close their worker on drop; the null stream lives with the context.
    owned: bool,
}

impl Drop for CpuStream {
    fn drop(&mut self) {
        if self.owned {
            self.core.close();
        }
    }
}

impl CpuStream {
    fn push(&self, job: Job) -> Result<()> {
        self.state.enqueue(&self.core, job)
    }
}

impl StreamBackend for CpuStream {
    fn synchronize(&self) -> Result<()> {
        self.core.drain();
        self.state.check()
    }

    fn query(&self) -> Result<bool> {
        self.state.check()?;
        Ok(self.core.idle())
    }

    fn memcpy_htod(&self, dst: u64, src: &[u8]) -> Result<()> {
        self.state
            .check_range(dst, src.len() as u64, "memcpy_htod_async")?;
        let data = src.to_vec();
        let dev = Arc::clone(&self.state.dev);
        self.push(Box::new(move |failed| {
            if failed {
                return Ok(());
            }
            dev.memory().write(dst, &data).map_err(kernel_error)
        }))
    }

    fn memcpy_htod_pinned(&self, dst: u64, src: &[u8]) -> Result<()> {
        // Staged like pageable memory: the CPU device has no DMA engine to read it later.
        self.memcpy_htod(dst, src)
    }

    fn memcpy_dtoh(&self, dst: &mut [u8], src: u64) -> Result<()> {
        let bytes = dst.len();
        let (tx, rx) = mpsc::channel();
        self.dtoh_job(src, bytes, tx)?;
        match rx.recv() {
            Ok(Ok(data)) => {
                dst.copy_from_slice(&data);
                Ok(())
            }
            Ok(Err(e)) => Err(e),
            Err(_) => self.state.check(),
        }
    }

    fn memcpy_dtoh_pinned(
        &self,
        _dst: &mut dyn HostAlloc,
        offset: usize,
        src: u64,
        bytes: usize,
    ) -> Result<Pending> {
        let (tx, rx) = mpsc::channel();
        self.dtoh_job(src, bytes, tx)?;
        Ok(Pending::Fill {
            offset,
            bytes: Mutex::new(rx),
        })
    }

    fn memcpy_dtod(&self, dst: u64, src: u64, bytes: u64) -> Result<()> {
        self.state.check_range(dst, bytes, "memcpy_dtod_async")?;
        self.state.check_range(src, bytes, "memcpy_dtod_async")?;
        let dev = Arc::clone(&self.state.dev);
        self.push(Box::new(move |failed| {
            if failed {
                return Ok(());
            }
            dev.memory().copy(dst, src, bytes).map_err(kernel_error)
        }))
    }

    fn memset(&self, dst: u64, fill: Fill, count: u64) -> Result<()> {
        let pattern = fill.bytes();
        let len = count.saturating_mul(pattern.len() as u64);
        self.state.check_range(dst, len, "memset_async")?;
        let dev = Arc::clone(&self.state.dev);
        self.push(Box::new(move |failed| {
            if failed {
                return Ok(());
            }
            dev.memory()
                .fill(dst, &pattern, count)
                .map_err(kernel_error)
        }))
    }

    fn launch(&self, f: &dyn FunctionBackend, cfg: &LaunchConfig, args: &PackedArgs) -> Result<()> {
        let f: &CpuFunction = downcast(f.as_any(), "function")?;
        let a = f.kernel.attributes();
        let name = f.kernel.name();
        let block = [cfg.block.x, cfg.block.y, cfg.block.z];
        if cfg.block.volume() > u64::from(a.max_threads_per_block) {
            return Err(Error::new(
                ErrorCode::LaunchOutOfResources,
                format!(
                    "launch of `{name}`: {} threads per block, the kernel allows {}",
                    cfg.block.volume(),
                    a.max_threads_per_block
                ),
            ));
        }
        if let Some(req) = a.required_block {
            if req != block {
                return Err(Error::invalid_value(format!(
                    "launch of `{name}`: block {block:?}, the kernel requires .reqntid {req:?}"
                )));
            }
        }
        let max_dyn = f.max_dynamic_shared.load(Ordering::Relaxed).max(0) as u32;
        if cfg.shared_bytes > max_dyn {
            return Err(Error::invalid_value(format!(
                "launch of `{name}`: {} bytes of dynamic shared memory, the kernel allows {max_dyn} \
                 (raise it with FunctionAttribute::MaxDynamicSharedSizeBytes)",
                cfg.shared_bytes
            )));
        }
        let optin = f.dev.properties().shared_memory_per_block_optin;
        let total = u64::from(a.shared_size_bytes) + u64::from(cfg.shared_bytes);
        if total > u64::from(optin) {
            return Err(Error::invalid_value(format!(
                "launch of `{name}`: {total} bytes of shared memory per block, the device has {optin}"
            )));
        }
        let kernel = f.kernel.clone();
        let module = Arc::clone(&f._module);
        let dev = Arc::clone(&f.dev);
        let heap = Arc::clone(&self.state.heap);
        let printf_fifo = self.state.printf_fifo.load(Ordering::Relaxed);
        let stack = self.state.stack.load(Ordering::Relaxed);
        let params = args.bytes().to_vec();
        let c = cpu::LaunchConfig {
            grid: [cfg.grid.x, cfg.grid.y, cfg.grid.z],
            block,
            dynamic_shared: cfg.shared_bytes,
        };
        self.push(Box::new(move |failed| {
            let _module = module;
            if failed {
                return Ok(());
            }
            let resources = cpu::LaunchResources {
                heap: &heap,
                printf_fifo,
                stack,
            };
            dev.launch_in(&kernel, &c, &params, resources)
                .map_err(kernel_error)
        }))
    }

    fn record(&self, event: &dyn EventBackend) -> Result<()> {
        let e: &CpuEvent = downcast(event.as_any(), "event")?;
        self.push(e.core.record_job())
    }

    fn wait_event(&self, event: &dyn EventBackend) -> Result<()> {
        let e: &CpuEvent = downcast(event.as_any(), "event")?;
        let gen = e.core.latest();
        if gen == 0 {
            return Ok(());
        }
        let core = Arc::clone(&e.core);
        self.push(Box::new(move |_| {
            core.wait_gen(gen);
            Ok(())
        }))
    }

    fn host_func(&self, f: Box<dyn FnOnce() + Send + 'static>) -> Result<()> {
        self.push(Box::new(move |_| {
            f();
            Ok(())
        }))
    }

    fn priority(&self) -> Result<i32> {
        Ok(self.core.priority)
    }
}

impl CpuStream {
    /// Queues a device-to-host read whose bytes (or the context's error) go to `tx`.
    fn dtoh_job(&self, src: u64, bytes: usize, tx: mpsc::Sender<Result<Vec<u8>>>) -> Result<()> {
        self.state
            .check_range(src, bytes as u64, "memcpy_dtoh_async")?;
        let dev = Arc::clone(&self.state.dev);
        let state = Arc::downgrade(&self.state);
        self.push(Box::new(move |failed| {
            if failed {
                let e = state
                    .upgrade()
                    .and_then(|s| s.sticky())
                    .unwrap_or_else(|| Error::from(ErrorCode::LaunchFailed));
                let _ = tx.send(Err(e));
                return Ok(());
            }
            let mut data = vec![0u8; bytes];
            match dev.memory().read(src, &mut data) {
                Ok(()) => {
                    let _ = tx.send(Ok(data));
                    Ok(())
                }
                Err(e) => {
                    let e = kernel_error(e);
                    let _ = tx.send(Err(e.clone()));
                    Err(e)
                }
            }
        }))
    }
}

struct CpuEvent {
    core: Arc<EventCore>,
    state: Arc<CtxState>,
}

impl EventBackend for CpuEvent {
    fn as_any(&self) -> &dyn Any {
        self
    }

    fn synchronize(&self) -> Result<()> {
        self.core.wait_gen(self.core.latest());
        self.state.check()
    }

    fn query(&self) -> Result<bool> {
        self.state.check()?;
        Ok(self.core.complete())
    }

    fn elapsed_ms(&self, end: &dyn EventBackend) -> Result<f32> {
        let end: &CpuEvent = downcast(end.as_any(), "event")?;
        if !self.core.timing || !end.core.timing {
            return Err(Error::new(
                ErrorCode::InvalidHandle,
                "elapsed_ms: an event was created with DISABLE_TIMING",
            ));
        }
        self.state.check()?;
        let (a, b) = (self.core.time()?, end.core.time()?);
        let ms = if b >= a {
            (b - a).as_secs_f64() * 1e3
        } else {
            -((a - b).as_secs_f64() * 1e3)
        };
        Ok(ms as f32)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn target_arch_reads_the_first_sm_target() {
        let t = |v: &[&str]| target_arch(&v.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        assert_eq!(t(&["sm_50"]), 50);
        assert_eq!(t(&["sm_90a"]), 90);
        assert_eq!(t(&["texmode_independent", "sm_86"]), 86);
        assert_eq!(t(&["compute_120f"]), 120);
        assert_eq!(t(&[]), 0);
    }

    #[test]
    fn executor_errors_map_to_gpu_codes() {
        let site = cpu::Site::default();
        let ia = cpu::Error::IllegalAddress {
            addr: 16,
            bytes: 4,
            access: "store",
            at: site.clone(),
        };
        assert_eq!(kernel_error(ia.clone()).code(), ErrorCode::IllegalAddress);
        assert_eq!(host_error(ia).code(), ErrorCode::InvalidValue);
        assert_eq!(
            kernel_error(cpu::Error::Trap { at: site.clone() }).code(),
            ErrorCode::LaunchFailed
        );
        assert_eq!(
            kernel_error(cpu::Error::NotFound("k".into())).code(),
            ErrorCode::NotFound
        );
        assert_eq!(
            kernel_error(cpu::Error::OutOfMemory).code(),
            ErrorCode::OutOfMemory
        );
    }
}
