//! ICMP and ICMPv6 headers: type, code, and the echo identifier conntrack
//! uses as a pseudo-port.

use crate::{be16, need, Result};

/// ICMPv4 types the datapath and conntrack care about.
pub mod icmpv4_type {
    /// Echo reply.
    pub const ECHO_REPLY: u8 = 0;
    /// Destination unreachable.
    pub const DEST_UNREACH: u8 = 3;
    /// Echo request.
    pub const ECHO_REQUEST: u8 = 8;
    /// Time exceeded.
    pub const TIME_EXCEEDED: u8 = 11;
}

/// ICMPv6 types the datapath and conntrack care about.
pub mod icmpv6_type {
    /// Destination unreachable.
    pub const DEST_UNREACH: u8 = 1;
    /// Echo request.
    pub const ECHO_REQUEST: u8 = 128;
    /// Echo reply.
    pub const ECHO_REPLY: u8 = 129;
}

/// A checked view over the first 8 bytes of an ICMP or ICMPv6 message.
#[derive(Debug, Clone, Copy)]
pub struct IcmpPacket<T: AsRef<[u8]>> {
    buf: T,
}

impl<T: AsRef<[u8]>> IcmpPacket<T> {
    /// Type and code need 2 bytes; the echo id/seq need 8. Only the first
    /// 4 are required here: [`Self::echo_id`] returns `None` when short.
    pub fn new_checked(buf: T) -> Result<Self> {
        need("icmp", buf.as_ref(), 4)?;
        Ok(Self { buf })
    }
    /// Message type.
    pub fn msg_type(&self) -> u8 {
        self.buf.as_ref()[0]
    }
    /// Message code.
    pub fn code(&self) -> u8 {
        self.buf.as_ref()[1]
    }
    /// Checksum field.
    pub fn checksum(&self) -> u16 {
        be16(self.buf.as_ref(), 2)
    }
    /// The echo identifier, if the message is long enough to carry one.
    pub fn echo_id(&self) -> Option<u16> {
        let b = self.buf.as_ref();
        (b.len() >= 8).then(|| be16(b, 4))
    }
    /// Bytes after the 8-byte ICMP header (the quoted packet for errors).
    pub fn body(&self) -> &[u8] {
        let b = self.buf.as_ref();
        &b[8.min(b.len())..]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn echo_request() {
        let b = [8, 0, 0xf7, 0xfe, 0x12, 0x34, 0, 1];
        let p = IcmpPacket::new_checked(&b[..]).unwrap();
        assert_eq!(p.msg_type(), icmpv4_type::ECHO_REQUEST);
        assert_eq!(p.echo_id(), Some(0x1234));
        assert_eq!(IcmpPacket::new_checked(&b[..4]).unwrap().echo_id(), None);
    }
}
