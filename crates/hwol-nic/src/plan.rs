//! The provisioning plan: from the NIC's current state to a list of steps,
//! pure (no I/O), so that `--dry-run`, idempotence and the step order are
//! tested without a NIC.
//!
//! The steps are those of the seed's "Instructions for Mellanox ConnectX-5
//! and Above", in its order:
//!
//! 1. check `sriov_totalvfs` (the firmware's limit, `NUM_OF_VFS`);
//! 2. set `sriov_numvfs` (through 0 when it holds another non-zero value:
//!    the kernel refuses to change it directly, EBUSY);
//! 3. bring the PF up;
//! 4. unbind the VFs from their driver (mlx5 refuses to change the eswitch
//!    mode while VFs are bound);
//! 5. devlink eswitch mode switchdev;
//! 6. ethtool hw-tc-offload on the PF;
//! 7. bind the VFs again;
//! 8. wait for the representors;
//! 9. hw-tc-offload on the representors (on by default on mlx5; netdevsim
//!    needs it for flower rules to be offloaded).
//!
//! Every step is either [`Action::Do`] or [`Action::Satisfied`] with the
//! reason; a plan whose steps are all satisfied is "nothing to do", which is
//! what a second run of `hwol nic setup` prints. Steps 4 and 7 only run when
//! the eswitch mode changes (or a VF is found unbound), so a second run does
//! not disturb VFs that pods are using.

use std::fmt;

use crate::devlink::EswitchMode;
use crate::NicError;

/// What the planner needs to know about a PF and its VFs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NicState {
    /// The PF netdev.
    pub pf: String,
    /// The PF's bus (`pci`, `netdevsim`).
    pub bus: String,
    /// The PF's device name (PCI address, `netdevsim10`).
    pub dev: String,
    /// The PF's driver (`mlx5_core`, `netdevsim`).
    pub driver: Option<String>,
    /// `sriov_totalvfs`; `None` when the device has no such file (netdevsim).
    pub total_vfs: Option<u32>,
    /// `sriov_numvfs`.
    pub num_vfs: u32,
    /// Whether the PF is administratively up.
    pub pf_up: bool,
    /// The VF PCI functions (`virtfn<N>` links); empty on netdevsim, whose
    /// VFs are not devices.
    pub vfs: Vec<VfState>,
    /// The eswitch mode; `None` if it could not be read.
    pub eswitch: Option<EswitchMode>,
    /// hw-tc-offload on the PF; `None` if it could not be read.
    pub pf_tc_offload: Option<bool>,
    /// The VF representors found, by VF index.
    pub reps: Vec<RepState>,
}

/// One VF PCI function.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VfState {
    /// VF index.
    pub index: u32,
    /// PCI address.
    pub pci: String,
    /// The driver it is bound to, if any.
    pub driver: Option<String>,
    /// Its netdev, if any.
    pub netdev: Option<String>,
    /// Its netdev's MAC, if any.
    pub mac: Option<String>,
}

/// One VF representor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepState {
    /// VF index.
    pub vf: u32,
    /// The representor netdev.
    pub netdev: String,
    /// hw-tc-offload on it; `None` if it could not be read.
    pub tc_offload: Option<bool>,
}

impl NicState {
    /// Whether the VFs are devices of their own (PCI) that can be unbound
    /// and bound; netdevsim's are not.
    pub fn vfs_are_devices(&self) -> bool {
        self.bus == "pci"
    }

    /// The devlink handle, `bus/dev`.
    pub fn handle(&self) -> String {
        format!("{}/{}", self.bus, self.dev)
    }

    /// The driver to bind VFs to: the one any VF is bound to, else the PF's.
    pub fn vf_driver(&self) -> Option<String> {
        self.vfs.iter().find_map(|v| v.driver.clone()).or_else(|| self.driver.clone())
    }
}

