//! The trait each platform implements; the front API (`Device`, `Context`, `Module`, ...)
//! dispatches through it. Users never see these traits.
//!
//! Addresses are plain `u64` device addresses. Objects that another object's method takes
//! (a function given to a stream's launch, an event given to a stream) are downcast to the
//! platform's own type through `as_any`; the front API guarantees both come from the same
//! context, so a failed downcast is reported as `CUDA_ERROR_INVALID_HANDLE`, never a panic.

use std::any::Any;
use std::sync::Arc;

use crate::device::DeviceAttribute;
use crate::error::{Error, ErrorCode, Result};
use crate::launch::{LaunchConfig, PackedArgs};
use crate::limit::Limit;
use crate::module::{FunctionAttribute, JitOptions, KernelSignature};
use crate::{ContextFlags, EventFlags, MemoryKind, Platform, StreamFlags};

/// A loaded platform: its devices and their primary contexts.
pub(crate) trait PlatformBackend: Send + Sync {
    fn platform(&self) -> Platform;
    fn driver_version(&self) -> Result<i32>;
    fn device_count(&self) -> usize;
    fn device_name(&self, dev: usize) -> Result<String>;
    fn device_uuid(&self, dev: usize) -> Result<[u8; 16]>;
    fn device_total_memory(&self, dev: usize) -> Result<u64>;
    fn device_attribute(&self, dev: usize, attr: DeviceAttribute) -> Result<i32>;
    fn create_context(&self, dev: usize, flags: ContextFlags) -> Result<Box<dyn ContextBackend>>;
    /// Retains the primary context; dropping the returned object releases it.
    fn primary_context_retain(&self, dev: usize) -> Result<Box<dyn ContextBackend>>;
    fn primary_context_state(&self, dev: usize) -> Result<(ContextFlags, bool)>;
    fn primary_context_set_flags(&self, dev: usize, flags: ContextFlags) -> Result<()>;
    fn primary_context_reset(&self, dev: usize) -> Result<()>;
    /// What this platform knows about an address: `None` when it is not one of its own.
    fn pointer_kind(&self, addr: u64) -> Option<(MemoryKind, Option<usize>)>;
}

/// A memset element: 8, 16 or 32 bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fill {
    U8(u8),
    U16(u16),
    U32(u32),
}

impl Fill {
    pub(crate) fn bytes(self) -> Vec<u8> {
        match self {
            Fill::U8(v) => vec![v],
            Fill::U16(v) => v.to_le_bytes().to_vec(),
            Fill::U32(v) => v.to_le_bytes().to_vec(),
        }
    }
}

/// One context. Dropping it destroys the context (or releases a primary context).
pub(crate) trait ContextBackend: Send + Sync {
    /// Identity of the underlying context (two retains of one primary context are equal).
    fn id(&self) -> u64;
    fn flags(&self) -> Result<ContextFlags>;
    /// Keeps the platform's own per-thread state in step with the front API's stack.
    fn push_current(&self) -> Result<()>;
    fn pop_current(&self) -> Result<()>;
    /// Marks a primary-context handle taken before a reset: dropping it must not release
    /// the (new) primary context.
    fn detach(&self);
    fn synchronize(&self) -> Result<()>;
    fn mem_alloc(&self, bytes: u64) -> Result<u64>;
    fn mem_free(&self, addr: u64) -> Result<()>;
    fn mem_get_info(&self) -> Result<(u64, u64)>;
    fn limit(&self, limit: Limit) -> Result<usize>;
    fn set_limit(&self, limit: Limit, value: usize) -> Result<()>;
    fn memcpy_htod(&self, dst: u64, src: &[u8]) -> Result<()>;
    fn memcpy_dtoh(&self, dst: &mut [u8], src: u64) -> Result<()>;
    fn memcpy_dtod(&self, dst: u64, src: u64, bytes: u64) -> Result<()>;
    fn memset(&self, dst: u64, fill: Fill, count: u64) -> Result<()>;
    fn load_module(&self, image: &[u8], opts: &JitOptions) -> Result<Box<dyn ModuleBackend>>;
    fn null_stream(&self) -> Arc<dyn StreamBackend>;
    fn create_stream(&self, flags: StreamFlags, priority: i32) -> Result<Arc<dyn StreamBackend>>;
    fn stream_priority_range(&self) -> Result<(i32, i32)>;
    fn create_event(&self, flags: EventFlags) -> Result<Arc<dyn EventBackend>>;
    fn host_alloc(&self, bytes: usize) -> Result<Box<dyn HostAlloc>>;
    /// Page-locks `len` bytes at `ptr` (an allocation the caller keeps alive and in place
    /// until the returned registration is dropped).
    fn host_register(&self, ptr: usize, len: usize) -> Result<Box<dyn Send + Sync>>;
}

