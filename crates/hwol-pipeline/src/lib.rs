//! The pod network's OpenFlow pipeline, modelled on Antrea's, generated as
//! the flow text `ovs-ofctl add-flows` reads.
//!
//! [`Pipeline::build`] turns a [`PipelineConfig`] (the node's gateway port,
//! its pods' ports, the pod subnet, the conntrack zone) into [`Flow`]s;
//! [`Pipeline::to_ofctl_text`] prints them one per line. This crate does no
//! I/O: loading the text into a switch (real OVS in the tests, hwol's own
//! ofproto later) is the caller's business.
//!
//! What it does not cover: tunnels and remote nodes, Services (DNAT),
//! NetworkPolicy, IPv6, multicast. Only the OpenFlow matches and actions
//! hwol's ofproto implements are used (see the list in `hwol-ofproto`).
//!
//! # Design: the megaflows are the product
//!
//! With hardware offload what matters is not only where a packet goes but
//! the **megaflows** OVS derives from the pipeline, because those are what a
//! NIC gets. OVS un-wildcards exactly the fields the classifier had to look
//! at, so the choice of match fields in every table shapes them. The
//! pipeline is laid out so that pod-to-pod TCP gives the two megaflows per
//! direction of the offload guide's dump:
//!
//! ```text
//! recirc_id(0),in_port(P),eth(src=<pod mac>),eth_type(0x0800),ipv4(src=<pod ip>,frag=no) actions:ct(zone=65520),recirc(R)
//! ct_state(+est+trk),ct_mark(0),recirc_id(R),in_port(P),eth(dst=<peer mac>),eth_type(0x0800),ipv4(dst=<subnet>,frag=no) actions:<peer port>
//! ```
//!
//! How each field gets there (checked against OVS 3.1, see below):
//!
//! - First pass: table 0 looks at `in_port`; SpoofGuard at `in_port`,
//!   `dl_src`, `dl_type`, `nw_src`; ConntrackZone at `dl_type`; the `ct`
//!   action adds `nw_frag`. No table before the `ct` looks at `dl_dst` or
//!   `nw_dst`, so they stay wildcarded.
//! - Second pass: the ConntrackState rule for established connections from
//!   the gateway (`ct_state=+est+trk,ct_mark=0x20`) has the **highest**
//!   priority. Subtables are searched in order of their highest priority,
//!   and one whose highest priority is not above the best match so far is
//!   skipped, so pod traffic (mark 0) is rejected there on the metadata
//!   stage, which un-wildcards `ct_state` est|trk and all of `ct_mark`
//!   (hence `ct_mark(0)`), and matches the plain `+est+trk` rule next. The
//!   `+inv`/`+new` rules have lower priorities and are never consulted for
//!   an established packet, so `new` and `inv` stay out of the mask.
//! - L3Forwarding matches the subnet with a `/24`. Its per-pod `/32` rules
//!   also match `dl_dst=<gateway mac>`; OVS's staged lookup rejects them on
//!   the L2 stage before the L3 stage (and its prefix trie) is reached, so
//!   the `/32` never leaks into the megaflow.
//! - L2ForwardingCalc matches `dl_dst` exactly; the output table matches a
//!   register, which is not a datapath field.
//!
//! # Tables
//!
//! | id | name | what it does |
//! |---|---|---|
//! | 0 | [`Table::Classifier`] | records where the packet came from in `reg0[0..3]` (1 gateway, 2 local pod); unknown ports drop |
//! | 10 | [`Table::SpoofGuard`] | a pod may only send IP from its own MAC and IP, and ARP with its own `arp_sha`/`arp_spa`; the gateway is trusted |
//! | 15 | [`Table::Arp`] | ARP is switched by `NORMAL` (MAC learning) |
//! | 20 | [`Table::ConntrackZone`] | IP goes through conntrack in the pod zone and recirculates to ConntrackState |
//! | 30 | [`Table::ConntrackState`] | established: continue (replies of gateway connections are sent back to the gateway); invalid: drop; new: commit (marking connections from the gateway with `ct_mark=0x20`) |
//! | 70 | [`Table::L3Forwarding`] | packets to the gateway MAC for a local pod are routed (MACs rewritten, TTL decremented); the subnet is switched; anything else a pod sends goes to the gateway |
//! | 80 | [`Table::L2ForwardingCalc`] | destination MAC → output port in `reg1`, flag `reg0[16]` |
//! | 90 | [`Table::L2ForwardingOut`] | output to `reg1` if the flag is set, else drop |
//!
//! Register use follows Antrea's: `reg0[0..3]` packet source,
//! `reg0[16]` "output port known", `reg1` the output port, and `ct_mark`
//! `0x20` for connections that entered through the gateway.
//!
//! # Checked against real OVS
//!
//! `tests/ovs_megaflows.rs` loads the pipeline for two pods and a gateway
//! into OVS 3.1 (dummy datapath, through `hwol-ovs-harness`), runs a TCP
//! handshake and data both ways, and asserts the megaflow shapes above. The
//! dump it got is kept in `tests/data/ovs31_pod_pipeline_dump.txt`. The
//! command sequence that works:
//!
//! ```text
//! ovs-vsctl -- add-br br0 -- set bridge br0 datapath_type=dummy fail_mode=secure
//! ovs-vsctl -- add-port br0 rep1 -- set interface rep1 type=dummy ofport_request=1   # and rep2, antrea-gw0
//! ovs-ofctl -O OpenFlow15 add-flows br0 - < pipeline.txt                             # Pipeline::to_ofctl_text()
//! ovs-appctl netdev-dummy/receive rep1 <frame in hex>                                # SYN, SYN-ACK, ACK, data
//! ovs-appctl dpctl/dump-flows
//! ```
//!
//! (`hwol-ovs-harness`'s crate docs list the daemon start-up and the
//! `netdev-dummy/receive` details.) Real frames are needed: OVS builds
//! segments from ODP flow strings with zero sequence numbers and window,
//! and conntrack then marks the handshake's ACK invalid.
//!
//! What OVS 3.1 installed for 192.168.1.16 (port 1) ↔ 192.168.1.17
//! (port 2), statistics cut:
//!
//! ```text
//! recirc_id(0),in_port(1),packet_type(ns=0,id=0),eth(src=42:66:d7:45:0d:7e),eth_type(0x0800),ipv4(src=192.168.1.16,frag=no), actions:ct(zone=65520),recirc(0x1)
//! ct_state(+new-est-inv+trk),ct_mark(0),recirc_id(0x1),in_port(1),packet_type(ns=0,id=0),eth(dst=16:fd:c6:0b:60:52),eth_type(0x0800),ipv4(dst=192.168.1.17/255.255.255.0,frag=no), actions:ct(commit,zone=65520),2
//! ct_state(+est+trk),ct_mark(0),recirc_id(0x1),in_port(1),packet_type(ns=0,id=0),eth(dst=16:fd:c6:0b:60:52),eth_type(0x0800),ipv4(dst=192.168.1.17/255.255.255.0,frag=no), actions:2
//! recirc_id(0),in_port(2),packet_type(ns=0,id=0),eth(src=16:fd:c6:0b:60:52),eth_type(0x0800),ipv4(src=192.168.1.17,frag=no), actions:ct(zone=65520),recirc(0x2)
//! ct_state(+est+trk),ct_mark(0),recirc_id(0x2),in_port(2),packet_type(ns=0,id=0),eth(dst=42:66:d7:45:0d:7e),eth_type(0x0800),ipv4(dst=192.168.1.16/255.255.255.0,frag=no), actions:1
//! ```
//!
//! These are the seed's flows plus `packet_type` (the userspace datapath
//! has it, TC does not) and the SYN's `+new` flow, which the seed's
//! long-running iperf dump had already aged out. The userspace dump prints
//! the packet's address under the mask (`192.168.1.17/255.255.255.0`); the
//! seed's TC dump prints the masked value (`192.168.1.0/255.255.255.0`).
//! Both mean the same match.

