//! Kernel UAPI constants, named exactly as in the headers they come from
//! (`/usr/include/linux/...`), so they can be searched for. Generated once
//! from the headers with a small C program printing each value; checked by
//! the golden tests against the bytes iproute2 sends.

/// `NLM_F_REQUEST` (linux/netlink.h).
pub const NLM_F_REQUEST: u16 = 1;
/// `NLM_F_MULTI` (linux/netlink.h).
pub const NLM_F_MULTI: u16 = 2;
/// `NLM_F_ACK` (linux/netlink.h).
pub const NLM_F_ACK: u16 = 4;
/// `NLM_F_ECHO` (linux/netlink.h).
pub const NLM_F_ECHO: u16 = 8;
/// `NLM_F_ROOT` (linux/netlink.h).
pub const NLM_F_ROOT: u16 = 256;
/// `NLM_F_MATCH` (linux/netlink.h).
pub const NLM_F_MATCH: u16 = 512;
/// `NLM_F_DUMP` (linux/netlink.h).
pub const NLM_F_DUMP: u16 = 768;
/// `NLM_F_REPLACE` (linux/netlink.h).
pub const NLM_F_REPLACE: u16 = 256;
/// `NLM_F_EXCL` (linux/netlink.h).
pub const NLM_F_EXCL: u16 = 512;
/// `NLM_F_CREATE` (linux/netlink.h).
pub const NLM_F_CREATE: u16 = 1024;
/// `NLMSG_ERROR` (linux/netlink.h).
pub const NLMSG_ERROR: u16 = 2;
/// `NLMSG_DONE` (linux/netlink.h).
pub const NLMSG_DONE: u16 = 3;
/// `NLA_F_NESTED` (linux/netlink.h).
pub const NLA_F_NESTED: u16 = 32768;
/// `NLA_F_NET_BYTEORDER` (linux/netlink.h).
pub const NLA_F_NET_BYTEORDER: u16 = 16384;
/// `NLA_TYPE_MASK` (linux/netlink.h).
pub const NLA_TYPE_MASK: u16 = 0x3fff;
/// `RTM_NEWTFILTER` (linux/rtnetlink.h).
pub const RTM_NEWTFILTER: u16 = 44;
/// `RTM_DELTFILTER` (linux/rtnetlink.h).
pub const RTM_DELTFILTER: u16 = 45;
/// `RTM_GETTFILTER` (linux/rtnetlink.h).
pub const RTM_GETTFILTER: u16 = 46;
/// `TCA_KIND` (linux/rtnetlink.h).
pub const TCA_KIND: u16 = 1;
/// `TCA_OPTIONS` (linux/rtnetlink.h).
pub const TCA_OPTIONS: u16 = 2;
/// `TCA_STATS` (linux/rtnetlink.h).
pub const TCA_STATS: u16 = 3;
/// `TCA_XSTATS` (linux/rtnetlink.h).
pub const TCA_XSTATS: u16 = 4;
/// `TCA_STATS2` (linux/rtnetlink.h).
pub const TCA_STATS2: u16 = 7;
/// `TCA_CHAIN` (linux/rtnetlink.h).
pub const TCA_CHAIN: u16 = 11;
/// `TCA_HW_OFFLOAD` (linux/rtnetlink.h).
pub const TCA_HW_OFFLOAD: u16 = 12;
/// `TC_H_CLSACT` (linux/pkt_sched.h).
pub const TC_H_CLSACT: u32 = 4294967281;
/// `TC_H_MIN_INGRESS` (linux/pkt_sched.h).
pub const TC_H_MIN_INGRESS: u32 = 65522;
/// `TC_H_MIN_EGRESS` (linux/pkt_sched.h).
pub const TC_H_MIN_EGRESS: u32 = 65523;
/// `ETH_P_ALL` (linux/if_ether.h).
pub const ETH_P_ALL: u16 = 3;
/// `ETH_P_IP` (linux/if_ether.h).
pub const ETH_P_IP: u16 = 2048;
/// `ETH_P_IPV6` (linux/if_ether.h).
pub const ETH_P_IPV6: u16 = 34525;
/// `ETH_P_ARP` (linux/if_ether.h).
pub const ETH_P_ARP: u16 = 2054;
/// `ETH_P_8021Q` (linux/if_ether.h).
pub const ETH_P_8021Q: u16 = 33024;
/// `ETH_P_8021AD` (linux/if_ether.h).
pub const ETH_P_8021AD: u16 = 34984;
/// `TCA_ACT_KIND` (linux/pkt_cls.h).
pub const TCA_ACT_KIND: u16 = 1;
/// `TCA_ACT_OPTIONS` (linux/pkt_cls.h).
pub const TCA_ACT_OPTIONS: u16 = 2;
/// `TCA_ACT_INDEX` (linux/pkt_cls.h).
pub const TCA_ACT_INDEX: u16 = 3;
/// `TCA_ACT_STATS` (linux/pkt_cls.h).
pub const TCA_ACT_STATS: u16 = 4;
/// `TCA_ACT_PAD` (linux/pkt_cls.h).
pub const TCA_ACT_PAD: u16 = 5;
/// `TCA_ACT_COOKIE` (linux/pkt_cls.h).
pub const TCA_ACT_COOKIE: u16 = 6;
/// `TCA_ACT_FLAGS` (linux/pkt_cls.h).
pub const TCA_ACT_FLAGS: u16 = 7;
/// `TCA_ACT_HW_STATS` (linux/pkt_cls.h).
pub const TCA_ACT_HW_STATS: u16 = 8;
/// `TCA_ACT_USED_HW_STATS` (linux/pkt_cls.h).
pub const TCA_ACT_USED_HW_STATS: u16 = 9;
/// `TCA_ACT_IN_HW_COUNT` (linux/pkt_cls.h).
pub const TCA_ACT_IN_HW_COUNT: u16 = 10;
/// `TC_ACT_UNSPEC` (linux/pkt_cls.h).
pub const TC_ACT_UNSPEC: i32 = -1;
/// `TC_ACT_OK` (linux/pkt_cls.h).
pub const TC_ACT_OK: i32 = 0;
/// `TC_ACT_SHOT` (linux/pkt_cls.h).
pub const TC_ACT_SHOT: i32 = 2;
/// `TC_ACT_PIPE` (linux/pkt_cls.h).
pub const TC_ACT_PIPE: i32 = 3;
/// `TC_ACT_STOLEN` (linux/pkt_cls.h).
pub const TC_ACT_STOLEN: i32 = 4;
/// `TC_ACT_GOTO_CHAIN` (linux/pkt_cls.h).
pub const TC_ACT_GOTO_CHAIN: i32 = 536870912;
/// `TC_ACT_EXT_VAL_MASK` (linux/pkt_cls.h).
pub const TC_ACT_EXT_VAL_MASK: i32 = 268435455;
/// `TCA_CLS_FLAGS_SKIP_HW` (linux/pkt_cls.h).
pub const TCA_CLS_FLAGS_SKIP_HW: u32 = 1;
/// `TCA_CLS_FLAGS_SKIP_SW` (linux/pkt_cls.h).
pub const TCA_CLS_FLAGS_SKIP_SW: u32 = 2;
/// `TCA_CLS_FLAGS_IN_HW` (linux/pkt_cls.h).
pub const TCA_CLS_FLAGS_IN_HW: u32 = 4;
/// `TCA_CLS_FLAGS_NOT_IN_HW` (linux/pkt_cls.h).
pub const TCA_CLS_FLAGS_NOT_IN_HW: u32 = 8;
/// `TCA_FLOWER_CLASSID` (linux/pkt_cls.h).
pub const TCA_FLOWER_CLASSID: u16 = 1;
/// `TCA_FLOWER_INDEV` (linux/pkt_cls.h).
pub const TCA_FLOWER_INDEV: u16 = 2;
/// `TCA_FLOWER_ACT` (linux/pkt_cls.h).
pub const TCA_FLOWER_ACT: u16 = 3;
/// `TCA_FLOWER_KEY_ETH_DST` (linux/pkt_cls.h).
pub const TCA_FLOWER_KEY_ETH_DST: u16 = 4;
/// `TCA_FLOWER_KEY_ETH_DST_MASK` (linux/pkt_cls.h).
pub const TCA_FLOWER_KEY_ETH_DST_MASK: u16 = 5;
/// `TCA_FLOWER_KEY_ETH_SRC` (linux/pkt_cls.h).
pub const TCA_FLOWER_KEY_ETH_SRC: u16 = 6;
/// `TCA_FLOWER_KEY_ETH_SRC_MASK` (linux/pkt_cls.h).
pub const TCA_FLOWER_KEY_ETH_SRC_MASK: u16 = 7;
/// `TCA_FLOWER_KEY_ETH_TYPE` (linux/pkt_cls.h).
pub const TCA_FLOWER_KEY_ETH_TYPE: u16 = 8;
/// `TCA_FLOWER_KEY_IP_PROTO` (linux/pkt_cls.h).
pub const TCA_FLOWER_KEY_IP_PROTO: u16 = 9;
/// `TCA_FLOWER_KEY_IPV4_SRC` (linux/pkt_cls.h).
pub const TCA_FLOWER_KEY_IPV4_SRC: u16 = 10;
/// `TCA_FLOWER_KEY_IPV4_SRC_MASK` (linux/pkt_cls.h).
pub const TCA_FLOWER_KEY_IPV4_SRC_MASK: u16 = 11;
/// `TCA_FLOWER_KEY_IPV4_DST` (linux/pkt_cls.h).
pub const TCA_FLOWER_KEY_IPV4_DST: u16 = 12;
/// `TCA_FLOWER_KEY_IPV4_DST_MASK` (linux/pkt_cls.h).
pub const TCA_FLOWER_KEY_IPV4_DST_MASK: u16 = 13;
/// `TCA_FLOWER_KEY_IPV6_SRC` (linux/pkt_cls.h).
pub const TCA_FLOWER_KEY_IPV6_SRC: u16 = 14;
/// `TCA_FLOWER_KEY_IPV6_SRC_MASK` (linux/pkt_cls.h).
pub const TCA_FLOWER_KEY_IPV6_SRC_MASK: u16 = 15;
/// `TCA_FLOWER_KEY_IPV6_DST` (linux/pkt_cls.h).
pub const TCA_FLOWER_KEY_IPV6_DST: u16 = 16;
/// `TCA_FLOWER_KEY_IPV6_DST_MASK` (linux/pkt_cls.h).
pub const TCA_FLOWER_KEY_IPV6_DST_MASK: u16 = 17;
/// `TCA_FLOWER_KEY_TCP_SRC` (linux/pkt_cls.h).
pub const TCA_FLOWER_KEY_TCP_SRC: u16 = 18;
/// `TCA_FLOWER_KEY_TCP_DST` (linux/pkt_cls.h).
pub const TCA_FLOWER_KEY_TCP_DST: u16 = 19;
/// `TCA_FLOWER_KEY_UDP_SRC` (linux/pkt_cls.h).
pub const TCA_FLOWER_KEY_UDP_SRC: u16 = 20;
/// `TCA_FLOWER_KEY_UDP_DST` (linux/pkt_cls.h).
pub const TCA_FLOWER_KEY_UDP_DST: u16 = 21;
/// `TCA_FLOWER_FLAGS` (linux/pkt_cls.h).
pub const TCA_FLOWER_FLAGS: u16 = 22;
/// `TCA_FLOWER_KEY_VLAN_ID` (linux/pkt_cls.h).
pub const TCA_FLOWER_KEY_VLAN_ID: u16 = 23;
/// `TCA_FLOWER_KEY_VLAN_PRIO` (linux/pkt_cls.h).
pub const TCA_FLOWER_KEY_VLAN_PRIO: u16 = 24;
/// `TCA_FLOWER_KEY_VLAN_ETH_TYPE` (linux/pkt_cls.h).
pub const TCA_FLOWER_KEY_VLAN_ETH_TYPE: u16 = 25;
/// `TCA_FLOWER_KEY_TCP_SRC_MASK` (linux/pkt_cls.h).
pub const TCA_FLOWER_KEY_TCP_SRC_MASK: u16 = 35;
/// `TCA_FLOWER_KEY_TCP_DST_MASK` (linux/pkt_cls.h).
pub const TCA_FLOWER_KEY_TCP_DST_MASK: u16 = 36;
/// `TCA_FLOWER_KEY_UDP_SRC_MASK` (linux/pkt_cls.h).
pub const TCA_FLOWER_KEY_UDP_SRC_MASK: u16 = 37;
/// `TCA_FLOWER_KEY_UDP_DST_MASK` (linux/pkt_cls.h).
pub const TCA_FLOWER_KEY_UDP_DST_MASK: u16 = 38;
/// `TCA_FLOWER_KEY_FLAGS` (linux/pkt_cls.h).
pub const TCA_FLOWER_KEY_FLAGS: u16 = 47;
/// `TCA_FLOWER_KEY_FLAGS_MASK` (linux/pkt_cls.h).
pub const TCA_FLOWER_KEY_FLAGS_MASK: u16 = 48;
/// `TCA_FLOWER_KEY_ICMPV4_CODE` (linux/pkt_cls.h).
pub const TCA_FLOWER_KEY_ICMPV4_CODE: u16 = 49;
/// `TCA_FLOWER_KEY_ICMPV4_CODE_MASK` (linux/pkt_cls.h).
pub const TCA_FLOWER_KEY_ICMPV4_CODE_MASK: u16 = 50;
/// `TCA_FLOWER_KEY_ICMPV4_TYPE` (linux/pkt_cls.h).
pub const TCA_FLOWER_KEY_ICMPV4_TYPE: u16 = 51;
/// `TCA_FLOWER_KEY_ICMPV4_TYPE_MASK` (linux/pkt_cls.h).
pub const TCA_FLOWER_KEY_ICMPV4_TYPE_MASK: u16 = 52;
/// `TCA_FLOWER_KEY_ICMPV6_CODE` (linux/pkt_cls.h).
pub const TCA_FLOWER_KEY_ICMPV6_CODE: u16 = 53;
/// `TCA_FLOWER_KEY_ICMPV6_CODE_MASK` (linux/pkt_cls.h).
pub const TCA_FLOWER_KEY_ICMPV6_CODE_MASK: u16 = 54;
/// `TCA_FLOWER_KEY_ICMPV6_TYPE` (linux/pkt_cls.h).
pub const TCA_FLOWER_KEY_ICMPV6_TYPE: u16 = 55;
/// `TCA_FLOWER_KEY_ICMPV6_TYPE_MASK` (linux/pkt_cls.h).
pub const TCA_FLOWER_KEY_ICMPV6_TYPE_MASK: u16 = 56;
/// `TCA_FLOWER_KEY_ARP_SIP` (linux/pkt_cls.h).
pub const TCA_FLOWER_KEY_ARP_SIP: u16 = 57;
/// `TCA_FLOWER_KEY_ARP_SIP_MASK` (linux/pkt_cls.h).
pub const TCA_FLOWER_KEY_ARP_SIP_MASK: u16 = 58;
/// `TCA_FLOWER_KEY_ARP_TIP` (linux/pkt_cls.h).
pub const TCA_FLOWER_KEY_ARP_TIP: u16 = 59;
/// `TCA_FLOWER_KEY_ARP_TIP_MASK` (linux/pkt_cls.h).
pub const TCA_FLOWER_KEY_ARP_TIP_MASK: u16 = 60;
/// `TCA_FLOWER_KEY_ARP_OP` (linux/pkt_cls.h).
pub const TCA_FLOWER_KEY_ARP_OP: u16 = 61;
/// `TCA_FLOWER_KEY_ARP_OP_MASK` (linux/pkt_cls.h).
pub const TCA_FLOWER_KEY_ARP_OP_MASK: u16 = 62;
/// `TCA_FLOWER_KEY_ARP_SHA` (linux/pkt_cls.h).
pub const TCA_FLOWER_KEY_ARP_SHA: u16 = 63;
/// `TCA_FLOWER_KEY_ARP_SHA_MASK` (linux/pkt_cls.h).
pub const TCA_FLOWER_KEY_ARP_SHA_MASK: u16 = 64;
/// `TCA_FLOWER_KEY_ARP_THA` (linux/pkt_cls.h).
pub const TCA_FLOWER_KEY_ARP_THA: u16 = 65;
/// `TCA_FLOWER_KEY_ARP_THA_MASK` (linux/pkt_cls.h).
pub const TCA_FLOWER_KEY_ARP_THA_MASK: u16 = 66;
/// `TCA_FLOWER_KEY_TCP_FLAGS` (linux/pkt_cls.h).
pub const TCA_FLOWER_KEY_TCP_FLAGS: u16 = 71;
/// `TCA_FLOWER_KEY_TCP_FLAGS_MASK` (linux/pkt_cls.h).
pub const TCA_FLOWER_KEY_TCP_FLAGS_MASK: u16 = 72;
/// `TCA_FLOWER_KEY_IP_TOS` (linux/pkt_cls.h).
pub const TCA_FLOWER_KEY_IP_TOS: u16 = 73;
/// `TCA_FLOWER_KEY_IP_TOS_MASK` (linux/pkt_cls.h).
pub const TCA_FLOWER_KEY_IP_TOS_MASK: u16 = 74;
/// `TCA_FLOWER_KEY_IP_TTL` (linux/pkt_cls.h).
pub const TCA_FLOWER_KEY_IP_TTL: u16 = 75;
/// `TCA_FLOWER_KEY_IP_TTL_MASK` (linux/pkt_cls.h).
pub const TCA_FLOWER_KEY_IP_TTL_MASK: u16 = 76;
/// `TCA_FLOWER_KEY_CVLAN_ID` (linux/pkt_cls.h).
pub const TCA_FLOWER_KEY_CVLAN_ID: u16 = 77;
/// `TCA_FLOWER_KEY_CVLAN_PRIO` (linux/pkt_cls.h).
pub const TCA_FLOWER_KEY_CVLAN_PRIO: u16 = 78;
/// `TCA_FLOWER_KEY_CVLAN_ETH_TYPE` (linux/pkt_cls.h).
pub const TCA_FLOWER_KEY_CVLAN_ETH_TYPE: u16 = 79;
/// `TCA_FLOWER_IN_HW_COUNT` (linux/pkt_cls.h).
pub const TCA_FLOWER_IN_HW_COUNT: u16 = 86;
/// `TCA_FLOWER_KEY_CT_STATE` (linux/pkt_cls.h).
pub const TCA_FLOWER_KEY_CT_STATE: u16 = 91;
/// `TCA_FLOWER_KEY_CT_STATE_MASK` (linux/pkt_cls.h).
pub const TCA_FLOWER_KEY_CT_STATE_MASK: u16 = 92;
/// `TCA_FLOWER_KEY_CT_ZONE` (linux/pkt_cls.h).
pub const TCA_FLOWER_KEY_CT_ZONE: u16 = 93;
/// `TCA_FLOWER_KEY_CT_ZONE_MASK` (linux/pkt_cls.h).
pub const TCA_FLOWER_KEY_CT_ZONE_MASK: u16 = 94;
/// `TCA_FLOWER_KEY_CT_MARK` (linux/pkt_cls.h).
pub const TCA_FLOWER_KEY_CT_MARK: u16 = 95;
/// `TCA_FLOWER_KEY_CT_MARK_MASK` (linux/pkt_cls.h).
pub const TCA_FLOWER_KEY_CT_MARK_MASK: u16 = 96;
/// `TCA_FLOWER_KEY_CT_LABELS` (linux/pkt_cls.h).
pub const TCA_FLOWER_KEY_CT_LABELS: u16 = 97;
/// `TCA_FLOWER_KEY_CT_LABELS_MASK` (linux/pkt_cls.h).
pub const TCA_FLOWER_KEY_CT_LABELS_MASK: u16 = 98;
/// `TCA_FLOWER_KEY_CT_FLAGS_NEW` (linux/pkt_cls.h).
pub const TCA_FLOWER_KEY_CT_FLAGS_NEW: u16 = 1;
/// `TCA_FLOWER_KEY_CT_FLAGS_ESTABLISHED` (linux/pkt_cls.h).
pub const TCA_FLOWER_KEY_CT_FLAGS_ESTABLISHED: u16 = 2;
/// `TCA_FLOWER_KEY_CT_FLAGS_RELATED` (linux/pkt_cls.h).
pub const TCA_FLOWER_KEY_CT_FLAGS_RELATED: u16 = 4;
/// `TCA_FLOWER_KEY_CT_FLAGS_TRACKED` (linux/pkt_cls.h).
pub const TCA_FLOWER_KEY_CT_FLAGS_TRACKED: u16 = 8;
/// `TCA_FLOWER_KEY_CT_FLAGS_INVALID` (linux/pkt_cls.h).
pub const TCA_FLOWER_KEY_CT_FLAGS_INVALID: u16 = 16;
/// `TCA_FLOWER_KEY_CT_FLAGS_REPLY` (linux/pkt_cls.h).
pub const TCA_FLOWER_KEY_CT_FLAGS_REPLY: u16 = 32;
/// `TCA_FLOWER_KEY_FLAGS_IS_FRAGMENT` (linux/pkt_cls.h).
pub const TCA_FLOWER_KEY_FLAGS_IS_FRAGMENT: u32 = 1;
/// `TCA_FLOWER_KEY_FLAGS_FRAG_IS_FIRST` (linux/pkt_cls.h).
pub const TCA_FLOWER_KEY_FLAGS_FRAG_IS_FIRST: u32 = 2;
/// `TCA_STATS_BASIC` (linux/gen_stats.h).
pub const TCA_STATS_BASIC: u16 = 1;
/// `TCA_STATS_RATE_EST` (linux/gen_stats.h).
pub const TCA_STATS_RATE_EST: u16 = 2;
/// `TCA_STATS_QUEUE` (linux/gen_stats.h).
pub const TCA_STATS_QUEUE: u16 = 3;
/// `TCA_STATS_APP` (linux/gen_stats.h).
pub const TCA_STATS_APP: u16 = 4;
/// `TCA_STATS_RATE_EST64` (linux/gen_stats.h).
pub const TCA_STATS_RATE_EST64: u16 = 5;
/// `TCA_STATS_PAD` (linux/gen_stats.h).
pub const TCA_STATS_PAD: u16 = 6;
/// `TCA_STATS_BASIC_HW` (linux/gen_stats.h).
pub const TCA_STATS_BASIC_HW: u16 = 7;
/// `TCA_STATS_PKT64` (linux/gen_stats.h).
pub const TCA_STATS_PKT64: u16 = 8;
/// `TCA_GACT_TM` (linux/tc_act/tc_gact.h).
pub const TCA_GACT_TM: u16 = 1;
/// `TCA_GACT_PARMS` (linux/tc_act/tc_gact.h).
pub const TCA_GACT_PARMS: u16 = 2;
/// `TCA_GACT_PROB` (linux/tc_act/tc_gact.h).
pub const TCA_GACT_PROB: u16 = 3;
/// `TCA_GACT_PAD` (linux/tc_act/tc_gact.h).
pub const TCA_GACT_PAD: u16 = 4;
/// `TCA_MIRRED_TM` (linux/tc_act/tc_mirred.h).
pub const TCA_MIRRED_TM: u16 = 1;
/// `TCA_MIRRED_PARMS` (linux/tc_act/tc_mirred.h).
pub const TCA_MIRRED_PARMS: u16 = 2;
/// `TCA_MIRRED_PAD` (linux/tc_act/tc_mirred.h).
pub const TCA_MIRRED_PAD: u16 = 3;
/// `TCA_EGRESS_REDIR` (linux/tc_act/tc_mirred.h).
pub const TCA_EGRESS_REDIR: i32 = 1;
/// `TCA_EGRESS_MIRROR` (linux/tc_act/tc_mirred.h).
pub const TCA_EGRESS_MIRROR: i32 = 2;
/// `TCA_INGRESS_REDIR` (linux/tc_act/tc_mirred.h).
pub const TCA_INGRESS_REDIR: i32 = 3;
/// `TCA_INGRESS_MIRROR` (linux/tc_act/tc_mirred.h).
pub const TCA_INGRESS_MIRROR: i32 = 4;
/// `TCA_CT_PARMS` (linux/tc_act/tc_ct.h).
pub const TCA_CT_PARMS: u16 = 1;
/// `TCA_CT_TM` (linux/tc_act/tc_ct.h).
pub const TCA_CT_TM: u16 = 2;
/// `TCA_CT_ACTION` (linux/tc_act/tc_ct.h).
pub const TCA_CT_ACTION: u16 = 3;
/// `TCA_CT_ZONE` (linux/tc_act/tc_ct.h).
pub const TCA_CT_ZONE: u16 = 4;
/// `TCA_CT_MARK` (linux/tc_act/tc_ct.h).
pub const TCA_CT_MARK: u16 = 5;
/// `TCA_CT_MARK_MASK` (linux/tc_act/tc_ct.h).
pub const TCA_CT_MARK_MASK: u16 = 6;
/// `TCA_CT_LABELS` (linux/tc_act/tc_ct.h).
pub const TCA_CT_LABELS: u16 = 7;
/// `TCA_CT_LABELS_MASK` (linux/tc_act/tc_ct.h).
pub const TCA_CT_LABELS_MASK: u16 = 8;
/// `TCA_CT_NAT_IPV4_MIN` (linux/tc_act/tc_ct.h).
pub const TCA_CT_NAT_IPV4_MIN: u16 = 9;
/// `TCA_CT_PAD` (linux/tc_act/tc_ct.h).
pub const TCA_CT_PAD: u16 = 15;
/// `TCA_CT_ACT_COMMIT` (linux/tc_act/tc_ct.h).
pub const TCA_CT_ACT_COMMIT: u16 = 1;
/// `TCA_CT_ACT_FORCE` (linux/tc_act/tc_ct.h).
pub const TCA_CT_ACT_FORCE: u16 = 2;
/// `TCA_CT_ACT_CLEAR` (linux/tc_act/tc_ct.h).
pub const TCA_CT_ACT_CLEAR: u16 = 4;
/// `TCA_CT_ACT_NAT` (linux/tc_act/tc_ct.h).
pub const TCA_CT_ACT_NAT: u16 = 8;
/// `TCA_CT_ACT_NAT_SRC` (linux/tc_act/tc_ct.h).
pub const TCA_CT_ACT_NAT_SRC: u16 = 16;
/// `TCA_CT_ACT_NAT_DST` (linux/tc_act/tc_ct.h).
pub const TCA_CT_ACT_NAT_DST: u16 = 32;
/// `TCA_PEDIT_TM` (linux/tc_act/tc_pedit.h).
pub const TCA_PEDIT_TM: u16 = 1;
/// `TCA_PEDIT_PARMS` (linux/tc_act/tc_pedit.h).
pub const TCA_PEDIT_PARMS: u16 = 2;
/// `TCA_PEDIT_PAD` (linux/tc_act/tc_pedit.h).
pub const TCA_PEDIT_PAD: u16 = 3;
/// `TCA_PEDIT_PARMS_EX` (linux/tc_act/tc_pedit.h).
pub const TCA_PEDIT_PARMS_EX: u16 = 4;
/// `TCA_PEDIT_KEYS_EX` (linux/tc_act/tc_pedit.h).
pub const TCA_PEDIT_KEYS_EX: u16 = 5;
/// `TCA_PEDIT_KEY_EX` (linux/tc_act/tc_pedit.h).
pub const TCA_PEDIT_KEY_EX: u16 = 6;
/// `TCA_PEDIT_KEY_EX_HTYPE` (linux/tc_act/tc_pedit.h).
pub const TCA_PEDIT_KEY_EX_HTYPE: u16 = 1;
/// `TCA_PEDIT_KEY_EX_CMD` (linux/tc_act/tc_pedit.h).
pub const TCA_PEDIT_KEY_EX_CMD: u16 = 2;
/// `TCA_PEDIT_KEY_EX_HDR_TYPE_NETWORK` (linux/tc_act/tc_pedit.h).
pub const TCA_PEDIT_KEY_EX_HDR_TYPE_NETWORK: u16 = 0;
/// `TCA_PEDIT_KEY_EX_HDR_TYPE_ETH` (linux/tc_act/tc_pedit.h).
pub const TCA_PEDIT_KEY_EX_HDR_TYPE_ETH: u16 = 1;
/// `TCA_PEDIT_KEY_EX_HDR_TYPE_IP4` (linux/tc_act/tc_pedit.h).
pub const TCA_PEDIT_KEY_EX_HDR_TYPE_IP4: u16 = 2;
/// `TCA_PEDIT_KEY_EX_HDR_TYPE_IP6` (linux/tc_act/tc_pedit.h).
pub const TCA_PEDIT_KEY_EX_HDR_TYPE_IP6: u16 = 3;
/// `TCA_PEDIT_KEY_EX_HDR_TYPE_TCP` (linux/tc_act/tc_pedit.h).
pub const TCA_PEDIT_KEY_EX_HDR_TYPE_TCP: u16 = 4;
/// `TCA_PEDIT_KEY_EX_HDR_TYPE_UDP` (linux/tc_act/tc_pedit.h).
pub const TCA_PEDIT_KEY_EX_HDR_TYPE_UDP: u16 = 5;
/// `TCA_PEDIT_KEY_EX_CMD_SET` (linux/tc_act/tc_pedit.h).
pub const TCA_PEDIT_KEY_EX_CMD_SET: u16 = 0;
/// `TCA_PEDIT_KEY_EX_CMD_ADD` (linux/tc_act/tc_pedit.h).
pub const TCA_PEDIT_KEY_EX_CMD_ADD: u16 = 1;
/// `TCA_CSUM_PARMS` (linux/tc_act/tc_csum.h).
pub const TCA_CSUM_PARMS: u16 = 1;
/// `TCA_CSUM_TM` (linux/tc_act/tc_csum.h).
pub const TCA_CSUM_TM: u16 = 2;
/// `TCA_CSUM_PAD` (linux/tc_act/tc_csum.h).
pub const TCA_CSUM_PAD: u16 = 3;
/// `TCA_CSUM_UPDATE_FLAG_IPV4HDR` (linux/tc_act/tc_csum.h).
pub const TCA_CSUM_UPDATE_FLAG_IPV4HDR: u32 = 1;
/// `TCA_CSUM_UPDATE_FLAG_ICMP` (linux/tc_act/tc_csum.h).
pub const TCA_CSUM_UPDATE_FLAG_ICMP: u32 = 2;
/// `TCA_CSUM_UPDATE_FLAG_IGMP` (linux/tc_act/tc_csum.h).
pub const TCA_CSUM_UPDATE_FLAG_IGMP: u32 = 4;
/// `TCA_CSUM_UPDATE_FLAG_TCP` (linux/tc_act/tc_csum.h).
pub const TCA_CSUM_UPDATE_FLAG_TCP: u32 = 8;
/// `TCA_CSUM_UPDATE_FLAG_UDP` (linux/tc_act/tc_csum.h).
pub const TCA_CSUM_UPDATE_FLAG_UDP: u32 = 16;
/// `TCA_CSUM_UPDATE_FLAG_UDPLITE` (linux/tc_act/tc_csum.h).
pub const TCA_CSUM_UPDATE_FLAG_UDPLITE: u32 = 32;
/// `TCA_CSUM_UPDATE_FLAG_SCTP` (linux/tc_act/tc_csum.h).
pub const TCA_CSUM_UPDATE_FLAG_SCTP: u32 = 64;
/// `TCA_VLAN_TM` (linux/tc_act/tc_vlan.h).
pub const TCA_VLAN_TM: u16 = 1;
/// `TCA_VLAN_PARMS` (linux/tc_act/tc_vlan.h).
pub const TCA_VLAN_PARMS: u16 = 2;
/// `TCA_VLAN_PUSH_VLAN_ID` (linux/tc_act/tc_vlan.h).
pub const TCA_VLAN_PUSH_VLAN_ID: u16 = 3;
/// `TCA_VLAN_PUSH_VLAN_PROTOCOL` (linux/tc_act/tc_vlan.h).
pub const TCA_VLAN_PUSH_VLAN_PROTOCOL: u16 = 4;
/// `TCA_VLAN_PAD` (linux/tc_act/tc_vlan.h).
pub const TCA_VLAN_PAD: u16 = 5;
/// `TCA_VLAN_PUSH_VLAN_PRIORITY` (linux/tc_act/tc_vlan.h).
pub const TCA_VLAN_PUSH_VLAN_PRIORITY: u16 = 6;
/// `TCA_VLAN_ACT_POP` (linux/tc_act/tc_vlan.h).
pub const TCA_VLAN_ACT_POP: i32 = 1;
/// `TCA_VLAN_ACT_PUSH` (linux/tc_act/tc_vlan.h).
pub const TCA_VLAN_ACT_PUSH: i32 = 2;
/// `TCA_VLAN_ACT_MODIFY` (linux/tc_act/tc_vlan.h).
pub const TCA_VLAN_ACT_MODIFY: i32 = 3;
/// `NETLINK_NETFILTER` (linux/netlink.h).
pub const NETLINK_NETFILTER: i32 = 12;
/// `NETLINK_ROUTE` (linux/netlink.h).
pub const NETLINK_ROUTE: i32 = 0;
/// `NETLINK_EXT_ACK` (linux/netlink.h).
pub const NETLINK_EXT_ACK: i32 = 11;
/// `NLM_F_CAPPED` (linux/netlink.h).
pub const NLM_F_CAPPED: u16 = 256;
/// `NLM_F_ACK_TLVS` (linux/netlink.h).
pub const NLM_F_ACK_TLVS: u16 = 512;
/// `NLMSGERR_ATTR_MSG` (linux/netlink.h).
pub const NLMSGERR_ATTR_MSG: u16 = 1;
/// `RTM_NEWQDISC` (linux/rtnetlink.h).
pub const RTM_NEWQDISC: u16 = 36;
/// `RTM_DELQDISC` (linux/rtnetlink.h).
pub const RTM_DELQDISC: u16 = 37;
/// `NFNETLINK_V0` (linux/netfilter/nfnetlink.h).
pub const NFNETLINK_V0: u8 = 0;
/// `NFNL_SUBSYS_CTNETLINK` (linux/netfilter/nfnetlink.h).
pub const NFNL_SUBSYS_CTNETLINK: u16 = 1;
/// `IPCTNL_MSG_CT_NEW` (linux/netfilter/nfnetlink_conntrack.h).
pub const IPCTNL_MSG_CT_NEW: u16 = 0;
/// `IPCTNL_MSG_CT_GET` (linux/netfilter/nfnetlink_conntrack.h).
pub const IPCTNL_MSG_CT_GET: u16 = 1;
/// `IPCTNL_MSG_CT_DELETE` (linux/netfilter/nfnetlink_conntrack.h).
pub const IPCTNL_MSG_CT_DELETE: u16 = 2;
/// `CTA_TUPLE_ORIG` (linux/netfilter/nfnetlink_conntrack.h).
pub const CTA_TUPLE_ORIG: u16 = 1;
/// `CTA_TUPLE_REPLY` (linux/netfilter/nfnetlink_conntrack.h).
pub const CTA_TUPLE_REPLY: u16 = 2;
/// `CTA_STATUS` (linux/netfilter/nfnetlink_conntrack.h).
pub const CTA_STATUS: u16 = 3;
/// `CTA_PROTOINFO` (linux/netfilter/nfnetlink_conntrack.h).
pub const CTA_PROTOINFO: u16 = 4;
/// `CTA_TIMEOUT` (linux/netfilter/nfnetlink_conntrack.h).
pub const CTA_TIMEOUT: u16 = 7;
/// `CTA_MARK` (linux/netfilter/nfnetlink_conntrack.h).
pub const CTA_MARK: u16 = 8;
/// `CTA_ID` (linux/netfilter/nfnetlink_conntrack.h).
pub const CTA_ID: u16 = 12;
/// `CTA_ZONE` (linux/netfilter/nfnetlink_conntrack.h).
pub const CTA_ZONE: u16 = 18;
/// `CTA_LABELS` (linux/netfilter/nfnetlink_conntrack.h).
pub const CTA_LABELS: u16 = 22;
/// `CTA_LABELS_MASK` (linux/netfilter/nfnetlink_conntrack.h).
pub const CTA_LABELS_MASK: u16 = 23;
/// `CTA_USE` (linux/netfilter/nfnetlink_conntrack.h).
pub const CTA_USE: u16 = 11;
/// `CTA_TUPLE_IP` (linux/netfilter/nfnetlink_conntrack.h).
pub const CTA_TUPLE_IP: u16 = 1;
/// `CTA_TUPLE_PROTO` (linux/netfilter/nfnetlink_conntrack.h).
pub const CTA_TUPLE_PROTO: u16 = 2;
/// `CTA_TUPLE_ZONE` (linux/netfilter/nfnetlink_conntrack.h).
pub const CTA_TUPLE_ZONE: u16 = 3;
/// `CTA_IP_V4_SRC` (linux/netfilter/nfnetlink_conntrack.h).
pub const CTA_IP_V4_SRC: u16 = 1;
/// `CTA_IP_V4_DST` (linux/netfilter/nfnetlink_conntrack.h).
pub const CTA_IP_V4_DST: u16 = 2;
/// `CTA_IP_V6_SRC` (linux/netfilter/nfnetlink_conntrack.h).
pub const CTA_IP_V6_SRC: u16 = 3;
/// `CTA_IP_V6_DST` (linux/netfilter/nfnetlink_conntrack.h).
pub const CTA_IP_V6_DST: u16 = 4;
/// `CTA_PROTO_NUM` (linux/netfilter/nfnetlink_conntrack.h).
pub const CTA_PROTO_NUM: u16 = 1;
/// `CTA_PROTO_SRC_PORT` (linux/netfilter/nfnetlink_conntrack.h).
pub const CTA_PROTO_SRC_PORT: u16 = 2;
/// `CTA_PROTO_DST_PORT` (linux/netfilter/nfnetlink_conntrack.h).
pub const CTA_PROTO_DST_PORT: u16 = 3;
/// `CTA_PROTOINFO_TCP` (linux/netfilter/nfnetlink_conntrack.h).
pub const CTA_PROTOINFO_TCP: u16 = 1;
/// `CTA_PROTOINFO_TCP_STATE` (linux/netfilter/nfnetlink_conntrack.h).
pub const CTA_PROTOINFO_TCP_STATE: u16 = 1;
/// `CTA_PROTOINFO_TCP_WSCALE_ORIGINAL` (linux/netfilter/nfnetlink_conntrack.h).
pub const CTA_PROTOINFO_TCP_WSCALE_ORIGINAL: u16 = 2;
/// `CTA_PROTOINFO_TCP_WSCALE_REPLY` (linux/netfilter/nfnetlink_conntrack.h).
pub const CTA_PROTOINFO_TCP_WSCALE_REPLY: u16 = 3;
/// `CTA_PROTOINFO_TCP_FLAGS_ORIGINAL` (linux/netfilter/nfnetlink_conntrack.h).
pub const CTA_PROTOINFO_TCP_FLAGS_ORIGINAL: u16 = 4;
/// `CTA_PROTOINFO_TCP_FLAGS_REPLY` (linux/netfilter/nfnetlink_conntrack.h).
pub const CTA_PROTOINFO_TCP_FLAGS_REPLY: u16 = 5;
/// `IPS_SEEN_REPLY` (linux/netfilter/nf_conntrack_common.h).
pub const IPS_SEEN_REPLY: u32 = 2;
/// `IPS_ASSURED` (linux/netfilter/nf_conntrack_common.h).
pub const IPS_ASSURED: u32 = 4;
/// `IPS_CONFIRMED` (linux/netfilter/nf_conntrack_common.h).
pub const IPS_CONFIRMED: u32 = 8;
/// `TCP_CONNTRACK_ESTABLISHED` (linux/netfilter/nf_conntrack_tcp.h).
pub const TCP_CONNTRACK_ESTABLISHED: u8 = 3;
/// `IP_CT_TCP_FLAG_WINDOW_SCALE` (linux/netfilter/nf_conntrack_tcp.h).
pub const IP_CT_TCP_FLAG_WINDOW_SCALE: u8 = 1;
/// `IP_CT_TCP_FLAG_SACK_PERM` (linux/netfilter/nf_conntrack_tcp.h).
pub const IP_CT_TCP_FLAG_SACK_PERM: u8 = 2;
/// `IP_CT_TCP_FLAG_BE_LIBERAL` (linux/netfilter/nf_conntrack_tcp.h).
pub const IP_CT_TCP_FLAG_BE_LIBERAL: u8 = 8;
/// `AF_INET` (sys/socket.h).
pub const AF_INET: u8 = 2;
/// `AF_INET6` (sys/socket.h).
pub const AF_INET6: u8 = 10;
