//! Thin wrappers over the raw driver entry points: Rust types in and out, `Result<T, CUresult>`.
//!
//! One method on [`Driver`] per entry point. Handles stay raw (the owning types live in the
//! NVIDIA platform module); host memory is passed as slices so sizes cannot disagree. A
//! wrapper is a safe `fn` when nothing the caller passes can make the driver touch memory it
//! should not (device ordinals, sizes, flags, fresh handles it returns); it is an `unsafe fn`
//! when the driver dereferences a caller-supplied handle or device address, or keeps using a
//! host buffer after the call returns. Each `unsafe fn` states its contract under `# Safety`,
//! using two terms defined here:
//!
//! - a *valid handle* was created by this driver, is not yet destroyed or unloaded, and (for
//!   module, function, stream and event handles) belongs to the context current on the calling
//!   thread; the null stream is always valid and means the legacy default stream;
//! - a *valid device range* `[dptr, dptr + n)` lies within memory the caller owns in the
//!   current context (a device allocation, mapped pinned host memory or managed memory) that no
//!   other code accesses concurrently in a conflicting way.

#![warn(missing_docs)]

use std::borrow::Cow;
use std::ffi::{c_char, c_int, c_uint, c_void, CStr, CString};
use std::mem::MaybeUninit;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;
use std::ptr;

use super::sys::*;

/// Size of each JIT log buffer (error and info) passed to the JIT compiler and linker.
pub const JIT_LOG_SIZE: usize = 64 * 1024;

/// Upper bound on kernel parameters probed by [`Driver::func_get_param_info`]: PTX limits the
/// parameter space to 32 764 bytes and every parameter takes at least one.
const MAX_KERNEL_PARAMS: usize = 32_768;

/// Captured output of the JIT compiler or linker.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JitLogs {
    /// Informational messages (with `CU_JIT_LOG_VERBOSE`: registers, spills, …).
    pub info: String,
    /// Error messages: why the PTX did not compile or link.
    pub error: String,
}

/// A JIT compiler/linker option a caller may choose. The log options are always added by
/// [`JitOptions`], so they are not listed here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JitOption {
    /// `CU_JIT_MAX_REGISTERS`: registers per thread.
    MaxRegisters(u32),
    /// `CU_JIT_THREADS_PER_BLOCK`: minimum block size to fit (not with `Target`).
    ThreadsPerBlock(u32),
    /// `CU_JIT_OPTIMIZATION_LEVEL`: 0 to 4 (default 4).
    OptimizationLevel(u32),
    /// `CU_JIT_TARGET_FROM_CUCONTEXT`: compile for the current context's device (default).
    TargetFromContext,
    /// `CU_JIT_TARGET`: compile for this `CU_TARGET_COMPUTE_*`.
    Target(CUjit_target),
    /// `CU_JIT_FALLBACK_STRATEGY`: `CU_PREFER_PTX` or `CU_PREFER_BINARY`.
    FallbackStrategy(CUjit_fallback),
    /// `CU_JIT_GENERATE_DEBUG_INFO` (`-g`).
    GenerateDebugInfo(bool),
    /// `CU_JIT_GENERATE_LINE_INFO` (`-lineinfo`).
    GenerateLineInfo(bool),
    /// `CU_JIT_CACHE_MODE`: a `CU_JIT_CACHE_OPTION_*`.
    CacheMode(CUjit_cacheMode),
    /// `CU_JIT_POSITION_INDEPENDENT_CODE`.
    PositionIndependentCode(bool),
    /// `CU_JIT_MIN_CTA_PER_SM`.
    MinCtaPerSm(u32),
    /// `CU_JIT_MAX_THREADS_PER_BLOCK`.
    MaxThreadsPerBlock(u32),
    /// `CU_JIT_OVERRIDE_DIRECTIVE_VALUES`: let the options above win over PTX directives.
    OverrideDirectiveValues(bool),
}

impl JitOption {
    /// The (key, value) pair as the driver expects it: scalar values are stored in the
    /// pointer-sized slot itself.
    fn raw(self) -> (CUjit_option, *mut c_void) {
        let scalar = |v: usize| ptr::without_provenance_mut::<c_void>(v);
        match self {
            JitOption::MaxRegisters(v) => (CU_JIT_MAX_REGISTERS, scalar(v as usize)),
            JitOption::ThreadsPerBlock(v) => (CU_JIT_THREADS_PER_BLOCK, scalar(v as usize)),
            JitOption::OptimizationLevel(v) => (CU_JIT_OPTIMIZATION_LEVEL, scalar(v as usize)),
            JitOption::TargetFromContext => (CU_JIT_TARGET_FROM_CUCONTEXT, ptr::null_mut()),
            JitOption::Target(v) => (CU_JIT_TARGET, scalar(v as u32 as usize)),
            JitOption::FallbackStrategy(v) => (CU_JIT_FALLBACK_STRATEGY, scalar(v as u32 as usize)),
            JitOption::GenerateDebugInfo(v) => (CU_JIT_GENERATE_DEBUG_INFO, scalar(v as usize)),
            JitOption::GenerateLineInfo(v) => (CU_JIT_GENERATE_LINE_INFO, scalar(v as usize)),
            JitOption::CacheMode(v) => (CU_JIT_CACHE_MODE, scalar(v as u32 as usize)),
            JitOption::PositionIndependentCode(v) => {
                (CU_JIT_POSITION_INDEPENDENT_CODE, scalar(v as usize))
            }
            JitOption::MinCtaPerSm(v) => (CU_JIT_MIN_CTA_PER_SM, scalar(v as usize)),
            JitOption::MaxThreadsPerBlock(v) => (CU_JIT_MAX_THREADS_PER_BLOCK, scalar(v as usize)),
            JitOption::OverrideDirectiveValues(v) => {
                (CU_JIT_OVERRIDE_DIRECTIVE_VALUES, scalar(v as usize))
            }
        }
    }
}

/// The option arrays and log buffers of one JIT compilation or link. The driver writes the
/// logs (and the filled sizes, into the value array) during the call, and for `cuLink*` at any
/// point until `cuLinkDestroy`: keep this alive that long. Moving it is fine (all pointers
/// handed out point into its heap buffers).
pub struct JitOptions {
    keys: Vec<CUjit_option>,
    values: Vec<*mut c_void>,
    info_log: Vec<u8>,
    error_log: Vec<u8>,
}

// SAFETY: the raw pointers in `values` are either scalars or point into `info_log`/`error_log`,
// heap buffers owned by this value and never shared; moving the whole to another thread moves
// exclusive ownership of everything they point to.
unsafe impl Send for JitOptions {}

/// Index of `CU_JIT_INFO_LOG_BUFFER_SIZE_BYTES` / `CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES` in the
/// arrays built by [`JitOptions::new`].
const INFO_SIZE_SLOT: usize = 1;
const ERROR_SIZE_SLOT: usize = 3;

impl JitOptions {
    /// Error and info log buffers of [`JIT_LOG_SIZE`] bytes, verbose logging, then `options`.
    pub fn new(options: &[JitOption]) -> JitOptions {
        let mut info_log = vec![0u8; JIT_LOG_SIZE];
        let mut error_log = vec![0u8; JIT_LOG_SIZE];
        let size = ptr::without_provenance_mut::<c_void>(JIT_LOG_SIZE);
        let mut keys = vec![
            CU_JIT_INFO_LOG_BUFFER,
            CU_JIT_INFO_LOG_BUFFER_SIZE_BYTES,
            CU_JIT_ERROR_LOG_BUFFER,
            CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES,
            CU_JIT_LOG_VERBOSE,
        ];
        let mut values = vec![
            info_log.as_mut_ptr().cast::<c_void>(),
            size,
            error_log.as_mut_ptr().cast::<c_void>(),
            size,
            ptr::without_provenance_mut::<c_void>(1),
        ];
        for option in options {
            let (k, v) = option.raw();
            keys.push(k);
            values.push(v);
        }
        JitOptions {
            keys,
            values,
            info_log,
            error_log,
        }
    }

    /// Number of options (the `numOptions` argument).
    pub fn len(&self) -> c_uint {
        self.keys.len() as c_uint
    }

    /// Always false: the log options are always present.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The `options` array argument.
    pub fn keys_ptr(&mut self) -> *mut CUjit_option {
        self.keys.as_mut_ptr()
    }

    /// The `optionValues` array argument.
    pub fn values_ptr(&mut self) -> *mut *mut c_void {
        self.values.as_mut_ptr()
    }

    /// The logs written so far.
    pub fn logs(&self) -> JitLogs {
        JitLogs {
            info: read_log(&self.info_log, self.values[INFO_SIZE_SLOT]),
            error: read_log(&self.error_log, self.values[ERROR_SIZE_SLOT]),
        }
    }
}

/// Text of a log buffer: the driver writes back the filled size as an `unsigned int` into the
/// value slot; we also stop at the first NUL so a missing or odd size can never over-read.
fn read_log(buf: &[u8], filled: *mut c_void) -> String {
    let filled = (filled.addr() as u32 as usize).min(buf.len());
    let text = &buf[..filled];
    let end = text.iter().position(|&b| b == 0).unwrap_or(text.len());
    String::from_utf8_lossy(&text[..end]).trim_end().to_owned()
}

