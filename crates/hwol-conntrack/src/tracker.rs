//! The connection table and the `ct()` action.
//!
//! See the crate documentation for the design; this module holds the code.

use std::collections::HashMap;
use std::hash::{BuildHasher, Hash, Hasher};
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard, RwLock};
use std::time::Duration;

use hwol_flow::{ct_state, CtAction, DropReason, FlowKey, Layout, Masked};
use hwol_wire::ipv4::proto;

use crate::entry::{CtEntry, ProtoInfo};
use crate::extract::{parse, Parsed};
use crate::hash::{PrehashedState, SeededState};
use crate::pseudo::{IcmpState, OtherState};
use crate::tcp::{TcpConn, Update};
use crate::timeout::{TimeoutKind, Timeouts};
use crate::tuple::CtTuple;
use crate::{CtConfig, CtOutcome, CtVerdict};

/// Number of independently locked shards. Both directions of a connection
/// live in the same shard (the key is direction-independent), so one lock
/// covers a packet's whole lookup and update.
const N_SHARDS: usize = 64;
const N_ZONES: usize = 1 << 16;

/// Per-protocol tracking state.
#[derive(Clone, Copy, Debug)]
enum ProtoState {
    Tcp(TcpConn),
    Icmp(IcmpState),
    Other(OtherState),
}

/// The part of a connection's state whose changes [`Conntrack::take_changes`]
/// reports: the protocol phase, not windows or timestamps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    Tcp(crate::tcp::TcpState, crate::tcp::TcpState),
    Icmp(IcmpState),
    Other(OtherState),
}

impl ProtoState {
    fn phase(&self) -> Phase {
        match self {
            ProtoState::Tcp(t) => Phase::Tcp(t.peers[0].state, t.peers[1].state),
            ProtoState::Icmp(s) => Phase::Icmp(*s),
            ProtoState::Other(s) => Phase::Other(*s),
        }
    }
}

/// One tracked connection.
#[derive(Clone, Debug)]
struct Conn {
    orig: CtTuple,
    mark: u32,
    label: u128,
    expiration: Duration,
    timeout: TimeoutKind,
    state: ProtoState,
    /// Skip the TCP sequence-window check (adopted connections, whose
    /// windows were never seen).
    liberal: bool,
}

impl Conn {
    fn expired(&self, now: Duration) -> bool {
        now >= self.expiration
    }
}

/// Table key: the zone and the direction-independent form of the tuple
/// (the smaller of a tuple and its reverse), so that a packet from either
/// end finds the connection with a single hash lookup. Packed into plain
/// integers so that comparing and hashing are a handful of instructions,
/// and carrying its hash, computed once per packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct ConnKey {
    hash: u64,
    src: u128,
    dst: u128,
    /// zone:16 | proto:8 | is_v6:8 | sport:16 | dport:16
    meta: u64,
}

impl Hash for ConnKey {
    #[inline]
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.hash);
    }
}

#[inline]
fn addr_bits(a: IpAddr) -> u128 {
    match a {
        IpAddr::V4(a) => u128::from(u32::from(a)),
        IpAddr::V6(a) => u128::from(a),
    }
}

#[inline]
fn pack(zone: u16, t: &CtTuple) -> (u128, u128, u64) {
    let meta = (u64::from(zone) << 48)
        | (u64::from(t.proto) << 40)
        | (u64::from(t.is_ipv6()) << 32)
        | (u64::from(t.sport) << 16)
        | u64::from(t.dport);
    (addr_bits(t.src), addr_bits(t.dst), meta)
}

impl ConnKey {
    #[inline]
    fn new(seed: &SeededState, zone: u16, t: &CtTuple) -> Self {
        let a = pack(zone, t);
        let b = pack(zone, &t.reverse());
        let (src, dst, meta) = a.min(b);
        let mut h = seed.build_hasher();
        h.write_u128(src);
        h.write_u128(dst);
        h.write_u64(meta);
        ConnKey { hash: h.finish(), src, dst, meta }
    }

    fn zone(&self) -> u16 {
        (self.meta >> 48) as u16
    }

    /// Bits of the hash that pick the shard: away from the low bits the
    /// map uses for buckets and the top bits it uses as tags.
    fn shard(&self) -> usize {
        ((self.hash >> 32) as usize) % N_SHARDS
    }
}

