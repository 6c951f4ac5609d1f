//! Upcalls and revalidation, without I/O.
//!
//! # Upcall
//!
//! A datapath miss hands the packet's key to [`Ofproto::upcall`]. It
//! translates the key, records a *ukey* — the megaflow's key, mask and
//! actions plus the rules and recirc ids behind it — and returns what to
//! install. The caller installs the megaflow and executes the actions on the
//! packet that missed.
//!
//! # Revalidation
//!
//! [`Ofproto::revalidate`] takes a dump of the datapath's megaflows with
//! their counters and decides, for each:
//!
//! 1. push the counters' increase since the last round to the OpenFlow rules
//!    that produced the megaflow (so `ovs-ofctl dump-flows` counts packets the
//!    datapath, or a fast path, forwarded without an upcall);
//! 2. delete it if it has been idle longer than `max_idle`;
//! 3. if anything that can change a translation changed since the ukey was
//!    made (flow table, ports, MAC learning), translate its key again:
//!    delete the megaflow if the new mask differs (it might now cover packets
//!    it should not), update its actions if only they differ, keep it
//!    otherwise.
//!
//! Megaflows the dump has but the ukeys do not (installed by a previous run
//! of the daemon) get a ukey and are revalidated like the others, which is
//! what lets a restarted daemon keep the datapath's flows. Ukeys whose
//! megaflow is gone from the dump are dropped. Recirc ids no longer
//! referenced are freed at the end of each round.

use std::time::Duration;

use hwol_datapath::ufid_of;
use hwol_flow::{Action, FlowKey, FlowMask};

use crate::{Ofproto, RuleId};

/// What the datapath should install for a miss.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Upcall {
    /// The megaflow's ufid.
    pub ufid: u128,
    /// The key to install (the missed packet's key).
    pub key: FlowKey,
    /// The megaflow mask.
    pub mask: FlowMask,
    /// The datapath actions (also to be executed on the missed packet).
    pub actions: Vec<Action>,
    /// Why translation failed, if it did (the actions are then a drop).
    pub error: Option<String>,
}

/// A megaflow as the datapath reports it to revalidation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DumpedFlow {
    /// Its ufid.
    pub ufid: u128,
    /// Its key.
    pub key: FlowKey,
    /// Its mask.
    pub mask: FlowMask,
    /// Its actions.
    pub actions: Vec<Action>,
    /// Total packets so far.
    pub packets: u64,
    /// Total bytes so far.
    pub bytes: u64,
    /// Last hit.
    pub used: Option<Duration>,
}

impl DumpedFlow {
    /// The dump entry of an installed software megaflow.
    pub fn from_megaflow(f: &hwol_datapath::Megaflow) -> Self {
        DumpedFlow {
            ufid: f.ufid,
            key: f.key,
            mask: f.mask,
            actions: f.actions.clone(),
            packets: f.stats.packets(),
            bytes: f.stats.bytes(),
            used: f.stats.used(),
        }
    }
}

/// What revalidation wants done to one megaflow.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RevalOp {
    /// Delete the megaflow.
    Delete {
        /// Which.
        ufid: u128,
        /// Why, for logs and `dpctl` explanations.
        reason: &'static str,
    },
    /// Replace the megaflow's actions.
    Modify {
        /// Which.
        ufid: u128,
        /// The new actions.
        actions: Vec<Action>,
    },
}

/// The outcome of one revalidation round.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Revalidation {
    /// Operations for the datapath, in dump order.
    pub ops: Vec<RevalOp>,
    /// Megaflows translated again this round.
    pub retranslated: usize,
    /// Megaflows left as they were.
    pub kept: usize,
}

#[derive(Clone, Debug)]
pub(crate) struct Ukey {
    key: FlowKey,
    mask: FlowMask,
    actions: Vec<Action>,
    rules: Vec<RuleId>,
    recircs: Vec<u32>,
    version: u64,
    packets: u64,
    bytes: u64,
    created: Duration,
}

impl Ofproto {
    /// Translate a miss and remember the megaflow it produces.
    pub fn upcall(&mut self, key: &FlowKey, now: Duration) -> Upcall {
        let x = self.xlate(key, now);
        let ufid = ufid_of(key, &x.mask);
        if let Some(old) = self.ukeys.remove(&ufid) {
            self.release(&old);
        }
        for id in &x.recircs {
            self.recirc.add_ref(*id);
        }
        self.ukeys.insert(
            ufid,
            Ukey {
                key: *key,
                mask: x.mask,
                actions: x.actions.clone(),
                rules: x.rules,
                recircs: x.recircs,
                version: self.version,
                packets: 0,
                bytes: 0,
                created: now,
            },
        );
        Upcall { ufid, key: *key, mask: x.mask, actions: x.actions, error: x.error }
    }

