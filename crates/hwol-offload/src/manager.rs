//! The offload manager: queue, per-flow state, stats deltas, conntrack
//! offload. Owned by the offload thread; see the crate docs.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::fmt::Write as _;
use std::time::Duration;

use hwol_conntrack::CtTuple;

use crate::provider::{
    CtOffload, FastPathStats, NotOffloadedReason, OffloadError, OffloadFlow, OffloadProvider, OffloadState,
};

#[derive(Debug)]
struct Tracked {
    flow: OffloadFlow,
    state: OffloadState,
    /// Fast-path counters already reported by `poll_stats`.
    seen: FastPathStats,
}

#[derive(Debug)]
enum Op {
    Put(u128),
    Del(u128),
}

/// Counts of flows in each state, for `dpctl/offload-stats-show`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OffloadSummary {
    /// The provider's name.
    pub provider: &'static str,
    /// Whether offload is on.
    pub enabled: bool,
    /// Flows in the fast path.
    pub offloaded: usize,
    /// Flows waiting for the offload thread.
    pub pending: usize,
    /// Flows kept in software, by reason.
    pub not_offloaded: BTreeMap<String, usize>,
    /// Flows the provider holds but the NIC does not (they run in the
    /// kernel's software path), by reason.
    pub not_in_hw: BTreeMap<String, usize>,
    /// Flows the provider failed on, by error.
    pub failed: BTreeMap<String, usize>,
    /// Connections in the fast path's conntrack table.
    pub connections: usize,
}

impl OffloadSummary {
    /// The text `ovs-appctl dpctl/offload-stats-show` prints.
    pub fn format(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "provider: {} ({})", self.provider, if self.enabled { "enabled" } else { "disabled" });
        let total = self.offloaded
            + self.not_in_hw.values().sum::<usize>()
            + self.pending
            + self.not_offloaded.values().sum::<usize>()
            + self.failed.values().sum::<usize>();
        let _ = writeln!(s, "  flows: {total}");
        let _ = writeln!(s, "    offloaded: {}", self.offloaded);
        if !self.not_in_hw.is_empty() {
            let _ =
                writeln!(s, "    in {} but not in hardware: {}", self.provider, self.not_in_hw.values().sum::<usize>());
            for (why, n) in &self.not_in_hw {
                let _ = writeln!(s, "      {n}: {why}");
            }
        }
        let _ = writeln!(s, "    pending: {}", self.pending);
        let _ = writeln!(s, "    not offloaded: {}", self.not_offloaded.values().sum::<usize>());
        for (why, n) in &self.not_offloaded {
            let _ = writeln!(s, "      {n}: {why}");
        }
        let _ = writeln!(s, "    failed: {}", self.failed.values().sum::<usize>());
        for (why, n) in &self.failed {
            let _ = writeln!(s, "      {n}: {why}");
        }
        let _ = writeln!(s, "  offloaded connections: {}", self.connections);
        s
    }
}

/// The state of a flow the provider accepted: in its hardware, or held by
/// the provider's kernel path only.
fn placed<P: OffloadProvider>(provider: &P, ufid: u128) -> OffloadState {
    match provider.not_in_hw(ufid) {
        None => OffloadState::Offloaded,
        Some(why) => OffloadState::NotInHardware(why),
    }
}

/// Drives one provider on behalf of the datapath.
#[derive(Debug)]
pub struct OffloadManager<P: OffloadProvider> {
    provider: P,
    enabled: bool,
    flows: HashMap<u128, Tracked>,
    queue: VecDeque<Op>,
    cts: HashMap<(u16, CtTuple), CtOffload>,
}

impl<P: OffloadProvider> OffloadManager<P> {
    /// A manager for `provider`; with `enabled` false every flow is kept in
    /// software with the reason "offload disabled".
    pub fn new(provider: P, enabled: bool) -> Self {
        OffloadManager { provider, enabled, flows: HashMap::new(), queue: VecDeque::new(), cts: HashMap::new() }
    }

