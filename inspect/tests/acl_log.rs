//! ACL `log` and `established` through the engine: a logging entry's first packet becomes an
//! `EngineEvent::Audit` line (the daemon logs it as syslog), repeats are counted, and CBAC return traffic of
//! a session never reaches the ACL.

use inspect::build;
use inspect::config::{
    AclAction, AclConfig, AclEntry, AclProto, AddrMatch, InspectRule, InterfaceConfig, InterfaceInspect,
    PortMatch, RuleProtocol,
};
use inspect::record::L4Proto;
use inspect::wire::TcpFlags;
use inspect::{DropReason, Engine, EngineConfig, EngineEvent, Verdict};
use timebase::Instant;

const INSIDE: Option<u16> = Some(0);
const OUTSIDE: Option<u16> = Some(1);

fn entry(seq: u32, action: AclAction, proto: AclProto, dst_port: PortMatch) -> AclEntry {
    AclEntry {
        seq,
        action,
        proto,
        src: AddrMatch::Any,
        src_port: PortMatch::Any,
        dst: AddrMatch::Any,
        dst_port,
        established: false,
        log: false,
    }
}

/// outside `in` ACL: permit established TCP from www, deny telnet with log, permit icmp with log.
fn config() -> EngineConfig {
    EngineConfig {
        rules: vec![InspectRule {
            name: "fw".into(),
            protocols: vec![RuleProtocol {
                proto: L4Proto::TCP,
                timeout_s: None,
            }],
        }],
        interfaces: vec![
            InterfaceConfig {
                name: "inside".into(),
                ..Default::default()
            },
            InterfaceConfig {
                name: "outside".into(),
                inspect_out: Some(InterfaceInspect {
                    rule: "fw".into(),
                    redundancy_group: None,
                }),
                acl_in: Some("from-outside".into()),
                ..Default::default()
            },
        ],
        acls: vec![AclConfig {
            name: "from-outside".into(),
            entries: vec![
                AclEntry {
                    established: true,
                    src_port: PortMatch::Eq(80),
                    ..entry(10, AclAction::Permit, AclProto::Tcp, PortMatch::Any)
                },
                AclEntry {
                    log: true,
                    ..entry(20, AclAction::Deny, AclProto::Tcp, PortMatch::Eq(23))
                },
                AclEntry {
                    log: true,
                    ..entry(30, AclAction::Permit, AclProto::Icmp, PortMatch::Any)
                },
            ],
        }],
        ..EngineConfig::default()
    }
}

fn audits(e: &mut Engine) -> Vec<String> {
    let mut out = Vec::new();
    while let Some(ev) = e.poll_event() {
        if let EngineEvent::Audit(line) = ev {
            out.push(line.text);
        }
    }
    out
}

#[test]
fn log_entries_emit_syslog_events_rate_limited() {
    let mut e = Engine::new(config(), 7);
    let t0 = Instant::from_millis(1_000);
    let attacker = "198.51.100.7:40000".parse().unwrap();
    let server = "10.0.0.10:23".parse().unwrap();
    let syn = build::syn(attacker, server, 1);
    assert_eq!(
        e.process(t0, &syn, OUTSIDE, INSIDE),
        Verdict::Drop(DropReason::AclDenied)
    );
    assert_eq!(
        audits(&mut e),
        ["%SEC-6-IPACCESSLOGP: list from-outside denied tcp 198.51.100.7(40000) -> 10.0.0.10(23), 1 packet"]
    );
    for i in 1..=3 {
        e.process(Instant::from_millis(1_000 + i), &syn, OUTSIDE, INSIDE);
    }
    assert!(
        audits(&mut e).is_empty(),
        "retransmitted SYNs are counted, not logged"
    );
    let ping = build::icmp_echo("198.51.100.7".parse().unwrap(), "10.0.0.10".parse().unwrap());
    assert_eq!(
        e.process(Instant::from_millis(2_000), &ping, OUTSIDE, INSIDE),
        Verdict::Accept
    );
    assert_eq!(
        audits(&mut e),
        ["%SEC-6-IPACCESSLOGDP: list from-outside permitted icmp 198.51.100.7 -> 10.0.0.10 (8/0), 1 packet"]
    );
    let st = e.acl_status();
    assert_eq!(st[0].entries[1].text, "deny tcp any any eq telnet log");
    assert_eq!(
        (
            st[0].entries[1].matches,
            st[0].entries[1].logged,
            st[0].entries[1].log_suppressed
        ),
        (4, 1, 3)
    );
    // Five minutes later the next packet judged by the ACL brings the summary of the repeats.
    let later = Instant::from_millis(1_000 + 5 * 60 * 1000);
    e.process(later, &ping, OUTSIDE, INSIDE);
    assert_eq!(
        audits(&mut e),
        [
            "%SEC-6-IPACCESSLOGP: list from-outside denied tcp 198.51.100.7(40000) -> 10.0.0.10(23), 3 packets",
            "%SEC-6-IPACCESSLOGDP: list from-outside permitted icmp 198.51.100.7 -> 10.0.0.10 (8/0), 1 packet",
        ]
    );
}

#[test]
fn established_lets_replies_in_without_a_session() {
    let mut e = Engine::new(config(), 7);
    let web = "203.0.113.5:80".parse().unwrap();
    let client = "10.0.0.10:50000".parse().unwrap();
    let t = Instant::from_millis(10);
    let reply = build::tcp(web, client, TcpFlags::ACK, 100, 1, 10);
    assert_eq!(e.process(t, &reply, OUTSIDE, INSIDE), Verdict::Accept);
    let syn = build::tcp(web, client, TcpFlags::SYN, 100, 0, 0);
    assert_eq!(
        e.process(t, &syn, OUTSIDE, INSIDE),
        Verdict::Drop(DropReason::AclDenied)
    );
    let rst = build::tcp(web, client, TcpFlags::RST, 100, 0, 0);
    assert_eq!(e.process(t, &rst, OUTSIDE, INSIDE), Verdict::Accept);
}

#[test]
fn log_summaries_come_due_without_traffic() {
    let mut e = Engine::new(config(), 7);
    let syn = build::syn(
        "198.51.100.7:40000".parse().unwrap(),
        "10.0.0.10:23".parse().unwrap(),
        1,
    );
    for i in 0..3 {
        e.process(Instant::from_millis(1_000 + i), &syn, OUTSIDE, INSIDE);
    }
    assert_eq!(audits(&mut e).len(), 1, "first packet logged");
    // No session exists (the SYNs were denied), yet the engine asks to be woken for the summary.
    let due = Instant::from_millis(1_000 + 5 * 60 * 1000);
    assert_eq!(e.poll_timeout(), Some(due));
    e.handle_timeout(Instant::from_millis(1_000 + 5 * 60 * 1000 - 1));
    assert!(audits(&mut e).is_empty());
    e.handle_timeout(due);
    assert_eq!(
        audits(&mut e),
        ["%SEC-6-IPACCESSLOGP: list from-outside denied tcp 198.51.100.7(40000) -> 10.0.0.10(23), 2 packets"]
    );
    assert_eq!(e.poll_timeout(), None, "nothing more to summarise");
}
