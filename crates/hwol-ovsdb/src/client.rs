//! The I/O edge: a blocking OVSDB connection over a unix or TCP socket, and
//! a [`Session`] that keeps a monitor's [`Replica`] current across
//! reconnects.
//!
//! # Remotes
//!
//! As `ovs-vswitchd`'s database argument: `unix:/run/openvswitch/db.sock`,
//! `tcp:127.0.0.1:6640`, or a bare path (taken as `unix:`). `ssl:` and the
//! passive forms (`punix:`, `ptcp:`) are not supported.
//!
//! # Session life cycle
//!
//! ```text
//!   disconnected --connect + monitor ok--> connected (Event::Connected: the replica is fresh)
//!        ^                                     |  updates   -> Event::Updated
//!        |                                     |  replies   -> Event::TransactDone
//!        +--- EOF / error / bad message -------+  echo      -> answered here
//! ```
//!
//! After a failure the next attempt waits for [`Backoff`]: 250 ms, doubled
//! after each failure up to 8 s, reset by a successful connect. The replica
//! keeps its last contents while disconnected (the switch keeps forwarding
//! with what it has); a reconnect replaces it with the server's contents.
//! Transactions in flight when the connection drops are lost: callers
//! recompute what to write from the replica after [`Event::Connected`], so
//! nothing depends on a lost write.
//!
//! Threading: a `Session` is used from one thread; [`Session::poll`] blocks
//! at most for the timeout it is given.

use std::collections::VecDeque;
use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::monitor::{table_updates_from_json, update_notification, MonitorRequest, Replica};
use crate::rpc::{error_text, Decoder, Message};
use crate::transact::{results_from_json, transact_params, OpResult, Operation};
use crate::Error;

/// How long a connect, or a monitor request, may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Inactivity probe interval for `tcp:` remotes (OVS's default).
const PROBE_INTERVAL: Duration = Duration::from_secs(5);

fn remote_kind_needs_probes(remote: &Remote) -> bool {
    matches!(remote, Remote::Tcp(_))
}

/// How long a write may block before the connection is declared dead.
const WRITE_TIMEOUT: Duration = Duration::from_secs(5);

/// Where the database is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Remote {
    /// `unix:PATH` (or a bare path).
    Unix(PathBuf),
    /// `tcp:HOST:PORT`.
    Tcp(String),
}

impl Remote {
    /// Parse `unix:PATH`, `tcp:HOST:PORT` or a bare path.
    pub fn parse(text: &str) -> Result<Remote, Error> {
        let bad = |why: &str| Error::Remote { remote: text.to_string(), why: why.to_string() };
        if let Some(path) = text.strip_prefix("unix:") {
            if path.is_empty() {
                return Err(bad("the path after unix: is empty"));
            }
            return Ok(Remote::Unix(path.into()));
        }
        if let Some(addr) = text.strip_prefix("tcp:") {
            return match addr.rsplit_once(':') {
                Some((host, port)) if !host.is_empty() && port.parse::<u16>().is_ok() => Ok(Remote::Tcp(addr.into())),
                _ => Err(bad("expected tcp:HOST:PORT, e.g. tcp:127.0.0.1:6640")),
            };
        }
        if text.contains(':') || text.is_empty() {
            return Err(bad("use unix:PATH or tcp:HOST:PORT (ssl:, punix: and ptcp: are not supported)"));
        }
        Ok(Remote::Unix(text.into()))
    }
}

impl std::fmt::Display for Remote {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Remote::Unix(p) => write!(f, "unix:{}", p.display()),
            Remote::Tcp(a) => write!(f, "tcp:{a}"),
        }
    }
}

enum Stream {
    Unix(UnixStream),
    Tcp(TcpStream),
}

impl Stream {
    fn set_read_timeout(&self, t: Option<Duration>) -> std::io::Result<()> {
        match self {
            Stream::Unix(s) => s.set_read_timeout(t),
            Stream::Tcp(s) => s.set_read_timeout(t),
        }
    }
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            Stream::Unix(s) => s.read(buf),
            Stream::Tcp(s) => s.read(buf),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Stream::Unix(s) => s.write(buf),
            Stream::Tcp(s) => s.write(buf),
        }
    }
    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Stream::Unix(s) => s.flush(),
            Stream::Tcp(s) => s.flush(),
        }
    }
}

/// One connection to an OVSDB server.
pub struct Connection {
    remote: Remote,
    stream: Stream,
    decoder: Decoder,
    backlog: VecDeque<Message>,
    next_id: u64,
    last_rx: Instant,
}

