//! One simulated router: the real sans-IO cores (HSRP `Speaker`, SSO `Manager`, inspect `Engine`, inspect
//! `HaSync`, IPC `Association`) and the glue the daemon puts between them.
//!
//! Glue (what the daemon does with each output):
//! * HSRP `StateChanged` of the scheme group (`HAin`) → `sso.handle_hsrp_role`; `Send` → the LAN;
//!   `InstallVirtual`/`RemoveVirtual` → the switch learns/forgets the virtual MAC at this router.
//! * SSO `SendPeer` → IPC (client RF, control stream); `HoldPreempt` → `speaker.set_preempt_hold` on both
//!   groups ("HAin" and "HAout", which follows it); `Resign` → HSRP gives up Active (see `resign`);
//!   `Client(FW HA, notice)` → engine role / sync role / flush / bulk request.
//! * IPC `Up`/`Down` → `sso.handle_link` and `sync.handle_link_up/down`; `Message` RF → `sso`, INSPECT →
//!   `sync.handle_message(engine)`; `Transmit` → the IPC link.
//! * Engine events → `feed_engine_event(sync)`; sync `Send` → IPC (client INSPECT, sync stream), with
//!   `handle_send_blocked` on `QueueFull` and `handle_send_ready` [`SEND_RETRY`] later (the daemon's rule);
//!   sync `BulkComplete` → `sso.handle_client(BulkDone)`.

use hsrp::{Action as HsrpAction, GroupSelector, Speaker, State};
use inspect::ha::{HaSync, ResyncReason, SyncAction, SyncNotice, SyncRole, feed_engine_event};
use inspect::{Engine, EngineEvent, HaRole, HaSessionId};
use ipc::{Action as IpcAction, Association, ClientId as IpcClient, IpcEvent, MessageKind, SendError};
use sso::{Action as SsoAction, ClientNotice, ClientReport, HsrpRole, Manager, OtherHsrpState, SsoConfig};
use timebase::{Duration, Instant};

use super::config::{
    INSIDE, OUTSIDE, OUTSIDE_GROUP, PairConfig, SCHEME, association, engine_config, hsrp_interfaces, summary,
};

/// How long after a refused sync batch the sync client is told the association is ready again (the
/// daemon's retry interval).
pub const SEND_RETRY: Duration = Duration::from_millis(5);

/// Something a router puts on a wire.
#[derive(Debug)]
pub enum Wire {
    /// An HSRP datagram on LAN `lan` (0 inside, 1 outside).
    Lan { lan: usize, bytes: Vec<u8> },
    /// An SCTP packet on IPC address pair `path`.
    Ipc { path: usize, packet: Vec<u8> },
}

/// A line of the router's log (syslog lines of every core, plus a few glue notes).
#[derive(Clone, Debug)]
pub struct LogLine {
    /// Virtual time.
    pub at: Instant,
    /// Text.
    pub text: String,
}

/// One router of the pair.
pub struct Router {
    /// 0 = ha-R1, 1 = ha-R2.
    pub index: usize,
    /// Boot id of this incarnation.
    pub boot_id: u64,
    /// HSRP.
    pub speaker: Speaker,
    /// Redundancy manager.
    pub sso: Manager,
    /// Inspect engine (one shard).
    pub engine: Engine,
    /// HA session sync client.
    pub sync: HaSync,
    /// IPC association.
    pub assoc: Association,
    /// Virtual MACs this router currently owns, per LAN.
    pub owns_vmac: [bool; 2],
    /// How many times this router took each virtual MAC.
    pub vmac_installs: [u64; 2],
    /// Log.
    pub log: Vec<LogLine>,
    /// Every periodic/handshake update the engine emitted: (time, HA id).
    pub updates: Vec<(Instant, HaSessionId)>,
    /// RF state changes: (time, from, to).
    pub rf_changes: Vec<(Instant, sso::RfState, sso::RfState)>,
    /// HSRP state changes of the scheme group: (time, from, to).
    pub hsrp_changes: Vec<(Instant, State, State)>,
    /// Bulk reports of the sync client (standby side).
    pub bulk_reports: Vec<(Instant, inspect::ha::BulkReport)>,
    /// Times `Resign` was carried out.
    pub resigns: u64,
    /// When the association last refused a sync batch (retried [`SEND_RETRY`] later, as the daemon does).
    sync_blocked_since: Option<Instant>,
    out: Vec<Wire>,
}

