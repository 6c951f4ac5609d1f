//! [`FlowerProvider`]: the [`OffloadProvider`] that installs megaflows as
//! flower filters on the representors' clsact ingress and mirrors hwol's
//! established connections into the kernel's conntrack for act_ct.
//!
//! Per flow it keeps the filter's place (device, chain, prio, protocol,
//! handle: the handle is the kernel's, read back from the `NLM_F_ECHO` of
//! the add) and its hardware state (`TCA_CLS_FLAGS_IN_HW` /
//! `TCA_CLS_FLAGS_NOT_IN_HW`, refreshed by every stats poll), which
//! [`FlowerProvider::hw_state`] exposes. Priorities are allocated per
//! (EtherType, megaflow mask) and freed with their last flow.
//!
//! Errors: a translation refusal, or a driver refusing a `skip_sw` rule
//! (`EOPNOTSUPP`/`EINVAL`), is [`OffloadError::Unsupported`]; anything else
//! the kernel refuses is [`OffloadError::Failed`] with the message, the
//! kernel's extack text, and what to check.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::time::Duration;

use hwol_conntrack::CtTuple;
use hwol_flow::{Action, FlowMask};
use hwol_offload::{CtOffload, FastPathStats, NotOffloadedReason, OffloadError, OffloadFlow, OffloadProvider};

use crate::conntrack::{check_ct, ct_del_msg, ct_get_msg, ct_new_msg, parse_ct};
use crate::journal::{self, FlowEntry};
use crate::rule::{clsact_del_msg, clsact_msg, cookie_ufid, dump_msg, FilterId, FilterStats};
use crate::tc::FilterMsg;
use crate::translate::{translate, TcPolicy};
use crate::transport::{NlError, Transport};
use crate::uapi::*;

/// hwol's flows use priorities from here up: everything at or above it on
/// a representor's clsact ingress belongs to hwol (and a new daemon removes
/// what a crashed one left there).
pub const PRIO_BASE: u16 = 0x4000;

/// The priority of the per-chain catch-all that sends misses to the upcall
/// device (the last rule tried).
pub const CATCHALL_PRIO: u16 = 0xffff;

/// Clock ticks per second of `struct tcf_t` (`USER_HZ`, 100 on every Linux
/// architecture hwol runs on).
pub const USER_HZ: u64 = 100;

/// Where a flow's filter stands with respect to the hardware.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HwState {
    /// The kernel reports the filter in hardware.
    pub in_hw: bool,
    /// How many devices hold it in hardware, when reported.
    pub in_hw_count: Option<u32>,
    /// Packets the hardware counted.
    pub hw_packets: u64,
    /// Bytes the hardware counted.
    pub hw_bytes: u64,
}

impl HwState {
    /// The hardware side of a filter as the kernel reported it.
    fn of(s: &FilterStats) -> HwState {
        HwState { in_hw: s.in_hw, in_hw_count: s.in_hw_count, hw_packets: s.hw_packets, hw_bytes: s.hw_bytes }
    }
}

/// Idle timeouts (seconds) given to connections inserted into the kernel's
/// conntrack: the kernel's own established timeouts, so that an entry's
/// remaining timeout tells when act_ct last saw it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CtTimeouts {
    /// `nf_conntrack_tcp_timeout_established`.
    pub tcp: u32,
    /// `nf_conntrack_udp_timeout_stream`.
    pub udp: u32,
}

impl Default for CtTimeouts {
    /// The kernel's defaults (5 days, 120 s).
    fn default() -> Self {
        CtTimeouts { tcp: 432_000, udp: 120 }
    }
}

impl CtTimeouts {
    /// Read the running kernel's values from `/proc/sys/net/netfilter`,
    /// falling back to the defaults for any it cannot read.
    pub fn from_sysctl() -> Self {
        let read = |name: &str| {
            std::fs::read_to_string(format!("/proc/sys/net/netfilter/{name}")).ok()?.trim().parse::<u32>().ok()
        };
        let d = CtTimeouts::default();
        CtTimeouts {
            tcp: read("nf_conntrack_tcp_timeout_established").unwrap_or(d.tcp),
            udp: read("nf_conntrack_udp_timeout_stream").unwrap_or(d.udp),
        }
    }

    fn for_proto(&self, proto: u8) -> u32 {
        if proto == 6 {
            self.tcp
        } else {
            self.udp
        }
    }
}

#[derive(Clone, Debug)]
struct Port {
    ifname: String,
    ifindex: i32,
    /// The provider added the device's clsact qdisc (this run, or the run
    /// whose journal it adopted), so a clean stop removes it when no
    /// filter is left on it.
    qdisc_ours: bool,
}

#[derive(Clone, Debug)]
struct Installed {
    flow: OffloadFlow,
    id: FilterId,
    class: (u16, FlowMask),
    hw: HwState,
    /// Chains this flow's `goto chain` actions enter (their catch-alls).
    gotos: Vec<u32>,
}

/// Priorities by (EtherType, mask), refcounted.
#[derive(Debug, Default)]
struct Prios {
    by_class: HashMap<(u16, FlowMask), (u16, usize)>,
    free: Vec<u16>,
    next: u16,
}

impl Prios {
    fn get(&mut self, class: (u16, FlowMask)) -> Option<u16> {
        if let Some((p, refs)) = self.by_class.get_mut(&class) {
            *refs += 1;
            return Some(*p);
        }
        let p = match self.free.pop() {
            Some(p) => p,
            None => {
                let p = PRIO_BASE.checked_add(self.next).filter(|p| *p < CATCHALL_PRIO)?;
                self.next += 1;
                p
            }
        };
        self.by_class.insert(class, (p, 1));
        Some(p)
    }

    /// Take over `prio` for `class` (a previous run's filter), so that new
    /// flows of the class share it and new classes do not collide with it.
    /// Refused (false) when that would break the one-class-per-priority
    /// rule: the class already has another priority, or the priority
    /// another class.
    fn adopt(&mut self, class: (u16, FlowMask), prio: u16) -> bool {
        if !(PRIO_BASE..CATCHALL_PRIO).contains(&prio) {
            return false;
        }
        if let Some((p, refs)) = self.by_class.get_mut(&class) {
            if *p != prio {
                return false;
            }
            *refs += 1;
            return true;
        }
        if self.by_class.values().any(|(p, _)| *p == prio) {
            return false;
        }
        self.by_class.insert(class, (prio, 1));
        self.free.retain(|f| *f != prio);
        let next = prio - PRIO_BASE + 1;
        for p in self.next..next.saturating_sub(1) {
            self.free.push(PRIO_BASE + p); // skipped over: free for new classes
        }
        self.next = self.next.max(next);
        true
    }

    fn put(&mut self, class: &(u16, FlowMask)) {
        if let Some((p, refs)) = self.by_class.get_mut(class) {
            *refs -= 1;
            if *refs == 0 {
                self.free.push(*p);
                self.by_class.remove(class);
            }
        }
    }
}

