//! One OpenFlow table: a priority classifier that records what it looked at.
//!
//! # Lookup and un-wildcarding
//!
//! Rules are grouped into subtables by mask (tuple-space search again), and
//! subtables are kept sorted by the highest priority they hold. A lookup
//! probes subtables in that order and stops as soon as the next subtable's
//! best priority cannot beat the rule already found.
//!
//! Every subtable probed, hit or miss, adds its whole mask to the
//! translation's wildcard mask: had the packet differed in any of those bits
//! the probe could have come out differently, so the megaflow must match
//! them exactly. Subtables never probed (because a higher-priority rule was
//! already found) add nothing, which is what keeps megaflows wide.
//!
//! # Staged lookup
//!
//! Like OVS, a subtable is probed in stages — metadata (ports, registers,
//! conntrack), then L2, then L3, then L4 — with a set of the rules' keys cut
//! off after each stage. If the packet's key cut at a stage matches no rule,
//! the probe fails there and only the bits up to that stage are
//! un-wildcarded. A rule `dl_dst=<gateway>,nw_dst=10.0.0.5` therefore does not
//! pull `nw_dst` into the megaflow of a packet to another MAC.
//!
//! # Prefix skipping
//!
//! Two refinements keep address and port masks short, as OVS's prefix tries
//! do:
//!
//! - For `nw_dst` and `nw_src` the table indexes every rule whose mask on the
//!   field is a prefix. Before the L3 stage of a subtable with an
//!   `nw_dst`/`nw_src` prefix of length `p`, if no rule of the table matches
//!   the packet's address at length `p`, the subtable is skipped and only as
//!   many leading address bits are un-wildcarded as it took to tell: one past
//!   the longest prefix the address shares with any indexed rule.
//! - When a subtable's last (L4) probe misses, and rules agree with the
//!   packet on everything but the ports, only the leading port bits needed to
//!   tell the packet apart from those rules are un-wildcarded.
//!
//! The index is a list scanned per lookup rather than a trie; what it
//! un-wildcards is the same.
//!
//! # Conjunctive matches
//!
//! A rule whose actions include `conjunction(id,k/n)` is a clause, not a
//! matchable rule. When, at some priority `p`, clauses `1..=n` of conjunction
//! `id` all match and `p` beats the best ordinary rule, the lookup is
//! repeated with `conj_id=id` set, ordinary rules only; that finds the
//! `conj_id=id` flow, as in OVS.

use std::collections::HashMap;

use hwol_openflow::{Field, OfAction, OfKey, OfMatch};

/// Identifies a rule for its whole life; never reused.
pub type RuleId = u64;

/// What the table needs to know about a rule to classify.
#[derive(Clone, Debug)]
struct Entry {
    id: RuleId,
    priority: u16,
    /// `(conjunction id, clause index 0-based, n_clauses)` for clause rules.
    clauses: Vec<(u32, u8, u8)>,
}

/// The lookup stages: each a mask over the fields of that stage and all
/// earlier ones.
fn stage_masks() -> [OfKey; 3] {
    let mut meta = OfKey::default();
    {
        let d = &mut meta.dp;
        d.recirc_id = !0;
        d.in_port = !0;
        d.skb_mark = !0;
        d.skb_priority = !0;
        d.dp_hash = !0;
        d.ct_state = !0;
        d.ct_zone = !0;
        d.ct_mark = !0;
        d.ct_label = !0;
        d.ct_nw_src = [0xff; 4];
        d.ct_nw_dst = [0xff; 4];
        d.ct_ipv6_src = [0xff; 16];
        d.ct_ipv6_dst = [0xff; 16];
        d.ct_nw_proto = !0;
        d.ct_tp_src = !0;
        d.ct_tp_dst = !0;
    }
    meta.regs = [!0; 16];
    meta.metadata = !0;
    meta.conj_id = !0;
    let mut l2 = meta;
    l2.dp.eth_src = [0xff; 6];
    l2.dp.eth_dst = [0xff; 6];
    l2.dp.eth_type = !0;
    l2.dp.vlans = [hwol_flow::VlanHeader { tpid: !0, tci: !0 }; 2];
    let mut l3 = l2;
    {
        let d = &mut l3.dp;
        d.nw_src = [0xff; 4];
        d.nw_dst = [0xff; 4];
        d.ipv6_src = [0xff; 16];
        d.ipv6_dst = [0xff; 16];
        d.ipv6_label = !0;
        d.nw_proto = !0;
        d.nw_tos = !0;
        d.nw_ttl = !0;
        d.nw_frag = !0;
        d.arp_op = !0;
        d.arp_sha = [0xff; 6];
        d.arp_tha = [0xff; 6];
    }
    [meta, l2, l3]
}

