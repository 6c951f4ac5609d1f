//! Ports and pods through the daemon's control socket, as the CNI plugin
//! drives them: attach, show, detach, and re-attach after a restart. Runs the
//! real daemon (provider none) on veth pairs with unique names.
//!
//! Needs root (CI runs as root); it fails, rather than skips, without it.

use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use hwol_unixctl::{call, socket_of};

/// Veth pairs and a daemon this test made; removed even when it fails.
struct Rig {
    dir: PathBuf,
    links: Vec<String>,
    daemon: Option<Child>,
}

impl Drop for Rig {
    fn drop(&mut self) {
        self.stop();
        for l in &self.links {
            let _ = Command::new("ip").args(["link", "del", l]).status();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl Rig {
    fn new(tag: &str) -> Rig {
        let dir = std::env::temp_dir().join(format!("hwol-pods-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("hwol.toml"),
            "[pipeline]\nsubnet = \"10.77.0.0/24\"\ngateway_ip = \"10.77.0.1\"\ngateway_mac = \"02:77:00:00:00:01\"\n",
        )
        .unwrap();
        Rig { dir, links: Vec::new(), daemon: None }
    }

    fn veth(&mut self, name: &str) {
        let peer = format!("{name}p");
        let ok =
            Command::new("ip").args(["link", "add", name, "type", "veth", "peer", "name", &peer]).status().unwrap();
        assert!(ok.success(), "ip link add {name}");
        self.links.push(name.to_string());
        Command::new("ip").args(["link", "set", name, "up"]).status().unwrap();
    }

    fn start(&mut self) {
        let child = Command::new(env!("CARGO_BIN_EXE_hwol-vswitchd"))
            .arg("--config")
            .arg(self.dir.join("hwol.toml"))
            .arg("--rundir")
            .arg(&self.dir)
            .arg("--log")
            .arg("warn")
            .spawn()
            .unwrap();
        self.daemon = Some(child);
        let t = Instant::now();
        while self.appctl(&["version"]).is_err() {
            assert!(t.elapsed() < Duration::from_secs(10), "daemon did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn stop(&mut self) {
        if let Some(mut c) = self.daemon.take() {
            let _ = nix_kill(c.id());
            let _ = c.wait();
        }
    }

    fn appctl(&self, args: &[&str]) -> Result<String, String> {
        let sock = socket_of(Path::new(&self.dir), "hwol-vswitchd").map_err(|e| e.to_string())?;
        call(&sock, args[0], &args[1..]).map_err(|e| e.to_string())
    }
}

fn nix_kill(pid: u32) -> std::io::Result<std::process::ExitStatus> {
    Command::new("kill").arg("-TERM").arg(pid.to_string()).status()
}

/// The bridge's OpenFlow rules, as `ovs-appctl bridge/dump-flows` lists them.
fn n_flows(rig: &Rig) -> usize {
    rig.appctl(&["bridge/dump-flows", "br-int"]).unwrap().lines().count()
}

#[test]
fn pods_attach_show_detach_and_survive_a_restart() {
    let tag = format!("{}", std::process::id() % 100000);
    let (a, b) = (format!("hpa{tag}"), format!("hpb{tag}"));
    let mut rig = Rig::new(&tag);
    rig.veth(&a);
    rig.veth(&b);
    rig.start();
    let base = n_flows(&rig);
    assert!(base > 0, "the base pipeline is installed at start");

    let out = rig.appctl(&["hwol/pod-add", &a, "default", "pod-a", "c0ffee01", "02:77:00:00:00:10", "10.77.0.10"]);
    assert_eq!(out.unwrap(), "ofport=1\n");
    let with_a = n_flows(&rig);
    assert!(with_a > base, "pod flows added ({base} -> {with_a})");
    // Idempotent.
    let again = rig.appctl(&["hwol/pod-add", &a, "default", "pod-a", "c0ffee01", "02:77:00:00:00:10", "10.77.0.10"]);
    assert_eq!(again.unwrap(), "ofport=1\n");
    assert_eq!(n_flows(&rig), with_a);
    let out = rig.appctl(&["hwol/pod-add", &b, "default", "pod-b", "c0ffee02", "02:77:00:00:00:11", "10.77.0.11"]);
    assert_eq!(out.unwrap(), "ofport=2\n");
    let with_ab = n_flows(&rig);

    let show: serde_json::Value = serde_json::from_str(&rig.appctl(&["hwol/pod-show", &a]).unwrap()).unwrap();
    assert_eq!(show["ofport"], 1);
    assert_eq!(show["external_ids"]["k8s-pod-name"], "pod-a");
    assert_eq!(show["external_ids"]["ip-address"], "10.77.0.10");

    // Bad input changes nothing and says what is wrong.
    let e = rig.appctl(&["hwol/pod-add", "nosuchdev0", "default", "x", "c", "02:77:00:00:00:12", "10.77.0.12"]);
    assert!(e.as_ref().unwrap_err().contains("nosuchdev0"), "{e:?}");
    let e = rig.appctl(&["hwol/pod-add", &format!("{b}p"), "default", "x", "c", "02:77:00:00:00:13", "10.99.0.12"]);
    assert!(e.as_ref().unwrap_err().contains("10.99.0.12"), "{e:?}");
    assert!(!rig.appctl(&["hwol/ports"]).unwrap().contains(&format!("{b}p ")), "a failed pod-add leaves no port");
    assert_eq!(n_flows(&rig), with_ab);

    // A restart (clean stop, then start) re-attaches both pods with the same flows.
    rig.stop();
    rig.start();
    assert_eq!(n_flows(&rig), with_ab);
    let ports = rig.appctl(&["hwol/ports"]).unwrap();
    assert!(ports.contains(&format!("{a} ofport=1")) && ports.contains(&format!("{b} ofport=2")), "{ports}");

    assert_eq!(rig.appctl(&["hwol/pod-del", &a]).unwrap(), "deleted\n");
    assert_eq!(rig.appctl(&["hwol/pod-del", &a]).unwrap(), "not attached\n");
    assert!(rig.appctl(&["hwol/pod-show", &a]).is_err());
    assert_eq!(rig.appctl(&["hwol/pod-del", &b]).unwrap(), "deleted\n");
    assert_eq!(n_flows(&rig), base, "no pod flows left");
    assert_eq!(rig.appctl(&["hwol/ports"]).unwrap(), "");
}
