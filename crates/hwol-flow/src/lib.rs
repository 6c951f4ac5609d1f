//! Flow keys, masks, extraction, the datapath action IR and drop reasons.
//!
//! This is the vocabulary every other layer speaks:
//!
//! - [`FlowKey`] is the fixed-layout summary of one packet plus its datapath
//!   metadata (in_port, recirc_id, conntrack state, ...). It is plain old data
//!   so that the classifier can mask and hash it as a slice of `u64` words.
//! - [`FlowMask`] has the same layout; a set bit means "this bit of the key
//!   matters". A megaflow is a `(FlowKey, FlowMask)` pair.
//! - [`extract`](extract::extract) fills a key from packet bytes. It never panics and never
//!   fails on a malformed inner header: it stops parsing and leaves the
//!   deeper fields zero, as OVS does. Only a frame too short to be Ethernet
//!   is rejected, with a [`DropReason`].
//! - [`action`] is the datapath action IR (output, ct, recirc, set, ...).
//!   Executing it is the datapath crate's job; printing and parsing it is the
//!   odp crate's job.
//!
//! What this crate does not do: no I/O, no clocks, no state.

#![forbid(unsafe_code)]

pub mod action;
pub mod drop;
pub mod extract;
pub mod key;

pub use action::{Action, CtAction, Masked, NatAction, NatKind, PortNo, SetAction, UserspaceAction};
pub use drop::DropReason;
pub use extract::{extract, Layout, Metadata};
pub use hwol_wire::EthAddr;
pub use key::{ct_state, nw_frag, FlowKey, FlowMask, VlanHeader, FLOW_WORDS};
