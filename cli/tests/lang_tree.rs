//! The command tree: abbreviation, ambiguity, `no` forms, mode changes, parent-mode fallback, help, completion,
//! pipes and exec keys.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::Ipv4Addr;

use cli::config::{AclAddress, AclLine, AclProtocol, Config, PortMatch, SctpTransport, StandbyAuth};
use cli::lang::{ExecCommand, Interpreter, LineErrorKind, Mode, Outcome, OutputFilter};

fn interp() -> Interpreter {
    Interpreter::new()
}

fn exec(line: &str) -> ExecCommand {
    match interp().execute(&Mode::Exec, &Config::default(), line) {
        Ok(Outcome::Exec(cmd)) => cmd,
        other => panic!("{line}: {other:?}"),
    }
}

/// Runs lines from config mode like a session would, returning the final config and mode.
fn session(lines: &[&str]) -> (Config, Mode) {
    let i = interp();
    let mut cfg = Config::default();
    let mut mode = Mode::Config;
    for line in lines {
        match i.execute(&mode, &cfg, line) {
            Ok(Outcome::Config { candidate, mode: m }) => {
                cfg = candidate;
                mode = m;
            }
            Ok(Outcome::ModeChange(m)) => mode = m,
            Ok(Outcome::Nothing) => {}
            other => panic!("{line}: {other:?}"),
        }
    }
    (cfg, mode)
}

fn err(mode: &Mode, line: &str) -> LineErrorKind {
    interp()
        .execute(mode, &Config::default(), line)
        .expect_err(line)
        .kind
}

fn if_mode() -> Mode {
    Mode::Interface("Ethernet0/0".into())
}

#[test]
fn unique_prefixes_abbreviate_keywords() {
    assert_eq!(exec("sh stan br").key, "show standby brief");
    assert_eq!(
        exec("sh ip insp ha sess det").key,
        "show ip inspect ha sessions detail"
    );
    assert_eq!(exec("SHOW RUN").key, "show running-config");
    assert_eq!(
        interp()
            .execute(&Mode::Exec, &Config::default(), "conf t")
            .unwrap(),
        Outcome::ModeChange(Mode::Config)
    );
    let (cfg, _) = session(&["int e0/0", "stan 1 pree", "stan 1 pri 60"]);
    let g = &cfg.interface("Ethernet0/0").unwrap().standby.groups[0];
    assert!(g.preempt.is_some());
    assert_eq!(g.priority, 60);
}

#[test]
fn ambiguous_and_incomplete() {
    assert_eq!(err(&Mode::Exec, "sh s"), LineErrorKind::Ambiguous);
    assert_eq!(err(&Mode::Exec, "e"), LineErrorKind::Ambiguous);
    assert_eq!(err(&Mode::Exec, "show sctp"), LineErrorKind::Incomplete);
    assert_eq!(err(&if_mode(), "standby 1 priority"), LineErrorKind::Incomplete);
    assert_eq!(err(&if_mode(), "s"), LineErrorKind::Ambiguous);
    assert_eq!(err(&Mode::Exec, "en"), LineErrorKind::Ambiguous);
    // `end` is an exact word although `enable` also starts with `en`.
    assert_eq!(exec("end").key, "end");
}

#[test]
fn invalid_input_has_the_caret_column() {
    assert_eq!(
        err(&if_mode(), "standby 1 timers 0 10"),
        LineErrorKind::Invalid {
            column: 17,
            reason: None
        }
    );
    let LineErrorKind::Invalid { column, .. } = err(&if_mode(), "standby 1 timers 5 5") else {
        panic!()
    };
    assert_eq!(column, 19, "hold must exceed hello: caret under the hold time");
    let LineErrorKind::Invalid { column, .. } = err(&if_mode(), "standby 300 ip 10.0.0.3") else {
        panic!()
    };
    assert_eq!(column, 8, "group 300 needs version 2");
    let LineErrorKind::Invalid { column, .. } = err(&Mode::Exec, "show standby brief extra") else {
        panic!()
    };
    assert_eq!(column, 19);
}

