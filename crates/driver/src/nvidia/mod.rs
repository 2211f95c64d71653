//! The NVIDIA platform: the driver API over libcuda, loaded at run time.
//!
//! `sys` holds the raw declarations and the loader, `result` thin wrappers; this module
//! implements the platform trait on top. Every call that needs a context binds it to the
//! calling thread for the duration of the call (pushing it onto libcuda's stack when it is
//! not already current), so handles work from any thread, as in CUDA.

pub mod result;
pub mod sys;

use std::any::Any;
use std::ffi::{c_int, c_uint, c_void, CString};
use std::ptr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

use crate::device::DeviceAttribute;
use crate::error::{Error, ErrorCode, Result};
use crate::launch::{LaunchConfig, PackedArgs};
use crate::module::{ptx_text, FunctionAttribute, ImageKind, JitOptions, KernelSignature};
use crate::platform::{
    downcast, ContextBackend, EventBackend, Fill, FunctionBackend, HostAlloc, ModuleBackend,
    Pending, PlatformBackend, StreamBackend,
};
use crate::{ContextFlags, EventFlags, MemoryKind, ParamLayout, Platform, StreamFlags};

use sys::{CUcontext, CUdevice, CUevent, CUfunction, CUmodule, CUresult, CUstream, Driver};

/// `cuCtxCreate_v3`: the entry point `cuCtxCreate` names at the ABI of CUDA 11.4 to 12.x.
type CtxCreateV3 =
    unsafe extern "C" fn(*mut CUcontext, *mut c_void, c_int, c_uint, CUdevice) -> CUresult;

/// Bytes of JIT log kept from a module load.
const JIT_LOG_BYTES: usize = 16 * 1024;

/// Each parameter's slot when a kernel's layout is unknown: the classic parameter limit, so
/// the driver never reads past what we pass whatever size it expects.
const UNKNOWN_PARAM_SLOT: usize = 4096;

fn cu_error(r: CUresult, what: &str) -> Error {
    match ErrorCode::from_raw(r.0) {
        Some(code) => Error::new(code, what),
        None => Error::new(ErrorCode::Unknown, format!("{what}: CUresult {}", r.0)),
    }
}

