//! The plugin's network configuration (one entry of a conflist, as the
//! runtime or Multus passes it on stdin), parsed and checked.
//!
//! ```json
//! {
//!   "cniVersion": "0.3.1", "name": "antrea", "type": "hwol-cni",
//!   "deviceID": "0000:03:00.2",            // Multus: the VF's PCI address (also runtimeConfig.deviceID)
//!   "ipam": {"type": "host-local", ...},   // delegated as the CNI spec says
//!   "mtu": 1500,                           // optional, VF/veth and representor
//!   "rundir": "/run/hwol",                 // where hwol-vswitchd's pidfile and socket are
//!   "sysfsRoot": "/",                      // root of /sys (tests point it at a fixture tree)
//!   "stateDir": "/var/lib/cni/hwol-cni",   // the plugin's per-attachment records and locks
//!   "xdpOnVeth": false,                    // pod end of a veth set for XDP: GRO on, TX checksum off
//!   "debugFailAfter": "ipam",              // tests only: fail after this ADD step
//!   "debugNoRollback": true                // tests only: ...and exit as if killed (no rollback)
//! }
//! ```
//!
//! Unknown keys are ignored: runtimes add their own (`capabilities`,
//! `runtimeConfig.portMappings`, `args`, ...). Every error names the field.

use std::path::PathBuf;

use serde_json::Value;

use crate::error::{Error, Result};
use crate::spec::{CniResult, Version};

/// A step of ADD after which `debugFailAfter` can make it fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Step {
    /// The record was written and the locks are held (nothing else done).
    Record,
    /// The IPAM delegate answered (an address is held).
    Ipam,
    /// The VF (or the pod end of the veth) is in the pod's netns.
    Move,
    /// Name, MAC, MTU, addresses and routes are set inside the pod.
    Configure,
    /// The representor (host end) has its pod name.
    Rename,
    /// The daemon attached the port and installed the flows.
    Attach,
}

impl Step {
    /// Every step, in order.
    pub const ALL: [Step; 6] = [Step::Record, Step::Ipam, Step::Move, Step::Configure, Step::Rename, Step::Attach];

    /// The name used in the config.
    pub fn as_str(self) -> &'static str {
        match self {
            Step::Record => "record",
            Step::Ipam => "ipam",
            Step::Move => "move",
            Step::Configure => "configure",
            Step::Rename => "rename",
            Step::Attach => "attach",
        }
    }
}

/// The checked configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct NetConf {
    /// `cniVersion`.
    pub version: Version,
    /// `name` (the network name; host-local keys its data dir on it).
    pub name: String,
    /// The VF's PCI address (`deviceID` or `runtimeConfig.deviceID`); `None`: veth mode.
    pub device_id: Option<String>,
    /// `ipam` (has a `type`), passed to the delegate.
    pub ipam_type: Option<String>,
    /// `mtu`.
    pub mtu: Option<u32>,
    /// `runtimeConfig.mac` (Multus' `mac` capability): the pod interface's MAC.
    pub mac: Option<[u8; 6]>,
    /// `rundir`.
    pub rundir: PathBuf,
    /// `sysfsRoot`.
    pub sysfs_root: PathBuf,
    /// `stateDir`.
    pub state_dir: PathBuf,
    /// `xdpOnVeth`: the pod interface is the far end of a veth whose host
    /// end runs the daemon's XDP fast path (veth mode, or an emulated VF), so
    /// it needs GRO on (NAPI) and TX checksum offload off.
    pub xdp_on_veth: bool,
    /// `debugFailAfter`.
    pub fail_after: Option<Step>,
    /// `debugNoRollback`: an injected failure skips the rollback, like a
    /// plugin killed mid-ADD (the runtime's DEL must then clean up).
    pub no_rollback: bool,
    /// `prevResult`, parsed.
    pub prev_result: Option<CniResult>,
    /// `cni.dev/valid-attachments` (GC): (container id, ifname) pairs.
    pub valid_attachments: Option<Vec<(String, String)>>,
    /// The whole config as received (the IPAM delegate gets it).
    pub raw: Value,
}

/// Default `rundir`.
pub const DEFAULT_RUNDIR: &str = "/run/hwol";
/// Default `stateDir`.
pub const DEFAULT_STATE_DIR: &str = "/var/lib/cni/hwol-cni";

