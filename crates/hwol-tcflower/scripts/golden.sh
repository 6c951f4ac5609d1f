#!/usr/bin/env bash
# Regenerate the golden netlink vectors in tests/vectors/mod.rs: run the real
# iproute2 `tc` for each rule and capture the RTM_*TFILTER message it sends
# (strace, sendmsg payload). The kernel need not have cls_flower: tc encodes
# the whole request before the kernel refuses it.
#
# Runs in a throwaway network namespace holding one veth pair, so the
# ifindexes are fixed: hwfa = 2 (the filter's device), hwfb = 3 (the mirred
# target). Needs root, iproute2 and strace. Prints Rust constants to stdout:
#   crates/hwol-tcflower/scripts/golden.sh > /tmp/vectors.rs
set -euo pipefail

NS="hwol-golden-$$"
cleanup() { ip netns del "$NS" 2>/dev/null || true; }
trap cleanup EXIT
ip netns add "$NS"
ip -n "$NS" link add hwfb type veth peer name hwfa   # the peer is created first: hwfa = 2
ip -n "$NS" link set hwfa up
ip -n "$NS" link set hwfb up
ip netns exec "$NS" tc qdisc add dev hwfa clsact
[ "$(ip netns exec "$NS" cat /sys/class/net/hwfa/ifindex)" = 2 ] && [ "$(ip netns exec "$NS" cat /sys/class/net/hwfb/ifindex)" = 3 ] || { echo "hwfa is not ifindex 2" >&2; exit 1; }

# to_rust NAME TITLE: turn strace hex-dump lines (` | 00000  94 00 ...  ascii |`)
# on stdin into a Rust byte-array constant.
to_rust() {
    echo "/// \`$2\`"
    echo "pub const $1: &[u8] = &["
    awk '{
        line = substr($0, 11, 49); gsub(/  +/, " ", line); sub(/^ /, "", line); sub(/ $/, "", line)
        k = split(line, b, " "); s = "   "
        for (i = 1; i <= k; i++) s = s " 0x" b[i] ","
        print s
    }'
    echo "];"
    echo
}

# capture NAME ARGS...: the RTM_* message tc sends for `tc ARGS`: the
# sendmsg buffer whose nlmsg_type is RTM_NEWTFILTER/DELTFILTER/GETTFILTER
# (0x2c/0x2d/0x2e) or RTM_NEWQDISC/DELQDISC (0x24/0x25), skipping tc's own
# link lookups.
capture() {
    local name="$1"; shift
    # tc fails on a kernel without cls_flower; its request is what counts.
    { ip netns exec "$NS" strace -e trace=sendmsg -e raw=sendmsg -e write=all -xx -s 65535 tc "$@" 2>&1 >/dev/null || true; } |
        awk '
        /\* [0-9]+ bytes in buffer/ { if (keep) exit; buf = "" }
        /^ \| [0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f]  / {
            if ($2 == "00000" && ($7 == "2c" || $7 == "2d" || $7 == "2e" || $7 == "24" || $7 == "25")) keep = 1
            buf = buf $0 "\n"
        }
        END { if (keep) printf "%s", buf }' | to_rust "$name" "tc $*"
}

# capture_ct NAME ARGS...: the ctnetlink message `conntrack ARGS` sends
# (conntrack-tools uses sendto and sends exactly one message).
capture_ct() {
    local name="$1"; shift
    { ip netns exec "$NS" strace -e trace=sendto -e raw=sendto -e write=all -xx -s 65535 conntrack "$@" 2>&1 >/dev/null || true; } |
        awk '/^sendto/ { n++ } n == 1 && /^ \| [0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f]  / { print }' |
        to_rust "$name" "conntrack $*"
}

F="filter add dev hwfa ingress"
capture L2_MIRRED $F protocol all prio 1 chain 0 handle 0x1 flower skip_sw dst_mac 02:00:00:00:00:02 src_mac 02:00:00:00:00:01 action mirred egress redirect dev hwfb
capture IPV4_5TUPLE $F protocol ip prio 2 chain 0 flower skip_hw ip_proto tcp src_ip 10.0.0.1 dst_ip 10.0.0.2/24 src_port 40000 dst_port 5201 action mirred egress redirect dev hwfb
capture CT_STATE_CHAIN $F protocol ip prio 3 chain 5 flower ct_state +trk+est-new ct_zone 7 ct_mark 0x2a/0xff action mirred egress redirect dev hwfb
capture CT_COMMIT_MARK $F protocol ip prio 4 chain 0 flower ip_proto tcp action ct commit zone 7 mark 0x2a/0xffffffff label 01000000000000000000000000000000/ff000000000000000000000000000000 pipe action goto chain 5
capture CT_GOTO_CHAIN $F protocol ip prio 4 chain 0 flower ip_proto tcp action ct zone 7 pipe action goto chain 5
capture PEDIT_ETH_CSUM $F protocol ip prio 5 chain 0 flower ip_proto udp action pedit ex munge eth dst set 02:00:00:00:00:09 munge ip ttl set 63 pipe action csum ip4h pipe action mirred egress redirect dev hwfb
capture VLAN_PUSH $F protocol all prio 6 chain 0 flower action vlan push id 100 priority 3 protocol 802.1Q pipe action mirred egress mirror dev hwfb pipe action mirred egress redirect dev hwfb
capture VLAN_POP $F protocol 802.1Q prio 7 chain 0 flower vlan_id 100 vlan_ethtype ip action vlan pop pipe action mirred egress redirect dev hwfb
capture DEL_FILTER filter del dev hwfa ingress protocol ip prio 2 handle 0x1 chain 0 flower
capture GET_FILTER filter get dev hwfa ingress protocol ip prio 2 handle 0x1 chain 0 flower
capture DUMP_FILTERS -s filter show dev hwfa ingress
capture QDISC_CLSACT qdisc add dev hwfa clsact
capture QDISC_CLSACT_DEL qdisc del dev hwfa clsact   # last: it removes the qdisc

capture_ct CT_INSERT_TCP -I -p tcp -s 198.51.100.1 -d 198.51.100.2 --sport 40000 --dport 5201 --state ESTABLISHED -t 432000 -w 7 -m 6 -u SEEN_REPLY,ASSURED
