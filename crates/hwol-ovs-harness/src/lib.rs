//! Drive a real, private Open vSwitch from tests, so hwol's behaviour can be
//! checked against the system it reimplements.
//!
//! [`Ovs::start`] brings up `ovsdb-server` and `ovs-vswitchd` with the
//! **dummy** (userspace, in-process) datapath in a fresh directory of its
//! own. Nothing outside that directory is read or written: no kernel
//! datapath, no kernel interfaces, no system `/var/run/openvswitch`. Several
//! instances can run at once (one per test). Dropping the [`Ovs`] kills both
//! daemons and removes the directory, also when the test panics.
//!
//! What this crate does not do: it is not an OVSDB or OpenFlow client. It
//! runs the OVS command-line tools and returns their text; parsing that text
//! is the job of the crates under test (e.g. `hwol-odp` for dump-flows).
//!
//! # The OVS command sequence (verified against Debian's OVS 3.1.0)
//!
//! Every command runs with `OVS_RUNDIR`, `OVS_DBDIR`, `OVS_LOGDIR` and
//! `OVS_SYSCONFDIR` set to the private directory `$D`. `OVS_RUNDIR` is the one
//! that matters after start-up: `ovs-ofctl` finds a bridge's management socket
//! as `$OVS_RUNDIR/<bridge>.mgmt`.
//!
//! ```text
//! ovsdb-tool create $D/conf.db /usr/share/openvswitch/vswitch.ovsschema
//! ovsdb-server $D/conf.db --remote=punix:$D/db.sock --unixctl=$D/ovsdb-server.ctl \
//!     --pidfile=$D/ovsdb-server.pid --log-file=$D/ovsdb-server.log        # child process
//! ovs-vsctl --db=unix:$D/db.sock --no-wait init                            # poll until it succeeds
//! ovs-vswitchd unix:$D/db.sock --enable-dummy=override --disable-system \
//!     --unixctl=$D/ovs-vswitchd.ctl --pidfile=$D/ovs-vswitchd.pid --log-file=$D/ovs-vswitchd.log
//! ovs-appctl -t $D/ovs-vswitchd.ctl version                                # poll until it succeeds
//!
//! ovs-vsctl --db=unix:$D/db.sock --timeout=10 -- add-br br0 \
//!     -- set bridge br0 datapath_type=dummy fail_mode=secure
//! ovs-vsctl ... -- add-port br0 p1 -- set interface p1 type=dummy ofport_request=1
//! ovs-ofctl -O OpenFlow15 --timeout=10 add-flows br0 -      # flows on stdin, one per line
//! ovs-appctl -t $D/ovs-vswitchd.ctl netdev-dummy/receive p1 '<packet>'
//! ovs-appctl -t $D/ovs-vswitchd.ctl dpctl/dump-flows
//! ```
//!
//! Facts found on the way:
//!
//! - `--enable-dummy=override` replaces the `system` and `tap` netdev types
//!   with dummies, so the bridge's internal port is `dummy-internal` and no
//!   kernel device is created; `--disable-system` keeps the kernel datapath
//!   out. Neither needs root.
//! - `fail_mode=secure` leaves the flow table empty: without it OVS installs
//!   a hidden `priority=0 actions=NORMAL` flow.
//! - `netdev-dummy/receive <port> <packet>` takes the packet either as an ODP
//!   flow string, e.g.
//!   `in_port(1),eth(src=..,dst=..),eth_type(0x0800),ipv4(src=..,dst=..,proto=6,tos=0,ttl=64,frag=no),tcp(src=..,dst=..),tcp_flags(syn)`,
//!   from which OVS composes a frame with valid checksums, or as the frame's
//!   bytes in hex. A composed TCP segment has sequence, acknowledgement and
//!   window all zero, which userspace conntrack's TCP window check rejects
//!   after the SYN (the handshake's ACK comes out `-new-est+trk`, i.e.
//!   invalid). For anything stateful, send real frames built with [`frame`]
//!   through [`Ovs::receive_frame`].
//! - Datapath port numbers are not OpenFlow port numbers. The dummy datapath
//!   gives a port the number in its name if that is free (`p1` → 1; `br0` →
//!   100, names starting with `br` count from 100) and otherwise the lowest
//!   free number, so a bridge called `br-a` takes 1 and pushes `p1` to 2.
//!   [`Ovs::dp_ports`] reads the real numbers from `dpctl/show`.
//! - The packet is queued by the command and processed by the main thread
//!   (including the upcall and the flow install) before it serves the next
//!   `ovs-appctl` connection, so a dump right after a receive sees the flow.
//!   The dump prints the packet's own field values under a mask
//!   (`ipv4(dst=192.168.1.17/255.255.255.0)`), unlike the kernel TC dump in
//!   the seed, which prints the masked value (`192.168.1.0/255.255.255.0`).
//!
//! # Cleanup
//!
//! The daemons are children of the test process, not `--detach`ed, so
//! [`Drop`] can kill and reap them by handle. A test process that is itself
//! SIGKILLed leaves them running (they hold only the private directory); set
//! `HWOL_KEEP_OVS_DIR=1` to keep the directory and its logs after a run.

