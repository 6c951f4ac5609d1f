//! An emulated SR-IOV NIC in switchdev mode, built from veth pairs:
//! [`EmulatedNic`].
//!
//! On real hardware each VF is a PCI function whose netdev goes into the pod
//! and whose *representor* netdev stays on the host, attached to the switch;
//! what the switch sends to the representor comes out of the VF and vice
//! versa. A veth pair has exactly that property, so VF `i` of an emulated NIC
//! with prefix `P` is the veth pair
//!
//! ```text
//!   P vf i  (the VF end: moved into the pod's netns and renamed eth0)
//!   P r  i  (the representor end: stays on the host, up, attached to the switch)
//! ```
//!
//! # State lives in the kernel
//!
//! Nothing is written to disk. Both ends carry an interface alias
//! (`IFLA_IFALIAS`, `ip link set dev X alias ...`) that marks them as hwol's
//! and records the pod they are attached to:
//!
//! ```text
//! hwol-emunic prefix=P role=rep vf=0 netns=pod1 netns_owned=1 ifname=eth0
//! ```
//!
//! so [`EmulatedNic::open`] (another process, e.g. the CLI) and
//! [`EmulatedNic::discover`] (after a crash) can rebuild the state, and
//! interfaces without the alias are never touched ("name already in use by an
//! interface hwol did not create").
//!
//! # Idempotence
//!
//! [`EmulatedNic::detach_pod`], [`EmulatedNic::destroy`] and
//! [`destroy_prefix`] succeed when there is nothing left to do.
//! [`EmulatedNic::create`] refuses when interfaces with the prefix exist: use
//! [`EmulatedNic::open`] to reuse them or [`destroy_prefix`] to start over.
//! Attaching an attached VF is an error naming the pod it is in.
//!
//! # Offloads
//!
//! Offloads (TSO, GSO, checksum) are left on at both ends on purpose: the
//! switch reads representors with `PACKET_VNET_HDR` (see
//! [`crate::afpacket`]), so nobody needs to turn them off.
//!
//! Not covered: VLAN/trust/spoof-check VF settings, VF rate limits, IPv6
//! addresses (IPv6 is left as the kernel configures it).

use std::fs;
use std::net::Ipv4Addr;
use std::os::fd::OwnedFd;

use crate::error::{Error, Result};
use crate::netns::Netns;
use crate::rtnl::{self, Link, Rtnl};

/// `IFNAMSIZ - 1`: the longest interface name the kernel accepts.
pub const MAX_IFNAME_LEN: usize = 15;

const ALIAS_TAG: &str = "hwol-emunic";

/// Check an interface name the way the kernel's `dev_valid_name` does.
pub fn validate_ifname(name: &str) -> Result<()> {
    let reason = if name.is_empty() {
        Some("it is empty".to_string())
    } else if name.len() > MAX_IFNAME_LEN {
        Some(format!("it is {} bytes long, the kernel allows at most {MAX_IFNAME_LEN}", name.len()))
    } else if name == "." || name == ".." {
        Some("'.' and '..' are reserved".to_string())
    } else {
        name.chars()
            .find(|c| *c == '/' || *c == ':' || c.is_whitespace() || c.is_control())
            .map(|c| format!("it contains {c:?}; '/', ':' and whitespace are not allowed"))
    };
    match reason {
        Some(reason) => Err(Error::InvalidName { name: name.to_string(), reason }),
        None => Ok(()),
    }
}

/// The VF-end name of VF `i`: `<prefix>vf<i>`.
pub fn vf_ifname(prefix: &str, i: u32) -> String {
    format!("{prefix}vf{i}")
}

/// The representor name of VF `i`: `<prefix>r<i>`.
pub fn rep_ifname(prefix: &str, i: u32) -> String {
    format!("{prefix}r{i}")
}

/// Check that `prefix` with `n_vfs` VFs gives valid names for every VF.
pub fn validate_prefix(prefix: &str, n_vfs: u32) -> Result<()> {
    if prefix.is_empty() || !prefix.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.') {
        return Err(Error::InvalidName {
            name: prefix.to_string(),
            reason: "a prefix must be non-empty and use only letters, digits, '-', '_' and '.'".into(),
        });
    }
    let longest = vf_ifname(prefix, n_vfs.saturating_sub(1));
    if longest.len() > MAX_IFNAME_LEN {
        return Err(Error::InvalidName {
            name: longest.clone(),
            reason: format!(
                "prefix {prefix:?} is too long for {n_vfs} VFs: {longest:?} is {} bytes, the kernel allows at most \
                 {MAX_IFNAME_LEN}; use a prefix of at most {} bytes",
                longest.len(),
                MAX_IFNAME_LEN - (longest.len() - prefix.len())
            ),
        });
    }
    validate_ifname(&longest)?;
    validate_ifname(&rep_ifname(prefix, n_vfs.saturating_sub(1)))
}

