//! The bridge reconciler: what `ovs-vswitchd`'s `bridge_reconfigure` does,
//! reduced to hwol's one bridge per daemon, as pure functions.
//!
//! # Two steps per change
//!
//! 1. [`plan`]: from the [`Replica`] of `Open_vSwitch`, `Bridge`, `Port` and
//!    `Interface` and the switch's current ports ([`SwitchView`]), compute
//!    the [`Plan`]: whether the served bridge appeared or disappeared, the
//!    ports to delete, the ports to add (with their OpenFlow numbers), the
//!    interfaces refused up front (with the text for their `error` column),
//!    and the [`Settings`] from `Open_vSwitch:other_config`.
//! 2. The caller applies the plan to the switch and reports per interface
//!    what happened ([`Outcome`]); [`write_back`] then computes the
//!    `transact` operations that publish the result: Interface `ofport`,
//!    `ifindex`, `mac_in_use`, `admin_state`, `link_state`, `mtu`, `status`,
//!    `error`; Bridge `datapath_id`; and `Open_vSwitch.cur_cfg = next_cfg`,
//!    which is what `ovs-vsctl` (without `--no-wait`) waits for.
//!
//! Both are idempotent: run them again on the replica after the write-backs
//! came back and the plan is empty and no operations are produced, so the
//! loop settles. Only columns whose value differs are written.
//!
//! # Rules (OVS behaviour kept, and where hwol differs)
//!
//! - **One bridge.** The daemon serves the bridge whose name is its
//!   configured bridge name (`br-int` by default). Interfaces of any other
//!   bridge get `ofport = -1` and an `error` saying so, as OVS does for
//!   interfaces it cannot open.
//! - **Interface types.** `""` and `"system"` are existing network devices
//!   ([`PortKind::Netdev`]); `"internal"` is created by hwol as a tap device
//!   ([`PortKind::Internal`]); every other type (patch, tunnels, dpdk, …)
//!   is refused with an `error`. A Port with several interfaces (a bond) is
//!   refused.
//! - **OpenFlow port numbers** (as OVS's `iface_pick_ofport`): a valid,
//!   free `ofport_request` wins; otherwise the number already in the
//!   Interface's `ofport` column (from an earlier run) if valid and free;
//!   otherwise the next free number after the last one chosen this way
//!   ([`SwitchView::last_auto`]), wrapping to 1, so a freed number is not
//!   handed out again at once (OVS 3.1 does the same: after `del-port` of
//!   port 1, the next ports get 3 and 4, not 1). The bridge's own internal
//!   interface (named like the bridge) is `LOCAL`, 65534. OVS also
//!   remembers when each number was last used and prefers the least
//!   recently used after wrapping; hwol does not.
//! - **Ports hwol did not get from OVSDB** (the `[[port]]` entries of the
//!   configuration file) are left alone: never deleted, their numbers count
//!   as taken; if the database names one, it is adopted (its number is
//!   written back) rather than added again.
//! - **Settings.** `other_config:max-idle` (ms) applies live;
//!   `hw-offload` and `tc-policy` are read at daemon start, as in OVS: the
//!   caller compares them with the values it started with and reports that a
//!   restart is needed.

use std::collections::{BTreeMap, BTreeSet};

use crate::datum::{Atom, Datum, Row, Uuid};
use crate::monitor::{MonitorRequest, Replica};
use crate::transact::{Condition, Operation};

/// OpenFlow's `LOCAL` port: the bridge's own internal interface.
pub const OFPP_LOCAL: u32 = 0xfffe;

/// Highest number an ordinary OpenFlow port can have (`OFPP_MAX`).
pub const OFPP_MAX: u32 = 0xff00 - 1;

/// The tables and columns the daemon monitors.
pub fn monitor_request() -> MonitorRequest {
    MonitorRequest::default()
        .table("Open_vSwitch", &["bridges", "next_cfg", "cur_cfg", "other_config"])
        .table("Bridge", &["name", "ports", "datapath_type", "datapath_id"])
        .table("Port", &["name", "interfaces"])
        .table(
            "Interface",
            &[
                "name",
                "type",
                "ofport",
                "ofport_request",
                "external_ids",
                "error",
                "ifindex",
                "mac_in_use",
                "admin_state",
                "link_state",
                "mtu",
                "status",
            ],
        )
}

