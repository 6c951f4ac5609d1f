//! End-to-end behaviour of the software datapath: the seed's conntrack
//! pipeline, misses, recirculation limits, header rewrites and VLANs.

mod common;

use common::*;
use hwol_datapath::{Datapath, DatapathConfig, Packet, PacketFate};
use hwol_flow::{ct_state, Action, CtAction, DropReason, FlowKey, FlowMask, Masked, Metadata, SetAction};
use std::time::Duration;

const ZONE: u16 = 0xfff0;

fn ct(commit: bool) -> Action {
    Action::Ct(CtAction { zone: ZONE, commit, ..Default::default() })
}

/// Key/mask for `recirc_id(R),in_port(P),eth_type(0x0800),ipv4(frag=no)`
/// plus an optional ct_state match.
fn m(recirc: u32, port: u32, state: Option<(u8, u8)>) -> (FlowKey, FlowMask) {
    let mut k = FlowKey { recirc_id: recirc, in_port: port, eth_type: 0x0800, ..Default::default() };
    let mut mask = FlowMask::default();
    mask.0.recirc_id = !0;
    mask.0.in_port = !0;
    mask.0.eth_type = !0;
    mask.0.nw_frag = !0;
    if let Some((v, msk)) = state {
        k.ct_state = v;
        mask.0.ct_state = msk;
    }
    (k, mask)
}

/// The seed's pipeline between ports 1 and 2, as ofproto would install it.
fn seed_pipeline() -> Datapath {
    let dp = Datapath::new(DatapathConfig::default());
    let (k, mk) = m(0, 1, None);
    dp.flow_put(k, mk, vec![ct(false), Action::Recirc(0x1)]);
    let (k, mk) = m(0, 2, None);
    dp.flow_put(k, mk, vec![ct(false), Action::Recirc(0x2)]);
    let trk_new = ct_state::NEW | ct_state::TRK;
    let (k, mk) = m(0x1, 1, Some((trk_new, trk_new)));
    dp.flow_put(k, mk, vec![ct(true), Action::Output(2)]);
    let est = (ct_state::EST | ct_state::TRK, ct_state::NEW | ct_state::EST | ct_state::TRK);
    let (k, mk) = m(0x1, 1, Some(est));
    dp.flow_put(k, mk, vec![Action::Output(2)]);
    let (k, mk) = m(0x2, 2, Some(est));
    dp.flow_put(k, mk, vec![Action::Output(1)]);
    dp
}

fn send(dp: &Datapath, port: u32, frame: Vec<u8>, t: u64, sink: &mut Recorder) -> PacketFate {
    let mut p = Packet::from_bytes(&frame);
    dp.process(&mut p, Metadata::on_port(port), Duration::from_millis(t), sink)
}

#[test]
fn seed_pipeline_tracks_a_tcp_connection_through_recirculation() {
    let dp = seed_pipeline();
    let mut sink = Recorder::default();
    let c2s = |seq, ack, flags, len| tcp4(MAC1, MAC2, IP1, IP2, 37672, 5201, seq, ack, flags, len);
    let s2c = |seq, ack, flags, len| tcp4(MAC2, MAC1, IP2, IP1, 5201, 37672, seq, ack, flags, len);

    assert_eq!(send(&dp, 1, c2s(100, 0, SYN, 0), 1, &mut sink), PacketFate::Forwarded);
    assert_eq!(send(&dp, 2, s2c(500, 101, SYN | ACK, 0), 2, &mut sink), PacketFate::Forwarded);
    assert_eq!(send(&dp, 1, c2s(101, 501, ACK, 0), 3, &mut sink), PacketFate::Forwarded);
    for i in 0..10 {
        assert_eq!(
            send(&dp, 1, c2s(101 + i * 100, 501, ACK | PSH, 100), 4 + i as u64, &mut sink),
            PacketFate::Forwarded
        );
    }
    let ports: Vec<u32> = sink.outputs.iter().map(|(p, _)| *p).collect();
    assert_eq!(ports, [2, 1, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2]);
    assert!(sink.misses.is_empty());

    // Every packet passed twice: recirc_id 0, then after ct.
    let flows = dp.flow_dump();
    let count = |recirc: u32, port: u32, state: u8| {
        flows
            .iter()
            .find(|f| f.key.recirc_id == recirc && f.key.in_port == port && f.key.ct_state == state)
            .map(|f| f.stats.packets())
    };
    assert_eq!(count(0, 1, 0), Some(12));
    assert_eq!(count(0x1, 1, ct_state::NEW | ct_state::TRK), Some(1));
    assert_eq!(count(0x1, 1, ct_state::EST | ct_state::TRK), Some(11));
    assert_eq!(count(0x2, 2, ct_state::EST | ct_state::TRK), Some(1));
    let st = dp.stats();
    assert_eq!((st.hit, st.missed), (26, 0));

    let dump = dp.conntrack().dump(Some(ZONE), Duration::from_millis(20));
    assert_eq!(dump.len(), 1);
    assert_eq!(
        hwol_conntrack::format_entry(&dump[0], false),
        "tcp,orig=(src=10.0.0.1,dst=10.0.0.2,sport=37672,dport=5201),reply=(src=10.0.0.2,dst=10.0.0.1,sport=5201,dport=37672),zone=65520,protoinfo=(state=ESTABLISHED)"
    );
}

