//! Netlink attributes (TLVs): a raw attribute that round-trips anything,
//! a writer that builds nested attributes, a checked parser, and the
//! [`AttrValue`] trait that typed attribute enums use for their payloads.
//!
//! Layout (linux/netlink.h): `u16 nla_len` (header + payload, without
//! padding), `u16 nla_type` (low 14 bits the type, plus `NLA_F_NESTED` /
//! `NLA_F_NET_BYTEORDER`), then the payload padded to 4 bytes. Integers are
//! host order unless the attribute's UAPI comment says `be16`/`be32`, which
//! [`Be16`] and [`Be32`] carry. Nothing here panics on malformed input: a
//! short or overlong attribute is a [`DecodeError`].

use crate::uapi::NLA_TYPE_MASK;

/// Why bytes could not be decoded.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// An attribute or header runs past the end of its buffer.
    #[error("truncated {what}: need {need} bytes, have {have}")]
    Truncated {
        /// What was being read.
        what: &'static str,
        /// Bytes needed.
        need: usize,
        /// Bytes available.
        have: usize,
    },
    /// A payload has the wrong size for its attribute.
    #[error("attribute {kind} has a {len}-byte payload, expected {expected}")]
    BadLength {
        /// The attribute type.
        kind: u16,
        /// Its payload length.
        len: usize,
        /// What the type needs.
        expected: &'static str,
    },
    /// Something else is wrong with the message.
    #[error("{0}")]
    Invalid(String),
}

/// Round `n` up to the netlink alignment (4).
pub const fn align4(n: usize) -> usize {
    (n + 3) & !3
}

/// One attribute as it is on the wire; the catch-all of every typed
/// attribute enum (`Other`), so unknown kernel attributes round-trip.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Nla {
    /// `nla_type` including its flag bits (`NLA_F_NESTED`...).
    pub kind: u16,
    /// The payload, without padding.
    pub value: Vec<u8>,
}

impl Nla {
    /// The type without flag bits.
    pub fn ty(&self) -> u16 {
        self.kind & NLA_TYPE_MASK
    }

    /// Append this attribute to `out`.
    pub fn emit(&self, out: &mut Vec<u8>) {
        put_attr(out, self.kind, &self.value);
    }
}

/// Append one attribute with `payload` to `out` (padded to 4 bytes).
pub fn put_attr(out: &mut Vec<u8>, kind: u16, payload: &[u8]) {
    let len = 4 + payload.len();
    // Netlink lengths are u16; payloads here are far below 64 KiB.
    out.extend_from_slice(&u16::try_from(len).unwrap_or(u16::MAX).to_ne_bytes());
    out.extend_from_slice(&kind.to_ne_bytes());
    out.extend_from_slice(payload);
    out.resize(align4(out.len()), 0);
}

/// Append a nested attribute whose payload `body` writes.
pub fn put_nested(out: &mut Vec<u8>, kind: u16, body: impl FnOnce(&mut Vec<u8>)) {
    let start = out.len();
    out.extend_from_slice(&[0, 0]);
    out.extend_from_slice(&kind.to_ne_bytes());
    body(out);
    let len = u16::try_from(out.len() - start).unwrap_or(u16::MAX);
    out[start..start + 2].copy_from_slice(&len.to_ne_bytes());
    out.resize(align4(out.len()), 0);
}

/// Split `buf` into attributes. Trailing bytes shorter than a header are
/// an error, as is an attribute whose length runs past the buffer.
pub fn parse_nlas(mut buf: &[u8]) -> Result<Vec<Nla>, DecodeError> {
    let mut out = Vec::new();
    while !buf.is_empty() {
        if buf.len() < 4 {
            return Err(DecodeError::Truncated { what: "attribute header", need: 4, have: buf.len() });
        }
        let len = usize::from(u16::from_ne_bytes([buf[0], buf[1]]));
        let kind = u16::from_ne_bytes([buf[2], buf[3]]);
        if len < 4 || len > buf.len() {
            return Err(DecodeError::Truncated { what: "attribute", need: len.max(4), have: buf.len() });
        }
        out.push(Nla { kind, value: buf[4..len].to_vec() });
        buf = &buf[align4(len).min(buf.len())..];
    }
    Ok(out)
}

