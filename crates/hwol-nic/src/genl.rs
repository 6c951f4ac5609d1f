//! Netlink message encoding and decoding, pure: the few pieces that devlink,
//! ethtool and rtnetlink requests need (`nlmsghdr`, `genlmsghdr`, attributes
//! with nesting, `nlmsgerr` with its extended-ack message).
//!
//! Constants are named as in `linux/netlink.h` and `linux/genetlink.h`. The
//! socket side is [`crate::nl`].

/// `NLM_F_REQUEST`.
pub const NLM_F_REQUEST: u16 = 1;
/// `NLM_F_ACK`.
pub const NLM_F_ACK: u16 = 4;
/// `NLM_F_DUMP` (`NLM_F_ROOT | NLM_F_MATCH`).
pub const NLM_F_DUMP: u16 = 0x300;
/// `NLM_F_ACK_TLVS` (on an `NLMSG_ERROR`: extended-ack attributes follow).
pub const NLM_F_ACK_TLVS: u16 = 0x200;
/// `NLM_F_CAPPED` (on an `NLMSG_ERROR`: only the original header is echoed).
pub const NLM_F_CAPPED: u16 = 0x100;
/// `NLMSG_ERROR`.
pub const NLMSG_ERROR: u16 = 2;
/// `NLMSG_DONE`.
pub const NLMSG_DONE: u16 = 3;
/// `NLMSGERR_ATTR_MSG`: the extended-ack text.
pub const NLMSGERR_ATTR_MSG: u16 = 1;
/// `NLA_F_NESTED`.
pub const NLA_F_NESTED: u16 = 0x8000;
/// `NLA_TYPE_MASK`.
pub const NLA_TYPE_MASK: u16 = 0x3fff;
/// `GENL_ID_CTRL`: the nlctrl family.
pub const GENL_ID_CTRL: u16 = 16;
/// `CTRL_CMD_GETFAMILY`.
pub const CTRL_CMD_GETFAMILY: u8 = 3;
/// `CTRL_ATTR_FAMILY_ID` (u16).
pub const CTRL_ATTR_FAMILY_ID: u16 = 1;
/// `CTRL_ATTR_FAMILY_NAME` (string).
pub const CTRL_ATTR_FAMILY_NAME: u16 = 2;

const NLMSG_HDRLEN: usize = 16;

fn align4(n: usize) -> usize {
    (n + 3) & !3
}

/// Builds one netlink message: header, family header, attributes.
#[derive(Debug, Clone)]
pub struct MsgBuilder {
    buf: Vec<u8>,
    nests: Vec<usize>,
}

impl MsgBuilder {
    /// A message of type `nl_type` with a fixed family header `header`
    /// (e.g. an `ifinfomsg`).
    pub fn raw(nl_type: u16, flags: u16, seq: u32, header: &[u8]) -> Self {
        let mut buf = Vec::with_capacity(64);
        buf.extend_from_slice(&0u32.to_ne_bytes()); // nlmsg_len, set by finish
        buf.extend_from_slice(&nl_type.to_ne_bytes());
        buf.extend_from_slice(&flags.to_ne_bytes());
        buf.extend_from_slice(&seq.to_ne_bytes());
        buf.extend_from_slice(&0u32.to_ne_bytes()); // nlmsg_pid: the kernel fills it
        buf.extend_from_slice(header);
        buf.resize(align4(buf.len()), 0);
        MsgBuilder { buf, nests: Vec::new() }
    }

    /// A generic-netlink message for family id `family`, command `cmd`.
    pub fn genl(family: u16, flags: u16, seq: u32, cmd: u8, version: u8) -> Self {
        Self::raw(family, flags, seq, &[cmd, version, 0, 0])
    }

    /// An attribute with raw payload.
    pub fn attr(&mut self, ty: u16, data: &[u8]) -> &mut Self {
        let len = 4 + data.len();
        self.buf.extend_from_slice(&(len as u16).to_ne_bytes());
        self.buf.extend_from_slice(&ty.to_ne_bytes());
        self.buf.extend_from_slice(data);
        self.buf.resize(align4(self.buf.len()), 0);
        self
    }

    /// A u16 attribute.
    pub fn u16(&mut self, ty: u16, v: u16) -> &mut Self {
        self.attr(ty, &v.to_ne_bytes())
    }

    /// A u32 attribute.
    pub fn u32(&mut self, ty: u16, v: u32) -> &mut Self {
        self.attr(ty, &v.to_ne_bytes())
    }

