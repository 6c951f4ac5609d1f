//! The `virtio_net_hdr` that AF_PACKET puts in front of each frame when
//! `PACKET_VNET_HDR` is on, as a parsed value ([`VnetHdr`]) with
//! [`VnetHdr::parse`] and [`VnetHdr::emit`].
//!
//! This module is pure: no I/O. It covers the 10-byte legacy header only
//! (`PACKET_VNET_HDR`), not the 12-byte `virtio_net_hdr_mrg_rxbuf`.
//!
//! # Byte order
//!
//! AF_PACKET uses the *legacy* virtio layout, whose 16-bit fields are in the
//! host's byte order (`vio_le()` in the kernel is true exactly on
//! little-endian hosts). [`VnetHdr`] therefore encodes with native endianness.
//!
//! # What the fields mean for a switch
//!
//! - `gso_type != GSO_NONE`: the frame is a GSO "super-packet" of up to 64 KiB
//!   whose TCP/UDP payload must be cut into `gso_size`-byte segments. Sending
//!   it out another port *with the same header* lets the kernel (or the
//!   receiving veth's peer, which keeps it whole) do the cutting.
//! - `flags & F_NEEDS_CSUM`: the L4 checksum field at `csum_start +
//!   csum_offset` holds only the pseudo-header sum (`CHECKSUM_PARTIAL`). The
//!   frame is *not* corrupt. See "Slow path rules" below.
//! - `flags & F_DATA_VALID`: the checksum was verified already.
//!
//! # Slow path rules for `F_NEEDS_CSUM`
//!
//! A NEEDS_CSUM frame that reaches the software datapath must be loaded with
//! `hwol_datapath::Packet::l4_csum_partial = true`, so that:
//!
//! 1. nobody verifies its L4 checksum (it would look wrong);
//! 2. header rewrites (NAT, `set_field`) update the partial checksum
//!    incrementally *without* the final complement, as `Packet` does when the
//!    flag is set: the pseudo-header sum must change with the addresses and
//!    ports, but the payload is still summed later;
//! 3. on output the same `csum_start`/`csum_offset` go back into the vnet
//!    header (adjusted by any bytes pushed or popped in front of the L4
//!    header, e.g. a VLAN tag moves both by 4), so the kernel completes the
//!    checksum on transmit. Frames sent to a port without vnet headers must
//!    have the checksum completed in software first.
//!
//! Dropping the header, or sending it as [`VnetHdr::NONE`], turns a NEEDS_CSUM
//! frame into one with a wrong checksum and a GSO frame into an oversized one.

/// Size of the legacy `struct virtio_net_hdr` used by `PACKET_VNET_HDR`.
pub const VNET_HDR_LEN: usize = 10;

/// `VIRTIO_NET_HDR_F_NEEDS_CSUM`: checksum must be completed from `csum_start`.
pub const VIRTIO_NET_HDR_F_NEEDS_CSUM: u8 = 1;
/// `VIRTIO_NET_HDR_F_DATA_VALID`: checksum already verified.
pub const VIRTIO_NET_HDR_F_DATA_VALID: u8 = 2;
/// `VIRTIO_NET_HDR_GSO_NONE`.
pub const VIRTIO_NET_HDR_GSO_NONE: u8 = 0;
/// `VIRTIO_NET_HDR_GSO_TCPV4`.
pub const VIRTIO_NET_HDR_GSO_TCPV4: u8 = 1;
/// `VIRTIO_NET_HDR_GSO_UDP` (UFO, legacy).
pub const VIRTIO_NET_HDR_GSO_UDP: u8 = 3;
/// `VIRTIO_NET_HDR_GSO_TCPV6`.
pub const VIRTIO_NET_HDR_GSO_TCPV6: u8 = 4;
/// `VIRTIO_NET_HDR_GSO_UDP_L4` (UDP GSO, USO).
pub const VIRTIO_NET_HDR_GSO_UDP_L4: u8 = 5;
/// `VIRTIO_NET_HDR_GSO_ECN`: flag bit or'ed into `gso_type`.
pub const VIRTIO_NET_HDR_GSO_ECN: u8 = 0x80;