impl Connection {
    /// Connect to `remote`.
    pub fn connect(remote: &Remote) -> Result<Connection, Error> {
        let io = |source| Error::Io { what: format!("connect to {remote}"), source };
        let stream = match remote {
            Remote::Unix(path) => Stream::Unix(UnixStream::connect(path).map_err(io)?),
            Remote::Tcp(addr) => {
                use std::net::ToSocketAddrs;
                let sa = addr.to_socket_addrs().map_err(io)?.next().ok_or_else(|| {
                    io(std::io::Error::new(ErrorKind::NotFound, format!("{addr} resolves to no address")))
                })?;
                let s = TcpStream::connect_timeout(&sa, CONNECT_TIMEOUT).map_err(io)?;
                let _ = s.set_nodelay(true);
                Stream::Tcp(s)
            }
        };
        match &stream {
            Stream::Unix(s) => s.set_write_timeout(Some(WRITE_TIMEOUT)),
            Stream::Tcp(s) => s.set_write_timeout(Some(WRITE_TIMEOUT)),
        }
        .map_err(io)?;
        Ok(Connection {
            remote: remote.clone(),
            stream,
            decoder: Decoder::new(),
            backlog: VecDeque::new(),
            next_id: 1,
            last_rx: Instant::now(),
        })
    }

    /// The remote this connection goes to.
    pub fn remote(&self) -> &Remote {
        &self.remote
    }

    /// When bytes last arrived.
    pub fn last_rx(&self) -> Instant {
        self.last_rx
    }

    /// Send one message.
    pub fn send(&mut self, msg: &Message) -> Result<(), Error> {
        let bytes = msg.to_bytes();
        self.stream.write_all(&bytes).map_err(|source| Error::Io { what: format!("write to {}", self.remote), source })
    }

    /// Send a request and return its id.
    pub fn send_request(&mut self, method: &str, params: Value) -> Result<u64, Error> {
        let id = self.next_id;
        self.next_id += 1;
        self.send(&Message::request(method, params, id))?;
        Ok(id)
    }

    /// The next message, waiting at most `timeout`; `Ok(None)` on timeout.
    /// `echo` requests are answered here and not returned. The server
    /// closing the connection is [`Error::Closed`].
    pub fn recv(&mut self, timeout: Duration) -> Result<Option<Message>, Error> {
        match self.backlog.pop_front() {
            Some(m) => Ok(Some(m)),
            None => self.recv_wire(timeout),
        }
    }

    /// The next message from the socket (not the backlog).
    fn recv_wire(&mut self, timeout: Duration) -> Result<Option<Message>, Error> {
        let deadline = Instant::now() + timeout;
        let mut buf = [0u8; 65536];
        loop {
            while let Some(msg) = self.decoder.next_message()? {
                match msg.echo_reply() {
                    Some(reply) => self.send(&reply)?,
                    None => return Ok(Some(msg)),
                }
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(None);
            }
            let io = |source| Error::Io { what: format!("read from {}", self.remote), source };
            self.stream.set_read_timeout(Some(left)).map_err(io)?;
            match self.stream.read(&mut buf) {
                Ok(0) => return Err(Error::Closed { remote: self.remote.to_string() }),
                Ok(n) => {
                    self.last_rx = Instant::now();
                    self.decoder.push(&buf[..n]);
                }
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => return Ok(None),
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(io(e)),
            }
        }
    }

    /// Send a request and wait for its response (other messages arriving
    /// meanwhile are kept for [`Connection::recv`]). An error reply is
    /// [`Error::Server`].
    pub fn call(&mut self, method: &str, params: Value, timeout: Duration) -> Result<Value, Error> {
        let id = self.send_request(method, params)?;
        let deadline = Instant::now() + timeout;
        let mut held = Vec::new();
        let result = loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let Some(msg) = self.recv_wire(left)? else {
                break Err(Error::Timeout { what: format!("{method} on {}", self.remote), after: timeout });
            };
            match msg {
                Message::Response { result, id: rid } if rid == json!(id) => break Ok(result),
                Message::Error { error, id: rid } if rid == json!(id) => {
                    break Err(Error::Server { method: method.to_string(), message: error_text(&error) })
                }
                other => held.push(other),
            }
        };
        self.backlog.extend(held);
        result
    }
}

/// Exponential retry delay (pure: the caller passes the time).
#[derive(Debug, Clone)]
pub struct Backoff {
    min: Duration,
    max: Duration,
    current: Duration,
    next_at: Option<Instant>,
}

impl Backoff {
    /// First retry after `min`, doubling per failure up to `max`.
    pub fn new(min: Duration, max: Duration) -> Backoff {
        Backoff { min, max, current: min, next_at: None }
    }

    /// Whether an attempt may be made at `now`.
    pub fn ready(&self, now: Instant) -> bool {
        self.next_at.is_none_or(|t| now >= t)
    }

