//! The redundancy manager: inputs, peer handling and timers. The RF progression itself (the derived events
//! and the single state-change function) lives in `progress.rs`; status snapshots in `status.rs`.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use serde::{Deserialize, Serialize};
use timebase::{Duration, Instant};

use crate::client::{BulkState, Client, ClientNotice, ClientReport};
use crate::config::{ClientId, Digest, HaConfigSummary, HsrpRole, OtherHsrpState, SsoConfig};
use crate::error::{DecodeError, RefusalReason};
use crate::history::{Changed, History};
use crate::mismatch::Mismatch;
use crate::rf::{RfEvent, RfState};
use crate::wire::{Body, Message, StateMsg};

/// What the manager asks its driver to do. Drain with [`Manager::poll_action`] after every input.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Action {
    /// Send these bytes to the peer on the IPC association's control stream.
    SendPeer(Vec<u8>),
    /// Deliver a notice to a registered client.
    Client(ClientId, ClientNotice),
    /// Tell the HSRP core whether the scheme group (and the groups that follow it) may preempt.
    HoldPreempt {
        /// True: do not take over by preemption.
        held: bool,
        /// Why (for `show standby`); empty when released.
        reason: String,
    },
    /// Ask HSRP to give up Active on the scheme group (planned switchover).
    Resign,
    /// This unit's RF state changed.
    StateChanged {
        /// Previous state.
        from: RfState,
        /// New state.
        to: RfState,
        /// Why.
        reason: String,
    },
    /// A syslog line, fully formatted (`%RF-5-RF_RELOAD: ...`); severity is the digit after the facility.
    Log(String),
    /// A `debug redundancy` line.
    Debug(String),
}

/// The severity digit of a formatted syslog line (`%RF-5-RF_RELOAD: ...` gives 5).
pub fn log_severity(line: &str) -> Option<u8> {
    let rest = line.strip_prefix('%')?;
    let mut parts = rest.splitn(3, '-');
    parts.next()?;
    let sev = parts.next()?;
    sev.parse().ok()
}

/// Serial-number comparison (RFC 1982 style): `a` is newer than `b` when it is at most 2^31 - 1 ahead,
/// so the sequence may wrap around.
pub(crate) fn seq_is_newer(a: u32, b: u32) -> bool {
    a != b && a.wrapping_sub(b) < (1 << 31)
}

/// Counters of the peer protocol and of client reports (ASA-style xmit/rcv/err).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeerCounters {
    /// STATE messages sent.
    pub state_tx: u64,
    /// STATE messages accepted.
    pub state_rx: u64,
    /// CONFIG messages sent.
    pub config_tx: u64,
    /// CONFIG messages accepted.
    pub config_rx: u64,
    /// SWITCHOVER notices sent.
    pub switchover_tx: u64,
    /// SWITCHOVER notices accepted.
    pub switchover_rx: u64,
    /// Messages that failed to decode (all causes).
    pub decode_errors: u64,
    /// ... of which truncated or with a bad length.
    pub truncated: u64,
    /// ... of which with a bad magic.
    pub bad_magic: u64,
    /// ... of which with an unsupported protocol version.
    pub unsupported_version: u64,
    /// ... of which with an unknown message type.
    pub unknown_type: u64,
    /// ... of which with a malformed body (bad state code, direction, text, trailing bytes).
    pub malformed: u64,
    /// Messages whose sequence number was not newer than the last accepted one (dropped).
    pub out_of_order: u64,
    /// Messages carrying our own boot id (a loop or a misconfiguration; dropped).
    pub own_messages: u64,
    /// Times the peer was lost.
    pub peer_losses: u64,
    /// Times the peer restarted (boot id change or association restart).
    pub peer_restarts: u64,
    /// Messages received while the association was reported down (dropped).
    pub ignored_link_down: u64,
    /// Client reports from unregistered ids.
    pub unknown_client_reports: u64,
    /// Client reports that arrived when no bulk synchronization was expected.
    pub stray_client_reports: u64,
}

