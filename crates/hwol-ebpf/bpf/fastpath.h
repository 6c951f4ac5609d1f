/* SPDX-License-Identifier: (GPL-2.0-only OR Apache-2.0) */
/*
 * fastpath.h - the fast path shared by xdp.c and tc.c: maps, parser,
 * megaflow lookup (mask loop), conntrack lookup and action execution.
 *
 * The entry programs only translate between their hook (xdp_md / __sk_buff)
 * and hwol_process(), and turn its verdict into a hook return code.
 */
#ifndef HWOL_FASTPATH_H
#define HWOL_FASTPATH_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/in.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "hwol_shared.h"

#ifndef LIBBPF_PIN_BY_NAME
#define LIBBPF_PIN_BY_NAME 1
#endif

/* All maps are pinned by name under the instance directory, so that a
 * restarted daemon reuses them (and the flows in them). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, HWOL_MAX_MASKS);
	__type(key, __u32);
	__type(value, struct hwol_mask);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} hwol_masks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, HWOL_MAX_FLOWS);
	__type(key, struct hwol_flow_key);
	__type(value, struct hwol_flow);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} hwol_flows SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, HWOL_MAX_CT);
	__type(key, struct hwol_ct_key);
	__type(value, struct hwol_ct_val);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} hwol_ct SEC(".maps");

/* datapath port -> ifindex */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, HWOL_MAX_PORTS);
	__type(key, __u32);
	__type(value, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} hwol_ports SEC(".maps");

/* ifindex -> datapath port */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, HWOL_MAX_PORTS);
	__type(key, __u32);
	__type(value, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} hwol_ifports SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct hwol_cfg);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} hwol_cfg SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, HWOL_N_REASONS);
	__type(key, __u32);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} hwol_reasons SEC(".maps");

enum hwol_verdict {
	HWOL_V_OUTPUT, /* send to *out_ifindex */
	HWOL_V_MISS,   /* hand to the slow path */
	HWOL_V_DROP,
};

static __always_inline void hwol_count(__u32 reason)
{
	__u64 *c = bpf_map_lookup_elem(&hwol_reasons, &reason);
	if (c)
		*c += 1;
}

#define VLAN_HLEN 4
struct hwol_vlan_hdr {
	__be16 tci;
	__be16 proto;
};

struct hwol_arp_ipv4 {
	__be16 htype, ptype;
	__u8 hlen, plen;
	__be16 op;
	__u8 sha[6];
	__u8 spa[4];
	__u8 tha[6];
	__u8 tpa[4];
};

static __always_inline int hwol_is_vlan(__u16 proto)
{
	return proto == ETH_P_8021Q || proto == ETH_P_8021AD;
}

/*
 * Parse the packet into key (which the caller zeroed and filled with
 * in_port). hw_tpid/hw_tci: a tag the hook already took out of the packet
 * (tc: skb->vlan_*), 0 if none. Returns 0 or a HWOL_R_* reason.
 */
