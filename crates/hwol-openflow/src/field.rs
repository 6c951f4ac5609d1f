//! The match-field registry: every field hwol's OpenFlow layer can match,
//! set, load or move, with its names, width and where it lives in an
//! [`OfKey`].
//!
//! Values travel as `u128` in their natural numeric form: a MAC is a 48-bit
//! number (`16:fd:c6:0b:60:52` is `0x16fdc60b6052`), an IPv4 address a 32-bit
//! number, an IPv6 address a 128-bit number, all most-significant byte first.
//!
//! `vlan_tci` follows OVS: bit 0x1000 (the CFI/DEI position) means "a tag is
//! present". In the datapath key presence is a non-zero TPID; every real TPID
//! (0x8100, 0x88a8) has bit 0x8000 set, so the CFI bit of a `vlan_tci` mask
//! becomes a 0x8000 mask on the TPID. The tag's own DEI bit cannot be matched.

use crate::key::OfKey;

/// A field hwol can match on or write.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Field {
    /// Input port.
    InPort,
    /// Ethernet source.
    EthSrc,
    /// Ethernet destination.
    EthDst,
    /// EtherType (innermost).
    EthType,
    /// Outer VLAN TCI, with 0x1000 meaning "tag present" (see the module docs).
    VlanTci,
    /// ARP opcode.
    ArpOp,
    /// ARP sender protocol address.
    ArpSpa,
    /// ARP target protocol address.
    ArpTpa,
    /// ARP sender hardware address.
    ArpSha,
    /// ARP target hardware address.
    ArpTha,
    /// IPv4 source.
    IpSrc,
    /// IPv4 destination.
    IpDst,
    /// IPv6 source.
    Ipv6Src,
    /// IPv6 destination.
    Ipv6Dst,
    /// IPv6 flow label.
    Ipv6Label,
    /// IP protocol.
    IpProto,
    /// IPv4 TTL / IPv6 hop limit.
    IpTtl,
    /// The DSCP bits of the TOS byte, in place (`nw_tos`: `tos & 0xfc`).
    NwTos,
    /// The ECN bits of the TOS byte.
    NwEcn,
    /// Fragment bits: 1 = is a fragment, 2 = is a later fragment.
    IpFrag,
    /// L4 source port (TCP, UDP, SCTP).
    TpSrc,
    /// L4 destination port.
    TpDst,
    /// TCP flags (12 bits).
    TcpFlags,
    /// ICMP / ICMPv6 type.
    IcmpType,
    /// ICMP / ICMPv6 code.
    IcmpCode,
    /// Conntrack state bits.
    CtState,
    /// Conntrack zone.
    CtZone,
    /// Conntrack mark.
    CtMark,
    /// Conntrack label.
    CtLabel,
    /// skb mark (`pkt_mark`).
    PktMark,
    /// Register `reg0`..`reg15` (32 bits).
    Reg(u8),
    /// Extended register `xreg0`..`xreg7` (64 bits: reg 2N high, reg 2N+1 low).
    Xreg(u8),
    /// The OpenFlow metadata field.
    Metadata,
    /// Conjunction id.
    ConjId,
}

impl Field {
    /// Width in bits.
    pub fn width(self) -> u16 {
        use Field::*;
        match self {
            InPort | ArpSpa | ArpTpa | IpSrc | IpDst | CtMark | PktMark | Reg(_) | ConjId => 32,
            EthSrc | EthDst | ArpSha | ArpTha => 48,
            EthType | VlanTci | ArpOp | TpSrc | TpDst | CtZone => 16,
            Ipv6Src | Ipv6Dst | CtLabel => 128,
            Ipv6Label => 20,
            IpProto | IpTtl | NwTos | IcmpType | IcmpCode | CtState => 8,
            NwEcn | IpFrag => 2,
            TcpFlags => 12,
            Xreg(_) | Metadata => 64,
        }
    }

    /// The bits of the field that exist (for `nw_tos`, 0xfc).
    pub fn all_ones(self) -> u128 {
        match self {
            Field::NwTos => 0xfc,
            Field::VlanTci => 0xffff,
            f if f.width() == 128 => u128::MAX,
            f => (1u128 << f.width()) - 1,
        }
    }

