#!/bin/sh
# Runs inside the VM as part of /init (busybox sh). Prints one line per
# check: "PASS name", "FAIL name" (followed by the evidence, indented) or
# "PENDING name: why". tests/vm/run.sh counts them.
#
# Debian's busybox runs its own applets before $PATH: make sure the real
# iproute2/kmod tools are used.
for c in ip tc devlink ethtool; do eval "$c() { /usr/sbin/$c \"\$@\"; }"; done
modprobe() { /sbin/modprobe "$@"; }
export PATH=/usr/sbin:/usr/bin:/sbin:/bin

pass() { echo "PASS $*"; }
fail() { echo "FAIL $*"; sed 's/^/    | /' /tmp/evidence 2>/dev/null | head -40; }
# check NAME CMD...: PASS if CMD succeeds; its output is the evidence.
check() {
    name=$1; shift
    if "$@" > /tmp/evidence 2>&1; then pass "$name"; else fail "$name"; fi
}
show() { echo "--- $*"; "$@" 2>&1 | sed 's/^/    /'; }

echo "=== kernel $(uname -r)"
modprobe netdevsim || { echo "FAIL modprobe netdevsim"; exit 0; }
echo "10 1" > /sys/bus/netdevsim/new_device
sleep 0.3
PF=$(ls /sys/bus/netdevsim/devices/netdevsim10/net/)
echo "=== netdevsim10, PF netdev $PF"

mkdir -p /tmp/fixtures
sh /record.sh /tmp/fixtures/nsim-fresh "$PF"

# --- 1. dry run: the plan, nothing changed ------------------------------
hwol nic setup --pf "$PF" --vfs 4 --dry-run > /tmp/dry.out 2>&1
cat /tmp/dry.out
dry_ok() {
    cat /tmp/dry.out
    grep -q '\[do\] set sriov_numvfs to 4' /tmp/dry.out &&
        grep -q '\[do\] set the eswitch mode to switchdev' /tmp/dry.out &&
        [ "$(cat /sys/bus/netdevsim/devices/netdevsim10/sriov_numvfs)" = 0 ]
}
check "nic-setup-dry-run (plan printed, sriov_numvfs still 0)" dry_ok

# --- 2. nic setup with 4 VFs --------------------------------------------
T=$(cut -d' ' -f1 /proc/uptime)
hwol nic setup --pf "$PF" --vfs 4 > /tmp/setup1.out 2> /tmp/setup1.err
RC=$?
echo "--- hwol nic setup --pf $PF --vfs 4 (rc $RC, started at uptime ${T}s)"
sed 's/^/    /' /tmp/setup1.err /tmp/setup1.out
setup_ok() {
    cat /tmp/setup1.err /tmp/setup1.out
    [ "$RC" = 0 ] || return 1
    # The kernel agrees: 4 VFs, switchdev, hw-tc-offload on, 4 pcivf ports.
    [ "$(cat /sys/bus/netdevsim/devices/netdevsim10/sriov_numvfs)" = 4 ] || { echo "numvfs != 4"; return 1; }
    devlink dev eswitch show netdevsim/netdevsim10 | grep -q 'mode switchdev' || { echo "not switchdev"; return 1; }
    ethtool -k "$PF" | grep -q 'hw-tc-offload: on' || { echo "hw-tc-offload off on $PF"; return 1; }
    [ "$(devlink port show | grep -c 'flavour pcivf')" = 4 ] || { echo "not 4 pcivf ports"; return 1; }
    # The table has 4 rows with a representor each.
    [ "$(awk 'NR>1 && $4 != "-"' /tmp/setup1.out | wc -l)" = 4 ]
}
check "nic-setup (4 VFs, switchdev, hw-tc-offload on, table)" setup_ok
show devlink port show

