//! hwol-vswitchd in the part of ovs-vswitchd against a real ovsdb-server,
//! driven by Debian's `ovs-vsctl` and `ovs-appctl` (OVS 3.1; scripts/setup.sh
//! installs them). Needs root: each daemon runs in a network namespace the
//! test creates (its ports are veths there, its internal interfaces taps
//! there), so nothing on the host is touched; dropping the rig kills the
//! daemons and deletes the namespaces, also when a test fails.
//!
//! Where OVS's behaviour is the reference (OpenFlow port numbers, the
//! `error` text for a missing device, `admin_state`, the `status` driver),
//! the same `ovs-vsctl` commands run against a real ovs-vswitchd (userspace
//! `netdev` datapath, in a namespace of its own) in the same test, and the
//! database columns are compared.

use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use hwol_ovs_harness::OvsDb;

/// A network namespace this test made.
struct Netns(String);

impl Netns {
    fn new(tag: &str) -> Netns {
        let name = format!("hwdb{tag}{}", std::process::id());
        let ok = Command::new("ip").args(["netns", "add", &name]).status().expect("run ip");
        assert!(ok.success(), "ip netns add {name} (needs root)");
        let ns = Netns(name);
        ns.ip(&["link", "set", "lo", "up"]);
        ns
    }

    fn ip(&self, args: &[&str]) {
        let ok = Command::new("ip").args(["-n", &self.0]).args(args).status().expect("run ip");
        assert!(ok.success(), "ip -n {} {}", self.0, args.join(" "));
    }

    /// Veth pair `name`/`name`p in the namespace, both up.
    fn veth(&self, name: &str) {
        let peer = format!("{name}p");
        self.ip(&["link", "add", name, "type", "veth", "peer", "name", &peer]);
        self.ip(&["link", "set", name, "up"]);
        self.ip(&["link", "set", &peer, "up"]);
    }

    fn command(&self, program: &str) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.0, program]);
        c
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.0]).status();
    }
}

/// hwol-vswitchd following `db`, in `ns`, with its rundir and log in `dir`.
struct Hwol {
    dir: PathBuf,
    child: Option<Child>,
}

impl Hwol {
    fn start(ns: &Netns, db: &OvsDb, dir: &Path, config: &str) -> Hwol {
        std::fs::create_dir_all(dir).unwrap();
        std::fs::write(dir.join("hwol.toml"), config).unwrap();
        let log = std::fs::OpenOptions::new().create(true).append(true).open(dir.join("hwol.log")).unwrap();
        let child = ns
            .command(env!("CARGO_BIN_EXE_hwol-vswitchd"))
            .arg("--config")
            .arg(dir.join("hwol.toml"))
            .arg("--rundir")
            .arg(dir)
            .arg("--ovsdb")
            .arg(db.remote())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        let h = Hwol { dir: dir.to_path_buf(), child: Some(child) };
        wait_for("hwol-vswitchd to answer", || h.appctl(&["version"]).is_ok(), &h);
        h
    }

