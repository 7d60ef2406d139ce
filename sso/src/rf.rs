//! RF (redundancy facility) states with their IOS codes and spellings, the events that move them, and the
//! transition table. The table is data: [`TRANSITIONS`] lists every legal move, [`next_state`] looks one up,
//! and the manager's single state-change function applies it. A golden test pins the whole table.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The IOS RF states, numbered as IOS numbers them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum RfState {
    /// 1: redundancy not running (also shown for a peer we cannot hear).
    Disabled,
    /// 2: starting; waiting for the peer.
    Initialization,
    /// 3: talking to the peer, roles not settled.
    Negotiation,
    /// 4: standby of an ACTIVE peer, nothing synchronized yet.
    StandbyCold,
    /// 5: configuration synchronization (not used by iosha: each router keeps its own config).
    StandbyColdConfig,
    /// 6: file system synchronization (not used by iosha).
    StandbyColdFilesys,
    /// 7: clients are bulk-synchronizing from the ACTIVE.
    StandbyColdBulk,
    /// 8: fully synchronized, ready to take over.
    StandbyHot,
    /// 9: first step of becoming ACTIVE.
    ActiveFast,
    /// 10: draining the old standby work.
    ActiveDrain,
    /// 11: before applying the running configuration.
    ActivePreconfig,
    /// 12: after applying the running configuration.
    ActivePostconfig,
    /// 13: ACTIVE.
    Active,
}

impl RfState {
    /// Every state, in code order.
    pub const ALL: [Self; 13] = [
        Self::Disabled,
        Self::Initialization,
        Self::Negotiation,
        Self::StandbyCold,
        Self::StandbyColdConfig,
        Self::StandbyColdFilesys,
        Self::StandbyColdBulk,
        Self::StandbyHot,
        Self::ActiveFast,
        Self::ActiveDrain,
        Self::ActivePreconfig,
        Self::ActivePostconfig,
        Self::Active,
    ];

    /// The IOS numeric code (1..=13).
    pub const fn code(self) -> u8 {
        match self {
            Self::Disabled => 1,
            Self::Initialization => 2,
            Self::Negotiation => 3,
            Self::StandbyCold => 4,
            Self::StandbyColdConfig => 5,
            Self::StandbyColdFilesys => 6,
            Self::StandbyColdBulk => 7,
            Self::StandbyHot => 8,
            Self::ActiveFast => 9,
            Self::ActiveDrain => 10,
            Self::ActivePreconfig => 11,
            Self::ActivePostconfig => 12,
            Self::Active => 13,
        }
    }

    /// The state with IOS code `code`, if any.
    pub const fn from_code(code: u8) -> Option<Self> {
        if code >= 1 && code <= 13 {
            Some(Self::ALL[(code - 1) as usize])
        } else {
            None
        }
    }

    /// The IOS spelling (`STANDBY COLD-BULK`).
    pub const fn name(self) -> &'static str {
        match self {
            Self::Disabled => "DISABLED",
            Self::Initialization => "INITIALIZATION",
            Self::Negotiation => "NEGOTIATION",
            Self::StandbyCold => "STANDBY COLD",
            Self::StandbyColdConfig => "STANDBY COLD-CONFIG",
            Self::StandbyColdFilesys => "STANDBY COLD-FILESYS",
            Self::StandbyColdBulk => "STANDBY COLD-BULK",
            Self::StandbyHot => "STANDBY HOT",
            Self::ActiveFast => "ACTIVE FAST",
            Self::ActiveDrain => "ACTIVE DRAIN",
            Self::ActivePreconfig => "ACTIVE PRECONFIG",
            Self::ActivePostconfig => "ACTIVE POSTCONFIG",
            Self::Active => "ACTIVE",
        }
    }

    /// ACTIVE or one of the steps towards it (codes 9..=13).
    pub const fn is_active_family(self) -> bool {
        self.code() >= 9
    }

    /// One of the standby states of a unit that has an ACTIVE peer (codes 4..=8).
    pub const fn is_standby_family(self) -> bool {
        let c = self.code();
        c >= 4 && c <= 8
    }
}

