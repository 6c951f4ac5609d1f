//! devlink over generic netlink: the port dump (representor discovery) and
//! the eswitch mode (legacy/switchdev).
//!
//! Only the handful of commands and attributes hwol needs are encoded, with
//! the names of `linux/devlink.h`. Requests are what `devlink port show` and
//! `devlink dev eswitch show|set <bus>/<dev> mode switchdev` send.

use crate::genl::{self, MsgBuilder, NLM_F_ACK, NLM_F_DUMP, NLM_F_REQUEST};
use crate::nl::{NlFailure, NlSocket};
use crate::{NicError, Sysfs};

/// `DEVLINK_GENL_NAME`.
pub const DEVLINK_GENL_NAME: &str = "devlink";
/// `DEVLINK_GENL_VERSION`.
pub const DEVLINK_GENL_VERSION: u8 = 1;
/// `DEVLINK_CMD_PORT_GET` (can dump).
pub const DEVLINK_CMD_PORT_GET: u8 = 5;
/// `DEVLINK_CMD_ESWITCH_GET`.
pub const DEVLINK_CMD_ESWITCH_GET: u8 = 29;
/// `DEVLINK_CMD_ESWITCH_SET`.
pub const DEVLINK_CMD_ESWITCH_SET: u8 = 30;
/// `DEVLINK_ATTR_BUS_NAME` (string).
pub const DEVLINK_ATTR_BUS_NAME: u16 = 1;
/// `DEVLINK_ATTR_DEV_NAME` (string).
pub const DEVLINK_ATTR_DEV_NAME: u16 = 2;
/// `DEVLINK_ATTR_PORT_INDEX` (u32).
pub const DEVLINK_ATTR_PORT_INDEX: u16 = 3;
/// `DEVLINK_ATTR_PORT_NETDEV_NAME` (string).
pub const DEVLINK_ATTR_PORT_NETDEV_NAME: u16 = 7;
/// `DEVLINK_ATTR_ESWITCH_MODE` (u16).
pub const DEVLINK_ATTR_ESWITCH_MODE: u16 = 25;
/// `DEVLINK_ATTR_PORT_FLAVOUR` (u16).
pub const DEVLINK_ATTR_PORT_FLAVOUR: u16 = 77;
/// `DEVLINK_ATTR_PORT_NUMBER` (u32).
pub const DEVLINK_ATTR_PORT_NUMBER: u16 = 78;
/// `DEVLINK_ATTR_PORT_PCI_PF_NUMBER` (u16).
pub const DEVLINK_ATTR_PORT_PCI_PF_NUMBER: u16 = 127;
/// `DEVLINK_ATTR_PORT_PCI_VF_NUMBER` (u16).
pub const DEVLINK_ATTR_PORT_PCI_VF_NUMBER: u16 = 128;
/// `DEVLINK_ATTR_PORT_EXTERNAL` (u8).
pub const DEVLINK_ATTR_PORT_EXTERNAL: u16 = 149;
/// `DEVLINK_ATTR_PORT_CONTROLLER_NUMBER` (u32).
pub const DEVLINK_ATTR_PORT_CONTROLLER_NUMBER: u16 = 150;
/// `DEVLINK_PORT_FLAVOUR_PHYSICAL`: an uplink.
pub const DEVLINK_PORT_FLAVOUR_PHYSICAL: u16 = 0;
/// `DEVLINK_PORT_FLAVOUR_PCI_PF`.
pub const DEVLINK_PORT_FLAVOUR_PCI_PF: u16 = 3;
/// `DEVLINK_PORT_FLAVOUR_PCI_VF`: a VF representor.
pub const DEVLINK_PORT_FLAVOUR_PCI_VF: u16 = 4;
/// `DEVLINK_ESWITCH_MODE_LEGACY`.
pub const DEVLINK_ESWITCH_MODE_LEGACY: u16 = 0;
/// `DEVLINK_ESWITCH_MODE_SWITCHDEV`.
pub const DEVLINK_ESWITCH_MODE_SWITCHDEV: u16 = 1;

/// One devlink port, as `devlink port show` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DevlinkPort {
    /// Bus of the devlink instance (`pci`, `netdevsim`).
    pub bus: String,
    /// Device of the devlink instance (`0000:03:00.0`, `netdevsim10`).
    pub dev: String,
    /// Port index.
    pub index: u32,
    /// `DEVLINK_PORT_FLAVOUR_*`.
    pub flavour: u16,
    /// Physical port number (flavour physical).
    pub number: Option<u32>,
    /// PF number (flavours pcipf, pcivf).
    pub pfnum: Option<u32>,
    /// VF number (flavour pcivf).
    pub vfnum: Option<u32>,
    /// Controller number.
    pub controller: Option<u32>,
    /// Whether the function belongs to an external controller.
    pub external: bool,
    /// The port's netdev, if it has one.
    pub netdev: Option<String>,
}

