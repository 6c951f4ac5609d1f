//! AF_PACKET port I/O with a TPACKET_V3 receive ring and virtio-net headers:
//! [`PacketPort`].
//!
//! # Why this shape
//!
//! A representor carries whatever its pod sends. With the pod's offloads on
//! (the default, and what we want), that is TSO super-packets of up to 64 KiB
//! with partial checksums. A plain packet socket would see them segmented
//! and checksummed in software first, which is what makes a classic
//! AF_PACKET switch slow (2.3 Gbit/s here vs 10.6 with vnet headers, see
//! `shared/reference/README.md`). With `PACKET_VNET_HDR` the kernel hands us
//! the super-packet whole plus a [`VnetHdr`] saying how to finish it, and
//! takes the same header on send, so the work happens once, late, or never
//! (veth to veth it never happens: the receiving pod gets the GSO skb).
//!
//! - Receive: a TPACKET_V3 ring of `block_count` blocks of `block_size`
//!   bytes, mapped once. The kernel fills a block and *retires* it when full
//!   or after `retire_timeout_ms`; [`PacketPort::recv`] hands out one retired
//!   block at a time as an [`RxBlock`] whose frames borrow the ring (no
//!   copy). Dropping the `RxBlock` gives the block back. Blocks must be
//!   large enough for one 64 KiB GSO frame plus headers, so the minimum is
//!   128 KiB.
//! - Send: `sendmsg` of the 10-byte header followed by the frame, two
//!   iovecs, no copy in user space. A TX ring does not pay off for GSO-sized
//!   frames (one syscall per 64 KiB is cheap) and complicates ownership.
//! - `PACKET_IGNORE_OUTGOING`: a port does not see what it (or anyone else)
//!   transmits on its interface, only what arrives from the pod.
//!
//! # Errors
//!
//! Setting a port up returns [`crate::Error::Socket`] naming the interface
//! and the step. Per-packet send failures return a bare [`io::Error`] so the
//! hot path does not allocate; count them under a drop reason.
//!
//! # Threading
//!
//! A port is `Send`; receiving needs `&mut` (one reader per ring), sending
//! needs `&` and may be done from another thread through a shared reference.
//!
//! Not covered: TX rings, `PACKET_MMAP` TPACKET_V2, BPF socket filters.

use std::io;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::time::Duration;

use crate::error::{privilege_hint, Error, Result};
use crate::ring::{BlockView, Frames, BLOCK_STATUS, TP_STATUS_KERNEL, TP_STATUS_USER};
use crate::sys;
use crate::vnet::{VnetHdr, VNET_HDR_LEN};

/// How frames are spread over the sockets of a fanout group (`PACKET_FANOUT_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FanoutMode {
    /// `PACKET_FANOUT_HASH`: by flow hash, so a flow stays on one socket.
    Hash,
    /// `PACKET_FANOUT_LB`: round robin.
    RoundRobin,
    /// `PACKET_FANOUT_CPU`: by the CPU that received the frame.
    Cpu,
}

impl FanoutMode {
    fn raw(self) -> u32 {
        match self {
            FanoutMode::Hash => 0,
            FanoutMode::RoundRobin => 1,
            FanoutMode::Cpu => 2,
        }
    }
}

/// Settings for [`PacketPort::open`]. `Default` suits a switch port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortConfig {
    /// Bytes per ring block; a power of two, at least 128 KiB (one GSO frame must fit).
    pub block_size: u32,
    /// Number of ring blocks.
    pub block_count: u32,
    /// Milliseconds after which a partly filled block is handed to user space.
    pub retire_timeout_ms: u32,
    /// Receive and send `virtio_net_hdr`s (`PACKET_VNET_HDR`). Leave on.
    pub vnet_hdr: bool,
    /// Do not receive frames transmitted on the interface (`PACKET_IGNORE_OUTGOING`).
    pub ignore_outgoing: bool,
    /// Join fanout group `.0` with mode `.1`.
    pub fanout: Option<(u16, FanoutMode)>,
    /// `SO_SNDBUF` in bytes (the kernel caps it at `net.core.wmem_max`).
    pub sndbuf: u32,
    /// Receive through the TPACKET_V3 ring (the default: batches, no
    /// copy). `false` receives one frame per [`PacketPort::recv_copy`] call
    /// instead: a copy each, but no latency — a ring hands frames over only
    /// when a block retires, which at low rates means a timer tick (4 ms
    /// at HZ=250) per frame, too slow for a slow path setting up connections.
    pub ring: bool,
    /// Receive frames. `false` makes a transmit-only port: the socket is
    /// bound with protocol 0, so the kernel's packet tap never copies
    /// anything into it (used on representors when a TC fast path delivers
    /// the misses through an upcall device instead).
    pub rx: bool,
}

