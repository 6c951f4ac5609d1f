//! Datapath actions: the text after `actions:`.
//!
//! Printing follows OVS's `format_odp_action`; parsing accepts what that
//! prints for the actions hwol's [`Action`] IR has: `N`/`name` (output),
//! `userspace(pid=N[,userdata(hex)])`, `ct(...)` with `commit`,
//! `force_commit`, `zone=`, `mark=`, `label=`, `helper=` and `nat(...)`,
//! `ct_clear`, `recirc(0x…)`, `set(...)`, `push_vlan(...)`, `pop_vlan` and
//! `drop`. An empty action list prints as `drop`, as in OVS.
//!
//! Where the IR and OVS's netlink encoding differ, printing follows OVS and
//! this is what round-trips (parse → print → parse):
//!
//! - `set(...)` is `OVS_ACTION_ATTR_SET_MASKED` unless every field is given
//!   with an exact mask (OVS's rule). `set(ipv4(...))`/`set(ipv6(...))` are
//!   therefore always masked: an unmasked IPv4/IPv6 set would also carry
//!   `proto` and `frag`, which [`SetAction`] has no room for, so those fields
//!   are rejected. Masked sets print non-verbosely: a field with a zero
//!   mask is left out (and parses back as value 0, mask 0).
//! - `push_vlan` always carries the CFI ("tag present") bit in netlink; the
//!   IR's `tci` does not, and `cfi=0` is rejected.
//! - `userspace` userdata is always printed as `userdata(hex)`. OVS decodes
//!   userdata whose length equals its `struct user_action_cookie` into
//!   `slow_path(...)`, `sFlow(...)` etc.; hwol does not know that struct,
//!   so those forms are rejected rather than guessed at.
//! - `ct(timeout=...)` is rejected: [`CtAction`] has no timeout policy.

use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use hwol_flow::action::{NatKind, UserspaceAction};
use hwol_flow::{Action, CtAction, EthAddr, Masked, NatAction, SetAction};

use crate::key::{
    exact, f_eth, format_ipv4_fields, format_ipv6_fields, format_ports_fields, format_vlan_tci, m_eth, m_ip4, m_ip6,
    m_label, m_u16, m_u32, m_u8, parse_fields, parse_port, Ipv4Key, Ipv6Key, PortsKey, VLAN_CFI,
};
use crate::text::{hex, ip6, is_name_char, Cursor, ParseError};
use crate::PortNames;

// ---------------------------------------------------------------------------
// Printing.

/// Print an action list as OVS does after `actions:`.
pub fn format_actions(actions: &[Action], names: Option<&PortNames>) -> String {
    if actions.is_empty() {
        return "drop".to_string();
    }
    let mut s = String::new();
    for (i, a) in actions.iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        format_action(&mut s, a, names);
    }
    s
}

fn format_action(s: &mut String, a: &Action, names: Option<&PortNames>) {
    match a {
        Action::Output(p) => s.push_str(&PortNames::format(names, *p)),
        Action::Userspace(u) => {
            let _ = write!(s, "userspace(pid={}", u.pid);
            if !u.userdata.is_empty() {
                s.push_str(",userdata(");
                for b in &u.userdata {
                    let _ = write!(s, "{b:02x}");
                }
                s.push(')');
            }
            s.push(')');
        }
        Action::Ct(ct) => format_ct(s, ct),
        Action::CtClear => s.push_str("ct_clear"),
        Action::Recirc(id) => {
            let _ = write!(s, "recirc({})", hex((*id).into()));
        }
        Action::Set { set, masked } => {
            s.push_str("set(");
            format_set(s, set, *masked);
            s.push(')');
        }
        Action::PushVlan { tpid, tci } => {
            s.push_str("push_vlan(");
            if *tpid != 0x8100 {
                let _ = write!(s, "tpid=0x{tpid:04x},");
            }
            format_vlan_tci(s, *tci | VLAN_CFI, 0xffff, false);
            s.push(')');
        }
        Action::PopVlan => s.push_str("pop_vlan"),
        Action::Drop => s.push_str("drop"),
    }
}

