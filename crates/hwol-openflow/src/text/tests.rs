//! Tests of the ovs-ofctl syntax: the corpus round trip, the dump-flows
//! lines of real OVS captures reproduced byte for byte, error messages
//! (insta), and format→parse round trips of random matches and actions.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use hwol_flow::{EthAddr, NatAction, NatKind};
use proptest::prelude::*;

use super::*;
use crate::action::{CtZone, OfCt, SubField};
use crate::field::Field;

const CORPUS: &str = include_str!("../../tests/data/corpus.flows");
const DUMP: &str = include_str!("../../tests/data/ovs_dump_flows.txt");

fn ports() -> PortMap {
    [("rep1", 1), ("rep2", 2), ("brovs", 65534)].into_iter().collect()
}

#[test]
fn corpus_round_trips_through_text() {
    let flows = parse_flows(CORPUS, &PortMap::new()).unwrap();
    assert!(flows.len() > 30);
    for f in &flows {
        let text = format_flow(f, None);
        let again = parse_flow(&text, &PortMap::new()).unwrap_or_else(|e| panic!("{text}: {e}"));
        assert_eq!(&again, f, "{text}");
        assert_eq!(format_flow(&again, None), text);
    }
}

#[test]
fn corpus_prints_like_ovs() {
    let flows = parse_flows(CORPUS, &PortMap::new()).unwrap();
    let text: Vec<String> = flows.iter().map(|f| format_flow(f, None)).collect();
    insta::assert_snapshot!(text.join("\n"));
}

/// Pulls `key=N` (up to the next `,`/`s`) out of a dump-flows line.
fn stat(line: &str, key: &str) -> Option<String> {
    let at = line.find(&format!(" {key}="))? + key.len() + 2;
    Some(line[at..].split([',', ' ']).next()?.trim_end_matches('s').to_string())
}

#[test]
fn dump_flows_lines_of_real_ovs_are_reproduced() {
    let mut n = 0;
    for line in DUMP.lines().filter(|l| !l.starts_with('#') && !l.is_empty()) {
        let spec = parse_flow(line, &PortMap::new()).unwrap_or_else(|e| panic!("{line}: {e}"));
        let dur: f64 = stat(line, "duration").unwrap().parse().unwrap();
        let entry = FlowStatsEntry {
            spec,
            duration: Duration::from_millis((dur * 1000.0).round() as u64),
            n_packets: stat(line, "n_packets").unwrap().parse().unwrap(),
            n_bytes: stat(line, "n_bytes").unwrap().parse().unwrap(),
            idle_age: Duration::from_secs(stat(line, "idle_age").unwrap().parse().unwrap()),
            hard_age: None,
        };
        assert_eq!(format_flow_stats(&entry, None), line);
        n += 1;
    }
    assert!(n >= 18);
}

#[test]
fn flow_stats_print_timeouts_hard_age_and_default_priority_like_ovs() {
    let spec = FlowSpec {
        table: 3,
        cookie: 0x1234,
        idle_timeout: 10,
        hard_timeout: 20,
        ..parse_flow("in_port=rep1,actions=output:rep2", &ports()).unwrap()
    };
    let mut entry = FlowStatsEntry {
        spec,
        duration: Duration::new(5, 1_500),
        n_packets: 1,
        n_bytes: 60,
        idle_age: Duration::from_millis(2900),
        hard_age: Some(Duration::from_secs(4)),
    };
    assert_eq!(
        format_flow_stats(&entry, Some(&ports())),
        " cookie=0x1234, duration=5.0000015s, table=3, n_packets=1, n_bytes=60, idle_timeout=10, hard_timeout=20, idle_age=2, hard_age=4, in_port=rep1 actions=output:rep2"
    );
    entry.hard_age = Some(Duration::from_millis(5900));
    entry.spec.matches = OfMatch::catchall();
    assert_eq!(
        format_flow_stats(&entry, None),
        " cookie=0x1234, duration=5.0000015s, table=3, n_packets=1, n_bytes=60, idle_timeout=10, hard_timeout=20, idle_age=2, actions=output:2"
    );
}

