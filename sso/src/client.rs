//! The client registry (the IOS RF/CF client idea): features that hold HA state register, are told of role
//! changes and progression steps through [`ClientNotice`]s, and report their bulk synchronization.

use serde::{Deserialize, Serialize};
use timebase::{Duration, Instant};

use crate::config::ClientId;
use crate::rf::RfState;

/// What the manager tells a client (delivered as `Action::Client(id, notice)`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum ClientNotice {
    /// This unit is becoming ACTIVE: promote standby state, start serving.
    BecomeActive,
    /// This unit is the standby of an ACTIVE peer.
    BecomeStandby,
    /// Standby side: request a bulk synchronization from the peer's client now, then report it.
    StartBulkSync,
    /// ACTIVE side: the peer entered STANDBY COLD-BULK; expect (and answer) its bulk request.
    ServeBulk,
    /// Drop all HA state (the HA subsystem reloads, or the operator cleared it for a resync).
    Flush,
    /// Communication with the peer came up.
    PeerUp,
    /// Communication with the peer was lost.
    PeerDown,
    /// This unit's RF state changed (every step, for clients that follow the progression).
    Progress(RfState),
}

/// What a client reports to the manager (`Manager::handle_client`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum ClientReport {
    /// The bulk synchronization finished with `sessions` records; `ok` is false when its count or digest
    /// did not match the ACTIVE's end marker (a failure that is retried).
    BulkDone {
        /// Records received.
        sessions: u64,
        /// Whether count and digest matched.
        ok: bool,
    },
    /// The bulk synchronization failed.
    BulkFailed {
        /// Why, for logs and `show redundancy clients`.
        reason: String,
    },
    /// The client lost sync (a gap, a digest mismatch) and needs a new bulk synchronization.
    ResyncNeeded {
        /// Why.
        reason: String,
    },
}

/// Bulk-synchronization progress of one client.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum BulkState {
    /// Nothing done since the last (re)start of the standby progression.
    Idle,
    /// `StartBulkSync` sent, waiting for the report.
    Requested { since: Instant },
    /// Done.
    Done { sessions: u64, took: Duration },
    /// Failed; retried at `retry_at`.
    Failed { reason: String, retry_at: Instant },
}

/// One registered client.
#[derive(Clone, Debug)]
pub(crate) struct Client {
    pub(crate) id: ClientId,
    pub(crate) name: String,
    pub(crate) seq: u32,
    pub(crate) bulk: BulkState,
    pub(crate) bulk_syncs: u64,
    pub(crate) bulk_failures: u64,
}

impl Client {
    pub(crate) fn new(id: ClientId, name: String, seq: u32) -> Self {
        Self {
            id,
            name,
            seq,
            bulk: BulkState::Idle,
            bulk_syncs: 0,
            bulk_failures: 0,
        }
    }

    pub(crate) fn is_done(&self) -> bool {
        matches!(self.bulk, BulkState::Done { .. })
    }

    pub(crate) fn deadline(&self, bulk_timeout: Duration) -> Option<Instant> {
        match self.bulk {
            BulkState::Requested { since } => Some(since + bulk_timeout),
            BulkState::Failed { retry_at, .. } => Some(retry_at),
            _ => None,
        }
    }

    pub(crate) fn status(&self, now: Instant) -> ClientStatus {
        let (bulk_state, bulk_sessions, bulk_ms, detail) = match &self.bulk {
            BulkState::Idle => ("idle", None, None, None),
            BulkState::Requested { since } => (
                "in progress",
                None,
                Some(now.saturating_since(*since).as_millis()),
                None,
            ),
            BulkState::Done { sessions, took } => ("done", Some(*sessions), Some(took.as_millis()), None),
            BulkState::Failed { reason, .. } => ("failed", None, None, Some(reason.clone())),
        };
        ClientStatus {
            id: self.id.0,
            name: self.name.clone(),
            seq: self.seq,
            bulk_state: bulk_state.to_owned(),
            bulk_sessions,
            bulk_ms,
            bulk_failure: detail,
            bulk_syncs: self.bulk_syncs,
            bulk_failures: self.bulk_failures,
        }
    }
}

/// A client as `show redundancy clients` shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientStatus {
    /// Client id.
    pub id: u16,
    /// Client name (`FW HA`).
    pub name: String,
    /// Registration order.
    pub seq: u32,
    /// `idle`, `in progress`, `done` or `failed`.
    pub bulk_state: String,
    /// Records of the last completed bulk synchronization.
    pub bulk_sessions: Option<u64>,
    /// Duration of the last completed (or the running) bulk synchronization, in ms.
    pub bulk_ms: Option<u64>,
    /// Reason of the last failure while failed.
    pub bulk_failure: Option<String>,
    /// Completed bulk synchronizations.
    pub bulk_syncs: u64,
    /// Failed bulk synchronizations.
    pub bulk_failures: u64,
}
