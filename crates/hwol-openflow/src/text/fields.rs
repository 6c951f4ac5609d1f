//! Field names in the ovs-ofctl syntax: match names and their aliases, the
//! canonical names `set_field` prints, NXM/OXM names for `load`/`move`
//! subfields, value styles and match prerequisites (from OVS's
//! `meta-flow.h`).

use super::{Ctx, Error};
use crate::action::SubField;
use crate::field::Field;

pub(crate) const ETH_TYPE_IP: u16 = 0x0800;
pub(crate) const ETH_TYPE_ARP: u16 = 0x0806;
pub(crate) const ETH_TYPE_RARP: u16 = 0x8035;
pub(crate) const ETH_TYPE_IPV6: u16 = 0x86dd;

/// The field a match or `set_field` name refers to, with aliases.
pub(crate) fn field_by_name(name: &str) -> Option<Field> {
    use Field::*;
    Some(match name {
        "in_port" => InPort,
        "dl_src" | "eth_src" => EthSrc,
        "dl_dst" | "eth_dst" => EthDst,
        "dl_type" | "eth_type" => EthType,
        "vlan_tci" => VlanTci,
        "arp_op" => ArpOp,
        "arp_spa" => ArpSpa,
        "arp_tpa" => ArpTpa,
        "arp_sha" => ArpSha,
        "arp_tha" => ArpTha,
        "nw_src" | "ip_src" => IpSrc,
        "nw_dst" | "ip_dst" => IpDst,
        "ipv6_src" => Ipv6Src,
        "ipv6_dst" => Ipv6Dst,
        "ipv6_label" => Ipv6Label,
        "nw_proto" | "ip_proto" => IpProto,
        "nw_ttl" => IpTtl,
        "nw_tos" => NwTos,
        "nw_ecn" | "ip_ecn" => NwEcn,
        "nw_frag" | "ip_frag" => IpFrag,
        "tp_src" | "tcp_src" | "udp_src" | "sctp_src" => TpSrc,
        "tp_dst" | "tcp_dst" | "udp_dst" | "sctp_dst" => TpDst,
        "tcp_flags" => TcpFlags,
        "icmp_type" | "icmpv6_type" => IcmpType,
        "icmp_code" | "icmpv6_code" => IcmpCode,
        "ct_state" => CtState,
        "ct_zone" => CtZone,
        "ct_mark" => CtMark,
        "ct_label" => CtLabel,
        "pkt_mark" => PktMark,
        "metadata" => Metadata,
        "conj_id" => ConjId,
        _ => return numbered(name, "reg", 16).map(Reg).or_else(|| numbered(name, "xreg", 8).map(Xreg)),
    })
}

fn numbered(name: &str, prefix: &str, n: u8) -> Option<u8> {
    let digits = name.strip_prefix(prefix)?;
    if digits.is_empty()
        || digits.len() > 2
        || !digits.chars().all(|c| c.is_ascii_digit())
        || digits.starts_with('0') && digits.len() > 1
    {
        return None;
    }
    digits.parse::<u8>().ok().filter(|v| *v < n)
}

/// Whether `ovs-ofctl` accepts `value/mask` for the field.
pub(crate) fn maskable(f: Field) -> bool {
    f.maskable() && f != Field::ConjId
}

/// Whether `set_field`/`load`/`move` may write the field (OVS: `Access:`).
pub(crate) fn writable(f: Field) -> bool {
    !matches!(
        f,
        Field::EthType
            | Field::IpProto
            | Field::CtState
            | Field::CtZone
            | Field::IpFrag
            | Field::TcpFlags
            | Field::ConjId
    )
}

/// The name OVS prints after `set_field:...->` (the field's primary name),
/// picking `udp_src`/`sctp_src`/`icmpv6_type` from the match when known.
pub(crate) fn canonical_name(f: Field, ctx: Ctx) -> String {
    use Field::*;
    let l4 = |tcp: &str, udp: &str, sctp: &str| match ctx.nw_proto {
        Some(17) => udp.to_string(),
        Some(132) => sctp.to_string(),
        _ => tcp.to_string(),
    };
    match f {
        EthSrc => "eth_src".into(),
        EthDst => "eth_dst".into(),
        EthType => "eth_type".into(),
        IpSrc => "ip_src".into(),
        IpDst => "ip_dst".into(),
        IpFrag => "ip_frag".into(),
        TpSrc => l4("tcp_src", "udp_src", "sctp_src"),
        TpDst => l4("tcp_dst", "udp_dst", "sctp_dst"),
        IcmpType if ctx.nw_proto == Some(58) => "icmpv6_type".into(),
        IcmpCode if ctx.nw_proto == Some(58) => "icmpv6_code".into(),
        f => f.name(),
    }
}

