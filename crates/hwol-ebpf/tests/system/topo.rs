//! A private topology for one test: three network namespaces (a "host"
//! holding the representors `rep1`/`rep2` and the upcall pair `upa`/`upb`,
//! and pods `p1`/`p2` with `eth0`), with unique names, removed on drop even
//! when the test panics. Nothing outside these namespaces and the test's own
//! bpffs instance is touched.

use std::fs::File;
use std::net::UdpSocket;
use std::os::fd::{AsRawFd, OwnedFd};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use nix::sched::CloneFlags;
use nix::sys::socket::{self, AddressFamily, LinkAddr, SockFlag, SockProtocol, SockType};

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// Fail loudly (never skip) without root.
pub fn require_root() {
    assert!(
        nix::unistd::geteuid().is_root(),
        "hwol-ebpf system tests need root (CI runs them as root): run `sudo -E cargo test -p hwol-ebpf --test system`"
    );
}

pub fn run(args: &[&str]) {
    let out = Command::new(args[0]).args(&args[1..]).output().unwrap_or_else(|e| panic!("running {args:?}: {e}"));
    assert!(out.status.success(), "{args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
}

/// Run `f` on a thread that has entered network namespace `ns`.
pub fn in_ns<T: Send>(ns: &str, f: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|s| {
        s.spawn(|| {
            let fd = File::open(format!("/run/netns/{ns}")).unwrap_or_else(|e| panic!("netns {ns}: {e}"));
            nix::sched::setns(fd, CloneFlags::CLONE_NEWNET).unwrap_or_else(|e| panic!("setns {ns}: {e}"));
            f()
        })
        .join()
        .unwrap_or_else(|e| std::panic::resume_unwind(e))
    })
}

pub const MAC1: &str = "02:00:00:00:00:01";
pub const MAC2: &str = "02:00:00:00:00:02";
pub const MAC_GHOST: &str = "02:00:00:00:00:63";
pub const IP1: [u8; 4] = [10, 77, 0, 1];
pub const IP2: [u8; 4] = [10, 77, 0, 2];
pub const IP_GHOST: [u8; 4] = [10, 77, 0, 99];

pub struct Topo {
    pub host: String,
    pub p1: String,
    pub p2: String,
    pub instance: String,
}

impl Topo {
    /// `xdp`: turn TX checksum offload off in the pods (XDP loses it).
    pub fn new(xdp: bool) -> Topo {
        require_root();
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let id = format!("{}-{n}", std::process::id());
        let t = Topo {
            host: format!("hwolt-{id}-h"),
            p1: format!("hwolt-{id}-p1"),
            p2: format!("hwolt-{id}-p2"),
            instance: format!("test-{id}"),
        };
        // From here on, Drop cleans up whatever was made.
        for ns in [&t.host, &t.p1, &t.p2] {
            run(&["ip", "netns", "add", ns]);
            run(&["ip", "netns", "exec", ns, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1"]);
            run(&["ip", "netns", "exec", ns, "sysctl", "-qw", "net.ipv6.conf.default.disable_ipv6=1"]);
            run(&["ip", "-n", ns, "link", "set", "lo", "up"]);
        }
        for (i, (pod, mac, ip)) in [(&t.p1, MAC1, IP1), (&t.p2, MAC2, IP2)].into_iter().enumerate() {
            let rep = format!("rep{}", i + 1);
            run(&["ip", "-n", &t.host, "link", "add", &rep, "type", "veth", "peer", "name", "eth0", "netns", pod]);
            run(&["ip", "-n", pod, "link", "set", "eth0", "address", mac]);
            run(&["ip", "-n", pod, "addr", "add", &format!("{}/24", fmt_ip(ip)), "dev", "eth0"]);
            run(&["ip", "-n", pod, "link", "set", "eth0", "up"]);
            run(&["ip", "-n", &t.host, "link", "set", &rep, "up"]);
            if xdp {
                run(&["ip", "netns", "exec", pod, "ethtool", "-K", "eth0", "tx", "off"]);
            }
        }
        run(&["ip", "-n", &t.host, "link", "add", "upa", "type", "veth", "peer", "name", "upb"]);
        run(&["ip", "-n", &t.host, "link", "set", "upa", "up"]);
        run(&["ip", "-n", &t.host, "link", "set", "upb", "up"]);
        // No ARP through the fast path: static neighbours.
        for (pod, ip, mac) in [(&t.p1, IP2, MAC2), (&t.p2, IP1, MAC1), (&t.p1, IP_GHOST, MAC_GHOST)] {
            run(&["ip", "-n", pod, "neigh", "replace", &fmt_ip(ip), "lladdr", mac, "dev", "eth0"]);
        }
        t
    }
}

impl Drop for Topo {
    fn drop(&mut self) {
        // Pins first (detaches programs), then the namespaces (and with them every device we made).
        if let Err(e) = hwol_ebpf::cleanup_instance(&self.instance) {
            eprintln!("cleanup of {}: {e}", self.instance);
        }
        for ns in [&self.p1, &self.p2, &self.host] {
            let _ = Command::new("ip").args(["netns", "del", ns]).status();
        }
    }
}

pub fn fmt_ip(ip: [u8; 4]) -> String {
    format!("{}.{}.{}.{}", ip[0], ip[1], ip[2], ip[3])
}

pub fn mac(s: &str) -> [u8; 6] {
    let mut m = [0u8; 6];
    for (o, p) in m.iter_mut().zip(s.split(':')) {
        *o = u8::from_str_radix(p, 16).unwrap();
    }
    m
}

/// A UDP socket in `ns`, bound to `ip:port`, with a short read timeout.
pub fn udp(ns: &str, ip: [u8; 4], port: u16) -> UdpSocket {
    in_ns(ns, || {
        let s = UdpSocket::bind((fmt_ip(ip).as_str(), port))
            .unwrap_or_else(|e| panic!("bind {}:{port} in {ns}: {e}", fmt_ip(ip)));
        s.set_read_timeout(Some(Duration::from_millis(500))).unwrap();
        s
    })
}

/// Receive until `marker` arrives (true) or the read times out (false).
pub fn recv_marker(s: &UdpSocket, marker: &[u8]) -> bool {
    let mut buf = [0u8; 2048];
    while let Ok((n, _)) = s.recv_from(&mut buf) {
        if &buf[..n] == marker {
            return true;
        }
    }
    false
}

/// An AF_PACKET socket seeing every frame in `ns`.
pub struct Tap(OwnedFd);

impl Tap {
    pub fn open(ns: &str) -> Tap {
        in_ns(ns, || {
            Tap(socket::socket(AddressFamily::Packet, SockType::Raw, SockFlag::SOCK_NONBLOCK, SockProtocol::EthAll)
                .expect("AF_PACKET socket"))
        })
    }

    /// Frames seen so far that contain `needle`, with the ifindex they were seen on.
    pub fn drain(&self, needle: &[u8]) -> Vec<(usize, Vec<u8>)> {
        let mut out = Vec::new();
        let mut buf = [0u8; 4096];
        while let Ok((n, addr)) = socket::recvfrom::<LinkAddr>(self.0.as_raw_fd(), &mut buf) {
            let frame = &buf[..n];
            if frame.windows(needle.len()).any(|w| w == needle) {
                out.push((addr.map(|a| a.ifindex()).unwrap_or(0), frame.to_vec()));
            }
        }
        out
    }
}

pub fn ifindex_in(ns: &str, ifname: &str) -> usize {
    in_ns(ns, || nix::net::if_::if_nametoindex(ifname).unwrap() as usize)
}
