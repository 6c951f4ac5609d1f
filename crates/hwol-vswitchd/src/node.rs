//! The running switch as other parts of the daemon (unixctl, OVSDB, OpenFlow,
//! the CNI plugin's requests) see it: [`Node`].
//!
//! A node owns the bridge, its ports and the pod pipeline. Ports are opened
//! in the caller's thread (so errors come straight back), added to the
//! switch, and then handed to the packet loop over a channel; the loop owns
//! the sockets from then on. Removal goes the other way.
//!
//! Pods attached with [`Node::pod_add`] are written to
//! `<rundir>/hwol-vswitchd.pods`, so a restarted daemon (after a crash or a
//! clean stop) re-attaches them and regenerates the same flows: the pipeline
//! is a pure function of the `[pipeline]` config and the pod list.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use hwol_offload::OffloadProvider;
use hwol_pipeline::{EthAddr, Pipeline, PipelineConfig};
use hwol_switch::Switch;
use serde::{Deserialize, Serialize};
use tracing::{info, warn};

use crate::ports::{open_port, Ctl, Port, Rx};

/// The switch type the daemon runs.
pub type DaemonSwitch = Switch<Box<dyn OffloadProvider>>;

/// Why a node operation failed. Every message names the port or pod.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    /// The interface could not be opened.
    #[error("port {name}: {detail}")]
    Open {
        /// Interface name.
        name: String,
        /// What went wrong, and what to check.
        detail: String,
    },
    /// The requested OpenFlow port number is taken or out of range.
    #[error("port {name}: OpenFlow port {ofport} {why}")]
    Ofport {
        /// Interface name.
        name: String,
        /// The number asked for.
        ofport: u32,
        /// "is out of range (1-65279)" or "is used by X".
        why: String,
    },
    /// No free OpenFlow port numbers.
    #[error("port {0}: no free OpenFlow port number")]
    Full(String),
    /// Pods need the `[pipeline]` config section.
    #[error("no [pipeline] section in the daemon's config: set subnet, gateway_ip and gateway_mac to attach pods")]
    NoPipeline,
    /// A pod's arguments are invalid.
    #[error("pod {iface}: {detail}")]
    Pod {
        /// Its interface.
        iface: String,
        /// What is wrong.
        detail: String,
    },
    /// The switch refused the change.
    #[error(transparent)]
    Switch(#[from] hwol_switch::Error),
}

/// A port as the control plane sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PortInfo {
    /// Interface name.
    pub name: String,
    /// OpenFlow (= datapath) port number.
    pub ofport: u32,
    /// Free-form metadata (OVS's Interface external_ids).
    pub external_ids: BTreeMap<String, String>,
}

/// A pod attached through [`Node::pod_add`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pod {
    /// The switch-side interface (VF representor or host veth).
    pub iface: String,
    /// Kubernetes namespace.
    pub namespace: String,
    /// Kubernetes pod name.
    pub name: String,
    /// Container (sandbox) id.
    pub container_id: String,
    /// The pod interface's MAC address.
    pub mac: String,
    /// The pod's IPv4 address.
    pub ip: Ipv4Addr,
}

