//! System tests of the eBPF fast path (root; CI runs them as root). Each
//! test builds its own namespaces (see `topo`), loads a provider under a
//! unique instance name, and removes everything on drop, also on failure.

mod topo;

use std::net::IpAddr;
use std::os::fd::AsRawFd;
use std::time::Duration;

use hwol_conntrack::CtTuple;
use hwol_ebpf::{Reason, TcProvider, XdpProvider};
use hwol_flow::{ct_state, Action, CtAction, FlowKey, FlowMask};
use hwol_netdev::afpacket::{PacketPort, PortConfig};
use hwol_offload::{CtOffload, FastPathStats, OffloadFlow, OffloadProvider};
use topo::*;

/// recirc_id(0),in_port(in),eth(src,dst),eth_type(0x0800),ipv4(src,dst) actions:output(out)
fn fwd_flow(ufid: u128, in_port: u32, src: (&str, [u8; 4]), dst: (&str, [u8; 4]), out: u32) -> OffloadFlow {
    let key = FlowKey {
        in_port,
        eth_type: 0x0800,
        eth_src: mac(src.0),
        eth_dst: mac(dst.0),
        nw_src: src.1,
        nw_dst: dst.1,
        ..Default::default()
    };
    let mut mask = FlowMask::default();
    mask.0.recirc_id = !0;
    mask.0.in_port = !0;
    mask.0.eth_type = !0;
    mask.0.eth_src = [0xff; 6];
    mask.0.eth_dst = [0xff; 6];
    mask.0.vlans[0].tpid = !0;
    mask.0.nw_src = [0xff; 4];
    mask.0.nw_dst = [0xff; 4];
    OffloadFlow { ufid, key, mask, actions: vec![Action::Output(out)] }
}

fn stats(p: &mut impl OffloadProvider, ufid: u128) -> FastPathStats {
    p.flow_stats().unwrap().into_iter().find(|(u, _)| *u == ufid).map(|(_, s)| s).unwrap_or_default()
}

fn reason(counts: &[(Reason, u64)], r: Reason) -> u64 {
    counts.iter().find(|(x, _)| *x == r).map(|(_, n)| *n).unwrap_or(0)
}

