//! Context limits (`CUlimit`): resources a context reserves for its kernels.

use crate::error::{Error, ErrorCode};

/// A context limit, as `cuCtxSetLimit` / `cudaDeviceSetLimit` name them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Limit {
    /// `CU_LIMIT_STACK_SIZE`: bytes of call stack per thread.
    StackSize,
    /// `CU_LIMIT_PRINTF_FIFO_SIZE`: bytes of device `printf` output a launch may produce.
    PrintfFifoSize,
    /// `CU_LIMIT_MALLOC_HEAP_SIZE`: bytes of the heap of device-side `malloc`.
    MallocHeapSize,
    /// `CU_LIMIT_DEV_RUNTIME_SYNC_DEPTH`.
    DevRuntimeSyncDepth,
    /// `CU_LIMIT_DEV_RUNTIME_PENDING_LAUNCH_COUNT`.
    DevRuntimePendingLaunchCount,
    /// `CU_LIMIT_MAX_L2_FETCH_GRANULARITY`.
    MaxL2FetchGranularity,
    /// `CU_LIMIT_PERSISTING_L2_CACHE_SIZE`.
    PersistingL2CacheSize,
}

impl Limit {
    /// The `CUlimit` value.
    pub fn as_raw(self) -> i32 {
        match self {
            Limit::StackSize => 0,
            Limit::PrintfFifoSize => 1,
            Limit::MallocHeapSize => 2,
            Limit::DevRuntimeSyncDepth => 3,
            Limit::DevRuntimePendingLaunchCount => 4,
            Limit::MaxL2FetchGranularity => 5,
            Limit::PersistingL2CacheSize => 6,
        }
    }

    /// `CUDA_ERROR_UNSUPPORTED_LIMIT` for a limit a device does not have.
    pub(crate) fn unsupported(self, device: &str) -> Error {
        Error::new(
            ErrorCode::UnsupportedLimit,
            format!("the {device} has no {self:?} limit"),
        )
    }
}
