//! One resource's gRPC `DevicePlugin` server on its unix socket, and its
//! registration with kubelet.
//!
//! Ownership: the [`Resource`] (the advertised [`Pool`] in a `watch`
//! channel, plus the set of devices handed out by `Allocate`) is owned by
//! the [`crate::manager`] and outlives servers: when kubelet restarts and
//! deletes our socket, a new [`Server`] is started over the same
//! `Resource`, so allocations survive.
//!
//! `ListAndWatch` sends the whole list at once, then again on every change
//! of the pool (the manager only publishes real changes), and ends when its
//! server is stopped, so kubelet reconnects to the next one.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use hyper_util::rt::TokioIo;
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio_stream::wrappers::{ReceiverStream, UnixListenerStream};
use tonic::transport::{Channel, Endpoint, Uri};
use tonic::{Request, Response, Status};

use crate::api;
use crate::api::device_plugin_server::{DevicePlugin, DevicePluginServer};
use crate::api::registration_client::RegistrationClient;
use crate::pool::{preferred_allocation, Pool};
use crate::Error;

/// The API version sent in `Register`.
pub const API_VERSION: &str = "v1beta1";

/// The socket kubelet's registration service listens on, in the
/// device-plugins dir.
pub const KUBELET_SOCKET: &str = "kubelet.sock";

/// A resource as served to kubelet: the current pool and what was
/// allocated from it.
#[derive(Debug)]
pub struct Resource {
    /// `<prefix>/<name>`.
    pub name: String,
    pool: watch::Sender<Arc<Pool>>,
    allocated: Mutex<BTreeSet<String>>,
}

impl Resource {
    /// A resource advertising `pool`.
    pub fn new(pool: Pool) -> Arc<Resource> {
        Arc::new(Resource {
            name: pool.resource.full_name(),
            pool: watch::Sender::new(Arc::new(pool)),
            allocated: Mutex::new(BTreeSet::new()),
        })
    }

    /// The pool now advertised.
    pub fn pool(&self) -> Arc<Pool> {
        self.pool.borrow().clone()
    }

    /// Publishes `pool`; open `ListAndWatch` streams send the new list if it
    /// differs from the old. Returns whether it did.
    pub fn publish(&self, pool: Pool) -> bool {
        self.pool.send_if_modified(|cur| {
            if **cur == pool {
                false
            } else {
                let changed_list = cur.list() != pool.list();
                *cur = Arc::new(pool);
                changed_list
            }
        })
    }

