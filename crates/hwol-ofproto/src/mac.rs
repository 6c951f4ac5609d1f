//! MAC learning for the `NORMAL` action, with aging.
//!
//! The table maps `(vlan, mac)` to the port the MAC was last seen on. Entries
//! age out `aging` after they were last refreshed (OVS's default is 300 s).
//! A bounded size keeps a flood of random source MACs from growing it
//! without limit: when full, the least recently refreshed entry goes.

use std::collections::HashMap;
use std::time::Duration;

use hwol_flow::EthAddr;

/// OVS's default MAC aging time.
pub const DEFAULT_AGING: Duration = Duration::from_secs(300);
/// OVS's default MAC table size.
pub const DEFAULT_MAX_ENTRIES: usize = 8192;

/// One learned address, as `fdb/show` prints it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MacEntry {
    /// Port it was seen on.
    pub port: u32,
    /// VLAN id (0 when untagged).
    pub vlan: u16,
    /// The address.
    pub mac: EthAddr,
    /// Seconds since it was last refreshed.
    pub age: Duration,
}

/// The learning table.
#[derive(Debug)]
pub struct MacTable {
    entries: HashMap<(u16, EthAddr), (u32, Duration)>,
    aging: Duration,
    max_entries: usize,
}

impl Default for MacTable {
    fn default() -> Self {
        MacTable::new(DEFAULT_AGING, DEFAULT_MAX_ENTRIES)
    }
}

impl MacTable {
    /// An empty table.
    pub fn new(aging: Duration, max_entries: usize) -> Self {
        MacTable { entries: HashMap::new(), aging, max_entries: max_entries.max(1) }
    }

    /// Record that `mac` on `vlan` was seen on `port`. Returns true when this
    /// changed what the table says (a new entry or a move), which means
    /// megaflows that relied on the old answer must be revalidated.
    pub fn learn(&mut self, vlan: u16, mac: EthAddr, port: u32, now: Duration) -> bool {
        if let Some(e) = self.entries.get_mut(&(vlan, mac)) {
            let moved = e.0 != port;
            *e = (port, now);
            return moved;
        }
        if self.entries.len() >= self.max_entries {
            if let Some(oldest) = self.entries.iter().min_by_key(|(_, (_, t))| *t).map(|(k, _)| *k) {
                self.entries.remove(&oldest);
            }
        }
        self.entries.insert((vlan, mac), (port, now));
        true
    }

    /// The port `mac` was learned on, if the entry has not aged out.
    pub fn lookup(&self, vlan: u16, mac: EthAddr, now: Duration) -> Option<u32> {
        self.entries.get(&(vlan, mac)).filter(|(_, t)| now.saturating_sub(*t) < self.aging).map(|(p, _)| *p)
    }

    /// Drop aged-out entries; returns how many.
    pub fn expire(&mut self, now: Duration) -> usize {
        let before = self.entries.len();
        let aging = self.aging;
        self.entries.retain(|_, (_, t)| now.saturating_sub(*t) < aging);
        before - self.entries.len()
    }

    /// Forget everything learned on `port` (the port went away).
    pub fn flush_port(&mut self, port: u32) {
        self.entries.retain(|_, (p, _)| *p != port);
    }

    /// Entries, sorted by port, VLAN and MAC, as `fdb/show` lists them.
    pub fn dump(&self, now: Duration) -> Vec<MacEntry> {
        let mut v: Vec<MacEntry> = self
            .entries
            .iter()
            .map(|(&(vlan, mac), &(port, t))| MacEntry { port, vlan, mac, age: now.saturating_sub(t) })
            .collect();
        v.sort_by_key(|e| (e.port, e.vlan, e.mac));
        v
    }

    /// `ovs-appctl fdb/show` text.
    pub fn format_fdb(&self, now: Duration, port_name: impl Fn(u32) -> String) -> String {
        let mut s = String::from(" port  VLAN  MAC                Age\n");
        for e in self.dump(now) {
            s.push_str(&format!("{:>5}  {:>4}  {}  {:>3}\n", port_name(e.port), e.vlan, e.mac, e.age.as_secs()));
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: EthAddr = EthAddr([2, 0, 0, 0, 0, 1]);

    #[test]
    fn learns_moves_and_ages() {
        let mut t = MacTable::new(Duration::from_secs(10), 4);
        assert!(t.learn(0, A, 1, Duration::from_secs(0)));
        assert!(!t.learn(0, A, 1, Duration::from_secs(1)));
        assert_eq!(t.lookup(0, A, Duration::from_secs(5)), Some(1));
        assert!(t.learn(0, A, 2, Duration::from_secs(6)), "a move is a change");
        assert_eq!(t.lookup(0, A, Duration::from_secs(15)), Some(2));
        assert_eq!(t.lookup(0, A, Duration::from_secs(16)), None);
        assert_eq!(t.expire(Duration::from_secs(16)), 1);
    }

    #[test]
    fn full_table_evicts_the_stalest() {
        let mut t = MacTable::new(DEFAULT_AGING, 2);
        t.learn(0, EthAddr([2, 0, 0, 0, 0, 1]), 1, Duration::from_secs(1));
        t.learn(0, EthAddr([2, 0, 0, 0, 0, 2]), 1, Duration::from_secs(2));
        t.learn(0, EthAddr([2, 0, 0, 0, 0, 3]), 1, Duration::from_secs(3));
        assert_eq!(t.lookup(0, EthAddr([2, 0, 0, 0, 0, 1]), Duration::from_secs(3)), None);
        assert_eq!(t.dump(Duration::from_secs(3)).len(), 2);
    }
}
