//! Rust mirrors of the structs in `bpf/hwol_shared.h`, and the stable miss
//! and drop reason codes.
//!
//! Every struct is `#[repr(C)]`, has explicit padding and derives
//! `bytemuck::Pod`, so it is moved in and out of maps as plain bytes. Sizes
//! and offsets are asserted at compile time below with the same numbers the
//! C header `_Static_assert`s; a change to one side that is not made on the
//! other breaks the build of that side. This module does no I/O.

use bytemuck::{Pod, Zeroable};
use core::mem::{offset_of, size_of};

/// Mask slots the programs probe per lookup (`HWOL_MAX_MASKS`).
pub const MAX_MASKS: usize = 16;
/// Actions per flow (`HWOL_MAX_ACTIONS`).
pub const MAX_ACTIONS: usize = 6;
/// Lookups per packet, first pass included (`HWOL_MAX_PASSES`).
pub const MAX_PASSES: usize = 4;
/// Capacity of the flows map (`HWOL_MAX_FLOWS`).
pub const MAX_FLOWS: usize = 8192;
/// Capacity of the conntrack map (`HWOL_MAX_CT`).
pub const MAX_CT: usize = 65536;
/// Capacity of the port maps (`HWOL_MAX_PORTS`).
pub const MAX_PORTS: usize = 1024;
/// Number of reason counters (`HWOL_N_REASONS`).
pub const N_REASONS: usize = 16;
/// Outer tag of upcalls in tc mode (`HWOL_UPCALL_TPID`, 802.1ad).
pub const UPCALL_TPID: u16 = 0x88a8;

/// `HWOL_ACT_OUTPUT`: `arg` is the datapath port.
pub const ACT_OUTPUT: u16 = 1;
/// `HWOL_ACT_CT`: `arg` is the zone, `flags` are `CT_F_*`.
pub const ACT_CT: u16 = 2;
/// `HWOL_ACT_RECIRC`: `arg` is the recirculation id.
pub const ACT_RECIRC: u16 = 3;
/// `HWOL_ACT_SET_ETH`: the `eth_*` fields apply; `flags` may hold `SET_F_MASKED`.
pub const ACT_SET_ETH: u16 = 4;
/// `ct(commit)`.
pub const CT_F_COMMIT: u16 = 1;
/// `ct(force_commit)`.
pub const CT_F_FORCE: u16 = 2;
/// The set action was `set_masked`.
pub const SET_F_MASKED: u16 = 1;
/// Conntrack entry for the original direction.
pub const CT_DIR_ORIG: u8 = 0;
/// Conntrack entry for the reply direction.
pub const CT_DIR_REPLY: u8 = 1;

/// `struct hwol_key`: the fields a flow can match on.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Pod, Zeroable)]
pub struct BpfKey {
    /// Recirculation id.
    pub recirc_id: u32,
    /// Datapath input port.
    pub in_port: u32,
    /// Connection mark.
    pub ct_mark: u32,
    /// Conntrack zone.
    pub ct_zone: u16,
    /// Conntrack state bits.
    pub ct_state: u8,
    /// IP protocol.
    pub nw_proto: u8,
    /// Ethernet source.
    pub eth_src: [u8; 6],
    /// Ethernet destination.
    pub eth_dst: [u8; 6],
    /// Innermost EtherType (host order).
    pub eth_type: u16,
    /// Outer VLAN TCI.
    pub vlan_tci: u16,
    /// Outer VLAN TPID, 0 when untagged.
    pub vlan_tpid: u16,
    /// TCP flags (12 bits).
    pub tcp_flags: u16,
    /// IPv4 source (or ARP spa).
    pub ipv4_src: [u8; 4],
    /// IPv4 destination (or ARP tpa).
    pub ipv4_dst: [u8; 4],
    /// IPv6 source.
    pub ipv6_src: [u8; 16],
    /// IPv6 destination.
    pub ipv6_dst: [u8; 16],
    /// L4 source port or ICMP type.
    pub tp_src: u16,
    /// L4 destination port or ICMP code.
    pub tp_dst: u16,
    /// TOS / traffic class.
    pub nw_tos: u8,
    /// TTL / hop limit.
    pub nw_ttl: u8,
    /// Fragment bits.
    pub nw_frag: u8,
    /// Zero.
    pub pad0: u8,
    /// Zero.
    pub pad1: u32,
}

