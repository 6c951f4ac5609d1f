//! The control loop: config.json, sysfs and kubelet, polled.
//!
//! Every [`Options::poll_interval`] [`Manager::tick`]:
//!
//! 1. re-reads config.json; when its text changed and parses, the new
//!    config is used (a config that does not parse is logged and the old one
//!    kept; only at start is it fatal);
//! 2. scans sysfs ([`crate::sysfs`]) and assigns devices to resources:
//!    first every device `Allocate` handed out goes back to the resource it
//!    was allocated from (if it is still present), whatever the config now
//!    says, so a reload never takes a device from under a running pod; then
//!    the rest go to the first resource in config order whose selectors
//!    match (a device is never in two pools);
//! 3. publishes each pool (open `ListAndWatch` streams see the change);
//!    a resource gone from the config keeps serving while it still holds
//!    allocated devices, then stops;
//! 4. makes sure each resource has a server whose socket is still there,
//!    and is registered with the current kubelet: when kubelet restarts it
//!    deletes our sockets and recreates kubelet.sock (a new inode), and we
//!    start new servers and register again. Registration failures (kubelet
//!    not up yet) are retried on the next tick.
//!
//! Polling rather than inotify: sysfs attributes raise no inotify events,
//! the ConfigMap volume is updated through symlink swaps that are easy to
//! miss with inotify, and a tick costs a few hundred small reads.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::config::{Config, ResourceConfig};
use crate::plugin::{file_id, register, Resource, Server, KUBELET_SOCKET};
use crate::pool::Pool;
use crate::sysfs::{PciNetDevice, Sysfs};
use crate::Error;

/// Where things are and how often to look.
#[derive(Debug, Clone)]
pub struct Options {
    /// config.json (the `sriovdp-config` ConfigMap's key, mounted).
    pub config_path: PathBuf,
    /// The sysfs root (`/sys`).
    pub sysfs_root: PathBuf,
    /// kubelet's device-plugins dir (`/var/lib/kubelet/device-plugins`),
    /// holding kubelet.sock and our sockets.
    pub plugin_dir: PathBuf,
    /// How often to poll config, sysfs and kubelet.
    pub poll_interval: Duration,
}

struct Managed {
    resource: Arc<Resource>,
    server: Option<Server>,
    registered: bool,
}

/// The device plugin's state between ticks.
pub struct Manager {
    opts: Options,
    sysfs: Sysfs,
    config_text: Option<String>,
    config: Config,
    resources: BTreeMap<String, Managed>,
    kubelet_id: Option<(u64, u64)>,
}

/// The socket file name for a resource (`hwol-mellanox.com-cx5_sriov_switchdev.sock`).
pub fn socket_name(r: &ResourceConfig) -> String {
    format!("hwol-{}-{}.sock", r.prefix, r.name)
}

impl Manager {
    /// Reads config.json once; fails if it is missing or invalid.
    pub fn new(opts: Options) -> Result<Manager, Error> {
        let sysfs = Sysfs::new(&opts.sysfs_root);
        let mut m = Manager {
            opts,
            sysfs,
            config_text: None,
            config: Config { resources: vec![] },
            resources: BTreeMap::new(),
            kubelet_id: None,
        };
        m.reload_config()?;
        Ok(m)
    }

    /// The served resources, by `<prefix>/<name>`.
    pub fn resources(&self) -> BTreeMap<String, Arc<Resource>> {
        self.resources.iter().map(|(k, m)| (k.clone(), m.resource.clone())).collect()
    }

    /// Re-reads config.json; `Ok(true)` if a new config is in use.
    fn reload_config(&mut self) -> Result<bool, Error> {
        let path = &self.opts.config_path;
        let text = std::fs::read_to_string(path).map_err(|error| Error::ConfigRead { path: path.clone(), error })?;
        if self.config_text.as_deref() == Some(text.as_str()) {
            return Ok(false);
        }
        let config = Config::parse(&text).map_err(|error| Error::Config { path: path.clone(), error })?;
        self.config_text = Some(text);
        self.config = config;
        Ok(true)
    }

    /// One round: config, devices, pools, servers, registration. Errors
    /// reading config or sysfs are logged and the previous state kept.
    pub async fn tick(&mut self) {
        match self.reload_config() {
            Ok(true) => tracing::info!(path = %self.opts.config_path.display(), "config loaded"),
            Ok(false) => {}
            Err(e) => tracing::warn!("{e}; keeping the previous config"),
        }
        let devices = match self.sysfs.scan() {
            Ok(d) => d,
            Err(e) => {
                tracing::warn!(
                    "cannot list {}/bus/pci/devices: {e}; is sysfs mounted at the --sysfs-root given?",
                    self.sysfs.root().display()
                );
                return;
            }
        };
        self.assign(devices).await;
        self.serve_and_register().await;
    }

