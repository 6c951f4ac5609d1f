//! Flow-key extraction throughput on typical frames.
//!
//! Run: `cargo bench -p hwol-flow --bench extract`.

// criterion_group! generates undocumented functions.
#![allow(missing_docs)]

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use hwol_flow::{extract, Metadata};
use std::hint::black_box;

fn tcp_v4(vlan: bool) -> Vec<u8> {
    let mut p = vec![0x02, 0, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 1];
    if vlan {
        p.extend_from_slice(&[0x81, 0x00, 0x00, 0x0a]);
    }
    p.extend_from_slice(&[0x08, 0x00]);
    let mut ip = [0u8; 20];
    hwol_wire::ipv4::emit_header(&mut ip, [10, 0, 0, 1], [10, 0, 0, 2], 6, 64, 0, 20 + 1400, 0x4000);
    p.extend_from_slice(&ip);
    p.extend_from_slice(&[0x93, 0x48, 0x14, 0x51, 0, 0, 0, 1, 0, 0, 0, 1, 0x50, 0x18, 0xff, 0xff, 0, 0, 0, 0]);
    p.resize(p.len() + 1400, 0xab);
    p
}

fn udp_v6() -> Vec<u8> {
    let mut p = vec![0x02, 0, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 1, 0x86, 0xdd];
    p.extend_from_slice(&[0x60, 0, 0, 0, 0, 8 + 100, 17, 64]);
    p.extend_from_slice(&[0xfd; 16]);
    p.extend_from_slice(&[0xfe; 16]);
    p.extend_from_slice(&[0x13, 0x88, 0x00, 0x35, 0, 108, 0, 0]);
    p.resize(p.len() + 100, 0);
    p
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("extract");
    g.throughput(Throughput::Elements(1));
    let md = Metadata::on_port(1);
    for (name, pkt) in [("tcp4", tcp_v4(false)), ("tcp4_vlan", tcp_v4(true)), ("udp6", udp_v6())] {
        g.bench_with_input(BenchmarkId::from_parameter(name), &pkt, |b, pkt| {
            b.iter(|| extract(black_box(pkt), black_box(&md)))
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