impl fmt::Display for RfState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What moves the RF state. The manager derives these from its inputs (HSRP role, peer state, clients).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum RfEvent {
    /// Redundancy configured / enabled.
    Enable,
    /// Redundancy removed / disabled.
    Disable,
    /// The scheme's HSRP group became Active.
    HsrpActive,
    /// One step of the ACTIVE progression is done.
    ActiveStep,
    /// The scheme's HSRP group left Active while this unit was ACTIVE: the HA state reloads.
    Relinquish,
    /// Communication with the peer came up.
    PeerComm,
    /// Communication with the peer was lost (association down, peer silent, peer restarted).
    PeerLost,
    /// The peer is ACTIVE: this unit is its standby.
    PeerIsActive,
    /// The peer left ACTIVE while this unit was its standby.
    PeerNotActive,
    /// Both configuration summaries are exchanged: bulk synchronization can start.
    ConfigExchanged,
    /// Every registered client reported its bulk synchronization done.
    BulkComplete,
    /// A client or the operator asked for a new bulk synchronization.
    Resync,
}

impl RfEvent {
    /// Every event, in declaration order.
    pub const ALL: [Self; 12] = [
        Self::Enable,
        Self::Disable,
        Self::HsrpActive,
        Self::ActiveStep,
        Self::Relinquish,
        Self::PeerComm,
        Self::PeerLost,
        Self::PeerIsActive,
        Self::PeerNotActive,
        Self::ConfigExchanged,
        Self::BulkComplete,
        Self::Resync,
    ];
}

use RfEvent as E;
use RfState as S;

/// Every legal transition: (from, event, to). Anything not listed leaves the state unchanged.
pub const TRANSITIONS: &[(RfState, RfEvent, RfState)] = &[
    (S::Disabled, E::Enable, S::Initialization),
    // Disable from anywhere.
    (S::Initialization, E::Disable, S::Disabled),
    (S::Negotiation, E::Disable, S::Disabled),
    (S::StandbyCold, E::Disable, S::Disabled),
    (S::StandbyColdConfig, E::Disable, S::Disabled),
    (S::StandbyColdFilesys, E::Disable, S::Disabled),
    (S::StandbyColdBulk, E::Disable, S::Disabled),
    (S::StandbyHot, E::Disable, S::Disabled),
    (S::ActiveFast, E::Disable, S::Disabled),
    (S::ActiveDrain, E::Disable, S::Disabled),
    (S::ActivePreconfig, E::Disable, S::Disabled),
    (S::ActivePostconfig, E::Disable, S::Disabled),
    (S::Active, E::Disable, S::Disabled),
    // HSRP makes this unit Active from any non-active state.
    (S::Initialization, E::HsrpActive, S::ActiveFast),
    (S::Negotiation, E::HsrpActive, S::ActiveFast),
    (S::StandbyCold, E::HsrpActive, S::ActiveFast),
    (S::StandbyColdConfig, E::HsrpActive, S::ActiveFast),
    (S::StandbyColdFilesys, E::HsrpActive, S::ActiveFast),
    (S::StandbyColdBulk, E::HsrpActive, S::ActiveFast),
    (S::StandbyHot, E::HsrpActive, S::ActiveFast),
    // The ACTIVE progression.
    (S::ActiveFast, E::ActiveStep, S::ActiveDrain),
    (S::ActiveDrain, E::ActiveStep, S::ActivePreconfig),
    (S::ActivePreconfig, E::ActiveStep, S::ActivePostconfig),
    (S::ActivePostconfig, E::ActiveStep, S::Active),
    // An ACTIVE that relinquishes reloads its HA state.
    (S::ActiveFast, E::Relinquish, S::Initialization),
    (S::ActiveDrain, E::Relinquish, S::Initialization),
    (S::ActivePreconfig, E::Relinquish, S::Initialization),
    (S::ActivePostconfig, E::Relinquish, S::Initialization),
    (S::Active, E::Relinquish, S::Initialization),
    // The standby progression.
    (S::Initialization, E::PeerComm, S::Negotiation),
    (S::Negotiation, E::PeerIsActive, S::StandbyCold),
    (S::StandbyCold, E::ConfigExchanged, S::StandbyColdBulk),
    (S::StandbyColdConfig, E::ConfigExchanged, S::StandbyColdBulk),
    (S::StandbyColdFilesys, E::ConfigExchanged, S::StandbyColdBulk),
    (S::StandbyColdBulk, E::BulkComplete, S::StandbyHot),
    (S::StandbyHot, E::Resync, S::StandbyColdBulk),
    // Losing the peer sends a standby back to waiting for it.
    (S::Negotiation, E::PeerLost, S::Initialization),
    (S::StandbyCold, E::PeerLost, S::Initialization),
    (S::StandbyColdConfig, E::PeerLost, S::Initialization),
    (S::StandbyColdFilesys, E::PeerLost, S::Initialization),
    (S::StandbyColdBulk, E::PeerLost, S::Initialization),
    (S::StandbyHot, E::PeerLost, S::Initialization),
    // The peer stopped being ACTIVE: negotiate again.
    (S::StandbyCold, E::PeerNotActive, S::Negotiation),
    (S::StandbyColdConfig, E::PeerNotActive, S::Negotiation),
    (S::StandbyColdFilesys, E::PeerNotActive, S::Negotiation),
    (S::StandbyColdBulk, E::PeerNotActive, S::Negotiation),
    (S::StandbyHot, E::PeerNotActive, S::Negotiation),
];

