//! `ofproto/trace`: explain one packet's way through the tables.
//!
//! The output follows `ovs-appctl ofproto/trace`: the flow, then per bridge
//! pass the rules hit (`table. match, priority p`), each action indented by
//! resubmit depth with `->` notes under it, then the final flow, the
//! megaflow and the datapath actions. Recirculations are followed the way
//! OVS follows them: the continuation is traced with conntrack state
//! `trk|new` assumed, under a banner.
//!
//! Differences from OVS, by design: the megaflow and flow lines are printed
//! in ovs-ofctl match syntax with `recirc_id=` in front, and without OVS's
//! `eth,` packet-type token; `Final flow` prints the flow rather than
//! OVS's "unchanged" shortcut only when something changed.

use std::fmt::Write as _;
use std::time::Duration;

use hwol_flow::{ct_state, Action, FlowKey, FlowMask};
use hwol_odp::PortNames;
use hwol_openflow::text::{format_actions, format_match, PortMap};
use hwol_openflow::{Field, OfAction, OfKey, OfMatch};

use crate::xlate::{self, TraceEvent, TRACE_DEFAULT_CT_STATE};
use crate::Ofproto;

/// Recirculations followed before the trace stops.
const MAX_TRACE_RECIRCS: usize = 8;

impl Ofproto {
    fn port_map(&self) -> PortMap {
        let mut m = PortMap::new();
        for p in self.ports() {
            m.insert(p.name.clone(), p.ofport);
        }
        m
    }

    /// Trace `key` through the tables, following recirculations.
    pub fn trace(&mut self, key: &FlowKey, now: Duration) -> String {
        let names = self.port_map();
        let mut odp_names = PortNames::new();
        for p in self.ports() {
            odp_names.insert(&p.name, p.ofport);
        }
        let mut out = String::new();
        let mut pending = vec![(*key, None::<(u32, u16)>)];
        let mut passes = 0;
        while let Some((k, resumed)) = pending.pop() {
            passes += 1;
            if passes > MAX_TRACE_RECIRCS + 1 {
                out.push_str("\n(further recirculations not traced)\n");
                break;
            }
            if let Some((id, zone)) = resumed {
                let bar = "=".repeat(79);
                let _ = write!(
                    out,
                    "\n{bar}\nrecirc({id:#x}) - resume conntrack with default ct_state=trk|new (zone {zone})\n{bar}\n"
                );
            }
            let mut events = Vec::new();
            let mut env = self.env(now, true);
            let x = xlate::xlate(&mut env, &k, Some(&mut events));
            if env.mac_changed {
                self.version += 1;
            }
            let _ = writeln!(out, "\nFlow: {}", flow_line(&k, &names));
            let _ = writeln!(out, "\nbridge(\"{}\")\n{}", self.name, "-".repeat(self.name.len() + 10));
            for e in &events {
                self.trace_event(&mut out, e, &names);
            }
            let _ = writeln!(out, "\nFinal flow: {}", flow_line(&k, &names));
            let _ = writeln!(out, "Megaflow: {}", megaflow_line(&k, &x.mask, &names));
            let _ = writeln!(out, "Datapath actions: {}", hwol_odp::format_actions(&x.actions, Some(&odp_names)));
            if let Some(err) = &x.error {
                let _ = writeln!(out, "Translation failed ({err}), so the datapath drops the packet.");
            }
            // Follow each recirculation with conntrack's default answer.
            let mut zone = 0;
            for a in &x.actions {
                match a {
                    Action::Ct(ct) => zone = ct.zone,
                    Action::Recirc(id) => {
                        let mut next = k;
                        next.recirc_id = *id;
                        next.ct_state = TRACE_DEFAULT_CT_STATE;
                        next.ct_zone = zone;
                        pending.insert(0, (next, Some((*id, zone))));
                    }
                    _ => {}
                }
            }
        }
        out
    }

