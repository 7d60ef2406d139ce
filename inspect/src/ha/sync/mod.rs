//! The sync client: one sans-IO object that plays the Active or the standby side of HA session sync.
//!
//! Polling order (as for every core of the workspace): feed inputs (`handle_*`), then drain
//! [`HaSync::poll_action`] until it returns `None`, then arm a timer for [`HaSync::poll_timeout`] and call
//! [`HaSync::handle_timeout`] when it fires. Methods that read or write sessions take the
//! [`SessionStore`] as an argument; the object never holds it.
//!
//! Ordering rules (Active side):
//! * Records leave in the order the engine reported the events (one FIFO, one ordered stream).
//! * An update of a session whose update is still queued replaces it in place (latest state wins); an add
//!   or delete of that session ends the coalescing window, so a later update is queued after it.
//! * During a bulk synchronization the Active walks a sorted snapshot of the HA ids taken when the request
//!   arrived, reading each session's current record when its chunk is queued. An add, update or delete of
//!   a session whose bulk add is still to come is not queued (counted as `bulk_superseded`): the bulk add
//!   reads the session's state at that later time, or is skipped if the session is gone. Every event of a
//!   session after its bulk add is queued normally, so the standby sees its history in order.
//! * `BULK_END` carries the count and digest of the Active's table at the moment it is queued, after every
//!   record that shaped that table, so a standby that applied the stream in order holds the same table.
//! * When the transport refuses a batch, the object keeps it and sends nothing until told the transport is
//!   ready. Records wait in a bounded queue; when it is full an update without a queued predecessor is
//!   dropped (counted), and an add or delete that does not fit empties the queue (all counted) and marks
//!   the next batch with GAP, so the standby resyncs instead of silently diverging.
//!
//! Standby side: every batch's sequence number must follow the previous one; a jump, a GAP flag, a decode
//! error, a `BULK_END` whose count or digest differs from the local table, or a bulk that makes no progress
//! for `bulk_timeout` starts a resync: one `BULK_REQUEST`. At `BULK_BEGIN` the standby notes the copies
//! it holds and keeps them (a takeover during a resync still finds them); at `BULK_END` it removes those
//! the bulk did not carry, then compares count and digest. The bulk is reported complete (and the
//! redundancy manager may go to STANDBY HOT) only when they match.

use std::collections::VecDeque;

use hashbrown::HashMap;
use serde::{Deserialize, Serialize};
use timebase::{Duration, Instant};

use super::error::DecodeError;
use super::stats::{SyncCounters, SyncRole, SyncStatistics};
use super::store::{SessionStore, SessionUpdate};
use super::wire::{Record, decode_header};
use crate::record::{HaSessionId, SessionRecord};

mod inbound;
mod outbound;

use inbound::Sweep;
use outbound::OutBulk;

/// Tunables of the sync client.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncConfig {
    /// Longest time a record waits for more records to share its batch.
    pub batch_delay: Duration,
    /// A batch is sent as soon as this many records are queued.
    pub batch_records: usize,
    /// Largest batch (one IPC message), header included.
    pub max_batch_bytes: usize,
    /// Bound of the outbound record queue.
    pub max_queue_records: usize,
    /// Sessions read from the store per bulk step.
    pub bulk_chunk: usize,
    /// Standby: a bulk request unanswered, or a bulk without progress, for this long is requested again.
    pub bulk_timeout: Duration,
    /// Active: an empty batch is sent after this long without traffic, so the standby notices a lost
    /// trailing batch (sequence gap) and the age of its last sync stays meaningful. Zero disables.
    pub keepalive: Duration,
}

impl Default for SyncConfig {
    fn default() -> Self {
        Self {
            batch_delay: Duration::from_millis(1),
            batch_records: 256,
            max_batch_bytes: 16 * 1024,
            max_queue_records: 64 * 1024,
            bulk_chunk: 1024,
            bulk_timeout: Duration::from_secs(10),
            keepalive: Duration::from_secs(1),
        }
    }
}

/// Why the standby asked for a bulk synchronization.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResyncReason {
    /// Asked by the caller: start-up, `clear ip inspect ha sessions-all`, becoming standby.
    Requested,
    /// The association came back.
    LinkUp,
    /// A batch sequence number was skipped, or the Active flagged a gap.
    Gap,
    /// A batch could not be decoded.
    DecodeError,
    /// `BULK_END` count or digest differs from the local table.
    Mismatch,
    /// The request or the bulk made no progress in time.
    Timeout,
}

