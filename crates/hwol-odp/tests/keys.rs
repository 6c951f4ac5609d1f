//! Key attributes one by one: parse, print, and what they mean as a
//! `FlowKey`/`FlowMask`.

use hwol_flow::{ct_state, nw_frag, FlowKey, FlowMask};
use hwol_odp::{parse_flow, parse_key, FormatOpts, FromFlowOpts, KeyAttr, OdpKey, PortNames};

/// Parse `text`, check it prints back unchanged in its own style, return the key.
fn rt(text: &str) -> (OdpKey, bool) {
    let mut ports = PortNames::new();
    let (key, style) = parse_key(text, &mut ports).unwrap_or_else(|e| panic!("{text}: {e}"));
    let names = if style.names { Some(&ports) } else { None };
    assert_eq!(key.format(names, style.verbose), text);
    (key, style.verbose)
}

fn flow(text: &str) -> (FlowKey, FlowKey) {
    let (k, m) = rt(text).0.to_flow();
    (k, m.0)
}

#[test]
fn metadata_attributes() {
    let (k, m) = flow("skb_priority(0x7),skb_mark(0x10/0xf0),recirc_id(0x18),dp_hash(0x5/0xff),in_port(3)");
    assert_eq!((k.skb_priority, m.skb_priority), (7, u32::MAX));
    assert_eq!((k.skb_mark, m.skb_mark), (0x10, 0xf0));
    assert_eq!((k.recirc_id, k.dp_hash, m.dp_hash, k.in_port), (0x18, 5, 0xff, 3));
    rt("recirc_id(0),in_port(4294967295)");
    rt("in_port(5/0xff)");
}

#[test]
fn conntrack_attributes_terse() {
    let (k, m) = flow("ct_state(-new+est+trk),ct_zone(0xfff0),ct_mark(0x1/0xf),ct_label(0x1/0xff)");
    assert_eq!(k.ct_state, ct_state::EST | ct_state::TRK);
    assert_eq!(m.ct_state, ct_state::NEW | ct_state::EST | ct_state::TRK);
    assert_eq!((k.ct_zone, m.ct_zone, k.ct_mark, m.ct_mark), (65520, 0xffff, 1, 0xf));
    assert_eq!((k.ct_label, m.ct_label), (1, 0xff));
    // Exact ct_state prints with '|'; zero prints as 0.
    let (k, m) = flow("ct_state(new|trk)");
    assert_eq!((k.ct_state, m.ct_state), (0x21, 0xff));
    rt("ct_state(0)");
    rt("ct_mark(0),ct_label(0x1234567890abcdef1234567890abcdef)");
}

#[test]
fn conntrack_attributes_verbose() {
    let (key, verbose) = rt("ct_state(0x2a/0x23),ct_zone(0xfff0/0),ct_mark(0/0),ct_label(0/0)");
    assert!(verbose);
    let (k, m) = key.to_flow();
    assert_eq!((k.ct_state, m.0.ct_state), (0x2a, 0x23));
    assert_eq!((k.ct_zone, m.0.ct_zone), (0xfff0, 0));
    // Printed tersely, the same key shows only what is matched.
    assert_eq!(key.format(None, false), "ct_state(-new+est+trk)");
}

#[test]
fn conntrack_tuples() {
    let (k, m) = flow("ct_tuple4(src=10.0.0.1,dst=10.0.0.2/255.255.255.0,proto=6,tp_src=37672,tp_dst=5201/0xff00)");
    assert_eq!((k.ct_nw_src, k.ct_nw_dst, m.ct_nw_dst), ([10, 0, 0, 1], [10, 0, 0, 2], [255, 255, 255, 0]));
    assert_eq!((k.ct_nw_proto, k.ct_tp_src, k.ct_tp_dst, m.ct_tp_dst), (6, 37672, 5201, 0xff00));
    let (k, _) = flow("ct_tuple6(src=fe80::1,dst=2001:db8::2,proto=17,src_port=53,dst_port=5353)");
    assert_eq!((k.ct_nw_proto, k.ct_tp_src, k.ct_tp_dst), (17, 53, 5353));
    assert_eq!(k.ct_ipv6_src[15], 1);
    // OVS's parser spells the ports tp_src/tp_dst; both are accepted.
    let mut p = PortNames::new();
    let (key, _) = parse_key("ct_tuple6(src=::1,tp_src=1,tp_dst=2)", &mut p).unwrap();
    assert_eq!(key.format(None, false), "ct_tuple6(src=::1,src_port=1,dst_port=2)");
}

