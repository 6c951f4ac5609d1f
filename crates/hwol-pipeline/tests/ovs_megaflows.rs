//! System test: the generated pipeline in a real Open vSwitch 3.1 (dummy
//! datapath, private instance) gives the seed's megaflow shapes for
//! pod-to-pod TCP.
//!
//! Needs the OVS binaries (scripts/setup.sh installs them); fails, not
//! skips, without them. `HWOL_UPDATE_FIXTURES=1` rewrites
//! `tests/data/ovs31_pod_pipeline_dump.txt` from the live run; otherwise the
//! live dump must equal the fixture (ignoring statistics and order).

use std::collections::BTreeMap;

use hwol_flow::{ct_state, Action, CtAction, Masked};
use hwol_odp::{parse_flow, KeyAttr, OdpFlow, PortNames};
use hwol_ovs_harness::frame::{Endpoint, Side, TcpConversation};
use hwol_ovs_harness::Ovs;
use hwol_pipeline::{Pipeline, PipelineConfig, Port, DEFAULT_CT_ZONE};

const BRIDGE: &str = "br0";
const POD_FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/ovs31_pod_pipeline_dump.txt");
const GATEWAY_FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/ovs31_gateway_pipeline_dump.txt");

/// The seed's pods: rep1 = 192.168.1.16 (iperf client), rep2 =
/// 192.168.1.17 (server), and the node gateway.
fn config() -> PipelineConfig {
    PipelineConfig::seed_example()
}

/// Start OVS with the pipeline loaded; datapath port numbers equal the
/// OpenFlow ones (checked), so flows can be read either way.
fn ovs_with_pipeline(c: &PipelineConfig) -> Ovs {
    let ovs = Ovs::start().unwrap_or_else(|e| panic!("cannot start a private Open vSwitch: {e}"));
    ovs.add_bridge(BRIDGE).unwrap();
    for p in c.pods.iter().chain([&c.gateway]) {
        ovs.add_port(BRIDGE, &p.name, p.ofport).unwrap();
    }
    let dp = ovs.dp_ports().unwrap();
    for p in c.pods.iter().chain([&c.gateway]) {
        assert_eq!(dp[&p.name], u32::from(p.ofport), "datapath port of {}: {dp:?}", p.name);
    }
    let pipeline = Pipeline::build(c).unwrap();
    ovs.add_flows(BRIDGE, &pipeline.to_ofctl_text()).unwrap();
    let loaded = ovs.ofctl(&["dump-flows", BRIDGE]).unwrap();
    let n = loaded.lines().filter(|l| l.contains("actions=")).count();
    assert_eq!(n, pipeline.flows.len(), "OVS holds every generated flow:\n{loaded}");
    ovs
}

fn endpoint(p: &Port, tcp_port: u16) -> Endpoint {
    Endpoint { mac: p.mac, ip: p.ip, port: tcp_port }
}

fn attr<'a>(f: &'a OdpFlow, name: &str) -> Option<&'a KeyAttr> {
    f.key.attrs.iter().find(|a| a.name() == name)
}

fn names(f: &OdpFlow) -> Vec<&'static str> {
    f.key.attrs.iter().map(KeyAttr::name).collect()
}

fn recirc_id(f: &OdpFlow) -> u32 {
    match attr(f, "recirc_id") {
        Some(KeyAttr::RecircId(m)) => m.value,
        _ => 0,
    }
}

fn in_port(f: &OdpFlow) -> Option<u32> {
    match attr(f, "in_port") {
        Some(KeyAttr::InPort(m)) if m.mask == u32::MAX => Some(m.value),
        _ => None,
    }
}

fn ct_state_of(f: &OdpFlow) -> Option<Masked<u32>> {
    match attr(f, "ct_state") {
        Some(KeyAttr::CtState(m)) => Some(*m),
        _ => None,
    }
}

const EXACT4: [u8; 4] = [0xff; 4];
const EXACT6: [u8; 6] = [0xff; 6];
const FRAG_NO: Masked<u8> = Masked { value: hwol_odp::key::frag::NONE, mask: 0xff };

