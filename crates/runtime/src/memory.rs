//! Device memory, page-locked host memory and copies: `cudaMalloc`, `cudaFree`,
//! `cudaMemcpy`, `cudaMemset`, `cudaMallocHost`.
//!
//! Memory is typed ([`DeviceVec<T>`] for `T: Pod`) and freed on drop, so the CUDA bugs of
//! double frees and leaks cannot happen; [`free`] exists for code that wants the error a
//! free reports. [`memcpy`] keeps `cudaMemcpy`'s shape: destination, source, a count in
//! bytes and a [`MemcpyKind`]; with [`MemcpyKind::Default`] the direction comes from the
//! driver's pointer attributes.

use std::fmt;

use std::ops::RangeBounds;

use driver::{
    DeviceBuffer, DevicePtr, DeviceRepr, DeviceSlice, DeviceSliceMut, KernelArg, MemoryKind,
    PinnedHostBuffer,
};
use ferrocuda_driver as driver;
use ferrocuda_driver::bytemuck::{self, Pod};

use crate::error::{Error, ErrorCode, Result};
use crate::state::{primary_generation, record, scope};
use crate::stream::Stream;

/// `len` elements of `T` in device memory (what `cudaMalloc` returns), freed on drop.
///
/// It belongs to the context that was current when it was allocated (normally the device's
/// primary context). Passing it to `launch!` passes its device address.
pub struct DeviceVec<T: Pod> {
    buf: DeviceBuffer<T>,
    /// `(device, generation)` of the primary context it was allocated in: after a
    /// [`device_reset`](crate::device_reset) the memory is gone and using it is an error.
    primary: Option<(usize, u64)>,
}

impl<T: Pod> DeviceVec<T> {
    /// Number of elements.
    pub fn len(&self) -> usize {
        self.buf.len()
    }

    /// Whether it holds no elements.
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// Size in bytes.
    pub fn byte_len(&self) -> u64 {
        self.buf.byte_len()
    }

    /// The device address (the `T*` a CUDA program would hold).
    pub fn as_ptr(&self) -> DevicePtr {
        self.buf.device_ptr()
    }

    /// The ordinal of the device the memory is on.
    pub fn device(&self) -> usize {
        self.buf.context().device().ordinal()
    }

    /// The whole contents, copied to the host.
    pub fn to_vec(&self) -> Result<Vec<T>> {
        let s = scope()?;
        s.run_rt(|_| {
            self.check_alive()?;
            self.buf.to_vec().map_err(Error::from)
        })
    }

    /// Elements `r`, as a copy source: `memcpy(&mut host, &d.slice(4..8)?, 16, …)` is C's
    /// `cudaMemcpy(host, d + 4, 16, …)`. `cudaErrorInvalidValue` when `r` is not inside.
    pub fn slice(&self, r: impl RangeBounds<usize>) -> Result<DeviceSlice<'_, T>> {
        record(|| {
            self.check_alive()?;
            self.buf.slice(r).map_err(Error::from)
        })
    }

    /// Elements `r`, as a copy destination.
    pub fn slice_mut(&mut self, r: impl RangeBounds<usize>) -> Result<DeviceSliceMut<'_, T>> {
        record(|| {
            self.check_alive()?;
            self.buf.slice_mut(r).map_err(Error::from)
        })
    }

    /// `cudaErrorInvalidDevicePointer` when a device reset freed the memory.
    #[inline]
    fn check_alive(&self) -> Result<()> {
        match self.primary {
            Some((ordinal, generation)) if primary_generation(ordinal) != generation => {
                Err(Error::with_detail(
                    ErrorCode::InvalidDevicePointer,
                    format!(
                        "{:#x} was allocated before device_reset destroyed the primary context \
                         of device {ordinal}",
                        self.as_ptr().as_raw()
                    ),
                ))
            }
            _ => Ok(()),
        }
    }

    /// The driver-layer buffer underneath, for mixing runtime and driver code.
    pub fn as_driver(&self) -> &DeviceBuffer<T> {
        &self.buf
    }

    /// The driver-layer buffer underneath, mutably.
    pub fn as_driver_mut(&mut self) -> &mut DeviceBuffer<T> {
        &mut self.buf
    }
}

