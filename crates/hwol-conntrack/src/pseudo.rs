//! Pseudo-states for protocols without a handshake: UDP and everything
//! else without a dedicated tracker ("other"), and ICMP/ICMPv6 queries.
//!
//! Such a "connection" only learns whether traffic has flowed one way or
//! both ways. Until the reply direction has been seen, packets in the
//! original direction keep reporting `+new` (the connection is not yet
//! established); once a reply has been seen, every packet is `+est`. The
//! timeout shortens as the exchange matures, as in OVS: a lone request is
//! kept longer than an answered one.

use crate::tcp::Update;
use crate::timeout::TimeoutKind;

/// UDP/other pseudo-state, as OVS's `OTHERS_*`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OtherState {
    /// One packet seen, in the original direction.
    First,
    /// Several packets seen, all in the original direction.
    Multiple,
    /// Packets seen in both directions.
    Bidir,
}

impl OtherState {
    /// The name (OVS does not print it; used by `Debug`-style tooling).
    pub fn name(self) -> &'static str {
        match self {
            OtherState::First => "FIRST",
            OtherState::Multiple => "MULTIPLE",
            OtherState::Bidir => "BIDIR",
        }
    }

    pub(crate) fn timeout(self) -> TimeoutKind {
        match self {
            OtherState::First => TimeoutKind::OtherFirst,
            OtherState::Multiple => TimeoutKind::OtherMultiple,
            OtherState::Bidir => TimeoutKind::OtherBidir,
        }
    }

    /// Account for one more packet; the timeout is always refreshed.
    pub(crate) fn update(&mut self, reply: bool) -> (Update, Option<TimeoutKind>) {
        if reply {
            *self = OtherState::Bidir;
        } else if *self == OtherState::First {
            *self = OtherState::Multiple;
        }
        let u = if *self == OtherState::Bidir { Update::Valid } else { Update::ValidNew };
        (u, Some(self.timeout()))
    }
}

/// ICMP query pseudo-state, as OVS's `ICMPS_*`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum IcmpState {
    /// Requests seen, no reply yet.
    First,
    /// A reply has been seen.
    Reply,
}

impl IcmpState {
    /// The name.
    pub fn name(self) -> &'static str {
        match self {
            IcmpState::First => "FIRST",
            IcmpState::Reply => "REPLY",
        }
    }

    pub(crate) fn timeout(self) -> TimeoutKind {
        match self {
            IcmpState::First => TimeoutKind::IcmpFirst,
            IcmpState::Reply => TimeoutKind::IcmpReply,
        }
    }

    /// Account for one more message; the timeout is always refreshed.
    pub(crate) fn update(&mut self, reply: bool) -> (Update, Option<TimeoutKind>) {
        let u = match (*self, reply) {
            (IcmpState::First, true) => {
                *self = IcmpState::Reply;
                Update::Valid
            }
            (IcmpState::First, false) => Update::ValidNew,
            (IcmpState::Reply, _) => Update::Valid,
        };
        (u, Some(self.timeout()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn other_states() {
        let mut s = OtherState::First;
        assert_eq!(s.update(false), (Update::ValidNew, Some(TimeoutKind::OtherMultiple)));
        assert_eq!(s.update(false), (Update::ValidNew, Some(TimeoutKind::OtherMultiple)));
        assert_eq!(s.update(true), (Update::Valid, Some(TimeoutKind::OtherBidir)));
        assert_eq!(s.update(false), (Update::Valid, Some(TimeoutKind::OtherBidir)));
    }

    #[test]
    fn icmp_states() {
        let mut s = IcmpState::First;
        assert_eq!(s.update(false), (Update::ValidNew, Some(TimeoutKind::IcmpFirst)));
        assert_eq!(s.update(true), (Update::Valid, Some(TimeoutKind::IcmpReply)));
        assert_eq!(s.update(false), (Update::Valid, Some(TimeoutKind::IcmpReply)));
    }
}