impl BpfKey {
    /// `self & mask`, field by field (padding included).
    pub fn masked(&self, mask: &BpfKey) -> BpfKey {
        let mut out = [0u8; size_of::<BpfKey>()];
        for ((o, k), m) in out.iter_mut().zip(bytemuck::bytes_of(self)).zip(bytemuck::bytes_of(mask)) {
            *o = k & m;
        }
        bytemuck::cast(out)
    }
}

/// `struct hwol_flow_key`: key of the flows map.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Pod, Zeroable)]
pub struct BpfFlowKey {
    /// Mask slot.
    pub mask_idx: u32,
    /// The flow key ANDed with that slot's mask.
    pub key: BpfKey,
}

/// `struct hwol_mask`: one slot of the masks array.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Pod, Zeroable)]
pub struct BpfMask {
    /// Non-zero when the slot is in use.
    pub active: u32,
    /// The mask.
    pub mask: BpfKey,
}

/// `struct hwol_action`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Pod, Zeroable)]
pub struct BpfAction {
    /// `ACT_*`.
    pub kind: u16,
    /// `CT_F_*` or `SET_F_*`.
    pub flags: u16,
    /// Port, zone or recirculation id.
    pub arg: u32,
    /// New Ethernet source (under `eth_src_mask`).
    pub eth_src: [u8; 6],
    /// Which bits of `eth_src` are written.
    pub eth_src_mask: [u8; 6],
    /// New Ethernet destination (under `eth_dst_mask`).
    pub eth_dst: [u8; 6],
    /// Which bits of `eth_dst` are written.
    pub eth_dst_mask: [u8; 6],
}

/// `struct hwol_flow`: value of the flows map.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Pod, Zeroable)]
pub struct BpfFlow {
    /// Low 64 bits of the ufid.
    pub ufid_lo: u64,
    /// High 64 bits of the ufid.
    pub ufid_hi: u64,
    /// Packets that hit the flow.
    pub packets: u64,
    /// Bytes of those packets.
    pub bytes: u64,
    /// `bpf_ktime_get_ns()` of the last hit, 0 if none.
    pub used_ns: u64,
    /// Number of valid entries in `actions`.
    pub n_actions: u32,
    /// Zero.
    pub pad: u32,
    /// The actions.
    pub actions: [BpfAction; MAX_ACTIONS],
}

impl BpfFlow {
    /// The flow's ufid.
    pub fn ufid(&self) -> u128 {
        (u128::from(self.ufid_hi) << 64) | u128::from(self.ufid_lo)
    }
}

/// `struct hwol_ct_key`: zone and 5-tuple, in one direction.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Pod, Zeroable)]
pub struct BpfCtKey {
    /// Zone.
    pub zone: u16,
    /// IP protocol (TCP or UDP).
    pub proto: u8,
    /// 4 or 6.
    pub family: u8,
    /// Source port.
    pub sport: u16,
    /// Destination port.
    pub dport: u16,
    /// Source address (IPv4 in the first 4 bytes).
    pub src: [u8; 16],
    /// Destination address.
    pub dst: [u8; 16],
}

/// `struct hwol_ct_val`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Pod, Zeroable)]
pub struct BpfCtVal {
    /// Connection mark.
    pub mark: u32,
    /// `CT_DIR_*`.
    pub dir: u8,
    /// Zero.
    pub pad: [u8; 3],
    /// `bpf_ktime_get_ns()` of the last hit, 0 if none.
    pub used_ns: u64,
}

