//! One subtable per distinct mask: its packed view of the mask, the hash of
//! a masked key, the key type stored in the shared entry map, and the
//! per-subtable hit counters used for ranking.
//!
//! This module holds no entries itself. All entries of all subtables live in
//! one concurrent map owned by [`crate::Classifier`]; an entry's key names its
//! subtable, so "the hash table of subtable S" is the slice of that map whose
//! keys point at S. See the crate docs for why.
//!
//! **Packed keys.** A mask usually constrains a handful of the
//! [`FLOW_WORDS`] words of a [`FlowKey`]. A subtable lists the indices of
//! the non-zero mask words once, at creation, and from then on a masked key
//! is handled as those words only, packed densely at the front of a
//! `[u64; FLOW_WORDS]`. Hashing and comparing touch `n` words, not 24.

use std::hash::{BuildHasher, Hash, Hasher};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

use hwol_flow::{FlowKey, FlowMask, FLOW_WORDS};

/// Number of hit-counter shards per subtable. Reader threads are spread over
/// the shards so that concurrent lookups rarely write the same cache line.
const HIT_SHARDS: usize = 16;

/// A hit counter alone on its cache line pair (128 bytes also keeps the
/// adjacent-line prefetcher from pairing two shards).
#[repr(align(128))]
#[derive(Default)]
struct HitShard(AtomicU64);

/// Gives every thread a shard index, round-robin, the first time it counts.
static NEXT_SHARD: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    static SHARD: usize = NEXT_SHARD.fetch_add(1, Ordering::Relaxed) % HIT_SHARDS;
}

/// A masked key packed to the mask's significant words: the scratch buffer a
/// lookup fills on the stack.
pub(crate) type Packed = [u64; FLOW_WORDS];

/// The per-mask part of the classifier. Immutable after creation, apart from
/// the hit counters.
pub(crate) struct Subtable {
    /// Distinguishes subtables in the shared map's hash, so equal packed words
    /// under two masks land in different buckets.
    id: u64,
    /// The mask, as given (used for `lookup_with_mask` and dumps).
    mask: FlowMask,
    /// Number of significant (non-zero) mask words.
    n: usize,
    /// Indices into `FlowKey::words()` of the significant words, ascending.
    idx: [u8; FLOW_WORDS],
    /// The significant mask words, packed in the same order as `idx`.
    mask_packed: Packed,
    /// Seeded hasher shared by all subtables of one classifier.
    hasher: foldhash::fast::RandomState,
    /// Lookups that hit this subtable, sharded by thread.
    hits: [HitShard; HIT_SHARDS],
}

impl Subtable {
    /// A subtable for `mask`; `id` must be unique within the classifier.
    pub(crate) fn new(id: u64, mask: &FlowMask, hasher: foldhash::fast::RandomState) -> Self {
        let mut idx = [0u8; FLOW_WORDS];
        let mut mask_packed = [0u64; FLOW_WORDS];
        let mut n = 0;
        for (i, &w) in mask.words().iter().enumerate() {
            if w != 0 {
                // FLOW_WORDS is 24, so a word index always fits in a u8.
                idx[n] = i as u8;
                mask_packed[n] = w;
                n += 1;
            }
        }
        Subtable { id, mask: *mask, n, idx, mask_packed, hasher, hits: Default::default() }
    }

    /// The mask this subtable holds entries for.
    #[inline]
    pub(crate) fn mask(&self) -> &FlowMask {
        &self.mask
    }

    /// Writes `key & mask`, packed, into `out` and returns the used prefix.
    #[inline]
    pub(crate) fn pack<'o>(&self, key: &FlowKey, out: &'o mut Packed) -> &'o [u64] {
        let kw = key.words();
        for ((o, &i), &m) in out.iter_mut().zip(&self.idx[..self.n]).zip(&self.mask_packed[..self.n]) {
            *o = kw[usize::from(i)] & m;
        }
        &out[..self.n]
    }

    /// Rebuilds the full masked key from its packed words.
    pub(crate) fn unpack(&self, packed: &[u64]) -> FlowKey {
        let mut w = [0u64; FLOW_WORDS];
        for (&i, &p) in self.idx[..self.n].iter().zip(packed) {
            w[usize::from(i)] = p;
        }
        FlowKey::from_words(w)
    }

    /// Hash of a packed masked key in this subtable.
    #[inline]
    pub(crate) fn hash(&self, packed: &[u64]) -> u64 {
        let mut h = self.hasher.build_hasher();
        h.write_u64(self.id);
        for &w in packed {
            h.write_u64(w);
        }
        h.finish()
    }

    /// Counts one lookup hit. A relaxed load and store rather than an atomic
    /// add: threads that share a shard may occasionally lose a count, which
    /// ranking tolerates, and the hot path avoids a locked instruction.
    #[inline]
    pub(crate) fn count_hit(&self) {
        let shard = SHARD.with(|s| *s);
        let c = &self.hits[shard].0;
        c.store(c.load(Ordering::Relaxed).wrapping_add(1), Ordering::Relaxed);
    }

    /// Total hits counted so far (monotonic apart from lost increments).
    pub(crate) fn hits(&self) -> u64 {
        self.hits.iter().fold(0u64, |acc, s| acc.wrapping_add(s.0.load(Ordering::Relaxed)))
    }
}

/// The key of one entry in the shared entry map: which subtable, the packed
/// masked key, and its hash computed once at insertion.
pub(crate) struct StoredKey {
    hash: u64,
    sub: Arc<Subtable>,
    words: Packed,
}

