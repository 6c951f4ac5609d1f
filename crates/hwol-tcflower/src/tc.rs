//! The RTM_NEWTFILTER / RTM_DELTFILTER / RTM_GETTFILTER messages: the
//! netlink header, `struct tcmsg`, the `TCA_*` attributes, flower's
//! `TCA_FLOWER_*` options and the actions flower carries (`TCA_ACT_*` with
//! the options of act_ct, gact, mirred, pedit, csum and vlan). Pure: encode
//! to and decode from bytes, no sockets.
//!
//! Every attribute enum ends in `Other(Nla)`, so attributes this crate does
//! not interpret (a newer kernel's, or a kind of action it does not know)
//! survive a decode/encode round trip unchanged. Attribute order is the
//! caller's: the builders in [`crate::rule`] use iproute2's order, which the
//! golden tests check byte for byte.
//!
//! netlink-packet-route covers flower's match keys and mirred but not
//! act_ct, gact, pedit, csum or vlan, so this module encodes everything
//! itself with the kernel's own constant names ([`crate::uapi`]) rather than
//! mixing two models of the same message.

use crate::nla::{attr_enum, ne_u32, parse_nlas, put_attr, put_nested, AttrValue, Be16, Be32, DecodeError, Nla};
use crate::uapi::*;

/// `struct nlmsghdr`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NlHeader {
    /// `nlmsg_type` (`RTM_NEWTFILTER`...).
    pub ty: u16,
    /// `nlmsg_flags` (`NLM_F_*`).
    pub flags: u16,
    /// Sequence number.
    pub seq: u32,
    /// Port id of the sender (0 from the kernel).
    pub pid: u32,
}

/// Size of `struct nlmsghdr`.
pub const NLMSG_HDRLEN: usize = 16;

/// `struct tcmsg`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TcMsg {
    /// `tcm_family` (AF_UNSPEC).
    pub family: u8,
    /// Device.
    pub ifindex: i32,
    /// Filter handle (0 = let the kernel pick).
    pub handle: u32,
    /// Parent: `TC_H_MAKE(TC_H_CLSACT, TC_H_MIN_INGRESS)` for clsact ingress.
    pub parent: u32,
    /// `prio << 16 | htons(protocol)`.
    pub info: u32,
}

/// Size of `struct tcmsg`.
pub const TCMSG_LEN: usize = 20;

/// The clsact ingress parent (`tc filter ... ingress`).
pub const PARENT_INGRESS: u32 = (TC_H_CLSACT & 0xffff_0000) | (TC_H_MIN_INGRESS & 0xffff);

impl TcMsg {
    /// `tcm_info` for a filter priority and an EtherType (host order).
    pub fn info_for(prio: u16, protocol: u16) -> u32 {
        (u32::from(prio) << 16) | u32::from(u16::from_ne_bytes(protocol.to_be_bytes()))
    }

    /// The filter priority.
    pub fn prio(&self) -> u16 {
        (self.info >> 16) as u16
    }

    /// The EtherType the filter is for (host order; `ETH_P_ALL` for all).
    pub fn protocol(&self) -> u16 {
        u16::from_be_bytes(((self.info & 0xffff) as u16).to_ne_bytes())
    }
}

/// `struct tc_gen`: the head of every action's parameters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TcGen {
    /// Action index (0 = let the kernel pick).
    pub index: u32,
    /// Capabilities (unused).
    pub capab: u32,
    /// Control action: `TC_ACT_PIPE`, `TC_ACT_STOLEN`, `TC_ACT_GOTO_CHAIN | n`...
    pub action: i32,
    /// Reference count (dumps only).
    pub refcnt: i32,
    /// Bind count (dumps only).
    pub bindcnt: i32,
}

/// Size of `struct tc_gen`.
pub const TC_GEN_LEN: usize = 20;

impl TcGen {
    /// A fresh action with control action `action`.
    pub fn with_action(action: i32) -> Self {
        TcGen { action, ..Default::default() }
    }

    fn put(&self, out: &mut Vec<u8>) {
        for w in [self.index, self.capab, self.action as u32, self.refcnt as u32, self.bindcnt as u32] {
            out.extend_from_slice(&w.to_ne_bytes());
        }
    }

    fn get(kind: u16, b: &[u8], expected: &'static str, len: usize) -> Result<Self, DecodeError> {
        if b.len() < len {
            return Err(DecodeError::BadLength { kind, len: b.len(), expected });
        }
        Ok(TcGen {
            index: ne_u32(b, 0),
            capab: ne_u32(b, 4),
            action: ne_u32(b, 8) as i32,
            refcnt: ne_u32(b, 12) as i32,
            bindcnt: ne_u32(b, 16) as i32,
        })
    }
}

impl AttrValue for TcGen {
    fn put(&self, out: &mut Vec<u8>) {
        TcGen::put(self, out)
    }
    fn get(kind: u16, b: &[u8]) -> Result<Self, DecodeError> {
        TcGen::get(kind, b, "20 (struct tc_gen)", TC_GEN_LEN)
    }
}

/// `struct tc_mirred`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TcMirred {
    /// Common head.
    pub gen: TcGen,
    /// `TCA_EGRESS_REDIR`, `TCA_EGRESS_MIRROR`...
    pub eaction: i32,
    /// Target device.
    pub ifindex: u32,
}

