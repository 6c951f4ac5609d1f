//! Translation behaviour, one OpenFlow feature at a time: which datapath
//! actions come out and which fields the megaflow ends up matching.

use std::time::Duration;

use hwol_flow::{ct_state, Action, CtAction, FlowKey, Masked, Metadata, SetAction};
use hwol_ofproto::switch::SoftSwitch;
use hwol_ofproto::{FlowFilter, Ofproto, OfprotoConfig, RevalOp};
use hwol_openflow::{CtZone, Field, FlowSpec, OfAction, OfCt, OfMatch, SubField};

const T0: Duration = Duration::ZERO;

fn bridge(ports: &[u32]) -> Ofproto {
    let mut of = Ofproto::new("br0", OfprotoConfig::default());
    for p in ports {
        of.add_port(*p, format!("p{p}")).unwrap();
    }
    of
}

fn add(of: &mut Ofproto, table: u8, priority: u16, fields: &[(Field, u128, u128)], actions: Vec<OfAction>) {
    let mut m = OfMatch::catchall();
    for (f, v, mk) in fields {
        m.set_masked(*f, *v, *mk);
    }
    of.flow_add(FlowSpec { table, priority, matches: m, actions, ..Default::default() }, T0).unwrap();
}

fn exact(f: Field, v: u128) -> (Field, u128, u128) {
    (f, v, f.all_ones())
}

fn tcp_key(in_port: u32, src: [u8; 4], dst: [u8; 4], dport: u16) -> FlowKey {
    FlowKey {
        in_port,
        eth_type: 0x0800,
        nw_proto: 6,
        nw_ttl: 64,
        nw_src: src,
        nw_dst: dst,
        tp_src: 40000,
        tp_dst: dport,
        eth_src: [2, 0, 0, 0, 0, 1],
        eth_dst: [2, 0, 0, 0, 0, 2],
        ..Default::default()
    }
}

fn reg(n: u8) -> SubField {
    SubField::whole(Field::Reg(n))
}

#[test]
fn registers_and_resubmit_leave_the_megaflow_wide() {
    let mut of = bridge(&[1, 2]);
    add(
        &mut of,
        0,
        10,
        &[exact(Field::InPort, 1)],
        vec![OfAction::Load { dst: reg(1), value: 2 }, OfAction::Resubmit { in_port: None, table: Some(10) }],
    );
    add(&mut of, 10, 10, &[exact(Field::Reg(1), 2)], vec![OfAction::OutputReg(reg(1))]);
    let x = of.xlate(&tcp_key(1, [10, 0, 0, 1], [10, 0, 0, 2], 80), T0);
    assert_eq!(x.actions, vec![Action::Output(2)]);
    assert_eq!(x.rules.len(), 2);
    let m = x.mask.0;
    assert_eq!((m.in_port, m.eth_type, m.recirc_id), (!0, !0, !0));
    assert_eq!((m.nw_src, m.tp_dst, m.eth_src), ([0; 4], 0, [0; 6]), "registers are not datapath fields");
}

#[test]
fn conjunction_matches_only_when_every_clause_does() {
    let mut of = bridge(&[1, 2]);
    let ip = exact(Field::EthType, 0x0800);
    add(
        &mut of,
        0,
        100,
        &[ip, exact(Field::IpSrc, 0x0a00_0001)],
        vec![OfAction::Conjunction { id: 9, clause: 1, n_clauses: 2 }],
    );
    add(
        &mut of,
        0,
        100,
        &[ip, exact(Field::IpProto, 6), exact(Field::TpDst, 80)],
        vec![OfAction::Conjunction { id: 9, clause: 2, n_clauses: 2 }],
    );
    add(&mut of, 0, 100, &[exact(Field::ConjId, 9)], vec![OfAction::Output(2)]);
    add(&mut of, 0, 0, &[], vec![]);
    let yes = of.xlate(&tcp_key(1, [10, 0, 0, 1], [10, 0, 0, 2], 80), T0);
    assert_eq!(yes.actions, vec![Action::Output(2)]);
    assert_eq!((yes.mask.0.nw_src, yes.mask.0.tp_dst), ([0xff; 4], 0xffff));
    let no = of.xlate(&tcp_key(1, [10, 0, 0, 1], [10, 0, 0, 2], 443), T0);
    assert_eq!(no.actions, vec![]);
    let no = of.xlate(&tcp_key(1, [10, 0, 0, 9], [10, 0, 0, 2], 80), T0);
    assert_eq!(no.actions, vec![]);
}

