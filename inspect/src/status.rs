//! What the engine reports: verdicts, events, per-session snapshots and counters (all serde).

use std::net::SocketAddr;

use serde::{Deserialize, Serialize};

use crate::record::{HaSessionId, SessionRecord};

/// The judgement on one packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Verdict {
    /// Forward it.
    Accept,
    /// Drop it, for this reason (also counted in [`DropCounters`]).
    Drop(DropReason),
}

/// Why a packet was dropped.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum DropReason {
    /// Not a well-formed IPv4/IPv6 packet with a well-formed TCP/UDP/ICMP header.
    Malformed,
    /// Denied by an interface ACL (an entry or the implicit deny).
    AclDenied,
    /// TCP segment outside the session's window.
    OutOfWindow,
    /// TCP flags impossible in the session's state.
    InvalidTcp,
    /// Would open a session while `max-incomplete high` half-open sessions exist and none of them could be
    /// ended to make room.
    HalfOpenLimit,
    /// Would open a session while the shard holds `max_sessions`.
    SessionLimit,
}

/// Role of the router in the HA pair, as far as inspect sessions are concerned.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum HaRole {
    /// Sessions are used for forwarding and synced to the peer.
    Active,
    /// Standby sessions are held, not used.
    Standby,
}

/// HA state of one session as `show ip inspect ha sessions` prints it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum HaState {
    /// An HA session of this router (synced to the peer).
    Active,
    /// A copy of a session of the Active peer.
    Standby,
    /// Not an HA session.
    None,
}

impl HaState {
    /// IOS spelling.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Active => "ACTIVE",
            Self::Standby => "STANDBY",
            Self::None => "NONE",
        }
    }
}

/// A syslog line of the audit trail, fully rendered (`%FW-6-SESS_AUDIT_TRAIL_START: Start tcp session: ...`).
/// The driver logs it at severity 6 (`tracing::info!(target: "syslog", ...)`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditLine {
    /// The message, starting with `%FAC-SEV-MNEMONIC:`.
    pub text: String,
}

/// Output of the engine, drained with [`Engine::poll_event`](crate::Engine::poll_event).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum EngineEvent {
    /// An HA session was created on the Active: send an add.
    HaAdd(SessionRecord),
    /// An HA session's periodic update fell due: send an update.
    HaUpdate(SessionRecord),
    /// An HA session ended on the Active: send a delete.
    HaDelete(HaSessionId),
    /// A line to log.
    Audit(AuditLine),
    /// Standby sessions were promoted on becoming Active (their HA ids were renumbered: the peer must
    /// bulk-sync afresh). Accompanied by an `Audit` line `%FW-HA-6-SESS_AUDIT_TRAIL_STDBY_TO_ACT`.
    HaPromoted {
        /// Number of sessions promoted.
        sessions: u64,
    },
}

/// One session for `show ip inspect [ha] sessions` and its JSON.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionStatus {
    /// Session id (HA id for HA sessions); text output prints it as 8 hex digits.
    pub id: u32,
    /// `tcp` or `udp`.
    pub proto: String,
    /// Initiator address and port.
    pub initiator: SocketAddr,
    /// Responder address and port.
    pub responder: SocketAddr,
    /// `SIS_SYNSENT` .. `SIS_CLOSED`.
    pub state: String,
    /// Listed under "Half-open Sessions" (TCP handshake incomplete, or UDP without a reply yet).
    pub half_open: bool,
    /// Name of the interface whose inspect rule opened the session.
    pub interface: String,
    /// Its index in the configuration.
    pub interface_index: u16,
    /// `in` or `out`: direction of that inspect rule.
    pub direction: String,
    /// Bytes (IP packet lengths) sent by the initiator.
    pub bytes_initiator: u64,
    /// Bytes sent by the responder.
    pub bytes_responder: u64,
    /// Seconds since creation.
    pub age_s: u64,
    /// Seconds since the last packet.
    pub idle_s: u64,
    /// The timeout in force for the current state, seconds.
    pub timeout_s: u32,
    /// `ACTIVE`, `STANDBY` or `NONE`.
    pub ha_state: HaState,
    /// ACL the return traffic bypasses through this session's pinhole (interface ACL on the return path).
    pub return_acl: Option<String>,
}

/// Packets dropped, by reason.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DropCounters {
    /// Malformed packets.
    pub malformed: u64,
    /// ACL denials.
    pub acl_denied: u64,
    /// TCP out of window.
    pub out_of_window: u64,
    /// TCP flags invalid for the state.
    pub invalid_tcp: u64,
    /// Refused by the half-open limit.
    pub half_open_limit: u64,
    /// Refused by the session cap.
    pub session_limit: u64,
}