impl AttrValue for TcMirred {
    fn put(&self, out: &mut Vec<u8>) {
        self.gen.put(out);
        out.extend_from_slice(&self.eaction.to_ne_bytes());
        out.extend_from_slice(&self.ifindex.to_ne_bytes());
    }
    fn get(kind: u16, b: &[u8]) -> Result<Self, DecodeError> {
        let gen = TcGen::get(kind, b, "28 (struct tc_mirred)", 28)?;
        Ok(TcMirred { gen, eaction: ne_u32(b, 20) as i32, ifindex: ne_u32(b, 24) })
    }
}

/// `struct tc_csum`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TcCsum {
    /// Common head.
    pub gen: TcGen,
    /// `TCA_CSUM_UPDATE_FLAG_*`.
    pub update_flags: u32,
}

impl AttrValue for TcCsum {
    fn put(&self, out: &mut Vec<u8>) {
        self.gen.put(out);
        out.extend_from_slice(&self.update_flags.to_ne_bytes());
    }
    fn get(kind: u16, b: &[u8]) -> Result<Self, DecodeError> {
        let gen = TcGen::get(kind, b, "24 (struct tc_csum)", 24)?;
        Ok(TcCsum { gen, update_flags: ne_u32(b, 20) })
    }
}

/// `struct tc_vlan`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TcVlan {
    /// Common head.
    pub gen: TcGen,
    /// `TCA_VLAN_ACT_POP`, `TCA_VLAN_ACT_PUSH`, `TCA_VLAN_ACT_MODIFY`.
    pub v_action: i32,
}

impl AttrValue for TcVlan {
    fn put(&self, out: &mut Vec<u8>) {
        self.gen.put(out);
        out.extend_from_slice(&self.v_action.to_ne_bytes());
    }
    fn get(kind: u16, b: &[u8]) -> Result<Self, DecodeError> {
        let gen = TcGen::get(kind, b, "24 (struct tc_vlan)", 24)?;
        Ok(TcVlan { gen, v_action: ne_u32(b, 20) as i32 })
    }
}

/// `struct tc_pedit_key`: rewrite 32 bits at `off` (from the header
/// `TCA_PEDIT_KEY_EX_HTYPE` names): `new = (old & mask) ^ val`, so `mask`
/// holds the bits to keep.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TcPeditKey {
    /// Bits to keep, as the bytes are on the wire.
    pub mask: [u8; 4],
    /// Bits to set, as on the wire.
    pub val: [u8; 4],
    /// Offset in the header.
    pub off: u32,
    /// Legacy offset-from-packet fields (unused with typed keys).
    pub at: u32,
    /// Legacy.
    pub offmask: u32,
    /// Legacy.
    pub shift: u32,
}

/// `struct tc_pedit_sel` with its keys.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TcPeditSel {
    /// Common head.
    pub gen: TcGen,
    /// Flags.
    pub flags: u8,
    /// The keys (`nkeys` is their count).
    pub keys: Vec<TcPeditKey>,
}

impl AttrValue for TcPeditSel {
    fn put(&self, out: &mut Vec<u8>) {
        self.gen.put(out);
        out.push(u8::try_from(self.keys.len()).unwrap_or(u8::MAX));
        out.push(self.flags);
        out.extend_from_slice(&[0, 0]);
        for k in &self.keys {
            out.extend_from_slice(&k.mask);
            out.extend_from_slice(&k.val);
            for w in [k.off, k.at, k.offmask, k.shift] {
                out.extend_from_slice(&w.to_ne_bytes());
            }
        }
    }
    fn get(kind: u16, b: &[u8]) -> Result<Self, DecodeError> {
        let gen = TcGen::get(kind, b, "24 + 24 * nkeys (struct tc_pedit_sel)", 24)?;
        let nkeys = usize::from(b[20]);
        if b.len() < 24 + 24 * nkeys {
            return Err(DecodeError::BadLength { kind, len: b.len(), expected: "24 + 24 * nkeys" });
        }
        let keys = (0..nkeys)
            .map(|i| {
                let k = &b[24 + 24 * i..48 + 24 * i];
                TcPeditKey {
                    mask: [k[0], k[1], k[2], k[3]],
                    val: [k[4], k[5], k[6], k[7]],
                    off: ne_u32(k, 8),
                    at: ne_u32(k, 12),
                    offmask: ne_u32(k, 16),
                    shift: ne_u32(k, 20),
                }
            })
            .collect();
        Ok(TcPeditSel { gen, flags: b[21], keys })
    }
}

/// `struct gnet_stats_basic`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GnetStatsBasic {
    /// Bytes seen.
    pub bytes: u64,
    /// Packets seen (32 bits; `TCA_STATS_PKT64` has the 64-bit count).
    pub packets: u32,
}

impl AttrValue for GnetStatsBasic {
    fn put(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.bytes.to_ne_bytes());
        out.extend_from_slice(&self.packets.to_ne_bytes());
        out.extend_from_slice(&[0; 4]);
    }
    fn get(kind: u16, b: &[u8]) -> Result<Self, DecodeError> {
        if b.len() < 12 {
            return Err(DecodeError::BadLength { kind, len: b.len(), expected: "12 or 16 (struct gnet_stats_basic)" });
        }
        Ok(GnetStatsBasic { bytes: u64::from(ne_u32(b, 0)) | (u64::from(ne_u32(b, 4)) << 32), packets: ne_u32(b, 8) })
    }
}

