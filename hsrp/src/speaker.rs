//! The per-router container: every standby group on every interface, packet dispatch and tracking.
//!
//! Polling order for a driver (as for every core in this workspace): feed inputs with `handle_*`, then
//! drain [`Speaker::poll_action`] until it returns `None` and execute the actions in order, then arm one
//! timer at [`Speaker::poll_timeout`] and call [`Speaker::handle_timeout`] when it fires.

use std::collections::{HashMap, VecDeque};
use std::net::Ipv4Addr;

use serde::{Deserialize, Serialize};
use timebase::Instant;

use crate::config::{InterfaceConfig, StartDelay, Version};
use crate::error::ConfigError;
use crate::group::{Group, Heard};
use crate::packet::{Opcode, Packet, State};

/// What the core asks its driver to do.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Action {
    /// Multicast `bytes` as the UDP payload on `iface` (224.0.0.2 for v1, 224.0.0.102 for v2, port 1985,
    /// TTL 1). With `from_virtual_mac` the frame must leave with the group's virtual MAC as source.
    Send {
        /// Interface (configuration name).
        iface: String,
        /// Group that sends.
        group: u16,
        /// HSRP version (selects the destination).
        version: Version,
        /// UDP payload.
        bytes: Vec<u8>,
        /// Source the frame from the virtual MAC (we are Active).
        from_virtual_mac: bool,
    },
    /// Become the owner of the virtual MAC and IPs on `iface`.
    InstallVirtual {
        /// Interface.
        iface: String,
        /// Group.
        group: u16,
        /// Primary then secondary virtual IPs.
        vips: Vec<Ipv4Addr>,
        /// Virtual MAC.
        vmac: [u8; 6],
    },
    /// Stop owning them.
    RemoveVirtual {
        /// Interface.
        iface: String,
        /// Group.
        group: u16,
        /// Virtual IPs.
        vips: Vec<Ipv4Addr>,
        /// Virtual MAC.
        vmac: [u8; 6],
    },
    /// Broadcast gratuitous ARP replies for every VIP at the vMAC, `count` times.
    GratuitousArp {
        /// Interface.
        iface: String,
        /// Group.
        group: u16,
        /// Virtual IPs.
        vips: Vec<Ipv4Addr>,
        /// Virtual MAC.
        vmac: [u8; 6],
        /// How many rounds.
        count: u8,
    },
    /// A group changed state (log `%HSRP-5-STATECHANGE`).
    StateChanged {
        /// Interface.
        iface: String,
        /// Group.
        group: u16,
        /// Group name.
        name: Option<String>,
        /// Old state.
        from: State,
        /// New state.
        to: State,
        /// Why.
        reason: String,
    },
    /// A received packet was dropped (for `debug standby errors` / `%HSRP-4-BADAUTH`).
    Dropped {
        /// Interface.
        iface: String,
        /// Sender.
        src: Ipv4Addr,
        /// Group, when known.
        group: Option<u16>,
        /// Named reason (the counter that was incremented).
        reason: DropReason,
    },
}

/// Why a packet was dropped; each has a counter of the same name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DropReason {
    /// Did not decode.
    Malformed,
    /// IP TTL was not 1.
    BadTtl,
    /// Sent by this router.
    FromSelf,
    /// Authentication failed.
    AuthFailure,
    /// Unknown opcode.
    UnknownOpcode,
    /// Unknown state code.
    UnknownState,
    /// Unknown version 2 TLV.
    UnknownTlv,
    /// No such group configured here.
    NoGroup,
    /// Opcode 3 advertisement (counted and ignored).
    Advertise,
    /// Received on an interface not running HSRP.
    UnknownInterface,
}

/// Router-wide counters of packets that could not be given to a group.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpeakerCounters {
    /// Undecodable packets.
    pub malformed: u64,
    /// Packets for groups we do not run.
    pub no_group: u64,
    /// Opcode 3 advertisements.
    pub advertise_in: u64,
    /// Packets on interfaces without HSRP.
    pub unknown_interface: u64,
}