    /// A NUL-terminated string attribute.
    pub fn str(&mut self, ty: u16, s: &str) -> &mut Self {
        let mut v = s.as_bytes().to_vec();
        v.push(0);
        self.attr(ty, &v)
    }

    /// A flag attribute (no payload).
    pub fn flag(&mut self, ty: u16) -> &mut Self {
        self.attr(ty, &[])
    }

    /// Open a nested attribute (`NLA_F_NESTED` is set); close with [`Self::end`].
    pub fn begin(&mut self, ty: u16) -> &mut Self {
        self.nests.push(self.buf.len());
        self.buf.extend_from_slice(&0u16.to_ne_bytes());
        self.buf.extend_from_slice(&(ty | NLA_F_NESTED).to_ne_bytes());
        self
    }

    /// Close the innermost nested attribute.
    pub fn end(&mut self) -> &mut Self {
        let start = self.nests.pop().expect("end() without begin()");
        let len = (self.buf.len() - start) as u16;
        self.buf[start..start + 2].copy_from_slice(&len.to_ne_bytes());
        self
    }

    /// The finished message bytes.
    pub fn finish(&self) -> Vec<u8> {
        assert!(self.nests.is_empty(), "unclosed nested attribute");
        let mut out = self.buf.clone();
        let len = out.len() as u32;
        out[0..4].copy_from_slice(&len.to_ne_bytes());
        out
    }
}

/// One netlink message in a received buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Msg<'a> {
    /// `nlmsg_type`.
    pub ty: u16,
    /// `nlmsg_flags`.
    pub flags: u16,
    /// `nlmsg_seq`.
    pub seq: u32,
    /// Everything after the 16-byte header.
    pub payload: &'a [u8],
}

/// The messages in a buffer; stops at the first truncated one.
pub fn messages(mut buf: &[u8]) -> Vec<Msg<'_>> {
    let mut out = Vec::new();
    while buf.len() >= NLMSG_HDRLEN {
        let len = u32::from_ne_bytes(buf[0..4].try_into().unwrap()) as usize;
        if len < NLMSG_HDRLEN || len > buf.len() {
            break;
        }
        out.push(Msg {
            ty: u16::from_ne_bytes(buf[4..6].try_into().unwrap()),
            flags: u16::from_ne_bytes(buf[6..8].try_into().unwrap()),
            seq: u32::from_ne_bytes(buf[8..12].try_into().unwrap()),
            payload: &buf[NLMSG_HDRLEN..len],
        });
        buf = &buf[align4(len).min(buf.len())..];
    }
    out
}

/// One attribute: its type (without `NLA_F_NESTED`/byte-order flags) and payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attr<'a> {
    /// The type, masked with `NLA_TYPE_MASK`.
    pub ty: u16,
    /// The payload.
    pub data: &'a [u8],
}

impl<'a> Attr<'a> {
    /// The payload as a u8/u16/u32 (native endian), by its length.
    pub fn uint(&self) -> Option<u32> {
        match self.data.len() {
            1 => Some(self.data[0] as u32),
            2 => Some(u16::from_ne_bytes(self.data.try_into().ok()?) as u32),
            4 => Some(u32::from_ne_bytes(self.data.try_into().ok()?)),
            _ => None,
        }
    }

    /// The payload as a string, up to its NUL.
    pub fn string(&self) -> String {
        let end = self.data.iter().position(|&b| b == 0).unwrap_or(self.data.len());
        String::from_utf8_lossy(&self.data[..end]).into_owned()
    }

    /// The nested attributes.
    pub fn nested(&self) -> Vec<Attr<'a>> {
        attrs(self.data)
    }
}

/// The attributes in `data`; stops at the first malformed one.
pub fn attrs(mut data: &[u8]) -> Vec<Attr<'_>> {
    let mut out = Vec::new();
    while data.len() >= 4 {
        let len = u16::from_ne_bytes([data[0], data[1]]) as usize;
        let ty = u16::from_ne_bytes([data[2], data[3]]) & NLA_TYPE_MASK;
        if len < 4 || len > data.len() {
            break;
        }
        out.push(Attr { ty, data: &data[4..len] });
        data = &data[align4(len).min(data.len())..];
    }
    out
}

/// The first attribute of type `ty`.
pub fn find<'a>(attrs: &[Attr<'a>], ty: u16) -> Option<Attr<'a>> {
    attrs.iter().copied().find(|a| a.ty == ty)
}

