//! The one error type of this crate.
//!
//! Every message says what is wrong and what to check, so that the CLI can
//! print it as is.

use std::path::PathBuf;

/// What went wrong while discovering or provisioning an SR-IOV NIC.
#[derive(Debug, thiserror::Error)]
pub enum NicError {
    /// A sysfs file or link that must exist does not.
    #[error("{what}: {path} is missing; {hint}")]
    Missing {
        /// What was being looked for, e.g. "PCI 0000:03:00.2 has no physfn link".
        what: String,
        /// The path that was looked at.
        path: PathBuf,
        /// What to check.
        hint: String,
    },
    /// A sysfs file exists but its content makes no sense.
    #[error("{path}: unexpected content {content:?}: {hint}")]
    Malformed {
        /// The file.
        path: PathBuf,
        /// What it held.
        content: String,
        /// What was expected.
        hint: String,
    },
    /// The thing asked for was searched and not found.
    #[error("{0}")]
    NotFound(String),
    /// A request that cannot be fulfilled (too many VFs, bad name, ...).
    #[error("{0}")]
    Invalid(String),
    /// An I/O error on a sysfs file.
    #[error("{op} {path}: {source}{}", hint.as_deref().map(|h| format!(" ({h})")).unwrap_or_default())]
    Io {
        /// What was being done ("reading", "writing 4 to").
        op: String,
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
        /// The likely cause, if known.
        hint: Option<String>,
    },
    /// A netlink request failed.
    #[error("netlink {family} {op}: {message}")]
    Netlink {
        /// The family ("devlink", "ethtool", "rtnetlink", "nlctrl").
        family: &'static str,
        /// The request ("set eswitch mode switchdev on pci/0000:03:00.0").
        op: String,
        /// The kernel's error, with its extended ack message if any.
        message: String,
        /// The errno (positive), 0 if not an errno.
        errno: i32,
    },
    /// A provisioning step failed; `source` is the underlying error.
    #[error("step {step:?} failed: {source}{}", cause.as_deref().map(|c| format!("; likely cause: {c}")).unwrap_or_default())]
    Step {
        /// The step's title.
        step: String,
        /// The likely cause, in words.
        cause: Option<String>,
        /// The underlying error.
        #[source]
        source: Box<NicError>,
    },
    /// Waiting for something (representors) ran out of time.
    #[error("{0}")]
    Timeout(String),
}

impl NicError {
    /// The errno of a netlink or I/O error, if it is one.
    pub fn errno(&self) -> Option<i32> {
        match self {
            NicError::Netlink { errno, .. } if *errno != 0 => Some(*errno),
            NicError::Io { source, .. } => source.raw_os_error(),
            NicError::Step { source, .. } => source.errno(),
            _ => None,
        }
    }
}
