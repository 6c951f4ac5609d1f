//! Match encodings: NXM (Nicira extensible match, OpenFlow 1.0 + Nicira
//! extensions) and OXM (OpenFlow 1.2+), to and from [`OfMatch`].
//!
//! Both are the same TLV format: a 32-bit header `class:16 field:7
//! hasmask:1 length:8`, the value, and with `hasmask` a mask of the same
//! size. OXM class `0xffff` headers carry a 32-bit experimenter id after the
//! header. Every field of `hwol-openflow`'s registry has an entry in
//! [`FIELDS`]; several wire fields can map onto one registry field (`tcp_src`,
//! `udp_src` and `sctp_src` are all [`Field::TpSrc`]; OXM `vlan_vid` and
//! `vlan_pcp` are two parts of [`Field::VlanTci`]; OXM `ip_dscp` is
//! [`Field::NwTos`] shifted).
//!
//! Encoding picks, per field, the header OVS 3.1 uses for that format and
//! version: NXM headers where the field has one, `OXM_OF_*` for fields that
//! only exist in OXM (`metadata`), and in OXM the `OXM_OF_*` header where
//! OpenFlow defines one. Fields are written in prerequisite order
//! (`dl_type` before L3, `nw_proto` before L4), which OVS's decoder
//! requires; our decoder accepts any order and checks prerequisites once the
//! whole match is read.
//!
//! Not covered: tunnel, MPLS, IPv6 ND, `ct_nw_*`/`ct_tp_*`, `packet_type`,
//! `actset_output`, `dp_hash`, `recirc_id` — hwol's registry has none of
//! them, so they decode to `OFPBMC_BAD_FIELD`.

use hwol_openflow::{ofp_port, Field, OfMatch};

use crate::buf::{Put, Reader};
use crate::error::{bad_match, OfError};

/// NXM class of the OpenFlow 1.0 fields.
pub const NXM_OF: u16 = 0x0000;
/// NXM class of the Nicira extension fields.
pub const NXM_NX: u16 = 0x0001;
/// OXM basic class.
pub const OXM_OF: u16 = 0x8000;
/// OXM packet-register class (`OXM_OF_PKT_REG0..7`, OpenFlow 1.5).
pub const OXM_PKT_REG: u16 = 0x8001;
/// OXM experimenter class.
pub const OXM_EXPERIMENTER: u16 = 0xffff;
/// The ONF experimenter id (`ONFOXM_ET_TCP_FLAGS` in OpenFlow 1.3).
pub const ONF_EXPERIMENTER: u32 = 0x4f4e_4600;

/// How a wire field's value relates to the registry field's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Conv {
    /// Same bits.
    Plain,
    /// A 32-bit OpenFlow 1.1+ port number (`OFPP_*` at `0xffffff00`).
    Port32,
    /// OXM `vlan_vid`: the low 13 bits of `vlan_tci` (0x1000 = present).
    VlanVid,
    /// OXM `vlan_pcp`: bits 13-15 of `vlan_tci`.
    VlanPcp,
    /// OXM `ip_dscp`: `nw_tos >> 2`.
    Dscp,
    /// `NXM_NX_COOKIE`: the flow cookie, not a match field.
    Cookie,
}

/// One wire field.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WireField {
    /// Header class.
    pub class: u16,
    /// Header field number.
    pub field: u8,
    /// Value size in bytes.
    pub len: u8,
    /// The registry field (ignored for [`Conv::Cookie`]).
    pub of: Field,
    /// Value conversion.
    pub conv: Conv,
    /// Required `nw_proto` (L4 fields).
    pub proto: Option<u8>,
}

impl WireField {
    /// The mask (wire space) that means "exact match": every bit the
    /// registry field has.
    pub fn full_mask(&self) -> u128 {
        match self.conv {
            Cookie => all_ones(self.len as usize),
            _ => from_field(self, self.of.all_ones(), self.of.all_ones()).1 & all_ones(self.len as usize),
        }
    }

    /// The 32-bit header, without the mask bit.
    pub fn header(&self) -> u32 {
        ((self.class as u32) << 16) | ((self.field as u32) << 9) | self.len as u32
    }
}

const fn wf(class: u16, field: u8, len: u8, of: Field, conv: Conv, proto: Option<u8>) -> WireField {
    WireField { class, field, len, of, conv, proto }
}

use Conv::*;
use Field as F;

