//! Device memory of the CPU device: 64-bit device addresses backed by host memory that many
//! worker threads access at once.
//!
//! Kernels running on different worker threads may race on the same bytes, exactly as CUDA
//! threads of different blocks may. To keep such races defined behaviour in Rust, every byte of
//! device memory is stored in atomic words and every access is an atomic operation of the
//! access width on an address aligned to that width (relaxed loads and stores compile to plain
//! moves on x86-64 and AArch64, so this costs nothing over ordinary accesses). Read-modify-write
//! instructions (`atom`, `red`) use real atomic read-modify-write operations.
//!
//! This is the only module of the crate that uses `unsafe`: to view an aligned location inside
//! an allocation's `AtomicU64` words as an atomic of a narrower width.

use crate::Error;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU16, AtomicU32, AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, RwLock};

/// First device address handed out. Far above where Linux puts host heaps and stacks in
/// practice, so a device pointer is never mistaken for a host pointer, and never 0.
pub const HEAP_START: u64 = 0x7e00_0000_0000;
/// End of the device heap's address range (4 TiB of address space).
pub const HEAP_END: u64 = HEAP_START + (1 << 42);
/// Allocation alignment (what `cudaMalloc` guarantees).
pub const ALLOC_ALIGN: u64 = 256;
/// Unmapped bytes left after each allocation so that small overruns fault.
const GUARD: u64 = 4096;

/// One device allocation: `size` bytes at device address `base`.
#[derive(Debug)]
pub(crate) struct Allocation {
    pub(crate) base: u64,
    pub(crate) size: u64,
    words: Box<[AtomicU64]>,
}

macro_rules! atomic_at {
    ($name:ident, $ty:ty, $bytes:expr) => {
        /// The atomic of this width at byte offset `off`, if in bounds and aligned.
        #[inline(always)]
        #[allow(clippy::modulo_one)]
        fn $name(&self, off: u64) -> Option<&$ty> {
            let off = usize::try_from(off).ok()?;
            if off % $bytes != 0 || off.checked_add($bytes)? as u64 > self.size {
                return None;
            }
            // SAFETY: `off + width <= size <= 8 * words.len()`, so the location is inside the
            // `words` buffer (checked above), and it is aligned to
            // the width (the buffer itself is 8-byte aligned), so the pointer is valid and
            // aligned for `$ty`. Every bit pattern is a valid value of the atomic integer type,
            // and the buffer lives as long as `&self`. All accesses to the buffer are atomic.
            Some(unsafe { &*self.words.as_ptr().cast::<u8>().add(off).cast::<$ty>() })
        }
    };
}

impl Allocation {
    fn new(base: u64, size: u64) -> Result<Allocation, Error> {
        let nwords = usize::try_from(size.div_ceil(8)).map_err(|_| Error::OutOfMemory)?;
        let mut v: Vec<u64> = Vec::new();
        v.try_reserve_exact(nwords)
            .map_err(|_| Error::OutOfMemory)?;
        v.resize(nwords, 0);
        let words: Box<[AtomicU64]> = v.into_iter().map(AtomicU64::new).collect();
        Ok(Allocation { base, size, words })
    }

    atomic_at!(at8, AtomicU8, 1);
    atomic_at!(at16, AtomicU16, 2);
    atomic_at!(at32, AtomicU32, 4);
    atomic_at!(at64, AtomicU64, 8);

    /// Where the allocation's first byte lives in host memory, for compiled code (which checks
    /// its accesses against `size` and accesses the words with plain, naturally aligned loads
    /// and stores, as relaxed atomics compile to).
    pub(crate) fn host_address(&self) -> u64 {
        self.words.as_ptr() as u64
    }

    /// Whether `[addr, addr + bytes)` lies inside this allocation.
    #[inline(always)]
    pub(crate) fn contains(&self, addr: u64, bytes: u64) -> bool {
        addr >= self.base
            && addr - self.base <= self.size
            && self.size - (addr - self.base) >= bytes
    }

