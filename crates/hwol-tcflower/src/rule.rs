//! A flower rule as hwol thinks of it (chain, prio, protocol, match keys,
//! actions, flags, cookie) and the three messages about it: add
//! (`RTM_NEWTFILTER`), delete (`RTM_DELTFILTER`) and get
//! (`RTM_GETTFILTER`). Pure.
//!
//! The builders lay the attributes out as iproute2 does, so that a rule
//! built here for `tc filter add dev D ingress protocol P prio N chain C
//! flower KEYS action ...` encodes to the very bytes `tc` sends (checked in
//! `tests/golden.rs`): `TCA_CHAIN`, `TCA_KIND`, then `TCA_OPTIONS` holding
//! the keys in order, `TCA_FLOWER_ACT`, `TCA_FLOWER_FLAGS` and, unless the
//! protocol is `all`, `TCA_FLOWER_KEY_ETH_TYPE` last.

use crate::nla::Be16;
use crate::tc::*;
use crate::uapi::*;

/// One action of a rule, at the level of `tc ... action` syntax.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FlowerAction {
    /// `action mirred egress redirect dev D` (last action; the packet is
    /// consumed) or `action mirred egress mirror dev D` (a copy; pipe on).
    Mirred {
        /// Redirect (true) or mirror (false).
        redirect: bool,
        /// Target device.
        ifindex: u32,
    },
    /// `action goto chain N`.
    GotoChain(u32),
    /// `action drop`.
    Drop,
    /// `action ct [commit] [force] zone Z [mark M/MASK] [label L/MASK]`.
    Ct {
        /// Conntrack zone.
        zone: u16,
        /// Commit the connection.
        commit: bool,
        /// Force commit (replace a connection seen in the other direction).
        force: bool,
        /// Mark to set, with its mask.
        mark: Option<(u32, u32)>,
        /// Labels to set (kernel byte order), with their mask.
        labels: Option<([u8; 16], [u8; 16])>,
    },
    /// `action ct clear`.
    CtClear,
    /// `action pedit ex munge ...`: typed 32-bit rewrites.
    Pedit(Vec<PeditKey>),
    /// `action csum ...` with `TCA_CSUM_UPDATE_FLAG_*`.
    Csum(u32),
    /// `action vlan push id V priority P protocol T`.
    VlanPush {
        /// VLAN id.
        vid: u16,
        /// PCP.
        prio: u8,
        /// TPID (0x8100 or 0x88a8).
        tpid: u16,
    },
    /// `action vlan pop`.
    VlanPop,
}

/// One pedit rewrite: header type, offset in it, and a 32-bit word.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PeditKey {
    /// `TCA_PEDIT_KEY_EX_HDR_TYPE_*`.
    pub htype: u16,
    /// Offset of the word in that header.
    pub off: u32,
    /// Bits to keep (pedit's convention: `new = (old & mask) ^ val`).
    pub mask: [u8; 4],
    /// Bits to set.
    pub val: [u8; 4],
}

impl FlowerAction {
    /// Whether the action ends the packet's walk through the list.
    pub fn is_terminal(&self) -> bool {
        matches!(self, FlowerAction::Mirred { redirect: true, .. } | FlowerAction::GotoChain(_) | FlowerAction::Drop)
    }