#![forbid(unsafe_code)]

use std::collections::BTreeSet;
use std::fmt;
use std::net::Ipv4Addr;
use std::str::FromStr;

pub use hwol_wire::EthAddr;

/// The conntrack zone Antrea uses for pod traffic.
pub const DEFAULT_CT_ZONE: u16 = 65520;

/// `reg0[0..3]` value: the packet came in through the gateway port.
pub const PKT_SOURCE_GATEWAY: u32 = 1;
/// `reg0[0..3]` value: the packet came in from a local pod.
pub const PKT_SOURCE_LOCAL_POD: u32 = 2;
/// `ct_mark` of connections that entered the pipeline through the gateway.
pub const CT_MARK_FROM_GATEWAY: u32 = 0x20;
/// `reg0` bit 16: `reg1` holds the output port.
pub const REG0_OUTPUT_PORT_KNOWN: u32 = 1 << 16;

/// Highest usable OpenFlow port number (0xff00 and up are reserved).
const OFPP_MAX: u16 = 0xfeff;

/// The pipeline's tables, in packet order. [`Table::id`] is the OpenFlow
/// table number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Table {
    /// 0: which kind of port the packet came from.
    Classifier,
    /// 10: source MAC/IP checks per pod port.
    SpoofGuard,
    /// 15: ARP switching.
    Arp,
    /// 20: send IP through conntrack.
    ConntrackZone,
    /// 30: act on the conntrack state.
    ConntrackState,
    /// 70: routing decisions.
    L3Forwarding,
    /// 80: destination MAC to output port.
    L2ForwardingCalc,
    /// 90: output.
    L2ForwardingOut,
}