    /// Loads `bytes` (1, 2, 4 or 8) at an aligned, in-bounds offset; `None` otherwise.
    #[inline(always)]
    pub(crate) fn load(&self, off: u64, bytes: u32) -> Option<u64> {
        Some(match bytes {
            1 => self.at8(off)?.load(Ordering::Relaxed) as u64,
            2 => self.at16(off)?.load(Ordering::Relaxed) as u64,
            4 => self.at32(off)?.load(Ordering::Relaxed) as u64,
            8 => self.at64(off)?.load(Ordering::Relaxed),
            _ => return None,
        })
    }

    /// Stores the low `bytes` of `v` at an aligned, in-bounds offset; `None` otherwise.
    #[inline(always)]
    pub(crate) fn store(&self, off: u64, bytes: u32, v: u64) -> Option<()> {
        match bytes {
            1 => self.at8(off)?.store(v as u8, Ordering::Relaxed),
            2 => self.at16(off)?.store(v as u16, Ordering::Relaxed),
            4 => self.at32(off)?.store(v as u32, Ordering::Relaxed),
            8 => self.at64(off)?.store(v, Ordering::Relaxed),
            _ => return None,
        }
        Some(())
    }

    /// Whether every one of the 32 accesses of `bytes` (1, 2, 4 or 8) at `offs` is aligned and
    /// in bounds: one pass over all lanes (which vectorizes) instead of a check per access.
    #[inline(always)]
    fn all_ok(&self, offs: &[u64; 32], bytes: u32) -> bool {
        let mut hi = 0u64;
        let mut low_bits = 0u64;
        for &o in offs {
            hi = hi.max(o);
            low_bits |= o;
        }
        matches!(bytes, 1 | 2 | 4 | 8)
            && low_bits & (bytes as u64 - 1) == 0
            && self.size >= bytes as u64
            && hi <= self.size - bytes as u64
    }

    /// A whole warp's loads: lane `l` reads `bytes` at offset `offs[l]` into `out[l]`
    /// (zero-extended). Returns `false`, loading nothing, unless every access is aligned and in
    /// bounds; the caller then takes the lane-by-lane path that reports the faulting lane.
    #[inline(always)]
    pub(crate) fn gather(&self, offs: &[u64; 32], bytes: u32, out: &mut [u64; 32]) -> bool {
        if !self.all_ok(offs, bytes) {
            return false;
        }
        let p = self.words.as_ptr().cast::<u8>();
        macro_rules! lanes {
            ($ty:ty) => {
                for l in 0..32 {
                    // SAFETY: `all_ok` checked that `offs[l] + width <= size <= 8 * words.len()`
                    // and that `offs[l]` is a multiple of the width, so the location lies inside
                    // the 8-byte aligned `words` buffer and is aligned for `$ty`; every bit
                    // pattern is a valid atomic integer, the buffer outlives `&self`, and all
                    // accesses to it are atomic.
                    let a = unsafe { &*p.add(offs[l] as usize).cast::<$ty>() };
                    out[l] = a.load(Ordering::Relaxed) as u64;
                }
            };
        }
        match bytes {
            1 => lanes!(AtomicU8),
            2 => lanes!(AtomicU16),
            4 => lanes!(AtomicU32),
            _ => lanes!(AtomicU64),
        }
        true
    }

    /// A whole warp's stores: lane `l` writes the low `bytes` of `v[l]` at offset `offs[l]`, in
    /// lane order. Returns `false`, storing nothing, unless every access is aligned and in
    /// bounds.
    #[inline(always)]
    pub(crate) fn scatter(&self, offs: &[u64; 32], bytes: u32, v: &[u64; 32]) -> bool {
        if !self.all_ok(offs, bytes) {
            return false;
        }
        let p = self.words.as_ptr().cast::<u8>();
        macro_rules! lanes {
            ($ty:ty, $t:ty) => {
                for l in 0..32 {
                    // SAFETY: as in `gather`: `all_ok` checked bounds and alignment of every
                    // lane's location inside the `words` buffer, which outlives `&self`.
                    let a = unsafe { &*p.add(offs[l] as usize).cast::<$ty>() };
                    a.store(v[l] as $t, Ordering::Relaxed);
                }
            };
        }
        match bytes {
            1 => lanes!(AtomicU8, u8),
            2 => lanes!(AtomicU16, u16),
            4 => lanes!(AtomicU32, u32),
            _ => lanes!(AtomicU64, u64),
        }
        true
    }

