#!/usr/bin/env python3
"""Two pods through the switch: the network benchmark behind scripts/bench-net.sh.

Two network namespaces ("pods"), each with eth0 = one end of a veth pair; the
other ends ("representors") stay in the host namespace, MTU 1500. The modes
join the two representors in different ways and are measured in one run,
interleaved, `BENCH_ROUNDS` rounds of every mode and every test:

  direct    no representors: pod1 eth0 <-> pod2 eth0 is one veth pair (ceiling)
  bridge    a Linux bridge with rep1 + rep2
  ovs       Open vSwitch (userspace/netdev datapath, AF_PACKET ports,
            userspace-tso-enable=true) with a conntrack pipeline (zone 65520)
  hwol-sw   hwol-vswitchd, offload provider "none" (software datapath only)
  hwol-xdp  hwol-vswitchd, offload provider "xdp"
  hwol-tc   hwol-vswitchd, offload provider "tc" (recorded as not available
            when the daemon refuses the configuration)
  tc-redirect  the floor of any tc fast path on this emulated NIC: on each
            representor's ingress a two-instruction BPF program that sends
            every packet to the other pod with bpf_redirect_peer (no lookup,
            no conntrack, no counters). hwol-tc does the same redirect after
            its megaflow and conntrack lookups, so hwol-tc / tc-redirect is
            the cost of hwol's fast path, and tc-redirect / direct the cost
            of the representor hop itself

Tests (iperf3 client in pod1, server in pod2, both at nice -10):

  tcp     one TCP stream, receiver Gbit/s
  cpu1g   one TCP stream paced at 1 Gbit/s: whole-machine busy CPU from
          /proc/stat and the switch process's own CPU from /proc/<pid>/stat,
          both in % of one core
          For hwol-xdp and hwol-tc it also reads the fast path's own cost
          per packet: kernel.bpf_stats_enabled on for the test, run time /
          run count of the programs behind the instance's pinned links
  udp64   UDP, 64-byte payloads, unpaced: received packets per second
  crr     TCP connect / 1 byte each way / close, in a loop: connections per
          second (Python client in pod1, Python server in pod2)

This module measures and reports; it asserts nothing. The targets at the end
of the report are printed with their measured ratio and PASS/FAIL.

Usage (as root; scripts/bench-net.sh is the entry point):
  bench_net.py run --prefix P --hwol BIN --vswitchd BIN --doc docs/benchmarks.md --png docs/bench-net.png
  bench_net.py cleanup --prefix P     # remove whatever a run with prefix P left behind
"""
import argparse
import datetime
import json
import os
import platform
import re
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

MODES = ["direct", "bridge", "ovs", "hwol-sw", "hwol-xdp", "hwol-tc", "tc-redirect"]
TESTS = ["tcp", "cpu1g", "udp64", "crr"]
IP1, IP2, MASK = "10.77.0.1", "10.77.0.2", 24
SUBNET = "10.77.0.0/24"
MAC1, MAC2 = "02:77:00:00:00:01", "02:77:00:00:00:02"
GATEWAY = "gw0:3:02:77:00:00:00:fe:10.77.0.254"
NICE = ["nice", "-n", "-10"]
HZ = os.sysconf("SC_CLK_TCK")
NCPU = os.cpu_count() or 1
CRR_PORT = 5301
OVS_SCHEMA = "/usr/share/openvswitch/vswitch.ovsschema"

# What each mode does to the pods' offloads (documented in the report).
POD_OFFLOADS = {
    "direct": "on",
    "bridge": "on",
    "ovs": "on (userspace TSO on in OVS)",
    "hwol-sw": "on",
    "hwol-xdp": "`tx off gro on` (XDP loses checksum offload; the pod end needs NAPI)",
    "hwol-tc": "on",
    "tc-redirect": "on",
}

# The tc-redirect mode's program, built with clang when the mode runs.
REDIRECT_C = r"""
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
SEC("classifier")
int redirect(struct __sk_buff *skb)
{
	return bpf_redirect_peer(TARGET_IFINDEX, 0);
}
char _license[] SEC("license") = "GPL";
"""

# The reference capture's pipeline, in ovs-ofctl add-flows syntax.
OVS_FLOWS = """\
table=0,priority=200,ip,actions=ct(table=1,zone=65520)
table=0,priority=190,arp,actions=NORMAL
table=0,priority=0,actions=drop
table=1,priority=200,ct_state=+new+trk,ip,actions=ct(commit,zone=65520),NORMAL
table=1,priority=190,ct_state=+est+trk,ip,actions=NORMAL
table=1,priority=0,actions=drop
"""

# One connection per loop: connect, 1 byte out, 1 byte back, wait for the
# server's FIN, close (so the client holds no TIME_WAIT port).
CRR_SERVER = r"""
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], int(sys.argv[2]))); s.listen(512)
print("ready", flush=True)
while True:
    c, _ = s.accept()
    try:
        c.settimeout(2)
        if c.recv(1):
            c.sendall(b"y")
    except OSError:
        pass
    c.close()
"""
CRR_CLIENT = r"""
import socket, sys, time
host, port, dur = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
ok = err = 0
t0 = time.monotonic(); end = t0 + dur
while time.monotonic() < end:
    try:
        c = socket.create_connection((host, port), timeout=2)
        c.sendall(b"x")
        if c.recv(1) == b"y":
            c.recv(1)
            ok += 1
        else:
            err += 1
        c.close()
    except OSError:
        err += 1
print(f"{ok} {err} {time.monotonic() - t0:.3f}")
"""


