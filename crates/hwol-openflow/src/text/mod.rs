//! The ovs-ofctl flow syntax: parsing what `ovs-ofctl add-flow` and
//! `add-flows` accept, and printing what `ovs-ofctl dump-flows` prints, so a
//! flows file written for Open vSwitch loads unchanged into hwol and our
//! dumps can be diffed against OVS's.
//!
//! # What is covered
//!
//! - [`parse_flow`], [`parse_flows`], [`parse_match`], [`parse_actions`]:
//!   the add-flow syntax. Tokens are separated by commas or white space,
//!   field order does not matter (prerequisites are checked once the whole
//!   match is known, like OVS does), and everything after `actions=` is the
//!   action list. Port names go through a [`PortMap`].
//! - [`format_match`], [`format_actions`], [`format_flow`],
//!   [`format_flow_stats`]: OVS 3.1's printing, byte for byte: the field
//!   order of `match_format()` in `lib/match.c` (`pkt_mark`, `conj_id`, the
//!   conntrack fields, the protocol shorthand, registers, `metadata`,
//!   `in_port`, VLAN, Ethernet, L3, L4, `tcp_flags`), OVS's number styles
//!   (`%#x` registers, decimal ports, CIDR masks), and each action's printer
//!   from `lib/ofp-actions.c`.
//!
//! # Dialect
//!
//! OVS prints an action according to how it was encoded on the wire, so the
//! same flow dumps differently over OpenFlow 1.0 and 1.3. hwol's action IR
//! keeps what the user wrote instead: `set_field` prints as `set_field`,
//! `load` as `load`, `mod_dl_src` as `mod_dl_src`. Where the IR has one
//! variant for two spellings we print what a default `ovs-ofctl dump-flows`
//! (OpenFlow 1.0 + NXM) prints: `strip_vlan` for [`OfAction::PopVlan`].
//!
//! # Known differences from OVS
//!
//! - Missing prerequisites (`tp_dst=80` without `tcp`) are an error here;
//!   `ovs-ofctl` over OpenFlow 1.0 silently drops such fields.
//! - Conflicting protocol shorthands (`tcp,udp`, `sctp,mpls`) and a
//!   shorthand's `nw_proto` under a later non-IP `dl_type` are errors;
//!   `ovs-ofctl` lets the last one win and drops what no longer fits.
//!   Shorthands that agree combine as in OVS (`tcp,ip` is `tcp`).
//! - `vlan_tci` masks must include the 0x1000 "tag present" bit (hwol keys
//!   cannot express VLAN bits without presence); `vlan_vid`/`vlan_pcp`
//!   (OpenFlow 1.2 names), tunnel, MPLS, NSH, IPv6 ND and `ct_nw_*` fields,
//!   flow flags (`send_flow_rem`, ...) and `importance` are rejected.
//! - `note:` is padded with zero bytes like OVS's wire encoding pads it
//!   (`note:ab` reads back as `note:ab.00.00.00.00.00`, as in OVS).
//! - `set_field:V->ip_dscp` is stored and printed as `set_field:V<<2->nw_tos`.
//! - `nat(...)` flags (`persistent`, `hash`, `random`) are printed even
//!   without an address range, where OVS's printer leaves them out.
//! - A `load` wider than 64 bits prints as one `load`; OVS splits it into
//!   64-bit segments. Both read back to the same effect.
//! - Integers accept decimal and `0x` hex; OVS also takes octal for a few
//!   flow-level keywords (`priority=010`), which we read as decimal.
//!
//! Nothing here looks anything up or translates anything; this is syntax.

mod actions;
mod fields;
mod matches;
mod scalar;

use std::collections::BTreeMap;

use crate::action::OfAction;
use crate::flow::{FlowSpec, FlowStatsEntry, DEFAULT_PRIORITY};
use crate::key::OfMatch;

pub use actions::{format_actions, parse_actions};
pub use matches::{format_match, parse_match};

