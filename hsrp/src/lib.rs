//! HSRP (RFC 2281 version 1 and Cisco version 2) for Linux routers.
//!
//! Contract: the codec ([`packet`]) and the group state machine ([`Speaker`], [`fsm`]) are sans-IO. They
//! never open sockets, spawn tasks, sleep or read the clock; time is passed in as a [`timebase::Instant`].
//! Inputs are `handle_*(now, ..)` calls and `handle_timeout(now)`; outputs are drained with
//! `poll_action()` and the next deadline is `poll_timeout()`; `status(now)` returns serde snapshots that
//! the pure renderers in [`status`] turn into IOS `show standby` text. A malformed, unauthenticated or
//! foreign packet never changes state and never panics: it increments a named counter. The Linux driver
//! (feature `runtime`, module `driver`) owns the sockets, the macvlan carrying the virtual MAC and the
//! netlink link monitor, and does nothing but feed the core and execute its actions.

pub mod config;
#[cfg(feature = "runtime")]
pub mod driver;
pub mod error;
/// The time types of the core API, re-exported for drivers and fuzzers.
pub use timebase;
pub mod frame;
pub mod fsm;
pub mod group;
pub mod packet;
pub mod speaker;
pub mod status;
pub mod track;
mod track_group;

pub use config::{
    AuthConfig, GroupConfig, InterfaceConfig, PreemptConfig, StartDelay, TimersConfig, TrackConfig, Version,
};
pub use error::{ConfigError, DecodeError};
pub use packet::{Opcode, Packet, State};
pub use speaker::{Action, DropReason, GroupSelector, Speaker, SpeakerCounters};
pub use status::{GroupStatus, TrackedStatus, render_standby, render_standby_brief, select};
pub use track::{
    ObjectTrackConfig, TrackChange, TrackObjectConfig, TrackStatus, Tracker, render_track, render_track_brief,
};
