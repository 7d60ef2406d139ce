//! How a standby group reacts to its tracking objects (`standby N track OBJECT [decrement D | shutdown]`):
//! a down object lowers the priority by its decrement, or, with `shutdown`, holds the group in Init.

use std::collections::VecDeque;

use timebase::Instant;

use crate::fsm::Event;
use crate::group::{Group, InitReason};
use crate::packet::State;
use crate::speaker::Action;

/// Sum of the decrements of the group's down objects (objects with `shutdown` do not decrement).
pub(crate) fn object_decrement(g: &Group) -> u32 {
    g.cfg
        .track_objects
        .iter()
        .zip(&g.object_down)
        .filter(|(t, d)| **d && !t.shutdown)
        .map(|(t, _)| u32::from(t.decrement))
        .sum()
}

impl Group {
    /// Whether an object tracked with `shutdown` is down.
    pub(crate) fn shut_by_track(&self) -> bool {
        self.cfg
            .track_objects
            .iter()
            .zip(&self.object_down)
            .any(|(t, d)| *d && t.shutdown)
    }

    /// Object `object` was reported `up`. `started` says whether the speaker runs, `link_up` whether the
    /// group's interface is up (both are needed to leave Init when a shutdown object comes back).
    pub(crate) fn set_object(
        &mut self,
        now: Instant,
        object: u16,
        up: bool,
        started: bool,
        link_up: bool,
        out: &mut VecDeque<Action>,
    ) {
        let was_shut = self.shut_by_track();
        let mut touched = false;
        for (t, d) in self.cfg.track_objects.iter().zip(self.object_down.iter_mut()) {
            if t.object == object {
                *d = !up;
                touched = true;
            }
        }
        if !touched {
            return;
        }
        let shut = self.shut_by_track();
        if shut && !was_shut && self.state != State::Init {
            let reason = format!("tracked object {object} down");
            self.apply(now, Event::Disabled, None, &reason, out);
            self.init_reason = InitReason::TrackShutdown;
        } else if !shut
            && was_shut
            && self.state == State::Init
            && self.init_reason == InitReason::TrackShutdown
        {
            if started && link_up {
                let reason = format!("tracked object {object} up");
                self.apply(now, Event::Enabled, None, &reason, out);
            } else if started {
                self.init_reason = InitReason::InterfaceDown;
            } else {
                self.init_reason = InitReason::NotStarted;
            }
        }
    }
}
