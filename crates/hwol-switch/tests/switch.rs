//! The whole bridge in memory: pod pipeline, misses, offload with the
//! in-memory provider, conntrack offload, stats merge and the dpctl views.

use std::net::Ipv4Addr;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use hwol_datapath::Packet;
use hwol_offload::memory::MemoryProvider;
use hwol_offload::OffloadState;
use hwol_pipeline::{Ipv4Net, Pipeline, PipelineConfig, Port};
use hwol_switch::{Switch, Transmit};
use hwol_unixctl::Commands;
use hwol_wire::EthAddr;

#[derive(Default)]
struct Wire(Vec<(u32, Vec<u8>)>);

impl Transmit for Wire {
    fn transmit(&mut self, port: u32, pkt: &Packet) -> bool {
        self.0.push((port, pkt.data().to_vec()));
        true
    }
}

const POD1_MAC: EthAddr = EthAddr([0x42, 0x66, 0xd7, 0x45, 0x0d, 0x7e]);
const POD2_MAC: EthAddr = EthAddr([0x16, 0xfd, 0xc6, 0x0b, 0x60, 0x52]);

fn switch() -> Switch<MemoryProvider> {
    let sw = Switch::new("br-int", MemoryProvider::new(1024, 1024), true);
    for (n, name) in [(1, "rep1"), (2, "rep2"), (3, "gw0")] {
        sw.add_port(n, name).unwrap();
    }
    let port =
        |ofport, name: &str, mac, last| Port { ofport, name: name.into(), mac, ip: Ipv4Addr::new(192, 168, 1, last) };
    let mut cfg = PipelineConfig::new(
        port(3, "gw0", EthAddr([0x0a, 0x58, 0xc0, 0xa8, 1, 1]), 1),
        "192.168.1.0/24".parse::<Ipv4Net>().unwrap(),
    );
    cfg.pods = vec![port(1, "rep1", POD1_MAC, 16), port(2, "rep2", POD2_MAC, 17)];
    sw.add_flows(&Pipeline::build(&cfg).unwrap().to_ofctl_text(), Duration::ZERO).unwrap();
    sw
}

fn tcp(from_pod1: bool, seq: u32, ack: u32, flags: u8, payload: usize) -> Packet {
    let (sm, dm, s, d, sp, dp) = if from_pod1 {
        (POD1_MAC, POD2_MAC, [192, 168, 1, 16], [192, 168, 1, 17], 43558u16, 5201u16)
    } else {
        (POD2_MAC, POD1_MAC, [192, 168, 1, 17], [192, 168, 1, 16], 5201, 43558)
    };
    let mut p = dm.0.to_vec();
    p.extend_from_slice(&sm.0);
    p.extend_from_slice(&[0x08, 0x00]);
    let mut ip = [0u8; 20];
    hwol_wire::ipv4::emit_header(&mut ip, s, d, 6, 64, 0, (20 + payload) as u16, 0x4000);
    p.extend_from_slice(&ip);
    p.extend_from_slice(&sp.to_be_bytes());
    p.extend_from_slice(&dp.to_be_bytes());
    p.extend_from_slice(&seq.to_be_bytes());
    p.extend_from_slice(&ack.to_be_bytes());
    p.extend_from_slice(&[0x50, flags, 0xff, 0xff, 0, 0, 0, 0]);
    p.resize(p.len() + payload, 7);
    Packet::from_bytes(&p)
}

