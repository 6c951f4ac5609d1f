//! Planning on the fixture trees: what `hwol nic setup --dry-run
//! --sysfs-root <fixture>` shows. The "after" trees were recorded (netdevsim)
//! or synthesized (ConnectX-5) in the state `hwol nic setup` leaves, so their
//! plan must be "nothing to do"; the "before" trees need every step.

use std::path::PathBuf;

use hwol_nic::devlink::EswitchMode;
use hwol_nic::exec::{status_text, NicOps, SystemNic};
use hwol_nic::plan::{plan, Action, Step};
use hwol_nic::Sysfs;

fn nic(name: &str) -> SystemNic {
    SystemNic::new(Sysfs::new(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)))
}

#[test]
fn netdevsim_after_setup_is_nothing_to_do() {
    let state = nic("nsim-switchdev").read_state("eth0").unwrap();
    assert_eq!((state.num_vfs, state.eswitch, state.pf_up), (4, Some(EswitchMode::Switchdev), true));
    assert_eq!(state.reps.iter().map(|r| r.netdev.as_str()).collect::<Vec<_>>(), ["eth1", "eth2", "eth3", "eth4"]);
    let p = plan(&state, 4).unwrap();
    assert!(p.nothing_to_do(), "{p}");
    // Asking for another count is not.
    let p = plan(&state, 2).unwrap();
    assert_eq!(p.steps[1].step, Step::SetNumVfs { from: 4, to: 2 });
}

#[test]
fn netdevsim_before_setup_needs_everything_but_bind() {
    let state = nic("nsim-fresh").read_state("eth0").unwrap();
    assert_eq!((state.num_vfs, state.eswitch, state.total_vfs), (0, Some(EswitchMode::Legacy), None));
    let p = plan(&state, 4).unwrap();
    let todo: Vec<&Step> = p.todo().map(|s| &s.step).collect();
    assert_eq!(
        todo,
        [
            &Step::SetNumVfs { from: 0, to: 4 },
            &Step::PfUp,
            &Step::Switchdev,
            &Step::PfTcOffload,
            &Step::WaitRepresentors { count: 4 },
            &Step::RepTcOffload
        ]
    );
    assert!(matches!(&p.steps[3].action, Action::Satisfied(t) if t.contains("not PCI devices")));
}

#[test]
fn connectx_trees() {
    let state = nic("cx5-switchdev").read_state("enp3s0f0np0").unwrap();
    assert!(plan(&state, 2).unwrap().nothing_to_do());
    let text = status_text(&state);
    assert!(text.contains("sriov_numvfs 2 of 8, eswitch switchdev, hw-tc-offload on"), "{text}");
    assert!(text.contains("1   0000:03:00.3  enp3s0f0v1  enp3s0f0npf0vf1  0e:00:00:00:00:01"), "{text}");

    let state = nic("cx5-legacy").read_state("enp3s0f0np0").unwrap();
    let p = plan(&state, 4).unwrap();
    assert_eq!(p.todo().count(), 7, "{p}");
    assert!(plan(&state, 9).unwrap_err().to_string().contains("at most 8 VFs"));
}

#[test]
fn recorded_trees_are_read_only() {
    let mut n = nic("nsim-switchdev");
    let e = n.set_num_vfs("eth0", 0).unwrap_err().to_string();
    assert!(e.contains("read-only") && e.contains("--dry-run"), "{e}");
}
