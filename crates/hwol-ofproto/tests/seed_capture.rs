//! The pipeline of the reference capture (OVS 3.1, userspace datapath,
//! ../shared/reference/ovs-outputs/ovs_capture_plain.txt), rebuilt here rule
//! by rule, must produce the same megaflows OVS produced for the same
//! packets: same keys and masks, same actions (flood order aside).

use std::time::Duration;

use hwol_flow::{ct_state, Action, FlowKey, FlowMask};
use hwol_odp::{FormatOpts, FromFlowOpts, OdpFlow, OdpKey, PortNames};
use hwol_ofproto::switch::SoftSwitch;
use hwol_openflow::{Field, FlowSpec, OfAction, OfCt, OfMatch};

const MAC1: [u8; 6] = [0x1e, 0x32, 0x61, 0xef, 0xdb, 0x70];
const MAC2: [u8; 6] = [0x36, 0x9e, 0xf4, 0x9d, 0xbd, 0x5e];
const IP1: [u8; 4] = [10, 0, 0, 1];
const IP2: [u8; 4] = [10, 0, 0, 2];

/// The capture's megaflows (statistics dropped), from `dpctl/dump-flows`.
const OVS_MEGAFLOWS: &[&str] = &[
    "ct_state(+new+trk),recirc_id(0x1),in_port(1),packet_type(ns=0,id=0),eth(src=1e:32:61:ef:db:70,dst=36:9e:f4:9d:bd:5e),eth_type(0x0800),ipv4(frag=no), actions:ct(commit,zone=65520),2",
    "recirc_id(0),in_port(1),packet_type(ns=0,id=0),eth_type(0x0800),ipv4(frag=no), actions:ct(zone=65520),recirc(0x1)",
    "ct_state(-new+est+trk),recirc_id(0x2),in_port(2),packet_type(ns=0,id=0),eth(src=36:9e:f4:9d:bd:5e,dst=1e:32:61:ef:db:70),eth_type(0x0800),ipv4(frag=no), actions:1",
    "recirc_id(0),in_port(1),packet_type(ns=0,id=0),eth(src=1e:32:61:ef:db:70,dst=ff:ff:ff:ff:ff:ff),eth_type(0x0806),arp(sip=10.0.0.1,tip=10.0.0.2,op=1), actions:3,2",
    "recirc_id(0),in_port(2),packet_type(ns=0,id=0),eth(src=36:9e:f4:9d:bd:5e,dst=1e:32:61:ef:db:70),eth_type(0x0806), actions:1",
    "recirc_id(0),in_port(2),packet_type(ns=0,id=0),eth_type(0x0800),ipv4(frag=no), actions:ct(zone=65520),recirc(0x2)",
    "ct_state(-new+est+trk),recirc_id(0x1),in_port(1),packet_type(ns=0,id=0),eth(src=1e:32:61:ef:db:70,dst=36:9e:f4:9d:bd:5e),eth_type(0x0800),ipv4(frag=no), actions:2",
];

fn rule(table: u8, priority: u16, fields: &[(Field, u128, u128)], actions: Vec<OfAction>) -> FlowSpec {
    let mut m = OfMatch::catchall();
    for (f, v, mk) in fields {
        m.set_masked(*f, *v, *mk);
    }
    FlowSpec { table, priority, matches: m, actions, ..Default::default() }
}

/// `ovs-ofctl dump-flows brovs` from the capture, as FlowSpecs.
fn capture_pipeline(sw: &mut SoftSwitch) {
    let ip = (Field::EthType, 0x0800, 0xffff);
    let arp = (Field::EthType, 0x0806, 0xffff);
    let ct = |commit, table| {
        OfAction::Ct(OfCt { commit, zone: hwol_openflow::CtZone::Imm(65520), table, ..Default::default() })
    };
    let st = |v: u8, m: u8| (Field::CtState, v as u128, m as u128);
    let trk_new = ct_state::TRK | ct_state::NEW;
    let trk_est = ct_state::TRK | ct_state::EST;
    let flows = vec![
        rule(0, 200, &[ip], vec![ct(false, Some(1))]),
        rule(0, 190, &[arp], vec![OfAction::Normal]),
        rule(0, 0, &[], vec![]),
        rule(1, 200, &[ip, st(trk_new, trk_new)], vec![ct(true, None), OfAction::Normal]),
        rule(1, 190, &[ip, st(trk_est, trk_est)], vec![OfAction::Normal]),
        rule(1, 0, &[], vec![]),
    ];
    for f in flows {
        sw.ofproto.flow_add(f, Duration::ZERO).unwrap();
    }
}

fn eth(dst: [u8; 6], src: [u8; 6], ethertype: u16) -> Vec<u8> {
    let mut p = dst.to_vec();
    p.extend_from_slice(&src);
    p.extend_from_slice(&ethertype.to_be_bytes());
    p
}