/// The eswitch mode of a devlink instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EswitchMode {
    /// `legacy`: VFs switched by the NIC's built-in L2 switch, no representors.
    Legacy,
    /// `switchdev`: one representor netdev per VF; offload through TC.
    Switchdev,
}

impl EswitchMode {
    /// The name `devlink` uses.
    pub fn name(self) -> &'static str {
        match self {
            EswitchMode::Legacy => "legacy",
            EswitchMode::Switchdev => "switchdev",
        }
    }

    /// Parse `legacy`/`switchdev`.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "legacy" => Some(EswitchMode::Legacy),
            "switchdev" => Some(EswitchMode::Switchdev),
            _ => None,
        }
    }
}

/// Parse one `DEVLINK_CMD_PORT_GET` reply payload (genl header included).
pub fn parse_port(payload: &[u8]) -> Option<DevlinkPort> {
    let a = genl::attrs(payload.get(4..)?);
    let s = |ty| genl::find(&a, ty).map(|x| x.string());
    let u = |ty| genl::find(&a, ty).and_then(|x| x.uint());
    Some(DevlinkPort {
        bus: s(DEVLINK_ATTR_BUS_NAME)?,
        dev: s(DEVLINK_ATTR_DEV_NAME)?,
        index: u(DEVLINK_ATTR_PORT_INDEX)?,
        flavour: u(DEVLINK_ATTR_PORT_FLAVOUR).unwrap_or(u32::from(DEVLINK_PORT_FLAVOUR_PHYSICAL)) as u16,
        number: u(DEVLINK_ATTR_PORT_NUMBER),
        pfnum: u(DEVLINK_ATTR_PORT_PCI_PF_NUMBER),
        vfnum: u(DEVLINK_ATTR_PORT_PCI_VF_NUMBER),
        controller: u(DEVLINK_ATTR_PORT_CONTROLLER_NUMBER),
        external: u(DEVLINK_ATTR_PORT_EXTERNAL).unwrap_or(0) != 0,
        netdev: s(DEVLINK_ATTR_PORT_NETDEV_NAME).filter(|n| !n.is_empty()),
    })
}

/// The `devlink port show` request.
pub fn port_dump_request(family: u16, seq: u32) -> Vec<u8> {
    MsgBuilder::genl(family, NLM_F_REQUEST | NLM_F_DUMP, seq, DEVLINK_CMD_PORT_GET, DEVLINK_GENL_VERSION).finish()
}

/// The `devlink dev eswitch show <bus>/<dev>` request.
pub fn eswitch_get_request(family: u16, seq: u32, bus: &str, dev: &str) -> Vec<u8> {
    let mut m = MsgBuilder::genl(family, NLM_F_REQUEST | NLM_F_ACK, seq, DEVLINK_CMD_ESWITCH_GET, DEVLINK_GENL_VERSION);
    m.str(DEVLINK_ATTR_BUS_NAME, bus).str(DEVLINK_ATTR_DEV_NAME, dev);
    m.finish()
}

/// The `devlink dev eswitch set <bus>/<dev> mode <mode>` request.
pub fn eswitch_set_request(family: u16, seq: u32, bus: &str, dev: &str, mode: EswitchMode) -> Vec<u8> {
    let mut m = MsgBuilder::genl(family, NLM_F_REQUEST | NLM_F_ACK, seq, DEVLINK_CMD_ESWITCH_SET, DEVLINK_GENL_VERSION);
    m.str(DEVLINK_ATTR_BUS_NAME, bus).str(DEVLINK_ATTR_DEV_NAME, dev);
    let v = match mode {
        EswitchMode::Legacy => DEVLINK_ESWITCH_MODE_LEGACY,
        EswitchMode::Switchdev => DEVLINK_ESWITCH_MODE_SWITCHDEV,
    };
    m.u16(DEVLINK_ATTR_ESWITCH_MODE, v);
    m.finish()
}

/// A devlink generic-netlink connection.
#[derive(Debug)]
pub struct Devlink {
    sock: NlSocket,
    family: u16,
}

impl Devlink {
    /// Connect; `Ok(None)` when the kernel has no devlink family.
    pub fn open() -> Result<Option<Self>, NicError> {
        let mut sock = NlSocket::generic().map_err(|e| fail("open", e))?;
        Ok(sock
            .family_id(DEVLINK_GENL_NAME)
            .map_err(|e| fail("resolve family", e))?
            .map(|family| Devlink { sock, family }))
    }

    /// All devlink ports (`devlink port show`).
    pub fn ports(&mut self) -> Result<Vec<DevlinkPort>, NicError> {
        let seq = self.sock.next_seq();
        let replies = self.sock.request(&port_dump_request(self.family, seq)).map_err(|e| fail("port show", e))?;
        Ok(replies.iter().filter_map(|p| parse_port(p)).collect())
    }