    /// The `TCA_ACT_*` form at position `order` (1-based).
    pub fn to_tc(&self, order: u16) -> TcAction {
        let pipe = TcGen::with_action(TC_ACT_PIPE);
        let (kind, options) = match self {
            FlowerAction::Mirred { redirect, ifindex } => {
                let (action, eaction) =
                    if *redirect { (TC_ACT_STOLEN, TCA_EGRESS_REDIR) } else { (TC_ACT_PIPE, TCA_EGRESS_MIRROR) };
                let p = TcMirred { gen: TcGen::with_action(action), eaction, ifindex: *ifindex };
                ("mirred", ActOptions::Mirred(vec![MirredAttr::Parms(p)]))
            }
            FlowerAction::GotoChain(c) => {
                ("gact", ActOptions::Gact(vec![GactAttr::Parms(TcGen::with_action(TC_ACT_GOTO_CHAIN | *c as i32))]))
            }
            FlowerAction::Drop => ("gact", ActOptions::Gact(vec![GactAttr::Parms(TcGen::with_action(TC_ACT_SHOT))])),
            FlowerAction::Ct { zone, commit, force, mark, labels } => {
                let mut a = vec![CtAttr::Zone(*zone)];
                if let Some((m, mm)) = mark {
                    a.push(CtAttr::Mark(*m));
                    a.push(CtAttr::MarkMask(*mm));
                }
                if let Some((l, lm)) = labels {
                    a.push(CtAttr::Labels(*l));
                    a.push(CtAttr::LabelsMask(*lm));
                }
                let flags = if *commit { TCA_CT_ACT_COMMIT } else { 0 } | if *force { TCA_CT_ACT_FORCE } else { 0 };
                a.push(CtAttr::Action(flags));
                a.push(CtAttr::Parms(pipe));
                ("ct", ActOptions::Ct(a))
            }
            FlowerAction::CtClear => {
                ("ct", ActOptions::Ct(vec![CtAttr::Action(TCA_CT_ACT_CLEAR), CtAttr::Parms(pipe)]))
            }
            FlowerAction::Pedit(keys) => {
                let sel = TcPeditSel {
                    gen: pipe,
                    flags: 0,
                    keys: keys
                        .iter()
                        .map(|k| TcPeditKey { mask: k.mask, val: k.val, off: k.off, ..Default::default() })
                        .collect(),
                };
                let ex = keys
                    .iter()
                    .map(|k| {
                        PeditKeysExAttr::KeyEx(vec![
                            PeditKeyAttr::Htype(k.htype),
                            PeditKeyAttr::Cmd(TCA_PEDIT_KEY_EX_CMD_SET),
                        ])
                    })
                    .collect();
                ("pedit", ActOptions::Pedit(vec![PeditAttr::ParmsEx(sel), PeditAttr::KeysEx(ex)]))
            }
            FlowerAction::Csum(flags) => {
                ("csum", ActOptions::Csum(vec![CsumAttr::Parms(TcCsum { gen: pipe, update_flags: *flags })]))
            }
            FlowerAction::VlanPush { vid, prio, tpid } => (
                "vlan",
                ActOptions::Vlan(vec![
                    VlanAttr::Parms(TcVlan { gen: pipe, v_action: TCA_VLAN_ACT_PUSH }),
                    VlanAttr::PushVlanId(*vid),
                    VlanAttr::PushVlanProtocol(Be16(*tpid)),
                    VlanAttr::PushVlanPriority(*prio),
                ]),
            ),
            FlowerAction::VlanPop => {
                ("vlan", ActOptions::Vlan(vec![VlanAttr::Parms(TcVlan { gen: pipe, v_action: TCA_VLAN_ACT_POP })]))
            }
        };
        TcAction { order, attrs: vec![ActAttr::Kind(kind.into()), ActAttr::Options(options)] }
    }
}

/// A flower filter on one device's clsact ingress.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FlowerRule {
    /// Chain (hwol: the recirc id).
    pub chain: u32,
    /// Priority (hwol: one per distinct mask and EtherType).
    pub prio: u16,
    /// EtherType the filter is for (host order), `ETH_P_ALL` for any.
    pub protocol: u16,
    /// Match keys (`TCA_FLOWER_KEY_*`), in wire order.
    pub keys: Vec<FlowerAttr>,
    /// Actions, in order.
    pub actions: Vec<FlowerAction>,
    /// `TCA_CLS_FLAGS_SKIP_SW` / `TCA_CLS_FLAGS_SKIP_HW` or 0.
    pub flags: u32,
    /// Carried as `TCA_ACT_COOKIE` on the first action (hwol: the ufid, big-endian).
    pub cookie: Option<u128>,
}

impl FlowerRule {
    /// The `TCA_OPTIONS` of this rule.
    pub fn options(&self) -> Vec<FlowerAttr> {
        let mut opts = self.keys.clone();
        let mut acts: Vec<TcAction> =
            self.actions.iter().enumerate().map(|(i, a)| a.to_tc(u16::try_from(i + 1).unwrap_or(u16::MAX))).collect();
        if let (Some(c), Some(first)) = (self.cookie, acts.first_mut()) {
            first.attrs.push(ActAttr::Cookie(c.to_be_bytes().to_vec()));
        }
        opts.push(FlowerAttr::Act(ActionList(acts)));
        opts.push(FlowerAttr::Flags(self.flags));
        if self.protocol != ETH_P_ALL {
            opts.push(FlowerAttr::KeyEthType(Be16(self.protocol)));
        }
        opts
    }