/// One port the switch has now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SwitchPort {
    /// Interface name.
    pub name: String,
    /// OpenFlow port number.
    pub ofport: u32,
    /// Whether it was added from OVSDB (and so may be deleted from OVSDB).
    pub from_ovsdb: bool,
    /// Its metadata (the Interface's `external_ids` for a port from OVSDB).
    pub external_ids: BTreeMap<String, String>,
}

/// The switch as the daemon has it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SwitchView {
    /// The bridge this daemon serves.
    pub bridge: String,
    /// Whether the daemon currently considers that bridge present in the database.
    pub bridge_in_db: bool,
    /// Its ports.
    pub ports: Vec<SwitchPort>,
    /// The last OpenFlow port number picked automatically for a port that
    /// was attached (0 at start); the next automatic pick starts after it.
    pub last_auto: u32,
    /// The network devices that exist now (`/sys/class/net`). A netdev
    /// interface whose device is missing is refused with OVS's text
    /// ([`no_such_device`]) and uses up no port number.
    pub devices: BTreeSet<String>,
}

/// How a port's device comes to exist.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PortKind {
    /// An existing network device (`type` `""` or `"system"`).
    Netdev,
    /// A tap device hwol creates (`type` `"internal"`).
    Internal,
}

/// A port to add.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddPort {
    /// Interface (= device) name.
    pub name: String,
    /// How the device comes to exist.
    pub kind: PortKind,
    /// The OpenFlow port number to give it.
    pub ofport: u32,
    /// The Interface's `external_ids`.
    pub external_ids: BTreeMap<String, String>,
    /// The number was picked automatically: once the port is attached, the
    /// caller sets [`SwitchView::last_auto`] to it (a failed attach does not
    /// use up a number, as in OVS).
    pub auto: bool,
}

/// The served bridge appeared in or disappeared from the database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BridgeChange {
    /// `ovs-vsctl add-br`.
    Created(String),
    /// `ovs-vsctl del-br`: every port from OVSDB is deleted with it.
    Deleted(String),
}

/// `Open_vSwitch:other_config` keys hwol honours.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Settings {
    /// `hw-offload=true` (read at start).
    pub hw_offload: bool,
    /// `tc-policy` (`none`, `skip_sw`, `skip_hw`; read at start).
    pub tc_policy: Option<String>,
    /// `max-idle` in milliseconds (applies live).
    pub max_idle_ms: Option<u64>,
}

/// What to do to the switch.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    /// The served bridge appeared or disappeared.
    pub bridge: Option<BridgeChange>,
    /// Ports to delete, by name (done before the adds).
    pub del: Vec<String>,
    /// Ports to add.
    pub add: Vec<AddPort>,
    /// Ports from OVSDB whose Interface `external_ids` changed: the new map.
    pub update_ids: Vec<(String, BTreeMap<String, String>)>,
    /// Interfaces refused without trying, by name, with their `error` text.
    pub refused: BTreeMap<String, String>,
    /// Settings from `other_config`.
    pub settings: Settings,
    /// Lines worth logging (other bridges, bad settings), each once per plan.
    pub notes: Vec<String>,
}

impl Plan {
    /// Whether the plan changes the switch.
    pub fn changes_switch(&self) -> bool {
        self.bridge.is_some() || !self.del.is_empty() || !self.add.is_empty() || !self.update_ids.is_empty()
    }
}

/// One interface the database wants on the served bridge.
#[derive(Debug, Clone)]
struct Wanted<'a> {
    name: &'a str,
    row: &'a Row,
    kind: Result<PortKind, String>,
}

fn root(replica: &Replica) -> Option<(&Uuid, &Row)> {
    replica.rows("Open_vSwitch").next()
}

fn name(row: &Row) -> &str {
    row.get("name").and_then(Datum::as_str).unwrap_or("")
}

/// Bridges in the root row's `bridges`, as (uuid, row).
fn bridges(replica: &Replica) -> Vec<(&Uuid, &Row)> {
    let Some((_, ovs)) = root(replica) else { return Vec::new() };
    let Some(list) = ovs.get("bridges") else { return Vec::new() };
    list.uuids().filter_map(|u| Some((u, replica.row("Bridge", u)?))).collect()
}