/// An error in ovs-ofctl flow text. Each message names the field or action
/// and says what was expected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// An error on one line of a flows file.
    #[error("line {line}: {error}")]
    Line {
        /// 1-based line number.
        line: usize,
        /// What was wrong on that line.
        error: Box<Error>,
    },
    /// A port name not in the [`PortMap`].
    #[error("{field}: unknown port \"{name}\" ({known})")]
    UnknownPort {
        /// The field or action that named the port.
        field: String,
        /// The name as written.
        name: String,
        /// The names that are known, already phrased for the message.
        known: String,
    },
    /// A value that does not parse as what the field or action takes.
    #[error("{field}: \"{value}\" is not {expected}")]
    BadValue {
        /// The field or action.
        field: String,
        /// The value as written.
        value: String,
        /// What was expected, e.g. "an IPv4 address or CIDR".
        expected: String,
    },
    /// A match field whose prerequisites the match does not meet.
    #[error("{field}: requires {requirement} (add {hint} to the match)")]
    Prerequisite {
        /// The field as written.
        field: String,
        /// The missing prerequisite, e.g. "nw_proto=6, 17 or 132".
        requirement: String,
        /// The shorthands that would satisfy it, e.g. `"tcp", "udp" or "sctp"`.
        hint: String,
    },
    /// A keyword that is neither a match field nor a flow property.
    #[error("unknown match field or keyword \"{0}\" (see ovs-fields(7); hwol supports the fields listed in the hwol-openflow text module docs)")]
    UnknownField(String),
    /// A word in an action list that is neither an action nor a port.
    #[error("unknown action \"{name}\": not an action, a reserved port (NORMAL, LOCAL, IN_PORT, ...) or a port name ({known})")]
    UnknownAction {
        /// The word as written.
        name: String,
        /// The port names that are known, already phrased for the message.
        known: String,
    },
    /// A flow without `actions=`.
    #[error("missing \"actions=\": every flow must end with an action list (use \"actions=drop\" to drop)")]
    MissingActions,
    /// Anything else that is wrong with a field or action, with the reason.
    #[error("{context}: {message}")]
    Invalid {
        /// The field, action or keyword.
        context: String,
        /// What is wrong and what to do.
        message: String,
    },
}

impl Error {
    pub(crate) fn bad_value(field: &str, value: &str, expected: &str) -> Error {
        Error::BadValue { field: field.to_string(), value: value.to_string(), expected: expected.to_string() }
    }

    pub(crate) fn invalid(context: &str, message: impl Into<String>) -> Error {
        Error::Invalid { context: context.to_string(), message: message.into() }
    }
}

/// Port names and numbers, both ways, for `in_port=NAME`, `output:NAME`
/// and printing with `--names`. Names are case-sensitive, as in OVS.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PortMap {
    by_name: BTreeMap<String, u32>,
    by_number: BTreeMap<u32, String>,
}

impl PortMap {
    /// An empty map: only numbers and reserved names (`LOCAL`, ...) resolve.
    pub fn new() -> Self {
        PortMap::default()
    }

    /// Adds or replaces the port `name` with number `number`, dropping any
    /// older entry for either.
    pub fn insert(&mut self, name: impl Into<String>, number: u32) {
        let name = name.into();
        if let Some(old) = self.by_name.remove(&name) {
            self.by_number.remove(&old);
        }
        if let Some(old) = self.by_number.remove(&number) {
            self.by_name.remove(&old);
        }
        self.by_name.insert(name.clone(), number);
        self.by_number.insert(number, name);
    }

    /// The number of port `name`.
    pub fn number(&self, name: &str) -> Option<u32> {
        self.by_name.get(name).copied()
    }

    /// The name of port `number`.
    pub fn name(&self, number: u32) -> Option<&str> {
        self.by_number.get(&number).map(String::as_str)
    }

    /// `(name, number)` pairs in name order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, u32)> {
        self.by_name.iter().map(|(n, p)| (n.as_str(), *p))
    }

    /// The known names, phrased for an error message.
    fn known(&self) -> String {
        if self.by_name.is_empty() {
            "no port names are known; use a port number".to_string()
        } else {
            let names: Vec<&str> = self.by_name.keys().map(String::as_str).collect();
            format!("known ports: {}", names.join(", "))
        }
    }
}

