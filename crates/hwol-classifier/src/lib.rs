//! The megaflow classifier: given a packet's [`FlowKey`], find the cached
//! megaflow — a `(key, mask)` pair and its value, usually the actions —
//! that matches it.
//!
//! This crate is a pure in-memory data structure. It does no I/O, reads no
//! clock, and knows nothing about what the values mean. It covers the
//! datapath's megaflow table only; the OpenFlow-level classifier, with
//! priorities, versioning and un-wildcarding, is a different problem.
//!
//! # Tuple-space search
//!
//! A megaflow matches a key when `key & mask == stored_key` (the stored key
//! is kept already masked). For a single mask this is an exact-match
//! question, answered by a hash table keyed by the masked key. The datapath
//! holds many megaflows but, in practice, few distinct masks: masks come
//! from which fields the OpenFlow pipeline looked at, and one pipeline
//! produces a few dozen shapes at most, while flows number in the
//! thousands to hundreds of thousands. Tuple-space search exploits that:
//! there is one *subtable* per distinct mask, and a lookup masks the key
//! with each subtable's mask in turn and probes that subtable's hash table.
//! The cost is one hash probe per mask, independent of the number of
//! flows; a linear scan ([`LinearClassifier`]) costs one comparison per
//! flow.
//!
//! Each subtable precomputes which of the key's [`FLOW_WORDS`] 64-bit words
//! its mask touches at all. Masking, hashing and comparing use only those
//! words, packed densely, so a mask over `in_port`, `eth_type` and `nw_dst`
//! costs three or four words of work rather than 24. The hash is foldhash,
//! seeded per classifier, since keys are chosen by whoever sends packets.
//!
//! # Where the entries live
//!
//! All subtables share one concurrent hash map (papaya). Each entry's key
//! carries a pointer to its subtable, the packed masked words, and their
//! hash (which mixes in the subtable's id), so the entries of one subtable
//! are exactly the map's keys that name it. This is tuple-space search all
//! the same, one probe per mask, but a lookup enters the map's reclamation
//! epoch once instead of once per subtable, an empty subtable owns no
//! table to free, and there is one table to grow rather than many. The cost
//! is that a hot small subtable does not get a small, cache-resident table
//! of its own; the cache lines a hot entry touches stay hot regardless.
//!
//! # Lock-free reads, one writer
//!
//! Many threads look up at packet rate; flows are added and removed at
//! upcall rate, by one logical writer. The read side therefore takes no
//! lock:
//!
//! - The search order is an immutable `Vec` of subtables behind an
//!   `ArcSwap`. A reader loads it (no lock, no allocation, no reference
//!   count traffic in the common case) and walks it. A writer that adds or
//!   removes a mask, or re-ranks, builds a new `Vec` and swaps it in; a
//!   reader still walking the old one finishes on a consistent list.
//! - The entry map is lock-free for readers, with epoch-based reclamation,
//!   so a value replaced or removed while a reader is looking at it stays
//!   valid until that reader is done. Lookups return a clone of the value.
//! - Writers (`insert`, `remove`, `rank_subtables`) take `&self` and a
//!   mutex that serializes them. It guards the writer's bookkeeping (the
//!   mask → subtable index and per-subtable entry counts) and makes each
//!   multi-step update — insert the first entry of a new mask, then
//!   publish the subtable — atomic with respect to other writers. Readers
//!   never touch it. A second writer waits; with one upcall thread per
//!   datapath that is never contended, and it is far simpler than making
//!   the bookkeeping itself concurrent.
//!
//! A new mask's first entry is inserted before the subtable is published,
//! and a subtable is unpublished only once its last entry is gone, so no
//! reader ever observes a half-made change. Once `insert` returns, every
//! lookup that starts afterwards sees the entry.
//!
//! A lookup performs no allocation once its thread has done one lookup
//! (the first one registers per-thread slots in the reclamation schemes);
//! the masked key is packed into a stack buffer.
//!
//! # Ranking
//!
//! A hit ends the search, so the order of subtables matters: a lookup for
//! a flow in the `i`-th subtable probes `i` tables, a miss probes them all.
//! Each subtable counts hits with relaxed atomics, sharded across 16
//! cache-line-aligned counters by thread so concurrent readers do not
//! bounce one line between cores, and incremented with a plain load and
//! store (a thread sharing a shard may rarely lose a count; ranking is a
//! heuristic and the hot path avoids a locked instruction).
//! [`Classifier::rank_subtables`] takes the hits each subtable gained since
//! the previous call, sorts by that, most first (ties keep their order),
//! and publishes the new order. Ranking on recent hits rather than totals
//! lets the order follow shifts in traffic. New masks are searched last
//! until the next ranking. The caller picks the interval; the classifier
//! has no clock.
//!
//! # What it does not do
//!
//! - No priorities: megaflows are meant not to overlap. If several entries
//!   match a key, lookup returns one of them, which one unspecified.
//! - No per-entry statistics or timestamps: the datapath keeps those in
//!   the value.
//! - No exact-match or signature caches in front of it: those belong to
//!   the datapath's per-thread fast path.
//! - No fallible operations, so no error type: an insert cannot fail short
//!   of running out of memory.

#![forbid(unsafe_code)]

mod linear;
mod subtable;
mod tss;

pub use linear::LinearClassifier;
pub use tss::Classifier;

#[doc(no_inline)]
pub use hwol_flow::{FlowKey, FlowMask, FLOW_WORDS};