/// The NXM/OXM name OVS prints for a subfield of `f`.
pub(crate) fn nxm_name(f: Field, ctx: Ctx) -> String {
    use Field::*;
    match (f, ctx.nw_proto) {
        (TpSrc, Some(17)) => "NXM_OF_UDP_SRC".into(),
        (TpDst, Some(17)) => "NXM_OF_UDP_DST".into(),
        (TpSrc, Some(132)) => "OXM_OF_SCTP_SRC".into(),
        (TpDst, Some(132)) => "OXM_OF_SCTP_DST".into(),
        (IcmpType, Some(58)) => "NXM_NX_ICMPV6_TYPE".into(),
        (IcmpCode, Some(58)) => "NXM_NX_ICMPV6_CODE".into(),
        _ => f.nxm_name(),
    }
}

/// The field an NXM/OXM name (or a plain field name, as OVS also accepts in
/// subfields) refers to.
pub(crate) fn field_by_nxm_name(name: &str) -> Option<Field> {
    use Field::*;
    let alias = match name {
        "NXM_OF_UDP_SRC" | "OXM_OF_UDP_SRC" | "OXM_OF_SCTP_SRC" | "OXM_OF_TCP_SRC" => Some(TpSrc),
        "NXM_OF_UDP_DST" | "OXM_OF_UDP_DST" | "OXM_OF_SCTP_DST" | "OXM_OF_TCP_DST" => Some(TpDst),
        "NXM_NX_ICMPV6_TYPE" | "OXM_OF_ICMPV4_TYPE" | "OXM_OF_ICMPV6_TYPE" => Some(IcmpType),
        "NXM_NX_ICMPV6_CODE" | "OXM_OF_ICMPV4_CODE" | "OXM_OF_ICMPV6_CODE" => Some(IcmpCode),
        "OXM_OF_ETH_SRC" => Some(EthSrc),
        "OXM_OF_ETH_DST" => Some(EthDst),
        "OXM_OF_ETH_TYPE" => Some(EthType),
        "OXM_OF_IPV4_SRC" => Some(IpSrc),
        "OXM_OF_IPV4_DST" => Some(IpDst),
        "OXM_OF_IPV6_SRC" => Some(Ipv6Src),
        "OXM_OF_IPV6_DST" => Some(Ipv6Dst),
        "OXM_OF_IP_PROTO" => Some(IpProto),
        _ => None,
    };
    alias.or_else(|| Field::all().into_iter().find(|f| f.nxm_name() == name)).or_else(|| field_by_name(name))
}

/// Parses `NAME[]`, `NAME[N]`, `NAME[a..b]` or a bare `NAME` (whole field).
pub(crate) fn parse_subfield(s: &str, what: &str) -> Result<SubField, Error> {
    let expected = "a field with an optional bit range, like NXM_NX_REG0[], NXM_NX_REG0[5] or NXM_NX_REG0[0..15]";
    let bad = || Error::bad_value(what, s, expected);
    let (name, range) = match s.find('[') {
        Some(i) => {
            let r = s[i + 1..].strip_suffix(']').ok_or_else(bad)?;
            (&s[..i], Some(r))
        }
        None => (s, None),
    };
    let field = field_by_nxm_name(name).ok_or_else(|| {
        Error::bad_value(what, name, "a known NXM/OXM field name (e.g. NXM_NX_REG0, NXM_OF_ETH_SRC, reg0)")
    })?;
    let sf = match range {
        None | Some("") => SubField::whole(field),
        Some(r) => {
            let num = |t: &str| t.parse::<u16>().map_err(|_| bad());
            match r.split_once("..") {
                Some((a, b)) => {
                    let (a, b) = (num(a)?, num(b)?);
                    if b < a {
                        return Err(Error::invalid(
                            what,
                            format!("bit range [{a}..{b}] runs backwards (write the low bit first)"),
                        ));
                    }
                    SubField { field, ofs: a, n_bits: b - a + 1 }
                }
                None => SubField { field, ofs: num(r)?, n_bits: 1 },
            }
        }
    };
    if !sf.is_valid() {
        return Err(Error::invalid(
            what,
            format!("{s} is outside {name}, which has {} bits (bits 0..{})", field.width(), field.width() - 1),
        ));
    }
    Ok(sf)
}

/// Formats a subfield as OVS's `mf_format_subfield`.
pub(crate) fn fmt_subfield(sf: &SubField, ctx: Ctx) -> String {
    let name = nxm_name(sf.field, ctx);
    if sf.ofs == 0 && sf.n_bits == sf.field.width() {
        format!("{name}[]")
    } else if sf.n_bits == 1 {
        format!("{name}[{}]", sf.ofs)
    } else {
        format!("{name}[{}..{}]", sf.ofs, sf.ofs as u32 + sf.n_bits as u32 - 1)
    }
}

