//! The flow key and flow mask.
//!
//! `FlowKey` is `#[repr(C)]`, has no padding the compiler could add (every
//! gap is an explicit `_pad` field) and derives `bytemuck::Pod`, so it can be
//! viewed as `[u64; FLOW_WORDS]` without copying. The classifier only ever
//! touches it through [`FlowKey::words`]; everyone else uses the named fields.
//!
//! Conventions, chosen to match OVS's `struct flow` so that translating to and
//! from OVS text stays mechanical:
//!
//! - addresses are stored as network-order byte arrays;
//! - ports and EtherTypes are host-order integers;
//! - ICMP type and code live in `tp_src` and `tp_dst`;
//! - `eth_type` is the innermost EtherType; VLAN tags are in `vlans`, outer
//!   first, with `tpid == 0` meaning "no tag";
//! - for ARP, `nw_src`/`nw_dst` hold spa/tpa and `arp_op` the opcode.

use bytemuck::{Pod, Zeroable};
use hwol_wire::EthAddr;

/// Conntrack state bits, as OVS defines them for `ct_state`.
pub mod ct_state {
    /// The first packet of a connection conntrack has not seen committed.
    pub const NEW: u8 = 0x01;
    /// Part of an established connection (seen in both directions, or committed and seen again).
    pub const EST: u8 = 0x02;
    /// Related to an existing connection (e.g. an ICMP error about it).
    pub const REL: u8 = 0x04;
    /// The packet travels in the reply direction.
    pub const RPL: u8 = 0x08;
    /// Conntrack could not make sense of the packet.
    pub const INV: u8 = 0x10;
    /// The packet went through conntrack.
    pub const TRK: u8 = 0x20;
    /// Source NAT was applied.
    pub const SNAT: u8 = 0x40;
    /// Destination NAT was applied.
    pub const DNAT: u8 = 0x80;

    /// Bit names in OVS's order, lowest bit first, for printing and parsing
    /// `+new+trk` style flags. The bits are `u32` because OVS's `ct_state`
    /// field (and its flag formatting) is 32 bits wide.
    pub const NAMES: [(u32, &str); 8] = [
        (NEW as u32, "new"),
        (EST as u32, "est"),
        (REL as u32, "rel"),
        (RPL as u32, "rpl"),
        (INV as u32, "inv"),
        (TRK as u32, "trk"),
        (SNAT as u32, "snat"),
        (DNAT as u32, "dnat"),
    ];
}

/// Values of [`FlowKey::nw_frag`], as in OVS.
pub mod nw_frag {
    /// The packet is a fragment (first or later).
    pub const ANY: u8 = 0x01;
    /// The packet is a non-first fragment.
    pub const LATER: u8 = 0x02;
}

/// One VLAN tag: `tpid == 0` means absent.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Pod, Zeroable)]
pub struct VlanHeader {
    /// 0x8100, 0x88a8, or 0 when there is no tag.
    pub tpid: u16,
    /// PCP:3, DEI:1, VID:12.
    pub tci: u16,
}

/// Number of `u64` words in a [`FlowKey`].
pub const FLOW_WORDS: usize = 24;

/// The summary of one packet and its datapath metadata.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Pod, Zeroable)]
pub struct FlowKey {
    /// Conntrack label of the connection (128 bits).
    pub ct_label: u128,
    /// IPv6 source.
    pub ipv6_src: [u8; 16],
    /// IPv6 destination.
    pub ipv6_dst: [u8; 16],
    /// Conntrack original-direction IPv6 source.
    pub ct_ipv6_src: [u8; 16],
    /// Conntrack original-direction IPv6 destination.
    pub ct_ipv6_dst: [u8; 16],
    /// Recirculation id: 0 on first entry, allocated by ofproto for `recirc`.
    pub recirc_id: u32,
    /// Datapath port the packet arrived on.
    pub in_port: u32,
    /// skb mark.
    pub skb_mark: u32,
    /// skb priority.
    pub skb_priority: u32,
    /// Datapath hash (only set by a `hash` action; kept for format parity).
    pub dp_hash: u32,
    /// Conntrack mark.
    pub ct_mark: u32,
    /// IPv6 flow label (20 bits).
    pub ipv6_label: u32,
    /// IPv4 source, or ARP spa.
    pub nw_src: [u8; 4],
    /// IPv4 destination, or ARP tpa.
    pub nw_dst: [u8; 4],
    /// Conntrack original-direction IPv4 source.
    pub ct_nw_src: [u8; 4],
    /// Conntrack original-direction IPv4 destination.
    pub ct_nw_dst: [u8; 4],
    /// Conntrack zone.
    pub ct_zone: u16,
    /// Innermost EtherType.
    pub eth_type: u16,
    /// Up to two VLAN tags, outer first.
    pub vlans: [VlanHeader; 2],
    /// L4 source port, or ICMP type.
    pub tp_src: u16,
    /// L4 destination port, or ICMP code.
    pub tp_dst: u16,
    /// TCP flags (12 bits).
    pub tcp_flags: u16,
    /// Conntrack original-direction L4 source port.
    pub ct_tp_src: u16,
    /// Conntrack original-direction L4 destination port.
    pub ct_tp_dst: u16,
    /// ARP opcode.
    pub arp_op: u16,
    /// Ethernet source.
    pub eth_src: [u8; 6],
    /// Ethernet destination.
    pub eth_dst: [u8; 6],
    /// ARP sender hardware address.
    pub arp_sha: [u8; 6],
    /// ARP target hardware address.
    pub arp_tha: [u8; 6],
    /// Conntrack state bits (see [`ct_state`]).
    pub ct_state: u8,
    /// Conntrack original-direction IP protocol.
    pub ct_nw_proto: u8,
    /// IP protocol.
    pub nw_proto: u8,
    /// IPv4 TOS / IPv6 traffic class.
    pub nw_tos: u8,
    /// IPv4 TTL / IPv6 hop limit.
    pub nw_ttl: u8,
    /// Fragment bits (see [`nw_frag`]).
    pub nw_frag: u8,
    /// Explicit padding to a 16-byte multiple; always zero.
    pub _pad: [u8; 14],
}

