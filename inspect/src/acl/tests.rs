use proptest::prelude::*;

use super::*;
use crate::build;
use crate::wire::parse;

fn pkt_tcp(src: &str, dst: &str) -> PacketInfo {
    parse(&build::syn(src.parse().unwrap(), dst.parse().unwrap(), 1)).unwrap()
}

fn pkt_udp(src: &str, dst: &str) -> PacketInfo {
    parse(&build::udp(src.parse().unwrap(), dst.parse().unwrap(), 4)).unwrap()
}

fn e(
    action: AclAction,
    proto: AclProto,
    src: AddrMatch,
    sp: PortMatch,
    dst: AddrMatch,
    dp: PortMatch,
) -> AclEntry {
    AclEntry {
        seq: 10,
        action,
        proto,
        src,
        src_port: sp,
        dst,
        dst_port: dp,
        established: false,
        log: false,
    }
}

#[test]
fn port_operators() {
    assert!(PortMatch::Eq(23).matches(23) && !PortMatch::Eq(23).matches(24));
    assert!(PortMatch::Neq(23).matches(24) && !PortMatch::Neq(23).matches(23));
    assert!(PortMatch::Gt(1023).matches(1024) && !PortMatch::Gt(1023).matches(1023));
    assert!(PortMatch::Lt(1024).matches(1023) && !PortMatch::Lt(1024).matches(1024));
    assert!(PortMatch::Range(10, 20).matches(10) && PortMatch::Range(10, 20).matches(20));
    assert!(!PortMatch::Range(10, 20).matches(21) && !PortMatch::Range(10, 20).matches(9));
}

#[test]
fn wildcard_host_any() {
    let w = AddrMatch::Wildcard {
        addr: "10.0.0.0".parse().unwrap(),
        wildcard: "0.0.0.255".parse().unwrap(),
    };
    assert!(w.matches("10.0.0.77".parse().unwrap()));
    assert!(!w.matches("10.0.1.77".parse().unwrap()));
    assert!(!w.matches("::1".parse().unwrap()));
    let odd = AddrMatch::Wildcard {
        addr: "10.0.0.1".parse().unwrap(),
        wildcard: "0.0.255.254".parse().unwrap(),
    };
    assert!(odd.matches("10.0.7.3".parse().unwrap()));
    assert!(!odd.matches("10.0.7.4".parse().unwrap()));
    assert!(AddrMatch::Any.matches("2001:db8::1".parse().unwrap()));
    assert!(AddrMatch::Host("10.0.0.1".parse().unwrap()).matches("10.0.0.1".parse().unwrap()));
}

#[test]
fn first_match_wins_and_implicit_deny_is_counted() {
    use AclAction::*;
    let cfg = AclConfig {
        name: "t".into(),
        entries: vec![
            AclEntry {
                seq: 10,
                ..e(
                    Permit,
                    AclProto::Tcp,
                    AddrMatch::Any,
                    PortMatch::Any,
                    AddrMatch::Any,
                    PortMatch::Eq(23),
                )
            },
            AclEntry {
                seq: 20,
                ..e(
                    Deny,
                    AclProto::Tcp,
                    AddrMatch::Any,
                    PortMatch::Any,
                    AddrMatch::Any,
                    PortMatch::Any,
                )
            },
            AclEntry {
                seq: 30,
                ..e(
                    Permit,
                    AclProto::Udp,
                    AddrMatch::Any,
                    PortMatch::Gt(1023),
                    AddrMatch::Any,
                    PortMatch::Any,
                )
            },
        ],
    };
    let mut acl = CompiledAcl::new(cfg);
    assert_eq!(acl.judge(&pkt_tcp("1.1.1.1:5000", "2.2.2.2:23"), 0), Permit);
    assert_eq!(acl.judge(&pkt_tcp("1.1.1.1:5000", "2.2.2.2:22"), 0), Deny);
    assert_eq!(acl.judge(&pkt_udp("1.1.1.1:5000", "2.2.2.2:53"), 0), Permit);
    assert_eq!(acl.judge(&pkt_udp("1.1.1.1:53", "2.2.2.2:53"), 0), Deny);
    let st = acl.status();
    assert_eq!(
        st.entries.iter().map(|e| e.matches).collect::<Vec<_>>(),
        [1, 1, 1]
    );
    assert_eq!(st.implicit_deny_matches, 1);
    assert_eq!(st.entries[0].text, "permit tcp any any eq telnet");
    assert_eq!(st.entries[2].text, "permit udp any gt 1023 any");
    acl.clear_counters();
    assert_eq!(acl.status().implicit_deny_matches, 0);
}

