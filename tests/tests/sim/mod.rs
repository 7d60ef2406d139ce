//! A deterministic simulated HA pair built from the real sans-IO cores (HSRP `Speaker`, SSO `Manager`,
//! inspect `Engine` and `HaSync`, IPC `Association`) in virtual time. See `docs/simulation.md`.
#![allow(dead_code, unreachable_pub)]

pub mod config;
pub mod flows;
pub mod pair;
pub mod router;
pub mod scenario;

pub use config::PairConfig;
pub use flows::{TcpFlow, UdpFlow, tcp_flow, udp_flow};
pub use pair::SimPair;