fn check(r: CUresult, what: &str) -> Result<()> {
    if r == CUresult::CUDA_SUCCESS {
        Ok(())
    } else {
        Err(cu_error(r, what))
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
        // SAFETY: cuInit takes a flags word (0) and has no other preconditions.
        let r = unsafe { (d.cuInit)(0) };
        check(r, "cuInit").map_err(|e| e.to_string())?;
        let mut n: c_int = 0;
        // SAFETY: `n` is valid for writes.
        check(unsafe { (d.cuDeviceGetCount)(&mut n) }, "cuDeviceGetCount")
            .map_err(|e| e.to_string())?;
        let mut devices = Vec::new();
        for i in 0..n {
            let mut dev: CUdevice = 0;
            // SAFETY: `dev` is valid for writes; `i` is below the device count.
            check(unsafe { (d.cuDeviceGet)(&mut dev, i) }, "cuDeviceGet")
                .map_err(|e| e.to_string())?;
            devices.push(dev);
        }
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
        let dev = self.dev(dev)?;
        let mut buf = [0u8; 256];
        // SAFETY: `buf` holds 256 writable bytes and its length is passed.
        let r = unsafe { (self.d.cuDeviceGetName)(buf.as_mut_ptr().cast(), 256, dev) };
        check(r, "cuDeviceGetName")?;
        let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
        Ok(String::from_utf8_lossy(&buf[..end]).into_owned())
    }

    fn device_uuid(&self, dev: usize) -> Result<[u8; 16]> {
        let dev = self.dev(dev)?;
        let mut u = sys::CUuuid { bytes: [0; 16] };
        check(
            // SAFETY: `u` is valid for writes.
            unsafe { (self.d.cuDeviceGetUuid)(&mut u, dev) },
            "cuDeviceGetUuid",
        )?;
        Ok(u.bytes)
    }

    fn device_total_memory(&self, dev: usize) -> Result<u64> {
        let dev = self.dev(dev)?;
        let mut bytes = 0usize;
        check(
            // SAFETY: `bytes` is valid for writes.
            unsafe { (self.d.cuDeviceTotalMem)(&mut bytes, dev) },
            "cuDeviceTotalMem",
        )?;
        Ok(bytes as u64)
    }

    fn device_attribute(&self, dev: usize, attr: DeviceAttribute) -> Result<i32> {
        let dev = self.dev(dev)?;
        let mut v: c_int = 0;
        // SAFETY: `v` is valid for writes; the attribute number is a CUdevice_attribute.
        let r = unsafe { (self.d.cuDeviceGetAttribute)(&mut v, attr.as_raw(), dev) };
        check(r, attr.name())?;
        Ok(v)
    }

    fn create_context(&self, dev: usize, flags: ContextFlags) -> Result<Box<dyn ContextBackend>> {
        let dev = self.dev(dev)?;
        let mut ctx: CUcontext = ptr::null_mut();
        // SAFETY: `cuCtxCreate` asked for at the ABI of CUDA 12.0 is `cuCtxCreate_v3`
        // (CUDA 11.4), which takes execution-affinity parameters before the flags; the
        // pointer is reinterpreted with that prototype.
        let create: CtxCreateV3 = unsafe { std::mem::transmute(self.d.cuCtxCreate) };
        // SAFETY: `ctx` is valid for writes; no affinity parameters (null, 0).
        let r = unsafe { create(&mut ctx, ptr::null_mut(), 0, flags.bits(), dev) };
        check(r, "cuCtxCreate")?;
        // cuCtxCreate makes the new context current; ferrocuda leaves the stack unchanged.
        let mut popped: CUcontext = ptr::null_mut();
        check(
            // SAFETY: the context just pushed is on top of this thread's stack.
            unsafe { (self.d.cuCtxPopCurrent)(&mut popped) },
            "cuCtxPopCurrent",
        )?;
        Ok(self.context(ctx, dev, false))
    }

    fn primary_context_retain(&self, dev: usize) -> Result<Box<dyn ContextBackend>> {
        let dev = self.dev(dev)?;
        let mut ctx: CUcontext = ptr::null_mut();
        check(
            // SAFETY: `ctx` is valid for writes.
            unsafe { (self.d.cuDevicePrimaryCtxRetain)(&mut ctx, dev) },
            "cuDevicePrimaryCtxRetain",
        )?;
        Ok(self.context(ctx, dev, true))
    }

    fn primary_context_state(&self, dev: usize) -> Result<(ContextFlags, bool)> {
        let dev = self.dev(dev)?;
        let (mut flags, mut active): (c_uint, c_int) = (0, 0);
        check(
            // SAFETY: both outputs are valid for writes.
            unsafe { (self.d.cuDevicePrimaryCtxGetState)(dev, &mut flags, &mut active) },
            "cuDevicePrimaryCtxGetState",
        )?;
        Ok((ContextFlags(flags), active != 0))
    }

    fn primary_context_set_flags(&self, dev: usize, flags: ContextFlags) -> Result<()> {
        let dev = self.dev(dev)?;
        // SAFETY: plain value arguments.
        check(
            unsafe { (self.d.cuDevicePrimaryCtxSetFlags)(dev, flags.bits()) },
            "cuDevicePrimaryCtxSetFlags",
        )
    }

    fn primary_context_reset(&self, dev: usize) -> Result<()> {
        let dev = self.dev(dev)?;
        // SAFETY: plain value argument; handles into the old context become invalid, which
        // the front API accounts for (buffers of an earlier epoch are not freed).
        check(
            unsafe { (self.d.cuDevicePrimaryCtxReset)(dev) },
            "cuDevicePrimaryCtxReset",
        )
    }

    fn pointer_kind(&self, addr: u64) -> Option<(MemoryKind, Option<usize>)> {
        let mut ty: c_uint = 0;
        // SAFETY: the MEMORY_TYPE attribute is a 32-bit value written to `ty`.
        let r = unsafe {
            (self.d.cuPointerGetAttribute)(
                (&mut ty as *mut c_uint).cast(),
                sys::CU_POINTER_ATTRIBUTE_MEMORY_TYPE,
                addr,
            )
        };
        if r != CUresult::CUDA_SUCCESS {
            return None;
        }
        match ty {
            sys::CU_MEMORYTYPE_HOST => Some((MemoryKind::Host, None)),
            sys::CU_MEMORYTYPE_DEVICE | sys::CU_MEMORYTYPE_UNIFIED => {
                let mut ordinal: c_int = -1;
                // SAFETY: the DEVICE_ORDINAL attribute is a 32-bit int written to `ordinal`.
                let r = unsafe {
                    (self.d.cuPointerGetAttribute)(
                        (&mut ordinal as *mut c_int).cast(),
                        sys::CU_POINTER_ATTRIBUTE_DEVICE_ORDINAL,
                        addr,
                    )
                };
                let local = (r == CUresult::CUDA_SUCCESS)
                    .then(|| self.devices.iter().position(|&d| d == ordinal))
                    .flatten();
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
        let mut cur: CUcontext = ptr::null_mut();
        check(
            // SAFETY: `cur` is valid for writes.
            unsafe { (self.d.cuCtxGetCurrent)(&mut cur) },
            "cuCtxGetCurrent",
        )?;
        if cur == self.ctx {
            return Ok(Bound {
                d: self.d,
                pushed: false,
            });
        }
        check(
            // SAFETY: `self.ctx` is a live context (its owner keeps it alive).
            unsafe { (self.d.cuCtxPushCurrent)(self.ctx) },
            "cuCtxPushCurrent",
        )?;
        Ok(Bound {
            d: self.d,
            pushed: true,
        })
    }
}

impl Drop for Bound {
    fn drop(&mut self) {
        if self.pushed {
            let mut c: CUcontext = ptr::null_mut();
            // SAFETY: pops the context `bind` pushed on this thread.
            let _ = unsafe { (self.d.cuCtxPopCurrent)(&mut c) };
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
                (d.cuDevicePrimaryCtxRelease)(self.ctx.dev)
            } else {
                (d.cuCtxDestroy)(self.ctx.ctx)
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
        let mut f: c_uint = 0;
        check(
            // SAFETY: `f` is valid for writes; the context is current.
            unsafe { (self.ctx.d.cuCtxGetFlags)(&mut f) },
            "cuCtxGetFlags",
        )?;
        Ok(ContextFlags(f))
    }

    fn push_current(&self) -> Result<()> {
        // SAFETY: a live context.
        check(
            unsafe { (self.ctx.d.cuCtxPushCurrent)(self.ctx.ctx) },
            "cuCtxPushCurrent",
        )
    }

    fn detach(&self) {
        self.detached.store(true, Ordering::SeqCst);
    }

    fn pop_current(&self) -> Result<()> {
        let mut c: CUcontext = ptr::null_mut();
        // SAFETY: `c` is valid for writes.
        check(
            unsafe { (self.ctx.d.cuCtxPopCurrent)(&mut c) },
            "cuCtxPopCurrent",
        )
    }

    fn synchronize(&self) -> Result<()> {
        let _b = self.ctx.bind()?;
        // SAFETY: the context is current.
        check(
            unsafe { (self.ctx.d.cuCtxSynchronize)() },
            "cuCtxSynchronize",
        )
    }

    fn mem_alloc(&self, bytes: u64) -> Result<u64> {
        let _b = self.ctx.bind()?;
        let bytes = usize::try_from(bytes)
            .map_err(|_| Error::new(ErrorCode::OutOfMemory, "allocation too large"))?;
        let mut p: sys::CUdeviceptr = 0;
        check(
            // SAFETY: `p` is valid for writes; the context is current.
            unsafe { (self.ctx.d.cuMemAlloc)(&mut p, bytes) },
            &format!("cuMemAlloc({bytes} bytes)"),
        )?;
        Ok(p)
    }

    fn mem_free(&self, addr: u64) -> Result<()> {
        let _b = self.ctx.bind()?;
        // SAFETY: `addr` came from cuMemAlloc in this context and is freed once.
        check(unsafe { (self.ctx.d.cuMemFree)(addr) }, "cuMemFree")
    }

    fn mem_get_info(&self) -> Result<(u64, u64)> {
        let _b = self.ctx.bind()?;
        let (mut free, mut total) = (0usize, 0usize);
        check(
            // SAFETY: both outputs are valid for writes.
            unsafe { (self.ctx.d.cuMemGetInfo)(&mut free, &mut total) },
            "cuMemGetInfo",
        )?;
        Ok((free as u64, total as u64))
    }

    fn memcpy_htod(&self, dst: u64, src: &[u8]) -> Result<()> {
        let _b = self.ctx.bind()?;
        // SAFETY: `src` is readable for its length; the driver checks `dst`.
        check(
            unsafe { (self.ctx.d.cuMemcpyHtoD)(dst, src.as_ptr().cast(), src.len()) },
            "cuMemcpyHtoD",
        )
    }

    fn memcpy_dtoh(&self, dst: &mut [u8], src: u64) -> Result<()> {
        let _b = self.ctx.bind()?;
        // SAFETY: `dst` is writable for its length and exclusively borrowed; the copy is
        // complete when the call returns.
        check(
            unsafe { (self.ctx.d.cuMemcpyDtoH)(dst.as_mut_ptr().cast(), src, dst.len()) },
            "cuMemcpyDtoH",
        )
    }

    fn memcpy_dtod(&self, dst: u64, src: u64, bytes: u64) -> Result<()> {
        let _b = self.ctx.bind()?;
        // SAFETY: device addresses only; the driver checks them.
        check(
            unsafe { (self.ctx.d.cuMemcpyDtoD)(dst, src, bytes as usize) },
            "cuMemcpyDtoD",
        )
    }

    fn memset(&self, dst: u64, fill: Fill, count: u64) -> Result<()> {
        let _b = self.ctx.bind()?;
        let n = count as usize;
        let d = self.ctx.d;
        // SAFETY: device addresses only; the driver checks them.
        let r = unsafe {
            match fill {
                Fill::U8(v) => (d.cuMemsetD8)(dst, v, n),
                Fill::U16(v) => (d.cuMemsetD16)(dst, v, n),
                Fill::U32(v) => (d.cuMemsetD32)(dst, v, n),
            }
        };
        check(r, "cuMemsetD*")
    }

    fn load_module(&self, image: &[u8], opts: &JitOptions) -> Result<Box<dyn ModuleBackend>> {
        let kind = ImageKind::detect(image)?;
        let _b = self.ctx.bind()?;
        let ptx = match kind {
            ImageKind::Ptx => Some(ptx_text(image)?.to_owned()),
            _ => None,
        };
        // PTX must reach the driver NUL-terminated.
        let owned;
        let data: &[u8] = match &ptx {
            Some(text) => {
                owned = [text.as_bytes(), b"\0"].concat();
                &owned
            }
            None => image,
        };
        let module = load_data_ex(self.ctx.d, data, opts)?;
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
        let mut s: CUstream = ptr::null_mut();
        check(
            // SAFETY: `s` is valid for writes; the context is current.
            unsafe { (self.ctx.d.cuStreamCreateWithPriority)(&mut s, flags.bits(), priority) },
            "cuStreamCreateWithPriority",
        )?;
        Ok(Arc::new(NvStream {
            ctx: self.ctx,
            stream: s,
            owned: true,
        }))
    }

    fn stream_priority_range(&self) -> Result<(i32, i32)> {
        let _b = self.ctx.bind()?;
        let (mut least, mut greatest) = (0, 0);
        check(
            // SAFETY: both outputs are valid for writes.
            unsafe { (self.ctx.d.cuCtxGetStreamPriorityRange)(&mut least, &mut greatest) },
            "cuCtxGetStreamPriorityRange",
        )?;
        Ok((least, greatest))
    }

    fn create_event(&self, flags: EventFlags) -> Result<Arc<dyn EventBackend>> {
        let _b = self.ctx.bind()?;
        let mut e: CUevent = ptr::null_mut();
        check(
            // SAFETY: `e` is valid for writes; the context is current.
            unsafe { (self.ctx.d.cuEventCreate)(&mut e, flags.bits()) },
            "cuEventCreate",
        )?;
        Ok(Arc::new(NvEvent {
            ctx: self.ctx,
            event: e,
        }))
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
        let mut p: *mut c_void = ptr::null_mut();
        check(
            // SAFETY: `p` is valid for writes; the context is current.
            unsafe { (self.ctx.d.cuMemHostAlloc)(&mut p, bytes, sys::CU_MEMHOSTALLOC_PORTABLE) },
            &format!("cuMemHostAlloc({bytes} bytes)"),
        )?;
        Ok(Box::new(NvHostAlloc {
            d: self.ctx.d,
            ptr: p.cast(),
            len: bytes,
        }))
    }

    fn host_register(&self, ptr: usize, len: usize) -> Result<Box<dyn Send + Sync>> {
        let _b = self.ctx.bind()?;
        let p = ptr as *mut c_void;
        check(
            // SAFETY: the caller owns `len` bytes at `ptr` and keeps them in place until the
            // returned registration is dropped.
            unsafe { (self.ctx.d.cuMemHostRegister)(p, len, sys::CU_MEMHOSTREGISTER_PORTABLE) },
            "cuMemHostRegister",
        )?;
        Ok(Box::new(HostRegistration {
            d: self.ctx.d,
            ptr: p,
        }))
    }
}

/// Loads an image with `cuModuleLoadDataEx`, capturing the JIT's logs into the error.
fn load_data_ex(d: &'static Driver, data: &[u8], opts: &JitOptions) -> Result<CUmodule> {
    let mut err_log = vec![0u8; JIT_LOG_BYTES];
    let mut info_log = vec![0u8; JIT_LOG_BYTES];
    let mut keys: Vec<sys::CUjit_option> = Vec::new();
    let mut vals: Vec<*mut c_void> = Vec::new();
    let mut push = |k, v: *mut c_void| {
        keys.push(k);
        vals.push(v);
    };
    // Integer-valued options travel in the pointer-sized slot itself, as cuda.h specifies.
    let int = |v: u32| v as usize as *mut c_void;
    push(sys::CU_JIT_ERROR_LOG_BUFFER, err_log.as_mut_ptr().cast());
    push(
        sys::CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES,
        int(JIT_LOG_BYTES as u32),
    );
    push(sys::CU_JIT_INFO_LOG_BUFFER, info_log.as_mut_ptr().cast());
    push(
        sys::CU_JIT_INFO_LOG_BUFFER_SIZE_BYTES,
        int(JIT_LOG_BYTES as u32),
    );
    if let Some(r) = opts.max_registers {
        push(sys::CU_JIT_MAX_REGISTERS, int(r));
    }
    if let Some(t) = opts.threads_per_block {
        push(sys::CU_JIT_THREADS_PER_BLOCK, int(t));
    }
    if let Some(o) = opts.optimization_level {
        push(sys::CU_JIT_OPTIMIZATION_LEVEL, int(o));
    }
    if opts.generate_debug_info {
        push(sys::CU_JIT_GENERATE_DEBUG_INFO, int(1));
    }
    if opts.generate_line_info {
        push(sys::CU_JIT_GENERATE_LINE_INFO, int(1));
    }
    if opts.log_verbose {
        push(sys::CU_JIT_LOG_VERBOSE, int(1));
    }
    let mut module: CUmodule = ptr::null_mut();
    // SAFETY: `data` is a complete image (PTX NUL-terminated); the option arrays have equal
    // length and the log buffers stay alive and writable for their declared sizes.
    let r = unsafe {
        (d.cuModuleLoadDataEx)(
            &mut module,
            data.as_ptr().cast(),
            keys.len() as c_uint,
            keys.as_mut_ptr(),
            vals.as_mut_ptr(),
        )
    };
    if r == CUresult::CUDA_SUCCESS {
        return Ok(module);
    }
    let text = |b: &[u8]| {
        let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
        String::from_utf8_lossy(&b[..end]).trim().to_owned()
    };
    let mut log = text(&err_log);
    let info = text(&info_log);
    if !info.is_empty() {
        if !log.is_empty() {
            log.push('\n');
        }
        log.push_str(&info);
    }
    let code = ErrorCode::from_raw(r.0).unwrap_or(ErrorCode::Unknown);
    Err(Error::Jit {
        code,
        message: "cuModuleLoadDataEx".into(),
        log,
    })
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
            let _ = unsafe { (self.ctx.d.cuModuleUnload)(self.module) };
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
        let info = self.ctx.d.cuFuncGetParamInfo?;
        let mut params = Vec::new();
        for i in 0.. {
            let (mut off, mut size) = (0usize, 0usize);
            // SAFETY: both outputs are valid for writes; `f` is a live function.
            let r = unsafe { info(f, i, &mut off, &mut size) };
            if r == CUresult::CUDA_ERROR_INVALID_VALUE {
                break;
            }
            if r != CUresult::CUDA_SUCCESS {
                return None;
            }
            params.push(ParamLayout {
                name: format!("param{i}"),
                offset: off as u32,
                size: size as u32,
                align: 1,
            });
        }
        Some(KernelSignature {
            name: name.to_owned(),
            params,
        })
    }
}

impl ModuleBackend for NvModule {
    fn function(&self, name: &str) -> Result<Arc<dyn FunctionBackend>> {
        let c = CString::new(name)
            .map_err(|_| Error::new(ErrorCode::NotFound, format!("no kernel named {name:?}")))?;
        let _b = self.ctx.bind()?;
        let mut f: CUfunction = ptr::null_mut();
        check(
            // SAFETY: `f` is valid for writes; `c` is NUL-terminated and outlives the call.
            unsafe { (self.ctx.d.cuModuleGetFunction)(&mut f, self.module, c.as_ptr()) },
            &format!("no kernel named `{name}` in the module"),
        )?;
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
        let c = CString::new(name)
            .map_err(|_| Error::new(ErrorCode::NotFound, format!("no global named {name:?}")))?;
        let _b = self.ctx.bind()?;
        let (mut p, mut bytes): (sys::CUdeviceptr, usize) = (0, 0);
        check(
            // SAFETY: outputs valid for writes; `c` is NUL-terminated.
            unsafe { (self.ctx.d.cuModuleGetGlobal)(&mut p, &mut bytes, self.module, c.as_ptr()) },
            &format!("no global variable named `{name}` in the module"),
        )?;
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
        let mut v: c_int = 0;
        check(
            // SAFETY: `v` is valid for writes; `f` is a live function.
            unsafe { (self.d.cuFuncGetAttribute)(&mut v, attr.as_raw(), self.f) },
            "cuFuncGetAttribute",
        )?;
        Ok(v)
    }

    fn set_attribute(&self, attr: FunctionAttribute, value: i32) -> Result<()> {
        // SAFETY: plain values; `f` is a live function.
        check(
            unsafe { (self.d.cuFuncSetAttribute)(self.f, attr.as_raw(), value) },
            "cuFuncSetAttribute",
        )
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
                let _ = unsafe { (self.ctx.d.cuStreamDestroy)(self.stream) };
            }
        }
    }
}

