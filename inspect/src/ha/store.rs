//! What the sync protocol needs from a session table, and a simple in-memory table.
//!
//! The protocol never touches the engine's internals: it sees a [`SessionStore`]. The engine implements it
//! (see `ha::engine`); [`MemoryStore`] is a plain map used by tests, benchmarks and the fuzz target.

use hashbrown::HashMap;

use serde::{Deserialize, Serialize};
use timebase::Instant;

use super::digest::{TableDigest, record_hash};
use crate::record::{HaSessionId, SessionRecord, TcpDirectionRecord};

/// The part of a session that a periodic update refreshes: protocol state, sequence positions and idle
/// time. Stable fields (endpoints, interface, direction, window scales) come with the add only; windows,
/// byte counts and age are refreshed by the next bulk synchronization (a promoted session re-learns its
/// windows from its first segments, and statistics are not part of failover).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SessionUpdate {
    /// The session.
    pub id: HaSessionId,
    /// Protocol state code (the engine's numbering).
    pub state: u8,
    /// Initiator: next sequence number it will send.
    pub initiator_next_seq: u32,
    /// Initiator: highest acknowledgement it sent.
    pub initiator_ack: u32,
    /// Responder: next sequence number it will send.
    pub responder_next_seq: u32,
    /// Responder: highest acknowledgement it sent.
    pub responder_ack: u32,
    /// Milliseconds since the session's last packet when the update was made.
    pub idle_ms: u32,
}

impl SessionUpdate {
    /// An update of `id` to `state` with zero positions and idle time.
    pub fn new(id: HaSessionId, state: u8) -> Self {
        Self {
            id,
            state,
            initiator_next_seq: 0,
            initiator_ack: 0,
            responder_next_seq: 0,
            responder_ack: 0,
            idle_ms: 0,
        }
    }

    /// The update carried for `rec`.
    pub fn from_record(rec: &SessionRecord) -> Self {
        Self {
            id: rec.id,
            state: rec.state,
            initiator_next_seq: rec.initiator_tcp.next_seq,
            initiator_ack: rec.initiator_tcp.ack,
            responder_next_seq: rec.responder_tcp.next_seq,
            responder_ack: rec.responder_tcp.ack,
            idle_ms: rec.idle_ms,
        }
    }

    /// Whether the update carries TCP sequence positions (any of them non-zero).
    pub fn has_tcp(&self) -> bool {
        self.initiator_next_seq != 0
            || self.initiator_ack != 0
            || self.responder_next_seq != 0
            || self.responder_ack != 0
    }

    /// Writes the update's fields into `rec` (which must be the same session), leaving the rest as is.
    pub fn apply_to(&self, rec: &mut SessionRecord) {
        rec.state = self.state;
        rec.initiator_tcp = TcpDirectionRecord {
            next_seq: self.initiator_next_seq,
            ack: self.initiator_ack,
            ..rec.initiator_tcp
        };
        rec.responder_tcp = TcpDirectionRecord {
            next_seq: self.responder_next_seq,
            ack: self.responder_ack,
            ..rec.responder_tcp
        };
        rec.idle_ms = self.idle_ms;
    }
}

