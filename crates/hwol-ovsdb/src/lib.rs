//! OVSDB for hwol: how `hwol-vswitchd` plays the part of `ovs-vswitchd`
//! against a real `ovsdb-server` running the `Open_vSwitch` schema, so that
//! `ovs-vsctl add-br`, `add-port`, `del-port` and `set Open_vSwitch .
//! other_config:…` drive hwol.
//!
//! # Layers
//!
//! - Pure codec and data model, no I/O (RFC 7047):
//!   - [`datum`]: atoms, sets, maps, UUIDs and named UUIDs, rows;
//!   - [`rpc`]: JSON-RPC 1.0 messages, the stream framing, `echo`;
//!   - [`monitor`]: monitor requests, table updates (`monitor` and
//!     `monitor_cond`/`update2`), the in-memory [`Replica`];
//!   - [`transact`] holds the `insert`/`update`/`mutate`/`delete`/`wait`/`comment`
//!     operations and their results.
//! - [`vswitch`]: the pure bridge reconciler. From the replica and the
//!   switch's current ports it computes what to do (bridge and port
//!   changes) and, after the caller has done it, the write-backs (Interface
//!   `ofport`/`error`/`status`…, Bridge `datapath_id`, `Open_vSwitch.cur_cfg`).
//! - [`client`]: the I/O edge. A blocking [`Connection`] (unix or TCP) and a
//!   [`Session`] that keeps a monitor and its replica across reconnects,
//!   with backoff.
//!
//! What this crate does not do: apply anything to a switch (the daemon's
//! `ovsdb` module does, through the vswitch plan), SSL remotes, locks,
//! schema checks (the server checks every write).

#![forbid(unsafe_code)]

pub mod client;
pub mod datum;
pub mod monitor;
pub mod rpc;
pub mod transact;
pub mod vswitch;

use std::time::Duration;

pub use client::{Backoff, Connection, Event, Remote, Session};
pub use datum::{Atom, Datum, Row, Uuid};
pub use monitor::{MonitorRequest, Replica, RowUpdate, Schema, TableUpdates};
pub use rpc::{Decoder, Message};
pub use transact::{Condition, Mutation, Mutator, OpResult, Operation};

/// The database `ovs-vswitchd` uses.
pub const DATABASE: &str = "Open_vSwitch";

/// Errors of this crate.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The peer sent something that is not valid OVSDB JSON-RPC.
    #[error("OVSDB protocol error: {0} (is the remote an ovsdb-server with the Open_vSwitch schema?)")]
    Protocol(String),
    /// A remote string could not be parsed.
    #[error("OVSDB remote {remote:?}: {why}")]
    Remote {
        /// The text given.
        remote: String,
        /// What is wrong.
        why: String,
    },
    /// A socket operation failed.
    #[error("{what}: {source} (is ovsdb-server running and listening there? e.g. --remote=punix:PATH)")]
    Io {
        /// What was being done.
        what: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The server closed the connection.
    #[error("{remote}: connection closed by the server (was ovsdb-server stopped or restarted?)")]
    Closed {
        /// The remote.
        remote: String,
    },
    /// No answer in time.
    #[error("no answer to {what} within {after:?}")]
    Timeout {
        /// The request.
        what: String,
        /// The time waited.
        after: Duration,
    },
    /// The server answered a request with an error.
    #[error("ovsdb-server refused {method}: {message}")]
    Server {
        /// The method called.
        method: String,
        /// The server's error.
        message: String,
    },
    /// An operation in a transaction failed.
    #[error("transaction failed at operation {index}: {message}")]
    Transaction {
        /// Index of the failed operation (one past the last for commit-time failures).
        index: usize,
        /// The server's error.
        message: String,
    },
}
