//! [`FakeKernel`]: an in-memory tc + conntrack that speaks the same
//! netlink messages as the kernel, for tests. It decodes every request
//! with this crate's codec and refuses what the kernel would refuse (no
//! clsact qdisc, a filter without actions or flags, a mirred to a device
//! that does not exist, two protocols at one priority, deleting what is not
//! there), answers adds with the `NLM_F_ECHO` copy carrying the handle and
//! `in_hw`/`not_in_hw`, and dumps filters with counters tests can bump.
//!
//! Clones share one state, so a test keeps a handle while the provider
//! owns another.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};

use hwol_conntrack::CtTuple;

use crate::conntrack::{ct_msg_type, parse_ct, CtInfo};
use crate::rule::{cookie_ufid, FilterId};
use crate::tc::*;
use crate::transport::{NlError, Transport};
use crate::uapi::*;

/// Whether the fake NIC takes filters into "hardware".
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Hw {
    /// Filters not marked skip_hw go in hardware (`in_hw`).
    #[default]
    Accept,
    /// The NIC refuses every filter (`not_in_hw`; skip_sw is EOPNOTSUPP).
    Refuse,
}

#[derive(Debug, Default)]
struct Stored {
    msg: FilterMsg,
    packets: u64,
    bytes: u64,
    hw_packets: u64,
    lastuse_ticks: u64,
}

#[derive(Debug, Default)]
struct State {
    links: HashMap<String, i32>,
    clsact: HashSet<i32>,
    filters: BTreeMap<(i32, u32, u16, u32), Stored>,
    next_handle: u32,
    hw: Hw,
    conns: HashMap<(u16, CtTuple), CtInfo>,
    requests: Vec<u16>,
}

/// The fake kernel; see the module docs.
#[derive(Clone, Debug, Default)]
pub struct FakeKernel(Arc<Mutex<State>>);

fn err(errno: i32, msg: &str) -> NlError {
    NlError::Kernel { errno, extack: Some(msg.to_string()) }
}

impl FakeKernel {
    /// A kernel with these devices (name, ifindex).
    pub fn new(links: &[(&str, i32)], hw: Hw) -> Self {
        let st = State {
            links: links.iter().map(|(n, i)| (n.to_string(), *i)).collect(),
            hw,
            next_handle: 1,
            ..Default::default()
        };
        FakeKernel(Arc::new(Mutex::new(st)))
    }

    fn st(&self) -> MutexGuard<'_, State> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether `ifindex` has a clsact qdisc.
    pub fn has_clsact(&self, ifindex: i32) -> bool {
        self.st().clsact.contains(&ifindex)
    }

    /// Installed filters, as the kernel would dump them.
    pub fn filters(&self) -> Vec<FilterMsg> {
        self.st().filters.values().map(|s| s.msg.clone()).collect()
    }

    /// Play `packets` packets of `bytes` bytes through the filter whose
    /// cookie is `ufid`, `ago_ticks` clock ticks ago; `hw` if the hardware
    /// forwarded them.
    pub fn hit(&self, ufid: u128, packets: u64, bytes: u64, ago_ticks: u64, hw: bool) -> bool {
        let mut st = self.st();
        let Some(s) = st.filters.values_mut().find(|s| cookie_ufid(&s.msg) == Some(ufid)) else { return false };
        s.packets += packets;
        s.bytes += bytes;
        if hw {
            s.hw_packets += packets;
        }
        s.lastuse_ticks = ago_ticks;
        true
    }

    /// Connections in the fake conntrack.
    pub fn conns(&self) -> Vec<CtInfo> {
        self.st().conns.values().cloned().collect()
    }

    /// Age a connection: its remaining timeout becomes `remaining`.
    pub fn ct_set_timeout(&self, zone: u16, orig: &CtTuple, remaining: u32) {
        if let Some(c) = self.st().conns.get_mut(&(zone, *orig)) {
            c.timeout = Some(remaining);
        }
    }