/// Every wire field the codec knows (registers are added by [`lookup`]).
pub const FIELDS: &[WireField] = &[
    // NXM_OF_*
    wf(NXM_OF, 0, 2, F::InPort, Plain, None),
    wf(NXM_OF, 1, 6, F::EthDst, Plain, None),
    wf(NXM_OF, 2, 6, F::EthSrc, Plain, None),
    wf(NXM_OF, 3, 2, F::EthType, Plain, None),
    wf(NXM_OF, 4, 2, F::VlanTci, Plain, None),
    wf(NXM_OF, 5, 1, F::NwTos, Plain, None),
    wf(NXM_OF, 6, 1, F::IpProto, Plain, None),
    wf(NXM_OF, 7, 4, F::IpSrc, Plain, None),
    wf(NXM_OF, 8, 4, F::IpDst, Plain, None),
    wf(NXM_OF, 9, 2, F::TpSrc, Plain, Some(6)),
    wf(NXM_OF, 10, 2, F::TpDst, Plain, Some(6)),
    wf(NXM_OF, 11, 2, F::TpSrc, Plain, Some(17)),
    wf(NXM_OF, 12, 2, F::TpDst, Plain, Some(17)),
    wf(NXM_OF, 13, 1, F::IcmpType, Plain, Some(1)),
    wf(NXM_OF, 14, 1, F::IcmpCode, Plain, Some(1)),
    wf(NXM_OF, 15, 2, F::ArpOp, Plain, None),
    wf(NXM_OF, 16, 4, F::ArpSpa, Plain, None),
    wf(NXM_OF, 17, 4, F::ArpTpa, Plain, None),
    // NXM_NX_*
    wf(NXM_NX, 17, 6, F::ArpSha, Plain, None),
    wf(NXM_NX, 18, 6, F::ArpTha, Plain, None),
    wf(NXM_NX, 19, 16, F::Ipv6Src, Plain, None),
    wf(NXM_NX, 20, 16, F::Ipv6Dst, Plain, None),
    wf(NXM_NX, 21, 1, F::IcmpType, Plain, Some(58)),
    wf(NXM_NX, 22, 1, F::IcmpCode, Plain, Some(58)),
    wf(NXM_NX, 26, 1, F::IpFrag, Plain, None),
    wf(NXM_NX, 27, 4, F::Ipv6Label, Plain, None),
    wf(NXM_NX, 28, 1, F::NwEcn, Plain, None),
    wf(NXM_NX, 29, 1, F::IpTtl, Plain, None),
    wf(NXM_NX, 30, 8, F::Metadata, Cookie, None),
    wf(NXM_NX, 33, 4, F::PktMark, Plain, None),
    wf(NXM_NX, 34, 2, F::TcpFlags, Plain, Some(6)),
    wf(NXM_NX, 37, 4, F::ConjId, Plain, None),
    wf(NXM_NX, 105, 4, F::CtState, Plain, None),
    wf(NXM_NX, 106, 2, F::CtZone, Plain, None),
    wf(NXM_NX, 107, 4, F::CtMark, Plain, None),
    wf(NXM_NX, 108, 16, F::CtLabel, Plain, None),
    // OXM_OF_*
    wf(OXM_OF, 0, 4, F::InPort, Port32, None),
    wf(OXM_OF, 2, 8, F::Metadata, Plain, None),
    wf(OXM_OF, 3, 6, F::EthDst, Plain, None),
    wf(OXM_OF, 4, 6, F::EthSrc, Plain, None),
    wf(OXM_OF, 5, 2, F::EthType, Plain, None),
    wf(OXM_OF, 6, 2, F::VlanTci, VlanVid, None),
    wf(OXM_OF, 7, 1, F::VlanTci, VlanPcp, None),
    wf(OXM_OF, 8, 1, F::NwTos, Dscp, None),
    wf(OXM_OF, 9, 1, F::NwEcn, Plain, None),
    wf(OXM_OF, 10, 1, F::IpProto, Plain, None),
    wf(OXM_OF, 11, 4, F::IpSrc, Plain, None),
    wf(OXM_OF, 12, 4, F::IpDst, Plain, None),
    wf(OXM_OF, 13, 2, F::TpSrc, Plain, Some(6)),
    wf(OXM_OF, 14, 2, F::TpDst, Plain, Some(6)),
    wf(OXM_OF, 15, 2, F::TpSrc, Plain, Some(17)),
    wf(OXM_OF, 16, 2, F::TpDst, Plain, Some(17)),
    wf(OXM_OF, 17, 2, F::TpSrc, Plain, Some(132)),
    wf(OXM_OF, 18, 2, F::TpDst, Plain, Some(132)),
    wf(OXM_OF, 19, 1, F::IcmpType, Plain, Some(1)),
    wf(OXM_OF, 20, 1, F::IcmpCode, Plain, Some(1)),
    wf(OXM_OF, 21, 2, F::ArpOp, Plain, None),
    wf(OXM_OF, 22, 4, F::ArpSpa, Plain, None),
    wf(OXM_OF, 23, 4, F::ArpTpa, Plain, None),
    wf(OXM_OF, 24, 6, F::ArpSha, Plain, None),
    wf(OXM_OF, 25, 6, F::ArpTha, Plain, None),
    wf(OXM_OF, 26, 16, F::Ipv6Src, Plain, None),
    wf(OXM_OF, 27, 16, F::Ipv6Dst, Plain, None),
    wf(OXM_OF, 28, 4, F::Ipv6Label, Plain, None),
    wf(OXM_OF, 29, 1, F::IcmpType, Plain, Some(58)),
    wf(OXM_OF, 30, 1, F::IcmpCode, Plain, Some(58)),
    wf(OXM_OF, 42, 2, F::TcpFlags, Plain, Some(6)),
];

