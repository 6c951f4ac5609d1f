//! Conversion between the datapath's flows and connections and the fast
//! path's map entries, and the refusal reasons. Pure: no I/O, no maps.
//!
//! What the fast path accepts is the model in `hwol_offload::memory`
//! ([`check_match`], [`check_ct_state`], [`check_actions`]) narrowed by what
//! these programs do not do:
//!
//! - one output per flow (the programs redirect, they do not clone), and
//!   nothing after an `output` or a `recirc`;
//! - `ct()` that sets a mark (the programs never write conntrack state);
//! - IPv6 flow labels and a second VLAN tag (not parsed);
//! - at most [`MAX_ACTIONS`] actions;
//! - conntrack entries for TCP and UDP only, without labels.

use std::net::IpAddr;

use hwol_conntrack::CtTuple;
use hwol_flow::{Action, CtAction, FlowKey, FlowMask, Masked, SetAction};
use hwol_offload::memory::{check_actions, check_ct_state, SUPPORTED_FIELDS};
use hwol_offload::{check_match, CtOffload, NotOffloadedReason, OffloadFlow};
use hwol_wire::EthAddr;

use crate::layout::*;

/// A flow as the maps hold it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BpfFlowParts {
    /// The key, already ANDed with `mask`.
    pub key: BpfKey,
    /// The mask.
    pub mask: BpfKey,
    /// The actions (at most [`MAX_ACTIONS`]).
    pub actions: Vec<BpfAction>,
}

fn unsupported_action(a: &Action, why: &str) -> NotOffloadedReason {
    NotOffloadedReason::UnsupportedAction { action: format!("{a:?} ({why})") }
}

/// Ports a flow uses: its input port (when matched) and its outputs.
pub fn flow_ports(flow: &OffloadFlow) -> Vec<u32> {
    let mut ports = Vec::new();
    if flow.mask.0.in_port != 0 {
        ports.push(flow.key.in_port);
    }
    ports.extend(flow.actions.iter().filter_map(|a| if let Action::Output(p) = a { Some(*p) } else { None }));
    ports
}

/// Convert `flow` to map entries, or say why it stays in software.
/// `port_attached(port)` is `Err(why)` for a port the fast path cannot use.
pub fn flow_to_bpf(
    flow: &OffloadFlow,
    port_attached: impl Fn(u32) -> Result<(), String>,
) -> Result<BpfFlowParts, NotOffloadedReason> {
    check_match(&flow.mask, SUPPORTED_FIELDS)?;
    check_ct_state(flow)?;
    check_actions(flow)?;
    let (k, m) = (&flow.key, &flow.mask.0);
    if m.ipv6_label != 0 {
        return Err(NotOffloadedReason::UnsupportedMatch { field: "ipv6_label" });
    }
    // A second tag is never parsed: packets with one are misses, so "no
    // second tag" is implied and anything else cannot be matched.
    if m.vlans[1].tci != 0 || (m.vlans[1].tpid != 0 && k.vlans[1].tpid != 0) {
        return Err(NotOffloadedReason::UnsupportedMatch { field: "vlan" });
    }
    if flow.actions.len() > MAX_ACTIONS {
        return Err(NotOffloadedReason::UnsupportedAction {
            action: format!("{} actions (the fast path runs at most {MAX_ACTIONS})", flow.actions.len()),
        });
    }
    let mut actions = Vec::with_capacity(flow.actions.len());
    for (i, a) in flow.actions.iter().enumerate() {
        if i > 0 && matches!(flow.actions[i - 1], Action::Output(_) | Action::Recirc(_)) {
            return Err(unsupported_action(a, "the fast path stops at the first output or recirc"));
        }
        let mut b = BpfAction::default();
        match a {
            Action::Output(p) => {
                b.kind = ACT_OUTPUT;
                b.arg = *p;
            }
            Action::Recirc(id) => {
                b.kind = ACT_RECIRC;
                b.arg = *id;
            }
            Action::Ct(ct) => {
                if ct.mark.is_some() {
                    return Err(unsupported_action(a, "the fast path does not write connection marks"));
                }
                b.kind = ACT_CT;
                b.arg = u32::from(ct.zone);
                b.flags = if ct.commit { CT_F_COMMIT } else { 0 } | if ct.force { CT_F_FORCE } else { 0 };
            }
            Action::Set { set: SetAction::Eth { src, dst }, masked } => {
                b.kind = ACT_SET_ETH;
                b.flags = if *masked { SET_F_MASKED } else { 0 };
                b.eth_src = src.value.0;
                b.eth_src_mask = if *masked { src.mask.0 } else { [0xff; 6] };
                b.eth_dst = dst.value.0;
                b.eth_dst_mask = if *masked { dst.mask.0 } else { [0xff; 6] };
            }
            _ => return Err(unsupported_action(a, "not implemented in the fast path")),
        }
        actions.push(b);
    }
    if actions.iter().filter(|a| a.kind == ACT_OUTPUT).count() > 1 {
        return Err(NotOffloadedReason::UnsupportedAction {
            action: "more than one output (the fast path redirects one copy)".into(),
        });
    }
    for p in flow_ports(flow) {
        port_attached(p).map_err(|why| NotOffloadedReason::PortNotOffloadable { port: p, why })?;
    }
    let mask = key_to_bpf(m);
    Ok(BpfFlowParts { key: key_to_bpf(k).masked(&mask), mask, actions })
}

