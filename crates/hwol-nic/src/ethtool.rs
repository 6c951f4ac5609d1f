//! ethtool over generic netlink: read and set one netdev feature by name
//! (`hw-tc-offload`), as `ethtool -k` / `ethtool -K <dev> hw-tc-offload on`
//! do with `ETHTOOL_MSG_FEATURES_GET` / `ETHTOOL_MSG_FEATURES_SET`.
//!
//! Bitsets are requested and sent in the verbose form (bit names), so no
//! feature-index table is needed. Constants are named as in
//! `linux/ethtool_netlink.h`.

use crate::genl::{self, Attr, MsgBuilder, NLM_F_ACK, NLM_F_REQUEST};
use crate::nl::{NlFailure, NlSocket};
use crate::NicError;

/// `ETHTOOL_GENL_NAME`.
pub const ETHTOOL_GENL_NAME: &str = "ethtool";
/// `ETHTOOL_GENL_VERSION`.
pub const ETHTOOL_GENL_VERSION: u8 = 1;
/// `ETHTOOL_MSG_FEATURES_GET`.
pub const ETHTOOL_MSG_FEATURES_GET: u8 = 11;
/// `ETHTOOL_MSG_FEATURES_SET`.
pub const ETHTOOL_MSG_FEATURES_SET: u8 = 12;
/// `ETHTOOL_A_FEATURES_HEADER` (nested).
pub const ETHTOOL_A_FEATURES_HEADER: u16 = 1;
/// `ETHTOOL_A_FEATURES_HW`: changeable features (bitset).
pub const ETHTOOL_A_FEATURES_HW: u16 = 2;
/// `ETHTOOL_A_FEATURES_WANTED` (bitset).
pub const ETHTOOL_A_FEATURES_WANTED: u16 = 3;
/// `ETHTOOL_A_FEATURES_ACTIVE` (bitset).
pub const ETHTOOL_A_FEATURES_ACTIVE: u16 = 4;
/// `ETHTOOL_A_HEADER_DEV_NAME` (string).
pub const ETHTOOL_A_HEADER_DEV_NAME: u16 = 2;
/// `ETHTOOL_A_BITSET_NOMASK` (flag).
pub const ETHTOOL_A_BITSET_NOMASK: u16 = 1;
/// `ETHTOOL_A_BITSET_BITS` (nested).
pub const ETHTOOL_A_BITSET_BITS: u16 = 3;
/// `ETHTOOL_A_BITSET_BITS_BIT` (nested).
pub const ETHTOOL_A_BITSET_BITS_BIT: u16 = 1;
/// `ETHTOOL_A_BITSET_BIT_NAME` (string).
pub const ETHTOOL_A_BITSET_BIT_NAME: u16 = 2;
/// `ETHTOOL_A_BITSET_BIT_VALUE` (flag).
pub const ETHTOOL_A_BITSET_BIT_VALUE: u16 = 3;

/// The feature hwol needs on the PF and the representors.
pub const HW_TC_OFFLOAD: &str = "hw-tc-offload";

/// The `ethtool -k <dev>` request.
pub fn features_get_request(family: u16, seq: u32, ifname: &str) -> Vec<u8> {
    let mut m =
        MsgBuilder::genl(family, NLM_F_REQUEST | NLM_F_ACK, seq, ETHTOOL_MSG_FEATURES_GET, ETHTOOL_GENL_VERSION);
    m.begin(ETHTOOL_A_FEATURES_HEADER).str(ETHTOOL_A_HEADER_DEV_NAME, ifname).end();
    m.finish()
}

/// The `ethtool -K <dev> <feature> on|off` request: a verbose bitset
/// naming one bit, without NOMASK (other features are left alone).
pub fn feature_set_request(family: u16, seq: u32, ifname: &str, feature: &str, on: bool) -> Vec<u8> {
    let mut m =
        MsgBuilder::genl(family, NLM_F_REQUEST | NLM_F_ACK, seq, ETHTOOL_MSG_FEATURES_SET, ETHTOOL_GENL_VERSION);
    m.begin(ETHTOOL_A_FEATURES_HEADER).str(ETHTOOL_A_HEADER_DEV_NAME, ifname).end();
    m.begin(ETHTOOL_A_FEATURES_WANTED).begin(ETHTOOL_A_BITSET_BITS).begin(ETHTOOL_A_BITSET_BITS_BIT);
    m.str(ETHTOOL_A_BITSET_BIT_NAME, feature);
    if on {
        m.flag(ETHTOOL_A_BITSET_BIT_VALUE);
    }
    m.end().end().end();
    m.finish()
}

