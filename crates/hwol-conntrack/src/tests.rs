//! Behaviour tests: real packet bytes through `extract` and `execute`,
//! checking `ct_state` bits and `dump-conntrack` lines at every step, plus
//! a proptest against a naive model of the table.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::Duration;

use hwol_flow::{ct_state, extract, CtAction, DropReason, FlowKey, Layout, Masked, Metadata, NatAction};
use hwol_wire::ipv4::{emit_header, proto};
use hwol_wire::tcp::flags::{ACK, FIN, PSH, RST, SYN};

use crate::{format_entry, Conntrack, CtConfig, CtOutcome, CtTuple, CtVerdict, TcpState, Timeouts};

const NEW: u8 = ct_state::NEW | ct_state::TRK;
const EST: u8 = ct_state::EST | ct_state::TRK;
const EST_RPL: u8 = ct_state::EST | ct_state::RPL | ct_state::TRK;
const REL_RPL: u8 = ct_state::REL | ct_state::RPL | ct_state::TRK;
const INV: u8 = ct_state::INV | ct_state::TRK;

const C: [u8; 4] = [10, 0, 0, 1];
const S: [u8; 4] = [10, 0, 0, 2];

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

// ---------------------------------------------------------------- builders

fn eth(ethertype: u16) -> Vec<u8> {
    let mut v = vec![0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01];
    v.extend_from_slice(&ethertype.to_be_bytes());
    v
}

fn ipv4(src: [u8; 4], dst: [u8; 4], p: u8, l4: &[u8]) -> Vec<u8> {
    let mut v = eth(0x0800);
    let mut h = [0u8; 20];
    emit_header(&mut h, src, dst, p, 64, 0, l4.len() as u16, 0x4000);
    v.extend_from_slice(&h);
    v.extend_from_slice(l4);
    v
}

fn ipv6(src: &str, dst: &str, next: u8, l4: &[u8]) -> Vec<u8> {
    let mut v = eth(0x86dd);
    v.extend_from_slice(&ipv6_header(src, dst, next, l4.len()));
    v.extend_from_slice(l4);
    v
}

fn ipv6_header(src: &str, dst: &str, next: u8, payload: usize) -> Vec<u8> {
    let s: std::net::Ipv6Addr = src.parse().unwrap();
    let d: std::net::Ipv6Addr = dst.parse().unwrap();
    let mut v = vec![0x60, 0, 0, 0];
    v.extend_from_slice(&(payload as u16).to_be_bytes());
    v.extend_from_slice(&[next, 64]);
    v.extend_from_slice(&s.octets());
    v.extend_from_slice(&d.octets());
    v
}

fn tcp_hdr(sport: u16, dport: u16, flags: u16, seq: u32, ack: u32, payload: usize, wscale: Option<u8>) -> Vec<u8> {
    let opt_len = if wscale.is_some() { 4 } else { 0 };
    let mut v = Vec::new();
    v.extend_from_slice(&sport.to_be_bytes());
    v.extend_from_slice(&dport.to_be_bytes());
    v.extend_from_slice(&seq.to_be_bytes());
    v.extend_from_slice(&ack.to_be_bytes());
    v.push((((20 + opt_len) / 4) as u8) << 4);
    v.push(flags as u8);
    v.extend_from_slice(&64240u16.to_be_bytes()); // window
    v.extend_from_slice(&[0, 0, 0, 0]); // checksum (not verified), urgent
    if let Some(w) = wscale {
        v.extend_from_slice(&[3, 3, w, 0]); // window scale, EOL
    }
    v.resize(v.len() + payload, 0xab);
    v
}

fn tcp4(
    src: [u8; 4],
    dst: [u8; 4],
    (sport, dport): (u16, u16),
    flags: u16,
    seq: u32,
    ack: u32,
    payload: usize,
) -> Vec<u8> {
    ipv4(src, dst, proto::TCP, &tcp_hdr(sport, dport, flags, seq, ack, payload, None))
}

fn udp_hdr(sport: u16, dport: u16, payload: usize) -> Vec<u8> {
    let mut v = Vec::new();
    v.extend_from_slice(&sport.to_be_bytes());
    v.extend_from_slice(&dport.to_be_bytes());
    v.extend_from_slice(&((8 + payload) as u16).to_be_bytes());
    v.extend_from_slice(&[0, 0]);
    v.resize(8 + payload, 0x55);
    v
}

fn udp4(src: [u8; 4], dst: [u8; 4], sport: u16, dport: u16) -> Vec<u8> {
    ipv4(src, dst, proto::UDP, &udp_hdr(sport, dport, 4))
}

fn icmp_echo(t: u8, id: u16, seq: u16) -> Vec<u8> {
    let mut v = vec![t, 0, 0, 0];
    v.extend_from_slice(&id.to_be_bytes());
    v.extend_from_slice(&seq.to_be_bytes());
    v.extend_from_slice(b"ping");
    v
}

fn icmp_error(t: u8, code: u8, quoted: &[u8]) -> Vec<u8> {
    let mut v = vec![t, code, 0, 0, 0, 0, 0, 0];
    v.extend_from_slice(quoted);
    v
}

fn key_of(pkt: &[u8]) -> (FlowKey, Layout) {
    extract(pkt, &Metadata::on_port(1)).unwrap()
}

fn commit(zone: u16) -> CtAction {
    CtAction { commit: true, zone, ..Default::default() }
}

fn lookup(zone: u16) -> CtAction {
    CtAction { zone, ..Default::default() }
}

fn run(ct: &Conntrack, pkt: &[u8], a: &CtAction, now: Duration) -> CtOutcome {
    let (k, l) = key_of(pkt);
    ct.execute(pkt, &k, &l, a, now)
}

fn verdict(ct: &Conntrack, pkt: &[u8], a: &CtAction, now: Duration) -> CtVerdict {
    match run(ct, pkt, a, now) {
        CtOutcome::Tracked(v) => v,
        CtOutcome::Drop(r) => panic!("unexpected drop {r}"),
    }
}

