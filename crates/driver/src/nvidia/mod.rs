//! The NVIDIA platform: the driver API over libcuda, loaded at run time.
//!
//! `sys` holds the raw declarations and the loader, `result` thin wrappers returning
//! `Result<T, CUresult>`; this module implements the platform trait on top. Every call that
//! needs a context binds it to the calling thread for the duration of the call (pushing it
//! onto libcuda's stack when it is not already current), so handles work from any thread, as
//! in CUDA.

pub mod result;
pub mod sys;

use std::any::Any;
use std::ffi::c_void;
use std::ptr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

use crate::device::DeviceAttribute;
use crate::error::{Error, ErrorCode, Result};
use crate::launch::{LaunchConfig, PackedArgs, INLINE_PARAMS};
use crate::limit::Limit;
use crate::module::{image_ptx, native_image, FunctionAttribute, JitOptions, KernelSignature};
use crate::platform::{
    downcast, ContextBackend, EventBackend, Fill, FunctionBackend, HostAlloc, ModuleBackend,
    Pending, PlatformBackend, StreamBackend,
};
use crate::{ContextFlags, EventFlags, MemoryKind, ParamLayout, Platform, StreamFlags};

use result::JitOption;
use sys::{CUcontext, CUdevice, CUevent, CUfunction, CUmodule, CUresult, CUstream, Driver};

/// Each parameter's slot when a kernel's layout is unknown: the classic parameter limit, so
/// the driver never reads past what we pass whatever size it expects.
const UNKNOWN_PARAM_SLOT: usize = 4096;

fn cu_error(r: CUresult, what: &str) -> Error {
    match ErrorCode::from_raw(r.0) {
        Some(code) => Error::new(code, what),
        None => Error::new(ErrorCode::Unknown, format!("{what}: CUresult {}", r.0)),
    }
}

/// Maps a `result` call's error onto the driver layer's, naming the call.
trait Check<T> {
    fn check(self, what: &str) -> Result<T>;
}

impl<T> Check<T> for std::result::Result<T, CUresult> {
    fn check(self, what: &str) -> Result<T> {
        self.map_err(|r| cu_error(r, what))
    }
}

/// The NVIDIA platform: libcuda's function table and the devices it reports.
pub(crate) struct NvidiaPlatform {
    d: &'static Driver,
    devices: Vec<CUdevice>,
}

impl NvidiaPlatform {
    /// Loads libcuda and initialises it; the error is the reason there are no NVIDIA devices.
    pub(crate) fn load() -> std::result::Result<NvidiaPlatform, String> {
        let d = sys::driver().map_err(|e| e.to_string())?;
        let reason = |e: Error| e.to_string();
        d.init(0).check("cuInit").map_err(reason)?;
        let n = d
            .device_get_count()
            .check("cuDeviceGetCount")
            .map_err(reason)?;
        let devices = (0..n)
            .map(|i| d.device_get(i).check("cuDeviceGet"))
            .collect::<Result<Vec<_>>>()
            .map_err(reason)?;
        if devices.is_empty() {
            return Err("libcuda loaded, but it reports no NVIDIA GPU".into());
        }
        Ok(NvidiaPlatform { d, devices })
    }

    fn dev(&self, i: usize) -> Result<CUdevice> {
        self.devices.get(i).copied().ok_or_else(|| {
            Error::new(
                ErrorCode::InvalidDevice,
                format!("NVIDIA device {i} out of range"),
            )
        })
    }

    fn context(&self, ctx: CUcontext, dev: CUdevice, primary: bool) -> Box<dyn ContextBackend> {
        let ctx = Ctx {
            d: self.d,
            ctx,
            dev,
        };
        Box::new(NvContext {
            null: Arc::new(NvStream {
                ctx,
                stream: ptr::null_mut(),
                owned: false,
            }),
            ctx,
            primary,
            detached: AtomicBool::new(false),
        })
    }
}

impl PlatformBackend for NvidiaPlatform {
    fn platform(&self) -> Platform {
        Platform::Nvidia
    }

    fn driver_version(&self) -> Result<i32> {
        Ok(self.d.version())
    }

    fn device_count(&self) -> usize {
        self.devices.len()
    }

