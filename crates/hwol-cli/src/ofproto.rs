//! `hwol ofproto trace` and `hwol pipeline`.

use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use clap::Args;
use hwol_odp::PortNames;
use hwol_ofproto::{Ofproto, OfprotoConfig};
use hwol_openflow::text::{parse_flows, PortMap};
use hwol_pipeline::{Ipv4Net, Pipeline, PipelineConfig, Port};

/// Arguments of `hwol ofproto trace`.
#[derive(Args, Debug)]
#[command(after_help = "Example:
  hwol ofproto trace --flows flows.txt --port rep1=1 --port rep2=2 \\
    'in_port(rep1),eth(src=0a:58:00:00:00:10,dst=0a:58:00:00:00:11),eth_type(0x0800),ipv4(src=192.168.1.16,dst=192.168.1.17,proto=6,ttl=64,frag=no),tcp(src=43558,dst=5201)'

The packet is a datapath flow key in the syntax of `ovs-appctl dpctl/dump-flows`
(fields left out are zero). Recirculations are followed with conntrack state
trk|new assumed, as ofproto/trace does.")]
pub struct TraceArgs {
    /// An ovs-ofctl add-flows file (one flow per line; `#` comments allowed).
    #[arg(long)]
    flows: PathBuf,
    /// A bridge port, NAME=OFPORT (repeatable).
    #[arg(long = "port", value_name = "NAME=N", required = true)]
    ports: Vec<String>,
    /// Bridge name, for the output.
    #[arg(long, default_value = "br-int")]
    bridge: String,
    /// The packet, as a datapath flow key.
    packet: String,
}

fn port_specs(specs: &[String]) -> Result<Vec<(String, u32)>> {
    specs
        .iter()
        .map(|s| {
            let (name, n) =
                s.split_once('=').with_context(|| format!("--port {s:?}: expected NAME=OFPORT, e.g. rep1=1"))?;
            let n: u32 = n.parse().with_context(|| format!("--port {s:?}: {n:?} is not a port number"))?;
            Ok((name.to_string(), n))
        })
        .collect()
}

/// Run `hwol ofproto trace`; returns the trace text.
pub fn trace(args: &TraceArgs) -> Result<String> {
    let ports = port_specs(&args.ports)?;
    let mut of = Ofproto::new(&args.bridge, OfprotoConfig::default());
    let mut map = PortMap::new();
    let mut names = PortNames::new();
    for (name, n) in &ports {
        of.add_port(*n, name.clone())?;
        map.insert(name.clone(), *n);
        names.insert(name, *n);
    }
    let text = std::fs::read_to_string(&args.flows).with_context(|| format!("reading {}", args.flows.display()))?;
    let specs = parse_flows(&text, &map).with_context(|| format!("in {}", args.flows.display()))?;
    let n = specs.len();
    of.flows_add(specs, Duration::ZERO)
        .map_err(|(i, e)| anyhow::anyhow!("{}: flow {} of {n}: {e}", args.flows.display(), i + 1))?;
    let (key, _) = hwol_odp::parse_key(&args.packet, &mut names).context("the packet")?;
    let (key, _mask) = key.to_flow();
    Ok(of.trace(&key, Duration::ZERO))
}

/// Arguments of `hwol pipeline`.
#[derive(Args, Debug)]
#[command(after_help = "Example:
  hwol pipeline --subnet 192.168.1.0/24 --gateway gw0:3:0a:58:c0:a8:01:01:192.168.1.1 \\
    --pod rep1:1:42:66:d7:45:0d:7e:192.168.1.16 --pod rep2:2:16:fd:c6:0b:60:52:192.168.1.17")]
pub struct PipelineArgs {
    /// The node's pod subnet (CIDR).
    #[arg(long)]
    subnet: String,
    /// The gateway port: NAME:OFPORT:MAC:IP.
    #[arg(long)]
    gateway: String,
    /// A pod port: NAME:OFPORT:MAC:IP (repeatable).
    #[arg(long = "pod")]
    pods: Vec<String>,
    /// Conntrack zone.
    #[arg(long, default_value_t = hwol_pipeline::DEFAULT_CT_ZONE)]
    ct_zone: u16,
}

fn port_spec(s: &str) -> Result<Port> {
    let parts: Vec<&str> = s.split(':').collect();
    if parts.len() != 9 {
        bail!("{s:?}: expected NAME:OFPORT:MAC:IP, e.g. rep1:1:42:66:d7:45:0d:7e:192.168.1.16");
    }
    let ofport: u16 = parts[1].parse().with_context(|| format!("{s:?}: {:?} is not a port number", parts[1]))?;
    let mac = parts[2..8].join(":");
    let mac = mac.parse().map_err(|_| anyhow::anyhow!("{s:?}: {mac:?} is not a MAC address"))?;
    let ip: Ipv4Addr = parts[8].parse().with_context(|| format!("{s:?}: {:?} is not an IPv4 address", parts[8]))?;
    Ok(Port { ofport, name: parts[0].to_string(), mac, ip })
}

/// Run `hwol pipeline`; returns the flows.
pub fn pipeline(args: &PipelineArgs) -> Result<String> {
    let subnet: Ipv4Net = args.subnet.parse()?;
    let mut cfg = PipelineConfig::new(port_spec(&args.gateway)?, subnet);
    cfg.ct_zone = args.ct_zone;
    cfg.pods = args.pods.iter().map(|p| port_spec(p)).collect::<Result<_>>()?;
    Ok(Pipeline::build(&cfg)?.to_ofctl_text())
}
