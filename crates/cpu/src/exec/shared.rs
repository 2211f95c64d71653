//! A block's shared memory.
//!
//! Stored as 64-bit words, a power of two of them, so that a whole warp's load is one masked
//! index per lane into a word array: no per-lane bounds check, and the lane loop becomes vector
//! gathers. Every access is checked against the block's real size first, and PTX accesses are
//! naturally aligned, so an access never straddles two words.

use super::load_mask as width_mask;

pub(super) struct SharedMemory {
    words: Vec<u64>,
    /// Bytes the block may address.
    len: usize,
}

impl SharedMemory {
    pub(super) fn new(len: usize) -> SharedMemory {
        let n = len.div_ceil(8).next_power_of_two().max(1);
        SharedMemory {
            words: vec![0; n],
            len,
        }
    }

    /// The first byte, for compiled code (which checks its accesses against the length it is
    /// given).
    pub(super) fn as_mut_ptr(&mut self) -> *mut u8 {
        self.words.as_mut_ptr().cast()
    }

    /// The `n`-byte (1, 2, 4 or 8) little-endian value at byte `o`; `None` when it is out of
    /// bounds or misaligned.
    #[inline(always)]
    pub(super) fn read(&self, o: u64, n: u32) -> Option<u64> {
        if !self.valid(o, n) {
            return None;
        }
        let w = self.words[(o >> 3) as usize];
        Some((w >> ((o & 7) * 8)) & width_mask(n))
    }

    /// Stores the low `n` bytes of `v` at byte `o`; `None` when out of bounds or misaligned.
    #[inline(always)]
    pub(super) fn write(&mut self, o: u64, n: u32, v: u64) -> Option<()> {
        if !self.valid(o, n) {
            return None;
        }
        let m = width_mask(n);
        let sh = (o & 7) * 8;
        let w = &mut self.words[(o >> 3) as usize];
        *w = (*w & !(m << sh)) | ((v & m) << sh);
        Some(())
    }

    #[inline(always)]
    fn valid(&self, o: u64, n: u32) -> bool {
        matches!(n, 1 | 2 | 4 | 8)
            && o & (n as u64 - 1) == 0
            && o.checked_add(n as u64)
                .is_some_and(|end| end <= self.len as u64)
    }

    /// Every lane's offset is in bounds and aligned for `n` bytes (one check for the warp).
    #[inline(always)]
    fn all_valid(&self, offs: &[u64; 32], n: u32) -> bool {
        // `a <= limit` exactly when neither `a` nor `limit - a` has its top bit set: OR-ed over
        // the lanes without compares, so the loop vectorizes.
        let limit = (self.len as u64).wrapping_sub(n as u64);
        let mut sign = limit;
        let mut low = 0u64;
        for &a in offs {
            sign |= a | limit.wrapping_sub(a);
            low |= a;
        }
        matches!(n, 1 | 2 | 4 | 8) && low & (n as u64 - 1) == 0 && sign >> 63 == 0
    }

    /// Loads `n` bytes for each of 32 lanes into `out` (zero-extended); `false` (and nothing
    /// loaded) when some lane's access is out of bounds or misaligned.
    #[inline(always)]
    pub(super) fn gather(&self, offs: &[u64; 32], n: u32, out: &mut [u64; 32]) -> bool {
        if !self.all_valid(offs, n) {
            return false;
        }
        let words = &self.words[..];
        let mask = words.len() - 1;
        let m = width_mask(n);
        for l in 0..32 {
            let a = offs[l] as usize;
            out[l] = (words[(a >> 3) & mask] >> ((a & 7) * 8)) & m;
        }
        true
    }

    /// Stores `n` bytes of each of 32 lanes, in lane order (the highest lane wins where lanes
    /// collide); `false` (and nothing stored) when some lane's access is out of bounds or
    /// misaligned.
    #[inline(always)]
    pub(super) fn scatter(&mut self, offs: &[u64; 32], n: u32, v: &[u64; 32]) -> bool {
        if !self.all_valid(offs, n) {
            return false;
        }
        let mask = self.words.len() - 1;
        let m = width_mask(n);
        for l in 0..32 {
            let a = offs[l] as usize;
            let sh = (a & 7) * 8;
            let w = &mut self.words[(a >> 3) & mask];
            *w = (*w & !(m << sh)) | ((v[l] & m) << sh);
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_and_writes_every_width_little_endian() {
        let mut s = SharedMemory::new(20);
        s.write(0, 8, 0x0807_0605_0403_0201).unwrap();
        assert_eq!(s.read(0, 1), Some(1));
        assert_eq!(s.read(2, 2), Some(0x0403));
        assert_eq!(s.read(4, 4), Some(0x0807_0605));
        s.write(5, 1, 0xff).unwrap();
        assert_eq!(s.read(4, 4), Some(0x0807_ff05));
        s.write(16, 4, 0xdead_beef).unwrap();
        assert_eq!(s.read(16, 4), Some(0xdead_beef));
        // Bounds are the block's size, not the word array's.
        assert_eq!(s.read(20, 4), None);
        assert_eq!(s.read(16, 8), None);
        assert!(s.write(20, 1, 0).is_none());
        // Misaligned.
        assert_eq!(s.read(2, 4), None);
        assert_eq!(s.read(u64::MAX - 1, 2), None);
        assert_eq!(s.read(0, 3), None);
    }

    #[test]
    fn whole_warp_accesses_check_every_lane() {
        let mut s = SharedMemory::new(256);
        let offs: [u64; 32] = std::array::from_fn(|l| 4 * l as u64);
        let v: [u64; 32] = std::array::from_fn(|l| 0x1_0000_0000 + l as u64);
        assert!(s.scatter(&offs, 4, &v));
        let mut out = [0u64; 32];
        assert!(s.gather(&offs, 4, &mut out));
        assert_eq!(out, std::array::from_fn(|l| l as u64));
        // Bytes and halves from the same words.
        let b: [u64; 32] = std::array::from_fn(|l| l as u64 * 4 + 1);
        assert!(s.gather(&b, 1, &mut out));
        assert_eq!(out, [0; 32]);
        let mut bad = offs;
        bad[31] = 254;
        assert!(!s.gather(&bad, 4, &mut out));
        bad[31] = 256;
        assert!(!s.scatter(&bad, 4, &v));
        bad[31] = u64::MAX - 3;
        assert!(!s.gather(&bad, 4, &mut out));
        // Colliding lanes: the highest wins.
        assert!(s.scatter(&[8; 32], 8, &v));
        assert_eq!(s.read(8, 8), Some(v[31]));
    }
}
