//! The seed's check through the CNI plugin, end to end: two pods from the
//! seed's NAD (our type in place of antrea's) get VFs of the emulated NIC
//! as Multus would ask for them, iperf3 runs between them with the daemon
//! on the XDP fast path, tcpdump on pod 1's (renamed) representor sees only
//! the connection set-up, and after both DELs nothing is left. The same in
//! veth mode (no deviceID).
//!
//! Needs root (CI runs as root); it fails, rather than skips, without it.

mod common;

use std::process::{Command, Stdio};
use std::time::Duration;

use common::{seed_conflist, sh, Node, Runtime};
use serde_json::{json, Value};

fn addresses(netns: &str) -> Vec<String> {
    let j: Value = serde_json::from_str(&sh("ip", &["-n", netns, "-j", "addr", "show", "dev", "eth0"])).unwrap();
    j[0]["addr_info"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["family"] == "inet")
        .map(|a| format!("{}/{}", a["local"].as_str().unwrap(), a["prefixlen"]))
        .collect()
}

/// Packets through the slow path and in total, from the daemon's counters
/// (as scripts/demo.sh computes its verdict).
fn slow_and_total(node: &Node) -> (u64, u64) {
    let show = node.appctl(&["dpctl/show"]).unwrap();
    let lookups = show.split("lookups: ").nth(1).unwrap_or("");
    let num = |k: &str| -> u64 {
        lookups
            .split(k)
            .nth(1)
            .and_then(|r| r.split(|c: char| !c.is_ascii_digit()).next())
            .and_then(|n| n.parse().ok())
            .unwrap_or(0)
    };
    let slow = (num("hit:") + num("missed:")) / 2; // two lookups per TCP packet: ct + recirc
    let flows = node.appctl(&["dpctl/dump-flows", "type=all"]).unwrap();
    let total = flows
        .lines()
        .filter(|l| l.starts_with("recirc_id(0)"))
        .filter_map(|l| l.split("packets:").nth(1)?.split(|c: char| !c.is_ascii_digit()).next()?.parse::<u64>().ok())
        .sum();
    (slow, total)
}

/// The seed's check between pod 1 (server, 192.168.1.16, host side
/// `host1`) and pod 2: iperf3 for 3 s while tcpdump watches `host1`; at
/// least 99% of the packets bypass the slow path and tcpdump sees at most 1%.
fn seed_check(node: &Node, ns1: &str, ns2: &str, host1: &str) {
    // XDP on veth: the pod ends need NAPI (GRO) and their own checksums;
    // the plugin set that up (xdpOnVeth).
    for ns in [ns1, ns2] {
        let k = sh("ip", &["netns", "exec", ns, "ethtool", "-k", "eth0"]);
        assert!(k.contains("generic-receive-offload: on"), "{k}");
        assert!(k.contains("tx-checksum-ip-generic: off"), "{k}");
    }
    let pcap = node.dir.join(format!("{host1}.pcap"));
    let mut tcpdump = Command::new("tcpdump")
        .args(["-i", host1, "-n", "-w"])
        .arg(&pcap)
        .arg("tcp")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    sh("ip", &["netns", "exec", ns1, "iperf3", "-s", "-D", "-1"]);
    std::thread::sleep(Duration::from_millis(700));
    let iperf = Command::new("ip")
        .args(["netns", "exec", ns2, "iperf3", "-c", "192.168.1.16", "-t", "3", "-J"])
        .output()
        .unwrap();
    std::thread::sleep(Duration::from_millis(700)); // one revalidation round merges the fast path's counters
    let _ = Command::new("kill").arg(tcpdump.id().to_string()).status();
    let _ = tcpdump.wait();
    assert!(iperf.status.success(), "iperf3: {}", String::from_utf8_lossy(&iperf.stdout));
    let j: Value = serde_json::from_slice(&iperf.stdout).unwrap();
    let bytes = j["end"]["sum_received"]["bytes"].as_u64().unwrap();
    assert!(bytes > 10_000_000, "iperf3 moved only {bytes} bytes");
    let captured = sh("tcpdump", &["-r", pcap.to_str().unwrap(), "-n"]).lines().count() as u64;
    let (slow, total) = slow_and_total(node);
    let offloaded = node.appctl(&["dpctl/dump-flows", "--names", "type=offloaded"]).unwrap();
    eprintln!(
        "{host1}: {:.2} Gbit/s; slow path {slow} of {total} packets; tcpdump saw {captured}",
        j["end"]["sum_received"]["bits_per_second"].as_f64().unwrap_or(0.0) / 1e9
    );
    assert!(offloaded.contains("ct_state(+est+trk)"), "no established flow offloaded:\n{offloaded}");
    assert!(total > 1000, "too few packets counted: {total}");
    assert!(slow * 100 <= total, "slow path carried {slow} of {total} packets (more than 1%)");
    assert!(captured * 100 <= total, "tcpdump on {host1} saw {captured} of {total} packets: not offloaded");
}

