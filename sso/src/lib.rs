//! SSO: the redundancy manager of an inter-device HA pair (IOS `redundancy inter-device`).
//!
//! Contract: sans-IO and deterministic. The manager follows the HSRP group named by the scheme, runs the
//! RF state progression with the peer over messages it hands to the caller, and orchestrates its clients'
//! bulk synchronization. Time is passed in; outputs are drained with `poll_action()`.
//!
//! The integrator (the daemon) feeds a [`Manager`] with:
//! * [`Manager::handle_hsrp_role`]: the scheme group's HSRP state;
//! * [`Manager::handle_link`]: IPC association up/down (and whether the peer restarted);
//! * [`Manager::handle_peer_message`]: bytes received on the association's control stream;
//! * [`Manager::handle_client`]: reports of registered clients (the inspect HA sync first);
//! * operator requests: [`Manager::force_switchover`], [`Manager::request_resync`];
//! * [`Manager::handle_timeout`] when [`Manager::poll_timeout`] is reached;
//!
//! and executes every [`Action`] from [`Manager::poll_action`]: bytes for the peer, client notices, the
//! HSRP preemption hold, a planned HSRP resign, syslog and debug lines. It never depends on the `hsrp` or
//! `ipc` crates: both sides meet only through these plain values. [`Manager::status`] is the snapshot the
//! pure renderers in [`render`] print for `show redundancy ...`.

mod client;
mod config;
mod error;
mod history;
mod manager;
mod mismatch;
mod progress;
pub mod render;
pub mod rf;
mod status;
pub mod wire;

pub use client::{ClientNotice, ClientReport, ClientStatus};
pub use config::{
    ClientId, DEFAULT_BULK_RETRY, DEFAULT_BULK_TIMEOUT, DEFAULT_HELLO_INTERVAL, DEFAULT_HISTORY_LEN,
    DEFAULT_PEER_DEAD_INTERVALS, DEFAULT_SWITCHOVER_NOTICE_VALIDITY, Digest, Direction, HaConfigSummary,
    HaInterface, HsrpRole, OtherHsrpState, SsoConfig,
};
pub use error::{DecodeError, RefusalReason};
pub use history::{Changed, HistoryEntry};
pub use manager::{Action, Manager, PeerCounters, log_severity};
pub use mismatch::{Mismatch, MismatchKind, compare as compare_summaries};
pub use rf::{RfEvent, RfState};
pub use status::SsoStatus;
/// The time types every input takes, re-exported for integrators and fuzz targets.
pub use timebase;
