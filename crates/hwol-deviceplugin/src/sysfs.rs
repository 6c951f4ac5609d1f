//! Network devices found through PCI sysfs, under an injectable root.
//!
//! The root is `/sys` on a node and a fixture tree in tests; only what lies
//! under it is read:
//!
//! - `bus/pci/devices/<addr>` for every PCI function; kept when `class` is a
//!   network controller (`0x02xxxx`; a tree without `class` files, as
//!   some synthesized fixtures are, counts functions with a netdev) and the function is not an SR-IOV PF
//!   (a PF has `sriov_totalvfs`; its VFs are what pods get);
//! - `vendor`, `device` (`0x15b3` → `15b3`), `driver` (the basename of the
//!   link), `numa_node` (`-1` means no affinity);
//! - for a VF, `physfn` → the PF's PCI address, its netdev (among
//!   `physfn/net/*`, the uplink: in switchdev mode the representors are
//!   listed there too),
//!   its operstate, and the VF index (the PF's `virtfn<N>` that points back);
//! - the function's own netdev (`net/*`): name, `type` (the ARPHRD number,
//!   shown as the link type: `ether`, `infiniband`) and `operstate`. A VF
//!   moved into a pod's netns has no netdev here: sysfs shows the reader's
//!   netns only;
//! - RDMA: `infiniband/<dev>`, and the character devices under
//!   `infiniband_verbs/`, `infiniband_mad/` (given to containers as
//!   `/dev/infiniband/<name>`).
//!
//! Health ([`PciNetDevice::healthy`]) is decided from what a pod needs of the
//! VF: a bound driver, and a PF link that is not down. The VF's own operstate
//! is not used: an unused VF is normally down, and a VF in a pod is
//! invisible from here.
//!
//! Watching is polling: sysfs attributes do not raise inotify events, and a
//! scan of a few hundred small files every couple of seconds is cheap. The
//! caller ([`crate::manager`]) diffs successive scans.
//!
//! A missing or unreadable attribute is treated as absent, never as an error:
//! devices appear and disappear while we read.

use std::fs;
use std::path::{Path, PathBuf};

/// One PCI network function that can be advertised to kubelet.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PciNetDevice {
    /// PCI address, lower case (`0000:03:00.2`); the kubelet device ID.
    pub pci_address: String,
    /// PCI vendor id, lower-case hex without `0x` (`15b3`).
    pub vendor: String,
    /// PCI device id (`1018`).
    pub device: String,
    /// The bound driver, if any.
    pub driver: Option<String>,
    /// NUMA node, `None` when the kernel reports -1 or nothing.
    pub numa_node: Option<u32>,
    /// For a VF: the PF's PCI address.
    pub pf_pci_address: Option<String>,
    /// For a VF: the PF's netdev name (the uplink in switchdev mode).
    pub pf_netdev: Option<String>,
    /// For a VF: the PF netdev's operstate.
    pub pf_operstate: Option<String>,
    /// For a VF: its index on the PF (`virtfn<N>`).
    pub vf_index: Option<u32>,
    /// The function's netdev in the reader's netns.
    pub netdev: Option<String>,
    /// The netdev's link type (`ether`, `infiniband`, ...).
    pub link_type: Option<String>,
    /// The netdev's operstate.
    pub operstate: Option<String>,
    /// RDMA devices of this function (`mlx5_2`).
    pub rdma_devices: Vec<String>,
    /// Its RDMA character devices, names under `/dev/infiniband` (`uverbs2`).
    pub rdma_char_devices: Vec<String>,
}

impl PciNetDevice {
    /// Whether a pod can use the device: a driver is bound and the PF link
    /// (if this is a VF whose PF netdev we see) is not down.
    pub fn healthy(&self) -> bool {
        let pf_down = matches!(self.pf_operstate.as_deref(), Some("down" | "lowerlayerdown" | "notpresent"));
        self.driver.is_some() && !pf_down
    }
}

/// A sysfs tree to scan.
#[derive(Debug, Clone)]
pub struct Sysfs {
    root: PathBuf,
}

impl Sysfs {
    /// A sysfs mounted at `root` (`/sys` on a node).
    pub fn new(root: impl Into<PathBuf>) -> Sysfs {
        Sysfs { root: root.into() }
    }

    /// The root given to [`Sysfs::new`].
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Every PCI network function that is not an SR-IOV PF, sorted by PCI
    /// address. Fails only when `bus/pci/devices` cannot be listed (wrong
    /// root, sysfs not mounted).
    pub fn scan(&self) -> std::io::Result<Vec<PciNetDevice>> {
        let dir = self.root.join("bus/pci/devices");
        let mut out = Vec::new();
        for entry in fs::read_dir(&dir)? {
            let Ok(entry) = entry else { continue };
            let name = entry.file_name().to_string_lossy().to_ascii_lowercase();
            if let Some(d) = read_device(&dir.join(entry.file_name()), name) {
                out.push(d);
            }
        }
        out.sort_by(|a, b| a.pci_address.cmp(&b.pci_address));
        Ok(out)
    }
}

