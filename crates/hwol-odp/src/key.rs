//! The flow key: `recirc_id(0),in_port(1),eth(...),eth_type(0x0800),ipv4(...)`.
//!
//! An [`OdpKey`] is the list of key attributes in the order they were
//! written (or, from [`OdpKey::from_flow`], in the order the datapath emits
//! them), each with its value and mask. Keeping the list rather than a
//! [`FlowKey`] is what lets a parsed line print back byte for byte: OVS
//! prints whichever attributes the datapath returned, in the order it
//! returned them, and which ones those are carries information (an
//! all-wildcard `eth()` is printed on the kernel datapath, not on the
//! userspace one).
//!
//! VLANs nest as in netlink: `eth_type(0x8100),vlan(vid=10,pcp=0),encap(eth_type(0x0800),ipv4(...))`.
//!
//! This module covers the attributes hwol's [`FlowKey`] can express plus
//! `packet_type`. Tunnel metadata, MPLS, NSH and IPv6 neighbour discovery
//! (`tunnel(...)`, `mpls(...)`, `nsh(...)`, `nd(...)`, `nd_ext(...)`) are
//! rejected with an error naming them.

use std::fmt::Write as _;

use hwol_flow::{nw_frag, FlowKey, FlowMask, Masked, VlanHeader};

use crate::text::{hex, ip4, ip6, mac, Cursor, ParseError};
use crate::PortNames;

/// The VLAN TCI bit OVS uses to say "a tag is present" (the 802.1Q DEI/CFI
/// bit position). `vlan(...)` keys and `push_vlan` always carry it set.
pub const VLAN_CFI: u16 = 0x1000;

/// `ipv4(frag=...)` / `ipv6(frag=...)` values (OVS's `enum ovs_frag_type`).
pub mod frag {
    /// `frag=no`: not a fragment.
    pub const NONE: u8 = 0;
    /// `frag=first`: first fragment.
    pub const FIRST: u8 = 1;
    /// `frag=later`: a non-first fragment.
    pub const LATER: u8 = 2;
}

/// A parsed or generated flow key: key attributes in order.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct OdpKey {
    /// The attributes, in print order.
    pub attrs: Vec<KeyAttr>,
}

/// `ct_tuple4(src=,dst=,proto=,tp_src=,tp_dst=)`: the original direction of
/// the tracked connection.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct CtTuple4 {
    /// Original source address.
    pub src: Masked<[u8; 4]>,
    /// Original destination address.
    pub dst: Masked<[u8; 4]>,
    /// IP protocol.
    pub proto: Masked<u8>,
    /// Original L4 source port.
    pub tp_src: Masked<u16>,
    /// Original L4 destination port.
    pub tp_dst: Masked<u16>,
}

/// `ct_tuple6(src=,dst=,proto=,src_port=,dst_port=)`.
///
/// OVS prints the ports as `src_port`/`dst_port` but its parser reads
/// `tp_src`/`tp_dst`; both spellings are accepted here and the printed one
/// is used on output.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct CtTuple6 {
    /// Original source address.
    pub src: Masked<[u8; 16]>,
    /// Original destination address.
    pub dst: Masked<[u8; 16]>,
    /// IP protocol.
    pub proto: Masked<u8>,
    /// Original L4 source port.
    pub tp_src: Masked<u16>,
    /// Original L4 destination port.
    pub tp_dst: Masked<u16>,
}

/// `packet_type(ns=,id=)`; `ns=0,id=0` is Ethernet.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct PacketType {
    /// Namespace (0 = Ethernet types, 1 = EtherType namespace).
    pub ns: Masked<u16>,
    /// Type within the namespace.
    pub id: Masked<u16>,
}

/// `eth(src=,dst=)`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct EthKey {
    /// Source MAC.
    pub src: Masked<[u8; 6]>,
    /// Destination MAC.
    pub dst: Masked<[u8; 6]>,
}

/// `ipv4(src=,dst=,proto=,tos=,ttl=,frag=)`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Ipv4Key {
    /// Source address.
    pub src: Masked<[u8; 4]>,
    /// Destination address.
    pub dst: Masked<[u8; 4]>,
    /// IP protocol.
    pub proto: Masked<u8>,
    /// TOS byte.
    pub tos: Masked<u8>,
    /// TTL.
    pub ttl: Masked<u8>,
    /// Fragment type (see [`frag`]); the mask is 0 or 0xff.
    pub frag: Masked<u8>,
}

/// `ipv6(src=,dst=,label=,proto=,tclass=,hlimit=,frag=)`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Ipv6Key {
    /// Source address.
    pub src: Masked<[u8; 16]>,
    /// Destination address.
    pub dst: Masked<[u8; 16]>,
    /// Flow label (20 bits; an exact mask is `0xfffff`).
    pub label: Masked<u32>,
    /// Next header.
    pub proto: Masked<u8>,
    /// Traffic class.
    pub tclass: Masked<u8>,
    /// Hop limit.
    pub hlimit: Masked<u8>,
    /// Fragment type (see [`frag`]); the mask is 0 or 0xff.
    pub frag: Masked<u8>,
}

/// `tcp(src=,dst=)`, `udp(...)`, `sctp(...)`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct PortsKey {
    /// Source port.
    pub src: Masked<u16>,
    /// Destination port.
    pub dst: Masked<u16>,
}

/// `icmp(type=,code=)` and `icmpv6(type=,code=)`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct IcmpKey {
    /// ICMP type.
    pub icmp_type: Masked<u8>,
    /// ICMP code.
    pub icmp_code: Masked<u8>,
}

/// `arp(sip=,tip=,op=,sha=,tha=)`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct ArpKey {
    /// Sender protocol address.
    pub sip: Masked<[u8; 4]>,
    /// Target protocol address.
    pub tip: Masked<[u8; 4]>,
    /// Opcode.
    pub op: Masked<u16>,
    /// Sender hardware address.
    pub sha: Masked<[u8; 6]>,
    /// Target hardware address.
    pub tha: Masked<[u8; 6]>,
}

/// One key attribute with its value and mask.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum KeyAttr {
    /// `skb_priority(%#x[/%#x])`.
    SkbPriority(Masked<u32>),
    /// `skb_mark(%#x[/%#x])`.
    SkbMark(Masked<u32>),
    /// `ct_state(...)`: ODP conntrack state bits (same values as
    /// [`hwol_flow::ct_state`]); exact is `u32::MAX`.
    CtState(Masked<u32>),
    /// `ct_zone(%#x[/%#x])`.
    CtZone(Masked<u16>),
    /// `ct_mark(%#x[/%#x])`.
    CtMark(Masked<u32>),
    /// `ct_label(0x…[/0x…])`.
    CtLabel(Masked<u128>),
    /// `ct_tuple4(...)`.
    CtTuple4(CtTuple4),
    /// `ct_tuple6(...)`.
    CtTuple6(CtTuple6),
    /// `recirc_id(%#x)`.
    RecircId(Masked<u32>),
    /// `dp_hash(%#x[/%#x])`.
    DpHash(Masked<u32>),
    /// `in_port(name|number)`, or `in_port(N/0xM)` when not exact.
    InPort(Masked<u32>),
    /// `packet_type(ns=,id=)`.
    PacketType(PacketType),
    /// `eth(src=,dst=)`.
    Eth(EthKey),
    /// `eth_type(0x%04x[/0x%04x])`: the TPID when followed by `vlan`,
    /// otherwise the EtherType.
    EthType(Masked<u16>),
    /// `vlan(vid=,pcp=[,cfi=0])`: the TCI, [`VLAN_CFI`] meaning "present".
    Vlan(Masked<u16>),
    /// `encap(...)`: the attributes inside a VLAN tag.
    Encap(OdpKey),
    /// `ipv4(...)`.
    Ipv4(Ipv4Key),
    /// `ipv6(...)`.
    Ipv6(Ipv6Key),
    /// `tcp(src=,dst=)`.
    Tcp(PortsKey),
    /// `udp(src=,dst=)`.
    Udp(PortsKey),
    /// `sctp(src=,dst=)`.
    Sctp(PortsKey),
    /// `tcp_flags(syn|ack)` or `tcp_flags(+syn-ack)`; 12 bits.
    TcpFlags(Masked<u16>),
    /// `icmp(type=,code=)`.
    Icmp(IcmpKey),
    /// `icmpv6(type=,code=)`.
    Icmpv6(IcmpKey),
    /// `arp(sip=,tip=,op=,sha=,tha=)`.
    Arp(ArpKey),
}