impl Table {
    /// Every table, in packet order.
    pub const ALL: [Table; 8] = [
        Table::Classifier,
        Table::SpoofGuard,
        Table::Arp,
        Table::ConntrackZone,
        Table::ConntrackState,
        Table::L3Forwarding,
        Table::L2ForwardingCalc,
        Table::L2ForwardingOut,
    ];

    /// The OpenFlow table number.
    pub const fn id(self) -> u8 {
        match self {
            Table::Classifier => 0,
            Table::SpoofGuard => 10,
            Table::Arp => 15,
            Table::ConntrackZone => 20,
            Table::ConntrackState => 30,
            Table::L3Forwarding => 70,
            Table::L2ForwardingCalc => 80,
            Table::L2ForwardingOut => 90,
        }
    }

    /// The table's name, as in the crate docs.
    pub const fn name(self) -> &'static str {
        match self {
            Table::Classifier => "Classifier",
            Table::SpoofGuard => "SpoofGuard",
            Table::Arp => "Arp",
            Table::ConntrackZone => "ConntrackZone",
            Table::ConntrackState => "ConntrackState",
            Table::L3Forwarding => "L3Forwarding",
            Table::L2ForwardingCalc => "L2ForwardingCalc",
            Table::L2ForwardingOut => "L2ForwardingOut",
        }
    }
}

/// An IPv4 prefix such as `192.168.1.0/24`, host bits zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Ipv4Net {
    addr: Ipv4Addr,
    prefix_len: u8,
}

impl Ipv4Net {
    /// The prefix `addr/prefix_len`. Fails if `prefix_len > 32` or `addr`
    /// has bits set past the prefix.
    pub fn new(addr: Ipv4Addr, prefix_len: u8) -> Result<Self, PipelineError> {
        let bad = || PipelineError::BadSubnet { text: format!("{addr}/{prefix_len}") };
        if prefix_len > 32 {
            return Err(bad());
        }
        let net = Ipv4Net { addr, prefix_len };
        if u32::from(addr) & !net.mask_bits() != 0 {
            return Err(bad());
        }
        Ok(net)
    }