impl Default for PortConfig {
    fn default() -> Self {
        PortConfig {
            block_size: 1 << 18,
            block_count: 16,
            retire_timeout_ms: 1,
            vnet_hdr: true,
            ignore_outgoing: true,
            fanout: None,
            sndbuf: 4 << 20,
            rx: true,
            ring: true,
        }
    }
}

/// Kernel counters of a port's receive ring (`PACKET_STATISTICS`), since the
/// previous call.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RingStats {
    /// Frames the socket received, including dropped ones.
    pub packets: u32,
    /// Frames dropped because every block was owned by user space.
    pub drops: u32,
    /// Times the ring was full ("frozen").
    pub freezes: u32,
}

/// What [`PacketPort::recv_copy_tagged`] returns: the frame's virtio-net
/// header, where the frame lies in the buffer, and the VLAN TCI the kernel
/// took off it.
pub type TaggedFrame = (VnetHdr, std::ops::Range<usize>, Option<u16>);

/// A packet socket bound to one interface, with a mapped receive ring.
#[derive(Debug)]
pub struct PacketPort {
    // Field order matters: the ring is unmapped before the socket closes.
    ring: Option<sys::RingMap>,
    fd: OwnedFd,
    ifname: String,
    ifindex: u32,
    block_size: usize,
    block_count: usize,
    next_block: usize,
    vnet: bool,
}

impl PacketPort {
    /// Open a port on the interface called `ifname`.
    pub fn open(ifname: &str, cfg: &PortConfig) -> Result<PacketPort> {
        let sock_err = |op: &str, e: io::Error| Error::Socket {
            ifname: ifname.to_string(),
            op: op.to_string(),
            hint: privilege_hint(&e).to_string(),
            source: e,
        };
        let ifindex = sys::if_nametoindex(ifname)
            .map_err(|e| sock_err("if_nametoindex", e))?
            .ok_or_else(|| Error::NoSuchInterface { name: ifname.to_string(), context: " in this netns".into() })?;
        Self::open_inner(ifname.to_string(), ifindex, cfg)
    }

    /// Open a port on the interface with index `ifindex` (in the caller's netns).
    pub fn open_index(ifindex: u32, cfg: &PortConfig) -> Result<PacketPort> {
        Self::open_inner(format!("#{ifindex}"), ifindex, cfg)
    }

    fn open_inner(ifname: String, ifindex: u32, cfg: &PortConfig) -> Result<PacketPort> {
        if !cfg.block_size.is_power_of_two() || cfg.block_size < (1 << 17) || cfg.block_count == 0 {
            return Err(Error::InvalidArgument(format!(
                "AF_PACKET port on {ifname}: block_size must be a power of two >= 131072 (got {}) and \
                 block_count > 0 (got {}), so a 64 KiB GSO frame fits in one block",
                cfg.block_size, cfg.block_count
            )));
        }
        let err = |op: &str, e: io::Error, hint: &str| Error::Socket {
            ifname: ifname.clone(),
            op: op.to_string(),
            hint: if hint.is_empty() { privilege_hint(&e).to_string() } else { hint.to_string() },
            source: e,
        };
        let fd = sys::packet_socket().map_err(|e| err("socket(AF_PACKET)", e, ""))?;
        sys::setsockopt(&fd, sys::SOL_PACKET, sys::PACKET_VERSION, &sys::TPACKET_V3)
            .map_err(|e| err("PACKET_VERSION=TPACKET_V3", e, ""))?;
        if cfg.vnet_hdr {
            sys::setsockopt(&fd, sys::SOL_PACKET, sys::PACKET_VNET_HDR, &1i32)
                .map_err(|e| err("PACKET_VNET_HDR", e, ""))?;
        }
        if cfg.ignore_outgoing {
            sys::setsockopt(&fd, sys::SOL_PACKET, sys::PACKET_IGNORE_OUTGOING, &1i32)
                .map_err(|e| err("PACKET_IGNORE_OUTGOING", e, "; needs Linux 4.20 or later"))?;
        }
        if !cfg.ring {
            sys::setsockopt(&fd, sys::SOL_PACKET, sys::PACKET_AUXDATA, &1i32)
                .map_err(|e| err("PACKET_AUXDATA", e, ""))?;
            sys::setsockopt(&fd, libc::SOL_SOCKET, libc::SO_SNDBUF, &(cfg.sndbuf as i32))
                .map_err(|e| err("SO_SNDBUF", e, ""))?;
            sys::setsockopt(&fd, libc::SOL_SOCKET, libc::SO_RCVBUF, &(cfg.sndbuf as i32))
                .map_err(|e| err("SO_RCVBUF", e, ""))?;
            let protocol = if cfg.rx { sys::ETH_P_ALL } else { 0 };
            sys::bind_packet(&fd, ifindex, protocol).map_err(|e| err("bind", e, ""))?;
            return Ok(PacketPort {
                ring: None,
                fd,
                ifname,
                ifindex,
                block_size: 0,
                block_count: 0,
                next_block: 0,
                vnet: cfg.vnet_hdr,
            });
        }
        let frame_size = 2048u32;
        // A transmit-only port keeps a minimal ring; nothing is ever put in it.
        let block_count = if cfg.rx { cfg.block_count } else { 1 };
        let req = sys::TpacketReq3 {
            tp_block_size: cfg.block_size,
            tp_block_nr: block_count,
            tp_frame_size: frame_size,
            tp_frame_nr: cfg.block_size / frame_size * block_count,
            tp_retire_blk_tov: cfg.retire_timeout_ms,
            tp_sizeof_priv: 0,
            tp_feature_req_word: 0,
        };
        sys::setsockopt(&fd, sys::SOL_PACKET, sys::PACKET_RX_RING, &req)
            .map_err(|e| err("PACKET_RX_RING", e, "; try fewer or smaller blocks (memory is pinned)"))?;
        let len = cfg.block_size as usize * block_count as usize;
        let ring = sys::RingMap::map(&fd, len).map_err(|e| err("mmap of the RX ring", e, ""))?;
        sys::setsockopt(&fd, libc::SOL_SOCKET, libc::SO_SNDBUF, &(cfg.sndbuf as i32))
            .map_err(|e| err("SO_SNDBUF", e, ""))?;
        let protocol = if cfg.rx { sys::ETH_P_ALL } else { 0 };
        sys::bind_packet(&fd, ifindex, protocol).map_err(|e| {
            let hint = if e.raw_os_error() == Some(libc::ENODEV) { "; the interface is gone" } else { "" };
            err("bind", e, hint)
        })?;
        if let Some((group, mode)) = cfg.fanout {
            let arg: u32 = u32::from(group) | (mode.raw() << 16);
            sys::setsockopt(&fd, sys::SOL_PACKET, sys::PACKET_FANOUT, &arg).map_err(|e| {
                err("PACKET_FANOUT", e, "; every socket in a group must use the same mode and interface")
            })?;
        }
        Ok(PacketPort {
            ring: Some(ring),
            fd,
            ifname,
            ifindex,
            block_size: cfg.block_size as usize,
            block_count: block_count as usize,
            next_block: 0,
            vnet: cfg.vnet_hdr,
        })
    }