#[test]
fn version_2_allows_large_groups() {
    let (cfg, _) = session(&["interface e0/0", "standby version 2", "standby 300 ip 10.0.0.3"]);
    let s = &cfg.interface("Ethernet0/0").unwrap().standby;
    assert_eq!((s.version, s.groups[0].group), (2, 300));
}

#[test]
fn no_forms_reset_and_remove() {
    let (cfg, _) = session(&[
        "hostname r1",
        "interface e0/0",
        "ip address 10.0.0.1 255.255.255.0",
        "shutdown",
        "standby 1 ip 10.0.0.3",
        "standby 1 priority 60",
        "standby 1 preempt delay minimum 30 reload 60 sync 10",
        "standby 1 track e1/0 decrement 20",
        "standby 1 track e2/0",
        "standby 1 timers msec 200 msec 750",
        "standby 1 authentication md5 key-string s3cret",
        "ip access-group acl1 in",
        "no shutdown",
        "no standby 1 priority",
        "no standby 1 preempt",
        "no standby 1 track Ethernet1/0",
        "no ip access-group acl1 in",
        "no hostname",
    ]);
    assert_eq!(cfg.hostname, "");
    let iface = cfg.interface("Ethernet0/0").unwrap();
    assert!(!iface.shutdown);
    assert!(iface.access_group_in.is_none());
    let g = &iface.standby.groups[0];
    assert_eq!(g.priority, 100);
    assert!(g.preempt.is_none());
    assert_eq!(g.tracks.len(), 1);
    assert_eq!(g.tracks[0].interface, "Ethernet2/0");
    let t = g.timers.unwrap();
    assert_eq!((t.hello.as_millis(), t.hold.as_millis()), (200, 750));
    assert_eq!(g.authentication, Some(StandbyAuth::Md5("s3cret".into())));
    let (cfg, _) = session(&[
        "interface e0/0",
        "standby 1 ip 10.0.0.3",
        "no standby 1 ip",
        "exit",
        "no interface e0/0",
    ]);
    assert!(cfg.interfaces.is_empty());
}

#[test]
fn mode_changes_follow_ios() {
    let (_, mode) = session(&["interface gi0/1"]);
    assert_eq!(mode, Mode::Interface("GigabitEthernet0/1".into()));
    let (_, mode) = session(&["interface Ethernet 0/0"]);
    assert_eq!(mode, Mode::Interface("Ethernet0/0".into()));
    let (_, mode) = session(&["interface eth0"]);
    assert_eq!(mode, Mode::Interface("eth0".into()));
    let (_, mode) = session(&["interface e0/0", "exit"]);
    assert_eq!(mode, Mode::Config);
    let (_, mode) = session(&["interface e0/0", "end"]);
    assert_eq!(mode, Mode::Exec);
    let (cfg, mode) = session(&[
        "ipc zone default",
        "association 1",
        "no shutdown",
        "protocol sctp",
        "local-port 5000",
        "local-ip 10.0.0.1 10.1.0.1",
        "retransmit-timeout 300 10000",
        "path-retransmit 10",
        "assoc-retransmit 10",
        "transport udp",
    ]);
    assert_eq!(mode, Mode::IpcLocalSctp);
    let local = cfg.ipc.unwrap().association.unwrap().sctp.unwrap().local.unwrap();
    assert_eq!(
        local.ips,
        vec![
            "10.0.0.1".parse::<Ipv4Addr>().unwrap(),
            "10.1.0.1".parse().unwrap()
        ]
    );
    assert_eq!((local.retransmit_min_ms, local.retransmit_max_ms), (300, 10000));
    assert_eq!(local.transport, SctpTransport::Udp);
    let prompts: Vec<String> = [
        Mode::Exec,
        Mode::Config,
        Mode::Interface("x".into()),
        Mode::RedundancyInterDevice,
        Mode::IpcZone,
        Mode::IpcAssociation(1),
        Mode::IpcProtocolSctp,
        Mode::IpcLocalSctp,
        Mode::IpcRemoteSctp,
        Mode::ExtendedAcl("a".into()),
    ]
    .iter()
    .map(|m| m.prompt("ha-R1"))
    .collect();
    assert_eq!(
        prompts,
        [
            "ha-R1#",
            "ha-R1(config)#",
            "ha-R1(config-if)#",
            "ha-R1(config-red-interdevice)#",
            "ha-R1(config-ipczone)#",
            "ha-R1(config-ipczone-assoc)#",
            "ha-R1(config-ipc-protocol-sctp)#",
            "ha-R1(config-ipc-local-sctp)#",
            "ha-R1(config-ipc-remote-sctp)#",
            "ha-R1(config-ext-nacl)#"
        ]
    );
}

