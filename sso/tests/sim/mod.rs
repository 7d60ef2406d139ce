//! A simulated pair of routers in virtual time: two managers back to back through a lossy in-memory link,
//! a fake HSRP driver for the scheme group, and a fake client that completes its bulk sync after a delay.
#![allow(dead_code, unreachable_pub)]

use sso::{
    Action, ClientId, ClientNotice, ClientReport, Direction, HaConfigSummary, HaInterface, HsrpRole, Manager,
    OtherHsrpState, RfState, SsoConfig, SsoStatus,
};
use timebase::{Duration, Instant};

pub const FW: ClientId = ClientId::FIREWALL_HA;
pub const HSRP_TICK: Duration = Duration::from_millis(50);

pub fn seed_summary() -> HaConfigSummary {
    HaConfigSummary {
        scheme_group: "HAin".into(),
        interfaces: vec![HaInterface {
            name: "Ethernet1/0".into(),
            direction: Direction::Out,
            rule: "ha-protocols".into(),
            protocols: vec!["tcp".into(), "udp".into()],
            redundancy_group: Some("HAin".into()),
        }],
        update_interval_s: 60,
        virtual_ips: vec!["10.0.0.3".into(), "211.0.0.3".into()],
    }
}

/// One router: its manager (None while powered off), its scheme group's HSRP role and a fake client.
pub struct Unit {
    pub mgr: Option<Manager>,
    pub boot: u64,
    pub version: String,
    pub summary: HaConfigSummary,
    pub role: HsrpRole,
    pub hsrp_start_at: Instant,
    pub active_missing_since: Option<Instant>,
    pub held: bool,
    pub hold_reasons: Vec<String>,
    pub resign: bool,
    pub logs: Vec<(Instant, String)>,
    pub notices: Vec<(Instant, ClientNotice)>,
    pub changes: Vec<(Instant, RfState, RfState, String)>,
    pub sessions: u64,
    pub bulk_due: Option<Instant>,
    pub bulk_fail_next: u32,
    pub link_reported: bool,
    pub peer_boot_at_link: Option<u64>,
    pub priority: u8,
}

impl Unit {
    fn off(version: &str) -> Self {
        Self {
            mgr: None,
            boot: 0,
            version: version.into(),
            summary: seed_summary(),
            role: HsrpRole::Other(OtherHsrpState::Init),
            hsrp_start_at: Instant::NEVER,
            active_missing_since: None,
            held: false,
            hold_reasons: Vec::new(),
            resign: false,
            logs: Vec::new(),
            notices: Vec::new(),
            changes: Vec::new(),
            sessions: 0,
            bulk_due: None,
            bulk_fail_next: 0,
            link_reported: false,
            peer_boot_at_link: None,
            priority: 100,
        }
    }

    pub fn mgr(&self) -> &Manager {
        self.mgr.as_ref().expect("unit is powered")
    }

    pub fn mgr_mut(&mut self) -> &mut Manager {
        self.mgr.as_mut().expect("unit is powered")
    }

    pub fn state(&self) -> RfState {
        self.mgr.as_ref().map_or(RfState::Disabled, Manager::my_state)
    }

    pub fn has_log(&self, needle: &str) -> bool {
        self.logs.iter().any(|(_, l)| l.contains(needle))
    }

    pub fn count_notice(&self, n: &ClientNotice) -> usize {
        self.notices.iter().filter(|(_, x)| x == n).count()
    }

    /// The sequence of states entered, in order.
    pub fn path(&self) -> Vec<RfState> {
        self.changes.iter().map(|(_, _, to, _)| *to).collect()
    }
}

pub struct Sim {
    pub now: Instant,
    pub units: [Unit; 2],
    pub ipc_up: bool,
    pub lan_up: bool,
    pub delay: Duration,
    pub loss_per_mille: u32,
    pub bulk_delay: Duration,
    pub hsrp_hold: Duration,
    pub hsrp_start_delay: Duration,
    pub preempt: bool,
    pub next_tick: Instant,
    in_flight: Vec<(Instant, usize, Vec<u8>)>,
    rng: u64,
    pub dropped: u64,
    pub delivered: u64,
}

impl Sim {
    pub fn new(seed: u64) -> Self {
        Self {
            now: Instant::ZERO,
            units: [Unit::off("iosha 0.1.0"), Unit::off("iosha 0.1.0")],
            ipc_up: true,
            lan_up: true,
            delay: Duration::from_millis(2),
            loss_per_mille: 0,
            bulk_delay: Duration::from_millis(500),
            hsrp_hold: Duration::from_secs(3),
            hsrp_start_delay: Duration::from_secs(1),
            preempt: true,
            next_tick: Instant::ZERO,
            in_flight: Vec::new(),
            rng: seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1,
            dropped: 0,
            delivered: 0,
        }
    }