#[test]
fn header_rewrites_are_committed_before_output() {
    let mut of = bridge(&[1, 2]);
    add(
        &mut of,
        0,
        1,
        &[],
        vec![
            OfAction::ModDlDst(hwol_flow::EthAddr([2, 0, 0, 0, 0, 0x99])),
            OfAction::DecTtl,
            OfAction::SetField { field: Field::IpDst, value: 0x0a00_0063, mask: u32::MAX as u128 },
            OfAction::Output(2),
        ],
    );
    let x = of.xlate(&tcp_key(1, [10, 0, 0, 1], [10, 0, 0, 2], 80), T0);
    let eth = SetAction::Eth {
        src: Masked::new(Default::default(), Default::default()),
        dst: Masked::new(hwol_flow::EthAddr([2, 0, 0, 0, 0, 0x99]), hwol_flow::EthAddr([0xff; 6])),
    };
    let ip = SetAction::Ipv4 {
        src: Masked::new([0; 4], [0; 4]),
        dst: Masked::new([10, 0, 0, 99], [0xff; 4]),
        tos: Masked::new(0, 0),
        ttl: Masked::new(63, 0xff),
    };
    assert_eq!(
        x.actions,
        vec![Action::Set { set: eth, masked: true }, Action::Set { set: ip, masked: true }, Action::Output(2)]
    );
    assert_eq!(x.mask.0.nw_ttl, 0xff, "dec_ttl reads the TTL");
    assert_eq!(x.mask.0.eth_dst, [0xff; 6], "a written field is matched");
}

#[test]
fn ttl_expiry_drops() {
    let mut of = bridge(&[1, 2]);
    add(&mut of, 0, 1, &[], vec![OfAction::DecTtl, OfAction::Output(2)]);
    let mut k = tcp_key(1, [10, 0, 0, 1], [10, 0, 0, 2], 80);
    k.nw_ttl = 1;
    assert_eq!(of.xlate(&k, T0).actions, vec![]);
}

#[test]
fn vlan_push_and_pop() {
    let mut of = bridge(&[1, 2, 3]);
    add(
        &mut of,
        0,
        1,
        &[exact(Field::InPort, 1)],
        vec![OfAction::PushVlan(0x8100), OfAction::ModVlanVid(10), OfAction::Output(2)],
    );
    add(
        &mut of,
        0,
        1,
        &[exact(Field::InPort, 2), (Field::VlanTci, 0x1000 | 10, 0x1fff)],
        vec![OfAction::PopVlan, OfAction::Output(3)],
    );
    let x = of.xlate(&tcp_key(1, [10, 0, 0, 1], [10, 0, 0, 2], 80), T0);
    assert_eq!(x.actions, vec![Action::PushVlan { tpid: 0x8100, tci: 10 }, Action::Output(2)]);
    let mut k = tcp_key(2, [10, 0, 0, 1], [10, 0, 0, 2], 80);
    k.vlans[0] = hwol_flow::VlanHeader { tpid: 0x8100, tci: 10 };
    let x = of.xlate(&k, T0);
    assert_eq!(x.actions, vec![Action::PopVlan, Action::Output(3)]);
    assert_eq!(x.mask.0.vlans[0].tci & 0x0fff, 0x0fff);
}