    /// The network address.
    pub fn addr(&self) -> Ipv4Addr {
        self.addr
    }

    /// The prefix length.
    pub fn prefix_len(&self) -> u8 {
        self.prefix_len
    }

    /// True if `ip` is inside the prefix.
    pub fn contains(&self, ip: Ipv4Addr) -> bool {
        u32::from(ip) & self.mask_bits() == u32::from(self.addr)
    }

    fn mask_bits(&self) -> u32 {
        u32::MAX.checked_shl(32 - u32::from(self.prefix_len)).unwrap_or(0)
    }
}

impl fmt::Display for Ipv4Net {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix_len)
    }
}

impl FromStr for Ipv4Net {
    type Err = PipelineError;

    fn from_str(s: &str) -> Result<Self, PipelineError> {
        let bad = || PipelineError::BadSubnet { text: s.to_string() };
        let (addr, len) = s.split_once('/').ok_or_else(bad)?;
        Ipv4Net::new(addr.parse().map_err(|_| bad())?, len.parse().map_err(|_| bad())?)
    }
}

/// A switch port with the one MAC and IP allowed behind it: a pod's VF
/// representor, or the node's gateway.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Port {
    /// OpenFlow port number (1..=0xfeff).
    pub ofport: u16,
    /// Interface name (the representor's netdev name for a pod). Used in
    /// error messages only; flows refer to `ofport`.
    pub name: String,
    /// The MAC address of the pod's (or gateway's) interface.
    pub mac: EthAddr,
    /// The IPv4 address of the pod (or gateway).
    pub ip: Ipv4Addr,
}

/// What the pipeline is generated from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PipelineConfig {
    /// The node's gateway port (Antrea's `antrea-gw0`): the way to the host
    /// and everything outside the pod subnet.
    pub gateway: Port,
    /// The pods on this node.
    pub pods: Vec<Port>,
    /// The node's pod subnet; the gateway and every pod are inside it.
    pub subnet: Ipv4Net,
    /// Conntrack zone for pod traffic; [`DEFAULT_CT_ZONE`] unless changed.
    pub ct_zone: u16,
}

impl PipelineConfig {
    /// A configuration without pods, in the default conntrack zone.
    pub fn new(gateway: Port, subnet: Ipv4Net) -> Self {
        PipelineConfig { gateway, pods: Vec::new(), subnet, ct_zone: DEFAULT_CT_ZONE }
    }

    /// The offload guide's node: pods `rep1` (OpenFlow port 1,
    /// 192.168.1.16, 42:66:d7:45:0d:7e) and `rep2` (port 2, 192.168.1.17,
    /// 16:fd:c6:0b:60:52), gateway `antrea-gw0` (port 3, 192.168.1.1,
    /// ae:9d:4c:c8:20:01), subnet 192.168.1.0/24, zone 65520. The snapshot,
    /// the real-OVS test and its fixtures all use it.
    pub fn seed_example() -> Self {
        let port = |ofport, name: &str, mac: [u8; 6], ip: [u8; 4]| Port {
            ofport,
            name: name.to_string(),
            mac: EthAddr(mac),
            ip: Ipv4Addr::from(ip),
        };
        let subnet = Ipv4Net { addr: Ipv4Addr::new(192, 168, 1, 0), prefix_len: 24 };
        let mut c =
            PipelineConfig::new(port(3, "antrea-gw0", [0xae, 0x9d, 0x4c, 0xc8, 0x20, 0x01], [192, 168, 1, 1]), subnet);
        c.pods.push(port(1, "rep1", [0x42, 0x66, 0xd7, 0x45, 0x0d, 0x7e], [192, 168, 1, 16]));
        c.pods.push(port(2, "rep2", [0x16, 0xfd, 0xc6, 0x0b, 0x60, 0x52], [192, 168, 1, 17]));
        c
    }
}

