//! TCP connection tracking: per-peer states and sequence-window checks.
//!
//! Each connection keeps one [`TcpPeer`] per direction. A peer records the
//! highest sequence number it has sent (`seqlo`), the highest sequence
//! number the other side has made room for (`seqhi`: its last ACK plus its
//! window), the largest window it has advertised, its window-scale factor
//! and its own state. A segment is accepted when
//!
//! - its last byte fits in the window the receiver offered,
//! - it starts no more than one window behind what was already sent
//!   (retransmissions),
//! - its ACK is within about one maximum window of what the receiver has
//!   sent (neither acknowledging data never sent nor far too old), and
//! - a RST carries (nearly) exactly the expected sequence number.
//!
//! This is the sequence-tracking scheme of Guido van Rooij's "Real Stateful
//! TCP Packet Filtering in IP Filter", as used by pf and by OVS's userspace
//! conntrack, whose observable behaviour (which segments are valid, which
//! state and timeout follow) this module reproduces. A second, looser window
//! admits the segments that legitimately fall outside the strict one: SYNs
//! fired before the peer answered, connections picked up mid-stream, and
//! stray FIN/ACKs right after a close. Segments accepted only by the loose
//! window do not refresh the timeout, so a flood cannot keep an entry alive.
//!
//! States advance on flags: SYN moves a peer to `SYN_SENT`, an ACK of a
//! `SYN_SENT` peer makes it `ESTABLISHED`, FIN moves the sender to
//! `CLOSING`, an ACK of a `CLOSING` peer makes it `FIN_WAIT_2`, RST puts
//! both in `TIME_WAIT`. The pair of peer states then picks the timeout.
//!
//! Not covered: SACK and timestamp options (ignored), and the window
//! tracking of connections whose SYN we did not see is liberal (maximum
//! window scale assumed), as in OVS.

use hwol_wire::tcp::flags::{ACK, FIN, PSH, RST, SYN, URG};

use crate::timeout::TimeoutKind;

/// TCP states, numbered and named as OVS's `ct_dpif_tcp_state` (the names
/// appear in `protoinfo=(state=...)`). The order matters: the tracker
/// compares states with `<`/`>=`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
#[repr(u8)]
pub enum TcpState {
    /// Nothing seen from this peer.
    #[default]
    Closed = 0,
    /// Unused by the tracker; kept so the numbering matches OVS.
    Listen = 1,
    /// This peer has sent a SYN (or its first segment).
    SynSent = 2,
    /// Unused by the per-peer tracker; printed instead of a raw number.
    SynRecv = 3,
    /// This peer's SYN was acknowledged.
    Established = 4,
    /// Unused by the per-peer tracker.
    CloseWait = 5,
    /// Unused by the per-peer tracker.
    FinWait1 = 6,
    /// This peer has sent a FIN.
    Closing = 7,
    /// Unused by the per-peer tracker.
    LastAck = 8,
    /// This peer's FIN was acknowledged.
    FinWait2 = 9,
    /// The connection was reset.
    TimeWait = 10,
}

impl TcpState {
    /// The name OVS prints.
    pub fn name(self) -> &'static str {
        match self {
            TcpState::Closed => "CLOSED",
            TcpState::Listen => "LISTEN",
            TcpState::SynSent => "SYN_SENT",
            TcpState::SynRecv => "SYN_RECV",
            TcpState::Established => "ESTABLISHED",
            TcpState::CloseWait => "CLOSE_WAIT",
            TcpState::FinWait1 => "FIN_WAIT_1",
            TcpState::Closing => "CLOSING",
            TcpState::LastAck => "LAST_ACK",
            TcpState::FinWait2 => "FIN_WAIT_2",
            TcpState::TimeWait => "TIME_WAIT",
        }
    }

    /// The single state `dump-conntrack` prints for a connection: the more
    /// advanced of the two peers, with the userspace-only states mapped to
    /// what the kernel would show (`FIN_WAIT_2` → `TIME_WAIT`,
    /// `SYN_RECV` → `ESTABLISHED`), as `ct-dpif` does when not verbose.
    pub fn summary(orig: TcpState, reply: TcpState) -> TcpState {
        match orig.max(reply) {
            TcpState::FinWait2 => TcpState::TimeWait,
            TcpState::SynRecv => TcpState::Established,
            s => s,
        }
    }
}