// Field offsets in struct virtio_net_hdr.
const FLAGS: usize = 0;
const GSO_TYPE: usize = 1;
const HDR_LEN: usize = 2;
const GSO_SIZE: usize = 4;
const CSUM_START: usize = 6;
const CSUM_OFFSET: usize = 8;

/// A parsed `virtio_net_hdr`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct VnetHdr {
    /// `VIRTIO_NET_HDR_F_*` bits.
    pub flags: u8,
    /// `VIRTIO_NET_HDR_GSO_*`, possibly with [`VIRTIO_NET_HDR_GSO_ECN`].
    pub gso_type: u8,
    /// Length of the headers (a hint; the kernel may ignore it).
    pub hdr_len: u16,
    /// Payload bytes per segment for GSO frames, 0 otherwise.
    pub gso_size: u16,
    /// Offset from the start of the Ethernet frame where checksumming starts.
    pub csum_start: u16,
    /// Offset from `csum_start` of the 16-bit checksum field.
    pub csum_offset: u16,
}

impl VnetHdr {
    /// No offload: a plain frame with a complete checksum.
    pub const NONE: VnetHdr = VnetHdr { flags: 0, gso_type: 0, hdr_len: 0, gso_size: 0, csum_start: 0, csum_offset: 0 };

    /// Parse the first [`VNET_HDR_LEN`] bytes of `buf`; `None` if it is shorter.
    pub fn parse(buf: &[u8]) -> Option<VnetHdr> {
        let b = buf.get(..VNET_HDR_LEN)?;
        let u16_at = |o: usize| u16::from_ne_bytes([b[o], b[o + 1]]);
        Some(VnetHdr {
            flags: b[FLAGS],
            gso_type: b[GSO_TYPE],
            hdr_len: u16_at(HDR_LEN),
            gso_size: u16_at(GSO_SIZE),
            csum_start: u16_at(CSUM_START),
            csum_offset: u16_at(CSUM_OFFSET),
        })
    }

    /// The header as the kernel expects it.
    pub fn to_bytes(&self) -> [u8; VNET_HDR_LEN] {
        let mut b = [0u8; VNET_HDR_LEN];
        self.emit(&mut b);
        b
    }

    /// Write the header into the first [`VNET_HDR_LEN`] bytes of `buf`.
    ///
    /// # Panics
    ///
    /// If `buf` is shorter than [`VNET_HDR_LEN`] (a caller bug, not input).
    pub fn emit(&self, buf: &mut [u8]) {
        let b = &mut buf[..VNET_HDR_LEN];
        b[FLAGS] = self.flags;
        b[GSO_TYPE] = self.gso_type;
        b[HDR_LEN..HDR_LEN + 2].copy_from_slice(&self.hdr_len.to_ne_bytes());
        b[GSO_SIZE..GSO_SIZE + 2].copy_from_slice(&self.gso_size.to_ne_bytes());
        b[CSUM_START..CSUM_START + 2].copy_from_slice(&self.csum_start.to_ne_bytes());
        b[CSUM_OFFSET..CSUM_OFFSET + 2].copy_from_slice(&self.csum_offset.to_ne_bytes());
    }

    /// True if the frame is a GSO super-packet.
    pub fn is_gso(&self) -> bool {
        self.gso_type & !VIRTIO_NET_HDR_GSO_ECN != VIRTIO_NET_HDR_GSO_NONE
    }

    /// True if the L4 checksum is partial and must be completed
    /// (`l4_csum_partial` in the datapath).
    pub fn needs_csum(&self) -> bool {
        self.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM != 0
    }