static __always_inline int hwol_parse(void *data, void *data_end, struct hwol_key *key, __u16 hw_tpid, __u16 hw_tci)
{
	struct ethhdr *eth = data;
	void *l3;
	__u16 proto;

	if ((void *)(eth + 1) > data_end)
		return HWOL_R_MISS_PARSE;
	__builtin_memcpy(key->eth_src, eth->h_source, 6);
	__builtin_memcpy(key->eth_dst, eth->h_dest, 6);
	proto = bpf_ntohs(eth->h_proto);
	l3 = eth + 1;

	if (hw_tpid) {
		key->vlan_tpid = hw_tpid;
		key->vlan_tci = hw_tci;
	} else if (hwol_is_vlan(proto)) {
		struct hwol_vlan_hdr *vh = l3;
		if ((void *)(vh + 1) > data_end)
			return HWOL_R_MISS_PARSE;
		key->vlan_tpid = proto;
		key->vlan_tci = bpf_ntohs(vh->tci);
		proto = bpf_ntohs(vh->proto);
		l3 = vh + 1;
	}
	if (hwol_is_vlan(proto))
		return HWOL_R_MISS_PARSE; /* a second tag: software handles it */
	key->eth_type = proto;

	if (proto == ETH_P_IP) {
		struct iphdr *ip = l3;
		if ((void *)(ip + 1) > data_end || ip->ihl < 5)
			return HWOL_R_MISS_PARSE;
		__builtin_memcpy(key->ipv4_src, &ip->saddr, 4);
		__builtin_memcpy(key->ipv4_dst, &ip->daddr, 4);
		key->nw_proto = ip->protocol;
		key->nw_tos = ip->tos;
		key->nw_ttl = ip->ttl;
		__u16 frag = bpf_ntohs(ip->frag_off);
		if (frag & 0x3fff) {
			key->nw_frag = 1;
			if (frag & 0x1fff) {
				key->nw_frag |= 2;
				return 0; /* later fragment: no L4 header */
			}
		}
		void *l4 = (void *)ip + ip->ihl * 4;
		if (key->nw_proto == IPPROTO_TCP) {
			struct tcphdr *th = l4;
			if ((void *)(th + 1) > data_end)
				return HWOL_R_MISS_PARSE;
			key->tp_src = bpf_ntohs(th->source);
			key->tp_dst = bpf_ntohs(th->dest);
			key->tcp_flags = bpf_ntohs(*(__be16 *)((__u8 *)th + 12)) & 0x0fff;
		} else if (key->nw_proto == IPPROTO_UDP || key->nw_proto == IPPROTO_SCTP) {
			struct udphdr *uh = l4;
			if ((void *)(uh + 1) > data_end)
				return HWOL_R_MISS_PARSE;
			key->tp_src = bpf_ntohs(uh->source);
			key->tp_dst = bpf_ntohs(uh->dest);
		} else if (key->nw_proto == IPPROTO_ICMP) {
			__u8 *ic = l4;
			if ((void *)(ic + 2) > data_end)
				return HWOL_R_MISS_PARSE;
			key->tp_src = ic[0];
			key->tp_dst = ic[1];
		}
		return 0;
	}
	if (proto == ETH_P_IPV6) {
		struct ipv6hdr *ip6 = l3;
		if ((void *)(ip6 + 1) > data_end)
			return HWOL_R_MISS_PARSE;
		__builtin_memcpy(key->ipv6_src, &ip6->saddr, 16);
		__builtin_memcpy(key->ipv6_dst, &ip6->daddr, 16);
		key->nw_proto = ip6->nexthdr;
		key->nw_tos = (ip6->priority << 4) | (ip6->flow_lbl[0] >> 4);
		key->nw_ttl = ip6->hop_limit;
		void *l4 = ip6 + 1;
		switch (key->nw_proto) {
		case IPPROTO_TCP: {
			struct tcphdr *th = l4;
			if ((void *)(th + 1) > data_end)
				return HWOL_R_MISS_PARSE;
			key->tp_src = bpf_ntohs(th->source);
			key->tp_dst = bpf_ntohs(th->dest);
			key->tcp_flags = bpf_ntohs(*(__be16 *)((__u8 *)th + 12)) & 0x0fff;
			return 0;
		}
		case IPPROTO_UDP:
		case IPPROTO_SCTP: {
			struct udphdr *uh = l4;
			if ((void *)(uh + 1) > data_end)
				return HWOL_R_MISS_PARSE;
			key->tp_src = bpf_ntohs(uh->source);
			key->tp_dst = bpf_ntohs(uh->dest);
			return 0;
		}
		case IPPROTO_ICMPV6: {
			__u8 *ic = l4;
			if ((void *)(ic + 2) > data_end)
				return HWOL_R_MISS_PARSE;
			key->tp_src = ic[0];
			key->tp_dst = ic[1];
			return 0;
		}
		case 0: case 43: case 44: case 50: case 51: case 60: case 135:
			return HWOL_R_MISS_PARSE; /* extension headers: software parses them */
		default:
			return 0;
		}
	}
	if (proto == ETH_P_ARP) {
		struct hwol_arp_ipv4 *arp = l3;
		if ((void *)(arp + 1) > data_end)
			return HWOL_R_MISS_PARSE;
		__builtin_memcpy(key->ipv4_src, arp->spa, 4);
		__builtin_memcpy(key->ipv4_dst, arp->tpa, 4);
		return 0;
	}
	return 0;
}

