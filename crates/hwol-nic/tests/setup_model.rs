//! `setup` (plan + execute) against a model NIC that behaves like mlx5 or
//! netdevsim where it matters: `sriov_numvfs` refuses a non-zero to
//! non-zero change (EBUSY), mlx5 refuses the switchdev change while VFs are
//! bound (EBUSY), representors exist only in switchdev mode and appear a
//! few polls after the change, netdevsim's VFs are not PCI devices and its
//! representors start with hw-tc-offload off.
//!
//! Properties: from any starting state, one `setup` reaches the wanted
//! state; a second one does nothing (no operation at all reaches the NIC).

use std::collections::BTreeMap;
use std::time::Duration;

use hwol_nic::devlink::EswitchMode;
use hwol_nic::exec::{setup, ExecOptions, NicOps};
use hwol_nic::plan::{plan, NicState, RepState, VfState};
use hwol_nic::NicError;
use proptest::prelude::*;

#[derive(Debug, Clone)]
struct Model {
    pci: bool,
    total: u32,
    num_vfs: u32,
    bound: Vec<bool>,
    mode: EswitchMode,
    pf_up: bool,
    pf_tc: bool,
    rep_tc: BTreeMap<u32, bool>,
    /// Polls left before new representors show up.
    rep_delay: u32,
    switchdev_unsupported: bool,
    /// Writing 0 to sriov_numvfs resets the eswitch to legacy (netdevsim,
    /// older mlx5).
    resets_on_zero: bool,
    ops: Vec<String>,
}

fn busy(what: &str) -> NicError {
    NicError::Io {
        op: format!("writing to {what}"),
        path: what.into(),
        source: std::io::Error::from_raw_os_error(16),
        hint: None,
    }
}

impl Model {
    fn mlx5() -> Self {
        Model {
            pci: true,
            total: 8,
            num_vfs: 0,
            bound: vec![],
            mode: EswitchMode::Legacy,
            pf_up: false,
            pf_tc: false,
            rep_tc: BTreeMap::new(),
            rep_delay: 0,
            switchdev_unsupported: false,
            resets_on_zero: false,
            ops: vec![],
        }
    }

    fn netdevsim() -> Self {
        Model { pci: false, resets_on_zero: true, ..Model::mlx5() }
    }

    fn make_reps(&mut self) {
        self.rep_tc.clear();
        if self.mode == EswitchMode::Switchdev {
            for vf in 0..self.num_vfs {
                // mlx5 representors come with hw-tc-offload on, netdevsim's off.
                self.rep_tc.insert(vf, self.pci);
            }
            self.rep_delay = 3;
        }
    }
}

impl NicOps for Model {
    fn read_state(&mut self, pf: &str) -> Result<NicState, NicError> {
        let reps_visible = self.rep_delay == 0;
        self.rep_delay = self.rep_delay.saturating_sub(1);
        Ok(NicState {
            pf: pf.into(),
            bus: if self.pci { "pci" } else { "netdevsim" }.into(),
            dev: if self.pci { "0000:03:00.0" } else { "netdevsim10" }.into(),
            driver: Some(if self.pci { "mlx5_core" } else { "netdevsim" }.into()),
            total_vfs: self.pci.then_some(self.total),
            num_vfs: self.num_vfs,
            pf_up: self.pf_up,
            vfs: if self.pci {
                (0..self.num_vfs)
                    .map(|i| VfState {
                        index: i,
                        pci: format!("0000:03:00.{}", i + 2),
                        driver: self.bound[i as usize].then(|| "mlx5_core".to_string()),
                        netdev: self.bound[i as usize].then(|| format!("enp3s0f0v{i}")),
                        mac: None,
                    })
                    .collect()
            } else {
                vec![]
            },
            eswitch: Some(self.mode),
            pf_tc_offload: Some(self.pf_tc),
            reps: if reps_visible {
                self.rep_tc
                    .iter()
                    .map(|(&vf, &on)| RepState { vf, netdev: format!("rep{vf}"), tc_offload: Some(on) })
                    .collect()
            } else {
                vec![]
            },
        })
    }