/// The address fields with prefix indexes, in OVS's default order.
const PREFIX_FIELDS: [Field; 2] = [Field::IpDst, Field::IpSrc];

/// The length of `mask` if it is a non-empty prefix (CIDR) mask.
fn prefix_len(mask: u32) -> Option<u8> {
    (mask != 0 && mask.leading_ones() + mask.trailing_zeros() == 32).then(|| mask.leading_ones() as u8)
}

/// Every rule's prefix on one address field.
#[derive(Debug, Default)]
struct PrefixIndex {
    /// (value, prefix length) -> number of rules.
    rules: HashMap<(u32, u8), usize>,
}

impl PrefixIndex {
    fn add(&mut self, value: u32, plen: u8) {
        *self.rules.entry((value, plen)).or_default() += 1;
    }

    fn remove(&mut self, value: u32, plen: u8) {
        if let Some(n) = self.rules.get_mut(&(value, plen)) {
            *n -= 1;
            if *n == 0 {
                self.rules.remove(&(value, plen));
            }
        }
    }

    /// For `addr`: a bitmap of the prefix lengths at which some rule matches
    /// it, and how many leading bits it takes to know that.
    fn lookup(&self, addr: u32) -> (u64, u8) {
        let mut plens = 0u64;
        let mut bits = 0u8;
        for &(v, p) in self.rules.keys() {
            let common = (addr ^ v).leading_zeros() as u8;
            if common >= p {
                plens |= 1 << p;
            }
            bits = bits.max((common + 1).min(p));
        }
        (plens, bits)
    }
}

/// Per-lookup cache of prefix-index answers.
#[derive(Default)]
struct PrefixCtx {
    answers: [Option<(u64, u8)>; 2],
}

fn ports_of(k: &OfKey) -> u32 {
    ((k.dp.tp_src as u32) << 16) | k.dp.tp_dst as u32
}

#[derive(Debug)]
struct Stage {
    /// 0 metadata, 1 L2, 2 L3.
    level: u8,
    /// The subtable's mask cut after this stage.
    mask: OfKey,
    /// Rule keys cut after this stage, with how many rules share each.
    keys: HashMap<OfKey, usize>,
}

#[derive(Debug)]
struct Subtable {
    mask: OfKey,
    /// Strict prefixes of `mask`, one per stage that adds bits (the full
    /// mask is the final probe itself).
    stages: Vec<Stage>,
    /// Prefix length of the mask on each of [`PREFIX_FIELDS`] (0: none).
    prefix_lens: [u8; 2],
    /// The mask on the ports, as `tp_src << 16 | tp_dst`.
    ports_mask: u32,
    /// `mask` without the ports.
    no_ports_mask: OfKey,
    /// Rule keys under `no_ports_mask` -> their ports under `ports_mask`.
    ports: HashMap<OfKey, Vec<u32>>,
    max_priority: u16,
    /// Masked key -> entries, highest priority first.
    rules: HashMap<OfKey, Vec<Entry>>,
    n_rules: usize,
}

/// The rules of one table, classified.
#[derive(Debug, Default)]
pub struct Table {
    subtables: Vec<Subtable>,
    prefixes: [PrefixIndex; 2],
}

/// A table lookup's result.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Found {
    /// The winning rule.
    pub rule: RuleId,
    /// Set when the rule was found through a conjunctive match.
    pub conj_id: Option<u32>,
}

