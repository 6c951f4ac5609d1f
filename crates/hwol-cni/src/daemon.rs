//! The hwol daemon's pod commands, over its unixctl control socket
//! (`<rundir>/hwol-vswitchd.<pid>.ctl`, found through the pidfile):
//!
//! ```text
//! hwol/pod-add IFACE POD_NAMESPACE POD_NAME CONTAINER_ID MAC IPV4   -> "ofport=N"
//! hwol/pod-del IFACE                                                -> ok, or "not attached"
//! hwol/pod-show IFACE                                               -> {"iface","ofport","external_ids"}
//! ```
//!
//! A daemon that is not running is [`Error::TryAgainLater`] (code 11: the
//! runtime retries); a refusal is [`Error::Daemon`] with the daemon's text.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::error::{Error, Result};

/// The daemon's name (pidfile `<rundir>/hwol-vswitchd.pid`).
pub const DAEMON: &str = "hwol-vswitchd";

/// A client for the daemon in `rundir`.
#[derive(Debug, Clone)]
pub struct Daemon {
    rundir: PathBuf,
}

/// The pod data the daemon attaches with a port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodPort<'a> {
    /// Host interface (renamed representor or host veth).
    pub iface: &'a str,
    /// `K8S_POD_NAMESPACE`.
    pub pod_namespace: &'a str,
    /// `K8S_POD_NAME`.
    pub pod_name: &'a str,
    /// `CNI_CONTAINERID`.
    pub container_id: &'a str,
    /// The pod interface's MAC.
    pub mac: &'a str,
    /// The pod's IPv4 address (no prefix length).
    pub ipv4: &'a str,
}

impl Daemon {
    /// The daemon of `rundir`.
    pub fn new(rundir: &Path) -> Daemon {
        Daemon { rundir: rundir.to_path_buf() }
    }

    fn socket(&self) -> Result<PathBuf> {
        let p = hwol_unixctl::socket_of(&self.rundir, DAEMON).map_err(|_| self.not_running())?;
        if !p.exists() {
            return Err(self.not_running());
        }
        Ok(p)
    }

    fn not_running(&self) -> Error {
        Error::TryAgainLater(format!(
            "hwol-vswitchd is not running (no live {}/{DAEMON}.pid and control socket); start it with \
             `hwol-vswitchd --config FILE --rundir {}`, or set \"rundir\" in the network config to where it runs",
            self.rundir.display(),
            self.rundir.display()
        ))
    }

    fn call(&self, method: &str, params: &[&str]) -> Result<String> {
        let sock = self.socket()?;
        hwol_unixctl::call(&sock, method, params).map_err(|e| match e {
            hwol_unixctl::Error::Connect { .. } => self.not_running(),
            hwol_unixctl::Error::Remote(t) => Error::Daemon(format!("hwol-vswitchd {method}: {}", t.trim())),
            other => Error::Daemon(format!("hwol-vswitchd {method}: {other}")),
        })
    }

    /// True if the daemon answers.
    pub fn ping(&self) -> Result<()> {
        self.call("version", &[]).map(|_| ())
    }

    /// Attach `p` and install its flows; returns the OpenFlow port number.
    pub fn pod_add(&self, p: &PodPort<'_>) -> Result<u32> {
        let out = self.call("hwol/pod-add", &[p.iface, p.pod_namespace, p.pod_name, p.container_id, p.mac, p.ipv4])?;
        out.split_whitespace()
            .find_map(|w| w.strip_prefix("ofport=")?.parse().ok())
            .ok_or_else(|| Error::Daemon(format!("hwol-vswitchd hwol/pod-add {}: unexpected answer {out:?}", p.iface)))
    }

    /// Remove the flows and detach `iface` (fine if it was not attached).
    pub fn pod_del(&self, iface: &str) -> Result<()> {
        self.call("hwol/pod-del", &[iface]).map(|_| ())
    }

    /// The attachment of `iface`: `{"iface","ofport","external_ids"}`.
    pub fn pod_show(&self, iface: &str) -> Result<Value> {
        let out = self.call("hwol/pod-show", &[iface])?;
        serde_json::from_str(out.trim())
            .map_err(|e| Error::Daemon(format!("hwol-vswitchd hwol/pod-show {iface}: not JSON ({e}): {out:?}")))
    }
}
