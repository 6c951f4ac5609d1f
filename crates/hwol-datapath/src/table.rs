//! The megaflow table abstraction the datapath is generic over.
//!
//! Production uses the tuple-space-search [`Classifier`]; [`LinearTable`] is
//! the naive reference (a linear scan) that tests and benchmarks compare it
//! with. The hot path is monomorphised over `T: FlowTable`, not `dyn`.

use crate::datapath::Megaflow;
use hwol_classifier::{Classifier, LinearClassifier};
use hwol_flow::{FlowKey, FlowMask};
use std::sync::{Arc, RwLock};

/// A set of megaflows, looked up by packet key.
///
/// Contract: `lookup` may run on many threads concurrently with one writer
/// calling `insert`/`remove`; it returns some entry whose mask matches `key`.
/// `insert` replaces an entry with the same masked key and mask.
pub trait FlowTable: Send + Sync + Default {
    /// Find a megaflow matching `key`.
    fn lookup(&self, key: &FlowKey) -> Option<Arc<Megaflow>> {
        self.lookup_with(key, Arc::clone)
    }
    /// Find a megaflow matching `key` and run `f` on it without taking a
    /// reference count (the per-packet path: no shared-counter traffic).
    fn lookup_with<R>(&self, key: &FlowKey, f: impl FnOnce(&Arc<Megaflow>) -> R) -> Option<R>;
    /// The megaflow with exactly this key (under `mask`) and mask.
    fn get(&self, key: &FlowKey, mask: &FlowMask) -> Option<Arc<Megaflow>>;
    /// Insert or replace; returns the replaced megaflow.
    fn insert(&self, flow: Arc<Megaflow>) -> Option<Arc<Megaflow>>;
    /// Remove the megaflow with this key and mask.
    fn remove(&self, key: &FlowKey, mask: &FlowMask) -> Option<Arc<Megaflow>>;
    /// All megaflows.
    fn snapshot(&self) -> Vec<Arc<Megaflow>>;
    /// Number of megaflows.
    fn len(&self) -> usize;
    /// True when empty.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Number of distinct masks (subtables).
    fn n_masks(&self) -> usize;
}

impl FlowTable for Classifier<Arc<Megaflow>> {
    #[inline]
    fn lookup_with<R>(&self, key: &FlowKey, f: impl FnOnce(&Arc<Megaflow>) -> R) -> Option<R> {
        Classifier::lookup_with(self, key, |flow, _mask| f(flow))
    }
    fn get(&self, key: &FlowKey, mask: &FlowMask) -> Option<Arc<Megaflow>> {
        Classifier::get(self, key, mask)
    }
    fn insert(&self, flow: Arc<Megaflow>) -> Option<Arc<Megaflow>> {
        let (k, m) = (flow.key, flow.mask);
        Classifier::insert(self, &k, &m, flow)
    }
    fn remove(&self, key: &FlowKey, mask: &FlowMask) -> Option<Arc<Megaflow>> {
        Classifier::remove(self, key, mask)
    }
    fn snapshot(&self) -> Vec<Arc<Megaflow>> {
        let mut v = Vec::with_capacity(Classifier::len(self));
        self.for_each(|_, _, f| v.push(f.clone()));
        v
    }
    fn len(&self) -> usize {
        Classifier::len(self)
    }
    fn n_masks(&self) -> usize {
        Classifier::n_masks(self)
    }
}

/// The naive reference table: a linear scan under a read-write lock.
#[derive(Default)]
pub struct LinearTable(RwLock<LinearClassifier<Arc<Megaflow>>>);

impl FlowTable for LinearTable {
    fn lookup_with<R>(&self, key: &FlowKey, f: impl FnOnce(&Arc<Megaflow>) -> R) -> Option<R> {
        let flow = self.0.read().ok()?.lookup(key)?;
        Some(f(&flow))
    }
    fn get(&self, key: &FlowKey, mask: &FlowMask) -> Option<Arc<Megaflow>> {
        self.0.read().ok()?.get(key, mask).cloned()
    }
    fn insert(&self, flow: Arc<Megaflow>) -> Option<Arc<Megaflow>> {
        let (k, m) = (flow.key, flow.mask);
        self.0.write().ok()?.insert(&k, &m, flow)
    }
    fn remove(&self, key: &FlowKey, mask: &FlowMask) -> Option<Arc<Megaflow>> {
        self.0.write().ok()?.remove(key, mask)
    }
    fn snapshot(&self) -> Vec<Arc<Megaflow>> {
        let mut v = Vec::new();
        if let Ok(t) = self.0.read() {
            t.for_each(|_, _, f| v.push(f.clone()));
        }
        v
    }
    fn len(&self) -> usize {
        self.0.read().map(|t| t.len()).unwrap_or(0)
    }
    fn n_masks(&self) -> usize {
        self.0.read().map(|t| t.n_masks()).unwrap_or(0)
    }
}
