//! Property: for generated configurations, `parse(render(cfg)) == cfg`, the rendered text loads without
//! warnings, and rendering is stable (render ∘ parse ∘ render = render).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;

use cli::config::*;
use cli::lang::parse_config;
use proptest::collection::vec;
use proptest::option::of;
use proptest::prelude::*;

const IFACES: &[&str] = &[
    "Ethernet0/0",
    "Ethernet1/0",
    "GigabitEthernet0/1",
    "FastEthernet0/0",
    "Serial0/0/0",
    "eth0",
    "eth1",
    "lan-in",
];

fn word() -> impl Strategy<Value = String> {
    "[A-Za-z][A-Za-z0-9_.-]{0,9}"
}

fn ip() -> impl Strategy<Value = Ipv4Addr> {
    any::<u32>().prop_map(Ipv4Addr::from)
}

fn timer_value(msec_range: (u32, u32), sec_range: (u32, u32)) -> impl Strategy<Value = TimerValue> {
    prop_oneof![
        (msec_range.0..=msec_range.1).prop_map(|value| TimerValue { value, msec: true }),
        (sec_range.0..=sec_range.1).prop_map(|value| TimerValue { value, msec: false }),
    ]
}

fn group(number: u16) -> impl Strategy<Value = StandbyGroup> {
    (
        of(ip()),
        vec(ip(), 0..3),
        any::<u8>(),
        of((of(0u32..=3600), of(0u32..=3600), of(0u32..=3600))),
        // Indexes past IFACES stand for tracking objects 1-3 (with `shutdown` when the flag is set).
        vec((0usize..IFACES.len() + 3, 1u8..=255, any::<bool>()), 0..4),
        of((
            timer_value((15, 999), (1, 254)),
            timer_value((50, 3000), (2, 255)),
        )
            .prop_filter("hold > hello", |(h, d)| d.as_millis() > h.as_millis())),
        of(prop_oneof![
            "[a-z0-9]{1,8}".prop_map(StandbyAuth::Text),
            "[A-Za-z0-9]{1,20}".prop_map(StandbyAuth::Md5)
        ]),
        of(word()),
        of("[0-9a-f]{4}\\.[0-9a-f]{4}\\.[0-9a-f]{4}"),
    )
        .prop_map(
            move |(ip, secondaries, priority, preempt, tracks, timers, authentication, name, mac_address)| {
                let mut secondary_ips = Vec::new();
                for s in secondaries {
                    if Some(s) != ip && !secondary_ips.contains(&s) {
                        secondary_ips.push(s);
                    }
                }
                let mut seen = BTreeSet::new();
                let tracks = tracks
                    .into_iter()
                    .filter(|(i, _, _)| seen.insert(*i))
                    .map(|(i, decrement, shutdown)| match IFACES.get(i) {
                        Some(name) => Track {
                            interface: name.to_string(),
                            object: None,
                            decrement,
                            shutdown: false,
                        },
                        None => Track {
                            interface: String::new(),
                            object: Some(u16::try_from(i - IFACES.len() + 1).unwrap()),
                            decrement: if shutdown { 10 } else { decrement },
                            shutdown,
                        },
                    })
                    .collect();
                StandbyGroup {
                    group: number,
                    ip,
                    secondary_ips,
                    priority,
                    preempt: preempt.map(|(delay_minimum, delay_reload, delay_sync)| Preempt {
                        delay_minimum,
                        delay_reload,
                        delay_sync,
                    }),
                    tracks,
                    timers: timers.map(|(hello, hold)| StandbyTimers { hello, hold }),
                    authentication,
                    name,
                    mac_address,
                }
            },
        )
}

fn interface(name: &'static str) -> impl Strategy<Value = Interface> {
    (
        of((ip(), 8u32..=30)),
        any::<bool>(),
        1u8..=2,
        any::<bool>(),
        of((0u32..=10000, 0u32..=10000)),
        vec(0u16..=4095, 0..3),
        of((word(), of(word()))),
        of((word(), of(word()))),
        of(word()),
        of(word()),
    )
        .prop_flat_map(
            move |(addr, shutdown, version, use_bia, delay, numbers, ins, outs, agi, ago)| {
                let max = if version == 2 { 4095 } else { 255 };
                let numbers: BTreeSet<u16> = numbers.into_iter().map(|n| n % (max + 1)).collect();
                let groups: Vec<_> = numbers.into_iter().map(group).collect();
                groups.prop_map(move |groups| Interface {
                    name: name.to_string(),
                    address: addr.map(|(address, len)| Ipv4Prefix {
                        address,
                        mask: Ipv4Addr::from(u32::MAX << (32 - len)),
                    }),
                    shutdown,
                    standby: StandbyInterface {
                        version,
                        use_bia,
                        delay: delay.map(|(minimum, reload)| StandbyDelay { minimum, reload }),
                        groups,
                    },
                    inspect_in: ins.clone().map(|(rule, redundancy_group)| InspectBinding {
                        rule,
                        redundancy_group,
                    }),
                    inspect_out: outs.clone().map(|(rule, redundancy_group)| InspectBinding {
                        rule,
                        redundancy_group,
                    }),
                    access_group_in: agi.clone(),
                    access_group_out: ago.clone(),
                })
            },
        )
}

