//! The CNI protocol's data: versions, the `CNI_*` environment, and results
//! in the shape each version prints them. No I/O.
//!
//! Facts from the CNI specification (SPEC.md, versions 0.3.1 to 1.1.0):
//!
//! - Results of 0.3.x and 0.4.0 carry `"version": "4"|"6"` in each `ips`
//!   entry; 1.0.0 dropped it. Otherwise the result shape
//!   (`interfaces`, `ips` with an `interface` index, `routes`, `dns`) is the
//!   same from 0.3.0 on.
//! - CHECK exists from 0.4.0, STATUS and GC from 1.1.0.
//! - A plugin prints its result in the config's `cniVersion`, and a
//!   `prevResult` comes in that same version.
//!
//! Why not a CNI types crate: `rscni-types` 0.1 (checked) models one result
//! shape without the 0.3.x/0.4.0 `ips[].version` field, so it cannot print
//! the results the seed's 0.3.1 chain needs; the types here are small.
//!
//! Not covered: 0.1.0/0.2.0 results (`ip4`/`ip6`), which no current runtime sends.

use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;

use serde_json::{json, Map, Value};

use crate::error::{Error, Result};

/// A CNI specification version this plugin speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Version {
    /// 0.3.1.
    V0_3_1,
    /// 0.4.0: adds CHECK and `prevResult` on DEL.
    V0_4_0,
    /// 1.0.0: drops `ips[].version`.
    V1_0_0,
    /// 1.1.0: adds STATUS and GC.
    V1_1_0,
}

/// Every version this plugin speaks, oldest first.
pub const SUPPORTED: [Version; 4] = [Version::V0_3_1, Version::V0_4_0, Version::V1_0_0, Version::V1_1_0];

impl Version {
    /// Parse a `cniVersion` string.
    pub fn parse(s: &str) -> Result<Version> {
        match s {
            "0.3.1" => Ok(Version::V0_3_1),
            "0.4.0" => Ok(Version::V0_4_0),
            "1.0.0" => Ok(Version::V1_0_0),
            "1.1.0" => Ok(Version::V1_1_0),
            other => Err(Error::IncompatibleVersion(format!(
                "cniVersion {other:?} is not supported by hwol-cni; set \"cniVersion\" in the network config to one of {}",
                SUPPORTED.iter().map(|v| v.as_str()).collect::<Vec<_>>().join(", ")
            ))),
        }
    }

    /// The version string.
    pub fn as_str(self) -> &'static str {
        match self {
            Version::V0_3_1 => "0.3.1",
            Version::V0_4_0 => "0.4.0",
            Version::V1_0_0 => "1.0.0",
            Version::V1_1_0 => "1.1.0",
        }
    }

    /// The newest version.
    pub fn latest() -> Version {
        Version::V1_1_0
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The VERSION command's answer for a config of version `v` (or the latest).
pub fn version_info(v: Option<Version>) -> Value {
    json!({
        "cniVersion": v.unwrap_or(Version::latest()).as_str(),
        "supportedVersions": SUPPORTED.iter().map(|v| v.as_str()).collect::<Vec<_>>(),
    })
}

/// A CNI command (`CNI_COMMAND`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    /// Attach.
    Add,
    /// Detach (idempotent).
    Del,
    /// Verify an attachment.
    Check,
    /// Report supported versions.
    Version,
    /// Is the plugin ready for ADDs (1.1.0).
    Status,
    /// Clean up attachments the runtime no longer knows (1.1.0).
    Gc,
}

impl Command {
    /// Parse `CNI_COMMAND`.
    pub fn parse(s: &str) -> Result<Command> {
        match s {
            "ADD" => Ok(Command::Add),
            "DEL" => Ok(Command::Del),
            "CHECK" => Ok(Command::Check),
            "VERSION" => Ok(Command::Version),
            "STATUS" => Ok(Command::Status),
            "GC" => Ok(Command::Gc),
            other => Err(Error::InvalidEnv(format!(
                "CNI_COMMAND={other:?} is not a CNI command; use ADD, DEL, CHECK, VERSION, STATUS or GC"
            ))),
        }
    }