/// Selects groups for [`Speaker::set_preempt_hold`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum GroupSelector {
    /// Every group with this `standby N name`.
    Name(String),
    /// One group on one interface (any version).
    Group {
        /// Interface (configuration name).
        interface: String,
        /// Group number.
        group: u16,
    },
}

#[derive(Debug)]
struct Iface {
    name: String,
    address: Ipv4Addr,
    delay: Option<StartDelay>,
    started_before: bool,
}

/// All standby groups of one router.
#[derive(Debug)]
pub struct Speaker {
    ifaces: Vec<Iface>,
    pub(crate) groups: Vec<Group>,
    links: HashMap<String, bool>,
    started: bool,
    /// When the speaker was last driven (any input); a gap longer than a group's hold time is a stall.
    last_input: Option<Instant>,
    out: VecDeque<Action>,
    pub(crate) counters: SpeakerCounters,
}

impl Speaker {
    /// Builds a speaker from validated interface configurations. Every link is assumed up until
    /// [`Speaker::handle_link`] says otherwise; nothing runs before [`Speaker::handle_start`].
    pub fn new(interfaces: Vec<InterfaceConfig>) -> Result<Self, ConfigError> {
        let mut ifaces = Vec::new();
        let mut groups = Vec::new();
        for i in interfaces {
            i.validate()?;
            if ifaces.iter().any(|o: &Iface| o.name == i.name) {
                if let Some(g) = i.groups.first() {
                    return Err(ConfigError::DuplicateGroup {
                        interface: i.name,
                        group: g.group,
                    });
                }
                continue;
            }
            for g in i.groups {
                groups.push(Group::new(g, i.name.clone(), i.address, i.mac));
            }
            ifaces.push(Iface {
                name: i.name,
                address: i.address,
                delay: i.delay,
                started_before: false,
            });
        }
        Ok(Self {
            ifaces,
            groups,
            links: HashMap::new(),
            started: false,
            last_input: None,
            out: VecDeque::new(),
            counters: SpeakerCounters::default(),
        })
    }

    fn link_is_up(&self, name: &str) -> bool {
        self.links.get(name).copied().unwrap_or(true)
    }

    fn start_iface(&mut self, now: Instant, idx: usize) {
        let iface = &mut self.ifaces[idx];
        let delay = iface.delay.map(|d| {
            if iface.started_before {
                d.minimum_s
            } else {
                d.reload_s.max(d.minimum_s)
            }
        });
        iface.started_before = true;
        let name = iface.name.clone();
        for g in self.groups.iter_mut().filter(|g| g.iface == name) {
            g.link_up(now, delay, &mut self.out);
        }
    }

    /// Starts every group whose interface is up (`standby delay` applies).
    pub fn handle_start(&mut self, now: Instant) {
        if self.started {
            return;
        }
        self.started = true;
        self.last_input = Some(now);
        for idx in 0..self.ifaces.len() {
            if self.link_is_up(&self.ifaces[idx].name) {
                self.start_iface(now, idx);
            }
        }
    }

    /// A tracking object (see [`crate::track`]) was reported up or down. Objects are up until reported
    /// otherwise; a group that tracks an undefined object should be told it is down.
    pub fn handle_track(&mut self, now: Instant, object: u16, up: bool) {
        self.note_input(now);
        for g in &mut self.groups {
            let link_up = self.links.get(&g.iface).copied().unwrap_or(true);
            g.set_object(now, object, up, self.started, link_up, &mut self.out);
        }
        if self.started {
            for g in &mut self.groups {
                g.evaluate_preempt(now, &mut self.out);
            }
        }
    }