/// `ONFOXM_ET_TCP_FLAGS` (experimenter class, OpenFlow 1.3).
const ONF_TCP_FLAGS: WireField = wf(OXM_EXPERIMENTER, 42, 2, F::TcpFlags, Plain, Some(6));

/// The wire field for a header's class and field number.
pub fn lookup(class: u16, field: u8, experimenter: Option<u32>) -> Option<WireField> {
    match class {
        NXM_NX if field < 16 => return Some(wf(NXM_NX, field, 4, F::Reg(field), Plain, None)),
        OXM_PKT_REG if field < 8 => return Some(wf(OXM_PKT_REG, field, 8, F::Xreg(field), Plain, None)),
        OXM_EXPERIMENTER => {
            return (experimenter == Some(ONF_EXPERIMENTER) && field == 42).then_some(ONF_TCP_FLAGS);
        }
        _ => {}
    }
    FIELDS.iter().find(|f| f.class == class && f.field == field).copied()
}

/// Which encoding a match (or a set-field) is written in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    /// NXM (OpenFlow 1.0 with Nicira extensions).
    Nxm,
    /// OXM, for this OpenFlow version (0x03-0x06).
    Oxm(u8),
}

/// The NXM header registry field `f` uses when named by a subfield
/// (`load`, `move`, `output:reg`, `ct(zone=reg)`), if it has one whose bits
/// mean the same as the registry's.
pub fn subfield_header(f: Field, proto: Option<u8>) -> Option<WireField> {
    if let F::Reg(n) = f {
        return lookup(NXM_NX, n, None);
    }
    if let F::Xreg(n) = f {
        return lookup(OXM_PKT_REG, n, None);
    }
    if f == F::Metadata {
        return lookup(OXM_OF, 2, None);
    }
    let want_proto = match f {
        F::TpSrc | F::TpDst => Some(proto.filter(|p| *p == 17).unwrap_or(6)),
        F::IcmpType | F::IcmpCode => Some(proto.filter(|p| *p == 58).unwrap_or(1)),
        F::TcpFlags => Some(6),
        _ => None,
    };
    FIELDS
        .iter()
        .find(|w| (w.class == NXM_OF || w.class == NXM_NX) && w.of == f && w.conv == Plain && w.proto == want_proto)
        .copied()
}

