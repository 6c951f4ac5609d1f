//! Actions: parsing an `actions=` list and printing it as OVS's
//! `ofpacts_format()` does.

use std::net::IpAddr;

use hwol_flow::{EthAddr, NatAction, NatKind};

use super::fields;
use super::matches::{self, CT_STATE_FLAGS, TCP_FLAGS};
use super::scalar::{self, hex_c};
use super::{next_kv, Ctx, Error, PortMap};
use crate::action::{CtZone, OfAction, OfCt, SubField};
use crate::field::Field;
use crate::key::OfMatch;
use crate::ofp_port;

/// OVS actions hwol knows by name but does not implement.
const UNSUPPORTED: &[&str] = &[
    "learn",
    "group",
    "meter",
    "enqueue",
    "set_queue",
    "pop_queue",
    "multipath",
    "bundle",
    "bundle_load",
    "clone",
    "sample",
    "check_pkt_larger",
    "write_metadata",
    "clear_actions",
    "write_actions",
    "apply_actions",
    "fin_timeout",
    "exit",
    "push_mpls",
    "pop_mpls",
    "set_tunnel",
    "set_tunnel64",
    "encap",
    "decap",
    "dec_mpls_ttl",
    "dec_nsh_ttl",
    "set_mpls_label",
    "set_mpls_tc",
    "set_mpls_ttl",
    "mod_nw_ecn_fake",
    "stack_push",
    "stack_pop",
    "output_trunc",
    "set_vlan_vid",
    "set_vlan_pcp",
    "delete_field",
];

fn port_action(n: u32, what: &str, text: &str) -> Result<OfAction, Error> {
    if n == ofp_port::TABLE || n == ofp_port::NONE {
        return Err(Error::invalid(what, format!("{text} is not a port a flow can output to")));
    }
    Ok(OfAction::output_to(n))
}

fn no_arg(key: &str, value: &str, a: OfAction) -> Result<OfAction, Error> {
    if value.is_empty() {
        Ok(a)
    } else {
        Err(Error::invalid(key, format!("takes no argument (got \"{value}\")")))
    }
}

fn check_writable(sf_field: Field, what: &str, in_ct_exec: bool) -> Result<(), Error> {
    let name = fields::canonical_name(sf_field, Ctx::default());
    if !fields::writable(sf_field) {
        return Err(Error::invalid(what, format!("{name} is read-only and cannot be set")));
    }
    let is_ct = matches!(sf_field, Field::CtMark | Field::CtLabel);
    if is_ct && !in_ct_exec {
        return Err(Error::invalid(
            what,
            format!("cannot set CT fields outside of ct action (put it in ct(commit,exec({what}:...)))"),
        ));
    }
    if in_ct_exec && !is_ct {
        return Err(Error::invalid(what, format!("ct(exec(...)) may only set ct_mark and ct_label, not {name}")));
    }
    Ok(())
}

fn split_arrow<'a>(key: &str, value: &'a str, syntax: &str) -> Result<(&'a str, &'a str), Error> {
    value.rsplit_once("->").ok_or_else(|| Error::bad_value(key, value, &format!("of the form {syntax}")))
}

fn parse_set_field(key: &str, value: &str, ports: &PortMap, in_ct_exec: bool) -> Result<OfAction, Error> {
    let (v, name) = split_arrow(key, value, "value[/mask]->field")?;
    let (field, shift) = match name {
        "ip_dscp" => (Field::NwTos, 2),
        "vlan_vid" | "vlan_pcp" | "dl_vlan" | "dl_vlan_pcp" => {
            return Err(Error::invalid(
                key,
                format!("{name} cannot be set with set_field in hwol; use mod_vlan_vid/mod_vlan_pcp"),
            ))
        }
        _ => (
            fields::field_by_name(name)
                .ok_or_else(|| Error::bad_value(key, name, "a field name (e.g. reg0, eth_src, ct_mark)"))?,
            0,
        ),
    };
    let (value, mask) = if shift != 0 {
        let d = scalar::parse_uint_bits(v, 6, name)?;
        (d << shift, Field::NwTos.all_ones())
    } else {
        matches::parse_value(field, name, v, ports)?
    };
    if mask == 0 {
        return Err(Error::invalid(key, "an all-zero mask sets nothing"));
    }
    check_writable(field, key, in_ct_exec)?;
    Ok(OfAction::SetField { field, value, mask })
}

