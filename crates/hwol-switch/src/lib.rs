//! One bridge, end to end, without I/O.
//!
//! A [`Switch`] owns the three parts of the data plane and keeps them in
//! step:
//!
//! - the **software datapath** ([`Datapath`]), shared by the packet threads:
//!   lock-free megaflow lookups, conntrack, recirculation;
//! - **ofproto** ([`Ofproto`]) behind a mutex: misses are translated there
//!   and the resulting megaflow is installed in the datapath *and* queued
//!   for the fast path;
//! - the **offload manager** ([`OffloadManager`]) behind a mutex, driven by
//!   the offload thread.
//!
//! # The loops
//!
//! - [`Switch::receive`] (handler threads): a frame from a port goes through
//!   the datapath; each miss is handled right there (translate, install,
//!   offload, execute), including misses after recirculation.
//! - [`Switch::revalidate`] (revalidator thread, every ~500 ms): merge the
//!   fast path's counters into the megaflows, run ofproto's revalidation and
//!   apply its verdicts to both the datapath and the fast path, and sync
//!   conntrack with the fast path — connections conntrack holds ESTABLISHED
//!   are pushed, those that are closing or gone are pulled back (so FIN and
//!   RST are seen by software), and the fast path's last-used times refresh
//!   the software entries so they do not expire while traffic bypasses them.
//! - [`Switch::offload_run`] (offload thread): apply queued offload work.
//!
//! # Control
//!
//! [`Switch::register_commands`] adds the `dpctl/*`, `ofproto/trace` and
//! `fdb/show` commands to a unixctl command table, in OVS's formats, so
//! `ovs-appctl` drives hwol as it drives `ovs-vswitchd`.

#![forbid(unsafe_code)]

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};
use std::time::Duration;

use hwol_conntrack::{CtEntry, ProtoInfo, TcpState};
use hwol_datapath::{ActionSink, Datapath, DatapathConfig, DatapathSink, FlowKey, Packet, PacketFate};
use hwol_dpctl::{DumpOpts, FlowType, OffloadView};
use hwol_flow::action::UserspaceAction;
use hwol_flow::Metadata;
use hwol_odp::PortNames;
use hwol_offload::{CtOffload, OffloadFlow, OffloadManager, OffloadProvider, OffloadState};
use hwol_ofproto::{DumpedFlow, Ofproto, OfprotoConfig, RevalOp};
use hwol_openflow::text::{parse_flows, PortMap};
use hwol_unixctl::Commands;

pub use hwol_ofproto::FlowFilter;

/// Errors from configuring a switch.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A port could not be added.
    #[error(transparent)]
    Port(#[from] hwol_ofproto::Error),
    /// A flows text did not parse.
    #[error("flows: {0}")]
    Flows(#[from] hwol_openflow::text::Error),
    /// A flow was refused by the bridge.
    #[error("flow {index}: {error}")]
    Flow {
        /// 1-based position in the text.
        index: usize,
        /// Why.
        error: hwol_ofproto::Error,
    },
}

/// Where frames the switch sends go.
pub trait Transmit {
    /// Send `pkt` out of `port`; `false` if the port does not exist.
    fn transmit(&mut self, port: u32, pkt: &Packet) -> bool;
}

struct Sink<'a, T: Transmit> {
    tx: &'a mut T,
    misses: Vec<(Packet, FlowKey)>,
}

impl<T: Transmit> ActionSink for Sink<'_, T> {
    fn output(&mut self, port: u32, pkt: &Packet) -> bool {
        self.tx.transmit(port, pkt)
    }
    fn userspace(&mut self, _pkt: &Packet, _key: &FlowKey, _a: &UserspaceAction) {}
}

impl<T: Transmit> DatapathSink for Sink<'_, T> {
    fn miss(&mut self, pkt: &Packet, key: &FlowKey) {
        self.misses.push((pkt.clone(), *key));
    }
}

/// What one revalidation round did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RevalReport {
    /// Megaflows whose counters grew in the fast path.
    pub merged: usize,
    /// Megaflows deleted.
    pub deleted: usize,
    /// Megaflows whose actions changed.
    pub modified: usize,
    /// Connections pushed to the fast path.
    pub ct_offloaded: usize,
    /// Connections pulled back from it.
    pub ct_removed: usize,
    /// Software conntrack entries refreshed from fast-path use.
    pub ct_touched: usize,
}

/// One bridge and its data plane.
pub struct Switch<P: OffloadProvider> {
    ofproto: Mutex<Ofproto>,
    datapath: Datapath,
    offload: Mutex<OffloadManager<P>>,
    names: RwLock<PortNames>,
    events: Events,
}