#[test]
fn non_first_fragments_match_only_portless_entries() {
    // A hand-made non-first fragment of a UDP datagram: offset 185 (1480 bytes), protocol 17.
    let mut p = build::udp("1.1.1.1:5000".parse().unwrap(), "2.2.2.2:53".parse().unwrap(), 20);
    p[6] = 0;
    p[7] = 185;
    let info = parse(&p).unwrap();
    assert_eq!(info.l4, L4Info::Fragment);
    let with_port = e(
        AclAction::Permit,
        AclProto::Udp,
        AddrMatch::Any,
        PortMatch::Any,
        AddrMatch::Any,
        PortMatch::Eq(53),
    );
    let without = e(
        AclAction::Permit,
        AclProto::Udp,
        AddrMatch::Any,
        PortMatch::Any,
        AddrMatch::Any,
        PortMatch::Any,
    );
    assert!(!with_port.matches(&info));
    assert!(without.matches(&info));
}

#[test]
fn icmp_and_protocol_numbers() {
    let p = parse(&build::icmp_echo(
        "1.1.1.1".parse().unwrap(),
        "2.2.2.2".parse().unwrap(),
    ))
    .unwrap();
    let icmp = e(
        AclAction::Permit,
        AclProto::Icmp,
        AddrMatch::Any,
        PortMatch::Any,
        AddrMatch::Any,
        PortMatch::Any,
    );
    let tcp = e(
        AclAction::Permit,
        AclProto::Tcp,
        AddrMatch::Any,
        PortMatch::Any,
        AddrMatch::Any,
        PortMatch::Any,
    );
    let n1 = e(
        AclAction::Permit,
        AclProto::Number(1),
        AddrMatch::Any,
        PortMatch::Any,
        AddrMatch::Any,
        PortMatch::Any,
    );
    assert!(icmp.matches(&p) && !tcp.matches(&p) && n1.matches(&p));
}

fn arb_port() -> impl Strategy<Value = PortMatch> {
    prop_oneof![
        Just(PortMatch::Any),
        any::<u16>().prop_map(PortMatch::Eq),
        any::<u16>().prop_map(PortMatch::Neq),
        any::<u16>().prop_map(PortMatch::Gt),
        any::<u16>().prop_map(PortMatch::Lt),
        (any::<u16>(), any::<u16>()).prop_map(|(a, b)| PortMatch::Range(a.min(b), a.max(b))),
    ]
}

proptest! {
    /// The matcher agrees with a direct reading of each operator, and `wildcard` agrees with a bitwise model.
    #[test]
    fn matcher_agrees_with_model(pm in arb_port(), port in any::<u16>(), base in any::<u32>(), wc in any::<u32>(), a in any::<u32>()) {
        let expect = match pm {
            PortMatch::Any => true,
            PortMatch::Eq(p) => port == p,
            PortMatch::Neq(p) => port != p,
            PortMatch::Gt(p) => port > p,
            PortMatch::Lt(p) => port < p,
            PortMatch::Range(x, y) => (x..=y).contains(&port),
        };
        prop_assert_eq!(pm.matches(port), expect);
        let w = AddrMatch::Wildcard { addr: base.into(), wildcard: wc.into() };
        let model = (0..32).all(|bit| (wc >> bit) & 1 == 1 || (base >> bit) & 1 == (a >> bit) & 1);
        prop_assert_eq!(w.matches(IpAddr::V4(a.into())), model);
    }
}

fn any_entry(action: AclAction, proto: AclProto, dp: PortMatch) -> AclEntry {
    e(action, proto, AddrMatch::Any, PortMatch::Any, AddrMatch::Any, dp)
}