fn ips2() -> impl Strategy<Value = Vec<Ipv4Addr>> {
    vec(ip(), 0..=2).prop_map(|mut v| {
        v.dedup();
        v
    })
}

fn ipc() -> impl Strategy<Value = IpcZone> {
    let local = (
        1u16..=65535,
        ips2(),
        (300u32..=60000, 300u32..=60000),
        2u8..=10,
        2u8..=10,
        prop_oneof![
            Just(SctpTransport::Auto),
            Just(SctpTransport::Kernel),
            Just(SctpTransport::Raw),
            Just(SctpTransport::Udp)
        ],
        of(100u32..=60000),
    )
        .prop_map(
            |(port, ips, (a, b), path_retransmit, assoc_retransmit, transport, keepalive_ms)| SctpLocal {
                port,
                ips,
                retransmit_min_ms: a.min(b),
                retransmit_max_ms: a.max(b),
                path_retransmit,
                assoc_retransmit,
                transport,
                keepalive_ms,
            },
        );
    let remote = (1u16..=65535, ips2()).prop_map(|(port, ips)| SctpRemote { port, ips });
    of((any::<bool>(), of((of(local), of(remote))))).prop_map(|assoc| IpcZone {
        association: assoc.map(|(shutdown, sctp)| IpcAssociation {
            id: 1,
            shutdown,
            sctp: sctp.map(|(local, remote)| SctpConfig { local, remote }),
        }),
    })
}

fn inspect() -> impl Strategy<Value = InspectGlobal> {
    (
        vec(
            (
                word(),
                any::<bool>(),
                of(5u32..=43200),
                of(5u32..=43200),
                any::<bool>(),
            ),
            0..3,
        ),
        (
            1u32..=2_147_483,
            1u32..=2_147_483,
            1u32..=2_147_483,
            1u32..=2_147_483,
        ),
        (of(1u32..=2_147_483_647), of(1u32..=2_147_483_647)),
        (any::<bool>(), 10u32..=60, any::<u16>(), 1u8..=8, any::<bool>()),
    )
        .prop_map(
            |(rules, timers, (high, low), (audit, update, queue, workers, fail_open))| {
                let mut seen = BTreeSet::new();
                let rules = rules
                    .into_iter()
                    .filter(|r| seen.insert(r.0.clone()))
                    .map(|(name, tcp_first, t1, t2, both)| {
                        let (p1, p2) = if tcp_first {
                            (InspectProtocol::Tcp, InspectProtocol::Udp)
                        } else {
                            (InspectProtocol::Udp, InspectProtocol::Tcp)
                        };
                        let mut entries = vec![InspectRuleEntry {
                            protocol: p1,
                            timeout: t1,
                        }];
                        if both {
                            entries.push(InspectRuleEntry {
                                protocol: p2,
                                timeout: t2,
                            });
                        }
                        InspectRule { name, entries }
                    })
                    .collect();
                InspectGlobal {
                    rules,
                    tcp_idle_time: timers.0,
                    udp_idle_time: timers.1,
                    tcp_synwait_time: timers.2,
                    tcp_finwait_time: timers.3,
                    max_incomplete_high: high,
                    max_incomplete_low: low,
                    audit_trail: audit,
                    redundancy_update_seconds: update,
                    dataplane_queue: queue,
                    dataplane_workers: workers,
                    dataplane_fail_open: fail_open,
                }
            },
        )
}

fn acl_address() -> impl Strategy<Value = AclAddress> {
    prop_oneof![
        Just(AclAddress::Any),
        ip().prop_map(AclAddress::Host),
        (ip(), ip()).prop_map(|(address, wildcard)| AclAddress::Network { address, wildcard }),
    ]
}

/// Port numbers, often low ones so that many have an IOS name (printed by name, read back as the number).
fn port_number() -> impl Strategy<Value = u16> {
    prop_oneof![any::<u16>(), 0u16..600]
}