    fn set_num_vfs(&mut self, _pf: &str, n: u32) -> Result<(), NicError> {
        self.ops.push(format!("numvfs {n}"));
        if self.num_vfs != 0 && n != 0 && n != self.num_vfs {
            return Err(busy("sriov_numvfs"));
        }
        if self.pci && n > self.total {
            return Err(NicError::Io {
                op: "w".into(),
                path: "sriov_numvfs".into(),
                source: std::io::Error::from_raw_os_error(34),
                hint: None,
            });
        }
        self.num_vfs = n;
        self.bound = vec![true; n as usize]; // autoprobe
        if n == 0 && self.resets_on_zero {
            self.mode = EswitchMode::Legacy;
        }
        self.make_reps();
        Ok(())
    }

    fn link_up(&mut self, _: &str) -> Result<(), NicError> {
        self.ops.push("up".into());
        self.pf_up = true;
        Ok(())
    }

    fn unbind(&mut self, pci: &str, _: &str) -> Result<(), NicError> {
        self.ops.push(format!("unbind {pci}"));
        let i = pci.rsplit('.').next().unwrap().parse::<usize>().unwrap() - 2;
        assert!(self.bound[i], "unbind of an unbound VF {pci}");
        self.bound[i] = false;
        Ok(())
    }

    fn bind(&mut self, pci: &str, driver: &str) -> Result<(), NicError> {
        self.ops.push(format!("bind {pci} {driver}"));
        let i = pci.rsplit('.').next().unwrap().parse::<usize>().unwrap() - 2;
        assert!(!self.bound[i], "bind of a bound VF {pci}");
        self.bound[i] = true;
        Ok(())
    }

    fn set_eswitch(&mut self, bus: &str, dev: &str, mode: EswitchMode) -> Result<(), NicError> {
        self.ops.push(format!("eswitch {bus}/{dev} {}", mode.name()));
        if self.switchdev_unsupported {
            return Err(NicError::Netlink {
                family: "devlink",
                op: "eswitch set".into(),
                message: "Operation not supported".into(),
                errno: 95,
            });
        }
        if self.pci && self.bound.iter().any(|b| *b) {
            return Err(NicError::Netlink {
                family: "devlink",
                op: "eswitch set".into(),
                message: "busy".into(),
                errno: 16,
            });
        }
        self.mode = mode;
        self.make_reps();
        Ok(())
    }

    fn tc_offload_on(&mut self, ifname: &str) -> Result<(), NicError> {
        self.ops.push(format!("tc {ifname}"));
        match ifname.strip_prefix("rep") {
            Some(n) => *self.rep_tc.get_mut(&n.parse().unwrap()).unwrap() = true,
            None => self.pf_tc = true,
        }
        Ok(())
    }

    fn sleep(&mut self, _: Duration) {}
}

fn run(m: &mut Model, want: u32) -> Result<(String, NicState), NicError> {
    let mut lines = String::new();
    let opts = ExecOptions { rep_timeout: Duration::from_secs(2), poll: Duration::from_millis(100) };
    let (p, state) = setup(m, "pf0", want, &opts, &mut |l| {
        lines.push_str(l);
        lines.push('\n')
    })?;
    Ok((format!("{p}{lines}"), state))
}

fn assert_set_up(m: &Model, want: u32) {
    assert_eq!(m.num_vfs, want);
    assert_eq!(m.mode, EswitchMode::Switchdev);
    assert!(m.pf_up && m.pf_tc);
    if m.pci {
        assert!(m.bound.iter().all(|b| *b), "all VFs bound: {:?}", m.bound);
    }
    assert_eq!(m.rep_tc.len() as u32, want);
    assert!(m.rep_tc.values().all(|on| *on));
}

#[test]
fn mlx5_fresh_then_idempotent() {
    let mut m = Model::mlx5();
    let (out, state) = run(&mut m, 4).unwrap();
    assert_set_up(&m, 4);
    assert_eq!(
        m.ops[..8],
        [
            "numvfs 4",
            "up",
            "unbind 0000:03:00.2",
            "unbind 0000:03:00.3",
            "unbind 0000:03:00.4",
            "unbind 0000:03:00.5",
            "eswitch pci/0000:03:00.0 switchdev",
            "tc pf0"
        ]
    );
    assert!(out.contains("[8/9] wait for 4 representors: wait until 4 representors appear (now 0)"), "{out}");
    assert!(out.contains("0/4 representors") && out.contains("4/4 representors"), "{out}");
    assert_eq!(state.reps.len(), 4);

    m.ops.clear();
    let (out, _) = run(&mut m, 4).unwrap();
    assert!(m.ops.is_empty(), "second run touched the NIC: {:?}", m.ops);
    assert!(out.starts_with("pf0: nothing to do, 4 VFs are set up:"), "{out}");
    assert_eq!(out.matches("[ok]").count(), 9, "{out}");
}

