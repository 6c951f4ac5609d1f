//! Translation: run a datapath flow key through the OpenFlow tables and
//! produce a megaflow (mask + datapath actions).
//!
//! # What the mask means
//!
//! The mask starts with the fields every megaflow must match exactly —
//! `recirc_id`, `in_port`, `eth_type`, VLAN tag presence, and the fragment
//! bits of IP packets — and grows with every bit translation consults: each
//! table lookup ORs in the masks of the subtables it probed, `NORMAL` adds the
//! Ethernet addresses (and, for broadcast ARP, the ARP fields OVS's
//! gratuitous-ARP check reads), `move` and `dec_ttl` add the bits they read,
//! and a `set_field` adds the bits it writes (if the packet already held the
//! new value no datapath `set` is emitted, so the megaflow must only cover
//! such packets). Any packet that agrees with the key under the mask would
//! have been translated to the same actions; that is the whole contract.
//!
//! # Header rewrites
//!
//! OpenFlow actions edit the flow being translated; datapath `set` actions
//! are emitted lazily ("committed") just before anything that sends the
//! packet somewhere — output, ct, recirc — by comparing the translated flow
//! with what the datapath's packet currently holds, header by header.
//!
//! # Conntrack and recirculation
//!
//! `ct(table=T)` commits pending rewrites, emits `ct(...)`, freezes the
//! pipeline state behind a recirc id (see [`crate::recirc`]) and emits
//! `recirc(id)`. Translation of the current pass then continues with the
//! conntrack fields cleared, as OVS documents ("the original instance of the
//! packet will continue processing the current actions list as an untracked
//! packet"). A miss on `recirc_id(id)` resumes at table T with the frozen
//! registers and the conntrack fields the datapath filled in.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use hwol_flow::{ct_state, nw_frag, Action, CtAction, FlowKey, FlowMask, Masked, SetAction, VlanHeader};
use hwol_openflow::{ofp_port, CtZone, Field, OfAction, OfCt, OfKey};
use hwol_wire::ethernet::ethertype;
use hwol_wire::EthAddr;

use crate::mac::MacTable;
use crate::recirc::{FrozenState, RecircTable};
use crate::table::{RuleId, Table};
use crate::{Port, Rule};

/// Resubmits allowed before translation gives up (OVS: 64).
pub const MAX_RESUBMIT_DEPTH: usize = 64;
/// Total table lookups allowed per translation (OVS: 4096).
pub const MAX_RESUBMITS: usize = 4096;

/// The result of translating one flow key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Xlated {
    /// The megaflow mask.
    pub mask: FlowMask,
    /// The datapath actions.
    pub actions: Vec<Action>,
    /// The OpenFlow rules that matched, in order (for stats attribution).
    pub rules: Vec<RuleId>,
    /// Recirc ids the actions emit.
    pub recircs: Vec<u32>,
    /// Translation ended in an error (loop, unknown recirc id); the actions
    /// are a drop and [`Xlated::error`] says why.
    pub error: Option<String>,
}

/// One step of a translation, recorded for `trace`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TraceEvent {
    /// A recirculated packet resumed from frozen state.
    Thaw {
        /// The table it resumes in.
        table: u8,
    },
    /// A rule matched in a table.
    Rule {
        /// Resubmit depth.
        depth: usize,
        /// The table.
        table: u8,
        /// The rule.
        rule: RuleId,
    },
    /// No rule matched.
    NoMatch {
        /// Resubmit depth.
        depth: usize,
        /// The table.
        table: u8,
    },
    /// An action is about to run.
    Action {
        /// Resubmit depth.
        depth: usize,
        /// The action.
        action: OfAction,
    },
    /// An explanation under the last action (`-> ...`).
    Note {
        /// Resubmit depth.
        depth: usize,
        /// The text.
        text: String,
    },
}

