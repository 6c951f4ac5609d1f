//! The provider trait and the types it speaks.

use std::fmt;
use std::time::Duration;

use hwol_conntrack::CtTuple;
use hwol_flow::{Action, FlowKey, FlowMask};

/// A megaflow as handed to a provider.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OffloadFlow {
    /// The flow's id (the datapath's ufid).
    pub ufid: u128,
    /// Its key (bits outside `mask` are ignored).
    pub key: FlowKey,
    /// Which bits of the key matter.
    pub mask: FlowMask,
    /// The datapath actions.
    pub actions: Vec<Action>,
}

/// Counters a fast path keeps for one flow, cumulative since its `flow_put`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FastPathStats {
    /// Packets that hit the flow in the fast path.
    pub packets: u64,
    /// Bytes of those packets.
    pub bytes: u64,
    /// Last hit, on the daemon's monotonic clock (`CLOCK_MONOTONIC`).
    pub used: Option<Duration>,
}

/// Why a flow (or connection) stays in the software datapath.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum NotOffloadedReason {
    /// Offload is switched off (`other_config:hw-offload=false`).
    Disabled,
    /// The provider cannot match this field (under this mask).
    UnsupportedMatch {
        /// The field, as `dpctl/dump-flows` names it (e.g. `ct_label`, `arp`).
        field: &'static str,
    },
    /// The provider cannot execute this action.
    UnsupportedAction {
        /// The action, as `dpctl/dump-flows` prints it.
        action: String,
    },
    /// A fast-path table is full.
    TableFull {
        /// Which table (`flows`, `masks`, `conntrack`).
        table: &'static str,
        /// Its capacity.
        capacity: usize,
    },
    /// An input or output port of the flow is not attached to the provider.
    PortNotOffloadable {
        /// The datapath port.
        port: u32,
        /// Why it is not.
        why: String,
    },
    /// The flow only ever sees packets the fast path must hand to software
    /// (e.g. it matches `+new` connections).
    SlowPathOnly {
        /// Why.
        why: &'static str,
    },
}

impl fmt::Display for NotOffloadedReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NotOffloadedReason::Disabled => write!(f, "offload disabled (other_config:hw-offload=false)"),
            NotOffloadedReason::UnsupportedMatch { field } => write!(f, "unsupported match on {field}"),
            NotOffloadedReason::UnsupportedAction { action } => write!(f, "unsupported action {action}"),
            NotOffloadedReason::TableFull { table, capacity } => {
                write!(f, "{table} table full ({capacity} entries)")
            }
            NotOffloadedReason::PortNotOffloadable { port, why } => write!(f, "port {port} not offloadable: {why}"),
            NotOffloadedReason::SlowPathOnly { why } => write!(f, "slow path only: {why}"),
        }
    }
}

impl NotOffloadedReason {
    /// A stable short label for counting reasons (`offload-stats-show`).
    pub fn label(&self) -> &'static str {
        match self {
            NotOffloadedReason::Disabled => "disabled",
            NotOffloadedReason::UnsupportedMatch { .. } => "unsupported_match",
            NotOffloadedReason::UnsupportedAction { .. } => "unsupported_action",
            NotOffloadedReason::TableFull { .. } => "table_full",
            NotOffloadedReason::PortNotOffloadable { .. } => "port_not_offloadable",
            NotOffloadedReason::SlowPathOnly { .. } => "slow_path_only",
        }
    }
}

/// A provider's answer when it did not do what was asked.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum OffloadError {
    /// Stay in software; shown to the user as the reason. Not a failure.
    #[error("not offloaded: {0}")]
    Unsupported(NotOffloadedReason),
    /// The provider failed (a kernel or map error). The message says what
    /// failed and, where it can, what to do.
    #[error("{0}")]
    Failed(String),
}

/// Where a flow stands with respect to the fast path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OffloadState {
    /// Queued for the provider.
    Pending,
    /// In the fast path.
    Offloaded,
    /// In software only, for this reason.
    NotOffloaded(NotOffloadedReason),
    /// The provider holds the flow, but runs it in the kernel's own software
    /// path rather than in the NIC (tc flower's `not_in_hw`), for this
    /// reason. Packets still bypass the daemon; they cost host CPU.
    NotInHardware(String),
    /// The provider failed; the flow is in software only.
    Failed(String),
}