fn state(ct: &Conntrack, pkt: &[u8], a: &CtAction, now: Duration) -> u8 {
    verdict(ct, pkt, a, now).state
}

fn dump_lines(ct: &Conntrack, zone: Option<u16>, now: Duration, verbose: bool) -> Vec<String> {
    ct.dump(zone, now).iter().map(|e| format_entry(e, verbose)).collect()
}

fn ip(a: [u8; 4]) -> IpAddr {
    IpAddr::from(a)
}

// ------------------------------------------------------------------- TCP

/// The SYN that opens the connection in `tcp_lifecycle`, byte by byte.
#[rustfmt::skip]
fn annotated_syn() -> Vec<u8> {
    vec![
        0x02, 0x00, 0x00, 0x00, 0x00, 0x02,  // eth dst
        0x02, 0x00, 0x00, 0x00, 0x00, 0x01,  // eth src
        0x08, 0x00,                          // EtherType IPv4
        0x45, 0x00, 0x00, 0x2c,              // v4, IHL 5, TOS 0, total length 44
        0x00, 0x00, 0x40, 0x00,              // id 0, DF
        0x40, 0x06, 0x26, 0xca,              // TTL 64, TCP, header checksum
        0x0a, 0x00, 0x00, 0x01,              // src 10.0.0.1
        0x0a, 0x00, 0x00, 0x02,              // dst 10.0.0.2
        0x93, 0x28, 0x14, 0x51,              // sport 37672, dport 5201
        0x00, 0x00, 0x03, 0xe8,              // seq 1000
        0x00, 0x00, 0x00, 0x00,              // ack 0
        0x60, 0x02, 0xfa, 0xf0,              // data offset 6, SYN, window 64240
        0x00, 0x00, 0x00, 0x00,              // checksum (not verified), urgent
        0x03, 0x03, 0x07, 0x00,              // window scale 7, EOL
    ]
}

#[test]
fn annotated_syn_matches_builder() {
    let built = ipv4(C, S, proto::TCP, &tcp_hdr(37672, 5201, SYN, 1000, 0, 0, Some(7)));
    assert_eq!(annotated_syn(), built);
}

/// Handshake, data, FIN teardown: ct_state and the dump at every step.
#[test]
fn tcp_lifecycle() {
    let ct = Conntrack::new(CtConfig::default());
    let z = 65520;
    let t0 = secs(1000);
    let prefix = "tcp,orig=(src=10.0.0.1,dst=10.0.0.2,sport=37672,dport=5201),reply=(src=10.0.0.2,dst=10.0.0.1,sport=5201,dport=37672),zone=65520";
    let c2s = |flags, seq, ack, len| ipv4(C, S, proto::TCP, &tcp_hdr(37672, 5201, flags, seq, ack, len, None));
    let s2c = |flags, seq, ack, len| ipv4(S, C, proto::TCP, &tcp_hdr(5201, 37672, flags, seq, ack, len, None));

    // SYN, first through ct(zone) without commit: +new, nothing stored.
    assert_eq!(state(&ct, &annotated_syn(), &lookup(z), t0), NEW);
    assert!(ct.is_empty());
    // ...then committed: +new, stored as SYN_SENT for 30 s.
    let v = verdict(&ct, &annotated_syn(), &commit(z), t0);
    assert_eq!(v.state, NEW);
    assert_eq!(v.orig, Some(CtTuple::ports(ip(C), ip(S), proto::TCP, 37672, 5201)));
    assert_eq!(ct.len(), 1);
    assert_eq!(dump_lines(&ct, None, t0, true), [format!("{prefix},timeout=30,protoinfo=(state=SYN_SENT)")]);
    // A retransmitted SYN is still +new.
    assert_eq!(state(&ct, &annotated_syn(), &lookup(z), t0 + secs(1)), NEW);

    // SYN-ACK: +est+rpl.
    let synack = ipv4(S, C, proto::TCP, &tcp_hdr(5201, 37672, SYN | ACK, 5000, 1001, 0, Some(7)));
    assert_eq!(state(&ct, &synack, &lookup(z), t0 + secs(1)), EST_RPL);
    assert_eq!(
        dump_lines(&ct, Some(z), t0 + secs(1), true),
        [format!("{prefix},timeout=30,protoinfo=(state=ESTABLISHED)")]
    );

    // ACK completes the handshake: 24 h timeout.
    assert_eq!(state(&ct, &c2s(ACK, 1001, 5001, 0), &lookup(z), t0 + secs(2)), EST);
    assert_eq!(
        dump_lines(&ct, Some(z), t0 + secs(8), true),
        [format!("{prefix},timeout=86394,protoinfo=(state=ESTABLISHED)")]
    );
    assert_eq!(dump_lines(&ct, None, t0 + secs(8), false), [format!("{prefix},protoinfo=(state=ESTABLISHED)")]);

    // Data both ways.
    assert_eq!(state(&ct, &c2s(ACK | PSH, 1001, 5001, 1000), &lookup(z), t0 + secs(3)), EST);
    assert_eq!(state(&ct, &s2c(ACK, 5001, 2001, 0), &lookup(z), t0 + secs(3)), EST_RPL);
    assert_eq!(state(&ct, &s2c(ACK | PSH, 5001, 2001, 200), &lookup(z), t0 + secs(3)), EST_RPL);

    // Client FIN: CLOSING, 900 s.
    assert_eq!(state(&ct, &c2s(FIN | ACK, 2001, 5201, 0), &lookup(z), t0 + secs(4)), EST);
    assert_eq!(dump_lines(&ct, None, t0 + secs(4), true), [format!("{prefix},timeout=900,protoinfo=(state=CLOSING)")]);
    // Server ACKs it: the client side is FIN_WAIT_2, printed TIME_WAIT.
    assert_eq!(state(&ct, &s2c(ACK, 5201, 2002, 0), &lookup(z), t0 + secs(4)), EST_RPL);
    assert_eq!(
        dump_lines(&ct, None, t0 + secs(4), true),
        [format!("{prefix},timeout=900,protoinfo=(state=TIME_WAIT)")]
    );
    // Server FIN: both closing, 45 s.
    assert_eq!(state(&ct, &s2c(FIN | ACK, 5201, 2002, 0), &lookup(z), t0 + secs(5)), EST_RPL);
    assert_eq!(dump_lines(&ct, None, t0 + secs(5), true), [format!("{prefix},timeout=45,protoinfo=(state=TIME_WAIT)")]);
    // Last ACK: closed, 30 s.
    assert_eq!(state(&ct, &c2s(ACK, 2002, 5202, 0), &lookup(z), t0 + secs(5)), EST);
    assert_eq!(dump_lines(&ct, None, t0 + secs(5), true), [format!("{prefix},timeout=30,protoinfo=(state=TIME_WAIT)")]);
    let e = ct.dump(None, t0 + secs(5))[0];
    assert!(matches!(
        e.protoinfo,
        crate::ProtoInfo::Tcp {
            state_orig: TcpState::FinWait2,
            state_reply: TcpState::FinWait2,
            wscale_orig: 7,
            wscale_reply: 7
        }
    ));

    // A new SYN on the same ports after the close starts a new connection.
    assert_eq!(state(&ct, &c2s(SYN, 90_000, 0, 0), &commit(z), t0 + secs(6)), NEW);
    assert_eq!(ct.len(), 1);
    assert_eq!(dump_lines(&ct, None, t0 + secs(6), true), [format!("{prefix},timeout=30,protoinfo=(state=SYN_SENT)")]);

    // Idle past the SYN_SENT timeout: gone.
    assert!(ct.dump(None, t0 + secs(36)).is_empty());
    assert_eq!(ct.expire(t0 + secs(36)), 1);
    assert!(ct.is_empty());
}