/// Everything translation reads or updates, borrowed from the bridge.
pub(crate) struct XlateEnv<'a> {
    pub tables: &'a [Table],
    pub rules: &'a HashMap<RuleId, Rule>,
    pub ports: &'a BTreeMap<u32, Port>,
    pub mac: &'a mut MacTable,
    pub recirc: &'a mut RecircTable,
    pub now: Duration,
    /// Whether `NORMAL` may update the MAC table (not while revalidating).
    pub learn: bool,
    /// Set when MAC learning changed what the table says.
    pub mac_changed: bool,
}

struct Ctx<'e, 'a> {
    env: &'e mut XlateEnv<'a>,
    /// The flow as OpenFlow sees it now.
    flow: OfKey,
    /// What the datapath's packet holds now.
    base: FlowKey,
    wc: OfKey,
    odp: Vec<Action>,
    rules: Vec<RuleId>,
    recircs: Vec<u32>,
    table: u8,
    depth: usize,
    lookups: usize,
    exit: bool,
    error: Option<String>,
    /// A ct action ran in this pass (so `ct_clear` must be emitted).
    conntracked: bool,
    trace: Option<&'e mut Vec<TraceEvent>>,
}

/// Translate `key` (a datapath key, as a miss reports it).
pub(crate) fn xlate(env: &mut XlateEnv<'_>, key: &FlowKey, trace: Option<&mut Vec<TraceEvent>>) -> Xlated {
    let mut cx = Ctx {
        flow: OfKey::from_dp(*key),
        base: *key,
        wc: OfKey::default(),
        odp: Vec::new(),
        rules: Vec::new(),
        recircs: Vec::new(),
        table: 0,
        depth: 0,
        lookups: 0,
        exit: false,
        error: None,
        conntracked: false,
        trace,
        env,
    };
    cx.init_wc();
    if key.recirc_id != 0 {
        match cx.env.recirc.get(key.recirc_id).copied() {
            Some(frozen) => {
                cx.flow.regs = frozen.regs;
                cx.flow.metadata = frozen.metadata;
                cx.flow.dp.in_port = frozen.in_port;
                cx.table = frozen.table;
                cx.event(|_| TraceEvent::Thaw { table: frozen.table });
                cx.xlate_table(frozen.table);
            }
            None => cx.fail(format!("recirc_id {:#x} is not (or no longer) allocated", key.recirc_id)),
        }
    } else {
        cx.xlate_table(0);
    }
    if cx.error.is_some() {
        cx.odp.clear();
    }
    let mut mask = cx.wc.dp_mask();
    // Mask the key fields consistently: nothing outside the datapath key.
    mask.0._pad = [0; 14];
    Xlated { mask, actions: cx.odp, rules: cx.rules, recircs: cx.recircs, error: cx.error }
}

impl Ctx<'_, '_> {
    fn event(&mut self, f: impl FnOnce(usize) -> TraceEvent) {
        let depth = self.depth;
        if let Some(t) = self.trace.as_deref_mut() {
            t.push(f(depth));
        }
    }

    fn note(&mut self, text: impl Into<String>) {
        let text = text.into();
        self.event(|depth| TraceEvent::Note { depth, text });
    }

    fn fail(&mut self, why: String) {
        self.note(format!("translation failed: {why}"));
        self.error = Some(why);
        self.exit = true;
    }

    fn init_wc(&mut self) {
        let k = &self.flow.dp;
        let w = &mut self.wc.dp;
        w.recirc_id = !0;
        w.in_port = !0;
        w.eth_type = !0;
        w.vlans[0].tpid = !0;
        if k.vlans[0].tpid != 0 {
            w.vlans[1].tpid = !0;
        }
        if k.eth_type == ethertype::IPV4 || k.eth_type == ethertype::IPV6 {
            w.nw_frag = nw_frag::ANY | nw_frag::LATER;
        }
    }

