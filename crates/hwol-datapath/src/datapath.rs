//! The [`Datapath`]: a megaflow table, a conntrack table and the per-packet
//! loop that ties them together (see the crate docs for the walk-through).

use crate::execute::{execute, ActionSink, ExecContext, Forked, Next};
use crate::packet::Packet;
use crate::table::FlowTable;
use crate::Error;
use hwol_classifier::Classifier;
use hwol_conntrack::{Conntrack, CtConfig};
use hwol_flow::drop::DropCounters;
use hwol_flow::{extract, Action, DropReason, FlowKey, FlowMask, Metadata};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Recirculations allowed per received packet before it is dropped as a loop.
pub const MAX_RECIRC_DEPTH: u8 = 6;

/// Counters of one megaflow, updated lock-free by the threads that hit it.
#[derive(Debug, Default)]
pub struct FlowStats {
    packets: AtomicU64,
    bytes: AtomicU64,
    /// Last hit, as nanoseconds of the datapath clock; 0 = never.
    used_ns: AtomicU64,
    /// Union of TCP flags seen.
    tcp_flags: AtomicU64,
}

impl FlowStats {
    #[inline]
    fn hit(&self, bytes: usize, tcp_flags: u16, now: Duration) {
        self.packets.fetch_add(1, Relaxed);
        self.bytes.fetch_add(bytes as u64, Relaxed);
        self.used_ns.store(now.as_nanos().max(1) as u64, Relaxed);
        if tcp_flags != 0 {
            self.tcp_flags.fetch_or(tcp_flags as u64, Relaxed);
        }
    }
    /// Packets that hit the flow.
    pub fn packets(&self) -> u64 {
        self.packets.load(Relaxed)
    }
    /// Bytes of those packets.
    pub fn bytes(&self) -> u64 {
        self.bytes.load(Relaxed)
    }
    /// When the flow was last hit (`None` if never).
    pub fn used(&self) -> Option<Duration> {
        match self.used_ns.load(Relaxed) {
            0 => None,
            ns => Some(Duration::from_nanos(ns)),
        }
    }
    /// TCP flags seen on the flow's packets.
    pub fn tcp_flags(&self) -> u16 {
        self.tcp_flags.load(Relaxed) as u16
    }
    /// Add counts from elsewhere (e.g. a fast path); `used` moves forward only.
    pub fn merge(&self, packets: u64, bytes: u64, used: Option<Duration>, tcp_flags: u16) {
        self.packets.fetch_add(packets, Relaxed);
        self.bytes.fetch_add(bytes, Relaxed);
        if let Some(u) = used {
            self.used_ns.fetch_max(u.as_nanos().max(1) as u64, Relaxed);
        }
        self.tcp_flags.fetch_or(tcp_flags as u64, Relaxed);
    }
}

/// One installed megaflow.
#[derive(Debug)]
pub struct Megaflow {
    /// Unique flow id (OVS's ufid).
    pub ufid: u128,
    /// The key it was installed with (not necessarily masked; OVS dumps the
    /// key of the packet that caused the upcall).
    pub key: FlowKey,
    /// Which bits of the key matter.
    pub mask: FlowMask,
    /// What to do with matching packets.
    pub actions: Vec<Action>,
    /// Hit counters.
    pub stats: FlowStats,
}

impl Megaflow {
    /// A megaflow with zeroed stats and the ufid derived from key and mask.
    pub fn new(key: FlowKey, mask: FlowMask, actions: Vec<Action>) -> Self {
        Megaflow { ufid: ufid_of(&key, &mask), key, mask, actions, stats: FlowStats::default() }
    }
}

