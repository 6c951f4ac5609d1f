//! The bridge's OpenFlow management socket: what `ovs-ofctl` connects to.
//!
//! OVS listens on `punix:<rundir>/<bridge>.mgmt`; [`Server::start`] does the
//! same for one bridge, with one thread per connection (connections are
//! few and short-lived: one per `ovs-ofctl` command). The protocol work is
//! in [`Conn`], a pure state machine (bytes in, replies out) driven by a
//! [`Bridge`], so it is tested without sockets.
//!
//! # Behaviour
//!
//! - Hello: hwol sends a 1.5 hello with a version bitmap for 1.0-1.5 and
//!   speaks the highest version both sides have; none in common is answered
//!   with `OFPET_HELLO_FAILED` and the connection closes.
//! - A message that does not decode, or that the bridge refuses, is answered
//!   with an `OFPT_ERROR` (type/code from the [`OfError`], data = the first
//!   64 bytes of the request) and the connection stays open. A header whose
//!   length is under 8 cannot be framed: it is answered with
//!   `OFPBRC_BAD_LEN` and the bytes received so far are discarded.
//! - Flow mods: add, modify (in 1.0/1.1 adds when nothing matched and no
//!   cookie filter was given, as OVS does), delete, strict forms, table ids (tables 0-253;
//!   OpenFlow 1.0 needs `NXT_FLOW_MOD_TABLE_ID`, as in OVS), cookies with
//!   masks, `out_port` for delete; `OFPFF_*` flags are accepted and ignored.
//! - Statistics: desc, flow, aggregate, table (rule counts; hwol does not
//!   count lookups per table, so lookup/matched are 0), port, port desc,
//!   table features (names and capacity only, no properties).
//! - Role: 1.2+ and Nicira role requests are accepted per connection; a
//!   slave connection's flow mods and packet-outs get `OFPBRC_IS_SLAVE`.
//! - Get/set config: the fragment mode is stored per bridge and reported
//!   back (forwarding does not change with it); `miss_send_len` is stored per
//!   connection (hwol sends no packet-ins).
//! - Asynchronous messages (packet-in, flow-removed, port-status) are not sent.

use std::io::{ErrorKind as IoErrorKind, Read, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU16, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use hwol_ofproto::{FlowFilter, Ofproto, Rule};
use hwol_openflow::{ofp_port, FlowSpec, FlowStatsEntry, OfAction};

use crate::error::{bad_action, bad_request, flow_mod_failed, ErrKind, OfError};
use crate::msg::reply::{self, PortDesc, PortStats, TableStats};
use crate::msg::{
    decode_request, ofpmp, peek_header, FlowModCommand, FlowStatsRequest, MatchFormat, Request, StatsRequest,
};
use crate::{FlowMod, OFP10};

/// Tables a client may use (OVS hides table 254 too).
pub const N_TABLES: u8 = 254;

/// What the server needs from a bridge. Implemented by the daemon over its
/// switch, and in tests over an in-memory [`Ofproto`].
///
/// Every method is called from connection threads, concurrently.
pub trait Bridge: Send + Sync + 'static {
    /// The datapath id `ovs-ofctl show` prints.
    fn datapath_id(&self) -> u64;
    /// The clock ofproto's timestamps use.
    fn now(&self) -> Duration;
    /// Run `f` with the bridge's ofproto locked. Must not be called
    /// re-entrantly from `f`.
    fn with_ofproto<R>(&self, f: impl FnOnce(&mut Ofproto) -> R) -> R;
    /// The ports, in the order `show` lists them.
    fn ports(&self) -> Vec<PortDesc>;
    /// Counters of every port (`u64::MAX` for counters not kept).
    fn port_stats(&self) -> Vec<PortStats>;
    /// Send `frame` as if it arrived on `in_port` (`0xffff` = none) through
    /// `targets` (see [`packet_out_targets`]). Errors become the reply.
    fn packet_out(&self, in_port: u32, targets: &[PacketOutTarget], frame: &[u8]) -> Result<(), OfError>;
}

