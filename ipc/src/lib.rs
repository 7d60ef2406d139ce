//! The inter-device IPC association of an HA pair (IOS `ipc zone default` / `association 1`).
//!
//! Contract: the message envelope, its authentication and the association logic are sans-IO and
//! deterministic (time is passed in). Transports (userspace SCTP over raw IP or UDP, kernel SCTP, and an
//! in-memory transport with fault injection for simulations) sit behind one interface; the drivers live
//! behind the default-on `runtime` feature.

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
