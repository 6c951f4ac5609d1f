//! The loaded fast path: programs, pinned maps and pinned links of one
//! instance, and the offload operations on them. [`crate::XdpProvider`] and
//! [`crate::TcProvider`] are thin wrappers that pick the attach point.
//!
//! # Pinning and restart without loss
//!
//! Everything lives under `/sys/fs/bpf/hwol/<instance>/`:
//!
//! - `maps/<name>`: every map (`__uint(pinning, LIBBPF_PIN_BY_NAME)` in the C
//!   side). Loading the object again reuses the pinned maps, so flows,
//!   masks, ports and connections survive the daemon.
//! - `links/port-<N>` (and `links/peer-<N>` for XDP's pod-side pass
//!   program): the bpf_links (XDP links and tcx links) that attach the
//!   programs to the devices. A pinned link stays attached when the process
//!   that made it exits, so packets keep flowing through the fast path while
//!   the daemon is down.
//!
//! `attach_or_adopt` loads the programs (reusing the maps), atomically swaps
//! every pinned link over to the freshly loaded program (`bpf_link_update`;
//! no packet sees a detached device), and rebuilds the provider's own state
//! (ports, mask slots and their reference counts, ufid → map key) from the
//! maps. `flow_dump` then gives the daemon the installed flows to adopt.
//! `detach_all` and [`crate::cleanup_instance`] remove the pins, which
//! releases the links (detaching the programs) and, once no process holds
//! them, the maps.
//!
//! Interfaces are looked up, and links created, in the network namespace of
//! the calling thread.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::time::Duration;

use aya::maps::{Array, HashMap as BpfHashMap, MapData, MapError, PerCpuArray};
use aya::programs::links::{FdLink, LinkError, PinnedLink};
use aya::programs::tc::{SchedClassifierLink, TcAttachOptions};
use aya::programs::xdp::XdpLink;
use aya::programs::{LinkOrder, ProgramError, SchedClassifier, TcAttachType, Xdp, XdpMode};
use aya::{Ebpf, EbpfLoader};
use hwol_conntrack::CtTuple;
use hwol_offload::{CtOffload, FastPathStats, NotOffloadedReason, OffloadError, OffloadFlow};

use crate::convert::{ct_from_bpf, ct_to_bpf, flow_from_bpf, flow_to_bpf};
use crate::layout::*;
use crate::Error;

/// Where instances keep their pins.
pub const PIN_ROOT: &str = "/sys/fs/bpf/hwol";

static XDP_OBJ: &[u8] = aya::include_bytes_aligned!(concat!(env!("OUT_DIR"), "/xdp.o"));
static TC_OBJ: &[u8] = aya::include_bytes_aligned!(concat!(env!("OUT_DIR"), "/tc.o"));

/// Which hook the representors' program runs at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Hook {
    /// XDP in this mode.
    Xdp(XdpMode),
    /// tcx ingress.
    Tc,
}

/// The directory of an instance's pins, after checking the name.
pub(crate) fn instance_dir(instance: &str) -> Result<PathBuf, Error> {
    let ok = !instance.is_empty()
        && !instance.starts_with('.')
        && instance.len() <= 64
        && instance.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
    if !ok {
        return Err(Error::Instance(instance.to_string()));
    }
    Ok(Path::new(PIN_ROOT).join(instance))
}

/// Mount bpffs on /sys/fs/bpf unless it already is.
fn ensure_bpffs() -> Result<(), Error> {
    let root = Path::new("/sys/fs/bpf");
    let is_bpffs =
        |p: &Path| nix::sys::statfs::statfs(p).map(|s| s.filesystem_type() == nix::sys::statfs::BPF_FS_MAGIC);
    if is_bpffs(root).unwrap_or(false) {
        return Ok(());
    }
    nix::mount::mount(Some("bpf"), root, Some("bpf"), nix::mount::MsFlags::empty(), None::<&str>)
        .map_err(|e| Error::BpfFs { path: root.into(), source: e })
}

fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> Error {
    let what = what.into();
    move |source| Error::Io { what, source }
}

fn map_err(what: impl Into<String>) -> impl FnOnce(MapError) -> Error {
    let what = what.into();
    move |source| Error::Map { what, source: Box::new(source) }
}

fn prog_err(what: impl Into<String>) -> impl FnOnce(ProgramError) -> Error {
    let what = what.into();
    move |source| Error::Program { what, source: Box::new(source) }
}

fn link_err(what: impl Into<String>) -> impl FnOnce(LinkError) -> Error {
    let what = what.into();
    move |source| Error::Link { what, source: Box::new(source) }
}

fn failed(e: Error) -> OffloadError {
    OffloadError::Failed(e.to_string())
}

/// The key was not in the map (aya reports a delete's ENOENT as a syscall error).
fn is_missing(e: &MapError) -> bool {
    matches!(e, MapError::KeyNotFound)
        || matches!(e, MapError::SyscallError(s) if s.io_error.raw_os_error() == Some(nix::libc::ENOENT))
}

fn is_full(e: &MapError) -> bool {
    matches!(e, MapError::SyscallError(s) if s.io_error.raw_os_error() == Some(nix::libc::E2BIG))
}

fn ifindex(ifname: &str) -> Result<u32, Error> {
    nix::net::if_::if_nametoindex(ifname).map_err(|e| Error::NoSuchInterface { ifname: ifname.into(), source: e })
}

fn take<T>(ebpf: &mut Ebpf, name: &str) -> Result<T, Error>
where
    T: TryFrom<aya::maps::Map, Error = MapError>,
{
    let m = ebpf.take_map(name).ok_or_else(|| Error::MissingObject(name.to_string()))?;
    T::try_from(m).map_err(map_err(format!("map {name}")))
}

/// A loaded fast path instance. See the module docs.
pub(crate) struct FastPath {
    hook: Hook,
    dir: PathBuf,
    ebpf: Ebpf,
    flows_map: BpfHashMap<MapData, FlowKeyBytes, FlowBytes>,
    masks_map: Array<MapData, MaskBytes>,
    ct_map: BpfHashMap<MapData, CtKeyBytes, CtValBytes>,
    ports_map: BpfHashMap<MapData, u32, u32>,
    ifports_map: BpfHashMap<MapData, u32, u32>,
    cfg_map: Array<MapData, CfgBytes>,
    reasons_map: PerCpuArray<MapData, u64>,
    /// port → ifindex.
    ports: BTreeMap<u32, u32>,
    /// Mask slots: the mask and how many flows use it.
    masks: [Option<(BpfKey, usize)>; MAX_MASKS],
    /// ufid → its map key.
    flows: HashMap<u128, BpfFlowKey>,
    /// map key → ufid (two ufids must not share a match).
    by_key: HashMap<BpfFlowKey, u128>,
}

