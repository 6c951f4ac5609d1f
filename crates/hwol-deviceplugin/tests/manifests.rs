//! Every manifest under `deploy/` parses strictly as its Kubernetes type, so
//! that a typo fails here rather than being silently dropped by the API
//! server; and the manifests agree with each other and with the code that
//! reads them.
//!
//! Strictness: k8s-openapi's types ignore unknown keys, so each document is
//! deserialized through `serde_ignored` (any ignored key is an error, with
//! its path), and the typed value is serialized back and must contain every
//! key and value of the document (nothing dropped or changed). The
//! NetworkAttachmentDefinition is a CRD with no k8s-openapi type: it is
//! checked against a small `deny_unknown_fields` struct, and its `config`
//! JSON against the CNI conflist it must be.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use hwol_deviceplugin::config::Config;
use hwol_deviceplugin::pool::env_name;
use hwol_deviceplugin::testing::SEED_CONFIG_JSON;
use k8s_openapi::api::apps::v1::DaemonSet;
use k8s_openapi::api::core::v1::{ConfigMap, Pod, ServiceAccount};
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

fn deploy_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy")
}

/// A NetworkAttachmentDefinition (k8s.cni.cncf.io/v1).
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Nad {
    api_version: String,
    kind: String,
    metadata: ObjectMeta,
    spec: NadSpec,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct NadSpec {
    config: String,
}

/// The CNI conflist of the NAD: our plugin, then portmap and bandwidth.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct ConfList {
    cni_version: String,
    name: String,
    plugins: Vec<CniPlugin>,
}

#[derive(Debug, Deserialize, PartialEq)]
#[serde(tag = "type", deny_unknown_fields)]
enum CniPlugin {
    #[serde(rename = "hwol-cni")]
    Hwol { ipam: Ipam },
    #[serde(rename = "portmap")]
    Portmap { capabilities: BTreeMap<String, bool> },
    #[serde(rename = "bandwidth")]
    Bandwidth { capabilities: BTreeMap<String, bool> },
}

#[derive(Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
struct Ipam {
    #[serde(rename = "type")]
    kind: String,
    ranges: Vec<Vec<Range>>,
    #[serde(default)]
    routes: Vec<Route>,
}

#[derive(Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
struct Range {
    subnet: String,
}

/// A host-local route (`gw` defaults to the range's gateway).
#[derive(Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
struct Route {
    dst: String,
    gw: Option<String>,
}

/// `doc` as `T`, failing on any key `T` ignores or any value it does not
/// reproduce.
fn strict<T: DeserializeOwned + Serialize>(doc: &Value) -> Result<T, String> {
    let mut ignored = Vec::new();
    let t: T =
        serde_ignored::deserialize(doc.clone(), |path| ignored.push(path.to_string())).map_err(|e| e.to_string())?;
    if !ignored.is_empty() {
        return Err(format!("unknown keys: {}", ignored.join(", ")));
    }
    let back = serde_json::to_value(&t).map_err(|e| e.to_string())?;
    contained(doc, &back, "")?;
    Ok(t)
}

/// Every key and value of `doc` is in `typed`.
fn contained(doc: &Value, typed: &Value, path: &str) -> Result<(), String> {
    match (doc, typed) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, v) in a {
                let p = format!("{path}.{k}");
                let w = b.get(k).ok_or_else(|| format!("{p}: dropped by the typed value"))?;
                contained(v, w, &p)?;
            }
            Ok(())
        }
        (Value::Array(a), Value::Array(b)) if a.len() == b.len() => {
            a.iter().zip(b).enumerate().try_for_each(|(i, (x, y))| contained(x, y, &format!("{path}[{i}]")))
        }
        (a, b) if a == b => Ok(()),
        (a, b) => Err(format!("{path}: {a} reads back as {b}")),
    }
}

/// One parsed manifest document.
#[derive(Debug)]
enum Manifest {
    ConfigMap(ConfigMap),
    ServiceAccount(ServiceAccount),
    ClusterRole(ClusterRole),
    ClusterRoleBinding(ClusterRoleBinding),
    DaemonSet(Box<DaemonSet>),
    Pod(Box<Pod>),
    Nad(Nad, ConfList),
}