impl<S: Into<String>> FromIterator<(S, u32)> for PortMap {
    fn from_iter<I: IntoIterator<Item = (S, u32)>>(iter: I) -> Self {
        let mut m = PortMap::new();
        for (name, number) in iter {
            m.insert(name, number);
        }
        m
    }
}

/// Splits the next `key[=:]value` or `key(value)` token off `s`, the way
/// OVS's `ofputil_parse_key_value` does: separators are commas and white
/// space, a value after `=`/`:` runs to the next separator, a value in
/// parentheses runs to the matching `)` (and `(x)->y` keeps its tail).
/// Parenthesised groups inside a value are skipped as a whole. Unlike OVS,
/// a double-quoted port name is kept whole too, so names that need quotes
/// read back.
pub(crate) fn next_kv<'a>(s: &mut &'a str) -> Option<(&'a str, &'a str)> {
    let rest = s.trim_start_matches([',', ' ', '\t', '\r', '\n']);
    if rest.is_empty() {
        *s = rest;
        return None;
    }
    let key_len = if rest.starts_with('"') {
        quoted_len(rest.as_bytes(), 0)
    } else {
        rest.find([':', '=', '(', ',', ' ', '\t', '\r', '\n']).unwrap_or(rest.len())
    };
    let key = &rest[..key_len];
    // Every delimiter is one ASCII byte; after a quoted key anything else
    // starts the next token.
    let delim = rest[key_len..].chars().next().filter(|c| [':', '=', '(', ',', ' ', '\t', '\r', '\n'].contains(c));
    let after = if delim.is_some() { &rest[key_len + 1..] } else { &rest[key_len..] };
    match delim {
        Some(':') | Some('=') => {
            let n = value_len(after, &[',', ' ', '\t', '\r', '\n']);
            *s = skip_one(&after[n..]);
            Some((key, &after[..n]))
        }
        Some('(') => {
            let mut n = value_len(after, &[')']);
            if after[n..].starts_with(")->") {
                n += value_len(&after[n..], &[',', ' ', '\t', '\r', '\n']);
            }
            *s = skip_one(&after[n..]);
            Some((key, &after[..n]))
        }
        _ => {
            *s = after;
            Some((key, ""))
        }
    }
}

fn skip_one(s: &str) -> &str {
    let mut c = s.chars();
    c.next();
    c.as_str()
}

/// The end of the double-quoted string starting at `b[start]` (just past
/// its closing quote, or the end of `b`). Port names that need quotes
/// (`"br-int"`, `"p 3"`) may contain separators.
fn quoted_len(b: &[u8], start: usize) -> usize {
    let mut n = start + 1;
    while n < b.len() {
        match b[n] {
            b'\\' => n += 2,
            b'"' => return n + 1,
            _ => n += 1,
        }
    }
    b.len()
}

/// Length of the value at the start of `s`, up to one of `delims`, treating
/// parenthesised groups as opaque (OVS's `parse_value`).
fn value_len(s: &str, delims: &[char]) -> usize {
    let b = s.as_bytes();
    let mut n = 0;
    while n < b.len() && !delims.contains(&(b[n] as char)) {
        if b[n] == b'"' {
            n = quoted_len(b, n);
        } else if b[n] == b'(' {
            let mut level = 0i32;
            loop {
                match b.get(n) {
                    None => return n,
                    Some(b'(') => level += 1,
                    Some(b')') => level -= 1,
                    _ => {}
                }
                n += 1;
                if level <= 0 {
                    break;
                }
            }
        } else {
            n += 1;
        }
    }
    n
}

/// Splits a flow at its action list like OVS's `ofp_extract_actions`: at the
/// first `action`, then past the next `=`.
fn split_actions(line: &str) -> Result<(&str, &str), Error> {
    let at = line.find("action").ok_or(Error::MissingActions)?;
    let rest = &line[at..];
    let eq = rest.find('=').ok_or(Error::MissingActions)?;
    Ok((&line[..at], &rest[eq + 1..]))
}

fn parse_u16_kw(key: &str, value: &str) -> Result<u16, Error> {
    Ok(scalar::parse_uint_bits(value, 16, key)? as u16)
}

