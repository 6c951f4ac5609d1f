//! From packet bytes to a lookup tuple.
//!
//! The flow key already holds addresses, protocol and ports, but conntrack
//! needs more than the key: TCP sequence numbers, windows and options, the
//! ICMP echo identifier, the length fields, and for ICMP errors the packet
//! quoted inside. So this module reads the bytes again, starting from the
//! offsets in [`Layout`], and reuses the key only for what it holds exactly
//! (addresses, protocol, fragment bits).
//!
//! Everything that makes OVS's `conn_key_extract` fail makes this return
//! `None`, and the packet is then `+trk+inv`: no L3 header, any fragment,
//! a truncated or malformed L4 header, TCP/UDP/SCTP port 0, a UDP length
//! field that disagrees with the packet, an ICMP query with a non-zero
//! code, an ICMP type conntrack does not know (including IPv6 neighbour
//! discovery), and an ICMP error whose quoted packet is unusable or was
//! not sent to the error's destination.
//!
//! Not covered: L3/L4 checksum verification (the datapath's netdevs
//! validate or offload checksums; a packet with a bad checksum is tracked
//! as if it were good), and fragment reassembly.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use hwol_flow::{FlowKey, Layout};
use hwol_wire::ethernet::ethertype;
use hwol_wire::icmp::{icmpv4_type, icmpv6_type};
use hwol_wire::ipv4::{proto, Ipv4Packet};
use hwol_wire::ipv6::Ipv6Packet;
use hwol_wire::tcp::TcpPacket;

use crate::tcp::TcpSegment;
use crate::tuple::{CtTuple, ICMP4_INFO_REPLY, ICMP4_INFO_REQUEST, ICMP4_TIMESTAMP, ICMP4_TIMESTAMP_REPLY};

/// ICMPv4 error types whose body quotes the offending packet.
const ICMP4_ERRORS: [u8; 5] = [3, 4, 5, 11, 12];
/// ICMPv6 error types whose body quotes the offending packet.
const ICMP6_ERRORS: [u8; 4] = [1, 2, 3, 4];
/// How much of the quoted L4 header an ICMPv4 error must carry (RFC 792
/// only promises 8 bytes).
const ICMP4_ERROR_L4_LEN: usize = 8;

/// What conntrack learned from one packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Parsed {
    /// The tuple to look up: the packet's own, or for an ICMP error the
    /// reverse of the quoted packet's tuple.
    pub tuple: CtTuple,
    /// The packet is an ICMP error about `tuple`'s connection.
    pub related: bool,
    /// The TCP segment, for TCP packets that are not ICMP errors.
    pub tcp: Option<TcpSegment>,
}

impl Parsed {
    /// May this packet open a new connection (OVS's `valid_new`)?
    pub fn valid_new(&self) -> bool {
        match self.tuple.proto {
            proto::TCP => self.tcp.is_some_and(|s| crate::tcp::valid_new(s.flags)),
            proto::ICMP if !self.tuple.is_ipv6() => {
                matches!(self.tuple.icmp_type(), icmpv4_type::ECHO_REQUEST | ICMP4_TIMESTAMP | ICMP4_INFO_REQUEST)
            }
            proto::ICMPV6 if self.tuple.is_ipv6() => self.tuple.icmp_type() == icmpv6_type::ECHO_REQUEST,
            _ => true,
        }
    }
}

#[inline]
fn be16(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([b[at], b[at + 1]])
}

