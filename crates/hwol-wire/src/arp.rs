//! ARP for IPv4 over Ethernet (RFC 826). Other hardware/protocol types are
//! reported as malformed: the flow key only carries Ethernet/IPv4 ARP.

use crate::{be16, need, Error, EthAddr, Result};

/// Field offsets of an Ethernet/IPv4 ARP message.
pub mod field {
    /// Hardware type (1 = Ethernet).
    pub const HTYPE: usize = 0;
    /// Protocol type (0x0800).
    pub const PTYPE: usize = 2;
    /// Hardware address length (6).
    pub const HLEN: usize = 4;
    /// Protocol address length (4).
    pub const PLEN: usize = 5;
    /// Opcode.
    pub const OPER: usize = 6;
    /// Sender hardware address.
    pub const SHA: core::ops::Range<usize> = 8..14;
    /// Sender protocol address.
    pub const SPA: core::ops::Range<usize> = 14..18;
    /// Target hardware address.
    pub const THA: core::ops::Range<usize> = 18..24;
    /// Target protocol address.
    pub const TPA: core::ops::Range<usize> = 24..28;
    /// Message length.
    pub const LEN: usize = 28;
}

/// A checked view over an Ethernet/IPv4 ARP message.
#[derive(Debug, Clone, Copy)]
pub struct ArpPacket<T: AsRef<[u8]>> {
    buf: T,
}

impl<T: AsRef<[u8]>> ArpPacket<T> {
    /// Wrap `buf`, requiring 28 bytes and Ethernet/IPv4 address sizes.
    pub fn new_checked(buf: T) -> Result<Self> {
        let b = buf.as_ref();
        need("arp", b, field::LEN)?;
        if be16(b, field::HTYPE) != 1 || be16(b, field::PTYPE) != 0x0800 || b[field::HLEN] != 6 || b[field::PLEN] != 4 {
            return Err(Error::Malformed { what: "arp", why: "not Ethernet/IPv4 ARP" });
        }
        Ok(Self { buf })
    }
    /// Opcode (1 request, 2 reply).
    pub fn oper(&self) -> u16 {
        be16(self.buf.as_ref(), field::OPER)
    }
    /// Sender hardware address.
    pub fn sha(&self) -> EthAddr {
        let mut a = [0; 6];
        a.copy_from_slice(&self.buf.as_ref()[field::SHA]);
        EthAddr(a)
    }
    /// Target hardware address.
    pub fn tha(&self) -> EthAddr {
        let mut a = [0; 6];
        a.copy_from_slice(&self.buf.as_ref()[field::THA]);
        EthAddr(a)
    }
    /// Sender protocol address.
    pub fn spa(&self) -> [u8; 4] {
        let mut a = [0; 4];
        a.copy_from_slice(&self.buf.as_ref()[field::SPA]);
        a
    }
    /// Target protocol address.
    pub fn tpa(&self) -> [u8; 4] {
        let mut a = [0; 4];
        a.copy_from_slice(&self.buf.as_ref()[field::TPA]);
        a
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[rustfmt::skip]
    const REQ: [u8; 28] = [
        0, 1, 0x08, 0, 6, 4, 0, 1,           // eth/ipv4, request
        0x1a, 0, 0x25, 0xcc, 0x24, 0x20,     // sha
        10, 0, 0, 1,                         // spa
        0, 0, 0, 0, 0, 0,                    // tha
        10, 0, 0, 2,                         // tpa
    ];

    #[test]
    fn parses_request() {
        let a = ArpPacket::new_checked(&REQ[..]).unwrap();
        assert_eq!(a.oper(), 1);
        assert_eq!(a.sha().to_string(), "1a:00:25:cc:24:20");
        assert_eq!(a.spa(), [10, 0, 0, 1]);
        assert_eq!(a.tpa(), [10, 0, 0, 2]);
        let mut bad = REQ;
        bad[1] = 6;
        assert!(ArpPacket::new_checked(&bad[..]).is_err());
    }
}
