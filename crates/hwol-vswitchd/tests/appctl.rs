//! `ovs-appctl` (Debian's real binary) against hwol-vswitchd: both ways of
//! naming the target, the seed's command verbatim, errors with exit status 2,
//! and the OVS-formatted commands (vlog/list, coverage/show) compared with
//! what a real ovs-vswitchd prints in the same run.
//!
//! Needs root and openvswitch-common (CI installs both).

mod common;

use std::process::Command;

use common::Rig;

fn appctl(env_rundir: Option<&std::path::Path>, args: &[&str]) -> (i32, String, String) {
    let mut cmd = Command::new("ovs-appctl");
    if let Some(d) = env_rundir {
        cmd.env("OVS_RUNDIR", d);
    }
    let out = cmd.args(["--timeout", "10"]).args(args).output().expect("run ovs-appctl (install openvswitch-common)");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn ovs_appctl_drives_hwol_like_ovs_vswitchd() {
    let mut rig = Rig::new(&format!("appctl{}", std::process::id() % 100000));
    rig.start();
    let ctl = rig.ctl();
    let ctl = ctl.to_str().unwrap();

    // -t NAME through OVS_RUNDIR and the pidfile, and -t PATH.
    let (code, by_name, _) = appctl(Some(&rig.dir), &["-t", "hwol-vswitchd", "version"]);
    assert_eq!(code, 0);
    assert!(by_name.starts_with("hwol-vswitchd "), "{by_name}");
    let (code, by_path, _) = appctl(None, &["-t", ctl, "version"]);
    assert_eq!((code, &by_path), (0, &by_name));

    let (code, list, _) = appctl(None, &["-t", ctl, "list-commands"]);
    assert_eq!(code, 0);
    for c in [
        "dpctl/dump-flows",
        "dpctl/dump-conntrack",
        "dpctl/offload-stats-show",
        "dpctl/del-flows",
        "ofproto/trace",
        "fdb/show",
        "coverage/show",
        "vlog/set",
        "vlog/list",
        "exit",
    ] {
        assert!(list.lines().any(|l| l.trim_start().starts_with(c)), "{c} missing from list-commands:\n{list}");
    }

    // The seed's command, verbatim.
    let (code, _, err) =
        appctl(Some(&rig.dir), &["-t", "hwol-vswitchd", "dpctl/dump-flows", "--names", "type=offloaded"]);
    assert_eq!(code, 0, "{err}");

    // Errors: exit status 2 and the message.
    let (code, _, err) = appctl(None, &["-t", ctl, "dpctl/dump-flows", "type=bogus"]);
    assert_eq!(code, 2);
    assert!(err.contains("bogus"), "{err}");
    let (code, _, err) = appctl(None, &["-t", ctl, "vlog/set", "nosuchmodule:dbg"]);
    assert_eq!(code, 2);
    assert!(err.contains("no destination, level, or module \"nosuchmodule\""), "{err}");

    // vlog/set takes effect in vlog/list.
    assert_eq!(appctl(None, &["-t", ctl, "vlog/set", "hwol_switch:console:dbg"]).0, 0);
    let (_, vlist, _) = appctl(None, &["-t", ctl, "vlog/list"]);
    assert!(vlist.lines().any(|l| l.starts_with("hwol_switch") && l.contains("DBG")), "{vlist}");

    // Formats, against a real ovs-vswitchd in the same run.
    let ovs = hwol_ovs_harness::Ovs::start().expect("start a private ovs-vswitchd");
    let real_vlist = ovs.appctl(&["vlog/list"]).unwrap();
    let header = |t: &str| t.lines().take(2).map(str::to_string).collect::<Vec<_>>();
    assert_eq!(header(&vlist), header(&real_vlist));
    // Module rows: a 16-column name, then the three levels right-aligned in OVS's columns.
    let row = |t: &str| t.lines().nth(2).unwrap().to_string();
    let (ours, real) = (row(&vlist), row(&real_vlist));
    assert_eq!(ours.len(), real.len(), "{ours:?} vs {real:?}");
    for col in [21, 32, 43] {
        assert!(ours.as_bytes()[col] != b' ' && real.as_bytes()[col] != b' ', "{ours:?} vs {real:?}");
    }

    let real_cov = ovs.appctl(&["coverage/show"]).unwrap();
    let (_, cov, _) = appctl(None, &["-t", ctl, "coverage/show"]);
    let first = |t: &str| t.lines().next().unwrap().rsplit_once("hash=").unwrap().0.to_string();
    assert_eq!(first(&cov), first(&real_cov));
    let last = |t: &str| t.lines().last().unwrap().split_once(' ').unwrap().1.to_string();
    assert_eq!(last(&cov), last(&real_cov));
    // A counter row: the same columns as OVS's (name, three rates, total).
    let shape = |l: &str| {
        l.split_whitespace()
            .skip(1)
            .map(|w| w.chars().filter(|c| !c.is_ascii_digit()).collect::<String>())
            .collect::<Vec<_>>()
    };
    let real_row = real_cov.lines().nth(1).unwrap();
    for row in cov.lines().skip(1).filter(|l| l.contains("total:")) {
        assert_eq!(shape(row), shape(real_row), "{row:?} vs {real_row:?}");
        assert_eq!(row.find("/sec"), real_row.find("/sec"), "{row:?} vs {real_row:?}");
    }

    // exit stops the daemon cleanly.
    assert_eq!(appctl(None, &["-t", ctl, "exit"]).0, 0);
}
