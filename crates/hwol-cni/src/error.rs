//! The plugin's one error type, with the CNI error code of each variant.
//!
//! Codes 1-11 and 50 are the CNI specification's; 100 and up are this
//! plugin's own (documented in `docs/cni.md`). Every message says what to
//! fix: the config field, the environment variable, the device, the daemon.

use serde_json::{json, Value};

/// What went wrong, with the CNI error code it is reported under.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum Error {
    /// Code 1: the config's `cniVersion` is not one this plugin speaks, or
    /// the command does not exist in that version.
    #[error("{0}")]
    IncompatibleVersion(String),
    /// Code 2: a config field has a value this plugin does not support.
    #[error("{0}")]
    UnsupportedField(String),
    /// Code 3: the container (its network namespace) does not exist.
    #[error("{0}")]
    UnknownContainer(String),
    /// Code 4: a `CNI_*` environment variable is missing or invalid.
    #[error("{0}")]
    InvalidEnv(String),
    /// Code 5: an I/O failure (state directory, sysfs).
    #[error("{0}")]
    Io(String),
    /// Code 6: stdin (or a delegate's output) is not valid JSON of the expected shape.
    #[error("{0}")]
    Decode(String),
    /// Code 7: the network configuration is invalid.
    #[error("{0}")]
    InvalidConfig(String),
    /// Code 11: transient; the runtime should retry (the daemon is not running).
    #[error("{0}")]
    TryAgainLater(String),
    /// Code 50 (STATUS): the plugin cannot serve ADDs now.
    #[error("{0}")]
    NotAvailable(String),
    /// Code 100: `deviceID` does not name a VF with a network interface.
    #[error("{0}")]
    UnknownDevice(String),
    /// Code 101: the VF has no representor: its PF is not in switchdev mode.
    #[error("{0}")]
    NotSwitchdev(String),
    /// Code 102: the VF is already in use by another container.
    #[error("{0}")]
    DeviceBusy(String),
    /// Code 103: a netlink step (move, rename, address, route) failed.
    #[error("{0}")]
    Netlink(String),
    /// Code 104: the IPAM delegate failed or returned an unusable result.
    #[error("{0}")]
    Ipam(String),
    /// Code 105: the hwol daemon refused a request.
    #[error("{0}")]
    Daemon(String),
    /// Code 106: CHECK found the attachment not as ADD left it.
    #[error("{0}")]
    CheckFailed(String),
    /// Code 107: a failure injected on purpose (`debugFailAfter`, tests only).
    #[error("{0}")]
    Injected(String),
}

impl Error {
    /// The CNI error code.
    pub fn code(&self) -> u32 {
        match self {
            Error::IncompatibleVersion(_) => 1,
            Error::UnsupportedField(_) => 2,
            Error::UnknownContainer(_) => 3,
            Error::InvalidEnv(_) => 4,
            Error::Io(_) => 5,
            Error::Decode(_) => 6,
            Error::InvalidConfig(_) => 7,
            Error::TryAgainLater(_) => 11,
            Error::NotAvailable(_) => 50,
            Error::UnknownDevice(_) => 100,
            Error::NotSwitchdev(_) => 101,
            Error::DeviceBusy(_) => 102,
            Error::Netlink(_) => 103,
            Error::Ipam(_) => 104,
            Error::Daemon(_) => 105,
            Error::CheckFailed(_) => 106,
            Error::Injected(_) => 107,
        }
    }

    /// The short `msg` of the error JSON.
    pub fn msg(&self) -> &'static str {
        match self {
            Error::IncompatibleVersion(_) => "incompatible CNI version",
            Error::UnsupportedField(_) => "unsupported field in network configuration",
            Error::UnknownContainer(_) => "container unknown or does not exist",
            Error::InvalidEnv(_) => "invalid necessary environment variables",
            Error::Io(_) => "I/O failure",
            Error::Decode(_) => "failed to decode content",
            Error::InvalidConfig(_) => "invalid network config",
            Error::TryAgainLater(_) => "try again later",
            Error::NotAvailable(_) => "plugin not available",
            Error::UnknownDevice(_) => "unknown deviceID",
            Error::NotSwitchdev(_) => "VF not in switchdev mode",
            Error::DeviceBusy(_) => "device in use",
            Error::Netlink(_) => "interface configuration failed",
            Error::Ipam(_) => "IPAM failed",
            Error::Daemon(_) => "hwol daemon refused the request",
            Error::CheckFailed(_) => "check failed",
            Error::Injected(_) => "injected failure",
        }
    }

    /// The same error with `more` appended to its message.
    pub fn append(self, more: &str) -> Error {
        use Error::*;
        let f = |m: String| format!("{m}; {more}");
        match self {
            IncompatibleVersion(m) => IncompatibleVersion(f(m)),
            UnsupportedField(m) => UnsupportedField(f(m)),
            UnknownContainer(m) => UnknownContainer(f(m)),
            InvalidEnv(m) => InvalidEnv(f(m)),
            Io(m) => Io(f(m)),
            Decode(m) => Decode(f(m)),
            InvalidConfig(m) => InvalidConfig(f(m)),
            TryAgainLater(m) => TryAgainLater(f(m)),
            NotAvailable(m) => NotAvailable(f(m)),
            UnknownDevice(m) => UnknownDevice(f(m)),
            NotSwitchdev(m) => NotSwitchdev(f(m)),
            DeviceBusy(m) => DeviceBusy(f(m)),
            Netlink(m) => Netlink(f(m)),
            Ipam(m) => Ipam(f(m)),
            Daemon(m) => Daemon(f(m)),
            CheckFailed(m) => CheckFailed(f(m)),
            Injected(m) => Injected(f(m)),
        }
    }

    /// The CNI error JSON: `{"cniVersion", "code", "msg", "details"}`.
    pub fn to_json(&self, cni_version: &str) -> Value {
        json!({"cniVersion": cni_version, "code": self.code(), "msg": self.msg(), "details": self.to_string()})
    }
}

impl From<hwol_netdev::Error> for Error {
    fn from(e: hwol_netdev::Error) -> Error {
        Error::Netlink(e.to_string())
    }
}

/// This crate's result type.
pub type Result<T> = std::result::Result<T, Error>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_follow_the_spec() {
        assert_eq!(Error::IncompatibleVersion(String::new()).code(), 1);
        assert_eq!(Error::InvalidEnv(String::new()).code(), 4);
        assert_eq!(Error::Decode(String::new()).code(), 6);
        assert_eq!(Error::InvalidConfig(String::new()).code(), 7);
        assert_eq!(Error::TryAgainLater(String::new()).code(), 11);
        assert!(Error::NotSwitchdev(String::new()).code() >= 100);
        let e = Error::Ipam("no addresses".into()).append("rolling back also failed");
        assert_eq!(e, Error::Ipam("no addresses; rolling back also failed".into()));
    }

    #[test]
    fn error_json_has_the_spec_keys() {
        let e = Error::TryAgainLater("hwol-vswitchd is not running: start it".into());
        let j = e.to_json("1.0.0");
        assert_eq!(
            j,
            json!({"cniVersion": "1.0.0", "code": 11, "msg": "try again later",
                   "details": "hwol-vswitchd is not running: start it"})
        );
    }
}