/// Poll `cond` every 5 ms for at most 2 s.
fn wait_until(mut cond: impl FnMut() -> bool) -> bool {
    let deadline = std::time::Instant::now() + Duration::from_secs(2);
    while std::time::Instant::now() < deadline {
        if cond() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    cond()
}

/// The daemon's reader of misses: frame by frame, with the port tag the
/// kernel moved to packet metadata.
fn upcall_port(ifname: &str) -> PacketPort {
    PacketPort::open(ifname, &PortConfig { ring: false, ..PortConfig::default() }).unwrap()
}

/// The next upcall whose frame contains `needle`, waiting at most 2 s.
fn next_upcall(up: &PacketPort, needle: &[u8]) -> Option<(u32, Vec<u8>)> {
    let deadline = std::time::Instant::now() + Duration::from_secs(2);
    let mut buf = vec![0u8; 65536 + 64];
    while std::time::Instant::now() < deadline {
        match up.recv_copy_tagged(&mut buf) {
            Ok(Some((_, range, Some(tci)))) if buf[range.clone()].windows(needle.len()).any(|w| w == needle) => {
                return Some((u32::from(tci & 0x0fff), buf[range].to_vec()))
            }
            Ok(Some(_)) => {}
            Ok(None) => std::thread::sleep(Duration::from_millis(5)),
            Err(e) => panic!("reading upcalls: {e}"),
        }
    }
    None
}

/// A tc provider on the topology's representors, misses to `upa`.
fn tc_provider(t: &Topo) -> TcProvider {
    in_ns(&t.host, || {
        let mut p = TcProvider::attach_or_adopt(&t.instance, Some("upa")).unwrap();
        p.port_add(1, "rep1").unwrap();
        p.port_add(2, "rep2").unwrap();
        p
    })
}

fn install_pair(p: &mut impl OffloadProvider) {
    p.flow_put(&fwd_flow(1, 1, (MAC1, IP1), (MAC2, IP2), 2)).unwrap();
    p.flow_put(&fwd_flow(2, 2, (MAC2, IP2), (MAC1, IP1), 1)).unwrap();
}

/// UDP pod1 → pod2 and back; returns after both arrived.
fn udp_both_ways(t: &Topo, tag: &str) {
    let a = udp(&t.p1, IP1, 40100);
    let b = udp(&t.p2, IP2, 40200);
    let m1 = format!("{tag}-there");
    a.send_to(m1.as_bytes(), (fmt_ip(IP2).as_str(), 40200)).unwrap();
    assert!(recv_marker(&b, m1.as_bytes()), "{m1}: pod2 did not receive pod1's datagram through the fast path");
    let m2 = format!("{tag}-back");
    b.send_to(m2.as_bytes(), (fmt_ip(IP1).as_str(), 40100)).unwrap();
    assert!(recv_marker(&a, m2.as_bytes()), "{m2}: pod1 did not receive pod2's reply through the fast path");
}

#[test]
fn xdp_forwards_hits_passes_misses_and_survives_a_restart() {
    let t = Topo::new(true);
    let tap = Tap::open(&t.host);
    let rep1 = ifindex_in(&t.host, "rep1");

    let mut p = in_ns(&t.host, || {
        let mut p = XdpProvider::attach_or_adopt(&t.instance, false).unwrap();
        p.port_add(1, "rep1").unwrap();
        p.port_add(2, "rep2").unwrap();
        p
    });
    for (port, pod) in [(1, &t.p1), (2, &t.p2)] {
        in_ns(pod, || p.attach_peer_pass(port, "eth0").unwrap());
    }
    install_pair(&mut p);

    udp_both_ways(&t, "xdp-hit");
    let (s1, s2) = (stats(&mut p, 1), stats(&mut p, 2));
    assert!(s1.packets >= 1 && s1.bytes >= 42 && s1.used.is_some(), "flow 1 counters: {s1:?}");
    assert!(s2.packets >= 1, "flow 2 counters: {s2:?}");
    assert!(tap.drain(b"xdp-hit").is_empty(), "an AF_PACKET socket on the representors saw forwarded packets");

    // A miss (no flow for this destination) is passed up to the representor.
    let a = udp(&t.p1, IP1, 40101);
    a.send_to(b"xdp-miss", (fmt_ip(IP_GHOST).as_str(), 9)).unwrap();
    let mut seen = Vec::new();
    let passed_up = wait_until(|| {
        seen.extend(tap.drain(b"xdp-miss"));
        seen.iter().any(|(ifi, _)| *ifi == rep1)
    });
    assert!(passed_up, "the miss did not reach the slow path on rep1: {seen:?}");
    assert!(reason(&p.reason_counts().unwrap(), Reason::MissFlow) >= 1);

    // Restart without loss: the daemon goes away (pins stay), traffic keeps flowing...
    drop(p);
    udp_both_ways(&t, "xdp-while-down");
    // ...and a new daemon adopts the same flows and counters.
    let mut p = in_ns(&t.host, || XdpProvider::attach_or_adopt(&t.instance, false).unwrap());
    let mut dumped: Vec<u128> = p.flow_dump().unwrap().iter().map(|f| f.ufid).collect();
    dumped.sort();
    assert_eq!(dumped, vec![1, 2]);
    assert_eq!(p.flow_dump().unwrap().iter().find(|f| f.ufid == 1).unwrap(), &{
        let f = fwd_flow(1, 1, (MAC1, IP1), (MAC2, IP2), 2);
        OffloadFlow { key: f.key.masked(&f.mask), ..f }
    });
    assert!(stats(&mut p, 1).packets > s1.packets, "packets forwarded while the daemon was down are counted");
    in_ns(&t.host, || p.port_add(1, "rep1").unwrap()); // adopting an attached port is a no-op
    udp_both_ways(&t, "xdp-after-restart");

    // Deleting the flows frees the mask slot; traffic then misses.
    p.flow_del(1).unwrap();
    p.flow_del(2).unwrap();
    assert!(p.flow_dump().unwrap().is_empty());
    p.detach_all().unwrap();
}

#[test]
fn tc_forwards_with_redirect_peer_and_upcalls_misses_tagged_with_the_port() {
    let t = Topo::new(false);
    let tap = Tap::open(&t.host);
    let upb = ifindex_in(&t.host, "upb");
    let mut p = tc_provider(&t);
    install_pair(&mut p);

    udp_both_ways(&t, "tc-hit");
    assert!(stats(&mut p, 1).packets >= 1 && stats(&mut p, 2).packets >= 1);
    let on_upcall: Vec<_> = tap.drain(b"tc-hit").into_iter().filter(|(i, _)| *i == upb).collect();
    assert!(on_upcall.is_empty(), "forwarded packets reached the upcall device: {on_upcall:?}");

    // A miss arrives on the upcall device, tagged 802.1ad with VID = in_port,
    // and the daemon's reader gives back the port and the original frame.
    let up = in_ns(&t.host, || upcall_port("upb"));
    let a = udp(&t.p1, IP1, 40102);
    a.send_to(b"tc-miss", (fmt_ip(IP_GHOST).as_str(), 9)).unwrap();
    let (port, frame) = next_upcall(&up, b"tc-miss").expect("no upcall for the miss");
    assert_eq!(port, 1, "upcall tagged with the wrong port");
    assert_eq!(&frame[..12], &[mac(MAC_GHOST), mac(MAC1)].concat()[..], "frame not the original");
    assert_eq!(&frame[12..14], &[0x08, 0x00], "the fast path's tag is not left in the frame");
    let seen = tap.drain(b"tc-miss");
    assert!(seen.iter().any(|(i, _)| *i == upb), "miss not on the upcall device: {seen:?}");
    assert!(reason(&p.reason_counts().unwrap(), Reason::MissFlow) >= 1);

    // Restart without loss: tcx links stay pinned while no daemon runs; the
    // next one swaps them to its own program atomically and adopts the flows.
    let prog_before = tcx_prog_ids(&t);
    drop(p);
    udp_both_ways(&t, "tc-while-down");
    let mut p = tc_provider(&t);
    let prog_after = tcx_prog_ids(&t);
    assert_eq!(prog_after.len(), 2, "one tcx program per representor: {prog_after:?}");
    assert!(prog_after.iter().all(|id| !prog_before.contains(id)), "links not moved to the new program");
    assert_eq!(p.flow_dump().unwrap().len(), 2);
    udp_both_ways(&t, "tc-after-restart");
    assert!(stats(&mut p, 1).packets >= 3, "hits before, during and after the restart are all counted");
    p.detach_all().unwrap();
    assert!(tcx_prog_ids(&t).is_empty(), "detach_all left programs attached");
}

/// Ids of the tcx ingress programs on rep1 and rep2.
fn tcx_prog_ids(t: &Topo) -> Vec<u32> {
    use aya::programs::{SchedClassifier, TcAttachType};
    in_ns(&t.host, || {
        ["rep1", "rep2"]
            .iter()
            .flat_map(|dev| SchedClassifier::query_tcx(dev, TcAttachType::Ingress).unwrap().1)
            .map(|info| info.id())
            .collect()
    })
}

fn ct_flows(p: &mut impl OffloadProvider) {
    for (ufid, in_port, out) in [(10u128, 1u32, 2u32), (20, 2, 1)] {
        let mut key = FlowKey { in_port, eth_type: 0x0800, ..Default::default() };
        let mut mask = FlowMask::default();
        mask.0.recirc_id = !0;
        mask.0.in_port = !0;
        mask.0.eth_type = !0;
        let ct = Action::Ct(CtAction { zone: 65520, ..Default::default() });
        p.flow_put(&OffloadFlow { ufid, key, mask, actions: vec![ct, Action::Recirc(1)] }).unwrap();
        key.recirc_id = 1;
        key.ct_state = ct_state::TRK | ct_state::EST;
        mask.0.ct_state = ct_state::TRK | ct_state::EST;
        p.flow_put(&OffloadFlow { ufid: ufid + 1, key, mask, actions: vec![Action::Output(out)] }).unwrap();
    }
}

/// A TCP socket in `ns` bound to `ip:port`, connected to `to` (bounded wait).
fn tcp_connect(ns: &str, ip: [u8; 4], port: u16, to: std::net::SocketAddrV4) -> nix::Result<std::net::TcpStream> {
    use nix::sys::socket::{bind, connect, setsockopt, socket, sockopt, AddressFamily, SockFlag, SockType, SockaddrIn};
    let fd = in_ns(ns, || socket(AddressFamily::Inet, SockType::Stream, SockFlag::empty(), None))?;
    setsockopt(&fd, sockopt::ReuseAddr, &true)?;
    setsockopt(&fd, sockopt::SendTimeout, &nix::sys::time::TimeVal::new(1, 0))?;
    bind(fd.as_raw_fd(), &SockaddrIn::from(std::net::SocketAddrV4::new(ip.into(), port)))?;
    connect(fd.as_raw_fd(), &SockaddrIn::from(to))?;
    Ok(std::net::TcpStream::from(fd))
}

#[test]
fn tc_conntrack_established_connections_go_fast_others_go_to_software() {
    let t = Topo::new(false);
    let tap = Tap::open(&t.host);
    let upb = ifindex_in(&t.host, "upb");
    let mut p = tc_provider(&t);
    ct_flows(&mut p);
    let up = in_ns(&t.host, || upcall_port("upb"));
    let server = std::net::SocketAddrV4::new(IP2.into(), 5555);
    let listener = in_ns(&t.p2, || std::net::TcpListener::bind(server).unwrap());

    // Offloaded connection: the whole exchange runs in the fast path.
    let orig = CtTuple::ports(IpAddr::from(IP1), IpAddr::from(IP2), 6, 40001, 5555);
    p.ct_put(&CtOffload { zone: 65520, orig, mark: 0, label: 0 }).unwrap();
    let mut c = tcp_connect(&t.p1, IP1, 40001, server).expect("connect through the fast path");
    let (mut s, _) = listener.accept().unwrap();
    use std::io::{Read, Write};
    s.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    c.write_all(b"ping").unwrap();
    let mut buf = [0u8; 4];
    s.read_exact(&mut buf).unwrap();
    s.write_all(b"pong").unwrap();
    c.read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"pong");
    for ufid in [10, 11, 20, 21] {
        assert!(stats(&mut p, ufid).packets >= 2, "flow {ufid}: {:?}", stats(&mut p, ufid));
    }
    let used = p.ct_used().unwrap();
    assert!(used.iter().any(|(z, t, _)| *z == 65520 && *t == orig), "ct_used: {used:?}");
    // What a restarted daemon adopts: each connection once, with its mark.
    let other = CtTuple::ports(IpAddr::from(IP1), IpAddr::from(IP2), 17, 40002, 53);
    p.ct_put(&CtOffload { zone: 7, orig: other, mark: 0x42, label: 0 }).unwrap();
    let dump = p.ct_dump().unwrap();
    assert_eq!(dump.iter().filter(|c| c.orig == other).map(|c| (c.zone, c.mark)).collect::<Vec<_>>(), [(7, 0x42)]);
    assert_eq!(dump.iter().filter(|c| c.orig == orig).count(), 1, "each connection once: {dump:?}");
    p.ct_del(7, &other).unwrap();
    let syn_seen: Vec<_> = tap.drain(&5555u16.to_be_bytes()).into_iter().filter(|(i, _)| *i == upb).collect();
    assert!(syn_seen.is_empty(), "an offloaded connection reached the slow path: {} frames", syn_seen.len());

    // Not offloaded: the SYN goes to the slow path (nobody answers here).
    let before = reason(&p.reason_counts().unwrap(), Reason::MissCt);
    let flow10_before = stats(&mut p, 10).packets;
    assert!(tcp_connect(&t.p1, IP1, 40002, server).is_err(), "connected without the slow path");
    let after = reason(&p.reason_counts().unwrap(), Reason::MissCt);
    assert!(after > before, "ct misses {before} -> {after}");
    assert_eq!(
        stats(&mut p, 10).packets,
        flow10_before,
        "packets that end in the slow path are counted by software only, not also by the fast path"
    );
    let (port, _) = next_upcall(&up, &40002u16.to_be_bytes())
        .expect("the SYN of a connection not in the fast path did not reach the upcall device");
    assert_eq!(port, 1);

    // Teardown (FIN) goes to software too.
    drop(c);
    assert!(
        wait_until(|| reason(&p.reason_counts().unwrap(), Reason::MissCtTeardown) >= 1),
        "the FIN did not go to the slow path"
    );
    // ...and took the connection out of the fast path, both directions, so
    // the rest of the teardown reaches software as well.
    assert!(wait_until(|| p.ct_used().unwrap().is_empty()), "the FIN left the connection in the fast path");
    p.ct_del(65520, &orig).unwrap();
    assert!(p.ct_used().unwrap().is_empty());
    p.detach_all().unwrap();
}