/// A locally administered, stable MAC for VF `i`: `02:` + 3 bytes of a hash
/// of the prefix + the 2-byte index. Stable so tests and tables can predict it.
pub fn vf_mac(prefix: &str, i: u32) -> [u8; 6] {
    // FNV-1a, 32-bit.
    let mut h: u32 = 0x811c_9dc5;
    for b in prefix.bytes() {
        h = (h ^ u32::from(b)).wrapping_mul(0x0100_0193);
    }
    let hb = h.to_be_bytes();
    [0x02, hb[1], hb[2], hb[3], (i >> 8) as u8, i as u8]
}

/// Format a MAC as `aa:bb:cc:dd:ee:ff`.
pub fn format_mac(mac: &[u8]) -> String {
    mac.iter().map(|b| format!("{b:02x}")).collect::<Vec<_>>().join(":")
}

/// Parse `aa:bb:cc:dd:ee:ff`.
pub fn parse_mac(s: &str) -> Result<[u8; 6]> {
    let bad = || Error::InvalidArgument(format!("MAC address {s:?} is not of the form aa:bb:cc:dd:ee:ff"));
    let parts: Vec<&str> = s.split(':').collect();
    if parts.len() != 6 {
        return Err(bad());
    }
    let mut mac = [0u8; 6];
    for (m, p) in mac.iter_mut().zip(parts) {
        if p.len() != 2 {
            return Err(bad());
        }
        *m = u8::from_str_radix(p, 16).map_err(|_| bad())?;
    }
    if mac[0] & 1 != 0 {
        return Err(Error::InvalidArgument(format!(
            "MAC address {s} is a multicast address; a NIC needs a unicast one"
        )));
    }
    Ok(mac)
}

/// An IPv4 address with prefix length, `10.0.0.1/24`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ipv4Cidr {
    /// The address.
    pub addr: Ipv4Addr,
    /// The prefix length, 0..=32.
    pub prefix_len: u8,
}

impl std::str::FromStr for Ipv4Cidr {
    type Err = Error;

    fn from_str(s: &str) -> Result<Ipv4Cidr> {
        let bad =
            || Error::InvalidArgument(format!("{s:?} is not an IPv4 address with prefix length, like 10.0.0.1/24"));
        let (a, p) = s.split_once('/').ok_or_else(bad)?;
        let addr: Ipv4Addr = a.parse().map_err(|_| bad())?;
        let prefix_len: u8 = p.parse().map_err(|_| bad())?;
        if prefix_len > 32 {
            return Err(bad());
        }
        Ok(Ipv4Cidr { addr, prefix_len })
    }
}

impl std::fmt::Display for Ipv4Cidr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix_len)
    }
}

/// Options for [`EmulatedNic::create`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NicOptions {
    /// MTU for both ends of every pair (`None`: the kernel's default, 1500).
    pub mtu: Option<u32>,
    /// Remove everything when the [`EmulatedNic`] is dropped without
    /// [`EmulatedNic::destroy`]. On by default, so a test that fails cleans
    /// up; turn off for a NIC that outlives the process (the CLI does).
    pub destroy_on_drop: bool,
}

impl Default for NicOptions {
    fn default() -> Self {
        NicOptions { mtu: None, destroy_on_drop: true }
    }
}

/// How a pod's end of a VF is set up by [`EmulatedNic::attach_pod`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodSpec {
    /// The pod's network namespace.
    pub netns: Netns,
    /// Create `netns` (a named one) if it does not exist, like `ip netns add`.
    /// A namespace created this way is deleted by detach and destroy.
    pub create_netns: bool,
    /// The name inside the pod, usually `eth0`.
    pub ifname: String,
    /// The VF's MAC; `None` keeps the VF's own ([`vf_mac`]).
    pub mac: Option<[u8; 6]>,
    /// The pod's address.
    pub ipv4: Option<Ipv4Cidr>,
    /// Default route via this gateway.
    pub gateway: Option<Ipv4Addr>,
    /// MTU for the VF and its representor.
    pub mtu: Option<u32>,
}