#[test]
fn ct_with_mark_and_zone_from_a_register_recirculates() {
    let mut of = bridge(&[1, 2]);
    let zone_bits = SubField { field: Field::Reg(4), ofs: 0, n_bits: 16 };
    add(
        &mut of,
        0,
        1,
        &[exact(Field::EthType, 0x0800)],
        vec![
            OfAction::Load { dst: zone_bits, value: 7 },
            OfAction::Ct(OfCt { zone: CtZone::Field(zone_bits), table: Some(1), ..Default::default() }),
        ],
    );
    add(
        &mut of,
        1,
        1,
        &[exact(Field::CtState, (ct_state::NEW | ct_state::TRK) as u128)],
        vec![
            OfAction::Ct(OfCt {
                commit: true,
                zone: CtZone::Imm(7),
                exec: vec![OfAction::SetField { field: Field::CtMark, value: 1, mask: 1 }],
                ..Default::default()
            }),
            OfAction::Output(2),
        ],
    );
    let x = of.xlate(&tcp_key(1, [10, 0, 0, 1], [10, 0, 0, 2], 80), T0);
    let id = x.recircs[0];
    assert_eq!(x.actions, vec![Action::Ct(CtAction { zone: 7, ..Default::default() }), Action::Recirc(id)]);
    let mut k = tcp_key(1, [10, 0, 0, 1], [10, 0, 0, 2], 80);
    k.recirc_id = id;
    k.ct_state = ct_state::NEW | ct_state::TRK;
    let x = of.xlate(&k, T0);
    assert_eq!(
        x.actions,
        vec![
            Action::Ct(CtAction { commit: true, zone: 7, mark: Some(Masked::new(1, 1)), ..Default::default() }),
            Action::Output(2)
        ]
    );
    assert_eq!(x.mask.0.ct_state, 0xff);
}

#[test]
fn resubmit_loops_are_cut_and_dropped() {
    let mut of = bridge(&[1, 2]);
    add(&mut of, 0, 1, &[], vec![OfAction::Output(2), OfAction::Resubmit { in_port: None, table: Some(0) }]);
    let x = of.xlate(&tcp_key(1, [10, 0, 0, 1], [10, 0, 0, 2], 80), T0);
    assert!(x.error.is_some());
    assert_eq!(x.actions, vec![]);
}

#[test]
fn unknown_recirc_id_translates_to_a_drop() {
    let mut of = bridge(&[1, 2]);
    let mut k = tcp_key(1, [10, 0, 0, 1], [10, 0, 0, 2], 80);
    k.recirc_id = 0x77;
    let x = of.xlate(&k, T0);
    assert!(x.error.unwrap().contains("0x77"));
    assert_eq!(x.mask.0.recirc_id, !0);
}

#[test]
fn normal_learns_floods_then_forwards_and_ages() {
    let mut of = bridge(&[1, 2, 3]);
    add(&mut of, 0, 1, &[], vec![OfAction::Normal]);
    let a = tcp_key(1, [10, 0, 0, 1], [10, 0, 0, 2], 80);
    assert_eq!(of.xlate(&a, T0).actions, vec![Action::Output(2), Action::Output(3)], "unknown: flood");
    let mut b = tcp_key(2, [10, 0, 0, 2], [10, 0, 0, 1], 80);
    b.eth_src = a.eth_dst;
    b.eth_dst = a.eth_src;
    assert_eq!(of.xlate(&b, T0).actions, vec![Action::Output(1)], "learned from a");
    assert_eq!(of.xlate(&a, T0).actions, vec![Action::Output(2)], "learned from b");
    let late = Duration::from_secs(301);
    assert_eq!(of.expire_macs(late), 2);
    assert_eq!(of.xlate(&b, late).actions, vec![Action::Output(1), Action::Output(3)]);
}

