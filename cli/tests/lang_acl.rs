//! Extended ACL entries as operators write them: named ports per protocol (with `?` help and carets for a
//! name of the other protocol), `established` on TCP rules only, `log`, and `show running-config`
//! printing well-known ports by name and loading back to the same model.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use cli::config::{AclLine, AclProtocol, AclRule, Config, PortMatch, render, validate};
use cli::lang::{Interpreter, LineErrorKind, Mode, Outcome, load_config};

fn acl_mode() -> Mode {
    Mode::ExtendedAcl("edge".into())
}

/// Runs `lines` in the ACL `edge` and returns its rules.
fn rules(lines: &[&str]) -> Vec<AclRule> {
    let i = Interpreter::new();
    let mut cfg = Config::default();
    let mut mode = Mode::Config;
    for line in std::iter::once(&"ip access-list extended edge").chain(lines) {
        match i.execute(&mode, &cfg, line) {
            Ok(Outcome::Config { candidate, mode: m }) => {
                cfg = candidate;
                mode = m;
            }
            other => panic!("{line}: {other:?}"),
        }
    }
    cfg.access_list("edge")
        .unwrap()
        .entries
        .iter()
        .filter_map(|e| match &e.line {
            AclLine::Rule(r) => Some(*r),
            AclLine::Remark { .. } => None,
        })
        .collect()
}

fn rule(line: &str) -> AclRule {
    rules(&[line])[0]
}

/// The error of `line` in ACL mode, rendered as the shell shows it.
fn shown(line: &str) -> String {
    let mode = acl_mode();
    let prompt = mode.prompt("Router");
    let error = Interpreter::new()
        .execute(&mode, &Config::default(), line)
        .expect_err(line);
    format!("{prompt}{line}\n{}", error.render(line, prompt.chars().count()))
}

fn help_tokens(line: &str) -> Vec<(String, String)> {
    Interpreter::new()
        .help(&acl_mode(), &Config::default(), line)
        .unwrap()
        .into_iter()
        .map(|h| (h.token, h.help))
        .collect()
}

#[test]
fn named_ports_are_read_as_their_numbers_per_protocol() {
    let r = rule("permit tcp any host 10.0.0.1 eq www");
    assert_eq!(r.destination_port, Some(PortMatch::Eq(80)));
    let r = rule("permit tcp any eq ftp-data any range ftp telnet");
    assert_eq!(r.source_port, Some(PortMatch::Eq(20)));
    assert_eq!(r.destination_port, Some(PortMatch::Range(21, 23)));
    let r = rule("deny udp any any eq snmp");
    assert_eq!(r.destination_port, Some(PortMatch::Eq(161)));
    let r = rule("permit udp any range bootps bootpc any gt syslog");
    assert_eq!(r.source_port, Some(PortMatch::Range(67, 68)));
    assert_eq!(r.destination_port, Some(PortMatch::Gt(514)));
    // Both protocols know `domain`; abbreviations work like any keyword; numbers still work.
    assert_eq!(
        rule("permit udp any any eq dom").destination_port,
        Some(PortMatch::Eq(53))
    );
    assert_eq!(
        rule("permit tcp any any eq domain").destination_port,
        Some(PortMatch::Eq(53))
    );
    assert_eq!(
        rule("permit tcp any any neq 8080").destination_port,
        Some(PortMatch::Neq(8080))
    );
    assert_eq!(
        rule("permit tcp any any lt TELNET").destination_port,
        Some(PortMatch::Lt(23))
    );
}