/// The state `event` leads to from `from`, or `None` when the table has no such move.
pub fn next_state(from: RfState, event: RfEvent) -> Option<RfState> {
    TRANSITIONS
        .iter()
        .find(|(f, e, _)| *f == from && *e == event)
        .map(|(_, _, to)| *to)
}

/// The full state × event matrix as text, one line per state (`-` where the event is ignored).
/// Used by the golden snapshot test and handy in docs.
pub fn transition_matrix() -> String {
    let mut out = String::new();
    for from in RfState::ALL {
        out.push_str(&format!("{:>2} {}\n", from.code(), from.name()));
        for ev in RfEvent::ALL {
            if let Some(to) = next_state(from, ev) {
                out.push_str(&format!("     {ev:?} -> {}\n", to.name()));
            }
        }
    }
    out
}

/// The transition table as a Graphviz `dot` graph.
pub fn transition_dot() -> String {
    let mut out = String::from("digraph rf {\n");
    for (from, ev, to) in TRANSITIONS {
        out.push_str(&format!(
            "  \"{}\" -> \"{}\" [label=\"{ev:?}\"];\n",
            from.name(),
            to.name()
        ));
    }
    out.push_str("}\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_spell_like_ios() {
        for (i, s) in RfState::ALL.iter().enumerate() {
            assert_eq!(usize::from(s.code()), i + 1);
            assert_eq!(RfState::from_code(s.code()), Some(*s));
        }
        assert_eq!(RfState::from_code(0), None);
        assert_eq!(RfState::from_code(14), None);
        assert_eq!(RfState::StandbyColdBulk.to_string(), "STANDBY COLD-BULK");
        assert_eq!(RfState::Active.code(), 13);
        assert_eq!(RfState::StandbyHot.code(), 8);
    }

    #[test]
    fn table_is_deterministic() {
        for (i, (f, e, _)) in TRANSITIONS.iter().enumerate() {
            for (g, h, _) in &TRANSITIONS[i + 1..] {
                assert!(!(f == g && e == h), "duplicate row {f:?} {e:?}");
            }
        }
        for (f, _, t) in TRANSITIONS {
            assert_ne!(f, t, "self-loops are not transitions");
        }
    }

    #[test]
    fn every_state_but_disabled_can_be_disabled_and_left() {
        for s in RfState::ALL {
            if s != RfState::Disabled {
                assert_eq!(next_state(s, RfEvent::Disable), Some(RfState::Disabled));
            }
        }
    }
}
