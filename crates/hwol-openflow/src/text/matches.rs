//! Match fields: parsing `field=value[/mask]` and the protocol shorthands,
//! and printing a match in OVS's `match_format()` order.

use super::fields::{self, ETH_TYPE_ARP, ETH_TYPE_IP, ETH_TYPE_IPV6, ETH_TYPE_RARP};
use super::scalar::{self, hex_c};
use super::{next_kv, Error, PortMap};
use crate::field::Field;
use crate::key::OfMatch;

/// `ct_state` bit names, lowest bit first (OVS's `CS_STATES`).
pub(crate) const CT_STATE_FLAGS: &[(u32, &str)] = &hwol_flow::ct_state::NAMES;

/// TCP flag names, lowest bit first (OVS's `packet_tcp_flag_to_string`).
pub(crate) const TCP_FLAGS: &[(u32, &str)] = &hwol_wire::tcp::flags::NAMES;

/// `nw_frag` keywords: (name, value, mask), as OVS's `all_frags`.
const FRAGS: &[(&str, u128, u128)] =
    &[("no", 0, 1), ("yes", 1, 1), ("first", 1, 3), ("later", 3, 3), ("not_later", 0, 2)];

/// Protocol shorthands: (name, dl_type, nw_proto).
const SHORTHANDS: &[(&str, u16, Option<u8>)] = &[
    ("ip", ETH_TYPE_IP, None),
    ("ipv4", ETH_TYPE_IP, None),
    ("ip4", ETH_TYPE_IP, None),
    ("arp", ETH_TYPE_ARP, None),
    ("rarp", ETH_TYPE_RARP, None),
    ("icmp", ETH_TYPE_IP, Some(1)),
    ("tcp", ETH_TYPE_IP, Some(6)),
    ("udp", ETH_TYPE_IP, Some(17)),
    ("sctp", ETH_TYPE_IP, Some(132)),
    ("ipv6", ETH_TYPE_IPV6, None),
    ("ip6", ETH_TYPE_IPV6, None),
    ("icmp6", ETH_TYPE_IPV6, Some(58)),
    ("tcp6", ETH_TYPE_IPV6, Some(6)),
    ("udp6", ETH_TYPE_IPV6, Some(17)),
    ("sctp6", ETH_TYPE_IPV6, Some(132)),
    ("mpls", 0x8847, None),
    ("mplsm", 0x8848, None),
];

/// Parses flags the way OVS's `parse_flags` does: `value/mask` numbers,
/// `+a-b` masked names, or `a|b` / a number meaning exactly these bits.
pub(crate) fn parse_flags(s: &str, names: &[(u32, &str)], allowed: u32, what: &str) -> Result<(u128, u128), Error> {
    let flag_names = names.iter().map(|(_, n)| *n).collect::<Vec<_>>().join(", ");
    let unknown = || Error::bad_value(what, s, &format!("a set of flags ({flag_names}) like +a-b, a|b or value/mask"));
    if let Some((v, m)) = s.split_once('/') {
        let (v, m) = (scalar::parse_uint(v).ok_or_else(unknown)?, scalar::parse_uint(m).ok_or_else(unknown)?);
        if v & !(allowed as u128) != 0 || m & !(allowed as u128) != 0 {
            return Err(unknown());
        }
        return Ok((v & m, m));
    }
    if s.starts_with(['+', '-']) {
        let (mut value, mut mask) = (0u32, 0u32);
        let mut rest = s;
        while let Some(c) = rest.chars().next() {
            let set = c == '+';
            rest = &rest[1..];
            let end = rest.find(['+', '-']).unwrap_or(rest.len());
            let name = &rest[..end];
            let bit = names.iter().find(|(_, n)| *n == name).map(|(b, _)| *b).ok_or_else(unknown)?;
            if mask & bit != 0 {
                return Err(Error::invalid(what, format!("flag \"{name}\" is given more than once in \"{s}\"")));
            }
            mask |= bit;
            if set {
                value |= bit;
            }
            rest = &rest[end..];
        }
        return Ok((value as u128, mask as u128));
    }
    let mut value = 0u128;
    for part in s.split('|') {
        if let Some(n) = scalar::parse_uint(part) {
            if n & !(allowed as u128) != 0 {
                return Err(unknown());
            }
            value |= n;
        } else {
            value |= names.iter().find(|(_, n)| *n == part).map(|(b, _)| *b as u128).ok_or_else(unknown)?;
        }
    }
    Ok((value, allowed as u128))
}

