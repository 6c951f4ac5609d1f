//! OpenFlow messages: [`Request`]s a client sends (decoded and encoded, so
//! they round-trip) and the replies a switch sends (encoded, see [`reply`]).
//!
//! A message on the wire is an 8-byte `ofp_header` (version, type, length,
//! xid) and a body. Type numbers differ between OpenFlow 1.0 and 1.1+; the
//! Nicira extensions travel as `OFPT_VENDOR`/`OFPT_EXPERIMENTER` with vendor
//! `0x00002320` and a 32-bit subtype, and as vendor statistics in 1.0.
//!
//! Decoding checks every length before reading and returns an [`OfError`]
//! naming the `OFPET_*` type and code to answer with; it never panics.

use hwol_openflow::{ofp_port, OfAction, OfMatch};

use crate::actions::{decode_actions, decode_instructions, encode_actions, encode_instructions, EncodeCtx, NX_VENDOR};
use crate::buf::{Put, Reader};
use crate::error::{bad_request, flow_mod_failed, OfError};
use crate::nxm::{self, port_from_of11, port_to_of11, Dialect};
use crate::{of10, OFP10, OFP11, OFP12, OFP15};

/// `OFPT_*` numbers shared by every version.
pub mod ofpt {
    /// Hello.
    pub const HELLO: u8 = 0;
    /// Error.
    pub const ERROR: u8 = 1;
    /// Echo request.
    pub const ECHO_REQUEST: u8 = 2;
    /// Echo reply.
    pub const ECHO_REPLY: u8 = 3;
    /// Vendor (1.0) / experimenter (1.1+).
    pub const EXPERIMENTER: u8 = 4;
    /// Features request.
    pub const FEATURES_REQUEST: u8 = 5;
    /// Features reply.
    pub const FEATURES_REPLY: u8 = 6;
    /// Get-config request.
    pub const GET_CONFIG_REQUEST: u8 = 7;
    /// Get-config reply.
    pub const GET_CONFIG_REPLY: u8 = 8;
    /// Set config.
    pub const SET_CONFIG: u8 = 9;
    /// Packet out.
    pub const PACKET_OUT: u8 = 13;
    /// Flow mod.
    pub const FLOW_MOD: u8 = 14;
    /// 1.0 stats request.
    pub const OF10_STATS_REQUEST: u8 = 16;
    /// 1.0 stats reply.
    pub const OF10_STATS_REPLY: u8 = 17;
    /// 1.0 barrier request.
    pub const OF10_BARRIER_REQUEST: u8 = 18;
    /// 1.0 barrier reply.
    pub const OF10_BARRIER_REPLY: u8 = 19;
    /// 1.1+ multipart request.
    pub const MULTIPART_REQUEST: u8 = 18;
    /// 1.1+ multipart reply.
    pub const MULTIPART_REPLY: u8 = 19;
    /// 1.1+ barrier request.
    pub const BARRIER_REQUEST: u8 = 20;
    /// 1.1+ barrier reply.
    pub const BARRIER_REPLY: u8 = 21;
    /// 1.2+ role request.
    pub const ROLE_REQUEST: u8 = 24;
    /// 1.2+ role reply.
    pub const ROLE_REPLY: u8 = 25;
}

/// Nicira message subtypes.
pub mod nxt {
    /// Role request.
    pub const ROLE_REQUEST: u32 = 10;
    /// Role reply.
    pub const ROLE_REPLY: u32 = 11;
    /// Set the flow format (OpenFlow 1.0 or NXM).
    pub const SET_FLOW_FORMAT: u32 = 12;
    /// Flow mod with an NXM match.
    pub const FLOW_MOD: u32 = 13;
    /// Enable the table id in the 1.0 flow-mod command.
    pub const FLOW_MOD_TABLE_ID: u32 = 15;
    /// Set the packet-in format.
    pub const SET_PACKET_IN_FORMAT: u32 = 16;
}

/// Statistics (multipart) types.
pub mod ofpmp {
    /// Switch description.
    pub const DESC: u16 = 0;
    /// Flow statistics.
    pub const FLOW: u16 = 1;
    /// Aggregate flow statistics.
    pub const AGGREGATE: u16 = 2;
    /// Table statistics.
    pub const TABLE: u16 = 3;
    /// Port statistics.
    pub const PORT_STATS: u16 = 4;
    /// Table features (1.3+).
    pub const TABLE_FEATURES: u16 = 12;
    /// Port descriptions.
    pub const PORT_DESC: u16 = 13;
    /// Vendor / experimenter.
    pub const EXPERIMENTER: u16 = 0xffff;
    /// Nicira flow statistics (1.0 vendor stats subtype).
    pub const NXST_FLOW: u32 = 0;
    /// Nicira aggregate statistics.
    pub const NXST_AGGREGATE: u32 = 1;
}

