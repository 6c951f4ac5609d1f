//! Host network devices for hwol.
//!
//! - [`emunic`]: an emulated SR-IOV NIC in switchdev mode, made of veth
//!   pairs (VF end in the pod, representor end on the host), configured over
//!   rtnetlink.
//! - [`afpacket`]: switch ports on representors: AF_PACKET sockets with a
//!   TPACKET_V3 receive ring and virtio-net headers, so TSO/GSO and
//!   checksum-offloaded frames pass through whole.
//! - [`vnet`] and [`ring`]: the pure parts of the above (virtio-net header
//!   and ring block layouts), with no I/O.
//! - [`netns`]: named network namespaces like `ip netns`.
//! - [`link`]: plain link, address and route operations for other crates
//!   (the CNI plugin).
//!
//! All raw system calls live in the private `sys` module, the only place
//! `unsafe` is allowed. Netlink runs on a private current-thread tokio
//! runtime, so every call here is synchronous.
//!
//! This crate is an edge crate: the datapath does not depend on it; the
//! daemon plugs ports into the datapath.

pub mod afpacket;
pub mod emunic;
mod error;
pub mod link;
pub mod netns;
pub mod ring;
mod rtnl;
#[allow(unsafe_code)]
mod sys;
pub mod vnet;

pub use error::{Error, Result};
