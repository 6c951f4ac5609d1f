//! System tests: real veth pairs, network namespaces and AF_PACKET sockets.
//!
//! They need root (CI runs as root) and fail, not skip, without it. Every
//! name is unique to this process (pid-based), every resource is removed by
//! a guard's `Drop` even when an assertion fails, and nothing else on the
//! machine is touched. Total run time is a few seconds.

use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hwol_netdev::afpacket::{wait_any, PacketPort, PortConfig};
use hwol_netdev::emunic::{self, EmulatedNic, NicOptions, PodSpec};
use hwol_netdev::netns::Netns;
use hwol_netdev::Error;

fn require_root() {
    let status = std::fs::read_to_string("/proc/self/status").expect("read /proc/self/status");
    let uid = status.lines().find(|l| l.starts_with("Uid:")).and_then(|l| l.split_whitespace().nth(2)).unwrap_or("?");
    assert_eq!(
        uid, "0",
        "hwol-netdev system tests need root (they create veth pairs and network namespaces); \
         run them as root, e.g. `sudo -E cargo test -p hwol-netdev --test system`"
    );
}

/// A short, process-unique prefix: `t<pid><tag>`.
fn prefix(tag: char) -> String {
    format!("t{}{tag}", std::process::id())
}

fn sh(args: &[&str]) -> (bool, String) {
    let out = Command::new(args[0]).args(&args[1..]).output().expect("run command");
    let text = String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    (out.status.success(), text)
}

/// Removes, on drop, everything a test might have left: the prefix's pairs
/// (through the library), extra interfaces and namespaces by name.
struct Cleanup {
    prefix: String,
    links: Vec<String>,
    netns: Vec<String>,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        let _ = emunic::destroy_prefix(&self.prefix, &mut |_| {});
        for l in &self.links {
            let _ = Command::new("ip").args(["link", "del", l]).stderr(Stdio::null()).status();
        }
        for n in &self.netns {
            let _ = Netns::Named(n.clone()).delete();
        }
    }
}

#[test]
fn create_attach_detach_destroy() {
    require_root();
    let p = prefix('a');
    let (ns0, ns1) = (format!("hwolt{}a0", std::process::id()), format!("hwolt{}a1", std::process::id()));
    let _guard = Cleanup { prefix: p.clone(), links: vec![], netns: vec![ns0.clone(), ns1.clone()] };

    let mut nic = EmulatedNic::create(&p, 2, &NicOptions::default()).unwrap();
    assert_eq!(nic.vfs().len(), 2);
    let rep0 = nic.representor(0).unwrap();
    assert_eq!(rep0.ifname, format!("{p}r0"));
    let (ok, text) = sh(&["ip", "-d", "link", "show", &rep0.ifname]);
    assert!(ok && text.contains("state UP") || text.contains("LOWERLAYERDOWN"), "{text}");
    assert!(text.contains(&format!("alias hwol-emunic prefix={p} role=rep vf=0")), "{text}");
    assert!(text.contains(&emunic::format_mac(&rep0.mac)), "{text}");
    assert!(matches!(nic.representor(2), Err(Error::NoSuchVf { index: 2, count: 2, .. })));

    // A second create with the same prefix is refused, naming what exists.
    let e = EmulatedNic::create(&p, 2, &NicOptions::default()).unwrap_err();
    assert!(matches!(e, Error::AlreadyExists { .. }), "{e}");
    assert!(e.to_string().contains(&format!("hwol nic emulate destroy --prefix {p}")), "{e}");

    let mac = [0x02, 0x11, 0x22, 0x33, 0x44, 0x55];
    let mut spec = PodSpec::new(&ns0, "10.99.0.1/24".parse().unwrap());
    spec.mac = Some(mac);
    spec.mtu = Some(1400);
    spec.gateway = Some("10.99.0.254".parse().unwrap());
    nic.attach_pod(0, &spec).unwrap();
    nic.attach_pod(1, &PodSpec::new(&ns1, "10.99.0.2/24".parse().unwrap())).unwrap();

    let (ok, text) = sh(&["ip", "-n", &ns0, "addr", "show", "dev", "eth0"]);
    assert!(ok, "{text}");
    assert!(text.contains("link/ether 02:11:22:33:44:55"), "{text}");
    assert!(text.contains("inet 10.99.0.1/24"), "{text}");
    assert!(text.contains("mtu 1400"), "{text}");
    assert!(text.contains("state UP") || text.contains("UP,LOWER_UP"), "{text}");
    let (_, routes) = sh(&["ip", "-n", &ns0, "route"]);
    assert!(routes.contains("default via 10.99.0.254 dev eth0"), "{routes}");
    let (_, text) = sh(&["ip", "-n", &ns1, "addr", "show", "dev", "eth0"]);
    assert!(text.contains(&format!("link/ether {}", emunic::format_mac(&emunic::vf_mac(&p, 1)))), "{text}");
    // The VF ends left the host.
    assert!(!sh(&["ip", "link", "show", &format!("{p}vf0")]).0);

    // Attaching twice names the pod it is in.
    let e = nic.attach_pod(0, &PodSpec::new(&ns1, "10.99.0.3/24".parse().unwrap())).unwrap_err();
    assert!(e.to_string().contains(&format!("already attached to netns {ns0}")), "{e}");

    // Another process sees the same state.
    let other = EmulatedNic::open(&p).unwrap();
    let att = other.vfs()[0].attached.clone().expect("VF 0 attached");
    assert_eq!((att.netns, att.netns_owned, att.ifname.as_str()), (Netns::Named(ns0.clone()), true, "eth0"));
    drop(other); // open() never destroys on drop

    // Detach: back on the host under its own name, the created netns gone. Twice is fine.
    nic.detach_pod(0).unwrap();
    nic.detach_pod(0).unwrap();
    let (ok, text) = sh(&["ip", "link", "show", &format!("{p}vf0")]);
    assert!(ok, "{text}");
    assert!(!Netns::Named(ns0.clone()).exists());

    let removed = nic.destroy().unwrap();
    assert_eq!(removed.len(), 3, "{removed:?}"); // two pairs and ns1
    assert!(removed.iter().any(|r| r == &format!("network namespace {ns1}")), "{removed:?}");
    assert!(!sh(&["ip", "link", "show", &rep0.ifname]).0);
    assert!(!Netns::Named(ns1.clone()).exists());
    assert!(EmulatedNic::discover(&p).unwrap().is_empty());
    assert!(emunic::destroy_prefix(&p, &mut |_| {}).unwrap().is_empty());
}

