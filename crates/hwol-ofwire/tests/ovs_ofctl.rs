//! `ovs-ofctl` (Debian's 3.1) against a hwol bridge socket and against a real
//! `ovs-vswitchd` (hwol-ovs-harness, dummy datapath) in the same run, with
//! the same input; the outputs must agree once the documented differences
//! (docs/ofproto.md, "ovs-ofctl over OpenFlow") are normalized away:
//! durations and ages, xids, the datapath id, port MAC addresses, OVS's
//! LOCAL port (hwol bridges have none), the capability/action bitmaps, the
//! switch description strings, the dummy netdev's custom port counters and
//! `hard_age` (timing: see [`normalize`]).
//!
//! Runs for OpenFlow 1.0 (+NXM), 1.3, 1.4 and 1.5, with the pod pipeline
//! (hwol-pipeline's seed example) and a set of flows exercising the other
//! matches and actions.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use hwol_ofwire::server::{Bridge, MemoryBridge, Server};
use hwol_ovs_harness::frame::{Endpoint, TcpConversation};
use hwol_ovs_harness::Ovs;
use hwol_pipeline::{Pipeline, PipelineConfig};

const VERSIONS: [&str; 4] = ["OpenFlow10", "OpenFlow13", "OpenFlow14", "OpenFlow15"];

/// Flows beyond the pipeline: ct with zone from a register and exec, loads
/// and moves, conjunctions, cookies, IPv6, ARP, timeouts, notes, VLAN.
/// (Every line is expressible in OpenFlow 1.0 + NXM and in OXM.)
const EXTRA_FLOWS: &str = "\
table=0,priority=100,in_port=1,tcp,nw_dst=10.0.0.0/8,tp_dst=80,actions=ct(commit,zone=5,exec(set_field:1->ct_mark)),resubmit(,3),output:2
table=0,priority=90,in_port=2,ip,actions=ct(table=1,zone=NXM_NX_REG4[0..15])
table=1,cookie=0x5,priority=5,reg0=0x5/0xff,ct_state=+trk+est,actions=load:0x3->NXM_NX_REG1[0..7],move:NXM_NX_REG0[]->NXM_NX_REG2[],goto_table:2
table=1,cookie=0x6,priority=6,ct_state=+trk+new,ct_mark=0x1/0x1,ct_label=0x2,ct_zone=3,actions=set_field:0x12->reg3,NORMAL
table=2,priority=7,conj_id=7,ip,actions=LOCAL
table=2,priority=8,ip,nw_src=1.2.3.4,actions=conjunction(7,1/2)
table=2,priority=8,ip,nw_dst=1.2.3.4,actions=conjunction(7,2/2)
table=3,priority=1,dl_src=00:11:22:33:44:55,dl_dst=01:00:00:00:00:00/01:00:00:00:00:00,dl_vlan=5,actions=strip_vlan,mod_vlan_vid:7,IN_PORT,CONTROLLER,output:NXM_NX_REG1[]
table=3,priority=2,ipv6,ipv6_src=fe80::1/64,ipv6_label=5,icmp6,icmp_type=135,actions=drop
table=4,priority=3,arp,arp_op=1,arp_spa=1.1.1.1,arp_tha=00:00:00:00:00:01,actions=mod_dl_src:00:00:00:00:00:02,mod_dl_dst:00:00:00:00:00:03,note:abcd,resubmit(1,2),resubmit(3)
table=4,priority=4,pkt_mark=3,udp,tp_src=5/0xf,nw_tos=4,nw_ecn=1,nw_ttl=3,ip_frag=yes,actions=ct_clear,goto_table:6
table=5,idle_timeout=30,hard_timeout=60,priority=6,tcp,tcp_flags=+syn-ack,xreg3=0x5,actions=set_field:00:11:22:33:44:55->eth_src,mod_vlan_pcp:3
";

fn ofctl_path() -> PathBuf {
    for d in ["/usr/bin", "/usr/local/bin", "/bin"] {
        let p = Path::new(d).join("ovs-ofctl");
        if p.is_file() {
            return p;
        }
    }
    panic!("ovs-ofctl is not installed: run scripts/setup.sh (openvswitch-common)");
}