fn parse_nat_range(s: &str, nat: &mut NatAction) -> Result<(), Error> {
    let bad = || Error::bad_value("nat", s, "a NAT range like 10.0.0.1-10.0.0.5:1000-2000 or [fe80::1]-[fe80::2]:80");
    if s.is_empty() {
        return Ok(());
    }
    let mut rest = s;
    let take_addr = |rest: &mut &str| -> Option<IpAddr> {
        if let Some(r) = rest.strip_prefix('[') {
            let end = r.find(']')?;
            let a = r[..end].parse::<std::net::Ipv6Addr>().ok()?;
            *rest = &r[end + 1..];
            return Some(IpAddr::V6(a));
        }
        let v4_len = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(rest.len());
        if let Ok(a) = rest[..v4_len].parse::<std::net::Ipv4Addr>() {
            *rest = &rest[v4_len..];
            return Some(IpAddr::V4(a));
        }
        let v6_len = rest.find(|c: char| !(c.is_ascii_hexdigit() || c == ':' || c == '.')).unwrap_or(rest.len());
        let a = rest[..v6_len].parse::<std::net::Ipv6Addr>().ok()?;
        *rest = &rest[v6_len..];
        Some(IpAddr::V6(a))
    };
    let min = take_addr(&mut rest).ok_or_else(bad)?;
    let mut max = min;
    if let Some(r) = rest.strip_prefix('-') {
        rest = r;
        max = take_addr(&mut rest).ok_or_else(bad)?;
        if max.is_ipv4() != min.is_ipv4() || max < min {
            return Err(bad());
        }
    }
    nat.addrs = Some((min, max));
    if let Some(r) = rest.strip_prefix(':') {
        let (a, b) = r.split_once('-').unwrap_or((r, r));
        let p = |t: &str| t.parse::<u16>().ok().filter(|_| t.chars().all(|c| c.is_ascii_digit()));
        let (a, b) = (p(a).ok_or_else(bad)?, p(b).ok_or_else(bad)?);
        if a == 0 || b < a {
            return Err(bad());
        }
        nat.ports = Some((a, b));
        rest = "";
    }
    if !rest.is_empty() {
        return Err(bad());
    }
    Ok(())
}

fn parse_nat(arg: &str) -> Result<NatAction, Error> {
    let mut nat = NatAction::default();
    let mut rest = arg;
    while let Some((key, value)) = next_kv(&mut rest) {
        match key {
            "src" | "dst" => {
                if nat.kind.is_some() {
                    return Err(Error::invalid("nat", "may only specify one of \"src\" or \"dst\""));
                }
                nat.kind = Some(if key == "src" { NatKind::Src } else { NatKind::Dst });
                parse_nat_range(value, &mut nat)?;
            }
            "persistent" => nat.persistent = true,
            "hash" => nat.hash = true,
            "random" => nat.random = true,
            _ => {
                return Err(Error::invalid(
                    "nat",
                    format!("invalid key \"{key}\" (expected src=, dst=, persistent, hash or random)"),
                ))
            }
        }
    }
    if nat.hash && nat.random {
        return Err(Error::invalid("nat", "\"hash\" and \"random\" cannot both be given"));
    }
    Ok(nat)
}