    fn device_name(&self, dev: usize) -> Result<String> {
        self.d
            .device_get_name(self.dev(dev)?)
            .check("cuDeviceGetName")
    }

    fn device_uuid(&self, dev: usize) -> Result<[u8; 16]> {
        self.d
            .device_get_uuid(self.dev(dev)?)
            .check("cuDeviceGetUuid")
    }

    fn device_total_memory(&self, dev: usize) -> Result<u64> {
        let b = self
            .d
            .device_total_mem(self.dev(dev)?)
            .check("cuDeviceTotalMem")?;
        Ok(b as u64)
    }

    fn device_attribute(&self, dev: usize, attr: DeviceAttribute) -> Result<i32> {
        self.d
            .device_get_attribute(self.dev(dev)?, attr.as_raw())
            .check(attr.name())
    }

    fn create_context(&self, dev: usize, flags: ContextFlags) -> Result<Box<dyn ContextBackend>> {
        let dev = self.dev(dev)?;
        let ctx = self.d.ctx_create(flags.bits(), dev).check("cuCtxCreate")?;
        // cuCtxCreate makes the new context current; ferrocuda leaves the stack unchanged.
        self.d.ctx_pop_current().check("cuCtxPopCurrent")?;
        Ok(self.context(ctx, dev, false))
    }

    fn primary_context_retain(&self, dev: usize) -> Result<Box<dyn ContextBackend>> {
        let dev = self.dev(dev)?;
        let ctx = self
            .d
            .device_primary_ctx_retain(dev)
            .check("cuDevicePrimaryCtxRetain")?;
        Ok(self.context(ctx, dev, true))
    }

    fn primary_context_state(&self, dev: usize) -> Result<(ContextFlags, bool)> {
        let (flags, active) = self
            .d
            .device_primary_ctx_get_state(self.dev(dev)?)
            .check("cuDevicePrimaryCtxGetState")?;
        Ok((ContextFlags(flags), active))
    }

    fn primary_context_set_flags(&self, dev: usize, flags: ContextFlags) -> Result<()> {
        self.d
            .device_primary_ctx_set_flags(self.dev(dev)?, flags.bits())
            .check("cuDevicePrimaryCtxSetFlags")
    }

    fn primary_context_reset(&self, dev: usize) -> Result<()> {
        let dev = self.dev(dev)?;
        // SAFETY: handles into the old context become dangling: the front API makes buffers
        // of an earlier epoch skip their free and stale context handles skip their release,
        // and documents that other handles of the reset context fail afterwards.
        unsafe { self.d.device_primary_ctx_reset(dev) }.check("cuDevicePrimaryCtxReset")
    }

    fn pointer_kind(&self, addr: u64) -> Option<(MemoryKind, Option<usize>)> {
        match self.d.pointer_memory_type(addr).ok()? {
            sys::CU_MEMORYTYPE_HOST => Some((MemoryKind::Host, None)),
            sys::CU_MEMORYTYPE_DEVICE | sys::CU_MEMORYTYPE_UNIFIED => {
                let local = self
                    .d
                    .pointer_device_ordinal(addr)
                    .ok()
                    .and_then(|o| self.devices.iter().position(|&d| d == o));
                Some((MemoryKind::Device, local))
            }
            _ => None,
        }
    }
}

/// A context handle plus the table to call through.
#[derive(Clone, Copy)]
struct Ctx {
    d: &'static Driver,
    ctx: CUcontext,
    dev: CUdevice,
}

// SAFETY: a CUcontext may be used from any thread (CUDA's contexts are thread-safe); the
// driver table is immutable.
unsafe impl Send for Ctx {}
// SAFETY: as above.
unsafe impl Sync for Ctx {}

/// Keeps a context current on this thread for the duration of a call.
struct Bound {
    d: &'static Driver,
    pushed: bool,
}

impl Ctx {
    fn bind(&self) -> Result<Bound> {
        let cur = self.d.ctx_get_current().check("cuCtxGetCurrent")?;
        if cur == self.ctx {
            return Ok(Bound {
                d: self.d,
                pushed: false,
            });
        }
        // SAFETY: `self.ctx` is live: its owner (the front API's context) outlives every
        // object holding this handle.
        unsafe { self.d.ctx_push_current(self.ctx) }.check("cuCtxPushCurrent")?;
        Ok(Bound {
            d: self.d,
            pushed: true,
        })
    }
}