#[test]
fn commands_of_parent_modes_are_retried_there() {
    // The seed writes remote-port right after the local-port block.
    let (cfg, mode) = session(&[
        "ipc zone default",
        "association 1",
        "protocol sctp",
        "local-port 5000",
        "remote-port 5001",
    ]);
    assert_eq!(mode, Mode::IpcRemoteSctp);
    assert_eq!(
        cfg.ipc
            .unwrap()
            .association
            .unwrap()
            .sctp
            .unwrap()
            .remote
            .unwrap()
            .port,
        5001
    );
    let (cfg, mode) = session(&["interface e0/0", "hostname edge"]);
    assert_eq!((cfg.hostname.as_str(), mode), ("edge", Mode::Config));
    let (cfg, mode) = session(&["interface e0/0", "interface e1/0"]);
    assert_eq!(mode, Mode::Interface("Ethernet1/0".into()));
    assert_eq!(cfg.interfaces.len(), 2);
    let (_, mode) = session(&[
        "ip access-list extended a",
        "permit ip any any",
        "ipc zone default",
    ]);
    assert_eq!(mode, Mode::IpcZone);
}

#[test]
fn help_lists_candidates() {
    let i = interp();
    let cfg = Config::default();
    let tokens = |mode: &Mode, line: &str| -> Vec<String> {
        i.help(mode, &cfg, line)
            .unwrap()
            .into_iter()
            .map(|h| h.token)
            .collect()
    };
    assert_eq!(
        tokens(&Mode::Exec, "show standby "),
        ["INTERFACE", "all", "brief", "<cr>", "|"]
    );
    assert_eq!(tokens(&if_mode(), "standby 1 p"), ["preempt", "priority"]);
    assert_eq!(tokens(&if_mode(), "standby 1 timers "), ["<1-254>", "msec"]);
    assert_eq!(tokens(&Mode::Exec, "sh"), ["show"]);
    assert_eq!(tokens(&Mode::IpcLocalSctp, "path-retransmit "), ["<2-10>"]);
    assert_eq!(
        tokens(&Mode::Exec, "show running-config | "),
        ["begin", "exclude", "include", "section"]
    );
    let help = i
        .help(&Mode::Config, &cfg, "ip inspect redundancy update seconds ")
        .unwrap();
    assert_eq!(help[0].token, "<10-60>");
    assert!(help[0].help.contains("default 10"));
    let top = tokens(&Mode::Config, "");
    for word in [
        "hostname",
        "interface",
        "ip",
        "ipc",
        "redundancy",
        "no",
        "end",
        "exit",
        "do",
    ] {
        assert!(top.contains(&word.to_string()), "{word} in {top:?}");
    }
    assert!(
        matches!(i.help(&Mode::Exec, &cfg, "show bogus "), Err(e) if matches!(e.kind, LineErrorKind::Invalid { column: 5, .. }))
    );
}

#[test]
fn tab_completes_unique_words() {
    let i = interp();
    let cfg = Config::default();
    assert_eq!(i.complete(&Mode::Exec, &cfg, "sh").as_deref(), Some("show "));
    assert_eq!(
        i.complete(&Mode::Exec, &cfg, "show stan").as_deref(),
        Some("show standby ")
    );
    assert_eq!(i.complete(&Mode::Exec, &cfg, "show s"), None);
    assert_eq!(i.complete(&Mode::Exec, &cfg, "show "), None);
    assert_eq!(
        i.complete(&if_mode(), &cfg, "standby 1 pre").as_deref(),
        Some("standby 1 preempt ")
    );
    assert_eq!(
        i.complete(&Mode::Exec, &cfg, "show run | inc").as_deref(),
        Some("show run | include ")
    );
}