#[test]
fn tcp_invalid_segments() {
    let ct = Conntrack::new(CtConfig::default());
    let t = secs(1);
    // A SYN-ACK cannot open a connection; neither can SYN+FIN or a bare FIN.
    let synack = tcp4(S, C, (80, 40000), SYN | ACK, 1, 1, 0);
    assert_eq!(state(&ct, &synack, &commit(0), t), INV);
    assert_eq!(state(&ct, &tcp4(C, S, (40000, 80), SYN | FIN, 1, 0, 0), &commit(0), t), INV);
    assert_eq!(state(&ct, &tcp4(C, S, (40000, 80), FIN, 1, 0, 0), &commit(0), t), INV);
    assert!(ct.is_empty());

    // Established connection, then out-of-window data and a bad RST.
    assert_eq!(state(&ct, &tcp4(C, S, (40000, 80), SYN, 100, 0, 0), &commit(0), t), NEW);
    assert_eq!(state(&ct, &tcp4(S, C, (80, 40000), SYN | ACK, 700, 101, 0), &commit(0), t), EST_RPL);
    assert_eq!(state(&ct, &tcp4(C, S, (40000, 80), ACK, 101, 701, 0), &commit(0), t), EST);
    let far = tcp4(C, S, (40000, 80), ACK | PSH, 101 + 50_000_000, 701, 100);
    let v = verdict(&ct, &far, &commit(0), t);
    assert_eq!(v.state, INV);
    // +inv on a known connection still reports the connection's tuple.
    assert_eq!(v.orig, Some(CtTuple::ports(ip(C), ip(S), proto::TCP, 40000, 80)));
    assert_eq!(state(&ct, &tcp4(S, C, (80, 40000), RST, 9_999_999, 0, 0), &lookup(0), t), INV);
    // With sequence checking off the far segment passes.
    ct.set_tcp_seq_check(false);
    assert_eq!(state(&ct, &far, &lookup(0), t), EST);
    ct.set_tcp_seq_check(true);
    // An exact RST resets: TIME_WAIT.
    let e = ct.dump(None, t)[0];
    let crate::ProtoInfo::Tcp { state_orig, .. } = e.protoinfo else { panic!() };
    assert_eq!(state_orig, TcpState::Established);
    assert_eq!(state(&ct, &tcp4(S, C, (80, 40000), RST, 701, 0, 0), &lookup(0), t), EST_RPL);
    assert!(format_entry(&ct.dump(None, t)[0], false).ends_with("protoinfo=(state=TIME_WAIT)"));
}

#[test]
fn tcp_midstream_pickup() {
    // A plain ACK may start tracking (connections that predate the tracker).
    let ct = Conntrack::new(CtConfig::default());
    let t = secs(5);
    assert_eq!(state(&ct, &tcp4(C, S, (40001, 22), ACK | PSH, 5555, 777, 50), &commit(0), t), NEW);
    assert_eq!(state(&ct, &tcp4(S, C, (22, 40001), ACK, 777, 5605, 0), &lookup(0), t), EST_RPL);
    assert_eq!(state(&ct, &tcp4(C, S, (40001, 22), ACK | PSH, 5605, 777, 50), &lookup(0), t), EST);
}

// -------------------------------------------------------------- UDP, ICMP

#[test]
fn udp_pseudo_states_and_dump() {
    let ct = Conntrack::new(CtConfig::default());
    let a = [10, 1, 1, 1];
    let b = [10, 1, 1, 2];
    let q = udp4(a, b, 1, 2);
    let r = udp4(b, a, 2, 1);
    assert_eq!(state(&ct, &q, &commit(0), secs(0)), NEW);
    // Still unanswered: +new again.
    assert_eq!(state(&ct, &q, &lookup(0), secs(1)), NEW);
    assert_eq!(dump_lines(&ct, None, secs(1), true), ["udp,orig=(src=10.1.1.1,dst=10.1.1.2,sport=1,dport=2),reply=(src=10.1.1.2,dst=10.1.1.1,sport=2,dport=1),timeout=60"]);
    assert_eq!(state(&ct, &r, &lookup(0), secs(2)), EST_RPL);
    assert_eq!(state(&ct, &q, &lookup(0), secs(3)), EST);
    // Answered: 30 s, and no zone= for zone 0.
    assert_eq!(dump_lines(&ct, None, secs(3), true), ["udp,orig=(src=10.1.1.1,dst=10.1.1.2,sport=1,dport=2),reply=(src=10.1.1.2,dst=10.1.1.1,sport=2,dport=1),timeout=30"]);
    // A reply to an unknown flow is just new (UDP has no handshake).
    assert_eq!(state(&ct, &udp4(b, a, 2, 9), &lookup(0), secs(3)), NEW);
    // Port 0 and a lying length field are invalid.
    assert_eq!(state(&ct, &udp4(a, b, 0, 2), &commit(0), secs(3)), INV);
    let mut bad = udp4(a, b, 1, 3);
    bad[38..40].copy_from_slice(&100u16.to_be_bytes());
    assert_eq!(state(&ct, &bad, &commit(0), secs(3)), INV);
}