/// Parses one flow in `ovs-ofctl add-flow` syntax, e.g.
/// `table=0,priority=200,ip,in_port=rep1,actions=ct(zone=65520,table=1)`.
///
/// Accepts `table=`, `priority=`, `cookie=`, `idle_timeout=`,
/// `hard_timeout=`, the match fields and shorthands of [`parse_match`], and
/// ignores the statistics `dump-flows` prints (`duration=`, `n_packets=`,
/// `n_bytes=`, `idle_age=`, `hard_age=`) so a dump can be fed back. A
/// `cookie=X/Y` mask is refused, as OVS refuses it for flow additions.
/// Everything after `actions=` is parsed by [`parse_actions`] and then
/// checked against the flow (`goto_table` must go forward).
pub fn parse_flow(line: &str, ports: &PortMap) -> Result<FlowSpec, Error> {
    let (match_part, actions_part) = split_actions(line)?;
    let mut spec = FlowSpec::default();
    let mut builder = matches::MatchBuilder::new(ports);
    let mut rest = match_part;
    while let Some((key, value)) = next_kv(&mut rest) {
        let needs_value = matches!(key, "table" | "priority" | "cookie" | "idle_timeout" | "hard_timeout");
        if needs_value && value.is_empty() {
            return Err(Error::invalid(key, "missing value (write it as key=value)"));
        }
        match key {
            "table" => {
                let t = scalar::parse_uint_bits(value, 8, key)? as u8;
                if t == 255 {
                    return Err(Error::invalid(key, "255 is not a table a flow can be added to (use 0 to 254)"));
                }
                spec.table = t;
            }
            "priority" => spec.priority = parse_u16_kw(key, value)?,
            "idle_timeout" => spec.idle_timeout = parse_u16_kw(key, value)?,
            "hard_timeout" => spec.hard_timeout = parse_u16_kw(key, value)?,
            "cookie" => {
                if value.contains('/') {
                    return Err(Error::invalid(
                        key,
                        "flow additions cannot use a cookie mask (cookie=X/Y selects flows; write cookie=X to set one)",
                    ));
                }
                spec.cookie = scalar::parse_uint_bits(value, 64, key)? as u64;
                if spec.cookie == u64::MAX {
                    return Err(Error::invalid(
                        key,
                        "0xffffffffffffffff is reserved by OpenFlow (OVS ignores it); use another cookie",
                    ));
                }
            }
            "duration" | "n_packets" | "n_bytes" | "idle_age" | "hard_age" => {}
            "send_flow_rem" | "check_overlap" | "reset_counts" | "no_packet_counts" | "no_byte_counts"
            | "importance" | "out_port" | "out_group" => {
                return Err(Error::invalid(
                    key,
                    "flow flags and out_port/importance are not supported by hwol; remove it",
                ))
            }
            _ => builder.apply(key, value)?,
        }
    }
    spec.matches = builder.finish()?;
    spec.actions = actions::parse_actions_for(actions_part, ports, &spec.matches)?;
    for a in &spec.actions {
        if let OfAction::GotoTable(t) = a {
            if *t <= spec.table {
                return Err(Error::invalid(
                    "goto_table",
                    format!("table {t} is not after this flow's table {} (goto_table only moves forward; use resubmit(,{t}) to go back)", spec.table),
                ));
            }
        }
    }
    Ok(spec)
}

/// Parses an `ovs-ofctl add-flows` file: one flow per line, blank lines and
/// lines starting with `#` skipped, an optional leading `add` keyword
/// accepted. Errors carry the 1-based line number.
pub fn parse_flows(text: &str, ports: &PortMap) -> Result<Vec<FlowSpec>, Error> {
    let mut out = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let wrap = |e: Error| Error::Line { line: i + 1, error: Box::new(e) };
        let first = line.split([',', ' ', '\t']).next().unwrap_or("");
        let line = match first {
            "add" => &line[3..],
            "modify" | "modify_strict" | "delete" | "delete_strict" => {
                return Err(wrap(Error::invalid(
                    first,
                    "hwol loads flows to add; modify/delete lines are not supported",
                )))
            }
            _ => line,
        };
        out.push(parse_flow(line, ports).map_err(wrap)?);
    }
    Ok(out)
}

