//! Translation and revalidation cost on the pod pipeline.
//!
//! - `ofproto/xlate/pods=N/{first_pass,est_pass}`: one translation of a
//!   pod-to-pod TCP key through the generated pod pipeline with N pods; the
//!   first pass ends in `ct(zone=65520),recirc`, the second is the
//!   established-connection pass that ends in an output.
//! - `ofproto/revalidate/megaflows=100000/after_one_rule_change`: one
//!   revalidation round over 100k megaflows after one L2 forwarding rule
//!   changed (every megaflow is re-translated, as OVS does on a table change).
//!
//! Run: `cargo bench -p hwol-ofproto --bench ofproto`.

// criterion_group! generates undocumented functions.
#![allow(missing_docs)]

use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use hwol_flow::{ct_state, Action, FlowKey};
use hwol_ofproto::{DumpedFlow, FlowFilter, Ofproto, OfprotoConfig};
use hwol_openflow::text::{parse_flows, PortMap};
use hwol_openflow::OfAction;
use hwol_pipeline::{Ipv4Net, Pipeline, PipelineConfig, Port};
use hwol_wire::EthAddr;

fn pod_mac(i: u32) -> EthAddr {
    let b = i.to_be_bytes();
    EthAddr([0x0a, 0x58, 0x0b, b[1], b[2], b[3]])
}

fn pod_ip(i: u32) -> Ipv4Addr {
    Ipv4Addr::from(0x0a00_0000 | (i + 2))
}

/// A bridge with the pod pipeline for `n` pods (ofports 1..=n, gateway n+1).
fn bridge(n: u32) -> Ofproto {
    let gw = Port {
        ofport: (n + 1) as u16,
        name: "gw0".into(),
        mac: EthAddr([0x0a, 0x58, 0x0a, 0, 0, 1]),
        ip: Ipv4Addr::new(10, 0, 0, 1),
    };
    let mut cfg = PipelineConfig::new(gw, "10.0.0.0/16".parse::<Ipv4Net>().unwrap());
    cfg.pods =
        (1..=n).map(|i| Port { ofport: i as u16, name: format!("rep{i}"), mac: pod_mac(i), ip: pod_ip(i) }).collect();
    let text = Pipeline::build(&cfg).unwrap().to_ofctl_text();
    let mut of = Ofproto::new("br-int", OfprotoConfig::default());
    let mut map = PortMap::new();
    for i in 1..=n + 1 {
        let name = if i == n + 1 { "gw0".to_string() } else { format!("rep{i}") };
        of.add_port(i, name.clone()).unwrap();
        map.insert(name, i);
    }
    for f in parse_flows(&text, &map).unwrap() {
        of.flow_add(f, Duration::ZERO).unwrap();
    }
    of
}

fn tcp_key(src: u32, dst: u32, sport: u16) -> FlowKey {
    FlowKey {
        in_port: src,
        eth_src: pod_mac(src).0,
        eth_dst: pod_mac(dst).0,
        eth_type: 0x0800,
        nw_src: pod_ip(src).octets(),
        nw_dst: pod_ip(dst).octets(),
        nw_proto: 6,
        nw_ttl: 64,
        tp_src: sport,
        tp_dst: 5201,
        tcp_flags: 0x10,
        ..Default::default()
    }
}

