//! HA session sync benchmark over a real IPC association between two network namespaces (issue 7,
//! "Performance"). Needs root.
//!
//! Two namespaces `ihb<pid>-a` / `ihb<pid>-b` joined by a veth (10.201.0.1/24 - 10.201.0.2/24) are
//! created and removed on exit (RAII guard). A thread in A runs the Active side (an `ipc::spawn`
//! association over the userspace raw-IP SCTP transport + an Active `HaSync` reading a `MemoryStore` of
//! 1,000,000 synthetic sessions); a thread in B runs the standby side (association + Standby `HaSync`
//! applying into a `MemoryStore`). Phases, each bounded by a hard timeout:
//!
//! 1. bulk sync of 1,000,000 sessions: standby `request_bulk` to `BulkComplete(ok)`;
//! 2. dynamic sync: adds / updates / deletes fed as fast as the association takes them for 5 s;
//!    events/s applied on the standby and add-to-standby lag p50 / p99;
//! 3. one periodic update round of the 1,000,000 sessions: CPU time of the Active thread.
//!
//! Run: `cargo build --release -p iosha-tests --example ha_sync_bench &&
//! sudo target/release/examples/ha_sync_bench` (see docs/bench-ha-sync.md).
//!
//! The code: `netns` (the two namespaces), `side` (one association + sync client, pumped on its thread),
//! `shared` (what the two threads share), `standby` and `active` (the two threads; the Active runs the
//! phases), `load` (the dynamic and periodic load generators), `cpu_time` (thread and process CPU from
//! `/proc`) and `report` (the figures and their printout).

#[path = "ha_sync_bench/active.rs"]
mod active;
#[path = "ha_sync_bench/cpu_time.rs"]
mod cpu_time;
#[path = "ha_sync_bench/load.rs"]
mod load;
#[path = "ha_sync_bench/netns.rs"]
mod netns;
#[path = "ha_sync_bench/report.rs"]
mod report;
#[path = "ha_sync_bench/shared.rs"]
mod shared;
#[path = "ha_sync_bench/side.rs"]
mod side;
#[path = "ha_sync_bench/standby.rs"]
mod standby;

use std::net::Ipv4Addr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration as StdDuration;

use anyhow::bail;

use crate::active::active_main;
use crate::netns::Netns;
use crate::report::report;
use crate::shared::{Knobs, Shared};
use crate::standby::standby_main;

/// Sessions of the bulk and of the periodic round.
const SESSIONS: u32 = 1_000_000;
/// First id of the dynamic phase's sessions (the bulk uses 1..=SESSIONS).
const DYN_BASE: u32 = 2_000_000;
/// Send-time slots of dynamic adds (ids DYN_BASE.. DYN_BASE + DYN_SLOTS).
const DYN_SLOTS: usize = 16 << 20;
/// How long each dynamic run feeds events.
const DYN_FEED: StdDuration = StdDuration::from_secs(5);
/// The periodic update interval N the round's CPU is set against.
const PERIOD_S: f64 = 10.0;
/// The Active's and the standby's addresses, and the SCTP port of both.
const ADDR_A: Ipv4Addr = Ipv4Addr::new(10, 201, 0, 1);
const ADDR_B: Ipv4Addr = Ipv4Addr::new(10, 201, 0, 2);
const PORT: u16 = 5000;
/// How long a refused batch waits before the transport is tried again.
const SEND_RETRY: StdDuration = StdDuration::from_micros(100);
/// Records queued in the Active's `HaSync` beyond which the feeder waits for the transport.
const FEED_QUEUE_LIMIT: usize = 4096;
/// Records the feeders queue between two pumps.
const FEED_CHUNK: usize = 256;
/// The target rate (the first paced run, and the per-kind byte runs).
const PACED_RATE: f64 = 200_000.0;
/// Rates of the paced dynamic runs (events/s), to see where the lag target stops holding.
const PACED_RATES: &[f64] = &[PACED_RATE, 400_000.0, 800_000.0];

fn main() -> anyhow::Result<()> {
    let knobs = Knobs::parse()?;
    println!("{knobs:?}");
    let netns = Netns::create()?;
    let shared = Arc::new(Shared::new(knobs));
    let standby = {
        let (ns, shared) = (netns.b.clone(), shared.clone());
        std::thread::Builder::new()
            .name("bench-standby".into())
            .spawn(move || standby_main(ns, shared))?
    };
    let active = {
        let (ns, shared) = (netns.a.clone(), shared.clone());
        std::thread::Builder::new()
            .name("bench-active".into())
            .spawn(move || active_main(ns, shared))?
    };
    let fig = active.join();
    shared.stop.store(true, Ordering::Release);
    let lags = standby.join();
    let fig = match fig {
        Ok(r) => r?,
        Err(_) => bail!("active thread panicked"),
    };
    let lags = match lags {
        Ok(r) => r?,
        Err(_) => bail!("standby thread panicked"),
    };
    report(&fig, &lags);
    drop(netns);
    Ok(())
}
