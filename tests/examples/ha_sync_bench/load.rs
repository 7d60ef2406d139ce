//! The load generators of phases 2 and 3: dynamic adds / updates / deletes fed at a rate or as fast as
//! the association takes them, and one periodic update round of every bulk session.

use std::sync::atomic::Ordering;
use std::time::{Duration as StdDuration, Instant as StdInstant};

use inspect::HaSessionId;
use inspect::ha::workload::Shape;
use timebase::Instant;

use crate::active::ActiveBench;
use crate::cpu_time::{driver_cpu, process_cpu, task_cpu, thread_cpu};
use crate::netns::Netns;
use crate::side::Side;
use crate::{DYN_BASE, FEED_CHUNK, SESSIONS};

/// Which events a dynamic run feeds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Mix {
    /// One third each of adds, updates (half of them on bulk sessions) and deletes.
    All,
    Add,
    Update,
    Delete,
}

/// The dynamic phase's sessions: the live ones and the next id.
pub(crate) struct DynState {
    pub(crate) live: Vec<u32>,
    pub(crate) next_id: u32,
}

/// What one dynamic run fed, what the standby applied, and what it cost on the wire.
#[derive(Default)]
pub(crate) struct DynResult {
    /// Ids of the run's adds: `first_id..end_id`.
    pub(crate) first_id: u32,
    pub(crate) end_id: u32,
    /// Events fed, and how many of them were adds.
    pub(crate) fed: u64,
    pub(crate) fed_adds: u64,
    /// How long the feeding lasted, and the records the standby applied meanwhile.
    pub(crate) window: StdDuration,
    pub(crate) applied_in_window: u64,
    /// Records the standby applied in all, of the `expected` (fed minus coalesced), `drain` after the start.
    pub(crate) applied_total: u64,
    pub(crate) expected: u64,
    pub(crate) drain: StdDuration,
    /// Bytes the Active's veth sent (frames).
    pub(crate) wire_bytes: u64,
    /// Batches the association refused with `QueueFull` (re-sent after `handle_send_ready`).
    pub(crate) queue_full: u64,
}

/// What one periodic update round cost.
#[derive(Default)]
pub(crate) struct PeriodicResult {
    /// CPU time of the Active's sync thread until every update was handed to the association.
    pub(crate) cpu: StdDuration,
    /// CPU time of the whole process until the standby applied them all.
    pub(crate) process_cpu: StdDuration,
    /// CPU time of the Active's IPC driver thread over the same time, when it was found.
    pub(crate) driver_cpu: Option<StdDuration>,
    /// Wall time of the hand-over.
    pub(crate) wall: StdDuration,
    /// Updates the standby applied.
    pub(crate) applied: u64,
    /// Wall time until the standby applied them all (or 30 s more passed).
    pub(crate) standby_wall: StdDuration,
    /// Bytes the Active's veth sent (frames).
    pub(crate) wire_bytes: u64,
}

impl ActiveBench {
    /// Feeds events for `duration` (as fast as the association takes them, or at `rate` events/s), then
    /// waits (at most 10 s) until the standby applied all of them.
    pub(crate) fn run_dynamic(&mut self, mix: Mix, duration: StdDuration, rate: Option<f64>) -> DynResult {
        let mut r = DynResult {
            first_id: self.dy.next_id,
            ..DynResult::default()
        };
        let wire0 = self.wire_bytes();
        let queue_full0 = self.side.ipc.status().stats.drop_queue_full;
        let applied0 = self.shared.applied();
        let coalesced0 = self.side.sync.counters().coalesced;
        let start = StdInstant::now();
        while start.elapsed() < duration {
            let mut budget = FEED_CHUNK as u64;
            if let Some(rate) = rate {
                let due = (start.elapsed().as_secs_f64() * rate) as u64;
                budget = budget.min(due.saturating_sub(r.fed));
            }
            if self.side.can_feed() && budget > 0 {
                let now = self.side.now();
                for _ in 0..budget {
                    self.feed_event(now, mix, &mut r);
                }
            }
            let busy = self.side.pump(&mut self.store);
            if !self.side.can_feed() || rate.is_some() {
                self.side.idle(busy);
            }
        }
        r.window = start.elapsed();
        let shared = self.shared.clone();
        r.applied_in_window = shared.applied() - applied0;
        let deadline = StdInstant::now() + StdDuration::from_secs(10);
        // Updates coalesced in the Active's queue reach the standby as one record.
        let expected = |side: &Side| r.fed - (side.sync.counters().coalesced - coalesced0);
        self.side.pump_until(&mut self.store, deadline, |side| {
            shared.applied() - applied0 >= expected(side)
        });
        r.drain = start.elapsed();
        r.applied_total = shared.applied() - applied0;
        r.expected = expected(&self.side);
        r.end_id = self.dy.next_id;
        self.side.settle(&mut self.store);
        r.wire_bytes = self.wire_bytes().saturating_sub(wire0);
        r.queue_full = self
            .side
            .ipc
            .status()
            .stats
            .drop_queue_full
            .saturating_sub(queue_full0);
        r
    }

