#!/usr/bin/env bash
# Two pods through the switch: iperf3 and a connection loop between two
# network namespaces joined six ways (direct veth, Linux bridge, OVS 3.1
# userspace datapath with conntrack, hwol-vswitchd software / XDP / TC),
# interleaved and repeated in one run. Writes the "Two pods through the
# switch" section of docs/benchmarks.md, docs/bench-net.png, and the raw
# per-run numbers to a TSV under /tmp (path printed). The logic is in
# scripts/bench_net.py.
#
# Usage: scripts/bench-net.sh                 (as root; ~12 min on 2 cores)
#        QUICK=1 scripts/bench-net.sh         smoke run: short tests, 1 round
#        BENCH_SECONDS=10 BENCH_ROUNDS=3      TCP test length and rounds (defaults)
#        BENCH_MODES=direct,ovs,hwol-sw       a subset of the modes
#        BENCH_SKIP_BUILD=1                   use the binaries already built
#
# Everything it creates is named hwb<pid>...; it is all removed on exit, also
# on failure or Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" -ne 0 ]; then
    echo "bench-net.sh: needs root (network namespaces, XDP, OVS); run it with sudo" >&2
    exit 1
fi
for tool in iperf3 ethtool ovsdb-tool ovsdb-server ovs-vswitchd ovs-vsctl ovs-ofctl ovs-appctl python3; do
    command -v "$tool" >/dev/null || { echo "bench-net.sh: $tool not found (scripts/setup.sh installs it)" >&2; exit 1; }
done
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/hwol-target}"
PREFIX="hwb$$"

if [ "${BENCH_SKIP_BUILD:-0}" != 1 ]; then
    echo "== build (release)"
    cargo build --release --locked -q -p hwol-cli -p hwol-vswitchd
fi

# matplotlib for the chart, in a venv of our own; without it the table is
# still written and the report says the chart was skipped.
PY=python3
VENV="${BENCH_VENV:-$HOME/.cache/hwol-bench-venv}"
if [ -x "$VENV/bin/python" ] && "$VENV/bin/python" -c 'import matplotlib' 2>/dev/null; then
    PY="$VENV/bin/python"
elif python3 -m venv "$VENV" >/dev/null 2>&1 && "$VENV/bin/pip" install -q matplotlib >/dev/null 2>&1; then
    PY="$VENV/bin/python"
else
    echo "bench-net.sh: could not install matplotlib; the chart will be skipped" >&2
fi

cleanup() {
    "$PY" scripts/bench_net.py cleanup --prefix "$PREFIX" || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM

"$PY" scripts/bench_net.py run --prefix "$PREFIX" \
    --hwol "$CARGO_TARGET_DIR/release/hwol" --vswitchd "$CARGO_TARGET_DIR/release/hwol-vswitchd" \
    --doc docs/benchmarks.md --png docs/bench-net.png
