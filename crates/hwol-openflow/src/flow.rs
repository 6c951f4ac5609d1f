//! Flows as ovs-ofctl adds and dumps them.

use std::time::Duration;

use crate::action::OfAction;
use crate::key::OfMatch;

/// The default priority of a flow that does not say.
pub const DEFAULT_PRIORITY: u16 = 0x8000;

/// One flow, as `ovs-ofctl add-flow` takes it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct FlowSpec {
    /// Table (0-254).
    pub table: u8,
    /// Priority (higher wins).
    pub priority: u16,
    /// Opaque cookie.
    pub cookie: u64,
    /// Remove after this many seconds without a hit (0 = never).
    pub idle_timeout: u16,
    /// Remove this many seconds after installation (0 = never).
    pub hard_timeout: u16,
    /// The match.
    pub matches: OfMatch,
    /// The actions; empty means drop.
    pub actions: Vec<OfAction>,
}

impl Default for FlowSpec {
    fn default() -> Self {
        FlowSpec {
            table: 0,
            priority: DEFAULT_PRIORITY,
            cookie: 0,
            idle_timeout: 0,
            hard_timeout: 0,
            matches: OfMatch::catchall(),
            actions: Vec::new(),
        }
    }
}

/// One line of `ovs-ofctl dump-flows`: a flow and its statistics.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FlowStatsEntry {
    /// The flow.
    pub spec: FlowSpec,
    /// Time since it was installed.
    pub duration: Duration,
    /// Packets that hit it.
    pub n_packets: u64,
    /// Bytes of those packets.
    pub n_bytes: u64,
    /// Seconds since the last hit (`idle_age`), if it was ever hit; OVS
    /// prints the age since installation otherwise.
    pub idle_age: Duration,
    /// Seconds since it was last modified (`hard_age`), printed only when it
    /// differs from `duration`.
    pub hard_age: Option<Duration>,
}
