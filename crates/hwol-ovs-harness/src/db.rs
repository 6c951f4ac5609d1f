//! A private `ovsdb-server` alone (no `ovs-vswitchd`), for tests where hwol
//! plays the part of `ovs-vswitchd` against the real database.
//!
//! ```text
//! ovsdb-tool create $D/conf.db /usr/share/openvswitch/vswitch.ovsschema
//! ovsdb-server $D/conf.db --remote=punix:$D/db.sock --unixctl=$D/ovsdb-server.ctl \
//!     --pidfile=$D/ovsdb-server.pid --log-file=$D/ovsdb-server.log      # child process
//! ovs-vsctl --db=unix:$D/db.sock --no-wait init                          # poll until it succeeds
//! ```
//!
//! [`OvsDb::restart`] kills the server and starts it again on the same
//! database file and socket (what a client sees when ovsdb-server is
//! restarted by its service manager). Dropping an [`OvsDb`] kills the server
//! and removes the directory (keep it with `HWOL_KEEP_OVS_DIR=1`).

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::{find_program, log_tail, new_private_dir, HarnessError, Result, VSWITCH_SCHEMA};

/// A private `ovsdb-server` with the `Open_vSwitch` schema.
#[derive(Debug)]
pub struct OvsDb {
    dir: PathBuf,
    server: Option<Child>,
    ovsdb_server: PathBuf,
    vsctl: PathBuf,
}

impl OvsDb {
    /// Create the database and start the server; returns once `ovs-vsctl
    /// --no-wait init` succeeded (so the `Open_vSwitch` row exists).
    pub fn start() -> Result<OvsDb> {
        let tool = find_program("ovsdb-tool")?;
        let ovsdb_server = find_program("ovsdb-server")?;
        let vsctl = find_program("ovs-vsctl")?;
        if !Path::new(VSWITCH_SCHEMA).is_file() {
            return Err(HarnessError::NotInstalled { program: VSWITCH_SCHEMA.to_string() });
        }
        let dir = new_private_dir()?;
        let mut db = OvsDb { dir, server: None, ovsdb_server, vsctl };
        let out = Command::new(&tool)
            .arg("create")
            .arg(db.dir.join("conf.db"))
            .arg(VSWITCH_SCHEMA)
            .output()
            .map_err(|source| HarnessError::Io { what: "run ovsdb-tool create".into(), source })?;
        if !out.status.success() {
            return Err(HarnessError::Command {
                command: "ovsdb-tool create".into(),
                status: out.status,
                stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
            });
        }
        db.spawn()?;
        Ok(db)
    }

    /// The private directory (database, socket, log).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The socket path.
    pub fn socket(&self) -> PathBuf {
        self.dir.join("db.sock")
    }

    /// The remote to give clients: `unix:<dir>/db.sock`.
    pub fn remote(&self) -> String {
        format!("unix:{}", self.socket().display())
    }

    /// Kill the server (SIGKILL) without restarting it.
    pub fn kill(&mut self) {
        let _ = self.pause(false);
        if let Some(mut child) = self.server.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = std::fs::remove_file(self.socket());
    }

    /// Stop (SIGSTOP) or continue (SIGCONT) the server: a stopped server
    /// keeps its connections open but answers nothing, like a hung one.
    pub fn pause(&self, paused: bool) -> Result<()> {
        let Some(child) = &self.server else { return Ok(()) };
        let sig = if paused { "-STOP" } else { "-CONT" };
        let status = Command::new("kill")
            .args([sig, &child.id().to_string()])
            .status()
            .map_err(|source| HarnessError::Io { what: format!("kill {sig} ovsdb-server"), source })?;
        if status.success() {
            Ok(())
        } else {
            Err(HarnessError::Command { command: format!("kill {sig}"), status, stderr: String::new() })
        }
    }

    /// Kill the server and start it again on the same database and socket.
    pub fn restart(&mut self) -> Result<()> {
        self.kill();
        self.spawn()
    }

    /// Run `ovs-vsctl --db=unix:<socket> --timeout=<secs> ARGS` and return
    /// its standard output.
    pub fn vsctl(&self, timeout_secs: u32, args: &[&str]) -> Result<String> {
        let mut all: Vec<OsString> =
            vec![format!("--db={}", self.remote()).into(), format!("--timeout={timeout_secs}").into()];
        all.extend(args.iter().map(OsString::from));
        let command = format!("ovs-vsctl {}", args.join(" "));
        let out = self
            .command(&self.vsctl)
            .args(&all)
            .stdin(Stdio::null())
            .output()
            .map_err(|source| HarnessError::Io { what: format!("run {command}"), source })?;
        if !out.status.success() {
            return Err(HarnessError::Command {
                command,
                status: out.status,
                stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
            });
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// The last lines of the server's log.
    pub fn log_tail(&self, lines: usize) -> String {
        log_tail(&self.dir.join("ovsdb-server.log"), lines)
    }

    fn command(&self, program: &Path) -> Command {
        let mut cmd = Command::new(program);
        for var in ["OVS_RUNDIR", "OVS_DBDIR", "OVS_LOGDIR", "OVS_SYSCONFDIR"] {
            cmd.env(var, &self.dir);
        }
        cmd
    }

    fn spawn(&mut self) -> Result<()> {
        let d = &self.dir;
        let args = [
            d.join("conf.db").display().to_string(),
            format!("--remote=punix:{}", self.socket().display()),
            format!("--unixctl={}", d.join("ovsdb-server.ctl").display()),
            format!("--pidfile={}", d.join("ovsdb-server.pid").display()),
            format!("--log-file={}", d.join("ovsdb-server.log").display()),
        ];
        let console = d.join("ovsdb-server.console");
        let io = |source| HarnessError::Io { what: format!("create {}", console.display()), source };
        let out = std::fs::OpenOptions::new().create(true).append(true).open(&console).map_err(io)?;
        let err = out.try_clone().map_err(io)?;
        let child = self
            .command(&self.ovsdb_server)
            .args(&args)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .map_err(|source| HarnessError::Io { what: "spawn ovsdb-server".into(), source })?;
        self.server = Some(child);
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let probe = match self.vsctl(5, &["--no-wait", "init"]) {
                Ok(_) => return Ok(()),
                Err(e) => e.to_string(),
            };
            if let Some(Ok(Some(status))) = self.server.as_mut().map(Child::try_wait) {
                self.server = None;
                return Err(HarnessError::NotReady {
                    what: format!("ovsdb-server exited during start-up ({status})"),
                    log: console.display().to_string(),
                    tail: log_tail(&console, 10),
                });
            }
            if Instant::now() >= deadline {
                return Err(HarnessError::NotReady {
                    what: format!("ovsdb-server did not answer within 20 s (last probe: {probe})"),
                    log: d.join("ovsdb-server.log").display().to_string(),
                    tail: self.log_tail(20),
                });
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for OvsDb {
    fn drop(&mut self) {
        self.kill();
        if std::env::var_os("HWOL_KEEP_OVS_DIR").is_some() {
            eprintln!("hwol-ovs-harness: kept {}", self.dir.display());
        } else {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}