    /// Atomically replaces the value `old` at `off` with `f(old)` and returns `old`.
    /// Widths 2, 4 and 8; `None` when out of bounds or misaligned.
    pub(crate) fn rmw(&self, off: u64, bytes: u32, f: impl Fn(u64) -> u64) -> Option<u64> {
        match bytes {
            2 => {
                let a = self.at16(off)?;
                a.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |o| {
                    Some(f(o as u64) as u16)
                })
                .ok()
                .map(|o| o as u64)
            }
            4 => {
                let a = self.at32(off)?;
                a.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |o| {
                    Some(f(o as u64) as u32)
                })
                .ok()
                .map(|o| o as u64)
            }
            8 => {
                let a = self.at64(off)?;
                a.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |o| Some(f(o)))
                    .ok()
            }
            _ => None,
        }
    }

    /// Atomic integer add, the hottest atomic; returns the old value.
    #[inline]
    pub(crate) fn fetch_add(&self, off: u64, bytes: u32, v: u64) -> Option<u64> {
        match bytes {
            4 => Some(self.at32(off)?.fetch_add(v as u32, Ordering::SeqCst) as u64),
            8 => Some(self.at64(off)?.fetch_add(v, Ordering::SeqCst)),
            _ => self.rmw(off, bytes, |o| o.wrapping_add(v)),
        }
    }

    /// Copies bytes out starting at `off` (bounds checked by the caller).
    fn read_bytes(&self, off: u64, dst: &mut [u8]) {
        let mut i = 0usize;
        let n = dst.len();
        while i < n {
            let o = off + i as u64;
            if o % 8 == 0 && n - i >= 8 {
                if let Some(w) = self.at64(o) {
                    dst[i..i + 8].copy_from_slice(&w.load(Ordering::Relaxed).to_le_bytes());
                    i += 8;
                    continue;
                }
            }
            if let Some(b) = self.at8(o) {
                dst[i] = b.load(Ordering::Relaxed);
            }
            i += 1;
        }
    }

    /// Copies bytes in starting at `off` (bounds checked by the caller).
    fn write_bytes(&self, off: u64, src: &[u8]) {
        let mut i = 0usize;
        let n = src.len();
        while i < n {
            let o = off + i as u64;
            if o % 8 == 0 && n - i >= 8 {
                if let Some(w) = self.at64(o) {
                    let mut b = [0u8; 8];
                    b.copy_from_slice(&src[i..i + 8]);
                    w.store(u64::from_le_bytes(b), Ordering::Relaxed);
                    i += 8;
                    continue;
                }
            }
            if let Some(b) = self.at8(o) {
                b.store(src[i], Ordering::Relaxed);
            }
            i += 1;
        }
    }
}

#[derive(Debug)]
struct Heap {
    allocs: BTreeMap<u64, Arc<Allocation>>,
    next: u64,
    used: u64,
}

/// The device's memory: allocations at 64-bit device addresses, every access bounds- and
/// alignment-checked.
///
/// Device addresses start at `0x7e00_0000_0000`, are aligned to 256 bytes, and an address range is
/// not handed out again right after it is freed (the heap bumps upward and only reuses ranges
/// once its 4 TiB address range is exhausted), so use-after-free faults instead of aliasing.
#[derive(Debug, Clone)]
pub struct Memory {
    heap: Arc<RwLock<Heap>>,
    total: u64,
}