fn bench_xlate(c: &mut Criterion) {
    let mut g = c.benchmark_group("ofproto/xlate");
    g.throughput(Throughput::Elements(1));
    for n in [100u32, 1000] {
        let mut of = bridge(n);
        let now = Duration::from_secs(1);
        let first: Vec<FlowKey> = (0..256).map(|i| tcp_key(1 + i % n, 1 + (i * 7 + 3) % n, 40000 + i as u16)).collect();
        // Learn the recirc id of each first pass, then build est-pass keys.
        let est: Vec<FlowKey> = first
            .iter()
            .map(|k| {
                let x = of.xlate(k, now);
                let id = x.actions.iter().find_map(|a| if let Action::Recirc(id) = a { Some(*id) } else { None });
                let mut k2 = *k;
                k2.recirc_id = id.expect("the pod pipeline recirculates");
                k2.ct_state = ct_state::TRK | ct_state::EST;
                k2.ct_zone = 65520;
                k2
            })
            .collect();
        for (name, keys) in [("first_pass", &first), ("est_pass", &est)] {
            let mut i = 0;
            g.bench_function(BenchmarkId::new(format!("pods={n}"), name), |b| {
                b.iter(|| {
                    i = (i + 1) & 255;
                    of.xlate(&keys[i], now)
                })
            });
        }
        let x = of.xlate(&est[0], now);
        assert!(matches!(x.actions.last(), Some(Action::Output(_))), "est pass must output: {:?}", x.actions);
    }
    g.finish();
}

fn bench_revalidate(c: &mut Criterion) {
    let n = 1000u32;
    let mut of = bridge(n);
    let now = Duration::from_secs(1);
    // 100k megaflows: 1000 first-pass flows and 99k est-pass flows.
    let mut dump = Vec::with_capacity(100_000);
    let mut recirc_of = std::collections::HashMap::new();
    for src in 1..=n {
        let up = of.upcall(&tcp_key(src, 1 + src % n, 40000), now);
        let id = up.actions.iter().find_map(|a| if let Action::Recirc(id) = a { Some(*id) } else { None }).unwrap();
        recirc_of.insert(src, id);
        dump.push(up);
    }
    'outer: for src in 1..=n {
        for d in 1..=100 {
            if dump.len() >= 100_000 {
                break 'outer;
            }
            let dst = 1 + (src + d) % n;
            let mut k = tcp_key(src, dst, 40000);
            k.recirc_id = recirc_of[&src];
            k.ct_state = ct_state::TRK | ct_state::EST;
            k.ct_zone = 65520;
            dump.push(of.upcall(&k, now));
        }
    }
    let dumped: Vec<DumpedFlow> = dump
        .into_iter()
        .map(|u| DumpedFlow {
            ufid: u.ufid,
            key: u.key,
            mask: u.mask,
            actions: u.actions,
            packets: 1,
            bytes: 100,
            used: Some(now),
        })
        .collect();
    assert_eq!(of.n_ukeys(), 100_000);
    // The rule to change: pod 7's L2 forwarding flow (`dl_dst=<mac>`),
    // toggled between two action lists that translate identically.
    let mac7 = pod_mac(7).0;
    let spec = of
        .rules_sorted()
        .into_iter()
        .find(|r| r.spec.matches.mask.dp.eth_dst == [0xff; 6] && r.spec.matches.key.dp.eth_dst == mac7)
        .map(|r| r.spec.clone())
        .expect("the pipeline has an L2 forwarding flow per pod");
    let filter =
        FlowFilter { table: Some(spec.table), matches: spec.matches, priority: spec.priority, ..Default::default() };
    let plain = spec.actions.clone();
    let mut noted = spec.actions.clone();
    noted.push(OfAction::Note(vec![1, 0, 0, 0, 0, 0]));
    let mut flip = false;
    let mut g = c.benchmark_group("ofproto/revalidate");
    g.sample_size(10);
    g.throughput(Throughput::Elements(dumped.len() as u64));
    g.bench_function("megaflows=100000/after_one_rule_change", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                flip = !flip;
                let actions = if flip { noted.clone() } else { plain.clone() };
                of.flow_modify(&filter, true, actions, now).unwrap();
                let t = Instant::now();
                let r = of.revalidate(&dumped, now);
                total += t.elapsed();
                assert_eq!(r.retranslated, dumped.len());
                assert!(r.ops.is_empty(), "an equivalent rule change must not touch any megaflow");
            }
            total
        })
    });
    g.finish();
}

criterion_group!(benches, bench_xlate, bench_revalidate);
criterion_main!(benches);