type Shard = HashMap<ConnKey, Conn, PrehashedState>;

/// Configured limits; read on every commit, written by `set_limits`.
#[derive(Debug)]
struct Limits {
    max_entries: usize,
    default_zone_limit: Option<usize>,
    zone_limits: HashMap<u16, usize>,
}

impl Limits {
    /// The limit that applies to `zone`, if any. A zone-specific limit of 0
    /// admits nothing; a default of 0 means "no default", as in OVS.
    fn for_zone(&self, zone: u16) -> Option<usize> {
        self.zone_limits.get(&zone).copied().or(self.default_zone_limit.filter(|l| *l > 0))
    }
}

/// The connection tracker. See the crate documentation.
pub struct Conntrack {
    shards: Box<[Mutex<Shard>]>,
    key_seed: SeededState,
    timeouts: Timeouts,
    n_conns: AtomicUsize,
    zone_counts: Box<[AtomicU32]>,
    limits: RwLock<Limits>,
    tcp_seq_check: AtomicBool,
    /// Connections whose phase changed or that were removed, since the last
    /// [`Conntrack::take_changes`]; `None` while nobody asked for changes.
    changes: Mutex<Option<Vec<(u16, CtTuple)>>>,
}

impl std::fmt::Debug for Conntrack {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Conntrack").field("len", &self.len()).field("timeouts", &self.timeouts).finish_non_exhaustive()
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding a shard lock cannot leave a connection half
    // written in a way later readers could misinterpret; keep going.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn masked_u32(old: u32, m: Masked<u32>) -> u32 {
    (old & !m.mask) | (m.value & m.mask)
}

fn masked_u128(old: u128, m: Masked<u128>) -> u128 {
    (old & !m.mask) | (m.value & m.mask)
}

impl Conntrack {
    /// An empty tracker.
    pub fn new(cfg: CtConfig) -> Self {
        Conntrack {
            shards: (0..N_SHARDS).map(|_| Mutex::new(HashMap::with_hasher(PrehashedState))).collect(),
            key_seed: SeededState::new(),
            timeouts: cfg.timeouts,
            n_conns: AtomicUsize::new(0),
            zone_counts: (0..N_ZONES).map(|_| AtomicU32::new(0)).collect(),
            limits: RwLock::new(Limits {
                max_entries: cfg.max_entries,
                default_zone_limit: cfg.default_zone_limit,
                zone_limits: cfg.zone_limits,
            }),
            tcp_seq_check: AtomicBool::new(true),
            changes: Mutex::new(None),
        }
    }

    fn shard(&self, key: &ConnKey) -> &Mutex<Shard> {
        &self.shards[key.shard()]
    }

