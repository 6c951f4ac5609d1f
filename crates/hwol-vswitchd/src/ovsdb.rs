//! The OVSDB front end: hwol-vswitchd in the part of `ovs-vswitchd` against
//! a real `ovsdb-server` (`--ovsdb unix:/var/run/openvswitch/db.sock`, or
//! `ovsdb = "…"` in the config file).
//!
//! One thread runs a [`Session`] (monitor of `Open_vSwitch`, `Bridge`,
//! `Port`, `Interface`; reconnect with backoff) and, after every change,
//! the pure reconciler of `hwol_ovsdb::vswitch`: its plan is applied to the
//! [`Node`] (ports added and deleted, internal interfaces created as tap
//! devices) and the write-backs are sent in one transaction, the last of
//! which sets `cur_cfg = next_cfg`, so `ovs-vsctl` without `--no-wait`
//! returns. One transaction is in flight at a time; the next reconcile runs
//! when it is answered or the database changes. While the database is
//! unreachable nothing changes on the switch: forwarding goes on with the
//! ports and flows it has.
//!
//! Interfaces whose device could not be opened are retried every 5 s (a
//! representor that appears later gets attached), as are the facts written
//! back (link state, MTU, …).
//!
//! `other_config:hw-offload` and `tc-policy` are read once at start
//! ([`read_start_settings`]), as OVS does; a later change is logged and
//! shown by `ovs-appctl ovsdb/show` as "restart needed". `max-idle` applies
//! live.
//!
//! Not done here: the bridge's `LOCAL` interface (named like the bridge)
//! is created as a tap device and reported as OpenFlow port 65534, but is
//! not attached to the switch (hwol's ports are numbered 1-65279 and the
//! pod pipeline does not use `LOCAL`).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use hwol_ovsdb::vswitch::{
    monitor_request, no_such_device, plan, write_back, BridgeChange, IfaceFacts, Outcome, PortKind, Settings,
    SwitchPort, SwitchView, OFPP_LOCAL,
};
use hwol_ovsdb::{Event, Operation, Remote, Session, DATABASE};
use tracing::{info, warn};

use crate::config::Config;
use crate::Node;

/// How often failed interfaces are retried and facts refreshed.
const RETRY: Duration = Duration::from_secs(5);

/// What `ovsdb/show` prints.
#[derive(Debug, Default)]
pub struct Status {
    /// The remote.
    pub remote: String,
    /// Connected and monitoring.
    pub connected: bool,
    /// Last connection error.
    pub last_error: Option<String>,
    /// The served bridge is in the database.
    pub bridge_in_db: bool,
    /// The settings the daemon started with.
    pub started: Settings,
    /// The settings the database has now.
    pub current: Settings,
    /// Interfaces with an error, by name.
    pub errors: BTreeMap<String, String>,
    /// Transactions committed.
    pub transactions: u64,
    /// The fast path the daemon runs (`provider (on|off)`).
    pub fast_path: String,
}

impl Status {
    /// Why a restart is needed, if it is.
    pub fn restart_needed(&self) -> Vec<String> {
        let mut why = Vec::new();
        if self.current.hw_offload != self.started.hw_offload {
            why.push(format!(
                "other_config:hw-offload is {} but the daemon started with {}",
                self.current.hw_offload, self.started.hw_offload
            ));
        }
        if self.current.tc_policy != self.started.tc_policy {
            why.push(format!(
                "other_config:tc-policy is {:?} but the daemon started with {:?}",
                self.current.tc_policy.as_deref().unwrap_or("none"),
                self.started.tc_policy.as_deref().unwrap_or("none")
            ));
        }
        why
    }

