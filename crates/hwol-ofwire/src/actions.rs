//! Actions and instructions, to and from [`OfAction`].
//!
//! # Decoding
//!
//! OpenFlow 1.0 actions, OpenFlow 1.1+ actions inside `APPLY_ACTIONS` plus
//! the `GOTO_TABLE` instruction, and the Nicira extension actions
//! (`NXAST_*`, experimenter `0x00002320`) hwol's ofproto implements. Each
//! wire action maps to the [`OfAction`] that means the same, e.g.
//! `OFPAT_SET_FIELD` to [`OfAction::SetField`], `NXAST_REG_LOAD` to
//! [`OfAction::Load`], `OFPAT10_SET_DL_SRC` to [`OfAction::ModDlSrc`].
//!
//! # Encoding
//!
//! `ovs-ofctl` prints actions as they were encoded, so encoding follows the
//! choices OVS 3.1 makes per version, and an add followed by a dump in the
//! same version prints what OVS prints:
//!
//! - `set_field`: OpenFlow 1.0 uses the legacy action where one exists
//!   (`mod_dl_src`, `mod_nw_dst`, ...) and `NXAST_REG_LOAD` otherwise; 1.2-1.4
//!   use `OFPAT_SET_FIELD` unless masked (then `NXAST_REG_LOAD`); 1.5 always
//!   `OFPAT_SET_FIELD` (masks allowed). `load` stays `NXAST_REG_LOAD` before
//!   1.5 and becomes a masked `OFPAT_SET_FIELD` in 1.5. Loads wider than 64
//!   bits are split into 64-bit `NXAST_REG_LOAD`s.
//! - `mod_vlan_vid`/`mod_vlan_pcp`: 1.0 legacy actions; 1.2+ a `push_vlan`
//!   (when the flow is not known to have a tag) and a `set_field`.
//! - `goto_table` is an instruction in 1.1+, and `NXAST_RESUBMIT_TABLE` in
//!   1.0 (as OVS does).
//! - `dec_ttl` is `NXAST_DEC_TTL` in 1.0 and `OFPAT_DEC_NW_TTL` in 1.1+.
//! - `move` is `NXAST_REG_MOVE` before 1.5 and `OFPAT_COPY_FIELD` in 1.5.
//!
//! Not supported (decode error `OFPBAC_BAD_TYPE`/`BAD_EXP_TYPE` or
//! `OFPBIC_UNSUP_INST`): groups, meters, queues, MPLS, tunnels, learn,
//! multipath, bundle, clone, sample, controller2, `resubmit(...,ct)`,
//! `write_metadata`, `write_actions`, `clear_actions`, and 1.1-only legacy
//! actions. OpenFlow 1.0 has no encoding of `push_vlan`; it is left out of
//! 1.0 dumps.

use hwol_flow::{EthAddr, NatAction, NatKind};
use hwol_openflow::{ofp_port, CtZone, Field, OfAction, OfCt, OfMatch, SubField};

use crate::buf::{be_uint, Put, Reader};
use crate::error::{bad_action, bad_instruction, OfError};
use crate::nxm::{self, port_from_of11, port_to_of11, Dialect, WireField};
use crate::{OFP10, OFP12, OFP15};

/// The Nicira vendor / experimenter id.
pub const NX_VENDOR: u32 = 0x0000_2320;

/// `OFPAT_*` numbers used here (1.1+ unless marked 1.0).
pub mod ofpat {
    /// Output.
    pub const OUTPUT: u16 = 0;
    /// 1.0: set VLAN id.
    pub const OF10_SET_VLAN_VID: u16 = 1;
    /// 1.0: set VLAN priority.
    pub const OF10_SET_VLAN_PCP: u16 = 2;
    /// 1.0: strip the VLAN tag.
    pub const OF10_STRIP_VLAN: u16 = 3;
    /// 1.0: set Ethernet source.
    pub const OF10_SET_DL_SRC: u16 = 4;
    /// 1.0: set Ethernet destination.
    pub const OF10_SET_DL_DST: u16 = 5;
    /// 1.0: set IPv4 source.
    pub const OF10_SET_NW_SRC: u16 = 6;
    /// 1.0: set IPv4 destination.
    pub const OF10_SET_NW_DST: u16 = 7;
    /// 1.0: set IP TOS (DSCP bits).
    pub const OF10_SET_NW_TOS: u16 = 8;
    /// 1.0: set L4 source port.
    pub const OF10_SET_TP_SRC: u16 = 9;
    /// 1.0: set L4 destination port.
    pub const OF10_SET_TP_DST: u16 = 10;
    /// Push a VLAN tag.
    pub const PUSH_VLAN: u16 = 17;
    /// Pop a VLAN tag.
    pub const POP_VLAN: u16 = 18;
    /// Decrement the IP TTL.
    pub const DEC_NW_TTL: u16 = 24;
    /// Set a field (OXM).
    pub const SET_FIELD: u16 = 25;
    /// Copy bits between fields (1.5).
    pub const COPY_FIELD: u16 = 28;
    /// Experimenter / vendor.
    pub const EXPERIMENTER: u16 = 0xffff;
}

