#!/usr/bin/env bash
# The main job. Today: the seed's two-pod iperf3-style exchange through the
# in-memory software datapath, with OVS-format flow and conntrack dumps.
# (The real-interface demo on the emulated NIC arrives with the switch daemon.)
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/hwol-target}"
scripts/setup.sh >/dev/null
cargo run --release --locked -q -p hwol-datapath --example two_pods -- "$@"
