//! ctnetlink messages that put hwol's established connections into the
//! kernel's conntrack table (and take them out), so that act_ct in an
//! offloaded flower rule finds them. Pure: encode and decode only; the
//! socket is in [`crate::sys`]. The design and its limits are in
//! `docs/tc-flower.md`.
//!
//! A connection is created with `IPCTNL_MSG_CT_NEW` holding both tuples
//! (`CTA_TUPLE_ORIG`, `CTA_TUPLE_REPLY`), the zone (`CTA_ZONE`), status
//! `IPS_SEEN_REPLY | IPS_ASSURED | IPS_CONFIRMED` (as conntrack-tools sends: the
//! kernel refuses a status that differs from the new entry in `IPS_CONFIRMED`
//! with EBUSY), a timeout, the mark and labels, and for
//! TCP the state `TCP_CONNTRACK_ESTABLISHED` with `IP_CT_TCP_FLAG_BE_LIBERAL`
//! in both directions: the kernel never saw the handshake, so it has no
//! window data and must not judge mid-stream segments invalid. ctnetlink
//! integers are big-endian (`NLA_F_NET_BYTEORDER` is not used by the
//! kernel here; the values simply are network order).

use std::net::IpAddr;

use hwol_conntrack::CtTuple;
use hwol_offload::{CtOffload, NotOffloadedReason};

use crate::nla::{align4, parse_nlas, put_attr, put_nested, DecodeError, Nla};
use crate::uapi::*;

/// nlmsg_type of a ctnetlink message.
pub fn ct_msg_type(msg: u16) -> u16 {
    (NFNL_SUBSYS_CTNETLINK << 8) | msg
}

fn family(t: &CtTuple) -> Result<u8, NotOffloadedReason> {
    match (t.src, t.dst) {
        (IpAddr::V4(_), IpAddr::V4(_)) => Ok(AF_INET),
        (IpAddr::V6(_), IpAddr::V6(_)) => Ok(AF_INET6),
        _ => Err(NotOffloadedReason::SlowPathOnly { why: "source and destination are of different IP versions" }),
    }
}

/// Whether the kernel can be given this connection by hwol.
pub fn check_ct(ct: &CtOffload) -> Result<u8, NotOffloadedReason> {
    if ct.orig.proto != 6 && ct.orig.proto != 17 {
        return Err(NotOffloadedReason::SlowPathOnly {
            why: "only TCP and UDP connections are mirrored into the kernel's conntrack",
        });
    }
    family(&ct.orig)
}

fn header(out: &mut Vec<u8>, msg: u16, flags: u16, family: u8) {
    out.extend_from_slice(&[0; 4]);
    out.extend_from_slice(&ct_msg_type(msg).to_ne_bytes());
    out.extend_from_slice(&flags.to_ne_bytes());
    out.extend_from_slice(&[0; 8]);
    // struct nfgenmsg: family, version, res_id (be16).
    out.extend_from_slice(&[family, NFNETLINK_V0, 0, 0]);
}

fn finish(mut out: Vec<u8>) -> Vec<u8> {
    let len = u32::try_from(out.len()).unwrap_or(u32::MAX);
    out[..4].copy_from_slice(&len.to_ne_bytes());
    out
}

fn ip_bytes(a: &IpAddr) -> Vec<u8> {
    match a {
        IpAddr::V4(v) => v.octets().to_vec(),
        IpAddr::V6(v) => v.octets().to_vec(),
    }
}

fn put_tuple(out: &mut Vec<u8>, kind: u16, t: &CtTuple) {
    put_nested(out, kind | NLA_F_NESTED, |o| {
        put_nested(o, CTA_TUPLE_IP | NLA_F_NESTED, |p| {
            let v6 = matches!(t.src, IpAddr::V6(_));
            put_attr(p, if v6 { CTA_IP_V6_SRC } else { CTA_IP_V4_SRC }, &ip_bytes(&t.src));
            put_attr(p, if v6 { CTA_IP_V6_DST } else { CTA_IP_V4_DST }, &ip_bytes(&t.dst));
        });
        put_nested(o, CTA_TUPLE_PROTO | NLA_F_NESTED, |p| {
            put_attr(p, CTA_PROTO_NUM, &[t.proto]);
            put_attr(p, CTA_PROTO_SRC_PORT, &t.sport.to_be_bytes());
            put_attr(p, CTA_PROTO_DST_PORT, &t.dport.to_be_bytes());
        });
    });
}

/// The reply-direction tuple (no NAT: the reverse of the original).
pub fn reply_of(t: &CtTuple) -> CtTuple {
    CtTuple { src: t.dst, dst: t.src, proto: t.proto, sport: t.dport, dport: t.sport }
}