    /// When the next attempt may be made (`None`: now).
    pub fn next_at(&self) -> Option<Instant> {
        self.next_at
    }

    /// An attempt failed at `now`: schedule the next one; returns the delay.
    pub fn failed(&mut self, now: Instant) -> Duration {
        let delay = self.current;
        self.next_at = Some(now + delay);
        self.current = (self.current * 2).min(self.max);
        delay
    }

    /// An attempt succeeded: the next failure starts over at `min`.
    pub fn succeeded(&mut self) {
        self.current = self.min;
        self.next_at = None;
    }
}

/// What [`Session::poll`] saw.
#[derive(Debug)]
pub enum Event {
    /// (Re)connected and monitoring: the replica holds the server's contents.
    Connected,
    /// The replica changed.
    Updated,
    /// A transaction sent with [`Session::transact`] finished.
    TransactDone {
        /// Its id.
        id: u64,
        /// The per-operation results, or why it failed.
        result: Result<Vec<OpResult>, Error>,
    },
    /// The connection was lost or could not be made; the next attempt is in `retry_in`.
    Disconnected {
        /// Why.
        error: Error,
        /// Delay before the next attempt.
        retry_in: Duration,
    },
    /// Nothing happened within the timeout.
    Idle,
}

/// A monitor on one database, kept across reconnects.
pub struct Session {
    remote: Remote,
    db: String,
    request: MonitorRequest,
    conn: Option<Connection>,
    replica: Replica,
    backoff: Backoff,
    monitor_id: Value,
    probe_interval: Option<Duration>,
    /// The id and send time of an unanswered inactivity probe.
    probe: Option<(u64, Instant)>,
}

impl Session {
    /// A session for `db` on `remote` monitoring `request`; nothing is
    /// connected until the first [`Session::poll`].
    pub fn new(remote: Remote, db: &str, request: MonitorRequest) -> Session {
        let probe_interval = remote_kind_needs_probes(&remote).then_some(PROBE_INTERVAL);
        Session {
            remote,
            db: db.to_string(),
            request,
            conn: None,
            replica: Replica::new(),
            backoff: Backoff::new(Duration::from_millis(250), Duration::from_secs(8)),
            monitor_id: json!("hwol"),
            probe_interval,
            probe: None,
        }
    }

    /// Send an `echo` after `interval` without input and drop the
    /// connection if it is not answered within another `interval` (`None`:
    /// never). The default, as in OVS: 5 s for `tcp:`, none for `unix:`
    /// (the kernel reports a dead local peer as a closed socket; only a hung
    /// server goes unnoticed).
    pub fn set_probe_interval(&mut self, interval: Option<Duration>) {
        self.probe_interval = interval;
    }

    /// The remote.
    pub fn remote(&self) -> &Remote {
        &self.remote
    }

    /// Whether a connection is up.
    pub fn is_connected(&self) -> bool {
        self.conn.is_some()
    }

    /// The monitored tables as last seen.
    pub fn replica(&self) -> &Replica {
        &self.replica
    }

    /// Wait at most `timeout` for something to happen; connects (with
    /// backoff) when disconnected.
    pub fn poll(&mut self, timeout: Duration) -> Event {
        let Some(conn) = self.conn.as_mut() else { return self.try_connect(timeout) };
        let msg = match conn.recv(timeout) {
            Ok(Some(m)) => m,
            Ok(None) => return self.check_probe(),
            Err(e) => return self.lost(e),
        };
        if let Message::Response { id, .. } = &msg {
            if self.probe.is_some_and(|(pid, _)| *id == json!(pid)) {
                self.probe = None;
                return Event::Idle;
            }
        }
        match msg {
            Message::Notification { method, params } if method == "update" => {
                match update_notification(&params, &self.monitor_id) {
                    Ok(Some(updates)) => {
                        self.replica.apply(&updates);
                        Event::Updated
                    }
                    Ok(None) => Event::Idle,
                    Err(e) => self.lost(e),
                }
            }
            Message::Response { result, id } => match id.as_u64() {
                Some(id) => Event::TransactDone { id, result: results_from_json(&result) },
                None => Event::Idle,
            },
            Message::Error { error, id } => match id.as_u64() {
                Some(id) => Event::TransactDone {
                    id,
                    result: Err(Error::Server { method: "transact".into(), message: error_text(&error) }),
                },
                None => Event::Idle,
            },
            // Other notifications and requests (e.g. "locked") are not used.
            _ => Event::Idle,
        }
    }