/// Parse `pkt` for conntrack. `None` means "invalid".
pub(crate) fn parse(pkt: &[u8], key: &FlowKey, layout: &Layout) -> Option<Parsed> {
    if key.nw_frag != 0 || layout.l3 == Layout::ABSENT {
        return None;
    }
    let v6 = match key.eth_type {
        ethertype::IPV4 => false,
        ethertype::IPV6 => true,
        _ => return None,
    };
    let (src, dst) = if v6 {
        (IpAddr::V6(Ipv6Addr::from(key.ipv6_src)), IpAddr::V6(Ipv6Addr::from(key.ipv6_dst)))
    } else {
        (IpAddr::V4(Ipv4Addr::from(key.nw_src)), IpAddr::V4(Ipv4Addr::from(key.nw_dst)))
    };
    let l3 = usize::from(layout.l3);
    let l3_end = (l3 + usize::from(layout.l3_len)).min(pkt.len());
    let l4 = if layout.l4 != Layout::ABSENT && usize::from(layout.l4) <= l3_end {
        Some(&pkt[usize::from(layout.l4)..l3_end])
    } else {
        None
    };
    let p = key.nw_proto;
    match p {
        proto::TCP => {
            let l4 = l4?;
            let t = TcpPacket::new_checked(l4).ok()?;
            let hl = t.header_len();
            if hl > l4.len() || t.src_port() == 0 || t.dst_port() == 0 {
                return None;
            }
            let seg = TcpSegment {
                flags: t.flags(),
                seq: t.seq(),
                ack: t.ack(),
                window: t.window(),
                payload_len: (l4.len() - hl) as u32,
                wscale: TcpSegment::wscale_option(t.window_scale()),
            };
            Some(Parsed {
                tuple: CtTuple::ports(src, dst, p, t.src_port(), t.dst_port()),
                related: false,
                tcp: Some(seg),
            })
        }
        proto::UDP => {
            let l4 = l4?;
            if l4.len() < 8 {
                return None;
            }
            let len = usize::from(be16(l4, 4));
            let (sp, dp) = (be16(l4, 0), be16(l4, 2));
            if len < 8 || len > l4.len() || sp == 0 || dp == 0 {
                return None;
            }
            Some(Parsed { tuple: CtTuple::ports(src, dst, p, sp, dp), related: false, tcp: None })
        }
        proto::ICMP if !v6 => parse_icmp4(l4?, src, dst),
        proto::ICMPV6 if v6 => parse_icmp6(l4?, src, dst),
        proto::SCTP => {
            // The flow extractor records no L4 offset for SCTP: find it.
            let l3b = &pkt[l3..l3_end];
            let off = if v6 {
                let loc = Ipv6Packet::new_checked(l3b).ok()?.walk_to_l4().ok()?;
                loc.offset
            } else {
                Ipv4Packet::new_checked(l3b).ok()?.header_len()
            };
            let l4 = l3b.get(off..)?;
            let (sp, dp) = ports_of(l4, 12)?;
            Some(Parsed { tuple: CtTuple::ports(src, dst, p, sp, dp), related: false, tcp: None })
        }
        _ => Some(Parsed { tuple: CtTuple::ports(src, dst, p, 0, 0), related: false, tcp: None }),
    }
}

/// Non-zero source and destination ports from the first four bytes of an
/// L4 header that must be at least `need` bytes long.
fn ports_of(l4: &[u8], need: usize) -> Option<(u16, u16)> {
    if l4.len() < need.max(4) {
        return None;
    }
    let (sp, dp) = (be16(l4, 0), be16(l4, 2));
    (sp != 0 && dp != 0).then_some((sp, dp))
}

fn is_icmp4_query(t: u8) -> bool {
    matches!(
        t,
        icmpv4_type::ECHO_REQUEST
            | icmpv4_type::ECHO_REPLY
            | ICMP4_TIMESTAMP
            | ICMP4_TIMESTAMP_REPLY
            | ICMP4_INFO_REQUEST
            | ICMP4_INFO_REPLY
    )
}