/// Where a packet-out sends its frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PacketOutTarget {
    /// Out of this port.
    Port(u32),
    /// Back out of the input port.
    InPort,
    /// Through the flow table, as if received on the input port (`output:TABLE`).
    Table,
}

/// The packet-out actions hwol carries out: outputs to ports, `IN_PORT`
/// and `TABLE`. Anything else is refused with `OFPBAC_BAD_TYPE` (hwol has no
/// way to run OpenFlow actions on a packet outside the pipeline).
pub fn packet_out_targets(actions: &[OfAction]) -> Result<Vec<PacketOutTarget>, OfError> {
    actions
        .iter()
        .map(|a| match a {
            OfAction::Output(ofp_port::TABLE) => Ok(PacketOutTarget::Table),
            OfAction::Output(p) => Ok(PacketOutTarget::Port(*p)),
            OfAction::Local => Ok(PacketOutTarget::Port(ofp_port::LOCAL)),
            OfAction::InPort => Ok(PacketOutTarget::InPort),
            other => Err(OfError::action(
                bad_action::BAD_TYPE,
                format!(
                    "packet-out action {other:?} is not supported by hwol (only output to ports, in_port and TABLE)"
                ),
            )),
        })
        .collect()
}

fn outputs_to(actions: &[OfAction], port: u32) -> bool {
    actions.iter().any(|a| match a {
        OfAction::Output(p) => *p == port,
        OfAction::InPort => port == ofp_port::IN_PORT,
        OfAction::Normal => port == ofp_port::NORMAL,
        OfAction::Flood => port == ofp_port::FLOOD,
        OfAction::All => port == ofp_port::ALL,
        OfAction::Local => port == ofp_port::LOCAL,
        OfAction::Controller => port == ofp_port::CONTROLLER,
        _ => false,
    })
}

fn filter_of(table: u8, m: &hwol_openflow::OfMatch, priority: u16, cookie: (u64, u64)) -> FlowFilter {
    FlowFilter {
        table: (table != 255).then_some(table),
        matches: *m,
        priority,
        cookie: cookie.0,
        cookie_mask: cookie.1,
    }
}

fn selected<'a>(of: &'a Ofproto, f: &FlowFilter, strict: bool, out_port: u32) -> Vec<&'a Rule> {
    of.rules_sorted()
        .into_iter()
        .filter(|r| f.selects(r, strict) && (out_port == ofp_port::NONE || outputs_to(&r.spec.actions, out_port)))
        .collect()
}

fn bad_flow(e: hwol_ofproto::Error) -> OfError {
    OfError::action(bad_action::BAD_ARGUMENT, e.to_string())
}

/// Carry out a flow mod on `of` (`table` from [`FlowMod::effective_table`]).
/// A modify that selects nothing adds the flow when `version` is 1.0 or 1.1
/// and there was no cookie filter (OpenFlow 1.2 dropped that rule; OVS
/// follows each version's).
pub fn apply_flow_mod(of: &mut Ofproto, fm: &FlowMod, table: u8, version: u8, now: Duration) -> Result<(), OfError> {
    if fm.out_group != u32::MAX && matches!(fm.command, FlowModCommand::Delete | FlowModCommand::DeleteStrict) {
        return Err(OfError::flow_mod(flow_mod_failed::UNKNOWN, "out_group: hwol has no groups"));
    }
    let add = |of: &mut Ofproto, table: u8| {
        let spec = FlowSpec {
            table,
            priority: fm.priority,
            cookie: fm.cookie,
            idle_timeout: fm.idle_timeout,
            hard_timeout: fm.hard_timeout,
            matches: fm.matches,
            actions: fm.actions.clone(),
        };
        of.flow_add(spec, now).map(|_| ()).map_err(bad_flow)
    };
    let filter = filter_of(table, &fm.matches, fm.priority, fm.cookie_match);
    let strict = fm.command.is_strict();
    match fm.command {
        FlowModCommand::Add => add(of, table),
        FlowModCommand::Modify | FlowModCommand::ModifyStrict => {
            let n = of.flow_modify(&filter, strict, fm.actions.clone(), now).map_err(bad_flow)?;
            if n == 0 && fm.cookie_match.1 == 0 && version < crate::OFP12 {
                add(of, if table == 255 { 0 } else { table })?;
            }
            Ok(())
        }
        FlowModCommand::Delete | FlowModCommand::DeleteStrict => {
            if fm.out_port == ofp_port::NONE {
                of.flow_delete(&filter, strict);
            } else {
                let victims: Vec<FlowFilter> = selected(of, &filter, strict, fm.out_port)
                    .into_iter()
                    .map(|r| filter_of(r.spec.table, &r.spec.matches, r.spec.priority, (r.spec.cookie, u64::MAX)))
                    .collect();
                for v in victims {
                    of.flow_delete(&v, true);
                }
            }
            Ok(())
        }
    }
}

