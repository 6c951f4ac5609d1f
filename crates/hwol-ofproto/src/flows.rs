//! OpenFlow flow-table management: add, modify, delete, dump, timeouts.
//!
//! Semantics follow OpenFlow as ovs-ofctl exposes them:
//! - `add` replaces a rule with the same table, priority and match
//!   (counters restart);
//! - loose `modify`/`delete` act on every rule whose match is at least as
//!   specific as the filter's; strict ones need the same match and priority;
//! - a cookie filter (`cookie=V/M`) restricts either to rules whose cookie
//!   agrees with V under M.
//!
//! Every change bumps the bridge's version so revalidation re-translates.

use std::time::Duration;

use hwol_openflow::{Field, FlowSpec, FlowStatsEntry, OfAction, OfMatch};

use crate::{Error, Ofproto, Rule, RuleId, N_TABLES};

/// Which rules a modify or delete applies to.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FlowFilter {
    /// One table, or all of them.
    pub table: Option<u8>,
    /// The match (loose: rules at least this specific; strict: exactly this).
    pub matches: OfMatch,
    /// Priority, for strict operations.
    pub priority: u16,
    /// Cookie value to compare under `cookie_mask`.
    pub cookie: u64,
    /// Cookie bits that must agree (0 = any cookie).
    pub cookie_mask: u64,
}

impl FlowFilter {
    /// A filter that selects every rule of every table.
    pub fn all() -> Self {
        FlowFilter::default()
    }

    /// Whether the filter selects rule `r` (`strict`: same match and
    /// priority; loose: the rule is at least as specific as the filter).
    pub fn selects(&self, r: &Rule, strict: bool) -> bool {
        if self.table.is_some_and(|t| t != r.spec.table) {
            return false;
        }
        if (r.spec.cookie ^ self.cookie) & self.cookie_mask != 0 {
            return false;
        }
        let (fm, rm) = (&self.matches, &r.spec.matches);
        if strict {
            return r.spec.priority == self.priority && fm == rm;
        }
        // Loose: the rule's mask covers the filter's, and they agree there.
        fm.mask.words().iter().zip(rm.mask.words()).all(|(f, r)| f & !r == 0) && rm.key.masked(&fm.mask) == fm.key
    }
}

fn validate(spec: &FlowSpec) -> Result<(), Error> {
    let bad = |s: String| Err(Error::BadFlow(s));
    if spec.table as usize >= N_TABLES {
        return bad(format!("table {} does not exist (tables are 0-{})", spec.table, N_TABLES - 1));
    }
    let mut n_conj = 0;
    for a in &spec.actions {
        match a {
            OfAction::GotoTable(t) if *t <= spec.table || *t as usize >= N_TABLES => {
                return bad(format!("goto_table:{t} must name a later table than {}", spec.table))
            }
            OfAction::Resubmit { table: Some(t), .. } if *t as usize >= N_TABLES => {
                return bad(format!("resubmit to table {t}, which does not exist"))
            }
            OfAction::SetField { field: Field::CtMark | Field::CtLabel, .. } => {
                return bad("ct_mark and ct_label can only be set inside ct(commit,exec(...))".into())
            }
            OfAction::Load { dst, .. } | OfAction::Move { dst, .. }
                if matches!(dst.field, Field::CtMark | Field::CtLabel) =>
            {
                return bad("ct_mark and ct_label can only be set inside ct(commit,exec(...))".into())
            }
            OfAction::Load { dst, .. } if !dst.is_valid() => {
                return bad(format!(
                    "load: bits {}..{} do not fit in {}",
                    dst.ofs,
                    dst.ofs + dst.n_bits,
                    dst.field.name()
                ))
            }
            OfAction::Move { src, dst } if !src.is_valid() || !dst.is_valid() || src.n_bits != dst.n_bits => {
                return bad(format!(
                    "move: source and destination must be valid bit ranges of the same width ({} vs {} bits)",
                    src.n_bits, dst.n_bits
                ))
            }
            OfAction::Ct(ct) => {
                if let Some(t) = ct.table {
                    if t as usize >= N_TABLES {
                        return bad(format!("ct(table={t}): no such table"));
                    }
                }
                for e in &ct.exec {
                    let ok = match e {
                        OfAction::SetField { field, .. } => matches!(field, Field::CtMark | Field::CtLabel),
                        OfAction::Load { dst, .. } => matches!(dst.field, Field::CtMark | Field::CtLabel),
                        _ => false,
                    };
                    if !ok {
                        return bad("ct(exec(...)) may only set ct_mark or ct_label".into());
                    }
                    if !ct.commit {
                        return bad("ct(exec(...)) requires commit".into());
                    }
                }
            }
            OfAction::Conjunction { clause, n_clauses, .. } => {
                n_conj += 1;
                if *n_clauses < 2 || *n_clauses > 64 || *clause == 0 || clause > n_clauses {
                    return bad(format!("conjunction clause {clause}/{n_clauses}: need 1 <= k <= n and 2 <= n <= 64"));
                }
            }
            _ => {}
        }
    }
    if n_conj > 0 && n_conj != spec.actions.iter().filter(|a| !matches!(a, OfAction::Note(_))).count() {
        return bad("a flow with conjunction(...) actions may have no other actions".into());
    }
    Ok(())
}