#![forbid(unsafe_code)]

pub mod db;
pub mod frame;

pub use db::OvsDb;

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// Where Debian installs the OVSDB schema for the `Open_vSwitch` database.
pub const VSWITCH_SCHEMA: &str = "/usr/share/openvswitch/vswitch.ovsschema";

/// How long start-up may take before [`Ovs::start`] gives up.
const START_DEADLINE: Duration = Duration::from_secs(20);

/// Seconds each OVS command-line tool may wait for a daemon (`--timeout`).
const COMMAND_TIMEOUT_SECS: &str = "10";

/// The OpenFlow version `ovs-ofctl` speaks: 1.5 accepts every match and
/// action the pipeline uses (ct, conjunction, registers, ct_mark in exec).
pub const OPENFLOW_VERSION: &str = "OpenFlow15";

/// Everything that can go wrong while driving OVS.
#[derive(Debug, thiserror::Error)]
pub enum HarnessError {
    /// An OVS program is not installed.
    #[error(
        "`{program}` is not installed (looked in $PATH, /usr/sbin and /usr/local/sbin): \
         run scripts/setup.sh (it installs openvswitch-switch and openvswitch-common)"
    )]
    NotInstalled {
        /// The missing program or file.
        program: String,
    },
    /// A file or process operation failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The underlying error.
        source: std::io::Error,
    },
    /// An OVS command exited unsuccessfully.
    #[error("`{command}` failed ({status}): {stderr}")]
    Command {
        /// The command line.
        command: String,
        /// How it exited.
        status: ExitStatus,
        /// Its standard error, trimmed.
        stderr: String,
    },
    /// A daemon did not become ready in time, or exited during start-up.
    #[error("{what}; last lines of {log}:\n{tail}")]
    NotReady {
        /// What did not happen.
        what: String,
        /// The log file quoted.
        log: String,
        /// Its last lines.
        tail: String,
    },
    /// OVS printed something this harness could not interpret.
    #[error("unexpected output from `{command}`: {detail}")]
    Output {
        /// The command line.
        command: String,
        /// What was wrong with it.
        detail: String,
    },
}

/// Result type of this crate.
pub type Result<T, E = HarnessError> = std::result::Result<T, E>;

/// Full paths of the OVS programs, resolved once at start.
#[derive(Debug, Clone)]
struct Programs {
    ovsdb_tool: PathBuf,
    ovsdb_server: PathBuf,
    vswitchd: PathBuf,
    vsctl: PathBuf,
    ofctl: PathBuf,
    appctl: PathBuf,
}

impl Programs {
    fn find() -> Result<Self> {
        Ok(Programs {
            ovsdb_tool: find_program("ovsdb-tool")?,
            ovsdb_server: find_program("ovsdb-server")?,
            vswitchd: find_program("ovs-vswitchd")?,
            vsctl: find_program("ovs-vsctl")?,
            ofctl: find_program("ovs-ofctl")?,
            appctl: find_program("ovs-appctl")?,
        })
    }
}

