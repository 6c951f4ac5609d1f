//! Every raw system call of this crate, each behind a small safe function.
//!
//! This is the only module allowed to use `unsafe`. Each block carries a
//! `// SAFETY:` comment (enforced by `clippy::undocumented_unsafe_blocks`).
//! Callers get `io::Result`s; turning them into [`crate::Error`]s with the
//! interface name and a hint is the caller's job.
//!
//! Kernel constants and structs that `libc` spells differently across
//! versions are declared here with their kernel names.

use std::ffi::CString;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::path::Path;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU32, Ordering};

/// `SOL_PACKET`.
pub const SOL_PACKET: libc::c_int = 263;
/// `PACKET_RX_RING`.
pub const PACKET_RX_RING: libc::c_int = 5;
/// `PACKET_STATISTICS`.
pub const PACKET_STATISTICS: libc::c_int = 6;
/// `PACKET_VERSION`.
pub const PACKET_VERSION: libc::c_int = 10;
/// `PACKET_VNET_HDR`.
pub const PACKET_VNET_HDR: libc::c_int = 15;
/// `PACKET_AUXDATA`: deliver a `tpacket_auxdata` control message (VLAN tag, status) with each frame.
pub const PACKET_AUXDATA: libc::c_int = 8;
/// `PACKET_FANOUT`.
pub const PACKET_FANOUT: libc::c_int = 18;
/// `PACKET_IGNORE_OUTGOING`.
pub const PACKET_IGNORE_OUTGOING: libc::c_int = 23;
/// `TPACKET_V3` (enum tpacket_versions).
pub const TPACKET_V3: libc::c_int = 2;
/// `ETH_P_ALL`.
pub const ETH_P_ALL: u16 = 0x0003;

/// `struct tpacket_req3`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct TpacketReq3 {
    /// Minimal size of a contiguous block; a multiple of the page size.
    pub tp_block_size: u32,
    /// Number of blocks.
    pub tp_block_nr: u32,
    /// Size of a frame slot (used only for accounting in V3).
    pub tp_frame_size: u32,
    /// Total number of frame slots.
    pub tp_frame_nr: u32,
    /// Block retire timeout in milliseconds.
    pub tp_retire_blk_tov: u32,
    /// Per-block private area size.
    pub tp_sizeof_priv: u32,
    /// `TP_FT_REQ_*` feature bits.
    pub tp_feature_req_word: u32,
}

/// `struct tpacket_stats_v3`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct TpacketStatsV3 {
    /// Frames received (including dropped ones).
    pub tp_packets: u32,
    /// Frames dropped because the ring was full.
    pub tp_drops: u32,
    /// Times the ring froze (all blocks owned by user space).
    pub tp_freeze_q_cnt: u32,
}

fn cvt(ret: libc::c_int) -> io::Result<libc::c_int> {
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}

fn cstring(s: &str) -> io::Result<CString> {
    CString::new(s).map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "name contains a NUL byte"))
}

fn cpath(p: &Path) -> io::Result<CString> {
    use std::os::unix::ffi::OsStrExt;
    CString::new(p.as_os_str().as_bytes())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "path contains a NUL byte"))
}

