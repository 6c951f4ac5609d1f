//! VF, PF and representor discovery, as Antrea (through sriovnet) does it.
//!
//! Order of the sources, for the representor of VF `m` of a PF:
//!
//! 1. **devlink ports** (only on the live system, root `/`, when the kernel
//!    has the devlink generic-netlink family): the port of the PF's devlink
//!    instance (`pci/<pf-pci>`, or `netdevsim/netdevsim<N>`) with flavour
//!    `pcivf` and `vfnum m` names its netdev. When ports of several PFs share
//!    the instance, the one whose `pfnum` is the PF's PCI function wins.
//! 2. **sysfs** (always available, and the only source for recorded trees):
//!    the netdev under `/sys/class/net` whose `phys_switch_id` equals the
//!    PF's and whose `phys_port_name` is `pf<N>vf<m>` or `c<C>pf<N>vf<m>`
//!    (see [`crate::names`]). Names without a controller win over `c<C>`
//!    ones; among several PF numbers, the PF's PCI function wins.
//!
//! The uplink representor is the devlink port of flavour `physical`, or in
//! sysfs the netdev on the same switch whose `phys_port_name` is `p<N>`
//! (mlx5 in switchdev mode renames nothing: the PF netdev itself becomes
//! the uplink, `p0`).
//!
//! A VF's own pieces come from the PCI tree: `physfn` gives the PF,
//! `physfn/virtfn<N>` gives the VF index, `net/` gives its netdev.

use std::path::PathBuf;

use crate::devlink::{self, DevlinkPort};
use crate::names::{self, PortName};
use crate::{NicError, Sysfs};

/// Everything known about a VF given its PCI address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VfInfo {
    /// The VF's PCI address, e.g. `0000:03:00.2`.
    pub pci: String,
    /// Its PF's PCI address (from the `physfn` link).
    pub pf_pci: String,
    /// The PF's netdev (uplink), if it has one.
    pub pf_netdev: Option<String>,
    /// The VF index N (`physfn/virtfn<N>` points at this VF).
    pub vf_index: u32,
    /// The VF's netdev, if it is bound to a network driver (and still in the
    /// host's network namespace).
    pub netdev: Option<String>,
    /// The VF's representor netdev (on the host, in switchdev mode).
    pub representor: String,
    /// The uplink representor (`p<N>`), if found.
    pub uplink: Option<String>,
    /// The eswitch's `phys_switch_id`, if the PF has one.
    pub switch_id: Option<String>,
}

/// The device behind a PF netdev: `/sys/class/net/<pf>/device`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PfDevice {
    /// The PF netdev.
    pub netdev: String,
    /// The bus, from `device/subsystem`: `pci`, or `netdevsim`.
    pub bus: String,
    /// The device name on that bus: a PCI address, or `netdevsim<N>`.
    pub dev: String,
    /// `/sys/class/net/<pf>/device` (a path through the symlink).
    pub dir: PathBuf,
    /// The PCI function number (pfnum for mlx5), when the bus is PCI.
    pub pci_function: Option<u32>,
}

impl PfDevice {
    /// The devlink handle, as `devlink` prints it: `pci/0000:03:00.0`.
    pub fn devlink_handle(&self) -> String {
        format!("{}/{}", self.bus, self.dev)
    }
}

/// The device behind the PF netdev `pf`.
pub fn pf_device(sys: &Sysfs, pf: &str) -> Result<PfDevice, NicError> {
    let net = sys.class_net(pf);
    if !net.exists() {
        return Err(NicError::Missing {
            what: format!("no network interface {pf}"),
            path: net,
            hint: "check the PF name with `ip link` (the PF netdev, e.g. enp3s0f0np0)".into(),
        });
    }
    let link = net.join("device");
    let dev = sys.link_name(&link).ok_or_else(|| NicError::Missing {
        what: format!("{pf} has no device link: it is a virtual interface, not a NIC port"),
        path: link.clone(),
        hint: "pass the PF netdev of an SR-IOV capable NIC".into(),
    })?;
    let bus = sys.link_name(&link.join("subsystem")).unwrap_or_else(|| "pci".into());
    let pci_function = if bus == "pci" { pci_function(&dev) } else { None };
    Ok(PfDevice { netdev: pf.into(), bus, dev, dir: link, pci_function })
}

