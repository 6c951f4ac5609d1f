//! The datapath action IR.
//!
//! These are the actions a megaflow carries, one-to-one with the datapath
//! actions OVS prints after `actions:` in `dpctl/dump-flows`. Execution is in
//! `hwol-datapath`; text parsing and printing is in `hwol-odp`.
//!
//! Sets come in two flavours, like OVS's `OVS_ACTION_ATTR_SET` and
//! `OVS_ACTION_ATTR_SET_MASKED`: [`Action::Set`] carries a `masked` flag and
//! every field is a [`Masked`] value. For an unmasked set the masks are
//! all-ones over the fields the header has.

use hwol_wire::EthAddr;

/// A value and the bits of it that matter.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Masked<T> {
    /// The value (bits outside `mask` are ignored).
    pub value: T,
    /// Which bits of `value` apply.
    pub mask: T,
}

impl<T> Masked<T> {
    /// A value with an explicit mask.
    pub fn new(value: T, mask: T) -> Self {
        Masked { value, mask }
    }
}

/// The datapath's name for a port: a small integer.
pub type PortNo = u32;

/// One datapath action.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Action {
    /// Send a copy of the packet out of a port.
    Output(PortNo),
    /// Send the packet to the slow path.
    Userspace(UserspaceAction),
    /// Run the packet through conntrack.
    Ct(CtAction),
    /// Clear conntrack state from the packet's metadata.
    CtClear,
    /// Re-run the packet through the classifier with this recirc id.
    Recirc(u32),
    /// Rewrite header fields.
    Set {
        /// What to rewrite.
        set: SetAction,
        /// Printed and passed as `set_masked` semantics (the masks matter).
        masked: bool,
    },
    /// Push a VLAN tag.
    PushVlan {
        /// 0x8100 or 0x88a8.
        tpid: u16,
        /// The TCI to push (PCP:3, DEI:1, VID:12).
        tci: u16,
    },
    /// Pop the outermost VLAN tag.
    PopVlan,
    /// Drop the packet explicitly.
    Drop,
}

/// The `userspace(...)` action: hand the packet to the slow path.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct UserspaceAction {
    /// The netlink/port id of the upcall handler.
    pub pid: u32,
    /// Opaque cookie returned with the upcall.
    pub userdata: Vec<u8>,
}

/// The `ct(...)` action.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct CtAction {
    /// Commit the connection to the table.
    pub commit: bool,
    /// `force_commit`: commit even if the packet is a reply to an existing
    /// connection in the other direction, replacing it.
    pub force: bool,
    /// Conntrack zone.
    pub zone: u16,
    /// Set the connection mark (only with commit).
    pub mark: Option<Masked<u32>>,
    /// Set the connection label (only with commit).
    pub label: Option<Masked<u128>>,
    /// Application-layer helper name (e.g. "ftp"); parsed and printed, not run.
    pub helper: Option<String>,
    /// Network address translation; see [`NatAction`].
    pub nat: Option<NatAction>,
}

/// The NAT part of `ct(nat(...))`. The types are complete so that flows
/// round-trip through text; executing NAT is not implemented yet, and the
/// datapath drops such packets with `DropReason::CtNatUnsupported`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct NatAction {
    /// `src` or `dst`; `None` means "reverse NAT for an existing connection".
    pub kind: Option<NatKind>,
    /// Address range, inclusive.
    pub addrs: Option<(std::net::IpAddr, std::net::IpAddr)>,
    /// Port range, inclusive.
    pub ports: Option<(u16, u16)>,
    /// Allocate ports randomly.
    pub random: bool,
    /// Keep the same address per source (`persistent`).
    pub persistent: bool,
    /// Hash-based port selection.
    pub hash: bool,
}

/// Which side NAT rewrites.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum NatKind {
    /// Source NAT.
    Src,
    /// Destination NAT.
    Dst,
}

/// Header rewrites.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum SetAction {
    /// Ethernet addresses.
    Eth {
        /// Source.
        src: Masked<EthAddr>,
        /// Destination.
        dst: Masked<EthAddr>,
    },
    /// IPv4 header fields; the checksums (IP and L4) are updated incrementally.
    Ipv4 {
        /// Source.
        src: Masked<[u8; 4]>,
        /// Destination.
        dst: Masked<[u8; 4]>,
        /// TOS byte.
        tos: Masked<u8>,
        /// TTL.
        ttl: Masked<u8>,
    },
    /// IPv6 header fields; the L4 checksum is updated incrementally.
    Ipv6 {
        /// Source.
        src: Masked<[u8; 16]>,
        /// Destination.
        dst: Masked<[u8; 16]>,
        /// Flow label (20 bits).
        label: Masked<u32>,
        /// Traffic class.
        tclass: Masked<u8>,
        /// Hop limit.
        hlimit: Masked<u8>,
    },
    /// TCP ports.
    Tcp {
        /// Source port.
        src: Masked<u16>,
        /// Destination port.
        dst: Masked<u16>,
    },
    /// UDP ports.
    Udp {
        /// Source port.
        src: Masked<u16>,
        /// Destination port.
        dst: Masked<u16>,
    },
    /// skb mark (metadata only).
    SkbMark(Masked<u32>),
    /// skb priority (metadata only).
    SkbPriority(Masked<u32>),
}
