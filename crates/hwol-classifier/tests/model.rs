//! `Classifier` against `LinearClassifier`, the linear-scan reference, on
//! random sequences of insert / remove / lookup / rank over a small universe
//! of masks and keys (small so that hits, replaces and overlaps are common).
//!
//! Two properties: with arbitrary (possibly overlapping) entries, lookup must
//! agree on hit/miss and return an entry that exists and matches; with
//! non-overlapping entries, lookup must return exactly the reference's
//! answer.

use hwol_classifier::{Classifier, LinearClassifier};
use hwol_flow::{FlowKey, FlowMask, FLOW_WORDS};
use proptest::prelude::*;

/// A mask shape over the fields the datapath typically matches on.
#[derive(Debug, Clone)]
struct MaskShape {
    in_port: bool,
    eth_type: bool,
    nw_src_prefix: Option<u8>,
    nw_dst_prefix: Option<u8>,
    tp_dst: bool,
    recirc_id: bool,
    ct_state: Option<u8>,
}

fn prefix(len: u8) -> [u8; 4] {
    (u32::MAX.checked_shl(32 - u32::from(len)).unwrap_or(0)).to_be_bytes()
}

impl MaskShape {
    fn mask(&self) -> FlowMask {
        let mut m = FlowKey::default();
        if self.in_port {
            m.in_port = !0;
        }
        if self.eth_type {
            m.eth_type = !0;
        }
        if let Some(p) = self.nw_src_prefix {
            m.nw_src = prefix(p);
        }
        if let Some(p) = self.nw_dst_prefix {
            m.nw_dst = prefix(p);
        }
        if self.tp_dst {
            m.tp_dst = !0;
        }
        if self.recirc_id {
            m.recirc_id = !0;
        }
        if let Some(bits) = self.ct_state {
            m.ct_state = bits;
        }
        FlowMask(m)
    }
}

fn mask_shape() -> impl Strategy<Value = MaskShape> {
    let pfx = prop::option::of(prop::sample::select(vec![8u8, 16, 24, 31, 32]));
    let ct = prop::option::of(prop::sample::select(vec![0x20u8, 0x21, 0x23, 0xff]));
    (any::<bool>(), any::<bool>(), pfx.clone(), pfx, any::<bool>(), any::<bool>(), ct).prop_map(
        |(in_port, eth_type, nw_src_prefix, nw_dst_prefix, tp_dst, recirc_id, ct_state)| MaskShape {
            in_port,
            eth_type,
            nw_src_prefix,
            nw_dst_prefix,
            tp_dst,
            recirc_id,
            ct_state,
        },
    )
}

/// Keys from a small domain, plus noise in fields no mask covers.
fn flow_key() -> impl Strategy<Value = FlowKey> {
    (
        1u32..=3,
        prop::sample::select(vec![0x0800u16, 0x86dd]),
        (0u8..2, 0u8..3),
        (0u8..2, 0u8..3),
        prop::sample::select(vec![22u16, 80, 443]),
        0u32..3,
        prop::sample::select(vec![0u8, 0x21, 0x22, 0x62]),
        any::<u16>(),
    )
        .prop_map(|(in_port, eth_type, (s1, s2), (d1, d2), tp_dst, recirc_id, ct_state, noise)| FlowKey {
            in_port,
            eth_type,
            nw_src: [10, s1, 0, s2],
            nw_dst: [10, d1 * 128, 0, d2],
            tp_dst,
            recirc_id,
            ct_state,
            tp_src: noise,
            ..Default::default()
        })
}

#[derive(Debug, Clone)]
enum Op {
    Insert { key: FlowKey, mask: usize, value: u32 },
    Remove { key: FlowKey, mask: usize },
    Lookup(FlowKey),
    Rank,
}

fn op(n_masks: usize) -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (flow_key(), 0..n_masks, any::<u32>()).prop_map(|(key, mask, value)| Op::Insert { key, mask, value }),
        2 => (flow_key(), 0..n_masks).prop_map(|(key, mask)| Op::Remove { key, mask }),
        4 => flow_key().prop_map(Op::Lookup),
        1 => Just(Op::Rank),
    ]
}

