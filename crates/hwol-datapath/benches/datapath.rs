//! The datapath hit path on in-memory packets: extract, lookup, execute.
//!
//! `datapath/hit/{tss,linear}/masks=4/flows=N` measure one packet through a
//! table of N megaflows spread over 4 masks, with the tuple-space-search
//! classifier and with the naive linear-scan reference, in the same run.
//! `datapath/seed_pipeline_est` is one established-TCP packet through the
//! seed's two-pass conntrack pipeline (ct + recirc + second lookup).
//!
//! Run: `cargo bench -p hwol-datapath --bench datapath`.

// criterion_group! generates undocumented functions.
#![allow(missing_docs)]

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use hwol_datapath::{ActionSink, Datapath, DatapathConfig, DatapathSink, FlowKey, FlowTable, LinearTable, Packet};
use hwol_flow::action::UserspaceAction;
use hwol_flow::{ct_state, Action, CtAction, FlowMask, Metadata};
use std::hint::black_box;
use std::time::Duration;

#[derive(Default)]
struct CountingSink {
    out: u64,
    miss: u64,
}

impl ActionSink for CountingSink {
    fn output(&mut self, _port: u32, pkt: &Packet) -> bool {
        self.out += pkt.len() as u64;
        true
    }
    fn userspace(&mut self, _pkt: &Packet, _key: &FlowKey, _a: &UserspaceAction) {}
}

impl DatapathSink for CountingSink {
    fn miss(&mut self, _pkt: &Packet, _key: &FlowKey) {
        self.miss += 1;
    }
}

fn udp_frame(dst: [u8; 4]) -> Vec<u8> {
    let mut p = vec![0x02, 0, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 1, 0x08, 0x00];
    let mut ip = [0u8; 20];
    hwol_wire::ipv4::emit_header(&mut ip, [10, 0, 0, 1], dst, 17, 64, 0, 8 + 18, 0);
    p.extend_from_slice(&ip);
    p.extend_from_slice(&[0x03, 0xe8, 0x07, 0xd0, 0, 26, 0, 0]);
    p.resize(64, 0);
    p
}

fn dst_of(i: u32) -> [u8; 4] {
    let b = (i + 1).to_be_bytes();
    [172, b[1], b[2], b[3]]
}

/// Mask number `m` of 4: all match in_port, eth_type and nw_dst; each adds
/// different fields, so the four never coincide.
fn mask(m: u32) -> FlowMask {
    let mut k = FlowMask::default();
    k.0.recirc_id = !0;
    k.0.in_port = !0;
    k.0.eth_type = !0;
    k.0.nw_dst = [0xff; 4];
    if m & 1 != 0 {
        k.0.nw_proto = !0;
    }
    if m & 2 != 0 {
        k.0.tp_dst = !0;
    }
    if m == 3 {
        k.0.nw_src = [0xff; 4];
        k.0.nw_proto = 0;
    }
    k
}

fn populate<T: FlowTable>(dp: &Datapath<T>, flows: u32) {
    for i in 0..flows {
        let (key, _) = hwol_flow::extract(&udp_frame(dst_of(i)), &Metadata::on_port(1)).unwrap();
        dp.flow_put(key, mask(i % 4), vec![Action::Output(2)]);
    }
}

fn hit_path<T: FlowTable>(c: &mut Criterion, name: &str, flows: u32, sample: usize) {
    let dp: Datapath<T> = Datapath::new(DatapathConfig::default());
    populate(&dp, flows);
    // Packets hit flows spread over the whole table.
    let step = (flows / 1024).max(1);
    let mut pkts: Vec<Packet> =
        (0..1024u32).map(|i| Packet::from_bytes(&udp_frame(dst_of((i * step * 7919) % flows)))).collect();
    let mut sink = CountingSink::default();
    let mut g = c.benchmark_group("datapath/hit");
    g.throughput(Throughput::Elements(1));
    g.sample_size(sample);
    let mut i = 0usize;
    g.bench_function(BenchmarkId::new(name, format!("masks=4/flows={flows}")), |b| {
        b.iter(|| {
            i = (i + 1) & 1023;
            dp.process(black_box(&mut pkts[i]), Metadata::on_port(1), Duration::from_secs(1), &mut sink)
        })
    });
    g.finish();
    assert_eq!(sink.miss, 0, "benchmark packets must all hit");
}

