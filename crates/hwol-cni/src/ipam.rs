//! Running the IPAM plugin (host-local in the seed's NAD) as a delegate, per
//! the CNI spec's delegation protocol: the binary named by `ipam.type` is
//! found in `CNI_PATH`, run with the same `CNI_*` variables (the command
//! set explicitly) and this plugin's network config on stdin; on success
//! it prints a result (ADD) or nothing, on failure an error JSON and a
//! non-zero exit.
//!
//! Version: Debian 12's plugins (1.1.1) speak up to 1.0.0. For a 1.1.0
//! config the delegate is asked for its versions first and, if it lacks
//! 1.1.0, run at 1.0.0, whose result has the same shape.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;

use crate::error::{Error, Result};
use crate::spec::{CniResult, Version};

/// Who the delegate works for.
#[derive(Debug, Clone)]
pub struct Invocation<'a> {
    /// `CNI_PATH` entries.
    pub path: &'a [String],
    /// `CNI_CONTAINERID`.
    pub container_id: &'a str,
    /// `CNI_NETNS` (may be empty on DEL).
    pub netns: &'a str,
    /// `CNI_IFNAME`.
    pub ifname: &'a str,
}

/// Find plugin `name` in `CNI_PATH`.
pub fn find(path: &[String], name: &str) -> Result<PathBuf> {
    path.iter().map(|d| Path::new(d).join(name)).find(|p| p.is_file()).ok_or_else(|| {
        Error::Ipam(format!(
            "IPAM plugin {name:?} (ipam.type) not found in CNI_PATH {:?}; install it (Debian: containernetworking-plugins \
             puts host-local in /usr/lib/cni) or fix CNI_PATH",
            path.join(":")
        ))
    })
}

fn run(plugin: &Path, cmd: &str, inv: &Invocation<'_>, stdin: &Value) -> Result<Vec<u8>> {
    let name = plugin.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let mut child = Command::new(plugin)
        .env("CNI_COMMAND", cmd)
        .env("CNI_CONTAINERID", inv.container_id)
        .env("CNI_NETNS", inv.netns)
        .env("CNI_IFNAME", inv.ifname)
        .env("CNI_PATH", inv.path.join(":"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| Error::Ipam(format!("cannot run IPAM plugin {}: {e}", plugin.display())))?;
    if let Some(mut i) = child.stdin.take() {
        // A plugin that exits without reading stdin closes the pipe; its exit status tells.
        let _ = i.write_all(stdin.to_string().as_bytes());
    }
    let out = child.wait_with_output().map_err(|e| Error::Ipam(format!("IPAM plugin {name} {cmd}: {e}")))?;
    if out.status.success() {
        return Ok(out.stdout);
    }
    let detail = match serde_json::from_slice::<Value>(&out.stdout) {
        Ok(v) => format!(
            "code {}: {} {}",
            v.get("code").and_then(Value::as_u64).unwrap_or(0),
            v.get("msg").and_then(Value::as_str).unwrap_or(""),
            v.get("details").and_then(Value::as_str).unwrap_or("")
        ),
        Err(_) => {
            format!("{} {}", String::from_utf8_lossy(&out.stdout).trim(), String::from_utf8_lossy(&out.stderr).trim())
        }
    };
    Err(Error::Ipam(format!("IPAM plugin {name} {cmd} failed ({}): {}", out.status, detail.trim())))
}

/// The version to run the delegate at for a config of version `v`.
fn negotiate(plugin: &Path, v: Version, inv: &Invocation<'_>) -> Result<Version> {
    if v < Version::V1_1_0 {
        return Ok(v);
    }
    let out = run(plugin, "VERSION", inv, &serde_json::json!({"cniVersion": v.as_str()}))?;
    let info: Value = serde_json::from_slice(&out).unwrap_or(Value::Null);
    let supports = |s: &str| {
        info.get("supportedVersions").and_then(Value::as_array).is_some_and(|a| a.iter().any(|x| x.as_str() == Some(s)))
    };
    Ok(if supports(v.as_str()) { v } else { Version::V1_0_0 })
}

fn conf_at(conf: &Value, v: Version) -> Value {
    let mut c = conf.clone();
    if let Some(o) = c.as_object_mut() {
        o.insert("cniVersion".into(), Value::String(v.as_str().into()));
        o.remove("prevResult");
    }
    c
}

/// IPAM ADD: the addresses, routes and DNS the delegate allocated.
pub fn add(ipam_type: &str, conf: &Value, v: Version, inv: &Invocation<'_>) -> Result<CniResult> {
    let plugin = find(inv.path, ipam_type)?;
    let at = negotiate(&plugin, v, inv)?;
    let out = run(&plugin, "ADD", inv, &conf_at(conf, at))?;
    let j: Value = serde_json::from_slice(&out)
        .map_err(|e| Error::Ipam(format!("IPAM plugin {ipam_type} ADD printed no JSON result ({e})")))?;
    CniResult::from_json(&j, &format!("the result of IPAM plugin {ipam_type}"))
}

/// IPAM DEL: release what ADD allocated (idempotent in the delegate).
pub fn del(ipam_type: &str, conf: &Value, v: Version, inv: &Invocation<'_>) -> Result<()> {
    let plugin = find(inv.path, ipam_type)?;
    let at = negotiate(&plugin, v, inv)?;
    run(&plugin, "DEL", inv, &conf_at(conf, at)).map(|_| ())
}

/// IPAM CHECK (0.4.0 on).
pub fn check(ipam_type: &str, conf: &Value, v: Version, inv: &Invocation<'_>) -> Result<()> {
    let plugin = find(inv.path, ipam_type)?;
    let at = negotiate(&plugin, v, inv)?;
    let mut c = conf_at(conf, at);
    if let (Some(o), Some(p)) = (c.as_object_mut(), conf.get("prevResult")) {
        o.insert("prevResult".into(), p.clone());
    }
    run(&plugin, "CHECK", inv, &c).map(|_| ())
}