impl PodSpec {
    /// A spec for `eth0` in the named netns, created if missing, with `ipv4`.
    pub fn new(netns: &str, ipv4: Ipv4Cidr) -> PodSpec {
        PodSpec {
            netns: Netns::Named(netns.to_string()),
            create_netns: true,
            ifname: "eth0".into(),
            mac: None,
            ipv4: Some(ipv4),
            gateway: None,
            mtu: None,
        }
    }
}

/// A VF's host-side representor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Representor {
    /// Interface name on the host.
    pub ifname: String,
    /// Interface index on the host.
    pub ifindex: u32,
    /// The representor's MAC (not the VF's).
    pub mac: [u8; 6],
}

/// Where a VF is attached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    /// The pod's namespace.
    pub netns: Netns,
    /// True if hwol created the namespace (and will delete it).
    pub netns_owned: bool,
    /// The VF's name inside the pod.
    pub ifname: String,
}

/// One VF of an emulated NIC.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vf {
    /// VF index.
    pub index: u32,
    /// The VF end's name while on the host.
    pub vf_ifname: String,
    /// The VF's MAC as set at creation.
    pub vf_mac: [u8; 6],
    /// The representor.
    pub representor: Representor,
    /// The pod it is attached to, if any.
    pub attached: Option<Attachment>,
}

/// What [`EmulatedNic::discover`] found of one prefix.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Discovered {
    /// Representors found on the host (by alias), with their records.
    pub vfs: Vec<Vf>,
    /// VF ends found on the host without a representor (should not happen;
    /// a half-deleted pair). Names.
    pub orphans: Vec<String>,
}

impl Discovered {
    /// True if nothing was found.
    pub fn is_empty(&self) -> bool {
        self.vfs.is_empty() && self.orphans.is_empty()
    }
}

/// The record kept in an interface alias.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Record {
    prefix: String,
    role: Role,
    vf: u32,
    attached: Option<Attachment>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Vf,
    Rep,
}

impl Record {
    fn to_alias(&self) -> String {
        let role = match self.role {
            Role::Vf => "vf",
            Role::Rep => "rep",
        };
        let mut s = format!("{ALIAS_TAG} prefix={} role={role} vf={}", self.prefix, self.vf);
        if let Some(a) = &self.attached {
            s += &format!(" netns={} netns_owned={} ifname={}", a.netns, u8::from(a.netns_owned), a.ifname);
        }
        s
    }

    fn parse(alias: &str) -> Option<Record> {
        let mut it = alias.split_whitespace();
        if it.next()? != ALIAS_TAG {
            return None;
        }
        let (mut prefix, mut role, mut vf, mut netns, mut owned, mut ifname) = (None, None, None, None, false, None);
        for kv in it {
            let (k, v) = kv.split_once('=')?;
            match k {
                "prefix" => prefix = Some(v.to_string()),
                "role" => role = Some(if v == "rep" { Role::Rep } else { Role::Vf }),
                "vf" => vf = v.parse().ok(),
                "netns" => netns = Some(Netns::parse(v)),
                "netns_owned" => owned = v == "1",
                "ifname" => ifname = Some(v.to_string()),
                _ => {}
            }
        }
        let attached = match (netns, ifname) {
            (Some(netns), Some(ifname)) => Some(Attachment { netns, netns_owned: owned, ifname }),
            _ => None,
        };
        Some(Record { prefix: prefix?, role: role?, vf: vf?, attached })
    }
}

fn mac6(v: &[u8]) -> [u8; 6] {
    let mut m = [0u8; 6];
    if v.len() == 6 {
        m.copy_from_slice(v);
    }
    m
}

/// A set of emulated VFs with their representors. See the module docs.
#[derive(Debug)]
pub struct EmulatedNic {
    prefix: String,
    vfs: Vec<Vf>,
    destroy_on_drop: bool,
    destroyed: bool,
}

