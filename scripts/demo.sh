#!/usr/bin/env bash
# The seed's acceptance check, on the emulated NIC:
#
#   1. an emulated SR-IOV NIC with two VFs; each VF goes into a pod (a
#      network namespace) as eth0, its representor stays on the host;
#   2. hwol-vswitchd attaches both representors, loads the pod pipeline and
#      offloads megaflows (and established connections) to the XDP fast path;
#   3. iperf3 runs from pod2 to pod1 for $DEMO_SECONDS seconds (default 10)
#      while tcpdump captures TCP on pod1's representor;
#   4. prints the capture (only the connection set-up: everything after it is
#      forwarded by XDP before the kernel's packet taps), then
#      `ovs-appctl dpctl/dump-flows --names type=offloaded`, then a verdict:
#      how many packets took the slow path out of the total.
#
# Usage: scripts/demo.sh            (as root; installs what it needs)
#        DEMO_PROVIDER=none scripts/demo.sh   # software datapath only
#        DEMO_PROVIDER=tc scripts/demo.sh     # TC fast path: keeps GSO, so it is
#            much faster, but tcpdump on a representor then sees every packet
#            (packet taps run before TC ingress); the seed's tcpdump check is
#            an XDP property, hence the default.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/hwol-target}"
SECONDS_RUN="${DEMO_SECONDS:-10}"
PROVIDER="${DEMO_PROVIDER:-xdp}"
P="${DEMO_PREFIX:-hwdemo}"
RUN="$(mktemp -d /tmp/hwol-demo.XXXXXX)"
export OVS_RUNDIR="$RUN"

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

if [ "$(id -u)" -ne 0 ]; then
    echo "demo.sh: needs root (network namespaces, XDP); run it with sudo" >&2
    exit 1
fi

PROFILE="${DEMO_PROFILE:-release}"   # the system test uses "debug" (already built)
say "setup: packages and build ($PROFILE)"
if [ "${DEMO_SKIP_SETUP:-0}" != 1 ]; then
    scripts/setup.sh >/dev/null
    if [ "$PROFILE" = release ]; then
        cargo build --release --locked -q -p hwol-cli -p hwol-vswitchd
    else
        cargo build --locked -q -p hwol-cli -p hwol-vswitchd
    fi
fi
HWOL="$CARGO_TARGET_DIR/$PROFILE/hwol"
VSWITCHD="$CARGO_TARGET_DIR/$PROFILE/hwol-vswitchd"

cleanup() {
    set +e
    [ -n "${TCPDUMP_PID:-}" ] && kill "$TCPDUMP_PID" 2>/dev/null
    ip netns exec "$P-pod1" pkill -f "iperf3 -s" 2>/dev/null
    if [ -n "${DAEMON_PID:-}" ]; then
        ovs-appctl -t hwol-vswitchd exit >/dev/null 2>&1 || kill "$DAEMON_PID" 2>/dev/null
        wait "$DAEMON_PID" 2>/dev/null
    fi
    "$HWOL" nic emulate destroy --prefix "$P" >/dev/null 2>&1
    rm -rf "$RUN"
}
trap cleanup EXIT
# Leftovers of an interrupted earlier run.
"$HWOL" nic emulate destroy --prefix "$P" >/dev/null 2>&1 || true

say "emulated NIC: 2 VFs, two pods"
"$HWOL" nic emulate create --prefix "$P" --vfs 2
"$HWOL" nic emulate attach --prefix "$P" --vf 0 --netns "$P-pod1" --ip 192.168.1.16/24 --mac 42:66:d7:45:0d:7e
"$HWOL" nic emulate attach --prefix "$P" --vf 1 --netns "$P-pod2" --ip 192.168.1.17/24 --mac 16:fd:c6:0b:60:52
REP1="${P}r0"
REP2="${P}r1"
if [ "$PROVIDER" = xdp ] || [ "$PROVIDER" = xdp-generic ]; then
    # XDP on a veth: the receiving pod end must run NAPI (GRO on does it), and
    # XDP drops checksum offload, so the pods compute their own checksums.
    for pod in "$P-pod1" "$P-pod2"; do
        ip netns exec "$pod" ethtool -K eth0 gro on tx off >/dev/null
    done
fi

say "pod pipeline (hwol pipeline)"
"$HWOL" pipeline --subnet 192.168.1.0/24 \
    --gateway gw0:3:0a:58:c0:a8:01:01:192.168.1.1 \
    --pod "$REP1:1:42:66:d7:45:0d:7e:192.168.1.16" \
    --pod "$REP2:2:16:fd:c6:0b:60:52:192.168.1.17" > "$RUN/flows.txt"
echo "$(wc -l < "$RUN/flows.txt") flows"
cat > "$RUN/hwol.toml" <<CONF
flows = "$RUN/flows.txt"
[offload]
provider = "$PROVIDER"
instance = "$P"
[[port]]
name = "$REP1"
ofport = 1
[[port]]
name = "$REP2"
ofport = 2
CONF