/// The device memory size: `FERROCUDA_CPU_MEMORY` (bytes) if set, else half the physical memory,
/// else 8 GiB.
pub(crate) fn configured_total() -> u64 {
    if let Ok(v) = std::env::var("FERROCUDA_CPU_MEMORY") {
        if let Ok(n) = v.trim().parse::<u64>() {
            if n > 0 {
                return n;
            }
        }
    }
    physical_memory().map(|m| m / 2).unwrap_or(8 << 30)
}

fn physical_memory() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = s.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

fn lock_err() -> Error {
    Error::InvalidValue("device memory lock poisoned".into())
}

impl Memory {
    /// A memory of `total` bytes capacity.
    pub(crate) fn with_capacity(total: u64) -> Memory {
        Memory {
            heap: Arc::new(RwLock::new(Heap {
                allocs: BTreeMap::new(),
                next: HEAP_START,
                used: 0,
            })),
            total,
        }
    }

    /// Allocates `bytes` of zeroed device memory; returns its 256-byte aligned device address.
    pub fn alloc(&self, bytes: u64) -> Result<u64, Error> {
        if bytes == 0 {
            return Err(Error::InvalidValue("allocation of 0 bytes".into()));
        }
        let mut heap = self.heap.write().map_err(|_| lock_err())?;
        if heap.used.checked_add(bytes).is_none_or(|u| u > self.total) {
            return Err(Error::OutOfMemory);
        }
        let span = bytes
            .checked_add(GUARD + ALLOC_ALIGN - 1)
            .ok_or(Error::OutOfMemory)?
            / ALLOC_ALIGN
            * ALLOC_ALIGN;
        let base = if heap.next.checked_add(span).is_some_and(|e| e <= HEAP_END) {
            heap.next
        } else {
            // Address range exhausted: first fit among the gaps left by freed allocations.
            let mut cand = HEAP_START;
            let mut found = None;
            for a in heap.allocs.values() {
                if a.base >= cand && a.base - cand >= span {
                    found = Some(cand);
                    break;
                }
                cand = (a.base + a.size + GUARD).div_ceil(ALLOC_ALIGN) * ALLOC_ALIGN;
            }
            match found {
                Some(b) => b,
                None if HEAP_END.saturating_sub(cand) >= span => cand,
                None => return Err(Error::OutOfMemory),
            }
        };
        let a = Allocation::new(base, bytes)?;
        heap.allocs.insert(base, Arc::new(a));
        heap.used += bytes;
        heap.next = heap.next.max(base + span);
        Ok(base)
    }

    /// Frees the allocation that starts at `addr`.
    pub fn free(&self, addr: u64) -> Result<(), Error> {
        let mut heap = self.heap.write().map_err(|_| lock_err())?;
        match heap.allocs.remove(&addr) {
            Some(a) => {
                heap.used -= a.size;
                Ok(())
            }
            None => Err(Error::InvalidValue(format!(
                "0x{addr:x} is not the base of a device allocation"
            ))),
        }
    }

    /// The allocation containing `addr`.
    #[inline]
    pub(crate) fn lookup(&self, addr: u64) -> Option<Arc<Allocation>> {
        let heap = self.heap.read().ok()?;
        let (_, a) = heap.allocs.range(..=addr).next_back()?;
        (addr - a.base < a.size).then(|| a.clone())
    }

    /// `(base, size)` of the allocation containing `addr`.
    pub fn allocation(&self, addr: u64) -> Option<(u64, u64)> {
        self.lookup(addr).map(|a| (a.base, a.size))
    }

    /// The allocation holding all of `[addr, addr + bytes)`, or `InvalidValue`.
    fn range(&self, addr: u64, bytes: u64, what: &str) -> Result<Arc<Allocation>, Error> {
        match self.lookup(addr) {
            Some(a) if a.contains(addr, bytes) => Ok(a),
            _ => Err(Error::InvalidValue(format!(
                "{what} range 0x{addr:x}+{bytes} is not inside one device allocation"
            ))),
        }
    }

    /// Copies host bytes into device memory at `addr`.
    pub fn write(&self, addr: u64, src: &[u8]) -> Result<(), Error> {
        if src.is_empty() {
            return Ok(());
        }
        let a = self.range(addr, src.len() as u64, "destination")?;
        a.write_bytes(addr - a.base, src);
        Ok(())
    }

