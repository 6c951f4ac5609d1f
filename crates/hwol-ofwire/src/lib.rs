//! The OpenFlow wire protocol, as `ovs-ofctl` speaks it to a bridge.
//!
//! - [`msg`]: messages (header, hello and version negotiation, echo, error,
//!   features, get/set config, barrier, role, flow mod, packet-out,
//!   statistics/multipart) for OpenFlow 1.0 to 1.5, plus the Nicira
//!   extensions `ovs-ofctl` uses over 1.0 (`NXT_SET_FLOW_FORMAT`,
//!   `NXT_FLOW_MOD`, `NXT_FLOW_MOD_TABLE_ID`, `NXT_SET_PACKET_IN_FORMAT`,
//!   `NXT_ROLE_REQUEST`, `NXST_FLOW`, `NXST_AGGREGATE`).
//! - [`nxm`]: the NXM and OXM match encodings, to and from
//!   [`OfMatch`](hwol_openflow::OfMatch); [`of10`]: the OpenFlow 1.0 match.
//! - [`actions`]: actions and instructions, to and from
//!   [`OfAction`](hwol_openflow::OfAction).
//! - [`server`]: the bridge's management socket (`<rundir>/<bridge>.mgmt`)
//!   that serves these messages against a [`server::Bridge`].
//!
//! Everything but [`server`] is a pure codec: bytes in, values out and back,
//! no I/O and no clock. Malformed input gives an [`OfError`] that names the
//! OpenFlow error type and code to answer with; the decoders never panic
//! (the `ofwire_decode` fuzz target checks that, and that what decodes
//! re-encodes to the same value).
//!
//! OpenFlow 1.1 is negotiated but its flow mods and flow statistics are
//! refused (`OFPBRC_BAD_VERSION`): `ovs-ofctl` only uses 1.1 when asked to.

#![forbid(unsafe_code)]

pub mod actions;
pub mod buf;
pub mod error;
pub mod msg;
pub mod nxm;
pub mod of10;
pub mod server;

pub use error::{ErrKind, OfError};
pub use msg::{decode_request, encode_request, FlowMod, FlowModCommand, Frame, MatchFormat, Request, StatsRequest};

/// OpenFlow 1.0.
pub const OFP10: u8 = 0x01;
/// OpenFlow 1.1.
pub const OFP11: u8 = 0x02;
/// OpenFlow 1.2.
pub const OFP12: u8 = 0x03;
/// OpenFlow 1.3.
pub const OFP13: u8 = 0x04;
/// OpenFlow 1.4.
pub const OFP14: u8 = 0x05;
/// OpenFlow 1.5.
pub const OFP15: u8 = 0x06;
