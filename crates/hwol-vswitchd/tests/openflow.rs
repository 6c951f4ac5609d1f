//! `ovs-ofctl` (Debian's real binary) against the running daemon's bridge
//! socket `<rundir>/br-int.mgmt`: show lists the node's port with its MAC,
//! dump-flows sees the pipeline the node installed (the same flows
//! `ovs-appctl bridge/dump-flows` lists), add-flow/del-flows --strict change
//! the bridge, and packet-out puts a frame on the wire.
//!
//! Needs root (a veth pair) and openvswitch-common (CI installs both).

mod common;

use std::process::Command;

use common::Rig;

fn ofctl(rig: &Rig, version: &str, args: &[&str]) -> String {
    let target = format!("unix:{}", rig.dir.join("br-int.mgmt").display());
    let n_opts = args.iter().take_while(|a| a.starts_with('-')).count();
    let out = Command::new("ovs-ofctl")
        .arg("--timeout=10")
        .args(["-O", version])
        .args(&args[..n_opts])
        .arg(args[n_opts])
        .arg(&target)
        .args(&args[n_opts + 1..])
        .output()
        .expect("run ovs-ofctl (install openvswitch-common)");
    assert!(out.status.success(), "ovs-ofctl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Flow lines without durations, ages and actions (the wire dialect prints
/// goto_table as resubmit in OpenFlow 1.0), sorted.
fn flows_of(text: &str) -> Vec<String> {
    let mut v: Vec<String> = text
        .lines()
        .filter(|l| l.starts_with(" cookie="))
        .map(|l| {
            l.split(" actions=")
                .next()
                .unwrap_or("")
                .split(", ")
                .filter(|f| !f.starts_with("duration=") && !f.starts_with("idle_age=") && !f.starts_with("hard_age="))
                .collect::<Vec<_>>()
                .join(", ")
        })
        .collect();
    v.sort();
    v
}

fn sysfs(dev: &str, file: &str) -> String {
    std::fs::read_to_string(format!("/sys/class/net/{dev}/{file}")).unwrap().trim().to_string()
}

#[test]
fn ovs_ofctl_drives_the_daemon() {
    let tag = format!("{}", std::process::id() % 100000);
    let a = format!("hof{tag}");
    let mut rig = Rig::new(&format!("of{tag}"));
    rig.veth(&a);
    rig.start();
    assert_eq!(
        rig.appctl(&["hwol/pod-add", &a, "default", "pod-a", "c0ffee01", "02:77:00:00:00:10", "10.77.0.10"]).unwrap(),
        "ofport=1\n"
    );

    for v in ["OpenFlow10", "OpenFlow13", "OpenFlow15"] {
        let show = ofctl(&rig, v, &["show"]);
        assert!(show.contains(&format!(" 1({a}): addr:{}", sysfs(&a, "address"))), "{v}:\n{show}");
    }

    // The bridge by name, found through OVS_RUNDIR as ovs-ofctl finds OVS's.
    let by_name = Command::new("ovs-ofctl")
        .env("OVS_RUNDIR", &rig.dir)
        .args(["--timeout=10", "show", "br-int"])
        .output()
        .unwrap();
    assert!(by_name.status.success(), "{}", String::from_utf8_lossy(&by_name.stderr));
    assert!(String::from_utf8_lossy(&by_name.stdout).contains(&format!(" 1({a})")));

    // The pipeline, through OpenFlow and through unixctl.
    let wire = ofctl(&rig, "OpenFlow10", &["dump-flows"]);
    let unixctl = rig.appctl(&["bridge/dump-flows", "br-int"]).unwrap();
    assert!(!flows_of(&unixctl).is_empty());
    assert_eq!(flows_of(&wire), flows_of(&unixctl));

    // add-flow, then a strict delete of exactly that flow.
    ofctl(&rig, "OpenFlow13", &["add-flow", "table=99,priority=7,cookie=0x77,ip,nw_dst=10.9.9.9,actions=output:1"]);
    let dump = ofctl(&rig, "OpenFlow13", &["dump-flows", "cookie=0x77/-1"]);
    assert!(dump.contains("table=99") && dump.contains("nw_dst=10.9.9.9 actions=output:1"), "{dump}");
    assert!(rig.appctl(&["bridge/dump-flows", "br-int"]).unwrap().contains("cookie=0x77"));
    ofctl(&rig, "OpenFlow13", &["--strict", "del-flows", "table=99,priority=7,ip,nw_dst=10.9.9.9"]);
    assert!(!rig.appctl(&["bridge/dump-flows", "br-int"]).unwrap().contains("cookie=0x77"));

    // A strict delete over OpenFlow 1.0 (16-bit NXM in_port) removes a flow
    // the node installed from text (32-bit in_port mask): the masks agree.
    let pod_flow = |rig: &Rig| {
        rig.appctl(&["bridge/dump-flows", "br-int"])
            .unwrap()
            .lines()
            .filter(|l| l.contains("priority=190,in_port=1 "))
            .count()
    };
    assert_eq!(pod_flow(&rig), 1, "{}", rig.appctl(&["bridge/dump-flows", "br-int"]).unwrap());
    ofctl(&rig, "OpenFlow10", &["--strict", "--flow-format=nxm", "del-flows", "table=0,priority=190,in_port=1"]);
    assert_eq!(pod_flow(&rig), 0);

    // packet-out: the frame leaves through the port (its peer receives it).
    let peer = format!("{a}p");
    Command::new("ip").args(["link", "set", &peer, "up"]).status().unwrap();
    let before: u64 = sysfs(&peer, "statistics/rx_packets").parse().unwrap();
    let frame = "ffffffffffff0277000000100800450000140000000040ff00000a4d000a0a4d00ff";
    ofctl(&rig, "OpenFlow13", &["packet-out", "CONTROLLER", "output:1", frame]);
    let t = std::time::Instant::now();
    while sysfs(&peer, "statistics/rx_packets").parse::<u64>().unwrap() == before {
        assert!(t.elapsed() < std::time::Duration::from_secs(5), "the packet-out frame did not arrive on {peer}");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let ports = ofctl(&rig, "OpenFlow13", &["dump-ports", "1"]);
    assert!(ports.contains("port  1: rx pkts="), "{ports}");
}