#[test]
fn exec_keys_and_arguments() {
    let cmd = exec("show standby e0/0 1");
    assert_eq!(
        (cmd.key.as_str(), cmd.args.clone()),
        ("show standby", vec!["Ethernet0/0".to_string(), "1".into()])
    );
    assert_eq!(exec("undebug all").key, "no debug all");
    assert_eq!(
        exec("no debug standby packets terse").key,
        "no debug standby packets terse"
    );
    assert_eq!(
        exec("debug ip inspect ha manager").key,
        "debug ip inspect ha manager"
    );
    assert_eq!(exec("write").key, "write memory");
    assert_eq!(exec("wr mem").key, "write memory");
    assert_eq!(
        exec("clear ip inspect ha sessions-all").key,
        "clear ip inspect ha sessions-all"
    );
    assert_eq!(exec("copy run start").key, "copy running-config startup-config");
    assert_eq!(
        exec("redundancy force-switchover").key,
        "redundancy force-switchover"
    );
    for key in [
        "show logging",
        "show version",
        "show redundancy",
        "show redundancy states",
        "show redundancy inter-device",
        "show redundancy history",
        "show redundancy clients",
        "show sctp association list",
        "show sctp association parameters",
        "show sctp statistics",
        "show ip inspect sessions",
        "show ip inspect all",
        "show ip inspect ha statistics",
        "show ip access-lists",
        "clear ip inspect sessions",
        "clear ip inspect ha statistics",
        "clear ip access-list counters",
        "debug standby events",
        "debug redundancy",
        "debug ipc",
        "debug sctp",
        "debug ip inspect",
        "no debug all",
        "disable",
        "enable",
        "exit",
    ] {
        assert_eq!(exec(key).key, key);
    }
    let do_cmd = interp()
        .execute(&if_mode(), &Config::default(), "do sh stan br")
        .unwrap();
    assert_eq!(
        do_cmd,
        Outcome::Exec(ExecCommand {
            key: "show standby brief".into(),
            args: vec![],
            filter: None
        })
    );
}

#[test]
fn pipes_filter_exec_output() {
    let cmd = exec("show running-config | include standby 1");
    assert_eq!(cmd.filter, Some(OutputFilter::Include("standby 1".into())));
    assert_eq!(
        exec("sh run | sec interface").filter,
        Some(OutputFilter::Section("interface".into()))
    );
    assert_eq!(
        exec("sh run | b ipc").filter,
        Some(OutputFilter::Begin("ipc".into()))
    );
    assert_eq!(err(&Mode::Exec, "sh run |"), LineErrorKind::Incomplete);
    let text = "interface A\n ip address 1\n standby 1\ninterface B\n shutdown\nend\n";
    assert_eq!(
        OutputFilter::Section("B".into()).apply(text),
        "interface B\n shutdown\n"
    );
    assert_eq!(
        OutputFilter::Include("standby".into()).apply(text),
        " standby 1\n"
    );
    assert_eq!(
        OutputFilter::Exclude("standby".into()).apply(text),
        "interface A\n ip address 1\ninterface B\n shutdown\nend\n"
    );
    assert_eq!(
        OutputFilter::Begin("interface B".into()).apply(text),
        "interface B\n shutdown\nend\n"
    );
    // In configuration text a `|` is just text.
    let (cfg, _) = session(&["ip access-list extended a", "remark a | b"]);
    assert_eq!(
        cfg.access_lists[0].entries[0].line,
        AclLine::Remark { text: "a | b".into() }
    );
}

