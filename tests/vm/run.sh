#!/usr/bin/env bash
# hwol VM testbed: Debian's own 6.12 kernel under qemu (TCG), with a patched
# out-of-tree netdevsim (SR-IOV, devlink switchdev, flower "offload", VF
# representors that carry packets), a busybox initramfs holding iproute2,
# ethtool and the hwol binaries, and tests/vm/guest.sh run as the guest's
# init script. Prints one "PASS name" / "FAIL name" / "PENDING name" line
# per check and exits non-zero if any check failed.
#
#   tests/vm/run.sh              # prepare (cached) + boot + check
#   tests/vm/run.sh prep         # only prepare
#   tests/vm/run.sh boot         # only boot (after prep)
#   tests/vm/run.sh fixtures     # boot, then copy the recorded sysfs trees
#                                # into crates/hwol-nic/tests/fixtures/
#
# Environment:
#   HWOL_VM_CACHE   cache dir (default $HOME/.cache/hwol-vm): debs, kernel,
#                   netdevsim build, initramfs, console logs
#   HWOL_VM_KVER    kernel ABI to use, e.g. 6.12.117+deb12-amd64 (default:
#                   the candidate of apt's linux-source-6.12, else the cache)
#   HWOL_VM_PROFILE cargo profile for the hwol binaries (default release)
#   HWOL_VM_TIMEOUT seconds before qemu is killed (default 420)
#   ACCEL=kvm       try KVM instead of TCG (a nested PVM host cannot boot a
#                   stock kernel with KVM, so TCG is the default)
#
# Needs (scripts/setup.sh installs them): qemu-system-x86, busybox-static,
# cpio, zstd, xz-utils, kmod, make, gcc, bc, iproute2, ethtool. The kernel,
# its headers and sources come from `apt-get download` (no install).
set -euo pipefail
REPO=$(cd "$(dirname "$0")/../.." && pwd)
VMDIR=$REPO/tests/vm
W=${HWOL_VM_CACHE:-$HOME/.cache/hwol-vm}
PROFILE=${HWOL_VM_PROFILE:-release}
ACTION=${1:-all}
T0=$(date +%s)
mkdir -p "$W"
# One run at a time per cache (the rootfs, initramfs and console log are shared).
exec 9>"$W/.lock"
flock -w 900 9 || { echo "[vm] error: $W is locked by another run for 15 min" >&2; exit 1; }

log() { echo "[vm $(date +%T) +$(( $(date +%s) - T0 ))s] $*" >&2; }
die() { echo "[vm] error: $*" >&2; exit 1; }

for t in qemu-system-x86_64 busybox cpio zstd xz make gcc ip tc devlink ethtool depmod flock sha256sum; do
    command -v "$t" >/dev/null || die "$t not found: run scripts/setup.sh (it installs the VM testbed's packages)"
done

