//! The daemon's configuration file (TOML).
//!
//! ```toml
//! bridge = "br-int"          # bridge name (ofproto/trace, fdb/show)
//! flows = "/etc/hwol/flows.txt"   # optional ovs-ofctl add-flows file loaded at start
//! max_idle_ms = 10000        # megaflow idle timeout
//! ovsdb = "unix:/var/run/openvswitch/db.sock"   # optional: follow this OVSDB server (docs/ovsdb.md)
//!
//! [offload]
//! provider = "xdp"           # "none", "xdp", "xdp-generic", "tc" (eBPF) or "flower" (TC flower, docs/tc-flower.md)
//! instance = "hwol"          # name of the pinned fast-path state under /sys/fs/bpf/hwol/
//! upcall = "hwolup"          # tc and flower: veth pair <upcall>0/<upcall>1 the misses come through
//! tc_policy = "none"         # flower only: "none", "skip_sw" (hardware only) or "skip_hw" (kernel tc only)
//!
//! [[port]]
//! name = "rep1"              # interface (a VF representor)
//! ofport = 1                 # OpenFlow (= datapath) port number
//!
//! [pipeline]                 # optional: the pod pipeline that `hwol/pod-add` extends
//! subnet = "10.56.217.0/24"  # the node's pod subnet
//! gateway_ip = "10.56.217.1"
//! gateway_mac = "ae:9d:4c:c8:20:01"
//! gateway_ofport = 65279     # the gateway port's number (a port by that number may or may not exist)
//! gateway_name = "antrea-gw0"
//! ```
//!
//! Unknown keys are errors, and every error names the key and the line.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde::Deserialize;

/// The whole file.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Bridge name.
    #[serde(default = "default_bridge")]
    pub bridge: String,
    /// A flows file to load at start.
    pub flows: Option<PathBuf>,
    /// Megaflow idle timeout in milliseconds.
    #[serde(default = "default_max_idle")]
    pub max_idle_ms: u64,
    /// The OVSDB server to follow, as `ovs-vswitchd`'s database argument.
    pub ovsdb: Option<String>,
    /// Offload settings.
    #[serde(default)]
    pub offload: Offload,
    /// Ports.
    #[serde(default, rename = "port")]
    pub ports: Vec<PortCfg>,
    /// The pod pipeline, if pods are attached with `hwol/pod-add`.
    pub pipeline: Option<PipelineCfg>,
}

/// `[pipeline]`: what the pod pipeline is generated from (see `hwol-pipeline`).
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct PipelineCfg {
    /// The node's pod subnet, e.g. `10.56.217.0/24`.
    pub subnet: String,
    /// The gateway's IPv4 address, inside `subnet`.
    pub gateway_ip: String,
    /// The gateway's MAC address.
    pub gateway_mac: String,
    /// The gateway's OpenFlow port number.
    #[serde(default = "default_gateway_ofport")]
    pub gateway_ofport: u32,
    /// The gateway's interface name (shown in messages).
    #[serde(default = "default_gateway_name")]
    pub gateway_name: String,
}

impl PipelineCfg {
    /// The pipeline configuration without pods; errors name the key.
    pub fn to_pipeline(&self) -> Result<hwol_pipeline::PipelineConfig> {
        let subnet: hwol_pipeline::Ipv4Net =
            self.subnet.parse().map_err(|e| anyhow::anyhow!("pipeline.subnet = {:?}: {e}", self.subnet))?;
        let ip: std::net::Ipv4Addr =
            self.gateway_ip.parse().map_err(|e| anyhow::anyhow!("pipeline.gateway_ip = {:?}: {e}", self.gateway_ip))?;
        let mac = hwol_netdev::emunic::parse_mac(&self.gateway_mac)
            .map_err(|e| anyhow::anyhow!("pipeline.gateway_mac = {:?}: {e}", self.gateway_mac))?;
        let ofport = u16::try_from(self.gateway_ofport)
            .ok()
            .filter(|p| (1..0xff00).contains(p))
            .ok_or_else(|| anyhow::anyhow!("pipeline.gateway_ofport = {}: use 1-65279", self.gateway_ofport))?;
        let gw = hwol_pipeline::Port { ofport, name: self.gateway_name.clone(), mac: hwol_pipeline::EthAddr(mac), ip };
        let cfg = hwol_pipeline::PipelineConfig::new(gw, subnet);
        hwol_pipeline::Pipeline::build(&cfg).map_err(|e| anyhow::anyhow!("[pipeline]: {e}"))?;
        Ok(cfg)
    }
}

fn default_gateway_ofport() -> u32 {
    0xfeff
}
fn default_gateway_name() -> String {
    "antrea-gw0".into()
}

/// `[offload]`.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Offload {
    /// `none`, `xdp` (native), `xdp-generic`, `tc` (eBPF) or `flower` (TC flower).
    #[serde(default = "default_provider")]
    pub provider: String,
    /// flower only: OVS's tc-policy, `none`, `skip_sw` or `skip_hw`.
    #[serde(default = "default_tc_policy")]
    pub tc_policy: String,
    /// tc and flower: name stem of the veth pair misses come through.
    #[serde(default = "default_upcall")]
    pub upcall: String,
    /// Fast-path instance name (pinned state lives under /sys/fs/bpf/hwol/<instance>).
    #[serde(default = "default_instance")]
    pub instance: String,
}