impl Drop for Bound {
    fn drop(&mut self) {
        if self.pushed {
            let _ = self.d.ctx_pop_current();
        }
    }
}

struct NvContext {
    ctx: Ctx,
    primary: bool,
    /// Set for a primary-context handle from before a reset: nothing to release.
    detached: AtomicBool,
    null: Arc<NvStream>,
}

impl Drop for NvContext {
    fn drop(&mut self) {
        if self.detached.load(Ordering::SeqCst) {
            return;
        }
        let d = self.ctx.d;
        // SAFETY: this object owns one reference to the context (created or retained); the
        // front API drops it only after every resource of the context is gone.
        let _ = unsafe {
            if self.primary {
                d.device_primary_ctx_release(self.ctx.dev)
            } else {
                d.ctx_destroy(self.ctx.ctx)
            }
        };
    }
}

impl ContextBackend for NvContext {
    fn id(&self) -> u64 {
        self.ctx.ctx as u64
    }

    fn flags(&self) -> Result<ContextFlags> {
        let _b = self.ctx.bind()?;
        Ok(ContextFlags(
            self.ctx.d.ctx_get_flags().check("cuCtxGetFlags")?,
        ))
    }

    fn push_current(&self) -> Result<()> {
        // SAFETY: a live context (the front API holds it).
        unsafe { self.ctx.d.ctx_push_current(self.ctx.ctx) }.check("cuCtxPushCurrent")
    }

    fn pop_current(&self) -> Result<()> {
        self.ctx
            .d
            .ctx_pop_current()
            .check("cuCtxPopCurrent")
            .map(|_| ())
    }

    fn detach(&self) {
        self.detached.store(true, Ordering::SeqCst);
    }

    fn synchronize(&self) -> Result<()> {
        let _b = self.ctx.bind()?;
        self.ctx.d.ctx_synchronize().check("cuCtxSynchronize")
    }

    fn mem_alloc(&self, bytes: u64) -> Result<u64> {
        let _b = self.ctx.bind()?;
        let bytes = usize::try_from(bytes)
            .map_err(|_| Error::new(ErrorCode::OutOfMemory, "allocation too large"))?;
        self.ctx
            .d
            .mem_alloc(bytes)
            .check(&format!("cuMemAlloc({bytes} bytes)"))
    }

    fn mem_free(&self, addr: u64) -> Result<()> {
        let _b = self.ctx.bind()?;
        // SAFETY: `addr` came from cuMemAlloc in this context and is freed once (the owning
        // buffer's drop); the driver waits for work using it.
        unsafe { self.ctx.d.mem_free(addr) }.check("cuMemFree")
    }

    fn mem_get_info(&self) -> Result<(u64, u64)> {
        let _b = self.ctx.bind()?;
        let (free, total) = self.ctx.d.mem_get_info().check("cuMemGetInfo")?;
        Ok((free as u64, total as u64))
    }

    fn limit(&self, limit: Limit) -> Result<usize> {
        let _b = self.ctx.bind()?;
        self.ctx
            .d
            .ctx_get_limit(limit.as_raw())
            .check("cuCtxGetLimit")
    }

    fn set_limit(&self, limit: Limit, value: usize) -> Result<()> {
        let _b = self.ctx.bind()?;
        self.ctx
            .d
            .ctx_set_limit(limit.as_raw(), value)
            .check("cuCtxSetLimit")
    }

    fn memcpy_htod(&self, dst: u64, src: &[u8]) -> Result<()> {
        let _b = self.ctx.bind()?;
        // SAFETY: `dst` is a device range of a buffer the caller holds (checked by the driver,
        // which reports a bad address as an error); `src` is read during the call only.
        unsafe { self.ctx.d.memcpy_htod(dst, src) }.check("cuMemcpyHtoD")
    }

    fn memcpy_dtoh(&self, dst: &mut [u8], src: u64) -> Result<()> {
        let _b = self.ctx.bind()?;
        // SAFETY: `dst` is exclusively borrowed and complete when the call returns.
        unsafe { self.ctx.d.memcpy_dtoh(dst, src) }.check("cuMemcpyDtoH")
    }

