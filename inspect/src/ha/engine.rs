//! The engine as a [`SessionStore`], and the glue from [`EngineEvent`]s to the sync client.
//!
//! The engine exposes whole-table export, standby apply/remove and flush; it has no public lookup of one
//! HA session by id. So: bulk synchronizations served from an engine snapshot the records
//! (`has_fast_lookup` is false), and an update received by a standby engine finds its session by a scan
//! of the HA sessions (O(n) per update: fine for tests and small tables; at scale the engine should
//! expose `ha_record(now, id)` or an in-place `apply_standby_update(now, &SessionUpdate)`, after which
//! this adapter becomes O(1)).

use timebase::Instant;

use super::store::{SessionStore, SessionUpdate};
use super::sync::HaSync;
use crate::engine::Engine;
use crate::record::{HaSessionId, SessionRecord};
use crate::status::EngineEvent;

impl SessionStore for Engine {
    fn has_fast_lookup(&self) -> bool {
        false
    }

    fn for_each_session(&self, now: Instant, f: &mut dyn FnMut(&SessionRecord)) {
        for rec in self.export_ha(now) {
            f(&rec);
        }
    }

    fn get_session(&self, now: Instant, id: HaSessionId) -> Option<SessionRecord> {
        self.export_ha(now).find(|r| r.id == id)
    }

    fn apply_add(&mut self, now: Instant, rec: &SessionRecord) {
        // A refused record (not TCP/UDP, unknown state, table full) is counted by the engine
        // (`standby_rejected`) and shows up as a digest mismatch at the end of a bulk.
        self.apply_standby(now, rec);
    }

    fn apply_update(&mut self, now: Instant, update: &SessionUpdate) -> bool {
        let Some(mut rec) = self.get_session(now, update.id) else {
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