    /// Count a packet that took the slow path (the one behind an
    /// [`Ofproto::upcall`]) against the rules its megaflow was translated
    /// from, as OVS credits upcalled packets: datapath counters only ever
    /// see the packets after it.
    pub fn credit(&mut self, ufid: u128, bytes: u64, now: Duration) {
        let Some(u) = self.ukeys.get(&ufid) else { return };
        for id in &u.rules {
            if let Some(r) = self.rules.get_mut(id) {
                r.n_packets += 1;
                r.n_bytes += bytes;
                r.last_used = r.last_used.max(Some(now));
            }
        }
    }

    fn release(&mut self, u: &Ukey) {
        for id in &u.recircs {
            self.recirc.del_ref(*id);
        }
    }

    /// Number of megaflows this bridge is tracking.
    pub fn n_ukeys(&self) -> usize {
        self.ukeys.len()
    }

    /// Forget a megaflow that was deleted from the datapath by someone else.
    pub fn forget(&mut self, ufid: u128) {
        if let Some(u) = self.ukeys.remove(&ufid) {
            self.release(&u);
        }
    }

    /// One revalidation round over a dump of the datapath's megaflows.
    pub fn revalidate(&mut self, dump: &[DumpedFlow], now: Duration) -> Revalidation {
        let mut out = Revalidation::default();
        let mut seen = std::collections::HashSet::with_capacity(dump.len());
        for f in dump {
            seen.insert(f.ufid);
            let mut u = match self.ukeys.remove(&f.ufid) {
                Some(u) => u,
                // A megaflow from before a restart: adopt it; it is checked
                // below. It holds its recirc ids from now on, like any
                // installed megaflow (restored ids start unreferenced, and
                // the gc below would otherwise free them: the next upcall
                // in such an id, e.g. a new connection's SYN after its
                // ct(), would then fail to translate and be dropped).
                None => {
                    let recircs = recircs_in(&f.actions);
                    for id in &recircs {
                        self.recirc.add_ref(*id);
                    }
                    Ukey {
                        key: f.key,
                        mask: f.mask,
                        actions: f.actions.clone(),
                        rules: Vec::new(),
                        recircs,
                        version: self.version.wrapping_sub(1),
                        packets: 0,
                        bytes: 0,
                        created: now,
                    }
                }
            };
            // 1. Statistics to the rules.
            let dp = f.packets.saturating_sub(u.packets);
            let db = f.bytes.saturating_sub(u.bytes);
            u.packets = f.packets;
            u.bytes = f.bytes;
            if dp > 0 {
                for id in &u.rules {
                    if let Some(r) = self.rules.get_mut(id) {
                        r.n_packets += dp;
                        r.n_bytes += db;
                        r.last_used = r.last_used.max(f.used);
                    }
                }
            }
            // 2. Idle.
            let last = f.used.unwrap_or(u.created);
            if now.saturating_sub(last) >= self.cfg.max_idle {
                self.release(&u);
                out.ops.push(RevalOp::Delete { ufid: f.ufid, reason: "idle" });
                continue;
            }
            // 3. Re-translate if something changed.
            if u.version == self.version {
                out.kept += 1;
                self.ukeys.insert(f.ufid, u);
                continue;
            }
            out.retranslated += 1;
            let x = self.xlate_with(&u.key, now, false);
            if x.error.is_some() || x.mask != u.mask {
                self.release(&u);
                out.ops.push(RevalOp::Delete {
                    ufid: f.ufid,
                    reason: if x.error.is_some() { "translation failed" } else { "megaflow mask changed" },
                });
                continue;
            }
            for id in &x.recircs {
                self.recirc.add_ref(*id);
            }
            self.release(&u);
            if x.actions != u.actions {
                out.ops.push(RevalOp::Modify { ufid: f.ufid, actions: x.actions.clone() });
            } else {
                out.kept += 1;
            }
            u.actions = x.actions;
            u.rules = x.rules;
            u.recircs = x.recircs;
            u.version = self.version;
            self.ukeys.insert(f.ufid, u);
        }
        let gone: Vec<u128> = self.ukeys.keys().filter(|k| !seen.contains(k)).copied().collect();
        for ufid in gone {
            self.forget(ufid);
        }
        self.recirc.gc();
        out
    }
}

fn recircs_in(actions: &[Action]) -> Vec<u32> {
    actions.iter().filter_map(|a| if let Action::Recirc(id) = a { Some(*id) } else { None }).collect()
}