#[test]
fn a_name_of_the_other_protocol_is_refused_with_a_caret() {
    assert_eq!(
        shown("permit udp any any eq www"),
        "Router(config-ext-nacl)#permit udp any any eq www\n                                              ^\n% Invalid input detected at '^' marker."
    );
    assert_eq!(
        shown("permit tcp any eq snmp any"),
        "Router(config-ext-nacl)#permit tcp any eq snmp any\n                                          ^\n% Invalid input detected at '^' marker."
    );
    // Port names need a tcp or udp rule at all.
    assert!(matches!(
        Interpreter::new()
            .execute(&acl_mode(), &Config::default(), "permit ip any any eq www")
            .unwrap_err()
            .kind,
        LineErrorKind::Invalid { column: 18, .. }
    ));
    // A range must go from low to high, names included.
    assert!(matches!(
        Interpreter::new()
            .execute(
                &acl_mode(),
                &Config::default(),
                "permit tcp any any range www ftp"
            )
            .unwrap_err()
            .kind,
        LineErrorKind::Invalid { column: 29, .. }
    ));
}

#[test]
fn help_lists_the_port_names_of_the_protocol() {
    let tcp = help_tokens("permit tcp any any eq ");
    let names: Vec<&str> = tcp.iter().map(|(t, _)| t.as_str()).collect();
    assert!(names.contains(&"<0-65535>"));
    for n in ["bgp", "ftp-data", "telnet", "www", "domain", "echo"] {
        assert!(names.contains(&n), "{n} in {names:?}");
    }
    for n in ["snmp", "tftp", "syslog", "ntp"] {
        assert!(!names.contains(&n), "{n} is udp only");
    }
    let www = tcp.iter().find(|(t, _)| t == "www").unwrap();
    assert!(www.1.contains("(80)"), "{www:?}");
    let udp = help_tokens("deny udp any any range ");
    let names: Vec<&str> = udp.iter().map(|(t, _)| t.as_str()).collect();
    for n in ["snmp", "tftp", "syslog", "ntp", "domain", "bootpc", "netbios-ns"] {
        assert!(names.contains(&n), "{n} in {names:?}");
    }
    assert!(!names.contains(&"www") && !names.contains(&"telnet"));
    // After the destination: established on tcp only, log everywhere.
    let after_tcp: Vec<String> = help_tokens("permit tcp any any eq www ")
        .into_iter()
        .map(|h| h.0)
        .collect();
    assert_eq!(after_tcp, ["established", "log", "<cr>"]);
    let after_udp: Vec<String> = help_tokens("permit udp any any ")
        .into_iter()
        .map(|h| h.0)
        .collect();
    assert_eq!(after_udp, ["eq", "gt", "log", "lt", "neq", "range", "<cr>"]);
    let after_est: Vec<String> = help_tokens("permit tcp any any established ")
        .into_iter()
        .map(|h| h.0)
        .collect();
    assert_eq!(after_est, ["log", "<cr>"]);
    let i = Interpreter::new();
    assert_eq!(
        i.complete(&acl_mode(), &Config::default(), "permit tcp any any eq tel")
            .as_deref(),
        Some("permit tcp any any eq telnet ")
    );
}

#[test]
fn established_is_for_tcp_rules_only() {
    let r = rule("permit tcp any 10.0.0.0 0.0.0.255 established");
    assert!(r.established && !r.log);
    let r = rule("permit tcp any any gt 1023 established log");
    assert!(r.established && r.log);
    assert_eq!(r.destination_port, Some(PortMatch::Gt(1023)));
    assert_eq!(
        shown("permit udp any any established"),
        "Router(config-ext-nacl)#permit udp any any established\n                                           ^\n% Invalid input detected at '^' marker."
    );
    assert!(matches!(
        Interpreter::new()
            .execute(&acl_mode(), &Config::default(), "permit ip any any established")
            .unwrap_err()
            .kind,
        LineErrorKind::Invalid { column: 18, .. }
    ));
    // `log` is the last word.
    assert!(matches!(
        Interpreter::new()
            .execute(
                &acl_mode(),
                &Config::default(),
                "permit tcp any any log established"
            )
            .unwrap_err()
            .kind,
        LineErrorKind::Invalid { column: 23, .. }
    ));
}

