//! Executing a datapath action list on one packet.
//!
//! [`execute`] walks the actions in order, rewriting the packet in place and
//! keeping its [`FlowKey`] and [`Layout`] in step, so that a later `ct` or
//! `recirc` sees the rewritten headers. Checksums are updated incrementally
//! (RFC 1624); when the packet's L4 checksum is a pseudo-header sum awaiting
//! completion by the NIC (`CHECKSUM_PARTIAL`), the update is applied without
//! the complement.
//!
//! Side effects leave through an [`ActionSink`], which the I/O layer (or a
//! test) implements: `output` receives a borrowed frame and copies it where
//! it must go, so executing never allocates, except for a `recirc` that is not
//! the last action, which needs its own copy of the packet.

use crate::packet::Packet;
use hwol_conntrack::{Conntrack, CtOutcome};
use hwol_flow::action::{PortNo, UserspaceAction};
use hwol_flow::{Action, DropReason, FlowKey, Layout, Masked, SetAction};
use hwol_wire::checksum;
use hwol_wire::ethernet::ethertype;
use hwol_wire::ipv4::proto;
use std::time::Duration;

/// Where executed actions send packets.
pub trait ActionSink {
    /// Transmit a copy of `pkt` on `port`. Return `false` if the port does
    /// not exist; the datapath counts that as a drop and continues.
    fn output(&mut self, port: PortNo, pkt: &Packet) -> bool;
    /// Hand a copy of `pkt` to the slow path with the `userspace` cookie.
    fn userspace(&mut self, pkt: &Packet, key: &FlowKey, action: &UserspaceAction);
}

/// How an action list ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Next {
    /// All actions ran; nothing more to do with this packet.
    Done,
    /// The last action was `recirc(id)`: look the packet up again.
    Recirc(u32),
    /// The packet was dropped, for this reason.
    Drop(DropReason),
}

/// A packet that must be recirculated in addition to the current one (from a
/// `recirc` that was not the last action).
#[derive(Clone, Debug)]
pub struct Forked {
    /// A copy of the packet as it was at the `recirc`.
    pub packet: Packet,
    /// Its key at that point (metadata included).
    pub key: FlowKey,
    /// The recirculation id.
    pub recirc_id: u32,
}

/// Everything `execute` needs besides the packet.
pub struct ExecContext<'a, S: ActionSink> {
    /// The connection tracker `ct` actions use.
    pub conntrack: &'a Conntrack,
    /// Current time for conntrack.
    pub now: Duration,
    /// Receives outputs and upcalls.
    pub sink: &'a mut S,
    /// Receives copies for non-final `recirc` actions.
    pub forked: &'a mut Vec<Forked>,
    /// Outputs to unknown ports, counted here.
    pub unknown_port_outputs: u64,
}

/// Run `actions` on `pkt`. An empty list is a drop, as in OVS.
pub fn execute<S: ActionSink>(
    ctx: &mut ExecContext<'_, S>,
    pkt: &mut Packet,
    key: &mut FlowKey,
    layout: &mut Layout,
    actions: &[Action],
) -> Next {
    if actions.is_empty() {
        return Next::Drop(DropReason::ActionDrop);
    }
    let last = actions.len() - 1;
    for (i, action) in actions.iter().enumerate() {
        match action {
            Action::Output(port) => {
                if !ctx.sink.output(*port, pkt) {
                    ctx.unknown_port_outputs += 1;
                }
            }
            Action::Userspace(u) => ctx.sink.userspace(pkt, key, u),
            Action::Ct(ct) => match ctx.conntrack.execute(pkt.data(), key, layout, ct, ctx.now) {
                CtOutcome::Tracked(v) => v.apply(key),
                CtOutcome::Drop(r) => return Next::Drop(r),
            },
            Action::CtClear => key.clear_ct(),
            Action::Recirc(id) => {
                if i == last {
                    return Next::Recirc(*id);
                }
                ctx.forked.push(Forked { packet: pkt.clone(), key: *key, recirc_id: *id });
            }
            Action::Set { set, .. } => {
                if let Err(r) = apply_set(pkt, key, layout, set) {
                    return Next::Drop(r);
                }
            }
            Action::PushVlan { tpid, tci } => {
                if let Err(r) = push_vlan(pkt, key, layout, *tpid, *tci) {
                    return Next::Drop(r);
                }
            }
            Action::PopVlan => pop_vlan(pkt, key, layout),
            Action::Drop => return Next::Drop(DropReason::ActionDrop),
        }
    }
    Next::Done
}

