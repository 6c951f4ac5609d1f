//! The device plugin against the kubelet emulator (the real v1beta1
//! protocol over unix sockets), on fixture sysfs trees: two ConnectX-5 PFs
//! on NUMA nodes 0 and 1 with 4 VFs each.

use std::path::PathBuf;
use std::time::Duration;

use hwol_deviceplugin::api;
use hwol_deviceplugin::manager::{Manager, Options};
use hwol_deviceplugin::pool::UNHEALTHY;
use hwol_deviceplugin::testing::fixture::{PfSpec, SysfsTree};
use hwol_deviceplugin::testing::kubelet::Kubelet;
use hwol_deviceplugin::testing::SEED_CONFIG_JSON as SEED_CONFIG;

const RESOURCE: &str = "mellanox.com/cx5_sriov_switchdev";
const ENV: &str = "PCIDEVICE_MELLANOX_COM_CX5_SRIOV_SWITCHDEV";
const WAIT: Duration = Duration::from_secs(10);

const NUMA0: [&str; 4] = ["0000:03:00.2", "0000:03:00.3", "0000:03:00.4", "0000:03:00.5"];
const NUMA1: [&str; 4] = ["0000:82:00.2", "0000:82:00.3", "0000:82:00.4", "0000:82:00.5"];

fn all_vfs() -> Vec<&'static str> {
    NUMA0.iter().chain(NUMA1.iter()).copied().collect()
}

struct Node {
    _tmp: tempfile::TempDir,
    sysfs: SysfsTree,
    config: PathBuf,
    plugin_dir: PathBuf,
    kubelet: Kubelet,
}

impl Node {
    async fn new(config: &str) -> Node {
        let tmp = tempfile::tempdir().unwrap();
        let sysfs = SysfsTree::connectx5_dual_numa(tmp.path().join("sys")).unwrap();
        let cfg = tmp.path().join("config.json");
        std::fs::write(&cfg, config).unwrap();
        let plugin_dir = tmp.path().join("device-plugins");
        let kubelet = Kubelet::start(&plugin_dir).await.unwrap();
        Node { sysfs, config: cfg, plugin_dir, kubelet, _tmp: tmp }
    }

    fn options(&self, poll: Duration) -> Options {
        Options {
            config_path: self.config.clone(),
            sysfs_root: self.sysfs.root().to_path_buf(),
            plugin_dir: self.plugin_dir.clone(),
            poll_interval: poll,
        }
    }

    fn manager(&self) -> Manager {
        Manager::new(self.options(Duration::from_secs(3600))).unwrap()
    }

    async fn healthy(&self, resource: &str, ids: &[&str]) -> Vec<api::Device> {
        self.kubelet
            .wait_healthy(resource, ids, WAIT)
            .await
            .unwrap_or_else(|last| panic!("{resource}: wanted exactly {ids:?} healthy; last seen: {last:#?}"))
    }
}

fn pf0() -> PfSpec {
    PfSpec::connectx5("0000:03:00.0", "enp3s0f0", 0, 4)
}