/// Whether bit `name` is set in a verbose bitset attribute; `None` if the
/// bitset does not list it and is a masked one (then it says nothing).
pub fn bitset_bit(bitset: &Attr<'_>, name: &str) -> Option<bool> {
    let inner = bitset.nested();
    let nomask = genl::find(&inner, ETHTOOL_A_BITSET_NOMASK).is_some();
    let bits = genl::find(&inner, ETHTOOL_A_BITSET_BITS)?;
    for bit in bits.nested().iter().filter(|b| b.ty == ETHTOOL_A_BITSET_BITS_BIT) {
        let f = bit.nested();
        if genl::find(&f, ETHTOOL_A_BITSET_BIT_NAME).map(|n| n.string()).as_deref() == Some(name) {
            return Some(nomask || genl::find(&f, ETHTOOL_A_BITSET_BIT_VALUE).is_some());
        }
    }
    nomask.then_some(false)
}

/// A feature's state from a `FEATURES_GET` reply payload (genl header
/// included): `(active, changeable)`.
pub fn parse_feature(payload: &[u8], name: &str) -> Option<(bool, bool)> {
    let a = genl::attrs(payload.get(4..)?);
    let active = bitset_bit(&genl::find(&a, ETHTOOL_A_FEATURES_ACTIVE)?, name).unwrap_or(false);
    let hw = genl::find(&a, ETHTOOL_A_FEATURES_HW).and_then(|b| bitset_bit(&b, name)).unwrap_or(false);
    Some((active, hw))
}

/// An ethtool generic-netlink connection.
#[derive(Debug)]
pub struct Ethtool {
    sock: NlSocket,
    family: u16,
}

impl Ethtool {
    /// Connect; `Ok(None)` when the kernel has no ethtool netlink (< 5.6).
    pub fn open() -> Result<Option<Self>, NicError> {
        let mut sock = NlSocket::generic().map_err(|e| fail("open", e))?;
        Ok(sock
            .family_id(ETHTOOL_GENL_NAME)
            .map_err(|e| fail("resolve family", e))?
            .map(|family| Ethtool { sock, family }))
    }

    /// `(active, changeable)` of feature `name` on `ifname`.
    pub fn feature(&mut self, ifname: &str, name: &str) -> Result<(bool, bool), NicError> {
        let seq = self.sock.next_seq();
        let op = format!("features get {ifname}");
        let replies = self.sock.request(&features_get_request(self.family, seq, ifname)).map_err(|e| fail(&op, e))?;
        replies.iter().find_map(|p| parse_feature(p, name)).ok_or_else(|| NicError::Netlink {
            family: "ethtool",
            op,
            message: format!("reply does not list feature {name}"),
            errno: 0,
        })
    }

    /// Turn feature `name` on or off on `ifname`, and check that it took.
    pub fn set_feature(&mut self, ifname: &str, name: &str, on: bool) -> Result<(), NicError> {
        let seq = self.sock.next_seq();
        let op = format!("-K {ifname} {name} {}", if on { "on" } else { "off" });
        self.sock.request(&feature_set_request(self.family, seq, ifname, name, on)).map_err(|e| fail(&op, e))?;
        let (active, changeable) = self.feature(ifname, name)?;
        if active != on {
            return Err(NicError::Netlink {
                family: "ethtool",
                op,
                message: if changeable {
                    format!("{name} is still {}", if active { "on" } else { "off" })
                } else {
                    format!("{name} is fixed on {ifname} (not in its changeable features)")
                },
                errno: 95,
            });
        }
        Ok(())
    }
}

