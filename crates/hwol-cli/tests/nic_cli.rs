//! `hwol nic emulate`, run as a user runs it: help and error text (no root
//! needed), and one create/show/destroy round (root, like CI).

use std::process::Command;

fn hwol(args: &[&str]) -> (Option<i32>, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_hwol")).args(args).output().expect("run hwol");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn emulate_help() {
    let (code, out, _) = hwol(&["nic", "emulate", "--help"]);
    assert_eq!(code, Some(0));
    insta::assert_snapshot!("emulate_help", out);
    let (code, out, _) = hwol(&["nic", "emulate", "attach", "--help"]);
    assert_eq!(code, Some(0));
    insta::assert_snapshot!("emulate_attach_help", out);
}

#[test]
fn bad_arguments_say_what_is_wrong() {
    let (code, out, err) = hwol(&["nic", "emulate", "create", "--prefix", "averylongprefix", "--vfs", "2"]);
    assert_eq!(code, Some(2));
    assert_eq!(out, "");
    insta::assert_snapshot!(err, @r#"hwol: creating emulated NIC "averylongprefix" with 2 VFs: interface name "averylongprefixvf1" is invalid: prefix "averylongprefix" is too long for 2 VFs: "averylongprefixvf1" is 18 bytes, the kernel allows at most 15; use a prefix of at most 12 bytes"#);

    let (code, _, err) =
        hwol(&["nic", "emulate", "attach", "--prefix", "x", "--vf", "0", "--netns", "p", "--ip", "10.0.0.1"]);
    assert_eq!(code, Some(2));
    insta::assert_snapshot!(err, @r#"hwol: "10.0.0.1" is not an IPv4 address with prefix length, like 10.0.0.1/24"#);

    let (code, _, err) = hwol(&["nic", "emulate", "create"]);
    assert_eq!(code, Some(2));
    assert!(err.contains("--prefix <PREFIX>"), "{err}");
}

fn is_root() -> bool {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status.lines().find(|l| l.starts_with("Uid:")).and_then(|l| l.split_whitespace().nth(2)) == Some("0")
}

struct Destroy(String);

impl Drop for Destroy {
    fn drop(&mut self) {
        let _ = hwol(&["nic", "emulate", "destroy", "--prefix", &self.0]);
    }
}

#[test]
fn create_attach_destroy_round() {
    assert!(is_root(), "this test creates veth pairs and network namespaces: run it as root (CI does)");
    let pid = std::process::id();
    let prefix = format!("c{pid}");
    let ns = format!("hwolc{pid}");
    let _guard = Destroy(prefix.clone());

    let (code, out, err) = hwol(&["nic", "emulate", "create", "--prefix", &prefix, "--vfs", "2"]);
    assert_eq!(code, Some(0), "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines[0].starts_with("VF  VF NETDEV"), "{out}");
    assert!(lines[1].starts_with(&format!("0   {prefix}vf0")), "{out}");
    assert!(
        err.contains(&format!("hwol: creating VF 1: veth pair {prefix}vf1 (VF) / {prefix}r1 (representor)")),
        "{err}"
    );

    let (code, out, err) = hwol(&[
        "nic",
        "emulate",
        "attach",
        "--prefix",
        &prefix,
        "--vf",
        "1",
        "--netns",
        &ns,
        "--ip",
        "10.97.0.1/24",
        "--mac",
        "02:00:00:00:97:01",
    ]);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains(&format!("eth0 in netns {ns}")), "{out}");
    let ip = Command::new("ip").args(["-n", &ns, "addr", "show", "eth0"]).output().unwrap();
    let ip = String::from_utf8_lossy(&ip.stdout);
    assert!(ip.contains("02:00:00:00:97:01") && ip.contains("10.97.0.1/24"), "{ip}");

    let (code, out, err) = hwol(&["nic", "emulate", "destroy", "--prefix", &prefix]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(
        out,
        format!(
            "removed veth pair {prefix}r0 / {prefix}vf0\nremoved veth pair {prefix}r1 / eth0 in netns {ns}\n\
             removed network namespace {ns}\n"
        )
    );
    let (code, out, _) = hwol(&["nic", "emulate", "destroy", "--prefix", &prefix]);
    assert_eq!(code, Some(0));
    assert_eq!(out, format!("nothing to remove for prefix {prefix}\n"));
    let (code, _, err) = hwol(&["nic", "emulate", "show", "--prefix", &prefix]);
    assert_eq!(code, Some(2));
    assert!(err.contains("no emulated NIC with prefix"), "{err}");
}