/// `struct hwol_cfg`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Pod, Zeroable)]
pub struct BpfCfg {
    /// tc: ifindex misses are redirected to; 0 = pass them to the stack.
    pub upcall_ifindex: u32,
    /// Zero.
    pub pad: u32,
}

macro_rules! check {
    ($t:ty, $f:ident, $off:expr) => {
        const _: () = assert!(offset_of!($t, $f) == $off);
    };
}
const _: () = assert!(size_of::<BpfKey>() == 88);
check!(BpfKey, in_port, 4);
check!(BpfKey, ct_mark, 8);
check!(BpfKey, ct_zone, 12);
check!(BpfKey, ct_state, 14);
check!(BpfKey, nw_proto, 15);
check!(BpfKey, eth_src, 16);
check!(BpfKey, eth_dst, 22);
check!(BpfKey, eth_type, 28);
check!(BpfKey, vlan_tci, 30);
check!(BpfKey, vlan_tpid, 32);
check!(BpfKey, tcp_flags, 34);
check!(BpfKey, ipv4_src, 36);
check!(BpfKey, ipv4_dst, 40);
check!(BpfKey, ipv6_src, 44);
check!(BpfKey, ipv6_dst, 60);
check!(BpfKey, tp_src, 76);
check!(BpfKey, tp_dst, 78);
check!(BpfKey, nw_tos, 80);
check!(BpfKey, nw_ttl, 81);
check!(BpfKey, nw_frag, 82);
const _: () = assert!(size_of::<BpfFlowKey>() == 92);
check!(BpfFlowKey, key, 4);
const _: () = assert!(size_of::<BpfMask>() == 92);
check!(BpfMask, mask, 4);
const _: () = assert!(size_of::<BpfAction>() == 32);
check!(BpfAction, flags, 2);
check!(BpfAction, arg, 4);
check!(BpfAction, eth_src, 8);
check!(BpfAction, eth_src_mask, 14);
check!(BpfAction, eth_dst, 20);
check!(BpfAction, eth_dst_mask, 26);
const _: () = assert!(size_of::<BpfFlow>() == 48 + 32 * MAX_ACTIONS);
check!(BpfFlow, ufid_hi, 8);
check!(BpfFlow, packets, 16);
check!(BpfFlow, bytes, 24);
check!(BpfFlow, used_ns, 32);
check!(BpfFlow, n_actions, 40);
check!(BpfFlow, actions, 48);
const _: () = assert!(size_of::<BpfCtKey>() == 40);
check!(BpfCtKey, proto, 2);
check!(BpfCtKey, family, 3);
check!(BpfCtKey, sport, 4);
check!(BpfCtKey, dport, 6);
check!(BpfCtKey, src, 8);
check!(BpfCtKey, dst, 24);
const _: () = assert!(size_of::<BpfCtVal>() == 16);
check!(BpfCtVal, dir, 4);
check!(BpfCtVal, used_ns, 8);
const _: () = assert!(size_of::<BpfCfg>() == 8);

/// Byte images of the structs, as stored in the maps.
pub(crate) type FlowKeyBytes = [u8; size_of::<BpfFlowKey>()];
pub(crate) type FlowBytes = [u8; size_of::<BpfFlow>()];
pub(crate) type MaskBytes = [u8; size_of::<BpfMask>()];
pub(crate) type CtKeyBytes = [u8; size_of::<BpfCtKey>()];
pub(crate) type CtValBytes = [u8; size_of::<BpfCtVal>()];
pub(crate) type CfgBytes = [u8; size_of::<BpfCfg>()];

