//! Scalars in the ovs-ofctl syntax: integers, Ethernet and IP addresses,
//! OpenFlow ports and the hexadecimal styles OVS prints them in.

use std::net::{Ipv4Addr, Ipv6Addr};

use super::{Error, PortMap};
use crate::ofp_port;

/// Parses an unsigned integer the way OVS parses field values: `0x` prefix
/// for hexadecimal, decimal otherwise. No sign, no octal, no spaces.
pub(crate) fn parse_uint(s: &str) -> Option<u128> {
    let (digits, radix) = match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(h) => (h, 16),
        None => (s, 10),
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    u128::from_str_radix(digits, radix).ok()
}

/// Parses an integer that must fit in `bits` bits.
pub(crate) fn parse_uint_bits(s: &str, bits: u32, what: &str) -> Result<u128, Error> {
    match parse_uint(s) {
        Some(v) if bits >= 128 || v >> bits == 0 => Ok(v),
        Some(_) => Err(Error::bad_value(what, s, &format!("a number that fits in {bits} bits"))),
        None => Err(Error::bad_value(what, s, &format!("a {bits}-bit number (decimal or 0x-prefixed hex)"))),
    }
}

/// C's `%#x`: `0` for zero, `0x...` otherwise. OVS's `ds_put_hex` prints
/// the same minimal form.
pub(crate) fn hex_c(v: u128) -> String {
    if v == 0 {
        "0".to_string()
    } else {
        format!("{v:#x}")
    }
}

/// Parses `xx:xx:xx:xx:xx:xx` (one or two hex digits per byte).
pub(crate) fn parse_mac(s: &str) -> Option<u128> {
    let mut v = 0u128;
    let mut n = 0;
    for part in s.split(':') {
        if part.is_empty() || part.len() > 2 || !part.chars().all(|c| c.is_ascii_hexdigit()) {
            return None;
        }
        v = (v << 8) | u128::from_str_radix(part, 16).ok()?;
        n += 1;
    }
    (n == 6).then_some(v)
}

/// Formats a 48-bit number as `xx:xx:xx:xx:xx:xx`.
pub(crate) fn fmt_mac(v: u128) -> String {
    let b = (v as u64).to_be_bytes();
    format!("{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}", b[2], b[3], b[4], b[5], b[6], b[7])
}

/// Formats `mac[/mask]`, omitting an exact mask.
pub(crate) fn fmt_mac_masked(v: u128, m: u128) -> String {
    if m == 0xffff_ffff_ffff {
        fmt_mac(v)
    } else {
        format!("{}/{}", fmt_mac(v), fmt_mac(m))
    }
}

pub(crate) fn parse_ipv4(s: &str) -> Option<u32> {
    s.parse::<Ipv4Addr>().ok().map(u32::from)
}

pub(crate) fn parse_ipv6(s: &str) -> Option<u128> {
    s.parse::<Ipv6Addr>().ok().map(u128::from)
}

/// Dotted quad.
pub(crate) fn fmt_ipv4(v: u32) -> String {
    Ipv4Addr::from(v).to_string()
}

/// `addr`, `addr/N` for a prefix mask, `addr/mask` otherwise (OVS's
/// `ip_format_masked` and `ipv6_format_masked`), for a `bits`-bit family.
fn fmt_addr_masked(v: u128, m: u128, bits: u32, fmt: impl Fn(u128) -> String) -> String {
    let all = if bits == 128 { u128::MAX } else { (1u128 << bits) - 1 };
    let m = m & all;
    let ones = (m << (128 - bits)).leading_ones();
    if m == all {
        fmt(v)
    } else if ones + m.trailing_zeros().min(bits) == bits {
        format!("{}/{ones}", fmt(v))
    } else {
        format!("{}/{}", fmt(v), fmt(m))
    }
}

/// IPv4 `addr[/N|/mask]`.
pub(crate) fn fmt_ipv4_masked(v: u32, m: u32) -> String {
    fmt_addr_masked(v as u128, m as u128, 32, |a| fmt_ipv4(a as u32))
}

/// IPv6 text exactly as glibc's `inet_ntop` writes it (which is what OVS
/// prints): RFC 5952 zero compression of the longest run of two or more
/// zero groups, and dotted-quad tails for IPv4-compatible (`::a.b.c.d`) and
/// IPv4-mapped (`::ffff:a.b.c.d`) addresses.
pub(crate) fn fmt_ipv6(v: u128) -> String {
    hwol_wire::ipv6::format_addr(v.to_be_bytes())
}

/// IPv6 `addr[/N|/mask]`.
pub(crate) fn fmt_ipv6_masked(v: u128, m: u128) -> String {
    fmt_addr_masked(v, m, 128, fmt_ipv6)
}

/// Parses `addr`, `addr/N` or `addr/mask` for an address family of `bits`
/// bits using `parse` for the address itself.
pub(crate) fn parse_addr_masked(s: &str, bits: u32, parse: impl Fn(&str) -> Option<u128>) -> Option<(u128, u128)> {
    let all = if bits == 128 { u128::MAX } else { (1u128 << bits) - 1 };
    match s.split_once('/') {
        None => Some((parse(s)?, all)),
        Some((a, m)) => {
            let a = parse(a)?;
            let m = if !m.is_empty() && m.len() <= 3 && m.chars().all(|c| c.is_ascii_digit()) {
                let n: u32 = m.parse().ok()?;
                if n > bits {
                    return None;
                }
                match n {
                    0 => 0,
                    n if n >= bits => all,
                    n => all & !(all >> n),
                }
            } else {
                parse(m)?
            };
            Some((a & m, m))
        }
    }
}

