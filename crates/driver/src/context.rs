//! Contexts and the per-thread context stack.
//!
//! # Which context a call uses
//! Every method here is called on an explicit [`Context`]. Runtime-style callers that have
//! no context at hand use [`Context::current_or_primary`]: when the calling thread has a
//! current context (the top of its stack, set by [`Context::push_current`] or
//! [`Context::set_current`]) that one is used; otherwise the device's primary context.
//!
//! For NVIDIA contexts the stack is mirrored into libcuda's own per-thread stack
//! (`cuCtxPushCurrent` / `cuCtxPopCurrent`), so code calling libcuda directly sees the same
//! current context. CPU contexts have no libcuda counterpart and only live on ferrocuda's
//! stack.

use std::cell::RefCell;
use std::fmt;
use std::sync::Arc;

use crate::device::Device;
use crate::error::{Error, ErrorCode, Result};
use crate::limit::Limit;
use crate::platform::ContextBackend;
use crate::stream::{Event, Stream};
use crate::{ContextFlags, EventFlags, Platform, StreamFlags};

/// A CUDA context: the owner of a device's memory, modules, streams and events.
///
/// Cloning makes another handle to the same context; the context is destroyed (or, for a
/// primary context, released) when the last handle and the last resource created in it are
/// gone. `Send + Sync`: usable from any thread, as in CUDA.
#[derive(Clone)]
pub struct Context {
    inner: Arc<ContextInner>,
}

struct ContextInner {
    device: Device,
    backend: Box<dyn ContextBackend>,
    primary: bool,
    /// The device's primary-context reset count when this handle was made.
    epoch: u64,
}

impl Drop for ContextInner {
    fn drop(&mut self) {
        if self.primary && self.device.primary_epoch() != self.epoch {
            // The context this handle retained was destroyed by a reset (`is_reset`).
            self.backend.detach();
        }
    }
}

thread_local! {
    static STACK: RefCell<Vec<Context>> = const { RefCell::new(Vec::new()) };
}

impl Context {
    /// Creates a context on `device` (`cuCtxCreate`). Unlike `cuCtxCreate` it is not made
    /// current; use [`Context::push_current`] or [`Context::set_current`] for that.
    pub fn new(device: Device, flags: ContextFlags) -> Result<Context> {
        let (platform, local) = device.backend();
        let backend = platform.create_context(local, flags)?;
        Ok(Context::from_backend(device, backend, false))
    }

    pub(crate) fn from_backend(
        device: Device,
        backend: Box<dyn ContextBackend>,
        primary: bool,
    ) -> Context {
        Context {
            inner: Arc::new(ContextInner {
                device,
                backend,
                primary,
                epoch: device.primary_epoch(),
            }),
        }
    }

    /// The calling thread's current context, or else `device`'s primary context (retained).
    pub fn current_or_primary(device: Device) -> Result<Context> {
        match Context::current() {
            Some(c) => Ok(c),
            None => device.retain_primary_context(),
        }
    }

    /// The device this context belongs to.
    pub fn device(&self) -> Device {
        self.inner.device
    }

    /// Whether this is the device's primary context.
    pub fn is_primary(&self) -> bool {
        self.inner.primary
    }

    /// Whether this handle is to a primary context that has been reset since it was retained
    /// (`cuDevicePrimaryCtxReset`, `cudaDeviceReset`): the context it names is gone, and a
    /// fresh retain gives the device's new primary context.
    pub fn is_reset(&self) -> bool {
        self.inner.primary && self.inner.device.primary_epoch() != self.inner.epoch
    }

    /// The flags the context was created with (`cuCtxGetFlags`).
    pub fn flags(&self) -> Result<ContextFlags> {
        self.inner.backend.flags()
    }

    /// Waits for all work of the context (`cuCtxSynchronize`), returning the first error an
    /// asynchronous operation hit (sticky errors stay with the context).
    pub fn synchronize(&self) -> Result<()> {
        self.inner.backend.synchronize()
    }

    /// Pushes this context onto the calling thread's stack (`cuCtxPushCurrent`).
    pub fn push_current(&self) -> Result<()> {
        self.inner.backend.push_current()?;
        STACK.with(|s| s.borrow_mut().push(self.clone()));
        Ok(())
    }

    /// Pops the calling thread's current context (`cuCtxPopCurrent`).
    /// `CUDA_ERROR_INVALID_CONTEXT` when the stack is empty.
    pub fn pop_current() -> Result<Context> {
        let top = STACK.with(|s| s.borrow_mut().pop()).ok_or_else(|| {
            Error::new(ErrorCode::InvalidContext, "pop_current: no current context")
        })?;
        top.inner.backend.pop_current()?;
        Ok(top)
    }

