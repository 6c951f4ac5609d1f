//! `hwol odp parse`: canonicalize datapath-flow text, like OVS's
//! `test-odp parse-keys` but for whole `dpctl/dump-flows` lines.

use std::io::{BufRead, Write};

use anyhow::Context as _;
use clap::Args;
use hwol_odp::{parse_flow, FormatOpts, PortNames};

const AFTER_HELP: &str = "\
Each input line is one flow as `ovs-appctl dpctl/dump-flows [-m] [--names]`
prints it. It is parsed and printed back on stdout, one line per flow; a line
OVS printed comes back byte for byte.

Lines that are not flows pass through unchanged: empty lines, lines starting
with '#', and dump headers starting with 'flow-dump from' (e.g. 'flow-dump
from the main thread:').

Style: by default each flow is printed the way it was written. A line is
verbose (-m style) if it has a 'ufid:', 'dp:', 'offloaded:' or
'dp-extra-info:' part, a hex ct_state, or an all-zero mask; it uses names if
any port is written by name. --more/--terse and --names/--no-names override.

Port names: a name not given with --port is assigned a number from 2147483648
(0x80000000) upward, so names round-trip without configuration. Use --port
NAME=N to pin real numbers, e.g. to print a --names dump with numbers.

A line that does not parse is reported on stderr as
  line N, column C: expected WHAT, found TEXT
and the other lines are still printed. Exit status: 0 if every line parsed,
1 if any did not, 2 on an I/O or usage error.";

/// Arguments of `hwol odp parse`.
#[derive(Args, Debug, Default)]
#[command(after_help = AFTER_HELP)]
pub struct ParseArgs {
    /// Pin a port name to a datapath port number (repeatable).
    #[arg(long = "port", value_name = "NAME=N", value_parser = parse_port_pin)]
    pub ports: Vec<(String, u32)>,
    /// Print every flow verbosely, like `dpctl/dump-flows -m`.
    #[arg(short = 'm', long = "more", conflicts_with = "terse")]
    pub more: bool,
    /// Print every flow tersely, like `dpctl/dump-flows` without -m.
    #[arg(long)]
    pub terse: bool,
    /// Print ports by name wherever a name is known.
    #[arg(long, conflicts_with = "no_names")]
    pub names: bool,
    /// Print ports by number.
    #[arg(long)]
    pub no_names: bool,
}

fn parse_port_pin(s: &str) -> Result<(String, u32), String> {
    let (name, num) = s.split_once('=').ok_or_else(|| format!("'{s}' is not NAME=N, e.g. --port rep1=1"))?;
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || "_-.@".contains(c)) {
        return Err(format!("port name '{name}' must be letters, digits, '_', '-', '.' or '@'"));
    }
    if name.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("port name '{name}' is all digits and would read as a number; pick another name"));
    }
    let n = num.parse::<u32>().map_err(|_| format!("port number '{num}' is not a number from 0 to 4294967295"))?;
    Ok((name.to_string(), n))
}

/// True for lines that are passed through untouched.
fn is_passthrough(line: &str) -> bool {
    line.trim().is_empty() || line.starts_with('#') || line.starts_with("flow-dump from")
}