/// `socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0)`: a packet socket that
/// receives nothing until it is bound with a protocol.
pub fn packet_socket() -> io::Result<OwnedFd> {
    // SAFETY: plain syscall with constant arguments; no pointers.
    let fd = cvt(unsafe { libc::socket(libc::AF_PACKET, libc::SOCK_RAW | libc::SOCK_CLOEXEC, 0) })?;
    // SAFETY: `fd` was just returned by socket() and is owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// `setsockopt(fd, level, name, &value, sizeof value)`.
pub fn setsockopt<T: Copy>(fd: &OwnedFd, level: libc::c_int, name: libc::c_int, value: &T) -> io::Result<()> {
    let len = std::mem::size_of::<T>() as libc::socklen_t;
    // SAFETY: `value` points to a live `T` of `len` bytes for the duration of
    // the call; the kernel only reads it. `T: Copy` rules out drop glue.
    cvt(unsafe { libc::setsockopt(fd.as_raw_fd(), level, name, (value as *const T).cast(), len) })?;
    Ok(())
}

/// `getsockopt(fd, SOL_PACKET, PACKET_STATISTICS)`; reading resets the counters.
pub fn packet_stats(fd: &OwnedFd) -> io::Result<TpacketStatsV3> {
    let mut st = TpacketStatsV3::default();
    let mut len = std::mem::size_of::<TpacketStatsV3>() as libc::socklen_t;
    // SAFETY: `st` and `len` are live locals; the kernel writes at most `len`
    // bytes into `st` and updates `len`.
    cvt(unsafe {
        libc::getsockopt(
            fd.as_raw_fd(),
            SOL_PACKET,
            PACKET_STATISTICS,
            (&mut st as *mut TpacketStatsV3).cast(),
            &mut len,
        )
    })?;
    Ok(st)
}

/// Bind a packet socket to `ifindex` for frames of `protocol` (host order).
pub fn bind_packet(fd: &OwnedFd, ifindex: u32, protocol: u16) -> io::Result<()> {
    // SAFETY: sockaddr_ll is plain old data; all-zero is a valid value.
    let mut sll: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
    sll.sll_family = libc::AF_PACKET as u16;
    sll.sll_protocol = protocol.to_be();
    sll.sll_ifindex = ifindex as i32;
    let len = std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t;
    // SAFETY: `sll` is a live, initialised sockaddr_ll of `len` bytes.
    cvt(unsafe { libc::bind(fd.as_raw_fd(), (&sll as *const libc::sockaddr_ll).cast(), len) })?;
    Ok(())
}

/// `tpacket_auxdata`, as the kernel fills it in a `PACKET_AUXDATA` cmsg.
#[repr(C)]
#[derive(Clone, Copy, Default)]
struct TpacketAuxdata {
    tp_status: u32,
    tp_len: u32,
    tp_snaplen: u32,
    tp_mac: u16,
    tp_net: u16,
    tp_vlan_tci: u16,
    tp_vlan_tpid: u16,
}

/// `TP_STATUS_VLAN_VALID` in `tp_status`.
const TP_STATUS_VLAN_VALID: u32 = 1 << 4;

/// `recvmsg` without waiting, also returning the VLAN tag the kernel took
/// off the frame (from `PACKET_AUXDATA`). `Ok(None)` when nothing is queued.
pub fn recv_nonblock_aux(fd: &OwnedFd, buf: &mut [u8]) -> io::Result<Option<(usize, Option<u16>)>> {
    let mut iov = libc::iovec { iov_base: buf.as_mut_ptr().cast(), iov_len: buf.len() };
    // u64 elements keep the control buffer aligned for cmsghdr.
    let mut control = [0u64; 16];
    // SAFETY: msghdr is plain old data; all-zero means no name, no control.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.as_mut_ptr().cast();
    msg.msg_controllen = std::mem::size_of_val(&control) as _;
    // SAFETY: `msg` points at one iovec over `buf` and at `control`, both
    // alive and writable for the call; the kernel writes within their sizes.
    let n = unsafe { libc::recvmsg(fd.as_raw_fd(), &mut msg, libc::MSG_DONTWAIT | libc::MSG_TRUNC) };
    if n < 0 {
        let e = io::Error::last_os_error();
        return match e.kind() {
            io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted => Ok(None),
            _ => Err(e),
        };
    }
    let mut vlan = None;
    // SAFETY: CMSG_FIRSTHDR/NXTHDR walk the control buffer the kernel just
    // filled, bounded by `msg.msg_controllen`; each header is checked for
    // level/type/length before its payload is read (unaligned read).
    unsafe {
        let mut c = libc::CMSG_FIRSTHDR(&msg);
        while !c.is_null() {
            let h = &*c;
            if h.cmsg_level == SOL_PACKET
                && h.cmsg_type == PACKET_AUXDATA
                && h.cmsg_len as usize >= libc::CMSG_LEN(std::mem::size_of::<TpacketAuxdata>() as u32) as usize
            {
                let aux: TpacketAuxdata = std::ptr::read_unaligned(libc::CMSG_DATA(c).cast());
                if aux.tp_status & TP_STATUS_VLAN_VALID != 0 {
                    vlan = Some(aux.tp_vlan_tci);
                }
            }
            c = libc::CMSG_NXTHDR(&msg, c);
        }
    }
    Ok(Some((n as usize, vlan)))
}

/// Wait until `fd` is readable or `timeout_ms` passes (-1: forever).
/// Returns true if readable. EINTR counts as "not yet".
pub fn poll_in(fd: RawFd, timeout_ms: i32) -> io::Result<bool> {
    let mut pfd = libc::pollfd { fd, events: libc::POLLIN | libc::POLLERR, revents: 0 };
    // SAFETY: `pfd` is one live pollfd; nfds is 1.
    let n = unsafe { libc::poll(&mut pfd, 1, timeout_ms) };
    if n < 0 {
        let e = io::Error::last_os_error();
        return if e.kind() == io::ErrorKind::Interrupted { Ok(false) } else { Err(e) };
    }
    Ok(n > 0 && pfd.revents & (libc::POLLIN | libc::POLLERR) != 0)
}

/// `sendmsg` of `head` followed by `body` as one datagram on a bound socket.
pub fn send2(fd: &OwnedFd, head: &[u8], body: &[u8], flags: libc::c_int) -> io::Result<usize> {
    let mut iov = [
        libc::iovec { iov_base: head.as_ptr() as *mut libc::c_void, iov_len: head.len() },
        libc::iovec { iov_base: body.as_ptr() as *mut libc::c_void, iov_len: body.len() },
    ];
    // SAFETY: msghdr is plain old data; all-zero means no name, no control.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = iov.as_mut_ptr();
    msg.msg_iovlen = iov.len() as _;
    // SAFETY: `msg` points at two iovecs that reference `head` and `body`,
    // both alive for the call; the kernel only reads through them.
    let n = unsafe { libc::sendmsg(fd.as_raw_fd(), &msg, flags) };
    if n < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(n as usize)
    }
}

