//! Megaflow → flower rule. Pure: the caller supplies the ports' ifindexes
//! and picks the priority; nothing here touches the kernel.
//!
//! | megaflow                               | flower                                               |
//! |----------------------------------------|------------------------------------------------------|
//! | `in_port(p)` (exact)                   | the filter sits on p's representor (clsact ingress)  |
//! | `recirc_id(n)` (exact)                 | chain n                                              |
//! | `eth(src/dst)` + masks                 | `KEY_ETH_SRC/DST[_MASK]`                             |
//! | `eth_type(t)`                          | the filter protocol (`ETH_P_ALL` when wildcarded)    |
//! | `vlan(vid,pcp)`, one tag               | protocol = TPID, `KEY_VLAN_ID/PRIO`, `VLAN_ETH_TYPE` |
//! | `ipv4/ipv6(src,dst)` + masks           | `KEY_IPV4_*`, `KEY_IPV6_*`                           |
//! | `proto`, `tos`, `ttl`                  | `KEY_IP_PROTO`, `KEY_IP_TOS/TTL[_MASK]`              |
//! | `frag`                                 | `KEY_FLAGS` (`IS_FRAGMENT`, `FRAG_IS_FIRST`)         |
//! | `tcp/udp(src,dst)`, `icmp(type,code)`  | `KEY_TCP_*`, `KEY_UDP_*`, `KEY_ICMPV4/6_*` + masks   |
//! | `tcp_flags`                            | `KEY_TCP_FLAGS[_MASK]`                               |
//! | `arp(...)`                             | `KEY_ARP_*`                                          |
//! | `ct_state` (trk,est,rpl; -new...)      | `KEY_CT_STATE[_MASK]`                                |
//! | `ct_zone`, `ct_mark`, `ct_label`       | `KEY_CT_ZONE/MARK/LABELS[_MASK]`                     |
//! | `output(p)` last / not last            | `mirred egress redirect` / `mirred egress mirror`    |
//! | `recirc(n)` (last)                     | `gact goto chain n`                                  |
//! | `ct(zone,commit,force,mark,label)`     | `ct` (`TCA_CT_ZONE/ACTION/MARK/LABELS`)              |
//! | `ct_clear`                             | `ct clear`                                           |
//! | `set(eth/ipv4/ipv6/tcp/udp)`           | `pedit ex` keys, then `csum` for IP/L4 rewrites      |
//! | `push_vlan`, `pop_vlan`                | `vlan push`, `vlan pop`                              |
//! | `drop`, or no terminal action          | `gact drop`                                          |
//!
//! Everything else is refused with the [`NotOffloadedReason`] the user
//! sees: `skb_mark`, `skb_priority`, `dp_hash`, the conntrack original
//! tuple, IPv6 flow labels, partial masks on fields flower matches only
//! exactly (in_port, recirc id, IP protocol, VLAN id/PCP), the VLAN DEI bit,
//! a second VLAN tag, `+new`/`+inv`/`+rel` and NAT state (hwol's userspace
//! conntrack decides those), `ct(nat)`, `ct(helper)`, `userspace`,
//! `set(skb_mark/skb_priority)`, anything after a `recirc`, a `recirc` after
//! a header rewrite or VLAN push/pop, and rewrites
//! whose checksum update needs an IP protocol the megaflow does not pin.

use hwol_flow::{ct_state, nw_frag, Action, FlowKey, SetAction};
use hwol_offload::memory::check_ct_state;
use hwol_offload::{check_match, NotOffloadedReason, OffloadFlow};
use hwol_wire::ethernet::ethertype;

use crate::nla::{Be16, Be32};
use crate::rule::{FlowerAction, FlowerRule, PeditKey};
use crate::tc::FlowerAttr;
use crate::uapi::*;

/// Match fields flower can express (names as `check_match` knows them).
pub const SUPPORTED_FIELDS: &[&str] = &[
    "recirc_id",
    "in_port",
    "eth",
    "eth_type",
    "vlan",
    "ipv4",
    "ipv6",
    "ip_proto",
    "ip_tos",
    "ip_ttl",
    "ip_frag",
    "l4_ports",
    "tcp_flags",
    "arp",
    "ct_state",
    "ct_zone",
    "ct_mark",
    "ct_label",
];

/// `tc-policy`: which datapaths a filter may live in.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum TcPolicy {
    /// No flag: the kernel installs in software and tries hardware.
    #[default]
    None,
    /// `skip_sw`: hardware only; refused where the NIC cannot take it.
    SkipSw,
    /// `skip_hw`: software (the kernel's tc) only.
    SkipHw,
}

impl TcPolicy {
    /// The `TCA_CLS_FLAGS_*` every filter carries.
    pub fn flags(self) -> u32 {
        match self {
            TcPolicy::None => 0,
            TcPolicy::SkipSw => TCA_CLS_FLAGS_SKIP_SW,
            TcPolicy::SkipHw => TCA_CLS_FLAGS_SKIP_HW,
        }
    }