    /// `RTM_NEWTFILTER` for `ifindex` with `nlmsg_flags` (`tc filter add`
    /// sends `NLM_F_REQUEST | NLM_F_ACK | NLM_F_EXCL | NLM_F_CREATE`; the
    /// provider adds `NLM_F_ECHO` to read back the handle). `handle` 0 lets
    /// the kernel choose.
    pub fn new_msg(&self, ifindex: i32, handle: u32, nl_flags: u16) -> FilterMsg {
        FilterMsg {
            header: NlHeader { ty: RTM_NEWTFILTER, flags: nl_flags, seq: 0, pid: 0 },
            tcm: TcMsg {
                family: 0,
                ifindex,
                handle,
                parent: PARENT_INGRESS,
                info: TcMsg::info_for(self.prio, self.protocol),
            },
            attrs: vec![TcaAttr::Chain(self.chain), TcaAttr::Kind("flower".into()), TcaAttr::Options(self.options())],
        }
    }
}

/// Where an installed filter is: enough to delete or get it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FilterId {
    /// Device.
    pub ifindex: i32,
    /// Chain.
    pub chain: u32,
    /// Priority.
    pub prio: u16,
    /// EtherType (host order).
    pub protocol: u16,
    /// The kernel's handle.
    pub handle: u32,
}

impl FilterId {
    fn msg(&self, ty: u16, nl_flags: u16) -> FilterMsg {
        let mut opts = vec![FlowerAttr::Flags(0)];
        if self.protocol != ETH_P_ALL {
            opts.push(FlowerAttr::KeyEthType(Be16(self.protocol)));
        }
        FilterMsg {
            header: NlHeader { ty, flags: nl_flags, seq: 0, pid: 0 },
            tcm: TcMsg {
                family: 0,
                ifindex: self.ifindex,
                handle: self.handle,
                parent: PARENT_INGRESS,
                info: TcMsg::info_for(self.prio, self.protocol),
            },
            attrs: vec![TcaAttr::Chain(self.chain), TcaAttr::Kind("flower".into()), TcaAttr::Options(opts)],
        }
    }

    /// `RTM_DELTFILTER` (`tc filter del ... handle H chain C flower`).
    pub fn del_msg(&self) -> FilterMsg {
        self.msg(RTM_DELTFILTER, NLM_F_REQUEST | NLM_F_ACK)
    }

    /// `RTM_GETTFILTER` (`tc filter get ...`): the kernel answers with the
    /// filter, its flags (in_hw / not_in_hw) and its actions' counters.
    pub fn get_msg(&self) -> FilterMsg {
        self.msg(RTM_GETTFILTER, NLM_F_REQUEST | NLM_F_ECHO)
    }

    /// Where the filter a kernel message describes is.
    pub fn of(m: &FilterMsg) -> FilterId {
        FilterId {
            ifindex: m.tcm.ifindex,
            chain: m.chain(),
            prio: m.tcm.prio(),
            protocol: m.tcm.protocol(),
            handle: m.tcm.handle,
        }
    }
}

/// Counters and hardware state of one installed filter, from a kernel reply.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FilterStats {
    /// All packets (software + hardware), from the first action's `TCA_STATS_BASIC`.
    pub packets: u64,
    /// All bytes.
    pub bytes: u64,
    /// The hardware's part (`TCA_STATS_BASIC_HW`).
    pub hw_packets: u64,
    /// The hardware's bytes.
    pub hw_bytes: u64,
    /// Clock ticks (`USER_HZ`) since the last packet, from `TCA_*_TM`, if sent.
    pub lastuse_ticks: Option<u64>,
    /// `TCA_CLS_FLAGS_IN_HW` was set.
    pub in_hw: bool,
    /// `TCA_CLS_FLAGS_NOT_IN_HW` was set.
    pub not_in_hw: bool,
    /// `TCA_FLOWER_IN_HW_COUNT`, if sent.
    pub in_hw_count: Option<u32>,
}