/// `NXAST_*` subtypes used here.
pub mod nxast {
    /// `resubmit:port`.
    pub const RESUBMIT: u16 = 1;
    /// Register move.
    pub const REG_MOVE: u16 = 6;
    /// Register load.
    pub const REG_LOAD: u16 = 7;
    /// Note.
    pub const NOTE: u16 = 8;
    /// `resubmit(port,table)`.
    pub const RESUBMIT_TABLE: u16 = 14;
    /// Output to the port in a field.
    pub const OUTPUT_REG: u16 = 15;
    /// Decrement TTL.
    pub const DEC_TTL: u16 = 18;
    /// Write metadata (1.0).
    pub const WRITE_METADATA: u16 = 22;
    /// Output to a field, OXM header.
    pub const OUTPUT_REG2: u16 = 32;
    /// Register load with an OXM header.
    pub const REG_LOAD2: u16 = 33;
    /// Conjunction clause.
    pub const CONJUNCTION: u16 = 34;
    /// Conntrack.
    pub const CT: u16 = 35;
    /// NAT inside ct.
    pub const NAT: u16 = 36;
    /// Clear conntrack state.
    pub const CT_CLEAR: u16 = 43;
}

/// `OFPIT_*` instruction types.
pub mod ofpit {
    /// Goto table.
    pub const GOTO_TABLE: u16 = 1;
    /// Write metadata.
    pub const WRITE_METADATA: u16 = 2;
    /// Write actions.
    pub const WRITE_ACTIONS: u16 = 3;
    /// Apply actions.
    pub const APPLY_ACTIONS: u16 = 4;
    /// Clear actions.
    pub const CLEAR_ACTIONS: u16 = 5;
    /// Meter (1.3-1.4).
    pub const METER: u16 = 6;
}

fn bad_len(what: &str, len: usize) -> OfError {
    OfError::action(bad_action::BAD_LEN, format!("{what}: length {len} is wrong"))
}

fn port_from_wire(version: u8, p: u32) -> u32 {
    if version == OFP10 {
        p & 0xffff
    } else {
        port_from_of11(p)
    }
}

fn ofs_nbits(v: u16) -> (u16, u16) {
    (v >> 6, (v & 0x3f) + 1)
}

fn subfield_from(header: u32, ofs: u16, n_bits: u16, what: &str) -> Result<SubField, OfError> {
    let class = (header >> 16) as u16;
    let field = ((header >> 9) & 0x7f) as u8;
    let w = nxm::lookup(class, field, None).filter(|w| w.conv == nxm::Conv::Plain).ok_or_else(|| {
        OfError::action(bad_action::BAD_ARGUMENT, format!("{what}: field {header:#010x} is not supported"))
    })?;
    let sf = SubField { field: w.of, ofs, n_bits };
    if !sf.is_valid() || ofs as u32 + n_bits as u32 > w.len as u32 * 8 {
        return Err(OfError::action(
            bad_action::BAD_ARGUMENT,
            format!("{what}: bits {ofs}..{} do not fit in {}", u32::from(ofs) + u32::from(n_bits), w.of.name()),
        ));
    }
    Ok(sf)
}

fn sub_header(sf: &SubField) -> Option<WireField> {
    nxm::subfield_header(sf.field, None)
}

fn mac(v: u128) -> EthAddr {
    let b = (v as u64).to_be_bytes();
    EthAddr([b[2], b[3], b[4], b[5], b[6], b[7]])
}

fn mac_u128(m: &EthAddr) -> u128 {
    be_uint(&m.0)
}

/// Decode an action list of `version` (1.0 or 1.1+ `APPLY_ACTIONS` content).
pub fn decode_actions(bytes: &[u8], version: u8) -> Result<Vec<OfAction>, OfError> {
    let mut out = Vec::new();
    let mut r = Reader::new(bytes, "action");
    while !r.is_empty() {
        let ty = r.u16()?;
        let len = r.u16()? as usize;
        if len < 8 || !len.is_multiple_of(8) || len - 4 > r.remaining() {
            return Err(bad_len(&format!("action type {ty}"), len));
        }
        let body = r.bytes(len - 4)?;
        decode_one(ty, body, version, &mut out)?;
    }
    Ok(out)
}