/// A shared, read-write mapping of a packet socket's ring.
#[derive(Debug)]
pub struct RingMap {
    ptr: NonNull<u8>,
    len: usize,
}

// SAFETY: the mapping is plain memory shared with the kernel; RingMap hands
// out access only through &self/&mut self methods whose users (PacketPort)
// keep the ownership protocol, so moving it to another thread is sound.
unsafe impl Send for RingMap {}

impl RingMap {
    /// `mmap(NULL, len, PROT_READ|PROT_WRITE, MAP_SHARED|MAP_LOCKED?, fd, 0)`.
    /// MAP_POPULATE is used so the first frames do not page-fault.
    pub fn map(fd: &OwnedFd, len: usize) -> io::Result<RingMap> {
        // SAFETY: asks the kernel for a fresh mapping; no existing memory is
        // touched. The result is checked against MAP_FAILED.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED | libc::MAP_POPULATE,
                fd.as_raw_fd(),
                0,
            )
        };
        if p == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        let ptr = NonNull::new(p.cast::<u8>()).ok_or_else(|| io::Error::other("mmap returned NULL"))?;
        Ok(RingMap { ptr, len })
    }

    fn status_word(&self, offset: usize) -> Option<&AtomicU32> {
        if !offset.is_multiple_of(4) || offset.checked_add(4)? > self.len {
            return None;
        }
        // SAFETY: `offset` is 4-aligned (the mapping is page-aligned) and in
        // bounds; the word is shared with the kernel, which writes it
        // concurrently, so it is only ever accessed atomically.
        Some(unsafe { AtomicU32::from_ptr(self.ptr.as_ptr().add(offset).cast::<u32>()) })
    }

    /// Read the u32 at `offset` with Acquire ordering (a block status word).
    pub fn load_status(&self, offset: usize) -> u32 {
        self.status_word(offset).map(|a| a.load(Ordering::Acquire)).unwrap_or(0)
    }

    /// Write the u32 at `offset` with Release ordering (hand a block back).
    pub fn store_status(&self, offset: usize, value: u32) {
        if let Some(a) = self.status_word(offset) {
            a.store(value, Ordering::Release);
        }
    }

    /// The bytes `offset..offset+len` of the ring, if that block belongs to
    /// user space: the status word at `offset + status_at` is read (Acquire)
    /// and must have `TP_STATUS_USER` (bit 0) set; `None` otherwise or if the
    /// range is out of bounds.
    ///
    /// The kernel does not write a user-owned block until it is handed back
    /// with [`RingMap::store_status`], so the bytes do not change while the
    /// slice lives, provided the caller hands the block back only after the
    /// slice is gone (`afpacket::RxBlock` does this in its `Drop`; frames
    /// borrow the `RxBlock`). The borrow of `self` keeps the mapping alive.
    pub fn user_block(&self, offset: usize, len: usize, status_at: usize) -> Option<&[u8]> {
        if offset.checked_add(len)? > self.len || status_at >= len {
            return None;
        }
        if self.load_status(offset + status_at) & 1 == 0 {
            return None;
        }
        // SAFETY: in bounds of a live mapping (checked above, unmapped only in
        // Drop, which needs &mut self). Per the contract above the block is
        // owned by user space, so nothing mutates it during the borrow.
        Some(unsafe { std::slice::from_raw_parts(self.ptr.as_ptr().add(offset), len) })
    }
}