impl FilterStats {
    /// Read the counters and hardware state out of a filter message (a
    /// `RTM_NEWTFILTER` reply or dump entry). The first action's counters
    /// are the filter's: every packet the filter matches runs it.
    pub fn of(m: &FilterMsg) -> FilterStats {
        let flags = m.flower_flags();
        let mut s = FilterStats {
            in_hw: flags & TCA_CLS_FLAGS_IN_HW != 0,
            not_in_hw: flags & TCA_CLS_FLAGS_NOT_IN_HW != 0,
            in_hw_count: m
                .flower()
                .and_then(|o| o.iter().find_map(|a| if let FlowerAttr::InHwCount(c) = a { Some(*c) } else { None })),
            ..Default::default()
        };
        let Some(first) = m.actions().first() else { return s };
        for st in first.stats().unwrap_or(&[]) {
            match st {
                StatsAttr::Basic(b) => {
                    s.bytes = b.bytes;
                    s.packets = s.packets.max(u64::from(b.packets));
                }
                StatsAttr::Pkt64(p) => s.packets = *p,
                StatsAttr::BasicHw(b) => {
                    s.hw_bytes = b.bytes;
                    s.hw_packets = u64::from(b.packets);
                }
                StatsAttr::Other(_) => {}
            }
        }
        s.lastuse_ticks = first.options().and_then(|o| {
            let tm = match o {
                ActOptions::Mirred(a) => a.iter().find_map(|x| if let MirredAttr::Tm(t) = x { Some(*t) } else { None }),
                ActOptions::Gact(a) => a.iter().find_map(|x| if let GactAttr::Tm(t) = x { Some(*t) } else { None }),
                ActOptions::Ct(a) => a.iter().find_map(|x| if let CtAttr::Tm(t) = x { Some(*t) } else { None }),
                ActOptions::Pedit(a) => a.iter().find_map(|x| if let PeditAttr::Tm(t) = x { Some(*t) } else { None }),
                ActOptions::Csum(a) => a.iter().find_map(|x| if let CsumAttr::Tm(t) = x { Some(*t) } else { None }),
                ActOptions::Vlan(a) => a.iter().find_map(|x| if let VlanAttr::Tm(t) = x { Some(*t) } else { None }),
                ActOptions::Other(_) => None,
            };
            tm.map(|t| t.lastuse)
        });
        s
    }
}

/// The ufid a filter carries in its first action's cookie.
pub fn cookie_ufid(m: &FilterMsg) -> Option<u128> {
    let c = m.actions().first()?.cookie()?;
    Some(u128::from_be_bytes(c.try_into().ok()?))
}

/// `RTM_GETTFILTER` dump of every filter on `ifindex`'s clsact ingress, all
/// chains (`tc -s filter show dev D ingress`): each comes back with its
/// flags and its actions' counters and cookies.
pub fn dump_msg(ifindex: i32) -> FilterMsg {
    FilterMsg {
        header: NlHeader { ty: RTM_GETTFILTER, flags: NLM_F_REQUEST | NLM_F_DUMP, seq: 0, pid: 0 },
        tcm: TcMsg { family: 0, ifindex, handle: 0, parent: PARENT_INGRESS, info: 0 },
        attrs: vec![],
    }
}

/// `RTM_NEWQDISC` adding the clsact qdisc to `ifindex` (`tc qdisc add dev D
/// clsact`); `EEXIST` means it is already there.
pub fn clsact_msg(ifindex: i32) -> FilterMsg {
    FilterMsg {
        header: NlHeader {
            ty: RTM_NEWQDISC,
            flags: NLM_F_REQUEST | NLM_F_ACK | NLM_F_EXCL | NLM_F_CREATE,
            seq: 0,
            pid: 0,
        },
        tcm: TcMsg { family: 0, ifindex, handle: TC_H_CLSACT & 0xffff_0000, parent: TC_H_CLSACT, info: 0 },
        attrs: vec![TcaAttr::Kind("clsact".into())],
    }
}

/// `RTM_DELQDISC` removing the clsact qdisc of `ifindex` (`tc qdisc del dev
/// D clsact`), with every filter still on it.
pub fn clsact_del_msg(ifindex: i32) -> FilterMsg {
    let mut m = clsact_msg(ifindex);
    m.header.ty = RTM_DELQDISC;
    m.header.flags = NLM_F_REQUEST | NLM_F_ACK;
    m
}
