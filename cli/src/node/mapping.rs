//! Pure mapping of the running configuration (`cli::config::Config`) and the interface map onto what each
//! core and driver takes: the HSRP driver spec, the IPC association, the SSO configuration and HA summary,
//! the inspect engine configuration with its data-plane spec, and the HA sync configuration.
//!
//! Nothing here does I/O; [`NodePlan::from_config`] is unit-tested on the seed's configurations.

use std::net::IpAddr;

use crate::config::{
    AclAction as CliAclAction, AclAddress, AclLine, AclProtocol, Config, InspectBinding, InspectProtocol,
    PortMatch as CliPort, SctpTransport, StandbyAuth, StandbyGroup,
};
use crate::daemon::InterfaceMap;

/// The HSRP part: the driver spec (None when no interface runs a standby group).
pub type HsrpPlan = Option<hsrp::driver::DriverSpec>;

/// The inspect part: engine configuration, interface map and data-plane knobs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InspectPlan {
    /// The engine configuration (interface index = position in the configuration's interface list).
    pub engine: inspect::EngineConfig,
    /// Engine interface index → Linux interface name.
    pub interfaces: Vec<(u16, String)>,
    /// First NFQUEUE number.
    pub queue_base: u16,
    /// Workers (= queues).
    pub workers: u16,
    /// `ip inspect dataplane fail-open`.
    pub fail_open: bool,
}

impl InspectPlan {
    /// Whether the data plane must be restarted (rather than reconfigured) to go from `self` to `new`.
    pub fn needs_restart(&self, new: &Self) -> bool {
        self.queue_base != new.queue_base || self.workers != new.workers || self.fail_open != new.fail_open
    }
}

/// The SSO part.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SsoPlan {
    /// `scheme standby NAME`.
    pub scheme_group: String,
    /// Whether the IPC association carries `security key`.
    pub security_configured: bool,
    /// The HA summary exchanged with the peer.
    pub summary: sso::HaConfigSummary,
}

/// Everything the node runs, derived from one configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodePlan {
    /// HSRP driver spec.
    pub hsrp: HsrpPlan,
    /// Tracking objects for the HSRP driver (`track N interface IF line-protocol`).
    pub track_objects: Vec<hsrp::TrackObjectConfig>,
    /// IPC association (None without `association 1`, when it is shut down, or when its ports are missing).
    pub ipc: Option<ipc::AssociationConfig>,
    /// Why `ipc` is None although an association is configured (e.g. a bad address), for the logs.
    pub ipc_problem: Option<String>,
    /// Redundancy manager (None without `redundancy inter-device` / `scheme standby`).
    pub sso: Option<SsoPlan>,
    /// Inspect data plane (None when no interface carries `ip inspect` or `ip access-group`).
    pub inspect: Option<InspectPlan>,
    /// HA sync configuration.
    pub sync: inspect::ha::SyncConfig,
}

impl NodePlan {
    /// Maps `config` with the interface names of `interfaces`.
    pub fn from_config(config: &Config, interfaces: &InterfaceMap) -> Self {
        let (ipc, ipc_problem) = match ipc_plan(config) {
            Ok(v) => (v, None),
            Err(e) => (None, Some(e)),
        };
        Self {
            hsrp: hsrp_plan(config, interfaces),
            track_objects: track_plan(config),
            ipc,
            ipc_problem,
            sso: sso_plan(config),
            inspect: inspect_plan(config, interfaces),
            sync: sync_config(config),
        }
    }
}