/// The BPF key fields of a [`FlowKey`] (also used for masks).
pub fn key_to_bpf(k: &FlowKey) -> BpfKey {
    BpfKey {
        recirc_id: k.recirc_id,
        in_port: k.in_port,
        ct_mark: k.ct_mark,
        ct_zone: k.ct_zone,
        ct_state: k.ct_state,
        nw_proto: k.nw_proto,
        eth_src: k.eth_src,
        eth_dst: k.eth_dst,
        eth_type: k.eth_type,
        vlan_tci: k.vlans[0].tci,
        vlan_tpid: k.vlans[0].tpid,
        tcp_flags: k.tcp_flags,
        ipv4_src: k.nw_src,
        ipv4_dst: k.nw_dst,
        ipv6_src: k.ipv6_src,
        ipv6_dst: k.ipv6_dst,
        tp_src: k.tp_src,
        tp_dst: k.tp_dst,
        nw_tos: k.nw_tos,
        nw_ttl: k.nw_ttl,
        nw_frag: k.nw_frag,
        pad0: 0,
        pad1: 0,
    }
}

/// The inverse of [`key_to_bpf`]; fields the fast path does not know are zero.
pub fn key_from_bpf(b: &BpfKey) -> FlowKey {
    let mut k = FlowKey {
        recirc_id: b.recirc_id,
        in_port: b.in_port,
        ct_mark: b.ct_mark,
        ct_zone: b.ct_zone,
        ct_state: b.ct_state,
        nw_proto: b.nw_proto,
        eth_src: b.eth_src,
        eth_dst: b.eth_dst,
        eth_type: b.eth_type,
        tcp_flags: b.tcp_flags,
        nw_src: b.ipv4_src,
        nw_dst: b.ipv4_dst,
        ipv6_src: b.ipv6_src,
        ipv6_dst: b.ipv6_dst,
        tp_src: b.tp_src,
        tp_dst: b.tp_dst,
        nw_tos: b.nw_tos,
        nw_ttl: b.nw_ttl,
        nw_frag: b.nw_frag,
        ..Default::default()
    };
    k.vlans[0].tci = b.vlan_tci;
    k.vlans[0].tpid = b.vlan_tpid;
    k
}