impl FastPath {
    pub(crate) fn attach_or_adopt(instance: &str, hook: Hook) -> Result<Self, Error> {
        let dir = instance_dir(instance)?;
        ensure_bpffs()?;
        let maps_dir = dir.join("maps");
        std::fs::create_dir_all(&maps_dir).map_err(io(format!("creating {}", maps_dir.display())))?;
        std::fs::create_dir_all(dir.join("links")).map_err(io(format!("creating {}/links", dir.display())))?;
        let obj = match hook {
            Hook::Xdp(_) => XDP_OBJ,
            Hook::Tc => TC_OBJ,
        };
        let mut ebpf = EbpfLoader::new()
            .default_map_pin_directory(&maps_dir)
            .load(obj)
            .map_err(|e| Error::Load { source: Box::new(e) })?;
        match hook {
            Hook::Xdp(_) => {
                for name in ["hwol_xdp", "hwol_xdp_pass"] {
                    let p: &mut Xdp = ebpf
                        .program_mut(name)
                        .ok_or_else(|| Error::MissingObject(name.into()))?
                        .try_into()
                        .map_err(prog_err(name))?;
                    p.load().map_err(prog_err(format!("loading {name}")))?;
                }
            }
            Hook::Tc => {
                let p: &mut SchedClassifier = ebpf
                    .program_mut("hwol_tc")
                    .ok_or_else(|| Error::MissingObject("hwol_tc".into()))?
                    .try_into()
                    .map_err(prog_err("hwol_tc"))?;
                p.load().map_err(prog_err("loading hwol_tc"))?;
            }
        }
        let mut fp = FastPath {
            hook,
            dir,
            flows_map: take(&mut ebpf, "hwol_flows")?,
            masks_map: take(&mut ebpf, "hwol_masks")?,
            ct_map: take(&mut ebpf, "hwol_ct")?,
            ports_map: take(&mut ebpf, "hwol_ports")?,
            ifports_map: take(&mut ebpf, "hwol_ifports")?,
            cfg_map: take(&mut ebpf, "hwol_cfg")?,
            reasons_map: take(&mut ebpf, "hwol_reasons")?,
            ebpf,
            ports: BTreeMap::new(),
            masks: [None; MAX_MASKS],
            flows: HashMap::new(),
            by_key: HashMap::new(),
        };
        fp.adopt_state()?;
        fp.adopt_links()?;
        Ok(fp)
    }

    /// Rebuild ports, mask slots and the ufid index from the pinned maps.
    fn adopt_state(&mut self) -> Result<(), Error> {
        for r in self.ports_map.iter() {
            let (port, ifindex) = r.map_err(map_err("reading hwol_ports"))?;
            self.ports.insert(port, ifindex);
        }
        for (i, r) in self.masks_map.iter().enumerate() {
            let m: BpfMask = bytemuck::cast(r.map_err(map_err("reading hwol_masks"))?);
            if m.active != 0 {
                self.masks[i] = Some((m.mask, 0));
            }
        }
        let mut stale = Vec::new();
        for r in self.flows_map.iter() {
            let (k, v) = r.map_err(map_err("reading hwol_flows"))?;
            let k: BpfFlowKey = bytemuck::cast(k);
            let v: BpfFlow = bytemuck::cast(v);
            match self.masks.get_mut(k.mask_idx as usize) {
                Some(Some((_, refs))) => {
                    *refs += 1;
                    self.flows.insert(v.ufid(), k);
                    self.by_key.insert(k, v.ufid());
                }
                _ => stale.push(k),
            }
        }
        for k in stale {
            let _ = self.flows_map.remove(&bytemuck::cast(k));
        }
        for i in 0..MAX_MASKS {
            if matches!(self.masks[i], Some((_, 0))) {
                self.free_mask(i)?;
            }
        }
        Ok(())
    }

    /// Point every pinned link at the programs this process loaded.
    fn adopt_links(&mut self) -> Result<(), Error> {
        let links = self.dir.join("links");
        let entries = std::fs::read_dir(&links).map_err(io(format!("reading {}", links.display())))?;
        for e in entries {
            let e = e.map_err(io(format!("reading {}", links.display())))?;
            let name = e.file_name().to_string_lossy().into_owned();
            let prog = match (self.hook, name.split('-').next()) {
                (Hook::Xdp(_), Some("port")) => "hwol_xdp",
                (Hook::Xdp(_), Some("peer")) => "hwol_xdp_pass",
                (Hook::Tc, Some("port")) => "hwol_tc",
                _ => continue,
            };
            let what = format!("adopting link {}", e.path().display());
            let fd = FdLink::from(PinnedLink::from_pin(e.path()).map_err(link_err(what.clone()))?);
            match self.hook {
                Hook::Xdp(_) => {
                    let p: &mut Xdp = self.program(prog)?;
                    let id = p.attach_to_link(XdpLink::try_from(fd).map_err(link_err(what.clone()))?);
                    let id = id.map_err(prog_err(what.clone()))?;
                    // The pin keeps the link; this process need not hold it.
                    drop(p.take_link(id).map_err(prog_err(what))?);
                }
                Hook::Tc => {
                    let p: &mut SchedClassifier = self.program(prog)?;
                    let id = p.attach_to_link(SchedClassifierLink::try_from(fd).map_err(link_err(what.clone()))?);
                    let id = id.map_err(prog_err(what.clone()))?;
                    drop(p.take_link(id).map_err(prog_err(what))?);
                }
            }
        }
        Ok(())
    }

