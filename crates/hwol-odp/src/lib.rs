//! Parse and print Open vSwitch datapath flows as text, exactly as
//! `ovs-appctl dpctl/dump-flows` prints them, with and without `--names` and
//! `-m`.
//!
//! # The format
//!
//! One flow per line:
//!
//! ```text
//! recirc_id(0),in_port(2),packet_type(ns=0,id=0),eth_type(0x0800),ipv4(frag=no), packets:37719, bytes:2665890, used:0.000s, flags:SP., actions:ct(zone=65520),recirc(0x2)
//! ```
//!
//! - the **key**: comma-separated attributes `name(fields)`; a field is
//!   `value` or `value/mask`, and an omitted field is fully wildcarded;
//! - the **statistics**, see [`flow`];
//! - the **actions**, see [`action`].
//!
//! With `-m` the line starts with `ufid:<uuid>, `, and `dp:<layer>`,
//! `offloaded:yes|partial` and `dp-extra-info:<text>` may follow.
//!
//! # Attribute order
//!
//! OVS prints key attributes in the order the datapath returned them, so
//! the parser keeps the order it read ([`OdpKey`] is a list, not a struct)
//! and prints it back unchanged. [`OdpKey::from_flow`] has to choose an
//! order; it emits the one OVS's `odp_flow_key_from_flow` produced before
//! OVS 3.2, which is what the reference captures show:
//!
//! ```text
//! skb_priority, skb_mark, ct_state, ct_zone, ct_mark, ct_label, ct_tuple4|ct_tuple6,
//! recirc_id, dp_hash, in_port, packet_type, eth,
//! [eth_type(tpid), vlan, encap(...)] eth_type, ipv4|ipv6|arp, tcp[,tcp_flags]|udp|sctp|icmp|icmpv6
//! ```
//!
//! OVS 3.2 moved `recirc_id, dp_hash` first and `in_port` after
//! `skb_priority` to match the kernel; [`AttrOrder::Kernel`] produces that.
//!
//! # Verbose and terse printing
//!
//! The rules are OVS's `odp_flow_format` and `format_odp_key_attr`:
//!
//! | | terse (default) | verbose (`-m`) |
//! |---|---|---|
//! | fully wildcarded attribute | omitted (but an all-wildcard `eth` prints as `eth()` unless `packet_type` came before it) | printed, e.g. `skb_mark(0/0)` |
//! | wildcarded field | omitted | printed with its mask: `src=10.0.0.1/0.0.0.0` |
//! | exact field | `src=10.0.0.1` | same |
//! | partial mask | `dst=192.168.1.0/255.255.255.0` | same |
//! | `ct_state` | flags: `+est+trk` (masked), `new\|trk` (exact) | hex: `0x21/0x21` |
//! | `ct_zone`, `ct_mark`, `ct_label` | `%#x`, mask if not exact | same, and `0/0` when wildcarded |
//! | `tcp_flags` | `+syn-ack` / `syn\|ack` / `0/0` | same |
//! | `in_port` | name or number if exact, else `N/0xM` | same |
//! | `frag` | `no`/`first`/`later`, omitted when wildcarded | same |
//!
//! Numbers follow C's `%#x` (`0` for zero, `0x…` otherwise) where OVS uses
//! it; `eth_type` is always `0x%04x`.
//!
//! A parsed line remembers its [`Style`]: it is verbose if it has a `ufid:`,
//! `dp:`, `offloaded:` or `dp-extra-info:` part, a hex `ct_state`, or any
//! explicit all-zero mask (terse output never prints one). A terse line is
//! canonicalized on parsing: attributes terse printing would drop are
//! dropped, so `parse → print → parse` is the identity. Printing a parsed
//! OVS line in its own style ([`OdpFlow::format_as_parsed`]) gives back the
//! same bytes.
//!
//! # What this crate does not do
//!
//! No I/O and no datapath: it converts text to [`OdpFlow`] and back, and
//! keys to and from hwol's [`hwol_flow::FlowKey`]/[`hwol_flow::FlowMask`].
//! Tunnel, MPLS, NSH and ND key attributes, and OVS actions hwol's
//! [`hwol_flow::Action`] has no variant for, are rejected with an error that
//! names them. [`OdpKey::from_flow`] is not a full `odp_flow_key_from_flow`:
//! see its documentation.

#![forbid(unsafe_code)]

pub mod action;
pub mod flow;
pub mod key;
pub mod ports;
mod text;

pub use action::{format_actions, parse_actions};
pub use flow::{format_key, parse_flow, parse_key, FlowStats, FormatOpts, OdpFlow, Offloaded, Style, Used};
pub use key::{AttrOrder, FromFlowOpts, KeyAttr, OdpKey};
pub use ports::PortNames;
pub use text::ParseError;
