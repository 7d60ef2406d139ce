//! inspect: the L4 TCP/UDP stateful inspection engine (IOS CBAC) and its HA synchronization.
//!
//! Contract: the engine is sans-IO and deterministic: packets and the current time go in, a verdict and
//! session events come out. Packet views are zero-copy and checked; the session table uses a seeded hash
//! and a timing wheel. The NFQUEUE data plane lives behind the default-on `runtime` feature.
//!
//! Map: [`wire`] (packet views), [`tcp`] (TCP tracker), [`acl`] (ACL matcher), [`config`] (engine
//! configuration), [`Engine`] (one shard: session table, timers, CBAC, HA hooks), [`status`] (verdicts,
//! events, snapshots), [`show`] (IOS text renderers), [`record`] (the HA view of a session), [`build`]
//! (packet builders for tests and benches).

pub mod acl;
pub mod build;
pub mod config;
pub mod engine;
pub mod error;
pub mod ha;
mod memhint;
pub mod record;
pub mod show;
pub mod status;
mod table;
pub mod tcp;
pub mod wire;

#[cfg(feature = "runtime")]
pub mod driver;

pub use config::EngineConfig;
pub use engine::{BatchPacket, Engine};
pub use record::{HaSessionId, SessionRecord};
pub use status::{AuditLine, DropReason, EngineEvent, EngineStats, HaRole, HaState, SessionStatus, Verdict};
/// The time types of the engine's API, re-exported for drivers and fuzz targets.
pub use timebase;