    /// The `ovsdb/show` text.
    pub fn show(&self) -> String {
        let mut s = format!("remote: {}\nconnected: {}\n", self.remote, if self.connected { "yes" } else { "no" });
        if let Some(e) = &self.last_error {
            s += &format!("last error: {e}\n");
        }
        s += &format!("bridge in database: {}\n", if self.bridge_in_db { "yes" } else { "no" });
        s += &format!("fast path: {}\n", self.fast_path);
        s += &format!(
            "hw-offload: {} (at start: {})\ntc-policy: {} (at start: {})\nmax-idle: {}\n",
            self.current.hw_offload,
            self.started.hw_offload,
            self.current.tc_policy.as_deref().unwrap_or("none"),
            self.started.tc_policy.as_deref().unwrap_or("none"),
            self.current.max_idle_ms.map_or("default".to_string(), |m| format!("{m} ms")),
        );
        let why = self.restart_needed();
        if why.is_empty() {
            s += "restart needed: no\n";
        } else {
            for w in why {
                s += &format!("restart needed: {w}\n");
            }
        }
        for (iface, e) in &self.errors {
            s += &format!("interface {iface}: {e}\n");
        }
        s += &format!("transactions: {}\n", self.transactions);
        s
    }
}

/// Read `other_config` once at start, waiting at most `wait` for the
/// database. `None` if it could not be read (the daemon then starts with
/// its config file's settings and reports a restart as needed if the
/// database later disagrees).
pub fn read_start_settings(remote: &Remote, wait: Duration) -> Option<Settings> {
    let mut s = Session::new(remote.clone(), DATABASE, monitor_request());
    let deadline = Instant::now() + wait;
    while Instant::now() < deadline {
        match s.poll(Duration::from_millis(100)) {
            Event::Connected => {
                let view = SwitchView {
                    bridge: String::new(),
                    bridge_in_db: false,
                    ports: Vec::new(),
                    last_auto: 0,
                    devices: BTreeSet::new(),
                };
                return Some(plan(s.replica(), &view).settings);
            }
            Event::Disconnected { error, .. } => warn!(%error, "OVSDB not reachable yet at start"),
            _ => {}
        }
    }
    None
}

/// Read the database's start-time settings (waiting up to 5 s for it) and
/// fold them into `cfg`: with `hw-offload=true` the fast path is
/// `[offload] provider`, or `tc` if that is `none` (OVS's hw-offload is the
/// kernel TC path); without it, `none` (software only). `max-idle` replaces
/// `max_idle_ms`. Returns the settings the daemon starts with.
pub fn start_settings(remote: &Remote, cfg: &mut Config) -> Settings {
    match read_start_settings(remote, Duration::from_secs(5)) {
        Some(s) => {
            if s.hw_offload {
                if cfg.offload.provider == "none" {
                    cfg.offload.provider = "tc".into();
                }
            } else if cfg.offload.provider != "none" {
                info!(
                    provider = %cfg.offload.provider,
                    "other_config:hw-offload is not true in OVSDB: software datapath only \
                     (ovs-vsctl set Open_vSwitch . other_config:hw-offload=true, then restart)"
                );
                cfg.offload.provider = "none".into();
            }
            if let Some(ms) = s.max_idle_ms {
                cfg.max_idle_ms = ms;
            }
            match s.tc_policy.as_deref() {
                Some(p) if hwol_tcflower::TcPolicy::parse(p).is_some() => cfg.offload.tc_policy = p.to_string(),
                Some(p) => warn!(tc_policy = p, "other_config:tc-policy is not none, skip_sw or skip_hw: ignored"),
                None => {}
            }
            info!(hw_offload = s.hw_offload, provider = %cfg.offload.provider, "settings read from OVSDB at start");
            s
        }
        None => {
            warn!(%remote, "OVSDB not reachable at start: using the config file's offload settings");
            Settings { hw_offload: cfg.offload.provider != "none", tc_policy: None, max_idle_ms: None }
        }
    }
}

/// The OVSDB thread's handle.
pub struct Ovsdb {
    /// Shared status (for `ovsdb/show`).
    pub status: Arc<Mutex<Status>>,
    thread: Option<JoinHandle<()>>,
}

