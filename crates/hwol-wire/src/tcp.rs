//! TCP headers (RFC 9293): ports, sequence numbers, flags and window.

use crate::{be16, be32, need, Error, Result};

/// Field offsets of a TCP header.
pub mod field {
    /// Source port.
    pub const SRC_PORT: usize = 0;
    /// Destination port.
    pub const DST_PORT: usize = 2;
    /// Sequence number.
    pub const SEQ: usize = 4;
    /// Acknowledgement number.
    pub const ACK: usize = 8;
    /// Data offset (4 bits), reserved, and the 9 flag bits.
    pub const OFF_FLAGS: usize = 12;
    /// Window.
    pub const WINDOW: usize = 14;
    /// Checksum.
    pub const CHECKSUM: usize = 16;
    /// Minimum header length.
    pub const MIN_HEADER_LEN: usize = 20;
}

/// TCP flag bits as they appear in the low 12 bits of bytes 12-13.
pub mod flags {
    /// FIN.
    pub const FIN: u16 = 0x001;
    /// SYN.
    pub const SYN: u16 = 0x002;
    /// RST.
    pub const RST: u16 = 0x004;
    /// PSH.
    pub const PSH: u16 = 0x008;
    /// ACK.
    pub const ACK: u16 = 0x010;
    /// URG.
    pub const URG: u16 = 0x020;
    /// ECE.
    pub const ECE: u16 = 0x040;
    /// CWR.
    pub const CWR: u16 = 0x080;
    /// NS (historic ECN nonce).
    pub const NS: u16 = 0x100;

    /// Flag names in bit order, lowest first, as OVS prints them in
    /// `tcp_flags(...)`; the three reserved bits print as `[200]` etc. The
    /// bits are `u32` to suit 32-bit flag formatters.
    pub const NAMES: [(u32, &str); 12] = [
        (FIN as u32, "fin"),
        (SYN as u32, "syn"),
        (RST as u32, "rst"),
        (PSH as u32, "psh"),
        (ACK as u32, "ack"),
        (URG as u32, "urg"),
        (ECE as u32, "ece"),
        (CWR as u32, "cwr"),
        (NS as u32, "ns"),
        (0x200, "[200]"),
        (0x400, "[400]"),
        (0x800, "[800]"),
    ];
}

/// A checked view over a TCP header.
#[derive(Debug, Clone, Copy)]
pub struct TcpPacket<T: AsRef<[u8]>> {
    buf: T,
}

impl<T: AsRef<[u8]>> TcpPacket<T> {
    /// Wrap `buf`, checking the 20-byte header and a sane data offset.
    pub fn new_checked(buf: T) -> Result<Self> {
        let b = buf.as_ref();
        need("tcp", b, field::MIN_HEADER_LEN)?;
        let off = ((b[field::OFF_FLAGS] >> 4) as usize) * 4;
        if off < field::MIN_HEADER_LEN {
            return Err(Error::Malformed { what: "tcp", why: "data offset below 5" });
        }
        Ok(Self { buf })
    }
    /// Source port.
    pub fn src_port(&self) -> u16 {
        be16(self.buf.as_ref(), field::SRC_PORT)
    }
    /// Destination port.
    pub fn dst_port(&self) -> u16 {
        be16(self.buf.as_ref(), field::DST_PORT)
    }
    /// Sequence number.
    pub fn seq(&self) -> u32 {
        be32(self.buf.as_ref(), field::SEQ)
    }
    /// Acknowledgement number.
    pub fn ack(&self) -> u32 {
        be32(self.buf.as_ref(), field::ACK)
    }
    /// The 12 flag bits (see [`flags`]).
    pub fn flags(&self) -> u16 {
        be16(self.buf.as_ref(), field::OFF_FLAGS) & 0x0fff
    }
    /// Header length from the data offset.
    pub fn header_len(&self) -> usize {
        ((self.buf.as_ref()[field::OFF_FLAGS] >> 4) as usize) * 4
    }
    /// Advertised window (unscaled).
    pub fn window(&self) -> u16 {
        be16(self.buf.as_ref(), field::WINDOW)
    }
    /// Checksum field.
    pub fn checksum(&self) -> u16 {
        be16(self.buf.as_ref(), field::CHECKSUM)
    }
    /// Payload length: the buffer past the data offset (0 if the options are
    /// truncated).
    pub fn payload_len(&self) -> usize {
        self.buf.as_ref().len().saturating_sub(self.header_len())
    }
    /// The window-scale option from a SYN, if present and well formed.
    pub fn window_scale(&self) -> Option<u8> {
        let b = self.buf.as_ref();
        let end = self.header_len().min(b.len());
        let mut i = field::MIN_HEADER_LEN;
        while i < end {
            match b[i] {
                0 => return None,
                1 => i += 1,
                kind => {
                    let len = *b.get(i + 1)? as usize;
                    if len < 2 || i + len > end {
                        return None;
                    }
                    if kind == 3 && len == 3 {
                        return Some(b[i + 2].min(14));
                    }
                    i += len;
                }
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[rustfmt::skip]
    const SYN: [u8; 24] = [
        0x93, 0x48, 0x14, 0x51, // 37704 -> 5201
        0, 0, 0, 100,           // seq 100
        0, 0, 0, 0,             // ack 0
        0x60, 0x02,             // offset 6, SYN
        0xfa, 0xf0,             // window 64240
        0, 0, 0, 0,             // checksum, urg
        3, 3, 7, 0,             // wscale 7, EOL
    ];

    #[test]
    fn parses_syn_with_wscale() {
        let t = TcpPacket::new_checked(&SYN[..]).unwrap();
        assert_eq!(t.src_port(), 37704);
        assert_eq!(t.dst_port(), 5201);
        assert_eq!(t.flags(), flags::SYN);
        assert_eq!(t.seq(), 100);
        assert_eq!(t.window_scale(), Some(7));
        assert_eq!(t.payload_len(), 0);
    }

    #[test]
    fn bad_offset_is_malformed() {
        let mut s = SYN;
        s[12] = 0x40;
        assert!(TcpPacket::new_checked(&s[..]).is_err());
        assert!(TcpPacket::new_checked(&s[..19]).is_err());
    }
}
