//! `hwol-vswitchd`: the hwol switch daemon.
//!
//! Threads:
//!
//! - **handler** (this crate's main loop): reads frames from every port's
//!   AF_PACKET ring (TPACKET_V3, virtio-net headers, so GSO and
//!   checksum-offloaded frames pass whole), runs them through the software
//!   datapath, handles misses through ofproto, and transmits with the
//!   frame's virtio-net header so the kernel segments and checksums;
//! - **revalidator**: every 500 ms merges fast-path counters, revalidates
//!   megaflows and syncs conntrack with the fast path;
//! - **offload**: applies queued offload work to the provider;
//! - **unixctl**: answers `ovs-appctl -t hwol-vswitchd ...`.
//!
//! With the XDP provider, the fast path forwards hits before the kernel's
//! packet taps, so the handler only ever sees misses.
//!
//! SIGTERM or SIGINT (or `ovs-appctl exit`) stops cleanly: threads are
//! joined, the fast path is detached and its pinned state removed, and the
//! pidfile and socket are deleted. After SIGKILL the pinned fast path keeps
//! forwarding; the next start adopts it.

mod config;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, RwLock};
use std::time::Duration;

use anyhow::{Context, Result};
use clap::Parser;
use hwol_datapath::Packet;
use hwol_netdev::afpacket::{wait_any, PacketPort, PortConfig};
use hwol_netdev::vnet::VnetHdr;
use hwol_offload::memory::MemoryProvider;
use hwol_offload::OffloadProvider;
use hwol_switch::{Switch, Transmit};
use hwol_unixctl::{Commands, Server};
use tracing::{error, info, warn};

use config::Config;

#[derive(Parser, Debug)]
#[command(name = "hwol-vswitchd", version, about = "The hwol switch daemon")]
struct Args {
    /// Configuration file (TOML); see the crate docs for the keys.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Where the pidfile and control socket go (default: $OVS_RUNDIR, else /run/hwol).
    #[arg(long)]
    rundir: Option<PathBuf>,
    /// Log filter, e.g. `info` or `hwol_vswitchd=debug`.
    #[arg(long, default_value = "info")]
    log: String,
}

/// The monotonic clock the fast path also uses (`bpf_ktime_get_ns`).
fn now() -> Duration {
    nix::time::clock_gettime(nix::time::ClockId::CLOCK_MONOTONIC).map(Duration::from).unwrap_or_default()
}

/// Where a port's received frames come from.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Rx {
    /// Frames on this socket arrived on this port.
    Port,
    /// Not read (tc mode: the fast path delivers misses via the upcall device).
    None,
    /// The upcall device: the ingress port is the VLAN id of the 802.1ad tag
    /// the tc program pushed (the kernel hands it over as metadata).
    Upcall,
}

struct Port {
    ofport: u32,
    sock: PacketPort,
    rx: Rx,
}

struct PortTx<'a> {
    ports: &'a [Port],
    vnet: VnetHdr,
    in_len: usize,
}

impl Transmit for PortTx<'_> {
    fn transmit(&mut self, port: u32, pkt: &Packet) -> bool {
        let Some(p) = self.ports.iter().find(|p| p.ofport == port && p.rx != Rx::Upcall) else { return false };
        let delta = pkt.len() as i32 - self.in_len as i32;
        let vnet = self.vnet.shifted(delta).unwrap_or(VnetHdr::NONE);
        if let Err(e) = p.sock.send(&vnet, pkt.data()) {
            warn!(port = %p.sock.ifname(), error = %e, "transmit failed");
        }
        true
    }
}

/// When the handler last processed packets, and a way to wait for it.
#[derive(Default)]
struct Activity {
    last_ns: std::sync::atomic::AtomicU64,
    wake: (std::sync::Mutex<bool>, std::sync::Condvar),
}

impl Activity {
    fn note(&self, t: Duration) {
        let before = self.last_ns.swap(t.as_nanos() as u64, Ordering::Relaxed);
        // Wake the offload thread only on the edge from idle to busy.
        if Duration::from_nanos(before) + Duration::from_millis(100) < t {
            let (m, c) = &self.wake;
            *m.lock().unwrap_or_else(|e| e.into_inner()) = true;
            c.notify_one();
        }
    }

    fn last(&self) -> Duration {
        Duration::from_nanos(self.last_ns.load(Ordering::Relaxed))
    }