    /// The first version that has this command.
    pub fn since(self) -> Version {
        match self {
            Command::Add | Command::Del | Command::Version => Version::V0_3_1,
            Command::Check => Version::V0_4_0,
            Command::Status | Command::Gc => Version::V1_1_0,
        }
    }
}

/// The `CNI_*` environment of one invocation, checked for the command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Env {
    /// `CNI_COMMAND`.
    pub command: Command,
    /// `CNI_CONTAINERID` (empty for VERSION/STATUS/GC).
    pub container_id: String,
    /// `CNI_NETNS` (may be empty on DEL).
    pub netns: String,
    /// `CNI_IFNAME` (empty for VERSION/STATUS/GC).
    pub ifname: String,
    /// `CNI_ARGS`, split into `K=V` pairs.
    pub args: BTreeMap<String, String>,
    /// `CNI_PATH`, split on `:`.
    pub path: Vec<String>,
}

impl Env {
    /// Read and check the environment through `get` (e.g. `std::env::var`).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Env> {
        let command = Command::parse(&get("CNI_COMMAND").ok_or_else(|| {
            Error::InvalidEnv(
                "CNI_COMMAND is not set; the runtime must set it (ADD, DEL, CHECK, VERSION, STATUS or GC)".into(),
            )
        })?)?;
        let var = |k: &str| get(k).unwrap_or_default();
        let mut env = Env {
            command,
            container_id: var("CNI_CONTAINERID"),
            netns: var("CNI_NETNS"),
            ifname: var("CNI_IFNAME"),
            args: BTreeMap::new(),
            path: var("CNI_PATH").split(':').filter(|s| !s.is_empty()).map(str::to_string).collect(),
        };
        for kv in var("CNI_ARGS").split(';').filter(|s| !s.is_empty()) {
            let (k, v) = kv.split_once('=').ok_or_else(|| {
                Error::InvalidEnv(format!("CNI_ARGS entry {kv:?} is not KEY=VALUE (entries are separated by ';')"))
            })?;
            env.args.insert(k.to_string(), v.to_string());
        }
        let needs_attachment = matches!(command, Command::Add | Command::Del | Command::Check);
        if needs_attachment {
            if env.container_id.is_empty() {
                return Err(Error::InvalidEnv(format!(
                    "CNI_CONTAINERID is not set; {command:?} needs the container id"
                )));
            }
            if !env.container_id.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)) {
                return Err(Error::InvalidEnv(format!(
                    "CNI_CONTAINERID={:?} has characters other than letters, digits, '-', '_' and '.'",
                    env.container_id
                )));
            }
            if env.ifname.is_empty() {
                return Err(Error::InvalidEnv(format!("CNI_IFNAME is not set; {command:?} needs the interface name")));
            }
            hwol_netdev::emunic::validate_ifname(&env.ifname)
                .map_err(|e| Error::InvalidEnv(format!("CNI_IFNAME: {e}")))?;
        }
        if matches!(command, Command::Add | Command::Check) && env.netns.is_empty() {
            return Err(Error::InvalidEnv(format!(
                "CNI_NETNS is not set; {command:?} needs the network namespace path"
            )));
        }
        Ok(env)
    }

    /// `K8S_POD_NAME` from `CNI_ARGS`, if given.
    pub fn pod_name(&self) -> Option<&str> {
        self.args.get("K8S_POD_NAME").map(String::as_str).filter(|s| !s.is_empty())
    }

    /// `K8S_POD_NAMESPACE` from `CNI_ARGS`, if given.
    pub fn pod_namespace(&self) -> Option<&str> {
        self.args.get("K8S_POD_NAMESPACE").map(String::as_str).filter(|s| !s.is_empty())
    }
}

/// An address with prefix length, as CNI writes it (`10.1.1.5/24`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpNet {
    /// The address.
    pub addr: IpAddr,
    /// The prefix length.
    pub prefix: u8,
}

