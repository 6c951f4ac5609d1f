//! A kubelet emulator speaking the real device plugin API v1beta1: the
//! `Registration` server on `kubelet.sock` in a directory, and, for every
//! plugin that registers, a `DevicePlugin` client that does what kubelet's
//! device manager does: `GetDevicePluginOptions`, then `ListAndWatch`,
//! keeping the latest device list per resource.
//!
//! It checks registrations as kubelet does (API version `v1beta1`, resource
//! name `<domain>/<name>`, endpoint a file name in the directory) and
//! refuses bad ones with the same kind of error. [`Kubelet::restart`] does
//! what a restarting kubelet does to the directory: deletes every socket in
//! it and recreates `kubelet.sock`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::net::UnixListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_stream::wrappers::UnixListenerStream;
use tonic::transport::Channel;
use tonic::{Request, Response, Status};

use crate::api;
use crate::api::device_plugin_client::DevicePluginClient;
use crate::api::registration_server::{Registration, RegistrationServer};
use crate::plugin::{unix_channel, API_VERSION, KUBELET_SOCKET};

/// What the emulator knows about a registered resource.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Registered {
    /// The registration.
    pub request: api::RegisterRequest,
    /// The options `GetDevicePluginOptions` returned.
    pub options: Option<api::DevicePluginOptions>,
    /// The latest `ListAndWatch` list (`None` before the first).
    pub devices: Option<Vec<api::Device>>,
    /// How many `ListAndWatch` messages arrived.
    pub updates: usize,
    /// Whether the `ListAndWatch` stream is open.
    pub connected: bool,
}

struct Shared {
    dir: PathBuf,
    /// Every registration, in order.
    log: Mutex<Vec<api::RegisterRequest>>,
    /// Per resource name.
    state: watch::Sender<BTreeMap<String, Registered>>,
    watchers: Mutex<Vec<JoinHandle<()>>>,
}

struct RegistrationService {
    shared: Arc<Shared>,
}

#[tonic::async_trait]
impl Registration for RegistrationService {
    async fn register(&self, req: Request<api::RegisterRequest>) -> Result<Response<api::Empty>, Status> {
        let r = req.into_inner();
        if r.version != API_VERSION {
            return Err(Status::invalid_argument(format!(
                "unsupported device plugin API version {:?}; supported: {API_VERSION}",
                r.version
            )));
        }
        let valid_name = r
            .resource_name
            .split_once('/')
            .is_some_and(|(d, n)| !d.is_empty() && !n.is_empty() && d.contains('.') && !n.contains('/'));
        if !valid_name {
            return Err(Status::invalid_argument(format!("invalid extended resource name {:?}", r.resource_name)));
        }
        if r.endpoint.is_empty() || r.endpoint.contains('/') {
            return Err(Status::invalid_argument(format!("invalid endpoint {:?}", r.endpoint)));
        }
        self.shared.log.lock().unwrap_or_else(|e| e.into_inner()).push(r.clone());
        self.shared.state.send_modify(|m| {
            m.insert(r.resource_name.clone(), Registered { request: r.clone(), ..Default::default() });
        });
        let shared = self.shared.clone();
        let task = tokio::spawn(async move { watch_plugin(shared, r).await });
        self.shared.watchers.lock().unwrap_or_else(|e| e.into_inner()).push(task);
        Ok(Response::new(api::Empty {}))
    }
}

/// kubelet's side of one plugin: options, then ListAndWatch until it ends.
async fn watch_plugin(shared: Arc<Shared>, r: api::RegisterRequest) {
    let name = r.resource_name.clone();
    let update = |f: &dyn Fn(&mut Registered)| {
        shared.state.send_modify(|m| {
            if let Some(e) = m.get_mut(&name) {
                if e.request == r {
                    f(e)
                }
            }
        })
    };
    let Ok(channel) = unix_channel(&shared.dir.join(&r.endpoint)).await else { return };
    let mut client = DevicePluginClient::new(channel);
    let Ok(opts) = client.get_device_plugin_options(api::Empty {}).await else { return };
    let opts = opts.into_inner();
    update(&|e| e.options = Some(opts));
    let Ok(stream) = client.list_and_watch(api::Empty {}).await else { return };
    let mut stream = stream.into_inner();
    update(&|e| e.connected = true);
    while let Ok(Some(msg)) = stream.message().await {
        update(&|e| {
            e.devices = Some(msg.devices.clone());
            e.updates += 1;
        });
    }
    update(&|e| e.connected = false);
}

/// A running kubelet emulator.
pub struct Kubelet {
    shared: Arc<Shared>,
    stop: watch::Sender<bool>,
    server: Option<JoinHandle<()>>,
}

impl Kubelet {
    /// Starts serving `Registration` on `<dir>/kubelet.sock`.
    pub async fn start(dir: &Path) -> std::io::Result<Kubelet> {
        std::fs::create_dir_all(dir)?;
        let shared = Arc::new(Shared {
            dir: dir.to_path_buf(),
            log: Mutex::new(Vec::new()),
            state: watch::Sender::new(BTreeMap::new()),
            watchers: Mutex::new(Vec::new()),
        });
        let mut k = Kubelet { shared, stop: watch::Sender::new(false), server: None };
        k.serve()?;
        Ok(k)
    }

