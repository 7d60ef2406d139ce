//! Simulated HA pair for the sync tests: two sync clients, two session stores and an in-memory link with
//! latency, a bandwidth limit, a bounded in-flight queue (the IPC send queue) and scripted loss, all in
//! virtual time.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used)]

use std::collections::VecDeque;

use inspect::ha::{BulkReport, HaSync, SessionStore, SyncAction, SyncConfig, SyncNotice, SyncRole};
use timebase::{Duration, Instant};

/// One direction of the association.
#[derive(Debug)]
pub struct SimLink {
    /// One-way latency.
    pub latency: Duration,
    /// Bytes per millisecond (0 = unlimited).
    pub bytes_per_ms: u64,
    /// Messages in flight before a send is refused with "queue full".
    pub capacity: usize,
    /// Indices (0-based, counting accepted messages) of messages to lose silently.
    pub lose: Vec<u64>,
    /// Drop everything (a cut association) while true.
    pub cut: bool,
    in_flight: VecDeque<(Instant, Vec<u8>)>,
    accepted: u64,
    last_delivery: Instant,
    /// Bytes accepted.
    pub bytes: u64,
    /// Messages refused.
    pub refused: u64,
}

impl SimLink {
    pub fn new(latency: Duration, bytes_per_ms: u64, capacity: usize) -> Self {
        Self {
            latency,
            bytes_per_ms,
            capacity,
            lose: Vec::new(),
            cut: false,
            in_flight: VecDeque::new(),
            accepted: 0,
            last_delivery: Instant::ZERO,
            bytes: 0,
            refused: 0,
        }
    }

    /// Tries to queue `msg` at `now`; gives it back when the queue is full.
    pub fn send(&mut self, now: Instant, msg: Vec<u8>) -> Result<(), Vec<u8>> {
        if self.in_flight.len() >= self.capacity {
            self.refused += 1;
            return Err(msg);
        }
        let index = self.accepted;
        self.accepted += 1;
        self.bytes += msg.len() as u64;
        if self.cut || self.lose.contains(&index) {
            return Ok(());
        }
        let tx_time = (msg.len() as u64 * 1000)
            .checked_div(self.bytes_per_ms)
            .map_or(Duration::ZERO, Duration::from_micros);
        let start = if self.last_delivery > now + self.latency {
            self.last_delivery
        } else {
            now + self.latency
        };
        let at = start + tx_time;
        self.last_delivery = at;
        self.in_flight.push_back((at, msg));
        Ok(())
    }

    /// The next message due at or before `now`.
    pub fn deliver(&mut self, now: Instant) -> Option<Vec<u8>> {
        if self.in_flight.front().is_some_and(|(at, _)| *at <= now) {
            return self.in_flight.pop_front().map(|(_, m)| m);
        }
        None
    }

    pub fn next_delivery(&self) -> Option<Instant> {
        self.in_flight.front().map(|(at, _)| *at)
    }

    /// Messages accepted so far (the index the next accepted message gets).
    pub fn accepted(&self) -> u64 {
        self.accepted
    }

    pub fn has_room(&self) -> bool {
        self.in_flight.len() < self.capacity
    }
}

/// Two sync clients over two links.
pub struct Pair<A: SessionStore, S: SessionStore> {
    pub now: Instant,
    pub active: HaSync,
    pub standby: HaSync,
    pub a_store: A,
    pub s_store: S,
    pub a2s: SimLink,
    pub s2a: SimLink,
    pub reports: Vec<BulkReport>,
    pub notices: Vec<SyncNotice>,
    a_blocked: bool,
    s_blocked: bool,
}

impl<A: SessionStore, S: SessionStore> Pair<A, S> {
    pub fn new(config: SyncConfig, a_store: A, s_store: S, a2s: SimLink, s2a: SimLink) -> Self {
        Self {
            now: Instant::ZERO,
            active: HaSync::new(SyncRole::Active, config),
            standby: HaSync::new(SyncRole::Standby, config),
            a_store,
            s_store,
            a2s,
            s2a,
            reports: Vec::new(),
            notices: Vec::new(),
            a_blocked: false,
            s_blocked: false,
        }
    }

    /// Drains both clients' actions into the links.
    pub fn pump(&mut self) {
        loop {
            let mut progressed = false;
            while let Some(a) = self.active.poll_action() {
                progressed = true;
                match a {
                    SyncAction::Send(m) => {
                        if let Err(m) = self.a2s.send(self.now, m) {
                            self.active.handle_send_blocked(self.now, m);
                            self.a_blocked = true;
                        }
                    }
                    SyncAction::BulkComplete(r) => self.reports.push(r),
                    SyncAction::Notice(n) => self.notices.push(n),
                }
            }
            while let Some(a) = self.standby.poll_action() {
                progressed = true;
                match a {
                    SyncAction::Send(m) => {
                        if let Err(m) = self.s2a.send(self.now, m) {
                            self.standby.handle_send_blocked(self.now, m);
                            self.s_blocked = true;
                        }
                    }
                    SyncAction::BulkComplete(r) => self.reports.push(r),
                    SyncAction::Notice(n) => self.notices.push(n),
                }
            }
            if !progressed {
                break;
            }
        }
    }

    /// Advances virtual time to `until`, delivering messages and firing timers on the way.
    pub fn run_until(&mut self, until: Instant) {
        self.pump();
        let mut spins = 0u64;
        loop {
            spins += 1;
            assert!(
                spins < 1_000_000,
                "simulation does not progress at {:?}: active {:?} standby {:?} links {:?} {:?}\n{:#?}",
                self.now,
                self.active.poll_timeout(),
                self.standby.poll_timeout(),
                self.a2s.next_delivery(),
                self.s2a.next_delivery(),
                self.active
            );
            let candidates = [
                self.active.poll_timeout(),
                self.standby.poll_timeout(),
                self.a2s.next_delivery(),
                self.s2a.next_delivery(),
            ];
            let next = candidates.into_iter().flatten().min();
            let Some(next) = next.filter(|t| *t <= until) else {
                break;
            };
            self.now = next.max(self.now);
            while let Some(m) = self.a2s.deliver(self.now) {
                self.standby.handle_message(self.now, &m, &mut self.s_store);
            }
            while let Some(m) = self.s2a.deliver(self.now) {
                self.active.handle_message(self.now, &m, &mut self.a_store);
            }
            if self.a_blocked && self.a2s.has_room() {
                self.a_blocked = false;
                self.active.handle_send_ready(self.now);
            }
            if self.s_blocked && self.s2a.has_room() {
                self.s_blocked = false;
                self.standby.handle_send_ready(self.now);
            }
            self.active.handle_timeout(self.now, &self.a_store);
            self.standby.handle_timeout(self.now, &self.s_store);
            self.pump();
        }
        self.now = self.now.max(until);
        self.active.handle_timeout(self.now, &self.a_store);
        self.standby.handle_timeout(self.now, &self.s_store);
        self.pump();
    }

    /// Runs for `d` more.
    pub fn run_for(&mut self, d: Duration) {
        let until = self.now + d;
        self.run_until(until);
    }
}
