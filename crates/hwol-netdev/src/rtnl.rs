//! A small synchronous wrapper over `rtnetlink`: the link, address and route
//! calls the emulated NIC needs, each run to completion on a private
//! current-thread tokio runtime so callers stay synchronous.
//!
//! A [`Rtnl`] talks to the network namespace of the thread that created it
//! (the netlink socket is bound to it at creation), so to configure a pod's
//! namespace, create one inside [`crate::netns::run_in`].

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use futures_util::TryStreamExt;
use netlink_packet_route::address::{AddressAttribute, AddressMessage};
use netlink_packet_route::link::{InfoKind, LinkAttribute, LinkInfo as NlLinkInfo, LinkMessage};
use rtnetlink::{Handle, LinkUnspec, LinkVeth, RouteMessageBuilder};

use crate::error::{Error, Result};

/// What the emulated NIC needs to know about a link (the public [`crate::link::LinkInfo`]).
pub(crate) type Link = crate::link::LinkInfo;

impl Link {
    pub(crate) fn from_msg(m: &LinkMessage) -> Link {
        let mut l =
            Link { index: m.header.index, name: String::new(), alias: None, mac: Vec::new(), kind: None, mtu: None };
        for a in &m.attributes {
            match a {
                LinkAttribute::IfName(n) => l.name = n.clone(),
                LinkAttribute::IfAlias(s) => l.alias = Some(s.clone()),
                LinkAttribute::Address(mac) => l.mac = mac.clone(),
                LinkAttribute::Mtu(mtu) => l.mtu = Some(*mtu),
                LinkAttribute::LinkInfo(infos) => {
                    for i in infos {
                        if let NlLinkInfo::Kind(k) = i {
                            l.kind = Some(k.to_string());
                        }
                    }
                }
                _ => {}
            }
        }
        l
    }
}

pub(crate) fn to_io(e: rtnetlink::Error) -> io::Error {
    match e {
        rtnetlink::Error::NetlinkError(m) => m.to_io(),
        other => io::Error::other(other.to_string()),
    }
}

/// A hint for an error code from a link request.
pub(crate) fn link_hint(e: &io::Error) -> String {
    match e.raw_os_error() {
        Some(libc::EPERM) | Some(libc::EACCES) => "; this needs root (CAP_NET_ADMIN)".into(),
        Some(libc::EOPNOTSUPP) => "; the veth kernel module is missing (try `modprobe veth`)".into(),
        Some(libc::EEXIST) => "; the name is already in use by another interface".into(),
        Some(libc::ENODEV) => "; the interface disappeared (deleted by someone else?)".into(),
        Some(libc::EBUSY) => "; the interface must be down for this".into(),
        Some(libc::ERANGE) | Some(libc::EINVAL) => "; a value is out of range (MTU?)".into(),
        _ => String::new(),
    }
}

fn nl_err(op: String, e: rtnetlink::Error) -> Error {
    let source = to_io(e);
    let hint = link_hint(&source);
    Error::Netlink { op, source, hint }
}

/// A synchronous rtnetlink connection in the caller's network namespace.
pub(crate) struct Rtnl {
    rt: tokio::runtime::Runtime,
    handle: Handle,
}

impl Rtnl {
    /// Connect in the calling thread's network namespace.
    pub fn new() -> Result<Rtnl> {
        let rt = tokio::runtime::Builder::new_current_thread().enable_io().build().map_err(Error::Runtime)?;
        let (conn, handle, _) = rt.block_on(async { rtnetlink::new_connection() }).map_err(|e| Error::Netlink {
            op: "open rtnetlink socket".into(),
            hint: crate::error::privilege_hint(&e).to_string(),
            source: e,
        })?;
        rt.spawn(conn);
        Ok(Rtnl { rt, handle })
    }

    /// All links.
    pub fn links(&self) -> Result<Vec<Link>> {
        let h = self.handle.clone();
        self.rt
            .block_on(async move {
                let msgs: Vec<LinkMessage> = h.link().get().execute().try_collect().await?;
                Ok::<_, rtnetlink::Error>(msgs.iter().map(Link::from_msg).collect())
            })
            .map_err(|e| nl_err("list links".into(), e))
    }

    /// The link called `name`, if any.
    pub fn link_by_name(&self, name: &str) -> Result<Option<Link>> {
        let h = self.handle.clone();
        let n = name.to_string();
        let r = self.rt.block_on(async move {
            let msgs: Vec<LinkMessage> = h.link().get().match_name(n).execute().try_collect().await?;
            Ok::<_, rtnetlink::Error>(msgs.first().map(Link::from_msg))
        });
        match r {
            Ok(l) => Ok(l),
            Err(e) => {
                let io = to_io(e);
                if io.raw_os_error() == Some(libc::ENODEV) {
                    Ok(None)
                } else {
                    let hint = link_hint(&io);
                    Err(Error::Netlink { op: format!("look up interface {name}"), source: io, hint })
                }
            }
        }
    }

    /// `ip link add <a> type veth peer name <b>`.
    pub fn add_veth(&self, a: &str, b: &str) -> Result<()> {
        let msg = LinkVeth::new(a, b).build();
        let h = self.handle.clone();
        self.rt
            .block_on(async move { h.link().add(msg).execute().await })
            .map_err(|e| nl_err(format!("create veth pair {a}/{b}"), e))
    }

