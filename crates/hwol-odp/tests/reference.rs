//! Every flow line captured from real OVS (`dpctl/dump-flows`, `--names`,
//! `-m`, and the hw-offload seed's `type=offloaded` lines) must parse and
//! print back byte for byte.

use hwol_odp::{parse_flow, FormatOpts, PortNames};

const FILES: [(&str, &str); 4] = [
    ("seed-hw-offload.txt", include_str!("data/seed-hw-offload.txt")),
    ("dump-flows-hwoffload.txt", include_str!("data/dump-flows-hwoffload.txt")),
    ("dump-flows-plain.txt", include_str!("data/dump-flows-plain.txt")),
    ("dump-flows-tso.txt", include_str!("data/dump-flows-tso.txt")),
];

#[test]
fn every_reference_line_round_trips_byte_for_byte() {
    let mut n = 0;
    for (file, text) in FILES {
        let mut ports = PortNames::new();
        for (i, line) in text.lines().enumerate() {
            let flow = parse_flow(line, &mut ports).unwrap_or_else(|e| panic!("{file}:{}: {e}\n{line}", i + 1));
            assert_eq!(flow.format_as_parsed(&ports), line, "{file}:{}", i + 1);
            assert_eq!(flow.style.verbose, line.starts_with("ufid:"), "{file}:{}", i + 1);
            // Parsing the printed text again gives the same flow.
            let again = parse_flow(&flow.format_as_parsed(&ports), &mut ports).unwrap();
            assert_eq!(again, flow);
            n += 1;
        }
    }
    assert_eq!(n, 76);
}

#[test]
fn names_and_numbers_lines_agree_once_ports_are_pinned() {
    let plain = include_str!("data/dump-flows-hwoffload.txt");
    let lines: Vec<&str> = plain.lines().collect();
    // Lines 0..8 are without --names, 8..16 with --names, same flows.
    let mut ports = PortNames::new();
    ports.insert("rep1", 1);
    ports.insert("rep2", 2);
    ports.insert("brovs", 3);
    // The two dumps list the same flows, not necessarily in the same order.
    let named: Vec<_> = lines[8..16].iter().map(|l| parse_flow(l, &mut ports).unwrap()).collect();
    for numeric in &lines[0..8] {
        let a = parse_flow(numeric, &mut ports).unwrap();
        assert!(!a.style.names);
        let b = named.iter().find(|b| b.key == a.key && b.actions == a.actions);
        let b = b.unwrap_or_else(|| panic!("no --names twin for {numeric}"));
        assert!(b.style.names);
        // Printing the numeric flow with names gives the --names spelling.
        let with_names = a.format(&FormatOpts { names: Some(&ports), verbose: false });
        assert_eq!(with_names.split(", packets").next(), b.format_as_parsed(&ports).split(", packets").next());
    }
}

#[test]
fn verbose_line_printed_tersely_matches_the_terse_dump() {
    // The -m line for the SYN flow, printed without -m, is what plain
    // `dump-flows --names` shows for it (modulo the stats, which moved on).
    let text = include_str!("data/dump-flows-tso.txt");
    let verbose = text.lines().find(|l| l.starts_with("ufid:a37d5110")).unwrap();
    let mut ports = PortNames::new();
    let flow = parse_flow(verbose, &mut ports).unwrap();
    let terse = flow.format(&FormatOpts { names: Some(&ports), verbose: false });
    assert_eq!(
        terse,
        "ct_state(+new+trk),recirc_id(0x1),in_port(rep1),packet_type(ns=0,id=0),eth(src=6e:01:ee:90:f3:6d,dst=b2:46:cd:1c:e9:6b),eth_type(0x0800),ipv4(frag=no), packets:1, bytes:74, used:5.086s, flags:S, actions:ct(commit,zone=65520),rep2"
    );
}
