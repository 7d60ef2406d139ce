//! A virtual LAN in virtual time: N `Speaker`s whose `Send` actions are delivered to each other with a
//! fixed latency and optional deterministic loss.

#![allow(dead_code, unreachable_pub)]

use std::net::Ipv4Addr;

use hsrp::{
    Action, AuthConfig, GroupConfig, GroupStatus, InterfaceConfig, PreemptConfig, Speaker, State,
    TimersConfig, TrackConfig, Version,
};
use timebase::{Duration, Instant};

pub const LATENCY: Duration = Duration::from_millis(1);

pub struct Router {
    pub name: String,
    pub speaker: Speaker,
    pub addrs: Vec<(String, Ipv4Addr)>,
    pub powered: bool,
    pub links: Vec<(String, bool)>,
    pub actions: Vec<(Instant, Action)>,
}

struct InFlight {
    at: Instant,
    to: usize,
    iface: String,
    src: Ipv4Addr,
    bytes: Vec<u8>,
}

pub struct Lab {
    pub now: Instant,
    pub routers: Vec<Router>,
    inflight: Vec<InFlight>,
    /// Percentage of packets lost (0–100).
    pub loss_pct: u64,
    /// While set, nothing is delivered (a partition of the LAN).
    pub partitioned: bool,
    rng: u64,
}

pub fn group(n: u16, prio: u8, vip: [u8; 4]) -> GroupConfig {
    let mut g = GroupConfig::new(n, Version::V1);
    g.priority = prio;
    g.virtual_ip = Some(Ipv4Addr::from(vip));
    g
}

pub fn preempt(
    mut g: GroupConfig,
    minimum_s: u32,
    reload_s: Option<u32>,
    sync_s: Option<u32>,
) -> GroupConfig {
    g.preempt = Some(PreemptConfig {
        minimum_s,
        reload_s,
        sync_s,
    });
    g
}

pub fn timers(mut g: GroupConfig, hello_ms: u32, hold_ms: u32) -> GroupConfig {
    g.timers = Some(TimersConfig { hello_ms, hold_ms });
    g
}

pub fn track(mut g: GroupConfig, iface: &str, decrement: u8) -> GroupConfig {
    g.track.push(TrackConfig {
        interface: iface.to_owned(),
        decrement,
    });
    g
}

pub fn md5(mut g: GroupConfig, key: &str) -> GroupConfig {
    g.auth = AuthConfig::Md5 {
        key: key.to_owned(),
        key_id: 0,
    };
    g
}

/// An interface config: `idx` selects the address 10.<lan>.0.<idx>.
pub fn iface(name: &str, lan: u8, idx: u8, groups: Vec<GroupConfig>) -> InterfaceConfig {
    InterfaceConfig {
        name: name.to_owned(),
        address: Ipv4Addr::new(10, lan, 0, idx),
        mac: [0x02, 0, 0, 0, lan, idx],
        delay: None,
        groups,
    }
}

impl Lab {
    pub fn new() -> Self {
        Self {
            now: Instant::ZERO,
            routers: Vec::new(),
            inflight: Vec::new(),
            loss_pct: 0,
            partitioned: false,
            rng: 0x9e37_79b9_7f4a_7c15,
        }
    }

    /// Adds a router (not started).
    pub fn add(&mut self, name: &str, ifaces: Vec<InterfaceConfig>) -> usize {
        let addrs = ifaces.iter().map(|i| (i.name.clone(), i.address)).collect();
        let links = ifaces.iter().map(|i| (i.name.clone(), true)).collect();
        let speaker = Speaker::new(ifaces).expect("valid config");
        self.routers.push(Router {
            name: name.to_owned(),
            speaker,
            addrs,
            powered: false,
            links,
            actions: Vec::new(),
        });
        self.routers.len() - 1
    }

    pub fn start(&mut self, r: usize) {
        self.routers[r].powered = true;
        let now = self.now;
        self.routers[r].speaker.handle_start(now);
        self.drain(r);
    }

    /// Graceful daemon stop on router `r` (Resign from Active groups), then power-off.
    pub fn shutdown(&mut self, r: usize) {
        let now = self.now;
        self.routers[r].speaker.handle_shutdown(now);
        self.drain(r);
        self.routers[r].powered = false;
    }

    /// Abrupt power-off: no Resign, no more packets.
    pub fn power_off(&mut self, r: usize) {
        self.routers[r].powered = false;
        self.inflight.retain(|p| p.to != r);
    }

    /// Resumes a router stopped by [`Lab::power_off`] without restarting it: the same speaker is driven
    /// again after the gap (a frozen process receiving SIGCONT).
    pub fn thaw(&mut self, r: usize) {
        self.routers[r].powered = true;
    }

    /// Sets a link (HSRP-carrying or tracked-only) up or down on router `r`.
    pub fn link(&mut self, r: usize, iface: &str, up: bool) {
        match self.routers[r].links.iter_mut().find(|(n, _)| n == iface) {
            Some(l) => l.1 = up,
            None => self.routers[r].links.push((iface.to_owned(), up)),
        }
        let now = self.now;
        self.routers[r].speaker.handle_link(now, iface, up);
        self.drain(r);
    }

    /// The redundancy manager's preemption hold on router `r`.
    pub fn hold(&mut self, r: usize, sel: &hsrp::GroupSelector, reason: Option<&str>) -> usize {
        let now = self.now;
        let n = self.routers[r]
            .speaker
            .set_preempt_hold(now, sel, reason.map(str::to_owned));
        self.drain(r);
        n
    }