    /// Parse OVS's spelling (`none`, `skip_sw`, `skip_hw`).
    pub fn parse(s: &str) -> Option<TcPolicy> {
        match s {
            "none" => Some(TcPolicy::None),
            "skip_sw" => Some(TcPolicy::SkipSw),
            "skip_hw" => Some(TcPolicy::SkipHw),
            _ => None,
        }
    }

    /// OVS's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            TcPolicy::None => "none",
            TcPolicy::SkipSw => "skip_sw",
            TcPolicy::SkipHw => "skip_hw",
        }
    }
}

/// A translated flow: the rule (with `prio` 0: the caller picks it from
/// [`Translated::prio_class`]) and the device it goes on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Translated {
    /// The rule.
    pub rule: FlowerRule,
    /// ifindex of the input port's representor.
    pub ifindex: i32,
    /// Flows with equal classes share a priority; different classes never
    /// do (flower wants one protocol per priority, and NIC drivers one mask
    /// per priority): the EtherType and the megaflow mask.
    pub prio_class: (u16, hwol_flow::FlowMask),
}

fn refuse_match(field: &'static str) -> NotOffloadedReason {
    NotOffloadedReason::UnsupportedMatch { field }
}

fn refuse_action(a: &Action, why: &str) -> NotOffloadedReason {
    NotOffloadedReason::UnsupportedAction { action: format!("{a:?} ({why})") }
}

/// A field flower matches only exactly: fully masked, or not at all.
fn exact<T: PartialEq + Copy>(mask: T, zero: T, full: T, field: &'static str) -> Result<bool, NotOffloadedReason> {
    if mask == zero {
        Ok(false)
    } else if mask == full {
        Ok(true)
    } else {
        Err(refuse_match(field))
    }
}

/// OVS ct_state bits → `TCA_FLOWER_KEY_CT_FLAGS_*`.
fn ct_flags(bits: u8) -> u16 {
    let mut f = 0;
    for (ovs, tc) in [
        (ct_state::NEW, TCA_FLOWER_KEY_CT_FLAGS_NEW),
        (ct_state::EST, TCA_FLOWER_KEY_CT_FLAGS_ESTABLISHED),
        (ct_state::REL, TCA_FLOWER_KEY_CT_FLAGS_RELATED),
        (ct_state::TRK, TCA_FLOWER_KEY_CT_FLAGS_TRACKED),
        (ct_state::INV, TCA_FLOWER_KEY_CT_FLAGS_INVALID),
        (ct_state::RPL, TCA_FLOWER_KEY_CT_FLAGS_REPLY),
    ] {
        if bits & ovs != 0 {
            f |= tc;
        }
    }
    f
}

