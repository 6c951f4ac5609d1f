//! SR-IOV NIC provisioning and VF/representor discovery.
//!
//! - [`discover`]: from a VF's PCI address to its PF, index, netdev and
//!   representor; from a PF netdev to its VF and uplink representors
//!   (devlink first on the live system, sysfs `phys_port_name` +
//!   `phys_switch_id` otherwise).
//! - [`Sysfs`]: every sysfs path relative to an injectable root, so that
//!   discovery and planning run on recorded trees (`tests/fixtures/`).
//! - [`devlink`], [`genl`], [`nl`]: the generic-netlink requests (devlink
//!   eswitch mode and ports) encoded by hand with the names of the
//!   kernel's UAPI headers.
//!
//! See `docs/nic.md` for the whole setup sequence and the VM testbed.

mod error;
mod sysfs;

pub mod devlink;
pub mod discover;
pub mod ethtool;
pub mod exec;
pub mod genl;
pub mod names;
pub mod nl;
pub mod plan;

pub use discover::{uplink_representor, vf_info, vf_netdev, vf_representor, VfInfo};
pub use error::NicError;
pub use sysfs::{natural_cmp, Sysfs};