    /// Run one packet through conntrack as the datapath action `ct(...)`
    /// does, and say what the packet's conntrack metadata becomes.
    ///
    /// `pkt` is the whole frame; `key` and `layout` came from
    /// `hwol_flow::extract` on it. `key.ct_state`/`key.ct_zone` are read to
    /// recognise a packet that already went through `ct` in this zone (after
    /// a recirculation): such a packet is not run through the state machine
    /// again, as in OVS. Never panics on any input; per-packet failures are
    /// `+inv` verdicts or [`CtOutcome::Drop`], never errors.
    pub fn execute(&self, pkt: &[u8], key: &FlowKey, layout: &Layout, action: &CtAction, now: Duration) -> CtOutcome {
        if action.nat.is_some() {
            return CtOutcome::Drop(DropReason::CtNatUnsupported);
        }
        let zone = action.zone;
        let Some(p) = parse(pkt, key, layout) else {
            return CtOutcome::Tracked(CtVerdict::untracked_invalid(zone));
        };
        let ck = ConnKey::new(&self.key_seed, zone, &p.tuple);
        let mut shard = lock(self.shard(&ck));

        // Same packet, same zone, already tracked: report what it had.
        if key.ct_state & ct_state::TRK != 0 && key.ct_zone == zone && !action.force {
            if let Some(c) = shard.get_mut(&ck).filter(|c| !c.expired(now)) {
                if action.commit {
                    apply_mark_label(c, action);
                }
                return CtOutcome::Tracked(CtVerdict {
                    state: key.ct_state,
                    zone,
                    mark: c.mark,
                    label: c.label,
                    orig: Some(c.orig),
                });
            }
        }

        // Look the connection up (an expired one counts as absent) and run
        // the packet through its state machine.
        let seq_check = self.tcp_seq_check.load(Ordering::Relaxed);
        let mut state = 0u8;
        let mut create = false;
        let mut replace_live = false;
        match shard.get_mut(&ck).filter(|c| !c.expired(now)) {
            Some(c) => {
                let reply = c.orig != p.tuple;
                if action.force && reply {
                    // force: a packet in the reply direction replaces the
                    // connection with one in its own direction.
                    create = true;
                    replace_live = true;
                } else if p.related {
                    state = ct_state::REL | if reply { ct_state::RPL } else { 0 };
                } else {
                    match self.update(zone, c, &p, reply, seq_check && !c.liberal, now) {
                        Update::Valid => state = ct_state::EST | if reply { ct_state::RPL } else { 0 },
                        Update::ValidNew => state = ct_state::NEW,
                        Update::Invalid => state = ct_state::INV,
                        Update::New => {
                            // A SYN reusing a closed connection's tuple.
                            create = true;
                            replace_live = true;
                        }
                    }
                }
            }
            // An ICMP error about nothing we know.
            None if p.related => {
                return CtOutcome::Tracked(CtVerdict::with_tuple(ct_state::INV | ct_state::TRK, zone, p.tuple));
            }
            None => create = true,
        }

        if create {
            if replace_live {
                self.remove_locked(&mut shard, &ck);
            }
            if !p.valid_new() {
                return CtOutcome::Tracked(CtVerdict::with_tuple(ct_state::INV | ct_state::TRK, zone, p.tuple));
            }
            if !action.commit {
                return CtOutcome::Tracked(CtVerdict::with_tuple(ct_state::NEW | ct_state::TRK, zone, p.tuple));
            }
            // An expired entry under the same key is replaced.
            self.remove_locked(&mut shard, &ck);
            if let Err(r) = self.reserve(zone) {
                return CtOutcome::Drop(r);
            }
            let (st, kind) = new_state(&p);
            let mut c = Conn {
                orig: p.tuple,
                mark: 0,
                label: 0,
                expiration: now + self.timeouts.get(kind),
                timeout: kind,
                state: st,
                liberal: false,
            };
            apply_mark_label(&mut c, action);
            let v = CtVerdict {
                state: ct_state::NEW | ct_state::TRK,
                zone,
                mark: c.mark,
                label: c.label,
                orig: Some(c.orig),
            };
            shard.insert(ck, c);
            return CtOutcome::Tracked(v);
        }

        match shard.get_mut(&ck) {
            Some(c) => {
                if action.commit {
                    apply_mark_label(c, action);
                }
                CtOutcome::Tracked(CtVerdict {
                    state: state | ct_state::TRK,
                    zone,
                    mark: c.mark,
                    label: c.label,
                    orig: Some(c.orig),
                })
            }
            // Unreachable: the connection was found above under this lock.
            None => CtOutcome::Tracked(CtVerdict::with_tuple(state | ct_state::TRK, zone, p.tuple)),
        }
    }

    /// Run the protocol tracker and refresh the expiry if it says so.
    fn update(&self, zone: u16, c: &mut Conn, p: &Parsed, reply: bool, seq_check: bool, now: Duration) -> Update {
        let before = c.state.phase();
        let (u, kind) = match (&mut c.state, p.tcp) {
            (ProtoState::Tcp(t), Some(seg)) => t.update(&seg, reply, seq_check),
            (ProtoState::Tcp(_), None) => (Update::Invalid, None),
            (ProtoState::Icmp(s), _) => s.update(reply),
            (ProtoState::Other(s), _) => s.update(reply),
        };
        if let Some(k) = kind {
            c.timeout = k;
            c.expiration = now + self.timeouts.get(k);
        }
        if c.state.phase() != before {
            self.changed(zone, &c.orig);
        }
        u
    }

