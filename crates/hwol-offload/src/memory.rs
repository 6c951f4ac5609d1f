//! An in-memory provider: the fast path as a model, for tests.
//!
//! It accepts what the eBPF fast path accepts (see [`MemoryProvider::new`]),
//! enforces table capacities, and lets a test play traffic with
//! [`MemoryProvider::hit`] and [`MemoryProvider::ct_hit`].

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use hwol_conntrack::CtTuple;
use hwol_flow::{ct_state, Action, SetAction};

use crate::provider::{
    check_match, CtOffload, FastPathStats, NotOffloadedReason, OffloadError, OffloadFlow, OffloadProvider,
};

/// Match fields the model fast path supports.
pub const SUPPORTED_FIELDS: &[&str] = &[
    "recirc_id",
    "in_port",
    "eth",
    "eth_type",
    "vlan",
    "ipv4",
    "ipv6",
    "ip_proto",
    "ip_tos",
    "ip_ttl",
    "ip_frag",
    "l4_ports",
    "tcp_flags",
    "ct_state",
    "ct_zone",
    "ct_mark",
];

/// Whether a fast path that only knows established connections can ever
/// hit a flow: one that requires `+new` (or `+inv`, `+rel`) cannot.
pub fn check_ct_state(flow: &OffloadFlow) -> Result<(), NotOffloadedReason> {
    let (v, m) = (flow.key.ct_state, flow.mask.0.ct_state);
    let needs = |bit: u8| m & bit != 0 && v & bit != 0;
    if needs(ct_state::NEW) || needs(ct_state::INV) || needs(ct_state::REL) {
        return Err(NotOffloadedReason::SlowPathOnly {
            why: "matches connections that are new, invalid or related, which the fast path hands to software",
        });
    }
    Ok(())
}

/// Actions the model fast path executes.
pub fn check_actions(flow: &OffloadFlow) -> Result<(), NotOffloadedReason> {
    for a in &flow.actions {
        let ok = match a {
            Action::Output(_) | Action::Recirc(_) => true,
            Action::Ct(ct) => ct.nat.is_none() && ct.helper.is_none() && ct.label.is_none(),
            Action::Set { set: SetAction::Eth { .. }, .. } => true,
            _ => false,
        };
        if !ok {
            return Err(NotOffloadedReason::UnsupportedAction { action: format!("{a:?}") });
        }
    }
    Ok(())
}

/// The model.
#[derive(Debug)]
pub struct MemoryProvider {
    flow_capacity: usize,
    ct_capacity: usize,
    ports: BTreeMap<u32, String>,
    flows: HashMap<u128, (OffloadFlow, FastPathStats)>,
    cts: HashMap<(u16, CtTuple), (CtOffload, Option<Duration>)>,
}

impl MemoryProvider {
    /// A model fast path holding at most `flow_capacity` flows and
    /// `ct_capacity` connections.
    pub fn new(flow_capacity: usize, ct_capacity: usize) -> Self {
        MemoryProvider {
            flow_capacity,
            ct_capacity,
            ports: BTreeMap::new(),
            flows: HashMap::new(),
            cts: HashMap::new(),
        }
    }

    /// Play `packets` packets of `bytes` bytes in total through flow `ufid` at `now`.
    pub fn hit(&mut self, ufid: u128, packets: u64, bytes: u64, now: Duration) -> bool {
        match self.flows.get_mut(&ufid) {
            Some((_, st)) => {
                st.packets += packets;
                st.bytes += bytes;
                st.used = Some(now);
                true
            }
            None => false,
        }
    }

    /// Record that the fast path saw a connection at `now`.
    pub fn ct_hit(&mut self, zone: u16, orig: &CtTuple, now: Duration) -> bool {
        match self.cts.get_mut(&(zone, *orig)) {
            Some(e) => {
                e.1 = Some(now);
                true
            }
            None => false,
        }
    }

    /// Number of flows installed.
    pub fn n_flows(&self) -> usize {
        self.flows.len()
    }
}

