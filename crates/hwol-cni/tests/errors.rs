//! What the plugin says when something is wrong, and that it then leaves
//! nothing behind: an unknown deviceID, a VF whose PF is not in switchdev
//! mode, a VF already in use, a daemon that is not running, a bad config;
//! STATUS with and without the daemon; GC of a stale attachment; CHECK
//! noticing a missing address; DEL after the plugin's records were lost.
//!
//! Needs root (CI runs as root); it fails, rather than skips, without it.

mod common;

use common::{seed_conflist, sh, Node, Runtime};
use serde_json::{json, Value};

#[test]
fn errors_are_cni_errors_that_say_what_to_fix_and_leave_nothing() {
    let mut node = Node::new("hcx", 2, "none");
    let rt = Runtime::new(&node.dir);
    let base = node.n_flows();
    let id = std::process::id();
    let list = seed_conflist("1.0.0", &node, json!({}));

    // Unknown deviceID (code 100).
    let mut p = node.pod("err-unknown", &format!("{id:x}e1"), None);
    p.device_id = Some("0000:09:00.2".into());
    let e = rt.add(&list, &p).unwrap_err();
    assert_eq!((e.plugin.as_str(), e.code()), ("hwol-cni", 100), "{e:?}");
    assert!(e.json["details"].as_str().unwrap().contains("no such PCI device"), "{e:?}");
    node.assert_clean(base, "unknown deviceID");

    // PF not in switchdev mode (code 101): a legacy-mode tree, same VFs.
    let legacy = node.dir.join("legacy-sysfs");
    let vfs: Vec<_> = node
        .nic
        .as_ref()
        .unwrap()
        .vfs()
        .iter()
        .zip(&node.vfs)
        .map(|(v, pci)| hwol_cni::device::fixture::FixtureVf {
            pci: pci.clone(),
            netdev: Some(v.vf_ifname.clone()),
            representor: Some(v.representor.ifname.clone()),
        })
        .collect();
    hwol_cni::device::fixture::write(&legacy, "0000:03:00.0", "legacypf", None, &vfs).unwrap();
    let legacy_list = seed_conflist("1.0.0", &node, json!({"sysfsRoot": legacy.display().to_string()}));
    let p = node.pod("err-legacy", &format!("{id:x}e2"), Some(0));
    let e = rt.add(&legacy_list, &p).unwrap_err();
    assert_eq!(e.code(), 101, "{e:?}");
    assert!(e.json["details"].as_str().unwrap().contains("switchdev"), "{e:?}");
    node.assert_clean(base, "legacy mode");

    // A VF in use by another pod (code 102); the failed pod's DEL leaves the first alone.
    let a = node.pod("err-owner", &format!("{id:x}e3"), Some(1));
    let ra = rt.add(&list, &a).unwrap();
    let b = node.pod("err-thief", &format!("{id:x}e4"), Some(1));
    let e = rt.add(&list, &b).unwrap_err();
    assert_eq!(e.code(), 102, "{e:?}");
    assert!(e.json["details"].as_str().unwrap().contains(&a.container_id), "{e:?}");
    rt.check(&list, &a, &ra).unwrap();

    // CHECK notices a missing address (code 106).
    sh("ip", &["-n", &a.netns_name, "addr", "flush", "dev", "eth0"]);
    let e = rt.check(&list, &a, &ra).unwrap_err();
    assert_eq!((e.plugin.as_str(), e.code()), ("hwol-cni", 106), "{e:?}");
    rt.del(&list, &a, Some(&ra)).unwrap();
    node.assert_clean(base, "VF in use");

    // A bad config field (code 7) names the field.
    let bad = seed_conflist("1.0.0", &node, json!({"mtu": 20}));
    let p = node.pod("err-conf", &format!("{id:x}e5"), None);
    let e = rt.add(&bad, &p).unwrap_err();
    assert_eq!(e.code(), 7, "{e:?}");
    assert!(e.json["details"].as_str().unwrap().contains("\"mtu\""), "{e:?}");
    node.assert_clean(base, "bad config");

    // STATUS (1.1.0) with the daemon up, then down (code 50); ADD with the
    // daemon down is "try again later" (code 11), rolled back.
    let ours_110 = |extra: Value| {
        let l = seed_conflist("1.1.0", &node, extra);
        json!({"cniVersion": "1.1.0", "name": "antrea", "plugins": [l["plugins"][0].clone()]})
    };
    let single = ours_110(json!({}));
    let p = node.pod("err-down", &format!("{id:x}e6"), Some(0));
    let conf = rt.plugin_conf(&single, 0, &p, None);
    assert_eq!(rt.exec("STATUS", &p, &conf).unwrap(), Value::Null);
    node.stop_daemon();
    let e = rt.exec("STATUS", &p, &conf).unwrap_err();
    assert_eq!(e.code(), 50, "{e:?}");
    let e = rt.add(&list, &p).unwrap_err();
    assert_eq!(e.code(), 11, "{e:?}");
    assert!(e.json["details"].as_str().unwrap().contains("hwol-vswitchd is not running"), "{e:?}");
    node.start_daemon();
    node.assert_clean(base, "daemon down");

    // GC (1.1.0) removes an attachment the runtime no longer lists; at
    // 1.1.0 host-local (Debian: up to 1.0.0) is run at 1.0.0.
    let g = node.pod("gc-pod", &format!("{id:x}e7"), Some(0));
    let conf = rt.plugin_conf(&single, 0, &g, None);
    let r = rt.exec("ADD", &g, &conf).unwrap();
    assert_eq!(r["cniVersion"], "1.1.0");
    assert_eq!(r["interfaces"][1]["pciID"], node.vfs[0].as_str());
    let mut keep = conf.clone();
    keep["cni.dev/valid-attachments"] = json!([{"containerID": g.container_id, "ifname": "eth0"}]);
    rt.exec("GC", &g, &keep).unwrap();
    assert_eq!(node.appctl(&["hwol/ports"]).unwrap().lines().count(), 1, "GC removed a valid attachment");
    let mut gc = conf.clone();
    gc["cni.dev/valid-attachments"] = json!([]);
    rt.exec("GC", &g, &gc).unwrap();
    node.assert_clean(base, "after GC");

    // A lost state dir: DEL still detaches the port and releases the lease
    // (the veth it cannot know about is left, and removed by hand here).
    let l = node.pod("lost-state", &format!("{id:x}e8"), None);
    let rl = rt.add(&list, &l).unwrap();
    std::fs::remove_file(node.state_dir.join(format!("att-{}-eth0.json", l.container_id))).unwrap();
    rt.del(&list, &l, Some(&rl)).unwrap();
    assert_eq!(node.appctl(&["hwol/ports"]).unwrap(), "", "port left after DEL without a record");
    assert_eq!(node.ipam_leases(), Vec::<String>::new());
    sh("ip", &["link", "del", rl["interfaces"][0]["name"].as_str().unwrap()]);
    node.assert_clean(base, "after DEL without a record");
}
