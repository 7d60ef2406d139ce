//! The Active's thread: 1,000,000 sessions in a store, an Active sync client, and the three phases in
//! order (bulk, dynamic runs, one periodic round). The load generators of phases 2 and 3 are in
//! [`crate::load`].

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration as StdDuration, Instant as StdInstant};

use anyhow::bail;
use inspect::ha::MemoryStore;
use inspect::ha::SyncRole;
use inspect::ha::workload::{Shape, Workload};

use crate::cpu_time::{driver_cpu, thread_cpu};
use crate::load::{DynState, Mix};
use crate::netns::{Netns, enter_netns};
use crate::report::Figures;
use crate::shared::Shared;
use crate::side::Side;
use crate::{ADDR_A, ADDR_B, DYN_BASE, DYN_FEED, PACED_RATE, PACED_RATES, SESSIONS};

/// The Active's side with its sessions and the workload that generates and advances them.
pub(crate) struct ActiveBench {
    /// The Active's association and sync client.
    pub(crate) side: Side,
    /// The Active's sessions: the bulk's, then the dynamic phase's.
    pub(crate) store: MemoryStore,
    /// Generates and advances the session records.
    pub(crate) wl: Workload,
    pub(crate) shared: Arc<Shared>,
    /// The Active's namespace (its veth `va` counts the bytes on the wire).
    pub(crate) ns: String,
    /// The sessions of the dynamic phase.
    pub(crate) dy: DynState,
}

impl ActiveBench {
    /// Bytes the Active's veth has sent so far (frames).
    pub(crate) fn wire_bytes(&self) -> u64 {
        Netns::active_tx_bytes(&self.ns)
    }
}

/// Runs the Active in namespace `ns`: every phase, in order; returns the figures.
pub(crate) fn active_main(ns: String, shared: Arc<Shared>) -> anyhow::Result<Figures> {
    enter_netns(&ns)?;
    let mut fig = Figures::default();
    let mut wl = Workload::new(7);
    let mut store = MemoryStore::new();
    let t = StdInstant::now();
    for id in 1..=SESSIONS {
        store.insert(wl.record(id, Shape::EstablishedTcp));
    }
    println!("active: {SESSIONS} sessions generated in {:.2?}", t.elapsed());
    // The Active's IPC driver thread: the one new `ipc-assoc-*` thread (the standby starts its own after).
    let side = Side::start(SyncRole::Active, ADDR_A, ADDR_B, shared.clone())?;
    shared.active_spawned.store(true, Ordering::Release);
    if side.driver_tid.is_none() {
        fig.notes
            .push("the Active's IPC driver thread was not found: its CPU is not reported".into());
    }
    let mut bench = ActiveBench {
        side,
        store,
        wl,
        shared,
        ns,
        dy: DynState {
            live: Vec::new(),
            next_id: DYN_BASE,
        },
    };

    // Association up on both sides.
    let deadline = StdInstant::now() + StdDuration::from_secs(20);
    let shared = bench.shared.clone();
    let up = bench.side.pump_until(&mut bench.store, deadline, |side| {
        side.up && shared.standby_up.load(Ordering::Acquire)
    });
    if !up {
        bail!("association not up within 20 s");
    }
    println!("association up ({})", bench.side.ipc.status().transport);

    bulk_phase(&mut bench, &mut fig);
    println!("phase 1 done");

    // Phase 2: dynamic adds / updates / deletes: saturated, then paced at the target rate, then one kind
    // at a time for the bytes on the wire per add / update / delete.
    fig.dyn_saturated = bench.run_dynamic(Mix::All, DYN_FEED, None);
    println!("phase 2a (saturated) done");
    for &rate in PACED_RATES {
        let r = bench.run_dynamic(Mix::All, DYN_FEED, Some(rate));
        fig.dyn_paced.push((rate, r));
    }
    println!("phase 2b (paced) done");
    for (i, mix) in [Mix::Add, Mix::Update, Mix::Delete].into_iter().enumerate() {
        let r = bench.run_dynamic(mix, StdDuration::from_millis(500), Some(PACED_RATE));
        fig.kind_bytes[i] = r.wire_bytes as f64 / r.fed.max(1) as f64;
    }
    let c = bench.side.sync.counters();
    let dropped = c.adds_dropped + c.updates_dropped + c.deletes_dropped;
    if dropped > 0 {
        fig.notes
            .push(format!("dynamic: {dropped} records dropped by queue overflow"));
    }
    println!("phase 2 done");

    // Phase 3: one periodic update round of the bulk sessions.
    fig.periodic = bench.periodic_round();
    println!("phase 3 done");
    bench.side.ipc.shutdown();
    Ok(fig)
}

/// Phase 1: the standby requests a bulk synchronization of every session; waits (at most 60 s) for its
/// result and measures the CPU and the bytes it took.
fn bulk_phase(bench: &mut ActiveBench, fig: &mut Figures) {
    let driver_tid = bench.side.driver_tid;
    let wire0 = bench.wire_bytes();
    let payload0 = bench.side.ipc.status().stats.bytes_sent;
    let bulk_cpu0 = thread_cpu();
    let bulk_dcpu0 = driver_cpu(driver_tid);
    let shared = bench.shared.clone();
    shared.request_bulk.store(true, Ordering::Release);
    let deadline = StdInstant::now() + StdDuration::from_secs(60);
    let done = bench.side.pump_until(&mut bench.store, deadline, |_| {
        shared.bulk.lock().is_ok_and(|b| b.is_some())
    });
    let result = if done { shared.bulk.lock().ok() } else { None };
    match result.as_ref().and_then(|b| b.as_ref()) {
        Some(r) => {
            fig.bulk = Some((r.wall, r.ok, r.sessions, r.local_sessions));
            fig.bulk_cpu = [
                thread_cpu().saturating_sub(bulk_cpu0),
                driver_cpu(driver_tid).saturating_sub(bulk_dcpu0),
                r.standby_cpu,
                r.standby_driver_cpu,
            ];
        }
        None => fig.notes.push("bulk: no BulkComplete within 60 s".into()),
    }
    drop(result);
    bench.side.settle(&mut bench.store);
    fig.bulk_wire_bytes = bench.wire_bytes().saturating_sub(wire0);
    fig.bulk_payload_bytes = bench.side.ipc.status().stats.bytes_sent.saturating_sub(payload0);
}
