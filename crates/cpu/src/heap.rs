//! The device heap: what kernels allocate with `malloc` and release with `free`.
//!
//! Blocks come from device memory like any allocation, up to the heap's size (8 MiB by
//! default, as `cudaLimitMallocHeapSize`); a request beyond it returns a null pointer, as on a
//! GPU. Blocks outlive the launch that made them, until a kernel frees them or the heap's
//! owner (a context) releases them all.

use crate::memory::Memory;
use crate::Error;
use std::collections::HashMap;
use std::sync::Mutex;

/// The default heap size of a CUDA context.
pub const DEFAULT_HEAP_BYTES: u64 = 8 << 20;

/// A heap for kernels' `malloc` (one per context; [`crate::Device::launch_in`]).
#[derive(Debug)]
pub struct DeviceHeap {
    limit: std::sync::atomic::AtomicU64,
    /// Live blocks: device address → size.
    blocks: Mutex<HashMap<u64, u64>>,
}

impl DeviceHeap {
    /// A heap of `limit` bytes.
    pub fn new(limit: u64) -> DeviceHeap {
        DeviceHeap {
            limit: std::sync::atomic::AtomicU64::new(limit),
            blocks: Mutex::new(HashMap::new()),
        }
    }

    /// The heap's size in bytes (`cudaLimitMallocHeapSize`).
    pub fn limit(&self) -> u64 {
        self.limit.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Resizes the heap: later requests count against `bytes` (live blocks stay).
    pub fn set_limit(&self, bytes: u64) {
        self.limit
            .store(bytes, std::sync::atomic::Ordering::Relaxed);
    }

    /// Frees every live block (its owner goes away).
    pub fn release_all(&self, mem: &Memory) {
        let mut blocks = self.blocks.lock().unwrap_or_else(|p| p.into_inner());
        for (a, _) in blocks.drain() {
            let _ = mem.free(a);
        }
    }

    /// A block of `bytes`, or 0 (the null pointer) when the heap cannot hold it.
    pub(crate) fn malloc(&self, mem: &Memory, bytes: u64) -> u64 {
        if bytes == 0 {
            return 0;
        }
        let mut blocks = self.blocks.lock().unwrap_or_else(|p| p.into_inner());
        let used: u64 = blocks.values().sum();
        if used.checked_add(bytes).is_none_or(|u| u > self.limit()) {
            return 0;
        }
        match mem.alloc(bytes) {
            Ok(a) => {
                blocks.insert(a, bytes);
                a
            }
            Err(_) => 0,
        }
    }

    /// Releases the block at `addr` (nothing for the null pointer); an address that is not a
    /// live block is an error, as freeing it corrupts a GPU's heap.
    pub(crate) fn free(&self, mem: &Memory, addr: u64) -> Result<(), Error> {
        if addr == 0 {
            return Ok(());
        }
        let mut blocks = self.blocks.lock().unwrap_or_else(|p| p.into_inner());
        if blocks.remove(&addr).is_none() {
            return Err(Error::IllegalAddress {
                addr,
                bytes: 0,
                access: "free of a pointer malloc did not return",
                at: crate::Site::default(),
            });
        }
        mem.free(addr)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_come_from_device_memory_up_to_the_limit() {
        let mem = Memory::with_capacity(1 << 30);
        let heap = DeviceHeap::new(1024);
        let a = heap.malloc(&mem, 1000);
        assert_ne!(a, 0);
        assert!(mem.allocation(a).is_some());
        // Over the limit: null, and nothing allocated.
        assert_eq!(heap.malloc(&mem, 100), 0);
        assert_eq!(heap.malloc(&mem, 0), 0);
        heap.free(&mem, a).unwrap();
        assert!(mem.allocation(a).is_none());
        assert_ne!(heap.malloc(&mem, 1024), 0);
        heap.free(&mem, 0).unwrap();
        assert!(matches!(
            heap.free(&mem, a + 8),
            Err(Error::IllegalAddress { .. })
        ));
        // A larger heap; its owner releasing the blocks.
        heap.set_limit(4096);
        let b = heap.malloc(&mem, 3000);
        assert_ne!(b, 0);
        heap.release_all(&mem);
        assert!(mem.allocation(b).is_none());
    }
}
