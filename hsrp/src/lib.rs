//! HSRP (RFC 2281 version 1 and Cisco version 2) for Linux routers.
//!
//! Contract: the codec and the group state machine are sans-IO. They never open sockets, spawn tasks, sleep
//! or read the clock; time is passed in as a [`timebase::Instant`]. Inputs are `handle_*(now, ..)` calls and
//! `handle_timeout(now)`; outputs are drained with `poll_action()` and the next deadline is `poll_timeout()`.
//! The Linux driver (feature `runtime`) owns the sockets, the macvlan carrying the virtual MAC and the
//! netlink link monitor, and does nothing but feed the core and execute its actions.

pub mod arp;
pub mod error;
pub mod packet;

pub use error::{ConfigError, DecodeError};
pub use packet::{Opcode, Packet, State};