    /// The interface name (or `#ifindex` if opened by index).
    pub fn ifname(&self) -> &str {
        &self.ifname
    }

    /// The interface index.
    pub fn ifindex(&self) -> u32 {
        self.ifindex
    }

    /// True if frames carry virtio-net headers.
    pub fn has_vnet_hdr(&self) -> bool {
        self.vnet
    }

    /// The socket, for an external poll loop (readable = a block is retired).
    pub fn raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }

    /// True if the next block is retired and can be taken without waiting.
    pub fn ready(&self) -> bool {
        match &self.ring {
            Some(r) => r.load_status(self.next_block * self.block_size + BLOCK_STATUS) & TP_STATUS_USER != 0,
            None => sys::poll_in(self.raw_fd(), 0).unwrap_or(false),
        }
    }

    /// Wait up to `timeout` for a retired block. `Ok(false)` on timeout.
    pub fn wait(&self, timeout: Duration) -> Result<bool> {
        if self.ready() {
            return Ok(true);
        }
        let ms = i32::try_from(timeout.as_millis()).unwrap_or(i32::MAX);
        sys::poll_in(self.raw_fd(), ms).map_err(|e| self.io_err("poll", e))?;
        Ok(self.ready())
    }

    /// Take the next retired block, waiting up to `timeout` for one.
    /// `Ok(None)` on timeout. The block goes back to the kernel when the
    /// returned [`RxBlock`] is dropped; hold it only as long as needed, the
    /// ring drops frames while all blocks are out.
    pub fn recv(&mut self, timeout: Duration) -> Result<Option<RxBlock<'_>>> {
        if !self.wait(timeout)? {
            return Ok(None);
        }
        Ok(self.try_recv())
    }

    /// Take the next retired block if there is one, without waiting.
    pub fn try_recv(&mut self) -> Option<RxBlock<'_>> {
        let ring = self.ring.as_ref()?;
        let offset = self.next_block * self.block_size;
        let bytes = ring.user_block(offset, self.block_size, BLOCK_STATUS)?;
        self.next_block = (self.next_block + 1) % self.block_count;
        // A corrupt descriptor gives an empty block; it is still handed back.
        let view = BlockView::new_checked(bytes, self.vnet).ok();
        Some(RxBlock { ring, offset, view })
    }

    /// On a port opened with `ring: false`: receive one frame into `buf`
    /// without waiting. Returns the frame's virtio-net header and where the
    /// frame lies in `buf`, or `None` when nothing is queued. Size `buf` for
    /// a 64 KiB GSO frame plus the header; a longer datagram is cut short.
    pub fn recv_copy(&self, buf: &mut [u8]) -> io::Result<Option<(VnetHdr, std::ops::Range<usize>)>> {
        Ok(self.recv_copy_tagged(buf)?.map(|(h, r, _)| (h, r)))
    }

    /// [`PacketPort::recv_copy`], also returning the VLAN TCI the kernel
    /// removed from the frame, if any (an upcall device's port tag).
    pub fn recv_copy_tagged(&self, buf: &mut [u8]) -> io::Result<Option<TaggedFrame>> {
        let Some((n, tci)) = sys::recv_nonblock_aux(&self.fd, buf)? else { return Ok(None) };
        let end = n.min(buf.len());
        if !self.vnet {
            return Ok(Some((VnetHdr::NONE, 0..end, tci)));
        }
        let Some(h) = VnetHdr::parse(&buf[..end]) else { return Ok(Some((VnetHdr::NONE, 0..0, tci))) };
        Ok(Some((h, VNET_HDR_LEN..end, tci)))
    }

    /// Send one frame with its virtio-net header. A GSO frame is segmented
    /// and a NEEDS_CSUM frame checksummed by the kernel as needed. On a port
    /// without vnet headers, `vnet` must be [`VnetHdr::NONE`].
    ///
    /// Errors are per packet and not allocated: `ENOBUFS`/`EAGAIN` mean the
    /// device queue is full, `EINVAL` a header the kernel rejected (for
    /// example `gso_size` 0 with a GSO type), `EMSGSIZE` a non-GSO frame over
    /// the MTU. Count them; do not stop the port.
    pub fn send(&self, vnet: &VnetHdr, frame: &[u8]) -> io::Result<()> {
        if self.vnet {
            let h: [u8; VNET_HDR_LEN] = vnet.to_bytes();
            sys::send2(&self.fd, &h, frame, 0)?;
        } else if *vnet != VnetHdr::NONE {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "offload header on a port without PACKET_VNET_HDR",
            ));
        } else {
            sys::send2(&self.fd, &[], frame, 0)?;
        }
        Ok(())
    }

    /// The ring's drop counters since the last call.
    pub fn ring_stats(&self) -> Result<RingStats> {
        let s = sys::packet_stats(&self.fd).map_err(|e| self.io_err("PACKET_STATISTICS", e))?;
        Ok(RingStats { packets: s.tp_packets, drops: s.tp_drops, freezes: s.tp_freeze_q_cnt })
    }

    fn io_err(&self, op: &str, e: io::Error) -> Error {
        Error::Socket { ifname: self.ifname.clone(), op: op.to_string(), hint: String::new(), source: e }
    }
}