#[test]
fn icmp_echo_v4_and_v6() {
    let ct = Conntrack::new(CtConfig::default());
    let a = [10, 1, 1, 2];
    let b = [10, 1, 1, 1];
    let req = ipv4(a, b, proto::ICMP, &icmp_echo(8, 7, 1));
    let rep = ipv4(b, a, proto::ICMP, &icmp_echo(0, 7, 1));
    // An echo reply cannot start a connection.
    assert_eq!(state(&ct, &rep, &commit(5), secs(0)), INV);
    let v = verdict(&ct, &req, &commit(5), secs(0));
    assert_eq!(v.state, NEW);
    // ct_tp_src/dst carry the original type and code.
    let mut k = FlowKey::default();
    v.apply(&mut k);
    assert_eq!((k.ct_nw_src, k.ct_nw_dst, k.ct_nw_proto, k.ct_tp_src, k.ct_tp_dst), (a, b, 1, 8, 0));
    assert_eq!(state(&ct, &req, &lookup(5), secs(1)), NEW);
    assert_eq!(state(&ct, &rep, &lookup(5), secs(1)), EST_RPL);
    assert_eq!(state(&ct, &req, &lookup(5), secs(2)), EST);
    assert_eq!(
        dump_lines(&ct, Some(5), secs(2), false),
        ["icmp,orig=(src=10.1.1.2,dst=10.1.1.1,id=7,type=8,code=0),reply=(src=10.1.1.1,dst=10.1.1.2,id=7,type=0,code=0),zone=5"]
    );
    // Another identifier is another connection.
    assert_eq!(state(&ct, &ipv4(a, b, proto::ICMP, &icmp_echo(8, 8, 1)), &lookup(5), secs(2)), NEW);
    // A non-zero code on an echo is invalid.
    let mut odd = icmp_echo(8, 7, 2);
    odd[1] = 1;
    assert_eq!(state(&ct, &ipv4(a, b, proto::ICMP, &odd), &lookup(5), secs(2)), INV);

    let req6 = ipv6("fc00::1", "fc00::2", 58, &icmp_echo(128, 3, 1));
    let rep6 = ipv6("fc00::2", "fc00::1", 58, &icmp_echo(129, 3, 1));
    let v = verdict(&ct, &req6, &commit(1), secs(0));
    assert_eq!(v.state, NEW);
    let mut k = FlowKey::default();
    v.apply(&mut k);
    assert_eq!(k.ct_ipv6_src, "fc00::1".parse::<std::net::Ipv6Addr>().unwrap().octets());
    assert_eq!((k.ct_nw_src, k.ct_nw_proto, k.ct_tp_src), ([0; 4], 58, 128));
    assert_eq!(state(&ct, &rep6, &lookup(1), secs(1)), EST_RPL);
    assert_eq!(
        dump_lines(&ct, Some(1), secs(1), true),
        ["icmpv6,orig=(src=fc00::1,dst=fc00::2,id=3,type=128,code=0),reply=(src=fc00::2,dst=fc00::1,id=3,type=129,code=0),zone=1,timeout=30"]
    );
    // Neighbour solicitation is not something conntrack tracks: +inv.
    let ns = ipv6(
        "fc00::1",
        "ff02::1:ff00:2",
        58,
        &[135, 0, 0, 0, 0, 0, 0, 0, 0xfc, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2],
    );
    assert_eq!(state(&ct, &ns, &lookup(1), secs(1)), INV);
}

/// An ICMP port unreachable quoting a UDP packet of a tracked connection.
#[test]
fn icmp_error_is_related() {
    let ct = Conntrack::new(CtConfig::default());
    let q = udp4(C, S, 5000, 53);
    assert_eq!(state(&ct, &q, &commit(0), secs(0)), NEW);
    // The server answers with an ICMP error quoting the query's IP header
    // and the first 8 bytes of its UDP header.
    let quoted = &q[14..14 + 28];
    #[rustfmt::skip]
    let expect_quoted = [
        0x45, 0x00, 0x00, 0x20, 0x00, 0x00, 0x40, 0x00,  // v4, total length 32, DF
        0x40, 0x11, 0x26, 0xcb,                          // TTL 64, UDP, header checksum
        10, 0, 0, 1,  10, 0, 0, 2,                       // 10.0.0.1 -> 10.0.0.2
        0x13, 0x88, 0x00, 0x35, 0x00, 0x0c, 0x00, 0x00,  // 5000 -> 53, len 12
    ];
    assert_eq!(quoted, expect_quoted);
    let err = ipv4(S, C, proto::ICMP, &icmp_error(3, 3, quoted));
    let v = verdict(&ct, &err, &lookup(0), secs(1));
    assert_eq!(v.state, REL_RPL);
    assert_eq!(v.orig, Some(CtTuple::ports(ip(C), ip(S), proto::UDP, 5000, 53)));
    // The error did not answer the UDP flow: the query is still +new.
    assert_eq!(state(&ct, &q, &lookup(0), secs(1)), NEW);

    // An error about an untracked flow is invalid.
    let other = udp4(C, S, 5001, 53);
    let err2 = ipv4(S, C, proto::ICMP, &icmp_error(3, 3, &other[14..14 + 28]));
    assert_eq!(state(&ct, &err2, &lookup(0), secs(1)), INV);
    // So is one whose quoted packet was not sent to the error's recipient.
    let spoof = udp4([10, 9, 9, 9], S, 5000, 53);
    let err3 = ipv4(S, C, proto::ICMP, &icmp_error(3, 3, &spoof[14..14 + 28]));
    assert_eq!(state(&ct, &err3, &lookup(0), secs(1)), INV);
    // A truncated quote is invalid.
    let err4 = ipv4(S, C, proto::ICMP, &icmp_error(3, 3, &q[14..14 + 24]));
    assert_eq!(state(&ct, &err4, &lookup(0), secs(1)), INV);
}