fn decode_one(ty: u16, body: &[u8], version: u8, out: &mut Vec<OfAction>) -> Result<(), OfError> {
    let mut b = Reader::new(body, "action");
    let len = body.len() + 4;
    let want = |n: usize| if len == n { Ok(()) } else { Err(bad_len(&format!("action type {ty}"), len)) };
    if ty == ofpat::EXPERIMENTER {
        return decode_nx(&mut b, version, out);
    }
    if ty == ofpat::OUTPUT {
        let port = if version == OFP10 {
            want(8)?;
            b.u16()? as u32
        } else {
            want(16)?;
            b.u32()?
        };
        let p = port_from_wire(version, port);
        if p == 0 || p == ofp_port::NONE {
            return Err(OfError::action(bad_action::BAD_OUT_PORT, format!("output to port {p:#x} is not valid")));
        }
        out.push(OfAction::output_to(p));
        return Ok(());
    }
    if version == OFP10 {
        want(if matches!(ty, ofpat::OF10_SET_DL_SRC | ofpat::OF10_SET_DL_DST) { 16 } else { 8 })?;
        let a = match ty {
            ofpat::OF10_SET_VLAN_VID => {
                let v = b.u16()?;
                if v > 0xfff {
                    return Err(OfError::action(bad_action::BAD_ARGUMENT, format!("set_vlan_vid {v} > 4095")));
                }
                OfAction::ModVlanVid(v)
            }
            ofpat::OF10_SET_VLAN_PCP => {
                let v = b.u8()?;
                if v > 7 {
                    return Err(OfError::action(bad_action::BAD_ARGUMENT, format!("set_vlan_pcp {v} > 7")));
                }
                OfAction::ModVlanPcp(v)
            }
            ofpat::OF10_STRIP_VLAN => OfAction::PopVlan,
            ofpat::OF10_SET_DL_SRC => OfAction::ModDlSrc(mac(b.uint(6)?)),
            ofpat::OF10_SET_DL_DST => OfAction::ModDlDst(mac(b.uint(6)?)),
            ofpat::OF10_SET_NW_SRC => {
                OfAction::SetField { field: Field::IpSrc, value: b.u32()? as u128, mask: 0xffff_ffff }
            }
            ofpat::OF10_SET_NW_DST => {
                OfAction::SetField { field: Field::IpDst, value: b.u32()? as u128, mask: 0xffff_ffff }
            }
            ofpat::OF10_SET_NW_TOS => {
                let v = b.u8()?;
                if v & 3 != 0 {
                    return Err(OfError::action(bad_action::BAD_ARGUMENT, format!("set_nw_tos {v:#x} sets ECN bits")));
                }
                OfAction::SetField { field: Field::NwTos, value: v as u128, mask: 0xfc }
            }
            ofpat::OF10_SET_TP_SRC => OfAction::SetField { field: Field::TpSrc, value: b.u16()? as u128, mask: 0xffff },
            ofpat::OF10_SET_TP_DST => OfAction::SetField { field: Field::TpDst, value: b.u16()? as u128, mask: 0xffff },
            _ => {
                return Err(OfError::action(
                    bad_action::BAD_TYPE,
                    format!("OpenFlow 1.0 action type {ty} is not supported"),
                ))
            }
        };
        out.push(a);
        return Ok(());
    }
    match ty {
        ofpat::PUSH_VLAN => {
            want(8)?;
            let t = b.u16()?;
            if t != 0x8100 && t != 0x88a8 {
                return Err(OfError::action(bad_action::BAD_ARGUMENT, format!("push_vlan ethertype {t:#06x}")));
            }
            out.push(OfAction::PushVlan(t));
        }
        ofpat::POP_VLAN => {
            want(8)?;
            out.push(OfAction::PopVlan);
        }
        ofpat::DEC_NW_TTL => {
            want(8)?;
            out.push(OfAction::DecTtl);
        }
        ofpat::COPY_FIELD if version >= OFP15 => {
            let n_bits = b.u16()?;
            let src_ofs = b.u16()?;
            let dst_ofs = b.u16()?;
            b.skip(2)?;
            let src = subfield_from(b.u32()?, src_ofs, n_bits, "copy_field source")?;
            let dst = subfield_from(b.u32()?, dst_ofs, n_bits, "copy_field destination")?;
            out.push(OfAction::Move { src, dst });
        }
        ofpat::SET_FIELD if version >= OFP12 => {
            let t = nxm::read_tlv(&mut b).map_err(|e| OfError::action(bad_action::BAD_SET_TYPE, e.detail))?;
            if t.has_mask && version < OFP15 {
                return Err(OfError::action(bad_action::BAD_SET_ARGUMENT, "masked set_field needs OpenFlow 1.5"));
            }
            if !b.rest().iter().all(|x| *x == 0) {
                return Err(OfError::action(bad_action::BAD_SET_LEN, "set_field padding is not zero"));
            }
            if t.wire.conv == nxm::Conv::Cookie {
                return Err(OfError::action(bad_action::BAD_SET_TYPE, "set_field cannot set the cookie"));
            }
            let (v, m) = nxm::to_field(&t.wire, t.value, t.mask);
            let f = t.wire.of;
            if v & !f.all_ones() != 0 {
                return Err(OfError::action(
                    bad_action::BAD_SET_ARGUMENT,
                    format!("set_field {}: value {v:#x} out of range", f.name()),
                ));
            }
            // An unmasked set_field sets the whole field, even when the wire
            // field is narrower than hwol's (NXM_OF_IN_PORT is 16 bits).
            let whole = !t.has_mask && t.wire.conv == nxm::Conv::Plain;
            let m = if whole { f.all_ones() } else { m & f.all_ones() };
            out.push(OfAction::SetField { field: f, value: v & m, mask: m });
        }
        _ => return Err(OfError::action(bad_action::BAD_TYPE, format!("action type {ty} is not supported by hwol"))),
    }
    Ok(())
}