/// How a flow mod or flow-stats request encodes its match.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MatchFormat {
    /// OpenFlow 1.0 `ofp_match`.
    Of10,
    /// Nicira NXM (`NXT_FLOW_MOD`, `NXST_FLOW`, `NXST_AGGREGATE`).
    Nxm,
    /// OpenFlow 1.2+ OXM.
    Oxm,
}

/// Flow mod commands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FlowModCommand {
    /// `OFPFC_ADD`.
    Add,
    /// `OFPFC_MODIFY`.
    Modify,
    /// `OFPFC_MODIFY_STRICT`.
    ModifyStrict,
    /// `OFPFC_DELETE`.
    Delete,
    /// `OFPFC_DELETE_STRICT`.
    DeleteStrict,
}

impl FlowModCommand {
    fn from_wire(c: u8) -> Result<Self, OfError> {
        Ok(match c {
            0 => Self::Add,
            1 => Self::Modify,
            2 => Self::ModifyStrict,
            3 => Self::Delete,
            4 => Self::DeleteStrict,
            n => {
                return Err(OfError::flow_mod(flow_mod_failed::BAD_COMMAND, format!("flow mod command {n} is unknown")))
            }
        })
    }

    fn to_wire(self) -> u8 {
        self as u8
    }

    /// True for the strict forms.
    pub fn is_strict(self) -> bool {
        matches!(self, Self::ModifyStrict | Self::DeleteStrict)
    }
}

/// A decoded flow mod.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FlowMod {
    /// Which encoding it came in (and goes out) as.
    pub format: MatchFormat,
    /// Command.
    pub command: FlowModCommand,
    /// Table (255 = all tables, for modify/delete). In the OpenFlow 1.0 and
    /// NXM forms this is the command's high byte, meaningful only once the
    /// client enabled `NXT_FLOW_MOD_TABLE_ID` (see [`FlowMod::effective_table`]).
    pub table: u8,
    /// The `cookie` field: the new flow's cookie for an add.
    pub cookie: u64,
    /// Cookie filter `(value, mask)` for modify/delete (mask 0 = any).
    pub cookie_match: (u64, u64),
    /// Idle timeout, seconds.
    pub idle_timeout: u16,
    /// Hard timeout, seconds.
    pub hard_timeout: u16,
    /// Priority.
    pub priority: u16,
    /// Buffer id (`0xffffffff` = none; hwol buffers nothing).
    pub buffer_id: u32,
    /// `out_port` filter for delete, hwol numbering (`0xffff` = any).
    pub out_port: u32,
    /// `out_group` filter (1.1+, `0xffffffff` = any).
    pub out_group: u32,
    /// `OFPFF_*` flags.
    pub flags: u16,
    /// Importance (1.4+).
    pub importance: u16,
    /// The match.
    pub matches: OfMatch,
    /// The actions (goto_table last).
    pub actions: Vec<OfAction>,
}

/// Which flows a flow or aggregate statistics request selects.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FlowStatsRequest {
    /// Encoding.
    pub format: MatchFormat,
    /// Table (255 = all).
    pub table: u8,
    /// `out_port` filter, hwol numbering (`0xffff` = any).
    pub out_port: u32,
    /// `out_group` filter.
    pub out_group: u32,
    /// Cookie filter `(value, mask)`.
    pub cookie_match: (u64, u64),
    /// Loose match.
    pub matches: OfMatch,
}

/// A statistics / multipart request body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StatsRequest {
    /// `OFPST_DESC`.
    Desc,
    /// `OFPST_FLOW` / `NXST_FLOW`.
    Flow(FlowStatsRequest),
    /// `OFPST_AGGREGATE` / `NXST_AGGREGATE`.
    Aggregate(FlowStatsRequest),
    /// `OFPST_TABLE`.
    Table,
    /// `OFPST_PORT` for one port or all (`0xffff`).
    Port(u32),
    /// `OFPST_PORT_DESC` (1.5 may name one port).
    PortDesc(u32),
    /// `OFPMP_TABLE_FEATURES` (request without properties only).
    TableFeatures,
}

