//! [`Classifier`]: tuple-space search with lock-free lookups and one
//! serialized writer. The design is argued in the crate docs.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use arc_swap::ArcSwap;
use hwol_flow::{FlowKey, FlowMask, FLOW_WORDS};

use crate::subtable::{PrehashedState, Probe, StoredKey, Subtable};

/// The ordered list of subtables lookups walk, published as a whole.
type SubtableList = Vec<Arc<Subtable>>;

/// Writer-side bookkeeping for one subtable.
struct Slot {
    sub: Arc<Subtable>,
    /// Entries currently in the subtable; at zero the subtable is dropped.
    entries: usize,
    /// `sub.hits()` at the previous `rank_subtables`.
    hits_at_last_rank: u64,
}

/// State only writers touch, behind the writer mutex.
struct WriterState {
    slots: HashMap<FlowMask, Slot>,
    next_id: u64,
}

/// The megaflow classifier: a set of `(masked key, mask) → value` entries,
/// searched by tuple-space search.
///
/// Lookups ([`lookup`](Self::lookup), [`lookup_with_mask`](Self::lookup_with_mask),
/// [`lookup_with`](Self::lookup_with), [`lookup_batch`](Self::lookup_batch), [`get`](Self::get), [`len`](Self::len), [`n_masks`](Self::n_masks),
/// [`masks`](Self::masks), [`for_each`](Self::for_each)) take no lock and may
/// run on any number of threads at once. Writers
/// ([`insert`](Self::insert), [`remove`](Self::remove),
/// [`rank_subtables`](Self::rank_subtables)) take `&self` and are serialized
/// by an internal mutex; they never block readers.
///
/// A lookup that runs concurrently with a write sees the classifier either
/// before or after that write. A lookup that starts after `insert` returned
/// finds the new entry (unless it was removed since); one that starts after
/// `remove` returned does not.
pub struct Classifier<V> {
    /// Every entry of every subtable; each key names its subtable.
    entries: papaya::HashMap<StoredKey, V, PrehashedState>,
    /// The search order, replaced whole on mask add/remove and ranking.
    order: ArcSwap<SubtableList>,
    /// Number of entries (kept by the writer; read lock-free).
    len: AtomicUsize,
    /// Seeded per classifier, so colliding keys cannot be precomputed.
    hasher: foldhash::fast::RandomState,
    writer: Mutex<WriterState>,
}

impl<V: Clone + Send + Sync + 'static> Default for Classifier<V> {
    fn default() -> Self {
        Self::new()
    }
}

impl<V> fmt::Debug for Classifier<V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Classifier")
            .field("len", &self.len.load(Ordering::Relaxed))
            .field("n_masks", &self.order.load().len())
            .finish_non_exhaustive()
    }
}

