//! The eBPF fast path: C programs in `bpf/` (compiled by clang in
//! `build.rs`, loaded with aya) and the two offload providers that drive
//! them, [`XdpProvider`] and [`TcProvider`].
//!
//! # Design
//!
//! The fast path is a megaflow cache, like the kernel datapath of Open
//! vSwitch, in eBPF maps:
//!
//! - **Key.** The program parses the packet into `struct hwol_key` (a
//!   compact subset of `hwol_flow::FlowKey`: recirc id, in_port, ct
//!   state/zone/mark, Ethernet, one VLAN tag, IPv4/IPv6, protocol, TOS, TTL,
//!   fragment bits, L4 ports or ICMP type/code, TCP flags).
//! - **Masks.** Up to [`MAX_MASKS`] distinct masks live in an array. The
//!   program ANDs the key with each active mask (a `bpf_loop`) and probes
//!   one hash map keyed by `{mask index, masked key}`. Megaflows do not
//!   overlap, so the first hit is the hit. The provider refcounts mask slots
//!   and frees a slot with its last flow.
//! - **Actions.** A small array per flow: `output(port)`, `ct(zone)`,
//!   `recirc(id)`, `set(eth)`. `recirc` sets the key's recirc id and looks up
//!   again (at most [`MAX_PASSES`] lookups). One output per flow: the
//!   program redirects the packet, it does not clone it, so a flow with
//!   several outputs stays in software with a reason.
//! - **Conntrack.** Only established connections are pushed (`ct_put`, both
//!   directions). `ct(zone)` on a hit sets `+trk+est` (and `+rpl` for the
//!   reply direction) and the mark; a miss, anything that is not TCP/UDP,
//!   and TCP FIN/RST (so software tracks the teardown) go to the slow path.
//! - **Counters.** Per-flow packets, bytes and last use
//!   (`bpf_ktime_get_ns`, i.e. `CLOCK_MONOTONIC`) in the flow's map value,
//!   updated atomically; per-connection last use; per-CPU counters per
//!   [`Reason`] (stable codes shared with the C side).
//! - **Misses.** XDP: `XDP_PASS`, and the daemon reads misses from an
//!   AF_PACKET socket on the representor (XDP runs before taps, so that
//!   socket sees only misses). tc: the daemon must not read the
//!   representor (taps run before tc and would show forwarded packets too),
//!   so a miss gets an outer 802.1ad tag with VID = ingress port and is
//!   redirected to an upcall device the daemon owns (one end of a veth pair;
//!   it reads the other end, the tag arriving in `PACKET_AUXDATA`).
//!
//! - **Counters are committed at the end.** A flow's counters are bumped
//!   only when the packet finishes in the fast path (output or drop), so a
//!   packet that hits `recirc_id(0)` and then misses conntrack is counted by
//!   software alone, never twice.
//!
//! # Pinning, restart without loss, cleanup
//!
//! Maps and bpf_links (XDP links, tcx links) are pinned under
//! `/sys/fs/bpf/hwol/<instance>/{maps,links}/`. Pinned links keep the
//! programs attached while no daemon runs, so forwarding never stops. A
//! restarted daemon calls `attach_or_adopt`: the maps are reused by name,
//! each pinned link is switched to the newly loaded program with
//! `bpf_link_update` (atomic), and the provider rebuilds its ports, mask
//! slots and ufid index from the maps; the daemon then adopts the flows
//! `flow_dump` returns. `detach_all` (or [`cleanup_instance`] for the
//! leftovers of a crashed run) unpins everything, which detaches the
//! programs.
//!
//! Interface names are resolved, and links created, in the network
//! namespace of the calling thread.
//!
//! Limits: a tc output must be a veth-like representor (the hit path uses
//! `bpf_redirect_peer`); no NAT, ct labels, ct mark writes, push/pop VLAN,
//! multiple outputs, IPv6 extension headers or a second VLAN tag; these
//! stay in software with the reason.
//!
//! Measured on this machine (iperf3, one TCP stream, MTU 1500, a flow per
//! direction): tc 13.9–14.2 Gbit/s (the veth ceiling); native XDP
//! 2.8–3.0 Gbit/s with the pods' checksum/TSO offloads off, as XDP needs.
//!
//! This crate does not read the misses (the daemon does, with
//! `hwol-netdev`'s `PacketPort::recv_copy_tagged`, which returns the port
//! tag), create devices or namespaces, or run the slow path.

