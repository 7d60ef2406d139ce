//! The in-memory transport: two associations joined by a simulated link in virtual time.
//!
//! [`SimLink`] carries packets between side A and side B on one or two address pairs with configurable
//! loss, delay, jitter (which reorders packets) and partitions, driven by a seeded generator so every run
//! is reproducible. [`SimPair`] owns two [`Association`]s and the link and advances virtual time from one
//! deadline to the next; other crates' simulations can use the link alone with their own cores.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use timebase::{Duration, Instant};

use crate::assoc::{Action, Association, IpcEvent, Notice};
use crate::config::AssociationConfig;
use crate::envelope::{ClientId, MessageKind};
use crate::error::SendError;

/// One end of the simulated link.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Side {
    /// Router A.
    A,
    /// Router B.
    B,
}

impl Side {
    /// The other end.
    pub fn peer(self) -> Self {
        match self {
            Self::A => Self::B,
            Self::B => Self::A,
        }
    }
}

/// Fault settings of the link.
#[derive(Clone, Debug, PartialEq)]
pub struct Faults {
    /// Probability in [0, 1] that a packet is lost.
    pub loss: f64,
    /// Base one-way delay.
    pub delay: Duration,
    /// Extra random delay in [0, jitter): packets overtake each other.
    pub jitter: Duration,
    /// Per address pair: partitioned (every packet on it is lost, both directions).
    pub partitioned: Vec<bool>,
}

impl Default for Faults {
    fn default() -> Self {
        Self {
            loss: 0.0,
            delay: Duration::from_micros(200),
            jitter: Duration::ZERO,
            partitioned: vec![false; 2],
        }
    }
}

#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
struct InFlight {
    at: Instant,
    id: u64,
    to: Side,
    path: usize,
    packet: Vec<u8>,
}

/// Counters of the link.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LinkStats {
    /// Packets offered.
    pub sent: u64,
    /// Packets delivered.
    pub delivered: u64,
    /// Packets lost to random loss.
    pub lost: u64,
    /// Packets lost to a partition.
    pub partitioned: u64,
}

/// A lossy, delaying, reordering link between two sides.
#[derive(Debug)]
pub struct SimLink {
    queue: BinaryHeap<Reverse<InFlight>>,
    rng: u64,
    next_id: u64,
    /// Current fault settings (change them at any time).
    pub faults: Faults,
    /// Counters.
    pub stats: LinkStats,
}

impl SimLink {
    /// A perfect link (200 µs delay) with a seeded generator.
    pub fn new(seed: u64) -> Self {
        Self {
            queue: BinaryHeap::new(),
            rng: seed,
            next_id: 0,
            faults: Faults::default(),
            stats: LinkStats::default(),
        }
    }

    fn next_u64(&mut self) -> u64 {
        // splitmix64
        self.rng = self.rng.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.rng;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Partitions (or heals) address pair `path`, or every pair with `None`.
    pub fn set_partition(&mut self, path: Option<usize>, on: bool) {
        match path {
            Some(p) => {
                if self.faults.partitioned.len() <= p {
                    self.faults.partitioned.resize(p + 1, false);
                }
                self.faults.partitioned[p] = on;
            }
            None => self.faults.partitioned.iter_mut().for_each(|x| *x = on),
        }
    }

    /// Offers a packet sent by `from` on `path` at `now`.
    pub fn send(&mut self, now: Instant, from: Side, path: usize, packet: Vec<u8>) {
        self.stats.sent += 1;
        if self.faults.partitioned.get(path).copied().unwrap_or(false) {
            self.stats.partitioned += 1;
            return;
        }
        if self.faults.loss > 0.0 && self.unit() < self.faults.loss {
            self.stats.lost += 1;
            return;
        }
        let jitter = self.faults.jitter.as_micros();
        let extra = if jitter > 0 { self.next_u64() % jitter } else { 0 };
        let at = now + self.faults.delay + Duration::from_micros(extra);
        self.next_id += 1;
        self.queue.push(Reverse(InFlight {
            at,
            id: self.next_id,
            to: from.peer(),
            path,
            packet,
        }));
    }

    /// The next delivery time.
    pub fn next_delivery(&self) -> Option<Instant> {
        self.queue.peek().map(|Reverse(f)| f.at)
    }

    /// A packet due at or before `now`: `(to, path, packet)`.
    pub fn poll_delivery(&mut self, now: Instant) -> Option<(Side, usize, Vec<u8>)> {
        if self.next_delivery()? > now {
            return None;
        }
        let Reverse(f) = self.queue.pop()?;
        self.stats.delivered += 1;
        Some((f.to, f.path, f.packet))
    }
}

/// Two associations on a simulated link, in virtual time.
pub struct SimPair {
    /// Router A's association (`None` while "powered off").
    pub a: Option<Association>,
    /// Router B's association.
    pub b: Option<Association>,
    /// The link.
    pub link: SimLink,
    /// Virtual time.
    pub now: Instant,
    /// Events reported by each side, with their time.
    pub events: Vec<(Instant, Side, IpcEvent)>,
    /// Notices reported by each side.
    pub notices: Vec<(Instant, Side, Notice)>,
    cfg_a: AssociationConfig,
    cfg_b: AssociationConfig,
    /// Packets that arrived at a side that was off.
    pub dropped_at_dead_side: u64,
}

impl SimPair {
    /// Two associations, not started, on a perfect link.
    pub fn new(cfg_a: AssociationConfig, cfg_b: AssociationConfig, seed: u64) -> Self {
        Self {
            a: None,
            b: None,
            link: SimLink::new(seed),
            now: Instant::ZERO,
            events: Vec::new(),
            notices: Vec::new(),
            cfg_a,
            cfg_b,
            dropped_at_dead_side: 0,
        }
    }

