//! Ports and pods through the daemon's control socket, as the CNI plugin
//! drives them: attach, show, detach, and re-attach after a restart. Runs the
//! real daemon (provider none) on veth pairs with unique names.
//!
//! Needs root (CI runs as root); it fails, rather than skips, without it.

mod common;

use common::Rig;

/// The bridge's OpenFlow rules, as `ovs-appctl bridge/dump-flows` lists them.
fn n_flows(rig: &Rig) -> usize {
    rig.appctl(&["bridge/dump-flows", "br-int"]).unwrap().lines().count()
}

#[test]
fn pods_attach_show_detach_and_survive_a_restart() {
    let tag = format!("{}", std::process::id() % 100000);
    let (a, b) = (format!("hpa{tag}"), format!("hpb{tag}"));
    let mut rig = Rig::new(&tag);
    rig.veth(&a);
    rig.veth(&b);
    rig.start();
    let base = n_flows(&rig);
    assert!(base > 0, "the base pipeline is installed at start");

    let out = rig.appctl(&["hwol/pod-add", &a, "default", "pod-a", "c0ffee01", "02:77:00:00:00:10", "10.77.0.10"]);
    assert_eq!(out.unwrap(), "ofport=1\n");
    let with_a = n_flows(&rig);
    assert!(with_a > base, "pod flows added ({base} -> {with_a})");
    // Idempotent.
    let again = rig.appctl(&["hwol/pod-add", &a, "default", "pod-a", "c0ffee01", "02:77:00:00:00:10", "10.77.0.10"]);
    assert_eq!(again.unwrap(), "ofport=1\n");
    assert_eq!(n_flows(&rig), with_a);
    let out = rig.appctl(&["hwol/pod-add", &b, "default", "pod-b", "c0ffee02", "02:77:00:00:00:11", "10.77.0.11"]);
    assert_eq!(out.unwrap(), "ofport=2\n");
    let with_ab = n_flows(&rig);

    let show: serde_json::Value = serde_json::from_str(&rig.appctl(&["hwol/pod-show", &a]).unwrap()).unwrap();
    assert_eq!(show["ofport"], 1);
    assert_eq!(show["external_ids"]["k8s-pod-name"], "pod-a");
    assert_eq!(show["external_ids"]["ip-address"], "10.77.0.10");

    // Bad input changes nothing and says what is wrong.
    let e = rig.appctl(&["hwol/pod-add", "nosuchdev0", "default", "x", "c", "02:77:00:00:00:12", "10.77.0.12"]);
    assert!(e.as_ref().unwrap_err().contains("nosuchdev0"), "{e:?}");
    let e = rig.appctl(&["hwol/pod-add", &format!("{b}p"), "default", "x", "c", "02:77:00:00:00:13", "10.99.0.12"]);
    assert!(e.as_ref().unwrap_err().contains("10.99.0.12"), "{e:?}");
    assert!(!rig.appctl(&["hwol/ports"]).unwrap().contains(&format!("{b}p ")), "a failed pod-add leaves no port");
    assert_eq!(n_flows(&rig), with_ab);

    // A restart (clean stop, then start) re-attaches both pods with the same flows.
    rig.stop();
    rig.start();
    assert_eq!(n_flows(&rig), with_ab);
    let ports = rig.appctl(&["hwol/ports"]).unwrap();
    assert!(ports.contains(&format!("{a} ofport=1")) && ports.contains(&format!("{b} ofport=2")), "{ports}");

    assert_eq!(rig.appctl(&["hwol/pod-del", &a]).unwrap(), "deleted\n");
    assert_eq!(rig.appctl(&["hwol/pod-del", &a]).unwrap(), "not attached\n");
    assert!(rig.appctl(&["hwol/pod-show", &a]).is_err());
    assert_eq!(rig.appctl(&["hwol/pod-del", &b]).unwrap(), "deleted\n");
    assert_eq!(n_flows(&rig), base, "no pod flows left");
    assert_eq!(rig.appctl(&["hwol/ports"]).unwrap(), "");
}
