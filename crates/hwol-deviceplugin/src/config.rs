//! `config.json`: the resource pools, in the SR-IOV network device plugin's
//! format (the `sriovdp-config` ConfigMap).
//!
//! ```json
//! { "resourceList": [{
//!     "resourcePrefix": "mellanox.com",
//!     "resourceName": "cx5_sriov_switchdev",
//!     "isRdma": true,
//!     "selectors": { "vendors": ["15b3"], "devices": ["1018"], "drivers": ["mlx5_core"] }
//! }]}
//! ```
//!
//! Both forms the SR-IOV device plugin has read are accepted:
//!
//! - the older one (the seed's), with `isRdma` at resource level and
//!   `selectors` an object;
//! - the current one, where `selectors` is an object or a list of objects
//!   (a device matches the resource if it matches any of them) and `isRdma`
//!   sits inside a selector.
//!
//! Keys are matched case-insensitively, as Go's `encoding/json` (which the
//! SR-IOV device plugin uses) matches them, so every config that plugin reads
//! reads the same here. Unlike that plugin, an unknown key is an error, not
//! silently ignored: the error names the key and the resource, so a typo in
//! a selector cannot quietly select every device. Selectors the SR-IOV
//! device plugin knows but hwol does not implement (`ddpProfiles`,
//! `vdpaType`, `pKeys`, `acpiIndexes`, `auxTypes`) and device types other
//! than `netDevice` are errors that say so.
//!
//! This module only parses and validates; matching devices against the
//! selectors is [`Selector::matches`], over the values discovery produced
//! ([`crate::sysfs`]).

use serde_json::{Map, Value};

use crate::sysfs::PciNetDevice;

/// The default `resourcePrefix`, as the SR-IOV device plugin's
/// `--resource-prefix` default.
pub const DEFAULT_PREFIX: &str = "intel.com";

/// A parsed `config.json`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// `resourceList`, in file order. A device belongs to the first resource
    /// whose selectors it matches.
    pub resources: Vec<ResourceConfig>,
}

/// One entry of `resourceList`: a pool of devices advertised to kubelet as
/// the extended resource `<prefix>/<name>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceConfig {
    /// `resourcePrefix` (default [`DEFAULT_PREFIX`]).
    pub prefix: String,
    /// `resourceName`.
    pub name: String,
    /// `excludeTopology`: advertise no NUMA affinity.
    pub exclude_topology: bool,
    /// The selectors; a device matches the resource if it matches any.
    pub selectors: Vec<Selector>,
}

/// One selector object. Every list that is not empty must contain the
/// device's value; an empty list does not filter.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selector {
    /// `vendors`: PCI vendor ids, lower-case hex without `0x` (`15b3`).
    pub vendors: Vec<String>,
    /// `devices`: PCI device ids, lower-case hex without `0x` (`1018`).
    pub devices: Vec<String>,
    /// `drivers`: bound kernel driver names (`mlx5_core`).
    pub drivers: Vec<String>,
    /// `pciAddresses`: full PCI addresses (`0000:03:00.2`).
    pub pci_addresses: Vec<String>,
    /// `pfNames`: the PF's netdev name, optionally with VF index ranges.
    pub pf_names: Vec<PfName>,
    /// `rootDevices`: the PF's PCI address.
    pub root_devices: Vec<String>,
    /// `linkTypes`: link types (`ether`, `infiniband`).
    pub link_types: Vec<String>,
    /// `isRdma`: only devices with an RDMA device; their `/dev/infiniband`
    /// character devices are given to the container.
    pub is_rdma: bool,
    /// `needVhostNet`: also give the container `/dev/vhost-net` and `/dev/net/tun`.
    pub need_vhost_net: bool,
}

/// A `pfNames` entry: `enp3s0f0` (every VF of that PF) or `enp3s0f0#0-3,6`
/// (VFs 0 to 3 and 6 only).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PfName {
    /// The PF's netdev name.
    pub name: String,
    /// Inclusive VF index ranges; `None` is every VF.
    pub vf_ranges: Option<Vec<(u32, u32)>>,
}

/// What was wrong in `config.json`, and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}field `{field}`: {reason}", resource.as_ref().map(|r| format!("resource {r}: ")).unwrap_or_default())]
pub struct ConfigError {
    /// The resource, as `"<resourceName>" (resourceList[i])`, or `None` at top level.
    pub resource: Option<String>,
    /// The JSON path of the field within the resource (`selectors[1].vendors[0]`).
    pub field: String,
    /// What is wrong and how to fix it.
    pub reason: String,
}