impl<V: Clone + Send + Sync + 'static> Classifier<V> {
    /// An empty classifier.
    pub fn new() -> Self {
        Classifier {
            entries: papaya::HashMap::builder().hasher(PrehashedState).build(),
            order: ArcSwap::from_pointee(Vec::new()),
            len: AtomicUsize::new(0),
            hasher: foldhash::fast::RandomState::default(),
            writer: Mutex::new(WriterState { slots: HashMap::new(), next_id: 0 }),
        }
    }

    /// The writer lock. A panic in another writer (only possible from `V`'s
    /// `Clone` or `Drop`) does not wedge the classifier: the bookkeeping is
    /// updated before any user code runs, so the state is still coherent.
    fn writer(&self) -> MutexGuard<'_, WriterState> {
        self.writer.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Insert or replace the entry for `(key & mask, mask)`. Returns the old
    /// value when an entry was replaced.
    ///
    /// Bits of `key` outside `mask` are ignored. A mask not seen before gets
    /// a new subtable, searched last until the next
    /// [`rank_subtables`](Self::rank_subtables).
    pub fn insert(&self, key: &FlowKey, mask: &FlowMask, value: V) -> Option<V> {
        let mut w = self.writer();
        let w = &mut *w;
        let (sub, new_subtable) = match w.slots.get(mask) {
            Some(slot) => (Arc::clone(&slot.sub), false),
            None => {
                let sub = Arc::new(Subtable::new(w.next_id, mask, self.hasher.clone()));
                w.next_id += 1;
                (sub, true)
            }
        };
        let guard = self.entries.guard();
        // The entry goes in before a new subtable is published, so a reader
        // never sees a subtable that is missing its first entry.
        let old = self.entries.insert(StoredKey::new(&sub, key), value, &guard);
        if old.is_none() {
            self.len.fetch_add(1, Ordering::Relaxed);
            if new_subtable {
                let hits = sub.hits();
                w.slots.insert(*mask, Slot { sub: Arc::clone(&sub), entries: 1, hits_at_last_rank: hits });
                let mut list = SubtableList::clone(&self.order.load());
                list.push(sub);
                self.order.store(Arc::new(list));
            } else if let Some(slot) = w.slots.get_mut(mask) {
                slot.entries += 1;
            }
        }
        old.cloned()
    }

    /// Remove the entry for `(key & mask, mask)` and return its value, or
    /// `None` if there is no such entry. A subtable left empty is dropped
    /// from the search order.
    pub fn remove(&self, key: &FlowKey, mask: &FlowMask) -> Option<V> {
        let mut w = self.writer();
        let slot = w.slots.get_mut(mask)?;
        let sub = Arc::clone(&slot.sub);
        let mut buf = [0u64; FLOW_WORDS];
        let guard = self.entries.guard();
        let old = self.entries.remove(&Probe::new(&sub, key, &mut buf), &guard)?;
        self.len.fetch_sub(1, Ordering::Relaxed);
        slot.entries -= 1;
        if slot.entries == 0 {
            w.slots.remove(mask);
            let mut list = SubtableList::clone(&self.order.load());
            list.retain(|s| !Arc::ptr_eq(s, &sub));
            self.order.store(Arc::new(list));
        }
        Some(old.clone())
    }

    /// Walks the subtables in search order and calls `found` on the first
    /// match. Lock-free, and allocation-free once the calling thread has
    /// done one lookup (the epoch and hazard slots are per thread).
    #[inline]
    fn find<R>(&self, key: &FlowKey, found: impl FnOnce(&V, &Subtable) -> R) -> Option<R> {
        let order = self.order.load();
        if order.is_empty() {
            return None;
        }
        let guard = self.entries.guard();
        let mut buf = [0u64; FLOW_WORDS];
        for sub in order.iter() {
            if let Some(v) = self.entries.get(&Probe::new(sub, key, &mut buf), &guard) {
                sub.count_hit();
                return Some(found(v, sub));
            }
        }
        None
    }

    /// Lock-free. Returns a clone of the value of some entry that matches
    /// `key`. If several entries match (megaflows are meant not to overlap),
    /// which one is unspecified.
    #[inline]
    pub fn lookup(&self, key: &FlowKey) -> Option<V> {
        self.find(key, |v, _| v.clone())
    }

    /// Like [`lookup`](Self::lookup) but also returns the matching entry's
    /// mask.
    #[inline]
    pub fn lookup_with_mask(&self, key: &FlowKey) -> Option<(V, FlowMask)> {
        self.find(key, |v, sub| (v.clone(), *sub.mask()))
    }

    /// Like [`lookup_with_mask`](Self::lookup_with_mask), but hands `f` a
    /// reference instead of cloning the value: useful when `V` is an `Arc`
    /// whose reference count many cores would otherwise bump on every packet.
    /// `f` runs inside the lookup's reclamation epoch; keep it short.
    #[inline]
    pub fn lookup_with<R>(&self, key: &FlowKey, f: impl FnOnce(&V, &FlowMask) -> R) -> Option<R> {
        self.find(key, |v, sub| f(v, sub.mask()))
    }

    /// Looks up every key of a batch, calling `f(i, found)` for `keys[i]` in
    /// order, where `found` is the matching entry's value and mask. Same
    /// semantics as [`lookup_with`](Self::lookup_with) per key, but the
    /// subtable list and the reclamation epoch are entered once per batch
    /// rather than once per key. `f` runs inside that epoch; keep it short.
    pub fn lookup_batch(&self, keys: &[FlowKey], mut f: impl FnMut(usize, Option<(&V, &FlowMask)>)) {
        let order = self.order.load();
        let guard = self.entries.guard();
        let mut buf = [0u64; FLOW_WORDS];
        'keys: for (i, key) in keys.iter().enumerate() {
            for sub in order.iter() {
                if let Some(v) = self.entries.get(&Probe::new(sub, key, &mut buf), &guard) {
                    sub.count_hit();
                    f(i, Some((v, sub.mask())));
                    continue 'keys;
                }
            }
            f(i, None);
        }
    }

    /// The value of exactly the entry `(key & mask, mask)`, if present.
    /// Lock-free; does not count as a hit for ranking.
    pub fn get(&self, key: &FlowKey, mask: &FlowMask) -> Option<V> {
        let order = self.order.load();
        let sub = order.iter().find(|s| s.mask() == mask)?;
        let guard = self.entries.guard();
        let mut buf = [0u64; FLOW_WORDS];
        self.entries.get(&Probe::new(sub, key, &mut buf), &guard).cloned()
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.len.load(Ordering::Relaxed)
    }

    /// True when there are no entries.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Number of distinct masks, i.e. of subtables a missing lookup probes.
    pub fn n_masks(&self) -> usize {
        self.order.load().len()
    }

    /// The masks in the order lookups currently search them.
    pub fn masks(&self) -> Vec<FlowMask> {
        self.order.load().iter().map(|s| *s.mask()).collect()
    }

    /// Reorder subtables by hits counted since the previous call (most hits
    /// first). Ties keep their current relative order, so a subtable with
    /// no recent hits does not jump ahead of one that had them earlier.
    ///
    /// The caller decides how often to rank (the classifier reads no clock);
    /// OVS's userspace datapath does it about once a second.
    pub fn rank_subtables(&self) {
        let mut w = self.writer();
        let current = self.order.load_full();
        let mut ranked: Vec<(u64, Arc<Subtable>)> = current
            .iter()
            .map(|sub| {
                let now = sub.hits();
                let delta = match w.slots.get_mut(sub.mask()) {
                    Some(slot) => {
                        let d = now.wrapping_sub(slot.hits_at_last_rank);
                        slot.hits_at_last_rank = now;
                        d
                    }
                    None => 0,
                };
                (delta, Arc::clone(sub))
            })
            .collect();
        ranked.sort_by_key(|(delta, _)| std::cmp::Reverse(*delta));
        self.order.store(Arc::new(ranked.into_iter().map(|(_, s)| s).collect()));
    }

    /// Visit every entry as (masked key, mask, value), in no particular
    /// order. Lock-free and weakly consistent: entries inserted or removed
    /// while the walk runs may or may not be visited. `f` may itself call
    /// writers on this classifier.
    pub fn for_each(&self, mut f: impl FnMut(&FlowKey, &FlowMask, &V)) {
        let guard = self.entries.guard();
        for (k, v) in self.entries.iter(&guard) {
            f(&k.masked_key(), k.subtable().mask(), v);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mask_of(f: impl FnOnce(&mut FlowKey)) -> FlowMask {
        let mut m = FlowKey::default();
        f(&mut m);
        FlowMask(m)
    }

    fn port_mask() -> FlowMask {
        mask_of(|m| m.in_port = !0)
    }

    fn port_dst_mask() -> FlowMask {
        mask_of(|m| {
            m.in_port = !0;
            m.nw_dst = [255; 4];
        })
    }

    fn tp_mask() -> FlowMask {
        mask_of(|m| {
            m.recirc_id = !0;
            m.tp_dst = !0;
        })
    }

    fn key(in_port: u32, nw_dst: [u8; 4], tp_dst: u16) -> FlowKey {
        FlowKey { in_port, nw_dst, tp_dst, ..Default::default() }
    }

    #[test]
    fn classifier_is_send_and_sync() {
        fn check<T: Send + Sync>() {}
        check::<Classifier<u32>>();
        check::<Classifier<Arc<String>>>();
    }

    #[test]
    fn empty_classifier_misses() {
        let c: Classifier<u32> = Classifier::default();
        assert!(c.is_empty());
        assert_eq!(c.n_masks(), 0);
        assert_eq!(c.lookup(&FlowKey::default()), None);
    }

    #[test]
    fn insert_then_replace_returns_old_value() {
        let c = Classifier::new();
        let k = key(1, [10, 0, 0, 1], 80);
        assert_eq!(c.insert(&k, &port_mask(), "a"), None);
        assert_eq!(c.insert(&k, &port_mask(), "b"), Some("a"));
        assert_eq!(c.len(), 1);
        assert_eq!(c.n_masks(), 1);
        assert_eq!(c.lookup(&k), Some("b"));
        // Same masked key, different bits outside the mask: still a replace.
        assert_eq!(c.insert(&key(1, [9, 9, 9, 9], 1), &port_mask(), "c"), Some("b"));
        assert_eq!(c.len(), 1);
    }

    #[test]
    fn stored_key_is_masked() {
        let c = Classifier::new();
        c.insert(&key(1, [10, 0, 0, 1], 80), &port_mask(), 7u32);
        let mut seen = Vec::new();
        c.for_each(|k, m, v| seen.push((*k, *m, *v)));
        assert_eq!(seen, vec![(key(1, [0; 4], 0), port_mask(), 7)]);
        assert_eq!(c.lookup_with_mask(&key(1, [1, 2, 3, 4], 5)), Some((7, port_mask())));
        assert_eq!(c.lookup_with(&key(1, [1, 2, 3, 4], 5), |v, m| (*v + 1, *m)), Some((8, port_mask())));
        assert_eq!(c.lookup_with(&key(2, [1, 2, 3, 4], 5), |v, _| *v), None);
        assert_eq!(c.get(&key(1, [5; 4], 5), &port_mask()), Some(7));
        assert_eq!(c.get(&key(1, [5; 4], 5), &port_dst_mask()), None);
    }

    #[test]
    fn batch_lookup_matches_single_lookups() {
        let c = Classifier::new();
        c.insert(&key(1, [0; 4], 0), &port_mask(), 10u32);
        c.insert(&key(2, [10, 0, 0, 2], 0), &port_dst_mask(), 20);
        let keys = [key(1, [5; 4], 5), key(3, [0; 4], 0), key(2, [10, 0, 0, 2], 9), key(2, [10, 0, 0, 3], 9)];
        let mut got = Vec::new();
        c.lookup_batch(&keys, |i, found| got.push((i, found.map(|(v, m)| (*v, *m)))));
        let want: Vec<_> = keys.iter().enumerate().map(|(i, k)| (i, c.lookup_with_mask(k))).collect();
        assert_eq!(got, want);
        assert_eq!(got[0].1, Some((10, port_mask())));
        assert_eq!(got[1].1, None);
        // Batch hits count for ranking like single ones.
        c.rank_subtables();
        c.lookup_batch(&keys[2..3], |_, _| ());
        c.lookup_batch(&keys[2..3], |_, _| ());
        c.rank_subtables();
        assert_eq!(c.masks(), vec![port_dst_mask(), port_mask()]);
    }

    #[test]
    fn remove_absent_returns_none_and_changes_nothing() {
        let c = Classifier::new();
        assert_eq!(c.remove(&key(1, [0; 4], 0), &port_mask()), None);
        c.insert(&key(1, [0; 4], 0), &port_mask(), 1u32);
        // Known mask, unknown key.
        assert_eq!(c.remove(&key(2, [0; 4], 0), &port_mask()), None);
        // Unknown mask, key that the existing entry would match.
        assert_eq!(c.remove(&key(1, [0; 4], 0), &port_dst_mask()), None);
        assert_eq!((c.len(), c.n_masks()), (1, 1));
        assert_eq!(c.lookup(&key(1, [3; 4], 3)), Some(1));
    }

    #[test]
    fn removing_last_entry_drops_the_subtable() {
        let c = Classifier::new();
        c.insert(&key(1, [0; 4], 0), &port_mask(), 1u32);
        c.insert(&key(2, [0; 4], 0), &port_mask(), 2);
        c.insert(&key(1, [10, 0, 0, 1], 0), &port_dst_mask(), 3);
        assert_eq!(c.n_masks(), 2);
        assert_eq!(c.remove(&key(1, [10, 0, 0, 1], 9), &port_dst_mask()), Some(3));
        assert_eq!(c.n_masks(), 1);
        assert_eq!(c.remove(&key(1, [0; 4], 0), &port_mask()), Some(1));
        assert_eq!(c.n_masks(), 1);
        assert_eq!(c.remove(&key(2, [0; 4], 0), &port_mask()), Some(2));
        assert_eq!((c.len(), c.n_masks()), (0, 0));
        assert_eq!(c.lookup(&key(2, [0; 4], 0)), None);
        // The mask can come back.
        c.insert(&key(2, [0; 4], 0), &port_mask(), 4);
        assert_eq!(c.lookup(&key(2, [0; 4], 0)), Some(4));
    }

    #[test]
    fn wildcard_entry_matches_everything() {
        let c = Classifier::new();
        c.insert(&key(1, [1; 4], 1), &FlowMask::wildcard(), 0u8);
        assert_eq!(c.lookup(&FlowKey::default()), Some(0));
        assert_eq!(c.lookup(&key(77, [7; 4], 7)), Some(0));
    }

    #[test]
    fn rank_orders_by_hits_since_previous_call() {
        let c = Classifier::new();
        c.insert(&key(1, [0; 4], 0), &port_mask(), 'a');
        c.insert(&key(2, [10, 0, 0, 2], 0), &port_dst_mask(), 'b');
        c.insert(&FlowKey { tp_dst: 53, ..Default::default() }, &tp_mask(), 'c');
        assert_eq!(c.masks(), vec![port_mask(), port_dst_mask(), tp_mask()]);

        // c: 5 hits, b: 2 hits, a: none.
        for _ in 0..5 {
            assert_eq!(c.lookup(&FlowKey { in_port: 9, tp_dst: 53, ..Default::default() }), Some('c'));
        }
        for _ in 0..2 {
            assert_eq!(c.lookup(&key(2, [10, 0, 0, 2], 0)), Some('b'));
        }
        c.rank_subtables();
        assert_eq!(c.masks(), vec![tp_mask(), port_dst_mask(), port_mask()]);

        // Only hits since the previous call count: now a leads, b and c tie
        // at zero and keep their relative order.
        for _ in 0..3 {
            assert_eq!(c.lookup(&key(1, [0; 4], 0)), Some('a'));
        }
        c.rank_subtables();
        assert_eq!(c.masks(), vec![port_mask(), tp_mask(), port_dst_mask()]);

        // No hits at all: order unchanged.
        c.rank_subtables();
        assert_eq!(c.masks(), vec![port_mask(), tp_mask(), port_dst_mask()]);
        // Misses and exact gets do not count.
        assert_eq!(c.lookup(&key(99, [0; 4], 0)), None);
        assert_eq!(c.get(&key(2, [10, 0, 0, 2], 0), &port_dst_mask()), Some('b'));
        c.rank_subtables();
        assert_eq!(c.masks(), vec![port_mask(), tp_mask(), port_dst_mask()]);
    }

    #[test]
    fn new_subtable_is_searched_last_and_ranking_survives_churn() {
        let c = Classifier::new();
        c.insert(&key(1, [0; 4], 0), &port_mask(), 1u32);
        c.insert(&key(1, [1; 4], 0), &port_dst_mask(), 2);
        c.lookup(&key(1, [1; 4], 0)); // may hit either subtable; both match
        c.insert(&FlowKey { tp_dst: 1, ..Default::default() }, &tp_mask(), 3);
        assert_eq!(c.masks().last(), Some(&tp_mask()));
        c.remove(&key(1, [0; 4], 0), &port_mask());
        assert_eq!(c.masks(), vec![port_dst_mask(), tp_mask()]);
    }
}
