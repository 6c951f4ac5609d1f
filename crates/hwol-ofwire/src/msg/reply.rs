//! Switch-to-client messages, encoded per version the way OVS 3.1 lays
//! them out (`ovs-ofctl` is the decoder these are tested against).
//!
//! Statistics replies are split into several messages with the
//! `OFPSF_REPLY_MORE` flag when they do not fit in one 64 KiB message.

use std::time::Duration;

use hwol_openflow::FlowStatsEntry;

use super::{end, nxt, ofpmp, ofpt, start, MatchFormat};
use crate::actions::{encode_actions, encode_instructions, EncodeCtx, NX_VENDOR};
use crate::buf::Put;
use crate::error::OfError;
use crate::nxm::{self, port_to_of11, Dialect};
use crate::{of10, OFP10, OFP13, OFP14, OFP15};

/// The version bitmap hwol advertises: OpenFlow 1.0 to 1.5.
pub const VERSION_BITMAP: u32 = 0x7e;

/// Our `OFPT_HELLO`: highest version, with the version bitmap.
pub fn hello(xid: u32) -> Vec<u8> {
    let mut out = Vec::new();
    let at = start(&mut out, OFP15, ofpt::HELLO, xid);
    out.put_u16(1);
    out.put_u16(8);
    out.put_u32(VERSION_BITMAP);
    end(&mut out, at);
    out
}

/// The version to speak given the peer's hello: the highest both support,
/// or `None` when there is none.
pub fn negotiate(peer_version: u8, peer_bitmap: Option<u32>) -> Option<u8> {
    match peer_bitmap {
        Some(b) => {
            let common = b & VERSION_BITMAP;
            (common != 0).then(|| 31 - common.leading_zeros() as u8)
        }
        None => {
            let v = peer_version.min(OFP15);
            (v >= OFP10).then_some(v)
        }
    }
}

/// `OFPT_ERROR` for `err`, quoting the request (all of it, as OVS does, up
/// to what fits in one message).
pub fn error(version: u8, xid: u32, err: &OfError, request: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let at = start(&mut out, version, ofpt::ERROR, xid);
    let (t, c, nx) = err.wire(version);
    out.put_u16(t);
    out.put_u16(c);
    if let Some((nt, nc)) = nx {
        out.put_u32(NX_VENDOR);
        out.put_u16(nt);
        out.put_u16(nc);
    }
    out.extend_from_slice(&request[..request.len().min(u16::MAX as usize - 24)]);
    end(&mut out, at);
    out
}

/// A message with no body (`BARRIER_REPLY`, ...).
pub fn bare(version: u8, ty: u8, xid: u32) -> Vec<u8> {
    let mut out = Vec::new();
    let at = start(&mut out, version, ty, xid);
    end(&mut out, at);
    out
}

/// `OFPT_BARRIER_REPLY`.
pub fn barrier_reply(version: u8, xid: u32) -> Vec<u8> {
    bare(version, if version == OFP10 { ofpt::OF10_BARRIER_REPLY } else { ofpt::BARRIER_REPLY }, xid)
}

/// `OFPT_ECHO_REPLY` with the request's payload.
pub fn echo_reply(version: u8, xid: u32, data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let at = start(&mut out, version, ofpt::ECHO_REPLY, xid);
    out.extend_from_slice(data);
    end(&mut out, at);
    out
}

/// `OFPT_GET_CONFIG_REPLY`.
pub fn get_config_reply(version: u8, xid: u32, flags: u16, miss_send_len: u16) -> Vec<u8> {
    let mut out = Vec::new();
    let at = start(&mut out, version, ofpt::GET_CONFIG_REPLY, xid);
    out.put_u16(flags);
    out.put_u16(miss_send_len);
    end(&mut out, at);
    out
}

