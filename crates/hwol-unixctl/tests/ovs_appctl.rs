//! The real `ovs-appctl` (Debian's OVS 3.1) drives a hwol unixctl server.

use std::path::PathBuf;
use std::process::Command;
use std::sync::{Arc, RwLock};

use hwol_unixctl::{call, Commands, Server};

fn rundir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("hwol-unixctl-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn commands() -> Arc<RwLock<Commands>> {
    let mut c = Commands::default();
    c.register("dpctl/dump-flows", "[--names] [-m] [type=TYPE]", 0, 3, |args| {
        Ok(format!("args: {}\n", args.join(" ")))
    });
    c.register("fail", "", 0, 0, |_| Err("that went wrong: do this instead".into()));
    Arc::new(RwLock::new(c))
}

fn appctl(dir: &PathBuf, args: &[&str]) -> (i32, String, String) {
    let out = Command::new("ovs-appctl")
        .env("OVS_RUNDIR", dir)
        .args(args)
        .output()
        .expect("ovs-appctl is not installed; run scripts/setup.sh");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

#[test]
fn ovs_appctl_finds_the_daemon_by_name_and_runs_commands() {
    let dir = rundir("named");
    let server = Server::start_named(&dir, "hwol-vswitchd", "hwol 0.1.0", commands()).unwrap();
    let (code, out, err) = appctl(&dir, &["-t", "hwol-vswitchd", "dpctl/dump-flows", "--names", "type=offloaded"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "args: --names type=offloaded\n");
    let (code, out, _) = appctl(&dir, &["-t", "hwol-vswitchd", "list-commands"]);
    assert_eq!(code, 0);
    assert!(out.contains("  dpctl/dump-flows [--names] [-m] [type=TYPE]"), "{out}");
    let (code, out, _) = appctl(&dir, &["-t", "hwol-vswitchd", "version"]);
    assert_eq!((code, out.as_str()), (0, "hwol 0.1.0\n"));
    // Direct socket path (read from the server, not the pidfile: reading the
    // pidfile from this process would drop the server's lock on it).
    let path = server.path().to_path_buf();
    assert_eq!(path, dir.join(format!("hwol-vswitchd.{}.ctl", std::process::id())));
    let (code, out, _) = appctl(&dir, &["-t", path.to_str().unwrap(), "dpctl/dump-flows"]);
    assert_eq!((code, out.as_str()), (0, "args: \n"));
    drop(server);
    assert!(!path.exists(), "the socket is removed on drop");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn errors_make_ovs_appctl_exit_2_with_the_message() {
    let dir = rundir("errors");
    let _server = Server::start_named(&dir, "hwol-vswitchd", "hwol", commands()).unwrap();
    let (code, _, err) = appctl(&dir, &["-t", "hwol-vswitchd", "fail"]);
    assert_eq!(code, 2);
    assert!(err.contains("that went wrong: do this instead"), "{err}");
    let (code, _, err) = appctl(&dir, &["-t", "hwol-vswitchd", "no/such-command"]);
    assert_eq!(code, 2);
    assert!(err.contains("is not a valid command"), "{err}");
    let (code, _, err) = appctl(&dir, &["-t", "hwol-vswitchd", "dpctl/dump-flows", "a", "b", "c", "d"]);
    assert_eq!(code, 2);
    assert!(err.contains("at most 3"), "{err}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn malformed_requests_get_an_error_not_a_crash() {
    use std::io::{Read, Write};
    let dir = rundir("malformed");
    let server = Server::start_named(&dir, "hwol-vswitchd", "hwol", commands()).unwrap();
    let mut s = std::os::unix::net::UnixStream::connect(server.path()).unwrap();
    s.write_all(br#"{"method":7,"params":["x"],"id":3}"#).unwrap();
    s.write_all(br#"{"method":"dpctl/dump-flows","params":[1],"id":4}"#).unwrap();
    s.write_all(br#"{"method":"dpctl/dump-flows","params":["-m"],"id":5}"#).unwrap();
    s.shutdown(std::net::Shutdown::Write).unwrap();
    let mut reply = String::new();
    s.read_to_string(&mut reply).unwrap();
    assert!(
        reply.contains(r#""error":"request has no \"method\" string","id":3"#) || reply.contains(r#""id":3"#),
        "{reply}"
    );
    assert!(reply.contains("every parameter must be a string"), "{reply}");
    assert!(reply.contains(r#""result":"args: -m\n""#), "{reply}");
    // The server still serves new clients.
    assert_eq!(call(server.path(), "dpctl/dump-flows", &["x"]).unwrap(), "args: x\n");
    std::fs::remove_dir_all(&dir).ok();
}