start_daemon() {
    "$VSWITCHD" --config "$RUN/hwol.toml" --rundir "$RUN" --log warn &
    DAEMON_PID=$!
    for _ in $(seq 50); do ovs-appctl -t hwol-vswitchd version >/dev/null 2>&1 && break; sleep 0.1; done
    ovs-appctl -t hwol-vswitchd version
}
say "hwol-vswitchd (offload provider: $PROVIDER)"
start_daemon

say "iperf3 pod2 -> pod1 for ${SECONDS_RUN}s, tcpdump on pod1's representor $REP1"
tcpdump -i "$REP1" -n -w "$RUN/rep1.pcap" tcp 2>/dev/null &
TCPDUMP_PID=$!
ip netns exec "$P-pod1" iperf3 -s -D -1 >/dev/null
sleep 0.5
if [ "${DEMO_RESTART:-0}" = 1 ]; then
    # Restart without loss: SIGKILL the daemon mid-transfer, start it again.
    ip netns exec "$P-pod2" iperf3 -c 192.168.1.16 -t "$SECONDS_RUN" -J > "$RUN/iperf.json" &
    IPERF_PID=$!
    sleep 2
    say "kill -9 hwol-vswitchd mid-transfer; the fast path keeps forwarding"
    kill -9 "$DAEMON_PID"; wait "$DAEMON_PID" 2>/dev/null || true
    sleep 1
    say "hwol-vswitchd restarted: it adopts the fast path's flows and connections"
    start_daemon
    wait "$IPERF_PID"
    # Adopted state must serve new work too, not only the flows it carried:
    # a new connection crosses the adopted ct()+recirc megaflow and then
    # needs an upcall in the restored recirc id.
    say "a new connection after the restart (a fresh iperf3 for 1 s)"
    ip netns exec "$P-pod1" iperf3 -s -D -1 -p 5202 >/dev/null
    sleep 0.3
    if ip netns exec "$P-pod2" iperf3 -c 192.168.1.16 -p 5202 -t 1 --connect-timeout 3000 -J > "$RUN/iperf-new.json"; then
        python3 -c 'import json, sys; g = json.load(open(sys.argv[1]))["end"]["sum_received"]["bits_per_second"] / 1e9; print("new connection after the restart: %.2f Gbit/s" % g)' "$RUN/iperf-new.json"
    else
        echo "new connection after the restart: FAILED ($(head -c 300 "$RUN/iperf-new.json"))"
    fi
else
    ip netns exec "$P-pod2" iperf3 -c 192.168.1.16 -t "$SECONDS_RUN" -J > "$RUN/iperf.json"
fi
sleep 0.7   # one revalidation round merges the last fast-path counters
kill "$TCPDUMP_PID"; wait "$TCPDUMP_PID" 2>/dev/null || true; TCPDUMP_PID=

say "tcpdump -i $REP1 tcp"
tcpdump -r "$RUN/rep1.pcap" -n 2>/dev/null | head -40 || true
CAPTURED=$(tcpdump -r "$RUN/rep1.pcap" -n 2>/dev/null | wc -l)

say "ovs-appctl dpctl/dump-flows --names type=offloaded"
ovs-appctl -t hwol-vswitchd dpctl/dump-flows --names type=offloaded

say "ovs-appctl dpctl/dump-conntrack"
ovs-appctl -t hwol-vswitchd dpctl/dump-conntrack

say "ovs-appctl dpctl/offload-stats-show"
ovs-appctl -t hwol-vswitchd dpctl/offload-stats-show

say "verdict"
python3 - "$RUN/iperf.json" <<PY
import json, re, subprocess, sys
j = json.load(open(sys.argv[1]))
gbps = j["end"]["sum_received"]["bits_per_second"] / 1e9
show = subprocess.run(["ovs-appctl", "-t", "hwol-vswitchd", "dpctl/show"], capture_output=True, text=True).stdout
m = re.search(r"lookups: hit:(\d+) missed:(\d+)", show)
slow = int(m.group(1)) + int(m.group(2)) if m else -1
flows = subprocess.run(["ovs-appctl", "-t", "hwol-vswitchd", "dpctl/dump-flows", "type=all"], capture_output=True, text=True).stdout
# Every packet passes the recirc_id(0) flows once; their counters (software
# + fast path, merged) are the total number of packets.
total = sum(int(p) for line in flows.splitlines() if line.startswith("recirc_id(0)")
            for p in re.findall(r"packets:(\d+)", line))
# The software datapath does two lookups per TCP packet (ct + recirc).
slow_pkts = slow // 2 if slow >= 0 else -1
pct = 100.0 * slow_pkts / total if total else 100.0
print(f"iperf3: {gbps:.2f} Gbit/s; tcpdump on the representor saw $CAPTURED packets")
per_s = [iv["sum"]["bits_per_second"] / 1e9 for iv in j["intervals"]]
print("per-second Gbit/s: " + " ".join(f"{x:.2f}" for x in per_s))
print(f"slowest second: {min(per_s):.2f} Gbit/s")
print(f"slow path: {slow_pkts} of {total} packets ({pct:.3f}%), fast path: {100 - pct:.3f}%")
PY