impl Ofproto {
    /// Add a flow, replacing one with the same table, priority and match.
    pub fn flow_add(&mut self, mut spec: FlowSpec, now: Duration) -> Result<RuleId, Error> {
        validate(&spec)?;
        spec.matches.key = spec.matches.key.masked(&spec.matches.mask);
        let same = FlowFilter {
            table: Some(spec.table),
            matches: spec.matches,
            priority: spec.priority,
            ..Default::default()
        };
        let old: Vec<RuleId> = self.rules.values().filter(|r| same.selects(r, true)).map(|r| r.id).collect();
        for id in old {
            self.remove_rule(id);
        }
        let id = self.next_rule;
        self.next_rule += 1;
        self.tables[spec.table as usize].insert(id, spec.priority, &spec.matches, &spec.actions);
        self.rules
            .insert(id, Rule { id, spec, created: now, modified: now, n_packets: 0, n_bytes: 0, last_used: None });
        self.version += 1;
        Ok(id)
    }

    /// Add several flows; stops at the first invalid one and reports its
    /// index, leaving the flows before it installed.
    pub fn flows_add(&mut self, specs: Vec<FlowSpec>, now: Duration) -> Result<usize, (usize, Error)> {
        let n = specs.len();
        for (i, s) in specs.into_iter().enumerate() {
            self.flow_add(s, now).map_err(|e| (i, e))?;
        }
        Ok(n)
    }

    /// Replace the actions of the selected rules; returns how many.
    pub fn flow_modify(
        &mut self,
        filter: &FlowFilter,
        strict: bool,
        actions: Vec<OfAction>,
        now: Duration,
    ) -> Result<usize, Error> {
        let ids: Vec<RuleId> = self.rules.values().filter(|r| filter.selects(r, strict)).map(|r| r.id).collect();
        for id in &ids {
            let r = &self.rules[id];
            let mut spec = r.spec.clone();
            spec.actions = actions.clone();
            validate(&spec)?;
            // Conjunction clauses are indexed at insertion: re-insert.
            let table = spec.table as usize;
            self.tables[table].remove(*id, &spec.matches);
            self.tables[table].insert(*id, spec.priority, &spec.matches, &spec.actions);
            let r = self.rules.get_mut(id).expect("selected above");
            r.spec = spec;
            r.modified = now;
        }
        if !ids.is_empty() {
            self.version += 1;
        }
        Ok(ids.len())
    }

    /// Delete the selected rules; returns how many.
    pub fn flow_delete(&mut self, filter: &FlowFilter, strict: bool) -> usize {
        let ids: Vec<RuleId> = self.rules.values().filter(|r| filter.selects(r, strict)).map(|r| r.id).collect();
        for id in &ids {
            self.remove_rule(*id);
        }
        if !ids.is_empty() {
            self.version += 1;
        }
        ids.len()
    }

    fn remove_rule(&mut self, id: RuleId) -> Option<Rule> {
        let r = self.rules.remove(&id)?;
        self.tables[r.spec.table as usize].remove(id, &r.spec.matches);
        Some(r)
    }

    /// Rules in dump order: by table, then priority (highest first), then age.
    pub fn rules_sorted(&self) -> Vec<&Rule> {
        let mut v: Vec<&Rule> = self.rules.values().collect();
        v.sort_by(|a, b| {
            (a.spec.table, std::cmp::Reverse(a.spec.priority), a.id).cmp(&(
                b.spec.table,
                std::cmp::Reverse(b.spec.priority),
                b.id,
            ))
        });
        v
    }