fn push_vlan(pkt: &mut Packet, key: &mut FlowKey, layout: &mut Layout, tpid: u16, tci: u16) -> Result<(), DropReason> {
    if key.vlans[1].tpid != 0 {
        return Err(DropReason::VlanStackFull);
    }
    let t = tpid.to_be_bytes();
    let c = tci.to_be_bytes();
    pkt.insert_front(12, &[t[0], t[1], c[0], c[1]]);
    key.vlans[1] = key.vlans[0];
    key.vlans[0] = hwol_flow::VlanHeader { tpid, tci };
    shift_layout(layout, 4);
    layout.vlan_count += 1;
    Ok(())
}

/// Pops the outer tag; a packet without one is left alone, as in OVS.
fn pop_vlan(pkt: &mut Packet, key: &mut FlowKey, layout: &mut Layout) {
    if key.vlans[0].tpid == 0 || layout.vlan_count == 0 || pkt.len() < 18 {
        return;
    }
    pkt.remove_front(12, 4);
    key.vlans[0] = key.vlans[1];
    key.vlans[1] = hwol_flow::VlanHeader::default();
    shift_layout(layout, -4);
    layout.vlan_count -= 1;
}

fn shift_layout(layout: &mut Layout, by: i32) {
    for off in [&mut layout.l2_ethertype, &mut layout.l3, &mut layout.l4] {
        if *off != Layout::ABSENT {
            *off = (*off as i32 + by) as u16;
        }
    }
}

#[inline]
fn merge<T: Copy + core::ops::BitAnd<Output = T> + core::ops::BitOr<Output = T> + core::ops::Not<Output = T>>(
    old: T,
    m: &Masked<T>,
) -> T {
    (old & !m.mask) | (m.value & m.mask)
}

fn merge_bytes<const N: usize>(old: [u8; N], m: &Masked<[u8; N]>) -> [u8; N] {
    let mut out = old;
    for i in 0..N {
        out[i] = (old[i] & !m.mask[i]) | (m.value[i] & m.mask[i]);
    }
    out
}

fn be16(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([b[at], b[at + 1]])
}

fn put16(b: &mut [u8], at: usize, v: u16) {
    b[at..at + 2].copy_from_slice(&v.to_be_bytes());
}

/// Offset (in the frame) of the L4 checksum that covers the IP pseudo-header,
/// and whether a zero there means "no checksum" (UDP over IPv4).
fn l4_pseudo_csum(key: &FlowKey, layout: &Layout) -> Option<(usize, bool)> {
    if layout.l4 == Layout::ABSENT {
        return None;
    }
    let l4 = layout.l4 as usize;
    match key.nw_proto {
        proto::TCP => Some((l4 + 16, false)),
        proto::UDP => Some((l4 + 6, key.eth_type == ethertype::IPV4)),
        proto::ICMPV6 => Some((l4 + 2, false)),
        _ => None,
    }
}

/// Adjust the checksum at `at` for a change of covered bytes `old` -> `new`.
fn fix_csum(data: &mut [u8], at: usize, old: &[u8], new: &[u8], partial: bool, zero_is_none: bool) {
    let cur = be16(data, at);
    if zero_is_none && cur == 0 {
        return;
    }
    let updated = if partial {
        !checksum::update_bytes(!cur, old, new)
    } else {
        let c = checksum::update_bytes(cur, old, new);
        if zero_is_none && c == 0 {
            0xffff
        } else {
            c
        }
    };
    put16(data, at, updated);
}