impl StoredKey {
    /// The stored key for `key` (masked by the subtable) in `sub`.
    pub(crate) fn new(sub: &Arc<Subtable>, key: &FlowKey) -> Self {
        let mut words = [0u64; FLOW_WORDS];
        let hash = sub.hash(sub.pack(key, &mut words));
        StoredKey { hash, sub: Arc::clone(sub), words }
    }

    /// The subtable this entry belongs to.
    pub(crate) fn subtable(&self) -> &Subtable {
        &self.sub
    }

    /// The masked key, unpacked.
    pub(crate) fn masked_key(&self) -> FlowKey {
        self.sub.unpack(&self.words[..self.sub.n])
    }
}

impl PartialEq for StoredKey {
    fn eq(&self, other: &Self) -> bool {
        // Unused tail words are zero in both, so comparing them is harmless.
        self.hash == other.hash && Arc::ptr_eq(&self.sub, &other.sub) && self.words == other.words
    }
}

impl Eq for StoredKey {}

impl Hash for StoredKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.hash);
    }
}

/// What a lookup probes the entry map with: borrowed, built on the stack.
pub(crate) struct Probe<'a> {
    hash: u64,
    sub: &'a Subtable,
    words: &'a [u64],
}

impl<'a> Probe<'a> {
    /// Packs `key` for `sub` into `buf` and hashes it.
    #[inline]
    pub(crate) fn new(sub: &'a Subtable, key: &FlowKey, buf: &'a mut Packed) -> Self {
        let words = sub.pack(key, buf);
        Probe { hash: sub.hash(words), sub, words }
    }
}

impl Hash for Probe<'_> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.hash);
    }
}

impl papaya::Equivalent<StoredKey> for Probe<'_> {
    #[inline]
    fn equivalent(&self, key: &StoredKey) -> bool {
        self.hash == key.hash && std::ptr::eq(self.sub, &*key.sub) && key.words[..self.words.len()] == *self.words
    }
}

/// `BuildHasher` for the entry map: keys carry their hash already, so the
/// hasher just passes through the one `u64` they write.
#[derive(Clone, Copy, Default)]
pub(crate) struct PrehashedState;

/// The hasher [`PrehashedState`] builds.
#[derive(Default)]
pub(crate) struct Prehashed(u64);

impl BuildHasher for PrehashedState {
    type Hasher = Prehashed;
    #[inline]
    fn build_hasher(&self) -> Prehashed {
        Prehashed(0)
    }
}

impl Hasher for Prehashed {
    #[inline]
    fn finish(&self) -> u64 {
        self.0
    }

    #[inline]
    fn write_u64(&mut self, i: u64) {
        self.0 = i;
    }

    /// Not reached: both key types only call `write_u64`. Kept total (a
    /// simple fold) rather than panicking.
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mask_in_port_nw_src() -> FlowMask {
        let mut m = FlowMask::default();
        m.0.in_port = !0;
        m.0.nw_src = [255, 255, 255, 0];
        m
    }

    #[test]
    fn pack_selects_only_significant_words() {
        let m = mask_in_port_nw_src();
        let sub = Subtable::new(1, &m, foldhash::fast::RandomState::default());
        let nonzero = m.words().iter().filter(|w| **w != 0).count();
        assert_eq!(sub.n, nonzero);
        assert!(sub.n <= 2, "in_port and nw_src span at most two words");

        let k = FlowKey { in_port: 3, nw_src: [10, 1, 2, 3], tp_dst: 80, ..Default::default() };
        let mut buf = [0; FLOW_WORDS];
        let packed = sub.pack(&k, &mut buf).to_vec();
        assert_eq!(sub.unpack(&packed), k.masked(&m));
    }

    #[test]
    fn hash_ignores_unmasked_bits_and_depends_on_subtable() {
        let m = mask_in_port_nw_src();
        let state = foldhash::fast::RandomState::default();
        let a = Subtable::new(1, &m, state.clone());
        let b = Subtable::new(2, &m, state);
        let k1 = FlowKey { in_port: 3, nw_src: [10, 1, 2, 3], ..Default::default() };
        let k2 = FlowKey { in_port: 3, nw_src: [10, 1, 2, 99], tp_dst: 7, ..Default::default() };
        let (mut b1, mut b2) = ([0; FLOW_WORDS], [0; FLOW_WORDS]);
        let (p1, p2) = (a.pack(&k1, &mut b1).to_vec(), a.pack(&k2, &mut b2).to_vec());
        assert_eq!(a.hash(&p1), a.hash(&p2));
        assert_ne!(a.hash(&p1), b.hash(&p1));
    }

    #[test]
    fn wildcard_mask_packs_to_nothing() {
        let sub = Subtable::new(0, &FlowMask::wildcard(), foldhash::fast::RandomState::default());
        let mut buf = [0; FLOW_WORDS];
        assert!(sub.pack(&FlowKey { in_port: 9, ..Default::default() }, &mut buf).is_empty());
        assert_eq!(sub.unpack(&[]), FlowKey::default());
    }

    #[test]
    fn hit_counter_sums_shards() {
        let sub = Subtable::new(0, &FlowMask::wildcard(), foldhash::fast::RandomState::default());
        for _ in 0..5 {
            sub.count_hit();
        }
        std::thread::scope(|s| {
            s.spawn(|| (0..3).for_each(|_| sub.count_hit()));
        });
        assert_eq!(sub.hits(), 8);
    }
}