/// OVS's `format_flags_masked` (and `format_flags` for a full mask).
pub(crate) fn fmt_flags(value: u128, mask: u128, names: &[(u32, &str)], full: u128) -> String {
    let name_of = |bit: u128| names.iter().find(|(b, _)| *b as u128 == bit).map(|(_, n)| *n);
    if mask == full {
        if value == 0 {
            return "0".to_string();
        }
        let mut parts = Vec::new();
        let mut bad = 0u128;
        for i in 0..32 {
            let bit = 1u128 << i;
            if value & bit != 0 {
                match name_of(bit) {
                    Some(n) => parts.push(n.to_string()),
                    None => bad |= bit,
                }
            }
        }
        if bad != 0 {
            parts.push(format!("{bad:#x}"));
        }
        return parts.join("|");
    }
    if mask == 0 {
        return "0/0".to_string();
    }
    let mut out = String::new();
    for i in 0..32 {
        let bit = 1u128 << i;
        if mask & bit != 0 {
            out.push(if value & bit != 0 { '+' } else { '-' });
            out.push_str(name_of(bit).unwrap_or("[Unknown]"));
        }
    }
    out
}

fn split_mask(s: &str) -> (&str, Option<&str>) {
    match s.split_once('/') {
        Some((v, m)) => (v, Some(m)),
        None => (s, None),
    }
}

/// Parses the value (and mask) of `field`, written as `name`, in the style
/// the field uses in matches and `set_field`. Returns `(value, mask)` with
/// `value` already masked.
pub(crate) fn parse_value(field: Field, name: &str, s: &str, ports: &PortMap) -> Result<(u128, u128), Error> {
    use Field::*;
    if s.is_empty() {
        return Err(Error::invalid(name, "missing value (write it as field=value)"));
    }
    let all = field.all_ones();
    let (v, m) = match field {
        InPort => {
            if s.contains('/') {
                return Err(Error::invalid(name, "does not take a mask"));
            }
            (scalar::parse_port(s, ports, name)? as u128, all)
        }
        EthSrc | EthDst | ArpSha | ArpTha => {
            let bad = || {
                Error::bad_value(
                    name,
                    s,
                    "an Ethernet address, optionally with a /mask (xx:xx:xx:xx:xx:xx[/xx:xx:xx:xx:xx:xx])",
                )
            };
            let (v, m) = split_mask(s);
            let v = scalar::parse_mac(v).ok_or_else(bad)?;
            let m = m.map(|m| scalar::parse_mac(m).ok_or_else(bad)).transpose()?.unwrap_or(all);
            (v, m)
        }
        IpSrc | IpDst | ArpSpa | ArpTpa => scalar::parse_addr_masked(s, 32, |a| scalar::parse_ipv4(a).map(u128::from))
            .ok_or_else(|| Error::bad_value(name, s, "an IPv4 address or CIDR (a.b.c.d, a.b.c.d/N or a.b.c.d/mask)"))?,
        Ipv6Src | Ipv6Dst => scalar::parse_addr_masked(s, 128, scalar::parse_ipv6)
            .ok_or_else(|| Error::bad_value(name, s, "an IPv6 address or CIDR (addr, addr/N or addr/mask)"))?,
        CtState => parse_flags(s, CT_STATE_FLAGS, 0xff, name)?,
        TcpFlags => parse_flags(s, TCP_FLAGS, 0xfff, name)?,
        IpFrag => FRAGS
            .iter()
            .find(|(n, _, _)| *n == s)
            .map(|(_, v, m)| (*v, *m))
            .ok_or_else(|| Error::bad_value(name, s, "one of no, yes, first, later, not_later"))?,
        _ => {
            let bits = field.width() as u32;
            let (v, m) = split_mask(s);
            if m.is_some() && !fields::maskable(field) {
                return Err(Error::invalid(name, format!("does not take a mask (\"{s}\"); match it exactly")));
            }
            let v = scalar::parse_uint_bits(v, bits, name)?;
            let m = m.map(|m| scalar::parse_uint_bits(m, bits, name)).transpose()?.unwrap_or(all);
            if field == NwTos && v & 0x03 != 0 {
                return Err(Error::invalid(
                    name,
                    format!("{v} has the ECN bits (0x03) set; nw_tos takes the DSCP shifted left by 2 (use ip_dscp= for the DSCP and nw_ecn= for the low bits)"),
                ));
            }
            (v, m)
        }
    };
    Ok((v & m, m))
}