/* ---- megaflow lookup ---------------------------------------------------- */

/*
 * Mask hints, OVS's kernel "mask cache" idea: a small per-CPU table, indexed
 * by a hash of the packet's most telling key fields and its recirc id, that
 * remembers which mask slot the last packet hashing there hit. The hinted
 * slot is probed first; only when it misses does the lookup walk every slot
 * (and then refresh the hint). A hint is only ever a first guess: megaflows
 * do not overlap, so a hit under any mask is *the* hit, and a stale hint
 * (mask freed or reused) just costs the walk. Not pinned: a cache that a
 * new program may start empty.
 */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, HWOL_HINT_SLOTS);
	__type(key, __u32);
	__type(value, __u32); /* mask slot + 1; 0 = no hint */
} hwol_mask_hint SEC(".maps");

static __always_inline __u32 hwol_hint_slot(const struct hwol_key *k)
{
	__u32 a, b, p;

	__builtin_memcpy(&a, k->ipv4_src, 4);
	__builtin_memcpy(&b, k->ipv4_dst, 4);
	__builtin_memcpy(&p, &k->ipv6_dst[12], 4);
	__u32 h = k->recirc_id * 0x9e3779b1u;
	h ^= (k->in_port ^ ((__u32)k->eth_type << 16)) * 0x85ebca6bu;
	h ^= (a ^ (b * 0xc2b2ae35u)) + p;
	h ^= ((__u32)k->tp_src << 16 | k->tp_dst) * 0x27d4eb2fu;
	h ^= h >> 15;
	h *= 0x2c1b3c6du;
	h ^= h >> 12;
	return h & (HWOL_HINT_SLOTS - 1);
}

struct hwol_lookup_ctx {
	struct hwol_key *key;
	struct hwol_flow_key fk; /* the masked key of the hit */
	__u32 skip;               /* slot already probed (the hint), or ~0 */
	int found;
};

#define HWOL_KEY_WORDS (sizeof(struct hwol_key) / 4)

/* Probe one mask slot: mask the key into lc->fk and look it up. */
static __always_inline struct hwol_flow *hwol_probe(struct hwol_lookup_ctx *lc, __u32 idx)
{
	struct hwol_mask *m = bpf_map_lookup_elem(&hwol_masks, &idx);

	if (!m || !m->active)
		return 0;
	__u32 *k = (__u32 *)lc->key, *mk = (__u32 *)&m->mask, *out = (__u32 *)&lc->fk.key;
#pragma clang loop unroll(full)
	for (int i = 0; i < HWOL_KEY_WORDS; i++)
		out[i] = k[i] & mk[i];
	lc->fk.mask_idx = idx;
	return bpf_map_lookup_elem(&hwol_flows, &lc->fk);
}

static long hwol_probe_mask(__u64 index, void *arg)
{
	struct hwol_lookup_ctx *lc = arg;

	if ((__u32)index == lc->skip)
		return 0;
	if (hwol_probe(lc, index)) {
		/* The pointer cannot leave the callback; the caller looks the
		 * hit up again (the hint makes this the rare path). */
		lc->found = 1;
		return 1; /* megaflows do not overlap: the first hit is the hit */
	}
	return 0;
}

