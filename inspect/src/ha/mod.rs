//! HA synchronization of inspect sessions between the Active and the standby router.
//!
//! * [`wire`]: the compact, versioned batch format (one batch per IPC message).
//! * [`sync`]: [`HaSync`], the sans-IO sync client (Active or standby side).
//! * [`store`]: [`SessionStore`], all the protocol needs from a session table, and [`MemoryStore`].
//! * [`digest`]: the order-independent table digest checked at the end of a bulk synchronization.
//! * [`stats`]: counters, the JSON snapshot and the `show ip inspect ha statistics` renderer.
//!
//! The protocol is described in `docs/inspect-ha.md`.

pub mod digest;
pub mod engine;
pub mod error;
pub mod stats;
pub mod store;
pub mod sync;
pub mod wire;
pub mod workload;

pub use digest::{TableDigest, record_hash};
pub use engine::feed_engine_event;
pub use error::DecodeError;
pub use stats::{SyncCounters, SyncRole, SyncStatistics, render_statistics};
pub use store::{MemoryStore, SessionStore, SessionUpdate};
pub use sync::{BulkReport, HaSync, ResyncReason, SyncAction, SyncConfig, SyncNotice};
pub use wire::{
    BatchEncoder, BatchFlags, BatchHeader, Record, RecordType, decode_batch, decode_header, encode_batch,
};