/// The context that picks between spellings that depend on the match:
/// `tcp_src` vs `udp_src` in `set_field`, `NXM_OF_TCP_SRC` vs
/// `NXM_OF_UDP_SRC`, `icmp_type` vs `icmpv6_type`.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Ctx {
    pub(crate) nw_proto: Option<u8>,
}

impl Ctx {
    pub(crate) fn of(m: &OfMatch) -> Ctx {
        let (p, pm) = m.get(crate::field::Field::IpProto);
        Ctx { nw_proto: (pm != 0).then_some(p as u8) }
    }
}

fn format_flow_common(out: &mut String, spec: &FlowSpec) {
    if spec.idle_timeout != 0 {
        out.push_str(&format!("idle_timeout={}, ", spec.idle_timeout));
    }
    if spec.hard_timeout != 0 {
        out.push_str(&format!("hard_timeout={}, ", spec.hard_timeout));
    }
}

fn format_flow_tail(out: &mut String, spec: &FlowSpec, names: Option<&PortMap>) {
    let mut m = String::new();
    if spec.priority != DEFAULT_PRIORITY {
        m.push_str(&format!("priority={}", spec.priority));
    }
    let fields = format_match(&spec.matches, names);
    if !fields.is_empty() {
        if !m.is_empty() {
            m.push(',');
        }
        m.push_str(&fields);
    }
    out.push_str(&m);
    if !m.is_empty() {
        out.push(' ');
    }
    out.push_str("actions=");
    out.push_str(&actions::format_actions_ctx(&spec.actions, names, Ctx::of(&spec.matches)));
}

/// Prints a flow the way `ovs-ofctl dump-flows --no-stats` does, which
/// [`parse_flow`] reads back: `cookie=` if non-zero, `table=` if non-zero,
/// timeouts if set, then `priority=` (unless it is the default 32768), the
/// match and the actions, e.g.
/// `table=1, priority=200,ct_state=+new+trk,ip actions=ct(commit,zone=65520),NORMAL`.
pub fn format_flow(spec: &FlowSpec, names: Option<&PortMap>) -> String {
    let mut out = String::new();
    if spec.cookie != 0 {
        out.push_str(&format!("cookie={:#x}, ", spec.cookie));
    }
    if spec.table != 0 {
        out.push_str(&format!("table={}, ", spec.table));
    }
    format_flow_common(&mut out, spec);
    format_flow_tail(&mut out, spec, names);
    out
}

/// Prints one line of `ovs-ofctl dump-flows` (OpenFlow 1.0 + NXM, the
/// default), including its leading space, e.g.
/// ` cookie=0x0, duration=7.398s, table=0, n_packets=101420, n_bytes=3964116157, idle_age=0, priority=200,ip actions=ct(table=1,zone=65520)`.
///
/// Order as in OVS's `ofputil_flow_stats_format`: cookie, duration, table,
/// counters, `idle_timeout`/`hard_timeout` when set, `idle_age` (whole
/// seconds), `hard_age` only when it differs from the duration's whole
/// seconds, then the match with `priority=` first (omitted at the default
/// 32768) and the actions.
pub fn format_flow_stats(entry: &FlowStatsEntry, names: Option<&PortMap>) -> String {
    let spec = &entry.spec;
    let mut out = format!(
        " cookie={:#x}, duration={}, table={}, n_packets={}, n_bytes={}, ",
        spec.cookie,
        scalar::fmt_duration(entry.duration),
        spec.table,
        entry.n_packets,
        entry.n_bytes
    );
    format_flow_common(&mut out, spec);
    out.push_str(&format!("idle_age={}, ", entry.idle_age.as_secs()));
    if let Some(h) = entry.hard_age {
        if h.as_secs() != entry.duration.as_secs() {
            out.push_str(&format!("hard_age={}, ", h.as_secs()));
        }
    }
    format_flow_tail(&mut out, spec, names);
    out
}

#[cfg(test)]
mod tests;