def log(msg):
    print(msg, flush=True)


def sh(*args, check=True, ns=None, quiet=False, **kw):
    cmd = (["ip", "netns", "exec", ns] if ns else []) + [str(a) for a in args]
    r = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if check and r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)}: exit {r.returncode}: {r.stderr.strip()[-400:]}")
    return r


def fastpath_prog_ids(instance):
    """Programs behind an hwol instance's pinned links (its fast path)."""
    ids = set()
    root = f"/sys/fs/bpf/hwol/{instance}"
    for d, _, files in os.walk(root):
        if "maps" in d[len(root):].split(os.sep):
            continue
        for f in files:
            r = sh("bpftool", "link", "show", "pinned", os.path.join(d, f), "-j", check=False)
            try:
                ids.add(json.loads(r.stdout)["prog_id"])
            except (ValueError, KeyError, TypeError):
                pass
    return sorted(ids)


def prog_run_stats(ids):
    """(run_time_ns, run_cnt) summed over programs (needs kernel.bpf_stats_enabled)."""
    t = n = 0
    for i in ids:
        r = sh("bpftool", "prog", "show", "id", i, "-j", check=False)
        try:
            j = json.loads(r.stdout)
        except ValueError:
            continue
        t += j.get("run_time_ns", 0)
        n += j.get("run_cnt", 0)
    return t, n


def cpu_stat():
    return [int(x) for x in open("/proc/stat").readline().split()[1:9]]


def busy_pct(s0, s1):
    """Whole-machine busy between two /proc/stat samples, in % of one core."""
    d = [b - a for a, b in zip(s0, s1)]
    tot = sum(d) or 1
    return 100.0 * NCPU * (tot - d[3] - d[4]) / tot


def proc_ticks(pid):
    if not pid:
        return 0
    try:
        f = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
        return int(f[11]) + int(f[12])  # utime + stime, all threads
    except OSError:
        return 0


def ksoftirqd_pids():
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                if open(f"/proc/{d}/comm").read().startswith("ksoftirqd/"):
                    out.append(int(d))
            except OSError:
                pass
    return out


def children_secs():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


class Unavailable(Exception):
    """The mode cannot run on this build or machine (recorded, not fatal)."""