#[test]
fn ethernet_and_packet_type() {
    let (k, m) = flow("packet_type(ns=0,id=0),eth(src=1a:00:25:cc:24:20,dst=ff:ff:ff:ff:ff:ff/01:00:00:00:00:00)");
    assert_eq!(k.eth_src, [0x1a, 0, 0x25, 0xcc, 0x24, 0x20]);
    assert_eq!(m.eth_dst, [1, 0, 0, 0, 0, 0]);
    rt("packet_type(ns=1,id=0x800)");
    // Kernel style: an all-wildcard eth with no packet_type prints as eth().
    rt("in_port(1),eth(),eth_type(0x0800)");
    // With packet_type in front it is left out.
    let mut p = PortNames::new();
    let (key, _) = parse_key("packet_type(ns=0,id=0),eth(),eth_type(0x0800)", &mut p).unwrap();
    assert_eq!(key.format(None, false), "packet_type(ns=0,id=0),eth_type(0x0800)");
}

#[test]
fn vlan_and_encap() {
    let (k, m) = flow("eth_type(0x88a8),vlan(vid=100,pcp=5),encap(eth_type(0x8100),vlan(vid=10),encap(eth_type(0x0800),ipv4(proto=17),udp(dst=4789)))");
    assert_eq!((k.vlans[0].tpid, k.vlans[0].tci), (0x88a8, (5 << 13) | 100));
    assert_eq!((m.vlans[0].tpid, m.vlans[0].tci), (0xffff, 0xefff));
    assert_eq!((k.vlans[1].tpid, k.vlans[1].tci, m.vlans[1].tci), (0x8100, 10, 0x0fff));
    assert_eq!((k.eth_type, k.nw_proto, k.tp_dst), (0x0800, 17, 4789));
    // Masked vid, cfi=0 and verbose forms.
    let (_, verbose) = rt("eth_type(0x8100),vlan(vid=5/0xff0,pcp=3/0x0),encap()");
    assert!(!verbose, "terse output prints vlan fields with zero masks when the value is set");
    rt("eth_type(0x8100),vlan(cfi=0),encap()");
    let (_, verbose) = rt("eth_type(0x8100/0x0000),vlan(vid=0/0x0,pcp=0/0x0),encap()");
    assert!(verbose);
}

#[test]
fn untagged_match_pins_the_tpid() {
    let (k, m) = flow("eth_type(0x0800)");
    assert_eq!((k.vlans[0].tpid, m.vlans[0].tpid, m.eth_type), (0, 0xffff, 0xffff));
}

#[test]
fn ipv4_fields_and_frag() {
    let (k, m) =
        flow("eth_type(0x0800),ipv4(src=10.0.0.1,dst=192.168.1.0/255.255.255.0,proto=6,tos=0x10,ttl=64,frag=no)");
    assert_eq!((k.nw_src, k.nw_dst, m.nw_dst), ([10, 0, 0, 1], [192, 168, 1, 0], [255, 255, 255, 0]));
    assert_eq!((k.nw_proto, k.nw_tos, k.nw_ttl, k.nw_frag, m.nw_frag), (6, 0x10, 64, 0, 3));
    let (k, _) = flow("ipv4(frag=first)");
    assert_eq!(k.nw_frag, nw_frag::ANY);
    let (k, _) = flow("ipv4(frag=later)");
    assert_eq!(k.nw_frag, nw_frag::ANY | nw_frag::LATER);
    rt("ipv4(tos=0x3/0xfc,ttl=64/0xf0)");
}

#[test]
fn ipv6_fields() {
    let (k, m) = flow("eth_type(0x86dd),ipv6(src=fe80::1,dst=2001:db8::/ffff:ffff::,label=0x12345,proto=58,tclass=0x2,hlimit=255,frag=no),icmpv6(type=135,code=0)");
    assert_eq!((k.ipv6_label, m.ipv6_label, k.nw_proto, k.nw_tos, k.nw_ttl), (0x12345, 0xfffff, 58, 2, 255));
    assert_eq!(m.ipv6_dst[..4], [0xff; 4]);
    assert_eq!((k.tp_src, m.tp_src, k.tp_dst, m.tp_dst), (135, 0xff, 0, 0xff));
    rt("ipv6(label=0x1/0xff)");
    rt("ipv6(src=::ffff:10.0.0.1)");
}