impl<T: Pod> fmt::Debug for DeviceVec<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DeviceVec")
            .field("ptr", &self.as_ptr())
            .field("len", &self.len())
            .field("device", &self.device())
            .finish()
    }
}

impl<T: Pod> DeviceRepr for DeviceVec<T> {
    /// The device address; a null pointer once a device reset freed the memory, so a kernel
    /// using it faults loudly instead of writing into whatever was allocated there since.
    fn as_kernel_arg(&self) -> KernelArg<'_> {
        if self.check_alive().is_err() {
            return KernelArg::bytes(&[0u8; 8]);
        }
        self.buf.as_kernel_arg()
    }
}

/// Allocates device memory for `len` elements of `T` (`cudaMalloc` of
/// `len * size_of::<T>()` bytes) in the runtime's current context. Contents are unspecified,
/// as with `cudaMalloc`.
pub fn malloc<T: Pod>(len: usize) -> Result<DeviceVec<T>> {
    let s = scope()?;
    let buf = s.run(|c| c.alloc::<T>(len))?;
    Ok(DeviceVec {
        buf,
        primary: s.primary,
    })
}

/// Allocates device memory holding a copy of `src` (`cudaMalloc` + `cudaMemcpy`).
pub fn malloc_from<T: Pod>(src: &[T]) -> Result<DeviceVec<T>> {
    let s = scope()?;
    let buf = s.run(|c| c.upload(src))?;
    Ok(DeviceVec {
        buf,
        primary: s.primary,
    })
}

/// Frees device memory (`cudaFree`). Dropping a [`DeviceVec`] frees it too; this form
/// returns the error CUDA would report, such as a sticky error of the context.
pub fn free<T: Pod>(mem: DeviceVec<T>) -> Result<()> {
    let s = scope()?;
    drop(mem);
    // A sticky error raised by work still using the memory surfaces here, as with cudaFree.
    s.run(|c| c.synchronize())
}

/// The direction of a [`memcpy`] (`cudaMemcpyKind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MemcpyKind {
    /// `cudaMemcpyHostToHost`.
    HostToHost,
    /// `cudaMemcpyHostToDevice`.
    HostToDevice,
    /// `cudaMemcpyDeviceToHost`.
    DeviceToHost,
    /// `cudaMemcpyDeviceToDevice`.
    DeviceToDevice,
    /// `cudaMemcpyDefault`: the direction is inferred from the pointers' attributes.
    Default,
}

impl MemcpyKind {
    /// The CUDA name (`"cudaMemcpyHostToDevice"`).
    pub fn name(self) -> &'static str {
        match self {
            MemcpyKind::HostToHost => "cudaMemcpyHostToHost",
            MemcpyKind::HostToDevice => "cudaMemcpyHostToDevice",
            MemcpyKind::DeviceToHost => "cudaMemcpyDeviceToHost",
            MemcpyKind::DeviceToDevice => "cudaMemcpyDeviceToDevice",
            MemcpyKind::Default => "cudaMemcpyDefault",
        }
    }
}