impl IpNet {
    /// Parse `addr/prefix`.
    pub fn parse(s: &str) -> Option<IpNet> {
        let (a, p) = s.split_once('/')?;
        let addr: IpAddr = a.parse().ok()?;
        let prefix: u8 = p.parse().ok()?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        (prefix <= max).then_some(IpNet { addr, prefix })
    }
}

impl fmt::Display for IpNet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

/// One interface of a result.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Interface {
    /// Name.
    pub name: String,
    /// MAC, `aa:bb:cc:dd:ee:ff`.
    pub mac: String,
    /// The netns path for a container interface; `None` on the host.
    pub sandbox: Option<String>,
    /// Any other keys (`mtu`, `pciID`, ...), kept as they came.
    pub extra: Map<String, Value>,
}

/// One address of a result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IpConfig {
    /// Address and prefix length.
    pub address: IpNet,
    /// Gateway, if any.
    pub gateway: Option<IpAddr>,
    /// Index into `interfaces`.
    pub interface: Option<usize>,
}

/// One route of a result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// Destination.
    pub dst: IpNet,
    /// Gateway, if any.
    pub gw: Option<IpAddr>,
    /// Any other keys (1.1.0's `mtu`, `table`, ...), kept as they came.
    pub extra: Map<String, Value>,
}

/// A result, independent of the version it is printed in.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CniResult {
    /// Interfaces.
    pub interfaces: Vec<Interface>,
    /// Addresses.
    pub ips: Vec<IpConfig>,
    /// Routes.
    pub routes: Vec<Route>,
    /// DNS, kept as it came (`{}` when empty).
    pub dns: Value,
}

fn bad(what: &str, detail: impl fmt::Display) -> Error {
    Error::Decode(format!("{what}: {detail}"))
}

fn ip_field(v: &Value, key: &str, what: &str) -> Result<Option<IpAddr>> {
    match v.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.is_empty() => Ok(None),
        Some(Value::String(s)) => {
            s.parse().map(Some).map_err(|_| bad(what, format!("{key} {s:?} is not an IP address")))
        }
        Some(other) => Err(bad(what, format!("{key} {other} is not a string"))),
    }
}

fn net_field(v: &Value, key: &str, what: &str) -> Result<IpNet> {
    let s = v.get(key).and_then(Value::as_str).ok_or_else(|| bad(what, format!("{key} is missing or not a string")))?;
    IpNet::parse(s).ok_or_else(|| bad(what, format!("{key} {s:?} is not an address/prefix like 10.1.1.5/24")))
}

impl CniResult {
    /// Parse a result of any supported version (0.3.0 on: `ips[].version`
    /// is accepted and ignored). `what` names the source in errors
    /// (`prevResult`, `the IPAM plugin host-local`).
    pub fn from_json(v: &Value, what: &str) -> Result<CniResult> {
        let o = v.as_object().ok_or_else(|| bad(what, "a result must be a JSON object"))?;
        if o.contains_key("ip4") || o.contains_key("ip6") {
            return Err(Error::IncompatibleVersion(format!(
                "{what} is a CNI 0.1/0.2 result (ip4/ip6); use cniVersion 0.3.1 or newer"
            )));
        }
        let mut r = CniResult { dns: o.get("dns").cloned().unwrap_or_else(|| json!({})), ..Default::default() };
        for (i, it) in o.get("interfaces").and_then(Value::as_array).into_iter().flatten().enumerate() {
            let w = format!("{what}: interfaces[{i}]");
            let mut extra = it.as_object().cloned().ok_or_else(|| bad(&w, "not an object"))?;
            let name = extra.remove("name").and_then(|n| n.as_str().map(str::to_string)).unwrap_or_default();
            let mac = extra.remove("mac").and_then(|n| n.as_str().map(str::to_string)).unwrap_or_default();
            let sandbox =
                extra.remove("sandbox").and_then(|n| n.as_str().map(str::to_string)).filter(|s| !s.is_empty());
            r.interfaces.push(Interface { name, mac, sandbox, extra });
        }
        for (i, ip) in o.get("ips").and_then(Value::as_array).into_iter().flatten().enumerate() {
            let w = format!("{what}: ips[{i}]");
            let address = net_field(ip, "address", &w)?;
            let gateway = ip_field(ip, "gateway", &w)?;
            let interface = match ip.get("interface") {
                None | Some(Value::Null) => None,
                Some(x) => Some(x.as_u64().ok_or_else(|| bad(&w, "interface is not an index"))? as usize),
            };
            r.ips.push(IpConfig { address, gateway, interface });
        }
        for (i, rt) in o.get("routes").and_then(Value::as_array).into_iter().flatten().enumerate() {
            let w = format!("{what}: routes[{i}]");
            let dst = net_field(rt, "dst", &w)?;
            let gw = ip_field(rt, "gw", &w)?;
            let mut extra = rt.as_object().cloned().unwrap_or_default();
            extra.remove("dst");
            extra.remove("gw");
            r.routes.push(Route { dst, gw, extra });
        }
        Ok(r)
    }