    /// Note that a connection's phase changed, or that it went away.
    fn changed(&self, zone: u16, orig: &CtTuple) {
        if let Some(v) = lock(&self.changes).as_mut() {
            v.push((zone, *orig));
        }
    }

    /// The connections (zone, original tuple) whose protocol phase changed
    /// (e.g. TCP reached ESTABLISHED both ways, or began closing) or that
    /// were removed since the previous call, each once, in no particular
    /// order. The first call turns the log on and returns every live
    /// connection, so a caller that keeps a derived view (the offload
    /// manager's set of offloaded connections) can start from a full
    /// picture and then follow changes without rescanning the table.
    pub fn take_changes(&self) -> Vec<(u16, CtTuple)> {
        let mut log = lock(&self.changes);
        let mut out = match log.replace(Vec::new()) {
            Some(v) => v,
            None => {
                drop(log);
                let mut all = Vec::new();
                for s in self.shards.iter() {
                    all.extend(lock(s).iter().map(|(k, c)| (k.zone(), c.orig)));
                }
                all
            }
        };
        out.sort_unstable();
        out.dedup();
        out
    }

    /// Count a new connection against the zone and global limits (zone
    /// first, as OVS checks).
    fn reserve(&self, zone: u16) -> Result<(), DropReason> {
        let limits = self.limits.read().unwrap_or_else(|e| e.into_inner());
        let zc = &self.zone_counts[usize::from(zone)];
        match limits.for_zone(zone) {
            Some(l) => {
                zc.fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| ((n as usize) < l).then_some(n + 1))
                    .map_err(|_| DropReason::CtZoneLimit)?;
            }
            None => {
                zc.fetch_add(1, Ordering::AcqRel);
            }
        }
        let max = limits.max_entries;
        if self.n_conns.fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| (n < max).then_some(n + 1)).is_err() {
            zc.fetch_sub(1, Ordering::AcqRel);
            return Err(DropReason::CtTableFull);
        }
        Ok(())
    }

    fn release(&self, zone: u16) {
        self.zone_counts[usize::from(zone)].fetch_sub(1, Ordering::AcqRel);
        self.n_conns.fetch_sub(1, Ordering::AcqRel);
    }

    fn remove_locked(&self, shard: &mut Shard, ck: &ConnKey) {
        if let Some(c) = shard.remove(ck) {
            self.release(ck.zone());
            self.changed(ck.zone(), &c.orig);
        }
    }

    /// Remove every connection that has expired at `now`; returns how many.
    /// Call it periodically (OVS sweeps every few seconds): until then,
    /// expired connections are invisible to packets and dumps but still
    /// count against the limits, as in OVS.
    pub fn expire(&self, now: Duration) -> usize {
        self.remove_where(|_, c| c.expired(now))
    }

    fn remove_where(&self, mut pred: impl FnMut(&ConnKey, &Conn) -> bool) -> usize {
        let mut removed = 0;
        for s in self.shards.iter() {
            let mut shard = lock(s);
            shard.retain(|k, c| {
                if pred(k, c) {
                    self.release(k.zone());
                    self.changed(k.zone(), &c.orig);
                    removed += 1;
                    false
                } else {
                    true
                }
            });
        }
        removed
    }

    /// Refresh the expiry of the connection `tuple` (either direction) in
    /// `zone` as if a packet had been seen at `now`, without changing its
    /// state. For the offload manager, when the hardware saw traffic.
    /// Returns false if there is no such live connection.
    pub fn touch(&self, zone: u16, tuple: &CtTuple, now: Duration) -> bool {
        let ck = ConnKey::new(&self.key_seed, zone, tuple);
        let mut shard = lock(self.shard(&ck));
        match shard.get_mut(&ck) {
            Some(c) if !c.expired(now) => {
                c.expiration = now + self.timeouts.get(c.timeout);
                true
            }
            _ => false,
        }
    }

    /// Number of connections held, including expired ones not yet removed
    /// by [`Self::expire`] (OVS's `nconns`).
    pub fn len(&self) -> usize {
        self.n_conns.load(Ordering::Acquire)
    }

    /// True when no connection is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Delete all connections, or those of one zone; returns how many.
    pub fn flush(&self, zone: Option<u16>) -> usize {
        self.remove_where(|k, _| zone.is_none_or(|z| z == k.zone()))
    }

    /// The live connection `tuple` (either direction) in `zone`, if any.
    pub fn get(&self, zone: u16, tuple: &CtTuple, now: Duration) -> Option<CtEntry> {
        let ck = ConnKey::new(&self.key_seed, zone, tuple);
        let shard = lock(self.shard(&ck));
        shard.get(&ck).filter(|c| !c.expired(now)).map(|c| entry(zone, c, now))
    }

    /// Snapshot the live connections, all or one zone's, sorted by zone and
    /// original tuple.
    pub fn dump(&self, zone: Option<u16>, now: Duration) -> Vec<CtEntry> {
        let mut out = Vec::new();
        for s in self.shards.iter() {
            let shard = lock(s);
            for (k, c) in shard.iter() {
                if zone.is_some_and(|z| z != k.zone()) || c.expired(now) {
                    continue;
                }
                out.push(entry(k.zone(), c, now));
            }
        }
        out.sort_by_key(|e| (e.zone, e.orig));
        out
    }

    /// Replace the zone limits. `default_zone_limit` applies to every zone
    /// without its own entry (`None` or `Some(0)`: no default limit); a
    /// zone's own limit of 0 admits no new connection. Existing connections
    /// are kept even when a zone is now over its limit.
    pub fn set_limits(&self, default_zone_limit: Option<usize>, zone_limits: HashMap<u16, usize>) {
        let mut l = self.limits.write().unwrap_or_else(|e| e.into_inner());
        l.default_zone_limit = default_zone_limit;
        l.zone_limits = zone_limits;
    }

    /// Change the total connection limit (`dpctl/ct-set-maxconns`).
    pub fn set_max_entries(&self, max_entries: usize) {
        self.limits.write().unwrap_or_else(|e| e.into_inner()).max_entries = max_entries;
    }

    /// Connections currently counted against `zone` (including expired ones
    /// not yet removed), as `dpctl/ct-get-limits` reports.
    pub fn zone_count(&self, zone: u16) -> usize {
        self.zone_counts[usize::from(zone)].load(Ordering::Acquire) as usize
    }

    /// Turn TCP sequence-window checking on (the default) or off
    /// (`dpctl/ct-enable-tcp-seq-chk` / `ct-disable-tcp-seq-chk`). With it
    /// off, any segment with sane flags is accepted.
    pub fn set_tcp_seq_check(&self, enabled: bool) {
        self.tcp_seq_check.store(enabled, Ordering::Relaxed);
    }

    /// Take over a connection another instance of the switch established
    /// (read back from the fast path after a restart): it is entered as
    /// established in both directions — TCP peers ESTABLISHED, UDP and
    /// other protocols BIDIR, ICMP REPLY — with the given mark and label.
    /// Its TCP windows are unknown, so the connection is tracked liberally:
    /// its segments skip the sequence-window check (like the kernel's
    /// per-connection "be liberal" flag), while every other connection keeps
    /// the check.
    /// Returns false if the connection was already known or a limit refused it.
    pub fn adopt_established(&self, zone: u16, orig: &CtTuple, mark: u32, label: u128, now: Duration) -> bool {
        let ck = ConnKey::new(&self.key_seed, zone, orig);
        let mut shard = lock(self.shard(&ck));
        if shard.get(&ck).is_some_and(|c| !c.expired(now)) {
            return false;
        }
        self.remove_locked(&mut shard, &ck);
        if self.reserve(zone).is_err() {
            return false;
        }
        let (state, timeout) = match orig.proto {
            hwol_wire::ipv4::proto::TCP => {
                let mut t = crate::tcp::TcpConn::default();
                t.peers[0].state = crate::tcp::TcpState::Established;
                t.peers[1].state = crate::tcp::TcpState::Established;
                (ProtoState::Tcp(t), TimeoutKind::TcpEstablished)
            }
            hwol_wire::ipv4::proto::ICMP | hwol_wire::ipv4::proto::ICMPV6 => {
                (ProtoState::Icmp(crate::pseudo::IcmpState::Reply), TimeoutKind::IcmpReply)
            }
            _ => (ProtoState::Other(crate::pseudo::OtherState::Bidir), TimeoutKind::OtherBidir),
        };
        shard.insert(
            ck,
            Conn {
                orig: *orig,
                mark,
                label,
                expiration: now + self.timeouts.get(timeout),
                timeout,
                state,
                liberal: true,
            },
        );
        self.changed(zone, orig);
        true
    }

    /// The timeout policy in force.
    pub fn timeouts(&self) -> &Timeouts {
        &self.timeouts
    }
}

