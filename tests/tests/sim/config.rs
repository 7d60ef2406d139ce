//! The two routers' configurations as the cores take them: seed Figure 1 (ha-R1 / ha-R2), with the knobs a
//! scenario may change collected in [`PairConfig`].

use std::net::{IpAddr, Ipv4Addr};

use hsrp::{GroupConfig, InterfaceConfig, PreemptConfig, StartDelay, TimersConfig, TrackConfig, Version};
use inspect::EngineConfig;
use inspect::config::{
    AclAction, AclConfig, AclEntry, AclProto, AddrMatch, InspectRule, InterfaceConfig as InspectIface,
    InterfaceInspect, PortMatch, RuleProtocol,
};
use inspect::ha::SyncConfig;
use inspect::record::L4Proto;
use ipc::AssociationConfig;
use sso::{Direction, HaConfigSummary, HaInterface};

/// The inside interface (HSRP group 1 "HAin", the scheme group).
pub const INSIDE: &str = "Ethernet0/0";
/// The outside interface (HSRP group 2 "HAout", `ip inspect ha-protocols out redundancy stateful HAin`).
pub const OUTSIDE: &str = "Ethernet1/0";
/// Engine interface index of [`INSIDE`].
pub const IN_IDX: u16 = 0;
/// Engine interface index of [`OUTSIDE`].
pub const OUT_IDX: u16 = 1;
/// The scheme group.
pub const SCHEME: &str = "HAin";
/// The outside group's name.
pub const OUTSIDE_GROUP: &str = "HAout";

/// Knobs of a simulated pair (both routers use the same values unless a per-router field says otherwise).
#[derive(Clone, Debug)]
pub struct PairConfig {
    /// `standby N priority P` per router (seed: 60 on both).
    pub priority: [u8; 2],
    /// `standby N preempt delay minimum S` per router (seed: no delay).
    pub preempt_delay_s: [u32; 2],
    /// `standby delay minimum S reload S` (seed: 120/120; the lab shortens it to 1/1).
    pub start_delay: StartDelay,
    /// HSRP hello/hold in ms configured on ha-R1 (ha-R2 learns them, as in the seed).
    pub hsrp_timers_ms: (u32, u32),
    /// Configure the timers on ha-R2 too (the seed does not).
    pub timers_on_both: bool,
    /// `ip inspect redundancy update seconds N` per router (seed: 60; the scenarios use 10).
    pub update_s: [u32; 2],
    /// `ip inspect tcp idle-time` (seed: 180).
    pub tcp_idle_s: u32,
    /// HA sync tunables.
    pub sync: SyncConfig,
    /// IPC association: `retransmit-timeout MIN MAX`.
    pub rto_ms: (u32, u32),
    /// IPC association: `assoc-retransmit N`.
    pub assoc_retransmit: u8,
    /// IPC association heartbeat interval (ms).
    pub heartbeat_ms: u32,
    /// IPC association send-queue bound (bytes).
    pub send_queue_bytes: usize,
    /// One-way delay of each LAN (µs).
    pub lan_delay_us: u64,
    /// Seed of every random choice (link loss, hash seeds, boot ids).
    pub seed: u64,
}

impl Default for PairConfig {
    fn default() -> Self {
        Self {
            priority: [60, 60],
            preempt_delay_s: [0, 0],
            start_delay: StartDelay {
                minimum_s: 1,
                reload_s: 1,
            },
            hsrp_timers_ms: (1_000, 10_000),
            timers_on_both: false,
            update_s: [10, 10],
            tcp_idle_s: 180,
            sync: SyncConfig::default(),
            rto_ms: (ipc::config::DEFAULT_RTO_MIN_MS, ipc::config::DEFAULT_RTO_MAX_MS),
            assoc_retransmit: ipc::config::DEFAULT_ASSOC_RETRANSMIT,
            heartbeat_ms: ipc::config::DEFAULT_HEARTBEAT_INTERVAL_MS,
            send_queue_bytes: ipc::config::DEFAULT_SEND_QUEUE_BYTES,
            lan_delay_us: 100,
            seed: 1,
        }
    }
}

/// Router `r`'s (0 = ha-R1, 1 = ha-R2) address on the inside LAN.
pub fn inside_addr(r: usize) -> Ipv4Addr {
    Ipv4Addr::new(10, 0, 0, 1 + r as u8)
}

/// Router `r`'s address on the outside LAN.
pub fn outside_addr(r: usize) -> Ipv4Addr {
    Ipv4Addr::new(211, 0, 0, 1 + r as u8)
}

/// Router `r`'s address on LAN `lan` (0 inside, 1 outside).
pub fn lan_addr(r: usize, lan: usize) -> Ipv4Addr {
    if lan == 0 { inside_addr(r) } else { outside_addr(r) }
}