impl Drop for RingMap {
    fn drop(&mut self) {
        // SAFETY: `ptr`/`len` are exactly what mmap returned; no slice into
        // the mapping can outlive `self`.
        unsafe { libc::munmap(self.ptr.as_ptr().cast(), self.len) };
    }
}

/// `if_nametoindex`; `Ok(None)` if there is no such interface.
pub fn if_nametoindex(name: &str) -> io::Result<Option<u32>> {
    let c = cstring(name)?;
    // SAFETY: `c` is a valid NUL-terminated string alive for the call.
    let idx = unsafe { libc::if_nametoindex(c.as_ptr()) };
    if idx == 0 {
        let e = io::Error::last_os_error();
        return if e.raw_os_error() == Some(libc::ENODEV) { Ok(None) } else { Err(e) };
    }
    Ok(Some(idx))
}

/// `unshare(CLONE_NEWNET)` for the calling thread.
pub fn unshare_net() -> io::Result<()> {
    // SAFETY: plain syscall; affects only the calling thread's namespace.
    cvt(unsafe { libc::unshare(libc::CLONE_NEWNET) })?;
    Ok(())
}

/// `setns(fd, CLONE_NEWNET)` for the calling thread.
pub fn setns_net(fd: &OwnedFd) -> io::Result<()> {
    // SAFETY: `fd` is a live descriptor; the kernel checks it is a netns.
    cvt(unsafe { libc::setns(fd.as_raw_fd(), libc::CLONE_NEWNET) })?;
    Ok(())
}

/// `mount(src, dst, "none", flags, NULL)`.
pub fn mount(src: &Path, dst: &Path, flags: libc::c_ulong) -> io::Result<()> {
    let (s, d, none) = (cpath(src)?, cpath(dst)?, cstring("none")?);
    // SAFETY: all strings are valid NUL-terminated and alive for the call;
    // data is NULL, which bind/propagation mounts accept.
    cvt(unsafe { libc::mount(s.as_ptr(), d.as_ptr(), none.as_ptr(), flags, std::ptr::null()) })?;
    Ok(())
}

/// `umount2(path, MNT_DETACH)`.
pub fn umount_detach(path: &Path) -> io::Result<()> {
    let p = cpath(path)?;
    // SAFETY: `p` is a valid NUL-terminated string alive for the call.
    cvt(unsafe { libc::umount2(p.as_ptr(), libc::MNT_DETACH) })?;
    Ok(())
}

/// Wait until any of `fds` is readable or `timeout_ms` passes; sets
/// `ready[i]` for each readable one. Returns how many are ready.
pub fn poll_many(fds: &[RawFd], timeout_ms: i32, ready: &mut [bool]) -> io::Result<usize> {
    let mut pfds: Vec<libc::pollfd> =
        fds.iter().map(|&fd| libc::pollfd { fd, events: libc::POLLIN | libc::POLLERR, revents: 0 }).collect();
    // SAFETY: `pfds` is a live array of `pfds.len()` pollfds.
    let n = unsafe { libc::poll(pfds.as_mut_ptr(), pfds.len() as libc::nfds_t, timeout_ms) };
    if n < 0 {
        let e = io::Error::last_os_error();
        return if e.kind() == io::ErrorKind::Interrupted { Ok(0) } else { Err(e) };
    }
    for (r, p) in ready.iter_mut().zip(&pfds) {
        *r = p.revents & (libc::POLLIN | libc::POLLERR) != 0;
    }
    Ok(n as usize)
}