/// Rebuild the datapath flow from its map entries (for `flow_dump`).
/// Returns `None` for an entry this version cannot decode.
pub fn flow_from_bpf(key: &BpfFlowKey, mask: &BpfKey, value: &BpfFlow) -> Option<OffloadFlow> {
    let n = usize::try_from(value.n_actions).ok().filter(|n| *n <= MAX_ACTIONS)?;
    let mut actions = Vec::with_capacity(n);
    for b in &value.actions[..n] {
        actions.push(match b.kind {
            ACT_OUTPUT => Action::Output(b.arg),
            ACT_RECIRC => Action::Recirc(b.arg),
            ACT_CT => Action::Ct(CtAction {
                commit: b.flags & CT_F_COMMIT != 0,
                force: b.flags & CT_F_FORCE != 0,
                zone: u16::try_from(b.arg).ok()?,
                ..Default::default()
            }),
            ACT_SET_ETH => Action::Set {
                set: SetAction::Eth {
                    src: Masked { value: EthAddr(b.eth_src), mask: EthAddr(b.eth_src_mask) },
                    dst: Masked { value: EthAddr(b.eth_dst), mask: EthAddr(b.eth_dst_mask) },
                },
                masked: b.flags & SET_F_MASKED != 0,
            },
            _ => return None,
        });
    }
    // Unmasked set actions were stored with all-ones masks; give back what was put.
    for a in &mut actions {
        if let Action::Set { set: SetAction::Eth { src, dst }, masked: false } = a {
            src.mask = EthAddr::default();
            dst.mask = EthAddr::default();
        }
    }
    Some(OffloadFlow { ufid: value.ufid(), key: key_from_bpf(&key.key), mask: FlowMask(key_from_bpf(mask)), actions })
}

fn addr_bytes(a: &IpAddr) -> (u8, [u8; 16]) {
    match a {
        IpAddr::V4(v4) => {
            let mut b = [0u8; 16];
            b[..4].copy_from_slice(&v4.octets());
            (4, b)
        }
        IpAddr::V6(v6) => (6, v6.octets()),
    }
}

fn addr_from(family: u8, b: &[u8; 16]) -> IpAddr {
    if family == 4 {
        IpAddr::from([b[0], b[1], b[2], b[3]])
    } else {
        IpAddr::from(*b)
    }
}

/// The two conntrack entries (original, reply) for a connection.
pub fn ct_to_bpf(ct: &CtOffload) -> Result<[(BpfCtKey, BpfCtVal); 2], NotOffloadedReason> {
    let t = &ct.orig;
    if t.proto != 6 && t.proto != 17 {
        return Err(NotOffloadedReason::SlowPathOnly { why: "the fast path tracks TCP and UDP connections only" });
    }
    if ct.label != 0 {
        return Err(NotOffloadedReason::UnsupportedMatch { field: "ct_label" });
    }
    let (fs, src) = addr_bytes(&t.src);
    let (fd, dst) = addr_bytes(&t.dst);
    if fs != fd {
        return Err(NotOffloadedReason::SlowPathOnly { why: "source and destination are of different IP versions" });
    }
    let orig = BpfCtKey { zone: ct.zone, proto: t.proto, family: fs, sport: t.sport, dport: t.dport, src, dst };
    let reply = BpfCtKey { sport: t.dport, dport: t.sport, src: dst, dst: src, ..orig };
    let val = |dir| BpfCtVal { mark: ct.mark, dir, pad: [0; 3], used_ns: 0 };
    Ok([(orig, val(CT_DIR_ORIG)), (reply, val(CT_DIR_REPLY))])
}

/// The connection (zone, original tuple) a conntrack entry belongs to.
pub fn ct_from_bpf(k: &BpfCtKey, v: &BpfCtVal) -> (u16, CtTuple) {
    let (src, dst) = (addr_from(k.family, &k.src), addr_from(k.family, &k.dst));
    let t = if v.dir == CT_DIR_REPLY {
        CtTuple::ports(dst, src, k.proto, k.dport, k.sport)
    } else {
        CtTuple::ports(src, dst, k.proto, k.sport, k.dport)
    };
    (k.zone, t)
}

#[cfg(test)]
mod tests {
    use super::*;
    use hwol_flow::ct_state;

    fn attached(p: u32) -> Result<(), String> {
        if p <= 2 {
            Ok(())
        } else {
            Err("not attached".into())
        }
    }

    /// in_port(1),eth(src=..,dst=..),eth_type(0x0800),ipv4(src=10.0.0.1,dst=10.0.0.2)
    fn flow(actions: Vec<Action>) -> OffloadFlow {
        let mut key = FlowKey { in_port: 1, eth_type: 0x0800, ..Default::default() };
        key.eth_src = [2, 0, 0, 0, 0, 1];
        key.eth_dst = [2, 0, 0, 0, 0, 2];
        key.nw_src = [10, 0, 0, 1];
        key.nw_dst = [10, 0, 0, 2];
        key.nw_ttl = 64; // not in the mask: must not reach the map key
        let mut mask = FlowMask::default();
        mask.0.recirc_id = !0;
        mask.0.in_port = !0;
        mask.0.eth_src = [0xff; 6];
        mask.0.eth_dst = [0xff; 6];
        mask.0.eth_type = !0;
        mask.0.vlans[0].tpid = !0;
        mask.0.nw_src = [0xff; 4];
        mask.0.nw_dst = [0xff; 4];
        OffloadFlow { ufid: 0x1234_5678_9abc_def0_1122_3344_5566_7788, key, mask, actions }
    }