    /// Send a transaction; its outcome arrives as [`Event::TransactDone`]
    /// with the returned id. Fails when disconnected.
    pub fn transact(&mut self, ops: &[Operation]) -> Result<u64, Error> {
        let conn = self.conn.as_mut().ok_or_else(|| Error::Closed { remote: self.remote.to_string() })?;
        match conn.send_request("transact", transact_params(&self.db, ops)) {
            Ok(id) => Ok(id),
            Err(e) => {
                self.conn = None;
                Err(e)
            }
        }
    }

    /// Nothing arrived: send an inactivity probe, or give up on an
    /// unanswered one.
    fn check_probe(&mut self) -> Event {
        let (Some(interval), Some(conn)) = (self.probe_interval, self.conn.as_mut()) else { return Event::Idle };
        let now = Instant::now();
        match self.probe {
            Some((_, sent)) if conn.last_rx() > sent => self.probe = None,
            Some((_, sent)) if now.duration_since(sent) >= interval => {
                let what = format!("inactivity probe (echo) to {}", self.remote);
                return self.lost(Error::Timeout { what, after: interval });
            }
            Some(_) => {}
            None if now.duration_since(conn.last_rx()) >= interval => match conn.send_request("echo", json!([])) {
                Ok(id) => self.probe = Some((id, now)),
                Err(e) => return self.lost(e),
            },
            None => {}
        }
        Event::Idle
    }

    fn lost(&mut self, error: Error) -> Event {
        self.conn = None;
        self.probe = None;
        let retry_in = self.backoff.failed(Instant::now());
        Event::Disconnected { error, retry_in }
    }

    fn try_connect(&mut self, timeout: Duration) -> Event {
        let now = Instant::now();
        if !self.backoff.ready(now) {
            let wait = self.backoff.next_at().map_or(Duration::ZERO, |t| t.saturating_duration_since(now));
            std::thread::sleep(wait.min(timeout));
            if !self.backoff.ready(Instant::now()) {
                return Event::Idle;
            }
        }
        let attempt = Connection::connect(&self.remote).and_then(|mut conn| {
            let params = self.request.params(&self.db, &self.monitor_id);
            let initial = conn.call("monitor", params, CONNECT_TIMEOUT)?;
            Ok((conn, table_updates_from_json(&initial)?))
        });
        match attempt {
            Ok((conn, initial)) => {
                self.conn = Some(conn);
                self.replica.clear();
                self.replica.apply(&initial);
                self.backoff.succeeded();
                Event::Connected
            }
            Err(e) => self.lost(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remotes() {
        assert_eq!(Remote::parse("unix:/run/db.sock").unwrap(), Remote::Unix("/run/db.sock".into()));
        assert_eq!(Remote::parse("/run/db.sock").unwrap(), Remote::Unix("/run/db.sock".into()));
        assert_eq!(Remote::parse("tcp:127.0.0.1:6640").unwrap(), Remote::Tcp("127.0.0.1:6640".into()));
        for bad in ["tcp:127.0.0.1", "ssl:1.2.3.4:6640", "punix:/x", "unix:", ""] {
            let e = Remote::parse(bad).unwrap_err().to_string();
            assert!(e.contains("unix:") || e.contains("tcp:"), "{bad}: {e}");
        }
        assert_eq!(Remote::parse("unix:/a").unwrap().to_string(), "unix:/a");
    }

    #[test]
    fn backoff_doubles_up_to_max_and_resets() {
        let t0 = Instant::now();
        let mut b = Backoff::new(Duration::from_millis(250), Duration::from_secs(1));
        assert!(b.ready(t0));
        let delays: Vec<_> = (0..5).map(|_| b.failed(t0)).collect();
        let ms: Vec<u128> = delays.iter().map(Duration::as_millis).collect();
        assert_eq!(ms, [250, 500, 1000, 1000, 1000]);
        assert!(!b.ready(t0));
        assert!(b.ready(t0 + Duration::from_secs(1)));
        b.succeeded();
        assert!(b.ready(t0));
        assert_eq!(b.failed(t0), Duration::from_millis(250));
    }

    #[test]
    fn connecting_to_nothing_fails_with_the_remote_and_backs_off() {
        let path = std::env::temp_dir().join(format!("hwol-ovsdb-none-{}.sock", std::process::id()));
        let mut s = Session::new(Remote::Unix(path.clone()), "Open_vSwitch", MonitorRequest::default());
        match s.poll(Duration::from_millis(10)) {
            Event::Disconnected { error, retry_in } => {
                assert!(error.to_string().contains(&path.display().to_string()), "{error}");
                assert_eq!(retry_in, Duration::from_millis(250));
            }
            other => panic!("expected Disconnected, got {other:?}"),
        }
        // Within the backoff the session does not try again.
        assert!(matches!(s.poll(Duration::from_millis(1)), Event::Idle));
        assert!(!s.is_connected());
    }
}
