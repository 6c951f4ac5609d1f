//! The packet loop and its ports: AF_PACKET sockets on the representors
//! (and, in tc mode, on the upcall device), read frame by frame and run
//! through the switch; transmit with the frame's virtio-net header.
//!
//! Not here: which ports exist (that is [`crate::Node`]'s business; it hands
//! opened ports to the loop over a channel).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use anyhow::{Context, Result};
use hwol_datapath::Packet;
use hwol_netdev::afpacket::{wait_any, PacketPort, PortConfig};
use hwol_netdev::vnet::VnetHdr;
use hwol_offload::OffloadProvider;
use hwol_switch::{Switch, Transmit};
use tracing::warn;

use crate::now;

/// Where a port's received frames come from.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Rx {
    /// Frames on this socket arrived on this port.
    Port,
    /// Not read (tc mode: the fast path delivers misses via the upcall device).
    None,
    /// The upcall device: the ingress port is the VLAN id of the 802.1ad tag
    /// the tc program pushed (the kernel hands it over as metadata).
    Upcall,
}

pub(crate) struct Port {
    pub(crate) ofport: u32,
    pub(crate) sock: PacketPort,
    pub(crate) rx: Rx,
}

/// Messages from the control plane to the packet loop.
pub(crate) enum Ctl {
    /// Start reading (and transmitting on) this port.
    AddPort(Port),
    /// Stop: close the port with this number.
    DelPort(u32),
}

struct PortTx<'a> {
    ports: &'a [Port],
    vnet: VnetHdr,
    in_len: usize,
}

impl Transmit for PortTx<'_> {
    fn transmit(&mut self, port: u32, pkt: &Packet) -> bool {
        let Some(p) = self.ports.iter().find(|p| p.ofport == port && p.rx != Rx::Upcall) else { return false };
        let delta = pkt.len() as i32 - self.in_len as i32;
        let vnet = self.vnet.shifted(delta).unwrap_or(VnetHdr::NONE);
        if let Err(e) = p.sock.send(&vnet, pkt.data()) {
            warn!(port = %p.sock.ifname(), error = %e, "transmit failed");
        }
        true
    }
}

/// When the handler last processed packets, and a way to wait for it.
#[derive(Default)]
pub(crate) struct Activity {
    last_ns: std::sync::atomic::AtomicU64,
    wake: (std::sync::Mutex<bool>, std::sync::Condvar),
}

impl Activity {
    pub(crate) fn note(&self, t: Duration) {
        let before = self.last_ns.swap(t.as_nanos() as u64, Ordering::Relaxed);
        // Wake the offload thread only on the edge from idle to busy.
        if Duration::from_nanos(before) + Duration::from_millis(100) < t {
            let (m, c) = &self.wake;
            *m.lock().unwrap_or_else(|e| e.into_inner()) = true;
            c.notify_one();
        }
    }

    pub(crate) fn last(&self) -> Duration {
        Duration::from_nanos(self.last_ns.load(Ordering::Relaxed))
    }

    pub(crate) fn wait(&self, timeout: Duration) {
        let (m, c) = &self.wake;
        let mut woken = m.lock().unwrap_or_else(|e| e.into_inner());
        if !*woken {
            woken = c.wait_timeout(woken, timeout).map(|(g, _)| g).unwrap_or_else(|e| e.into_inner().0);
        }
        *woken = false;
    }
}

pub(crate) fn open_port(name: &str, ofport: u32, rx: Rx) -> Result<Port> {
    // Frames are read one by one (no ring): the slow path sees connection
    // set-ups, where a ring's block-retire delay (a 4 ms tick) would
    // dominate. The upcall device's port tag comes back as auxiliary data.
    let cfg = PortConfig { rx: rx != Rx::None, ring: false, ..PortConfig::default() };
    let sock = PacketPort::open(name, &cfg)
        .with_context(|| format!("port {name} (ofport {ofport}): cannot open it; does the interface exist?"))?;
    Ok(Port { ofport, sock, rx })
}

/// tc mode: the veth pair the fast path sends misses through. It is
/// recreated if a crashed run left it behind.
pub(crate) fn upcall_pair(stem: &str, create: bool) -> Result<()> {
    let (a, b) = (format!("{stem}0"), format!("{stem}1"));
    let ip = |args: &[&str]| -> Result<()> {
        let out = std::process::Command::new("ip").args(args).output().context("running ip (install iproute2)")?;
        if !out.status.success() {
            anyhow::bail!("ip {}: {}", args.join(" "), String::from_utf8_lossy(&out.stderr).trim());
        }
        Ok(())
    };
    let _ = ip(&["link", "del", &a]);
    if create {
        ip(&["link", "add", &a, "type", "veth", "peer", "name", &b])?;
        ip(&["link", "set", &a, "up"])?;
        ip(&["link", "set", &b, "up"])?;
    }
    Ok(())
}

/// The packet loop: every port's ring, until `stop`.
pub(crate) fn handler(
    sw: &Switch<Box<dyn OffloadProvider>>,
    ports: &mut Vec<Port>,
    stop: &AtomicBool,
    ctl: &mpsc::Receiver<Ctl>,
    activity: &Activity,
) {
    const BATCH: usize = 256;
    let mut pool: Vec<(Packet, VnetHdr, u32)> = Vec::new();
    let mut scratch = vec![0u8; 65536 + 64];
    while !stop.load(Ordering::Relaxed) {
        while let Ok(msg) = ctl.try_recv() {
            match msg {
                Ctl::AddPort(p) => ports.push(p),
                Ctl::DelPort(ofport) => ports.retain(|p| p.ofport != ofport || p.rx == Rx::Upcall),
            }
        }
        if ports.is_empty() {
            std::thread::sleep(Duration::from_millis(50));
            continue;
        }
        let ready = {
            let refs: Vec<&PacketPort> = ports.iter().filter(|p| p.rx != Rx::None).map(|p| &p.sock).collect();
            match wait_any(&refs, Duration::from_millis(50)) {
                Ok(r) => r,
                Err(e) => {
                    warn!(error = %e, "poll failed");
                    std::thread::sleep(Duration::from_millis(50));
                    continue;
                }
            }
        };
        let readable: Vec<usize> = (0..ports.len()).filter(|i| ports[*i].rx != Rx::None).collect();
        for (i, is_ready) in readable.into_iter().zip(ready) {
            if !is_ready {
                continue;
            }
            let upcall = ports[i].rx == Rx::Upcall;
            let own_port = ports[i].ofport;
            // Copy whole blocks out of the ring, then process with every
            // port available for transmit.
            let mut n = 0;
            while n < BATCH {
                let Ok(Some((vnet, range, tci))) = ports[i].sock.recv_copy_tagged(&mut scratch) else { break };
                let in_port = if upcall {
                    match tci {
                        Some(tci) => u32::from(tci & 0x0fff),
                        None => continue,
                    }
                } else {
                    own_port
                };
                if n == pool.len() {
                    pool.push((Packet::default(), VnetHdr::NONE, 0));
                }
                pool[n].0.reset(&scratch[range]);
                pool[n].0.l4_csum_partial = vnet.needs_csum();
                pool[n].1 = vnet;
                pool[n].2 = in_port;
                n += 1;
            }
            let t = now();
            if n > 0 {
                activity.note(t);
            }
            for (pkt, vnet, in_port) in pool.iter_mut().take(n) {
                let mut tx = PortTx { ports, vnet: *vnet, in_len: pkt.len() };
                sw.receive(*in_port, pkt, t, &mut tx);
            }
        }
    }
}
