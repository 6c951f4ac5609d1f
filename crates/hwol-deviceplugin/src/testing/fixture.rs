//! Realistic PCI sysfs trees for tests, laid out as the kernel lays them
//! out, with real symlinks:
//!
//! ```text
//! devices/pci0000:00/0000:00:02.0/0000:03:00.0/        the PF
//!     class vendor device numa_node sriov_totalvfs sriov_numvfs
//!     driver -> ../../../../bus/pci/drivers/mlx5_core
//!     virtfn0 -> ../0000:03:00.2
//!     net/enp3s0f0/{type,operstate,phys_port_name}     uplink (p0)
//!     net/enp3s0f0_0/...                               VF representors (pf0vf0), switchdev
//!     infiniband/mlx5_0  infiniband_verbs/uverbs0
//! devices/pci0000:00/0000:00:02.0/0000:03:00.2/        a VF
//!     physfn -> ../0000:03:00.0
//!     net/enp3s0f2/...  infiniband/mlx5_2  infiniband_verbs/uverbs2
//! bus/pci/devices/0000:03:00.2 -> ../../../devices/pci0000:00/0000:00:02.0/0000:03:00.2
//! bus/pci/drivers/mlx5_core/
//! class/net/enp3s0f2 -> ../../devices/.../0000:03:00.2/net/enp3s0f2
//! ```
//!
//! [`SysfsTree::connectx5_dual_numa`] builds the standard test node: two
//! ConnectX-5 PFs (15b3:1017, mlx5_core) in switchdev mode, on NUMA nodes 0
//! and 1, with 4 VFs (15b3:1018) each, plus an Intel I350 port (8086:1521,
//! igb, no SR-IOV) and an NVMe drive (not a network device).

use std::fs;
use std::io;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};

/// A fixture sysfs tree rooted at a directory.
#[derive(Debug, Clone)]
pub struct SysfsTree {
    root: PathBuf,
}

/// A PF to create, with its VFs.
#[derive(Debug, Clone)]
pub struct PfSpec {
    /// PF PCI address (function 0 of its slot), e.g. `0000:03:00.0`.
    pub pci: String,
    /// PF netdev name.
    pub netdev: String,
    /// PCI vendor id.
    pub vendor: String,
    /// PF PCI device id.
    pub device: String,
    /// VF PCI device id.
    pub vf_device: String,
    /// Driver of the PF and the VFs.
    pub driver: String,
    /// NUMA node (-1: none).
    pub numa: i32,
    /// VFs to create (`sriov_numvfs`); `sriov_totalvfs` is 8.
    pub vfs: u32,
    /// Whether representors exist (switchdev mode).
    pub switchdev: bool,
    /// Whether PF and VFs have RDMA devices.
    pub rdma: bool,
}

impl PfSpec {
    /// A ConnectX-5 PF (15b3:1017, VFs 15b3:1018, mlx5_core, RDMA, switchdev).
    pub fn connectx5(pci: &str, netdev: &str, numa: i32, vfs: u32) -> PfSpec {
        PfSpec {
            pci: pci.into(),
            netdev: netdev.into(),
            vendor: "15b3".into(),
            device: "1017".into(),
            vf_device: "1018".into(),
            driver: "mlx5_core".into(),
            numa,
            vfs,
            switchdev: true,
            rdma: true,
        }
    }
}

fn write(path: &Path, content: &str) -> io::Result<()> {
    if let Some(p) = path.parent() {
        fs::create_dir_all(p)?;
    }
    fs::write(path, format!("{content}\n"))
}

/// `0000:03:00.0` → (bus 3, device 0, function 0).
fn bdf(addr: &str) -> (u32, u32, u32) {
    let bus = u32::from_str_radix(&addr[5..7], 16).unwrap_or(0);
    let dev = u32::from_str_radix(&addr[8..10], 16).unwrap_or(0);
    let func = u32::from_str_radix(&addr[11..12], 16).unwrap_or(0);
    (bus, dev, func)
}

/// The systemd predictable name for a PCI function (`enp3s0f2`).
pub fn predictable_name(addr: &str) -> String {
    let (b, d, f) = bdf(addr);
    format!("enp{b}s{d}f{f}")
}