fn decode_nx(b: &mut Reader<'_>, version: u8, out: &mut Vec<OfAction>) -> Result<(), OfError> {
    let len = b.remaining() + 4;
    let vendor = b.u32()?;
    if vendor != NX_VENDOR {
        return Err(OfError::action(
            bad_action::BAD_EXPERIMENTER,
            format!("experimenter {vendor:#010x} is not supported"),
        ));
    }
    let sub = b.u16()?;
    let want = |n: usize| if len == n { Ok(()) } else { Err(bad_len(&format!("NXAST subtype {sub}"), len)) };
    let a = match sub {
        nxast::RESUBMIT | nxast::RESUBMIT_TABLE => {
            want(16)?;
            let port = b.u16()? as u32;
            let table = b.u8()?;
            let in_port = (port != ofp_port::IN_PORT).then_some(port);
            let table = (sub == nxast::RESUBMIT_TABLE && table != 255).then_some(table);
            OfAction::Resubmit { in_port, table }
        }
        nxast::REG_MOVE => {
            want(24)?;
            let n_bits = b.u16()?;
            let src_ofs = b.u16()?;
            let dst_ofs = b.u16()?;
            let src = subfield_from(b.u32()?, src_ofs, n_bits, "move source")?;
            let dst = subfield_from(b.u32()?, dst_ofs, n_bits, "move destination")?;
            OfAction::Move { src, dst }
        }
        nxast::REG_LOAD => {
            want(24)?;
            let (ofs, n_bits) = ofs_nbits(b.u16()?);
            let dst = subfield_from(b.u32()?, ofs, n_bits, "load")?;
            let value = b.u64()? as u128;
            if n_bits < 64 && value >> n_bits != 0 {
                return Err(OfError::action(
                    bad_action::BAD_ARGUMENT,
                    format!("load: value {value:#x} wider than {n_bits} bits"),
                ));
            }
            OfAction::Load { dst, value }
        }
        nxast::REG_LOAD2 => {
            let t = nxm::read_tlv(b).map_err(|e| OfError::action(bad_action::BAD_SET_TYPE, e.detail))?;
            if t.wire.conv == nxm::Conv::Cookie {
                return Err(OfError::action(bad_action::BAD_SET_TYPE, "cannot load the cookie"));
            }
            let (v, m) = nxm::to_field(&t.wire, t.value, t.mask);
            OfAction::SetField { field: t.wire.of, value: v & m, mask: m & t.wire.of.all_ones() }
        }
        nxast::NOTE => OfAction::Note(b.rest().to_vec()),
        nxast::OUTPUT_REG => {
            want(24)?;
            let (ofs, n_bits) = ofs_nbits(b.u16()?);
            let src = subfield_from(b.u32()?, ofs, n_bits, "output")?;
            OfAction::OutputReg(src)
        }
        nxast::DEC_TTL => {
            want(16)?;
            OfAction::DecTtl
        }
        nxast::CT_CLEAR => {
            want(16)?;
            OfAction::CtClear
        }
        nxast::CONJUNCTION => {
            want(16)?;
            let clause = b.u8()?;
            let n = b.u8()?;
            let id = b.u32()?;
            if !(2..=64).contains(&n) || clause >= n {
                return Err(OfError::action(bad_action::BAD_ARGUMENT, format!("conjunction clause {clause} of {n}")));
            }
            OfAction::Conjunction { id, clause: clause + 1, n_clauses: n }
        }
        nxast::CT => decode_ct(b, version)?,
        nxast::NAT => return Err(OfError::action(bad_action::UNSUPPORTED_ORDER, "nat is only valid inside ct(...)")),
        _ => {
            return Err(OfError::action(
                bad_action::BAD_EXP_TYPE,
                format!("Nicira action subtype {sub} is not supported by hwol"),
            ))
        }
    };
    out.push(a);
    Ok(())
}