/// A client-to-switch message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Request {
    /// `OFPT_HELLO`, with the version bitmap if it had one.
    Hello(Option<u32>),
    /// `OFPT_ERROR` (from the client).
    Error {
        /// Type.
        typ: u16,
        /// Code.
        code: u16,
        /// Data.
        data: Vec<u8>,
    },
    /// `OFPT_ECHO_REQUEST`.
    EchoRequest(Vec<u8>),
    /// `OFPT_ECHO_REPLY`.
    EchoReply(Vec<u8>),
    /// `OFPT_FEATURES_REQUEST`.
    FeaturesRequest,
    /// `OFPT_GET_CONFIG_REQUEST`.
    GetConfigRequest,
    /// `OFPT_SET_CONFIG`.
    SetConfig {
        /// `OFPC_FRAG_*` flags.
        flags: u16,
        /// Bytes of a packet to send to the controller.
        miss_send_len: u16,
    },
    /// `OFPT_BARRIER_REQUEST`.
    BarrierRequest,
    /// `OFPT_ROLE_REQUEST` (1.2+) or `NXT_ROLE_REQUEST` (1.0, `nx`).
    RoleRequest {
        /// Nicira form.
        nx: bool,
        /// Role (1.2+ numbering: 0 no change, 1 equal, 2 master, 3 slave).
        role: u32,
        /// Generation id.
        generation_id: u64,
    },
    /// `OFPT_FLOW_MOD` / `NXT_FLOW_MOD`.
    FlowMod(FlowMod),
    /// `OFPT_PACKET_OUT`.
    PacketOut {
        /// Buffer id (must be none).
        buffer_id: u32,
        /// Input port, hwol numbering.
        in_port: u32,
        /// Actions.
        actions: Vec<OfAction>,
        /// The frame.
        data: Vec<u8>,
    },
    /// A statistics / multipart request.
    Stats {
        /// Request flags.
        flags: u16,
        /// Body.
        body: StatsRequest,
    },
    /// `NXT_SET_FLOW_FORMAT` (0 OpenFlow 1.0, 2 NXM).
    SetFlowFormat(u32),
    /// `NXT_SET_PACKET_IN_FORMAT`.
    SetPacketInFormat(u32),
    /// `NXT_FLOW_MOD_TABLE_ID`.
    FlowModTableId(bool),
}

/// One message with its header fields.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Frame<T> {
    /// OpenFlow version of the header.
    pub version: u8,
    /// Transaction id.
    pub xid: u32,
    /// The message.
    pub msg: T,
}

/// Read the header of the message at the start of `buf`: `(version, type,
/// length, xid)`. `None` until 8 bytes are there.
pub fn peek_header(buf: &[u8]) -> Option<(u8, u8, u16, u32)> {
    if buf.len() < 8 {
        return None;
    }
    Some((buf[0], buf[1], u16::from_be_bytes([buf[2], buf[3]]), u32::from_be_bytes([buf[4], buf[5], buf[6], buf[7]])))
}

/// The lowest and highest versions hwol speaks.
pub const VERSIONS: std::ops::RangeInclusive<u8> = OFP10..=OFP15;

/// Decode one complete client message (exactly one `ofp_header` length).
pub fn decode_request(bytes: &[u8]) -> Result<Frame<Request>, OfError> {
    let mut r = Reader::new(bytes, "ofp_header");
    let version = r.u8()?;
    let ty = r.u8()?;
    let len = r.u16()? as usize;
    let xid = r.u32()?;
    if len != bytes.len() || len < 8 {
        return Err(OfError::request(
            bad_request::BAD_LEN,
            format!("header length {len} but message is {} bytes", bytes.len()),
        ));
    }
    let msg = if ty == ofpt::HELLO {
        decode_hello(&mut r)?
    } else if !VERSIONS.contains(&version) {
        return Err(OfError::request(
            bad_request::BAD_VERSION,
            format!("OpenFlow version {version:#04x} is not supported (hwol speaks 0x01-0x06)"),
        ));
    } else {
        decode_body(version, ty, &mut r)?
    };
    Ok(Frame { version, xid, msg })
}

fn decode_hello(r: &mut Reader<'_>) -> Result<Request, OfError> {
    let mut bitmap = None;
    while r.remaining() >= 4 {
        let t = r.u16()?;
        let l = r.u16()? as usize;
        if l < 4 {
            return Err(OfError::new(crate::error::ErrKind::HelloFailed, 0, "hello element shorter than 4 bytes"));
        }
        let body = r.bytes(l - 4)?;
        if t == 1 && body.len() >= 4 {
            bitmap = Some(u32::from_be_bytes([body[0], body[1], body[2], body[3]]));
        }
        r.skip(((8 - l % 8) % 8).min(r.remaining()))?;
    }
    Ok(Request::Hello(bitmap))
}