/// Why a [`PipelineConfig`] cannot be turned into flows.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PipelineError {
    /// The subnet is not `a.b.c.d/len` with `len <= 32` and zero host bits.
    #[error("bad subnet {text:?}: write it as a.b.c.d/len with len <= 32 and the host bits zero, e.g. 192.168.1.0/24")]
    BadSubnet {
        /// What was given.
        text: String,
    },
    /// An OpenFlow port number is 0 or reserved.
    #[error("port {name}: OpenFlow port {ofport} is not usable; pick a number from 1 to 65279")]
    BadOfport {
        /// The port.
        name: String,
        /// Its number.
        ofport: u16,
    },
    /// An address is outside the pod subnet.
    #[error("port {name}: {ip} is outside the pod subnet {subnet}; use an address from the subnet")]
    OutsideSubnet {
        /// The port.
        name: String,
        /// Its address.
        ip: Ipv4Addr,
        /// The subnet.
        subnet: Ipv4Net,
    },
    /// Two ports share an OpenFlow port number, MAC or IP.
    #[error("ports {first} and {second} have the same {what} {value}; each port needs its own")]
    Duplicate {
        /// The first port with it.
        first: String,
        /// The second.
        second: String,
        /// "OpenFlow port", "MAC" or "IP".
        what: &'static str,
        /// The shared value.
        value: String,
    },
}

/// One OpenFlow flow in `ovs-ofctl` syntax.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flow {
    /// The table it goes in.
    pub table: Table,
    /// Its priority.
    pub priority: u16,
    /// The match, comma-separated `ovs-ofctl` fields; empty matches all.
    pub matches: String,
    /// The actions, comma-separated `ovs-ofctl` actions.
    pub actions: String,
}

impl fmt::Display for Flow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "table={},priority={}", self.table.id(), self.priority)?;
        if !self.matches.is_empty() {
            write!(f, ",{}", self.matches)?;
        }
        write!(f, " actions={}", self.actions)
    }
}

/// The generated flows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pipeline {
    /// Flows in table order, then in descending priority.
    pub flows: Vec<Flow>,
}

impl Pipeline {
    /// Check `config` and generate its flows.
    pub fn build(config: &PipelineConfig) -> Result<Pipeline, PipelineError> {
        validate(config)?;
        let mut b = Builder { config, flows: Vec::new() };
        b.classifier();
        b.spoof_guard();
        b.arp();
        b.conntrack_zone();
        b.conntrack_state();
        b.l3_forwarding();
        b.l2_forwarding_calc();
        b.l2_forwarding_out();
        // Stable sort: within a table and priority the generation order stays.
        b.flows.sort_by(|a, b| a.table.cmp(&b.table).then(b.priority.cmp(&a.priority)));
        Ok(Pipeline { flows: b.flows })
    }

    /// The flows as `ovs-ofctl add-flows` text, one per line, each ending
    /// in a newline.
    pub fn to_ofctl_text(&self) -> String {
        self.flows.iter().map(|f| format!("{f}\n")).collect()
    }

    /// The flows of one table.
    pub fn table(&self, table: Table) -> impl Iterator<Item = &Flow> {
        self.flows.iter().filter(move |f| f.table == table)
    }
}