/// Interfaces of one bridge: (port row, interface uuid, interface row).
fn interfaces<'a>(replica: &'a Replica, bridge: &'a Row) -> Vec<(&'a Row, &'a Uuid, &'a Row)> {
    let mut out = Vec::new();
    for pu in bridge.get("ports").into_iter().flat_map(Datum::uuids) {
        let Some(port) = replica.row("Port", pu) else { continue };
        for iu in port.get("interfaces").into_iter().flat_map(Datum::uuids) {
            if let Some(iface) = replica.row("Interface", iu) {
                out.push((port, iu, iface));
            }
        }
    }
    out
}

/// The `error` text for a device that does not exist, as OVS writes it.
pub fn no_such_device(name: &str) -> String {
    format!("could not open network device {name} (No such device)")
}

/// The `error` text for interfaces of a bridge hwol does not serve.
pub fn other_bridge_error(bridge: &str, served: &str) -> String {
    format!(
        "hwol-vswitchd serves one bridge per daemon ({served}); bridge {bridge} is not served \
         (run another hwol-vswitchd with bridge = \"{bridge}\", or use {served})"
    )
}

fn wanted<'a>(replica: &'a Replica, bridge: &'a Row) -> Vec<Wanted<'a>> {
    let mut out = Vec::new();
    for (port, _, iface) in interfaces(replica, bridge) {
        let n_ifaces = port.get("interfaces").map_or(0, |d| d.uuids().count());
        let ty = iface.get("type").and_then(Datum::as_str).unwrap_or("");
        let kind = if n_ifaces > 1 {
            Err(format!(
                "port {} has {n_ifaces} interfaces (a bond): hwol does not support bonds; add each interface as its own port",
                name(port)
            ))
        } else {
            match ty {
                "" | "system" => Ok(PortKind::Netdev),
                "internal" => Ok(PortKind::Internal),
                other => Err(format!(
                    "interface type \"{other}\" is not supported by hwol (use type \"\"/\"system\" for an existing \
                     device, or \"internal\")"
                )),
            }
        };
        out.push(Wanted { name: name(iface), row: iface, kind });
    }
    out
}

fn settings(replica: &Replica, notes: &mut Vec<String>) -> Settings {
    let mut s = Settings::default();
    let Some((_, ovs)) = root(replica) else { return s };
    let oc = ovs.get("other_config").map(Datum::to_string_map).unwrap_or_default();
    s.hw_offload = oc.get("hw-offload").map(String::as_str) == Some("true");
    s.tc_policy = oc.get("tc-policy").cloned();
    if let Some(v) = oc.get("max-idle") {
        match v.parse::<u64>() {
            Ok(ms) if ms > 0 => s.max_idle_ms = Some(ms),
            _ => notes.push(format!(
                "Open_vSwitch other_config:max-idle={v:?} ignored: use a positive number of milliseconds"
            )),
        }
    }
    if let Some(p) = &s.tc_policy {
        if !matches!(p.as_str(), "none" | "skip_sw" | "skip_hw") {
            notes.push(format!("Open_vSwitch other_config:tc-policy={p:?} is not none, skip_sw or skip_hw"));
        }
    }
    s
}

/// The ofport for `w`, given the numbers taken so far, and whether it was
/// picked automatically (after `last_auto`).
fn pick_ofport(w: &Wanted<'_>, bridge: &str, taken: &BTreeSet<u32>, last_auto: u32) -> Option<(u32, bool)> {
    if w.name == bridge && w.kind == Ok(PortKind::Internal) {
        return (!taken.contains(&OFPP_LOCAL)).then_some((OFPP_LOCAL, false));
    }
    let valid = |n: i64| (1..=i64::from(OFPP_MAX)).contains(&n) && !taken.contains(&(n as u32));
    for col in ["ofport_request", "ofport"] {
        if let Some(n) = w.row.get(col).and_then(Datum::as_i64) {
            if valid(n) {
                return Some((n as u32, false));
            }
        }
    }
    let start = last_auto.min(OFPP_MAX);
    (start + 1..=OFPP_MAX).chain(1..=start).find(|n| !taken.contains(n)).map(|n| (n, true))
}