fn parse_ct(arg: &str, ports: &PortMap) -> Result<OfCt, Error> {
    let mut ct = OfCt::default();
    let mut rest = arg;
    while let Some((key, value)) = next_kv(&mut rest) {
        match key {
            "commit" => ct.commit = true,
            "force" => ct.force = true,
            "table" => {
                let t = scalar::parse_uint_bits(value, 8, "ct table")?;
                if t == 255 {
                    return Err(Error::invalid("ct", "table=255 is not a table (use 0 to 254)"));
                }
                ct.table = Some(t as u8);
            }
            "zone" => {
                ct.zone = match scalar::parse_uint(value) {
                    Some(z) if z <= 0xffff => CtZone::Imm(z as u16),
                    Some(_) => {
                        return Err(Error::bad_value(
                            "ct zone",
                            value,
                            "a zone from 0 to 65535 or a field like NXM_NX_REG4[0..15]",
                        ))
                    }
                    None => CtZone::Field(fields::parse_subfield(value, "ct zone")?),
                };
            }
            "alg" => match value {
                "ftp" | "tftp" => ct.alg = Some(value.to_string()),
                _ => return Err(Error::bad_value("ct alg", value, "a connection helper (ftp or tftp)")),
            },
            "nat" => ct.nat = Some(parse_nat(value)?),
            "exec" => ct.exec = parse_list(value, ports, true)?,
            _ => {
                return Err(Error::invalid(
                    "ct",
                    format!(
                        "invalid argument \"{key}\" (expected commit, force, table=, zone=, nat, exec(...) or alg=)"
                    ),
                ))
            }
        }
    }
    if ct.force && !ct.commit {
        return Err(Error::invalid("ct", "\"force\" requires \"commit\""));
    }
    Ok(ct)
}

fn parse_note(value: &str) -> Result<Vec<u8>, Error> {
    let mut out = Vec::new();
    let b = value.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if matches!(b[i], b'.' | b' ' | b'\t') {
            i += 1;
            continue;
        }
        let pair = value.get(i..i + 2).filter(|p| p.chars().all(|c| c.is_ascii_hexdigit()));
        let pair = pair.ok_or_else(|| {
            Error::bad_value("note", value, "hex bytes, optionally separated by dots (note:ab.cd.ef)")
        })?;
        out.push(u8::from_str_radix(pair, 16).map_err(|_| Error::bad_value("note", value, "hex bytes"))?);
        i += 2;
    }
    // OVS's NXAST_NOTE pads the payload so the action is a multiple of 8
    // bytes (10 header bytes + data), and dumps show the padding.
    while (out.len() + 10) % 8 != 0 {
        out.push(0);
    }
    Ok(out)
}