    fn memcpy_dtod(&self, dst: u64, src: u64, bytes: u64) -> Result<()> {
        let _b = self.ctx.bind()?;
        // SAFETY: device ranges of buffers the caller holds.
        unsafe { self.ctx.d.memcpy_dtod(dst, src, bytes as usize) }.check("cuMemcpyDtoD")
    }

    fn memset(&self, dst: u64, fill: Fill, count: u64) -> Result<()> {
        let _b = self.ctx.bind()?;
        let (d, n) = (self.ctx.d, count as usize);
        // SAFETY: the device range of a buffer the caller holds exclusively.
        let r = unsafe {
            match fill {
                Fill::U8(v) => d.memset_d8(dst, v, n),
                Fill::U16(v) => d.memset_d16(dst, v, n),
                Fill::U32(v) => d.memset_d32(dst, v, n),
            }
        };
        r.check("cuMemsetD*")
    }

    fn load_module(&self, image: &[u8], opts: &JitOptions) -> Result<Box<dyn ModuleBackend>> {
        // libcuda takes PTX, cubins and fatbins; an executable gives its embedded fatbin.
        let image = native_image(image)?;
        // Kept for parameter names and layouts (PTX images only).
        let ptx = image_ptx(image);
        let mut jit = Vec::new();
        if let Some(r) = opts.max_registers {
            jit.push(JitOption::MaxRegisters(r));
        }
        if let Some(t) = opts.threads_per_block {
            jit.push(JitOption::ThreadsPerBlock(t));
        }
        if let Some(o) = opts.optimization_level {
            jit.push(JitOption::OptimizationLevel(o));
        }
        if opts.generate_debug_info {
            jit.push(JitOption::GenerateDebugInfo(true));
        }
        if opts.generate_line_info {
            jit.push(JitOption::GenerateLineInfo(true));
        }
        let _b = self.ctx.bind()?;
        let module = match self.ctx.d.module_load_data_ex(image, &jit) {
            Ok((m, _logs)) => m,
            Err((r, logs)) => {
                let code = ErrorCode::from_raw(r.0).unwrap_or(ErrorCode::Unknown);
                let mut log = logs.error;
                if opts.log_verbose && !logs.info.is_empty() {
                    log = format!("{log}\n{}", logs.info);
                }
                return Err(Error::Jit {
                    code,
                    message: "cuModuleLoadDataEx".into(),
                    log,
                });
            }
        };
        Ok(Box::new(NvModule {
            ctx: self.ctx,
            module,
            ptx,
            parsed: OnceLock::new(),
        }))
    }

    fn null_stream(&self) -> Arc<dyn StreamBackend> {
        Arc::clone(&self.null) as Arc<dyn StreamBackend>
    }

    fn create_stream(&self, flags: StreamFlags, priority: i32) -> Result<Arc<dyn StreamBackend>> {
        let _b = self.ctx.bind()?;
        let s = self
            .ctx
            .d
            .stream_create_with_priority(flags.bits(), priority)
            .check("cuStreamCreateWithPriority")?;
        Ok(Arc::new(NvStream {
            ctx: self.ctx,
            stream: s,
            owned: true,
        }))
    }

    fn stream_priority_range(&self) -> Result<(i32, i32)> {
        let _b = self.ctx.bind()?;
        self.ctx
            .d
            .ctx_get_stream_priority_range()
            .check("cuCtxGetStreamPriorityRange")
    }

    fn create_event(&self, flags: EventFlags) -> Result<Arc<dyn EventBackend>> {
        Ok(Arc::new(NvEvent::new(self.ctx, flags)?))
    }

    fn host_alloc(&self, bytes: usize) -> Result<Box<dyn HostAlloc>> {
        if bytes == 0 {
            return Ok(Box::new(NvHostAlloc {
                d: self.ctx.d,
                ptr: ptr::null_mut(),
                len: 0,
            }));
        }
        let _b = self.ctx.bind()?;
        let p = self
            .ctx
            .d
            .mem_host_alloc(bytes, sys::CU_MEMHOSTALLOC_PORTABLE)
            .check(&format!("cuMemHostAlloc({bytes} bytes)"))?;
        Ok(Box::new(NvHostAlloc {
            d: self.ctx.d,
            ptr: p.cast(),
            len: bytes,
        }))
    }