/// A payload type of a typed attribute.
pub trait AttrValue: Sized {
    /// Append the payload bytes (no header).
    fn put(&self, out: &mut Vec<u8>);
    /// Read the payload of attribute `kind`.
    fn get(kind: u16, b: &[u8]) -> Result<Self, DecodeError>;
}

fn fixed<const N: usize>(kind: u16, b: &[u8], expected: &'static str) -> Result<[u8; N], DecodeError> {
    b.try_into().map_err(|_| DecodeError::BadLength { kind, len: b.len(), expected })
}

impl AttrValue for u8 {
    fn put(&self, out: &mut Vec<u8>) {
        out.push(*self);
    }
    fn get(kind: u16, b: &[u8]) -> Result<Self, DecodeError> {
        Ok(fixed::<1>(kind, b, "1 (u8)")?[0])
    }
}

impl AttrValue for u16 {
    fn put(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_ne_bytes());
    }
    fn get(kind: u16, b: &[u8]) -> Result<Self, DecodeError> {
        Ok(u16::from_ne_bytes(fixed(kind, b, "2 (u16)")?))
    }
}

impl AttrValue for u32 {
    fn put(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_ne_bytes());
    }
    fn get(kind: u16, b: &[u8]) -> Result<Self, DecodeError> {
        Ok(u32::from_ne_bytes(fixed(kind, b, "4 (u32)")?))
    }
}

impl AttrValue for u64 {
    fn put(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_ne_bytes());
    }
    fn get(kind: u16, b: &[u8]) -> Result<Self, DecodeError> {
        Ok(u64::from_ne_bytes(fixed(kind, b, "8 (u64)")?))
    }
}

impl<const N: usize> AttrValue for [u8; N] {
    fn put(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self);
    }
    fn get(kind: u16, b: &[u8]) -> Result<Self, DecodeError> {
        fixed(kind, b, "a fixed-size byte array")
    }
}

/// A NUL-terminated string (`TCA_KIND`, `TCA_ACT_KIND`).
impl AttrValue for String {
    fn put(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self.as_bytes());
        out.push(0);
    }
    fn get(_kind: u16, b: &[u8]) -> Result<Self, DecodeError> {
        let end = b.iter().position(|c| *c == 0).unwrap_or(b.len());
        Ok(String::from_utf8_lossy(&b[..end]).into_owned())
    }
}

/// Opaque bytes (`TCA_ACT_COOKIE`).
impl AttrValue for Vec<u8> {
    fn put(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self);
    }
    fn get(_kind: u16, b: &[u8]) -> Result<Self, DecodeError> {
        Ok(b.to_vec())
    }
}

/// A big-endian 16-bit value (`be16` in the UAPI comments).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Be16(pub u16);

impl AttrValue for Be16 {
    fn put(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.0.to_be_bytes());
    }
    fn get(kind: u16, b: &[u8]) -> Result<Self, DecodeError> {
        Ok(Be16(u16::from_be_bytes(fixed(kind, b, "2 (be16)")?)))
    }
}

/// A big-endian 32-bit value (`be32` in the UAPI comments).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Be32(pub u32);

impl AttrValue for Be32 {
    fn put(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.0.to_be_bytes());
    }
    fn get(kind: u16, b: &[u8]) -> Result<Self, DecodeError> {
        Ok(Be32(u32::from_be_bytes(fixed(kind, b, "4 (be32)")?)))
    }
}