fn parse_one(key: &str, value: &str, ports: &PortMap, in_ct_exec: bool) -> Result<Option<OfAction>, Error> {
    use OfAction::*;
    let a = match key {
        "drop" => return no_arg(key, value, Drop).map(|_| None),
        "output" => {
            if value.contains('[') {
                OutputReg(fields::parse_subfield(value, key)?)
            } else {
                port_action(scalar::parse_port(value, ports, key)?, key, value)?
            }
        }
        "resubmit" => {
            let (p, t) = value.split_once(',').unwrap_or((value, ""));
            if t.contains(',') {
                return Err(Error::invalid(
                    key,
                    format!("\"{value}\": hwol supports resubmit(port,table) without the ct option"),
                ));
            }
            let in_port = if p.is_empty() {
                None
            } else {
                match scalar::parse_port(p, ports, key)? {
                    ofp_port::IN_PORT => None,
                    n => Some(n),
                }
            };
            let table = if t.is_empty() || t == "255" { None } else { Some(scalar::parse_uint_bits(t, 8, key)? as u8) };
            if in_port.is_none() && table.is_none() {
                return Err(Error::invalid(
                    key,
                    "at least one of a port or a table must be given (resubmit(,T) or resubmit:P)",
                ));
            }
            Resubmit { in_port, table }
        }
        "goto_table" => {
            let t = scalar::parse_uint_bits(value, 8, key)? as u8;
            if t == 255 {
                return Err(Error::invalid(key, "255 is not a table (use 0 to 254)"));
            }
            GotoTable(t)
        }
        "ct" => Ct(parse_ct(value, ports)?),
        "ct_clear" => no_arg(key, value, CtClear)?,
        "set_field" => parse_set_field(key, value, ports, in_ct_exec)?,
        "load" => {
            let (v, dst) = split_arrow(key, value, "value->NXM_FIELD[bits]")?;
            let dst = fields::parse_subfield(dst, key)?;
            let value = scalar::parse_uint_bits(v, dst.n_bits as u32, key)?;
            check_writable(dst.field, key, in_ct_exec)?;
            Load { dst, value }
        }
        "move" => {
            let (src, dst) = split_arrow(key, value, "NXM_SRC[bits]->NXM_DST[bits]")?;
            let (src, dst) = (fields::parse_subfield(src, key)?, fields::parse_subfield(dst, key)?);
            if src.n_bits != dst.n_bits {
                return Err(Error::invalid(
                    key,
                    format!(
                        "source has {} bits but destination has {} (the ranges must be the same width)",
                        src.n_bits, dst.n_bits
                    ),
                ));
            }
            check_writable(dst.field, key, in_ct_exec)?;
            Move { src, dst }
        }
        "mod_dl_src" | "mod_dl_dst" => {
            let mac = scalar::parse_mac(value)
                .ok_or_else(|| Error::bad_value(key, value, "an Ethernet address (xx:xx:xx:xx:xx:xx)"))?;
            let b = (mac as u64).to_be_bytes();
            let addr = EthAddr([b[2], b[3], b[4], b[5], b[6], b[7]]);
            if key == "mod_dl_src" {
                ModDlSrc(addr)
            } else {
                ModDlDst(addr)
            }
        }
        "mod_vlan_vid" => {
            let v = scalar::parse_uint(value).filter(|v| *v <= 0xfff);
            ModVlanVid(v.ok_or_else(|| Error::bad_value(key, value, "a VLAN id from 0 to 4095"))? as u16)
        }
        "mod_vlan_pcp" => {
            let v = scalar::parse_uint(value).filter(|v| *v <= 7);
            ModVlanPcp(v.ok_or_else(|| Error::bad_value(key, value, "a VLAN priority from 0 to 7"))? as u8)
        }
        "mod_nw_src" | "mod_nw_dst" | "mod_tp_src" | "mod_tp_dst" | "mod_nw_tos" | "mod_nw_ecn" | "mod_nw_ttl" => {
            let (field, name) = match key {
                "mod_nw_src" => (Field::IpSrc, "ip_src"),
                "mod_nw_dst" => (Field::IpDst, "ip_dst"),
                "mod_tp_src" => (Field::TpSrc, "tp_src"),
                "mod_tp_dst" => (Field::TpDst, "tp_dst"),
                "mod_nw_tos" => (Field::NwTos, "nw_tos"),
                "mod_nw_ecn" => (Field::NwEcn, "nw_ecn"),
                _ => (Field::IpTtl, "nw_ttl"),
            };
            if value.contains('/') {
                return Err(Error::invalid(key, "does not take a mask"));
            }
            let (value, mask) = matches::parse_value(field, name, value, ports)?;
            check_writable(field, key, in_ct_exec)?;
            SetField { field, value, mask }
        }
        "dec_ttl" => no_arg(key, value, DecTtl)?,
        "push_vlan" => {
            let t = scalar::parse_uint(value).filter(|t| *t == 0x8100 || *t == 0x88a8);
            PushVlan(t.ok_or_else(|| Error::bad_value(key, value, "a VLAN ethertype (0x8100 or 0x88a8)"))? as u16)
        }
        "pop_vlan" | "strip_vlan" => no_arg(key, value, PopVlan)?,
        "conjunction" => {
            let syntax = || Error::bad_value(key, value, "of the form conjunction(id,k/n)");
            let (id, kn) = value.split_once(',').ok_or_else(syntax)?;
            let (k, n) = kn.split_once('/').ok_or_else(syntax)?;
            let id = scalar::parse_uint(id.trim()).filter(|v| *v <= u32::MAX as u128).ok_or_else(syntax)? as u32;
            let k = scalar::parse_uint(k.trim()).filter(|v| *v <= 255).ok_or_else(syntax)? as u8;
            let n = scalar::parse_uint(n.trim()).filter(|v| *v <= 255).ok_or_else(syntax)? as u8;
            if n < 2 {
                return Err(Error::invalid(key, "a conjunction must have at least 2 clauses"));
            } else if n > 64 {
                return Err(Error::invalid(key, "a conjunction must have at most 64 clauses"));
            } else if k < 1 || k > n {
                return Err(Error::invalid(
                    key,
                    format!("clause {k} must be between 1 and the number of clauses ({n})"),
                ));
            }
            Conjunction { id, clause: k, n_clauses: n }
        }
        "note" => Note(parse_note(value)?),
        k if k.eq_ignore_ascii_case("controller") => {
            if !matches!(value, "" | "65535" | "max_len=65535") {
                return Err(Error::invalid(
                    key,
                    format!("hwol's controller action takes no options (got \"{value}\")"),
                ));
            }
            Controller
        }
        k if UNSUPPORTED.contains(&k) => {
            return Err(Error::invalid(k, "is an Open vSwitch action hwol does not support"));
        }
        k => {
            if !value.is_empty() {
                return Err(Error::UnknownAction { name: k.to_string(), known: ports.known() });
            }
            match scalar::parse_port(k, ports, k) {
                Ok(n) => port_action(n, k, k)?,
                Err(Error::UnknownPort { name, known, .. }) => return Err(Error::UnknownAction { name, known }),
                Err(e) => return Err(e),
            }
        }
    };
    Ok(Some(a))
}