/// Runs a boxed host function from a libcuda callback thread.
unsafe extern "C" fn host_trampoline(user: *mut c_void) {
    // SAFETY: `user` is the Box leaked by `host_func`, handed to exactly one callback.
    let f = unsafe { Box::from_raw(user.cast::<Box<dyn FnOnce() + Send>>()) };
    // A panic must not unwind into libcuda.
    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
}

impl NvStream {
    fn is_pinned(&self, p: *const u8) -> bool {
        let mut ty: c_uint = 0;
        // SAFETY: the MEMORY_TYPE attribute is a 32-bit value written to `ty`.
        let r = unsafe {
            (self.ctx.d.cuPointerGetAttribute)(
                (&mut ty as *mut c_uint).cast(),
                sys::CU_POINTER_ATTRIBUTE_MEMORY_TYPE,
                p as u64,
            )
        };
        r == CUresult::CUDA_SUCCESS && ty == sys::CU_MEMORYTYPE_HOST
    }

    fn sync_raw(&self) -> Result<()> {
        // SAFETY: a live stream (or the null stream of a bound context).
        check(
            unsafe { (self.ctx.d.cuStreamSynchronize)(self.stream) },
            "cuStreamSynchronize",
        )
    }
}

impl StreamBackend for NvStream {
    fn synchronize(&self) -> Result<()> {
        let _b = self.ctx.bind()?;
        self.sync_raw()
    }