/// What the fast path did with a packet: `enum hwol_reason`. Stable codes
/// (the index of the per-CPU counter), shared with the programs; labels are
/// stable too, for metrics.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u32)]
pub enum Reason {
    /// A flow hit ended in an output.
    Forwarded = 0,
    /// No flow matched: slow path.
    MissFlow = 1,
    /// `ct()`: the connection is not in the fast path.
    MissCt = 2,
    /// `ct()`: TCP FIN or RST, handed to software so it sees the teardown.
    MissCtTeardown = 3,
    /// `ct()`: not TCP/UDP, or a fragment.
    MissCtProto = 4,
    /// A header the parser does not handle (second VLAN tag, IPv6 extension header, truncated).
    MissParse = 5,
    /// More than [`MAX_PASSES`] lookups.
    MissRecirc = 6,
    /// The ingress device is not an attached port.
    MissNoPort = 7,
    /// The flow's actions drop the packet.
    DropAction = 8,
    /// Output to a port that is no longer attached.
    DropOutPort = 9,
    /// A miss that could not be sent to the upcall device.
    DropUpcall = 10,
    /// tc: a miss with no upcall device configured, passed to the host stack.
    MissNoUpcall = 11,
}

impl Reason {
    /// Every reason, in code order.
    pub const ALL: [Reason; 12] = [
        Reason::Forwarded,
        Reason::MissFlow,
        Reason::MissCt,
        Reason::MissCtTeardown,
        Reason::MissCtProto,
        Reason::MissParse,
        Reason::MissRecirc,
        Reason::MissNoPort,
        Reason::DropAction,
        Reason::DropOutPort,
        Reason::DropUpcall,
        Reason::MissNoUpcall,
    ];

