//! The userspace connection tracker: what the datapath action `ct(...)`
//! runs, modelled on Open vSwitch's userspace conntrack (`lib/conntrack*.c`)
//! in behaviour, not in code.
//!
//! # What a verdict means
//!
//! [`Conntrack::execute`] takes one packet and a [`CtAction`] and returns a
//! [`CtVerdict`]: the `ct_state` bits, zone, mark, label and original-
//! direction tuple the packet carries into its recirculation
//! ([`CtVerdict::apply`] writes them into the flow key). The bits, exactly as
//! OVS sets them:
//!
//! - `+trk` on every packet that went through `ct`, whatever else is true.
//! - `+new` for the first packet of a connection the table does not hold,
//!   whether or not this action commits it (uncommitted, nothing is stored
//!   and the next packet is `+new` again). Also for later packets of a
//!   committed connection that is not yet established: TCP SYN
//!   retransmissions, and for UDP/other and ICMP, every packet in the
//!   original direction until a reply has been seen.
//! - `+est` for a packet accepted as part of an established connection:
//!   every reply (the SYN-ACK, the first UDP answer, the echo reply) and
//!   from then on everything in both directions; for TCP also segments of
//!   a connection picked up mid-stream after its first packet.
//! - `+rpl` with `+est` or `+rel` when the packet travels in the reply
//!   direction (from the responder back to the initiator).
//! - `+rel` for an ICMP/ICMPv6 error (unreachable, time exceeded, parameter
//!   problem, packet too big, ...) whose quoted packet belongs to a tracked
//!   connection. Since the quoted packet went out in the original
//!   direction, the error itself usually comes back as `+rel+rpl`.
//! - `+inv` alone (with `+trk`) when conntrack cannot make sense of the
//!   packet: not IP, any IP fragment (no reassembly), truncated or
//!   malformed L4, port 0, unknown ICMP types (including neighbour
//!   discovery), an ICMP error about no tracked connection, a TCP segment
//!   with an impossible flag combination or outside the tracked sequence
//!   window, a SYN-ACK or other invalid first packet for a new TCP
//!   connection.
//! - `+snat`/`+dnat` are never set: NAT is not implemented, and
//!   `ct(nat...)` returns [`CtOutcome::Drop`] with
//!   [`DropReason::CtNatUnsupported`].
//!
//! A packet that already went through `ct` in the same zone (its key has
//! `+trk` and that `ct_zone`) and still maps to a live connection is not run
//! through the state machine a second time: it keeps the bits it has and
//! only picks up the current mark and label. That is OVS's behaviour for
//! `ct(zone=Z),recirc(...)` followed by `ct(commit,zone=Z)`: the first pass
//! updates TCP state, the second only commits.
//!
//! # Connections, states, commits
//!
//! `commit` stores a `+new` packet's connection; `force` additionally
//! replaces a connection found in the reply direction by one in the
//! packet's direction. `mark` and `label` (masked) are written to the
//! connection only by committing actions, to new and existing connections
//! alike. Connections are keyed by zone plus tuple; a zone is a separate
//! namespace, and the same tuple can be tracked independently in two zones.
//!
//! TCP has a per-peer state machine with sequence-window checks (see
//! `tcp.rs`); `dump-conntrack` prints the summary state OVS prints
//! (`SYN_SENT`, `ESTABLISHED`, `CLOSING`, `TIME_WAIT`, ...). A SYN on the
//! tuple of a fully closed connection starts a new one. UDP and all other
//! IP protocols have FIRST/MULTIPLE/BIDIR pseudo-states; ICMP and ICMPv6
//! queries (echo, and for ICMPv4 timestamp and information) have
//! FIRST/REPLY, keyed on the identifier (see `pseudo.rs`).
//!
//! # Time and timeouts
//!
//! Nothing here reads a clock: every call takes `now` as a
//! [`Duration`](std::time::Duration) since an arbitrary epoch, so tests drive an injected clock. Every
//! accepted packet pushes its connection's expiry to `now + timeout`, the
//! timeout depending on the protocol state ([`Timeouts`], OVS's default
//! policy by default: 30 s for a lone SYN, 24 h established, ...).
//! An expired connection is invisible at once (lookups and dumps skip it)
//! but is only deleted, and stops counting against limits, when
//! [`Conntrack::expire`] runs, as with OVS's sweeper thread. The caller
//! owns the sweeping schedule. [`Conntrack::touch`] lets the offload
//! manager keep a connection alive while hardware carries its packets.
//!
//! # Limits
//!
//! A commit that would create a connection is refused when the zone is at
//! its limit ([`DropReason::CtZoneLimit`], checked first) or the table holds
//! `max_entries` connections ([`DropReason::CtTableFull`]). The kernel
//! datapath drops such a packet and so do we (OVS's userspace datapath lets
//! it pass uncommitted as `+new`). Zone limits: a zone's own limit, else
//! the default limit if non-zero, else none; a zone's own limit of 0
//! admits nothing. Counters are atomic and reserved before insertion, so
//! concurrent commits never overshoot.
//!
//! # Locking
//!
//! The table is split into 64 shards, each a `Mutex<HashMap>`. A
//! connection is stored once, under a direction-independent key (the
//! smaller of its tuple and the reverse tuple), so both directions find it
//! with one hash lookup in one shard, and one short lock covers a packet's
//! lookup, state update and commit. OVS instead keeps an RCU hash map plus
//! a mutex per connection; without RCU in std, short shard locks give the
//! same property that matters (packets of different connections rarely
//! contend) with one lock per packet instead of two. The key is hashed
//! once per packet with a folded-multiply hash under secret random seeds
//! (`hash.rs`): several times cheaper than SipHash, while remote peers
//! still cannot predict collisions; part of the hash picks the shard and
//! the shard's map reuses the rest. A lookup hit allocates nothing and logs
//! nothing. `expire`, `flush` and `dump` walk the shards one at a time and
//! never hold two locks. `Conntrack` is `Send + Sync` and all methods take
//! `&self`.
//!
//! # Not implemented
//!
//! NAT (types are in `hwol_flow::NatAction`; packets asking for it are
//! dropped), ALG helpers (`helper=` is accepted and ignored), fragment
//! reassembly (fragments are `+inv`), L3/L4 checksum verification (left to
//! the netdevs), SCTP's own state machine (SCTP is tracked by ports as an
//! "other" protocol), per-connection packet/byte counters, timeout policies
//! per zone, expectations, and flushing by tuple.
//!
//! # Errors
//!
//! This crate has no error type: nothing in its API can fail. Per-packet
//! problems are `+inv` verdicts or a [`DropReason`], as the house style asks.

