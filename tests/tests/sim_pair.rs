//! Scenario tests of the simulated HA pair (DESIGN §9 step 4), built from the real sans-IO cores in
//! virtual time: election and RF progression, dynamic/periodic/bulk session sync, coalescing on a slow
//! link, failover mid-flow, return of the old Active, preemption held until STANDBY HOT, split brain,
//! planned switchover and `clear ip inspect ha sessions-all`. Assertions are on status snapshots and engine
//! verdicts, never on the host's clock. See `docs/simulation.md`.
//!
//! The simulated pair itself is in `sim/`; the scenarios are grouped by theme in `sim_pair/`, with the
//! steps only they share in `sim_pair/steps.rs`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod sim;

#[path = "sim_pair/steps.rs"]
mod steps;

#[path = "sim_pair/election.rs"]
mod election;
#[path = "sim_pair/failover.rs"]
mod failover;
#[path = "sim_pair/preemption.rs"]
mod preemption;
#[path = "sim_pair/session_sync.rs"]
mod session_sync;
#[path = "sim_pair/split_brain.rs"]
mod split_brain;
