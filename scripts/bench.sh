#!/usr/bin/env bash
# Run every benchmark and regenerate the measured tables in docs/benchmarks.md.
#
#   scripts/bench.sh                 # full criterion runs (about 10 minutes)
#   QUICK=1 scripts/bench.sh         # shorter measurement, noisier numbers
#
# Peers (the naive linear-scan reference) are measured in the same run, and
# docs/benchmarks.md reports ratios against them.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/hwol-target}"

args=()
if [ "${QUICK:-0}" = 1 ]; then
    args=(--warm-up-time 1 --measurement-time 3)
fi
rm -rf "$CARGO_TARGET_DIR/criterion"
for bench in "hwol-flow:extract" "hwol-classifier:classifier" "hwol-conntrack:conntrack" "hwol-datapath:datapath" "hwol-ofproto:ofproto"; do
    pkg="${bench%%:*}"; name="${bench##*:}"
    echo "==> cargo bench -p $pkg --bench $name"
    cargo bench -p "$pkg" --bench "$name" -- "${args[@]}"
done
python3 scripts/bench_report.py "$CARGO_TARGET_DIR/criterion" docs/benchmarks.md
echo "==> wrote docs/benchmarks.md"
