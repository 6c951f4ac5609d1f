/* SPDX-License-Identifier: (GPL-2.0-only OR Apache-2.0) */
/*
 * hwol_shared.h - everything the eBPF fast path shares with userspace.
 *
 * Every struct here has a #[repr(C)] mirror in crates/hwol-ebpf/src/layout.rs.
 * Both sides assert the same sizes and offsets (the _Static_asserts at the
 * bottom of this file and the const asserts in layout.rs), so a change on one
 * side that is not made on the other fails the build.
 *
 * Conventions: integers (ports, EtherTypes, TCI, zones, marks) are host
 * order, addresses are network-order byte arrays, exactly as in
 * hwol_flow::FlowKey.
 */
#ifndef HWOL_SHARED_H
#define HWOL_SHARED_H

#include <linux/types.h>

#define HWOL_MAX_MASKS 16   /* mask slots probed per lookup */
#define HWOL_HINT_SLOTS 1024 /* per-CPU mask hints (a power of 2) */
#define HWOL_MAX_ACTIONS 6  /* actions per flow */
#define HWOL_MAX_PASSES 4   /* lookups per packet (1 + recirculations) */
#define HWOL_MAX_FLOWS 8192
#define HWOL_MAX_CT 65536
#define HWOL_MAX_PORTS 1024
#define HWOL_N_REASONS 16

/* ct_state bits, as hwol_flow::ct_state (and OVS) define them. */
#define HWOL_CS_NEW 0x01
#define HWOL_CS_EST 0x02
#define HWOL_CS_RPL 0x08
#define HWOL_CS_TRK 0x20

/* Outer tag on upcalls in tc mode: 802.1ad, VID = ingress datapath port. */
#define HWOL_UPCALL_TPID 0x88a8

/*
 * What happened to a packet. Stable codes: userspace reads the per-CPU
 * counters indexed by these (hwol_reasons map) and labels them with the
 * names in src/layout.rs (Reason). Never renumber; only append.
 */
enum hwol_reason {
	HWOL_R_FORWARDED = 0,        /* a flow hit ended in an output */
	HWOL_R_MISS_FLOW = 1,        /* no flow matched: slow path */
	HWOL_R_MISS_CT = 2,          /* ct(): connection not in the fast path */
	HWOL_R_MISS_CT_TEARDOWN = 3, /* ct(): TCP FIN/RST, so software sees the teardown */
	HWOL_R_MISS_CT_PROTO = 4,    /* ct(): not TCP/UDP, or a fragment */
	HWOL_R_MISS_PARSE = 5,       /* header the parser does not handle (double tag, IPv6 ext hdr, truncated) */
	HWOL_R_MISS_RECIRC = 6,      /* more than HWOL_MAX_PASSES lookups */
	HWOL_R_MISS_NO_PORT = 7,     /* ingress device is not an attached port */
	HWOL_R_DROP_ACTION = 8,      /* the flow's actions drop the packet */
	HWOL_R_DROP_OUT_PORT = 9,    /* output to a port that is no longer attached */
	HWOL_R_DROP_UPCALL = 10,     /* miss, but the upcall channel failed */
	HWOL_R_MISS_NO_UPCALL = 11,  /* tc: miss with no upcall device configured (passed to the stack) */
};

enum hwol_action_type {
	HWOL_ACT_OUTPUT = 1,  /* arg = datapath port */
	HWOL_ACT_CT = 2,      /* arg = zone; flags = HWOL_CT_F_* */
	HWOL_ACT_RECIRC = 3,  /* arg = recirc id */
	HWOL_ACT_SET_ETH = 4, /* eth_* fields; flags = HWOL_SET_F_MASKED */
};

#define HWOL_CT_F_COMMIT 0x1
#define HWOL_CT_F_FORCE 0x2
#define HWOL_SET_F_MASKED 0x1

/* The fields a flow can match on; a compact subset of hwol_flow::FlowKey. */
struct hwol_key {
	__u32 recirc_id;
	__u32 in_port;
	__u32 ct_mark;
	__u16 ct_zone;
	__u8 ct_state;
	__u8 nw_proto;
	__u8 eth_src[6];
	__u8 eth_dst[6];
	__u16 eth_type;  /* innermost */
	__u16 vlan_tci;  /* outer tag; PCP:3 DEI:1 VID:12 */
	__u16 vlan_tpid; /* 0 = untagged */
	__u16 tcp_flags; /* 12 bits */
	__u8 ipv4_src[4]; /* also ARP spa */
	__u8 ipv4_dst[4]; /* also ARP tpa */
	__u8 ipv6_src[16];
	__u8 ipv6_dst[16];
	__u16 tp_src; /* or ICMP type */
	__u16 tp_dst; /* or ICMP code */
	__u8 nw_tos;
	__u8 nw_ttl;
	__u8 nw_frag;
	__u8 pad0;
	__u32 pad1;
};

/* Key of the flows map: which mask slot, and the key ANDed with that mask. */
struct hwol_flow_key {
	__u32 mask_idx;
	struct hwol_key key;
};

/* One entry of the masks array. */
struct hwol_mask {
	__u32 active; /* 0 = free slot, skipped by the lookup */
	struct hwol_key mask;
};

struct hwol_action {
	__u16 type;  /* enum hwol_action_type */
	__u16 flags;
	__u32 arg;
	__u8 eth_src[6];
	__u8 eth_src_mask[6];
	__u8 eth_dst[6];
	__u8 eth_dst_mask[6];
};