/// Keys the SR-IOV device plugin reads that hwol does not implement.
const UNSUPPORTED_SELECTORS: &[&str] = &["ddpProfiles", "vdpaType", "pKeys", "acpiIndexes", "auxTypes"];

const SELECTOR_KEYS: &[&str] =
    &["vendors", "devices", "drivers", "pciAddresses", "pfNames", "rootDevices", "linkTypes", "isRdma", "needVhostNet"];

const RESOURCE_KEYS: &[&str] =
    &["resourceName", "resourcePrefix", "deviceType", "isRdma", "excludeTopology", "selectors"];

impl Config {
    /// Parses and validates the text of `config.json`.
    pub fn parse(text: &str) -> Result<Config, ConfigError> {
        let value: Value = serde_json::from_str(text).map_err(|e| ConfigError {
            resource: None,
            field: "(document)".into(),
            reason: format!("not valid JSON: {e}"),
        })?;
        let top = value.as_object().ok_or_else(|| ConfigError {
            resource: None,
            field: "(document)".into(),
            reason: "must be a JSON object with a `resourceList` array".into(),
        })?;
        let fields = Fields::new(top, None, "", &["resourceList"])?;
        let list = fields.get("resourceList").ok_or_else(|| ConfigError {
            resource: None,
            field: "resourceList".into(),
            reason: "missing: config.json must hold {\"resourceList\": [ ... ]}".into(),
        })?;
        let list = list.as_array().ok_or_else(|| ConfigError {
            resource: None,
            field: "resourceList".into(),
            reason: "must be an array of resource objects".into(),
        })?;
        let mut resources: Vec<ResourceConfig> = Vec::with_capacity(list.len());
        for (i, entry) in list.iter().enumerate() {
            let r = parse_resource(i, entry)?;
            if let Some(prev) = resources.iter().position(|p| p.prefix == r.prefix && p.name == r.name) {
                return Err(ConfigError {
                    resource: Some(resource_label(&r.name, i)),
                    field: "resourceName".into(),
                    reason: format!(
                        "`{}` is already defined by resourceList[{prev}]; give each resource a unique name",
                        r.full_name()
                    ),
                });
            }
            resources.push(r);
        }
        Ok(Config { resources })
    }
}

impl ResourceConfig {
    /// The extended resource name kubelet sees: `<prefix>/<name>`.
    pub fn full_name(&self) -> String {
        format!("{}/{}", self.prefix, self.name)
    }

    /// Whether `dev` matches any of the selectors.
    pub fn matches(&self, dev: &PciNetDevice) -> bool {
        self.selectors.iter().any(|s| s.matches(dev))
    }

    /// Whether any selector asks for RDMA devices.
    pub fn is_rdma(&self) -> bool {
        self.selectors.iter().any(|s| s.is_rdma)
    }

    /// Whether any selector asks for vhost-net.
    pub fn need_vhost_net(&self) -> bool {
        self.selectors.iter().any(|s| s.need_vhost_net)
    }
}

impl Selector {
    /// Whether `dev` passes every non-empty filter of this selector.
    pub fn matches(&self, dev: &PciNetDevice) -> bool {
        fn any_of(list: &[String], value: Option<&str>) -> bool {
            list.is_empty() || value.is_some_and(|v| list.iter().any(|x| x == v))
        }
        any_of(&self.vendors, Some(&dev.vendor))
            && any_of(&self.devices, Some(&dev.device))
            && any_of(&self.drivers, dev.driver.as_deref())
            && any_of(&self.pci_addresses, Some(&dev.pci_address))
            && any_of(&self.root_devices, dev.pf_pci_address.as_deref())
            && any_of(&self.link_types, dev.link_type.as_deref())
            && (self.pf_names.is_empty() || self.pf_names.iter().any(|p| p.matches(dev)))
            && (!self.is_rdma || !dev.rdma_devices.is_empty())
    }
}

impl PfName {
    /// Whether `dev` is a VF of this PF within the index ranges.
    pub fn matches(&self, dev: &PciNetDevice) -> bool {
        if dev.pf_netdev.as_deref() != Some(self.name.as_str()) {
            return false;
        }
        match (&self.vf_ranges, dev.vf_index) {
            (None, _) => true,
            (Some(ranges), Some(idx)) => ranges.iter().any(|&(lo, hi)| (lo..=hi).contains(&idx)),
            (Some(_), None) => false,
        }
    }

