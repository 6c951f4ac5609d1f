//! `hwol-device-plugin`: advertises SR-IOV VFs to kubelet from the
//! `sriovdp-config` ConfigMap's config.json, as the SR-IOV network device
//! plugin does. See the library docs for what it reads and serves.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Result;
use clap::Parser;
use hwol_deviceplugin::manager::{Manager, Options};

#[derive(Parser, Debug)]
#[command(name = "hwol-device-plugin", version, about = "SR-IOV network device plugin for kubelet")]
struct Args {
    /// config.json with the resourceList (the sriovdp-config ConfigMap, mounted).
    #[arg(long, default_value = "/etc/pcidp/config.json")]
    config: PathBuf,
    /// Where sysfs is mounted.
    #[arg(long, default_value = "/sys")]
    sysfs_root: PathBuf,
    /// kubelet's device-plugins dir (holds kubelet.sock).
    #[arg(long, default_value = "/var/lib/kubelet/device-plugins")]
    plugin_dir: PathBuf,
    /// Seconds between polls of config.json, sysfs and kubelet.sock.
    #[arg(long, default_value_t = 2.0)]
    poll_seconds: f64,
    /// Log filter, e.g. `info` or `hwol_deviceplugin=debug`.
    #[arg(long, default_value = "info")]
    log: String,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<()> {
    let args = Args::parse();
    tracing_subscriber::fmt().with_env_filter(tracing_subscriber::EnvFilter::new(&args.log)).init();
    if !(args.poll_seconds > 0.0 && args.poll_seconds < 3600.0) {
        anyhow::bail!("--poll-seconds must be between 0 and 3600, got {}", args.poll_seconds);
    }
    let manager = Manager::new(Options {
        config_path: args.config,
        sysfs_root: args.sysfs_root,
        plugin_dir: args.plugin_dir,
        poll_interval: Duration::from_secs_f64(args.poll_seconds),
    })?;
    let shutdown = async {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = async { match term.as_mut() { Some(t) => { t.recv().await; } None => std::future::pending().await } } => {}
        }
        tracing::info!("stopping");
    };
    manager.run(shutdown).await;
    Ok(())
}