/// `struct tcf_t`: action timestamps, in clock ticks (`USER_HZ`) before now.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TcfT {
    /// Since installation.
    pub install: u64,
    /// Since the last packet.
    pub lastuse: u64,
    /// Expiry.
    pub expires: u64,
    /// Since the first packet.
    pub firstuse: u64,
}

impl AttrValue for TcfT {
    fn put(&self, out: &mut Vec<u8>) {
        for w in [self.install, self.lastuse, self.expires, self.firstuse] {
            out.extend_from_slice(&w.to_ne_bytes());
        }
    }
    fn get(kind: u16, b: &[u8]) -> Result<Self, DecodeError> {
        if b.len() < 32 {
            return Err(DecodeError::BadLength { kind, len: b.len(), expected: "32 (struct tcf_t)" });
        }
        let w = |o: usize| u64::from(ne_u32(b, o)) | (u64::from(ne_u32(b, o + 4)) << 32);
        Ok(TcfT { install: w(0), lastuse: w(8), expires: w(16), firstuse: w(24) })
    }
}

attr_enum! {
    /// `TCA_FLOWER_*`: flower's options (match keys, actions, flags).
    pub enum FlowerAttr {
        /// `TCA_FLOWER_CLASSID`.
        ClassId(u32) = TCA_FLOWER_CLASSID,
        /// `TCA_FLOWER_INDEV`.
        InDev(String) = TCA_FLOWER_INDEV,
        /// `TCA_FLOWER_ACT`: the actions, in order.
        Act(ActionList) = TCA_FLOWER_ACT,
        /// `TCA_FLOWER_KEY_ETH_DST`.
        KeyEthDst([u8; 6]) = TCA_FLOWER_KEY_ETH_DST,
        /// `TCA_FLOWER_KEY_ETH_DST_MASK`.
        KeyEthDstMask([u8; 6]) = TCA_FLOWER_KEY_ETH_DST_MASK,
        /// `TCA_FLOWER_KEY_ETH_SRC`.
        KeyEthSrc([u8; 6]) = TCA_FLOWER_KEY_ETH_SRC,
        /// `TCA_FLOWER_KEY_ETH_SRC_MASK`.
        KeyEthSrcMask([u8; 6]) = TCA_FLOWER_KEY_ETH_SRC_MASK,
        /// `TCA_FLOWER_KEY_ETH_TYPE`.
        KeyEthType(Be16) = TCA_FLOWER_KEY_ETH_TYPE,
        /// `TCA_FLOWER_KEY_IP_PROTO`.
        KeyIpProto(u8) = TCA_FLOWER_KEY_IP_PROTO,
        /// `TCA_FLOWER_KEY_IPV4_SRC`.
        KeyIpv4Src([u8; 4]) = TCA_FLOWER_KEY_IPV4_SRC,
        /// `TCA_FLOWER_KEY_IPV4_SRC_MASK`.
        KeyIpv4SrcMask([u8; 4]) = TCA_FLOWER_KEY_IPV4_SRC_MASK,
        /// `TCA_FLOWER_KEY_IPV4_DST`.
        KeyIpv4Dst([u8; 4]) = TCA_FLOWER_KEY_IPV4_DST,
        /// `TCA_FLOWER_KEY_IPV4_DST_MASK`.
        KeyIpv4DstMask([u8; 4]) = TCA_FLOWER_KEY_IPV4_DST_MASK,
        /// `TCA_FLOWER_KEY_IPV6_SRC`.
        KeyIpv6Src([u8; 16]) = TCA_FLOWER_KEY_IPV6_SRC,
        /// `TCA_FLOWER_KEY_IPV6_SRC_MASK`.
        KeyIpv6SrcMask([u8; 16]) = TCA_FLOWER_KEY_IPV6_SRC_MASK,
        /// `TCA_FLOWER_KEY_IPV6_DST`.
        KeyIpv6Dst([u8; 16]) = TCA_FLOWER_KEY_IPV6_DST,
        /// `TCA_FLOWER_KEY_IPV6_DST_MASK`.
        KeyIpv6DstMask([u8; 16]) = TCA_FLOWER_KEY_IPV6_DST_MASK,
        /// `TCA_FLOWER_KEY_TCP_SRC`.
        KeyTcpSrc(Be16) = TCA_FLOWER_KEY_TCP_SRC,
        /// `TCA_FLOWER_KEY_TCP_DST`.
        KeyTcpDst(Be16) = TCA_FLOWER_KEY_TCP_DST,
        /// `TCA_FLOWER_KEY_UDP_SRC`.
        KeyUdpSrc(Be16) = TCA_FLOWER_KEY_UDP_SRC,
        /// `TCA_FLOWER_KEY_UDP_DST`.
        KeyUdpDst(Be16) = TCA_FLOWER_KEY_UDP_DST,
        /// `TCA_FLOWER_FLAGS`: `TCA_CLS_FLAGS_*` (skip_sw/skip_hw in, in_hw/not_in_hw out).
        Flags(u32) = TCA_FLOWER_FLAGS,
        /// `TCA_FLOWER_KEY_VLAN_ID` (host order despite the header comment; iproute2 and the kernel agree).
        KeyVlanId(u16) = TCA_FLOWER_KEY_VLAN_ID,
        /// `TCA_FLOWER_KEY_VLAN_PRIO`.
        KeyVlanPrio(u8) = TCA_FLOWER_KEY_VLAN_PRIO,
        /// `TCA_FLOWER_KEY_VLAN_ETH_TYPE`: the EtherType inside the tag.
        KeyVlanEthType(Be16) = TCA_FLOWER_KEY_VLAN_ETH_TYPE,
        /// `TCA_FLOWER_KEY_TCP_SRC_MASK`.
        KeyTcpSrcMask(Be16) = TCA_FLOWER_KEY_TCP_SRC_MASK,
        /// `TCA_FLOWER_KEY_TCP_DST_MASK`.
        KeyTcpDstMask(Be16) = TCA_FLOWER_KEY_TCP_DST_MASK,
        /// `TCA_FLOWER_KEY_UDP_SRC_MASK`.
        KeyUdpSrcMask(Be16) = TCA_FLOWER_KEY_UDP_SRC_MASK,
        /// `TCA_FLOWER_KEY_UDP_DST_MASK`.
        KeyUdpDstMask(Be16) = TCA_FLOWER_KEY_UDP_DST_MASK,
        /// `TCA_FLOWER_KEY_FLAGS` (`TCA_FLOWER_KEY_FLAGS_IS_FRAGMENT`...).
        KeyFlags(Be32) = TCA_FLOWER_KEY_FLAGS,
        /// `TCA_FLOWER_KEY_FLAGS_MASK`.
        KeyFlagsMask(Be32) = TCA_FLOWER_KEY_FLAGS_MASK,
        /// `TCA_FLOWER_KEY_ICMPV4_CODE`.
        KeyIcmpv4Code(u8) = TCA_FLOWER_KEY_ICMPV4_CODE,
        /// `TCA_FLOWER_KEY_ICMPV4_CODE_MASK`.
        KeyIcmpv4CodeMask(u8) = TCA_FLOWER_KEY_ICMPV4_CODE_MASK,
        /// `TCA_FLOWER_KEY_ICMPV4_TYPE`.
        KeyIcmpv4Type(u8) = TCA_FLOWER_KEY_ICMPV4_TYPE,
        /// `TCA_FLOWER_KEY_ICMPV4_TYPE_MASK`.
        KeyIcmpv4TypeMask(u8) = TCA_FLOWER_KEY_ICMPV4_TYPE_MASK,
        /// `TCA_FLOWER_KEY_ICMPV6_CODE`.
        KeyIcmpv6Code(u8) = TCA_FLOWER_KEY_ICMPV6_CODE,
        /// `TCA_FLOWER_KEY_ICMPV6_CODE_MASK`.
        KeyIcmpv6CodeMask(u8) = TCA_FLOWER_KEY_ICMPV6_CODE_MASK,
        /// `TCA_FLOWER_KEY_ICMPV6_TYPE`.
        KeyIcmpv6Type(u8) = TCA_FLOWER_KEY_ICMPV6_TYPE,
        /// `TCA_FLOWER_KEY_ICMPV6_TYPE_MASK`.
        KeyIcmpv6TypeMask(u8) = TCA_FLOWER_KEY_ICMPV6_TYPE_MASK,
        /// `TCA_FLOWER_KEY_ARP_SIP`.
        KeyArpSip([u8; 4]) = TCA_FLOWER_KEY_ARP_SIP,
        /// `TCA_FLOWER_KEY_ARP_SIP_MASK`.
        KeyArpSipMask([u8; 4]) = TCA_FLOWER_KEY_ARP_SIP_MASK,
        /// `TCA_FLOWER_KEY_ARP_TIP`.
        KeyArpTip([u8; 4]) = TCA_FLOWER_KEY_ARP_TIP,
        /// `TCA_FLOWER_KEY_ARP_TIP_MASK`.
        KeyArpTipMask([u8; 4]) = TCA_FLOWER_KEY_ARP_TIP_MASK,
        /// `TCA_FLOWER_KEY_ARP_OP`.
        KeyArpOp(u8) = TCA_FLOWER_KEY_ARP_OP,
        /// `TCA_FLOWER_KEY_ARP_OP_MASK`.
        KeyArpOpMask(u8) = TCA_FLOWER_KEY_ARP_OP_MASK,
        /// `TCA_FLOWER_KEY_ARP_SHA`.
        KeyArpSha([u8; 6]) = TCA_FLOWER_KEY_ARP_SHA,
        /// `TCA_FLOWER_KEY_ARP_SHA_MASK`.
        KeyArpShaMask([u8; 6]) = TCA_FLOWER_KEY_ARP_SHA_MASK,
        /// `TCA_FLOWER_KEY_ARP_THA`.
        KeyArpTha([u8; 6]) = TCA_FLOWER_KEY_ARP_THA,
        /// `TCA_FLOWER_KEY_ARP_THA_MASK`.
        KeyArpThaMask([u8; 6]) = TCA_FLOWER_KEY_ARP_THA_MASK,
        /// `TCA_FLOWER_KEY_TCP_FLAGS`.
        KeyTcpFlags(Be16) = TCA_FLOWER_KEY_TCP_FLAGS,
        /// `TCA_FLOWER_KEY_TCP_FLAGS_MASK`.
        KeyTcpFlagsMask(Be16) = TCA_FLOWER_KEY_TCP_FLAGS_MASK,
        /// `TCA_FLOWER_KEY_IP_TOS`.
        KeyIpTos(u8) = TCA_FLOWER_KEY_IP_TOS,
        /// `TCA_FLOWER_KEY_IP_TOS_MASK`.
        KeyIpTosMask(u8) = TCA_FLOWER_KEY_IP_TOS_MASK,
        /// `TCA_FLOWER_KEY_IP_TTL`.
        KeyIpTtl(u8) = TCA_FLOWER_KEY_IP_TTL,
        /// `TCA_FLOWER_KEY_IP_TTL_MASK`.
        KeyIpTtlMask(u8) = TCA_FLOWER_KEY_IP_TTL_MASK,
        /// `TCA_FLOWER_KEY_CVLAN_ID`.
        KeyCvlanId(u16) = TCA_FLOWER_KEY_CVLAN_ID,
        /// `TCA_FLOWER_KEY_CVLAN_PRIO`.
        KeyCvlanPrio(u8) = TCA_FLOWER_KEY_CVLAN_PRIO,
        /// `TCA_FLOWER_KEY_CVLAN_ETH_TYPE`.
        KeyCvlanEthType(Be16) = TCA_FLOWER_KEY_CVLAN_ETH_TYPE,
        /// `TCA_FLOWER_IN_HW_COUNT`: how many devices hold the filter in hardware (dumps).
        InHwCount(u32) = TCA_FLOWER_IN_HW_COUNT,
        /// `TCA_FLOWER_KEY_CT_STATE` (`TCA_FLOWER_KEY_CT_FLAGS_*`).
        KeyCtState(u16) = TCA_FLOWER_KEY_CT_STATE,
        /// `TCA_FLOWER_KEY_CT_STATE_MASK`.
        KeyCtStateMask(u16) = TCA_FLOWER_KEY_CT_STATE_MASK,
        /// `TCA_FLOWER_KEY_CT_ZONE`.
        KeyCtZone(u16) = TCA_FLOWER_KEY_CT_ZONE,
        /// `TCA_FLOWER_KEY_CT_ZONE_MASK`.
        KeyCtZoneMask(u16) = TCA_FLOWER_KEY_CT_ZONE_MASK,
        /// `TCA_FLOWER_KEY_CT_MARK`.
        KeyCtMark(u32) = TCA_FLOWER_KEY_CT_MARK,
        /// `TCA_FLOWER_KEY_CT_MARK_MASK`.
        KeyCtMarkMask(u32) = TCA_FLOWER_KEY_CT_MARK_MASK,
        /// `TCA_FLOWER_KEY_CT_LABELS`.
        KeyCtLabels([u8; 16]) = TCA_FLOWER_KEY_CT_LABELS,
        /// `TCA_FLOWER_KEY_CT_LABELS_MASK`.
        KeyCtLabelsMask([u8; 16]) = TCA_FLOWER_KEY_CT_LABELS_MASK,
    }
}