/// Builds an [`OfMatch`] from `field=value` tokens, then checks
/// prerequisites once every field is known (field order does not matter).
pub(crate) struct MatchBuilder<'p> {
    m: OfMatch,
    ports: &'p PortMap,
    used: Vec<String>,
    /// The protocol shorthand (`tcp`, `ipv6`, ...) written so far, if any.
    shorthand: Option<&'static str>,
}

impl<'p> MatchBuilder<'p> {
    pub(crate) fn new(ports: &'p PortMap) -> Self {
        MatchBuilder { m: OfMatch::catchall(), ports, used: Vec::new(), shorthand: None }
    }

    fn vlan(&mut self, name: &str, value: &str, shift: u32, max: u128) -> Result<(), Error> {
        let v = scalar::parse_uint_bits(value, 16, name)?;
        let (mut tci, mut mask) = self.m.get(Field::VlanTci);
        if shift == 0 && v == 0xffff {
            // OpenFlow 1.0's OFP_VLAN_NONE: match packets without a tag.
            self.m.set(Field::VlanTci, 0);
            return Ok(());
        }
        if v > max {
            let extra = if shift == 0 { " (or 0xffff for \"no VLAN tag\")" } else { "" };
            return Err(Error::bad_value(name, value, &format!("a number from 0 to {max}{extra}")));
        }
        let bits = max << shift;
        if mask & 0x1000 == 0 || tci & 0x1000 == 0 {
            tci = 0;
            mask = 0;
        }
        tci = (tci & !bits) | (v << shift) | 0x1000;
        mask |= bits | 0x1000;
        self.m.set_masked(Field::VlanTci, tci, mask);
        Ok(())
    }

    /// Applies one `key=value` token.
    pub(crate) fn apply(&mut self, key: &str, value: &str) -> Result<(), Error> {
        if let Some(&(name, dl_type, proto)) = SHORTHANDS.iter().find(|(n, _, _)| *n == key) {
            // OVS lets a later shorthand overwrite an earlier one and then
            // silently drops whatever no longer fits ("sctp,mpls" becomes
            // "mpls"); a match has one protocol, so say so instead.
            if let Some(prev) = self.shorthand {
                let (_, prev_type, prev_proto) =
                    SHORTHANDS.iter().find(|(n, _, _)| *n == prev).copied().unwrap_or_default();
                let clash = prev_type != dl_type || matches!((prev_proto, proto), (Some(a), Some(b)) if a != b);
                if clash {
                    return Err(Error::invalid(
                        name,
                        format!("conflicts with \"{prev}\" earlier in the match (a match has one protocol: keep one of them)"),
                    ));
                }
            }
            if proto.is_some() || self.shorthand.is_none() {
                self.shorthand = Some(name);
            }
            self.m.set(Field::EthType, dl_type as u128);
            if let Some(p) = proto {
                self.m.set(Field::IpProto, p as u128);
            }
            return Ok(());
        }
        match key {
            "dl_vlan" => return self.vlan(key, value, 0, 0xfff),
            "dl_vlan_pcp" => return self.vlan(key, value, 13, 7),
            "ip_dscp" => {
                let v = scalar::parse_uint_bits(value, 6, key)?;
                self.m.set(Field::NwTos, v << 2);
                self.used.push(key.to_string());
                return Ok(());
            }
            _ => {}
        }
        if key.contains('[') {
            let sf = fields::parse_subfield(key, key)?;
            let v = scalar::parse_uint_bits(value, sf.n_bits as u32, key)?;
            let (cur, cur_mask) = self.m.get(sf.field);
            let mask = sf.mask() & sf.field.all_ones();
            self.m.set_masked(sf.field, (cur & !mask) | (v << sf.ofs), cur_mask | mask);
            return Ok(());
        }
        let field = fields::field_by_name(key).ok_or_else(|| Error::UnknownField(key.to_string()))?;
        let (v, m) = parse_value(field, key, value, self.ports)?;
        if field == Field::VlanTci && m != 0 {
            if m & 0x1000 == 0 {
                return Err(Error::invalid(key, format!("mask {m:#06x} must include the 0x1000 \"tag present\" bit (hwol cannot match VLAN bits without matching tag presence)")));
            }
            if v & 0x1000 == 0 && v != 0 {
                return Err(Error::invalid(
                    key,
                    format!("{v:#06x} sets VLAN bits but not the 0x1000 \"tag present\" bit, so it could never match"),
                ));
            }
        }
        self.m.set_masked(field, v, m);
        self.used.push(key.to_string());
        Ok(())
    }