    fn unwildcard(&mut self, field: Field, bits: u128) {
        if field.is_datapath() {
            let cur = field.get_mask(&self.wc);
            field.put_mask(&mut self.wc, cur | bits);
        }
    }

    fn xlate_table(&mut self, table: u8) {
        if self.exit {
            return;
        }
        self.lookups += 1;
        if self.depth >= MAX_RESUBMIT_DEPTH || self.lookups > MAX_RESUBMITS {
            self.fail(format!("over {MAX_RESUBMIT_DEPTH} nested resubmits or {MAX_RESUBMITS} lookups (a loop?)"));
            return;
        }
        let Some(t) = self.env.tables.get(table as usize) else {
            self.fail(format!("table {table} does not exist"));
            return;
        };
        let saved_table = self.table;
        self.table = table;
        let found = t.lookup(&self.flow, &mut self.wc);
        let Some(found) = found else {
            self.event(|depth| TraceEvent::NoMatch { depth, table });
            self.note("No match, drop.");
            self.table = saved_table;
            return;
        };
        if let Some(cid) = found.conj_id {
            self.flow.conj_id = cid;
        }
        let Some(rule) = self.env.rules.get(&found.rule) else {
            self.table = saved_table;
            return;
        };
        self.rules.push(found.rule);
        self.event(|depth| TraceEvent::Rule { depth, table, rule: found.rule });
        let actions = rule.spec.actions.clone();
        if actions.is_empty() {
            self.event(|depth| TraceEvent::Action { depth, action: OfAction::Drop });
        }
        self.do_actions(&actions);
        self.flow.conj_id = 0;
        self.table = saved_table;
    }

    fn do_actions(&mut self, actions: &[OfAction]) {
        for a in actions {
            if self.exit {
                return;
            }
            self.event(|depth| TraceEvent::Action { depth, action: a.clone() });
            match a {
                OfAction::Output(p) => self.output(*p),
                OfAction::OutputReg(sf) => {
                    let port = ((sf.field.get(&self.flow) & sf.mask()) >> sf.ofs) as u32;
                    self.output(port)
                }
                OfAction::InPort => {
                    let p = self.flow.dp.in_port;
                    self.emit_output(p);
                }
                OfAction::Normal => self.normal(),
                OfAction::Flood | OfAction::All => self.flood(),
                OfAction::Local => self.output(ofp_port::LOCAL),
                OfAction::Controller => self.note("hwol has no controller connection; the packet is dropped"),
                OfAction::Drop => self.exit = true,
                OfAction::Resubmit { in_port, table } => self.resubmit(*in_port, table.unwrap_or(self.table)),
                OfAction::GotoTable(t) => {
                    if *t <= self.table {
                        self.fail(format!("goto_table:{t} does not go forward from table {}", self.table));
                        return;
                    }
                    self.resubmit(None, *t);
                    self.exit = true;
                }
                OfAction::Ct(ct) => self.ct(ct),
                OfAction::CtClear => {
                    if self.conntracked || self.flow.dp.ct_state != 0 {
                        self.commit();
                        self.odp.push(Action::CtClear);
                    }
                    self.flow.dp.clear_ct();
                    self.conntracked = false;
                }
                OfAction::SetField { field, value, mask } => self.write(*field, *value, *mask),
                OfAction::Load { dst, value } => self.write(dst.field, value << dst.ofs, dst.mask()),
                OfAction::Move { src, dst } => {
                    let v = (src.field.get(&self.flow) & src.mask()) >> src.ofs;
                    self.unwildcard(src.field, src.mask());
                    self.write(dst.field, v << dst.ofs, dst.mask());
                }
                OfAction::ModDlSrc(m) => self.write(Field::EthSrc, mac(*m), Field::EthSrc.all_ones()),
                OfAction::ModDlDst(m) => self.write(Field::EthDst, mac(*m), Field::EthDst.all_ones()),
                OfAction::ModVlanVid(vid) => {
                    if self.flow.dp.vlans[0].tpid == 0 {
                        self.push_vlan(ethertype::VLAN_8021Q);
                    }
                    self.flow.dp.vlans[0].tci = (self.flow.dp.vlans[0].tci & !0x0fff) | (vid & 0x0fff);
                }
                OfAction::ModVlanPcp(pcp) => {
                    if self.flow.dp.vlans[0].tpid == 0 {
                        self.push_vlan(ethertype::VLAN_8021Q);
                    }
                    self.flow.dp.vlans[0].tci = (self.flow.dp.vlans[0].tci & 0x1fff) | ((*pcp as u16 & 7) << 13);
                }
                OfAction::DecTtl => self.dec_ttl(),
                OfAction::PushVlan(tpid) => self.push_vlan(*tpid),
                OfAction::PopVlan => {
                    let d = &mut self.flow.dp;
                    d.vlans[0] = d.vlans[1];
                    d.vlans[1] = VlanHeader::default();
                }
                OfAction::Conjunction { .. } | OfAction::Note(_) => {}
            }
        }
    }