impl Table {
    /// Add a rule. The caller guarantees `id` is new.
    pub fn insert(&mut self, id: RuleId, priority: u16, m: &OfMatch, actions: &[OfAction]) {
        let clauses = actions
            .iter()
            .filter_map(|a| match a {
                OfAction::Conjunction { id, clause, n_clauses } => Some((*id, clause.saturating_sub(1), *n_clauses)),
                _ => None,
            })
            .collect();
        let entry = Entry { id, priority, clauses };
        let st = match self.subtables.iter_mut().position(|s| s.mask == m.mask) {
            Some(i) => &mut self.subtables[i],
            None => {
                let mut stages: Vec<Stage> = Vec::new();
                for (level, cut) in stage_masks().into_iter().enumerate() {
                    let mask = m.mask.masked(&cut);
                    let adds = stages.last().map_or(!mask.is_zero(), |s| s.mask != mask);
                    if adds && mask != m.mask {
                        stages.push(Stage { level: level as u8, mask, keys: HashMap::new() });
                    }
                }
                let prefix_lens = PREFIX_FIELDS.map(|f| prefix_len(f.get(&m.mask) as u32).unwrap_or(0));
                let mut no_ports_mask = m.mask;
                no_ports_mask.dp.tp_src = 0;
                no_ports_mask.dp.tp_dst = 0;
                self.subtables.push(Subtable {
                    mask: m.mask,
                    stages,
                    prefix_lens,
                    ports_mask: ports_of(&m.mask),
                    no_ports_mask,
                    ports: HashMap::new(),
                    max_priority: 0,
                    rules: HashMap::new(),
                    n_rules: 0,
                });
                self.subtables.last_mut().expect("just pushed")
            }
        };
        for stage in &mut st.stages {
            *stage.keys.entry(m.key.masked(&stage.mask)).or_default() += 1;
        }
        if st.ports_mask != 0 {
            st.ports.entry(m.key.masked(&st.no_ports_mask)).or_default().push(ports_of(&m.key) & st.ports_mask);
        }
        let list = st.rules.entry(m.key.masked(&m.mask)).or_default();
        let at = list.iter().position(|e| e.priority < priority).unwrap_or(list.len());
        list.insert(at, entry);
        st.n_rules += 1;
        st.max_priority = st.max_priority.max(priority);
        for (i, f) in PREFIX_FIELDS.iter().enumerate() {
            if let Some(p) = prefix_len(f.get(&m.mask) as u32) {
                self.prefixes[i].add(f.get(&m.key) as u32, p);
            }
        }
        self.sort();
    }

    /// Remove a rule; returns whether it was there.
    pub fn remove(&mut self, id: RuleId, m: &OfMatch) -> bool {
        let Some(i) = self.subtables.iter().position(|s| s.mask == m.mask) else { return false };
        let st = &mut self.subtables[i];
        let k = m.key.masked(&m.mask);
        let Some(list) = st.rules.get_mut(&k) else { return false };
        let Some(at) = list.iter().position(|e| e.id == id) else { return false };
        list.remove(at);
        if list.is_empty() {
            st.rules.remove(&k);
        }
        for stage in &mut st.stages {
            let cut = m.key.masked(&stage.mask);
            if let Some(n) = stage.keys.get_mut(&cut) {
                *n -= 1;
                if *n == 0 {
                    stage.keys.remove(&cut);
                }
            }
        }
        if st.ports_mask != 0 {
            let cut = m.key.masked(&st.no_ports_mask);
            if let Some(list) = st.ports.get_mut(&cut) {
                let p = ports_of(&m.key) & st.ports_mask;
                if let Some(i) = list.iter().position(|x| *x == p) {
                    list.swap_remove(i);
                }
                if list.is_empty() {
                    st.ports.remove(&cut);
                }
            }
        }
        for (i, f) in PREFIX_FIELDS.iter().enumerate() {
            if let Some(p) = prefix_len(f.get(&m.mask) as u32) {
                self.prefixes[i].remove(f.get(&m.key) as u32, p);
            }
        }
        st.n_rules -= 1;
        if st.n_rules == 0 {
            self.subtables.remove(i);
        } else {
            st.max_priority = st.rules.values().flat_map(|l| l.first()).map(|e| e.priority).max().unwrap_or(0);
            self.sort();
        }
        true
    }

    fn sort(&mut self) {
        self.subtables.sort_by_key(|s| std::cmp::Reverse(s.max_priority));
    }

    /// Number of distinct masks.
    pub fn n_subtables(&self) -> usize {
        self.subtables.len()
    }