    fn query(&self) -> Result<bool> {
        let _b = self.ctx.bind()?;
        // SAFETY: a live stream.
        let r = unsafe { (self.ctx.d.cuStreamQuery)(self.stream) };
        match r {
            CUresult::CUDA_SUCCESS => Ok(true),
            CUresult::CUDA_ERROR_NOT_READY => Ok(false),
            other => Err(cu_error(other, "cuStreamQuery")),
        }
    }

    fn memcpy_htod(&self, dst: u64, src: &[u8]) -> Result<()> {
        let _b = self.ctx.bind()?;
        check(
            // SAFETY: `src` is readable for its length. From pageable memory the driver stages
            // the data before returning; page-locked memory is read later, so that case waits
            // below before the borrow ends.
            unsafe {
                (self.ctx.d.cuMemcpyHtoDAsync)(dst, src.as_ptr().cast(), src.len(), self.stream)
            },
            "cuMemcpyHtoDAsync",
        )?;
        if self.is_pinned(src.as_ptr()) {
            self.sync_raw()?;
        }
        Ok(())
    }

    fn memcpy_dtoh(&self, dst: &mut [u8], src: u64) -> Result<()> {
        let _b = self.ctx.bind()?;
        check(
            // SAFETY: `dst` is writable and exclusively borrowed until the synchronisation below
            // has completed the copy.
            unsafe {
                (self.ctx.d.cuMemcpyDtoHAsync)(dst.as_mut_ptr().cast(), src, dst.len(), self.stream)
            },
            "cuMemcpyDtoHAsync",
        )?;
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
        check(
            // SAFETY: `target` is page-locked memory that its owner keeps in place and does not
            // hand out until the event recorded below has completed.
            unsafe {
                (self.ctx.d.cuMemcpyDtoHAsync)(target.as_mut_ptr().cast(), src, bytes, self.stream)
            },
            "cuMemcpyDtoHAsync",
        )?;
        check(
            // SAFETY: live event and stream.
            unsafe { (self.ctx.d.cuEventRecord)(ev.event, self.stream) },
            "cuEventRecord",
        )?;
        Ok(Pending::Event(Arc::new(ev)))
    }