fn bench_hit(c: &mut Criterion) {
    for flows in [1_000, 100_000] {
        hit_path::<hwol_datapath::Classifier<std::sync::Arc<hwol_datapath::Megaflow>>>(c, "tss", flows, 100);
        hit_path::<LinearTable>(c, "linear", flows, 10);
    }
}

fn bench_seed_pipeline(c: &mut Criterion) {
    let dp: Datapath = Datapath::new(DatapathConfig::default());
    let ct = |commit| Action::Ct(CtAction { zone: 0xfff0, commit, ..Default::default() });
    let base = |recirc: u32, port: u32| {
        let k = FlowKey { recirc_id: recirc, in_port: port, eth_type: 0x0800, ..Default::default() };
        let mut m = FlowMask::default();
        m.0.recirc_id = !0;
        m.0.in_port = !0;
        m.0.eth_type = !0;
        m.0.nw_frag = !0;
        (k, m)
    };
    for (port, recirc, out) in [(1u32, 1u32, 2u32), (2, 2, 1)] {
        let (k, m) = base(0, port);
        dp.flow_put(k, m, vec![ct(false), Action::Recirc(recirc)]);
        let (mut k, mut m) = base(recirc, port);
        k.ct_state = ct_state::NEW | ct_state::TRK;
        m.0.ct_state = ct_state::NEW | ct_state::TRK;
        dp.flow_put(k, m, vec![ct(true), Action::Output(out)]);
        k.ct_state = ct_state::EST | ct_state::TRK;
        m.0.ct_state = ct_state::NEW | ct_state::EST | ct_state::TRK;
        dp.flow_put(k, m, vec![Action::Output(out)]);
    }
    let tcp = |src: [u8; 4], dst: [u8; 4], sp: u16, dp_: u16, seq: u32, ack: u32, flags: u8| {
        let mut p = vec![0x02, 0, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 1, 0x08, 0x00];
        let mut ip = [0u8; 20];
        hwol_wire::ipv4::emit_header(&mut ip, src, dst, 6, 64, 0, 20, 0x4000);
        p.extend_from_slice(&ip);
        p.extend_from_slice(&sp.to_be_bytes());
        p.extend_from_slice(&dp_.to_be_bytes());
        p.extend_from_slice(&seq.to_be_bytes());
        p.extend_from_slice(&ack.to_be_bytes());
        p.extend_from_slice(&[0x50, flags, 0xff, 0xff, 0, 0, 0, 0]);
        Packet::from_bytes(&p)
    };
    let (a, b) = ([10, 0, 0, 1], [10, 0, 0, 2]);
    let mut sink = CountingSink::default();
    let now = Duration::from_secs(1);
    dp.process(&mut tcp(a, b, 40000, 5201, 1, 0, 0x02), Metadata::on_port(1), now, &mut sink);
    dp.process(&mut tcp(b, a, 5201, 40000, 9, 2, 0x12), Metadata::on_port(2), now, &mut sink);
    dp.process(&mut tcp(a, b, 40000, 5201, 2, 10, 0x10), Metadata::on_port(1), now, &mut sink);
    let mut est = tcp(a, b, 40000, 5201, 2, 10, 0x10);
    let mut g = c.benchmark_group("datapath");
    g.throughput(Throughput::Elements(1));
    g.bench_function("seed_pipeline_est", |bch| {
        bch.iter(|| dp.process(black_box(&mut est), Metadata::on_port(1), now, &mut sink))
    });
    g.finish();
    assert_eq!(sink.miss, 0, "the established packet must stay on the fast path");
}

criterion_group!(benches, bench_hit, bench_seed_pipeline);
criterion_main!(benches);