fn validate(config: &PipelineConfig) -> Result<(), PipelineError> {
    let ports: Vec<&Port> = std::iter::once(&config.gateway).chain(&config.pods).collect();
    for p in &ports {
        if p.ofport == 0 || p.ofport > OFPP_MAX {
            return Err(PipelineError::BadOfport { name: p.name.clone(), ofport: p.ofport });
        }
        if !config.subnet.contains(p.ip) {
            return Err(PipelineError::OutsideSubnet { name: p.name.clone(), ip: p.ip, subnet: config.subnet });
        }
    }
    for (i, a) in ports.iter().enumerate() {
        for b in &ports[i + 1..] {
            let clash = if a.ofport == b.ofport {
                Some(("OpenFlow port", a.ofport.to_string()))
            } else if a.mac == b.mac {
                Some(("MAC", a.mac.to_string()))
            } else if a.ip == b.ip {
                Some(("IP", a.ip.to_string()))
            } else {
                None
            };
            if let Some((what, value)) = clash {
                return Err(PipelineError::Duplicate { first: a.name.clone(), second: b.name.clone(), what, value });
            }
        }
    }
    // Names are only for messages, but two ports with one name would make
    // those messages ambiguous.
    let names: BTreeSet<&str> = ports.iter().map(|p| p.name.as_str()).collect();
    if names.len() != ports.len() {
        let mut seen = BTreeSet::new();
        let dup = ports.iter().find(|p| !seen.insert(p.name.as_str())).map_or("", |p| p.name.as_str());
        return Err(PipelineError::Duplicate {
            first: dup.to_string(),
            second: dup.to_string(),
            what: "name",
            value: dup.to_string(),
        });
    }
    Ok(())
}

struct Builder<'a> {
    config: &'a PipelineConfig,
    flows: Vec<Flow>,
}

fn goto(table: Table) -> String {
    format!("goto_table:{}", table.id())
}

