//! System tests: a real `ovs-vswitchd` (dummy datapath) in a private
//! directory. They fail, rather than skip, when OVS is not installed: the
//! error says to run scripts/setup.sh.

use hwol_ovs_harness::frame::{Endpoint, TcpConversation};
use hwol_ovs_harness::{HarnessError, Ovs};
use hwol_wire::EthAddr;
use std::net::Ipv4Addr;

fn start() -> Ovs {
    Ovs::start().unwrap_or_else(|e| panic!("cannot start a private Open vSwitch: {e}"))
}

/// Two ports, a two-rule table: the megaflow OVS installs for a packet
/// matches exactly the fields the rules looked at.
#[test]
fn two_rule_table_gives_expected_megaflow() {
    let ovs = start();
    ovs.add_bridge("br-two").unwrap();
    ovs.add_port("br-two", "p1", 1).unwrap();
    ovs.add_port("br-two", "p2", 2).unwrap();
    ovs.add_flows("br-two", "priority=10,in_port=1,ip,nw_dst=10.0.0.0/24 actions=output:2\npriority=0 actions=drop\n")
        .unwrap();

    // "br-two" has no digits, so it takes datapath port 1 and p1 moves up.
    let dp = ovs.dp_ports().unwrap();
    assert_eq!((dp["br-two"], dp["p1"], dp["p2"]), (1, 2, 3), "{dp:?}");

    ovs.receive(
        "p1",
        "in_port(2),eth(src=50:54:00:00:00:01,dst=50:54:00:00:00:02),eth_type(0x0800),\
         ipv4(src=10.0.0.1,dst=10.0.0.2,proto=6,tos=0,ttl=64,frag=no),tcp(src=1000,dst=80),tcp_flags(syn)",
    )
    .unwrap();
    let flows = ovs.dump_flows().unwrap();
    assert_eq!(flows.len(), 1, "one packet, one megaflow: {flows:#?}");
    let flow = &flows[0];
    assert!(
        flow.starts_with(
            "recirc_id(0),in_port(2),packet_type(ns=0,id=0),eth_type(0x0800),\
             ipv4(dst=10.0.0.2/255.255.255.0,frag=no), "
        ),
        "megaflow keeps only in_port, eth_type and the /24 of nw_dst: {flow}"
    );
    assert!(flow.ends_with("actions:3"), "output to OpenFlow port 2 is datapath port 3: {flow}");

    // A packet the first rule does not match is dropped. The nw_dst prefix
    // trie proves the miss with the first 13 bits (10.0.x.x and 10.9.x.x
    // differ in bit 13), so the drop megaflow is wider than /24.
    ovs.receive(
        "p1",
        "in_port(2),eth(src=50:54:00:00:00:01,dst=50:54:00:00:00:02),eth_type(0x0800),\
         ipv4(src=10.0.0.1,dst=10.9.0.2,proto=17,tos=0,ttl=64,frag=no),udp(src=1,dst=2)",
    )
    .unwrap();
    let flows = ovs.dump_flows().unwrap();
    assert_eq!(flows.len(), 2, "{flows:#?}");
    assert!(
        flows.iter().any(|f| f.contains("ipv4(dst=10.9.0.2/255.248.0.0,frag=no)") && f.ends_with("actions:drop")),
        "{flows:#?}"
    );

    ovs.del_dp_flows().unwrap();
    assert!(ovs.dump_flows().unwrap().is_empty(), "del_dp_flows empties the datapath");
}

/// Real frames with consistent sequence numbers get through conntrack:
/// the handshake's third packet is established, not invalid.
#[test]
fn tcp_handshake_frames_are_tracked_as_established() {
    let ovs = start();
    ovs.add_bridge("br7").unwrap();
    ovs.add_port("br7", "p1", 1).unwrap();
    ovs.add_port("br7", "p2", 2).unwrap();
    let dp = ovs.dp_ports().unwrap();
    assert_eq!((dp["br7"], dp["p1"], dp["p2"]), (107, 1, 2), "{dp:?}");
    ovs.add_flows(
        "br7",
        "table=0,priority=10,ip actions=ct(table=1,zone=7)
         table=1,priority=20,ct_state=+new+trk,ip,in_port=1 actions=ct(commit,zone=7),output:2
         table=1,priority=10,ct_state=+est+trk,ip,in_port=1 actions=output:2
         table=1,priority=10,ct_state=+est+trk,ip,in_port=2 actions=output:1",
    )
    .unwrap();
    let a = Endpoint { mac: EthAddr([0x50, 0x54, 0, 0, 0, 1]), ip: Ipv4Addr::new(10, 0, 0, 1), port: 40000 };
    let b = Endpoint { mac: EthAddr([0x50, 0x54, 0, 0, 0, 2]), ip: Ipv4Addr::new(10, 0, 0, 2), port: 80 };
    let mut tcp = TcpConversation::new(a, b);
    ovs.receive_frame("p1", &tcp.syn()).unwrap();
    ovs.receive_frame("p2", &tcp.syn_ack()).unwrap();
    ovs.receive_frame("p1", &tcp.ack()).unwrap();

    let conns = ovs.appctl(&["dpctl/dump-conntrack"]).unwrap();
    assert!(conns.contains("zone=7,protoinfo=(state=ESTABLISHED)"), "{conns}");
    let flows = ovs.dump_flows().unwrap();
    let est_from_p1 =
        flows.iter().filter(|f| f.contains("in_port(1)") && f.starts_with("ct_state(-new+est+trk)")).count();
    assert_eq!(est_from_p1, 1, "the ACK took the established path: {flows:#?}");
}

/// Errors name the command, its exit status and what OVS said.
#[test]
fn command_failure_names_the_command_and_stderr() {
    let ovs = start();
    ovs.add_bridge("br-err").unwrap();
    let err = ovs.add_flows("br-err", "priority=1,no_such_field=3 actions=drop").unwrap_err();
    let HarnessError::Command { command, stderr, .. } = &err else { panic!("wrong error kind: {err}") };
    assert!(command.contains("add-flows br-err -"), "{command}");
    assert!(stderr.contains("no_such_field"), "{stderr}");
    assert!(err.to_string().contains("failed (exit status: 1)"), "{err}");
}

/// Dropping the handle kills both daemons and removes the directory.
#[test]
fn drop_removes_private_dir() {
    let ovs = start();
    let dir = ovs.dir().to_path_buf();
    let pid: u32 = std::fs::read_to_string(dir.join("ovs-vswitchd.pid")).unwrap().trim().parse().unwrap();
    assert!(dir.join("db.sock").exists());
    drop(ovs);
    assert!(!dir.exists(), "{} should be gone", dir.display());
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Gone, or at worst a zombie not yet reaped by someone else: never running.
    assert!(stat.is_empty() || stat.contains(") Z "), "ovs-vswitchd {pid} still running: {stat}");
}

/// A panicking test still kills the daemons and removes the directory.
#[test]
fn panic_still_cleans_up() {
    let mut dir = None;
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let ovs = start();
        dir = Some(ovs.dir().to_path_buf());
        panic!("test failure while OVS runs");
    }));
    assert!(result.is_err());
    let dir = dir.unwrap();
    assert!(!dir.exists(), "{} should be gone", dir.display());
}