/// How a bulk synchronization ended on the standby.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BulkReport {
    /// Bulk number chosen by the Active.
    pub epoch: u32,
    /// Sessions announced by the Active.
    pub sessions: u64,
    /// Sessions held locally at the end.
    pub local_sessions: u64,
    /// From the request (or the begin marker when unrequested) to the end marker.
    pub duration: Duration,
    /// Count and digest matched: the standby holds the Active's table.
    pub ok: bool,
}

/// Something worth a debug line (`debug ip inspect ha`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SyncNotice {
    /// The standby sent a bulk request.
    BulkRequested(ResyncReason),
    /// A bulk request was not sent: a bulk is already under way and answers it.
    BulkRequestCoalesced,
    /// The Active started serving bulk `epoch` over a snapshot of `sessions` ids.
    BulkServing {
        /// Bulk number.
        epoch: u32,
        /// Ids in the snapshot.
        sessions: u64,
    },
    /// The Active queued the end marker of bulk `epoch`.
    BulkServed {
        /// Bulk number.
        epoch: u32,
        /// Sessions in the table at the end.
        sessions: u64,
    },
    /// The standby saw batch `got` where it expected `expected` (or a GAP flag when equal).
    GapDetected {
        /// Expected sequence number.
        expected: u32,
        /// Received sequence number.
        got: u32,
    },
    /// A batch could not be decoded.
    Decode(DecodeError),
    /// The Active's queue overflowed; `dropped` records were discarded and a GAP will be signalled.
    Overflow {
        /// Records discarded.
        dropped: u64,
    },
}

impl std::fmt::Display for ResyncReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Requested => "requested",
            Self::LinkUp => "association up",
            Self::Gap => "sequence gap",
            Self::DecodeError => "decode error",
            Self::Mismatch => "count/digest mismatch",
            Self::Timeout => "timeout",
        })
    }
}

impl std::fmt::Display for BulkReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "bulk sync {} {}: {} sessions announced, {} held, {}",
            self.epoch,
            if self.ok { "complete" } else { "failed" },
            self.sessions,
            self.local_sessions,
            self.duration
        )
    }
}

/// One line for `debug ip inspect ha` (target `debug.ip.inspect.ha`).
impl std::fmt::Display for SyncNotice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::BulkRequested(reason) => write!(f, "bulk sync requested ({reason})"),
            Self::BulkRequestCoalesced => write!(f, "bulk sync already in progress: request not repeated"),
            Self::BulkServing { epoch, sessions } => {
                write!(f, "serving bulk sync {epoch}: {sessions} sessions")
            }
            Self::BulkServed { epoch, sessions } => write!(f, "bulk sync {epoch} sent: {sessions} sessions"),
            Self::GapDetected { expected, got } if expected == got => {
                write!(f, "peer signalled dropped records before batch {got}")
            }
            Self::GapDetected { expected, got } => {
                write!(f, "sequence gap: expected batch {expected}, got {got}")
            }
            Self::Decode(e) => write!(f, "undecodable sync message: {e}"),
            Self::Overflow { dropped } => {
                write!(f, "sync queue overflow: {dropped} records dropped, resync forced")
            }
        }
    }
}

/// What the caller must do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SyncAction {
    /// Send this batch as one IPC message on the sync stream.
    Send(Vec<u8>),
    /// Standby: a bulk synchronization ended (STANDBY HOT only when `ok`).
    BulkComplete(BulkReport),
    /// Informational.
    Notice(SyncNotice),
}

#[derive(Clone, Debug)]
struct Queued {
    rec: Record,
    at: Instant,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum InBulk {
    Idle,
    Requested {
        at: Instant,
    },
    Receiving {
        epoch: u32,
        started: Instant,
        last_progress: Instant,
    },
}

/// The HA sync client (see the module documentation for the rules).
#[derive(Debug)]
pub struct HaSync {
    config: SyncConfig,
    role: SyncRole,
    now: Instant,
    link_up: bool,
    queue: VecDeque<Queued>,
    queue_base: u64,
    update_pos: HashMap<HaSessionId, u64, foldhash::fast::RandomState>,
    control_queued: usize,
    next_seq: u32,
    gap_pending: bool,
    blocked: bool,
    retry: Option<Vec<u8>>,
    actions: VecDeque<SyncAction>,
    last_tx: Option<Instant>,
    last_rx: Option<Instant>,
    epoch: u32,
    bulk_out: Option<OutBulk>,
    expect_seq: Option<u32>,
    bulk_in: InBulk,
    sweep: Option<Sweep>,
    in_sync: bool,
    last_bulk_sessions: u64,
    last_bulk_ms: u64,
    counters: SyncCounters,
}

impl HaSync {
    /// A client in `role`, with the association up. A standby should call [`Self::request_bulk`] first.
    pub fn new(role: SyncRole, config: SyncConfig) -> Self {
        Self {
            config,
            role,
            now: Instant::ZERO,
            link_up: true,
            queue: VecDeque::new(),
            queue_base: 0,
            update_pos: HashMap::default(),
            control_queued: 0,
            next_seq: 0,
            gap_pending: false,
            blocked: false,
            retry: None,
            actions: VecDeque::new(),
            last_tx: None,
            last_rx: None,
            epoch: 0,
            bulk_out: None,
            expect_seq: None,
            bulk_in: InBulk::Idle,
            sweep: None,
            in_sync: role == SyncRole::Active,
            last_bulk_sessions: 0,
            last_bulk_ms: 0,
            counters: SyncCounters::default(),
        }
    }