fn arp(op: u16, sha: [u8; 6], spa: [u8; 4], tha: [u8; 6], tpa: [u8; 4], dst: [u8; 6]) -> Vec<u8> {
    let mut p = eth(dst, sha, 0x0806);
    p.extend_from_slice(&[0, 1, 8, 0, 6, 4]);
    p.extend_from_slice(&op.to_be_bytes());
    p.extend_from_slice(&sha);
    p.extend_from_slice(&spa);
    p.extend_from_slice(&tha);
    p.extend_from_slice(&tpa);
    p
}

#[allow(clippy::too_many_arguments)]
fn tcp(
    src_mac: [u8; 6],
    dst_mac: [u8; 6],
    src: [u8; 4],
    dst: [u8; 4],
    sport: u16,
    dport: u16,
    seq: u32,
    ack: u32,
    flags: u8,
) -> Vec<u8> {
    let mut p = eth(dst_mac, src_mac, 0x0800);
    let mut ip = [0u8; 20];
    hwol_wire::ipv4::emit_header(&mut ip, src, dst, 6, 64, 0, 20, 0x4000);
    p.extend_from_slice(&ip);
    p.extend_from_slice(&sport.to_be_bytes());
    p.extend_from_slice(&dport.to_be_bytes());
    p.extend_from_slice(&seq.to_be_bytes());
    p.extend_from_slice(&ack.to_be_bytes());
    p.extend_from_slice(&[0x50, flags, 0xff, 0xff, 0, 0, 0, 0]);
    p
}

/// A megaflow in comparable form: masked key, mask, and actions with runs of
/// consecutive outputs sorted (flood order is a hash order in OVS).
fn canonical(key: &FlowKey, mask: &FlowMask, actions: &[Action]) -> (FlowKey, FlowMask, Vec<Action>) {
    let mut acts = actions.to_vec();
    let mut i = 0;
    while i < acts.len() {
        let j = (i..acts.len()).find(|&j| !matches!(acts[j], Action::Output(_))).unwrap_or(acts.len());
        acts[i..j].sort_by_key(|a| if let Action::Output(p) = a { *p } else { 0 });
        i = j + 1;
    }
    (key.masked(mask), *mask, acts)
}

#[test]
fn megaflows_match_the_ovs_capture() {
    let mut sw = SoftSwitch::new("brovs");
    for (n, name) in [(1, "rep1"), (2, "rep2"), (3, "brovs")] {
        sw.ofproto.add_port(n, name).unwrap();
    }
    capture_pipeline(&mut sw);
    let t = |ms| Duration::from_millis(ms);
    let bcast = [0xff; 6];
    sw.receive(1, &arp(1, MAC1, IP1, [0; 6], IP2, bcast), t(1));
    sw.receive(2, &arp(2, MAC2, IP2, MAC1, IP1, MAC1), t(2));
    let syn = sw.receive(1, &tcp(MAC1, MAC2, IP1, IP2, 48588, 5201, 1, 0, 0x02), t(3));
    assert_eq!(syn.0.iter().map(|o| o.0).collect::<Vec<_>>(), [2], "the SYN reaches rep2");
    let synack = sw.receive(2, &tcp(MAC2, MAC1, IP2, IP1, 5201, 48588, 9, 2, 0x12), t(4));
    assert_eq!(synack.0.iter().map(|o| o.0).collect::<Vec<_>>(), [1]);
    sw.receive(1, &tcp(MAC1, MAC2, IP1, IP2, 48588, 5201, 2, 10, 0x10), t(5));
    sw.receive(1, &tcp(MAC1, MAC2, IP1, IP2, 48588, 5201, 2, 10, 0x18), t(6));

    let mut ports = PortNames::new();
    let mut ours: Vec<_> = sw.datapath.flow_dump().iter().map(|f| canonical(&f.key, &f.mask, &f.actions)).collect();
    let mut theirs: Vec<_> = OVS_MEGAFLOWS
        .iter()
        .map(|l| {
            let f = hwol_odp::parse_flow(l, &mut ports).unwrap();
            let (k, m) = f.key.to_flow();
            canonical(&k, &m, &f.actions)
        })
        .collect();
    let show = |v: &[(FlowKey, FlowMask, Vec<Action>)]| {
        v.iter()
            .map(|(k, m, a)| {
                let flow = OdpFlow {
                    key: OdpKey::from_flow(k, m, &FromFlowOpts::default()),
                    actions: a.clone(),
                    ..Default::default()
                };
                flow.format(&FormatOpts::default())
            })
            .collect::<Vec<_>>()
    };
    let mut a = show(&ours);
    let mut b = show(&theirs);
    a.sort();
    b.sort();
    assert_eq!(a, b, "hwol's megaflows (left) differ from OVS's (right)");
    ours.sort_by_key(|x| format!("{x:?}"));
    theirs.sort_by_key(|x| format!("{x:?}"));
    assert_eq!(ours.len(), theirs.len());
}
