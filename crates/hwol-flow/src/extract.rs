//! Flow-key extraction: packet bytes plus metadata in, [`FlowKey`] out.
//!
//! The parser walks Ethernet, up to two VLAN tags, then ARP, IPv4 or IPv6
//! (through its extension headers) and finally TCP, UDP, ICMP or ICMPv6.
//! When an inner header is truncated or malformed, parsing stops and the
//! deeper fields stay zero: the packet still gets a key and can still match
//! a flow that does not look that deep, which is how OVS behaves. Only a
//! frame shorter than an Ethernet header is refused.
//!
//! The [`Layout`] returned alongside the key records header offsets, so that
//! actions can rewrite fields without parsing again.

use crate::key::{nw_frag, FlowKey, VlanHeader};
use crate::DropReason;
use hwol_wire::arp::ArpPacket;
use hwol_wire::ethernet::{ethertype, is_vlan_tpid, EthernetFrame, VlanTag};
use hwol_wire::icmp::IcmpPacket;
use hwol_wire::ipv4::{proto, Ipv4Packet};
use hwol_wire::ipv6::Ipv6Packet;
use hwol_wire::tcp::TcpPacket;
use hwol_wire::udp::UdpPacket;

/// Datapath metadata that travels with a packet but is not in its bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Metadata {
    /// Arrival port.
    pub in_port: u32,
    /// Recirculation id.
    pub recirc_id: u32,
    /// skb mark.
    pub skb_mark: u32,
    /// skb priority.
    pub skb_priority: u32,
    /// Datapath hash.
    pub dp_hash: u32,
    /// Conntrack state bits.
    pub ct_state: u8,
    /// Conntrack zone.
    pub ct_zone: u16,
    /// Conntrack mark.
    pub ct_mark: u32,
    /// Conntrack label.
    pub ct_label: u128,
    /// Original-direction tuple of the tracked connection (IPv4 part).
    pub ct_nw_src: [u8; 4],
    /// Original-direction destination (IPv4).
    pub ct_nw_dst: [u8; 4],
    /// Original-direction source (IPv6).
    pub ct_ipv6_src: [u8; 16],
    /// Original-direction destination (IPv6).
    pub ct_ipv6_dst: [u8; 16],
    /// Original-direction protocol.
    pub ct_nw_proto: u8,
    /// Original-direction source port.
    pub ct_tp_src: u16,
    /// Original-direction destination port.
    pub ct_tp_dst: u16,
}

impl Metadata {
    /// Metadata for a packet freshly received on `in_port`.
    pub fn on_port(in_port: u32) -> Self {
        Metadata { in_port, ..Default::default() }
    }

    /// Copy the metadata back out of a key (used on recirculation).
    pub fn from_key(k: &FlowKey) -> Self {
        Metadata {
            in_port: k.in_port,
            recirc_id: k.recirc_id,
            skb_mark: k.skb_mark,
            skb_priority: k.skb_priority,
            dp_hash: k.dp_hash,
            ct_state: k.ct_state,
            ct_zone: k.ct_zone,
            ct_mark: k.ct_mark,
            ct_label: k.ct_label,
            ct_nw_src: k.ct_nw_src,
            ct_nw_dst: k.ct_nw_dst,
            ct_ipv6_src: k.ct_ipv6_src,
            ct_ipv6_dst: k.ct_ipv6_dst,
            ct_nw_proto: k.ct_nw_proto,
            ct_tp_src: k.ct_tp_src,
            ct_tp_dst: k.ct_tp_dst,
        }
    }

    fn apply(&self, k: &mut FlowKey) {
        k.in_port = self.in_port;
        k.recirc_id = self.recirc_id;
        k.skb_mark = self.skb_mark;
        k.skb_priority = self.skb_priority;
        k.dp_hash = self.dp_hash;
        k.ct_state = self.ct_state;
        k.ct_zone = self.ct_zone;
        k.ct_mark = self.ct_mark;
        k.ct_label = self.ct_label;
        k.ct_nw_src = self.ct_nw_src;
        k.ct_nw_dst = self.ct_nw_dst;
        k.ct_ipv6_src = self.ct_ipv6_src;
        k.ct_ipv6_dst = self.ct_ipv6_dst;
        k.ct_nw_proto = self.ct_nw_proto;
        k.ct_tp_src = self.ct_tp_src;
        k.ct_tp_dst = self.ct_tp_dst;
    }
}

