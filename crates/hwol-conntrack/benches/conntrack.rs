//! Conntrack throughput: a packet of an established TCP connection looked
//! up in tables of 1k and 100k connections, and committing new UDP
//! connections.
//!
//! Keys and layouts are extracted up front (the datapath has them anyway),
//! so only `Conntrack::execute` is measured.

use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use hwol_conntrack::{Conntrack, CtConfig, CtOutcome};
use hwol_flow::{extract, CtAction, FlowKey, Layout, Metadata};
use hwol_wire::ipv4::{emit_header, proto};

const SYN: u8 = 0x02;
const ACK: u8 = 0x10;
const PSH: u8 = 0x08;

struct Pkt {
    bytes: Vec<u8>,
    key: FlowKey,
    layout: Layout,
}

fn ipv4_frame(src: [u8; 4], dst: [u8; 4], p: u8, l4: &[u8]) -> Pkt {
    let mut v = vec![2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00];
    let mut h = [0u8; 20];
    emit_header(&mut h, src, dst, p, 64, 0, l4.len() as u16, 0x4000);
    v.extend_from_slice(&h);
    v.extend_from_slice(l4);
    let (key, layout) = extract(&v, &Metadata::on_port(1)).expect("valid frame");
    Pkt { bytes: v, key, layout }
}

fn tcp(src: [u8; 4], dst: [u8; 4], ports: (u16, u16), flags: u8, seq: u32, ack: u32, payload: usize) -> Pkt {
    let mut t = Vec::with_capacity(20 + payload);
    t.extend_from_slice(&ports.0.to_be_bytes());
    t.extend_from_slice(&ports.1.to_be_bytes());
    t.extend_from_slice(&seq.to_be_bytes());
    t.extend_from_slice(&ack.to_be_bytes());
    t.extend_from_slice(&[0x50, flags, 0xff, 0xff, 0, 0, 0, 0]);
    t.resize(20 + payload, 0);
    ipv4_frame(src, dst, proto::TCP, &t)
}

fn udp(src: [u8; 4], dst: [u8; 4], sport: u16, dport: u16) -> Pkt {
    let mut u = Vec::with_capacity(16);
    u.extend_from_slice(&sport.to_be_bytes());
    u.extend_from_slice(&dport.to_be_bytes());
    u.extend_from_slice(&[0, 16, 0, 0]);
    u.resize(16, 0);
    ipv4_frame(src, dst, proto::UDP, &u)
}

fn exec(ct: &Conntrack, p: &Pkt, a: &CtAction, now: Duration) -> CtOutcome {
    ct.execute(&p.bytes, &p.key, &p.layout, a, now)
}

/// Client `i`'s address and port: 100k distinct tuples towards one server.
fn client(i: u32) -> ([u8; 4], u16) {
    let b = (i / 50_000).to_be_bytes();
    ([10, 1, b[2], b[3]], 10_000 + (i % 50_000) as u16)
}

const SERVER: [u8; 4] = [10, 0, 0, 2];

/// A table with `n` established TCP connections (three-way handshakes).
fn established_table(n: u32, now: Duration) -> Conntrack {
    let ct = Conntrack::new(CtConfig::default());
    let commit = CtAction { commit: true, zone: 1, ..Default::default() };
    for i in 0..n {
        let (c, port) = client(i);
        exec(&ct, &tcp(c, SERVER, (port, 80), SYN, 1000, 0, 0), &commit, now);
        exec(&ct, &tcp(SERVER, c, (80, port), SYN | ACK, 9000, 1001, 0), &commit, now);
        exec(&ct, &tcp(c, SERVER, (port, 80), ACK, 1001, 9001, 0), &commit, now);
    }
    assert_eq!(ct.len(), n as usize);
    ct
}

fn lookup_est(c: &mut Criterion) {
    let mut g = c.benchmark_group("conntrack");
    let now = Duration::from_secs(10);
    for n in [1_000u32, 100_000] {
        let ct = established_table(n, now);
        let (cl, port) = client(n / 2);
        let data = tcp(cl, SERVER, (port, 80), ACK | PSH, 1001, 9001, 1000);
        let lookup = CtAction { zone: 1, ..Default::default() };
        match exec(&ct, &data, &lookup, now) {
            CtOutcome::Tracked(v) => assert_eq!(v.state, 0x22, "+est+trk"),
            other => panic!("{other:?}"),
        }
        g.bench_with_input(BenchmarkId::new("lookup_est", format!("conns={n}")), &n, |b, _| {
            b.iter(|| exec(&ct, std::hint::black_box(&data), &lookup, now))
        });
    }
    g.finish();
}

fn commit_new(c: &mut Criterion) {
    const BATCH: u32 = 100_000;
    let pkts: Vec<Pkt> = (0..BATCH)
        .map(|i| {
            let (cl, port) = client(i);
            udp(cl, SERVER, port, 53)
        })
        .collect();
    let commit = CtAction { commit: true, zone: 1, ..Default::default() };
    let now = Duration::from_secs(10);
    let ct = Conntrack::new(CtConfig::default());
    let mut g = c.benchmark_group("conntrack");
    g.bench_function("commit_new", |b| {
        b.iter_custom(|iters| {
            let mut spent = Duration::ZERO;
            let mut left = iters;
            while left > 0 {
                let n = left.min(u64::from(BATCH)) as usize;
                ct.flush(None);
                let start = Instant::now();
                for p in &pkts[..n] {
                    std::hint::black_box(exec(&ct, p, &commit, now));
                }
                spent += start.elapsed();
                left -= n as u64;
            }
            spent
        })
    });
    g.finish();
}

// `criterion_group!` generates an undocumented function.
#[allow(missing_docs)]
mod group {
    use super::*;
    criterion_group!(benches, lookup_est, commit_new);
}
use group::benches;
criterion_main!(benches);