    /// The current role.
    pub fn role(&self) -> SyncRole {
        self.role
    }

    /// The configuration.
    pub fn config(&self) -> &SyncConfig {
        &self.config
    }

    /// The counters.
    pub fn counters(&self) -> &SyncCounters {
        &self.counters
    }

    /// Standby: whether the local table is known complete (last bulk matched, no gap since).
    pub fn in_sync(&self) -> bool {
        self.in_sync
    }

    /// Whether a bulk synchronization is being served (Active) or received / awaited (standby).
    pub fn bulk_in_progress(&self) -> bool {
        self.bulk_out.is_some() || self.bulk_in != InBulk::Idle
    }

    /// Records waiting to be sent.
    pub fn queue_depth(&self) -> usize {
        self.queue.len()
    }

    /// Switches role (after an HSRP/RF change). Queues and bulk state are dropped; a new standby asks for
    /// a bulk synchronization at once (the seed's "reload" of the HA state).
    pub fn set_role(&mut self, now: Instant, role: SyncRole) {
        self.now = self.now.max(now);
        if role == self.role {
            return;
        }
        self.reset_transfer_state();
        self.role = role;
        self.in_sync = role == SyncRole::Active;
        if role == SyncRole::Standby {
            self.resync(ResyncReason::Requested);
        }
    }

    /// The association went down: queued records are discarded (a bulk resync follows when it returns);
    /// the standby keeps its sessions (they are what a takeover needs).
    pub fn handle_link_down(&mut self, now: Instant) {
        self.now = self.now.max(now);
        self.link_up = false;
        self.reset_transfer_state();
    }

    /// The association is up again; the standby asks for a bulk synchronization.
    pub fn handle_link_up(&mut self, now: Instant) {
        self.now = self.now.max(now);
        if self.link_up {
            return;
        }
        self.link_up = true;
        self.expect_seq = None;
        if self.role == SyncRole::Standby {
            self.resync(ResyncReason::LinkUp);
        }
    }

    /// The transport refused `batch` (its queue is full): it is kept and re-sent first, and nothing is sent
    /// until [`Self::handle_send_ready`].
    pub fn handle_send_blocked(&mut self, now: Instant, batch: Vec<u8>) {
        self.now = self.now.max(now);
        self.blocked = true;
        self.counters.send_blocked += 1;
        self.counters.batches_sent = self.counters.batches_sent.saturating_sub(1);
        self.counters.bytes_sent = self.counters.bytes_sent.saturating_sub(batch.len() as u64);
        if self.link_up {
            self.retry = Some(batch);
        }
    }

    /// The transport accepts batches again.
    pub fn handle_send_ready(&mut self, now: Instant) {
        self.now = self.now.max(now);
        self.blocked = false;
    }

    /// Standby: asks the Active for a bulk synchronization (the redundancy manager's `StartBulkSync`).
    /// While a bulk is already under way and made progress less than `bulk_timeout` ago (requested by this
    /// client on its own when the association came up or it became a standby, or by an earlier call), this
    /// is a no-op, counted as `bulk_requests_coalesced` with a [`SyncNotice::BulkRequestCoalesced`]: that
    /// bulk's [`SyncAction::BulkComplete`] answers this request too. Use [`Self::force_bulk`] to abandon it
    /// and start a fresh one.
    pub fn request_bulk(&mut self, now: Instant) {
        self.now = self.now.max(now);
        if self.role == SyncRole::Standby && self.bulk_request_pending() {
            self.counters.bulk_requests_coalesced += 1;
            self.actions
                .push_back(SyncAction::Notice(SyncNotice::BulkRequestCoalesced));
            return;
        }
        self.force_bulk(now);
    }

