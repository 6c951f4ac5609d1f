//! The OpenFlow 1.0 `ofp_match`: a fixed 40-byte structure with a wildcard
//! bitmap, which `ovs-ofctl -O OpenFlow10` uses for flow mods it can express
//! without NXM (e.g. `del-flows` without a match).
//!
//! As in OVS, fields whose prerequisites the match does not fix (`nw_src`
//! without `dl_type=0x0800`, `tp_dst` without a transport `nw_proto`) are
//! ignored when decoding; for ARP the `nw_proto`/`nw_src`/`nw_dst` slots
//! carry `arp_op`/`arp_spa`/`arp_tpa`. Encoding writes what fits and leaves
//! the rest wildcarded (hwol only encodes this format in replies to
//! `OFPST_FLOW` requests made in it).

use hwol_openflow::{Field, OfMatch};

use crate::buf::{Put, Reader};
use crate::error::OfError;

/// Size of the structure.
pub const LEN: usize = 40;

const W_IN_PORT: u32 = 1 << 0;
const W_DL_VLAN: u32 = 1 << 1;
const W_DL_SRC: u32 = 1 << 2;
const W_DL_DST: u32 = 1 << 3;
const W_DL_TYPE: u32 = 1 << 4;
const W_NW_PROTO: u32 = 1 << 5;
const W_TP_SRC: u32 = 1 << 6;
const W_TP_DST: u32 = 1 << 7;
const W_NW_SRC_SHIFT: u32 = 8;
const W_NW_DST_SHIFT: u32 = 14;
const W_DL_VLAN_PCP: u32 = 1 << 20;
const W_NW_TOS: u32 = 1 << 21;
/// Every field wildcarded.
pub const W_ALL: u32 = (1 << 22) - 1;
const OFP_VLAN_NONE: u16 = 0xffff;

fn prefix_mask(wild_bits: u32) -> u128 {
    if wild_bits >= 32 {
        0
    } else {
        ((u32::MAX as u64) << wild_bits) as u32 as u128
    }
}

/// Decode an `ofp_match`.
pub fn decode(r: &mut Reader<'_>) -> Result<OfMatch, OfError> {
    let w = r.u32()?;
    let in_port = r.u16()?;
    let dl_src = r.uint(6)?;
    let dl_dst = r.uint(6)?;
    let dl_vlan = r.u16()?;
    let pcp = r.u8()?;
    r.skip(1)?;
    let dl_type = r.u16()?;
    let tos = r.u8()?;
    let proto = r.u8()?;
    r.skip(2)?;
    let nw_src = r.u32()?;
    let nw_dst = r.u32()?;
    let tp_src = r.u16()?;
    let tp_dst = r.u16()?;
    let mut m = OfMatch::catchall();
    if w & W_IN_PORT == 0 {
        m.set(Field::InPort, in_port as u128);
    }
    if w & W_DL_SRC == 0 {
        m.set(Field::EthSrc, dl_src);
    }
    if w & W_DL_DST == 0 {
        m.set(Field::EthDst, dl_dst);
    }
    if w & W_DL_VLAN == 0 {
        if dl_vlan == OFP_VLAN_NONE {
            m.set_masked(Field::VlanTci, 0, 0xffff);
        } else {
            m.set_masked(Field::VlanTci, 0x1000 | (dl_vlan as u128 & 0xfff), 0x1fff);
        }
    }
    if w & W_DL_VLAN_PCP == 0 && !(w & W_DL_VLAN == 0 && dl_vlan == OFP_VLAN_NONE) {
        let (v, mk) = m.get(Field::VlanTci);
        m.set_masked(Field::VlanTci, v | 0x1000 | ((pcp as u128 & 7) << 13), mk | 0xf000);
    }
    if w & W_DL_TYPE == 0 {
        m.set(Field::EthType, dl_type as u128);
        let ip = dl_type == 0x0800;
        let arp = dl_type == 0x0806 || dl_type == 0x8035;
        let (src_f, dst_f) = if arp { (Field::ArpSpa, Field::ArpTpa) } else { (Field::IpSrc, Field::IpDst) };
        if ip || arp {
            let sm = prefix_mask((w >> W_NW_SRC_SHIFT) & 0x3f);
            let dm = prefix_mask((w >> W_NW_DST_SHIFT) & 0x3f);
            if sm != 0 {
                m.set_masked(src_f, nw_src as u128, sm);
            }
            if dm != 0 {
                m.set_masked(dst_f, nw_dst as u128, dm);
            }
            if w & W_NW_PROTO == 0 {
                if arp {
                    m.set(Field::ArpOp, proto as u128);
                } else {
                    m.set(Field::IpProto, proto as u128);
                }
            }
        }
        if ip && w & W_NW_TOS == 0 {
            m.set(Field::NwTos, (tos & 0xfc) as u128);
        }
        if ip && w & W_NW_PROTO == 0 && matches!(proto, 1 | 6 | 17 | 132) {
            let (s, d) = if proto == 1 { (Field::IcmpType, Field::IcmpCode) } else { (Field::TpSrc, Field::TpDst) };
            if w & W_TP_SRC == 0 {
                m.set(s, tp_src as u128 & s.all_ones());
            }
            if w & W_TP_DST == 0 {
                m.set(d, tp_dst as u128 & d.all_ones());
            }
        }
    }
    Ok(m)
}

