//! One line of `dpctl/dump-flows` output: ufid, key, statistics, datapath
//! details and actions.
//!
//! Line layout (OVS's `format_dpif_flow` and `dpif_flow_stats_format`):
//!
//! ```text
//! [ufid:UUID, ]KEY, packets:N, bytes:N, used:S.mmms|never[, flags:SFPRU.ECN][, offloaded:yes|partial][, dp:NAME], actions:ACTIONS[, dp-extra-info:TEXT]
//! ```
//!
//! The bracketed `ufid`, `offloaded`, `dp` and `dp-extra-info` parts appear
//! only with `-m`. `flags:` appears only when some TCP flag was seen.

use std::fmt::Write as _;

use hwol_flow::Action;

use crate::action::{format_actions, parse_action_list};
use crate::key::{parse_attrs, OdpKey};
use crate::text::{Cursor, ParseError};
use crate::PortNames;

/// When the flow last matched a packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Used {
    /// `used:never`.
    Never,
    /// `used:0.550s`: this many milliseconds ago.
    Ago(u64),
}

/// The statistics part: `packets:N, bytes:N, used:..., flags:...`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FlowStats {
    /// Packets matched.
    pub packets: u64,
    /// Bytes matched.
    pub bytes: u64,
    /// Last use.
    pub used: Used,
    /// OR of the TCP flags seen (12 bits); printed as `flags:` letters when
    /// not zero.
    pub tcp_flags: u16,
}

/// `offloaded:` in verbose output.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Offloaded {
    /// `offloaded:yes`: fully in hardware.
    Yes,
    /// `offloaded:partial`: classification in hardware, actions in software
    /// (OVS prints this when the datapath layer is `ovs`).
    Partial,
}

/// How a line was written, as far as the parser could tell.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Style {
    /// Verbose (`-m`): the line had a `ufid:`, `dp:`, `offloaded:` or
    /// `dp-extra-info:` part, a hex `ct_state`, or an explicit all-zero
    /// mask. A verbose line whose every field is exact looks the same as a
    /// terse one and is reported as terse.
    pub verbose: bool,
    /// At least one port was written by name (`--names`).
    pub names: bool,
}

/// One datapath flow.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct OdpFlow {
    /// Unique flow id (`ufid:` in verbose output), the UUID's 128 bits in
    /// text order.
    pub ufid: Option<u128>,
    /// The match.
    pub key: OdpKey,
    /// Statistics, when the line had them.
    pub stats: Option<FlowStats>,
    /// `offloaded:` (verbose only).
    pub offloaded: Option<Offloaded>,
    /// `dp:` datapath layer, e.g. `ovs`, `tc`, `dpdk` (verbose only).
    pub dp: Option<String>,
    /// The actions; empty prints as `drop`.
    pub actions: Vec<Action>,
    /// `dp-extra-info:` free text (verbose only), e.g. `miniflow_bits(5,1)`.
    pub dp_extra_info: Option<String>,
    /// The style the line was parsed in (not part of the flow's meaning).
    pub style: Style,
}

/// Printing options.
#[derive(Clone, Copy, Debug, Default)]
pub struct FormatOpts<'a> {
    /// Print ports by name where this map knows them (`--names`).
    pub names: Option<&'a PortNames>,
    /// Verbose (`-m`) printing.
    pub verbose: bool,
}

const STATS_FLAGS: [(u16, &str); 12] = [
    (0x002, "S"),
    (0x001, "F"),
    (0x008, "P"),
    (0x004, "R"),
    (0x020, "U"),
    (0x010, "."),
    (0x040, "E"),
    (0x080, "C"),
    (0x100, "N"),
    (0x200, "[200]"),
    (0x400, "[400]"),
    (0x800, "[800]"),
];

fn format_uuid(u: u128) -> String {
    let h = format!("{u:032x}");
    format!("{}-{}-{}-{}-{}", &h[0..8], &h[8..12], &h[12..16], &h[16..20], &h[20..32])
}

