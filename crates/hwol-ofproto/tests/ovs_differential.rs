//! Differential tests against real Open vSwitch (Debian's 3.1, dummy
//! datapath, private run directory — see `hwol-ovs-harness`).
//!
//! Each case loads the same ovs-ofctl flows into OVS and into hwol, sends the
//! same frames into both, and compares the megaflows each ends up with:
//! match (key under mask), mask and datapath actions. Normalized, because
//! they must differ: ports are compared by name (datapath port numbers are
//! assigned differently), recirc ids by the megaflow that emits them, and
//! runs of outputs are sorted (OVS floods in hash order). Statistics are
//! ignored.
//!
//! These tests need the OVS binaries (`scripts/setup.sh` installs them);
//! without them they fail with that advice rather than pass vacuously.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::time::Duration;

use hwol_flow::{Action, FlowKey, FlowMask};
use hwol_odp::{FormatOpts, FromFlowOpts, OdpFlow, OdpKey, PortNames};
use hwol_ofproto::switch::SoftSwitch;
use hwol_openflow::ofp_port;
use hwol_openflow::text::{parse_flows, PortMap};
use hwol_ovs_harness::frame::{tcp_flags, tcp_frame, Endpoint, TcpSegment};
use hwol_ovs_harness::Ovs;
use hwol_wire::EthAddr;

const BRIDGE: &str = "br0";

struct Case<'a> {
    ports: &'a [(&'a str, u16)],
    flows: String,
    /// (input port name, frame)
    packets: Vec<(&'a str, Vec<u8>)>,
}

fn start_ovs() -> Ovs {
    Ovs::start().unwrap_or_else(|e| panic!("cannot start Open vSwitch ({e}); run scripts/setup.sh to install it"))
}

/// Megaflows as comparable text lines.
fn normalize(flows: Vec<(FlowKey, FlowMask, Vec<Action>)>, names: &PortNames) -> Vec<String> {
    // Recirc ids: label each by the (recirc-blind) text of the flow emitting it.
    let text = |k: &FlowKey, m: &FlowMask, a: &[Action]| {
        let f = OdpFlow {
            key: OdpKey::from_flow(&k.masked(m), m, &FromFlowOpts::default()),
            actions: a.to_vec(),
            ..Default::default()
        };
        f.format(&FormatOpts { names: Some(names), verbose: false })
    };
    let mut flows: Vec<_> = flows
        .into_iter()
        .map(|(k, m, mut a)| {
            sort_output_runs(&mut a, names);
            (k, m, a)
        })
        .collect();
    let mut labels: BTreeMap<u32, String> = BTreeMap::new();
    for (k, m, a) in &flows {
        for act in a {
            if let Action::Recirc(id) = act {
                let mut k2 = *k;
                k2.recirc_id = 0;
                let blind: Vec<Action> =
                    a.iter().map(|x| if let Action::Recirc(_) = x { Action::Recirc(0) } else { x.clone() }).collect();
                labels.entry(*id).or_insert_with(|| format!("R[{}]", text(&k2, m, &blind)));
            }
        }
    }
    let mut out: Vec<String> = flows
        .iter_mut()
        .map(|(k, m, a)| {
            let rid = k.recirc_id;
            let mut line = text(k, m, a);
            for (id, label) in &labels {
                line = line.replace(&format!("recirc({id:#x})"), &format!("recirc({label})"));
            }
            if rid != 0 {
                let label = labels.get(&rid).cloned().unwrap_or_else(|| format!("unknown {rid:#x}"));
                line = line.replacen(&format!("recirc_id({rid:#x})"), &format!("recirc_id({label})"), 1);
            }
            line
        })
        .collect();
    out.sort();
    out
}

/// Sort each run of consecutive outputs by port name (OVS floods in hash order).
fn sort_output_runs(acts: &mut [Action], names: &PortNames) {
    let name = |a: &Action| match a {
        Action::Output(p) => names.name(*p).map(str::to_string).unwrap_or_else(|| p.to_string()),
        _ => String::new(),
    };
    let mut i = 0;
    while i < acts.len() {
        let j = (i..acts.len()).find(|&j| !matches!(acts[j], Action::Output(_))).unwrap_or(acts.len());
        acts[i..j].sort_by_key(name);
        i = j + 1;
    }
}

