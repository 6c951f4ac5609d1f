//! Reading a NIC's state and running a [`Plan`] against it.
//!
//! The I/O sits behind [`NicOps`]: [`SystemNic`] is the real one (sysfs
//! under a [`Sysfs`] root, devlink and ethtool over generic netlink,
//! rtnetlink for link up); tests drive the same [`execute`] with a model
//! NIC. Each step re-reads what it needs when it runs (VF addresses only
//! exist once `sriov_numvfs` is written), prints a progress line, and on
//! failure returns [`NicError::Step`] naming the step and the likely cause.

use std::path::PathBuf;
use std::time::Duration;

use crate::devlink::{Devlink, EswitchMode};
use crate::discover::{self, pf_device};
use crate::ethtool::{Ethtool, HW_TC_OFFLOAD};
use crate::genl::{MsgBuilder, NLM_F_ACK, NLM_F_REQUEST};
use crate::nl::NlSocket;
use crate::plan::{plan, Action, NicState, Plan, RepState, Step, VfState};
use crate::{NicError, Sysfs};

/// What the executor needs from a NIC.
pub trait NicOps {
    /// The current state of PF `pf`.
    fn read_state(&mut self, pf: &str) -> Result<NicState, NicError>;
    /// Write `sriov_numvfs` of PF `pf`.
    fn set_num_vfs(&mut self, pf: &str, n: u32) -> Result<(), NicError>;
    /// Bring `ifname` up.
    fn link_up(&mut self, ifname: &str) -> Result<(), NicError>;
    /// Unbind PCI device `pci` from `driver`.
    fn unbind(&mut self, pci: &str, driver: &str) -> Result<(), NicError>;
    /// Bind PCI device `pci` to `driver`.
    fn bind(&mut self, pci: &str, driver: &str) -> Result<(), NicError>;
    /// Set the eswitch mode of `bus/dev`.
    fn set_eswitch(&mut self, bus: &str, dev: &str, mode: EswitchMode) -> Result<(), NicError>;
    /// Turn hw-tc-offload on on `ifname`.
    fn tc_offload_on(&mut self, ifname: &str) -> Result<(), NicError>;
    /// Wait `d` (the model NIC does not).
    fn sleep(&mut self, d: Duration);
}

/// Options of [`execute`].
#[derive(Debug, Clone)]
pub struct ExecOptions {
    /// How long to wait for the representors.
    pub rep_timeout: Duration,
    /// How often to look for them.
    pub poll: Duration,
}

impl Default for ExecOptions {
    fn default() -> Self {
        ExecOptions { rep_timeout: Duration::from_secs(30), poll: Duration::from_millis(200) }
    }
}

/// Plan and run the setup of `want` VFs on `pf`; `progress` gets one line
/// per step. Returns the plan that was run and the final state.
pub fn setup(
    nic: &mut dyn NicOps,
    pf: &str,
    want: u32,
    opts: &ExecOptions,
    progress: &mut dyn FnMut(&str),
) -> Result<(Plan, NicState), NicError> {
    let state = nic.read_state(pf)?;
    let p = plan(&state, want)?;
    if p.nothing_to_do() {
        return Ok((p, state));
    }
    execute(nic, &p, opts, progress)?;
    let state = nic.read_state(pf)?;
    Ok((p, state))
}

/// Run the `Do` steps of `plan`.
pub fn execute(
    nic: &mut dyn NicOps,
    plan: &Plan,
    opts: &ExecOptions,
    progress: &mut dyn FnMut(&str),
) -> Result<(), NicError> {
    let total = plan.steps.len();
    let mut unbound: Vec<(String, String)> = Vec::new();
    for (i, planned) in plan.steps.iter().enumerate() {
        let n = i + 1;
        let title = planned.step.title();
        let text = match &planned.action {
            Action::Satisfied(why) => {
                progress(&format!("[{n}/{total}] {title}: already done ({why})"));
                continue;
            }
            Action::Do(text) => text,
        };
        progress(&format!("[{n}/{total}] {title}: {text}"));
        run_step(nic, plan, &planned.step, opts, &mut unbound, progress).map_err(|e| {
            let cause = likely_cause(&planned.step, &e, nic, &plan.pf);
            NicError::Step { step: title.clone(), cause, source: Box::new(e) }
        })?;
    }
    Ok(())
}