/// Event counters for `coverage/show` (cumulative).
#[derive(Default)]
struct Events {
    upcalls: AtomicU64,
    reval_deleted: AtomicU64,
    reval_modified: AtomicU64,
    ct_pushed: AtomicU64,
    ct_pulled: AtomicU64,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// True when conntrack holds the connection established (TCP both ways
/// ESTABLISHED; UDP/other with traffic both ways; ICMP with a reply).
pub fn is_established(e: &CtEntry) -> bool {
    match &e.protoinfo {
        ProtoInfo::Tcp { state_orig, state_reply, .. } => {
            *state_orig == TcpState::Established && *state_reply == TcpState::Established
        }
        ProtoInfo::Other(s) => s.name() == "MULTIPLE" || s.name() == "BIDIR",
        ProtoInfo::Icmp(s) => s.name() == "REPLY",
    }
}

impl<P: OffloadProvider> Switch<P> {
    /// A switch with bridge `name`, offloading to `provider` when `offload` is on.
    pub fn new(name: &str, provider: P, offload: bool) -> Self {
        Switch {
            ofproto: Mutex::new(Ofproto::new(name, OfprotoConfig::default())),
            datapath: Datapath::new(DatapathConfig::default()),
            offload: Mutex::new(OffloadManager::new(provider, offload)),
            names: RwLock::new(PortNames::new()),
            events: Events::default(),
        }
    }

    /// The software datapath.
    pub fn datapath(&self) -> &Datapath {
        &self.datapath
    }

    /// The bridge (locked).
    pub fn ofproto(&self) -> MutexGuard<'_, Ofproto> {
        lock(&self.ofproto)
    }