    /// The eswitch mode of `<bus>/<dev>`.
    pub fn eswitch_mode(&mut self, bus: &str, dev: &str) -> Result<EswitchMode, NicError> {
        let seq = self.sock.next_seq();
        let op = format!("eswitch show {bus}/{dev}");
        let replies = self.sock.request(&eswitch_get_request(self.family, seq, bus, dev)).map_err(|e| fail(&op, e))?;
        let mode = replies.iter().find_map(|p| {
            let a = genl::attrs(p.get(4..)?);
            genl::find(&a, DEVLINK_ATTR_ESWITCH_MODE)?.uint()
        });
        match mode {
            Some(1) => Ok(EswitchMode::Switchdev),
            Some(0) => Ok(EswitchMode::Legacy),
            _ => Err(NicError::Netlink {
                family: "devlink",
                op,
                message: "reply has no known DEVLINK_ATTR_ESWITCH_MODE".into(),
                errno: 0,
            }),
        }
    }

    /// Set the eswitch mode of `<bus>/<dev>`.
    pub fn set_eswitch_mode(&mut self, bus: &str, dev: &str, mode: EswitchMode) -> Result<(), NicError> {
        let seq = self.sock.next_seq();
        let op = format!("eswitch set {bus}/{dev} mode {}", mode.name());
        self.sock.request(&eswitch_set_request(self.family, seq, bus, dev, mode)).map_err(|e| fail(&op, e))?;
        Ok(())
    }
}

fn fail(op: &str, e: NlFailure) -> NicError {
    NicError::Netlink { family: "devlink", op: op.into(), message: e.message, errno: e.errno }
}

/// The devlink ports, when `sys` is the live system and the kernel has
/// devlink; `None` otherwise (discovery then uses sysfs alone).
pub fn ports_if_live(sys: &Sysfs) -> Option<Vec<DevlinkPort>> {
    if !sys.is_live() {
        return None;
    }
    Devlink::open().ok().flatten()?.ports().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(attrs: impl FnOnce(&mut MsgBuilder)) -> Vec<u8> {
        let mut m = MsgBuilder::genl(30, 0, 1, DEVLINK_CMD_PORT_GET, 1);
        attrs(&mut m);
        m.finish()[16..].to_vec()
    }

    #[test]
    fn parses_a_vf_port() {
        // As netdevsim reports "netdevsim/netdevsim10/129: type eth netdev eth2
        // flavour pcivf controller 0 pfnum 0 vfnum 1 external false".
        let p = reply(|m| {
            m.str(DEVLINK_ATTR_BUS_NAME, "netdevsim").str(DEVLINK_ATTR_DEV_NAME, "netdevsim10");
            m.u32(DEVLINK_ATTR_PORT_INDEX, 129).str(DEVLINK_ATTR_PORT_NETDEV_NAME, "eth2");
            m.u16(DEVLINK_ATTR_PORT_FLAVOUR, DEVLINK_PORT_FLAVOUR_PCI_VF);
            m.u16(DEVLINK_ATTR_PORT_PCI_PF_NUMBER, 0).u16(DEVLINK_ATTR_PORT_PCI_VF_NUMBER, 1);
            m.u32(DEVLINK_ATTR_PORT_CONTROLLER_NUMBER, 0).attr(DEVLINK_ATTR_PORT_EXTERNAL, &[0]);
        });
        let port = parse_port(&p).unwrap();
        assert_eq!(
            port,
            DevlinkPort {
                bus: "netdevsim".into(),
                dev: "netdevsim10".into(),
                index: 129,
                flavour: DEVLINK_PORT_FLAVOUR_PCI_VF,
                number: None,
                pfnum: Some(0),
                vfnum: Some(1),
                controller: Some(0),
                external: false,
                netdev: Some("eth2".into()),
            }
        );
    }

    #[test]
    fn port_without_handle_is_skipped() {
        let p = reply(|m| {
            m.u32(DEVLINK_ATTR_PORT_INDEX, 1);
        });
        assert_eq!(parse_port(&p), None);
    }

    #[test]
    fn eswitch_set_bytes() {
        // devlink dev eswitch set pci/0000:03:00.0 mode switchdev
        let m = eswitch_set_request(21, 3, "pci", "0000:03:00.0", EswitchMode::Switchdev);
        #[rustfmt::skip]
        let want: Vec<u8> = [
            &56u32.to_ne_bytes()[..], &21u16.to_ne_bytes(), &5u16.to_ne_bytes(), &3u32.to_ne_bytes(), &0u32.to_ne_bytes(),
            &[30, 1, 0, 0],                                            // DEVLINK_CMD_ESWITCH_SET, version 1
            &8u16.to_ne_bytes(), &1u16.to_ne_bytes(), b"pci\0",           // DEVLINK_ATTR_BUS_NAME
            &17u16.to_ne_bytes(), &2u16.to_ne_bytes(), b"0000:03:00.0\0", &[0, 0, 0], // DEVLINK_ATTR_DEV_NAME
            &6u16.to_ne_bytes(), &25u16.to_ne_bytes(), &1u16.to_ne_bytes(), &[0, 0], // DEVLINK_ATTR_ESWITCH_MODE
        ].concat();
        assert_eq!(m, want);
    }
}
