//! The OS edge: a netlink socket ([`NlSocket`], the real [`Transport`]),
//! `if_nametoindex` and `CLOCK_MONOTONIC`. The only module with `unsafe`.

#![allow(unsafe_code)]

use std::ffi::CString;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::time::Duration;

use crate::nla::{align4, parse_nlas};
use crate::transport::{NlError, Transport};
use crate::uapi::*;

/// A netlink socket bound to one protocol (`NETLINK_ROUTE` for tc,
/// `NETLINK_NETFILTER` for ctnetlink), with extended acks on.
#[derive(Debug)]
pub struct NlSocket {
    fd: OwnedFd,
    seq: u32,
    buf: Vec<u8>,
}

fn last_os_error(what: &str) -> NlError {
    NlError::Io(format!("{what}: {}", std::io::Error::last_os_error()))
}

impl NlSocket {
    /// Open and bind a socket for `protocol`, in the calling thread's
    /// network namespace.
    pub fn open(protocol: i32) -> Result<Self, NlError> {
        // SAFETY: plain socket(2) call; the result is checked before use.
        let fd = unsafe { libc::socket(libc::AF_NETLINK, libc::SOCK_RAW | libc::SOCK_CLOEXEC, protocol) };
        if fd < 0 {
            return Err(last_os_error("socket(AF_NETLINK)"));
        }
        // SAFETY: fd is a fresh descriptor we own.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        let one: libc::c_int = 1;
        // SAFETY: the option value points to a live c_int of the size passed.
        let rc = unsafe {
            libc::setsockopt(
                fd.as_raw_fd(),
                libc::SOL_NETLINK,
                NETLINK_EXT_ACK,
                (&one as *const libc::c_int).cast(),
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            )
        };
        if rc < 0 {
            return Err(last_os_error("setsockopt(NETLINK_EXT_ACK)"));
        }
        let tv = libc::timeval { tv_sec: 5, tv_usec: 0 };
        // SAFETY: the option value points to a live timeval of the size passed.
        let rc = unsafe {
            libc::setsockopt(
                fd.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_RCVTIMEO,
                (&tv as *const libc::timeval).cast(),
                std::mem::size_of::<libc::timeval>() as libc::socklen_t,
            )
        };
        if rc < 0 {
            return Err(last_os_error("setsockopt(SO_RCVTIMEO)"));
        }
        // SAFETY: sockaddr_nl is plain data; all-zero is a valid value (pid 0: the kernel picks).
        let mut addr: libc::sockaddr_nl = unsafe { std::mem::zeroed() };
        addr.nl_family = libc::AF_NETLINK as libc::sa_family_t;
        // SAFETY: addr is a valid sockaddr_nl and its size is passed.
        let rc = unsafe {
            libc::bind(
                fd.as_raw_fd(),
                (&addr as *const libc::sockaddr_nl).cast(),
                std::mem::size_of::<libc::sockaddr_nl>() as libc::socklen_t,
            )
        };
        if rc < 0 {
            return Err(last_os_error("bind(AF_NETLINK)"));
        }
        Ok(NlSocket { fd, seq: 1, buf: vec![0; 1 << 18] })
    }

    fn recv(&mut self) -> Result<usize, NlError> {
        // SAFETY: buf is a live, writable buffer of the length passed.
        let n = unsafe { libc::recv(self.fd.as_raw_fd(), self.buf.as_mut_ptr().cast(), self.buf.len(), 0) };
        if n < 0 {
            return Err(last_os_error("recv(netlink)"));
        }
        Ok(n as usize)
    }
}

/// Decode the `NLMSG_ERROR` payload at `m` (a whole message): errno and
/// the extack text.
fn nlmsgerr(m: &[u8]) -> (i32, Option<String>) {
    let field = |o: usize| m.get(o..o + 4).map(|b| i32::from_ne_bytes([b[0], b[1], b[2], b[3]])).unwrap_or(0);
    let errno = -field(16);
    let flags = u16::from_ne_bytes([m[6], m[7]]);
    let mut extack = None;
    if flags & NLM_F_ACK_TLVS != 0 {
        let orig_len = if flags & NLM_F_CAPPED != 0 { 16 } else { field(20).max(16) as usize };
        let off = 20 + align4(orig_len);
        if let Some(tlvs) = m.get(off..) {
            if let Ok(nlas) = parse_nlas(tlvs) {
                extack = nlas.iter().find(|n| n.ty() == NLMSGERR_ATTR_MSG).map(|n| {
                    let end = n.value.iter().position(|c| *c == 0).unwrap_or(n.value.len());
                    String::from_utf8_lossy(&n.value[..end]).into_owned()
                });
            }
        }
    }
    (errno, extack)
}

impl Transport for NlSocket {
    fn request(&mut self, msg: &[u8]) -> Result<Vec<Vec<u8>>, NlError> {
        if msg.len() < 16 {
            return Err(NlError::Io("request shorter than a netlink header".into()));
        }
        self.seq = self.seq.wrapping_add(1);
        let seq = self.seq;
        let mut req = msg.to_vec();
        req[8..12].copy_from_slice(&seq.to_ne_bytes());
        req[12..16].copy_from_slice(&0u32.to_ne_bytes());
        let flags = u16::from_ne_bytes([req[6], req[7]]);
        let dump = flags & NLM_F_DUMP == NLM_F_DUMP;
        let ack = flags & NLM_F_ACK != 0;
        // SAFETY: req is a live buffer of the length passed.
        let n = unsafe { libc::send(self.fd.as_raw_fd(), req.as_ptr().cast(), req.len(), 0) };
        if n < 0 {
            return Err(last_os_error("send(netlink)"));
        }
        let mut replies = Vec::new();
        loop {
            let n = self.recv()?;
            let msgs = crate::tc::split_messages(&self.buf[..n]).map_err(|e| NlError::Io(e.to_string()))?;
            for (ty, m) in msgs {
                let mseq = u32::from_ne_bytes([m[8], m[9], m[10], m[11]]);
                if mseq != seq {
                    continue; // a stale answer to an earlier, timed-out request
                }
                match ty {
                    NLMSG_ERROR => {
                        let (errno, extack) = nlmsgerr(m);
                        if errno != 0 {
                            return Err(NlError::Kernel { errno, extack });
                        }
                        return Ok(replies);
                    }
                    NLMSG_DONE => {
                        let (errno, extack) = nlmsgerr(m);
                        if errno > 0 && m.len() >= 20 {
                            return Err(NlError::Kernel { errno, extack });
                        }
                        return Ok(replies);
                    }
                    _ => {
                        replies.push(m.to_vec());
                        // A plain get is answered by one message and nothing
                        // after it (ctnetlink marks even that one NLM_F_MULTI).
                        if !dump && !ack {
                            return Ok(replies);
                        }
                    }
                }
            }
        }
    }

    fn ifindex(&mut self, ifname: &str) -> Result<i32, NlError> {
        if_nametoindex(ifname).ok_or_else(|| NlError::Io(format!("no interface {ifname:?} in this network namespace")))
    }
}

/// `if_nametoindex(3)`.
pub fn if_nametoindex(name: &str) -> Option<i32> {
    let c = CString::new(name).ok()?;
    // SAFETY: c is a valid NUL-terminated string for the duration of the call.
    let i = unsafe { libc::if_nametoindex(c.as_ptr()) };
    if i == 0 {
        None
    } else {
        i32::try_from(i).ok()
    }
}

/// `CLOCK_MONOTONIC` now, the daemon's clock for "last used".
pub fn monotonic_now() -> Duration {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: ts is a live timespec; CLOCK_MONOTONIC always exists on Linux.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}
