//! Stateless, checked views over packet bytes.
//!
//! Each protocol gets a `XxxPacket<T: AsRef<[u8]>>` view. `new_checked`
//! verifies that the buffer is long enough for every fixed field the view
//! exposes; after that no accessor panics. Mutating accessors exist where the
//! datapath rewrites headers (`set_*`), and they need `T: AsMut<[u8]>`.
//!
//! Field offsets are named constants in a `field` module per protocol, so the
//! layout can be checked against the RFCs at a glance.
//!
//! What this crate does not do: it keeps no state, allocates nothing and never
//! decides policy (what a malformed packet *means* is the flow layer's call).
//! Checksums live in [`checksum`], including the RFC 1624 incremental update
//! the datapath uses when it rewrites a field.

#![forbid(unsafe_code)]

pub mod arp;
pub mod checksum;
pub mod ethernet;
pub mod icmp;
pub mod ipv4;
pub mod ipv6;
pub mod tcp;
pub mod udp;

/// Why a view could not be built over a buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The buffer is shorter than the header it should hold.
    #[error("truncated {what} header: need {need} bytes, have {have}")]
    Truncated {
        /// Which header.
        what: &'static str,
        /// Bytes the header needs.
        need: usize,
        /// Bytes the buffer has.
        have: usize,
    },
    /// A length field inside the header is impossible (e.g. IHL < 5).
    #[error("malformed {what} header: {why}")]
    Malformed {
        /// Which header.
        what: &'static str,
        /// What was wrong with it.
        why: &'static str,
    },
}

/// Result alias for this crate.
pub type Result<T> = core::result::Result<T, Error>;

pub(crate) fn need(what: &'static str, buf: &[u8], need: usize) -> Result<()> {
    if buf.len() < need {
        Err(Error::Truncated { what, need, have: buf.len() })
    } else {
        Ok(())
    }
}

#[inline]
pub(crate) fn be16(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([b[at], b[at + 1]])
}

#[inline]
pub(crate) fn be32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

#[inline]
pub(crate) fn put16(b: &mut [u8], at: usize, v: u16) {
    b[at..at + 2].copy_from_slice(&v.to_be_bytes());
}

/// A 48-bit Ethernet address.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
pub struct EthAddr(pub [u8; 6]);

impl EthAddr {
    /// ff:ff:ff:ff:ff:ff.
    pub const BROADCAST: EthAddr = EthAddr([0xff; 6]);
    /// True for group (multicast and broadcast) addresses.
    pub fn is_multicast(&self) -> bool {
        self.0[0] & 1 == 1
    }
}

impl core::fmt::Display for EthAddr {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let b = self.0;
        write!(f, "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}", b[0], b[1], b[2], b[3], b[4], b[5])
    }
}

impl core::fmt::Debug for EthAddr {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        core::fmt::Display::fmt(self, f)
    }
}

impl core::str::FromStr for EthAddr {
    type Err = ();
    fn from_str(s: &str) -> core::result::Result<Self, ()> {
        let mut out = [0u8; 6];
        let mut parts = s.split(':');
        for slot in out.iter_mut() {
            let p = parts.next().ok_or(())?;
            if p.is_empty() || p.len() > 2 {
                return Err(());
            }
            *slot = u8::from_str_radix(p, 16).map_err(|_| ())?;
        }
        if parts.next().is_some() {
            return Err(());
        }
        Ok(EthAddr(out))
    }
}