    /// Checks prerequisites and returns the match.
    pub(crate) fn finish(self) -> Result<OfMatch, Error> {
        let (t, tm) = self.m.get(Field::EthType);
        let (p, pm) = self.m.get(Field::IpProto);
        let dl_type = (tm != 0).then_some(t as u16);
        let nw_proto = (pm != 0).then_some(p as u8);
        // A shorthand's nw_proto outlives a dl_type written after it.
        let explicit_proto = self.used.iter().any(|u| u == "nw_proto");
        let ip = matches!(dl_type, Some(ETH_TYPE_IP | ETH_TYPE_IPV6));
        if let (Some(name), Some(proto), false, false) = (self.shorthand, nw_proto, ip, explicit_proto) {
            return Err(Error::invalid(
                name,
                format!(
                    "sets nw_proto={proto}, which needs dl_type=0x0800 or 0x86dd, but dl_type is {} (drop dl_type, or the protocol)",
                    dl_type.map_or("unset".to_string(), |t| format!("{t:#06x}"))
                ),
            ));
        }
        for name in &self.used {
            if let Some(pr) = fields::prereq(name) {
                fields::check_prereq(name, &pr, dl_type, nw_proto)?;
            }
            // ICMP type/code need ICMPv4 over IPv4 or ICMPv6 over IPv6.
            let icmp_pair =
                matches!((dl_type, nw_proto), (Some(ETH_TYPE_IP), Some(1)) | (Some(ETH_TYPE_IPV6), Some(58)));
            if name.starts_with("icmp") && !icmp_pair {
                let hint = if dl_type == Some(ETH_TYPE_IPV6) { "\"icmp6\"" } else { "\"icmp\"" };
                return Err(Error::Prerequisite {
                    field: name.clone(),
                    requirement: "nw_proto=1 with dl_type=0x0800, or nw_proto=58 with dl_type=0x86dd".into(),
                    hint: hint.into(),
                });
            }
        }
        Ok(self.m)
    }
}

/// Parses a match alone: comma- or space-separated fields and protocol
/// shorthands, e.g. `ct_state=+new+trk,tcp,tp_dst=80,reg0=0x1/0x1`.
/// `priority`, `table` and the other flow properties belong to
/// [`parse_flow`](super::parse_flow) and are refused here.
pub fn parse_match(text: &str, ports: &PortMap) -> Result<OfMatch, Error> {
    let mut b = MatchBuilder::new(ports);
    let mut rest = text;
    while let Some((key, value)) = next_kv(&mut rest) {
        if matches!(key, "priority" | "table" | "cookie" | "idle_timeout" | "hard_timeout" | "actions") {
            return Err(Error::invalid(key, "is a flow property, not a match field (use parse_flow for whole flows)"));
        }
        b.apply(key, value)?;
    }
    b.finish()
}

fn u32_masked(out: &mut Vec<String>, name: &str, v: u128, m: u128) {
    if m != 0 {
        if m == 0xffff_ffff {
            out.push(format!("{name}={}", hex_c(v)));
        } else {
            out.push(format!("{name}={}/{}", hex_c(v), hex_c(m)));
        }
    }
}

fn u16_masked(out: &mut Vec<String>, name: &str, v: u128, m: u128, full: u128) {
    if m != 0 {
        if m == full {
            out.push(format!("{name}={v}"));
        } else {
            out.push(format!("{name}={v:#x}/{m:#x}"));
        }
    }
}