    #[test]
    fn a_forwarding_flow_converts_masked_and_round_trips() {
        let f = flow(vec![Action::Output(2)]);
        let p = flow_to_bpf(&f, attached).unwrap();
        assert_eq!(p.key.nw_ttl, 0, "unmasked bits are cleared");
        assert_eq!(p.key.ipv4_src, [10, 0, 0, 1]);
        assert_eq!(p.mask.vlan_tpid, 0xffff);
        assert_eq!(p.actions, vec![BpfAction { kind: ACT_OUTPUT, arg: 2, ..Default::default() }]);

        let mut value = BpfFlow { ufid_lo: f.ufid as u64, ufid_hi: (f.ufid >> 64) as u64, ..Default::default() };
        value.n_actions = 1;
        value.actions[0] = p.actions[0];
        let back = flow_from_bpf(&BpfFlowKey { mask_idx: 3, key: p.key }, &p.mask, &value).unwrap();
        assert_eq!(back.ufid, f.ufid);
        assert_eq!(back.mask, f.mask);
        assert_eq!(back.key, f.key.masked(&f.mask));
        assert_eq!(back.actions, f.actions);
    }

    #[test]
    fn ct_recirc_and_set_eth_round_trip() {
        let ct = CtAction { commit: true, zone: 65520, ..Default::default() };
        let set = Action::Set {
            set: SetAction::Eth {
                src: Masked { value: EthAddr([2, 0, 0, 0, 0, 9]), mask: EthAddr([0xff; 6]) },
                dst: Masked { value: EthAddr([0; 6]), mask: EthAddr([0; 6]) },
            },
            masked: true,
        };
        for actions in [vec![Action::Ct(ct), Action::Recirc(1)], vec![set, Action::Output(1)]] {
            let f = flow(actions);
            let p = flow_to_bpf(&f, attached).unwrap();
            let mut value = BpfFlow { n_actions: p.actions.len() as u32, ..Default::default() };
            value.actions[..p.actions.len()].copy_from_slice(&p.actions);
            let back = flow_from_bpf(&BpfFlowKey { mask_idx: 0, key: p.key }, &p.mask, &value).unwrap();
            assert_eq!(back.actions, f.actions);
        }
    }

    #[test]
    fn unmasked_set_eth_writes_every_bit() {
        let set = Action::Set {
            set: SetAction::Eth {
                src: Masked { value: EthAddr([2, 0, 0, 0, 0, 9]), mask: EthAddr::default() },
                dst: Masked { value: EthAddr([2, 0, 0, 0, 0, 8]), mask: EthAddr::default() },
            },
            masked: false,
        };
        let f = flow(vec![set, Action::Output(2)]);
        let p = flow_to_bpf(&f, attached).unwrap();
        assert_eq!(p.actions[0].eth_src_mask, [0xff; 6]);
        assert_eq!(p.actions[0].eth_dst_mask, [0xff; 6]);
        let mut value = BpfFlow { n_actions: 2, ..Default::default() };
        value.actions[..2].copy_from_slice(&p.actions);
        let back = flow_from_bpf(&BpfFlowKey { mask_idx: 0, key: p.key }, &p.mask, &value).unwrap();
        assert_eq!(back.actions, f.actions);
    }

    fn refusal(f: &OffloadFlow) -> NotOffloadedReason {
        flow_to_bpf(f, attached).unwrap_err()
    }