    /// A requested resign (planned switchover) on router `r`.
    pub fn resign(&mut self, r: usize, sel: &hsrp::GroupSelector) -> usize {
        let now = self.now;
        let n = self.routers[r].speaker.resign(now, sel);
        self.drain(r);
        n
    }

    fn link_up(&self, r: usize, iface: &str) -> bool {
        self.routers[r]
            .links
            .iter()
            .find(|(n, _)| n == iface)
            .is_none_or(|(_, u)| *u)
    }

    fn lost(&mut self) -> bool {
        if self.loss_pct == 0 {
            return false;
        }
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        self.rng % 100 < self.loss_pct
    }

    /// Injects raw bytes as if received by router `to` on `iface` from `src` with `ttl`.
    pub fn inject(&mut self, to: usize, iface: &str, src: Ipv4Addr, ttl: u8, bytes: &[u8]) {
        let now = self.now;
        self.routers[to]
            .speaker
            .handle_packet(now, iface, src, ttl, bytes);
        self.drain(to);
    }

    fn drain(&mut self, r: usize) {
        while let Some(a) = self.routers[r].speaker.poll_action() {
            if let Action::Send { iface, bytes, .. } = &a {
                let src = self.routers[r]
                    .addrs
                    .iter()
                    .find(|(n, _)| n == iface)
                    .map(|(_, a)| *a);
                if let Some(src) = src
                    && self.link_up(r, iface)
                {
                    for to in 0..self.routers.len() {
                        if to == r || !self.routers[to].powered || !self.link_up(to, iface) {
                            continue;
                        }
                        if self.partitioned || self.lost() {
                            continue;
                        }
                        self.inflight.push(InFlight {
                            at: self.now + LATENCY,
                            to,
                            iface: iface.clone(),
                            src,
                            bytes: bytes.clone(),
                        });
                    }
                }
            }
            self.routers[r].actions.push((self.now, a));
        }
    }

    /// Advances virtual time to `until`, processing every packet and timer on the way.
    pub fn run_until(&mut self, until: Instant) {
        loop {
            let next_timer = (0..self.routers.len())
                .filter(|r| self.routers[*r].powered)
                .filter_map(|r| self.routers[r].speaker.poll_timeout())
                .min();
            let next_pkt = self.inflight.iter().map(|p| p.at).min();
            let next = match (next_timer, next_pkt) {
                (Some(a), Some(b)) => a.min(b),
                (a, b) => a.or(b).unwrap_or(Instant::NEVER),
            };
            if next > until {
                self.now = until;
                return;
            }
            self.now = self.now.max(next);
            let now = self.now;
            let due: Vec<InFlight> = {
                let (due, rest): (Vec<_>, Vec<_>) = self.inflight.drain(..).partition(|p| p.at <= now);
                self.inflight = rest;
                due
            };
            for p in due {
                if self.routers[p.to].powered && self.link_up(p.to, &p.iface) {
                    self.routers[p.to]
                        .speaker
                        .handle_packet(now, &p.iface, p.src, 1, &p.bytes);
                    self.drain(p.to);
                }
            }
            for r in 0..self.routers.len() {
                if self.routers[r].powered && self.routers[r].speaker.poll_timeout().is_some_and(|t| t <= now)
                {
                    self.routers[r].speaker.handle_timeout(now);
                    self.drain(r);
                }
            }
        }
    }

    pub fn run_for(&mut self, d: Duration) {
        let until = self.now + d;
        self.run_until(until);
    }

    pub fn state(&self, r: usize, iface: &str, group: u16) -> State {
        self.routers[r].speaker.state(iface, group).expect("group exists")
    }

    pub fn status(&self, r: usize) -> Vec<GroupStatus> {
        self.routers[r].speaker.status(self.now)
    }

    pub fn group_status(&self, r: usize, iface: &str, group: u16) -> GroupStatus {
        self.status(r)
            .into_iter()
            .find(|g| g.interface == iface && g.group == group)
            .expect("group")
    }

    /// Routers (powered) whose group is Active.
    pub fn actives(&self, iface: &str, group: u16) -> Vec<usize> {
        (0..self.routers.len())
            .filter(|r| self.routers[*r].powered && self.state(*r, iface, group) == State::Active)
            .collect()
    }

    /// Time of the first transition of router `r` to `to` at or after `since`.
    pub fn became(&self, r: usize, group: u16, to: State, since: Instant) -> Option<Instant> {
        self.routers[r].actions.iter().find_map(|(t, a)| match a {
            Action::StateChanged { group: g, to: s, .. } if *g == group && *s == to && *t >= since => {
                Some(*t)
            }
            _ => None,
        })
    }

    /// Time of the last packet router `r` sent.
    pub fn last_send(&self, r: usize) -> Option<Instant> {
        self.routers[r]
            .actions
            .iter()
            .rev()
            .find_map(|(t, a)| matches!(a, Action::Send { .. }).then_some(*t))
    }

    pub fn count_actions(&self, r: usize, f: impl Fn(&Action) -> bool) -> usize {
        self.routers[r].actions.iter().filter(|(_, a)| f(a)).count()
    }
}

pub fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

pub fn ms(m: u64) -> Duration {
    Duration::from_millis(m)
}