/// Prints a match as OVS's `match_format()` does (without `priority=`,
/// which the flow printers add): conntrack fields, the protocol shorthand
/// (`ip`, `tcp`, `udp6`, `arp`, ...), registers, `metadata`, `in_port`,
/// VLAN, Ethernet, L3 and L4 fields in OVS's order and number styles.
/// `names` turns port numbers into names. The catch-all match prints as "".
pub fn format_match(m: &OfMatch, names: Option<&PortMap>) -> String {
    use Field::*;
    let g = |f: Field| m.get(f);
    let mut out: Vec<String> = Vec::new();

    let (v, mk) = g(PktMark);
    u32_masked(&mut out, "pkt_mark", v, mk);
    let (v, mk) = g(ConjId);
    if mk != 0 {
        out.push(format!("conj_id={v}"));
    }
    let (v, mk) = g(CtState);
    if mk != 0 {
        out.push(format!("ct_state={}", fmt_flags(v, mk, CT_STATE_FLAGS, 0xff)));
    }
    let (v, mk) = g(CtZone);
    u16_masked(&mut out, "ct_zone", v, mk, 0xffff);
    let (v, mk) = g(CtMark);
    u32_masked(&mut out, "ct_mark", v, mk);
    let (v, mk) = g(CtLabel);
    if mk != 0 {
        if mk == u128::MAX {
            out.push(format!("ct_label={}", hex_c(v)));
        } else {
            out.push(format!("ct_label={}/{}", hex_c(v), hex_c(mk)));
        }
    }

    let (t, tm) = g(EthType);
    let (p, pm) = g(IpProto);
    let dl_type = if tm != 0 { Some(t as u16) } else { None };
    let proto = if pm != 0 { Some(p as u8) } else { None };
    let mut skip_type = false;
    let mut skip_proto = false;
    if let Some(t) = dl_type {
        let shorthand = match t {
            ETH_TYPE_IP | ETH_TYPE_IPV6 => {
                let v6 = t == ETH_TYPE_IPV6;
                let l4 = match proto {
                    Some(1) if !v6 => Some("icmp"),
                    Some(58) if v6 => Some("icmp6"),
                    Some(6) => Some(if v6 { "tcp6" } else { "tcp" }),
                    Some(17) => Some(if v6 { "udp6" } else { "udp" }),
                    Some(132) => Some(if v6 { "sctp6" } else { "sctp" }),
                    _ => None,
                };
                skip_proto = l4.is_some();
                Some(l4.unwrap_or(if v6 { "ipv6" } else { "ip" }))
            }
            ETH_TYPE_ARP => Some("arp"),
            ETH_TYPE_RARP => Some("rarp"),
            0x8847 => Some("mpls"),
            0x8848 => Some("mplsm"),
            _ => None,
        };
        if let Some(s) = shorthand {
            skip_type = true;
            out.push(s.to_string());
        }
    }

    for i in 0..16u8 {
        let (v, mk) = g(Reg(i));
        u32_masked(&mut out, &format!("reg{i}"), v, mk);
    }
    let (v, mk) = g(Metadata);
    if mk != 0 {
        if mk == u64::MAX as u128 {
            out.push(format!("metadata={}", hex_c(v)));
        } else {
            out.push(format!("metadata={}/{}", hex_c(v), hex_c(mk)));
        }
    }
    let (v, mk) = g(InPort);
    if mk != 0 {
        out.push(format!("in_port={}", scalar::fmt_port(v as u32, names)));
    }

    let (tci, tmask) = g(VlanTci);
    if tmask != 0 {
        let (vid_m, pcp_m, cfi) = (tmask & 0x0fff, tmask & 0xe000, tmask & 0x1000);
        if cfi != 0
            && tci & 0x1000 != 0
            && (vid_m == 0 || vid_m == 0x0fff)
            && (pcp_m == 0 || pcp_m == 0xe000)
            && (vid_m != 0 || pcp_m != 0)
        {
            if vid_m != 0 {
                out.push(format!("dl_vlan={}", tci & 0x0fff));
            }
            if pcp_m != 0 {
                out.push(format!("dl_vlan_pcp={}", (tci >> 13) & 7));
            }
        } else if tmask == 0xffff {
            out.push(format!("vlan_tci=0x{tci:04x}"));
        } else {
            out.push(format!("vlan_tci=0x{tci:04x}/0x{tmask:04x}"));
        }
    }

    for (f, name) in [(EthSrc, "dl_src"), (EthDst, "dl_dst")] {
        let (v, mk) = g(f);
        if mk != 0 {
            out.push(format!("{name}={}", scalar::fmt_mac_masked(v, mk)));
        }
    }
    if let (Some(t), false) = (dl_type, skip_type) {
        out.push(format!("dl_type=0x{t:04x}"));
    }
    let is_arp = matches!(dl_type, Some(ETH_TYPE_ARP) | Some(ETH_TYPE_RARP));
    if dl_type == Some(ETH_TYPE_IPV6) {
        for (f, name) in [(Ipv6Src, "ipv6_src"), (Ipv6Dst, "ipv6_dst")] {
            let (v, mk) = g(f);
            if mk != 0 {
                out.push(format!("{name}={}", scalar::fmt_ipv6_masked(v, mk)));
            }
        }
        let (v, mk) = g(Ipv6Label);
        if mk != 0 {
            if mk == 0xfffff {
                out.push(format!("ipv6_label=0x{v:05x}"));
            } else {
                out.push(format!("ipv6_label=0x{v:05x}/0x{mk:05x}"));
            }
        }
    } else {
        let names = if is_arp { ["arp_spa", "arp_tpa"] } else { ["nw_src", "nw_dst"] };
        for (f, name) in [(IpSrc, names[0]), (IpDst, names[1])] {
            let (v, mk) = g(f);
            if mk != 0 {
                out.push(format!("{name}={}", scalar::fmt_ipv4_masked(v as u32, mk as u32)));
            }
        }
    }
    if is_arp {
        let (v, mk) = g(ArpOp);
        if mk != 0 {
            out.push(format!("arp_op={v}"));
        }
    } else if !skip_proto {
        if let Some(p) = proto {
            out.push(format!("nw_proto={p}"));
        }
    }
    if is_arp {
        for (f, name) in [(ArpSha, "arp_sha"), (ArpTha, "arp_tha")] {
            let (v, mk) = g(f);
            if mk != 0 {
                out.push(format!("{name}={}", scalar::fmt_mac_masked(v, mk)));
            }
        }
    }
    let (v, mk) = g(NwTos);
    if mk != 0 {
        out.push(format!("nw_tos={v}"));
    }
    let (v, mk) = g(NwEcn);
    if mk != 0 {
        out.push(format!("nw_ecn={v}"));
    }
    let (v, mk) = g(IpTtl);
    if mk != 0 {
        out.push(format!("nw_ttl={v}"));
    }
    let (v, mk) = g(IpFrag);
    let frag = match (mk, v) {
        (3, 0) => Some("no"),
        (3, 1) => Some("first"),
        (3, 3) => Some("later"),
        (3, _) => Some("<error>"),
        (1, 0) => Some("no"),
        (1, _) => Some("yes"),
        (2, 0) => Some("not_later"),
        (2, _) => Some("later"),
        _ => None,
    };
    if let Some(f) = frag {
        out.push(format!("nw_frag={f}"));
    }
    let icmp =
        (dl_type == Some(ETH_TYPE_IP) && proto == Some(1)) || (dl_type == Some(ETH_TYPE_IPV6) && proto == Some(58));
    if icmp {
        for (f, name) in [(IcmpType, "icmp_type"), (IcmpCode, "icmp_code")] {
            let (v, mk) = g(f);
            u16_masked(&mut out, name, v, mk, 0xff);
        }
    } else {
        for (f, name) in [(TpSrc, "tp_src"), (TpDst, "tp_dst")] {
            let (v, mk) = g(f);
            u16_masked(&mut out, name, v, mk, 0xffff);
        }
    }
    let (v, mk) = g(TcpFlags);
    if mk != 0 && matches!(dl_type, Some(ETH_TYPE_IP) | Some(ETH_TYPE_IPV6)) && proto == Some(6) {
        out.push(format!("tcp_flags={}", fmt_flags(v, mk, TCP_FLAGS, 0xfff)));
    }
    out.join(",")
}
