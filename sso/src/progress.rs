//! The RF progression: which event the current situation calls for, the single state-change function that
//! applies a row of [`crate::rf::TRANSITIONS`] with its side effects, client bulk servicing, the preemption
//! hold, the configuration check and dual-ACTIVE detection. Run after every input.

use timebase::Instant;

use crate::client::{BulkState, ClientNotice};
use crate::config::{ClientId, HsrpRole};
use crate::history::Changed;
use crate::manager::{Action, Manager};
use crate::mismatch;
use crate::rf::{self, RfEvent, RfState};

/// Upper bound on transitions per input (the longest chain is well below it); guards against a table bug.
const MAX_STEPS: usize = 32;

impl Manager {
    /// Everything that follows an input: progression, bulk servicing, preemption hold, checks.
    pub(crate) fn after_input(&mut self, now: Instant) {
        for _ in 0..MAX_STEPS {
            let Some((event, reason)) = self.derive_event() else {
                break;
            };
            if !self.change_state(now, event, reason) {
                break;
            }
        }
        self.service_bulk(now);
        // Bulk servicing may have completed the progression (no clients): run it once more.
        for _ in 0..MAX_STEPS {
            let Some((event, reason)) = self.derive_event() else {
                break;
            };
            if !self.change_state(now, event, reason) {
                break;
            }
        }
        if self.startup_hold_until.is_some_and(|t| now >= t) {
            self.startup_hold_until = None;
        }
        self.update_preempt_hold();
        self.check_dual_active(now);
        if self
            .resigning
            .is_some_and(|t| now >= t + self.cfg.switchover_notice_validity)
        {
            self.resigning = None;
        }
        if self
            .planned_notice
            .as_ref()
            .is_some_and(|(t, _)| now >= *t + self.cfg.switchover_notice_validity)
        {
            self.planned_notice = None;
        }
    }

    fn peer_is_active(&self) -> bool {
        self.comm_up && self.peer_state() == RfState::Active
    }

    fn config_exchanged(&self) -> bool {
        self.peer.as_ref().is_some_and(|p| {
            p.seen_digest == self.my_digest && p.summary.as_ref().is_some_and(|(_, d)| *d == p.digest)
        })
    }

    /// The event the current situation calls for, with its reason.
    pub(crate) fn derive_event(&self) -> Option<(RfEvent, String)> {
        let s = self.my_state;
        let hsrp_active = self.hsrp_role == HsrpRole::Active;
        if s == RfState::Disabled {
            return None;
        }
        if s.is_active_family() {
            if !hsrp_active {
                return Some((RfEvent::Relinquish, self.relinquish_reason()));
            }
            if s != RfState::Active {
                return Some((RfEvent::ActiveStep, "ACTIVE progression".into()));
            }
            return None;
        }
        if hsrp_active {
            return Some((
                RfEvent::HsrpActive,
                format!("HSRP group {} is Active", self.cfg.scheme_group),
            ));
        }
        let lost = || self.last_peer_loss.clone().unwrap_or_else(|| "no peer".into());
        match s {
            RfState::Initialization => self
                .comm_up
                .then(|| (RfEvent::PeerComm, "peer communication up".into())),
            RfState::Negotiation => {
                if !self.comm_up {
                    Some((RfEvent::PeerLost, lost()))
                } else if self.peer_is_active() {
                    Some((RfEvent::PeerIsActive, "peer is ACTIVE".into()))
                } else {
                    None
                }
            }
            _ if s.is_standby_family() => {
                if !self.comm_up {
                    return Some((RfEvent::PeerLost, lost()));
                }
                if !self.peer_is_active() {
                    return Some((
                        RfEvent::PeerNotActive,
                        format!("peer left ACTIVE ({})", self.peer_state()),
                    ));
                }
                match s {
                    RfState::StandbyColdBulk => self
                        .clients
                        .values()
                        .all(|c| c.is_done())
                        .then(|| (RfEvent::BulkComplete, self.bulk_summary())),
                    RfState::StandbyHot => self.clients.values().find(|c| !c.is_done()).map(|c| {
                        (
                            RfEvent::Resync,
                            format!("client {} ({}) needs a bulk sync", c.name, c.id),
                        )
                    }),
                    _ => self.config_exchanged().then(|| {
                        (
                            RfEvent::ConfigExchanged,
                            "configuration summaries exchanged".into(),
                        )
                    }),
                }
            }
            _ => None,
        }
    }

