//! `hwol pipeline` and `hwol ofproto trace`, run as a user runs them.

use std::process::Command;

fn hwol(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_hwol")).args(args).output().expect("run hwol");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

const PIPELINE: &[&str] = &[
    "pipeline",
    "--subnet",
    "192.168.1.0/24",
    "--gateway",
    "gw0:3:0a:58:c0:a8:01:01:192.168.1.1",
    "--pod",
    "rep1:1:42:66:d7:45:0d:7e:192.168.1.16",
    "--pod",
    "rep2:2:16:fd:c6:0b:60:52:192.168.1.17",
];

#[test]
fn trace_of_pod_to_pod_tcp_shows_both_passes() {
    let (ok, flows, err) = hwol(PIPELINE);
    assert!(ok, "{err}");
    let dir = std::env::temp_dir().join(format!("hwol-cli-trace-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("flows.txt");
    std::fs::write(&file, &flows).unwrap();
    let packet = "in_port(rep1),eth(src=42:66:d7:45:0d:7e,dst=16:fd:c6:0b:60:52),eth_type(0x0800),\
                  ipv4(src=192.168.1.16,dst=192.168.1.17,proto=6,ttl=64,frag=no),tcp(src=43558,dst=5201)";
    let (ok, trace, err) = hwol(&[
        "ofproto",
        "trace",
        "--flows",
        file.to_str().unwrap(),
        "--port",
        "rep1=1",
        "--port",
        "rep2=2",
        "--port",
        "gw0=3",
        packet,
    ]);
    std::fs::remove_dir_all(&dir).ok();
    assert!(ok, "{err}");
    insta::assert_snapshot!(trace);
}

#[test]
fn bad_inputs_say_what_to_fix() {
    let (ok, _, err) =
        hwol(&["pipeline", "--subnet", "192.168.1.0/33", "--gateway", "gw0:3:0a:58:c0:a8:01:01:192.168.1.1"]);
    assert!(!ok);
    assert!(err.contains("a.b.c.d/len"), "{err}");
    let (ok, _, err) = hwol(&["pipeline", "--subnet", "192.168.1.0/24", "--gateway", "gw0:3:192.168.1.1"]);
    assert!(!ok);
    assert!(err.contains("NAME:OFPORT:MAC:IP"), "{err}");
    let (ok, _, err) = hwol(&["ofproto", "trace", "--flows", "/nonexistent/flows", "--port", "p1=1", "in_port(p1)"]);
    assert!(!ok);
    assert!(err.contains("/nonexistent/flows"), "{err}");
}