    /// `ovs-appctl -t hwol-vswitchd ARGS` (found through OVS_RUNDIR).
    fn appctl(&self, args: &[&str]) -> Result<String, String> {
        let out = Command::new("ovs-appctl")
            .env("OVS_RUNDIR", &self.dir)
            .args(["--timeout=10", "-t", "hwol-vswitchd"])
            .args(args)
            .output()
            .expect("run ovs-appctl (install openvswitch-common)");
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).into_owned())
        } else {
            Err(String::from_utf8_lossy(&out.stderr).into_owned())
        }
    }

    /// Port name to number, from `hwol/ports` ("NAME ofport=N ...").
    fn ports(&self) -> Vec<(String, u32)> {
        let text = self.appctl(&["hwol/ports"]).unwrap();
        text.lines()
            .filter_map(|l| {
                let mut w = l.split_whitespace();
                let name = w.next()?.to_string();
                let n = w.find_map(|x| x.strip_prefix("ofport="))?.parse().ok()?;
                Some((name, n))
            })
            .collect()
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("hwol.log")).unwrap_or_default()
    }

    fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = self.appctl(&["exit"]);
            let t = Instant::now();
            while t.elapsed() < Duration::from_secs(10) {
                if let Ok(Some(_)) = c.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for Hwol {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A real ovs-vswitchd (userspace datapath) with its own database, in `ns`.
struct RefOvs {
    db: OvsDb,
    child: Option<Child>,
}

impl RefOvs {
    fn start(ns: &Netns) -> RefOvs {
        let db = OvsDb::start().expect("start ovsdb-server");
        let d = db.dir().to_path_buf();
        let log = std::fs::File::create(d.join("ovs-vswitchd.console")).unwrap();
        let child = ns
            .command("ovs-vswitchd")
            .env("OVS_RUNDIR", &d)
            .env("OVS_LOGDIR", &d)
            .env("OVS_DBDIR", &d)
            .env("OVS_SYSCONFDIR", &d)
            .arg(db.remote())
            .arg("--disable-system")
            .arg(format!("--unixctl={}", d.join("ovs-vswitchd.ctl").display()))
            .arg(format!("--pidfile={}", d.join("ovs-vswitchd.pid").display()))
            .arg(format!("--log-file={}", d.join("ovs-vswitchd.log").display()))
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("run ovs-vswitchd (install openvswitch-switch)");
        let r = RefOvs { db, child: Some(child) };
        let ctl = d.join("ovs-vswitchd.ctl");
        let t = Instant::now();
        while !Command::new("ovs-appctl").arg("-t").arg(&ctl).arg("version").output().is_ok_and(|o| o.status.success())
        {
            assert!(t.elapsed() < Duration::from_secs(20), "ovs-vswitchd did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        r
    }
}

impl Drop for RefOvs {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn wait_for(what: &str, mut cond: impl FnMut() -> bool, h: &Hwol) {
    let t = Instant::now();
    while !cond() {
        assert!(t.elapsed() < Duration::from_secs(15), "timed out waiting for {what}; hwol log:\n{}", h.log());
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn vsctl(db: &OvsDb, args: &[&str]) -> String {
    // No --no-wait: this returns only once the switch set cur_cfg.
    db.vsctl(10, args).unwrap_or_else(|e| panic!("ovs-vsctl {}: {e}", args.join(" "))).trim().to_string()
}

fn tmpdir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("hwol-ovsdb-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

struct RmDir(PathBuf);
impl Drop for RmDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn vsctl_drives_hwol_like_ovs_vswitchd() {
    let (ns_h, ns_o) = (Netns::new("h"), Netns::new("o"));
    for ns in [&ns_h, &ns_o] {
        for v in ["vt1", "vt2", "vt3", "vt4"] {
            ns.veth(v);
        }
    }
    let dir = RmDir(tmpdir("cmp"));
    let db = OvsDb::start().expect("start ovsdb-server");
    let hwol = Hwol::start(&ns_h, &db, &dir.0, "");
    let ovs = RefOvs::start(&ns_o);

    let steps: &[&[&str]] = &[
        &["add-br", "br-int", "--", "set", "bridge", "br-int", "datapath_type=netdev"],
        &["add-port", "br-int", "vt1"],
        &["add-port", "br-int", "vt2", "--", "set", "interface", "vt2", "ofport_request=5"],
        &["add-port", "br-int", "vt3"],
        &["add-port", "br-int", "nosuch"],
        &["del-port", "vt1"],
        &["add-port", "br-int", "vt4"],
        &["add-port", "br-int", "vt1"],
    ];
    for step in steps {
        let t = Instant::now();
        vsctl(&db, step);
        assert!(t.elapsed() < Duration::from_secs(10));
        vsctl(&ovs.db, step);
        // hwol's own view agrees with what it wrote to the database.
        for (name, ofport) in hwol.ports() {
            assert_eq!(vsctl(&db, &["get", "Interface", &name, "ofport"]), ofport.to_string(), "{name} after {step:?}");
        }
        if step[0] == "del-port" {
            assert!(!hwol.ports().iter().any(|(n, _)| n == step[1]), "{step:?} left the port in hwol");
        }
    }
    let names: Vec<(String, u32)> = hwol.ports();
    assert_eq!(names.len(), 4, "vt1-vt4 attached: {names:?}");

    for iface in ["br-int", "vt1", "vt2", "vt3", "vt4", "nosuch"] {
        for col in ["ofport", "error", "admin_state", "status:driver_name"] {
            if col.starts_with("status") && iface == "nosuch" {
                continue;
            }
            let args = ["get", "Interface", iface, col];
            assert_eq!(vsctl(&db, &args), vsctl(&ovs.db, &args), "Interface {iface} {col}: hwol vs ovs-vswitchd");
        }
    }
    // The exact text, for the record (it came from OVS above).
    assert_eq!(
        vsctl(&db, &["get", "Interface", "nosuch", "error"]),
        "\"could not open network device nosuch (No such device)\""
    );
    let cfg = |d: &OvsDb| vsctl(d, &["get", "Open_vSwitch", ".", "cur_cfg"]);
    assert_eq!(cfg(&db), cfg(&ovs.db), "cur_cfg follows next_cfg as with ovs-vswitchd");
    assert_eq!(vsctl(&db, &["get", "Bridge", "br-int", "datapath_id"]).len(), 18, "16 hex digits, quoted");

    vsctl(&db, &["del-br", "br-int"]);
    wait_for("ports gone after del-br", || hwol.ports().is_empty(), &hwol);
}

#[test]
fn settings_second_bridge_and_reconnect() {
    let ns = Netns::new("r");
    for v in ["vr1", "vr2", "vr3"] {
        ns.veth(v);
    }
    let dir = RmDir(tmpdir("rc"));
    let mut db = OvsDb::start().expect("start ovsdb-server");
    let instance = format!("ovsdbt{}", std::process::id());
    let config = format!("[offload]\nprovider = \"xdp-generic\"\ninstance = \"{instance}\"\n");
    let mut hwol = Hwol::start(&ns, &db, &dir.0, &config);
    let show = |h: &Hwol| h.appctl(&["ovsdb/show"]).unwrap();
    assert!(show(&hwol).contains("hw-offload: false (at start: false)"), "{}", show(&hwol));
    assert!(show(&hwol).contains("fast path: memory (off)"), "{}", show(&hwol));

    vsctl(&db, &["add-br", "br-int", "--", "add-port", "br-int", "vr1"]);
    let vr1 = vsctl(&db, &["get", "Interface", "vr1", "ofport"]);
    assert_eq!(hwol.ports(), [("vr1".to_string(), vr1.parse().unwrap())]);

    // A second bridge: its interface gets an error, and the log says why.
    vsctl(&db, &["add-br", "br-ex", "--", "add-port", "br-ex", "vr2"]);
    let err = vsctl(&db, &["get", "Interface", "vr2", "error"]);
    assert!(err.contains("serves one bridge per daemon (br-int); bridge br-ex is not served"), "{err}");
    assert_eq!(vsctl(&db, &["get", "Interface", "vr2", "ofport"]), "-1");
    wait_for("the log line", || hwol.log().contains("bridge br-ex is not served"), &hwol);

    // max-idle applies live.
    vsctl(&db, &["set", "Open_vSwitch", ".", "other_config:max-idle=500"]);
    assert!(show(&hwol).contains("max-idle: 500 ms"), "{}", show(&hwol));

    // ovsdb-server goes away: hwol keeps running with its ports, reconnects
    // when the server is back, and later changes apply.
    db.kill();
    wait_for("the disconnect", || show(&hwol).contains("connected: no"), &hwol);
    assert_eq!(hwol.ports().len(), 1, "ports stay while the database is away");
    std::thread::sleep(Duration::from_millis(500));
    db.restart().unwrap();
    vsctl(&db, &["add-port", "br-int", "vr3"]);
    let vr3: u32 = vsctl(&db, &["get", "Interface", "vr3", "ofport"]).parse().unwrap();
    assert!(hwol.ports().contains(&("vr3".to_string(), vr3)), "{:?}", hwol.ports());
    assert!(show(&hwol).contains("connected: yes"));

    // hw-offload takes effect at the next start, as in OVS.
    vsctl(&db, &["set", "Open_vSwitch", ".", "other_config:hw-offload=true"]);
    let s = show(&hwol);
    assert!(s.contains("restart needed: other_config:hw-offload is true but the daemon started with false"), "{s}");
    assert!(s.contains("fast path: memory (off)"), "{s}");
    hwol.stop();
    let hwol = Hwol::start(&ns, &db, &dir.0, &config);
    wait_for("ports re-attached after the restart", || hwol.ports().len() == 2, &hwol);
    let s = show(&hwol);
    assert!(s.contains("hw-offload: true (at start: true)") && s.contains("restart needed: no"), "{s}");
    assert!(!s.contains("fast path: memory") && s.contains("(on)"), "{s}");
    // The numbers survive the restart (taken from the Interface rows).
    assert!(hwol.ports().contains(&("vr3".to_string(), vr3)), "{:?}", hwol.ports());
}

/// `ping` from `ns` to `ip`: true if a reply came back.
fn ping(ns: &Netns, ip: &str, count: &str) -> bool {
    ns.command("ping").args(["-c", count, "-i", "0.2", "-W", "1", ip]).output().is_ok_and(|o| o.status.success())
}

#[test]
fn forwarding_continues_while_the_database_is_away() {
    let (sw, a, b) = (Netns::new("f"), Netns::new("fa"), Netns::new("fb"));
    for (v, pod, ip) in [("fa", &a, "10.99.0.1/24"), ("fb", &b, "10.99.0.2/24")] {
        sw.veth(v);
        let peer = format!("{v}p");
        sw.ip(&["link", "set", &peer, "netns", &pod.0]);
        pod.ip(&["addr", "add", ip, "dev", &peer]);
        pod.ip(&["link", "set", &peer, "up"]);
    }
    let dir = RmDir(tmpdir("fwd"));
    let mut db = OvsDb::start().expect("start ovsdb-server");
    let hwol = Hwol::start(&sw, &db, &dir.0, "");
    vsctl(&db, &["add-br", "br-int", "--", "add-port", "br-int", "fa", "--", "add-port", "br-int", "fb"]);
    let flows = dir.0.join("flows.txt");
    std::fs::write(&flows, "priority=0,actions=NORMAL\n").unwrap();
    hwol.appctl(&["hwol/add-flows", flows.to_str().unwrap()]).unwrap();
    wait_for("a ping through hwol", || ping(&a, "10.99.0.2", "1"), &hwol);

    db.kill();
    wait_for("the disconnect", || hwol.appctl(&["ovsdb/show"]).unwrap().contains("connected: no"), &hwol);
    assert!(ping(&a, "10.99.0.2", "3"), "forwarding stopped with the database away");

    db.restart().unwrap();
    wait_for("the reconnect", || hwol.appctl(&["ovsdb/show"]).unwrap().contains("connected: yes"), &hwol);
    assert!(ping(&b, "10.99.0.1", "3"));
    assert_eq!(hwol.ports().len(), 2);
}
