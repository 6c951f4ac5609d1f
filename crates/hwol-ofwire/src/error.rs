//! Decode errors, each carrying the OpenFlow error (`OFPET_*`/code) the
//! server sends back for it.
//!
//! Codes are kept in OpenFlow 1.2+ numbering ([`ErrKind`] plus the spec's
//! code within that type); [`OfError::wire`] maps them to what an OpenFlow
//! 1.0 peer understands: 1.0 has no `BAD_MATCH`, `BAD_INSTRUCTION` or
//! `ROLE_REQUEST_FAILED` types, so those travel as OVS sends them, as Nicira
//! vendor errors (`NXET_VENDOR`, type `0xb0c2`, wrapping vendor `0x2320` and
//! OVS's extension type/code, e.g. `OFPBMC_BAD_PREREQ` is `(1, 260)`; the
//! numbers were checked with `ovs-ofctl ofp-print`), and the
//! `FLOW_MOD_FAILED` codes are renumbered.

/// The OpenFlow error type an error belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrKind {
    /// `OFPET_HELLO_FAILED`.
    HelloFailed,
    /// `OFPET_BAD_REQUEST`.
    BadRequest,
    /// `OFPET_BAD_ACTION`.
    BadAction,
    /// `OFPET_BAD_INSTRUCTION` (1.1+).
    BadInstruction,
    /// `OFPET_BAD_MATCH` (1.1+).
    BadMatch,
    /// `OFPET_FLOW_MOD_FAILED`.
    FlowModFailed,
    /// `OFPET_SWITCH_CONFIG_FAILED`.
    SwitchConfigFailed,
    /// `OFPET_ROLE_REQUEST_FAILED`.
    RoleRequestFailed,
}

impl ErrKind {
    /// The OpenFlow 1.1+ type number.
    pub fn type_number(self) -> u16 {
        match self {
            ErrKind::HelloFailed => 0,
            ErrKind::BadRequest => 1,
            ErrKind::BadAction => 2,
            ErrKind::BadInstruction => 3,
            ErrKind::BadMatch => 4,
            ErrKind::FlowModFailed => 5,
            ErrKind::SwitchConfigFailed => 10,
            ErrKind::RoleRequestFailed => 11,
        }
    }

    /// The kind for an OpenFlow 1.1+ type number.
    pub fn from_type_number(t: u16) -> Option<Self> {
        Some(match t {
            0 => ErrKind::HelloFailed,
            1 => ErrKind::BadRequest,
            2 => ErrKind::BadAction,
            3 => ErrKind::BadInstruction,
            4 => ErrKind::BadMatch,
            5 => ErrKind::FlowModFailed,
            10 => ErrKind::SwitchConfigFailed,
            11 => ErrKind::RoleRequestFailed,
            _ => return None,
        })
    }
}

/// `OFPBRC_*` codes.
pub mod bad_request {
    /// Version not supported.
    pub const BAD_VERSION: u16 = 0;
    /// Message type not supported.
    pub const BAD_TYPE: u16 = 1;
    /// Multipart (stats) type not supported.
    pub const BAD_MULTIPART: u16 = 2;
    /// Experimenter (vendor) id not supported.
    pub const BAD_EXPERIMENTER: u16 = 3;
    /// Experimenter subtype not supported.
    pub const BAD_EXP_TYPE: u16 = 4;
    /// Permissions error.
    pub const EPERM: u16 = 5;
    /// Wrong length.
    pub const BAD_LEN: u16 = 6;
    /// Buffer id does not exist.
    pub const BUFFER_UNKNOWN: u16 = 8;
    /// Table id not valid.
    pub const BAD_TABLE_ID: u16 = 9;
    /// Port not valid.
    pub const BAD_PORT: u16 = 11;
    /// Packet data not valid.
    pub const BAD_PACKET: u16 = 12;
}

/// `OFPBAC_*` codes.
pub mod bad_action {
    /// Unknown action type.
    pub const BAD_TYPE: u16 = 0;
    /// Wrong length.
    pub const BAD_LEN: u16 = 1;
    /// Unknown experimenter id.
    pub const BAD_EXPERIMENTER: u16 = 2;
    /// Unknown experimenter action subtype.
    pub const BAD_EXP_TYPE: u16 = 3;
    /// Output to an invalid port.
    pub const BAD_OUT_PORT: u16 = 4;
    /// Malformed argument.
    pub const BAD_ARGUMENT: u16 = 5;
    /// Action not allowed in this position.
    pub const UNSUPPORTED_ORDER: u16 = 11;
    /// Unsupported set-field type.
    pub const BAD_SET_TYPE: u16 = 13;
    /// Set-field length wrong.
    pub const BAD_SET_LEN: u16 = 14;
    /// Set-field value invalid.
    pub const BAD_SET_ARGUMENT: u16 = 15;
}

/// `OFPBIC_*` codes.
pub mod bad_instruction {
    /// Unknown instruction.
    pub const UNKNOWN_INST: u16 = 0;
    /// Instruction not supported.
    pub const UNSUP_INST: u16 = 1;
    /// Invalid table id.
    pub const BAD_TABLE_ID: u16 = 2;
    /// Wrong length.
    pub const BAD_LEN: u16 = 7;
}

/// `OFPBMC_*` codes.
pub mod bad_match {
    /// Unsupported match type.
    pub const BAD_TYPE: u16 = 0;
    /// Length problem.
    pub const BAD_LEN: u16 = 1;
    /// Unsupported field.
    pub const BAD_FIELD: u16 = 6;
    /// Unsupported value.
    pub const BAD_VALUE: u16 = 7;
    /// Unsupported mask.
    pub const BAD_MASK: u16 = 8;
    /// A prerequisite was not met.
    pub const BAD_PREREQ: u16 = 9;
    /// A field appears twice.
    pub const DUP_FIELD: u16 = 10;
    /// Value has bits outside its mask.
    pub const BAD_WILDCARDS: u16 = 5;
}