#[test]
fn netdevsim_has_no_vf_devices() {
    let mut m = Model::netdevsim();
    let (out, _) = run(&mut m, 4).unwrap();
    assert_set_up(&m, 4);
    assert!(!m.ops.iter().any(|o| o.starts_with("unbind") || o.starts_with("bind")), "{:?}", m.ops);
    assert!(out.contains("netdevsim10's VFs are not PCI devices: nothing to unbind"), "{out}");
    assert!(m.ops.contains(&"tc rep3".to_string()));
}

#[test]
fn resize_in_switchdev_sets_the_mode_again_after_a_reset() {
    // Found in the VM: netdevsim goes back to legacy when sriov_numvfs is 0.
    let mut m = Model::netdevsim();
    run(&mut m, 4).unwrap();
    m.ops.clear();
    let (out, _) = run(&mut m, 2).unwrap();
    assert_set_up(&m, 2);
    assert_eq!(m.ops[..3], ["numvfs 0", "numvfs 2", "eswitch netdevsim/netdevsim10 switchdev"]);
    assert!(out.contains("if disabling SR-IOV reset it to legacy"), "{out}");
    // mlx5 that keeps the mode: nothing is unbound, the mode is not set again.
    let mut m = Model::mlx5();
    run(&mut m, 4).unwrap();
    m.ops.clear();
    run(&mut m, 2).unwrap();
    assert_set_up(&m, 2);
    assert_eq!(m.ops, ["numvfs 0", "numvfs 2"]);
}

#[test]
fn switchdev_unsupported_names_step_and_cause() {
    let mut m = Model { switchdev_unsupported: true, ..Model::mlx5() };
    let e = run(&mut m, 2).unwrap_err().to_string();
    assert!(e.contains("step \"set the eswitch mode to switchdev\" failed"), "{e}");
    assert!(e.contains("likely cause: driver mlx5_core: eswitch mode switchdev not supported (firmware?)"), "{e}");
}

#[test]
fn representors_that_never_come_time_out() {
    let mut m = Model { rep_delay: 0, ..Model::mlx5() };
    m.num_vfs = 2;
    m.bound = vec![true, true];
    m.mode = EswitchMode::Switchdev;
    m.pf_up = true;
    m.pf_tc = true;
    // Switchdev, but the driver made no representors.
    let e = run(&mut m, 2).unwrap_err().to_string();
    assert!(e.contains("wait for 2 representors") && e.contains("only 0 of 2 representors"), "{e}");
}

fn any_model() -> impl Strategy<Value = Model> {
    let flags = (any::<bool>(), any::<bool>(), any::<bool>(), any::<bool>(), any::<bool>());
    (flags, 0u32..=8, proptest::collection::vec(any::<bool>(), 8)).prop_map(|((pci, sw, up, tc, resets), n, bound)| {
        let mut m = if pci { Model::mlx5() } else { Model::netdevsim() };
        m.resets_on_zero = resets;
        m.num_vfs = n;
        m.bound = if pci { bound[..n as usize].to_vec() } else { vec![true; n as usize] };
        m.mode = if sw { EswitchMode::Switchdev } else { EswitchMode::Legacy };
        m.pf_up = up;
        m.pf_tc = tc;
        m.make_reps();
        m.rep_delay = 0;
        m
    })
}

proptest! {
    #[test]
    fn any_state_converges_and_stays(mut m in any_model(), want in 1u32..=8) {
        run(&mut m, want).unwrap();
        assert_set_up(&m, want);
        let state = m.read_state("pf0").unwrap();
        prop_assert!(plan(&state, want).unwrap().nothing_to_do());
        m.ops.clear();
        run(&mut m, want).unwrap();
        prop_assert!(m.ops.is_empty(), "second run: {:?}", m.ops);
    }
}