/// Translate `flow`. `ifindex_of(port)` is the representor of an attached
/// port, or `Err(why)`.
pub fn translate(
    flow: &OffloadFlow,
    policy: TcPolicy,
    ifindex_of: impl Fn(u32) -> Result<i32, String>,
) -> Result<Translated, NotOffloadedReason> {
    check_match(&flow.mask, SUPPORTED_FIELDS)?;
    check_ct_state(flow)?;
    let (k, m) = (&flow.key, &flow.mask.0);
    if !exact(m.in_port, 0, !0, "in_port")? {
        return Err(refuse_match("in_port"));
    }
    let ifindex =
        ifindex_of(k.in_port).map_err(|why| NotOffloadedReason::PortNotOffloadable { port: k.in_port, why })?;
    let chain = if exact(m.recirc_id, 0, !0, "recirc_id")? { k.recirc_id } else { 0 };
    if m.recirc_id == 0 {
        // A flower chain is one recirc id; "any recirc id" has no chain.
        return Err(refuse_match("recirc_id"));
    }
    let mut keys = Vec::new();
    if m.eth_dst != [0; 6] {
        keys.push(FlowerAttr::KeyEthDst(k.eth_dst));
        keys.push(FlowerAttr::KeyEthDstMask(m.eth_dst));
    }
    if m.eth_src != [0; 6] {
        keys.push(FlowerAttr::KeyEthSrc(k.eth_src));
        keys.push(FlowerAttr::KeyEthSrcMask(m.eth_src));
    }
    let eth_type = if exact(m.eth_type, 0, !0, "eth_type")? { Some(k.eth_type) } else { None };

    // VLAN: one tag, matched exactly on VID and/or PCP.
    if m.vlans[1].tci != 0 || (m.vlans[1].tpid != 0 && k.vlans[1].tpid != 0) {
        return Err(refuse_match("vlan"));
    }
    let tagged = m.vlans[0].tpid != 0 && k.vlans[0].tpid != 0;
    let protocol = if tagged {
        if m.vlans[0].tpid != !0 || m.vlans[0].tci & 0x1000 != 0 {
            return Err(refuse_match("vlan"));
        }
        if exact(m.vlans[0].tci & 0x0fff, 0, 0x0fff, "vlan")? {
            keys.push(FlowerAttr::KeyVlanId(k.vlans[0].tci & 0x0fff));
        }
        if exact(m.vlans[0].tci & 0xe000, 0, 0xe000, "vlan")? {
            keys.push(FlowerAttr::KeyVlanPrio((k.vlans[0].tci >> 13) as u8));
        }
        if let Some(t) = eth_type {
            keys.push(FlowerAttr::KeyVlanEthType(Be16(t)));
        }
        k.vlans[0].tpid
    } else {
        if m.vlans[0].tci != 0 {
            return Err(refuse_match("vlan"));
        }
        eth_type.unwrap_or(ETH_P_ALL)
    };

    let is_ipv4 = eth_type == Some(ethertype::IPV4);
    let is_ipv6 = eth_type == Some(ethertype::IPV6);
    let is_arp = eth_type == Some(ethertype::ARP);
    let l3_masked = m.nw_src != [0; 4]
        || m.nw_dst != [0; 4]
        || m.ipv6_src != [0; 16]
        || m.ipv6_dst != [0; 16]
        || m.nw_proto != 0
        || m.nw_tos != 0
        || m.nw_ttl != 0
        || m.nw_frag != 0
        || m.tp_src != 0
        || m.tp_dst != 0
        || m.tcp_flags != 0
        || m.arp_op != 0
        || m.arp_sha != [0; 6]
        || m.arp_tha != [0; 6];
    if l3_masked && !(is_ipv4 || is_ipv6 || is_arp) {
        // flower parses L3 only for the filter's own protocol.
        return Err(refuse_match("eth_type"));
    }
    if m.ipv6_label != 0 {
        return Err(refuse_match("ipv6_label"));
    }
    let proto = if (is_ipv4 || is_ipv6) && exact(m.nw_proto, 0, !0, "ip_proto")? {
        keys.push(FlowerAttr::KeyIpProto(k.nw_proto));
        Some(k.nw_proto)
    } else {
        None
    };
    if is_ipv4 {
        if m.nw_src != [0; 4] {
            keys.push(FlowerAttr::KeyIpv4Src(k.nw_src));
            keys.push(FlowerAttr::KeyIpv4SrcMask(m.nw_src));
        }
        if m.nw_dst != [0; 4] {
            keys.push(FlowerAttr::KeyIpv4Dst(k.nw_dst));
            keys.push(FlowerAttr::KeyIpv4DstMask(m.nw_dst));
        }
    }
    if is_ipv6 {
        if m.ipv6_src != [0; 16] {
            keys.push(FlowerAttr::KeyIpv6Src(k.ipv6_src));
            keys.push(FlowerAttr::KeyIpv6SrcMask(m.ipv6_src));
        }
        if m.ipv6_dst != [0; 16] {
            keys.push(FlowerAttr::KeyIpv6Dst(k.ipv6_dst));
            keys.push(FlowerAttr::KeyIpv6DstMask(m.ipv6_dst));
        }
    }
    if is_ipv4 || is_ipv6 {
        if m.nw_tos != 0 {
            keys.push(FlowerAttr::KeyIpTos(k.nw_tos));
            keys.push(FlowerAttr::KeyIpTosMask(m.nw_tos));
        }
        if m.nw_ttl != 0 {
            keys.push(FlowerAttr::KeyIpTtl(k.nw_ttl));
            keys.push(FlowerAttr::KeyIpTtlMask(m.nw_ttl));
        }
        frag_keys(k, m, &mut keys)?;
        l4_keys(k, m, proto, is_ipv6, &mut keys)?;
    }
    if is_arp {
        arp_keys(k, m, &mut keys)?;
    }
    ct_keys(k, m, &mut keys)?;

    let actions = translate_actions(flow, proto, &ifindex_of)?;
    let rule = FlowerRule { chain, prio: 0, protocol, keys, actions, flags: policy.flags(), cookie: Some(flow.ufid) };
    Ok(Translated { rule, ifindex, prio_class: (protocol, flow.mask) })
}

fn frag_keys(k: &FlowKey, m: &FlowKey, keys: &mut Vec<FlowerAttr>) -> Result<(), NotOffloadedReason> {
    if m.nw_frag == 0 {
        return Ok(());
    }
    let (mut flags, mut mask) = (0u32, 0u32);
    if m.nw_frag & nw_frag::ANY != 0 {
        mask |= TCA_FLOWER_KEY_FLAGS_IS_FRAGMENT;
        if k.nw_frag & nw_frag::ANY != 0 {
            flags |= TCA_FLOWER_KEY_FLAGS_IS_FRAGMENT;
        }
    }
    if m.nw_frag & nw_frag::LATER != 0 {
        let any_known = m.nw_frag & nw_frag::ANY != 0;
        if any_known && k.nw_frag & nw_frag::ANY != 0 {
            mask |= TCA_FLOWER_KEY_FLAGS_FRAG_IS_FIRST;
            if k.nw_frag & nw_frag::LATER == 0 {
                flags |= TCA_FLOWER_KEY_FLAGS_FRAG_IS_FIRST;
            }
        } else if !any_known {
            // "later fragment or not" without knowing whether it is a fragment.
            return Err(refuse_match("ip_frag"));
        }
    }
    keys.push(FlowerAttr::KeyFlags(Be32(flags)));
    keys.push(FlowerAttr::KeyFlagsMask(Be32(mask)));
    Ok(())
}