    /// Whether a standby bulk is under way and made progress less than `bulk_timeout` ago.
    fn bulk_request_pending(&self) -> bool {
        let recent = |t: Instant| self.now.saturating_since(t) < self.config.bulk_timeout;
        match self.bulk_in {
            InBulk::Idle => false,
            InBulk::Requested { at } => recent(at),
            InBulk::Receiving { last_progress, .. } => recent(last_progress),
        }
    }

    /// Standby: abandons any bulk under way and asks the Active for a fresh one (`clear ip inspect ha
    /// sessions-all`: the caller flushes its table first; the client keeps whatever the table holds).
    pub fn force_bulk(&mut self, now: Instant) {
        self.now = self.now.max(now);
        if self.role == SyncRole::Standby {
            if let InBulk::Receiving { .. } = self.bulk_in {
                self.counters.bulk_aborted += 1;
            }
            self.bulk_in = InBulk::Idle;
            self.resync(ResyncReason::Requested);
        }
    }

    /// Active: the engine created HA session `rec`.
    pub fn handle_add(&mut self, now: Instant, rec: &SessionRecord) {
        self.now = self.now.max(now);
        if !self.accepts_events() || self.superseded_by_bulk(rec.id, Some(Some(rec))) {
            return;
        }
        self.update_pos.remove(&rec.id);
        self.enqueue_session_record(Record::Add(rec.clone()));
    }

    /// Active: HA session `rec` fell due for its periodic update.
    pub fn handle_update(&mut self, now: Instant, rec: &SessionRecord) {
        self.now = self.now.max(now);
        if !self.accepts_events() || self.superseded_by_bulk(rec.id, Some(Some(rec))) {
            return;
        }
        let update = SessionUpdate::from_record(rec);
        if let Some(&pos) = self.update_pos.get(&rec.id) {
            let slot = pos
                .checked_sub(self.queue_base)
                .and_then(|i| usize::try_from(i).ok())
                .and_then(|i| self.queue.get_mut(i));
            if let Some(q) = slot.filter(|q| matches!(&q.rec, Record::Update(u) if u.id == rec.id)) {
                q.rec = Record::Update(update);
                self.counters.coalesced += 1;
                return;
            }
        }
        if self.queue.len() >= self.config.max_queue_records {
            self.counters.updates_dropped += 1;
            return;
        }
        self.update_pos
            .insert(rec.id, self.queue_base + self.queue.len() as u64);
        self.queue.push_back(Queued {
            rec: Record::Update(update),
            at: now,
        });
    }

    /// Active: HA session `id` ended.
    pub fn handle_delete(&mut self, now: Instant, id: HaSessionId) {
        self.now = self.now.max(now);
        if !self.accepts_events() || self.superseded_by_bulk(id, Some(None)) {
            return;
        }
        self.update_pos.remove(&id);
        self.enqueue_session_record(Record::Delete(id));
    }

    /// A sync message arrived from the peer.
    pub fn handle_message<S: SessionStore + ?Sized>(&mut self, now: Instant, bytes: &[u8], store: &mut S) {
        self.now = self.now.max(now);
        self.counters.batches_received += 1;
        self.counters.bytes_received += bytes.len() as u64;
        self.last_rx = Some(now);
        let (header, records) = match decode_header(bytes) {
            Ok(v) => v,
            Err(e) => return self.decode_failed(e),
        };
        if self.role == SyncRole::Standby {
            let expected = self.expect_seq.unwrap_or(header.seq);
            self.expect_seq = Some(header.seq.wrapping_add(1));
            if header.seq != expected || header.flags.gap() {
                self.counters.gaps += 1;
                self.actions
                    .push_back(SyncAction::Notice(SyncNotice::GapDetected {
                        expected,
                        got: header.seq,
                    }));
                self.in_sync = false;
                self.resync(ResyncReason::Gap);
            }
        }
        for rec in records {
            match rec {
                Ok(rec) => self.apply(now, rec, store),
                Err(e) => return self.decode_failed(e),
            }
        }
    }

    /// Timers: the standby's bulk timeout; the Active's next bulk chunk.
    pub fn handle_timeout<S: SessionStore + ?Sized>(&mut self, now: Instant, store: &S) {
        self.now = self.now.max(now);
        match self.bulk_in {
            InBulk::Requested { at } if now >= at + self.config.bulk_timeout => {
                self.counters.bulk_aborted += 1;
                self.bulk_in = InBulk::Idle;
                self.resync(ResyncReason::Timeout);
            }
            InBulk::Receiving { last_progress, .. } if now >= last_progress + self.config.bulk_timeout => {
                self.counters.bulk_aborted += 1;
                self.bulk_in = InBulk::Idle;
                self.resync(ResyncReason::Timeout);
            }
            _ => {}
        }
        while self.bulk_can_advance() {
            self.bulk_step(now, store);
        }
    }