class Bench:
    def __init__(self, a):
        self.a = a
        p = a.prefix
        self.ns1, self.ns2 = f"{p}-pod1", f"{p}-pod2"
        self.rep1, self.rep2 = f"{p}r1", f"{p}r2"
        self.br = f"{p}br"
        self.ovsbr = f"{p}ovs"
        self.procs = []          # Popen handles we started, killed at teardown
        self.switch_pid = None
        self.mode = None
        self.switch_dir = None
        self.server_pids = []
        self.ksoftirqd = ksoftirqd_pids()
        self.quiet_budget = 180.0  # seconds we may wait, in all, for other work to calm down
        self.ovs_netdev_preexisting = os.path.exists("/sys/class/net/ovs-netdev")

    # ---------- topology ----------
    def pod_tune(self, ns, mac, ip):
        sh("ip", "link", "set", "lo", "up", ns=ns)
        sh("sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1",
           "net.ipv6.conf.default.disable_ipv6=1", ns=ns)
        # per-netns knobs for the connection loop
        sh("sysctl", "-qw", "net.ipv4.ip_local_port_range=1024 65000", "net.ipv4.tcp_tw_reuse=1", ns=ns)
        sh("ip", "link", "set", "eth0", "address", mac, "mtu", "1500", ns=ns)
        sh("ip", "addr", "add", f"{ip}/{MASK}", "dev", "eth0", ns=ns)
        sh("ip", "link", "set", "eth0", "up", ns=ns)

    def topo_up(self, mode):
        for ns in (self.ns1, self.ns2):
            sh("ip", "netns", "add", ns)
        p = self.a.prefix
        if mode == "direct":
            sh("ip", "link", "add", f"{p}d1", "type", "veth", "peer", "name", f"{p}d2")
            for dev, ns in ((f"{p}d1", self.ns1), (f"{p}d2", self.ns2)):
                sh("ip", "link", "set", dev, "netns", ns)
                sh("ip", "link", "set", dev, "name", "eth0", ns=ns)
        else:
            for i, (rep, ns) in enumerate(((self.rep1, self.ns1), (self.rep2, self.ns2)), 1):
                sh("ip", "link", "add", rep, "mtu", "1500", "type", "veth", "peer", "name", f"{p}v{i}")
                sh("ip", "link", "set", f"{p}v{i}", "netns", ns)
                sh("ip", "link", "set", f"{p}v{i}", "name", "eth0", ns=ns)
                sh("sysctl", "-qw", f"net.ipv6.conf.{rep}.disable_ipv6=1")
                sh("ip", "link", "set", rep, "up")
        self.pod_tune(self.ns1, MAC1, IP1)
        self.pod_tune(self.ns2, MAC2, IP2)
        if mode == "hwol-xdp":
            for ns in (self.ns1, self.ns2):
                sh("ethtool", "-K", "eth0", "tx", "off", "gro", "on", ns=ns)

    def topo_down(self):
        for dev in (self.br, self.rep1, self.rep2, f"{self.a.prefix}d1"):
            if os.path.exists(f"/sys/class/net/{dev}"):
                sh("ip", "link", "del", dev, check=False)
        for ns in (self.ns1, self.ns2):
            if os.path.exists(f"/run/netns/{ns}"):
                for pid in sh("ip", "netns", "pids", ns, check=False).stdout.split():
                    try:
                        os.kill(int(pid), signal.SIGKILL)
                    except OSError:
                        pass
                sh("ip", "netns", "del", ns, check=False)

    # ---------- switches ----------
    def switch_up(self, mode, rdir):
        self.mode = mode
        self.switch_pid = None
        if mode == "bridge":
            sh("ip", "link", "add", self.br, "type", "bridge")
            sh("sysctl", "-qw", f"net.ipv6.conf.{self.br}.disable_ipv6=1")
            for rep in (self.rep1, self.rep2):
                sh("ip", "link", "set", rep, "master", self.br)
            sh("ip", "link", "set", self.br, "up")
        elif mode == "ovs":
            self.ovs_up(rdir)
        elif mode.startswith("hwol-"):
            self.hwol_up(mode, rdir)
        elif mode == "tc-redirect":
            self.redirect_up(rdir)

    def redirect_up(self, rdir):
        """Each representor's ingress redirects everything to the other pod's eth0."""
        if not shutil.which("clang"):
            raise Unavailable("clang not found (scripts/setup.sh installs it)")
        d = tempfile.mkdtemp(prefix=f"{self.a.prefix}-redirect.", dir=rdir)
        src = f"{d}/redirect.c"
        open(src, "w").write(REDIRECT_C)
        arch = f"/usr/include/{platform.machine()}-linux-gnu"
        for rep, other in ((self.rep1, self.rep2), (self.rep2, self.rep1)):
            ifindex = open(f"/sys/class/net/{other}/ifindex").read().strip()
            obj = f"{d}/{rep}.o"
            sh("clang", "-O2", "-g", "-target", "bpf", f"-I{arch}", f"-DTARGET_IFINDEX={ifindex}", "-c", src,
               "-o", obj)
            sh("tc", "qdisc", "add", "dev", rep, "clsact")
            sh("tc", "filter", "add", "dev", rep, "ingress", "bpf", "direct-action", "obj", obj, "sec",
               "classifier")

    def ovs_env(self, d):
        return dict(os.environ, OVS_RUNDIR=d, OVS_DBDIR=d, OVS_LOGDIR=d, OVS_SYSCONFDIR=d)

    def spawn(self, cmd, env=None, log_to=None):
        out = open(log_to, "ab") if log_to else subprocess.DEVNULL
        p = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT if log_to else subprocess.DEVNULL,
                             start_new_session=True)
        self.procs.append(p)
        return p

    def ovs_up(self, rdir):
        d = tempfile.mkdtemp(prefix=f"{self.a.prefix}-ovs.", dir=rdir)
        self.switch_dir = d
        env = self.ovs_env(d)
        db = f"unix:{d}/db.sock"
        sh("ovsdb-tool", "create", f"{d}/conf.db", OVS_SCHEMA, env=env)
        self.spawn(["ovsdb-server", f"{d}/conf.db", f"--remote=punix:{d}/db.sock",
                    f"--unixctl={d}/ovsdb-server.ctl", f"--pidfile={d}/ovsdb-server.pid",
                    f"--log-file={d}/ovsdb-server.log"], env=env)
        self.poll(lambda: sh("ovs-vsctl", f"--db={db}", "--no-wait", "init", check=False, env=env).returncode == 0,
                  "ovsdb-server did not come up")
        sh("ovs-vsctl", f"--db={db}", "--no-wait", "set", "Open_vSwitch", ".",
           "other_config:userspace-tso-enable=true", env=env)
        p = self.spawn(NICE + ["ovs-vswitchd", db, "--disable-system", f"--unixctl={d}/ovs-vswitchd.ctl",
                               f"--pidfile={d}/ovs-vswitchd.pid", f"--log-file={d}/ovs-vswitchd.log"], env=env)
        self.poll(lambda: sh("ovs-appctl", "-t", f"{d}/ovs-vswitchd.ctl", "version", check=False,
                             env=env).returncode == 0, "ovs-vswitchd did not come up")
        self.switch_pid = p.pid  # nice execs ovs-vswitchd: same pid
        sh("ovs-vsctl", f"--db={db}", "--timeout=20", "add-br", self.ovsbr, "--", "set", "bridge", self.ovsbr,
           "datapath_type=netdev", "fail_mode=secure",
           "--", "add-port", self.ovsbr, self.rep1, "--", "set", "interface", self.rep1, "ofport_request=1",
           "--", "add-port", self.ovsbr, self.rep2, "--", "set", "interface", self.rep2, "ofport_request=2",
           env=env)
        sh("ovs-ofctl", "--timeout=10", "add-flows", self.ovsbr, "-", input=OVS_FLOWS, env=env)

    def hwol_up(self, mode, rdir):
        provider = {"hwol-sw": "none", "hwol-xdp": "xdp", "hwol-tc": "tc"}[mode]
        d = tempfile.mkdtemp(prefix=f"{self.a.prefix}-{mode}.", dir=rdir)
        self.switch_dir = d
        flows = sh(self.a.hwol, "pipeline", "--subnet", SUBNET, "--gateway", GATEWAY,
                   "--pod", f"{self.rep1}:1:{MAC1}:{IP1}", "--pod", f"{self.rep2}:2:{MAC2}:{IP2}").stdout
        open(f"{d}/flows.txt", "w").write(flows)
        open(f"{d}/hwol.toml", "w").write(
            f'flows = "{d}/flows.txt"\n[offload]\nprovider = "{provider}"\ninstance = "{self.a.prefix}"\n'
            f'[[port]]\nname = "{self.rep1}"\nofport = 1\n[[port]]\nname = "{self.rep2}"\nofport = 2\n')
        env = dict(os.environ, OVS_RUNDIR=d)
        logf = f"{d}/hwol-vswitchd.log"
        p = self.spawn(NICE + [self.a.vswitchd, "--config", f"{d}/hwol.toml", "--rundir", d, "--log", "warn"],
                       env=env, log_to=logf)
        deadline = time.time() + 10
        while time.time() < deadline:
            if p.poll() is not None:
                msg = open(logf, errors="replace").read().strip().replace("\n", " ")
                raise Unavailable(f"hwol-vswitchd exited {p.returncode}: {msg[-300:]}")
            if sh("ovs-appctl", "-t", "hwol-vswitchd", "version", check=False, env=env).returncode == 0:
                self.switch_pid = p.pid
                return
            time.sleep(0.1)
        raise RuntimeError("hwol-vswitchd did not answer ovs-appctl within 10 s")

    def poll(self, fn, what, secs=10):
        deadline = time.time() + secs
        while time.time() < deadline:
            if fn():
                return
            time.sleep(0.1)
        raise RuntimeError(what)

    def switch_down(self, mode):
        d = self.switch_dir
        if mode.startswith("hwol-") and d and self.switch_pid:
            sh("ovs-appctl", "-t", "hwol-vswitchd", "exit", check=False, env=dict(os.environ, OVS_RUNDIR=d),
               timeout=10)
        if mode == "ovs" and d:
            env = self.ovs_env(d)
            sh("ovs-vsctl", f"--db=unix:{d}/db.sock", "--timeout=5", "--if-exists", "del-br", self.ovsbr,
               check=False, env=env)
        for p in reversed(self.procs):
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(5)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
        self.procs = []
        self.switch_pid = None
        if mode == "ovs":
            for dev in (self.ovsbr,) + (() if self.ovs_netdev_preexisting else ("ovs-netdev",)):
                if os.path.exists(f"/sys/class/net/{dev}"):
                    sh("ip", "link", "del", dev, check=False)
        if mode.startswith("hwol-"):
            pin = f"/sys/fs/bpf/hwol/{self.a.prefix}"
            if os.path.exists(pin):   # the daemon removes it on exit; this is only a backstop
                shutil.rmtree(pin, ignore_errors=True)

    # ---------- tests ----------
    def iperf(self, secs, extra):
        cp = sh(*NICE, "iperf3", "-c", IP2, "-t", secs, "-J", *extra, ns=self.ns1, check=False,
                timeout=secs + 30)
        try:
            j = json.loads(cp.stdout)
        except ValueError:
            raise RuntimeError(f"iperf3: {cp.stderr.strip()[-200:] or cp.stdout[-200:]}")
        if "error" in j:
            raise RuntimeError(f"iperf3: {j['error']}")
        return j["end"]

    def ours_ticks(self):
        """CPU ticks of the processes this test is made of, except the client (a child)."""
        return sum(proc_ticks(p) for p in self.server_pids + self.ksoftirqd)

    def wait_quiet(self):
        """Wait (within a budget) until other work leaves most of the machine idle."""
        waited = 0.0
        while self.quiet_budget > 0:
            s0 = cpu_stat()
            time.sleep(0.5)
            busy = busy_pct(s0, cpu_stat())
            if busy < 40.0:
                break
            if waited == 0:
                log(f"    machine busy ({busy:.0f}% of a core) with other work: waiting up to "
                    f"{min(15, self.quiet_budget):.0f} s")
            waited += 0.5
            self.quiet_budget -= 0.5
            if waited >= 15:
                break

    def run_test(self, test):
        a = self.a
        self.wait_quiet()
        c0, o0 = children_secs(), self.ours_ticks()
        s0, p0, t0 = cpu_stat(), proc_ticks(self.switch_pid), time.monotonic()
        extra = ""
        if test in ("tcp", "cpu1g"):
            progs = fastpath_prog_ids(a.prefix) if test == "tcp" and self.mode in ("hwol-xdp", "hwol-tc") else []
            stats_was = None
            if progs:
                stats_was = open("/proc/sys/kernel/bpf_stats_enabled").read().strip()
                open("/proc/sys/kernel/bpf_stats_enabled", "w").write("1")
                b0 = prog_run_stats(progs)
            try:
                e = self.iperf(a.seconds, ["-b", "1G"] if test == "cpu1g" else [])
            finally:
                if progs:
                    b1 = prog_run_stats(progs)
                    open("/proc/sys/kernel/bpf_stats_enabled", "w").write(stats_was)
            value = e["sum_received"]["bits_per_second"] / 1e9
            unit = "Gbit/s"
            extra = f"retr={e['sum_sent'].get('retransmits')}"
            if progs and b1[1] > b0[1]:
                extra += f" fastpath_ns={(b1[0] - b0[0]) / (b1[1] - b0[1]):.0f} fastpath_pps={(b1[1] - b0[1]) / a.seconds:.0f}"
        elif test == "udp64":
            e = self.iperf(a.udp_seconds, ["-u", "-l", "64", "-b", "0"])
            sm = e.get("sum_received") or e["sum"]
            sent = e.get("sum_sent") or e["sum"]
            rx = sm["packets"] - sm.get("lost_packets", 0)
            value = rx / sm["seconds"]
            unit = "pps"
            extra = f"sent_pps={sent['packets'] / sent['seconds']:.0f} lost%={sm.get('lost_percent', 0):.1f}"
        else:
            cp = sh(*NICE, sys.executable, "-c", CRR_CLIENT, IP2, CRR_PORT, a.crr_seconds, ns=self.ns1,
                    timeout=a.crr_seconds + 30)
            ok, err, secs = cp.stdout.split()
            value = int(ok) / float(secs)
            unit = "conn/s"
            extra = f"errors={err}"
        s1, p1, t1 = cpu_stat(), proc_ticks(self.switch_pid), time.monotonic()
        c1, o1 = children_secs(), self.ours_ticks()
        wall = t1 - t0
        total = busy_pct(s0, s1)
        switch = 100.0 * (p1 - p0) / HZ / wall
        mine = switch + 100.0 * ((o1 - o0) / HZ + (c1 - c0)) / wall
        # "others": busy CPU not explained by the client, servers, switch and
        # ksoftirqd (concurrent work on the machine, or softirq time charged
        # to unrelated tasks): a noise indicator, not a result
        extra += f" others={total - mine:.0f}"
        return value, unit, total, switch, mine, extra

    def servers_up(self):
        srv = self.spawn(["ip", "netns", "exec", self.ns2] + NICE + ["iperf3", "-s", "-B", IP2])
        crr = subprocess.Popen(["ip", "netns", "exec", self.ns2] + NICE + [sys.executable, "-c", CRR_SERVER, IP2,
                                                                           str(CRR_PORT)],
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, start_new_session=True)
        self.procs.append(crr)
        self.server_pids = [srv.pid, crr.pid]  # ip netns exec and nice exec: same pids
        if crr.stdout.readline().strip() != "ready":
            raise RuntimeError("connection-rate server did not start")
        time.sleep(0.5)
        # warm up (ARP, the switch's first flows) with one second of the
        # connection loop; fail the mode if the pods cannot talk (no ping here)
        r = sh(sys.executable, "-c", CRR_CLIENT, IP2, CRR_PORT, 1, ns=self.ns1, check=False, timeout=30)
        if r.returncode != 0 or not r.stdout.split() or int(r.stdout.split()[0]) == 0:
            raise RuntimeError(f"pod1 cannot connect to pod2 through this mode ({r.stdout.strip()} {r.stderr.strip()[-200:]})")


