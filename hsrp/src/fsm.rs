//! The RFC 2281 §5 state machine as data.
//!
//! Rows are the lettered events of §5.5 (plus `m`, the Cisco preemption event), columns the six states,
//! and each cell lists the §5.6 actions to run and the next state. The group code classifies every input
//! into one [`Event`], looks the cell up with [`cell`] and applies it in its one state-change function.
//!
//! Where this table departs from a literal reading of the RFC it says so:
//! * `Speak`/`c` restarts the Active timer (A): in the RFC cell nothing happens and a router whose Active
//!   timer ran out while speaking would reach Standby with no Active timer at all, and never take over.
//! * `m` is not in the RFC. It fires when preemption is configured, the local priority is strictly higher
//!   than the Active router's, and every preemption delay and hold has passed: send Coup, then Hello, and
//!   become Active.

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use crate::packet::State;

/// An RFC 2281 §5.5 event (plus the Cisco preemption event `m`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Event {
    /// a: HSRP is configured on an enabled interface (or its start delay ended).
    Enabled,
    /// b: HSRP is unconfigured or the interface went down.
    Disabled,
    /// c: the Active timer expired.
    ActiveTimerExpired,
    /// d: the Standby timer expired.
    StandbyTimerExpired,
    /// e: the Hello timer expired.
    HelloTimerExpired,
    /// f: a Hello of higher priority from a router in Speak.
    HigherSpeakHello,
    /// g: a Hello of higher priority from the Active router.
    HigherActiveHello,
    /// h: a Hello of lower priority from the Active router.
    LowerActiveHello,
    /// i: a Resign from the Active router.
    ActiveResigned,
    /// j: a Coup from a router of higher priority.
    HigherCoup,
    /// k: a Hello of higher priority from the Standby router.
    HigherStandbyHello,
    /// l: a Hello of lower priority from the Standby router.
    LowerStandbyHello,
    /// m (Cisco): preemption is due.
    Preempt,
}

impl Event {
    /// All events in table order.
    pub const ALL: [Self; 13] = [
        Self::Enabled,
        Self::Disabled,
        Self::ActiveTimerExpired,
        Self::StandbyTimerExpired,
        Self::HelloTimerExpired,
        Self::HigherSpeakHello,
        Self::HigherActiveHello,
        Self::LowerActiveHello,
        Self::ActiveResigned,
        Self::HigherCoup,
        Self::HigherStandbyHello,
        Self::LowerStandbyHello,
        Self::Preempt,
    ];

    /// The RFC letter.
    pub const fn letter(self) -> char {
        match self {
            Self::Enabled => 'a',
            Self::Disabled => 'b',
            Self::ActiveTimerExpired => 'c',
            Self::StandbyTimerExpired => 'd',
            Self::HelloTimerExpired => 'e',
            Self::HigherSpeakHello => 'f',
            Self::HigherActiveHello => 'g',
            Self::LowerActiveHello => 'h',
            Self::ActiveResigned => 'i',
            Self::HigherCoup => 'j',
            Self::HigherStandbyHello => 'k',
            Self::LowerStandbyHello => 'l',
            Self::Preempt => 'm',
        }
    }

    /// Short description (used in `debug standby events` and state-change reasons).
    pub const fn describe(self) -> &'static str {
        match self {
            Self::Enabled => "group enabled",
            Self::Disabled => "group disabled",
            Self::ActiveTimerExpired => "active timer expired",
            Self::StandbyTimerExpired => "standby timer expired",
            Self::HelloTimerExpired => "hello timer expired",
            Self::HigherSpeakHello => "hello of higher priority from a speaker",
            Self::HigherActiveHello => "hello of higher priority from the active router",
            Self::LowerActiveHello => "hello of lower priority from the active router",
            Self::ActiveResigned => "resign from the active router",
            Self::HigherCoup => "coup from a higher priority router",
            Self::HigherStandbyHello => "hello of higher priority from the standby router",
            Self::LowerStandbyHello => "hello of lower priority from the standby router",
            Self::Preempt => "preemption",
        }
    }

    const fn row(self) -> usize {
        self as usize
    }
}