fn hsrp_group(iface_version: u8, use_bia: bool, g: &StandbyGroup) -> hsrp::GroupConfig {
    let version = if iface_version == 2 {
        hsrp::Version::V2
    } else {
        hsrp::Version::V1
    };
    let mut out = hsrp::GroupConfig::new(g.group, version);
    out.name = g.name.clone();
    out.priority = g.priority;
    out.preempt = g.preempt.map(|p| hsrp::PreemptConfig {
        minimum_s: p.delay_minimum.unwrap_or(0),
        reload_s: p.delay_reload,
        sync_s: p.delay_sync,
    });
    out.timers = g.timers.map(|t| hsrp::TimersConfig {
        hello_ms: u32::try_from(t.hello.as_millis()).unwrap_or(u32::MAX),
        hold_ms: u32::try_from(t.hold.as_millis()).unwrap_or(u32::MAX),
    });
    out.virtual_ip = g.ip;
    out.secondary_ips = g.secondary_ips.clone();
    out.auth = match &g.authentication {
        None => hsrp::AuthConfig::default(),
        Some(StandbyAuth::Text(s)) => hsrp::AuthConfig::Text(s.clone()),
        Some(StandbyAuth::Md5(k)) => hsrp::AuthConfig::Md5 {
            key: k.clone(),
            key_id: 0,
        },
    };
    out.mac_address = g.mac_address.as_deref().and_then(parse_dotted_mac);
    out.use_bia = use_bia;
    out.track = g
        .tracks
        .iter()
        .filter(|t| t.object.is_none())
        .map(|t| hsrp::TrackConfig {
            interface: t.interface.clone(),
            decrement: t.decrement,
        })
        .collect();
    out.track_objects = g
        .tracks
        .iter()
        .filter_map(|t| {
            t.object.map(|object| hsrp::ObjectTrackConfig {
                object,
                decrement: t.decrement,
                shutdown: t.shutdown,
            })
        })
        .collect();
    out
}

/// The tracking objects, by number.
fn track_plan(config: &Config) -> Vec<hsrp::TrackObjectConfig> {
    let mut v: Vec<hsrp::TrackObjectConfig> = config
        .track_objects
        .iter()
        .map(|t| hsrp::TrackObjectConfig {
            object: t.number,
            interface: t.interface.clone(),
            delay_up_s: t.delay_up,
            delay_down_s: t.delay_down,
        })
        .collect();
    v.sort_by_key(|t| t.object);
    v
}

