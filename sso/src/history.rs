//! `show redundancy history`: a bounded ring of timestamped state changes of both units, with reasons.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};
use timebase::Instant;

use crate::rf::RfState;

/// Which value an entry changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Changed {
    /// This unit's RF state.
    Mine,
    /// The peer's RF state.
    Peer,
    /// Neither: an event (peer communication, planned switchover notice, ...).
    Event,
}

/// One history entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryEntry {
    /// When, in ms since the driver's epoch.
    pub at_ms: u64,
    /// This unit's state after the entry.
    pub my_state: RfState,
    /// The peer's state after the entry (DISABLED when it cannot be heard).
    pub peer_state: RfState,
    /// What changed.
    pub changed: Changed,
    /// Why, in words.
    pub reason: String,
}

/// The ring.
#[derive(Clone, Debug)]
pub(crate) struct History {
    cap: usize,
    entries: VecDeque<HistoryEntry>,
    total: u64,
}

impl History {
    pub(crate) fn new(cap: usize) -> Self {
        Self {
            cap: cap.max(1),
            entries: VecDeque::new(),
            total: 0,
        }
    }

    pub(crate) fn push(
        &mut self,
        at: Instant,
        my_state: RfState,
        peer_state: RfState,
        changed: Changed,
        reason: String,
    ) {
        if self.entries.len() == self.cap {
            self.entries.pop_front();
        }
        self.entries.push_back(HistoryEntry {
            at_ms: at.as_millis(),
            my_state,
            peer_state,
            changed,
            reason,
        });
        self.total += 1;
    }

    pub(crate) fn entries(&self) -> Vec<HistoryEntry> {
        self.entries.iter().cloned().collect()
    }

    pub(crate) fn total(&self) -> u64 {
        self.total
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ring_is_bounded() {
        let mut h = History::new(3);
        for i in 0..5 {
            h.push(
                Instant::from_millis(i),
                RfState::Active,
                RfState::Disabled,
                Changed::Event,
                i.to_string(),
            );
        }
        let e = h.entries();
        assert_eq!(e.len(), 3);
        assert_eq!(e[0].reason, "2");
        assert_eq!(h.total(), 5);
    }
}