    /// Whether ovs-ofctl accepts a `/mask` on the field.
    pub fn maskable(self) -> bool {
        use Field::*;
        !matches!(self, InPort | EthType | ArpOp | IpProto | IpTtl | NwTos | NwEcn | IcmpType | IcmpCode | CtZone)
    }

    /// Read the field from `k` (a key or a mask).
    pub fn get(self, k: &OfKey) -> u128 {
        use Field::*;
        let d = &k.dp;
        match self {
            InPort => d.in_port as u128,
            EthSrc => mac(d.eth_src),
            EthDst => mac(d.eth_dst),
            EthType => d.eth_type as u128,
            VlanTci => {
                let present = if d.vlans[0].tpid & 0x8000 != 0 { 0x1000 } else { 0 };
                ((d.vlans[0].tci & !0x1000) | present) as u128
            }
            ArpOp => d.arp_op as u128,
            ArpSpa | IpSrc => u32::from_be_bytes(d.nw_src) as u128,
            ArpTpa | IpDst => u32::from_be_bytes(d.nw_dst) as u128,
            ArpSha => mac(d.arp_sha),
            ArpTha => mac(d.arp_tha),
            Ipv6Src => u128::from_be_bytes(d.ipv6_src),
            Ipv6Dst => u128::from_be_bytes(d.ipv6_dst),
            Ipv6Label => d.ipv6_label as u128,
            IpProto => d.nw_proto as u128,
            IpTtl => d.nw_ttl as u128,
            NwTos => (d.nw_tos & 0xfc) as u128,
            NwEcn => (d.nw_tos & 0x03) as u128,
            IpFrag => (d.nw_frag & 0x03) as u128,
            TpSrc | IcmpType => d.tp_src as u128 & if self == IcmpType { 0xff } else { 0xffff },
            TpDst | IcmpCode => d.tp_dst as u128 & if self == IcmpCode { 0xff } else { 0xffff },
            TcpFlags => (d.tcp_flags & 0x0fff) as u128,
            CtState => d.ct_state as u128,
            CtZone => d.ct_zone as u128,
            CtMark => d.ct_mark as u128,
            CtLabel => d.ct_label,
            PktMark => d.skb_mark as u128,
            Reg(n) => k.regs[n as usize & 15] as u128,
            Xreg(n) => {
                let i = (n as usize & 7) * 2;
                ((k.regs[i] as u128) << 32) | k.regs[i + 1] as u128
            }
            Metadata => k.metadata as u128,
            ConjId => k.conj_id as u128,
        }
    }

    /// Write `v` into the field of `k`, as a value (a key or a flow being
    /// translated). Bits beyond the field's width are ignored.
    pub fn put(self, k: &mut OfKey, v: u128) {
        use Field::*;
        let v = v & self.all_ones();
        let d = &mut k.dp;
        match self {
            InPort => d.in_port = v as u32,
            EthSrc => d.eth_src = mac_bytes(v),
            EthDst => d.eth_dst = mac_bytes(v),
            EthType => d.eth_type = v as u16,
            VlanTci => {
                if v & 0x1000 != 0 {
                    if d.vlans[0].tpid & 0x8000 == 0 {
                        d.vlans[0].tpid = 0x8100;
                    }
                    d.vlans[0].tci = (d.vlans[0].tci & 0x1000) | (v as u16 & !0x1000);
                } else {
                    d.vlans[0] = Default::default();
                }
            }
            ArpOp => d.arp_op = v as u16,
            ArpSpa | IpSrc => d.nw_src = (v as u32).to_be_bytes(),
            ArpTpa | IpDst => d.nw_dst = (v as u32).to_be_bytes(),
            ArpSha => d.arp_sha = mac_bytes(v),
            ArpTha => d.arp_tha = mac_bytes(v),
            Ipv6Src => d.ipv6_src = v.to_be_bytes(),
            Ipv6Dst => d.ipv6_dst = v.to_be_bytes(),
            Ipv6Label => d.ipv6_label = v as u32,
            IpProto => d.nw_proto = v as u8,
            IpTtl => d.nw_ttl = v as u8,
            NwTos => d.nw_tos = (d.nw_tos & 0x03) | v as u8,
            NwEcn => d.nw_tos = (d.nw_tos & 0xfc) | v as u8,
            IpFrag => d.nw_frag = v as u8,
            TpSrc => d.tp_src = v as u16,
            TpDst => d.tp_dst = v as u16,
            IcmpType => d.tp_src = v as u16,
            IcmpCode => d.tp_dst = v as u16,
            TcpFlags => d.tcp_flags = v as u16,
            CtState => d.ct_state = v as u8,
            CtZone => d.ct_zone = v as u16,
            CtMark => d.ct_mark = v as u32,
            CtLabel => d.ct_label = v,
            PktMark => d.skb_mark = v as u32,
            Reg(n) => k.regs[n as usize & 15] = v as u32,
            Xreg(n) => {
                let i = (n as usize & 7) * 2;
                k.regs[i] = (v >> 32) as u32;
                k.regs[i + 1] = v as u32;
            }
            Metadata => k.metadata = v as u64,
            ConjId => k.conj_id = v as u32,
        }
    }