fn run_step(
    nic: &mut dyn NicOps,
    plan: &Plan,
    step: &Step,
    opts: &ExecOptions,
    unbound: &mut Vec<(String, String)>,
    progress: &mut dyn FnMut(&str),
) -> Result<(), NicError> {
    let pf = plan.pf.as_str();
    match step {
        Step::CheckTotalVfs => Ok(()),
        Step::SetNumVfs { from, to } => {
            if *from != 0 {
                nic.set_num_vfs(pf, 0)?;
            }
            nic.set_num_vfs(pf, *to)
        }
        Step::PfUp => nic.link_up(pf),
        Step::UnbindVfs => {
            let state = nic.read_state(pf)?;
            if state.eswitch == Some(EswitchMode::Switchdev) {
                progress("      eswitch is in switchdev mode: VFs stay bound");
                return Ok(());
            }
            for vf in &state.vfs {
                if let Some(driver) = &vf.driver {
                    nic.unbind(&vf.pci, driver)?;
                    unbound.push((vf.pci.clone(), driver.clone()));
                }
            }
            progress(&format!("      unbound {} VFs", unbound.len()));
            Ok(())
        }
        Step::Switchdev => {
            let state = nic.read_state(pf)?;
            if state.eswitch == Some(EswitchMode::Switchdev) {
                progress("      already in switchdev mode");
                return Ok(());
            }
            nic.set_eswitch(&state.bus, &state.dev, EswitchMode::Switchdev)
        }
        Step::PfTcOffload => nic.tc_offload_on(pf),
        Step::BindVfs => {
            let state = nic.read_state(pf)?;
            let fallback = state.vf_driver();
            let mut bound = 0;
            for vf in state.vfs.iter().filter(|v| v.driver.is_none()) {
                let driver = unbound.iter().find(|(p, _)| *p == vf.pci).map(|(_, d)| d.clone()).or(fallback.clone());
                let Some(driver) = driver else {
                    return Err(NicError::NotFound(format!(
                        "no driver known for VF {} (neither it nor the PF is bound)",
                        vf.pci
                    )));
                };
                nic.bind(&vf.pci, &driver)?;
                bound += 1;
            }
            progress(&format!("      bound {bound} VFs"));
            Ok(())
        }
        Step::WaitRepresentors { count } => {
            let tries = (opts.rep_timeout.as_millis() / opts.poll.as_millis().max(1)).max(1);
            let mut last = usize::MAX;
            for _ in 0..=tries {
                let state = nic.read_state(pf)?;
                let found = state.reps.iter().filter(|r| r.vf < *count).count();
                if found != last {
                    progress(&format!("      {found}/{count} representors"));
                    last = found;
                }
                if found as u32 >= *count {
                    return Ok(());
                }
                nic.sleep(opts.poll);
            }
            Err(NicError::Timeout(format!("only {last} of {count} representors of {pf} after {:?}", opts.rep_timeout)))
        }
        Step::RepTcOffload => {
            let state = nic.read_state(pf)?;
            for r in state.reps.iter().filter(|r| r.tc_offload != Some(true)) {
                nic.tc_offload_on(&r.netdev)?;
                progress(&format!("      hw-tc-offload on {}", r.netdev));
            }
            Ok(())
        }
    }
}