/// Look `name` up in `$PATH`, then in the sbin directories a non-root
/// `$PATH` often lacks (Debian puts the daemons in `/usr/sbin`).
fn find_program(name: &str) -> Result<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let dirs = std::env::split_paths(&path).chain(["/usr/sbin", "/usr/local/sbin", "/sbin"].map(PathBuf::from));
    for dir in dirs {
        let candidate = dir.join(name);
        if candidate.is_file() {
            return Ok(candidate);
        }
    }
    Err(HarnessError::NotInstalled { program: name.to_string() })
}

/// A private `ovsdb-server` + `ovs-vswitchd` pair with the dummy datapath.
///
/// Dropping it kills both daemons and deletes its directory.
#[derive(Debug)]
pub struct Ovs {
    dir: PathBuf,
    programs: Programs,
    ovsdb_server: Option<Child>,
    vswitchd: Option<Child>,
}

impl Ovs {
    /// Start OVS in a new private directory and wait until `ovs-vswitchd`
    /// answers on its control socket.
    ///
    /// Fails with [`HarnessError::NotInstalled`] when OVS is missing and with
    /// [`HarnessError::NotReady`] (quoting the daemon's log) when a daemon
    /// exits or does not answer within 20 seconds. Whatever was started is
    /// cleaned up on failure.
    pub fn start() -> Result<Ovs> {
        let programs = Programs::find()?;
        if !Path::new(VSWITCH_SCHEMA).is_file() {
            return Err(HarnessError::NotInstalled { program: VSWITCH_SCHEMA.to_string() });
        }
        let dir = new_private_dir()?;
        // From here on, `ovs` owns the directory: an early return drops it.
        let mut ovs = Ovs { dir, programs, ovsdb_server: None, vswitchd: None };
        let deadline = Instant::now() + START_DEADLINE;

        let db = ovs.path("conf.db");
        let create: [OsString; 3] = ["create".into(), db.clone().into(), VSWITCH_SCHEMA.into()];
        ovs.run(&ovs.programs.ovsdb_tool.clone(), &create, None)?;

        let server_args = [
            db.display().to_string(),
            format!("--remote=punix:{}", ovs.path("db.sock").display()),
            format!("--unixctl={}", ovs.path("ovsdb-server.ctl").display()),
            format!("--pidfile={}", ovs.path("ovsdb-server.pid").display()),
            format!("--log-file={}", ovs.path("ovsdb-server.log").display()),
        ];
        ovs.ovsdb_server = Some(ovs.spawn_daemon(&ovs.programs.ovsdb_server.clone(), &server_args, "ovsdb-server")?);
        ovs.wait_ready("ovsdb-server", "ovsdb-server.log", deadline, |o| o.vsctl(&["--no-wait", "init"]).map(drop))?;

        let vswitchd_args = [
            format!("unix:{}", ovs.path("db.sock").display()),
            "--enable-dummy=override".to_string(),
            "--disable-system".to_string(),
            format!("--unixctl={}", ovs.ctl_path().display()),
            format!("--pidfile={}", ovs.path("ovs-vswitchd.pid").display()),
            format!("--log-file={}", ovs.path("ovs-vswitchd.log").display()),
        ];
        ovs.vswitchd = Some(ovs.spawn_daemon(&ovs.programs.vswitchd.clone(), &vswitchd_args, "ovs-vswitchd")?);
        ovs.wait_ready("ovs-vswitchd", "ovs-vswitchd.log", deadline, |o| o.appctl(&["version"]).map(drop))?;
        Ok(ovs)
    }

    /// The private directory: database, sockets, pid files and logs.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Create bridge `name` on the dummy datapath in secure fail mode, so
    /// its flow table holds only the flows a test adds.
    pub fn add_bridge(&self, name: &str) -> Result<()> {
        self.vsctl(&["--", "add-br", name, "--", "set", "bridge", name, "datapath_type=dummy", "fail_mode=secure"])
            .map(drop)
    }