    /// Copies device memory at `addr` into host bytes.
    pub fn read(&self, addr: u64, dst: &mut [u8]) -> Result<(), Error> {
        if dst.is_empty() {
            return Ok(());
        }
        let a = self.range(addr, dst.len() as u64, "source")?;
        a.read_bytes(addr - a.base, dst);
        Ok(())
    }

    /// Writes `count` copies of `pattern` (1, 2 or 4 bytes: `cuMemsetD8/16/32`) at `addr`,
    /// which must be aligned to the pattern size.
    pub fn fill(&self, addr: u64, pattern: &[u8], count: u64) -> Result<(), Error> {
        let w = pattern.len() as u64;
        if !matches!(w, 1 | 2 | 4) {
            return Err(Error::InvalidValue(format!(
                "memset pattern must be 1, 2 or 4 bytes, not {w}"
            )));
        }
        if addr % w != 0 {
            return Err(Error::InvalidValue(format!(
                "memset address 0x{addr:x} not aligned to {w} bytes"
            )));
        }
        if count == 0 {
            return Ok(());
        }
        let bytes = count
            .checked_mul(w)
            .ok_or_else(|| Error::InvalidValue("memset size overflows".into()))?;
        let a = self.range(addr, bytes, "memset")?;
        let mut chunk = Vec::with_capacity(bytes.min(1 << 16) as usize);
        while (chunk.len() as u64) < bytes.min(1 << 16) {
            chunk.extend_from_slice(pattern);
        }
        let mut done = 0u64;
        while done < bytes {
            let n = (bytes - done).min(chunk.len() as u64) as usize;
            a.write_bytes(addr - a.base + done, &chunk[..n]);
            done += n as u64;
        }
        Ok(())
    }

    /// Copies `bytes` from device address `src` to device address `dst` (overlap allowed).
    pub fn copy(&self, dst: u64, src: u64, bytes: u64) -> Result<(), Error> {
        if bytes == 0 {
            return Ok(());
        }
        let s = self.range(src, bytes, "source")?;
        let d = self.range(dst, bytes, "destination")?;
        let overlapping = Arc::ptr_eq(&s, &d) && src < dst + bytes && dst < src + bytes;
        let step: u64 = if overlapping { bytes } else { 1 << 20 };
        let mut buf = vec![0u8; step.min(bytes) as usize];
        let mut done = 0u64;
        while done < bytes {
            let n = (bytes - done).min(step) as usize;
            s.read_bytes(src - s.base + done, &mut buf[..n]);
            d.write_bytes(dst - d.base + done, &buf[..n]);
            done += n as u64;
        }
        Ok(())
    }

