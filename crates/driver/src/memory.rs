//! Device memory, page-locked host memory, and the copies between them.

use std::fmt;
use std::marker::PhantomData;

use bytemuck::Pod;

use crate::context::Context;
use crate::error::{Error, Result};
use crate::platform::{HostAlloc, Pending};

/// A raw device address (`CUdeviceptr`), for FFI and for kernel arguments.
///
/// Holding one keeps nothing alive; the memory belongs to the [`DeviceBuffer`] (or module
/// global) it came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct DevicePtr(u64);

impl DevicePtr {
    /// Wraps a raw address (e.g. one an FFI caller handed over).
    pub fn from_raw(addr: u64) -> DevicePtr {
        DevicePtr(addr)
    }

    /// The raw address.
    pub fn as_raw(self) -> u64 {
        self.0
    }

    /// The address `bytes` further on.
    pub fn offset(self, bytes: u64) -> DevicePtr {
        DevicePtr(self.0.wrapping_add(bytes))
    }
}

impl fmt::Display for DevicePtr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:#x}", self.0)
    }
}

/// `len` elements of `T` in device memory, freed on drop (`cuMemAlloc` / `cuMemFree`).
///
/// The buffer holds its context alive. `Send + Sync` (as `T` is): device memory may be used
/// from any thread.
pub struct DeviceBuffer<T: Pod> {
    ctx: Context,
    addr: u64,
    len: usize,
    /// The primary context's reset count when allocated: memory of an earlier epoch is gone.
    epoch: u64,
    _t: PhantomData<T>,
}

fn byte_len<T>(len: usize) -> Result<u64> {
    len.checked_mul(std::mem::size_of::<T>())
        .map(|b| b as u64)
        .ok_or_else(|| Error::invalid_value(format!("{len} elements overflow the address space")))
}

impl Context {
    /// Allocates `len` elements of device memory with unspecified contents (`cuMemAlloc`).
    /// A zero-length buffer allocates nothing.
    pub fn alloc<T: Pod>(&self, len: usize) -> Result<DeviceBuffer<T>> {
        let bytes = byte_len::<T>(len)?;
        let addr = if bytes == 0 {
            0
        } else {
            self.backend().mem_alloc(bytes)?
        };
        Ok(DeviceBuffer {
            ctx: self.clone(),
            addr,
            len,
            epoch: self.device().primary_epoch(),
            _t: PhantomData,
        })
    }

    /// Allocates `len` zeroed elements.
    pub fn alloc_zeroed<T: Pod>(&self, len: usize) -> Result<DeviceBuffer<T>> {
        let mut b = self.alloc::<T>(len)?;
        b.memset_d8(0)?;
        Ok(b)
    }

    /// Allocates a buffer holding a copy of `src`.
    pub fn upload<T: Pod>(&self, src: &[T]) -> Result<DeviceBuffer<T>> {
        let mut b = self.alloc::<T>(src.len())?;
        b.copy_from_host(src)?;
        Ok(b)
    }
}

impl<T: Pod> DeviceBuffer<T> {
    /// Number of elements.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the buffer has no elements.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Size in bytes.
    pub fn byte_len(&self) -> u64 {
        (self.len * std::mem::size_of::<T>()) as u64
    }

    /// The device address of the first element.
    pub fn device_ptr(&self) -> DevicePtr {
        DevicePtr(self.addr)
    }

    /// The device address of element `i` (at most `len`).
    pub(crate) fn addr_of(&self, i: usize) -> u64 {
        self.addr + (i * std::mem::size_of::<T>()) as u64
    }

    /// The context owning the memory.
    pub fn context(&self) -> &Context {
        &self.ctx
    }

    /// Copies `src` into the buffer (`cuMemcpyHtoD`); lengths must match. For part of the
    /// buffer: [`slice_mut`](Self::slice_mut).
    pub fn copy_from_host(&mut self, src: &[T]) -> Result<()> {
        self.slice_mut(..)?.copy_from_host(src)
    }

    /// Copies the buffer into `dst` (`cuMemcpyDtoH`); lengths must match. For part of the
    /// buffer: [`slice`](Self::slice).
    pub fn copy_to_host(&self, dst: &mut [T]) -> Result<()> {
        self.slice(..)?.copy_to_host(dst)
    }