    /// The GSO kind without the ECN bit, by its kernel name.
    pub fn gso_kind(&self) -> &'static str {
        match self.gso_type & !VIRTIO_NET_HDR_GSO_ECN {
            VIRTIO_NET_HDR_GSO_NONE => "none",
            VIRTIO_NET_HDR_GSO_TCPV4 => "tcpv4",
            VIRTIO_NET_HDR_GSO_UDP => "udp",
            VIRTIO_NET_HDR_GSO_TCPV6 => "tcpv6",
            VIRTIO_NET_HDR_GSO_UDP_L4 => "udp_l4",
            _ => "unknown",
        }
    }

    /// Move `csum_start` by `delta` bytes after pushing (positive) or popping
    /// (negative) bytes in front of the L4 header, e.g. +4 for a VLAN push.
    /// `None` if the result would be out of range; such a frame must have its
    /// checksum completed in software instead.
    pub fn shifted(&self, delta: i32) -> Option<VnetHdr> {
        let mut h = *self;
        if self.needs_csum() {
            h.csum_start = u16::try_from(i32::from(self.csum_start) + delta).ok()?;
        }
        if self.hdr_len != 0 {
            h.hdr_len = u16::try_from(i32::from(self.hdr_len) + delta).ok()?;
        }
        Some(h)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A TSO'd TCPv4 frame as a veth hands it to AF_PACKET (little-endian host):
    /// Ethernet 14 + IPv4 20 + TCP 32 = 66 bytes of headers.
    #[cfg(target_endian = "little")]
    const TCPV4_TSO: [u8; VNET_HDR_LEN] = [
        0x01, // flags: NEEDS_CSUM
        0x01, // gso_type: TCPV4
        0x42, 0x00, // hdr_len: 66
        0xa8, 0x05, // gso_size: 1448 (MSS at MTU 1500 with timestamps)
        0x22, 0x00, // csum_start: 34 (14 + 20)
        0x10, 0x00, // csum_offset: 16 (tcp check)
    ];

    #[test]
    #[cfg(target_endian = "little")]
    fn parses_annotated_bytes() {
        let h = VnetHdr::parse(&TCPV4_TSO).unwrap();
        assert_eq!(
            h,
            VnetHdr {
                flags: VIRTIO_NET_HDR_F_NEEDS_CSUM,
                gso_type: VIRTIO_NET_HDR_GSO_TCPV4,
                hdr_len: 66,
                gso_size: 1448,
                csum_start: 34,
                csum_offset: 16
            }
        );
        assert!(h.is_gso());
        assert!(h.needs_csum());
        assert_eq!(h.gso_kind(), "tcpv4");
        assert_eq!(h.to_bytes(), TCPV4_TSO);
    }

    #[test]
    fn round_trips_and_short_input() {
        let h = VnetHdr {
            flags: 3,
            gso_type: VIRTIO_NET_HDR_GSO_TCPV6 | VIRTIO_NET_HDR_GSO_ECN,
            hdr_len: 0x1234,
            gso_size: 0xfedc,
            csum_start: 54,
            csum_offset: 6,
        };
        assert_eq!(VnetHdr::parse(&h.to_bytes()), Some(h));
        assert_eq!(h.gso_kind(), "tcpv6");
        assert_eq!(VnetHdr::parse(&[0u8; 9]), None);
        assert_eq!(VnetHdr::parse(&[0u8; VNET_HDR_LEN]), Some(VnetHdr::NONE));
        assert!(!VnetHdr::NONE.is_gso());
    }

    #[test]
    fn shifting_for_vlan_push_and_pop() {
        let h = VnetHdr::parse(&VnetHdr { flags: 1, csum_start: 34, hdr_len: 66, ..VnetHdr::NONE }.to_bytes()).unwrap();
        assert_eq!(h.shifted(4).unwrap().csum_start, 38);
        assert_eq!(h.shifted(4).unwrap().hdr_len, 70);
        assert_eq!(h.shifted(-40), None);
        // Without NEEDS_CSUM, csum_start is meaningless and left alone.
        assert_eq!(VnetHdr::NONE.shifted(4), Some(VnetHdr::NONE));
    }
}
