//! The bridge's OpenFlow management socket, `<rundir>/<bridge>.mgmt`, so
//! `ovs-ofctl add-flows|dump-flows|del-flows|dump-ports|show br-int` drive
//! hwol as they drive ovs-vswitchd. The protocol is `hwol-ofwire`'s; this
//! module is its [`Bridge`] over the daemon's [`Node`]:
//!
//! - flow mods and flow statistics go to the switch's ofproto (counters are
//!   the rules' own, merged by the revalidator);
//! - ports are the node's, with MAC address, link state, speed and counters
//!   read from `/sys/class/net/<name>` (counters are the kernel's for that
//!   interface; with a fast path attached they include offloaded traffic);
//!   the bridge's internal port (OpenFlow 65534) is `LOCAL`;
//! - the datapath id is the internal port's MAC (as OVS derives it), or,
//!   without one, a stable hash of the bridge name;
//! - packet-out transmits on a send-only packet socket per port, or, for
//!   `output:TABLE`, runs the frame through the switch as if received on
//!   its `in_port`.
//!
//! What it does not do: multiple bridges (the node has one), packet-in and
//! the other asynchronous messages.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hwol_datapath::Packet;
use hwol_netdev::afpacket::{PacketPort, PortConfig};
use hwol_netdev::vnet::VnetHdr;
use hwol_ofwire::error::{bad_action, OfError};
use hwol_ofwire::msg::reply::{PortDesc, PortStats};
use hwol_ofwire::server::{Bridge, PacketOutTarget, Server};
use hwol_switch::Transmit;

use crate::Node;

/// The OpenFlow number of a bridge's internal port.
const LOCAL: u32 = 0xfffe;

/// Start serving `<rundir>/<bridge>.mgmt` for `node`; stops when dropped.
pub fn start(node: &Arc<Node>) -> anyhow::Result<Server> {
    let path = node.rundir().join(format!("{}.mgmt", node.bridge()));
    let b =
        Arc::new(NodeBridge { node: node.clone(), tx: Mutex::new(HashMap::new()), seen: Mutex::new(HashMap::new()) });
    let s = Server::start(&path, b)?;
    tracing::info!(socket = %path.display(), "OpenFlow socket ready (ovs-ofctl ... {})", node.bridge());
    Ok(s)
}

struct NodeBridge {
    node: Arc<Node>,
    /// Send-only sockets for packet-out, by interface name.
    tx: Mutex<HashMap<String, PacketPort>>,
    /// When each port was first listed (port statistics' duration).
    seen: Mutex<HashMap<String, Instant>>,
}

fn sysfs(name: &str, file: &str) -> Option<String> {
    std::fs::read_to_string(Path::new("/sys/class/net").join(name).join(file)).ok().map(|s| s.trim().to_string())
}

fn counter(name: &str, c: &str) -> u64 {
    sysfs(name, &format!("statistics/{c}")).and_then(|s| s.parse().ok()).unwrap_or(u64::MAX)
}

fn mac(name: &str) -> [u8; 6] {
    let mut out = [0u8; 6];
    if let Some(s) = sysfs(name, "address") {
        for (o, part) in out.iter_mut().zip(s.split(':')) {
            *o = u8::from_str_radix(part, 16).unwrap_or(0);
        }
    }
    out
}

impl NodeBridge {
    fn ofport_name(&self, ofport: u32) -> Option<String> {
        self.node.ports().into_iter().find(|p| p.ofport == ofport).map(|p| p.name)
    }