    fn bulk_summary(&self) -> String {
        if self.clients.is_empty() {
            return "no clients to synchronize".into();
        }
        let parts: Vec<String> = self
            .clients
            .values()
            .map(|c| match c.bulk {
                BulkState::Done { sessions, .. } => format!("{} {sessions}", c.name),
                _ => c.name.clone(),
            })
            .collect();
        format!("bulk sync done ({})", parts.join(", "))
    }

    fn relinquish_reason(&self) -> String {
        if self.resigning.is_some() {
            "Active relinquished (planned switchover)".into()
        } else if self.comm_up && self.peer_state().is_active_family() {
            format!(
                "Active relinquished (HSRP {}: the peer is ACTIVE, dual-active resolved)",
                self.hsrp_role
            )
        } else {
            format!("Active relinquished (HSRP state {})", self.hsrp_role)
        }
    }

    fn takeover_reason(&self, now: Instant) -> String {
        if let Some((at, why)) = &self.planned_notice
            && now < *at + self.cfg.switchover_notice_validity
        {
            return format!("planned switchover requested on the peer ({why})");
        }
        if !self.comm_up {
            let why = self
                .last_peer_loss
                .clone()
                .unwrap_or_else(|| "no communication".into());
            return format!("active peer lost: {why}");
        }
        let p = self.peer_state();
        if p != RfState::Active {
            return format!("active peer left ACTIVE ({p})");
        }
        "HSRP elected this unit while the peer was ACTIVE".into()
    }

    /// The one state-change function: applies the table row for (current state, `event`) if there is one,
    /// records it, and runs the entry side effects. Returns whether the state changed.
    pub(crate) fn change_state(&mut self, now: Instant, event: RfEvent, reason: String) -> bool {
        let from = self.my_state;
        let Some(to) = rf::next_state(from, event) else {
            return false;
        };
        // Side effects that must precede the change.
        match event {
            RfEvent::Relinquish => {
                self.log(format!("%RF-5-RF_RELOAD: Self reload. Reason: {reason}"));
                self.switchover_count += 1;
                self.last_switchover_reason = Some(reason.clone());
                self.last_switchover_at = Some(now);
                self.resigning = None;
                self.standby_data = None;
                self.notify_all(&ClientNotice::Flush);
                for c in self.clients.values_mut() {
                    c.bulk = BulkState::Idle;
                }
            }
            RfEvent::HsrpActive => {
                if let Some(data) = self.standby_data.take() {
                    let why = self.takeover_reason(now);
                    self.switchover_count += 1;
                    self.last_switchover_reason = Some(format!("{why}; took over from {data}"));
                    self.last_switchover_at = Some(now);
                    self.log(format!("%RF-5-SWITCHOVER: Becoming ACTIVE: {why}"));
                    if data != RfState::StandbyHot {
                        self.log(format!(
                            "%RF-4-TAKEOVER_NOT_HOT: Taking over from {data}: the HA state was not fully \
                             synchronized"
                        ));
                    }
                }
                self.planned_notice = None;
            }
            _ => {}
        }
        self.my_state = to;
        self.my_state_since = now;
        self.push_history(now, Changed::Mine, reason.clone());
        self.debug(format!("RF: {from} -> {to} on {event:?}: {reason}"));
        self.actions.push_back(Action::StateChanged { from, to, reason });
        // Entry side effects.
        if to == RfState::Initialization && matches!(event, RfEvent::Enable | RfEvent::Relinquish) {
            self.startup_hold_until = Some(now + self.cfg.peer_dead_time());
        }
        match to {
            RfState::ActiveFast => self.notify_all(&ClientNotice::BecomeActive),
            RfState::StandbyCold => {
                for c in self.clients.values_mut() {
                    c.bulk = BulkState::Idle;
                }
                self.notify_all(&ClientNotice::BecomeStandby);
            }
            RfState::StandbyHot => {
                self.log("%RF-5-STANDBY_HOT: This unit is STANDBY HOT: ready to take over".into());
            }
            _ => {}
        }
        if to.is_standby_family() {
            // The latest standby state tells how complete the data are if this unit has to take over.
            self.standby_data = Some(to);
        }
        self.notify_all(&ClientNotice::Progress(to));
        self.send_state(now);
        self.check_config();
        true
    }

