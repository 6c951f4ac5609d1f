//! The seed's acceptance scenario, in memory: two pods, an iperf3-style TCP
//! stream through the seed's conntrack pipeline, then the flow and
//! conntrack dumps in OVS's formats.
//!
//! This drives the software datapath directly with frames built here: no
//! interfaces, no daemon, no offload yet (those arrive with the switch
//! daemon). The megaflows are installed from the seed document's own
//! `dpctl/dump-flows` lines, parsed by `hwol-odp`, plus the `+new` flows the
//! handshake needs.
//!
//! Run: `cargo run --release -p hwol-datapath --example two_pods [segments]`

use hwol_datapath::{ActionSink, Datapath, DatapathConfig, DatapathSink, FlowKey, Packet, PacketFate};
use hwol_flow::action::UserspaceAction;
use hwol_flow::Metadata;
use hwol_odp::{FormatOpts, FromFlowOpts, OdpFlow, OdpKey, PortNames, Used};
use std::time::{Duration, Instant};

/// The seed's four offloaded flows, verbatim but for their statistics, plus
/// the two `+new` flows that carry the handshake (the seed's dump shows only
/// the offloaded ones).
const FLOWS: &[&str] = &[
    "recirc_id(0),in_port(eth0),eth(src=16:fd:c6:0b:60:52),eth_type(0x0800),ipv4(src=192.168.1.17,frag=no), actions:ct(zone=65520),recirc(0x18)",
    "ct_state(+est+trk),ct_mark(0),recirc_id(0x18),in_port(eth0),eth(dst=42:66:d7:45:0d:7e),eth_type(0x0800),ipv4(dst=192.168.1.0/255.255.255.0,frag=no), actions:eth1",
    "recirc_id(0),in_port(eth1),eth(src=42:66:d7:45:0d:7e),eth_type(0x0800),ipv4(src=192.168.1.16,frag=no), actions:ct(zone=65520),recirc(0x16)",
    "ct_state(+est+trk),ct_mark(0),recirc_id(0x16),in_port(eth1),eth(dst=16:fd:c6:0b:60:52),eth_type(0x0800),ipv4(dst=192.168.1.0/255.255.255.0,frag=no), actions:eth0",
    "ct_state(+new-est+trk),recirc_id(0x16),in_port(eth1),eth(dst=16:fd:c6:0b:60:52),eth_type(0x0800),ipv4(dst=192.168.1.0/255.255.255.0,frag=no), actions:ct(commit,zone=65520),eth0",
    "ct_state(+new-est+trk),recirc_id(0x18),in_port(eth0),eth(dst=42:66:d7:45:0d:7e),eth_type(0x0800),ipv4(dst=192.168.1.0/255.255.255.0,frag=no), actions:ct(commit,zone=65520),eth1",
];

const POD1_MAC: [u8; 6] = [0x16, 0xfd, 0xc6, 0x0b, 0x60, 0x52];
const POD2_MAC: [u8; 6] = [0x42, 0x66, 0xd7, 0x45, 0x0d, 0x7e];
const POD1_IP: [u8; 4] = [192, 168, 1, 17];
const POD2_IP: [u8; 4] = [192, 168, 1, 16];

#[derive(Default)]
struct Wire {
    delivered: [u64; 3],
    misses: u64,
}

impl ActionSink for Wire {
    fn output(&mut self, port: u32, _pkt: &Packet) -> bool {
        match self.delivered.get_mut(port as usize) {
            Some(n) => {
                *n += 1;
                true
            }
            None => false,
        }
    }
    fn userspace(&mut self, _pkt: &Packet, _key: &FlowKey, _a: &UserspaceAction) {}
}

impl DatapathSink for Wire {
    fn miss(&mut self, _pkt: &Packet, _key: &FlowKey) {
        self.misses += 1;
    }
}

#[allow(clippy::too_many_arguments)]
fn tcp(
    src_mac: [u8; 6],
    dst_mac: [u8; 6],
    src: [u8; 4],
    dst: [u8; 4],
    ports: (u16, u16),
    seq: u32,
    ack: u32,
    flags: u8,
    len: usize,
) -> Packet {
    let mut p = Vec::with_capacity(54 + len);
    p.extend_from_slice(&dst_mac);
    p.extend_from_slice(&src_mac);
    p.extend_from_slice(&[0x08, 0x00]);
    let mut ip = [0u8; 20];
    hwol_wire::ipv4::emit_header(&mut ip, src, dst, 6, 64, 0, (20 + len) as u16, 0x4000);
    p.extend_from_slice(&ip);
    p.extend_from_slice(&ports.0.to_be_bytes());
    p.extend_from_slice(&ports.1.to_be_bytes());
    p.extend_from_slice(&seq.to_be_bytes());
    p.extend_from_slice(&ack.to_be_bytes());
    p.extend_from_slice(&[0x50, flags, 0xff, 0xff, 0, 0, 0, 0]);
    p.resize(p.len() + len, 0x5a);
    Packet::from_bytes(&p)
}

