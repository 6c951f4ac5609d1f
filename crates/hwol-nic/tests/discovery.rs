//! Discovery on the fixture trees: the synthesized ConnectX-5 layout
//! (`cx5-*`, see `fixtures/synth-cx5.sh`) and the trees recorded from
//! netdevsim in the VM (`nsim-*`, see `fixtures/record.sh`).

use std::path::PathBuf;

use hwol_nic::devlink::{DevlinkPort, DEVLINK_PORT_FLAVOUR_PCI_VF, DEVLINK_PORT_FLAVOUR_PHYSICAL};
use hwol_nic::discover::{self, vf_info_with, vf_representor_with};
use hwol_nic::{uplink_representor, vf_info, vf_netdev, vf_representor, Sysfs, VfInfo};

fn fixture(name: &str) -> Sysfs {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name);
    assert!(root.join("sys").is_dir(), "fixture {name} missing at {}", root.display());
    Sysfs::new(root)
}

#[test]
fn vf_netdev_from_pci() {
    let sys = fixture("cx5-switchdev");
    assert_eq!(vf_netdev(&sys, "0000:03:00.2").unwrap(), "enp3s0f0v0");
    assert_eq!(vf_netdev(&sys, "0000:03:00.4").unwrap(), "enp3s0f1v0");
    let e = vf_netdev(&sys, "0000:09:00.0").unwrap_err().to_string();
    assert!(e.contains("no PCI device 0000:09:00.0") && e.contains("lspci"), "{e}");
}

#[test]
fn vf_info_on_connectx() {
    let sys = fixture("cx5-switchdev");
    assert_eq!(
        vf_info(&sys, "0000:03:00.3").unwrap(),
        VfInfo {
            pci: "0000:03:00.3".into(),
            pf_pci: "0000:03:00.0".into(),
            pf_netdev: Some("enp3s0f0np0".into()),
            vf_index: 1,
            netdev: Some("enp3s0f0v1".into()),
            representor: "enp3s0f0npf0vf1".into(),
            uplink: Some("enp3s0f0np0".into()),
            switch_id: Some("b8cef603004a5c2e".into()),
        }
    );
    // Port 1's VF 0: pf1vf0, although pf0vf0 has the same VF index and switch id.
    let v = vf_info(&sys, "0000:03:00.4").unwrap();
    assert_eq!(
        (v.pf_netdev.as_deref(), v.vf_index, v.representor.as_str()),
        (Some("enp3s0f1np1"), 0, "enp3s0f1npf1vf0")
    );
}

#[test]
fn pf_is_not_a_vf() {
    let sys = fixture("cx5-switchdev");
    let e = vf_info(&sys, "0000:03:00.0").unwrap_err().to_string();
    assert!(e.contains("PCI 0000:03:00.0 has no physfn link: not an SR-IOV VF"), "{e}");
}

#[test]
fn representors_by_phys_port_name() {
    let sys = fixture("cx5-switchdev");
    assert_eq!(vf_representor(&sys, "enp3s0f0np0", 0).unwrap(), "enp3s0f0npf0vf0");
    assert_eq!(vf_representor(&sys, "enp3s0f0np0", 1).unwrap(), "enp3s0f0npf0vf1");
    assert_eq!(vf_representor(&sys, "enp3s0f1np1", 0).unwrap(), "enp3s0f1npf1vf0");
    let e = vf_representor(&sys, "enp3s0f0np0", 5).unwrap_err().to_string();
    assert!(e.contains("no representor for VF 5 of enp3s0f0np0") && e.contains("hwol nic setup"), "{e}");
    assert_eq!(uplink_representor(&sys, "enp3s0f0np0").unwrap(), "enp3s0f0np0");
    assert_eq!(uplink_representor(&sys, "enp3s0f1np1").unwrap(), "enp3s0f1np1");
}

#[test]
fn legacy_mode_says_what_to_do() {
    let sys = fixture("cx5-legacy");
    let e = vf_representor(&sys, "enp3s0f0np0", 0).unwrap_err().to_string();
    assert!(e.contains("enp3s0f0np0 has no phys_switch_id") && e.contains("switchdev"), "{e}");
    let e = vf_representor(&sys, "nosuch0", 0).unwrap_err().to_string();
    assert!(e.contains("no network interface nosuch0"), "{e}");
}

#[test]
fn devlink_ports_come_first() {
    let sys = fixture("cx5-switchdev");
    let port = |flavour, vf: Option<u32>, pf: u32, netdev: &str| DevlinkPort {
        bus: "pci".into(),
        dev: "0000:03:00.0".into(),
        flavour,
        pfnum: Some(pf),
        vfnum: vf,
        netdev: Some(netdev.into()),
        ..Default::default()
    };
    // devlink names differ from sysfs on purpose, to see which source won.
    let ports = [
        port(DEVLINK_PORT_FLAVOUR_PHYSICAL, None, 0, "uplink-dl"),
        port(DEVLINK_PORT_FLAVOUR_PCI_VF, Some(1), 1, "wrong-pf"),
        port(DEVLINK_PORT_FLAVOUR_PCI_VF, Some(1), 0, "rep-dl"),
    ];
    assert_eq!(vf_representor_with(&sys, "enp3s0f0np0", 1, Some(&ports)).unwrap(), "rep-dl");
    // No devlink port for VF 0: sysfs fallback.
    assert_eq!(vf_representor_with(&sys, "enp3s0f0np0", 0, Some(&ports)).unwrap(), "enp3s0f0npf0vf0");
    let info = vf_info_with(&sys, "0000:03:00.3", Some(&ports)).unwrap();
    assert_eq!((info.representor.as_str(), info.uplink.as_deref()), ("rep-dl", Some("uplink-dl")));
}

#[test]
fn vf_list_in_index_order() {
    let sys = fixture("cx5-switchdev");
    let vfs = discover::vf_pcis(&sys, &sys.pci_device("0000:03:00.0"));
    assert_eq!(vfs, [(0, "0000:03:00.2".to_string()), (1, "0000:03:00.3".to_string())]);
    let pfd = discover::pf_device(&sys, "enp3s0f1np1").unwrap();
    assert_eq!((pfd.bus.as_str(), pfd.dev.as_str(), pfd.pci_function), ("pci", "0000:03:00.1", Some(1)));
}

#[test]
fn netdevsim_recorded_in_the_vm() {
    let sys = fixture("nsim-switchdev");
    for vf in 0..4 {
        assert_eq!(vf_representor(&sys, "eth0", vf).unwrap(), format!("eth{}", vf + 1));
    }
    // netdevsim's uplink is "p1" (devlink port number 1), the PF itself.
    assert_eq!(uplink_representor(&sys, "eth0").unwrap(), "eth0");
    let pfd = discover::pf_device(&sys, "eth0").unwrap();
    assert_eq!((pfd.bus.as_str(), pfd.dev.as_str(), pfd.pci_function), ("netdevsim", "netdevsim10", None));
    assert_eq!(discover::sriov_pfs(&sys), ["eth0"]);
    // Before setup: legacy mode, no switch id, no representors.
    let fresh = fixture("nsim-fresh");
    let e = vf_representor(&fresh, "eth0", 0).unwrap_err().to_string();
    assert!(e.contains("no representor for VF 0 of eth0") || e.contains("no phys_switch_id"), "{e}");
}
