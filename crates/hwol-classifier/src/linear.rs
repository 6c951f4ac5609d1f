//! [`LinearClassifier`]: the naive reference. Lookups scan every entry and
//! test it with [`FlowMask::matches`], so its answers are correct by
//! inspection; tests compare [`crate::Classifier`] against it and benches
//! use it as the baseline.
//!
//! An index from `(masked key, mask)` to position keeps `insert` and
//! `remove` O(1), so large tables can be built for benchmarks; it plays no
//! part in lookups.

use std::collections::HashMap;

use hwol_flow::{FlowKey, FlowMask};

/// A linear-scan classifier with the same semantics as
/// [`Classifier`](crate::Classifier). Single-threaded: writers take
/// `&mut self`.
#[derive(Debug, Clone)]
pub struct LinearClassifier<V> {
    /// Entries as (masked key, mask, value).
    entries: Vec<(FlowKey, FlowMask, V)>,
    /// Position of each entry in `entries`.
    index: HashMap<(FlowKey, FlowMask), usize>,
    /// Entries per mask.
    masks: HashMap<FlowMask, usize>,
}

impl<V> Default for LinearClassifier<V> {
    fn default() -> Self {
        LinearClassifier { entries: Vec::new(), index: HashMap::new(), masks: HashMap::new() }
    }
}

impl<V: Clone> LinearClassifier<V> {
    /// An empty classifier.
    pub fn new() -> Self {
        Self::default()
    }

    /// Insert or replace the entry for `(key & mask, mask)`. Returns the old
    /// value when an entry was replaced.
    pub fn insert(&mut self, key: &FlowKey, mask: &FlowMask, value: V) -> Option<V> {
        let masked = key.masked(mask);
        if let Some(&i) = self.index.get(&(masked, *mask)) {
            return Some(std::mem::replace(&mut self.entries[i].2, value));
        }
        self.index.insert((masked, *mask), self.entries.len());
        self.entries.push((masked, *mask, value));
        *self.masks.entry(*mask).or_insert(0) += 1;
        None
    }

    /// Remove the entry for `(key & mask, mask)` and return its value.
    pub fn remove(&mut self, key: &FlowKey, mask: &FlowMask) -> Option<V> {
        let i = self.index.remove(&(key.masked(mask), *mask))?;
        let (_, _, value) = self.entries.swap_remove(i);
        if let Some((k, m, _)) = self.entries.get(i) {
            self.index.insert((*k, *m), i);
        }
        if let Some(n) = self.masks.get_mut(mask) {
            *n -= 1;
            if *n == 0 {
                self.masks.remove(mask);
            }
        }
        Some(value)
    }

    /// The value of the first entry, in storage order, that matches `key`.
    pub fn lookup(&self, key: &FlowKey) -> Option<V> {
        self.lookup_with_mask(key).map(|(v, _)| v)
    }

    /// Like [`lookup`](Self::lookup) but also returns the entry's mask.
    pub fn lookup_with_mask(&self, key: &FlowKey) -> Option<(V, FlowMask)> {
        self.entries.iter().find(|(k, m, _)| m.matches(k, key)).map(|(_, m, v)| (v.clone(), *m))
    }

    /// Every entry that matches `key`, as (masked key, mask, value).
    pub fn matches<'a>(&'a self, key: &'a FlowKey) -> impl Iterator<Item = (&'a FlowKey, &'a FlowMask, &'a V)> + 'a {
        self.entries.iter().filter(move |(k, m, _)| m.matches(k, key)).map(|(k, m, v)| (k, m, v))
    }

    /// The value of exactly the entry `(key & mask, mask)`, if present.
    pub fn get(&self, key: &FlowKey, mask: &FlowMask) -> Option<&V> {
        self.index.get(&(key.masked(mask), *mask)).map(|&i| &self.entries[i].2)
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when there are no entries.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Number of distinct masks among the entries.
    pub fn n_masks(&self) -> usize {
        self.masks.len()
    }

    /// Visit every entry as (masked key, mask, value).
    pub fn for_each(&self, mut f: impl FnMut(&FlowKey, &FlowMask, &V)) {
        for (k, m, v) in &self.entries {
            f(k, m, v);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insert_replace_remove() {
        let mut mask = FlowMask::default();
        mask.0.in_port = !0;
        let mut c = LinearClassifier::new();
        let k1 = FlowKey { in_port: 1, tp_dst: 80, ..Default::default() };
        let k2 = FlowKey { in_port: 2, ..Default::default() };
        assert_eq!(c.insert(&k1, &mask, 'a'), None);
        assert_eq!(c.insert(&k2, &mask, 'b'), None);
        assert_eq!(c.insert(&FlowKey { in_port: 1, ..Default::default() }, &mask, 'c'), Some('a'));
        assert_eq!((c.len(), c.n_masks()), (2, 1));
        assert_eq!(c.lookup(&k1), Some('c'));
        // Removing the first entry moves the last one into its slot.
        assert_eq!(c.remove(&k1, &mask), Some('c'));
        assert_eq!(c.remove(&k1, &mask), None);
        assert_eq!(c.get(&k2, &mask), Some(&'b'));
        assert_eq!(c.lookup_with_mask(&k2), Some(('b', mask)));
        assert_eq!(c.remove(&k2, &mask), Some('b'));
        assert!(c.is_empty());
        assert_eq!(c.n_masks(), 0);
    }
}
