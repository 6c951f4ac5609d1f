//! Errors point at the right column and say what was expected.

use hwol_odp::{parse_flow, parse_key, ParseError, PortNames};

fn err(line: &str) -> ParseError {
    parse_flow(line, &mut PortNames::new()).expect_err(line)
}

fn key_err(text: &str) -> ParseError {
    parse_key(text, &mut PortNames::new()).expect_err(text)
}

#[test]
fn missing_close_paren_after_ipv4_fields() {
    let e = err("recirc_id(0),in_port(1),eth_type(0x0800),ipv4(src=10.0.0.1,frag=no, packets:0, bytes:0, used:never, actions:drop");
    // "ipv4(src=10.0.0.1,frag=no," then a space where a field name belongs.
    assert_eq!(e.column(), 68);
    assert_eq!(e.to_string(), "column 68: expected ipv4 field (src, dst, proto, tos, ttl, frag), found ' '");
}

#[test]
fn wrong_separator_after_a_field() {
    let e = key_err("ipv4(src=10.0.0.1;dst=10.0.0.2)");
    assert_eq!(e.to_string(), "column 18: expected ',' or ')' after ipv4 field 'src', found ';'");
}

#[test]
fn unknown_attribute_and_field() {
    assert_eq!(
        key_err("in_port(1),bogus(1)").to_string(),
        "column 12: expected a key attribute (in_port, recirc_id, ct_state, eth, eth_type, ipv4, tcp, ...), found 'bogus'"
    );
    assert_eq!(key_err("tcp(sport=1)").to_string(), "column 5: expected tcp field (src, dst), found 'sport'");
    assert_eq!(
        key_err("in_port(1),mpls(label=1)").to_string(),
        "column 12: key attribute 'mpls' is not supported by hwol; remove it or convert the flow without it"
    );
}

#[test]
fn bad_values() {
    assert_eq!(
        key_err("ipv4(src=10.0.0.256)").to_string(),
        "column 10: expected a source address (an IPv4 address such as 10.0.0.1), found '10.0.0.256'"
    );
    assert_eq!(
        key_err("eth(src=1a:00:25:cc:24)").to_string(),
        "column 9: expected a source MAC (an Ethernet address such as 0a:00:00:00:00:01), found '1a'"
    );
    assert_eq!(
        key_err("ct_zone(65536)").to_string(),
        "column 9: 65536 is too large for a zone; the largest allowed value is 0xffff"
    );
    assert_eq!(key_err("ct_state(+new+new)").to_string(), "column 15: ct_state flag given twice; give each flag once");
    assert_eq!(
        key_err("ct_state(0x100)").to_string(),
        "column 10: ct_state has bits above 0x80; the defined bits are new, est, rel, rpl, inv, trk, snat, dnat"
    );
    assert_eq!(
        key_err("ipv4(frag=maybe)").to_string(),
        "column 11: expected fragment type 'no', 'first' or 'later', found 'maybe'"
    );
    assert_eq!(
        key_err("vlan(vid=4096)").to_string(),
        "column 10: 4096 is too large for a VLAN id (0-4095); the largest allowed value is 0xfff"
    );
}

#[test]
fn duplicates_are_refused() {
    assert_eq!(
        key_err("in_port(1),in_port(2)").to_string(),
        "column 12: key attribute 'in_port' appears twice at this level; keep one"
    );
    assert_eq!(key_err("tcp(src=1,src=2)").to_string(), "column 11: tcp field 'src' is given twice; give it once");
}

#[test]
fn stats_and_trailer() {
    let base = "in_port(1), packets:1, bytes:2, used:0.5s, actions:drop";
    assert_eq!(
        err(base).to_string(),
        "column 38: expected 'never' or seconds with three decimals such as '0.550s' after 'used:', found '0.5s'"
    );
    assert_eq!(
        err("in_port(1), packets:1, bytes:2, used:never, actions:1 2").to_string(),
        "column 54: expected ',' between actions or end of line, found ' '"
    );
    assert_eq!(
        err("in_port(1)").to_string(),
        "column 11: expected ', ' and the flow statistics or actions after the key, found end of line"
    );
    assert_eq!(
        err("in_port(1), packets:1, bytes:2, used:never, offloaded:maybe, actions:1").to_string(),
        "column 55: expected 'yes' or 'partial' after 'offloaded:', found 'maybe'"
    );
    assert_eq!(
        err("ufid:c897bfbf-3d33-4dd5-8701, in_port(1), actions:1").to_string(),
        "column 29: expected '-' in the ufid (a UUID such as c897bfbf-3d33-4dd5-8701-2e06e34e4b75), found ','"
    );
}

#[test]
fn columns_count_characters_not_bytes() {
    // A non-ASCII port name is rejected at its first character.
    let e = err("in_port(1), packets:1, bytes:2, used:never, actions:é");
    assert_eq!(e.column(), 53);
}

#[test]
fn odd_inputs_do_not_panic() {
    for s in [
        "",
        ",",
        "(",
        ")",
        "in_port(",
        "encap(encap(encap(",
        "ipv6(src=:::)",
        "ct_label(0x1/",
        "eth_type(0x)",
        ", actions:",
    ] {
        let _ = parse_flow(s, &mut PortNames::new());
        let _ = parse_key(s, &mut PortNames::new());
    }
}