/* Value of the flows map. Counters are updated atomically by the programs. */
struct hwol_flow {
	__u64 ufid_lo;
	__u64 ufid_hi;
	__u64 packets;
	__u64 bytes;
	__u64 used_ns; /* bpf_ktime_get_ns() of the last hit (CLOCK_MONOTONIC), 0 = never */
	__u32 n_actions;
	__u32 pad;
	struct hwol_action actions[HWOL_MAX_ACTIONS];
};

/* Conntrack key: zone + the 5-tuple as seen in this direction. */
struct hwol_ct_key {
	__u16 zone;
	__u8 proto;
	__u8 family; /* 4 or 6; IPv4 addresses use the first 4 bytes */
	__u16 sport;
	__u16 dport;
	__u8 src[16];
	__u8 dst[16];
};

#define HWOL_CT_DIR_ORIG 0
#define HWOL_CT_DIR_REPLY 1

struct hwol_ct_val {
	__u32 mark;
	__u8 dir;
	__u8 pad[3];
	__u64 used_ns; /* bpf_ktime_get_ns() of the last hit, 0 = never */
};

/* hwol_cfg[0] */
struct hwol_cfg {
	__u32 upcall_ifindex; /* tc: where misses are redirected; 0 = pass to the stack */
	__u32 pad;
};

/* Layout checks; src/layout.rs asserts the same numbers. */
#define HWOL_CHECK(t, f, off) _Static_assert(__builtin_offsetof(t, f) == (off), #t "." #f)
_Static_assert(sizeof(struct hwol_key) == 88, "hwol_key size");
HWOL_CHECK(struct hwol_key, in_port, 4);
HWOL_CHECK(struct hwol_key, ct_mark, 8);
HWOL_CHECK(struct hwol_key, ct_zone, 12);
HWOL_CHECK(struct hwol_key, ct_state, 14);
HWOL_CHECK(struct hwol_key, nw_proto, 15);
HWOL_CHECK(struct hwol_key, eth_src, 16);
HWOL_CHECK(struct hwol_key, eth_dst, 22);
HWOL_CHECK(struct hwol_key, eth_type, 28);
HWOL_CHECK(struct hwol_key, vlan_tci, 30);
HWOL_CHECK(struct hwol_key, vlan_tpid, 32);
HWOL_CHECK(struct hwol_key, tcp_flags, 34);
HWOL_CHECK(struct hwol_key, ipv4_src, 36);
HWOL_CHECK(struct hwol_key, ipv4_dst, 40);
HWOL_CHECK(struct hwol_key, ipv6_src, 44);
HWOL_CHECK(struct hwol_key, ipv6_dst, 60);
HWOL_CHECK(struct hwol_key, tp_src, 76);
HWOL_CHECK(struct hwol_key, tp_dst, 78);
HWOL_CHECK(struct hwol_key, nw_tos, 80);
HWOL_CHECK(struct hwol_key, nw_ttl, 81);
HWOL_CHECK(struct hwol_key, nw_frag, 82);
_Static_assert(sizeof(struct hwol_flow_key) == 92, "hwol_flow_key size");
HWOL_CHECK(struct hwol_flow_key, key, 4);
_Static_assert(sizeof(struct hwol_mask) == 92, "hwol_mask size");
HWOL_CHECK(struct hwol_mask, mask, 4);
_Static_assert(sizeof(struct hwol_action) == 32, "hwol_action size");
HWOL_CHECK(struct hwol_action, flags, 2);
HWOL_CHECK(struct hwol_action, arg, 4);
HWOL_CHECK(struct hwol_action, eth_src, 8);
HWOL_CHECK(struct hwol_action, eth_src_mask, 14);
HWOL_CHECK(struct hwol_action, eth_dst, 20);
HWOL_CHECK(struct hwol_action, eth_dst_mask, 26);
_Static_assert(sizeof(struct hwol_flow) == 48 + 32 * HWOL_MAX_ACTIONS, "hwol_flow size");
HWOL_CHECK(struct hwol_flow, ufid_hi, 8);
HWOL_CHECK(struct hwol_flow, packets, 16);
HWOL_CHECK(struct hwol_flow, bytes, 24);
HWOL_CHECK(struct hwol_flow, used_ns, 32);
HWOL_CHECK(struct hwol_flow, n_actions, 40);
HWOL_CHECK(struct hwol_flow, actions, 48);
_Static_assert(sizeof(struct hwol_ct_key) == 40, "hwol_ct_key size");
HWOL_CHECK(struct hwol_ct_key, proto, 2);
HWOL_CHECK(struct hwol_ct_key, family, 3);
HWOL_CHECK(struct hwol_ct_key, sport, 4);
HWOL_CHECK(struct hwol_ct_key, dport, 6);
HWOL_CHECK(struct hwol_ct_key, src, 8);
HWOL_CHECK(struct hwol_ct_key, dst, 24);
_Static_assert(sizeof(struct hwol_ct_val) == 16, "hwol_ct_val size");
HWOL_CHECK(struct hwol_ct_val, dir, 4);
HWOL_CHECK(struct hwol_ct_val, used_ns, 8);
_Static_assert(sizeof(struct hwol_cfg) == 8, "hwol_cfg size");

#endif