#[test]
fn two_pods_on_vfs_iperf3_offloaded_then_nothing_leaks() {
    let mut node = Node::new("hce", 2, "xdp");
    let rt = Runtime::new(&node.dir);
    let list = seed_conflist("0.3.1", &node, json!({"xdpOnVeth": true}));
    let base_flows = node.n_flows();
    let id = std::process::id();
    let p1 = node.pod("ovs-offload-pod1", &format!("c1{id:x}"), Some(0));
    let p2 = node.pod("ovs-offload-pod2", &format!("c2{id:x}"), Some(1));
    let (rep1, rep2) = {
        let v = node.nic.as_ref().unwrap().vfs();
        (v[0].representor.ifname.clone(), v[1].representor.ifname.clone())
    };

    let r1 = rt.add(&list, &p1).unwrap_or_else(|e| panic!("ADD pod1: {e:?}\n{}", node.daemon_log()));
    let r2 = rt.add(&list, &p2).unwrap_or_else(|e| panic!("ADD pod2: {e:?}\n{}", node.daemon_log()));

    // The chain's result (bandwidth's, passed through from ours) in 0.3.1 shape.
    let host1 = hwol_cni::names::host_ifname(Some("ovs-offload-pod1"), &p1.container_id);
    assert_eq!(r1["cniVersion"], "0.3.1");
    assert_eq!(r1["interfaces"][0]["name"], host1.as_str());
    assert_eq!(r1["interfaces"][1]["name"], "eth0");
    assert_eq!(r1["interfaces"][1]["sandbox"], p1.netns_path().as_str());
    assert_eq!(
        r1["ips"][0],
        json!({"version": "4", "interface": 1, "address": "192.168.1.16/24", "gateway": "192.168.1.1"})
    );
    assert_eq!(r2["ips"][0]["address"], "192.168.1.17/24");
    assert_eq!(addresses(&p1.netns_name), vec!["192.168.1.16/24"]);
    assert_eq!(addresses(&p2.netns_name), vec!["192.168.1.17/24"]);
    let route = sh("ip", &["-n", &p2.netns_name, "route", "show", "default"]);
    assert!(route.contains("via 192.168.1.1 dev eth0"), "{route}");
    // The pod's MAC is the VF's; the representors carry the Antrea-style names.
    assert_eq!(
        r1["interfaces"][1]["mac"].as_str().unwrap(),
        hwol_netdev::emunic::format_mac(&node.nic.as_ref().unwrap().vfs()[0].vf_mac)
    );
    let links = Node::host_links();
    assert!(links.contains(&host1) && !links.contains(&rep1), "representor {rep1} not renamed to {host1}");
    assert!(!links.contains(&rep2));
    let show: Value = serde_json::from_str(&node.appctl(&["hwol/pod-show", &host1]).unwrap()).unwrap();
    assert_eq!(show["external_ids"]["k8s-pod-name"], "ovs-offload-pod1");
    assert_eq!(show["external_ids"]["k8s-pod-namespace"], "default");
    assert_eq!(show["external_ids"]["container-id"], p1.container_id.as_str());
    assert_eq!(show["external_ids"]["ip-address"], "192.168.1.16");

    seed_check(&node, &p1.netns_name, &p2.netns_name, &host1);

    // Delete both pods (the runtime passes no prevResult at 0.3.1) and check for leaks.
    rt.del(&list, &p2, Some(&r2)).unwrap();
    rt.del(&list, &p1, Some(&r1)).unwrap();
    node.assert_clean(base_flows, "after deleting both pods");
    let links = Node::host_links();
    assert!(links.contains(&rep1) && links.contains(&rep2), "representors not renamed back");
    // DEL again is fine.
    rt.del(&list, &p1, Some(&r1)).unwrap();
}

#[test]
fn two_pods_in_veth_mode_are_offloaded_too() {
    let mut node = Node::new("hcv", 1, "xdp");
    let rt = Runtime::new(&node.dir);
    let list = seed_conflist("1.0.0", &node, json!({"xdpOnVeth": true}));
    let base_flows = node.n_flows();
    let id = std::process::id();
    let p1 = node.pod("veth-pod1", &format!("v1{id:x}"), None);
    let p2 = node.pod("veth-pod2", &format!("v2{id:x}"), None);
    let r1 = rt.add(&list, &p1).unwrap_or_else(|e| panic!("ADD pod1: {e:?}\n{}", node.daemon_log()));
    let r2 = rt.add(&list, &p2).unwrap_or_else(|e| panic!("ADD pod2: {e:?}\n{}", node.daemon_log()));
    let host1 = hwol_cni::names::host_ifname(Some("veth-pod1"), &p1.container_id);
    assert_eq!(r1["cniVersion"], "1.0.0");
    assert_eq!(r1["interfaces"][0]["name"], host1.as_str());
    assert_eq!(r1["ips"][0], json!({"interface": 1, "address": "192.168.1.16/24", "gateway": "192.168.1.1"}));
    rt.check(&list, &p1, &r1).unwrap();
    seed_check(&node, &p1.netns_name, &p2.netns_name, &host1);
    rt.del(&list, &p1, Some(&r1)).unwrap();
    rt.del(&list, &p2, Some(&r2)).unwrap();
    node.assert_clean(base_flows, "after deleting both veth pods");
}