#[test]
fn foreign_interfaces_are_never_touched() {
    require_root();
    let p = prefix('b');
    let foreign = format!("{p}r0");
    let _guard = Cleanup { prefix: p.clone(), links: vec![foreign.clone()], netns: vec![] };
    // Someone else's interface (a veth: this kernel has no dummy module).
    let peer = format!("{p}x0");
    let (ok, text) = sh(&["ip", "link", "add", &foreign, "type", "veth", "peer", "name", &peer]);
    assert!(ok, "{text}");
    let e = EmulatedNic::create(&p, 1, &NicOptions::default()).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "interface \"{foreign}\" already exists and was not created by hwol (no hwol alias); \
             pick another prefix or remove it yourself with `ip link del {foreign}`"
        )
    );
    assert!(emunic::destroy_prefix(&p, &mut |_| {}).unwrap().is_empty());
    assert!(sh(&["ip", "link", "show", &foreign]).0, "the foreign interface must survive");
    assert!(matches!(EmulatedNic::open(&p), Err(Error::NotFound { .. })));

    let e = PacketPort::open(&format!("{p}nope"), &PortConfig::default()).unwrap_err();
    assert!(e.to_string().contains("not found"), "{e}");
}

#[derive(Debug, Default)]
struct FwdStats {
    frames: u64,
    bytes: u64,
    gso_frames: u64,
    needs_csum: u64,
    max_frame: usize,
    max_gso_size: u16,
    send_errors: u64,
    truncated: u64,
    ring_drops: u64,
}

/// The tiny switch: everything from one representor goes out the other,
/// with its virtio-net header.
fn forward(a: &mut PacketPort, b: &mut PacketPort, stop: &AtomicBool) -> FwdStats {
    let mut st = FwdStats::default();
    // Reading the counters resets them: start from zero.
    let _ = (a.ring_stats(), b.ring_stats());
    while !stop.load(Ordering::Relaxed) {
        let ready = wait_any(&[a, b], Duration::from_millis(20)).expect("poll");
        for (from_a, r) in [(true, ready[0]), (false, ready[1])] {
            if !r {
                continue;
            }
            let (rx, tx) = if from_a { (&mut *a, &*b) } else { (&mut *b, &*a) };
            while let Some(block) = rx.try_recv() {
                for f in block.frames() {
                    if f.is_truncated() {
                        st.truncated += 1;
                        continue;
                    }
                    st.frames += 1;
                    st.bytes += f.data.len() as u64;
                    st.max_frame = st.max_frame.max(f.data.len());
                    if f.vnet.gso_size > 0 {
                        st.gso_frames += 1;
                        st.max_gso_size = st.max_gso_size.max(f.vnet.gso_size);
                    }
                    if f.vnet.needs_csum() {
                        st.needs_csum += 1;
                    }
                    if tx.send(&f.vnet, f.data).is_err() {
                        st.send_errors += 1;
                    }
                }
            }
        }
    }
    for p in [&*a, &*b] {
        let r = p.ring_stats().expect("PACKET_STATISTICS");
        st.ring_drops += u64::from(r.drops);
    }
    st
}

struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Pull `"bits_per_second": N` out of the `sum_received` object of iperf3 -J output.
fn received_bps(json: &str) -> Option<f64> {
    let at = json.find("\"sum_received\"")?;
    let rest = &json[at..];
    let k = rest.find("\"bits_per_second\":")? + "\"bits_per_second\":".len();
    rest[k..].trim_start().split(|c: char| c == ',' || c.is_whitespace()).next()?.parse().ok()
}

#[test]
fn tcp_between_pods_through_afpacket_forwarder_keeps_gso() {
    require_root();
    let started = Instant::now();
    let p = prefix('c');
    let (ns0, ns1) = (format!("hwolt{}c0", std::process::id()), format!("hwolt{}c1", std::process::id()));
    let _guard = Cleanup { prefix: p.clone(), links: vec![], netns: vec![ns0.clone(), ns1.clone()] };

    let mut nic = EmulatedNic::create(&p, 2, &NicOptions::default()).unwrap();
    nic.attach_pod(0, &PodSpec::new(&ns0, "10.98.0.1/24".parse().unwrap())).unwrap();
    nic.attach_pod(1, &PodSpec::new(&ns1, "10.98.0.2/24".parse().unwrap())).unwrap();
    for ns in [&ns0, &ns1] {
        let (_, k) = sh(&["ip", "netns", "exec", ns, "ethtool", "-k", "eth0"]);
        assert!(k.contains("tcp-segmentation-offload: on"), "pod offloads must stay on: {k}");
        assert!(k.contains("tx-checksumming: on"), "pod offloads must stay on: {k}");
    }

    let mut a = PacketPort::open(&nic.representor(0).unwrap().ifname, &PortConfig::default()).unwrap();
    let mut b = PacketPort::open(&nic.representor(1).unwrap().ifname, &PortConfig::default()).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let stop2 = stop.clone();
    let fwd = std::thread::spawn(move || forward(&mut a, &mut b, &stop2));
    // Whatever happens below, stop the forwarder.
    struct Stop(Arc<AtomicBool>);
    impl Drop for Stop {
        fn drop(&mut self) {
            self.0.store(true, Ordering::Relaxed);
        }
    }
    let stopper = Stop(stop);

    let _server = KillOnDrop(
        Command::new("timeout")
            .args(["15", "ip", "netns", "exec", &ns1, "iperf3", "-s", "-1", "-p", "5201"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start iperf3 server (is iperf3 installed?)"),
    );
    let mut out = String::new();
    let mut ok = false;
    for _ in 0..20 {
        std::thread::sleep(Duration::from_millis(100));
        let (o, text) = sh(&[
            "timeout",
            "10",
            "ip",
            "netns",
            "exec",
            &ns0,
            "iperf3",
            "-c",
            "10.98.0.2",
            "-p",
            "5201",
            "-t",
            "2",
            "-J",
        ]);
        out = text;
        if o {
            ok = true;
            break;
        }
        if !out.contains("Connection refused") && !out.contains("unable to connect") {
            break;
        }
    }
    drop(stopper);
    let st = fwd.join().expect("forwarder thread");
    assert!(ok, "iperf3 through the forwarder failed: {out}");
    let bps = received_bps(&out).expect("iperf3 JSON has sum_received.bits_per_second");
    eprintln!(
        "forwarder: {:.2} Gbit/s received by iperf3; {} frames, {} bytes, {} GSO frames (max gso_size {}), \
         {} NEEDS_CSUM, largest frame {} bytes, {} send errors, {} truncated, {} ring drops; test took {:?}",
        bps / 1e9,
        st.frames,
        st.bytes,
        st.gso_frames,
        st.max_gso_size,
        st.needs_csum,
        st.max_frame,
        st.send_errors,
        st.truncated,
        st.ring_drops,
        started.elapsed()
    );
    assert!(bps > 0.0);
    assert!(st.gso_frames > 0, "the forwarder saw no GSO frames: {st:?}");
    assert!(st.max_frame > 1514, "GSO frames should be larger than the MTU: {st:?}");
    assert!(st.needs_csum > 0, "{st:?}");
    assert_eq!(st.truncated, 0, "{st:?}");

    nic.destroy().unwrap();
}