fn field_err(field: &str, what: impl std::fmt::Display) -> Error {
    Error::InvalidConfig(format!("network config field {field:?}: {what}"))
}

fn opt_str<'a>(o: &'a Value, key: &str, field: &str) -> Result<Option<&'a str>> {
    match o.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.as_str())),
        Some(other) => Err(field_err(field, format!("must be a string, got {other}"))),
    }
}

/// Check a PCI address `dddd:bb:dd.f` (lower-case hex), as sysfs names devices.
pub fn validate_pci(s: &str) -> bool {
    let b = s.as_bytes();
    let hex = |r: std::ops::Range<usize>| b[r].iter().all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(c));
    b.len() == 12
        && b[4] == b':'
        && b[7] == b':'
        && b[10] == b'.'
        && hex(0..4)
        && hex(5..7)
        && hex(8..10)
        && (b'0'..=b'7').contains(&b[11])
}

impl NetConf {
    /// Parse stdin. `Decode` (code 6) for bad JSON, `IncompatibleVersion`
    /// (1) for an unknown `cniVersion`, `InvalidConfig` (7) for bad fields.
    pub fn parse(stdin: &[u8]) -> Result<NetConf> {
        let raw: Value = serde_json::from_slice(stdin).map_err(|e| {
            Error::Decode(format!(
                "the network config on stdin is not valid JSON ({e}); the runtime must pass one plugin's config"
            ))
        })?;
        if !raw.is_object() {
            return Err(Error::Decode("the network config on stdin must be a JSON object".into()));
        }
        let version = Version::parse(
            opt_str(&raw, "cniVersion", "cniVersion")?
                .ok_or_else(|| field_err("cniVersion", "is missing; set it, e.g. \"1.0.0\""))?,
        )?;
        let name = opt_str(&raw, "name", "name")?.unwrap_or_default().to_string();
        let top = opt_str(&raw, "deviceID", "deviceID")?;
        let rc = raw.get("runtimeConfig").cloned().unwrap_or(Value::Null);
        let inner = opt_str(&rc, "deviceID", "runtimeConfig.deviceID")?;
        let device_id = match (top, inner) {
            (Some(a), Some(b)) if a != b => {
                return Err(field_err(
                    "deviceID",
                    format!("{a:?} differs from runtimeConfig.deviceID {b:?}; Multus sets both to the same VF"),
                ))
            }
            (Some(a), _) | (None, Some(a)) => Some(a.to_string()).filter(|s| !s.is_empty()),
            (None, None) => None,
        };
        if let Some(d) = &device_id {
            if !validate_pci(d) {
                return Err(field_err(
                    "deviceID",
                    format!("{d:?} is not a PCI address like 0000:03:00.2 (the SR-IOV device plugin's VF address)"),
                ));
            }
        }
        let ipam_type = match raw.get("ipam") {
            None | Some(Value::Null) => None,
            Some(i @ Value::Object(_)) => Some(
                opt_str(i, "type", "ipam.type")?
                    .filter(|t| !t.is_empty())
                    .ok_or_else(|| field_err("ipam.type", "is missing; name the IPAM plugin, e.g. \"host-local\""))?
                    .to_string(),
            ),
            Some(other) => return Err(field_err("ipam", format!("must be an object, got {other}"))),
        };
        if ipam_type.as_deref().is_some_and(|t| t.contains('/') || t.starts_with('.')) {
            return Err(field_err("ipam.type", "must be a plugin name found in CNI_PATH, not a path"));
        }
        let mtu = match raw.get("mtu") {
            None | Some(Value::Null) => None,
            Some(v) => match v.as_u64() {
                Some(m @ 68..=65535) => Some(m as u32),
                _ => return Err(field_err("mtu", format!("{v} is not an MTU in 68..=65535"))),
            },
        };
        let mac = match opt_str(&rc, "mac", "runtimeConfig.mac")? {
            None => None,
            Some(s) => {
                Some(hwol_netdev::emunic::parse_mac(s).map_err(|e| field_err("runtimeConfig.mac", e.to_string()))?)
            }
        };
        let path = |key: &str, default: &str| -> Result<PathBuf> {
            let p = PathBuf::from(opt_str(&raw, key, key)?.unwrap_or(default));
            if !p.is_absolute() {
                return Err(field_err(key, format!("{} must be an absolute path", p.display())));
            }
            Ok(p)
        };
        let fail_after = match opt_str(&raw, "debugFailAfter", "debugFailAfter")? {
            None => None,
            Some(s) => Some(Step::ALL.into_iter().find(|st| st.as_str() == s).ok_or_else(|| {
                field_err(
                    "debugFailAfter",
                    format!("{s:?} is not a step; use one of {}", Step::ALL.map(Step::as_str).join(", ")),
                )
            })?),
        };
        let flag = |key: &str| -> Result<bool> {
            match raw.get(key) {
                None | Some(Value::Null) => Ok(false),
                Some(Value::Bool(b)) => Ok(*b),
                Some(other) => Err(field_err(key, format!("must be true or false, got {other}"))),
            }
        };
        let no_rollback = flag("debugNoRollback")?;
        let xdp_on_veth = flag("xdpOnVeth")?;
        let prev_result = match raw.get("prevResult") {
            None | Some(Value::Null) => None,
            Some(p) => Some(CniResult::from_json(p, "prevResult")?),
        };
        let valid_attachments = match raw.get("cni.dev/valid-attachments") {
            None | Some(Value::Null) => None,
            Some(Value::Array(a)) => Some(
                a.iter()
                    .map(|x| {
                        let c = x.get("containerID").and_then(Value::as_str);
                        let i = x.get("ifname").and_then(Value::as_str);
                        match (c, i) {
                            (Some(c), Some(i)) => Ok((c.to_string(), i.to_string())),
                            _ => {
                                Err(field_err("cni.dev/valid-attachments", "every entry needs containerID and ifname"))
                            }
                        }
                    })
                    .collect::<Result<Vec<_>>>()?,
            ),
            Some(_) => return Err(field_err("cni.dev/valid-attachments", "must be an array")),
        };
        Ok(NetConf {
            version,
            name,
            device_id,
            ipam_type,
            mtu,
            mac,
            rundir: path("rundir", DEFAULT_RUNDIR)?,
            sysfs_root: path("sysfsRoot", "/")?,
            state_dir: path("stateDir", DEFAULT_STATE_DIR)?,
            xdp_on_veth,
            fail_after,
            no_rollback,
            prev_result,
            valid_attachments,
            raw,
        })
    }