/// `0000.0c07.ac01` → bytes.
pub fn parse_dotted_mac(s: &str) -> Option<[u8; 6]> {
    let hex: String = s
        .chars()
        .filter(|c| *c != '.' && *c != ':' && *c != '-')
        .collect();
    if hex.len() != 12 {
        return None;
    }
    let mut out = [0u8; 6];
    for (i, b) in out.iter_mut().enumerate() {
        *b = u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

fn hsrp_plan(config: &Config, map: &InterfaceMap) -> HsrpPlan {
    let mut interfaces = Vec::new();
    let mut tracked: Vec<(String, String)> = Vec::new();
    for iface in config
        .interfaces
        .iter()
        .filter(|i| !i.standby.groups.is_empty() && !i.shutdown)
    {
        let groups: Vec<hsrp::GroupConfig> = iface
            .standby
            .groups
            .iter()
            .map(|g| hsrp_group(iface.standby.version, iface.standby.use_bia, g))
            .collect();
        for g in &iface.standby.groups {
            for t in g.tracks.iter().filter(|t| t.object.is_none()) {
                if !tracked.iter().any(|(n, _)| n == &t.interface) {
                    tracked.push((t.interface.clone(), map.linux_name(&t.interface).to_string()));
                }
            }
        }
        interfaces.push(hsrp::driver::DriverInterface {
            name: iface.name.clone(),
            linux_name: map.linux_name(&iface.name).to_string(),
            delay: iface.standby.delay.map(|d| hsrp::StartDelay {
                minimum_s: d.minimum,
                reload_s: d.reload,
            }),
            groups,
        });
    }
    if interfaces.is_empty() {
        return None;
    }
    for t in &config.track_objects {
        if !tracked.iter().any(|(n, _)| n == &t.interface) {
            tracked.push((t.interface.clone(), map.linux_name(&t.interface).to_string()));
        }
    }
    Some(hsrp::driver::DriverSpec {
        interfaces,
        tracked,
        garp_interval_ms: 50,
    })
}

fn ipc_plan(config: &Config) -> Result<Option<ipc::AssociationConfig>, String> {
    let Some(assoc) = config.ipc.as_ref().and_then(|z| z.association.as_ref()) else {
        return Ok(None);
    };
    if assoc.shutdown {
        return Ok(None);
    }
    let Some(sctp) = assoc.sctp.as_ref() else {
        return Ok(None);
    };
    let (Some(local), Some(remote)) = (sctp.local.as_ref(), sctp.remote.as_ref()) else {
        return Ok(None);
    };
    let local_ips: Vec<IpAddr> = local.ips.iter().map(|a| IpAddr::V4(*a)).collect();
    let remote_ips: Vec<IpAddr> = remote.ips.iter().map(|a| IpAddr::V4(*a)).collect();
    let mut cfg = ipc::AssociationConfig::new(local.port, remote.port, local_ips, remote_ips)
        .map_err(|e| format!("association 1: {e}"))?;
    cfg.rto_min_ms = local.retransmit_min_ms;
    cfg.rto_max_ms = local.retransmit_max_ms;
    cfg.path_retransmit = local.path_retransmit;
    cfg.assoc_retransmit = local.assoc_retransmit;
    if let Some(ms) = local.keepalive_ms {
        cfg.heartbeat_interval_ms = ms;
    }
    cfg.transport = match local.transport {
        SctpTransport::Auto => ipc::TransportChoice::Auto,
        SctpTransport::Kernel => ipc::TransportChoice::Kernel,
        SctpTransport::Raw => ipc::TransportChoice::Raw,
        SctpTransport::Udp => ipc::TransportChoice::Udp,
    };
    cfg.security_key = config.redundancy.as_ref().and_then(|r| r.security_key.clone());
    cfg.validated()
        .map(Some)
        .map_err(|e| format!("association 1: {e}"))
}

fn protocols_of(config: &Config, binding: &InspectBinding) -> Vec<String> {
    config
        .inspect
        .rule(&binding.rule)
        .map(|r| {
            r.entries
                .iter()
                .map(|e| e.protocol.keyword().to_string())
                .collect()
        })
        .unwrap_or_default()
}

/// The HA-relevant summary exchanged with the peer.
pub fn ha_summary(config: &Config) -> sso::HaConfigSummary {
    let scheme_group = config
        .redundancy
        .as_ref()
        .and_then(|r| r.scheme_standby.clone())
        .unwrap_or_default();
    let mut interfaces = Vec::new();
    for iface in &config.interfaces {
        for (binding, direction) in [
            (&iface.inspect_in, sso::Direction::In),
            (&iface.inspect_out, sso::Direction::Out),
        ] {
            if let Some(b) = binding {
                interfaces.push(sso::HaInterface {
                    name: iface.name.clone(),
                    direction,
                    rule: b.rule.clone(),
                    protocols: protocols_of(config, b),
                    redundancy_group: b.redundancy_group.clone(),
                });
            }
        }
    }
    let virtual_ips = config
        .standby_groups()
        .flat_map(|(_, g)| g.ip.into_iter().chain(g.secondary_ips.iter().copied()))
        .map(|a| a.to_string())
        .collect();
    sso::HaConfigSummary {
        scheme_group,
        interfaces,
        update_interval_s: u16::try_from(config.inspect.redundancy_update_seconds).unwrap_or(u16::MAX),
        virtual_ips,
    }
}

fn sso_plan(config: &Config) -> Option<SsoPlan> {
    let red = config.redundancy.as_ref()?;
    let scheme_group = red.scheme_standby.clone()?;
    Some(SsoPlan {
        scheme_group,
        security_configured: red.security_key.is_some(),
        summary: ha_summary(config),
    })
}

fn engine_binding(b: &Option<InspectBinding>) -> Option<inspect::config::InterfaceInspect> {
    b.as_ref().map(|b| inspect::config::InterfaceInspect {
        rule: b.rule.clone(),
        redundancy_group: b.redundancy_group.clone(),
    })
}

fn acl_addr(a: AclAddress) -> inspect::config::AddrMatch {
    match a {
        AclAddress::Any => inspect::config::AddrMatch::Any,
        AclAddress::Host(h) => inspect::config::AddrMatch::Host(IpAddr::V4(h)),
        AclAddress::Network { address, wildcard } => inspect::config::AddrMatch::Wildcard {
            addr: address,
            wildcard,
        },
    }
}

fn acl_port(p: Option<CliPort>) -> inspect::config::PortMatch {
    use inspect::config::PortMatch as P;
    match p {
        None => P::Any,
        Some(CliPort::Eq(v)) => P::Eq(v),
        Some(CliPort::Neq(v)) => P::Neq(v),
        Some(CliPort::Gt(v)) => P::Gt(v),
        Some(CliPort::Lt(v)) => P::Lt(v),
        Some(CliPort::Range(a, b)) => P::Range(a, b),
    }
}

/// The engine configuration of `config` (interface index = position in `config.interfaces`).
pub fn engine_config(config: &Config) -> inspect::EngineConfig {
    use inspect::config as ic;
    let rules = config
        .inspect
        .rules
        .iter()
        .map(|r| ic::InspectRule {
            name: r.name.clone(),
            protocols: r
                .entries
                .iter()
                .map(|e| ic::RuleProtocol {
                    proto: match e.protocol {
                        InspectProtocol::Tcp => inspect::record::L4Proto::TCP,
                        InspectProtocol::Udp => inspect::record::L4Proto::UDP,
                    },
                    timeout_s: e.timeout,
                })
                .collect(),
        })
        .collect();
    let interfaces = config
        .interfaces
        .iter()
        .map(|i| ic::InterfaceConfig {
            name: i.name.clone(),
            inspect_in: engine_binding(&i.inspect_in),
            inspect_out: engine_binding(&i.inspect_out),
            acl_in: i.access_group_in.clone(),
            acl_out: i.access_group_out.clone(),
        })
        .collect();
    let acls = config
        .access_lists
        .iter()
        .map(|a| ic::AclConfig {
            name: a.name.clone(),
            entries: a
                .entries
                .iter()
                .filter_map(|e| match &e.line {
                    AclLine::Remark { .. } => None,
                    AclLine::Rule(r) => Some(ic::AclEntry {
                        seq: e.sequence,
                        action: match r.action {
                            CliAclAction::Permit => ic::AclAction::Permit,
                            CliAclAction::Deny => ic::AclAction::Deny,
                        },
                        proto: match r.protocol {
                            AclProtocol::Ip => ic::AclProto::Ip,
                            AclProtocol::Tcp => ic::AclProto::Tcp,
                            AclProtocol::Udp => ic::AclProto::Udp,
                            AclProtocol::Icmp => ic::AclProto::Icmp,
                            AclProtocol::Number(n) => ic::AclProto::Number(n),
                        },
                        src: acl_addr(r.source),
                        src_port: acl_port(r.source_port),
                        dst: acl_addr(r.destination),
                        dst_port: acl_port(r.destination_port),
                        established: r.established,
                        log: r.log,
                    }),
                })
                .collect(),
        })
        .collect();
    let g = &config.inspect;
    inspect::EngineConfig {
        rules,
        interfaces,
        acls,
        tcp_idle_s: g.tcp_idle_time,
        tcp_synwait_s: g.tcp_synwait_time,
        tcp_finwait_s: g.tcp_finwait_time,
        udp_idle_s: g.udp_idle_time,
        max_incomplete_high: g.max_incomplete_high,
        max_incomplete_low: g.max_incomplete_low,
        audit_trail: g.audit_trail,
        ha_update_interval_s: g.redundancy_update_seconds,
        ..inspect::EngineConfig::default()
    }
}

fn inspect_plan(config: &Config, map: &InterfaceMap) -> Option<InspectPlan> {
    let used = config.interfaces.iter().any(|i| {
        i.inspect_in.is_some()
            || i.inspect_out.is_some()
            || i.access_group_in.is_some()
            || i.access_group_out.is_some()
    });
    if !used {
        return None;
    }
    let interfaces = config
        .interfaces
        .iter()
        .enumerate()
        .filter_map(|(pos, i)| Some((u16::try_from(pos).ok()?, map.linux_name(&i.name).to_string())))
        .collect();
    Some(InspectPlan {
        engine: engine_config(config),
        interfaces,
        queue_base: config.inspect.dataplane_queue,
        workers: u16::from(config.inspect.dataplane_workers.max(1)),
        fail_open: config.inspect.dataplane_fail_open,
    })
}

fn sync_config(_config: &Config) -> inspect::ha::SyncConfig {
    // No configuration command tunes the sync batching; the defaults are documented in docs/inspect-ha.md.
    inspect::ha::SyncConfig::default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seed(name: &str) -> Config {
        let text = match name {
            "r1" => include_str!("../../tests/data/ha-R1.cfg"),
            _ => include_str!("../../tests/data/ha-R2.cfg"),
        };
        let (loaded, _warnings) = crate::daemon::core::load_with_warnings(text, name);
        match loaded {
            Ok(c) => c,
            Err(e) => panic!("seed {name} does not load: {e:?}"),
        }
    }

    fn lab_map() -> InterfaceMap {
        InterfaceMap::from_specs(&["Ethernet0/0=e0", "Ethernet1/0=e1"]).expect("map")
    }

    #[test]
    fn tracking_objects_map_to_the_driver() {
        let text = "track 2 interface Ethernet2/0 line-protocol\n delay up 10\n!\ntrack 1 interface Ethernet1/0 line-protocol\n!\n\
                    interface Ethernet0/0\n ip address 10.0.0.1 255.255.255.0\n standby 1 ip 10.0.0.3\n\
                    standby 1 track 1 decrement 20\n standby 1 track 2 shutdown\n standby 1 track Ethernet1/0\n";
        let report = crate::lang::load_config(text, "t.cfg");
        let cfg = report.config.expect("loads");
        let map =
            InterfaceMap::from_specs(&["Ethernet0/0=e0", "Ethernet1/0=e1", "Ethernet2/0=e2"]).expect("map");
        let plan = NodePlan::from_config(&cfg, &map);
        assert_eq!(
            plan.track_objects,
            vec![
                hsrp::TrackObjectConfig {
                    object: 1,
                    interface: "Ethernet1/0".into(),
                    delay_up_s: None,
                    delay_down_s: None
                },
                hsrp::TrackObjectConfig {
                    object: 2,
                    interface: "Ethernet2/0".into(),
                    delay_up_s: Some(10),
                    delay_down_s: None
                },
            ]
        );
        let spec = plan.hsrp.expect("hsrp");
        let g = &spec.interfaces[0].groups[0];
        assert_eq!(
            g.track_objects,
            vec![
                hsrp::ObjectTrackConfig {
                    object: 1,
                    decrement: 20,
                    shutdown: false
                },
                hsrp::ObjectTrackConfig {
                    object: 2,
                    decrement: 10,
                    shutdown: true
                },
            ]
        );
        assert_eq!(g.track.len(), 1, "the interface form stays an interface track");
        assert_eq!(
            spec.tracked,
            vec![
                ("Ethernet1/0".to_string(), "e1".to_string()),
                ("Ethernet2/0".to_string(), "e2".to_string())
            ]
        );
    }

    #[test]
    fn seed_r1_maps_to_hsrp_groups_with_tracking_and_delays() {
        let plan = NodePlan::from_config(&seed("r1"), &lab_map());
        let spec = plan.hsrp.expect("hsrp");
        assert_eq!(spec.interfaces.len(), 2);
        let inside = &spec.interfaces[0];
        assert_eq!(
            (inside.name.as_str(), inside.linux_name.as_str()),
            ("Ethernet0/0", "e0")
        );
        assert_eq!(
            inside.delay,
            Some(hsrp::StartDelay {
                minimum_s: 120,
                reload_s: 120
            })
        );
        let g = &inside.groups[0];
        assert_eq!(g.group, 1);
        assert_eq!(g.priority, 60);
        assert_eq!(g.name.as_deref(), Some("HAin"));
        assert_eq!(g.virtual_ip, Some("10.0.0.3".parse().expect("ip")));
        assert_eq!(
            g.timers,
            Some(hsrp::TimersConfig {
                hello_ms: 1000,
                hold_ms: 10_000
            })
        );
        assert!(g.preempt.is_some());
        assert_eq!(
            g.track,
            vec![hsrp::TrackConfig {
                interface: "Ethernet1/0".into(),
                decrement: 10
            }]
        );
        assert_eq!(g.auth, hsrp::AuthConfig::Text("cisco".into()));
        let outside = &spec.interfaces[1];
        assert_eq!(outside.linux_name, "e1");
        assert_eq!(outside.groups[0].name.as_deref(), Some("HAout"));
        assert!(
            spec.tracked
                .contains(&("Ethernet1/0".to_string(), "e1".to_string()))
        );
        assert!(
            spec.tracked
                .contains(&("Ethernet0/0".to_string(), "e0".to_string()))
        );
    }

    #[test]
    fn seed_r2_learns_timers() {
        let plan = NodePlan::from_config(&seed("r2"), &lab_map());
        let spec = plan.hsrp.expect("hsrp");
        assert_eq!(spec.interfaces[0].groups[0].timers, None);
    }

    #[test]
    fn seed_maps_the_association() {
        let plan = NodePlan::from_config(&seed("r1"), &lab_map());
        let a = plan.ipc.expect("ipc");
        assert_eq!((a.local_port, a.remote_port), (5000, 5000));
        assert_eq!(a.local_ips, vec!["10.0.0.1".parse::<IpAddr>().expect("ip")]);
        assert_eq!(a.remote_ips, vec!["10.0.0.2".parse::<IpAddr>().expect("ip")]);
        assert_eq!(a.security_key, None);
        assert_eq!(a.transport, ipc::TransportChoice::Auto);
        assert!(plan.ipc_problem.is_none());
    }

    #[test]
    fn security_key_and_transport_reach_the_association() {
        let mut c = seed("r1");
        c.redundancy.as_mut().expect("red").security_key = Some("s3cret".into());
        if let Some(l) = c
            .ipc
            .as_mut()
            .and_then(|z| z.association.as_mut())
            .and_then(|a| a.sctp.as_mut())
            .and_then(|s| s.local.as_mut())
        {
            l.transport = SctpTransport::Udp;
            l.retransmit_min_ms = 400;
            l.retransmit_max_ms = 900;
            l.path_retransmit = 3;
        }
        let plan = NodePlan::from_config(&c, &lab_map());
        let a = plan.ipc.expect("ipc");
        assert_eq!(a.security_key.as_deref(), Some("s3cret"));
        assert_eq!(a.transport, ipc::TransportChoice::Udp);
        assert_eq!((a.rto_min_ms, a.rto_max_ms, a.path_retransmit), (400, 900, 3));
        assert!(plan.sso.expect("sso").security_configured);
    }

    #[test]
    fn shut_association_is_not_started() {
        let mut c = seed("r1");
        c.ipc
            .as_mut()
            .and_then(|z| z.association.as_mut())
            .expect("assoc")
            .shutdown = true;
        assert!(NodePlan::from_config(&c, &lab_map()).ipc.is_none());
    }

    #[test]
    fn seed_maps_the_redundancy_summary() {
        let plan = NodePlan::from_config(&seed("r1"), &lab_map());
        let s = plan.sso.expect("sso");
        assert_eq!(s.scheme_group, "HAin");
        assert!(!s.security_configured);
        assert_eq!(s.summary.scheme_group, "HAin");
        assert_eq!(s.summary.update_interval_s, 60);
        assert_eq!(
            s.summary.virtual_ips,
            vec!["10.0.0.3".to_string(), "211.0.0.3".to_string()]
        );
        assert_eq!(
            s.summary.interfaces,
            vec![sso::HaInterface {
                name: "Ethernet1/0".into(),
                direction: sso::Direction::Out,
                rule: "ha-protocols".into(),
                protocols: vec!["tcp".into(), "udp".into()],
                redundancy_group: Some("HAin".into()),
            }]
        );
        // Both seed routers describe the same HA configuration.
        let s2 = NodePlan::from_config(&seed("r2"), &lab_map()).sso.expect("sso");
        assert_eq!(s.summary.normalized(), s2.summary.normalized());
    }

    #[test]
    fn seed_maps_the_engine_and_data_plane() {
        let plan = NodePlan::from_config(&seed("r1"), &lab_map());
        let p = plan.inspect.expect("inspect");
        assert_eq!(p.interfaces, vec![(0, "e0".to_string()), (1, "e1".to_string())]);
        assert_eq!((p.queue_base, p.workers, p.fail_open), (0, 1, false));
        let e = &p.engine;
        assert_eq!(e.tcp_idle_s, 180);
        assert_eq!(e.ha_update_interval_s, 60);
        assert_eq!(e.rules.len(), 1);
        assert_eq!(e.rules[0].protocols.len(), 2);
        assert_eq!(e.interfaces[1].acl_in.as_deref(), Some("fw-ha-acl"));
        let out = e.interfaces[1].inspect_out.as_ref().expect("binding");
        assert_eq!(
            (out.rule.as_str(), out.redundancy_group.as_deref()),
            ("ha-protocols", Some("HAin"))
        );
        assert!(e.interfaces[0].inspect_in.is_none() && e.interfaces[0].acl_in.is_none());
        let acl = &e.acls[0];
        assert_eq!(acl.name, "fw-ha-acl");
        assert_eq!(acl.entries.len(), 3, "r1's ACL ends with deny any any");
        assert_eq!(
            acl.entries[0].src,
            inspect::config::AddrMatch::Host("211.0.0.2".parse().expect("ip"))
        );
        assert_eq!(acl.entries[2].action, inspect::config::AclAction::Deny);
        assert!(!p.needs_restart(&p.clone()));
    }

    #[test]
    fn no_inspect_means_no_data_plane() {
        let mut c = seed("r1");
        for i in &mut c.interfaces {
            i.inspect_in = None;
            i.inspect_out = None;
            i.access_group_in = None;
            i.access_group_out = None;
        }
        assert!(NodePlan::from_config(&c, &lab_map()).inspect.is_none());
    }

    #[test]
    fn dotted_macs_parse() {
        assert_eq!(
            parse_dotted_mac("0000.0c07.ac01"),
            Some([0, 0, 0x0c, 0x07, 0xac, 1])
        );
        assert_eq!(parse_dotted_mac("zz00.0c07.ac01"), None);
        assert_eq!(parse_dotted_mac("0000.0c07"), None);
    }
}

/// Prefix and shape of the macvlans the HSRP driver creates for an Active group's virtual MAC
/// (`hsrp<parent ifindex>g<group>`, `v` instead of `g` for version 2; see `hsrp::driver`). Packets sent to
/// the virtual MAC arrive on that macvlan, not on the parent: the data plane must count them as the
/// parent's traffic, or they would bypass inspection and the ACLs.
pub fn vmac_interface_name(parent_ifindex: u32, version2: bool, group: u16) -> String {
    format!("hsrp{parent_ifindex}{}{group}", if version2 { 'v' } else { 'g' })
}

/// Adds, for every standby group of an inspected interface, the group's macvlan under the same engine
/// interface index (`ifindex` resolves a Linux interface name; interfaces it cannot resolve are skipped).
pub fn add_vmac_interfaces(
    plan: &mut InspectPlan,
    config: &Config,
    map: &InterfaceMap,
    ifindex: impl Fn(&str) -> Option<u32>,
) {
    let mut extra = Vec::new();
    for (idx, linux) in &plan.interfaces {
        let Some(iface) = config.interfaces.get(usize::from(*idx)) else {
            continue;
        };
        if map.linux_name(&iface.name) != linux {
            continue;
        }
        let Some(parent) = ifindex(linux) else { continue };
        for g in &iface.standby.groups {
            extra.push((
                *idx,
                vmac_interface_name(parent, iface.standby.version == 2, g.group),
            ));
        }
    }
    plan.interfaces.extend(extra);
}

#[cfg(test)]
mod vmac_tests {
    use super::*;

    #[test]
    fn vmac_macvlans_join_their_parent_interface() {
        let text = include_str!("../../tests/data/ha-R1.cfg");
        let (loaded, _) = crate::daemon::core::load_with_warnings(text, "r1");
        let config = loaded.expect("seed loads");
        let map = InterfaceMap::from_specs(&["Ethernet0/0=e0", "Ethernet1/0=e1"]).expect("map");
        let mut plan = NodePlan::from_config(&config, &map).inspect.expect("inspect");
        add_vmac_interfaces(&mut plan, &config, &map, |n| match n {
            "e0" => Some(7),
            "e1" => Some(9),
            _ => None,
        });
        assert_eq!(
            plan.interfaces,
            vec![
                (0, "e0".into()),
                (1, "e1".into()),
                (0, "hsrp7g1".into()),
                (1, "hsrp9g2".into())
            ]
        );
    }
}