    /// The message types received so far, in order.
    pub fn requests(&self) -> Vec<u16> {
        self.st().requests.clone()
    }

    fn reply(s: &Stored) -> Vec<u8> {
        let mut m = s.msg.clone();
        m.header.flags = 0;
        if let Some(TcaAttr::Options(opts)) = m.attrs.iter_mut().find(|a| matches!(a, TcaAttr::Options(_))) {
            if let Some(FlowerAttr::Act(list)) = opts.iter_mut().find(|a| matches!(a, FlowerAttr::Act(_))) {
                if let Some(first) = list.0.first_mut() {
                    let basic = GnetStatsBasic { bytes: s.bytes, packets: s.packets as u32 };
                    let hw = GnetStatsBasic { bytes: 0, packets: s.hw_packets as u32 };
                    first.attrs.push(ActAttr::Stats(vec![
                        StatsAttr::Basic(basic),
                        StatsAttr::BasicHw(hw),
                        StatsAttr::Pkt64(s.packets),
                    ]));
                    let tm = TcfT { lastuse: s.lastuse_ticks, ..Default::default() };
                    for a in &mut first.attrs {
                        match a {
                            ActAttr::Options(ActOptions::Mirred(o)) => o.push(MirredAttr::Tm(tm)),
                            ActAttr::Options(ActOptions::Gact(o)) => o.push(GactAttr::Tm(tm)),
                            ActAttr::Options(ActOptions::Ct(o)) => o.push(CtAttr::Tm(tm)),
                            ActAttr::Options(ActOptions::Pedit(o)) => o.push(PeditAttr::Tm(tm)),
                            ActAttr::Options(ActOptions::Csum(o)) => o.push(CsumAttr::Tm(tm)),
                            ActAttr::Options(ActOptions::Vlan(o)) => o.push(VlanAttr::Tm(tm)),
                            _ => {}
                        }
                    }
                }
            }
        }
        m.emit()
    }