/// A match prerequisite: the EtherTypes and IP protocols a field needs.
pub(crate) struct Prereq {
    pub(crate) dl_types: &'static [u16],
    pub(crate) protos: &'static [u8],
}

const IP_ANY: &[u16] = &[ETH_TYPE_IP, ETH_TYPE_IPV6];

/// The prerequisites of a match field, by the name it was written as.
pub(crate) fn prereq(name: &str) -> Option<Prereq> {
    let p = |dl_types, protos| Some(Prereq { dl_types, protos });
    match name {
        // OpenFlow 1.0 lets nw_src/nw_dst stand for the ARP addresses.
        "nw_src" | "nw_dst" => p(&[ETH_TYPE_IP, ETH_TYPE_ARP, ETH_TYPE_RARP], &[]),
        "ip_src" | "ip_dst" => p(&[ETH_TYPE_IP], &[]),
        "ipv6_src" | "ipv6_dst" | "ipv6_label" => p(&[ETH_TYPE_IPV6], &[]),
        "nw_proto" | "ip_proto" | "nw_ttl" | "nw_tos" | "nw_ecn" | "ip_ecn" | "ip_dscp" | "nw_frag" | "ip_frag" => {
            p(IP_ANY, &[])
        }
        "arp_op" | "arp_spa" | "arp_tpa" | "arp_sha" | "arp_tha" => p(&[ETH_TYPE_ARP, ETH_TYPE_RARP], &[]),
        "tp_src" | "tp_dst" => p(IP_ANY, &[6, 17, 132]),
        "tcp_src" | "tcp_dst" | "tcp_flags" => p(IP_ANY, &[6]),
        "udp_src" | "udp_dst" => p(IP_ANY, &[17]),
        "sctp_src" | "sctp_dst" => p(IP_ANY, &[132]),
        // OVS prints ICMPv6 type/code as icmp_type/icmp_code too.
        "icmp_type" | "icmp_code" => p(IP_ANY, &[1, 58]),
        "icmpv6_type" | "icmpv6_code" => p(&[ETH_TYPE_IPV6], &[58]),
        _ => None,
    }
}

fn or_list(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} or {}", init.join(", "), last),
    }
}

/// Checks `p` against the match's `dl_type`/`nw_proto`, if set.
pub(crate) fn check_prereq(name: &str, p: &Prereq, dl_type: Option<u16>, nw_proto: Option<u8>) -> Result<(), Error> {
    let dl_ok = dl_type.is_some_and(|t| p.dl_types.contains(&t));
    let proto_ok = p.protos.is_empty() || nw_proto.is_some_and(|n| p.protos.contains(&n));
    if dl_ok && proto_ok {
        return Ok(());
    }
    let dl_req = format!("dl_type={}", or_list(&p.dl_types.iter().map(|t| format!("{t:#06x}")).collect::<Vec<_>>()));
    let proto_req = format!("nw_proto={}", or_list(&p.protos.iter().map(|n| n.to_string()).collect::<Vec<_>>()));
    let requirement = match (dl_ok, proto_ok) {
        (false, true) => dl_req,
        (true, false) => proto_req,
        _ => format!("{dl_req} and {proto_req}"),
    };
    let v6 = p.dl_types.contains(&ETH_TYPE_IPV6);
    let v4 = p.dl_types.contains(&ETH_TYPE_IP);
    let mut hints: Vec<String> = Vec::new();
    if p.protos.is_empty() {
        for (t, s) in [(ETH_TYPE_IP, "ip"), (ETH_TYPE_IPV6, "ipv6"), (ETH_TYPE_ARP, "arp"), (ETH_TYPE_RARP, "rarp")] {
            if p.dl_types.contains(&t) {
                hints.push(format!("\"{s}\""));
            }
        }
    } else {
        // Prefer the family the match already has.
        let family_v6 = dl_type == Some(ETH_TYPE_IPV6) || !v4;
        for n in p.protos {
            let (s4, s6) = match n {
                1 | 58 => ("icmp", "icmp6"),
                6 => ("tcp", "tcp6"),
                17 => ("udp", "udp6"),
                _ => ("sctp", "sctp6"),
            };
            let pick = match n {
                1 => s4,
                58 => s6,
                _ if family_v6 && v6 => s6,
                _ => s4,
            };
            let hint = format!("\"{pick}\"");
            if !hints.contains(&hint) {
                hints.push(hint);
            }
        }
    }
    Err(Error::Prerequisite { field: name.to_string(), requirement, hint: or_list(&hints) })
}
