//! `hwol-vswitchd`: the hwol switch daemon, as a library (the binary is
//! a thin `main`), so that the control-plane front ends (unixctl, OVSDB,
//! OpenFlow) plug into one [`Node`].
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

mod commands;
pub mod config;
mod node;
mod openflow;
pub mod ovsdb;
mod ports;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, RwLock};
use std::time::Duration;

use anyhow::{Context, Result};
use clap::Parser;
use hwol_offload::memory::MemoryProvider;
use hwol_offload::OffloadProvider;
use hwol_switch::Switch;
use hwol_unixctl::coverage::Coverage;
use hwol_unixctl::vlog::{Level, Vlog};
use hwol_unixctl::{Commands, Server};
use tracing::{info, warn};

use config::Config;
pub use node::{DaemonSwitch, Node, NodeError, Pod, PortInfo};
use ports::{handler, open_port, upcall_pair, Activity, Ctl, Rx};

/// The crates whose logs `vlog/list` and `vlog/set` control.
const LOG_MODULES: [&str; 12] = [
    "hwol_conntrack",
    "hwol_datapath",
    "hwol_ebpf",
    "hwol_netdev",
    "hwol_offload",
    "hwol_ofproto",
    "hwol_ofwire",
    "hwol_ovsdb",
    "hwol_switch",
    "hwol_tcflower",
    "hwol_unixctl",
    "hwol_vswitchd",
];

type LogHandle = tracing_subscriber::reload::Handle<tracing_subscriber::EnvFilter, tracing_subscriber::Registry>;
static LOG: std::sync::OnceLock<(LogHandle, Level)> = std::sync::OnceLock::new();

/// Log to stderr through `tracing`, filtered by `filter` (a level such as
/// `info`, or a `tracing` filter such as `hwol_switch=debug`). `vlog/set`
/// replaces the filter at run time.
pub fn init_logging(filter: &str) {
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    let env = tracing_subscriber::EnvFilter::try_new(filter).unwrap_or_else(|_| "info".into());
    let (layer, handle) = tracing_subscriber::reload::Layer::new(env);
    let _ =
        tracing_subscriber::registry().with(layer).with(tracing_subscriber::fmt::layer().with_target(false)).try_init();
    let level = match filter {
        "off" => Level::Off,
        "error" => Level::Err,
        "warn" => Level::Warn,
        "debug" | "trace" => Level::Dbg,
        _ => Level::Info,
    };
    let _ = LOG.set((handle, level));
}

/// `vlog/list`, `vlog/set` and `coverage/show`.
fn register_log_commands(cmds: &mut Commands, sw: &Arc<DaemonSwitch>) -> Arc<std::sync::Mutex<Coverage>> {
    let level = LOG.get().map(|(_, l)| *l).unwrap_or(Level::Info);
    let vlog = Arc::new(std::sync::Mutex::new(Vlog::new(LOG_MODULES, level)));
    let v = vlog.clone();
    cmds.register("vlog/list", "", 0, 0, move |_| Ok(v.lock().map_err(|_| "poisoned")?.list()));
    cmds.register("vlog/set", "{spec | PATTERN:destination:pattern}", 0, 16, move |a| {
        let mut v = vlog.lock().map_err(|_| "poisoned")?;
        v.set(a)?;
        if let Some((h, _)) = LOG.get() {
            h.reload(tracing_subscriber::EnvFilter::new(v.filter())).map_err(|e| e.to_string())?;
        }
        Ok(String::new())
    });
    let coverage = Arc::new(std::sync::Mutex::new(Coverage::new()));
    let (c, sw) = (coverage.clone(), sw.clone());
    cmds.register("coverage/show", "", 0, 0, move |_| {
        let mut c = c.lock().map_err(|_| "poisoned")?;
        c.sample(now(), sw.coverage());
        Ok(c.show(now()))
    });
    coverage
}

/// Command-line arguments.
#[derive(Parser, Debug)]
#[command(name = "hwol-vswitchd", version, about = "The hwol switch daemon")]
pub struct Args {
    /// Configuration file (TOML); see the crate docs for the keys.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Where the pidfile and control socket go (default: $OVS_RUNDIR, else /run/hwol).
    #[arg(long)]
    pub rundir: Option<PathBuf>,
    /// Log filter, e.g. `info` or `hwol_vswitchd=debug`.
    #[arg(long, default_value = "info")]
    pub log: String,
    /// Play ovs-vswitchd's part against this OVSDB server, e.g.
    /// `unix:/var/run/openvswitch/db.sock` or `tcp:127.0.0.1:6640` (overrides
    /// the config's `ovsdb` key; see docs/ovsdb.md).
    #[arg(long)]
    pub ovsdb: Option<String>,
}

/// The monotonic clock the fast path also uses (`bpf_ktime_get_ns`).
pub fn now() -> Duration {
    nix::time::clock_gettime(nix::time::ClockId::CLOCK_MONOTONIC).map(Duration::from).unwrap_or_default()
}