#[test]
fn port_names_resolve_and_print() {
    let p = ports();
    let f = parse_flow("in_port=rep1 actions=output:rep2,rep1,resubmit(rep2,3),LOCAL", &p).unwrap();
    assert_eq!(f.matches.get(Field::InPort).0, 1);
    assert_eq!(format_flow(&f, Some(&p)), "in_port=rep1 actions=output:rep2,output:rep1,resubmit(rep2,3),LOCAL");
    assert_eq!(format_flow(&f, None), "in_port=1 actions=output:2,output:1,resubmit(2,3),LOCAL");
    let q: PortMap = [("br-int", 7)].into_iter().collect();
    let f = parse_flow("in_port=\"br-int\",actions=drop", &q).unwrap();
    assert_eq!(format_flow(&f, Some(&q)), "in_port=\"br-int\" actions=drop");
}

#[test]
fn separators_and_order_are_free() {
    let a = parse_flow("tcp_dst=80 , tcp\ttable=2  priority=5 actions=NORMAL", &PortMap::new()).unwrap();
    let b = parse_flow("table=2,priority=5,tcp,tp_dst=80,actions=NORMAL", &PortMap::new()).unwrap();
    assert_eq!(a, b);
}

#[test]
fn errors_name_the_field_and_say_what_to_do() {
    let p = ports();
    let flows = [
        "tp_dst=80,actions=drop",
        "ip,tp_dst=80,actions=drop",
        "ipv6,tcp_src=1,actions=drop",
        "icmp_type=3,actions=drop",
        "ip,nw_src=10.0.0.300,actions=drop",
        "in_port=rep9,actions=drop",
        "actions=output:rep9",
        "actions=rep9",
        "ip",
        "priority=70000,actions=drop",
        "ct_state=+new+bogus,actions=drop",
        "ct_state=+new+new,actions=drop",
        "in_port=1/0xff,actions=drop",
        "vlan_tci=0x0005/0x0fff,actions=drop",
        "dl_vlan=5000,actions=drop",
        "ip,nw_tos=17,actions=drop",
        "sctp,mpls,actions=drop",
        "tcp,udp,actions=drop",
        "tcp,dl_type=0x8847,actions=drop",
        "cookie=1/1,actions=drop",
        "foo=1,actions=drop",
        "dl_src=00:11:22:33:44,actions=drop",
        "ipv6,ipv6_src=fe80::zz,actions=drop",
        "table=255,actions=drop",
        "table=5,actions=goto_table:3",
        "actions=goto_table:3,NORMAL",
        "actions=drop,NORMAL",
        "actions=ct(commit)",
        "ip,actions=ct(force)",
        "tcp,ct_state=+inv,actions=ct(commit)",
        "udp,actions=ct(commit,alg=ftp)",
        "ipv6,actions=ct(commit,nat(src=10.0.0.1))",
        "arp,actions=dec_ttl",
        "actions=ct(zone=70000)",
        "actions=ct(exec(output:1))",
        "actions=ct(commit,alg=sip)",
        "actions=ct(nat(src=10.0.0.5-10.0.0.1))",
        "actions=ct(commit,nat(src=10.0.0.1,hash,random))",
        "actions=set_field:1->ct_mark",
        "actions=set_field:6->ip_proto",
        "actions=set_field:1->vlan_vid",
        "ip,actions=set_field:1->tcp_dst",
        "actions=load:0x10000->NXM_NX_REG0[0..15]",
        "actions=load:1->NXM_NX_REG0[40]",
        "actions=load:1->NXM_NX_REG99[]",
        "actions=move:NXM_NX_REG0[0..3]->NXM_NX_REG1[0..7]",
        "actions=conjunction(1,3/2)",
        "actions=conjunction(1,1/2),NORMAL",
        "actions=resubmit(,)",
        "actions=learn(table=1)",
        "actions=note:abc",
        "actions=push_vlan:0x0800",
    ];
    let mut out = String::new();
    for f in flows {
        let e = parse_flow(f, &p).expect_err(f);
        out.push_str(&format!("{f}\n  => {e}\n"));
    }
    let e = parse_flows("# header\n\nin_port=rep1,actions=drop\nin_port=rep9,actions=drop\n", &p).unwrap_err();
    out.push_str(&format!("(flows file)\n  => {e}\n"));
    insta::assert_snapshot!(out);
}