/// What we know about the peer while we can hear it.
#[derive(Clone, Debug)]
pub(crate) struct Peer {
    pub(crate) boot_id: u64,
    pub(crate) last_seq: u32,
    pub(crate) last_rx: Instant,
    pub(crate) state: RfState,
    pub(crate) state_since: Instant,
    pub(crate) hsrp_state: u8,
    pub(crate) software_version: String,
    pub(crate) digest: Digest,
    pub(crate) seen_digest: Digest,
    pub(crate) summary: Option<(HaConfigSummary, Digest)>,
}

/// The SSO redundancy manager (sans-IO).
///
/// Feed it `handle_hsrp_role` (the scheme group's HSRP state), `handle_link` (IPC association up/down),
/// `handle_peer_message` (bytes from the peer's control stream), `handle_client` (client reports),
/// operator requests, and `handle_timeout` when [`poll_timeout`](Self::poll_timeout) is reached. After
/// each input, drain [`poll_action`](Self::poll_action) until it returns `None`, then re-arm the timer.
#[derive(Debug)]
pub struct Manager {
    pub(crate) cfg: SsoConfig,
    pub(crate) summary: HaConfigSummary,
    pub(crate) my_digest: Digest,
    pub(crate) started: Instant,
    pub(crate) my_state: RfState,
    pub(crate) my_state_since: Instant,
    pub(crate) hsrp_role: HsrpRole,
    pub(crate) link_up: bool,
    pub(crate) peer: Option<Peer>,
    pub(crate) comm_up: bool,
    pub(crate) last_peer_loss: Option<String>,
    pub(crate) last_peer_boot: Option<u64>,
    pub(crate) clients: BTreeMap<ClientId, Client>,
    pub(crate) next_client_seq: u32,
    pub(crate) history: History,
    pub(crate) actions: VecDeque<Action>,
    pub(crate) seq: u32,
    pub(crate) next_hello: Option<Instant>,
    pub(crate) config_sent_at: Option<Instant>,
    pub(crate) preempt_hold: Option<String>,
    pub(crate) startup_hold_until: Option<Instant>,
    pub(crate) mismatches: Vec<Mismatch>,
    pub(crate) logged_mismatches: BTreeSet<String>,
    pub(crate) switchover_count: u64,
    pub(crate) last_switchover_reason: Option<String>,
    pub(crate) last_switchover_at: Option<Instant>,
    pub(crate) resigning: Option<Instant>,
    pub(crate) planned_notice: Option<(Instant, String)>,
    pub(crate) standby_data: Option<RfState>,
    pub(crate) dual_active: bool,
    pub(crate) version_logged_for: Option<u64>,
    pub(crate) counters: PeerCounters,
}

impl Manager {
    /// A manager for `cfg`, with HA configuration `summary`, enabled at `now` (state INITIALIZATION).
    pub fn new(cfg: SsoConfig, summary: HaConfigSummary, now: Instant) -> Self {
        let my_digest = summary.digest();
        let history = History::new(cfg.history_len);
        let mut m = Self {
            cfg,
            summary,
            my_digest,
            started: now,
            my_state: RfState::Disabled,
            my_state_since: now,
            hsrp_role: HsrpRole::Other(OtherHsrpState::Init),
            link_up: false,
            peer: None,
            comm_up: false,
            last_peer_loss: None,
            last_peer_boot: None,
            clients: BTreeMap::new(),
            next_client_seq: 0,
            history,
            actions: VecDeque::new(),
            seq: 0,
            next_hello: None,
            config_sent_at: None,
            preempt_hold: None,
            startup_hold_until: None,
            mismatches: Vec::new(),
            logged_mismatches: BTreeSet::new(),
            switchover_count: 0,
            last_switchover_reason: None,
            last_switchover_at: None,
            resigning: None,
            planned_notice: None,
            standby_data: None,
            dual_active: false,
            version_logged_for: None,
            counters: PeerCounters::default(),
        };
        m.change_state(now, RfEvent::Enable, "redundancy enabled".into());
        m.after_input(now);
        m
    }