# --- which kernel --------------------------------------------------------
kernel_version() {
    if [ -n "${HWOL_VM_KVER:-}" ]; then echo "$HWOL_VM_KVER"; return; fi
    local v
    v=$(apt-cache policy linux-source-6.12 2>/dev/null | awk '/Candidate:/{print $2}')
    if [ -n "$v" ] && [ "$v" != "(none)" ]; then echo "${v%%-*}+deb12-amd64"; return; fi
    # Offline: the newest kernel already in the cache.
    v=$(ls "$W"/debs/linux-image-6.12.*+deb12-amd64-unsigned_*.deb 2>/dev/null | sort -V | tail -1)
    [ -n "$v" ] || die "no linux-source-6.12 in apt (run apt-get update; bookworm-security carries it) and nothing cached in $W/debs"
    v=${v##*/linux-image-}; echo "${v%%-unsigned_*}"
}
KVER=$(kernel_version)
KUP=${KVER%%+*}                    # 6.12.117
KROOT=$W/kernel/$KVER              # extracted image: boot/, lib/modules/
KB=$W/kbuild/$KVER                 # extracted headers + kbuild
NSIM=$W/netdevsim/$KVER            # patched netdevsim sources + module
INITRD=$W/initrd-$KVER.cpio.zst

prep_debs() {
    mkdir -p "$W/debs"
    local pkgs="linux-image-$KVER-unsigned linux-headers-$KVER linux-headers-$KUP+deb12-common
                linux-kbuild-$KUP+deb12 linux-source-6.12" need=""
    for p in $pkgs; do
        ls "$W/debs/${p}_"*.deb >/dev/null 2>&1 || need="$need $p"
    done
    if [ -n "$need" ]; then
        log "downloading:$need"
        # apt-get download as root warns that _apt cannot write here; harmless.
        (cd "$W/debs" && apt-get download $need 2>&1 | grep -v '^W: Download is performed unsandboxed' >&2) \
            || die "apt-get download$need failed (apt-get update? is bookworm-security in sources.list?)"
    fi
    # Drop what older kernels left in the cache (debs, extracted trees, builds).
    local f
    for f in "$W"/debs/linux-*.deb "$W"/kernel/* "$W"/kbuild/* "$W"/netdevsim/*; do
        case $f in
            *"$KUP"[+-]*) ;;
            *) if [ -e "$f" ]; then log "removing stale $f"; rm -rf "$f"; fi ;;
        esac
    done
    # A linux-source of another version must not be picked up below.
    SRCDEB=$(ls "$W/debs"/linux-source-6.12_"$KUP"-*.deb 2>/dev/null | tail -1)
    [ -n "$SRCDEB" ] || die "cached linux-source-6.12 is not $KUP: remove $W/debs/linux-source-6.12_* and rerun"
}

prep_kernel() {
    if [ ! -e "$KROOT/lib/modules/$KVER/modules.dep" ]; then
        log "extracting kernel $KVER"
        rm -rf "$KROOT"; mkdir -p "$KROOT"
        dpkg-deb -x "$W/debs/linux-image-$KVER-unsigned_"*.deb "$KROOT"
        depmod -b "$KROOT" "$KVER"
    fi
    if [ ! -e "$KB/usr/src/linux-headers-$KVER/Makefile" ]; then
        log "extracting headers and kbuild"
        rm -rf "$KB"; mkdir -p "$KB"
        for p in "linux-headers-$KVER" "linux-headers-$KUP+deb12-common" "linux-kbuild-$KUP+deb12"; do
            dpkg-deb -x "$W/debs/${p}_"*.deb "$KB"
        done
        # The headers' Makefile includes the common tree by absolute path.
        sed -i "s#/usr/src/#$KB/usr/src/#g" "$KB/usr/src/linux-headers-$KVER/Makefile"
    fi
}

prep_netdevsim() {
    local patch=$VMDIR/netdevsim-patch.py sum
    # Rebuilt when the patch's content changes (not its mtime: a fresh clone
    # has new mtimes).
    sum=$(sha256sum "$patch" | cut -d' ' -f1)
    if [ -e "$NSIM/netdevsim.ko" ] && [ "$(cat "$NSIM/.patch-sha256" 2>/dev/null)" = "$sum" ]; then return; fi
    log "building netdevsim (patched) for $KVER"
    rm -rf "$NSIM" "$NSIM.src"; mkdir -p "$NSIM.src"
    dpkg-deb --fsys-tarfile "$SRCDEB" | tar -xO ./usr/src/linux-source-6.12.tar.xz | xz -dc -T0 \
        | tar -x -C "$NSIM.src" --wildcards 'linux-source-6.12/drivers/net/netdevsim/*'
    mv "$NSIM.src/linux-source-6.12/drivers/net/netdevsim" "$NSIM"; rm -rf "$NSIM.src"
    python3 "$patch" "$NSIM/netdev.c" "$NSIM/netdev.c.new" && mv "$NSIM/netdev.c.new" "$NSIM/netdev.c"
    make -s -C "$KB/usr/src/linux-headers-$KVER" M="$NSIM" CONFIG_NETDEVSIM=m \
        CONFIG_DEBUG_INFO_BTF_MODULES= -j"$(nproc)" modules 2>&1 | grep -v 'Skipping BTF' >&2 || true
    [ -e "$NSIM/netdevsim.ko" ] || die "netdevsim build failed (see above; needs gcc, make, bc)"
    echo "$sum" > "$NSIM/.patch-sha256"
}

prep_hwol() {
    log "building hwol binaries (cargo --profile $PROFILE)"
    (cd "$REPO" && cargo build --locked --profile "$PROFILE" -p hwol-cli -p hwol-vswitchd 2>&1 | tail -n 3 >&2)
    local dir=$PROFILE; [ "$PROFILE" = dev ] && dir=debug
    BIN=${CARGO_TARGET_DIR:-$REPO/target}/$dir
    [ -x "$BIN/hwol" ] && [ -x "$BIN/hwol-vswitchd" ] || die "hwol binaries not in $BIN"
}

# copy_exe ROOT SRC DST: a binary and the shared libraries it needs.
copy_exe() {
    install -D -m755 "$2" "$1$3"
    ldd "$2" 2>/dev/null | awk '/=> \//{print $3} /^\t\/lib64\//{print $1}' | while read -r lib; do
        [ -e "$1$lib" ] || install -D -m755 "$(readlink -f "$lib")" "$1$lib"
    done
}

prep_initrd() {
    log "building initramfs"
    local R=$W/rootfs
    rm -rf "$R"; mkdir -p "$R"/{bin,sbin,usr/bin,usr/sbin,proc,sys,dev,run,tmp,etc,root,var/run/netns}
    install -m755 "$(command -v busybox)" "$R/bin/busybox"
    for a in $(busybox --list); do [ "$a" = busybox ] || ln -sf busybox "$R/bin/$a"; done
    # The real tools, not busybox's applets of the same name.
    for t in ip tc devlink ethtool; do rm -f "$R/bin/$t"; copy_exe "$R" "$(command -v $t)" "/usr/sbin/$t"; done
    copy_exe "$R" "$(command -v kmod)" /usr/bin/kmod
    for t in modprobe insmod lsmod depmod; do rm -f "$R/bin/$t" "$R/sbin/$t"; ln -s ../usr/bin/kmod "$R/sbin/$t"; done
    copy_exe "$R" "$BIN/hwol" /usr/bin/hwol
    copy_exe "$R" "$BIN/hwol-vswitchd" /usr/bin/hwol-vswitchd
    strip --strip-debug "$R/usr/bin/hwol" "$R/usr/bin/hwol-vswitchd"   # debug info: tens of MB
    # ovs-appctl talks to hwol-vswitchd's unixctl socket (openvswitch-common).
    if command -v ovs-appctl >/dev/null; then copy_exe "$R" "$(command -v ovs-appctl)" /usr/bin/ovs-appctl; fi
    install -m755 "$VMDIR/guest.sh" "$R/guest.sh"
    install -m755 "$REPO/crates/hwol-nic/tests/fixtures/record.sh" "$R/record.sh"
    echo "root:x:0:0:root:/root:/bin/sh" > "$R/etc/passwd"; echo "root:x:0:" > "$R/etc/group"
    # Kernel modules: the closure of what the tests load.
    local M=$R/lib/modules/$KVER
    mkdir -p "$M/extra"
    cp "$KROOT/lib/modules/$KVER"/modules.{order,builtin,builtin.modinfo} "$M/"
    local mods="cls_flower act_mirred act_gact act_ct act_vlan act_pedit act_csum act_skbedit sch_ingress
                nf_conntrack nf_conntrack_netlink nf_flow_table psample veth 8021q"
    for m in $mods; do modprobe -d "$KROOT" -S "$KVER" --show-depends "$m"; done \
        | awk '/^insmod/{print $2}' | sort -u | while read -r ko; do install -D -m644 "$ko" "$R${ko#"$KROOT"}"; done
    cp "$NSIM/netdevsim.ko" "$M/extra/"
    depmod -b "$R" "$KVER"
    cat > "$R/init" <<'INIT'
#!/bin/sh
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev
mount -t tmpfs tmpfs /run; mount -t tmpfs tmpfs /tmp; mkdir -p /run/netns
echo "hwol-vm: init at uptime $(cut -d' ' -f1 /proc/uptime)s"
sh /guest.sh
echo "hwol-vm: guest done at uptime $(cut -d' ' -f1 /proc/uptime)s"
poweroff -f
INIT
    chmod 755 "$R/init"
    (cd "$R" && find . | cpio -o -H newc --quiet | zstd -q -T0 -3 -f -o "$INITRD")
    log "initramfs $(du -h "$INITRD" | cut -f1)"
}

prep() {
    prep_debs; prep_kernel; prep_netdevsim; prep_hwol; prep_initrd
    log "prepared"
}

boot() {
    mkdir -p "$W/out"
    local console=$W/out/console.log accel="-accel tcg,thread=multi -cpu max"
    [ "${ACCEL:-tcg}" = kvm ] && accel="-enable-kvm -cpu host"
    log "booting $KVER under qemu ($([ "${ACCEL:-tcg}" = kvm ] && echo KVM || echo TCG)), console -> $console"
    local rc=0
    timeout "${HWOL_VM_TIMEOUT:-420}" qemu-system-x86_64 $accel -m 1536 -smp 2 -display none -nic none \
        -no-reboot -serial stdio -kernel "$KROOT/boot/vmlinuz-$KVER" -initrd "$INITRD" \
        -append "console=ttyS0 loglevel=3 panic=-1 quiet" </dev/null > "$console" 2>&1 || rc=$?
    # Show the guest's output, without the fixture blob.
    sed '/^hwol-vm: fixtures begin/,/^hwol-vm: fixtures end/d' "$console"
    [ $rc = 0 ] || echo "FAIL qemu (exit $rc$([ $rc = 124 ] && echo ': timed out'))"
    log "qemu exited ($rc)"
}

summary() {
    local console=$W/out/console.log pass fail pend
    pass=$(grep -c '^PASS ' "$console" || true); fail=$(grep -c '^FAIL ' "$console" || true)
    pend=$(grep -c '^PENDING ' "$console" || true)
    grep -q '^hwol-vm: guest done' "$console" || { echo "FAIL guest did not finish"; fail=$((fail + 1)); }
    echo "=== VM testbed: $pass passed, $fail failed, $pend pending ($(( $(date +%s) - T0 ))s in all)"
    grep -E '^(PASS|FAIL|PENDING) ' "$console" || true
    [ "$fail" = 0 ] && [ "$pass" -gt 0 ]
}

fixtures() {
    local console=$W/out/console.log dst=$REPO/crates/hwol-nic/tests/fixtures
    sed -n '/^hwol-vm: fixtures begin/,/^hwol-vm: fixtures end/p' "$console" | sed '1d;$d' | tr -d '\r' \
        | base64 -d > "$W/out/fixtures.tar.gz" || die "no fixture blob in $console"
    for d in $(tar -tzf "$W/out/fixtures.tar.gz" | cut -d/ -f1 | sort -u); do rm -rf "${dst:?}/$d"; done
    tar -xzf "$W/out/fixtures.tar.gz" -C "$dst"
    log "fixtures written to $dst: $(tar -tzf "$W/out/fixtures.tar.gz" | cut -d/ -f1 | sort -u | tr '\n' ' ')"
}

case $ACTION in
    prep) prep ;;
    kernel) prep_debs; prep_kernel; prep_netdevsim ;;
    boot) prep_debs; boot; summary ;;
    all) prep; boot; summary ;;
    fixtures) prep; boot; fixtures; summary ;;
    *) die "usage: $0 [all|prep|boot|fixtures]" ;;
esac