/// An `NLMSG_ERROR` payload: the errno (positive; 0 is an ack) and the
/// extended-ack message, if the kernel sent one.
pub fn parse_error(msg: &Msg<'_>) -> (i32, Option<String>) {
    let p = msg.payload;
    if p.len() < 4 {
        return (libc_eproto(), None);
    }
    let err = -i32::from_ne_bytes(p[0..4].try_into().unwrap());
    let mut text = None;
    if msg.flags & NLM_F_ACK_TLVS != 0 && p.len() >= 4 + NLMSG_HDRLEN {
        // The echoed request: only its header when NLM_F_CAPPED, else all of it.
        let echoed = if msg.flags & NLM_F_CAPPED != 0 {
            NLMSG_HDRLEN
        } else {
            u32::from_ne_bytes(p[4..8].try_into().unwrap()) as usize
        };
        let tlvs = p.get(4 + align4(echoed)..).unwrap_or(&[]);
        text = find(&attrs(tlvs), NLMSGERR_ATTR_MSG).map(|a| a.string()).filter(|s| !s.is_empty());
    }
    (err, text)
}

fn libc_eproto() -> i32 {
    71
}

/// The nlctrl request resolving a generic-netlink family name to its id
/// (what `genl ctrl get name devlink` sends).
pub fn get_family(name: &str, seq: u32) -> Vec<u8> {
    let mut m = MsgBuilder::genl(GENL_ID_CTRL, NLM_F_REQUEST | NLM_F_ACK, seq, CTRL_CMD_GETFAMILY, 1);
    m.str(CTRL_ATTR_FAMILY_NAME, name);
    m.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn family_request_bytes() {
        // What iproute2 `devlink dev show` sends first (strace: nlmsg_len=32, nlctrl,
        // NLM_F_REQUEST|NLM_F_ACK, "\x03\x01\x00\x00\x0c\x00\x02\x00devlink\x00"); seq differs.
        let m = get_family("devlink", 7);
        #[rustfmt::skip]
        let want: Vec<u8> = [
            &32u32.to_ne_bytes()[..], &16u16.to_ne_bytes(), &5u16.to_ne_bytes(), &7u32.to_ne_bytes(), &0u32.to_ne_bytes(),
            &[3, 1, 0, 0],                                       // CTRL_CMD_GETFAMILY, version 1
            &12u16.to_ne_bytes(), &2u16.to_ne_bytes(), b"devlink\0", // CTRL_ATTR_FAMILY_NAME
        ].concat();
        assert_eq!(m, want);
    }

    #[test]
    fn nesting_and_parsing_round_trip() {
        let mut m = MsgBuilder::genl(20, NLM_F_REQUEST, 1, 12, 1);
        m.begin(1).u32(1, 5).str(2, "eth0").end();
        m.u16(3, 9).flag(4);
        let bytes = m.finish();
        let msgs = messages(&bytes);
        assert_eq!(msgs.len(), 1);
        assert_eq!(msgs[0].ty, 20);
        let top = attrs(&msgs[0].payload[4..]);
        assert_eq!(top.len(), 3);
        let inner = top[0].nested();
        assert_eq!(inner[0].uint(), Some(5));
        assert_eq!(inner[1].string(), "eth0");
        assert_eq!(top[1].uint(), Some(9));
        assert_eq!(top[2].ty, 4);
        assert!(top[2].data.is_empty());
        // The nested flag is set on the wire and masked when parsing.
        assert_eq!(u16::from_ne_bytes([msgs[0].payload[6], msgs[0].payload[7]]), 1 | NLA_F_NESTED);
    }

    #[test]
    fn error_with_extended_ack() {
        // NLMSG_ERROR, flags CAPPED|ACK_TLVS: error -95, echoed header, NLMSGERR_ATTR_MSG.
        let mut p = Vec::new();
        p.extend_from_slice(&(-95i32).to_ne_bytes());
        p.extend_from_slice(&[0u8; 16]);
        p.extend_from_slice(&(4u16 + 14).to_ne_bytes());
        p.extend_from_slice(&NLMSGERR_ATTR_MSG.to_ne_bytes());
        p.extend_from_slice(b"not supported\0");
        p.resize(p.len().next_multiple_of(4), 0);
        let msg = Msg { ty: NLMSG_ERROR, flags: NLM_F_CAPPED | NLM_F_ACK_TLVS, seq: 1, payload: &p };
        assert_eq!(parse_error(&msg), (95, Some("not supported".into())));
    }

    #[test]
    fn truncated_input_stops() {
        assert!(messages(&[1, 2, 3]).is_empty());
        assert!(attrs(&[8, 0, 1, 0, 1]).is_empty());
    }
}
