//! A blocking netlink socket: send one request, collect the replies up to the
//! ack or `NLMSG_DONE`, turn `NLMSG_ERROR` into an errno plus the kernel's
//! extended-ack text. Messages are built and parsed by [`crate::genl`].

use netlink_sys::{protocols, Socket, SocketAddr};

use crate::genl::{self, NLMSG_DONE, NLMSG_ERROR};

/// A netlink request that failed: errno (positive) and extended-ack text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NlFailure {
    /// The errno (positive); 0 when the socket itself failed without one.
    pub errno: i32,
    /// The kernel's extended-ack message, or the OS error text.
    pub message: String,
}

impl NlFailure {
    fn io(e: std::io::Error) -> Self {
        NlFailure { errno: e.raw_os_error().unwrap_or(0), message: e.to_string() }
    }
}

/// A connected netlink socket of one protocol.
pub struct NlSocket {
    sock: Socket,
    seq: u32,
}

impl std::fmt::Debug for NlSocket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NlSocket").field("seq", &self.seq).finish()
    }
}

impl NlSocket {
    /// A generic-netlink socket.
    pub fn generic() -> Result<Self, NlFailure> {
        Self::new(protocols::NETLINK_GENERIC)
    }

    /// An rtnetlink socket.
    pub fn route() -> Result<Self, NlFailure> {
        Self::new(protocols::NETLINK_ROUTE)
    }

    fn new(protocol: isize) -> Result<Self, NlFailure> {
        let mut sock = Socket::new(protocol).map_err(NlFailure::io)?;
        sock.bind_auto().map_err(NlFailure::io)?;
        sock.connect(&SocketAddr::new(0, 0)).map_err(NlFailure::io)?;
        // Extended acks carry the driver's reason ("switchdev not supported", ...).
        let _ = sock.set_ext_ack(true);
        Ok(NlSocket { sock, seq: 1 })
    }

    /// The next sequence number to put in a request.
    pub fn next_seq(&mut self) -> u32 {
        self.seq = self.seq.wrapping_add(1);
        self.seq
    }

    /// Send `msg` (built with [`genl::MsgBuilder`], with `NLM_F_ACK` or
    /// `NLM_F_DUMP`) and return the payloads of the replies.
    pub fn request(&mut self, msg: &[u8]) -> Result<Vec<Vec<u8>>, NlFailure> {
        let seq = genl::messages(msg).first().map(|m| m.seq).unwrap_or(0);
        self.sock.send(msg, 0).map_err(NlFailure::io)?;
        let mut replies = Vec::new();
        loop {
            let (buf, _) = self.sock.recv_from_full().map_err(NlFailure::io)?;
            for m in genl::messages(&buf) {
                if m.seq != seq {
                    continue;
                }
                match m.ty {
                    NLMSG_DONE => return Ok(replies),
                    NLMSG_ERROR => {
                        let (errno, text) = genl::parse_error(&m);
                        if errno == 0 {
                            return Ok(replies);
                        }
                        let message = text.unwrap_or_else(|| std::io::Error::from_raw_os_error(errno).to_string());
                        return Err(NlFailure { errno, message });
                    }
                    _ => replies.push(m.payload.to_vec()),
                }
            }
        }
    }

    /// The id of a generic-netlink family (`devlink`, `ethtool`); `None` if
    /// the kernel does not have it (module not loaded, or not built).
    pub fn family_id(&mut self, name: &str) -> Result<Option<u16>, NlFailure> {
        let seq = self.next_seq();
        match self.request(&genl::get_family(name, seq)) {
            Ok(replies) => Ok(replies.iter().find_map(|p| {
                let a = genl::attrs(p.get(4..)?);
                genl::find(&a, genl::CTRL_ATTR_FAMILY_ID)?.uint().map(|v| v as u16)
            })),
            Err(e) if e.errno == libc_enoent() => Ok(None),
            Err(e) => Err(e),
        }
    }
}

fn libc_enoent() -> i32 {
    2
}