/// The order in which [`OdpKey::from_flow`] emits the leading metadata
/// attributes. Everything from `packet_type` on is the same in both.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum AttrOrder {
    /// OVS before 3.2 (and the reference captures): `skb_priority,
    /// skb_mark, ct_state, ct_zone, ct_mark, ct_label, ct_tuple4/6,
    /// recirc_id, dp_hash, in_port`.
    #[default]
    Ovs31,
    /// OVS 3.2 and later, same as the Linux kernel datapath: `recirc_id,
    /// dp_hash, skb_priority, in_port, skb_mark, ct_state, ct_zone,
    /// ct_mark, ct_label, ct_tuple4/6`.
    Kernel,
}

/// How [`OdpKey::from_flow`] should shape the key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FromFlowOpts {
    /// Metadata attribute order.
    pub order: AttrOrder,
    /// Emit `packet_type(ns=0,id=0)` as the userspace datapath does (the
    /// Linux kernel datapath does not have the attribute).
    pub packet_type: bool,
}

impl Default for FromFlowOpts {
    fn default() -> Self {
        FromFlowOpts { order: AttrOrder::Ovs31, packet_type: true }
    }
}

// ---------------------------------------------------------------------------
// Mask predicates.

pub(crate) trait Bits: Copy + PartialEq {
    const ZERO: Self;
    const ONES: Self;
}

macro_rules! bits {
    ($($t:ty => $z:expr, $o:expr;)*) => {$(impl Bits for $t { const ZERO: Self = $z; const ONES: Self = $o; })*};
}
bits! {
    u8 => 0, u8::MAX;
    u16 => 0, u16::MAX;
    u32 => 0, u32::MAX;
    u128 => 0, u128::MAX;
    [u8; 4] => [0; 4], [0xff; 4];
    [u8; 6] => [0; 6], [0xff; 6];
    [u8; 16] => [0; 16], [0xff; 16];
}

fn z<T: Bits>(m: &Masked<T>) -> bool {
    m.mask == T::ZERO
}

fn o<T: Bits>(m: &Masked<T>) -> bool {
    m.mask == T::ONES
}

/// A value with an exact mask.
pub(crate) fn exact<T: Bits>(value: T) -> Masked<T> {
    Masked { value, mask: T::ONES }
}

const LABEL_MASK: u32 = 0x000f_ffff;
const TCP_FLAGS_MASK: u16 = 0x0fff;

impl KeyAttr {
    /// The attribute's name as printed.
    pub fn name(&self) -> &'static str {
        match self {
            KeyAttr::SkbPriority(_) => "skb_priority",
            KeyAttr::SkbMark(_) => "skb_mark",
            KeyAttr::CtState(_) => "ct_state",
            KeyAttr::CtZone(_) => "ct_zone",
            KeyAttr::CtMark(_) => "ct_mark",
            KeyAttr::CtLabel(_) => "ct_label",
            KeyAttr::CtTuple4(_) => "ct_tuple4",
            KeyAttr::CtTuple6(_) => "ct_tuple6",
            KeyAttr::RecircId(_) => "recirc_id",
            KeyAttr::DpHash(_) => "dp_hash",
            KeyAttr::InPort(_) => "in_port",
            KeyAttr::PacketType(_) => "packet_type",
            KeyAttr::Eth(_) => "eth",
            KeyAttr::EthType(_) => "eth_type",
            KeyAttr::Vlan(_) => "vlan",
            KeyAttr::Encap(_) => "encap",
            KeyAttr::Ipv4(_) => "ipv4",
            KeyAttr::Ipv6(_) => "ipv6",
            KeyAttr::Tcp(_) => "tcp",
            KeyAttr::Udp(_) => "udp",
            KeyAttr::Sctp(_) => "sctp",
            KeyAttr::TcpFlags(_) => "tcp_flags",
            KeyAttr::Icmp(_) => "icmp",
            KeyAttr::Icmpv6(_) => "icmpv6",
            KeyAttr::Arp(_) => "arp",
        }
    }

    /// True when the mask matches nothing (OVS's
    /// `odp_mask_attr_is_wildcard`). Non-verbose output omits such
    /// attributes. `encap` is never a wildcard.
    pub fn is_wildcard(&self) -> bool {
        match self {
            KeyAttr::SkbPriority(m)
            | KeyAttr::SkbMark(m)
            | KeyAttr::CtState(m)
            | KeyAttr::CtMark(m)
            | KeyAttr::RecircId(m)
            | KeyAttr::DpHash(m)
            | KeyAttr::InPort(m) => z(m),
            KeyAttr::CtZone(m) | KeyAttr::EthType(m) | KeyAttr::Vlan(m) => z(m),
            KeyAttr::CtLabel(m) => z(m),
            KeyAttr::TcpFlags(m) => m.mask & TCP_FLAGS_MASK == 0,
            KeyAttr::CtTuple4(t) => z(&t.src) && z(&t.dst) && z(&t.proto) && z(&t.tp_src) && z(&t.tp_dst),
            KeyAttr::CtTuple6(t) => z(&t.src) && z(&t.dst) && z(&t.proto) && z(&t.tp_src) && z(&t.tp_dst),
            KeyAttr::PacketType(p) => z(&p.ns) && z(&p.id),
            KeyAttr::Eth(e) => z(&e.src) && z(&e.dst),
            KeyAttr::Encap(_) => false,
            KeyAttr::Ipv4(k) => z(&k.src) && z(&k.dst) && z(&k.proto) && z(&k.tos) && z(&k.ttl) && z(&k.frag),
            KeyAttr::Ipv6(k) => {
                z(&k.src)
                    && z(&k.dst)
                    && k.label.mask & LABEL_MASK == 0
                    && z(&k.proto)
                    && z(&k.tclass)
                    && z(&k.hlimit)
                    && z(&k.frag)
            }
            KeyAttr::Tcp(p) | KeyAttr::Udp(p) | KeyAttr::Sctp(p) => z(&p.src) && z(&p.dst),
            KeyAttr::Icmp(i) | KeyAttr::Icmpv6(i) => z(&i.icmp_type) && z(&i.icmp_code),
            KeyAttr::Arp(a) => z(&a.sip) && z(&a.tip) && z(&a.op) && z(&a.sha) && z(&a.tha),
        }
    }
}

// ---------------------------------------------------------------------------
// Printing.

fn f_ip4(o_: &mut String, name: &str, m: Masked<[u8; 4]>, verbose: bool) {
    if verbose || !z(&m) {
        let _ = write!(o_, "{name}={}", ip4(m.value));
        if !o(&m) {
            let _ = write!(o_, "/{}", ip4(m.mask));
        }
        o_.push(',');
    }
}

fn f_ip6(o_: &mut String, name: &str, m: Masked<[u8; 16]>, verbose: bool) {
    if verbose || !z(&m) {
        let _ = write!(o_, "{name}={}", ip6(m.value));
        if !o(&m) {
            let _ = write!(o_, "/{}", ip6(m.mask));
        }
        o_.push(',');
    }
}

pub(crate) fn f_eth(o_: &mut String, name: &str, m: Masked<[u8; 6]>, verbose: bool) {
    if verbose || !z(&m) {
        let _ = write!(o_, "{name}={}", mac(m.value));
        if !o(&m) {
            let _ = write!(o_, "/{}", mac(m.mask));
        }
        o_.push(',');
    }
}

/// `name=%u[/%#x],` for any unsigned width.
fn f_dec<T: Bits + Into<u128>>(o_: &mut String, name: &str, m: Masked<T>, verbose: bool) {
    if verbose || !z(&m) {
        let _ = write!(o_, "{name}={}", m.value.into());
        if !o(&m) {
            let _ = write!(o_, "/{}", hex(m.mask.into()));
        }
        o_.push(',');
    }
}

/// `name=%#x[/%#x],`.
fn f_hex<T: Bits + Into<u128>>(o_: &mut String, name: &str, m: Masked<T>, verbose: bool) {
    if verbose || !z(&m) {
        let _ = write!(o_, "{name}={}", hex(m.value.into()));
        if !o(&m) {
            let _ = write!(o_, "/{}", hex(m.mask.into()));
        }
        o_.push(',');
    }
}