impl EmulatedNic {
    /// Create `n_vfs` veth pairs `<prefix>vf<i>` / `<prefix>r<i>`, mark them
    /// as hwol's, give VF `i` the MAC [`vf_mac`]`(prefix, i)`, and bring the
    /// representors up. On failure, whatever was created is removed again.
    ///
    /// Errors: [`Error::InvalidName`] for a prefix that makes names longer
    /// than 15 bytes; [`Error::NameTaken`] if a name belongs to someone else;
    /// [`Error::AlreadyExists`] if an emulated NIC with this prefix exists;
    /// [`Error::Netlink`] with a hint (veth module missing, not root).
    pub fn create(prefix: &str, n_vfs: u32, opts: &NicOptions) -> Result<EmulatedNic> {
        Self::create_with_progress(prefix, n_vfs, opts, &mut |_| {})
    }

    /// [`EmulatedNic::create`], calling `progress` with a line per step.
    pub fn create_with_progress(
        prefix: &str,
        n_vfs: u32,
        opts: &NicOptions,
        progress: &mut dyn FnMut(&str),
    ) -> Result<EmulatedNic> {
        if n_vfs == 0 || n_vfs > 4096 {
            return Err(Error::InvalidArgument(format!("number of VFs must be 1..=4096, got {n_vfs}")));
        }
        validate_prefix(prefix, n_vfs)?;
        let nl = Rtnl::new()?;
        let found = discover_with(&nl, prefix)?;
        if !found.is_empty() {
            let mut names: Vec<String> = found.vfs.iter().map(|v| v.representor.ifname.clone()).collect();
            names.extend(found.orphans.iter().cloned());
            return Err(Error::AlreadyExists { prefix: prefix.to_string(), what: names.join(", ") });
        }
        for i in 0..n_vfs {
            for name in [vf_ifname(prefix, i), rep_ifname(prefix, i)] {
                if nl.link_by_name(&name)?.is_some() {
                    return Err(Error::NameTaken { name });
                }
            }
        }
        let mut nic = EmulatedNic {
            prefix: prefix.to_string(),
            vfs: Vec::new(),
            destroy_on_drop: opts.destroy_on_drop,
            destroyed: false,
        };
        for i in 0..n_vfs {
            // Any error drops `nic`, which (with destroy_on_drop) removes what
            // was made so far; without it, remove explicitly.
            if let Err(e) = nic.create_one(&nl, i, opts, progress) {
                let _ = nic.destroy_with(&nl, &mut |_| {});
                return Err(e);
            }
        }
        Ok(nic)
    }

    fn create_one(&mut self, nl: &Rtnl, i: u32, opts: &NicOptions, progress: &mut dyn FnMut(&str)) -> Result<()> {
        let (vf, rep) = (vf_ifname(&self.prefix, i), rep_ifname(&self.prefix, i));
        progress(&format!("creating VF {i}: veth pair {vf} (VF) / {rep} (representor)"));
        nl.add_veth(&vf, &rep)?;
        let not_found =
            |n: &str| Error::NoSuchInterface { name: n.to_string(), context: " right after creating it".into() };
        let vl = nl.link_by_name(&vf)?.ok_or_else(|| not_found(&vf))?;
        let rl = nl.link_by_name(&rep)?.ok_or_else(|| not_found(&rep))?;
        // Record the representor first: it is what discovery looks for.
        let rec = Record { prefix: self.prefix.clone(), role: Role::Rep, vf: i, attached: None };
        let rep_alias = rec.to_alias();
        nl.set(format!("set alias on {rep}"), rl.index, |b| b.alias(rep_alias))?;
        let vf_alias = Record { role: Role::Vf, ..rec }.to_alias();
        let mac = vf_mac(&self.prefix, i);
        let mtu = opts.mtu;
        nl.set(format!("set alias and MAC on {vf}"), vl.index, |b| {
            let b = b.alias(vf_alias).address(mac.to_vec());
            match mtu {
                Some(m) => b.mtu(m),
                None => b,
            }
        })?;
        nl.set(format!("bring up {rep}"), rl.index, |b| {
            let b = b.up();
            match mtu {
                Some(m) => b.mtu(m),
                None => b,
            }
        })?;
        self.vfs.push(Vf {
            index: i,
            vf_ifname: vf,
            vf_mac: mac,
            representor: Representor { ifname: rep, ifindex: rl.index, mac: mac6(&rl.mac) },
            attached: None,
        });
        Ok(())
    }

