//! Streams (in-order asynchronous work) and events (points in a stream, with timestamps).

use std::fmt;
use std::sync::Arc;

use bytemuck::Pod;

use crate::context::Context;
use crate::error::{Error, Result};
use crate::memory::{DeviceBuffer, PinnedHostBuffer};
use crate::platform::{EventBackend, Fill, StreamBackend};
use crate::slice::{DeviceSlice, DeviceSliceMut};
use crate::{EventFlags, StreamFlags};

/// A stream (`CUstream`). Dropping it destroys the stream once its work is done (as
/// `cuStreamDestroy`); the stream holds its context alive. `Send + Sync`.
#[derive(Clone)]
pub struct Stream {
    backend: Arc<dyn StreamBackend>,
    flags: StreamFlags,
    null: bool,
    /// Declared last: fields drop in order, and the context must outlive the handles above.
    ctx: Context,
}

impl Stream {
    pub(crate) fn from_backend(
        ctx: Context,
        backend: Arc<dyn StreamBackend>,
        flags: StreamFlags,
        null: bool,
    ) -> Stream {
        Stream {
            ctx,
            backend,
            flags,
            null,
        }
    }

    /// The context the stream belongs to.
    pub fn context(&self) -> &Context {
        &self.ctx
    }

    /// The flags it was created with.
    pub fn flags(&self) -> StreamFlags {
        self.flags
    }

    /// Whether this is the context's default (null) stream.
    pub fn is_default(&self) -> bool {
        self.null
    }

    /// The stream's priority (`cuStreamGetPriority`).
    pub fn priority(&self) -> Result<i32> {
        self.backend.priority()
    }

    /// Waits for all work in the stream (`cuStreamSynchronize`); an error a kernel hit is
    /// reported here (and stays with the context).
    pub fn synchronize(&self) -> Result<()> {
        self.backend.synchronize()
    }

    /// `true` when all work is done, `false` while some is pending (`cuStreamQuery`).
    pub fn query(&self) -> Result<bool> {
        self.backend.query()
    }

    /// Makes later work in this stream wait for `event`'s last record (`cuStreamWaitEvent`).
    pub fn wait_event(&self, event: &Event) -> Result<()> {
        self.ctx.check_same(&event.ctx, "wait_event")?;
        self.backend.wait_event(event.backend.as_ref())
    }