attr_enum! {
    /// act_mirred's options.
    pub enum MirredAttr {
        /// `TCA_MIRRED_PARMS`.
        Parms(TcMirred) = TCA_MIRRED_PARMS,
        /// `TCA_MIRRED_TM` (dumps).
        Tm(TcfT) = TCA_MIRRED_TM,
    }
}

attr_enum! {
    /// act_gact's options.
    pub enum GactAttr {
        /// `TCA_GACT_PARMS` (`struct tc_gact` is a bare `tc_gen`).
        Parms(TcGen) = TCA_GACT_PARMS,
        /// `TCA_GACT_TM` (dumps).
        Tm(TcfT) = TCA_GACT_TM,
    }
}

attr_enum! {
    /// act_ct's options.
    pub enum CtAttr {
        /// `TCA_CT_PARMS` (`struct tc_ct` is a bare `tc_gen`).
        Parms(TcGen) = TCA_CT_PARMS,
        /// `TCA_CT_TM` (dumps).
        Tm(TcfT) = TCA_CT_TM,
        /// `TCA_CT_ACTION`: `TCA_CT_ACT_COMMIT`, `TCA_CT_ACT_FORCE`...
        Action(u16) = TCA_CT_ACTION,
        /// `TCA_CT_ZONE`.
        Zone(u16) = TCA_CT_ZONE,
        /// `TCA_CT_MARK`.
        Mark(u32) = TCA_CT_MARK,
        /// `TCA_CT_MARK_MASK`.
        MarkMask(u32) = TCA_CT_MARK_MASK,
        /// `TCA_CT_LABELS`.
        Labels([u8; 16]) = TCA_CT_LABELS,
        /// `TCA_CT_LABELS_MASK`.
        LabelsMask([u8; 16]) = TCA_CT_LABELS_MASK,
    }
}

