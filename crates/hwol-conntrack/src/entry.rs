//! Connection snapshots and their `dpctl/dump-conntrack` text form.
//!
//! [`CtEntry`] is a copy of one connection taken by
//! [`crate::Conntrack::dump`]; holding one locks nothing. [`format_entry`]
//! prints it exactly as `ovs-appctl dpctl/dump-conntrack` does for the
//! userspace datapath (OVS's `ct_dpif_format_entry`), so scripts and tests
//! written against OVS output keep working:
//!
//! ```text
//! tcp,orig=(src=10.0.0.1,dst=10.0.0.2,sport=37672,dport=5201),reply=(src=10.0.0.2,dst=10.0.0.1,sport=5201,dport=37672),zone=65520,protoinfo=(state=ESTABLISHED)
//! icmp,orig=(src=10.1.1.2,dst=10.1.1.1,id=7,type=8,code=0),reply=(src=10.1.1.1,dst=10.1.1.2,id=7,type=0,code=0),zone=5,labels=0xaa00000000
//! ```
//!
//! Field order and omissions follow OVS: `zone=` only when non-zero,
//! `timeout=` only with `-s` (our `verbose`), `mark=` only when non-zero,
//! `labels=` (hex, no leading zeros) only when non-zero, `protoinfo=` only
//! for TCP. Not printed because this tracker does not keep them: the
//! per-direction packet/byte counters and timestamps of `-s`, and the `-m`
//! fields (`id=`, `status=`, per-peer TCP states).

use std::fmt::Write as _;

use hwol_wire::ipv4::proto;

use crate::pseudo::{IcmpState, OtherState};
use crate::tcp::TcpState;
use crate::tuple::CtTuple;

/// Protocol-specific state of a connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProtoInfo {
    /// TCP: each peer's state and window-scale shift.
    Tcp {
        /// State of the peer that opened the connection.
        state_orig: TcpState,
        /// State of the peer that answered.
        state_reply: TcpState,
        /// Window-scale shift announced by the opener (0 if none).
        wscale_orig: u8,
        /// Window-scale shift announced by the answerer (0 if none).
        wscale_reply: u8,
    },
    /// ICMP/ICMPv6 query.
    Icmp(IcmpState),
    /// UDP and every protocol without a dedicated tracker.
    Other(OtherState),
}

/// A snapshot of one connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CtEntry {
    /// The tuple of the packet that created the connection.
    pub orig: CtTuple,
    /// The tuple replies carry.
    pub reply: CtTuple,
    /// Conntrack zone.
    pub zone: u16,
    /// Connection mark.
    pub mark: u32,
    /// Connection label.
    pub label: u128,
    /// Protocol state.
    pub protoinfo: ProtoInfo,
    /// Whole seconds left before the connection expires, at the `now` the
    /// snapshot was taken (rounded down, as OVS does).
    pub timeout_secs: u64,
}

/// OVS's name for an IP protocol in dumps, or its number.
fn write_proto(out: &mut String, p: u8) {
    let name = match p {
        proto::ICMP => "icmp",
        proto::ICMPV6 => "icmpv6",
        proto::TCP => "tcp",
        proto::UDP => "udp",
        proto::SCTP => "sctp",
        136 => "udplite",
        33 => "dccp",
        2 => "igmp",
        _ => {
            let _ = write!(out, "{p}");
            return;
        }
    };
    out.push_str(name);
}