/// The flows a flow-statistics request selects, in dump order.
pub fn flow_stats(of: &Ofproto, q: &FlowStatsRequest, now: Duration) -> Vec<FlowStatsEntry> {
    let f = filter_of(q.table, &q.matches, 0, q.cookie_match);
    let ids: std::collections::HashSet<u64> = selected(of, &f, false, q.out_port).into_iter().map(|r| r.id).collect();
    of.dump_flows(now).into_iter().zip(of.rules_sorted()).filter(|(_, r)| ids.contains(&r.id)).map(|(e, _)| e).collect()
}

/// Per-table rule counts for tables 0..[`N_TABLES`].
pub fn table_stats(of: &Ofproto) -> Vec<TableStats> {
    let mut t: Vec<TableStats> = (0..N_TABLES).map(|i| TableStats { table_id: i, ..Default::default() }).collect();
    for r in of.rules_sorted() {
        if let Some(s) = t.get_mut(r.spec.table as usize) {
            s.active += 1;
        }
    }
    t
}

/// Bridge-wide state shared by its connections.
#[derive(Debug, Default)]
pub struct Shared {
    /// `OFPC_FRAG_*` mode set by `set-frags`.
    pub frag_flags: AtomicU16,
}

/// One connection's protocol state.
#[derive(Debug)]
pub struct Conn {
    version: Option<u8>,
    buf: Vec<u8>,
    table_id_ext: bool,
    flow_format: u32,
    role: u32,
    miss_send_len: u16,
    closed: bool,
}

impl Default for Conn {
    fn default() -> Self {
        Conn {
            version: None,
            buf: Vec::new(),
            table_id_ext: false,
            flow_format: 0,
            role: 1,
            miss_send_len: 0,
            closed: false,
        }
    }
}

const ROLE_SLAVE: u32 = 3;

impl Conn {
    /// A new connection and the hello to send first.
    pub fn new() -> (Conn, Vec<u8>) {
        (Conn::default(), reply::hello(0))
    }

    /// The negotiated version, once the peer's hello arrived.
    pub fn version(&self) -> Option<u8> {
        self.version
    }

    /// True once the connection must be closed (failed hello).
    pub fn closed(&self) -> bool {
        self.closed
    }

    /// Feed received bytes; returns the messages to send back.
    pub fn input<B: Bridge>(&mut self, bytes: &[u8], bridge: &B, shared: &Shared) -> Vec<Vec<u8>> {
        self.buf.extend_from_slice(bytes);
        let mut out = Vec::new();
        while !self.closed {
            let Some((version, _, len, xid)) = peek_header(&self.buf) else { break };
            let len = len as usize;
            if len < 8 {
                let v = self.version.unwrap_or(version.clamp(OFP10, crate::OFP15));
                let e = OfError::request(bad_request::BAD_LEN, format!("header length {len} is under 8"));
                out.push(reply::error(v, xid, &e, &self.buf));
                self.buf.clear();
                break;
            }
            if self.buf.len() < len {
                break;
            }
            let msg: Vec<u8> = self.buf.drain(..len).collect();
            self.handle(&msg, bridge, shared, &mut out);
        }
        out
    }