    /// Find the highest-priority rule matching `key`, OR-ing into `wc` every
    /// bit the search consulted. `conj_id` in `key` is honoured for
    /// `conj_id=` rules.
    pub fn lookup(&self, key: &OfKey, wc: &mut OfKey) -> Option<Found> {
        let mut best: Option<(u16, RuleId)> = None;
        // (priority, conj id) -> bitmap of matched clauses, and n.
        let mut conj: Vec<(u16, u32, u64, u8)> = Vec::new();
        let mut pctx = PrefixCtx::default();
        for st in &self.subtables {
            let floor = best.map(|(p, _)| p);
            if floor.is_some_and(|p| st.max_priority <= p) {
                break;
            }
            let Some(list) = st.probe(key, wc, &self.prefixes, &mut pctx) else { continue };
            for e in list {
                if floor.is_some_and(|p| e.priority <= p) {
                    break;
                }
                if e.clauses.is_empty() {
                    if best.is_none_or(|(p, _)| e.priority > p) {
                        best = Some((e.priority, e.id));
                    }
                    break;
                }
                for &(cid, k, n) in &e.clauses {
                    match conj.iter_mut().find(|c| c.0 == e.priority && c.1 == cid) {
                        Some(c) => c.2 |= 1u64 << (k.min(63)),
                        None => conj.push((e.priority, cid, 1u64 << (k.min(63)), n)),
                    }
                }
            }
        }
        let floor = best.map(|(p, _)| p);
        let won = conj
            .iter()
            .filter(|c| c.3 > 0 && c.2.count_ones() as u8 >= c.3 && floor.is_none_or(|p| c.0 > p))
            .max_by_key(|c| c.0);
        if let Some(&(_, cid, _, _)) = won {
            let mut k2 = *key;
            k2.conj_id = cid;
            let found = self.lookup_plain(&k2, wc)?;
            return Some(Found { rule: found, conj_id: Some(cid) });
        }
        best.map(|(_, id)| Found { rule: id, conj_id: None })
    }

    /// Ordinary rules only (the second lookup of a conjunctive match).
    fn lookup_plain(&self, key: &OfKey, wc: &mut OfKey) -> Option<RuleId> {
        let mut best: Option<(u16, RuleId)> = None;
        let mut pctx = PrefixCtx::default();
        for st in &self.subtables {
            if best.is_some_and(|(p, _)| st.max_priority <= p) {
                break;
            }
            if let Some(list) = st.probe(key, wc, &self.prefixes, &mut pctx) {
                if let Some(e) = list.iter().find(|e| e.clauses.is_empty()) {
                    if best.is_none_or(|(p, _)| e.priority > p) {
                        best = Some((e.priority, e.id));
                    }
                }
            }
        }
        best.map(|(_, id)| id)
    }
}

impl Subtable {
    /// Probe for `key`: walk the stages, consult the prefix indexes before
    /// L3, then look up the whole masked key. Un-wildcards exactly the bits
    /// the outcome depended on. Returns the matching rules, if any.
    fn probe(
        &self,
        key: &OfKey,
        wc: &mut OfKey,
        prefixes: &[PrefixIndex; 2],
        pctx: &mut PrefixCtx,
    ) -> Option<&Vec<Entry>> {
        let mut passed: Option<&OfKey> = None;
        let mut prefixes_checked = false;
        for stage in &self.stages {
            if stage.level >= 2 && !prefixes_checked {
                prefixes_checked = true;
                if self.prefix_skip(key, wc, passed, prefixes, pctx) {
                    return None;
                }
            }
            if !stage.keys.contains_key(&key.masked(&stage.mask)) {
                wc.or_assign(&stage.mask);
                return None;
            }
            passed = Some(&stage.mask);
        }
        if !prefixes_checked && self.prefix_skip(key, wc, passed, prefixes, pctx) {
            return None;
        }
        if let Some(list) = self.rules.get(&key.masked(&self.mask)) {
            wc.or_assign(&self.mask);
            return Some(list);
        }
        // A miss at the last stage. If rules agree on everything but the
        // ports, only the leading port bits that rule them out matter.
        match self.ports.get(&key.masked(&self.no_ports_mask)) {
            Some(candidates) if self.ports_mask != 0 => {
                let plen = 32 - self.ports_mask.trailing_zeros() as u8;
                let mine = ports_of(key) & self.ports_mask;
                let bits =
                    candidates.iter().map(|v| ((mine ^ v).leading_zeros() as u8 + 1).min(plen)).max().unwrap_or(0);
                let m = if bits == 0 { 0 } else { (!0u32 << (32 - bits as u32)) & self.ports_mask };
                wc.or_assign(&self.no_ports_mask);
                wc.dp.tp_src |= (m >> 16) as u16;
                wc.dp.tp_dst |= m as u16;
            }
            _ => wc.or_assign(&self.mask),
        }
        None
    }