fn decode_body(version: u8, ty: u8, r: &mut Reader<'_>) -> Result<Request, OfError> {
    let of10 = version == OFP10;
    Ok(match ty {
        ofpt::ERROR => Request::Error { typ: r.u16()?, code: r.u16()?, data: r.rest().to_vec() },
        ofpt::ECHO_REQUEST => Request::EchoRequest(r.rest().to_vec()),
        ofpt::ECHO_REPLY => Request::EchoReply(r.rest().to_vec()),
        ofpt::FEATURES_REQUEST => empty(r, Request::FeaturesRequest)?,
        ofpt::GET_CONFIG_REQUEST => empty(r, Request::GetConfigRequest)?,
        ofpt::SET_CONFIG => {
            let flags = r.u16()?;
            let miss_send_len = r.u16()?;
            empty(r, Request::SetConfig { flags, miss_send_len })?
        }
        ofpt::EXPERIMENTER => decode_vendor(version, r)?,
        ofpt::PACKET_OUT => decode_packet_out(version, r)?,
        ofpt::FLOW_MOD => Request::FlowMod(decode_flow_mod(version, r)?),
        ofpt::OF10_STATS_REQUEST if of10 => decode_stats(version, r)?,
        ofpt::OF10_BARRIER_REQUEST if of10 => empty(r, Request::BarrierRequest)?,
        ofpt::MULTIPART_REQUEST if !of10 => decode_stats(version, r)?,
        ofpt::BARRIER_REQUEST if !of10 => empty(r, Request::BarrierRequest)?,
        ofpt::ROLE_REQUEST if version >= OFP12 => {
            let role = r.u32()?;
            r.skip(4)?;
            let generation_id = r.u64()?;
            empty(r, Request::RoleRequest { nx: false, role, generation_id })?
        }
        t => {
            return Err(OfError::request(
                bad_request::BAD_TYPE,
                format!("message type {t} (OpenFlow {version:#04x}) is not supported by hwol"),
            ))
        }
    })
}

fn empty(r: &mut Reader<'_>, m: Request) -> Result<Request, OfError> {
    if r.is_empty() {
        Ok(m)
    } else {
        Err(OfError::request(bad_request::BAD_LEN, format!("{} trailing bytes", r.remaining())))
    }
}

fn decode_vendor(version: u8, r: &mut Reader<'_>) -> Result<Request, OfError> {
    let vendor = r.u32()?;
    if vendor != NX_VENDOR {
        return Err(OfError::request(bad_request::BAD_EXPERIMENTER, format!("vendor {vendor:#010x} is not supported")));
    }
    let sub = r.u32()?;
    Ok(match sub {
        nxt::SET_FLOW_FORMAT => {
            let f = r.u32()?;
            if f != 0 && f != 2 {
                return Err(OfError::request(
                    bad_request::EPERM,
                    format!("flow format {f} is not supported (0 OpenFlow10, 2 NXM)"),
                ));
            }
            empty(r, Request::SetFlowFormat(f))?
        }
        nxt::SET_PACKET_IN_FORMAT => {
            let f = r.u32()?;
            empty(r, Request::SetPacketInFormat(f))?
        }
        nxt::FLOW_MOD_TABLE_ID => {
            let set = r.u8()?;
            r.skip(7)?;
            empty(r, Request::FlowModTableId(set != 0))?
        }
        nxt::ROLE_REQUEST => {
            let role = r.u32()?;
            if role > 2 {
                return Err(OfError::new(
                    crate::error::ErrKind::RoleRequestFailed,
                    2,
                    format!("Nicira role {role} is unknown"),
                ));
            }
            // Nicira roles: 0 other (equal), 1 master, 2 slave.
            empty(r, Request::RoleRequest { nx: true, role: role + 1, generation_id: u64::MAX })?
        }
        nxt::FLOW_MOD if version == OFP10 => Request::FlowMod(decode_nx_flow_mod(r)?),
        s => {
            return Err(OfError::request(
                bad_request::BAD_EXP_TYPE,
                format!("Nicira message subtype {s} is not supported by hwol"),
            ))
        }
    })
}

fn check_table(table: u8, command: FlowModCommand) -> Result<(), OfError> {
    if table == 255 && command == FlowModCommand::Add {
        return Err(OfError::flow_mod(
            flow_mod_failed::BAD_TABLE_ID,
            "add-flow to table 255 (all tables) is not valid",
        ));
    }
    if table == 254 && command != FlowModCommand::Delete && command != FlowModCommand::DeleteStrict {
        // OVS's hidden table: read-only, refused with OFPBRC_EPERM as OVS does.
        return Err(OfError::request(bad_request::EPERM, "table 254 is read-only (tables are 0-253)"));
    }
    Ok(())
}

impl FlowMod {
    /// The table the flow mod addresses (255 = all), given whether the
    /// connection enabled `NXT_FLOW_MOD_TABLE_ID` (which only matters for
    /// the OpenFlow 1.0 and NXM forms). Errors with `OFPFMFC_BAD_TABLE_ID`
    /// for an add to table 255, `OFPBRC_EPERM` for writes to table 254 (OVS's
    /// hidden, read-only table; hwol offers 0-253).
    pub fn effective_table(&self, table_id_ext: bool) -> Result<u8, OfError> {
        let add = self.command == FlowModCommand::Add;
        let t = match self.format {
            MatchFormat::Oxm => self.table,
            _ if table_id_ext => self.table,
            _ if add => 0,
            _ => 255,
        };
        check_table(t, self.command)?;
        Ok(t)
    }
}

