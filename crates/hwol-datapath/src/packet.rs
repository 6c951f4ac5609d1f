//! A packet buffer with headroom, so that `push_vlan` does not reallocate.
//!
//! The frame lives in `buf[start..]`. Pushing a 4-byte tag moves the 12 bytes
//! of MAC addresses 4 bytes to the left into the headroom; popping moves them
//! right. Buffers are meant to be reused by the I/O layer: [`Packet::reset`]
//! keeps the allocation.

/// Bytes kept free in front of the frame.
pub const HEADROOM: usize = 16;

/// A frame plus the offload state the datapath must preserve.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Packet {
    buf: Vec<u8>,
    start: usize,
    /// The L4 checksum field holds a pseudo-header sum to be completed by the
    /// NIC or kernel (`CHECKSUM_PARTIAL`, from a virtio-net header), not a
    /// complete checksum. Incremental updates then skip the complement.
    pub l4_csum_partial: bool,
}

impl Packet {
    /// A packet holding a copy of `frame`.
    pub fn from_bytes(frame: &[u8]) -> Self {
        let mut p = Packet::default();
        p.reset(frame);
        p
    }

    /// Replace the contents with `frame`, reusing the allocation.
    pub fn reset(&mut self, frame: &[u8]) {
        self.buf.clear();
        self.buf.resize(HEADROOM, 0);
        self.buf.extend_from_slice(frame);
        self.start = HEADROOM;
        self.l4_csum_partial = false;
    }

    /// The frame bytes.
    #[inline]
    pub fn data(&self) -> &[u8] {
        &self.buf[self.start..]
    }

    /// The frame bytes, mutable.
    #[inline]
    pub fn data_mut(&mut self) -> &mut [u8] {
        &mut self.buf[self.start..]
    }

    /// Frame length.
    #[inline]
    pub fn len(&self) -> usize {
        self.buf.len() - self.start
    }

    /// True for an empty frame.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Insert `bytes` at offset `at` of the frame by moving the `at` bytes
    /// before it into the headroom (growing it if needed).
    pub fn insert_front(&mut self, at: usize, bytes: &[u8]) {
        let n = bytes.len();
        if self.start < n {
            let grow = HEADROOM.max(n);
            self.buf.splice(0..0, core::iter::repeat_n(0u8, grow));
            self.start += grow;
        }
        let s = self.start;
        self.buf.copy_within(s..s + at, s - n);
        self.start -= n;
        self.buf[self.start + at..self.start + at + n].copy_from_slice(bytes);
    }

    /// Remove `n` bytes at offset `at` by moving the `at` bytes before them
    /// to the right.
    pub fn remove_front(&mut self, at: usize, n: usize) {
        let s = self.start;
        self.buf.copy_within(s..s + at, s + n);
        self.start += n;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insert_and_remove_round_trip() {
        let frame: Vec<u8> = (0..20).collect();
        let mut p = Packet::from_bytes(&frame);
        p.insert_front(12, &[0xaa, 0xbb, 0xcc, 0xdd]);
        assert_eq!(p.len(), 24);
        assert_eq!(&p.data()[..12], &frame[..12]);
        assert_eq!(&p.data()[12..16], &[0xaa, 0xbb, 0xcc, 0xdd]);
        assert_eq!(&p.data()[16..], &frame[12..]);
        p.remove_front(12, 4);
        assert_eq!(p.data(), &frame[..]);
    }

    #[test]
    fn insert_grows_headroom_when_exhausted() {
        let mut p = Packet::from_bytes(&[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14]);
        for _ in 0..10 {
            p.insert_front(12, &[0, 0, 0, 0]);
        }
        assert_eq!(p.len(), 54);
        assert_eq!(&p.data()[..12], &[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
        assert_eq!(&p.data()[52..], &[13, 14]);
    }
}
