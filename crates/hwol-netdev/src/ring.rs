//! Checked views over a TPACKET_V3 receive ring block: [`BlockView`] and the
//! [`Frame`]s it holds.
//!
//! This module is pure: it reads a byte slice that the caller got from the
//! mmap'd ring (see [`crate::afpacket`]) or built by hand in a test. Every
//! offset the kernel wrote is bounds-checked, so a corrupt block yields a
//! [`RingError`] or a shorter iteration, never a panic.
//!
//! Layout (from `linux/if_packet.h`), all fields host-endian:
//!
//! ```text
//! struct tpacket_block_desc      struct tpacket3_hdr (one per frame)
//!  0 u32 version                  0 u32 tp_next_offset   (0 on the last)
//!  4 u32 offset_to_priv           4 u32 tp_sec
//!  8 u32 block_status             8 u32 tp_nsec
//! 12 u32 num_pkts                12 u32 tp_snaplen
//! 16 u32 offset_to_first_pkt     16 u32 tp_len
//! 20 u32 blk_len                 20 u32 tp_status
//! 24 u64 seq_num                 24 u16 tp_mac
//! 32 ts_first_pkt {sec, nsec}    26 u16 tp_net
//! 40 ts_last_pkt  {sec, nsec}    28 u32 tp_rxhash
//!                                32 u32 tp_vlan_tci
//!                                36 u16 tp_vlan_tpid
//! ```
//!
//! With `PACKET_VNET_HDR` the kernel writes the `virtio_net_hdr` in the 10
//! bytes right before `tp_mac`.

use crate::vnet::{VnetHdr, VNET_HDR_LEN};

/// `TP_STATUS_KERNEL`: the block belongs to the kernel.
pub const TP_STATUS_KERNEL: u32 = 0;
/// `TP_STATUS_USER`: the block was retired and belongs to user space.
pub const TP_STATUS_USER: u32 = 1;
/// `TP_STATUS_COPY`: the frame was truncated to the snap length.
pub const TP_STATUS_COPY: u32 = 1 << 1;
/// `TP_STATUS_LOSING`: the ring dropped frames (see `PACKET_STATISTICS`).
pub const TP_STATUS_LOSING: u32 = 1 << 2;
/// `TP_STATUS_CSUMNOTREADY`: the checksum is partial (outgoing frames).
pub const TP_STATUS_CSUMNOTREADY: u32 = 1 << 3;
/// `TP_STATUS_VLAN_VALID`: `tp_vlan_tci` holds a stripped VLAN tag.
pub const TP_STATUS_VLAN_VALID: u32 = 1 << 4;
/// `TP_STATUS_BLK_TMO`: the block was retired by the timer, not by filling up.
pub const TP_STATUS_BLK_TMO: u32 = 1 << 5;
/// `TP_STATUS_VLAN_TPID_VALID`: `tp_vlan_tpid` is valid.
pub const TP_STATUS_VLAN_TPID_VALID: u32 = 1 << 6;
/// `TP_STATUS_CSUM_VALID`: the checksum was verified.
pub const TP_STATUS_CSUM_VALID: u32 = 1 << 7;

/// `sizeof(struct tpacket_block_desc)`.
pub const BLOCK_DESC_LEN: usize = 48;
/// `sizeof(struct tpacket3_hdr)`.
pub const TPACKET3_HDR_LEN: usize = 48;

/// Offset of `block_status` in the block descriptor.
pub const BLOCK_STATUS: usize = 8;
const NUM_PKTS: usize = 12;
const OFFSET_TO_FIRST_PKT: usize = 16;
const BLK_LEN: usize = 20;
const SEQ_NUM: usize = 24;

const TP_NEXT_OFFSET: usize = 0;
const TP_SEC: usize = 4;
const TP_NSEC: usize = 8;
const TP_SNAPLEN: usize = 12;
const TP_LEN: usize = 16;
const TP_STATUS: usize = 20;
const TP_MAC: usize = 24;
const TP_RXHASH: usize = 28;
const TP_VLAN_TCI: usize = 32;

