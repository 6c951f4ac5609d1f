//! A container runtime and Multus, as far as CNI goes, plus a node to run
//! them on: an emulated SR-IOV NIC, a fixture PCI sysfs tree mapping PCI
//! addresses to its VFs, a running hwol-vswitchd, and network namespaces
//! for pods. Everything has a unique name (pid + test tag) and is removed
//! on drop, also when a test fails.
//!
//! [`Runtime`] invokes plugins as libcni does: each plugin of the conflist
//! gets its entry plus the list's `name` and `cniVersion`, a `runtimeConfig`
//! with the capability arguments it declares, and the previous plugin's
//! result as `prevResult`; `CNI_*` variables; DEL in reverse order with
//! the cached result as `prevResult` (0.4.0 on). As Multus does, the VF's
//! PCI address is put at the top level of every plugin (`deviceID`) and
//! offered as the `deviceID` capability (`runtimeConfig.deviceID`), and
//! `CNI_ARGS` carries `IgnoreUnknown=true;K8S_POD_NAMESPACE=..;K8S_POD_NAME=..`.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use hwol_cni::device::fixture::{self, FixtureVf};
use hwol_netdev::emunic::{EmulatedNic, NicOptions};
use serde_json::{json, Map, Value};

/// Where Debian's containernetworking-plugins live.
pub const DEBIAN_CNI_DIR: &str = "/usr/lib/cni";

pub fn assert_root() {
    let uid = std::fs::read_to_string("/proc/self/status").ok().and_then(|s| {
        s.lines().find(|l| l.starts_with("Uid:")).and_then(|l| l.split_whitespace().nth(1).map(String::from))
    });
    assert_eq!(uid.as_deref(), Some("0"), "this system test needs root (netns, links, XDP); CI runs as root");
    assert!(
        Path::new(DEBIAN_CNI_DIR).join("host-local").exists(),
        "Debian's containernetworking-plugins are missing: run scripts/setup.sh"
    );
}