impl fmt::Display for OffloadState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OffloadState::Pending => f.write_str("pending"),
            OffloadState::Offloaded => f.write_str("offloaded"),
            OffloadState::NotOffloaded(r) => write!(f, "not offloaded: {r}"),
            OffloadState::NotInHardware(r) => write!(f, "not in hardware: {r}"),
            OffloadState::Failed(e) => write!(f, "failed: {e}"),
        }
    }
}

/// A connection pushed to the fast path's conntrack table.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct CtOffload {
    /// Conntrack zone.
    pub zone: u16,
    /// Original-direction tuple (the reply direction is its reverse).
    pub orig: CtTuple,
    /// Connection mark.
    pub mark: u32,
    /// Connection label.
    pub label: u128,
}

/// A fast path flows can be offloaded to.
///
/// Threading: one offload thread owns the provider; nothing here is called
/// from the packet path. Idempotence: `flow_put` with a ufid already present
/// replaces that flow; deleting an absent flow or connection is `Ok`.
/// Errors: [`OffloadError::Unsupported`] means "stay in software" and carries
/// the reason to show; [`OffloadError::Failed`] is a real failure.
pub trait OffloadProvider: Send {
    /// Short name, printed as `dp:` in `dpctl/dump-flows -m` (`xdp`, `tc`, `memory`).
    fn name(&self) -> &'static str;

    /// Attach datapath port `port` (interface `ifname`). Until a port is
    /// attached, flows that use it are refused with `PortNotOffloadable`.
    fn port_add(&mut self, port: u32, ifname: &str) -> Result<(), OffloadError>;

    /// Detach a port; its flows must already be deleted.
    fn port_del(&mut self, port: u32) -> Result<(), OffloadError>;

    /// Install `flow`, replacing any flow with the same ufid. Counters of a
    /// replaced flow restart at zero.
    fn flow_put(&mut self, flow: &OffloadFlow) -> Result<(), OffloadError>;

    /// Remove the flow with this ufid.
    fn flow_del(&mut self, ufid: u128) -> Result<(), OffloadError>;

    /// Counters of every installed flow.
    fn flow_stats(&mut self) -> Result<Vec<(u128, FastPathStats)>, OffloadError>;

    /// Every installed flow, for adopting them after a daemon restart.
    fn flow_dump(&mut self) -> Result<Vec<OffloadFlow>, OffloadError>;

    /// Push an established connection (both directions).
    fn ct_put(&mut self, ct: &CtOffload) -> Result<(), OffloadError>;

    /// Remove a connection.
    fn ct_del(&mut self, zone: u16, orig: &CtTuple) -> Result<(), OffloadError>;

    /// Last time the fast path saw each offloaded connection.
    fn ct_used(&mut self) -> Result<Vec<(u16, CtTuple, Duration)>, OffloadError>;

    /// Every connection in the fast path, once each, as it was pushed (zone,
    /// original tuple, mark and label), for adopting them after a daemon
    /// restart: a connection adopted without its mark would no longer match
    /// the pipeline's `ct_mark` flows.
    fn ct_dump(&mut self) -> Result<Vec<CtOffload>, OffloadError>;

    /// For providers that stand in front of a NIC (tc flower): why an
    /// installed flow is *not* in the NIC's hardware, as of its install or
    /// the last [`flow_stats`](Self::flow_stats); `None` when it is, when
    /// the flow is unknown, or when the provider has no hardware of its own
    /// (the eBPF fast paths, where installed is as far as it goes).
    fn not_in_hw(&self, ufid: u128) -> Option<String> {
        let _ = ufid;
        None
    }
}

/// Fields a provider may declare support for, with the names
/// `dpctl/dump-flows` uses, and how to test a mask for them.
/// Whether a mask matches on a field.
type FieldTest = fn(&FlowKey) -> bool;