    /// The provider.
    pub fn provider(&self) -> &P {
        &self.provider
    }

    /// The provider, mutably (ports are attached through it).
    pub fn provider_mut(&mut self) -> &mut P {
        &mut self.provider
    }

    /// Whether offload is on.
    pub fn enabled(&self) -> bool {
        self.enabled
    }

    /// Switch offload on or off. Off removes every flow and connection from
    /// the fast path (they keep working in software); on offers them all
    /// again.
    pub fn set_enabled(&mut self, enabled: bool) {
        if enabled == self.enabled {
            return;
        }
        self.enabled = enabled;
        let ufids: Vec<u128> = self.flows.keys().copied().collect();
        for ufid in ufids {
            if enabled {
                self.flows.get_mut(&ufid).expect("listed").state = OffloadState::Pending;
                self.queue.push_back(Op::Put(ufid));
            } else {
                self.queue.push_back(Op::Del(ufid));
                self.flows.get_mut(&ufid).expect("listed").state =
                    OffloadState::NotOffloaded(NotOffloadedReason::Disabled);
            }
        }
        if !enabled {
            for (zone, t) in self.cts.keys().cloned().collect::<Vec<_>>() {
                let _ = self.provider.ct_del(zone, &t);
            }
            self.cts.clear();
        }
    }

    /// Queue `flow` for the fast path (replacing a flow with its ufid).
    pub fn flow_put(&mut self, flow: OffloadFlow) {
        let ufid = flow.ufid;
        let state =
            if self.enabled { OffloadState::Pending } else { OffloadState::NotOffloaded(NotOffloadedReason::Disabled) };
        self.flows.insert(ufid, Tracked { flow, state, seen: FastPathStats::default() });
        if self.enabled {
            self.queue.push_back(Op::Put(ufid));
        }
    }

    /// Queue the removal of a flow.
    pub fn flow_del(&mut self, ufid: u128) {
        if self.flows.remove(&ufid).is_some() {
            self.queue.push_back(Op::Del(ufid));
        }
    }

    /// Operations waiting in the queue.
    pub fn queued(&self) -> usize {
        self.queue.len()
    }

    /// Apply up to `budget` queued operations; returns how many ran.
    pub fn run(&mut self, budget: usize) -> usize {
        let mut done = 0;
        while done < budget {
            let Some(op) = self.queue.pop_front() else { break };
            done += 1;
            match op {
                Op::Put(ufid) => {
                    let Some(t) = self.flows.get_mut(&ufid) else { continue };
                    if !self.enabled || t.state != OffloadState::Pending {
                        continue;
                    }
                    t.state = match self.provider.flow_put(&t.flow) {
                        Ok(()) => placed(&self.provider, ufid),
                        Err(OffloadError::Unsupported(r)) => OffloadState::NotOffloaded(r),
                        Err(OffloadError::Failed(e)) => OffloadState::Failed(e),
                    };
                    t.seen = FastPathStats::default();
                }
                Op::Del(ufid) => {
                    // A later put of the same ufid wins over this delete.
                    if self.flows.get(&ufid).is_some_and(|t| t.state == OffloadState::Pending) {
                        continue;
                    }
                    let _ = self.provider.flow_del(ufid);
                }
            }
        }
        done
    }

    /// A flow's state.
    pub fn state(&self, ufid: u128) -> Option<&OffloadState> {
        self.flows.get(&ufid).map(|t| &t.state)
    }

    /// Every tracked flow's state.
    pub fn states(&self) -> impl Iterator<Item = (u128, &OffloadState)> {
        self.flows.iter().map(|(u, t)| (*u, &t.state))
    }