    fn wait(&self, timeout: Duration) {
        let (m, c) = &self.wake;
        let mut woken = m.lock().unwrap_or_else(|e| e.into_inner());
        if !*woken {
            woken = c.wait_timeout(woken, timeout).map(|(g, _)| g).unwrap_or_else(|e| e.into_inner().0);
        }
        *woken = false;
    }
}

enum Ctl {
    AddPort(String, u32, mpsc::Sender<Result<(), String>>),
}

fn main() -> ExitCode {
    let args = Args::parse();
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_new(&args.log).unwrap_or_else(|_| "info".into()))
        .with_target(false)
        .init();
    match run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            error!("{e:#}");
            eprintln!("hwol-vswitchd: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn provider(cfg: &Config) -> Result<(Box<dyn OffloadProvider>, bool)> {
    Ok(match cfg.offload.provider.as_str() {
        "tc" => {
            let dev = format!("{}0", cfg.offload.upcall);
            let p = hwol_ebpf::TcProvider::attach_or_adopt(&cfg.offload.instance, Some(&dev))
                .with_context(|| format!("starting the tc fast path (instance {:?})", cfg.offload.instance))?;
            (Box::new(p), true)
        }
        "xdp" | "xdp-generic" => {
            let generic = cfg.offload.provider == "xdp-generic";
            let p = hwol_ebpf::XdpProvider::attach_or_adopt(&cfg.offload.instance, generic)
                .with_context(|| format!("starting the XDP fast path (instance {:?})", cfg.offload.instance))?;
            (Box::new(p), true)
        }
        _ => (Box::new(MemoryProvider::new(0, 0)), false),
    })
}

fn open_port(name: &str, ofport: u32, rx: Rx) -> Result<Port> {
    // Frames are read one by one (no ring): the slow path sees connection
    // set-ups, where a ring's block-retire delay (a 4 ms tick) would
    // dominate. The upcall device's port tag comes back as auxiliary data.
    let cfg = PortConfig { rx: rx != Rx::None, ring: false, ..PortConfig::default() };
    let sock = PacketPort::open(name, &cfg)
        .with_context(|| format!("port {name} (ofport {ofport}): cannot open it; does the interface exist?"))?;
    Ok(Port { ofport, sock, rx })
}

/// tc mode: the veth pair the fast path sends misses through. It is
/// recreated if a crashed run left it behind.
fn upcall_pair(stem: &str, create: bool) -> Result<()> {
    let (a, b) = (format!("{stem}0"), format!("{stem}1"));
    let ip = |args: &[&str]| -> Result<()> {
        let out = std::process::Command::new("ip").args(args).output().context("running ip (install iproute2)")?;
        if !out.status.success() {
            anyhow::bail!("ip {}: {}", args.join(" "), String::from_utf8_lossy(&out.stderr).trim());
        }
        Ok(())
    };
    let _ = ip(&["link", "del", &a]);
    if create {
        ip(&["link", "add", &a, "type", "veth", "peer", "name", &b])?;
        ip(&["link", "set", &a, "up"])?;
        ip(&["link", "set", &b, "up"])?;
    }
    Ok(())
}