    /// Write `m` into the field of a *mask*. The same as [`Field::put`]
    /// except for `vlan_tci`, whose presence bit maps to a TPID mask.
    pub fn put_mask(self, mask: &mut OfKey, m: u128) {
        if self == Field::VlanTci {
            let tag = &mut mask.dp.vlans[0];
            tag.tpid = if m & 0x1000 != 0 { 0x8000 } else { 0 };
            tag.tci = m as u16 & !0x1000;
        } else {
            self.put(mask, m);
        }
    }

    /// Read the field from a *mask* (inverse of [`Field::put_mask`]).
    pub fn get_mask(self, mask: &OfKey) -> u128 {
        if self == Field::VlanTci {
            let tag = &mask.dp.vlans[0];
            let present = if tag.tpid & 0x8000 != 0 { 0x1000 } else { 0 };
            ((tag.tci & !0x1000) | present) as u128
        } else {
            self.get(mask)
        }
    }

    /// The ovs-ofctl name, as `dump-flows` prints it in matches.
    pub fn name(self) -> String {
        use Field::*;
        let s = match self {
            InPort => "in_port",
            EthSrc => "dl_src",
            EthDst => "dl_dst",
            EthType => "dl_type",
            VlanTci => "vlan_tci",
            ArpOp => "arp_op",
            ArpSpa => "arp_spa",
            ArpTpa => "arp_tpa",
            ArpSha => "arp_sha",
            ArpTha => "arp_tha",
            IpSrc => "nw_src",
            IpDst => "nw_dst",
            Ipv6Src => "ipv6_src",
            Ipv6Dst => "ipv6_dst",
            Ipv6Label => "ipv6_label",
            IpProto => "nw_proto",
            IpTtl => "nw_ttl",
            NwTos => "nw_tos",
            NwEcn => "nw_ecn",
            IpFrag => "nw_frag",
            TpSrc => "tp_src",
            TpDst => "tp_dst",
            TcpFlags => "tcp_flags",
            IcmpType => "icmp_type",
            IcmpCode => "icmp_code",
            CtState => "ct_state",
            CtZone => "ct_zone",
            CtMark => "ct_mark",
            CtLabel => "ct_label",
            PktMark => "pkt_mark",
            Metadata => "metadata",
            ConjId => "conj_id",
            Reg(n) => return format!("reg{n}"),
            Xreg(n) => return format!("xreg{n}"),
        };
        s.to_string()
    }