    fn handle<B: Bridge>(&mut self, msg: &[u8], bridge: &B, shared: &Shared, out: &mut Vec<Vec<u8>>) {
        let (hv, _, _, xid) = peek_header(msg).expect("framed");
        let frame = match decode_request(msg) {
            Ok(f) => f,
            Err(e) => {
                let v = self.version.unwrap_or(hv.clamp(OFP10, crate::OFP15));
                out.push(reply::error(v, xid, &e, msg));
                return;
            }
        };
        if let Request::Hello(bitmap) = frame.msg {
            match reply::negotiate(frame.version, bitmap) {
                Some(v) => self.version = Some(v),
                None => {
                    let e = OfError::new(ErrKind::HelloFailed, 0, "no common OpenFlow version (hwol speaks 1.0-1.5)");
                    out.push(reply::error(frame.version.clamp(OFP10, crate::OFP15), xid, &e, msg));
                    self.closed = true;
                }
            }
            return;
        }
        let v = *self.version.get_or_insert(frame.version);
        if frame.version != v {
            let e = OfError::request(
                bad_request::BAD_VERSION,
                format!("version {:#04x} but the connection speaks {v:#04x}", frame.version),
            );
            out.push(reply::error(v, xid, &e, msg));
            return;
        }
        if let Err(e) = self.dispatch(v, xid, frame.msg, bridge, shared, out) {
            out.push(reply::error(v, xid, &e, msg));
        }
    }

    fn dispatch<B: Bridge>(
        &mut self,
        v: u8,
        xid: u32,
        msg: Request,
        bridge: &B,
        shared: &Shared,
        out: &mut Vec<Vec<u8>>,
    ) -> Result<(), OfError> {
        match msg {
            Request::Hello(_) | Request::EchoReply(_) | Request::Error { .. } => {}
            Request::EchoRequest(d) => out.push(reply::echo_reply(v, xid, &d)),
            Request::FeaturesRequest => {
                let ports = if v == OFP10 { bridge.ports() } else { Vec::new() };
                out.push(reply::features_reply(v, xid, bridge.datapath_id(), N_TABLES, &ports));
            }
            Request::GetConfigRequest => {
                out.push(reply::get_config_reply(v, xid, shared.frag_flags.load(Ordering::Relaxed), self.miss_send_len))
            }
            Request::SetConfig { flags, miss_send_len } => {
                if flags & !3 != 0 {
                    return Err(OfError::new(
                        ErrKind::SwitchConfigFailed,
                        0,
                        format!("config flags {flags:#x} unknown"),
                    ));
                }
                shared.frag_flags.store(flags, Ordering::Relaxed);
                self.miss_send_len = miss_send_len;
            }
            Request::BarrierRequest => out.push(reply::barrier_reply(v, xid)),
            Request::RoleRequest { nx, role, generation_id } => {
                if role > 3 {
                    return Err(OfError::new(ErrKind::RoleRequestFailed, 2, format!("role {role} is unknown")));
                }
                if role != 0 {
                    self.role = role;
                }
                out.push(reply::role_reply(v, xid, nx, self.role, generation_id));
            }
            Request::SetFlowFormat(f) => self.flow_format = f,
            Request::SetPacketInFormat(f) => {
                if f > 2 {
                    return Err(OfError::request(bad_request::EPERM, format!("packet-in format {f} is unknown")));
                }
            }
            Request::FlowModTableId(on) => self.table_id_ext = on,
            Request::FlowMod(fm) => {
                self.check_writable()?;
                let table = fm.effective_table(self.table_id_ext)?;
                if fm.buffer_id != u32::MAX {
                    return Err(OfError::request(
                        bad_request::BUFFER_UNKNOWN,
                        "hwol buffers no packets (buffer_id must be none)",
                    ));
                }
                let now = bridge.now();
                bridge.with_ofproto(|of| apply_flow_mod(of, &fm, table, v, now))?;
            }
            Request::PacketOut { buffer_id, in_port, actions, data } => {
                self.check_writable()?;
                if buffer_id != u32::MAX {
                    return Err(OfError::request(
                        bad_request::BUFFER_UNKNOWN,
                        "hwol buffers no packets (buffer_id must be none)",
                    ));
                }
                let targets = packet_out_targets(&actions)?;
                bridge.packet_out(in_port, &targets, &data)?;
            }
            Request::Stats { body, .. } => self.stats(v, xid, body, bridge, out),
        }
        Ok(())
    }