impl DropCounters {
    /// Sum of all reasons.
    pub fn total(&self) -> u64 {
        self.malformed
            + self.acl_denied
            + self.out_of_window
            + self.invalid_tcp
            + self.half_open_limit
            + self.session_limit
    }

    pub(crate) fn count(&mut self, r: DropReason) {
        match r {
            DropReason::Malformed => self.malformed += 1,
            DropReason::AclDenied => self.acl_denied += 1,
            DropReason::OutOfWindow => self.out_of_window += 1,
            DropReason::InvalidTcp => self.invalid_tcp += 1,
            DropReason::HalfOpenLimit => self.half_open_limit += 1,
            DropReason::SessionLimit => self.session_limit += 1,
        }
    }
}

/// Engine counters (`show ip inspect statistics`-style, and the HA hooks' counters).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EngineStats {
    /// Live sessions (including standby copies).
    pub sessions: u64,
    /// Half-open sessions (local ones; standby copies are not counted).
    pub half_open: u64,
    /// Standby copies held.
    pub standby_sessions: u64,
    /// HA sessions of this router (HA state ACTIVE).
    pub ha_active_sessions: u64,
    /// `max-incomplete` aggressive mode: `high` half-open sessions were reached, and each new half-open
    /// session ends the oldest one until the count falls below `low`.
    pub half_open_aggressive: bool,
    /// Half-open sessions ended by `max-incomplete` to make room for new ones.
    pub half_open_deleted: u64,
    /// Sessions created by traffic.
    pub created: u64,
    /// Sessions removed by their timers.
    pub expired: u64,
    /// TCP sessions removed by an accepted RST.
    pub reset: u64,
    /// Sessions removed by `clear` commands.
    pub cleared: u64,
    /// Packets judged.
    pub packets: u64,
    /// Packets accepted through a session (including the packets that opened one).
    pub session_packets: u64,
    /// Packets judged by the interface ACLs (no live session; this includes packets that then opened one).
    pub acl_judged: u64,
    /// Non-first fragments seen (judged by ACLs without ports).
    pub non_first_fragments: u64,
    /// Drops by reason.
    pub drops: DropCounters,
    /// Events lost because the event queue was full (the HA layer must resync).
    pub events_dropped: u64,
    /// HA adds emitted.
    pub ha_adds: u64,
    /// HA updates emitted.
    pub ha_updates: u64,
    /// HA deletes emitted.
    pub ha_deletes: u64,
    /// Standby records applied (adds and refreshes).
    pub standby_applied: u64,
    /// Standby records refused (bad interface/state, table full).
    pub standby_rejected: u64,
    /// `remove_standby` of an unknown id.
    pub standby_unknown_deletes: u64,
    /// Sessions promoted from standby to active.
    pub promoted: u64,
    /// Bytes held by the session table (slab + indexes + wheel).
    pub table_bytes: u64,
}

impl EngineStats {
    /// Adds another shard's counters into `self`.
    pub fn merge(&mut self, o: &Self) {
        self.sessions += o.sessions;
        self.half_open += o.half_open;
        self.standby_sessions += o.standby_sessions;
        self.ha_active_sessions += o.ha_active_sessions;
        self.half_open_aggressive |= o.half_open_aggressive;
        self.half_open_deleted += o.half_open_deleted;
        self.created += o.created;
        self.expired += o.expired;
        self.reset += o.reset;
        self.cleared += o.cleared;
        self.packets += o.packets;
        self.session_packets += o.session_packets;
        self.acl_judged += o.acl_judged;
        self.non_first_fragments += o.non_first_fragments;
        self.drops.malformed += o.drops.malformed;
        self.drops.acl_denied += o.drops.acl_denied;
        self.drops.out_of_window += o.drops.out_of_window;
        self.drops.invalid_tcp += o.drops.invalid_tcp;
        self.drops.half_open_limit += o.drops.half_open_limit;
        self.drops.session_limit += o.drops.session_limit;
        self.events_dropped += o.events_dropped;
        self.ha_adds += o.ha_adds;
        self.ha_updates += o.ha_updates;
        self.ha_deletes += o.ha_deletes;
        self.standby_applied += o.standby_applied;
        self.standby_rejected += o.standby_rejected;
        self.standby_unknown_deletes += o.standby_unknown_deletes;
        self.promoted += o.promoted;
        self.table_bytes += o.table_bytes;
    }
}