    /// Rebuild an emulated NIC made earlier (by this or another process)
    /// from the interfaces' records. [`Error::NotFound`] if there is none.
    /// The result does not destroy on drop.
    pub fn open(prefix: &str) -> Result<EmulatedNic> {
        let nl = Rtnl::new()?;
        let found = discover_with(&nl, prefix)?;
        if found.vfs.is_empty() {
            return Err(Error::NotFound { prefix: prefix.to_string() });
        }
        Ok(EmulatedNic { prefix: prefix.to_string(), vfs: found.vfs, destroy_on_drop: false, destroyed: false })
    }

    /// Find what is left of emulated NICs with `prefix` in the host netns
    /// (by their alias records, not by name alone).
    pub fn discover(prefix: &str) -> Result<Discovered> {
        discover_with(&Rtnl::new()?, prefix)
    }

    /// The prefix.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The VFs, by index.
    pub fn vfs(&self) -> &[Vf] {
        &self.vfs
    }

    /// Set whether dropping this value removes everything (see [`NicOptions::destroy_on_drop`]).
    pub fn set_destroy_on_drop(&mut self, on: bool) {
        self.destroy_on_drop = on;
    }

    fn vf(&self, index: u32) -> Result<&Vf> {
        self.vfs.iter().find(|v| v.index == index).ok_or(Error::NoSuchVf {
            prefix: self.prefix.clone(),
            index,
            count: self.vfs.len() as u32,
        })
    }

    /// The representor of VF `vf_index`: name, ifindex and MAC on the host.
    pub fn representor(&self, vf_index: u32) -> Result<Representor> {
        Ok(self.vf(vf_index)?.representor.clone())
    }

    /// Move VF `vf_index` into the pod's netns and configure it there:
    /// rename to `spec.ifname`, set MAC and MTU, add the address and default
    /// route, bring it and `lo` up. The representor gets the same MTU.
    /// If a step inside the pod fails, the VF is moved back.
    pub fn attach_pod(&mut self, vf_index: u32, spec: &PodSpec) -> Result<()> {
        self.attach_pod_with_progress(vf_index, spec, &mut |_| {})
    }

    /// [`EmulatedNic::attach_pod`], calling `progress` with a line per step.
    pub fn attach_pod_with_progress(
        &mut self,
        vf_index: u32,
        spec: &PodSpec,
        progress: &mut dyn FnMut(&str),
    ) -> Result<()> {
        validate_ifname(&spec.ifname)?;
        spec.netns.validate()?;
        if let Some(m) = spec.mtu {
            if !(68..=65535).contains(&m) {
                return Err(Error::InvalidArgument(format!("MTU {m} is out of range 68..=65535")));
            }
        }
        let vf = self.vf(vf_index)?.clone();
        if let Some(a) = &vf.attached {
            return Err(Error::VfState {
                prefix: self.prefix.clone(),
                index: vf_index,
                state: format!("is already attached to netns {} as {}; detach it first", a.netns, a.ifname),
            });
        }
        let mut owned = false;
        if !spec.netns.exists() {
            if spec.create_netns {
                progress(&format!("creating network namespace {}", spec.netns));
                owned = spec.netns.create()?;
            } else {
                spec.netns.open()?; // for its error
            }
        }
        let nl = Rtnl::new()?;
        let vl = nl.link_by_name(&vf.vf_ifname)?.ok_or_else(|| Error::NoSuchInterface {
            name: vf.vf_ifname.clone(),
            context: " in the host netns (was it moved or deleted outside hwol?)".into(),
        })?;
        let ns_fd = spec.netns.open()?;
        progress(&format!("moving {} into netns {}", vf.vf_ifname, spec.netns));
        let fd = std::os::fd::AsRawFd::as_raw_fd(&ns_fd);
        nl.set(format!("move {} into netns {}", vf.vf_ifname, spec.netns), vl.index, |b| b.down().setns_by_fd(fd))?;
        drop(ns_fd);
        let attachment = Attachment { netns: spec.netns.clone(), netns_owned: owned, ifname: spec.ifname.clone() };
        let rep_alias =
            Record { prefix: self.prefix.clone(), role: Role::Rep, vf: vf_index, attached: Some(attachment.clone()) }
                .to_alias();
        let rep = vf.representor.clone();
        let mtu = spec.mtu;
        nl.set(format!("record the attachment on {}", rep.ifname), rep.ifindex, |b| {
            let b = b.alias(rep_alias);
            match mtu {
                Some(m) => b.mtu(m),
                None => b,
            }
        })?;
        if let Some(v) = self.vfs.iter_mut().find(|v| v.index == vf_index) {
            v.attached = Some(attachment);
        }
        progress(&format!("configuring {} in netns {}", spec.ifname, spec.netns));
        let vf_name = vf.vf_ifname.clone();
        let spec2 = spec.clone();
        let r = spec.netns.run_in(move || configure_in_pod(&vf_name, &spec2));
        if let Err(e) = r {
            let _ = self.detach_pod(vf_index);
            return Err(e);
        }
        Ok(())
    }