    /// The calling thread's current context (`cuCtxGetCurrent`).
    pub fn current() -> Option<Context> {
        STACK.with(|s| s.borrow().last().cloned())
    }

    /// Whether the calling thread's current context is this very handle (`None`: whether the
    /// thread has no current context), without cloning it: the cheap test a per-thread cache
    /// keyed by the current context needs. Another handle to the same context is not this
    /// handle.
    #[inline]
    pub fn is_current_handle(handle: Option<&Context>) -> bool {
        STACK.with(|s| match (s.borrow().last(), handle) {
            (Some(top), Some(h)) => Arc::ptr_eq(&top.inner, &h.inner),
            (None, None) => true,
            _ => false,
        })
    }

    /// Replaces the top of the calling thread's stack (`cuCtxSetCurrent`); `None` pops it
    /// (nothing happens on an empty stack).
    pub fn set_current(ctx: Option<&Context>) -> Result<()> {
        if Context::current().is_some() {
            Context::pop_current()?;
        }
        match ctx {
            Some(c) => c.push_current(),
            None => Ok(()),
        }
    }

    /// `(free, total)` device memory in bytes (`cuMemGetInfo`).
    pub fn mem_get_info(&self) -> Result<(u64, u64)> {
        self.inner.backend.mem_get_info()
    }

    /// The value of a context limit (`cuCtxGetLimit`).
    pub fn limit(&self, limit: Limit) -> Result<usize> {
        self.inner.backend.limit(limit)
    }

    /// Sets a context limit (`cuCtxSetLimit`): the device heap for kernels' `malloc`, the
    /// printf FIFO, the per-thread stack. `CUDA_ERROR_UNSUPPORTED_LIMIT` where the device
    /// has no such limit.
    pub fn set_limit(&self, limit: Limit, value: usize) -> Result<()> {
        self.inner.backend.set_limit(limit, value)
    }

    /// The context's default (null) stream.
    ///
    /// It is the legacy default stream: work on it waits for all earlier work of the
    /// context's blocking streams, and later work on blocking streams waits for it.
    /// Streams created with [`StreamFlags::NON_BLOCKING`] do not synchronise with it.
    /// Synchronous copies and memsets are ordered on it.
    pub fn default_stream(&self) -> Stream {
        Stream::from_backend(
            self.clone(),
            self.inner.backend.null_stream(),
            StreamFlags::DEFAULT,
            true,
        )
    }

    /// Creates a stream (`cuStreamCreateWithPriority`); lower numbers are higher priorities,
    /// within [`Context::stream_priority_range`].
    pub fn create_stream(&self, flags: StreamFlags, priority: i32) -> Result<Stream> {
        let b = self.inner.backend.create_stream(flags, priority)?;
        Ok(Stream::from_backend(self.clone(), b, flags, false))
    }

    /// `(least, greatest)` stream priorities (`cuCtxGetStreamPriorityRange`); the greatest
    /// priority is the numerically lowest.
    pub fn stream_priority_range(&self) -> Result<(i32, i32)> {
        self.inner.backend.stream_priority_range()
    }

    /// Creates an event (`cuEventCreate`).
    pub fn create_event(&self, flags: EventFlags) -> Result<Event> {
        let b = self.inner.backend.create_event(flags)?;
        Ok(Event::from_backend(self.clone(), b, flags))
    }

    pub(crate) fn backend(&self) -> &dyn ContextBackend {
        self.inner.backend.as_ref()
    }

    /// The platform of the context's device.
    pub fn platform(&self) -> Platform {
        self.inner.device.platform()
    }

    /// `CUDA_ERROR_INVALID_CONTEXT` unless `other` is this very context.
    pub(crate) fn check_same(&self, other: &Context, what: &str) -> Result<()> {
        if self == other {
            Ok(())
        } else {
            Err(Error::new(
                ErrorCode::InvalidContext,
                format!("{what}: objects from different contexts"),
            ))
        }
    }
}

impl PartialEq for Context {
    #[inline]
    fn eq(&self, other: &Context) -> bool {
        // Handles of one `Context::new` or retain share their inner state: no backend call.
        Arc::ptr_eq(&self.inner, &other.inner)
            || self.inner.device == other.inner.device
                && self.inner.backend.id() == other.inner.backend.id()
    }
}

impl Eq for Context {}

impl fmt::Debug for Context {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Context")
            .field("device", &self.inner.device)
            .field("id", &self.inner.backend.id())
            .field("primary", &self.inner.primary)
            .finish()
    }
}