    #[test]
    fn refusals_name_the_reason() {
        // Two outputs.
        assert!(matches!(
            refusal(&flow(vec![Action::Output(1), Action::Output(2)])),
            NotOffloadedReason::UnsupportedAction { action } if action.contains("stops at the first output")
        ));
        // Unsupported action (from the shared model).
        assert_eq!(refusal(&flow(vec![Action::PopVlan, Action::Output(2)])).label(), "unsupported_action");
        // ct with a mark.
        let ct = CtAction { commit: true, zone: 1, mark: Some(Masked { value: 1, mask: 1 }), ..Default::default() };
        assert!(matches!(
            refusal(&flow(vec![Action::Ct(ct), Action::Recirc(1)])),
            NotOffloadedReason::UnsupportedAction { action } if action.contains("marks")
        ));
        // Too many actions.
        let set = Action::Set {
            set: SetAction::Eth {
                src: Masked { value: EthAddr::default(), mask: EthAddr::default() },
                dst: Masked { value: EthAddr::default(), mask: EthAddr::default() },
            },
            masked: true,
        };
        let mut many = vec![set; MAX_ACTIONS];
        many.push(Action::Output(2));
        assert_eq!(refusal(&flow(many)).label(), "unsupported_action");
        // Unsupported matches.
        let mut f = flow(vec![Action::Output(2)]);
        f.mask.0.ct_label = 1;
        assert_eq!(refusal(&f), NotOffloadedReason::UnsupportedMatch { field: "ct_label" });
        let mut f = flow(vec![Action::Output(2)]);
        f.mask.0.ipv6_label = 0xfffff;
        assert_eq!(refusal(&f), NotOffloadedReason::UnsupportedMatch { field: "ipv6_label" });
        let mut f = flow(vec![Action::Output(2)]);
        f.mask.0.vlans[1].tpid = !0;
        f.key.vlans[1].tpid = 0x8100;
        assert_eq!(refusal(&f), NotOffloadedReason::UnsupportedMatch { field: "vlan" });
        // "No second tag" is fine.
        f.key.vlans[1].tpid = 0;
        assert!(flow_to_bpf(&f, attached).is_ok());
        // Ports.
        assert_eq!(
            refusal(&flow(vec![Action::Output(7)])),
            NotOffloadedReason::PortNotOffloadable { port: 7, why: "not attached".into() }
        );
        let mut f = flow(vec![Action::Output(2)]);
        f.key.in_port = 9;
        assert_eq!(refusal(&f).label(), "port_not_offloadable");
        // +new connections only ever reach software.
        let mut f = flow(vec![Action::Output(2)]);
        f.key.ct_state = ct_state::NEW | ct_state::TRK;
        f.mask.0.ct_state = ct_state::NEW | ct_state::TRK;
        assert_eq!(refusal(&f).label(), "slow_path_only");
    }

    #[test]
    fn connections_have_two_directions() {
        let t = CtTuple::ports("10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap(), 6, 40000, 5201);
        let ct = CtOffload { zone: 65520, orig: t, mark: 7, label: 0 };
        let [(ko, vo), (kr, vr)] = ct_to_bpf(&ct).unwrap();
        assert_eq!((ko.family, ko.sport, ko.dport, &ko.src[..4]), (4, 40000, 5201, &[10, 0, 0, 1][..]));
        assert_eq!((kr.sport, kr.dport, &kr.src[..4]), (5201, 40000, &[10, 0, 0, 2][..]));
        assert_eq!((vo.dir, vr.dir, vr.mark), (CT_DIR_ORIG, CT_DIR_REPLY, 7));
        assert_eq!(ct_from_bpf(&ko, &vo), (65520, t));
        assert_eq!(ct_from_bpf(&kr, &vr), (65520, t));

        let t6 = CtTuple::ports("fd00::1".parse().unwrap(), "fd00::2".parse().unwrap(), 17, 1, 2);
        let [(k6, v6), _] = ct_to_bpf(&CtOffload { zone: 1, orig: t6, mark: 0, label: 0 }).unwrap();
        assert_eq!(ct_from_bpf(&k6, &v6), (1, t6));

        let icmp = CtTuple::ports("10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap(), 1, 7, 0x0800);
        assert_eq!(
            ct_to_bpf(&CtOffload { zone: 1, orig: icmp, mark: 0, label: 0 }).unwrap_err().label(),
            "slow_path_only"
        );
        assert_eq!(
            ct_to_bpf(&CtOffload { zone: 1, orig: t, mark: 0, label: 1 }).unwrap_err(),
            NotOffloadedReason::UnsupportedMatch { field: "ct_label" }
        );
    }
}