/// A block descriptor that does not fit the block.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RingError {
    /// The block is shorter than its descriptor.
    #[error("ring block of {0} bytes is shorter than its 48-byte descriptor")]
    Short(usize),
    /// `blk_len` or `offset_to_first_pkt` point outside the block.
    #[error("ring block descriptor is corrupt: {0}")]
    Corrupt(&'static str),
}

fn u32_at(b: &[u8], o: usize) -> Option<u32> {
    Some(u32::from_ne_bytes(b.get(o..o + 4)?.try_into().ok()?))
}

fn u16_at(b: &[u8], o: usize) -> Option<u16> {
    Some(u16::from_ne_bytes(b.get(o..o + 2)?.try_into().ok()?))
}

/// A checked view of one retired TPACKET_V3 block.
#[derive(Debug, Clone, Copy)]
pub struct BlockView<'a> {
    buf: &'a [u8],
    num_pkts: u32,
    first: usize,
    vnet: bool,
}

impl<'a> BlockView<'a> {
    /// Check the descriptor at the start of `buf`. `vnet` says whether the
    /// socket has `PACKET_VNET_HDR` on (then each frame carries a header).
    pub fn new_checked(buf: &'a [u8], vnet: bool) -> Result<Self, RingError> {
        if buf.len() < BLOCK_DESC_LEN {
            return Err(RingError::Short(buf.len()));
        }
        let blk_len = u32_at(buf, BLK_LEN).unwrap_or(0) as usize;
        let first = u32_at(buf, OFFSET_TO_FIRST_PKT).unwrap_or(0) as usize;
        let num_pkts = u32_at(buf, NUM_PKTS).unwrap_or(0);
        if blk_len > buf.len() {
            return Err(RingError::Corrupt("blk_len is larger than the block"));
        }
        if num_pkts > 0 && (first < BLOCK_DESC_LEN || first >= blk_len) {
            return Err(RingError::Corrupt("offset_to_first_pkt is outside the block"));
        }
        Ok(BlockView { buf: &buf[..blk_len.max(BLOCK_DESC_LEN)], num_pkts, first, vnet })
    }

    /// A view with no frames.
    pub fn empty() -> BlockView<'static> {
        BlockView { buf: &[], num_pkts: 0, first: 0, vnet: false }
    }

    /// Number of frames the kernel says the block holds.
    pub fn num_pkts(&self) -> u32 {
        self.num_pkts
    }

    /// The block's sequence number.
    pub fn seq_num(&self) -> u64 {
        self.buf.get(SEQ_NUM..SEQ_NUM + 8).and_then(|b| b.try_into().ok()).map(u64::from_ne_bytes).unwrap_or(0)
    }

    /// The frames, in arrival order. Iteration stops early at the first
    /// frame header that does not fit the block.
    pub fn frames(&self) -> Frames<'a> {
        Frames { buf: self.buf, next: self.first, left: self.num_pkts, vnet: self.vnet }
    }
}

/// One received frame, borrowed from the ring.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Frame<'a> {
    /// The Ethernet frame as captured (`tp_snaplen` bytes from `tp_mac`).
    pub data: &'a [u8],
    /// The length on the wire (`tp_len`); larger than `data.len()` if truncated.
    pub wire_len: u32,
    /// The virtio-net header, [`VnetHdr::NONE`] on a socket without vnet headers.
    pub vnet: VnetHdr,
    /// Receive time, nanoseconds since the Unix epoch.
    pub timestamp_ns: u64,
    /// `TP_STATUS_*` bits of this frame.
    pub status: u32,
    /// The VLAN tag the kernel stripped, if [`TP_STATUS_VLAN_VALID`] is set.
    pub vlan_tci: Option<u16>,
    /// The kernel's flow hash (`tp_rxhash`).
    pub rxhash: u32,
}

impl Frame<'_> {
    /// True if the frame was cut to the snap length and must not be forwarded.
    pub fn is_truncated(&self) -> bool {
        (self.data.len() as u64) < u64::from(self.wire_len)
    }
}

/// Iterator over the frames of a [`BlockView`].
#[derive(Debug, Clone)]
pub struct Frames<'a> {
    buf: &'a [u8],
    next: usize,
    left: u32,
    vnet: bool,
}

impl<'a> Iterator for Frames<'a> {
    type Item = Frame<'a>;