/// One provisioning step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Check that `sriov_totalvfs` allows the VFs asked for.
    CheckTotalVfs,
    /// Write `sriov_numvfs` (0 first if `from` is another non-zero value).
    SetNumVfs {
        /// The current value.
        from: u32,
        /// The value wanted.
        to: u32,
    },
    /// Bring the PF up.
    PfUp,
    /// Unbind the VFs from their driver.
    UnbindVfs,
    /// Set the eswitch mode to switchdev.
    Switchdev,
    /// Turn hw-tc-offload on on the PF.
    PfTcOffload,
    /// Bind the VFs to their driver.
    BindVfs,
    /// Wait until every VF has a representor.
    WaitRepresentors {
        /// How many.
        count: u32,
    },
    /// Turn hw-tc-offload on on the representors that have it off.
    RepTcOffload,
}

impl Step {
    /// A short title, used in progress lines and errors.
    pub fn title(&self) -> String {
        match self {
            Step::CheckTotalVfs => "check sriov_totalvfs".into(),
            Step::SetNumVfs { to, .. } => format!("set sriov_numvfs to {to}"),
            Step::PfUp => "bring the PF up".into(),
            Step::UnbindVfs => "unbind the VFs from their driver".into(),
            Step::Switchdev => "set the eswitch mode to switchdev".into(),
            Step::PfTcOffload => "turn hw-tc-offload on (PF)".into(),
            Step::BindVfs => "bind the VFs to their driver".into(),
            Step::WaitRepresentors { count } => format!("wait for {count} representors"),
            Step::RepTcOffload => "turn hw-tc-offload on (representors)".into(),
        }
    }
}

/// Whether a planned step has work to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Run it; the text says what it will do.
    Do(String),
    /// Already so; the text says why.
    Satisfied(String),
}

/// A step with its action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Planned {
    /// The step.
    pub step: Step,
    /// Do it, or already satisfied.
    pub action: Action,
}

/// The plan for one PF.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// The PF netdev.
    pub pf: String,
    /// VFs wanted.
    pub vfs: u32,
    /// The steps in order.
    pub steps: Vec<Planned>,
}

impl Plan {
    /// Whether every step is already satisfied.
    pub fn nothing_to_do(&self) -> bool {
        self.steps.iter().all(|p| matches!(p.action, Action::Satisfied(_)))
    }

    /// The steps to run.
    pub fn todo(&self) -> impl Iterator<Item = &Planned> {
        self.steps.iter().filter(|p| matches!(p.action, Action::Do(_)))
    }
}

impl fmt::Display for Plan {
    /// The `--dry-run` text: one line per step, `do` or `ok`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.nothing_to_do() {
            writeln!(f, "{}: nothing to do, {} VFs are set up:", self.pf, self.vfs)?;
        } else {
            writeln!(f, "plan for {} with {} VFs:", self.pf, self.vfs)?;
        }
        for (i, p) in self.steps.iter().enumerate() {
            let (tag, text) = match &p.action {
                Action::Do(t) => ("do", t),
                Action::Satisfied(t) => ("ok", t),
            };
            writeln!(f, "  {}. [{tag}] {}: {text}", i + 1, p.step.title())?;
        }
        Ok(())
    }
}