#![deny(unsafe_code)]

mod convert;
mod fastpath;
pub mod layout;
mod sys;
pub use std::path::PathBuf;
use std::time::Duration;

use hwol_conntrack::CtTuple;
use hwol_offload::{CtOffload, FastPathStats, OffloadError, OffloadFlow, OffloadProvider};

pub use convert::{
    ct_from_bpf, ct_to_bpf, flow_from_bpf, flow_ports, flow_to_bpf, key_from_bpf, key_to_bpf, BpfFlowParts,
};
pub use fastpath::PIN_ROOT;
pub use layout::{Reason, MAX_ACTIONS, MAX_CT, MAX_FLOWS, MAX_MASKS, MAX_PASSES};

use fastpath::{FastPath, Hook};

/// Errors setting up, adopting or tearing down a fast path instance.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The instance name cannot be a directory name.
    #[error("invalid instance name {0:?}: use 1-64 letters, digits, '-', '_' or '.' (not first)")]
    Instance(String),
    /// bpffs is not mounted and could not be mounted.
    #[error("cannot mount bpffs on {path}: {source}; run as root, or `mount -t bpf bpf /sys/fs/bpf`")]
    BpfFs {
        /// Mount point.
        path: PathBuf,
        /// Why.
        source: nix::Error,
    },
    /// The kernel refused the eBPF object.
    #[error("loading the eBPF fast path failed: {source}; it needs root and a kernel with BTF and bpf_loop (5.17+); if maps under /sys/fs/bpf/hwol are from an older build, remove them with cleanup_instance")]
    Load {
        /// aya's error (with the verifier log).
        source: Box<aya::EbpfError>,
    },
    /// A program or map the object should have is missing (a build mismatch).
    #[error("{0} is missing from the eBPF object; rebuild hwol-ebpf")]
    MissingObject(String),
    /// A program operation failed.
    #[error("{what}: {source}")]
    Program {
        /// What was being done.
        what: String,
        /// aya's error.
        source: Box<aya::programs::ProgramError>,
    },
    /// A link operation failed.
    #[error("{what}: {source}")]
    Link {
        /// What was being done.
        what: String,
        /// aya's error.
        source: Box<aya::programs::links::LinkError>,
    },
    /// Pinning a link failed.
    #[error("pinning {path}: {source}; is /sys/fs/bpf a bpffs?")]
    Pin {
        /// The pin path.
        path: PathBuf,
        /// aya's error.
        source: Box<aya::pin::PinError>,
    },
    /// A map operation failed.
    #[error("{what}: {source}")]
    Map {
        /// What was being done.
        what: String,
        /// aya's error.
        source: Box<aya::maps::MapError>,
    },
    /// A file operation on bpffs failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The error.
        source: std::io::Error,
    },
    /// The interface does not exist in the calling thread's network namespace.
    #[error("no interface {ifname:?} in this network namespace ({source}); call from the namespace that holds it")]
    NoSuchInterface {
        /// The name.
        ifname: String,
        /// The error.
        source: nix::Error,
    },
    /// The operation is for the other hook.
    #[error("{0}")]
    WrongHook(&'static str),
}

/// Remove everything a (crashed or stopped) instance left in bpffs: its
/// pinned links, which detaches its programs from every device, and its
/// pinned maps. Does nothing if there is nothing. Touches nothing else.
pub fn cleanup_instance(instance: &str) -> Result<(), Error> {
    fastpath::remove_instance_dir(&fastpath::instance_dir(instance)?)
}