fn decode_flow_mod(version: u8, r: &mut Reader<'_>) -> Result<FlowMod, OfError> {
    if version == OFP10 {
        let matches = of10::decode(r)?;
        let mut fm = decode_of10_flow_mod_fields(r, MatchFormat::Of10)?;
        fm.matches = matches;
        fm.actions = decode_actions(r.rest(), version)?;
        return Ok(fm);
    }
    refuse_of11(version, "flow mods")?;
    let cookie = r.u64()?;
    let cookie_mask = r.u64()?;
    let table = r.u8()?;
    let command = FlowModCommand::from_wire(r.u8()?)?;
    let idle_timeout = r.u16()?;
    let hard_timeout = r.u16()?;
    let priority = r.u16()?;
    let buffer_id = r.u32()?;
    let out_port = port_from_of11(r.u32()?);
    let out_group = r.u32()?;
    let flags = r.u16()?;
    let importance = r.u16()?;
    let matches = nxm::decode_oxm_match(r)?;
    let actions = decode_instructions(r.rest(), version)?;
    Ok(FlowMod {
        format: MatchFormat::Oxm,
        command,
        table,
        cookie,
        cookie_match: if command == FlowModCommand::Add { (0, 0) } else { (cookie & cookie_mask, cookie_mask) },
        idle_timeout,
        hard_timeout,
        priority,
        buffer_id,
        out_port,
        out_group,
        flags,
        importance: if version >= crate::OFP14 { importance } else { 0 },
        matches,
        actions,
    })
}

/// OpenFlow 1.1's match is neither 1.0's nor OXM; hwol does not decode it.
fn refuse_of11(version: u8, what: &str) -> Result<(), OfError> {
    if version == OFP11 {
        return Err(OfError::request(
            bad_request::BAD_VERSION,
            format!("OpenFlow 1.1 {what} are not supported by hwol (use 1.0 or 1.2+)"),
        ));
    }
    Ok(())
}

/// The fields OpenFlow 1.0's flow_mod (after its match) and Nicira's
/// NXT_FLOW_MOD share, in this order: cookie, command (table id in the high
/// byte, as NXT_FLOW_MOD_TABLE_ID allows), timeouts, priority, buffer,
/// out_port, flags. The match and actions are left for the caller.
fn decode_of10_flow_mod_fields(r: &mut Reader<'_>, format: MatchFormat) -> Result<FlowMod, OfError> {
    let cookie = r.u64()?;
    let cmd = r.u16()?;
    // Struct fields are evaluated in the order written: the wire order.
    Ok(FlowMod {
        format,
        command: FlowModCommand::from_wire(cmd as u8)?,
        table: (cmd >> 8) as u8,
        cookie,
        cookie_match: (0, 0),
        idle_timeout: r.u16()?,
        hard_timeout: r.u16()?,
        priority: r.u16()?,
        buffer_id: r.u32()?,
        out_port: r.u16()? as u32,
        out_group: u32::MAX,
        flags: r.u16()?,
        importance: 0,
        matches: OfMatch::default(),
        actions: Vec::new(),
    })
}

fn decode_nx_flow_mod(r: &mut Reader<'_>) -> Result<FlowMod, OfError> {
    let mut fm = decode_of10_flow_mod_fields(r, MatchFormat::Nxm)?;
    let match_len = r.u16()? as usize;
    r.skip(6)?;
    let d = nxm::decode_nxm_match(r, match_len)?;
    fm.cookie_match = d.cookie.map(|(v, m)| (v & m, m)).unwrap_or((0, 0));
    fm.matches = d.matches;
    fm.actions = decode_actions(r.rest(), OFP10)?;
    Ok(fm)
}

fn decode_packet_out(version: u8, r: &mut Reader<'_>) -> Result<Request, OfError> {
    let buffer_id = r.u32()?;
    let (in_port, actions_len) = if version == OFP10 {
        (r.u16()? as u32, r.u16()? as usize)
    } else if version < OFP15 {
        let p = port_from_of11(r.u32()?);
        let l = r.u16()? as usize;
        r.skip(6)?;
        (p, l)
    } else {
        let l = r.u16()? as usize;
        r.skip(2)?;
        let m = nxm::decode_oxm_match(r)?;
        let (p, pm) = m.get(hwol_openflow::Field::InPort);
        let mut rest = m;
        rest.set_masked(hwol_openflow::Field::InPort, 0, 0);
        if rest != OfMatch::catchall() {
            return Err(OfError::request(bad_request::BAD_PORT, "packet-out match may only set in_port"));
        }
        (if pm == 0 { ofp_port::NONE } else { p as u32 }, l)
    };
    let acts = r.bytes(actions_len)?;
    let actions = decode_actions(acts, version)?;
    Ok(Request::PacketOut { buffer_id, in_port, actions, data: r.rest().to_vec() })
}

