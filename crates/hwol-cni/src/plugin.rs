//! The CNI commands: ADD, DEL, CHECK, VERSION, STATUS, GC.
//!
//! # ADD
//!
//! Each step is written to the attachment's [`Record`] *before* it runs,
//! then run; if a later step fails, [`undo`] (the same code DEL runs) takes
//! back everything the record says was started, in reverse order:
//!
//! 1. `record`: lock the attachment (and the VF), find the VF's netdev and
//!    representor in sysfs, claim the VF, save the record;
//! 2. `ipam`: run the IPAM delegate (ADD);
//! 3. `move`: VF mode moves the VF netdev into the pod's netns; veth mode
//!    creates a veth pair (host end already under its final name) and moves
//!    the peer there;
//! 4. `configure`: inside the pod, rename to `CNI_IFNAME`, set MAC/MTU, up,
//!    addresses and routes from IPAM (a route without a gateway uses the
//!    gateway of its family's address, as the reference plugins do);
//! 5. `rename`: the representor gets the Antrea-style name ([`host_ifname`]);
//! 6. `attach`: `hwol/pod-add` on the daemon (port + external_ids + flows).
//!
//! # DEL
//!
//! Without a record there is nothing of ours to undo but the IPAM lease,
//! which is released anyway (idempotent), so DEL always succeeds then.
//! With one, [`undo`] runs: detach (a daemon that is down is code 11, and
//! the record is kept with only that step, so the retry finishes it), the
//! representor's original name back, the VF back to the host under its
//! original name and MAC (if the netns is gone, a real VF is already back:
//! it is found through sysfs and renamed), IPAM DEL, claim and record
//! removed.

use std::fs::File;
use std::net::IpAddr;
use std::os::fd::AsFd;
use std::path::PathBuf;

use hwol_netdev::emunic::{format_mac, parse_mac};
use hwol_netdev::link::{LinkInfo, Links};
use hwol_netdev::netns::Netns;
use serde_json::{json, Value};
use sha1::{Digest, Sha1};

use crate::config::{NetConf, Step};
use crate::daemon::{Daemon, PodPort};
use crate::device;
use crate::error::{Error, Result};
use crate::ipam::{self, Invocation};
use crate::names::host_ifname;
use crate::spec::{self, CniResult, Command, Env, Interface, Version};
use crate::state::{Record, StateDir};

/// Run one invocation; the JSON to print on success (`None`: print nothing).
pub fn run(env: &Env, stdin: &[u8]) -> Result<Option<Value>> {
    if env.command == Command::Version {
        let v = serde_json::from_slice::<Value>(stdin)
            .ok()
            .and_then(|j| j.get("cniVersion").and_then(Value::as_str).map(str::to_string));
        let v = match v {
            Some(s) => Some(Version::parse(&s)?),
            None => None,
        };
        return Ok(Some(spec::version_info(v)));
    }
    let conf = NetConf::parse(stdin)?;
    if conf.version < env.command.since() {
        return Err(Error::IncompatibleVersion(format!(
            "{:?} needs cniVersion {} or newer, the config has {}; raise \"cniVersion\"",
            env.command,
            env.command.since(),
            conf.version
        )));
    }
    match env.command {
        Command::Add => add(env, &conf).map(Some),
        Command::Del => del(env, &conf).map(|_| None),
        Command::Check => check(env, &conf).map(|_| None),
        Command::Status => Daemon::new(&conf.rundir)
            .ping()
            .map_err(|e| Error::NotAvailable(format!("cannot attach pods now: {e}")))
            .map(|_| None),
        Command::Gc => gc(env, &conf).map(|_| None),
        Command::Version => unreachable!("handled above"),
    }
}

fn inv<'a>(env: &'a Env, container_id: &'a str, ifname: &'a str, netns: &'a str) -> Invocation<'a> {
    Invocation { path: &env.path, container_id, netns, ifname }
}

fn owner(container_id: &str, ifname: &str) -> String {
    format!("{container_id}/{ifname}")
}

/// The temporary host name of a veth pair's pod end before it moves.
fn veth_peer_name(container_id: &str, ifname: &str) -> String {
    let h = Sha1::digest(format!("{container_id}/{ifname}").as_bytes());
    format!("hwc{}", h.iter().take(5).map(|b| format!("{b:02x}")).collect::<String>())
}