fn ct(commit: bool) -> Action {
    Action::Ct(CtAction { commit, zone: DEFAULT_CT_ZONE, ..CtAction::default() })
}

/// First pass of `src`'s packets: source MAC and IP only, then conntrack.
/// Returns the recirculation id.
fn assert_first_pass(flows: &[OdpFlow], src: &Port) -> u32 {
    let port = u32::from(src.ofport);
    let first: Vec<&OdpFlow> = flows.iter().filter(|f| recirc_id(f) == 0 && in_port(f) == Some(port)).collect();
    assert_eq!(first.len(), 1, "one first-pass megaflow from {}: {first:#?}", src.name);
    let f = first[0];
    assert_eq!(names(f), ["recirc_id", "in_port", "packet_type", "eth", "eth_type", "ipv4"], "{f:?}");
    let Some(KeyAttr::Eth(eth)) = attr(f, "eth") else { unreachable!() };
    assert_eq!(eth.src, Masked::new(src.mac.0, EXACT6), "eth(src=<pod mac>)");
    assert_eq!(eth.dst.mask, [0; 6], "dl_dst stays wildcarded");
    assert_eq!(attr(f, "eth_type"), Some(&KeyAttr::EthType(Masked::new(0x0800, 0xffff))));
    let Some(KeyAttr::Ipv4(ip)) = attr(f, "ipv4") else { unreachable!() };
    assert_eq!(ip.src, Masked::new(src.ip.octets(), EXACT4), "ipv4(src=<pod ip>)");
    assert_eq!(ip.frag, FRAG_NO);
    assert_eq!([ip.dst.mask, [ip.proto.mask, ip.tos.mask, ip.ttl.mask, 0]], [[0; 4]; 2], "nothing else of ipv4");
    match f.actions.as_slice() {
        [a, Action::Recirc(r)] if *a == ct(false) => *r,
        other => panic!("expected ct(zone=65520),recirc(..), got {other:?}"),
    }
}

/// Established packets after recirculation: destination MAC and the subnet.
fn assert_established(flows: &[OdpFlow], src: &Port, dst: &Port, recirc: u32) {
    let est_trk = u32::from(ct_state::EST | ct_state::TRK);
    let est: Vec<&OdpFlow> = flows
        .iter()
        .filter(|f| recirc_id(f) == recirc && ct_state_of(f).is_some_and(|m| m.value & est_trk == est_trk))
        .collect();
    assert_eq!(est.len(), 1, "one established megaflow {} -> {}: {est:#?}", src.name, dst.name);
    let f = est[0];
    assert_eq!(
        names(f),
        ["ct_state", "ct_mark", "recirc_id", "in_port", "packet_type", "eth", "eth_type", "ipv4"],
        "{f:?}"
    );
    assert_eq!(ct_state_of(f), Some(Masked::new(est_trk, est_trk)), "ct_state(+est+trk) and nothing else");
    assert_eq!(attr(f, "ct_mark"), Some(&KeyAttr::CtMark(Masked::new(0, u32::MAX))), "ct_mark(0)");
    assert_eq!(in_port(f), Some(u32::from(src.ofport)));
    let Some(KeyAttr::Eth(eth)) = attr(f, "eth") else { unreachable!() };
    assert_eq!((eth.dst, eth.src.mask), (Masked::new(dst.mac.0, EXACT6), [0; 6]), "eth(dst=<peer mac>)");
    let Some(KeyAttr::Ipv4(ip)) = attr(f, "ipv4") else { unreachable!() };
    assert_eq!(ip.dst, Masked::new(dst.ip.octets(), [255, 255, 255, 0]), "ipv4(dst=<subnet>/24), not /32");
    assert_eq!(ip.src.mask, [0; 4]);
    assert_eq!(ip.frag, FRAG_NO);
    assert_eq!(f.actions, [Action::Output(u32::from(dst.ofport))]);
    // The miss that installed it was the handshake; the data segment hit it.
    assert!(f.stats.is_some_and(|s| s.packets >= 1), "data used the megaflow: {f:?}");
}