/// The wire field a set-field of `f` under `mask` uses in `dialect`.
pub fn set_field_header(f: Field, mask: u128, dialect: Dialect, proto: Option<u8>) -> Option<WireField> {
    if let Dialect::Oxm(v) = dialect {
        let oxm = |n: u8| lookup(OXM_OF, n, None);
        match f {
            F::VlanTci if mask & 0xffff == 0x1fff => return oxm(6),
            F::VlanTci if mask & 0xffff == 0xe000 => return oxm(7),
            F::NwTos => return oxm(8),
            F::InPort => return oxm(0),
            F::TcpFlags if v >= crate::OFP15 => return oxm(42),
            F::Reg(_) | F::Xreg(_) | F::Metadata | F::CtState | F::CtZone | F::CtMark | F::CtLabel | F::PktMark => {}
            F::IpTtl | F::IpFrag | F::ConjId | F::TcpFlags => {}
            _ => {
                let want = match f {
                    F::TpSrc | F::TpDst => Some(match proto {
                        Some(17) => 17,
                        Some(132) => 132,
                        _ => 6,
                    }),
                    F::IcmpType | F::IcmpCode => Some(proto.filter(|p| *p == 58).unwrap_or(1)),
                    _ => None,
                };
                // Only a same-bits OXM field; vlan_tci as a whole has none (OXM
                // vlan_vid/vlan_pcp are parts of it) and goes as NXM_OF_VLAN_TCI.
                let same_bits = |w: &&WireField| w.class == OXM_OF && w.of == f && w.proto == want && w.conv == Plain;
                if let Some(w) = FIELDS.iter().find(same_bits) {
                    return Some(*w);
                }
            }
        }
    }
    subfield_header(f, proto)
}

/// Convert a wire value/mask to the registry field's space.
pub fn to_field(w: &WireField, v: u128, m: u128) -> (u128, u128) {
    match w.conv {
        Plain | Cookie => (v, m),
        Port32 => (port_from_of11(v as u32) as u128, if m as u32 == u32::MAX { 0xffff_ffff } else { m }),
        VlanVid => (v & 0x1fff, m & 0x1fff),
        VlanPcp => ((v & 7) << 13, (m & 7) << 13),
        Dscp => ((v & 0x3f) << 2, (m & 0x3f) << 2),
    }
}

/// Convert a registry value/mask to the wire field's space.
pub fn from_field(w: &WireField, v: u128, m: u128) -> (u128, u128) {
    match w.conv {
        Plain | Cookie => (v, m),
        Port32 => (port_to_of11(v as u32) as u128, m),
        VlanVid => (v & 0x1fff, m & 0x1fff),
        VlanPcp => ((v >> 13) & 7, (m >> 13) & 7),
        Dscp => ((v >> 2) & 0x3f, (m >> 2) & 0x3f),
    }
}

/// An OpenFlow 1.1+ port number as hwol's (OpenFlow 1.0 numbering).
pub fn port_from_of11(p: u32) -> u32 {
    if p >= 0xffff_ff00 {
        p - 0xffff_0000
    } else {
        p
    }
}

/// hwol's port number as OpenFlow 1.1+'s.
pub fn port_to_of11(p: u32) -> u32 {
    if (ofp_port::MAX..=ofp_port::NONE).contains(&p) && p > ofp_port::MAX {
        p + 0xffff_0000
    } else {
        p
    }
}

fn all_ones(len: usize) -> u128 {
    if len >= 16 {
        u128::MAX
    } else {
        (1u128 << (len * 8)) - 1
    }
}

/// One decoded TLV: the field, value and mask (all-ones when unmasked).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tlv {
    /// The wire field.
    pub wire: WireField,
    /// The value, in wire space.
    pub value: u128,
    /// The mask, in wire space.
    pub mask: u128,
    /// Whether the header had the mask bit.
    pub has_mask: bool,
}

/// Read one TLV header + payload.
pub fn read_tlv(r: &mut Reader<'_>) -> Result<Tlv, OfError> {
    let h = r.u32()?;
    let class = (h >> 16) as u16;
    let field = ((h >> 9) & 0x7f) as u8;
    let has_mask = h & 0x100 != 0;
    let mut len = (h & 0xff) as usize;
    let mut exp = None;
    if class == OXM_EXPERIMENTER {
        if len < 4 {
            return Err(OfError::matching(bad_match::BAD_LEN, format!("experimenter OXM header {h:#010x} too short")));
        }
        exp = Some(r.u32()?);
        len -= 4;
    }
    let wire = lookup(class, field, exp).ok_or_else(|| {
        OfError::matching(
            bad_match::BAD_FIELD,
            format!("match field {h:#010x} (class {class:#06x}, field {field}) is not supported by hwol"),
        )
    })?;
    let want = wire.len as usize * if has_mask { 2 } else { 1 };
    if len != want {
        return Err(OfError::matching(
            bad_match::BAD_LEN,
            format!("match field {h:#010x}: payload is {len} bytes, expected {want}"),
        ));
    }
    let value = r.uint(wire.len as usize)?;
    let mask = if has_mask { r.uint(wire.len as usize)? } else { all_ones(wire.len as usize) };
    Ok(Tlv { wire, value, mask, has_mask })
}

