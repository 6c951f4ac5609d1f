//! Bounds-checked reading and big-endian writing of wire bytes.
//!
//! Every read of a [`Reader`] checks the length first and fails with
//! [`DecodeError::Truncated`], so no decoder indexes past its input.

use crate::error::DecodeError;

/// A cursor over received bytes.
#[derive(Clone, Debug)]
pub struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
    /// What is being read, for error messages.
    what: &'static str,
}

impl<'a> Reader<'a> {
    /// A reader over `data`; `what` names the structure in errors.
    pub fn new(data: &'a [u8], what: &'static str) -> Self {
        Reader { data, pos: 0, what }
    }

    /// Bytes not read yet.
    pub fn remaining(&self) -> usize {
        self.data.len() - self.pos
    }

    /// True when everything was read.
    pub fn is_empty(&self) -> bool {
        self.remaining() == 0
    }

    /// Take the next `n` bytes.
    pub fn bytes(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        if self.remaining() < n {
            return Err(DecodeError::Truncated(self.what, n, self.remaining()));
        }
        let s = &self.data[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    /// Take everything left.
    pub fn rest(&mut self) -> &'a [u8] {
        let s = &self.data[self.pos..];
        self.pos = self.data.len();
        s
    }

    /// Skip `n` bytes.
    pub fn skip(&mut self, n: usize) -> Result<(), DecodeError> {
        self.bytes(n).map(|_| ())
    }

    /// One byte.
    pub fn u8(&mut self) -> Result<u8, DecodeError> {
        Ok(self.bytes(1)?[0])
    }

    /// Big-endian u16.
    pub fn u16(&mut self) -> Result<u16, DecodeError> {
        let b = self.bytes(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }

    /// Big-endian u32.
    pub fn u32(&mut self) -> Result<u32, DecodeError> {
        let b = self.bytes(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// Big-endian u64.
    pub fn u64(&mut self) -> Result<u64, DecodeError> {
        let b = self.bytes(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_be_bytes(a))
    }

    /// A big-endian unsigned number of `n` (at most 16) bytes.
    pub fn uint(&mut self, n: usize) -> Result<u128, DecodeError> {
        Ok(be_uint(self.bytes(n)?))
    }

    /// A NUL-padded string field of `n` bytes.
    pub fn string(&mut self, n: usize) -> Result<String, DecodeError> {
        let b = self.bytes(n)?;
        let end = b.iter().position(|c| *c == 0).unwrap_or(b.len());
        Ok(String::from_utf8_lossy(&b[..end]).into_owned())
    }
}

/// A big-endian number from up to 16 bytes (longer input keeps the low 16).
pub fn be_uint(b: &[u8]) -> u128 {
    b.iter().fold(0u128, |acc, x| (acc << 8) | *x as u128)
}

/// Big-endian writers on a `Vec<u8>`.
pub trait Put {
    /// One byte.
    fn put_u8(&mut self, v: u8);
    /// Big-endian u16.
    fn put_u16(&mut self, v: u16);
    /// Big-endian u32.
    fn put_u32(&mut self, v: u32);
    /// Big-endian u64.
    fn put_u64(&mut self, v: u64);
    /// The low `n` bytes of `v`, big-endian.
    fn put_uint(&mut self, v: u128, n: usize);
    /// `n` zero bytes.
    fn put_zeros(&mut self, n: usize);
    /// `s` NUL-padded (and truncated) to `n` bytes, always NUL-terminated.
    fn put_str(&mut self, s: &str, n: usize);
    /// Zero bytes until the length is a multiple of 8, counted from `start`.
    fn pad8(&mut self, start: usize);
    /// Overwrite the big-endian u16 at `at`.
    fn set_u16(&mut self, at: usize, v: u16);
}

impl Put for Vec<u8> {
    fn put_u8(&mut self, v: u8) {
        self.push(v);
    }
    fn put_u16(&mut self, v: u16) {
        self.extend_from_slice(&v.to_be_bytes());
    }
    fn put_u32(&mut self, v: u32) {
        self.extend_from_slice(&v.to_be_bytes());
    }
    fn put_u64(&mut self, v: u64) {
        self.extend_from_slice(&v.to_be_bytes());
    }
    fn put_uint(&mut self, v: u128, n: usize) {
        self.extend_from_slice(&v.to_be_bytes()[16 - n..]);
    }
    fn put_zeros(&mut self, n: usize) {
        self.resize(self.len() + n, 0);
    }
    fn put_str(&mut self, s: &str, n: usize) {
        let b = s.as_bytes();
        let k = b.len().min(n.saturating_sub(1));
        self.extend_from_slice(&b[..k]);
        self.put_zeros(n - k);
    }
    fn pad8(&mut self, start: usize) {
        let len = self.len() - start;
        self.put_zeros((8 - len % 8) % 8);
    }
    fn set_u16(&mut self, at: usize, v: u16) {
        self[at..at + 2].copy_from_slice(&v.to_be_bytes());
    }
}