    /// The buffer's contents.
    pub fn to_vec(&self) -> Result<Vec<T>> {
        self.slice(..)?.to_vec()
    }

    /// Copies another buffer into this one (`cuMemcpyDtoD`, or through the host between
    /// platforms); lengths must match.
    pub fn copy_from_device(&mut self, src: &DeviceBuffer<T>) -> Result<()> {
        self.slice_mut(..)?.copy_from_device(src.slice(..)?)
    }

    /// Sets every byte (`cuMemsetD8`).
    pub fn memset_d8(&mut self, value: u8) -> Result<()> {
        self.slice_mut(..)?.memset_d8(value)
    }

    /// Sets every 16-bit word (`cuMemsetD16`); the size must be a multiple of 2 bytes.
    pub fn memset_d16(&mut self, value: u16) -> Result<()> {
        self.slice_mut(..)?.memset_d16(value)
    }

    /// Sets every 32-bit word (`cuMemsetD32`); the size must be a multiple of 4 bytes.
    pub fn memset_d32(&mut self, value: u32) -> Result<()> {
        self.slice_mut(..)?.memset_d32(value)
    }

    pub(crate) fn fill_count(&self, width: u64) -> Result<u64> {
        crate::slice::fill_count(self.addr, self.byte_len(), width)
    }
}

impl<T: Pod> Drop for DeviceBuffer<T> {
    fn drop(&mut self) {
        if self.addr == 0 {
            return;
        }
        if self.ctx.is_primary() && self.ctx.device().primary_epoch() != self.epoch {
            return; // freed by a primary context reset
        }
        // Errors cannot be returned from drop; a sticky context error also lands here.
        let _ = self.ctx.backend().mem_free(self.addr);
    }
}

impl<T: Pod> fmt::Debug for DeviceBuffer<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DeviceBuffer")
            .field("ptr", &self.device_ptr())
            .field("len", &self.len)
            .field("device", &self.ctx.device())
            .finish()
    }
}

/// Page-locked ("pinned") host memory: the source or destination of truly asynchronous
/// copies (`cuMemHostAlloc`, or `cuMemHostRegister` over an existing `Vec`).
///
/// Like a `Vec` it is `Send + Sync`; its contents are reached through `&mut self`
/// ([`as_slice`](Self::as_slice), [`as_mut_slice`](Self::as_mut_slice)), which first waits
/// for asynchronous copies still using the memory, so no copy can race with Rust code.
pub struct PinnedHostBuffer<T: Pod + Send + Sync> {
    storage: Storage<T>,
    len: usize,
    pending: Vec<Pending>,
    /// Declared last: fields drop in order, and the context must outlive the handles above.
    ctx: Context,
}

enum Storage<T: Pod + Send + Sync> {
    Alloc(Box<dyn HostAlloc>),
    Registered(RegisteredVec<T>),
}

struct RegisteredVec<T: Pod + Send + Sync> {
    // Declared first so it is dropped (unregistered) before the memory is freed.
    registration: Option<Box<dyn Send + Sync>>,
    vec: Vec<T>,
}

impl<T: Pod + Send + Sync> HostAlloc for RegisteredVec<T> {
    fn bytes(&self) -> &[u8] {
        bytemuck::cast_slice(&self.vec)
    }
    fn bytes_mut(&mut self) -> &mut [u8] {
        bytemuck::cast_slice_mut(&mut self.vec)
    }
}

impl<T: Pod + Send + Sync> PinnedHostBuffer<T> {
    /// Allocates `len` zeroed elements of page-locked memory.
    pub fn new(ctx: &Context, len: usize) -> Result<PinnedHostBuffer<T>> {
        if std::mem::align_of::<T>() > 16 {
            return Err(Error::invalid_value(
                "page-locked buffers hold types aligned to at most 16 bytes",
            ));
        }
        let bytes = byte_len::<T>(len)? as usize;
        let mut alloc = ctx.backend().host_alloc(bytes)?;
        alloc.bytes_mut().fill(0);
        Ok(PinnedHostBuffer {
            ctx: ctx.clone(),
            storage: Storage::Alloc(alloc),
            len,
            pending: Vec::new(),
        })
    }