/// `OFPT_ROLE_REPLY` (1.2+) or `NXT_ROLE_REPLY` (`nx`); `role` in 1.2+ numbering.
pub fn role_reply(version: u8, xid: u32, nx: bool, role: u32, generation_id: u64) -> Vec<u8> {
    let mut out = Vec::new();
    let at = if nx {
        let at = start(&mut out, version, ofpt::EXPERIMENTER, xid);
        out.put_u32(NX_VENDOR);
        out.put_u32(nxt::ROLE_REPLY);
        out.put_u32(role.saturating_sub(1));
        at
    } else {
        let at = start(&mut out, version, ofpt::ROLE_REPLY, xid);
        out.put_u32(role);
        out.put_u32(0);
        out.put_u64(generation_id);
        at
    };
    end(&mut out, at);
    out
}

/// A bridge port as `show` and `dump-ports-desc` print it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PortDesc {
    /// Port number, hwol numbering (`LOCAL` = `0xfffe`).
    pub port_no: u32,
    /// MAC address.
    pub hw_addr: [u8; 6],
    /// Name.
    pub name: String,
    /// `OFPPC_*` config bits.
    pub config: u32,
    /// True when the link is down.
    pub link_down: bool,
    /// Current speed, kbit/s (0 = unknown).
    pub curr_speed: u32,
    /// Maximum speed, kbit/s.
    pub max_speed: u32,
}

fn put_port_desc(out: &mut Vec<u8>, version: u8, p: &PortDesc) {
    if version == OFP10 {
        out.put_u16(p.port_no as u16);
        out.extend_from_slice(&p.hw_addr);
        out.put_str(&p.name, 16);
        out.put_u32(p.config);
        out.put_u32(p.link_down as u32);
        out.put_zeros(16);
        return;
    }
    let state = if p.link_down { 1 } else { 4 };
    out.put_u32(port_to_of11(p.port_no));
    if version >= OFP14 {
        out.put_u16(72);
        out.put_u16(0);
    } else {
        out.put_u32(0);
    }
    out.extend_from_slice(&p.hw_addr);
    out.put_u16(0);
    out.put_str(&p.name, 16);
    out.put_u32(p.config);
    out.put_u32(state);
    if version >= OFP14 {
        out.put_u16(0); // OFPPDPT_ETHERNET
        out.put_u16(32);
        out.put_u32(0);
    }
    out.put_zeros(16); // curr, advertised, supported, peer
    out.put_u32(p.curr_speed);
    out.put_u32(p.max_speed);
}

/// `OFPT_FEATURES_REPLY`. OpenFlow 1.0 lists the ports in it; later
/// versions leave them to a port-description request.
pub fn features_reply(version: u8, xid: u32, dpid: u64, n_tables: u8, ports: &[PortDesc]) -> Vec<u8> {
    let mut out = Vec::new();
    let at = start(&mut out, version, ofpt::FEATURES_REPLY, xid);
    out.put_u64(dpid);
    out.put_u32(0); // n_buffers
    out.put_u8(n_tables);
    if version == OFP10 {
        out.put_zeros(3);
        // FLOW_STATS | TABLE_STATS | PORT_STATS | ARP_MATCH_IP
        out.put_u32(0x1 | 0x2 | 0x4 | 0x80);
        // OUTPUT, SET_VLAN_VID, SET_VLAN_PCP, STRIP_VLAN, SET_DL_SRC/DST,
        // SET_NW_SRC/DST, SET_NW_TOS, SET_TP_SRC/DST (no ENQUEUE).
        out.put_u32(0x7ff);
        for p in ports {
            put_port_desc(&mut out, version, p);
        }
    } else {
        out.put_u8(0);
        out.put_u16(0);
        out.put_u32(0x1 | 0x2 | 0x4);
        out.put_u32(0);
    }
    end(&mut out, at);
    out
}