/// Parses every document of a YAML file strictly.
fn parse_file(text: &str) -> Result<Vec<Manifest>, String> {
    let mut out = Vec::new();
    for (i, de) in serde_yaml::Deserializer::from_str(text).enumerate() {
        let doc = Value::deserialize(de).map_err(|e| format!("document {i}: {e}"))?;
        let api = doc["apiVersion"].as_str().unwrap_or_default().to_string();
        let kind = doc["kind"].as_str().unwrap_or_default().to_string();
        let err = |e: String| format!("document {i} ({api} {kind}): {e}");
        let m = match (api.as_str(), kind.as_str()) {
            ("v1", "ConfigMap") => Manifest::ConfigMap(strict(&doc).map_err(err)?),
            ("v1", "ServiceAccount") => Manifest::ServiceAccount(strict(&doc).map_err(err)?),
            ("v1", "Pod") => Manifest::Pod(Box::new(strict(&doc).map_err(err)?)),
            ("apps/v1", "DaemonSet") => Manifest::DaemonSet(Box::new(strict(&doc).map_err(err)?)),
            ("rbac.authorization.k8s.io/v1", "ClusterRole") => Manifest::ClusterRole(strict(&doc).map_err(err)?),
            ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding") => {
                Manifest::ClusterRoleBinding(strict(&doc).map_err(err)?)
            }
            ("k8s.cni.cncf.io/v1", "NetworkAttachmentDefinition") => {
                let nad: Nad = strict(&doc).map_err(err)?;
                let conf: ConfList =
                    serde_json::from_str(&nad.spec.config).map_err(|e| err(format!("spec.config: {e}")))?;
                Manifest::Nad(nad, conf)
            }
            _ => return Err(err("not a kind this test knows; add it".into())),
        };
        out.push(m);
    }
    Ok(out)
}

fn all_manifests() -> Vec<(String, Manifest)> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(deploy_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml" || x == "yml"))
        .collect();
    files.sort();
    assert!(files.len() >= 6, "deploy/ holds the manifests: {files:?}");
    let mut out = Vec::new();
    for f in files {
        let name = f.file_name().unwrap().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(&f).unwrap();
        for m in parse_file(&text).unwrap_or_else(|e| panic!("deploy/{name}: {e}")) {
            out.push((name.clone(), m));
        }
    }
    out
}

fn is_dns_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

#[test]
fn typos_are_caught() {
    let ds = std::fs::read_to_string(deploy_dir().join("daemonset.yaml")).unwrap();
    assert!(parse_file(&ds).is_ok());
    for (from, to) in [
        ("hostNetwork: true", "hostNetwrk: true"),
        ("mountPropagation: HostToContainer", "mountpropagation: HostToContainer"),
        ("readOnly: true", "readonly: true"),
        ("privileged: true", "priviledged: true"),
    ] {
        let bad = ds.replacen(from, to, 1);
        assert_ne!(bad, ds);
        let e = parse_file(&bad).expect_err(to);
        assert!(e.contains(to.split(':').next().unwrap()), "{e}");
    }
    // A value of the wrong type.
    assert!(parse_file(&ds.replacen("hostNetwork: true", "hostNetwork: yes please", 1)).is_err());

    let nad = std::fs::read_to_string(deploy_dir().join("network-attachment-definition.yaml")).unwrap();
    assert!(parse_file(&nad).is_ok());
    assert!(parse_file(&nad.replacen("\"capabilities\"", "\"capabilites\"", 1)).is_err());
    assert!(parse_file(&nad.replacen("annotations:", "anotations:", 1)).is_err());
    assert!(parse_file(&nad.replacen("\"hwol-cni\"", "\"hwol_cni\"", 1)).is_err());
}