    /// `ovs-ofctl dump-flows` entries.
    pub fn dump_flows(&self, now: Duration) -> Vec<FlowStatsEntry> {
        self.rules_sorted()
            .into_iter()
            .map(|r| FlowStatsEntry {
                spec: r.spec.clone(),
                duration: now.saturating_sub(r.created),
                n_packets: r.n_packets,
                n_bytes: r.n_bytes,
                idle_age: now.saturating_sub(r.last_used.unwrap_or(r.created)),
                hard_age: (r.modified != r.created).then(|| now.saturating_sub(r.modified)),
            })
            .collect()
    }

    /// Remove rules whose idle or hard timeout has passed; returns their ids.
    pub fn expire_rules(&mut self, now: Duration) -> Vec<RuleId> {
        let dead: Vec<RuleId> = self
            .rules
            .values()
            .filter(|r| {
                let idle = r.spec.idle_timeout as u64;
                let hard = r.spec.hard_timeout as u64;
                let since_used = now.saturating_sub(r.last_used.unwrap_or(r.created));
                (idle > 0 && since_used >= Duration::from_secs(idle))
                    || (hard > 0 && now.saturating_sub(r.created) >= Duration::from_secs(hard))
            })
            .map(|r| r.id)
            .collect();
        for id in &dead {
            self.remove_rule(*id);
        }
        if !dead.is_empty() {
            self.version += 1;
        }
        dead
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::OfprotoConfig;

    fn spec(table: u8, priority: u16, port: Option<u32>, actions: Vec<OfAction>) -> FlowSpec {
        let mut m = OfMatch::catchall();
        if let Some(p) = port {
            m.set(Field::InPort, p as u128);
        }
        FlowSpec { table, priority, matches: m, actions, ..Default::default() }
    }

    #[test]
    fn add_replaces_same_match_and_priority() {
        let mut of = Ofproto::new("br0", OfprotoConfig::default());
        of.flow_add(spec(0, 10, Some(1), vec![OfAction::Output(2)]), Duration::ZERO).unwrap();
        of.flow_add(spec(0, 10, Some(1), vec![OfAction::Output(3)]), Duration::ZERO).unwrap();
        of.flow_add(spec(0, 11, Some(1), vec![OfAction::Output(3)]), Duration::ZERO).unwrap();
        assert_eq!(of.n_rules(), 2);
    }

    #[test]
    fn loose_delete_takes_more_specific_rules_strict_only_exact() {
        let mut of = Ofproto::new("br0", OfprotoConfig::default());
        of.flow_add(spec(0, 10, Some(1), vec![]), Duration::ZERO).unwrap();
        of.flow_add(spec(0, 20, Some(2), vec![]), Duration::ZERO).unwrap();
        of.flow_add(spec(1, 0, None, vec![]), Duration::ZERO).unwrap();
        let mut f = FlowFilter { table: Some(0), ..Default::default() };
        f.matches.set(Field::InPort, 1);
        assert_eq!(of.flow_delete(&f, true), 0, "strict needs the priority too");
        f.priority = 10;
        assert_eq!(of.flow_delete(&f, true), 1);
        assert_eq!(of.flow_delete(&FlowFilter { table: Some(0), ..Default::default() }, false), 1);
        assert_eq!(of.n_rules(), 1);
    }

    #[test]
    fn invalid_flows_are_refused_with_the_reason() {
        let mut of = Ofproto::new("br0", OfprotoConfig::default());
        let e = of.flow_add(spec(3, 1, None, vec![OfAction::GotoTable(2)]), Duration::ZERO).unwrap_err();
        assert!(e.to_string().contains("goto_table:2"), "{e}");
        let set = OfAction::SetField { field: Field::CtMark, value: 1, mask: 1 };
        let e = of.flow_add(spec(0, 1, None, vec![set]), Duration::ZERO).unwrap_err();
        assert!(e.to_string().contains("ct(commit,exec"), "{e}");
        assert_eq!(of.n_rules(), 0, "nothing was installed");
    }

    #[test]
    fn timeouts_expire_rules() {
        let mut of = Ofproto::new("br0", OfprotoConfig::default());
        let mut s = spec(0, 1, None, vec![]);
        s.idle_timeout = 5;
        of.flow_add(s, Duration::ZERO).unwrap();
        let mut s = spec(0, 2, None, vec![]);
        s.hard_timeout = 8;
        of.flow_add(s, Duration::ZERO).unwrap();
        assert!(of.expire_rules(Duration::from_secs(4)).is_empty());
        assert_eq!(of.expire_rules(Duration::from_secs(5)).len(), 1);
        assert_eq!(of.expire_rules(Duration::from_secs(8)).len(), 1);
    }
}