fn main() {
    let segments: u32 = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(200_000);
    let mut ports = PortNames::new();
    ports.insert("eth0", 1);
    ports.insert("eth1", 2);

    let dp: Datapath = Datapath::new(DatapathConfig::default());
    for line in FLOWS {
        let flow = hwol_odp::parse_flow(line, &mut ports).unwrap_or_else(|e| panic!("seed flow does not parse: {e}"));
        let (key, mask) = flow.key.to_flow();
        dp.flow_put(key, mask, flow.actions);
    }
    println!("installed {} megaflows over {} masks", dp.flow_count(), dp.mask_count());

    // pod2 (eth1, 192.168.1.16) runs `iperf3 -c 192.168.1.17`; pod1 (eth0) is the server.
    let c = (43558u16, 5201u16);
    let s = (c.1, c.0);
    let mut wire = Wire::default();
    let mut now = Duration::from_secs(1);
    let send = |port: u32, mut p: Packet, now: Duration, wire: &mut Wire| {
        let fate = dp.process(&mut p, Metadata::on_port(port), now, wire);
        assert_eq!(fate, PacketFate::Forwarded, "packet on port {port} was not forwarded");
    };
    send(2, tcp(POD2_MAC, POD1_MAC, POD2_IP, POD1_IP, c, 1000, 0, 0x02, 0), now, &mut wire);
    send(1, tcp(POD1_MAC, POD2_MAC, POD1_IP, POD2_IP, s, 5000, 1001, 0x12, 0), now, &mut wire);
    send(2, tcp(POD2_MAC, POD1_MAC, POD2_IP, POD1_IP, c, 1001, 5001, 0x10, 0), now, &mut wire);

    let started = Instant::now();
    let mut seq = 1001u32;
    for i in 0..segments {
        now += Duration::from_micros(1);
        send(2, tcp(POD2_MAC, POD1_MAC, POD2_IP, POD1_IP, c, seq, 5001, 0x10, 1448), now, &mut wire);
        seq = seq.wrapping_add(1448);
        if i % 2 == 1 {
            send(1, tcp(POD1_MAC, POD2_MAC, POD1_IP, POD2_IP, s, 5001, seq, 0x10, 0), now, &mut wire);
        }
    }
    let elapsed = started.elapsed();
    let pkts = segments + segments / 2;
    println!(
        "forwarded {pkts} packets in {:.1} ms ({:.0} ns/packet, building each frame included); slow-path misses: {}",
        elapsed.as_secs_f64() * 1e3,
        elapsed.as_nanos() as f64 / pkts as f64,
        wire.misses
    );

    println!("\n$ ovs-appctl dpctl/dump-flows --names");
    let report_at = now + Duration::from_millis(550);
    for f in dp.flow_dump() {
        let used = f.stats.used().map_or(Used::Never, |u| Used::Ago((report_at - u).as_millis() as u64));
        let odp = OdpFlow {
            key: OdpKey::from_flow(&f.key, &f.mask, &FromFlowOpts { packet_type: false, ..Default::default() }),
            stats: Some(hwol_odp::FlowStats {
                packets: f.stats.packets(),
                bytes: f.stats.bytes(),
                used,
                tcp_flags: f.stats.tcp_flags(),
            }),
            actions: f.actions.clone(),
            ..Default::default()
        };
        println!("{}", odp.format(&FormatOpts { names: Some(&ports), verbose: false }));
    }

    println!("\n$ ovs-appctl dpctl/dump-conntrack -s");
    for e in dp.conntrack().dump(None, report_at) {
        println!("{}", hwol_conntrack::format_entry(&e, true));
    }
    let st = dp.stats();
    println!(
        "\n$ ovs-appctl dpctl/show (datapath counters)\n  lookups: hit:{} missed:{} lost:{}",
        st.hit, st.missed, st.lost
    );
    println!("  flows: {}", dp.flow_count());
    println!("  delivered: eth0 {} packets, eth1 {} packets", wire.delivered[1], wire.delivered[2]);
}