    /// The stable label (metrics, `offload-stats-show`).
    pub fn label(self) -> &'static str {
        match self {
            Reason::Forwarded => "forwarded",
            Reason::MissFlow => "miss_flow",
            Reason::MissCt => "miss_ct",
            Reason::MissCtTeardown => "miss_ct_teardown",
            Reason::MissCtProto => "miss_ct_proto",
            Reason::MissParse => "miss_parse",
            Reason::MissRecirc => "miss_recirc",
            Reason::MissNoPort => "miss_no_port",
            Reason::DropAction => "drop_action",
            Reason::DropOutPort => "drop_out_port",
            Reason::DropUpcall => "drop_upcall",
            Reason::MissNoUpcall => "miss_no_upcall",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The C header's enum values, read from the source, equal ours.
    #[test]
    fn reason_codes_match_the_c_header() {
        let h = include_str!("../bpf/hwol_shared.h");
        let c_name = |r: Reason| format!("HWOL_R_{}", r.label().to_uppercase());
        for r in Reason::ALL {
            let name = c_name(r);
            let line = h.lines().find(|l| l.trim_start().starts_with(&format!("{name} ="))).unwrap_or_else(|| {
                panic!("{name} missing from hwol_shared.h");
            });
            let val: u32 = line.split('=').nth(1).unwrap().split(',').next().unwrap().trim().parse().unwrap();
            assert_eq!(val, r as u32, "{name}");
        }
    }

    #[test]
    fn constants_match_the_c_header() {
        let h = include_str!("../bpf/hwol_shared.h");
        let define = |n: &str| -> u64 {
            let l = h.lines().find(|l| l.starts_with(&format!("#define {n} "))).expect(n);
            let v = l.split_whitespace().nth(2).unwrap();
            if let Some(x) = v.strip_prefix("0x") {
                u64::from_str_radix(x, 16).unwrap()
            } else {
                v.parse().unwrap()
            }
        };
        assert_eq!(define("HWOL_MAX_MASKS"), MAX_MASKS as u64);
        assert_eq!(define("HWOL_MAX_ACTIONS"), MAX_ACTIONS as u64);
        assert_eq!(define("HWOL_MAX_PASSES"), MAX_PASSES as u64);
        assert_eq!(define("HWOL_MAX_FLOWS"), MAX_FLOWS as u64);
        assert_eq!(define("HWOL_MAX_CT"), MAX_CT as u64);
        assert_eq!(define("HWOL_MAX_PORTS"), MAX_PORTS as u64);
        assert_eq!(define("HWOL_N_REASONS"), N_REASONS as u64);
        assert_eq!(define("HWOL_UPCALL_TPID"), UPCALL_TPID as u64);
        assert_eq!(define("HWOL_CS_EST"), hwol_flow::ct_state::EST as u64);
        assert_eq!(define("HWOL_CS_TRK"), hwol_flow::ct_state::TRK as u64);
        assert_eq!(define("HWOL_CS_RPL"), hwol_flow::ct_state::RPL as u64);
        assert_eq!(define("HWOL_CT_F_COMMIT"), CT_F_COMMIT as u64);
        assert_eq!(define("HWOL_CT_F_FORCE"), CT_F_FORCE as u64);
        assert_eq!(define("HWOL_SET_F_MASKED"), SET_F_MASKED as u64);
    }

    /// Every field of every shared struct sits where the compiled C object's
    /// BTF (`bpftool btf dump`) says it does, and the sizes agree.
    #[test]
    fn rust_mirrors_match_the_btf_of_the_compiled_programs() {
        macro_rules! fields {
            ($t:ty, $c:literal, [$($f:ident $(as $cn:literal)?),* $(,)?]) => {
                ($c, size_of::<$t>(), vec![$((fields!(@name $f $($cn)?), offset_of!($t, $f))),*])
            };
            (@name $f:ident $cn:literal) => { $cn };
            (@name $f:ident) => { stringify!($f) };
        }
        let structs = [
            fields!(
                BpfKey,
                "hwol_key",
                [
                    recirc_id, in_port, ct_mark, ct_zone, ct_state, nw_proto, eth_src, eth_dst, eth_type, vlan_tci,
                    vlan_tpid, tcp_flags, ipv4_src, ipv4_dst, ipv6_src, ipv6_dst, tp_src, tp_dst, nw_tos, nw_ttl,
                    nw_frag, pad0, pad1,
                ]
            ),
            fields!(BpfFlowKey, "hwol_flow_key", [mask_idx, key]),
            fields!(BpfMask, "hwol_mask", [active, mask]),
            fields!(BpfAction, "hwol_action", [kind as "type", flags, arg, eth_src, eth_src_mask, eth_dst, eth_dst_mask]),
            fields!(BpfFlow, "hwol_flow", [ufid_lo, ufid_hi, packets, bytes, used_ns, n_actions, pad, actions]),
            fields!(BpfCtKey, "hwol_ct_key", [zone, proto, family, sport, dport, src, dst]),
            fields!(BpfCtVal, "hwol_ct_val", [mark, dir, pad, used_ns]),
            fields!(BpfCfg, "hwol_cfg", [upcall_ifindex, pad]),
        ];
        for obj in ["xdp.o", "tc.o"] {
            let path = format!("{}/{obj}", env!("OUT_DIR"));
            let out = std::process::Command::new("bpftool")
                .args(["btf", "dump", "file", &path, "format", "raw"])
                .output()
                .expect("bpftool is needed to check layouts against BTF; run scripts/setup.sh");
            assert!(out.status.success(), "bpftool: {}", String::from_utf8_lossy(&out.stderr));
            let text = String::from_utf8(out.stdout).unwrap();
            for (c_name, size, fields) in &structs {
                let head = format!("STRUCT '{c_name}' size=");
                let mut lines = text.lines().skip_while(|l| !l.contains(&head));
                let first = lines.next().unwrap_or_else(|| panic!("{obj}: no BTF for struct {c_name}"));
                assert!(first.contains(&format!("size={size} ")), "{obj}: {first} but Rust size is {size}");
                let members: Vec<(String, usize)> = lines
                    .take_while(|l| l.starts_with('\t'))
                    .map(|l| {
                        let name = l.trim().split('\'').nth(1).unwrap().to_string();
                        let bits: usize = l.split("bits_offset=").nth(1).unwrap().trim().parse().unwrap();
                        (name, bits / 8)
                    })
                    .collect();
                let ours: Vec<(String, usize)> = fields.iter().map(|(n, o)| (n.to_string(), *o)).collect();
                assert_eq!(members, ours, "{obj}: struct {c_name} (C from BTF vs Rust)");
            }
        }
    }
}
