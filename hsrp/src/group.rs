//! One standby group: timers, the peers it has heard, and the one state-change function that applies a
//! cell of the [`crate::fsm`] table.

use std::collections::VecDeque;
use std::net::Ipv4Addr;

use serde::{Deserialize, Serialize};
use timebase::{Duration, Instant};

use crate::config::{AuthConfig, DEFAULT_HELLO_MS, DEFAULT_HOLD_MS, GroupConfig, Version};
use crate::fsm::{Actions, Event, Next, cell};
use crate::packet::{
    self, DEFAULT_AUTH, GroupStateTlv, Md5Tlv, Opcode, Packet, State, V1Packet, V2Packet, V2Tlv, auth_field,
};
use crate::speaker::Action;

/// Per-group counters (the `counters` object of `show standby --json`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupCounters {
    /// Hellos received (authenticated, from others).
    pub hellos_in: u64,
    /// Hellos sent.
    pub hellos_out: u64,
    /// Coups received.
    pub coups_in: u64,
    /// Coups sent.
    pub coups_out: u64,
    /// Resigns received.
    pub resigns_in: u64,
    /// Resigns sent.
    pub resigns_out: u64,
    /// Packets that failed authentication.
    pub auth_failures: u64,
    /// Undecodable packets received on this group's interface.
    pub malformed: u64,
    /// Packets whose IP TTL was not 1.
    pub bad_ttl: u64,
    /// Our own packets looped back.
    pub from_self: u64,
    /// Packets with an opcode we do not know.
    pub unknown_opcode: u64,
    /// Packets with a state code we do not know.
    pub unknown_state: u64,
    /// Version 2 TLVs of unknown type.
    pub unknown_tlv: u64,
    /// Packets whose virtual IP differs from ours.
    pub vip_mismatch: u64,
}

/// A router heard on the LAN.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Peer {
    /// Its interface address.
    pub address: Ipv4Addr,
    /// Its advertised priority.
    pub priority: u32,
    /// When its entry expires (hold time after its last hello).
    pub expires: Instant,
}

/// Named timers of a group.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Timer {
    Hello = 0,
    Standby = 1,
    Active = 2,
    Preempt = 3,
    StartDelay = 4,
}

impl Timer {
    // Standby before Active: when both expire together in Speak, the router first becomes Standby and
    // then takes over (RFC startup path with no other router). Hello last, so that a hello due at the
    // same instant carries the new state.
    const ALL: [Self; 5] = [
        Self::StartDelay,
        Self::Standby,
        Self::Active,
        Self::Hello,
        Self::Preempt,
    ];
}

/// A received message, reduced to what the state machine needs.
#[derive(Clone, Debug)]
pub(crate) struct Heard {
    pub(crate) src: Ipv4Addr,
    pub(crate) opcode: Opcode,
    pub(crate) state: State,
    pub(crate) priority: u32,
    pub(crate) hello_ms: u32,
    pub(crate) hold_ms: u32,
    pub(crate) vip: Ipv4Addr,
}

/// Why a group sits in Init.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum InitReason {
    NotStarted,
    InterfaceDown,
    Delay,
    /// A tracked object with `shutdown` is down.
    TrackShutdown,
}

/// One standby group on one interface.
#[derive(Debug)]
pub struct Group {
    pub(crate) cfg: GroupConfig,
    pub(crate) iface: String,
    pub(crate) iface_addr: Ipv4Addr,
    pub(crate) iface_mac: [u8; 6],
    pub(crate) state: State,
    pub(crate) init_reason: InitReason,
    timers: [Option<Instant>; 5],
    learned_timers: Option<(u32, u32)>,
    learned_vip: Option<Ipv4Addr>,
    pub(crate) active: Option<Peer>,
    pub(crate) standby: Option<Peer>,
    pub(crate) state_changes: u64,
    pub(crate) last_change: Option<Instant>,
    pub(crate) last_reason: String,
    up_since: Option<Instant>,
    started_before: bool,
    pub(crate) preempt_hold: Option<String>,
    hold_since: Option<Instant>,
    /// When this group last resigned on request ([`Group::resign`]): no preemption for one hold time.
    resigned_at: Option<Instant>,
    /// Down/up state of each tracked interface, parallel to `cfg.track`.
    pub(crate) track_down: Vec<bool>,
    /// Down/up state of each tracked object, parallel to `cfg.track_objects`.
    pub(crate) object_down: Vec<bool>,
    pub(crate) counters: GroupCounters,
}