#[test]
fn icmpv6_packet_too_big_is_related_to_tcp() {
    let ct = Conntrack::new(CtConfig::default());
    let syn = ipv6("fc00::1", "fc00::2", 6, &tcp_hdr(40000, 443, SYN, 1, 0, 0, None));
    assert_eq!(state(&ct, &syn, &commit(0), secs(0)), NEW);
    // A router on the way says the SYN was too big (type 2, MTU in bytes 4-7).
    let mut ptb = vec![2, 0, 0, 0, 0, 0, 0x05, 0x00];
    ptb.extend_from_slice(&syn[14..]);
    let err = ipv6("fc00::99", "fc00::1", 58, &ptb);
    // The quoted SYN went fc00::1 -> fc00::2, but the error's destination is
    // fc00::1, the quoted packet's source... which must equal the error's
    // destination: it does, so this is related, in the reply direction.
    assert_eq!(state(&ct, &err, &lookup(0), secs(0)), REL_RPL);
    assert_eq!(
        dump_lines(&ct, None, secs(0), false),
        ["tcp,orig=(src=fc00::1,dst=fc00::2,sport=40000,dport=443),reply=(src=fc00::2,dst=fc00::1,sport=443,dport=40000),protoinfo=(state=SYN_SENT)"]
    );
}

// ---------------------------------------------------------- invalid inputs

#[test]
fn unparseable_packets_are_invalid_without_tuple() {
    let ct = Conntrack::new(CtConfig::default());
    let check = |pkt: &[u8]| {
        let v = verdict(&ct, pkt, &commit(3), secs(0));
        assert_eq!(v, CtVerdict { state: INV, zone: 3, mark: 0, label: 0, orig: None });
    };
    // First fragment of a UDP datagram (MF set).
    let mut frag = udp4(C, S, 1, 2);
    frag[20] = 0x20;
    check(&frag);
    // Truncated TCP header.
    let syn = tcp4(C, S, (1, 2), SYN, 1, 0, 0);
    check(&syn[..14 + 20 + 10]);
    // TCP port 0.
    check(&tcp4(C, S, (0, 2), SYN, 1, 0, 0));
    // ARP.
    #[rustfmt::skip]
    let arp = [
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0, 0, 0, 0, 1, 0x08, 0x06,
        0, 1, 0x08, 0, 6, 4, 0, 1, 0x02, 0, 0, 0, 0, 1, 10, 0, 0, 1, 0, 0, 0, 0, 0, 0, 10, 0, 0, 2,
    ];
    check(&arp);
    // ICMP router advertisement (type 9).
    check(&ipv4(C, S, proto::ICMP, &[9, 0, 0, 0, 0, 0, 0, 0]));
    assert!(ct.is_empty());
}

#[test]
fn other_protocols_are_tracked_by_address() {
    let ct = Conntrack::new(CtConfig::default());
    let gre = ipv4(C, S, 47, &[0, 0, 0x65, 0x58]);
    assert_eq!(state(&ct, &gre, &commit(0), secs(0)), NEW);
    assert_eq!(state(&ct, &ipv4(S, C, 47, &[0, 0, 0x65, 0x58]), &lookup(0), secs(0)), EST_RPL);
    assert_eq!(
        dump_lines(&ct, None, secs(0), false),
        ["47,orig=(src=10.0.0.1,dst=10.0.0.2,sport=0,dport=0),reply=(src=10.0.0.2,dst=10.0.0.1,sport=0,dport=0)"]
    );
    // SCTP gets its ports.
    let mut sctp = vec![0x0b, 0xb8, 0x0b, 0xb9, 0, 0, 0, 1, 0, 0, 0, 0];
    sctp.extend_from_slice(&[1, 0, 0, 4]);
    assert_eq!(state(&ct, &ipv4(C, S, proto::SCTP, &sctp), &commit(0), secs(0)), NEW);
    assert!(dump_lines(&ct, None, secs(0), false).contains(
        &"sctp,orig=(src=10.0.0.1,dst=10.0.0.2,sport=3000,dport=3001),reply=(src=10.0.0.2,dst=10.0.0.1,sport=3001,dport=3000)".to_string()
    ));
}

#[test]
fn nat_is_refused() {
    let ct = Conntrack::new(CtConfig::default());
    let a = CtAction { commit: true, nat: Some(NatAction::default()), ..Default::default() };
    assert_eq!(run(&ct, &udp4(C, S, 1, 2), &a, secs(0)), CtOutcome::Drop(DropReason::CtNatUnsupported));
    assert!(ct.is_empty());
}

// ---------------------------------------------------- zones, marks, limits

#[test]
fn zones_are_isolated() {
    let ct = Conntrack::new(CtConfig::default());
    let q = udp4(C, S, 1000, 2000);
    let r = udp4(S, C, 2000, 1000);
    assert_eq!(state(&ct, &q, &commit(1), secs(0)), NEW);
    assert_eq!(state(&ct, &r, &lookup(2), secs(0)), NEW);
    assert_eq!(state(&ct, &r, &lookup(1), secs(0)), EST_RPL);
    assert_eq!(state(&ct, &q, &commit(2), secs(0)), NEW);
    assert_eq!(ct.len(), 2);
    assert_eq!(ct.dump(Some(1), secs(0)).len(), 1);
    assert_eq!(ct.zone_count(2), 1);
    assert_eq!(ct.flush(Some(2)), 1);
    assert_eq!(ct.len(), 1);
    assert_eq!(ct.zone_count(2), 0);
    assert_eq!(state(&ct, &r, &lookup(1), secs(0)), EST_RPL);
    assert_eq!(ct.flush(None), 1);
    assert!(ct.is_empty());
}