fn decode_ct(b: &mut Reader<'_>, version: u8) -> Result<OfAction, OfError> {
    let flags = b.u16()?;
    let zone_src = b.u32()?;
    let zone_v = b.u16()?;
    let table = b.u8()?;
    b.skip(3)?;
    let alg = b.u16()?;
    let zone = if zone_src == 0 {
        CtZone::Imm(zone_v)
    } else {
        let (ofs, n) = ofs_nbits(zone_v);
        CtZone::Field(subfield_from(zone_src, ofs, n, "ct zone")?)
    };
    if flags & !3 != 0 {
        return Err(OfError::action(bad_action::BAD_ARGUMENT, format!("ct flags {flags:#x} not supported")));
    }
    let mut ct = OfCt {
        commit: flags & 1 != 0,
        force: flags & 2 != 0,
        zone,
        table: (table != 255).then_some(table),
        exec: Vec::new(),
        nat: None,
        alg: match alg {
            0 => None,
            21 => Some("ftp".into()),
            69 => Some("tftp".into()),
            n => return Err(OfError::action(bad_action::BAD_ARGUMENT, format!("ct alg {n} not supported"))),
        },
    };
    let nested = b.rest();
    let mut r = Reader::new(nested, "ct action");
    while !r.is_empty() {
        let ty = r.u16()?;
        let len = r.u16()? as usize;
        if len < 8 || !len.is_multiple_of(8) || len - 4 > r.remaining() {
            return Err(bad_len("ct nested action", len));
        }
        let body = r.bytes(len - 4)?;
        let mut br = Reader::new(body, "ct nested action");
        if ty == ofpat::EXPERIMENTER
            && body.len() >= 6
            && be_uint(&body[..4]) == NX_VENDOR as u128
            && be_uint(&body[4..6]) == nxast::NAT as u128
        {
            br.skip(6)?;
            ct.nat = Some(decode_nat(&mut br)?);
            continue;
        }
        let mut acts = Vec::new();
        decode_one(ty, body, version, &mut acts)?;
        for a in acts {
            let ok = match &a {
                OfAction::SetField { field, .. } => matches!(field, Field::CtMark | Field::CtLabel),
                OfAction::Load { dst, .. } => matches!(dst.field, Field::CtMark | Field::CtLabel),
                _ => false,
            };
            if !ok {
                return Err(OfError::action(
                    bad_action::UNSUPPORTED_ORDER,
                    "ct(exec(...)) may only set ct_mark or ct_label",
                ));
            }
            ct.exec.push(a);
        }
    }
    Ok(OfAction::Ct(ct))
}

fn decode_nat(b: &mut Reader<'_>) -> Result<NatAction, OfError> {
    b.skip(2)?;
    let flags = b.u16()?;
    let present = b.u16()?;
    let mut nat = NatAction {
        kind: match flags & 3 {
            0 => None,
            1 => Some(NatKind::Src),
            2 => Some(NatKind::Dst),
            _ => return Err(OfError::action(bad_action::BAD_ARGUMENT, "nat: both src and dst")),
        },
        addrs: None,
        ports: None,
        random: flags & 16 != 0,
        persistent: flags & 4 != 0,
        hash: flags & 8 != 0,
    };
    use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
    if present & 1 != 0 {
        let lo = Ipv4Addr::from(b.u32()?);
        let hi = if present & 2 != 0 { Ipv4Addr::from(b.u32()?) } else { lo };
        nat.addrs = Some((IpAddr::V4(lo), IpAddr::V4(hi)));
    } else if present & 4 != 0 {
        let lo = Ipv6Addr::from(b.uint(16)?);
        let hi = if present & 8 != 0 { Ipv6Addr::from(b.uint(16)?) } else { lo };
        nat.addrs = Some((IpAddr::V6(lo), IpAddr::V6(hi)));
    }
    if present & 16 != 0 {
        let lo = b.u16()?;
        let hi = if present & 32 != 0 { b.u16()? } else { lo };
        nat.ports = Some((lo, hi));
    }
    Ok(nat)
}

/// Decode OpenFlow 1.1+ instructions into one action list: `APPLY_ACTIONS`
/// content, then `GOTO_TABLE` last.
pub fn decode_instructions(bytes: &[u8], version: u8) -> Result<Vec<OfAction>, OfError> {
    let mut r = Reader::new(bytes, "instruction");
    let mut acts = Vec::new();
    let mut goto = None;
    let mut seen_apply = false;
    while !r.is_empty() {
        let ty = r.u16()?;
        let len = r.u16()? as usize;
        if len < 8 || !len.is_multiple_of(8) || len - 4 > r.remaining() {
            return Err(OfError::instruction(
                bad_instruction::BAD_LEN,
                format!("instruction type {ty}: length {len} is wrong"),
            ));
        }
        let mut b = Reader::new(r.bytes(len - 4)?, "instruction");
        match ty {
            ofpit::APPLY_ACTIONS if !seen_apply => {
                seen_apply = true;
                b.skip(4)?;
                acts = decode_actions(b.rest(), version)?;
            }
            ofpit::GOTO_TABLE if goto.is_none() => {
                if len != 8 {
                    return Err(OfError::instruction(bad_instruction::BAD_LEN, "goto_table length must be 8"));
                }
                let t = b.u8()?;
                if t == 255 {
                    return Err(OfError::instruction(bad_instruction::BAD_TABLE_ID, "goto_table:255"));
                }
                goto = Some(t);
            }
            ofpit::WRITE_ACTIONS | ofpit::CLEAR_ACTIONS | ofpit::WRITE_METADATA | ofpit::METER => {
                return Err(OfError::instruction(
                    bad_instruction::UNSUP_INST,
                    format!("instruction type {ty} (write_actions/clear_actions/write_metadata/meter) is not supported by hwol"),
                ))
            }
            ofpit::APPLY_ACTIONS | ofpit::GOTO_TABLE => {
                return Err(OfError::instruction(bad_instruction::UNSUP_INST, format!("instruction type {ty} appears twice")))
            }
            _ => return Err(OfError::instruction(bad_instruction::UNKNOWN_INST, format!("instruction type {ty} is unknown"))),
        }
    }
    acts.extend(goto.map(OfAction::GotoTable));
    Ok(acts)
}

