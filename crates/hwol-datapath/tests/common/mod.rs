//! Packet builders and a recording sink shared by the datapath tests.
#![allow(dead_code, missing_docs)]

use hwol_datapath::{ActionSink, DatapathSink, FlowKey, Packet};
use hwol_flow::action::UserspaceAction;
use hwol_wire::checksum;

/// TCP flag bits.
pub const SYN: u8 = 0x02;
pub const ACK: u8 = 0x10;
pub const FIN: u8 = 0x01;
pub const PSH: u8 = 0x08;

pub const MAC1: [u8; 6] = [0x1a, 0x00, 0x25, 0xcc, 0x24, 0x20];
pub const MAC2: [u8; 6] = [0xc2, 0x64, 0xba, 0x35, 0xbf, 0xc5];
pub const IP1: [u8; 4] = [10, 0, 0, 1];
pub const IP2: [u8; 4] = [10, 0, 0, 2];

/// An Ethernet/IPv4/TCP frame with valid IP and TCP checksums.
#[allow(clippy::too_many_arguments)]
pub fn tcp4(
    src_mac: [u8; 6],
    dst_mac: [u8; 6],
    src: [u8; 4],
    dst: [u8; 4],
    sport: u16,
    dport: u16,
    seq: u32,
    ack: u32,
    flags: u8,
    payload: usize,
) -> Vec<u8> {
    let mut p = Vec::with_capacity(54 + payload);
    p.extend_from_slice(&dst_mac);
    p.extend_from_slice(&src_mac);
    p.extend_from_slice(&[0x08, 0x00]);
    let mut ip = [0u8; 20];
    hwol_wire::ipv4::emit_header(&mut ip, src, dst, 6, 64, 0, (20 + payload) as u16, 0x4000);
    p.extend_from_slice(&ip);
    p.extend_from_slice(&sport.to_be_bytes());
    p.extend_from_slice(&dport.to_be_bytes());
    p.extend_from_slice(&seq.to_be_bytes());
    p.extend_from_slice(&ack.to_be_bytes());
    p.extend_from_slice(&[0x50, flags, 0xff, 0xff, 0, 0, 0, 0]);
    p.extend((0..payload).map(|i| i as u8));
    fill_tcp4_csum(&mut p, 14);
    p
}

/// An Ethernet/IPv4/UDP frame with valid checksums.
pub fn udp4(src: [u8; 4], dst: [u8; 4], sport: u16, dport: u16, payload: usize) -> Vec<u8> {
    let mut p = Vec::new();
    p.extend_from_slice(&MAC2);
    p.extend_from_slice(&MAC1);
    p.extend_from_slice(&[0x08, 0x00]);
    let mut ip = [0u8; 20];
    hwol_wire::ipv4::emit_header(&mut ip, src, dst, 17, 64, 0, (8 + payload) as u16, 0);
    p.extend_from_slice(&ip);
    p.extend_from_slice(&sport.to_be_bytes());
    p.extend_from_slice(&dport.to_be_bytes());
    p.extend_from_slice(&((8 + payload) as u16).to_be_bytes());
    p.extend_from_slice(&[0, 0]);
    p.extend((0..payload).map(|i| (i * 7) as u8));
    let l4 = 34;
    let len = (p.len() - l4) as u16;
    let acc = checksum::pseudo_v4(src, dst, 17, len);
    let c = checksum::finish(checksum::sum(acc, &p[l4..]));
    let c = if c == 0 { 0xffff } else { c };
    p[l4 + 6..l4 + 8].copy_from_slice(&c.to_be_bytes());
    p
}

fn fill_tcp4_csum(p: &mut [u8], l3: usize) {
    let l4 = l3 + 20;
    p[l4 + 16] = 0;
    p[l4 + 17] = 0;
    let src: [u8; 4] = p[l3 + 12..l3 + 16].try_into().unwrap();
    let dst: [u8; 4] = p[l3 + 16..l3 + 20].try_into().unwrap();
    let acc = checksum::pseudo_v4(src, dst, 6, (p.len() - l4) as u16);
    let c = checksum::finish(checksum::sum(acc, &p[l4..]));
    p[l4 + 16..l4 + 18].copy_from_slice(&c.to_be_bytes());
}

/// True when the IPv4 header checksum and the TCP/UDP checksum (if any) of
/// an untagged Ethernet/IPv4 frame verify, by full recomputation.
pub fn checksums_ok_v4(p: &[u8]) -> bool {
    let l3 = 14;
    let hl = ((p[l3] & 0x0f) as usize) * 4;
    if checksum::checksum(&p[l3..l3 + hl]) != 0 {
        return false;
    }
    let proto = p[l3 + 9];
    let l4 = l3 + hl;
    let src: [u8; 4] = p[l3 + 12..l3 + 16].try_into().unwrap();
    let dst: [u8; 4] = p[l3 + 16..l3 + 20].try_into().unwrap();
    match proto {
        6 | 17 => {
            if proto == 17 && p[l4 + 6] == 0 && p[l4 + 7] == 0 {
                return true;
            }
            let acc = checksum::pseudo_v4(src, dst, proto, (p.len() - l4) as u16);
            checksum::finish(checksum::sum(acc, &p[l4..])) == 0
        }
        _ => true,
    }
}

/// A sink that records what the datapath did.
#[derive(Default)]
pub struct Recorder {
    pub outputs: Vec<(u32, Vec<u8>)>,
    pub misses: Vec<FlowKey>,
    pub upcalls: Vec<Vec<u8>>,
    /// Ports that exist; empty means "all".
    pub ports: Vec<u32>,
}

impl ActionSink for Recorder {
    fn output(&mut self, port: u32, pkt: &Packet) -> bool {
        if !self.ports.is_empty() && !self.ports.contains(&port) {
            return false;
        }
        self.outputs.push((port, pkt.data().to_vec()));
        true
    }
    fn userspace(&mut self, pkt: &Packet, _key: &FlowKey, action: &UserspaceAction) {
        let mut v = action.userdata.clone();
        v.extend_from_slice(pkt.data());
        self.upcalls.push(v);
    }
}

impl DatapathSink for Recorder {
    fn miss(&mut self, _pkt: &Packet, key: &FlowKey) {
        self.misses.push(*key);
    }
}