/// A deterministic 128-bit flow id over the masked key and the mask: stable
/// across restarts and versions, so a restarted daemon finds its flows again.
pub fn ufid_of(key: &FlowKey, mask: &FlowMask) -> u128 {
    const K: [u64; 2] = [0x9e37_79b9_7f4a_7c15, 0xc2b2_ae3d_27d4_eb4f];
    let masked = key.masked(mask);
    let mut h = [0x243f_6a88_85a3_08d3u64, 0x1319_8a2e_0370_7344u64];
    for w in masked.words().iter().chain(mask.words()) {
        for (lane, k) in h.iter_mut().zip(K) {
            *lane = (*lane ^ w).wrapping_mul(k).rotate_left(31);
        }
    }
    for lane in h.iter_mut() {
        *lane ^= *lane >> 33;
        *lane = lane.wrapping_mul(0xff51_afd7_ed55_8ccd);
        *lane ^= *lane >> 33;
    }
    ((h[0] as u128) << 64) | h[1] as u128
}

/// What happened to a packet handed to [`Datapath::process`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PacketFate {
    /// Every action ran (outputs went to the sink).
    Forwarded,
    /// No megaflow matched; the sink's `miss` got the packet.
    Upcall,
    /// Dropped for this reason.
    Dropped(DropReason),
}

/// The slow-path side of the sink: misses.
pub trait DatapathSink: ActionSink {
    /// No megaflow matched `key`. `pkt` is the packet as it is now (after any
    /// rewrites by earlier passes); the slow path owns what happens next.
    fn miss(&mut self, pkt: &Packet, key: &FlowKey);
}

/// Datapath-wide counters, as `dpctl/show` prints them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DpStats {
    /// Lookups that found a megaflow.
    pub hit: u64,
    /// Lookups that did not.
    pub missed: u64,
    /// Misses that could not be delivered to the slow path.
    pub lost: u64,
    /// Packets dropped, by reason.
    pub drops: DropCounters,
}

/// Tunables.
#[derive(Clone, Debug)]
pub struct DatapathConfig {
    /// Conntrack configuration.
    pub conntrack: CtConfig,
    /// See [`MAX_RECIRC_DEPTH`].
    pub max_recirc_depth: u8,
}

impl Default for DatapathConfig {
    fn default() -> Self {
        DatapathConfig { conntrack: CtConfig::default(), max_recirc_depth: MAX_RECIRC_DEPTH }
    }
}

/// The software datapath, generic over its megaflow table.
pub struct Datapath<T: FlowTable = Classifier<Arc<Megaflow>>> {
    flows: T,
    conntrack: Conntrack,
    by_ufid: Mutex<HashMap<u128, (FlowKey, FlowMask)>>,
    max_recirc_depth: u8,
    hit: AtomicU64,
    missed: AtomicU64,
    lost: AtomicU64,
    drops: [AtomicU64; DropReason::ALL.len() + 1],
}

impl<T: FlowTable> Datapath<T> {
    /// An empty datapath.
    pub fn new(cfg: DatapathConfig) -> Self {
        Datapath {
            flows: T::default(),
            conntrack: Conntrack::new(cfg.conntrack),
            by_ufid: Mutex::new(HashMap::new()),
            max_recirc_depth: cfg.max_recirc_depth,
            hit: AtomicU64::new(0),
            missed: AtomicU64::new(0),
            lost: AtomicU64::new(0),
            drops: Default::default(),
        }
    }

    /// The connection tracker.
    pub fn conntrack(&self) -> &Conntrack {
        &self.conntrack
    }

    /// Install a megaflow, replacing one with the same key and mask (whose
    /// stats carry over). Returns the installed flow.
    pub fn flow_put(&self, key: FlowKey, mask: FlowMask, actions: Vec<Action>) -> Arc<Megaflow> {
        let flow = Arc::new(Megaflow::new(key, mask, actions));
        let mut by_ufid = self.by_ufid.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(old) = self.flows.insert(flow.clone()) {
            flow.stats.merge(old.stats.packets(), old.stats.bytes(), old.stats.used(), old.stats.tcp_flags());
        }
        by_ufid.insert(flow.ufid, (key, mask));
        flow
    }