fn read_trimmed(p: &Path) -> Option<String> {
    fs::read_to_string(p).ok().map(|s| s.trim().to_string())
}

fn link_name(p: &Path) -> Option<String> {
    fs::read_link(p).ok()?.file_name().map(|n| n.to_string_lossy().into_owned())
}

fn hex_id(p: &Path) -> Option<String> {
    let s = read_trimmed(p)?.to_ascii_lowercase();
    Some(s.strip_prefix("0x").unwrap_or(&s).to_string())
}

fn list_dir(p: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(p)
        .map(|rd| rd.filter_map(|e| e.ok()).map(|e| e.file_name().to_string_lossy().into_owned()).collect())
        .unwrap_or_default();
    v.sort();
    v
}

/// The name of `ARPHRD_*` link types, as `ip link` shows them.
pub fn link_type_name(arphrd: u32) -> String {
    match arphrd {
        1 => "ether".into(),
        32 => "infiniband".into(),
        772 => "loopback".into(),
        65534 => "none".into(),
        n => format!("arphrd{n}"),
    }
}

/// The PF's own netdev among those under its `net/`: in switchdev mode the
/// VF representors are there too (`phys_port_name` `pf0vf3`), and the uplink
/// is the one named `p<N>`; in legacy mode it has no `phys_port_name`.
fn uplink(net: &Path) -> Option<String> {
    let names = list_dir(net);
    let port = |n: &String| read_trimmed(&net.join(n).join("phys_port_name")).filter(|p| !p.is_empty());
    let is_uplink =
        |p: &str| p.strip_prefix('p').is_some_and(|i| !i.is_empty() && i.bytes().all(|b| b.is_ascii_digit()));
    names
        .iter()
        .find(|n| port(n).is_some_and(|p| is_uplink(&p)))
        .or_else(|| names.iter().find(|n| port(n).is_none()))
        .cloned()
}

