//! ADD/DEL 200 times with failures injected at every step of ADD (with and
//! without the plugin's own rollback, i.e. as if it were killed), with the
//! netns sometimes gone before DEL, portmap and bandwidth sometimes given
//! work, the pod's MAC (Multus' `mac` capability) and MTU sometimes set;
//! after every round nothing may be left: no address held by host-local, no
//! plugin record, no switch port or pod flow, no qdisc or ifb device, every
//! VF and representor back on the host under its own name, MAC and MTU.
//! Then concurrent ADDs and DELs of different pods. No traffic here, so it
//! stays quick.
//!
//! Needs root (CI runs as root); it fails, rather than skips, without it.

mod common;

use common::{seed_conflist, sh, Node, PortmapChains, Runtime};
use serde_json::json;

const STEPS: [Option<&str>; 7] =
    [None, Some("record"), Some("ipam"), Some("move"), Some("configure"), Some("rename"), Some("attach")];

#[test]
fn add_del_200_times_with_failures_injected_leaks_nothing() {
    let _chains = PortmapChains::new();
    let mut node = Node::new("hcc", 2, "none");
    let rt = Runtime::new(&node.dir);
    let base_flows = node.n_flows();
    let id = std::process::id();
    let (mut ok, mut failed) = (0, 0);
    for i in 0..200usize {
        let step = STEPS[i % STEPS.len()];
        let hard = (i / STEPS.len()) % 2 == 1;
        let vf_mode = i % 3 != 2;
        let mut extra = json!({});
        if let Some(s) = step {
            extra = json!({"debugFailAfter": s, "debugNoRollback": hard});
        }
        let mtu = (i % 10 == 3 || i % 10 == 7).then_some(1400);
        if let Some(m) = mtu {
            extra["mtu"] = json!(m);
        }
        let version = if i % 5 == 0 { "0.3.1" } else { "1.0.0" };
        let list = seed_conflist(version, &node, extra);
        let name = format!("churn-pod-{i}");
        let mut pod = node.pod(&name, &format!("{id:x}c{i}"), vf_mode.then_some(i % 2));
        if i % 10 == 4 {
            pod.capability_args.insert("bandwidth".into(), json!({"ingressRate": 100_000_000, "ingressBurst": 1_000_000, "egressRate": 100_000_000, "egressBurst": 1_000_000}));
        }
        if i % 10 == 6 || i % 10 == 3 {
            pod.capability_args.insert("mac".into(), json!(format!("02:cc:00:00:{:02x}:{:02x}", i / 256, i % 256)));
        }
        if i % 10 == 8 {
            pod.capability_args.insert(
                "portMappings".into(),
                json!([{"hostPort": 18000 + i, "containerPort": 80, "protocol": "tcp"}]),
            );
        }
        let what = format!("round {i} (fail after {step:?}, no rollback {hard}, VF mode {vf_mode}, {version})");
        match rt.add(&list, &pod) {
            Ok(r) => {
                assert_eq!(step, None, "{what}: ADD succeeded despite the injected failure");
                ok += 1;
                if let Some(m) = mtu {
                    let inside = sh("ip", &["netns", "exec", &pod.netns_name, "cat", "/sys/class/net/eth0/mtu"]);
                    assert_eq!(inside.trim(), m.to_string(), "{what}: pod MTU");
                    let host = hwol_cni::names::host_ifname(Some(&name), &pod.container_id);
                    assert_eq!(
                        sh("cat", &[&format!("/sys/class/net/{host}/mtu")]).trim(),
                        m.to_string(),
                        "{what}: host MTU"
                    );
                }
                if let Some(m) = pod.capability_args.get("mac") {
                    assert_eq!(&r["interfaces"][1]["mac"], m, "{what}: the pod's MAC is not the one asked for");
                    let inside = sh("ip", &["netns", "exec", &pod.netns_name, "cat", "/sys/class/net/eth0/address"]);
                    assert_eq!(inside.trim(), m.as_str().unwrap(), "{what}");
                }
                if version != "0.3.1" {
                    rt.check(&list, &pod, &r).unwrap_or_else(|e| panic!("{what}: CHECK {e:?}"));
                }
                // Sometimes the runtime deletes the sandbox before the network (veth mode:
                // an emulated VF would go with the netns).
                if !vf_mode && i % 4 == 1 {
                    sh("ip", &["netns", "del", &pod.netns_name]);
                }
                rt.del(&list, &pod, Some(&r)).unwrap_or_else(|e| panic!("{what}: DEL {e:?}"));
            }
            Err(e) => {
                // The runtime already ran DEL on the chain (common::Runtime::add).
                assert!(step.is_some(), "{what}: ADD failed: {e:?}\n{}", node.daemon_log());
                assert_eq!(e.plugin, "hwol-cni", "{what}: {e:?}");
                assert_eq!(e.code(), 107, "{what}: {e:?}");
                failed += 1;
            }
        }
        node.assert_clean(base_flows, &what);
        let _ = std::process::Command::new("ip").args(["netns", "del", &pod.netns_name]).status();
    }
    assert!(ok >= 25 && failed >= 150, "ok {ok}, failed {failed}");
    let nat = sh("iptables-save", &["-t", "nat"]);
    assert!(!nat.contains(&format!("{id:x}c")), "portmap rules left:\n{nat}");
}

#[test]
fn concurrent_adds_and_dels_of_different_pods() {
    let mut node = Node::new("hcp", 2, "none");
    let rt = Runtime::new(&node.dir);
    let base_flows = node.n_flows();
    let list = seed_conflist("1.0.0", &node, json!({}));
    let id = std::process::id();
    // Two VF pods and six veth pods, all at once; then all deleted at once.
    let pods: Vec<_> =
        (0..8).map(|i| node.pod(&format!("par-{i}"), &format!("{id:x}p{i}"), (i < 2).then_some(i))).collect();
    let results: Vec<_> = std::thread::scope(|s| {
        let hs: Vec<_> = pods.iter().map(|p| s.spawn(|| rt.add(&list, p))).collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let results: Vec<_> = results.into_iter().map(|r| r.unwrap_or_else(|e| panic!("{e:?}"))).collect();
    let mut ips: Vec<String> = results.iter().map(|r| r["ips"][0]["address"].as_str().unwrap().to_string()).collect();
    ips.sort();
    ips.dedup();
    assert_eq!(ips.len(), 8, "every pod got its own address");
    assert_eq!(node.appctl(&["hwol/ports"]).unwrap().lines().count(), 8);
    std::thread::scope(|s| {
        for (p, r) in pods.iter().zip(&results) {
            let rt = &rt;
            let list = &list;
            s.spawn(move || rt.del(list, p, Some(r)).unwrap());
        }
    });
    node.assert_clean(base_flows, "after concurrent DELs");
}