/// The likely cause of a failed step, in words, from the errno.
fn likely_cause(step: &Step, e: &NicError, nic: &mut dyn NicOps, pf: &str) -> Option<String> {
    const EPERM: i32 = 1;
    const ENOENT: i32 = 2;
    const ENOMEM: i32 = 12;
    const EBUSY: i32 = 16;
    const EINVAL: i32 = 22;
    const ENOSPC: i32 = 28;
    const ERANGE: i32 = 34;
    const EOPNOTSUPP: i32 = 95;
    let errno = e.errno();
    let mut driver = || nic.read_state(pf).ok().and_then(|s| s.driver).unwrap_or_else(|| "?".into());
    if errno == Some(EPERM) {
        return Some("not permitted: run as root (CAP_NET_ADMIN and write access to sysfs)".into());
    }
    match (step, errno) {
        (Step::SetNumVfs { .. }, Some(EBUSY)) => {
            Some("VFs are in use (assigned to pods or VMs, or vfio-bound); release them first".into())
        }
        (Step::SetNumVfs { .. }, Some(ENOMEM | ENOSPC | ERANGE)) => {
            Some("not enough PCI resources for the VFs: enable SR-IOV and ARI in the BIOS, or lower NUM_OF_VFS".into())
        }
        (Step::SetNumVfs { .. }, Some(EINVAL)) => Some("more VFs than the device supports (sriov_totalvfs)".into()),
        (Step::Switchdev, Some(EOPNOTSUPP)) => {
            Some(format!("driver {}: eswitch mode switchdev not supported (firmware?)", driver()))
        }
        (Step::Switchdev, Some(EBUSY)) => {
            Some("VFs still bound or in use, or TC rules / a bridge on the PF; unbind the VFs and retry".into())
        }
        (Step::Switchdev, Some(ENOENT)) => Some(
            "no devlink instance for the PF (driver without devlink support, or devlink not in this kernel)".into(),
        ),
        (Step::PfTcOffload | Step::RepTcOffload, Some(EOPNOTSUPP)) => {
            Some(format!("driver {}: hw-tc-offload cannot be turned on (no TC offload support)", driver()))
        }
        (Step::UnbindVfs | Step::BindVfs, Some(ENOENT | EINVAL)) => {
            Some("the VF is not bound to that driver, or the driver is not loaded".into())
        }
        (Step::WaitRepresentors { .. }, _) => Some(format!(
            "driver {} created no representors: is the eswitch really in switchdev mode (devlink dev eswitch show)?",
            driver()
        )),
        _ => None,
    }
}

/// The real NIC: sysfs under `sys`, netlink for the rest (live root only).
#[derive(Debug)]
pub struct SystemNic {
    sys: Sysfs,
    devlink: Option<Devlink>,
    ethtool: Option<Ethtool>,
}

impl SystemNic {
    /// A NIC seen through `sys`. With a root other than `/` it only reads
    /// (eswitch mode and hw-tc-offload come from the recorder's side files);
    /// every change is refused.
    pub fn new(sys: Sysfs) -> Self {
        SystemNic { sys, devlink: None, ethtool: None }
    }

    /// The sysfs tree.
    pub fn sysfs(&self) -> &Sysfs {
        &self.sys
    }

    fn live(&self, what: &str) -> Result<(), NicError> {
        if self.sys.is_live() {
            Ok(())
        } else {
            Err(NicError::Invalid(format!(
                "cannot {what} under sysfs root {}: a recorded tree is read-only; use --dry-run or `hwol nic status`",
                self.sys.root().display()
            )))
        }
    }

    fn devlink(&mut self) -> Result<&mut Devlink, NicError> {
        if self.devlink.is_none() {
            self.devlink = Some(Devlink::open()?.ok_or_else(|| NicError::Netlink {
                family: "devlink",
                op: "resolve family".into(),
                message: "the kernel has no devlink generic-netlink family".into(),
                errno: 2,
            })?);
        }
        Ok(self.devlink.as_mut().expect("set above"))
    }

    fn ethtool(&mut self) -> Result<&mut Ethtool, NicError> {
        if self.ethtool.is_none() {
            self.ethtool = Some(Ethtool::open()?.ok_or_else(|| NicError::Netlink {
                family: "ethtool",
                op: "resolve family".into(),
                message: "the kernel has no ethtool netlink (Linux < 5.6)".into(),
                errno: 2,
            })?);
        }
        Ok(self.ethtool.as_mut().expect("set above"))
    }