/// The TC flower provider (`dp:tc`). `R` talks rtnetlink, `C` ctnetlink.
pub struct FlowerProvider<R: Transport, C: Transport> {
    rt: R,
    ct: C,
    policy: TcPolicy,
    ct_timeouts: CtTimeouts,
    clock: fn() -> Duration,
    ports: BTreeMap<u32, Port>,
    flows: HashMap<u128, Installed>,
    prios: Prios,
    conns: HashMap<(u16, CtTuple), CtOffload>,
    /// ifindex of the device misses are sent to, if any.
    upcall: Option<i32>,
    /// Catch-all filters per (device, chain), refcounted.
    catchalls: HashMap<(i32, u32), (FilterId, usize)>,
    /// Where the journal goes (see [`crate::journal`]); none: no adoption.
    journal: Option<PathBuf>,
    /// The journal file is behind the provider's state.
    journal_dirty: bool,
    /// The journal of a previous run was read (it is read once, lazily,
    /// by the first `flow_dump` or `ct_dump`).
    journal_loaded: bool,
    /// Devices whose clsact qdisc a previous run added (from its journal).
    qdiscs_adopted: Vec<i32>,
}

impl<R: Transport, C: Transport> std::fmt::Debug for FlowerProvider<R, C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FlowerProvider")
            .field("policy", &self.policy)
            .field("ports", &self.ports)
            .field("flows", &self.flows.len())
            .field("conns", &self.conns.len())
            .finish()
    }
}

impl FlowerProvider<crate::sys::NlSocket, crate::sys::NlSocket> {
    /// A provider on real netlink sockets in the calling thread's network
    /// namespace, with the kernel's conntrack timeouts.
    pub fn open(policy: TcPolicy) -> Result<Self, NlError> {
        let rt = crate::sys::NlSocket::open(NETLINK_ROUTE)?;
        let ct = crate::sys::NlSocket::open(NETLINK_NETFILTER)?;
        Ok(FlowerProvider::new(rt, ct, policy, CtTimeouts::from_sysctl(), crate::sys::monotonic_now))
    }
}

fn failed(what: String, e: &NlError, hint: &str) -> OffloadError {
    OffloadError::Failed(format!("{what}: {e}; {hint}"))
}

impl<R: Transport, C: Transport> FlowerProvider<R, C> {
    /// A provider over the given transports. `clock` is `CLOCK_MONOTONIC`
    /// (tests pass a fixed one).
    pub fn new(rt: R, ct: C, policy: TcPolicy, ct_timeouts: CtTimeouts, clock: fn() -> Duration) -> Self {
        FlowerProvider {
            rt,
            ct,
            policy,
            ct_timeouts,
            clock,
            ports: BTreeMap::new(),
            flows: HashMap::new(),
            prios: Prios::default(),
            conns: HashMap::new(),
            upcall: None,
            catchalls: HashMap::new(),
            journal: None,
            journal_dirty: false,
            journal_loaded: false,
            qdiscs_adopted: Vec::new(),
        }
    }

    /// Keep a journal at `path` (a file in the daemon's run directory): what
    /// this provider installed, written after each stats poll when it
    /// changed. A daemon restarted after a crash reads it in its first
    /// `flow_dump`/`ct_dump` and takes over the filters and connections the
    /// kernel still has, instead of flushing them: traffic keeps flowing
    /// through the restart. A clean stop removes the filters and the file.
    pub fn set_journal(&mut self, path: impl Into<PathBuf>) {
        self.journal = Some(path.into());
    }

    /// Write the journal if it is behind (atomically: a temporary file
    /// renamed over it). A failed write is retried at the next poll; until
    /// then a restart adopts less, which is safe (unknown filters are
    /// removed and re-offloaded).
    fn save_journal(&mut self) {
        let Some(path) = &self.journal else { return };
        if !self.journal_dirty {
            return;
        }
        let flows: Vec<FlowEntry> = self.flows.values().map(|i| FlowEntry { flow: i.flow.clone(), id: i.id }).collect();
        let conns: Vec<CtOffload> = self.conns.values().cloned().collect();
        let mut qdiscs: Vec<i32> = self.ports.values().filter(|p| p.qdisc_ours).map(|p| p.ifindex).collect();
        qdiscs.extend(&self.qdiscs_adopted);
        qdiscs.sort_unstable();
        qdiscs.dedup();
        let mut tmp = path.clone().into_os_string();
        tmp.push(".tmp");
        let written =
            std::fs::write(&tmp, journal::encode(&flows, &conns, &qdiscs)).and_then(|()| std::fs::rename(&tmp, path));
        self.journal_dirty = written.is_err();
    }

    /// Read a previous run's journal, once, and take over what the kernel
    /// still holds of it: filters found by place, cookie and handle, and
    /// connections found in the kernel's conntrack.
    fn load_journal(&mut self) {
        if self.journal_loaded || self.journal.is_none() {
            return;
        }
        self.journal_loaded = true;
        let Some(text) = self.journal.as_ref().and_then(|p| std::fs::read_to_string(p).ok()) else { return };
        let j = journal::decode(&text);
        self.journal_dirty = true;
        self.qdiscs_adopted = j.qdiscs.clone();
        let mut devices: Vec<i32> = j.flows.iter().map(|e| e.id.ifindex).collect();
        devices.sort_unstable();
        devices.dedup();
        let mut present: HashMap<FilterId, FilterMsg> = HashMap::new();
        for ifindex in devices {
            let Ok(replies) = self.rt.request(&dump_msg(ifindex).emit()) else { continue };
            for m in replies {
                let Ok(f) = FilterMsg::parse(&m) else { continue };
                if f.header.ty == RTM_NEWTFILTER && f.flower().is_some() {
                    present.insert(FilterId::of(&f), f);
                }
            }
        }
        for e in j.flows {
            let Some(f) = present.get(&e.id) else { continue };
            if cookie_ufid(f) != Some(e.flow.ufid) || self.flows.contains_key(&e.flow.ufid) {
                continue;
            }
            let hw = HwState::of(&FilterStats::of(f));
            let class = (e.id.protocol, e.flow.mask);
            if !self.prios.adopt(class, e.id.prio) {
                continue; // inconsistent with what was adopted: stale
            }
            let gotos =
                e.flow.actions.iter().filter_map(|a| if let Action::Recirc(c) = a { Some(*c) } else { None }).collect();
            self.flows.insert(e.flow.ufid, Installed { flow: e.flow, id: e.id, class, hw, gotos });
        }
        for c in j.conns {
            let Ok(msg) = ct_get_msg(c.zone, &c.orig) else { continue };
            if self.ct.request(&msg).is_ok() {
                self.conns.insert((c.zone, c.orig), c);
            }
        }
    }