impl Default for Offload {
    fn default() -> Self {
        Offload {
            provider: default_provider(),
            tc_policy: default_tc_policy(),
            instance: default_instance(),
            upcall: default_upcall(),
        }
    }
}

/// `[[port]]`.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct PortCfg {
    /// Interface name.
    pub name: String,
    /// OpenFlow port number (1-65279).
    pub ofport: u32,
}

fn default_bridge() -> String {
    "br-int".into()
}
fn default_max_idle() -> u64 {
    10_000
}
fn default_provider() -> String {
    "none".into()
}
fn default_tc_policy() -> String {
    "none".into()
}
fn default_upcall() -> String {
    "hwolup".into()
}
fn default_instance() -> String {
    "hwol".into()
}

impl Config {
    /// Parse and check a configuration text.
    pub fn parse(text: &str) -> Result<Config> {
        let c: Config = toml::from_str(text)?;
        match c.offload.provider.as_str() {
            "none" | "xdp" | "xdp-generic" | "tc" | "flower" => {}
            other => {
                bail!("offload.provider = {other:?}: use \"none\", \"xdp\", \"xdp-generic\", \"tc\" or \"flower\"")
            }
        }
        if hwol_tcflower::TcPolicy::parse(&c.offload.tc_policy).is_none() {
            bail!("offload.tc_policy = {:?}: use \"none\", \"skip_sw\" or \"skip_hw\"", c.offload.tc_policy);
        }
        if c.offload.upcall.is_empty() || c.offload.upcall.len() > 14 {
            bail!(
                "offload.upcall = {:?}: use 1-14 characters (the devices are <upcall>0 and <upcall>1)",
                c.offload.upcall
            );
        }
        for (i, p) in c.ports.iter().enumerate() {
            if p.ofport == 0 || p.ofport >= 0xff00 {
                bail!("port[{i}] ({}): ofport {} is out of range; use 1-65279", p.name, p.ofport);
            }
            if c.ports[..i].iter().any(|q| q.ofport == p.ofport || q.name == p.name) {
                bail!("port[{i}] ({}): name or ofport {} used twice", p.name, p.ofport);
            }
        }
        if let Some(p) = &c.pipeline {
            p.to_pipeline()?;
        }
        Ok(c)
    }

    /// Read and check a configuration file.
    pub fn load(path: &Path) -> Result<Config> {
        let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        Config::parse(&text).with_context(|| format!("in {}", path.display()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_ports() {
        let c = Config::parse("[[port]]\nname = \"rep1\"\nofport = 1\n").unwrap();
        assert_eq!(c.bridge, "br-int");
        assert_eq!(c.offload.provider, "none");
        assert_eq!(c.ports, vec![PortCfg { name: "rep1".into(), ofport: 1 }]);
    }

    #[test]
    fn errors_name_the_key() {
        let e = Config::parse("brdige = \"x\"\n").unwrap_err().to_string();
        assert!(e.contains("brdige"), "{e}");
        let e = Config::parse("[offload]\nprovider = \"dpdk\"\n").unwrap_err().to_string();
        assert!(e.contains("offload.provider") && e.contains("flower"), "{e}");
        let e = Config::parse("[offload]\ntc_policy = \"skip-sw\"\n").unwrap_err().to_string();
        assert!(e.contains("offload.tc_policy") && e.contains("skip_sw"), "{e}");
        let c = Config::parse("[offload]\nprovider = \"flower\"\ntc_policy = \"skip_sw\"\n").unwrap();
        assert_eq!((c.offload.provider.as_str(), c.offload.tc_policy.as_str()), ("flower", "skip_sw"));
        let e = Config::parse("[[port]]\nname = \"a\"\nofport = 0\n").unwrap_err().to_string();
        assert!(e.contains("port[0] (a)"), "{e}");
        let e = Config::parse(
            "[pipeline]\nsubnet = \"10.0.0.0/33\"\ngateway_ip = \"10.0.0.1\"\ngateway_mac = \"02:00:00:00:00:01\"\n",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("pipeline.subnet"), "{e}");
        let e = Config::parse(
            "[pipeline]\nsubnet = \"10.0.0.0/24\"\ngateway_ip = \"10.0.1.1\"\ngateway_mac = \"02:00:00:00:00:01\"\n",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("[pipeline]"), "{e}");
    }

    #[test]
    fn pipeline_section() {
        let c = Config::parse(
            "[pipeline]\nsubnet = \"10.0.0.0/24\"\ngateway_ip = \"10.0.0.1\"\ngateway_mac = \"02:00:00:00:00:01\"\n",
        )
        .unwrap();
        let p = c.pipeline.unwrap().to_pipeline().unwrap();
        assert_eq!(p.gateway.ofport, 0xfeff);
        assert!(p.pods.is_empty());
    }
}