    fn slot(&mut self, side: Side) -> &mut Option<Association> {
        match side {
            Side::A => &mut self.a,
            Side::B => &mut self.b,
        }
    }

    /// Powers a side on (a new process with `boot_id`), replacing any running association.
    pub fn start(&mut self, side: Side, boot_id: u64) {
        let cfg = match side {
            Side::A => self.cfg_a.clone(),
            Side::B => self.cfg_b.clone(),
        };
        let now = self.now;
        let mut assoc = Association::new(cfg, boot_id);
        assoc.start(now);
        *self.slot(side) = Some(assoc);
        self.flush();
    }

    /// Powers a side off without a word to the peer (crash).
    pub fn crash(&mut self, side: Side) {
        *self.slot(side) = None;
    }

    /// The association of a side.
    pub fn side(&mut self, side: Side) -> Option<&mut Association> {
        self.slot(side).as_mut()
    }

    /// Sends a message from `side`.
    pub fn send(
        &mut self,
        side: Side,
        client: ClientId,
        kind: MessageKind,
        payload: Vec<u8>,
    ) -> Result<(), SendError> {
        let now = self.now;
        let r = match self.slot(side).as_mut() {
            Some(a) => a.send(now, client, kind, payload),
            None => Err(SendError::Stopped),
        };
        self.flush();
        r
    }

    /// Sends several messages from `side` in one call, as the driver does with what it found queued
    /// (messages of one stream are bundled when the peer accepts bundles).
    pub fn send_batch(
        &mut self,
        side: Side,
        batch: Vec<(ClientId, MessageKind, Vec<u8>)>,
    ) -> Vec<Result<(), SendError>> {
        let now = self.now;
        let n = batch.len();
        let r = match self.slot(side).as_mut() {
            Some(a) => a.send_batch(now, batch),
            None => vec![Err(SendError::Stopped); n],
        };
        self.flush();
        r
    }

    fn flush(&mut self) {
        let now = self.now;
        for side in [Side::A, Side::B] {
            let mut out = Vec::new();
            if let Some(a) = self.slot(side).as_mut() {
                while let Some(act) = a.poll_action() {
                    out.push(act);
                }
            }
            for act in out {
                match act {
                    Action::Transmit { path, packet } => self.link.send(now, side, path, packet),
                    Action::Event(e) => self.events.push((now, side, e)),
                    Action::Notice(n) => self.notices.push((now, side, n)),
                }
            }
        }
    }

    fn next_deadline(&self) -> Option<Instant> {
        [
            self.a.as_ref().and_then(Association::poll_timeout),
            self.b.as_ref().and_then(Association::poll_timeout),
            self.link.next_delivery(),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// Advances virtual time to `until`, processing every deadline and delivery on the way.
    pub fn run_until(&mut self, until: Instant) {
        let mut guard = 0u32;
        while let Some(t) = self.next_deadline() {
            if t > until {
                break;
            }
            guard += 1;
            if guard > 5_000_000 {
                break;
            }
            self.now = self.now.max(t);
            let now = self.now;
            while let Some((to, path, packet)) = self.link.poll_delivery(now) {
                match self.slot(to).as_mut() {
                    Some(a) => a.handle_packet(now, path, &packet),
                    None => self.dropped_at_dead_side += 1,
                }
                self.flush();
            }
            for side in [Side::A, Side::B] {
                if let Some(a) = self.slot(side).as_mut()
                    && a.poll_timeout().is_some_and(|d| d <= now)
                {
                    a.handle_timeout(now);
                }
            }
            self.flush();
        }
        self.now = self.now.max(until);
    }

    /// Runs for `d` of virtual time.
    pub fn run_for(&mut self, d: Duration) {
        let until = self.now + d;
        self.run_until(until);
    }

    /// Runs until `pred` holds on a new event (checked after each step) or `limit` passes; returns the
    /// time of the matching event.
    pub fn run_until_event(
        &mut self,
        limit: Duration,
        pred: impl Fn(Side, &IpcEvent) -> bool,
    ) -> Option<Instant> {
        let start = self.events.len();
        let deadline = self.now + limit;
        let step = Duration::from_millis(1);
        while self.now < deadline {
            let next = (self.now + step).min(deadline);
            self.run_until(next);
            if let Some((t, _, _)) = self.events[start..].iter().find(|(_, s, e)| pred(*s, e)) {
                return Some(*t);
            }
        }
        None
    }

    /// Messages delivered to `side` so far.
    pub fn messages_at(&self, side: Side) -> Vec<(ClientId, MessageKind, Vec<u8>)> {
        self.events
            .iter()
            .filter(|(_, s, _)| *s == side)
            .filter_map(|(_, _, e)| match e {
                IpcEvent::Message {
                    client,
                    kind,
                    payload,
                } => Some((*client, *kind, payload.clone())),
                _ => None,
            })
            .collect()
    }
}
