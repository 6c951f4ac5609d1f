//! The provider's journal: what it installed (each flow with its filter's
//! place, each connection it mirrored into the kernel), in a text file, so
//! that a daemon restarted after a crash can take the kernel's filters and
//! connections over instead of flushing them.
//!
//! The kernel keeps the filters, but a filter does not say which megaflow it
//! was made from (translation is not reversible: several megaflow fields
//! collapse into one flower key, and the cookie only holds the ufid). The
//! journal keeps that half; the kernel's dump decides what is still there.
//!
//! One entry per line, fields separated by single spaces:
//!
//! ```text
//! flow <ufid:32 hex> <ifindex> <chain> <prio> <protocol> <handle> <key:384 hex> <mask:384 hex> <actions>
//! ct <zone> <src> <dst> <proto> <sport> <dport> <mark> <label:32 hex>
//! qdisc <ifindex>
//! ```
//!
//! A `qdisc` line names a device whose clsact qdisc the provider added (and
//! so removes at a clean stop when nothing else uses it).
//!
//! `key` and `mask` are the megaflow's 24 words, big-endian hex; `actions`
//! is the `dpctl/dump-flows` action text (no spaces), read back by
//! `hwol-odp`. Lines that do not parse are skipped and counted: a journal is
//! a hint, never a reason to refuse to start.
//!
//! Pure: [`encode`] and [`decode`] do no I/O; the provider writes the file
//! (atomically: a temporary file renamed over it).

use std::fmt::Write as _;
use std::net::IpAddr;

use hwol_conntrack::CtTuple;
use hwol_flow::{FlowKey, FlowMask, FLOW_WORDS};
use hwol_odp::PortNames;
use hwol_offload::{CtOffload, OffloadFlow};

use crate::rule::FilterId;

/// A journaled flow: the megaflow and where its filter is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FlowEntry {
    /// The megaflow.
    pub flow: OffloadFlow,
    /// Its filter.
    pub id: FilterId,
}

/// What a journal holds.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Journal {
    /// Installed flows.
    pub flows: Vec<FlowEntry>,
    /// Connections mirrored into the kernel's conntrack.
    pub conns: Vec<CtOffload>,
    /// Devices whose clsact qdisc the provider added.
    pub qdiscs: Vec<i32>,
    /// Lines that did not parse (skipped).
    pub skipped: usize,
}

fn words_hex(k: &FlowKey) -> String {
    let mut s = String::with_capacity(FLOW_WORDS * 16);
    for w in k.words() {
        let _ = write!(s, "{w:016x}");
    }
    s
}

fn key_from_hex(s: &str) -> Option<FlowKey> {
    if s.len() != FLOW_WORDS * 16 || !s.is_ascii() {
        return None;
    }
    let mut w = [0u64; FLOW_WORDS];
    for (i, word) in w.iter_mut().enumerate() {
        *word = u64::from_str_radix(&s[i * 16..(i + 1) * 16], 16).ok()?;
    }
    Some(FlowKey::from_words(w))
}

/// The journal's text.
pub fn encode(flows: &[FlowEntry], conns: &[CtOffload], qdiscs: &[i32]) -> String {
    let mut s = String::new();
    for e in flows {
        let f = &e.flow;
        let actions = hwol_odp::format_actions(&f.actions, None);
        let _ = writeln!(
            s,
            "flow {:032x} {} {} {} {} {} {} {} {}",
            f.ufid,
            e.id.ifindex,
            e.id.chain,
            e.id.prio,
            e.id.protocol,
            e.id.handle,
            words_hex(&f.key),
            words_hex(&f.mask.0),
            actions
        );
    }
    for c in conns {
        let t = &c.orig;
        let _ = writeln!(
            s,
            "ct {} {} {} {} {} {} {} {:032x}",
            c.zone, t.src, t.dst, t.proto, t.sport, t.dport, c.mark, c.label
        );
    }
    for q in qdiscs {
        let _ = writeln!(s, "qdisc {q}");
    }
    s
}

fn decode_flow(f: &[&str]) -> Option<FlowEntry> {
    let [ufid, ifindex, chain, prio, protocol, handle, key, mask, actions] = f else { return None };
    let actions = hwol_odp::parse_actions(actions, &mut PortNames::new()).ok()?;
    Some(FlowEntry {
        flow: OffloadFlow {
            ufid: u128::from_str_radix(ufid, 16).ok()?,
            key: key_from_hex(key)?,
            mask: FlowMask(key_from_hex(mask)?),
            actions,
        },
        id: FilterId {
            ifindex: ifindex.parse().ok()?,
            chain: chain.parse().ok()?,
            prio: prio.parse().ok()?,
            protocol: protocol.parse().ok()?,
            handle: handle.parse().ok()?,
        },
    })
}

