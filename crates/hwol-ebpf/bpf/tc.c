/* SPDX-License-Identifier: (GPL-2.0-only OR Apache-2.0) */
/*
 * tc.c - TC (tcx ingress) entry program for the representors.
 *
 * A hit is sent with bpf_redirect_peer() straight into the target
 * representor's peer (the pod's eth0), keeping GSO and checksum state.
 *
 * A miss must reach the slow path without the daemon reading the
 * representor (its AF_PACKET taps run before tc and would also see every
 * forwarded packet). So a miss gets an outer 802.1ad tag whose VID is the
 * ingress datapath port and is redirected to the egress of the upcall
 * device (hwol_cfg.upcall_ifindex), one end of a veth pair the daemon owns;
 * the daemon reads the other end. The receiving kernel moves the tag to
 * packet metadata, so the reader takes it from PACKET_AUXDATA.
 */
#include <linux/pkt_cls.h>
#include "fastpath.h"

SEC("classifier")
int hwol_tc(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	__u32 out = 0, reason = 0, zero = 0;
	__u16 tpid = 0, tci = 0;

	if (skb->vlan_present) {
		tpid = bpf_ntohs((__u16)skb->vlan_proto);
		tci = skb->vlan_tci;
	}
	int v = hwol_process(data, data_end, skb->len, skb->ingress_ifindex, tpid, tci, &out, &reason);
	if (v == HWOL_V_OUTPUT)
		return bpf_redirect_peer(out, 0);
	if (v == HWOL_V_DROP)
		return TC_ACT_SHOT;

	struct hwol_cfg *cfg = bpf_map_lookup_elem(&hwol_cfg, &zero);
	if (!cfg || !cfg->upcall_ifindex) {
		hwol_count(HWOL_R_MISS_NO_UPCALL);
		return TC_ACT_OK;
	}
	__u32 in_ifindex = skb->ingress_ifindex;
	__u32 *port = bpf_map_lookup_elem(&hwol_ifports, &in_ifindex);
	if (!port || *port > 0xfff || bpf_skb_vlan_push(skb, bpf_htons(HWOL_UPCALL_TPID), *port) != 0) {
		hwol_count(HWOL_R_DROP_UPCALL);
		return TC_ACT_SHOT;
	}
	return bpf_redirect(cfg->upcall_ifindex, 0);
}

char _license[] SEC("license") = "GPL";
