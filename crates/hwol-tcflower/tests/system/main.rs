//! System tests against the running kernel (root; CI runs as root). Each
//! test works in a network namespace of its own (`hwol-fl-<pid>-<n>`),
//! removed by a Drop guard even when the test fails, so nothing outside it
//! is touched.
//!
//! - conntrack: hwol-committed connections really land in the kernel's
//!   conntrack through ctnetlink (zone, mark, TCP ESTABLISHED, ASSURED,
//!   timeout), are read back, and are deleted; checked with our own
//!   ctnetlink GET and with `conntrack -L -w <zone>` (conntrack-tools).
//! - tc: the provider's real rtnetlink socket adds the clsact qdisc and
//!   sends the flower filter. On a kernel with cls_flower the filter must
//!   show up in `tc filter show`, count, and go away; on one without (this
//!   build machine) the add must fail with the kernel's own error and the
//!   hint naming cls_flower.

use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use hwol_conntrack::CtTuple;
use hwol_flow::{Action, FlowKey, FlowMask};
use hwol_offload::{CtOffload, OffloadError, OffloadFlow, OffloadProvider};
use hwol_tcflower::{FlowerProvider, TcPolicy};

fn is_root() -> bool {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status.lines().find(|l| l.starts_with("Uid:")).and_then(|l| l.split_whitespace().nth(2)) == Some("0")
}

fn run(args: &[&str]) -> String {
    let out = Command::new(args[0]).args(&args[1..]).output().unwrap_or_else(|e| panic!("{args:?}: {e}"));
    String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
}

fn must(args: &[&str]) {
    let out = Command::new(args[0]).args(&args[1..]).output().unwrap_or_else(|e| panic!("{args:?}: {e}"));
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

/// A network namespace that is deleted on drop.
struct Netns(String);

impl Netns {
    fn new() -> Netns {
        static N: AtomicU32 = AtomicU32::new(0);
        let name = format!("hwol-fl-{}-{}", std::process::id(), N.fetch_add(1, Ordering::Relaxed));
        must(&["ip", "netns", "add", &name]);
        Netns(name)
    }

    /// Run `f` on a thread inside the namespace.
    fn enter<T: Send + 'static>(&self, f: impl FnOnce() -> T + Send + 'static) -> T {
        let path = format!("/var/run/netns/{}", self.0);
        std::thread::spawn(move || {
            let fd = std::fs::File::open(&path).expect("open netns");
            nix::sched::setns(fd, nix::sched::CloneFlags::CLONE_NEWNET).expect("setns");
            f()
        })
        .join()
        .expect("netns thread")
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.0]).status();
    }
}

#[test]
fn conntrack_entries_are_inserted_read_and_deleted() {
    assert!(is_root(), "this system test needs root (netns, ctnetlink): run it as root (CI does)");
    let ns = Netns::new();
    let zone = 20000 + (std::process::id() % 40000) as u16;
    let tcp = CtTuple::ports("198.51.100.1".parse().unwrap(), "198.51.100.2".parse().unwrap(), 6, 40000, 5201);
    let udp = CtTuple::ports("fd00:5::1".parse().unwrap(), "fd00:5::2".parse().unwrap(), 17, 5000, 53);
    let used = ns.enter(move || {
        let mut p = FlowerProvider::open(TcPolicy::None).expect("netlink sockets");
        p.ct_put(&CtOffload { zone, orig: tcp, mark: 7, label: 0 }).expect("insert TCP");
        p.ct_put(&CtOffload { zone, orig: udp, mark: 0, label: 0 }).expect("insert UDP");
        // Inserting again is not an error (EEXIST).
        p.ct_put(&CtOffload { zone, orig: tcp, mark: 7, label: 0 }).expect("insert again");
        let used = p.ct_used().expect("read back");
        (p, used)
    });
    let (p, used) = used;
    assert_eq!(used.len(), 2, "{used:?}");
    assert!(used.iter().all(|(z, _, _)| *z == zone));
    let listed = run(&["ip", "netns", "exec", &ns.0, "conntrack", "-L", "-w", &zone.to_string()]);
    let tcp_line = listed.lines().find(|l| l.starts_with("tcp")).unwrap_or_else(|| panic!("no tcp entry:\n{listed}"));
    for want in
        ["ESTABLISHED", "src=198.51.100.1", "dst=198.51.100.2", "sport=40000", "dport=5201", "[ASSURED]", "mark=7"]
    {
        assert!(tcp_line.contains(want), "{want} missing from {tcp_line}");
    }
    assert!(tcp_line.contains(&format!("zone={zone}")), "{tcp_line}");
    // The reply direction is the reverse tuple.
    assert!(tcp_line.contains("src=198.51.100.2 dst=198.51.100.1 sport=5201 dport=40000"), "{tcp_line}");
    assert!(listed.lines().any(|l| l.starts_with("udp") && l.contains("src=fd00:5::1")), "{listed}");

    let mut p = p;
    ns.enter(move || {
        p.ct_del(zone, &tcp).expect("delete TCP");
        p.ct_del(zone, &udp).expect("delete UDP");
        p.ct_del(zone, &udp).expect("deleting twice is fine");
    });
    let listed = run(&["ip", "netns", "exec", &ns.0, "conntrack", "-L", "-w", &zone.to_string()]);
    assert!(!listed.contains("198.51.100") && !listed.contains("fd00:5::"), "{listed}");
}

