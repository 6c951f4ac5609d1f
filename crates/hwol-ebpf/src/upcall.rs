//! Reading the tc fast path's misses from the upcall device.
//!
//! In tc mode a miss leaves the upcall device (`upa`, the end named to
//! [`crate::TcProvider::set_upcall`]) with an outer 802.1ad tag whose VID is
//! the ingress datapath port, and arrives at its veth peer (`upb`). The
//! receiving kernel moves that tag from the frame into packet metadata, so
//! a plain AF_PACKET read shows the original frame and loses the port;
//! [`UpcallSocket`] asks for the metadata (`PACKET_AUXDATA`) and returns
//! the port next to the untouched original frame.

use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use crate::layout::UPCALL_TPID;
use crate::{sys, Error};

/// One miss: the datapath port it entered on and the frame's length in the
/// caller's buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Upcall {
    /// Datapath port the packet arrived on.
    pub port: u32,
    /// Length of the original frame now at the start of the buffer.
    pub len: usize,
}

/// A non-blocking reader of misses on the daemon's end of the upcall pair.
#[derive(Debug)]
pub struct UpcallSocket {
    fd: OwnedFd,
}

impl UpcallSocket {
    /// Open on `ifname` (the peer of the upcall device), in the calling
    /// thread's network namespace. Needs `CAP_NET_RAW`.
    pub fn open(ifname: &str) -> Result<UpcallSocket, Error> {
        let ifindex = nix::net::if_::if_nametoindex(ifname)
            .map_err(|e| Error::NoSuchInterface { ifname: ifname.into(), source: e })?;
        let fd = sys::packet_socket(ifindex)
            .map_err(|source| Error::Io { what: format!("opening an AF_PACKET socket on {ifname}"), source })?;
        Ok(UpcallSocket { fd })
    }

    /// The next miss, copied into `buf`. `Ok(None)` for a frame that is not
    /// an upcall (no 802.1ad tag from the fast path; ignore it);
    /// `Err(WouldBlock)` when nothing is queued (poll [`AsFd::as_fd`]).
    pub fn recv(&self, buf: &mut [u8]) -> io::Result<Option<Upcall>> {
        let r = sys::recv_with_vlan(&self.fd, buf)?;
        Ok(match r.vlan {
            Some((tpid, tci)) if tpid == UPCALL_TPID && !r.outgoing => {
                Some(Upcall { port: u32::from(tci & 0x0fff), len: r.len.min(buf.len()) })
            }
            _ => None,
        })
    }
}

impl AsFd for UpcallSocket {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}