impl Group {
    pub(crate) fn new(cfg: GroupConfig, iface: String, iface_addr: Ipv4Addr, iface_mac: [u8; 6]) -> Self {
        let track_down = vec![false; cfg.track.len()];
        let object_down = vec![false; cfg.track_objects.len()];
        Self {
            cfg,
            iface,
            iface_addr,
            iface_mac,
            state: State::Init,
            init_reason: InitReason::NotStarted,
            timers: [None; 5],
            learned_timers: None,
            learned_vip: None,
            active: None,
            standby: None,
            state_changes: 0,
            last_change: None,
            last_reason: String::new(),
            up_since: None,
            started_before: false,
            preempt_hold: None,
            resigned_at: None,
            hold_since: None,
            track_down,
            object_down,
            counters: GroupCounters::default(),
        }
    }

    // ===== derived values =====

    /// Effective priority: configured minus the decrements of down tracked interfaces, floor 0.
    pub fn priority(&self) -> u8 {
        let dec: u32 = self
            .cfg
            .track
            .iter()
            .zip(&self.track_down)
            .filter(|(_, d)| **d)
            .map(|(t, _)| u32::from(t.decrement))
            .sum::<u32>()
            + crate::track_group::object_decrement(self);
        u8::try_from(u32::from(self.cfg.priority).saturating_sub(dec)).unwrap_or(0)
    }

    /// (hello, hold) in ms: configured, else learned, else defaults.
    pub fn timers_ms(&self) -> (u32, u32) {
        match (self.cfg.timers, self.learned_timers) {
            (Some(t), _) => (t.hello_ms, t.hold_ms),
            (None, Some(l)) => l,
            (None, None) => (DEFAULT_HELLO_MS, DEFAULT_HOLD_MS),
        }
    }

    /// The hold time a received message asks for. Version 1 carries whole seconds, so a message whose
    /// hold equals our configured hold rounded up to seconds is taken to mean our (millisecond) hold.
    fn message_hold(&self, m: &Heard) -> Duration {
        let local = self.timers_ms().1;
        if self.cfg.version == Version::V1
            && self.cfg.timers.is_some()
            && m.hold_ms == local.div_ceil(1000) * 1000
        {
            Duration::from_millis(u64::from(local))
        } else {
            Duration::from_millis(u64::from(m.hold_ms))
        }
    }

    fn hold(&self) -> Duration {
        Duration::from_millis(u64::from(self.timers_ms().1))
    }

    /// The virtual IP in use (configured or learned).
    pub fn virtual_ip(&self) -> Option<Ipv4Addr> {
        self.cfg.virtual_ip.or(self.learned_vip)
    }

    /// Every virtual IP (primary first, then secondaries).
    pub fn virtual_ips(&self) -> Vec<Ipv4Addr> {
        self.virtual_ip()
            .into_iter()
            .chain(self.cfg.secondary_ips.iter().copied())
            .collect()
    }

    /// The virtual MAC: `mac-address`, else the interface MAC with `use-bia`, else the version default.
    pub fn virtual_mac(&self) -> [u8; 6] {
        if let Some(m) = self.cfg.mac_address {
            m
        } else if self.cfg.use_bia {
            self.iface_mac
        } else {
            self.cfg.version.virtual_mac(self.cfg.group)
        }
    }