    /// Parses `name` or `name#0-3,5`.
    pub fn parse(s: &str) -> Result<PfName, String> {
        let (name, ranges) = match s.split_once('#') {
            None => (s, None),
            Some((n, r)) => (n, Some(r)),
        };
        if name.is_empty() || name.len() > 15 || name.contains(['/', ' ']) {
            return Err(format!("`{s}`: `{name}` is not a netdev name (1-15 characters, no `/` or spaces)"));
        }
        let vf_ranges = match ranges {
            None => None,
            Some(r) => {
                let mut out = Vec::new();
                for part in r.split(',') {
                    let bad = || {
                        format!(
                            "`{s}`: `{part}` is not a VF index or range; write e.g. `{name}#0-3` or `{name}#0,2,4-7`"
                        )
                    };
                    let (lo, hi) = match part.split_once('-') {
                        Some((a, b)) => (a.trim().parse::<u32>(), b.trim().parse::<u32>()),
                        None => (part.trim().parse::<u32>(), part.trim().parse::<u32>()),
                    };
                    let (lo, hi) = (lo.map_err(|_| bad())?, hi.map_err(|_| bad())?);
                    if lo > hi {
                        return Err(format!("`{s}`: range `{part}` ends before it starts"));
                    }
                    out.push((lo, hi));
                }
                Some(out)
            }
        };
        Ok(PfName { name: name.to_string(), vf_ranges })
    }
}

fn resource_label(name: &str, i: usize) -> String {
    if name.is_empty() {
        format!("resourceList[{i}]")
    } else {
        format!("\"{name}\" (resourceList[{i}])")
    }
}

/// An object's keys resolved against the known ones, case-insensitively.
struct Fields<'a> {
    map: Vec<(&'static str, &'a Value)>,
}

impl<'a> Fields<'a> {
    fn new(
        obj: &'a Map<String, Value>,
        resource: Option<&str>,
        path: &str,
        known: &[&'static str],
    ) -> Result<Fields<'a>, ConfigError> {
        let mut map: Vec<(&'static str, &'a Value)> = Vec::new();
        for (k, v) in obj {
            let field = format!("{path}{k}");
            let err =
                |reason: String| ConfigError { resource: resource.map(str::to_string), field: field.clone(), reason };
            if let Some(canon) = known.iter().find(|c| c.eq_ignore_ascii_case(k)) {
                if map.iter().any(|(c, _)| c == canon) {
                    return Err(err(format!("given twice (keys match case-insensitively, as `{canon}`)")));
                }
                map.push((canon, v));
            } else if UNSUPPORTED_SELECTORS.iter().any(|c| c.eq_ignore_ascii_case(k)) && path.starts_with("selectors") {
                return Err(err("this SR-IOV device plugin selector is not supported by hwol; remove it".into()));
            } else {
                return Err(err(format!("unknown field; known fields here: {}", known.join(", "))));
            }
        }
        Ok(Fields { map })
    }

    fn get(&self, key: &str) -> Option<&'a Value> {
        self.map.iter().find(|(k, _)| *k == key).map(|(_, v)| *v)
    }
}