#[test]
fn odd_but_valid_inputs_parse_like_ovs() {
    let n = PortMap::new();
    let f = |s: &str| format_flow(&parse_flow(s, &n).unwrap(), None);
    assert_eq!(f("ct_state=new|trk,actions=drop"), "ct_state=new|trk actions=drop");
    assert_eq!(f("ct_state=0x21/0xff,actions=drop"), "ct_state=new|trk actions=drop");
    assert_eq!(f("ct_state=+new,ct_state=-est,actions=drop"), "ct_state=-est actions=drop");
    assert_eq!(
        f("tcp,tcp_flags=0x012/0x0ff,actions=drop"),
        "tcp,tcp_flags=-fin+syn-rst-psh+ack-urg-ece-cwr actions=drop"
    );
    assert_eq!(f("xreg1=0x100000002,actions=drop"), "reg2=0x1,reg3=0x2 actions=drop");
    assert_eq!(f("dl_vlan=0xffff,actions=drop"), "vlan_tci=0x0000 actions=drop");
    assert_eq!(f("ip,ip_dscp=5,actions=drop"), "ip,nw_tos=20 actions=drop");
    assert_eq!(f("in_port=65534,actions=in_port"), "in_port=LOCAL actions=IN_PORT");
    assert_eq!(f("ipv6,ipv6_src=fe80::1/64,actions=drop"), "ipv6,ipv6_src=fe80::/64 actions=drop");
    assert_eq!(f("arp,nw_src=1.2.3.4,actions=drop"), "arp,arp_spa=1.2.3.4 actions=drop");
    assert_eq!(f("tcp,ip_proto=17,tp_dst=5,actions=drop"), "udp,tp_dst=5 actions=drop");
    assert_eq!(f("reg0[0..3]=5,actions=drop"), "reg0=0x5/0xf actions=drop");
    assert_eq!(f("actions=resubmit(3)"), "actions=resubmit:3");
    assert_eq!(f("actions=controller"), "actions=CONTROLLER:65535");
    assert_eq!(f("actions=note:ab"), "actions=note:ab.00.00.00.00.00");
    assert_eq!(f("udp,actions=mod_tp_dst:53,mod_nw_ttl:9"), "udp actions=set_field:53->udp_dst,set_field:9->nw_ttl");
    assert_eq!(
        f(" cookie=0x0, duration=6.602s, table=1, n_packets=2, n_bytes=148, idle_age=5, priority=200,ct_state=+new+trk,ip actions=ct(commit,zone=65520),NORMAL"),
        "table=1, priority=200,ct_state=+new+trk,ip actions=ct(commit,zone=65520),NORMAL"
    );
    assert_eq!(
        format_flow(&parse_flows("add priority=1 actions=drop", &n).unwrap()[0], None),
        "priority=1 actions=drop"
    );
}

#[test]
fn tokenizer_keeps_nested_parentheses_together() {
    let mut s = "ct(commit,exec(set_field:1->ct_mark)),load:1->NXM_NX_REG0[16] resubmit(,3)";
    assert_eq!(next_kv(&mut s), Some(("ct", "commit,exec(set_field:1->ct_mark)")));
    assert_eq!(next_kv(&mut s), Some(("load", "1->NXM_NX_REG0[16]")));
    assert_eq!(next_kv(&mut s), Some(("resubmit", ",3")));
    assert_eq!(next_kv(&mut s), None);
}

// ---- proptest: random matches and actions survive format -> parse ----

fn masked(bits: u32) -> impl Strategy<Value = (u128, u128)> {
    let all = if bits == 128 { u128::MAX } else { (1u128 << bits) - 1 };
    (any::<u128>(), prop_oneof![Just(all), any::<u128>().prop_map(move |m| (m & all).max(1))])
        .prop_map(move |(v, m)| (v & all, m))
}

fn opt<T: std::fmt::Debug + Clone>(s: impl Strategy<Value = T>) -> impl Strategy<Value = Option<T>> {
    prop::option::weighted(0.3, s)
}