    fn new_filter(st: &mut State, m: FilterMsg) -> Result<Vec<Vec<u8>>, NlError> {
        let h = m.header.flags;
        if h & NLM_F_CREATE == 0 {
            return Err(err(libc::ENOENT, "no NLM_F_CREATE"));
        }
        if !st.clsact.contains(&m.tcm.ifindex) {
            return Err(err(libc::EINVAL, "no clsact qdisc on the device"));
        }
        if m.tcm.parent != PARENT_INGRESS {
            return Err(err(libc::EINVAL, "parent is not clsact ingress"));
        }
        if !m.attrs.iter().any(|a| matches!(a, TcaAttr::Kind(k) if k == "flower")) {
            return Err(err(libc::EINVAL, "not a flower filter"));
        }
        let (prio, proto, chain) = (m.tcm.prio(), m.tcm.protocol(), m.chain());
        if prio == 0 {
            return Err(err(libc::EINVAL, "prio 0 (the provider must choose one)"));
        }
        let opts = m.flower().ok_or_else(|| err(libc::EINVAL, "no TCA_OPTIONS"))?;
        if !opts.iter().any(|a| matches!(a, FlowerAttr::Flags(_))) {
            return Err(err(libc::EINVAL, "no TCA_FLOWER_FLAGS (tc-policy must be explicit)"));
        }
        if let Some(FlowerAttr::KeyEthType(t)) = opts.iter().find(|a| matches!(a, FlowerAttr::KeyEthType(_))) {
            if t.0 != proto {
                return Err(err(libc::EINVAL, "TCA_FLOWER_KEY_ETH_TYPE differs from the filter protocol"));
            }
        }
        if m.actions().is_empty() {
            return Err(err(libc::EINVAL, "no actions"));
        }
        for a in m.actions() {
            if a.kind().is_none() || a.options().is_none() {
                return Err(err(libc::EINVAL, "action without kind or options"));
            }
            if let Some(ActOptions::Mirred(o)) = a.options() {
                for p in o {
                    if let MirredAttr::Parms(p) = p {
                        if !st.links.values().any(|i| *i as u32 == p.ifindex) {
                            return Err(err(libc::ENODEV, "mirred to a device that does not exist"));
                        }
                    }
                }
            }
        }
        if st.filters.keys().any(|(i, c, p, _)| (*i, *c, *p) == (m.tcm.ifindex, chain, prio))
            && st
                .filters
                .iter()
                .any(|((i, c, p, _), s)| (*i, *c, *p) == (m.tcm.ifindex, chain, prio) && s.msg.tcm.protocol() != proto)
        {
            return Err(err(libc::EINVAL, "another protocol already uses this chain and prio"));
        }
        let flags = m.flower_flags();
        let in_hw = st.hw == Hw::Accept && flags & TCA_CLS_FLAGS_SKIP_HW == 0;
        if flags & TCA_CLS_FLAGS_SKIP_SW != 0 && !in_hw {
            return Err(err(libc::EOPNOTSUPP, "the device refused the filter (skip_sw)"));
        }
        let handle = if m.tcm.handle == 0 {
            st.next_handle += 1;
            st.next_handle - 1
        } else {
            m.tcm.handle
        };
        let key = (m.tcm.ifindex, chain, prio, handle);
        if st.filters.contains_key(&key) {
            return Err(err(libc::EEXIST, "filter exists"));
        }
        let mut stored = m;
        stored.tcm.handle = handle;
        let out_flags = (flags & (TCA_CLS_FLAGS_SKIP_HW | TCA_CLS_FLAGS_SKIP_SW))
            | if in_hw { TCA_CLS_FLAGS_IN_HW } else { TCA_CLS_FLAGS_NOT_IN_HW };
        if let Some(TcaAttr::Options(o)) = stored.attrs.iter_mut().find(|a| matches!(a, TcaAttr::Options(_))) {
            for a in o.iter_mut() {
                if let FlowerAttr::Flags(f) = a {
                    *f = out_flags;
                }
            }
            o.push(FlowerAttr::InHwCount(u32::from(in_hw)));
        }
        let s = Stored { msg: stored, ..Default::default() };
        let echo = if h & NLM_F_ECHO != 0 { vec![Self::reply(&s)] } else { vec![] };
        st.filters.insert(key, s);
        Ok(echo)
    }

    fn filter_request(st: &mut State, msg: &[u8]) -> Result<Vec<Vec<u8>>, NlError> {
        let m = FilterMsg::parse(msg).map_err(|e| err(libc::EINVAL, &e.to_string()))?;
        match m.header.ty {
            RTM_NEWQDISC => {
                let kind_ok = m.attrs.iter().any(|a| matches!(a, TcaAttr::Kind(k) if k == "clsact"));
                if !kind_ok || m.tcm.parent != TC_H_CLSACT {
                    return Err(err(libc::EINVAL, "only clsact qdiscs are modelled"));
                }
                if !st.links.values().any(|i| *i == m.tcm.ifindex) {
                    return Err(err(libc::ENODEV, "no such device"));
                }
                if !st.clsact.insert(m.tcm.ifindex) {
                    return Err(err(libc::EEXIST, "clsact exists"));
                }
                Ok(vec![])
            }
            RTM_DELQDISC => {
                if !st.clsact.remove(&m.tcm.ifindex) {
                    return Err(err(libc::ENOENT, "no clsact qdisc"));
                }
                // The qdisc takes its filters with it.
                st.filters.retain(|(ifindex, ..), _| *ifindex != m.tcm.ifindex);
                Ok(vec![])
            }
            RTM_NEWTFILTER => Self::new_filter(st, m),
            RTM_DELTFILTER => {
                let id = FilterId::of(&m);
                let key = (id.ifindex, id.chain, id.prio, id.handle);
                match st.filters.get(&key) {
                    Some(s) if s.msg.tcm.protocol() == id.protocol => {
                        st.filters.remove(&key);
                        Ok(vec![])
                    }
                    _ => Err(err(libc::ENOENT, "no such filter")),
                }
            }
            RTM_GETTFILTER => {
                if m.header.flags & NLM_F_DUMP == NLM_F_DUMP {
                    Ok(st
                        .filters
                        .iter()
                        .filter(|((i, _, _, _), _)| *i == m.tcm.ifindex)
                        .map(|(_, s)| Self::reply(s))
                        .collect())
                } else {
                    let id = FilterId::of(&m);
                    let key = (id.ifindex, id.chain, id.prio, id.handle);
                    let s = st.filters.get(&key).ok_or_else(|| err(libc::ENOENT, "no such filter"))?;
                    Ok(vec![Self::reply(s)])
                }
            }
            other => Err(err(libc::EOPNOTSUPP, &format!("message type {other} is not modelled"))),
        }
    }