fn host_netns() -> Result<File> {
    File::open("/proc/self/ns/net").map_err(|e| Error::Io(format!("cannot open the host netns /proc/self/ns/net: {e}")))
}

fn step(st: &StateDir, rec: &mut Record, s: Step) -> Result<()> {
    rec.steps.push(s.as_str().to_string());
    st.save(rec)
}

fn in_netns<T: Send>(ns: &Netns, f: impl FnOnce() -> Result<T> + Send) -> Result<T> {
    ns.run_in(move || Ok(f()))?
}

fn add(env: &Env, conf: &NetConf) -> Result<Value> {
    let network = conf.require_name()?.to_string();
    let ipam_type = conf.ipam_type.clone().ok_or_else(|| {
        Error::InvalidConfig(
            "network config has no \"ipam\" section; hwol-cni needs an IPAM plugin for the pod's address \
             (the seed's NAD uses {\"type\": \"host-local\", ...})"
                .into(),
        )
    })?;
    let ns = Netns::Path(PathBuf::from(&env.netns));
    if !ns.exists() {
        return Err(Error::UnknownContainer(format!(
            "CNI_NETNS {} does not exist; the container's network namespace must exist before ADD",
            env.netns
        )));
    }
    let st = StateDir::open(&conf.state_dir)?;
    let (cid, ifname) = (env.container_id.as_str(), env.ifname.as_str());
    let _att = st.lock_attachment(cid, ifname)?;
    if let Some(r) = st.load(cid, ifname)? {
        return Err(Error::DeviceBusy(format!(
            "container {cid} already has {ifname} attached (host side {}); the runtime must DEL it before adding again",
            r.host_ifname
        )));
    }
    let host = host_ifname(env.pod_name(), cid);
    let mut rec = Record {
        container_id: cid.into(),
        ifname: ifname.into(),
        netns: env.netns.clone(),
        network,
        host_ifname: host.clone(),
        ..Default::default()
    };
    let _dev_lock = match &conf.device_id {
        Some(pci) => {
            let l = st.lock_device(pci)?;
            if let Some(o) = st.claim_of(pci) {
                let (ocid, oif) = o.split_once('/').unwrap_or((o.as_str(), ""));
                if o != owner(cid, ifname) && st.load(ocid, oif)?.is_some() {
                    return Err(Error::DeviceBusy(format!(
                        "deviceID {pci} is in use by container {ocid} ({oif}); the device plugin allocated it twice, \
                         or that pod was not deleted"
                    )));
                }
            }
            let d = device::discover(&conf.sysfs_root, pci)?;
            let host = Links::new()?;
            let vf = host.get(&d.netdev)?.ok_or_else(|| {
                Error::UnknownDevice(format!(
                    "deviceID {pci}: sysfs names its netdev {} but there is no such interface on the host",
                    d.netdev
                ))
            })?;
            let rep = host.get(&d.representor)?.ok_or_else(|| {
                Error::NotSwitchdev(format!(
                    "deviceID {pci}: sysfs names its representor {} but there is no such interface on the host",
                    d.representor
                ))
            })?;
            // What DEL puts back.
            rec.mac = Some(format_mac(&vf.mac));
            rec.vf_mtu = vf.mtu;
            rec.rep_mtu = rep.mtu;
            rec.pci = Some(pci.clone());
            rec.vf_netdev = Some(d.netdev);
            rec.representor = Some(d.representor);
            st.claim(pci, &owner(cid, ifname))?;
            Some(l)
        }
        None => None,
    };
    st.save(&rec)?;
    match add_steps(env, conf, &st, &mut rec, &ns, &ipam_type) {
        Ok(v) => Ok(v),
        Err(e @ Error::Injected(_)) if conf.no_rollback => {
            Err(e.append("debugNoRollback: left as a killed plugin would (the runtime's DEL cleans up)"))
        }
        Err(e) => match undo(env, conf, &st, &rec) {
            Ok(()) => Err(e),
            Err(u) => Err(e.append(&format!("rolling back also failed (a DEL will finish it): {u}"))),
        },
    }
}

