//! Outbound side of the sync client: the record queue, coalescing, overflow, batches, and serving a bulk
//! synchronization (Active).

use timebase::Instant;

use super::{HaSync, Queued, SyncAction, SyncNotice};
use crate::ha::store::SessionStore;
use crate::ha::wire::{BatchEncoder, BatchHeader, Record};
use crate::record::{HaSessionId, SessionRecord};

#[derive(Clone, Debug)]
pub(super) struct OutBulk {
    pub(super) epoch: u32,
    /// Sorted HA ids of the snapshot; `ids[cursor..]` are still to be sent.
    pub(super) ids: Vec<HaSessionId>,
    /// For stores without a fast lookup: the records themselves, kept current by later events (`None`
    /// once sent or deleted).
    pub(super) records: Option<Vec<Option<SessionRecord>>>,
    pub(super) cursor: usize,
    pub(super) started: Instant,
}

/// Where an event's session stands in the bulk being served.
pub(super) enum Pending {
    /// Not in the unsent part of the snapshot: the event is queued.
    No,
    /// In the unsent part (id snapshot): the bulk add will read the current state.
    Id,
    /// In the unsent part (record snapshot), at this index.
    Slot(usize),
}

impl HaSync {
    pub(super) fn pending(&self, id: HaSessionId) -> Pending {
        let Some(b) = &self.bulk_out else {
            return Pending::No;
        };
        let Ok(k) = b.ids[b.cursor..].binary_search(&id) else {
            return Pending::No;
        };
        let k = b.cursor + k;
        match &b.records {
            None => Pending::Id,
            Some(r) if r[k].is_some() => Pending::Slot(k),
            Some(_) => Pending::No,
        }
    }

    /// Folds an event into the bulk snapshot when the session's bulk add is still to come; returns whether
    /// it did (then nothing is queued).
    pub(super) fn superseded_by_bulk(
        &mut self,
        id: HaSessionId,
        replacement: Option<Option<&SessionRecord>>,
    ) -> bool {
        match self.pending(id) {
            Pending::No => return false,
            Pending::Id => {}
            Pending::Slot(k) => {
                if let (Some(b), Some(new)) = (&mut self.bulk_out, replacement)
                    && let Some(records) = &mut b.records
                {
                    records[k] = new.cloned();
                }
            }
        }
        self.counters.bulk_superseded += 1;
        true
    }

    pub(super) fn bulk_can_advance(&self) -> bool {
        self.bulk_out.is_some()
            && self.link_up
            && !self.blocked
            && self.queue.len() < self.config.bulk_chunk.max(1)
    }

    pub(super) fn enqueue_session_record(&mut self, rec: Record) {
        if self.queue.len() >= self.config.max_queue_records {
            match rec {
                Record::Add(_) => self.counters.adds_dropped += 1,
                _ => self.counters.deletes_dropped += 1,
            }
            self.overflow();
            return;
        }
        self.queue.push_back(Queued { rec, at: self.now });
    }

    pub(super) fn enqueue_control(&mut self, rec: Record) {
        if !self.link_up {
            return;
        }
        self.control_queued += 1;
        self.queue.push_back(Queued { rec, at: self.now });
    }

    /// The queue cannot take an add or delete: drop everything queued and signal a gap.
    pub(super) fn overflow(&mut self) {
        let mut dropped = 1u64;
        for q in self.queue.drain(..) {
            dropped += 1;
            match q.rec {
                Record::Add(_) => self.counters.adds_dropped += 1,
                Record::Update(_) => self.counters.updates_dropped += 1,
                Record::Delete(_) => self.counters.deletes_dropped += 1,
                _ => {}
            }
        }
        self.queue_base += dropped - 1;
        self.update_pos.clear();
        self.control_queued = 0;
        self.gap_pending = true;
        self.counters.gaps += 1;
        if self.bulk_out.take().is_some() {
            self.counters.bulk_aborted += 1;
        }
        self.actions
            .push_back(SyncAction::Notice(SyncNotice::Overflow { dropped }));
    }