/// Split statistics entries into reply messages. `nx_sub` makes them
/// Nicira vendor statistics (`NXST_*`, OpenFlow 1.0).
pub fn multipart(version: u8, xid: u32, ty: u16, nx_sub: Option<u32>, entries: &[Vec<u8>]) -> Vec<Vec<u8>> {
    const MAX: usize = 0xfff0;
    let msg_ty = if version == OFP10 { ofpt::OF10_STATS_REPLY } else { ofpt::MULTIPART_REPLY };
    let begin = |more: bool| {
        let mut out = Vec::new();
        start(&mut out, version, msg_ty, xid);
        out.put_u16(if nx_sub.is_some() { ofpmp::EXPERIMENTER } else { ty });
        out.put_u16(more as u16);
        if version != OFP10 {
            out.put_u32(0);
        }
        if let Some(s) = nx_sub {
            out.put_u32(NX_VENDOR);
            out.put_u32(s);
            out.put_u32(0);
        }
        out
    };
    let mut msgs = Vec::new();
    let mut cur = begin(false);
    let header = cur.len();
    for e in entries {
        if cur.len() + e.len() > MAX && cur.len() > header {
            cur.set_u16(10, 1); // OFPSF_REPLY_MORE
            end(&mut cur, 0);
            msgs.push(std::mem::replace(&mut cur, begin(false)));
        }
        cur.extend_from_slice(e);
    }
    end(&mut cur, 0);
    msgs.push(cur);
    msgs
}

/// `OFPST_DESC` body.
pub fn desc_body(mfr: &str, hw: &str, sw: &str, serial: &str, dp: &str) -> Vec<u8> {
    let mut out = Vec::new();
    out.put_str(mfr, 256);
    out.put_str(hw, 256);
    out.put_str(sw, 256);
    out.put_str(serial, 32);
    out.put_str(dp, 256);
    out
}

fn secs_nsecs(d: Duration) -> (u32, u32) {
    (d.as_secs().min(u32::MAX as u64) as u32, d.subsec_nanos())
}

fn age_plus_one(d: Duration) -> u16 {
    (d.as_secs() + 1).min(u16::MAX as u64) as u16
}

/// One flow-statistics entry in `format` for `version`.
pub fn flow_stats_entry(version: u8, format: MatchFormat, e: &FlowStatsEntry) -> Vec<u8> {
    let s = &e.spec;
    let ctx = EncodeCtx::of(&s.matches);
    let (sec, nsec) = secs_nsecs(e.duration);
    let mut out = Vec::new();
    // length (set last), table, pad, [1.0 match], duration, priority, timeouts.
    let head = |out: &mut Vec<u8>, of10_match: bool| {
        out.put_u16(0);
        out.put_u8(s.table);
        out.put_u8(0);
        if of10_match {
            of10::encode(out, &s.matches);
        }
        out.put_u32(sec);
        out.put_u32(nsec);
        out.put_u16(s.priority);
        out.put_u16(s.idle_timeout);
        out.put_u16(s.hard_timeout);
    };
    match format {
        MatchFormat::Of10 => {
            head(&mut out, true);
            out.put_zeros(6);
            out.put_u64(s.cookie);
            out.put_u64(e.n_packets);
            out.put_u64(e.n_bytes);
            encode_actions(&mut out, &s.actions, version, ctx);
        }
        MatchFormat::Nxm => {
            head(&mut out, false);
            let ml = out.len();
            out.put_u16(0);
            out.put_u16(age_plus_one(e.idle_age));
            out.put_u16(age_plus_one(e.hard_age.unwrap_or(e.duration)));
            out.put_u64(s.cookie);
            out.put_u64(e.n_packets);
            out.put_u64(e.n_bytes);
            let ms = out.len();
            let n = nxm::encode_fields(&mut out, &s.matches, Dialect::Nxm, None);
            out.set_u16(ml, n as u16);
            out.pad8(ms);
            encode_actions(&mut out, &s.actions, version, ctx);
        }
        MatchFormat::Oxm if version >= OFP15 => {
            out.put_u16(0);
            out.put_u16(0);
            out.put_u8(s.table);
            out.put_u8(0); // reason: stats request
            out.put_u16(s.priority);
            out.put_u16(s.idle_timeout);
            out.put_u16(s.hard_timeout);
            out.put_u16(0); // flags
            out.put_u16(0); // importance
            out.put_u64(s.cookie);
            nxm::encode_oxm_match(&mut out, &s.matches, version);
            let st = out.len();
            out.put_u16(0);
            out.put_u16(0);
            put_oxs(&mut out, 0, 8, ((sec as u64) << 32) | nsec as u64);
            put_oxs(&mut out, 1, 8, idle_time(e.idle_age));
            put_oxs(&mut out, 4, 8, e.n_packets);
            put_oxs(&mut out, 5, 8, e.n_bytes);
            let l = (out.len() - st) as u16;
            out.set_u16(st + 2, l);
            out.pad8(st);
            encode_instructions(&mut out, &s.actions, version, ctx);
        }
        MatchFormat::Oxm => {
            head(&mut out, false);
            out.put_u16(0); // flags
            if version >= OFP14 {
                out.put_u16(0); // importance
                out.put_u16(0);
            } else {
                out.put_u32(0);
            }
            out.put_u64(s.cookie);
            out.put_u64(e.n_packets);
            out.put_u64(e.n_bytes);
            nxm::encode_oxm_match(&mut out, &s.matches, version);
            encode_instructions(&mut out, &s.actions, version, ctx);
        }
    }
    let len = out.len() as u16;
    out.set_u16(0, len);
    out
}