fn add_steps(env: &Env, conf: &NetConf, st: &StateDir, rec: &mut Record, ns: &Netns, ipam_type: &str) -> Result<Value> {
    conf.maybe_fail(Step::Record)?;
    let (cid, ifname) = (env.container_id.as_str(), env.ifname.as_str());

    step(st, rec, Step::Ipam)?;
    let ipam_res = ipam::add(ipam_type, &conf.raw, conf.version, &inv(env, cid, ifname, &env.netns))?;
    let ipv4 = ipam_res.ips.iter().find(|i| i.address.addr.is_ipv4()).map(|i| i.address.addr).ok_or_else(|| {
        Error::Ipam(format!(
            "IPAM plugin {ipam_type} gave no IPv4 address; the pod pipeline needs one (add an IPv4 range to ipam)"
        ))
    })?;
    conf.maybe_fail(Step::Ipam)?;

    step(st, rec, Step::Move)?;
    let host = Links::new()?;
    let pod_end = match &rec.vf_netdev {
        Some(vf) => vf.clone(),
        None => {
            let peer = veth_peer_name(cid, ifname);
            host.add_veth(&rec.host_ifname, &peer)?;
            peer
        }
    };
    let l = host.get(&pod_end)?.ok_or_else(|| {
        Error::Netlink(format!("interface {pod_end} disappeared from the host before it could be moved to the pod"))
    })?;
    host.set_down(&l)?;
    let fd = ns.open()?;
    host.move_to_netns(&l, fd.as_fd(), &env.netns)?;
    conf.maybe_fail(Step::Move)?;

    step(st, rec, Step::Configure)?;
    let (mac, mtu, res, xdp) = (conf.mac, conf.mtu, ipam_res.clone(), conf.xdp_on_veth);
    let (pe, ifn) = (pod_end.clone(), ifname.to_string());
    let pod_mac = in_netns(ns, move || {
        let m = configure_pod(&pe, &ifn, mac, mtu, &res)?;
        if xdp {
            set_for_xdp(&ifn)?;
        }
        Ok(m)
    })?;
    conf.maybe_fail(Step::Configure)?;

    step(st, rec, Step::Rename)?;
    let host_link = match &rec.representor {
        Some(rep) => {
            let r = host.get(rep)?.ok_or_else(|| {
                Error::Netlink(format!("representor {rep} disappeared from the host (was it renamed by someone else?)"))
            })?;
            if rep != &rec.host_ifname {
                if let Some(other) = host.get(&rec.host_ifname)? {
                    return Err(Error::Netlink(format!(
                        "cannot rename representor {rep} to {}: that name is taken (ifindex {}); remove the stale \
                         interface",
                        rec.host_ifname, other.index
                    )));
                }
                host.set_down(&r)?;
                host.rename(&r, &rec.host_ifname)?;
            }
            host.get(&rec.host_ifname)?.unwrap_or(r)
        }
        None => host
            .get(&rec.host_ifname)?
            .ok_or_else(|| Error::Netlink(format!("host end {} of the pod's veth pair is gone", rec.host_ifname)))?,
    };
    if let Some(m) = mtu {
        host.set_mtu(&host_link, m)?;
    }
    host.set_up(&host_link)?;
    conf.maybe_fail(Step::Rename)?;

    step(st, rec, Step::Attach)?;
    let ns_name = env.pod_namespace().unwrap_or("");
    let pod_name = env.pod_name().unwrap_or("");
    let mac_s = format_mac(&pod_mac);
    let ip_s = ipv4.to_string();
    let attached = Daemon::new(&conf.rundir).pod_add(&PodPort {
        iface: &rec.host_ifname,
        pod_namespace: ns_name,
        pod_name,
        container_id: cid,
        mac: &mac_s,
        ipv4: &ip_s,
    });
    if let Err(e) = attached {
        if e.code() == 11 {
            // Never reached the daemon: nothing to detach on rollback.
            rec.steps.pop();
            st.save(rec)?;
        }
        return Err(e);
    }
    conf.maybe_fail(Step::Attach)?;

    let mut result = conf.prev_result.clone().unwrap_or_default();
    let base = result.interfaces.len();
    result.interfaces.push(Interface {
        name: rec.host_ifname.clone(),
        mac: format_mac(&host_link.mac),
        ..Default::default()
    });
    let mut pod_if =
        Interface { name: ifname.into(), mac: mac_s, sandbox: Some(env.netns.clone()), ..Default::default() };
    if let (Some(pci), true) = (&rec.pci, conf.version >= Version::V1_1_0) {
        pod_if.extra.insert("pciID".into(), json!(pci));
    }
    if let Some(m) = mtu {
        if conf.version >= Version::V1_0_0 {
            pod_if.extra.insert("mtu".into(), json!(m));
        }
    }
    result.interfaces.push(pod_if);
    for mut ip in ipam_res.ips {
        ip.interface = Some(base + 1);
        result.ips.push(ip);
    }
    result.routes.extend(ipam_res.routes);
    if result.dns.as_object().is_none_or(|o| o.is_empty()) {
        result.dns = ipam_res.dns;
    }
    Ok(result.to_json(conf.version))
}