fn format_ct(s: &mut String, ct: &CtAction) {
    s.push_str("ct");
    let mut inner = String::new();
    if ct.commit {
        inner.push_str("commit,");
    }
    if ct.force {
        inner.push_str("force_commit,");
    }
    if ct.zone != 0 {
        let _ = write!(inner, "zone={},", ct.zone);
    }
    if let Some(m) = ct.mark {
        let _ = write!(inner, "mark={}/{},", hex(m.value.into()), hex(m.mask.into()));
    }
    if let Some(l) = ct.label {
        let _ = write!(inner, "label={}", hex(l.value));
        if l.mask != u128::MAX {
            let _ = write!(inner, "/{}", hex(l.mask));
        }
        inner.push(',');
    }
    if let Some(h) = &ct.helper {
        let _ = write!(inner, "helper={h},");
    }
    if let Some(nat) = &ct.nat {
        format_nat(&mut inner, nat);
    }
    if inner.ends_with(',') {
        inner.pop();
    }
    if !inner.is_empty() {
        let _ = write!(s, "({inner})");
    }
}

fn bracket6(s: &mut String, a: &Ipv6Addr, bracket: bool) {
    if bracket {
        let _ = write!(s, "[{}]", ip6(a.octets()));
    } else {
        s.push_str(&ip6(a.octets()));
    }
}

fn format_nat(s: &mut String, nat: &NatAction) {
    s.push_str("nat");
    let Some(kind) = nat.kind else { return };
    s.push('(');
    s.push_str(match kind {
        NatKind::Src => "src",
        NatKind::Dst => "dst",
    });
    if let Some((min, max)) = nat.addrs {
        s.push('=');
        let port_min = nat.ports.map_or(0, |p| p.0);
        match (min, max) {
            (IpAddr::V4(a), IpAddr::V4(b)) => {
                s.push_str(&a.to_string());
                if b != a && !b.is_unspecified() {
                    let _ = write!(s, "-{b}");
                }
            }
            (IpAddr::V6(a), IpAddr::V6(b)) => {
                bracket6(s, &a, port_min != 0);
                if b != a && !b.is_unspecified() {
                    s.push('-');
                    bracket6(s, &b, port_min != 0);
                }
            }
            (IpAddr::V4(a), _) => s.push_str(&a.to_string()),
            (IpAddr::V6(a), _) => bracket6(s, &a, port_min != 0),
        }
        if let Some((lo, hi)) = nat.ports.filter(|p| p.0 != 0) {
            let _ = write!(s, ":{lo}");
            if hi != 0 && hi != lo {
                let _ = write!(s, "-{hi}");
            }
        }
    }
    s.push(',');
    if nat.persistent {
        s.push_str("persistent,");
    }
    if nat.hash {
        s.push_str("hash,");
    }
    if nat.random {
        s.push_str("random,");
    }
    s.pop();
    s.push(')');
}

fn eff<T: crate::key::Bits>(m: Masked<T>, masked: bool) -> Masked<T> {
    if masked {
        m
    } else {
        exact(m.value)
    }
}

fn format_set(s: &mut String, set: &SetAction, masked: bool) {
    match set {
        SetAction::Eth { src, dst } => {
            s.push_str("eth(");
            f_eth(s, "src", eff(Masked::new(src.value.0, src.mask.0), masked), false);
            f_eth(s, "dst", eff(Masked::new(dst.value.0, dst.mask.0), masked), false);
            if s.ends_with(',') {
                s.pop();
            }
            s.push(')');
        }
        SetAction::Ipv4 { src, dst, tos, ttl } => {
            let k = Ipv4Key {
                src: eff(*src, masked),
                dst: eff(*dst, masked),
                tos: eff(*tos, masked),
                ttl: eff(*ttl, masked),
                ..Default::default()
            };
            s.push_str("ipv4(");
            format_ipv4_fields(s, &k, false);
            s.push(')');
        }
        SetAction::Ipv6 { src, dst, label, tclass, hlimit } => {
            let label = if masked { *label } else { Masked::new(label.value, 0xfffff) };
            let k = Ipv6Key {
                src: eff(*src, masked),
                dst: eff(*dst, masked),
                label,
                tclass: eff(*tclass, masked),
                hlimit: eff(*hlimit, masked),
                ..Default::default()
            };
            s.push_str("ipv6(");
            format_ipv6_fields(s, &k, false);
            s.push(')');
        }
        SetAction::Tcp { src, dst } | SetAction::Udp { src, dst } => {
            s.push_str(if matches!(set, SetAction::Tcp { .. }) { "tcp(" } else { "udp(" });
            format_ports_fields(s, &PortsKey { src: eff(*src, masked), dst: eff(*dst, masked) }, false);
            s.push(')');
        }
        SetAction::SkbMark(m) | SetAction::SkbPriority(m) => {
            let m = eff(*m, masked);
            s.push_str(if matches!(set, SetAction::SkbMark(_)) { "skb_mark(" } else { "skb_priority(" });
            s.push_str(&hex(m.value.into()));
            if m.mask != u32::MAX {
                let _ = write!(s, "/{}", hex(m.mask.into()));
            }
            s.push(')');
        }
    }
}

