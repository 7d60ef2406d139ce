//! The inter-device IPC association of an HA pair (IOS `ipc zone default` / `association 1`).
//!
//! Contract: the message envelope, its authentication and the association logic are sans-IO and
//! deterministic (time is passed in). Transports (userspace SCTP over raw IP or UDP, kernel SCTP, and an
//! in-memory transport with fault injection for simulations) sit behind one interface; the drivers live
//! behind the default-on `runtime` feature.
//!
//! * [`config`]: the validated [`AssociationConfig`] (IOS knobs, defaults, detection bounds).
//! * [`envelope`], [`auth`]: the versioned message envelope, the bundle (several queued messages of one
//!   stream in one SCTP user message, one tag, formed only under load), the hello, HMAC-SHA256 and the
//!   replay window.
//! * [`assoc`]: the sans-IO [`Association`] (userspace SCTP via dcsctp, hello, reconnect, restart
//!   detection, two-pair path selection in [`path`]) with `handle_*` / `poll_*` inputs and outputs.
//! * [`sim`]: the in-memory transport (seeded link with loss, delay, reordering, partitions) in virtual time.
//! * [`status`], [`render`]: the serde snapshot and the `show sctp ...` renderers.
//! * `driver` (feature `runtime`): [`spawn`] / [`IpcHandle`], the raw-IP, UDP, kernel-SCTP and in-memory
//!   packet paths, and transport selection.
//!
//! A message accepted by a send call is handed to SCTP (never dropped later for lack of room); SCTP
//! delivers it, in order with the other messages of its stream, or the association is reported down.
//! Sending never waits for more messages to fill a bundle. Every refusal and every dropped input increments a
//! named counter.

pub mod assoc;
pub mod auth;
pub mod config;
#[cfg(feature = "runtime")]
pub mod driver;
pub mod envelope;
pub mod error;
pub mod path;
pub mod render;
mod session;
pub mod sim;
pub mod status;

pub use assoc::{Action, Association, DownReason, IpcEvent, Notice};
pub use config::{AssociationConfig, TransportChoice};
#[cfg(feature = "runtime")]
pub use driver::{IpcHandle, spawn};
pub use envelope::{ClientId, Envelope, MessageKind};
pub use error::{AuthError, ConfigError, DecodeError, IpcError, SendError};
pub use render::{render_association_list, render_association_parameters, render_statistics};
pub use status::{AssociationStats, AssociationStatus, KindCounters, PathStatus};