    fn check_writable(&self) -> Result<(), OfError> {
        if self.role == ROLE_SLAVE {
            return Err(OfError::request(10, "this connection is a slave: flow mods and packet-outs are refused"));
        }
        Ok(())
    }

    fn stats<B: Bridge>(&self, v: u8, xid: u32, body: StatsRequest, bridge: &B, out: &mut Vec<Vec<u8>>) {
        let (ty, nx, entries): (u16, Option<u32>, Vec<Vec<u8>>) = match body {
            StatsRequest::Desc => (
                ofpmp::DESC,
                None,
                vec![reply::desc_body("hwol", "hwol software switch", env!("CARGO_PKG_VERSION"), "None", "None")],
            ),
            StatsRequest::Flow(q) => {
                let now = bridge.now();
                let flows = bridge.with_ofproto(|of| flow_stats(of, &q, now));
                let e = flows.iter().map(|f| reply::flow_stats_entry(v, q.format, f)).collect();
                (ofpmp::FLOW, (q.format == MatchFormat::Nxm).then_some(ofpmp::NXST_FLOW), e)
            }
            StatsRequest::Aggregate(q) => {
                let now = bridge.now();
                let flows = bridge.with_ofproto(|of| flow_stats(of, &q, now));
                let (p, b) = flows.iter().fold((0u64, 0u64), |(p, b), f| (p + f.n_packets, b + f.n_bytes));
                let body = reply::aggregate_body(v, p, b, flows.len() as u32);
                (ofpmp::AGGREGATE, (q.format == MatchFormat::Nxm).then_some(ofpmp::NXST_AGGREGATE), vec![body])
            }
            StatsRequest::Table => {
                let t = bridge.with_ofproto(|of| table_stats(of));
                (ofpmp::TABLE, None, t.iter().map(|t| reply::table_stats_entry(v, t)).collect())
            }
            StatsRequest::Port(p) => {
                let s = bridge.port_stats();
                let e = s
                    .iter()
                    .filter(|s| p == ofp_port::NONE || s.port_no == p)
                    .map(|s| reply::port_stats_entry(v, s))
                    .collect();
                (ofpmp::PORT_STATS, None, e)
            }
            StatsRequest::PortDesc(p) => {
                let e = bridge
                    .ports()
                    .iter()
                    .filter(|d| p == ofp_port::NONE || d.port_no == p)
                    .map(|d| reply::port_desc_entry(v, d))
                    .collect();
                (ofpmp::PORT_DESC, None, e)
            }
            StatsRequest::TableFeatures => {
                (ofpmp::TABLE_FEATURES, None, (0..N_TABLES).map(|t| reply::table_features_entry(t, N_TABLES)).collect())
            }
        };
        out.extend(reply::multipart(v, xid, ty, nx, &entries));
    }
}