/// Where each header starts, as found during extraction. An offset of
/// [`Layout::ABSENT`] means the header is not there (or could not be parsed).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Layout {
    /// Offset of the innermost EtherType field (after the VLAN tags).
    pub l2_ethertype: u16,
    /// Number of VLAN tags parsed.
    pub vlan_count: u8,
    /// Offset of the L3 header.
    pub l3: u16,
    /// Offset of the L4 header (only if it was complete).
    pub l4: u16,
    /// Length of the L3 packet as the buffer holds it (for checksums).
    pub l3_len: u16,
}

impl Layout {
    /// Marker for a header that is not present.
    pub const ABSENT: u16 = u16::MAX;

    fn empty() -> Self {
        Layout { l2_ethertype: 12, vlan_count: 0, l3: Self::ABSENT, l4: Self::ABSENT, l3_len: 0 }
    }
}

/// Extract the flow key of `pkt`. Returns `Err` only for a runt frame.
pub fn extract(pkt: &[u8], md: &Metadata) -> Result<(FlowKey, Layout), DropReason> {
    let mut key = FlowKey::default();
    md.apply(&mut key);
    let mut layout = Layout::empty();

    let eth = EthernetFrame::new_checked(pkt).map_err(|_| DropReason::RuntFrame)?;
    key.eth_src = eth.src().0;
    key.eth_dst = eth.dst().0;
    let mut ethertype = eth.ethertype();
    let mut off = 14usize;

    // VLAN tags: at most two are parsed into the key; a third stays in the
    // payload (the EtherType then reads as a TPID and no L3 is parsed).
    for slot in 0..2 {
        if !is_vlan_tpid(ethertype) {
            break;
        }
        let Ok(tag) = VlanTag::new_checked(&pkt[off..]) else {
            // Truncated tag: record the TPID so the key says "tagged", stop.
            key.vlans[slot] = VlanHeader { tpid: ethertype, tci: 0 };
            key.eth_type = 0;
            layout.l2_ethertype = Layout::ABSENT;
            return Ok((key, layout));
        };
        key.vlans[slot] = VlanHeader { tpid: ethertype, tci: tag.tci().0 };
        layout.vlan_count += 1;
        ethertype = tag.ethertype();
        off += 4;
    }
    layout.l2_ethertype = (off - 2) as u16;
    if ethertype < ethertype::MIN_ETHERTYPE {
        // 802.3 length field: OVS records "no EtherType" as 0x05ff.
        key.eth_type = 0x05ff;
        return Ok((key, layout));
    }
    key.eth_type = ethertype;
    let l3 = &pkt[off..];

    match ethertype {
        ethertype::IPV4 => extract_ipv4(l3, off, &mut key, &mut layout),
        ethertype::IPV6 => extract_ipv6(l3, off, &mut key, &mut layout),
        ethertype::ARP => {
            if let Ok(arp) = ArpPacket::new_checked(l3) {
                layout.l3 = off as u16;
                key.arp_op = arp.oper();
                key.nw_src = arp.spa();
                key.nw_dst = arp.tpa();
                key.arp_sha = arp.sha().0;
                key.arp_tha = arp.tha().0;
            }
        }
        _ => {}
    }
    Ok((key, layout))
}

fn extract_ipv4(l3: &[u8], off: usize, key: &mut FlowKey, layout: &mut Layout) {
    let Ok(ip) = Ipv4Packet::new_checked(l3) else {
        return;
    };
    layout.l3 = off as u16;
    let total = (ip.total_len() as usize).clamp(ip.header_len(), l3.len());
    layout.l3_len = total as u16;
    key.nw_src = ip.src();
    key.nw_dst = ip.dst();
    key.nw_proto = ip.protocol();
    key.nw_tos = ip.tos();
    key.nw_ttl = ip.ttl();
    if ip.is_fragment() {
        key.nw_frag = nw_frag::ANY;
        if ip.is_later_fragment() {
            key.nw_frag |= nw_frag::LATER;
            return;
        }
    }
    let l4_off = ip.header_len();
    extract_l4(&l3[l4_off..total], off + l4_off, key, layout, false);
}