def run(a):
    b = Bench(a)
    stamp = datetime.datetime.utcnow().strftime("%Y%m%d-%H%M%S")
    rdir = a.results or f"/tmp/hwol-bench-net.{stamp}"
    os.makedirs(rdir, exist_ok=True)
    tsv_path = f"{rdir}/runs.tsv"
    tsv = open(tsv_path, "w")
    tsv.write("round\tmode\ttest\tvalue\tunit\ttotal_cpu_pct\tswitch_cpu_pct\taccounted_cpu_pct\textra\n")
    log(f"results: {tsv_path}")
    modes = [m for m in a.modes.split(",") if m]
    rows = []
    unavailable = {}   # mode -> message
    failures = []      # (round, mode, test, message)
    stopping = []

    def on_signal(sig, _frm):
        stopping.append(sig)
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_signal)
    started = time.time()
    try:
        for rnd in range(1, a.rounds + 1):
            for mode in modes:
                if mode in unavailable:
                    continue
                log(f"round {rnd}/{a.rounds}, mode {mode}: setting up")
                try:
                    b.topo_up(mode)
                    b.switch_up(mode, rdir)
                    b.servers_up()
                except Unavailable as e:
                    unavailable[mode] = str(e)
                    log(f"round {rnd}/{a.rounds}, mode {mode}: NOT AVAILABLE: {e}")
                    b.switch_down(mode)
                    b.topo_down()
                    continue
                except Exception as e:
                    failures.append((rnd, mode, "setup", str(e)))
                    log(f"round {rnd}/{a.rounds}, mode {mode}: SETUP FAILED: {e}")
                    b.switch_down(mode)
                    b.topo_down()
                    continue
                try:
                    for test in TESTS:
                        log(f"round {rnd}/{a.rounds}, mode {mode}, test {test} ...")
                        try:
                            v, unit, tot, swc, mine, extra = b.run_test(test)
                        except Exception as e:
                            failures.append((rnd, mode, test, str(e)))
                            log(f"    FAILED: {e}")
                            continue
                        rows.append((rnd, mode, test, v, unit, tot, swc, extra, mine))
                        tsv.write(f"{rnd}\t{mode}\t{test}\t{v:.4f}\t{unit}\t{tot:.1f}\t{swc:.1f}\t{mine:.1f}"
                                  f"\t{extra}\n")
                        tsv.flush()
                        log(f"    {v:,.2f} {unit}  total CPU {tot:.0f}%  accounted CPU {mine:.0f}%  "
                            f"switch CPU {swc:.1f}%  {extra}")
                finally:
                    b.switch_down(mode)
                    b.topo_down()
    except KeyboardInterrupt:
        log("interrupted: cleaning up, no report written")
        b.switch_down("ovs")
        b.topo_down()
        return 130
    finally:
        tsv.close()
    elapsed = time.time() - started
    log(f"measured in {elapsed / 60:.1f} min; raw numbers: {tsv_path}")
    report(a, modes, rows, unavailable, failures, tsv_path, elapsed, rdir)
    return 0