fn parse_list(text: &str, ports: &PortMap, in_ct_exec: bool) -> Result<Vec<OfAction>, Error> {
    let mut out = Vec::new();
    let mut saw_drop = false;
    let mut rest = text;
    while let Some((key, value)) = next_kv(&mut rest) {
        match parse_one(key, value, ports, in_ct_exec)? {
            Some(a) => out.push(a),
            None => saw_drop = true,
        }
    }
    if in_ct_exec {
        if let Some(bad) = out.iter().find(|a| !matches!(a, OfAction::SetField { .. } | OfAction::Load { .. })) {
            return Err(Error::invalid(
                "ct",
                format!(
                    "exec(...) may only hold set_field or load actions on ct_mark/ct_label, not {}",
                    fmt_one(bad, None, Ctx::default())
                ),
            ));
        }
    }
    if saw_drop && !out.is_empty() {
        return Err(Error::invalid("drop", "must be the only action (an empty action list also drops)"));
    }
    if let Some(i) = out.iter().position(|a| matches!(a, OfAction::GotoTable(_))) {
        if i + 1 != out.len() {
            return Err(Error::invalid(
                "goto_table",
                "must be the last action (it is an instruction that ends the list)",
            ));
        }
    }
    let conj = out.iter().any(|a| matches!(a, OfAction::Conjunction { .. }));
    if conj && out.iter().any(|a| !matches!(a, OfAction::Conjunction { .. } | OfAction::Note(_))) {
        return Err(Error::invalid(
            "conjunction",
            "a flow with conjunction actions may have only conjunction and note actions",
        ));
    }
    Ok(out)
}

/// Parses an action list as it appears after `actions=`, e.g.
/// `ct(commit,zone=65520,exec(set_field:0x1/0x1->ct_mark)),load:1->NXM_NX_REG0[16],resubmit(,90)`.
/// `drop` (alone) and the empty list both give no actions. Port names go
/// through `ports`; a bare port number or name means `output`.
pub fn parse_actions(text: &str, ports: &PortMap) -> Result<Vec<OfAction>, Error> {
    parse_list(text, ports, false)
}