    /// Add a dummy port `name` to `bridge` with OpenFlow port number
    /// `ofport`, and check OVS gave it that number.
    pub fn add_port(&self, bridge: &str, name: &str, ofport: u16) -> Result<()> {
        let request = format!("ofport_request={ofport}");
        self.vsctl(&["--", "add-port", bridge, name, "--", "set", "interface", name, "type=dummy", &request])?;
        let got = self.vsctl(&["get", "interface", name, "ofport"])?;
        if got.trim() != ofport.to_string() {
            return Err(HarnessError::Output {
                command: format!("ovs-vsctl get interface {name} ofport"),
                detail: format!(
                    "port {name} got OpenFlow port {} instead of {ofport}: is the number in use?",
                    got.trim()
                ),
            });
        }
        Ok(())
    }

    /// Add OpenFlow flows to `bridge`: `flows` is `ovs-ofctl add-flows` text,
    /// one flow per line (blank lines and `#` comments are allowed).
    pub fn add_flows(&self, bridge: &str, flows: &str) -> Result<()> {
        self.ofctl_with_input(&["add-flows", bridge, "-"], flows).map(drop)
    }

    /// Delete every OpenFlow flow of `bridge`.
    pub fn del_flows(&self, bridge: &str) -> Result<()> {
        self.ofctl(&["del-flows", bridge]).map(drop)
    }

    /// Inject a packet as if it arrived on dummy port `port`. `packet` is an
    /// ODP flow string or the frame in hex; see the crate docs for which to
    /// use.
    pub fn receive(&self, port: &str, packet: &str) -> Result<()> {
        self.appctl(&["netdev-dummy/receive", port, packet]).map(drop)
    }

    /// Inject an Ethernet frame (its raw bytes) as if it arrived on `port`.
    pub fn receive_frame(&self, port: &str, frame: &[u8]) -> Result<()> {
        self.receive(port, &frame::to_hex(frame))
    }

    /// The datapath flows (`dpctl/dump-flows`), one line each, without the
    /// `flow-dump from ...` header lines.
    pub fn dump_flows(&self) -> Result<Vec<String>> {
        self.dump_flows_with(&[])
    }

    /// [`Ovs::dump_flows`] with extra arguments, e.g. `["--names"]` or `["-m"]`.
    pub fn dump_flows_with(&self, args: &[&str]) -> Result<Vec<String>> {
        let mut all = vec!["dpctl/dump-flows"];
        all.extend_from_slice(args);
        let out = self.appctl(&all)?;
        Ok(out
            .lines()
            .filter(|l| !l.trim().is_empty() && !l.starts_with("flow-dump from"))
            .map(str::to_string)
            .collect())
    }

    /// Delete every datapath flow (`dpctl/del-flows`). Conntrack entries stay.
    pub fn del_dp_flows(&self) -> Result<()> {
        self.appctl(&["dpctl/del-flows"]).map(drop)
    }

    /// `ofproto/trace` of `flow` (OpenFlow or ODP flow syntax) on `bridge`.
    pub fn trace(&self, bridge: &str, flow: &str) -> Result<String> {
        self.appctl(&["ofproto/trace", bridge, flow])
    }

    /// Datapath port numbers by port name, from `dpctl/show`.
    pub fn dp_ports(&self) -> Result<BTreeMap<String, u32>> {
        let out = self.appctl(&["dpctl/show"])?;
        let mut ports = BTreeMap::new();
        for line in out.lines() {
            // "  port 1: p1 (dummy)"
            let Some(rest) = line.trim_start().strip_prefix("port ") else { continue };
            let parsed = rest.split_once(": ").and_then(|(num, tail)| {
                let name = tail.split_whitespace().next()?;
                Some((num.trim().parse::<u32>().ok()?, name.to_string()))
            });
            let (num, name) = parsed.ok_or_else(|| HarnessError::Output {
                command: "ovs-appctl dpctl/show".to_string(),
                detail: format!("cannot read port line {line:?}"),
            })?;
            ports.insert(name, num);
        }
        Ok(ports)
    }