    /// Send misses to `ifname` (one end of a veth pair whose other end the
    /// daemon reads), tagged with an 802.1ad header whose VID is the input
    /// port, as the eBPF tc fast path does: every chain hwol uses on a
    /// representor ends in a software-only catch-all (`skip_hw`, prio
    /// [`CATCHALL_PRIO`]) doing `vlan push protocol 802.1ad id <port>` and
    /// `mirred egress redirect dev <ifname>`. Without an upcall device a miss
    /// continues into the representor's stack, where a packet socket sees it
    /// (and, since taps run before tc, also every hit). Call before
    /// `port_add`.
    ///
    /// It also checks, once, that the kernel can hold hwol's rules: it adds
    /// a clsact qdisc to `ifname` and a flower filter using act_ct, act_vlan
    /// and act_mirred, then deletes the filter. Without cls_flower the
    /// daemon would read only the upcall device while no rule sends
    /// anything there, so this fails early, saying which modules are needed.
    pub fn set_upcall(&mut self, ifname: &str) -> Result<(), OffloadError> {
        let ifindex = self.rt.ifindex(ifname).map_err(|e| {
            failed(format!("upcall device {ifname}"), &e, "the daemon creates it (offload.upcall); is it there?")
        })?;
        let need = "the kernel needs cls_flower, act_ct, act_vlan, act_mirred and sch_ingress (modprobe them)";
        match self.rt.request(&clsact_msg(ifindex).emit()) {
            Ok(_) => {}
            Err(e) if e.errno() == Some(libc::EEXIST) => {}
            Err(e) => return Err(failed(format!("adding the clsact qdisc to {ifname}"), &e, need)),
        }
        let probe = crate::rule::FlowerRule {
            chain: 0,
            prio: CATCHALL_PRIO,
            protocol: ETH_P_ALL,
            keys: vec![],
            actions: vec![
                crate::rule::FlowerAction::Ct { zone: 0, commit: false, force: false, mark: None, labels: None },
                crate::rule::FlowerAction::VlanPush { vid: 1, prio: 0, tpid: ETH_P_8021AD },
                crate::rule::FlowerAction::Mirred { redirect: true, ifindex: ifindex as u32 },
            ],
            flags: TCA_CLS_FLAGS_SKIP_HW,
            cookie: None,
        };
        let flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL | NLM_F_ECHO;
        let replies = self
            .rt
            .request(&probe.new_msg(ifindex, 0, flags).emit())
            .map_err(|e| failed(format!("probing flower on {ifname}"), &e, need))?;
        for m in replies {
            if let Ok(f) = FilterMsg::parse(&m) {
                if f.header.ty == RTM_NEWTFILTER {
                    let _ = self.rt.request(&FilterId::of(&f).del_msg().emit());
                }
            }
        }
        self.upcall = Some(ifindex);
        Ok(())
    }

    fn port_of(&self, ifindex: i32) -> Option<u32> {
        self.ports.iter().find(|(_, p)| p.ifindex == ifindex).map(|(n, _)| *n)
    }

    /// Take a reference on the catch-all of (`ifindex`, `chain`), adding it
    /// on first use.
    fn catchall_get(&mut self, ifindex: i32, chain: u32) -> Result<(), OffloadError> {
        let Some(upcall) = self.upcall else { return Ok(()) };
        if let Some((_, refs)) = self.catchalls.get_mut(&(ifindex, chain)) {
            *refs += 1;
            return Ok(());
        }
        let port = self.port_of(ifindex).unwrap_or(0);
        let rule = crate::rule::FlowerRule {
            chain,
            prio: CATCHALL_PRIO,
            protocol: ETH_P_ALL,
            keys: vec![],
            actions: vec![
                crate::rule::FlowerAction::VlanPush { vid: (port & 0x0fff) as u16, prio: 0, tpid: ETH_P_8021AD },
                crate::rule::FlowerAction::Mirred { redirect: true, ifindex: upcall as u32 },
            ],
            flags: TCA_CLS_FLAGS_SKIP_HW,
            cookie: None,
        };
        let flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL | NLM_F_ECHO;
        let replies = self.rt.request(&rule.new_msg(ifindex, 0, flags).emit()).map_err(|e| {
            failed(
                format!("adding the upcall catch-all on {} chain {chain}", self.ifname(ifindex)),
                &e,
                "the kernel needs cls_flower, act_vlan and act_mirred",
            )
        })?;
        let id = replies
            .iter()
            .find_map(|m| FilterMsg::parse(m).ok().filter(|f| f.header.ty == RTM_NEWTFILTER))
            .map(|f| FilterId::of(&f))
            .ok_or_else(|| OffloadError::Failed("the kernel did not echo the catch-all filter".into()))?;
        self.catchalls.insert((ifindex, chain), (id, 1));
        Ok(())
    }

    fn catchall_put(&mut self, ifindex: i32, chain: u32) {
        let Some((id, refs)) = self.catchalls.get_mut(&(ifindex, chain)) else { return };
        *refs -= 1;
        if *refs == 0 {
            let id = *id;
            self.catchalls.remove(&(ifindex, chain));
            let _ = self.rt.request(&id.del_msg().emit());
        }
    }

    /// Remove what a previous daemon left on `ifindex`: every flower filter
    /// at a priority of hwol's ([`PRIO_BASE`] and up), in every chain.
    fn remove_stale(&mut self, ifindex: i32) -> Result<(), OffloadError> {
        let replies = match self.rt.request(&dump_msg(ifindex).emit()) {
            Ok(r) => r,
            Err(e) => return Err(failed(format!("listing filters on {}", self.ifname(ifindex)), &e, "is it up?")),
        };
        // Filters adopted from the journal are the provider's, not stale.
        let adopted: std::collections::HashSet<FilterId> = self.flows.values().map(|i| i.id).collect();
        for m in replies {
            let Ok(f) = FilterMsg::parse(&m) else { continue };
            if f.header.ty != RTM_NEWTFILTER || f.tcm.prio() < PRIO_BASE || f.flower().is_none() || f.tcm.handle == 0 {
                continue;
            }
            let id = FilterId::of(&f);
            if !adopted.contains(&id) {
                let _ = self.rt.request(&id.del_msg().emit());
            }
        }
        Ok(())
    }

    /// The tc-policy every filter is installed with.
    pub fn policy(&self) -> TcPolicy {
        self.policy
    }

    /// A flow's hardware state, as of its install or the last stats poll.
    pub fn hw_state(&self, ufid: u128) -> Option<HwState> {
        self.flows.get(&ufid).map(|i| i.hw)
    }

    /// Where a flow's filter is.
    pub fn filter_id(&self, ufid: u128) -> Option<FilterId> {
        self.flows.get(&ufid).map(|i| i.id)
    }

    fn ifname(&self, ifindex: i32) -> String {
        self.ports.values().find(|p| p.ifindex == ifindex).map(|p| p.ifname.clone()).unwrap_or_default()
    }

