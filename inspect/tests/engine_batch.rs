//! `Engine::process_batch` is an optimisation only: for any packet sequence it gives the same verdicts,
//! events, counters and sessions as `Engine::process` called packet by packet.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use inspect::build;
use inspect::timebase::Instant;
use inspect::wire::TcpFlags;
use inspect::{BatchPacket, Engine, EngineEvent, Verdict};
use proptest::prelude::*;

const IN: Option<u16> = Some(0);
const OUT: Option<u16> = Some(1);

/// A few clients and servers, v4 and v6, so that flows repeat, collide in ports and go both ways.
fn endpoint(i: u8, server: bool) -> SocketAddr {
    let ip = match (i % 4, server) {
        (3, false) => IpAddr::V6(Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, u16::from(i))),
        (3, true) => IpAddr::V6(Ipv6Addr::new(0xfd00, 1, 0, 0, 0, 0, 0, 1)),
        (_, false) => IpAddr::V4(Ipv4Addr::new(10, 0, 0, 10 + i % 3)),
        (_, true) => IpAddr::V4(Ipv4Addr::new(211, 0, 0, 10)),
    };
    SocketAddr::new(ip, if server { 80 } else { 40_000 + u16::from(i % 5) })
}

/// One packet of a random sequence: which flow, what kind, which way, and a sequence offset.
fn packet(flow: u8, kind: u8, reverse: bool, seq: u32) -> (Vec<u8>, Option<u16>, Option<u16>) {
    let (mut c, mut s) = (endpoint(flow, false), endpoint(flow, true));
    if s.is_ipv4() != c.is_ipv4() {
        s = endpoint(3, true);
        c = endpoint(3, false);
    }
    let (src, dst, ingress, egress) = if reverse { (s, c, OUT, IN) } else { (c, s, IN, OUT) };
    let bytes = match kind % 8 {
        0 => build::syn(src, dst, seq),
        1 => build::tcp(src, dst, TcpFlags::SYN | TcpFlags::ACK, seq, 1001, 0),
        2 => build::tcp(src, dst, TcpFlags::ACK, 1001 + seq % 3, 5001, 0),
        3 => build::tcp(src, dst, TcpFlags::ACK | TcpFlags::PSH, 1001, 5001, 100),
        4 => build::tcp(src, dst, TcpFlags::FIN | TcpFlags::ACK, 1001, 5001, 0),
        5 => build::tcp(src, dst, TcpFlags::RST, 1001, 0, 0),
        6 => build::udp(src, dst, 32),
        _ => {
            let mut b = build::udp(src, dst, 8);
            b.truncate(usize::from(kind % 30));
            b
        }
    };
    (bytes, ingress, egress)
}

fn drain(e: &mut Engine) -> Vec<String> {
    std::iter::from_fn(|| e.poll_event())
        .map(|ev: EngineEvent| format!("{ev:?}"))
        .collect()
}

proptest! {
    #[test]
    fn batch_equals_one_by_one(
        seq in proptest::collection::vec((0u8..12, any::<u8>(), any::<bool>(), 0u32..4), 1..200),
        cut in 1usize..40,
    ) {
        let packets: Vec<_> = seq.iter().map(|&(f, k, r, s)| packet(f, k, r, s)).collect();
        let mut one = Engine::new(build::seed_firewall_config(), 99);
        let mut many = Engine::new(build::seed_firewall_config(), 99);
        let now = Instant::from_millis(5_000);
        let expected: Vec<Verdict> = packets.iter().map(|(b, i, o)| one.process(now, b, *i, *o)).collect();
        let mut got = Vec::new();
        for chunk in packets.chunks(cut) {
            let batch: Vec<BatchPacket<'_>> = chunk
                .iter()
                .map(|(b, i, o)| BatchPacket { bytes: b, ingress: *i, egress: *o })
                .collect();
            many.process_batch(now, &batch, &mut got);
        }
        prop_assert_eq!(got, expected);
        prop_assert_eq!(many.stats(), one.stats());
        prop_assert_eq!(drain(&mut many), drain(&mut one));
        prop_assert_eq!(many.sessions(now), one.sessions(now));
    }
}