/// What the encoder knows about the flow the actions belong to.
#[derive(Clone, Copy, Debug, Default)]
pub struct EncodeCtx {
    /// `nw_proto`, when the match fixes it (picks `tcp_src` vs `udp_src`).
    pub nw_proto: Option<u8>,
    /// Whether the packet is known to carry a VLAN tag.
    pub has_vlan: bool,
}

impl EncodeCtx {
    /// The context a flow's match gives.
    pub fn of(m: &OfMatch) -> Self {
        let (p, pm) = m.get(Field::IpProto);
        let (v, vm) = m.get(Field::VlanTci);
        EncodeCtx { nw_proto: (pm != 0).then_some(p as u8), has_vlan: vm & 0x1000 != 0 && v & 0x1000 != 0 }
    }
}

fn nx_start(out: &mut Vec<u8>, sub: u16) -> usize {
    let at = out.len();
    out.put_u16(ofpat::EXPERIMENTER);
    out.put_u16(0);
    out.put_u32(NX_VENDOR);
    out.put_u16(sub);
    at
}

fn finish(out: &mut Vec<u8>, at: usize) {
    out.pad8(at);
    let len = (out.len() - at) as u16;
    out.set_u16(at + 2, len);
}

fn put_output(out: &mut Vec<u8>, version: u8, port: u32) {
    let max_len = if port == ofp_port::CONTROLLER { 0xffff } else { 0 };
    out.put_u16(ofpat::OUTPUT);
    if version == OFP10 {
        out.put_u16(8);
        out.put_u16(port as u16);
        out.put_u16(max_len);
    } else {
        out.put_u16(16);
        out.put_u32(port_to_of11(port));
        out.put_u16(max_len);
        out.put_zeros(6);
    }
}

fn put_reg_load(out: &mut Vec<u8>, w: &WireField, ofs: u16, n_bits: u16, value: u128) {
    let at = nx_start(out, nxast::REG_LOAD);
    out.put_u16((ofs << 6) | (n_bits - 1));
    out.put_u32(w.header());
    out.put_u64(value as u64);
    finish(out, at);
}

/// `load` of `value` (field space, already shifted to `mask`) into the
/// bits of `mask`: one `NXAST_REG_LOAD` per contiguous run, at most 64 bits each.
fn put_loads(out: &mut Vec<u8>, w: &WireField, value: u128, mask: u128) {
    let mut m = mask;
    while m != 0 {
        let ofs = m.trailing_zeros() as u16;
        let run = ((m >> ofs).trailing_ones() as u16).min(64);
        let v = (value >> ofs) & if run >= 128 { u128::MAX } else { (1u128 << run) - 1 };
        put_reg_load(out, w, ofs, run, v);
        let cleared = if run as u32 + ofs as u32 >= 128 { 0 } else { m & !(((1u128 << run) - 1) << ofs) };
        m = cleared;
    }
}

fn put_set_field(out: &mut Vec<u8>, w: &WireField, value: u128, mask: u128) {
    let at = out.len();
    out.put_u16(ofpat::SET_FIELD);
    out.put_u16(0);
    crate::nxm::write_tlv(out, w, value, mask);
    finish(out, at);
}

/// Encode `actions` as a `version` action list (no instructions).
pub fn encode_actions(out: &mut Vec<u8>, actions: &[OfAction], version: u8, ctx: EncodeCtx) {
    let mut cx = ctx;
    for a in actions {
        encode_one(out, a, version, &mut cx);
    }
}

fn encode_set(out: &mut Vec<u8>, field: Field, value: u128, mask: u128, version: u8, cx: &EncodeCtx) {
    let full = field.all_ones();
    let mask = mask & full;
    if version == OFP10 && mask == full {
        let legacy: Option<(u16, usize)> = match field {
            Field::EthSrc => Some((ofpat::OF10_SET_DL_SRC, 6)),
            Field::EthDst => Some((ofpat::OF10_SET_DL_DST, 6)),
            Field::IpSrc => Some((ofpat::OF10_SET_NW_SRC, 4)),
            Field::IpDst => Some((ofpat::OF10_SET_NW_DST, 4)),
            Field::NwTos => Some((ofpat::OF10_SET_NW_TOS, 1)),
            Field::TpSrc => Some((ofpat::OF10_SET_TP_SRC, 2)),
            Field::TpDst => Some((ofpat::OF10_SET_TP_DST, 2)),
            _ => None,
        };
        if let Some((ty, n)) = legacy {
            let at = out.len();
            out.put_u16(ty);
            out.put_u16(0);
            out.put_uint(value, n);
            finish(out, at);
            return;
        }
    }
    let dialect = if version >= OFP12 { Dialect::Oxm(version) } else { Dialect::Nxm };
    let use_set_field = version >= OFP15
        || (version >= OFP12 && (mask == full || (field == Field::VlanTci && (mask == 0x1fff || mask == 0xe000))));
    if use_set_field {
        if let Some(w) = nxm::set_field_header(field, mask, dialect, cx.nw_proto) {
            let (v, m) = nxm::from_field(&w, value, mask);
            put_set_field(out, &w, v, m);
            return;
        }
    }
    if let Some(w) = nxm::subfield_header(field, cx.nw_proto) {
        put_loads(out, &w, value, mask);
    }
}