/// Checks a module image before the driver parses it, and NUL-terminates PTX.
///
/// `cuModuleLoadData*` take no size: the driver finds the end of a cubin or fatbin from its
/// headers and the end of PTX from a NUL. So a binary whose headers point past the slice is
/// rejected here (`CUDA_ERROR_INVALID_IMAGE`), and PTX without a NUL is copied with one.
pub fn prepare_image(image: &[u8]) -> Result<Cow<'_, [u8]>, CUresult> {
    const ELF_MAGIC: &[u8] = b"\x7fELF";
    const FATBIN_MAGIC: u32 = 0xBA55_ED50;
    const FATBIN_WRAPPER_MAGIC: u32 = 0x4662_43B1;
    let bad = CUresult::CUDA_ERROR_INVALID_IMAGE;
    if image.starts_with(ELF_MAGIC) {
        check_elf(image).ok_or(bad)?;
        return Ok(Cow::Borrowed(image));
    }
    match read_u32(image, 0) {
        Some(FATBIN_MAGIC) => {
            let header_size = u64::from(read_u16(image, 6).ok_or(bad)?);
            let fat_size = read_u64(image, 8).ok_or(bad)?;
            let end = header_size.checked_add(fat_size).ok_or(bad)?;
            if header_size < 16 || end > image.len() as u64 {
                return Err(bad);
            }
            return Ok(Cow::Borrowed(image));
        }
        // A host-side wrapper holding a raw pointer to the real fatbin: never dereference it.
        Some(FATBIN_WRAPPER_MAGIC) => return Err(bad),
        _ => {}
    }
    if image.is_empty() {
        return Err(bad);
    }
    match image.iter().position(|&b| b == 0) {
        Some(nul) => Ok(Cow::Borrowed(&image[..=nul])),
        None => {
            let mut owned = Vec::with_capacity(image.len() + 1);
            owned.extend_from_slice(image);
            owned.push(0);
            Ok(Cow::Owned(owned))
        }
    }
}

fn read_u16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(
        b.get(at..at.checked_add(2)?)?.try_into().ok()?,
    ))
}
fn read_u32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(
        b.get(at..at.checked_add(4)?)?.try_into().ok()?,
    ))
}
fn read_u64(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(
        b.get(at..at.checked_add(8)?)?.try_into().ok()?,
    ))
}

/// A 64-bit little-endian ELF whose program headers, section headers and section contents all
/// lie inside the slice.
fn check_elf(b: &[u8]) -> Option<()> {
    const SHT_NOBITS: u32 = 8;
    if b.len() < 64 || b[4] != 2 || b[5] != 1 {
        return None;
    }
    let len = b.len() as u64;
    let within = |off: u64, size: u64| off.checked_add(size).is_some_and(|end| end <= len);
    let phoff = read_u64(b, 0x20)?;
    let shoff = read_u64(b, 0x28)?;
    let phentsize = u64::from(read_u16(b, 0x36)?);
    let phnum = u64::from(read_u16(b, 0x38)?);
    let shentsize = u64::from(read_u16(b, 0x3A)?);
    let shnum = u64::from(read_u16(b, 0x3C)?);
    if phnum > 0 && (phentsize < 56 || !within(phoff, phentsize * phnum)) {
        return None;
    }
    if shnum > 0 && (shentsize < 64 || !within(shoff, shentsize * shnum)) {
        return None;
    }
    for i in 0..shnum {
        let sh = usize::try_from(shoff + i * shentsize).ok()?;
        let kind = read_u32(b, sh + 4)?;
        let offset = read_u64(b, sh + 0x18)?;
        let size = read_u64(b, sh + 0x20)?;
        if kind != SHT_NOBITS && !within(offset, size) {
            return None;
        }
    }
    for i in 0..phnum {
        let ph = usize::try_from(phoff + i * phentsize).ok()?;
        let offset = read_u64(b, ph + 0x08)?;
        let file_size = read_u64(b, ph + 0x20)?;
        if !within(offset, file_size) {
            return None;
        }
    }
    Some(())
}

/// Runs a boxed host callback exactly once; a panic is caught (it must not unwind into the
/// driver) after the panic hook has reported it.
fn run_callback(f: impl FnOnce()) {
    let _ = catch_unwind(AssertUnwindSafe(f));
}

type HostFn = Box<dyn FnOnce() + Send + 'static>;
type StreamCallbackFn = Box<dyn FnOnce(CUresult) + Send + 'static>;

/// `CUhostFn` trampoline for [`Driver::launch_host_func`].
unsafe extern "C" fn host_fn_trampoline(user_data: *mut c_void) {
    // SAFETY: `user_data` is the `Box<HostFn>` leaked by `launch_host_func`, and the driver
    // calls a host function exactly once per successful enqueue, so the box is reclaimed once.
    let f = unsafe { Box::from_raw(user_data.cast::<HostFn>()) };
    run_callback(*f);
}

/// `CUstreamCallback` trampoline for [`Driver::stream_add_callback`].
unsafe extern "C" fn stream_callback_trampoline(
    _stream: CUstream,
    status: CUresult,
    user_data: *mut c_void,
) {
    // SAFETY: as for `host_fn_trampoline`, with the `Box<StreamCallbackFn>` leaked by
    // `stream_add_callback`.
    let f = unsafe { Box::from_raw(user_data.cast::<StreamCallbackFn>()) };
    run_callback(move || f(status));
}

fn c_string(s: &str) -> Result<CString, CUresult> {
    CString::new(s).map_err(|_| CUresult::CUDA_ERROR_INVALID_VALUE)
}

fn null_if_empty<T>(s: &mut [T]) -> *mut T {
    if s.is_empty() {
        ptr::null_mut()
    } else {
        s.as_mut_ptr()
    }
}

impl Driver {
    // ---- initialisation and errors ------------------------------------------------------

    /// `cuInit`: must precede every other call except the version/error queries.
    pub fn init(&self, flags: u32) -> Result<(), CUresult> {
        // SAFETY: no pointers involved.
        unsafe { (self.cuInit)(flags) }.result()
    }

    /// `cuDriverGetVersion`: the driver's CUDA version (`1000 * major + 10 * minor`).
    pub fn driver_get_version(&self) -> Result<i32, CUresult> {
        let mut v: c_int = 0;
        // SAFETY: `v` is valid for writes.
        unsafe { (self.cuDriverGetVersion)(&mut v) }.result()?;
        Ok(v)
    }

