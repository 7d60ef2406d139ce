//! The standby's thread: a Standby sync client applying into a store that counts what it applies and
//! measures how long each dynamic add took to arrive.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration as StdDuration, Instant as StdInstant};

use anyhow::bail;
use inspect::ha::{MemoryStore, SessionStore, SessionUpdate, SyncRole, TableDigest};
use inspect::{HaSessionId, SessionRecord};
use timebase::Instant;

use crate::netns::enter_netns;
use crate::shared::Shared;
use crate::side::Side;
use crate::{ADDR_A, ADDR_B, DYN_BASE};

/// The standby's store: a MemoryStore that counts what it applies and measures add lag.
struct BenchStore {
    /// The sessions.
    inner: MemoryStore,
    /// Where the applied counts and the add send times are.
    shared: Arc<Shared>,
    /// (id, microseconds from send to apply) of each dynamic add.
    lags_us: Vec<(u32, u64)>,
}

impl SessionStore for BenchStore {
    fn for_each_session(&self, now: Instant, f: &mut dyn FnMut(&SessionRecord)) {
        self.inner.for_each_session(now, f);
    }
    fn has_fast_lookup(&self) -> bool {
        self.inner.has_fast_lookup()
    }
    fn get_session(&self, now: Instant, id: HaSessionId) -> Option<SessionRecord> {
        self.inner.get_session(now, id)
    }
    fn apply_add(&mut self, now: Instant, rec: &SessionRecord) {
        self.inner.apply_add(now, rec);
        self.shared.adds.fetch_add(1, Ordering::Relaxed);
        if let Some(slot) = rec.id.0.checked_sub(DYN_BASE)
            && let Some(stamp) = self.shared.stamps.get(slot as usize)
        {
            let sent = stamp.swap(0, Ordering::Relaxed);
            if sent != 0 {
                let now_us = self.shared.micros() as u32;
                self.lags_us
                    .push((rec.id.0, u64::from(now_us.wrapping_sub(sent - 1))));
            }
        }
    }
    fn apply_update(&mut self, now: Instant, update: &SessionUpdate) -> bool {
        self.shared.updates.fetch_add(1, Ordering::Relaxed);
        self.inner.apply_update(now, update)
    }
    fn remove_session(&mut self, id: HaSessionId) -> bool {
        self.shared.deletes.fetch_add(1, Ordering::Relaxed);
        self.inner.remove_session(id)
    }
    fn flush_ha_sessions(&mut self) {
        self.inner.flush_ha_sessions();
    }
    fn ha_session_count(&self) -> usize {
        self.inner.ha_session_count()
    }
    fn ha_table_digest(&self, now: Instant) -> TableDigest {
        self.inner.ha_table_digest(now)
    }
}

/// Runs the standby in namespace `ns` until told to stop; returns (id, lag in µs) of the dynamic adds.
pub(crate) fn standby_main(ns: String, shared: Arc<Shared>) -> anyhow::Result<Vec<(u32, u64)>> {
    enter_netns(&ns)?;
    let mut store = BenchStore {
        inner: MemoryStore::new(),
        shared: shared.clone(),
        lags_us: Vec::with_capacity(4 << 20),
    };
    let deadline = StdInstant::now() + StdDuration::from_secs(30);
    while !shared.active_spawned.load(Ordering::Acquire) {
        if StdInstant::now() > deadline {
            bail!("the Active did not start its association");
        }
        std::thread::sleep(StdDuration::from_millis(5));
    }
    let mut side = Side::start(SyncRole::Standby, ADDR_B, ADDR_A, shared.clone())?;
    let hard_stop = StdInstant::now() + StdDuration::from_secs(300);
    while !shared.stop.load(Ordering::Acquire) && StdInstant::now() < hard_stop {
        let mut busy = side.pump(&mut store);
        if side.up {
            shared.standby_up.store(true, Ordering::Release);
        }
        if side.up && shared.request_bulk.swap(false, Ordering::AcqRel) {
            side.start_bulk_clock();
            let now = side.now();
            side.sync.request_bulk(now);
            busy = true;
        }
        side.idle(busy);
    }
    side.ipc.shutdown();
    Ok(store.lags_us)
}