/// Inside the pod: rename, MAC, MTU, up, addresses and routes. Returns the MAC.
fn configure_pod(
    pod_end: &str,
    ifname: &str,
    mac: Option<[u8; 6]>,
    mtu: Option<u32>,
    res: &CniResult,
) -> Result<Vec<u8>> {
    let nl = Links::new()?;
    let l = nl.get(pod_end)?.ok_or_else(|| {
        Error::Netlink(format!("interface {pod_end} is not in the pod's netns right after moving it there"))
    })?;
    if pod_end != ifname {
        if let Some(o) = nl.get(ifname)? {
            return Err(Error::Netlink(format!(
                "the pod's netns already has an interface {ifname} (ifindex {}); CNI_IFNAME must be free",
                o.index
            )));
        }
        nl.rename(&l, ifname)?;
    }
    if let Some(m) = mac {
        nl.set_mac(&l, m)?;
    }
    if let Some(m) = mtu {
        nl.set_mtu(&l, m)?;
    }
    nl.set_up(&l)?;
    if let Some(lo) = nl.get("lo")? {
        nl.set_up(&lo)?;
    }
    for ip in &res.ips {
        nl.add_address(&l, ip.address.addr, ip.address.prefix)?;
    }
    for r in &res.routes {
        let gw = r.gw.or_else(|| {
            res.ips.iter().find(|i| i.address.addr.is_ipv4() == r.dst.addr.is_ipv4()).and_then(|i| i.gateway)
        });
        nl.add_route(&l, r.dst.addr, r.dst.prefix, gw)?;
    }
    Ok(nl.get(ifname)?.map(|x| x.mac).unwrap_or(l.mac))
}

/// `ethtool -K <ifname> gro on tx off`, in the calling thread's netns: a
/// veth peer of an XDP program must run NAPI (GRO does it) and, since XDP
/// drops checksum-offload metadata, compute its own checksums.
fn set_for_xdp(ifname: &str) -> Result<()> {
    let err = |e: hwol_nic::NicError| {
        Error::Netlink(format!("xdpOnVeth: setting {ifname} for XDP (ethtool -K {ifname} gro on tx off) failed: {e}"))
    };
    let mut et = hwol_nic::ethtool::Ethtool::open()
        .map_err(err)?
        .ok_or_else(|| Error::Netlink("xdpOnVeth: the kernel has no ethtool netlink (needs Linux 5.6+)".into()))?;
    et.set_feature(ifname, "rx-gro", true).map_err(err)?;
    et.set_feature(ifname, "tx-checksum-ip-generic", false).map_err(err)?;
    Ok(())
}

/// Take back everything `rec` says was started (DEL, and a failed ADD's
/// rollback). Idempotent; on failure the record is kept for the next DEL.
pub fn undo(env: &Env, conf: &NetConf, st: &StateDir, rec: &Record) -> Result<()> {
    let mut errors: Vec<Error> = Vec::new();
    let mut left = rec.clone();
    left.steps.clear();
    if rec.started(Step::Attach.as_str()) {
        if let Err(e) = Daemon::new(&conf.rundir).pod_del(&rec.host_ifname) {
            left.steps.push(Step::Attach.as_str().into());
            errors.push(e);
        }
    }
    if let Err(e) = restore_links(conf, rec) {
        left.steps.push(Step::Move.as_str().into());
        errors.push(e);
    }
    if rec.started(Step::Ipam.as_str()) {
        if let Some(t) = &conf.ipam_type {
            let mut c = conf.raw.clone();
            if let Some(o) = c.as_object_mut() {
                o.insert("name".into(), json!(rec.network));
            }
            if let Err(e) = ipam::del(t, &c, conf.version, &inv(env, &rec.container_id, &rec.ifname, &rec.netns)) {
                left.steps.push(Step::Ipam.as_str().into());
                errors.push(e);
            }
        }
    }
    if errors.is_empty() {
        if let Some(pci) = &rec.pci {
            st.release(pci, &owner(&rec.container_id, &rec.ifname))?;
        }
        return st.remove(&rec.container_id, &rec.ifname);
    }
    st.save(&left)?;
    // A daemon that is down makes the whole DEL "try again later".
    let first = errors.iter().position(|e| e.code() == 11).unwrap_or(0);
    let rest: Vec<String> =
        errors.iter().enumerate().filter(|(i, _)| *i != first).map(|(_, e)| e.to_string()).collect();
    let e = errors.swap_remove(first);
    if rest.is_empty() {
        return Err(e);
    }
    Err(e.append(&format!("also: {}", rest.join("; "))))
}

