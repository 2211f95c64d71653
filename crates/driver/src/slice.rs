//! Parts of a [`DeviceBuffer`]: copies and fills of a range of its elements, as
//! `cuMemcpyHtoD(dptr + offset, …)` does in C, without touching the rest of the buffer.
//!
//! A [`DeviceSlice`] borrows the buffer shared, a [`DeviceSliceMut`] exclusively, so Rust's
//! borrow rules keep a copy into one part from racing a read of the same part. Ranges are
//! checked when the slice is made; offsets never leave the buffer.

use std::fmt;
use std::marker::PhantomData;
use std::ops::{Bound, RangeBounds};

use bytemuck::Pod;

use crate::context::Context;
use crate::error::{Error, Result};
use crate::memory::{DeviceBuffer, DevicePtr};
use crate::platform::Fill;

/// Elements of a [`DeviceBuffer`], readable: [`DeviceBuffer::slice`].
pub struct DeviceSlice<'a, T: Pod> {
    ctx: &'a Context,
    addr: u64,
    len: usize,
    _t: PhantomData<&'a [T]>,
}

/// Elements of a [`DeviceBuffer`], writable: [`DeviceBuffer::slice_mut`].
pub struct DeviceSliceMut<'a, T: Pod> {
    ctx: &'a Context,
    addr: u64,
    len: usize,
    _t: PhantomData<&'a mut [T]>,
}

impl<T: Pod> Clone for DeviceSlice<'_, T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T: Pod> Copy for DeviceSlice<'_, T> {}

/// `(first element, count)` of `r` within `len` elements; `CUDA_ERROR_INVALID_VALUE` when it
/// does not lie inside.
fn bounds(len: usize, r: impl RangeBounds<usize>) -> Result<(usize, usize)> {
    let start = match r.start_bound() {
        Bound::Included(&s) => Some(s),
        Bound::Excluded(&s) => s.checked_add(1),
        Bound::Unbounded => Some(0),
    };
    let end = match r.end_bound() {
        Bound::Included(&e) => e.checked_add(1),
        Bound::Excluded(&e) => Some(e),
        Bound::Unbounded => Some(len),
    };
    match (start, end) {
        (Some(s), Some(e)) if s <= e && e <= len => Ok((s, e - s)),
        _ => Err(Error::invalid_value(format!(
            "range {:?}..{:?} of a device buffer of {len} elements",
            r.start_bound(),
            r.end_bound()
        ))),
    }
}

/// How many `width`-byte words a memset of `bytes` bytes at `addr` writes; the range must be
/// whole, aligned words (`CUDA_ERROR_INVALID_VALUE` otherwise).
pub(crate) fn fill_count(addr: u64, bytes: u64, width: u64) -> Result<u64> {
    if bytes % width != 0 || addr % width != 0 {
        return Err(Error::invalid_value(format!(
            "memset of {}-bit words over {bytes} bytes at {addr:#x}",
            width * 8
        )));
    }
    Ok(bytes / width)
}

fn check_len(what: &str, device: usize, host: usize) -> Result<()> {
    if device == host {
        Ok(())
    } else {
        Err(Error::invalid_value(format!(
            "{what}: device memory has {device} elements, the other side {host}"
        )))
    }
}

/// What both kinds of slice answer.
macro_rules! slice_accessors {
    ($t:ident) => {
        impl<'a, T: Pod> $t<'a, T> {
            /// Number of elements.
            pub fn len(&self) -> usize {
                self.len
            }

            /// Whether the slice has no elements.
            pub fn is_empty(&self) -> bool {
                self.len == 0
            }

            /// The device address of the first element.
            pub fn device_ptr(&self) -> DevicePtr {
                DevicePtr::from_raw(self.addr)
            }

            /// The context owning the memory.
            pub fn context(&self) -> &'a Context {
                self.ctx
            }
        }

        impl<T: Pod> fmt::Debug for $t<'_, T> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(stringify!($t))
                    .field("ptr", &self.device_ptr())
                    .field("len", &self.len)
                    .finish()
            }
        }
    };
}

impl<T: Pod> DeviceBuffer<T> {
    /// Elements `r` of the buffer, for reading (copies to the host or to other device
    /// memory). `CUDA_ERROR_INVALID_VALUE` when `r` is not inside the buffer.
    pub fn slice(&self, r: impl RangeBounds<usize>) -> Result<DeviceSlice<'_, T>> {
        let (start, len) = bounds(self.len(), r)?;
        Ok(DeviceSlice {
            ctx: self.context(),
            addr: self.addr_of(start),
            len,
            _t: PhantomData,
        })
    }

    /// Elements `r` of the buffer, for writing (copies into it, fills).
    /// `CUDA_ERROR_INVALID_VALUE` when `r` is not inside the buffer.
    pub fn slice_mut(&mut self, r: impl RangeBounds<usize>) -> Result<DeviceSliceMut<'_, T>> {
        let (start, len) = bounds(self.len(), r)?;
        Ok(DeviceSliceMut {
            addr: self.addr_of(start),
            ctx: self.context(),
            len,
            _t: PhantomData,
        })
    }
}

slice_accessors!(DeviceSlice);
slice_accessors!(DeviceSliceMut);