fn read_device(path: &Path, pci_address: String) -> Option<PciNetDevice> {
    let is_net = match read_trimmed(&path.join("class")) {
        Some(class) => u32::from_str_radix(class.trim_start_matches("0x"), 16).ok()? >> 16 == 0x02,
        // The kernel always writes `class`; trees synthesized for tests may
        // leave it out, and then a function with a netdev is a network one.
        None => path.join("net").is_dir(),
    };
    if !is_net || path.join("sriov_totalvfs").exists() {
        return None;
    }
    let numa_node = read_trimmed(&path.join("numa_node")).and_then(|s| s.parse::<i64>().ok()).and_then(|n| {
        if n < 0 {
            None
        } else {
            u32::try_from(n).ok()
        }
    });
    let netdev = list_dir(&path.join("net")).into_iter().next();
    let (link_type, operstate) = match &netdev {
        Some(n) => {
            let nd = path.join("net").join(n);
            (
                read_trimmed(&nd.join("type")).and_then(|t| t.parse().ok()).map(link_type_name),
                read_trimmed(&nd.join("operstate")),
            )
        }
        None => (None, None),
    };
    let physfn = path.join("physfn");
    let (pf_pci_address, pf_netdev, pf_operstate, vf_index) = match link_name(&physfn) {
        None => (None, None, None, None),
        Some(pf) => {
            let pf_netdev = uplink(&physfn.join("net"));
            let pf_operstate =
                pf_netdev.as_ref().and_then(|n| read_trimmed(&physfn.join("net").join(n).join("operstate")));
            let vf_index = list_dir(&physfn)
                .into_iter()
                .filter_map(|n| n.strip_prefix("virtfn").and_then(|i| i.parse::<u32>().ok()))
                .find(|i| link_name(&physfn.join(format!("virtfn{i}"))).as_deref() == Some(pci_address.as_str()));
            (Some(pf.to_ascii_lowercase()), pf_netdev, pf_operstate, vf_index)
        }
    };
    let mut rdma_char_devices: Vec<String> = ["infiniband_verbs", "infiniband_mad"]
        .iter()
        .flat_map(|d| list_dir(&path.join(d)))
        .filter(|n| n.starts_with("uverbs") || n.starts_with("umad") || n.starts_with("issm"))
        .collect();
    rdma_char_devices.sort();
    Some(PciNetDevice {
        vendor: hex_id(&path.join("vendor"))?,
        device: hex_id(&path.join("device"))?,
        driver: link_name(&path.join("driver")),
        numa_node,
        pf_pci_address,
        pf_netdev,
        pf_operstate,
        vf_index,
        netdev,
        link_type,
        operstate,
        rdma_devices: list_dir(&path.join("infiniband")),
        rdma_char_devices,
        pci_address,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::fixture::{PfSpec, SysfsTree};

    #[test]
    fn scan_finds_connectx5_vfs_not_pfs() {
        let tmp = tempfile::tempdir().unwrap();
        let t = SysfsTree::connectx5_dual_numa(tmp.path()).unwrap();
        let devs = Sysfs::new(t.root()).scan().unwrap();
        let addrs: Vec<&str> = devs.iter().map(|d| d.pci_address.as_str()).collect();
        assert_eq!(
            addrs,
            [
                "0000:03:00.2",
                "0000:03:00.3",
                "0000:03:00.4",
                "0000:03:00.5",
                "0000:05:00.0",
                "0000:82:00.2",
                "0000:82:00.3",
                "0000:82:00.4",
                "0000:82:00.5"
            ],
            "PFs (sriov_totalvfs) and the NVMe drive (class 0x01) are skipped; the igb port is kept"
        );
        let vf = &devs[1];
        assert_eq!(
            vf,
            &PciNetDevice {
                pci_address: "0000:03:00.3".into(),
                vendor: "15b3".into(),
                device: "1018".into(),
                driver: Some("mlx5_core".into()),
                numa_node: Some(0),
                pf_pci_address: Some("0000:03:00.0".into()),
                pf_netdev: Some("enp3s0f0".into()),
                pf_operstate: Some("up".into()),
                vf_index: Some(1),
                netdev: Some("enp3s0f3".into()),
                link_type: Some("ether".into()),
                operstate: Some("down".into()),
                rdma_devices: vec!["mlx5_303".into()],
                rdma_char_devices: vec!["uverbs303".into()],
            }
        );
        assert!(vf.healthy());
        assert_eq!(devs[5].numa_node, Some(1));
        assert_eq!(devs[5].pf_netdev.as_deref(), Some("enp130s0f0"));
        let igb = &devs[4];
        assert_eq!(
            (igb.vendor.as_str(), igb.driver.as_deref(), igb.pf_pci_address.as_ref()),
            ("8086", Some("igb"), None)
        );
    }

    #[test]
    fn legacy_mode_pf_and_no_numa() {
        let tmp = tempfile::tempdir().unwrap();
        let t = SysfsTree::new(tmp.path()).unwrap();
        let pf =
            PfSpec { switchdev: false, rdma: false, numa: -1, ..PfSpec::connectx5("0000:3b:00.0", "ens1f0", -1, 2) };
        t.add_pf(&pf).unwrap();
        let devs = Sysfs::new(t.root()).scan().unwrap();
        assert_eq!(devs.len(), 2);
        assert_eq!(devs[0].numa_node, None, "numa_node -1 is no affinity");
        assert_eq!(devs[1].pf_netdev.as_deref(), Some("ens1f0"));
        assert_eq!(devs[1].vf_index, Some(1));
        assert!(devs[0].rdma_devices.is_empty());
    }

    #[test]
    fn health_and_removal() {
        let tmp = tempfile::tempdir().unwrap();
        let t = SysfsTree::connectx5_dual_numa(tmp.path()).unwrap();
        let s = Sysfs::new(t.root());
        t.set_operstate("enp130s0f0", "lowerlayerdown").unwrap();
        t.unbind("0000:03:00.4").unwrap();
        t.remove_vf(&PfSpec::connectx5("0000:03:00.0", "enp3s0f0", 0, 4), 3).unwrap();
        let devs = s.scan().unwrap();
        let state: Vec<(&str, bool)> = devs.iter().map(|d| (d.pci_address.as_str(), d.healthy())).collect();
        assert_eq!(
            state,
            [
                ("0000:03:00.2", true),
                ("0000:03:00.3", true),
                ("0000:03:00.4", false),
                ("0000:05:00.0", true),
                ("0000:82:00.2", false),
                ("0000:82:00.3", false),
                ("0000:82:00.4", false),
                ("0000:82:00.5", false),
            ]
        );
        assert_eq!(devs[2].netdev, None, "an unbound VF has no netdev");
        assert!(Sysfs::new(tmp.path().join("nope")).scan().is_err());
    }

    #[test]
    fn link_type_names() {
        assert_eq!(link_type_name(1), "ether");
        assert_eq!(link_type_name(32), "infiniband");
        assert_eq!(link_type_name(24), "arphrd24");
    }
}