    fn host_register(&self, ptr: usize, len: usize) -> Result<Box<dyn Send + Sync>> {
        let _b = self.ctx.bind()?;
        let p = ptr as *mut c_void;
        // SAFETY: the caller owns `len` bytes at `ptr` and keeps them in place until the
        // returned registration is dropped.
        unsafe {
            self.ctx
                .d
                .mem_host_register(p, len, sys::CU_MEMHOSTREGISTER_PORTABLE)
        }
        .check("cuMemHostRegister")?;
        Ok(Box::new(HostRegistration {
            d: self.ctx.d,
            ptr: p,
        }))
    }
}

struct NvModule {
    ctx: Ctx,
    module: CUmodule,
    /// The PTX text, when the module was loaded from PTX (for parameter layouts).
    ptx: Option<String>,
    parsed: OnceLock<Option<ferrocuda_ptx::ir::Module>>,
}

// SAFETY: module handles may be used from any thread.
unsafe impl Send for NvModule {}
// SAFETY: as above; the parsed IR is behind a OnceLock.
unsafe impl Sync for NvModule {}

impl Drop for NvModule {
    fn drop(&mut self) {
        if let Ok(_b) = self.ctx.bind() {
            // SAFETY: this object owns the module; functions from it hold the module alive.
            let _ = unsafe { self.ctx.d.module_unload(self.module) };
        }
    }
}

impl NvModule {
    fn ptx_signature(&self, name: &str) -> Option<KernelSignature> {
        let ir = self.parsed.get_or_init(|| {
            self.ptx
                .as_deref()
                .and_then(|t| ferrocuda_ptx::parse(t).ok())
        });
        ir.as_ref()?.kernel(name).map(|k| k.signature())
    }

    fn driver_signature(&self, name: &str, f: CUfunction) -> Option<KernelSignature> {
        // SAFETY: `f` was just obtained from this live module, whose context is bound.
        let info = unsafe { self.ctx.d.func_get_param_info(f) }.ok()??;
        Some(KernelSignature {
            name: name.to_owned(),
            params: info
                .into_iter()
                .enumerate()
                .map(|(i, (offset, size))| ParamLayout {
                    name: format!("param{i}"),
                    offset: offset as u32,
                    size: size as u32,
                    align: 1,
                })
                .collect(),
        })
    }
}

impl ModuleBackend for NvModule {
    fn function(&self, name: &str) -> Result<Arc<dyn FunctionBackend>> {
        let _b = self.ctx.bind()?;
        // SAFETY: a live module of the bound context.
        let f = unsafe { self.ctx.d.module_get_function(self.module, name) }
            .check(&format!("no kernel named `{name}` in the module"))?;
        let layout = self
            .ptx_signature(name)
            .or_else(|| self.driver_signature(name, f));
        Ok(Arc::new(NvFunction {
            d: self.ctx.d,
            f,
            layout,
        }))
    }

    fn global(&self, name: &str) -> Result<(u64, u64)> {
        let _b = self.ctx.bind()?;
        // SAFETY: a live module of the bound context.
        let (p, bytes) = unsafe { self.ctx.d.module_get_global(self.module, name) }
            .check(&format!("no global variable named `{name}` in the module"))?;
        Ok((p, bytes as u64))
    }
}

struct NvFunction {
    d: &'static Driver,
    f: CUfunction,
    layout: Option<KernelSignature>,
}

// SAFETY: function handles may be used from any thread.
unsafe impl Send for NvFunction {}
// SAFETY: as above.
unsafe impl Sync for NvFunction {}

impl FunctionBackend for NvFunction {
    fn as_any(&self) -> &dyn Any {
        self
    }

    fn attribute(&self, attr: FunctionAttribute) -> Result<i32> {
        // SAFETY: a live function (the front API holds its module).
        unsafe { self.d.func_get_attribute(self.f, attr.as_raw()) }.check("cuFuncGetAttribute")
    }