fn parse_icmp4(l4: &[u8], src: IpAddr, dst: IpAddr) -> Option<Parsed> {
    if l4.len() < 8 {
        return None;
    }
    let (t, code) = (l4[0], l4[1]);
    if is_icmp4_query(t) {
        if code != 0 {
            return None;
        }
        let tuple = CtTuple::icmp(src, dst, proto::ICMP, be16(l4, 4), t, 0);
        return Some(Parsed { tuple, related: false, tcp: None });
    }
    if !ICMP4_ERRORS.contains(&t) {
        return None;
    }
    // The quoted datagram: its header, then at least 8 bytes of its L4.
    let inner = Ipv4Packet::new_checked(&l4[8..]).ok()?;
    if inner.is_later_fragment() {
        return None;
    }
    let (isrc, idst) = (IpAddr::V4(Ipv4Addr::from(inner.src())), IpAddr::V4(Ipv4Addr::from(inner.dst())));
    if isrc != dst {
        return None;
    }
    let il4 = &l4[8 + inner.header_len()..];
    let tuple = quoted_tuple(il4, isrc, idst, inner.protocol(), false, ICMP4_ERROR_L4_LEN)?;
    Some(Parsed { tuple: tuple.reverse(), related: true, tcp: None })
}

fn parse_icmp6(l4: &[u8], src: IpAddr, dst: IpAddr) -> Option<Parsed> {
    if l4.len() < 8 {
        return None;
    }
    let (t, code) = (l4[0], l4[1]);
    if t == icmpv6_type::ECHO_REQUEST || t == icmpv6_type::ECHO_REPLY {
        if code != 0 {
            return None;
        }
        let tuple = CtTuple::icmp(src, dst, proto::ICMPV6, be16(l4, 4), t, 0);
        return Some(Parsed { tuple, related: false, tcp: None });
    }
    if !ICMP6_ERRORS.contains(&t) {
        return None;
    }
    let body = &l4[8..];
    let inner = Ipv6Packet::new_checked(body).ok()?;
    let loc = inner.walk_to_l4().ok()?;
    if loc.is_fragment {
        return None;
    }
    let (isrc, idst) = (IpAddr::V6(Ipv6Addr::from(inner.src())), IpAddr::V6(Ipv6Addr::from(inner.dst())));
    if isrc != dst {
        return None;
    }
    let il4 = body.get(loc.offset..)?;
    let tuple = quoted_tuple(il4, isrc, idst, loc.proto, true, 0)?;
    Some(Parsed { tuple: tuple.reverse(), related: true, tcp: None })
}

/// The tuple of the packet quoted in an ICMP error. `min_len` relaxes the
/// L4 length requirement (ICMPv4 errors quote only 8 bytes); 0 means
/// "the protocol's full header". A quoted ICMP error is never accepted
/// (no recursion).
fn quoted_tuple(l4: &[u8], src: IpAddr, dst: IpAddr, p: u8, v6: bool, min_len: usize) -> Option<CtTuple> {
    let need = |full: usize| if min_len == 0 { full } else { min_len };
    match p {
        proto::TCP => ports_of(l4, need(20)).map(|(s, d)| CtTuple::ports(src, dst, p, s, d)),
        proto::UDP => ports_of(l4, need(8)).map(|(s, d)| CtTuple::ports(src, dst, p, s, d)),
        proto::SCTP => ports_of(l4, need(12)).map(|(s, d)| CtTuple::ports(src, dst, p, s, d)),
        proto::ICMP if !v6 => {
            if l4.len() < 8 || !is_icmp4_query(l4[0]) || l4[1] != 0 {
                return None;
            }
            Some(CtTuple::icmp(src, dst, p, be16(l4, 4), l4[0], 0))
        }
        proto::ICMPV6 if v6 => {
            let t = *l4.first()?;
            if l4.len() < 8 || !(t == icmpv6_type::ECHO_REQUEST || t == icmpv6_type::ECHO_REPLY) || l4[1] != 0 {
                return None;
            }
            Some(CtTuple::icmp(src, dst, p, be16(l4, 4), t, 0))
        }
        _ => Some(CtTuple::ports(src, dst, p, 0, 0)),
    }
}
