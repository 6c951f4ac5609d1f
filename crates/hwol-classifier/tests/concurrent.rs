//! Readers look up without locks while one writer churns other flows.
//!
//! Stable flows are inserted before the threads start and never removed;
//! every reader lookup of a stable key must find it, with the right value
//! and mask, whatever the writer is doing: adding and dropping subtables
//! (some with the stable flows' masks, some new), replacing values, and
//! re-ranking. Churn flows live on other in_ports, so they never match a
//! stable key. Loops are bounded by iteration counts, not time.

use std::sync::atomic::{AtomicBool, Ordering};

use hwol_classifier::Classifier;
use hwol_flow::{FlowKey, FlowMask};

const READERS: usize = 3;
const WRITER_ROUNDS: u32 = 3_000;
const MIN_READER_PASSES: u32 = 20;

fn masks() -> Vec<FlowMask> {
    let mut out = Vec::new();
    for i in 0..8u32 {
        let mut m = FlowKey { in_port: !0, ..Default::default() };
        if i & 1 != 0 {
            m.eth_type = !0;
        }
        if i & 2 != 0 {
            m.nw_dst = [255, 255, 255, 0];
        }
        if i & 4 != 0 {
            m.tp_dst = !0;
        }
        out.push(FlowMask(m));
    }
    out
}

fn key(in_port: u32, salt: u32) -> FlowKey {
    FlowKey {
        in_port,
        eth_type: 0x0800,
        nw_dst: [10, 0, (salt % 7) as u8, (salt % 251) as u8],
        tp_dst: (salt % 1000) as u16,
        tp_src: salt as u16, // never masked
        ..Default::default()
    }
}

/// Values encode the in_port they were inserted for, so a reader can check
/// that whatever it found belongs to its key.
fn value(in_port: u32, generation: u32) -> u64 {
    (u64::from(generation) << 32) | u64::from(in_port)
}

#[test]
fn readers_always_find_stable_flows_during_churn() {
    let masks = masks();
    let cls: Classifier<u64> = Classifier::new();

    // Stable flows use the first four masks, in_ports 1..=200.
    let stable: Vec<(FlowKey, FlowMask, u64)> = (1..=200u32)
        .map(|p| {
            let m = masks[(p % 4) as usize];
            (key(p, p * 31), m, value(p, 0))
        })
        .collect();
    for (k, m, v) in &stable {
        assert_eq!(cls.insert(k, m, *v), None);
    }

    let done = AtomicBool::new(false);
    std::thread::scope(|s| {
        for r in 0..READERS {
            let (cls, stable, done) = (&cls, &stable, &done);
            s.spawn(move || {
                let mut passes = 0u32;
                while passes < MIN_READER_PASSES || !done.load(Ordering::Acquire) {
                    for (i, (k, m, v)) in stable.iter().enumerate() {
                        // Vary the unmasked bits so the lookup really masks.
                        let mut probe = *k;
                        probe.tp_src = probe.tp_src.wrapping_add((r + i) as u16);
                        probe.nw_src = [192, 0, 2, r as u8];
                        let got = cls.lookup_with_mask(&probe);
                        assert_eq!(got, Some((*v, *m)), "stable flow {i} lost");
                    }
                    for p in 10_000..10_064u32 {
                        if let Some(v) = cls.lookup(&key(p, p)) {
                            assert_eq!(v as u32, p, "churn lookup returned another key's value");
                        }
                    }
                    passes += 1;
                }
            });
        }

        // The writer: insert a window of churn flows, replace some, remove
        // the oldest, occasionally re-rank.
        let mut live: std::collections::VecDeque<(FlowKey, FlowMask)> = Default::default();
        for round in 0..WRITER_ROUNDS {
            let p = 10_000 + round % 64;
            let m = masks[(round as usize * 7 + 3) % masks.len()];
            let k = key(p, p);
            if cls.insert(&k, &m, value(p, round)).is_none() {
                live.push_back((k, m));
            }
            if round % 5 == 0 {
                cls.insert(&k, &m, value(p, round + 1));
            }
            if live.len() > 40 {
                let (k, m) = live.pop_front().expect("non-empty");
                assert!(cls.remove(&k, &m).is_some());
            }
            if round % 97 == 0 {
                cls.rank_subtables();
            }
        }
        while let Some((k, m)) = live.pop_front() {
            assert!(cls.remove(&k, &m).is_some());
        }
        done.store(true, Ordering::Release);
    });

    assert_eq!(cls.len(), stable.len());
    assert_eq!(cls.n_masks(), 4);
    for (k, m, v) in &stable {
        assert_eq!(cls.lookup_with_mask(k), Some((*v, *m)));
    }
}
