//! IPv4 headers (RFC 791), including the fragment bits the flow key needs.

use crate::{be16, checksum, need, put16, Error, Result};

/// Field offsets of an IPv4 header.
pub mod field {
    /// Version (4 bits) and IHL (4 bits).
    pub const VER_IHL: usize = 0;
    /// DSCP (6 bits) and ECN (2 bits).
    pub const TOS: usize = 1;
    /// Total length.
    pub const LEN: usize = 2;
    /// Identification.
    pub const IDENT: usize = 4;
    /// Flags (3 bits) and fragment offset (13 bits).
    pub const FLG_OFF: usize = 6;
    /// Time to live.
    pub const TTL: usize = 8;
    /// Protocol.
    pub const PROTOCOL: usize = 9;
    /// Header checksum.
    pub const CHECKSUM: usize = 10;
    /// Source address.
    pub const SRC: core::ops::Range<usize> = 12..16;
    /// Destination address.
    pub const DST: core::ops::Range<usize> = 16..20;
    /// Minimum header length.
    pub const MIN_HEADER_LEN: usize = 20;
}

/// IP protocol numbers used by the datapath.
pub mod proto {
    /// ICMP.
    pub const ICMP: u8 = 1;
    /// TCP.
    pub const TCP: u8 = 6;
    /// UDP.
    pub const UDP: u8 = 17;
    /// ICMPv6.
    pub const ICMPV6: u8 = 58;
    /// SCTP.
    pub const SCTP: u8 = 132;
}

const MF: u16 = 0x2000;
const OFFSET_MASK: u16 = 0x1fff;

/// A checked view over an IPv4 header and what follows it.
#[derive(Debug, Clone, Copy)]
pub struct Ipv4Packet<T: AsRef<[u8]>> {
    buf: T,
}