#[test]
fn reply_without_commit_is_not_established() {
    let dp = seed_pipeline();
    let mut sink = Recorder::default();
    // A reply-direction packet for a connection nobody committed is +new in
    // conntrack's eyes; the pipeline has no +new flow for recirc 0x2 from
    // port 2, so it misses and goes to the slow path with ct_state set.
    let f = tcp4(MAC2, MAC1, IP2, IP1, 5201, 40000, 1, 1, ACK, 0);
    assert_eq!(send(&dp, 2, f, 1, &mut sink), PacketFate::Upcall);
    let k = sink.misses[0];
    assert_eq!(k.recirc_id, 0x2);
    assert_ne!(k.ct_state & ct_state::TRK, 0);
    assert_eq!(k.ct_state & ct_state::EST, 0);
    assert_eq!(k.ct_zone, ZONE);
}

#[test]
fn miss_goes_to_the_slow_path_with_the_packet_key() {
    let dp = Datapath::new(DatapathConfig::default());
    let mut sink = Recorder::default();
    let f = udp4(IP1, IP2, 1000, 53, 10);
    assert_eq!(send(&dp, 7, f, 1, &mut sink), PacketFate::Upcall);
    assert_eq!(sink.misses.len(), 1);
    assert_eq!(sink.misses[0].in_port, 7);
    assert_eq!(sink.misses[0].tp_dst, 53);
    assert_eq!(dp.stats().missed, 1);
}

#[test]
fn recirculation_loop_is_cut_and_counted() {
    let dp = Datapath::new(DatapathConfig::default());
    let mut k = FlowKey::default();
    let mut mask = FlowMask::default();
    mask.0.in_port = !0;
    k.in_port = 1;
    // Matches every recirc id: recirculating forever.
    dp.flow_put(k, mask, vec![Action::Recirc(9)]);
    let mut sink = Recorder::default();
    let fate = send(&dp, 1, udp4(IP1, IP2, 1, 2, 0), 1, &mut sink);
    assert_eq!(fate, PacketFate::Dropped(DropReason::RecircDepthExceeded));
    assert_eq!(dp.stats().drops.get(DropReason::RecircDepthExceeded), 1);
}

#[test]
fn runt_frames_and_explicit_drops_are_counted() {
    let dp = Datapath::new(DatapathConfig::default());
    let mut sink = Recorder::default();
    assert_eq!(send(&dp, 1, vec![0; 10], 1, &mut sink), PacketFate::Dropped(DropReason::RuntFrame));
    dp.flow_put(FlowKey::default(), FlowMask::default(), vec![]);
    assert_eq!(send(&dp, 1, udp4(IP1, IP2, 1, 2, 0), 1, &mut sink), PacketFate::Dropped(DropReason::ActionDrop));
    let d = dp.stats().drops;
    assert_eq!((d.get(DropReason::RuntFrame), d.get(DropReason::ActionDrop)), (1, 1));
}

#[test]
fn unknown_output_port_is_counted_and_other_outputs_still_happen() {
    let dp = Datapath::new(DatapathConfig::default());
    dp.flow_put(FlowKey::default(), FlowMask::default(), vec![Action::Output(9), Action::Output(2)]);
    let mut sink = Recorder { ports: vec![2], ..Default::default() };
    assert_eq!(send(&dp, 1, udp4(IP1, IP2, 1, 2, 0), 1, &mut sink), PacketFate::Forwarded);
    assert_eq!(sink.outputs.len(), 1);
    assert_eq!(dp.stats().drops.get(DropReason::OutputPortUnknown), 1);
}

#[test]
fn ct_nat_is_refused_with_a_reason() {
    let dp = Datapath::new(DatapathConfig::default());
    let nat = CtAction { zone: 1, commit: true, nat: Some(Default::default()), ..Default::default() };
    dp.flow_put(FlowKey::default(), FlowMask::default(), vec![Action::Ct(nat), Action::Output(2)]);
    let mut sink = Recorder::default();
    let fate = send(&dp, 1, tcp4(MAC1, MAC2, IP1, IP2, 1, 2, 1, 0, SYN, 0), 1, &mut sink);
    assert_eq!(fate, PacketFate::Dropped(DropReason::CtNatUnsupported));
    assert!(sink.outputs.is_empty());
}

