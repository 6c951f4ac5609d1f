//! The `hwol-device-plugin` binary as the DaemonSet runs it: flags, the
//! polling loop, registration with the kubelet emulator, and a clean stop on
//! SIGTERM (its socket removed).

use std::process::{Command, Stdio};
use std::time::Duration;

use hwol_deviceplugin::testing::fixture::SysfsTree;
use hwol_deviceplugin::testing::kubelet::Kubelet;
use hwol_deviceplugin::testing::SEED_CONFIG_JSON;

/// Kills the child if the test fails before it stops it.
struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binary_registers_serves_and_stops_on_sigterm() {
    let tmp = tempfile::tempdir().unwrap();
    let sysfs = SysfsTree::connectx5_dual_numa(tmp.path().join("sys")).unwrap();
    let config = tmp.path().join("config.json");
    std::fs::write(&config, SEED_CONFIG_JSON).unwrap();
    let dir = tmp.path().join("device-plugins");
    let kubelet = Kubelet::start(&dir).await.unwrap();

    let mut child = Child(
        Command::new(env!("CARGO_BIN_EXE_hwol-device-plugin"))
            .arg("--config")
            .arg(&config)
            .arg("--sysfs-root")
            .arg(sysfs.root())
            .arg("--plugin-dir")
            .arg(&dir)
            .args(["--poll-seconds", "0.1"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let vfs = [
        "0000:03:00.2",
        "0000:03:00.3",
        "0000:03:00.4",
        "0000:03:00.5",
        "0000:82:00.2",
        "0000:82:00.3",
        "0000:82:00.4",
        "0000:82:00.5",
    ];
    let r = "mellanox.com/cx5_sriov_switchdev";
    kubelet.wait_healthy(r, &vfs, Duration::from_secs(20)).await.expect("the binary advertises the 8 VFs");
    let env = kubelet.allocate(r, &["0000:03:00.2"]).await.unwrap().envs;
    assert_eq!(env["PCIDEVICE_MELLANOX_COM_CX5_SRIOV_SWITCHDEV"], "0000:03:00.2");

    let status = Command::new("kill").args(["-TERM", &child.0.id().to_string()]).status().unwrap();
    assert!(status.success());
    let mut waited = 0;
    let code = loop {
        if let Some(s) = child.0.try_wait().unwrap() {
            break s;
        }
        assert!(waited < 100, "hwol-device-plugin did not stop within 10 s of SIGTERM");
        tokio::time::sleep(Duration::from_millis(100)).await;
        waited += 1;
    };
    assert!(code.success(), "{code}");
    assert!(!dir.join("hwol-mellanox.com-cx5_sriov_switchdev.sock").exists(), "socket removed on stop");
    kubelet.wait_for(r, Duration::from_secs(5), |s| !s.connected).await.expect("ListAndWatch ended");
}