/// Step 1: what to do to the switch.
pub fn plan(replica: &Replica, sw: &SwitchView) -> Plan {
    let mut p = Plan::default();
    let mut last_auto = sw.last_auto;
    p.settings = settings(replica, &mut p.notes);
    let all = bridges(replica);
    let served = all.iter().find(|(_, b)| name(b) == sw.bridge);
    for (_, b) in &all {
        if name(b) != sw.bridge {
            let msg = other_bridge_error(name(b), &sw.bridge);
            p.notes.push(msg.clone());
            for w in wanted(replica, b) {
                p.refused.insert(w.name.to_string(), msg.clone());
            }
        }
    }
    match (served.is_some(), sw.bridge_in_db) {
        (true, false) => p.bridge = Some(BridgeChange::Created(sw.bridge.clone())),
        (false, true) => p.bridge = Some(BridgeChange::Deleted(sw.bridge.clone())),
        _ => {}
    }
    let want: Vec<Wanted<'_>> = served.map(|(_, b)| wanted(replica, b)).unwrap_or_default();
    let want_ok: BTreeMap<&str, &Wanted<'_>> = want.iter().filter(|w| w.kind.is_ok()).map(|w| (w.name, w)).collect();
    for w in &want {
        if let Err(e) = &w.kind {
            p.refused.insert(w.name.to_string(), e.clone());
        }
    }
    // Delete OVSDB ports no longer wanted, and ports whose `ofport_request`
    // asks for a number that is free, or becomes free as other ports leave
    // or move (moves cascade, so iterate to a fixed point): those are
    // re-added with it. Of two ports asking for one number only the first
    // moves.
    let mut taken: BTreeSet<u32> = BTreeSet::new();
    let leaving: BTreeSet<&str> = sw
        .ports
        .iter()
        .filter(|q| q.from_ovsdb && !want_ok.contains_key(q.name.as_str()))
        .map(|q| q.name.as_str())
        .collect();
    let mut moving: BTreeSet<&str> = BTreeSet::new();
    let mut claimed: BTreeSet<i64> = BTreeSet::new();
    loop {
        let mut changed = false;
        for port in &sw.ports {
            let name = port.name.as_str();
            if !port.from_ovsdb || name == sw.bridge || leaving.contains(name) || moving.contains(name) {
                continue;
            }
            let Some(r) = want_ok.get(name).and_then(|w| w.row.get("ofport_request")).and_then(Datum::as_i64) else {
                continue;
            };
            if r == i64::from(port.ofport) || !(1..=i64::from(OFPP_MAX)).contains(&r) || claimed.contains(&r) {
                continue;
            }
            let held = sw.ports.iter().any(|q| {
                i64::from(q.ofport) == r
                    && q.name != port.name
                    && !leaving.contains(q.name.as_str())
                    && !moving.contains(q.name.as_str())
            });
            if !held {
                moving.insert(name);
                claimed.insert(r);
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    for port in &sw.ports {
        let name = port.name.as_str();
        if leaving.contains(name) || moving.contains(name) {
            p.del.push(port.name.clone());
            continue;
        }
        taken.insert(port.ofport);
        if let Some(w) = want_ok.get(name).filter(|_| port.from_ovsdb && name != sw.bridge) {
            let ids = w.row.get("external_ids").map(Datum::to_string_map).unwrap_or_default();
            if ids != port.external_ids {
                p.update_ids.push((port.name.clone(), ids));
            }
        }
    }
    let present: BTreeSet<&str> =
        sw.ports.iter().filter(|q| !p.del.contains(&q.name)).map(|q| q.name.as_str()).collect();
    // Requested numbers first, so a later port without a request does not
    // take a number another port asked for.
    let mut order: Vec<&Wanted<'_>> = want_ok.values().copied().filter(|w| !present.contains(w.name)).collect();
    order.sort_by_key(|w| (w.row.get("ofport_request").and_then(Datum::as_i64).is_none(), w.name));
    for w in order {
        if w.kind == Ok(PortKind::Netdev) && !sw.devices.contains(w.name) {
            p.refused.insert(w.name.to_string(), no_such_device(w.name));
            continue;
        }
        match pick_ofport(w, &sw.bridge, &taken, last_auto) {
            Some((ofport, auto)) => {
                taken.insert(ofport);
                if auto {
                    last_auto = ofport;
                }
                let external_ids = w.row.get("external_ids").map(Datum::to_string_map).unwrap_or_default();
                p.add.push(AddPort {
                    name: w.name.to_string(),
                    kind: w.kind.clone().unwrap_or(PortKind::Netdev),
                    ofport,
                    external_ids,
                    auto,
                });
            }
            None => {
                p.refused.insert(w.name.to_string(), "no free OpenFlow port number".to_string());
            }
        }
    }
    p
}

/// What the daemon knows about a device it attached.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IfaceFacts {
    /// OpenFlow port number.
    pub ofport: u32,
    /// Kernel ifindex.
    pub ifindex: Option<i64>,
    /// MAC address, `aa:bb:cc:dd:ee:ff`.
    pub mac: Option<String>,
    /// Administratively up (`IFF_UP`).
    pub admin_up: Option<bool>,
    /// Carrier/operationally up.
    pub link_up: Option<bool>,
    /// MTU.
    pub mtu: Option<i64>,
    /// `status` map (e.g. `driver_name`).
    pub status: BTreeMap<String, String>,
}

/// The result of applying a plan, as the write-back needs it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outcome {
    /// Attached interfaces of the served bridge, by name.
    pub up: BTreeMap<String, IfaceFacts>,
    /// Interfaces that could not be attached, by name, with the `error` text.
    pub failed: BTreeMap<String, String>,
    /// The served bridge's `datapath_id` (16 hex digits).
    pub datapath_id: Option<String>,
}

fn set_if_differs(row: &Row, out: &mut Row, col: &str, want: Datum) {
    if row.get(col) != Some(&want) {
        out.insert(col.to_string(), want);
    }
}

fn opt<T: Into<Atom>>(v: Option<T>) -> Datum {
    v.map_or_else(Datum::empty, Datum::scalar)
}

/// Step 2: the operations that publish `outcome` (empty if the database
/// already says so). `cur_cfg` is set to `next_cfg` whenever they differ:
/// call this only after the plan for the current replica was applied.
pub fn write_back(replica: &Replica, served: &str, outcome: &Outcome) -> Vec<Operation> {
    let mut ops = Vec::new();
    for (_, b) in bridges(replica) {
        for (_, uuid, iface) in interfaces(replica, b) {
            let n = name(iface);
            let mut row = Row::new();
            if let Some(f) = outcome.up.get(n) {
                set_if_differs(iface, &mut row, "ofport", Datum::scalar(i64::from(f.ofport)));
                set_if_differs(iface, &mut row, "error", Datum::empty());
                set_if_differs(iface, &mut row, "ifindex", opt(f.ifindex));
                set_if_differs(iface, &mut row, "mac_in_use", opt(f.mac.clone()));
                let updown = |b: Option<bool>| b.map(|b| if b { "up" } else { "down" });
                set_if_differs(iface, &mut row, "admin_state", opt(updown(f.admin_up)));
                set_if_differs(iface, &mut row, "link_state", opt(updown(f.link_up)));
                set_if_differs(iface, &mut row, "mtu", opt(f.mtu));
                let status = Datum::string_map(f.status.iter().map(|(k, v)| (k.as_str(), v.as_str())));
                set_if_differs(iface, &mut row, "status", status);
            } else if let Some(err) = outcome.failed.get(n) {
                set_if_differs(iface, &mut row, "ofport", Datum::scalar(-1));
                set_if_differs(iface, &mut row, "error", Datum::scalar(err.as_str()));
                for col in ["ifindex", "mac_in_use", "admin_state", "link_state", "mtu"] {
                    set_if_differs(iface, &mut row, col, Datum::empty());
                }
            } else {
                continue;
            }
            if !row.is_empty() {
                ops.push(Operation::Update { table: "Interface".into(), conditions: vec![Condition::uuid(uuid)], row });
            }
        }
    }
    if let (Some(dpid), Some((uuid, b))) =
        (&outcome.datapath_id, bridges(replica).into_iter().find(|(_, b)| name(b) == served))
    {
        let mut row = Row::new();
        set_if_differs(b, &mut row, "datapath_id", Datum::scalar(dpid.as_str()));
        if !row.is_empty() {
            ops.push(Operation::Update { table: "Bridge".into(), conditions: vec![Condition::uuid(uuid)], row });
        }
    }
    if let Some((uuid, ovs)) = root(replica) {
        let next = ovs.get("next_cfg").and_then(Datum::as_i64).unwrap_or(0);
        let cur = ovs.get("cur_cfg").and_then(Datum::as_i64).unwrap_or(0);
        if cur != next {
            let row: Row = [("cur_cfg".to_string(), Datum::scalar(next))].into();
            ops.push(Operation::Update { table: "Open_vSwitch".into(), conditions: vec![Condition::uuid(uuid)], row });
        }
    }
    ops
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::monitor::table_updates_from_json;
    use serde_json::{json, Value};

    const OVS: &str = "00000000-0000-0000-0000-000000000000";

    fn u(n: u32) -> String {
        format!("00000000-0000-0000-0000-{n:012}")
    }

    /// A port (= its one interface): name, type, ofport_request.
    type TestPort<'a> = (&'a str, &'a str, Option<i64>);

    /// A replica: bridges as (name, ports).
    fn replica(bridges: &[(&str, &[TestPort<'_>])], other_config: Value, next_cfg: i64) -> Replica {
        let mut n = 1;
        let mut t = json!({"Open_vSwitch": {}, "Bridge": {}, "Port": {}, "Interface": {}});
        let mut br_uuids = Vec::new();
        for (bname, ports) in bridges {
            let mut port_uuids = Vec::new();
            for (pname, ty, req) in ports.iter() {
                let (pu, iu) = (u(n), u(n + 1));
                n += 2;
                let req = req.map_or(json!(["set", []]), |r| json!(r));
                t["Interface"][&iu] = json!({"new": {"name": pname, "type": ty, "ofport_request": req,
                    "ofport": ["set", []], "error": ["set", []], "external_ids": ["map", [["iface-id", pname]]]}});
                t["Port"][&pu] = json!({"new": {"name": pname, "interfaces": ["uuid", iu]}});
                port_uuids.push(json!(["uuid", pu]));
            }
            let bu = u(n);
            n += 1;
            t["Bridge"][&bu] =
                json!({"new": {"name": bname, "ports": ["set", port_uuids], "datapath_id": ["set", []]}});
            br_uuids.push(json!(["uuid", bu]));
        }
        t["Open_vSwitch"][OVS] = json!({"new": {"bridges": ["set", br_uuids], "next_cfg": next_cfg, "cur_cfg": 0,
            "other_config": other_config}});
        let mut r = Replica::new();
        r.apply(&table_updates_from_json(&t).unwrap());
        r
    }

    /// Apply `update` operations (by `_uuid`) as the server would, echoing
    /// them back through the monitor.
    fn apply_ops(r: &mut Replica, ops: &[Operation]) {
        for op in ops {
            let Operation::Update { table, conditions, row } = op else { panic!("unexpected {op:?}") };
            let uuid = conditions[0].value.as_atom().and_then(Atom::as_uuid).unwrap().clone();
            let mut new = r.row(table, &uuid).unwrap().clone();
            new.extend(row.clone());
            let v = json!({table.as_str(): {uuid.as_str(): {"new": crate::datum::row_to_json(&new)}}});
            r.apply(&table_updates_from_json(&v).unwrap());
        }
    }

    fn view(ports: &[(&str, u32, bool)], in_db: bool) -> SwitchView {
        SwitchView {
            bridge: "br-int".into(),
            bridge_in_db: in_db,
            ports: ports
                .iter()
                .map(|(n, o, f)| SwitchPort {
                    name: n.to_string(),
                    ofport: *o,
                    from_ovsdb: *f,
                    external_ids: [("iface-id".to_string(), n.to_string())].into(),
                })
                .collect(),
            last_auto: 0,
            devices: ["p1", "p2", "p3", "p4", "p5", "cfg", "vx", "e1", "a", "b"].map(String::from).into(),
        }
    }

    /// Pretend every add succeeded; return the new switch view and outcome.
    fn apply_plan(p: &Plan, before: &SwitchView) -> (SwitchView, Outcome) {
        let mut after = before.clone();
        after.last_auto = p.add.iter().rev().find(|a| a.auto).map_or(before.last_auto, |a| a.ofport);
        after.bridge_in_db = match &p.bridge {
            Some(BridgeChange::Created(_)) => true,
            Some(BridgeChange::Deleted(_)) => false,
            None => before.bridge_in_db,
        };
        after.ports.retain(|q| !p.del.contains(&q.name));
        for a in &p.add {
            after.ports.push(SwitchPort {
                name: a.name.clone(),
                ofport: a.ofport,
                from_ovsdb: true,
                external_ids: a.external_ids.clone(),
            });
        }
        let mut out = Outcome { datapath_id: Some("0000aabbccddeeff".into()), ..Outcome::default() };
        for q in &after.ports {
            out.up.insert(q.name.clone(), IfaceFacts { ofport: q.ofport, ifindex: Some(7), ..IfaceFacts::default() });
        }
        out.failed = p.refused.clone();
        (after, out)
    }

    #[test]
    fn add_br_and_ports_then_settle() {
        let ports: &[TestPort<'_>] =
            &[("br-int", "internal", None), ("p1", "", None), ("p2", "system", Some(5)), ("p3", "", None)];
        let mut r = replica(&[("br-int", ports)], json!(["map", []]), 3);
        let v0 = view(&[], false);
        let p = plan(&r, &v0);
        assert_eq!(p.bridge, Some(BridgeChange::Created("br-int".into())));
        let got: Vec<(&str, PortKind, u32)> = p.add.iter().map(|a| (a.name.as_str(), a.kind, a.ofport)).collect();
        assert_eq!(
            got,
            [
                ("p2", PortKind::Netdev, 5),
                ("br-int", PortKind::Internal, OFPP_LOCAL),
                ("p1", PortKind::Netdev, 1),
                ("p3", PortKind::Netdev, 2)
            ]
        );
        assert_eq!(p.add[2].external_ids.get("iface-id").map(String::as_str), Some("p1"));
        let (v1, out) = apply_plan(&p, &v0);
        let ops = write_back(&r, "br-int", &out);
        // 4 interfaces + the bridge's datapath_id + cur_cfg.
        assert_eq!(ops.len(), 6, "{ops:#?}");
        let cur = ops.last().unwrap().to_json();
        assert_eq!(cur["row"], json!({"cur_cfg": 3}));
        apply_ops(&mut r, &ops);
        // Settled: nothing more to do, nothing more to write.
        let p2 = plan(&r, &v1);
        assert!(!p2.changes_switch(), "{p2:?}");
        assert!(write_back(&r, "br-int", &apply_plan(&p2, &v1).1).is_empty());
    }

    #[test]
    fn del_port_and_del_br_remove_only_ovsdb_ports() {
        let r = replica(&[("br-int", &[("p1", "", None)])], json!(["map", []]), 1);
        let v = view(&[("p1", 1, true), ("p9", 2, true), ("cfg", 3, false)], true);
        let p = plan(&r, &v);
        assert_eq!(p.del, ["p9"]);
        assert!(p.add.is_empty());
        let empty = replica(&[], json!(["map", []]), 2);
        let p = plan(&empty, &v);
        assert_eq!(p.bridge, Some(BridgeChange::Deleted("br-int".into())));
        assert_eq!(p.del, ["p1", "p9"]);
    }

    #[test]
    fn configured_ports_are_adopted_and_their_numbers_taken() {
        let r = replica(&[("br-int", &[("cfg", "", None), ("p1", "", Some(3))])], json!(["map", []]), 1);
        let p = plan(&r, &view(&[("cfg", 3, false)], true));
        assert_eq!(p.add.len(), 1);
        assert_eq!((p.add[0].name.as_str(), p.add[0].ofport), ("p1", 1), "3 is taken: lowest free instead");
    }

    #[test]
    fn changed_ofport_request_re_adds_the_port() {
        let r = replica(&[("br-int", &[("p1", "", Some(9))])], json!(["map", []]), 1);
        let p = plan(&r, &view(&[("p1", 1, true)], true));
        assert_eq!(p.del, ["p1"]);
        assert_eq!(p.add[0].ofport, 9);
    }

    #[test]
    fn other_bridges_unsupported_types_and_bonds_are_refused() {
        let r = replica(
            &[("br-int", &[("vx", "vxlan", None)]), ("br-ex", &[("e1", "", None)])],
            json!(["map", [["max-idle", "500"], ["hw-offload", "true"], ["tc-policy", "skip_sw"]]]),
            1,
        );
        let p = plan(&r, &view(&[], true));
        assert!(p.add.is_empty());
        assert!(p.refused["vx"].contains("\"vxlan\" is not supported"), "{:?}", p.refused);
        assert!(p.refused["e1"].contains("bridge br-ex is not served"), "{:?}", p.refused);
        assert!(p.notes.iter().any(|n| n.contains("br-ex")));
        assert_eq!(
            p.settings,
            Settings { hw_offload: true, tc_policy: Some("skip_sw".into()), max_idle_ms: Some(500) }
        );
        let out = Outcome { failed: p.refused.clone(), ..Outcome::default() };
        let ops = write_back(&r, "br-int", &out);
        let rows: Vec<Value> = ops.iter().map(|o| o.to_json()["row"].clone()).collect();
        assert!(rows.iter().any(|r| r["ofport"] == json!(-1) && r["error"].as_str().unwrap().contains("br-ex")));

        // A Port with two interfaces.
        let mut bond = replica(&[("br-int", &[("a", "", None), ("b", "", None)])], json!(["map", []]), 1);
        let ports: Vec<Uuid> = bond.rows("Port").map(|(u, _)| u.clone()).collect();
        let ifaces: Vec<Value> = bond.rows("Interface").map(|(u, _)| json!(["uuid", u.as_str()])).collect();
        let v = json!({"Port": {ports[0].as_str(): {"new": {"name": "bond0", "interfaces": ["set", ifaces]}}}});
        bond.apply(&table_updates_from_json(&v).unwrap());
        let p = plan(&bond, &view(&[], true));
        assert!(p.refused.values().any(|e| e.contains("bond")), "{:?}", p.refused);
    }

    #[test]
    fn freed_numbers_are_not_reused_at_once() {
        // As OVS 3.1: p1=1, p2=2; del-port p1; the next new ports get 3 and 4.
        let mut v = view(&[("p1", 1, true), ("p2", 2, true)], true);
        v.last_auto = 2;
        let r = replica(&[("br-int", &[("p2", "", None), ("p4", "", None), ("p5", "", None)])], json!(["map", []]), 1);
        let p = plan(&r, &v);
        assert_eq!(p.del, ["p1"]);
        let got: Vec<(&str, u32)> = p.add.iter().map(|a| (a.name.as_str(), a.ofport)).collect();
        assert_eq!(got, [("p4", 3), ("p5", 4)]);
        assert!(p.add.iter().all(|a| a.auto));
        // After the top number, the search wraps to 1.
        v.last_auto = OFPP_MAX;
        let p = plan(&r, &v);
        assert_eq!((p.add[0].ofport, p.add[1].ofport), (1, 3));
    }

    #[test]
    fn missing_devices_get_ovs_error_and_no_number() {
        let r = replica(&[("br-int", &[("gone", "", None), ("p1", "", None)])], json!(["map", []]), 1);
        let p = plan(&r, &view(&[], true));
        assert_eq!(p.refused["gone"], "could not open network device gone (No such device)");
        assert_eq!((p.add[0].name.as_str(), p.add[0].ofport), ("p1", 1));
    }

    #[test]
    fn changed_external_ids_are_passed_on() {
        let mut r = replica(&[("br-int", &[("p1", "", None)])], json!(["map", []]), 1);
        let v = view(&[("p1", 1, true)], true);
        assert!(!plan(&r, &v).changes_switch(), "same ids: nothing to do");
        let (iu, _) = r.rows("Interface").next().map(|(u, row)| (u.clone(), row.clone())).unwrap();
        let ops = [Operation::Update {
            table: "Interface".into(),
            conditions: vec![Condition::uuid(&iu)],
            row: [("external_ids".to_string(), Datum::string_map([("iface-id", "p1"), ("attached-mac", "aa")]))].into(),
        }];
        apply_ops(&mut r, &ops);
        let p = plan(&r, &v);
        assert_eq!(p.update_ids.len(), 1);
        assert_eq!(p.update_ids[0].1.get("attached-mac").map(String::as_str), Some("aa"));
        assert!(p.add.is_empty() && p.del.is_empty());
    }

    #[test]
    fn bad_settings_are_noted() {
        let r = replica(&[], json!(["map", [["max-idle", "soon"], ["tc-policy", "fast"]]]), 0);
        let p = plan(&r, &view(&[], false));
        assert_eq!(p.settings.max_idle_ms, None);
        assert_eq!(p.notes.len(), 2, "{:?}", p.notes);
    }
}
