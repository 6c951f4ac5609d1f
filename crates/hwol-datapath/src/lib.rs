//! The software datapath: megaflow lookup, action execution, conntrack and
//! recirculation, with no I/O.
//!
//! # How a packet goes through
//!
//! 1. [`hwol_flow::extract`] builds the packet's [`FlowKey`] from its bytes and
//!    its metadata (in_port, recirc_id, conntrack state).
//! 2. The megaflow table (a tuple-space-search [`Classifier`]) finds the
//!    megaflow whose masked key matches. A miss goes to the slow path through
//!    [`DatapathSink::miss`]; the slow path translates it (ofproto), installs a
//!    megaflow with [`Datapath::flow_put`] and executes the actions itself.
//! 3. The megaflow's actions run on the packet ([`execute`]).
//! 4. `ct(...)` runs the packet through the [`Conntrack`] table and writes the
//!    verdict into the key's metadata; `recirc(id)` then sends the packet back
//!    to step 1 with that metadata and the new recirc id. This is how
//!    `ct(zone=65520),recirc(0x18)` followed by a flow matching
//!    `ct_state(+est+trk),recirc_id(0x18)` works. A recirculation depth limit
//!    stops loops.
//!
//! # Recirculation
//!
//! Recirculation re-extracts the key from the (possibly rewritten) packet but
//! carries the metadata over, exactly like a fresh receive on the same port
//! with `recirc_id` and the conntrack fields pre-set. Recirc ids are allocated
//! by ofproto; the datapath treats them as opaque numbers and only requires
//! that a flow exists for them (otherwise it is an ordinary miss, and the
//! slow path sees the recirculated key).
//!
//! # Threads
//!
//! A [`Datapath`] is shared by reference between handler threads: lookups are
//! lock-free, flow stats are relaxed atomics on the megaflow, conntrack locks
//! internally. `flow_put`/`flow_del` may run concurrently with packet
//! processing.
//!
//! What this crate does not do: read packets from anywhere, translate
//! OpenFlow, or print flows (see `hwol-odp`).

#![forbid(unsafe_code)]

mod datapath;
pub mod execute;
pub mod packet;
pub mod table;

pub use datapath::{
    ufid_of, Datapath, DatapathConfig, DatapathSink, DpStats, FlowStats, Megaflow, PacketFate, MAX_RECIRC_DEPTH,
};
pub use execute::{execute, ActionSink, ExecContext, Forked, Next};
pub use hwol_classifier::Classifier;
pub use hwol_conntrack::Conntrack;
pub use hwol_flow::FlowKey;
pub use packet::Packet;
pub use table::{FlowTable, LinearTable};

/// Errors from flow-table management (never from packet processing).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A flow with the same key and mask exists and `create` was requested.
    #[error("flow already exists (ufid {ufid:032x}); use modify to replace its actions")]
    FlowExists {
        /// The existing flow's ufid.
        ufid: u128,
    },
    /// No flow has this ufid.
    #[error("no flow with ufid {ufid:032x}; dump the flows to see which exist")]
    NoSuchFlow {
        /// The ufid that was asked for.
        ufid: u128,
    },
}