fn port() -> impl Strategy<Value = PortMatch> {
    prop_oneof![
        port_number().prop_map(PortMatch::Eq),
        port_number().prop_map(PortMatch::Neq),
        port_number().prop_map(PortMatch::Gt),
        port_number().prop_map(PortMatch::Lt),
        (port_number(), port_number()).prop_map(|(a, b)| PortMatch::Range(a.min(b), a.max(b))),
    ]
}

fn acl_line() -> impl Strategy<Value = AclLine> {
    let rule = (
        any::<bool>(),
        prop_oneof![
            Just(AclProtocol::Ip),
            Just(AclProtocol::Tcp),
            Just(AclProtocol::Udp),
            Just(AclProtocol::Icmp),
            any::<u8>()
                .prop_filter("named protocols", |n| ![1, 6, 17].contains(n))
                .prop_map(AclProtocol::Number),
        ],
        acl_address(),
        of(port()),
        acl_address(),
        of(port()),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(
            |(permit, protocol, source, sp, destination, dp, established, log)| {
                let ports = matches!(protocol, AclProtocol::Tcp | AclProtocol::Udp);
                AclLine::Rule(AclRule {
                    action: if permit {
                        AclAction::Permit
                    } else {
                        AclAction::Deny
                    },
                    protocol,
                    source,
                    source_port: sp.filter(|_| ports),
                    destination,
                    destination_port: dp.filter(|_| ports),
                    established: established && protocol == AclProtocol::Tcp,
                    log,
                })
            },
        );
    prop_oneof![
        1 => "[A-Za-z0-9][A-Za-z0-9 |!_-]{0,15}[A-Za-z0-9]".prop_map(|text| AclLine::Remark { text }),
        3 => rule,
    ]
}

fn access_lists() -> impl Strategy<Value = Vec<AccessList>> {
    vec((word(), vec((of(1u32..=200), acl_line()), 0..5)), 0..3).prop_map(|lists| {
        let mut seen = BTreeSet::new();
        lists
            .into_iter()
            .filter(|(name, _)| seen.insert(name.clone()))
            .map(|(name, lines)| {
                let mut entries: BTreeMap<u32, AclLine> = BTreeMap::new();
                let mut next = 10;
                for (seq, line) in lines {
                    let seq = seq.unwrap_or(next);
                    entries.entry(seq).or_insert(line);
                    next = entries.keys().last().copied().unwrap_or(0) + 10;
                }
                AccessList {
                    name,
                    entries: entries
                        .into_iter()
                        .map(|(sequence, line)| AclEntry { sequence, line })
                        .collect(),
                }
            })
            .collect()
    })
}

fn config() -> impl Strategy<Value = Config> {
    let interfaces = proptest::sample::subsequence(IFACES.to_vec(), 0..=4)
        .prop_flat_map(|names| names.into_iter().map(interface).collect::<Vec<_>>());
    (
        prop_oneof![Just(String::new()), word()],
        interfaces,
        of((of(word()), of(word()))),
        of(ipc()),
        inspect(),
        access_lists(),
        vec(
            (1u16..=1000, 0usize..IFACES.len(), of(0u32..=180), of(0u32..=180)),
            0..3,
        ),
    )
        .prop_map(
            |(hostname, interfaces, red, ipc, inspect, access_lists, objects)| Config {
                hostname,
                interfaces,
                redundancy: red.map(|(scheme_standby, security_key)| RedundancyInterDevice {
                    scheme_standby,
                    security_key,
                }),
                ipc,
                inspect,
                access_lists,
                track_objects: {
                    let mut v: Vec<TrackObject> = Vec::new();
                    for (number, i, delay_up, delay_down) in objects {
                        if !v.iter().any(|t| t.number == number) {
                            v.push(TrackObject {
                                number,
                                interface: IFACES[i].to_string(),
                                delay_up,
                                delay_down,
                            });
                        }
                    }
                    v.sort_by_key(|t| t.number);
                    v
                },
                origins: Origins::default(),
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn parse_of_render_is_identity(cfg in config()) {
        let text = render(&cfg);
        let report = parse_config(&text, "rendered");
        prop_assert!(report.errors.is_empty(), "{:#?}\n{text}", report.errors);
        prop_assert!(report.warnings.is_empty(), "{:#?}\n{text}", report.warnings);
        let parsed = report.config.expect("config");
        prop_assert_eq!(&parsed, &cfg, "{}", text);
        prop_assert_eq!(render(&parsed), text);
    }

    #[test]
    fn json_round_trips(cfg in config()) {
        let json = serde_json::to_string(&cfg).unwrap();
        let back: Config = serde_json::from_str(&json).unwrap();
        prop_assert_eq!(back, cfg);
    }
}
