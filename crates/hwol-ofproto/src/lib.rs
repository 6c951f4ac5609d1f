//! OpenFlow tables translated into datapath megaflows: the "ofproto" layer.
//!
//! An [`Ofproto`] is one bridge: its ports, its 255 OpenFlow tables, its MAC
//! learning table and its recirculation ids. It does no I/O and reads no
//! clock; `now` is passed in.
//!
//! - **Flow table management**: [`Ofproto::flow_add`], [`Ofproto::flow_modify`],
//!   [`Ofproto::flow_delete`] (loose and strict, as `ovs-ofctl` does),
//!   [`Ofproto::dump_flows`], idle and hard timeouts in
//!   [`Ofproto::expire_rules`].
//! - **Translation** ([`xlate`]): a datapath key in, a megaflow (mask and
//!   datapath actions) out, with the widest mask that stays correct.
//! - **Upcalls and revalidation** ([`upcall`]): a miss becomes an installed
//!   megaflow with a record ("ukey") of what produced it; revalidation pushes
//!   megaflow stats to the rules, expires idle megaflows and re-translates
//!   the others when the tables or the MAC table changed.
//! - **Trace** ([`trace`]): one packet's path, like `ofproto/trace`.
//!
//! [`switch::SoftSwitch`] wires an `Ofproto` to an in-memory
//! [`Datapath`](hwol_datapath::Datapath) for tests and benchmarks.

#![forbid(unsafe_code)]

mod flows;
pub mod mac;
pub mod recirc;
pub mod switch;
pub mod table;
pub mod trace;
pub mod upcall;
pub mod xlate;

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use hwol_openflow::FlowSpec;

pub use flows::FlowFilter;
pub use table::RuleId;
pub use upcall::{DumpedFlow, RevalOp, Revalidation, Upcall};
pub use xlate::{TraceEvent, Xlated};

use mac::MacTable;
use recirc::RecircTable;
use table::Table;

/// Number of OpenFlow tables (0..=254).
pub const N_TABLES: usize = 255;

/// Errors from managing a bridge (never from translating packets).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum Error {
    /// The flow is not acceptable; the message says which part and why.
    #[error("invalid flow: {0}")]
    BadFlow(String),
    /// A port number or name is already in use.
    #[error("port {0} already exists on this bridge; delete it first or pick another number")]
    PortExists(String),
    /// No such port.
    #[error("no port {0} on this bridge")]
    NoSuchPort(String),
}

/// A bridge port.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Port {
    /// OpenFlow (and datapath) port number.
    pub ofport: u32,
    /// Interface name.
    pub name: String,
}

/// An installed OpenFlow rule and its counters.
#[derive(Clone, Debug)]
pub struct Rule {
    /// Its id.
    pub id: RuleId,
    /// The flow as added.
    pub spec: FlowSpec,
    /// When it was added.
    pub created: Duration,
    /// When its actions last changed.
    pub modified: Duration,
    /// Packets attributed to it.
    pub n_packets: u64,
    /// Bytes attributed to it.
    pub n_bytes: u64,
    /// Last time a packet was attributed to it.
    pub last_used: Option<Duration>,
}

/// Tunables.
#[derive(Clone, Debug)]
pub struct OfprotoConfig {
    /// Megaflows idle this long are deleted (OVS `other_config:max-idle`, default 10 s).
    pub max_idle: Duration,
    /// MAC learning aging time.
    pub mac_aging: Duration,
    /// MAC learning table size.
    pub mac_max_entries: usize,
}

impl Default for OfprotoConfig {
    fn default() -> Self {
        OfprotoConfig {
            max_idle: Duration::from_secs(10),
            mac_aging: mac::DEFAULT_AGING,
            mac_max_entries: mac::DEFAULT_MAX_ENTRIES,
        }
    }
}

/// One bridge's OpenFlow state.
#[derive(Debug)]
pub struct Ofproto {
    name: String,
    ports: BTreeMap<u32, Port>,
    tables: Vec<Table>,
    rules: HashMap<RuleId, Rule>,
    next_rule: RuleId,
    mac: MacTable,
    recirc: RecircTable,
    /// Bumped by every change that can alter a translation.
    version: u64,
    ukeys: HashMap<u128, upcall::Ukey>,
    cfg: OfprotoConfig,
}

