//! `show standby` snapshots and their IOS-style renderers (pure functions, golden-tested).

use std::fmt::Write as _;
use std::net::Ipv4Addr;

use serde::{Deserialize, Serialize};
use timebase::Instant;

use crate::config::{AuthConfig, PreemptConfig};
use crate::group::{Group, GroupCounters, InitReason};
use crate::packet::State;
use crate::speaker::Speaker;

/// One tracked interface in [`GroupStatus`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrackedStatus {
    /// Interface (configuration name).
    pub interface: String,
    /// Whether it is up.
    pub up: bool,
    /// Priority decrement while down.
    pub decrement: u8,
    /// Tracking object number (`standby N track OBJECT`); absent for interface tracking. `interface` is
    /// then the object's interface when the driver knows it, else empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object: Option<u16>,
    /// `shutdown`: the group goes to Init while the object is down (present only when set).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub shutdown: bool,
}

/// Snapshot of one group, the JSON element of `show standby --json`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupStatus {
    /// Interface as named in the configuration.
    pub interface: String,
    /// Group number.
    pub group: u16,
    /// 1 or 2.
    pub version: u8,
    /// `standby N name`, if any.
    pub name: Option<String>,
    /// `Init`, `Learn`, `Listen`, `Speak`, `Standby` or `Active`.
    pub state: String,
    /// Why the group is in Init (`interface down`, `delay`), else null.
    pub state_detail: Option<String>,
    /// Effective priority (after tracking).
    pub priority: u8,
    /// Configured priority.
    pub configured_priority: u8,
    /// Preemption configured.
    pub preempt: bool,
    /// Preemption delays, when preemption is configured.
    pub preempt_delay: Option<PreemptConfig>,
    /// Why preemption is held by the redundancy manager, else null.
    pub preempt_hold: Option<String>,
    /// Primary virtual IP (configured or learned), else null.
    pub virtual_ip: Option<Ipv4Addr>,
    /// Secondary virtual IPs.
    pub secondary_ips: Vec<Ipv4Addr>,
    /// Virtual MAC in IOS dotted form (`0000.0c07.ac01`).
    pub virtual_mac: String,
    /// Where the virtual MAC comes from: `default`, `configured` (`mac-address`) or `bia` (`use-bia`).
    pub virtual_mac_source: String,
    /// `local`, an address, or `unknown`.
    pub active_router: String,
    /// The Active router's priority when it is another router.
    pub active_priority: Option<u32>,
    /// Milliseconds until the Active router's entry expires.
    pub active_expires_ms: Option<u64>,
    /// `local`, an address, or `unknown`.
    pub standby_router: String,
    /// The Standby router's priority when it is another router.
    pub standby_priority: Option<u32>,
    /// Milliseconds until the Standby router's entry expires.
    pub standby_expires_ms: Option<u64>,
    /// Hello time in use (ms).
    pub hello_ms: u32,
    /// Hold time in use (ms).
    pub hold_ms: u32,
    /// Whether the timers are configured (false: learned or default).
    pub timers_configured: bool,
    /// Milliseconds until our next hello, when we send hellos.
    pub next_hello_ms: Option<u64>,
    /// Number of state changes.
    pub state_changes: u64,
    /// Milliseconds since the last state change.
    pub last_state_change_ms: Option<u64>,
    /// Reason of the last state change.
    pub last_change_reason: String,
    /// Tracked interfaces.
    pub tracked: Vec<TrackedStatus>,
    /// `text` or `md5`.
    pub authentication: String,
    /// Per-group counters.
    pub counters: GroupCounters,
}

/// IOS dotted MAC form.
pub fn dotted_mac(m: [u8; 6]) -> String {
    format!(
        "{:02x}{:02x}.{:02x}{:02x}.{:02x}{:02x}",
        m[0], m[1], m[2], m[3], m[4], m[5]
    )
}

fn ms_until(now: Instant, at: Instant) -> u64 {
    at.saturating_since(now).as_millis()
}