fn run(args: Args) -> Result<()> {
    let cfg = match &args.config {
        Some(p) => Config::load(p)?,
        None => Config::parse("")?,
    };
    let rundir = args
        .rundir
        .or_else(|| std::env::var_os("OVS_RUNDIR").map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from("/run/hwol"));
    std::fs::create_dir_all(&rundir).with_context(|| format!("creating the run directory {}", rundir.display()))?;

    let tc = cfg.offload.provider == "tc";
    if tc {
        upcall_pair(&cfg.offload.upcall, true)?;
    }
    let (prov, enabled) = provider(&cfg)?;
    let sw = Arc::new(Switch::new(&cfg.bridge, prov, enabled));
    sw.ofproto().set_max_idle(Duration::from_millis(cfg.max_idle_ms));
    // What a previous run left in the fast path keeps forwarding: take it
    // over (flows, connections, and the recirc ids the flows use).
    let recirc_file = rundir.join("hwol-vswitchd.recirc");
    let saved = std::fs::read_to_string(&recirc_file).ok();
    let (flows, conns) = sw.adopt(saved.as_deref(), now());
    if flows + conns > 0 {
        info!(flows, connections = conns, "adopted the fast path's state from a previous run");
    }

    let mut ports = Vec::new();
    let rep_rx = if tc { Rx::None } else { Rx::Port };
    if tc {
        ports.push(open_port(&format!("{}1", cfg.offload.upcall), 0, Rx::Upcall)?);
    }
    for p in &cfg.ports {
        ports.push(open_port(&p.name, p.ofport, rep_rx)?);
        sw.add_port(p.ofport, &p.name)?;
        info!(port = %p.name, ofport = p.ofport, "port added");
    }
    if let Some(f) = &cfg.flows {
        let text = std::fs::read_to_string(f).with_context(|| format!("reading flows {}", f.display()))?;
        let n = sw.add_flows(&text, now()).with_context(|| format!("loading {}", f.display()))?;
        info!(flows = n, file = %f.display(), "flows loaded");
    }

    let stop = Arc::new(AtomicBool::new(false));
    signal_hook::flag::register(signal_hook::consts::SIGTERM, stop.clone())?;
    signal_hook::flag::register(signal_hook::consts::SIGINT, stop.clone())?;

    let (ctl_tx, ctl_rx) = mpsc::channel::<Ctl>();
    let mut cmds = Commands::default();
    sw.register_commands(&mut cmds, Arc::new(now));
    {
        let stop = stop.clone();
        cmds.register("exit", "", 0, 0, move |_| {
            stop.store(true, Ordering::Relaxed);
            Ok(String::new())
        });
        let s = sw.clone();
        cmds.register("hwol/add-flows", "FILE", 1, 1, move |a| {
            let text = std::fs::read_to_string(&a[0]).map_err(|e| format!("{}: {e}", a[0]))?;
            s.add_flows(&text, now()).map(|n| format!("{n} flows added\n")).map_err(|e| e.to_string())
        });
        let s = sw.clone();
        cmds.register("hwol/del-flows", "", 0, 0, move |_| {
            let n = s.ofproto().flow_delete(&hwol_switch::FlowFilter::all(), false);
            Ok(format!("{n} flows deleted\n"))
        });
        let tx = std::sync::Mutex::new(ctl_tx);
        cmds.register("hwol/add-port", "NAME OFPORT", 2, 2, move |a| {
            let ofport: u32 = a[1].parse().map_err(|_| format!("{:?} is not a port number", a[1]))?;
            let (rtx, rrx) = mpsc::channel();
            tx.lock()
                .map_err(|_| "handler gone")?
                .send(Ctl::AddPort(a[0].clone(), ofport, rtx))
                .map_err(|_| "handler gone")?;
            rrx.recv_timeout(Duration::from_secs(5)).map_err(|_| "handler did not answer".to_string())??;
            Ok(String::new())
        });
    }
    let _server = Server::start_named(
        &rundir,
        "hwol-vswitchd",
        concat!("hwol-vswitchd ", env!("CARGO_PKG_VERSION")),
        Arc::new(RwLock::new(cmds)),
    )?;
    info!(rundir = %rundir.display(), "control socket ready (ovs-appctl -t hwol-vswitchd ...)");

    let reval = {
        let (sw, stop) = (sw.clone(), stop.clone());
        let recirc_file = recirc_file.clone();
        std::thread::Builder::new().name("revalidator".into()).spawn(move || {
            let mut saved = String::new();
            while !stop.load(Ordering::Relaxed) {
                for _ in 0..10 {
                    if stop.load(Ordering::Relaxed) {
                        return;
                    }
                    std::thread::sleep(Duration::from_millis(50));
                }
                sw.revalidate(now());
                // Keep the recirc ids on disk for a restart after a crash.
                let text = sw.ofproto().recirc_save();
                if text != saved {
                    let tmp = recirc_file.with_extension("recirc.tmp");
                    match std::fs::write(&tmp, &text).and_then(|()| std::fs::rename(&tmp, &recirc_file)) {
                        Ok(()) => saved = text,
                        Err(e) => warn!(error = %e, file = %recirc_file.display(), "cannot save recirc ids"),
                    }
                }
            }
        })?
    };
    let activity = Arc::new(Activity::default());
    let offload = {
        let (sw, stop) = (sw.clone(), stop.clone());
        let activity = activity.clone();
        std::thread::Builder::new().name("offload".into()).spawn(move || {
            // Busy (queue work, or the handler saw packets in the last
            // 100 ms): apply the queue every 2 ms and sync conntrack every
            // 5 ms, so connections move to the fast path right after their
            // handshake. Idle (everything offloaded, so the handler sees
            // nothing): sleep until the handler reports packets, waking at
            // least every 50 ms.
            let mut last_sync = now();
            while !stop.load(Ordering::Relaxed) {
                let t = now();
                let busy = t.saturating_sub(activity.last()) < Duration::from_millis(100);
                if busy && t.saturating_sub(last_sync) >= Duration::from_millis(5) {
                    sw.sync_conntrack(t);
                    last_sync = t;
                }
                if sw.offload_run(512) == 0 {
                    if busy {
                        std::thread::sleep(Duration::from_millis(2));
                    } else {
                        activity.wait(Duration::from_millis(50));
                        sw.sync_conntrack(now());
                        last_sync = now();
                    }
                }
            }
        })?
    };

    handler(&sw, &mut ports, &stop, &ctl_rx, rep_rx, &activity);

    info!("stopping");
    let _ = reval.join();
    let _ = offload.join();
    drop(ports);
    let instance = cfg.offload.instance.clone();
    let offloading = cfg.offload.provider != "none";
    drop(sw);
    if offloading {
        if let Err(e) = hwol_ebpf::cleanup_instance(&instance) {
            warn!(error = %e, "could not remove the fast path's pinned state");
        }
    }
    if tc {
        let _ = upcall_pair(&cfg.offload.upcall, false);
    }
    // A clean stop removed the fast path; its recirc ids mean nothing now.
    let _ = std::fs::remove_file(&recirc_file);
    info!("stopped");
    Ok(())
}