impl Pod {
    fn external_ids(&self) -> BTreeMap<String, String> {
        [
            ("attached-mac", self.mac.clone()),
            ("ip-address", self.ip.to_string()),
            ("k8s-pod-namespace", self.namespace.clone()),
            ("k8s-pod-name", self.name.clone()),
            ("container-id", self.container_id.clone()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect()
    }
}

struct Inner {
    ports: BTreeMap<String, PortInfo>,
    /// The pipeline without pods, if configured.
    pipeline: Option<PipelineConfig>,
    pods: BTreeMap<String, Pod>,
    /// The pipeline flows currently installed (ovs-ofctl text).
    installed: String,
}

/// The running bridge: switch, ports and pods. Shared as `Arc<Node>`;
/// every method may be called from any thread.
pub struct Node {
    bridge: String,
    rundir: PathBuf,
    sw: Arc<DaemonSwitch>,
    rx: Rx,
    ctl: Mutex<mpsc::Sender<Ctl>>,
    inner: Mutex<Inner>,
    now: fn() -> Duration,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Node {
    pub(crate) fn new(
        rundir: &Path,
        sw: Arc<DaemonSwitch>,
        rx: Rx,
        ctl: mpsc::Sender<Ctl>,
        pipeline: Option<PipelineConfig>,
        now: fn() -> Duration,
    ) -> Node {
        let bridge = sw.ofproto().name().to_string();
        Node {
            bridge,
            rundir: rundir.to_path_buf(),
            sw,
            rx,
            ctl: Mutex::new(ctl),
            inner: Mutex::new(Inner {
                ports: BTreeMap::new(),
                pipeline,
                pods: BTreeMap::new(),
                installed: String::new(),
            }),
            now,
        }
    }

    /// The bridge name.
    pub fn bridge(&self) -> &str {
        &self.bridge
    }

    /// The run directory (pidfile, control socket, state files).
    pub fn rundir(&self) -> &Path {
        &self.rundir
    }

    /// The switch: ofproto, datapath, offload manager.
    pub fn switch(&self) -> &Arc<DaemonSwitch> {
        &self.sw
    }

    /// The ports, by name.
    pub fn ports(&self) -> Vec<PortInfo> {
        lock(&self.inner).ports.values().cloned().collect()
    }

    /// Attach interface `name` as a port. `ofport` asks for a number (as
    /// OVS's `ofport_request`); `None` takes the lowest free one. Idempotent
    /// per name: a port that exists keeps its number and gets the new
    /// `external_ids`. Returns the port's number.
    pub fn add_port(
        &self,
        name: &str,
        ofport: Option<u32>,
        external_ids: BTreeMap<String, String>,
    ) -> Result<u32, NodeError> {
        let mut inner = lock(&self.inner);
        self.add_port_locked(&mut inner, name, ofport, external_ids)
    }

    fn add_port_locked(
        &self,
        inner: &mut Inner,
        name: &str,
        ofport: Option<u32>,
        external_ids: BTreeMap<String, String>,
    ) -> Result<u32, NodeError> {
        if let Some(p) = inner.ports.get_mut(name) {
            p.external_ids = external_ids;
            return Ok(p.ofport);
        }
        let reserved = inner.pipeline.as_ref().map(|c| u32::from(c.gateway.ofport));
        let taken = |n: u32| inner.ports.values().find(|p| p.ofport == n).map(|p| p.name.clone());
        let ofport = match ofport {
            Some(n) if n == 0 || n >= 0xff00 => {
                return Err(NodeError::Ofport { name: name.into(), ofport: n, why: "is out of range (1-65279)".into() })
            }
            Some(n) => {
                if let Some(by) = taken(n) {
                    return Err(NodeError::Ofport { name: name.into(), ofport: n, why: format!("is used by {by}") });
                }
                n
            }
            None => (1..0xff00)
                .find(|n| taken(*n).is_none() && Some(*n) != reserved)
                .ok_or_else(|| NodeError::Full(name.into()))?,
        };
        let port: Port = open_port(name, ofport, self.rx)
            .map_err(|e| NodeError::Open { name: name.into(), detail: format!("{e:#}") })?;
        self.sw.add_port(ofport, name)?;
        // The packet loop owns the socket from here; if it is gone the
        // daemon is stopping and the socket closes with the message.
        let _ = lock(&self.ctl).send(Ctl::AddPort(port));
        inner.ports.insert(name.to_string(), PortInfo { name: name.into(), ofport, external_ids });
        info!(port = %name, ofport, "port added");
        Ok(ofport)
    }

    /// Detach port `name`. `Ok(false)` if there was no such port.
    pub fn del_port(&self, name: &str) -> Result<bool, NodeError> {
        let mut inner = lock(&self.inner);
        self.del_port_locked(&mut inner, name)
    }

    fn del_port_locked(&self, inner: &mut Inner, name: &str) -> Result<bool, NodeError> {
        let Some(p) = inner.ports.remove(name) else { return Ok(false) };
        self.sw.del_port(p.ofport)?;
        let _ = lock(&self.ctl).send(Ctl::DelPort(p.ofport));
        info!(port = %name, ofport = p.ofport, "port deleted");
        Ok(true)
    }

    /// Attach a pod: its interface becomes a port carrying the pod's
    /// metadata, and the pipeline gains the pod's flows. Idempotent for the
    /// same arguments; different arguments for the same interface replace
    /// the pod. Returns the port's number.
    pub fn pod_add(&self, pod: Pod) -> Result<u32, NodeError> {
        let mut inner = lock(&self.inner);
        let r = self.pod_add_locked(&mut inner, pod);
        if r.is_ok() {
            self.save_pods(&inner);
        }
        r
    }

    fn pod_add_locked(&self, inner: &mut Inner, pod: Pod) -> Result<u32, NodeError> {
        if inner.pipeline.is_none() {
            return Err(NodeError::NoPipeline);
        }
        let mac = hwol_netdev::emunic::parse_mac(&pod.mac)
            .map_err(|e| NodeError::Pod { iface: pod.iface.clone(), detail: e.to_string() })?;
        if inner.pods.get(&pod.iface) == Some(&pod) {
            return Ok(inner.ports[&pod.iface].ofport);
        }
        let iface = pod.iface.clone();
        let existed = inner.ports.contains_key(&iface);
        let ofport = self.add_port_locked(inner, &iface, None, pod.external_ids())?;
        let pod = Pod { mac: hwol_netdev::emunic::format_mac(&mac), ..pod };
        let previous = inner.pods.insert(iface.clone(), pod);
        if let Err(e) = self.install_pipeline(inner) {
            // Put everything back as it was.
            match previous {
                Some(p) => inner.pods.insert(iface.clone(), p),
                None => inner.pods.remove(&iface),
            };
            if !existed {
                let _ = self.del_port_locked(inner, &iface);
            }
            return Err(e);
        }
        info!(iface = %iface, ofport, "pod attached");
        Ok(ofport)
    }

    /// Detach a pod: its flows go, then its port. `Ok(false)` if no pod
    /// was attached on `iface` (a port of that name is left alone).
    pub fn pod_del(&self, iface: &str) -> Result<bool, NodeError> {
        let mut inner = lock(&self.inner);
        let Some(pod) = inner.pods.remove(iface) else { return Ok(false) };
        if let Err(e) = self.install_pipeline(&mut inner) {
            inner.pods.insert(iface.to_string(), pod);
            return Err(e);
        }
        self.del_port_locked(&mut inner, iface)?;
        self.save_pods(&inner);
        info!(iface, "pod detached");
        Ok(true)
    }

    /// The pod on `iface` and its port, as one line of JSON.
    pub fn pod_show(&self, iface: &str) -> Option<String> {
        let inner = lock(&self.inner);
        let pod = inner.pods.get(iface)?;
        let port = inner.ports.get(iface)?;
        Some(
            serde_json::json!({
                "iface": iface,
                "ofport": port.ofport,
                "external_ids": port.external_ids,
                "pod": pod,
            })
            .to_string(),
        )
    }

    /// The attached pods.
    pub fn pods(&self) -> Vec<Pod> {
        lock(&self.inner).pods.values().cloned().collect()
    }

    /// Regenerate the pipeline from the config and the pods, and apply the
    /// difference to the bridge.
    fn install_pipeline(&self, inner: &mut Inner) -> Result<(), NodeError> {
        let Some(base) = &inner.pipeline else { return Ok(()) };
        let mut cfg = base.clone();
        for pod in inner.pods.values() {
            let bad = |detail: String| NodeError::Pod { iface: pod.iface.clone(), detail };
            let port = inner.ports.get(&pod.iface).ok_or_else(|| bad("not a port".into()))?;
            let mac = hwol_netdev::emunic::parse_mac(&pod.mac).map_err(|e| bad(e.to_string()))?;
            cfg.pods.push(hwol_pipeline::Port {
                ofport: u16::try_from(port.ofport).map_err(|_| bad("port number above 65279".into()))?,
                name: pod.iface.clone(),
                mac: EthAddr(mac),
                ip: pod.ip,
            });
        }
        let text =
            Pipeline::build(&cfg).map_err(|e| NodeError::Pod { iface: "pipeline".into(), detail: e.to_string() })?;
        let text = text.to_ofctl_text();
        let (added, deleted) = self.sw.replace_flows(&inner.installed, &text, (self.now)())?;
        inner.installed = text;
        info!(added, deleted, pods = inner.pods.len(), "pipeline updated");
        Ok(())
    }

    fn pods_file(&self) -> PathBuf {
        self.rundir.join("hwol-vswitchd.pods")
    }

    fn save_pods(&self, inner: &Inner) {
        let pods: Vec<&Pod> = inner.pods.values().collect();
        let text = serde_json::to_string_pretty(&pods).unwrap_or_default();
        let file = self.pods_file();
        let tmp = file.with_extension("pods.tmp");
        if let Err(e) = std::fs::write(&tmp, text + "\n").and_then(|()| std::fs::rename(&tmp, &file)) {
            warn!(error = %e, file = %file.display(), "cannot save the pod list");
        }
    }

    /// Start-up: install the base pipeline and re-attach the pods a previous
    /// run saved. A pod whose interface is gone is dropped with a warning.
    pub(crate) fn restore(&self) -> Result<usize, NodeError> {
        let mut inner = lock(&self.inner);
        if inner.pipeline.is_none() {
            return Ok(0);
        }
        self.install_pipeline(&mut inner)?;
        let saved: Vec<Pod> = match std::fs::read_to_string(self.pods_file()) {
            Ok(text) => serde_json::from_str(&text).unwrap_or_else(|e| {
                warn!(error = %e, file = %self.pods_file().display(), "ignoring an unreadable pod list");
                Vec::new()
            }),
            Err(_) => Vec::new(),
        };
        let mut n = 0;
        for pod in saved {
            let iface = pod.iface.clone();
            match self.pod_add_locked(&mut inner, pod) {
                Ok(_) => n += 1,
                Err(e) => warn!(iface = %iface, error = %e, "could not re-attach a pod from the previous run"),
            }
        }
        self.save_pods(&inner);
        Ok(n)
    }
}
