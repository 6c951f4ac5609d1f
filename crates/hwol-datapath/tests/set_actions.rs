//! Header rewrites against a naive reference: after any masked `set`, the
//! packet's fields hold the merged values and its checksums verify by full
//! recomputation.

mod common;

use common::*;
use hwol_datapath::execute::{execute, ExecContext};
use hwol_datapath::{Conntrack, FlowKey, Next, Packet};
use hwol_flow::{extract, Action, Masked, Metadata, SetAction};
use proptest::prelude::*;
use std::time::Duration;

/// Execute `actions` on `frame`; returns the packet, how the list ended,
/// what the sink saw, and the key as the actions left it.
fn exec(frame: &[u8], actions: &[Action], partial: bool) -> (Packet, Next, Recorder, FlowKey) {
    let ct = Conntrack::new(Default::default());
    let mut sink = Recorder::default();
    let mut forked = Vec::new();
    let mut ctx = ExecContext {
        conntrack: &ct,
        now: Duration::ZERO,
        sink: &mut sink,
        forked: &mut forked,
        unknown_port_outputs: 0,
    };
    let mut p = Packet::from_bytes(frame);
    p.l4_csum_partial = partial;
    let (mut key, mut layout) = extract(p.data(), &Metadata::default()).unwrap();
    let next = execute(&mut ctx, &mut p, &mut key, &mut layout, actions);
    (p, next, sink, key)
}

fn run(frame: &[u8], set: SetAction, partial: bool) -> Packet {
    let (p, _, _, key) = exec(frame, &[Action::Set { set, masked: true }], partial);
    // The key must agree with a fresh extraction of the rewritten packet.
    let (fresh, _) = extract(p.data(), &Metadata::default()).unwrap();
    assert_eq!(fresh, key, "key drifted from packet after set");
    p
}

fn merge4(old: [u8; 4], v: [u8; 4], m: [u8; 4]) -> [u8; 4] {
    core::array::from_fn(|i| (old[i] & !m[i]) | (v[i] & m[i]))
}

proptest! {
    #[test]
    fn ipv4_set_keeps_checksums_valid(
        src in any::<[u8; 4]>(), dst in any::<[u8; 4]>(),
        vsrc in any::<[u8; 4]>(), msrc in any::<[u8; 4]>(),
        vdst in any::<[u8; 4]>(), mdst in any::<[u8; 4]>(),
        ttl in any::<u8>(), tos in any::<u8>(), len in 0usize..64, udp in any::<bool>(),
    ) {
        let frame = if udp { udp4(src, dst, 7, 9, len) } else { tcp4(MAC1, MAC2, src, dst, 7, 9, 1, 2, ACK, len) };
        let set = SetAction::Ipv4 {
            src: Masked::new(vsrc, msrc), dst: Masked::new(vdst, mdst),
            tos: Masked::new(tos, 0xff), ttl: Masked::new(ttl, 0xff),
        };
        let p = run(&frame, set, false);
        let d = p.data();
        prop_assert_eq!(&d[26..30], &merge4(src, vsrc, msrc));
        prop_assert_eq!(&d[30..34], &merge4(dst, vdst, mdst));
        prop_assert_eq!((d[15], d[22]), (tos, ttl));
        prop_assert!(checksums_ok_v4(d));
    }

    #[test]
    fn port_set_keeps_checksums_valid(sp in any::<u16>(), dp in any::<u16>(), msp in any::<u16>(), len in 0usize..40, udp in any::<bool>()) {
        let frame = if udp { udp4(IP1, IP2, 1000, 2000, len) } else { tcp4(MAC1, MAC2, IP1, IP2, 1000, 2000, 5, 6, ACK, len) };
        let set = if udp {
            SetAction::Udp { src: Masked::new(sp, msp), dst: Masked::new(dp, 0xffff) }
        } else {
            SetAction::Tcp { src: Masked::new(sp, msp), dst: Masked::new(dp, 0xffff) }
        };
        let p = run(&frame, set, false);
        let d = p.data();
        prop_assert_eq!(u16::from_be_bytes([d[34], d[35]]), (1000 & !msp) | (sp & msp));
        prop_assert_eq!(u16::from_be_bytes([d[36], d[37]]), dp);
        prop_assert!(checksums_ok_v4(d));
    }

    #[test]
    fn partial_checksum_tracks_the_pseudo_header(vsrc in any::<[u8; 4]>()) {
        // With CHECKSUM_PARTIAL the field holds the folded pseudo-header sum.
        let mut frame = tcp4(MAC1, MAC2, IP1, IP2, 1, 2, 1, 2, ACK, 10);
        // 30 = 20 bytes of TCP header + 10 of payload.
        let folded = |src, dst| !hwol_wire::checksum::finish(hwol_wire::checksum::pseudo_v4(src, dst, 6, 30));
        frame[50..52].copy_from_slice(&folded(IP1, IP2).to_be_bytes());
        let set = SetAction::Ipv4 { src: Masked::new(vsrc, [0xff; 4]), dst: Masked::default(), tos: Masked::default(), ttl: Masked::default() };
        let p = run(&frame, set, true);
        let d = p.data();
        let want = folded(vsrc, IP2);
        let got = u16::from_be_bytes([d[50], d[51]]);
        // One's-complement zero has two encodings.
        prop_assert!(got == want || (got == 0xffff && want == 0) || (got == 0 && want == 0xffff), "got {got:#x} want {want:#x}");
    }
}

#[test]
fn eth_set_rewrites_addresses() {
    let frame = udp4(IP1, IP2, 1, 2, 0);
    let set = SetAction::Eth {
        src: Masked::new(hwol_flow::EthAddr([2, 0, 0, 0, 0, 9]), hwol_flow::EthAddr([0xff; 6])),
        dst: Masked::new(hwol_flow::EthAddr([0; 6]), hwol_flow::EthAddr([0; 6])),
    };
    let p = run(&frame, set, false);
    assert_eq!(&p.data()[6..12], &[2, 0, 0, 0, 0, 9]);
    assert_eq!(&p.data()[0..6], &MAC2);
}

#[test]
fn ipv4_set_on_arp_is_dropped_with_a_reason() {
    let mut frame = vec![0xff; 6];
    frame.extend_from_slice(&MAC1);
    frame.extend_from_slice(&[0x08, 0x06, 0, 1, 8, 0, 6, 4, 0, 1]);
    frame.extend_from_slice(&[0; 20]);
    let set = SetAction::Ipv4 {
        src: Masked::new(IP1, [0xff; 4]),
        dst: Masked::default(),
        tos: Masked::default(),
        ttl: Masked::default(),
    };
    let (_, next, sink, _) = exec(&frame, &[Action::Set { set, masked: false }, Action::Output(1)], false);
    assert_eq!(next, Next::Drop(hwol_flow::DropReason::ActionHeaderMissing));
    assert!(sink.outputs.is_empty());
}