    /// Run `ovs-appctl` against this instance's `ovs-vswitchd` and return its
    /// standard output.
    pub fn appctl(&self, args: &[&str]) -> Result<String> {
        let mut all: Vec<OsString> = vec!["-t".into(), self.ctl_path().into(), "--timeout".into()];
        all.push(COMMAND_TIMEOUT_SECS.into());
        all.extend(args.iter().map(OsString::from));
        self.run(&self.programs.appctl, &all, None)
    }

    /// Run `ovs-vsctl` against this instance's database.
    pub fn vsctl(&self, args: &[&str]) -> Result<String> {
        let db = format!("--db=unix:{}", self.path("db.sock").display());
        let mut all: Vec<OsString> = vec![db.into(), format!("--timeout={COMMAND_TIMEOUT_SECS}").into()];
        all.extend(args.iter().map(OsString::from));
        self.run(&self.programs.vsctl, &all, None)
    }

    /// Run `ovs-ofctl -O OpenFlow15` (bridges are found through `OVS_RUNDIR`).
    pub fn ofctl(&self, args: &[&str]) -> Result<String> {
        self.ofctl_inner(args, None)
    }

    /// Run `ovs-ofctl -O OpenFlow15` with `input` on its standard input.
    pub fn ofctl_with_input(&self, args: &[&str], input: &str) -> Result<String> {
        self.ofctl_inner(args, Some(input))
    }

    fn ofctl_inner(&self, args: &[&str], input: Option<&str>) -> Result<String> {
        let mut all: Vec<OsString> =
            vec!["-O".into(), OPENFLOW_VERSION.into(), format!("--timeout={COMMAND_TIMEOUT_SECS}").into()];
        all.extend(args.iter().map(OsString::from));
        self.run(&self.programs.ofctl, &all, input)
    }

