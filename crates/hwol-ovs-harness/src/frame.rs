//! Build Ethernet/IPv4/TCP frames with valid checksums and believable
//! sequence numbers, for injecting into OVS with
//! [`Ovs::receive_frame`](crate::Ovs::receive_frame).
//!
//! OVS's userspace conntrack checks checksums and TCP windows, so a TCP
//! exchange has to look like one: [`TcpConversation`] keeps both sides'
//! sequence numbers so SYN, SYN-ACK, ACK and data segments are accepted as
//! `+new` then `+est`. No options, no fragmentation, IPv4 only.

use std::net::Ipv4Addr;

use hwol_wire::{checksum, ipv4, EthAddr};

/// TCP flag bits as they sit in the header's flags byte.
pub mod tcp_flags {
    /// FIN.
    pub const FIN: u8 = 0x01;
    /// SYN.
    pub const SYN: u8 = 0x02;
    /// RST.
    pub const RST: u8 = 0x04;
    /// PSH.
    pub const PSH: u8 = 0x08;
    /// ACK.
    pub const ACK: u8 = 0x10;
}

const ETHERTYPE_IPV4: u16 = 0x0800;
const IPPROTO_TCP: u8 = 6;
const ETH_HEADER_LEN: usize = 14;
const IPV4_HEADER_LEN: usize = 20;
const TCP_HEADER_LEN: usize = 20;
/// IPv4 "don't fragment" flag in the flags/fragment-offset word.
const IPV4_DF: u16 = 0x4000;

/// One end of a TCP connection: where frames come from or go to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Endpoint {
    /// Ethernet address.
    pub mac: EthAddr,
    /// IPv4 address.
    pub ip: Ipv4Addr,
    /// TCP port.
    pub port: u16,
}

/// One TCP segment in an Ethernet frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TcpSegment<'a> {
    /// Sender.
    pub src: Endpoint,
    /// Receiver.
    pub dst: Endpoint,
    /// Sequence number.
    pub seq: u32,
    /// Acknowledgement number (meaningful with [`tcp_flags::ACK`]).
    pub ack: u32,
    /// Flag bits, see [`tcp_flags`].
    pub flags: u8,
    /// Receive window.
    pub window: u16,
    /// IPv4 TTL.
    pub ttl: u8,
    /// Data carried.
    pub payload: &'a [u8],
}

/// The frame's bytes: Ethernet II, a 20-byte IPv4 header with DF set and a
/// 20-byte TCP header, both checksums filled in.
pub fn tcp_frame(seg: &TcpSegment<'_>) -> Vec<u8> {
    let tcp_len = TCP_HEADER_LEN + seg.payload.len();
    let mut out = vec![0u8; ETH_HEADER_LEN + IPV4_HEADER_LEN + tcp_len];
    out[0..6].copy_from_slice(&seg.dst.mac.0);
    out[6..12].copy_from_slice(&seg.src.mac.0);
    out[12..14].copy_from_slice(&ETHERTYPE_IPV4.to_be_bytes());

    let (src_ip, dst_ip) = (seg.src.ip.octets(), seg.dst.ip.octets());
    let ip_payload_len = u16::try_from(tcp_len).unwrap_or(u16::MAX);
    ipv4::emit_header(&mut out[ETH_HEADER_LEN..], src_ip, dst_ip, IPPROTO_TCP, seg.ttl, 0, ip_payload_len, IPV4_DF);

    let tcp = &mut out[ETH_HEADER_LEN + IPV4_HEADER_LEN..];
    tcp[0..2].copy_from_slice(&seg.src.port.to_be_bytes());
    tcp[2..4].copy_from_slice(&seg.dst.port.to_be_bytes());
    tcp[4..8].copy_from_slice(&seg.seq.to_be_bytes());
    tcp[8..12].copy_from_slice(&seg.ack.to_be_bytes());
    tcp[12] = ((TCP_HEADER_LEN / 4) as u8) << 4;
    tcp[13] = seg.flags;
    tcp[14..16].copy_from_slice(&seg.window.to_be_bytes());
    tcp[TCP_HEADER_LEN..].copy_from_slice(seg.payload);
    let pseudo = checksum::pseudo_v4(src_ip, dst_ip, IPPROTO_TCP, ip_payload_len);
    let csum = checksum::finish(checksum::sum(pseudo, tcp));
    tcp[16..18].copy_from_slice(&csum.to_be_bytes());
    out
}

/// Lower-case hex, the form `netdev-dummy/receive` accepts for raw frames.
pub fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Which side of a [`TcpConversation`] sends a segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// The side that sent the SYN.
    Client,
    /// The side that answered with SYN-ACK.
    Server,
}

/// A TCP connection's two sides with their next sequence numbers, producing
/// the frames of a handshake and of data in either direction.
#[derive(Debug, Clone)]
pub struct TcpConversation {
    client: Endpoint,
    server: Endpoint,
    client_next: u32,
    server_next: u32,
}