/// Wait until any of `ports` has a retired block or `timeout` passes;
/// returns, per port, whether it is ready.
pub fn wait_any(ports: &[&PacketPort], timeout: Duration) -> Result<Vec<bool>> {
    let ready: Vec<bool> = ports.iter().map(|p| p.ready()).collect();
    if ready.iter().any(|&r| r) {
        return Ok(ready);
    }
    let fds: Vec<RawFd> = ports.iter().map(|p| p.raw_fd()).collect();
    let mut polled = vec![false; ports.len()];
    let ms = i32::try_from(timeout.as_millis()).unwrap_or(i32::MAX);
    sys::poll_many(&fds, ms, &mut polled).map_err(|e| Error::Socket {
        ifname: ports.iter().map(|p| p.ifname()).collect::<Vec<_>>().join(","),
        op: "poll".into(),
        hint: String::new(),
        source: e,
    })?;
    Ok(ports.iter().map(|p| p.ready()).collect())
}

/// One retired ring block, borrowed from a [`PacketPort`]. Frames borrow it.
/// Dropping it hands the block back to the kernel.
#[derive(Debug)]
pub struct RxBlock<'a> {
    ring: &'a sys::RingMap,
    offset: usize,
    view: Option<BlockView<'a>>,
}

impl<'a> RxBlock<'a> {
    /// The frames of the block, in arrival order, without copying.
    pub fn frames(&self) -> Frames<'_> {
        match &self.view {
            Some(v) => v.frames(),
            None => BlockView::empty().frames(),
        }
    }

    /// Number of frames the kernel put in the block (0 if it was corrupt).
    pub fn len(&self) -> usize {
        self.view.map(|v| v.num_pkts() as usize).unwrap_or(0)
    }

    /// True if the block holds no frames (a timer-retired empty block, or corrupt).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Drop for RxBlock<'_> {
    fn drop(&mut self) {
        self.ring.store_status(self.offset + BLOCK_STATUS, TP_STATUS_KERNEL);
    }
}