/// Where a copy reads from: host memory or device memory.
pub enum Src<'a, T: Pod> {
    /// Host memory.
    Host(&'a [T]),
    /// Driver-layer device memory.
    Device(&'a DeviceBuffer<T>),
    /// Runtime-allocated device memory (checked against device resets).
    Runtime(&'a DeviceVec<T>),
    /// Part of device memory ([`DeviceVec::slice`], [`DeviceBuffer::slice`]).
    Slice(DeviceSlice<'a, T>),
}

/// Where a copy writes to: host memory or device memory.
pub enum Dst<'a, T: Pod> {
    /// Host memory.
    Host(&'a mut [T]),
    /// Driver-layer device memory.
    Device(&'a mut DeviceBuffer<T>),
    /// Runtime-allocated device memory (checked against device resets).
    Runtime(&'a mut DeviceVec<T>),
    /// Part of device memory ([`DeviceVec::slice_mut`], [`DeviceBuffer::slice_mut`]).
    Slice(DeviceSliceMut<'a, T>),
}

/// Anything [`memcpy`] can read from: host slices, vectors and arrays, and device memory.
pub trait MemcpySrc<T: Pod> {
    /// The memory to read.
    fn memcpy_src(&self) -> Src<'_, T>;
}

/// Anything [`memcpy`] can write to: host slices, vectors and arrays, and device memory.
pub trait MemcpyDst<T: Pod> {
    /// The memory to write.
    fn memcpy_dst(&mut self) -> Dst<'_, T>;
}

impl<T: Pod> MemcpySrc<T> for [T] {
    fn memcpy_src(&self) -> Src<'_, T> {
        Src::Host(self)
    }
}
impl<T: Pod> MemcpySrc<T> for Vec<T> {
    fn memcpy_src(&self) -> Src<'_, T> {
        Src::Host(self)
    }
}
impl<T: Pod, const N: usize> MemcpySrc<T> for [T; N] {
    fn memcpy_src(&self) -> Src<'_, T> {
        Src::Host(self)
    }
}
impl<T: Pod> MemcpySrc<T> for DeviceVec<T> {
    fn memcpy_src(&self) -> Src<'_, T> {
        Src::Runtime(self)
    }
}
impl<T: Pod> MemcpySrc<T> for DeviceBuffer<T> {
    fn memcpy_src(&self) -> Src<'_, T> {
        Src::Device(self)
    }
}
impl<T: Pod> MemcpySrc<T> for DeviceSlice<'_, T> {
    fn memcpy_src(&self) -> Src<'_, T> {
        Src::Slice(*self)
    }
}
impl<T: Pod> MemcpySrc<T> for DeviceSliceMut<'_, T> {
    fn memcpy_src(&self) -> Src<'_, T> {
        Src::Slice(self.as_slice())
    }
}
impl<T: Pod> MemcpyDst<T> for [T] {
    fn memcpy_dst(&mut self) -> Dst<'_, T> {
        Dst::Host(self)
    }
}
impl<T: Pod> MemcpyDst<T> for Vec<T> {
    fn memcpy_dst(&mut self) -> Dst<'_, T> {
        Dst::Host(self)
    }
}
impl<T: Pod, const N: usize> MemcpyDst<T> for [T; N] {
    fn memcpy_dst(&mut self) -> Dst<'_, T> {
        Dst::Host(self)
    }
}
impl<T: Pod> MemcpyDst<T> for DeviceVec<T> {
    fn memcpy_dst(&mut self) -> Dst<'_, T> {
        Dst::Runtime(self)
    }
}
impl<T: Pod> MemcpyDst<T> for DeviceBuffer<T> {
    fn memcpy_dst(&mut self) -> Dst<'_, T> {
        Dst::Device(self)
    }
}

impl<T: Pod> MemcpyDst<T> for DeviceSliceMut<'_, T> {
    fn memcpy_dst(&mut self) -> Dst<'_, T> {
        Dst::Slice(self.reborrow())
    }
}

/// Which side of a copy an endpoint is on, as its pointer attributes say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    Host,
    Device,
}

/// The side of a device endpoint from the driver's pointer attributes
/// (`cudaPointerGetAttributes`): device memory, page-locked host memory, or unknown.
fn device_side(buf_addr: u64, len: usize) -> Result<Side> {
    if len == 0 {
        return Ok(Side::Device);
    }
    let info = driver::pointer_info(buf_addr).map_err(Error::from)?;
    match info.kind {
        MemoryKind::Device => Ok(Side::Device),
        MemoryKind::Host => Ok(Side::Host),
        MemoryKind::Unknown => Err(Error::with_detail(
            ErrorCode::InvalidDevicePointer,
            format!("{buf_addr:#x} is not device memory (freed, or its context was reset)"),
        )),
    }
}

fn direction(kind: MemcpyKind, dst: Side, src: Side) -> Result<()> {
    let want = match kind {
        MemcpyKind::Default => return Ok(()),
        MemcpyKind::HostToHost => (Side::Host, Side::Host),
        MemcpyKind::HostToDevice => (Side::Device, Side::Host),
        MemcpyKind::DeviceToHost => (Side::Host, Side::Device),
        MemcpyKind::DeviceToDevice => (Side::Device, Side::Device),
    };
    if want == (dst, src) {
        return Ok(());
    }
    let name = |s: Side| match s {
        Side::Host => "host",
        Side::Device => "device",
    };
    Err(Error::with_detail(
        ErrorCode::InvalidMemcpyDirection,
        format!(
            "{} given for a copy from {} to {} memory",
            kind.name(),
            name(src),
            name(dst)
        ),
    ))
}