fn decode_flow_stats_req(version: u8, r: &mut Reader<'_>) -> Result<FlowStatsRequest, OfError> {
    if version == OFP10 {
        let matches = of10::decode(r)?;
        let table = r.u8()?;
        r.skip(1)?;
        let out_port = r.u16()? as u32;
        return Ok(FlowStatsRequest {
            format: MatchFormat::Of10,
            table,
            out_port,
            out_group: u32::MAX,
            cookie_match: (0, 0),
            matches,
        });
    }
    refuse_of11(version, "flow statistics")?;
    let table = r.u8()?;
    r.skip(3)?;
    let out_port = port_from_of11(r.u32()?);
    let out_group = r.u32()?;
    r.skip(4)?;
    let cookie = r.u64()?;
    let cookie_mask = r.u64()?;
    let matches = nxm::decode_oxm_match(r)?;
    Ok(FlowStatsRequest {
        format: MatchFormat::Oxm,
        table,
        out_port,
        out_group,
        cookie_match: (cookie & cookie_mask, cookie_mask),
        matches,
    })
}

fn decode_stats(version: u8, r: &mut Reader<'_>) -> Result<Request, OfError> {
    let ty = r.u16()?;
    let flags = r.u16()?;
    if version != OFP10 {
        r.skip(4)?;
    }
    let body = match ty {
        ofpmp::DESC => StatsRequest::Desc,
        ofpmp::FLOW => StatsRequest::Flow(decode_flow_stats_req(version, r)?),
        ofpmp::AGGREGATE => StatsRequest::Aggregate(decode_flow_stats_req(version, r)?),
        ofpmp::TABLE => StatsRequest::Table,
        ofpmp::PORT_STATS => {
            let p = if version == OFP10 {
                let p = r.u16()? as u32;
                r.skip(6)?;
                p
            } else {
                let p = port_from_of11(r.u32()?);
                r.skip(4)?;
                p
            };
            StatsRequest::Port(p)
        }
        ofpmp::PORT_DESC => {
            let p = if version >= OFP15 {
                let p = port_from_of11(r.u32()?);
                r.skip(4)?;
                p
            } else {
                ofp_port::NONE
            };
            StatsRequest::PortDesc(p)
        }
        ofpmp::TABLE_FEATURES if version >= crate::OFP13 => {
            if !r.is_empty() {
                return Err(OfError::request(bad_request::EPERM, "changing table features is not supported by hwol"));
            }
            StatsRequest::TableFeatures
        }
        ofpmp::EXPERIMENTER if version == OFP10 => {
            let vendor = r.u32()?;
            if vendor != NX_VENDOR {
                return Err(OfError::request(
                    bad_request::BAD_EXPERIMENTER,
                    format!("stats vendor {vendor:#010x} is not supported"),
                ));
            }
            let sub = r.u32()?;
            r.skip(4)?;
            if sub != ofpmp::NXST_FLOW && sub != ofpmp::NXST_AGGREGATE {
                return Err(OfError::request(
                    bad_request::BAD_EXP_TYPE,
                    format!("Nicira stats subtype {sub} is not supported by hwol"),
                ));
            }
            let out_port = r.u16()? as u32;
            let match_len = r.u16()? as usize;
            let table = r.u8()?;
            r.skip(3)?;
            let d = nxm::decode_nxm_match(r, match_len)?;
            let req = FlowStatsRequest {
                format: MatchFormat::Nxm,
                table,
                out_port,
                out_group: u32::MAX,
                cookie_match: d.cookie.map(|(v, m)| (v & m, m)).unwrap_or((0, 0)),
                matches: d.matches,
            };
            if sub == ofpmp::NXST_FLOW {
                StatsRequest::Flow(req)
            } else {
                StatsRequest::Aggregate(req)
            }
        }
        t => {
            return Err(OfError::request(
                bad_request::BAD_MULTIPART,
                format!("statistics type {t} is not supported by hwol"),
            ))
        }
    };
    if !r.is_empty() {
        return Err(OfError::request(
            bad_request::BAD_LEN,
            format!("{} trailing bytes after the statistics request", r.remaining()),
        ));
    }
    Ok(Request::Stats { flags, body })
}

/// Start a message: header with length filled in by [`end`].
pub fn start(out: &mut Vec<u8>, version: u8, ty: u8, xid: u32) -> usize {
    let at = out.len();
    out.put_u8(version);
    out.put_u8(ty);
    out.put_u16(0);
    out.put_u32(xid);
    at
}

/// Finish a message begun by [`start`].
pub fn end(out: &mut Vec<u8>, at: usize) {
    let len = out.len() - at;
    out.set_u16(at + 2, len.min(u16::MAX as usize) as u16);
}

fn nx_header(out: &mut Vec<u8>, version: u8, xid: u32, sub: u32) -> usize {
    let at = start(out, version, ofpt::EXPERIMENTER, xid);
    out.put_u32(NX_VENDOR);
    out.put_u32(sub);
    at
}

fn put_port(out: &mut Vec<u8>, version: u8, p: u32) {
    if version == OFP10 {
        out.put_u16(p as u16);
    } else {
        out.put_u32(port_to_of11(p));
    }
}