/// `cmd args...`, panicking with its output if it fails.
pub fn sh(cmd: &str, args: &[&str]) -> String {
    let out = Command::new(cmd).args(args).output().unwrap_or_else(|e| panic!("{cmd}: {e}"));
    assert!(
        out.status.success(),
        "{cmd} {args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// One pod's attachment, as the runtime knows it.
#[derive(Debug, Clone)]
pub struct Pod {
    pub container_id: String,
    pub netns_name: String,
    pub ifname: String,
    pub pod_name: String,
    pub pod_namespace: String,
    /// The VF the device plugin allocated (`None`: veth mode).
    pub device_id: Option<String>,
    /// Capability arguments (`portMappings`, `bandwidth`).
    pub capability_args: Map<String, Value>,
}

impl Pod {
    pub fn netns_path(&self) -> String {
        format!("/run/netns/{}", self.netns_name)
    }
    pub fn cni_args(&self) -> String {
        format!(
            "IgnoreUnknown=true;K8S_POD_NAMESPACE={};K8S_POD_NAME={};K8S_POD_INFRA_CONTAINER_ID={}",
            self.pod_namespace, self.pod_name, self.container_id
        )
    }
}

/// The CNI side of a runtime with Multus in front. Pods added and not yet
/// deleted are deleted (whole chain) on drop, so a failing test leaves no
/// leases, portmap rules or ifb devices; drop it before the [`Node`].
pub struct Runtime {
    /// CNI_PATH: our bin dir (a link to the plugin under test), then Debian's.
    pub cni_path: String,
    bin_dir: PathBuf,
    live: std::sync::Mutex<Vec<(Value, Pod)>>,
}

impl Drop for Runtime {
    fn drop(&mut self) {
        let live = std::mem::take(&mut *self.live.lock().unwrap_or_else(|e| e.into_inner()));
        for (list, pod) in live {
            let _ = self.del(&list, &pod, None);
        }
    }
}

/// A plugin's error JSON (or what it printed instead), with the plugin's type.
#[derive(Debug, Clone)]
pub struct PluginError {
    pub plugin: String,
    pub json: Value,
}

impl PluginError {
    pub fn code(&self) -> u64 {
        self.json.get("code").and_then(Value::as_u64).unwrap_or(0)
    }
}

impl Runtime {
    pub fn new(dir: &Path) -> Runtime {
        let bin_dir = dir.join("bin");
        std::fs::create_dir_all(&bin_dir).unwrap();
        let _ = std::fs::remove_file(bin_dir.join("hwol-cni"));
        std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_hwol-cni"), bin_dir.join("hwol-cni")).unwrap();
        Runtime { cni_path: format!("{}:{DEBIAN_CNI_DIR}", bin_dir.display()), bin_dir, live: Default::default() }
    }

    fn find(&self, t: &str) -> PathBuf {
        self.cni_path
            .split(':')
            .map(|d| Path::new(d).join(t))
            .find(|p| p.exists())
            .unwrap_or_else(|| panic!("plugin {t} not in CNI_PATH"))
    }

    /// Run one plugin: Ok(stdout JSON or Null) or its error.
    pub fn exec(&self, cmd: &str, pod: &Pod, conf: &Value) -> Result<Value, PluginError> {
        let t = conf["type"].as_str().unwrap().to_string();
        let mut child = Command::new(self.find(&t))
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("CNI_COMMAND", cmd)
            .env("CNI_CONTAINERID", &pod.container_id)
            .env("CNI_NETNS", pod.netns_path())
            .env("CNI_IFNAME", &pod.ifname)
            .env("CNI_ARGS", pod.cni_args())
            .env("CNI_PATH", &self.cni_path)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write;
        child.stdin.take().unwrap().write_all(conf.to_string().as_bytes()).unwrap();
        let out = child.wait_with_output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        let j: Value = if text.trim().is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text)
                .unwrap_or_else(|_| json!({"unparsed": text, "stderr": String::from_utf8_lossy(&out.stderr)}))
        };
        if out.status.success() {
            Ok(j)
        } else if j.is_null() {
            Err(PluginError {
                plugin: t,
                json: json!({"status": out.status.to_string(), "stderr": String::from_utf8_lossy(&out.stderr)}),
            })
        } else {
            Err(PluginError { plugin: t, json: j })
        }
    }

    /// libcni's per-plugin config: entry + name + cniVersion + runtimeConfig + prevResult,
    /// with Multus' deviceID injection.
    pub fn plugin_conf(&self, list: &Value, i: usize, pod: &Pod, prev: Option<&Value>) -> Value {
        let mut c = list["plugins"][i].as_object().unwrap().clone();
        c.insert("name".into(), list["name"].clone());
        c.insert("cniVersion".into(), list["cniVersion"].clone());
        let mut args = pod.capability_args.clone();
        if let Some(d) = &pod.device_id {
            c.insert("deviceID".into(), json!(d));
            args.insert("deviceID".into(), json!(d));
        }
        let mut rc = Map::new();
        if let Some(caps) = c.get("capabilities").and_then(Value::as_object) {
            for (k, on) in caps {
                if on.as_bool() == Some(true) {
                    if let Some(v) = args.get(k) {
                        rc.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        if !rc.is_empty() {
            c.insert("runtimeConfig".into(), Value::Object(rc));
        }
        if let Some(p) = prev {
            c.insert("prevResult".into(), p.clone());
        }
        Value::Object(c)
    }

    fn version_ge_040(list: &Value) -> bool {
        list["cniVersion"].as_str() != Some("0.3.1")
    }

    /// ADD of the whole chain; on failure, DEL of the whole chain (as a
    /// runtime tears the sandbox network down) and the error.
    pub fn add(&self, list: &Value, pod: &Pod) -> Result<Value, PluginError> {
        self.live.lock().unwrap().push((list.clone(), pod.clone()));
        let n = list["plugins"].as_array().unwrap().len();
        let mut prev: Option<Value> = None;
        for i in 0..n {
            let conf = self.plugin_conf(list, i, pod, prev.as_ref());
            match self.exec("ADD", pod, &conf) {
                Ok(r) => prev = Some(r),
                Err(e) => {
                    let _ = self.del(list, pod, None);
                    return Err(e);
                }
            }
        }
        Ok(prev.unwrap())
    }

    /// DEL of the whole chain, last plugin first; every plugin runs even
    /// if one fails (the first error is returned).
    pub fn del(&self, list: &Value, pod: &Pod, cached: Option<&Value>) -> Result<(), PluginError> {
        let n = list["plugins"].as_array().unwrap().len();
        let done = |r: &Result<(), PluginError>| {
            if r.is_ok() {
                self.live.lock().unwrap_or_else(|e| e.into_inner()).retain(|(_, p)| p.container_id != pod.container_id);
            }
        };
        let prev = if Self::version_ge_040(list) { cached } else { None };
        let mut first = None;
        for i in (0..n).rev() {
            let conf = self.plugin_conf(list, i, pod, prev);
            if let Err(e) = self.exec("DEL", pod, &conf) {
                first.get_or_insert(e);
            }
        }
        let r = first.map_or(Ok(()), Err);
        done(&r);
        r
    }

    /// CHECK of the whole chain with the cached result.
    pub fn check(&self, list: &Value, pod: &Pod, cached: &Value) -> Result<(), PluginError> {
        let n = list["plugins"].as_array().unwrap().len();
        for i in 0..n {
            let conf = self.plugin_conf(list, i, pod, Some(cached));
            // Debian's bandwidth 1.1.1 dereferences a nil pointer in CHECK
            // when it has no bandwidth arguments (main.go:301): skip it then.
            if conf["type"] == "bandwidth" && conf.pointer("/runtimeConfig/bandwidth").is_none() {
                continue;
            }
            // Debian's portmap 1.1.1 CHECK also looks for its IPv6 DNAT chain,
            // which it never creates for an IPv4-only pod ("could not check ipv6 dnat").
            if conf["type"] == "portmap" && conf.pointer("/runtimeConfig/portMappings").is_some() {
                continue;
            }
            self.exec("CHECK", pod, &conf)?;
        }
        Ok(())
    }
}

/// The seed's NAD (its `spec.config`), adapted: our plugin's type, the
/// `deviceID` capability, host-local with a data dir of the test's, and our
/// plugin's test-only keys merged in.
pub fn seed_conflist(version: &str, node: &Node, extra: Value) -> Value {
    let mut ours = json!({
        "type": "hwol-cni",
        "capabilities": {"deviceID": true, "mac": true},
        "ipam": {
            "type": "host-local",
            "subnet": "192.168.1.0/24",
            "rangeStart": "192.168.1.16",
            "rangeEnd": "192.168.1.250",
            "gateway": "192.168.1.1",
            "routes": [{"dst": "0.0.0.0/0"}],
            "dataDir": node.ipam_dir.display().to_string(),
        },
        "rundir": node.dir.display().to_string(),
        "sysfsRoot": node.sysfs.display().to_string(),
        "stateDir": node.state_dir.display().to_string(),
    });
    if let Value::Object(x) = extra {
        for (k, v) in x {
            ours[k] = v;
        }
    }
    json!({
        "cniVersion": version,
        "name": "antrea",
        "plugins": [
            ours,
            {"type": "portmap", "capabilities": {"portMappings": true}},
            {"type": "bandwidth", "capabilities": {"bandwidth": true}},
        ]
    })
}

/// A node: emulated NIC + fixture sysfs + daemon + pod namespaces.
pub struct Node {
    pub tag: String,
    pub dir: PathBuf,
    pub sysfs: PathBuf,
    pub state_dir: PathBuf,
    pub ipam_dir: PathBuf,
    pub prefix: String,
    pub nic: Option<EmulatedNic>,
    /// PCI address of VF i.
    pub vfs: Vec<String>,
    daemon: Option<Child>,
    netns: Vec<String>,
    /// Host names the plugin may have given (removed on drop if still there).
    pub host_names: Vec<String>,
}

impl Drop for Node {
    fn drop(&mut self) {
        self.stop_daemon();
        for n in &self.host_names {
            let _ = Command::new("ip").args(["link", "del", n]).stderr(Stdio::null()).status();
        }
        drop(self.nic.take());
        for n in &self.netns {
            let _ = Command::new("ip").args(["netns", "del", n]).stderr(Stdio::null()).status();
        }
        let _ = Command::new("rm").args(["-rf", &format!("/sys/fs/bpf/hwol/{}", self.prefix)]).status();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The hwol-vswitchd binary next to this test's (built if missing).
fn vswitchd() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().unwrap().parent().unwrap().to_path_buf();
    let bin = dir.join("hwol-vswitchd");
    if !bin.exists() {
        let st = Command::new(env!("CARGO")).args(["build", "-q", "-p", "hwol-vswitchd"]).status().unwrap();
        assert!(st.success(), "building hwol-vswitchd");
    }
    bin
}

impl Node {
    /// A node with an emulated NIC of `n_vfs` VFs at PCI 0000:03:00.2.. under
    /// PF 0000:03:00.0, and a daemon with offload `provider`.
    pub fn new(tag: &str, n_vfs: u32, provider: &str) -> Node {
        assert_root();
        let id = std::process::id() % 100000;
        let prefix = format!("{tag}{id}");
        let dir = std::env::temp_dir().join(format!("hwol-cni-{prefix}"));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let nic = EmulatedNic::create(&prefix, n_vfs, &NicOptions::default()).expect("emulated NIC");
        let vfs: Vec<String> = (0..n_vfs).map(|i| format!("0000:03:00.{}", i + 2)).collect();
        let sysfs = dir.join("sysfs");
        let fvfs: Vec<FixtureVf> = nic
            .vfs()
            .iter()
            .zip(&vfs)
            .map(|(v, pci)| FixtureVf {
                pci: pci.clone(),
                netdev: Some(v.vf_ifname.clone()),
                representor: Some(v.representor.ifname.clone()),
            })
            .collect();
        fixture::write(&sysfs, "0000:03:00.0", &format!("{prefix}pf"), Some("a0369f8f3fb8"), &fvfs).unwrap();
        let mut node = Node {
            tag: tag.into(),
            state_dir: dir.join("state"),
            ipam_dir: dir.join("ipam"),
            sysfs,
            dir,
            prefix,
            nic: Some(nic),
            vfs,
            daemon: None,
            netns: Vec::new(),
            host_names: Vec::new(),
        };
        std::fs::write(
            node.dir.join("hwol.toml"),
            format!(
                "[offload]\nprovider = \"{provider}\"\ninstance = \"{}\"\nupcall = \"{}u\"\n\
                 [pipeline]\nsubnet = \"192.168.1.0/24\"\ngateway_ip = \"192.168.1.1\"\ngateway_mac = \"0a:58:c0:a8:01:01\"\n",
                node.prefix, node.prefix
            ),
        )
        .unwrap();
        node.start_daemon();
        node
    }

    pub fn start_daemon(&mut self) {
        let log = std::fs::File::create(self.dir.join("daemon.log")).unwrap();
        let child = Command::new(vswitchd())
            .arg("--config")
            .arg(self.dir.join("hwol.toml"))
            .arg("--rundir")
            .arg(&self.dir)
            .args(["--log", "warn"])
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        self.daemon = Some(child);
        let t = Instant::now();
        while self.appctl(&["version"]).is_err() {
            assert!(t.elapsed() < Duration::from_secs(20), "hwol-vswitchd did not start: {}", self.daemon_log());
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn stop_daemon(&mut self) {
        if let Some(mut c) = self.daemon.take() {
            let _ = Command::new("kill").arg("-TERM").arg(c.id().to_string()).status();
            let _ = c.wait();
        }
    }

    pub fn daemon_log(&self) -> String {
        std::fs::read_to_string(self.dir.join("daemon.log")).unwrap_or_default()
    }

    pub fn appctl(&self, args: &[&str]) -> Result<String, String> {
        let sock = hwol_unixctl::socket_of(&self.dir, "hwol-vswitchd").map_err(|e| e.to_string())?;
        hwol_unixctl::call(&sock, args[0], &args[1..]).map_err(|e| e.to_string())
    }

    /// A new pod netns (`ip netns add`), removed on drop.
    pub fn netns(&mut self, name: &str) -> String {
        let n = format!("{}-{name}", self.prefix);
        sh("ip", &["netns", "add", &n]);
        self.netns.push(n.clone());
        n
    }

    pub fn pod(&mut self, name: &str, container_id: &str, device: Option<usize>) -> Pod {
        let netns_name = self.netns(name);
        let pod = Pod {
            container_id: container_id.into(),
            netns_name,
            ifname: "eth0".into(),
            pod_name: name.into(),
            pod_namespace: "default".into(),
            device_id: device.map(|i| self.vfs[i].clone()),
            capability_args: Map::new(),
        };
        self.host_names.push(hwol_cni::names::host_ifname(Some(name), container_id));
        pod
    }

    /// Host interface names now.
    pub fn host_links() -> Vec<String> {
        sh("ip", &["-o", "link", "show"])
            .lines()
            .filter_map(|l| l.split(": ").nth(1).map(|n| n.split('@').next().unwrap().to_string()))
            .collect()
    }

    /// Addresses host-local holds (files named by IP in its data dir).
    pub fn ipam_leases(&self) -> Vec<String> {
        let d = self.ipam_dir.join("antrea");
        let mut v: Vec<String> = std::fs::read_dir(&d)
            .map(|rd| rd.filter_map(|e| e.ok()).map(|e| e.file_name().to_string_lossy().into_owned()).collect())
            .unwrap_or_default();
        v.retain(|n| n.parse::<std::net::IpAddr>().is_ok());
        v.sort();
        v
    }

    /// Files in the plugin's state dir other than lock files.
    pub fn state_leftovers(&self) -> Vec<String> {
        match hwol_cni::state::StateDir::open(&self.state_dir) {
            Ok(s) => s.leftovers().unwrap(),
            Err(_) => Vec::new(),
        }
    }

    /// The number of OpenFlow rules on the bridge.
    pub fn n_flows(&self) -> usize {
        self.appctl(&["bridge/dump-flows", "br-int"]).unwrap().lines().count()
    }

    /// Everything that must hold when no pod is attached: no leases, no
    /// records, no ports, base flows only, every VF and representor on the
    /// host under its original name, no host name of the plugin's left.
    pub fn assert_clean(&self, base_flows: usize, what: &str) {
        assert_eq!(self.ipam_leases(), Vec::<String>::new(), "{what}: host-local still holds addresses");
        assert_eq!(self.state_leftovers(), Vec::<String>::new(), "{what}: plugin records left");
        assert_eq!(self.appctl(&["hwol/ports"]).unwrap(), "", "{what}: ports left on the switch");
        assert_eq!(self.n_flows(), base_flows, "{what}: pod flows left");
        let links = Node::host_links();
        for v in self.nic.as_ref().unwrap().vfs() {
            assert!(links.contains(&v.vf_ifname), "{what}: VF {} not back on the host", v.vf_ifname);
            let mac = sh("cat", &[&format!("/sys/class/net/{}/address", v.vf_ifname)]);
            assert_eq!(
                mac.trim(),
                hwol_netdev::emunic::format_mac(&v.vf_mac),
                "{what}: VF {} MAC not restored",
                v.vf_ifname
            );
            for n in [&v.vf_ifname, &v.representor.ifname] {
                let mtu = sh("cat", &[&format!("/sys/class/net/{n}/mtu")]);
                assert_eq!(mtu.trim(), "1500", "{what}: {n}'s MTU not restored");
            }
            assert!(
                links.contains(&v.representor.ifname),
                "{what}: representor {} not under its name",
                v.representor.ifname
            );
        }
        for n in &self.host_names {
            assert!(!links.contains(n), "{what}: host interface {n} left");
        }
        for v in self.nic.as_ref().unwrap().vfs() {
            let q = sh("tc", &["qdisc", "show", "dev", &v.representor.ifname]);
            assert!(
                !q.contains("tbf") && !q.contains("ingress"),
                "{what}: qdiscs left on {}: {q}",
                v.representor.ifname
            );
        }
        // The bandwidth plugin's ifb devices are named bwp<hash of the container id>.
        let ifbs: Vec<&String> = links.iter().filter(|l| l.starts_with("bwp")).collect();
        assert!(ifbs.is_empty(), "{what}: ifb devices left: {ifbs:?}");
    }
}

/// portmap's node-wide nat chains (`CNI-HOSTPORT-*` and the jumps to them):
/// if they were not there when the guard was made, they are removed on drop
/// (once no pod's rules are left in them).
pub struct PortmapChains {
    existed: bool,
}

const PORTMAP_JUMPS: [&[&str]; 3] = [
    &["PREROUTING", "-m", "addrtype", "--dst-type", "LOCAL", "-j", "CNI-HOSTPORT-DNAT"],
    &["OUTPUT", "-m", "addrtype", "--dst-type", "LOCAL", "-j", "CNI-HOSTPORT-DNAT"],
    &["POSTROUTING", "-m", "comment", "--comment", "CNI portfwd requiring masquerade", "-j", "CNI-HOSTPORT-MASQ"],
];

impl PortmapChains {
    pub fn new() -> PortmapChains {
        PortmapChains { existed: sh("iptables-save", &["-t", "nat"]).contains(":CNI-HOSTPORT-DNAT") }
    }
}

impl Drop for PortmapChains {
    fn drop(&mut self) {
        if self.existed || sh("iptables-save", &["-t", "nat"]).contains("CNI-DN-") {
            return;
        }
        let ipt = |args: &[&str]| {
            let _ = Command::new("iptables").arg("-t").arg("nat").args(args).stderr(Stdio::null()).status();
        };
        for j in PORTMAP_JUMPS {
            let mut a = vec!["-D"];
            a.extend_from_slice(j);
            ipt(&a);
        }
        for c in ["CNI-HOSTPORT-DNAT", "CNI-HOSTPORT-MASQ", "CNI-HOSTPORT-SETMARK"] {
            ipt(&["-F", c]);
            ipt(&["-X", c]);
        }
    }
}