/// Write one TLV.
pub fn write_tlv(out: &mut Vec<u8>, w: &WireField, value: u128, mask: u128) {
    let full = w.full_mask();
    let masked = mask & full != full;
    let len = w.len as u32 * if masked { 2 } else { 1 };
    out.put_u32(((w.class as u32) << 16) | ((w.field as u32) << 9) | if masked { 0x100 } else { 0 } | len);
    out.put_uint(value & mask, w.len as usize);
    if masked {
        out.put_uint(mask, w.len as usize);
    }
}

/// A decoded match plus the `NXM_NX_COOKIE` it may carry.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DecodedMatch {
    /// The match.
    pub matches: OfMatch,
    /// `(cookie, mask)` from `NXM_NX_COOKIE(_W)`.
    pub cookie: Option<(u64, u64)>,
}

/// Decode a whole NXM/OXM field list (no padding).
pub fn decode_fields(bytes: &[u8]) -> Result<DecodedMatch, OfError> {
    let mut r = Reader::new(bytes, "match field");
    let mut out = DecodedMatch::default();
    let mut seen: Vec<(u16, u8)> = Vec::new();
    let mut protos: Vec<(Field, u8)> = Vec::new();
    while !r.is_empty() {
        let t = read_tlv(&mut r)?;
        let w = t.wire;
        if seen.contains(&(w.class, w.field)) {
            return Err(OfError::matching(
                bad_match::DUP_FIELD,
                format!("match field {:#010x} appears twice", w.header()),
            ));
        }
        seen.push((w.class, w.field));
        if t.value & !t.mask != 0 {
            return Err(OfError::matching(
                bad_match::BAD_WILDCARDS,
                format!("match field {:#010x}: value {:#x} has bits outside mask {:#x}", w.header(), t.value, t.mask),
            ));
        }
        if w.conv == Cookie {
            out.cookie = Some((t.value as u64, t.mask as u64));
            continue;
        }
        let of = w.of;
        let full = to_field(&w, all_ones(w.len as usize), all_ones(w.len as usize)).1 & of.all_ones();
        let (v, m) = to_field(&w, t.value, t.mask);
        if t.has_mask && m & !full != 0 {
            return Err(OfError::matching(bad_match::BAD_MASK, format!("{}: mask {m:#x} out of range", of.name())));
        }
        // Unmasked means "every bit of the field", also where the wire field
        // is narrower than the registry's (16-bit NXM_OF_IN_PORT); OXM
        // vlan_vid/vlan_pcp are parts of vlan_tci and cover only their bits.
        // An all-ones mask is the same match as no mask (OVS reads it so
        // too), so it gets the same canonical mask: re-encoded, it goes out
        // unmasked.
        let m = match (t.has_mask && m != full, w.conv) {
            (true, _) => m,
            (false, VlanVid | VlanPcp) => full,
            (false, _) => of.all_ones(),
        };
        if v & !m != 0 {
            return Err(OfError::matching(bad_match::BAD_VALUE, format!("{}: value {v:#x} out of range", of.name())));
        }
        if let Some(p) = w.proto {
            protos.push((of, p));
        }
        if w.conv == VlanVid || w.conv == VlanPcp {
            let (ov, om) = out.matches.get(F::VlanTci);
            let mut nm = om | m;
            let mut nv = ov | v;
            if w.conv == VlanPcp {
                if om & 0x1000 != 0 && ov & 0x1000 == 0 {
                    return Err(OfError::matching(
                        bad_match::BAD_PREREQ,
                        "vlan_pcp: requires a VLAN tag, but vlan_vid matches packets without one",
                    ));
                }
                // vlan_pcp implies a tag is present.
                nm |= 0x1000;
                nv |= 0x1000;
            }
            let (nv, nm) = check_vlan_tci(nv, nm)?;
            out.matches.set_masked(F::VlanTci, nv, nm);
        } else if of == F::VlanTci {
            let (v, m) = check_vlan_tci(v, m)?;
            out.matches.set_masked(of, v, m);
        } else {
            out.matches.set_masked(of, v, m);
        }
    }
    check_prereqs(&out.matches, &protos)?;
    Ok(out)
}