fn put_flow_stats_req(out: &mut Vec<u8>, version: u8, q: &FlowStatsRequest) {
    match q.format {
        MatchFormat::Of10 => {
            of10::encode(out, &q.matches);
            out.put_u8(q.table);
            out.put_u8(0);
            out.put_u16(q.out_port as u16);
        }
        MatchFormat::Nxm => {
            out.put_u16(q.out_port as u16);
            let len_at = out.len();
            out.put_u16(0);
            out.put_u8(q.table);
            out.put_zeros(3);
            let ms = out.len();
            let n = nxm::encode_fields(out, &q.matches, Dialect::Nxm, Some(q.cookie_match));
            out.set_u16(len_at, n as u16);
            out.pad8(ms);
        }
        MatchFormat::Oxm => {
            out.put_u8(q.table);
            out.put_zeros(3);
            put_port(out, version, q.out_port);
            out.put_u32(q.out_group);
            out.put_zeros(4);
            out.put_u64(q.cookie_match.0);
            out.put_u64(q.cookie_match.1);
            nxm::encode_oxm_match(out, &q.matches, version);
        }
    }
}

/// Encode a request (the inverse of [`decode_request`]).
pub fn encode_request(f: &Frame<Request>) -> Vec<u8> {
    let (v, xid) = (f.version, f.xid);
    let mut out = Vec::new();
    let of10 = v == OFP10;
    let at = match &f.msg {
        Request::Hello(bitmap) => {
            let at = start(&mut out, v, ofpt::HELLO, xid);
            if let Some(b) = bitmap {
                out.put_u16(1);
                out.put_u16(8);
                out.put_u32(*b);
            }
            at
        }
        Request::Error { typ, code, data } => {
            let at = start(&mut out, v, ofpt::ERROR, xid);
            out.put_u16(*typ);
            out.put_u16(*code);
            out.extend_from_slice(data);
            at
        }
        Request::EchoRequest(d) | Request::EchoReply(d) => {
            let ty = if matches!(f.msg, Request::EchoRequest(_)) { ofpt::ECHO_REQUEST } else { ofpt::ECHO_REPLY };
            let at = start(&mut out, v, ty, xid);
            out.extend_from_slice(d);
            at
        }
        Request::FeaturesRequest => start(&mut out, v, ofpt::FEATURES_REQUEST, xid),
        Request::GetConfigRequest => start(&mut out, v, ofpt::GET_CONFIG_REQUEST, xid),
        Request::SetConfig { flags, miss_send_len } => {
            let at = start(&mut out, v, ofpt::SET_CONFIG, xid);
            out.put_u16(*flags);
            out.put_u16(*miss_send_len);
            at
        }
        Request::BarrierRequest => {
            start(&mut out, v, if of10 { ofpt::OF10_BARRIER_REQUEST } else { ofpt::BARRIER_REQUEST }, xid)
        }
        Request::RoleRequest { nx: true, role, .. } => {
            let at = nx_header(&mut out, v, xid, nxt::ROLE_REQUEST);
            out.put_u32(role.saturating_sub(1));
            at
        }
        Request::RoleRequest { role, generation_id, .. } => {
            let at = start(&mut out, v, ofpt::ROLE_REQUEST, xid);
            out.put_u32(*role);
            out.put_u32(0);
            out.put_u64(*generation_id);
            at
        }
        Request::SetFlowFormat(x) | Request::SetPacketInFormat(x) => {
            let sub = if matches!(f.msg, Request::SetFlowFormat(_)) {
                nxt::SET_FLOW_FORMAT
            } else {
                nxt::SET_PACKET_IN_FORMAT
            };
            let at = nx_header(&mut out, v, xid, sub);
            out.put_u32(*x);
            at
        }
        Request::FlowModTableId(on) => {
            let at = nx_header(&mut out, v, xid, nxt::FLOW_MOD_TABLE_ID);
            out.put_u8(*on as u8);
            out.put_zeros(7);
            at
        }
        Request::FlowMod(fm) => encode_flow_mod(&mut out, v, xid, fm),
        Request::PacketOut { buffer_id, in_port, actions, data } => {
            let at = start(&mut out, v, ofpt::PACKET_OUT, xid);
            out.put_u32(*buffer_id);
            let len_at;
            if of10 {
                out.put_u16(*in_port as u16);
                len_at = out.len();
                out.put_u16(0);
            } else if v < OFP15 {
                out.put_u32(port_to_of11(*in_port));
                len_at = out.len();
                out.put_u16(0);
                out.put_zeros(6);
            } else {
                len_at = out.len();
                out.put_u16(0);
                out.put_u16(0);
                let mut m = OfMatch::catchall();
                if *in_port != ofp_port::NONE {
                    m.set(hwol_openflow::Field::InPort, *in_port as u128);
                }
                nxm::encode_oxm_match(&mut out, &m, v);
            }
            let a0 = out.len();
            encode_actions(&mut out, actions, v, EncodeCtx::default());
            let n = out.len() - a0;
            out.set_u16(len_at, n as u16);
            out.extend_from_slice(data);
            at
        }
        Request::Stats { flags, body } => {
            let ty = if of10 { ofpt::OF10_STATS_REQUEST } else { ofpt::MULTIPART_REQUEST };
            let at = start(&mut out, v, ty, xid);
            let nx_flow = match body {
                StatsRequest::Flow(q) | StatsRequest::Aggregate(q) => q.format == MatchFormat::Nxm,
                _ => false,
            };
            let mp = if nx_flow {
                ofpmp::EXPERIMENTER
            } else {
                match body {
                    StatsRequest::Desc => ofpmp::DESC,
                    StatsRequest::Flow(_) => ofpmp::FLOW,
                    StatsRequest::Aggregate(_) => ofpmp::AGGREGATE,
                    StatsRequest::Table => ofpmp::TABLE,
                    StatsRequest::Port(_) => ofpmp::PORT_STATS,
                    StatsRequest::PortDesc(_) => ofpmp::PORT_DESC,
                    StatsRequest::TableFeatures => ofpmp::TABLE_FEATURES,
                }
            };
            out.put_u16(mp);
            out.put_u16(*flags);
            if !of10 {
                out.put_u32(0);
            }
            match body {
                StatsRequest::Flow(q) | StatsRequest::Aggregate(q) => {
                    if nx_flow {
                        out.put_u32(NX_VENDOR);
                        out.put_u32(if matches!(body, StatsRequest::Flow(_)) {
                            ofpmp::NXST_FLOW
                        } else {
                            ofpmp::NXST_AGGREGATE
                        });
                        out.put_u32(0);
                    }
                    put_flow_stats_req(&mut out, v, q);
                }
                StatsRequest::Port(p) => {
                    put_port(&mut out, v, *p);
                    out.put_zeros(if of10 { 6 } else { 4 });
                }
                StatsRequest::PortDesc(p) if v >= OFP15 => {
                    put_port(&mut out, v, *p);
                    out.put_zeros(4);
                }
                _ => {}
            }
            at
        }
    };
    end(&mut out, at);
    out
}