fn udp_frame(src_port: u16) -> Vec<u8> {
    let mut p = vec![2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00];
    let mut ip = [0u8; 20];
    hwol_wire::ipv4::emit_header(&mut ip, [10, 0, 0, 1], [10, 0, 0, 2], 17, 64, 0, 8, 0);
    p.extend_from_slice(&ip);
    p.extend_from_slice(&src_port.to_be_bytes());
    p.extend_from_slice(&[0, 53, 0, 8, 0, 0]);
    p
}

#[test]
fn revalidation_updates_actions_attributes_stats_and_expires_idle_flows() {
    let mut sw = SoftSwitch::new("br0");
    for p in [1, 2, 3] {
        sw.ofproto.add_port(p, format!("p{p}")).unwrap();
    }
    add(&mut sw.ofproto, 0, 1, &[exact(Field::InPort, 1)], vec![OfAction::Output(2)]);
    let t = Duration::from_secs;
    for i in 0..5 {
        let out = sw.receive(1, &udp_frame(1000 + i), t(1));
        assert_eq!(out.0[0].0, 2);
    }
    assert_eq!(sw.upcalls, 1, "one megaflow covers every source port");
    let r = sw.revalidate(t(2));
    assert!(r.ops.is_empty());
    let rule = sw.ofproto.rules_sorted()[0].id;
    // All five: the first at its upcall (as OVS credits it), four through the megaflow.
    assert_eq!(sw.ofproto.rule(rule).unwrap().n_packets, 5);

    // Change the rule's actions: the megaflow is modified in place.
    let filter = FlowFilter::all();
    sw.ofproto.flow_modify(&filter, false, vec![OfAction::Output(3)], t(3)).unwrap();
    let r = sw.revalidate(t(3));
    assert!(matches!(r.ops.as_slice(), [RevalOp::Modify { .. }]), "{r:?}");
    assert_eq!(sw.receive(1, &udp_frame(7), t(4)).0[0].0, 3);
    assert_eq!(sw.upcalls, 1);

    // A rule that makes the megaflow narrower: the old megaflow goes.
    add(
        &mut sw.ofproto,
        0,
        5,
        &[exact(Field::InPort, 1), exact(Field::EthType, 0x0800), exact(Field::IpProto, 6)],
        vec![],
    );
    let r = sw.revalidate(t(5));
    assert!(matches!(r.ops.as_slice(), [RevalOp::Delete { reason: "megaflow mask changed", .. }]), "{r:?}");
    assert_eq!(sw.datapath.flow_count(), 0);

    sw.receive(1, &udp_frame(8), t(6));
    assert_eq!(sw.datapath.flow_count(), 1);
    let r = sw.revalidate(t(16));
    assert!(matches!(r.ops.as_slice(), [RevalOp::Delete { reason: "idle", .. }]), "{r:?}");
    assert_eq!(sw.datapath.flow_count(), 0);
    assert_eq!(sw.ofproto.n_ukeys(), 0);
}

#[test]
fn recirc_ids_are_freed_with_their_megaflows() {
    let mut sw = SoftSwitch::new("br0");
    sw.ofproto.add_port(1, "p1").unwrap();
    sw.ofproto.add_port(2, "p2").unwrap();
    add(
        &mut sw.ofproto,
        0,
        1,
        &[exact(Field::EthType, 0x0800)],
        vec![OfAction::Ct(OfCt { zone: CtZone::Imm(1), table: Some(1), ..Default::default() })],
    );
    add(&mut sw.ofproto, 1, 1, &[], vec![OfAction::Output(2)]);
    sw.receive(1, &udp_frame(1), Duration::from_secs(1));
    assert_eq!(sw.datapath.flow_count(), 2);
    assert_eq!(sw.ofproto.recirc_ids(), 1);
    sw.revalidate(Duration::from_secs(30));
    assert_eq!(sw.datapath.flow_count(), 0);
    assert_eq!(sw.ofproto.recirc_ids(), 0);
    let _ = Metadata::default();
}