/// The interface part of [`undo`].
fn restore_links(conf: &NetConf, rec: &Record) -> Result<()> {
    let host = Links::new()?;
    let moved = rec.started(Step::Move.as_str());
    match (&rec.vf_netdev, &rec.representor) {
        (Some(vf), Some(rep)) => {
            if rec.started(Step::Rename.as_str()) {
                if let Some(l) = host.get(&rec.host_ifname)? {
                    // Chained plugins (bandwidth) shape on the host side; a
                    // representor outlives the pod, so their qdiscs go here.
                    host.reset_qdiscs(&l)?;
                    if rep != &rec.host_ifname && host.get(rep)?.is_none() {
                        host.set_down(&l)?;
                        host.rename(&l, rep)?;
                        host.set_up(&l)?;
                    }
                }
                if let (Some(l), Some(m)) = (host.get(rep)?, rec.rep_mtu) {
                    if l.mtu != Some(m) {
                        host.set_mtu(&l, m)?;
                    }
                }
            }
            if moved {
                let ns = Netns::Path(PathBuf::from(&rec.netns));
                let mac = rec.mac.as_deref().and_then(|m| parse_mac(m).ok());
                if !rec.netns.is_empty() && ns.exists() {
                    let hostns = host_netns()?;
                    let names = [rec.ifname.clone(), vf.clone()];
                    let vf2 = vf.clone();
                    in_netns(&ns, move || {
                        let nl = Links::new()?;
                        for n in &names {
                            if let Some(l) = nl.get(n)? {
                                return return_vf(&nl, &l, &vf2, &hostns);
                            }
                        }
                        Ok(())
                    })?;
                } else if let Some(pci) = &rec.pci {
                    // The netns is gone: a real VF is back on the host by now,
                    // under its pod name (or one the kernel picked).
                    if let Some(now) = device::vf_netdev(&conf.sysfs_root, pci) {
                        if &now != vf {
                            if let Some(l) = host.get(&now)? {
                                host.set_down(&l)?;
                                host.rename(&l, vf)?;
                            }
                        }
                    }
                }
                if let Some(l) = host.get(vf)? {
                    if let Some(m) = mac.filter(|m| l.mac != m) {
                        host.set_mac(&l, m)?;
                    }
                    if let Some(m) = rec.vf_mtu.filter(|m| l.mtu != Some(*m)) {
                        host.set_mtu(&l, m)?;
                    }
                }
            }
        }
        _ => {
            // veth mode: deleting either end deletes the pair, wherever the peer is.
            if moved {
                if let Some(l) = host.get(&rec.host_ifname)? {
                    if l.is_veth() {
                        host.delete(&l)?;
                    }
                }
                if let Some(l) = host.get(&veth_peer_name(&rec.container_id, &rec.ifname))? {
                    host.delete(&l)?;
                }
            }
        }
    }
    Ok(())
}

/// In the pod: VF down, its host name back, moved to the host netns.
fn return_vf(nl: &Links, l: &LinkInfo, vf: &str, hostns: &File) -> Result<()> {
    nl.set_down(l)?;
    if l.name != vf {
        nl.rename(l, vf)?;
    }
    let l2 = nl.get(vf)?.unwrap_or_else(|| l.clone());
    nl.move_to_netns(&l2, hostns.as_fd(), "of the host")?;
    Ok(())
}