const FIELDS: &[(&str, FieldTest)] = &[
    ("skb_priority", |m| m.skb_priority != 0),
    ("skb_mark", |m| m.skb_mark != 0),
    ("dp_hash", |m| m.dp_hash != 0),
    ("ct_state", |m| m.ct_state != 0),
    ("ct_zone", |m| m.ct_zone != 0),
    ("ct_mark", |m| m.ct_mark != 0),
    ("ct_label", |m| m.ct_label != 0),
    ("ct_tuple", |m| {
        m.ct_nw_src != [0; 4]
            || m.ct_nw_dst != [0; 4]
            || m.ct_ipv6_src != [0; 16]
            || m.ct_ipv6_dst != [0; 16]
            || m.ct_nw_proto != 0
            || m.ct_tp_src != 0
            || m.ct_tp_dst != 0
    }),
    ("recirc_id", |m| m.recirc_id != 0),
    ("in_port", |m| m.in_port != 0),
    ("eth", |m| m.eth_src != [0; 6] || m.eth_dst != [0; 6]),
    ("eth_type", |m| m.eth_type != 0),
    ("vlan", |m| m.vlans[0].tci != 0 || m.vlans[1] != Default::default()),
    ("ipv4", |m| m.nw_src != [0; 4] || m.nw_dst != [0; 4]),
    ("ipv6", |m| m.ipv6_src != [0; 16] || m.ipv6_dst != [0; 16] || m.ipv6_label != 0),
    ("ip_proto", |m| m.nw_proto != 0),
    ("ip_tos", |m| m.nw_tos != 0),
    ("ip_ttl", |m| m.nw_ttl != 0),
    ("ip_frag", |m| m.nw_frag != 0),
    ("l4_ports", |m| m.tp_src != 0 || m.tp_dst != 0),
    ("tcp_flags", |m| m.tcp_flags != 0),
    ("arp", |m| m.arp_op != 0 || m.arp_sha != [0; 6] || m.arp_tha != [0; 6]),
];

/// The first field `mask` matches on that is not in `supported`, as the
/// reason to stay in software; `Ok` if every matched field is supported.
/// Field names are the ones listed in this module (`ct_label`, `vlan`, ...);
/// VLAN tag *presence* (the TPID) is always allowed, since every megaflow
/// matches it.
pub fn check_match(mask: &FlowMask, supported: &[&str]) -> Result<(), NotOffloadedReason> {
    for (name, used) in FIELDS {
        if used(&mask.0) && !supported.contains(name) {
            return Err(NotOffloadedReason::UnsupportedMatch { field: name });
        }
    }
    Ok(())
}

/// A boxed provider is a provider, so the daemon can pick one at run time.
impl OffloadProvider for Box<dyn OffloadProvider> {
    fn name(&self) -> &'static str {
        (**self).name()
    }
    fn port_add(&mut self, port: u32, ifname: &str) -> Result<(), OffloadError> {
        (**self).port_add(port, ifname)
    }
    fn port_del(&mut self, port: u32) -> Result<(), OffloadError> {
        (**self).port_del(port)
    }
    fn flow_put(&mut self, flow: &OffloadFlow) -> Result<(), OffloadError> {
        (**self).flow_put(flow)
    }
    fn flow_del(&mut self, ufid: u128) -> Result<(), OffloadError> {
        (**self).flow_del(ufid)
    }
    fn flow_stats(&mut self) -> Result<Vec<(u128, FastPathStats)>, OffloadError> {
        (**self).flow_stats()
    }
    fn flow_dump(&mut self) -> Result<Vec<OffloadFlow>, OffloadError> {
        (**self).flow_dump()
    }
    fn ct_put(&mut self, ct: &CtOffload) -> Result<(), OffloadError> {
        (**self).ct_put(ct)
    }
    fn ct_del(&mut self, zone: u16, orig: &CtTuple) -> Result<(), OffloadError> {
        (**self).ct_del(zone, orig)
    }
    fn ct_used(&mut self) -> Result<Vec<(u16, CtTuple, Duration)>, OffloadError> {
        (**self).ct_used()
    }
    fn ct_dump(&mut self) -> Result<Vec<CtOffload>, OffloadError> {
        (**self).ct_dump()
    }
    fn not_in_hw(&self, ufid: u128) -> Option<String> {
        (**self).not_in_hw(ufid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_match_names_the_first_unsupported_field() {
        let mut m = FlowMask::default();
        m.0.in_port = !0;
        m.0.ct_label = 1;
        m.0.vlans[0].tpid = !0;
        assert_eq!(check_match(&m, &["in_port"]), Err(NotOffloadedReason::UnsupportedMatch { field: "ct_label" }));
        assert_eq!(check_match(&m, &["in_port", "ct_label"]), Ok(()));
    }

    #[test]
    fn reasons_read_well() {
        let r = NotOffloadedReason::TableFull { table: "flows", capacity: 4096 };
        assert_eq!(r.to_string(), "flows table full (4096 entries)");
        assert_eq!(OffloadState::NotOffloaded(r).to_string(), "not offloaded: flows table full (4096 entries)");
    }
}
