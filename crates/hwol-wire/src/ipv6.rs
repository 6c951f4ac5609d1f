//! IPv6 headers (RFC 8200) and the extension-header walk to the L4 header.

use crate::{be16, be32, need, Result};

/// Field offsets of the fixed IPv6 header.
pub mod field {
    /// Version, traffic class, flow label.
    pub const VER_TC_FLOW: usize = 0;
    /// Payload length.
    pub const PAYLOAD_LEN: usize = 4;
    /// Next header.
    pub const NEXT_HEADER: usize = 6;
    /// Hop limit.
    pub const HOP_LIMIT: usize = 7;
    /// Source address.
    pub const SRC: core::ops::Range<usize> = 8..24;
    /// Destination address.
    pub const DST: core::ops::Range<usize> = 24..40;
    /// Fixed header length.
    pub const HEADER_LEN: usize = 40;
}

/// Extension header numbers walked by [`Ipv6Packet::walk_to_l4`].
pub mod next_header {
    /// Hop-by-hop options.
    pub const HOPOPTS: u8 = 0;
    /// Routing.
    pub const ROUTING: u8 = 43;
    /// Fragment.
    pub const FRAGMENT: u8 = 44;
    /// Authentication header (length in 4-byte units).
    pub const AH: u8 = 51;
    /// Destination options.
    pub const DSTOPTS: u8 = 60;
    /// No next header.
    pub const NONE: u8 = 59;
}

/// A checked view over an IPv6 packet.
#[derive(Debug, Clone, Copy)]
pub struct Ipv6Packet<T: AsRef<[u8]>> {
    buf: T,
}

/// Where the extension-header walk ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct L4Location {
    /// The upper-layer protocol number.
    pub proto: u8,
    /// Offset of the L4 header from the start of the IPv6 header.
    pub offset: usize,
    /// A fragment header was present.
    pub is_fragment: bool,
    /// The fragment header had a non-zero offset: no L4 header follows.
    pub is_later_fragment: bool,
}

impl<T: AsRef<[u8]>> Ipv6Packet<T> {
    /// Wrap `buf`, checking the version and the 40-byte fixed header.
    pub fn new_checked(buf: T) -> Result<Self> {
        let b = buf.as_ref();
        need("ipv6", b, field::HEADER_LEN)?;
        if b[0] >> 4 != 6 {
            return Err(crate::Error::Malformed { what: "ipv6", why: "version is not 6" });
        }
        Ok(Self { buf })
    }
    /// Traffic class byte.
    pub fn traffic_class(&self) -> u8 {
        ((be16(self.buf.as_ref(), 0) >> 4) & 0xff) as u8
    }
    /// 20-bit flow label.
    pub fn flow_label(&self) -> u32 {
        be32(self.buf.as_ref(), 0) & 0x000f_ffff
    }
    /// Payload length field.
    pub fn payload_len(&self) -> u16 {
        be16(self.buf.as_ref(), field::PAYLOAD_LEN)
    }
    /// The first next-header value.
    pub fn next_header(&self) -> u8 {
        self.buf.as_ref()[field::NEXT_HEADER]
    }
    /// Hop limit.
    pub fn hop_limit(&self) -> u8 {
        self.buf.as_ref()[field::HOP_LIMIT]
    }
    /// Source address.
    pub fn src(&self) -> [u8; 16] {
        let mut a = [0; 16];
        a.copy_from_slice(&self.buf.as_ref()[field::SRC]);
        a
    }
    /// Destination address.
    pub fn dst(&self) -> [u8; 16] {
        let mut a = [0; 16];
        a.copy_from_slice(&self.buf.as_ref()[field::DST]);
        a
    }
    /// Walk the extension headers to the upper-layer header. A truncated
    /// extension header is an error; the walk stops at a later fragment
    /// because nothing after it is parseable.
    pub fn walk_to_l4(&self) -> Result<L4Location> {
        let b = self.buf.as_ref();
        let mut nh = self.next_header();
        let mut off = field::HEADER_LEN;
        let mut loc = L4Location { proto: nh, offset: off, is_fragment: false, is_later_fragment: false };
        // A packet cannot sensibly carry more extension headers than this;
        // the bound keeps hostile input from spinning.
        for _ in 0..16 {
            match nh {
                next_header::HOPOPTS | next_header::ROUTING | next_header::DSTOPTS => {
                    need("ipv6 extension header", &b[off.min(b.len())..], 8)?;
                    let len = (b[off + 1] as usize + 1) * 8;
                    need("ipv6 extension header", &b[off..], len)?;
                    nh = b[off];
                    off += len;
                }
                next_header::AH => {
                    need("ipv6 authentication header", &b[off.min(b.len())..], 8)?;
                    let len = (b[off + 1] as usize + 2) * 4;
                    need("ipv6 authentication header", &b[off..], len)?;
                    nh = b[off];
                    off += len;
                }
                next_header::FRAGMENT => {
                    need("ipv6 fragment header", &b[off.min(b.len())..], 8)?;
                    loc.is_fragment = true;
                    let frag_off = be16(b, off + 2) >> 3;
                    nh = b[off];
                    off += 8;
                    if frag_off != 0 {
                        loc.is_later_fragment = true;
                        break;
                    }
                }
                _ => break,
            }
        }
        loc.proto = nh;
        loc.offset = off;
        Ok(loc)
    }
}