fn provider(cfg: &Config, rundir: &Path) -> Result<(Box<dyn OffloadProvider>, bool)> {
    Ok(match cfg.offload.provider.as_str() {
        "tc" => {
            let dev = format!("{}0", cfg.offload.upcall);
            let p = hwol_ebpf::TcProvider::attach_or_adopt(&cfg.offload.instance, Some(&dev))
                .with_context(|| format!("starting the tc fast path (instance {:?})", cfg.offload.instance))?;
            (Box::new(p), true)
        }
        "flower" => {
            let policy = hwol_tcflower::TcPolicy::parse(&cfg.offload.tc_policy).unwrap_or_default();
            let mut p = hwol_tcflower::FlowerProvider::open(policy)
                .context("opening the netlink sockets of the flower provider (rtnetlink, ctnetlink)")?;
            p.set_upcall(&format!("{}0", cfg.offload.upcall))?;
            // What it installed, so that a restart after a crash adopts the
            // filters and connections instead of flushing them.
            p.set_journal(rundir.join("hwol-vswitchd.flower"));
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

/// Run the daemon until SIGTERM, SIGINT or `ovs-appctl exit`.
pub fn run(args: Args) -> Result<()> {
    let mut cfg = match &args.config {
        Some(p) => Config::load(p)?,
        None => Config::parse("")?,
    };
    let remote = args.ovsdb.as_ref().or(cfg.ovsdb.as_ref()).map(|r| hwol_ovsdb::Remote::parse(r)).transpose()?;
    // other_config:hw-offload/tc-policy are read once, before the fast path starts.
    let started = remote.as_ref().map(|r| ovsdb::start_settings(r, &mut cfg));
    let rundir = args
        .rundir
        .or_else(|| std::env::var_os("OVS_RUNDIR").map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from("/run/hwol"));
    std::fs::create_dir_all(&rundir).with_context(|| format!("creating the run directory {}", rundir.display()))?;

    // tc and flower: misses come through the upcall device, not the representors.
    let tc = matches!(cfg.offload.provider.as_str(), "tc" | "flower");
    if tc {
        upcall_pair(&cfg.offload.upcall, true)?;
    }
    let (prov, enabled) = provider(&cfg, &rundir).inspect_err(|_| {
        if tc {
            let _ = upcall_pair(&cfg.offload.upcall, false);
        }
    })?;
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
    let (ctl_tx, ctl_rx) = mpsc::channel::<Ctl>();
    let pipeline = cfg.pipeline.as_ref().map(|p| p.to_pipeline()).transpose()?;
    let node = Arc::new(Node::new(&rundir, sw.clone(), rep_rx, ctl_tx, pipeline, now));
    for p in &cfg.ports {
        node.add_port(&p.name, Some(p.ofport), Default::default())?;
    }
    let pods = node.restore()?;
    if pods > 0 {
        info!(pods, "re-attached the pods of the previous run");
    }
    if let Some(f) = &cfg.flows {
        let text = std::fs::read_to_string(f).with_context(|| format!("reading flows {}", f.display()))?;
        let n = sw.add_flows(&text, now()).with_context(|| format!("loading {}", f.display()))?;
        info!(flows = n, file = %f.display(), "flows loaded");
    }

    let stop = Arc::new(AtomicBool::new(false));
    signal_hook::flag::register(signal_hook::consts::SIGTERM, stop.clone())?;
    signal_hook::flag::register(signal_hook::consts::SIGINT, stop.clone())?;

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
    }
    commands::register(&mut cmds, &node);
    let ovsdb = match (remote, started) {
        (Some(r), Some(started)) => {
            let o = ovsdb::Ovsdb::start(node.clone(), r, started, stop.clone())?;
            let status = o.status.clone();
            cmds.register("ovsdb/show", "", 0, 0, move |_| Ok(ovsdb::Ovsdb::show(&status)));
            Some(o)
        }
        _ => None,
    };
    let coverage = register_log_commands(&mut cmds, &sw);
    let _server = Server::start_named(
        &rundir,
        "hwol-vswitchd",
        concat!("hwol-vswitchd ", env!("CARGO_PKG_VERSION")),
        Arc::new(RwLock::new(cmds)),
    )?;
    info!(rundir = %rundir.display(), "control socket ready (ovs-appctl -t hwol-vswitchd ...)");
    let openflow_server = openflow::start(&node)?;

    let reval = {
        let (sw, stop) = (sw.clone(), stop.clone());
        let recirc_file = recirc_file.clone();
        let coverage = coverage.clone();
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
                coverage.lock().unwrap_or_else(|e| e.into_inner()).sample(now(), sw.coverage());
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

    handler(&sw, &mut ports, &stop, &ctl_rx, &activity);

    info!("stopping");
    drop(openflow_server);
    drop(ovsdb);
    let _ = reval.join();
    let _ = offload.join();
    drop(ports);
    drop(node);
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