fn tcp_flags(flags: u8) -> PacketInfo {
    let src = "1.1.1.1:5000".parse().unwrap();
    let dst = "2.2.2.2:80".parse().unwrap();
    parse(&build::tcp(src, dst, flags, 1, 1, 0)).unwrap()
}

#[test]
fn established_matches_ack_or_rst_only() {
    use crate::wire::TcpFlags as F;
    let est = AclEntry {
        established: true,
        ..any_entry(AclAction::Permit, AclProto::Tcp, PortMatch::Eq(80))
    };
    assert!(!est.matches(&tcp_flags(F::SYN)), "a SYN opens: not established");
    assert!(!est.matches(&tcp_flags(F::FIN)));
    assert!(!est.matches(&tcp_flags(F::PSH)));
    assert!(est.matches(&tcp_flags(F::SYN | F::ACK)));
    assert!(est.matches(&tcp_flags(F::ACK)));
    assert!(est.matches(&tcp_flags(F::RST)));
    assert!(est.matches(&tcp_flags(F::FIN | F::ACK)));
    // Ports still apply.
    let src = "1.1.1.1:5000".parse().unwrap();
    let other = parse(&build::tcp(src, "2.2.2.2:81".parse().unwrap(), F::ACK, 1, 1, 0)).unwrap();
    assert!(!est.matches(&other));
    // Without ports too; never a UDP packet or a fragment.
    let bare = AclEntry {
        established: true,
        ..any_entry(AclAction::Permit, AclProto::Tcp, PortMatch::Any)
    };
    assert!(bare.matches(&tcp_flags(F::ACK)) && !bare.matches(&tcp_flags(F::SYN)));
    let ip_est = AclEntry {
        established: true,
        ..any_entry(AclAction::Permit, AclProto::Ip, PortMatch::Any)
    };
    assert!(!ip_est.matches(&pkt_udp("1.1.1.1:5000", "2.2.2.2:53")));
    assert_eq!(est.to_string(), "permit tcp any any eq www established");
}

#[test]
fn entries_print_ports_by_name_for_their_protocol() {
    let t = any_entry(AclAction::Deny, AclProto::Tcp, PortMatch::Range(20, 21));
    assert_eq!(t.to_string(), "deny tcp any any range ftp-data ftp");
    let u = AclEntry {
        log: true,
        src_port: PortMatch::Eq(514),
        ..any_entry(AclAction::Permit, AclProto::Udp, PortMatch::Neq(8080))
    };
    assert_eq!(u.to_string(), "permit udp any eq syslog any neq 8080 log");
    let t514 = any_entry(AclAction::Permit, AclProto::Tcp, PortMatch::Gt(514));
    assert_eq!(t514.to_string(), "permit tcp any any gt cmd");
    let ip = AclEntry {
        log: true,
        ..any_entry(AclAction::Permit, AclProto::Ip, PortMatch::Any)
    };
    assert_eq!(ip.to_string(), "permit ip any any log");
}

fn logging_acl(entries: Vec<AclEntry>) -> CompiledAcl {
    CompiledAcl::new(AclConfig {
        name: "fw-log".into(),
        entries,
    })
}