    fn set_attribute(&self, attr: FunctionAttribute, value: i32) -> Result<()> {
        // SAFETY: a live function (the front API holds its module).
        unsafe { self.d.func_set_attribute(self.f, attr.as_raw(), value) }
            .check("cuFuncSetAttribute")
    }

    fn param_layout(&self) -> Option<KernelSignature> {
        self.layout.clone()
    }
}

struct NvStream {
    ctx: Ctx,
    stream: CUstream,
    owned: bool,
}

// SAFETY: stream handles may be used from any thread.
unsafe impl Send for NvStream {}
// SAFETY: as above.
unsafe impl Sync for NvStream {}

impl Drop for NvStream {
    fn drop(&mut self) {
        if self.owned {
            if let Ok(_b) = self.ctx.bind() {
                // SAFETY: this object owns the stream; work still queued completes first.
                let _ = unsafe { self.ctx.d.stream_destroy(self.stream) };
            }
        }
    }
}

impl NvStream {
    fn sync_raw(&self) -> Result<()> {
        // SAFETY: a live stream of the bound context (or the null stream).
        unsafe { self.ctx.d.stream_synchronize(self.stream) }.check("cuStreamSynchronize")
    }
}

impl StreamBackend for NvStream {
    fn synchronize(&self) -> Result<()> {
        let _b = self.ctx.bind()?;
        self.sync_raw()
    }

    fn query(&self) -> Result<bool> {
        let _b = self.ctx.bind()?;
        // SAFETY: a live stream of the bound context.
        unsafe { self.ctx.d.stream_query(self.stream) }.check("cuStreamQuery")
    }

    fn memcpy_htod(&self, dst: u64, src: &[u8]) -> Result<()> {
        let _b = self.ctx.bind()?;
        // SAFETY: `dst` is the device range of a buffer the caller holds. From pageable memory
        // the driver stages `src` before returning; page-locked memory is read later, so that
        // case waits below before the borrow of `src` ends.
        unsafe { self.ctx.d.memcpy_htod_async(dst, src, self.stream) }
            .check("cuMemcpyHtoDAsync")?;
        if self.ctx.d.pointer_memory_type(src.as_ptr() as u64) == Ok(sys::CU_MEMORYTYPE_HOST) {
            self.sync_raw()?;
        }
        Ok(())
    }

    fn memcpy_htod_pinned(&self, dst: u64, src: &[u8]) -> Result<()> {
        let _b = self.ctx.bind()?;
        // SAFETY: `dst` is the device range of a buffer the caller holds; `src` is page-locked
        // memory its owner keeps in place and unchanged until an event recorded after this
        // copy has completed.
        unsafe { self.ctx.d.memcpy_htod_async(dst, src, self.stream) }.check("cuMemcpyHtoDAsync")
    }

    fn memcpy_dtoh(&self, dst: &mut [u8], src: u64) -> Result<()> {
        let _b = self.ctx.bind()?;
        // SAFETY: `dst` stays exclusively borrowed until the synchronisation below has
        // completed the copy.
        unsafe { self.ctx.d.memcpy_dtoh_async(dst, src, self.stream) }
            .check("cuMemcpyDtoHAsync")?;
        self.sync_raw()
    }

    fn memcpy_dtoh_pinned(
        &self,
        dst: &mut dyn HostAlloc,
        offset: usize,
        src: u64,
        bytes: usize,
    ) -> Result<Pending> {
        let target = dst
            .bytes_mut()
            .get_mut(offset..offset + bytes)
            .ok_or_else(|| Error::invalid_value("asynchronous copy out of range"))?;
        let _b = self.ctx.bind()?;
        let ev = NvEvent::new(self.ctx, EventFlags::DISABLE_TIMING)?;
        // SAFETY: `target` is page-locked memory whose owner keeps it in place and hands it
        // out again only once the event recorded below has completed.
        unsafe { self.ctx.d.memcpy_dtoh_async(target, src, self.stream) }
            .check("cuMemcpyDtoHAsync")?;
        // SAFETY: live event and stream of the bound context.
        unsafe { self.ctx.d.event_record(ev.event, self.stream) }.check("cuEventRecord")?;
        Ok(Pending::Event(Arc::new(ev)))
    }

