//! A small, fast, non-cryptographic hash map for name lookups while parsing.
//!
//! The parser hashes every register, symbol and label name it meets; SipHash (the std
//! default) is several times slower for short keys and its DoS resistance buys nothing here
//! (a hostile input can only slow down its own parse, which is bounded by input size).

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

const K: u64 = 0x517c_c1b7_2722_0a95;

/// The Fx hash (as used inside rustc): rotate, xor, multiply per word.
#[derive(Default, Clone, Copy)]
pub(crate) struct FxHasher {
    hash: u64,
}

impl FxHasher {
    #[inline]
    fn add(&mut self, w: u64) {
        self.hash = (self.hash.rotate_left(5) ^ w).wrapping_mul(K);
    }
}

impl Hasher for FxHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            self.add(u64::from_le_bytes([
                c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7],
            ]));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut w = [0u8; 8];
            w[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(w));
        }
    }

    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }

    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }

    #[inline]
    fn finish(&self) -> u64 {
        self.hash
    }
}

/// `HashMap` keyed with [`FxHasher`].
pub(crate) type FxMap<K, V> = HashMap<K, V, BuildHasherDefault<FxHasher>>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distinguishes_similar_names() {
        let mut m: FxMap<&str, u32> = FxMap::default();
        for (i, n) in ["%r1", "%r10", "%r100", "%rd1", "%rd10", "a", ""]
            .iter()
            .enumerate()
        {
            m.insert(n, i as u32);
        }
        assert_eq!(m.get("%r10"), Some(&1));
        assert_eq!(m.get("%rd10"), Some(&4));
        assert_eq!(m.get(""), Some(&6));
        assert_eq!(m.get("%r2"), None);
    }
}