fn del(env: &Env, conf: &NetConf) -> Result<()> {
    let st = StateDir::open(&conf.state_dir)?;
    let (cid, ifname) = (env.container_id.as_str(), env.ifname.as_str());
    let _att = st.lock_attachment(cid, ifname)?;
    let Some(rec) = st.load(cid, ifname)? else {
        // No record (none made, or the state dir was lost): detach the port
        // this container's host name would have (if the daemon runs) and
        // release any lease the delegate may hold.
        match Daemon::new(&conf.rundir).pod_del(&host_ifname(env.pod_name(), cid)) {
            Ok(()) => {}
            Err(e) if e.code() == 11 => {}
            Err(e) => return Err(e),
        }
        if let (Some(t), Ok(_)) = (&conf.ipam_type, conf.require_name()) {
            ipam::del(t, &conf.raw, conf.version, &inv(env, cid, ifname, &env.netns))?;
        }
        return Ok(());
    };
    let _dev = match &rec.pci {
        Some(pci) => Some(st.lock_device(pci)?),
        None => None,
    };
    undo(env, conf, &st, &rec)
}

fn check(env: &Env, conf: &NetConf) -> Result<()> {
    let prev = conf.prev_result.as_ref().ok_or_else(|| {
        Error::InvalidConfig(
            "CHECK needs prevResult in the network config (the runtime adds the cached ADD result)".into(),
        )
    })?;
    let st = StateDir::open(&conf.state_dir)?;
    let (cid, ifname) = (env.container_id.as_str(), env.ifname.as_str());
    let _att = st.lock_attachment(cid, ifname)?;
    let rec = st.load(cid, ifname)?.ok_or_else(|| {
        Error::CheckFailed(format!("no record of an ADD for container {cid} {ifname} in {}", conf.state_dir.display()))
    })?;
    let ns = Netns::Path(PathBuf::from(&env.netns));
    if !ns.exists() {
        return Err(Error::UnknownContainer(format!("CNI_NETNS {} does not exist", env.netns)));
    }
    let want_ips: Vec<(IpAddr, u8)> = prev
        .ips
        .iter()
        .filter(|i| i.interface.and_then(|k| prev.interfaces.get(k)).is_none_or(|x| x.name == ifname))
        .map(|i| (i.address.addr, i.address.prefix))
        .collect();
    let want_mac = prev.interfaces.iter().find(|i| i.name == ifname && i.sandbox.is_some()).map(|i| i.mac.clone());
    let ifn = ifname.to_string();
    in_netns(&ns, move || {
        let nl = Links::new()?;
        let l = nl.get(&ifn)?.ok_or_else(|| Error::CheckFailed(format!("interface {ifn} is missing in the pod")))?;
        if let Some(m) = want_mac.filter(|m| !m.is_empty()) {
            if format_mac(&l.mac) != m.to_lowercase() {
                return Err(Error::CheckFailed(format!("{ifn} has MAC {}, the result says {m}", format_mac(&l.mac))));
            }
        }
        let have = nl.addresses(&l)?;
        for w in &want_ips {
            if !have.contains(w) {
                return Err(Error::CheckFailed(format!("{ifn} lacks address {}/{}", w.0, w.1)));
            }
        }
        Ok(())
    })?;
    if Links::new()?.get(&rec.host_ifname)?.is_none() {
        return Err(Error::CheckFailed(format!("host interface {} is missing", rec.host_ifname)));
    }
    let show = Daemon::new(&conf.rundir).pod_show(&rec.host_ifname).map_err(|e| {
        if e.code() == 11 {
            e
        } else {
            Error::CheckFailed(format!("switch attachment: {e}"))
        }
    })?;
    let got = show.pointer("/external_ids/container-id").and_then(Value::as_str);
    if got != Some(cid) {
        return Err(Error::CheckFailed(format!(
            "port {} on the switch has container-id {got:?}, expected {cid}",
            rec.host_ifname
        )));
    }
    if let Some(t) = &conf.ipam_type {
        ipam::check(t, &conf.raw, conf.version, &inv(env, cid, ifname, &env.netns))?;
    }
    Ok(())
}