/// A set of §5.6 actions (bit per letter A–I).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Actions(u16);

impl Actions {
    /// No action.
    pub const NONE: Self = Self(0);
    /// A: start the Active timer.
    pub const START_ACTIVE: Self = Self(1);
    /// B: start the Standby timer.
    pub const START_STANDBY: Self = Self(1 << 1);
    /// C: stop the Active timer.
    pub const STOP_ACTIVE: Self = Self(1 << 2);
    /// D: stop the Standby timer.
    pub const STOP_STANDBY: Self = Self(1 << 3);
    /// E: learn virtual IP and timers from the Active router's (authenticated) Hello.
    pub const LEARN: Self = Self(1 << 4);
    /// F: send a Hello.
    pub const SEND_HELLO: Self = Self(1 << 5);
    /// G: send a Coup.
    pub const SEND_COUP: Self = Self(1 << 6);
    /// H: send a Resign.
    pub const SEND_RESIGN: Self = Self(1 << 7);
    /// I: send gratuitous ARP for the virtual IP(s).
    pub const GRATUITOUS_ARP: Self = Self(1 << 8);

    /// Whether every action of `other` is in `self`.
    pub const fn contains(self, other: Self) -> bool {
        self.0 & other.0 == other.0
    }

    /// Union.
    pub const fn with(self, other: Self) -> Self {
        Self(self.0 | other.0)
    }

    /// The letters, e.g. `"ABH"`.
    pub fn letters(self) -> String {
        (0..9)
            .filter(|i| self.0 & (1 << i) != 0)
            .map(|i| char::from(b'A' + i as u8))
            .collect()
    }

    const fn parse(s: &str) -> Self {
        let b = s.as_bytes();
        let mut bits = 0u16;
        let mut i = 0;
        while i < b.len() {
            bits |= 1 << (b[i] - b'A');
            i += 1;
        }
        Self(bits)
    }
}

/// Where a cell goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Next {
    /// The event is not handled in this state: no action, no change.
    Ignore,
    /// Run the actions and stay.
    Stay,
    /// Run the actions and move.
    To(State),
    /// Event a in Init: Listen when the virtual IP is known, else Learn.
    ListenOrLearn,
}

/// One cell of the table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cell {
    /// Actions to run, in letter order.
    pub actions: Actions,
    /// Where to go.
    pub next: Next,
}

const fn c(actions: &str, next: Next) -> Cell {
    Cell {
        actions: Actions::parse(actions),
        next,
    }
}
const X: Cell = Cell {
    actions: Actions::NONE,
    next: Next::Ignore,
};
const fn stay(actions: &str) -> Cell {
    c(actions, Next::Stay)
}
const fn to(actions: &str, s: State) -> Cell {
    c(actions, Next::To(s))
}

use State::{Active as ACT, Init as INIT, Listen as LIS, Speak as SPK, Standby as STB};