#[test]
fn l4_attributes() {
    let (k, m) = flow("tcp(src=80,dst=1024/0xfc00),tcp_flags(+syn-ack)");
    assert_eq!((k.tp_src, k.tp_dst, m.tp_dst), (80, 1024, 0xfc00));
    assert_eq!((k.tcp_flags, m.tcp_flags), (0x002, 0x012));
    let (k, m) = flow("tcp_flags(syn|ack)");
    assert_eq!((k.tcp_flags, m.tcp_flags), (0x012, 0xfff));
    rt("tcp_flags(fin|syn|rst|psh|ack|urg|ece|cwr|ns|[200]|[400]|[800])");
    rt("udp(src=53)");
    rt("sctp(dst=9)");
    let (k, _) = flow("icmp(type=8,code=0)");
    assert_eq!((k.tp_src, k.tp_dst), (8, 0));
}

#[test]
fn arp_fields() {
    let (k, m) = flow("eth_type(0x0806),arp(sip=10.0.0.1,tip=10.0.0.2,op=1,sha=6e:01:ee:90:f3:6d,tha=00:00:00:00:00:00/ff:ff:ff:00:00:00)");
    assert_eq!((k.nw_src, k.nw_dst, k.arp_op), ([10, 0, 0, 1], [10, 0, 0, 2], 1));
    assert_eq!((k.arp_sha[0], m.arp_tha), (0x6e, [0xff, 0xff, 0xff, 0, 0, 0]));
}

#[test]
fn terse_parse_drops_what_terse_print_would_not_show() {
    let mut p = PortNames::new();
    // skb_mark with an all-zero mask is only printed verbosely; written
    // tersely as `skb_mark(0x5/0)` the zero mask marks the line verbose.
    let (key, style) = parse_key("skb_mark(0x5/0),in_port(1)", &mut p).unwrap();
    assert!(style.verbose);
    assert_eq!(key.attrs.len(), 2);
    // An empty ipv4() is a wildcard; a terse parse drops it.
    let (key, style) = parse_key("in_port(1),ipv4()", &mut p).unwrap();
    assert!(!style.verbose);
    assert_eq!(key.attrs.len(), 1);
    assert!(matches!(key.attrs[0], KeyAttr::InPort(_)));
}

/// `from_flow` on the key behind an OVS `-m` line reproduces that line's key.
#[test]
fn from_flow_reproduces_ovs_verbose_keys() {
    let data = include_str!("data/dump-flows-tso.txt");
    for line in data.lines().filter(|l| l.starts_with("ufid:")) {
        let mut ports = PortNames::new();
        let f = parse_flow(line, &mut ports).unwrap();
        let (mut key, mask) = f.key.to_flow();
        // OVS printed tcp_flags(0/0) for a SYN (a wildcard prints as 0/0
        // whatever its value); the key had the SYN bit, which is why the
        // attribute is there at all.
        if key.nw_proto == 6 {
            key.tcp_flags = 0x002;
        }
        let rebuilt = OdpKey::from_flow(&key, &mask, &FromFlowOpts::default());
        let opts = FormatOpts { names: Some(&ports), verbose: true };
        assert_eq!(rebuilt.format(opts.names, true), f.key.format(opts.names, true));
        // And tersely it is what plain dump-flows showed.
        let terse = rebuilt.format(Some(&ports), false);
        assert!(data.lines().any(|l| l.starts_with(&format!("{terse}, "))), "{terse}");
    }
}

#[test]
fn kernel_order_puts_recirc_first() {
    let key = FlowKey { eth_type: 0x0800, in_port: 1, ..Default::default() };
    let mut mask = FlowMask::default();
    mask.0.in_port = u32::MAX;
    mask.0.recirc_id = u32::MAX;
    mask.0.eth_type = 0xffff;
    let opts = FromFlowOpts { order: hwol_odp::AttrOrder::Kernel, packet_type: false };
    let k = OdpKey::from_flow(&key, &mask, &opts);
    assert_eq!(k.format(None, false), "recirc_id(0),in_port(1),eth(),eth_type(0x0800)");
    let k = OdpKey::from_flow(&key, &mask, &FromFlowOpts::default());
    assert_eq!(k.format(None, false), "recirc_id(0),in_port(1),packet_type(ns=0,id=0),eth_type(0x0800)");
}