    fn tc_offload(&mut self, ifname: &str) -> Option<bool> {
        if !self.sys.is_live() {
            return self.sys.recorded(&format!("hw-tc-offload/{ifname}")).map(|v| v == "on");
        }
        self.ethtool().ok()?.feature(ifname, HW_TC_OFFLOAD).ok().map(|(on, _)| on)
    }

    fn numvfs_path(&self, pf: &str) -> PathBuf {
        self.sys.class_net(pf).join("device/sriov_numvfs")
    }
}

impl NicOps for SystemNic {
    fn read_state(&mut self, pf: &str) -> Result<NicState, NicError> {
        let sys = self.sys.clone();
        let pfd = pf_device(&sys, pf)?;
        let driver = sys.link_name(&pfd.dir.join("driver"));
        let total_vfs = sys.read_u32(&pfd.dir.join("sriov_totalvfs"))?;
        let num_vfs = sys.read_u32(&pfd.dir.join("sriov_numvfs"))?.unwrap_or(0);
        let flags = sys.read_u32(&sys.class_net(pf).join("flags"))?.unwrap_or(0);
        let vfs = discover::vf_pcis(&sys, &pfd.dir)
            .into_iter()
            .map(|(index, pci)| {
                let dir = sys.pci_device(&pci);
                let netdev = discover::vf_netdev(&sys, &pci).ok();
                let mac = netdev.as_ref().and_then(|n| sys.read(&sys.class_net(n).join("address")));
                VfState { index, driver: sys.link_name(&dir.join("driver")), pci, netdev, mac }
            })
            .collect();
        let eswitch = if sys.is_live() {
            self.devlink().ok().and_then(|d| d.eswitch_mode(&pfd.bus, &pfd.dev).ok())
        } else {
            sys.recorded(&format!("eswitch/{}/{}", pfd.bus, pfd.dev)).and_then(|m| EswitchMode::parse(&m))
        };
        let ports = if sys.is_live() { self.devlink().ok().and_then(|d| d.ports().ok()) } else { None };
        let mut reps = Vec::new();
        for vf in 0..num_vfs {
            if let Ok(netdev) = discover::vf_representor_with(&sys, pf, vf, ports.as_deref()) {
                let tc_offload = self.tc_offload(&netdev);
                reps.push(RepState { vf, netdev, tc_offload });
            }
        }
        let pf_tc_offload = self.tc_offload(pf);
        Ok(NicState {
            pf: pf.into(),
            bus: pfd.bus,
            dev: pfd.dev,
            driver,
            total_vfs,
            num_vfs,
            pf_up: flags & 1 != 0,
            vfs,
            eswitch,
            pf_tc_offload,
            reps,
        })
    }

    fn set_num_vfs(&mut self, pf: &str, n: u32) -> Result<(), NicError> {
        self.live("write sriov_numvfs")?;
        self.sys.write(&self.numvfs_path(pf), &n.to_string(), None)
    }

    fn link_up(&mut self, ifname: &str) -> Result<(), NicError> {
        self.live("bring links up")?;
        let ifindex = self
            .sys
            .read_u32(&self.sys.class_net(ifname).join("ifindex"))?
            .ok_or_else(|| NicError::NotFound(format!("{ifname} has no ifindex in sysfs")))?;
        let fail = |e: crate::nl::NlFailure| NicError::Netlink {
            family: "rtnetlink",
            op: format!("link set {ifname} up"),
            message: e.message,
            errno: e.errno,
        };
        let mut sock = NlSocket::route().map_err(fail)?;
        let seq = sock.next_seq();
        sock.request(&link_up_request(seq, ifindex)).map_err(fail)?;
        Ok(())
    }

    fn unbind(&mut self, pci: &str, driver: &str) -> Result<(), NicError> {
        self.live("unbind VFs")?;
        let p = self.sys.path("sys/bus/pci/drivers").join(driver).join("unbind");
        self.sys.write(&p, pci, None)
    }