fn f_label(o_: &mut String, m: Masked<u32>, verbose: bool) {
    if verbose || m.mask != 0 {
        let _ = write!(o_, "label={}", hex(m.value.into()));
        if m.mask & LABEL_MASK != LABEL_MASK {
            let _ = write!(o_, "/{}", hex(m.mask.into()));
        }
        o_.push(',');
    }
}

fn frag_name(v: u8) -> &'static str {
    match v {
        frag::NONE => "no",
        frag::FIRST => "first",
        frag::LATER => "later",
        _ => "<error>",
    }
}

fn f_frag(o_: &mut String, m: Masked<u8>) {
    if m.mask == 0 {
    } else if m.mask == 0xff {
        let _ = write!(o_, "frag={},", frag_name(m.value));
    } else {
        let _ = write!(o_, "error: partial mask not supported for frag ({}),", hex(m.mask.into()));
    }
}

fn chomp(o_: &mut String) {
    if o_.ends_with(',') {
        o_.pop();
    }
}

/// Conntrack state bit names in bit order (ODP values).
const CT_STATE_NAMES: [(u32, &str); 8] = hwol_flow::ct_state::NAMES;

/// TCP flag names in bit order, as OVS's `packet_tcp_flag_to_string`.
const TCP_FLAG_NAMES: [(u32, &str); 12] = hwol_wire::tcp::flags::NAMES;

