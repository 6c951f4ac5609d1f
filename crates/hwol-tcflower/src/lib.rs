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
//! - [`translate`]: megaflow → rule, or the reason it stays in software.
//!
//! This crate does not create representors, qdiscs' devices or namespaces.

pub mod nla;
pub mod rule;
pub mod tc;
pub mod translate;
pub mod uapi;