#[test]
fn first_packet_is_logged_and_repeats_are_counted() {
    let deny = AclEntry {
        log: true,
        ..any_entry(AclAction::Deny, AclProto::Tcp, PortMatch::Eq(23))
    };
    let permit = AclEntry {
        seq: 20,
        log: true,
        ..any_entry(AclAction::Permit, AclProto::Ip, PortMatch::Any)
    };
    let mut acl = logging_acl(vec![deny, permit]);
    let telnet = pkt_tcp("10.0.0.10:34386", "211.0.0.10:23");
    assert_eq!(acl.judge(&telnet, 1_000), AclAction::Deny);
    assert_eq!(
        acl.take_log_lines(),
        ["%SEC-6-IPACCESSLOGP: list fw-log denied tcp 10.0.0.10(34386) -> 211.0.0.10(23), 1 packet"]
    );
    for t in 0..4 {
        acl.judge(&telnet, 2_000 + t);
    }
    assert!(acl.take_log_lines().is_empty(), "repeats are not logged");
    // Another flow is logged at once; ICMP and other protocols have their own formats.
    acl.judge(&pkt_udp("10.0.0.10:5000", "211.0.0.10:53"), 3_000);
    let echo = parse(&build::icmp_echo(
        "10.0.0.10".parse().unwrap(),
        "211.0.0.10".parse().unwrap(),
    ))
    .unwrap();
    acl.judge(&echo, 3_001);
    let mut gre = build::icmp_echo("10.0.0.10".parse().unwrap(), "211.0.0.10".parse().unwrap());
    gre[9] = 47;
    acl.judge(&parse(&gre).unwrap(), 3_002);
    assert_eq!(
        acl.take_log_lines(),
        [
            "%SEC-6-IPACCESSLOGP: list fw-log permitted udp 10.0.0.10(5000) -> 211.0.0.10(53), 1 packet",
            "%SEC-6-IPACCESSLOGDP: list fw-log permitted icmp 10.0.0.10 -> 211.0.0.10 (8/0), 1 packet",
            "%SEC-6-IPACCESSLOGNP: list fw-log permitted 47 10.0.0.10 -> 211.0.0.10, 1 packet",
        ]
    );
    let st = acl.status();
    assert_eq!(
        (
            st.entries[0].matches,
            st.entries[0].logged,
            st.entries[0].log_suppressed
        ),
        (5, 1, 4)
    );
    assert_eq!((st.entries[1].logged, st.entries[1].log_suppressed), (3, 0));
    // After the interval the next judged packet brings the summary of the counted repeats.
    acl.judge(&telnet, 1_000 + LOG_INTERVAL_MS);
    assert_eq!(
        acl.take_log_lines(),
        [
            "%SEC-6-IPACCESSLOGP: list fw-log denied tcp 10.0.0.10(34386) -> 211.0.0.10(23), 4 packets",
            "%SEC-6-IPACCESSLOGP: list fw-log denied tcp 10.0.0.10(34386) -> 211.0.0.10(23), 1 packet",
        ]
    );
    acl.clear_counters();
    assert_eq!(acl.status().entries[0].logged, 0);
}

#[test]
fn entries_without_log_emit_nothing() {
    let mut acl = logging_acl(vec![any_entry(AclAction::Deny, AclProto::Tcp, PortMatch::Any)]);
    acl.judge(&pkt_tcp("1.1.1.1:1", "2.2.2.2:2"), 0);
    assert!(acl.take_log_lines().is_empty());
}

#[test]
fn a_flood_of_distinct_flows_cannot_grow_the_log_cache() {
    let entry = AclEntry {
        log: true,
        ..any_entry(AclAction::Deny, AclProto::Udp, PortMatch::Any)
    };
    let mut acl = logging_acl(vec![entry]);
    let flood = 20 * MAX_LOG_FLOWS;
    let mut lines = 0;
    for i in 0..flood {
        let port = 1024 + (i % 60_000);
        let src = format!("10.{}.{}.1:{port}", (i >> 16) & 0xff, (i >> 8) & 0xff);
        acl.judge(&pkt_udp(&src, "2.2.2.2:53"), 10);
        lines += acl.take_log_lines().len();
        assert!(acl.tracked_log_flows() <= MAX_LOG_FLOWS);
    }
    assert_eq!(
        lines, MAX_LOG_FLOWS,
        "only the tracked flows get a line of their own"
    );
    let st = acl.status();
    assert_eq!(st.entries[0].logged, MAX_LOG_FLOWS as u64);
    assert_eq!(st.entries[0].log_suppressed, (flood - MAX_LOG_FLOWS) as u64);
    // The interval's end reports the missed packets in one line and frees the table.
    acl.judge(&pkt_udp("9.9.9.9:1", "2.2.2.2:53"), 10 + LOG_INTERVAL_MS);
    let out = acl.take_log_lines();
    assert_eq!(
        out,
        [
            format!(
                "%SEC-6-IPACCESSLOGRL: access-list logging rate-limited or missed {} packets",
                flood - MAX_LOG_FLOWS
            ),
            "%SEC-6-IPACCESSLOGP: list fw-log denied udp 9.9.9.9(1) -> 2.2.2.2(53), 1 packet".to_string(),
        ]
    );
    assert_eq!(acl.tracked_log_flows(), 1);
}