fn bit_name(names: &[(u32, &'static str)], bit: u32) -> Option<&'static str> {
    names.iter().find(|(b, _)| *b == bit).map(|(_, n)| *n)
}

/// OVS's `format_flags(..., '|')`: `0`, or names lowest bit first, unknown
/// bits collected as one hex number at the end.
fn format_flags(o_: &mut String, names: &[(u32, &'static str)], flags: u32) {
    if flags == 0 {
        o_.push('0');
        return;
    }
    let (mut f, mut bad) = (flags, 0u32);
    let mut first = true;
    while f != 0 {
        let bit = f & f.wrapping_neg();
        match bit_name(names, bit) {
            Some(n) => {
                if !first {
                    o_.push('|');
                }
                o_.push_str(n);
                first = false;
            }
            None => bad |= bit,
        }
        f &= !bit;
    }
    if bad != 0 {
        if !first {
            o_.push('|');
        }
        let _ = write!(o_, "0x{bad:x}");
    }
}

/// OVS's `format_flags_masked` with no name: `0/0`, or `+set-clear` for
/// each mask bit, lowest first.
fn format_flags_masked(o_: &mut String, names: &[(u32, &'static str)], flags: u32, mask: u32, max: u32) {
    if mask == max {
        format_flags(o_, names, flags);
        return;
    }
    if mask == 0 {
        o_.push_str("0/0");
        return;
    }
    let mut m = mask;
    while m != 0 {
        let bit = m & m.wrapping_neg();
        o_.push(if flags & bit != 0 { '+' } else { '-' });
        o_.push_str(bit_name(names, bit).unwrap_or("[Unknown]"));
        m &= !bit;
    }
}

/// OVS's `format_vlan_tci`.
pub(crate) fn format_vlan_tci(o_: &mut String, tci: u16, mask: u16, verbose: bool) {
    let (vid, vm) = (tci & 0xfff, mask & 0xfff);
    let (pcp, pm) = (tci >> 13, mask >> 13);
    if verbose || vid != 0 || vm != 0 {
        let _ = write!(o_, "vid={vid}");
        if vm != 0xfff {
            let _ = write!(o_, "/0x{vm:x}");
        }
        o_.push(',');
    }
    if verbose || pcp != 0 || pm != 0 {
        let _ = write!(o_, "pcp={pcp}");
        if pm != 7 {
            let _ = write!(o_, "/0x{pm:x}");
        }
        o_.push(',');
    }
    if tci & VLAN_CFI == 0 {
        o_.push_str("cfi=0,");
    }
    chomp(o_);
}

/// `%#x[/%#x]` for the single-number attributes; the mask only when not exact.
fn single_hex<T: Bits + Into<u128>>(o_: &mut String, m: Masked<T>) {
    o_.push_str(&hex(m.value.into()));
    if !o(&m) {
        let _ = write!(o_, "/{}", hex(m.mask.into()));
    }
}

pub(crate) fn format_ipv4_fields(o_: &mut String, k: &Ipv4Key, verbose: bool) {
    f_ip4(o_, "src", k.src, verbose);
    f_ip4(o_, "dst", k.dst, verbose);
    f_dec(o_, "proto", k.proto, verbose);
    f_hex(o_, "tos", k.tos, verbose);
    f_dec(o_, "ttl", k.ttl, verbose);
    f_frag(o_, k.frag);
    chomp(o_);
}

pub(crate) fn format_ipv6_fields(o_: &mut String, k: &Ipv6Key, verbose: bool) {
    f_ip6(o_, "src", k.src, verbose);
    f_ip6(o_, "dst", k.dst, verbose);
    f_label(o_, k.label, verbose);
    f_dec(o_, "proto", k.proto, verbose);
    f_hex(o_, "tclass", k.tclass, verbose);
    f_dec(o_, "hlimit", k.hlimit, verbose);
    f_frag(o_, k.frag);
    chomp(o_);
}

pub(crate) fn format_ports_fields(o_: &mut String, k: &PortsKey, verbose: bool) {
    f_dec(o_, "src", k.src, verbose);
    f_dec(o_, "dst", k.dst, verbose);
    chomp(o_);
}

fn format_attr(o_: &mut String, a: &KeyAttr, names: Option<&PortNames>, verbose: bool) {
    o_.push_str(a.name());
    o_.push('(');
    match a {
        KeyAttr::SkbPriority(m) | KeyAttr::SkbMark(m) | KeyAttr::DpHash(m) | KeyAttr::RecircId(m) => single_hex(o_, *m),
        KeyAttr::CtMark(m) => {
            if verbose || !z(m) {
                single_hex(o_, *m)
            }
        }
        KeyAttr::CtZone(m) => {
            if verbose || !z(m) {
                single_hex(o_, *m)
            }
        }
        KeyAttr::CtLabel(m) => {
            if verbose || !z(m) {
                single_hex(o_, *m)
            }
        }
        KeyAttr::CtState(m) => {
            if verbose {
                single_hex(o_, *m)
            } else if !o(m) {
                format_flags_masked(o_, &CT_STATE_NAMES, m.value, m.mask, u32::MAX)
            } else {
                format_flags(o_, &CT_STATE_NAMES, m.value)
            }
        }
        KeyAttr::CtTuple4(t) => {
            f_ip4(o_, "src", t.src, verbose);
            f_ip4(o_, "dst", t.dst, verbose);
            f_dec(o_, "proto", t.proto, verbose);
            f_dec(o_, "tp_src", t.tp_src, verbose);
            f_dec(o_, "tp_dst", t.tp_dst, verbose);
            chomp(o_);
        }
        KeyAttr::CtTuple6(t) => {
            f_ip6(o_, "src", t.src, verbose);
            f_ip6(o_, "dst", t.dst, verbose);
            f_dec(o_, "proto", t.proto, verbose);
            f_dec(o_, "src_port", t.tp_src, verbose);
            f_dec(o_, "dst_port", t.tp_dst, verbose);
            chomp(o_);
        }
        KeyAttr::InPort(m) => {
            if o(m) {
                o_.push_str(&PortNames::format(names, m.value));
            } else {
                let _ = write!(o_, "{}/{}", m.value, hex(m.mask.into()));
            }
        }
        KeyAttr::PacketType(p) => {
            f_dec(o_, "ns", p.ns, verbose);
            f_hex(o_, "id", p.id, verbose);
            chomp(o_);
        }
        KeyAttr::Eth(e) => {
            f_eth(o_, "src", e.src, verbose);
            f_eth(o_, "dst", e.dst, verbose);
            chomp(o_);
        }
        KeyAttr::EthType(m) => {
            let _ = write!(o_, "0x{:04x}", m.value);
            if !o(m) {
                let _ = write!(o_, "/0x{:04x}", m.mask);
            }
        }
        KeyAttr::Vlan(m) => format_vlan_tci(o_, m.value, m.mask, verbose),
        KeyAttr::Encap(inner) => format_attrs(o_, &inner.attrs, names, verbose),
        KeyAttr::Ipv4(k) => format_ipv4_fields(o_, k, verbose),
        KeyAttr::Ipv6(k) => format_ipv6_fields(o_, k, verbose),
        KeyAttr::Tcp(p) | KeyAttr::Udp(p) | KeyAttr::Sctp(p) => format_ports_fields(o_, p, verbose),
        KeyAttr::TcpFlags(m) => {
            if m.mask & TCP_FLAGS_MASK != TCP_FLAGS_MASK {
                format_flags_masked(
                    o_,
                    &TCP_FLAG_NAMES,
                    m.value.into(),
                    (m.mask & TCP_FLAGS_MASK).into(),
                    TCP_FLAGS_MASK.into(),
                )
            } else {
                format_flags(o_, &TCP_FLAG_NAMES, m.value.into())
            }
        }
        KeyAttr::Icmp(i) | KeyAttr::Icmpv6(i) => {
            f_dec(o_, "type", i.icmp_type, verbose);
            f_dec(o_, "code", i.icmp_code, verbose);
            chomp(o_);
        }
        KeyAttr::Arp(a) => {
            f_ip4(o_, "sip", a.sip, verbose);
            f_ip4(o_, "tip", a.tip, verbose);
            f_dec(o_, "op", a.op, verbose);
            f_eth(o_, "sha", a.sha, verbose);
            f_eth(o_, "tha", a.tha, verbose);
            chomp(o_);
        }
    }
    o_.push(')');
}

/// What `odp_flow_format` does with each attribute: print it, print a bare
/// `eth()`, or skip it.
enum Show {
    Full,
    BareEth,
    Skip,
}

/// Decide, attribute by attribute, what a key prints as (the logic of OVS's
/// `odp_flow_format`): in non-verbose mode wildcarded attributes are
/// skipped, except that an all-wildcard `eth` is shown as `eth()` unless a
/// `packet_type` came before it.
fn plan(attrs: &[KeyAttr], verbose: bool) -> Vec<Show> {
    let mut has_packet_type = false;
    attrs
        .iter()
        .map(|a| {
            if matches!(a, KeyAttr::PacketType(_)) {
                has_packet_type = true;
            }
            let wildcard = a.is_wildcard();
            if verbose || !wildcard {
                Show::Full
            } else if matches!(a, KeyAttr::Eth(_)) && !has_packet_type {
                Show::BareEth
            } else {
                if matches!(a, KeyAttr::PacketType(_)) {
                    has_packet_type = false;
                }
                Show::Skip
            }
        })
        .collect()
}

fn format_attrs(o_: &mut String, attrs: &[KeyAttr], names: Option<&PortNames>, verbose: bool) {
    let mut first = true;
    for (a, show) in attrs.iter().zip(plan(attrs, verbose)) {
        if matches!(show, Show::Skip) {
            continue;
        }
        if !first {
            o_.push(',');
        }
        first = false;
        match show {
            Show::Full => format_attr(o_, a, names, verbose),
            Show::BareEth | Show::Skip => o_.push_str("eth()"),
        }
    }
}

impl OdpKey {
    /// Print the key as `dpctl/dump-flows` does (`verbose` = `-m`), with
    /// port names from `names` where it knows them. An empty key prints as
    /// `<empty>`, like OVS.
    pub fn format(&self, names: Option<&PortNames>, verbose: bool) -> String {
        if self.attrs.is_empty() {
            return "<empty>".to_string();
        }
        let mut s = String::new();
        format_attrs(&mut s, &self.attrs, names, verbose);
        s
    }

    /// Drop what non-verbose printing would not show, so that a parsed
    /// terse line is exactly what its printed form parses back to. Bare
    /// `eth()` keeps its (all-wildcard) attribute.
    pub(crate) fn canonicalize_terse(&mut self) {
        let plan = plan(&self.attrs, false);
        let mut keep = plan.iter().map(|s| !matches!(s, Show::Skip));
        self.attrs.retain(|_| keep.next().unwrap_or(true));
        for a in &mut self.attrs {
            if let KeyAttr::Encap(inner) = a {
                inner.canonicalize_terse();
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Parsing.

/// Parse `name=value` fields up to the closing `)` (the `(` is consumed).
/// `f` gets the index of the field name in `fields`.
pub(crate) fn parse_fields(
    cur: &mut Cursor<'_>,
    attr: &str,
    fields: &[&str],
    mut f: impl FnMut(&mut Cursor<'_>, usize) -> Result<(), ParseError>,
) -> Result<(), ParseError> {
    if cur.eat(")") {
        return Ok(());
    }
    let mut seen = 0u64;
    loop {
        let start = cur.pos();
        let name = cur.take_while(|c| c.is_ascii_alphanumeric() || c == '_');
        let Some(idx) = fields.iter().position(|n| *n == name) else {
            cur.reset(start);
            return Err(cur.expected(format!("{attr} field ({})", fields.join(", "))));
        };
        if seen & (1 << idx) != 0 {
            return Err(cur.invalid_at(start, format!("{attr} field '{name}' is given twice; give it once")));
        }
        seen |= 1 << idx;
        cur.expect("=", &format!("after '{name}'"))?;
        f(cur, idx)?;
        if cur.eat(")") {
            return Ok(());
        }
        if !cur.eat(",") {
            return Err(cur.expected(format!("',' or ')' after {attr} field '{name}'")));
        }
    }
}

/// Optional `/mask` after a value.
fn opt_mask<T: Bits>(
    cur: &mut Cursor<'_>,
    parse: impl FnOnce(&mut Cursor<'_>) -> Result<T, ParseError>,
) -> Result<T, ParseError> {
    if cur.eat("/") {
        let m = parse(cur)?;
        if m == T::ZERO {
            cur.verbose_hint = true;
        }
        Ok(m)
    } else {
        Ok(T::ONES)
    }
}

pub(crate) fn m_ip4(cur: &mut Cursor<'_>, what: &str) -> Result<Masked<[u8; 4]>, ParseError> {
    let value = cur.ipv4(what)?;
    let mask = opt_mask(cur, |c| c.ipv4("an IPv4 mask"))?;
    Ok(Masked { value, mask })
}

pub(crate) fn m_ip6(cur: &mut Cursor<'_>, what: &str) -> Result<Masked<[u8; 16]>, ParseError> {
    let value = cur.ipv6(what)?;
    let mask = opt_mask(cur, |c| c.ipv6("an IPv6 mask"))?;
    Ok(Masked { value, mask })
}

pub(crate) fn m_eth(cur: &mut Cursor<'_>, what: &str) -> Result<Masked<[u8; 6]>, ParseError> {
    let value = cur.eth(what)?;
    let mask = opt_mask(cur, |c| c.eth("an Ethernet mask"))?;
    Ok(Masked { value, mask })
}

pub(crate) fn m_u8(cur: &mut Cursor<'_>, what: &str) -> Result<Masked<u8>, ParseError> {
    let value = cur.u8v(what)?;
    let mask = opt_mask(cur, |c| c.u8v("a mask"))?;
    Ok(Masked { value, mask })
}

pub(crate) fn m_u16(cur: &mut Cursor<'_>, what: &str) -> Result<Masked<u16>, ParseError> {
    let value = cur.u16v(what)?;
    let mask = opt_mask(cur, |c| c.u16v("a mask"))?;
    Ok(Masked { value, mask })
}

pub(crate) fn m_u32(cur: &mut Cursor<'_>, what: &str) -> Result<Masked<u32>, ParseError> {
    let value = cur.u32v(what)?;
    let mask = opt_mask(cur, |c| c.u32v("a mask"))?;
    Ok(Masked { value, mask })
}

pub(crate) fn m_u128(cur: &mut Cursor<'_>, what: &str) -> Result<Masked<u128>, ParseError> {
    let value = cur.uint(what, u128::MAX)?;
    let mask = opt_mask(cur, |c| c.uint("a mask", u128::MAX))?;
    Ok(Masked { value, mask })
}

/// An IPv6 flow label: 20 bits, exact mask `0xfffff`.
pub(crate) fn m_label(cur: &mut Cursor<'_>) -> Result<Masked<u32>, ParseError> {
    let value = cur.uint("a flow label", LABEL_MASK.into())? as u32;
    let mask = if cur.eat("/") {
        let m = cur.uint("a flow label mask (at most 0xfffff)", LABEL_MASK.into())? as u32;
        if m == 0 {
            cur.verbose_hint = true;
        }
        m
    } else {
        LABEL_MASK
    };
    Ok(Masked { value, mask })
}

/// `no`, `first` or `later`, always exact.
pub(crate) fn m_frag(cur: &mut Cursor<'_>) -> Result<Masked<u8>, ParseError> {
    let v = if cur.eat("no") {
        frag::NONE
    } else if cur.eat("first") {
        frag::FIRST
    } else if cur.eat("later") {
        frag::LATER
    } else {
        return Err(cur.expected("fragment type 'no', 'first' or 'later'"));
    };
    Ok(exact(v))
}

/// A port: a decimal or hex number, or a name (looked up or learned).
pub(crate) fn parse_port(cur: &mut Cursor<'_>, ports: &mut PortNames) -> Result<u32, ParseError> {
    let start = cur.pos();
    let word = cur.take_while(crate::text::is_name_char);
    if word.is_empty() {
        return Err(cur.expected("a port name or number"));
    }
    if word.bytes().all(|b| b.is_ascii_digit()) || word.starts_with("0x") {
        cur.reset(start);
        return cur.u32v("a port number");
    }
    cur.names_used = true;
    ports.number_or_learn(word).ok_or_else(|| cur.invalid_at(start, "too many port names to learn"))
}

/// Flags: `0`, `N/M`, `a|b`, or `+a-b`. Returns value and mask; `exact_mask`
/// is the mask an unmasked form means.
fn parse_flags(
    cur: &mut Cursor<'_>,
    what: &str,
    names: &[(u32, &'static str)],
    exact_mask: u32,
) -> Result<(Masked<u32>, bool), ParseError> {
    let lookup = |cur: &mut Cursor<'_>| -> Result<u32, ParseError> {
        let start = cur.pos();
        let word = cur.take_while(|c| c.is_ascii_alphanumeric() || c == '[' || c == ']');
        match names.iter().find(|(_, n)| *n == word) {
            Some((b, _)) => Ok(*b),
            None => {
                cur.reset(start);
                let list: Vec<&str> = names.iter().map(|(_, n)| *n).collect();
                Err(cur.expected(format!("a {what} flag ({})", list.join(", "))))
            }
        }
    };
    match cur.peek() {
        Some('+') | Some('-') => {
            let (mut v, mut m) = (0u32, 0u32);
            while let Some(sign) = cur.peek().filter(|c| *c == '+' || *c == '-') {
                cur.eat(if sign == '+' { "+" } else { "-" });
                let start = cur.pos();
                let bit = lookup(cur)?;
                if m & bit != 0 {
                    return Err(cur.invalid_at(start, format!("{what} flag given twice; give each flag once")));
                }
                m |= bit;
                if sign == '+' {
                    v |= bit;
                }
            }
            Ok((Masked { value: v, mask: m }, false))
        }
        Some(c) if c.is_ascii_digit() => {
            let value = cur.u32v(&format!("{what} bits"))?;
            let masked = cur.eat("/");
            let mask = if masked {
                let m = cur.u32v(&format!("{what} mask"))?;
                if m == 0 {
                    cur.verbose_hint = true;
                }
                m
            } else {
                exact_mask
            };
            Ok((Masked { value, mask }, value != 0 || masked))
        }
        _ => {
            let mut v = lookup(cur)?;
            while cur.eat("|") {
                v |= lookup(cur)?;
            }
            Ok((Masked { value: v, mask: exact_mask }, false))
        }
    }
}

fn parse_vlan(cur: &mut Cursor<'_>) -> Result<Masked<u16>, ParseError> {
    let mut m = Masked { value: VLAN_CFI, mask: VLAN_CFI };
    parse_fields(cur, "vlan", &["vid", "pcp", "cfi"], |cur, i| {
        let start = cur.pos();
        match i {
            0 => {
                let v = cur.uint("a VLAN id (0-4095)", 0xfff)? as u16;
                let mk = if cur.eat("/") { cur.uint("a VLAN id mask (at most 0xfff)", 0xfff)? as u16 } else { 0xfff };
                m.value = (m.value & !0xfff) | v;
                m.mask = (m.mask & !0xfff) | mk;
            }
            1 => {
                let v = cur.uint("a VLAN priority (0-7)", 7)? as u16;
                let mk = if cur.eat("/") { cur.uint("a VLAN priority mask (at most 0x7)", 7)? as u16 } else { 7 };
                m.value = (m.value & 0x1fff) | (v << 13);
                m.mask = (m.mask & 0x1fff) | (mk << 13);
            }
            _ => {
                let v = cur.uint("cfi 0 or 1", 1)?;
                if cur.starts_with("/") {
                    return Err(cur.invalid_at(start, "a mask on cfi is not supported; write cfi=0 or cfi=1"));
                }
                if v == 0 {
                    m.value &= !VLAN_CFI;
                } else {
                    m.value |= VLAN_CFI;
                }
            }
        }
        Ok(())
    })?;
    Ok(m)
}

/// Parse one attribute, `name(...)`.
fn parse_attr(cur: &mut Cursor<'_>, ports: &mut PortNames) -> Result<KeyAttr, ParseError> {
    let start = cur.pos();
    let name = cur.take_while(|c| c.is_ascii_alphanumeric() || c == '_');
    if name.is_empty() {
        return Err(cur.expected("a key attribute such as 'in_port(...)'"));
    }
    const UNMODELLED: [&str; 6] = ["tunnel", "mpls", "nsh", "nd", "nd_ext", "tun_id"];
    if UNMODELLED.contains(&name) {
        return Err(cur.invalid_at(
            start,
            format!("key attribute '{name}' is not supported by hwol; remove it or convert the flow without it"),
        ));
    }
    let known = [
        "skb_priority",
        "skb_mark",
        "ct_state",
        "ct_zone",
        "ct_mark",
        "ct_label",
        "ct_tuple4",
        "ct_tuple6",
        "recirc_id",
        "dp_hash",
        "in_port",
        "packet_type",
        "eth",
        "eth_type",
        "vlan",
        "encap",
        "ipv4",
        "ipv6",
        "tcp",
        "udp",
        "sctp",
        "tcp_flags",
        "icmp",
        "icmpv6",
        "arp",
    ];
    if !known.contains(&name) {
        cur.reset(start);
        return Err(cur.expected("a key attribute (in_port, recirc_id, ct_state, eth, eth_type, ipv4, tcp, ...)"));
    }
    cur.expect("(", &format!("after '{name}'"))?;
    let close = |cur: &mut Cursor<'_>| cur.expect(")", &format!("to close '{name}('"));
    let attr = match name {
        "skb_priority" => KeyAttr::SkbPriority(m_u32(cur, "a priority")?),
        "skb_mark" => KeyAttr::SkbMark(m_u32(cur, "a mark")?),
        "recirc_id" => KeyAttr::RecircId(m_u32(cur, "a recirculation id")?),
        "dp_hash" => KeyAttr::DpHash(m_u32(cur, "a hash")?),
        "ct_zone" => KeyAttr::CtZone(m_u16(cur, "a zone")?),
        "ct_mark" => KeyAttr::CtMark(m_u32(cur, "a mark")?),
        "ct_label" => KeyAttr::CtLabel(m_u128(cur, "a label")?),
        "ct_state" => {
            let at = cur.pos();
            let (m, numeric) = parse_flags(cur, "ct_state", &CT_STATE_NAMES, u32::MAX)?;
            if m.value & !0xff != 0 || (m.mask != u32::MAX && m.mask & !0xff != 0) {
                return Err(cur.invalid_at(
                    at,
                    "ct_state has bits above 0x80; the defined bits are new, est, rel, rpl, inv, trk, snat, dnat",
                ));
            }
            if numeric {
                // Only verbose output prints ct_state as hex.
                cur.verbose_hint = true;
            }
            KeyAttr::CtState(m)
        }
        "tcp_flags" => {
            let at = cur.pos();
            let (m, _) = parse_flags(cur, "tcp_flags", &TCP_FLAG_NAMES, TCP_FLAGS_MASK.into())?;
            if m.value > TCP_FLAGS_MASK.into() || m.mask > TCP_FLAGS_MASK.into() {
                return Err(cur.invalid_at(at, "tcp_flags has bits above 0x800; TCP flags are 12 bits (0xfff)"));
            }
            let mask = m.mask as u16;
            // Bits outside a partial mask are never printed, so don't keep them.
            let value = if mask == TCP_FLAGS_MASK { m.value as u16 } else { m.value as u16 & mask };
            KeyAttr::TcpFlags(Masked { value, mask })
        }
        "in_port" => {
            let value = parse_port(cur, ports)?;
            let mask = opt_mask(cur, |c| c.u32v("a port mask"))?;
            KeyAttr::InPort(Masked { value, mask })
        }
        "eth_type" => KeyAttr::EthType(m_u16(cur, "an EtherType such as 0x0800")?),
        "vlan" => return Ok(KeyAttr::Vlan(parse_vlan(cur)?)),
        "encap" => {
            let inner = parse_attrs(cur, ports, true)?;
            return Ok(KeyAttr::Encap(inner));
        }
        "ct_tuple4" => {
            let mut t = CtTuple4::default();
            parse_fields(cur, "ct_tuple4", &["src", "dst", "proto", "tp_src", "tp_dst"], |cur, i| {
                match i {
                    0 => t.src = m_ip4(cur, "a source address")?,
                    1 => t.dst = m_ip4(cur, "a destination address")?,
                    2 => t.proto = m_u8(cur, "an IP protocol number")?,
                    3 => t.tp_src = m_u16(cur, "a port")?,
                    _ => t.tp_dst = m_u16(cur, "a port")?,
                }
                Ok(())
            })?;
            return Ok(KeyAttr::CtTuple4(t));
        }
        "ct_tuple6" => {
            let mut t = CtTuple6::default();
            let fields = ["src", "dst", "proto", "src_port", "dst_port", "tp_src", "tp_dst"];
            let mut port_seen = [false; 2];
            parse_fields(cur, "ct_tuple6", &fields, |cur, i| {
                let at = cur.pos();
                match i {
                    0 => t.src = m_ip6(cur, "a source address")?,
                    1 => t.dst = m_ip6(cur, "a destination address")?,
                    2 => t.proto = m_u8(cur, "an IP protocol number")?,
                    _ => {
                        let which = (i - 3) % 2;
                        if port_seen[which] {
                            return Err(
                                cur.invalid_at(at, "ct_tuple6 port given twice; give src_port and dst_port once")
                            );
                        }
                        port_seen[which] = true;
                        let v = m_u16(cur, "a port")?;
                        if which == 0 {
                            t.tp_src = v;
                        } else {
                            t.tp_dst = v;
                        }
                    }
                }
                Ok(())
            })?;
            return Ok(KeyAttr::CtTuple6(t));
        }
        "packet_type" => {
            let mut p = PacketType::default();
            parse_fields(cur, "packet_type", &["ns", "id"], |cur, i| {
                if i == 0 {
                    p.ns = m_u16(cur, "a namespace number")?;
                } else {
                    p.id = m_u16(cur, "a type id")?;
                }
                Ok(())
            })?;
            return Ok(KeyAttr::PacketType(p));
        }
        "eth" => {
            let mut e = EthKey::default();
            parse_fields(cur, "eth", &["src", "dst"], |cur, i| {
                if i == 0 {
                    e.src = m_eth(cur, "a source MAC")?;
                } else {
                    e.dst = m_eth(cur, "a destination MAC")?;
                }
                Ok(())
            })?;
            return Ok(KeyAttr::Eth(e));
        }
        "ipv4" => {
            let mut k = Ipv4Key::default();
            parse_fields(cur, "ipv4", &["src", "dst", "proto", "tos", "ttl", "frag"], |cur, i| {
                match i {
                    0 => k.src = m_ip4(cur, "a source address")?,
                    1 => k.dst = m_ip4(cur, "a destination address")?,
                    2 => k.proto = m_u8(cur, "an IP protocol number")?,
                    3 => k.tos = m_u8(cur, "a TOS byte")?,
                    4 => k.ttl = m_u8(cur, "a TTL")?,
                    _ => k.frag = m_frag(cur)?,
                }
                Ok(())
            })?;
            return Ok(KeyAttr::Ipv4(k));
        }
        "ipv6" => {
            let mut k = Ipv6Key::default();
            parse_fields(cur, "ipv6", &["src", "dst", "label", "proto", "tclass", "hlimit", "frag"], |cur, i| {
                match i {
                    0 => k.src = m_ip6(cur, "a source address")?,
                    1 => k.dst = m_ip6(cur, "a destination address")?,
                    2 => k.label = m_label(cur)?,
                    3 => k.proto = m_u8(cur, "a next-header number")?,
                    4 => k.tclass = m_u8(cur, "a traffic class")?,
                    5 => k.hlimit = m_u8(cur, "a hop limit")?,
                    _ => k.frag = m_frag(cur)?,
                }
                Ok(())
            })?;
            return Ok(KeyAttr::Ipv6(k));
        }
        "tcp" | "udp" | "sctp" => {
            let mut p = PortsKey::default();
            parse_fields(cur, name, &["src", "dst"], |cur, i| {
                if i == 0 {
                    p.src = m_u16(cur, "a port")?;
                } else {
                    p.dst = m_u16(cur, "a port")?;
                }
                Ok(())
            })?;
            return Ok(match name {
                "tcp" => KeyAttr::Tcp(p),
                "udp" => KeyAttr::Udp(p),
                _ => KeyAttr::Sctp(p),
            });
        }
        "icmp" | "icmpv6" => {
            let mut k = IcmpKey::default();
            parse_fields(cur, name, &["type", "code"], |cur, i| {
                if i == 0 {
                    k.icmp_type = m_u8(cur, "an ICMP type")?;
                } else {
                    k.icmp_code = m_u8(cur, "an ICMP code")?;
                }
                Ok(())
            })?;
            return Ok(if name == "icmp" { KeyAttr::Icmp(k) } else { KeyAttr::Icmpv6(k) });
        }
        _ => {
            // "arp"
            let mut a = ArpKey::default();
            parse_fields(cur, "arp", &["sip", "tip", "op", "sha", "tha"], |cur, i| {
                match i {
                    0 => a.sip = m_ip4(cur, "a sender IP")?,
                    1 => a.tip = m_ip4(cur, "a target IP")?,
                    2 => a.op = m_u16(cur, "an ARP opcode")?,
                    3 => a.sha = m_eth(cur, "a sender MAC")?,
                    _ => a.tha = m_eth(cur, "a target MAC")?,
                }
                Ok(())
            })?;
            return Ok(KeyAttr::Arp(a));
        }
    };
    close(cur)?;
    Ok(attr)
}

/// Parse comma-separated attributes. Nested (`encap(`): up to and including
/// `)`. Top level: up to end of text or `, ` (the separator before stats).
pub(crate) fn parse_attrs(cur: &mut Cursor<'_>, ports: &mut PortNames, nested: bool) -> Result<OdpKey, ParseError> {
    let mut key = OdpKey::default();
    if nested && cur.eat(")") {
        return Ok(key);
    }
    if !nested && cur.eat("<empty>") {
        return Ok(key);
    }
    if !nested && (cur.at_end() || cur.starts_with(", ")) {
        return Ok(key);
    }
    loop {
        let start = cur.pos();
        let attr = parse_attr(cur, ports)?;
        if key.attrs.iter().any(|a| std::mem::discriminant(a) == std::mem::discriminant(&attr)) {
            return Err(
                cur.invalid_at(start, format!("key attribute '{}' appears twice at this level; keep one", attr.name()))
            );
        }
        key.attrs.push(attr);
        if nested {
            if cur.eat(")") {
                return Ok(key);
            }
            if !cur.eat(",") {
                return Err(cur.expected("',' or ')' after an encap attribute"));
            }
        } else {
            if cur.at_end() || cur.starts_with(", ") {
                return Ok(key);
            }
            if !cur.eat(",") {
                return Err(cur.expected("',' between key attributes"));
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Conversion to and from FlowKey/FlowMask.

fn odp_frag_from_flow(nw: u8) -> u8 {
    if nw & nw_frag::ANY == 0 {
        frag::NONE
    } else if nw & nw_frag::LATER != 0 {
        frag::LATER
    } else {
        frag::FIRST
    }
}

fn flow_frag_from_odp(v: u8) -> u8 {
    match v {
        frag::FIRST => nw_frag::ANY,
        frag::LATER => nw_frag::ANY | nw_frag::LATER,
        _ => 0,
    }
}

fn frag_mask_to_flow(m: u8) -> u8 {
    if m != 0 {
        nw_frag::ANY | nw_frag::LATER
    } else {
        0
    }
}

impl OdpKey {
    /// Convert to hwol's key and mask.
    ///
    /// - `eth_type` before a `vlan` is that tag's TPID (mask included); the
    ///   last `eth_type` is [`FlowKey::eth_type`]. When it is matched (mask
    ///   not zero) and there is room for another tag, the next
    ///   `vlans[i].tpid` mask is set to `0xffff` with value 0: an ODP key
    ///   without `vlan` matches only untagged packets, and that is how hwol's
    ///   key says "untagged".
    /// - `vlan` TCIs lose [`VLAN_CFI`] (hwol marks presence with `tpid`).
    /// - `frag=` maps to [`hwol_flow::nw_frag`] bits; a frag mask becomes
    ///   `ANY|LATER`.
    /// - ICMP type/code go to `tp_src`/`tp_dst` with 8-bit masks.
    /// - `packet_type` is not represented (hwol keys are always Ethernet) and
    ///   is ignored, as are tags beyond the second.
    pub fn to_flow(&self) -> (FlowKey, FlowMask) {
        let mut k = FlowKey::default();
        let mut m = FlowMask::default();
        self.apply(&mut k, &mut m.0, 0);
        (k, m)
    }

    fn apply(&self, k: &mut FlowKey, m: &mut FlowKey, depth: usize) {
        let has_vlan = self.attrs.iter().any(|a| matches!(a, KeyAttr::Vlan(_)));
        for a in &self.attrs {
            match *a {
                KeyAttr::SkbPriority(v) => (k.skb_priority, m.skb_priority) = (v.value, v.mask),
                KeyAttr::SkbMark(v) => (k.skb_mark, m.skb_mark) = (v.value, v.mask),
                KeyAttr::CtState(v) => (k.ct_state, m.ct_state) = (v.value as u8, v.mask as u8),
                KeyAttr::CtZone(v) => (k.ct_zone, m.ct_zone) = (v.value, v.mask),
                KeyAttr::CtMark(v) => (k.ct_mark, m.ct_mark) = (v.value, v.mask),
                KeyAttr::CtLabel(v) => (k.ct_label, m.ct_label) = (v.value, v.mask),
                KeyAttr::CtTuple4(t) => {
                    (k.ct_nw_src, m.ct_nw_src) = (t.src.value, t.src.mask);
                    (k.ct_nw_dst, m.ct_nw_dst) = (t.dst.value, t.dst.mask);
                    (k.ct_nw_proto, m.ct_nw_proto) = (t.proto.value, t.proto.mask);
                    (k.ct_tp_src, m.ct_tp_src) = (t.tp_src.value, t.tp_src.mask);
                    (k.ct_tp_dst, m.ct_tp_dst) = (t.tp_dst.value, t.tp_dst.mask);
                }
                KeyAttr::CtTuple6(t) => {
                    (k.ct_ipv6_src, m.ct_ipv6_src) = (t.src.value, t.src.mask);
                    (k.ct_ipv6_dst, m.ct_ipv6_dst) = (t.dst.value, t.dst.mask);
                    (k.ct_nw_proto, m.ct_nw_proto) = (t.proto.value, t.proto.mask);
                    (k.ct_tp_src, m.ct_tp_src) = (t.tp_src.value, t.tp_src.mask);
                    (k.ct_tp_dst, m.ct_tp_dst) = (t.tp_dst.value, t.tp_dst.mask);
                }
                KeyAttr::RecircId(v) => (k.recirc_id, m.recirc_id) = (v.value, v.mask),
                KeyAttr::DpHash(v) => (k.dp_hash, m.dp_hash) = (v.value, v.mask),
                KeyAttr::InPort(v) => (k.in_port, m.in_port) = (v.value, v.mask),
                KeyAttr::PacketType(_) => {}
                KeyAttr::Eth(e) => {
                    (k.eth_src, m.eth_src) = (e.src.value, e.src.mask);
                    (k.eth_dst, m.eth_dst) = (e.dst.value, e.dst.mask);
                }
                KeyAttr::EthType(v) => {
                    if has_vlan {
                        if depth < 2 {
                            k.vlans[depth].tpid = v.value;
                            m.vlans[depth].tpid = v.mask;
                        }
                    } else {
                        (k.eth_type, m.eth_type) = (v.value, v.mask);
                        if depth < 2 && v.mask != 0 {
                            k.vlans[depth].tpid = 0;
                            m.vlans[depth].tpid = 0xffff;
                        }
                    }
                }
                KeyAttr::Vlan(v) => {
                    if depth < 2 {
                        k.vlans[depth].tci = v.value & !VLAN_CFI;
                        m.vlans[depth].tci = v.mask & !VLAN_CFI;
                    }
                }
                KeyAttr::Encap(ref inner) => inner.apply(k, m, depth + 1),
                KeyAttr::Ipv4(x) => {
                    (k.nw_src, m.nw_src) = (x.src.value, x.src.mask);
                    (k.nw_dst, m.nw_dst) = (x.dst.value, x.dst.mask);
                    (k.nw_proto, m.nw_proto) = (x.proto.value, x.proto.mask);
                    (k.nw_tos, m.nw_tos) = (x.tos.value, x.tos.mask);
                    (k.nw_ttl, m.nw_ttl) = (x.ttl.value, x.ttl.mask);
                    (k.nw_frag, m.nw_frag) = (flow_frag_from_odp(x.frag.value), frag_mask_to_flow(x.frag.mask));
                }
                KeyAttr::Ipv6(x) => {
                    (k.ipv6_src, m.ipv6_src) = (x.src.value, x.src.mask);
                    (k.ipv6_dst, m.ipv6_dst) = (x.dst.value, x.dst.mask);
                    (k.ipv6_label, m.ipv6_label) = (x.label.value, x.label.mask);
                    (k.nw_proto, m.nw_proto) = (x.proto.value, x.proto.mask);
                    (k.nw_tos, m.nw_tos) = (x.tclass.value, x.tclass.mask);
                    (k.nw_ttl, m.nw_ttl) = (x.hlimit.value, x.hlimit.mask);
                    (k.nw_frag, m.nw_frag) = (flow_frag_from_odp(x.frag.value), frag_mask_to_flow(x.frag.mask));
                }
                KeyAttr::Tcp(p) | KeyAttr::Udp(p) | KeyAttr::Sctp(p) => {
                    (k.tp_src, m.tp_src) = (p.src.value, p.src.mask);
                    (k.tp_dst, m.tp_dst) = (p.dst.value, p.dst.mask);
                }
                KeyAttr::TcpFlags(v) => (k.tcp_flags, m.tcp_flags) = (v.value, v.mask),
                KeyAttr::Icmp(i) | KeyAttr::Icmpv6(i) => {
                    (k.tp_src, m.tp_src) = (i.icmp_type.value.into(), i.icmp_type.mask.into());
                    (k.tp_dst, m.tp_dst) = (i.icmp_code.value.into(), i.icmp_code.mask.into());
                }
                KeyAttr::Arp(a) => {
                    (k.nw_src, m.nw_src) = (a.sip.value, a.sip.mask);
                    (k.nw_dst, m.nw_dst) = (a.tip.value, a.tip.mask);
                    (k.arp_op, m.arp_op) = (a.op.value, a.op.mask);
                    (k.arp_sha, m.arp_sha) = (a.sha.value, a.sha.mask);
                    (k.arp_tha, m.arp_tha) = (a.tha.value, a.tha.mask);
                }
            }
        }
    }

    /// Build the key a datapath would report for the megaflow `(key, mask)`,
    /// following OVS's `odp_flow_key_from_flow`: which attributes appear is
    /// decided by `key` (an IPv4 key gets `ipv4(...)`, TCP gets `tcp(...)`
    /// and, when the key or mask has TCP flags, `tcp_flags(...)`), their
    /// masks come from `mask`.
    ///
    /// - Metadata (`skb_priority` … `in_port`) is always present, in
    ///   `opts.order`. `ct_tuple4`/`ct_tuple6` appear when
    ///   `key.ct_nw_proto != 0` and the key is IPv4/IPv6 (the condition OVS
    ///   uses; conntrack sets the tuple only for tracked IP packets).
    /// - `packet_type(ns=0,id=0)` when `opts.packet_type`.
    /// - Each present VLAN tag (`tpid != 0`, at most two) becomes
    ///   `eth_type(tpid)`, `vlan(tci|CFI)` and an `encap(...)` holding the
    ///   rest; the TPID is always exact and the tag's DEI bit is not
    ///   represented.
    /// - No L4 attribute for later fragments, as in OVS. ICMPv6 does not get
    ///   `nd(...)` (hwol keys carry no ND target).
    /// - `eth_type` is emitted even for 802.3 frames (OVS omits it there).
    pub fn from_flow(key: &FlowKey, mask: &FlowMask, opts: &FromFlowOpts) -> OdpKey {
        let m = &mask.0;
        let mut attrs = Vec::new();
        let ct_tuple = if key.ct_nw_proto != 0 && key.eth_type == 0x0800 {
            Some(KeyAttr::CtTuple4(CtTuple4 {
                src: Masked::new(key.ct_nw_src, m.ct_nw_src),
                dst: Masked::new(key.ct_nw_dst, m.ct_nw_dst),
                proto: Masked::new(key.ct_nw_proto, m.ct_nw_proto),
                tp_src: Masked::new(key.ct_tp_src, m.ct_tp_src),
                tp_dst: Masked::new(key.ct_tp_dst, m.ct_tp_dst),
            }))
        } else if key.ct_nw_proto != 0 && key.eth_type == 0x86dd {
            Some(KeyAttr::CtTuple6(CtTuple6 {
                src: Masked::new(key.ct_ipv6_src, m.ct_ipv6_src),
                dst: Masked::new(key.ct_ipv6_dst, m.ct_ipv6_dst),
                proto: Masked::new(key.ct_nw_proto, m.ct_nw_proto),
                tp_src: Masked::new(key.ct_tp_src, m.ct_tp_src),
                tp_dst: Masked::new(key.ct_tp_dst, m.ct_tp_dst),
            }))
        } else {
            None
        };
        let prio = KeyAttr::SkbPriority(Masked::new(key.skb_priority, m.skb_priority));
        let mark = KeyAttr::SkbMark(Masked::new(key.skb_mark, m.skb_mark));
        let ct = [
            KeyAttr::CtState(Masked::new(key.ct_state.into(), m.ct_state.into())),
            KeyAttr::CtZone(Masked::new(key.ct_zone, m.ct_zone)),
            KeyAttr::CtMark(Masked::new(key.ct_mark, m.ct_mark)),
            KeyAttr::CtLabel(Masked::new(key.ct_label, m.ct_label)),
        ];
        let recirc = KeyAttr::RecircId(Masked::new(key.recirc_id, m.recirc_id));
        let hash = KeyAttr::DpHash(Masked::new(key.dp_hash, m.dp_hash));
        let in_port = KeyAttr::InPort(Masked::new(key.in_port, m.in_port));
        match opts.order {
            AttrOrder::Ovs31 => {
                attrs.extend([prio, mark]);
                attrs.extend(ct);
                attrs.extend(ct_tuple);
                attrs.extend([recirc, hash, in_port]);
            }
            AttrOrder::Kernel => {
                attrs.extend([recirc, hash, prio, in_port, mark]);
                attrs.extend(ct);
                attrs.extend(ct_tuple);
            }
        }
        if opts.packet_type {
            attrs.push(KeyAttr::PacketType(PacketType { ns: exact(0), id: exact(0) }));
        }
        attrs.push(KeyAttr::Eth(EthKey {
            src: Masked::new(key.eth_src, m.eth_src),
            dst: Masked::new(key.eth_dst, m.eth_dst),
        }));
        Self::l2_onward(key, m, 0, &mut attrs);
        OdpKey { attrs }
    }

    fn l2_onward(key: &FlowKey, m: &FlowKey, depth: usize, attrs: &mut Vec<KeyAttr>) {
        if depth < 2 && key.vlans[depth].tpid != 0 {
            let VlanHeader { tpid, tci } = key.vlans[depth];
            attrs.push(KeyAttr::EthType(exact(tpid)));
            attrs.push(KeyAttr::Vlan(Masked::new(tci | VLAN_CFI, (m.vlans[depth].tci & !VLAN_CFI) | VLAN_CFI)));
            let mut inner = Vec::new();
            Self::l2_onward(key, m, depth + 1, &mut inner);
            attrs.push(KeyAttr::Encap(OdpKey { attrs: inner }));
            return;
        }
        attrs.push(KeyAttr::EthType(Masked::new(key.eth_type, m.eth_type)));
        let frag_v = odp_frag_from_flow(key.nw_frag);
        let frag_m = if m.nw_frag & nw_frag::ANY != 0 { 0xff } else { 0 };
        let is_ip = match key.eth_type {
            0x0800 => {
                attrs.push(KeyAttr::Ipv4(Ipv4Key {
                    src: Masked::new(key.nw_src, m.nw_src),
                    dst: Masked::new(key.nw_dst, m.nw_dst),
                    proto: Masked::new(key.nw_proto, m.nw_proto),
                    tos: Masked::new(key.nw_tos, m.nw_tos),
                    ttl: Masked::new(key.nw_ttl, m.nw_ttl),
                    frag: Masked::new(frag_v, frag_m),
                }));
                true
            }
            0x86dd => {
                attrs.push(KeyAttr::Ipv6(Ipv6Key {
                    src: Masked::new(key.ipv6_src, m.ipv6_src),
                    dst: Masked::new(key.ipv6_dst, m.ipv6_dst),
                    label: Masked::new(key.ipv6_label & LABEL_MASK, m.ipv6_label & LABEL_MASK),
                    proto: Masked::new(key.nw_proto, m.nw_proto),
                    tclass: Masked::new(key.nw_tos, m.nw_tos),
                    hlimit: Masked::new(key.nw_ttl, m.nw_ttl),
                    frag: Masked::new(frag_v, frag_m),
                }));
                true
            }
            0x0806 | 0x8035 => {
                attrs.push(KeyAttr::Arp(ArpKey {
                    sip: Masked::new(key.nw_src, m.nw_src),
                    tip: Masked::new(key.nw_dst, m.nw_dst),
                    op: Masked::new(key.arp_op, m.arp_op),
                    sha: Masked::new(key.arp_sha, m.arp_sha),
                    tha: Masked::new(key.arp_tha, m.arp_tha),
                }));
                false
            }
            _ => false,
        };
        if !is_ip || key.nw_frag & nw_frag::LATER != 0 {
            return;
        }
        let ports = PortsKey { src: Masked::new(key.tp_src, m.tp_src), dst: Masked::new(key.tp_dst, m.tp_dst) };
        let icmp = IcmpKey {
            icmp_type: Masked::new(key.tp_src as u8, m.tp_src as u8),
            icmp_code: Masked::new(key.tp_dst as u8, m.tp_dst as u8),
        };
        match (key.nw_proto, key.eth_type) {
            (6, _) => {
                attrs.push(KeyAttr::Tcp(ports));
                let (v, mk) = (key.tcp_flags & TCP_FLAGS_MASK, m.tcp_flags & TCP_FLAGS_MASK);
                if v != 0 || mk != 0 {
                    attrs.push(KeyAttr::TcpFlags(Masked::new(v, mk)));
                }
            }
            (17, _) => attrs.push(KeyAttr::Udp(ports)),
            (132, _) => attrs.push(KeyAttr::Sctp(ports)),
            (1, 0x0800) => attrs.push(KeyAttr::Icmp(icmp)),
            (58, 0x86dd) => attrs.push(KeyAttr::Icmpv6(icmp)),
            _ => {}
        }
    }
}