#[test]
fn access_list_entries() {
    let (cfg, _) = session(&[
        "ip access-list extended edge",
        "permit tcp any host 10.0.0.1 eq 23",
        "15 deny udp 10.0.0.0 0.0.0.255 range 1000 2000 any",
        "permit 47 any any",
        "deny any any",
        "no 10",
    ]);
    let acl = cfg.access_list("edge").unwrap();
    let seqs: Vec<u32> = acl.entries.iter().map(|e| e.sequence).collect();
    assert_eq!(seqs, [15, 25, 35]);
    let AclLine::Rule(r) = &acl.entries[0].line else {
        panic!()
    };
    assert_eq!(r.source_port, Some(PortMatch::Range(1000, 2000)));
    assert_eq!(
        r.source,
        AclAddress::Network {
            address: "10.0.0.0".parse().unwrap(),
            wildcard: "0.0.0.255".parse().unwrap()
        }
    );
    let AclLine::Rule(r) = &acl.entries[1].line else {
        panic!()
    };
    assert_eq!(r.protocol, AclProtocol::Number(47));
    // Ports only exist for tcp and udp.
    let LineErrorKind::Invalid { column, .. } =
        err(&Mode::ExtendedAcl("x".into()), "permit ip any any eq 80")
    else {
        panic!()
    };
    assert_eq!(column, 18);
}

#[test]
fn inspect_and_redundancy_commands() {
    let (cfg, _) = session(&[
        "ip inspect name fw tcp timeout 300",
        "ip inspect name fw udp",
        "ip inspect tcp synwait-time 10",
        "ip inspect tcp finwait-time 2",
        "ip inspect udp idle-time 40",
        "ip inspect max-incomplete high 500",
        "ip inspect max-incomplete low 400",
        "ip inspect audit-trail",
        "ip inspect dataplane queue 3 workers 4",
        "ip inspect dataplane fail-open",
        "no ip inspect name fw udp",
        "redundancy inter-device",
        "scheme standby HAin",
        "security key k3y",
    ]);
    let i = &cfg.inspect;
    assert_eq!(i.rules[0].entries.len(), 1);
    assert_eq!(i.rules[0].entries[0].timeout, Some(300));
    assert_eq!(
        (i.tcp_synwait_time, i.tcp_finwait_time, i.udp_idle_time),
        (10, 2, 40)
    );
    assert_eq!(
        (i.max_incomplete_high, i.max_incomplete_low),
        (Some(500), Some(400))
    );
    assert!(i.audit_trail && i.dataplane_fail_open);
    assert_eq!((i.dataplane_queue, i.dataplane_workers), (3, 4));
    let red = cfg.redundancy.unwrap();
    assert_eq!(
        (red.scheme_standby.as_deref(), red.security_key.as_deref()),
        (Some("HAin"), Some("k3y"))
    );
    assert!(matches!(
        err(&Mode::Config, "ip inspect redundancy update seconds 9"),
        LineErrorKind::Invalid { column: 37, .. }
    ));
    assert!(matches!(
        err(&Mode::IpcLocalSctp, "retransmit-timeout 5000 400"),
        LineErrorKind::Invalid { column: 24, .. }
    ));
    assert!(matches!(
        err(&Mode::IpcLocalSctp, "path-retransmit 11"),
        LineErrorKind::Invalid { column: 16, .. }
    ));
}

#[test]
fn exec_keys_cover_the_contract_list() {
    let keys = interp().exec_keys();
    for key in [
        "show running-config",
        "show standby",
        "show standby brief",
        "show ip inspect ha sessions detail",
        "clear ip inspect ha sessions-all",
        "debug standby packets terse",
        "no debug standby packets terse",
        "no debug all",
        "write memory",
        "copy running-config startup-config",
        "redundancy force-switchover",
        "terminal length",
    ] {
        assert!(keys.contains(&key.to_string()), "{key} missing from {keys:#?}");
    }
    assert!(
        !keys.iter().any(|k| k.starts_with("undebug")),
        "undebug maps to no debug"
    );
    // Every key runs from its own words.
    for key in &keys {
        let line = if key == "terminal length" {
            "terminal length 0".to_string()
        } else {
            key.clone()
        };
        assert_eq!(&exec(&line).key, key);
    }
}