/// Number of whole elements in `count` bytes, checked against both endpoints.
fn elements<T>(count: usize, dst_len: usize, src_len: usize) -> Result<usize> {
    let size = std::mem::size_of::<T>().max(1);
    if count % size != 0 {
        return Err(Error::with_detail(
            ErrorCode::InvalidValue,
            format!("{count} bytes is not a whole number of {size}-byte elements"),
        ));
    }
    let n = count / size;
    if n > dst_len || n > src_len {
        return Err(Error::with_detail(
            ErrorCode::InvalidValue,
            format!(
                "copy of {count} bytes: destination holds {} bytes, source {}",
                dst_len * size,
                src_len * size
            ),
        ));
    }
    Ok(n)
}

/// Copies `count` bytes from the start of `src` to the start of `dst` (`cudaMemcpy`). For an
/// offset into device memory (C's `d + i`), pass a slice: `&mut d.slice_mut(i..)?` or
/// `&d.slice(i..)?`. Only the bytes copied move, whatever the size of the allocation.
///
/// Synchronous with respect to the host, as `cudaMemcpy` is. `kind` must match the
/// endpoints (`cudaErrorInvalidMemcpyDirection` otherwise); [`MemcpyKind::Default`] takes the
/// direction from the pointer attributes. A count larger than either side is
/// `cudaErrorInvalidValue`.
///
/// ```no_run
/// # use ferrocuda_runtime::*;
/// # fn main() -> Result<()> {
/// let h_a = vec![1.0f32; 256];
/// let mut d_a = malloc::<f32>(256)?;
/// memcpy(&mut d_a, &h_a, 256 * 4, MemcpyKind::HostToDevice)?;
/// # Ok(()) }
/// ```
pub fn memcpy<T, D, S>(dst: &mut D, src: &S, count: usize, kind: MemcpyKind) -> Result<()>
where
    T: Pod,
    D: MemcpyDst<T> + ?Sized,
    S: MemcpySrc<T> + ?Sized,
{
    let s = scope()?;
    s.run_rt(|_| copy(dst.memcpy_dst(), src.memcpy_src(), count, kind))
}

