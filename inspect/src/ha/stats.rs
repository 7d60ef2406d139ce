//! Counters of the sync client, their JSON snapshot and the `show ip inspect ha statistics` text.

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

/// The side a sync client plays.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SyncRole {
    /// Sends adds, updates, deletes and bulk synchronizations.
    Active,
    /// Applies them and asks for bulk synchronizations.
    Standby,
}

impl std::fmt::Display for SyncRole {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Active => "Active",
            Self::Standby => "Standby",
        })
    }
}

/// Monotonic counters; `clear ip inspect ha statistics` zeroes them.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncCounters {
    /// Add records sent (dynamic and bulk).
    pub adds_sent: u64,
    /// Add records received.
    pub adds_received: u64,
    /// Update records sent.
    pub updates_sent: u64,
    /// Update records received.
    pub updates_received: u64,
    /// Delete records sent.
    pub deletes_sent: u64,
    /// Delete records received.
    pub deletes_received: u64,
    /// Bulk synchronizations completed (Active: end marker queued; standby: count and digest matched).
    pub bulk_syncs: u64,
    /// Bulk synchronizations whose count or digest did not match (standby).
    pub bulk_failures: u64,
    /// Bulk synchronizations requested by this side (standby) or served (Active, including restarts).
    pub bulk_requests: u64,
    /// Bulk requests not sent because a bulk was already under way (standby, [`super::HaSync::request_bulk`]).
    pub bulk_requests_coalesced: u64,
    /// Bulk synchronizations abandoned (a newer request, a gap, a timeout or the link going down).
    pub bulk_aborted: u64,
    /// Standby copies removed at the end of a bulk because the bulk did not carry them.
    pub stale_removed: u64,
    /// Resynchronizations started by the standby because of a gap, a decode error, a digest or count
    /// mismatch or a timeout.
    pub resyncs: u64,
    /// Sequence gaps seen (standby) or signalled after dropping records (Active).
    pub gaps: u64,
    /// Updates replaced in the queue by a newer update of the same session.
    pub coalesced: u64,
    /// Updates dropped because the queue was full and held no update of that session.
    pub updates_dropped: u64,
    /// Adds dropped because the queue overflowed (each overflow forces a resync).
    pub adds_dropped: u64,
    /// Deletes dropped because the queue overflowed (each overflow forces a resync).
    pub deletes_dropped: u64,
    /// Events not queued because the session's bulk add is still to come (it reads the latest state).
    pub bulk_superseded: u64,
    /// Deletes received for sessions the standby does not hold.
    pub unknown_deletes: u64,
    /// Updates received for sessions the standby does not hold.
    pub unknown_updates: u64,
    /// Messages that could not be decoded (all kinds).
    pub decode_errors: u64,
    /// ... of which had an unsupported version.
    pub unsupported_version: u64,
    /// ... of which held an unknown record type.
    pub unknown_record_type: u64,
    /// ... of which were truncated.
    pub truncated: u64,
    /// Records that make no sense for this side's role (e.g. an add received by the Active).
    pub unexpected_records: u64,
    /// Batches handed to the transport.
    pub batches_sent: u64,
    /// Batches received.
    pub batches_received: u64,
    /// Bytes handed to the transport.
    pub bytes_sent: u64,
    /// Bytes received.
    pub bytes_received: u64,
    /// Times the transport refused a batch (queue full).
    pub send_blocked: u64,
}

/// Snapshot for `show ip inspect ha statistics` (the JSON field names are part of the interface).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncStatistics {
    /// `active` or `standby`.
    pub role: SyncRole,
    /// HA sessions in the local table.
    pub sessions: u64,
    /// Sessions carried by the last completed bulk synchronization.
    pub last_bulk_sessions: u64,
    /// Duration of the last completed bulk synchronization (ms).
    pub last_bulk_ms: u64,
    /// Milliseconds since the last sync message was sent (Active) or received (standby); null if none.
    pub last_sync_age_ms: Option<u64>,
    /// Records waiting in the outbound queue.
    pub queue_depth: u64,
    /// Whether a bulk synchronization is in progress.
    pub bulk_in_progress: bool,
    /// Whether the standby's table is known to be complete (last bulk matched, no gap since).
    pub in_sync: bool,
    /// Whether the transport currently refuses batches.
    pub send_blocked_now: bool,
    /// The counters.
    #[serde(flatten)]
    pub counters: SyncCounters,
}

/// Renders `show ip inspect ha statistics`.
pub fn render_statistics(s: &SyncStatistics) -> String {
    let c = &s.counters;
    let mut out = String::new();
    let _ = writeln!(out, "IP Inspect HA statistics, role {}", s.role);
    let sync = if s.bulk_in_progress {
        "bulk sync in progress"
    } else if s.in_sync {
        "in sync"
    } else {
        "not in sync"
    };
    let _ = writeln!(out, "  HA sessions: {}, {}", s.sessions, sync);
    let age = s
        .last_sync_age_ms
        .map_or_else(|| "never".to_string(), |ms| format!("{ms} msec ago"));
    let _ = writeln!(out, "  Last sync message: {age}");
    let blocked = if s.send_blocked_now {
        " (transport blocked)"
    } else {
        ""
    };
    let _ = writeln!(out, "  Queue depth: {} records{blocked}", s.queue_depth);
    let _ = writeln!(out, "  {:<18}{:>14}{:>14}", "", "Sent", "Received");
    for (name, sent, rcvd) in [
        ("Session adds", c.adds_sent, c.adds_received),
        ("Session updates", c.updates_sent, c.updates_received),
        ("Session deletes", c.deletes_sent, c.deletes_received),
        ("Messages", c.batches_sent, c.batches_received),
        ("Bytes", c.bytes_sent, c.bytes_received),
    ] {
        let _ = writeln!(out, "  {name:<18}{sent:>14}{rcvd:>14}");
    }
    let _ = writeln!(
        out,
        "  Bulk syncs: {} completed, {} failed, {} requested, {} aborted, {} stale sessions removed",
        c.bulk_syncs, c.bulk_failures, c.bulk_requests, c.bulk_aborted, c.stale_removed
    );
    let _ = writeln!(
        out,
        "  Last bulk sync: {} sessions in {} msec",
        s.last_bulk_sessions, s.last_bulk_ms
    );
    let _ = writeln!(
        out,
        "  Coalesced updates: {}, dropped updates: {}, dropped adds: {}, dropped deletes: {}",
        c.coalesced, c.updates_dropped, c.adds_dropped, c.deletes_dropped
    );
    let _ = writeln!(
        out,
        "  Sequence gaps: {}, resyncs: {}, unknown deletes: {}, unknown updates: {}",
        c.gaps, c.resyncs, c.unknown_deletes, c.unknown_updates
    );
    let _ = writeln!(
        out,
        "  Decode errors: {} (unsupported version {}, unknown record {}, truncated {})",
        c.decode_errors, c.unsupported_version, c.unknown_record_type, c.truncated
    );
    let _ = writeln!(
        out,
        "  Transport refusals: {}, unexpected records: {}",
        c.send_blocked, c.unexpected_records
    );
    out
}
