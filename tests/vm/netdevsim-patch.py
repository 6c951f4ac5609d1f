#!/usr/bin/env python3
"""Patch Debian 6.12's netdevsim/netdev.c for the hwol VM testbed.

1. Flower "offload": netdevsim's tc block callback only takes cls_bpf. With
   this patch it also accepts flower rules (replace/destroy/stats) on a
   netdev with hw-tc-offload on, so `tc filter show` reports them `in_hw`
   while the packets keep going through the software classifier. Nothing is
   programmed anywhere: it exercises the offload *control* path (what a real
   switchdev driver sees), not a datapath.
2. VF representors that carry packets: 6.12 netdevsim can pair two PF ports
   (/sys/bus/netdevsim/link_device) so that a frame sent on one is received
   on the other. VF representors use a reduced ops table without queues, so
   they cannot be paired. The patch gives them rx queues, open/stop and
   get_iflink, and lets link_device accept them, so a "pod" netdev (a port
   of a second netdevsim device, moved into a namespace) can be wired to a
   VF representor like a VF is to its representor on a real NIC.

Usage: netdevsim-patch.py SRC_NETDEV_C DST_NETDEV_C
Every edit asserts that its anchor is found exactly once, so a kernel
update that moves things fails loudly here instead of building a module
that silently lacks the behaviour.
"""
import sys

src, dst = sys.argv[1], sys.argv[2]
text = open(src).read()


def edit(anchor, replacement):
    global text
    n = text.count(anchor)
    if n != 1:
        sys.exit(f"netdevsim-patch: anchor found {n} times (want 1): {anchor[:60]!r}")
    text = text.replace(anchor, replacement)


FLOWER = """static int
nsim_setup_tc_block_cb(enum tc_setup_type type, void *type_data, void *cb_priv)
{
	/* hwol VM testbed: accept flower rules as if a NIC had taken them. */
	if (type == TC_SETUP_CLSFLOWER) {
		struct flow_cls_offload *cls = type_data;
		struct netdevsim *ns = cb_priv;

		if (!tc_can_offload(ns->netdev))
			return -EOPNOTSUPP;
		switch (cls->command) {
		case FLOW_CLS_REPLACE:
			netdev_dbg(ns->netdev, "hwol-nsim: flower add chain %u prio %u\\n",
				   cls->common.chain_index, cls->common.prio);
			return 0;
		case FLOW_CLS_DESTROY:
		case FLOW_CLS_STATS:
			return 0;
		default:
			return -EOPNOTSUPP;
		}
	}
	return nsim_bpf_setup_tc_block_cb(type, type_data, cb_priv);
}"""

edit("""static int
nsim_setup_tc_block_cb(enum tc_setup_type type, void *type_data, void *cb_priv)
{
	return nsim_bpf_setup_tc_block_cb(type, type_data, cb_priv);
}""", FLOWER)

# VF representor ops: add open/stop/get_iflink (the PF table's functions).
edit("""	.ndo_setup_tc		= nsim_setup_tc,
	.ndo_set_features	= nsim_set_features,
};

/* We don't have true per-queue stats""", """	.ndo_setup_tc		= nsim_setup_tc,
	.ndo_set_features	= nsim_set_features,
	.ndo_get_iflink		= nsim_get_iflink,
	.ndo_open		= nsim_open,
	.ndo_stop		= nsim_stop,
};

/* We don't have true per-queue stats""")

# VF representors get rx queues before registration...
edit("""	ns->netdev->netdev_ops = &nsim_vf_netdev_ops;
	rtnl_lock();
	err = register_netdevice(ns->netdev);
	rtnl_unlock();
	return err;""", """	ns->netdev->netdev_ops = &nsim_vf_netdev_ops;
	rtnl_lock();
	err = nsim_queue_init(ns);
	if (!err) {
		err = register_netdevice(ns->netdev);
		if (err)
			nsim_queue_free(ns);
	}
	rtnl_unlock();
	return err;""")

# ...and free them on destroy (the PF branch already does).
edit("""		nsim_bpf_uninit(ns);
		nsim_queue_free(ns);
	}
	rtnl_unlock();""", """		nsim_bpf_uninit(ns);
		nsim_queue_free(ns);
	} else {
		nsim_queue_free(ns);
	}
	rtnl_unlock();""")

# link_device accepts VF representors.
edit("""	return dev->netdev_ops == &nsim_netdev_ops;""",
     """	return dev->netdev_ops == &nsim_netdev_ops ||
	       dev->netdev_ops == &nsim_vf_netdev_ops;""")

open(dst, "w").write(text)