fn parse_all(lines: &[String]) -> Vec<OdpFlow> {
    lines.iter().map(|l| parse_flow(l, &mut PortNames::new()).unwrap_or_else(|e| panic!("{l}: {e}"))).collect()
}

/// Key and actions of each flow, statistics dropped, sorted.
fn without_stats(flows: &[OdpFlow]) -> Vec<String> {
    let mut out: Vec<String> = flows
        .iter()
        .map(|f| {
            let mut f = f.clone();
            f.stats = None;
            f.format_as_parsed(&PortNames::new())
        })
        .collect();
    out.sort();
    out
}

#[test]
fn pod_to_pod_tcp_gives_the_seed_megaflows() {
    let c = config();
    let ovs = ovs_with_pipeline(&c);
    let (client, server) = (&c.pods[0], &c.pods[1]);
    let mut tcp = TcpConversation::new(endpoint(client, 43558), endpoint(server, 5201));
    let script: [(&Port, Vec<u8>); 5] = [
        (client, tcp.syn()),
        (server, tcp.syn_ack()),
        (client, tcp.ack()),
        (client, tcp.data(Side::Client, b"hello from 192.168.1.16")),
        (server, tcp.data(Side::Server, b"hello from 192.168.1.17")),
    ];
    for (from, frame) in &script {
        ovs.receive_frame(&from.name, frame).unwrap();
    }
    let conns = ovs.appctl(&["dpctl/dump-conntrack"]).unwrap();
    assert!(
        conns.contains("orig=(src=192.168.1.16,dst=192.168.1.17,sport=43558,dport=5201)")
            && conns.contains("zone=65520,protoinfo=(state=ESTABLISHED)"),
        "{conns}"
    );

    let lines = ovs.dump_flows().unwrap();
    let flows = parse_all(&lines);
    let recirc_client = assert_first_pass(&flows, client);
    let recirc_server = assert_first_pass(&flows, server);
    assert_ne!(recirc_client, recirc_server);
    assert_established(&flows, client, server, recirc_client);
    assert_established(&flows, server, client, recirc_server);

    // The SYN's second pass: new connection, committed, forwarded.
    let new_trk = u32::from(ct_state::NEW | ct_state::TRK);
    let new: Vec<&OdpFlow> =
        flows.iter().filter(|f| ct_state_of(f).is_some_and(|m| m.value & new_trk == new_trk)).collect();
    assert_eq!(new.len(), 1, "{new:#?}");
    assert_eq!(in_port(new[0]), Some(u32::from(client.ofport)));
    assert_eq!(new[0].actions, [ct(true), Action::Output(u32::from(server.ofport))]);
    assert_eq!(flows.len(), 5, "two first-pass, two established, one new: {lines:#?}");

    check_fixture(
        POD_FIXTURE,
        "sending SYN, SYN-ACK, ACK, client data, server data (192.168.1.16:43558 ->\n\
         # 192.168.1.17:5201) through netdev-dummy/receive as hex frames.",
        &c,
        &lines,
    );
}

/// With `HWOL_UPDATE_FIXTURES` set, write `lines` to `path`; otherwise
/// check they equal its flows, statistics and order aside.
fn check_fixture(path: &str, what: &str, c: &PipelineConfig, lines: &[String]) {
    if std::env::var_os("HWOL_UPDATE_FIXTURES").is_some() {
        write_fixture(path, what, c, lines);
        return;
    }
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let fixture: Vec<String> =
        text.lines().filter(|l| !l.starts_with('#') && !l.is_empty()).map(String::from).collect();
    assert_eq!(
        without_stats(&parse_all(&fixture)),
        without_stats(&parse_all(lines)),
        "OVS's megaflows differ from {path}; if OVS changed, rerun with HWOL_UPDATE_FIXTURES=1 and review the diff"
    );
}