fn l4_keys(
    k: &FlowKey,
    m: &FlowKey,
    proto: Option<u8>,
    is_ipv6: bool,
    keys: &mut Vec<FlowerAttr>,
) -> Result<(), NotOffloadedReason> {
    let ports = m.tp_src != 0 || m.tp_dst != 0;
    if m.tcp_flags != 0 && proto != Some(6) {
        return Err(refuse_match("tcp_flags"));
    }
    if ports {
        match proto {
            Some(6) => {
                if m.tp_src != 0 {
                    keys.push(FlowerAttr::KeyTcpSrc(Be16(k.tp_src)));
                    keys.push(FlowerAttr::KeyTcpSrcMask(Be16(m.tp_src)));
                }
                if m.tp_dst != 0 {
                    keys.push(FlowerAttr::KeyTcpDst(Be16(k.tp_dst)));
                    keys.push(FlowerAttr::KeyTcpDstMask(Be16(m.tp_dst)));
                }
            }
            Some(17) => {
                if m.tp_src != 0 {
                    keys.push(FlowerAttr::KeyUdpSrc(Be16(k.tp_src)));
                    keys.push(FlowerAttr::KeyUdpSrcMask(Be16(m.tp_src)));
                }
                if m.tp_dst != 0 {
                    keys.push(FlowerAttr::KeyUdpDst(Be16(k.tp_dst)));
                    keys.push(FlowerAttr::KeyUdpDstMask(Be16(m.tp_dst)));
                }
            }
            Some(1) if !is_ipv6 => icmp_keys(k, m, false, keys)?,
            Some(58) if is_ipv6 => icmp_keys(k, m, true, keys)?,
            _ => return Err(refuse_match("l4_ports")),
        }
    }
    if m.tcp_flags != 0 {
        keys.push(FlowerAttr::KeyTcpFlags(Be16(k.tcp_flags)));
        keys.push(FlowerAttr::KeyTcpFlagsMask(Be16(m.tcp_flags)));
    }
    Ok(())
}

fn icmp_keys(k: &FlowKey, m: &FlowKey, v6: bool, keys: &mut Vec<FlowerAttr>) -> Result<(), NotOffloadedReason> {
    // ICMP type and code live in tp_src/tp_dst; both are 8 bits.
    if k.tp_src > 0xff || k.tp_dst > 0xff || m.tp_src > 0xff || m.tp_dst > 0xff {
        return Err(refuse_match("l4_ports"));
    }
    let (ty, tm, code, cm) = (k.tp_src as u8, m.tp_src as u8, k.tp_dst as u8, m.tp_dst as u8);
    if tm != 0 {
        keys.push(if v6 { FlowerAttr::KeyIcmpv6Type(ty) } else { FlowerAttr::KeyIcmpv4Type(ty) });
        keys.push(if v6 { FlowerAttr::KeyIcmpv6TypeMask(tm) } else { FlowerAttr::KeyIcmpv4TypeMask(tm) });
    }
    if cm != 0 {
        keys.push(if v6 { FlowerAttr::KeyIcmpv6Code(code) } else { FlowerAttr::KeyIcmpv4Code(code) });
        keys.push(if v6 { FlowerAttr::KeyIcmpv6CodeMask(cm) } else { FlowerAttr::KeyIcmpv4CodeMask(cm) });
    }
    Ok(())
}

fn arp_keys(k: &FlowKey, m: &FlowKey, keys: &mut Vec<FlowerAttr>) -> Result<(), NotOffloadedReason> {
    if m.nw_src != [0; 4] {
        keys.push(FlowerAttr::KeyArpSip(k.nw_src));
        keys.push(FlowerAttr::KeyArpSipMask(m.nw_src));
    }
    if m.nw_dst != [0; 4] {
        keys.push(FlowerAttr::KeyArpTip(k.nw_dst));
        keys.push(FlowerAttr::KeyArpTipMask(m.nw_dst));
    }
    if m.arp_op != 0 {
        let (op, mask) = (u8::try_from(k.arp_op), u8::try_from(m.arp_op));
        match (op, mask) {
            (Ok(op), Ok(mask)) => {
                keys.push(FlowerAttr::KeyArpOp(op));
                keys.push(FlowerAttr::KeyArpOpMask(mask));
            }
            _ => return Err(refuse_match("arp")),
        }
    }
    if m.arp_sha != [0; 6] {
        keys.push(FlowerAttr::KeyArpSha(k.arp_sha));
        keys.push(FlowerAttr::KeyArpShaMask(m.arp_sha));
    }
    if m.arp_tha != [0; 6] {
        keys.push(FlowerAttr::KeyArpTha(k.arp_tha));
        keys.push(FlowerAttr::KeyArpThaMask(m.arp_tha));
    }
    Ok(())
}

