//! Ethernet II frames and 802.1Q / 802.1ad VLAN tags.
//!
//! A VLAN tag is 4 bytes inserted before the EtherType: a TPID (0x8100 for
//! 802.1Q, 0x88a8 for 802.1ad) followed by the TCI (PCP:3, DEI:1, VID:12).
//! [`VlanTag`] is a view over those 4 bytes plus the EtherType that follows.

use crate::{be16, need, put16, EthAddr, Result};

/// EtherType values the datapath understands.
pub mod ethertype {
    /// IPv4.
    pub const IPV4: u16 = 0x0800;
    /// ARP.
    pub const ARP: u16 = 0x0806;
    /// IPv6.
    pub const IPV6: u16 = 0x86dd;
    /// 802.1Q customer VLAN tag.
    pub const VLAN_8021Q: u16 = 0x8100;
    /// 802.1ad service VLAN tag.
    pub const VLAN_8021AD: u16 = 0x88a8;
    /// Values below this are 802.3 lengths, not EtherTypes.
    pub const MIN_ETHERTYPE: u16 = 0x0600;
}

/// Field offsets of an Ethernet II header.
pub mod field {
    /// Destination MAC.
    pub const DST: core::ops::Range<usize> = 0..6;
    /// Source MAC.
    pub const SRC: core::ops::Range<usize> = 6..12;
    /// EtherType (or the first VLAN TPID).
    pub const ETHERTYPE: usize = 12;
    /// Length of the untagged header.
    pub const HEADER_LEN: usize = 14;
    /// Length of one VLAN tag.
    pub const VLAN_LEN: usize = 4;
}

/// True when `tpid` introduces a VLAN tag.
pub fn is_vlan_tpid(tpid: u16) -> bool {
    tpid == ethertype::VLAN_8021Q || tpid == ethertype::VLAN_8021AD
}

/// A checked view over an Ethernet frame.
#[derive(Debug, Clone, Copy)]
pub struct EthernetFrame<T: AsRef<[u8]>> {
    buf: T,
}

impl<T: AsRef<[u8]>> EthernetFrame<T> {
    /// Wrap `buf`, checking it holds at least the 14-byte header.
    pub fn new_checked(buf: T) -> Result<Self> {
        need("ethernet", buf.as_ref(), field::HEADER_LEN)?;
        Ok(Self { buf })
    }
    /// Destination address.
    pub fn dst(&self) -> EthAddr {
        let mut a = [0; 6];
        a.copy_from_slice(&self.buf.as_ref()[field::DST]);
        EthAddr(a)
    }
    /// Source address.
    pub fn src(&self) -> EthAddr {
        let mut a = [0; 6];
        a.copy_from_slice(&self.buf.as_ref()[field::SRC]);
        EthAddr(a)
    }
    /// The EtherType right after the addresses (a TPID if the frame is tagged).
    pub fn ethertype(&self) -> u16 {
        be16(self.buf.as_ref(), field::ETHERTYPE)
    }
    /// Everything after the addresses and the first EtherType.
    pub fn payload(&self) -> &[u8] {
        &self.buf.as_ref()[field::HEADER_LEN..]
    }
    /// The underlying buffer.
    pub fn into_inner(self) -> T {
        self.buf
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> EthernetFrame<T> {
    /// Overwrite the destination address.
    pub fn set_dst(&mut self, a: EthAddr) {
        self.buf.as_mut()[field::DST].copy_from_slice(&a.0);
    }
    /// Overwrite the source address.
    pub fn set_src(&mut self, a: EthAddr) {
        self.buf.as_mut()[field::SRC].copy_from_slice(&a.0);
    }
}

/// A VLAN tag's TCI fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Tci(pub u16);

impl Tci {
    /// VLAN id (12 bits).
    pub fn vid(self) -> u16 {
        self.0 & 0x0fff
    }
    /// Priority code point (3 bits).
    pub fn pcp(self) -> u8 {
        (self.0 >> 13) as u8
    }
    /// Drop-eligible indicator, called CFI in OVS.
    pub fn dei(self) -> bool {
        self.0 & 0x1000 != 0
    }
    /// Build from parts.
    pub fn new(vid: u16, pcp: u8, dei: bool) -> Self {
        Tci((vid & 0x0fff) | ((pcp as u16 & 7) << 13) | if dei { 0x1000 } else { 0 })
    }
}

/// A view over the 4 bytes of a VLAN tag body (TCI + inner EtherType), which
/// sit right after a VLAN TPID.
#[derive(Debug, Clone, Copy)]
pub struct VlanTag<T: AsRef<[u8]>> {
    buf: T,
}

impl<T: AsRef<[u8]>> VlanTag<T> {
    /// Wrap `buf`, checking it holds the TCI and the inner EtherType.
    pub fn new_checked(buf: T) -> Result<Self> {
        need("vlan", buf.as_ref(), field::VLAN_LEN)?;
        Ok(Self { buf })
    }
    /// The tag control information.
    pub fn tci(&self) -> Tci {
        Tci(be16(self.buf.as_ref(), 0))
    }
    /// The EtherType (or next TPID) after the tag.
    pub fn ethertype(&self) -> u16 {
        be16(self.buf.as_ref(), 2)
    }
    /// Bytes after the tag.
    pub fn payload(&self) -> &[u8] {
        &self.buf.as_ref()[field::VLAN_LEN..]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> VlanTag<T> {
    /// Overwrite the TCI.
    pub fn set_tci(&mut self, tci: Tci) {
        put16(self.buf.as_mut(), 0, tci.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[rustfmt::skip]
    const TAGGED: [u8; 22] = [
        0x02, 0, 0, 0, 0, 0x02,  // dst
        0x02, 0, 0, 0, 0, 0x01,  // src
        0x88, 0xa8,              // TPID 802.1ad
        0x20, 0x64,              // TCI pcp=1 vid=100
        0x81, 0x00,              // TPID 802.1Q
        0x00, 0x0a,              // TCI vid=10
        0x08, 0x00,              // IPv4
    ];

    #[test]
    fn parses_double_tagged_frame() {
        let f = EthernetFrame::new_checked(&TAGGED[..]).unwrap();
        assert_eq!(f.dst().to_string(), "02:00:00:00:00:02");
        assert_eq!(f.src().to_string(), "02:00:00:00:00:01");
        assert_eq!(f.ethertype(), ethertype::VLAN_8021AD);
        let outer = VlanTag::new_checked(f.payload()).unwrap();
        assert_eq!(outer.tci().vid(), 100);
        assert_eq!(outer.tci().pcp(), 1);
        assert_eq!(outer.ethertype(), ethertype::VLAN_8021Q);
        let inner = VlanTag::new_checked(outer.payload()).unwrap();
        assert_eq!(inner.tci().vid(), 10);
        assert_eq!(inner.ethertype(), ethertype::IPV4);
    }

    #[test]
    fn truncated_frame_is_an_error() {
        assert!(EthernetFrame::new_checked(&TAGGED[..13]).is_err());
        assert!(VlanTag::new_checked(&TAGGED[20..]).is_err());
    }

    #[test]
    fn mac_parse_roundtrip() {
        let a: EthAddr = "16:fd:c6:0b:60:52".parse().unwrap();
        assert_eq!(a.to_string(), "16:fd:c6:0b:60:52");
        assert!("16:fd:c6:0b:60".parse::<EthAddr>().is_err());
        assert!("16:fd:c6:0b:60:52:00".parse::<EthAddr>().is_err());
    }
}