    /// Remove the megaflow with this ufid.
    pub fn flow_del(&self, ufid: u128) -> Result<Arc<Megaflow>, Error> {
        let mut by_ufid = self.by_ufid.lock().unwrap_or_else(|e| e.into_inner());
        let (k, m) = by_ufid.remove(&ufid).ok_or(Error::NoSuchFlow { ufid })?;
        self.flows.remove(&k, &m).ok_or(Error::NoSuchFlow { ufid })
    }

    /// Remove every megaflow; returns how many there were.
    pub fn flow_flush(&self) -> usize {
        let mut by_ufid = self.by_ufid.lock().unwrap_or_else(|e| e.into_inner());
        let n = by_ufid.len();
        for (_, (k, m)) in by_ufid.drain() {
            self.flows.remove(&k, &m);
        }
        n
    }

    /// The megaflow with this ufid, if installed.
    pub fn flow_get(&self, ufid: u128) -> Option<Arc<Megaflow>> {
        let (k, m) = *self.by_ufid.lock().unwrap_or_else(|e| e.into_inner()).get(&ufid)?;
        self.flows.get(&k, &m)
    }

    /// All installed megaflows.
    pub fn flow_dump(&self) -> Vec<Arc<Megaflow>> {
        self.flows.snapshot()
    }

    /// Number of megaflows.
    pub fn flow_count(&self) -> usize {
        self.flows.len()
    }

    /// Number of distinct masks.
    pub fn mask_count(&self) -> usize {
        self.flows.n_masks()
    }

    /// Datapath-wide counters.
    pub fn stats(&self) -> DpStats {
        let mut drops = DropCounters::default();
        for r in DropReason::ALL {
            let n = self.drops[r.code() as usize].load(Relaxed);
            drops.add_n(r, n);
        }
        DpStats { hit: self.hit.load(Relaxed), missed: self.missed.load(Relaxed), lost: self.lost.load(Relaxed), drops }
    }

    /// Count a miss that could not be queued to the slow path.
    pub fn count_lost(&self) {
        self.lost.fetch_add(1, Relaxed);
        self.drops[DropReason::UpcallQueueFull.code() as usize].fetch_add(1, Relaxed);
    }

    fn count_drop(&self, r: DropReason) {
        self.drops[r.code() as usize].fetch_add(1, Relaxed);
    }

    /// Process a batch of packets received on `in_port`.
    pub fn process_batch<S: DatapathSink>(&self, pkts: &mut [Packet], in_port: u32, now: Duration, sink: &mut S) {
        let mut counts = PassCounts::default();
        let mut forked = Vec::new();
        for pkt in pkts.iter_mut() {
            self.run(pkt, Metadata::on_port(in_port), 0, now, sink, &mut forked, &mut counts);
            self.drain_forked(&mut forked, now, sink, &mut counts);
        }
        counts.flush(self);
    }

    /// Process one packet that arrived with metadata `md` (normally
    /// [`Metadata::on_port`]). Returns what happened to it.
    pub fn process<S: DatapathSink>(&self, pkt: &mut Packet, md: Metadata, now: Duration, sink: &mut S) -> PacketFate {
        let mut counts = PassCounts::default();
        let mut forked = Vec::new();
        let fate = self.run(pkt, md, 0, now, sink, &mut forked, &mut counts);
        self.drain_forked(&mut forked, now, sink, &mut counts);
        counts.flush(self);
        fate
    }