impl Ofproto {
    /// An empty bridge: no ports, no flows (every packet is dropped).
    pub fn new(name: impl Into<String>, cfg: OfprotoConfig) -> Self {
        Ofproto {
            name: name.into(),
            ports: BTreeMap::new(),
            tables: (0..N_TABLES).map(|_| Table::default()).collect(),
            rules: HashMap::new(),
            next_rule: 1,
            mac: MacTable::new(cfg.mac_aging, cfg.mac_max_entries),
            recirc: RecircTable::default(),
            version: 0,
            ukeys: HashMap::new(),
            cfg,
        }
    }

    /// The bridge name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The configuration.
    pub fn config(&self) -> &OfprotoConfig {
        &self.cfg
    }

    /// Change how long idle megaflows live.
    pub fn set_max_idle(&mut self, max_idle: Duration) {
        self.cfg.max_idle = max_idle;
    }

    /// Add a port.
    pub fn add_port(&mut self, ofport: u32, name: impl Into<String>) -> Result<(), Error> {
        let name = name.into();
        if self.ports.contains_key(&ofport) || self.ports.values().any(|p| p.name == name) {
            return Err(Error::PortExists(format!("{name} ({ofport})")));
        }
        self.ports.insert(ofport, Port { ofport, name });
        self.version += 1;
        Ok(())
    }

    /// Remove a port (and what MAC learning knew about it).
    pub fn del_port(&mut self, ofport: u32) -> Result<Port, Error> {
        let p = self.ports.remove(&ofport).ok_or_else(|| Error::NoSuchPort(ofport.to_string()))?;
        self.mac.flush_port(ofport);
        self.version += 1;
        Ok(p)
    }

    /// The ports, by number.
    pub fn ports(&self) -> impl Iterator<Item = &Port> {
        self.ports.values()
    }

    /// A port's number by name.
    pub fn port_by_name(&self, name: &str) -> Option<u32> {
        self.ports.values().find(|p| p.name == name).map(|p| p.ofport)
    }

    /// The MAC learning table.
    pub fn mac_table(&self) -> &MacTable {
        &self.mac
    }

    /// Age out MAC entries; a change schedules revalidation.
    pub fn expire_macs(&mut self, now: Duration) -> usize {
        let n = self.mac.expire(now);
        if n > 0 {
            self.version += 1;
        }
        n
    }

    /// The recirc id table as text, one `id state` line each, for a
    /// restarted daemon to restore (see [`Ofproto::recirc_restore`]).
    pub fn recirc_save(&self) -> String {
        self.recirc.export().into_iter().map(|(id, s)| format!("{id:x} {}\n", s.to_line())).collect()
    }

    /// Restore ids saved by [`Ofproto::recirc_save`] before adopting a
    /// previous run's megaflows, so their `recirc(id)` actions keep their
    /// meaning. Returns how many ids were restored; unparsable lines are
    /// skipped.
    pub fn recirc_restore(&mut self, text: &str) -> usize {
        let mut n = 0;
        for line in text.lines() {
            let Some((id, rest)) = line.trim().split_once(' ') else { continue };
            let (Ok(id), Some(state)) = (u32::from_str_radix(id, 16), recirc::FrozenState::from_line(rest)) else {
                continue;
            };
            if self.recirc.restore(id, state) {
                n += 1;
            }
        }
        n
    }

    /// Recirculation ids currently allocated.
    pub fn recirc_ids(&self) -> usize {
        self.recirc.len()
    }

    /// The translation-relevant version: changes whenever a translation's
    /// result could change.
    pub fn version(&self) -> u64 {
        self.version
    }

    /// A rule by id.
    pub fn rule(&self, id: RuleId) -> Option<&Rule> {
        self.rules.get(&id)
    }

    /// Number of rules in all tables.
    pub fn n_rules(&self) -> usize {
        self.rules.len()
    }

    fn env(&mut self, now: Duration, learn: bool) -> xlate::XlateEnv<'_> {
        xlate::XlateEnv {
            tables: &self.tables,
            rules: &self.rules,
            ports: &self.ports,
            mac: &mut self.mac,
            recirc: &mut self.recirc,
            now,
            learn,
            mac_changed: false,
        }
    }

    /// Translate a datapath key without recording anything (MAC learning
    /// and recirc ids still update, as they would for a real packet).
    pub fn xlate(&mut self, key: &hwol_flow::FlowKey, now: Duration) -> Xlated {
        self.xlate_with(key, now, true)
    }

    pub(crate) fn xlate_with(&mut self, key: &hwol_flow::FlowKey, now: Duration, learn: bool) -> Xlated {
        let mut env = self.env(now, learn);
        let x = xlate::xlate(&mut env, key, None);
        let changed = env.mac_changed;
        if changed {
            self.version += 1;
        }
        x
    }
}