    fn rand(&mut self) -> u64 {
        // xorshift64*
        self.rng ^= self.rng >> 12;
        self.rng ^= self.rng << 25;
        self.rng ^= self.rng >> 27;
        self.rng.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    pub fn power_on(&mut self, i: usize) {
        let boot = self.rand();
        let now = self.now;
        let u = &mut self.units[i];
        let mut cfg = SsoConfig::new("HAin", u.version.clone(), boot);
        cfg.security_configured = true;
        let mut m = Manager::new(cfg, u.summary.clone(), now);
        m.register_client(now, FW, "FW HA");
        u.mgr = Some(m);
        u.boot = boot;
        u.role = HsrpRole::Other(OtherHsrpState::Init);
        u.hsrp_start_at = now + self.hsrp_start_delay;
        u.active_missing_since = None;
        u.held = false;
        u.resign = false;
        u.sessions = 0;
        u.bulk_due = None;
        u.link_reported = false;
        self.settle();
    }

    pub fn power_off(&mut self, i: usize) {
        let u = &mut self.units[i];
        u.mgr = None;
        u.role = HsrpRole::Other(OtherHsrpState::Init);
        u.bulk_due = None;
        u.link_reported = false;
        self.in_flight.retain(|(_, to, _)| *to != i);
        self.settle();
    }

    pub fn set_ipc(&mut self, up: bool) {
        self.ipc_up = up;
        self.settle();
    }

    pub fn set_lan(&mut self, up: bool) {
        self.lan_up = up;
        self.settle();
    }

    /// Runs the pair until `now + d`.
    pub fn run_for(&mut self, d: Duration) {
        let end = self.now + d;
        let mut steps = 0u64;
        loop {
            steps += 1;
            assert!(steps < 2_000_000, "simulation does not converge (livelock?)");
            let mut t = end.min(self.next_tick);
            for (at, _, _) in &self.in_flight {
                t = t.min(*at);
            }
            for u in &self.units {
                if let Some(d) = u.mgr.as_ref().and_then(Manager::poll_timeout) {
                    t = t.min(d);
                }
                if let Some(d) = u.bulk_due {
                    t = t.min(d);
                }
            }
            assert!(t >= self.now, "time went backwards");
            self.now = t;
            self.process_due();
            if self.now >= end {
                break;
            }
        }
    }

    fn process_due(&mut self) {
        let now = self.now;
        // Messages.
        let mut due = Vec::new();
        self.in_flight.retain(|m| {
            if m.0 <= now {
                due.push(m.clone());
                false
            } else {
                true
            }
        });
        for (_, to, bytes) in due {
            if let Some(m) = self.units[to].mgr.as_mut() {
                self.delivered += 1;
                m.handle_peer_message(now, &bytes);
            }
        }
        self.settle();
        // Timers.
        for i in 0..2 {
            if let Some(m) = self.units[i].mgr.as_mut()
                && m.poll_timeout().is_some_and(|d| d <= now)
            {
                m.handle_timeout(now);
            }
        }
        self.settle();
        // Client bulk completions.
        for i in 0..2 {
            if self.units[i].bulk_due.is_some_and(|d| d <= now) {
                self.units[i].bulk_due = None;
                let report = if self.units[i].bulk_fail_next > 0 {
                    self.units[i].bulk_fail_next -= 1;
                    ClientReport::BulkFailed {
                        reason: "injected failure".into(),
                    }
                } else {
                    let sessions = self.units[1 - i].sessions;
                    self.units[i].sessions = sessions;
                    ClientReport::BulkDone { sessions, ok: true }
                };
                if let Some(m) = self.units[i].mgr.as_mut() {
                    m.handle_client(now, FW, report);
                }
            }
        }
        self.settle();
        if now >= self.next_tick {
            self.next_tick = now + HSRP_TICK;
            self.hsrp_step();
            self.settle();
        }
    }

    /// The fake HSRP of the scheme group on both units.
    fn hsrp_step(&mut self) {
        let now = self.now;
        for i in 0..2 {
            let j = 1 - i;
            if self.units[i].mgr.is_none() || now < self.units[i].hsrp_start_at {
                continue;
            }
            let sees_j = self.lan_up && self.units[j].mgr.is_some() && now >= self.units[j].hsrp_start_at;
            let j_active = sees_j && self.units[j].role == HsrpRole::Active;
            let (pi, pj) = (self.units[i].priority, self.units[j].priority);
            if self.units[i].role == HsrpRole::Active {
                if self.units[i].resign {
                    self.units[i].resign = false;
                    if sees_j {
                        self.set_role(i, HsrpRole::Other(OtherHsrpState::Speak));
                        self.set_role(j, HsrpRole::Active);
                    }
                } else if j_active {
                    // Two Actives after a partition: the higher priority wins, then the higher address (unit 1).
                    let loser = if pi != pj { if pi > pj { j } else { i } } else { 0 };
                    self.set_role(loser, HsrpRole::Other(OtherHsrpState::Speak));
                }
                continue;
            }
            if j_active {
                self.units[i].active_missing_since = None;
                if self.preempt && pi > pj && !self.units[i].held {
                    self.set_role(i, HsrpRole::Active);
                    self.set_role(j, HsrpRole::Other(OtherHsrpState::Speak));
                } else if self.units[i].role != HsrpRole::Standby {
                    self.set_role(i, HsrpRole::Standby);
                }
            } else {
                let since = *self.units[i].active_missing_since.get_or_insert(now);
                if now >= since + self.hsrp_hold {
                    self.units[i].active_missing_since = None;
                    self.set_role(i, HsrpRole::Active);
                } else if self.units[i].role == HsrpRole::Other(OtherHsrpState::Init) {
                    self.set_role(i, HsrpRole::Other(OtherHsrpState::Listen));
                }
            }
        }
    }

    fn set_role(&mut self, i: usize, role: HsrpRole) {
        let now = self.now;
        let u = &mut self.units[i];
        if u.role != role {
            u.role = role;
            if let Some(m) = u.mgr.as_mut() {
                m.handle_hsrp_role(now, role);
            }
        }
    }

    /// Reports link changes and drains every action until both managers are quiet.
    pub fn settle(&mut self) {
        for _ in 0..1000 {
            let mut any = false;
            let effective = self.ipc_up && self.units[0].mgr.is_some() && self.units[1].mgr.is_some();
            for i in 0..2 {
                let peer_boot = self.units[1 - i].boot;
                let now = self.now;
                let u = &mut self.units[i];
                if let Some(m) = u.mgr.as_mut()
                    && u.link_reported != effective
                {
                    let restarted = effective && u.peer_boot_at_link.is_some_and(|b| b != peer_boot);
                    m.handle_link(now, effective, restarted);
                    u.link_reported = effective;
                    if effective {
                        u.peer_boot_at_link = Some(peer_boot);
                    }
                    any = true;
                }
            }
            for i in 0..2 {
                while let Some(a) = self.units[i].mgr.as_mut().and_then(Manager::poll_action) {
                    any = true;
                    self.apply(i, a);
                }
            }
            if !any {
                return;
            }
        }
        panic!("actions never settle");
    }

    fn apply(&mut self, i: usize, a: Action) {
        let now = self.now;
        match a {
            Action::SendPeer(bytes) => {
                let lost = self.loss_per_mille > 0 && (self.rand() % 1000) < u64::from(self.loss_per_mille);
                let up = self.ipc_up && self.units[1 - i].mgr.is_some();
                if lost || !up {
                    self.dropped += 1;
                } else {
                    self.in_flight.push((now + self.delay, 1 - i, bytes));
                }
            }
            Action::Client(_, notice) => {
                let peer_up = self.ipc_up && self.units[1 - i].mgr.is_some();
                let u = &mut self.units[i];
                match &notice {
                    ClientNotice::StartBulkSync if peer_up => u.bulk_due = Some(now + self.bulk_delay),
                    ClientNotice::Flush => {
                        u.sessions = 0;
                        u.bulk_due = None;
                    }
                    _ => {}
                }
                u.notices.push((now, notice));
            }
            Action::HoldPreempt { held, reason } => {
                self.units[i].held = held;
                if held {
                    self.units[i].hold_reasons.push(reason);
                }
            }
            Action::Resign => self.units[i].resign = true,
            Action::StateChanged { from, to, reason } => self.units[i].changes.push((now, from, to, reason)),
            Action::Log(line) => self.units[i].logs.push((now, line)),
            Action::Debug(_) => {}
            _ => {}
        }
    }

    pub fn status(&self, i: usize) -> SsoStatus {
        self.units[i].mgr().status(self.now)
    }

    /// Unit 0 boots alone and becomes ACTIVE with `sessions`; then unit 1 boots and reaches STANDBY HOT.
    pub fn hot_pair(seed: u64, sessions: u64) -> Self {
        let mut sim = Self::new(seed);
        sim.power_on(0);
        sim.run_for(Duration::from_secs(5));
        assert_eq!(sim.units[0].state(), RfState::Active);
        sim.units[0].sessions = sessions;
        sim.power_on(1);
        sim.run_for(Duration::from_secs(5));
        assert_eq!(sim.units[1].state(), RfState::StandbyHot);
        sim
    }
}