/// `OFPFMFC_*` codes (1.1+ numbering).
pub mod flow_mod_failed {
    /// Unspecified.
    pub const UNKNOWN: u16 = 0;
    /// Table full.
    pub const TABLE_FULL: u16 = 1;
    /// No such table.
    pub const BAD_TABLE_ID: u16 = 2;
    /// Permissions error.
    pub const EPERM: u16 = 4;
    /// Bad command.
    pub const BAD_COMMAND: u16 = 6;
    /// Bad flags.
    pub const BAD_FLAGS: u16 = 7;
}

/// A message that cannot be decoded or carried out, and the OpenFlow error
/// to answer it with. The text says what was wrong, for logs.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{detail} (OpenFlow error {kind:?}, code {code})")]
pub struct OfError {
    /// The error type.
    pub kind: ErrKind,
    /// The code within the type, OpenFlow 1.2+ numbering.
    pub code: u16,
    /// What was wrong.
    pub detail: String,
}

/// The decoders' error type.
pub type DecodeError = OfError;

impl OfError {
    /// An error of `kind`/`code` saying `detail`.
    pub fn new(kind: ErrKind, code: u16, detail: impl Into<String>) -> Self {
        OfError { kind, code, detail: detail.into() }
    }

    /// `OFPET_BAD_REQUEST`.
    pub fn request(code: u16, detail: impl Into<String>) -> Self {
        Self::new(ErrKind::BadRequest, code, detail)
    }

    /// `OFPET_BAD_MATCH`.
    pub fn matching(code: u16, detail: impl Into<String>) -> Self {
        Self::new(ErrKind::BadMatch, code, detail)
    }

    /// `OFPET_BAD_ACTION`.
    pub fn action(code: u16, detail: impl Into<String>) -> Self {
        Self::new(ErrKind::BadAction, code, detail)
    }

    /// `OFPET_BAD_INSTRUCTION`.
    pub fn instruction(code: u16, detail: impl Into<String>) -> Self {
        Self::new(ErrKind::BadInstruction, code, detail)
    }

    /// `OFPET_FLOW_MOD_FAILED`.
    pub fn flow_mod(code: u16, detail: impl Into<String>) -> Self {
        Self::new(ErrKind::FlowModFailed, code, detail)
    }

    /// Input ended early (`OFPBRC_BAD_LEN`).
    #[allow(non_snake_case)]
    pub fn Truncated(what: &'static str, need: usize, have: usize) -> Self {
        Self::request(bad_request::BAD_LEN, format!("{what}: truncated (need {need} more bytes, {have} left)"))
    }

    /// The `(type, code)` pair for a peer speaking `version`, plus, for
    /// OpenFlow 1.0 errors that only exist as Nicira extensions, the
    /// `(type, code)` that goes inside an `NXET_VENDOR` (`0xb0c2`) error.
    pub fn wire(&self, version: u8) -> (u16, u16, Option<(u16, u16)>) {
        if version >= crate::OFP11 {
            return (self.kind.type_number(), self.code, None);
        }
        let std = |t: u16, c: u16| (t, c, None);
        let nx = |t: u16, c: u16| (0xb0c2, 0, Some((t, c)));
        match (self.kind, self.code) {
            (ErrKind::HelloFailed, c) => std(0, c.min(1)),
            (ErrKind::BadRequest, c @ 0..=8) => std(1, c),
            (ErrKind::BadRequest, bad_request::BAD_TABLE_ID) => nx(1, 512),
            (ErrKind::BadRequest, bad_request::BAD_PORT) => nx(1, 514),
            (ErrKind::BadRequest, _) => std(1, bad_request::EPERM),
            (ErrKind::BadAction, c @ 0..=8) => std(2, c),
            (ErrKind::BadAction, 10) => nx(1, 522),
            (ErrKind::BadAction, c @ 13..=15) => nx(1, 510 + c),
            (ErrKind::BadAction, _) => std(2, bad_action::BAD_ARGUMENT),
            (ErrKind::BadInstruction, bad_instruction::BAD_TABLE_ID) => nx(1, 512),
            (ErrKind::BadInstruction, _) => nx(2, 257),
            (
                ErrKind::BadMatch,
                c @ (bad_match::BAD_VALUE | bad_match::BAD_MASK | bad_match::BAD_PREREQ | bad_match::DUP_FIELD),
            ) => nx(1, 251 + c),
            (ErrKind::BadMatch, bad_match::BAD_WILDCARDS) => nx(1, 262),
            (ErrKind::BadMatch, bad_match::BAD_FIELD) => nx(1, 257),
            (ErrKind::BadMatch, _) => nx(1, 256),
            (ErrKind::FlowModFailed, c) => match c {
                flow_mod_failed::TABLE_FULL => std(3, 0),
                3 => std(3, 1),
                flow_mod_failed::EPERM => std(3, 2),
                flow_mod_failed::BAD_COMMAND => std(3, 4),
                flow_mod_failed::BAD_TABLE_ID => nx(1, 512),
                flow_mod_failed::BAD_FLAGS => nx(3, 258),
                _ => std(3, 5),
            },
            (ErrKind::SwitchConfigFailed, _) => std(1, bad_request::EPERM),
            (ErrKind::RoleRequestFailed, 0) => nx(1, 534),
            (ErrKind::RoleRequestFailed, 2) => nx(1, 513),
            (ErrKind::RoleRequestFailed, _) => nx(1, 533),
        }
    }
}