const _: () = assert!(core::mem::size_of::<FlowKey>() == FLOW_WORDS * 8);

impl FlowKey {
    /// The key as 64-bit words, for masking and hashing.
    #[inline]
    pub fn words(&self) -> &[u64; FLOW_WORDS] {
        bytemuck::cast_ref(self)
    }

    /// Mutable word view.
    #[inline]
    pub fn words_mut(&mut self) -> &mut [u64; FLOW_WORDS] {
        bytemuck::cast_mut(self)
    }

    /// Build a key from words (inverse of [`Self::words`]).
    pub fn from_words(w: [u64; FLOW_WORDS]) -> Self {
        bytemuck::cast(w)
    }

    /// `self & mask`, field by field.
    #[inline]
    pub fn masked(&self, mask: &FlowMask) -> FlowKey {
        let mut out = *self;
        for (o, m) in out.words_mut().iter_mut().zip(mask.0.words()) {
            *o &= m;
        }
        out
    }

    /// Reset every conntrack field: state, zone, mark, label and the
    /// original-direction tuple (what `ct_clear` does).
    pub fn clear_ct(&mut self) {
        self.ct_state = 0;
        self.ct_zone = 0;
        self.ct_mark = 0;
        self.ct_label = 0;
        self.ct_nw_src = [0; 4];
        self.ct_nw_dst = [0; 4];
        self.ct_ipv6_src = [0; 16];
        self.ct_ipv6_dst = [0; 16];
        self.ct_nw_proto = 0;
        self.ct_tp_src = 0;
        self.ct_tp_dst = 0;
    }

    /// Ethernet source as an [`EthAddr`].
    pub fn eth_src(&self) -> EthAddr {
        EthAddr(self.eth_src)
    }

    /// Ethernet destination as an [`EthAddr`].
    pub fn eth_dst(&self) -> EthAddr {
        EthAddr(self.eth_dst)
    }

    /// True for IPv4 or IPv6 packets.
    pub fn is_ip(&self) -> bool {
        self.eth_type == hwol_wire::ethernet::ethertype::IPV4 || self.eth_type == hwol_wire::ethernet::ethertype::IPV6
    }
}

/// A mask over a [`FlowKey`]: set bits are significant.
#[repr(transparent)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Pod, Zeroable)]
pub struct FlowMask(pub FlowKey);

impl FlowMask {
    /// Every bit significant (an exact-match flow).
    pub fn exact() -> Self {
        let mut m = FlowMask(FlowKey::from_words([!0; FLOW_WORDS]));
        m.0._pad = [0; 14];
        m
    }

    /// Nothing significant (matches every packet).
    pub fn wildcard() -> Self {
        FlowMask::default()
    }

    /// Word view.
    #[inline]
    pub fn words(&self) -> &[u64; FLOW_WORDS] {
        self.0.words()
    }

    /// True when `key` matches `rule_key` under this mask.
    #[inline]
    pub fn matches(&self, rule_key: &FlowKey, key: &FlowKey) -> bool {
        self.words().iter().zip(rule_key.words()).zip(key.words()).all(|((m, r), k)| (r ^ k) & m == 0)
    }

    /// Bitwise OR: the union of significant bits (used when un-wildcarding).
    pub fn union(&self, other: &FlowMask) -> FlowMask {
        let mut out = *self;
        for (o, m) in out.0.words_mut().iter_mut().zip(other.words()) {
            *o |= m;
        }
        out
    }

    /// True when no bit is significant.
    pub fn is_wildcard(&self) -> bool {
        self.words().iter().all(|w| *w == 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_round_trip_and_mask() {
        let k = FlowKey { in_port: 7, eth_type: 0x0800, nw_src: [10, 0, 0, 1], ..Default::default() };
        assert_eq!(FlowKey::from_words(*k.words()), k);
        let mut m = FlowMask::default();
        m.0.in_port = !0;
        let masked = k.masked(&m);
        assert_eq!(masked.in_port, 7);
        assert_eq!(masked.nw_src, [0; 4]);
        let other = FlowKey { in_port: 7, ..Default::default() };
        assert!(m.matches(&k, &other));
        assert!(!FlowMask::exact().matches(&k, &other));
        assert!(FlowMask::exact().matches(&k, &k));
        assert_eq!(FlowMask::exact().0._pad, [0; 14]);
    }
}
