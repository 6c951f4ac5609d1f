/* SPDX-License-Identifier: (GPL-2.0-only OR Apache-2.0) */
/*
 * xdp.c - XDP entry programs.
 *
 * hwol_xdp runs on the representors (host ends): a hit is redirected to the
 * target port's device; a miss is XDP_PASSed so that the daemon's AF_PACKET
 * socket on the representor sees it (XDP runs before taps, so it sees
 * nothing else).
 *
 * hwol_xdp_pass runs on the pod-side peers: a veth only accepts
 * ndo_xdp_xmit frames when its peer runs NAPI, which an XDP program enables.
 */
#include "fastpath.h"

SEC("xdp")
int hwol_xdp(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u32 out = 0, reason = 0;

	int v = hwol_process(data, data_end, (__u64)(data_end - data), ctx->ingress_ifindex, 0, 0, &out, &reason);
	if (v == HWOL_V_OUTPUT)
		return bpf_redirect(out, 0);
	if (v == HWOL_V_DROP)
		return XDP_DROP;
	return XDP_PASS;
}

SEC("xdp")
int hwol_xdp_pass(struct xdp_md *ctx)
{
	return XDP_PASS;
}

char _license[] SEC("license") = "GPL";