fn fail(op: &str, e: NlFailure) -> NicError {
    NicError::Netlink { family: "ethtool", op: op.into(), message: e.message, errno: e.errno }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_request_bytes() {
        // `ethtool -K lo hw-tc-offload on` (ethtool 6.1, strace) sends:
        //   nlmsg_len=76 ethtool REQUEST|ACK seq=3
        //   0c 01 00 00                    ETHTOOL_MSG_FEATURES_SET, version 1
        //   14 00 01 80                    HEADER (nested, 20 bytes)
        //     07 00 02 00 6c 6f 00 00      DEV_NAME "lo"
        //     08 00 03 00 01 00 00 00      FLAGS = COMPACT_BITSETS (for its reply)
        //   24 00 03 80                    WANTED (nested, 36 bytes)
        //     20 00 03 80                  BITS
        //       1c 00 01 80                BIT
        //         12 00 02 00 "hw-tc-offload\0" + 2 bytes padding
        //         04 00 03 00              VALUE (flag)
        // We send the same without FLAGS (we parse verbose replies): 68 bytes.
        let m = feature_set_request(20, 3, "lo", HW_TC_OFFLOAD, true);
        #[rustfmt::skip]
        let want: Vec<u8> = [
            &68u32.to_ne_bytes()[..], &20u16.to_ne_bytes(), &5u16.to_ne_bytes(), &3u32.to_ne_bytes(), &0u32.to_ne_bytes(),
            &[0x0c, 0x01, 0x00, 0x00],
            &[0x0c, 0x00, 0x01, 0x80], &[0x07, 0x00, 0x02, 0x00, 0x6c, 0x6f, 0x00, 0x00],
            &[0x24, 0x00, 0x03, 0x80], &[0x20, 0x00, 0x03, 0x80], &[0x1c, 0x00, 0x01, 0x80],
            &[0x12, 0x00, 0x02, 0x00], b"hw-tc-offload\0", &[0, 0],
            &[0x04, 0x00, 0x03, 0x00],
        ].concat();
        assert_eq!(m, want);
        // Off: the same bit without VALUE.
        let off = feature_set_request(20, 3, "lo", HW_TC_OFFLOAD, false);
        assert_eq!(off.len(), 64);
        assert!(!off.ends_with(&[0x04, 0x00, 0x03, 0x00]));
    }

    fn bitset(m: &mut MsgBuilder, ty: u16, nomask: bool, bits: &[(&str, bool)]) {
        m.begin(ty);
        if nomask {
            m.flag(ETHTOOL_A_BITSET_NOMASK);
        }
        m.begin(ETHTOOL_A_BITSET_BITS);
        for (name, v) in bits {
            m.begin(ETHTOOL_A_BITSET_BITS_BIT).str(ETHTOOL_A_BITSET_BIT_NAME, name);
            if *v {
                m.flag(ETHTOOL_A_BITSET_BIT_VALUE);
            }
            m.end();
        }
        m.end().end();
    }

    #[test]
    fn parse_reply() {
        let mut m = MsgBuilder::genl(20, 0, 1, ETHTOOL_MSG_FEATURES_GET, 1);
        bitset(&mut m, ETHTOOL_A_FEATURES_HW, true, &[("rx-gro", true), (HW_TC_OFFLOAD, true)]);
        bitset(&mut m, ETHTOOL_A_FEATURES_ACTIVE, true, &[("rx-gro", true)]);
        let p = m.finish()[16..].to_vec();
        assert_eq!(parse_feature(&p, HW_TC_OFFLOAD), Some((false, true)));
        assert_eq!(parse_feature(&p, "rx-gro"), Some((true, true)));

        let mut m = MsgBuilder::genl(20, 0, 1, ETHTOOL_MSG_FEATURES_GET, 1);
        bitset(&mut m, ETHTOOL_A_FEATURES_ACTIVE, false, &[(HW_TC_OFFLOAD, true), ("rx-gro", false)]);
        let p = m.finish()[16..].to_vec();
        assert_eq!(parse_feature(&p, HW_TC_OFFLOAD), Some((true, false)));
        assert_eq!(parse_feature(&p, "rx-gro"), Some((false, false)));
    }
}