fn run(case: &Case) -> (Vec<String>, Vec<String>) {
    // --- OVS ---
    let ovs = start_ovs();
    ovs.add_bridge(BRIDGE).unwrap();
    for (name, ofport) in case.ports {
        ovs.add_port(BRIDGE, name, *ofport).unwrap();
    }
    ovs.add_flows(BRIDGE, &case.flows).unwrap();
    for (port, frame) in &case.packets {
        ovs.receive_frame(port, frame).unwrap();
    }
    let dp_ports = ovs.dp_ports().unwrap();
    let mut ovs_names = PortNames::new();
    for (name, n) in &dp_ports {
        ovs_names.insert(name, *n);
    }
    let theirs: Vec<_> = ovs
        .dump_flows()
        .unwrap()
        .iter()
        .map(|l| {
            let f = hwol_odp::parse_flow(l, &mut ovs_names).unwrap_or_else(|e| panic!("OVS line {l:?}: {e}"));
            let (k, m) = f.key.to_flow();
            (k, m, f.actions)
        })
        .collect();

    // --- hwol ---
    let mut sw = SoftSwitch::new(BRIDGE);
    let mut map = PortMap::new();
    let mut names = PortNames::new();
    for (name, ofport) in case.ports {
        sw.ofproto.add_port(*ofport as u32, *name).unwrap();
        map.insert(*name, *ofport as u32);
        names.insert(name, *ofport as u32);
    }
    sw.ofproto.add_port(ofp_port::LOCAL, BRIDGE).unwrap();
    names.insert(BRIDGE, ofp_port::LOCAL);
    for f in parse_flows(&case.flows, &map).unwrap() {
        sw.ofproto.flow_add(f, Duration::ZERO).unwrap();
    }
    for (i, (port, frame)) in case.packets.iter().enumerate() {
        let n = case.ports.iter().find(|p| p.0 == *port).unwrap().1;
        sw.receive(n as u32, frame, Duration::from_millis(1 + i as u64));
    }
    let ours: Vec<_> = sw.datapath.flow_dump().iter().map(|f| (f.key, f.mask, f.actions.clone())).collect();
    (normalize(ours, &names), normalize(theirs, &ovs_names))
}

fn assert_same(case: &Case) {
    let (ours, theirs) = run(case);
    if ours != theirs {
        panic!("megaflows differ\n--- hwol ---\n{}\n--- Open vSwitch ---\n{}\n", ours.join("\n"), theirs.join("\n"));
    }
}

fn mac(last: u8) -> EthAddr {
    EthAddr([0x0a, 0x58, 0, 0, 0, last])
}

fn ep(last: u8, port: u16) -> Endpoint {
    Endpoint { mac: mac(last), ip: Ipv4Addr::new(192, 168, 1, last), port }
}

/// A TCP handshake plus one data segment each way, as (port, frame) pairs.
fn tcp_conversation<'a>(a_port: &'a str, a: Endpoint, b_port: &'a str, b: Endpoint) -> Vec<(&'a str, Vec<u8>)> {
    let seg = |src, dst, seq, ack, flags, payload: &'static [u8]| {
        tcp_frame(&TcpSegment { src, dst, seq, ack, flags, window: 65535, ttl: 64, payload })
    };
    use tcp_flags::*;
    vec![
        (a_port, seg(a, b, 1000, 0, SYN, b"")),
        (b_port, seg(b, a, 5000, 1001, SYN | ACK, b"")),
        (a_port, seg(a, b, 1001, 5001, ACK, b"")),
        (a_port, seg(a, b, 1001, 5001, ACK | PSH, b"hello")),
        (b_port, seg(b, a, 5001, 1006, ACK | PSH, b"world")),
    ]
}

fn arp(op: u16, sha: EthAddr, spa: [u8; 4], tha: EthAddr, tpa: [u8; 4], dst: EthAddr) -> Vec<u8> {
    let mut p = dst.0.to_vec();
    p.extend_from_slice(&sha.0);
    p.extend_from_slice(&[0x08, 0x06, 0, 1, 8, 0, 6, 4]);
    p.extend_from_slice(&op.to_be_bytes());
    p.extend_from_slice(&sha.0);
    p.extend_from_slice(&spa);
    p.extend_from_slice(&tha.0);
    p.extend_from_slice(&tpa);
    p
}

fn udp(src: Endpoint, dst: Endpoint, vlan: Option<u16>) -> Vec<u8> {
    let mut p = dst.mac.0.to_vec();
    p.extend_from_slice(&src.mac.0);
    if let Some(vid) = vlan {
        p.extend_from_slice(&[0x81, 0x00]);
        p.extend_from_slice(&vid.to_be_bytes());
    }
    p.extend_from_slice(&[0x08, 0x00]);
    let mut ip = [0u8; 20];
    hwol_wire::ipv4::emit_header(&mut ip, src.ip.octets(), dst.ip.octets(), 17, 64, 0, 8 + 4, 0);
    p.extend_from_slice(&ip);
    p.extend_from_slice(&src.port.to_be_bytes());
    p.extend_from_slice(&dst.port.to_be_bytes());
    p.extend_from_slice(&[0, 12, 0, 0, 1, 2, 3, 4]);
    p
}