    /// Skip the subtable if no rule of the table matches the packet's
    /// address at this subtable's prefix length; un-wildcard what that took.
    fn prefix_skip(
        &self,
        key: &OfKey,
        wc: &mut OfKey,
        passed: Option<&OfKey>,
        prefixes: &[PrefixIndex; 2],
        pctx: &mut PrefixCtx,
    ) -> bool {
        if key.dp.eth_type != 0x0800 {
            return false;
        }
        for (i, f) in PREFIX_FIELDS.iter().enumerate() {
            let p = self.prefix_lens[i];
            if p == 0 {
                continue;
            }
            let (plens, bits) = *pctx.answers[i].get_or_insert_with(|| prefixes[i].lookup(f.get(key) as u32));
            if plens & (1u64 << p) == 0 {
                if let Some(m) = passed {
                    wc.or_assign(m);
                }
                let m = if bits == 0 { 0 } else { !0u32 << (32 - bits as u32) };
                f.put_mask(wc, f.get_mask(wc) | m as u128);
                return true;
            }
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hwol_openflow::Field;

    fn m(fields: &[(Field, u128, u128)]) -> OfMatch {
        let mut m = OfMatch::catchall();
        for (f, v, mk) in fields {
            m.set_masked(*f, *v, *mk);
        }
        m
    }

    #[test]
    fn highest_priority_wins_and_lower_subtables_are_not_unwildcarded() {
        let mut t = Table::default();
        t.insert(1, 200, &m(&[(Field::EthType, 0x0800, 0xffff)]), &[]);
        t.insert(2, 0, &m(&[(Field::TpDst, 80, 0xffff)]), &[]);
        let mut k = OfKey::default();
        k.dp.eth_type = 0x0800;
        let mut wc = OfKey::default();
        assert_eq!(t.lookup(&k, &mut wc).unwrap().rule, 1);
        assert_eq!(wc.dp.eth_type, 0xffff);
        assert_eq!(wc.dp.tp_dst, 0, "the priority-0 subtable was never probed");
        k.dp.eth_type = 0x0806;
        k.dp.tp_dst = 80;
        let mut wc = OfKey::default();
        assert_eq!(t.lookup(&k, &mut wc).unwrap().rule, 2);
        assert_eq!((wc.dp.eth_type, wc.dp.tp_dst), (0xffff, 0xffff));
    }

    #[test]
    fn conjunction_needs_every_clause() {
        let mut t = Table::default();
        let c = |k, n| vec![OfAction::Conjunction { id: 7, clause: k, n_clauses: n }];
        t.insert(1, 100, &m(&[(Field::IpSrc, 0x0a000001, u32::MAX as u128)]), &c(1, 2));
        t.insert(2, 100, &m(&[(Field::TpDst, 80, 0xffff)]), &c(2, 2));
        t.insert(3, 100, &m(&[(Field::ConjId, 7, u32::MAX as u128)]), &[]);
        t.insert(4, 1, &OfMatch::catchall(), &[]);
        let mut k = OfKey::default();
        k.dp.nw_src = [10, 0, 0, 1];
        k.dp.tp_dst = 80;
        let mut wc = OfKey::default();
        assert_eq!(t.lookup(&k, &mut wc), Some(Found { rule: 3, conj_id: Some(7) }));
        k.dp.tp_dst = 443;
        let mut wc = OfKey::default();
        assert_eq!(t.lookup(&k, &mut wc), Some(Found { rule: 4, conj_id: None }));
    }

    #[test]
    fn staged_lookup_stops_unwildcarding_at_the_stage_that_misses() {
        let mut t = Table::default();
        let gw = 0x0a58_0000_0001u128;
        t.insert(1, 210, &m(&[(Field::EthDst, gw, 0xffff_ffff_ffff), (Field::IpDst, 0xc0a8_0111, 0xffff_ffff)]), &[]);
        t.insert(2, 200, &m(&[(Field::IpDst, 0xc0a8_0100, 0xffff_ff00)]), &[]);
        let mut k = OfKey::default();
        k.dp.eth_dst = [0x0a, 0x58, 0, 0, 0, 0x11];
        k.dp.nw_dst = [192, 168, 1, 17];
        let mut wc = OfKey::default();
        assert_eq!(t.lookup(&k, &mut wc).unwrap().rule, 2);
        assert_eq!(wc.dp.eth_dst, [0xff; 6], "the L2 stage was consulted");
        assert_eq!(wc.dp.nw_dst, [0xff, 0xff, 0xff, 0], "but not the /32 of the missed rule");
    }

    #[test]
    fn remove_drops_empty_subtables() {
        let mut t = Table::default();
        let a = m(&[(Field::InPort, 1, 0xffff_ffff)]);
        t.insert(1, 10, &a, &[]);
        t.insert(2, 20, &a, &[]);
        assert!(t.remove(2, &a));
        assert!(!t.remove(2, &a));
        assert_eq!(t.n_subtables(), 1);
        assert!(t.remove(1, &a));
        assert_eq!(t.n_subtables(), 0);
    }
}