#[test]
fn handshake_then_offload_then_fast_path_counters_show_up() {
    let sw = Arc::new(switch());
    let mut wire = Wire::default();
    let t = Duration::from_secs;
    sw.receive(1, &mut tcp(true, 1000, 0, 0x02, 0), t(1), &mut wire);
    sw.receive(2, &mut tcp(false, 5000, 1001, 0x12, 0), t(1), &mut wire);
    sw.receive(1, &mut tcp(true, 1001, 5001, 0x10, 0), t(1), &mut wire);
    assert_eq!(wire.0.iter().map(|w| w.0).collect::<Vec<_>>(), [2, 1, 2], "handshake forwarded in software");
    sw.offload_run(100);

    // Flows matching +new stay in software with a reason; the rest are offloaded.
    let mut offloaded = 0;
    for f in sw.datapath().flow_dump() {
        let state = sw.offload().state(f.ufid).cloned();
        if f.key.ct_state & hwol_flow::ct_state::NEW != 0 && f.mask.0.ct_state & hwol_flow::ct_state::NEW != 0 {
            assert!(matches!(state, Some(OffloadState::NotOffloaded(_))), "{state:?}");
        } else {
            assert_eq!(state, Some(OffloadState::Offloaded));
            offloaded += 1;
        }
    }
    assert!(offloaded >= 3, "ct+recirc flows and the est flows are offloaded");

    // Revalidation pushes the established connection to the fast path.
    let r = sw.revalidate(t(2));
    assert_eq!(r.ct_offloaded, 1, "{r:?}");
    let ct = sw.dump_conntrack(&[], t(2)).unwrap();
    assert!(ct.contains("state=ESTABLISHED),offloaded"), "{ct}");

    // Traffic now flows in the fast path: play it on the model provider.
    let ufids: Vec<u128> =
        sw.offload().states().filter(|(_, s)| **s == OffloadState::Offloaded).map(|(u, _)| u).collect();
    for u in &ufids {
        sw.offload().provider_mut().hit(*u, 1_000_000, 1_448_000_000, t(3));
    }
    let r = sw.revalidate(t(3));
    assert_eq!(r.merged, ufids.len());
    let dump = sw.dump_flows(&["--names".into(), "type=offloaded".into()], t(3)).unwrap();
    assert!(dump.contains("actions:ct(zone=65520),recirc("), "{dump}");
    assert!(dump.contains("packets:1000"), "fast-path counters merged:\n{dump}");
    let all = sw.dump_flows(&["-m".into()], t(3)).unwrap();
    assert!(all.contains("offloaded:yes, dp:memory"), "{all}");
    assert!(all.contains("dp-extra-info:offload(refused: slow path only"), "{all}");

    // A FIN means conntrack leaves ESTABLISHED: the connection is pulled back.
    sw.receive(1, &mut tcp(true, 1001, 5001, 0x11, 0), t(4), &mut wire);
    let r = sw.revalidate(t(4));
    assert_eq!(r.ct_removed, 1, "{r:?}");
}

#[test]
fn commands_answer_like_ovs_appctl_expects() {
    let sw = Arc::new(switch());
    let mut cmds = Commands::default();
    sw.register_commands(&mut cmds, Arc::new(|| Duration::from_secs(1)));
    let cmds = Arc::new(RwLock::new(cmds));
    let c = cmds.read().unwrap();
    assert!(c.dispatch("dpctl/dump-flows", &["--names".into(), "type=offloaded".into()], "hwol").unwrap().is_empty());
    let e = c.dispatch("dpctl/dump-flows", &["type=kernel".into()], "hwol").unwrap_err();
    assert!(e.contains("unknown flow type"), "{e}");
    let stats = c.dispatch("dpctl/offload-stats-show", &[], "hwol").unwrap();
    assert!(stats.starts_with("provider: memory (enabled)"), "{stats}");
    let trace = c
        .dispatch(
            "ofproto/trace",
            &[
                "br-int".into(),
                "in_port(rep1),eth(src=42:66:d7:45:0d:7e,dst=16:fd:c6:0b:60:52),eth_type(0x0800),ipv4(src=192.168.1.16,dst=192.168.1.17,proto=6,ttl=64,frag=no),tcp(src=1,dst=2)".into(),
            ],
            "hwol",
        )
        .unwrap();
    assert!(trace.contains("Datapath actions: ct(zone=65520),recirc("), "{trace}");
}