fn parse_resource(i: usize, entry: &Value) -> Result<ResourceConfig, ConfigError> {
    let obj = entry.as_object().ok_or_else(|| ConfigError {
        resource: Some(resource_label("", i)),
        field: "(entry)".into(),
        reason: "each resourceList entry must be an object".into(),
    })?;
    // Name the resource in errors as early as we can.
    let raw_name =
        obj.iter().find(|(k, _)| k.eq_ignore_ascii_case("resourceName")).and_then(|(_, v)| v.as_str()).unwrap_or("");
    let label = resource_label(raw_name, i);
    let err = |field: &str, reason: String| ConfigError { resource: Some(label.clone()), field: field.into(), reason };
    let f = Fields::new(obj, Some(&label), "", RESOURCE_KEYS)?;

    let name = match f.get("resourceName") {
        None => return Err(err("resourceName", "missing; every resource needs a resourceName".into())),
        Some(v) => v.as_str().ok_or_else(|| err("resourceName", "must be a string".into()))?,
    };
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(err("resourceName", format!("`{name}` may only hold letters, digits and `_`")));
    }
    let prefix = match f.get("resourcePrefix") {
        None => DEFAULT_PREFIX.to_string(),
        Some(v) => v.as_str().ok_or_else(|| err("resourcePrefix", "must be a string".into()))?.to_string(),
    };
    if prefix.is_empty()
        || prefix.starts_with(['.', '-'])
        || prefix.ends_with(['.', '-'])
        || !prefix.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '-')
    {
        return Err(err(
            "resourcePrefix",
            format!("`{prefix}` is not a DNS subdomain (lower-case letters, digits, `.`, `-`), e.g. `mellanox.com`"),
        ));
    }
    match f.get("deviceType") {
        None => {}
        Some(Value::String(t)) if t == "netDevice" => {}
        Some(Value::String(t)) => {
            return Err(err("deviceType", format!("`{t}` is not supported by hwol; only `netDevice` (the default) is")))
        }
        Some(_) => return Err(err("deviceType", "must be a string (\"netDevice\")".into())),
    }
    let bool_field = |key: &str| -> Result<bool, ConfigError> {
        match f.get(key) {
            None => Ok(false),
            Some(Value::Bool(b)) => Ok(*b),
            Some(_) => Err(err(key, "must be true or false".into())),
        }
    };
    let resource_rdma = bool_field("isRdma")?;
    let exclude_topology = bool_field("excludeTopology")?;

    let objects: Vec<(String, &Map<String, Value>)> = match f.get("selectors") {
        None => {
            return Err(err(
                "selectors",
                "missing; add e.g. \"selectors\": {\"vendors\": [\"15b3\"], \"drivers\": [\"mlx5_core\"]}".into(),
            ))
        }
        Some(Value::Object(o)) => vec![("selectors.".to_string(), o)],
        Some(Value::Array(list)) => {
            if list.is_empty() {
                return Err(err("selectors", "an empty list selects nothing; add a selector object".into()));
            }
            let mut out = Vec::new();
            for (j, s) in list.iter().enumerate() {
                let o =
                    s.as_object().ok_or_else(|| err(&format!("selectors[{j}]"), "must be a selector object".into()))?;
                out.push((format!("selectors[{j}]."), o));
            }
            out
        }
        Some(_) => return Err(err("selectors", "must be an object or a list of objects".into())),
    };
    let mut selectors = Vec::with_capacity(objects.len());
    for (path, o) in objects {
        let mut s = parse_selector(&label, &path, o)?;
        s.is_rdma |= resource_rdma;
        selectors.push(s);
    }
    Ok(ResourceConfig { prefix, name: name.to_string(), exclude_topology, selectors })
}

fn parse_selector(label: &str, path: &str, o: &Map<String, Value>) -> Result<Selector, ConfigError> {
    let f = Fields::new(o, Some(label), path, SELECTOR_KEYS)?;
    let err = |field: String, reason: String| ConfigError { resource: Some(label.to_string()), field, reason };
    let strings = |key: &str, check: &dyn Fn(&str) -> Result<String, String>| -> Result<Vec<String>, ConfigError> {
        let Some(v) = f.get(key) else { return Ok(Vec::new()) };
        let list = v.as_array().ok_or_else(|| err(format!("{path}{key}"), "must be a list of strings".into()))?;
        list.iter()
            .enumerate()
            .map(|(j, x)| {
                let field = format!("{path}{key}[{j}]");
                let s = x.as_str().ok_or_else(|| err(field.clone(), "must be a string".into()))?;
                check(s).map_err(|reason| err(field, reason))
            })
            .collect()
    };
    let hex4 = |what: &'static str| {
        move |s: &str| -> Result<String, String> {
            let t = s.trim_start_matches("0x").to_ascii_lowercase();
            if t.len() == 4 && t.chars().all(|c| c.is_ascii_hexdigit()) {
                Ok(t)
            } else {
                Err(format!("`{s}` is not a PCI {what} id (4 hex digits, e.g. `15b3`)"))
            }
        }
    };
    let nonempty = |s: &str| -> Result<String, String> {
        if s.is_empty() {
            Err("must not be empty".into())
        } else {
            Ok(s.to_string())
        }
    };
    let pci = |s: &str| -> Result<String, String> {
        let t = s.to_ascii_lowercase();
        if is_pci_address(&t) {
            Ok(t)
        } else {
            Err(format!("`{s}` is not a PCI address (domain:bus:device.function, e.g. `0000:03:00.2`)"))
        }
    };
    let lower = |s: &str| nonempty(s).map(|s| s.to_ascii_lowercase());
    let bool_field = |key: &str| -> Result<bool, ConfigError> {
        match f.get(key) {
            None => Ok(false),
            Some(Value::Bool(b)) => Ok(*b),
            Some(_) => Err(err(format!("{path}{key}"), "must be true or false".into())),
        }
    };
    let pf_names = strings("pfNames", &nonempty)?;
    let pf_names = pf_names
        .iter()
        .enumerate()
        .map(|(j, s)| PfName::parse(s).map_err(|r| err(format!("{path}pfNames[{j}]"), r)))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Selector {
        vendors: strings("vendors", &hex4("vendor"))?,
        devices: strings("devices", &hex4("device"))?,
        drivers: strings("drivers", &nonempty)?,
        pci_addresses: strings("pciAddresses", &pci)?,
        pf_names,
        root_devices: strings("rootDevices", &pci)?,
        link_types: strings("linkTypes", &lower)?,
        is_rdma: bool_field("isRdma")?,
        need_vhost_net: bool_field("needVhostNet")?,
    })
}