    /// Whether `(prio, addr)` beats ours (priority first, then the higher IP).
    fn is_higher(&self, prio: u32, addr: Ipv4Addr) -> bool {
        (prio, addr) > (u32::from(self.priority()), self.iface_addr)
    }

    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        self.timers.iter().flatten().min().copied()
    }

    pub(crate) fn timer(&self, t: Timer) -> Option<Instant> {
        self.timers[t as usize]
    }

    fn arm(&mut self, t: Timer, at: Instant) {
        self.timers[t as usize] = Some(at);
    }

    fn stop(&mut self, t: Timer) {
        self.timers[t as usize] = None;
    }

    // ===== inputs =====

    /// The interface came up (or the speaker started with it up).
    pub(crate) fn link_up(&mut self, now: Instant, delay_s: Option<u32>, out: &mut VecDeque<Action>) {
        if self.state != State::Init {
            return;
        }
        if self.shut_by_track() {
            self.init_reason = InitReason::TrackShutdown;
            return;
        }
        match delay_s {
            Some(s) if s > 0 => {
                self.init_reason = InitReason::Delay;
                self.arm(Timer::StartDelay, now + Duration::from_secs(u64::from(s)));
            }
            _ => self.apply(now, Event::Enabled, None, "interface up", out),
        }
    }

    /// The interface went down.
    pub(crate) fn link_down(&mut self, now: Instant, out: &mut VecDeque<Action>) {
        self.stop(Timer::StartDelay);
        if self.state != State::Init {
            self.apply(now, Event::Disabled, None, "interface down", out);
        }
        self.init_reason = InitReason::InterfaceDown;
    }

    /// Tracked interface state changed; re-evaluates preemption.
    pub(crate) fn set_tracked(&mut self, idx: usize, down: bool) {
        if let Some(d) = self.track_down.get_mut(idx) {
            *d = down;
        }
    }

    pub(crate) fn set_preempt_hold(&mut self, now: Instant, reason: Option<String>) {
        if reason.is_some() && self.preempt_hold.is_none() {
            self.hold_since = Some(now);
        }
        if reason.is_none() {
            self.hold_since = None;
        }
        self.preempt_hold = reason;
    }

    /// Checks authentication of a decoded packet against our configuration.
    pub(crate) fn authentic(&self, p: &Packet) -> bool {
        match (&self.cfg.auth, p) {
            (AuthConfig::Text(t), Packet::V1(v)) => v.md5.is_none() && v.auth_data == auth_field(t),
            (AuthConfig::Text(t), Packet::V2(v)) => {
                v.md5().is_none() && v.text_auth().copied().unwrap_or(DEFAULT_AUTH) == auth_field(t)
            }
            (AuthConfig::Md5 { key, .. }, p) => packet::verify(p, key.as_bytes()),
            (_, Packet::Advertise(_)) => false,
        }
    }

    /// A decoded, authenticated message for this group from another router.
    pub(crate) fn handle_heard(&mut self, now: Instant, m: &Heard, out: &mut VecDeque<Action>) {
        if self.state == State::Init {
            return;
        }
        if let Some(v) = self.virtual_ip()
            && m.vip != v
            && !m.vip.is_unspecified()
        {
            self.counters.vip_mismatch += 1;
        }
        let higher = self.is_higher(m.priority, m.src);
        let expires = now + self.message_hold(m);
        let peer = Peer {
            address: m.src,
            priority: m.priority,
            expires,
        };
        let event = match m.opcode {
            Opcode::HELLO => {
                self.counters.hellos_in += 1;
                match m.state {
                    State::Active => {
                        // While Active ourselves, a lower Active is a conflict we win (h: Coup), not
                        // "the Active router"; a higher one (g) is, and we step down.
                        if self.state != State::Active || higher {
                            self.active = Some(peer);
                        }
                        if self.standby.is_some_and(|s| s.address == m.src) {
                            self.standby = None;
                        }
                        Some(if higher {
                            Event::HigherActiveHello
                        } else {
                            Event::LowerActiveHello
                        })
                    }
                    State::Standby => {
                        self.standby = Some(peer);
                        if self.active.is_some_and(|a| a.address == m.src) {
                            self.active = None;
                        }
                        Some(if higher {
                            Event::HigherStandbyHello
                        } else {
                            Event::LowerStandbyHello
                        })
                    }
                    State::Speak if higher => Some(Event::HigherSpeakHello),
                    _ => None,
                }
            }
            Opcode::COUP => {
                self.counters.coups_in += 1;
                higher.then_some(Event::HigherCoup)
            }
            Opcode::RESIGN => {
                self.counters.resigns_in += 1;
                let from_active = self.active.is_some_and(|a| a.address == m.src) || m.state == State::Active;
                if from_active {
                    self.active = None;
                }
                from_active.then_some(Event::ActiveResigned)
            }
            _ => None,
        };
        if let Some(e) = event {
            let reason = format!("{} {}", e.describe(), m.src);
            self.apply(now, e, Some(m), &reason, out);
        }
        self.evaluate_preempt(now, out);
    }

    /// Fires every expired timer.
    pub(crate) fn handle_timeout(&mut self, now: Instant, out: &mut VecDeque<Action>) {
        for t in Timer::ALL {
            let Some(at) = self.timer(t) else { continue };
            if at > now {
                continue;
            }
            self.stop(t);
            match t {
                Timer::StartDelay => {
                    if self.init_reason == InitReason::Delay && self.shut_by_track() {
                        self.init_reason = InitReason::TrackShutdown;
                    } else if self.init_reason == InitReason::Delay {
                        self.apply(now, Event::Enabled, None, "delay expired", out);
                    }
                }
                Timer::Hello => self.apply(now, Event::HelloTimerExpired, None, "", out),
                Timer::Standby => {
                    self.standby = None;
                    self.apply(
                        now,
                        Event::StandbyTimerExpired,
                        None,
                        "standby timer expired",
                        out,
                    );
                }
                Timer::Active => {
                    self.active = None;
                    self.apply(now, Event::ActiveTimerExpired, None, "active timer expired", out);
                }
                Timer::Preempt => {}
            }
        }
        // Peers whose hold time passed are forgotten even when no timer of ours tracks them.
        if self.active.is_some_and(|a| a.expires <= now) {
            self.active = None;
        }
        if self.standby.is_some_and(|s| s.expires <= now) {
            self.standby = None;
        }
        self.evaluate_preempt(now, out);
    }

    /// Re-evaluates preemption after a priority change, hold change or timer.
    pub(crate) fn evaluate_preempt(&mut self, now: Instant, out: &mut VecDeque<Action>) {
        match self.preempt_due() {
            Some(at) if at <= now => {
                self.stop(Timer::Preempt);
                let reason = format!(
                    "preempt, priority {} over {}",
                    self.priority(),
                    self.active.map(|a| a.priority).unwrap_or(0)
                );
                self.apply(now, Event::Preempt, None, &reason, out);
            }
            Some(at) => self.arm(Timer::Preempt, at),
            None => self.stop(Timer::Preempt),
        }
    }

    /// When preemption may happen, or None when it cannot (not configured, not lower active, held).
    fn preempt_due(&self) -> Option<Instant> {
        let p = self.cfg.preempt?;
        if !matches!(self.state, State::Listen | State::Speak | State::Standby) {
            return None;
        }
        let active = self.active?;
        // Equal priorities never preempt: only a strictly higher priority does.
        if u32::from(self.priority()) <= active.priority {
            return None;
        }
        let up = self.up_since?;
        let delay_s = if self.started_before_first_up() {
            p.reload_s.unwrap_or(p.minimum_s)
        } else {
            p.minimum_s
        };
        let mut due = up + Duration::from_secs(u64::from(delay_s));
        if let Some(at) = self.resigned_at {
            // A requested resign must not be undone by our own preemption a moment later.
            due = due.max(at + self.hold());
        }
        if self.preempt_hold.is_some() {
            let since = self.hold_since?;
            let sync = p.sync_s?;
            due = due.max(since + Duration::from_secs(u64::from(sync)));
        }
        Some(due)
    }

    /// Gives up the Active role on request (planned switchover): send Resign, become Speak (the Standby
    /// router takes over on the Resign), and do not preempt back for one hold time. Returns whether this
    /// group was Active.
    pub(crate) fn resign(&mut self, now: Instant, out: &mut VecDeque<Action>) -> bool {
        if self.state != State::Active {
            return false;
        }
        self.resigned_at = Some(now);
        // The Standby router is about to become Active: our record of it as Standby is stale (and would
        // keep a redundancy-held group out of the Standby role for a hold time).
        self.standby = None;
        // The Active column of event j (Coup from a higher priority) is exactly a resign: start the Active
        // and Standby timers, send Resign, go to Speak.
        self.apply(now, Event::HigherCoup, None, "resigned on request", out);
        self.evaluate_preempt(now, out);
        true
    }

    /// Gray-failure rule: this router was not driven at all (process stopped, host frozen) for longer than
    /// the hold time while it was Active next to a known Standby router. That router has taken over by now,
    /// so our Active role is stale: step down (Resign, Speak, no preemption for one hold time) instead of
    /// fighting for the group with a session table that stopped when we did. Returns true when it did.
    pub(crate) fn step_down_after_stall(
        &mut self,
        now: Instant,
        stalled: Duration,
        out: &mut VecDeque<Action>,
    ) -> bool {
        if self.state != State::Active || self.standby.is_none() || stalled <= self.hold() {
            return false;
        }
        self.resigned_at = Some(now);
        self.standby = None;
        self.apply(
            now,
            Event::HigherCoup,
            None,
            "stale Active after a stall longer than the hold time",
            out,
        );
        true
    }

    /// Whether the redundancy hold is in force (set, and not past `preempt delay sync` when configured).
    fn hold_in_force(&self, now: Instant) -> bool {
        if self.preempt_hold.is_none() {
            return false;
        }
        match (self.cfg.preempt.and_then(|p| p.sync_s), self.hold_since) {
            (Some(sync), Some(since)) => now < since + Duration::from_secs(u64::from(sync)),
            _ => true,
        }
    }

    /// While held, a group must not take the Standby role from another router that has it (a lone group,
    /// or one with only an Active around, still joins the election normally).
    pub(crate) fn must_not_claim_standby(&self, now: Instant) -> bool {
        self.hold_in_force(now)
            && self
                .standby
                .is_some_and(|s| s.address != self.iface_addr && s.expires > now)
    }

    /// A hold that starts while this group speaks next to a Standby router: step back to Listen at once
    /// (our Speak hellos would push the Standby router out).
    pub(crate) fn enforce_hold(&mut self, now: Instant, out: &mut VecDeque<Action>) {
        if self.state == State::Speak && self.must_not_claim_standby(now) {
            self.change_state(
                now,
                State::Listen,
                "held by redundancy, not claiming the Standby role",
                out,
            );
        }
    }

    /// True while the group is in its first up period since the speaker started.
    fn started_before_first_up(&self) -> bool {
        !self.started_before
    }

    /// Why preemption is currently not happening (for `show`), if it is held.
    pub(crate) fn preempt_hold_reason(&self) -> Option<&str> {
        self.preempt_hold.as_deref()
    }

    // ===== the state-change function =====

    /// Applies the table cell for `event`: timer actions, learning, resign (old state), state change,
    /// then coup, hello and gratuitous ARP (new state).
    pub(crate) fn apply(
        &mut self,
        now: Instant,
        event: Event,
        m: Option<&Heard>,
        reason: &str,
        out: &mut VecDeque<Action>,
    ) {
        let cl = cell(self.state, event);
        let next = match cl.next {
            Next::Ignore => return,
            Next::Stay => self.state,
            Next::To(s) => s,
            Next::ListenOrLearn => {
                if self.virtual_ip().is_some() {
                    State::Listen
                } else {
                    State::Learn
                }
            }
        };
        let mut a = cl.actions;
        let mut next = next;
        let held_reason;
        let mut reason = reason;
        if self.must_not_claim_standby(now)
            && matches!(self.state, State::Listen | State::Speak)
            && matches!(next, State::Speak | State::Standby)
        {
            // Held by the redundancy manager while another router is Standby: stay out of the election
            // (Listen, timers running) instead of displacing the Standby router, which holds state we lack.
            next = State::Listen;
            if a.contains(Actions::STOP_STANDBY) {
                a = Actions::START_STANDBY;
            }
            held_reason = format!("{reason}; held by redundancy, not claiming the Standby role");
            reason = &held_reason;
        }
        if a.contains(Actions::LEARN)
            && let Some(m) = m
        {
            if self.cfg.timers.is_none() && m.hello_ms > 0 && m.hold_ms > m.hello_ms {
                self.learned_timers = Some((m.hello_ms, m.hold_ms));
            }
            if self.cfg.virtual_ip.is_none() && !m.vip.is_unspecified() {
                self.learned_vip = Some(m.vip);
            }
        }
        let local_hold = self.hold();
        let msg_hold = m.map(|m| self.message_hold(m)).filter(|d| *d > Duration::ZERO);
        if a.contains(Actions::STOP_ACTIVE) {
            self.stop(Timer::Active);
        }
        if a.contains(Actions::STOP_STANDBY) {
            self.stop(Timer::Standby);
        }
        if a.contains(Actions::START_ACTIVE) {
            let from_active = m.is_some_and(|m| m.state == State::Active && m.opcode == Opcode::HELLO);
            let d = if from_active {
                msg_hold.unwrap_or(local_hold)
            } else {
                local_hold
            };
            self.arm(Timer::Active, now + d);
        }
        if a.contains(Actions::START_STANDBY) {
            let from_standby = m.is_some_and(|m| m.state == State::Standby && m.opcode == Opcode::HELLO);
            let d = if from_standby {
                msg_hold.unwrap_or(local_hold)
            } else {
                local_hold
            };
            self.arm(Timer::Standby, now + d);
        }
        if a.contains(Actions::SEND_RESIGN) {
            self.send(now, Opcode::RESIGN, out);
        }
        if a.contains(Actions::SEND_COUP) {
            self.send(now, Opcode::COUP, out);
        }
        let from = self.state;
        if next != from {
            self.change_state(now, next, reason, out);
        }
        if a.contains(Actions::SEND_HELLO) {
            self.send(now, Opcode::HELLO, out);
        }
        if a.contains(Actions::GRATUITOUS_ARP) {
            out.push_back(Action::GratuitousArp {
                iface: self.iface.clone(),
                group: self.cfg.group,
                vips: self.virtual_ips(),
                vmac: self.virtual_mac(),
                count: self.cfg.garp_count,
            });
        }
    }

    fn change_state(&mut self, now: Instant, next: State, reason: &str, out: &mut VecDeque<Action>) {
        let from = self.state;
        self.state = next;
        self.state_changes += 1;
        self.last_change = Some(now);
        self.last_reason = reason.to_owned();
        let speaking = |s: State| matches!(s, State::Speak | State::Standby | State::Active);
        if speaking(next) && !speaking(from) {
            let hello = Duration::from_millis(u64::from(self.timers_ms().0));
            self.arm(Timer::Hello, now + hello);
        }
        if !speaking(next) {
            self.stop(Timer::Hello);
        }
        if from == State::Init {
            self.up_since = Some(now);
        }
        if next == State::Init {
            if self.up_since.is_some() {
                self.started_before = true;
            }
            self.up_since = None;
            self.timers = [None; 5];
            self.active = None;
            self.standby = None;
            self.init_reason = InitReason::InterfaceDown;
        }
        out.push_back(Action::StateChanged {
            iface: self.iface.clone(),
            group: self.cfg.group,
            name: self.cfg.name.clone(),
            from,
            to: next,
            reason: reason.to_owned(),
        });
        if from == State::Active {
            out.push_back(Action::RemoveVirtual {
                iface: self.iface.clone(),
                group: self.cfg.group,
                vips: self.virtual_ips(),
                vmac: self.virtual_mac(),
            });
        }
        if next == State::Active {
            self.active = None;
            out.push_back(Action::InstallVirtual {
                iface: self.iface.clone(),
                group: self.cfg.group,
                vips: self.virtual_ips(),
                vmac: self.virtual_mac(),
            });
        }
        if next == State::Standby && self.standby.is_some() {
            self.standby = None;
        }
    }

    // ===== outputs =====

    fn send(&mut self, now: Instant, opcode: Opcode, out: &mut VecDeque<Action>) {
        if opcode == Opcode::HELLO {
            let hello = Duration::from_millis(u64::from(self.timers_ms().0));
            self.arm(Timer::Hello, now + hello);
        }
        match opcode {
            Opcode::HELLO => self.counters.hellos_out += 1,
            Opcode::COUP => self.counters.coups_out += 1,
            _ => self.counters.resigns_out += 1,
        }
        let bytes = self.encode(opcode).encode();
        out.push_back(Action::Send {
            iface: self.iface.clone(),
            group: self.cfg.group,
            version: self.cfg.version,
            bytes,
            from_virtual_mac: self.state == State::Active,
        });
    }

    /// Builds the packet we would send now with `opcode`.
    pub fn encode(&self, opcode: Opcode) -> Packet {
        let (hello_ms, hold_ms) = self.timers_ms();
        let vip = self.virtual_ip().unwrap_or(Ipv4Addr::UNSPECIFIED);
        let mut p = match self.cfg.version {
            Version::V1 => {
                let secs = |ms: u32| u8::try_from(ms.div_ceil(1000)).unwrap_or(u8::MAX);
                let (auth_data, md5) = match &self.cfg.auth {
                    AuthConfig::Text(t) => (auth_field(t), None),
                    AuthConfig::Md5 { key_id, .. } => {
                        ([0; 8], Some(Md5Tlv::unsigned(self.iface_addr, *key_id)))
                    }
                };
                Packet::V1(V1Packet {
                    opcode,
                    state: self.state.v1(),
                    hellotime: secs(hello_ms),
                    holdtime: secs(hold_ms),
                    priority: self.priority(),
                    group: u8::try_from(self.cfg.group).unwrap_or(u8::MAX),
                    reserved: 0,
                    auth_data,
                    virtual_ip: vip,
                    md5,
                })
            }
            Version::V2 => {
                let gs = V2Tlv::GroupState(GroupStateTlv {
                    version: 2,
                    opcode,
                    state: self.state.v2(),
                    ip_version: 4,
                    group: self.cfg.group,
                    identifier: self.iface_mac,
                    priority: u32::from(self.priority()),
                    hellotime_ms: hello_ms,
                    holdtime_ms: hold_ms,
                    virtual_ip: GroupStateTlv::ipv4_field(vip),
                });
                let auth = match &self.cfg.auth {
                    AuthConfig::Text(t) => V2Tlv::TextAuth(auth_field(t)),
                    AuthConfig::Md5 { key_id, .. } => {
                        V2Tlv::Md5Auth(Md5Tlv::unsigned(self.iface_addr, *key_id))
                    }
                };
                Packet::V2(V2Packet { tlvs: vec![gs, auth] })
            }
        };
        if let AuthConfig::Md5 { key, .. } = &self.cfg.auth {
            packet::sign(&mut p, key.as_bytes());
        }
        p
    }
}
