//! The one error type of this crate.

use std::io;

/// What went wrong while setting up an emulated NIC or doing port I/O.
///
/// Every message names the interface or namespace involved and, where there
/// is one, the likely cause and what to do about it.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An interface name that the kernel would refuse.
    #[error("interface name {name:?} is invalid: {reason}")]
    InvalidName {
        /// The offending name.
        name: String,
        /// Why it is invalid.
        reason: String,
    },
    /// An argument outside its range (VF index, MTU, prefix length, ...).
    #[error("{0}")]
    InvalidArgument(String),
    /// The name is taken by an interface that hwol did not create.
    #[error(
        "interface {name:?} already exists and was not created by hwol (no hwol alias); \
         pick another prefix or remove it yourself with `ip link del {name}`"
    )]
    NameTaken {
        /// The interface name.
        name: String,
    },
    /// Interfaces of an earlier emulated NIC with this prefix are still there.
    #[error(
        "an emulated NIC with prefix {prefix:?} already exists ({what}); \
         reuse it with EmulatedNic::open or remove it with `hwol nic emulate destroy --prefix {prefix}`"
    )]
    AlreadyExists {
        /// The prefix.
        prefix: String,
        /// What was found.
        what: String,
    },
    /// No emulated NIC with this prefix exists.
    #[error(
        "no emulated NIC with prefix {prefix:?} found; create one with `hwol nic emulate create --prefix {prefix}`"
    )]
    NotFound {
        /// The prefix.
        prefix: String,
    },
    /// A VF index that the emulated NIC does not have.
    #[error("VF {index} does not exist on emulated NIC {prefix:?} (it has {count} VFs)")]
    NoSuchVf {
        /// The prefix.
        prefix: String,
        /// The requested index.
        index: u32,
        /// How many VFs there are.
        count: u32,
    },
    /// The VF is attached to a pod already (or not attached, for detach).
    #[error("VF {index} of {prefix:?} {state}")]
    VfState {
        /// The prefix.
        prefix: String,
        /// The VF index.
        index: u32,
        /// What state it is in, as a phrase.
        state: String,
    },
    /// An interface that should exist does not.
    #[error("interface {name:?} not found{context}")]
    NoSuchInterface {
        /// The interface name (or `#ifindex`).
        name: String,
        /// Where it was looked for, e.g. " in netns pod1".
        context: String,
    },
    /// A netlink request failed.
    #[error("{op} failed: {source}{hint}")]
    Netlink {
        /// What was being done, naming the interface, e.g. `create veth pair hwvf0/hwr0`.
        op: String,
        /// The kernel's error.
        source: io::Error,
        /// A hint on the likely cause, starting with "; " or empty.
        hint: String,
    },
    /// A netlink reply could not be understood.
    #[error("{op} failed: {detail}")]
    NetlinkProtocol {
        /// What was being done.
        op: String,
        /// The decoding problem.
        detail: String,
    },
    /// A network namespace operation failed.
    #[error("network namespace {netns}: {op} failed: {source}{hint}")]
    Netns {
        /// The namespace name or path.
        netns: String,
        /// What was being done.
        op: String,
        /// The OS error.
        source: io::Error,
        /// A hint, starting with "; " or empty.
        hint: String,
    },
    /// A packet socket operation failed.
    #[error("AF_PACKET port on {ifname}: {op} failed: {source}{hint}")]
    Socket {
        /// The interface the port is on.
        ifname: String,
        /// The operation (`socket`, `PACKET_RX_RING`, `mmap`, ...).
        op: String,
        /// The OS error.
        source: io::Error,
        /// A hint, starting with "; " or empty.
        hint: String,
    },
    /// The async runtime used for netlink could not be started.
    #[error("starting the netlink runtime failed: {0}")]
    Runtime(io::Error),
}

/// This crate's result type.
pub type Result<T> = std::result::Result<T, Error>;

/// A hint for a raw OS error code that usually means missing privileges.
pub(crate) fn privilege_hint(e: &io::Error) -> &'static str {
    match e.raw_os_error() {
        Some(libc::EPERM) | Some(libc::EACCES) => "; this needs root (CAP_NET_ADMIN, CAP_NET_RAW, CAP_SYS_ADMIN)",
        _ => "",
    }
}