    /// The Nicira/OpenFlow extensible-match name used in `load:`/`move:`
    /// (`NXM_NX_REG0`, `NXM_OF_ETH_SRC`, ...).
    pub fn nxm_name(self) -> String {
        use Field::*;
        let s = match self {
            InPort => "NXM_OF_IN_PORT",
            EthSrc => "NXM_OF_ETH_SRC",
            EthDst => "NXM_OF_ETH_DST",
            EthType => "NXM_OF_ETH_TYPE",
            VlanTci => "NXM_OF_VLAN_TCI",
            ArpOp => "NXM_OF_ARP_OP",
            ArpSpa => "NXM_OF_ARP_SPA",
            ArpTpa => "NXM_OF_ARP_TPA",
            ArpSha => "NXM_NX_ARP_SHA",
            ArpTha => "NXM_NX_ARP_THA",
            IpSrc => "NXM_OF_IP_SRC",
            IpDst => "NXM_OF_IP_DST",
            Ipv6Src => "NXM_NX_IPV6_SRC",
            Ipv6Dst => "NXM_NX_IPV6_DST",
            Ipv6Label => "NXM_NX_IPV6_LABEL",
            IpProto => "NXM_OF_IP_PROTO",
            IpTtl => "NXM_NX_IP_TTL",
            NwTos => "NXM_OF_IP_TOS",
            NwEcn => "NXM_NX_IP_ECN",
            IpFrag => "NXM_NX_IP_FRAG",
            TpSrc => "NXM_OF_TCP_SRC",
            TpDst => "NXM_OF_TCP_DST",
            TcpFlags => "NXM_NX_TCP_FLAGS",
            IcmpType => "NXM_OF_ICMP_TYPE",
            IcmpCode => "NXM_OF_ICMP_CODE",
            CtState => "NXM_NX_CT_STATE",
            CtZone => "NXM_NX_CT_ZONE",
            CtMark => "NXM_NX_CT_MARK",
            CtLabel => "NXM_NX_CT_LABEL",
            PktMark => "NXM_NX_PKT_MARK",
            Metadata => "OXM_OF_METADATA",
            ConjId => "NXM_NX_CONJ_ID",
            Reg(n) => return format!("NXM_NX_REG{n}"),
            Xreg(n) => return format!("OXM_OF_PKT_REG{n}"),
        };
        s.to_string()
    }

    /// Every field, for name lookups and tests.
    pub fn all() -> Vec<Field> {
        use Field::*;
        let mut v = vec![
            InPort, EthSrc, EthDst, EthType, VlanTci, ArpOp, ArpSpa, ArpTpa, ArpSha, ArpTha, IpSrc, IpDst, Ipv6Src,
            Ipv6Dst, Ipv6Label, IpProto, IpTtl, NwTos, NwEcn, IpFrag, TpSrc, TpDst, TcpFlags, IcmpType, IcmpCode,
            CtState, CtZone, CtMark, CtLabel, PktMark, Metadata, ConjId,
        ];
        v.extend((0..16).map(Reg));
        v.extend((0..8).map(Xreg));
        v
    }

    /// The datapath-visible part of the field as a mask over the key: which
    /// bits of the datapath flow a match on this field consults. Registers,
    /// `metadata` and `conj_id` have none.
    pub fn is_datapath(self) -> bool {
        !matches!(self, Field::Reg(_) | Field::Xreg(_) | Field::Metadata | Field::ConjId)
    }
}

fn mac(b: [u8; 6]) -> u128 {
    b.iter().fold(0u128, |acc, x| (acc << 8) | *x as u128)
}

fn mac_bytes(v: u128) -> [u8; 6] {
    let b = (v as u64).to_be_bytes();
    [b[2], b[3], b[4], b[5], b[6], b[7]]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn put_then_get_round_trips_every_field() {
        for f in Field::all() {
            let v = 0x1234_5678_9abc_def0_0fed_cba9_8765_4321u128 & f.all_ones();
            let mut k = OfKey::default();
            f.put(&mut k, v);
            let want = if f == Field::VlanTci { v | 0x1000 } else { v };
            let want = if f == Field::VlanTci && v & 0x1000 == 0 { 0 } else { want };
            assert_eq!(f.get(&k), want, "{f:?}");
            let mut m = OfKey::default();
            f.put_mask(&mut m, f.all_ones());
            assert_eq!(f.get_mask(&m), f.all_ones(), "mask {f:?}");
        }
    }

    #[test]
    fn vlan_presence_maps_to_tpid() {
        let mut k = OfKey::default();
        Field::VlanTci.put(&mut k, 0x1000 | 10);
        assert_eq!(k.dp.vlans[0].tpid, 0x8100);
        assert_eq!(k.dp.vlans[0].tci, 10);
        Field::VlanTci.put(&mut k, 0);
        assert_eq!(k.dp.vlans[0].tpid, 0);
    }
}
