//! The hwol CNI plugin: gives a Kubernetes pod an SR-IOV VF (or, on nodes
//! without a SmartNIC, a veth) as its interface, and attaches the VF's
//! representor (or the host veth) to the running hwol switch with the pod's
//! pipeline flows, so its traffic can be offloaded.
//!
//! It is meant to be the first plugin of the seed's NetworkAttachmentDefinition
//! chain (`hwol-cni` → host-local IPAM as its delegate → portmap →
//! bandwidth), driven by a runtime or Multus, which passes the VF's PCI
//! address as `deviceID`.
//!
//! - [`spec`]: the CNI protocol (versions, environment, results); pure.
//! - [`config`]: the network config; pure.
//! - [`error`]: errors with their CNI codes.
//! - [`names`]: the Antrea-style host interface name; pure.
//! - [`device`]: VF → netdev/representor/uplink through sysfs.
//! - [`state`]: per-attachment records and locks.
//! - [`ipam`]: the IPAM delegate.
//! - [`daemon`]: the hwol daemon's pod commands over unixctl.
//! - [`plugin`]: the commands themselves.
//!
//! See `docs/cni.md` for the config fields, the flows and the error codes.

pub mod config;
pub mod daemon;
pub mod device;
pub mod error;
pub mod ipam;
pub mod names;
pub mod plugin;
pub mod spec;
pub mod state;

pub use error::{Error, Result};