#![forbid(unsafe_code)]

mod entry;
mod extract;
mod hash;
mod pseudo;
mod tcp;
mod timeout;
mod tracker;
mod tuple;

#[cfg(test)]
mod tests;

use std::collections::HashMap;

pub use entry::{format_entry, CtEntry, ProtoInfo};
pub use hwol_flow::{CtAction, DropReason};
pub use pseudo::{IcmpState, OtherState};
pub use tcp::TcpState;
pub use timeout::Timeouts;
pub use tracker::Conntrack;
pub use tuple::CtTuple;

/// Default total connection limit, as OVS's userspace datapath.
pub const DEFAULT_MAX_ENTRIES: usize = 3_000_000;

/// Tracker configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CtConfig {
    /// Most connections the table may hold (all zones).
    pub max_entries: usize,
    /// Limit for zones without their own entry in `zone_limits`; `None` or
    /// `Some(0)` means no default limit.
    pub default_zone_limit: Option<usize>,
    /// Per-zone connection limits; 0 admits no new connection.
    pub zone_limits: HashMap<u16, usize>,
    /// Idle timeouts per protocol state.
    pub timeouts: Timeouts,
}

impl Default for CtConfig {
    fn default() -> Self {
        CtConfig {
            max_entries: DEFAULT_MAX_ENTRIES,
            default_zone_limit: None,
            zone_limits: HashMap::new(),
            timeouts: Timeouts::default(),
        }
    }
}

/// What `ct(...)` did with a packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CtOutcome {
    /// The packet continues with this conntrack metadata.
    Tracked(CtVerdict),
    /// The packet must be dropped and counted under this reason.
    Drop(DropReason),
}

/// The conntrack metadata a packet leaves `ct(...)` with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CtVerdict {
    /// `ct_state` bits (see [`hwol_flow::ct_state`]); always has `TRK`.
    pub state: u8,
    /// The zone the packet was tracked in.
    pub zone: u16,
    /// The connection's mark (0 without a connection).
    pub mark: u32,
    /// The connection's label (0 without a connection).
    pub label: u128,
    /// The original-direction tuple: the connection's, or for a packet
    /// without a stored connection its own (uncommitted `+new`, `+inv` after
    /// a successful parse). `None` when the packet could not be parsed.
    pub orig: Option<CtTuple>,
}
