//! Status snapshots for `show redundancy ...` and their JSON (`--json`). Field names are part of the
//! interface: keep `docs/sso.md` in step.

use serde::{Deserialize, Serialize};
use timebase::Instant;

use crate::client::ClientStatus;
use crate::config::HsrpRole;
use crate::history::HistoryEntry;
use crate::manager::{Manager, PeerCounters};
use crate::mismatch::Mismatch;
use crate::rf::RfState;

/// Everything the `show redundancy` family prints.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SsoStatus {
    /// This unit's RF state, IOS spelling (`ACTIVE`).
    pub my_state: String,
    /// Its IOS code (13).
    pub my_state_code: u8,
    /// The peer's RF state (`DISABLED` when it cannot be heard).
    pub peer_state: String,
    /// Its IOS code.
    pub peer_state_code: u8,
    /// `Duplex` with a peer, `Simplex` without.
    pub mode: String,
    /// `Up` or `Down`.
    pub communications: String,
    /// The scheme's HSRP group name.
    pub scheme_group: String,
    /// Its HSRP state on this unit (`Active`, `Standby`, `Speak`, ...).
    pub scheme_group_state: String,
    /// Its HSRP state on the peer, as the peer reports it.
    pub peer_scheme_group_state: Option<String>,
    /// `RF_INTERDEV_STATE_INIT|NEGO|STDBY|ACT`.
    pub inter_device_state: String,
    /// `RF_INTERDEV_PEER_COMM` or `RF_INTERDEV_PEER_NO_COMM`.
    pub peer_present: String,
    /// Whether the association is authenticated.
    pub security_configured: bool,
    /// Registered clients.
    pub client_count: usize,
    /// The clients.
    pub clients: Vec<ClientStatus>,
    /// Configuration differences with the peer.
    pub mismatches: Vec<Mismatch>,
    /// Whether HSRP preemption is held by SSO.
    pub preempt_held: bool,
    /// Why it is held.
    pub preempt_hold_reason: Option<String>,
    /// Switchovers this unit took part in (taking over or relinquishing).
    pub switchover_count: u64,
    /// Why the last switchover happened.
    pub last_switchover_reason: Option<String>,
    /// How long ago, in ms.
    pub last_switchover_age_ms: Option<u64>,
    /// Both units ACTIVE with communication up (resolved by HSRP).
    pub dual_active: bool,
    /// This unit's software version.
    pub software_version: String,
    /// The peer's software version.
    pub peer_software_version: Option<String>,
    /// The versions differ.
    pub version_mismatch: bool,
    /// Digest of this unit's HA configuration (hex, first 8 bytes).
    pub config_digest: String,
    /// Digest of the peer's HA configuration.
    pub peer_config_digest: Option<String>,
    /// The peer's boot id (hex).
    pub peer_boot_id: Option<String>,
    /// Time since the manager started, ms.
    pub uptime_ms: u64,
    /// Time in the current state, ms.
    pub my_state_age_ms: u64,
    /// Time the peer has been in its state, ms.
    pub peer_state_age_ms: Option<u64>,
    /// Time since the last message from the peer, ms.
    pub peer_last_heard_ms: Option<u64>,
    /// State message interval, ms.
    pub hello_interval_ms: u64,
    /// Silence after which the peer is lost, ms.
    pub peer_dead_ms: u64,
    /// Reason the peer was last lost.
    pub last_peer_loss: Option<String>,
    /// Peer protocol counters.
    pub counters: PeerCounters,
    /// History, oldest first.
    pub history: Vec<HistoryEntry>,
    /// Entries ever recorded (the ring keeps the newest).
    pub history_total: u64,
}

fn inter_device_state(s: RfState) -> &'static str {
    match s {
        RfState::Disabled | RfState::Initialization => "RF_INTERDEV_STATE_INIT",
        RfState::Negotiation => "RF_INTERDEV_STATE_NEGO",
        s if s.is_standby_family() => "RF_INTERDEV_STATE_STDBY",
        _ => "RF_INTERDEV_STATE_ACT",
    }
}

impl Manager {
    /// A snapshot for `show redundancy ...`.
    pub fn status(&self, now: Instant) -> SsoStatus {
        let peer = self.peer.as_ref().filter(|_| self.comm_up);
        let peer_state = self.peer_state();
        SsoStatus {
            my_state: self.my_state.name().into(),
            my_state_code: self.my_state.code(),
            peer_state: peer_state.name().into(),
            peer_state_code: peer_state.code(),
            mode: if self.comm_up { "Duplex" } else { "Simplex" }.into(),
            communications: if self.comm_up { "Up" } else { "Down" }.into(),
            scheme_group: self.cfg.scheme_group.clone(),
            scheme_group_state: self.hsrp_role.name().into(),
            peer_scheme_group_state: peer.map(|p| {
                HsrpRole::from_code(p.hsrp_state)
                    .map_or_else(|| format!("unknown({})", p.hsrp_state), |r| r.name().to_owned())
            }),
            inter_device_state: inter_device_state(self.my_state).into(),
            peer_present: if self.comm_up {
                "RF_INTERDEV_PEER_COMM"
            } else {
                "RF_INTERDEV_PEER_NO_COMM"
            }
            .into(),
            security_configured: self.cfg.security_configured,
            client_count: self.clients.len(),
            clients: self.clients.values().map(|c| c.status(now)).collect(),
            mismatches: self.mismatches.clone(),
            preempt_held: self.preempt_hold.is_some(),
            preempt_hold_reason: self.preempt_hold.clone(),
            switchover_count: self.switchover_count,
            last_switchover_reason: self.last_switchover_reason.clone(),
            last_switchover_age_ms: self
                .last_switchover_at
                .map(|t| now.saturating_since(t).as_millis()),
            dual_active: self.dual_active,
            software_version: self.cfg.software_version.clone(),
            peer_software_version: peer.map(|p| p.software_version.clone()),
            version_mismatch: peer.is_some_and(|p| p.software_version != self.cfg.software_version),
            config_digest: self.my_digest.to_string(),
            peer_config_digest: peer.map(|p| p.digest.to_string()),
            peer_boot_id: peer.map(|p| format!("{:016x}", p.boot_id)),
            uptime_ms: now.saturating_since(self.started).as_millis(),
            my_state_age_ms: now.saturating_since(self.my_state_since).as_millis(),
            peer_state_age_ms: peer.map(|p| now.saturating_since(p.state_since).as_millis()),
            peer_last_heard_ms: peer.map(|p| now.saturating_since(p.last_rx).as_millis()),
            hello_interval_ms: self.cfg.hello_interval.as_millis(),
            peer_dead_ms: self.cfg.peer_dead_time().as_millis(),
            last_peer_loss: self.last_peer_loss.clone(),
            counters: self.counters.clone(),
            history: self.history.entries(),
            history_total: self.history.total(),
        }
    }

    /// `show redundancy clients` rows.
    pub fn clients(&self, now: Instant) -> Vec<ClientStatus> {
        self.clients.values().map(|c| c.status(now)).collect()
    }
}