/// Run `hwol odp parse`. Returns `Ok(false)` if some line failed to parse
/// (those are reported on `err`), `Err` on I/O failure.
pub fn parse(
    args: &ParseArgs,
    input: impl BufRead,
    out: &mut impl Write,
    err: &mut impl Write,
) -> anyhow::Result<bool> {
    let mut ports = PortNames::new();
    for (name, n) in &args.ports {
        ports.insert(name, *n);
    }
    let mut all_ok = true;
    for (i, line) in input.lines().enumerate() {
        let line = line.context("reading stdin")?;
        let line = line.strip_suffix('\r').unwrap_or(&line);
        if is_passthrough(line) {
            writeln!(out, "{line}").context("writing stdout")?;
            continue;
        }
        match parse_flow(line, &mut ports) {
            Ok(flow) => {
                let verbose = (flow.style.verbose || args.more) && !args.terse;
                let names = (flow.style.names || args.names) && !args.no_names;
                let opts = FormatOpts { names: names.then_some(&ports), verbose };
                writeln!(out, "{}", flow.format(&opts)).context("writing stdout")?;
            }
            Err(e) => {
                all_ok = false;
                writeln!(err, "line {}, {e}", i + 1).context("writing stderr")?;
            }
        }
    }
    Ok(all_ok)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(args: &ParseArgs, input: &str) -> (String, String, bool) {
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let ok = parse(args, input.as_bytes(), &mut out, &mut err).unwrap();
        (String::from_utf8(out).unwrap(), String::from_utf8(err).unwrap(), ok)
    }

    const DUMP: &str = "\
flow-dump from the main thread:
ufid:c897bfbf-3d33-4dd5-8701-2e06e34e4b75, skb_priority(0/0),skb_mark(0/0),ct_state(0x21/0x21),ct_zone(0xfff0/0),ct_mark(0/0),ct_label(0/0),ct_tuple4(src=10.0.0.1/0.0.0.0,dst=10.0.0.2/0.0.0.0,proto=6/0,tp_src=37672/0,tp_dst=5201/0),recirc_id(0x1),dp_hash(0/0),in_port(rep1),packet_type(ns=0,id=0),eth(src=1a:00:25:cc:24:20,dst=c2:64:ba:35:bf:c5),eth_type(0x0800),ipv4(src=10.0.0.1/0.0.0.0,dst=10.0.0.2/0.0.0.0,proto=6/0,tos=0/0,ttl=64/0,frag=no),tcp(src=37672/0,dst=5201/0),tcp_flags(0/0), packets:1, bytes:74, used:5.158s, flags:S, dp:ovs, actions:ct(commit,zone=65520),rep2, dp-extra-info:miniflow_bits(5,1)
recirc_id(0),in_port(rep1),packet_type(ns=0,id=0),eth(src=1a:00:25:cc:24:20,dst=ff:ff:ff:ff:ff:ff),eth_type(0x0806),arp(sip=10.0.0.1,tip=10.0.0.2,op=1), packets:0, bytes:0, used:never, actions:brovs,rep2
recirc_id(0),in_port(2),packet_type(ns=0,id=0),eth_type(0x0800),ipv4(frag=no), packets:37719, bytes:2665890, used:0.000s, flags:SP., actions:ct(zone=65520),recirc(0x2)
";

    #[test]
    fn dump_round_trips() {
        let (out, err, ok) = run(&ParseArgs::default(), DUMP);
        assert!(ok, "{err}");
        assert_eq!(out, DUMP);
    }

    #[test]
    fn terse_with_pinned_numbers() {
        let args = ParseArgs {
            ports: vec![("rep1".into(), 1), ("rep2".into(), 2), ("brovs".into(), 3)],
            terse: true,
            no_names: true,
            ..Default::default()
        };
        let (out, err, ok) = run(&args, DUMP);
        assert!(ok, "{err}");
        insta::assert_snapshot!(out);
    }

    #[test]
    fn verbose_with_names() {
        let args = ParseArgs { ports: vec![("rep2".into(), 2)], more: true, names: true, ..Default::default() };
        let input = "recirc_id(0),in_port(2),packet_type(ns=0,id=0),eth_type(0x0800),ipv4(frag=no), packets:37719, bytes:2665890, used:0.000s, flags:SP., actions:ct(zone=65520),recirc(0x2)\n";
        let (out, _, ok) = run(&args, input);
        assert!(ok);
        insta::assert_snapshot!(out);
    }

    #[test]
    fn errors_are_reported_and_other_lines_still_printed() {
        let input = "\
recirc_id(0),in_port(1),eth_type(0x0800),ipv4(src=10.0.0.1,frag=no;), packets:0, bytes:0, used:never, actions:drop
recirc_id(0),in_port(1), packets:0, bytes:0, used:never, actions:2
recirc_id(0),in_port(1),ipv4(tos=300), packets:0, bytes:0, used:never, actions:2
recirc_id(0),in_port(1),eth_type(0x0800), packets:0, bytes:0, used:soon, actions:2
recirc_id(0),in_port(1),tunnel(tun_id=0x5), packets:0, bytes:0, used:never, actions:2
recirc_id(0),in_port(1), packets:0, bytes:0, used:never, actions:ct(commit,nat(src=10.0.0.9-10.0.0.1))
recirc_id(0),in_port(1), packets:0, bytes:0, used:never, actions:meter(0),2
ct_state(+new+bogus),in_port(1), packets:0, bytes:0, used:never, actions:2
";
        let (out, err, ok) = run(&ParseArgs::default(), input);
        assert!(!ok);
        insta::assert_snapshot!("errors_stdout", out);
        insta::assert_snapshot!("errors_stderr", err);
    }

    #[test]
    fn port_pin_validation() {
        assert_eq!(parse_port_pin("rep1=1"), Ok(("rep1".to_string(), 1)));
        assert!(parse_port_pin("rep1").is_err());
        assert!(parse_port_pin("12=1").is_err());
        assert!(parse_port_pin("a b=1").is_err());
        assert!(parse_port_pin("rep1=x").is_err());
    }
}