impl TcpConversation {
    /// Window advertised by both sides.
    pub const WINDOW: u16 = 64240;
    /// TTL of every packet.
    pub const TTL: u8 = 64;

    /// A connection from `client` to `server` with fixed initial sequence
    /// numbers (deterministic frames).
    pub fn new(client: Endpoint, server: Endpoint) -> Self {
        TcpConversation { client, server, client_next: 1_000, server_next: 50_000 }
    }

    /// The client's SYN.
    pub fn syn(&mut self) -> Vec<u8> {
        let frame = self.segment(Side::Client, tcp_flags::SYN, b"", false);
        self.client_next = self.client_next.wrapping_add(1);
        frame
    }

    /// The server's SYN-ACK.
    pub fn syn_ack(&mut self) -> Vec<u8> {
        let frame = self.segment(Side::Server, tcp_flags::SYN | tcp_flags::ACK, b"", true);
        self.server_next = self.server_next.wrapping_add(1);
        frame
    }

    /// The client's ACK completing the handshake.
    pub fn ack(&mut self) -> Vec<u8> {
        self.segment(Side::Client, tcp_flags::ACK, b"", true)
    }

    /// A PSH-ACK data segment from `side`.
    pub fn data(&mut self, side: Side, payload: &[u8]) -> Vec<u8> {
        let frame = self.segment(side, tcp_flags::PSH | tcp_flags::ACK, payload, true);
        let len = u32::try_from(payload.len()).unwrap_or(u32::MAX);
        match side {
            Side::Client => self.client_next = self.client_next.wrapping_add(len),
            Side::Server => self.server_next = self.server_next.wrapping_add(len),
        }
        frame
    }

    fn segment(&self, side: Side, flags: u8, payload: &[u8], with_ack: bool) -> Vec<u8> {
        let (src, dst, seq, peer_next) = match side {
            Side::Client => (self.client, self.server, self.client_next, self.server_next),
            Side::Server => (self.server, self.client, self.server_next, self.client_next),
        };
        tcp_frame(&TcpSegment {
            src,
            dst,
            seq,
            ack: if with_ack { peer_next } else { 0 },
            flags,
            window: Self::WINDOW,
            ttl: Self::TTL,
            payload,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hwol_wire::ipv4::Ipv4Packet;

    fn ends() -> (Endpoint, Endpoint) {
        let a = Endpoint { mac: EthAddr([0x50, 0x54, 0, 0, 0, 1]), ip: Ipv4Addr::new(192, 168, 1, 16), port: 43558 };
        let b = Endpoint { mac: EthAddr([0x50, 0x54, 0, 0, 0, 2]), ip: Ipv4Addr::new(192, 168, 1, 17), port: 5201 };
        (a, b)
    }

    #[test]
    fn syn_frame_layout_and_checksums() {
        let (a, b) = ends();
        let f = TcpConversation::new(a, b).syn();
        assert_eq!(f.len(), 14 + 20 + 20);
        assert_eq!(&f[0..6], &b.mac.0, "destination MAC first");
        assert_eq!(&f[6..12], &a.mac.0);
        assert_eq!(&f[12..14], &[0x08, 0x00]);
        let ip = Ipv4Packet::new_checked(&f[14..]).unwrap();
        assert!(ip.verify_checksum());
        assert_eq!(ip.src(), [192, 168, 1, 16]);
        assert_eq!(ip.total_len(), 40);
        // TCP checksum over pseudo-header + segment folds to zero when valid.
        let pseudo = checksum::pseudo_v4(ip.src(), ip.dst(), 6, 20);
        assert_eq!(checksum::finish(checksum::sum(pseudo, &f[34..])), 0);
        assert_eq!(f[34 + 13], tcp_flags::SYN);
    }

    #[test]
    fn handshake_sequence_numbers_line_up() {
        let (a, b) = ends();
        let mut c = TcpConversation::new(a, b);
        let seq_ack = |f: &[u8]| {
            let t = &f[34..];
            (u32::from_be_bytes([t[4], t[5], t[6], t[7]]), u32::from_be_bytes([t[8], t[9], t[10], t[11]]))
        };
        let (syn_seq, _) = seq_ack(&c.syn());
        let (sa_seq, sa_ack) = seq_ack(&c.syn_ack());
        assert_eq!(sa_ack, syn_seq + 1);
        let (ack_seq, ack_ack) = seq_ack(&c.ack());
        assert_eq!((ack_seq, ack_ack), (syn_seq + 1, sa_seq + 1));
        let (d1_seq, _) = seq_ack(&c.data(Side::Client, b"hello"));
        assert_eq!(d1_seq, syn_seq + 1);
        let (d2_seq, d2_ack) = seq_ack(&c.data(Side::Server, b"x"));
        assert_eq!((d2_seq, d2_ack), (sa_seq + 1, syn_seq + 1 + 5));
    }

    #[test]
    fn hex_is_lowercase_pairs() {
        assert_eq!(to_hex(&[0x00, 0xab, 0x1f]), "00ab1f");
    }
}
