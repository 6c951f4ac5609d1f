//! A resource pool's answers to kubelet, without I/O: the device list,
//! `Allocate` and `GetPreferredAllocation`.
//!
//! - Device IDs are PCI addresses; health comes from
//!   [`PciNetDevice::healthy`]; topology is the NUMA node unless the
//!   resource sets `excludeTopology`.
//! - `Allocate` answers as the SR-IOV network device plugin does, so pods
//!   and CNI plugins written for it work unchanged:
//!   `PCIDEVICE_<PREFIX>_<NAME>` (upper case, `.` and `/` → `_`) holds the
//!   comma-separated PCI addresses, `PCIDEVICE_<PREFIX>_<NAME>_INFO` holds
//!   `{"<addr>":{"generic":{"deviceID":"<addr>"}}, ...}`; an `isRdma`
//!   resource also gets each device's `/dev/infiniband` character devices
//!   and `/dev/infiniband/rdma_cm`; `needVhostNet` adds `/dev/vhost-net` and
//!   `/dev/net/tun`.
//! - The preferred allocation keeps a container on one NUMA node when it can
//!   ([`preferred_allocation`]).

use std::collections::{BTreeMap, HashMap};

use crate::api;
use crate::config::ResourceConfig;
use crate::sysfs::PciNetDevice;

/// The health strings of the kubelet API.
pub const HEALTHY: &str = "Healthy";
/// See [`HEALTHY`].
pub const UNHEALTHY: &str = "Unhealthy";

/// A pool as advertised at one moment: its configuration and its devices,
/// by PCI address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pool {
    /// The resource's configuration (the last one seen, for a resource that
    /// was removed from config.json but still has allocated devices).
    pub resource: ResourceConfig,
    /// The devices, by PCI address.
    pub devices: BTreeMap<String, PciNetDevice>,
}

/// The env var name for a resource: `PCIDEVICE_` then `<prefix>_<name>` upper
/// cased, with `.` and `/` turned into `_` (`mellanox.com/cx5_sriov_switchdev`
/// → `PCIDEVICE_MELLANOX_COM_CX5_SRIOV_SWITCHDEV`).
pub fn env_name(resource: &ResourceConfig) -> String {
    let full = resource.full_name().replace(['.', '/'], "_").to_ascii_uppercase();
    format!("PCIDEVICE_{full}")
}

impl Pool {
    /// The `ListAndWatch` device list.
    pub fn list(&self) -> Vec<api::Device> {
        self.devices
            .values()
            .map(|d| api::Device {
                id: d.pci_address.clone(),
                health: if d.healthy() { HEALTHY } else { UNHEALTHY }.to_string(),
                topology: match (self.resource.exclude_topology, d.numa_node) {
                    (false, Some(n)) => Some(api::TopologyInfo { nodes: vec![api::NumaNode { id: i64::from(n) }] }),
                    _ => None,
                },
            })
            .collect()
    }

    /// The answer to one container's `Allocate` request. An ID that is not in
    /// the pool is an error naming it (kubelet's view is stale: the device
    /// went away or the pool changed).
    pub fn allocate(&self, ids: &[String]) -> Result<api::ContainerAllocateResponse, String> {
        let mut devs = Vec::with_capacity(ids.len());
        for id in ids {
            let d = self.devices.get(id).ok_or_else(|| {
                format!(
                    "device {id} is not in resource {}: it disappeared or no longer matches the selectors; \
                     delete the pod so kubelet picks another device",
                    self.resource.full_name()
                )
            })?;
            devs.push(d);
        }
        let env = env_name(&self.resource);
        let addrs: Vec<&str> = devs.iter().map(|d| d.pci_address.as_str()).collect();
        let info: serde_json::Map<String, serde_json::Value> =
            addrs.iter().map(|a| (a.to_string(), serde_json::json!({ "generic": { "deviceID": a } }))).collect();
        let mut envs = HashMap::new();
        envs.insert(env.clone(), addrs.join(","));
        envs.insert(format!("{env}_INFO"), serde_json::Value::Object(info).to_string());

        let mut specs = Vec::new();
        let mut add = |path: String| {
            if !specs.iter().any(|s: &api::DeviceSpec| s.host_path == path) {
                specs.push(api::DeviceSpec { container_path: path.clone(), host_path: path, permissions: "rw".into() });
            }
        };
        if self.resource.is_rdma() {
            for d in &devs {
                for c in &d.rdma_char_devices {
                    add(format!("/dev/infiniband/{c}"));
                }
            }
            add("/dev/infiniband/rdma_cm".into());
        }
        if self.resource.need_vhost_net() {
            add("/dev/vhost-net".into());
            add("/dev/net/tun".into());
        }
        Ok(api::ContainerAllocateResponse { envs, devices: specs, ..Default::default() })
    }