    /// Move VF `vf_index` back to the host under its original name, down,
    /// and delete the pod netns if hwol created it. Does nothing if the VF
    /// is not attached. If the pod's netns is already gone (and took the
    /// veth pair with it), the VF is dropped from this NIC.
    pub fn detach_pod(&mut self, vf_index: u32) -> Result<()> {
        let vf = self.vf(vf_index)?.clone();
        let Some(a) = vf.attached.clone() else { return Ok(()) };
        let nl = Rtnl::new()?;
        if a.netns.exists() {
            let host = OwnedFd::from(fs::File::open("/proc/thread-self/ns/net").map_err(|e| Error::Netns {
                netns: "host".into(),
                op: "open /proc/thread-self/ns/net".into(),
                source: e,
                hint: String::new(),
            })?);
            let prefix = self.prefix.clone();
            let vf_name = vf.vf_ifname.clone();
            a.netns.run_in(move || {
                let pn = Rtnl::new()?;
                let link = pn.links()?.into_iter().find(|l| {
                    l.alias
                        .as_deref()
                        .and_then(Record::parse)
                        .is_some_and(|r| r.prefix == prefix && r.vf == vf_index && r.role == Role::Vf)
                });
                let Some(link) = link else { return Ok(()) };
                let fd = std::os::fd::AsRawFd::as_raw_fd(&host);
                pn.set(format!("rename {} back to {vf_name}", link.name), link.index, |b| b.down())?;
                pn.set(format!("rename {} back to {vf_name}", link.name), link.index, |b| b.name(vf_name.clone()))?;
                pn.set(format!("move {vf_name} back to the host netns"), link.index, |b| b.setns_by_fd(fd))
            })?;
            if a.netns_owned {
                a.netns.delete()?;
            }
        }
        let gone = nl.link_by_name(&vf.representor.ifname)?.is_none();
        if gone {
            self.vfs.retain(|v| v.index != vf_index);
            return Ok(());
        }
        let alias = Record { prefix: self.prefix.clone(), role: Role::Rep, vf: vf_index, attached: None }.to_alias();
        nl.set(format!("clear the attachment on {}", vf.representor.ifname), vf.representor.ifindex, |b| {
            b.alias(alias)
        })?;
        if let Some(v) = self.vfs.iter_mut().find(|v| v.index == vf_index) {
            v.attached = None;
        }
        Ok(())
    }

    /// Remove every pair and every netns hwol created for this NIC.
    /// Returns one line per thing removed. Safe to call twice.
    pub fn destroy(mut self) -> Result<Vec<String>> {
        let nl = Rtnl::new()?;
        let r = self.destroy_with(&nl, &mut |_| {});
        self.destroyed = true;
        r
    }

    fn destroy_with(&mut self, nl: &Rtnl, progress: &mut dyn FnMut(&str)) -> Result<Vec<String>> {
        let r = destroy_vfs(nl, &self.vfs, &[], progress);
        if r.is_ok() {
            self.vfs.clear();
        }
        r
    }
}

impl Drop for EmulatedNic {
    fn drop(&mut self) {
        if self.destroy_on_drop && !self.destroyed && !self.vfs.is_empty() {
            if let Ok(nl) = Rtnl::new() {
                let _ = self.destroy_with(&nl, &mut |_| {});
            }
        }
    }
}