impl Ovsdb {
    /// Start the thread; it stops when `stop` is set.
    pub fn start(node: Arc<Node>, remote: Remote, started: Settings, stop: Arc<AtomicBool>) -> std::io::Result<Ovsdb> {
        let fast_path = {
            let off = node.switch().offload();
            format!("{} ({})", off.provider().name(), if off.enabled() { "on" } else { "off" })
        };
        let status = Arc::new(Mutex::new(Status {
            remote: remote.to_string(),
            fast_path,
            started: started.clone(),
            current: started,
            ..Status::default()
        }));
        let st = status.clone();
        let thread = std::thread::Builder::new().name("ovsdb".into()).spawn(move || {
            let mut edge = Edge::new(node, Session::new(remote, DATABASE, monitor_request()), st);
            edge.run(&stop);
        })?;
        Ok(Ovsdb { status, thread: Some(thread) })
    }

    /// The `ovsdb/show` text.
    pub fn show(status: &Mutex<Status>) -> String {
        status.lock().unwrap_or_else(|e| e.into_inner()).show()
    }
}

impl Drop for Ovsdb {
    fn drop(&mut self) {
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

struct Edge {
    node: Arc<Node>,
    session: Session,
    status: Arc<Mutex<Status>>,
    /// Ports this module added (the only ones it deletes).
    managed: BTreeSet<String>,
    /// Tap devices this module created for internal interfaces.
    taps: BTreeSet<String>,
    bridge_in_db: bool,
    in_flight: Option<u64>,
    dirty: bool,
    last_retry: Instant,
    logged: BTreeSet<String>,
    max_idle: Option<u64>,
    last_auto: u32,
    /// `ethtool -i` per device (driver name and versions do not change).
    drivers: BTreeMap<String, BTreeMap<String, String>>,
}

impl Edge {
    fn new(node: Arc<Node>, session: Session, status: Arc<Mutex<Status>>) -> Edge {
        Edge {
            node,
            session,
            status,
            managed: BTreeSet::new(),
            taps: BTreeSet::new(),
            bridge_in_db: false,
            in_flight: None,
            dirty: false,
            last_retry: Instant::now(),
            logged: BTreeSet::new(),
            max_idle: None,
            last_auto: 0,
            drivers: BTreeMap::new(),
        }
    }

    fn status(&self) -> std::sync::MutexGuard<'_, Status> {
        self.status.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn run(&mut self, stop: &AtomicBool) {
        let mut was_connected = false;
        while !stop.load(Ordering::Relaxed) {
            match self.session.poll(Duration::from_millis(200)) {
                Event::Connected => {
                    info!(remote = %self.session.remote(), "connected to the OVSDB server");
                    was_connected = true;
                    self.in_flight = None;
                    self.dirty = true;
                    let mut st = self.status();
                    st.connected = true;
                    st.last_error = None;
                }
                Event::Updated => self.dirty = true,
                Event::TransactDone { id, result } => {
                    if self.in_flight == Some(id) {
                        self.in_flight = None;
                    }
                    match result {
                        Ok(_) => self.status().transactions += 1,
                        Err(e) => warn!(error = %e, "OVSDB write-back failed; retrying after the next change"),
                    }
                    self.dirty = true;
                }
                Event::Disconnected { error, retry_in } => {
                    if was_connected {
                        warn!(%error, "lost the OVSDB connection; forwarding continues, reconnecting");
                        was_connected = false;
                    }
                    tracing::debug!(%error, ?retry_in, "OVSDB connect failed");
                    self.in_flight = None;
                    let mut st = self.status();
                    st.connected = false;
                    st.last_error = Some(error.to_string());
                }
                Event::Idle => {}
            }
            if self.last_retry.elapsed() >= RETRY {
                self.last_retry = Instant::now();
                self.dirty = true;
            }
            if self.dirty && self.in_flight.is_none() && self.session.is_connected() {
                self.dirty = false;
                self.reconcile();
            }
        }
    }

    fn log_once(&mut self, line: String) {
        if self.logged.insert(line.clone()) {
            warn!("{line}");
        }
    }

    fn reconcile(&mut self) {
        let bridge = self.node.bridge().to_string();
        let view = SwitchView {
            bridge: bridge.clone(),
            bridge_in_db: self.bridge_in_db,
            ports: self
                .node
                .ports()
                .into_iter()
                .map(|p| SwitchPort {
                    from_ovsdb: self.managed.contains(&p.name),
                    name: p.name,
                    ofport: p.ofport,
                    external_ids: p.external_ids,
                })
                .chain(self.taps.iter().filter(|t| **t == bridge).map(|t| SwitchPort {
                    name: t.clone(),
                    ofport: OFPP_LOCAL,
                    from_ovsdb: true,
                    external_ids: BTreeMap::new(),
                }))
                .collect(),
            last_auto: self.last_auto,
            devices: std::fs::read_dir("/sys/class/net")
                .map(|d| d.filter_map(|e| Some(e.ok()?.file_name().to_string_lossy().into_owned())).collect())
                .unwrap_or_default(),
        };
        let p = plan(self.session.replica(), &view);
        for n in p.notes.clone() {
            self.log_once(n);
        }
        self.apply_settings(&p.settings);
        match &p.bridge {
            Some(BridgeChange::Created(b)) => {
                info!(bridge = %b, "bridge created in OVSDB: serving it");
                self.bridge_in_db = true;
            }
            Some(BridgeChange::Deleted(b)) => {
                info!(bridge = %b, "bridge deleted from OVSDB: removing its ports");
                self.bridge_in_db = false;
            }
            None => {}
        }
        for name in &p.del {
            if name == &bridge && self.taps.contains(name) {
                // LOCAL: a device only.
            } else if let Err(e) = self.node.del_port(name) {
                warn!(port = %name, error = %e, "could not delete the port");
            }
            self.managed.remove(name);
            self.drivers.remove(name);
            if self.taps.remove(name) {
                del_tap(name);
            }
            info!(port = %name, "port deleted (OVSDB)");
        }
        for (name, ids) in &p.update_ids {
            // add_port is idempotent per name: it keeps the number and takes the new metadata.
            if let Some(port) = view.ports.iter().find(|q| &q.name == name) {
                match self.node.add_port(name, Some(port.ofport), ids.clone()) {
                    Ok(_) => info!(port = %name, "external_ids updated (OVSDB)"),
                    Err(e) => warn!(port = %name, error = %e, "could not update external_ids"),
                }
            }
        }
        let mut outcome = Outcome { failed: p.refused.clone(), ..Outcome::default() };
        for add in &p.add {
            if add.kind == PortKind::Internal && !self.taps.contains(&add.name) {
                if let Err(e) = add_tap(&add.name) {
                    outcome.failed.insert(add.name.clone(), e);
                    continue;
                }
                self.taps.insert(add.name.clone());
            }
            if add.name == bridge && add.ofport == OFPP_LOCAL {
                continue;
            }
            if !Path::new("/sys/class/net").join(&add.name).exists() {
                // Gone since the plan listed the devices.
                outcome.failed.insert(add.name.clone(), no_such_device(&add.name));
                continue;
            }
            match self.node.add_port(&add.name, Some(add.ofport), add.external_ids.clone()) {
                Ok(n) => {
                    if add.auto {
                        self.last_auto = n;
                    }
                    self.managed.insert(add.name.clone());
                    info!(port = %add.name, ofport = n, "port added (OVSDB)");
                }
                Err(e) => {
                    outcome
                        .failed
                        .insert(add.name.clone(), format!("could not open network device {} ({e})", add.name));
                }
            }
        }
        for port in self.node.ports() {
            let f = self.facts(&port.name, port.ofport);
            outcome.up.insert(port.name.clone(), f);
        }
        if self.taps.contains(&bridge) {
            let f = self.facts(&bridge, OFPP_LOCAL);
            outcome.datapath_id = f.mac.as_ref().map(|m| format!("0000{}", m.replace(':', "")));
            outcome.up.insert(bridge.clone(), f);
        }
        for (iface, e) in &outcome.failed {
            self.log_once(format!("interface {iface}: {e}"));
        }
        {
            let mut st = self.status();
            st.bridge_in_db = self.bridge_in_db;
            st.current = p.settings.clone();
            st.errors = outcome.failed.clone();
        }
        let mut ops = write_back(self.session.replica(), &bridge, &outcome);
        if ops.is_empty() {
            return;
        }
        ops.push(Operation::Comment("hwol-vswitchd: reconfigured".into()));
        match self.session.transact(&ops) {
            Ok(id) => self.in_flight = Some(id),
            Err(e) => warn!(error = %e, "could not send the OVSDB write-back"),
        }
    }

    /// [`facts`] plus the driver from `ethtool -i`, as OVS's `status` column.
    fn facts(&mut self, name: &str, ofport: u32) -> IfaceFacts {
        let mut f = facts(name, ofport);
        let status = self.drivers.entry(name.to_string()).or_insert_with(|| ethtool_info(name));
        f.status.extend(status.iter().map(|(k, v)| (k.clone(), v.clone())));
        f
    }

    fn apply_settings(&mut self, s: &Settings) {
        if s.max_idle_ms != self.max_idle {
            self.max_idle = s.max_idle_ms;
            if let Some(ms) = s.max_idle_ms {
                self.node.switch().ofproto().set_max_idle(Duration::from_millis(ms));
                info!(ms, "max-idle applied (other_config:max-idle)");
            }
        }
        let why = {
            let mut st = self.status();
            st.current = s.clone();
            st.restart_needed()
        };
        for w in why {
            self.log_once(format!("{w}: restart hwol-vswitchd to apply it (as with ovs-vswitchd)"));
        }
    }
}

/// What the kernel says about device `name` (sysfs), for the write-back.
fn facts(name: &str, ofport: u32) -> IfaceFacts {
    let dir = Path::new("/sys/class/net").join(name);
    let read = |f: &str| std::fs::read_to_string(dir.join(f)).ok().map(|s| s.trim().to_string());
    let flags = read("flags").and_then(|f| u32::from_str_radix(f.trim_start_matches("0x"), 16).ok());
    IfaceFacts {
        ofport,
        ifindex: read("ifindex").and_then(|s| s.parse().ok()),
        mac: read("address"),
        admin_up: flags.map(|f| f & 1 != 0),
        link_up: read("carrier").map(|c| c == "1").or(Some(false)),
        mtu: read("mtu").and_then(|s| s.parse().ok()),
        status: BTreeMap::new(),
    }
}

/// `driver_name`, `driver_version` and `firmware_version` from `ethtool -i`
/// (what OVS puts in an interface's `status`); empty if ethtool fails.
fn ethtool_info(name: &str) -> BTreeMap<String, String> {
    let Ok(out) = std::process::Command::new("ethtool").args(["-i", name]).output() else { return BTreeMap::new() };
    if !out.status.success() {
        return BTreeMap::new();
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let mut m = BTreeMap::new();
    for line in text.lines() {
        let Some((k, v)) = line.split_once(':') else { continue };
        let key = match k.trim() {
            "driver" => "driver_name",
            "version" => "driver_version",
            "firmware-version" => "firmware_version",
            _ => continue,
        };
        m.insert(key.to_string(), v.trim().to_string());
    }
    m
}

fn ip(args: &[&str]) -> Result<(), String> {
    let out = std::process::Command::new("ip")
        .args(args)
        .output()
        .map_err(|e| format!("cannot run ip: {e} (install iproute2)"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!("ip {}: {}", args.join(" "), String::from_utf8_lossy(&out.stderr).trim()))
    }
}

/// An internal interface: a tap device. It is left down, as OVS leaves
/// internal interfaces (whoever configures it brings it up).
fn add_tap(name: &str) -> Result<(), String> {
    if Path::new("/sys/class/net").join(name).exists() {
        return Ok(());
    }
    ip(&["tuntap", "add", "dev", name, "mode", "tap"])
        .map_err(|e| format!("could not create internal interface {name} as a tap device ({e})"))
}

fn del_tap(name: &str) {
    if let Err(e) = ip(&["link", "del", name]) {
        warn!(device = %name, error = %e, "could not delete the internal interface's tap device");
    }
}