    /// In STANDBY COLD-BULK: ask every client that has not started (or must retry) for its bulk sync.
    fn service_bulk(&mut self, now: Instant) {
        if self.my_state != RfState::StandbyColdBulk {
            return;
        }
        let pending: Vec<ClientId> = self
            .clients
            .values()
            .filter(|c| c.bulk == BulkState::Idle)
            .map(|c| c.id)
            .collect();
        for id in pending {
            if let Some(c) = self.clients.get_mut(&id) {
                c.bulk = BulkState::Requested { since: now };
            }
            self.notify(id, ClientNotice::StartBulkSync);
        }
    }

    /// A unit that is not STANDBY HOT must not preempt a healthy ACTIVE peer.
    /// Right after start (or an HA reload) the peer may not be heard yet: preemption is also held for one
    /// peer-dead time in INITIALIZATION, so that HSRP cannot take over before SSO knows whether a healthy
    /// ACTIVE exists.
    fn update_preempt_hold(&mut self) {
        let s = self.my_state;
        let reason = if s != RfState::Disabled
            && s != RfState::StandbyHot
            && !s.is_active_family()
            && self.peer_is_active()
        {
            Some(format!(
                "SSO state {s}: the HA state is not synchronized with the ACTIVE peer yet"
            ))
        } else if let Some(peer_has) = self.peer_holds_state_we_lack() {
            Some(format!(
                "SSO state {s}: the peer ({peer_has}) holds HA state this unit lacks"
            ))
        } else if s == RfState::Initialization && !self.comm_up && self.startup_hold_until.is_some() {
            Some(format!(
                "SSO state {s}: waiting up to {} for the peer before allowing preemption",
                self.cfg.peer_dead_time()
            ))
        } else {
            None
        };
        let held = reason.is_some();
        if reason != self.preempt_hold {
            self.preempt_hold = reason.clone();
            self.actions.push_back(Action::HoldPreempt {
                held,
                reason: reason.unwrap_or_default(),
            });
        }
    }

    /// A unit without synchronized HA state (not STANDBY HOT or ACTIVE, and not a former STANDBY HOT whose
    /// peer just went away) must not displace a peer that has it: a STANDBY HOT or ACTIVE peer, or one whose
    /// scheme group is HSRP Standby or Active (a STANDBY HOT unit whose ACTIVE restarted drops to
    /// NEGOTIATION but keeps its copies and its HSRP role). Returns what the peer is, when that holds.
    fn peer_holds_state_we_lack(&self) -> Option<String> {
        let s = self.my_state;
        if s == RfState::Disabled
            || s == RfState::StandbyHot
            || s.is_active_family()
            || self.standby_data == Some(RfState::StandbyHot)
            || !self.comm_up
        {
            return None;
        }
        let peer = self.peer.as_ref()?;
        let role = HsrpRole::from_code(peer.hsrp_state);
        let rf_has = peer.state == RfState::StandbyHot || peer.state.is_active_family();
        let hsrp_has = matches!(role, Some(HsrpRole::Standby | HsrpRole::Active));
        (rf_has || hsrp_has).then(|| {
            let hsrp = role.map_or_else(
                || format!("unknown({})", peer.hsrp_state),
                |r| r.name().to_owned(),
            );
            format!("{}, HSRP {hsrp}", peer.state)
        })
    }

    fn check_dual_active(&mut self, now: Instant) {
        let dual = self.comm_up && self.my_state.is_active_family() && self.peer_state().is_active_family();
        if dual && !self.dual_active {
            self.log(
                "%RF-3-DUAL_ACTIVE: Both units are ACTIVE; HSRP elects one and the other reloads its HA state"
                    .into(),
            );
            self.push_history(now, Changed::Event, "dual ACTIVE detected".into());
        }
        self.dual_active = dual;
    }

    /// Compares the configuration summaries once the roles are known, logging new mismatches.
    pub(crate) fn check_config(&mut self) {
        let Some(peer) = self.peer.as_ref().filter(|_| self.comm_up) else {
            return;
        };
        let Some((peer_summary, _)) = &peer.summary else {
            return;
        };
        let found = if self.my_state.is_active_family() {
            mismatch::compare(&self.summary, peer_summary)
        } else if peer.state.is_active_family() {
            mismatch::compare(peer_summary, &self.summary)
        } else {
            return;
        };
        let messages: std::collections::BTreeSet<String> = found.iter().map(|m| m.message.clone()).collect();
        let new: Vec<String> = messages.difference(&self.logged_mismatches).cloned().collect();
        self.logged_mismatches = messages;
        self.mismatches = found;
        for line in new {
            self.log(line);
        }
    }
}