    /// The NUMA node of a device in the pool.
    pub fn numa_of(&self, id: &str) -> Option<u32> {
        self.devices.get(id).and_then(|d| d.numa_node)
    }
}

/// Picks `size` devices out of `available`, always including `must_include`,
/// keeping them on as few NUMA nodes as possible:
///
/// 1. the devices of `must_include` (in the order given);
/// 2. then devices on the NUMA node(s) already used by `must_include`;
/// 3. otherwise the node that can hold everything still needed, the one
///    with the fewest free devices first (best fit: big nodes stay free for
///    big requests), lowest node id on ties;
/// 4. when no single node can, nodes with the most free devices first;
///    devices with no NUMA node come last.
///
/// Within a node, devices go in PCI address order. Unhealthy devices are
/// never picked (kubelet offers only healthy ones, but the list may have
/// changed since). Returns fewer than `size` only if there are not enough.
pub fn preferred_allocation(
    available: &[String],
    must_include: &[String],
    size: usize,
    numa_of: impl Fn(&str) -> Option<u32>,
    healthy: impl Fn(&str) -> bool,
) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(size);
    for id in must_include {
        if out.len() < size && !out.contains(id) {
            out.push(id.clone());
        }
    }
    let mut free: BTreeMap<Option<u32>, Vec<&String>> = BTreeMap::new();
    let mut sorted: Vec<&String> = available.iter().filter(|a| !out.contains(a) && healthy(a)).collect();
    sorted.sort();
    sorted.dedup();
    for a in sorted {
        free.entry(numa_of(a)).or_default().push(a);
    }
    let mut order: Vec<Option<u32>> = Vec::new();
    let used: Vec<Option<u32>> = out.iter().map(|id| numa_of(id)).collect();
    for n in &used {
        if n.is_some() && !order.contains(n) {
            order.push(*n);
        }
    }
    let need = size.saturating_sub(out.len());
    let mut rest: Vec<(Option<u32>, usize)> =
        free.iter().filter(|(n, _)| n.is_some() && !order.contains(n)).map(|(n, v)| (*n, v.len())).collect();
    if let Some(&(fit, _)) = rest.iter().filter(|(_, c)| *c >= need).min_by_key(|(n, c)| (*c, *n)) {
        order.push(fit);
    }
    rest.sort_by_key(|(n, c)| (std::cmp::Reverse(*c), *n));
    for (n, _) in rest {
        if !order.contains(&n) {
            order.push(n);
        }
    }
    order.push(None);
    for n in order {
        for id in free.get(&n).into_iter().flatten() {
            if out.len() == size {
                return out;
            }
            out.push((*id).clone());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn pool(config: &str, devs: Vec<PciNetDevice>) -> Pool {
        let resource = Config::parse(config).unwrap().resources.remove(0);
        Pool { resource, devices: devs.into_iter().map(|d| (d.pci_address.clone(), d)).collect() }
    }

    fn vf(addr: &str, numa: Option<u32>, uverbs: &str) -> PciNetDevice {
        PciNetDevice {
            pci_address: addr.into(),
            vendor: "15b3".into(),
            device: "1018".into(),
            driver: Some("mlx5_core".into()),
            numa_node: numa,
            rdma_devices: vec![format!("mlx5_{uverbs}")],
            rdma_char_devices: vec![format!("uverbs{uverbs}")],
            ..Default::default()
        }
    }

    use crate::testing::SEED_CONFIG_JSON as SEED;

    #[test]
    fn env_names_follow_the_sriov_device_plugin() {
        let p = pool(SEED, vec![]);
        assert_eq!(env_name(&p.resource), "PCIDEVICE_MELLANOX_COM_CX5_SRIOV_SWITCHDEV");
    }

    #[test]
    fn allocate_env_info_and_rdma_devices() {
        let p = pool(SEED, vec![vf("0000:03:00.2", Some(0), "2"), vf("0000:03:00.3", Some(0), "3")]);
        let r = p.allocate(&["0000:03:00.3".into(), "0000:03:00.2".into()]).unwrap();
        assert_eq!(r.envs["PCIDEVICE_MELLANOX_COM_CX5_SRIOV_SWITCHDEV"], "0000:03:00.3,0000:03:00.2");
        let info: serde_json::Value =
            serde_json::from_str(&r.envs["PCIDEVICE_MELLANOX_COM_CX5_SRIOV_SWITCHDEV_INFO"]).unwrap();
        assert_eq!(
            info,
            serde_json::json!({
                "0000:03:00.2": {"generic": {"deviceID": "0000:03:00.2"}},
                "0000:03:00.3": {"generic": {"deviceID": "0000:03:00.3"}},
            })
        );
        let paths: Vec<&str> = r.devices.iter().map(|d| d.host_path.as_str()).collect();
        assert_eq!(paths, ["/dev/infiniband/uverbs3", "/dev/infiniband/uverbs2", "/dev/infiniband/rdma_cm"]);
        assert!(r.devices.iter().all(|d| d.permissions == "rw" && d.container_path == d.host_path));
        let e = p.allocate(&["0000:03:00.9".into()]).unwrap_err();
        assert!(e.contains("0000:03:00.9") && e.contains("mellanox.com/cx5_sriov_switchdev"), "{e}");
    }

    #[test]
    fn non_rdma_resource_gets_no_device_specs() {
        let p = pool(
            r#"{"resourceList":[{"resourceName":"vf","selectors":{"vendors":["15b3"]}}]}"#,
            vec![vf("0000:03:00.2", Some(0), "2")],
        );
        let r = p.allocate(&["0000:03:00.2".into()]).unwrap();
        assert!(r.devices.is_empty());
        assert_eq!(r.envs["PCIDEVICE_INTEL_COM_VF"], "0000:03:00.2");
    }

    #[test]
    fn list_reports_health_and_topology() {
        let mut down = vf("0000:03:00.3", None, "3");
        down.driver = None;
        let p = pool(SEED, vec![vf("0000:03:00.2", Some(1), "2"), down]);
        let l = p.list();
        assert_eq!(l[0].health, HEALTHY);
        assert_eq!(l[0].topology.as_ref().unwrap().nodes[0].id, 1);
        assert_eq!(l[1].health, UNHEALTHY);
        assert!(l[1].topology.is_none());
    }

    fn ids(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    /// Numa of the fixture addresses: bus 03 on node 0, bus 82 on node 1,
    /// bus 05 has none.
    fn numa(id: &str) -> Option<u32> {
        match &id[5..7] {
            "03" => Some(0),
            "82" => Some(1),
            _ => None,
        }
    }

    #[test]
    fn preferred_allocation_keeps_one_numa_node() {
        let avail = ids(&["0000:03:00.2", "0000:03:00.3", "0000:82:00.2", "0000:82:00.3", "0000:82:00.4"]);
        // Best fit: node 0 has exactly 2 free.
        assert_eq!(preferred_allocation(&avail, &[], 2, numa, |_| true), ids(&["0000:03:00.2", "0000:03:00.3"]));
        // Only node 1 can hold 3.
        assert_eq!(
            preferred_allocation(&avail, &[], 3, numa, |_| true),
            ids(&["0000:82:00.2", "0000:82:00.3", "0000:82:00.4"])
        );
        // must_include pins the node.
        assert_eq!(
            preferred_allocation(&avail, &ids(&["0000:82:00.4"]), 2, numa, |_| true),
            ids(&["0000:82:00.4", "0000:82:00.2"])
        );
        // Too big for one node: the biggest node first, then the other.
        assert_eq!(
            preferred_allocation(&avail, &[], 4, numa, |_| true),
            ids(&["0000:82:00.2", "0000:82:00.3", "0000:82:00.4", "0000:03:00.2"])
        );
        // Unhealthy devices are skipped; no-NUMA devices come last.
        let avail2 = ids(&["0000:05:00.2", "0000:03:00.2", "0000:03:00.3"]);
        assert_eq!(
            preferred_allocation(&avail2, &[], 2, numa, |id| id != "0000:03:00.3"),
            ids(&["0000:03:00.2", "0000:05:00.2"])
        );
        assert_eq!(preferred_allocation(&avail, &[], 9, numa, |_| true).len(), 5);
    }

    /// Against a naive reference: whenever some NUMA node has `size` healthy
    /// free devices and nothing is pinned, the answer lies on one node.
    #[test]
    fn preferred_allocation_single_node_whenever_possible() {
        let all =
            ids(&["0000:03:00.2", "0000:03:00.3", "0000:03:00.4", "0000:82:00.2", "0000:82:00.3", "0000:05:00.2"]);
        for mask in 0u32..(1 << all.len()) {
            let avail: Vec<String> =
                all.iter().enumerate().filter(|(i, _)| mask & (1 << i) != 0).map(|(_, a)| a.clone()).collect();
            for size in 1..=avail.len() {
                let got = preferred_allocation(&avail, &[], size, numa, |_| true);
                assert_eq!(got.len(), size);
                let mut uniq = got.clone();
                uniq.sort();
                uniq.dedup();
                assert_eq!(uniq.len(), size, "{got:?}");
                assert!(got.iter().all(|g| avail.contains(g)));
                let fits = [Some(0), Some(1)].iter().any(|n| avail.iter().filter(|a| numa(a) == *n).count() >= size);
                if fits {
                    let first = numa(&got[0]);
                    assert!(first.is_some() && got.iter().all(|g| numa(g) == first), "{avail:?} {size}: {got:?}");
                }
            }
        }
    }
}