/// Prerequisite name of a writable field, for checking writes against the match.
fn write_prereq(f: Field) -> Option<&'static str> {
    use Field::*;
    Some(match f {
        IpSrc | IpDst => "ip_src",
        Ipv6Src | Ipv6Dst | Ipv6Label => "ipv6_src",
        IpTtl | NwTos | NwEcn => "nw_ttl",
        ArpOp | ArpSpa | ArpTpa | ArpSha | ArpTha => "arp_op",
        TpSrc | TpDst => "tp_src",
        _ => return None,
    })
}

/// [`parse_actions`], then the checks OVS's `ofpacts_check` makes against
/// the flow's match: a field may only be written or read when the match
/// guarantees the packet has it.
pub(crate) fn parse_actions_for(text: &str, ports: &PortMap, m: &OfMatch) -> Result<Vec<OfAction>, Error> {
    let acts = parse_list(text, ports, false)?;
    let (t, tm) = m.get(Field::EthType);
    let (p, pm) = m.get(Field::IpProto);
    let dl_type = (tm != 0).then_some(t as u16);
    let nw_proto = (pm != 0).then_some(p as u8);
    let ctx = Ctx::of(m);
    let ip_any = fields::Prereq { dl_types: &[fields::ETH_TYPE_IP, fields::ETH_TYPE_IPV6], protos: &[] };
    for a in &acts {
        match a {
            OfAction::DecTtl => fields::check_prereq("dec_ttl", &ip_any, dl_type, nw_proto)?,
            OfAction::Ct(ct) => check_ct(ct, m, dl_type, nw_proto, &ip_any)?,
            _ => {}
        }
        let touched: Vec<(Field, &str)> = match a {
            OfAction::SetField { field, .. } => vec![(*field, "set_field")],
            OfAction::Load { dst, .. } => vec![(dst.field, "load")],
            OfAction::Move { src, dst } => vec![(src.field, "move"), (dst.field, "move")],
            _ => vec![],
        };
        for (f, what) in touched {
            if let Some(pr) = write_prereq(f).and_then(fields::prereq) {
                let name = format!("{what} {}", fields::canonical_name(f, ctx));
                fields::check_prereq(&name, &pr, dl_type, nw_proto)?;
            }
        }
    }
    Ok(acts)
}

/// OVS's `check_CT`/`check_NAT`: conntrack needs an IP match, `alg=ftp`
/// TCP, `alg=tftp` UDP, a NAT range the match's address family, and a
/// commit must not be reachable for invalid packets.
fn check_ct(
    ct: &OfCt,
    m: &OfMatch,
    dl_type: Option<u16>,
    nw_proto: Option<u8>,
    ip_any: &fields::Prereq,
) -> Result<(), Error> {
    fields::check_prereq("ct", ip_any, dl_type, nw_proto)?;
    let (st, sm) = m.get(Field::CtState);
    if ct.commit && st & sm & 0x10 != 0 {
        return Err(Error::invalid("ct", "cannot commit packets matched with ct_state=+inv (match -inv or drop them)"));
    }
    for (alg, proto, hint) in [("ftp", 6u8, "\"tcp\" or \"tcp6\""), ("tftp", 17, "\"udp\" or \"udp6\"")] {
        if ct.alg.as_deref() == Some(alg) && nw_proto != Some(proto) {
            return Err(Error::Prerequisite {
                field: format!("ct alg={alg}"),
                requirement: format!("nw_proto={proto}"),
                hint: hint.into(),
            });
        }
    }
    if let Some((min, _)) = ct.nat.as_ref().and_then(|n| n.addrs) {
        let (want, shorthand) =
            if min.is_ipv4() { (fields::ETH_TYPE_IP, "\"ip\"") } else { (fields::ETH_TYPE_IPV6, "\"ipv6\"") };
        if dl_type != Some(want) {
            return Err(Error::Prerequisite {
                field: format!("ct nat {min}"),
                requirement: format!("dl_type={want:#06x}"),
                hint: shorthand.into(),
            });
        }
    }
    Ok(())
}