fn decode_ct(f: &[&str]) -> Option<CtOffload> {
    let [zone, src, dst, proto, sport, dport, mark, label] = f else { return None };
    let (src, dst): (IpAddr, IpAddr) = (src.parse().ok()?, dst.parse().ok()?);
    if src.is_ipv4() != dst.is_ipv4() {
        return None;
    }
    Some(CtOffload {
        zone: zone.parse().ok()?,
        orig: CtTuple::ports(src, dst, proto.parse().ok()?, sport.parse().ok()?, dport.parse().ok()?),
        mark: mark.parse().ok()?,
        label: u128::from_str_radix(label, 16).ok()?,
    })
}

/// Read a journal's text; lines that do not parse are skipped and counted.
pub fn decode(text: &str) -> Journal {
    let mut j = Journal::default();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let fields: Vec<&str> = line.split(' ').collect();
        let ok = match fields.split_first() {
            Some((&"flow", rest)) => decode_flow(rest).map(|e| j.flows.push(e)).is_some(),
            Some((&"ct", rest)) => decode_ct(rest).map(|c| j.conns.push(c)).is_some(),
            Some((&"qdisc", [ifindex])) => ifindex.parse().map(|q| j.qdiscs.push(q)).is_ok(),
            _ => false,
        };
        if !ok {
            j.skipped += 1;
        }
    }
    j
}

#[cfg(test)]
mod tests {
    use super::*;
    use hwol_flow::{Action, CtAction, Masked};

    fn entry(ufid: u128, actions: Vec<Action>) -> FlowEntry {
        let key = FlowKey {
            in_port: 1,
            recirc_id: 2,
            ct_state: 0x22,
            eth_type: 0x0800,
            nw_proto: 6,
            nw_dst: [10, 0, 0, 7],
            ..Default::default()
        };
        let mut mask = FlowMask::default();
        mask.0.in_port = !0;
        mask.0.recirc_id = !0;
        mask.0.ct_state = 0x22;
        mask.0.eth_type = !0;
        mask.0.nw_dst = [255, 255, 255, 0];
        FlowEntry {
            flow: OffloadFlow { ufid, key, mask, actions },
            id: FilterId { ifindex: 11, chain: 2, prio: 0x4001, protocol: 0x0800, handle: 0x1 },
        }
    }

    #[test]
    fn flows_and_connections_round_trip() {
        let flows = vec![
            entry(0xa1b2_c3d4_0000_0000_0000_0000_0000_0001, vec![Action::Output(2)]),
            entry(
                7,
                vec![
                    Action::Ct(CtAction {
                        zone: 65520,
                        commit: true,
                        mark: Some(Masked { value: 0x20, mask: 0xffff_ffff }),
                        ..Default::default()
                    }),
                    Action::Recirc(0x3),
                ],
            ),
        ];
        let conns = vec![
            CtOffload {
                zone: 65520,
                orig: CtTuple::ports("192.168.1.16".parse().unwrap(), "192.168.1.17".parse().unwrap(), 6, 43558, 5201),
                mark: 0x20,
                label: 0,
            },
            CtOffload {
                zone: 1,
                orig: CtTuple::ports("fd00::1".parse().unwrap(), "fd00::2".parse().unwrap(), 17, 5000, 53),
                mark: 0,
                label: 1 << 100,
            },
        ];
        let text = encode(&flows, &conns, &[11, 12]);
        let j = decode(&text);
        assert_eq!((j.flows, j.conns, j.qdiscs, j.skipped), (flows, conns, vec![11, 12], 0), "{text}");
    }

    #[test]
    fn bad_lines_are_skipped_and_counted() {
        let good = encode(&[entry(1, vec![Action::Output(2)])], &[], &[]);
        let text = format!(
            "{good}flow nothex 1 2 3 4 5 00 00 2\nct 1 10.0.0.1 fd00::2 6 1 2 0 0\nwhat is this\nflow {}",
            &good[5..good.len() / 2]
        );
        let j = decode(&text);
        assert_eq!((j.flows.len(), j.conns.len(), j.skipped), (1, 0, 4));
    }
}