fn configure_in_pod(vf_name: &str, spec: &PodSpec) -> Result<()> {
    let nl = Rtnl::new()?;
    let ns = &spec.netns;
    let link = nl.link_by_name(vf_name)?.ok_or_else(|| Error::NoSuchInterface {
        name: vf_name.to_string(),
        context: format!(" in netns {ns} after moving it there"),
    })?;
    if vf_name != spec.ifname {
        if let Some(other) = nl.link_by_name(&spec.ifname)? {
            return Err(Error::InvalidArgument(format!(
                "netns {ns} already has an interface {} (ifindex {}); choose another ifname or remove it",
                other.name, other.index
            )));
        }
    }
    let ifname = spec.ifname.clone();
    let (mac, mtu) = (spec.mac, spec.mtu);
    nl.set(format!("rename {vf_name} to {ifname} in netns {ns}"), link.index, |b| {
        let mut b = b.name(ifname.clone());
        if let Some(m) = mac {
            b = b.address(m.to_vec());
        }
        if let Some(m) = mtu {
            b = b.mtu(m);
        }
        b
    })?;
    nl.set(format!("bring up {ifname} in netns {ns}"), link.index, |b| b.up())?;
    if let Some(lo) = nl.link_by_name("lo")? {
        nl.set(format!("bring up lo in netns {ns}"), lo.index, |b| b.up())?;
    }
    if let Some(c) = spec.ipv4 {
        nl.add_addr(format!("add address {c} to {ifname} in netns {ns}"), link.index, c.addr.into(), c.prefix_len)?;
    }
    if let Some(gw) = spec.gateway {
        nl.add_default_route(format!("add default route via {gw} dev {ifname} in netns {ns}"), link.index, gw)?;
    }
    Ok(())
}

fn discover_with(nl: &Rtnl, prefix: &str) -> Result<Discovered> {
    let links = nl.links()?;
    let mine = |l: &Link| -> Option<Record> {
        let r = Record::parse(l.alias.as_deref()?)?;
        (r.prefix == prefix && rtnl::is_veth(l)).then_some(r)
    };
    let mut found = Discovered::default();
    let mut vf_ends: Vec<(Record, Link)> = Vec::new();
    for l in &links {
        let Some(r) = mine(l) else { continue };
        match r.role {
            Role::Rep => found.vfs.push(Vf {
                index: r.vf,
                vf_ifname: vf_ifname(prefix, r.vf),
                vf_mac: vf_mac(prefix, r.vf),
                representor: Representor { ifname: l.name.clone(), ifindex: l.index, mac: mac6(&l.mac) },
                attached: r.attached,
            }),
            Role::Vf => vf_ends.push((r, l.clone())),
        }
    }
    for (r, l) in vf_ends {
        if !found.vfs.iter().any(|v| v.index == r.vf) {
            found.orphans.push(l.name);
        }
    }
    found.vfs.sort_by_key(|v| v.index);
    Ok(found)
}

fn destroy_vfs(nl: &Rtnl, vfs: &[Vf], orphans: &[String], progress: &mut dyn FnMut(&str)) -> Result<Vec<String>> {
    let mut removed = Vec::new();
    let mut first_err = None;
    for vf in vfs {
        progress(&format!("removing VF {}: representor {}", vf.index, vf.representor.ifname));
        // Deleting one end of a veth pair deletes the other, wherever it is.
        match nl.link_by_name(&vf.representor.ifname) {
            Ok(Some(l))
                if l.index == vf.representor.ifindex || l.alias.as_deref().and_then(Record::parse).is_some() =>
            {
                match nl.del(format!("delete {}", l.name), l.index) {
                    Ok(()) => removed.push(format!(
                        "veth pair {} / {}",
                        vf.representor.ifname,
                        vf.attached
                            .as_ref()
                            .map(|a| format!("{} in netns {}", a.ifname, a.netns))
                            .unwrap_or(vf.vf_ifname.clone())
                    )),
                    Err(e) => {
                        first_err.get_or_insert(e);
                    }
                }
            }
            Ok(_) => {}
            Err(e) => {
                first_err.get_or_insert(e);
            }
        }
        if let Some(a) = &vf.attached {
            if a.netns_owned && a.netns.exists() {
                progress(&format!("removing network namespace {}", a.netns));
                match a.netns.delete() {
                    Ok(()) => removed.push(format!("network namespace {}", a.netns)),
                    Err(e) => {
                        first_err.get_or_insert(e);
                    }
                }
            }
        }
    }
    for name in orphans {
        if let Ok(Some(l)) = nl.link_by_name(name) {
            match nl.del(format!("delete {name}"), l.index) {
                Ok(()) => removed.push(format!("interface {name}")),
                Err(e) => {
                    first_err.get_or_insert(e);
                }
            }
        }
    }
    match first_err {
        Some(e) => Err(e),
        None => Ok(removed),
    }
}