/// Window scale as stored per peer: low nibble is the shift, `WSCALE_SEEN`
/// means the option was present on the SYN, `WSCALE_UNKNOWN` means we
/// picked the connection up without a SYN and must assume the maximum.
const WSCALE_SEEN: u8 = 0x80;
const WSCALE_UNKNOWN: u8 = 0x40;
const WSCALE_SHIFT: u8 = 0x0f;
const MAX_WSCALE: u8 = 14;
/// How far an ACK may lag or lead: one maximal unscaled window plus a
/// margin for one MTU of reassembly slack.
const MAX_ACK_WINDOW: i64 = 0xffff + 1500;

/// What the tracker needs from one TCP segment.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct TcpSegment {
    pub flags: u16,
    pub seq: u32,
    pub ack: u32,
    pub window: u16,
    pub payload_len: u32,
    /// `WSCALE_SEEN | shift` when the segment carries a window-scale
    /// option, else 0.
    pub wscale: u8,
}

impl TcpSegment {
    pub(crate) fn wscale_option(opt: Option<u8>) -> u8 {
        opt.map_or(0, |s| WSCALE_SEEN | s.min(MAX_WSCALE))
    }
}

/// One direction's tracking state.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct TcpPeer {
    seqlo: u32,
    seqhi: u32,
    max_win: u32,
    wscale: u8,
    pub state: TcpState,
}

impl TcpPeer {
    /// The window-scale shift this peer announced (0 if none).
    pub fn wscale_shift(&self) -> u8 {
        self.wscale & WSCALE_SHIFT
    }
}

/// Both peers: `[0]` sent the first packet, `[1]` answers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct TcpConn {
    pub peers: [TcpPeer; 2],
}

/// The outcome of running one packet through a protocol tracker.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Update {
    /// Part of the connection: `+est`.
    Valid,
    /// Accepted, but the connection is still being set up: `+new`.
    ValidNew,
    /// Not acceptable for this connection: `+inv`.
    Invalid,
    /// A SYN reusing the tuple of a finished connection: replace it.
    New,
}

#[inline]
fn seq_geq(a: u32, b: u32) -> bool {
    a.wrapping_sub(b) as i32 >= 0
}

#[inline]
fn seq_gt(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) > 0
}

/// `v << shift`, wrapped into sequence space.
#[inline]
fn scaled(v: u32, shift: u8) -> u32 {
    ((v as u64) << shift) as u32
}

/// Book-keeping shared by the strict and the loose acceptance: grow the
/// sender's largest window, advance its highest sequence number, slide the
/// window it allows the receiver, and apply FIN and RST.
fn accept(src: &mut TcpPeer, dst: &mut TcpPeer, flags: u16, win: u32, sws: u8, end: u32, ack: u32) {
    src.max_win = src.max_win.max(win);
    if seq_gt(end, src.seqlo) {
        src.seqlo = end;
    }
    let room = scaled(win, sws);
    if seq_geq(ack.wrapping_add(room), dst.seqhi) {
        dst.seqhi = ack.wrapping_add(room.max(1));
    }
    if flags & FIN != 0 && src.state < TcpState::Closing {
        src.state = TcpState::Closing;
    }
    if flags & RST != 0 {
        src.state = TcpState::TimeWait;
        dst.state = TcpState::TimeWait;
    }
}

/// Flag combinations no conforming stack sends.
pub(crate) fn invalid_flags(flags: u16) -> bool {
    if flags & SYN != 0 {
        if flags & (RST | FIN) != 0 {
            return true;
        }
    } else if flags & (ACK | RST) == 0 {
        return true;
    }
    flags & ACK == 0 && flags & (FIN | PSH | URG) != 0
}

/// May this segment open a connection? Not with bad flags, and not with a
/// SYN+ACK: a connection starts with a SYN, or is picked up mid-stream, but
/// never from its second packet.
pub(crate) fn valid_new(flags: u16) -> bool {
    !(invalid_flags(flags) || (flags & SYN != 0 && flags & ACK != 0))
}

impl TcpConn {
    /// State for a connection whose first packet is `seg` (which passed
    /// [`valid_new`]).
    pub(crate) fn new(seg: &TcpSegment) -> (Self, TimeoutKind) {
        let mut c = TcpConn::default();
        let [src, dst] = &mut c.peers;
        src.seqlo = seg.seq;
        src.seqhi = seg.seq.wrapping_add(seg.payload_len).wrapping_add(1);
        if seg.flags & SYN != 0 {
            src.seqhi = src.seqhi.wrapping_add(1);
            src.wscale = seg.wscale;
        } else {
            // Picked up mid-stream: the scale factors are unknowable.
            src.wscale = WSCALE_UNKNOWN;
            dst.wscale = WSCALE_UNKNOWN;
        }
        src.max_win = u32::from(seg.window.max(1));
        let shift = src.wscale & WSCALE_SHIFT;
        if shift != 0 {
            src.max_win = src.max_win.div_ceil(1 << shift);
        }
        if seg.flags & FIN != 0 {
            src.seqhi = src.seqhi.wrapping_add(1);
        }
        dst.seqhi = 1;
        dst.max_win = 1;
        src.state = TcpState::SynSent;
        dst.state = TcpState::Closed;
        (c, TimeoutKind::TcpFirstPacket)
    }