# --- 3. representor discovery -------------------------------------------
hwol nic status --pf "$PF" > /tmp/status.out 2>&1
cat /tmp/status.out
status_ok() {
    cat /tmp/status.out
    for vf in 0 1 2 3; do
        # The kernel's view: the netdev whose phys_port_name is pf0vf<N>...
        want=""
        for n in /sys/class/net/*; do
            [ "$(cat $n/phys_port_name 2>/dev/null)" = "pf0vf$vf" ] && want=$(basename $n)
        done
        # ...and devlink's: the pcivf port with vfnum <N>.
        dl=$(devlink port show | awk -v vf=$vf '/flavour pcivf/ { for (i=1;i<NF;i++) { if ($i=="netdev") n=$(i+1); if ($i=="vfnum") v=$(i+1) } if (v==vf) print n }')
        got=$(awk -v vf=$vf 'NR>2 && $1==vf {print $4}' /tmp/status.out)
        echo "VF $vf: hwol $got, sysfs $want, devlink $dl"
        [ -n "$got" ] && [ "$got" = "$want" ] && [ "$got" = "$dl" ] || return 1
        ethtool -k "$got" | grep -q 'hw-tc-offload: on' || { echo "hw-tc-offload off on $got"; return 1; }
    done
}
check "representor-discovery (hwol nic status = phys_port_name = devlink pcivf ports)" status_ok
sh /record.sh /tmp/fixtures/nsim-switchdev "$PF"

# --- 4. idempotence -----------------------------------------------------
before=$(for n in /sys/class/net/*; do echo "$(basename $n):$(cat $n/ifindex)"; done)
hwol nic setup --pf "$PF" --vfs 4 > /tmp/setup2.out 2>&1
RC2=$?
cat /tmp/setup2.out
idem_ok() {
    cat /tmp/setup2.out
    after=$(for n in /sys/class/net/*; do echo "$(basename $n):$(cat $n/ifindex)"; done)
    [ "$RC2" = 0 ] && grep -q "nothing to do" /tmp/setup2.out && [ "$(grep -c '\[ok\]' /tmp/setup2.out)" = 9 ] &&
        [ "$before" = "$after" ]
}
check "nic-setup-idempotent (nothing to do, 9 steps ok, no netdev recreated)" idem_ok

# --- 5. resize: 4 -> 2 goes through 0 -----------------------------------
hwol nic setup --pf "$PF" --vfs 2 > /tmp/setup3.out 2> /tmp/setup3.err
RC3=$?
resize_ok() {
    cat /tmp/setup3.err /tmp/setup3.out
    [ "$RC3" = 0 ] && [ "$(cat /sys/bus/netdevsim/devices/netdevsim10/sriov_numvfs)" = 2 ] &&
        [ "$(awk 'NR>1 && $4 != "-"' /tmp/setup3.out | wc -l)" = 2 ]
}
check "nic-setup-resize (4 -> 2 VFs through 0)" resize_ok
hwol nic setup --pf "$PF" --vfs 4 > /tmp/setup4.out 2> /tmp/setup4.err ||
    { echo "FAIL nic-setup back to 4"; cat /tmp/setup4.err /tmp/setup4.out; }

# --- 6. hwol-vswitchd with the flower provider on the representors -------
REP0=$(awk 'NR>1 && $1==0 {print $4}' /tmp/setup4.out)
REP1=$(awk 'NR>1 && $1==1 {print $4}' /tmp/setup4.out)
mkdir -p /run/hwol
printf '[offload]\nprovider = "flower"\n' > /run/hwol/probe.toml
# A daemon without the provider refuses the config at once, naming the key.
if timeout 3 hwol-vswitchd --config /run/hwol/probe.toml --rundir /run/hwol-probe --log error 2>&1 </dev/null |
    grep -q 'offload.provider'; then
    FLOWER=0
else
    FLOWER=1
fi
pkill_ours() { [ -n "${DPID:-}" ] && kill "$DPID" 2>/dev/null; DPID=; }

if [ "$FLOWER" = 0 ]; then
    echo "PENDING flower-offload: this hwol-vswitchd has no offload provider \"flower\" (hwol-tcflower not wired in yet)"
else
    # Pods: the two ports of a second netdevsim device, each in a namespace
    # and wired to a VF representor (the patched netdevsim's link_device).
    echo "11 2" > /sys/bus/netdevsim/new_device; sleep 0.3
    set -- $(ls /sys/bus/netdevsim/devices/netdevsim11/net/)
    POD1=$1; POD2=$2
    ip netns add pod1; ip netns add pod2
    ip link set "$POD1" netns pod1; ip link set "$POD2" netns pod2
    exec 5</proc/self/ns/net 6</run/netns/pod1 7</run/netns/pod2
    echo "6:$(ip netns exec pod1 cat /sys/class/net/$POD1/ifindex) 5:$(cat /sys/class/net/$REP0/ifindex)" > /sys/bus/netdevsim/link_device
    echo "7:$(ip netns exec pod2 cat /sys/class/net/$POD2/ifindex) 5:$(cat /sys/class/net/$REP1/ifindex)" > /sys/bus/netdevsim/link_device
    M1=$(ip netns exec pod1 cat /sys/class/net/$POD1/address); M2=$(ip netns exec pod2 cat /sys/class/net/$POD2/address)
    ip -n pod1 addr add 192.168.1.16/24 dev "$POD1"; ip -n pod1 link set "$POD1" up; ip -n pod1 link set lo up
    ip -n pod2 addr add 192.168.1.17/24 dev "$POD2"; ip -n pod2 link set "$POD2" up; ip -n pod2 link set lo up
    ip link set "$REP0" up; ip link set "$REP1" up
    hwol pipeline --subnet 192.168.1.0/24 --gateway gw0:3:0a:58:c0:a8:01:01:192.168.1.1 \
        --pod "$REP0:1:$M1:192.168.1.16" --pod "$REP1:2:$M2:192.168.1.17" > /run/hwol/flows.txt
    cat > /run/hwol/hwol.toml <<CONF
flows = "/run/hwol/flows.txt"
[offload]
provider = "flower"
[[port]]
name = "$REP0"
ofport = 1
[[port]]
name = "$REP1"
ofport = 2
CONF
    export OVS_RUNDIR=/run/hwol
    hwol-vswitchd --config /run/hwol/hwol.toml --rundir /run/hwol --log warn > /tmp/daemon.log 2>&1 &
    DPID=$!
    for i in $(seq 50); do ovs-appctl -t hwol-vswitchd version >/dev/null 2>&1 && break; sleep 0.2; done
    check "vswitchd-flower-started" ovs-appctl -t hwol-vswitchd version
    check "traffic-ping (pod1 -> pod2 through the representors)" ip netns exec pod1 ping -c 5 -i 0.2 -W 2 192.168.1.17
    # The server keeps its stdin open: busybox nc closes its side at stdin EOF,
    # and the client quits at that FIN, dropping what it has not sent yet.
    (sleep 30 | ip netns exec pod2 nc -l -p 5000 > /tmp/recv.txt &)
    sleep 0.3
    ip netns exec pod1 sh -c 'yes hello | head -n 20000 | nc -w 2 192.168.1.17 5000'
    echo "nc client exit $?, server received $(wc -c < /tmp/recv.txt) bytes"
    sleep 1
    check "traffic-tcp (20000 lines through the switch)" sh -c '[ "$(wc -l < /tmp/recv.txt)" = 20000 ]'
    sleep 1
    ovs-appctl -t hwol-vswitchd dpctl/dump-flows -m > /tmp/flows.out 2>&1
    cat /tmp/flows.out
    check "dump-flows (offloaded:yes, dp:tc)" sh -c 'cat /tmp/flows.out; grep "offloaded:yes" /tmp/flows.out | grep -q "dp:tc"'
    tc -s filter show dev "$REP0" ingress > /tmp/tc0.out 2>&1
    tc -s filter show dev "$REP1" ingress >> /tmp/tc0.out 2>&1
    cat /tmp/tc0.out
    tc_ok() {
        cat /tmp/tc0.out
        grep -q in_hw /tmp/tc0.out || return 1
        # Some rule counted packets: "Sent N bytes M pkt" with M > 0.
        grep -E 'Sent [0-9]+ bytes [1-9][0-9]* pkt' /tmp/tc0.out
    }
    check "tc-filters (in_hw, with counters)" tc_ok
    # Restart after a crash: the journal lets the next daemon take the
    # filters over (same place and handle) instead of flushing them.
    hwol_filters() {
        for dev in "$REP0" "$REP1"; do
            tc filter show dev "$dev" ingress | grep -oE 'pref [0-9]+ flower chain [0-9]+ handle 0x[0-9a-f]+' |
                awk -v d="$dev" '$2 >= 16384 && $2 < 65535 {print d, $0}'
        done | sort
    }
    sleep 1   # a stats poll writes the journal
    hwol_filters > /tmp/filters.before
    kill -9 "$DPID"; wait "$DPID" 2>/dev/null; DPID=
    hwol-vswitchd --config /run/hwol/hwol.toml --rundir /run/hwol --log warn >> /tmp/daemon.log 2>&1 &
    DPID=$!
    for i in $(seq 50); do ovs-appctl -t hwol-vswitchd version >/dev/null 2>&1 && break; sleep 0.2; done
    ovs-appctl -t hwol-vswitchd dpctl/dump-flows -m > /tmp/flows.adopted 2>&1
    hwol_filters > /tmp/filters.after
    adopt_ok() {
        echo "journal:"; cat /run/hwol/hwol-vswitchd.flower
        echo "before:"; cat /tmp/filters.before; echo "after:"; cat /tmp/filters.after
        echo "adopted flows:"; cat /tmp/flows.adopted
        [ -s /tmp/filters.before ] && cmp -s /tmp/filters.before /tmp/filters.after &&
            grep "offloaded:yes" /tmp/flows.adopted | grep -q "dp:tc"
    }
    check "flower-restart-adopts (kill -9, restart: same filters and handles, flows offloaded)" adopt_ok
    show cat /tmp/filters.after
    (sleep 30 | ip netns exec pod2 nc -l -p 5001 > /tmp/recv2.txt &)
    sleep 0.3
    ip netns exec pod1 sh -c 'yes again | head -n 5000 | nc -w 2 192.168.1.17 5001'
    sleep 1
    check "traffic-after-restart (a new connection, 5000 lines)" sh -c '[ "$(wc -l < /tmp/recv2.txt)" = 5000 ]'
    show cat /tmp/daemon.log
    # A clean stop takes the filters and the clsact qdiscs hwol added with
    # it (the restarted daemon knows them from the journal).
    kill "$DPID"; wait "$DPID" 2>/dev/null; DPID=
    clean_ok() {
        for d in "$REP0" "$REP1"; do tc qdisc show dev "$d"; tc filter show dev "$d" ingress; done
        ! tc qdisc show dev "$REP0" | grep -q clsact && ! tc qdisc show dev "$REP1" | grep -q clsact &&
            [ ! -e /run/hwol/hwol-vswitchd.flower ]
    }
    check "clean-stop (filters, clsact qdiscs and journal removed)" clean_ok
fi

# --- the recorded sysfs trees, for crates/hwol-nic/tests/fixtures -------
echo "hwol-vm: fixtures begin"
tar -czf - -C /tmp/fixtures $(ls /tmp/fixtures) | base64
echo "hwol-vm: fixtures end"