    fn memcpy_dtod(&self, dst: u64, src: u64, bytes: u64) -> Result<()> {
        let _b = self.ctx.bind()?;
        // SAFETY: device addresses only.
        check(
            unsafe { (self.ctx.d.cuMemcpyDtoDAsync)(dst, src, bytes as usize, self.stream) },
            "cuMemcpyDtoDAsync",
        )
    }

    fn memset(&self, dst: u64, fill: Fill, count: u64) -> Result<()> {
        let _b = self.ctx.bind()?;
        let (d, n, s) = (self.ctx.d, count as usize, self.stream);
        // SAFETY: device addresses only.
        let r = unsafe {
            match fill {
                Fill::U8(v) => (d.cuMemsetD8Async)(dst, v, n, s),
                Fill::U16(v) => (d.cuMemsetD16Async)(dst, v, n, s),
                Fill::U32(v) => (d.cuMemsetD32Async)(dst, v, n, s),
            }
        };
        check(r, "cuMemsetD*Async")
    }

    fn launch(&self, f: &dyn FunctionBackend, cfg: &LaunchConfig, args: &PackedArgs) -> Result<()> {
        let f: &NvFunction = downcast(f.as_any(), "function")?;
        // With a known layout the driver reads exactly each parameter's size at its offset.
        // Without one, each argument gets a zero-padded slot as large as any parameter the
        // classic limit allows, so the driver cannot read past what we own.
        let mut padded;
        let base: *mut u8 = if args.layout_known {
            args.bytes.as_ptr().cast_mut()
        } else {
            padded = vec![0u8; args.params.len() * UNKNOWN_PARAM_SLOT];
            for (i, &(off, size)) in args.params.iter().enumerate() {
                let (off, size) = (off as usize, size as usize);
                let slot = i * UNKNOWN_PARAM_SLOT;
                let n = size.min(UNKNOWN_PARAM_SLOT);
                padded[slot..slot + n].copy_from_slice(&args.bytes[off..off + n]);
            }
            padded.as_mut_ptr()
        };
        let mut ptrs: Vec<*mut c_void> = (0..args.params.len())
            .map(|i| {
                let off = if args.layout_known {
                    args.params[i].0 as usize
                } else {
                    i * UNKNOWN_PARAM_SLOT
                };
                base.wrapping_add(off).cast()
            })
            .collect();
        let _b = self.ctx.bind()?;
        // SAFETY: every pointer addresses at least the parameter's size of initialised bytes
        // that outlive the call (the driver copies them before returning).
        let r = unsafe {
            (self.ctx.d.cuLaunchKernel)(
                f.f,
                cfg.grid.x,
                cfg.grid.y,
                cfg.grid.z,
                cfg.block.x,
                cfg.block.y,
                cfg.block.z,
                cfg.shared_bytes,
                self.stream,
                if ptrs.is_empty() {
                    ptr::null_mut()
                } else {
                    ptrs.as_mut_ptr()
                },
                ptr::null_mut(),
            )
        };
        check(r, "cuLaunchKernel")
    }