/// A running management socket. Dropping it stops the listener and every
/// connection thread and removes the socket file.
#[derive(Debug)]
pub struct Server {
    path: PathBuf,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

/// How often blocked threads look at the stop flag.
const POLL: Duration = Duration::from_millis(100);

impl Server {
    /// Listen on `path` (an existing socket file there is replaced, as OVS
    /// does) and serve `bridge`.
    pub fn start<B: Bridge>(path: &Path, bridge: Arc<B>) -> std::io::Result<Server> {
        let _ = std::fs::remove_file(path);
        let listener = UnixListener::bind(path).map_err(|e| {
            std::io::Error::new(
                e.kind(),
                format!("binding the OpenFlow socket {}: {e} (is the run directory writable?)", path.display()),
            )
        })?;
        listener.set_nonblocking(true)?;
        let stop = Arc::new(AtomicBool::new(false));
        let shared = Arc::new(Shared::default());
        let st = stop.clone();
        let thread = std::thread::Builder::new().name("ofwire-listen".into()).spawn(move || {
            let mut conns: Vec<JoinHandle<()>> = Vec::new();
            while !st.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((s, _)) => {
                        let (b, sh, st2) = (bridge.clone(), shared.clone(), st.clone());
                        if let Ok(h) = std::thread::Builder::new()
                            .name("ofwire-conn".into())
                            .spawn(move || serve_conn(s, &*b, &sh, &st2))
                        {
                            conns.push(h);
                        }
                        conns.retain(|h| !h.is_finished());
                    }
                    Err(e) if e.kind() == IoErrorKind::WouldBlock => std::thread::sleep(POLL / 2),
                    Err(_) => std::thread::sleep(POLL),
                }
            }
            for h in conns {
                let _ = h.join();
            }
        })?;
        Ok(Server { path: path.to_path_buf(), stop, thread: Some(thread) })
    }

    /// The socket path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        let _ = std::fs::remove_file(&self.path);
    }
}

fn serve_conn<B: Bridge>(mut s: UnixStream, bridge: &B, shared: &Shared, stop: &AtomicBool) {
    let _ = s.set_nonblocking(false);
    let _ = s.set_read_timeout(Some(POLL));
    let (mut conn, hello) = Conn::new();
    if s.write_all(&hello).is_err() {
        return;
    }
    let mut buf = vec![0u8; 65536];
    while !stop.load(Ordering::Relaxed) {
        match s.read(&mut buf) {
            Ok(0) => return,
            Ok(n) => {
                for m in conn.input(&buf[..n], bridge, shared) {
                    if s.write_all(&m).is_err() {
                        return;
                    }
                }
                if conn.closed() {
                    return;
                }
            }
            Err(e)
                if matches!(e.kind(), IoErrorKind::WouldBlock | IoErrorKind::TimedOut | IoErrorKind::Interrupted) => {}
            Err(_) => return,
        }
    }
}

/// An in-memory [`Bridge`] over a [`SoftSwitch`](hwol_ofproto::switch::SoftSwitch),
/// for tests: the monotonic clock since creation plus whatever
/// [`MemoryBridge::advance`] added, synthetic port addresses, and per-port
/// counters of what the switch received and sent.
pub struct MemoryBridge {
    inner: std::sync::Mutex<MemoryInner>,
    dpid: u64,
    start: std::time::Instant,
}

struct MemoryInner {
    sw: hwol_ofproto::switch::SoftSwitch,
    /// Added to the real elapsed time.
    skew: Duration,
    /// (port, rx packets, rx bytes, tx packets, tx bytes)
    counters: Vec<(u32, u64, u64, u64, u64)>,
    sent: Vec<(u32, Vec<u8>)>,
}