const ETH_IP: u16 = 0x0800;
const ETH_IPV6: u16 = 0x86dd;
const ETH_ARP: u16 = 0x0806;
const ETH_RARP: u16 = 0x8035;

/// A `vlan_tci` match hwol can hold: its mask covers the 0x1000
/// "tag present" bit whenever it covers any (hwol keys VLAN bits on tag
/// presence, as the text parser does), and a value without that bit sets
/// no other bit (such a match could never hit a packet). Returns it in
/// canonical form: "no tag" is `0/0xffff` however it was written (OXM's
/// `vlan_vid=0` says `0/0x1fff`), as the text parser writes it.
fn check_vlan_tci(v: u128, m: u128) -> Result<(u128, u128), OfError> {
    if m != 0 && m & 0x1000 == 0 {
        return Err(OfError::matching(
            bad_match::BAD_MASK,
            format!("vlan_tci: mask {m:#06x} lacks the 0x1000 \"tag present\" bit (hwol cannot match VLAN bits without matching tag presence)"),
        ));
    }
    if v & 0x1000 == 0 && v & m != 0 {
        return Err(OfError::matching(
            bad_match::BAD_VALUE,
            format!(
                "vlan_tci: {v:#06x} sets VLAN bits but not the 0x1000 \"tag present\" bit, so it could never match"
            ),
        ));
    }
    if m & 0x1000 != 0 && v & 0x1000 == 0 {
        return Ok((0, 0xffff));
    }
    Ok((v, m))
}

fn check_prereqs(m: &OfMatch, protos: &[(Field, u8)]) -> Result<(), OfError> {
    let (t, tm) = m.get(F::EthType);
    let dl = (tm != 0).then_some(t as u16);
    let (p, pm) = m.get(F::IpProto);
    let nw = (pm != 0).then_some(p as u8);
    let ip_any = matches!(dl, Some(ETH_IP | ETH_IPV6));
    let arp = matches!(dl, Some(ETH_ARP | ETH_RARP));
    let bad = |f: Field, need: &str| {
        Err(OfError::matching(bad_match::BAD_PREREQ, format!("{} requires {need} earlier in the match", f.name())))
    };
    for f in [F::IpProto, F::NwTos, F::NwEcn, F::IpTtl, F::IpFrag] {
        if m.get(f).1 != 0 && !ip_any {
            return bad(f, "dl_type=0x0800 or 0x86dd");
        }
    }
    for f in [F::Ipv6Src, F::Ipv6Dst, F::Ipv6Label] {
        if m.get(f).1 != 0 && dl != Some(ETH_IPV6) {
            return bad(f, "dl_type=0x86dd");
        }
    }
    if (m.get(F::IpSrc).1 != 0 || m.get(F::IpDst).1 != 0) && !(dl == Some(ETH_IP) || arp) {
        return bad(F::IpSrc, "dl_type=0x0800 (or ARP)");
    }
    for f in [F::ArpOp, F::ArpSha, F::ArpTha] {
        if m.get(f).1 != 0 && !arp {
            return bad(f, "dl_type=0x0806 or 0x8035");
        }
    }
    for &(f, proto) in protos {
        if !ip_any || nw != Some(proto) {
            return bad(f, &format!("an IP dl_type and nw_proto={proto}"));
        }
    }
    for f in [F::TpSrc, F::TpDst, F::TcpFlags] {
        if m.get(f).1 != 0 && !(ip_any && matches!(nw, Some(1 | 6 | 17 | 58 | 132))) {
            return bad(f, "an IP dl_type and a transport nw_proto");
        }
    }
    Ok(())
}