static __always_inline struct hwol_flow *hwol_lookup(struct hwol_key *key, struct hwol_lookup_ctx *lc)
{
	__u32 slot = hwol_hint_slot(key);
	__u32 *hint = bpf_map_lookup_elem(&hwol_mask_hint, &slot);

	lc->key = key;
	lc->found = 0;
	lc->skip = ~0u;
	if (hint && *hint) {
		__u32 idx = *hint - 1;
		if (idx < HWOL_MAX_MASKS) {
			struct hwol_flow *f = hwol_probe(lc, idx);
			if (f)
				return f;
			lc->skip = idx;
		}
	}
	bpf_loop(HWOL_MAX_MASKS, hwol_probe_mask, lc, 0);
	if (!lc->found)
		return 0;
	if (hint)
		*hint = lc->fk.mask_idx + 1;
	return bpf_map_lookup_elem(&hwol_flows, &lc->fk);
}

/* ---- conntrack ---------------------------------------------------------- */

/* Returns 0 and fills key->ct_* on a hit, else a HWOL_R_MISS_* reason. */
static __always_inline int hwol_ct_lookup(struct hwol_key *key, __u16 zone, __u64 now)
{
	struct hwol_ct_key ck = {};

	if (key->nw_frag)
		return HWOL_R_MISS_CT_PROTO;
	if (key->nw_proto != IPPROTO_TCP && key->nw_proto != IPPROTO_UDP)
		return HWOL_R_MISS_CT_PROTO;
	if (key->eth_type == ETH_P_IP) {
		ck.family = 4;
		__builtin_memcpy(ck.src, key->ipv4_src, 4);
		__builtin_memcpy(ck.dst, key->ipv4_dst, 4);
	} else if (key->eth_type == ETH_P_IPV6) {
		ck.family = 6;
		__builtin_memcpy(ck.src, key->ipv6_src, 16);
		__builtin_memcpy(ck.dst, key->ipv6_dst, 16);
	} else {
		return HWOL_R_MISS_CT_PROTO;
	}
	ck.zone = zone;
	ck.proto = key->nw_proto;
	ck.sport = key->tp_src;
	ck.dport = key->tp_dst;
	/* FIN and RST go to software so that it sees the connection close, and
	 * the connection leaves the fast path at once (both directions): the
	 * rest of its teardown, down to the last ACK, must reach software too.
	 * Otherwise software conntrack never sees the close complete and would
	 * refuse (+inv) a new SYN that reuses the ports soon after. */
	if (key->nw_proto == IPPROTO_TCP && (key->tcp_flags & 0x05)) {
		struct hwol_ct_key rk = {};
		rk.zone = ck.zone;
		rk.proto = ck.proto;
		rk.family = ck.family;
		rk.sport = ck.dport;
		rk.dport = ck.sport;
		__builtin_memcpy(rk.src, ck.dst, 16);
		__builtin_memcpy(rk.dst, ck.src, 16);
		bpf_map_delete_elem(&hwol_ct, &ck);
		bpf_map_delete_elem(&hwol_ct, &rk);
		return HWOL_R_MISS_CT_TEARDOWN;
	}
	struct hwol_ct_val *cv = bpf_map_lookup_elem(&hwol_ct, &ck);
	if (!cv)
		return HWOL_R_MISS_CT;
	cv->used_ns = now;
	key->ct_state = HWOL_CS_TRK | HWOL_CS_EST | (cv->dir == HWOL_CT_DIR_REPLY ? HWOL_CS_RPL : 0);
	key->ct_zone = zone;
	key->ct_mark = cv->mark;
	return 0;
}

/* ---- actions ------------------------------------------------------------ */

static __always_inline void hwol_set_eth(void *data, void *data_end, struct hwol_key *key, struct hwol_action *a)
{
	struct ethhdr *eth = data;
	if ((void *)(eth + 1) > data_end)
		return;
#pragma clang loop unroll(full)
	for (int i = 0; i < 6; i++) {
		__u8 s = (eth->h_source[i] & ~a->eth_src_mask[i]) | (a->eth_src[i] & a->eth_src_mask[i]);
		__u8 d = (eth->h_dest[i] & ~a->eth_dst_mask[i]) | (a->eth_dst[i] & a->eth_dst_mask[i]);
		eth->h_source[i] = s;
		eth->h_dest[i] = d;
		key->eth_src[i] = s;
		key->eth_dst[i] = d;
	}
}