fn wild_bits(mask: u128) -> u32 {
    let m = mask as u32;
    if m == 0 {
        32
    } else {
        m.trailing_zeros()
    }
}

/// Encode an `ofp_match` (fields it cannot express are left wildcarded).
pub fn encode(out: &mut Vec<u8>, m: &OfMatch) {
    let mut w = W_ALL;
    let get = |f: Field| m.get(f);
    let (inp, inm) = get(Field::InPort);
    if inm != 0 {
        w &= !W_IN_PORT;
    }
    let (src, srcm) = get(Field::EthSrc);
    if srcm != 0 {
        w &= !W_DL_SRC;
    }
    let (dst, dstm) = get(Field::EthDst);
    if dstm != 0 {
        w &= !W_DL_DST;
    }
    let (tci, tcim) = get(Field::VlanTci);
    let mut dl_vlan = 0u16;
    let mut pcp = 0u8;
    if tcim != 0 {
        if tci & 0x1000 == 0 {
            dl_vlan = OFP_VLAN_NONE;
            w &= !W_DL_VLAN;
        } else {
            if tcim & 0x0fff == 0x0fff {
                dl_vlan = (tci & 0xfff) as u16;
                w &= !W_DL_VLAN;
            }
            if tcim & 0xe000 == 0xe000 {
                pcp = ((tci >> 13) & 7) as u8;
                w &= !W_DL_VLAN_PCP;
            }
        }
    }
    let (dl_type, dtm) = get(Field::EthType);
    if dtm != 0 {
        w &= !W_DL_TYPE;
    }
    let arp = dtm != 0 && (dl_type == 0x0806 || dl_type == 0x8035);
    let (ns, nsm) = get(if arp { Field::ArpSpa } else { Field::IpSrc });
    let (nd, ndm) = get(if arp { Field::ArpTpa } else { Field::IpDst });
    w = (w & !(0x3f << W_NW_SRC_SHIFT)) | (wild_bits(nsm) << W_NW_SRC_SHIFT);
    w = (w & !(0x3f << W_NW_DST_SHIFT)) | (wild_bits(ndm) << W_NW_DST_SHIFT);
    let (proto, pm) = get(if arp { Field::ArpOp } else { Field::IpProto });
    if pm != 0 {
        w &= !W_NW_PROTO;
    }
    let (tos, tosm) = get(Field::NwTos);
    if tosm != 0 {
        w &= !W_NW_TOS;
    }
    let (ts, tsm) = get(Field::TpSrc);
    let (td, tdm) = get(Field::TpDst);
    if tsm != 0 {
        w &= !W_TP_SRC;
    }
    if tdm != 0 {
        w &= !W_TP_DST;
    }
    out.put_u32(w);
    out.put_u16(inp as u16);
    out.put_uint(src, 6);
    out.put_uint(dst, 6);
    out.put_u16(dl_vlan);
    out.put_u8(pcp);
    out.put_u8(0);
    out.put_u16(dl_type as u16);
    out.put_u8(tos as u8);
    out.put_u8(proto as u8);
    out.put_u16(0);
    out.put_u32(ns as u32);
    out.put_u32(nd as u32);
    out.put_u16(ts as u16);
    out.put_u16(td as u16);
}
