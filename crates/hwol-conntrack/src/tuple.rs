//! Connection tuples: the five values that name one direction of a
//! connection, and how a tuple turns into its reply-direction twin.
//!
//! A [`CtTuple`] is what the table is keyed by (together with the zone). It
//! is deliberately small, `Copy`, and hashable; it carries no state.
//!
//! For ICMP and ICMPv6 the "ports" are reinterpreted: the source port slot
//! holds the echo identifier, and the destination port slot holds the
//! message type and code of that direction (type in the high byte). The
//! reply tuple of an echo request therefore differs from the original only
//! in its addresses and in its type (request becomes reply), which is how
//! OVS keys ICMP "connections".
//!
//! Not covered here: parsing packets into tuples (see `extract`).

use std::fmt;
use std::net::IpAddr;

use hwol_wire::icmp::{icmpv4_type, icmpv6_type};
use hwol_wire::ipv4::proto;

/// ICMPv4 timestamp request (RFC 792).
pub(crate) const ICMP4_TIMESTAMP: u8 = 13;
/// ICMPv4 timestamp reply.
pub(crate) const ICMP4_TIMESTAMP_REPLY: u8 = 14;
/// ICMPv4 information request.
pub(crate) const ICMP4_INFO_REQUEST: u8 = 15;
/// ICMPv4 information reply.
pub(crate) const ICMP4_INFO_REPLY: u8 = 16;

/// One direction of a connection.
///
/// `src`/`dst` are both IPv4 or both IPv6. For TCP, UDP and SCTP `sport` and
/// `dport` are the ports; for protocols without ports both are zero. For
/// ICMP/ICMPv6 use [`CtTuple::icmp`] and the `icmp_*` accessors.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CtTuple {
    /// Source address.
    pub src: IpAddr,
    /// Destination address.
    pub dst: IpAddr,
    /// IP protocol number.
    pub proto: u8,
    /// Source port, or the ICMP echo identifier.
    pub sport: u16,
    /// Destination port, or ICMP `type << 8 | code`.
    pub dport: u16,
}

impl CtTuple {
    /// A tuple for a protocol with ports (TCP, UDP, SCTP), or with none
    /// (pass zero ports).
    pub fn ports(src: IpAddr, dst: IpAddr, proto: u8, sport: u16, dport: u16) -> Self {
        CtTuple { src, dst, proto, sport, dport }
    }

    /// An ICMP/ICMPv6 query tuple (echo, timestamp, information).
    pub fn icmp(src: IpAddr, dst: IpAddr, proto: u8, id: u16, icmp_type: u8, code: u8) -> Self {
        CtTuple { src, dst, proto, sport: id, dport: u16::from_be_bytes([icmp_type, code]) }
    }

    /// True for ICMP and ICMPv6 tuples.
    pub fn is_icmp(&self) -> bool {
        self.proto == proto::ICMP || self.proto == proto::ICMPV6
    }

    /// True when the addresses are IPv6.
    pub fn is_ipv6(&self) -> bool {
        self.src.is_ipv6()
    }

    /// The ICMP echo identifier (meaningful for ICMP tuples only).
    pub fn icmp_id(&self) -> u16 {
        self.sport
    }

    /// The ICMP message type (meaningful for ICMP tuples only).
    pub fn icmp_type(&self) -> u8 {
        (self.dport >> 8) as u8
    }

    /// The ICMP message code (meaningful for ICMP tuples only).
    pub fn icmp_code(&self) -> u8 {
        self.dport as u8
    }

    /// The tuple the other end's packets carry: addresses swapped, ports
    /// swapped, and for ICMP the query type turned into its answer type (or
    /// back).
    pub fn reverse(&self) -> Self {
        if self.is_icmp() {
            let t = reverse_icmp_type(self.proto, self.icmp_type());
            CtTuple::icmp(self.dst, self.src, self.proto, self.sport, t, self.icmp_code())
        } else {
            CtTuple { src: self.dst, dst: self.src, proto: self.proto, sport: self.dport, dport: self.sport }
        }
    }
}

/// Request type ↔ reply type for the ICMP queries conntrack tracks. Other
/// types are returned unchanged (they never make it into a tuple).
pub(crate) fn reverse_icmp_type(p: u8, t: u8) -> u8 {
    if p == proto::ICMPV6 {
        match t {
            icmpv6_type::ECHO_REQUEST => icmpv6_type::ECHO_REPLY,
            icmpv6_type::ECHO_REPLY => icmpv6_type::ECHO_REQUEST,
            other => other,
        }
    } else {
        match t {
            icmpv4_type::ECHO_REQUEST => icmpv4_type::ECHO_REPLY,
            icmpv4_type::ECHO_REPLY => icmpv4_type::ECHO_REQUEST,
            ICMP4_TIMESTAMP => ICMP4_TIMESTAMP_REPLY,
            ICMP4_TIMESTAMP_REPLY => ICMP4_TIMESTAMP,
            ICMP4_INFO_REQUEST => ICMP4_INFO_REPLY,
            ICMP4_INFO_REPLY => ICMP4_INFO_REQUEST,
            other => other,
        }
    }
}

/// Prints the inside of `orig=(...)` in `dpctl/dump-conntrack` format:
/// `src=A,dst=B,sport=P,dport=Q` or `src=A,dst=B,id=I,type=T,code=C`.
impl fmt::Display for CtTuple {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "src={},dst={}", self.src, self.dst)?;
        if self.is_icmp() {
            write!(f, ",id={},type={},code={}", self.icmp_id(), self.icmp_type(), self.icmp_code())
        } else {
            write!(f, ",sport={},dport={}", self.sport, self.dport)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    const A: IpAddr = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1));
    const B: IpAddr = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2));

    #[test]
    fn reverse_swaps_ports_and_icmp_types() {
        let t = CtTuple::ports(A, B, proto::TCP, 37672, 5201);
        assert_eq!(t.reverse(), CtTuple::ports(B, A, proto::TCP, 5201, 37672));
        assert_eq!(t.reverse().reverse(), t);
        let e = CtTuple::icmp(A, B, proto::ICMP, 0x1234, 8, 0);
        let r = e.reverse();
        assert_eq!((r.src, r.icmp_id(), r.icmp_type(), r.icmp_code()), (B, 0x1234, 0, 0));
        let ts = CtTuple::icmp(A, B, proto::ICMP, 1, ICMP4_TIMESTAMP, 0);
        assert_eq!(ts.reverse().icmp_type(), ICMP4_TIMESTAMP_REPLY);
        let e6 = CtTuple::icmp("fc00::1".parse().unwrap(), "fc00::2".parse().unwrap(), proto::ICMPV6, 7, 128, 0);
        assert_eq!(e6.reverse().icmp_type(), 129);
    }

    #[test]
    fn display_matches_ct_dpif() {
        assert_eq!(CtTuple::ports(A, B, proto::UDP, 1, 2).to_string(), "src=10.0.0.1,dst=10.0.0.2,sport=1,dport=2");
        assert_eq!(
            CtTuple::icmp(A, B, proto::ICMP, 9, 8, 0).to_string(),
            "src=10.0.0.1,dst=10.0.0.2,id=9,type=8,code=0"
        );
    }
}