macro_rules! delegate_provider {
    ($t:ty, $name:literal) => {
        impl OffloadProvider for $t {
            fn name(&self) -> &'static str {
                $name
            }
            fn port_add(&mut self, port: u32, ifname: &str) -> Result<(), OffloadError> {
                self.fp.port_add(port, ifname)
            }
            fn port_del(&mut self, port: u32) -> Result<(), OffloadError> {
                self.fp.port_del(port).map_err(|e| OffloadError::Failed(e.to_string()))
            }
            fn flow_put(&mut self, flow: &OffloadFlow) -> Result<(), OffloadError> {
                self.fp.flow_put(flow)
            }
            fn flow_del(&mut self, ufid: u128) -> Result<(), OffloadError> {
                self.fp.flow_del(ufid)
            }
            fn flow_stats(&mut self) -> Result<Vec<(u128, FastPathStats)>, OffloadError> {
                self.fp.flow_stats()
            }
            fn flow_dump(&mut self) -> Result<Vec<OffloadFlow>, OffloadError> {
                self.fp.flow_dump()
            }
            fn ct_put(&mut self, ct: &CtOffload) -> Result<(), OffloadError> {
                self.fp.ct_put(ct)
            }
            fn ct_del(&mut self, zone: u16, orig: &CtTuple) -> Result<(), OffloadError> {
                self.fp.ct_del(zone, orig)
            }
            fn ct_used(&mut self) -> Result<Vec<(u16, CtTuple, Duration)>, OffloadError> {
                self.fp.ct_used()
            }
            fn ct_dump(&mut self) -> Result<Vec<CtOffload>, OffloadError> {
                self.fp.ct_dump()
            }
        }

        impl $t {
            /// Packets counted per [`Reason`] since the maps were created.
            pub fn reason_counts(&self) -> Result<Vec<(Reason, u64)>, Error> {
                self.fp.reason_counts()
            }

            /// Detach the programs from every device and remove this
            /// instance's pins (links and maps).
            pub fn detach_all(self) -> Result<(), Error> {
                self.fp.detach_all()
            }
        }
    };
}

/// The fast path at XDP on the representors (`dp:xdp`).
///
/// Hits are redirected (`bpf_redirect`) to the output port's device; misses
/// are `XDP_PASS`ed to the daemon's AF_PACKET socket on the representor.
/// The pod-side peers need [`XdpProvider::attach_peer_pass`] (veth delivers
/// redirected frames only to a peer running NAPI). XDP loses checksum and
/// TSO offload: pods need `ethtool -K eth0 tx off` for TCP/UDP.
#[derive(Debug)]
pub struct XdpProvider {
    fp: FastPath,
}

impl XdpProvider {
    /// Load the programs for `instance`, reusing (adopting) its pinned maps
    /// and links if a previous daemon left them: pinned links are moved to
    /// the new programs atomically, so forwarding never stops. `generic`
    /// selects generic (skb) XDP instead of native.
    pub fn attach_or_adopt(instance: &str, generic: bool) -> Result<Self, Error> {
        let mode = if generic { aya::programs::XdpMode::Skb } else { aya::programs::XdpMode::Driver };
        Ok(XdpProvider { fp: FastPath::attach_or_adopt(instance, Hook::Xdp(mode))? })
    }

    /// Attach the XDP_PASS program to the pod-side peer `ifname` of `port`.
    /// The interface is looked up in the calling thread's network
    /// namespace, so call this from the pod's namespace. Removed by
    /// `port_del(port)`.
    pub fn attach_peer_pass(&mut self, port: u32, ifname: &str) -> Result<(), Error> {
        self.fp.peer_pass(port, ifname)
    }
}

delegate_provider!(XdpProvider, "xdp");

/// The fast path at tcx ingress on the representors (`dp:tc`).
///
/// Hits go to the output port's peer with `bpf_redirect_peer` (GSO and
/// checksum state kept). Misses get an 802.1ad tag with VID = ingress port
/// and go out of the upcall device (see [`TcProvider::set_upcall`]); ports
/// above 4095 are therefore refused.
#[derive(Debug)]
pub struct TcProvider {
    fp: FastPath,
}

impl TcProvider {
    /// Load the programs for `instance`, adopting its pinned maps and links
    /// as [`XdpProvider::attach_or_adopt`] does, and send misses to
    /// `upcall_ifname` (see [`TcProvider::set_upcall`]).
    pub fn attach_or_adopt(instance: &str, upcall_ifname: Option<&str>) -> Result<Self, Error> {
        let mut fp = FastPath::attach_or_adopt(instance, Hook::Tc)?;
        fp.set_upcall(upcall_ifname)?;
        Ok(TcProvider { fp })
    }

    /// Redirect misses out of `ifname` (one end of a veth pair the daemon
    /// owns and reads at the other end), or with `None` pass them to the
    /// host stack.
    pub fn set_upcall(&mut self, ifname: Option<&str>) -> Result<(), Error> {
        self.fp.set_upcall(ifname)
    }
}

delegate_provider!(TcProvider, "tc");