    /// Fail with [`Error::Injected`] if `debugFailAfter` names `step`.
    pub fn maybe_fail(&self, step: Step) -> Result<()> {
        if self.fail_after == Some(step) {
            return Err(Error::Injected(format!(
                "failing after step {:?} because the config sets debugFailAfter (a test knob; remove it)",
                step.as_str()
            )));
        }
        Ok(())
    }

    /// `name` checked for the commands that need it (ADD/CHECK/DEL with IPAM).
    pub fn require_name(&self) -> Result<&str> {
        if self.name.is_empty() || self.name.contains('/') {
            return Err(field_err("name", "is missing or contains '/'; set the network name"));
        }
        Ok(&self.name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<NetConf> {
        NetConf::parse(s.as_bytes())
    }

    #[test]
    fn seed_nad_entry_parses_with_defaults() {
        let c = parse(r#"{"cniVersion":"0.3.1","name":"antrea","type":"hwol-cni","ipam":{"type":"host-local","subnet":"192.168.1.0/24"}}"#).unwrap();
        assert_eq!(c.version, Version::V0_3_1);
        assert_eq!(c.device_id, None);
        assert_eq!(c.ipam_type.as_deref(), Some("host-local"));
        assert_eq!(c.rundir, PathBuf::from("/run/hwol"));
        assert_eq!(c.sysfs_root, PathBuf::from("/"));
        assert_eq!(c.state_dir, PathBuf::from(DEFAULT_STATE_DIR));
        assert_eq!(c.fail_after, None);
    }

    #[test]
    fn device_id_from_either_place() {
        let top = parse(r#"{"cniVersion":"1.0.0","name":"n","type":"hwol-cni","deviceID":"0000:03:00.2"}"#).unwrap();
        assert_eq!(top.device_id.as_deref(), Some("0000:03:00.2"));
        let rc =
            parse(r#"{"cniVersion":"1.0.0","name":"n","type":"hwol-cni","runtimeConfig":{"deviceID":"0000:03:00.3"}}"#)
                .unwrap();
        assert_eq!(rc.device_id.as_deref(), Some("0000:03:00.3"));
        let both = parse(
            r#"{"cniVersion":"1.0.0","name":"n","type":"hwol-cni","deviceID":"0000:03:00.3","runtimeConfig":{"deviceID":"0000:03:00.3"}}"#,
        )
        .unwrap();
        assert_eq!(both.device_id.as_deref(), Some("0000:03:00.3"));
        let e = parse(
            r#"{"cniVersion":"1.0.0","name":"n","type":"hwol-cni","deviceID":"0000:03:00.2","runtimeConfig":{"deviceID":"0000:03:00.3"}}"#,
        )
        .unwrap_err();
        assert_eq!(e.code(), 7);
        assert!(e.to_string().contains("differs from runtimeConfig.deviceID"), "{e}");
        let e = parse(r#"{"cniVersion":"1.0.0","name":"n","type":"hwol-cni","deviceID":"03:00.2"}"#).unwrap_err();
        assert!(e.to_string().contains("\"deviceID\": \"03:00.2\" is not a PCI address"), "{e}");
    }

    #[test]
    fn bad_fields_are_named() {
        assert_eq!(parse("{not json").unwrap_err().code(), 6);
        assert_eq!(parse("[]").unwrap_err().code(), 6);
        assert_eq!(parse(r#"{"name":"n"}"#).unwrap_err().code(), 7);
        assert_eq!(parse(r#"{"cniVersion":"0.2.0","name":"n"}"#).unwrap_err().code(), 1);
        let cases = [
            (r#""ipam":{"subnet":"x"}"#, "\"ipam.type\": is missing"),
            (r#""ipam":{"type":"../evil"}"#, "\"ipam.type\": must be a plugin name"),
            (r#""mtu":20"#, "\"mtu\": 20 is not an MTU"),
            (r#""rundir":"run""#, "\"rundir\": run must be an absolute path"),
            (r#""debugFailAfter":"later""#, "use one of record, ipam, move, configure, rename, attach"),
            (r#""runtimeConfig":{"mac":"01:00:5e:00:00:01"}"#, "runtimeConfig.mac"),
            (r#""prevResult":{"ips":[{"address":"x"}]}"#, "prevResult: ips[0]"),
            (r#""xdpOnVeth":"yes""#, "\"xdpOnVeth\": must be true or false"),
        ];
        for (field, want) in cases {
            let e = parse(&format!(r#"{{"cniVersion":"1.0.0","name":"n","type":"hwol-cni",{field}}}"#)).unwrap_err();
            assert!(e.to_string().contains(want), "{field}: {e}");
        }
    }

    #[test]
    fn knobs_and_gc_list() {
        let c = parse(
            r#"{"cniVersion":"1.1.0","name":"n","type":"hwol-cni","debugFailAfter":"rename","mtu":9000,
                "runtimeConfig":{"mac":"02:11:22:33:44:55"},
                "cni.dev/valid-attachments":[{"containerID":"c1","ifname":"eth0"}]}"#,
        )
        .unwrap();
        assert_eq!(c.fail_after, Some(Step::Rename));
        assert_eq!(c.mtu, Some(9000));
        assert_eq!(c.mac, Some([2, 0x11, 0x22, 0x33, 0x44, 0x55]));
        assert_eq!(c.valid_attachments, Some(vec![("c1".to_string(), "eth0".to_string())]));
        assert!(c.maybe_fail(Step::Ipam).is_ok());
        assert_eq!(c.maybe_fail(Step::Rename).unwrap_err().code(), 107);
    }

    #[test]
    fn pci_addresses() {
        assert!(validate_pci("0000:03:00.2"));
        assert!(validate_pci("0000:af:1f.7"));
        assert!(!validate_pci("0000:03:00.8"));
        assert!(!validate_pci("0000:03:00"));
        assert!(!validate_pci("0000:AF:00.1"));
        assert!(!validate_pci("../../etc/x"));
    }
}