static __always_inline void hwol_commit_stats(struct hwol_flow **hits, __u64 len, __u64 now)
{
#pragma clang loop unroll(full)
	for (int i = 0; i < HWOL_MAX_PASSES; i++) {
		struct hwol_flow *f = hits[i];
		if (!f)
			break;
		__sync_fetch_and_add(&f->packets, 1);
		__sync_fetch_and_add(&f->bytes, len);
		f->used_ns = now;
	}
}

/*
 * Run the fast path on one packet. On HWOL_V_OUTPUT, *out_ifindex is the
 * device to send to. *reason is the HWOL_R_* code (also counted).
 */
static __always_inline int hwol_process(void *data, void *data_end, __u64 len, __u32 in_ifindex, __u16 hw_tpid,
					__u16 hw_tci, __u32 *out_ifindex, __u32 *reason)
{
	struct hwol_key key = {};
	struct hwol_lookup_ctx lc;
	/* Flows hit on each pass. Their counters are only bumped once the
	 * packet is done in the fast path, so a packet that misses on a later
	 * pass (and is counted by software) is not counted twice. */
	struct hwol_flow *hits[HWOL_MAX_PASSES] = {};
	__u64 now = bpf_ktime_get_ns();
	int r;

	__u32 *port = bpf_map_lookup_elem(&hwol_ifports, &in_ifindex);
	if (!port) {
		*reason = HWOL_R_MISS_NO_PORT;
		goto miss;
	}
	key.in_port = *port;
	r = hwol_parse(data, data_end, &key, hw_tpid, hw_tci);
	if (r) {
		*reason = r;
		goto miss;
	}

	for (int pass = 0; pass < HWOL_MAX_PASSES; pass++) {
		struct hwol_flow *f = hwol_lookup(&key, &lc);
		int recirc = 0;
		if (!f) {
			*reason = HWOL_R_MISS_FLOW;
			goto miss;
		}
		hits[pass] = f;
		for (int i = 0; i < HWOL_MAX_ACTIONS; i++) {
			if (i >= f->n_actions)
				break;
			struct hwol_action *a = &f->actions[i];
			if (a->type == HWOL_ACT_OUTPUT) {
				__u32 p = a->arg;
				__u32 *ifi = bpf_map_lookup_elem(&hwol_ports, &p);
				if (!ifi) {
					*reason = HWOL_R_DROP_OUT_PORT;
					hwol_count(*reason);
					hwol_commit_stats(hits, len, now);
					return HWOL_V_DROP;
				}
				*out_ifindex = *ifi;
				*reason = HWOL_R_FORWARDED;
				hwol_count(*reason);
				hwol_commit_stats(hits, len, now);
				return HWOL_V_OUTPUT;
			} else if (a->type == HWOL_ACT_CT) {
				r = hwol_ct_lookup(&key, a->arg, now);
				if (r) {
					*reason = r;
					goto miss;
				}
			} else if (a->type == HWOL_ACT_RECIRC) {
				key.recirc_id = a->arg;
				recirc = 1;
				break;
			} else if (a->type == HWOL_ACT_SET_ETH) {
				hwol_set_eth(data, data_end, &key, a);
			}
		}
		if (!recirc) {
			*reason = HWOL_R_DROP_ACTION;
			hwol_count(*reason);
			hwol_commit_stats(hits, len, now);
			return HWOL_V_DROP;
		}
	}
	*reason = HWOL_R_MISS_RECIRC;
miss:
	hwol_count(*reason);
	return HWOL_V_MISS;
}

#endif