/// A loaded module. Dropping it unloads the module.
pub(crate) trait ModuleBackend: Send + Sync {
    fn function(&self, name: &str) -> Result<Arc<dyn FunctionBackend>>;
    fn global(&self, name: &str) -> Result<(u64, u64)>;
}

/// A kernel of a loaded module.
pub(crate) trait FunctionBackend: Send + Sync {
    fn as_any(&self) -> &dyn Any;
    fn attribute(&self, attr: FunctionAttribute) -> Result<i32>;
    fn set_attribute(&self, attr: FunctionAttribute, value: i32) -> Result<()>;
    /// The parameter layout, where the platform knows it.
    fn param_layout(&self) -> Option<KernelSignature>;
}

/// What an asynchronous copy into page-locked memory leaves to finish.
pub(crate) enum Pending {
    /// Completes when the event does (the device writes the host memory itself).
    Event(Arc<dyn EventBackend>),
    /// Bytes produced later, to be copied in at `offset` when the buffer is next accessed.
    Fill {
        offset: usize,
        /// In a mutex only so the owning buffer is `Sync`; reached through `&mut`.
        bytes: std::sync::Mutex<std::sync::mpsc::Receiver<Result<Vec<u8>>>>,
    },
}

/// A stream: in-order asynchronous work.
pub(crate) trait StreamBackend: Send + Sync {
    fn synchronize(&self) -> Result<()>;
    /// `Ok(true)` when all work is done, `Ok(false)` while some is pending.
    fn query(&self) -> Result<bool>;
    /// Returns once `src` has been consumed (staged); the copy completes in stream order.
    fn memcpy_htod(&self, dst: u64, src: &[u8]) -> Result<()>;
    /// Page-locked source that stays in place and unchanged until an event recorded after
    /// this copy completes.
    fn memcpy_htod_pinned(&self, dst: u64, src: &[u8]) -> Result<()>;
    /// Pageable destination: returns once the copy is complete.
    fn memcpy_dtoh(&self, dst: &mut [u8], src: u64) -> Result<()>;
    /// Page-locked destination that stays in place until the returned pending op completes.
    fn memcpy_dtoh_pinned(
        &self,
        dst: &mut dyn HostAlloc,
        offset: usize,
        src: u64,
        bytes: usize,
    ) -> Result<Pending>;
    fn memcpy_dtod(&self, dst: u64, src: u64, bytes: u64) -> Result<()>;
    fn memset(&self, dst: u64, fill: Fill, count: u64) -> Result<()>;
    fn launch(&self, f: &dyn FunctionBackend, cfg: &LaunchConfig, args: &PackedArgs) -> Result<()>;
    fn record(&self, event: &dyn EventBackend) -> Result<()>;
    fn wait_event(&self, event: &dyn EventBackend) -> Result<()>;
    fn host_func(&self, f: Box<dyn FnOnce() + Send + 'static>) -> Result<()>;
    fn priority(&self) -> Result<i32>;
}

/// An event.
pub(crate) trait EventBackend: Send + Sync {
    fn as_any(&self) -> &dyn Any;
    fn synchronize(&self) -> Result<()>;
    fn query(&self) -> Result<bool>;
    /// Milliseconds from `self` to `end`.
    fn elapsed_ms(&self, end: &dyn EventBackend) -> Result<f32>;
}

/// Page-locked host memory owned by a platform.
pub(crate) trait HostAlloc: Send + Sync {
    fn bytes(&self) -> &[u8];
    fn bytes_mut(&mut self) -> &mut [u8];
}

/// Downcasts a platform object handed to another object of the same platform.
pub(crate) fn downcast<'a, T: 'static>(any: &'a dyn Any, what: &str) -> Result<&'a T> {
    any.downcast_ref::<T>().ok_or_else(|| {
        Error::new(
            ErrorCode::InvalidHandle,
            format!("{what} belongs to another platform"),
        )
    })
}
