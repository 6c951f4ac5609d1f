//! The only module with `unsafe`: an AF_PACKET socket that reports the
//! VLAN tag the kernel moved to packet metadata (`PACKET_AUXDATA`), and a
//! synchronous detach of a pinned bpf_link (`BPF_OBJ_GET` +
//! `BPF_LINK_DETACH`). Neither nix nor aya 0.14 has a safe wrapper for them.

#![allow(unsafe_code)]

use std::io;
use std::mem::{size_of, size_of_val, zeroed};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

/// `PACKET_AUXDATA` (linux/if_packet.h).
const PACKET_AUXDATA: libc::c_int = 8;
/// `PACKET_OUTGOING` (linux/if_packet.h).
const PACKET_OUTGOING: u8 = 4;
/// `TP_STATUS_VLAN_VALID`.
const TP_STATUS_VLAN_VALID: u32 = 1 << 4;
/// `TP_STATUS_VLAN_TPID_VALID`.
const TP_STATUS_VLAN_TPID_VALID: u32 = 1 << 6;

/// `struct tpacket_auxdata` (linux/if_packet.h).
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

fn check(r: libc::c_int) -> io::Result<libc::c_int> {
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

/// A non-blocking `AF_PACKET` socket bound to `ifindex`, with `PACKET_AUXDATA` on.
pub(crate) fn packet_socket(ifindex: u32) -> io::Result<OwnedFd> {
    let proto = (libc::ETH_P_ALL as u16).to_be();
    // SAFETY: a plain syscall with constant arguments; the result is checked.
    let fd = check(unsafe {
        libc::socket(libc::AF_PACKET, libc::SOCK_RAW | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC, proto.into())
    })?;
    // SAFETY: `fd` is a descriptor we just created and nobody else owns.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    // SAFETY: sockaddr_ll is plain old data; all-zero is a valid value.
    let mut sll: libc::sockaddr_ll = unsafe { zeroed() };
    sll.sll_family = libc::AF_PACKET as u16;
    sll.sll_protocol = proto;
    sll.sll_ifindex = i32::try_from(ifindex).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    // SAFETY: the pointer and length describe `sll`, a valid sockaddr_ll.
    check(unsafe {
        libc::bind(
            fd.as_raw_fd(),
            (&sll as *const libc::sockaddr_ll).cast(),
            size_of::<libc::sockaddr_ll>() as libc::socklen_t,
        )
    })?;
    let one: libc::c_int = 1;
    // SAFETY: the option value points to a c_int of the length given.
    check(unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            libc::SOL_PACKET,
            PACKET_AUXDATA,
            (&one as *const libc::c_int).cast(),
            size_of::<libc::c_int>() as libc::socklen_t,
        )
    })?;
    Ok(fd)
}

/// One frame read by [`recv_with_vlan`].
pub(crate) struct Received {
    /// Bytes written to the buffer.
    pub len: usize,
    /// The tag the kernel took out of the frame: (TPID, TCI).
    pub vlan: Option<(u16, u16)>,
    /// The frame was sent by this host (not received).
    pub outgoing: bool,
}

/// Read one frame (non-blocking: `WouldBlock` when there is none).
pub(crate) fn recv_with_vlan(fd: &OwnedFd, buf: &mut [u8]) -> io::Result<Received> {
    let mut iov = libc::iovec { iov_base: buf.as_mut_ptr().cast(), iov_len: buf.len() };
    // u64 elements keep the control buffer aligned for cmsghdr.
    let mut control = [0u64; 16];
    // SAFETY: plain old data; all-zero is a valid value.
    let mut sll: libc::sockaddr_ll = unsafe { zeroed() };
    // SAFETY: plain old data; all-zero is a valid value.
    let mut msg: libc::msghdr = unsafe { zeroed() };
    msg.msg_name = (&mut sll as *mut libc::sockaddr_ll).cast();
    msg.msg_namelen = size_of::<libc::sockaddr_ll>() as libc::socklen_t;
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.as_mut_ptr().cast();
    msg.msg_controllen = size_of_val(&control);
    // SAFETY: every pointer in `msg` refers to a live buffer of the size recorded next to it.
    let n = unsafe { libc::recvmsg(fd.as_raw_fd(), &mut msg, 0) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    let mut vlan = None;
    // SAFETY: `msg` was filled by recvmsg; CMSG_FIRSTHDR/NXTHDR stay within msg_control.
    let mut cmsg = unsafe { libc::CMSG_FIRSTHDR(&msg) };
    while !cmsg.is_null() {
        // SAFETY: non-null and inside the control buffer (checked by CMSG_*).
        let hdr = unsafe { &*cmsg };
        if hdr.cmsg_level == libc::SOL_PACKET && hdr.cmsg_type == PACKET_AUXDATA {
            // SAFETY: the kernel put a tpacket_auxdata here; read_unaligned copes with any alignment.
            let aux: TpacketAuxdata = unsafe { std::ptr::read_unaligned(libc::CMSG_DATA(cmsg).cast()) };
            if aux.tp_status & TP_STATUS_VLAN_VALID != 0 {
                let tpid = if aux.tp_status & TP_STATUS_VLAN_TPID_VALID != 0 { aux.tp_vlan_tpid } else { 0x8100 };
                vlan = Some((tpid, aux.tp_vlan_tci));
            }
        }
        // SAFETY: as above.
        cmsg = unsafe { libc::CMSG_NXTHDR(&msg, cmsg) };
    }
    Ok(Received { len: n as usize, vlan, outgoing: sll.sll_pkttype == PACKET_OUTGOING })
}

/// `BPF_OBJ_GET`.
const BPF_OBJ_GET: libc::c_long = 7;
/// `BPF_LINK_DETACH`.
const BPF_LINK_DETACH: libc::c_long = 34;

/// The `obj_get` member of `union bpf_attr`.
#[repr(C)]
struct ObjGetAttr {
    pathname: u64,
    bpf_fd: u32,
    file_flags: u32,
}

/// Detach the bpf_link pinned at `path` now (`BPF_LINK_DETACH`), instead of
/// when its last reference goes, which the kernel does from a workqueue.
/// The pin itself stays; the caller removes it.
pub(crate) fn detach_pinned_link(path: &std::path::Path) -> io::Result<()> {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(path.as_os_str().as_bytes())
        .map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    let attr = ObjGetAttr { pathname: c.as_ptr() as u64, bpf_fd: 0, file_flags: 0 };
    // SAFETY: `attr` is a valid obj_get attribute whose pathname points to a
    // NUL-terminated string that outlives the call; the size is its own.
    let fd = unsafe { libc::syscall(libc::SYS_bpf, BPF_OBJ_GET, &attr as *const ObjGetAttr, size_of::<ObjGetAttr>()) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    let fd = libc::c_int::try_from(fd).map_err(|_| io::Error::from(io::ErrorKind::InvalidData))?;
    // SAFETY: the kernel just gave us this descriptor; we own it.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    let link_fd: u32 = fd.as_raw_fd() as u32;
    // SAFETY: the link_detach attribute is one u32 (the link fd); the size is its own.
    let r = unsafe { libc::syscall(libc::SYS_bpf, BPF_LINK_DETACH, &link_fd as *const u32, size_of::<u32>()) };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}