fn flow() -> OffloadFlow {
    let key = FlowKey { in_port: 1, eth_type: 0x0800, nw_proto: 6, nw_dst: [10, 9, 0, 2], ..Default::default() };
    let mut mask = FlowMask::default();
    mask.0.in_port = !0;
    mask.0.recirc_id = !0;
    mask.0.eth_type = !0;
    mask.0.nw_proto = !0;
    mask.0.nw_dst = [0xff; 4];
    mask.0.vlans[0].tpid = !0;
    OffloadFlow { ufid: 0x5eed, key, mask, actions: vec![Action::Output(2)] }
}

#[test]
fn rtnetlink_edge_adds_clsact_and_sends_the_filter() {
    assert!(is_root(), "this system test needs root (netns, tc): run it as root (CI does)");
    let ns = Netns::new();
    must(&["ip", "-n", &ns.0, "link", "add", "fla", "type", "veth", "peer", "name", "flb"]);
    must(&["ip", "-n", &ns.0, "link", "set", "fla", "up"]);
    must(&["ip", "-n", &ns.0, "link", "set", "flb", "up"]);
    let res = ns.enter(|| {
        let mut p = FlowerProvider::open(TcPolicy::SkipHw).expect("netlink sockets");
        p.port_add(1, "fla").expect("port fla");
        p.port_add(1, "fla").expect("clsact already there is fine");
        p.port_add(2, "flb").expect("port flb");
        let missing = p.port_add(3, "no-such-dev").unwrap_err();
        let put = p.flow_put(&flow());
        // The upcall probe: a flower filter with act_ct, act_vlan, act_mirred on flb.
        let mut q = FlowerProvider::open(TcPolicy::None).expect("netlink sockets");
        let probe = q.set_upcall("flb");
        (p, missing, put, probe)
    });
    let (mut p, missing, put, probe) = res;
    match (&put, &probe) {
        (Ok(()), Ok(())) => {}
        (Err(_), Err(OffloadError::Failed(e))) => {
            assert!(e.contains("probing flower on flb") && e.contains("cls_flower"), "{e}")
        }
        other => panic!("flower works for one and not the other: {other:?}"),
    }
    assert!(missing.to_string().contains("no-such-dev"), "{missing}");
    let qd = run(&["ip", "netns", "exec", &ns.0, "tc", "qdisc", "show", "dev", "fla"]);
    assert!(qd.contains("clsact"), "{qd}");
    match put {
        Ok(()) => {
            // A kernel with cls_flower: the filter is there, skip_hw, with our cookie.
            let shown = run(&["ip", "netns", "exec", &ns.0, "tc", "-s", "filter", "show", "dev", "fla", "ingress"]);
            assert!(shown.contains("flower") && shown.contains("skip_hw"), "{shown}");
            assert!(shown.contains("10.9.0.2"), "{shown}");
            let stats = ns.enter(move || {
                let s = p.flow_stats().expect("stats");
                p.flow_del(0x5eed).expect("delete");
                s
            });
            assert_eq!(stats.len(), 1);
            let shown = run(&["ip", "netns", "exec", &ns.0, "tc", "filter", "show", "dev", "fla", "ingress"]);
            assert!(!shown.contains("flower"), "{shown}");
        }
        Err(OffloadError::Failed(e)) => {
            // This build machine: no cls_flower. The kernel's refusal and the hint must both be there.
            eprintln!("flower add refused as expected on this kernel: {e}");
            assert!(e.contains("cls_flower") && e.contains("fla"), "{e}");
            assert!(e.contains("classifier") || e.contains("No such file"), "kernel error missing: {e}");
        }
        Err(other) => panic!("unexpected: {other:?}"),
    }
    let _ = Duration::ZERO;
}