    /// Runs `f` on a host thread once earlier work in the stream is done; later work waits
    /// for it (`cuLaunchHostFunc`). `f` must not call into the driver.
    pub fn launch_host_func<F: FnOnce() + Send + 'static>(&self, f: F) -> Result<()> {
        self.backend.host_func(Box::new(f))
    }

    /// Copies `src` into `dst` in stream order (`cuMemcpyHtoDAsync`). `src` is staged before
    /// this returns, so it may be reused at once.
    pub fn memcpy_htod_async<T: Pod>(&self, dst: &mut DeviceBuffer<T>, src: &[T]) -> Result<()> {
        self.memcpy_htod_slice_async(dst.slice_mut(..)?, src)
    }

    /// [`Stream::memcpy_htod_async`] into part of a buffer.
    pub fn memcpy_htod_slice_async<T: Pod>(
        &self,
        dst: DeviceSliceMut<'_, T>,
        src: &[T],
    ) -> Result<()> {
        self.check_slice(dst.context(), dst.len(), src.len(), "memcpy_htod_async")?;
        if src.is_empty() {
            return Ok(());
        }
        self.backend
            .memcpy_htod(dst.device_ptr().as_raw(), bytemuck::cast_slice(src))
    }

    /// Copies `src` into pageable `dst`; with pageable memory this returns once the copy is
    /// complete (as CUDA does). Use [`Stream::memcpy_dtoh_pinned_async`] to overlap.
    pub fn memcpy_dtoh_async<T: Pod>(&self, dst: &mut [T], src: &DeviceBuffer<T>) -> Result<()> {
        self.memcpy_dtoh_slice_async(dst, src.slice(..)?)
    }

    /// [`Stream::memcpy_dtoh_async`] from part of a buffer.
    pub fn memcpy_dtoh_slice_async<T: Pod>(
        &self,
        dst: &mut [T],
        src: DeviceSlice<'_, T>,
    ) -> Result<()> {
        self.check_slice(src.context(), src.len(), dst.len(), "memcpy_dtoh_async")?;
        if dst.is_empty() {
            return Ok(());
        }
        self.backend
            .memcpy_dtoh(bytemuck::cast_slice_mut(dst), src.device_ptr().as_raw())
    }

    /// Copies page-locked `src` into `dst` in stream order.
    pub fn memcpy_htod_pinned_async<T: Pod + Send + Sync>(
        &self,
        dst: &mut DeviceBuffer<T>,
        src: &mut PinnedHostBuffer<T>,
    ) -> Result<()> {
        self.check_buffer(dst, src.len(), "memcpy_htod_pinned_async")?;
        if src.is_empty() {
            return Ok(());
        }
        // Earlier copies into `src` must have landed before it is read.
        src.synchronize()?;
        self.backend
            .memcpy_htod_pinned(dst.device_ptr().as_raw(), src.host().bytes())?;
        // The device may read the memory later: accesses through `src` wait for this point.
        let ev = self
            .ctx
            .backend()
            .create_event(EventFlags::DISABLE_TIMING)?;
        self.backend.record(ev.as_ref())?;
        src.add_pending(crate::platform::Pending::Event(ev));
        Ok(())
    }

    /// Copies `src` into page-locked `dst` without waiting; `dst`'s accessors wait for it.
    pub fn memcpy_dtoh_pinned_async<T: Pod + Send + Sync>(
        &self,
        dst: &mut PinnedHostBuffer<T>,
        src: &DeviceBuffer<T>,
    ) -> Result<()> {
        self.check_buffer(src, dst.len(), "memcpy_dtoh_pinned_async")?;
        if dst.is_empty() {
            return Ok(());
        }
        dst.synchronize()?;
        let bytes = src.byte_len() as usize;
        let pending =
            self.backend
                .memcpy_dtoh_pinned(dst.host_mut(), 0, src.device_ptr().as_raw(), bytes)?;
        dst.add_pending(pending);
        Ok(())
    }

    /// Copies `src` into `dst` in stream order (`cuMemcpyDtoDAsync`).
    pub fn memcpy_dtod_async<T: Pod>(
        &self,
        dst: &mut DeviceBuffer<T>,
        src: &DeviceBuffer<T>,
    ) -> Result<()> {
        self.check_buffer(dst, src.len(), "memcpy_dtod_async")?;
        self.ctx.check_same(src.context(), "memcpy_dtod_async")?;
        if src.is_empty() {
            return Ok(());
        }
        self.backend.memcpy_dtod(
            dst.device_ptr().as_raw(),
            src.device_ptr().as_raw(),
            src.byte_len(),
        )
    }

    /// Sets every byte of `dst` in stream order (`cuMemsetD8Async`).
    pub fn memset_d8_async<T: Pod>(&self, dst: &mut DeviceBuffer<T>, value: u8) -> Result<()> {
        self.memset_async(dst, Fill::U8(value), 1)
    }

    /// Sets every 16-bit word of `dst` in stream order (`cuMemsetD16Async`).
    pub fn memset_d16_async<T: Pod>(&self, dst: &mut DeviceBuffer<T>, value: u16) -> Result<()> {
        self.memset_async(dst, Fill::U16(value), 2)
    }

    /// Sets every 32-bit word of `dst` in stream order (`cuMemsetD32Async`).
    pub fn memset_d32_async<T: Pod>(&self, dst: &mut DeviceBuffer<T>, value: u32) -> Result<()> {
        self.memset_async(dst, Fill::U32(value), 4)
    }

    fn memset_async<T: Pod>(
        &self,
        dst: &mut DeviceBuffer<T>,
        fill: Fill,
        width: u64,
    ) -> Result<()> {
        self.check_buffer(dst, dst.len(), "memset_async")?;
        let count = dst.fill_count(width)?;
        if count == 0 {
            return Ok(());
        }
        self.backend.memset(dst.device_ptr().as_raw(), fill, count)
    }

    /// Device memory of `ctx` with `device` elements, against `other` elements on the other
    /// side of a copy: the stream's context, and the same length.
    fn check_slice(&self, ctx: &Context, device: usize, other: usize, what: &str) -> Result<()> {
        self.ctx.check_same(ctx, what)?;
        if device != other {
            return Err(Error::invalid_value(format!(
                "{what}: device memory has {device} elements, the other side {other}"
            )));
        }
        Ok(())
    }

    fn check_buffer<T: Pod>(&self, buf: &DeviceBuffer<T>, len: usize, what: &str) -> Result<()> {
        self.check_slice(buf.context(), buf.len(), len, what)
    }

    pub(crate) fn backend(&self) -> &dyn StreamBackend {
        self.backend.as_ref()
    }
}

impl fmt::Debug for Stream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Stream")
            .field("context", &self.ctx)
            .field("flags", &self.flags)
            .field("default", &self.null)
            .finish()
    }
}

/// An event (`CUevent`): a marker recorded into a stream, with a timestamp unless created
/// with [`EventFlags::DISABLE_TIMING`]. `Send + Sync`.
#[derive(Clone)]
pub struct Event {
    backend: Arc<dyn EventBackend>,
    flags: EventFlags,
    /// Declared last: fields drop in order, and the context must outlive the handles above.
    ctx: Context,
}

impl Event {
    pub(crate) fn from_backend(
        ctx: Context,
        backend: Arc<dyn EventBackend>,
        flags: EventFlags,
    ) -> Event {
        Event {
            ctx,
            backend,
            flags,
        }
    }

    /// The flags it was created with.
    pub fn flags(&self) -> EventFlags {
        self.flags
    }

    /// Records the event at the current end of `stream` (`cuEventRecord`).
    pub fn record(&self, stream: &Stream) -> Result<()> {
        self.ctx.check_same(stream.context(), "event record")?;
        stream.backend().record(self.backend.as_ref())
    }

    /// Waits until the work before the last record is done (`cuEventSynchronize`).
    pub fn synchronize(&self) -> Result<()> {
        self.backend.synchronize()
    }

    /// `true` once the work before the last record is done (`cuEventQuery`).
    pub fn query(&self) -> Result<bool> {
        self.backend.query()
    }

    /// Milliseconds between this event and `end` (`cuEventElapsedTime`). Both must have
    /// completed (`CUDA_ERROR_NOT_READY` otherwise) and have timing enabled
    /// (`CUDA_ERROR_INVALID_HANDLE` otherwise).
    pub fn elapsed_ms(&self, end: &Event) -> Result<f32> {
        self.ctx.check_same(&end.ctx, "elapsed_ms")?;
        self.backend.elapsed_ms(end.backend.as_ref())
    }
}

impl fmt::Debug for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Event")
            .field("context", &self.ctx)
            .field("flags", &self.flags)
            .finish()
    }
}