fn encode_flow_mod(out: &mut Vec<u8>, v: u8, xid: u32, fm: &FlowMod) -> usize {
    let ctx = EncodeCtx::of(&fm.matches);
    let table_byte = fm.table as u16;
    match fm.format {
        MatchFormat::Of10 => {
            let at = start(out, v, ofpt::FLOW_MOD, xid);
            of10::encode(out, &fm.matches);
            out.put_u64(fm.cookie);
            out.put_u16(table_byte << 8 | fm.command.to_wire() as u16);
            out.put_u16(fm.idle_timeout);
            out.put_u16(fm.hard_timeout);
            out.put_u16(fm.priority);
            out.put_u32(fm.buffer_id);
            out.put_u16(fm.out_port as u16);
            out.put_u16(fm.flags);
            encode_actions(out, &fm.actions, v, ctx);
            at
        }
        MatchFormat::Nxm => {
            let at = nx_header(out, v, xid, nxt::FLOW_MOD);
            out.put_u64(fm.cookie);
            out.put_u16(table_byte << 8 | fm.command.to_wire() as u16);
            out.put_u16(fm.idle_timeout);
            out.put_u16(fm.hard_timeout);
            out.put_u16(fm.priority);
            out.put_u32(fm.buffer_id);
            out.put_u16(fm.out_port as u16);
            out.put_u16(fm.flags);
            let len_at = out.len();
            out.put_u16(0);
            out.put_zeros(6);
            let ms = out.len();
            let n = nxm::encode_fields(out, &fm.matches, Dialect::Nxm, Some(fm.cookie_match));
            out.set_u16(len_at, n as u16);
            out.pad8(ms);
            encode_actions(out, &fm.actions, v, ctx);
            at
        }
        MatchFormat::Oxm => {
            let at = start(out, v, ofpt::FLOW_MOD, xid);
            let add = fm.command == FlowModCommand::Add;
            out.put_u64(fm.cookie);
            out.put_u64(if add { 0 } else { fm.cookie_match.1 });
            out.put_u8(fm.table);
            out.put_u8(fm.command.to_wire());
            out.put_u16(fm.idle_timeout);
            out.put_u16(fm.hard_timeout);
            out.put_u16(fm.priority);
            out.put_u32(fm.buffer_id);
            out.put_u32(port_to_of11(fm.out_port));
            out.put_u32(fm.out_group);
            out.put_u16(fm.flags);
            out.put_u16(fm.importance);
            nxm::encode_oxm_match(out, &fm.matches, v);
            encode_instructions(out, &fm.actions, v, ctx);
            at
        }
    }
}

pub mod reply;