/// Read a little run of native-endian u32s from a struct payload.
pub(crate) fn ne_u32(b: &[u8], off: usize) -> u32 {
    let mut w = [0u8; 4];
    if let Some(s) = b.get(off..off + 4) {
        w.copy_from_slice(s);
    }
    u32::from_ne_bytes(w)
}

/// Define a typed attribute enum: one variant per attribute with its UAPI
/// type (flag bits included, e.g. `TCA_ACT_OPTIONS | NLA_F_NESTED`) and
/// payload type, plus `Other(Nla)` for everything else.
macro_rules! attr_enum {
    ($(#[$m:meta])* pub enum $name:ident { $($(#[$vm:meta])* $var:ident($ty:ty) = $code:expr,)* }) => {
        $(#[$m])*
        #[derive(Clone, Debug, PartialEq, Eq)]
        pub enum $name {
            $($(#[$vm])* $var($ty),)*
            /// An attribute this crate does not interpret, kept verbatim.
            Other($crate::nla::Nla),
        }

        impl $name {
            /// Append the attribute (header, payload, padding).
            pub fn emit(&self, out: &mut Vec<u8>) {
                match self {
                    $(Self::$var(v) => {
                        let mut p = Vec::new();
                        $crate::nla::AttrValue::put(v, &mut p);
                        $crate::nla::put_attr(out, $code, &p);
                    })*
                    Self::Other(n) => n.emit(out),
                }
            }

            /// Decode one attribute; unknown types become `Other`.
            pub fn parse(n: &$crate::nla::Nla) -> Result<Self, $crate::nla::DecodeError> {
                let ty = n.ty();
                $(if ty == ($code) & $crate::uapi::NLA_TYPE_MASK {
                    return Ok(Self::$var(<$ty as $crate::nla::AttrValue>::get(ty, &n.value)?));
                })*
                Ok(Self::Other(n.clone()))
            }

            /// Decode a whole attribute list.
            pub fn parse_all(b: &[u8]) -> Result<Vec<Self>, $crate::nla::DecodeError> {
                $crate::nla::parse_nlas(b)?.iter().map(Self::parse).collect()
            }
        }

        /// A list of these attributes is the payload of a nested attribute.
        impl $crate::nla::AttrValue for Vec<$name> {
            fn put(&self, out: &mut Vec<u8>) {
                for a in self {
                    a.emit(out);
                }
            }
            fn get(_kind: u16, b: &[u8]) -> Result<Self, $crate::nla::DecodeError> {
                $name::parse_all(b)
            }
        }
    };
}
pub(crate) use attr_enum;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attributes_pad_and_round_trip() {
        let mut out = Vec::new();
        put_attr(&mut out, 1, b"flower\0");
        // nla_len 11 (4 + 7), type 1, payload, one byte of padding.
        assert_eq!(out, [0x0b, 0x00, 0x01, 0x00, b'f', b'l', b'o', b'w', b'e', b'r', 0, 0]);
        put_nested(&mut out, 2 | crate::uapi::NLA_F_NESTED, |o| put_attr(o, 3, &[1, 2]));
        let nlas = parse_nlas(&out).unwrap();
        assert_eq!(nlas.len(), 2);
        assert_eq!(nlas[1].ty(), 2);
        assert_eq!(parse_nlas(&nlas[1].value).unwrap(), vec![Nla { kind: 3, value: vec![1, 2] }]);
    }

    #[test]
    fn malformed_input_is_an_error_not_a_panic() {
        assert!(parse_nlas(&[8, 0, 1]).is_err());
        assert!(parse_nlas(&[9, 0, 1, 0, 0, 0, 0, 0]).is_err());
        assert!(parse_nlas(&[2, 0, 1, 0]).is_err());
        assert!(u32::get(1, &[1, 2]).is_err());
        // The last attribute may omit its padding.
        assert_eq!(parse_nlas(&[5, 0, 1, 0, 7]).unwrap(), vec![Nla { kind: 1, value: vec![7] }]);
    }
}