    /// The result as version `v` prints it.
    pub fn to_json(&self, v: Version) -> Value {
        let interfaces: Vec<Value> = self
            .interfaces
            .iter()
            .map(|i| {
                let mut o = Map::new();
                o.insert("name".into(), json!(i.name));
                if !i.mac.is_empty() {
                    o.insert("mac".into(), json!(i.mac));
                }
                for (k, x) in &i.extra {
                    o.insert(k.clone(), x.clone());
                }
                if let Some(s) = &i.sandbox {
                    o.insert("sandbox".into(), json!(s));
                }
                Value::Object(o)
            })
            .collect();
        let ips: Vec<Value> = self
            .ips
            .iter()
            .map(|ip| {
                let mut o = Map::new();
                if v < Version::V1_0_0 {
                    o.insert("version".into(), json!(if ip.address.addr.is_ipv4() { "4" } else { "6" }));
                }
                if let Some(i) = ip.interface {
                    o.insert("interface".into(), json!(i));
                }
                o.insert("address".into(), json!(ip.address.to_string()));
                if let Some(g) = ip.gateway {
                    o.insert("gateway".into(), json!(g.to_string()));
                }
                Value::Object(o)
            })
            .collect();
        let routes: Vec<Value> = self
            .routes
            .iter()
            .map(|r| {
                let mut o = Map::new();
                o.insert("dst".into(), json!(r.dst.to_string()));
                if let Some(g) = r.gw {
                    o.insert("gw".into(), json!(g.to_string()));
                }
                if v >= Version::V1_1_0 {
                    for (k, x) in &r.extra {
                        o.insert(k.clone(), x.clone());
                    }
                }
                Value::Object(o)
            })
            .collect();
        let mut o = Map::new();
        o.insert("cniVersion".into(), json!(v.as_str()));
        o.insert("interfaces".into(), Value::Array(interfaces));
        o.insert("ips".into(), Value::Array(ips));
        o.insert("routes".into(), Value::Array(routes));
        o.insert("dns".into(), self.dns.clone());
        Value::Object(o)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(vars: &[(&str, &str)]) -> Result<Env> {
        let m: BTreeMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Env::from_lookup(|k| m.get(k).cloned())
    }

    #[test]
    fn versions_round_trip_and_unknown_ones_are_code_1() {
        for v in SUPPORTED {
            assert_eq!(Version::parse(v.as_str()).unwrap(), v);
        }
        let e = Version::parse("0.2.0").unwrap_err();
        assert_eq!(e.code(), 1);
        assert!(e.to_string().contains("0.3.1, 0.4.0, 1.0.0, 1.1.0"), "{e}");
        assert_eq!(Command::Check.since(), Version::V0_4_0);
        assert_eq!(Command::Gc.since(), Version::V1_1_0);
        assert_eq!(
            version_info(Some(Version::V0_3_1)),
            json!({"cniVersion": "0.3.1", "supportedVersions": ["0.3.1", "0.4.0", "1.0.0", "1.1.0"]})
        );
    }

    #[test]
    fn env_is_checked_per_command() {
        let e = env(&[
            ("CNI_COMMAND", "ADD"),
            ("CNI_CONTAINERID", "abc123"),
            ("CNI_NETNS", "/var/run/netns/p1"),
            ("CNI_IFNAME", "eth0"),
            ("CNI_ARGS", "IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=ovs-offload-pod1"),
            ("CNI_PATH", "/opt/cni/bin:/usr/lib/cni"),
        ])
        .unwrap();
        assert_eq!(e.command, Command::Add);
        assert_eq!(e.pod_name(), Some("ovs-offload-pod1"));
        assert_eq!(e.pod_namespace(), Some("default"));
        assert_eq!(e.path, vec!["/opt/cni/bin", "/usr/lib/cni"]);
        // VERSION needs nothing else.
        assert_eq!(env(&[("CNI_COMMAND", "VERSION")]).unwrap().command, Command::Version);
        // DEL without a netns is fine; ADD is not.
        env(&[("CNI_COMMAND", "DEL"), ("CNI_CONTAINERID", "c"), ("CNI_IFNAME", "eth0")]).unwrap();
        let err = env(&[("CNI_COMMAND", "ADD"), ("CNI_CONTAINERID", "c"), ("CNI_IFNAME", "eth0")]).unwrap_err();
        assert_eq!(err.code(), 4);
        assert!(err.to_string().contains("CNI_NETNS"), "{err}");
        let err = env(&[]).unwrap_err();
        assert_eq!(err.code(), 4);
        assert!(err.to_string().contains("CNI_COMMAND is not set"));
        assert_eq!(env(&[("CNI_COMMAND", "PUT")]).unwrap_err().code(), 4);
        let err = env(&[("CNI_COMMAND", "DEL"), ("CNI_CONTAINERID", "c"), ("CNI_IFNAME", "a/b")]).unwrap_err();
        assert!(err.to_string().contains("CNI_IFNAME"), "{err}");
        let err = env(&[("CNI_COMMAND", "DEL"), ("CNI_CONTAINERID", "../x"), ("CNI_IFNAME", "eth0")]).unwrap_err();
        assert_eq!(err.code(), 4);
        let err = env(&[("CNI_COMMAND", "DEL"), ("CNI_CONTAINERID", "c"), ("CNI_IFNAME", "eth0"), ("CNI_ARGS", "x")])
            .unwrap_err();
        assert!(err.to_string().contains("KEY=VALUE"), "{err}");
    }

    /// host-local's 0.3.1 answer, as Debian's host-local 1.1.1 prints it.
    const HOST_LOCAL_031: &str = r#"{
        "cniVersion": "0.3.1",
        "ips": [{"version": "4", "address": "192.168.1.16/24", "gateway": "192.168.1.1"}],
        "routes": [{"dst": "0.0.0.0/0"}],
        "dns": {}
    }"#;