/// The function number of a PCI address `dddd:bb:dd.f`.
pub fn pci_function(pci: &str) -> Option<u32> {
    pci.rsplit_once('.').and_then(|(_, f)| f.parse().ok())
}

/// The VF netdev for a PCI address: `/sys/bus/pci/devices/<pci>/net/<name>`.
pub fn vf_netdev(sys: &Sysfs, pci: &str) -> Result<String, NicError> {
    let dev = pci_dir(sys, pci)?;
    let net = dev.join("net");
    sys.list(&net).into_iter().next().ok_or_else(|| NicError::Missing {
        what: format!("PCI {pci} has no network interface"),
        path: net,
        hint: format!(
            "is the VF bound to its driver (ls -l {}/driver)? It may also have been moved into a pod's network namespace",
            dev.display()
        ),
    })
}

/// `/sys/bus/pci/devices/<pci>`, which must exist.
fn pci_dir(sys: &Sysfs, pci: &str) -> Result<PathBuf, NicError> {
    let dev = sys.pci_device(pci);
    if dev.exists() {
        Ok(dev)
    } else {
        Err(NicError::Missing {
            what: format!("no PCI device {pci}"),
            path: dev,
            hint: "check the address (domain:bus:device.function, e.g. 0000:03:00.2) with `lspci -D`".into(),
        })
    }
}

/// Everything known about a VF given its PCI address.
pub fn vf_info(sys: &Sysfs, pci: &str) -> Result<VfInfo, NicError> {
    let ports = devlink::ports_if_live(sys);
    vf_info_with(sys, pci, ports.as_deref())
}

/// [`vf_info`] with the devlink ports given (`None`: sysfs only).
pub fn vf_info_with(sys: &Sysfs, pci: &str, ports: Option<&[DevlinkPort]>) -> Result<VfInfo, NicError> {
    let dev = pci_dir(sys, pci)?;
    let physfn = dev.join("physfn");
    let pf_pci = sys.link_name(&physfn).ok_or_else(|| NicError::Missing {
        what: format!("PCI {pci} has no physfn link: not an SR-IOV VF"),
        path: physfn.clone(),
        hint: "pass a VF's address (listed by the PF's virtfn* links), not the PF's".into(),
    })?;
    let vf_index = vf_index(sys, &pf_pci, pci)?;
    let netdev = vf_netdev(sys, pci).ok();
    let pf_netdev = pf_netdev_of_pci(sys, &pf_pci);
    let Some(pf) = pf_netdev.clone() else {
        return Err(NicError::Missing {
            what: format!("the PF {pf_pci} of VF {pci} has no network interface"),
            path: sys.pci_device(&pf_pci).join("net"),
            hint: "is the PF bound to its driver (e.g. mlx5_core)?".into(),
        });
    };
    let representor = vf_representor_with(sys, &pf, vf_index, ports)?;
    let uplink = uplink_representor_with(sys, &pf, ports).ok();
    let switch_id = sys.read(&sys.class_net(&pf).join("phys_switch_id")).filter(|s| !s.is_empty());
    Ok(VfInfo { pci: pci.into(), pf_pci, pf_netdev, vf_index, netdev, representor, uplink, switch_id })
}

/// The index N of VF `vf_pci` under PF `pf_pci` (`virtfn<N>` points at it).
pub fn vf_index(sys: &Sysfs, pf_pci: &str, vf_pci: &str) -> Result<u32, NicError> {
    vf_pcis(sys, &sys.pci_device(pf_pci)).into_iter().find(|(_, p)| p == vf_pci).map(|(i, _)| i).ok_or_else(|| {
        NicError::NotFound(format!(
            "no virtfn<N> link of PF {pf_pci} points at {vf_pci}; is {vf_pci} a VF of {pf_pci} (readlink {})?",
            sys.pci_device(vf_pci).join("physfn").display()
        ))
    })
}

/// The VFs of a PF device directory: `(index, PCI address)` from its
/// `virtfn<N>` links, by index.
pub fn vf_pcis(sys: &Sysfs, pf_dir: &std::path::Path) -> Vec<(u32, String)> {
    let mut out: Vec<(u32, String)> = sys
        .list(pf_dir)
        .into_iter()
        .filter_map(|name| {
            let n: u32 = name.strip_prefix("virtfn")?.parse().ok()?;
            Some((n, sys.link_name(&pf_dir.join(&name))?))
        })
        .collect();
    out.sort();
    out
}