impl SysfsTree {
    /// An empty tree (with `bus/pci/devices`) at `root`.
    pub fn new(root: impl Into<PathBuf>) -> io::Result<SysfsTree> {
        let root = root.into();
        fs::create_dir_all(root.join("bus/pci/devices"))?;
        fs::create_dir_all(root.join("class/net"))?;
        Ok(SysfsTree { root })
    }

    /// The root.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The standard test node (see the module docs); returns the tree.
    pub fn connectx5_dual_numa(root: impl Into<PathBuf>) -> io::Result<SysfsTree> {
        let t = SysfsTree::new(root)?;
        t.add_pf(&PfSpec::connectx5("0000:03:00.0", "enp3s0f0", 0, 4))?;
        t.add_pf(&PfSpec::connectx5("0000:82:00.0", "enp130s0f0", 1, 4))?;
        t.add_function("0000:05:00.0", "8086", "1521", "0x020000", Some("igb"), 0, Some(("enp5s0f0", 1)))?;
        t.add_function("0000:06:00.0", "144d", "a808", "0x010802", Some("nvme"), 0, None)?;
        Ok(t)
    }

    fn device_dir(&self, addr: &str) -> PathBuf {
        let (bus, _, _) = bdf(addr);
        let host = if bus >= 0x80 { "pci0000:80/0000:80:02.0" } else { "pci0000:00/0000:00:02.0" };
        self.root.join("devices").join(host).join(addr)
    }

    /// Adds one PCI function: attributes, bus link, driver link, and
    /// optionally a netdev (`(name, ARPHRD type)`).
    #[allow(clippy::too_many_arguments)]
    pub fn add_function(
        &self,
        addr: &str,
        vendor: &str,
        device: &str,
        class: &str,
        driver: Option<&str>,
        numa: i32,
        netdev: Option<(&str, u32)>,
    ) -> io::Result<PathBuf> {
        let dir = self.device_dir(addr);
        write(&dir.join("vendor"), &format!("0x{vendor}"))?;
        write(&dir.join("device"), &format!("0x{device}"))?;
        write(&dir.join("class"), class)?;
        write(&dir.join("numa_node"), &numa.to_string())?;
        let rel = dir.strip_prefix(&self.root).map_err(io::Error::other)?;
        symlink(Path::new("../../..").join(rel), self.root.join("bus/pci/devices").join(addr))?;
        if let Some(drv) = driver {
            self.bind(addr, drv)?;
        }
        if let Some((name, kind)) = netdev {
            self.add_netdev(addr, name, kind, None)?;
        }
        Ok(dir)
    }

    /// Adds a netdev under a function, with `operstate` up.
    pub fn add_netdev(&self, addr: &str, name: &str, arphrd: u32, phys_port_name: Option<&str>) -> io::Result<()> {
        let dir = self.device_dir(addr).join("net").join(name);
        write(&dir.join("type"), &arphrd.to_string())?;
        write(&dir.join("operstate"), "up")?;
        if let Some(p) = phys_port_name {
            write(&dir.join("phys_port_name"), p)?;
        }
        let rel = dir.strip_prefix(&self.root).map_err(io::Error::other)?;
        let link = self.root.join("class/net").join(name);
        let _ = fs::remove_file(&link);
        symlink(Path::new("../..").join(rel), link)
    }

    /// Binds `addr` to `driver` (the `driver` link).
    pub fn bind(&self, addr: &str, driver: &str) -> io::Result<()> {
        fs::create_dir_all(self.root.join("bus/pci/drivers").join(driver))?;
        let link = self.device_dir(addr).join("driver");
        let _ = fs::remove_file(&link);
        symlink(Path::new("../../../../bus/pci/drivers").join(driver), link)
    }

    /// Unbinds `addr` from its driver, as
    /// `echo <addr> > /sys/bus/pci/drivers/<drv>/unbind` does (its netdev
    /// and RDMA devices go away with the driver).
    pub fn unbind(&self, addr: &str) -> io::Result<()> {
        let dir = self.device_dir(addr);
        fs::remove_file(dir.join("driver"))?;
        for sub in ["net", "infiniband", "infiniband_verbs"] {
            let _ = fs::remove_dir_all(dir.join(sub));
        }
        Ok(())
    }