/// The session table as the sync protocol sees it. The Active reads from it (bulk export, digest); the
/// standby writes into it.
pub trait SessionStore {
    /// Calls `f` with the current record of every HA session.
    fn for_each_session(&self, now: Instant, f: &mut dyn FnMut(&SessionRecord));
    /// Whether [`Self::get_session`] is cheap (a hash lookup). When it is not, a bulk synchronization
    /// snapshots the records themselves (more memory, no per-session lookups).
    fn has_fast_lookup(&self) -> bool {
        true
    }
    /// The current record of one HA session.
    fn get_session(&self, now: Instant, id: HaSessionId) -> Option<SessionRecord>;
    /// Inserts a standby session, or replaces the one with the same id.
    fn apply_add(&mut self, now: Instant, rec: &SessionRecord);
    /// Refreshes a standby session; `false` when no session has that id.
    fn apply_update(&mut self, now: Instant, update: &SessionUpdate) -> bool;
    /// Removes a standby session; `false` when no session has that id.
    fn remove_session(&mut self, id: HaSessionId) -> bool;
    /// Removes every HA session (start of a bulk synchronization).
    fn flush_ha_sessions(&mut self);
    /// Number of HA sessions.
    fn ha_session_count(&self) -> usize;
    /// Count and order-independent digest of the HA sessions' stable fields.
    fn ha_table_digest(&self, now: Instant) -> TableDigest {
        let mut digest = TableDigest::default();
        self.for_each_session(now, &mut |rec| digest.insert(rec));
        digest
    }
}

/// A session table in a plain hash map, with an incrementally maintained digest.
#[derive(Clone, Debug, Default)]
pub struct MemoryStore {
    sessions: HashMap<HaSessionId, SessionRecord, foldhash::fast::RandomState>,
    digest: TableDigest,
    snapshot_bulk: bool,
}

impl MemoryStore {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }

    /// A table that reports no fast lookup, so a bulk served from it snapshots records (exercises the
    /// mode the sync client uses for stores without an id index).
    pub fn with_snapshot_bulk() -> Self {
        Self {
            snapshot_bulk: true,
            ..Self::default()
        }
    }

    /// Inserts or replaces a session (the Active side's view: what the engine holds).
    pub fn insert(&mut self, rec: SessionRecord) {
        self.digest.insert(&rec);
        if let Some(old) = self.sessions.insert(rec.id, rec) {
            self.digest.remove_hash(record_hash(&old));
        }
    }

    /// One session.
    pub fn get(&self, id: HaSessionId) -> Option<&SessionRecord> {
        self.sessions.get(&id)
    }

    /// Mutable access to one session's record. Stable fields (id, key, interface, direction) must not be
    /// changed through it, or the digest goes stale.
    pub fn get_mut(&mut self, id: HaSessionId) -> Option<&mut SessionRecord> {
        self.sessions.get_mut(&id)
    }

    /// Removes and returns one session.
    pub fn take(&mut self, id: HaSessionId) -> Option<SessionRecord> {
        let old = self.sessions.remove(&id)?;
        self.digest.remove_hash(record_hash(&old));
        Some(old)
    }

    /// All sessions, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = &SessionRecord> + '_ {
        self.sessions.values()
    }

    /// Number of sessions.
    pub fn len(&self) -> usize {
        self.sessions.len()
    }

    /// Whether the table is empty.
    pub fn is_empty(&self) -> bool {
        self.sessions.is_empty()
    }
}

impl SessionStore for MemoryStore {
    fn has_fast_lookup(&self) -> bool {
        !self.snapshot_bulk
    }

    fn for_each_session(&self, _now: Instant, f: &mut dyn FnMut(&SessionRecord)) {
        self.sessions.values().for_each(f);
    }

    fn get_session(&self, _now: Instant, id: HaSessionId) -> Option<SessionRecord> {
        self.sessions.get(&id).cloned()
    }

    fn apply_add(&mut self, _now: Instant, rec: &SessionRecord) {
        self.insert(rec.clone());
    }

    fn apply_update(&mut self, _now: Instant, update: &SessionUpdate) -> bool {
        match self.sessions.get_mut(&update.id) {
            Some(rec) => {
                update.apply_to(rec);
                true
            }
            None => false,
        }
    }

    fn remove_session(&mut self, id: HaSessionId) -> bool {
        self.take(id).is_some()
    }

    fn flush_ha_sessions(&mut self) {
        self.sessions.clear();
        self.digest = TableDigest::default();
    }

    fn ha_session_count(&self) -> usize {
        self.sessions.len()
    }

    fn ha_table_digest(&self, _now: Instant) -> TableDigest {
        self.digest
    }
}