    fn remove_filter(&mut self, ufid: u128) -> Result<(), OffloadError> {
        let Some(inst) = self.flows.remove(&ufid) else { return Ok(()) };
        self.journal_dirty = true;
        self.prios.put(&inst.class);
        let res = self.rt.request(&inst.id.del_msg().emit());
        for c in &inst.gotos {
            self.catchall_put(inst.id.ifindex, *c);
        }
        match res {
            Ok(_) => Ok(()),
            Err(e) if e.errno() == Some(libc::ENOENT) => Ok(()),
            Err(e) => Err(failed(
                format!(
                    "deleting flower filter {} chain {} prio {} handle {:#x} on {}",
                    ufid_text(ufid),
                    inst.id.chain,
                    inst.id.prio,
                    inst.id.handle,
                    self.ifname(inst.id.ifindex)
                ),
                &e,
                "check `tc -s filter show dev <rep> ingress`",
            )),
        }
    }

    fn stats_of(&self, s: &FilterStats) -> FastPathStats {
        let used = match s.lastuse_ticks {
            Some(t) if s.packets > 0 => {
                Some((self.clock)().saturating_sub(Duration::from_millis(t.saturating_mul(1000 / USER_HZ))))
            }
            _ => None,
        };
        FastPathStats { packets: s.packets, bytes: s.bytes, used }
    }
}

/// A stopping daemon takes its filters with it (best effort): the flows'
/// and the catch-alls. The clsact qdiscs stay (they may be shared).
impl<R: Transport, C: Transport> Drop for FlowerProvider<R, C> {
    fn drop(&mut self) {
        let ufids: Vec<u128> = self.flows.keys().copied().collect();
        for u in ufids {
            let _ = self.remove_filter(u);
        }
        for (id, _) in std::mem::take(&mut self.catchalls).into_values() {
            let _ = self.rt.request(&id.del_msg().emit());
        }
        // The clsact qdiscs this provider added go too, unless someone
        // else's filters are on them.
        let mut ours: Vec<i32> = self.ports.values().filter(|p| p.qdisc_ours).map(|p| p.ifindex).collect();
        ours.sort_unstable();
        ours.dedup();
        for ifindex in ours {
            let Ok(replies) = self.rt.request(&dump_msg(ifindex).emit()) else { continue };
            let in_use = replies.iter().filter_map(|m| FilterMsg::parse(m).ok()).any(|f| f.tcm.handle != 0);
            if !in_use {
                let _ = self.rt.request(&clsact_del_msg(ifindex).emit());
            }
        }
        // Nothing left to adopt.
        if let Some(path) = &self.journal {
            let _ = std::fs::remove_file(path);
        }
    }
}

fn ufid_text(ufid: u128) -> String {
    format!("ufid:{ufid:032x}")
}

