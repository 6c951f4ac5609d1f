//! Lookup cost of tuple-space search against the linear-scan reference.
//!
//! Tables hold `flows` non-overlapping megaflows spread evenly over `masks`
//! distinct masks (every mask matches `recirc_id`, and each mask's flows use
//! their own `recirc_id`, so exactly one entry matches a hit key). Hit
//! lookups cycle through 8192 keys drawn at random from the table, with
//! random bits outside every mask; the miss case uses a `recirc_id` no
//! entry has, so every subtable is probed. Subtables are not ranked, so a
//! hit probes on average about half of them.
//!
//! Ids read `classifier/{tss,linear}/masks=M/flows=F`,
//! `classifier/{tss,linear}/miss/masks=M/flows=F` (miss keys also cycle, so
//! they are not cache-hot) and `classifier/tss-batch32/masks=M/flows=F`
//! (time per batch of 32 keys through `lookup_batch`). The linear scan at
//! 100k flows takes hundreds of microseconds per lookup, so its samples
//! are few and short.

use std::hint::black_box;
use std::time::Duration;

use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, Criterion};
use hwol_classifier::{Classifier, LinearClassifier};
use hwol_flow::{FlowKey, FlowMask};

/// splitmix64: a small deterministic generator, so runs are comparable.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

/// Mask `i` of up to 16 distinct shapes, all over recirc_id, in_port and
/// eth_type.
fn mask(i: usize) -> FlowMask {
    let mut m = FlowKey { recirc_id: !0, in_port: !0, eth_type: !0, ..Default::default() };
    m.nw_dst = if i & 1 != 0 { [255; 4] } else { [255, 255, 255, 0] };
    if i & 2 != 0 {
        m.tp_dst = !0;
    }
    if i & 4 != 0 {
        m.ct_state = 0x3f;
    }
    m.nw_src = if i & 8 != 0 { [255; 4] } else { [255, 255, 0, 0] };
    FlowMask(m)
}

struct Table {
    flows: Vec<(FlowKey, FlowMask)>,
    queries: Vec<FlowKey>,
    misses: Vec<FlowKey>,
}

fn table(n_masks: usize, n_flows: usize) -> Table {
    let mut rng = Rng(0x5eed ^ (n_masks as u64) << 32 ^ n_flows as u64);
    let flows: Vec<(FlowKey, FlowMask)> = (0..n_flows)
        .map(|j| {
            let m = j % n_masks;
            let r = rng.next();
            let key = FlowKey {
                recirc_id: m as u32,
                in_port: j as u32, // unique, so masked keys never collide
                eth_type: 0x0800,
                nw_src: (r as u32).to_be_bytes(),
                nw_dst: ((r >> 32) as u32).to_be_bytes(),
                tp_dst: (r >> 16) as u16,
                ct_state: 0x22,
                ..Default::default()
            };
            (key.masked(&mask(m)), mask(m))
        })
        .collect();
    let queries: Vec<FlowKey> = (0..8192)
        .map(|_| {
            let r = rng.next();
            let mut k = flows[(r % n_flows as u64) as usize].0;
            // Noise in bits no mask covers.
            k.tp_src = (r >> 40) as u16;
            k.skb_mark = (r >> 8) as u32;
            k
        })
        .collect();
    let misses: Vec<FlowKey> = queries.iter().map(|q| FlowKey { recirc_id: 1_000, ..*q }).collect();
    Table { flows, queries, misses }
}

/// Keys per `lookup_batch` call in the batch benchmarks (divides 8192).
const BATCH: usize = 32;

/// Benchmarks `lookup` over `keys`, one key per iteration, cycling.
fn bench_cycling<R>(
    g: &mut BenchmarkGroup<'_, WallTime>,
    id: String,
    keys: &[FlowKey],
    lookup: impl Fn(&FlowKey) -> R,
) {
    g.bench_function(id, |b| {
        let mut i = 0;
        b.iter(|| {
            let q = &keys[i % keys.len()];
            i += 1;
            black_box(lookup(black_box(q)))
        })
    });
}

fn lookups(c: &mut Criterion) {
    let mut g = c.benchmark_group("classifier");
    for n_flows in [1_000usize, 100_000] {
        for n_masks in [1usize, 4, 16] {
            let t = table(n_masks, n_flows);
            let tss = Classifier::new();
            let mut linear = LinearClassifier::new();
            for (i, (k, m)) in t.flows.iter().enumerate() {
                tss.insert(k, m, i as u64);
                linear.insert(k, m, i as u64);
            }
            assert_eq!(tss.n_masks(), n_masks);
            assert!(t.queries.iter().all(|q| tss.lookup(q).is_some()));
            let with_miss = n_flows == 100_000 && n_masks == 16;
            let cfg = format!("masks={n_masks}/flows={n_flows}");

            g.sample_size(50).warm_up_time(Duration::from_millis(500)).measurement_time(Duration::from_secs(2));
            bench_cycling(&mut g, format!("tss/{cfg}"), &t.queries, |q| tss.lookup(q));
            g.bench_function(format!("tss-batch{BATCH}/{cfg}"), |b| {
                let mut i = 0;
                b.iter(|| {
                    let batch = &t.queries[i..i + BATCH];
                    i = (i + BATCH) % t.queries.len();
                    let mut hits = 0u32;
                    tss.lookup_batch(black_box(batch), |_, found| hits += u32::from(found.is_some()));
                    black_box(hits)
                })
            });
            if with_miss {
                bench_cycling(&mut g, format!("tss/miss/{cfg}"), &t.misses, |q| tss.lookup(q));
            }

            g.sample_size(10).warm_up_time(Duration::from_millis(200)).measurement_time(Duration::from_secs(1));
            bench_cycling(&mut g, format!("linear/{cfg}"), &t.queries, |q| linear.lookup(q));
            if with_miss {
                bench_cycling(&mut g, format!("linear/miss/{cfg}"), &t.misses, |q| linear.lookup(q));
            }
        }
    }
    g.finish();
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    lookups(&mut c);
    c.final_summary();
}