#[test]
fn no_forms_of_every_block() {
    let full = std::fs::read_to_string(format!(
        "{}/tests/data/every-command.cfg",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    let base = cli::lang::load_config(&full, "every-command.cfg").config.unwrap();
    let run = |mode: Mode, lines: &[&str]| -> Config {
        let i = interp();
        let mut cfg = base.clone();
        let mut mode = mode;
        for line in lines {
            match i.execute(&mode, &cfg, line) {
                Ok(Outcome::Config { candidate, mode: m }) => {
                    cfg = candidate;
                    mode = m;
                }
                Ok(Outcome::ModeChange(m)) => mode = m,
                other => panic!("{line}: {other:?}"),
            }
        }
        cfg
    };
    let defaults = cli::config::InspectGlobal::default();
    let cfg = run(
        Mode::Config,
        &[
            "no ip inspect tcp idle-time",
            "no ip inspect udp idle-time",
            "no ip inspect tcp synwait-time",
            "no ip inspect tcp finwait-time",
            "no ip inspect max-incomplete high",
            "no ip inspect max-incomplete low",
            "no ip inspect audit-trail",
            "no ip inspect redundancy update seconds",
            "no ip inspect dataplane queue",
            "no ip inspect dataplane fail-open",
            "no ip inspect name fw",
            "no ip inspect name lab udp",
        ],
    );
    assert_eq!(cfg.inspect, defaults);
    let cfg = run(
        Mode::Config,
        &[
            "no redundancy inter-device",
            "no ipc zone default",
            "no ip access-list extended edge-in",
        ],
    );
    assert!(cfg.redundancy.is_none() && cfg.ipc.is_none());
    assert_eq!(cfg.access_lists.len(), 1);
    let cfg = run(
        Mode::IpcLocalSctp,
        &[
            "no local-ip",
            "no retransmit-timeout",
            "no path-retransmit",
            "no assoc-retransmit",
            "no transport",
            "no keepalive",
        ],
    );
    let local = cfg.ipc.unwrap().association.unwrap().sctp.unwrap().local.unwrap();
    assert_eq!(
        local,
        cli::config::SctpLocal {
            port: 5000,
            ..Default::default()
        }
    );
    let cfg = run(Mode::IpcProtocolSctp, &["no remote-port", "exit", "shutdown"]);
    let assoc = cfg.ipc.unwrap().association.unwrap();
    assert!(assoc.shutdown && assoc.sctp.unwrap().remote.is_none());
    let cfg = run(Mode::RedundancyInterDevice, &["no scheme", "no security key"]);
    assert_eq!(
        cfg.redundancy.unwrap(),
        cli::config::RedundancyInterDevice::default()
    );
    let cfg = run(
        Mode::Interface("Ethernet0/0".into()),
        &[
            "no standby 300 ip 10.0.0.4",
            "no standby 300 timers",
            "no standby 300 authentication",
            "no standby 300 name",
            "no standby 300 mac-address",
            "no standby 300 track",
            "no standby use-bia",
            "no standby delay",
            "no ip address",
        ],
    );
    let e0 = cfg.interface("Ethernet0/0").unwrap();
    let g = &e0.standby.groups[0];
    assert!(
        g.secondary_ips.is_empty() && g.timers.is_none() && g.authentication.is_none() && g.name.is_none()
    );
    assert!(g.mac_address.is_none() && g.tracks.is_empty(), "{g:?}");
    assert!(
        !e0.standby.use_bia && e0.standby.delay.is_none(),
        "{:?}",
        e0.standby
    );
    assert!(e0.address.is_none());
    // Version 1 cannot be set back while group 300 exists.
    assert!(
        interp()
            .execute(
                &Mode::Interface("Ethernet0/0".into()),
                &base,
                "no standby version"
            )
            .is_err()
    );
    let cfg = run(
        Mode::Interface("GigabitEthernet0/1".into()),
        &[
            "no ip access-group edge-in in",
            "no ip access-group edge-out out",
            "no ip inspect fw out",
            "no ip inspect lab in",
        ],
    );
    let gi = cfg.interface("GigabitEthernet0/1").unwrap();
    assert!(
        gi.access_group_in.is_none()
            && gi.access_group_out.is_none()
            && gi.inspect_in.is_none()
            && gi.inspect_out.is_none()
    );
    let cfg = run(
        Mode::ExtendedAcl("edge-in".into()),
        &[
            "no 35",
            "no permit icmp any any",
            "no remark allow the peer | and nothing else",
        ],
    );
    assert_eq!(cfg.access_list("edge-in").unwrap().entries.len(), 5);
}