attr_enum! {
    /// One `TCA_PEDIT_KEY_EX`'s contents.
    pub enum PeditKeyAttr {
        /// `TCA_PEDIT_KEY_EX_HTYPE`: `TCA_PEDIT_KEY_EX_HDR_TYPE_*`.
        Htype(u16) = TCA_PEDIT_KEY_EX_HTYPE,
        /// `TCA_PEDIT_KEY_EX_CMD`: `TCA_PEDIT_KEY_EX_CMD_SET` or `_ADD`.
        Cmd(u16) = TCA_PEDIT_KEY_EX_CMD,
    }
}

attr_enum! {
    /// The entries of `TCA_PEDIT_KEYS_EX`, one per key.
    pub enum PeditKeysExAttr {
        /// `TCA_PEDIT_KEY_EX`.
        KeyEx(Vec<PeditKeyAttr>) = TCA_PEDIT_KEY_EX | NLA_F_NESTED,
    }
}

attr_enum! {
    /// act_pedit's options.
    pub enum PeditAttr {
        /// `TCA_PEDIT_PARMS_EX`: the selector and its keys.
        ParmsEx(TcPeditSel) = TCA_PEDIT_PARMS_EX,
        /// `TCA_PEDIT_PARMS` (legacy form, from old dumps).
        Parms(TcPeditSel) = TCA_PEDIT_PARMS,
        /// `TCA_PEDIT_KEYS_EX`: header type and command per key, in key order.
        KeysEx(Vec<PeditKeysExAttr>) = TCA_PEDIT_KEYS_EX | NLA_F_NESTED,
        /// `TCA_PEDIT_TM` (dumps).
        Tm(TcfT) = TCA_PEDIT_TM,
    }
}