    fn memcpy_dtod(&self, dst: u64, src: u64, bytes: u64) -> Result<()> {
        let _b = self.ctx.bind()?;
        // SAFETY: device ranges of buffers the caller holds.
        unsafe {
            self.ctx
                .d
                .memcpy_dtod_async(dst, src, bytes as usize, self.stream)
        }
        .check("cuMemcpyDtoDAsync")
    }

    fn memset(&self, dst: u64, fill: Fill, count: u64) -> Result<()> {
        let _b = self.ctx.bind()?;
        let (d, n, s) = (self.ctx.d, count as usize, self.stream);
        // SAFETY: the device range of a buffer the caller holds exclusively.
        let r = unsafe {
            match fill {
                Fill::U8(v) => d.memset_d8_async(dst, v, n, s),
                Fill::U16(v) => d.memset_d16_async(dst, v, n, s),
                Fill::U32(v) => d.memset_d32_async(dst, v, n, s),
            }
        };
        r.check("cuMemsetD*Async")
    }

    fn launch(&self, f: &dyn FunctionBackend, cfg: &LaunchConfig, args: &PackedArgs) -> Result<()> {
        let f: &NvFunction = downcast(f.as_any(), "function")?;
        // With a known layout the driver reads exactly each parameter's size at its offset,
        // straight from the packed arguments. Without one, each argument gets a zero-padded
        // slot as large as any parameter the classic limit allows, so the driver cannot read
        // past what we own.
        let padded: Vec<u8>;
        let count = args.param_count();
        let known = args.layout_known();
        let base: *const u8 = if known {
            args.bytes().as_ptr()
        } else {
            let bytes = args.bytes();
            let mut slots = vec![0u8; count * UNKNOWN_PARAM_SLOT];
            for (i, (off, size)) in args.params().enumerate() {
                let (off, n) = (off as usize, (size as usize).min(UNKNOWN_PARAM_SLOT));
                let slot = i * UNKNOWN_PARAM_SLOT;
                slots[slot..slot + n].copy_from_slice(&bytes[off..off + n]);
            }
            padded = slots;
            padded.as_ptr()
        };
        // One pointer per parameter, on the stack for the usual parameter counts. The driver
        // only reads through them (it copies the parameters at launch).
        let mut inline = [std::ptr::null_mut::<c_void>(); INLINE_PARAMS];
        let mut spilled = Vec::new();
        let ptrs: &mut [*mut c_void] = if count <= INLINE_PARAMS {
            &mut inline[..count]
        } else {
            spilled.resize(count, std::ptr::null_mut());
            &mut spilled
        };
        for (i, (p, (off, _))) in ptrs.iter_mut().zip(args.params()).enumerate() {
            let off = if known {
                off as usize
            } else {
                i * UNKNOWN_PARAM_SLOT
            };
            *p = base.wrapping_add(off).cast_mut().cast();
        }
        let _b = self.ctx.bind()?;
        // SAFETY: `ptrs` holds one pointer per parameter into `args.bytes` (or `padded`), each
        // with at least the parameter's size of initialised bytes, alive for the call; the
        // driver reads and copies them, never writes.
        // Device addresses in the arguments are the kernel's to use, as in CUDA; on a GPU a
        // bad one faults the context, not the host.
        unsafe {
            self.ctx.d.launch_kernel(
                f.f,
                [cfg.grid.x, cfg.grid.y, cfg.grid.z],
                [cfg.block.x, cfg.block.y, cfg.block.z],
                cfg.shared_bytes,
                self.stream,
                ptrs,
            )
        }
        .check("cuLaunchKernel")
    }

    fn record(&self, event: &dyn EventBackend) -> Result<()> {
        let e: &NvEvent = downcast(event.as_any(), "event")?;
        let _b = self.ctx.bind()?;
        // SAFETY: live event and stream of the bound context.
        unsafe { self.ctx.d.event_record(e.event, self.stream) }.check("cuEventRecord")
    }

    fn wait_event(&self, event: &dyn EventBackend) -> Result<()> {
        let e: &NvEvent = downcast(event.as_any(), "event")?;
        let _b = self.ctx.bind()?;
        // SAFETY: live event and stream of the bound context.
        unsafe { self.ctx.d.stream_wait_event(self.stream, e.event, 0) }.check("cuStreamWaitEvent")
    }

