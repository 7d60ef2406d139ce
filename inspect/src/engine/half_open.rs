//! `ip inspect max-incomplete high N` / `low N`: the defence against SYN floods.
//!
//! Half-open sessions are this router's TCP sessions whose handshake has not completed and its UDP
//! sessions the responder has not answered yet (standby copies never count). Once `high` of them exist
//! the engine turns *aggressive*: each new half-open session first ends the oldest half-open one
//! (counted in `half_open_deleted`, with the usual HA delete and audit line), so their number never
//! exceeds `high` however fast new ones arrive, while established sessions are untouched. It calms down
//! once the number falls below `low` (`low` defaults to `high`). `%FW-4-ALERT_ON` and `%FW-4-ALERT_OFF`
//! events mark the two transitions.
//!
//! The age order comes from a queue of (entry, creation second) pairs, kept only while a limit is
//! configured. Entries whose session has since completed, ended or been replaced are skipped when met
//! and compacted away when they pile up, which bounds the queue to about twice the half-open count.

use super::{EndReason, Engine};
use crate::status::{AuditLine, EngineEvent};

/// Stale queue entries tolerated before a compaction, beyond twice the half-open count.
const QUEUE_SLACK: usize = 64;

impl Engine {
    /// Records that entry `idx` (created at `created_s`) became half-open.
    pub(super) fn note_half_open(&mut self, idx: u32, created_s: u32) {
        if self.cfg.max_incomplete_high.is_none() {
            return;
        }
        self.half_open_queue.push_back((idx, created_s));
        if self.half_open_queue.len() > 2 * self.half_open as usize + QUEUE_SLACK {
            let mut queue = std::mem::take(&mut self.half_open_queue);
            queue.retain(|&(i, c)| self.still_half_open(i, c));
            self.half_open_queue = queue;
        }
    }

    /// Refills the queue from the table (oldest first) after a configuration change, so that sessions
    /// opened before the limit was set can be ended too.
    pub(super) fn rebuild_half_open_queue(&mut self) {
        self.half_open_queue.clear();
        if self.cfg.max_incomplete_high.is_none() {
            return;
        }
        let mut entries: Vec<(u32, u32)> = self
            .table
            .live()
            .filter_map(|i| {
                let s = self.table.session(i);
                Self::is_half_open(&s).then_some((i, s.created_s))
            })
            .collect();
        entries.sort_by_key(|&(_, created_s)| created_s);
        self.half_open_queue.extend(entries);
    }

    /// Whether queue entry (`idx`, `created_s`) still names a live half-open session.
    fn still_half_open(&self, idx: u32, created_s: u32) -> bool {
        self.table
            .get(idx)
            .is_some_and(|s| s.created_s == created_s && Self::is_half_open(&s))
    }

    /// Enters or leaves aggressive mode after the half-open count changed.
    pub(super) fn update_aggressive(&mut self) {
        let Some(high) = self.cfg.max_incomplete_high else {
            self.aggressive = false;
            self.half_open_queue.clear();
            return;
        };
        let low = self.cfg.max_incomplete_low.unwrap_or(high).min(high);
        if !self.aggressive && self.half_open >= u64::from(high) {
            self.aggressive = true;
            let text = format!(
                "%FW-4-ALERT_ON: getting aggressive, count ({}/{high})",
                self.half_open
            );
            self.push_event(EngineEvent::Audit(AuditLine { text }));
        } else if self.aggressive && self.half_open < u64::from(low) {
            self.aggressive = false;
            let text = format!("%FW-4-ALERT_OFF: calming down, count ({}/{low})", self.half_open);
            self.push_event(EngineEvent::Audit(AuditLine { text }));
        }
    }

    /// Before a new half-open session is created: while aggressive, ends the oldest half-open sessions
    /// until there is room below `high`. False when none could be ended (the new session is refused).
    pub(super) fn make_room_for_half_open(&mut self) -> bool {
        self.update_aggressive();
        let Some(high) = self.cfg.max_incomplete_high else {
            return true;
        };
        if !self.aggressive {
            return true;
        }
        while self.half_open >= u64::from(high) {
            let Some(idx) = self.pop_oldest_half_open() else {
                return false;
            };
            self.stats.half_open_deleted += 1;
            self.end_session(idx, EndReason::HalfOpenLimit);
        }
        true
    }

    fn pop_oldest_half_open(&mut self) -> Option<u32> {
        while let Some((idx, created_s)) = self.half_open_queue.pop_front() {
            if self.still_half_open(idx, created_s) {
                return Some(idx);
            }
        }
        None
    }
}
