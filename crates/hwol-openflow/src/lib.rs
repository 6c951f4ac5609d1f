//! The OpenFlow vocabulary hwol's control plane speaks.
//!
//! - [`OfKey`] extends the datapath [`FlowKey`](hwol_flow::FlowKey) with the
//!   fields that exist only during OpenFlow translation: registers, the
//!   `metadata` field and `conj_id`. It keeps the datapath part as a prefix,
//!   so the megaflow mask falls out of the translation mask by truncation.
//! - [`OfMatch`] is a masked `OfKey`, built and read field by field through the
//!   [`Field`] registry, which knows every field's ovs-ofctl, NXM and OXM
//!   names, width, maskability and prerequisites.
//! - [`OfAction`] is the OpenFlow action IR (output, NORMAL, resubmit, ct,
//!   set_field/load/move, conjunction, ...).
//! - [`FlowSpec`] is one flow as `ovs-ofctl add-flow` takes it and
//!   [`FlowStatsEntry`] one line of `ovs-ofctl dump-flows`.
//! - [`text`] parses and prints the ovs-ofctl syntax.
//!
//! Port numbers: hwol uses the same number for a port's OpenFlow port and its
//! datapath port, so `in_port` means the same thing at both layers.
//!
//! What this crate does not do: look anything up or translate anything (see
//! `hwol-ofproto`), or speak the OpenFlow wire protocol.

#![forbid(unsafe_code)]

pub mod action;
pub mod field;
pub mod flow;
pub mod key;
pub mod text;

pub use action::{CtZone, OfAction, OfCt, SubField};
pub use field::Field;
pub use flow::{FlowSpec, FlowStatsEntry};
pub use key::{OfKey, OfMatch, OF_WORDS};

/// OpenFlow port numbers with special meaning (OpenFlow 1.0 numbering, as
/// ovs-ofctl prints them).
pub mod ofp_port {
    /// Highest number a physical port may have.
    pub const MAX: u32 = 0xff00;
    /// Send back out of the input port.
    pub const IN_PORT: u32 = 0xfff8;
    /// Submit to the first table (packet-out only).
    pub const TABLE: u32 = 0xfff9;
    /// The L2 learning switch.
    pub const NORMAL: u32 = 0xfffa;
    /// All ports except the input port (and those with flooding disabled).
    pub const FLOOD: u32 = 0xfffb;
    /// All ports except the input port.
    pub const ALL: u32 = 0xfffc;
    /// The controller.
    pub const CONTROLLER: u32 = 0xfffd;
    /// The bridge's local port.
    pub const LOCAL: u32 = 0xfffe;
    /// No port.
    pub const NONE: u32 = 0xffff;
}