    /// `(free, total)` bytes, as `cuMemGetInfo` reports them.
    pub fn info(&self) -> (u64, u64) {
        let used = self.heap.read().map(|h| h.used).unwrap_or(0);
        (self.total.saturating_sub(used), self.total)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gather_and_scatter_check_every_lane() {
        let a = Allocation::new(HEAP_START, 130).unwrap();
        let mut offs = [0u64; 32];
        for (l, o) in offs.iter_mut().enumerate() {
            *o = 4 * (31 - l as u64);
        }
        let v: [u64; 32] = std::array::from_fn(|l| 0x1_0000_0000 + l as u64);
        assert!(a.scatter(&offs, 4, &v));
        let mut out = [0u64; 32];
        assert!(a.gather(&offs, 4, &mut out));
        assert_eq!(out, std::array::from_fn(|l| l as u64));
        assert_eq!(a.load(4 * 31, 4), Some(0));
        // One lane past the end, one misaligned, or an unsupported width: nothing happens.
        let mut bad = offs;
        bad[7] = 128;
        assert!(!a.gather(&bad, 4, &mut out));
        assert!(!a.scatter(&bad, 4, &[9; 32]));
        bad[7] = 2;
        assert!(!a.gather(&bad, 4, &mut out));
        assert!(!a.gather(&offs, 3, &mut out));
        assert_eq!(a.load(0, 4), Some(31));
        // The last whole element fits; widths 1, 2 and 8 too.
        assert!(a.gather(&[126; 32], 2, &mut out));
        assert!(a.scatter(&[129; 32], 1, &[0xab; 32]));
        assert_eq!(a.load(129, 1), Some(0xab));
        assert!(a.gather(&[120; 32], 8, &mut out));
        assert!(!a.gather(&[128; 32], 8, &mut out));
        assert!(!a.gather(&[u64::MAX - 3; 32], 4, &mut out));
    }

    #[test]
    fn alloc_is_aligned_nonzero_and_not_reused() {
        let m = Memory::with_capacity(1 << 30);
        let a = m.alloc(10).unwrap();
        assert_eq!(a % 256, 0);
        assert!(a >= HEAP_START);
        let b = m.alloc(1000).unwrap();
        assert!(b >= a + 10 + GUARD);
        assert_eq!(m.allocation(a + 9), Some((a, 10)));
        assert_eq!(m.allocation(a + 10), None);
        m.free(a).unwrap();
        assert!(m.free(a).is_err());
        let c = m.alloc(10).unwrap();
        assert_ne!(c, a);
        assert!(matches!(m.alloc(0), Err(Error::InvalidValue(_))));
    }

    #[test]
    fn capacity_is_enforced_and_reported() {
        let m = Memory::with_capacity(4096);
        assert_eq!(m.info(), (4096, 4096));
        let a = m.alloc(4000).unwrap();
        assert_eq!(m.info(), (96, 4096));
        assert_eq!(m.alloc(100), Err(Error::OutOfMemory));
        m.free(a).unwrap();
        assert!(m.alloc(100).is_ok());
    }

    #[test]
    fn read_write_fill_copy_round_trip() {
        let m = Memory::with_capacity(1 << 20);
        let a = m.alloc(100).unwrap();
        let data: Vec<u8> = (0..100).collect();
        m.write(a, &data).unwrap();
        let mut out = vec![0u8; 97];
        m.read(a + 3, &mut out).unwrap();
        assert_eq!(out, data[3..]);
        m.fill(a + 4, &[0xab, 0xcd], 3).unwrap();
        let mut out = [0u8; 8];
        m.read(a + 2, &mut out).unwrap();
        assert_eq!(out, [2, 3, 0xab, 0xcd, 0xab, 0xcd, 0xab, 0xcd]);
        assert!(m.fill(a + 1, &[1, 2], 1).is_err());
        let b = m.alloc(100).unwrap();
        m.copy(b, a, 100).unwrap();
        let mut out = vec![0u8; 100];
        m.read(b, &mut out).unwrap();
        assert_eq!(out[..4], [0, 1, 2, 3]);
        // Overlapping copy inside one allocation behaves like memmove.
        m.copy(a + 1, a, 10).unwrap();
        let mut out = [0u8; 4];
        m.read(a, &mut out).unwrap();
        assert_eq!(out, [0, 0, 1, 2]);
        assert!(m.read(a + 90, &mut [0u8; 11]).is_err());
        assert!(m.write(a - 1, &[1]).is_err());
    }

    #[test]
    fn typed_access_checks_alignment_and_bounds() {
        let m = Memory::with_capacity(1 << 20);
        let a = m.alloc(16).unwrap();
        let al = m.lookup(a).unwrap();
        al.store(8, 8, 0x1122_3344_5566_7788).unwrap();
        assert_eq!(al.load(8, 4), Some(0x5566_7788));
        assert_eq!(al.load(12, 2), Some(0x3344));
        assert_eq!(al.load(9, 1), Some(0x77));
        assert_eq!(al.load(2, 4), None);
        assert_eq!(al.load(16, 1), None);
        assert_eq!(al.fetch_add(0, 4, 5), Some(0));
        assert_eq!(al.rmw(0, 4, |o| o * 3), Some(5));
        assert_eq!(al.load(0, 4), Some(15));
    }
}