    /// The last `lines` lines of `ovs-vswitchd`'s log (for error messages).
    pub fn vswitchd_log_tail(&self, lines: usize) -> String {
        log_tail(&self.path("ovs-vswitchd.log"), lines)
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    fn ctl_path(&self) -> PathBuf {
        self.path("ovs-vswitchd.ctl")
    }

    fn command(&self, program: &Path) -> Command {
        let mut cmd = Command::new(program);
        for var in ["OVS_RUNDIR", "OVS_DBDIR", "OVS_LOGDIR", "OVS_SYSCONFDIR"] {
            cmd.env(var, &self.dir);
        }
        cmd
    }

    /// Run a command to completion; its standard output on success.
    fn run<S: AsRef<std::ffi::OsStr>>(&self, program: &Path, args: &[S], input: Option<&str>) -> Result<String> {
        let command_line = command_line(program, args);
        let mut cmd = self.command(program);
        cmd.args(args).stdout(Stdio::piped()).stderr(Stdio::piped());
        cmd.stdin(if input.is_some() { Stdio::piped() } else { Stdio::null() });
        let mut child =
            cmd.spawn().map_err(|source| HarnessError::Io { what: format!("spawn `{command_line}`"), source })?;
        if let Some(text) = input {
            // Dropping the handle after writing closes the pipe (EOF).
            if let Some(mut stdin) = child.stdin.take() {
                stdin
                    .write_all(text.as_bytes())
                    .map_err(|source| HarnessError::Io { what: format!("write stdin of `{command_line}`"), source })?;
            }
        }
        let out = child
            .wait_with_output()
            .map_err(|source| HarnessError::Io { what: format!("wait for `{command_line}`"), source })?;
        if !out.status.success() {
            return Err(HarnessError::Command {
                command: command_line,
                status: out.status,
                stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
            });
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    fn spawn_daemon(&self, program: &Path, args: &[String], name: &str) -> Result<Child> {
        let console = self.path(&format!("{name}.console"));
        let io_err = |source| HarnessError::Io { what: format!("create console log {}", console.display()), source };
        let stdout = std::fs::File::create(&console).map_err(io_err)?;
        let stderr = stdout.try_clone().map_err(io_err)?;
        self.command(program)
            .args(args)
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(stderr)
            .spawn()
            .map_err(|source| HarnessError::Io { what: format!("spawn `{}`", command_line(program, args)), source })
    }

    /// Poll `probe` until it succeeds, the daemon exits, or `deadline`.
    fn wait_ready(
        &mut self,
        name: &str,
        log: &str,
        deadline: Instant,
        probe: impl Fn(&Ovs) -> Result<()>,
    ) -> Result<()> {
        loop {
            let last_err = match probe(self) {
                Ok(()) => return Ok(()),
                Err(e) => e.to_string(),
            };
            let child = if name == "ovsdb-server" { &mut self.ovsdb_server } else { &mut self.vswitchd };
            if let Some(Ok(Some(status))) = child.as_mut().map(Child::try_wait) {
                *child = None;
                return Err(self.not_ready(format!("{name} exited during start-up ({status})"), name, log));
            }
            if Instant::now() >= deadline {
                let what = format!("{name} did not answer within {START_DEADLINE:?} (last probe: {last_err})");
                return Err(self.not_ready(what, name, log));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn not_ready(&self, what: String, name: &str, log: &str) -> HarnessError {
        let log_path = self.path(log);
        let mut tail = log_tail(&log_path, 20);
        let console = log_tail(&self.path(&format!("{name}.console")), 10);
        if !console.is_empty() {
            let _ = write!(tail, "\n(console)\n{console}");
        }
        HarnessError::NotReady { what, log: log_path.display().to_string(), tail }
    }
}

impl Drop for Ovs {
    fn drop(&mut self) {
        for child in [self.vswitchd.take(), self.ovsdb_server.take()].into_iter().flatten() {
            let mut child = child;
            // Already-exited children make kill() fail; wait() still reaps them.
            let _ = child.kill();
            let _ = child.wait();
        }
        if std::env::var_os("HWOL_KEEP_OVS_DIR").is_some() {
            eprintln!("hwol-ovs-harness: kept {}", self.dir.display());
        } else {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// A fresh, empty directory under the system temp dir, unique across threads
/// and processes. Kept short: unix socket paths have a length limit.
fn new_private_dir() -> Result<PathBuf> {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let base = std::env::temp_dir();
    for _ in 0..100 {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
        let dir = base.join(format!("hwol-ovs-{}-{n}-{nanos:x}", std::process::id()));
        match std::fs::create_dir(&dir) {
            Ok(()) => return Ok(dir),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(source) => {
                return Err(HarnessError::Io {
                    what: format!("create private OVS directory {}", dir.display()),
                    source,
                })
            }
        }
    }
    Err(HarnessError::Io {
        what: format!("create a private OVS directory under {}", base.display()),
        source: std::io::Error::from(std::io::ErrorKind::AlreadyExists),
    })
}

fn command_line<S: AsRef<std::ffi::OsStr>>(program: &Path, args: &[S]) -> String {
    let name = program.file_name().map_or_else(|| program.display().to_string(), |n| n.to_string_lossy().into_owned());
    let mut line = name;
    for a in args {
        line.push(' ');
        line.push_str(&a.as_ref().to_string_lossy());
    }
    line
}

fn log_tail(path: &Path, lines: usize) -> String {
    match std::fs::read_to_string(path) {
        Ok(text) => {
            let all: Vec<&str> = text.lines().collect();
            all[all.len().saturating_sub(lines)..].join("\n")
        }
        Err(e) => format!("(cannot read {}: {e})", path.display()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_program_says_to_run_setup() {
        let err = find_program("hwol-no-such-ovs-program").unwrap_err();
        assert!(matches!(err, HarnessError::NotInstalled { .. }));
        assert!(err.to_string().contains("run scripts/setup.sh"), "{err}");
    }

    #[test]
    fn log_tail_keeps_last_lines_and_reports_missing_files() {
        let dir = new_private_dir().unwrap();
        let log = dir.join("x.log");
        std::fs::write(&log, "a\nb\nc\n").unwrap();
        assert_eq!(log_tail(&log, 2), "b\nc");
        assert_eq!(log_tail(&log, 10), "a\nb\nc");
        assert!(log_tail(&dir.join("none.log"), 2).starts_with("(cannot read "));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