#[test]
fn mark_and_label_are_masked_and_reported() {
    let ct = Conntrack::new(CtConfig::default());
    let q = udp4(C, S, 1, 2);
    let r = udp4(S, C, 2, 1);
    let a = CtAction {
        commit: true,
        mark: Some(Masked::new(0xaa, 0xff)),
        label: Some(Masked::new(0xaa << 32, u128::MAX)),
        ..Default::default()
    };
    let v = verdict(&ct, &q, &a, secs(0));
    assert_eq!((v.mark, v.label), (0xaa, 0xaa00000000));
    // Replies see the connection's mark and label.
    let v = verdict(&ct, &r, &lookup(0), secs(0));
    assert_eq!((v.state, v.mark, v.label), (EST_RPL, 170, 0xaa00000000));
    // A masked update touches only the masked bits; lookups change nothing.
    let a2 = CtAction { commit: true, mark: Some(Masked::new(0x1200, 0xff00)), ..Default::default() };
    assert_eq!(verdict(&ct, &q, &a2, secs(0)).mark, 0x12aa);
    let a3 = CtAction { mark: Some(Masked::new(0, u32::MAX)), ..Default::default() };
    assert_eq!(verdict(&ct, &q, &a3, secs(0)).mark, 0x12aa);
    assert_eq!(
        dump_lines(&ct, None, secs(0), false),
        ["udp,orig=(src=10.0.0.1,dst=10.0.0.2,sport=1,dport=2),reply=(src=10.0.0.2,dst=10.0.0.1,sport=2,dport=1),mark=4778,labels=0xaa00000000"]
    );
    let mut k = FlowKey::default();
    verdict(&ct, &r, &lookup(0), secs(0)).apply(&mut k);
    assert_eq!((k.ct_state, k.ct_mark, k.ct_label), (EST_RPL, 0x12aa, 0xaa00000000));
    assert_eq!((k.ct_nw_src, k.ct_nw_dst, k.ct_nw_proto, k.ct_tp_src, k.ct_tp_dst), (C, S, 17, 1, 2));
}

#[test]
fn force_commit_replaces_reverse_connection() {
    let ct = Conntrack::new(CtConfig::default());
    let q = udp4(C, S, 1, 2);
    let r = udp4(S, C, 2, 1);
    assert_eq!(state(&ct, &q, &commit(0), secs(0)), NEW);
    let force = CtAction { commit: true, force: true, ..Default::default() };
    // Same direction: nothing special.
    assert_eq!(state(&ct, &q, &force, secs(0)), NEW);
    // Reply direction: the old connection goes, a new one starts from S.
    let v = verdict(&ct, &r, &force, secs(0));
    assert_eq!(v.state, NEW);
    assert_eq!(v.orig, Some(CtTuple::ports(ip(S), ip(C), proto::UDP, 2, 1)));
    assert_eq!(ct.len(), 1);
    assert_eq!(state(&ct, &q, &lookup(0), secs(0)), EST_RPL);
}

/// `ct(zone=Z),recirc` then `ct(commit,zone=Z)`: the second pass must not
/// run the state machine again.
#[test]
fn second_pass_in_same_zone_keeps_state() {
    let ct = Conntrack::new(CtConfig::default());
    let q = udp4(C, S, 1, 2);
    assert_eq!(state(&ct, &q, &commit(9), secs(0)), NEW);
    // The reply, twice in zone 9 as after a recirculation.
    let r = udp4(S, C, 2, 1);
    let (mut k, l) = key_of(&r);
    let CtOutcome::Tracked(v1) = ct.execute(&r, &k, &l, &lookup(9), secs(1)) else { panic!() };
    assert_eq!(v1.state, EST_RPL);
    v1.apply(&mut k);
    let CtOutcome::Tracked(v2) = ct.execute(&r, &k, &l, &commit(9), secs(1)) else { panic!() };
    assert_eq!(v2, v1);
    // In another zone it is tracked afresh.
    let CtOutcome::Tracked(v3) = ct.execute(&r, &k, &l, &lookup(10), secs(1)) else { panic!() };
    assert_eq!(v3.state, NEW);
}

#[test]
fn table_and_zone_limits() {
    let mut zl = HashMap::new();
    zl.insert(7u16, 1usize);
    zl.insert(8u16, 0usize);
    let ct = Conntrack::new(CtConfig {
        max_entries: 3,
        default_zone_limit: None,
        zone_limits: zl,
        timeouts: Timeouts::default(),
    });
    let t = secs(0);
    assert_eq!(state(&ct, &udp4(C, S, 1, 1), &commit(7), t), NEW);
    assert_eq!(run(&ct, &udp4(C, S, 1, 2), &commit(7), t), CtOutcome::Drop(DropReason::CtZoneLimit));
    assert_eq!(run(&ct, &udp4(C, S, 1, 2), &commit(8), t), CtOutcome::Drop(DropReason::CtZoneLimit));
    // Without commit, nothing is counted and nothing is dropped.
    assert_eq!(state(&ct, &udp4(C, S, 1, 2), &lookup(7), t), NEW);
    // Existing connections are unaffected by the limit.
    assert_eq!(state(&ct, &udp4(S, C, 1, 1), &commit(7), t), EST_RPL);
    assert_eq!(state(&ct, &udp4(C, S, 1, 3), &commit(0), t), NEW);
    assert_eq!(state(&ct, &udp4(C, S, 1, 4), &commit(0), t), NEW);
    assert_eq!(run(&ct, &udp4(C, S, 1, 5), &commit(0), t), CtOutcome::Drop(DropReason::CtTableFull));
    assert_eq!(ct.len(), 3);

    // A default limit applies to zones without their own.
    ct.flush(None);
    ct.set_limits(Some(2), HashMap::new());
    ct.set_max_entries(100);
    assert_eq!(state(&ct, &udp4(C, S, 2, 1), &commit(4), t), NEW);
    assert_eq!(state(&ct, &udp4(C, S, 2, 2), &commit(4), t), NEW);
    assert_eq!(run(&ct, &udp4(C, S, 2, 3), &commit(4), t), CtOutcome::Drop(DropReason::CtZoneLimit));
    assert_eq!(state(&ct, &udp4(C, S, 2, 3), &commit(5), t), NEW);
    // Default 0 means no default.
    ct.set_limits(Some(0), HashMap::new());
    assert_eq!(state(&ct, &udp4(C, S, 2, 3), &commit(4), t), NEW);
}