    fn next(&mut self) -> Option<Frame<'a>> {
        if self.left == 0 {
            return None;
        }
        let parsed = parse_frame(self.buf, self.next, self.vnet);
        match parsed {
            Some((frame, next_offset)) => {
                self.left -= 1;
                self.next = if next_offset == 0 { self.buf.len() } else { self.next.saturating_add(next_offset) };
                if next_offset == 0 {
                    self.left = 0;
                }
                Some(frame)
            }
            None => {
                self.left = 0;
                None
            }
        }
    }
}

fn parse_frame(buf: &[u8], at: usize, vnet: bool) -> Option<(Frame<'_>, usize)> {
    let hdr = buf.get(at..at.checked_add(TPACKET3_HDR_LEN)?)?;
    let next_offset = u32_at(hdr, TP_NEXT_OFFSET)? as usize;
    let sec = u32_at(hdr, TP_SEC)?;
    let nsec = u32_at(hdr, TP_NSEC)?;
    let snaplen = u32_at(hdr, TP_SNAPLEN)? as usize;
    let wire_len = u32_at(hdr, TP_LEN)?;
    let status = u32_at(hdr, TP_STATUS)?;
    let mac = u16_at(hdr, TP_MAC)? as usize;
    let rxhash = u32_at(hdr, TP_RXHASH)?;
    let tci = u32_at(hdr, TP_VLAN_TCI)?;
    if mac < TPACKET3_HDR_LEN || (vnet && mac < TPACKET3_HDR_LEN + VNET_HDR_LEN) {
        return None;
    }
    let data_start = at.checked_add(mac)?;
    let data = buf.get(data_start..data_start.checked_add(snaplen)?)?;
    let vnet_hdr = if vnet { VnetHdr::parse(&buf[data_start - VNET_HDR_LEN..data_start])? } else { VnetHdr::NONE };
    let frame = Frame {
        data,
        wire_len,
        vnet: vnet_hdr,
        timestamp_ns: u64::from(sec) * 1_000_000_000 + u64::from(nsec),
        status,
        vlan_tci: (status & TP_STATUS_VLAN_VALID != 0).then_some(tci as u16),
        rxhash,
    };
    Some((frame, next_offset))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::vnet::{VIRTIO_NET_HDR_F_NEEDS_CSUM, VIRTIO_NET_HDR_GSO_TCPV4};

    /// Build a block the way the kernel lays it out: descriptor, then frames
    /// aligned to 16 bytes, each with the vnet header right before `tp_mac`.
    pub(crate) fn synth_block(frames: &[(&[u8], VnetHdr)], block_size: usize) -> Vec<u8> {
        let mut b = vec![0u8; block_size];
        let put32 = |b: &mut Vec<u8>, o: usize, v: u32| b[o..o + 4].copy_from_slice(&v.to_ne_bytes());
        put32(&mut b, 0, 3); // version: TPACKET_V3
        put32(&mut b, BLOCK_STATUS, TP_STATUS_USER);
        put32(&mut b, NUM_PKTS, frames.len() as u32);
        put32(&mut b, OFFSET_TO_FIRST_PKT, BLOCK_DESC_LEN as u32);
        b[SEQ_NUM..SEQ_NUM + 8].copy_from_slice(&7u64.to_ne_bytes());
        let mut at = BLOCK_DESC_LEN;
        // The kernel puts tp_mac at TPACKET_ALIGN(48 + 16) + 10 - 14 = 60 on a
        // vnet socket (netoff 74, mac header 14 bytes before it).
        let mac = 60usize;
        for (i, (data, vnet)) in frames.iter().enumerate() {
            let len = (mac + data.len()).next_multiple_of(16);
            let next = if i + 1 == frames.len() { 0 } else { len as u32 };
            put32(&mut b, at + TP_NEXT_OFFSET, next);
            put32(&mut b, at + TP_SEC, 1_700_000_000);
            put32(&mut b, at + TP_NSEC, i as u32);
            put32(&mut b, at + TP_SNAPLEN, data.len() as u32);
            put32(&mut b, at + TP_LEN, data.len() as u32);
            put32(&mut b, at + TP_STATUS, TP_STATUS_USER);
            b[at + TP_MAC..at + TP_MAC + 2].copy_from_slice(&(mac as u16).to_ne_bytes());
            vnet.emit(&mut b[at + mac - VNET_HDR_LEN..at + mac]);
            b[at + mac..at + mac + data.len()].copy_from_slice(data);
            at += len;
        }
        put32(&mut b, BLK_LEN, at as u32);
        b
    }

    #[test]
    fn iterates_synthetic_block() {
        let gso = VnetHdr {
            flags: VIRTIO_NET_HDR_F_NEEDS_CSUM,
            gso_type: VIRTIO_NET_HDR_GSO_TCPV4,
            hdr_len: 66,
            gso_size: 1448,
            csum_start: 34,
            csum_offset: 16,
        };
        let big = vec![0xabu8; 9000];
        let block = synth_block(&[(b"first frame", VnetHdr::NONE), (&big, gso), (b"third", VnetHdr::NONE)], 16384);
        let view = BlockView::new_checked(&block, true).unwrap();
        assert_eq!(view.num_pkts(), 3);
        assert_eq!(view.seq_num(), 7);
        let frames: Vec<_> = view.frames().collect();
        assert_eq!(frames.len(), 3);
        assert_eq!(frames[0].data, b"first frame");
        assert_eq!(frames[0].vnet, VnetHdr::NONE);
        assert_eq!(frames[1].data, &big[..]);
        assert_eq!(frames[1].vnet, gso);
        assert!(!frames[1].is_truncated());
        assert_eq!(frames[2].data, b"third");
        assert_eq!(frames[2].timestamp_ns, 1_700_000_000_000_000_002);
        assert_eq!(frames[2].vlan_tci, None);
    }

    #[test]
    fn corrupt_blocks_do_not_panic() {
        assert_eq!(BlockView::new_checked(&[0u8; 10], true).unwrap_err(), RingError::Short(10));
        let mut block = synth_block(&[(b"abc", VnetHdr::NONE)], 4096);
        block[BLK_LEN..BLK_LEN + 4].copy_from_slice(&100_000u32.to_ne_bytes());
        assert!(BlockView::new_checked(&block, true).is_err());

        // A snap length that runs off the end of the block ends the iteration.
        let mut block = synth_block(&[(b"abc", VnetHdr::NONE), (b"def", VnetHdr::NONE)], 4096);
        let first = BLOCK_DESC_LEN;
        block[first + TP_SNAPLEN..first + TP_SNAPLEN + 4].copy_from_slice(&60_000u32.to_ne_bytes());
        assert_eq!(BlockView::new_checked(&block, true).unwrap().frames().count(), 0);

        // num_pkts larger than the chain: stops at the last frame (next == 0).
        let mut block = synth_block(&[(b"abc", VnetHdr::NONE)], 4096);
        block[NUM_PKTS..NUM_PKTS + 4].copy_from_slice(&1000u32.to_ne_bytes());
        assert_eq!(BlockView::new_checked(&block, true).unwrap().frames().count(), 1);

        // tp_mac pointing into the frame header is rejected.
        let mut block = synth_block(&[(b"abc", VnetHdr::NONE)], 4096);
        block[first + TP_MAC..first + TP_MAC + 2].copy_from_slice(&8u16.to_ne_bytes());
        assert_eq!(BlockView::new_checked(&block, true).unwrap().frames().count(), 0);
    }

    #[test]
    fn truncation_and_vlan_are_reported() {
        let mut block = synth_block(&[(b"abcd", VnetHdr::NONE)], 4096);
        let first = BLOCK_DESC_LEN;
        block[first + TP_LEN..first + TP_LEN + 4].copy_from_slice(&1500u32.to_ne_bytes());
        block[first + TP_STATUS..first + TP_STATUS + 4]
            .copy_from_slice(&(TP_STATUS_USER | TP_STATUS_VLAN_VALID).to_ne_bytes());
        block[first + TP_VLAN_TCI..first + TP_VLAN_TCI + 4].copy_from_slice(&100u32.to_ne_bytes());
        let f = BlockView::new_checked(&block, true).unwrap().frames().next().unwrap();
        assert!(f.is_truncated());
        assert_eq!(f.vlan_tci, Some(100));
    }
}
