//! The simulated pair: two [`Router`]s, two virtual LANs carrying HSRP, the IPC association's in-memory
//! link (`ipc::sim::SimLink`), a switch that delivers host traffic to the owner of the virtual MAC, and a
//! virtual clock that jumps from one deadline to the next.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use inspect::Verdict;
use inspect::ha::{SessionStore, TableDigest};
use inspect::record::FlowKey;
use ipc::sim::{Side, SimLink};
use timebase::{Duration, Instant};

use super::config::{IN_IDX, OUT_IDX, PairConfig, lan_addr};
use super::router::{Router, Wire};

/// Most steps [`SimPair::run_until`] takes in one call before it declares a livelock.
pub const STEP_LIMIT: u64 = 20_000_000;
/// Most consecutive steps at one virtual instant before it declares a livelock.
pub const SAME_INSTANT_LIMIT: u64 = 100_000;

#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
struct LanFrame {
    at: Instant,
    id: u64,
    to: usize,
    lan: usize,
    src: Ipv4Addr,
    bytes: Vec<u8>,
}

/// One virtual LAN (a switch without loss of its own): HSRP datagrams with a fixed delay, seeded loss and
/// a partition switch.
#[derive(Debug, Default)]
pub struct Lan {
    /// Probability in [0, 1] that a datagram is lost.
    pub loss: f64,
    /// While set, the two routers' ports cannot reach each other.
    pub partitioned: bool,
    /// Datagrams delivered / lost.
    pub delivered: u64,
    /// Datagrams lost (loss or partition).
    pub lost: u64,
}

/// Status of one router, for assertions.
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// `show standby` groups.
    pub hsrp: Vec<hsrp::GroupStatus>,
    /// `show redundancy`.
    pub sso: sso::SsoStatus,
    /// `show ip inspect ha statistics`.
    pub sync: inspect::ha::SyncStatistics,
    /// Engine statistics.
    pub engine: inspect::EngineStats,
}

impl Snapshot {
    /// HSRP state of group `group`.
    pub fn hsrp_state(&self, group: u16) -> &str {
        self.hsrp
            .iter()
            .find(|g| g.group == group)
            .map_or("none", |g| g.state.as_str())
    }
}

/// Two routers in virtual time.
pub struct SimPair {
    /// Configuration.
    pub cfg: PairConfig,
    /// Virtual time.
    pub now: Instant,
    /// The routers (None while powered off).
    pub routers: [Option<Router>; 2],
    /// The inside (0) and outside (1) LANs.
    pub lans: [Lan; 2],
    /// The IPC association's link (side A = ha-R1, side B = ha-R2).
    pub ipc: SimLink,
    /// Where the switch of each LAN delivers frames for the virtual MAC (learned from the last router that
    /// took it; a powered-off router keeps it until another one takes it, as a real switch would).
    pub vmac_port: [Option<usize>; 2],
    frames: std::collections::BinaryHeap<std::cmp::Reverse<LanFrame>>,
    next_frame: u64,
    seen_installs: [[u64; 2]; 2],
    /// Whether each router's port on each LAN is up (`ports_up[router][lan]`).
    pub ports_up: [[bool; 2]; 2],
    rng: u64,
    boots: u64,
    /// Steps taken so far.
    pub steps: u64,
}

fn side(r: usize) -> Side {
    if r == 0 { Side::A } else { Side::B }
}