    fn resubmit(&mut self, in_port: Option<u32>, table: u8) {
        let saved = self.flow.dp.in_port;
        if let Some(p) = in_port {
            self.flow.dp.in_port = p;
        }
        self.depth += 1;
        self.xlate_table(table);
        self.depth -= 1;
        if in_port.is_some() {
            self.flow.dp.in_port = saved;
        }
    }

    fn write(&mut self, field: Field, value: u128, mask: u128) {
        let old = field.get(&self.flow);
        field.put(&mut self.flow, (old & !mask) | (value & mask));
        self.unwildcard(field, mask);
    }

    fn push_vlan(&mut self, tpid: u16) {
        let d = &mut self.flow.dp;
        d.vlans[1] = d.vlans[0];
        d.vlans[0] = VlanHeader { tpid, tci: 0 };
    }

    fn dec_ttl(&mut self) {
        let d = &self.flow.dp;
        if d.eth_type != ethertype::IPV4 && d.eth_type != ethertype::IPV6 {
            return;
        }
        self.wc.dp.nw_ttl = !0;
        if self.flow.dp.nw_ttl <= 1 {
            self.note("TTL would reach zero: the packet is dropped (no controller to send it to)");
            self.exit = true;
            return;
        }
        self.flow.dp.nw_ttl -= 1;
    }

    fn output(&mut self, port: u32) {
        if port == self.flow.dp.in_port {
            self.note("skipping output to input port");
            return;
        }
        match port {
            ofp_port::IN_PORT => {
                let p = self.flow.dp.in_port;
                self.emit_output(p)
            }
            ofp_port::NORMAL => self.normal(),
            ofp_port::FLOOD | ofp_port::ALL => self.flood(),
            ofp_port::CONTROLLER => self.note("hwol has no controller connection; the packet is dropped"),
            _ => self.emit_output(port),
        }
    }

    fn emit_output(&mut self, port: u32) {
        if !self.env.ports.contains_key(&port) {
            self.note(format!("output to nonexistent port {port}"));
            return;
        }
        self.commit();
        self.odp.push(Action::Output(port));
    }

    fn flood(&mut self) {
        let in_port = self.flow.dp.in_port;
        let ports: Vec<u32> = self.env.ports.keys().copied().filter(|p| *p != in_port).collect();
        self.commit();
        self.odp.extend(ports.into_iter().map(Action::Output));
    }