    /// Run `seg`, sent by the replier when `reply`, through the tracker.
    /// Returns the verdict and, when the timeout should be refreshed, the
    /// new timeout class.
    pub(crate) fn update(&mut self, seg: &TcpSegment, reply: bool, seq_check: bool) -> (Update, Option<TimeoutKind>) {
        let flags = seg.flags;
        if invalid_flags(flags) {
            return (Update::Invalid, None);
        }
        let (a, b) = self.peers.split_at_mut(1);
        let (src, dst) = if reply { (&mut b[0], &mut a[0]) } else { (&mut a[0], &mut b[0]) };
        let syn = flags & SYN != 0;

        if flags & (SYN | ACK) == SYN {
            if src.state >= TcpState::FinWait2 && dst.state >= TcpState::FinWait2 {
                // Port reuse after a complete close: a brand-new connection.
                src.state = TcpState::Closed;
                dst.state = TcpState::Closed;
                return (Update::New, None);
            }
            if src.state <= TcpState::SynSent {
                // First SYN from this side, or a retransmission of it.
                src.state = TcpState::SynSent;
                return (Update::ValidNew, Some(TimeoutKind::TcpFirstPacket));
            }
        }

        let (mut sws, mut dws) = (0u8, 0u8);
        if !syn {
            if src.wscale & WSCALE_SEEN != 0 && dst.wscale & WSCALE_SEEN != 0 {
                sws = src.wscale & WSCALE_SHIFT;
                dws = dst.wscale & WSCALE_SHIFT;
            } else if src.wscale & WSCALE_UNKNOWN != 0 && dst.wscale & WSCALE_UNKNOWN != 0 {
                sws = MAX_WSCALE;
                dws = MAX_WSCALE;
            }
        }

        let mut win = u32::from(seg.window);
        let orig_seq = seg.seq;
        let mut seq = seg.seq;
        let mut end = seq.wrapping_add(seg.payload_len);
        if syn {
            end = end.wrapping_add(1);
        }
        if flags & FIN != 0 {
            end = end.wrapping_add(1);
        }
        let mut strict_ack = true;

        if src.state < TcpState::SynSent {
            // The first segment we see from this side (normally the SYN+ACK).
            if syn && dst.wscale & WSCALE_SEEN != 0 {
                src.wscale = seg.wscale;
                if src.wscale & WSCALE_SEEN != 0 {
                    sws = src.wscale & WSCALE_SHIFT;
                    win = win.div_ceil(1 << sws);
                    dws = dst.wscale & WSCALE_SHIFT;
                } else {
                    // Scaling is only on if both sides offer it: undo the
                    // other side's scaling of its window.
                    dst.max_win = scaled(dst.max_win, dst.wscale & WSCALE_SHIFT);
                    dst.wscale = 0;
                }
            }
            src.seqlo = seq;
            src.state = TcpState::SynSent;
            let room = end.wrapping_add(scaled(dst.max_win, dws).max(1));
            if src.seqhi == 1 || seq_geq(room, src.seqhi) {
                src.seqhi = room;
                // New or picked-up connection: don't hold its ACK to account.
                strict_ack = false;
            }
            src.max_win = src.max_win.max(win);
        }

        let ack = if flags & ACK == 0 || (seg.ack == 0 && flags & (ACK | RST) == ACK | RST) {
            // No ACK to check (or a broken stack's RST): let it pass.
            dst.seqlo
        } else {
            seg.ack
        };

        if seq == end {
            // No data: only the ACK matters, so ignore the sequence number.
            seq = src.seqlo;
            end = seq;
        }

        let ackskew: i64 = if strict_ack { i64::from(dst.seqlo.wrapping_sub(ack) as i32) } else { 0 };
        let rst_ok = flags & RST == 0
            || orig_seq == src.seqlo
            || orig_seq == src.seqlo.wrapping_add(1)
            || orig_seq.wrapping_add(1) == src.seqlo;
        let in_window = seq_geq(src.seqhi, end)
            && seq_geq(seq, src.seqlo.wrapping_sub(scaled(dst.max_win, dws)))
            && ackskew >= -MAX_ACK_WINDOW
            && ackskew <= MAX_ACK_WINDOW << sws
            && rst_ok;

        if in_window || !seq_check {
            accept(src, dst, flags, win, sws, end, ack);
            if syn && src.state < TcpState::SynSent {
                src.state = TcpState::SynSent;
            }
            if flags & ACK != 0 {
                if dst.state == TcpState::SynSent {
                    dst.state = TcpState::Established;
                } else if dst.state == TcpState::Closing {
                    dst.state = TcpState::FinWait2;
                }
            }
            let (s, d) = (src.state, dst.state);
            let kind = if s >= TcpState::FinWait2 && d >= TcpState::FinWait2 {
                TimeoutKind::TcpClosed
            } else if s >= TcpState::Closing && d >= TcpState::Closing {
                TimeoutKind::TcpFinWait
            } else if s < TcpState::Established || d < TcpState::Established {
                TimeoutKind::TcpOpening
            } else if s >= TcpState::Closing || d >= TcpState::Closing {
                TimeoutKind::TcpClosing
            } else {
                TimeoutKind::TcpEstablished
            };
            return (Update::Valid, Some(kind));
        }

        let loose =
            (dst.state < TcpState::SynSent || dst.state >= TcpState::FinWait2 || src.state >= TcpState::FinWait2)
                && seq_geq(src.seqhi.wrapping_add(MAX_ACK_WINDOW as u32), end)
                && seq_geq(seq, src.seqlo.wrapping_sub(MAX_ACK_WINDOW as u32));
        if loose {
            // Accept without refreshing the timeout (see the module docs),
            // and without letting an ACK advance the receiver's state.
            accept(src, dst, flags, win, sws, end, ack);
            return (Update::Valid, None);
        }
        (Update::Invalid, None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seg(flags: u16, seq: u32, ack: u32, len: u32) -> TcpSegment {
        TcpSegment { flags, seq, ack, window: 64240, payload_len: len, wscale: 0 }
    }

    #[test]
    fn flag_validity() {
        assert!(invalid_flags(SYN | FIN));
        assert!(invalid_flags(SYN | RST));
        assert!(invalid_flags(0));
        assert!(invalid_flags(FIN));
        assert!(invalid_flags(RST | PSH));
        assert!(!invalid_flags(SYN));
        assert!(!invalid_flags(RST));
        assert!(!invalid_flags(ACK | FIN | PSH));
        assert!(valid_new(SYN));
        assert!(valid_new(ACK));
        assert!(!valid_new(SYN | ACK));
    }

    #[test]
    fn handshake_data_close_states() {
        let (mut c, k) = TcpConn::new(&seg(SYN, 1000, 0, 0));
        assert_eq!(k, TimeoutKind::TcpFirstPacket);
        // SYN retransmit stays "new".
        assert_eq!(c.update(&seg(SYN, 1000, 0, 0), false, true).0, Update::ValidNew);
        let (u, k) = c.update(&seg(SYN | ACK, 5000, 1001, 0), true, true);
        assert_eq!((u, k), (Update::Valid, Some(TimeoutKind::TcpOpening)));
        assert_eq!((c.peers[0].state, c.peers[1].state), (TcpState::Established, TcpState::SynSent));
        let (u, k) = c.update(&seg(ACK, 1001, 5001, 0), false, true);
        assert_eq!((u, k), (Update::Valid, Some(TimeoutKind::TcpEstablished)));
        assert_eq!(c.update(&seg(ACK | PSH, 1001, 5001, 100), false, true).0, Update::Valid);
        assert_eq!(c.update(&seg(ACK, 5001, 1101, 0), true, true).0, Update::Valid);
        // Far outside the window.
        assert_eq!(c.update(&seg(ACK | PSH, 1101 + 10_000_000, 5001, 100), false, true).0, Update::Invalid);
        // ...unless sequence checking is off.
        assert_eq!(c.update(&seg(ACK | PSH, 1101 + 10_000_000, 5001, 100), false, false).0, Update::Valid);
    }

    #[test]
    fn summary_state_coalesces_like_ct_dpif() {
        assert_eq!(TcpState::summary(TcpState::FinWait2, TcpState::Closing), TcpState::TimeWait);
        assert_eq!(TcpState::summary(TcpState::SynRecv, TcpState::SynSent), TcpState::Established);
        assert_eq!(TcpState::summary(TcpState::SynSent, TcpState::Closed), TcpState::SynSent);
    }
}