attr_enum! {
    /// act_csum's options.
    pub enum CsumAttr {
        /// `TCA_CSUM_PARMS`.
        Parms(TcCsum) = TCA_CSUM_PARMS,
        /// `TCA_CSUM_TM` (dumps).
        Tm(TcfT) = TCA_CSUM_TM,
    }
}

attr_enum! {
    /// act_vlan's options.
    pub enum VlanAttr {
        /// `TCA_VLAN_PARMS`.
        Parms(TcVlan) = TCA_VLAN_PARMS,
        /// `TCA_VLAN_TM` (dumps).
        Tm(TcfT) = TCA_VLAN_TM,
        /// `TCA_VLAN_PUSH_VLAN_ID`.
        PushVlanId(u16) = TCA_VLAN_PUSH_VLAN_ID,
        /// `TCA_VLAN_PUSH_VLAN_PROTOCOL`.
        PushVlanProtocol(Be16) = TCA_VLAN_PUSH_VLAN_PROTOCOL,
        /// `TCA_VLAN_PUSH_VLAN_PRIORITY`.
        PushVlanPriority(u8) = TCA_VLAN_PUSH_VLAN_PRIORITY,
    }
}

attr_enum! {
    /// `TCA_ACT_STATS` contents (`linux/gen_stats.h`).
    pub enum StatsAttr {
        /// `TCA_STATS_BASIC`: every packet, software and hardware.
        Basic(GnetStatsBasic) = TCA_STATS_BASIC,
        /// `TCA_STATS_BASIC_HW`: the part the hardware counted.
        BasicHw(GnetStatsBasic) = TCA_STATS_BASIC_HW,
        /// `TCA_STATS_PKT64`: the 64-bit packet count.
        Pkt64(u64) = TCA_STATS_PKT64,
    }
}

/// The options of one action, by its kind.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ActOptions {
    /// `mirred`.
    Mirred(Vec<MirredAttr>),
    /// `gact`.
    Gact(Vec<GactAttr>),
    /// `ct`.
    Ct(Vec<CtAttr>),
    /// `pedit`.
    Pedit(Vec<PeditAttr>),
    /// `csum`.
    Csum(Vec<CsumAttr>),
    /// `vlan`.
    Vlan(Vec<VlanAttr>),
    /// A kind this crate does not interpret.
    Other(Vec<Nla>),
}

impl ActOptions {
    fn put(&self, out: &mut Vec<u8>) {
        match self {
            ActOptions::Mirred(a) => a.put(out),
            ActOptions::Gact(a) => a.put(out),
            ActOptions::Ct(a) => a.put(out),
            ActOptions::Pedit(a) => a.put(out),
            ActOptions::Csum(a) => a.put(out),
            ActOptions::Vlan(a) => a.put(out),
            ActOptions::Other(a) => a.iter().for_each(|n| n.emit(out)),
        }
    }

    fn parse(kind: &str, b: &[u8]) -> Result<Self, DecodeError> {
        Ok(match kind {
            "mirred" => ActOptions::Mirred(MirredAttr::parse_all(b)?),
            "gact" => ActOptions::Gact(GactAttr::parse_all(b)?),
            "ct" => ActOptions::Ct(CtAttr::parse_all(b)?),
            "pedit" => ActOptions::Pedit(PeditAttr::parse_all(b)?),
            "csum" => ActOptions::Csum(CsumAttr::parse_all(b)?),
            "vlan" => ActOptions::Vlan(VlanAttr::parse_all(b)?),
            _ => ActOptions::Other(parse_nlas(b)?),
        })
    }
}