def medians(rows):
    by = {}
    for rnd, mode, test, v, unit, tot, swc, extra, mine in rows:
        by.setdefault((mode, test), []).append((v, tot, swc, mine))
    med = {}
    for k, vals in by.items():
        med[k] = (statistics.median(x[0] for x in vals), statistics.median(x[1] for x in vals),
                  statistics.median(x[2] for x in vals), len(vals),
                  min(x[0] for x in vals), max(x[0] for x in vals), statistics.median(x[3] for x in vals))
    return med


def machine():
    cpu = "unknown CPU"
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    return f"{cpu}, {NCPU} cores, Linux {platform.release()}"


def report(a, modes, rows, unavailable, failures, tsv_path, elapsed, rdir):
    med = medians(rows)

    def get(mode, test, i=0):
        m = med.get((mode, test))
        return m[i] if m else None

    def fmt(x, nd=2):
        return "–" if x is None else f"{x:,.{nd}f}"

    def ratio(x, y):
        return None if x is None or y in (None, 0) else x / y

    lines = []
    now = datetime.datetime.utcnow().strftime("%Y-%m-%d %H:%M UTC")
    label = "QUICK smoke run (short tests, 1 round: indicative only)" if a.quick else "full run"
    lines.append(f"Measured {now} on {machine()}; {label}: {a.rounds} round(s), all modes interleaved "
                 f"in each round; TCP tests {a.seconds} s, UDP {a.udp_seconds} s, connection loop "
                 f"{a.crr_seconds} s. Medians over rounds (n = rounds that succeeded). "
                 f"Total run {elapsed / 60:.1f} min.")
    try:
        load = open("/proc/loadavg").read().split()[:3]
        lines.append(f"Load average at the end of the run: {' '.join(load)} (other work on this 2-core VM, "
                     "e.g. concurrent compiles, shows up as noise, mostly in total CPU).")
    except OSError:
        pass
    lines.append("")
    lines.append("| mode | TCP Gbit/s | ×direct | ×ovs | total CPU % at 1 Gbit/s (/proc/stat) "
                 "| accounted CPU % at 1 Gbit/s | switch CPU % at 1 Gbit/s "
                 "| UDP64 kpps | TCP conn/s | ×direct | ×ovs | n |")
    lines.append("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for mode in modes:
        if not any(k[0] == mode for k in med):
            why = unavailable.get(mode)
            why = f"not available: {why}" if why else "failed (see below)"
            lines.append(f"| {mode} | {why.replace('|', '/')[:300]} | | | | | | | | | | 0 |")
            continue
        tcp = get(mode, "tcp")
        crr = get(mode, "crr")
        c1 = get(mode, "cpu1g")
        cpu_total = get(mode, "cpu1g", 1)
        cpu_sw = get(mode, "cpu1g", 2)
        cpu_mine = get(mode, "cpu1g", 6)
        udp = get(mode, "udp64")
        note = ""
        if c1 is not None and c1 < 0.95:
            note = f" (reached only {c1:.2f} Gbit/s)"
        n = max((med[(mode, t)][3] for t in TESTS if (mode, t) in med), default=0)
        lines.append(
            f"| {mode} | {fmt(tcp)} | {fmt(ratio(tcp, get('direct', 'tcp')))} | {fmt(ratio(tcp, get('ovs', 'tcp')))} "
            f"| {fmt(cpu_total, 0)}{note} | {fmt(cpu_mine, 0)} | {fmt(cpu_sw, 1)} | {fmt(None if udp is None else udp / 1e3, 0)} "
            f"| {fmt(crr, 0)} | {fmt(ratio(crr, get('direct', 'crr')))} | {fmt(ratio(crr, get('ovs', 'crr')))} "
            f"| {n} |")
    lines.append("")
    lines.append("Spread over the rounds (min–max of the per-round values; the connection loop counts a "
                 "connection that got no answer within 2 s as an error):")
    lines.append("")
    lines.append("| mode | TCP Gbit/s | UDP64 kpps | TCP conn/s | connection errors (all rounds) |")
    lines.append("|---|---|---|---|---|")
    for mode in modes:
        if not any(k[0] == mode for k in med):
            continue

        def span(test, scale=1.0, nd=2):
            m = med.get((mode, test))
            return "–" if not m else f"{m[4] / scale:,.{nd}f}–{m[5] / scale:,.{nd}f}"
        errs = sum(int(re.search(r"errors=(\d+)", r[7]).group(1)) for r in rows
                   if r[1] == mode and r[2] == "crr" and "errors=" in r[7])
        lines.append(f"| {mode} | {span('tcp')} | {span('udp64', 1e3, 0)} | {span('crr', 1.0, 0)} | {errs} |")
    fp = {}
    for rnd, mode, test, v, unit, tot, swc, extra, _mine in rows:
        m = re.search(r"fastpath_ns=(\d+) fastpath_pps=(\d+)", extra)
        if m:
            fp.setdefault(mode, []).append((int(m.group(1)), int(m.group(2))))
    if fp:
        lines.append("")
        lines.append("Fast-path cost per packet in the TCP test (`kernel.bpf_stats_enabled`: run time / run "
                     "count of the instance's XDP or TC programs, medians over rounds; GSO packets count "
                     "once): " + ", ".join(
                         f"{m} {statistics.median(x[0] for x in fp[m]):,.0f} ns at "
                         f"{statistics.median(x[1] for x in fp[m]) / 1e3:,.0f} k packets/s"
                         for m in modes if m in fp) + ".")
    noise = {}
    for rnd, mode, test, v, unit, tot, swc, extra, _mine in rows:
        m = re.search(r"others=(-?\d+)", extra)
        if m:
            noise.setdefault(mode, []).append(int(m.group(1)))
    if noise:
        lines.append("")
        lines.append("Busy CPU not explained by the benchmark's own processes (client, servers, switch, "
                     "ksoftirqd), median over all tests, % of a core; a noise indicator (negative values are "
                     "`/proc/stat` under-counting, see below): "
                     + ", ".join(f"{m} {statistics.median(noise[m]):.0f}" for m in modes if m in noise) + ".")
    lines.append("")
    lines.append("CPU columns, in % of one core (200 = both cores): *total* is whole-machine busy time from "
                 "`/proc/stat` over the 1 Gbit/s test, as asked; on this VM it under-counts bursty paced load "
                 "(user/system time there is tick-sampled), so it can come out below *accounted*, the sum of "
                 "the precise per-process times of the iperf3 client and server, the switch process and "
                 "ksoftirqd (the reference's \"CPU at 1 Gbit/s\" column is this sum). *switch* is "
                 "ovs-vswitchd's or hwol-vswitchd's own time (all threads; 0 for direct and bridge).")
    lines.append("")
    lines.append("Pod offloads per mode: " + "; ".join(f"{m}: {POD_OFFLOADS[m]}" for m in modes) + ".")
    lines.append("")

    # Targets from the issue.
    lines.append("Targets from the issue (ratios of medians from this run):")
    lines.append("")

    def target(desc, val, ok_fn, fmt_val, missing_mode):
        if val is None:
            why = unavailable.get(missing_mode, "not measured in this run")
            lines.append(f"- {desc}: **FAIL** (not measured: {missing_mode} {why if len(why) < 200 else why[:200]})")
        else:
            lines.append(f"- {desc}: {fmt_val(val)} → **{'PASS' if ok_fn(val) else 'FAIL'}**")

    tc, sw, d, o = get("hwol-tc", "tcp"), get("hwol-sw", "tcp"), get("direct", "tcp"), get("ovs", "tcp")
    target("hwol-tc TCP ≥ 0.9 × direct", ratio(tc, d), lambda r: r >= 0.9, lambda r: f"{r:.2f} × direct", "hwol-tc")
    target("hwol-tc TCP ≥ 1.5 × ovs", ratio(tc, o), lambda r: r >= 1.5, lambda r: f"{r:.2f} × ovs", "hwol-tc")
    target("hwol-sw TCP ≥ 1.0 × ovs", ratio(sw, o), lambda r: r >= 1.0, lambda r: f"{r:.2f} × ovs", "hwol-sw")
    target("hwol-sw conn/s ≥ 1.0 × ovs", ratio(get("hwol-sw", "crr"), get("ovs", "crr")), lambda r: r >= 1.0,
           lambda r: f"{r:.2f} × ovs", "hwol-sw")
    for m in ("hwol-xdp", "hwol-tc"):
        target(f"{m}: hwol-vswitchd < 2 % of a core at 1 Gbit/s", get(m, "cpu1g", 2), lambda c: c < 2.0,
               lambda c: f"{c:.1f} %", m)
    floor = get("tc-redirect", "tcp")
    if tc is not None and floor is not None and d:
        lines.append("")
        lines.append(f"Where hwol-tc's distance to direct comes from (same run, TCP): the representor hop with "
                     f"nothing but a redirect (tc-redirect) reaches {floor / d:.2f} × direct, and hwol-tc "
                     f"reaches {tc / floor:.2f} × tc-redirect, which is the cost of hwol's lookups, conntrack "
                     f"and counters.")
    if failures:
        lines.append("")
        lines.append("Failures during the run:")
        lines.append("")
        for rnd, mode, test, msg in failures:
            lines.append(f"- round {rnd}, {mode}, {test}: {msg.replace(chr(10), ' ')[:300]}")
    for m, msg in unavailable.items():
        lines.append("")
        lines.append(f"`{m}` was not available: {msg}")
    lines.append("")
    lines.append(f"Raw per-run numbers were written to `{tsv_path}` (not kept in the repository).")

    chart_note = chart(a, modes, med)
    lines.append("")
    lines.append(chart_note)
    text = "\n".join(lines) + "\n"
    open(f"{rdir}/report.md", "w").write(text)
    print("\n" + text, flush=True)
    if a.doc:
        write_doc(a.doc, text)
        log(f"wrote the section of {a.doc}")


def chart(a, modes, med):
    if not a.png:
        return "No chart requested."
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except Exception as e:  # noqa: BLE001 - any import failure means "no chart"
        log(f"chart skipped: matplotlib not importable ({e})")
        return f"The chart was skipped: matplotlib could not be imported ({e})."
    shown = [m for m in modes if (m, "tcp") in med or (m, "crr") in med]
    tcp = [med.get((m, "tcp"), (0,))[0] for m in shown]
    crr = [med.get((m, "crr"), (0,))[0] for m in shown]
    fig, ax1 = plt.subplots(figsize=(9, 4.5), dpi=110)
    ax2 = ax1.twinx()
    xs = range(len(shown))
    w = 0.38
    b1 = ax1.bar([x - w / 2 for x in xs], tcp, w, label="TCP Gbit/s (left)", color="#3b75af")
    b2 = ax2.bar([x + w / 2 for x in xs], crr, w, label="TCP conn/s (right)", color="#ef8636")
    ax1.bar_label(b1, fmt="%.1f", fontsize=8)
    ax2.bar_label(b2, fmt="%.0f", fontsize=8)
    ax1.set_xticks(list(xs))
    ax1.set_xticklabels(shown)
    ax1.set_ylabel("TCP Gbit/s (one stream)")
    ax2.set_ylabel("TCP connections / s")
    ax1.set_ylim(0, max(tcp + [1]) * 1.2)
    ax2.set_ylim(0, max(crr + [1]) * 1.2)
    title = "Two pods through the switch (medians"
    title += ", QUICK smoke run)" if a.quick else f", {a.rounds} rounds)"
    ax1.set_title(title)
    ax1.legend(handles=[b1, b2], loc="upper right", fontsize=8)
    fig.tight_layout()
    fig.savefig(a.png)
    log(f"chart: {a.png}")
    return f"![TCP Gbit/s and conn/s per mode]({os.path.basename(a.png)})"


BEGIN = "<!-- BEGIN NET (scripts/bench-net.sh writes this) -->"
END = "<!-- END NET -->"
HEADING = """
## Two pods through the switch

`scripts/bench-net.sh` (as root) builds two pods (network namespaces, eth0 =
one end of a veth pair, the other end a host-side "representor", MTU 1500) and
measures them joined six ways in one run, interleaved and repeated: a direct
veth pair (the ceiling), a Linux bridge, Open vSwitch 3.1's userspace datapath
with a conntrack pipeline (the peer), and hwol-vswitchd with the software
datapath only, the XDP fast path and the TC fast path. The tests are one iperf3
TCP stream, TCP paced at 1 Gbit/s (CPU: whole machine, and the switch process
alone), 64-byte UDP, and a connect/1-byte/close loop (new connections through
conntrack). As above, the claims are the ratios against modes measured in the
same run; `QUICK=1 scripts/bench-net.sh` is a smoke run.
"""


def write_doc(path, section):
    text = open(path).read() if os.path.exists(path) else "# Benchmarks\n"
    if BEGIN not in text or END not in text:
        text = text.rstrip("\n") + "\n" + HEADING + "\n" + BEGIN + "\n" + END + "\n"
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    open(path, "w").write(head + BEGIN + "\n\n" + section + "\n" + END + tail)


def cleanup(a):
    """Remove everything named with the prefix (used by the shell trap)."""
    p = a.prefix
    for ns in (f"{p}-pod1", f"{p}-pod2"):
        if os.path.exists(f"/run/netns/{ns}"):
            for pid in sh("ip", "netns", "pids", ns, check=False).stdout.split():
                try:
                    os.kill(int(pid), signal.SIGKILL)
                except OSError:
                    pass
            sh("ip", "netns", "del", ns, check=False)
    for dev in os.listdir("/sys/class/net"):
        if dev.startswith(p):
            sh("ip", "link", "del", dev, check=False)
    pin = f"/sys/fs/bpf/hwol/{p}"
    if os.path.exists(pin):
        shutil.rmtree(pin, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("--prefix", required=True)
    r.add_argument("--hwol", required=True)
    r.add_argument("--vswitchd", required=True)
    r.add_argument("--doc")
    r.add_argument("--png")
    r.add_argument("--results")
    r.add_argument("--modes", default=os.environ.get("BENCH_MODES", ",".join(MODES)))
    c = sub.add_parser("cleanup")
    c.add_argument("--prefix", required=True)
    a = ap.parse_args()
    if a.cmd == "cleanup":
        cleanup(a)
        return 0
    if not re.fullmatch(r"[a-z][a-z0-9]{1,9}", a.prefix):
        ap.error("--prefix: 2-10 lowercase letters/digits (interface names are limited to 15 bytes)")
    a.quick = os.environ.get("QUICK", "0") == "1"
    if a.quick:
        a.seconds, a.udp_seconds, a.crr_seconds, a.rounds = 3, 2, 2, 1
    else:
        a.seconds = int(os.environ.get("BENCH_SECONDS", "10"))
        a.udp_seconds = max(2, a.seconds // 2)
        a.crr_seconds = max(2, a.seconds // 2)
        a.rounds = int(os.environ.get("BENCH_ROUNDS", "3"))
    return run(a)


if __name__ == "__main__":
    sys.exit(main())