fn ct_keys(k: &FlowKey, m: &FlowKey, keys: &mut Vec<FlowerAttr>) -> Result<(), NotOffloadedReason> {
    if m.ct_state & (ct_state::SNAT | ct_state::DNAT) != 0 {
        return Err(refuse_match("ct_state"));
    }
    if m.ct_state != 0 {
        keys.push(FlowerAttr::KeyCtState(ct_flags(k.ct_state & m.ct_state)));
        keys.push(FlowerAttr::KeyCtStateMask(ct_flags(m.ct_state)));
    }
    if m.ct_zone != 0 {
        keys.push(FlowerAttr::KeyCtZone(k.ct_zone));
        keys.push(FlowerAttr::KeyCtZoneMask(m.ct_zone));
    }
    if m.ct_mark != 0 {
        keys.push(FlowerAttr::KeyCtMark(k.ct_mark));
        keys.push(FlowerAttr::KeyCtMarkMask(m.ct_mark));
    }
    if m.ct_label != 0 {
        keys.push(FlowerAttr::KeyCtLabels(label_bytes(k.ct_label)));
        keys.push(FlowerAttr::KeyCtLabelsMask(label_bytes(m.ct_label)));
    }
    Ok(())
}

/// A 128-bit label as the kernel stores it (its bitmap's memory, which is
/// the u128 in host order: bit 0 of the label is bit 0 of byte 0 on x86).
pub fn label_bytes(l: u128) -> [u8; 16] {
    l.to_ne_bytes()
}

/// A header image being rewritten: value bytes and the set-these-bits mask.
struct Rewrite {
    htype: u16,
    val: Vec<u8>,
    set: Vec<u8>,
}

impl Rewrite {
    fn new(htype: u16, len: usize) -> Self {
        Rewrite { htype, val: vec![0; len], set: vec![0; len] }
    }

    fn put(&mut self, off: usize, value: &[u8], mask: &[u8]) {
        for (i, (v, m)) in value.iter().zip(mask).enumerate() {
            self.set[off + i] |= m;
            self.val[off + i] = (self.val[off + i] & !m) | (v & m);
        }
    }

    /// pedit keys for the touched 32-bit words (pedit masks keep bits).
    fn keys(&self) -> Vec<PeditKey> {
        let mut out = Vec::new();
        for off in (0..self.val.len()).step_by(4) {
            let set: [u8; 4] = std::array::from_fn(|i| self.set.get(off + i).copied().unwrap_or(0));
            if set == [0; 4] {
                continue;
            }
            let val: [u8; 4] = std::array::from_fn(|i| self.val.get(off + i).copied().unwrap_or(0) & set[i]);
            out.push(PeditKey { htype: self.htype, off: off as u32, mask: set.map(|b| !b), val });
        }
        out
    }
}

fn sel<const N: usize>(v: &hwol_flow::Masked<[u8; N]>, masked: bool) -> ([u8; N], [u8; N]) {
    (v.value, if masked { v.mask } else { [0xff; N] })
}

fn sel16(v: &hwol_flow::Masked<u16>, masked: bool) -> ([u8; 2], [u8; 2]) {
    (v.value.to_be_bytes(), if masked { v.mask.to_be_bytes() } else { [0xff; 2] })
}

fn sel8(v: &hwol_flow::Masked<u8>, masked: bool) -> ([u8; 1], [u8; 1]) {
    ([v.value], if masked { [v.mask] } else { [0xff] })
}

fn l4_csum(proto: Option<u8>, a: &Action) -> Result<u32, NotOffloadedReason> {
    match proto {
        Some(6) => Ok(TCA_CSUM_UPDATE_FLAG_TCP),
        Some(17) => Ok(TCA_CSUM_UPDATE_FLAG_UDP),
        Some(1) | Some(58) => Ok(TCA_CSUM_UPDATE_FLAG_ICMP),
        Some(_) => Ok(0),
        None => Err(refuse_action(a, "rewriting addresses needs the IP protocol matched, for the checksum update")),
    }
}