fn idle_time(d: Duration) -> u64 {
    let (s, n) = secs_nsecs(d);
    ((s as u64) << 32) | n as u64
}

fn put_oxs(out: &mut Vec<u8>, field: u8, len: u8, v: u64) {
    out.put_u16(0x8002);
    out.put_u8(field << 1);
    out.put_u8(len);
    out.put_uint(v as u128, len as usize);
}

/// Aggregate statistics body.
pub fn aggregate_body(version: u8, packets: u64, bytes: u64, flows: u32) -> Vec<u8> {
    let mut out = Vec::new();
    if version >= OFP15 {
        out.put_u16(0);
        out.put_u16(0);
        put_oxs(&mut out, 4, 8, packets);
        put_oxs(&mut out, 5, 8, bytes);
        put_oxs(&mut out, 3, 4, flows as u64);
        let l = out.len() as u16;
        out.set_u16(2, l);
        out.pad8(0);
    } else {
        out.put_u64(packets);
        out.put_u64(bytes);
        out.put_u32(flows);
        out.put_u32(0);
    }
    out
}

/// One table's statistics.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TableStats {
    /// Table id.
    pub table_id: u8,
    /// Rules in it.
    pub active: u32,
    /// Packets looked up in it.
    pub lookups: u64,
    /// Packets that matched a rule in it.
    pub matched: u64,
}

/// One `OFPST_TABLE` entry.
pub fn table_stats_entry(version: u8, t: &TableStats) -> Vec<u8> {
    let mut out = Vec::new();
    out.put_u8(t.table_id);
    out.put_zeros(3);
    if version == OFP10 {
        out.put_zeros(32); // no name, as OVS

        out.put_u32(0x003f_ffff); // every OpenFlow 1.0 field can be wildcarded
        out.put_u32(1_000_000);
    }
    out.put_u32(t.active);
    out.put_u64(t.lookups);
    out.put_u64(t.matched);
    out
}

/// One port's counters; `u64::MAX` means "not counted" (`ovs-ofctl` prints `?`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PortStats {
    /// Port number, hwol numbering.
    pub port_no: u32,
    /// Packets received.
    pub rx_packets: u64,
    /// Packets sent.
    pub tx_packets: u64,
    /// Bytes received.
    pub rx_bytes: u64,
    /// Bytes sent.
    pub tx_bytes: u64,
    /// Receive drops.
    pub rx_dropped: u64,
    /// Transmit drops.
    pub tx_dropped: u64,
    /// Receive errors.
    pub rx_errors: u64,
    /// Transmit errors.
    pub tx_errors: u64,
    /// Time since the port was added.
    pub duration: Duration,
}