#[test]
fn pod_pipeline() {
    use hwol_pipeline::{Ipv4Net, Pipeline, PipelineConfig, Port};
    let port = |ofport, name: &str, last| Port {
        ofport,
        name: name.into(),
        mac: mac(last),
        ip: Ipv4Addr::new(192, 168, 1, last),
    };
    let mut cfg = PipelineConfig::new(port(3, "gw0", 1), "192.168.1.0/24".parse::<Ipv4Net>().unwrap());
    cfg.pods = vec![port(1, "rep1", 16), port(2, "rep2", 17)];
    let flows = Pipeline::build(&cfg).unwrap().to_ofctl_text();
    let mut packets = vec![
        ("rep1", arp(1, mac(16), [192, 168, 1, 16], EthAddr([0; 6]), [192, 168, 1, 17], EthAddr::BROADCAST)),
        ("rep2", arp(2, mac(17), [192, 168, 1, 17], mac(16), [192, 168, 1, 16], mac(16))),
    ];
    packets.extend(tcp_conversation("rep1", ep(16, 43558), "rep2", ep(17, 5201)));
    assert_same(&Case { ports: &[("rep1", 1), ("rep2", 2), ("gw0", 3)], flows, packets });
}

#[test]
fn normal_switching() {
    let flows = "priority=0,actions=NORMAL\n".to_string();
    let packets = vec![
        ("p1", arp(1, mac(1), [192, 168, 1, 1], EthAddr([0; 6]), [192, 168, 1, 2], EthAddr::BROADCAST)),
        ("p2", arp(2, mac(2), [192, 168, 1, 2], mac(1), [192, 168, 1, 1], mac(1))),
        ("p1", udp(ep(1, 1000), ep(2, 53), None)),
        ("p2", udp(ep(2, 53), ep(1, 1000), None)),
    ];
    assert_same(&Case { ports: &[("p1", 1), ("p2", 2), ("p3", 3)], flows, packets });
}

#[test]
fn conntrack_commit_with_mark() {
    let flows = "\
table=0,priority=100,ip,actions=ct(table=1,zone=5)
table=0,priority=0,actions=drop
table=1,priority=100,ct_state=+new+trk,ip,in_port=1,actions=ct(commit,zone=5,exec(set_field:0x1->ct_mark)),output:2
table=1,priority=100,ct_state=+est+trk,ct_mark=0x1,ip,in_port=1,actions=output:2
table=1,priority=100,ct_state=+est+trk,ct_mark=0x1,ip,in_port=2,actions=output:1
table=1,priority=0,actions=drop
"
    .to_string();
    let packets = tcp_conversation("p1", ep(1, 40000), "p2", ep(2, 80));
    assert_same(&Case { ports: &[("p1", 1), ("p2", 2)], flows, packets });
}

#[test]
fn registers_and_resubmits() {
    let flows = "\
table=0,priority=10,ip,in_port=1,actions=load:0x2->NXM_NX_REG1[],move:NXM_OF_IP_DST[0..7]->NXM_NX_REG2[0..7],resubmit(,10)
table=0,priority=10,in_port=2,actions=load:0x1->NXM_NX_REG1[],resubmit(,10)
table=10,priority=20,reg2=0x63,actions=drop
table=10,priority=10,ip,actions=output:NXM_NX_REG1[]
"
    .to_string();
    let packets = vec![
        ("p1", udp(ep(1, 1000), ep(2, 53), None)),
        ("p2", udp(ep(2, 53), ep(1, 1000), None)),
        ("p1", udp(ep(1, 1000), ep(99, 53), None)),
    ];
    assert_same(&Case { ports: &[("p1", 1), ("p2", 2)], flows, packets });
}

#[test]
fn conjunctive_match() {
    let flows = "\
priority=100,ip,nw_src=192.168.1.1,actions=conjunction(7,1/2)
priority=100,ip,nw_src=192.168.1.3,actions=conjunction(7,1/2)
priority=100,udp,tp_dst=53,actions=conjunction(7,2/2)
priority=100,conj_id=7,ip,actions=output:2
priority=0,actions=drop
"
    .to_string();
    let packets = vec![
        ("p1", udp(ep(1, 1000), ep(2, 53), None)),
        ("p1", udp(ep(3, 1000), ep(2, 80), None)),
        ("p1", udp(ep(4, 1000), ep(2, 53), None)),
    ];
    assert_same(&Case { ports: &[("p1", 1), ("p2", 2)], flows, packets });
}

#[test]
fn vlan_push_and_pop() {
    let flows = "\
priority=10,in_port=1,actions=push_vlan:0x8100,mod_vlan_vid:10,output:2
priority=10,in_port=2,dl_vlan=10,actions=strip_vlan,output:1
priority=0,actions=drop
"
    .to_string();
    let packets = vec![("p1", udp(ep(1, 1000), ep(2, 53), None)), ("p2", udp(ep(2, 53), ep(1, 1000), Some(10)))];
    assert_same(&Case { ports: &[("p1", 1), ("p2", 2)], flows, packets });
}