impl<'a, T: Pod> DeviceSlice<'a, T> {
    /// Elements `r` of this slice.
    pub fn slice(&self, r: impl RangeBounds<usize>) -> Result<DeviceSlice<'a, T>> {
        let (start, len) = bounds(self.len, r)?;
        Ok(DeviceSlice {
            ctx: self.ctx,
            addr: self.addr + (start * std::mem::size_of::<T>()) as u64,
            len,
            _t: PhantomData,
        })
    }

    /// Copies the slice into `dst` (`cuMemcpyDtoH`); lengths must match.
    pub fn copy_to_host(&self, dst: &mut [T]) -> Result<()> {
        check_len("copy_to_host", self.len, dst.len())?;
        if self.len == 0 {
            return Ok(());
        }
        self.ctx
            .backend()
            .memcpy_dtoh(bytemuck::cast_slice_mut(dst), self.addr)
    }

    /// The slice's contents.
    pub fn to_vec(&self) -> Result<Vec<T>> {
        let mut v = vec![T::zeroed(); self.len];
        self.copy_to_host(&mut v)?;
        Ok(v)
    }
}

impl<'a, T: Pod> DeviceSliceMut<'a, T> {
    /// Elements `r` of this slice, for writing.
    pub fn slice_mut(&mut self, r: impl RangeBounds<usize>) -> Result<DeviceSliceMut<'_, T>> {
        let (start, len) = bounds(self.len, r)?;
        Ok(DeviceSliceMut {
            ctx: self.ctx,
            addr: self.addr + (start * std::mem::size_of::<T>()) as u64,
            len,
            _t: PhantomData,
        })
    }

    /// The same elements, borrowed again for a shorter time (to pass on by value and keep).
    pub fn reborrow(&mut self) -> DeviceSliceMut<'_, T> {
        DeviceSliceMut {
            ctx: self.ctx,
            addr: self.addr,
            len: self.len,
            _t: PhantomData,
        }
    }

    /// The same elements, for reading.
    pub fn as_slice(&self) -> DeviceSlice<'_, T> {
        DeviceSlice {
            ctx: self.ctx,
            addr: self.addr,
            len: self.len,
            _t: PhantomData,
        }
    }

    /// Copies `src` into the slice (`cuMemcpyHtoD`); lengths must match.
    pub fn copy_from_host(&mut self, src: &[T]) -> Result<()> {
        check_len("copy_from_host", self.len, src.len())?;
        if self.len == 0 {
            return Ok(());
        }
        self.ctx
            .backend()
            .memcpy_htod(self.addr, bytemuck::cast_slice(src))
    }

    /// Copies the slice into `dst` (`cuMemcpyDtoH`); lengths must match.
    pub fn copy_to_host(&self, dst: &mut [T]) -> Result<()> {
        self.as_slice().copy_to_host(dst)
    }

    /// Copies other device memory into the slice (`cuMemcpyDtoD`, or through the host between
    /// devices); lengths must match.
    pub fn copy_from_device(&mut self, src: DeviceSlice<'_, T>) -> Result<()> {
        check_len("copy_from_device", self.len, src.len)?;
        if self.len == 0 {
            return Ok(());
        }
        if self.ctx.device() == src.ctx.device() {
            let bytes = (self.len * std::mem::size_of::<T>()) as u64;
            self.ctx.backend().memcpy_dtod(self.addr, src.addr, bytes)
        } else {
            let staged = src.to_vec()?;
            self.copy_from_host(&staged)
        }
    }

    /// Sets every byte (`cuMemsetD8`).
    pub fn memset_d8(&mut self, value: u8) -> Result<()> {
        self.memset(Fill::U8(value), 1)
    }

    /// Sets every 16-bit word (`cuMemsetD16`); the size must be a multiple of 2 bytes.
    pub fn memset_d16(&mut self, value: u16) -> Result<()> {
        self.memset(Fill::U16(value), 2)
    }

    /// Sets every 32-bit word (`cuMemsetD32`); the size must be a multiple of 4 bytes and the
    /// start 4-byte aligned.
    pub fn memset_d32(&mut self, value: u32) -> Result<()> {
        self.memset(Fill::U32(value), 4)
    }

    fn memset(&mut self, fill: Fill, width: u64) -> Result<()> {
        let count = fill_count(
            self.addr,
            (self.len * std::mem::size_of::<T>()) as u64,
            width,
        )?;
        if count == 0 {
            return Ok(());
        }
        self.ctx.backend().memset(self.addr, fill, count)
    }
}

#[cfg(test)]
mod tests {
    use super::bounds;

    #[test]
    fn ranges_must_lie_inside() {
        assert_eq!(bounds(10, ..).unwrap(), (0, 10));
        assert_eq!(bounds(10, 2..5).unwrap(), (2, 3));
        assert_eq!(bounds(10, 2..=5).unwrap(), (2, 4));
        assert_eq!(bounds(10, 10..).unwrap(), (10, 0));
        assert_eq!(bounds(10, ..0).unwrap(), (0, 0));
        assert!(bounds(10, 5..11).is_err());
        assert!(bounds(10, 11..).is_err());
        assert!(bounds(10, ..=usize::MAX).is_err());
        #[allow(clippy::reversed_empty_ranges)]
        let backwards = bounds(10, 6..5);
        assert!(backwards.is_err());
    }
}