    fn serve(&mut self) -> std::io::Result<()> {
        let sock = self.shared.dir.join(KUBELET_SOCKET);
        let _ = std::fs::remove_file(&sock);
        let listener = UnixListener::bind(&sock)?;
        let (stop, mut stop_rx) = watch::channel(false);
        self.stop = stop;
        let svc = RegistrationServer::new(RegistrationService { shared: self.shared.clone() });
        self.server = Some(tokio::spawn(async move {
            let _ = tonic::transport::Server::builder()
                .add_service(svc)
                .serve_with_incoming_shutdown(UnixListenerStream::new(listener), async move {
                    let _ = stop_rx.wait_for(|s| *s).await;
                })
                .await;
        }));
        Ok(())
    }

    async fn shutdown(&mut self) {
        let _ = self.stop.send(true);
        if let Some(mut s) = self.server.take() {
            if tokio::time::timeout(Duration::from_secs(2), &mut s).await.is_err() {
                s.abort();
            }
        }
        for w in self.shared.watchers.lock().unwrap_or_else(|e| e.into_inner()).drain(..) {
            w.abort();
        }
    }

    /// Restarts as kubelet does: stops, deletes every socket in the
    /// directory (the plugins' too), forgets the registrations and serves
    /// on a new `kubelet.sock`.
    pub async fn restart(&mut self) -> std::io::Result<()> {
        self.shutdown().await;
        for e in std::fs::read_dir(&self.shared.dir)?.flatten() {
            use std::os::unix::fs::FileTypeExt;
            if e.file_type().is_ok_and(|t| t.is_socket()) {
                std::fs::remove_file(e.path())?;
            }
        }
        self.shared.state.send_replace(BTreeMap::new());
        self.serve()
    }

    /// Every registration received, in order (kept across restarts).
    pub fn registrations(&self) -> Vec<api::RegisterRequest> {
        self.shared.log.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The current state of `resource`.
    pub fn resource(&self, resource: &str) -> Option<Registered> {
        self.shared.state.borrow().get(resource).cloned()
    }

    /// Waits until `resource`'s state satisfies `pred`; on timeout returns
    /// the last state seen as the error, for the assertion message.
    pub async fn wait_for(
        &self,
        resource: &str,
        timeout: Duration,
        pred: impl Fn(&Registered) -> bool,
    ) -> Result<Registered, Option<Registered>> {
        let mut rx = self.shared.state.subscribe();
        let wait = async { rx.wait_for(|m| m.get(resource).is_some_and(&pred)).await.ok()?.get(resource).cloned() };
        match tokio::time::timeout(timeout, wait).await {
            Ok(Some(r)) => Ok(r),
            _ => Err(self.resource(resource)),
        }
    }

    /// Waits until `resource` is advertised with exactly `ids` as healthy
    /// devices (any order) and returns its list.
    pub async fn wait_healthy(
        &self,
        resource: &str,
        ids: &[&str],
        timeout: Duration,
    ) -> Result<Vec<api::Device>, Option<Registered>> {
        let mut want: Vec<String> = ids.iter().map(|s| s.to_string()).collect();
        want.sort();
        let r = self
            .wait_for(resource, timeout, |r| {
                r.devices.as_ref().is_some_and(|d| {
                    let mut got: Vec<String> =
                        d.iter().filter(|d| d.health == crate::pool::HEALTHY).map(|d| d.id.clone()).collect();
                    got.sort();
                    got == want
                })
            })
            .await?;
        Ok(r.devices.unwrap_or_default())
    }

    /// A `DevicePlugin` client for a registered resource's endpoint, as
    /// kubelet uses for `Allocate` and `GetPreferredAllocation`.
    pub async fn client(&self, resource: &str) -> Result<DevicePluginClient<Channel>, String> {
        let r = self.resource(resource).ok_or_else(|| format!("{resource} is not registered"))?;
        let channel = unix_channel(&self.shared.dir.join(&r.request.endpoint)).await.map_err(|e| e.to_string())?;
        Ok(DevicePluginClient::new(channel))
    }

    /// `Allocate` for one container, as kubelet does at pod admission.
    pub async fn allocate(&self, resource: &str, ids: &[&str]) -> Result<api::ContainerAllocateResponse, Status> {
        let mut c = self.client(resource).await.map_err(Status::unavailable)?;
        let req = api::AllocateRequest {
            container_requests: vec![api::ContainerAllocateRequest {
                devices_ids: ids.iter().map(|s| s.to_string()).collect(),
            }],
        };
        let mut r = c.allocate(req).await?.into_inner();
        r.container_responses.pop().ok_or_else(|| Status::internal("Allocate returned no container response"))
    }
}

impl Drop for Kubelet {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
        if let Some(s) = self.server.take() {
            s.abort();
        }
        for w in self.shared.watchers.lock().unwrap_or_else(|e| e.into_inner()).drain(..) {
            w.abort();
        }
    }
}