    /// An interface (HSRP-carrying or tracked, by configuration name) went up or down.
    pub fn handle_link(&mut self, now: Instant, iface: &str, up: bool) {
        self.note_input(now);
        let was = self.links.insert(iface.to_owned(), up).unwrap_or(true);
        for g in &mut self.groups {
            let idxs: Vec<usize> = g
                .cfg
                .track
                .iter()
                .enumerate()
                .filter(|(_, t)| t.interface == iface)
                .map(|(i, _)| i)
                .collect();
            for i in idxs {
                g.set_tracked(i, !up);
            }
        }
        if self.started {
            if let Some(idx) = self.ifaces.iter().position(|i| i.name == iface) {
                if up && !was {
                    self.start_iface(now, idx);
                } else if !up {
                    for g in self.groups.iter_mut().filter(|g| g.iface == iface) {
                        g.link_down(now, &mut self.out);
                    }
                }
            }
            for g in &mut self.groups {
                g.evaluate_preempt(now, &mut self.out);
            }
        }
    }

    /// Sets or clears the redundancy manager's hold on preemption for the selected groups. Returns how
    /// many groups matched.
    pub fn set_preempt_hold(&mut self, now: Instant, which: &GroupSelector, reason: Option<String>) -> usize {
        let mut n = 0;
        for g in &mut self.groups {
            if selects(which, g) {
                n += 1;
                g.set_preempt_hold(now, reason.clone());
                g.enforce_hold(now, &mut self.out);
                g.evaluate_preempt(now, &mut self.out);
            }
        }
        n
    }

    /// Gives up the Active role on the selected groups (a planned switchover, `Action::Resign` of the
    /// redundancy manager): each selected group that is Active sends Resign and becomes Speak, so the
    /// Standby router takes over at once; it does not preempt back for one hold time (the redundancy
    /// manager's hold follows within that time). Returns how many groups resigned (selected and Active).
    pub fn resign(&mut self, now: Instant, which: &GroupSelector) -> usize {
        let mut n = 0;
        for g in &mut self.groups {
            if selects(which, g) && g.resign(now, &mut self.out) {
                n += 1;
            }
        }
        n
    }

    /// Records that the speaker is being driven at `now`. An Active group never goes a hello interval
    /// without an input (its own hello timer), so a gap longer than the group's hold time means this
    /// router was frozen: such groups step down before anything else is processed (see
    /// `Group::step_down_after_stall`).
    fn note_input(&mut self, now: Instant) {
        if let Some(last) = self.last_input
            && self.started
        {
            let stalled = now.saturating_since(last);
            for g in &mut self.groups {
                g.step_down_after_stall(now, stalled, &mut self.out);
            }
        }
        self.last_input = Some(now);
    }

    fn drop_packet(&mut self, iface: &str, src: Ipv4Addr, group: Option<u16>, reason: DropReason) {
        self.out.push_back(Action::Dropped {
            iface: iface.to_owned(),
            src,
            group,
            reason,
        });
    }

