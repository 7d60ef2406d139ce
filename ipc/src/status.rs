//! Counters and the `show` snapshot of an association.

use std::collections::BTreeMap;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::envelope::MessageKind;

/// Per-message-kind counters (ASA `show failover` style).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KindCounters {
    /// Messages sent.
    pub xmit: u64,
    /// Messages that could not be sent (queue full, association down, too large).
    pub xerr: u64,
    /// Messages received and delivered.
    pub rcv: u64,
    /// Messages received and dropped (authentication, replay, decode).
    pub rerr: u64,
}

/// Association counters. Every dropped input increments exactly one named drop counter.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssociationStats {
    /// Messages handed to SCTP.
    pub msgs_sent: u64,
    /// Messages delivered to clients.
    pub msgs_received: u64,
    /// Payload bytes handed to SCTP.
    pub bytes_sent: u64,
    /// Payload bytes delivered to clients.
    pub bytes_received: u64,
    /// SCTP packets sent (all paths).
    pub packets_sent: u64,
    /// SCTP packets received (all paths).
    pub packets_received: u64,
    /// SCTP packets retransmitted.
    pub retransmissions: u64,
    /// Bundles sent (SCTP user messages carrying several client messages; counted in `msgs_sent` too).
    #[serde(default)]
    pub bundles_sent: u64,
    /// Bundles received and accepted (their messages are counted in `msgs_received`).
    #[serde(default)]
    pub bundles_received: u64,
    /// Sends refused because the bounded send queue was full.
    pub drop_queue_full: u64,
    /// Sends refused because the association was not up.
    pub drop_not_up: u64,
    /// Sends refused because the payload was too large.
    pub drop_too_large: u64,
    /// Received messages shorter than their header or declared length.
    pub drop_truncated: u64,
    /// Received messages declaring a payload above the limit.
    pub drop_oversized: u64,
    /// Received messages with an unknown envelope version.
    pub drop_unknown_version: u64,
    /// Received messages with bytes beyond the declared payload.
    pub drop_trailing: u64,
    /// Received messages of a kind this build does not know.
    pub drop_unknown_kind: u64,
    /// Received hellos that could not be parsed.
    pub drop_bad_hello: u64,
    /// Received bundles with bad framing (sizes, record count, sequence wrap, wrong stream).
    #[serde(default)]
    pub drop_bad_bundle: u64,
    /// Received messages that failed authentication (wrong or missing key, altered).
    pub drop_auth: u64,
    /// Received messages replayed or behind the replay window.
    pub drop_replay: u64,
    /// Messages received before the peer's hello that overflowed the holding buffer.
    pub drop_before_hello: u64,
    /// Received messages the client did not pick up in time (driver receive queue full).
    pub drop_rx_queue_full: u64,
    /// Received packets not belonging to this association (ports, addresses) or malformed.
    pub drop_foreign_packets: u64,
    /// Per message kind: xmit / xerr / rcv / rerr.
    pub per_kind: BTreeMap<String, KindCounters>,
}

impl AssociationStats {
    pub(crate) fn kind(&mut self, kind: MessageKind) -> &mut KindCounters {
        let key = if kind.is_known() {
            kind.name().to_string()
        } else {
            format!("kind-{}", kind.0)
        };
        self.per_kind.entry(key).or_default()
    }

    /// All drop counters summed.
    pub fn drops_total(&self) -> u64 {
        self.drop_queue_full
            + self.drop_not_up
            + self.drop_too_large
            + self.drop_truncated
            + self.drop_oversized
            + self.drop_unknown_version
            + self.drop_trailing
            + self.drop_unknown_kind
            + self.drop_bad_hello
            + self.drop_bad_bundle
            + self.drop_auth
            + self.drop_replay
            + self.drop_before_hello
            + self.drop_rx_queue_full
    }
}

/// One address pair of the association.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PathStatus {
    /// Local address.
    pub local_ip: IpAddr,
    /// Remote address.
    pub remote_ip: IpAddr,
    /// `ACTIVE` (carrying traffic), `STANDBY` (healthy, idle) or `FAILED`.
    pub state: String,
    /// Consecutive unanswered path probes.
    pub failures: u32,
}

/// Snapshot of the association for `show sctp association list|parameters` and `show sctp statistics`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssociationStatus {
    /// Association id (IOS numbers its associations; ours is always 1).
    pub assoc_id: u32,
    /// SCTP state in IOS spelling: `ESTABLISHED`, `COOKIE_WAIT`, `SHUTDOWN_PENDING`, `CLOSED`.
    pub state: String,
    /// Whether the peer's hello was verified and messages flow (`IpcEvent::Up` was reported).
    pub up: bool,
    /// The transport in use: `kernel`, `raw`, `udp` or `memory`.
    pub transport: String,
    /// `local-port`.
    pub local_port: u16,
    /// `remote-port`.
    pub remote_port: u16,
    /// `local-ip`.
    pub local_ips: Vec<IpAddr>,
    /// `remote-ip`.
    pub remote_ips: Vec<IpAddr>,
    /// The address pair carrying traffic, as `LOCAL -> REMOTE`.
    pub primary_path: String,
    /// Every address pair.
    pub paths: Vec<PathStatus>,
    /// Times traffic moved between address pairs.
    pub path_switches: u64,
    /// `retransmit-timeout` minimum.
    pub rto_min_ms: u32,
    /// `retransmit-timeout` maximum.
    pub rto_max_ms: u32,
    /// `path-retransmit`.
    pub path_retransmit: u8,
    /// `assoc-retransmit`.
    pub assoc_retransmit: u8,
    /// Heartbeat interval.
    pub heartbeat_interval_ms: u32,
    /// Dead-peer detection bound on an idle association (docs/ipc.md).
    pub detection_bound_ms: u64,
    /// Smoothed round-trip time, when established.
    pub srtt_us: Option<u64>,
    /// Whether a security key is configured.
    pub authentication: bool,
    /// Peer restarts detected (changed boot id or SCTP restart).
    pub restarts: u64,
    /// Times the association came up.
    pub ups: u64,
    /// Times the association went down.
    pub downs: u64,
    /// Why it last went down.
    pub last_down_reason: Option<String>,
    /// Milliseconds since the last up/down change (relative to the snapshot's time).
    pub since_change_ms: Option<u64>,
    /// Counters.
    pub stats: AssociationStats,
}