fn gc(env: &Env, conf: &NetConf) -> Result<()> {
    let valid = conf.valid_attachments.clone().unwrap_or_default();
    let st = StateDir::open(&conf.state_dir)?;
    let mut errors = Vec::new();
    for (cid, ifname) in st.attachments()? {
        if valid.iter().any(|(c, i)| c == &cid && i == &ifname) {
            continue;
        }
        let _att = st.lock_attachment(&cid, &ifname)?;
        let Some(rec) = st.load(&cid, &ifname)? else { continue };
        if rec.network != conf.name {
            continue;
        }
        let _dev = match &rec.pci {
            Some(pci) => Some(st.lock_device(pci)?),
            None => None,
        };
        if let Err(e) = undo(env, conf, &st, &rec) {
            errors.push(format!("{cid}/{ifname}: {e}"));
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(Error::Netlink(format!("GC could not remove every stale attachment: {}", errors.join("; "))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn env(vars: &[(&str, &str)]) -> Env {
        let m: BTreeMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Env::from_lookup(|k| m.get(k).cloned()).unwrap()
    }

    #[test]
    fn version_answers_for_the_asked_version() {
        let e = env(&[("CNI_COMMAND", "VERSION")]);
        let v = run(&e, br#"{"cniVersion":"0.4.0"}"#).unwrap().unwrap();
        assert_eq!(v["cniVersion"], "0.4.0");
        assert_eq!(run(&e, b"").unwrap().unwrap()["cniVersion"], "1.1.0");
        assert_eq!(run(&e, br#"{"cniVersion":"9.9.9"}"#).unwrap_err().code(), 1);
    }

    #[test]
    fn commands_need_their_version() {
        let e = env(&[("CNI_COMMAND", "CHECK"), ("CNI_CONTAINERID", "c"), ("CNI_IFNAME", "eth0"), ("CNI_NETNS", "/x")]);
        let err = run(&e, br#"{"cniVersion":"0.3.1","name":"n","type":"hwol-cni"}"#).unwrap_err();
        assert_eq!(err.code(), 1);
        assert!(err.to_string().contains("needs cniVersion 0.4.0"), "{err}");
        let e = env(&[("CNI_COMMAND", "STATUS")]);
        assert_eq!(run(&e, br#"{"cniVersion":"1.0.0","name":"n","type":"hwol-cni"}"#).unwrap_err().code(), 1);
    }

    #[test]
    fn status_without_daemon_is_not_available() {
        let t = tempfile::tempdir().unwrap();
        let e = env(&[("CNI_COMMAND", "STATUS")]);
        let conf =
            format!(r#"{{"cniVersion":"1.1.0","name":"n","type":"hwol-cni","rundir":"{}"}}"#, t.path().display());
        let err = run(&e, conf.as_bytes()).unwrap_err();
        assert_eq!(err.code(), 50);
        assert!(err.to_string().contains("hwol-vswitchd is not running"), "{err}");
    }

    #[test]
    fn add_checks_config_and_netns_before_touching_anything() {
        let t = tempfile::tempdir().unwrap();
        let e = env(&[
            ("CNI_COMMAND", "ADD"),
            ("CNI_CONTAINERID", "c1"),
            ("CNI_IFNAME", "eth0"),
            ("CNI_NETNS", "/nonexistent/netns"),
        ]);
        let no_ipam =
            format!(r#"{{"cniVersion":"1.0.0","name":"n","type":"hwol-cni","stateDir":"{}"}}"#, t.path().display());
        let err = run(&e, no_ipam.as_bytes()).unwrap_err();
        assert_eq!(err.code(), 7);
        assert!(err.to_string().contains("no \"ipam\" section"), "{err}");
        let conf = format!(
            r#"{{"cniVersion":"1.0.0","name":"n","type":"hwol-cni","ipam":{{"type":"host-local"}},"stateDir":"{}"}}"#,
            t.path().display()
        );
        let err = run(&e, conf.as_bytes()).unwrap_err();
        assert_eq!(err.code(), 3);
        assert!(StateDir::open(t.path()).unwrap().leftovers().unwrap().is_empty());
    }

    #[test]
    fn del_without_record_or_ipam_succeeds() {
        let t = tempfile::tempdir().unwrap();
        let e = env(&[("CNI_COMMAND", "DEL"), ("CNI_CONTAINERID", "c1"), ("CNI_IFNAME", "eth0")]);
        let conf =
            format!(r#"{{"cniVersion":"0.3.1","name":"n","type":"hwol-cni","stateDir":"{}"}}"#, t.path().display());
        assert_eq!(run(&e, conf.as_bytes()).unwrap(), None);
        assert_eq!(run(&e, conf.as_bytes()).unwrap(), None);
    }

    #[test]
    fn veth_peer_names_are_valid_and_distinct() {
        let a = veth_peer_name("c1", "eth0");
        hwol_netdev::emunic::validate_ifname(&a).unwrap();
        assert_ne!(a, veth_peer_name("c2", "eth0"));
        assert_ne!(a, veth_peer_name("c1", "eth1"));
    }
}