    /// The next thing to do, if any.
    pub fn poll_action(&mut self) -> Option<SyncAction> {
        if let Some(a) = self.actions.pop_front() {
            return Some(a);
        }
        if self.blocked || !self.link_up {
            return None;
        }
        if let Some(batch) = self.retry.take() {
            self.note_sent(batch.len());
            return Some(SyncAction::Send(batch));
        }
        let Some(front_at) = self.queue.front().map(|q| q.at) else {
            if self.keepalive_due() {
                let batch = self.build_batch();
                self.note_sent(batch.len());
                return Some(SyncAction::Send(batch));
            }
            return None;
        };
        let due = self.control_queued > 0
            || self.queue.len() >= self.config.batch_records
            || self.now >= front_at + self.config.batch_delay;
        if !due {
            return None;
        }
        let batch = self.build_batch();
        self.note_sent(batch.len());
        Some(SyncAction::Send(batch))
    }

    /// When [`Self::handle_timeout`] (or [`Self::poll_action`]) has work next.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let mut next: Option<Instant> = None;
        let mut at = |t: Instant| next = Some(next.map_or(t, |n| n.min(t)));
        if let Some(t) = self.keepalive_deadline() {
            at(t);
        }
        if self.link_up && !self.blocked {
            if self.bulk_can_advance() {
                at(self.now);
            }
            if let Some(front) = self.queue.front() {
                if self.control_queued > 0 || self.queue.len() >= self.config.batch_records {
                    at(self.now);
                } else {
                    at(front.at + self.config.batch_delay);
                }
            }
        }
        match self.bulk_in {
            InBulk::Requested { at: t } => at(t + self.config.bulk_timeout),
            InBulk::Receiving { last_progress, .. } => at(last_progress + self.config.bulk_timeout),
            InBulk::Idle => {}
        }
        next
    }

    /// Snapshot for `show ip inspect ha statistics`.
    pub fn statistics<S: SessionStore + ?Sized>(&self, now: Instant, store: &S) -> SyncStatistics {
        let last = match self.role {
            SyncRole::Active => self.last_tx,
            SyncRole::Standby => self.last_rx,
        };
        SyncStatistics {
            role: self.role,
            sessions: store.ha_session_count() as u64,
            last_bulk_sessions: self.last_bulk_sessions,
            last_bulk_ms: self.last_bulk_ms,
            last_sync_age_ms: last.map(|t| (now - t).as_millis()),
            queue_depth: self.queue.len() as u64,
            bulk_in_progress: self.bulk_in_progress(),
            in_sync: self.in_sync,
            send_blocked_now: self.blocked,
            counters: self.counters.clone(),
        }
    }

    /// `clear ip inspect ha statistics`.
    pub fn clear_statistics(&mut self) {
        self.counters = SyncCounters::default();
        self.last_bulk_sessions = 0;
        self.last_bulk_ms = 0;
    }

    // ----- internals -----

    fn reset_transfer_state(&mut self) {
        self.queue.clear();
        self.queue_base = 0;
        self.update_pos.clear();
        self.control_queued = 0;
        self.retry = None;
        self.blocked = false;
        self.gap_pending = false;
        self.expect_seq = None;
        if self.bulk_out.take().is_some() {
            self.counters.bulk_aborted += 1;
        }
        if let InBulk::Receiving { .. } = self.bulk_in {
            self.counters.bulk_aborted += 1;
        }
        self.bulk_in = InBulk::Idle;
        self.sweep = None;
    }

    fn accepts_events(&self) -> bool {
        self.role == SyncRole::Active && self.link_up
    }

    fn keepalive_deadline(&self) -> Option<Instant> {
        let active = self.role == SyncRole::Active && self.link_up && !self.blocked && self.queue.is_empty();
        (active && self.config.keepalive > Duration::ZERO)
            .then(|| self.last_tx.unwrap_or(Instant::ZERO) + self.config.keepalive)
    }

    fn keepalive_due(&self) -> bool {
        self.keepalive_deadline().is_some_and(|t| self.now >= t)
    }

    fn note_sent(&mut self, len: usize) {
        self.counters.batches_sent += 1;
        self.counters.bytes_sent += len as u64;
        self.last_tx = Some(self.now);
    }
}