impl<R: Transport, C: Transport> OffloadProvider for FlowerProvider<R, C> {
    fn name(&self) -> &'static str {
        "tc"
    }

    /// Resolve the representor and make sure it has a clsact qdisc.
    fn port_add(&mut self, port: u32, ifname: &str) -> Result<(), OffloadError> {
        let ifindex = self.rt.ifindex(ifname).map_err(|e| {
            failed(format!("port {port}: looking up {ifname}"), &e, "is the representor up and in this namespace?")
        })?;
        self.load_journal(); // which qdiscs a crashed run added
        let added = match self.rt.request(&clsact_msg(ifindex).emit()) {
            Ok(_) => true,
            Err(e) if e.errno() == Some(libc::EEXIST) => false,
            Err(e) => {
                return Err(failed(
                    format!("port {port}: adding the clsact qdisc to {ifname}"),
                    &e,
                    "the kernel needs sch_ingress (clsact); another root ingress qdisc may be in the way",
                ))
            }
        };
        if self.upcall.is_some() && port > 0x0fff {
            return Err(OffloadError::Failed(format!(
                "port {port} ({ifname}): misses are tagged with the port as a VLAN id, so ports above 4095 cannot be offloaded; renumber the port"
            )));
        }
        let fresh = !self.ports.values().any(|p| p.ifindex == ifindex);
        let qdisc_ours = added
            || self.qdiscs_adopted.contains(&ifindex)
            || self.ports.values().any(|p| p.ifindex == ifindex && p.qdisc_ours);
        self.ports.insert(port, Port { ifname: ifname.to_string(), ifindex, qdisc_ours });
        self.journal_dirty = true;
        if fresh {
            self.remove_stale(ifindex)?;
            self.catchall_get(ifindex, 0)?;
            // Adopted flows on this device: the chains they jump to get
            // their catch-alls back (the old ones sent misses to the
            // previous run's upcall device).
            let chains: Vec<u32> =
                self.flows.values().filter(|i| i.id.ifindex == ifindex).flat_map(|i| i.gotos.iter().copied()).collect();
            for c in chains {
                self.catchall_get(ifindex, c)?;
            }
        }
        Ok(())
    }

    fn port_del(&mut self, port: u32) -> Result<(), OffloadError> {
        if let Some(p) = self.ports.get(&port).cloned() {
            self.catchall_put(p.ifindex, 0);
            self.ports.remove(&port);
        }
        Ok(())
    }

    fn flow_put(&mut self, flow: &OffloadFlow) -> Result<(), OffloadError> {
        let ports = &self.ports;
        let t = translate(flow, self.policy, |p| {
            ports.get(&p).map(|x| x.ifindex).ok_or_else(|| "not attached to the tc provider".to_string())
        })
        .map_err(OffloadError::Unsupported)?;
        // Replacing: the old filter goes first (its counters restart).
        self.remove_filter(flow.ufid)?;
        let mut rule = t.rule;
        rule.prio = self.prios.get(t.prio_class).ok_or(OffloadError::Unsupported(NotOffloadedReason::TableFull {
            table: "tc priorities",
            capacity: 0xffff,
        }))?;
        let flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL | NLM_F_ECHO;
        let replies = match self.rt.request(&rule.new_msg(t.ifindex, 0, flags).emit()) {
            Ok(r) => r,
            Err(e) => {
                self.prios.put(&t.prio_class);
                let refused = matches!(e.errno(), Some(libc::EOPNOTSUPP) | Some(libc::EINVAL));
                if refused && self.policy == TcPolicy::SkipSw {
                    return Err(OffloadError::Unsupported(NotOffloadedReason::UnsupportedAction {
                        action: format!("flower rule (refused by the NIC with tc-policy skip_sw: {e})"),
                    }));
                }
                return Err(failed(
                    format!(
                        "adding flower filter {} on {} chain {} prio {}",
                        ufid_text(flow.ufid),
                        self.ifname(t.ifindex),
                        rule.chain,
                        rule.prio
                    ),
                    &e,
                    "the kernel needs cls_flower and the act_* modules (modprobe cls_flower act_ct act_mirred act_gact act_pedit act_csum act_vlan)",
                ));
            }
        };
        let echo = replies.iter().find_map(|m| FilterMsg::parse(m).ok().filter(|f| f.header.ty == RTM_NEWTFILTER));
        let Some(echo) = echo else {
            self.prios.put(&t.prio_class);
            return Err(OffloadError::Failed(format!(
                "adding flower filter {}: the kernel did not echo the filter, so its handle is unknown",
                ufid_text(flow.ufid)
            )));
        };
        let id = FilterId::of(&echo);
        let gotos: Vec<u32> = rule
            .actions
            .iter()
            .filter_map(|a| if let crate::rule::FlowerAction::GotoChain(c) = a { Some(*c) } else { None })
            .collect();
        for (n, c) in gotos.iter().enumerate() {
            if let Err(e) = self.catchall_get(t.ifindex, *c) {
                // Without it a miss in that chain would vanish into the stack.
                for done in &gotos[..n] {
                    self.catchall_put(t.ifindex, *done);
                }
                let _ = self.rt.request(&id.del_msg().emit());
                self.prios.put(&t.prio_class);
                return Err(e);
            }
        }
        let hw = HwState::of(&FilterStats::of(&echo));
        self.flows.insert(flow.ufid, Installed { flow: flow.clone(), id, class: t.prio_class, hw, gotos });
        self.journal_dirty = true;
        Ok(())
    }

    fn flow_del(&mut self, ufid: u128) -> Result<(), OffloadError> {
        self.remove_filter(ufid)
    }

    /// One dump per representor that holds flows; counters come from each
    /// filter's first action, matched to flows by the cookie (the ufid) and
    /// the handle.
    fn flow_stats(&mut self) -> Result<Vec<(u128, FastPathStats)>, OffloadError> {
        let mut devices: Vec<i32> = self.flows.values().map(|i| i.id.ifindex).collect();
        devices.sort_unstable();
        devices.dedup();
        let mut out = Vec::with_capacity(self.flows.len());
        for ifindex in devices {
            let replies = self.rt.request(&dump_msg(ifindex).emit()).map_err(|e| {
                failed(
                    format!("dumping flower filters of {}", self.ifname(ifindex)),
                    &e,
                    "is the representor still there?",
                )
            })?;
            for m in replies {
                let Ok(f) = FilterMsg::parse(&m) else { continue };
                let Some(ufid) = cookie_ufid(&f) else { continue };
                let Some(inst) = self.flows.get(&ufid) else { continue };
                if inst.id != FilterId::of(&f) {
                    continue; // an older filter with the same cookie
                }
                let s = FilterStats::of(&f);
                let stats = self.stats_of(&s);
                if let Some(inst) = self.flows.get_mut(&ufid) {
                    inst.hw = HwState::of(&s);
                }
                out.push((ufid, stats));
            }
        }
        self.save_journal();
        Ok(out)
    }

    /// `not_in_hw` filters run in the kernel's flower classifier: they skip
    /// the daemon but cost host CPU, so say why the NIC does not hold them.
    fn not_in_hw(&self, ufid: u128) -> Option<String> {
        let inst = self.flows.get(&ufid)?;
        if inst.hw.in_hw {
            return None;
        }
        Some(match self.policy {
            TcPolicy::SkipHw => {
                "tc-policy=skip_hw keeps filters out of the NIC; the kernel's flower classifier runs it".to_string()
            }
            _ => {
                let dev = self.ifname(inst.id.ifindex);
                format!(
                    "{dev}'s driver did not take the filter (not_in_hw), so the kernel's flower classifier runs it; \
                     check `ethtool -k {dev} hw-tc-offload`, that the NIC is in switchdev mode, and the driver's \
                     limits on this match or action"
                )
            }
        })
    }

    /// The flows this provider holds; the first call also takes over what
    /// a crashed previous run left, as its journal describes it.
    fn flow_dump(&mut self) -> Result<Vec<OffloadFlow>, OffloadError> {
        self.load_journal();
        Ok(self.flows.values().map(|i| i.flow.clone()).collect())
    }

    /// Insert the connection into the kernel's conntrack (ctnetlink), so
    /// act_ct finds it established in its zone.
    fn ct_put(&mut self, ct: &CtOffload) -> Result<(), OffloadError> {
        check_ct(ct).map_err(OffloadError::Unsupported)?;
        let msg = ct_new_msg(ct, self.ct_timeouts.for_proto(ct.orig.proto)).map_err(OffloadError::Unsupported)?;
        match self.ct.request(&msg) {
            Ok(_) => {}
            Err(e) if e.errno() == Some(libc::EEXIST) => {}
            Err(e) => {
                return Err(failed(
                    format!("inserting connection {:?} zone {} into the kernel's conntrack", ct.orig, ct.zone),
                    &e,
                    "the kernel needs nf_conntrack and nf_conntrack_netlink (modprobe nf_conntrack_netlink); labels need a connlabel user",
                ))
            }
        }
        self.conns.insert((ct.zone, ct.orig), ct.clone());
        self.journal_dirty = true;
        Ok(())
    }

    fn ct_del(&mut self, zone: u16, orig: &CtTuple) -> Result<(), OffloadError> {
        if self.conns.remove(&(zone, *orig)).is_none() {
            return Ok(());
        }
        self.journal_dirty = true;
        let msg = ct_del_msg(zone, orig).map_err(OffloadError::Unsupported)?;
        match self.ct.request(&msg) {
            Ok(_) => Ok(()),
            Err(e) if e.errno() == Some(libc::ENOENT) => Ok(()),
            Err(e) => Err(failed(
                format!("deleting connection {orig:?} zone {zone} from the kernel's conntrack"),
                &e,
                "check `conntrack -L -w <zone>`",
            )),
        }
    }

    /// Last use = now − (idle timeout − remaining timeout): the kernel
    /// resets the timeout to the idle timeout on every packet.
    fn ct_used(&mut self) -> Result<Vec<(u16, CtTuple, Duration)>, OffloadError> {
        let now = (self.clock)();
        let mut out = Vec::new();
        let keys: Vec<(u16, CtTuple)> = self.conns.keys().copied().collect();
        for (zone, orig) in keys {
            let Ok(msg) = ct_get_msg(zone, &orig) else { continue };
            let replies = match self.ct.request(&msg) {
                Ok(r) => r,
                Err(e) if e.errno() == Some(libc::ENOENT) => continue,
                Err(e) => {
                    return Err(failed(format!("reading connection {orig:?} zone {zone}"), &e, "is ctnetlink loaded?"))
                }
            };
            let Some(timeout) = replies.iter().find_map(|m| parse_ct(m).ok()?.timeout) else { continue };
            let idle = self.ct_timeouts.for_proto(orig.proto).saturating_sub(timeout);
            out.push((zone, orig, now.saturating_sub(Duration::from_secs(u64::from(idle)))));
        }
        Ok(out)
    }

    /// The connections this provider mirrored into the kernel, including
    /// those a crashed previous run journaled and the kernel still has.
    fn ct_dump(&mut self) -> Result<Vec<CtOffload>, OffloadError> {
        self.load_journal();
        Ok(self.conns.values().cloned().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fake::{FakeKernel, Hw};
    use hwol_flow::{Action, CtAction, FlowKey};
    use hwol_offload::{OffloadManager, OffloadState};

    fn clock() -> Duration {
        Duration::from_secs(1000)
    }

    fn setup(hw: Hw, policy: TcPolicy) -> (FakeKernel, FlowerProvider<FakeKernel, FakeKernel>) {
        let k = FakeKernel::new(&[("rep1", 11), ("rep2", 12), ("rep3", 13)], hw);
        let mut p = FlowerProvider::new(k.clone(), k.clone(), policy, CtTimeouts::default(), clock);
        p.port_add(1, "rep1").unwrap();
        p.port_add(2, "rep2").unwrap();
        (k, p)
    }

    fn flow(ufid: u128, dst_last: u8, actions: Vec<Action>) -> OffloadFlow {
        let key =
            FlowKey { in_port: 1, eth_type: 0x0800, nw_proto: 6, nw_dst: [10, 0, 0, dst_last], ..Default::default() };
        let mut mask = FlowMask::default();
        mask.0.in_port = !0;
        mask.0.recirc_id = !0;
        mask.0.eth_type = !0;
        mask.0.nw_proto = !0;
        mask.0.nw_dst = [0xff; 4];
        mask.0.vlans[0].tpid = !0;
        OffloadFlow { ufid, key, mask, actions }
    }

    #[test]
    fn put_installs_a_filter_with_cookie_handle_and_hw_state() {
        let (k, mut p) = setup(Hw::Accept, TcPolicy::None);
        // The second port_add of an existing clsact is fine (EEXIST).
        p.port_add(3, "rep3").unwrap();
        p.port_add(3, "rep3").unwrap();
        p.flow_put(&flow(0xa1, 2, vec![Action::Output(2)])).unwrap();
        let fs = k.filters();
        assert_eq!(fs.len(), 1);
        assert_eq!(cookie_ufid(&fs[0]), Some(0xa1));
        let id = p.filter_id(0xa1).unwrap();
        assert_eq!((id.ifindex, id.chain, id.prio, id.protocol), (11, 0, PRIO_BASE, 0x0800));
        assert_eq!(id.handle, fs[0].tcm.handle);
        assert_eq!(p.hw_state(0xa1).map(|h| h.in_hw), Some(true));
        assert_eq!(p.flow_dump().unwrap().len(), 1);
    }

    #[test]
    fn priorities_follow_mask_and_protocol() {
        let (k, mut p) = setup(Hw::Accept, TcPolicy::None);
        p.flow_put(&flow(1, 2, vec![Action::Output(2)])).unwrap();
        p.flow_put(&flow(2, 3, vec![Action::Output(2)])).unwrap();
        let mut other = flow(3, 3, vec![Action::Output(2)]);
        other.mask.0.nw_dst = [0xff, 0xff, 0xff, 0];
        p.flow_put(&other).unwrap();
        let prio = |u| p.filter_id(u).unwrap().prio;
        assert_eq!(prio(1), prio(2), "same mask, same protocol: one prio");
        assert_ne!(prio(1), prio(3));
        // Freed with its last flow, then reused.
        let p3 = prio(3);
        p.flow_del(3).unwrap();
        let mut again = flow(4, 4, vec![Action::Output(2)]);
        again.mask.0.nw_dst = [0xff, 0xff, 0, 0];
        p.flow_put(&again).unwrap();
        assert_eq!(p.filter_id(4).unwrap().prio, p3);
        assert_eq!(k.filters().len(), 3);
    }

    #[test]
    fn put_replaces_and_del_is_idempotent() {
        let (k, mut p) = setup(Hw::Accept, TcPolicy::None);
        p.flow_put(&flow(7, 2, vec![Action::Output(2)])).unwrap();
        k.hit(7, 5, 500, 0, true);
        p.flow_put(&flow(7, 2, vec![Action::Output(1), Action::Output(2)])).unwrap();
        assert_eq!(k.filters().len(), 1);
        assert_eq!(k.filters()[0].actions().len(), 2);
        assert_eq!(p.flow_stats().unwrap(), vec![(7, FastPathStats::default())], "counters restart");
        p.flow_del(7).unwrap();
        p.flow_del(7).unwrap();
        assert!(k.filters().is_empty());
        assert!(p.flow_stats().unwrap().is_empty());
    }

    #[test]
    fn stats_total_hw_and_last_use() {
        let (k, mut p) = setup(Hw::Accept, TcPolicy::None);
        p.flow_put(&flow(9, 2, vec![Action::Output(2)])).unwrap();
        assert!(k.hit(9, 10, 1500, 150, true));
        let st = p.flow_stats().unwrap();
        assert_eq!(
            st,
            vec![(9, FastPathStats { packets: 10, bytes: 1500, used: Some(Duration::from_millis(998_500)) })]
        );
        assert_eq!(p.hw_state(9).unwrap().hw_packets, 10);
        assert_eq!(p.hw_state(9).unwrap().in_hw_count, Some(1));
    }

    #[test]
    fn tc_policy_decides_what_a_refusing_nic_means() {
        // skip_sw: the flow must be in hardware or stay in hwol's software path.
        let (k, mut p) = setup(Hw::Refuse, TcPolicy::SkipSw);
        let e = p.flow_put(&flow(1, 2, vec![Action::Output(2)])).unwrap_err();
        assert!(
            matches!(&e, OffloadError::Unsupported(NotOffloadedReason::UnsupportedAction { action })
            if action.contains("skip_sw")),
            "{e:?}"
        );
        assert!(k.filters().is_empty());
        // none: the kernel keeps it in software tc, reported not in hardware.
        let (k, mut p) = setup(Hw::Refuse, TcPolicy::None);
        p.flow_put(&flow(1, 2, vec![Action::Output(2)])).unwrap();
        assert!(!p.hw_state(1).unwrap().in_hw);
        assert_eq!(k.filters()[0].flower_flags() & TCA_CLS_FLAGS_NOT_IN_HW, TCA_CLS_FLAGS_NOT_IN_HW);
        // skip_hw: every filter carries the flag.
        let (k, mut p) = setup(Hw::Accept, TcPolicy::SkipHw);
        p.flow_put(&flow(1, 2, vec![Action::Output(2)])).unwrap();
        assert_eq!(k.filters()[0].flower_flags() & TCA_CLS_FLAGS_SKIP_HW, TCA_CLS_FLAGS_SKIP_HW);
        assert!(!p.hw_state(1).unwrap().in_hw);
    }

    /// Adopted priorities keep one class per priority, and new classes get
    /// the ones the adopted run left unused, never an adopted one.
    #[test]
    fn adopted_priorities_stay_unique() {
        let class = |n: u8| {
            let mut m = FlowMask::default();
            m.0.nw_dst = [255, 255, n, 0];
            (ETH_P_IP, m)
        };
        let mut p = Prios::default();
        assert!(p.adopt(class(1), PRIO_BASE + 2));
        assert!(p.adopt(class(1), PRIO_BASE + 2), "a second flow of the class");
        assert!(!p.adopt(class(1), PRIO_BASE + 5), "the class already has a priority");
        assert!(!p.adopt(class(2), PRIO_BASE + 2), "the priority already has a class");
        assert!(!p.adopt(class(3), CATCHALL_PRIO), "the catch-all's priority is not a flow's");
        let mut got: Vec<u16> = (4..8).map(|n| p.get(class(n)).unwrap()).collect();
        got.sort_unstable();
        assert_eq!(got, [PRIO_BASE, PRIO_BASE + 1, PRIO_BASE + 3, PRIO_BASE + 4]);
    }

    /// A clean stop removes the clsact qdiscs the provider added, and only
    /// those: one that was there before stays.
    #[test]
    fn a_clean_stop_removes_only_its_own_qdiscs() {
        let k = FakeKernel::new(&[("rep1", 11), ("rep2", 12)], Hw::Accept);
        k.clone().request(&clsact_msg(12).emit()).unwrap(); // someone else's
        let mut p = FlowerProvider::new(k.clone(), k.clone(), TcPolicy::None, CtTimeouts::default(), clock);
        p.port_add(1, "rep1").unwrap();
        p.port_add(2, "rep2").unwrap();
        p.flow_put(&flow(1, 2, vec![Action::Output(2)])).unwrap();
        assert!(k.has_clsact(11) && k.has_clsact(12));
        drop(p);
        assert!(k.filters().is_empty());
        assert!(!k.has_clsact(11), "the qdisc the provider added stayed");
        assert!(k.has_clsact(12), "a qdisc the provider found was removed");
    }

    /// A crashed daemon's filters and connections are taken over by the
    /// next one through the journal: nothing is deleted or re-added, stats
    /// continue, the ct()+recirc flow's chain gets its catch-all back, and
    /// what the kernel no longer has (or never journaled) is not adopted.
    #[test]
    fn a_restarted_provider_adopts_what_the_journal_and_the_kernel_agree_on() {
        let dir = std::env::temp_dir().join(format!("hwol-journal-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("flower.journal");
        let k = FakeKernel::new(&[("rep1", 11), ("rep2", 12), ("up0", 13)], Hw::Accept);
        let mut p = FlowerProvider::new(k.clone(), k.clone(), TcPolicy::None, CtTimeouts::default(), clock);
        p.set_upcall("up0").unwrap();
        p.set_journal(&path);
        p.port_add(1, "rep1").unwrap();
        p.port_add(2, "rep2").unwrap();
        let ct = CtAction { zone: 65520, ..Default::default() };
        p.flow_put(&flow(1, 2, vec![Action::Ct(ct), Action::Recirc(5)])).unwrap();
        p.flow_put(&flow(2, 3, vec![Action::Output(2)])).unwrap();
        let t = CtTuple::ports("10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap(), 6, 1000, 80);
        let lost = CtTuple::ports("10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap(), 6, 1001, 80);
        p.ct_put(&CtOffload { zone: 65520, orig: t, mark: 0x20, label: 0 }).unwrap();
        p.ct_put(&CtOffload { zone: 65520, orig: lost, mark: 0, label: 0 }).unwrap();
        k.hit(2, 7, 700, 0, true);
        p.flow_stats().unwrap(); // the journal is written after a stats poll
        let filters_before: Vec<_> = k.filters().iter().map(FilterId::of).collect();
        // A flow the journal never saw, and a connection the kernel lost.
        p.flow_put(&flow(3, 4, vec![Action::Output(2)])).unwrap();
        k.clone().request(&ct_del_msg(65520, &lost).unwrap()).unwrap();
        std::mem::forget(p); // a crash: no Drop, the filters stay

        let mut q = FlowerProvider::new(k.clone(), k.clone(), TcPolicy::None, CtTimeouts::default(), clock);
        q.set_upcall("up0").unwrap();
        q.set_journal(&path);
        let mut m = OffloadManager::new(q, true);
        let mut adopted: Vec<u128> = m.adopt().unwrap().iter().map(|f| f.ufid).collect();
        adopted.sort_unstable();
        assert_eq!(adopted, [1, 2]);
        let cts = m.ct_dump().unwrap();
        assert_eq!(cts.iter().map(|c| (c.orig, c.mark)).collect::<Vec<_>>(), [(t, 0x20)]);
        for (n, dev) in [(1, "rep1"), (2, "rep2")] {
            m.provider_mut().port_add(n, dev).unwrap();
        }
        let after: Vec<FilterId> = k.filters().iter().map(FilterId::of).collect();
        for id in filters_before.iter().filter(|id| id.prio != CATCHALL_PRIO) {
            assert!(after.contains(id), "adopted filter {id:?} was removed: {after:?}");
        }
        assert!(!k.filters().iter().any(|f| cookie_ufid(f) == Some(3)), "an unjournaled filter is stale");
        let catchall_chains: Vec<u32> =
            k.filters().iter().filter(|f| f.tcm.prio() == CATCHALL_PRIO).map(|f| FilterId::of(f).chain).collect();
        assert!(catchall_chains.contains(&5), "chain 5 (the recirc) has no catch-all: {catchall_chains:?}");
        // Counters continue from where the kernel has them; none repeat.
        k.hit(2, 3, 300, 0, true);
        let delta = m.poll_stats().unwrap();
        assert_eq!(delta.iter().find(|(u, _)| *u == 2).map(|(_, s)| s.packets), Some(3));
        assert_eq!(m.state(2), Some(&OffloadState::Offloaded));
        // The adopted flows are the provider's like any other: delete works.
        m.flow_del(2);
        m.run(10);
        assert!(!k.filters().iter().any(|f| cookie_ufid(f) == Some(2)));
        // A clean stop removes the filters, the journal, and the clsact
        // qdiscs the first run added (the journal said so).
        drop(m);
        assert!(!path.exists());
        assert!(k.filters().is_empty(), "{:?}", k.filters());
        assert!(!k.has_clsact(11) && !k.has_clsact(12), "the adopted run's qdiscs stayed");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// A filter the NIC refused (policy none) or was told to skip (skip_hw)
    /// is "not in hardware" with a reason that names the cause, not
    /// "offloaded".
    #[test]
    fn not_in_hw_filters_are_not_in_hardware_with_the_reason() {
        for (hw, policy, says) in [
            (Hw::Refuse, TcPolicy::None, "rep1's driver did not take the filter (not_in_hw)"),
            (Hw::Accept, TcPolicy::SkipHw, "tc-policy=skip_hw"),
        ] {
            let (_k, p) = setup(hw, policy);
            // Boxed, as the daemon holds it: the trait object forwards it too.
            let p: Box<dyn OffloadProvider> = Box::new(p);
            let mut m = OffloadManager::new(p, true);
            m.flow_put(flow(1, 2, vec![Action::Output(2)]));
            m.run(10);
            match m.state(1) {
                Some(OffloadState::NotInHardware(why)) => assert!(why.contains(says), "{why}"),
                other => panic!("{policy:?}: {other:?}"),
            }
            m.poll_stats().unwrap();
            assert!(matches!(m.state(1), Some(OffloadState::NotInHardware(_))), "still after a stats poll");
            let summary = m.summary();
            assert_eq!((summary.offloaded, summary.not_in_hw.values().sum::<usize>()), (0, 1));
            assert!(summary.format().contains("in tc but not in hardware: 1"), "{}", summary.format());
        }
    }

    #[test]
    fn refusals_and_failures_through_the_manager() {
        let (k, p) = setup(Hw::Accept, TcPolicy::None);
        let mut m = OffloadManager::new(p, true);
        m.flow_put(flow(1, 2, vec![Action::Output(2)]));
        m.flow_put(flow(2, 3, vec![Action::Output(5)]));
        let nat = CtAction { nat: Some(Default::default()), ..Default::default() };
        m.flow_put(flow(3, 4, vec![Action::Ct(nat)]));
        m.run(10);
        assert_eq!(m.state(1), Some(&OffloadState::Offloaded));
        assert!(matches!(
            m.state(2),
            Some(OffloadState::NotOffloaded(NotOffloadedReason::PortNotOffloadable { port: 5, .. }))
        ));
        assert!(matches!(m.state(3), Some(OffloadState::NotOffloaded(NotOffloadedReason::UnsupportedAction { .. }))));
        assert_eq!(k.filters().len(), 1);
        assert_eq!(m.summary().offloaded, 1);
        // A port that is gone from the kernel is a failure that says what to check.
        let e = m.provider_mut().port_add(9, "nope").unwrap_err();
        assert!(e.to_string().contains("nope") && e.to_string().contains("representor"), "{e}");
    }

    #[test]
    fn recirculation_uses_chains_on_the_input_device() {
        let (k, mut p) = setup(Hw::Accept, TcPolicy::None);
        let ct = CtAction { zone: 5, ..Default::default() };
        p.flow_put(&flow(1, 2, vec![Action::Ct(ct), Action::Recirc(3)])).unwrap();
        let mut f = flow(2, 2, vec![Action::Output(2)]);
        f.key.recirc_id = 3;
        f.key.ct_state = hwol_flow::ct_state::TRK | hwol_flow::ct_state::EST;
        f.mask.0.ct_state = f.key.ct_state;
        p.flow_put(&f).unwrap();
        let chains: Vec<u32> = k.filters().iter().map(|m| m.chain()).collect();
        assert_eq!(chains, vec![0, 3]);
        assert!(k.filters().iter().all(|m| m.tcm.ifindex == 11));
    }

    #[test]
    fn misses_go_to_the_upcall_device_through_per_chain_catch_alls() {
        let k = FakeKernel::new(&[("rep1", 11), ("rep2", 12), ("up0", 20)], Hw::Accept);
        let mut p = FlowerProvider::new(k.clone(), k.clone(), TcPolicy::SkipSw, CtTimeouts::default(), clock);
        assert!(p.set_upcall("nope").unwrap_err().to_string().contains("upcall device nope"));
        p.set_upcall("up0").unwrap();
        assert!(k.filters().is_empty(), "the probe filter is gone");
        p.port_add(1, "rep1").unwrap();
        p.port_add(2, "rep2").unwrap();
        let catchalls = |k: &FakeKernel| {
            let mut v: Vec<(i32, u32)> = k
                .filters()
                .iter()
                .filter(|m| m.tcm.prio() == CATCHALL_PRIO)
                .map(|m| (m.tcm.ifindex, m.chain()))
                .collect();
            v.sort_unstable();
            v
        };
        assert_eq!(catchalls(&k), vec![(11, 0), (12, 0)]);
        let c = k.filters().into_iter().find(|m| m.tcm.ifindex == 12).unwrap();
        // Software only, whatever the policy; tag = port 2 in an 802.1ad header; out to up0.
        assert_eq!(c.flower_flags() & TCA_CLS_FLAGS_SKIP_HW, TCA_CLS_FLAGS_SKIP_HW);
        let push = crate::rule::FlowerAction::VlanPush { vid: 2, prio: 0, tpid: ETH_P_8021AD }.to_tc(1);
        let out = crate::rule::FlowerAction::Mirred { redirect: true, ifindex: 20 }.to_tc(2);
        assert_eq!(c.actions()[0].options(), push.options());
        assert_eq!(c.actions()[1].options(), out.options());

        // A flow that recirculates into chain 3 brings chain 3's catch-all, two share it.
        let ct = CtAction { zone: 5, ..Default::default() };
        p.flow_put(&flow(1, 2, vec![Action::Ct(ct.clone()), Action::Recirc(3)])).unwrap();
        p.flow_put(&flow(2, 3, vec![Action::Ct(ct), Action::Recirc(3)])).unwrap();
        assert_eq!(catchalls(&k), vec![(11, 0), (11, 3), (12, 0)]);
        p.flow_del(1).unwrap();
        assert_eq!(catchalls(&k), vec![(11, 0), (11, 3), (12, 0)]);
        p.flow_del(2).unwrap();
        assert_eq!(catchalls(&k), vec![(11, 0), (12, 0)]);
        p.port_del(2).unwrap();
        assert_eq!(catchalls(&k), vec![(11, 0)]);
        // A stopping daemon removes its filters.
        p.flow_put(&flow(3, 2, vec![Action::Output(1)])).unwrap();
        drop(p);
        assert!(k.filters().is_empty(), "{:?}", k.filters());
    }

    #[test]
    fn a_new_daemon_removes_what_a_crashed_one_left() {
        let (k, mut p) = setup(Hw::Accept, TcPolicy::None);
        p.flow_put(&flow(1, 2, vec![Action::Output(2)])).unwrap();
        p.flow_put(&flow(2, 3, vec![Action::Output(2)])).unwrap();
        std::mem::forget(p); // crash: nothing cleaned up
        assert_eq!(k.filters().len(), 2);
        let mut p = FlowerProvider::new(k.clone(), k.clone(), TcPolicy::None, CtTimeouts::default(), clock);
        p.port_add(1, "rep1").unwrap();
        assert!(k.filters().is_empty());
        // The same flow installs again (no EEXIST from a leftover).
        p.port_add(2, "rep2").unwrap();
        p.flow_put(&flow(1, 2, vec![Action::Output(2)])).unwrap();
        assert_eq!(k.filters().len(), 1);
    }

    #[test]
    fn connections_go_into_the_kernel_conntrack_and_report_last_use() {
        let (k, mut p) = setup(Hw::Accept, TcPolicy::None);
        let t = CtTuple::ports("10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap(), 6, 40000, 5201);
        let ct = CtOffload { zone: 5, orig: t, mark: 3, label: 0 };
        p.ct_put(&ct).unwrap();
        p.ct_put(&ct).unwrap(); // EEXIST is fine
        assert_eq!(k.conns().len(), 1);
        assert_eq!(k.conns()[0].timeout, Some(432_000));
        k.ct_set_timeout(5, &t, 432_000 - 30);
        assert_eq!(p.ct_used().unwrap(), vec![(5, t, Duration::from_secs(970))]);
        let icmp = CtOffload { orig: CtTuple { proto: 1, ..t }, ..ct.clone() };
        assert_eq!(p.ct_put(&icmp).unwrap_err(), OffloadError::Unsupported(check_ct(&icmp).unwrap_err()));
        p.ct_del(5, &t).unwrap();
        p.ct_del(5, &t).unwrap();
        assert!(k.conns().is_empty());
    }
}