    /// A UDP datagram received on `iface` from `src` with IP TTL `ttl`.
    pub fn handle_packet(&mut self, now: Instant, iface: &str, src: Ipv4Addr, ttl: u8, bytes: &[u8]) {
        self.note_input(now);
        let Some(ifc) = self.ifaces.iter().find(|i| i.name == iface) else {
            self.counters.unknown_interface += 1;
            self.drop_packet(iface, src, None, DropReason::UnknownInterface);
            return;
        };
        let own = ifc.address;
        let Ok(packet) = Packet::decode(bytes) else {
            self.counters.malformed += 1;
            for g in self.groups.iter_mut().filter(|g| g.iface == iface) {
                g.counters.malformed += 1;
            }
            self.drop_packet(iface, src, None, DropReason::Malformed);
            return;
        };
        let (version, group, opcode, state, priority, hello_ms, hold_ms, vip, unknown_tlvs) = match &packet {
            Packet::Advertise(_) => {
                self.counters.advertise_in += 1;
                self.drop_packet(iface, src, None, DropReason::Advertise);
                return;
            }
            Packet::V1(v) => (
                Version::V1,
                u16::from(v.group),
                v.opcode,
                v.state.state(),
                u32::from(v.priority),
                u32::from(v.hellotime) * 1000,
                u32::from(v.holdtime) * 1000,
                v.virtual_ip,
                0,
            ),
            Packet::V2(v) => {
                let Some(gs) = v.group_state() else {
                    self.counters.malformed += 1;
                    self.drop_packet(iface, src, None, DropReason::Malformed);
                    return;
                };
                (
                    Version::V2,
                    gs.group,
                    gs.opcode,
                    gs.state.state(),
                    gs.priority,
                    gs.hellotime_ms,
                    gs.holdtime_ms,
                    gs.virtual_ipv4(),
                    v.unknown_tlvs(),
                )
            }
        };
        let Some(gi) = self
            .groups
            .iter()
            .position(|g| g.iface == iface && g.cfg.version == version && g.cfg.group == group)
        else {
            self.counters.no_group += 1;
            self.drop_packet(iface, src, Some(group), DropReason::NoGroup);
            return;
        };
        let reason = if src == own {
            Some(DropReason::FromSelf)
        } else if ttl != 1 {
            Some(DropReason::BadTtl)
        } else if !opcode.is_known() || opcode == Opcode::ADVERTISE {
            Some(DropReason::UnknownOpcode)
        } else if state.is_none() {
            Some(DropReason::UnknownState)
        } else if unknown_tlvs > 0 {
            Some(DropReason::UnknownTlv)
        } else if !self.groups[gi].authentic(&packet) {
            Some(DropReason::AuthFailure)
        } else {
            None
        };
        let g = &mut self.groups[gi];
        match (reason, state) {
            (None, Some(state)) => {
                let heard = Heard {
                    src,
                    opcode,
                    state,
                    priority,
                    hello_ms,
                    hold_ms,
                    vip,
                };
                g.handle_heard(now, &heard, &mut self.out);
            }
            (reason, _) => {
                let reason = reason.unwrap_or(DropReason::UnknownState);
                let c = &mut g.counters;
                match reason {
                    DropReason::FromSelf => c.from_self += 1,
                    DropReason::BadTtl => c.bad_ttl += 1,
                    DropReason::UnknownOpcode => c.unknown_opcode += 1,
                    DropReason::UnknownState => c.unknown_state += 1,
                    DropReason::UnknownTlv => c.unknown_tlv += unknown_tlvs as u64,
                    _ => c.auth_failures += 1,
                }
                self.drop_packet(iface, src, Some(group), reason);
            }
        }
    }

    /// Graceful stop (daemon shutdown, `no standby`): every running group takes event b, so an Active
    /// group sends Resign and gives up its virtual addresses.
    pub fn handle_shutdown(&mut self, now: Instant) {
        for g in &mut self.groups {
            g.link_down(now, &mut self.out);
        }
        self.started = false;
    }

    /// Fires every timer that is due.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.note_input(now);
        for g in &mut self.groups {
            if g.next_deadline().is_some_and(|d| d <= now) {
                g.handle_timeout(now, &mut self.out);
            }
        }
    }

    /// The next action to execute.
    pub fn poll_action(&mut self) -> Option<Action> {
        self.out.pop_front()
    }

    /// The earliest timer deadline.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.groups.iter().filter_map(Group::next_deadline).min()
    }

    /// Router-wide drop counters.
    pub fn counters(&self) -> SpeakerCounters {
        self.counters
    }

    /// The state of the group `group` on `iface`.
    pub fn state(&self, iface: &str, group: u16) -> Option<State> {
        self.groups
            .iter()
            .find(|g| g.iface == iface && g.cfg.group == group)
            .map(|g| g.state)
    }
}

#[cfg(test)]
#[path = "speaker_tests.rs"]
mod tests;

fn selects(which: &GroupSelector, g: &Group) -> bool {
    match which {
        GroupSelector::Name(name) => g.cfg.name.as_deref() == Some(name.as_str()),
        GroupSelector::Group { interface, group } => &g.iface == interface && g.cfg.group == *group,
    }
}