    fn ct_request(st: &mut State, ty: u16, msg: &[u8]) -> Result<Vec<Vec<u8>>, NlError> {
        let info = parse_ct(msg).map_err(|e| err(libc::EINVAL, &e.to_string()))?;
        let orig = info.orig.ok_or_else(|| err(libc::EINVAL, "no CTA_TUPLE_ORIG"))?;
        let key = (info.zone, orig);
        if ty == ct_msg_type(IPCTNL_MSG_CT_NEW) {
            if info.timeout.is_none() {
                return Err(err(libc::EINVAL, "CTA_TIMEOUT is required to create"));
            }
            if orig.proto == 6 && info.tcp_state != Some(TCP_CONNTRACK_ESTABLISHED) {
                return Err(err(libc::EINVAL, "the test expects established TCP"));
            }
            if st.conns.contains_key(&key) {
                return Err(err(libc::EEXIST, "connection exists"));
            }
            st.conns.insert(key, info);
            Ok(vec![])
        } else if ty == ct_msg_type(IPCTNL_MSG_CT_DELETE) {
            st.conns.remove(&key).map(|_| vec![]).ok_or_else(|| err(libc::ENOENT, "no such connection"))
        } else if ty == ct_msg_type(IPCTNL_MSG_CT_GET) {
            let c = st.conns.get(&key).ok_or_else(|| err(libc::ENOENT, "no such connection"))?;
            // Answer in the same encoding a CT_NEW uses.
            let ct = hwol_offload::CtOffload { zone: c.zone, orig, mark: c.mark, label: 0 };
            crate::conntrack::ct_new_msg(&ct, c.timeout.unwrap_or(0))
                .map(|m| vec![m])
                .map_err(|r| err(libc::EINVAL, &r.to_string()))
        } else {
            Err(err(libc::EOPNOTSUPP, "ctnetlink message not modelled"))
        }
    }
}

impl Transport for FakeKernel {
    fn request(&mut self, msg: &[u8]) -> Result<Vec<Vec<u8>>, NlError> {
        if msg.len() < 16 {
            return Err(NlError::Io("short message".into()));
        }
        let ty = u16::from_ne_bytes([msg[4], msg[5]]);
        let flags = u16::from_ne_bytes([msg[6], msg[7]]);
        let mut st = self.st();
        st.requests.push(ty);
        if flags & NLM_F_REQUEST == 0 {
            return Err(err(libc::EINVAL, "NLM_F_REQUEST missing"));
        }
        if ty >> 8 == NFNL_SUBSYS_CTNETLINK {
            Self::ct_request(&mut st, ty, msg)
        } else {
            Self::filter_request(&mut st, msg)
        }
    }

    fn ifindex(&mut self, ifname: &str) -> Result<i32, NlError> {
        self.st().links.get(ifname).copied().ok_or_else(|| NlError::Io(format!("no interface {ifname:?}")))
    }
}