struct Pair {
    ovs: Ovs,
    hw: Arc<MemoryBridge>,
    _server: Server,
    hw_sock: PathBuf,
    dir: PathBuf,
}

impl Drop for Pair {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

const PORTS: [(u32, &str); 3] = [(1, "rep1"), (2, "rep2"), (3, "antrea-gw0")];

fn start() -> Pair {
    let ovs = Ovs::start().expect("start OVS (run scripts/setup.sh)");
    ovs.add_bridge("br0").unwrap();
    for (n, name) in PORTS {
        ovs.add_port("br0", name, n as u16).unwrap();
    }
    static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("hwol-ofwire-{}-{n}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let hw_sock = dir.join("br0.mgmt");
    let hw = Arc::new(MemoryBridge::new("br0", &PORTS));
    let server = Server::start(&hw_sock, hw.clone()).unwrap();
    Pair { ovs, hw, _server: server, hw_sock, dir }
}

/// Run ovs-ofctl; stdout on success, "ERROR: stderr" otherwise (both
/// sides' failures are compared too).
fn ofctl(version: &str, sock: &Path, args: &[&str], input: Option<&str>) -> String {
    let target = format!("unix:{}", sock.display());
    let mut cmd = Command::new(ofctl_path());
    let n_opts = args.iter().take_while(|a| a.starts_with("--")).count();
    cmd.arg("-O").arg(version).arg("--timeout=10").args(&args[..n_opts]);
    cmd.arg(args[n_opts]).arg(&target).args(&args[n_opts + 1..]);
    let out = if let Some(text) = input {
        use std::io::Write;
        let mut child = cmd
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
        child.wait_with_output().unwrap()
    } else {
        cmd.output().unwrap()
    };
    if out.status.success() {
        String::from_utf8_lossy(&out.stdout).into_owned()
    } else {
        format!("ERROR: {}", String::from_utf8_lossy(&out.stderr))
    }
}

/// Replace the first `key=<digits/dots>` run of each occurrence.
fn blank(line: &str, key: &str) -> String {
    let mut out = String::new();
    let mut rest = line;
    while let Some(i) = rest.find(key) {
        out.push_str(&rest[..i + key.len()]);
        rest = &rest[i + key.len()..];
        let end =
            rest.find(|c: char| !(c.is_ascii_hexdigit() || c == '.' || c == ':' || c == 'x')).unwrap_or(rest.len());
        out.push('*');
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

/// The normalization described in the module docs. Flow lines are sorted:
/// neither switch promises an order among flows of equal priority.
fn normalize(text: &str) -> String {
    let mut lines: Vec<String> = Vec::new();
    let mut skip_port_block = false;
    for l in text.lines() {
        if l.starts_with(" LOCAL(") || l.starts_with("  port LOCAL:") {
            skip_port_block = true;
            continue;
        }
        if skip_port_block && l.starts_with("     ") {
            continue;
        }
        skip_port_block = false;
        // The dummy netdev's custom counters (OpenFlow 1.4+ port stats).
        if l.trim_start().starts_with("CUSTOM Statistics") || l.starts_with("                      ") {
            continue;
        }
        let mut l = l.to_string();
        for k in ["duration=", "idle_age=", "xid=", "dpid:", "addr:"] {
            l = blank(&l, k);
        }
        // hard_age is printed when its whole seconds differ from the
        // duration's: which side of a second boundary a run falls on.
        if let Some(i) = l.find(" hard_age=") {
            let end = l[i..].find(", ").map(|j| i + j + 2).unwrap_or(l.len());
            l.replace_range(i + 1..end, "");
        }
        if l.starts_with("capabilities:") || l.starts_with("actions: ") {
            continue;
        }
        if l.starts_with("Manufacturer:") || l.starts_with("Hardware:") || l.starts_with("Software:") {
            continue;
        }
        if l.contains(" ports") && l.starts_with("OFPST_PORT reply") {
            l = l.split(':').next().unwrap_or("").to_string();
        }
        lines.push(l);
    }
    if lines.len() > 1 && lines.iter().skip(1).all(|l| l.starts_with(" cookie=")) {
        lines[1..].sort();
    }
    lines.join("\n")
}

fn both(p: &Pair, version: &str, args: &[&str], input: Option<&str>) -> (String, String) {
    let theirs = ofctl(version, &p.ovs.dir().join("br0.mgmt"), args, input);
    let ours = ofctl(version, &p.hw_sock, args, input);
    (normalize(&theirs), normalize(&ours))
}

#[track_caller]
fn same(p: &Pair, version: &str, args: &[&str], input: Option<&str>) -> String {
    let (theirs, ours) = both(p, version, args, input);
    if ours != theirs {
        let only = |a: &str, b: &str| a.lines().filter(|l| !b.lines().any(|m| m == *l)).collect::<Vec<_>>().join("\n");
        panic!(
            "ovs-ofctl -O {version} {args:?}: hwol differs from OVS\n--- only hwol:\n{}\n--- only OVS:\n{}",
            only(&ours, &theirs),
            only(&theirs, &ours)
        );
    }
    ours
}

fn pipeline_flows() -> String {
    Pipeline::build(&PipelineConfig::seed_example()).unwrap().to_ofctl_text()
}

#[test]
fn ovs_ofctl_sees_the_same_bridge() {
    let p = start();
    let flows = format!("{}{}", pipeline_flows(), EXTRA_FLOWS);
    for v in VERSIONS {
        same(&p, v, &["del-flows"], None);
        same(&p, v, &["add-flows", "-"], Some(&flows));
        let dump = same(&p, v, &["dump-flows"], None);
        assert_eq!(dump.lines().count(), flows.lines().count() + 1, "{v}: every flow is dumped\n{dump}");
        for filter in ["table=30", "cookie=0x5/-1", "ip,nw_dst=192.168.1.16", "out_port=2", "table=2,ip"] {
            same(&p, v, &["dump-flows", filter], None);
        }
        same(&p, v, &["dump-aggregate"], None);
        same(&p, v, &["dump-aggregate", "table=10"], None);
        same(&p, v, &["dump-tables"], None);
        // Modify, loose and strict; a modify that matches nothing adds.
        same(&p, v, &["mod-flows", "table=70,ip,actions=drop"], None);
        same(&p, v, &["--strict", "mod-flows", "table=15,priority=190,arp,actions=output:3"], None);
        same(&p, v, &["mod-flows", "table=99,priority=9,actions=output:1"], None);
        same(&p, v, &["dump-flows"], None);
        // Deletes: strict, by cookie, by out_port, by table.
        same(&p, v, &["--strict", "del-flows", "table=2,priority=7,conj_id=7,ip"], None);
        same(&p, v, &["--strict", "del-flows", "table=2,priority=1,conj_id=7,ip"], None);
        same(&p, v, &["del-flows", "cookie=0x5/-1"], None);
        same(&p, v, &["del-flows", "out_port=2"], None);
        same(&p, v, &["del-flows", "table=10"], None);
        same(&p, v, &["dump-flows"], None);
        same(&p, v, &["del-flows"], None);
        same(&p, v, &["dump-flows"], None);
        // Switch-level requests.
        for cmd in ["show", "dump-ports-desc", "dump-desc", "get-frags", "probe", "dump-ports"] {
            same(&p, v, &[cmd], None);
        }
        same(&p, v, &["dump-ports", "2"], None);
        same(&p, v, &["set-frags", "drop"], None);
        same(&p, v, &["get-frags"], None);
        same(&p, v, &["set-frags", "normal"], None);
        // Refusals: an add to an unknown table name and an invalid out port.
        same(&p, v, &["add-flow", "table=254,actions=drop"], None);
    }
}

/// Counters travel intact: after real traffic through the pipeline, what
/// `ovs-ofctl dump-flows` prints from hwol is what hwol's ofproto holds
/// (printed by hwol-openflow's OVS-format printer), in every version.
///
/// The same frames go through a real ovs-vswitchd: both credit a rule with
/// every packet it handled, upcalls included, so the counters agree.
#[test]
fn packet_counters_reach_ovs_ofctl() {
    let p = start();
    same(&p, "OpenFlow13", &["add-flows", "-"], Some(&pipeline_flows()));
    let pod = |mac: [u8; 6], ip: [u8; 4], port| Endpoint {
        mac: hwol_flow::EthAddr(mac),
        ip: std::net::Ipv4Addr::from(ip),
        port,
    };
    let client = pod([0x42, 0x66, 0xd7, 0x45, 0x0d, 0x7e], [192, 168, 1, 16], 43558);
    let server = pod([0x16, 0xfd, 0xc6, 0x0b, 0x60, 0x52], [192, 168, 1, 17], 5201);
    let mut c = TcpConversation::new(client, server);
    let mut frames = vec![(1u32, c.syn()), (2, c.syn_ack()), (1, c.ack())];
    for i in 0..4 {
        frames.push((1, c.data(hwol_ovs_harness::frame::Side::Client, &[i; 100])));
        frames.push((2, c.data(hwol_ovs_harness::frame::Side::Server, &[i; 60])));
    }
    for (n, f) in &frames {
        p.hw.advance(Duration::from_millis(10));
        p.hw.receive(*n, f);
        let name = PORTS.iter().find(|(m, _)| m == n).unwrap().1;
        p.ovs.receive_frame(name, f).unwrap();
    }
    // OVS moves datapath counters into its rules when it revalidates.
    p.ovs.appctl(&["revalidator/purge"]).unwrap();
    p.hw.advance(Duration::from_secs(2));
    let now = p.hw.now();
    let want: Vec<String> = p.hw.with_ofproto(|of| {
        of.dump_flows(now).iter().map(|e| hwol_openflow::text::format_flow_stats(e, None)).collect()
    });
    // The actions print in the 1.0 dialect on the wire (goto_table as
    // resubmit): compare everything before them.
    let cut = |t: String| t.lines().map(|l| l.split(" actions=").next().unwrap_or("").to_string()).collect::<Vec<_>>();
    let want = cut(normalize(&format!("NXST_FLOW reply (xid=0x4):\n{}", want.join("\n"))));
    assert!(want.iter().any(|l| l.contains("n_packets=11,")), "traffic was counted:\n{want:#?}");
    let counters = |t: &str| {
        let mut v: Vec<String> = t
            .lines()
            .filter_map(|l| {
                let l = l.split(" actions=").next()?;
                l.contains("n_packets=")
                    .then(|| l.split(", ").filter(|f| !f.contains("_age=")).collect::<Vec<_>>().join(", "))
            })
            .collect();
        v.sort();
        v
    };
    let (theirs, ours) = both(&p, "OpenFlow13", &["dump-flows"], None);
    assert_eq!(counters(&ours), counters(&theirs), "per-rule counters, hwol vs OVS");
    let got = cut(normalize(&ofctl("OpenFlow10", &p.hw_sock, &["dump-flows"], None)));
    assert_eq!(got, want);
    for v in VERSIONS {
        let agg = ofctl(v, &p.hw_sock, &["dump-aggregate"], None);
        let (pk, by) = p.hw.with_ofproto(|of| {
            of.dump_flows(Duration::ZERO).iter().fold((0, 0), |(a, b), e| (a + e.n_packets, b + e.n_bytes))
        });
        assert!(agg.contains(&format!("packet_count={pk} byte_count={by} ")), "{v}: {agg}");
        let flows = ofctl(v, &p.hw_sock, &["dump-flows", "table=90"], None);
        assert!(flows.contains("n_packets="), "{v}: {flows}");
    }
}

#[test]
fn packet_out_sends_the_frame() {
    let p = start();
    let frame = "0001020304050a0b0c0d0e0f08004500001c00000000401100000a0000010a00000200350035000800000000";
    for v in VERSIONS {
        let out = ofctl(v, &p.hw_sock, &["packet-out", "1", "output:2", frame], None);
        assert!(!out.starts_with("ERROR"), "{v}: {out}");
    }
    let sent = p.hw.sent();
    assert_eq!(sent.len(), VERSIONS.len());
    assert!(sent.iter().all(|(port, f)| *port == 2 && f.len() == frame.len() / 2));
    // Actions beyond output are refused with an OpenFlow error, and the
    // refusal names the problem.
    let out =
        ofctl("OpenFlow13", &p.hw_sock, &["packet-out", "1", "mod_dl_src:00:00:00:00:00:01,output:2", frame], None);
    assert!(out.contains("OFPBAC_BAD_TYPE"), "{out}");
}