fn encode_one(out: &mut Vec<u8>, a: &OfAction, version: u8, cx: &mut EncodeCtx) {
    match a {
        OfAction::Output(p) => put_output(out, version, *p),
        OfAction::InPort => put_output(out, version, ofp_port::IN_PORT),
        OfAction::Normal => put_output(out, version, ofp_port::NORMAL),
        OfAction::Flood => put_output(out, version, ofp_port::FLOOD),
        OfAction::All => put_output(out, version, ofp_port::ALL),
        OfAction::Local => put_output(out, version, ofp_port::LOCAL),
        OfAction::Controller => put_output(out, version, ofp_port::CONTROLLER),
        OfAction::Drop => {}
        OfAction::OutputReg(sf) => {
            if let Some(w) = sub_header(sf) {
                let at = nx_start(out, nxast::OUTPUT_REG);
                out.put_u16((sf.ofs << 6) | (sf.n_bits - 1));
                out.put_u32(w.header());
                out.put_u16(0);
                out.put_zeros(6);
                finish(out, at);
            }
        }
        OfAction::Resubmit { in_port, table } => {
            let sub = if table.is_some() { nxast::RESUBMIT_TABLE } else { nxast::RESUBMIT };
            let at = nx_start(out, sub);
            out.put_u16(in_port.unwrap_or(ofp_port::IN_PORT) as u16);
            out.put_u8(table.unwrap_or(255));
            out.put_zeros(3);
            finish(out, at);
        }
        OfAction::GotoTable(t) => {
            // Only reached for 1.0 (1.1+ encodes it as an instruction).
            let at = nx_start(out, nxast::RESUBMIT_TABLE);
            out.put_u16(ofp_port::IN_PORT as u16);
            out.put_u8(*t);
            out.put_zeros(3);
            finish(out, at);
        }
        OfAction::Ct(ct) => {
            let at = nx_start(out, nxast::CT);
            out.put_u16(ct.commit as u16 | (ct.force as u16) << 1);
            match ct.zone {
                CtZone::Imm(z) => {
                    out.put_u32(0);
                    out.put_u16(z);
                }
                CtZone::Field(sf) => {
                    out.put_u32(sub_header(&sf).map(|w| w.header()).unwrap_or(0));
                    out.put_u16((sf.ofs << 6) | (sf.n_bits - 1));
                }
            }
            out.put_u8(ct.table.unwrap_or(255));
            out.put_zeros(3);
            out.put_u16(match ct.alg.as_deref() {
                Some("ftp") => 21,
                Some("tftp") => 69,
                _ => 0,
            });
            if let Some(nat) = &ct.nat {
                encode_nat(out, nat);
            }
            let mut inner = *cx;
            for e in &ct.exec {
                encode_one(out, e, version, &mut inner);
            }
            finish(out, at);
        }
        OfAction::CtClear => {
            let at = nx_start(out, nxast::CT_CLEAR);
            finish(out, at);
        }
        OfAction::SetField { field, value, mask } => {
            encode_set(out, *field, *value, *mask, version, cx);
            if *field == Field::VlanTci && mask & 0x1000 != 0 {
                cx.has_vlan = value & 0x1000 != 0;
            }
        }
        OfAction::Load { dst, value } => {
            if let Some(w) = nxm::subfield_header(dst.field, cx.nw_proto) {
                let v = value << dst.ofs;
                if version >= OFP15 {
                    encode_set(out, dst.field, v, dst.mask(), version, cx);
                } else {
                    put_loads(out, &w, v, dst.mask());
                }
            }
        }
        OfAction::Move { src, dst } => {
            if let (Some(s), Some(d)) = (sub_header(src), sub_header(dst)) {
                if version >= OFP15 {
                    // OpenFlow 1.5 has no NXAST_REG_MOVE: OFPAT_COPY_FIELD.
                    let at = out.len();
                    out.put_u16(ofpat::COPY_FIELD);
                    out.put_u16(0);
                    out.put_u16(src.n_bits);
                    out.put_u16(src.ofs);
                    out.put_u16(dst.ofs);
                    out.put_u16(0);
                    out.put_u32(s.header());
                    out.put_u32(d.header());
                    finish(out, at);
                    return;
                }
                let at = nx_start(out, nxast::REG_MOVE);
                out.put_u16(src.n_bits);
                out.put_u16(src.ofs);
                out.put_u16(dst.ofs);
                out.put_u32(s.header());
                out.put_u32(d.header());
                finish(out, at);
            }
        }
        OfAction::ModDlSrc(m) => encode_set(out, Field::EthSrc, mac_u128(m), Field::EthSrc.all_ones(), version, cx),
        OfAction::ModDlDst(m) => encode_set(out, Field::EthDst, mac_u128(m), Field::EthDst.all_ones(), version, cx),
        OfAction::ModVlanVid(vid) => {
            if version == OFP10 {
                out.put_u16(ofpat::OF10_SET_VLAN_VID);
                out.put_u16(8);
                out.put_u16(*vid);
                out.put_u16(0);
            } else {
                if !cx.has_vlan {
                    encode_one(out, &OfAction::PushVlan(0x8100), version, cx);
                }
                encode_set(out, Field::VlanTci, 0x1000 | (*vid as u128 & 0xfff), 0x1fff, version, cx);
            }
        }
        OfAction::ModVlanPcp(pcp) => {
            if version == OFP10 {
                out.put_u16(ofpat::OF10_SET_VLAN_PCP);
                out.put_u16(8);
                out.put_u8(*pcp);
                out.put_zeros(3);
            } else {
                if !cx.has_vlan {
                    encode_one(out, &OfAction::PushVlan(0x8100), version, cx);
                }
                encode_set(out, Field::VlanTci, (*pcp as u128 & 7) << 13, 0xe000, version, cx);
            }
        }
        OfAction::DecTtl if version == OFP10 => {
            let at = nx_start(out, nxast::DEC_TTL);
            finish(out, at);
        }
        OfAction::DecTtl => {
            out.put_u16(ofpat::DEC_NW_TTL);
            out.put_u16(8);
            out.put_u32(0);
        }
        OfAction::PushVlan(t) => {
            if version != OFP10 {
                out.put_u16(ofpat::PUSH_VLAN);
                out.put_u16(8);
                out.put_u16(*t);
                out.put_u16(0);
                cx.has_vlan = true;
            }
        }
        OfAction::PopVlan => {
            out.put_u16(if version == OFP10 { ofpat::OF10_STRIP_VLAN } else { ofpat::POP_VLAN });
            out.put_u16(8);
            out.put_u32(0);
            cx.has_vlan = false;
        }
        OfAction::Conjunction { id, clause, n_clauses } => {
            let at = nx_start(out, nxast::CONJUNCTION);
            out.put_u8(clause.saturating_sub(1));
            out.put_u8(*n_clauses);
            out.put_u32(*id);
            finish(out, at);
        }
        OfAction::Note(bytes) => {
            let at = nx_start(out, nxast::NOTE);
            out.extend_from_slice(bytes);
            if out.len() - at < 16 {
                out.put_zeros(16 - (out.len() - at));
            }
            finish(out, at);
        }
    }
}

