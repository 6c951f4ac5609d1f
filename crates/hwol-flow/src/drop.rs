//! Why the datapath dropped a packet.
//!
//! Per-packet failures are never `Err`s: they are counted under a
//! `DropReason`. The numeric codes are stable: the eBPF fast path reports the
//! same codes, and [`DropReason::as_str`] doubles as a metric label.

/// A stable, countable reason for dropping a packet.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DropReason {
    /// The frame is shorter than an Ethernet header.
    RuntFrame = 1,
    /// A flow's actions said `drop` (or had no output).
    ActionDrop = 2,
    /// Conntrack's total entry limit was reached; the new connection was refused.
    CtTableFull = 3,
    /// Conntrack's per-zone entry limit was reached; the new connection was refused.
    CtZoneLimit = 4,
    /// The packet recirculated more times than the datapath allows (a loop).
    RecircDepthExceeded = 5,
    /// `ct(nat)` was requested; NAT is not implemented yet.
    CtNatUnsupported = 6,
    /// The upcall queue to the slow path was full.
    UpcallQueueFull = 7,
    /// A `set` or `pop_vlan` action addressed a header the packet does not have.
    ActionHeaderMissing = 8,
    /// `push_vlan` on a packet that already carries two tags.
    VlanStackFull = 9,
    /// A `set` action on a non-first fragment's L4 ports.
    SetOnFragment = 10,
    /// The output port is not attached to the datapath.
    OutputPortUnknown = 11,
    /// The action list could not be executed (too many nested actions).
    ActionListTooLong = 12,
}

impl DropReason {
    /// Every reason, in code order.
    pub const ALL: [DropReason; 12] = [
        DropReason::RuntFrame,
        DropReason::ActionDrop,
        DropReason::CtTableFull,
        DropReason::CtZoneLimit,
        DropReason::RecircDepthExceeded,
        DropReason::CtNatUnsupported,
        DropReason::UpcallQueueFull,
        DropReason::ActionHeaderMissing,
        DropReason::VlanStackFull,
        DropReason::SetOnFragment,
        DropReason::OutputPortUnknown,
        DropReason::ActionListTooLong,
    ];

    /// The stable numeric code.
    pub fn code(self) -> u32 {
        self as u32
    }

    /// A stable snake_case label, usable as a metric label.
    pub fn as_str(self) -> &'static str {
        match self {
            DropReason::RuntFrame => "runt_frame",
            DropReason::ActionDrop => "action_drop",
            DropReason::CtTableFull => "ct_table_full",
            DropReason::CtZoneLimit => "ct_zone_limit",
            DropReason::RecircDepthExceeded => "recirc_depth_exceeded",
            DropReason::CtNatUnsupported => "ct_nat_unsupported",
            DropReason::UpcallQueueFull => "upcall_queue_full",
            DropReason::ActionHeaderMissing => "action_header_missing",
            DropReason::VlanStackFull => "vlan_stack_full",
            DropReason::SetOnFragment => "set_on_fragment",
            DropReason::OutputPortUnknown => "output_port_unknown",
            DropReason::ActionListTooLong => "action_list_too_long",
        }
    }

    /// Look a reason up by code.
    pub fn from_code(code: u32) -> Option<DropReason> {
        DropReason::ALL.iter().copied().find(|r| r.code() == code)
    }
}

impl core::fmt::Display for DropReason {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Counters indexed by [`DropReason`] code.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DropCounters([u64; DropReason::ALL.len() + 1]);

impl DropCounters {
    /// Count one drop.
    #[inline]
    pub fn add(&mut self, r: DropReason) {
        self.0[r.code() as usize] += 1;
    }
    /// Count `n` drops.
    #[inline]
    pub fn add_n(&mut self, r: DropReason, n: u64) {
        self.0[r.code() as usize] += n;
    }
    /// The count for `r`.
    pub fn get(&self, r: DropReason) -> u64 {
        self.0[r.code() as usize]
    }
    /// Non-zero counters, in code order.
    pub fn iter(&self) -> impl Iterator<Item = (DropReason, u64)> + '_ {
        DropReason::ALL.iter().map(|r| (*r, self.get(*r))).filter(|(_, n)| *n > 0)
    }
    /// Sum of all drops.
    pub fn total(&self) -> u64 {
        self.0.iter().sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_dense_and_round_trip() {
        for (i, r) in DropReason::ALL.iter().enumerate() {
            assert_eq!(r.code() as usize, i + 1);
            assert_eq!(DropReason::from_code(r.code()), Some(*r));
        }
        let mut labels: Vec<_> = DropReason::ALL.iter().map(|r| r.as_str()).collect();
        labels.sort();
        labels.dedup();
        assert_eq!(labels.len(), DropReason::ALL.len());
    }
}