/// The reserved OpenFlow port names OVS accepts (case-insensitively) and
/// prints (in capitals).
const RESERVED_PORTS: &[(&str, u32)] = &[
    ("IN_PORT", ofp_port::IN_PORT),
    ("TABLE", ofp_port::TABLE),
    ("NORMAL", ofp_port::NORMAL),
    ("FLOOD", ofp_port::FLOOD),
    ("ALL", ofp_port::ALL),
    ("CONTROLLER", ofp_port::CONTROLLER),
    ("LOCAL", ofp_port::LOCAL),
    ("ANY", ofp_port::NONE),
    ("NONE", ofp_port::NONE),
];

/// Parses a port: a decimal number, a reserved name (`LOCAL`, `NORMAL`, ...,
/// any case), a name from `ports`, or a double-quoted name from `ports`.
pub(crate) fn parse_port(s: &str, ports: &PortMap, what: &str) -> Result<u32, Error> {
    if !s.is_empty() && s.chars().all(|c| c.is_ascii_digit()) {
        return match s.parse::<u32>() {
            Ok(n) if n <= 0xffff => Ok(n),
            _ => Err(Error::bad_value(what, s, "a port number (0 to 65279), a reserved port name or a port name")),
        };
    }
    if let Some((_, n)) = RESERVED_PORTS.iter().find(|(name, _)| name.eq_ignore_ascii_case(s)) {
        return Ok(*n);
    }
    let name = if s.len() >= 2 && s.starts_with('"') && s.ends_with('"') {
        unquote(&s[1..s.len() - 1]).ok_or_else(|| Error::bad_value(what, s, "a correctly quoted port name"))?
    } else {
        s.to_string()
    };
    if name.is_empty() {
        return Err(Error::bad_value(what, s, "a port number or name"));
    }
    ports.number(&name).ok_or_else(|| Error::UnknownPort { field: what.to_string(), name, known: ports.known() })
}

/// Formats a port as OVS does: reserved names for the reserved range, the
/// name from `names` (quoted when it is not alphanumeric), else the number.
pub(crate) fn fmt_port(n: u32, names: Option<&PortMap>) -> String {
    if (ofp_port::IN_PORT..=ofp_port::NONE).contains(&n) {
        if let Some((name, _)) = RESERVED_PORTS.iter().find(|(_, v)| *v == n) {
            return name.to_string();
        }
    }
    if let Some(name) = names.and_then(|m| m.name(n)) {
        return quote_if_needed(name);
    }
    n.to_string()
}

/// OVS quotes a port name unless it is a letter followed by letters and digits.
fn quote_if_needed(name: &str) -> String {
    let mut chars = name.chars();
    let plain = chars.next().is_some_and(|c| c.is_ascii_alphabetic()) && chars.all(|c| c.is_ascii_alphanumeric());
    if plain {
        return name.to_string();
    }
    let mut out = String::from("\"");
    for c in name.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Undoes [`quote_if_needed`]'s escapes (a JSON string body).
fn unquote(s: &str) -> Option<String> {
    let mut out = String::new();
    let mut it = s.chars();
    while let Some(c) = it.next() {
        match c {
            '"' => return None,
            '\\' => match it.next()? {
                '"' => out.push('"'),
                '\\' => out.push('\\'),
                '/' => out.push('/'),
                'n' => out.push('\n'),
                't' => out.push('\t'),
                'r' => out.push('\r'),
                'b' => out.push('\u{8}'),
                'f' => out.push('\u{c}'),
                'u' => {
                    let hex: String = (0..4).filter_map(|_| it.next()).collect();
                    out.push(char::from_u32(u32::from_str_radix(&hex, 16).ok()?)?);
                }
                _ => return None,
            },
            c => out.push(c),
        }
    }
    Some(out)
}

/// OVS's `ofp_print_duration`: whole seconds, then 3 decimals when the
/// fraction is whole milliseconds, else as many as needed, then `s`.
pub(crate) fn fmt_duration(d: std::time::Duration) -> String {
    let (sec, nsec) = (d.as_secs(), d.subsec_nanos());
    if nsec == 0 {
        format!("{sec}s")
    } else if nsec % 1_000_000 == 0 {
        format!("{sec}.{:03}s", nsec / 1_000_000)
    } else {
        let frac = format!("{nsec:09}");
        format!("{sec}.{}s", frac.trim_end_matches('0'))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_text_matches_inet_ntop() {
        let cases = [
            ("::", "::"),
            ("::1", "::1"),
            ("fe80::1", "fe80::1"),
            ("::ffff:1.2.3.4", "::ffff:1.2.3.4"),
            ("::1:2", "::0.1.0.2"),
            ("1:0:0:1:0:0:0:1", "1:0:0:1::1"),
            ("1:0:1:1:1:1:1:1", "1:0:1:1:1:1:1:1"),
            ("2001:db8::", "2001:db8::"),
        ];
        for (input, want) in cases {
            assert_eq!(fmt_ipv6(parse_ipv6(input).unwrap()), want, "{input}");
        }
    }

    #[test]
    fn durations_print_like_ovs() {
        use std::time::Duration;
        assert_eq!(fmt_duration(Duration::from_millis(7398)), "7.398s");
        assert_eq!(fmt_duration(Duration::from_secs(7)), "7s");
        assert_eq!(fmt_duration(Duration::new(1, 500)), "1.0000005s");
    }

    #[test]
    fn port_names_are_quoted_like_ovs() {
        assert_eq!(quote_if_needed("rep1"), "rep1");
        assert_eq!(quote_if_needed("br-int"), "\"br-int\"");
        assert_eq!(unquote("br-int").unwrap(), "br-int");
    }
}