impl OffloadProvider for MemoryProvider {
    fn name(&self) -> &'static str {
        "memory"
    }

    fn port_add(&mut self, port: u32, ifname: &str) -> Result<(), OffloadError> {
        self.ports.insert(port, ifname.to_string());
        Ok(())
    }

    fn port_del(&mut self, port: u32) -> Result<(), OffloadError> {
        self.ports.remove(&port);
        Ok(())
    }

    fn flow_put(&mut self, flow: &OffloadFlow) -> Result<(), OffloadError> {
        check_match(&flow.mask, SUPPORTED_FIELDS).map_err(OffloadError::Unsupported)?;
        check_ct_state(flow).map_err(OffloadError::Unsupported)?;
        check_actions(flow).map_err(OffloadError::Unsupported)?;
        let mut ports = vec![flow.key.in_port];
        ports.extend(flow.actions.iter().filter_map(|a| if let Action::Output(p) = a { Some(*p) } else { None }));
        for p in ports {
            if !self.ports.contains_key(&p) {
                return Err(OffloadError::Unsupported(NotOffloadedReason::PortNotOffloadable {
                    port: p,
                    why: "not attached to the fast path".into(),
                }));
            }
        }
        if !self.flows.contains_key(&flow.ufid) && self.flows.len() >= self.flow_capacity {
            return Err(OffloadError::Unsupported(NotOffloadedReason::TableFull {
                table: "flows",
                capacity: self.flow_capacity,
            }));
        }
        self.flows.insert(flow.ufid, (flow.clone(), FastPathStats::default()));
        Ok(())
    }

    fn flow_del(&mut self, ufid: u128) -> Result<(), OffloadError> {
        self.flows.remove(&ufid);
        Ok(())
    }

    fn flow_stats(&mut self) -> Result<Vec<(u128, FastPathStats)>, OffloadError> {
        Ok(self.flows.iter().map(|(u, (_, s))| (*u, *s)).collect())
    }

    fn flow_dump(&mut self) -> Result<Vec<OffloadFlow>, OffloadError> {
        Ok(self.flows.values().map(|(f, _)| f.clone()).collect())
    }

    fn ct_put(&mut self, ct: &CtOffload) -> Result<(), OffloadError> {
        let key = (ct.zone, ct.orig);
        if !self.cts.contains_key(&key) && self.cts.len() >= self.ct_capacity {
            return Err(OffloadError::Unsupported(NotOffloadedReason::TableFull {
                table: "conntrack",
                capacity: self.ct_capacity,
            }));
        }
        self.cts.insert(key, (ct.clone(), None));
        Ok(())
    }

    fn ct_del(&mut self, zone: u16, orig: &CtTuple) -> Result<(), OffloadError> {
        self.cts.remove(&(zone, *orig));
        Ok(())
    }

    fn ct_used(&mut self) -> Result<Vec<(u16, CtTuple, Duration)>, OffloadError> {
        Ok(self.cts.iter().filter_map(|((z, t), (_, u))| u.map(|u| (*z, *t, u))).collect())
    }

    fn ct_dump(&mut self) -> Result<Vec<CtOffload>, OffloadError> {
        Ok(self.cts.values().map(|(c, _)| c.clone()).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manager::OffloadManager;
    use crate::OffloadState;
    use hwol_flow::{CtAction, FlowKey, FlowMask};

    fn flow(ufid: u128, in_port: u32, actions: Vec<Action>) -> OffloadFlow {
        let key = FlowKey { in_port, eth_type: 0x0800, ..Default::default() };
        let mut mask = FlowMask::default();
        mask.0.in_port = !0;
        mask.0.eth_type = !0;
        mask.0.recirc_id = !0;
        OffloadFlow { ufid, key, mask, actions }
    }

    fn manager(cap: usize) -> OffloadManager<MemoryProvider> {
        let mut p = MemoryProvider::new(cap, 4);
        p.port_add(1, "rep1").unwrap();
        p.port_add(2, "rep2").unwrap();
        OffloadManager::new(p, true)
    }

    #[test]
    fn flows_go_pending_then_offloaded_and_stats_come_back_as_deltas() {
        let mut m = manager(8);
        m.flow_put(flow(1, 1, vec![Action::Output(2)]));
        assert_eq!(m.state(1), Some(&OffloadState::Pending));
        assert_eq!(m.run(10), 1);
        assert_eq!(m.state(1), Some(&OffloadState::Offloaded));
        m.provider_mut().hit(1, 10, 1000, Duration::from_secs(3));
        assert_eq!(
            m.poll_stats().unwrap(),
            vec![(1, FastPathStats { packets: 10, bytes: 1000, used: Some(Duration::from_secs(3)) })]
        );
        m.provider_mut().hit(1, 5, 500, Duration::from_secs(4));
        assert_eq!(m.poll_stats().unwrap()[0].1.packets, 5, "only the growth is reported");
        assert!(m.poll_stats().unwrap().is_empty());
    }

    #[test]
    fn a_full_table_keeps_flows_in_software_with_the_reason() {
        let mut m = manager(1);
        m.flow_put(flow(1, 1, vec![Action::Output(2)]));
        m.flow_put(flow(2, 2, vec![Action::Output(1)]));
        m.run(10);
        assert_eq!(m.state(1), Some(&OffloadState::Offloaded));
        assert_eq!(
            m.state(2),
            Some(&OffloadState::NotOffloaded(NotOffloadedReason::TableFull { table: "flows", capacity: 1 }))
        );
        let text = m.summary().format();
        assert!(text.contains("1: flows table full (1 entries)"), "{text}");
    }

    #[test]
    fn unsupported_matches_actions_ports_and_new_connections_have_reasons() {
        let mut m = manager(8);
        let mut f = flow(1, 1, vec![Action::Output(2)]);
        f.mask.0.ct_label = 1;
        m.flow_put(f);
        m.flow_put(flow(2, 1, vec![Action::PopVlan, Action::Output(2)]));
        m.flow_put(flow(3, 9, vec![Action::Output(2)]));
        let mut f =
            flow(4, 1, vec![Action::Ct(CtAction { commit: true, zone: 1, ..Default::default() }), Action::Output(2)]);
        f.key.ct_state = ct_state::NEW | ct_state::TRK;
        f.mask.0.ct_state = ct_state::NEW | ct_state::TRK;
        m.flow_put(f);
        m.run(10);
        let reason = |u| match m.state(u) {
            Some(OffloadState::NotOffloaded(r)) => r.label(),
            s => panic!("flow {u}: {s:?}"),
        };
        assert_eq!(reason(1), "unsupported_match");
        assert_eq!(reason(2), "unsupported_action");
        assert_eq!(reason(3), "port_not_offloadable");
        assert_eq!(reason(4), "slow_path_only");
    }

    #[test]
    fn delete_then_put_of_the_same_ufid_ends_offloaded() {
        let mut m = manager(8);
        m.flow_put(flow(1, 1, vec![Action::Output(2)]));
        m.run(10);
        m.flow_del(1);
        m.flow_put(flow(1, 1, vec![Action::Output(2)]));
        m.run(10);
        assert_eq!(m.state(1), Some(&OffloadState::Offloaded));
        assert_eq!(m.provider().n_flows(), 1);
    }

    #[test]
    fn disabling_removes_everything_and_enabling_offers_it_again() {
        let mut m = manager(8);
        m.flow_put(flow(1, 1, vec![Action::Output(2)]));
        m.run(10);
        m.set_enabled(false);
        m.run(10);
        assert_eq!(m.provider().n_flows(), 0);
        assert_eq!(m.state(1), Some(&OffloadState::NotOffloaded(NotOffloadedReason::Disabled)));
        m.set_enabled(true);
        m.run(10);
        assert_eq!(m.provider().n_flows(), 1);
    }

    #[test]
    fn adoption_takes_over_flows_without_recounting_them() {
        let mut p = MemoryProvider::new(8, 4);
        p.port_add(1, "rep1").unwrap();
        p.port_add(2, "rep2").unwrap();
        p.flow_put(&flow(7, 1, vec![Action::Output(2)])).unwrap();
        p.hit(7, 100, 10_000, Duration::from_secs(1));
        let mut m = OffloadManager::new(p, true);
        let adopted = m.adopt().unwrap();
        assert_eq!(adopted.len(), 1);
        assert_eq!(m.state(7), Some(&OffloadState::Offloaded));
        assert!(m.poll_stats().unwrap().is_empty(), "pre-restart counters are not reported twice");
        m.provider_mut().hit(7, 1, 100, Duration::from_secs(2));
        assert_eq!(m.poll_stats().unwrap()[0].1.packets, 1);
    }

    #[test]
    fn connections_are_offloaded_once_and_report_last_use() {
        let mut m = manager(8);
        let t = CtTuple::ports("10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap(), 6, 40000, 5201);
        let ct = CtOffload { zone: 65520, orig: t, mark: 0, label: 0 };
        m.ct_offload(ct.clone()).unwrap();
        m.ct_offload(ct).unwrap();
        assert!(m.ct_is_offloaded(65520, &t));
        m.provider_mut().ct_hit(65520, &t, Duration::from_secs(9));
        assert_eq!(m.ct_used().unwrap(), vec![(65520, t, Duration::from_secs(9))]);
        m.ct_remove(65520, &t);
        assert!(!m.ct_is_offloaded(65520, &t));
        assert_eq!(m.summary().connections, 0);
    }
}