// ----------------------------------------------------------------- time

#[test]
fn expiry_on_injected_clock() {
    let to = Timeouts { udp_first: secs(10), udp_multiple: secs(5), ..Timeouts::default() };
    let ct = Conntrack::new(CtConfig { timeouts: to, ..CtConfig::default() });
    let q = udp4(C, S, 1, 2);
    let t0 = secs(100);
    assert_eq!(state(&ct, &q, &commit(0), t0), NEW);
    assert_eq!(ct.dump(None, t0 + secs(3))[0].timeout_secs, 7);
    // Not yet expired at 9.999 s.
    assert_eq!(ct.expire(t0 + Duration::from_millis(9_999)), 0);
    // Expired at exactly 10 s: invisible to packets and dumps, still counted.
    assert_eq!(state(&ct, &udp4(S, C, 2, 1), &lookup(0), t0 + secs(10)), NEW);
    assert!(ct.dump(None, t0 + secs(10)).is_empty());
    assert_eq!(ct.len(), 1);
    assert!(!ct.touch(0, &CtTuple::ports(ip(C), ip(S), proto::UDP, 1, 2), t0 + secs(10)));
    assert_eq!(ct.expire(t0 + secs(10)), 1);
    assert!(ct.is_empty());

    // touch() keeps a live connection alive with its current timeout.
    assert_eq!(state(&ct, &q, &commit(0), t0), NEW);
    assert_eq!(state(&ct, &udp4(S, C, 2, 1), &lookup(0), t0 + secs(1)), EST_RPL);
    let rev = CtTuple::ports(ip(S), ip(C), proto::UDP, 2, 1);
    assert!(ct.touch(0, &rev, t0 + secs(5)));
    assert!(!ct.touch(1, &rev, t0 + secs(5)));
    assert_eq!(ct.dump(None, t0 + secs(5))[0].timeout_secs, 5);
    assert_eq!(ct.expire(t0 + secs(9)), 0);
    assert_eq!(ct.expire(t0 + secs(10)), 1);

    // Re-committing over an expired, unswept entry replaces it.
    assert_eq!(state(&ct, &q, &commit(0), t0), NEW);
    assert_eq!(state(&ct, &q, &commit(0), t0 + secs(20)), NEW);
    assert_eq!(ct.len(), 1);
    assert_eq!(ct.dump(None, t0 + secs(20))[0].timeout_secs, 10);
}

#[test]
fn default_timeouts_are_ovs_defaults() {
    let t = Timeouts::default();
    let s: Vec<u64> = [
        t.tcp_syn_sent,
        t.tcp_syn_recv,
        t.tcp_established,
        t.tcp_fin_wait,
        t.tcp_time_wait,
        t.tcp_close,
        t.udp_first,
        t.udp_single,
        t.udp_multiple,
        t.icmp_first,
        t.icmp_reply,
    ]
    .iter()
    .map(Duration::as_secs)
    .collect();
    assert_eq!(s, [30, 30, 86400, 900, 45, 30, 60, 60, 30, 60, 30]);
    assert_eq!(CtConfig::default().max_entries, 3_000_000);
}

#[test]
fn conntrack_is_send_sync() {
    fn check<T: Send + Sync>() {}
    check::<Conntrack>();
}

// ------------------------------------------------------ reference model

mod model {
    use super::*;
    use proptest::prelude::*;

    const MAX: usize = 6;
    const ZONE1_LIMIT: usize = 3;

    #[derive(Clone, Debug)]
    enum Op {
        Packet { from: u8, to: u8, sport: u16, dport: u16, zone: u16, commit: bool },
        Advance(u64),
        Expire,
        Flush(Option<u16>),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            6 => (0u8..3, 0u8..3, 1u16..3, 1u16..3, 0u16..2, any::<bool>())
                .prop_map(|(from, to, sport, dport, zone, commit)| Op::Packet { from, to, sport, dport, zone, commit }),
            2 => (1u64..40).prop_map(Op::Advance),
            1 => Just(Op::Expire),
            1 => prop_oneof![Just(None), (0u16..2).prop_map(Some)].prop_map(Op::Flush),
        ]
    }

    /// A committed UDP connection as a plain list entry.
    #[derive(Clone, Debug)]
    struct M {
        zone: u16,
        orig: CtTuple,
        replied: bool,
        expires: u64,
    }

    fn host(i: u8) -> [u8; 4] {
        [192, 168, 0, 10 + i]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]
        #[test]
        fn udp_matches_model(ops in proptest::collection::vec(op(), 1..80)) {
            let mut zl = HashMap::new();
            zl.insert(1u16, ZONE1_LIMIT);
            let to = Timeouts { udp_first: secs(60), udp_single: secs(60), udp_multiple: secs(30), ..Timeouts::default() };
            let ct = Conntrack::new(CtConfig { max_entries: MAX, default_zone_limit: None, zone_limits: zl, timeouts: to });
            let mut model: Vec<M> = Vec::new();
            let mut now = 0u64;
            for op in ops {
                match op {
                    Op::Packet { from, to, sport, dport, zone, commit } => {
                        let pkt = udp4(host(from), host(to), sport, dport);
                        let t = CtTuple::ports(ip(host(from)), ip(host(to)), proto::UDP, sport, dport);
                        let a = CtAction { commit, zone, ..Default::default() };
                        let got = run(&ct, &pkt, &a, secs(now));
                        let live = model.iter().position(|m| m.zone == zone && now < m.expires && (m.orig == t || m.orig.reverse() == t));
                        let want = match live {
                            Some(i) => {
                                let m = &mut model[i];
                                let reply = m.orig != t;
                                m.replied |= reply;
                                m.expires = now + if m.replied { 30 } else { 60 };
                                let s = if reply { EST_RPL } else if m.replied { EST } else { NEW };
                                CtOutcome::Tracked(CtVerdict { state: s, zone, mark: 0, label: 0, orig: Some(m.orig) })
                            }
                            None if !commit => CtOutcome::Tracked(CtVerdict { state: NEW, zone, mark: 0, label: 0, orig: Some(t) }),
                            None => {
                                // A stale entry under the same key is replaced.
                                model.retain(|m| !(m.zone == zone && (m.orig == t || m.orig.reverse() == t)));
                                let in_zone = model.iter().filter(|m| m.zone == zone).count();
                                if zone == 1 && in_zone >= ZONE1_LIMIT {
                                    CtOutcome::Drop(DropReason::CtZoneLimit)
                                } else if model.len() >= MAX {
                                    CtOutcome::Drop(DropReason::CtTableFull)
                                } else {
                                    model.push(M { zone, orig: t, replied: false, expires: now + 60 });
                                    CtOutcome::Tracked(CtVerdict { state: NEW, zone, mark: 0, label: 0, orig: Some(t) })
                                }
                            }
                        };
                        prop_assert_eq!(got, want);
                    }
                    Op::Advance(s) => now += s,
                    Op::Expire => {
                        let before = model.len();
                        model.retain(|m| now < m.expires);
                        prop_assert_eq!(ct.expire(secs(now)), before - model.len());
                    }
                    Op::Flush(z) => {
                        let before = model.len();
                        model.retain(|m| z.is_some_and(|z| z != m.zone));
                        prop_assert_eq!(ct.flush(z), before - model.len());
                    }
                }
                prop_assert_eq!(ct.len(), model.len());
                let live: usize = model.iter().filter(|m| now < m.expires).count();
                prop_assert_eq!(ct.dump(None, secs(now)).len(), live);
            }
        }
    }
}