/// A set action as pedit keys plus the checksum flags it needs.
fn set_to_pedit(
    set: &SetAction,
    masked: bool,
    a: &Action,
    proto: Option<u8>,
) -> Result<(Vec<PeditKey>, u32), NotOffloadedReason> {
    match set {
        SetAction::Eth { src, dst } => {
            let mut r = Rewrite::new(TCA_PEDIT_KEY_EX_HDR_TYPE_ETH, 12);
            let (dv, dm) = (dst.value.0, if masked { dst.mask.0 } else { [0xff; 6] });
            let (sv, sm) = (src.value.0, if masked { src.mask.0 } else { [0xff; 6] });
            r.put(0, &dv, &dm);
            r.put(6, &sv, &sm);
            Ok((r.keys(), 0))
        }
        SetAction::Ipv4 { src, dst, tos, ttl } => {
            let mut r = Rewrite::new(TCA_PEDIT_KEY_EX_HDR_TYPE_IP4, 20);
            let (s, d, t, l) = (sel(src, masked), sel(dst, masked), sel8(tos, masked), sel8(ttl, masked));
            r.put(12, &s.0, &s.1);
            r.put(16, &d.0, &d.1);
            r.put(1, &t.0, &t.1);
            r.put(8, &l.0, &l.1);
            let addrs = s.1 != [0; 4] || d.1 != [0; 4];
            let l4 = if addrs { l4_csum(proto, a)? & !TCA_CSUM_UPDATE_FLAG_ICMP } else { 0 };
            Ok((r.keys(), TCA_CSUM_UPDATE_FLAG_IPV4HDR | l4))
        }
        SetAction::Ipv6 { src, dst, label, tclass, hlimit } => {
            let mut r = Rewrite::new(TCA_PEDIT_KEY_EX_HDR_TYPE_IP6, 40);
            let (s, d, h) = (sel(src, masked), sel(dst, masked), sel8(hlimit, masked));
            r.put(8, &s.0, &s.1);
            r.put(24, &d.0, &d.1);
            r.put(7, &h.0, &h.1);
            // Word 0: version:4, traffic class:8, flow label:20.
            let (lv, lm) = (label.value & 0xf_ffff, if masked { label.mask & 0xf_ffff } else { 0xf_ffff });
            let (cv, cm) = (u32::from(tclass.value), if masked { u32::from(tclass.mask) } else { 0xff });
            r.put(0, &((cv << 20) | lv).to_be_bytes(), &((cm << 20) | lm).to_be_bytes());
            let addrs = s.1 != [0; 16] || d.1 != [0; 16];
            let l4 = if addrs { l4_csum(proto, a)? } else { 0 };
            Ok((r.keys(), l4))
        }
        SetAction::Tcp { src, dst } | SetAction::Udp { src, dst } => {
            let tcp = matches!(set, SetAction::Tcp { .. });
            let htype = if tcp { TCA_PEDIT_KEY_EX_HDR_TYPE_TCP } else { TCA_PEDIT_KEY_EX_HDR_TYPE_UDP };
            let mut r = Rewrite::new(htype, 4);
            let (s, d) = (sel16(src, masked), sel16(dst, masked));
            r.put(0, &s.0, &s.1);
            r.put(2, &d.0, &d.1);
            Ok((r.keys(), if tcp { TCA_CSUM_UPDATE_FLAG_TCP } else { TCA_CSUM_UPDATE_FLAG_UDP }))
        }
        SetAction::SkbMark(_) | SetAction::SkbPriority(_) => {
            Err(refuse_action(a, "skb metadata rewrites are not translated (skbedit)"))
        }
    }
}