impl OdpFlow {
    /// Print the flow as `ovs-appctl dpctl/dump-flows [-m] [--names]` does.
    /// The verbose-only parts are left out when `opts.verbose` is false.
    pub fn format(&self, opts: &FormatOpts<'_>) -> String {
        let mut s = String::new();
        if opts.verbose {
            if let Some(u) = self.ufid {
                let _ = write!(s, "ufid:{}, ", format_uuid(u));
            }
        }
        s.push_str(&self.key.format(opts.names, opts.verbose));
        if let Some(st) = &self.stats {
            let _ = write!(s, ", packets:{}, bytes:{}, used:", st.packets, st.bytes);
            match st.used {
                Used::Never => s.push_str("never"),
                Used::Ago(ms) => {
                    let _ = write!(s, "{}.{:03}s", ms / 1000, ms % 1000);
                }
            }
            if st.tcp_flags != 0 {
                s.push_str(", flags:");
                for (bit, letter) in STATS_FLAGS {
                    if st.tcp_flags & bit != 0 {
                        s.push_str(letter);
                    }
                }
            }
        }
        if opts.verbose {
            if let Some(o) = self.offloaded {
                s.push_str(match o {
                    Offloaded::Yes => ", offloaded:yes",
                    Offloaded::Partial => ", offloaded:partial",
                });
            }
            if let Some(dp) = &self.dp {
                let _ = write!(s, ", dp:{dp}");
            }
        }
        s.push_str(", actions:");
        s.push_str(&format_actions(&self.actions, opts.names));
        if opts.verbose {
            if let Some(x) = &self.dp_extra_info {
                let _ = write!(s, ", dp-extra-info:{x}");
            }
        }
        s
    }

    /// Print the flow in the style it was parsed in (see [`Style`]), with
    /// names from `ports` if the line used names: for a parsed OVS line
    /// this gives the line back byte for byte.
    pub fn format_as_parsed(&self, ports: &PortNames) -> String {
        let names = if self.style.names { Some(ports) } else { None };
        self.format(&FormatOpts { names, verbose: self.style.verbose })
    }
}

fn parse_uuid(cur: &mut Cursor<'_>) -> Result<u128, ParseError> {
    let start = cur.pos();
    let mut v: u128 = 0;
    for (i, len) in [8usize, 4, 4, 4, 12].into_iter().enumerate() {
        if i > 0 && !cur.eat("-") {
            return Err(cur.expected("'-' in the ufid (a UUID such as c897bfbf-3d33-4dd5-8701-2e06e34e4b75)"));
        }
        let h = cur.take_while(|c| c.is_ascii_hexdigit());
        if h.len() != len {
            cur.reset(start);
            return Err(cur.expected("a ufid UUID such as c897bfbf-3d33-4dd5-8701-2e06e34e4b75"));
        }
        v = (v << (4 * len)) | u128::from_str_radix(h, 16).unwrap_or(0);
    }
    Ok(v)
}

fn parse_used(cur: &mut Cursor<'_>) -> Result<Used, ParseError> {
    if cur.eat("never") {
        return Ok(Used::Never);
    }
    let start = cur.pos();
    let secs = cur.take_while(|c| c.is_ascii_digit());
    let ok_secs = !secs.is_empty() && cur.eat(".");
    let frac = cur.take_while(|c| c.is_ascii_digit());
    if !ok_secs || frac.len() != 3 || !cur.eat("s") {
        cur.reset(start);
        return Err(cur.expected("'never' or seconds with three decimals such as '0.550s' after 'used:'"));
    }
    secs.parse::<u64>()
        .ok()
        .and_then(|s| s.checked_mul(1000))
        .and_then(|ms| ms.checked_add(frac.parse::<u64>().unwrap_or(0)))
        .map(Used::Ago)
        .ok_or_else(|| cur.invalid_at(start, "used: time is too large"))
}

fn parse_stats_flags(cur: &mut Cursor<'_>) -> Result<u16, ParseError> {
    if cur.eat("none") {
        return Ok(0);
    }
    let mut v = 0u16;
    while let Some(&(bit, letter)) = STATS_FLAGS.iter().find(|(_, l)| cur.starts_with(l)) {
        cur.eat(letter);
        v |= bit;
    }
    if v == 0 {
        return Err(cur.expected("TCP flag letters (S, F, P, R, U, ., E, C, N) after 'flags:'"));
    }
    Ok(v)
}