    /// Growth of the fast-path counters since the previous poll, per flow,
    /// for merging into the software counters.
    pub fn poll_stats(&mut self) -> Result<Vec<(u128, FastPathStats)>, OffloadError> {
        let mut out = Vec::new();
        for (ufid, st) in self.provider.flow_stats()? {
            let Some(t) = self.flows.get_mut(&ufid) else { continue };
            let delta = FastPathStats {
                packets: st.packets.saturating_sub(t.seen.packets),
                bytes: st.bytes.saturating_sub(t.seen.bytes),
                used: st.used,
            };
            t.seen = st;
            if matches!(t.state, OffloadState::Offloaded | OffloadState::NotInHardware(_)) {
                t.state = placed(&self.provider, ufid);
            }
            if delta.packets > 0 || delta.bytes > 0 {
                out.push((ufid, delta));
            }
        }
        Ok(out)
    }

    /// Take over the flows a previous run left in the fast path: they are
    /// tracked as offloaded (their counters so far are not reported again)
    /// and returned so the daemon can install them in software and
    /// revalidate them.
    pub fn adopt(&mut self) -> Result<Vec<OffloadFlow>, OffloadError> {
        let flows = self.provider.flow_dump()?;
        let stats: HashMap<u128, FastPathStats> = self.provider.flow_stats()?.into_iter().collect();
        for f in &flows {
            let seen = stats.get(&f.ufid).copied().unwrap_or_default();
            let state = placed(&self.provider, f.ufid);
            self.flows.insert(f.ufid, Tracked { flow: f.clone(), state, seen });
        }
        Ok(flows)
    }

    /// Push an established connection to the fast path.
    pub fn ct_offload(&mut self, ct: CtOffload) -> Result<(), OffloadError> {
        if !self.enabled {
            return Err(OffloadError::Unsupported(NotOffloadedReason::Disabled));
        }
        let key = (ct.zone, ct.orig);
        if self.cts.contains_key(&key) {
            return Ok(());
        }
        self.provider.ct_put(&ct)?;
        self.cts.insert(key, ct);
        Ok(())
    }

    /// Track a connection a previous run left in the fast path, without
    /// pushing it again.
    pub fn ct_adopt(&mut self, ct: CtOffload) {
        self.cts.insert((ct.zone, ct.orig), ct);
    }

    /// Remove a connection from the fast path (it is closing or expired).
    pub fn ct_remove(&mut self, zone: u16, orig: &CtTuple) {
        if self.cts.remove(&(zone, *orig)).is_some() {
            let _ = self.provider.ct_del(zone, orig);
        }
    }

    /// Whether a connection is in the fast path.
    pub fn ct_is_offloaded(&self, zone: u16, orig: &CtTuple) -> bool {
        self.cts.contains_key(&(zone, *orig))
    }

    /// The connections in the fast path, as (zone, original tuple).
    pub fn ct_offloaded(&self) -> Vec<(u16, CtTuple)> {
        self.cts.keys().copied().collect()
    }

    /// The flow behind a ufid, as last handed to the manager.
    pub fn flow(&self, ufid: u128) -> Option<&OffloadFlow> {
        self.flows.get(&ufid).map(|t| &t.flow)
    }

    /// Every connection the fast path holds, with its mark and label (for
    /// adoption after a restart).
    pub fn ct_dump(&mut self) -> Result<Vec<CtOffload>, OffloadError> {
        self.provider.ct_dump()
    }

    /// When the fast path last saw each offloaded connection.
    pub fn ct_used(&mut self) -> Result<Vec<(u16, CtTuple, Duration)>, OffloadError> {
        self.provider.ct_used()
    }

    /// Counts by state.
    pub fn summary(&self) -> OffloadSummary {
        let mut s = OffloadSummary {
            provider: self.provider.name(),
            enabled: self.enabled,
            connections: self.cts.len(),
            ..Default::default()
        };
        for t in self.flows.values() {
            match &t.state {
                OffloadState::Pending => s.pending += 1,
                OffloadState::Offloaded => s.offloaded += 1,
                OffloadState::NotInHardware(r) => *s.not_in_hw.entry(r.clone()).or_default() += 1,
                OffloadState::NotOffloaded(r) => *s.not_offloaded.entry(r.to_string()).or_default() += 1,
                OffloadState::Failed(e) => *s.failed.entry(e.clone()).or_default() += 1,
            }
        }
        s
    }
}
