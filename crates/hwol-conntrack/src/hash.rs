//! Hashing for the connection table.
//!
//! std's SipHash cost more than the rest of a lookup hit put together. A
//! packet's key is hashed once, with [`SeededState`], and the result is
//! stored in the key: some of its bits choose the shard, and the shard's
//! map reuses the value through [`PrehashedState`] instead of hashing again.
//!
//! [`SeededState`] mixes each 64-bit word into the state with a folded 64×64→128
//! multiplication against secret per-table seeds drawn from std's
//! `RandomState`. That is the construction of the fast hashers commonly
//! used for hash tables (foldhash, ahash's fallback): not a cryptographic
//! PRF, but without the seeds an attacker cannot predict which tuples
//! collide, which is what keeps a remote peer from degrading one shard.

use std::hash::{BuildHasher, Hasher, RandomState};

const MULT: u64 = 0x9e37_79b9_7f4a_7c15;

#[inline]
fn folded_multiply(a: u64, b: u64) -> u64 {
    let full = u128::from(a) * u128::from(b);
    (full as u64) ^ ((full >> 64) as u64)
}

/// Builds [`SeededHasher`]s with seeds fixed at construction.
#[derive(Clone, Debug)]
pub(crate) struct SeededState {
    k0: u64,
    k1: u64,
}

impl SeededState {
    /// Fresh random seeds.
    pub(crate) fn new() -> Self {
        let r = RandomState::new();
        SeededState { k0: r.hash_one(0x5eed_u64), k1: r.hash_one(0xf00d_u64) | 1 }
    }
}

impl BuildHasher for SeededState {
    type Hasher = SeededHasher;
    #[inline]
    fn build_hasher(&self) -> SeededHasher {
        SeededHasher { h: self.k0, k: self.k1 }
    }
}

/// The hasher; see the module docs.
#[derive(Clone, Debug)]
pub(crate) struct SeededHasher {
    h: u64,
    k: u64,
}

impl Hasher for SeededHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            self.write_u64(u64::from_le_bytes(w));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut w = [0u8; 8];
            w[..rest.len()].copy_from_slice(rest);
            self.write_u64(u64::from_le_bytes(w) ^ ((rest.len() as u64) << 56));
        }
    }
    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.write_u64(u64::from(i));
    }
    #[inline]
    fn write_u16(&mut self, i: u16) {
        self.write_u64(u64::from(i));
    }
    #[inline]
    fn write_u32(&mut self, i: u32) {
        self.write_u64(u64::from(i));
    }
    #[inline]
    fn write_u64(&mut self, i: u64) {
        self.h = folded_multiply(self.h ^ i, self.k ^ MULT);
    }
    #[inline]
    fn write_u128(&mut self, i: u128) {
        self.write_u64(i as u64);
        self.write_u64((i >> 64) as u64);
    }
    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.write_u64(i as u64);
    }
    #[inline]
    fn finish(&self) -> u64 {
        folded_multiply(self.h, self.k).rotate_left(23)
    }
}

/// For map keys that carry their own, already mixed, hash: the hasher
/// passes the one `u64` they write straight through.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct PrehashedState;

impl BuildHasher for PrehashedState {
    type Hasher = Prehashed;
    #[inline]
    fn build_hasher(&self) -> Prehashed {
        Prehashed(0)
    }
}

/// See [`PrehashedState`].
#[derive(Clone, Copy, Debug)]
pub(crate) struct Prehashed(u64);

impl Hasher for Prehashed {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        // Only reached if a key type writes something other than its
        // precomputed hash; fold it in rather than lose it.
        for b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*b);
        }
    }
    #[inline]
    fn write_u64(&mut self, i: u64) {
        self.0 ^= i;
    }
    #[inline]
    fn finish(&self) -> u64 {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn spreads_small_keys_over_shards() {
        let s = SeededState::new();
        let mut buckets = [0u32; 64];
        for port in 0u16..6400 {
            buckets[(s.hash_one((6u8, port, 80u16)) % 64) as usize] += 1;
        }
        // 100 expected per bucket; a broken mix would pile them up.
        assert!(buckets.iter().all(|n| (40..200).contains(n)), "{buckets:?}");
        let distinct: HashSet<u64> = (0u32..10_000).map(|i| s.hash_one(i)).collect();
        assert_eq!(distinct.len(), 10_000);
    }
}