/// A field value in the style OVS's `mf_format` prints it.
fn fmt_field_value(f: Field, v: u128, m: u128, names: Option<&PortMap>) -> String {
    use Field::*;
    if m == 0 {
        return "ANY".to_string();
    }
    let full = m == f.all_ones();
    let int_mask = |s: String| if full { s } else { format!("{s}/{}", hex_c(m)) };
    match f {
        EthSrc | EthDst | ArpSha | ArpTha => {
            if full {
                scalar::fmt_mac(v)
            } else {
                format!("{}/{}", scalar::fmt_mac(v), scalar::fmt_mac(m))
            }
        }
        IpSrc | IpDst | ArpSpa | ArpTpa => scalar::fmt_ipv4_masked(v as u32, if full { u32::MAX } else { m as u32 }),
        Ipv6Src | Ipv6Dst => scalar::fmt_ipv6_masked(v, m),
        InPort if full => scalar::fmt_port(v as u32, names),
        InPort | IpProto | IpTtl | NwTos | NwEcn | ArpOp | TpSrc | TpDst | IcmpType | IcmpCode | ConjId => {
            int_mask(v.to_string())
        }
        CtState => matches::fmt_flags(v, m, CT_STATE_FLAGS, 0xff),
        TcpFlags => matches::fmt_flags(v, m, TCP_FLAGS, 0xfff),
        _ => int_mask(hex_c(v)),
    }
}

/// `nat`, `nat(src=RANGE,persistent,...)`. OVS prints the flags only
/// after an address range; hwol prints them whenever they are set so that
/// no setting is lost in a dump (OVS reads both forms).
fn fmt_nat(n: &NatAction) -> String {
    let mut parts: Vec<String> = Vec::new();
    if let Some(kind) = n.kind {
        let mut s = String::from(if kind == NatKind::Src { "src" } else { "dst" });
        if let Some((min, max)) = n.addrs {
            s.push('=');
            let bracket = n.ports.is_some();
            let addr = |a: IpAddr| match a {
                IpAddr::V4(a) => a.to_string(),
                IpAddr::V6(a) if bracket => format!("[{}]", scalar::fmt_ipv6(u128::from(a))),
                IpAddr::V6(a) => scalar::fmt_ipv6(u128::from(a)),
            };
            s.push_str(&addr(min));
            if max != min {
                s.push('-');
                s.push_str(&addr(max));
            }
            if let Some((lo, hi)) = n.ports {
                s.push_str(&format!(":{lo}"));
                if hi != lo {
                    s.push_str(&format!("-{hi}"));
                }
            }
        }
        parts.push(s);
    }
    for (on, word) in [(n.persistent, "persistent"), (n.hash, "hash"), (n.random, "random")] {
        if on {
            parts.push(word.to_string());
        }
    }
    if parts.is_empty() {
        "nat".to_string()
    } else {
        format!("nat({})", parts.join(","))
    }
}

fn fmt_ct(ct: &OfCt, names: Option<&PortMap>, ctx: Ctx) -> String {
    let mut parts: Vec<String> = Vec::new();
    if ct.commit {
        parts.push("commit".into());
    }
    if ct.force {
        parts.push("force".into());
    }
    if let Some(t) = ct.table {
        parts.push(format!("table={t}"));
    }
    match ct.zone {
        CtZone::Field(sf) => parts.push(format!("zone={}", fields::fmt_subfield(&sf, ctx))),
        CtZone::Imm(0) => {}
        CtZone::Imm(z) => parts.push(format!("zone={z}")),
    }
    if let Some(n) = &ct.nat {
        parts.push(fmt_nat(n));
    }
    if !ct.exec.is_empty() {
        parts.push(format!("exec({})", format_actions_ctx(&ct.exec, names, ctx)));
    }
    if let Some(alg) = &ct.alg {
        parts.push(format!("alg={alg}"));
    }
    format!("ct({})", parts.join(","))
}