    /// Adds a PF and its VFs as the kernel shows them after
    /// `echo N > sriov_numvfs` (and, with `switchdev`, after
    /// `devlink dev eswitch set ... mode switchdev`).
    pub fn add_pf(&self, pf: &PfSpec) -> io::Result<()> {
        let (bus, _, _) = bdf(&pf.pci);
        let dir = self.add_function(&pf.pci, &pf.vendor, &pf.device, "0x020000", Some(&pf.driver), pf.numa, None)?;
        write(&dir.join("sriov_totalvfs"), "8")?;
        write(&dir.join("sriov_numvfs"), &pf.vfs.to_string())?;
        self.add_netdev(&pf.pci, &pf.netdev, 1, pf.switchdev.then_some("p0"))?;
        if pf.rdma {
            fs::create_dir_all(dir.join("infiniband").join(format!("mlx5_{bus}0")))?;
        }
        for i in 0..pf.vfs {
            self.add_vf(pf, i)?;
        }
        Ok(())
    }

    /// The PCI address of VF `index` of `pf` (function 2 onwards, as on a
    /// ConnectX-5: 03:00.2 ... 03:00.7, 03:01.0 ...).
    pub fn vf_address(pf: &PfSpec, index: u32) -> String {
        let (bus, _, _) = bdf(&pf.pci);
        let n = index + 2;
        format!("{}:{bus:02x}:{:02x}.{}", &pf.pci[..4], n / 8, n % 8)
    }

    /// Adds VF `index` of `pf` (and its representor on the PF, in switchdev).
    pub fn add_vf(&self, pf: &PfSpec, index: u32) -> io::Result<String> {
        let addr = Self::vf_address(pf, index);
        let netdev = predictable_name(&addr);
        let dir = self.add_function(
            &addr,
            &pf.vendor,
            &pf.vf_device,
            "0x020000",
            Some(&pf.driver),
            pf.numa,
            Some((&netdev, 1)),
        )?;
        // A VF's netdev starts down; nobody has set it up.
        write(&dir.join("net").join(&netdev).join("operstate"), "down")?;
        symlink(Path::new("..").join(&pf.pci), dir.join("physfn"))?;
        let pf_dir = self.device_dir(&pf.pci);
        symlink(Path::new("..").join(&addr), pf_dir.join(format!("virtfn{index}")))?;
        if pf.switchdev {
            self.add_netdev(&pf.pci, &format!("{}_{index}", pf.netdev), 1, Some(&format!("pf0vf{index}")))?;
        }
        if pf.rdma {
            let (bus, d, f) = bdf(&addr);
            let n = bus * 100 + d * 8 + f;
            fs::create_dir_all(dir.join("infiniband").join(format!("mlx5_{n}")))?;
            fs::create_dir_all(dir.join("infiniband_verbs").join(format!("uverbs{n}")))?;
        }
        Ok(addr)
    }

    /// Removes VF `index` of `pf`, as lowering `sriov_numvfs` does.
    pub fn remove_vf(&self, pf: &PfSpec, index: u32) -> io::Result<()> {
        let addr = Self::vf_address(pf, index);
        let pf_dir = self.device_dir(&pf.pci);
        fs::remove_file(pf_dir.join(format!("virtfn{index}")))?;
        let _ = fs::remove_dir_all(pf_dir.join("net").join(format!("{}_{index}", pf.netdev)));
        fs::remove_file(self.root.join("bus/pci/devices").join(&addr))?;
        let _ = fs::remove_file(self.root.join("class/net").join(predictable_name(&addr)));
        fs::remove_dir_all(self.device_dir(&addr))
    }

    /// Sets the operstate of netdev `name` (`up`, `down`, `lowerlayerdown`).
    pub fn set_operstate(&self, name: &str, state: &str) -> io::Result<()> {
        write(&self.root.join("class/net").join(name).join("operstate"), state)
    }
}
