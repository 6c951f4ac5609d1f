//! How the provider talks to the kernel: one request, its replies. The
//! real implementation is [`crate::sys::NlSocket`]; tests use
//! [`crate::fake::FakeKernel`], which checks every message it is sent.

use std::fmt;

/// A request the kernel refused, or a socket failure.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum NlError {
    /// The kernel answered with `NLMSG_ERROR` (a positive errno here).
    #[error("{}", Errno(*.errno, .extack.as_deref()))]
    Kernel {
        /// The errno (`libc::EOPNOTSUPP`...).
        errno: i32,
        /// The kernel's extended-ack message, when it sent one.
        extack: Option<String>,
    },
    /// The socket failed, or the kernel's answer could not be read.
    #[error("netlink: {0}")]
    Io(String),
}

struct Errno<'a>(i32, Option<&'a str>);

impl fmt::Display for Errno<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = std::io::Error::from_raw_os_error(self.0);
        match self.1 {
            Some(m) => write!(f, "{text} ({m})"),
            None => write!(f, "{text}"),
        }
    }
}

impl NlError {
    /// The errno, if the kernel refused.
    pub fn errno(&self) -> Option<i32> {
        match self {
            NlError::Kernel { errno, .. } => Some(*errno),
            NlError::Io(_) => None,
        }
    }
}

/// A netlink channel to one kernel subsystem (rtnetlink, ctnetlink).
///
/// `request` sends one message (the transport sets `nlmsg_seq` and
/// `nlmsg_pid`) and returns the messages the kernel answered with, up to
/// and without the final ACK or `NLMSG_DONE`; a refusal is
/// [`NlError::Kernel`]. Blocking; called from the offload thread only.
pub trait Transport: Send {
    /// Send `msg` and collect the replies.
    fn request(&mut self, msg: &[u8]) -> Result<Vec<Vec<u8>>, NlError>;

    /// The ifindex of a device, in the transport's network namespace.
    fn ifindex(&mut self, ifname: &str) -> Result<i32, NlError>;
}
