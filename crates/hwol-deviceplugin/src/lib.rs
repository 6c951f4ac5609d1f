//! hwol's SR-IOV network device plugin: pods get VFs by requesting an
//! extended resource such as `mellanox.com/cx5_sriov_switchdev`, exactly as
//! with the SR-IOV network device plugin, from the same `sriovdp-config`
//! ConfigMap.
//!
//! Layers, pure first:
//!
//! - [`config`]: config.json parsing and validation, selector matching;
//! - [`pool`]: a pool's device list, `Allocate` and preferred-allocation
//!   answers (no I/O);
//! - [`sysfs`]: PCI network functions found under a sysfs root;
//! - [`plugin`]: the kubelet device plugin API v1beta1 ([`api`]) served on a
//!   unix socket, and registration with kubelet;
//! - [`manager`]: the polling loop tying them together, reloads and kubelet
//!   restarts;
//! - [`testing`]: a kubelet emulator and realistic sysfs fixtures, for tests.
//!
//! What it does not do: the VF's network setup (the CNI plugin does that),
//! device types other than `netDevice`, and CDI.

pub mod api;
pub mod config;
pub mod manager;
pub mod plugin;
pub mod pool;
pub mod sysfs;
pub mod testing;

use std::path::PathBuf;

/// Errors of the device plugin.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// config.json cannot be read.
    #[error("cannot read {}: {error}; mount the sriovdp-config ConfigMap there (or pass --config)", path.display())]
    ConfigRead {
        /// The file.
        path: PathBuf,
        /// The OS error.
        error: std::io::Error,
    },
    /// config.json is invalid.
    #[error("{}: {error}; fix the config.json key of the sriovdp-config ConfigMap", path.display())]
    Config {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        error: config::ConfigError,
    },
    /// A socket could not be created.
    #[error("{}: {error}; is the device-plugins dir mounted and writable?", path.display())]
    Socket {
        /// The path.
        path: PathBuf,
        /// The OS error.
        error: std::io::Error,
    },
    /// kubelet refused or did not answer the registration.
    #[error("registering {resource} with kubelet at {}: {reason}; is kubelet running with this device-plugins dir?", socket.display())]
    Register {
        /// kubelet.sock.
        socket: PathBuf,
        /// The resource.
        resource: String,
        /// kubelet's answer or the connection error.
        reason: String,
    },
}