    fn record(&self, event: &dyn EventBackend) -> Result<()> {
        let e: &NvEvent = downcast(event.as_any(), "event")?;
        let _b = self.ctx.bind()?;
        // SAFETY: live event and stream.
        check(
            unsafe { (self.ctx.d.cuEventRecord)(e.event, self.stream) },
            "cuEventRecord",
        )
    }

    fn wait_event(&self, event: &dyn EventBackend) -> Result<()> {
        let e: &NvEvent = downcast(event.as_any(), "event")?;
        let _b = self.ctx.bind()?;
        // SAFETY: live event and stream.
        check(
            unsafe { (self.ctx.d.cuStreamWaitEvent)(self.stream, e.event, 0) },
            "cuStreamWaitEvent",
        )
    }

    fn host_func(&self, f: Box<dyn FnOnce() + Send + 'static>) -> Result<()> {
        let user = Box::into_raw(Box::new(f)).cast::<c_void>();
        let _b = self.ctx.bind()?;
        // SAFETY: the trampoline takes back ownership of `user` exactly once.
        let r = unsafe { (self.ctx.d.cuLaunchHostFunc)(self.stream, Some(host_trampoline), user) };
        if r != CUresult::CUDA_SUCCESS {
            // SAFETY: the driver refused the callback, so `user` is still ours.
            drop(unsafe { Box::from_raw(user.cast::<Box<dyn FnOnce() + Send>>()) });
            return Err(cu_error(r, "cuLaunchHostFunc"));
        }
        Ok(())
    }