fn scenario() -> impl Strategy<Value = (Vec<FlowMask>, Vec<Op>)> {
    prop::collection::vec(mask_shape(), 1..=16).prop_flat_map(|shapes| {
        let masks: Vec<FlowMask> = shapes.iter().map(MaskShape::mask).collect();
        let n = masks.len();
        (Just(masks), prop::collection::vec(op(n), 1..200))
    })
}

/// True when some key matches both entries.
fn overlaps(k1: &FlowKey, m1: &FlowMask, k2: &FlowKey, m2: &FlowMask) -> bool {
    (0..FLOW_WORDS).all(|i| (k1.words()[i] ^ k2.words()[i]) & m1.words()[i] & m2.words()[i] == 0)
}

type Dump = Vec<([u64; FLOW_WORDS], [u64; FLOW_WORDS], u32)>;

fn dump_tss(c: &Classifier<u32>) -> Dump {
    let mut out = Vec::new();
    c.for_each(|k, m, v| out.push((*k.words(), *m.words(), *v)));
    out.sort_unstable();
    out
}

fn dump_linear(c: &LinearClassifier<u32>) -> Dump {
    let mut out = Vec::new();
    c.for_each(|k, m, v| out.push((*k.words(), *m.words(), *v)));
    out.sort_unstable();
    out
}

/// Runs `ops` on both classifiers. With `disjoint`, inserts that would
/// overlap a different existing entry are skipped and lookups must agree
/// exactly.
fn run(masks: &[FlowMask], ops: &[Op], disjoint: bool) -> Result<(), TestCaseError> {
    let tss = Classifier::new();
    let mut reference = LinearClassifier::new();
    for op in ops {
        match op {
            Op::Insert { key, mask, value } => {
                let m = &masks[*mask];
                if disjoint {
                    let masked = key.masked(m);
                    let mut clash = false;
                    reference.for_each(|k2, m2, _| {
                        clash |= (k2, m2) != (&masked, m) && overlaps(&masked, m, k2, m2);
                    });
                    if clash {
                        continue;
                    }
                }
                prop_assert_eq!(tss.insert(key, m, *value), reference.insert(key, m, *value));
            }
            Op::Remove { key, mask } => {
                let m = &masks[*mask];
                prop_assert_eq!(tss.remove(key, m), reference.remove(key, m));
            }
            Op::Lookup(key) => {
                let got = tss.lookup_with_mask(key);
                prop_assert_eq!(got.is_some(), reference.lookup(key).is_some());
                prop_assert_eq!(tss.lookup(key).is_some(), got.is_some());
                let mut batch = None;
                tss.lookup_batch(std::slice::from_ref(key), |_, found| batch = Some(found.map(|(v, _)| *v)));
                prop_assert_eq!(batch.flatten().is_some(), got.is_some());
                if let Some((v, m)) = got {
                    // The entry (key & m, m) exists with this value; it
                    // matches `key` by construction.
                    prop_assert_eq!(reference.get(key, &m), Some(&v));
                    prop_assert_eq!(tss.get(key, &m), Some(v));
                    if disjoint {
                        prop_assert_eq!(reference.lookup_with_mask(key), Some((v, m)));
                    }
                }
            }
            Op::Rank => tss.rank_subtables(),
        }
        prop_assert_eq!(tss.len(), reference.len());
        prop_assert_eq!(tss.is_empty(), reference.is_empty());
        prop_assert_eq!(tss.n_masks(), reference.n_masks());
    }
    prop_assert_eq!(dump_tss(&tss), dump_linear(&reference));
    // Every stored entry is found by a lookup of its own key.
    let mut entries = Vec::new();
    reference.for_each(|k, m, v| entries.push((*k, *m, *v)));
    for (k, m, v) in entries {
        let (got_v, got_m) = tss.lookup_with_mask(&k).expect("stored key must hit");
        prop_assert_eq!(reference.get(&k, &got_m), Some(&got_v));
        if disjoint {
            prop_assert_eq!((got_v, got_m), (v, m));
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn agrees_with_linear_reference((masks, ops) in scenario()) {
        run(&masks, &ops, false)?;
    }

    #[test]
    fn agrees_exactly_when_entries_do_not_overlap((masks, ops) in scenario()) {
        run(&masks, &ops, true)?;
    }
}