    pub(super) fn build_batch(&mut self) -> Vec<u8> {
        let header = BatchHeader::new(self.next_seq, self.gap_pending);
        self.next_seq = self.next_seq.wrapping_add(1);
        self.gap_pending = false;
        let mut enc = BatchEncoder::with_capacity(header, self.config.max_batch_bytes.min(64 * 1024));
        while let Some(q) = self.queue.front() {
            if !enc.push_within(&q.rec, self.config.max_batch_bytes) {
                break;
            }
            let pos = self.queue_base;
            self.queue_base += 1;
            let Some(q) = self.queue.pop_front() else { break };
            match q.rec {
                Record::Add(_) => self.counters.adds_sent += 1,
                Record::Update(u) => {
                    self.counters.updates_sent += 1;
                    if self.update_pos.get(&u.id) == Some(&pos) {
                        self.update_pos.remove(&u.id);
                    }
                }
                Record::Delete(_) => self.counters.deletes_sent += 1,
                _ => self.control_queued = self.control_queued.saturating_sub(1),
            }
        }
        enc.finish()
    }

    pub(super) fn start_bulk<S: SessionStore + ?Sized>(&mut self, now: Instant, store: &S) {
        if self.bulk_out.take().is_some() {
            self.counters.bulk_aborted += 1;
        }
        self.counters.bulk_requests += 1;
        self.epoch = self.epoch.wrapping_add(1);
        let (ids, records) = if store.has_fast_lookup() {
            let mut ids = Vec::with_capacity(store.ha_session_count());
            store.for_each_session(now, &mut |rec| ids.push(rec.id));
            ids.sort_unstable();
            ids.dedup();
            (ids, None)
        } else {
            let mut recs = Vec::with_capacity(store.ha_session_count());
            store.for_each_session(now, &mut |rec| recs.push(rec.clone()));
            recs.sort_unstable_by_key(|r| r.id);
            recs.dedup_by_key(|r| r.id);
            (
                recs.iter().map(|r| r.id).collect(),
                Some(recs.into_iter().map(Some).collect()),
            )
        };
        // Updates queued before the begin marker must not absorb updates that belong after it.
        self.update_pos.clear();
        self.enqueue_control(Record::BulkBegin { epoch: self.epoch });
        self.actions
            .push_back(SyncAction::Notice(SyncNotice::BulkServing {
                epoch: self.epoch,
                sessions: ids.len() as u64,
            }));
        self.bulk_out = Some(OutBulk {
            epoch: self.epoch,
            ids,
            records,
            cursor: 0,
            started: now,
        });
    }

    pub(super) fn bulk_step<S: SessionStore + ?Sized>(&mut self, now: Instant, store: &S) {
        let Some(mut bulk) = self.bulk_out.take() else {
            return;
        };
        let end = (bulk.cursor + self.config.bulk_chunk.max(1)).min(bulk.ids.len());
        for k in bulk.cursor..end {
            let id = bulk.ids[k];
            let rec = match &mut bulk.records {
                Some(records) => records[k].take(),
                None => store.get_session(now, id),
            };
            if let Some(rec) = rec {
                self.update_pos.remove(&id);
                self.queue.push_back(Queued {
                    rec: Record::Add(rec),
                    at: now,
                });
            }
        }
        bulk.cursor = end;
        if bulk.cursor < bulk.ids.len() {
            self.bulk_out = Some(bulk);
            return;
        }
        let digest = store.ha_table_digest(now);
        self.enqueue_control(Record::BulkEnd {
            epoch: bulk.epoch,
            count: digest.count,
            digest: digest.sum,
        });
        self.counters.bulk_syncs += 1;
        self.last_bulk_sessions = digest.count;
        self.last_bulk_ms = (now - bulk.started).as_millis();
        self.actions.push_back(SyncAction::Notice(SyncNotice::BulkServed {
            epoch: bulk.epoch,
            sessions: digest.count,
        }));
    }
}