fn extract_ipv6(l3: &[u8], off: usize, key: &mut FlowKey, layout: &mut Layout) {
    let Ok(ip) = Ipv6Packet::new_checked(l3) else {
        return;
    };
    layout.l3 = off as u16;
    let total = (40 + ip.payload_len() as usize).min(l3.len());
    layout.l3_len = total as u16;
    key.ipv6_src = ip.src();
    key.ipv6_dst = ip.dst();
    key.ipv6_label = ip.flow_label();
    key.nw_tos = ip.traffic_class();
    key.nw_ttl = ip.hop_limit();
    key.nw_proto = ip.next_header();
    let Ok(loc) = ip.walk_to_l4() else { return };
    key.nw_proto = loc.proto;
    if loc.is_fragment {
        key.nw_frag = nw_frag::ANY;
        if loc.is_later_fragment {
            key.nw_frag |= nw_frag::LATER;
            return;
        }
    }
    if loc.offset <= total {
        extract_l4(&l3[loc.offset..total], off + loc.offset, key, layout, true);
    }
}

fn extract_l4(l4: &[u8], off: usize, key: &mut FlowKey, layout: &mut Layout, v6: bool) {
    match key.nw_proto {
        proto::TCP => {
            if let Ok(t) = TcpPacket::new_checked(l4) {
                key.tp_src = t.src_port();
                key.tp_dst = t.dst_port();
                key.tcp_flags = t.flags();
                layout.l4 = off as u16;
            }
        }
        proto::UDP => {
            if let Ok(u) = UdpPacket::new_checked(l4) {
                key.tp_src = u.src_port();
                key.tp_dst = u.dst_port();
                layout.l4 = off as u16;
            }
        }
        proto::ICMP if !v6 => icmp(l4, off, key, layout),
        proto::ICMPV6 if v6 => icmp(l4, off, key, layout),
        _ => {}
    }
}