#[test]
fn a_restarted_switch_adopts_the_fast_path_without_deleting_anything() {
    use hwol_offload::OffloadProvider;
    let old = switch();
    let mut wire = Wire::default();
    let t = Duration::from_secs;
    old.receive(1, &mut tcp(true, 1000, 0, 0x02, 0), t(1), &mut wire);
    old.receive(2, &mut tcp(false, 5000, 1001, 0x12, 0), t(1), &mut wire);
    old.receive(1, &mut tcp(true, 1001, 5001, 0x10, 0), t(1), &mut wire);
    old.offload_run(100);
    old.revalidate(t(2));
    let saved = old.ofproto().recirc_save();
    assert!(!saved.is_empty());
    // The "kernel" keeps the fast path: hand its content to a fresh provider.
    let flows = old.offload().provider_mut().flow_dump().unwrap();
    let mut p = MemoryProvider::new(1024, 1024);
    for (n, name) in [(1, "rep1"), (2, "rep2"), (3, "gw0")] {
        p.port_add(n, name).unwrap();
    }
    for f in &flows {
        p.flow_put(f).unwrap();
    }
    let t0 = hwol_conntrack::CtTuple::ports(
        "192.168.1.16".parse().unwrap(),
        "192.168.1.17".parse().unwrap(),
        6,
        43558,
        5201,
    );
    // Marked as a connection that came in through the gateway (the
    // pipeline's ct_mark=0x20), whose pod-side packets go back to the gateway.
    p.ct_put(&hwol_offload::CtOffload { zone: 65520, orig: t0, mark: 0x20, label: 0 }).unwrap();
    p.ct_hit(65520, &t0, t(2));
    let new = Switch::new("br-int", p, true);
    let (n_flows, n_conns) = new.adopt(Some(&saved), t(3));
    assert_eq!((n_flows, n_conns), (flows.len(), 1));
    let adopted = new.datapath().conntrack().get(65520, &t0, t(3)).expect("adopted into software conntrack");
    assert_eq!(adopted.mark, 0x20, "an adopted connection keeps its mark");
    for (n, name) in [(1, "rep1"), (2, "rep2"), (3, "gw0")] {
        new.ofproto().add_port(n, name).unwrap();
    }
    let port =
        |ofport, name: &str, mac, last| Port { ofport, name: name.into(), mac, ip: Ipv4Addr::new(192, 168, 1, last) };
    let mut cfg = PipelineConfig::new(
        port(3, "gw0", EthAddr([0x0a, 0x58, 0xc0, 0xa8, 1, 1]), 1),
        "192.168.1.0/24".parse::<Ipv4Net>().unwrap(),
    );
    cfg.pods = vec![port(1, "rep1", POD1_MAC, 16), port(2, "rep2", POD2_MAC, 17)];
    new.add_flows(&Pipeline::build(&cfg).unwrap().to_ofctl_text(), t(3)).unwrap();
    let r = new.revalidate(t(3));
    assert_eq!((r.deleted, r.modified), (0, 0), "adopted megaflows are kept as they are: {r:?}");
    // A mid-stream packet of the adopted connection is established in
    // software too, and its mark still routes it: to the gateway (3), not
    // to pod2 (2) as an unmarked connection would go.
    let mut wire = Wire::default();
    new.receive(1, &mut tcp(true, 77_000, 5001, 0x10, 100), t(4), &mut wire);
    assert_eq!(wire.0.iter().map(|(port, _)| *port).collect::<Vec<_>>(), [3], "forwarded by its mark, not dropped");
    // A new connection after the restart: its SYN hits the adopted
    // ct()+recirc megaflow and then misses in the restored recirc id, whose
    // upcall must still translate (the adopted megaflow holds the id).
    let mut syn = tcp(true, 9, 0, 0x02, 0).data().to_vec();
    syn[34..36].copy_from_slice(&43999u16.to_be_bytes());
    let mut wire = Wire::default();
    new.receive(1, &mut Packet::from_bytes(&syn), t(5), &mut wire);
    assert_eq!(wire.0.iter().map(|(port, _)| *port).collect::<Vec<_>>(), [2], "a new connection gets through");
}