fn apply_mark_label(c: &mut Conn, action: &CtAction) {
    if let Some(m) = action.mark {
        c.mark = masked_u32(c.mark, m);
    }
    if let Some(l) = action.label {
        c.label = masked_u128(c.label, l);
    }
}

fn new_state(p: &Parsed) -> (ProtoState, TimeoutKind) {
    match (p.tuple.proto, p.tcp) {
        (proto::TCP, Some(seg)) => {
            let (t, k) = TcpConn::new(&seg);
            (ProtoState::Tcp(t), k)
        }
        (proto::ICMP | proto::ICMPV6, _) => (ProtoState::Icmp(IcmpState::First), IcmpState::First.timeout()),
        _ => (ProtoState::Other(OtherState::First), OtherState::First.timeout()),
    }
}

fn entry(zone: u16, c: &Conn, now: Duration) -> CtEntry {
    let protoinfo = match c.state {
        ProtoState::Tcp(t) => ProtoInfo::Tcp {
            state_orig: t.peers[0].state,
            state_reply: t.peers[1].state,
            wscale_orig: t.peers[0].wscale_shift(),
            wscale_reply: t.peers[1].wscale_shift(),
        },
        ProtoState::Icmp(s) => ProtoInfo::Icmp(s),
        ProtoState::Other(s) => ProtoInfo::Other(s),
    };
    CtEntry {
        orig: c.orig,
        reply: c.orig.reverse(),
        zone,
        mark: c.mark,
        label: c.label,
        protoinfo,
        timeout_secs: c.expiration.saturating_sub(now).as_secs(),
    }
}