    #[test]
    fn results_print_per_version() {
        let mut r = CniResult::from_json(&serde_json::from_str(HOST_LOCAL_031).unwrap(), "host-local").unwrap();
        assert_eq!(r.ips[0].address.to_string(), "192.168.1.16/24");
        r.interfaces.push(Interface {
            name: "pod1-abcdef".into(),
            mac: "aa:bb:cc:dd:ee:ff".into(),
            ..Default::default()
        });
        r.interfaces.push(Interface {
            name: "eth0".into(),
            mac: "02:00:00:00:00:01".into(),
            sandbox: Some("/var/run/netns/p1".into()),
            ..Default::default()
        });
        r.ips[0].interface = Some(1);
        let v031 = r.to_json(Version::V0_3_1);
        assert_eq!(v031["cniVersion"], "0.3.1");
        assert_eq!(
            v031["ips"][0],
            json!({"version": "4", "interface": 1, "address": "192.168.1.16/24", "gateway": "192.168.1.1"})
        );
        assert_eq!(v031["interfaces"][1]["sandbox"], "/var/run/netns/p1");
        assert!(v031["interfaces"][0].get("sandbox").is_none());
        let v100 = r.to_json(Version::V1_0_0);
        assert_eq!(v100["ips"][0], json!({"interface": 1, "address": "192.168.1.16/24", "gateway": "192.168.1.1"}));
        // A result parses back to the same value from every version.
        for v in SUPPORTED {
            assert_eq!(CniResult::from_json(&r.to_json(v), "x").unwrap(), r);
        }
    }