    /// Feeds one event of `mix` to the Active (an add when a delete finds no live session).
    fn feed_event(&mut self, now: Instant, mix: Mix, r: &mut DynResult) {
        let Self {
            side,
            store,
            wl,
            shared,
            dy,
            ..
        } = self;
        let pick = match mix {
            Mix::All => wl.rng().below(3),
            Mix::Add => 0,
            Mix::Update => 1,
            Mix::Delete => 2,
        };
        if pick == 0 || (pick == 2 && dy.live.is_empty()) {
            let id = dy.next_id;
            let rec = wl.record(id, Shape::NewTcp);
            if let Some(slot) = shared.stamps.get((id - DYN_BASE) as usize) {
                slot.store((shared.micros() as u32).wrapping_add(1).max(1), Ordering::Relaxed);
            }
            side.sync.handle_add(now, &rec);
            store.insert(rec);
            dy.live.push(id);
            dy.next_id += 1;
            r.fed_adds += 1;
        } else if pick == 1 {
            let id = if dy.live.is_empty() || wl.rng().below(2) == 0 {
                1 + wl.rng().below(u64::from(SESSIONS)) as u32
            } else {
                dy.live[wl.rng().below(dy.live.len() as u64) as usize]
            };
            if let Some(rec) = store.get_mut(HaSessionId(id)) {
                wl.advance(rec);
                let rec = rec.clone();
                side.sync.handle_update(now, &rec);
            }
        } else {
            let i = wl.rng().below(dy.live.len() as u64) as usize;
            let id = dy.live.swap_remove(i);
            store.take(HaSessionId(id));
            side.sync.handle_delete(now, HaSessionId(id));
        }
        r.fed += 1;
    }

    /// Phase 3: one periodic update round of the bulk sessions (records advanced beforehand, so the
    /// measured CPU is the sync client's encode + hand-over to the association only).
    pub(crate) fn periodic_round(&mut self) -> PeriodicResult {
        let mut res = PeriodicResult::default();
        let Self {
            side,
            store,
            wl,
            shared,
            ns,
            ..
        } = self;
        for id in 1..=SESSIONS {
            if let Some(rec) = store.get_mut(HaSessionId(id)) {
                wl.advance(rec);
            }
        }
        let driver_tid = side.driver_tid;
        let wire0 = Netns::active_tx_bytes(ns);
        let applied0 = shared.updates.load(Ordering::Relaxed);
        let cpu0 = thread_cpu();
        let dcpu0 = driver_cpu(driver_tid);
        let pcpu0 = process_cpu();
        let start = StdInstant::now();
        let deadline = start + StdDuration::from_secs(60);
        let mut next = 1u32;
        while (next <= SESSIONS || !side.drained()) && StdInstant::now() < deadline {
            if next <= SESSIONS && side.can_feed() {
                let now = side.now();
                let end = (next + FEED_CHUNK as u32).min(SESSIONS + 1);
                for id in next..end {
                    if let Some(rec) = store.get(HaSessionId(id)) {
                        side.sync.handle_update(now, rec);
                    }
                }
                next = end;
            }
            let busy = side.pump(store);
            if !side.can_feed() || next > SESSIONS {
                side.idle(busy);
            }
        }
        res.cpu = thread_cpu().saturating_sub(cpu0);
        res.wall = start.elapsed();
        let deadline = StdInstant::now() + StdDuration::from_secs(30);
        side.pump_until(store, deadline, |_| {
            shared.updates.load(Ordering::Relaxed) - applied0 >= u64::from(SESSIONS)
        });
        res.standby_wall = start.elapsed();
        res.process_cpu = process_cpu().saturating_sub(pcpu0);
        // The driver keeps working (SCTP packets) after the hand-over: counted until the standby applied all.
        res.driver_cpu = driver_tid.map(|t| task_cpu(t).saturating_sub(dcpu0));
        res.applied = shared.updates.load(Ordering::Relaxed) - applied0;
        side.settle(store);
        res.wire_bytes = Netns::active_tx_bytes(ns).saturating_sub(wire0);
        res
    }
}