impl SimPair {
    /// A pair with both routers off.
    pub fn new(cfg: PairConfig) -> Self {
        let seed = cfg.seed;
        Self {
            ipc: SimLink::new(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15)),
            cfg,
            now: Instant::ZERO,
            routers: [None, None],
            lans: [Lan::default(), Lan::default()],
            vmac_port: [None, None],
            frames: std::collections::BinaryHeap::new(),
            next_frame: 0,
            seen_installs: [[0; 2]; 2],
            ports_up: [[true; 2]; 2],
            rng: seed | 1,
            boots: 0,
            steps: 0,
        }
    }

    fn rand_unit(&mut self) -> f64 {
        // xorshift64*
        self.rng ^= self.rng >> 12;
        self.rng ^= self.rng << 25;
        self.rng ^= self.rng >> 27;
        (self.rng.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Powers router `r` on (a new boot id).
    pub fn power_on(&mut self, r: usize) {
        self.boots += 1;
        let boot_id = 0x1000 * (r as u64 + 1) + self.boots;
        let router = Router::boot(&self.cfg, r, boot_id, self.now);
        self.routers[r] = Some(router);
        self.seen_installs[r] = [0; 2];
        self.collect(r);
    }

    /// Powers router `r` off: its cores vanish, its frames and IPC packets go nowhere.
    pub fn power_off(&mut self, r: usize) {
        self.routers[r] = None;
    }

    /// Partitions (or heals) both LANs and the IPC link at once.
    pub fn partition_all(&mut self, on: bool) {
        self.lans[0].partitioned = on;
        self.lans[1].partitioned = on;
        self.ipc.set_partition(None, on);
    }

    /// Takes router `r`'s port on LAN `lan` down or up (cable pulled): nothing passes it, and the router's
    /// HSRP core hears of it (the tracked interface of the other group).
    pub fn set_port(&mut self, r: usize, lan: usize, up: bool) {
        self.ports_up[r][lan] = up;
        let now = self.now;
        let iface = if lan == 0 {
            super::config::INSIDE
        } else {
            super::config::OUTSIDE
        };
        if let Some(router) = self.routers[r].as_mut() {
            router.speaker.handle_link(now, iface, up);
            router.pump(now);
        }
        self.collect(r);
    }

    /// Router `r`.
    pub fn router(&self, r: usize) -> &Router {
        self.routers[r]
            .as_ref()
            .unwrap_or_else(|| panic!("router {r} is powered off"))
    }

    /// Router `r`, mutable.
    pub fn router_mut(&mut self, r: usize) -> &mut Router {
        self.routers[r]
            .as_mut()
            .unwrap_or_else(|| panic!("router {r} is powered off"))
    }

    fn collect(&mut self, r: usize) {
        let now = self.now;
        let Some(router) = self.routers[r].as_ref() else {
            return;
        };
        let (installs, owns) = (router.vmac_installs, router.owns_vmac);
        for lan in 0..2 {
            if installs[lan] != self.seen_installs[r][lan] {
                // A new owner announces itself (gratuitous ARP, hellos from the vMAC): the switch moves.
                self.seen_installs[r][lan] = installs[lan];
                if owns[lan] {
                    self.vmac_port[lan] = Some(r);
                }
            }
            if !owns[lan] && self.vmac_port[lan] == Some(r) {
                let other = self.routers[1 - r].as_ref().is_some_and(|o| o.owns_vmac[lan]);
                self.vmac_port[lan] = other.then_some(1 - r);
            }
        }
        let Some(router) = self.routers[r].as_mut() else {
            return;
        };
        let wire = router.take_wire();
        for w in wire {
            match w {
                Wire::Lan { lan, bytes } => {
                    let peer = 1 - r;
                    let lost = self.lans[lan].partitioned
                        || !self.ports_up[r][lan]
                        || !self.ports_up[peer][lan]
                        || (self.lans[lan].loss > 0.0 && self.rand_unit() < self.lans[lan].loss);
                    if lost {
                        self.lans[lan].lost += 1;
                        continue;
                    }
                    self.next_frame += 1;
                    self.frames.push(std::cmp::Reverse(LanFrame {
                        at: now + Duration::from_micros(self.cfg.lan_delay_us),
                        id: self.next_frame,
                        to: peer,
                        lan,
                        src: lan_addr(r, lan),
                        bytes,
                    }));
                }
                Wire::Ipc { path, packet } => self.ipc.send(now, side(r), path, packet),
            }
        }
    }

    fn next_deadline(&self) -> Option<Instant> {
        let mut t = [
            self.frames.peek().map(|std::cmp::Reverse(f)| f.at),
            self.ipc.next_delivery(),
        ]
        .into_iter()
        .flatten()
        .min();
        for r in self.routers.iter().flatten() {
            if let Some(d) = r.poll_timeout() {
                t = Some(t.map_or(d, |t: Instant| t.min(d)));
            }
        }
        t
    }

    /// Advances virtual time to `until`, processing every deadline and delivery on the way. Panics on a
    /// livelock (too many steps, or too many at one instant).
    pub fn run_until(&mut self, until: Instant) {
        self.drive_bounded(until, &mut |_| false);
    }

    /// Like [`Self::run_until`], but checks `pred` after every step and stops as soon as it holds (then the
    /// clock stays at that step's instant). Returns whether it held.
    pub fn run_until_step(&mut self, limit: Duration, mut pred: impl FnMut(&Self) -> bool) -> bool {
        let until = self.now + limit;
        pred(self) || self.drive_bounded(until, &mut pred)
    }

    /// The driving loop: jump to the earliest deadline of every core, link and LAN, process it; at most
    /// [`STEP_LIMIT`] steps per call and [`SAME_INSTANT_LIMIT`] at one instant (a livelock otherwise).
    fn drive_bounded(&mut self, until: Instant, stop: &mut dyn FnMut(&Self) -> bool) -> bool {
        let mut steps = 0u64;
        let mut same = 0u64;
        while let Some(t) = self.next_deadline() {
            if t > until {
                break;
            }
            steps += 1;
            assert!(steps < STEP_LIMIT, "livelock: {steps} steps before {until:?}");
            if t <= self.now {
                same += 1;
                assert!(
                    same < SAME_INSTANT_LIMIT,
                    "livelock: {same} steps at {:?} without time advancing; deadlines: [{}] [{}]",
                    self.now,
                    self.routers[0]
                        .as_ref()
                        .map(Router::deadlines)
                        .unwrap_or_default(),
                    self.routers[1]
                        .as_ref()
                        .map(Router::deadlines)
                        .unwrap_or_default(),
                );
            } else {
                same = 0;
            }
            self.now = self.now.max(t);
            self.step();
            if stop(self) {
                self.steps += steps;
                return true;
            }
        }
        self.steps += steps;
        self.now = self.now.max(until);
        false
    }

    fn step(&mut self) {
        let now = self.now;
        while self.frames.peek().is_some_and(|std::cmp::Reverse(f)| f.at <= now) {
            let Some(std::cmp::Reverse(f)) = self.frames.pop() else {
                break;
            };
            if let Some(r) = self.routers[f.to].as_mut() {
                r.handle_lan(now, f.lan, f.src, &f.bytes);
                self.lans[f.lan].delivered += 1;
                self.collect(f.to);
            }
        }
        while let Some((to, path, packet)) = self.ipc.poll_delivery(now) {
            let r = if to == Side::A { 0 } else { 1 };
            if let Some(router) = self.routers[r].as_mut() {
                router.handle_ipc(now, path, &packet);
                self.collect(r);
            }
        }
        for r in 0..2 {
            if let Some(router) = self.routers[r].as_mut()
                && router.poll_timeout().is_some_and(|d| d <= now)
            {
                router.handle_timeout(now);
                self.collect(r);
            }
        }
    }

    /// Runs for `d` of virtual time.
    pub fn run_for(&mut self, d: Duration) {
        let until = self.now + d;
        self.run_until(until);
    }

    /// Runs in steps of `step` until `pred` holds or `limit` passes; returns whether it held.
    pub fn run_until_true(
        &mut self,
        limit: Duration,
        step: Duration,
        mut pred: impl FnMut(&Self) -> bool,
    ) -> bool {
        let deadline = self.now + limit;
        loop {
            if pred(self) {
                return true;
            }
            if self.now >= deadline {
                return false;
            }
            let next = (self.now + step).min(deadline);
            self.run_until(next);
        }
    }

    /// Status of router `r`.
    pub fn snapshot(&self, r: usize) -> Snapshot {
        let router = self.router(r);
        Snapshot {
            hsrp: router.speaker.status(self.now),
            sso: router.sso.status(self.now),
            sync: router.sync.statistics(self.now, &router.engine),
            engine: router.engine.stats(),
        }
    }

    /// The router whose HSRP scheme group is Active, when exactly one is.
    pub fn active(&self) -> Option<usize> {
        let act: Vec<usize> = (0..2)
            .filter(|&r| {
                self.routers[r]
                    .as_ref()
                    .is_some_and(|x| x.speaker.state(super::config::INSIDE, 1) == Some(hsrp::State::Active))
            })
            .collect();
        (act.len() == 1).then(|| act[0])
    }

    /// A packet from h1 (inside) towards h2: the inside switch delivers it to the virtual MAC's port and
    /// that router's engine judges it. None: no router took it (no owner, or the owner is off).
    pub fn h1_sends(&mut self, packet: &[u8]) -> Option<(usize, Verdict)> {
        self.deliver(0, packet, IN_IDX, OUT_IDX)
    }

    /// A packet from h2 (outside) towards h1, through the outside virtual MAC's owner.
    pub fn h2_sends(&mut self, packet: &[u8]) -> Option<(usize, Verdict)> {
        self.deliver(1, packet, OUT_IDX, IN_IDX)
    }

    fn deliver(&mut self, lan: usize, packet: &[u8], ingress: u16, egress: u16) -> Option<(usize, Verdict)> {
        let r = self.vmac_port[lan]?;
        if !self.ports_up[r][lan] || !self.ports_up[r][1 - lan] {
            return None;
        }
        let now = self.now;
        let v = self.routers[r].as_mut()?.forward(now, packet, ingress, egress);
        self.collect(r);
        Some((r, v))
    }

    /// HA sessions of router `r`: HA id → flow key.
    pub fn ha_sessions(&self, r: usize) -> BTreeMap<u32, FlowKey> {
        let router = self.router(r);
        router
            .engine
            .export_ha(self.now)
            .map(|rec| (rec.id.0, rec.key))
            .collect()
    }

    /// The flow keys of router `r`'s HA sessions, sorted (ids differ after a promotion).
    pub fn ha_keys(&self, r: usize) -> Vec<String> {
        let mut v: Vec<String> = self.ha_sessions(r).values().map(|k| format!("{k:?}")).collect();
        v.sort();
        v
    }

    /// The sync protocol's digest of router `r`'s HA table.
    pub fn digest(&self, r: usize) -> TableDigest {
        let router = self.router(r);
        router.engine.ha_table_digest(self.now)
    }
}

impl SimPair {
    /// `redundancy force-switchover` on router `r`.
    pub fn force_switchover(&mut self, r: usize) -> Result<(), sso::RefusalReason> {
        let now = self.now;
        let router = self.router_mut(r);
        let res = router.sso.force_switchover(now);
        router.pump(now);
        self.collect(r);
        res
    }

    /// `clear ip inspect ha sessions-all` on router `r` (the standby): the manager's resync request.
    pub fn clear_ha_sessions_all(&mut self, r: usize) -> Result<(), sso::RefusalReason> {
        let now = self.now;
        let router = self.router_mut(r);
        let res = router.sso.request_resync(now);
        router.pump(now);
        self.collect(r);
        res
    }

    /// The last `n` log lines of both routers, for assertion messages.
    pub fn trace(&self, n: usize) -> String {
        let mut out = String::new();
        for (i, r) in self.routers.iter().enumerate() {
            let Some(r) = r else {
                out.push_str(&format!("--- router {i}: off\n"));
                continue;
            };
            out.push_str(&format!("--- router {i} (RF {}):\n", r.sso.my_state()));
            let skip = r.log.len().saturating_sub(n);
            for l in &r.log[skip..] {
                out.push_str(&format!("{:>10.3} {}\n", l.at.as_micros() as f64 / 1e6, l.text));
            }
        }
        out
    }
}