fn hsrp_role(s: State) -> HsrpRole {
    match s {
        State::Active => HsrpRole::Active,
        State::Standby => HsrpRole::Standby,
        State::Init => HsrpRole::Other(OtherHsrpState::Init),
        State::Learn => HsrpRole::Other(OtherHsrpState::Learn),
        State::Listen => HsrpRole::Other(OtherHsrpState::Listen),
        State::Speak => HsrpRole::Other(OtherHsrpState::Speak),
    }
}

fn lan_of(iface: &str) -> Option<usize> {
    match iface {
        INSIDE => Some(0),
        OUTSIDE => Some(1),
        _ => None,
    }
}

impl Router {
    /// Powers router `index` on at `now` (a fresh process: every core new, `boot_id` new).
    pub fn boot(cfg: &PairConfig, index: usize, boot_id: u64, now: Instant) -> Self {
        let speaker = Speaker::new(hsrp_interfaces(cfg, index))
            .unwrap_or_else(|e| panic!("HSRP configuration refused: {e}"));
        let mut sso = Manager::new(
            SsoConfig::new(SCHEME, "iosha 0.1.0", boot_id),
            summary(cfg, index),
            now,
        );
        sso.register_client(now, sso::ClientId::FIREWALL_HA, "FW HA");
        let engine = Engine::new(engine_config(cfg, index), cfg.seed ^ boot_id);
        let mut sync = HaSync::new(SyncRole::Standby, cfg.sync);
        // The association is not up yet: the sync client waits for the IPC `Up`.
        sync.handle_link_down(now);
        let mut assoc = Association::new(association(cfg, index), boot_id);
        assoc.set_transport_name("in-memory");
        assoc.start(now);
        let mut r = Self {
            index,
            boot_id,
            speaker,
            sso,
            engine,
            sync,
            assoc,
            owns_vmac: [false; 2],
            vmac_installs: [0; 2],
            log: Vec::new(),
            updates: Vec::new(),
            rf_changes: Vec::new(),
            hsrp_changes: Vec::new(),
            bulk_reports: Vec::new(),
            resigns: 0,
            sync_blocked_since: None,
            out: Vec::new(),
        };
        r.speaker.handle_start(now);
        r.pump(now);
        r
    }

    fn note(&mut self, at: Instant, text: String) {
        self.log.push(LogLine { at, text });
    }

    /// Whether any log line contains `needle`.
    pub fn logged(&self, needle: &str) -> bool {
        self.log.iter().any(|l| l.text.contains(needle))
    }

    /// Whether a log line at or after `at` contains `needle`.
    pub fn logged_since(&self, at: Instant, needle: &str) -> bool {
        self.log.iter().any(|l| l.at >= at && l.text.contains(needle))
    }

    /// Takes what the router put on the wires since the last call.
    pub fn take_wire(&mut self) -> Vec<Wire> {
        std::mem::take(&mut self.out)
    }