impl Group {
    /// Snapshot for `show standby`.
    pub fn status(&self, now: Instant) -> GroupStatus {
        let (hello_ms, hold_ms) = self.timers_ms();
        let local = |s: State| self.state == s;
        let (active_router, active_priority, active_expires_ms) = if local(State::Active) {
            ("local".to_owned(), None, None)
        } else if let Some(a) = self.active {
            (
                a.address.to_string(),
                Some(a.priority),
                Some(ms_until(now, a.expires)),
            )
        } else {
            ("unknown".to_owned(), None, None)
        };
        let (standby_router, standby_priority, standby_expires_ms) = if local(State::Standby) {
            ("local".to_owned(), None, None)
        } else if let Some(s) = self.standby {
            (
                s.address.to_string(),
                Some(s.priority),
                Some(ms_until(now, s.expires)),
            )
        } else {
            ("unknown".to_owned(), None, None)
        };
        let state_detail = (self.state == State::Init).then(|| {
            match self.init_reason {
                InitReason::Delay => "delay",
                InitReason::InterfaceDown => "interface down",
                InitReason::NotStarted => "not started",
                InitReason::TrackShutdown => "tracking shutdown",
            }
            .to_owned()
        });
        GroupStatus {
            interface: self.iface.clone(),
            group: self.cfg.group,
            version: self.cfg.version.number(),
            name: self.cfg.name.clone(),
            state: self.state.name().to_owned(),
            state_detail,
            priority: self.priority(),
            configured_priority: self.cfg.priority,
            preempt: self.cfg.preempt.is_some(),
            preempt_delay: self.cfg.preempt,
            preempt_hold: self.preempt_hold_reason().map(str::to_owned),
            virtual_ip: self.virtual_ip(),
            secondary_ips: self.cfg.secondary_ips.clone(),
            virtual_mac: dotted_mac(self.virtual_mac()),
            virtual_mac_source: if self.cfg.mac_address.is_some() {
                "configured"
            } else if self.cfg.use_bia {
                "bia"
            } else {
                "default"
            }
            .to_owned(),
            active_router,
            active_priority,
            active_expires_ms,
            standby_router,
            standby_priority,
            standby_expires_ms,
            hello_ms,
            hold_ms,
            timers_configured: self.cfg.timers.is_some(),
            next_hello_ms: self.timer(crate::group::Timer::Hello).map(|t| ms_until(now, t)),
            state_changes: self.state_changes,
            last_state_change_ms: self.last_change.map(|t| now.saturating_since(t).as_millis()),
            last_change_reason: self.last_reason.clone(),
            tracked: self
                .cfg
                .track
                .iter()
                .zip(&self.track_down)
                .map(|(t, d)| TrackedStatus {
                    interface: t.interface.clone(),
                    up: !d,
                    decrement: t.decrement,
                    object: None,
                    shutdown: false,
                })
                .chain(
                    self.cfg
                        .track_objects
                        .iter()
                        .zip(&self.object_down)
                        .map(|(t, d)| TrackedStatus {
                            interface: String::new(),
                            up: !d,
                            decrement: t.decrement,
                            object: Some(t.object),
                            shutdown: t.shutdown,
                        }),
                )
                .collect(),
            authentication: match self.cfg.auth {
                AuthConfig::Text(_) => "text",
                AuthConfig::Md5 { .. } => "md5",
            }
            .to_owned(),
            counters: self.counters,
        }
    }
}

impl Speaker {
    /// Snapshots of every group, in configuration order.
    pub fn status(&self, now: Instant) -> Vec<GroupStatus> {
        self.groups.iter().map(|g| g.status(now)).collect()
    }
}

fn timer_text(ms: u32) -> String {
    if ms.is_multiple_of(1000) {
        format!("{} sec", ms / 1000)
    } else {
        format!("{ms} msec")
    }
}

fn secs3(ms: u64) -> String {
    format!("{}.{:03}", ms / 1000, ms % 1000)
}

fn hms(ms: u64) -> String {
    let s = ms / 1000;
    format!("{:02}:{:02}:{:02}", s / 3600, (s / 60) % 60, s % 60)
}