/// Format `e` as one line of `ovs-appctl dpctl/dump-conntrack`; with
/// `verbose`, as `dpctl/dump-conntrack -s` (adds `timeout=N`).
pub fn format_entry(e: &CtEntry, verbose: bool) -> String {
    let mut s = String::with_capacity(192);
    write_proto(&mut s, e.orig.proto);
    // Writing to a String cannot fail.
    let _ = write!(s, ",orig=({}),reply=({})", e.orig, e.reply);
    if e.zone != 0 {
        let _ = write!(s, ",zone={}", e.zone);
    }
    if verbose {
        let _ = write!(s, ",timeout={}", e.timeout_secs);
    }
    if e.mark != 0 {
        let _ = write!(s, ",mark={}", e.mark);
    }
    if e.label != 0 {
        let _ = write!(s, ",labels={:#x}", e.label);
    }
    if let ProtoInfo::Tcp { state_orig, state_reply, .. } = e.protoinfo {
        let _ = write!(s, ",protoinfo=(state={})", TcpState::summary(state_orig, state_reply).name());
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tcp_entry(zone: u16, timeout: u64) -> CtEntry {
        let orig = CtTuple::ports("10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap(), proto::TCP, 37672, 5201);
        CtEntry {
            orig,
            reply: orig.reverse(),
            zone,
            mark: 0,
            label: 0,
            protoinfo: ProtoInfo::Tcp {
                state_orig: TcpState::Established,
                state_reply: TcpState::Established,
                wscale_orig: 7,
                wscale_reply: 7,
            },
            timeout_secs: timeout,
        }
    }

    // Lines from /work/shared/reference/ovs-outputs/ovs_capture_hwoffload.txt
    // (OVS 3.1, userspace datapath).
    #[test]
    fn matches_captured_ovs_output() {
        let e = tcp_entry(65520, 86394);
        assert_eq!(
            format_entry(&e, false),
            "tcp,orig=(src=10.0.0.1,dst=10.0.0.2,sport=37672,dport=5201),reply=(src=10.0.0.2,dst=10.0.0.1,sport=5201,dport=37672),zone=65520,protoinfo=(state=ESTABLISHED)"
        );
        assert_eq!(
            format_entry(&e, true),
            "tcp,orig=(src=10.0.0.1,dst=10.0.0.2,sport=37672,dport=5201),reply=(src=10.0.0.2,dst=10.0.0.1,sport=5201,dport=37672),zone=65520,timeout=86394,protoinfo=(state=ESTABLISHED)"
        );
    }

    // Formats from OVS's tests/system-traffic.at.
    #[test]
    fn udp_icmp_mark_labels_and_zone_zero() {
        let a = "10.1.1.1".parse().unwrap();
        let b = "10.1.1.2".parse().unwrap();
        let u = CtTuple::ports(a, b, proto::UDP, 1, 2);
        let mut e = CtEntry {
            orig: u,
            reply: u.reverse(),
            zone: 0,
            mark: 170,
            label: 0,
            protoinfo: ProtoInfo::Other(OtherState::Bidir),
            timeout_secs: 30,
        };
        assert_eq!(
            format_entry(&e, false),
            "udp,orig=(src=10.1.1.1,dst=10.1.1.2,sport=1,dport=2),reply=(src=10.1.1.2,dst=10.1.1.1,sport=2,dport=1),mark=170"
        );
        let i = CtTuple::icmp(b, a, proto::ICMP, 7, 8, 0);
        e = CtEntry {
            orig: i,
            reply: i.reverse(),
            zone: 5,
            mark: 0,
            label: 0xaa00000000,
            protoinfo: ProtoInfo::Icmp(IcmpState::Reply),
            timeout_secs: 29,
        };
        assert_eq!(
            format_entry(&e, true),
            "icmp,orig=(src=10.1.1.2,dst=10.1.1.1,id=7,type=8,code=0),reply=(src=10.1.1.1,dst=10.1.1.2,id=7,type=0,code=0),zone=5,timeout=29,labels=0xaa00000000"
        );
        let i6 = CtTuple::icmp("fc00::1".parse().unwrap(), "fc00::2".parse().unwrap(), proto::ICMPV6, 3, 128, 0);
        e = CtEntry {
            orig: i6,
            reply: i6.reverse(),
            zone: 1,
            mark: 0,
            label: 0,
            protoinfo: ProtoInfo::Icmp(IcmpState::First),
            timeout_secs: 60,
        };
        assert_eq!(
            format_entry(&e, false),
            "icmpv6,orig=(src=fc00::1,dst=fc00::2,id=3,type=128,code=0),reply=(src=fc00::2,dst=fc00::1,id=3,type=129,code=0),zone=1"
        );
        let g = CtTuple::ports(a, b, 47, 0, 0);
        e = CtEntry {
            orig: g,
            reply: g.reverse(),
            zone: 0,
            mark: 0,
            label: 0,
            protoinfo: ProtoInfo::Other(OtherState::First),
            timeout_secs: 60,
        };
        assert_eq!(
            format_entry(&e, false),
            "47,orig=(src=10.1.1.1,dst=10.1.1.2,sport=0,dport=0),reply=(src=10.1.1.2,dst=10.1.1.1,sport=0,dport=0)"
        );
    }
}