    /// The PCI addresses `Allocate` handed out from this resource (kubelet
    /// does not say when a pod is gone, so they stay until restart).
    pub fn allocated(&self) -> BTreeSet<String> {
        self.allocated.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

struct Service {
    resource: Arc<Resource>,
    stop: watch::Receiver<bool>,
}

/// The options we register with.
pub fn plugin_options() -> api::DevicePluginOptions {
    api::DevicePluginOptions { pre_start_required: false, get_preferred_allocation_available: true }
}

#[tonic::async_trait]
impl DevicePlugin for Service {
    async fn get_device_plugin_options(
        &self,
        _: Request<api::Empty>,
    ) -> Result<Response<api::DevicePluginOptions>, Status> {
        Ok(Response::new(plugin_options()))
    }

    type ListAndWatchStream = ReceiverStream<Result<api::ListAndWatchResponse, Status>>;

    async fn list_and_watch(&self, _: Request<api::Empty>) -> Result<Response<Self::ListAndWatchStream>, Status> {
        let (tx, rx) = mpsc::channel(4);
        let mut pools = self.resource.pool.subscribe();
        let mut stop = self.stop.clone();
        tokio::spawn(async move {
            loop {
                let devices = pools.borrow_and_update().list();
                if tx.send(Ok(api::ListAndWatchResponse { devices })).await.is_err() {
                    return;
                }
                tokio::select! {
                    r = pools.changed() => if r.is_err() { return },
                    _ = stop.wait_for(|s| *s) => return,
                    _ = tx.closed() => return,
                }
            }
        });
        Ok(Response::new(ReceiverStream::new(rx)))
    }

    async fn get_preferred_allocation(
        &self,
        req: Request<api::PreferredAllocationRequest>,
    ) -> Result<Response<api::PreferredAllocationResponse>, Status> {
        let pool = self.resource.pool();
        let container_responses = req
            .into_inner()
            .container_requests
            .iter()
            .map(|c| {
                let size = usize::try_from(c.allocation_size).unwrap_or(0);
                let ids = preferred_allocation(
                    &c.available_device_i_ds,
                    &c.must_include_device_i_ds,
                    size,
                    |id| pool.numa_of(id),
                    |id| pool.devices.get(id).is_none_or(|d| d.healthy()),
                );
                api::ContainerPreferredAllocationResponse { device_i_ds: ids }
            })
            .collect();
        Ok(Response::new(api::PreferredAllocationResponse { container_responses }))
    }

    async fn allocate(&self, req: Request<api::AllocateRequest>) -> Result<Response<api::AllocateResponse>, Status> {
        let pool = self.resource.pool();
        let mut container_responses = Vec::new();
        let mut ids = Vec::new();
        for c in &req.get_ref().container_requests {
            container_responses.push(pool.allocate(&c.devices_ids).map_err(Status::invalid_argument)?);
            ids.extend(c.devices_ids.iter().cloned());
        }
        tracing::info!(resource = %self.resource.name, devices = ?ids, "allocated");
        self.resource.allocated.lock().unwrap_or_else(|e| e.into_inner()).extend(ids);
        Ok(Response::new(api::AllocateResponse { container_responses }))
    }

    async fn pre_start_container(
        &self,
        _: Request<api::PreStartContainerRequest>,
    ) -> Result<Response<api::PreStartContainerResponse>, Status> {
        // Nothing to prepare: the VF is set up by the CNI plugin. Kubelet only
        // calls this when pre_start_required is set; answer anyway.
        Ok(Response::new(api::PreStartContainerResponse {}))
    }
}

/// A running `DevicePlugin` server on a unix socket.
#[derive(Debug)]
pub struct Server {
    socket: PathBuf,
    inode: Option<(u64, u64)>,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

/// The (device, inode) of a file, to notice it being replaced.
pub fn file_id(path: &Path) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    std::fs::symlink_metadata(path).ok().map(|m| (m.dev(), m.ino()))
}

impl Server {
    /// Serves `resource` on `socket` (a stale file there is replaced).
    pub async fn start(resource: Arc<Resource>, socket: PathBuf) -> Result<Server, Error> {
        let io = |error| Error::Socket { path: socket.clone(), error };
        match std::fs::remove_file(&socket) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io(e)),
        }
        let listener = UnixListener::bind(&socket).map_err(io)?;
        let inode = file_id(&socket);
        let (stop, stop_rx) = watch::channel(false);
        let svc = Service { resource, stop: stop_rx.clone() };
        let mut stop_serve = stop_rx;
        let task = tokio::spawn(async move {
            let r = tonic::transport::Server::builder()
                .add_service(DevicePluginServer::new(svc))
                .serve_with_incoming_shutdown(UnixListenerStream::new(listener), async move {
                    let _ = stop_serve.wait_for(|s| *s).await;
                })
                .await;
            if let Err(e) = r {
                tracing::warn!("device plugin server stopped: {e}");
            }
        });
        Ok(Server { socket, inode, stop, task })
    }

    /// The socket path.
    pub fn socket(&self) -> &Path {
        &self.socket
    }

    /// Whether our socket file is still the one we bound (kubelet deletes
    /// every socket in its dir when it starts).
    pub fn socket_intact(&self) -> bool {
        self.inode.is_some() && file_id(&self.socket) == self.inode
    }

    /// Stops serving: open `ListAndWatch` streams end, connections close,
    /// and the socket file is removed if it is still ours.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        let mut task = self.task;
        if tokio::time::timeout(std::time::Duration::from_secs(2), &mut task).await.is_err() {
            task.abort();
        }
        if self.inode.is_some() && file_id(&self.socket) == self.inode {
            let _ = std::fs::remove_file(&self.socket);
        }
    }
}

/// A gRPC channel over the unix socket at `path`.
pub async fn unix_channel(path: &Path) -> Result<Channel, tonic::transport::Error> {
    let path = path.to_path_buf();
    // The URI is required by the API but unused: the connector dials the socket.
    Endpoint::from_static("http://localhost")
        .connect_with_connector(tower::service_fn(move |_: Uri| {
            let path = path.clone();
            async move { Ok::<_, std::io::Error>(TokioIo::new(UnixStream::connect(path).await?)) }
        }))
        .await
}

/// Registers `resource_name`, served on `endpoint` (a file name in the
/// device-plugins dir), with the kubelet listening on `kubelet_socket`.
pub async fn register(kubelet_socket: &Path, endpoint: &str, resource_name: &str) -> Result<(), Error> {
    let reg_err = |reason: String| Error::Register {
        socket: kubelet_socket.to_path_buf(),
        resource: resource_name.to_string(),
        reason,
    };
    let channel = unix_channel(kubelet_socket).await.map_err(|e| reg_err(e.to_string()))?;
    RegistrationClient::new(channel)
        .register(api::RegisterRequest {
            version: API_VERSION.into(),
            endpoint: endpoint.into(),
            resource_name: resource_name.into(),
            options: Some(plugin_options()),
        })
        .await
        .map_err(|s| reg_err(format!("{}: {}", s.code(), s.message())))?;
    Ok(())
}