/// `show standby`.
pub fn render_standby(groups: &[GroupStatus]) -> String {
    let mut o = String::new();
    for g in groups {
        let _ = writeln!(
            o,
            "{} - Group {}{}",
            g.interface,
            g.group,
            if g.version == 2 { " (version 2)" } else { "" }
        );
        match &g.state_detail {
            Some(d) => {
                let _ = writeln!(o, "  State is {} ({d})", g.state);
            }
            None => {
                let _ = writeln!(o, "  State is {}", g.state);
            }
        }
        match g.last_state_change_ms {
            Some(ms) => {
                let _ = writeln!(
                    o,
                    "    {} state change{}, last state change {}",
                    g.state_changes,
                    if g.state_changes == 1 { "" } else { "s" },
                    hms(ms)
                );
            }
            None => {
                let _ = writeln!(o, "    0 state changes");
            }
        }
        match g.virtual_ip {
            Some(ip) => {
                let _ = writeln!(o, "  Virtual IP address is {ip}");
            }
            None => {
                let _ = writeln!(o, "  Virtual IP address is unknown");
            }
        }
        for ip in &g.secondary_ips {
            let _ = writeln!(o, "    Secondary virtual IP address {ip}");
        }
        let _ = writeln!(
            o,
            "  Active virtual MAC address is {}",
            if g.state == "Active" || g.active_router != "unknown" {
                g.virtual_mac.as_str()
            } else {
                "unknown"
            }
        );
        let source = match g.virtual_mac_source.as_str() {
            "default" => format!("v{} default", g.version),
            "bia" => "bia".to_owned(),
            _ => "cfgd".to_owned(),
        };
        let _ = writeln!(o, "    Local virtual MAC address is {} ({source})", g.virtual_mac);
        let _ = writeln!(
            o,
            "  Hello time {}, hold time {}",
            timer_text(g.hello_ms),
            timer_text(g.hold_ms)
        );
        if let Some(n) = g.next_hello_ms {
            let _ = writeln!(o, "    Next hello sent in {} secs", secs3(n));
        }
        match (&g.preempt_delay, g.preempt) {
            (Some(p), true) => {
                let mut line = "  Preemption enabled".to_owned();
                let mut parts = Vec::new();
                if p.minimum_s > 0 {
                    parts.push(format!("min {} secs", p.minimum_s));
                }
                if let Some(r) = p.reload_s {
                    parts.push(format!("reload {r} secs"));
                }
                if let Some(s) = p.sync_s {
                    parts.push(format!("sync {s} secs"));
                }
                if !parts.is_empty() {
                    line.push_str(", delay ");
                    line.push_str(&parts.join(", "));
                }
                let _ = writeln!(o, "{line}");
            }
            _ => {
                let _ = writeln!(o, "  Preemption disabled");
            }
        }
        if let Some(h) = &g.preempt_hold {
            let _ = writeln!(o, "    Preemption held: {h}");
        }
        match (g.active_priority, g.active_expires_ms) {
            (Some(p), Some(e)) => {
                let _ = writeln!(
                    o,
                    "  Active router is {}, priority {p} (expires in {} sec)",
                    g.active_router,
                    secs3(e)
                );
            }
            _ => {
                let _ = writeln!(o, "  Active router is {}", g.active_router);
            }
        }
        match (g.standby_priority, g.standby_expires_ms) {
            (Some(p), Some(e)) => {
                let _ = writeln!(
                    o,
                    "  Standby router is {}, priority {p} (expires in {} sec)",
                    g.standby_router,
                    secs3(e)
                );
            }
            _ => {
                let _ = writeln!(o, "  Standby router is {}", g.standby_router);
            }
        }
        let _ = writeln!(
            o,
            "  Priority {} (configured {})",
            g.priority, g.configured_priority
        );
        for t in &g.tracked {
            if let Some(n) = t.object {
                let state = if t.up { "Up" } else { "Down" };
                let _ = if t.shutdown {
                    writeln!(o, "    Track object {n} state {state} shutdown")
                } else {
                    writeln!(o, "    Track object {n} state {state} decrement {}", t.decrement)
                };
                continue;
            }
            let _ = writeln!(
                o,
                "    Track interface {} state {} decrement {}",
                t.interface,
                if t.up { "Up" } else { "Down" },
                t.decrement
            );
        }
        if g.authentication == "md5" {
            let _ = writeln!(o, "  Authentication MD5, key-string");
        }
        match &g.name {
            Some(n) => {
                let _ = writeln!(o, "  Group name is \"{n}\" (cfgd)");
            }
            None => {
                let _ = writeln!(
                    o,
                    "  Group name is \"hsrp-{}-{}\" (default)",
                    short_interface(&g.interface),
                    g.group
                );
            }
        }
    }
    o
}

/// `show standby INTERFACE [GROUP]`: the groups of one interface (name compared case-insensitively, the
/// full or the abbreviated form), optionally one group.
pub fn select(groups: &[GroupStatus], interface: &str, group: Option<u16>) -> Vec<GroupStatus> {
    groups
        .iter()
        .filter(|g| {
            g.interface.eq_ignore_ascii_case(interface)
                || short_interface(&g.interface).eq_ignore_ascii_case(interface)
        })
        .filter(|g| group.is_none_or(|n| g.group == n))
        .cloned()
        .collect()
}

/// Abbreviates an IOS interface name the way `show standby brief` does (`Ethernet0/0` → `Et0/0`).
pub fn short_interface(name: &str) -> String {
    let digit = name.find(|c: char| c.is_ascii_digit()).unwrap_or(name.len());
    let (kind, rest) = name.split_at(digit);
    if kind.len() > 2 && !rest.is_empty() && kind.chars().all(|c| c.is_ascii_alphabetic()) {
        format!("{}{rest}", &kind[..2])
    } else {
        name.to_owned()
    }
}

/// `show standby brief`.
pub fn render_standby_brief(groups: &[GroupStatus]) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "                     P indicates configured to preempt.");
    let _ = writeln!(o, "                     |");
    let _ = writeln!(
        o,
        "Interface   Grp  Pri P State   Active          Standby         Virtual IP"
    );
    for g in groups {
        let vip = g
            .virtual_ip
            .map(|v| v.to_string())
            .unwrap_or_else(|| "unknown".to_owned());
        let _ = writeln!(
            o,
            "{:<11} {:<4} {:<3} {} {:<7} {:<15} {:<15} {}",
            short_interface(&g.interface),
            g.group,
            g.priority,
            if g.preempt { 'P' } else { ' ' },
            g.state,
            g.active_router,
            g.standby_router,
            vip
        );
    }
    o
}
