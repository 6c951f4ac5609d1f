//! The character cursor the parsers share, the crate's error type, and the
//! small printing helpers that reproduce C `printf` conventions OVS relies on
//! (`%#x`, `inet_ntop`).
//!
//! Positions are byte offsets internally; errors report 1-based *character*
//! columns so that they line up with what a terminal shows.

use std::net::Ipv6Addr;

/// Why a line of datapath-flow text was rejected.
///
/// Every variant carries the 1-based column (in characters) where the
/// problem starts; the CLI prefixes the line number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// The text did not have the expected shape: fix the text at `column`
    /// so that it has `expected` there.
    #[error("column {column}: expected {expected}, found {found}")]
    Expected {
        /// 1-based character column.
        column: usize,
        /// What the parser wanted, e.g. `')' after ipv4 fields`.
        expected: String,
        /// What it saw instead, e.g. `','` or `end of line`.
        found: String,
    },
    /// The text was well formed but the value is not acceptable (out of
    /// range, given twice, or a feature hwol does not model).
    #[error("column {column}: {message}")]
    Invalid {
        /// 1-based character column.
        column: usize,
        /// What is wrong and what to do about it.
        message: String,
    },
}

impl ParseError {
    /// The 1-based character column the error points at.
    pub fn column(&self) -> usize {
        match self {
            ParseError::Expected { column, .. } | ParseError::Invalid { column, .. } => *column,
        }
    }
}

/// Characters allowed in a port name (Linux interface names in practice).
pub(crate) fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '@')
}

/// A position in the text being parsed, plus what the parse has learned about
/// the line's style so far.
pub(crate) struct Cursor<'a> {
    src: &'a str,
    pos: usize,
    /// An explicit all-zero mask was written somewhere (`/0`, `/0.0.0.0`):
    /// only verbose (`-m`) output prints those.
    pub(crate) verbose_hint: bool,
    /// A port was written by name rather than number.
    pub(crate) names_used: bool,
}

impl<'a> Cursor<'a> {
    pub(crate) fn new(src: &'a str) -> Self {
        Cursor { src, pos: 0, verbose_hint: false, names_used: false }
    }

    pub(crate) fn pos(&self) -> usize {
        self.pos
    }

    /// Move back to an earlier position (after a failed look-ahead).
    pub(crate) fn reset(&mut self, pos: usize) {
        self.pos = pos;
    }