    fn program<'a, T>(&'a mut self, name: &str) -> Result<&'a mut T, Error>
    where
        &'a mut T: TryFrom<&'a mut aya::programs::Program, Error = ProgramError>,
    {
        self.ebpf.program_mut(name).ok_or_else(|| Error::MissingObject(name.into()))?.try_into().map_err(prog_err(name))
    }

    fn link_path(&self, kind: &str, port: u32) -> PathBuf {
        self.dir.join("links").join(format!("{kind}-{port}"))
    }

    pub(crate) fn set_upcall(&mut self, ifname: Option<&str>) -> Result<(), Error> {
        let upcall_ifindex = match ifname {
            Some(n) => ifindex(n)?,
            None => 0,
        };
        let cfg = BpfCfg { upcall_ifindex, pad: 0 };
        self.cfg_map.set(0, bytemuck::cast::<_, CfgBytes>(cfg), 0).map_err(map_err("writing hwol_cfg"))
    }

    /// Attach the representor program to `ifname` as `port`.
    pub(crate) fn port_add(&mut self, port: u32, ifname: &str) -> Result<(), OffloadError> {
        if self.hook == Hook::Tc && port > 0xfff {
            return Err(OffloadError::Unsupported(NotOffloadedReason::PortNotOffloadable {
                port,
                why: "tc upcalls carry the port in a 12-bit VLAN id".into(),
            }));
        }
        self.attach_port(port, ifname).map_err(failed)
    }

    fn attach_port(&mut self, port: u32, ifname: &str) -> Result<(), Error> {
        let ifi = ifindex(ifname)?;
        let pin = self.link_path("port", port);
        if self.ports.get(&port) == Some(&ifi) && pin.exists() {
            return Ok(()); // adopted after a restart
        }
        if self.ports.contains_key(&port) {
            self.port_del(port)?;
        }
        let what = format!("attaching the fast path to {ifname} (port {port})");
        let fd: FdLink = match self.hook {
            Hook::Xdp(mode) => {
                let p: &mut Xdp = self.program("hwol_xdp")?;
                let id = p.attach_to_if_index(ifi, mode).map_err(prog_err(what.clone()))?;
                let link = p.take_link(id).map_err(prog_err(what.clone()))?;
                link.try_into().map_err(link_err(what.clone()))?
            }
            Hook::Tc => {
                let p: &mut SchedClassifier = self.program("hwol_tc")?;
                let opts = TcAttachOptions::TcxOrder(LinkOrder::default());
                let id = p.attach_with_options(ifname, TcAttachType::Ingress, opts).map_err(prog_err(what.clone()))?;
                let link = p.take_link(id).map_err(prog_err(what.clone()))?;
                link.try_into().map_err(link_err(what.clone()))?
            }
        };
        let _ = std::fs::remove_file(&pin);
        fd.pin(&pin).map_err(|e| Error::Pin { path: pin.clone(), source: Box::new(e) })?;
        self.ports_map.insert(port, ifi, 0).map_err(map_err("writing hwol_ports"))?;
        self.ifports_map.insert(ifi, port, 0).map_err(map_err("writing hwol_ifports"))?;
        self.ports.insert(port, ifi);
        Ok(())
    }

    /// XDP only: attach the XDP_PASS program to the pod-side peer of `port`
    /// (`ifname` in the calling thread's namespace).
    pub(crate) fn peer_pass(&mut self, port: u32, ifname: &str) -> Result<(), Error> {
        let Hook::Xdp(mode) = self.hook else {
            return Err(Error::WrongHook("the pod-side pass program is for XDP mode only"));
        };
        let ifi = ifindex(ifname)?;
        let pin = self.link_path("peer", port);
        let what = format!("attaching XDP_PASS to pod-side {ifname} (port {port})");
        let p: &mut Xdp = self.program("hwol_xdp_pass")?;
        let id = p.attach_to_if_index(ifi, mode).map_err(prog_err(what.clone()))?;
        let fd: FdLink = p.take_link(id).map_err(prog_err(what.clone()))?.try_into().map_err(link_err(what))?;
        let _ = std::fs::remove_file(&pin);
        fd.pin(&pin).map_err(|e| Error::Pin { path: pin.clone(), source: Box::new(e) })?;
        Ok(())
    }

    pub(crate) fn port_del(&mut self, port: u32) -> Result<(), Error> {
        for kind in ["port", "peer"] {
            let pin = self.link_path(kind, port);
            detach_and_unpin(&pin)?;
        }
        if let Some(ifi) = self.ports.remove(&port) {
            let _ = self.ifports_map.remove(&ifi);
        }
        let _ = self.ports_map.remove(&port);
        Ok(())
    }

    fn free_mask(&mut self, i: usize) -> Result<(), Error> {
        self.masks[i] = None;
        self.masks_map.set(i as u32, [0u8; core::mem::size_of::<BpfMask>()], 0).map_err(map_err("clearing a mask slot"))
    }

    fn mask_slot(&mut self, mask: &BpfKey) -> Result<usize, OffloadError> {
        if let Some(i) = self.masks.iter().position(|m| matches!(m, Some((k, _)) if k == mask)) {
            return Ok(i);
        }
        let Some(i) = self.masks.iter().position(Option::is_none) else {
            return Err(OffloadError::Unsupported(NotOffloadedReason::TableFull {
                table: "masks",
                capacity: MAX_MASKS,
            }));
        };
        let m = BpfMask { active: 1, mask: *mask };
        self.masks_map
            .set(i as u32, bytemuck::cast::<_, MaskBytes>(m), 0)
            .map_err(|e| failed(map_err("writing a mask slot")(e)))?;
        self.masks[i] = Some((*mask, 0));
        Ok(i)
    }

    fn release_mask(&mut self, i: usize) -> Result<(), Error> {
        if let Some((_, refs)) = &mut self.masks[i] {
            *refs = refs.saturating_sub(1);
            if *refs == 0 {
                self.free_mask(i)?;
            }
        }
        Ok(())
    }

    pub(crate) fn flow_put(&mut self, flow: &OffloadFlow) -> Result<(), OffloadError> {
        let tc = self.hook == Hook::Tc;
        let ports = &self.ports;
        let parts = flow_to_bpf(flow, |p| {
            if !ports.contains_key(&p) {
                Err("not attached to the fast path".into())
            } else if tc && p > 0xfff {
                Err("tc upcalls carry the port in a 12-bit VLAN id".into())
            } else {
                Ok(())
            }
        })
        .map_err(OffloadError::Unsupported)?;
        self.flow_del(flow.ufid)?;
        let idx = self.mask_slot(&parts.mask)?;
        let fk = BpfFlowKey { mask_idx: idx as u32, key: parts.key };
        if let Some(other) = self.by_key.get(&fk) {
            let msg = format!(
                "flow {:032x} has the same match as installed flow {other:032x}; delete that one first",
                flow.ufid
            );
            if self.masks[idx].map(|m| m.1) == Some(0) {
                self.free_mask(idx).map_err(failed)?;
            }
            return Err(OffloadError::Failed(msg));
        }
        let mut v = BpfFlow {
            ufid_lo: flow.ufid as u64,
            ufid_hi: (flow.ufid >> 64) as u64,
            n_actions: parts.actions.len() as u32,
            ..Default::default()
        };
        v.actions[..parts.actions.len()].copy_from_slice(&parts.actions);
        if let Err(e) =
            self.flows_map.insert(bytemuck::cast::<_, FlowKeyBytes>(fk), bytemuck::cast::<_, FlowBytes>(v), 0)
        {
            if self.masks[idx].map(|m| m.1) == Some(0) {
                self.free_mask(idx).map_err(failed)?;
            }
            if is_full(&e) {
                return Err(OffloadError::Unsupported(NotOffloadedReason::TableFull {
                    table: "flows",
                    capacity: MAX_FLOWS,
                }));
            }
            return Err(failed(map_err("writing hwol_flows")(e)));
        }
        if let Some((_, refs)) = &mut self.masks[idx] {
            *refs += 1;
        }
        self.flows.insert(flow.ufid, fk);
        self.by_key.insert(fk, flow.ufid);
        Ok(())
    }

    pub(crate) fn flow_del(&mut self, ufid: u128) -> Result<(), OffloadError> {
        let Some(fk) = self.flows.remove(&ufid) else { return Ok(()) };
        self.by_key.remove(&fk);
        match self.flows_map.remove(&bytemuck::cast(fk)) {
            Ok(()) | Err(MapError::KeyNotFound) => {}
            Err(e) => return Err(failed(map_err("deleting from hwol_flows")(e))),
        }
        self.release_mask(fk.mask_idx as usize).map_err(failed)
    }

    fn flow_values(&self) -> Result<Vec<(BpfFlowKey, BpfFlow)>, OffloadError> {
        let mut out = Vec::with_capacity(self.flows.len());
        for r in self.flows_map.iter() {
            let (k, v) = r.map_err(|e| failed(map_err("reading hwol_flows")(e)))?;
            out.push((bytemuck::cast(k), bytemuck::cast(v)));
        }
        Ok(out)
    }

    pub(crate) fn flow_stats(&mut self) -> Result<Vec<(u128, FastPathStats)>, OffloadError> {
        Ok(self
            .flow_values()?
            .into_iter()
            .map(|(_, v)| {
                let used = (v.used_ns != 0).then(|| Duration::from_nanos(v.used_ns));
                (v.ufid(), FastPathStats { packets: v.packets, bytes: v.bytes, used })
            })
            .collect())
    }

    pub(crate) fn flow_dump(&mut self) -> Result<Vec<OffloadFlow>, OffloadError> {
        Ok(self
            .flow_values()?
            .into_iter()
            .filter_map(|(k, v)| {
                let (mask, _) = self.masks.get(k.mask_idx as usize).copied().flatten()?;
                flow_from_bpf(&k, &mask, &v)
            })
            .collect())
    }

    pub(crate) fn ct_put(&mut self, ct: &CtOffload) -> Result<(), OffloadError> {
        let entries = ct_to_bpf(ct).map_err(OffloadError::Unsupported)?;
        for (i, (k, v)) in entries.iter().enumerate() {
            if let Err(e) =
                self.ct_map.insert(bytemuck::cast::<_, CtKeyBytes>(*k), bytemuck::cast::<_, CtValBytes>(*v), 0)
            {
                if i == 1 {
                    let _ = self.ct_map.remove(&bytemuck::cast(entries[0].0));
                }
                if is_full(&e) {
                    return Err(OffloadError::Unsupported(NotOffloadedReason::TableFull {
                        table: "conntrack",
                        capacity: MAX_CT,
                    }));
                }
                return Err(failed(map_err("writing hwol_ct")(e)));
            }
        }
        Ok(())
    }

    pub(crate) fn ct_del(&mut self, zone: u16, orig: &CtTuple) -> Result<(), OffloadError> {
        let ct = CtOffload { zone, orig: *orig, mark: 0, label: 0 };
        let Ok(entries) = ct_to_bpf(&ct) else { return Ok(()) };
        for (k, _) in entries {
            // The fast path removes a connection itself on FIN or RST.
            match self.ct_map.remove(&bytemuck::cast(k)) {
                Ok(()) => {}
                Err(e) if is_missing(&e) => {}
                Err(e) => return Err(failed(map_err("deleting from hwol_ct")(e))),
            }
        }
        Ok(())
    }

    /// Every entry of the conntrack table (one per direction).
    fn ct_entries(&self) -> Result<Vec<(BpfCtKey, BpfCtVal)>, OffloadError> {
        self.ct_map
            .iter()
            .map(|r| {
                let (k, v) = r.map_err(|e| failed(map_err("reading hwol_ct")(e)))?;
                Ok((bytemuck::cast(k), bytemuck::cast(v)))
            })
            .collect()
    }

    pub(crate) fn ct_used(&mut self) -> Result<Vec<(u16, CtTuple, Duration)>, OffloadError> {
        let mut used: HashMap<(u16, CtTuple), u64> = HashMap::new();
        for (k, v) in self.ct_entries()? {
            if v.used_ns == 0 {
                continue;
            }
            let e = used.entry(ct_from_bpf(&k, &v)).or_default();
            *e = (*e).max(v.used_ns);
        }
        Ok(used.into_iter().map(|((z, t), ns)| (z, t, Duration::from_nanos(ns))).collect())
    }

    /// Each connection once (its two directions are two entries), with
    /// its mark; the table keeps no labels (connections with one are
    /// never pushed, see `convert::ct_to_bpf`).
    pub(crate) fn ct_dump(&mut self) -> Result<Vec<CtOffload>, OffloadError> {
        let mut out: HashMap<(u16, CtTuple), u32> = HashMap::new();
        for (k, v) in self.ct_entries()? {
            out.insert(ct_from_bpf(&k, &v), v.mark);
        }
        Ok(out.into_iter().map(|((zone, orig), mark)| CtOffload { zone, orig, mark, label: 0 }).collect())
    }

    pub(crate) fn reason_counts(&self) -> Result<Vec<(Reason, u64)>, Error> {
        Reason::ALL
            .iter()
            .map(|r| {
                let v = self.reasons_map.get(&(*r as u32), 0).map_err(map_err("reading hwol_reasons"))?;
                Ok((*r, v.iter().sum()))
            })
            .collect()
    }

    pub(crate) fn detach_all(self) -> Result<(), Error> {
        let dir = self.dir.clone();
        drop(self);
        remove_instance_dir(&dir)
    }
}

/// Detach the link pinned at `pin` at once and remove the pin. A missing
/// pin is fine; a link whose device is gone (detach fails) is just unpinned.
fn detach_and_unpin(pin: &Path) -> Result<(), Error> {
    if !pin.exists() {
        return Ok(());
    }
    let _ = crate::sys::detach_pinned_link(pin);
    match std::fs::remove_file(pin) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(io(format!("removing {}", pin.display()))(e)),
    }
}

/// Remove an instance's pins: links first, each detached synchronously,
/// then maps.
pub(crate) fn remove_instance_dir(dir: &Path) -> Result<(), Error> {
    if let Ok(entries) = std::fs::read_dir(dir.join("links")) {
        for e in entries.flatten() {
            detach_and_unpin(&e.path())?;
        }
    }
    match std::fs::remove_dir_all(dir) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(io(format!("removing {}", dir.display()))(e)),
    }
}

impl std::fmt::Debug for FastPath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FastPath")
            .field("hook", &self.hook)
            .field("dir", &self.dir)
            .field("ports", &self.ports)
            .field("flows", &self.flows.len())
            .field("masks", &self.masks.iter().filter(|m| m.is_some()).count())
            .finish()
    }
}
