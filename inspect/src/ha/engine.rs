//! The engine as a [`SessionStore`], and the glue from [`EngineEvent`]s to the sync client.
//!
//! Everything maps onto the engine's HA hooks: `export_ha` (bulk snapshot of ids, digest),
//! `ha_record` (O(1) lookup: bulk chunks, and the current record an update is merged into),
//! `apply_standby`, `remove_standby`, `clear_ha_sessions`.

use timebase::Instant;

use super::store::{SessionStore, SessionUpdate};
use super::sync::HaSync;
use crate::engine::Engine;
use crate::record::{HaSessionId, SessionRecord};
use crate::status::EngineEvent;

impl SessionStore for Engine {
    fn for_each_session(&self, now: Instant, f: &mut dyn FnMut(&SessionRecord)) {
        for rec in self.export_ha(now) {
            f(&rec);
        }
    }

    fn get_session(&self, now: Instant, id: HaSessionId) -> Option<SessionRecord> {
        self.ha_record(now, id)
    }

    fn apply_add(&mut self, now: Instant, rec: &SessionRecord) {
        // A refused record (not TCP/UDP, unknown state, table full) is counted by the engine
        // (`standby_rejected`) and shows up as a digest mismatch at the end of a bulk.
        self.apply_standby(now, rec);
    }

    fn apply_update(&mut self, now: Instant, update: &SessionUpdate) -> bool {
        // An update names a standby copy; the engine's own sessions are never updated from the peer.
        let Some(mut rec) = self.ha_record(now, update.id) else {
            return false;
        };
        update.apply_to(&mut rec);
        self.apply_standby(now, &rec)
    }

    fn remove_session(&mut self, id: HaSessionId) -> bool {
        self.remove_standby(id)
    }

    fn flush_ha_sessions(&mut self) {
        self.clear_ha_sessions();
    }

    fn ha_session_count(&self) -> usize {
        let s = self.stats();
        usize::try_from(s.standby_sessions + s.ha_active_sessions).unwrap_or(usize::MAX)
    }
}

/// Feeds one engine event to the sync client; returns false for events that are not HA sync events
/// (audit lines, promotion notices), which the caller handles.
pub fn feed_engine_event(sync: &mut HaSync, now: Instant, event: &EngineEvent) -> bool {
    match event {
        EngineEvent::HaAdd(rec) => sync.handle_add(now, rec),
        EngineEvent::HaUpdate(rec) => sync.handle_update(now, rec),
        EngineEvent::HaDelete(id) => sync.handle_delete(now, *id),
        _ => return false,
    }
    true
}