    /// Page-locks an existing allocation (`cuMemHostRegister`); [`into_vec`](Self::into_vec)
    /// unregisters it and gives it back.
    pub fn register(ctx: &Context, vec: Vec<T>) -> Result<PinnedHostBuffer<T>> {
        let len = vec.len();
        let bytes = byte_len::<T>(len)? as usize;
        let registration = if bytes == 0 {
            None
        } else {
            Some(ctx.backend().host_register(vec.as_ptr() as usize, bytes)?)
        };
        Ok(PinnedHostBuffer {
            ctx: ctx.clone(),
            storage: Storage::Registered(RegisteredVec { vec, registration }),
            len,
            pending: Vec::new(),
        })
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the buffer has no elements.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The context the memory is registered with.
    pub fn context(&self) -> &Context {
        &self.ctx
    }

    /// Waits for every asynchronous copy still using the buffer; returns the first error.
    pub fn synchronize(&mut self) -> Result<()> {
        let mut first = Ok(());
        for p in std::mem::take(&mut self.pending) {
            let r = match p {
                Pending::Event(e) => e.synchronize(),
                Pending::Fill { offset, bytes } => {
                    match bytes.into_inner().unwrap_or_else(|p| p.into_inner()).recv() {
                        Ok(Ok(b)) => {
                            let dst = self.host_mut().bytes_mut();
                            match dst.get_mut(offset..offset + b.len()) {
                                Some(d) => {
                                    d.copy_from_slice(&b);
                                    Ok(())
                                }
                                None => Err(Error::invalid_value("asynchronous copy out of range")),
                            }
                        }
                        Ok(Err(e)) => Err(e),
                        // The stream dropped the copy: its context has failed.
                        Err(_) => self.ctx.synchronize(),
                    }
                }
            };
            if first.is_ok() {
                first = r;
            }
        }
        first
    }

    /// The contents, once pending asynchronous copies are done.
    pub fn as_slice(&mut self) -> Result<&[T]> {
        self.synchronize()?;
        bytemuck::try_cast_slice(self.host().bytes())
            .map_err(|e| Error::invalid_value(format!("page-locked buffer: {e}")))
    }

    /// The contents for writing, once pending asynchronous copies are done.
    pub fn as_mut_slice(&mut self) -> Result<&mut [T]> {
        self.synchronize()?;
        bytemuck::try_cast_slice_mut(self.host_mut().bytes_mut())
            .map_err(|e| Error::invalid_value(format!("page-locked buffer: {e}")))
    }

    /// Unregisters a buffer made by [`register`](Self::register) and returns its `Vec`;
    /// a buffer from [`new`](Self::new) is copied into a new `Vec`.
    pub fn into_vec(mut self) -> Result<Vec<T>> {
        self.synchronize()?;
        match std::mem::replace(&mut self.storage, Storage::Registered(empty_registered())) {
            Storage::Registered(mut r) => {
                r.registration.take();
                Ok(std::mem::take(&mut r.vec))
            }
            Storage::Alloc(a) => bytemuck::try_cast_slice(a.bytes())
                .map(|s: &[T]| s.to_vec())
                .map_err(|e| Error::invalid_value(format!("page-locked buffer: {e}"))),
        }
    }

    pub(crate) fn host(&self) -> &dyn HostAlloc {
        match &self.storage {
            Storage::Alloc(a) => a.as_ref(),
            Storage::Registered(r) => r,
        }
    }

    pub(crate) fn host_mut(&mut self) -> &mut dyn HostAlloc {
        match &mut self.storage {
            Storage::Alloc(a) => a.as_mut(),
            Storage::Registered(r) => r,
        }
    }

    pub(crate) fn add_pending(&mut self, p: Pending) {
        self.pending.push(p);
    }
}

fn empty_registered<T: Pod + Send + Sync>() -> RegisteredVec<T> {
    RegisteredVec {
        vec: Vec::new(),
        registration: None,
    }
}

impl<T: Pod + Send + Sync> Drop for PinnedHostBuffer<T> {
    fn drop(&mut self) {
        // The device may still write into the memory: wait before it is freed.
        let _ = self.synchronize();
    }
}

impl<T: Pod + Send + Sync> fmt::Debug for PinnedHostBuffer<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PinnedHostBuffer")
            .field("len", &self.len)
            .field("pending", &self.pending.len())
            .finish()
    }
}