impl<T: AsRef<[u8]>> Ipv4Packet<T> {
    /// Wrap `buf`: the version must be 4, the IHL at least 5, and the buffer
    /// must hold the whole header including options.
    pub fn new_checked(buf: T) -> Result<Self> {
        let b = buf.as_ref();
        need("ipv4", b, field::MIN_HEADER_LEN)?;
        if b[field::VER_IHL] >> 4 != 4 {
            return Err(Error::Malformed { what: "ipv4", why: "version is not 4" });
        }
        let hl = ((b[field::VER_IHL] & 0x0f) as usize) * 4;
        if hl < field::MIN_HEADER_LEN {
            return Err(Error::Malformed { what: "ipv4", why: "IHL below 5" });
        }
        need("ipv4", b, hl)?;
        Ok(Self { buf })
    }
    /// Header length in bytes (IHL * 4).
    pub fn header_len(&self) -> usize {
        ((self.buf.as_ref()[field::VER_IHL] & 0x0f) as usize) * 4
    }
    /// The TOS byte (DSCP and ECN).
    pub fn tos(&self) -> u8 {
        self.buf.as_ref()[field::TOS]
    }
    /// Total length field.
    pub fn total_len(&self) -> u16 {
        be16(self.buf.as_ref(), field::LEN)
    }
    /// Time to live.
    pub fn ttl(&self) -> u8 {
        self.buf.as_ref()[field::TTL]
    }
    /// Protocol of the payload.
    pub fn protocol(&self) -> u8 {
        self.buf.as_ref()[field::PROTOCOL]
    }
    /// Header checksum field.
    pub fn checksum(&self) -> u16 {
        be16(self.buf.as_ref(), field::CHECKSUM)
    }
    /// Source address.
    pub fn src(&self) -> [u8; 4] {
        let mut a = [0; 4];
        a.copy_from_slice(&self.buf.as_ref()[field::SRC]);
        a
    }
    /// Destination address.
    pub fn dst(&self) -> [u8; 4] {
        let mut a = [0; 4];
        a.copy_from_slice(&self.buf.as_ref()[field::DST]);
        a
    }
    /// True when this packet is any fragment (first or later).
    pub fn is_fragment(&self) -> bool {
        let f = be16(self.buf.as_ref(), field::FLG_OFF);
        f & MF != 0 || f & OFFSET_MASK != 0
    }
    /// True when this is a non-first fragment (offset > 0): no L4 header here.
    pub fn is_later_fragment(&self) -> bool {
        be16(self.buf.as_ref(), field::FLG_OFF) & OFFSET_MASK != 0
    }
    /// True when the header checksum verifies.
    pub fn verify_checksum(&self) -> bool {
        checksum::checksum(&self.buf.as_ref()[..self.header_len()]) == 0
    }
    /// Bytes after the header, clipped to the total length when it is sane.
    pub fn payload(&self) -> &[u8] {
        let b = self.buf.as_ref();
        let hl = self.header_len();
        let end = (self.total_len() as usize).clamp(hl, b.len());
        &b[hl..end]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Ipv4Packet<T> {
    /// Recompute the header checksum from scratch.
    pub fn fill_checksum(&mut self) {
        let hl = self.header_len();
        let b = self.buf.as_mut();
        put16(b, field::CHECKSUM, 0);
        let c = checksum::checksum(&b[..hl]);
        put16(b, field::CHECKSUM, c);
    }
    /// Mutable header bytes (for in-place rewrites by the datapath).
    pub fn header_mut(&mut self) -> &mut [u8] {
        let hl = self.header_len();
        &mut self.buf.as_mut()[..hl]
    }
}

/// Write a minimal (no options) IPv4 header into `out[..20]` with a valid
/// checksum. Used by tests and packet builders.
#[allow(clippy::too_many_arguments)]
pub fn emit_header(
    out: &mut [u8],
    src: [u8; 4],
    dst: [u8; 4],
    proto: u8,
    ttl: u8,
    tos: u8,
    payload_len: u16,
    flags_frag: u16,
) {
    out[0] = 0x45;
    out[1] = tos;
    put16(out, 2, 20 + payload_len);
    put16(out, 4, 0);
    put16(out, 6, flags_frag);
    out[8] = ttl;
    out[9] = proto;
    put16(out, 10, 0);
    out[12..16].copy_from_slice(&src);
    out[16..20].copy_from_slice(&dst);
    let c = checksum::checksum(&out[..20]);
    put16(out, 10, c);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[rustfmt::skip]
    const HDR: [u8; 20] = [
        0x45, 0x00, 0x00, 0x3c, // v4 ihl5, tos 0, len 60
        0x1c, 0x46, 0x40, 0x00, // id, DF
        0x40, 0x06, 0xb1, 0xe6, // ttl 64, tcp, checksum
        0xac, 0x10, 0x0a, 0x63, // 172.16.10.99
        0xac, 0x10, 0x0a, 0x0c, // 172.16.10.12
    ];

    #[test]
    fn parses_and_verifies() {
        let p = Ipv4Packet::new_checked(&HDR[..]).unwrap();
        assert_eq!(p.header_len(), 20);
        assert_eq!(p.protocol(), proto::TCP);
        assert_eq!(p.ttl(), 64);
        assert_eq!(p.src(), [172, 16, 10, 99]);
        assert!(!p.is_fragment());
        assert!(p.verify_checksum());
    }

    #[test]
    fn rejects_bad_ihl_and_version() {
        let mut h = HDR;
        h[0] = 0x44;
        assert!(Ipv4Packet::new_checked(&h[..]).is_err());
        h[0] = 0x65;
        assert!(Ipv4Packet::new_checked(&h[..]).is_err());
        h[0] = 0x46; // claims options that are not there
        assert!(Ipv4Packet::new_checked(&h[..]).is_err());
    }

    #[test]
    fn fragment_bits() {
        let mut h = HDR;
        h[6] = 0x20; // MF, offset 0: first fragment
        let p = Ipv4Packet::new_checked(&h[..]).unwrap();
        assert!(p.is_fragment() && !p.is_later_fragment());
        h[6] = 0x00;
        h[7] = 0x10; // offset 16
        let p = Ipv4Packet::new_checked(&h[..]).unwrap();
        assert!(p.is_fragment() && p.is_later_fragment());
    }

    #[test]
    fn emit_has_valid_checksum() {
        let mut out = [0u8; 20];
        emit_header(&mut out, [10, 0, 0, 1], [10, 0, 0, 2], proto::UDP, 64, 0, 8, 0);
        assert!(Ipv4Packet::new_checked(&out[..]).unwrap().verify_checksum());
    }
}