    fn send(&self, ofport: u32, frame: &[u8]) -> Result<(), OfError> {
        let name = self
            .ofport_name(ofport)
            .ok_or_else(|| OfError::action(bad_action::BAD_OUT_PORT, format!("no port {ofport} on this bridge")))?;
        let mut tx = self.tx.lock().unwrap_or_else(|e| e.into_inner());
        if !tx.contains_key(&name) {
            let cfg = PortConfig { rx: false, ring: false, vnet_hdr: false, ..Default::default() };
            let p = PacketPort::open(&name, &cfg).map_err(|e| {
                OfError::action(
                    bad_action::BAD_OUT_PORT,
                    format!("packet-out to {name}: cannot open a packet socket: {e}"),
                )
            })?;
            tx.insert(name.clone(), p);
        }
        tx[&name].send(&VnetHdr::NONE, frame).map_err(|e| {
            tx.remove(&name);
            OfError::action(bad_action::BAD_OUT_PORT, format!("packet-out to {name}: {e}"))
        })
    }
}

struct PacketOutTx<'a>(&'a NodeBridge);

impl Transmit for PacketOutTx<'_> {
    fn transmit(&mut self, port: u32, pkt: &Packet) -> bool {
        self.0.send(port, pkt.data()).is_ok()
    }
}

impl Bridge for NodeBridge {
    fn datapath_id(&self) -> u64 {
        match self.ofport_name(LOCAL) {
            Some(n) => mac(&n).iter().fold(0u64, |a, b| (a << 8) | *b as u64),
            None => {
                let h = self
                    .node
                    .bridge()
                    .bytes()
                    .fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ b as u64).wrapping_mul(0x100_0000_01b3));
                h & 0xffff_ffff_ffff
            }
        }
    }

    fn now(&self) -> Duration {
        crate::now()
    }

    fn with_ofproto<R>(&self, f: impl FnOnce(&mut hwol_ofproto::Ofproto) -> R) -> R {
        f(&mut self.node.switch().ofproto())
    }

    fn ports(&self) -> Vec<PortDesc> {
        self.node
            .ports()
            .into_iter()
            .map(|p| {
                let speed = sysfs(&p.name, "speed").and_then(|s| s.parse::<i64>().ok()).filter(|s| *s > 0);
                PortDesc {
                    port_no: p.ofport,
                    hw_addr: mac(&p.name),
                    config: if sysfs(&p.name, "flags")
                        .and_then(|f| u32::from_str_radix(f.trim_start_matches("0x"), 16).ok())
                        .is_some_and(|f| f & 1 == 0)
                    {
                        1 // OFPPC_PORT_DOWN: administratively down
                    } else {
                        0
                    },
                    link_down: sysfs(&p.name, "carrier").is_some_and(|c| c == "0"),
                    curr_speed: speed.map(|s| (s * 1000) as u32).unwrap_or(0),
                    max_speed: speed.map(|s| (s * 1000) as u32).unwrap_or(0),
                    name: p.name,
                }
            })
            .collect()
    }

    fn port_stats(&self) -> Vec<PortStats> {
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        self.node
            .ports()
            .into_iter()
            .map(|p| {
                let since = *seen.entry(p.name.clone()).or_insert_with(Instant::now);
                let c = |n| counter(&p.name, n);
                PortStats {
                    port_no: p.ofport,
                    rx_packets: c("rx_packets"),
                    tx_packets: c("tx_packets"),
                    rx_bytes: c("rx_bytes"),
                    tx_bytes: c("tx_bytes"),
                    rx_dropped: c("rx_dropped"),
                    tx_dropped: c("tx_dropped"),
                    rx_errors: c("rx_errors"),
                    tx_errors: c("tx_errors"),
                    duration: since.elapsed(),
                }
            })
            .collect()
    }

    fn packet_out(&self, in_port: u32, targets: &[PacketOutTarget], frame: &[u8]) -> Result<(), OfError> {
        for t in targets {
            match *t {
                PacketOutTarget::Port(p) => self.send(p, frame)?,
                PacketOutTarget::InPort => self.send(in_port, frame)?,
                PacketOutTarget::Table => {
                    let mut pkt = Packet::from_bytes(frame);
                    self.node.switch().receive(in_port, &mut pkt, crate::now(), &mut PacketOutTx(self));
                }
            }
        }
        Ok(())
    }
}