/// `IPCTNL_MSG_CT_NEW` creating `ct` as an established connection that
/// expires after `timeout` seconds without traffic (the kernel refreshes it
/// on every packet act_ct sees). `NLM_F_EXCL`: an existing entry is
/// `EEXIST`, which the caller treats as done.
pub fn ct_new_msg(ct: &CtOffload, timeout: u32) -> Result<Vec<u8>, NotOffloadedReason> {
    let fam = check_ct(ct)?;
    let mut out = Vec::with_capacity(200);
    header(&mut out, IPCTNL_MSG_CT_NEW, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, fam);
    put_tuple(&mut out, CTA_TUPLE_ORIG, &ct.orig);
    put_tuple(&mut out, CTA_TUPLE_REPLY, &reply_of(&ct.orig));
    put_attr(&mut out, CTA_ZONE, &ct.zone.to_be_bytes());
    put_attr(&mut out, CTA_STATUS, &(IPS_SEEN_REPLY | IPS_ASSURED | IPS_CONFIRMED).to_be_bytes());
    put_attr(&mut out, CTA_TIMEOUT, &timeout.to_be_bytes());
    if ct.mark != 0 {
        put_attr(&mut out, CTA_MARK, &ct.mark.to_be_bytes());
    }
    if ct.label != 0 {
        put_attr(&mut out, CTA_LABELS, &crate::translate::label_bytes(ct.label));
    }
    if ct.orig.proto == 6 {
        put_nested(&mut out, CTA_PROTOINFO | NLA_F_NESTED, |o| {
            put_nested(o, CTA_PROTOINFO_TCP | NLA_F_NESTED, |p| {
                put_attr(p, CTA_PROTOINFO_TCP_STATE, &[TCP_CONNTRACK_ESTABLISHED]);
                // struct nf_ct_tcp_flags { flags, mask }.
                let liberal = [IP_CT_TCP_FLAG_BE_LIBERAL, IP_CT_TCP_FLAG_BE_LIBERAL];
                put_attr(p, CTA_PROTOINFO_TCP_FLAGS_ORIGINAL, &liberal);
                put_attr(p, CTA_PROTOINFO_TCP_FLAGS_REPLY, &liberal);
            });
        });
    }
    Ok(finish(out))
}

fn by_tuple(msg: u16, flags: u16, zone: u16, orig: &CtTuple) -> Result<Vec<u8>, NotOffloadedReason> {
    let fam = family(orig)?;
    let mut out = Vec::with_capacity(120);
    header(&mut out, msg, flags, fam);
    put_tuple(&mut out, CTA_TUPLE_ORIG, orig);
    put_attr(&mut out, CTA_ZONE, &zone.to_be_bytes());
    Ok(finish(out))
}

/// `IPCTNL_MSG_CT_DELETE` for the connection with this original tuple in `zone`.
pub fn ct_del_msg(zone: u16, orig: &CtTuple) -> Result<Vec<u8>, NotOffloadedReason> {
    by_tuple(IPCTNL_MSG_CT_DELETE, NLM_F_REQUEST | NLM_F_ACK, zone, orig)
}

/// `IPCTNL_MSG_CT_GET` for one connection (the reply is a `CT_NEW` message).
pub fn ct_get_msg(zone: u16, orig: &CtTuple) -> Result<Vec<u8>, NotOffloadedReason> {
    by_tuple(IPCTNL_MSG_CT_GET, NLM_F_REQUEST, zone, orig)
}

/// What a ctnetlink message says about one connection.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CtInfo {
    /// Original tuple.
    pub orig: Option<CtTuple>,
    /// Zone (0 when absent).
    pub zone: u16,
    /// Seconds until it expires.
    pub timeout: Option<u32>,
    /// Mark.
    pub mark: u32,
    /// Status bits (`IPS_*`).
    pub status: u32,
    /// TCP state (`TCP_CONNTRACK_*`), for TCP.
    pub tcp_state: Option<u8>,
    /// Labels, as the kernel stores them.
    pub labels: Option<[u8; 16]>,
}

fn be16(b: &[u8]) -> u16 {
    match b {
        [a, c, ..] => u16::from_be_bytes([*a, *c]),
        _ => 0,
    }
}

fn be32(b: &[u8]) -> u32 {
    match b {
        [a, c, d, e, ..] => u32::from_be_bytes([*a, *c, *d, *e]),
        _ => 0,
    }
}

fn find(nlas: &[Nla], ty: u16) -> Option<&Nla> {
    nlas.iter().find(|n| n.ty() == ty)
}

