//! Random megaflows survive `from_flow → format → parse → to_flow`, in both
//! printing styles.

use hwol_flow::{FlowKey, FlowMask, VlanHeader, FLOW_WORDS};
use hwol_odp::{parse_key, FromFlowOpts, OdpKey, PortNames};
use proptest::prelude::*;

const CFI: u16 = 0x1000;

/// What a `(key, mask)` pair should come back as: only the fields the key's
/// shape makes OVS emit, with the conversions `to_flow` documents.
fn expected(k: &FlowKey, m: &FlowKey) -> (FlowKey, FlowKey) {
    let (mut a, mut b) = (FlowKey::default(), FlowKey::default());
    macro_rules! copy {
        ($($f:ident),*) => {{ $( a.$f = k.$f; b.$f = m.$f; )* }};
    }
    copy!(skb_priority, skb_mark, ct_state, ct_zone, ct_mark, ct_label, recirc_id, dp_hash, in_port, eth_src, eth_dst);
    if k.ct_nw_proto != 0 {
        match k.eth_type {
            0x0800 => copy!(ct_nw_src, ct_nw_dst, ct_nw_proto, ct_tp_src, ct_tp_dst),
            0x86dd => copy!(ct_ipv6_src, ct_ipv6_dst, ct_nw_proto, ct_tp_src, ct_tp_dst),
            _ => {}
        }
    }
    let mut d = 0;
    while d < 2 && k.vlans[d].tpid != 0 {
        a.vlans[d] = VlanHeader { tpid: k.vlans[d].tpid, tci: k.vlans[d].tci & !CFI };
        b.vlans[d] = VlanHeader { tpid: 0xffff, tci: m.vlans[d].tci & !CFI };
        d += 1;
    }
    copy!(eth_type);
    if d < 2 && m.eth_type != 0 {
        b.vlans[d].tpid = 0xffff;
    }
    let frag_m = if m.nw_frag & 1 != 0 { 3 } else { 0 };
    let frag_k = match (frag_m, k.nw_frag & 1, k.nw_frag & 2) {
        (0, _, _) | (_, 0, _) => 0,
        (_, _, 0) => 1,
        _ => 3,
    };
    match k.eth_type {
        0x0800 => copy!(nw_src, nw_dst, nw_proto, nw_tos, nw_ttl),
        0x86dd => {
            copy!(ipv6_src, ipv6_dst, nw_proto, nw_tos, nw_ttl);
            a.ipv6_label = k.ipv6_label & 0xfffff;
            b.ipv6_label = m.ipv6_label & 0xfffff;
        }
        0x0806 | 0x8035 => copy!(nw_src, nw_dst, arp_op, arp_sha, arp_tha),
        _ => {}
    }
    let ip = matches!(k.eth_type, 0x0800 | 0x86dd);
    if ip {
        (a.nw_frag, b.nw_frag) = (frag_k, frag_m);
    }
    if ip && k.nw_frag & 2 == 0 {
        match (k.nw_proto, k.eth_type) {
            (6, _) => {
                copy!(tp_src, tp_dst);
                let (v, mk) = (k.tcp_flags & 0xfff, m.tcp_flags & 0xfff);
                if v != 0 || mk != 0 {
                    b.tcp_flags = mk;
                    a.tcp_flags = if mk == 0xfff { v } else { v & mk };
                }
            }
            (17, _) | (132, _) => copy!(tp_src, tp_dst),
            (1, 0x0800) | (58, 0x86dd) => {
                (a.tp_src, b.tp_src) = (k.tp_src & 0xff, m.tp_src & 0xff);
                (a.tp_dst, b.tp_dst) = (k.tp_dst & 0xff, m.tp_dst & 0xff);
            }
            _ => {}
        }
    }
    (a, b)
}

fn key_strategy() -> impl Strategy<Value = FlowKey> {
    (
        proptest::array::uniform24(any::<u64>()),
        prop::sample::select(vec![0x0800u16, 0x86dd, 0x0806, 0x8035, 0x88cc]),
        0usize..=2,
        prop::sample::select(vec![0x8100u16, 0x88a8]),
        prop::sample::select(vec![6u8, 17, 132, 1, 58, 47]),
        prop::sample::select(vec![0u8, 6, 17]),
    )
        .prop_map(|(w, eth_type, nvlan, tpid, proto, ct_proto)| {
            let mut k = FlowKey::from_words(w);
            k._pad = [0; 14];
            k.eth_type = eth_type;
            for (i, v) in k.vlans.iter_mut().enumerate() {
                v.tpid = if i < nvlan { tpid } else { 0 };
            }
            k.nw_proto = proto;
            k.ct_nw_proto = ct_proto;
            k
        })
}

fn mask_strategy() -> impl Strategy<Value = FlowMask> {
    proptest::array::uniform24(prop_oneof![Just(0u64), Just(!0u64), any::<u64>()]).prop_map(|w: [u64; FLOW_WORDS]| {
        let mut m = FlowKey::from_words(w);
        m._pad = [0; 14];
        FlowMask(m)
    })
}

fn reparse(key: &OdpKey, verbose: bool) -> (FlowKey, FlowKey) {
    let text = key.format(None, verbose);
    let mut ports = PortNames::new();
    let (parsed, style) = parse_key(&text, &mut ports).unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert_eq!(parsed.format(None, style.verbose || verbose), text);
    let (k, m) = parsed.to_flow();
    (k, m.0)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn verbose_round_trip_keeps_every_emitted_bit(k in key_strategy(), m in mask_strategy()) {
        let odp = OdpKey::from_flow(&k, &m, &FromFlowOpts::default());
        let got = reparse(&odp, true);
        prop_assert_eq!(got, expected(&k, &m.0));
    }

    #[test]
    fn terse_round_trip_keeps_every_matched_bit(k in key_strategy(), m in mask_strategy()) {
        let odp = OdpKey::from_flow(&k, &m, &FromFlowOpts::default());
        let (gk, gm) = reparse(&odp, false);
        let (ek, em) = expected(&k, &m.0);
        prop_assert_eq!(gm, em);
        prop_assert_eq!(gk.masked(&FlowMask(gm)), ek.masked(&FlowMask(em)));
    }

    #[test]
    fn kernel_order_round_trips_too(k in key_strategy(), m in mask_strategy()) {
        let opts = FromFlowOpts { order: hwol_odp::AttrOrder::Kernel, packet_type: false };
        let odp = OdpKey::from_flow(&k, &m, &opts);
        prop_assert_eq!(reparse(&odp, true), expected(&k, &m.0));
    }
}