    pub(crate) fn rest(&self) -> &'a str {
        &self.src[self.pos..]
    }

    pub(crate) fn at_end(&self) -> bool {
        self.pos >= self.src.len()
    }

    pub(crate) fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    pub(crate) fn starts_with(&self, s: &str) -> bool {
        self.rest().starts_with(s)
    }

    /// Consume `s` if the text continues with it.
    pub(crate) fn eat(&mut self, s: &str) -> bool {
        if self.starts_with(s) {
            self.pos += s.len();
            true
        } else {
            false
        }
    }

    /// Consume `s` or fail with "expected '`s`' `context`".
    pub(crate) fn expect(&mut self, s: &str, context: &str) -> Result<(), ParseError> {
        if self.eat(s) {
            Ok(())
        } else if context.is_empty() {
            Err(self.expected(format!("'{s}'")))
        } else {
            Err(self.expected(format!("'{s}' {context}")))
        }
    }

    /// Consume characters while `f` holds and return them.
    pub(crate) fn take_while(&mut self, f: impl Fn(char) -> bool) -> &'a str {
        let rest = self.rest();
        let n = rest.char_indices().find(|&(_, c)| !f(c)).map_or(rest.len(), |(i, _)| i);
        self.pos += n;
        &rest[..n]
    }

    /// Consume everything up to the end of the text.
    pub(crate) fn take_rest(&mut self) -> &'a str {
        let r = self.rest();
        self.pos = self.src.len();
        r
    }

    /// 1-based character column of byte offset `pos`.
    pub(crate) fn column_at(&self, pos: usize) -> usize {
        self.src.get(..pos).map_or(pos, |s| s.chars().count()) + 1
    }

    /// A short description of the text at the cursor, for error messages.
    pub(crate) fn found(&self) -> String {
        let rest = self.rest();
        match rest.chars().next() {
            None => "end of line".to_string(),
            Some(c) if is_name_char(c) => {
                let word: String = rest.chars().take_while(|&c| is_name_char(c)).take(24).collect();
                format!("'{word}'")
            }
            Some(c) => format!("'{c}'"),
        }
    }

    /// "expected X, found <text at cursor>".
    pub(crate) fn expected(&self, what: impl Into<String>) -> ParseError {
        ParseError::Expected { column: self.column_at(self.pos), expected: what.into(), found: self.found() }
    }

    /// An `Invalid` error pointing at byte offset `pos`.
    pub(crate) fn invalid_at(&self, pos: usize, message: impl Into<String>) -> ParseError {
        ParseError::Invalid { column: self.column_at(pos), message: message.into() }
    }

    /// An unsigned integer: `0x`-prefixed hex or decimal, at most `max`.
    pub(crate) fn uint(&mut self, what: &str, max: u128) -> Result<u128, ParseError> {
        let start = self.pos;
        let (digits, radix) = if self.eat("0x") || self.eat("0X") {
            (self.take_while(|c| c.is_ascii_hexdigit()), 16)
        } else {
            (self.take_while(|c| c.is_ascii_digit()), 10)
        };
        if digits.is_empty() {
            self.pos = start;
            return Err(self.expected(what.to_string()));
        }
        match u128::from_str_radix(digits, radix) {
            Ok(v) if v <= max => Ok(v),
            _ => Err(self.invalid_at(
                start,
                format!(
                    "{} is too large for {what}; the largest allowed value is {max:#x}",
                    &self.src[start..self.pos]
                ),
            )),
        }
    }

    pub(crate) fn u8v(&mut self, what: &str) -> Result<u8, ParseError> {
        Ok(self.uint(what, u8::MAX.into())? as u8)
    }

    pub(crate) fn u16v(&mut self, what: &str) -> Result<u16, ParseError> {
        Ok(self.uint(what, u16::MAX.into())? as u16)
    }

    pub(crate) fn u32v(&mut self, what: &str) -> Result<u32, ParseError> {
        Ok(self.uint(what, u32::MAX.into())? as u32)
    }

    pub(crate) fn u64v(&mut self, what: &str) -> Result<u64, ParseError> {
        Ok(self.uint(what, u64::MAX.into())? as u64)
    }

    /// A dotted-quad IPv4 address.
    pub(crate) fn ipv4(&mut self, what: &str) -> Result<[u8; 4], ParseError> {
        let start = self.pos;
        let mut out = [0u8; 4];
        for (i, slot) in out.iter_mut().enumerate() {
            if i > 0 && !self.eat(".") {
                self.pos = start;
                return Err(self.expected(format!("{what} (an IPv4 address such as 10.0.0.1)")));
            }
            let d = self.take_while(|c| c.is_ascii_digit());
            match d.parse::<u8>() {
                Ok(v) if d.len() <= 3 => *slot = v,
                _ => {
                    self.pos = start;
                    return Err(self.expected(format!("{what} (an IPv4 address such as 10.0.0.1)")));
                }
            }
        }
        Ok(out)
    }

    /// An IPv6 address in any form `inet_pton` accepts (no brackets).
    pub(crate) fn ipv6(&mut self, what: &str) -> Result<[u8; 16], ParseError> {
        let start = self.pos;
        let text = self.take_while(|c| c.is_ascii_hexdigit() || c == ':' || c == '.');
        match text.parse::<Ipv6Addr>() {
            Ok(a) => Ok(a.octets()),
            Err(_) => {
                self.pos = start;
                Err(self.expected(format!("{what} (an IPv6 address such as fe80::1)")))
            }
        }
    }

    /// A colon-separated Ethernet address.
    pub(crate) fn eth(&mut self, what: &str) -> Result<[u8; 6], ParseError> {
        let start = self.pos;
        let mut out = [0u8; 6];
        for (i, slot) in out.iter_mut().enumerate() {
            if i > 0 && !self.eat(":") {
                self.pos = start;
                return Err(self.expected(format!("{what} (an Ethernet address such as 0a:00:00:00:00:01)")));
            }
            let h = self.take_while(|c| c.is_ascii_hexdigit());
            if h.is_empty() || h.len() > 2 {
                self.pos = start;
                return Err(self.expected(format!("{what} (an Ethernet address such as 0a:00:00:00:00:01)")));
            }
            *slot = u8::from_str_radix(h, 16).unwrap_or(0);
        }
        Ok(out)
    }
}

/// C's `%#x`: `0` for zero, `0x…` otherwise.
pub(crate) fn hex(v: u128) -> String {
    if v == 0 {
        "0".to_string()
    } else {
        format!("{v:#x}")
    }
}

/// Dotted quad.
pub(crate) fn ip4(a: [u8; 4]) -> String {
    format!("{}.{}.{}.{}", a[0], a[1], a[2], a[3])
}

/// Colon-separated lower-case hex.
pub(crate) fn mac(a: [u8; 6]) -> String {
    format!("{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}", a[0], a[1], a[2], a[3], a[4], a[5])
}

/// IPv6 text as glibc's `inet_ntop` (and so OVS) writes it; see
/// [`hwol_wire::ipv6::format_addr`].
pub(crate) fn ip6(a: [u8; 16]) -> String {
    hwol_wire::ipv6::format_addr(a)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_matches_c_alternate_form() {
        assert_eq!(hex(0), "0");
        assert_eq!(hex(0x21), "0x21");
        assert_eq!(hex(65520), "0xfff0");
    }

    #[test]
    fn ip6_matches_inet_ntop() {
        let p = |s: &str| s.parse::<Ipv6Addr>().unwrap().octets();
        assert_eq!(ip6([0; 16]), "::");
        assert_eq!(ip6(p("::1")), "::1");
        assert_eq!(ip6(p("fe80::1")), "fe80::1");
        assert_eq!(ip6(p("2001:db8::1:0:0:1")), "2001:db8::1:0:0:1");
        assert_eq!(ip6(p("2001:db8:0:1:1:1:1:1")), "2001:db8:0:1:1:1:1:1");
        assert_eq!(ip6(p("1:0:0:2::")), "1:0:0:2::");
        assert_eq!(ip6(p("::ffff:10.0.0.1")), "::ffff:10.0.0.1");
        assert_eq!(ip6(p("::10.0.0.1")), "::10.0.0.1");
        assert_eq!(ip6(p("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff")), "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
    }

    #[test]
    fn columns_count_characters() {
        let mut c = Cursor::new("é(x");
        assert!(c.eat("é"));
        let e = c.expected("'y'");
        assert_eq!(e.column(), 2);
        assert_eq!(e.to_string(), "column 2: expected 'y', found '('");
    }
}
