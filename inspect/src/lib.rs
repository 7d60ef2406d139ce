//! inspect: the L4 TCP/UDP stateful inspection engine (IOS CBAC) and its HA synchronization.
//!
//! Contract: the engine is sans-IO and deterministic: packets and the current time go in, a verdict and
//! session events come out. Packet views are zero-copy and checked; the session table uses a seeded hash
//! and a timing wheel. The NFQUEUE data plane lives behind the default-on `runtime` feature.

pub mod record;