    fn bind(&mut self, pci: &str, driver: &str) -> Result<(), NicError> {
        self.live("bind VFs")?;
        let p = self.sys.path("sys/bus/pci/drivers").join(driver).join("bind");
        self.sys.write(&p, pci, None)
    }

    fn set_eswitch(&mut self, bus: &str, dev: &str, mode: EswitchMode) -> Result<(), NicError> {
        self.live("change the eswitch mode")?;
        self.devlink()?.set_eswitch_mode(bus, dev, mode)
    }

    fn tc_offload_on(&mut self, ifname: &str) -> Result<(), NicError> {
        self.live("change ethtool features")?;
        self.ethtool()?.set_feature(ifname, HW_TC_OFFLOAD, true)
    }

    fn sleep(&mut self, d: Duration) {
        std::thread::sleep(d);
    }
}

/// `RTM_NEWLINK` with `IFF_UP` in flags and change: `ip link set <dev> up`.
pub fn link_up_request(seq: u32, ifindex: u32) -> Vec<u8> {
    const RTM_NEWLINK: u16 = 16;
    const IFF_UP: u32 = 1;
    let mut ifinfo = Vec::with_capacity(16);
    ifinfo.extend_from_slice(&[0, 0]); // ifi_family AF_UNSPEC, pad
    ifinfo.extend_from_slice(&0u16.to_ne_bytes()); // ifi_type
    ifinfo.extend_from_slice(&(ifindex as i32).to_ne_bytes());
    ifinfo.extend_from_slice(&IFF_UP.to_ne_bytes()); // ifi_flags
    ifinfo.extend_from_slice(&IFF_UP.to_ne_bytes()); // ifi_change
    MsgBuilder::raw(RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK, seq, &ifinfo).finish()
}

/// The final table: VF index, PCI address, VF netdev, representor, MAC.
pub fn vf_table(state: &NicState) -> String {
    let mut rows = vec![["VF", "PCI", "VF NETDEV", "REPRESENTOR", "MAC"].map(String::from)];
    for vf in 0..state.num_vfs {
        let dev = state.vfs.iter().find(|v| v.index == vf);
        let rep = state.reps.iter().find(|r| r.vf == vf);
        let cell = |s: Option<&String>| s.cloned().unwrap_or_else(|| "-".into());
        rows.push([
            vf.to_string(),
            cell(dev.map(|d| &d.pci)),
            cell(dev.and_then(|d| d.netdev.as_ref())),
            cell(rep.map(|r| &r.netdev)),
            cell(dev.and_then(|d| d.mac.as_ref())),
        ]);
    }
    columns(&rows)
}

/// Rows as left-aligned columns two spaces apart, trailing blanks trimmed.
pub fn columns<R: AsRef<[String]>>(rows: &[R]) -> String {
    let mut width: Vec<usize> = Vec::new();
    for r in rows {
        for (i, c) in r.as_ref().iter().enumerate() {
            if width.len() <= i {
                width.push(0);
            }
            width[i] = width[i].max(c.len());
        }
    }
    let mut out = String::new();
    for r in rows {
        let line: Vec<String> = r.as_ref().iter().zip(&width).map(|(c, w)| format!("{c:<w$}")).collect();
        out += line.join("  ").trim_end();
        out.push('\n');
    }
    out
}

/// The `hwol nic status` text for a state.
pub fn status_text(state: &NicState) -> String {
    let opt = |o: Option<bool>| match o {
        Some(true) => "on",
        Some(false) => "off",
        None => "unknown",
    };
    let mut out = format!(
        "PF {} ({}, driver {}): {}, sriov_numvfs {}{}, eswitch {}, hw-tc-offload {}\n",
        state.pf,
        state.handle(),
        state.driver.as_deref().unwrap_or("none"),
        if state.pf_up { "up" } else { "down" },
        state.num_vfs,
        state.total_vfs.map(|t| format!(" of {t}")).unwrap_or_default(),
        state.eswitch.map_or("unknown", |m| m.name()),
        opt(state.pf_tc_offload),
    );
    out += &vf_table(state);
    out
}