fn parse_tuple(b: &[u8]) -> Result<Option<CtTuple>, DecodeError> {
    let top = parse_nlas(b)?;
    let (Some(ip), Some(proto)) = (find(&top, CTA_TUPLE_IP), find(&top, CTA_TUPLE_PROTO)) else { return Ok(None) };
    let ip = parse_nlas(&ip.value)?;
    let addr = |v4: u16, v6: u16| -> Option<IpAddr> {
        if let Some(n) = find(&ip, v4) {
            let o: [u8; 4] = n.value.as_slice().try_into().ok()?;
            Some(IpAddr::from(o))
        } else {
            let o: [u8; 16] = find(&ip, v6)?.value.as_slice().try_into().ok()?;
            Some(IpAddr::from(o))
        }
    };
    let (Some(src), Some(dst)) = (addr(CTA_IP_V4_SRC, CTA_IP_V6_SRC), addr(CTA_IP_V4_DST, CTA_IP_V6_DST)) else {
        return Ok(None);
    };
    let p = parse_nlas(&proto.value)?;
    let num = find(&p, CTA_PROTO_NUM).and_then(|n| n.value.first().copied()).unwrap_or(0);
    let sport = find(&p, CTA_PROTO_SRC_PORT).map(|n| be16(&n.value)).unwrap_or(0);
    let dport = find(&p, CTA_PROTO_DST_PORT).map(|n| be16(&n.value)).unwrap_or(0);
    Ok(Some(CtTuple { src, dst, proto: num, sport, dport }))
}

/// Decode a ctnetlink connection message (a `CT_GET` reply or dump entry).
pub fn parse_ct(msg: &[u8]) -> Result<CtInfo, DecodeError> {
    let hdr = 16 + 4;
    if msg.len() < hdr {
        return Err(DecodeError::Truncated { what: "nlmsghdr + nfgenmsg", need: hdr, have: msg.len() });
    }
    let len = (u32::from_ne_bytes([msg[0], msg[1], msg[2], msg[3]]) as usize).clamp(hdr, msg.len());
    let nlas = parse_nlas(&msg[hdr..align4(len).min(msg.len())])?;
    let mut info = CtInfo::default();
    for n in &nlas {
        match n.ty() {
            CTA_TUPLE_ORIG => info.orig = parse_tuple(&n.value)?,
            CTA_ZONE => info.zone = be16(&n.value),
            CTA_TIMEOUT => info.timeout = Some(be32(&n.value)),
            CTA_MARK => info.mark = be32(&n.value),
            CTA_STATUS => info.status = be32(&n.value),
            CTA_LABELS => info.labels = n.value.as_slice().try_into().ok(),
            CTA_PROTOINFO => {
                if let Some(tcp) = find(&parse_nlas(&n.value)?, CTA_PROTOINFO_TCP) {
                    info.tcp_state =
                        find(&parse_nlas(&tcp.value)?, CTA_PROTOINFO_TCP_STATE).and_then(|s| s.value.first().copied());
                }
            }
            _ => {}
        }
    }
    Ok(info)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tcp() -> CtOffload {
        let t = CtTuple::ports("10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap(), 6, 40000, 5201);
        CtOffload { zone: 7, orig: t, mark: 0x2a, label: 1 }
    }

    #[test]
    fn new_message_decodes_to_what_was_asked() {
        let ct = tcp();
        let m = ct_new_msg(&ct, 432000).unwrap();
        assert_eq!(u16::from_ne_bytes([m[4], m[5]]), 0x0100, "IPCTNL_MSG_CT_NEW in the ctnetlink subsystem");
        assert_eq!(m[16], AF_INET);
        let info = parse_ct(&m).unwrap();
        assert_eq!(info.orig, Some(ct.orig));
        assert_eq!(
            (info.zone, info.timeout, info.mark, info.status),
            (7, Some(432000), 0x2a, IPS_SEEN_REPLY | IPS_ASSURED | IPS_CONFIRMED)
        );
        assert_eq!(info.tcp_state, Some(TCP_CONNTRACK_ESTABLISHED));
        assert_eq!(info.labels.map(|l| l[0]), Some(1));
    }

    #[test]
    fn only_tcp_and_udp_of_one_family() {
        let mut ct = tcp();
        ct.orig.proto = 1;
        assert_eq!(ct_new_msg(&ct, 1).unwrap_err().label(), "slow_path_only");
        let mut ct = tcp();
        ct.orig.dst = "fd00::1".parse().unwrap();
        assert_eq!(ct_new_msg(&ct, 1).unwrap_err().label(), "slow_path_only");
        let mut ct = tcp();
        ct.orig = CtTuple::ports("fd00::1".parse().unwrap(), "fd00::2".parse().unwrap(), 17, 1, 2);
        let info = parse_ct(&ct_new_msg(&ct, 30).unwrap()).unwrap();
        assert_eq!(info.orig, Some(ct.orig));
        assert_eq!(info.tcp_state, None);
        let del = parse_ct(&ct_del_msg(7, &ct.orig).unwrap()).unwrap();
        assert_eq!((del.orig, del.zone, del.timeout), (Some(ct.orig), 7, None));
    }
}