    fn normal(&mut self) {
        let d = self.flow.dp;
        self.wc.dp.eth_src = [0xff; 6];
        self.wc.dp.eth_dst = [0xff; 6];
        if d.vlans[0].tpid != 0 {
            // The VLAN is part of the MAC table's key.
            self.wc.dp.vlans[0].tci |= 0x0fff;
        }
        let src = EthAddr(d.eth_src);
        let dst = EthAddr(d.eth_dst);
        if src.is_multicast() {
            self.note("dropping packet with a multicast source address");
            return;
        }
        let vlan = if d.vlans[0].tpid != 0 { d.vlans[0].tci & 0x0fff } else { 0 };
        if d.eth_type == ethertype::ARP && dst == EthAddr::BROADCAST {
            // The gratuitous-ARP check reads the opcode and both addresses.
            self.wc.dp.arp_op = !0;
            self.wc.dp.nw_src = [0xff; 4];
            self.wc.dp.nw_dst = [0xff; 4];
        }
        if self.env.learn && self.env.mac.learn(vlan, src, d.in_port, self.env.now) {
            self.env.mac_changed = true;
            self.note(format!("learned that {src} is on port {} in VLAN {vlan}", d.in_port));
        }
        if dst.is_multicast() {
            self.note("multicast or broadcast destination, flooding");
            self.flood();
            return;
        }
        match self.env.mac.lookup(vlan, dst, self.env.now) {
            Some(p) if p == d.in_port => self.note("learned port is input port, dropping"),
            Some(p) => {
                self.note(format!("forwarding to learned port {p}"));
                self.emit_output(p);
            }
            None => {
                self.note("no learned MAC for destination, flooding");
                self.flood();
            }
        }
    }

    fn ct(&mut self, ct: &OfCt) {
        let zone = match ct.zone {
            CtZone::Imm(z) => z,
            CtZone::Field(sf) => ((sf.field.get(&self.flow) & sf.mask()) >> sf.ofs) as u16,
        };
        let mut mark: Option<Masked<u32>> = None;
        let mut label: Option<Masked<u128>> = None;
        for a in &ct.exec {
            let (field, value, mask) = match a {
                OfAction::SetField { field, value, mask } => (*field, *value, *mask),
                OfAction::Load { dst, value } => (dst.field, value << dst.ofs, dst.mask()),
                _ => continue,
            };
            match field {
                Field::CtMark => {
                    let m = mark.get_or_insert(Masked::new(0, 0));
                    m.value = (m.value & !(mask as u32)) | (value & mask) as u32;
                    m.mask |= mask as u32;
                }
                Field::CtLabel => {
                    let l = label.get_or_insert(Masked::new(0, 0));
                    l.value = (l.value & !mask) | (value & mask);
                    l.mask |= mask;
                }
                _ => {}
            }
        }
        self.commit();
        self.odp.push(Action::Ct(CtAction {
            commit: ct.commit,
            force: ct.force,
            zone,
            mark,
            label,
            helper: ct.alg.clone(),
            nat: ct.nat.clone(),
        }));
        self.conntracked = true;
        if let Some(table) = ct.table {
            let frozen = FrozenState {
                table,
                regs: self.flow.regs,
                metadata: self.flow.metadata,
                in_port: self.flow.dp.in_port,
            };
            let id = self.env.recirc.intern(frozen);
            self.odp.push(Action::Recirc(id));
            self.recircs.push(id);
            self.note(format!(
                "A clone of the packet is forked to recirculate. The forked pipeline will be resumed at table {table}."
            ));
        }
        self.note("Sets the packet to an untracked state, and clears all the conntrack fields.");
        self.flow.dp.clear_ct();
    }