impl CtVerdict {
    /// `+trk+inv` for a packet conntrack could not parse: no tuple, zero
    /// mark and label.
    fn untracked_invalid(zone: u16) -> Self {
        CtVerdict { state: ct_state::INV | ct_state::TRK, zone, mark: 0, label: 0, orig: None }
    }

    /// A verdict without a connection behind it: mark and label zero, the
    /// packet's own tuple as the original direction (as OVS writes it).
    fn with_tuple(state: u8, zone: u16, t: CtTuple) -> Self {
        CtVerdict { state, zone, mark: 0, label: 0, orig: Some(t) }
    }

    /// Write `ct_state`, `ct_zone`, `ct_mark`, `ct_label` and the
    /// original-direction tuple fields (`ct_nw_src`... or `ct_ipv6_src`...,
    /// `ct_nw_proto`, `ct_tp_src`, `ct_tp_dst`) into `key`, as OVS's `ct`
    /// action does before recirculation. For ICMP the "ports" are the
    /// original direction's type and code. Without a tuple they are zeroed.
    pub fn apply(&self, key: &mut FlowKey) {
        key.clear_ct();
        key.ct_state = self.state;
        key.ct_zone = self.zone;
        key.ct_mark = self.mark;
        key.ct_label = self.label;
        let Some(t) = self.orig else { return };
        match (t.src, t.dst) {
            (IpAddr::V4(s), IpAddr::V4(d)) => {
                key.ct_nw_src = s.octets();
                key.ct_nw_dst = d.octets();
            }
            (s, d) => {
                key.ct_ipv6_src = to_v6(s);
                key.ct_ipv6_dst = to_v6(d);
            }
        }
        key.ct_nw_proto = t.proto;
        if t.is_icmp() {
            key.ct_tp_src = u16::from(t.icmp_type());
            key.ct_tp_dst = u16::from(t.icmp_code());
        } else {
            key.ct_tp_src = t.sport;
            key.ct_tp_dst = t.dport;
        }
    }
}

fn to_v6(a: IpAddr) -> [u8; 16] {
    match a {
        IpAddr::V6(a) => a.octets(),
        IpAddr::V4(a) => a.to_ipv6_mapped().octets(),
    }
}