fn write_fixture(path: &str, what: &str, c: &PipelineConfig, lines: &[String]) {
    let ports: BTreeMap<u16, &str> = c.pods.iter().chain([&c.gateway]).map(|p| (p.ofport, p.name.as_str())).collect();
    let mut out = String::from(
        "# ovs-appctl dpctl/dump-flows from Open vSwitch 3.1.0 (Debian), dummy datapath,\n\
         # after loading hwol_pipeline::Pipeline for the config in tests/ovs_megaflows.rs\n\
         # (gateway 192.168.1.1, pods 192.168.1.16 and .17, subnet 192.168.1.0/24, zone 65520)\n\
         # and ",
    );
    out.push_str(what);
    out.push_str(
        "\n# Regenerate: HWOL_UPDATE_FIXTURES=1 cargo test -p hwol-pipeline --test ovs_megaflows\n\
         # Datapath port = OpenFlow port:",
    );
    for (n, name) in ports {
        out.push_str(&format!(" {n}={name}"));
    }
    out.push('\n');
    for l in lines {
        out.push_str(l);
        out.push('\n');
    }
    std::fs::write(path, out).unwrap();
}

/// A connection from the gateway (the host) to a pod is committed with
/// `ct_mark=0x20`, and the pod's replies take the gateway-return rule.
#[test]
fn gateway_to_pod_tcp_is_marked_and_returns_to_gateway() {
    let c = config();
    let ovs = ovs_with_pipeline(&c);
    let (gw, pod) = (&c.gateway, &c.pods[1]);
    let mut tcp = TcpConversation::new(endpoint(gw, 40000), endpoint(pod, 8080));
    let script: [(&Port, Vec<u8>); 4] =
        [(gw, tcp.syn()), (pod, tcp.syn_ack()), (gw, tcp.ack()), (pod, tcp.data(Side::Server, b"reply to the host"))];
    for (from, frame) in &script {
        ovs.receive_frame(&from.name, frame).unwrap();
    }
    let conns = ovs.appctl(&["dpctl/dump-conntrack"]).unwrap();
    assert!(conns.contains("zone=65520,mark=32,protoinfo=(state=ESTABLISHED)"), "{conns}");

    let lines = ovs.dump_flows().unwrap();
    let flows = parse_all(&lines);
    let (gw_port, pod_port) = (u32::from(gw.ofport), u32::from(pod.ofport));

    // The gateway is not spoof-guarded: its first pass matches no address.
    let first_gw: Vec<&OdpFlow> = flows.iter().filter(|f| recirc_id(f) == 0 && in_port(f) == Some(gw_port)).collect();
    assert_eq!(first_gw.len(), 1, "{lines:#?}");
    assert_eq!(names(first_gw[0]), ["recirc_id", "in_port", "packet_type", "eth_type", "ipv4"]);

    // The gateway's SYN is committed with the mark.
    let commit = flows
        .iter()
        .find(|f| matches!(f.actions.first(), Some(Action::Ct(ct)) if ct.commit))
        .unwrap_or_else(|| panic!("no commit flow: {lines:#?}"));
    let Some(Action::Ct(ct)) = commit.actions.first() else { unreachable!() };
    assert_eq!(ct.mark, Some(Masked::new(0x20, u32::MAX)), "{commit:?}");
    assert_eq!(in_port(commit), Some(gw_port));

    // The pod's established replies match the mark and go to the gateway.
    let replies: Vec<&OdpFlow> = flows
        .iter()
        .filter(|f| {
            in_port(f) == Some(pod_port) && attr(f, "ct_mark") == Some(&KeyAttr::CtMark(Masked::new(0x20, u32::MAX)))
        })
        .collect();
    assert_eq!(replies.len(), 1, "{lines:#?}");
    assert_eq!(replies[0].actions.last(), Some(&Action::Output(gw_port)));

    check_fixture(
        GATEWAY_FIXTURE,
        "sending SYN, SYN-ACK, ACK from the gateway (192.168.1.1:40000 -> 192.168.1.17:8080)\n\
         # and a data segment from the pod, through netdev-dummy/receive as hex frames.",
        &c,
        &lines,
    );
}