/// The PF's own netdev among the netdevs of its PCI device: the uplink
/// (`phys_port_name` `p<N>`), else the one without a representor name.
pub fn pf_netdev_of_pci(sys: &Sysfs, pf_pci: &str) -> Option<String> {
    let names = sys.list(&sys.pci_device(pf_pci).join("net"));
    let kind = |n: &String| sys.read(&sys.class_net(n).join("phys_port_name")).and_then(|p| names::parse(&p));
    names
        .iter()
        .find(|n| matches!(kind(n), Some(PortName::Uplink(_))))
        .or_else(|| names.iter().find(|n| kind(n).is_none()))
        .cloned()
}

/// The representor of VF `vf` on the PF netdev `pf`.
pub fn vf_representor(sys: &Sysfs, pf: &str, vf: u32) -> Result<String, NicError> {
    let ports = devlink::ports_if_live(sys);
    vf_representor_with(sys, pf, vf, ports.as_deref())
}

/// [`vf_representor`] with the devlink ports given (`None`: sysfs only).
pub fn vf_representor_with(sys: &Sysfs, pf: &str, vf: u32, ports: Option<&[DevlinkPort]>) -> Result<String, NicError> {
    let pfd = pf_device(sys, pf)?;
    if let Some(ports) = ports {
        if let Some(name) = devlink_vf_rep(&pfd, ports, vf) {
            return Ok(name);
        }
    }
    let reps = sysfs_vf_reps(sys, pf)?;
    pick_vf_rep(&pfd, &reps, vf).ok_or_else(|| {
        NicError::NotFound(format!(
            "no representor for VF {vf} of {pf}: no netdev on {pf}'s switch has phys_port_name pf<N>vf{vf}; \
             does VF {vf} exist (cat {}) and is the eswitch in switchdev mode \
             (devlink dev eswitch show {})? `hwol nic setup --pf {pf} --vfs N` does both",
            pfd.dir.join("sriov_numvfs").display(),
            pfd.devlink_handle()
        ))
    })
}

/// A VF representor found in sysfs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SysfsRep {
    /// The representor netdev.
    pub netdev: String,
    /// Controller number (`c<C>` prefix), if any.
    pub controller: Option<u32>,
    /// PF number.
    pub pf: u32,
    /// VF index.
    pub vf: u32,
}

/// All VF representors on `pf`'s switch, by `phys_switch_id` and
/// `phys_port_name`, sorted by netdev name.
pub fn sysfs_vf_reps(sys: &Sysfs, pf: &str) -> Result<Vec<SysfsRep>, NicError> {
    let switch_id = switch_id(sys, pf)?;
    let mut out = Vec::new();
    for netdev in sys.list(&sys.path("sys/class/net")) {
        let dir = sys.class_net(&netdev);
        if sys.read(&dir.join("phys_switch_id")).as_deref() != Some(switch_id.as_str()) {
            continue;
        }
        if let Some(PortName::VfRep { controller, pf, vf }) =
            sys.read(&dir.join("phys_port_name")).as_deref().and_then(names::parse)
        {
            out.push(SysfsRep { netdev, controller, pf, vf });
        }
    }
    Ok(out)
}

/// The PF's `phys_switch_id`, which must be there (switchdev mode).
fn switch_id(sys: &Sysfs, pf: &str) -> Result<String, NicError> {
    let path = sys.class_net(pf).join("phys_switch_id");
    match sys.read(&path) {
        Some(s) if !s.is_empty() => Ok(s),
        _ => Err(NicError::Missing {
            what: format!("{pf} has no phys_switch_id"),
            path,
            hint: format!(
                "the eswitch is not in switchdev mode, or {pf} is not a switchdev PF; \
                 `hwol nic setup --pf {pf} --vfs N` switches it"
            ),
        }),
    }
}