/// Plan the setup of `want` VFs on the NIC in `state`.
///
/// Fails only when the request cannot be met at all (0 VFs, more than
/// `sriov_totalvfs`).
pub fn plan(state: &NicState, want: u32) -> Result<Plan, NicError> {
    let pf = &state.pf;
    if want == 0 {
        return Err(NicError::Invalid(format!(
            "--vfs must be at least 1 (to remove the VFs of {pf}: echo 0 > /sys/class/net/{pf}/device/sriov_numvfs)"
        )));
    }
    let mut steps = Vec::new();
    let mut push = |step: Step, action: Action| steps.push(Planned { step, action });

    // 1. sriov_totalvfs
    match state.total_vfs {
        Some(t) if want > t => {
            return Err(NicError::Invalid(format!(
                "{pf} supports at most {t} VFs (sriov_totalvfs), {want} asked; ask for fewer, or raise the \
                 firmware limit (ConnectX: mlxconfig -d {} set SRIOV_EN=1 NUM_OF_VFS={want}, then reboot)",
                state.dev
            )))
        }
        Some(0) | None if state.vfs_are_devices() => {
            return Err(NicError::Invalid(format!(
                "{pf} ({}) is not SR-IOV capable: no sriov_totalvfs or it is 0; enable SR-IOV in the BIOS and \
                 in the NIC's firmware (ConnectX: mlxconfig SRIOV_EN=1)",
                state.handle()
            )))
        }
        Some(t) => push(Step::CheckTotalVfs, Action::Satisfied(format!("sriov_totalvfs is {t}, {want} wanted"))),
        None => push(
            Step::CheckTotalVfs,
            Action::Satisfied(format!("{} has no sriov_totalvfs (not a PCI device): no limit to check", state.dev)),
        ),
    }

    // 2. sriov_numvfs
    let numvfs_changes = state.num_vfs != want;
    if numvfs_changes {
        let how = if state.num_vfs == 0 {
            format!("write {want} (now 0)")
        } else {
            format!("write 0 then {want} (now {}; the kernel refuses a direct change)", state.num_vfs)
        };
        push(Step::SetNumVfs { from: state.num_vfs, to: want }, Action::Do(how));
    } else {
        push(Step::SetNumVfs { from: want, to: want }, Action::Satisfied(format!("sriov_numvfs is {want}")));
    }

    // 3. PF up
    if state.pf_up {
        push(Step::PfUp, Action::Satisfied(format!("{pf} is up")));
    } else {
        push(Step::PfUp, Action::Do(format!("ip link set {pf} up")));
    }

    // 4.-7. unbind, switchdev, hw-tc-offload, bind
    // Writing 0 to sriov_numvfs puts netdevsim (and mlx5 before 6.x) back
    // in legacy mode: then the mode must be set again. The executor checks
    // the mode when it gets there and skips what is already so.
    let mode_may_reset = numvfs_changes && state.num_vfs != 0;
    let mode_changes = state.eswitch != Some(EswitchMode::Switchdev) || mode_may_reset;
    let driver = state.vf_driver().unwrap_or_else(|| "its driver".into());
    let bound: Vec<&VfState> = state.vfs.iter().filter(|v| v.driver.is_some()).collect();
    let unbind = state.vfs_are_devices() && mode_changes && (numvfs_changes || !bound.is_empty());
    if unbind {
        let which = if numvfs_changes { format!("all {want}") } else { bound.len().to_string() };
        let when =
            if state.eswitch == Some(EswitchMode::Switchdev) { " if the eswitch fell back to legacy" } else { "" };
        push(Step::UnbindVfs, Action::Do(format!("unbind {which} VFs from {driver}{when}")));
    } else {
        let why = if !state.vfs_are_devices() {
            format!("{}'s VFs are not PCI devices: nothing to unbind", state.dev)
        } else if !mode_changes {
            "eswitch already in switchdev mode: VFs stay bound".into()
        } else {
            "no VF is bound".into()
        };
        push(Step::UnbindVfs, Action::Satisfied(why));
    }
    match state.eswitch {
        Some(EswitchMode::Switchdev) if mode_may_reset => push(
            Step::Switchdev,
            Action::Do(format!(
                "devlink dev eswitch set {} mode switchdev if disabling SR-IOV reset it to legacy",
                state.handle()
            )),
        ),
        Some(EswitchMode::Switchdev) => {
            push(Step::Switchdev, Action::Satisfied(format!("{} is in switchdev mode", state.handle())))
        }
        other => push(
            Step::Switchdev,
            Action::Do(format!(
                "devlink dev eswitch set {} mode switchdev (now {})",
                state.handle(),
                other.map_or("unknown", |m| m.name())
            )),
        ),
    }
    if state.pf_tc_offload == Some(true) {
        push(Step::PfTcOffload, Action::Satisfied(format!("hw-tc-offload is on on {pf}")));
    } else {
        push(Step::PfTcOffload, Action::Do(format!("ethtool -K {pf} hw-tc-offload on")));
    }
    let unbound_now = state.vfs.len() - bound.len();
    if state.vfs_are_devices() && (unbind || (!numvfs_changes && unbound_now > 0)) {
        let which = if unbind { "the unbound".to_string() } else { unbound_now.to_string() };
        push(Step::BindVfs, Action::Do(format!("bind {which} VFs to {driver}")));
    } else if !state.vfs_are_devices() {
        push(Step::BindVfs, Action::Satisfied(format!("{}'s VFs are not PCI devices: nothing to bind", state.dev)));
    } else if numvfs_changes {
        push(Step::BindVfs, Action::Satisfied("new VFs are probed by their driver when created".into()));
    } else {
        push(Step::BindVfs, Action::Satisfied(format!("all {want} VFs are bound to {driver}")));
    }

    // 8. representors
    let have: Vec<&RepState> = state.reps.iter().filter(|r| r.vf < want).collect();
    let all_reps = !numvfs_changes && !mode_changes && have.len() as u32 == want;
    if all_reps {
        push(Step::WaitRepresentors { count: want }, Action::Satisfied(format!("all {want} representors present")));
    } else {
        push(
            Step::WaitRepresentors { count: want },
            Action::Do(format!("wait until {want} representors appear (now {})", have.len())),
        );
    }

    // 9. hw-tc-offload on the representors
    let off: Vec<&str> = have.iter().filter(|r| r.tc_offload != Some(true)).map(|r| r.netdev.as_str()).collect();
    if all_reps && off.is_empty() {
        push(Step::RepTcOffload, Action::Satisfied("hw-tc-offload is on on every representor".into()));
    } else if all_reps {
        push(Step::RepTcOffload, Action::Do(format!("ethtool -K <rep> hw-tc-offload on for {}", off.join(", "))));
    } else {
        push(Step::RepTcOffload, Action::Do("ethtool -K <rep> hw-tc-offload on where it is off".into()));
    }

    Ok(Plan { pf: pf.clone(), vfs: want, steps })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fresh_cx5() -> NicState {
        NicState {
            pf: "enp3s0f0np0".into(),
            bus: "pci".into(),
            dev: "0000:03:00.0".into(),
            driver: Some("mlx5_core".into()),
            total_vfs: Some(8),
            num_vfs: 0,
            pf_up: false,
            vfs: vec![],
            eswitch: Some(EswitchMode::Legacy),
            pf_tc_offload: Some(false),
            reps: vec![],
        }
    }

    #[test]
    fn fresh_card_plans_every_step_in_the_seeds_order() {
        let p = plan(&fresh_cx5(), 2).unwrap();
        let titles: Vec<String> = p.todo().map(|s| s.step.title()).collect();
        assert_eq!(
            titles,
            [
                "set sriov_numvfs to 2",
                "bring the PF up",
                "unbind the VFs from their driver",
                "set the eswitch mode to switchdev",
                "turn hw-tc-offload on (PF)",
                "bind the VFs to their driver",
                "wait for 2 representors",
                "turn hw-tc-offload on (representors)"
            ]
        );
        assert!(!p.nothing_to_do());
        assert!(p.to_string().contains("1. [ok] check sriov_totalvfs: sriov_totalvfs is 8, 2 wanted"));
    }

    #[test]
    fn too_many_vfs_names_the_firmware_limit() {
        let e = plan(&fresh_cx5(), 9).unwrap_err().to_string();
        assert!(e.contains("at most 8 VFs") && e.contains("NUM_OF_VFS"), "{e}");
        assert!(plan(&fresh_cx5(), 0).is_err());
    }

    #[test]
    fn busy_numvfs_goes_through_zero() {
        let mut s = fresh_cx5();
        s.num_vfs = 4;
        let p = plan(&s, 2).unwrap();
        assert_eq!(p.steps[1].step, Step::SetNumVfs { from: 4, to: 2 });
        assert!(matches!(&p.steps[1].action, Action::Do(t) if t.contains("write 0 then 2")));
    }
}