    fn trace_event(&self, out: &mut String, e: &TraceEvent, names: &PortMap) {
        let pad = |depth: usize| " ".repeat(4 + depth * 4);
        match e {
            TraceEvent::Thaw { table } => {
                let _ = writeln!(out, "    thaw\n        Resuming from table {table}");
            }
            TraceEvent::Rule { depth, table, rule } => {
                let Some(r) = self.rules.get(rule) else { return };
                let m = format_match(&r.spec.matches, Some(names));
                let m = if m.is_empty() { String::new() } else { format!("{m}, ") };
                let cookie = if r.spec.cookie != 0 { format!(", cookie {:#x}", r.spec.cookie) } else { String::new() };
                let indent = " ".repeat(depth * 4);
                let _ = writeln!(out, "{indent}{table:>2}. {m}priority {}{cookie}", r.spec.priority);
            }
            TraceEvent::NoMatch { depth, table } => {
                let indent = " ".repeat(depth * 4);
                let _ = writeln!(out, "{indent}{table:>2}. No match.");
            }
            TraceEvent::Action { depth, action } => {
                let text = format_actions(std::slice::from_ref(action), Some(names));
                let _ = writeln!(out, "{}{}", pad(*depth), text);
                if let OfAction::Ct(ct) = action {
                    if ct.exec.is_empty() {
                        let _ = writeln!(out, "{}drop", pad(*depth));
                    }
                }
            }
            TraceEvent::Note { depth, text } => {
                let _ = writeln!(out, "{} -> {text}", pad(*depth));
            }
        }
    }
}

/// Exact match over the fields that exist for this packet's protocol.
fn exact_match(k: &FlowKey) -> OfMatch {
    let key = OfKey::from_dp(*k);
    let mut m = OfMatch::catchall();
    let mut put = |f: Field| {
        m.set(f, f.get(&key));
    };
    for f in [Field::CtState, Field::InPort, Field::VlanTci, Field::EthSrc, Field::EthDst, Field::EthType] {
        put(f);
    }
    if k.ct_state != 0 {
        put(Field::CtZone);
        put(Field::CtMark);
    }
    match k.eth_type {
        0x0800 => {
            for f in
                [Field::IpSrc, Field::IpDst, Field::IpProto, Field::NwTos, Field::NwEcn, Field::IpTtl, Field::IpFrag]
            {
                put(f);
            }
        }
        0x86dd => {
            for f in [Field::Ipv6Src, Field::Ipv6Dst, Field::Ipv6Label, Field::IpProto, Field::NwTos, Field::IpTtl] {
                put(f);
            }
        }
        0x0806 => {
            for f in [Field::ArpOp, Field::ArpSpa, Field::ArpTpa, Field::ArpSha, Field::ArpTha] {
                put(f);
            }
        }
        _ => {}
    }
    if k.nw_frag & hwol_flow::nw_frag::LATER == 0 {
        match k.nw_proto {
            6 => [Field::TpSrc, Field::TpDst, Field::TcpFlags].into_iter().for_each(&mut put),
            17 => [Field::TpSrc, Field::TpDst].into_iter().for_each(&mut put),
            1 | 58 => [Field::IcmpType, Field::IcmpCode].into_iter().for_each(&mut put),
            _ => {}
        }
    }
    if k.ct_state & ct_state::TRK == 0 {
        m.set_masked(Field::CtState, 0, 0);
    }
    m
}

fn flow_line(k: &FlowKey, names: &PortMap) -> String {
    format!("recirc_id={:#x},{}", k.recirc_id, format_match(&exact_match(k), Some(names)))
}

fn megaflow_line(k: &FlowKey, mask: &FlowMask, names: &PortMap) -> String {
    let mut key = OfKey::from_dp(*k);
    let mut wc = OfKey::from_dp(mask.0);
    // Tag presence is always matched; print it only for tagged packets.
    if k.vlans[0].tpid == 0 {
        wc.dp.vlans = Default::default();
    }
    key = key.masked(&wc);
    let m = OfMatch { key, mask: wc };
    format!("recirc_id={:#x},{}", k.recirc_id, format_match(&m, Some(names)))
}