    /// Emit datapath actions that make the packet match the translated flow.
    fn commit(&mut self) {
        let f = self.flow.dp;
        let b = self.base;
        // VLAN tags: pop what differs from the outside in, then push.
        if f.vlans != b.vlans {
            for (i, _) in b.vlans.iter().enumerate().filter(|(_, t)| t.tpid != 0) {
                // A popped tag's whole TCI decides what the pop removes.
                self.wc.dp.vlans[i] = VlanHeader { tpid: !0, tci: !0 };
                self.odp.push(Action::PopVlan);
            }
            for tag in f.vlans.iter().rev().filter(|t| t.tpid != 0) {
                self.odp.push(Action::PushVlan { tpid: tag.tpid, tci: tag.tci });
            }
        }
        if f.eth_src != b.eth_src || f.eth_dst != b.eth_dst {
            let src = masked_diff(EthAddr(f.eth_src), f.eth_src != b.eth_src, EthAddr([0xff; 6]), EthAddr([0; 6]));
            let dst = masked_diff(EthAddr(f.eth_dst), f.eth_dst != b.eth_dst, EthAddr([0xff; 6]), EthAddr([0; 6]));
            self.odp.push(Action::Set { set: SetAction::Eth { src, dst }, masked: true });
        }
        if f.eth_type == ethertype::IPV4
            && (f.nw_src != b.nw_src || f.nw_dst != b.nw_dst || f.nw_tos != b.nw_tos || f.nw_ttl != b.nw_ttl)
        {
            self.odp.push(Action::Set {
                set: SetAction::Ipv4 {
                    src: masked_diff(f.nw_src, f.nw_src != b.nw_src, [0xff; 4], [0; 4]),
                    dst: masked_diff(f.nw_dst, f.nw_dst != b.nw_dst, [0xff; 4], [0; 4]),
                    tos: masked_diff(f.nw_tos, f.nw_tos != b.nw_tos, 0xff, 0),
                    ttl: masked_diff(f.nw_ttl, f.nw_ttl != b.nw_ttl, 0xff, 0),
                },
                masked: true,
            });
        }
        if f.eth_type == ethertype::IPV6
            && (f.ipv6_src != b.ipv6_src
                || f.ipv6_dst != b.ipv6_dst
                || f.nw_tos != b.nw_tos
                || f.nw_ttl != b.nw_ttl
                || f.ipv6_label != b.ipv6_label)
        {
            self.odp.push(Action::Set {
                set: SetAction::Ipv6 {
                    src: masked_diff(f.ipv6_src, f.ipv6_src != b.ipv6_src, [0xff; 16], [0; 16]),
                    dst: masked_diff(f.ipv6_dst, f.ipv6_dst != b.ipv6_dst, [0xff; 16], [0; 16]),
                    label: masked_diff(f.ipv6_label, f.ipv6_label != b.ipv6_label, 0x000f_ffff, 0),
                    tclass: masked_diff(f.nw_tos, f.nw_tos != b.nw_tos, 0xff, 0),
                    hlimit: masked_diff(f.nw_ttl, f.nw_ttl != b.nw_ttl, 0xff, 0),
                },
                masked: true,
            });
        }
        if (f.tp_src != b.tp_src || f.tp_dst != b.tp_dst) && (f.nw_proto == 6 || f.nw_proto == 17) {
            let src = masked_diff(f.tp_src, f.tp_src != b.tp_src, 0xffff, 0);
            let dst = masked_diff(f.tp_dst, f.tp_dst != b.tp_dst, 0xffff, 0);
            let set = if f.nw_proto == 6 { SetAction::Tcp { src, dst } } else { SetAction::Udp { src, dst } };
            self.odp.push(Action::Set { set, masked: true });
        }
        if f.skb_mark != b.skb_mark {
            self.odp.push(Action::Set { set: SetAction::SkbMark(Masked::new(f.skb_mark, !0)), masked: true });
        }
        self.base = f;
    }
}

fn masked_diff<T: Copy>(v: T, changed: bool, ones: T, zero: T) -> Masked<T> {
    if changed {
        Masked::new(v, ones)
    } else {
        Masked::new(zero, zero)
    }
}

fn mac(m: EthAddr) -> u128 {
    m.0.iter().fold(0u128, |acc, x| (acc << 8) | *x as u128)
}

/// The conntrack state OVS's trace assumes for a recirculated packet when
/// nothing better is known: `trk|new`.
pub const TRACE_DEFAULT_CT_STATE: u8 = ct_state::TRK | ct_state::NEW;
