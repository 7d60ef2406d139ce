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
    assert_eq!(acl.judge(&pkt_tcp("1.1.1.1:5000", "2.2.2.2:23")), Permit);
    assert_eq!(acl.judge(&pkt_tcp("1.1.1.1:5000", "2.2.2.2:22")), Deny);
    assert_eq!(acl.judge(&pkt_udp("1.1.1.1:5000", "2.2.2.2:53")), Permit);
    assert_eq!(acl.judge(&pkt_udp("1.1.1.1:53", "2.2.2.2:53")), Deny);
    let st = acl.status();
    assert_eq!(
        st.entries.iter().map(|e| e.matches).collect::<Vec<_>>(),
        [1, 1, 1]
    );
    assert_eq!(st.implicit_deny_matches, 1);
    assert_eq!(st.entries[0].text, "permit tcp any any eq 23");
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