    /// `cuGetErrorName`: the driver's name for `code`; `None` for a code it does not know.
    /// The string lives in the driver, which stays loaded for the whole process.
    pub fn error_name(&'static self, code: CUresult) -> Option<&'static str> {
        let mut p: *const c_char = ptr::null();
        // SAFETY: `p` is valid for writes; the driver does not require cuInit here.
        unsafe { (self.cuGetErrorName)(code, &mut p) }
            .result()
            .ok()?;
        // SAFETY: on success `p` points to a NUL-terminated static string inside libcuda,
        // which `&'static self` keeps loaded forever.
        (!p.is_null()).then(|| unsafe { CStr::from_ptr(p) }.to_str().ok())?
    }

    /// `cuGetErrorString`: the driver's description of `code`.
    pub fn error_string(&'static self, code: CUresult) -> Option<&'static str> {
        let mut p: *const c_char = ptr::null();
        // SAFETY: as for `error_name`.
        unsafe { (self.cuGetErrorString)(code, &mut p) }
            .result()
            .ok()?;
        // SAFETY: as for `error_name`.
        (!p.is_null()).then(|| unsafe { CStr::from_ptr(p) }.to_str().ok())?
    }

    // ---- devices --------------------------------------------------------------------------

    /// `cuDeviceGet`.
    pub fn device_get(&self, ordinal: i32) -> Result<CUdevice, CUresult> {
        let mut d: CUdevice = 0;
        // SAFETY: `d` is valid for writes.
        unsafe { (self.cuDeviceGet)(&mut d, ordinal) }.result()?;
        Ok(d)
    }

    /// `cuDeviceGetCount`.
    pub fn device_get_count(&self) -> Result<i32, CUresult> {
        let mut n: c_int = 0;
        // SAFETY: `n` is valid for writes.
        unsafe { (self.cuDeviceGetCount)(&mut n) }.result()?;
        Ok(n)
    }

    /// `cuDeviceGetName`.
    pub fn device_get_name(&self, dev: CUdevice) -> Result<String, CUresult> {
        let mut buf = [0u8; 256];
        // SAFETY: `buf` is valid for `buf.len()` bytes of writes; the driver NUL-terminates
        // within `len`.
        unsafe { (self.cuDeviceGetName)(buf.as_mut_ptr().cast(), buf.len() as c_int, dev) }
            .result()?;
        let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
        Ok(String::from_utf8_lossy(&buf[..end]).into_owned())
    }

    /// `cuDeviceGetUuid` (the `_v2` ABI: MIG instances get their own UUID).
    pub fn device_get_uuid(&self, dev: CUdevice) -> Result<[u8; 16], CUresult> {
        let mut u = CUuuid::default();
        // SAFETY: `u` is valid for writes of a CUuuid.
        unsafe { (self.cuDeviceGetUuid_v2)(&mut u, dev) }.result()?;
        Ok(u.bytes)
    }

    /// `cuDeviceTotalMem`: bytes of device memory.
    pub fn device_total_mem(&self, dev: CUdevice) -> Result<usize, CUresult> {
        let mut n = 0usize;
        // SAFETY: `n` is valid for writes.
        unsafe { (self.cuDeviceTotalMem_v2)(&mut n, dev) }.result()?;
        Ok(n)
    }

    /// `cuDeviceGetPCIBusId`: `domain:bus:device.function` (e.g. `0000:00:06.0`).
    pub fn device_get_pci_bus_id(&self, dev: CUdevice) -> Result<String, CUresult> {
        let mut buf = [0u8; 64];
        // SAFETY: `buf` is valid for `buf.len()` bytes of writes; the driver NUL-terminates
        // within `len`.
        unsafe { (self.cuDeviceGetPCIBusId)(buf.as_mut_ptr().cast(), buf.len() as c_int, dev) }
            .result()?;
        let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
        Ok(String::from_utf8_lossy(&buf[..end]).into_owned())
    }

    /// `cuDeviceCanAccessPeer`: whether contexts on `dev` can access memory on `peer`.
    pub fn device_can_access_peer(&self, dev: CUdevice, peer: CUdevice) -> Result<bool, CUresult> {
        let mut v: c_int = 0;
        // SAFETY: `v` is valid for writes.
        unsafe { (self.cuDeviceCanAccessPeer)(&mut v, dev, peer) }.result()?;
        Ok(v != 0)
    }

    /// `cuDeviceGetAttribute`.
    pub fn device_get_attribute(
        &self,
        dev: CUdevice,
        attrib: CUdevice_attribute,
    ) -> Result<i32, CUresult> {
        let mut v: c_int = 0;
        // SAFETY: `v` is valid for writes.
        unsafe { (self.cuDeviceGetAttribute)(&mut v, attrib, dev) }.result()?;
        Ok(v)
    }

    /// `cuDevicePrimaryCtxRetain`: the device's primary context, reference counted.
    pub fn device_primary_ctx_retain(&self, dev: CUdevice) -> Result<CUcontext, CUresult> {
        let mut c: CUcontext = ptr::null_mut();
        // SAFETY: `c` is valid for writes.
        unsafe { (self.cuDevicePrimaryCtxRetain)(&mut c, dev) }.result()?;
        Ok(c)
    }

    /// `cuDevicePrimaryCtxRelease`.
    ///
    /// # Safety
    /// The caller must hold a retain it has not released yet; when the count drops to zero the
    /// context is destroyed and every handle in it becomes dangling.
    pub unsafe fn device_primary_ctx_release(&self, dev: CUdevice) -> Result<(), CUresult> {
        // SAFETY: no pointers; the lifetime contract is the caller's.
        unsafe { (self.cuDevicePrimaryCtxRelease_v2)(dev) }.result()
    }

    /// `cuDevicePrimaryCtxReset`: destroys all allocations and modules of the primary context.
    ///
    /// # Safety
    /// No handle or device address of the primary context may be used afterwards.
    pub unsafe fn device_primary_ctx_reset(&self, dev: CUdevice) -> Result<(), CUresult> {
        // SAFETY: no pointers; the lifetime contract is the caller's.
        unsafe { (self.cuDevicePrimaryCtxReset_v2)(dev) }.result()
    }

    /// `cuDevicePrimaryCtxGetState`: (flags, active).
    pub fn device_primary_ctx_get_state(&self, dev: CUdevice) -> Result<(u32, bool), CUresult> {
        let (mut flags, mut active): (c_uint, c_int) = (0, 0);
        // SAFETY: both outputs are valid for writes.
        unsafe { (self.cuDevicePrimaryCtxGetState)(dev, &mut flags, &mut active) }.result()?;
        Ok((flags, active != 0))
    }

    /// `cuDevicePrimaryCtxSetFlags` (`CU_CTX_*`).
    pub fn device_primary_ctx_set_flags(&self, dev: CUdevice, flags: u32) -> Result<(), CUresult> {
        // SAFETY: no pointers.
        unsafe { (self.cuDevicePrimaryCtxSetFlags_v2)(dev, flags) }.result()
    }

    // ---- contexts -------------------------------------------------------------------------

    /// `cuCtxCreate` (the `_v2` ABI of CUDA 3.2, never the affinity `_v3` or params-struct
    /// `_v4`): creates a context and pushes it on the calling thread's stack.
    pub fn ctx_create(&self, flags: u32, dev: CUdevice) -> Result<CUcontext, CUresult> {
        let mut c: CUcontext = ptr::null_mut();
        // SAFETY: `c` is valid for writes.
        unsafe { (self.cuCtxCreate_v2)(&mut c, flags, dev) }.result()?;
        Ok(c)
    }

    /// `cuCtxDestroy`.
    ///
    /// # Safety
    /// `ctx` must be a valid context created with [`Driver::ctx_create`]; it and every handle
    /// and allocation in it are dangling afterwards.
    pub unsafe fn ctx_destroy(&self, ctx: CUcontext) -> Result<(), CUresult> {
        // SAFETY: the caller guarantees `ctx` is valid.
        unsafe { (self.cuCtxDestroy_v2)(ctx) }.result()
    }

    /// `cuCtxPushCurrent`.
    ///
    /// # Safety
    /// `ctx` must be a valid, live context.
    pub unsafe fn ctx_push_current(&self, ctx: CUcontext) -> Result<(), CUresult> {
        // SAFETY: the caller guarantees `ctx` is valid.
        unsafe { (self.cuCtxPushCurrent_v2)(ctx) }.result()
    }

    /// `cuCtxPopCurrent`: pops and returns the calling thread's current context.
    pub fn ctx_pop_current(&self) -> Result<CUcontext, CUresult> {
        let mut c: CUcontext = ptr::null_mut();
        // SAFETY: `c` is valid for writes.
        unsafe { (self.cuCtxPopCurrent_v2)(&mut c) }.result()?;
        Ok(c)
    }

    /// `cuCtxSetCurrent` (null unbinds).
    ///
    /// # Safety
    /// `ctx` must be null or a valid, live context.
    pub unsafe fn ctx_set_current(&self, ctx: CUcontext) -> Result<(), CUresult> {
        // SAFETY: the caller guarantees `ctx` is null or valid.
        unsafe { (self.cuCtxSetCurrent)(ctx) }.result()
    }

    /// `cuCtxGetCurrent`: null when none is current.
    pub fn ctx_get_current(&self) -> Result<CUcontext, CUresult> {
        let mut c: CUcontext = ptr::null_mut();
        // SAFETY: `c` is valid for writes.
        unsafe { (self.cuCtxGetCurrent)(&mut c) }.result()?;
        Ok(c)
    }

    /// `cuCtxGetDevice` (the CUDA 2.0 ABI: of the current context).
    pub fn ctx_get_device(&self) -> Result<CUdevice, CUresult> {
        let mut d: CUdevice = 0;
        // SAFETY: `d` is valid for writes.
        unsafe { (self.cuCtxGetDevice)(&mut d) }.result()?;
        Ok(d)
    }

    /// `cuCtxSynchronize` (the CUDA 2.0 ABI: of the current context).
    pub fn ctx_synchronize(&self) -> Result<(), CUresult> {
        // SAFETY: no pointers.
        unsafe { (self.cuCtxSynchronize)() }.result()
    }

    /// `cuCtxGetApiVersion` (null: the current context).
    ///
    /// # Safety
    /// `ctx` must be null or a valid, live context.
    pub unsafe fn ctx_get_api_version(&self, ctx: CUcontext) -> Result<u32, CUresult> {
        let mut v: c_uint = 0;
        // SAFETY: `v` is valid for writes; the caller guarantees `ctx`.
        unsafe { (self.cuCtxGetApiVersion)(ctx, &mut v) }.result()?;
        Ok(v)
    }

    /// `cuCtxGetFlags` of the current context.
    pub fn ctx_get_flags(&self) -> Result<u32, CUresult> {
        let mut f: c_uint = 0;
        // SAFETY: `f` is valid for writes.
        unsafe { (self.cuCtxGetFlags)(&mut f) }.result()?;
        Ok(f)
    }

    /// `cuCtxGetLimit`.
    pub fn ctx_get_limit(&self, limit: CUlimit) -> Result<usize, CUresult> {
        let mut v = 0usize;
        // SAFETY: `v` is valid for writes.
        unsafe { (self.cuCtxGetLimit)(&mut v, limit) }.result()?;
        Ok(v)
    }

    /// `cuCtxSetLimit`.
    pub fn ctx_set_limit(&self, limit: CUlimit, value: usize) -> Result<(), CUresult> {
        // SAFETY: no pointers.
        unsafe { (self.cuCtxSetLimit)(limit, value) }.result()
    }

    /// `cuCtxGetCacheConfig`.
    pub fn ctx_get_cache_config(&self) -> Result<CUfunc_cache, CUresult> {
        let mut c: CUfunc_cache = 0;
        // SAFETY: `c` is valid for writes.
        unsafe { (self.cuCtxGetCacheConfig)(&mut c) }.result()?;
        Ok(c)
    }

    /// `cuCtxSetCacheConfig`.
    pub fn ctx_set_cache_config(&self, config: CUfunc_cache) -> Result<(), CUresult> {
        // SAFETY: no pointers.
        unsafe { (self.cuCtxSetCacheConfig)(config) }.result()
    }

    /// `cuCtxEnablePeerAccess`: lets the current context access `peer`'s memory.
    ///
    /// # Safety
    /// `peer` must be a valid, live context.
    pub unsafe fn ctx_enable_peer_access(&self, peer: CUcontext) -> Result<(), CUresult> {
        // SAFETY: per the caller; flags must be 0.
        unsafe { (self.cuCtxEnablePeerAccess)(peer, 0) }.result()
    }

    /// `cuCtxDisablePeerAccess`.
    ///
    /// # Safety
    /// `peer` must be a valid, live context.
    pub unsafe fn ctx_disable_peer_access(&self, peer: CUcontext) -> Result<(), CUresult> {
        // SAFETY: per the caller.
        unsafe { (self.cuCtxDisablePeerAccess)(peer) }.result()
    }

    /// `cuCtxSetFlags` of the current context (CUDA 12.1+; `CUDA_ERROR_NOT_SUPPORTED` on an
    /// older driver).
    pub fn ctx_set_flags(&self, flags: u32) -> Result<(), CUresult> {
        let set = self
            .cuCtxSetFlags
            .ok_or(CUresult::CUDA_ERROR_NOT_SUPPORTED)?;
        // SAFETY: no pointers.
        unsafe { set(flags) }.result()
    }

    /// `cuCtxGetStreamPriorityRange`: (least, greatest); greatest is numerically lowest.
    pub fn ctx_get_stream_priority_range(&self) -> Result<(i32, i32), CUresult> {
        let (mut least, mut greatest): (c_int, c_int) = (0, 0);
        // SAFETY: both outputs are valid for writes.
        unsafe { (self.cuCtxGetStreamPriorityRange)(&mut least, &mut greatest) }.result()?;
        Ok((least, greatest))
    }

    // ---- modules --------------------------------------------------------------------------

    /// `cuModuleLoad`: a cubin, fatbin or PTX file.
    pub fn module_load(&self, path: &Path) -> Result<CUmodule, CUresult> {
        let path = c_string(path.to_str().ok_or(CUresult::CUDA_ERROR_INVALID_VALUE)?)?;
        let mut m: CUmodule = ptr::null_mut();
        // SAFETY: `m` is valid for writes; `path` is NUL-terminated and outlives the call.
        unsafe { (self.cuModuleLoad)(&mut m, path.as_ptr()) }.result()?;
        Ok(m)
    }

    /// `cuModuleLoadData` of a cubin, fatbin or PTX image (checked by [`prepare_image`]).
    pub fn module_load_data(&self, image: &[u8]) -> Result<CUmodule, CUresult> {
        let image = prepare_image(image)?;
        let mut m: CUmodule = ptr::null_mut();
        // SAFETY: `m` is valid for writes; `prepare_image` checked that the driver finds the
        // image's end inside the buffer, which outlives the call.
        unsafe { (self.cuModuleLoadData)(&mut m, image.as_ptr().cast()) }.result()?;
        Ok(m)
    }

    /// `cuModuleLoadDataEx` with the JIT logs always captured (see [`JitOptions`]): on
    /// failure the caller gets the compiler's error log to put into its error.
    pub fn module_load_data_ex(
        &self,
        image: &[u8],
        options: &[JitOption],
    ) -> Result<(CUmodule, JitLogs), (CUresult, JitLogs)> {
        let image = prepare_image(image).map_err(|e| (e, JitLogs::default()))?;
        let mut jit = JitOptions::new(options);
        let mut m: CUmodule = ptr::null_mut();
        // SAFETY: `m` is valid for writes; the image is checked as in `module_load_data`; the
        // option arrays have `jit.len()` entries and the log buffers they point to have the
        // sizes given alongside; all outlive the call.
        let r = unsafe {
            (self.cuModuleLoadDataEx)(
                &mut m,
                image.as_ptr().cast(),
                jit.len(),
                jit.keys_ptr(),
                jit.values_ptr(),
            )
        };
        let logs = jit.logs();
        match r.result() {
            Ok(()) => Ok((m, logs)),
            Err(e) => Err((e, logs)),
        }
    }

    /// `cuModuleLoadFatBinary` (image checked by [`prepare_image`]).
    pub fn module_load_fat_binary(&self, image: &[u8]) -> Result<CUmodule, CUresult> {
        let image = prepare_image(image)?;
        let mut m: CUmodule = ptr::null_mut();
        // SAFETY: as for `module_load_data`.
        unsafe { (self.cuModuleLoadFatBinary)(&mut m, image.as_ptr().cast()) }.result()?;
        Ok(m)
    }

    /// `cuModuleUnload`.
    ///
    /// # Safety
    /// `module` must be a valid handle; it, its functions and its globals are dangling after.
    pub unsafe fn module_unload(&self, module: CUmodule) -> Result<(), CUresult> {
        // SAFETY: the caller guarantees `module` is valid.
        unsafe { (self.cuModuleUnload)(module) }.result()
    }

    /// `cuModuleGetFunction`: `CUDA_ERROR_NOT_FOUND` when there is no such kernel.
    ///
    /// # Safety
    /// `module` must be a valid handle.
    pub unsafe fn module_get_function(
        &self,
        module: CUmodule,
        name: &str,
    ) -> Result<CUfunction, CUresult> {
        let name = c_string(name)?;
        let mut f: CUfunction = ptr::null_mut();
        // SAFETY: `f` is valid for writes, `name` is NUL-terminated; `module` per the caller.
        unsafe { (self.cuModuleGetFunction)(&mut f, module, name.as_ptr()) }.result()?;
        Ok(f)
    }

    /// `cuModuleGetGlobal`: (address, bytes) of a module-scope variable.
    ///
    /// # Safety
    /// `module` must be a valid handle.
    pub unsafe fn module_get_global(
        &self,
        module: CUmodule,
        name: &str,
    ) -> Result<(CUdeviceptr, usize), CUresult> {
        let name = c_string(name)?;
        let (mut p, mut n): (CUdeviceptr, usize) = (0, 0);
        // SAFETY: outputs valid for writes, `name` NUL-terminated; `module` per the caller.
        unsafe { (self.cuModuleGetGlobal_v2)(&mut p, &mut n, module, name.as_ptr()) }.result()?;
        Ok((p, n))
    }

    /// The kernels of a module (`cuModuleGetFunctionCount` + `cuModuleEnumerateFunctions`),
    /// or `None` when the driver predates CUDA 12.4.
    ///
    /// # Safety
    /// `module` must be a valid handle.
    pub unsafe fn module_functions(
        &self,
        module: CUmodule,
    ) -> Result<Option<Vec<CUfunction>>, CUresult> {
        let (Some(count), Some(enumerate)) = (
            self.cuModuleGetFunctionCount,
            self.cuModuleEnumerateFunctions,
        ) else {
            return Ok(None);
        };
        let mut n: c_uint = 0;
        // SAFETY: `n` is valid for writes; `module` per the caller.
        unsafe { count(&mut n, module) }.result()?;
        let mut functions = vec![ptr::null_mut(); n as usize];
        // SAFETY: `functions` has room for `n` handles; `module` per the caller.
        unsafe { enumerate(functions.as_mut_ptr(), n, module) }.result()?;
        Ok(Some(functions))
    }

    // ---- functions ------------------------------------------------------------------------

    /// `cuFuncGetAttribute`.
    ///
    /// # Safety
    /// `f` must be a valid function handle.
    pub unsafe fn func_get_attribute(
        &self,
        f: CUfunction,
        attrib: CUfunction_attribute,
    ) -> Result<i32, CUresult> {
        let mut v: c_int = 0;
        // SAFETY: `v` is valid for writes; `f` per the caller.
        unsafe { (self.cuFuncGetAttribute)(&mut v, attrib, f) }.result()?;
        Ok(v)
    }

    /// `cuFuncSetAttribute`.
    ///
    /// # Safety
    /// `f` must be a valid function handle.
    pub unsafe fn func_set_attribute(
        &self,
        f: CUfunction,
        attrib: CUfunction_attribute,
        value: i32,
    ) -> Result<(), CUresult> {
        // SAFETY: `f` per the caller.
        unsafe { (self.cuFuncSetAttribute)(f, attrib, value) }.result()
    }

    /// `cuFuncGetModule`: the module a function belongs to.
    ///
    /// # Safety
    /// `f` must be a valid function handle.
    pub unsafe fn func_get_module(&self, f: CUfunction) -> Result<CUmodule, CUresult> {
        let mut m: CUmodule = ptr::null_mut();
        // SAFETY: `m` is valid for writes; `f` per the caller.
        unsafe { (self.cuFuncGetModule)(&mut m, f) }.result()?;
        Ok(m)
    }

    /// `cuFuncSetCacheConfig`.
    ///
    /// # Safety
    /// `f` must be a valid function handle.
    pub unsafe fn func_set_cache_config(
        &self,
        f: CUfunction,
        config: CUfunc_cache,
    ) -> Result<(), CUresult> {
        // SAFETY: `f` per the caller.
        unsafe { (self.cuFuncSetCacheConfig)(f, config) }.result()
    }

    /// `cuFuncGetParamInfo` over every ordinal: the (offset, size) of each kernel parameter in
    /// the parameter buffer, or `None` when the driver predates CUDA 12.4.
    ///
    /// # Safety
    /// `f` must be a valid function handle.
    pub unsafe fn func_get_param_info(
        &self,
        f: CUfunction,
    ) -> Result<Option<Vec<(usize, usize)>>, CUresult> {
        let Some(get) = self.cuFuncGetParamInfo else {
            return Ok(None);
        };
        let mut params = Vec::new();
        for index in 0..MAX_KERNEL_PARAMS {
            let (mut offset, mut size) = (0usize, 0usize);
            // SAFETY: outputs valid for writes; `f` per the caller.
            match unsafe { get(f, index, &mut offset, &mut size) }.result() {
                Ok(()) => params.push((offset, size)),
                // Past the last parameter.
                Err(CUresult::CUDA_ERROR_INVALID_VALUE) => return Ok(Some(params)),
                Err(e) => return Err(e),
            }
        }
        Err(CUresult::CUDA_ERROR_INVALID_VALUE)
    }

    /// `cuFuncGetName`: the (possibly mangled) kernel name, or `None` when the driver
    /// predates CUDA 12.3.
    ///
    /// # Safety
    /// `f` must be a valid function handle.
    pub unsafe fn func_get_name(&self, f: CUfunction) -> Result<Option<String>, CUresult> {
        let Some(get) = self.cuFuncGetName else {
            return Ok(None);
        };
        let mut p: *const c_char = ptr::null();
        // SAFETY: `p` is valid for writes; `f` per the caller.
        unsafe { get(&mut p, f) }.result()?;
        if p.is_null() {
            return Err(CUresult::CUDA_ERROR_INVALID_VALUE);
        }
        // SAFETY: on success `p` is a NUL-terminated string valid while `f`'s module is loaded;
        // it is copied before returning.
        Ok(Some(
            unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned(),
        ))
    }

    // ---- memory ---------------------------------------------------------------------------

    /// `cuMemAlloc` in the current context.
    pub fn mem_alloc(&self, bytes: usize) -> Result<CUdeviceptr, CUresult> {
        let mut p: CUdeviceptr = 0;
        // SAFETY: `p` is valid for writes.
        unsafe { (self.cuMemAlloc_v2)(&mut p, bytes) }.result()?;
        Ok(p)
    }

    /// `cuMemAllocManaged` with a `CU_MEM_ATTACH_*` flag: memory reachable from host and
    /// device at the same address.
    pub fn mem_alloc_managed(&self, bytes: usize, flags: u32) -> Result<CUdeviceptr, CUresult> {
        let mut p: CUdeviceptr = 0;
        // SAFETY: `p` is valid for writes.
        unsafe { (self.cuMemAllocManaged)(&mut p, bytes, flags) }.result()?;
        Ok(p)
    }

    /// `cuMemGetAddressRange`: (base, size) of the allocation containing `dptr`. Only a
    /// lookup in the driver's tables.
    pub fn mem_get_address_range(
        &self,
        dptr: CUdeviceptr,
    ) -> Result<(CUdeviceptr, usize), CUresult> {
        let (mut base, mut size): (CUdeviceptr, usize) = (0, 0);
        // SAFETY: both outputs are valid for writes; `dptr` is only a lookup key.
        unsafe { (self.cuMemGetAddressRange_v2)(&mut base, &mut size, dptr) }.result()?;
        Ok((base, size))
    }

    /// `cuMemFree`.
    ///
    /// # Safety
    /// `dptr` must come from [`Driver::mem_alloc`], not be freed yet, and no pending or future
    /// work may use it.
    pub unsafe fn mem_free(&self, dptr: CUdeviceptr) -> Result<(), CUresult> {
        // SAFETY: per the caller.
        unsafe { (self.cuMemFree_v2)(dptr) }.result()
    }

    /// `cuMemAllocHost`: page-locked host memory (mapped into the device with UVA).
    pub fn mem_alloc_host(&self, bytes: usize) -> Result<*mut c_void, CUresult> {
        let mut p: *mut c_void = ptr::null_mut();
        // SAFETY: `p` is valid for writes.
        unsafe { (self.cuMemAllocHost_v2)(&mut p, bytes) }.result()?;
        Ok(p)
    }

    /// `cuMemHostAlloc` with `CU_MEMHOSTALLOC_*` flags.
    pub fn mem_host_alloc(&self, bytes: usize, flags: u32) -> Result<*mut c_void, CUresult> {
        let mut p: *mut c_void = ptr::null_mut();
        // SAFETY: `p` is valid for writes.
        unsafe { (self.cuMemHostAlloc)(&mut p, bytes, flags) }.result()?;
        Ok(p)
    }

    /// `cuMemFreeHost`.
    ///
    /// # Safety
    /// `p` must come from [`Driver::mem_alloc_host`] or [`Driver::mem_host_alloc`], not be
    /// freed yet, and neither host code nor pending device work may use it afterwards.
    pub unsafe fn mem_free_host(&self, p: *mut c_void) -> Result<(), CUresult> {
        // SAFETY: per the caller.
        unsafe { (self.cuMemFreeHost)(p) }.result()
    }

    /// `cuMemHostRegister` with `CU_MEMHOSTREGISTER_*` flags.
    ///
    /// # Safety
    /// `[p, p + bytes)` must be host memory the caller owns that stays allocated until
    /// [`Driver::mem_host_unregister`]; the device may read and write it in between.
    pub unsafe fn mem_host_register(
        &self,
        p: *mut c_void,
        bytes: usize,
        flags: u32,
    ) -> Result<(), CUresult> {
        // SAFETY: per the caller.
        unsafe { (self.cuMemHostRegister_v2)(p, bytes, flags) }.result()
    }

    /// `cuMemHostUnregister`.
    ///
    /// # Safety
    /// `p` must be a base address registered with [`Driver::mem_host_register`], with no
    /// pending device work using it.
    pub unsafe fn mem_host_unregister(&self, p: *mut c_void) -> Result<(), CUresult> {
        // SAFETY: per the caller.
        unsafe { (self.cuMemHostUnregister)(p) }.result()
    }

    /// `cuMemHostGetDevicePointer`: the device address of mapped pinned host memory.
    ///
    /// # Safety
    /// `p` must point into memory from [`Driver::mem_host_alloc`] (with
    /// `CU_MEMHOSTALLOC_DEVICEMAP`) or [`Driver::mem_host_register`], still allocated.
    pub unsafe fn mem_host_get_device_pointer(
        &self,
        p: *mut c_void,
    ) -> Result<CUdeviceptr, CUresult> {
        let mut d: CUdeviceptr = 0;
        // SAFETY: `d` is valid for writes; `p` per the caller.
        unsafe { (self.cuMemHostGetDevicePointer_v2)(&mut d, p, 0) }.result()?;
        Ok(d)
    }

    /// `cuMemGetInfo`: (free, total) bytes of the current context's device.
    pub fn mem_get_info(&self) -> Result<(usize, usize), CUresult> {
        let (mut free, mut total) = (0usize, 0usize);
        // SAFETY: both outputs are valid for writes.
        unsafe { (self.cuMemGetInfo_v2)(&mut free, &mut total) }.result()?;
        Ok((free, total))
    }

    /// `cuMemcpyHtoD` of the whole of `src`.
    ///
    /// # Safety
    /// `[dst, dst + src.len())` must be a valid device range (see the module docs).
    pub unsafe fn memcpy_htod(&self, dst: CUdeviceptr, src: &[u8]) -> Result<(), CUresult> {
        // SAFETY: `src` is readable for its length during the (synchronous) copy; `dst` per
        // the caller.
        unsafe { (self.cuMemcpyHtoD_v2)(dst, src.as_ptr().cast(), src.len()) }.result()
    }

    /// `cuMemcpyDtoH` filling the whole of `dst`.
    ///
    /// # Safety
    /// `[src, src + dst.len())` must be a valid device range.
    pub unsafe fn memcpy_dtoh(&self, dst: &mut [u8], src: CUdeviceptr) -> Result<(), CUresult> {
        // SAFETY: `dst` is writable for its length during the (synchronous) copy; `src` per
        // the caller.
        unsafe { (self.cuMemcpyDtoH_v2)(dst.as_mut_ptr().cast(), src, dst.len()) }.result()
    }

    /// `cuMemcpyDtoD`.
    ///
    /// # Safety
    /// Both `[dst, dst + bytes)` and `[src, src + bytes)` must be valid device ranges.
    pub unsafe fn memcpy_dtod(
        &self,
        dst: CUdeviceptr,
        src: CUdeviceptr,
        bytes: usize,
    ) -> Result<(), CUresult> {
        // SAFETY: per the caller.
        unsafe { (self.cuMemcpyDtoD_v2)(dst, src, bytes) }.result()
    }

    /// `cuMemcpy` between any two unified addresses.
    ///
    /// # Safety
    /// Both ranges must be valid device ranges or host memory the caller owns.
    pub unsafe fn memcpy(
        &self,
        dst: CUdeviceptr,
        src: CUdeviceptr,
        bytes: usize,
    ) -> Result<(), CUresult> {
        // SAFETY: per the caller.
        unsafe { (self.cuMemcpy)(dst, src, bytes) }.result()
    }

    /// `cuMemcpyPeer` between allocations of two contexts.
    ///
    /// # Safety
    /// Both contexts must be valid; `[dst, dst + bytes)` a valid device range in `dst_ctx` and
    /// `[src, src + bytes)` one in `src_ctx`.
    pub unsafe fn memcpy_peer(
        &self,
        dst: CUdeviceptr,
        dst_ctx: CUcontext,
        src: CUdeviceptr,
        src_ctx: CUcontext,
        bytes: usize,
    ) -> Result<(), CUresult> {
        // SAFETY: per the caller.
        unsafe { (self.cuMemcpyPeer)(dst, dst_ctx, src, src_ctx, bytes) }.result()
    }

    /// `cuMemcpyPeerAsync`.
    ///
    /// # Safety
    /// As [`Driver::memcpy_peer`], with both ranges valid until the copy completes; `stream`
    /// valid.
    pub unsafe fn memcpy_peer_async(
        &self,
        dst: CUdeviceptr,
        dst_ctx: CUcontext,
        src: CUdeviceptr,
        src_ctx: CUcontext,
        bytes: usize,
        stream: CUstream,
    ) -> Result<(), CUresult> {
        // SAFETY: per the caller.
        unsafe { (self.cuMemcpyPeerAsync)(dst, dst_ctx, src, src_ctx, bytes, stream) }.result()
    }

    /// `cuMemcpyHtoDAsync` of the whole of `src`.
    ///
    /// # Safety
    /// `[dst, dst + src.len())` must be a valid device range and `stream` a valid stream.
    /// The copy may run after this returns: `src` must stay allocated and unmodified until
    /// the stream has passed the copy (synchronize the stream or an event recorded after it).
    pub unsafe fn memcpy_htod_async(
        &self,
        dst: CUdeviceptr,
        src: &[u8],
        stream: CUstream,
    ) -> Result<(), CUresult> {
        // SAFETY: per the caller, including the buffer's lifetime beyond the call.
        unsafe { (self.cuMemcpyHtoDAsync_v2)(dst, src.as_ptr().cast(), src.len(), stream) }.result()
    }

    /// `cuMemcpyDtoHAsync` filling the whole of `dst`.
    ///
    /// # Safety
    /// `[src, src + dst.len())` must be a valid device range and `stream` a valid stream.
    /// The copy may run after this returns: `dst` must stay allocated, and must be neither
    /// read nor written by the host, until the stream has passed the copy.
    pub unsafe fn memcpy_dtoh_async(
        &self,
        dst: &mut [u8],
        src: CUdeviceptr,
        stream: CUstream,
    ) -> Result<(), CUresult> {
        // SAFETY: per the caller, including the buffer's lifetime beyond the call.
        unsafe { (self.cuMemcpyDtoHAsync_v2)(dst.as_mut_ptr().cast(), src, dst.len(), stream) }
            .result()
    }

    /// `cuMemcpyDtoDAsync`.
    ///
    /// # Safety
    /// Both ranges must be valid device ranges until the copy completes; `stream` valid.
    pub unsafe fn memcpy_dtod_async(
        &self,
        dst: CUdeviceptr,
        src: CUdeviceptr,
        bytes: usize,
        stream: CUstream,
    ) -> Result<(), CUresult> {
        // SAFETY: per the caller.
        unsafe { (self.cuMemcpyDtoDAsync_v2)(dst, src, bytes, stream) }.result()
    }

    /// `cuMemcpyAsync` between any two unified addresses.
    ///
    /// # Safety
    /// As [`Driver::memcpy`], with both ranges valid until the copy completes; `stream` valid.
    pub unsafe fn memcpy_async(
        &self,
        dst: CUdeviceptr,
        src: CUdeviceptr,
        bytes: usize,
        stream: CUstream,
    ) -> Result<(), CUresult> {
        // SAFETY: per the caller.
        unsafe { (self.cuMemcpyAsync)(dst, src, bytes, stream) }.result()
    }

    /// `cuMemsetD8`: `count` bytes.
    ///
    /// # Safety
    /// `[dst, dst + count)` must be a valid device range.
    pub unsafe fn memset_d8(
        &self,
        dst: CUdeviceptr,
        value: u8,
        count: usize,
    ) -> Result<(), CUresult> {
        // SAFETY: per the caller.
        unsafe { (self.cuMemsetD8_v2)(dst, value, count) }.result()
    }

    /// `cuMemsetD16`: `count` 16-bit values (`dst` 2-byte aligned).
    ///
    /// # Safety
    /// `[dst, dst + 2 * count)` must be a valid device range.
    pub unsafe fn memset_d16(
        &self,
        dst: CUdeviceptr,
        value: u16,
        count: usize,
    ) -> Result<(), CUresult> {
        // SAFETY: per the caller.
        unsafe { (self.cuMemsetD16_v2)(dst, value, count) }.result()
    }

    /// `cuMemsetD32`: `count` 32-bit values (`dst` 4-byte aligned).
    ///
    /// # Safety
    /// `[dst, dst + 4 * count)` must be a valid device range.
    pub unsafe fn memset_d32(
        &self,
        dst: CUdeviceptr,
        value: u32,
        count: usize,
    ) -> Result<(), CUresult> {
        // SAFETY: per the caller.
        unsafe { (self.cuMemsetD32_v2)(dst, value, count) }.result()
    }

    /// `cuMemsetD8Async`.
    ///
    /// # Safety
    /// As [`Driver::memset_d8`], valid until the operation completes; `stream` valid.
    pub unsafe fn memset_d8_async(
        &self,
        dst: CUdeviceptr,
        value: u8,
        count: usize,
        stream: CUstream,
    ) -> Result<(), CUresult> {
        // SAFETY: per the caller.
        unsafe { (self.cuMemsetD8Async)(dst, value, count, stream) }.result()
    }

    /// `cuMemsetD16Async`.
    ///
    /// # Safety
    /// As [`Driver::memset_d16`], valid until the operation completes; `stream` valid.
    pub unsafe fn memset_d16_async(
        &self,
        dst: CUdeviceptr,
        value: u16,
        count: usize,
        stream: CUstream,
    ) -> Result<(), CUresult> {
        // SAFETY: per the caller.
        unsafe { (self.cuMemsetD16Async)(dst, value, count, stream) }.result()
    }

    /// `cuMemsetD32Async`.
    ///
    /// # Safety
    /// As [`Driver::memset_d32`], valid until the operation completes; `stream` valid.
    pub unsafe fn memset_d32_async(
        &self,
        dst: CUdeviceptr,
        value: u32,
        count: usize,
        stream: CUstream,
    ) -> Result<(), CUresult> {
        // SAFETY: per the caller.
        unsafe { (self.cuMemsetD32Async)(dst, value, count, stream) }.result()
    }

    /// `cuPointerGetAttribute` into a zeroed `T`.
    ///
    /// # Safety
    /// `T` must be an integer or pointer type at least as large as what the driver writes for
    /// `attribute` (see `cuda.h`); an all-zero `T` must be valid.
    pub unsafe fn pointer_get_attribute<T: Copy>(
        &self,
        attribute: CUpointer_attribute,
        ptr: CUdeviceptr,
    ) -> Result<T, CUresult> {
        let mut v = MaybeUninit::<T>::zeroed();
        // SAFETY: `v` is valid for writes of a `T`, which the caller guarantees is large
        // enough; the driver only looks `ptr` up in its tables.
        unsafe { (self.cuPointerGetAttribute)(v.as_mut_ptr().cast(), attribute, ptr) }.result()?;
        // SAFETY: zero-initialised and possibly overwritten with a value of the attribute's
        // type; the caller guarantees any such bytes are a valid `T`.
        Ok(unsafe { v.assume_init() })
    }

    /// `CU_POINTER_ATTRIBUTE_MEMORY_TYPE`: a `CU_MEMORYTYPE_*`.
    pub fn pointer_memory_type(&self, ptr: CUdeviceptr) -> Result<CUmemorytype, CUresult> {
        // SAFETY: the attribute's type is CUmemorytype (unsigned int).
        unsafe { self.pointer_get_attribute::<CUmemorytype>(CU_POINTER_ATTRIBUTE_MEMORY_TYPE, ptr) }
    }

    /// `CU_POINTER_ATTRIBUTE_DEVICE_ORDINAL`.
    pub fn pointer_device_ordinal(&self, ptr: CUdeviceptr) -> Result<i32, CUresult> {
        // SAFETY: the attribute's type is int.
        unsafe { self.pointer_get_attribute::<c_int>(CU_POINTER_ATTRIBUTE_DEVICE_ORDINAL, ptr) }
    }

    /// `CU_POINTER_ATTRIBUTE_CONTEXT`: the context the memory was allocated in.
    pub fn pointer_context(&self, ptr: CUdeviceptr) -> Result<CUcontext, CUresult> {
        // SAFETY: the attribute's type is CUcontext.
        unsafe { self.pointer_get_attribute::<CUcontext>(CU_POINTER_ATTRIBUTE_CONTEXT, ptr) }
    }

    /// (`CU_POINTER_ATTRIBUTE_RANGE_START_ADDR`, `CU_POINTER_ATTRIBUTE_RANGE_SIZE`): the
    /// allocation containing `ptr`.
    pub fn pointer_range(&self, ptr: CUdeviceptr) -> Result<(CUdeviceptr, usize), CUresult> {
        // SAFETY: the attributes' types are CUdeviceptr and size_t.
        unsafe {
            Ok((
                self.pointer_get_attribute::<CUdeviceptr>(
                    CU_POINTER_ATTRIBUTE_RANGE_START_ADDR,
                    ptr,
                )?,
                self.pointer_get_attribute::<usize>(CU_POINTER_ATTRIBUTE_RANGE_SIZE, ptr)?,
            ))
        }
    }

    /// `CU_POINTER_ATTRIBUTE_IS_MANAGED`.
    pub fn pointer_is_managed(&self, ptr: CUdeviceptr) -> Result<bool, CUresult> {
        // SAFETY: the attribute is a boolean of at most 8 bytes; any non-zero byte is true.
        let v = unsafe { self.pointer_get_attribute::<u64>(CU_POINTER_ATTRIBUTE_IS_MANAGED, ptr) }?;
        Ok(v != 0)
    }

    /// `cuPointerGetAttributes`; `attributes` and `data` must have the same length
    /// (`CUDA_ERROR_INVALID_VALUE` otherwise).
    ///
    /// # Safety
    /// Each `data[i]` must point to writable memory of the type the driver writes for
    /// `attributes[i]`.
    pub unsafe fn pointer_get_attributes(
        &self,
        attributes: &[CUpointer_attribute],
        data: &mut [*mut c_void],
        ptr: CUdeviceptr,
    ) -> Result<(), CUresult> {
        if attributes.len() != data.len() {
            return Err(CUresult::CUDA_ERROR_INVALID_VALUE);
        }
        let mut attributes = attributes.to_vec();
        // SAFETY: both arrays have `attributes.len()` entries; the pointees per the caller.
        unsafe {
            (self.cuPointerGetAttributes)(
                attributes.len() as c_uint,
                attributes.as_mut_ptr(),
                data.as_mut_ptr(),
                ptr,
            )
        }
        .result()
    }

    // ---- streams --------------------------------------------------------------------------

    /// `cuStreamCreate` (`CU_STREAM_*` flags) in the current context.
    pub fn stream_create(&self, flags: u32) -> Result<CUstream, CUresult> {
        let mut s: CUstream = ptr::null_mut();
        // SAFETY: `s` is valid for writes.
        unsafe { (self.cuStreamCreate)(&mut s, flags) }.result()?;
        Ok(s)
    }

    /// `cuStreamCreateWithPriority` (lower numbers are higher priority).
    pub fn stream_create_with_priority(
        &self,
        flags: u32,
        priority: i32,
    ) -> Result<CUstream, CUresult> {
        let mut s: CUstream = ptr::null_mut();
        // SAFETY: `s` is valid for writes.
        unsafe { (self.cuStreamCreateWithPriority)(&mut s, flags, priority) }.result()?;
        Ok(s)
    }

    /// `cuStreamDestroy` (pending work still completes).
    ///
    /// # Safety
    /// `stream` must be a valid, non-null stream handle, unused afterwards.
    pub unsafe fn stream_destroy(&self, stream: CUstream) -> Result<(), CUresult> {
        // SAFETY: per the caller.
        unsafe { (self.cuStreamDestroy_v2)(stream) }.result()
    }

    /// `cuStreamSynchronize`.
    ///
    /// # Safety
    /// `stream` must be a valid stream handle (null: the legacy default stream).
    pub unsafe fn stream_synchronize(&self, stream: CUstream) -> Result<(), CUresult> {
        // SAFETY: per the caller.
        unsafe { (self.cuStreamSynchronize)(stream) }.result()
    }

    /// `cuStreamQuery`: `Ok(true)` when all work is done, `Ok(false)` for `NOT_READY`.
    ///
    /// # Safety
    /// `stream` must be a valid stream handle.
    pub unsafe fn stream_query(&self, stream: CUstream) -> Result<bool, CUresult> {
        // SAFETY: per the caller.
        match unsafe { (self.cuStreamQuery)(stream) }.result() {
            Ok(()) => Ok(true),
            Err(CUresult::CUDA_ERROR_NOT_READY) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// `cuStreamWaitEvent`.
    ///
    /// # Safety
    /// `stream` and `event` must be valid handles.
    pub unsafe fn stream_wait_event(
        &self,
        stream: CUstream,
        event: CUevent,
        flags: u32,
    ) -> Result<(), CUresult> {
        // SAFETY: per the caller.
        unsafe { (self.cuStreamWaitEvent)(stream, event, flags) }.result()
    }

    /// `cuLaunchHostFunc`: runs `f` on a driver thread once the stream reaches this point.
    /// `f` runs exactly once if this returns `Ok`, and is dropped unrun otherwise. It must not
    /// call CUDA functions. A panic inside `f` is caught and discarded (after the panic hook
    /// reports it), since it cannot unwind into the driver.
    ///
    /// # Safety
    /// `stream` must be a valid stream handle.
    pub unsafe fn launch_host_func(
        &self,
        stream: CUstream,
        f: Box<dyn FnOnce() + Send + 'static>,
    ) -> Result<(), CUresult> {
        let user_data = Box::into_raw(Box::new(f)).cast::<c_void>();
        // SAFETY: the trampoline reclaims `user_data` exactly once when the driver calls it;
        // `stream` per the caller.
        let r = unsafe { (self.cuLaunchHostFunc)(stream, Some(host_fn_trampoline), user_data) };
        if r.result().is_err() {
            // SAFETY: the enqueue failed, so the driver will never call the trampoline: this is
            // the only reclaim of the box leaked above.
            drop(unsafe { Box::from_raw(user_data.cast::<HostFn>()) });
        }
        r.result()
    }

    /// `cuStreamAddCallback`: like [`Driver::launch_host_func`], but `f` receives the
    /// stream's status (an error from earlier work, or success).
    ///
    /// # Safety
    /// `stream` must be a valid stream handle.
    pub unsafe fn stream_add_callback(
        &self,
        stream: CUstream,
        f: Box<dyn FnOnce(CUresult) + Send + 'static>,
    ) -> Result<(), CUresult> {
        let user_data = Box::into_raw(Box::new(f)).cast::<c_void>();
        // SAFETY: as in `launch_host_func`; flags must be 0.
        let r = unsafe {
            (self.cuStreamAddCallback)(stream, Some(stream_callback_trampoline), user_data, 0)
        };
        if r.result().is_err() {
            // SAFETY: the enqueue failed, so this is the only reclaim of the box.
            drop(unsafe { Box::from_raw(user_data.cast::<StreamCallbackFn>()) });
        }
        r.result()
    }

    /// `cuStreamGetPriority`.
    ///
    /// # Safety
    /// `stream` must be a valid stream handle.
    pub unsafe fn stream_get_priority(&self, stream: CUstream) -> Result<i32, CUresult> {
        let mut p: c_int = 0;
        // SAFETY: `p` is valid for writes; `stream` per the caller.
        unsafe { (self.cuStreamGetPriority)(stream, &mut p) }.result()?;
        Ok(p)
    }

    /// `cuStreamGetFlags`.
    ///
    /// # Safety
    /// `stream` must be a valid stream handle.
    pub unsafe fn stream_get_flags(&self, stream: CUstream) -> Result<u32, CUresult> {
        let mut f: c_uint = 0;
        // SAFETY: `f` is valid for writes; `stream` per the caller.
        unsafe { (self.cuStreamGetFlags)(stream, &mut f) }.result()?;
        Ok(f)
    }

    // ---- events ---------------------------------------------------------------------------

    /// `cuEventCreate` (`CU_EVENT_*` flags).
    pub fn event_create(&self, flags: u32) -> Result<CUevent, CUresult> {
        let mut e: CUevent = ptr::null_mut();
        // SAFETY: `e` is valid for writes.
        unsafe { (self.cuEventCreate)(&mut e, flags) }.result()?;
        Ok(e)
    }

    /// `cuEventDestroy`.
    ///
    /// # Safety
    /// `event` must be a valid event handle, unused afterwards.
    pub unsafe fn event_destroy(&self, event: CUevent) -> Result<(), CUresult> {
        // SAFETY: per the caller.
        unsafe { (self.cuEventDestroy_v2)(event) }.result()
    }

    /// `cuEventRecord`.
    ///
    /// # Safety
    /// `event` and `stream` must be valid handles.
    pub unsafe fn event_record(&self, event: CUevent, stream: CUstream) -> Result<(), CUresult> {
        // SAFETY: per the caller.
        unsafe { (self.cuEventRecord)(event, stream) }.result()
    }

    /// `cuEventRecordWithFlags` (`CU_EVENT_RECORD_*`).
    ///
    /// # Safety
    /// `event` and `stream` must be valid handles.
    pub unsafe fn event_record_with_flags(
        &self,
        event: CUevent,
        stream: CUstream,
        flags: u32,
    ) -> Result<(), CUresult> {
        // SAFETY: per the caller.
        unsafe { (self.cuEventRecordWithFlags)(event, stream, flags) }.result()
    }

    /// `cuEventSynchronize`.
    ///
    /// # Safety
    /// `event` must be a valid event handle.
    pub unsafe fn event_synchronize(&self, event: CUevent) -> Result<(), CUresult> {
        // SAFETY: per the caller.
        unsafe { (self.cuEventSynchronize)(event) }.result()
    }

    /// `cuEventQuery`: `Ok(true)` when complete, `Ok(false)` for `NOT_READY`.
    ///
    /// # Safety
    /// `event` must be a valid event handle.
    pub unsafe fn event_query(&self, event: CUevent) -> Result<bool, CUresult> {
        // SAFETY: per the caller.
        match unsafe { (self.cuEventQuery)(event) }.result() {
            Ok(()) => Ok(true),
            Err(CUresult::CUDA_ERROR_NOT_READY) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// `cuEventElapsedTime`: milliseconds from `start` to `end`.
    ///
    /// # Safety
    /// Both must be valid event handles.
    pub unsafe fn event_elapsed_time(&self, start: CUevent, end: CUevent) -> Result<f32, CUresult> {
        let mut ms = 0f32;
        // SAFETY: `ms` is valid for writes; the events per the caller.
        unsafe { (self.cuEventElapsedTime)(&mut ms, start, end) }.result()?;
        Ok(ms)
    }

    // ---- launches -------------------------------------------------------------------------

    /// `cuLaunchKernel` with one pointer per kernel parameter (no `extra`).
    ///
    /// # Safety
    /// `f` and `stream` must be valid handles. `params` must hold exactly one entry per kernel
    /// parameter, each pointing to a readable value of that parameter's size (the driver
    /// copies them before returning). Every device address passed to the kernel must be valid
    /// for everything the kernel does with it, until the kernel completes.
    pub unsafe fn launch_kernel(
        &self,
        f: CUfunction,
        grid: [u32; 3],
        block: [u32; 3],
        shared_mem_bytes: u32,
        stream: CUstream,
        params: &mut [*mut c_void],
    ) -> Result<(), CUresult> {
        // SAFETY: per the caller; `params` is null only when empty.
        unsafe {
            (self.cuLaunchKernel)(
                f,
                grid[0],
                grid[1],
                grid[2],
                block[0],
                block[1],
                block[2],
                shared_mem_bytes,
                stream,
                null_if_empty(params),
                ptr::null_mut(),
            )
        }
        .result()
    }

    /// `cuLaunchCooperativeKernel`: all blocks are co-resident, so grid-wide synchronisation
    /// is allowed.
    ///
    /// # Safety
    /// As [`Driver::launch_kernel`].
    pub unsafe fn launch_cooperative_kernel(
        &self,
        f: CUfunction,
        grid: [u32; 3],
        block: [u32; 3],
        shared_mem_bytes: u32,
        stream: CUstream,
        params: &mut [*mut c_void],
    ) -> Result<(), CUresult> {
        // SAFETY: per the caller; `params` is null only when empty.
        unsafe {
            (self.cuLaunchCooperativeKernel)(
                f,
                grid[0],
                grid[1],
                grid[2],
                block[0],
                block[1],
                block[2],
                shared_mem_bytes,
                stream,
                null_if_empty(params),
            )
        }
        .result()
    }

    /// `cuOccupancyMaxActiveBlocksPerMultiprocessor`.
    ///
    /// # Safety
    /// `f` must be a valid function handle.
    pub unsafe fn occupancy_max_active_blocks_per_multiprocessor(
        &self,
        f: CUfunction,
        block_size: i32,
        dynamic_smem_bytes: usize,
    ) -> Result<i32, CUresult> {
        let mut n: c_int = 0;
        // SAFETY: `n` is valid for writes; `f` per the caller.
        unsafe {
            (self.cuOccupancyMaxActiveBlocksPerMultiprocessor)(
                &mut n,
                f,
                block_size,
                dynamic_smem_bytes,
            )
        }
        .result()?;
        Ok(n)
    }

    /// `cuOccupancyMaxPotentialBlockSize` with a fixed dynamic shared memory size:
    /// (minimum grid size for full occupancy, block size), or `None` when unavailable.
    ///
    /// # Safety
    /// `f` must be a valid function handle.
    pub unsafe fn occupancy_max_potential_block_size(
        &self,
        f: CUfunction,
        dynamic_smem_bytes: usize,
        block_size_limit: i32,
    ) -> Result<Option<(i32, i32)>, CUresult> {
        let Some(get) = self.cuOccupancyMaxPotentialBlockSize else {
            return Ok(None);
        };
        let (mut grid, mut block): (c_int, c_int) = (0, 0);
        // SAFETY: outputs valid for writes; no size callback; `f` per the caller.
        unsafe {
            get(
                &mut grid,
                &mut block,
                f,
                None,
                dynamic_smem_bytes,
                block_size_limit,
            )
        }
        .result()?;
        Ok(Some((grid, block)))
    }

    // ---- linker ---------------------------------------------------------------------------

    /// `cuLinkCreate` with `options` (logs included); `None` when the driver lacks the linker.
    ///
    /// # Safety
    /// `options` must stay alive (it may move) until [`Driver::link_destroy`]: the driver
    /// writes logs and sizes into it during every `cuLink*` call.
    pub unsafe fn link_create(
        &self,
        options: &mut JitOptions,
    ) -> Result<Option<CUlinkState>, CUresult> {
        let Some(create) = self.cuLinkCreate_v2 else {
            return Ok(None);
        };
        let mut state: CUlinkState = ptr::null_mut();
        // SAFETY: the arrays have `options.len()` entries; their lifetime per the caller.
        unsafe {
            create(
                options.len(),
                options.keys_ptr(),
                options.values_ptr(),
                &mut state,
            )
        }
        .result()?;
        Ok(Some(state))
    }

    /// `cuLinkAddData`: adds a PTX, cubin, fatbin, object or library image. PTX is
    /// NUL-terminated for the caller.
    ///
    /// # Safety
    /// `state` must be a valid link state.
    pub unsafe fn link_add_data(
        &self,
        state: CUlinkState,
        input_type: CUjitInputType,
        data: &[u8],
        name: &str,
    ) -> Result<(), CUresult> {
        let add = self
            .cuLinkAddData_v2
            .ok_or(CUresult::CUDA_ERROR_NOT_SUPPORTED)?;
        let data: Cow<'_, [u8]> = if input_type == CU_JIT_INPUT_PTX {
            prepare_image(data)?
        } else {
            Cow::Borrowed(data)
        };
        let name = c_string(name)?;
        // SAFETY: `data` is readable for its length (the size is passed), `name` is
        // NUL-terminated, no per-input options; the driver copies the input; `state` per the
        // caller.
        unsafe {
            add(
                state,
                input_type,
                data.as_ptr().cast_mut().cast(),
                data.len(),
                name.as_ptr(),
                0,
                ptr::null_mut(),
                ptr::null_mut(),
            )
        }
        .result()
    }

    /// `cuLinkComplete`: the linked cubin, copied out of the link state.
    ///
    /// # Safety
    /// `state` must be a valid link state.
    pub unsafe fn link_complete(&self, state: CUlinkState) -> Result<Vec<u8>, CUresult> {
        let complete = self
            .cuLinkComplete
            .ok_or(CUresult::CUDA_ERROR_NOT_SUPPORTED)?;
        let (mut cubin, mut size): (*mut c_void, usize) = (ptr::null_mut(), 0);
        // SAFETY: outputs valid for writes; `state` per the caller.
        unsafe { complete(state, &mut cubin, &mut size) }.result()?;
        if cubin.is_null() {
            return Err(CUresult::CUDA_ERROR_UNKNOWN);
        }
        // SAFETY: on success the driver returns a buffer of `size` bytes owned by `state`,
        // valid until cuLinkDestroy; it is copied here.
        Ok(unsafe { std::slice::from_raw_parts(cubin.cast::<u8>(), size) }.to_vec())
    }

    /// `cuLinkDestroy`.
    ///
    /// # Safety
    /// `state` must be a valid link state, unused afterwards.
    pub unsafe fn link_destroy(&self, state: CUlinkState) -> Result<(), CUresult> {
        let destroy = self
            .cuLinkDestroy
            .ok_or(CUresult::CUDA_ERROR_NOT_SUPPORTED)?;
        // SAFETY: per the caller.
        unsafe { destroy(state) }.result()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ptx_gets_a_nul_terminator() {
        let img = prepare_image(b".version 8.0").unwrap();
        assert_eq!(&*img, b".version 8.0\0");
        assert!(matches!(img, Cow::Owned(_)));
        let img = prepare_image(b".version 8.0\0garbage").unwrap();
        assert_eq!(&*img, b".version 8.0\0");
        assert!(matches!(img, Cow::Borrowed(_)));
        assert_eq!(prepare_image(b""), Err(CUresult::CUDA_ERROR_INVALID_IMAGE));
    }

    fn fatbin(header_size: u16, fat_size: u64, total: usize) -> Vec<u8> {
        let mut v = vec![0u8; total.max(16)];
        v[0..4].copy_from_slice(&0xBA55_ED50u32.to_le_bytes());
        v[4..6].copy_from_slice(&1u16.to_le_bytes());
        v[6..8].copy_from_slice(&header_size.to_le_bytes());
        v[8..16].copy_from_slice(&fat_size.to_le_bytes());
        v.truncate(total);
        v
    }

    #[test]
    fn fatbin_extent_is_checked() {
        assert!(prepare_image(&fatbin(16, 48, 64)).is_ok());
        assert_eq!(
            prepare_image(&fatbin(16, 49, 64)),
            Err(CUresult::CUDA_ERROR_INVALID_IMAGE)
        );
        assert_eq!(
            prepare_image(&fatbin(16, u64::MAX, 64)),
            Err(CUresult::CUDA_ERROR_INVALID_IMAGE)
        );
        assert_eq!(
            prepare_image(&fatbin(16, 0, 12)),
            Err(CUresult::CUDA_ERROR_INVALID_IMAGE)
        );
        let mut wrapper = vec![0u8; 24];
        wrapper[..4].copy_from_slice(&0x4662_43B1u32.to_le_bytes());
        assert_eq!(
            prepare_image(&wrapper),
            Err(CUresult::CUDA_ERROR_INVALID_IMAGE)
        );
    }

    fn elf(shoff: u64, shnum: u16, section: (u32, u64, u64)) -> Vec<u8> {
        let mut v = vec![0u8; 256];
        v[..4].copy_from_slice(b"\x7fELF");
        v[4] = 2;
        v[5] = 1;
        v[0x28..0x30].copy_from_slice(&shoff.to_le_bytes());
        v[0x3A..0x3C].copy_from_slice(&64u16.to_le_bytes());
        v[0x3C..0x3E].copy_from_slice(&shnum.to_le_bytes());
        let sh = shoff as usize;
        if sh + 64 <= v.len() {
            v[sh + 4..sh + 8].copy_from_slice(&section.0.to_le_bytes());
            v[sh + 0x18..sh + 0x20].copy_from_slice(&section.1.to_le_bytes());
            v[sh + 0x20..sh + 0x28].copy_from_slice(&section.2.to_le_bytes());
        }
        v
    }

    #[test]
    fn elf_extent_is_checked() {
        assert!(prepare_image(&elf(64, 1, (1, 128, 128))).is_ok());
        // Section contents past the end.
        assert!(prepare_image(&elf(64, 1, (1, 128, 129))).is_err());
        // NOBITS sections occupy no file space.
        assert!(prepare_image(&elf(64, 1, (8, 128, 1 << 40))).is_ok());
        // Section header table past the end.
        assert!(prepare_image(&elf(200, 1, (1, 0, 0))).is_err());
        // 32-bit ELF and truncated headers.
        let mut e32 = elf(64, 1, (1, 0, 0));
        e32[4] = 1;
        assert!(prepare_image(&e32).is_err());
        assert!(prepare_image(b"\x7fELF\x02\x01").is_err());
    }

    #[test]
    fn jit_options_layout() {
        let mut jit = JitOptions::new(&[
            JitOption::OptimizationLevel(3),
            JitOption::Target(CU_TARGET_COMPUTE_90),
        ]);
        assert_eq!(jit.len(), 7);
        assert!(!jit.is_empty());
        // SAFETY: both arrays have `len()` entries.
        let (keys, values) = unsafe {
            (
                std::slice::from_raw_parts(jit.keys_ptr(), 7).to_vec(),
                std::slice::from_raw_parts(jit.values_ptr(), 7).to_vec(),
            )
        };
        assert_eq!(
            keys,
            [
                CU_JIT_INFO_LOG_BUFFER,
                CU_JIT_INFO_LOG_BUFFER_SIZE_BYTES,
                CU_JIT_ERROR_LOG_BUFFER,
                CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES,
                CU_JIT_LOG_VERBOSE,
                CU_JIT_OPTIMIZATION_LEVEL,
                CU_JIT_TARGET,
            ]
        );
        assert_eq!(values[1].addr(), JIT_LOG_SIZE);
        assert_eq!(values[3].addr(), JIT_LOG_SIZE);
        assert_eq!(values[4].addr(), 1);
        assert_eq!(values[5].addr(), 3);
        assert_eq!(values[6].addr(), 90);
        assert_eq!(jit.logs(), JitLogs::default());
    }

    #[test]
    fn logs_are_read_up_to_the_filled_size_and_nul() {
        let mut buf = vec![0u8; 16];
        buf[..5].copy_from_slice(b"hello");
        let size = |n: usize| ptr::without_provenance_mut::<c_void>(n);
        assert_eq!(read_log(&buf, size(16)), "hello");
        assert_eq!(read_log(&buf, size(3)), "hel");
        // A size larger than the buffer is clamped.
        assert_eq!(read_log(&buf, size(1 << 20)), "hello");
        // Only the low 32 bits count (the driver writes an unsigned int).
        assert_eq!(read_log(&buf, size((1 << 32) | 2)), "he");
    }

    #[test]
    fn callbacks_run_once_through_the_trampolines() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        use std::sync::Arc;
        let hits = Arc::new(AtomicUsize::new(0));
        let h = hits.clone();
        let f: HostFn = Box::new(move || {
            h.fetch_add(1, Ordering::SeqCst);
        });
        let raw = Box::into_raw(Box::new(f)).cast::<c_void>();
        // SAFETY: `raw` is a leaked Box<HostFn>, reclaimed exactly once here.
        unsafe { host_fn_trampoline(raw) };
        assert_eq!(hits.load(Ordering::SeqCst), 1);

        let h = hits.clone();
        let g: StreamCallbackFn = Box::new(move |status| {
            assert_eq!(status, CUresult::CUDA_ERROR_LAUNCH_FAILED);
            h.fetch_add(10, Ordering::SeqCst);
        });
        let raw = Box::into_raw(Box::new(g)).cast::<c_void>();
        // SAFETY: `raw` is a leaked Box<StreamCallbackFn>, reclaimed exactly once here.
        unsafe {
            stream_callback_trampoline(ptr::null_mut(), CUresult::CUDA_ERROR_LAUNCH_FAILED, raw)
        };
        assert_eq!(hits.load(Ordering::SeqCst), 11);

        // A panicking callback does not unwind out of the trampoline.
        let p: HostFn = Box::new(|| panic!("callback panic"));
        let raw = Box::into_raw(Box::new(p)).cast::<c_void>();
        // SAFETY: as above.
        unsafe { host_fn_trampoline(raw) };
    }
}
