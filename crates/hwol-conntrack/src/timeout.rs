//! The timeout policy: how long a connection may stay idle in each state.
//!
//! Every connection remembers which [`TimeoutKind`] its current state falls
//! under; each accepted packet (and [`crate::Conntrack::touch`]) pushes its
//! expiry to `now + timeouts[kind]`. The field names follow the attributes
//! of OVS's timeout policies (`tcp_syn_sent`, `udp_multiple`, ...) so a
//! policy configured in OVSDB maps one-to-one; the defaults are the
//! userspace datapath's defaults.
//!
//! As in OVS, the `udp_*` values govern every protocol without a dedicated
//! tracker (UDP, SCTP, GRE, ...), and the names are those of the kernel
//! attributes even where the userspace state machine is finer grained
//! (see the mapping on each field).

use std::time::Duration;

/// Idle timeouts per protocol state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timeouts {
    /// TCP, only the first packet (a SYN) seen. Default 30 s.
    pub tcp_syn_sent: Duration,
    /// TCP, handshake in progress (one side not yet established). Default 30 s.
    pub tcp_syn_recv: Duration,
    /// TCP, both sides established. Default 86400 s (24 h).
    pub tcp_established: Duration,
    /// TCP, one side has sent a FIN. Default 900 s.
    pub tcp_fin_wait: Duration,
    /// TCP, both sides have sent a FIN. Default 45 s.
    pub tcp_time_wait: Duration,
    /// TCP, both FINs acknowledged, or reset. Default 30 s.
    pub tcp_close: Duration,
    /// UDP/other, one packet seen. Default 60 s.
    pub udp_first: Duration,
    /// UDP/other, several packets seen, all in the original direction. Default 60 s.
    pub udp_single: Duration,
    /// UDP/other, traffic seen in both directions. Default 30 s.
    pub udp_multiple: Duration,
    /// ICMP query, request seen. Default 60 s.
    pub icmp_first: Duration,
    /// ICMP query, reply seen. Default 30 s.
    pub icmp_reply: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        let s = Duration::from_secs;
        Timeouts {
            tcp_syn_sent: s(30),
            tcp_syn_recv: s(30),
            tcp_established: s(24 * 60 * 60),
            tcp_fin_wait: s(15 * 60),
            tcp_time_wait: s(45),
            tcp_close: s(30),
            udp_first: s(60),
            udp_single: s(60),
            udp_multiple: s(30),
            icmp_first: s(60),
            icmp_reply: s(30),
        }
    }
}

/// Which timeout of [`Timeouts`] a connection state falls under.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum TimeoutKind {
    TcpFirstPacket,
    TcpOpening,
    TcpEstablished,
    TcpClosing,
    TcpFinWait,
    TcpClosed,
    OtherFirst,
    OtherMultiple,
    OtherBidir,
    IcmpFirst,
    IcmpReply,
}

impl Timeouts {
    pub(crate) fn get(&self, kind: TimeoutKind) -> Duration {
        match kind {
            TimeoutKind::TcpFirstPacket => self.tcp_syn_sent,
            TimeoutKind::TcpOpening => self.tcp_syn_recv,
            TimeoutKind::TcpEstablished => self.tcp_established,
            TimeoutKind::TcpClosing => self.tcp_fin_wait,
            TimeoutKind::TcpFinWait => self.tcp_time_wait,
            TimeoutKind::TcpClosed => self.tcp_close,
            TimeoutKind::OtherFirst => self.udp_first,
            TimeoutKind::OtherMultiple => self.udp_single,
            TimeoutKind::OtherBidir => self.udp_multiple,
            TimeoutKind::IcmpFirst => self.icmp_first,
            TimeoutKind::IcmpReply => self.icmp_reply,
        }
    }
}