    fn host_func(&self, f: Box<dyn FnOnce() + Send + 'static>) -> Result<()> {
        let _b = self.ctx.bind()?;
        // SAFETY: a live stream of the bound context.
        unsafe { self.ctx.d.launch_host_func(self.stream, f) }.check("cuLaunchHostFunc")
    }

    fn priority(&self) -> Result<i32> {
        let _b = self.ctx.bind()?;
        // SAFETY: a live stream of the bound context.
        unsafe { self.ctx.d.stream_get_priority(self.stream) }.check("cuStreamGetPriority")
    }
}

struct NvEvent {
    ctx: Ctx,
    event: CUevent,
}

// SAFETY: event handles may be used from any thread.
unsafe impl Send for NvEvent {}
// SAFETY: as above.
unsafe impl Sync for NvEvent {}

impl NvEvent {
    fn new(ctx: Ctx, flags: EventFlags) -> Result<NvEvent> {
        let _b = ctx.bind()?;
        let event = ctx.d.event_create(flags.bits()).check("cuEventCreate")?;
        Ok(NvEvent { ctx, event })
    }
}

impl Drop for NvEvent {
    fn drop(&mut self) {
        // SAFETY: this object owns the event.
        let _ = unsafe { self.ctx.d.event_destroy(self.event) };
    }
}

impl EventBackend for NvEvent {
    fn as_any(&self) -> &dyn Any {
        self
    }

    fn synchronize(&self) -> Result<()> {
        // SAFETY: a live event.
        unsafe { self.ctx.d.event_synchronize(self.event) }.check("cuEventSynchronize")
    }

    fn query(&self) -> Result<bool> {
        // SAFETY: a live event.
        unsafe { self.ctx.d.event_query(self.event) }.check("cuEventQuery")
    }

    fn elapsed_ms(&self, end: &dyn EventBackend) -> Result<f32> {
        let end: &NvEvent = downcast(end.as_any(), "event")?;
        // SAFETY: both events are live.
        unsafe { self.ctx.d.event_elapsed_time(self.event, end.event) }.check("cuEventElapsedTime")
    }
}

/// Page-locked memory from `cuMemHostAlloc`.
struct NvHostAlloc {
    d: &'static Driver,
    ptr: *mut u8,
    len: usize,
}

// SAFETY: plain host memory owned by this object, like a Box<[u8]>.
unsafe impl Send for NvHostAlloc {}
// SAFETY: as above; shared access is read-only.
unsafe impl Sync for NvHostAlloc {}

impl HostAlloc for NvHostAlloc {
    fn bytes(&self) -> &[u8] {
        if self.len == 0 {
            return &[];
        }
        // SAFETY: `ptr` addresses `len` initialised bytes owned by this object (the front API
        // zeroes them first through `bytes_mut`, and cuMemHostAlloc memory is readable), and
        // the borrow of `self` bounds the slice's life.
        unsafe { std::slice::from_raw_parts(self.ptr, self.len) }
    }

    fn bytes_mut(&mut self) -> &mut [u8] {
        if self.len == 0 {
            return &mut [];
        }
        // SAFETY: as above, with exclusive access through `&mut self`.
        unsafe { std::slice::from_raw_parts_mut(self.ptr, self.len) }
    }
}

impl Drop for NvHostAlloc {
    fn drop(&mut self) {
        if !self.ptr.is_null() {
            // SAFETY: allocated by cuMemHostAlloc and freed once; pending copies into it were
            // waited for by the owning buffer.
            let _ = unsafe { self.d.mem_free_host(self.ptr.cast()) };
        }
    }
}

/// A `cuMemHostRegister` registration, undone on drop.
struct HostRegistration {
    d: &'static Driver,
    ptr: *mut c_void,
}

// SAFETY: only the address is kept, to unregister it.
unsafe impl Send for HostRegistration {}
// SAFETY: as above.
unsafe impl Sync for HostRegistration {}

impl Drop for HostRegistration {
    fn drop(&mut self) {
        // SAFETY: the range was registered by this object and is still allocated (the
        // registration is dropped before the memory).
        let _ = unsafe { self.d.mem_host_unregister(self.ptr) };
    }
}
