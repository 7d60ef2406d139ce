use std::net::{IpAddr, SocketAddr};

use super::*;
use crate::build;

fn sa(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

#[test]
fn parses_ipv4_tcp_syn_with_options() {
    let mut spec = build::TcpSpec::new(sa("10.0.0.10:34386"), sa("211.0.0.10:23"), TcpFlags::SYN, 1000, 0);
    spec.window_scale = Some(7);
    spec.mss = Some(1460);
    let p = spec.build();
    let info = parse(&p).unwrap();
    assert_eq!(info.src(), "10.0.0.10".parse::<IpAddr>().unwrap());
    assert_eq!(info.proto, ip_proto::TCP);
    assert_eq!(info.ip_len as usize, p.len());
    let L4Info::Tcp(t) = info.l4 else {
        panic!("not tcp")
    };
    assert_eq!((t.src_port, t.dst_port, t.seq), (34386, 23, 1000));
    assert!(t.flags.syn() && !t.flags.ack());
    assert_eq!(t.window_scale, Some(7));
    let seg = TcpSegment::new_checked(&p[20..]).unwrap();
    assert_eq!(
        seg.parse_options(),
        TcpOptions {
            mss: Some(1460),
            window_scale: Some(7)
        }
    );
}

#[test]
fn parses_udp_v4_and_v6() {
    let p = build::udp(sa("10.0.0.10:5000"), sa("211.0.0.10:53"), 12);
    let info = parse(&p).unwrap();
    assert_eq!(
        info.l4,
        L4Info::Udp {
            src_port: 5000,
            dst_port: 53
        }
    );
    let p6 = build::udp(sa("[2001:db8::1]:5000"), sa("[2001:db8::2]:53"), 3);
    let info = parse(&p6).unwrap();
    assert!(info.is_ipv6());
    assert_eq!(
        info.l4,
        L4Info::Udp {
            src_port: 5000,
            dst_port: 53
        }
    );
}

mod fast_path {
    use proptest::prelude::*;

    use super::*;

    fn samples() -> Vec<Vec<u8>> {
        vec![
            build::tcp(sa("10.0.0.1:1000"), sa("10.0.0.2:80"), TcpFlags::ACK, 7, 9, 40),
            build::tcp(
                sa("10.0.0.1:1000"),
                sa("10.0.0.2:80"),
                TcpFlags::FIN | TcpFlags::ACK,
                7,
                9,
                0,
            ),
            build::syn(sa("10.0.0.1:1000"), sa("10.0.0.2:80"), 7),
            build::udp(sa("10.0.0.1:1000"), sa("10.0.0.2:53"), 12),
            build::udp(sa("[2001:db8::1]:5000"), sa("[2001:db8::2]:53"), 3),
            build::icmp_echo("10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap()),
        ]
    }

    proptest! {
        /// Whenever the plain-IPv4 shortcut answers, it answers what the general parser answers; and
        /// `parse` always equals the general parser.
        #[test]
        fn shortcut_agrees_with_the_general_parser(
            which in 0usize..6,
            edits in prop::collection::vec((0usize..80, any::<u8>()), 0..4),
            cut in 0usize..100,
        ) {
            let mut p = samples()[which].clone();
            for (at, byte) in edits {
                if let Some(b) = p.get_mut(at) {
                    *b = byte;
                }
            }
            p.truncate(p.len().saturating_sub(cut % 8));
            if let Some(fast) = parse_plain_v4(&p) {
                prop_assert_eq!(Ok(fast), parse_any(&p));
            }
            prop_assert_eq!(parse(&p), parse_any(&p));
        }
    }
}
