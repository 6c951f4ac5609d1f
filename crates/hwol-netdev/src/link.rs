//! Plain link operations for callers outside this crate (the CNI plugin):
//! look up, create veth pairs, rename, set MAC/MTU/alias/up/down, move
//! between network namespaces, add addresses and routes, list addresses,
//! remove qdiscs.
//!
//! A [`Links`] is bound to the network namespace of the thread that created
//! it (see [`crate::netns::Netns::run_in`] to work inside a pod). Every error
//! names the interface and the step, with a hint on the likely cause.
//!
//! Not covered: anything the emulated NIC's own records need (that is
//! [`crate::emunic`]), routes other than destination/gateway/device.

use std::net::IpAddr;
use std::os::fd::{AsRawFd, BorrowedFd};

use crate::error::Result;
use crate::rtnl::Rtnl;

/// What is known about a link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkInfo {
    /// Interface index.
    pub index: u32,
    /// Interface name.
    pub name: String,
    /// `IFLA_IFALIAS`, if set.
    pub alias: Option<String>,
    /// Hardware address (6 bytes for Ethernet).
    pub mac: Vec<u8>,
    /// Link kind (`veth`, ...), if the kernel reports one.
    pub kind: Option<String>,
    /// MTU.
    pub mtu: Option<u32>,
}

impl LinkInfo {
    /// True if this is a veth.
    pub fn is_veth(&self) -> bool {
        self.kind.as_deref() == Some("veth")
    }
}

/// A synchronous rtnetlink connection in the creating thread's network namespace.
pub struct Links {
    nl: Rtnl,
}

impl Links {
    /// Connect in the calling thread's network namespace.
    pub fn new() -> Result<Links> {
        Ok(Links { nl: Rtnl::new()? })
    }

    /// All links of the namespace.
    pub fn list(&self) -> Result<Vec<LinkInfo>> {
        Ok(self.nl.links()?.into_iter().collect())
    }

    /// The link called `name`, or `None`.
    pub fn get(&self, name: &str) -> Result<Option<LinkInfo>> {
        self.nl.link_by_name(name)
    }

    /// `ip link add <a> type veth peer name <b>`.
    pub fn add_veth(&self, a: &str, b: &str) -> Result<()> {
        self.nl.add_veth(a, b)
    }

    /// `ip link del`; a link that is already gone is not an error.
    pub fn delete(&self, l: &LinkInfo) -> Result<()> {
        self.nl.del(format!("delete {}", l.name), l.index)
    }

    /// `ip link set <l> down`.
    pub fn set_down(&self, l: &LinkInfo) -> Result<()> {
        self.nl.set(format!("set {} down", l.name), l.index, |b| b.down())
    }

    /// `ip link set <l> up`.
    pub fn set_up(&self, l: &LinkInfo) -> Result<()> {
        self.nl.set(format!("set {} up", l.name), l.index, |b| b.up())
    }

    /// `ip link set <l> name <new>` (the link must be down).
    pub fn rename(&self, l: &LinkInfo, new: &str) -> Result<()> {
        crate::emunic::validate_ifname(new)?;
        let n = new.to_string();
        self.nl.set(format!("rename {} to {new}", l.name), l.index, |b| b.name(n))
    }

    /// `ip link set <l> address <mac>`.
    pub fn set_mac(&self, l: &LinkInfo, mac: [u8; 6]) -> Result<()> {
        self.nl.set(format!("set the MAC of {}", l.name), l.index, |b| b.address(mac.to_vec()))
    }

    /// `ip link set <l> mtu <mtu>`.
    pub fn set_mtu(&self, l: &LinkInfo, mtu: u32) -> Result<()> {
        self.nl.set(format!("set the MTU of {} to {mtu}", l.name), l.index, |b| b.mtu(mtu))
    }

    /// `ip link set <l> alias <alias>`.
    pub fn set_alias(&self, l: &LinkInfo, alias: &str) -> Result<()> {
        let a = alias.to_string();
        self.nl.set(format!("set the alias of {}", l.name), l.index, |b| b.alias(a))
    }

    /// `ip link set <l> netns <fd>`: move the link into the namespace `ns`
    /// (an open netns file), described as `ns_name` in errors.
    pub fn move_to_netns(&self, l: &LinkInfo, ns: BorrowedFd<'_>, ns_name: &str) -> Result<()> {
        let fd = ns.as_raw_fd();
        self.nl.set(format!("move {} into netns {ns_name}", l.name), l.index, |b| b.setns_by_fd(fd))
    }

    /// `ip addr replace <ip>/<prefix> dev <l>`.
    pub fn add_address(&self, l: &LinkInfo, ip: IpAddr, prefix: u8) -> Result<()> {
        self.nl.add_addr(format!("add address {ip}/{prefix} to {}", l.name), l.index, ip, prefix)
    }

    /// The addresses on `l`, as (address, prefix length).
    pub fn addresses(&self, l: &LinkInfo) -> Result<Vec<(IpAddr, u8)>> {
        self.nl.addrs(format!("list the addresses of {}", l.name), l.index)
    }

    /// `tc qdisc del dev <l> root` and `tc qdisc del dev <l> ingress`: back
    /// to the kernel's default queueing (what e.g. the bandwidth CNI plugin
    /// left). Returns how many were deleted.
    pub fn reset_qdiscs(&self, l: &LinkInfo) -> Result<usize> {
        let root = self.nl.del_qdisc(format!("delete the root qdisc of {}", l.name), l.index, false)?;
        let ingress = self.nl.del_qdisc(format!("delete the ingress qdisc of {}", l.name), l.index, true)?;
        Ok(usize::from(root) + usize::from(ingress))
    }

    /// `ip route replace <dst>/<prefix> [via <gw>] dev <l>`.
    pub fn add_route(&self, l: &LinkInfo, dst: IpAddr, prefix: u8, gw: Option<IpAddr>) -> Result<()> {
        let what = match gw {
            Some(g) => format!("add route {dst}/{prefix} via {g} dev {}", l.name),
            None => format!("add route {dst}/{prefix} dev {}", l.name),
        };
        self.nl.add_route(what, l.index, dst, prefix, gw)
    }
}