/// Whether `ip link show` reports an XDP program on `dev`.
fn has_xdp(t: &Topo, dev: &str) -> bool {
    let out = std::process::Command::new("ip").args(["-n", &t.host, "link", "show", dev]).output().unwrap();
    String::from_utf8_lossy(&out.stdout).contains("prog/xdp")
}

#[test]
fn cleanup_after_a_crash_detaches_everything_and_masks_are_refcounted() {
    let t = Topo::new(true);
    // A "crashed" XDP daemon: the provider is gone, its pins are not.
    let p = in_ns(&t.host, || {
        let mut p = XdpProvider::attach_or_adopt(&t.instance, false).unwrap();
        p.port_add(1, "rep1").unwrap();
        p
    });
    drop(p);
    assert!(has_xdp(&t, "rep1"), "the pinned XDP link should outlive the process");
    hwol_ebpf::cleanup_instance(&t.instance).unwrap();
    assert!(!has_xdp(&t, "rep1"), "cleanup_instance left XDP attached");
    assert!(!std::path::Path::new(hwol_ebpf::PIN_ROOT).join(&t.instance).exists());

    // Mask slots: 16 distinct masks fit, a 17th is refused until one is freed.
    let mut p = tc_provider(&t);
    let flow = |ufid: u128, bit: u32| {
        let key = FlowKey { eth_type: 0x0800, nw_proto: 17, tp_dst: (ufid as u16) & (1 << bit), ..Default::default() };
        let mut mask = FlowMask::default();
        mask.0.eth_type = !0;
        mask.0.nw_proto = !0;
        mask.0.tp_dst = 1 << bit;
        OffloadFlow { ufid, key, mask, actions: vec![] }
    };
    for bit in 0..16 {
        p.flow_put(&flow(100 + u128::from(bit), bit)).unwrap();
    }
    let mut same_mask = flow(200, 15);
    same_mask.key.tp_dst = 1 << 15;
    p.flow_put(&same_mask).expect("a flow reusing an existing mask needs no new slot");
    let mut extra = flow(300, 0);
    extra.mask.0.tp_src = 1;
    assert_eq!(
        p.flow_put(&extra).unwrap_err(),
        hwol_offload::OffloadError::Unsupported(hwol_offload::NotOffloadedReason::TableFull {
            table: "masks",
            capacity: hwol_ebpf::MAX_MASKS
        })
    );
    p.flow_del(115).unwrap(); // mask of bit 15 is still used by flow 200
    assert!(p.flow_put(&extra).is_err(), "the slot of a mask still in use was freed");
    p.flow_del(200).unwrap(); // now it is free
    p.flow_put(&extra).unwrap();
    assert_eq!(p.flow_dump().unwrap().len(), 16);
    p.detach_all().unwrap();
}
