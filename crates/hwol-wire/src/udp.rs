//! UDP headers (RFC 768).

use crate::{be16, need, Result};

/// Field offsets of a UDP header.
pub mod field {
    /// Source port.
    pub const SRC_PORT: usize = 0;
    /// Destination port.
    pub const DST_PORT: usize = 2;
    /// Length.
    pub const LEN: usize = 4;
    /// Checksum (0 means "none" over IPv4).
    pub const CHECKSUM: usize = 6;
    /// Header length.
    pub const HEADER_LEN: usize = 8;
}

/// A checked view over a UDP header.
#[derive(Debug, Clone, Copy)]
pub struct UdpPacket<T: AsRef<[u8]>> {
    buf: T,
}

impl<T: AsRef<[u8]>> UdpPacket<T> {
    /// Wrap `buf`, checking the 8-byte header.
    pub fn new_checked(buf: T) -> Result<Self> {
        need("udp", buf.as_ref(), field::HEADER_LEN)?;
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
    /// Checksum field.
    pub fn checksum(&self) -> u16 {
        be16(self.buf.as_ref(), field::CHECKSUM)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_ports() {
        let b = [0x00, 0x35, 0xc3, 0x50, 0x00, 0x08, 0x00, 0x00]; // 53 -> 50000
        let u = UdpPacket::new_checked(&b[..]).unwrap();
        assert_eq!((u.src_port(), u.dst_port()), (53, 50000));
        assert!(UdpPacket::new_checked(&b[..7]).is_err());
    }
}
