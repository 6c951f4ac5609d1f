//! Internet checksums (RFC 1071) and incremental updates (RFC 1624).
//!
//! The datapath rewrites addresses and ports in place; recomputing a TCP
//! checksum over a 64 KiB GSO segment for every rewrite would be absurd, so
//! `set` actions use [`update16`] / [`update_bytes`] which adjust an existing
//! checksum by the difference between the old and new field values.

/// One's-complement sum of `data` as big-endian 16-bit words, folded into
/// `initial`. An odd trailing byte is padded with zero.
pub fn sum(initial: u32, data: &[u8]) -> u32 {
    let mut acc = initial as u64;
    let mut chunks = data.chunks_exact(2);
    for c in &mut chunks {
        acc += u16::from_be_bytes([c[0], c[1]]) as u64;
    }
    if let [last] = chunks.remainder() {
        acc += (*last as u64) << 8;
    }
    fold64(acc)
}

fn fold64(mut acc: u64) -> u32 {
    while acc > 0xffff {
        acc = (acc & 0xffff) + (acc >> 16);
    }
    acc as u32
}

/// Fold a running sum to 16 bits and complement it: the value stored on the wire.
pub fn finish(acc: u32) -> u16 {
    !(fold64(acc as u64) as u16)
}

/// The checksum of `data` (what a header's checksum field should hold when the
/// field itself was zero while summing).
pub fn checksum(data: &[u8]) -> u16 {
    finish(sum(0, data))
}

/// Pseudo-header sum for TCP/UDP over IPv4.
pub fn pseudo_v4(src: [u8; 4], dst: [u8; 4], proto: u8, len: u16) -> u32 {
    let mut acc = sum(0, &src);
    acc = sum(acc, &dst);
    acc + proto as u32 + len as u32
}

/// Pseudo-header sum for TCP/UDP/ICMPv6 over IPv6.
pub fn pseudo_v6(src: [u8; 16], dst: [u8; 16], next: u8, len: u32) -> u32 {
    let mut acc = sum(0, &src);
    acc = sum(acc, &dst);
    fold64(acc as u64 + (len >> 16) as u64 + (len & 0xffff) as u64 + next as u64)
}

/// RFC 1624 eqn. 3: the checksum `old_csum` after one 16-bit word of the
/// covered data changed from `old` to `new`.
pub fn update16(old_csum: u16, old: u16, new: u16) -> u16 {
    let acc = (!old_csum) as u32 + (!old) as u32 + new as u32;
    !(fold64(acc as u64) as u16)
}

/// Incremental update for a field of even length that changed from `old` to
/// `new` (both slices have the same, even length).
pub fn update_bytes(mut csum: u16, old: &[u8], new: &[u8]) -> u16 {
    debug_assert_eq!(old.len(), new.len());
    for (o, n) in old.chunks_exact(2).zip(new.chunks_exact(2)) {
        csum = update16(csum, u16::from_be_bytes([o[0], o[1]]), u16::from_be_bytes([n[0], n[1]]));
    }
    csum
}

#[cfg(test)]
mod tests {
    use super::*;

    // RFC 1071 section 3 example: 00 01 f2 03 f4 f5 f6 f7 sums to 0xddf2.
    #[test]
    fn rfc1071_example() {
        let data = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
        assert_eq!(fold64(sum(0, &data) as u64), 0xddf2);
        assert_eq!(checksum(&data), !0xddf2);
    }

    #[test]
    fn incremental_matches_full_recompute() {
        let mut data = [0x45u8, 0, 0, 0x54, 0x12, 0x34, 0x40, 0, 0x40, 0x06, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2];
        let c0 = checksum(&data);
        let old = [data[12], data[13], data[14], data[15]];
        data[12..16].copy_from_slice(&[192, 168, 7, 9]);
        let full = checksum(&data);
        assert_eq!(update_bytes(c0, &old, &data[12..16]), full);
    }

    #[test]
    fn odd_length_pads_with_zero() {
        assert_eq!(sum(0, &[0x12]), 0x1200);
    }
}