#[test]
fn log_on_any_rule() {
    for (line, proto) in [
        ("deny ip any any log", AclProtocol::Ip),
        ("permit icmp any host 10.0.0.1 log", AclProtocol::Icmp),
        ("deny 47 any any log", AclProtocol::Number(47)),
        ("deny udp any any eq tftp log", AclProtocol::Udp),
    ] {
        let r = rule(line);
        assert!(r.log && !r.established, "{line}");
        assert_eq!(r.protocol, proto);
    }
    // `no` of the rule with its options removes it; the same rule without `log` is another rule.
    let left = rules(&[
        "permit tcp any any eq www log",
        "permit tcp any any eq www",
        "no permit tcp any any eq 80 log",
    ]);
    assert_eq!(left.len(), 1);
    assert!(!left[0].log);
}

#[test]
fn running_config_prints_well_known_ports_by_name_and_loads_back() {
    let text = "hostname r1\n\
        ip access-list extended edge\n\
         permit tcp any host 10.0.0.1 eq 80\n\
         permit tcp host 10.0.0.9 eq 20 any range 21 23 established\n\
         permit udp any eq 53 any gt 1023 log\n\
         permit udp any any eq 514\n\
         permit tcp any any eq 514\n\
         deny tcp any any eq 8080 log\n\
         permit icmp any any log\n\
         deny ip any any log\n";
    let report = load_config(text, "r1.cfg");
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    let config = report.config.expect("valid config");
    let shown = render(&config);
    let acl: Vec<&str> = shown
        .lines()
        .skip_while(|l| !l.starts_with("ip access-list"))
        .take(9)
        .collect();
    assert_eq!(
        acl,
        [
            "ip access-list extended edge",
            " permit tcp any host 10.0.0.1 eq www",
            " permit tcp host 10.0.0.9 eq ftp-data any range ftp telnet established",
            " permit udp any eq domain any gt 1023 log",
            " permit udp any any eq syslog",
            " permit tcp any any eq cmd",
            " deny tcp any any eq 8080 log",
            " permit icmp any any log",
            " deny ip any any log",
        ]
    );
    let again = load_config(&shown, "shown.cfg");
    assert!(again.errors.is_empty(), "{:?}", again.errors);
    let again = again.config.expect("valid config");
    assert_eq!(again.access_lists, config.access_lists);
    assert_eq!(render(&again), shown);
    // The JSON model keeps numbers and carries the two flags.
    let json = serde_json::to_value(&config.access_lists[0].entries[1]).unwrap();
    assert_eq!(json["destination_port"]["range"], serde_json::json!([21, 23]));
    assert_eq!(json["established"], true);
    assert_eq!(json["log"], false);
    // A document without the flags (older JSON) still reads, as false.
    let mut old = json;
    old.as_object_mut().unwrap().remove("established");
    old.as_object_mut().unwrap().remove("log");
    let back: cli::config::AclEntry = serde_json::from_value(old).unwrap();
    let AclLine::Rule(r) = back.line else { panic!() };
    assert!(!r.established && !r.log);
}

#[test]
fn validate_refuses_options_the_parser_cannot_produce() {
    let mut cfg = load_config(
        "ip access-list extended edge\n permit udp any any eq 53\n",
        "x.cfg",
    )
    .config
    .expect("valid config");
    let AclLine::Rule(r) = &mut cfg.access_lists[0].entries[0].line else {
        panic!()
    };
    r.established = true;
    r.protocol = AclProtocol::Icmp;
    let problems: Vec<String> = validate(&cfg).into_iter().map(|p| p.message).collect();
    assert!(
        problems
            .iter()
            .any(|m| m.contains("established applies to tcp rules only")),
        "{problems:?}"
    );
    assert!(
        problems
            .iter()
            .any(|m| m.contains("port conditions need a tcp or udp rule")),
        "{problems:?}"
    );
}