/// One attribute of an action (`TCA_ACT_*`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ActAttr {
    /// `TCA_ACT_KIND`: "mirred", "ct"...
    Kind(String),
    /// `TCA_ACT_OPTIONS` (sent with `NLA_F_NESTED`).
    Options(ActOptions),
    /// `TCA_ACT_INDEX`.
    Index(u32),
    /// `TCA_ACT_STATS` (dumps).
    Stats(Vec<StatsAttr>),
    /// `TCA_ACT_COOKIE`: opaque bytes the kernel keeps (hwol: the ufid).
    Cookie(Vec<u8>),
    /// Anything else, verbatim.
    Other(Nla),
}

/// One action: the entry of `TCA_FLOWER_ACT` whose type is its position.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TcAction {
    /// Position (1-based; the attribute type of the entry).
    pub order: u16,
    /// Its attributes, in wire order.
    pub attrs: Vec<ActAttr>,
}

impl TcAction {
    /// The action's kind.
    pub fn kind(&self) -> Option<&str> {
        self.attrs.iter().find_map(|a| if let ActAttr::Kind(k) = a { Some(k.as_str()) } else { None })
    }

    /// Its options.
    pub fn options(&self) -> Option<&ActOptions> {
        self.attrs.iter().find_map(|a| if let ActAttr::Options(o) = a { Some(o) } else { None })
    }

    /// Its counters, if the kernel sent them.
    pub fn stats(&self) -> Option<&[StatsAttr]> {
        self.attrs.iter().find_map(|a| if let ActAttr::Stats(s) = a { Some(s.as_slice()) } else { None })
    }

    /// Its cookie.
    pub fn cookie(&self) -> Option<&[u8]> {
        self.attrs.iter().find_map(|a| if let ActAttr::Cookie(c) = a { Some(c.as_slice()) } else { None })
    }

    fn emit(&self, out: &mut Vec<u8>) {
        put_nested(out, self.order, |o| {
            for a in &self.attrs {
                match a {
                    ActAttr::Kind(k) => put_value(o, TCA_ACT_KIND, k),
                    ActAttr::Options(opts) => put_nested(o, TCA_ACT_OPTIONS | NLA_F_NESTED, |p| opts.put(p)),
                    ActAttr::Index(i) => put_value(o, TCA_ACT_INDEX, i),
                    ActAttr::Stats(s) => put_nested(o, TCA_ACT_STATS, |p| s.put(p)),
                    ActAttr::Cookie(c) => put_attr(o, TCA_ACT_COOKIE, c),
                    ActAttr::Other(n) => n.emit(o),
                }
            }
        })
    }

    fn parse(n: &Nla) -> Result<Self, DecodeError> {
        let raw = parse_nlas(&n.value)?;
        let kind = raw
            .iter()
            .find(|a| a.ty() == TCA_ACT_KIND)
            .map(|a| String::get(TCA_ACT_KIND, &a.value))
            .transpose()?
            .unwrap_or_default();
        let attrs = raw
            .iter()
            .map(|a| {
                Ok(match a.ty() {
                    TCA_ACT_KIND => ActAttr::Kind(kind.clone()),
                    TCA_ACT_OPTIONS => ActAttr::Options(ActOptions::parse(&kind, &a.value)?),
                    TCA_ACT_INDEX => ActAttr::Index(u32::get(TCA_ACT_INDEX, &a.value)?),
                    TCA_ACT_STATS => ActAttr::Stats(StatsAttr::parse_all(&a.value)?),
                    TCA_ACT_COOKIE => ActAttr::Cookie(a.value.clone()),
                    _ => ActAttr::Other(a.clone()),
                })
            })
            .collect::<Result<_, DecodeError>>()?;
        Ok(TcAction { order: n.ty(), attrs })
    }
}

fn put_value(out: &mut Vec<u8>, kind: u16, v: &impl AttrValue) {
    let mut p = Vec::new();
    v.put(&mut p);
    put_attr(out, kind, &p);
}

/// The payload of `TCA_FLOWER_ACT`: the actions in order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ActionList(pub Vec<TcAction>);

impl AttrValue for ActionList {
    fn put(&self, out: &mut Vec<u8>) {
        for a in &self.0 {
            a.emit(out);
        }
    }
    fn get(_kind: u16, b: &[u8]) -> Result<Self, DecodeError> {
        Ok(ActionList(parse_nlas(b)?.iter().map(TcAction::parse).collect::<Result<_, _>>()?))
    }
}

/// An attribute of the filter message itself (`TCA_*`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TcaAttr {
    /// `TCA_KIND`: the classifier ("flower").
    Kind(String),
    /// `TCA_CHAIN`.
    Chain(u32),
    /// `TCA_OPTIONS` of a flower filter.
    Options(Vec<FlowerAttr>),
    /// Anything else (including the options of another classifier), verbatim.
    Other(Nla),
}

/// A whole RTM_*TFILTER message.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FilterMsg {
    /// Netlink header (the length is computed when encoding).
    pub header: NlHeader,
    /// `struct tcmsg`.
    pub tcm: TcMsg,
    /// The attributes, in wire order.
    pub attrs: Vec<TcaAttr>,
}