    /// `ip link set` with whatever the builder adds, on link `index`.
    pub fn set(
        &self,
        what: String,
        index: u32,
        f: impl FnOnce(rtnetlink::LinkMessageBuilder<LinkUnspec>) -> rtnetlink::LinkMessageBuilder<LinkUnspec>,
    ) -> Result<()> {
        let msg = f(LinkUnspec::new_with_index(index)).build();
        let h = self.handle.clone();
        self.rt.block_on(async move { h.link().set(msg).execute().await }).map_err(|e| nl_err(what, e))
    }

    /// `ip link del` of link `index`; deleting a gone link is not an error.
    pub fn del(&self, what: String, index: u32) -> Result<()> {
        let h = self.handle.clone();
        match self.rt.block_on(async move { h.link().del(index).execute().await }) {
            Ok(()) => Ok(()),
            Err(e) => {
                let io = to_io(e);
                if io.raw_os_error() == Some(libc::ENODEV) {
                    Ok(())
                } else {
                    let hint = link_hint(&io);
                    Err(Error::Netlink { op: what, source: io, hint })
                }
            }
        }
    }

    /// `ip addr replace <ip>/<prefix> dev <index>`.
    pub fn add_addr(&self, what: String, index: u32, ip: IpAddr, prefix: u8) -> Result<()> {
        let h = self.handle.clone();
        self.rt
            .block_on(async move { h.address().add(index, ip, prefix).replace().execute().await })
            .map_err(|e| nl_err(what, e))
    }

    /// The addresses on link `index` (`ip addr show dev`), as (address, prefix length).
    pub fn addrs(&self, what: String, index: u32) -> Result<Vec<(IpAddr, u8)>> {
        let h = self.handle.clone();
        self.rt
            .block_on(async move {
                let msgs: Vec<AddressMessage> =
                    h.address().get().set_link_index_filter(index).execute().try_collect().await?;
                Ok::<_, rtnetlink::Error>(
                    msgs.iter()
                        .filter(|m| m.header.index == index)
                        .filter_map(|m| {
                            m.attributes.iter().find_map(|a| match a {
                                AddressAttribute::Address(ip) => Some((*ip, m.header.prefix_len)),
                                _ => None,
                            })
                        })
                        .collect(),
                )
            })
            .map_err(|e| nl_err(what, e))
    }

    /// `ip route replace <dst>/<prefix> [via <gw>] dev <index>`; `gw` must be
    /// of the same family as `dst`.
    pub fn add_route(&self, what: String, index: u32, dst: IpAddr, prefix: u8, gw: Option<IpAddr>) -> Result<()> {
        let route = match (dst, gw) {
            (IpAddr::V4(d), None) => {
                RouteMessageBuilder::<Ipv4Addr>::new().destination_prefix(d, prefix).output_interface(index).build()
            }
            (IpAddr::V4(d), Some(IpAddr::V4(g))) => RouteMessageBuilder::<Ipv4Addr>::new()
                .destination_prefix(d, prefix)
                .gateway(g)
                .output_interface(index)
                .build(),
            (IpAddr::V6(d), None) => {
                RouteMessageBuilder::<Ipv6Addr>::new().destination_prefix(d, prefix).output_interface(index).build()
            }
            (IpAddr::V6(d), Some(IpAddr::V6(g))) => RouteMessageBuilder::<Ipv6Addr>::new()
                .destination_prefix(d, prefix)
                .gateway(g)
                .output_interface(index)
                .build(),
            (d, Some(g)) => {
                return Err(Error::InvalidArgument(format!(
                    "{what}: gateway {g} is not of the same address family as the destination {d}"
                )))
            }
        };
        let h = self.handle.clone();
        self.rt.block_on(async move { h.route().add(route).replace().execute().await }).map_err(|e| nl_err(what, e))
    }

    /// `tc qdisc del dev <index> root` (`ingress: false`) or `... ingress`;
    /// true if one was deleted, false if there was none.
    pub fn del_qdisc(&self, what: String, index: u32, ingress: bool) -> Result<bool> {
        use netlink_packet_route::tc::TcHandle;
        let h = self.handle.clone();
        let r = self.rt.block_on(async move {
            let mut req = h.qdisc().del(index as i32);
            let m = req.message_mut();
            if ingress {
                m.header.parent = TcHandle::INGRESS;
                m.header.handle = TcHandle { major: 0xffff, minor: 0 };
            } else {
                m.header.parent = TcHandle::ROOT;
            }
            req.execute().await
        });
        match r {
            Ok(()) => Ok(true),
            Err(e) => {
                let io = to_io(e);
                match io.raw_os_error() {
                    Some(libc::ENOENT) | Some(libc::EINVAL) => Ok(false),
                    _ => {
                        let hint = link_hint(&io);
                        Err(Error::Netlink { op: what, source: io, hint })
                    }
                }
            }
        }
    }

    /// `ip route replace default via <gw> dev <index>`.
    pub fn add_default_route(&self, what: String, index: u32, gw: Ipv4Addr) -> Result<()> {
        let route = RouteMessageBuilder::<Ipv4Addr>::new().gateway(gw).output_interface(index).build();
        let h = self.handle.clone();
        self.rt.block_on(async move { h.route().add(route).replace().execute().await }).map_err(|e| nl_err(what, e))
    }
}

/// True if the link kind is veth.
pub(crate) fn is_veth(l: &Link) -> bool {
    l.kind.as_deref() == Some(&InfoKind::Veth.to_string())
}