fn translate_actions(
    flow: &OffloadFlow,
    proto: Option<u8>,
    ifindex_of: &impl Fn(u32) -> Result<i32, String>,
) -> Result<Vec<FlowerAction>, NotOffloadedReason> {
    let n = flow.actions.len();
    let mut out = Vec::with_capacity(n + 1);
    let mut pending_csum = 0u32;
    for (i, a) in flow.actions.iter().enumerate() {
        let last = i + 1 == n;
        let prev_was_set = i > 0 && matches!(flow.actions[i - 1], Action::Set { .. });
        if i > 0 && matches!(flow.actions[i - 1], Action::Recirc(_)) {
            return Err(refuse_action(a, "nothing runs after a recirc (goto chain)"));
        }
        match a {
            Action::Output(p) => {
                let ifindex = ifindex_of(*p).map_err(|why| NotOffloadedReason::PortNotOffloadable { port: *p, why })?;
                let ifindex = u32::try_from(ifindex).map_err(|_| NotOffloadedReason::PortNotOffloadable {
                    port: *p,
                    why: format!("invalid ifindex {ifindex}"),
                })?;
                out.push(FlowerAction::Mirred { redirect: last, ifindex });
            }
            Action::Recirc(id) => {
                // A packet that misses in the target chain goes to hwol's
                // slow path, which starts over from recirc_id(0): it must
                // arrive as it came in.
                let modifies = |b: &Action| matches!(b, Action::Set { .. } | Action::PushVlan { .. } | Action::PopVlan);
                if flow.actions[..i].iter().any(modifies) {
                    return Err(refuse_action(
                        a,
                        "a recirc after a header rewrite (a miss would reach software rewritten)",
                    ));
                }
                out.push(FlowerAction::GotoChain(*id));
            }
            Action::Ct(ct) => {
                if ct.nat.is_some() {
                    return Err(refuse_action(a, "ct nat is not offloaded"));
                }
                if ct.helper.is_some() {
                    return Err(refuse_action(a, "ct helpers are not offloaded"));
                }
                out.push(FlowerAction::Ct {
                    zone: ct.zone,
                    commit: ct.commit,
                    force: ct.force,
                    mark: ct.mark.map(|m| (m.value, m.mask)),
                    labels: ct.label.map(|l| (label_bytes(l.value), label_bytes(l.mask))),
                });
            }
            Action::CtClear => out.push(FlowerAction::CtClear),
            Action::Set { set, masked } => {
                // Consecutive sets become one pedit followed by one csum.
                let (keys, csum) = set_to_pedit(set, *masked, a, proto)?;
                match out.last_mut() {
                    Some(FlowerAction::Pedit(prev)) if prev_was_set => prev.extend(keys),
                    _ if !keys.is_empty() => out.push(FlowerAction::Pedit(keys)),
                    _ => {}
                }
                pending_csum |= csum;
                let next_is_set = matches!(flow.actions.get(i + 1), Some(Action::Set { .. }));
                if !next_is_set && pending_csum != 0 {
                    out.push(FlowerAction::Csum(pending_csum));
                    pending_csum = 0;
                }
            }
            Action::PushVlan { tpid, tci } => {
                if tci & 0x1000 != 0 {
                    return Err(refuse_action(a, "act_vlan cannot set the DEI bit"));
                }
                out.push(FlowerAction::VlanPush { vid: tci & 0x0fff, prio: (tci >> 13) as u8, tpid: *tpid });
            }
            Action::PopVlan => out.push(FlowerAction::VlanPop),
            Action::Drop => out.push(FlowerAction::Drop),
            Action::Userspace(_) => {
                return Err(refuse_action(a, "userspace actions run in the slow path"));
            }
        }
    }
    if !out.last().is_some_and(FlowerAction::is_terminal) {
        // A megaflow that does not end by sending the packet somewhere drops
        // it; in tc a pipe off the end of the list would hand it to the stack.
        out.push(FlowerAction::Drop);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use hwol_flow::{CtAction, FlowMask, Masked, NatAction};

    fn ports(p: u32) -> Result<i32, String> {
        if p <= 2 {
            Ok(10 + p as i32)
        } else {
            Err("no representor".into())
        }
    }

    fn flow(actions: Vec<Action>) -> OffloadFlow {
        let key = FlowKey { in_port: 1, eth_type: ethertype::IPV4, nw_proto: 6, ..Default::default() };
        let mut mask = FlowMask::default();
        mask.0.in_port = !0;
        mask.0.recirc_id = !0;
        mask.0.eth_type = !0;
        mask.0.nw_proto = !0;
        mask.0.vlans[0].tpid = !0;
        OffloadFlow { ufid: 7, key, mask, actions }
    }

    fn refusal(f: &OffloadFlow) -> NotOffloadedReason {
        translate(f, TcPolicy::None, ports).unwrap_err()
    }

    #[test]
    fn policy_flags_and_names() {
        for p in [TcPolicy::None, TcPolicy::SkipSw, TcPolicy::SkipHw] {
            assert_eq!(TcPolicy::parse(p.as_str()), Some(p));
            let t = translate(&flow(vec![Action::Output(2)]), p, ports).unwrap();
            assert_eq!(t.rule.flags, p.flags());
        }
        assert_eq!(TcPolicy::parse("skip-sw"), None);
    }

    #[test]
    fn no_terminal_action_means_drop_and_outputs_before_the_last_mirror() {
        let t = translate(&flow(vec![]), TcPolicy::None, ports).unwrap();
        assert_eq!(t.rule.actions, vec![FlowerAction::Drop]);
        let t = translate(&flow(vec![Action::Output(1), Action::Output(2)]), TcPolicy::None, ports).unwrap();
        assert_eq!(
            t.rule.actions,
            vec![
                FlowerAction::Mirred { redirect: false, ifindex: 11 },
                FlowerAction::Mirred { redirect: true, ifindex: 12 }
            ]
        );
        assert_eq!(t.ifindex, 11);
        assert_eq!(t.prio_class.0, ETH_P_IP);
    }

    #[test]
    fn address_rewrite_updates_l4_checksum() {
        let z = Masked::new(0, 0);
        let set = SetAction::Ipv4 {
            src: Masked::new([10, 0, 0, 9], [0; 4]),
            dst: Masked::new([0; 4], [0; 4]),
            tos: z,
            ttl: z,
        };
        let t = translate(&flow(vec![Action::Set { set, masked: false }, Action::Output(2)]), TcPolicy::None, ports)
            .unwrap();
        // Unmasked: every field of the header is written (src, dst, tos, ttl).
        let FlowerAction::Pedit(keys) = &t.rule.actions[0] else { panic!("{:?}", t.rule.actions) };
        assert!(keys.iter().any(|k| k.off == 12 && k.mask == [0; 4] && k.val == [10, 0, 0, 9]));
        assert_eq!(t.rule.actions[1], FlowerAction::Csum(TCA_CSUM_UPDATE_FLAG_IPV4HDR | TCA_CSUM_UPDATE_FLAG_TCP));
    }

    #[test]
    fn refusals_name_the_reason() {
        // Fields flower has no key for.
        let mut f = flow(vec![Action::Output(2)]);
        f.mask.0.skb_mark = 1;
        assert_eq!(refusal(&f), NotOffloadedReason::UnsupportedMatch { field: "skb_mark" });
        let mut f = flow(vec![Action::Output(2)]);
        f.mask.0.ipv6_label = 1;
        f.key.eth_type = ethertype::IPV6;
        assert_eq!(refusal(&f), NotOffloadedReason::UnsupportedMatch { field: "ipv6_label" });
        // Partial masks on exact-only fields.
        let mut f = flow(vec![Action::Output(2)]);
        f.mask.0.nw_proto = 0x0f;
        assert_eq!(refusal(&f), NotOffloadedReason::UnsupportedMatch { field: "ip_proto" });
        let mut f = flow(vec![Action::Output(2)]);
        f.mask.0.in_port = 0;
        assert_eq!(refusal(&f), NotOffloadedReason::UnsupportedMatch { field: "in_port" });
        // L3 fields without an EtherType.
        let mut f = flow(vec![Action::Output(2)]);
        f.mask.0.eth_type = 0;
        assert_eq!(refusal(&f), NotOffloadedReason::UnsupportedMatch { field: "eth_type" });
        // New connections stay with hwol's conntrack.
        let mut f = flow(vec![Action::Output(2)]);
        f.key.ct_state = ct_state::TRK | ct_state::NEW;
        f.mask.0.ct_state = ct_state::TRK | ct_state::NEW;
        assert_eq!(refusal(&f).label(), "slow_path_only");
        // NAT state.
        let mut f = flow(vec![Action::Output(2)]);
        f.mask.0.ct_state = ct_state::SNAT;
        assert_eq!(refusal(&f), NotOffloadedReason::UnsupportedMatch { field: "ct_state" });
        // Actions.
        let nat = CtAction { nat: Some(NatAction::default()), ..Default::default() };
        assert!(matches!(refusal(&flow(vec![Action::Ct(nat)])),
            NotOffloadedReason::UnsupportedAction { action } if action.contains("ct nat")));
        assert!(matches!(refusal(&flow(vec![Action::Recirc(1), Action::Output(2)])),
            NotOffloadedReason::UnsupportedAction { action } if action.contains("after a recirc")));
        assert!(matches!(refusal(&flow(vec![Action::PopVlan, Action::Recirc(2)])),
            NotOffloadedReason::UnsupportedAction { action } if action.contains("header rewrite")));
        assert!(matches!(refusal(&flow(vec![Action::PushVlan { tpid: 0x8100, tci: 0x1000 }])),
            NotOffloadedReason::UnsupportedAction { action } if action.contains("DEI")));
        let set = SetAction::SkbMark(Masked::new(1, !0));
        assert_eq!(refusal(&flow(vec![Action::Set { set, masked: false }])).label(), "unsupported_action");
        // Address rewrite without a known protocol.
        let mut f = flow(vec![]);
        f.mask.0.nw_proto = 0;
        let z = Masked::new(0, 0);
        let set =
            SetAction::Ipv4 { src: Masked::new([1; 4], [0xff; 4]), dst: Masked::new([0; 4], [0; 4]), tos: z, ttl: z };
        f.actions = vec![Action::Set { set, masked: true }, Action::Output(2)];
        assert!(matches!(refusal(&f),
            NotOffloadedReason::UnsupportedAction { action } if action.contains("checksum")));
        // Ports.
        assert_eq!(
            refusal(&flow(vec![Action::Output(3)])),
            NotOffloadedReason::PortNotOffloadable { port: 3, why: "no representor".into() }
        );
    }

    #[test]
    fn fragments_map_to_key_flags() {
        let mut f = flow(vec![Action::Output(2)]);
        f.mask.0.nw_frag = nw_frag::ANY | nw_frag::LATER;
        f.key.nw_frag = nw_frag::ANY | nw_frag::LATER;
        let t = translate(&f, TcPolicy::None, ports).unwrap();
        assert!(t.rule.keys.contains(&FlowerAttr::KeyFlags(Be32(TCA_FLOWER_KEY_FLAGS_IS_FRAGMENT))));
        assert!(t.rule.keys.contains(&FlowerAttr::KeyFlagsMask(Be32(
            TCA_FLOWER_KEY_FLAGS_IS_FRAGMENT | TCA_FLOWER_KEY_FLAGS_FRAG_IS_FIRST
        ))));
        f.mask.0.nw_frag = nw_frag::LATER;
        assert_eq!(refusal(&f), NotOffloadedReason::UnsupportedMatch { field: "ip_frag" });
    }
}