#[test]
fn set_then_recirc_sees_rewritten_headers() {
    let dp = Datapath::new(DatapathConfig::default());
    let mut k0 = FlowKey { in_port: 1, ..Default::default() };
    let mut m0 = FlowMask::default();
    m0.0.in_port = !0;
    m0.0.recirc_id = !0;
    let set = SetAction::Tcp { src: Masked::new(0, 0), dst: Masked::new(8080, 0xffff) };
    dp.flow_put(k0, m0, vec![Action::Set { set, masked: true }, Action::Recirc(5)]);
    k0.recirc_id = 5;
    k0.tp_dst = 8080;
    m0.0.tp_dst = !0;
    dp.flow_put(k0, m0, vec![Action::Output(3)]);
    let mut sink = Recorder::default();
    let fate = send(&dp, 1, tcp4(MAC1, MAC2, IP1, IP2, 1234, 80, 1, 0, SYN, 0), 1, &mut sink);
    assert_eq!(fate, PacketFate::Forwarded);
    let out = &sink.outputs[0].1;
    assert_eq!(u16::from_be_bytes([out[36], out[37]]), 8080);
    assert!(checksums_ok_v4(out));
}

#[test]
fn push_and_pop_vlan_round_trip() {
    let dp = Datapath::new(DatapathConfig::default());
    let mut k = FlowKey { in_port: 1, ..Default::default() };
    let mut mask = FlowMask::default();
    mask.0.in_port = !0;
    mask.0.recirc_id = !0;
    dp.flow_put(k, mask, vec![Action::PushVlan { tpid: 0x8100, tci: 10 }, Action::Output(2), Action::Recirc(1)]);
    k.recirc_id = 1;
    dp.flow_put(k, mask, vec![Action::PopVlan, Action::Output(3)]);
    let frame = udp4(IP1, IP2, 5, 6, 3);
    let mut sink = Recorder::default();
    assert_eq!(send(&dp, 1, frame.clone(), 1, &mut sink), PacketFate::Forwarded);
    let tagged = &sink.outputs[0].1;
    assert_eq!(&tagged[12..16], &[0x81, 0x00, 0x00, 0x0a]);
    assert_eq!(&tagged[16..], &frame[12..]);
    assert_eq!(sink.outputs[1].1, frame);
}

#[test]
fn flow_put_replaces_and_keeps_stats_and_flow_del_removes() {
    let dp = Datapath::new(DatapathConfig::default());
    let (k, mk) = m(0, 1, None);
    let f = dp.flow_put(k, mk, vec![Action::Output(2)]);
    let mut sink = Recorder::default();
    send(&dp, 1, udp4(IP1, IP2, 1, 2, 0), 1, &mut sink);
    let g = dp.flow_put(k, mk, vec![Action::Output(3)]);
    assert_eq!(f.ufid, g.ufid);
    assert_eq!(g.stats.packets(), 1);
    assert_eq!(dp.flow_count(), 1);
    assert!(dp.flow_get(g.ufid).is_some());
    dp.flow_del(g.ufid).unwrap();
    assert_eq!(dp.flow_count(), 0);
    assert!(dp.flow_del(g.ufid).is_err());
}

#[test]
fn lookups_stay_correct_while_flows_change_on_another_thread() {
    let dp = seed_pipeline();
    std::thread::scope(|s| {
        for t in 0..3u16 {
            let dp = &dp;
            s.spawn(move || {
                let mut sink = Recorder::default();
                for i in 0..2000u32 {
                    let f = udp4(IP1, IP2, 1000 + t, 2000, 0);
                    let mut p = Packet::from_bytes(&f);
                    // Port-1 UDP always hits the recirc_id(0) flow, then misses
                    // at recirc 0x1 (+new, not committed: no +new UDP flow).
                    let fate = dp.process(&mut p, Metadata::on_port(1), Duration::from_millis(i as u64), &mut sink);
                    assert_ne!(fate, PacketFate::Dropped(DropReason::RecircDepthExceeded));
                }
            });
        }
        s.spawn(|| {
            for i in 0..500u32 {
                let (k, mk) = m(0x100 + i, 9, None);
                let f = dp.flow_put(k, mk, vec![Action::Output(1)]);
                if i % 2 == 0 {
                    dp.flow_del(f.ufid).unwrap();
                }
            }
        });
    });
    assert_eq!(dp.flow_count(), 5 + 250);
}
