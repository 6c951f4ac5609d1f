//! Offloading megaflows and connections to a fast path.
//!
//! # The contract
//!
//! An [`OffloadProvider`] is a place flows can be pushed to so their packets
//! skip the software datapath: an eBPF program on the representors, TC flower
//! on a switchdev NIC, or (for tests) [`memory::MemoryProvider`]. Its
//! methods are idempotent per ufid, take `&mut self` (one offload thread owns
//! the provider) and return [`OffloadError::Unsupported`] with a
//! [`NotOffloadedReason`] when a flow must stay in software: that is shown to
//! the user as the reason, never treated as a failure. Any other error is a
//! failure of the provider and is shown as such.
//!
//! # The manager
//!
//! [`manager::OffloadManager`] sits between the datapath and one provider:
//!
//! - megaflow puts and deletes are queued and applied by
//!   [`OffloadManager::run`](manager::OffloadManager::run) on the offload
//!   thread, so packet handling never waits on the kernel;
//! - every flow carries an [`OffloadState`]: pending, offloaded, not
//!   offloaded (with the reason) or failed (with the provider's error);
//! - [`OffloadManager::poll_stats`](manager::OffloadManager::poll_stats)
//!   returns the fast-path counters' growth since the last poll, for the
//!   daemon to merge into the software megaflow counters;
//! - connections conntrack has established are pushed with
//!   [`OffloadManager::ct_offload`](manager::OffloadManager::ct_offload), and
//!   the fast path's last-used times come back to keep the software
//!   conntrack entries alive.
//!
//! A flow the provider refuses keeps working in software: the manager never
//! removes or blocks anything in the software datapath.

#![forbid(unsafe_code)]

pub mod manager;
pub mod memory;
pub mod provider;

pub use manager::{OffloadManager, OffloadSummary};
pub use provider::{
    check_match, CtOffload, FastPathStats, NotOffloadedReason, OffloadError, OffloadFlow, OffloadProvider, OffloadState,
};