/// Choose VF `vf`'s representor among `reps`: no controller prefix first,
/// then the PF number equal to the PF's PCI function, then the only PF
/// number present.
fn pick_vf_rep(pfd: &PfDevice, reps: &[SysfsRep], vf: u32) -> Option<String> {
    let cands: Vec<&SysfsRep> = reps.iter().filter(|r| r.vf == vf).collect();
    let local: Vec<&SysfsRep> = cands.iter().copied().filter(|r| r.controller.is_none()).collect();
    let pool = if local.is_empty() { cands } else { local };
    if let Some(f) = pfd.pci_function {
        if let Some(r) = pool.iter().find(|r| r.pf == f) {
            return Some(r.netdev.clone());
        }
    }
    let first = pool.first()?;
    pool.iter().all(|r| r.pf == first.pf).then(|| first.netdev.clone())
}

/// The VF representor from devlink: the PF's instance, flavour pcivf.
fn devlink_vf_rep(pfd: &PfDevice, ports: &[DevlinkPort], vf: u32) -> Option<String> {
    let cands: Vec<&DevlinkPort> = ports
        .iter()
        .filter(|p| p.bus == pfd.bus && p.dev == pfd.dev && p.flavour == devlink::DEVLINK_PORT_FLAVOUR_PCI_VF)
        .filter(|p| p.vfnum == Some(vf) && !p.external && p.netdev.is_some())
        .collect();
    let chosen = match pfd.pci_function {
        Some(f) => cands.iter().find(|p| p.pfnum == Some(f)).or(cands.first()),
        None => cands.first(),
    };
    chosen.and_then(|p| p.netdev.clone())
}

/// The uplink representor of PF netdev `pf` (`p<N>`).
pub fn uplink_representor(sys: &Sysfs, pf: &str) -> Result<String, NicError> {
    let ports = devlink::ports_if_live(sys);
    uplink_representor_with(sys, pf, ports.as_deref())
}

/// [`uplink_representor`] with the devlink ports given (`None`: sysfs only).
pub fn uplink_representor_with(sys: &Sysfs, pf: &str, ports: Option<&[DevlinkPort]>) -> Result<String, NicError> {
    let pfd = pf_device(sys, pf)?;
    if let Some(ports) = ports {
        let phys: Vec<&DevlinkPort> = ports
            .iter()
            .filter(|p| p.bus == pfd.bus && p.dev == pfd.dev && p.flavour == devlink::DEVLINK_PORT_FLAVOUR_PHYSICAL)
            .filter(|p| p.netdev.is_some())
            .collect();
        if let Some(p) = phys.iter().find(|p| p.netdev.as_deref() == Some(pf)).or(phys.first()) {
            return Ok(p.netdev.clone().unwrap_or_default());
        }
    }
    let own = sys.read(&sys.class_net(pf).join("phys_port_name"));
    if matches!(own.as_deref().and_then(names::parse), Some(PortName::Uplink(_))) {
        return Ok(pf.into());
    }
    let switch_id = switch_id(sys, pf)?;
    let mut uplinks = Vec::new();
    for netdev in sys.list(&sys.path("sys/class/net")) {
        let dir = sys.class_net(&netdev);
        if sys.read(&dir.join("phys_switch_id")).as_deref() != Some(switch_id.as_str()) {
            continue;
        }
        if matches!(sys.read(&dir.join("phys_port_name")).as_deref().and_then(names::parse), Some(PortName::Uplink(_)))
        {
            let same_dev = sys.link_name(&dir.join("device")).as_deref() == Some(pfd.dev.as_str());
            uplinks.push((!same_dev, netdev));
        }
    }
    uplinks.sort();
    uplinks.into_iter().next().map(|(_, n)| n).ok_or_else(|| {
        NicError::NotFound(format!(
            "no uplink representor for {pf}: no netdev on its switch {switch_id} has phys_port_name p<N>"
        ))
    })
}

/// The SR-IOV PF netdevs: those whose device has `sriov_numvfs` and which
/// are not representors themselves, by name.
pub fn sriov_pfs(sys: &Sysfs) -> Vec<String> {
    sys.list(&sys.path("sys/class/net"))
        .into_iter()
        .filter(|n| {
            let dir = sys.class_net(n);
            dir.join("device/sriov_numvfs").exists()
                && !matches!(
                    sys.read(&dir.join("phys_port_name")).as_deref().and_then(names::parse),
                    Some(PortName::VfRep { .. } | PortName::PfRep { .. })
                )
        })
        .collect()
}