    /// The earliest deadline of every core.
    pub fn poll_timeout(&self) -> Option<Instant> {
        [
            self.speaker.poll_timeout(),
            self.sso.poll_timeout(),
            self.engine.poll_timeout(),
            self.sync.poll_timeout(),
            self.assoc_deadline(),
            self.sync_blocked_since.map(|t| t + SEND_RETRY),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// The association's deadline (`Association::poll_timeout` rounds the SCTP stack's nanosecond
    /// deadlines up to the next microsecond, so the timer is due at the reported instant).
    fn assoc_deadline(&self) -> Option<Instant> {
        self.assoc.poll_timeout()
    }

    /// Every core's next deadline, by name (for livelock reports).
    pub fn deadlines(&self) -> String {
        format!(
            "hsrp {:?}, sso {:?}, engine {:?}, sync {:?} (queue {}, bulk {}), assoc {:?}, send retry {:?}",
            self.speaker.poll_timeout(),
            self.sso.poll_timeout(),
            self.engine.poll_timeout(),
            self.sync.poll_timeout(),
            self.sync.queue_depth(),
            self.sync.bulk_in_progress(),
            self.assoc.poll_timeout(),
            self.sync_blocked_since.map(|t| t + SEND_RETRY),
        )
    }

    /// Fires every core whose deadline is due, then carries out the outputs.
    pub fn handle_timeout(&mut self, now: Instant) {
        let due = |t: Option<Instant>| t.is_some_and(|t| t <= now);
        if due(self.speaker.poll_timeout()) {
            self.speaker.handle_timeout(now);
        }
        if due(self.sso.poll_timeout()) {
            self.sso.handle_timeout(now);
        }
        if due(self.engine.poll_timeout()) {
            self.engine.handle_timeout(now);
        }
        if due(self.sync.poll_timeout()) {
            self.sync.handle_timeout(now, &self.engine);
        }
        if due(self.assoc_deadline()) {
            self.assoc.handle_timeout(now);
        }
        if due(self.sync_blocked_since.map(|t| t + SEND_RETRY)) {
            self.sync_blocked_since = None;
            self.sync.handle_send_ready(now);
        }
        self.pump(now);
    }

    /// An HSRP datagram from `src` arrived on LAN `lan`.
    pub fn handle_lan(&mut self, now: Instant, lan: usize, src: std::net::Ipv4Addr, bytes: &[u8]) {
        let iface = if lan == 0 { INSIDE } else { OUTSIDE };
        self.speaker.handle_packet(now, iface, src, 1, bytes);
        self.pump(now);
    }

    /// An SCTP packet arrived on IPC address pair `path`.
    pub fn handle_ipc(&mut self, now: Instant, path: usize, packet: &[u8]) {
        self.assoc.handle_packet(now, path, packet);
        self.pump(now);
    }

    /// A forwarded packet from interface `ingress` to `egress`, judged by the engine.
    pub fn forward(&mut self, now: Instant, packet: &[u8], ingress: u16, egress: u16) -> inspect::Verdict {
        let v = self.engine.process(now, packet, Some(ingress), Some(egress));
        self.pump(now);
        v
    }

    /// Planned HSRP resign. The `Speaker` has no resign input, so this stops every group (which sends
    /// Resign for an Active group and gives up the virtual addresses) and starts them again (`standby
    /// delay minimum` applies, as after a link flap).
    fn resign(&mut self, now: Instant) {
        self.resigns += 1;
        self.speaker.handle_shutdown(now);
        self.speaker.handle_start(now);
    }

    fn hold(&mut self, now: Instant, held: bool, reason: &str) {
        let reason = held.then(|| reason.to_owned());
        for name in [SCHEME, OUTSIDE_GROUP] {
            self.speaker
                .set_preempt_hold(now, &GroupSelector::Name(name.into()), reason.clone());
        }
    }

    fn client_notice(&mut self, now: Instant, notice: ClientNotice) {
        match notice {
            ClientNotice::BecomeActive => {
                self.engine.set_ha_role(now, HaRole::Active);
                self.sync.set_role(now, SyncRole::Active);
            }
            ClientNotice::BecomeStandby => {
                self.engine.set_ha_role(now, HaRole::Standby);
                self.sync.set_role(now, SyncRole::Standby);
            }
            // A bulk already under way (the sync client asks for one by itself when the association comes
            // up or it becomes a standby) answers this request too.
            ClientNotice::StartBulkSync if !self.sync.bulk_in_progress() => self.sync.request_bulk(now),
            // HA reload (an Active that relinquished) or `clear ip inspect ha sessions-all`: start from
            // nothing, as a standby, and pull a fresh bulk.
            ClientNotice::Flush => {
                self.engine.clear_ha_sessions();
                self.engine.set_ha_role(now, HaRole::Standby);
                if self.sync.role() == SyncRole::Standby {
                    self.sync.request_bulk(now);
                } else {
                    self.sync.set_role(now, SyncRole::Standby);
                }
            }
            _ => {}
        }
    }

    fn send_sync_batch(&mut self, now: Instant, batch: Vec<u8>) {
        match self
            .assoc
            .send(now, IpcClient::INSPECT, MessageKind::INSPECT_SYNC, batch.clone())
        {
            Ok(()) => {}
            Err(SendError::QueueFull) => {
                self.sync.handle_send_blocked(now, batch);
                self.sync_blocked_since = Some(now);
            }
            // Not connected: the IPC `Down` that follows (or preceded) resets the sync client.
            Err(_) => {}
        }
    }

    fn ipc_event(&mut self, now: Instant, e: IpcEvent) {
        match e {
            IpcEvent::Up { peer_restarted } => {
                self.note(now, format!("IPC up (peer restarted: {peer_restarted})"));
                self.sso.handle_link(now, true, peer_restarted);
                self.sync.handle_link_up(now);
            }
            IpcEvent::Down { reason } => {
                self.note(now, format!("IPC down: {reason}"));
                self.sso.handle_link(now, false, false);
                self.sync.handle_link_down(now);
                self.sync_blocked_since = None;
            }
            IpcEvent::Message { client, payload, .. } => {
                if client == IpcClient::RF {
                    self.sso.handle_peer_message(now, &payload);
                } else if client == IpcClient::INSPECT {
                    self.sync.handle_message(now, &payload, &mut self.engine);
                }
            }
        }
    }

    /// Carries out every output of every core until none is left.
    pub fn pump(&mut self, now: Instant) {
        for _round in 0..10_000 {
            let mut busy = false;
            while let Some(a) = self.speaker.poll_action() {
                busy = true;
                match a {
                    HsrpAction::Send { iface, bytes, .. } => {
                        if let Some(lan) = lan_of(&iface) {
                            self.out.push(Wire::Lan { lan, bytes });
                        }
                    }
                    HsrpAction::InstallVirtual { iface, .. } => {
                        if let Some(lan) = lan_of(&iface) {
                            self.owns_vmac[lan] = true;
                            self.vmac_installs[lan] += 1;
                        }
                    }
                    HsrpAction::RemoveVirtual { iface, .. } => {
                        if let Some(lan) = lan_of(&iface) {
                            self.owns_vmac[lan] = false;
                        }
                    }
                    HsrpAction::StateChanged {
                        iface,
                        group,
                        name,
                        from,
                        to,
                        reason,
                    } => {
                        self.note(
                            now,
                            format!(
                                "%HSRP-5-STATECHANGE: {iface} Grp {group} state {from} -> {to} ({reason})"
                            ),
                        );
                        if name.as_deref() == Some(SCHEME) {
                            self.hsrp_changes.push((now, from, to));
                            self.sso.handle_hsrp_role(now, hsrp_role(to));
                        }
                    }
                    _ => {}
                }
            }
            while let Some(a) = self.sso.poll_action() {
                busy = true;
                match a {
                    SsoAction::SendPeer(bytes) => {
                        // Refused only while the association is down; the manager repeats its state.
                        let _ = self
                            .assoc
                            .send(now, IpcClient::RF, MessageKind::RF_CONTROL, bytes);
                    }
                    SsoAction::Client(_, notice) => self.client_notice(now, notice),
                    SsoAction::HoldPreempt { held, reason } => self.hold(now, held, &reason),
                    SsoAction::Resign => self.resign(now),
                    SsoAction::StateChanged { from, to, reason } => {
                        self.rf_changes.push((now, from, to));
                        self.note(now, format!("RF {from} -> {to}: {reason}"));
                    }
                    SsoAction::Log(line) => self.note(now, line),
                    _ => {}
                }
            }
            while let Some(ev) = self.engine.poll_event() {
                busy = true;
                if let EngineEvent::HaUpdate(rec) = &ev {
                    self.updates.push((now, rec.id));
                }
                if !feed_engine_event(&mut self.sync, now, &ev)
                    && let EngineEvent::Audit(line) = ev
                {
                    self.note(now, line.text);
                }
            }
            while let Some(a) = self.sync.poll_action() {
                busy = true;
                match a {
                    SyncAction::Send(batch) => self.send_sync_batch(now, batch),
                    SyncAction::BulkComplete(report) => {
                        self.bulk_reports.push((now, report));
                        self.sso.handle_client(
                            now,
                            sso::ClientId::FIREWALL_HA,
                            ClientReport::BulkDone {
                                sessions: report.sessions,
                                ok: report.ok,
                            },
                        );
                    }
                    SyncAction::Notice(n) => {
                        if let SyncNotice::BulkRequested(
                            why @ (ResyncReason::Gap
                            | ResyncReason::DecodeError
                            | ResyncReason::Mismatch
                            | ResyncReason::Timeout),
                        ) = n
                            && self.sso.my_state() == sso::RfState::StandbyHot
                        {
                            self.sso.handle_client(
                                now,
                                sso::ClientId::FIREWALL_HA,
                                ClientReport::ResyncNeeded {
                                    reason: format!("{why:?}"),
                                },
                            );
                        }
                        self.note(now, format!("debug ip inspect ha: {n:?}"));
                    }
                }
            }
            while let Some(a) = self.assoc.poll_action() {
                busy = true;
                match a {
                    IpcAction::Transmit { path, packet } => self.out.push(Wire::Ipc { path, packet }),
                    IpcAction::Event(e) => self.ipc_event(now, e),
                    IpcAction::Notice(n) => self.note(now, format!("ipc: {n:?}")),
                }
            }
            if !busy {
                return;
            }
        }
        panic!(
            "router {} does not settle at {now:?} (livelock between its cores)",
            self.index
        );
    }
}