prop_compose! {
    fn arb_match()(
        l3 in 0usize..7,
        l4 in 0usize..7,
        meta in (opt(masked(32)), opt(0u128..0x1_0000), opt(masked(8)), opt(0u128..0x1_0000), opt(masked(32)), opt(masked(128))),
        regs in (opt((0u8..16, masked(32))), opt((0u8..16, masked(32))), opt(masked(64))),
        l2 in (opt(0u128..0x1_0000), opt(masked(48)), opt(masked(48)), 0usize..6, 0u128..0x1000, 0u128..8),
        ip in (opt(masked(32)), opt(masked(32)), opt(masked(128)), opt(masked(128)), opt(masked(20))),
        ipmisc in (opt(0u128..64), opt(0u128..4), opt(0u128..256), 0usize..6, opt(0u128..0x1_0000)),
        l4v in (opt(masked(16)), opt(masked(16)), opt(masked(12)), opt(0u128..256), opt(0u128..256)),
        arp in (opt(masked(48)), opt(masked(48))),
    ) -> OfMatch {
        let mut m = OfMatch::catchall();
        let (pkt_mark, conj, ct_state, ct_zone, ct_mark, ct_label) = meta;
        for (f, v) in [(Field::PktMark, pkt_mark), (Field::CtState, ct_state), (Field::CtMark, ct_mark), (Field::CtLabel, ct_label)] {
            if let Some((v, mk)) = v { m.set_masked(f, v, mk); }
        }
        if let Some(c) = conj { m.set(Field::ConjId, c); }
        if let Some(z) = ct_zone { m.set(Field::CtZone, z); }
        if let Some((i, (v, mk))) = regs.0 { m.set_masked(Field::Reg(i), v, mk); }
        if let Some((i, (v, mk))) = regs.1 { m.set_masked(Field::Reg(i), v, mk); }
        if let Some((v, mk)) = regs.2 { m.set_masked(Field::Metadata, v, mk); }
        let (in_port, src, dst, vlan, vid, pcp) = l2;
        if let Some(p) = in_port { m.set(Field::InPort, p); }
        if let Some((v, mk)) = src { m.set_masked(Field::EthSrc, v, mk); }
        if let Some((v, mk)) = dst { m.set_masked(Field::EthDst, v, mk); }
        match vlan {
            1 => { m.set_masked(Field::VlanTci, 0x1000 | vid, 0x1fff); }
            2 => { m.set_masked(Field::VlanTci, 0x1000 | (pcp << 13), 0xf000); }
            3 => { m.set_masked(Field::VlanTci, 0x1000 | vid | (pcp << 13), 0xffff); }
            4 => { m.set(Field::VlanTci, 0); }
            5 => { m.set_masked(Field::VlanTci, (vid & 1) * (0x1000 | vid), 0x1000 | (pcp << 9)); }
            _ => {}
        }
        let dl_type = [None, Some(0x0800u16), Some(0x86dd), Some(0x0806), Some(0x8035), Some(0x88cc), Some(0x8847)][l3];
        if let Some(t) = dl_type { m.set(Field::EthType, t as u128); }
        let is_ip = matches!(dl_type, Some(0x0800) | Some(0x86dd));
        let v6 = dl_type == Some(0x86dd);
        let proto = if is_ip { [None, Some(6u8), Some(17), Some(132), Some(if v6 { 58 } else { 1 }), Some(47), Some(6)][l4] } else { None };
        if let Some(p) = proto { m.set(Field::IpProto, p as u128); }
        let (s4, d4, s6, d6, label) = ip;
        if dl_type == Some(0x0800) || matches!(dl_type, Some(0x0806) | Some(0x8035)) {
            if let Some((v, mk)) = s4 { m.set_masked(Field::IpSrc, v, mk); }
            if let Some((v, mk)) = d4 { m.set_masked(Field::IpDst, v, mk); }
        }
        if v6 {
            if let Some((v, mk)) = s6 { m.set_masked(Field::Ipv6Src, v, mk); }
            if let Some((v, mk)) = d6 { m.set_masked(Field::Ipv6Dst, v, mk); }
            if let Some((v, mk)) = label { m.set_masked(Field::Ipv6Label, v, mk); }
        }
        let (dscp, ecn, ttl, frag, arp_op) = ipmisc;
        if is_ip {
            if let Some(d) = dscp { m.set(Field::NwTos, d << 2); }
            if let Some(e) = ecn { m.set(Field::NwEcn, e); }
            if let Some(t) = ttl { m.set(Field::IpTtl, t); }
            let frags = [None, Some((0, 1)), Some((1, 1)), Some((1, 3)), Some((3, 3)), Some((0, 2))];
            if let Some((v, mk)) = frags[frag] { m.set_masked(Field::IpFrag, v, mk); }
        }
        let is_arp = matches!(dl_type, Some(0x0806) | Some(0x8035));
        if is_arp {
            if let Some(op) = arp_op { m.set(Field::ArpOp, op); }
            if let Some((v, mk)) = arp.0 { m.set_masked(Field::ArpSha, v, mk); }
            if let Some((v, mk)) = arp.1 { m.set_masked(Field::ArpTha, v, mk); }
        }
        let (tps, tpd, flags, it, ic) = l4v;
        match proto {
            Some(6) | Some(17) | Some(132) => {
                if let Some((v, mk)) = tps { m.set_masked(Field::TpSrc, v, mk); }
                if let Some((v, mk)) = tpd { m.set_masked(Field::TpDst, v, mk); }
                if proto == Some(6) {
                    if let Some((v, mk)) = flags { m.set_masked(Field::TcpFlags, v, mk); }
                }
            }
            Some(1) | Some(58) => {
                if let Some(t) = it { m.set(Field::IcmpType, t); }
                if let Some(c) = ic { m.set(Field::IcmpCode, c); }
            }
            _ => {}
        }
        m
    }
}