fn group(cfg: &PairConfig, r: usize, number: u16, name: &str, vip: Ipv4Addr, track: &str) -> GroupConfig {
    let mut g = GroupConfig::new(number, Version::V1);
    g.name = Some(name.to_owned());
    g.priority = cfg.priority[r];
    g.preempt = Some(PreemptConfig {
        minimum_s: cfg.preempt_delay_s[r],
        ..PreemptConfig::default()
    });
    g.virtual_ip = Some(vip);
    if r == 0 || cfg.timers_on_both {
        g.timers = Some(TimersConfig {
            hello_ms: cfg.hsrp_timers_ms.0,
            hold_ms: cfg.hsrp_timers_ms.1,
        });
    }
    g.track = vec![TrackConfig {
        interface: track.to_owned(),
        decrement: hsrp::config::DEFAULT_TRACK_DECREMENT,
    }];
    g
}

/// The HSRP interfaces of router `r`: group 1 "HAin" on the inside tracking the outside, group 2
/// "HAout" on the outside tracking the inside.
pub fn hsrp_interfaces(cfg: &PairConfig, r: usize) -> Vec<InterfaceConfig> {
    let mac = |lan: u8| [0x02, 0, 0, 0, lan, 1 + r as u8];
    vec![
        InterfaceConfig {
            name: INSIDE.into(),
            address: inside_addr(r),
            mac: mac(0),
            delay: Some(cfg.start_delay),
            groups: vec![group(cfg, r, 1, SCHEME, Ipv4Addr::new(10, 0, 0, 3), OUTSIDE)],
        },
        InterfaceConfig {
            name: OUTSIDE.into(),
            address: outside_addr(r),
            mac: mac(1),
            delay: Some(cfg.start_delay),
            groups: vec![group(
                cfg,
                r,
                2,
                OUTSIDE_GROUP,
                Ipv4Addr::new(211, 0, 0, 3),
                INSIDE,
            )],
        },
    ]
}

/// Router `r`'s inspect configuration (the seed's): `ip inspect name ha-protocols tcp|udp`, the binding on the outside
/// interface, and `fw-ha-acl` inbound on the outside.
pub fn engine_config(cfg: &PairConfig, r: usize) -> EngineConfig {
    let rule = |proto| RuleProtocol {
        proto,
        timeout_s: None,
    };
    let host = |a: [u8; 4]| AddrMatch::Host(IpAddr::from(a));
    let entry = |seq, action, src, dst| AclEntry {
        seq,
        action,
        proto: AclProto::Ip,
        src,
        src_port: PortMatch::Any,
        dst,
        dst_port: PortMatch::Any,
        established: false,
        log: false,
    };
    EngineConfig {
        rules: vec![InspectRule {
            name: "ha-protocols".into(),
            protocols: vec![rule(L4Proto::TCP), rule(L4Proto::UDP)],
        }],
        interfaces: vec![
            InspectIface {
                name: INSIDE.into(),
                ..Default::default()
            },
            InspectIface {
                name: OUTSIDE.into(),
                inspect_out: Some(InterfaceInspect {
                    rule: "ha-protocols".into(),
                    redundancy_group: Some(SCHEME.into()),
                }),
                acl_in: Some("fw-ha-acl".into()),
                ..Default::default()
            },
        ],
        acls: vec![AclConfig {
            name: "fw-ha-acl".into(),
            entries: vec![
                entry(10, AclAction::Permit, host([211, 0, 0, 2]), host([211, 0, 0, 1])),
                entry(20, AclAction::Permit, host([211, 0, 0, 1]), host([211, 0, 0, 2])),
                entry(30, AclAction::Deny, AddrMatch::Any, AddrMatch::Any),
            ],
        }],
        tcp_idle_s: cfg.tcp_idle_s,
        ha_update_interval_s: cfg.update_s[r],
        ..EngineConfig::default()
    }
}

/// The HA summary router `r` sends its peer (identical on both unless the knobs differ per router).
pub fn summary(cfg: &PairConfig, r: usize) -> HaConfigSummary {
    HaConfigSummary {
        scheme_group: SCHEME.into(),
        interfaces: vec![HaInterface {
            name: OUTSIDE.into(),
            direction: Direction::Out,
            rule: "ha-protocols".into(),
            protocols: vec!["tcp".into(), "udp".into()],
            redundancy_group: Some(SCHEME.into()),
        }],
        update_interval_s: u16::try_from(cfg.update_s[r]).unwrap_or(u16::MAX),
        virtual_ips: vec!["10.0.0.3".into(), "211.0.0.3".into()],
    }
}

/// Router `r`'s IPC association: 10.0.0.r:5000 ↔ the peer's 10.0.0.x:5000, with the pair's knobs.
pub fn association(cfg: &PairConfig, r: usize) -> AssociationConfig {
    let local = IpAddr::V4(inside_addr(r));
    let remote = IpAddr::V4(inside_addr(1 - r));
    let mut a = AssociationConfig::new(5000, 5000, vec![local], vec![remote])
        .and_then(|a| a.with_retransmit_timeout(cfg.rto_ms.0, cfg.rto_ms.1))
        .and_then(|a| a.with_assoc_retransmit(cfg.assoc_retransmit))
        .and_then(|a| a.with_heartbeat_interval(cfg.heartbeat_ms))
        .unwrap_or_else(|e| panic!("bad association knobs: {e}"));
    a.send_queue_bytes = cfg.send_queue_bytes;
    a
}
