//! The TC flower offload provider (`dp:tc` on a switchdev NIC): megaflows
//! become flower filters on the representors' clsact ingress. The design
//! (translation table, chains, priorities, cookies, tc-policy, stats and
//! the conntrack question) is written up in `docs/tc-flower.md`.
//!
//! Layers, pure first:
//!
//! - [`uapi`]: the kernel's constants, under their own names;
//! - [`nla`] and [`tc`]: the RTM_*TFILTER codec (flower options, actions),
//!   checked byte for byte against iproute2 in `tests/golden.rs`;
//! - [`rule`]: a flower rule and the messages that add, delete and get it;
//! - [`translate`]: megaflow → rule, or the reason it stays in software;
//! - [`conntrack`]: ctnetlink messages mirroring hwol's connections into the
//!   kernel's conntrack, which act_ct reads;
//! - [`journal`]: what the provider installed, as text, so that a daemon
//!   restarted after a crash takes the kernel's filters over;
//! - [`provider`]: [`FlowerProvider`], the `OffloadProvider`, over a
//!   [`Transport`]: [`sys::NlSocket`] for real, [`fake::FakeKernel`] in tests.
//!
//! This crate does not create representors, qdiscs' devices or namespaces.

pub mod conntrack;
pub mod fake;
pub mod journal;
pub mod nla;
pub mod provider;
pub mod rule;
pub mod sys;
pub mod tc;
pub mod translate;
pub mod transport;
pub mod uapi;

pub use provider::{CtTimeouts, FlowerProvider, HwState};
pub use translate::TcPolicy;
pub use transport::{NlError, Transport};