impl MemoryBridge {
    /// A bridge `name` with `ports` (number, name).
    pub fn new(name: &str, ports: &[(u32, &str)]) -> Self {
        let mut sw = hwol_ofproto::switch::SoftSwitch::new(name);
        for (n, p) in ports {
            let _ = sw.ofproto.add_port(*n, *p);
        }
        let counters = ports.iter().map(|(n, _)| (*n, 0, 0, 0, 0)).collect();
        MemoryBridge {
            inner: std::sync::Mutex::new(MemoryInner { sw, skew: Duration::ZERO, counters, sent: Vec::new() }),
            dpid: 0x0000_0000_0000_0001,
            start: std::time::Instant::now(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, MemoryInner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Move the virtual clock forward.
    pub fn advance(&self, d: Duration) {
        self.lock().skew += d;
    }

    fn clock(&self, g: &MemoryInner) -> Duration {
        self.start.elapsed() + g.skew
    }

    /// Receive `frame` on `port` through the switch, then revalidate so the
    /// rules' counters include it.
    pub fn receive(&self, port: u32, frame: &[u8]) {
        let mut g = self.lock();
        let now = self.clock(&g);
        let out = g.sw.receive(port, frame, now);
        g.count(port, frame.len(), true);
        for (p, f) in out.0 {
            g.count(p, f.len(), false);
            g.sent.push((p, f));
        }
        g.sw.revalidate(now);
    }

    /// Frames sent so far, by port.
    pub fn sent(&self) -> Vec<(u32, Vec<u8>)> {
        self.lock().sent.clone()
    }
}

impl MemoryInner {
    fn count(&mut self, port: u32, len: usize, rx: bool) {
        if let Some(c) = self.counters.iter_mut().find(|c| c.0 == port) {
            if rx {
                c.1 += 1;
                c.2 += len as u64;
            } else {
                c.3 += 1;
                c.4 += len as u64;
            }
        }
    }
}

impl Bridge for MemoryBridge {
    fn datapath_id(&self) -> u64 {
        self.dpid
    }

    fn now(&self) -> Duration {
        let g = self.lock();
        self.clock(&g)
    }

    fn with_ofproto<R>(&self, f: impl FnOnce(&mut Ofproto) -> R) -> R {
        f(&mut self.lock().sw.ofproto)
    }

    fn ports(&self) -> Vec<PortDesc> {
        let g = self.lock();
        g.sw.ofproto
            .ports()
            .map(|p| PortDesc {
                port_no: p.ofport,
                hw_addr: [0x02, 0, 0, 0, (p.ofport >> 8) as u8, p.ofport as u8],
                name: p.name.clone(),
                config: 0,
                link_down: false,
                curr_speed: 0,
                max_speed: 0,
            })
            .collect()
    }

    fn port_stats(&self) -> Vec<PortStats> {
        let g = self.lock();
        g.counters
            .iter()
            .map(|&(port_no, rxp, rxb, txp, txb)| PortStats {
                port_no,
                rx_packets: rxp,
                tx_packets: txp,
                rx_bytes: rxb,
                tx_bytes: txb,
                rx_dropped: u64::MAX,
                tx_dropped: u64::MAX,
                rx_errors: u64::MAX,
                tx_errors: u64::MAX,
                duration: self.clock(&g),
            })
            .collect()
    }

    fn packet_out(&self, in_port: u32, targets: &[PacketOutTarget], frame: &[u8]) -> Result<(), OfError> {
        let mut g = self.lock();
        let now = self.clock(&g);
        for t in targets {
            match *t {
                PacketOutTarget::Port(p) => {
                    if g.sw.ofproto.ports().all(|x| x.ofport != p) {
                        return Err(OfError::action(bad_action::BAD_OUT_PORT, format!("no port {p} on this bridge")));
                    }
                    g.count(p, frame.len(), false);
                    g.sent.push((p, frame.to_vec()));
                }
                PacketOutTarget::InPort => {
                    g.count(in_port, frame.len(), false);
                    g.sent.push((in_port, frame.to_vec()));
                }
                PacketOutTarget::Table => {
                    let out = g.sw.receive(in_port, frame, now);
                    for (p, f) in out.0 {
                        g.count(p, f.len(), false);
                        g.sent.push((p, f));
                    }
                }
            }
        }
        Ok(())
    }
}