    fn priority(&self) -> Result<i32> {
        let _b = self.ctx.bind()?;
        let mut p: c_int = 0;
        check(
            // SAFETY: `p` is valid for writes.
            unsafe { (self.ctx.d.cuStreamGetPriority)(self.stream, &mut p) },
            "cuStreamGetPriority",
        )?;
        Ok(p)
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
        let mut e: CUevent = ptr::null_mut();
        check(
            // SAFETY: `e` is valid for writes.
            unsafe { (ctx.d.cuEventCreate)(&mut e, flags.bits()) },
            "cuEventCreate",
        )?;
        Ok(NvEvent { ctx, event: e })
    }
}

impl Drop for NvEvent {
    fn drop(&mut self) {
        // SAFETY: this object owns the event.
        let _ = unsafe { (self.ctx.d.cuEventDestroy)(self.event) };
    }
}

impl EventBackend for NvEvent {
    fn as_any(&self) -> &dyn Any {
        self
    }

    fn synchronize(&self) -> Result<()> {
        // SAFETY: a live event.
        check(
            unsafe { (self.ctx.d.cuEventSynchronize)(self.event) },
            "cuEventSynchronize",
        )
    }

    fn query(&self) -> Result<bool> {
        // SAFETY: a live event.
        match unsafe { (self.ctx.d.cuEventQuery)(self.event) } {
            CUresult::CUDA_SUCCESS => Ok(true),
            CUresult::CUDA_ERROR_NOT_READY => Ok(false),
            other => Err(cu_error(other, "cuEventQuery")),
        }
    }

    fn elapsed_ms(&self, end: &dyn EventBackend) -> Result<f32> {
        let end: &NvEvent = downcast(end.as_any(), "event")?;
        let mut ms = 0f32;
        check(
            // SAFETY: `ms` is valid for writes; both events are live.
            unsafe { (self.ctx.d.cuEventElapsedTime)(&mut ms, self.event, end.event) },
            "cuEventElapsedTime",
        )?;
        Ok(ms)
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
        // SAFETY: `ptr` addresses `len` bytes owned by this object (zeroed on creation by
        // the front API before any read), and the borrow of `self` bounds the slice's life.
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
            let _ = unsafe { (self.d.cuMemFreeHost)(self.ptr.cast()) };
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
        let _ = unsafe { (self.d.cuMemHostUnregister)(self.ptr) };
    }
}