    /// The offload manager (locked).
    pub fn offload(&self) -> MutexGuard<'_, OffloadManager<P>> {
        lock(&self.offload)
    }

    /// Add port `ofport` named `name` to the bridge and to the fast path. A
    /// port the provider cannot attach still works in software; its flows
    /// then say so in `dpctl/dump-flows -m`.
    pub fn add_port(&self, ofport: u32, name: &str) -> Result<(), Error> {
        self.ofproto().add_port(ofport, name)?;
        self.names.write().unwrap_or_else(|e| e.into_inner()).insert(name, ofport);
        if let Err(e) = self.offload().provider_mut().port_add(ofport, name) {
            tracing::warn!(port = name, ofport, error = %e, "the fast path cannot attach this port; its flows stay in software");
        }
        Ok(())
    }

    /// Remove port `ofport` from the bridge and the fast path. Megaflows
    /// that reference it are deleted at the next revalidation (their
    /// translation changes, or they idle out). Returns the port's name.
    pub fn del_port(&self, ofport: u32) -> Result<String, Error> {
        let p = self.ofproto().del_port(ofport)?;
        self.names.write().unwrap_or_else(|e| e.into_inner()).remove(ofport);
        let _ = self.offload().provider_mut().port_del(ofport);
        Ok(p.name)
    }

    /// Replace the flows loaded from `old` (ovs-ofctl `add-flows` text) by
    /// those of `new`: lines only in `old` are deleted (strictly, by table,
    /// priority and match), lines only in `new` are added, lines in both are
    /// left alone, so their counters and the megaflows they produce stay.
    /// Returns (added, deleted).
    pub fn replace_flows(&self, old: &str, new: &str, now: Duration) -> Result<(usize, usize), Error> {
        let old_lines: HashSet<&str> = old.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
        let new_lines: HashSet<&str> = new.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
        let gone: String = old.lines().filter(|l| !new_lines.contains(l.trim())).map(|l| format!("{l}\n")).collect();
        let fresh: String = new.lines().filter(|l| !old_lines.contains(l.trim())).map(|l| format!("{l}\n")).collect();
        let map = self.port_map();
        // Parse both before changing anything, so a bad text changes nothing.
        let gone = parse_flows(&gone, &map)?;
        let fresh = parse_flows(&fresh, &map)?;
        let mut of = self.ofproto();
        let mut deleted = 0;
        for mut spec in gone {
            spec.matches.key = spec.matches.key.masked(&spec.matches.mask);
            let filter = FlowFilter {
                table: Some(spec.table),
                matches: spec.matches,
                priority: spec.priority,
                cookie: 0,
                cookie_mask: 0,
            };
            deleted += of.flow_delete(&filter, true);
        }
        let added = of.flows_add(fresh, now).map_err(|(i, error)| Error::Flow { index: i + 1, error })?;
        Ok((added, deleted))
    }

    /// Load ovs-ofctl `add-flows` text into the bridge; returns how many.
    pub fn add_flows(&self, text: &str, now: Duration) -> Result<usize, Error> {
        let map = self.port_map();
        let specs = parse_flows(text, &map)?;
        self.ofproto().flows_add(specs, now).map_err(|(i, error)| Error::Flow { index: i + 1, error })
    }

    fn port_map(&self) -> PortMap {
        let mut map = PortMap::new();
        for p in self.ofproto().ports() {
            map.insert(p.name.clone(), p.ofport);
        }
        map
    }

    /// A frame arrived on `port`: forward it, handling misses.
    pub fn receive<T: Transmit>(&self, port: u32, pkt: &mut Packet, now: Duration, tx: &mut T) -> PacketFate {
        let mut sink = Sink { tx, misses: Vec::new() };
        let fate = self.datapath.process(pkt, Metadata::on_port(port), now, &mut sink);
        let mut budget = 16;
        while let Some((mut p, key)) = sink.misses.pop() {
            budget -= 1;
            if budget == 0 {
                break;
            }
            self.handle_miss(&mut p, &key, now, &mut sink);
        }
        fate
    }

    fn handle_miss<T: Transmit>(&self, pkt: &mut Packet, key: &FlowKey, now: Duration, sink: &mut Sink<'_, T>) {
        self.events.upcalls.fetch_add(1, Ordering::Relaxed);
        let up = {
            let mut of = self.ofproto();
            let up = of.upcall(key, now);
            of.credit(up.ufid, pkt.len() as u64, now);
            up
        };
        let flow = self.datapath.flow_put(up.key, up.mask, up.actions.clone());
        self.offload().flow_put(OffloadFlow {
            ufid: flow.ufid,
            key: up.key,
            mask: up.mask,
            actions: up.actions.clone(),
        });
        self.datapath.execute_actions(pkt, Metadata::from_key(key), &up.actions, now, sink);
    }

    /// Take over what a previous run left in the fast path: its megaflows go
    /// into the software datapath (revalidation then reconciles them with the
    /// pipeline, without flushing), its connections into software conntrack
    /// as established. `recirc` is the previous run's
    /// [`Ofproto::recirc_save`] text, restored first so the adopted
    /// megaflows' recirc ids keep their meaning. Returns (flows, connections).
    pub fn adopt(&self, recirc: Option<&str>, now: Duration) -> (usize, usize) {
        if let Some(text) = recirc {
            self.ofproto().recirc_restore(text);
        }
        let mut off = self.offload();
        let flows = off.adopt().unwrap_or_default();
        for f in &flows {
            self.datapath.flow_put(f.key, f.mask, f.actions.clone());
        }
        let mut conns = 0;
        if let Ok(cts) = off.ct_dump() {
            for ct in cts {
                if self.datapath.conntrack().adopt_established(ct.zone, &ct.orig, ct.mark, ct.label, now) {
                    off.ct_adopt(ct);
                    conns += 1;
                }
            }
        }
        (flows.len(), conns)
    }

    /// Apply up to `budget` queued offload operations (offload thread).
    pub fn offload_run(&self, budget: usize) -> usize {
        self.offload().run(budget)
    }

    /// One revalidation round (revalidator thread).
    pub fn revalidate(&self, now: Duration) -> RevalReport {
        let mut rep = RevalReport::default();
        // 1. Fast-path counters into the megaflows.
        if let Ok(deltas) = self.offload().poll_stats() {
            for (ufid, d) in deltas {
                if let Some(f) = self.datapath.flow_get(ufid) {
                    f.stats.merge(d.packets, d.bytes, d.used, 0);
                    rep.merged += 1;
                }
            }
        }
        // 2. ofproto's verdicts, applied to software and fast path alike.
        let dump: Vec<DumpedFlow> =
            self.datapath.flow_dump().into_iter().map(|f| DumpedFlow::from_megaflow(&f)).collect();
        let verdicts = self.ofproto().revalidate(&dump, now);
        for op in verdicts.ops {
            match op {
                RevalOp::Delete { ufid, .. } => {
                    let _ = self.datapath.flow_del(ufid);
                    self.offload().flow_del(ufid);
                    rep.deleted += 1;
                }
                RevalOp::Modify { ufid, actions } => {
                    if let Some(f) = self.datapath.flow_get(ufid) {
                        self.datapath.flow_put(f.key, f.mask, actions.clone());
                        self.offload().flow_put(OffloadFlow { ufid, key: f.key, mask: f.mask, actions });
                        rep.modified += 1;
                    }
                }
            }
        }
        // 3. Conntrack and the fast path.
        self.datapath.conntrack().expire(now);
        let (offloaded, removed, touched) = self.sync_conntrack(now);
        rep.ct_offloaded = offloaded;
        rep.ct_removed = removed;
        rep.ct_touched = touched;
        self.events.reval_deleted.fetch_add(rep.deleted as u64, Ordering::Relaxed);
        self.events.reval_modified.fetch_add(rep.modified as u64, Ordering::Relaxed);
        let mut of = self.ofproto();
        of.expire_rules(now);
        of.expire_macs(now);
        rep
    }

    /// Cumulative event counters, for `coverage/show`: datapath lookups,
    /// upcalls, drops by reason, revalidator and conntrack-offload work.
    pub fn coverage(&self) -> Vec<(String, u64)> {
        let dp = self.datapath.stats();
        let ev = &self.events;
        let mut v = vec![
            ("datapath_hit".to_string(), dp.hit),
            ("datapath_missed".to_string(), dp.missed),
            ("datapath_lost".to_string(), dp.lost),
            ("upcall".to_string(), ev.upcalls.load(Ordering::Relaxed)),
            ("revalidate_flow_del".to_string(), ev.reval_deleted.load(Ordering::Relaxed)),
            ("revalidate_flow_mod".to_string(), ev.reval_modified.load(Ordering::Relaxed)),
            ("ct_offload_push".to_string(), ev.ct_pushed.load(Ordering::Relaxed)),
            ("ct_offload_pull".to_string(), ev.ct_pulled.load(Ordering::Relaxed)),
        ];
        for r in hwol_flow::DropReason::ALL {
            v.push((format!("drop_{}", r.as_str()), dp.drops.get(r)));
        }
        v
    }

    /// Sync conntrack with the fast path: refresh software entries the fast
    /// path used, expire, push newly established connections, pull back
    /// those no longer established. Cheap enough to run every few
    /// milliseconds, so that a connection's data moves to the fast path right
    /// after its handshake. Returns (pushed, pulled back, refreshed).
    pub fn sync_conntrack(&self, now: Duration) -> (usize, usize, usize) {
        let (mut pushed, mut pulled, mut touched) = (0, 0, 0);
        let ct = self.datapath.conntrack();
        let mut off = self.offload();
        if !off.enabled() {
            return (0, 0, 0);
        }
        if let Ok(used) = off.ct_used() {
            for (zone, tuple, at) in used {
                if ct.touch(zone, &tuple, at.min(now)) {
                    touched += 1;
                }
            }
        }
        // Only connections whose phase changed since the last round (or that
        // went away) can need a push or a pull: no table scan here, so this
        // stays cheap with many idle connections (expiry is the
        // revalidator's job).
        for (zone, orig) in ct.take_changes() {
            let entry = ct.get(zone, &orig, now);
            let established = entry.as_ref().is_some_and(is_established);
            let offloaded = off.ct_is_offloaded(zone, &orig);
            if let (Some(e), true, false) = (entry, established, offloaded) {
                if off.ct_offload(CtOffload { zone, orig, mark: e.mark, label: e.label }).is_ok() {
                    pushed += 1;
                }
            } else if !established && offloaded {
                off.ct_remove(zone, &orig);
                pulled += 1;
            }
        }
        self.events.ct_pushed.fetch_add(pushed as u64, Ordering::Relaxed);
        self.events.ct_pulled.fetch_add(pulled as u64, Ordering::Relaxed);
        (pushed, pulled, touched)
    }

    /// `dpctl/dump-flows` for this switch.
    pub fn dump_flows(&self, args: &[String], now: Duration) -> Result<String, String> {
        let off = self.offload();
        let provider = off.provider().name();
        let mut opts = DumpOpts::default();
        let names = self.names.read().unwrap_or_else(|e| e.into_inner()).clone();
        for a in args {
            match a.as_str() {
                "--names" => opts.names = Some(&names),
                "--no-names" => opts.names = None,
                "-m" | "--more" => opts.verbose = true,
                t if t.starts_with("type=") => {
                    opts.filter = FlowType::parse(&t[5..], provider).map_err(|e| e.to_string())?;
                }
                // A datapath name (`system@ovs-system`, `netdev@ovs-netdev`): hwol has one.
                d if !d.starts_with('-') && !d.contains('=') => {}
                other => {
                    return Err(format!("unknown option {other:?}; dpctl/dump-flows takes [--names] [-m] [type=TYPE]"))
                }
            }
        }
        struct View<'a, P: OffloadProvider>(&'a OffloadManager<P>);
        impl<P: OffloadProvider> OffloadView for View<'_, P> {
            fn provider(&self) -> &str {
                self.0.provider().name()
            }
            fn state(&self, ufid: u128) -> Option<OffloadState> {
                self.0.state(ufid).cloned()
            }
        }
        let mut flows = self.datapath.flow_dump();
        flows.sort_by_key(|f| (f.key.recirc_id, f.key.in_port, f.ufid));
        Ok(hwol_dpctl::dump_flows(&flows, &View(&off), &opts, now))
    }

    /// `dpctl/dump-conntrack [zone=N] [-s]`.
    pub fn dump_conntrack(&self, args: &[String], now: Duration) -> Result<String, String> {
        let mut zone = None;
        let mut verbose = false;
        for a in args {
            match a.as_str() {
                "-s" | "--statistics" => verbose = true,
                z if z.starts_with("zone=") => {
                    zone = Some(z[5..].parse::<u16>().map_err(|_| format!("{z:?}: zone must be 0-65535"))?)
                }
                d if !d.starts_with('-') && !d.contains('=') => {}
                other => return Err(format!("unknown option {other:?}; dpctl/dump-conntrack takes [zone=N] [-s]")),
            }
        }
        let entries = self.datapath.conntrack().dump(zone, now);
        let off = self.offload();
        Ok(hwol_dpctl::dump_conntrack(&entries, verbose, &|e| off.ct_is_offloaded(e.zone, &e.orig)))
    }

    /// Register this switch's commands; `clock` gives `now`.
    pub fn register_commands(self: &Arc<Self>, cmds: &mut Commands, clock: Arc<dyn Fn() -> Duration + Send + Sync>)
    where
        P: 'static,
    {
        let (s, c) = (self.clone(), clock.clone());
        cmds.register("dpctl/dump-flows", "[DP] [--names] [-m] [type=TYPE]", 0, 4, move |a| s.dump_flows(a, c()));
        let (s, c) = (self.clone(), clock.clone());
        cmds.register("dpctl/dump-conntrack", "[DP] [zone=N] [-s]", 0, 3, move |a| s.dump_conntrack(a, c()));
        let s = self.clone();
        cmds.register("dpctl/offload-stats-show", "[DP]", 0, 1, move |_| Ok(s.offload().summary().format()));
        let s = self.clone();
        cmds.register("dpctl/del-flows", "[DP]", 0, 1, move |_| {
            for f in s.datapath.flow_dump() {
                let _ = s.datapath.flow_del(f.ufid);
                s.offload().flow_del(f.ufid);
                s.ofproto().forget(f.ufid);
            }
            Ok(String::new())
        });
        let s = self.clone();
        cmds.register("dpctl/show", "[DP]", 0, 1, move |_| {
            let st = s.datapath.stats();
            let mut out = format!(
                "hwol@{}:\n  lookups: hit:{} missed:{} lost:{}\n  flows: {}\n",
                s.ofproto().name(),
                st.hit,
                st.missed,
                st.lost,
                s.datapath.flow_count()
            );
            for p in s.ofproto().ports() {
                out.push_str(&format!("  port {}: {}\n", p.ofport, p.name));
            }
            for (r, n) in st.drops.iter() {
                out.push_str(&format!("  dropped {r}: {n}\n"));
            }
            Ok(out)
        });
        let (s, c) = (self.clone(), clock.clone());
        cmds.register("bridge/dump-flows", "BRIDGE", 1, 1, move |a| {
            let of = s.ofproto();
            if a[0] != of.name() {
                return Err(format!("{}: unknown bridge", a[0]));
            }
            let mut out = String::new();
            for e in of.dump_flows(c()) {
                out += &hwol_openflow::text::format_flow_stats(&e, None);
                out.push('\n');
            }
            Ok(out)
        });
        let (s, c) = (self.clone(), clock.clone());
        cmds.register("fdb/show", "BRIDGE", 1, 1, move |_| {
            let of = s.ofproto();
            let names: Vec<(u32, String)> = of.ports().map(|p| (p.ofport, p.name.clone())).collect();
            Ok(of.mac_table().format_fdb(c(), |p| {
                names.iter().find(|(n, _)| *n == p).map(|(_, name)| name.clone()).unwrap_or_else(|| p.to_string())
            }))
        });
        let (s, c) = (self.clone(), clock);
        cmds.register("ofproto/trace", "BRIDGE FLOW", 1, 2, move |a| {
            let flow = a.last().cloned().unwrap_or_default();
            let mut names = s.names.read().unwrap_or_else(|e| e.into_inner()).clone();
            let (key, _) = hwol_odp::parse_key(&flow, &mut names).map_err(|e| format!("{flow:?}: {e}"))?;
            let (key, _) = key.to_flow();
            Ok(s.ofproto().trace(&key, c()))
        });
    }
}