/// A resolved copy source: host memory or device memory.
enum Source<'a, T: Pod> {
    Host(&'a [T]),
    Device(DeviceSlice<'a, T>),
}

/// A resolved copy destination: host memory or device memory.
enum Target<'a, T: Pod> {
    Host(&'a mut [T]),
    Device(DeviceSliceMut<'a, T>),
}

/// Resolves a source, refusing runtime memory a device reset freed.
fn resolve_src<T: Pod>(src: Src<'_, T>) -> Result<Source<'_, T>> {
    Ok(match src {
        Src::Host(h) => Source::Host(h),
        Src::Device(b) => Source::Device(b.slice(..).map_err(Error::from)?),
        Src::Runtime(v) => {
            v.check_alive()?;
            Source::Device(v.buf.slice(..).map_err(Error::from)?)
        }
        Src::Slice(s) => Source::Device(s),
    })
}

/// Resolves a destination, refusing runtime memory a device reset freed.
fn resolve_dst<T: Pod>(dst: Dst<'_, T>) -> Result<Target<'_, T>> {
    Ok(match dst {
        Dst::Host(h) => Target::Host(h),
        Dst::Device(b) => Target::Device(b.slice_mut(..).map_err(Error::from)?),
        Dst::Runtime(v) => {
            v.check_alive()?;
            Target::Device(v.buf.slice_mut(..).map_err(Error::from)?)
        }
        Dst::Slice(s) => Target::Device(s),
    })
}

fn copy<T: Pod>(dst: Dst<'_, T>, src: Src<'_, T>, count: usize, kind: MemcpyKind) -> Result<()> {
    copy_resolved(resolve_dst(dst)?, resolve_src(src)?, count, kind)
}

fn copy_resolved<T: Pod>(
    dst: Target<'_, T>,
    src: Source<'_, T>,
    count: usize,
    kind: MemcpyKind,
) -> Result<()> {
    let (src_side, src_len) = match &src {
        Source::Host(h) => (Side::Host, h.len()),
        Source::Device(b) => (device_side(b.device_ptr().as_raw(), b.len())?, b.len()),
    };
    let (dst_side, dst_len) = match &dst {
        Target::Host(h) => (Side::Host, h.len()),
        Target::Device(b) => (device_side(b.device_ptr().as_raw(), b.len())?, b.len()),
    };
    direction(kind, dst_side, src_side)?;
    let n = elements::<T>(count, dst_len, src_len)?;
    if n == 0 {
        return Ok(());
    }
    let e = Error::from;
    match (dst, src) {
        (Target::Host(d), Source::Host(s)) => {
            d[..n].copy_from_slice(&s[..n]);
            Ok(())
        }
        (Target::Device(mut d), Source::Host(s)) => {
            let mut d = d.slice_mut(..n).map_err(e)?;
            match crate::state::staged_copier(d.context(), std::mem::size_of_val(&s[..n])) {
                Some(copier) => copier.upload(d, &s[..n]).map_err(e),
                None => d.copy_from_host(&s[..n]).map_err(e),
            }
        }
        (Target::Host(d), Source::Device(s)) => {
            let s = s.slice(..n).map_err(e)?;
            match crate::state::staged_copier(s.context(), std::mem::size_of_val(&d[..n])) {
                Some(copier) => copier.download(&mut d[..n], s).map_err(e),
                None => s.copy_to_host(&mut d[..n]).map_err(e),
            }
        }
        (Target::Device(mut d), Source::Device(s)) => d
            .slice_mut(..n)
            .map_err(e)?
            .copy_from_device(s.slice(..n).map_err(e)?)
            .map_err(e),
    }
}

/// Copies `count` bytes in `stream` order (`cudaMemcpyAsync`).
///
/// Whole-buffer copies between device memory and host memory are queued on the stream;
/// other shapes wait for the stream and copy synchronously, which gives the same result.
pub fn memcpy_async<T, D, S>(
    dst: &mut D,
    src: &S,
    count: usize,
    kind: MemcpyKind,
    stream: &Stream,
) -> Result<()>
where
    T: Pod,
    D: MemcpyDst<T> + ?Sized,
    S: MemcpySrc<T> + ?Sized,
{
    let s = scope()?;
    s.run_rt(|_| {
        let (dst, src) = (
            resolve_dst(dst.memcpy_dst())?,
            resolve_src(src.memcpy_src())?,
        );
        let st = stream.as_driver();
        let e = Error::from;
        match (dst, src) {
            (Target::Device(d), Source::Host(h))
                if count == std::mem::size_of_val(h) && h.len() == d.len() =>
            {
                direction(kind, Side::Device, Side::Host)?;
                st.memcpy_htod_slice_async(d, h).map_err(e)
            }
            (Target::Host(h), Source::Device(d))
                if count == std::mem::size_of_val(h) && h.len() == d.len() =>
            {
                direction(kind, Side::Host, Side::Device)?;
                st.memcpy_dtoh_slice_async(h, d).map_err(e)
            }
            (dst, src) => {
                st.synchronize().map_err(e)?;
                copy_resolved(dst, src, count, kind)
            }
        }
    })
}

/// Sets the first `count` bytes of `dst` to `value` (`cudaMemset`).
pub fn memset<T: Pod>(dst: &mut DeviceVec<T>, value: u8, count: usize) -> Result<()> {
    let s = scope()?;
    s.run_rt(|_| {
        let bytes = dst.byte_len();
        if count as u64 > bytes {
            return Err(Error::with_detail(
                ErrorCode::InvalidValue,
                format!("memset of {count} bytes over a {bytes}-byte allocation"),
            ));
        }
        dst.check_alive()?;
        if count == 0 {
            return Ok(());
        }
        let e = Error::from;
        // Whole elements in place; a last, partly covered element through the host.
        let size = std::mem::size_of::<T>();
        let (whole, tail) = (count / size, count % size);
        dst.buf
            .slice_mut(..whole)
            .map_err(e)?
            .memset_d8(value)
            .map_err(e)?;
        if tail > 0 {
            let mut last = dst.buf.slice_mut(whole..whole + 1).map_err(e)?;
            let mut v = [T::zeroed()];
            last.copy_to_host(&mut v).map_err(e)?;
            bytemuck::bytes_of_mut(&mut v[0])[..tail].fill(value);
            last.copy_from_host(&v).map_err(e)?;
        }
        Ok(())
    })
}

/// Page-locked host memory (`cudaMallocHost`): the fast path for copies, and the memory
/// asynchronous copies need. Freed on drop (`cudaFreeHost`).
pub struct HostVec<T: Pod + Send + Sync> {
    buf: PinnedHostBuffer<T>,
}

impl<T: Pod + Send + Sync> HostVec<T> {
    /// Number of elements.
    pub fn len(&self) -> usize {
        self.buf.len()
    }

    /// Whether it holds no elements.
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// The contents, after any asynchronous copy into them has finished.
    pub fn as_slice(&mut self) -> Result<&[T]> {
        self.buf.as_slice().map_err(Error::from)
    }

    /// The contents, mutably, after any asynchronous copy using them has finished.
    pub fn as_mut_slice(&mut self) -> Result<&mut [T]> {
        self.buf.as_mut_slice().map_err(Error::from)
    }

    /// The driver-layer buffer underneath.
    pub fn as_driver_mut(&mut self) -> &mut PinnedHostBuffer<T> {
        &mut self.buf
    }
}

/// Allocates page-locked host memory for `len` elements (`cudaMallocHost`), zeroed.
pub fn malloc_host<T: Pod + Send + Sync>(len: usize) -> Result<HostVec<T>> {
    let s = scope()?;
    let buf = s.run(|c| PinnedHostBuffer::new(c, len))?;
    Ok(HostVec { buf })
}

/// Frees page-locked host memory (`cudaFreeHost`); dropping the [`HostVec`] does the same.
pub fn free_host<T: Pod + Send + Sync>(mem: HostVec<T>) -> Result<()> {
    drop(mem);
    Ok(())
}

/// `(free, total)` bytes of device memory in the runtime's context (`cudaMemGetInfo`).
pub fn mem_get_info() -> Result<(u64, u64)> {
    let s = scope()?;
    s.run(|c| c.mem_get_info())
}

/// What the runtime knows about a device address (`cudaPointerGetAttributes`).
pub fn pointer_get_attributes(ptr: DevicePtr) -> Result<driver::PointerInfo> {
    let s = scope()?;
    s.run(|_| driver::pointer_info(ptr.as_raw()))
}

crate::embed_module!(RUNTIME_KERNELS = "kernels/copy.ptx");

/// Copies `bytes` bytes between raw device addresses with the runtime's copy kernel, in the
/// runtime's current context (the driver layer copies whole buffers only).
fn copy_raw(dst: u64, src: u64, bytes: u64) -> Result<()> {
    if bytes == 0 {
        return Ok(());
    }
    let grid = bytes.div_ceil(256);
    crate::launch_kernel(
        &RUNTIME_KERNELS.kernel("ferrocuda_copy_bytes"),
        grid,
        256u32,
        0,
        None,
        &[&dst, &src, &bytes],
    )?;
    crate::device_synchronize()
}

/// Copies device memory at `symbol` (an address from [`crate::Module::global`] or
/// [`crate::EmbeddedModule::global`]) into `dst` (`cudaMemcpyFromSymbol`).
pub fn memcpy_from_symbol(dst: &mut [u8], symbol: DevicePtr) -> Result<()> {
    let staging = malloc::<u8>(dst.len())?;
    copy_raw(staging.as_ptr().as_raw(), symbol.as_raw(), dst.len() as u64)?;
    let s = scope()?;
    s.run(|_| staging.buf.copy_to_host(dst))
}

/// Copies `src` into device memory at `symbol` (`cudaMemcpyToSymbol`).
pub fn memcpy_to_symbol(symbol: DevicePtr, src: &[u8]) -> Result<()> {
    let staging = malloc_from(src)?;
    copy_raw(symbol.as_raw(), staging.as_ptr().as_raw(), src.len() as u64)
}
