#!/usr/bin/env python3
"""Turn criterion's results into the measured section of docs/benchmarks.md.

Usage: bench_report.py <criterion-dir> <benchmarks.md>

Reads every `new/benchmark.json` + `new/estimates.json` under the criterion
directory and replaces the text between the BEGIN/END MEASURED markers in the
markdown file with:
  - a table of every benchmark's median time per iteration, and
  - ratio tables: tuple-space search against the linear reference measured
    in the same run, and how TSS time changes from 1k to 100k flows.
"""
import json
import os
import platform
import re
import subprocess
import sys
from datetime import datetime, timezone

BEGIN = "<!-- BEGIN MEASURED (scripts/bench.sh writes this) -->"
END = "<!-- END MEASURED -->"


def load(root):
    out = {}
    for dirpath, _dirs, files in os.walk(root):
        if os.path.basename(dirpath) != "new" or "benchmark.json" not in files:
            continue
        with open(os.path.join(dirpath, "benchmark.json")) as f:
            bid = json.load(f)["full_id"]
        with open(os.path.join(dirpath, "estimates.json")) as f:
            est = json.load(f)
        out[bid] = est["median"]["point_estimate"]
    return out


def fmt_ns(ns):
    if ns >= 1e6:
        return f"{ns / 1e6:.2f} ms"
    if ns >= 1e3:
        return f"{ns / 1e3:.2f} µs"
    return f"{ns:.1f} ns"


def machine():
    cpu = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        rustc = subprocess.run(["rustc", "--version"], capture_output=True, text=True).stdout.strip()
    except OSError:
        rustc = "rustc ?"
    return f"{cpu}, {os.cpu_count()} cores, {platform.system()} {platform.release()}, {rustc}"


def ratio_rows(res, pattern, fast, slow):
    rows = []
    for bid in sorted(res):
        m = re.fullmatch(pattern.replace("{impl}", re.escape(fast)), bid)
        if not m:
            continue
        peer = bid.replace(f"/{fast}/", f"/{slow}/")
        if peer in res:
            rows.append((bid.replace(f"/{fast}/", "/*/"), res[bid], res[peer], res[peer] / res[bid]))
    return rows


def main():
    root, md = sys.argv[1], sys.argv[2]
    res = load(root)
    if not res:
        sys.exit(f"no criterion results under {root}; run scripts/bench.sh")
    lines = [BEGIN, ""]
    lines.append(f"Measured {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC on {machine()}.")
    lines.append("Median time per iteration (one packet, one lookup, or one connection).")
    lines.append("")
    lines.append("| benchmark | median |")
    lines.append("|---|---|")
    for bid in sorted(res):
        lines.append(f"| `{bid}` | {fmt_ns(res[bid])} |")
    lines.append("")
    lines.append("### Tuple-space search against the linear-scan reference (same run)")
    lines.append("")
    lines.append("| benchmark | TSS | linear | linear / TSS |")
    lines.append("|---|---|---|---|")
    for pat in [r"classifier/{impl}/.*", r"datapath/hit/{impl}/.*"]:
        for name, fast, slow, r in ratio_rows(res, pat, "tss", "linear"):
            lines.append(f"| `{name}` | {fmt_ns(fast)} | {fmt_ns(slow)} | **{r:.0f}x** |")
    lines.append("")
    lines.append("### Does TSS stay flat as flows grow? (time at 100k flows / time at 1k flows)")
    lines.append("")
    lines.append("| benchmark | 1k flows | 100k flows | ratio |")
    lines.append("|---|---|---|---|")
    for bid in sorted(res):
        if "/tss/" in bid and "flows=1000" in bid and not bid.endswith("flows=1000/miss"):
            big = bid.replace("flows=1000", "flows=100000")
            if big in res:
                lines.append(f"| `{bid.replace('flows=1000', 'flows=N')}` | {fmt_ns(res[bid])} | {fmt_ns(res[big])} | {res[big] / res[bid]:.2f} |")
    lines.append("")
    lines.append(END)
    text = open(md).read() if os.path.exists(md) else f"# Benchmarks\n\n{BEGIN}\n{END}\n"
    if BEGIN not in text or END not in text:
        sys.exit(f"{md} lacks the {BEGIN} / {END} markers")
    pre, rest = text.split(BEGIN, 1)
    _, post = rest.split(END, 1)
    with open(md, "w") as f:
        f.write(pre + "\n".join(lines) + post)


if __name__ == "__main__":
    main()