fn apply_set(pkt: &mut Packet, key: &mut FlowKey, layout: &Layout, set: &SetAction) -> Result<(), DropReason> {
    let partial = pkt.l4_csum_partial;
    match set {
        SetAction::Eth { src, dst } => {
            let s = merge_bytes(key.eth_src, &Masked::new(src.value.0, src.mask.0));
            let d = merge_bytes(key.eth_dst, &Masked::new(dst.value.0, dst.mask.0));
            let data = pkt.data_mut();
            data[0..6].copy_from_slice(&d);
            data[6..12].copy_from_slice(&s);
            key.eth_src = s;
            key.eth_dst = d;
        }
        SetAction::Ipv4 { src, dst, tos, ttl } => {
            if key.eth_type != ethertype::IPV4 || layout.l3 == Layout::ABSENT {
                return Err(DropReason::ActionHeaderMissing);
            }
            let l3 = layout.l3 as usize;
            let l4c = if key.nw_frag & hwol_flow::nw_frag::LATER == 0 { l4_pseudo_csum(key, layout) } else { None };
            let data = pkt.data_mut();
            let ip_csum = l3 + 10;
            for (field, m, at) in [(&mut key.nw_src, src, l3 + 12), (&mut key.nw_dst, dst, l3 + 16)] {
                let new = merge_bytes(*field, m);
                if new != *field {
                    let old = *field;
                    data[at..at + 4].copy_from_slice(&new);
                    fix_csum(data, ip_csum, &old, &new, false, false);
                    if let Some((c, z)) = l4c {
                        fix_csum(data, c, &old, &new, partial, z);
                    }
                    *field = new;
                }
            }
            let new_tos = merge(key.nw_tos, tos);
            if new_tos != key.nw_tos {
                let old = [data[l3], data[l3 + 1]];
                data[l3 + 1] = new_tos;
                let new = [data[l3], new_tos];
                fix_csum(data, ip_csum, &old, &new, false, false);
                key.nw_tos = new_tos;
            }
            let new_ttl = merge(key.nw_ttl, ttl);
            if new_ttl != key.nw_ttl {
                let old = [data[l3 + 8], data[l3 + 9]];
                data[l3 + 8] = new_ttl;
                let new = [new_ttl, data[l3 + 9]];
                fix_csum(data, ip_csum, &old, &new, false, false);
                key.nw_ttl = new_ttl;
            }
        }
        SetAction::Ipv6 { src, dst, label, tclass, hlimit } => {
            if key.eth_type != ethertype::IPV6 || layout.l3 == Layout::ABSENT {
                return Err(DropReason::ActionHeaderMissing);
            }
            let l3 = layout.l3 as usize;
            let l4c = if key.nw_frag & hwol_flow::nw_frag::LATER == 0 { l4_pseudo_csum(key, layout) } else { None };
            let data = pkt.data_mut();
            for (field, m, at) in [(&mut key.ipv6_src, src, l3 + 8), (&mut key.ipv6_dst, dst, l3 + 24)] {
                let new = merge_bytes(*field, m);
                if new != *field {
                    let old = *field;
                    data[at..at + 16].copy_from_slice(&new);
                    if let Some((c, z)) = l4c {
                        fix_csum(data, c, &old, &new, partial, z);
                    }
                    *field = new;
                }
            }
            let new_tc = merge(key.nw_tos, tclass);
            let new_label = merge(key.ipv6_label, label) & 0x000f_ffff;
            let word = (6u32 << 28) | ((new_tc as u32) << 20) | new_label;
            data[l3..l3 + 4].copy_from_slice(&word.to_be_bytes());
            key.nw_tos = new_tc;
            key.ipv6_label = new_label;
            let new_hl = merge(key.nw_ttl, hlimit);
            data[l3 + 7] = new_hl;
            key.nw_ttl = new_hl;
        }
        SetAction::Tcp { src, dst } | SetAction::Udp { src, dst } => {
            let want = if matches!(set, SetAction::Tcp { .. }) { proto::TCP } else { proto::UDP };
            if key.nw_proto != want || layout.l4 == Layout::ABSENT {
                return Err(if key.nw_frag & hwol_flow::nw_frag::LATER != 0 {
                    DropReason::SetOnFragment
                } else {
                    DropReason::ActionHeaderMissing
                });
            }
            let l4 = layout.l4 as usize;
            let (c, z) = l4_pseudo_csum(key, layout).ok_or(DropReason::ActionHeaderMissing)?;
            let data = pkt.data_mut();
            for (field, m, at) in [(&mut key.tp_src, src, l4), (&mut key.tp_dst, dst, l4 + 2)] {
                let new = merge(*field, m);
                if new != *field {
                    put16(data, at, new);
                    // Ports are covered by the checksum itself, not the
                    // pseudo-header, so a partial checksum is left alone.
                    if !partial {
                        fix_csum(data, c, &field.to_be_bytes(), &new.to_be_bytes(), false, z);
                    }
                    *field = new;
                }
            }
        }
        SetAction::SkbMark(m) => key.skb_mark = merge(key.skb_mark, m),
        SetAction::SkbPriority(m) => key.skb_priority = merge(key.skb_priority, m),
    }
    Ok(())
}