impl Builder<'_> {
    fn add(&mut self, table: Table, priority: u16, matches: impl Into<String>, actions: impl Into<String>) {
        self.flows.push(Flow { table, priority, matches: matches.into(), actions: actions.into() });
    }

    fn set_source(source: u32) -> String {
        format!("load:{source:#x}->NXM_NX_REG0[0..3],{}", goto(Table::SpoofGuard))
    }

    /// Table 0: tag the packet with its source kind. Matches only `in_port`.
    fn classifier(&mut self) {
        let gw = self.config.gateway.ofport;
        self.add(Table::Classifier, 200, format!("in_port={gw}"), Self::set_source(PKT_SOURCE_GATEWAY));
        for pod in &self.config.pods {
            let m = format!("in_port={}", pod.ofport);
            self.add(Table::Classifier, 190, m, Self::set_source(PKT_SOURCE_LOCAL_POD));
        }
        self.add(Table::Classifier, 0, "", "drop");
    }

    /// Table 10: a pod's IP must come from its MAC and IP, its ARP must
    /// announce its own MAC and IP. `nw_src`/`dl_src` matched here are what
    /// the first megaflow carries.
    fn spoof_guard(&mut self) {
        let gw = self.config.gateway.ofport;
        self.add(Table::SpoofGuard, 200, format!("ip,in_port={gw}"), goto(Table::ConntrackZone));
        self.add(Table::SpoofGuard, 200, format!("arp,in_port={gw}"), goto(Table::Arp));
        for pod in &self.config.pods {
            let (port, mac, ip) = (pod.ofport, pod.mac, pod.ip);
            self.add(
                Table::SpoofGuard,
                200,
                format!("ip,in_port={port},dl_src={mac},nw_src={ip}"),
                goto(Table::ConntrackZone),
            );
            self.add(
                Table::SpoofGuard,
                200,
                format!("arp,in_port={port},arp_spa={ip},arp_sha={mac}"),
                goto(Table::Arp),
            );
        }
        self.add(Table::SpoofGuard, 0, "", "drop");
    }

    /// Table 15: ARP is switched by NORMAL, which learns MACs.
    fn arp(&mut self) {
        self.add(Table::Arp, 190, "arp", "NORMAL");
        self.add(Table::Arp, 0, "", "drop");
    }

    /// Table 20: all IP goes through conntrack and comes back in table 30.
    fn conntrack_zone(&mut self) {
        let actions = format!("ct(table={},zone={})", Table::ConntrackState.id(), self.config.ct_zone);
        self.add(Table::ConntrackZone, 200, "ip", actions);
        self.add(Table::ConntrackZone, 0, "", "drop");
    }

    /// Table 30. Priorities matter for the megaflow (see the crate docs):
    /// both established rules outrank the invalid and new rules.
    fn conntrack_state(&mut self) {
        let zone = self.config.ct_zone;
        let gw_mac = self.config.gateway.mac;
        // A pod's reply in a connection that came in through the gateway
        // goes back to the gateway, whatever its destination MAC.
        self.add(
            Table::ConntrackState,
            210,
            format!("ct_state=+est+trk,ct_mark={CT_MARK_FROM_GATEWAY:#x},ip,reg0={PKT_SOURCE_LOCAL_POD:#x}/0xf"),
            format!("mod_dl_dst:{gw_mac},{}", goto(Table::L2ForwardingCalc)),
        );
        self.add(Table::ConntrackState, 200, "ct_state=+est+trk,ip", goto(Table::L3Forwarding));
        self.add(Table::ConntrackState, 190, "ct_state=+inv+trk,ip", "drop");
        self.add(
            Table::ConntrackState,
            185,
            format!("ct_state=+new+trk,ip,reg0={PKT_SOURCE_GATEWAY:#x}/0xf"),
            format!(
                "ct(commit,zone={zone},exec(load:{CT_MARK_FROM_GATEWAY:#x}->NXM_NX_CT_MARK[])),{}",
                goto(Table::L3Forwarding)
            ),
        );
        self.add(
            Table::ConntrackState,
            180,
            "ct_state=+new+trk,ip",
            format!("ct(commit,zone={zone}),{}", goto(Table::L3Forwarding)),
        );
        // Related (e.g. ICMP errors) and anything else tracked: continue.
        self.add(Table::ConntrackState, 0, "", goto(Table::L3Forwarding));
    }

    /// Table 70. The subnet rule is a prefix, never per pod, so the
    /// megaflow keeps `nw_dst/len`; the per-pod `/32` routing rules also
    /// match the gateway MAC and are rejected before `nw_dst` is looked at.
    fn l3_forwarding(&mut self) {
        let gw_mac = self.config.gateway.mac;
        for pod in &self.config.pods {
            self.add(
                Table::L3Forwarding,
                210,
                format!("ip,dl_dst={gw_mac},nw_dst={}", pod.ip),
                format!("mod_dl_src:{gw_mac},mod_dl_dst:{},dec_ttl,{}", pod.mac, goto(Table::L2ForwardingCalc)),
            );
        }
        let subnet = self.config.subnet;
        self.add(Table::L3Forwarding, 200, format!("ip,nw_dst={subnet}"), goto(Table::L2ForwardingCalc));
        self.add(
            Table::L3Forwarding,
            190,
            format!("ip,reg0={PKT_SOURCE_LOCAL_POD:#x}/0xf"),
            format!("mod_dl_dst:{gw_mac},{}", goto(Table::L2ForwardingCalc)),
        );
        self.add(Table::L3Forwarding, 0, "", goto(Table::L2ForwardingCalc));
    }

    /// Table 80: destination MAC to output port, in registers.
    fn l2_forwarding_calc(&mut self) {
        let ports: Vec<(EthAddr, u16)> =
            std::iter::once(&self.config.gateway).chain(&self.config.pods).map(|p| (p.mac, p.ofport)).collect();
        for (mac, ofport) in ports {
            self.add(
                Table::L2ForwardingCalc,
                200,
                format!("dl_dst={mac}"),
                format!("load:{ofport:#x}->NXM_NX_REG1[],load:0x1->NXM_NX_REG0[16],{}", goto(Table::L2ForwardingOut)),
            );
        }
        self.add(Table::L2ForwardingCalc, 0, "", goto(Table::L2ForwardingOut));
    }

    /// Table 90: output where table 80 decided, or drop.
    fn l2_forwarding_out(&mut self) {
        let m = format!("reg0={REG0_OUTPUT_PORT_KNOWN:#x}/{REG0_OUTPUT_PORT_KNOWN:#x}");
        self.add(Table::L2ForwardingOut, 200, m, "output:NXM_NX_REG1[]");
        self.add(Table::L2ForwardingOut, 0, "", "drop");
    }
}

#[cfg(test)]
mod tests;