fn arb_writable_field() -> impl Strategy<Value = Field> {
    prop::sample::select(
        Field::all()
            .into_iter()
            .filter(|f| fields::writable(*f) && !matches!(f, Field::CtMark | Field::CtLabel))
            .collect::<Vec<_>>(),
    )
}

fn arb_subfield(field: impl Strategy<Value = Field>) -> impl Strategy<Value = SubField> {
    field.prop_flat_map(|f| {
        let w = f.width();
        (0..w).prop_flat_map(move |ofs| (1..=(w - ofs)).prop_map(move |n| SubField { field: f, ofs, n_bits: n }))
    })
}

fn arb_set_field(ct_only: bool) -> impl Strategy<Value = OfAction> {
    let field = if ct_only {
        prop::sample::select(vec![Field::CtMark, Field::CtLabel]).boxed()
    } else {
        arb_writable_field().boxed()
    };
    (field, any::<u128>(), any::<u128>(), any::<bool>()).prop_map(|(field, v, m, full)| {
        let all = field.all_ones();
        let full = full || !fields::maskable(field) || field == Field::InPort;
        let mut mask = if full { all } else { (m & all).max(1) };
        let mut value = v & mask;
        if field == Field::InPort {
            value &= 0xffff;
        }
        if field == Field::NwTos {
            mask = all;
            value &= 0xfc;
        }
        OfAction::SetField { field, value, mask }
    })
}

fn arb_load(ct_only: bool) -> impl Strategy<Value = OfAction> {
    let field = if ct_only {
        prop::sample::select(vec![Field::CtMark, Field::CtLabel]).boxed()
    } else {
        arb_writable_field().boxed()
    };
    (arb_subfield(field), any::<u128>()).prop_map(|(dst, v)| {
        let n = dst.n_bits as u32;
        let value = if n >= 128 { v } else { v & ((1u128 << n) - 1) };
        OfAction::Load { dst, value }
    })
}

fn arb_nat() -> impl Strategy<Value = NatAction> {
    (
        0usize..3,
        any::<bool>(),
        any::<u32>(),
        any::<u32>(),
        any::<u128>(),
        any::<u128>(),
        opt((1u16.., any::<u16>())),
        0usize..4,
        any::<bool>(),
    )
        .prop_map(|(kind, v6, a, b, c, d, ports, flag, persistent)| {
            let kind = [None, Some(NatKind::Src), Some(NatKind::Dst)][kind];
            let mut n = NatAction { kind, ..Default::default() };
            n.persistent = persistent;
            n.hash = flag == 2;
            n.random = flag == 3;
            if kind.is_some() && flag > 0 {
                n.addrs = Some(if v6 {
                    (IpAddr::V6(Ipv6Addr::from(c.min(d))), IpAddr::V6(Ipv6Addr::from(c.max(d))))
                } else {
                    (IpAddr::V4(Ipv4Addr::from(a.min(b))), IpAddr::V4(Ipv4Addr::from(a.max(b))))
                });
                n.ports = ports.map(|(lo, span)| (lo, lo.saturating_add(span % 100)));
            }
            n
        })
}

fn arb_ct() -> impl Strategy<Value = OfCt> {
    (
        any::<bool>(),
        any::<bool>(),
        prop_oneof![
            any::<u16>().prop_map(CtZone::Imm),
            arb_subfield(Just(Field::Reg(4))).prop_filter("16 bits", |s| s.n_bits <= 16).prop_map(CtZone::Field)
        ],
        opt(0u8..255),
        prop::collection::vec(prop_oneof![arb_set_field(true), arb_load(true)], 0..3),
        opt(arb_nat()),
        opt(prop::sample::select(vec!["ftp".to_string(), "tftp".to_string()])),
    )
        .prop_map(|(commit, force, zone, table, exec, nat, alg)| OfCt {
            commit: commit || force,
            force,
            zone,
            table,
            exec,
            nat,
            alg,
        })
}