#[test]
fn adopted_connection_is_established_mid_stream_and_still_tracks_teardown() {
    let ct = Conntrack::new(CtConfig::default());
    let (a, b) = ([10, 0, 0, 1], [10, 0, 0, 2]);
    let orig = CtTuple::ports(ip(a), ip(b), 6, 40000, 5201);
    assert!(ct.adopt_established(7, &orig, 0x20, 0, secs(1)));
    assert!(!ct.adopt_established(7, &orig, 0x20, 0, secs(1)), "already known");
    // Mid-stream segments with sequence numbers conntrack never saw.
    let data = tcp4(a, b, (40000, 5201), ACK | PSH, 123_456, 789, 100);
    let v = verdict(&ct, &data, &lookup(7), secs(2));
    assert_eq!(v.state, ct_state::TRK | ct_state::EST);
    assert_eq!(v.mark, 0x20);
    let reply = tcp4(b, a, (5201, 40000), ACK, 789, 123_556, 0);
    assert_eq!(state(&ct, &reply, &lookup(7), secs(2)), ct_state::TRK | ct_state::EST | ct_state::RPL);
    // The teardown moves the state machine on.
    let fin = tcp4(a, b, (40000, 5201), ACK | FIN, 123_556, 789, 0);
    state(&ct, &fin, &lookup(7), secs(3));
    let line = dump_lines(&ct, Some(7), secs(3), false).join("\n");
    assert!(!line.contains("state=ESTABLISHED"), "{line}");

    // Only the adopted connection is tracked liberally: a connection this
    // tracker saw from its SYN still has its out-of-window segments refused.
    let (c, s) = ([10, 0, 0, 3], [10, 0, 0, 4]);
    assert_eq!(state(&ct, &tcp4(c, s, (40001, 80), SYN, 100, 0, 0), &commit(7), secs(4)), NEW);
    assert_eq!(state(&ct, &tcp4(s, c, (80, 40001), SYN | ACK, 700, 101, 0), &commit(7), secs(4)), EST_RPL);
    assert_eq!(state(&ct, &tcp4(c, s, (40001, 80), ACK, 101, 701, 0), &commit(7), secs(4)), EST);
    let far = tcp4(c, s, (40001, 80), ACK | PSH, 101 + 50_000_000, 701, 100);
    assert_eq!(state(&ct, &far, &lookup(7), secs(4)), INV);
}

#[test]
fn change_log_reports_phase_changes_and_removals_only() {
    let ct = Conntrack::new(CtConfig::default());
    let (a, b) = ([10, 1, 1, 1], [10, 1, 1, 2]);
    let (q, r) = (udp4(a, b, 1, 2), udp4(b, a, 2, 1));
    let tuple = CtTuple::ports(ip(a), ip(b), proto::UDP, 1, 2);
    assert_eq!(state(&ct, &q, &commit(7), secs(0)), NEW);
    // The first call turns the log on and reports every live connection.
    assert_eq!(ct.take_changes(), [(7, tuple)]);
    assert_eq!(ct.take_changes(), []);
    // FIRST -> MULTIPLE: reported; MULTIPLE again: nothing.
    assert_eq!(state(&ct, &q, &lookup(7), secs(1)), NEW);
    assert_eq!(ct.take_changes(), [(7, tuple)]);
    assert_eq!(state(&ct, &q, &lookup(7), secs(1)), NEW);
    assert_eq!(ct.take_changes(), []);
    // A reply (BIDIR), then more traffic both ways: reported once.
    assert_eq!(state(&ct, &r, &lookup(7), secs(2)), EST_RPL);
    assert_eq!(state(&ct, &q, &lookup(7), secs(2)), EST);
    assert_eq!(ct.take_changes(), [(7, tuple)]);
    assert_eq!(state(&ct, &q, &lookup(7), secs(3)), EST);
    assert_eq!(ct.take_changes(), []);
    // Expiry removes it: reported.
    assert_eq!(ct.expire(secs(1000)), 1);
    assert_eq!(ct.take_changes(), [(7, tuple)]);
    assert!(ct.get(7, &tuple, secs(1000)).is_none());
}