/// Encode `m` (and, for NXM flow mods and stats requests, a cookie match)
/// as a field list in `dialect`, in prerequisite order. Returns the bytes
/// written (no padding).
pub fn encode_fields(out: &mut Vec<u8>, m: &OfMatch, dialect: Dialect, cookie: Option<(u64, u64)>) -> usize {
    let start = out.len();
    let oxm = matches!(dialect, Dialect::Oxm(_));
    let (t, tm) = m.get(F::EthType);
    let dl = (tm != 0).then_some(t as u16);
    let (p, pm) = m.get(F::IpProto);
    let proto = (pm != 0).then_some(p as u8);
    let arp = matches!(dl, Some(ETH_ARP | ETH_RARP));
    let put = |f: Field, out: &mut Vec<u8>| {
        let (v, mk) = m.get(f);
        if mk == 0 {
            return;
        }
        let w = if oxm { set_field_header(f, mk, dialect, proto) } else { subfield_header(f, proto) };
        let Some(w) = w else { return };
        let (wv, wm) = from_field(&w, v, mk);
        write_tlv(out, &w, wv, wm);
    };
    if let Some((c, cm)) = cookie {
        if cm != 0 {
            let w = lookup(NXM_NX, 30, None).expect("cookie field");
            write_tlv(out, &w, c as u128, cm as u128);
        }
    }
    put(F::InPort, out);
    put(F::EthSrc, out);
    put(F::EthDst, out);
    put(F::EthType, out);
    // VLAN.
    let (vv, vm) = m.get(F::VlanTci);
    if vm != 0 {
        let nxm = lookup(NXM_OF, 4, None).expect("vlan_tci");
        let vid = vm & 0x1fff;
        let pcp = vm & 0xe000;
        if oxm && (pcp == 0 || pcp == 0xe000) && (pcp == 0 || vid & 0x1000 != 0) {
            if vid != 0 {
                let w = lookup(OXM_OF, 6, None).expect("vlan_vid");
                let (a, b) = from_field(&w, vv, vid);
                write_tlv(out, &w, a, b);
            }
            // vlan_pcp implies a tag: "no tag" is vlan_vid=0 alone.
            if pcp != 0 && vv & 0x1000 != 0 {
                let w = lookup(OXM_OF, 7, None).expect("vlan_pcp");
                let (a, b) = from_field(&w, vv, pcp);
                write_tlv(out, &w, a, b);
            }
        } else {
            write_tlv(out, &nxm, vv, vm);
        }
    }
    if arp {
        for f in [F::ArpOp, F::ArpSpa, F::ArpTpa, F::ArpSha, F::ArpTha] {
            put(f, out);
        }
    } else {
        for f in [F::IpSrc, F::IpDst, F::Ipv6Src, F::Ipv6Dst, F::Ipv6Label] {
            put(f, out);
        }
    }
    for f in [F::IpProto, F::NwTos, F::NwEcn, F::IpTtl, F::IpFrag] {
        put(f, out);
    }
    if matches!(proto, Some(1 | 58)) {
        put(F::IcmpType, out);
        put(F::IcmpCode, out);
    } else {
        put(F::TpSrc, out);
        put(F::TpDst, out);
    }
    put(F::TcpFlags, out);
    for n in 0..16 {
        put(F::Reg(n), out);
    }
    for f in [F::PktMark, F::CtState, F::CtZone, F::CtMark, F::CtLabel, F::Metadata, F::ConjId] {
        put(f, out);
    }
    out.len() - start
}

/// Encode an OpenFlow 1.2+ `ofp_match` (type OXM, length, fields, padding).
pub fn encode_oxm_match(out: &mut Vec<u8>, m: &OfMatch, version: u8) {
    let start = out.len();
    out.put_u16(1);
    out.put_u16(0);
    let n = encode_fields(out, m, Dialect::Oxm(version), None);
    out.set_u16(start + 2, (4 + n) as u16);
    out.pad8(start);
}

/// Decode an OpenFlow 1.2+ `ofp_match`, consuming its padding.
pub fn decode_oxm_match(r: &mut Reader<'_>) -> Result<OfMatch, OfError> {
    let ty = r.u16()?;
    let len = r.u16()? as usize;
    if ty != 1 {
        return Err(OfError::matching(bad_match::BAD_TYPE, format!("match type {ty} is not OFPMT_OXM (1)")));
    }
    if len < 4 {
        return Err(OfError::matching(bad_match::BAD_LEN, format!("ofp_match length {len} is less than 4")));
    }
    let fields = r.bytes(len - 4)?;
    let pad = (8 - len % 8) % 8;
    r.skip(pad.min(r.remaining()))?;
    let d = decode_fields(fields)?;
    if d.cookie.is_some() {
        return Err(OfError::matching(bad_match::BAD_FIELD, "NXM_NX_COOKIE is not allowed in an OXM match"));
    }
    Ok(d.matches)
}

/// Decode an NXM match of `len` bytes followed by padding to 8.
pub fn decode_nxm_match(r: &mut Reader<'_>, len: usize) -> Result<DecodedMatch, OfError> {
    let fields = r.bytes(len)?;
    let pad = (8 - len % 8) % 8;
    r.skip(pad.min(r.remaining()))?;
    decode_fields(fields)
}