    #[test]
    fn bad_results_say_where() {
        let e = CniResult::from_json(&json!({"ips": [{"address": "10.0.0.1"}]}), "prevResult").unwrap_err();
        assert_eq!(e.code(), 6);
        assert!(e.to_string().starts_with("prevResult: ips[0]: address \"10.0.0.1\""), "{e}");
        let e = CniResult::from_json(&json!({"ip4": {}}), "prevResult").unwrap_err();
        assert_eq!(e.code(), 1);
        assert!(IpNet::parse("10.0.0.1/33").is_none());
        assert!(IpNet::parse("fd00::1/64").is_some());
    }

    mod props {
        use super::*;
        use proptest::prelude::*;

        fn ipnet() -> impl Strategy<Value = IpNet> {
            prop_oneof![
                (any::<[u8; 4]>(), 0u8..=32).prop_map(|(a, p)| IpNet { addr: IpAddr::from(a), prefix: p }),
                (any::<[u8; 16]>(), 0u8..=128).prop_map(|(a, p)| IpNet { addr: IpAddr::from(a), prefix: p }),
            ]
        }

        fn result() -> impl Strategy<Value = CniResult> {
            let iface = ("[a-z0-9-]{1,15}", proptest::option::of("/var/run/netns/[a-z0-9]{1,8}")).prop_map(
                |(name, sandbox)| Interface { name, mac: "02:00:00:00:00:01".into(), sandbox, ..Default::default() },
            );
            let ip = (ipnet(), proptest::option::of(any::<[u8; 4]>()), proptest::option::of(0usize..4))
                .prop_map(|(address, gw, interface)| IpConfig { address, gateway: gw.map(IpAddr::from), interface });
            let route = (ipnet(), proptest::option::of(any::<[u8; 4]>())).prop_map(|(dst, gw)| Route {
                dst,
                gw: gw.map(IpAddr::from),
                extra: Map::new(),
            });
            (
                proptest::collection::vec(iface, 0..4),
                proptest::collection::vec(ip, 0..4),
                proptest::collection::vec(route, 0..4),
            )
                .prop_map(|(interfaces, ips, routes)| CniResult {
                    interfaces,
                    ips,
                    routes,
                    dns: json!({}),
                })
        }

        fn json_value() -> impl Strategy<Value = Value> {
            let leaf = prop_oneof![
                Just(Value::Null),
                any::<bool>().prop_map(Value::Bool),
                any::<i64>().prop_map(|n| json!(n)),
                "[ -~]{0,20}".prop_map(Value::String),
                Just(json!("10.0.0.1/24")),
                Just(json!("0.3.1")),
            ];
            leaf.prop_recursive(3, 24, 6, |inner| {
                prop_oneof![
                    proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                    proptest::collection::btree_map(
                        prop_oneof![
                            Just("cniVersion".to_string()),
                            Just("ips".to_string()),
                            Just("address".to_string()),
                            Just("interfaces".to_string()),
                            Just("routes".to_string()),
                            Just("dst".to_string()),
                            Just("ipam".to_string()),
                            Just("deviceID".to_string()),
                            Just("runtimeConfig".to_string()),
                            Just("prevResult".to_string()),
                            "[a-z]{1,6}",
                        ],
                        inner,
                        0..6
                    )
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
                ]
            })
        }

        proptest! {
            /// Every result prints in every version and parses back to itself.
            #[test]
            fn results_round_trip_in_every_version(r in result()) {
                for v in SUPPORTED {
                    prop_assert_eq!(CniResult::from_json(&r.to_json(v), "x").unwrap(), r.clone());
                }
            }

            /// Any JSON is answered with a result or an error, never a panic.
            #[test]
            fn any_json_is_parsed_or_refused(v in json_value()) {
                let _ = CniResult::from_json(&v, "x");
                let _ = crate::config::NetConf::parse(v.to_string().as_bytes());
            }
        }
    }
}