/// One `OFPST_PORT` entry.
pub fn port_stats_entry(version: u8, p: &PortStats) -> Vec<u8> {
    let mut out = Vec::new();
    let (sec, nsec) = secs_nsecs(p.duration);
    if version >= OFP14 {
        out.put_u16(0);
        out.put_u16(0);
        out.put_u32(port_to_of11(p.port_no));
        out.put_u32(sec);
        out.put_u32(nsec);
        for v in
            [p.rx_packets, p.tx_packets, p.rx_bytes, p.tx_bytes, p.rx_dropped, p.tx_dropped, p.rx_errors, p.tx_errors]
        {
            out.put_u64(v);
        }
        // OFPPSPT_ETHERNET: frame, overrun, CRC errors, collisions: not counted.
        out.put_u16(0);
        out.put_u16(40);
        out.put_u32(0);
        for _ in 0..4 {
            out.put_u64(u64::MAX);
        }
        let l = out.len() as u16;
        out.set_u16(0, l);
        return out;
    }
    if version == OFP10 {
        out.put_u16(p.port_no as u16);
        out.put_zeros(6);
    } else {
        out.put_u32(port_to_of11(p.port_no));
        out.put_u32(0);
    }
    for v in [p.rx_packets, p.tx_packets, p.rx_bytes, p.tx_bytes, p.rx_dropped, p.tx_dropped, p.rx_errors, p.tx_errors]
    {
        out.put_u64(v);
    }
    for _ in 0..4 {
        out.put_u64(u64::MAX);
    }
    if version >= OFP13 {
        out.put_u32(sec);
        out.put_u32(nsec);
    }
    out
}

/// One `OFPST_PORT_DESC` entry.
pub fn port_desc_entry(version: u8, p: &PortDesc) -> Vec<u8> {
    let mut out = Vec::new();
    put_port_desc(&mut out, version, p);
    out
}

/// One `OFPMP_TABLE_FEATURES` entry: name, full metadata match/write, a
/// capacity, and the eight properties `ovs-ofctl` requires: instructions
/// (goto_table, apply_actions), next tables, apply actions (output,
/// push/pop VLAN, dec TTL, set-field), and the match, wildcard and
/// apply-set-field lists (every field of [`nxm::FIELDS`] plus the
/// registers). Write-actions lists are empty: hwol has no action sets.
pub fn table_features_entry(table_id: u8, n_tables: u8) -> Vec<u8> {
    let mut out = Vec::new();
    out.put_u16(0);
    out.put_u8(table_id);
    out.put_zeros(5);
    out.put_str(&format!("table{table_id}"), 32);
    out.put_u64(u64::MAX);
    out.put_u64(u64::MAX);
    out.put_u32(0);
    out.put_u32(1_000_000);
    let prop = |out: &mut Vec<u8>, ty: u16, body: &[u8]| {
        let at = out.len();
        out.put_u16(ty);
        out.put_u16(4 + body.len() as u16);
        out.extend_from_slice(body);
        out.pad8(at);
    };
    let mut insts = Vec::new();
    for t in [1u16, 4] {
        insts.put_u16(t);
        insts.put_u16(4);
    }
    prop(&mut out, 0, &insts);
    let next: Vec<u8> = (table_id.saturating_add(1)..n_tables).collect();
    prop(&mut out, 2, &next);
    prop(&mut out, 4, &[]);
    let mut acts = Vec::new();
    for t in [0u16, 17, 18, 24, 25] {
        acts.put_u16(t);
        acts.put_u16(4);
    }
    prop(&mut out, 6, &acts);
    let mut fields = Vec::new();
    for w in nxm::FIELDS.iter().filter(|w| w.conv != nxm::Conv::Cookie) {
        fields.put_u32(w.header());
    }
    for n in 0..16 {
        if let Some(w) = nxm::lookup(nxm::NXM_NX, n, None) {
            fields.put_u32(w.header());
        }
    }
    prop(&mut out, 8, &fields);
    prop(&mut out, 10, &fields);
    prop(&mut out, 12, &[]);
    prop(&mut out, 14, &fields);
    let len = out.len() as u16;
    out.set_u16(0, len);
    out
}