/// Parse one `dpctl/dump-flows` line (without the newline).
///
/// Port names are looked up in `ports`, and unknown names are learned (see
/// [`PortNames`]). The returned flow's [`Style`] records whether the line
/// was verbose and used names; if it was terse, attributes terse output
/// would not print are dropped, so that printing the flow back in the same
/// style and parsing it again gives the same flow.
pub fn parse_flow(line: &str, ports: &mut PortNames) -> Result<OdpFlow, ParseError> {
    let mut cur = Cursor::new(line);
    let mut flow = OdpFlow::default();
    if cur.eat("ufid:") {
        flow.ufid = Some(parse_uuid(&mut cur)?);
        cur.expect(", ", "after the ufid")?;
    }
    flow.key = parse_attrs(&mut cur, ports, false)?;
    if !cur.eat(", ") {
        return Err(cur.expected("', ' and the flow statistics or actions after the key"));
    }
    if cur.eat("packets:") {
        let packets = cur.u64v("a packet count")?;
        cur.expect(", bytes:", "after the packet count")?;
        let bytes = cur.u64v("a byte count")?;
        cur.expect(", used:", "after the byte count")?;
        let used = parse_used(&mut cur)?;
        let tcp_flags = if cur.eat(", flags:") { parse_stats_flags(&mut cur)? } else { 0 };
        flow.stats = Some(FlowStats { packets, bytes, used, tcp_flags });
        cur.expect(", ", "after the flow statistics")?;
    }
    if cur.eat("offloaded:") {
        flow.offloaded = Some(if cur.eat("yes") {
            Offloaded::Yes
        } else if cur.eat("partial") {
            Offloaded::Partial
        } else {
            return Err(cur.expected("'yes' or 'partial' after 'offloaded:'"));
        });
        cur.expect(", ", "after the offloaded state")?;
    }
    if cur.eat("dp:") {
        let dp = cur.take_while(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        if dp.is_empty() {
            return Err(cur.expected("a datapath layer name such as 'ovs' or 'tc' after 'dp:'"));
        }
        flow.dp = Some(dp.to_string());
        cur.expect(", ", "after the datapath layer")?;
    }
    if !cur.eat("actions:") {
        return Err(cur.expected("'actions:'"));
    }
    flow.actions = parse_action_list(&mut cur, ports)?;
    if cur.eat(", dp-extra-info:") {
        flow.dp_extra_info = Some(cur.take_rest().to_string());
    }
    if !cur.at_end() {
        return Err(cur.expected("',' between actions or end of line"));
    }
    flow.style = Style {
        verbose: cur.verbose_hint
            || flow.ufid.is_some()
            || flow.offloaded.is_some()
            || flow.dp.is_some()
            || flow.dp_extra_info.is_some(),
        names: cur.names_used,
    };
    if !flow.style.verbose {
        flow.key.canonicalize_terse();
    }
    Ok(flow)
}

/// Parse a key on its own (as `ovs-dpctl`'s flow arguments or OVS's
/// `test-odp parse-keys`). Returns the style the key was written in; terse
/// keys are canonicalized as in [`parse_flow`].
pub fn parse_key(text: &str, ports: &mut PortNames) -> Result<(OdpKey, Style), ParseError> {
    let mut cur = Cursor::new(text);
    let mut key = parse_attrs(&mut cur, ports, false)?;
    if !cur.at_end() {
        return Err(cur.expected("',' between key attributes or end of line"));
    }
    let style = Style { verbose: cur.verbose_hint, names: cur.names_used };
    if !style.verbose {
        key.canonicalize_terse();
    }
    Ok((key, style))
}

/// Print a key on its own; the same as [`OdpKey::format`].
pub fn format_key(key: &OdpKey, opts: &FormatOpts<'_>) -> String {
    key.format(opts.names, opts.verbose)
}