fn icmp(l4: &[u8], off: usize, key: &mut FlowKey, layout: &mut Layout) {
    if let Ok(i) = IcmpPacket::new_checked(l4) {
        key.tp_src = i.msg_type() as u16;
        key.tp_dst = i.code() as u16;
        layout.l4 = off as u16;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ct_state;

    #[rustfmt::skip]
    fn tcp_syn_v4() -> Vec<u8> {
        vec![
            0xc2, 0x64, 0xba, 0x35, 0xbf, 0xc5, // dst
            0x1a, 0x00, 0x25, 0xcc, 0x24, 0x20, // src
            0x08, 0x00,                         // IPv4
            0x45, 0x00, 0x00, 0x28,             // ihl 5, len 40
            0x00, 0x01, 0x40, 0x00,             // id 1, DF
            0x40, 0x06, 0x00, 0x00,             // ttl 64, TCP, csum (unchecked here)
            10, 0, 0, 1,                        // src
            10, 0, 0, 2,                        // dst
            0x93, 0x48, 0x14, 0x51,             // 37704 -> 5201
            0, 0, 0, 1, 0, 0, 0, 0,             // seq, ack
            0x50, 0x02, 0xff, 0xff,             // off 5, SYN, win
            0, 0, 0, 0,                         // csum, urg
        ]
    }

    #[test]
    fn extracts_tcp_over_ipv4_with_metadata() {
        let md = Metadata {
            in_port: 3,
            recirc_id: 1,
            ct_state: ct_state::NEW | ct_state::TRK,
            ct_zone: 0xfff0,
            ..Default::default()
        };
        let (k, l) = extract(&tcp_syn_v4(), &md).unwrap();
        assert_eq!(k.in_port, 3);
        assert_eq!(k.recirc_id, 1);
        assert_eq!(k.ct_zone, 0xfff0);
        assert_eq!(k.ct_state, 0x21);
        assert_eq!(k.eth_src().to_string(), "1a:00:25:cc:24:20");
        assert_eq!(k.eth_type, 0x0800);
        assert_eq!((k.nw_src, k.nw_dst), ([10, 0, 0, 1], [10, 0, 0, 2]));
        assert_eq!((k.nw_proto, k.nw_ttl, k.nw_frag), (6, 64, 0));
        assert_eq!((k.tp_src, k.tp_dst, k.tcp_flags), (37704, 5201, 0x002));
        assert_eq!((l.l3, l.l4, l.l3_len), (14, 34, 40));
    }

    #[test]
    fn truncated_l4_yields_partial_key() {
        let p = tcp_syn_v4();
        let (k, l) = extract(&p[..40], &Metadata::default()).unwrap();
        assert_eq!(k.nw_proto, 6);
        assert_eq!((k.tp_src, k.tp_dst), (0, 0));
        assert_eq!(l.l4, Layout::ABSENT);
    }

    #[test]
    fn runt_frame_is_dropped() {
        assert_eq!(extract(&[0u8; 13], &Metadata::default()).unwrap_err(), DropReason::RuntFrame);
    }

    #[test]
    fn later_fragment_has_no_ports() {
        let mut p = tcp_syn_v4();
        p[20] = 0x00;
        p[21] = 0x10; // fragment offset 16
        let (k, _) = extract(&p, &Metadata::default()).unwrap();
        assert_eq!(k.nw_frag, nw_frag::ANY | nw_frag::LATER);
        assert_eq!(k.tp_dst, 0);
    }

    #[test]
    fn vlan_tags_are_recorded_outer_first() {
        let mut p = tcp_syn_v4();
        p.splice(12..12, [0x88, 0xa8, 0x00, 0x64, 0x81, 0x00, 0x00, 0x0a]);
        let (k, l) = extract(&p, &Metadata::default()).unwrap();
        assert_eq!(k.vlans[0], VlanHeader { tpid: 0x88a8, tci: 100 });
        assert_eq!(k.vlans[1], VlanHeader { tpid: 0x8100, tci: 10 });
        assert_eq!(k.eth_type, 0x0800);
        assert_eq!(k.tp_dst, 5201);
        assert_eq!((l.vlan_count, l.l3), (2, 22));
    }

    #[test]
    fn icmpv6_echo_over_ipv6_with_extension_header() {
        #[rustfmt::skip]
        let mut p = vec![
            0x33, 0x33, 0, 0, 0, 1, 0x02, 0, 0, 0, 0, 1, 0x86, 0xdd,
            0x60, 0x00, 0x00, 0x05, 0x00, 0x10, 0x00, 0x40, // hop-by-hop next
        ];
        p.extend_from_slice(&[0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
        p.extend_from_slice(&[0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]);
        p.extend_from_slice(&[58, 0, 1, 4, 0, 0, 0, 0]); // HBH -> ICMPv6
        p.extend_from_slice(&[128, 0, 0, 0, 0, 1, 0, 1]); // echo request
        let (k, l) = extract(&p, &Metadata::default()).unwrap();
        assert_eq!(k.eth_type, 0x86dd);
        assert_eq!(k.ipv6_label, 5);
        assert_eq!(k.nw_ttl, 64);
        assert_eq!((k.nw_proto, k.tp_src, k.tp_dst), (58, 128, 0));
        assert_eq!(l.l4, 14 + 48);
    }

    #[test]
    fn arp_fields() {
        #[rustfmt::skip]
        let p = [
            0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x1a, 0, 0x25, 0xcc, 0x24, 0x20, 0x08, 0x06,
            0, 1, 0x08, 0, 6, 4, 0, 1,
            0x1a, 0, 0x25, 0xcc, 0x24, 0x20, 10, 0, 0, 1,
            0, 0, 0, 0, 0, 0, 10, 0, 0, 2,
        ];
        let (k, _) = extract(&p, &Metadata::default()).unwrap();
        assert_eq!(k.eth_type, 0x0806);
        assert_eq!(k.arp_op, 1);
        assert_eq!((k.nw_src, k.nw_dst), ([10, 0, 0, 1], [10, 0, 0, 2]));
        assert_eq!(k.arp_sha, [0x1a, 0, 0x25, 0xcc, 0x24, 0x20]);
    }

    proptest::proptest! {
        #[test]
        fn never_panics_on_arbitrary_bytes(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..200)) {
            let _ = extract(&bytes, &Metadata::default());
        }

        #[test]
        fn never_panics_on_mutated_tcp(pos in 0usize..54, val: u8, cut in 0usize..55) {
            let mut p = tcp_syn_v4();
            p[pos] = val;
            p.truncate(cut.max(1));
            let _ = extract(&p, &Metadata::default());
        }
    }
}