    // ===== outputs =====

    /// The next action, if any.
    pub fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    /// The next instant at which [`handle_timeout`](Self::handle_timeout) must be called.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let mut t: Option<Instant> = self.next_hello;
        let mut consider = |d: Option<Instant>| {
            if let Some(d) = d {
                t = Some(t.map_or(d, |t| t.min(d)));
            }
        };
        consider(self.peer.as_ref().map(|p| p.last_rx + self.cfg.peer_dead_time()));
        consider(self.startup_hold_until);
        for c in self.clients.values() {
            consider(c.deadline(self.cfg.bulk_timeout));
        }
        t
    }

    /// This unit's RF state.
    pub fn my_state(&self) -> RfState {
        self.my_state
    }

    /// The peer's RF state (DISABLED when there is no communication).
    pub fn peer_state(&self) -> RfState {
        match (&self.peer, self.comm_up) {
            (Some(p), true) => p.state,
            _ => RfState::Disabled,
        }
    }

    /// Whether communication with the peer is up.
    pub fn communications_up(&self) -> bool {
        self.comm_up
    }

    /// The reason preemption is held, if it is.
    pub fn preempt_hold(&self) -> Option<&str> {
        self.preempt_hold.as_deref()
    }

    /// Current configuration mismatches with the peer.
    pub fn mismatches(&self) -> &[Mismatch] {
        &self.mismatches
    }

    /// Peer protocol counters.
    pub fn counters(&self) -> &PeerCounters {
        &self.counters
    }

    // ===== inputs =====

    /// The scheme group's HSRP state changed (or is re-reported; repeats are harmless).
    pub fn handle_hsrp_role(&mut self, now: Instant, role: HsrpRole) {
        if role != self.hsrp_role {
            self.debug(format!(
                "RF: scheme group {} HSRP state {} -> {}",
                self.cfg.scheme_group, self.hsrp_role, role
            ));
            self.hsrp_role = role;
            if self.link_up {
                self.send_state(now);
            }
        }
        self.after_input(now);
    }

    /// The IPC association went up or down; `peer_restarted` when it came back with a restarted peer.
    pub fn handle_link(&mut self, now: Instant, up: bool, peer_restarted: bool) {
        if !up {
            self.debug("RF: IPC association down".into());
            self.link_up = false;
            self.next_hello = None;
            self.lose_peer(now, "IPC association down".into());
        } else {
            if peer_restarted && self.peer.is_some() {
                self.lose_peer(now, "peer restarted (association restart)".into());
            }
            self.debug("RF: IPC association up".into());
            self.link_up = true;
            self.send_state(now);
        }
        self.after_input(now);
    }

    /// Bytes from the peer's control stream. Malformed, unknown and stale messages are counted and dropped,
    /// and so is anything received while the association is reported down (report `handle_link(up)` first).
    pub fn handle_peer_message(&mut self, now: Instant, bytes: &[u8]) {
        match Message::decode(bytes) {
            Ok(msg) => self.on_message(now, msg),
            Err(e) => self.count_decode_error(&e),
        }
        self.after_input(now);
    }

    /// The HA configuration changed.
    pub fn handle_config(&mut self, now: Instant, summary: HaConfigSummary) {
        self.summary = summary;
        self.my_digest = self.summary.digest();
        if self.link_up {
            self.send_config(now);
            self.send_state(now);
        }
        self.check_config();
        self.after_input(now);
    }

    /// Register a client (idempotent; re-registering renames it).
    pub fn register_client(&mut self, now: Instant, id: ClientId, name: &str) {
        if let Some(c) = self.clients.get_mut(&id) {
            c.name = name.to_owned();
        } else {
            self.next_client_seq += 1;
            self.clients
                .insert(id, Client::new(id, name.to_owned(), self.next_client_seq));
            self.debug(format!("RF: client {name} ({id}) registered"));
        }
        self.after_input(now);
    }

    /// Remove a client.
    pub fn unregister_client(&mut self, now: Instant, id: ClientId) {
        self.clients.remove(&id);
        self.after_input(now);
    }

    /// A client reports bulk progress or lost sync.
    pub fn handle_client(&mut self, now: Instant, id: ClientId, report: ClientReport) {
        let bulk_expected = self.my_state == RfState::StandbyColdBulk;
        let standby = self.my_state.is_standby_family();
        let retry = self.cfg.bulk_retry;
        let Some(client) = self.clients.get_mut(&id) else {
            self.counters.unknown_client_reports += 1;
            self.debug(format!(
                "RF: report {report:?} from unregistered client {id} ignored"
            ));
            return;
        };
        let name = client.name.clone();
        let mut log = None;
        let mut debug = None;
        match report {
            ClientReport::BulkDone { sessions, ok: true } if bulk_expected => {
                let took = match client.bulk {
                    BulkState::Requested { since } => now.saturating_since(since),
                    _ => Duration::ZERO,
                };
                client.bulk = BulkState::Done { sessions, took };
                client.bulk_syncs += 1;
                debug = Some(format!(
                    "RF: client {name} ({id}) bulk sync done: {sessions} records in {took}"
                ));
            }
            ClientReport::BulkDone { ok: false, sessions } if bulk_expected => {
                let reason = format!("count or digest mismatch after {sessions} records");
                log = Some(Self::fail_bulk(client, now, retry, reason));
            }
            ClientReport::BulkFailed { reason } if bulk_expected => {
                log = Some(Self::fail_bulk(client, now, retry, reason));
            }
            ClientReport::ResyncNeeded { reason } if standby => {
                client.bulk = BulkState::Idle;
                log = Some(format!(
                    "%RF-5-CLIENT_RESYNC: Client {name} ({id}) lost sync ({reason}); resynchronizing"
                ));
            }
            other => {
                self.counters.stray_client_reports += 1;
                debug = Some(format!(
                    "RF: unexpected report {other:?} from client {name} ({id}) in state {}",
                    self.my_state
                ));
            }
        }
        if let Some(l) = log {
            self.log(l);
        }
        if let Some(d) = debug {
            self.debug(d);
        }
        self.after_input(now);
    }

    fn fail_bulk(client: &mut Client, now: Instant, retry: Duration, reason: String) -> String {
        client.bulk_failures += 1;
        let line = format!(
            "%RF-4-BULK_SYNC_FAILED: Client {} ({}) bulk sync failed: {reason}; retrying in {retry}",
            client.name, client.id
        );
        client.bulk = BulkState::Failed {
            reason,
            retry_at: now + retry,
        };
        line
    }

    /// `redundancy force-switchover`: refused unless this unit is ACTIVE and the peer is STANDBY HOT.
    pub fn force_switchover(&mut self, now: Instant) -> Result<(), RefusalReason> {
        if self.my_state == RfState::Disabled {
            return Err(RefusalReason::Disabled);
        }
        if self.my_state != RfState::Active {
            return Err(RefusalReason::NotActive(self.my_state.name().into()));
        }
        if self
            .resigning
            .is_some_and(|t| now < t + self.cfg.switchover_notice_validity)
        {
            return Err(RefusalReason::SwitchoverInProgress);
        }
        if !self.comm_up {
            return Err(RefusalReason::NoPeer);
        }
        let peer = self.peer_state();
        if peer != RfState::StandbyHot {
            return Err(RefusalReason::PeerNotStandbyHot(peer.name().into()));
        }
        self.resigning = Some(now);
        self.log(
            "%RF-5-FORCED_SWITCHOVER: Planned switchover requested by the operator; HSRP resigns".into(),
        );
        self.push_history(
            now,
            Changed::Event,
            "operator requested a planned switchover".into(),
        );
        self.send_message(now, Body::Switchover("redundancy force-switchover".into()));
        self.counters.switchover_tx += 1;
        self.actions.push_back(Action::Resign);
        self.after_input(now);
        Ok(())
    }

    /// `clear ip inspect ha sessions-all` on the standby: flush the clients and bulk-sync again.
    pub fn request_resync(&mut self, now: Instant) -> Result<(), RefusalReason> {
        if self.my_state == RfState::Disabled {
            return Err(RefusalReason::Disabled);
        }
        if !self.my_state.is_standby_family() {
            return Err(RefusalReason::NotStandby(self.my_state.name().into()));
        }
        self.log("%RF-5-RESYNC: Resynchronization requested by the operator".into());
        self.push_history(now, Changed::Event, "operator requested a resync".into());
        let ids: Vec<ClientId> = self.clients.keys().copied().collect();
        for id in ids {
            self.notify(id, ClientNotice::Flush);
            if let Some(c) = self.clients.get_mut(&id) {
                c.bulk = BulkState::Idle;
            }
        }
        self.after_input(now);
        Ok(())
    }

    /// Enable or disable redundancy (`scheme standby` configured or removed).
    pub fn set_enabled(&mut self, now: Instant, enabled: bool) {
        if enabled {
            self.change_state(now, RfEvent::Enable, "redundancy enabled".into());
        } else {
            self.change_state(now, RfEvent::Disable, "redundancy disabled".into());
        }
        self.after_input(now);
    }

    /// Timers: hello, peer silence, client bulk timeouts and retries.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.next_hello.is_some_and(|t| t <= now) {
            self.send_state(now);
        }
        let dead = self.cfg.peer_dead_time();
        if self.peer.as_ref().is_some_and(|p| p.last_rx + dead <= now) {
            self.lose_peer(now, format!("peer silent for {dead}"));
        }
        let timeout = self.cfg.bulk_timeout;
        let retry = self.cfg.bulk_retry;
        let mut logs = Vec::new();
        for c in self.clients.values_mut() {
            match c.bulk {
                BulkState::Requested { since } if since + timeout <= now => {
                    logs.push(Self::fail_bulk(
                        c,
                        now,
                        retry,
                        format!("no report within {timeout}"),
                    ));
                }
                BulkState::Failed { retry_at, .. } if retry_at <= now => c.bulk = BulkState::Idle,
                _ => {}
            }
        }
        for l in logs {
            self.log(l);
        }
        self.after_input(now);
    }

    // ===== peer messages =====

    fn count_decode_error(&mut self, e: &DecodeError) {
        self.counters.decode_errors += 1;
        match e {
            DecodeError::Truncated { .. } | DecodeError::LengthMismatch { .. } => {
                self.counters.truncated += 1
            }
            DecodeError::BadMagic(_) => self.counters.bad_magic += 1,
            DecodeError::UnsupportedVersion(_) => self.counters.unsupported_version += 1,
            DecodeError::UnknownType(_) => self.counters.unknown_type += 1,
            _ => self.counters.malformed += 1,
        }
        self.debug(format!("RF: peer message dropped: {e}"));
    }

    fn on_message(&mut self, now: Instant, msg: Message) {
        if !self.link_up {
            // The association is reported down: whatever still arrives is stale.
            self.counters.ignored_link_down += 1;
            self.debug("RF: message received while the association is down ignored".into());
            return;
        }
        if msg.boot_id == self.cfg.boot_id {
            self.counters.own_messages += 1;
            self.debug("RF: message with our own boot id dropped".into());
            return;
        }
        if let Some(p) = &self.peer {
            if p.boot_id != msg.boot_id {
                self.lose_peer(now, "peer restarted (new boot id)".into());
            } else if !seq_is_newer(msg.seq, p.last_seq) {
                self.counters.out_of_order += 1;
                self.debug(format!(
                    "RF: out-of-order message seq {} (last {}) dropped",
                    msg.seq, p.last_seq
                ));
                return;
            }
        }
        match msg.body {
            Body::State(s) => {
                self.counters.state_rx += 1;
                self.on_state(now, msg.boot_id, msg.seq, s);
            }
            Body::Config(summary) => {
                // Only a peer we already heard a STATE from may update its summary.
                let Some(p) = self.peer.as_mut() else {
                    self.debug("RF: CONFIG before any STATE from the peer ignored".into());
                    return;
                };
                p.last_seq = msg.seq;
                p.last_rx = now;
                let d = summary.digest();
                let changed = p.summary.as_ref().is_none_or(|(_, old)| *old != d);
                p.summary = Some((summary, d));
                self.counters.config_rx += 1;
                self.debug(format!("RF: peer config summary received (digest {d})"));
                if changed {
                    // Tell the peer at once that we hold its summary (it gates STANDBY COLD -> COLD-BULK).
                    self.send_state(now);
                }
                self.check_config();
            }
            Body::Switchover(reason) => {
                let Some(p) = self.peer.as_mut() else {
                    self.debug("RF: SWITCHOVER before any STATE from the peer ignored".into());
                    return;
                };
                p.last_seq = msg.seq;
                p.last_rx = now;
                self.counters.switchover_rx += 1;
                self.planned_notice = Some((now, reason.clone()));
                self.push_history(
                    now,
                    Changed::Event,
                    format!("peer announced a planned switchover ({reason})"),
                );
            }
        }
    }

    fn on_state(&mut self, now: Instant, boot_id: u64, seq: u32, s: StateMsg) {
        let new_peer = self.peer.is_none();
        let peer = self.peer.get_or_insert_with(|| Peer {
            boot_id,
            last_seq: seq,
            last_rx: now,
            state: s.rf_state,
            state_since: now,
            hsrp_state: s.hsrp_state,
            software_version: s.software_version.clone(),
            digest: s.config_digest,
            seen_digest: s.peer_digest_seen,
            summary: None,
        });
        let old_state = peer.state;
        peer.last_seq = seq;
        peer.last_rx = now;
        peer.hsrp_state = s.hsrp_state;
        peer.software_version = s.software_version;
        peer.digest = s.config_digest;
        peer.seen_digest = s.peer_digest_seen;
        if peer.state != s.rf_state {
            peer.state = s.rf_state;
            peer.state_since = now;
        }
        let state_changed = old_state != s.rf_state;
        let version = peer.software_version.clone();
        let wants_config = peer.seen_digest != self.my_digest;
        if new_peer {
            self.debug(format!(
                "RF: peer heard (boot id {boot_id:016x}, state {})",
                s.rf_state
            ));
            if self.last_peer_boot.is_some_and(|b| b != boot_id) {
                self.counters.peer_restarts += 1;
                self.log("%RF-5-PEER_RESTARTED: The peer restarted (new boot id)".into());
                self.push_history(
                    now,
                    Changed::Event,
                    format!("peer restarted (boot id {boot_id:016x})"),
                );
            }
            self.last_peer_boot = Some(boot_id);
        }
        if self.version_logged_for != Some(boot_id) && version != self.cfg.software_version {
            self.version_logged_for = Some(boot_id);
            self.log(format!(
                "%RF-4-VERSION_MISMATCH: Peer runs software version {version}, this unit runs {}",
                self.cfg.software_version
            ));
        }
        self.update_comm(now);
        if state_changed && !new_peer {
            self.on_peer_state_change(now, old_state);
        }
        if wants_config
            && self
                .config_sent_at
                .is_none_or(|t| now >= t + self.cfg.hello_interval)
        {
            self.send_config(now);
        }
        self.check_config();
    }

    /// Side effects of a change of the peer's RF state.
    pub(crate) fn on_peer_state_change(&mut self, now: Instant, old: RfState) {
        let new = self.peer_state();
        self.push_history(now, Changed::Peer, format!("peer {} -> {}", old, new));
        if new == RfState::StandbyColdBulk && self.my_state.is_active_family() {
            let ids: Vec<ClientId> = self.clients.keys().copied().collect();
            for id in ids {
                self.notify(id, ClientNotice::ServeBulk);
            }
        }
        if old.is_active_family() != new.is_active_family() {
            self.check_config();
        }
    }

    /// Forget the peer (association down, silence, restart).
    pub(crate) fn lose_peer(&mut self, now: Instant, reason: String) {
        if self.peer.take().is_some() {
            self.counters.peer_losses += 1;
            self.last_peer_loss = Some(reason.clone());
            self.debug(format!("RF: peer lost: {reason}"));
        }
        self.update_comm_with(now, Some(reason));
        self.mismatches.clear();
        self.logged_mismatches.clear();
    }

    pub(crate) fn update_comm(&mut self, now: Instant) {
        self.update_comm_with(now, None);
    }

    fn update_comm_with(&mut self, now: Instant, reason: Option<String>) {
        let up = self.link_up && self.peer.is_some();
        if up == self.comm_up {
            return;
        }
        self.comm_up = up;
        let ids: Vec<ClientId> = self.clients.keys().copied().collect();
        if up {
            self.log("%RF-5-PEER_COMM: Communication with the peer is up".into());
            let heard = self.peer_state();
            self.push_history(
                now,
                Changed::Peer,
                format!("RF_STATUS_PEER_COMM(401) op=1: peer heard in state {heard}"),
            );
            for id in ids {
                self.notify(id, ClientNotice::PeerUp);
            }
            self.send_state(now);
        } else {
            let why = reason.unwrap_or_else(|| "IPC association down".into());
            self.log(format!(
                "%RF-4-PEER_COMM_LOST: Communication with the peer is lost: {why}"
            ));
            self.push_history(
                now,
                Changed::Peer,
                format!("RF_STATUS_PEER_COMM(401) op=0: {why}"),
            );
            for id in ids {
                self.notify(id, ClientNotice::PeerDown);
            }
        }
    }

    // ===== sending =====

    pub(crate) fn send_message(&mut self, now: Instant, body: Body) {
        self.seq = self.seq.wrapping_add(1);
        let msg = Message {
            seq: self.seq,
            boot_id: self.cfg.boot_id,
            body,
        };
        self.actions.push_back(Action::SendPeer(msg.encode()));
        let _ = now;
    }

    pub(crate) fn send_state(&mut self, now: Instant) {
        if !self.link_up {
            return;
        }
        let seen = self
            .peer
            .as_ref()
            .and_then(|p| p.summary.as_ref().map(|(_, d)| *d))
            .unwrap_or(Digest::NONE);
        let body = Body::State(StateMsg {
            rf_state: self.my_state,
            hsrp_state: self.hsrp_role.code(),
            flags: 0,
            config_digest: self.my_digest,
            peer_digest_seen: seen,
            software_version: self.cfg.software_version.clone(),
        });
        self.send_message(now, body);
        self.counters.state_tx += 1;
        self.next_hello = Some(now + self.cfg.hello_interval);
    }

    pub(crate) fn send_config(&mut self, now: Instant) {
        if !self.link_up {
            return;
        }
        self.send_message(now, Body::Config(self.summary.normalized()));
        self.counters.config_tx += 1;
        self.config_sent_at = Some(now);
    }

    // ===== helpers =====

    pub(crate) fn notify(&mut self, id: ClientId, notice: ClientNotice) {
        self.actions.push_back(Action::Client(id, notice));
    }

    pub(crate) fn notify_all(&mut self, notice: &ClientNotice) {
        let ids: Vec<ClientId> = self.clients.keys().copied().collect();
        for id in ids {
            self.notify(id, notice.clone());
        }
    }

    pub(crate) fn log(&mut self, line: String) {
        self.actions.push_back(Action::Log(line));
    }

    pub(crate) fn debug(&mut self, line: String) {
        self.actions.push_back(Action::Debug(line));
    }

    pub(crate) fn push_history(&mut self, now: Instant, changed: Changed, reason: String) {
        let peer = self.peer_state();
        self.history.push(now, self.my_state, peer, changed, reason);
    }
}
