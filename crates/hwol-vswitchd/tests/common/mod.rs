//! A daemon under test: its own rundir, config, veth pairs with unique names
//! and the daemon process; all removed on drop, even when a test fails.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use hwol_unixctl::{call, socket_of};

/// Veth pairs and a daemon this test made; removed even when it fails.
pub struct Rig {
    pub dir: PathBuf,
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
    /// A rundir and config for test `tag` (the config has a `[pipeline]`).
    pub fn new(tag: &str) -> Rig {
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

    /// A veth pair `name`/`name`p, `name` up.
    pub fn veth(&mut self, name: &str) {
        let peer = format!("{name}p");
        let ok =
            Command::new("ip").args(["link", "add", name, "type", "veth", "peer", "name", &peer]).status().unwrap();
        assert!(ok.success(), "ip link add {name}");
        self.links.push(name.to_string());
        Command::new("ip").args(["link", "set", name, "up"]).status().unwrap();
    }

    /// Start the daemon and wait for its control socket.
    pub fn start(&mut self) {
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

    /// SIGTERM the daemon and wait for it.
    pub fn stop(&mut self) {
        if let Some(mut c) = self.daemon.take() {
            let _ = nix_kill(c.id());
            let _ = c.wait();
        }
    }

    /// One unixctl call.
    pub fn appctl(&self, args: &[&str]) -> Result<String, String> {
        let sock = socket_of(Path::new(&self.dir), "hwol-vswitchd").map_err(|e| e.to_string())?;
        call(&sock, args[0], &args[1..]).map_err(|e| e.to_string())
    }
}

pub fn nix_kill(pid: u32) -> std::io::Result<std::process::ExitStatus> {
    Command::new("kill").arg("-TERM").arg(pid.to_string()).status()
}

impl Rig {
    /// The control socket's path.
    pub fn ctl(&self) -> PathBuf {
        socket_of(Path::new(&self.dir), "hwol-vswitchd").unwrap()
    }
}
