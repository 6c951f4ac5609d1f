//! Datapath port names.
//!
//! `dpctl/dump-flows --names` prints `in_port(rep1)` and `actions:rep2`
//! where plain `dump-flows` prints `in_port(1)` and `actions:2`. The map
//! here turns one into the other.
//!
//! The parser must accept `--names` output without being told the numbers,
//! so when it meets a name it does not know it *learns* it, giving it the
//! next number from [`PortNames::LEARNED_BASE`] upward. Those numbers are
//! never handed out by a datapath (hwol allocates ports from 1 up; OVS's
//! `ODPP_NONE` is `0xffffffff`), so a learned number can't collide with a
//! real one. Pin real numbers with [`PortNames::insert`] (the CLI's
//! `--port NAME=N`) when the numbers matter, e.g. before [`crate::OdpKey::to_flow`].

use std::collections::BTreeMap;

/// A two-way map between datapath port numbers and names.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PortNames {
    by_name: BTreeMap<String, u32>,
    by_number: BTreeMap<u32, String>,
    next_learned: u32,
}

impl PortNames {
    /// First number handed to a name learned while parsing (`0x80000000`).
    pub const LEARNED_BASE: u32 = 0x8000_0000;

    /// An empty map.
    pub fn new() -> Self {
        PortNames::default()
    }

    /// Pin `name` to `number`, replacing any earlier binding of either.
    pub fn insert(&mut self, name: &str, number: u32) {
        if let Some(old) = self.by_name.remove(name) {
            self.by_number.remove(&old);
        }
        if let Some(old) = self.by_number.remove(&number) {
            self.by_name.remove(&old);
        }
        self.by_name.insert(name.to_string(), number);
        self.by_number.insert(number, name.to_string());
    }

    /// Forget `number` and its name; returns the name it had.
    pub fn remove(&mut self, number: u32) -> Option<String> {
        let name = self.by_number.remove(&number)?;
        self.by_name.remove(&name);
        Some(name)
    }

    /// The number bound to `name`, if any.
    pub fn number(&self, name: &str) -> Option<u32> {
        self.by_name.get(name).copied()
    }

    /// The name bound to `number`, if any.
    pub fn name(&self, number: u32) -> Option<&str> {
        self.by_number.get(&number).map(String::as_str)
    }

    /// The number for `name`, learning a new one from [`Self::LEARNED_BASE`]
    /// upward if the name is unknown. Returns `None` only if the learned
    /// range is exhausted (2^31 names).
    pub fn number_or_learn(&mut self, name: &str) -> Option<u32> {
        if let Some(n) = self.number(name) {
            return Some(n);
        }
        loop {
            let n = Self::LEARNED_BASE.checked_add(self.next_learned)?;
            self.next_learned = self.next_learned.checked_add(1)?;
            if !self.by_number.contains_key(&n) {
                self.insert(name, n);
                return Some(n);
            }
        }
    }

    /// Iterate over `(number, name)` pairs in number order.
    pub fn iter(&self) -> impl Iterator<Item = (u32, &str)> {
        self.by_number.iter().map(|(n, s)| (*n, s.as_str()))
    }

    /// Text for port `number`: its name when `names` is given and knows it,
    /// the decimal number otherwise (as OVS's `odp_portno_name_format`).
    pub(crate) fn format(names: Option<&PortNames>, number: u32) -> String {
        match names.and_then(|n| n.name(number)) {
            Some(s) => s.to_string(),
            None => number.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn learns_from_the_reserved_range_and_pins_override() {
        let mut p = PortNames::new();
        assert_eq!(p.number_or_learn("rep1"), Some(PortNames::LEARNED_BASE));
        assert_eq!(p.number_or_learn("rep2"), Some(PortNames::LEARNED_BASE + 1));
        assert_eq!(p.number_or_learn("rep1"), Some(PortNames::LEARNED_BASE));
        p.insert("rep1", 1);
        assert_eq!(p.number("rep1"), Some(1));
        assert_eq!(p.name(PortNames::LEARNED_BASE), None);
        assert_eq!(p.name(1), Some("rep1"));
        assert_eq!(PortNames::format(Some(&p), 1), "rep1");
        assert_eq!(PortNames::format(None, 1), "1");
        assert_eq!(PortNames::format(Some(&p), 7), "7");
    }
}