/// The table: `TABLE[event][state]`, states in [`State::ALL`] order (Init, Learn, Listen, Speak, Standby,
/// Active).
pub const TABLE: [[Cell; 6]; 13] = [
    // a: enabled
    [c("AB", Next::ListenOrLearn), X, X, X, X, X],
    // b: disabled
    [
        X,
        to("CD", INIT),
        to("CD", INIT),
        to("CD", INIT),
        to("CD", INIT),
        to("CDH", INIT),
    ],
    // c: active timer expired
    [X, X, to("AB", SPK), stay("A"), to("CDFI", ACT), X],
    // d: standby timer expired
    [X, X, to("B", SPK), to("D", STB), X, X],
    // e: hello timer expired
    [X, X, X, stay("F"), stay("F"), stay("F")],
    // f: higher-priority hello from a speaker
    [X, X, X, to("B", LIS), to("B", LIS), X],
    // g: higher-priority hello from the active router
    [
        X,
        to("AE", LIS),
        stay("AE"),
        stay("AE"),
        stay("AE"),
        to("AB", SPK),
    ],
    // h: lower-priority hello from the active router
    [X, to("AE", LIS), stay("AE"), stay("AE"), stay("AE"), stay("G")],
    // i: resign from the active router
    [X, X, to("AB", SPK), stay("A"), to("CFI", ACT), X],
    // j: coup from a higher-priority router
    [X, X, X, X, X, to("ABH", SPK)],
    // k: higher-priority hello from the standby router
    [X, X, stay("B"), to("B", LIS), to("B", LIS), stay("B")],
    // l: lower-priority hello from the standby router
    [X, X, to("B", SPK), to("D", STB), X, stay("B")],
    // m: preemption due (Cisco)
    [X, X, to("CDGFI", ACT), to("CDGFI", ACT), to("CDGFI", ACT), X],
];

const fn col(s: State) -> usize {
    match s {
        State::Init => 0,
        State::Learn => 1,
        State::Listen => 2,
        State::Speak => 3,
        State::Standby => 4,
        State::Active => 5,
    }
}

/// The cell for `event` in `state`.
pub const fn cell(state: State, event: Event) -> Cell {
    TABLE[event.row()][col(state)]
}

/// The whole table as text, one line per (event, state) pair (the snapshot the tests compare).
pub fn render_table() -> String {
    let mut out = String::new();
    for e in Event::ALL {
        for s in State::ALL {
            let cl = cell(s, e);
            let next = match cl.next {
                Next::Ignore => "-".to_owned(),
                Next::Stay => format!("{} (stay)", s),
                Next::To(n) => n.to_string(),
                Next::ListenOrLearn => "Listen|Learn".to_owned(),
            };
            let acts = if cl.actions == Actions::NONE {
                "-".to_owned()
            } else {
                cl.actions.letters()
            };
            let _ = writeln!(
                out,
                "{} {:<7} {:<6} -> {:<14} # {}",
                e.letter(),
                s.name(),
                acts,
                next,
                e.describe()
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_snapshot() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/snapshots/fsm_table.txt");
        let got = render_table();
        if std::env::var_os("HSRP_UPDATE_SNAPSHOTS").is_some() {
            std::fs::create_dir_all(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/snapshots")).unwrap();
            std::fs::write(path, &got).unwrap();
        }
        let want = std::fs::read_to_string(path).expect("snapshot missing: run with HSRP_UPDATE_SNAPSHOTS=1");
        assert_eq!(
            got, want,
            "state table changed; review and regenerate with HSRP_UPDATE_SNAPSHOTS=1"
        );
    }

    #[test]
    fn cells_the_rfc_walkthrough_confirms() {
        assert_eq!(
            cell(State::Active, Event::HigherActiveHello),
            to("AB", State::Speak)
        );
        assert_eq!(cell(State::Active, Event::LowerActiveHello), stay("G"));
        assert_eq!(cell(State::Speak, Event::HelloTimerExpired), stay("F"));
        assert_eq!(cell(State::Active, Event::HelloTimerExpired), stay("F"));
        assert_eq!(Actions::parse("CDH").letters(), "CDH");
    }

    #[test]
    fn only_active_resigns_and_only_takeover_paths_lead_to_active() {
        for e in Event::ALL {
            for s in State::ALL {
                let cl = cell(s, e);
                if cl.actions.contains(Actions::SEND_RESIGN) {
                    assert_eq!(s, State::Active);
                }
                if cl.next == Next::To(State::Active) {
                    assert!(cl.actions.contains(Actions::GRATUITOUS_ARP), "{s:?} {e:?}");
                    assert!(cl.actions.contains(Actions::SEND_HELLO));
                }
            }
        }
    }
}