#[test]
fn manifests_are_strictly_valid_and_consistent() {
    let all = all_manifests();
    let mut configmaps = BTreeMap::new();
    let mut daemonsets = Vec::new();
    let mut pods = Vec::new();
    let mut nads = Vec::new();
    let mut accounts = Vec::new();
    let mut roles = Vec::new();
    let mut bindings = Vec::new();
    for (_, m) in all {
        match m {
            Manifest::ConfigMap(c) => {
                configmaps.insert(c.metadata.name.clone().unwrap(), c);
            }
            Manifest::DaemonSet(d) => daemonsets.push(*d),
            Manifest::Pod(p) => pods.push(*p),
            Manifest::Nad(n, c) => nads.push((n, c)),
            Manifest::ServiceAccount(s) => accounts.push(s),
            Manifest::ClusterRole(r) => roles.push(r),
            Manifest::ClusterRoleBinding(b) => bindings.push(b),
        }
    }

    // The seed's ConfigMap, unchanged, and it parses as our config.
    let dp = &configmaps["sriovdp-config"];
    assert_eq!(dp.metadata.namespace.as_deref(), Some("kube-system"));
    let json = &dp.data.as_ref().unwrap()["config.json"];
    assert_eq!(json, SEED_CONFIG_JSON, "deploy/sriovdp-config.yaml must hold the seed's config.json verbatim");
    let config = Config::parse(json).unwrap();
    let resource = config.resources[0].full_name();
    assert_eq!(resource, "mellanox.com/cx5_sriov_switchdev");

    // hwol-vswitchd's config parses, with offload on.
    let toml = &configmaps["hwol-config"].data.as_ref().unwrap()["hwol.toml"];
    let vs = hwol_vswitchd::config::Config::parse(toml).unwrap();
    assert_ne!(vs.offload.provider, "none", "the DaemonSet runs with offload on");
    let pipeline_subnet = vs.pipeline.as_ref().expect("[pipeline]: pods need it (hwol/pod-add)").subnet.clone();

    // The DaemonSet.
    assert_eq!(daemonsets.len(), 1);
    let ds = &daemonsets[0];
    let spec = ds.spec.as_ref().unwrap().template.spec.as_ref().unwrap();
    assert_eq!(spec.host_network, Some(true));
    let sa = spec.service_account_name.as_deref().unwrap();
    assert!(accounts.iter().any(|a| a.metadata.name.as_deref() == Some(sa)));
    let volumes: BTreeMap<&str, &k8s_openapi::api::core::v1::Volume> =
        spec.volumes.iter().flatten().map(|v| (v.name.as_str(), v)).collect();
    let host_paths: Vec<&str> =
        volumes.values().filter_map(|v| v.host_path.as_ref()).map(|h| h.path.as_str()).collect();
    for p in [
        "/sys",
        "/sys/fs/bpf",
        "/run/netns",
        "/opt/cni/bin",
        "/etc/cni/net.d",
        "/var/lib/kubelet/device-plugins",
        "/run/hwol",
    ] {
        assert!(host_paths.contains(&p), "the DaemonSet mounts {p}");
    }
    let containers: Vec<&k8s_openapi::api::core::v1::Container> =
        spec.init_containers.iter().flatten().chain(spec.containers.iter()).collect();
    for c in &containers {
        assert!(is_dns_label(&c.name), "container name {:?}", c.name);
        assert_eq!(c.security_context.as_ref().and_then(|s| s.privileged), Some(true), "{} is privileged", c.name);
        for m in c.volume_mounts.iter().flatten() {
            assert!(volumes.contains_key(m.name.as_str()), "{}: mount of undefined volume {}", c.name, m.name);
        }
        for v in volumes.values() {
            if let Some(cm) = &v.config_map {
                assert!(
                    configmaps.contains_key(&cm.name),
                    "volume {} uses ConfigMap {} not in deploy/",
                    v.name,
                    cm.name
                );
            }
        }
    }
    // The device plugin reads the ConfigMap's config.json and serves in
    // kubelet's device-plugins dir.
    let dpc = containers.iter().find(|c| c.name == "hwol-device-plugin").unwrap();
    let cmd = dpc.command.clone().unwrap();
    let arg = |flag: &str| cmd.iter().position(|a| a == flag).map(|i| cmd[i + 1].clone()).unwrap();
    let mount_of =
        |vol: &str| dpc.volume_mounts.iter().flatten().find(|m| m.name == vol).map(|m| m.mount_path.clone()).unwrap();
    assert_eq!(arg("--config"), format!("{}/config.json", mount_of("sriovdp-config")));
    assert_eq!(arg("--plugin-dir"), mount_of("device-plugins"));
    assert_eq!(volumes["device-plugins"].host_path.as_ref().unwrap().path, arg("--plugin-dir"));
    assert_eq!(arg("--sysfs-root"), mount_of("sys"));

    // The image builds every binary the DaemonSet runs.
    let containerfile = std::fs::read_to_string(deploy_dir().join("Containerfile")).unwrap();
    for c in &containers {
        let bin = &c.command.as_ref().unwrap()[0];
        if bin != "sh" {
            assert!(containerfile.contains(&format!("target/release/{bin}")), "Containerfile copies {bin}");
        }
    }

    // Every package it builds is a workspace crate, every binary it copies
    // is one of theirs.
    let crates = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let words: Vec<&str> = containerfile.split_whitespace().collect();
    let build = words.windows(2).position(|w| w == ["cargo", "build"]).expect("Containerfile runs cargo build");
    let build_cmd: Vec<&str> = words[build..].iter().copied().take_while(|w| *w != "&&").collect();
    let mut manifests = String::new();
    for w in build_cmd.windows(2).filter(|w| w[0] == "-p") {
        let toml = std::fs::read_to_string(crates.join(w[1]).join("Cargo.toml"))
            .unwrap_or_else(|e| panic!("Containerfile builds -p {}: no crates/{}/Cargo.toml ({e})", w[1], w[1]));
        assert!(toml.contains(&format!("name = \"{}\"", w[1])), "crates/{}: package name", w[1]);
        manifests.push_str(&toml);
    }
    let copied: Vec<&str> = words.iter().filter_map(|w| w.strip_prefix("target/release/")).collect();
    assert!(copied.len() >= 4, "{copied:?}");
    for bin in copied {
        assert!(
            manifests.contains(&format!("name = \"{bin}\"")),
            "Containerfile copies {bin}, which no -p package builds"
        );
    }

    // RBAC binds the role to the account.
    assert_eq!(bindings.len(), 1);
    let b = &bindings[0];
    assert!(roles.iter().any(|r| r.metadata.name.as_deref() == Some(b.role_ref.name.as_str())));
    let subj = &b.subjects.as_ref().unwrap()[0];
    assert_eq!((subj.kind.as_str(), subj.name.as_str()), ("ServiceAccount", sa));

    // The NAD selects the resource and chains our plugin, portmap, bandwidth.
    assert_eq!(nads.len(), 1);
    let (nad, conf) = &nads[0];
    let ann = nad.metadata.annotations.as_ref().unwrap();
    assert_eq!(ann["k8s.v1.cni.cncf.io/resourceName"], resource);
    assert_eq!(conf.cni_version, "0.3.1");
    assert!(!conf.name.is_empty());
    let kinds: Vec<&str> = conf
        .plugins
        .iter()
        .map(|p| match p {
            CniPlugin::Hwol { ipam } => {
                assert_eq!(ipam.kind, "host-local");
                assert!(ipam.ranges.iter().flatten().all(|r| r.subnet.parse::<IpNet>().is_ok()));
                // The daemon's pipeline admits the addresses host-local hands out.
                assert!(
                    ipam.ranges.iter().flatten().all(|r| r.subnet == pipeline_subnet),
                    "NAD ranges vs hwol-config [pipeline] subnet {pipeline_subnet}"
                );
                "hwol-cni"
            }
            CniPlugin::Portmap { capabilities } => {
                assert_eq!(capabilities.get("portMappings"), Some(&true));
                "portmap"
            }
            CniPlugin::Bandwidth { capabilities } => {
                assert_eq!(capabilities.get("bandwidth"), Some(&true));
                "bandwidth"
            }
        })
        .collect();
    assert_eq!(kinds, ["hwol-cni", "portmap", "bandwidth"]);

    // The pods request one VF each through the NAD, as in the seed.
    assert_eq!(pods.len(), 2);
    for p in &pods {
        let ann = p.metadata.annotations.as_ref().unwrap();
        assert_eq!(ann["v1.multus-cni.io/default-network"], nad.metadata.name.clone().unwrap());
        assert_eq!(p.metadata.namespace, nad.metadata.namespace);
        let c = &p.spec.as_ref().unwrap().containers[0];
        assert!(is_dns_label(&c.name), "container name {:?}", c.name);
        let res = c.resources.as_ref().unwrap();
        for list in [res.requests.as_ref().unwrap(), res.limits.as_ref().unwrap()] {
            assert_eq!(list[&resource].0, "1");
        }
    }
    // The env var a pod sees for its VF.
    assert_eq!(env_name(&config.resources[0]), "PCIDEVICE_MELLANOX_COM_CX5_SRIOV_SWITCHDEV");
}

/// An IPv4/IPv6 prefix `addr/len`, enough to check a subnet string.
struct IpNet;

impl std::str::FromStr for IpNet {
    type Err = String;
    fn from_str(s: &str) -> Result<IpNet, String> {
        let (a, l) = s.split_once('/').ok_or("no /")?;
        let addr: std::net::IpAddr = a.parse().map_err(|_| "bad address")?;
        let len: u8 = l.parse().map_err(|_| "bad length")?;
        if len > if addr.is_ipv4() { 32 } else { 128 } {
            return Err("length too long".into());
        }
        Ok(IpNet)
    }
}