fn encode_nat(out: &mut Vec<u8>, nat: &NatAction) {
    use std::net::IpAddr;
    let at = nx_start(out, nxast::NAT);
    out.put_u16(0);
    let mut flags = match nat.kind {
        None => 0,
        Some(NatKind::Src) => 1,
        Some(NatKind::Dst) => 2,
    };
    flags |= (nat.persistent as u16) << 2 | (nat.hash as u16) << 3 | (nat.random as u16) << 4;
    out.put_u16(flags);
    let present_at = out.len();
    out.put_u16(0);
    let mut present = 0u16;
    match nat.addrs {
        Some((IpAddr::V4(lo), IpAddr::V4(hi))) => {
            out.put_u32(lo.into());
            present |= 1;
            if hi != lo {
                out.put_u32(hi.into());
                present |= 2;
            }
        }
        Some((IpAddr::V6(lo), IpAddr::V6(hi))) => {
            out.extend_from_slice(&lo.octets());
            present |= 4;
            if hi != lo {
                out.extend_from_slice(&hi.octets());
                present |= 8;
            }
        }
        _ => {}
    }
    if let Some((lo, hi)) = nat.ports {
        out.put_u16(lo);
        present |= 16;
        if hi != lo {
            out.put_u16(hi);
            present |= 32;
        }
    }
    out.set_u16(present_at, present);
    finish(out, at);
}

/// Encode a flow's actions as OpenFlow 1.1+ instructions: `APPLY_ACTIONS`
/// (when there are any) and `GOTO_TABLE`.
pub fn encode_instructions(out: &mut Vec<u8>, actions: &[OfAction], version: u8, ctx: EncodeCtx) {
    let goto = actions.iter().find_map(|a| if let OfAction::GotoTable(t) = a { Some(*t) } else { None });
    let apply: Vec<OfAction> =
        actions.iter().filter(|a| !matches!(a, OfAction::GotoTable(_) | OfAction::Drop)).cloned().collect();
    if !apply.is_empty() {
        let at = out.len();
        out.put_u16(ofpit::APPLY_ACTIONS);
        out.put_u16(0);
        out.put_u32(0);
        encode_actions(out, &apply, version, ctx);
        let len = (out.len() - at) as u16;
        out.set_u16(at + 2, len);
    }
    if let Some(t) = goto {
        out.put_u16(ofpit::GOTO_TABLE);
        out.put_u16(8);
        out.put_u8(t);
        out.put_zeros(3);
    }
}
