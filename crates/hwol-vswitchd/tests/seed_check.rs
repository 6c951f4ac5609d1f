//! The seed's acceptance check as a system test: scripts/demo.sh on the
//! emulated NIC with the XDP provider, asserting that at least 99% of the
//! packets bypass the slow path and that the offloaded dump holds the
//! `ct(zone=65520),recirc` and established-connection flows.
//!
//! Needs root (CI runs as root); it fails, rather than skips, without it.

use std::process::Command;
use std::sync::Mutex;

/// The demos measure throughput: run them one at a time.
static SERIAL: Mutex<()> = Mutex::new(());

#[test]
fn iperf3_between_two_pods_bypasses_the_slow_path() {
    let text = run_demo("hwt", &[("DEMO_SECONDS", "3")]);
    let offloaded = text.split("dpctl/dump-flows --names type=offloaded").nth(1).unwrap_or("");
    assert!(offloaded.contains("actions:ct(zone=65520),recirc("), "no ct+recirc flow offloaded:\n{text}");
    assert!(offloaded.contains("ct_state(+est+trk)"), "no established flow offloaded:\n{text}");
    let verdict = text.lines().find(|l| l.starts_with("slow path:")).unwrap_or_else(|| panic!("no verdict:\n{text}"));
    // "slow path: S of T packets (P%), fast path: F%"
    let fast: f64 = verdict.rsplit("fast path: ").next().unwrap().trim_end_matches('%').parse().unwrap();
    assert!(fast >= 99.0, "only {fast}% of packets bypassed the slow path: {verdict}");
}

/// Run scripts/demo.sh on the debug binaries (one demo at a time, each with
/// its own interface prefix) and return its output; fails the test if the
/// demo fails.
fn run_demo(prefix: &str, env: &[(&str, &str)]) -> String {
    let _one_at_a_time = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    assert!(nix_is_root(), "this system test needs root (network namespaces, XDP); CI runs as root");
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let target = std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| root.join("target").to_string_lossy().into());
    let out = Command::new("bash")
        .arg(root.join("scripts/demo.sh"))
        .envs(env.iter().copied())
        .env("DEMO_PROFILE", "debug")
        .env("DEMO_SKIP_SETUP", "1")
        .env("DEMO_PREFIX", format!("{prefix}{}", std::process::id() % 100000))
        .env("CARGO_TARGET_DIR", target)
        .output()
        .expect("run scripts/demo.sh");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "demo failed:\n{text}\n{err}");
    text
}

fn nix_is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("Uid:")).map(|l| l.split_whitespace().nth(1) == Some("0")))
        .unwrap_or(false)
}

#[test]
fn traffic_keeps_flowing_while_the_daemon_is_killed_and_restarted() {
    let text = run_demo("hwr", &[("DEMO_SECONDS", "5"), ("DEMO_RESTART", "1")]);
    let per_s: Vec<f64> = text
        .lines()
        .find_map(|l| l.strip_prefix("per-second Gbit/s: "))
        .unwrap_or_else(|| panic!("no per-second line:\n{text}"))
        .split_whitespace()
        .map(|x| x.parse().unwrap())
        .collect();
    let mean = per_s.iter().sum::<f64>() / per_s.len() as f64;
    let min = per_s.iter().copied().fold(f64::MAX, f64::min);
    // The kill happens at 2 s and the restart at 3 s: no second may stall.
    assert!(min > 0.25 * mean, "throughput dipped across the restart: {per_s:?}");
    // And the restarted daemon takes new connections (through the adopted
    // megaflows and restored recirc ids), not only the one it inherited.
    let new = text
        .lines()
        .find_map(|l| l.strip_prefix("new connection after the restart: "))
        .unwrap_or_else(|| panic!("no new-connection line:\n{text}"));
    assert!(new.ends_with(" Gbit/s"), "a new connection after the restart failed: {new}");
}