/// The packet loop: every port's ring, until `stop`.
fn handler(
    sw: &Switch<Box<dyn OffloadProvider>>,
    ports: &mut Vec<Port>,
    stop: &AtomicBool,
    ctl: &mpsc::Receiver<Ctl>,
    rep_rx: Rx,
    activity: &Activity,
) {
    const BATCH: usize = 256;
    let mut pool: Vec<(Packet, VnetHdr, u32)> = Vec::new();
    let mut scratch = vec![0u8; 65536 + 64];
    while !stop.load(Ordering::Relaxed) {
        while let Ok(Ctl::AddPort(name, ofport, reply)) = ctl.try_recv() {
            let r = open_port(&name, ofport, rep_rx).and_then(|p| {
                sw.add_port(ofport, &name)?;
                Ok(p)
            });
            let _ = reply.send(match r {
                Ok(p) => {
                    ports.push(p);
                    info!(port = %name, ofport, "port added");
                    Ok(())
                }
                Err(e) => Err(format!("{e:#}")),
            });
        }
        if ports.is_empty() {
            std::thread::sleep(Duration::from_millis(50));
            continue;
        }
        let ready = {
            let refs: Vec<&PacketPort> = ports.iter().filter(|p| p.rx != Rx::None).map(|p| &p.sock).collect();
            match wait_any(&refs, Duration::from_millis(50)) {
                Ok(r) => r,
                Err(e) => {
                    warn!(error = %e, "poll failed");
                    std::thread::sleep(Duration::from_millis(50));
                    continue;
                }
            }
        };
        let readable: Vec<usize> = (0..ports.len()).filter(|i| ports[*i].rx != Rx::None).collect();
        for (i, is_ready) in readable.into_iter().zip(ready) {
            if !is_ready {
                continue;
            }
            let upcall = ports[i].rx == Rx::Upcall;
            let own_port = ports[i].ofport;
            // Copy whole blocks out of the ring, then process with every
            // port available for transmit.
            let mut n = 0;
            while n < BATCH {
                let Ok(Some((vnet, range, tci))) = ports[i].sock.recv_copy_tagged(&mut scratch) else { break };
                let in_port = if upcall {
                    match tci {
                        Some(tci) => u32::from(tci & 0x0fff),
                        None => continue,
                    }
                } else {
                    own_port
                };
                if n == pool.len() {
                    pool.push((Packet::default(), VnetHdr::NONE, 0));
                }
                pool[n].0.reset(&scratch[range]);
                pool[n].0.l4_csum_partial = vnet.needs_csum();
                pool[n].1 = vnet;
                pool[n].2 = in_port;
                n += 1;
            }
            let t = now();
            if n > 0 {
                activity.note(t);
            }
            for (pkt, vnet, in_port) in pool.iter_mut().take(n) {
                let mut tx = PortTx { ports, vnet: *vnet, in_len: pkt.len() };
                sw.receive(*in_port, pkt, t, &mut tx);
            }
        }
    }
}