/// IPv6 address text exactly as glibc's `inet_ntop` writes it, which is
/// what OVS prints: RFC 5952 compression of the longest run of two or more
/// zero groups (the leftmost on ties), plus
/// the dotted-quad tail for IPv4-compatible `::a.b.c.d` and IPv4-mapped
/// `::ffff:a.b.c.d` addresses).
pub fn format_addr(a: [u8; 16]) -> String {
    use core::fmt::Write as _;
    let w: [u16; 8] = std::array::from_fn(|i| u16::from_be_bytes([a[2 * i], a[2 * i + 1]]));
    // Longest run of zero words (leftmost on ties), at least 2 long.
    let (mut best, mut best_len, mut cur, mut cur_len) = (usize::MAX, 0, 0, 0);
    for (i, &x) in w.iter().enumerate() {
        if x == 0 {
            if cur_len == 0 {
                cur = i;
            }
            cur_len += 1;
            if cur_len > best_len {
                best = cur;
                best_len = cur_len;
            }
        } else {
            cur_len = 0;
        }
    }
    if best_len < 2 {
        best = usize::MAX;
    }
    let mut s = String::new();
    let mut i = 0;
    while i < 8 {
        if i == best {
            s.push(':');
            if i == 0 {
                s.push(':');
            }
            i += best_len;
            if i == 8 {
                break;
            }
            continue;
        }
        // Embedded IPv4 (glibc): first 6 words zero, or 5 zero + ffff.
        if i == 6 && best == 0 && (best_len == 6 || (best_len == 5 && w[5] == 0xffff)) {
            let _ = write!(s, "{}.{}.{}.{}", a[12], a[13], a[14], a[15]);
            break;
        }
        let _ = write!(s, "{:x}", w[i]);
        if i < 7 {
            s.push(':');
        }
        i += 1;
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base(next: u8, ext: &[u8]) -> Vec<u8> {
        let mut v = vec![0x60, 0x00, 0x00, 0x01, 0, ext.len() as u8, next, 64];
        v.extend_from_slice(&[0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
        v.extend_from_slice(&[0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]);
        v.extend_from_slice(ext);
        v
    }

    #[test]
    fn walks_hopopts_and_fragment() {
        #[rustfmt::skip]
        let ext = [
            44, 0, 1, 4, 0, 0, 0, 0,    // hop-by-hop: next=fragment, len 8, PadN
            6, 0, 0x00, 0x01, 0, 0, 0, 1, // fragment: next=tcp, offset 0, M=1
        ];
        let p = base(next_header::HOPOPTS, &ext);
        let p = Ipv6Packet::new_checked(&p[..]).unwrap();
        assert_eq!(p.flow_label(), 1);
        let loc = p.walk_to_l4().unwrap();
        assert_eq!(loc, L4Location { proto: 6, offset: 56, is_fragment: true, is_later_fragment: false });
    }

    #[test]
    fn later_fragment_stops_the_walk() {
        let ext = [17, 0, 0x00, 0x08, 0, 0, 0, 1]; // offset 1 (8 bytes)
        let p = base(next_header::FRAGMENT, &ext);
        let loc = Ipv6Packet::new_checked(&p[..]).unwrap().walk_to_l4().unwrap();
        assert!(loc.is_later_fragment);
        assert_eq!(loc.proto, 17);
    }

    #[test]
    fn addresses_print_like_inet_ntop() {
        let a = |s: &str| s.parse::<std::net::Ipv6Addr>().unwrap().octets();
        assert_eq!(format_addr(a("fe80::1")), "fe80::1");
        assert_eq!(format_addr(a("::")), "::");
        assert_eq!(format_addr(a("1::")), "1::");
        assert_eq!(format_addr(a("1:0:0:2:0:0:0:3")), "1:0:0:2::3");
        assert_eq!(format_addr(a("1:0:2:3:4:5:6:7")), "1:0:2:3:4:5:6:7");
        assert_eq!(format_addr(a("::ffff:10.0.0.1")), "::ffff:10.0.0.1");
        assert_eq!(format_addr(a("::10.0.0.1")), "::10.0.0.1");
    }

    #[test]
    fn truncated_extension_is_an_error() {
        let p = base(next_header::DSTOPTS, &[6, 1, 0, 0]);
        assert!(Ipv6Packet::new_checked(&p[..]).unwrap().walk_to_l4().is_err());
    }
}