fn fmt_one(a: &OfAction, names: Option<&PortMap>, ctx: Ctx) -> String {
    use OfAction::*;
    let sub = |sf: &SubField| fields::fmt_subfield(sf, ctx);
    match a {
        Output(n) if *n < ofp_port::MAX => format!("output:{}", scalar::fmt_port(*n, names)),
        Output(n) => scalar::fmt_port(*n, names),
        OutputReg(sf) => format!("output:{}", sub(sf)),
        InPort => "IN_PORT".into(),
        Normal => "NORMAL".into(),
        Flood => "FLOOD".into(),
        All => "ALL".into(),
        Local => "LOCAL".into(),
        Controller => "CONTROLLER:65535".into(),
        Drop => "drop".into(),
        Resubmit { in_port: Some(p), table: None } => format!("resubmit:{}", scalar::fmt_port(*p, names)),
        Resubmit { in_port, table } => format!(
            "resubmit({},{})",
            in_port.map(|p| scalar::fmt_port(p, names)).unwrap_or_default(),
            table.map(|t| t.to_string()).unwrap_or_default()
        ),
        GotoTable(t) => format!("goto_table:{t}"),
        Ct(ct) => fmt_ct(ct, names, ctx),
        CtClear => "ct_clear".into(),
        SetField { field, value, mask } => format!(
            "set_field:{}->{}",
            fmt_field_value(*field, *value, *mask, names),
            fields::canonical_name(*field, ctx)
        ),
        Load { dst, value } => format!("load:{}->{}", hex_c(*value), sub(dst)),
        Move { src, dst } => format!("move:{}->{}", sub(src), sub(dst)),
        ModDlSrc(m) => format!("mod_dl_src:{}", scalar::fmt_mac(mac_u128(m))),
        ModDlDst(m) => format!("mod_dl_dst:{}", scalar::fmt_mac(mac_u128(m))),
        ModVlanVid(v) => format!("mod_vlan_vid:{v}"),
        ModVlanPcp(p) => format!("mod_vlan_pcp:{p}"),
        DecTtl => "dec_ttl".into(),
        PushVlan(t) => format!("push_vlan:{}", hex_c(*t as u128)),
        PopVlan => "strip_vlan".into(),
        Conjunction { id, clause, n_clauses } => format!("conjunction({id},{clause}/{n_clauses})"),
        Note(bytes) => {
            let hex: Vec<String> = bytes.iter().map(|b| format!("{b:02x}")).collect();
            format!("note:{}", hex.join("."))
        }
    }
}

fn mac_u128(m: &EthAddr) -> u128 {
    m.0.iter().fold(0u128, |acc, b| (acc << 8) | *b as u128)
}

pub(crate) fn format_actions_ctx(actions: &[OfAction], names: Option<&PortMap>, ctx: Ctx) -> String {
    if actions.is_empty() {
        return "drop".to_string();
    }
    actions.iter().map(|a| fmt_one(a, names, ctx)).collect::<Vec<_>>().join(",")
}

/// Prints an action list as OVS does after `actions=` (without the
/// `actions=` itself): `drop` for an empty list, `NORMAL`, `output:2`,
/// `CONTROLLER:65535`, `resubmit(,90)`, `load:0x1->NXM_NX_REG0[16]`,
/// `ct(commit,zone=65520,exec(set_field:0x1/0x1->ct_mark))`, ... With no
/// match at hand, L4 port fields print with their TCP names
/// (`set_field:80->tcp_dst`); [`format_flow`](super::format_flow) picks
/// `udp_dst`/`sctp_dst` from the flow's match.
pub fn format_actions(actions: &[OfAction], names: Option<&PortMap>) -> String {
    format_actions_ctx(actions, names, Ctx::default())
}