// ---------------------------------------------------------------------------
// Parsing.

/// Parse a comma-separated action list (the text after `actions:`).
pub fn parse_actions(text: &str, ports: &mut PortNames) -> Result<Vec<Action>, ParseError> {
    let mut cur = Cursor::new(text);
    let v = parse_action_list(&mut cur, ports)?;
    if !cur.at_end() {
        return Err(cur.expected("',' between actions or end of line"));
    }
    Ok(v)
}

/// Actions up to end of text or `, ` (the separator before `dp-extra-info`).
pub(crate) fn parse_action_list(cur: &mut Cursor<'_>, ports: &mut PortNames) -> Result<Vec<Action>, ParseError> {
    // Zero masks inside set actions say nothing about the line's style.
    let saved_hint = cur.verbose_hint;
    let mut v = Vec::new();
    loop {
        v.push(parse_action(cur, ports)?);
        if cur.at_end() || cur.starts_with(", ") {
            break;
        }
        if !cur.eat(",") {
            return Err(cur.expected("',' between actions or end of line"));
        }
    }
    cur.verbose_hint = saved_hint;
    Ok(v)
}

fn parse_action(cur: &mut Cursor<'_>, ports: &mut PortNames) -> Result<Action, ParseError> {
    let start = cur.pos();
    let word = cur.take_while(is_name_char);
    if word.is_empty() {
        return Err(cur.expected("an action (a port, ct, recirc, set, push_vlan, pop_vlan, userspace, drop, ...)"));
    }
    if cur.eat("(") {
        let close = |cur: &mut Cursor<'_>| cur.expect(")", &format!("to close '{word}('"));
        return match word {
            "ct" => parse_ct(cur),
            "recirc" => {
                let id = cur.u32v("a recirculation id")?;
                close(cur)?;
                Ok(Action::Recirc(id))
            }
            "userspace" => parse_userspace(cur),
            "set" => {
                let a = parse_set(cur)?;
                close(cur)?;
                Ok(a)
            }
            "push_vlan" => parse_push_vlan(cur),
            "meter" | "trunc" | "tnl_pop" | "tnl_push" | "hash" | "sample" | "clone" | "push_mpls" | "pop_mpls"
            | "add_mpls" | "push_eth" | "push_nsh" | "pop_nsh" | "check_pkt_len" | "dec_ttl" | "lb_output"
            | "psample" => Err(cur.invalid_at(
                start,
                format!("action '{word}(...)' is not supported by hwol; the datapath has no equivalent"),
            )),
            _ => {
                cur.reset(start);
                Err(cur.expected("an action (ct, recirc, set, push_vlan, userspace, ...)"))
            }
        };
    }
    Ok(match word {
        "drop" => Action::Drop,
        "pop_vlan" => Action::PopVlan,
        "ct_clear" => Action::CtClear,
        "ct" => Action::Ct(CtAction::default()),
        "pop_eth" | "pop_nsh" => {
            return Err(cur.invalid_at(start, format!("action '{word}' is not supported by hwol")));
        }
        _ => {
            cur.reset(start);
            Action::Output(parse_port(cur, ports)?)
        }
    })
}

fn parse_userspace(cur: &mut Cursor<'_>) -> Result<Action, ParseError> {
    cur.expect("pid=", "at the start of userspace(...)")?;
    let pid = cur.u32v("a netlink pid")?;
    let mut u = UserspaceAction { pid, userdata: Vec::new() };
    while cur.eat(",") {
        let start = cur.pos();
        if cur.eat("userdata(") {
            let hexs = cur.take_while(|c| c.is_ascii_hexdigit());
            if !hexs.len().is_multiple_of(2) {
                return Err(cur.invalid_at(start, "userdata needs an even number of hex digits"));
            }
            u.userdata =
                (0..hexs.len() / 2).map(|i| u8::from_str_radix(&hexs[2 * i..2 * i + 2], 16).unwrap_or(0)).collect();
            cur.expect(")", "after userdata hex bytes")?;
        } else {
            let word = cur.take_while(|c| c.is_ascii_alphanumeric() || c == '_');
            return Err(cur.invalid_at(
                start,
                format!(
                    "userspace option '{word}' is not supported by hwol; only pid= and userdata(hex) are (OVS cookie forms like slow_path(...) are not decoded)"
                ),
            ));
        }
    }
    cur.expect(")", "to close 'userspace('")?;
    Ok(Action::Userspace(u))
}

fn parse_ct(cur: &mut Cursor<'_>) -> Result<Action, ParseError> {
    let mut ct = CtAction::default();
    if cur.eat(")") {
        return Ok(Action::Ct(ct));
    }
    let mut seen: Vec<&str> = Vec::new();
    loop {
        let start = cur.pos();
        let word = cur.take_while(|c| c.is_ascii_alphanumeric() || c == '_');
        if seen.contains(&word) {
            return Err(cur.invalid_at(start, format!("ct option '{word}' is given twice; give it once")));
        }
        match word {
            "commit" => ct.commit = true,
            "force_commit" => ct.force = true,
            "zone" => {
                cur.expect("=", "after 'zone'")?;
                ct.zone = cur.u16v("a zone number")?;
            }
            "mark" => {
                cur.expect("=", "after 'mark'")?;
                let v = cur.u32v("a mark")?;
                let m = if cur.eat("/") { cur.u32v("a mark mask")? } else { u32::MAX };
                ct.mark = Some(Masked::new(v, m));
            }
            "label" => {
                cur.expect("=", "after 'label'")?;
                let v = cur.uint("a label", u128::MAX)?;
                let m = if cur.eat("/") { cur.uint("a label mask", u128::MAX)? } else { u128::MAX };
                ct.label = Some(Masked::new(v, m));
            }
            "helper" => {
                cur.expect("=", "after 'helper'")?;
                let at = cur.pos();
                let h = cur.take_while(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
                if h.is_empty() || h.len() > 15 {
                    return Err(cur.invalid_at(at, "helper name must be 1 to 15 letters, digits, '_' or '-'"));
                }
                ct.helper = Some(h.to_string());
            }
            "nat" => ct.nat = Some(parse_nat(cur)?),
            "timeout" => {
                return Err(cur.invalid_at(start, "ct timeout policies are not supported by hwol; remove 'timeout='"));
            }
            _ => {
                cur.reset(start);
                return Err(cur.expected("a ct option (commit, force_commit, zone=, mark=, label=, helper=, nat)"));
            }
        }
        seen.push(word);
        if cur.eat(")") {
            return Ok(Action::Ct(ct));
        }
        if !cur.eat(",") {
            return Err(cur.expected("',' or ')' after a ct option"));
        }
    }
}

fn parse_nat_addr(cur: &mut Cursor<'_>, bracketed: bool) -> Result<IpAddr, ParseError> {
    if bracketed {
        cur.expect("[", "before an IPv6 address")?;
        let a = cur.ipv6("an IPv6 address")?;
        cur.expect("]", "after an IPv6 address")?;
        return Ok(IpAddr::V6(Ipv6Addr::from(a)));
    }
    let start = cur.pos();
    if let Ok(a) = cur.ipv4("an IPv4 address") {
        if !cur.starts_with(":") || cur.rest()[1..].starts_with(|c: char| c.is_ascii_digit()) {
            return Ok(IpAddr::V4(Ipv4Addr::from(a)));
        }
    }
    cur.reset(start);
    let a = cur.ipv6("an IPv4 or IPv6 address")?;
    Ok(IpAddr::V6(Ipv6Addr::from(a)))
}

fn parse_nat(cur: &mut Cursor<'_>) -> Result<NatAction, ParseError> {
    let mut nat = NatAction::default();
    if !cur.eat("(") {
        return Ok(nat);
    }
    nat.kind = Some(if cur.eat("src") {
        NatKind::Src
    } else if cur.eat("dst") {
        NatKind::Dst
    } else {
        return Err(cur.expected("'src' or 'dst' in nat(...)"));
    });
    if cur.eat("=") {
        let at = cur.pos();
        let bracketed = cur.starts_with("[");
        let min = parse_nat_addr(cur, bracketed)?;
        let max = if cur.eat("-") { parse_nat_addr(cur, bracketed)? } else { min };
        let ordered = match (min, max) {
            (IpAddr::V4(a), IpAddr::V4(b)) => a <= b,
            (IpAddr::V6(a), IpAddr::V6(b)) => a.octets() <= b.octets(),
            _ => return Err(cur.invalid_at(at, "NAT address range mixes IPv4 and IPv6; use one family")),
        };
        if !ordered {
            return Err(cur.invalid_at(at, "NAT address range is backwards; write the lower address first"));
        }
        nat.addrs = Some((min, max));
        if matches!(min, IpAddr::V6(_)) && !bracketed && cur.starts_with(":") {
            return Err(cur.expected("IPv6 NAT addresses in [brackets] when a port range follows"));
        }
        if cur.eat(":") {
            let pat = cur.pos();
            let lo = cur.u16v("a port")?;
            let hi = if cur.eat("-") { cur.u16v("a port")? } else { lo };
            if lo == 0 || hi < lo {
                return Err(cur.invalid_at(pat, "NAT port range must be 1-65535 with the lower port first"));
            }
            nat.ports = Some((lo, hi));
        } else if bracketed {
            return Err(cur.expected("':' and a port after a bracketed IPv6 NAT address"));
        }
    }
    while cur.eat(",") {
        let start = cur.pos();
        let flag = if cur.eat("persistent") {
            &mut nat.persistent
        } else if cur.eat("hash") {
            &mut nat.hash
        } else if cur.eat("random") {
            &mut nat.random
        } else {
            return Err(cur.expected("a nat flag (persistent, hash, random)"));
        };
        if *flag {
            return Err(cur.invalid_at(start, "nat flag given twice; give it once"));
        }
        *flag = true;
    }
    cur.expect(")", "to close 'nat('")?;
    Ok(nat)
}

fn zero_if_wild<T: crate::key::Bits>(m: Masked<T>) -> Masked<T> {
    if m.mask == T::ZERO {
        Masked::new(T::ZERO, T::ZERO)
    } else {
        m
    }
}

fn parse_set(cur: &mut Cursor<'_>) -> Result<Action, ParseError> {
    let start = cur.pos();
    let word = cur.take_while(|c| c.is_ascii_alphanumeric() || c == '_');
    if !cur.eat("(") {
        cur.reset(start);
        return Err(cur.expected("a header to set, e.g. 'ipv4(' (eth, ipv4, ipv6, tcp, udp, skb_mark, skb_priority)"));
    }
    let full = |a: bool| !a;
    let action = match word {
        "eth" => {
            let (mut src, mut dst) = (Masked::default(), Masked::default());
            parse_fields(cur, "eth", &["src", "dst"], |cur, i| {
                if i == 0 {
                    src = m_eth(cur, "a source MAC")?;
                } else {
                    dst = m_eth(cur, "a destination MAC")?;
                }
                Ok(())
            })?;
            let (src, dst) = (zero_if_wild(src), zero_if_wild(dst));
            let masked = full(src.mask == [0xff; 6] && dst.mask == [0xff; 6]);
            Action::Set {
                set: SetAction::Eth {
                    src: Masked::new(EthAddr(src.value), EthAddr(src.mask)),
                    dst: Masked::new(EthAddr(dst.value), EthAddr(dst.mask)),
                },
                masked,
            }
        }
        "ipv4" => {
            let mut k = Ipv4Key::default();
            parse_fields(cur, "set(ipv4", &["src", "dst", "tos", "ttl", "proto", "frag"], |cur, i| {
                match i {
                    0 => k.src = m_ip4(cur, "a source address")?,
                    1 => k.dst = m_ip4(cur, "a destination address")?,
                    2 => k.tos = m_u8(cur, "a TOS byte")?,
                    3 => k.ttl = m_u8(cur, "a TTL")?,
                    _ => {
                        return Err(cur.invalid_at(
                            cur.pos(),
                            "set(ipv4(...)) cannot rewrite proto or frag in hwol; remove them (a masked set leaves them unchanged)",
                        ))
                    }
                }
                Ok(())
            })?;
            Action::Set {
                set: SetAction::Ipv4 {
                    src: zero_if_wild(k.src),
                    dst: zero_if_wild(k.dst),
                    tos: zero_if_wild(k.tos),
                    ttl: zero_if_wild(k.ttl),
                },
                masked: true,
            }
        }
        "ipv6" => {
            let mut k = Ipv6Key::default();
            let fields = ["src", "dst", "label", "tclass", "hlimit", "proto", "frag"];
            parse_fields(cur, "set(ipv6", &fields, |cur, i| {
                match i {
                    0 => k.src = m_ip6(cur, "a source address")?,
                    1 => k.dst = m_ip6(cur, "a destination address")?,
                    2 => k.label = m_label(cur)?,
                    3 => k.tclass = m_u8(cur, "a traffic class")?,
                    4 => k.hlimit = m_u8(cur, "a hop limit")?,
                    _ => {
                        return Err(cur.invalid_at(
                            cur.pos(),
                            "set(ipv6(...)) cannot rewrite proto or frag in hwol; remove them (a masked set leaves them unchanged)",
                        ))
                    }
                }
                Ok(())
            })?;
            Action::Set {
                set: SetAction::Ipv6 {
                    src: zero_if_wild(k.src),
                    dst: zero_if_wild(k.dst),
                    label: zero_if_wild(k.label),
                    tclass: zero_if_wild(k.tclass),
                    hlimit: zero_if_wild(k.hlimit),
                },
                masked: true,
            }
        }
        "tcp" | "udp" => {
            let mut p = PortsKey::default();
            parse_fields(cur, word, &["src", "dst"], |cur, i| {
                if i == 0 {
                    p.src = m_u16(cur, "a port")?;
                } else {
                    p.dst = m_u16(cur, "a port")?;
                }
                Ok(())
            })?;
            let (src, dst) = (zero_if_wild(p.src), zero_if_wild(p.dst));
            let masked = full(src.mask == u16::MAX && dst.mask == u16::MAX);
            let set = if word == "tcp" { SetAction::Tcp { src, dst } } else { SetAction::Udp { src, dst } };
            Action::Set { set, masked }
        }
        "skb_mark" | "skb_priority" => {
            let m = m_u32(cur, "a value")?;
            cur.expect(")", &format!("to close '{word}('"))?;
            let masked = m.mask != u32::MAX;
            let set = if word == "skb_mark" { SetAction::SkbMark(m) } else { SetAction::SkbPriority(m) };
            Action::Set { set, masked }
        }
        _ => {
            cur.reset(start);
            return Err(cur.invalid_at(
                start,
                format!("set({word}(...)) is not supported by hwol; settable headers are eth, ipv4, ipv6, tcp, udp, skb_mark, skb_priority"),
            ));
        }
    };
    Ok(action)
}

fn parse_push_vlan(cur: &mut Cursor<'_>) -> Result<Action, ParseError> {
    let start = cur.pos();
    let (mut tpid, mut vid, mut pcp) = (0x8100u16, None, None);
    parse_fields(cur, "push_vlan", &["tpid", "vid", "pcp", "cfi"], |cur, i| {
        let at = cur.pos();
        match i {
            0 => tpid = cur.u16v("a TPID such as 0x88a8")?,
            1 => vid = Some(cur.uint("a VLAN id (0-4095)", 0xfff)? as u16),
            2 => pcp = Some(cur.uint("a VLAN priority (0-7)", 7)? as u16),
            _ => {
                if cur.uint("cfi 0 or 1", 1)? == 0 {
                    return Err(cur.invalid_at(
                        at,
                        "push_vlan with cfi=0 is not supported: the datapath needs the CFI (tag present) bit; drop 'cfi=0'",
                    ));
                }
            }
        }
        Ok(())
    })?;
    match (vid, pcp) {
        (Some(v), Some(p)) => Ok(Action::PushVlan { tpid, tci: (p << 13) | v }),
        _ => Err(cur.invalid_at(start, "push_vlan needs both vid= and pcp=")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rt(text: &str) -> Vec<Action> {
        let mut p = PortNames::new();
        let a = parse_actions(text, &mut p).unwrap_or_else(|e| panic!("{text}: {e}"));
        assert_eq!(format_actions(&a, Some(&p)), text);
        a
    }

    #[test]
    fn output_by_number_and_name() {
        assert_eq!(rt("1,2"), vec![Action::Output(1), Action::Output(2)]);
        let a = rt("rep1,3");
        assert_eq!(a[0], Action::Output(PortNames::LEARNED_BASE));
        assert_eq!(a[1], Action::Output(3));
    }

    #[test]
    fn drop_and_empty_list() {
        assert_eq!(rt("drop"), vec![Action::Drop]);
        assert_eq!(format_actions(&[], None), "drop");
    }

    #[test]
    fn recirc_prints_c_hex() {
        assert_eq!(rt("recirc(0x18)"), vec![Action::Recirc(0x18)]);
        assert_eq!(rt("recirc(0)"), vec![Action::Recirc(0)]);
        let mut p = PortNames::new();
        assert_eq!(format_actions(&parse_actions("recirc(24)", &mut p).unwrap(), None), "recirc(0x18)");
    }

    #[test]
    fn ct_variants() {
        assert_eq!(rt("ct"), vec![Action::Ct(CtAction::default())]);
        assert_eq!(rt("ct(zone=65520)"), vec![Action::Ct(CtAction { zone: 65520, ..Default::default() })]);
        rt("ct(commit,zone=65520)");
        let a = rt("ct(commit,force_commit,zone=5,mark=0x1/0xffffffff,label=0x1234/0xffff,helper=ftp)");
        let Action::Ct(ct) = &a[0] else { panic!() };
        assert!(ct.commit && ct.force);
        assert_eq!(ct.mark, Some(Masked::new(1, u32::MAX)));
        assert_eq!(ct.label, Some(Masked::new(0x1234, 0xffff)));
        assert_eq!(ct.helper.as_deref(), Some("ftp"));
        rt("ct(commit,label=0x1)");
        rt("ct(commit,mark=0/0xff)");
        rt("ct(force_commit)");
    }

    #[test]
    fn ct_nat_variants() {
        rt("ct(nat)");
        rt("ct(commit,nat(src=10.0.0.1))");
        rt("ct(commit,nat(dst=10.0.0.1-10.0.0.9:80-90,persistent,hash,random))");
        rt("ct(commit,nat(src=10.0.0.1:1024))");
        rt("ct(commit,nat(src=fe80::1-fe80::9))");
        rt("ct(commit,nat(dst=[fe80::1]-[fe80::2]:443))");
        rt("ct(nat(src,random))");
        let a = rt("ct(commit,zone=1,nat(src=1.1.1.1))");
        let Action::Ct(ct) = &a[0] else { panic!() };
        let nat = ct.nat.as_ref().unwrap();
        assert_eq!(nat.kind, Some(NatKind::Src));
        let ip: IpAddr = "1.1.1.1".parse().unwrap();
        assert_eq!(nat.addrs, Some((ip, ip)));
    }

    #[test]
    fn ct_clear_pop_vlan() {
        assert_eq!(rt("ct_clear,pop_vlan,1"), vec![Action::CtClear, Action::PopVlan, Action::Output(1)]);
    }

    #[test]
    fn push_vlan_default_and_8021ad() {
        assert_eq!(rt("push_vlan(vid=10,pcp=3)"), vec![Action::PushVlan { tpid: 0x8100, tci: (3 << 13) | 10 }]);
        assert_eq!(rt("push_vlan(tpid=0x88a8,vid=100,pcp=0)"), vec![Action::PushVlan { tpid: 0x88a8, tci: 100 }]);
        assert_eq!(
            format_actions(&[Action::PushVlan { tpid: 0x88a8, tci: 100 }], None),
            "push_vlan(tpid=0x88a8,vid=100,pcp=0)"
        );
    }

    #[test]
    fn userspace() {
        assert_eq!(rt("userspace(pid=3)"), vec![Action::Userspace(UserspaceAction { pid: 3, userdata: vec![] })]);
        assert_eq!(
            rt("userspace(pid=4294967295,userdata(0102ff))"),
            vec![Action::Userspace(UserspaceAction { pid: u32::MAX, userdata: vec![1, 2, 0xff] })]
        );
    }

    #[test]
    fn set_masked_and_unmasked() {
        let a = rt("set(eth(src=00:00:00:00:00:01,dst=00:00:00:00:00:02))");
        assert!(matches!(a[0], Action::Set { masked: false, .. }));
        let a = rt("set(eth(dst=00:00:00:00:00:02))");
        assert!(matches!(a[0], Action::Set { masked: true, .. }));
        let a = rt("set(ipv4(src=10.0.0.2,ttl=63))");
        let Action::Set { set: SetAction::Ipv4 { src, ttl, dst, .. }, masked: true } = a[0] else { panic!() };
        assert_eq!(src, Masked::new([10, 0, 0, 2], [255; 4]));
        assert_eq!(ttl, Masked::new(63, 0xff));
        assert_eq!(dst, Masked::new([0; 4], [0; 4]));
        rt("set(ipv4(src=10.0.0.0/255.0.0.0,tos=0x4/0xfc))");
        rt("set(ipv6(src=fe80::1,label=0x12345,hlimit=63))");
        let a = rt("set(tcp(src=80,dst=8080))");
        assert!(matches!(a[0], Action::Set { set: SetAction::Tcp { .. }, masked: false }));
        let a = rt("set(udp(dst=53/0xff00))");
        assert!(matches!(a[0], Action::Set { set: SetAction::Udp { .. }, masked: true }));
        let a = rt("set(skb_mark(0x5))");
        assert!(matches!(a[0], Action::Set { masked: false, .. }));
        let a = rt("set(skb_priority(0x5/0xf))");
        assert!(matches!(a[0], Action::Set { masked: true, .. }));
    }

    #[test]
    fn unmasked_ipv4_set_prints_every_field() {
        let a = Action::Set {
            set: SetAction::Ipv4 {
                src: Masked::new([1, 1, 1, 1], [0; 4]),
                dst: Masked::new([2, 2, 2, 2], [0; 4]),
                tos: Masked::new(0, 0),
                ttl: Masked::new(64, 0),
            },
            masked: false,
        };
        assert_eq!(format_actions(&[a], None), "set(ipv4(src=1.1.1.1,dst=2.2.2.2,tos=0,ttl=64))");
    }

    #[test]
    fn errors_name_the_column() {
        let mut p = PortNames::new();
        let e = parse_actions("1,ct(zone=1,bogus)", &mut p).unwrap_err();
        assert_eq!(e.column(), 13);
        assert_eq!(
            e.to_string(),
            "column 13: expected a ct option (commit, force_commit, zone=, mark=, label=, helper=, nat), found 'bogus'"
        );
        let e = parse_actions("push_vlan(vid=10,pcp=0,cfi=0)", &mut p).unwrap_err();
        assert_eq!(e.column(), 28);
        let e = parse_actions("set(ipv4(proto=6))", &mut p).unwrap_err();
        assert_eq!(e.column(), 16);
        let e = parse_actions("recirc(0x1", &mut p).unwrap_err();
        assert_eq!(e.to_string(), "column 11: expected ')' to close 'recirc(', found end of line");
    }
}
