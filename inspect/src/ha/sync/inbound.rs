//! Inbound side of the sync client: applying received records, resynchronization, and receiving a bulk
//! synchronization with mark and sweep (standby).

use timebase::Instant;

use super::{BulkReport, HaSync, InBulk, ResyncReason, SyncAction, SyncNotice};
use crate::ha::error::DecodeError;
use crate::ha::stats::SyncRole;
use crate::ha::store::SessionStore;
use crate::ha::wire::Record;
use crate::record::HaSessionId;

/// Standby copies held when a bulk began; those the bulk does not refresh are removed at its end.
#[derive(Clone, Debug)]
pub(super) struct Sweep {
    pub(super) epoch: u32,
    pub(super) ids: Vec<HaSessionId>,
    pub(super) refreshed: Vec<u64>,
}

impl Sweep {
    pub(super) fn mark(&mut self, id: HaSessionId) {
        if let Ok(k) = self.ids.binary_search(&id) {
            self.refreshed[k / 64] |= 1 << (k % 64);
        }
    }

    pub(super) fn stale(&self) -> impl Iterator<Item = HaSessionId> + '_ {
        self.ids
            .iter()
            .enumerate()
            .filter(|(k, _)| self.refreshed[k / 64] & (1 << (k % 64)) == 0)
            .map(|(_, id)| *id)
    }
}

impl HaSync {
    pub(super) fn decode_failed(&mut self, e: DecodeError) {
        self.counters.decode_errors += 1;
        match e {
            DecodeError::UnsupportedVersion(_) => self.counters.unsupported_version += 1,
            DecodeError::UnknownRecordType { .. } => self.counters.unknown_record_type += 1,
            DecodeError::Truncated { .. } => self.counters.truncated += 1,
            _ => {}
        }
        self.actions.push_back(SyncAction::Notice(SyncNotice::Decode(e)));
        if self.role == SyncRole::Standby {
            self.in_sync = false;
            self.resync(ResyncReason::DecodeError);
        }
    }

    /// Standby: ask for a bulk unless a request is already outstanding.
    pub(super) fn resync(&mut self, reason: ResyncReason) {
        if self.role != SyncRole::Standby {
            return;
        }
        self.in_sync = false;
        match self.bulk_in {
            InBulk::Requested { .. } if reason != ResyncReason::Requested => return,
            InBulk::Receiving { .. } => self.counters.bulk_aborted += 1,
            _ => {}
        }
        if !matches!(reason, ResyncReason::Requested | ResyncReason::LinkUp) {
            self.counters.resyncs += 1;
        }
        if !self.link_up {
            self.bulk_in = InBulk::Idle;
            return;
        }
        self.counters.bulk_requests += 1;
        self.bulk_in = InBulk::Requested { at: self.now };
        self.enqueue_control(Record::BulkRequest);
        self.actions
            .push_back(SyncAction::Notice(SyncNotice::BulkRequested(reason)));
    }

    pub(super) fn apply<S: SessionStore + ?Sized>(&mut self, now: Instant, rec: Record, store: &mut S) {
        match (self.role, rec) {
            (SyncRole::Active, Record::BulkRequest) => self.start_bulk(now, store),
            (SyncRole::Active, _) | (SyncRole::Standby, Record::BulkRequest) => {
                self.counters.unexpected_records += 1;
            }
            (SyncRole::Standby, Record::Add(r)) => {
                self.counters.adds_received += 1;
                if let Some(sweep) = &mut self.sweep {
                    sweep.mark(r.id);
                }
                store.apply_add(now, &r);
                self.progress(now);
            }
            (SyncRole::Standby, Record::Update(u)) => {
                self.counters.updates_received += 1;
                if !store.apply_update(now, &u) {
                    self.counters.unknown_updates += 1;
                }
                self.progress(now);
            }
            (SyncRole::Standby, Record::Delete(id)) => {
                self.counters.deletes_received += 1;
                if !store.remove_session(id) {
                    self.counters.unknown_deletes += 1;
                }
                self.progress(now);
            }
            (SyncRole::Standby, Record::BulkBegin { epoch }) => {
                let started = match self.bulk_in {
                    InBulk::Requested { at } => at,
                    InBulk::Receiving { .. } => {
                        self.counters.bulk_aborted += 1;
                        now
                    }
                    InBulk::Idle => now,
                };
                // Keep the copies held so far (a takeover during the bulk still finds them); the bulk
                // refreshes them, and those it does not are removed when it ends.
                let mut ids = Vec::with_capacity(store.ha_session_count());
                store.for_each_session(now, &mut |r| ids.push(r.id));
                ids.sort_unstable();
                ids.dedup();
                let refreshed = vec![0u64; ids.len().div_ceil(64)];
                self.sweep = Some(Sweep {
                    epoch,
                    ids,
                    refreshed,
                });
                self.in_sync = false;
                self.bulk_in = InBulk::Receiving {
                    epoch,
                    started,
                    last_progress: now,
                };
            }
            (SyncRole::Standby, Record::BulkEnd { epoch, count, digest }) => {
                self.finish_bulk(now, epoch, count, digest, store);
            }
        }
    }

    pub(super) fn progress(&mut self, now: Instant) {
        if let InBulk::Receiving { last_progress, .. } = &mut self.bulk_in {
            *last_progress = now;
        }
    }

    pub(super) fn finish_bulk<S: SessionStore + ?Sized>(
        &mut self,
        now: Instant,
        epoch: u32,
        count: u64,
        digest: u64,
        store: &mut S,
    ) {
        let InBulk::Receiving {
            epoch: current,
            started,
            ..
        } = self.bulk_in
        else {
            self.counters.unexpected_records += 1;
            return;
        };
        if current != epoch {
            self.counters.unexpected_records += 1;
            return;
        }
        if let Some(sweep) = self.sweep.take().filter(|s| s.epoch == epoch) {
            for id in sweep.stale() {
                if store.remove_session(id) {
                    self.counters.stale_removed += 1;
                }
            }
        }
        let local = store.ha_table_digest(now);
        let ok = local.count == count && local.sum == digest;
        let duration = now - started;
        self.bulk_in = InBulk::Idle;
        self.actions.push_back(SyncAction::BulkComplete(BulkReport {
            epoch,
            sessions: count,
            local_sessions: local.count,
            duration,
            ok,
        }));
        if ok {
            self.counters.bulk_syncs += 1;
            self.last_bulk_sessions = count;
            self.last_bulk_ms = duration.as_millis();
            self.in_sync = true;
        } else {
            self.counters.bulk_failures += 1;
            self.resync(ResyncReason::Mismatch);
        }
    }
}
