//! From a VF's PCI address (`deviceID`) to its netdev, representor and
//! uplink, with the NIC crate's discovery ([`hwol_nic::vf_info`]) over the
//! sysfs tree at the config's `sysfsRoot` (`/` on a node: devlink first,
//! then sysfs; a fixture tree in tests: sysfs only).
//!
//! This module only turns the discovery's answers into the plugin's errors:
//! an address that is not a VF with a netdev on the host is
//! [`Error::UnknownDevice`] (code 100), a VF without a representor (eswitch
//! not in switchdev mode) is [`Error::NotSwitchdev`] (101).

use std::path::Path;

use hwol_nic::Sysfs;

use crate::error::{Error, Result};

/// What the plugin needs to know about a VF.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VfDevice {
    /// The VF's PCI address.
    pub pci: String,
    /// The PF's PCI address.
    pub pf_pci: String,
    /// The VF's index on its PF.
    pub vf_index: u32,
    /// The VF's netdev on the host.
    pub netdev: String,
    /// The VF's representor netdev.
    pub representor: String,
    /// The uplink representor, if there is one.
    pub uplink: Option<String>,
}

/// The VF's netdev name on the host, if it has one there now.
pub fn vf_netdev(root: &Path, pci: &str) -> Option<String> {
    hwol_nic::vf_netdev(&Sysfs::new(root), pci).ok()
}

/// Find everything about VF `pci`. Errors: [`Error::UnknownDevice`] (no
/// such device, not a VF, no netdev on the host), [`Error::NotSwitchdev`].
pub fn discover(root: &Path, pci: &str) -> Result<VfDevice> {
    let sys = Sysfs::new(root);
    let dir = sys.pci_device(pci);
    if !dir.exists() {
        return Err(Error::UnknownDevice(format!(
            "deviceID {pci}: no such PCI device ({} is missing); check the deviceID the SR-IOV device plugin \
             allocated (and sysfsRoot in the network config)",
            dir.display()
        )));
    }
    if sys.link_name(&dir.join("physfn")).is_none() {
        return Err(Error::UnknownDevice(format!(
            "deviceID {pci} is not an SR-IOV VF ({} is missing); point the device plugin's resource pool at VFs",
            dir.join("physfn").display()
        )));
    }
    let info = hwol_nic::vf_info(&sys, pci).map_err(|e| match e {
        // The PF has no netdev or the VF is not under it: not a usable VF.
        hwol_nic::NicError::Missing { ref what, .. } if what.contains("no network interface") => {
            Error::UnknownDevice(format!("deviceID {pci}: {e}"))
        }
        other => Error::NotSwitchdev(format!(
            "deviceID {pci}: {other}; the VF needs a representor, so its PF must be in switchdev mode \
             (`devlink dev eswitch set pci/<PF> mode switchdev`, see the seed's instructions)"
        )),
    })?;
    let netdev = info.netdev.ok_or_else(|| {
        Error::UnknownDevice(format!(
            "deviceID {pci} (VF {} of {}) has no network interface on the host: it is bound to a non-netdev \
             driver (vfio-pci?) or already in another pod's network namespace",
            info.vf_index, info.pf_pci
        ))
    })?;
    Ok(VfDevice {
        pci: info.pci,
        pf_pci: info.pf_pci,
        vf_index: info.vf_index,
        netdev,
        representor: info.representor,
        uplink: info.uplink,
    })
}

/// A fixture sysfs tree for tests (the layout [`hwol_nic::Sysfs`] reads):
/// a PF with VFs whose netdevs and representors are given names, e.g. the
/// emulated NIC's veth ends, so discovery finds real interfaces.
pub mod fixture {
    use std::fs;
    use std::os::unix::fs::symlink;
    use std::path::Path;

    /// One VF of the fixture.
    #[derive(Debug, Clone)]
    pub struct FixtureVf {
        /// PCI address.
        pub pci: String,
        /// Netdev name (`None`: not on the host).
        pub netdev: Option<String>,
        /// Representor name (`None`: no representor).
        pub representor: Option<String>,
    }

    fn relink(target: &str, link: &Path) -> std::io::Result<()> {
        let _ = fs::remove_file(link);
        symlink(target, link)
    }