/// Remove everything an emulated NIC with `prefix` left behind, as found by
/// [`EmulatedNic::discover`]: veth pairs (wherever the VF end is) and the
/// namespaces hwol created for pods. Returns one line per thing removed;
/// an empty list if there was nothing. Interfaces without hwol's record are
/// never touched.
pub fn destroy_prefix(prefix: &str, progress: &mut dyn FnMut(&str)) -> Result<Vec<String>> {
    let nl = Rtnl::new()?;
    let found = discover_with(&nl, prefix)?;
    destroy_vfs(&nl, &found.vfs, &found.orphans, progress)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked_like_the_kernel() {
        validate_ifname("eth0").unwrap();
        validate_ifname("abcdefghijklmno").unwrap();
        let e = validate_ifname("abcdefghijklmnop").unwrap_err().to_string();
        assert_eq!(
            e,
            "interface name \"abcdefghijklmnop\" is invalid: it is 16 bytes long, the kernel allows at most 15"
        );
        assert!(validate_ifname("").is_err());
        assert!(validate_ifname("a/b").is_err());
        assert!(validate_ifname("a b").is_err());
        assert!(validate_ifname("a:1").is_err());
        assert!(validate_ifname("..").is_err());
    }

    #[test]
    fn prefix_must_leave_room_for_the_longest_vf_name() {
        validate_prefix("hw", 8).unwrap();
        validate_prefix("abcdefghijk", 10).unwrap(); // abcdefghijkvf9 = 14
        validate_prefix("abcdefghijkl", 10).unwrap(); // abcdefghijklvf9 = 15
        let e = validate_prefix("abcdefghijkl", 11).unwrap_err().to_string();
        assert!(e.contains("\"abcdefghijklvf10\" is 16 bytes"), "{e}");
        assert!(e.contains("use a prefix of at most 11 bytes"), "{e}");
        assert!(validate_prefix("", 1).is_err());
        assert!(validate_prefix("a:b", 1).is_err());
        assert_eq!(vf_ifname("hw", 3), "hwvf3");
        assert_eq!(rep_ifname("hw", 3), "hwr3");
    }

    #[test]
    fn macs() {
        let m = vf_mac("hw", 258);
        assert_eq!(m[0], 0x02);
        assert_eq!(&m[4..], &[1, 2]);
        assert_eq!(vf_mac("hw", 1), vf_mac("hw", 1));
        assert_ne!(vf_mac("hw", 1)[1..4], vf_mac("hx", 1)[1..4]);
        assert_eq!(parse_mac("02:aa:bb:cc:dd:0e").unwrap(), [2, 0xaa, 0xbb, 0xcc, 0xdd, 0x0e]);
        assert_eq!(format_mac(&[2, 0xaa, 0xbb, 0xcc, 0xdd, 0x0e]), "02:aa:bb:cc:dd:0e");
        assert!(parse_mac("01:00:5e:00:00:01").unwrap_err().to_string().contains("multicast"));
        assert!(parse_mac("02:aa:bb").is_err());
        assert!(parse_mac("02:aa:bb:cc:dd:zz").is_err());
    }

    #[test]
    fn cidr() {
        let c: Ipv4Cidr = "10.0.0.1/24".parse().unwrap();
        assert_eq!(c, Ipv4Cidr { addr: Ipv4Addr::new(10, 0, 0, 1), prefix_len: 24 });
        assert_eq!(c.to_string(), "10.0.0.1/24");
        assert!("10.0.0.1".parse::<Ipv4Cidr>().is_err());
        assert!("10.0.0.1/33".parse::<Ipv4Cidr>().is_err());
    }

    #[test]
    fn alias_records_round_trip() {
        let r = Record {
            prefix: "hw".into(),
            role: Role::Rep,
            vf: 3,
            attached: Some(Attachment { netns: Netns::Named("pod1".into()), netns_owned: true, ifname: "eth0".into() }),
        };
        let a = r.to_alias();
        assert_eq!(a, "hwol-emunic prefix=hw role=rep vf=3 netns=pod1 netns_owned=1 ifname=eth0");
        assert_eq!(Record::parse(&a), Some(r));
        let plain = Record { prefix: "x".into(), role: Role::Vf, vf: 0, attached: None };
        assert_eq!(Record::parse(&plain.to_alias()), Some(plain));
        assert_eq!(Record::parse("my uplink"), None);
        assert_eq!(Record::parse("hwol-emunic prefix=x"), None);
    }
}