fn ids(devs: &[api::Device], health: &str) -> Vec<String> {
    let mut v: Vec<String> = devs.iter().filter(|d| d.health == health).map(|d| d.id.clone()).collect();
    v.sort();
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registers_with_kubelet() {
    let node = Node::new(SEED_CONFIG).await;
    let mut m = node.manager();
    m.tick().await;
    let r = node.kubelet.wait_for(RESOURCE, WAIT, |r| r.options.is_some()).await.unwrap();
    assert_eq!(r.request.version, "v1beta1");
    assert_eq!(r.request.resource_name, RESOURCE);
    assert_eq!(r.request.endpoint, "hwol-mellanox.com-cx5_sriov_switchdev.sock");
    assert!(node.plugin_dir.join(&r.request.endpoint).exists());
    let opts = r.options.unwrap();
    assert!(opts.get_preferred_allocation_available);
    assert!(!opts.pre_start_required);
    assert_eq!(r.request.options, Some(opts));
    assert_eq!(node.kubelet.registrations().len(), 1);
    // Ticking again with nothing changed does not register again.
    m.tick().await;
    assert_eq!(node.kubelet.registrations().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_and_watch_initial_list_then_vf_disappears() {
    let node = Node::new(SEED_CONFIG).await;
    let mut m = node.manager();
    m.tick().await;
    let devs = node.healthy(RESOURCE, &all_vfs()).await;
    // Only the ConnectX-5 VFs: not the PFs, the igb port or the NVMe drive.
    assert_eq!(devs.len(), 8);
    for d in &devs {
        let numa = if d.id.starts_with("0000:03") { 0 } else { 1 };
        assert_eq!(d.topology.as_ref().map(|t| t.nodes.iter().map(|n| n.id).collect::<Vec<_>>()), Some(vec![numa]));
    }
    let before = node.kubelet.resource(RESOURCE).unwrap().updates;

    node.sysfs.remove_vf(&pf0(), 3).unwrap();
    m.tick().await;
    let mut left = all_vfs();
    left.retain(|a| *a != "0000:03:00.5");
    node.healthy(RESOURCE, &left).await;
    let r = node.kubelet.resource(RESOURCE).unwrap();
    assert_eq!(r.devices.unwrap().len(), 7);
    assert_eq!(r.updates, before + 1, "one ListAndWatch update per change");

    // And it comes back.
    node.sysfs.add_vf(&pf0(), 3).unwrap();
    m.tick().await;
    node.healthy(RESOURCE, &all_vfs()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_follows_pf_link_and_driver() {
    let node = Node::new(SEED_CONFIG).await;
    let mut m = node.manager();
    m.tick().await;
    node.healthy(RESOURCE, &all_vfs()).await;

    node.sysfs.set_operstate("enp3s0f0", "down").unwrap();
    m.tick().await;
    let devs = node.healthy(RESOURCE, &NUMA1).await;
    assert_eq!(ids(&devs, UNHEALTHY), NUMA0);

    node.sysfs.set_operstate("enp3s0f0", "up").unwrap();
    m.tick().await;
    node.healthy(RESOURCE, &all_vfs()).await;

    // A VF unbound from its driver is unhealthy (still in the pool: it is
    // the VF that seed's step "unbind, switchdev, bind" goes through).
    let sel = r#"{"resourceList":[{"resourcePrefix":"mellanox.com","resourceName":"cx5_sriov_switchdev",
        "selectors":{"vendors":["15b3"],"devices":["1018"]}}]}"#;
    std::fs::write(&node.config, sel).unwrap();
    m.tick().await;
    node.sysfs.unbind("0000:82:00.2").unwrap();
    m.tick().await;
    let mut healthy = all_vfs();
    healthy.retain(|a| *a != "0000:82:00.2");
    let devs = node.healthy(RESOURCE, &healthy).await;
    assert_eq!(ids(&devs, UNHEALTHY), ["0000:82:00.2"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn allocate_returns_sriov_dp_env_and_rdma_devices() {
    let node = Node::new(SEED_CONFIG).await;
    let mut m = node.manager();
    m.tick().await;
    node.healthy(RESOURCE, &all_vfs()).await;

    let r = node.kubelet.allocate(RESOURCE, &["0000:82:00.3", "0000:82:00.2"]).await.unwrap();
    assert_eq!(r.envs[ENV], "0000:82:00.3,0000:82:00.2");
    let info: serde_json::Value = serde_json::from_str(&r.envs[&format!("{ENV}_INFO")]).unwrap();
    assert_eq!(
        info,
        serde_json::json!({
            "0000:82:00.2": {"generic": {"deviceID": "0000:82:00.2"}},
            "0000:82:00.3": {"generic": {"deviceID": "0000:82:00.3"}},
        })
    );
    assert_eq!(r.envs.len(), 2);
    // isRdma: each VF's uverbs device (named after the fixture's RDMA
    // numbering) and rdma_cm.
    let paths: Vec<&str> = r.devices.iter().map(|d| d.host_path.as_str()).collect();
    assert_eq!(paths, ["/dev/infiniband/uverbs13003", "/dev/infiniband/uverbs13002", "/dev/infiniband/rdma_cm"]);
    assert!(r.devices.iter().all(|d| d.permissions == "rw" && d.container_path == d.host_path));
    assert_eq!(m.allocations()[RESOURCE].len(), 2);

    let e = node.kubelet.allocate(RESOURCE, &["0000:05:00.0"]).await.unwrap_err();
    assert_eq!(e.code(), tonic::Code::InvalidArgument);
    assert!(e.message().contains("0000:05:00.0"), "{}", e.message());

    // PreStartContainer answers even though it is not required.
    let mut c = node.kubelet.client(RESOURCE).await.unwrap();
    c.pre_start_container(api::PreStartContainerRequest { devices_ids: vec!["0000:82:00.2".into()] }).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn preferred_allocation_is_numa_aligned() {
    let node = Node::new(SEED_CONFIG).await;
    let mut m = node.manager();
    m.tick().await;
    node.healthy(RESOURCE, &all_vfs()).await;
    let mut c = node.kubelet.client(RESOURCE).await.unwrap();
    let ask = |avail: Vec<&str>, must: Vec<&str>, size: i32| api::PreferredAllocationRequest {
        container_requests: vec![api::ContainerPreferredAllocationRequest {
            available_device_i_ds: avail.into_iter().map(String::from).collect(),
            must_include_device_i_ds: must.into_iter().map(String::from).collect(),
            allocation_size: size,
        }],
    };
    let first = |r: api::PreferredAllocationResponse| r.container_responses[0].device_i_ds.clone();

    // Node 0 has 3 free, node 1 has 4: a request for 3 fits node 0 exactly.
    let avail = vec![NUMA0[0], NUMA1[0], NUMA0[1], NUMA1[1], NUMA0[2], NUMA1[2], NUMA1[3]];
    let got = first(c.get_preferred_allocation(ask(avail.clone(), vec![], 3)).await.unwrap().into_inner());
    assert_eq!(got, &NUMA0[..3]);
    // 4 only fit node 1.
    let got = first(c.get_preferred_allocation(ask(avail.clone(), vec![], 4)).await.unwrap().into_inner());
    assert_eq!(got, NUMA1);
    // A device kubelet must include pins its node.
    let got = first(c.get_preferred_allocation(ask(avail.clone(), vec![NUMA1[3]], 2)).await.unwrap().into_inner());
    assert_eq!(got, [NUMA1[3], NUMA1[0]]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubelet_restart_re_registers() {
    let mut node = Node::new(SEED_CONFIG).await;
    let mut m = node.manager();
    m.tick().await;
    node.healthy(RESOURCE, &all_vfs()).await;
    node.kubelet.allocate(RESOURCE, &["0000:03:00.2"]).await.unwrap();

    node.kubelet.restart().await.unwrap();
    assert!(node.kubelet.resource(RESOURCE).is_none(), "the restarted kubelet knows no plugins");
    m.tick().await;
    node.healthy(RESOURCE, &all_vfs()).await;
    let regs = node.kubelet.registrations();
    assert_eq!(regs.len(), 2);
    assert_eq!(regs[0], regs[1]);
    assert_eq!(m.allocations()[RESOURCE].len(), 1, "allocations survive a kubelet restart");
    // The new server answers.
    node.kubelet.allocate(RESOURCE, &["0000:03:00.3"]).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn config_reload_keeps_allocated_devices() {
    let node = Node::new(SEED_CONFIG).await;
    let mut m = node.manager();
    m.tick().await;
    node.healthy(RESOURCE, &all_vfs()).await;
    node.kubelet.allocate(RESOURCE, &["0000:03:00.2"]).await.unwrap();

    // Narrow the pool to the second PF's VFs 0-1: the allocated VF on the
    // first PF stays advertised, the other first-PF VFs go.
    let narrow = r#"{"resourceList":[{"resourcePrefix":"mellanox.com","resourceName":"cx5_sriov_switchdev",
        "isRdma":true,"selectors":[{"pfNames":["enp130s0f0#0-1"]}]}]}"#;
    std::fs::write(&node.config, narrow).unwrap();
    m.tick().await;
    node.healthy(RESOURCE, &["0000:03:00.2", "0000:82:00.2", "0000:82:00.3"]).await;
    assert_eq!(node.kubelet.registrations().len(), 1, "an unchanged resource is not re-registered");

    // Rename the resource: the new one gets every VF but the allocated one,
    // which stays with the old resource, still served.
    let renamed = r#"{"resourceList":[{"resourcePrefix":"mellanox.com","resourceName":"cx5_vfs",
        "selectors":{"vendors":["15b3"],"devices":["1018"]}}]}"#;
    std::fs::write(&node.config, renamed).unwrap();
    m.tick().await;
    let mut rest = all_vfs();
    rest.retain(|a| *a != "0000:03:00.2");
    node.healthy("mellanox.com/cx5_vfs", &rest).await;
    node.healthy(RESOURCE, &["0000:03:00.2"]).await;
    let r = node.kubelet.allocate(RESOURCE, &["0000:03:00.2"]).await.unwrap();
    assert_eq!(r.envs[ENV], "0000:03:00.2");

    // An invalid config is refused and the running one kept.
    std::fs::write(&node.config, r#"{"resourceList":[{"resourceName":"x","selector":{}}]}"#).unwrap();
    m.tick().await;
    assert!(m.resources().contains_key("mellanox.com/cx5_vfs"));
    assert!(!m.resources().contains_key("intel.com/x"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn removed_resource_without_allocations_stops() {
    let node = Node::new(SEED_CONFIG).await;
    let mut m = node.manager();
    m.tick().await;
    let endpoint = node.kubelet.wait_for(RESOURCE, WAIT, |r| r.connected).await.unwrap().request.endpoint;
    std::fs::write(
        &node.config,
        r#"{"resourceList":[{"resourcePrefix":"mellanox.com","resourceName":"other","selectors":{"devices":["1018"]}}]}"#,
    )
    .unwrap();
    m.tick().await;
    assert!(!m.resources().contains_key(RESOURCE));
    assert!(!node.plugin_dir.join(endpoint).exists(), "its socket is removed");
    node.kubelet.wait_for(RESOURCE, WAIT, |r| !r.connected).await.expect("its ListAndWatch stream ends");
    node.healthy("mellanox.com/other", &all_vfs()).await;
}

/// The whole loop, as the binary runs it: polling notices a kubelet restart,
/// a config change and a VF going away, with no explicit ticks.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn polling_loop_handles_restart_reload_and_removal() {
    let mut node = Node::new(SEED_CONFIG).await;
    let m = Manager::new(node.options(Duration::from_millis(50))).unwrap();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(m.run(async {
        let _ = stop_rx.await;
    }));
    node.healthy(RESOURCE, &all_vfs()).await;

    node.kubelet.restart().await.unwrap();
    node.healthy(RESOURCE, &all_vfs()).await;
    assert_eq!(node.kubelet.registrations().len(), 2);

    std::fs::write(&node.config, SEED_CONFIG.replace("\"1018\"", "\"1018\"], \"pfNames\": [\"enp3s0f0\"")).unwrap();
    node.healthy(RESOURCE, &NUMA0).await;

    node.sysfs.remove_vf(&pf0(), 0).unwrap();
    node.healthy(RESOURCE, &NUMA0[1..]).await;

    stop_tx.send(()).unwrap();
    task.await.unwrap();
    let sockets: Vec<_> = std::fs::read_dir(&node.plugin_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(sockets, ["kubelet.sock"], "the plugin removed its socket on shutdown");
}

/// The NIC crate's ConnectX-5 switchdev fixture (two PFs sharing a switch,
/// representors under the PFs, no `class`, `numa_node` or RDMA files): the
/// seed's selectors, without `isRdma` (the tree has no RDMA devices),
/// advertise its three VFs, with no NUMA affinity.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nic_crate_switchdev_fixture() {
    let sys = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../hwol-nic/tests/fixtures/cx5-switchdev/sys");
    let devs = hwol_deviceplugin::sysfs::Sysfs::new(&sys).scan().unwrap();
    let seen: Vec<(&str, Option<&str>, Option<u32>)> =
        devs.iter().map(|d| (d.pci_address.as_str(), d.pf_netdev.as_deref(), d.vf_index)).collect();
    assert_eq!(
        seen,
        [
            ("0000:03:00.2", Some("enp3s0f0np0"), Some(0)),
            ("0000:03:00.3", Some("enp3s0f0np0"), Some(1)),
            ("0000:03:00.4", Some("enp3s0f1np1"), Some(0)),
        ],
        "VFs only, each with its PF's uplink (not a representor)"
    );

    let node = Node::new(&SEED_CONFIG.replace("\"isRdma\": true,", "")).await;
    let opts = Options { sysfs_root: sys, ..node.options(Duration::from_secs(3600)) };
    let mut m = Manager::new(opts).unwrap();
    m.tick().await;
    let devs = node.healthy(RESOURCE, &["0000:03:00.2", "0000:03:00.3", "0000:03:00.4"]).await;
    assert!(devs.iter().all(|d| d.topology.is_none()));
    let r = node.kubelet.allocate(RESOURCE, &["0000:03:00.4"]).await.unwrap();
    assert_eq!(r.envs[ENV], "0000:03:00.4");
}

/// The NIC crate's trees recorded from netdevsim in the VM: netdevsim is not
/// on the PCI bus and its VFs are not devices (no `virtfn`/`physfn`, no VF
/// netdevs), so there is nothing a pod could be given; discovery says the
/// PCI device list is missing rather than inventing devices.
#[test]
fn netdevsim_recorded_trees_have_no_pci_vfs() {
    let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../hwol-nic/tests/fixtures");
    for tree in ["nsim-fresh", "nsim-switchdev"] {
        let sys = fixtures.join(tree).join("sys");
        assert!(sys.join("devices/netdevsim10").is_dir(), "{tree}: the recorded netdevsim device");
        let e = hwol_deviceplugin::sysfs::Sysfs::new(&sys).scan().unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::NotFound, "{tree}: {e}");
    }
}
