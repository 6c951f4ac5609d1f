//! The netlink requests against this machine's kernel, read-only: the
//! ethtool feature reply of `lo` is parsed (the verbose bitsets the unit
//! tests build by hand come from the kernel here), and devlink, which this
//! kernel may not have, is answered with `None` rather than an error.

use hwol_nic::devlink::{self, Devlink};
use hwol_nic::ethtool::{Ethtool, HW_TC_OFFLOAD};
use hwol_nic::Sysfs;

#[test]
fn ethtool_features_of_lo() {
    let Some(mut e) = Ethtool::open().expect("generic netlink socket") else {
        eprintln!("skipped: no ethtool netlink in this kernel");
        return;
    };
    // `ethtool -k lo`: "loopback: on [fixed]", "hw-tc-offload: off [fixed]".
    assert_eq!(e.feature("lo", "loopback").unwrap(), (true, false));
    assert_eq!(e.feature("lo", HW_TC_OFFLOAD).unwrap(), (false, false));
    let err = e.feature("hwol-no-such0", HW_TC_OFFLOAD).unwrap_err().to_string();
    assert!(err.contains("ethtool") && err.contains("hwol-no-such0"), "{err}");
}

#[test]
fn devlink_absent_or_listed() {
    match Devlink::open().expect("generic netlink socket") {
        None => assert!(devlink::ports_if_live(&Sysfs::new("/")).is_none()),
        Some(mut d) => {
            let ports = d.ports().unwrap();
            assert!(ports.iter().all(|p| !p.bus.is_empty() && !p.dev.is_empty()));
        }
    }
}