    async fn assign(&mut self, devices: Vec<PciNetDevice>) {
        let mut by_addr: BTreeMap<String, PciNetDevice> =
            devices.into_iter().map(|d| (d.pci_address.clone(), d)).collect();
        let mut pools: BTreeMap<String, Pool> = BTreeMap::new();
        // Allocated devices stay where they were allocated.
        for (name, m) in &self.resources {
            let cfg = self
                .config
                .resources
                .iter()
                .find(|r| &r.full_name() == name)
                .cloned()
                .unwrap_or_else(|| m.resource.pool().resource.clone());
            let mut pool = Pool { resource: cfg, devices: BTreeMap::new() };
            for addr in m.resource.allocated() {
                if let Some(d) = by_addr.remove(&addr) {
                    pool.devices.insert(addr, d);
                }
            }
            pools.insert(name.clone(), pool);
        }
        for r in &self.config.resources {
            let pool =
                pools.entry(r.full_name()).or_insert_with(|| Pool { resource: r.clone(), devices: BTreeMap::new() });
            let hits: Vec<String> = by_addr.values().filter(|d| r.matches(d)).map(|d| d.pci_address.clone()).collect();
            for addr in hits {
                if let Some(d) = by_addr.remove(&addr) {
                    pool.devices.insert(addr, d);
                }
            }
        }
        for (name, pool) in pools {
            let in_config = self.config.resources.iter().any(|r| r.full_name() == name);
            if !in_config && pool.devices.is_empty() {
                if let Some(m) = self.resources.remove(&name) {
                    tracing::info!(resource = %name, "removed from config and holds no allocated device: stopping");
                    if let Some(s) = m.server {
                        s.stop().await;
                    }
                }
                continue;
            }
            match self.resources.get(&name) {
                Some(m) => {
                    if m.resource.publish(pool) {
                        tracing::info!(resource = %name, "device list changed");
                    }
                }
                None => {
                    let n = pool.devices.len();
                    tracing::info!(resource = %name, devices = n, "new resource");
                    self.resources
                        .insert(name, Managed { resource: Resource::new(pool), server: None, registered: false });
                }
            }
        }
    }

    async fn serve_and_register(&mut self) {
        let kubelet_sock = self.opts.plugin_dir.join(KUBELET_SOCKET);
        let kubelet_id = file_id(&kubelet_sock);
        if kubelet_id != self.kubelet_id {
            if kubelet_id.is_some() {
                tracing::info!(socket = %kubelet_sock.display(), "kubelet (re)started: registering again");
            }
            self.kubelet_id = kubelet_id;
            for m in self.resources.values_mut() {
                m.registered = false;
            }
        }
        for (name, m) in &mut self.resources {
            if m.server.as_ref().is_some_and(|s| !s.socket_intact()) {
                tracing::info!(resource = %name, "our socket was removed (kubelet restart?): serving again");
                if let Some(s) = m.server.take() {
                    s.stop().await;
                }
            }
            let endpoint = socket_name(&m.resource.pool().resource);
            if m.server.is_none() {
                match Server::start(m.resource.clone(), self.opts.plugin_dir.join(&endpoint)).await {
                    Ok(s) => {
                        m.server = Some(s);
                        m.registered = false;
                    }
                    Err(e) => {
                        tracing::warn!(resource = %name, "{e}");
                        continue;
                    }
                }
            }
            if !m.registered && kubelet_id.is_some() {
                match register(&kubelet_sock, &endpoint, name).await {
                    Ok(()) => {
                        tracing::info!(resource = %name, endpoint = %endpoint, "registered with kubelet");
                        m.registered = true;
                    }
                    Err(e) => tracing::warn!("{e}"),
                }
            }
        }
    }

    /// Ticks until `shutdown` resolves, then stops every server and removes
    /// its socket.
    pub async fn run(mut self, shutdown: impl std::future::Future<Output = ()>) {
        tokio::pin!(shutdown);
        loop {
            self.tick().await;
            tokio::select! {
                _ = tokio::time::sleep(self.opts.poll_interval) => {}
                _ = &mut shutdown => break,
            }
        }
        for (_, m) in std::mem::take(&mut self.resources) {
            if let Some(s) = m.server {
                s.stop().await;
            }
        }
    }

    /// The PCI addresses allocated per resource.
    pub fn allocations(&self) -> BTreeMap<String, BTreeSet<String>> {
        self.resources.iter().map(|(k, m)| (k.clone(), m.resource.allocated())).collect()
    }
}