impl FilterMsg {
    /// Encode, with `nlmsg_len` filled in.
    pub fn emit(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(256);
        out.extend_from_slice(&[0; 4]);
        out.extend_from_slice(&self.header.ty.to_ne_bytes());
        out.extend_from_slice(&self.header.flags.to_ne_bytes());
        out.extend_from_slice(&self.header.seq.to_ne_bytes());
        out.extend_from_slice(&self.header.pid.to_ne_bytes());
        out.extend_from_slice(&[self.tcm.family, 0, 0, 0]);
        out.extend_from_slice(&self.tcm.ifindex.to_ne_bytes());
        out.extend_from_slice(&self.tcm.handle.to_ne_bytes());
        out.extend_from_slice(&self.tcm.parent.to_ne_bytes());
        out.extend_from_slice(&self.tcm.info.to_ne_bytes());
        for a in &self.attrs {
            match a {
                TcaAttr::Kind(k) => put_value(&mut out, TCA_KIND, k),
                TcaAttr::Chain(c) => put_value(&mut out, TCA_CHAIN, c),
                TcaAttr::Options(o) => put_nested(&mut out, TCA_OPTIONS, |p| o.put(p)),
                TcaAttr::Other(n) => n.emit(&mut out),
            }
        }
        let len = u32::try_from(out.len()).unwrap_or(u32::MAX);
        out[..4].copy_from_slice(&len.to_ne_bytes());
        out
    }

    /// Decode one message (the first, if `b` holds several). `TCA_OPTIONS`
    /// is decoded as flower's when `TCA_KIND` is "flower".
    pub fn parse(b: &[u8]) -> Result<Self, DecodeError> {
        let hdr = TCMSG_LEN + NLMSG_HDRLEN;
        if b.len() < hdr {
            return Err(DecodeError::Truncated { what: "nlmsghdr + tcmsg", need: hdr, have: b.len() });
        }
        let len = ne_u32(b, 0) as usize;
        if len < hdr || len > b.len() {
            return Err(DecodeError::Truncated { what: "netlink message", need: len.max(hdr), have: b.len() });
        }
        let header = NlHeader {
            ty: u16::from_ne_bytes([b[4], b[5]]),
            flags: u16::from_ne_bytes([b[6], b[7]]),
            seq: ne_u32(b, 8),
            pid: ne_u32(b, 12),
        };
        let tcm = TcMsg {
            family: b[16],
            ifindex: ne_u32(b, 20) as i32,
            handle: ne_u32(b, 24),
            parent: ne_u32(b, 28),
            info: ne_u32(b, 32),
        };
        let raw = parse_nlas(&b[hdr..len])?;
        let flower =
            raw.iter().any(|a| a.ty() == TCA_KIND && String::get(TCA_KIND, &a.value).is_ok_and(|k| k == "flower"));
        let attrs = raw
            .iter()
            .map(|a| {
                Ok(match a.ty() {
                    TCA_KIND => TcaAttr::Kind(String::get(TCA_KIND, &a.value)?),
                    TCA_CHAIN => TcaAttr::Chain(u32::get(TCA_CHAIN, &a.value)?),
                    TCA_OPTIONS if flower => TcaAttr::Options(FlowerAttr::parse_all(&a.value)?),
                    _ => TcaAttr::Other(a.clone()),
                })
            })
            .collect::<Result<_, DecodeError>>()?;
        Ok(FilterMsg { header, tcm, attrs })
    }

    /// The chain (0 when absent).
    pub fn chain(&self) -> u32 {
        self.attrs.iter().find_map(|a| if let TcaAttr::Chain(c) = a { Some(*c) } else { None }).unwrap_or(0)
    }

    /// The flower options, if this is a flower filter.
    pub fn flower(&self) -> Option<&[FlowerAttr]> {
        self.attrs.iter().find_map(|a| if let TcaAttr::Options(o) = a { Some(o.as_slice()) } else { None })
    }

    /// The actions of a flower filter.
    pub fn actions(&self) -> &[TcAction] {
        self.flower()
            .and_then(|o| o.iter().find_map(|a| if let FlowerAttr::Act(l) = a { Some(l.0.as_slice()) } else { None }))
            .unwrap_or(&[])
    }

    /// `TCA_FLOWER_FLAGS` (0 when absent).
    pub fn flower_flags(&self) -> u32 {
        self.flower()
            .and_then(|o| o.iter().find_map(|a| if let FlowerAttr::Flags(f) = a { Some(*f) } else { None }))
            .unwrap_or(0)
    }
}

/// Split a buffer holding several netlink messages (a dump) into messages:
/// (type, whole message bytes). Stops at a truncated message with an error.
pub fn split_messages(mut b: &[u8]) -> Result<Vec<(u16, &[u8])>, DecodeError> {
    let mut out = Vec::new();
    while b.len() >= NLMSG_HDRLEN {
        let len = ne_u32(b, 0) as usize;
        if len < NLMSG_HDRLEN || len > b.len() {
            return Err(DecodeError::Truncated { what: "netlink message", need: len.max(NLMSG_HDRLEN), have: b.len() });
        }
        out.push((u16::from_ne_bytes([b[4], b[5]]), &b[..len]));
        b = &b[crate::nla::align4(len).min(b.len())..];
    }
    Ok(out)
}
