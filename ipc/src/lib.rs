//! The inter-device IPC association of an HA pair (IOS `ipc zone default` / `association 1`).
//!
//! Contract: the message envelope, its authentication and the association logic are sans-IO and
//! deterministic (time is passed in). Transports (userspace SCTP over raw IP or UDP, kernel SCTP, and an
//! in-memory transport with fault injection for simulations) sit behind one interface; the drivers live
//! behind the default-on `runtime` feature.

pub mod auth;
pub mod config;
pub mod envelope;
pub mod error;

pub use config::{AssociationConfig, TransportChoice};
pub use envelope::{ClientId, Envelope, MessageKind};
pub use error::{AuthError, ConfigError, DecodeError, IpcError, SendError};
