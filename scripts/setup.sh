#!/usr/bin/env bash
# Install what building and testing hwol needs on Debian 12. Idempotent:
# anything already present is skipped, so it is cheap to run every time.
#
# Needs root (or sudo) for apt. Rust itself must already be installed
# (rustup with a stable >= 1.95 toolchain; nightly is used only for fuzzing).
set -euo pipefail

APT_PACKAGES=(
    build-essential pkg-config git
    # real Open vSwitch: differential tests and the performance peer
    openvswitch-switch openvswitch-common
    # eBPF fast path: clang compiles the C programs in build.rs
    clang llvm libbpf-dev bpftool linux-libc-dev
    # the emulated NIC, the demo and the system tests
    iproute2 ethtool iperf3 tcpdump
    # the VM testbed (tests/vm/run.sh): qemu, the guest's busybox initramfs, and
    # the out-of-tree netdevsim build (kernel debs come from apt-get download)
    qemu-system-x86 busybox-static cpio zstd xz-utils kmod make gcc bc python3
    # tc flower provider: conntrack -L checks ctnetlink inserts; strace regenerates golden vectors
    conntrack strace
    # the CNI plugin's tests: Debian's host-local, portmap and bandwidth in /usr/lib/cni
    containernetworking-plugins
    # the OVSDB system test pings through hwol while ovsdb-server is down
    iputils-ping
)

say() { printf '[setup] %s\n' "$*"; }

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

missing=()
for p in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
    say "installing apt packages: ${missing[*]}"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
else
    say "apt packages present"
fi

if ! command -v cargo >/dev/null; then
    echo "[setup] error: cargo not found. Install Rust with rustup (stable >= 1.95) and re-run." >&2
    exit 1
fi

# cargo-fuzz drives the fuzz smoke runs; it needs a nightly toolchain.
if rustup toolchain list 2>/dev/null | grep -q nightly; then
    if ! command -v cargo-fuzz >/dev/null; then
        say "installing cargo-fuzz (one-off, about two minutes)"
        cargo install --locked cargo-fuzz
    else
        say "cargo-fuzz present"
    fi
else
    say "no nightly toolchain: fuzz smoke runs will be skipped (rustup toolchain install nightly)"
fi