fn arb_action() -> impl Strategy<Value = OfAction> {
    use OfAction::*;
    prop_oneof![
        (0u32..0xff00).prop_map(Output),
        arb_subfield(prop::sample::select(vec![Field::Reg(1), Field::InPort, Field::Reg(7)])).prop_map(OutputReg),
        Just(InPort),
        Just(Normal),
        Just(Flood),
        Just(All),
        Just(Local),
        Just(Controller),
        (opt(0u32..0xfff8), opt(0u8..255))
            .prop_filter("one of them", |(p, t)| p.is_some() || t.is_some())
            .prop_map(|(in_port, table)| Resubmit { in_port, table }),
        arb_ct().prop_map(Ct),
        Just(CtClear),
        arb_set_field(false),
        arb_load(false),
        arb_subfield(arb_writable_field()).prop_flat_map(|dst| {
            let n = dst.n_bits;
            arb_subfield(Just(Field::Reg(0)).prop_union(Just(Field::Xreg(1))).or(Just(Field::CtLabel)))
                .prop_filter("wide enough", move |s| s.field.width() >= n)
                .prop_map(move |s| (s, dst))
                .prop_map(move |(s, dst)| Move { src: SubField { field: s.field, ofs: 0, n_bits: n }, dst })
        }),
        any::<[u8; 6]>().prop_map(|m| ModDlSrc(EthAddr(m))),
        any::<[u8; 6]>().prop_map(|m| ModDlDst(EthAddr(m))),
        (0u16..4096).prop_map(ModVlanVid),
        (0u8..8).prop_map(ModVlanPcp),
        Just(DecTtl),
        prop::sample::select(vec![0x8100u16, 0x88a8]).prop_map(PushVlan),
        Just(PopVlan),
        (0usize..3).prop_flat_map(|k| prop::collection::vec(any::<u8>(), 6 + 8 * k)).prop_map(Note),
    ]
}

fn arb_actions() -> impl Strategy<Value = Vec<OfAction>> {
    prop_oneof![
        (prop::collection::vec(arb_action(), 0..6), opt(1u8..255)).prop_map(|(mut v, g)| {
            if let Some(t) = g {
                v.push(OfAction::GotoTable(t));
            }
            v
        }),
        prop::collection::vec(
            (any::<u32>(), 2u8..=64).prop_flat_map(|(id, n)| (1..=n).prop_map(move |k| OfAction::Conjunction {
                id,
                clause: k,
                n_clauses: n
            })),
            1..3
        ),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn random_matches_round_trip(m in arb_match()) {
        let text = format_match(&m, None);
        let back = parse_match(&text, &PortMap::new()).map_err(|e| TestCaseError::fail(format!("{text}: {e}")))?;
        prop_assert_eq!(back, m, "{}", text);
    }

    #[test]
    fn random_actions_round_trip(a in arb_actions()) {
        let text = format_actions(&a, None);
        let back = parse_actions(&text, &PortMap::new()).map_err(|e| TestCaseError::fail(format!("{text}: {e}")))?;
        prop_assert_eq!(back, a, "{}", text);
    }

    #[test]
    fn parsers_never_panic(s in "[ -~]{0,80}") {
        let _ = parse_flow(&s, &ports());
        let _ = parse_actions(&s, &ports());
        let _ = parse_match(&s, &ports());
    }
}

#[test]
fn quoted_port_names_with_separators_read_back() {
    // Found by the ofctl_parse fuzz target.
    let p: PortMap = [("p 3", 3), ("br-int", 9)].into_iter().collect();
    let f = parse_flow("in_port=\"br-int\",actions=output:\"p 3\",\"p 3\"", &p).unwrap();
    let text = format_flow(&f, Some(&p));
    assert_eq!(text, "in_port=\"br-int\" actions=output:\"p 3\",output:\"p 3\"");
    assert_eq!(parse_flow(&text, &p).unwrap(), f);
    assert!(parse_flow("\"0in_port=ract:\"\u{4d2}cstaw+trk,ions=c0", &p).is_err());
}

/// Shorthands that agree combine as OVS combines them; a later `ip` keeps an
/// earlier `tcp`, and an explicit `nw_proto` may follow a shorthand.
#[test]
fn compatible_shorthands_combine() {
    let p = ports();
    for (text, printed) in [
        ("tcp,ip,actions=drop", "tcp actions=drop"),
        ("ip,tcp,actions=drop", "tcp actions=drop"),
        ("tcp,nw_proto=17,actions=drop", "udp actions=drop"),
        ("ipv6,tcp6,actions=drop", "tcp6 actions=drop"),
    ] {
        let flow = parse_flow(text, &p).unwrap_or_else(|e| panic!("{text}: {e}"));
        assert_eq!(format_flow(&flow, None), printed, "{text}");
    }
}