    /// Execute `actions` on a packet that is not being looked up: what the
    /// slow path does with the packet of an upcall once it has translated it.
    /// A final `recirc` continues through the megaflow table as usual.
    pub fn execute_actions<S: DatapathSink>(
        &self,
        pkt: &mut Packet,
        md: Metadata,
        actions: &[Action],
        now: Duration,
        sink: &mut S,
    ) -> PacketFate {
        let mut counts = PassCounts::default();
        let mut forked = Vec::new();
        let (mut key, mut layout) = match extract(pkt.data(), &md) {
            Ok(x) => x,
            Err(r) => {
                self.count_drop(r);
                return PacketFate::Dropped(r);
            }
        };
        let mut ctx = ExecContext {
            conntrack: &self.conntrack,
            now,
            sink: &mut *sink,
            forked: &mut forked,
            unknown_port_outputs: 0,
        };
        let next = execute(&mut ctx, pkt, &mut key, &mut layout, actions);
        if ctx.unknown_port_outputs > 0 {
            self.drops[DropReason::OutputPortUnknown.code() as usize].fetch_add(ctx.unknown_port_outputs, Relaxed);
        }
        let fate = match next {
            Next::Done => PacketFate::Forwarded,
            Next::Drop(r) => {
                self.count_drop(r);
                PacketFate::Dropped(r)
            }
            Next::Recirc(id) => {
                let mut md = Metadata::from_key(&key);
                md.recirc_id = id;
                self.run(pkt, md, 1, now, sink, &mut forked, &mut counts)
            }
        };
        self.drain_forked(&mut forked, now, sink, &mut counts);
        counts.flush(self);
        fate
    }

    fn drain_forked<S: DatapathSink>(
        &self,
        forked: &mut Vec<Forked>,
        now: Duration,
        sink: &mut S,
        counts: &mut PassCounts,
    ) {
        while let Some(mut f) = forked.pop() {
            let mut md = Metadata::from_key(&f.key);
            md.recirc_id = f.recirc_id;
            self.run(&mut f.packet, md, 1, now, sink, forked, counts);
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn run<S: DatapathSink>(
        &self,
        pkt: &mut Packet,
        mut md: Metadata,
        mut depth: u8,
        now: Duration,
        sink: &mut S,
        forked: &mut Vec<Forked>,
        counts: &mut PassCounts,
    ) -> PacketFate {
        loop {
            let (mut key, mut layout) = match extract(pkt.data(), &md) {
                Ok(x) => x,
                Err(r) => {
                    self.count_drop(r);
                    return PacketFate::Dropped(r);
                }
            };
            // Actions rewrite `key` while the table still holds the probe.
            let probe = key;
            let hit = self.flows.lookup_with(&probe, |flow| {
                flow.stats.hit(pkt.len(), key.tcp_flags, now);
                let mut ctx = ExecContext {
                    conntrack: &self.conntrack,
                    now,
                    sink: &mut *sink,
                    forked: &mut *forked,
                    unknown_port_outputs: 0,
                };
                let next = execute(&mut ctx, pkt, &mut key, &mut layout, &flow.actions);
                (next, ctx.unknown_port_outputs)
            });
            let Some((next, unknown_port_outputs)) = hit else {
                counts.missed += 1;
                sink.miss(pkt, &key);
                return PacketFate::Upcall;
            };
            counts.hit += 1;
            if unknown_port_outputs > 0 {
                self.drops[DropReason::OutputPortUnknown.code() as usize].fetch_add(unknown_port_outputs, Relaxed);
            }
            match next {
                Next::Done => return PacketFate::Forwarded,
                Next::Drop(r) => {
                    self.count_drop(r);
                    return PacketFate::Dropped(r);
                }
                Next::Recirc(id) => {
                    depth += 1;
                    if depth > self.max_recirc_depth {
                        self.count_drop(DropReason::RecircDepthExceeded);
                        return PacketFate::Dropped(DropReason::RecircDepthExceeded);
                    }
                    md = Metadata::from_key(&key);
                    md.recirc_id = id;
                }
            }
        }
    }
}

#[derive(Default)]
struct PassCounts {
    hit: u64,
    missed: u64,
}

impl PassCounts {
    fn flush<T: FlowTable>(&self, dp: &Datapath<T>) {
        if self.hit > 0 {
            dp.hit.fetch_add(self.hit, Relaxed);
        }
        if self.missed > 0 {
            dp.missed.fetch_add(self.missed, Relaxed);
        }
    }
}