/// Whether `s` is a full PCI address `dddd:bb:dd.f` (lower-case hex).
pub fn is_pci_address(s: &str) -> bool {
    let b = s.as_bytes();
    let hex = |r: std::ops::Range<usize>| b[r].iter().all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(c));
    b.len() == 12 && b[4] == b':' && b[7] == b':' && b[10] == b'.' && hex(0..4) && hex(5..7) && hex(8..10) && {
        (b'0'..=b'7').contains(&b[11])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::testing::SEED_CONFIG_JSON as SEED;

    fn dev(addr: &str, vendor: &str, device: &str, driver: &str) -> PciNetDevice {
        PciNetDevice {
            pci_address: addr.into(),
            vendor: vendor.into(),
            device: device.into(),
            driver: Some(driver.into()),
            ..PciNetDevice::default()
        }
    }

    #[test]
    fn seed_config_parses() {
        let c = Config::parse(SEED).unwrap();
        assert_eq!(c.resources.len(), 1);
        let r = &c.resources[0];
        assert_eq!(r.full_name(), "mellanox.com/cx5_sriov_switchdev");
        assert_eq!(r.selectors.len(), 1);
        let s = &r.selectors[0];
        assert_eq!(s.vendors, ["15b3"]);
        assert_eq!(s.devices, ["1018"]);
        assert_eq!(s.drivers, ["mlx5_core"]);
        assert!(s.is_rdma, "resource-level isRdma (the older form) applies to the selector");
        assert!(r.is_rdma());
    }

    #[test]
    fn current_form_with_selector_list_ors_the_selectors() {
        let c = Config::parse(
            r#"{"resourceList":[{"resourceName":"vfs","deviceType":"netDevice",
                "selectors":[{"vendors":["15b3"],"devices":["1018"]},{"pciAddresses":["0000:82:00.2"],"isRdma":false}]}]}"#,
        )
        .unwrap();
        let r = &c.resources[0];
        assert_eq!(r.prefix, DEFAULT_PREFIX);
        assert!(r.matches(&dev("0000:03:00.2", "15b3", "1018", "mlx5_core")));
        assert!(r.matches(&dev("0000:82:00.2", "8086", "154c", "iavf")));
        assert!(!r.matches(&dev("0000:82:00.3", "8086", "154c", "iavf")));
    }

    #[test]
    fn keys_match_case_insensitively_like_go() {
        let c = Config::parse(r#"{"ResourceList":[{"ResourceName":"a","Selectors":{"Vendors":["15B3"]}}]}"#).unwrap();
        assert_eq!(c.resources[0].selectors[0].vendors, ["15b3"]);
    }

    #[test]
    fn unknown_fields_name_the_field_and_resource() {
        let e =
            Config::parse(r#"{"resourceList":[{"resourceName":"cx5","selectors":{"vendor":["15b3"]}}]}"#).unwrap_err();
        assert_eq!(e.field, "selectors.vendor");
        assert_eq!(e.resource.as_deref(), Some("\"cx5\" (resourceList[0])"));
        let msg = e.to_string();
        assert!(msg.contains("cx5") && msg.contains("selectors.vendor") && msg.contains("unknown"), "{msg}");

        let e = Config::parse(r#"{"resourceList":[{"resourceName":"a","resoucePrefix":"x.com","selectors":{}}]}"#)
            .unwrap_err();
        assert_eq!(e.field, "resoucePrefix");

        let e = Config::parse(r#"{"resourceList":[],"extra":1}"#).unwrap_err();
        assert_eq!((e.resource, e.field.as_str()), (None, "extra"));

        let e = Config::parse(r#"{"resourceList":[{"resourceName":"a","selectors":[{},{"ddpProfiles":["x"]}]}]}"#)
            .unwrap_err();
        assert_eq!(e.field, "selectors[1].ddpProfiles");
        assert!(e.reason.contains("not supported"));
    }

    #[test]
    fn invalid_values_are_errors() {
        let cases = [
            (r#"{"resourceList":[{"resourceName":"a-b","selectors":{}}]}"#, "resourceName"),
            (
                r#"{"resourceList":[{"resourceName":"a","resourcePrefix":"Mellanox.com","selectors":{}}]}"#,
                "resourcePrefix",
            ),
            (r#"{"resourceList":[{"resourceName":"a","deviceType":"accelerator","selectors":{}}]}"#, "deviceType"),
            (r#"{"resourceList":[{"resourceName":"a","isRdma":"yes","selectors":{}}]}"#, "isRdma"),
            (r#"{"resourceList":[{"resourceName":"a"}]}"#, "selectors"),
            (r#"{"resourceList":[{"resourceName":"a","selectors":[]}]}"#, "selectors"),
            (r#"{"resourceList":[{"resourceName":"a","selectors":{"vendors":["15b"]}}]}"#, "selectors.vendors[0]"),
            (r#"{"resourceList":[{"resourceName":"a","selectors":{"devices":"1018"}}]}"#, "selectors.devices"),
            (
                r#"{"resourceList":[{"resourceName":"a","selectors":{"pciAddresses":["03:00.2"]}}]}"#,
                "selectors.pciAddresses[0]",
            ),
            (r#"{"resourceList":[{"resourceName":"a","selectors":{"pfNames":["p0#3-1"]}}]}"#, "selectors.pfNames[0]"),
            (r#"{"resourceList":[{"resourceName":"a","selectors":{"pfNames":["p0#x"]}}]}"#, "selectors.pfNames[0]"),
            (
                r#"{"resourceList":[{"resourceName":"a","selectors":{}},{"resourceName":"a","selectors":{}}]}"#,
                "resourceName",
            ),
            (r#"{"resourceList":[{"resourceName":"a","selectors":{"vendors":[],"Vendors":[]}}]}"#, "selectors.vendors"),
            (r#"{"resourceList":{}}"#, "resourceList"),
            (r#"{}"#, "resourceList"),
            (r#"{"resourceList":[{"resourceName":"a","selectors":{}},]}"#, "(document)"),
        ];
        for (text, field) in cases {
            let e = Config::parse(text).expect_err(text);
            assert_eq!(e.field, field, "{text}: {e}");
        }
    }

    #[test]
    fn pf_names_with_vf_ranges() {
        let p = PfName::parse("enp3s0f0#0-1,3").unwrap();
        assert_eq!(p.vf_ranges, Some(vec![(0, 1), (3, 3)]));
        let mut d = dev("0000:03:00.2", "15b3", "1018", "mlx5_core");
        d.pf_netdev = Some("enp3s0f0".into());
        let hits: Vec<u32> = (0..5)
            .filter(|&i| {
                d.vf_index = Some(i);
                p.matches(&d)
            })
            .collect();
        assert_eq!(hits, [0, 1, 3]);
        assert!(PfName::parse("enp3s0f0").unwrap().matches(&d));
        d.pf_netdev = Some("enp3s0f1".into());
        assert!(!PfName::parse("enp3s0f0").unwrap().matches(&d));
    }

    #[test]
    fn selector_filters_are_anded() {
        let s = Selector {
            vendors: vec!["15b3".into()],
            drivers: vec!["mlx5_core".into()],
            link_types: vec!["ether".into()],
            is_rdma: true,
            ..Selector::default()
        };
        let mut d = dev("0000:03:00.2", "15b3", "1018", "mlx5_core");
        d.link_type = Some("ether".into());
        assert!(!s.matches(&d), "isRdma needs an RDMA device");
        d.rdma_devices = vec!["mlx5_2".into()];
        assert!(s.matches(&d));
        d.driver = None;
        assert!(!s.matches(&d), "an unbound device has no driver to match");
        d.driver = Some("mlx5_core".into());
        d.link_type = Some("infiniband".into());
        assert!(!s.matches(&d));
        assert!(Selector::default().matches(&d), "an empty selector selects everything");
    }

    #[test]
    fn pci_address_check() {
        assert!(is_pci_address("0000:03:00.2"));
        assert!(!is_pci_address("0000:03:00.8"));
        assert!(!is_pci_address("0000:3:00.2"));
        assert!(!is_pci_address("0000:03:00.2 "));
    }
}
