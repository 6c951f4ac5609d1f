//! The `hwol` binary, run as a user would.

use std::io::Write;
use std::process::{Command, Output, Stdio};

fn hwol(args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_hwol"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run hwol");
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    child.wait_with_output().unwrap()
}

const SEED: &str = include_str!("../../hwol-odp/tests/data/seed-hw-offload.txt");

#[test]
fn each_seed_line_echoes_back() {
    for line in SEED.lines() {
        let out = hwol(&["odp", "parse"], &format!("{line}\n"));
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        assert_eq!(String::from_utf8(out.stdout).unwrap(), format!("{line}\n"));
    }
}

#[test]
fn whole_reference_dumps_echo_back() {
    for text in [
        include_str!("../../hwol-odp/tests/data/dump-flows-hwoffload.txt"),
        include_str!("../../hwol-odp/tests/data/dump-flows-plain.txt"),
        include_str!("../../hwol-odp/tests/data/dump-flows-tso.txt"),
    ] {
        let input = format!("flow-dump from the main thread:\n{text}");
        let out = hwol(&["odp", "parse"], &input);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        assert_eq!(String::from_utf8(out.stdout).unwrap(), input);
    }
}

#[test]
fn a_bad_line_fails_the_run_but_not_the_others() {
    let good = SEED.lines().next().unwrap();
    let input = format!("{good}\nrecirc_id(0),in_port(1),eth_type(0x0800),ipv4(src=10.0.0.1,frag=no,), packets:0, bytes:0, used:never, actions:drop\n{good}\n");
    let out = hwol(&["odp", "parse"], &input);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(String::from_utf8(out.stdout).unwrap(), format!("{good}\n{good}\n"));
    insta::assert_snapshot!(String::from_utf8(out.stderr).unwrap(), @"line 2, column 68: expected ipv4 field (src, dst, proto, tos, ttl, frag), found ')'");
}

#[test]
fn port_pins_turn_names_into_numbers() {
    let line = SEED.lines().next().unwrap();
    let out = hwol(&["odp", "parse", "--port", "eth0=1", "--no-names"], &format!("{line}\n"));
    assert!(out.status.success());
    let printed = String::from_utf8(out.stdout).unwrap();
    assert!(printed.starts_with("recirc_id(0),in_port(1),eth(src=16:fd:c6:0b:60:52)"), "{printed}");
}

#[test]
fn bad_port_pin_is_a_usage_error() {
    let out = hwol(&["odp", "parse", "--port", "eth0"], "");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("is not NAME=N"));
}

#[test]
fn help_text() {
    let out = hwol(&["odp", "parse", "--help"], "");
    assert!(out.status.success());
    insta::assert_snapshot!(String::from_utf8(out.stdout).unwrap());
}