    /// Write PF `pf_pci` (netdev `pf_netdev`; eswitch id `switch_id`, `None`
    /// for legacy mode) with `vfs` under `<root>/sys`. The PF netdev is the
    /// uplink (`phys_port_name` `p0`), VF `i`'s representor is `pf0vf<i>`.
    pub fn write(
        root: &Path,
        pf_pci: &str,
        pf_netdev: &str,
        switch_id: Option<&str>,
        vfs: &[FixtureVf],
    ) -> std::io::Result<()> {
        let devs = root.join("sys/bus/pci/devices");
        let class = root.join("sys/class/net");
        fs::create_dir_all(devs.join(pf_pci).join("net").join(pf_netdev))?;
        let dev_class = |name: &str, port: &str, device: Option<&str>| -> std::io::Result<()> {
            let d = class.join(name);
            fs::create_dir_all(&d)?;
            if let Some(id) = switch_id {
                fs::write(d.join("phys_switch_id"), format!("{id}\n"))?;
                fs::write(d.join("phys_port_name"), format!("{port}\n"))?;
            }
            if let Some(pci) = device {
                relink(&format!("../../../bus/pci/devices/{pci}"), &d.join("device"))?;
            }
            Ok(())
        };
        dev_class(pf_netdev, "p0", Some(pf_pci))?;
        for (i, vf) in vfs.iter().enumerate() {
            let d = devs.join(&vf.pci);
            fs::create_dir_all(d.join("net"))?;
            if let Some(n) = &vf.netdev {
                fs::create_dir_all(d.join("net").join(n))?;
            }
            relink(&format!("../{pf_pci}"), &d.join("physfn"))?;
            relink(&format!("../{}", vf.pci), &devs.join(pf_pci).join(format!("virtfn{i}")))?;
            if let Some(r) = &vf.representor {
                dev_class(r, &format!("pf0vf{i}"), None)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::fixture::{write, FixtureVf};
    use super::*;

    fn vf(pci: &str, netdev: Option<&str>, rep: Option<&str>) -> FixtureVf {
        FixtureVf { pci: pci.into(), netdev: netdev.map(Into::into), representor: rep.map(Into::into) }
    }

    #[test]
    fn finds_netdev_representor_and_uplink() {
        let t = tempfile::tempdir().unwrap();
        write(
            t.path(),
            "0000:03:00.0",
            "enp3s0f0",
            Some("a0369f8f3fb8"),
            &[vf("0000:03:00.2", Some("hwvf0"), Some("hwr0")), vf("0000:03:00.3", Some("hwvf1"), Some("hwr1"))],
        )
        .unwrap();
        let d = discover(t.path(), "0000:03:00.3").unwrap();
        assert_eq!(
            d,
            VfDevice {
                pci: "0000:03:00.3".into(),
                pf_pci: "0000:03:00.0".into(),
                vf_index: 1,
                netdev: "hwvf1".into(),
                representor: "hwr1".into(),
                uplink: Some("enp3s0f0".into()),
            }
        );
        assert_eq!(vf_netdev(t.path(), "0000:03:00.2").as_deref(), Some("hwvf0"));
    }

    #[test]
    fn errors_say_what_to_fix() {
        let t = tempfile::tempdir().unwrap();
        write(
            t.path(),
            "0000:03:00.0",
            "enp3s0f0",
            Some("sw1"),
            &[vf("0000:03:00.2", None, Some("hwr0")), vf("0000:03:00.3", Some("hwvf1"), None)],
        )
        .unwrap();
        let e = discover(t.path(), "0000:09:00.2").unwrap_err();
        assert_eq!(e.code(), 100);
        assert!(e.to_string().contains("no such PCI device"), "{e}");
        let e = discover(t.path(), "0000:03:00.0").unwrap_err();
        assert!(e.to_string().contains("is not an SR-IOV VF"), "{e}");
        let e = discover(t.path(), "0000:03:00.2").unwrap_err();
        assert_eq!(e.code(), 100);
        assert!(e.to_string().contains("has no network interface on the host"), "{e}");
        let e = discover(t.path(), "0000:03:00.3").unwrap_err();
        assert_eq!(e.code(), 101);
        assert!(e.to_string().contains("switchdev"), "{e}");

        let legacy = tempfile::tempdir().unwrap();
        write(legacy.path(), "0000:03:00.0", "enp3s0f0", None, &[vf("0000:03:00.2", Some("v0"), Some("r0"))]).unwrap();
        let e = discover(legacy.path(), "0000:03:00.2").unwrap_err();
        assert_eq!(e.code(), 101);
        assert!(e.to_string().contains("phys_switch_id"), "{e}");
    }
}
