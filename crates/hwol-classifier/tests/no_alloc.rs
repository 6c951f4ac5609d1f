//! Lookups (single and batched) do not allocate once the calling thread
//! has done one.
//!
//! This test binary installs a global allocator that forwards to the system
//! allocator and counts allocations made by the current thread, so other
//! test threads cannot disturb the count.

// A counting `GlobalAlloc` needs `unsafe impl`; it is confined to this test.
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use hwol_classifier::Classifier;
use hwol_flow::{FlowKey, FlowMask};

struct CountingAlloc;

thread_local! {
    static ALLOCS: Cell<u64> = const { Cell::new(0) };
}

fn count() {
    // `try_with`: the slot may be gone while a thread is being torn down.
    let _ = ALLOCS.try_with(|c| c.set(c.get() + 1));
}

// SAFETY: every method forwards to `System` with the caller's arguments
// unchanged, so `System`'s guarantees carry over; counting touches only a
// const-initialised thread-local `Cell`, which neither allocates nor unwinds.
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: the caller upholds `alloc`'s contract, which we pass on.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: as for `alloc`.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count();
        // SAFETY: `ptr` and `layout` come from this allocator, i.e. from
        // `System`, per the caller's contract.
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` was allocated by `System` with `layout`.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: CountingAlloc = CountingAlloc;

fn allocs_on_this_thread() -> u64 {
    ALLOCS.with(Cell::get)
}

#[test]
fn lookup_does_not_allocate() {
    let cls: Classifier<u64> = Classifier::new();
    let masks: Vec<FlowMask> = (0..4u32)
        .map(|i| {
            let mut m = FlowKey { in_port: !0, recirc_id: !0, ..Default::default() };
            if i & 1 != 0 {
                m.nw_dst = [255; 4];
            }
            if i & 2 != 0 {
                m.tp_dst = !0;
            }
            FlowMask(m)
        })
        .collect();
    let keys: Vec<FlowKey> = (0..1000u32)
        .map(|i| FlowKey {
            in_port: i,
            recirc_id: i % 4,
            nw_dst: i.to_be_bytes(),
            tp_dst: i as u16,
            ..Default::default()
        })
        .collect();
    for (i, k) in keys.iter().enumerate() {
        cls.insert(k, &masks[k.recirc_id as usize], i as u64);
    }
    let miss = FlowKey { recirc_id: 99, ..Default::default() };

    // Warm up: the first lookup on a thread registers its per-thread slots.
    assert!(cls.lookup(&keys[0]).is_some());
    cls.rank_subtables();

    let before = allocs_on_this_thread();
    let mut found = 0u64;
    for k in &keys {
        found += u64::from(cls.lookup(k).is_some());
        found += u64::from(cls.lookup_with_mask(k).is_some());
        found += u64::from(cls.lookup(&miss).is_some());
    }
    for batch in keys.chunks(32) {
        cls.lookup_batch(batch, |_, hit| found += u64::from(hit.is_some()));
    }
    let after = allocs_on_this_thread();
    assert_eq!(found, 3 * keys.len() as u64);
    assert_eq!(after - before, 0, "lookups allocated");
}
