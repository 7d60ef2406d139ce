//! Floods: SYNs from random sources and random 5-tuples cannot grow the table past the configured limits;
//! legitimate traffic keeps working once the flood's half-open sessions time out.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use inspect::build;
use inspect::wire::TcpFlags;
use inspect::{DropReason, Engine, EngineConfig, Verdict};
use proptest::prelude::*;
use timebase::Instant;

const IN: Option<u16> = Some(0);
const OUT: Option<u16> = Some(1);

fn config(max_sessions: u32, high: Option<u32>, low: Option<u32>) -> EngineConfig {
    EngineConfig {
        max_sessions,
        max_incomplete_high: high,
        max_incomplete_low: low,
        ..build::inspect_out_config(None)
    }
}

/// A xorshift generator: deterministic, no dependency.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn addr(&mut self) -> SocketAddr {
        let v = self.next();
        SocketAddr::new(IpAddr::V4(Ipv4Addr::from(v as u32)), (v >> 32) as u16)
    }
}

#[test]
fn syn_flood_is_bounded_by_max_incomplete() {
    let mut e = Engine::new(config(100_000, Some(1_000), Some(800)), 42);
    let mut rng = Rng(7);
    let mut last = Vec::new();
    for i in 0..50_000u64 {
        let (src, dst) = (rng.addr(), rng.addr());
        let v = e.process(Instant::from_millis(i / 10), &build::syn(src, dst, 1), IN, OUT);
        // Aggressive mode: every new SYN is let through and the oldest half-open session makes room.
        assert_eq!(v, Verdict::Accept);
        if i >= 49_000 {
            last.push(src);
        }
    }
    let st = e.stats();
    assert_eq!(st.half_open, 1_000);
    assert_eq!(st.sessions, 1_000);
    assert_eq!(st.half_open_deleted, 49_000);
    assert_eq!(st.drops.half_open_limit, 0);
    assert!(st.half_open_aggressive);
    // The survivors are the newest 1 000.
    let mut live: Vec<SocketAddr> = e
        .sessions(Instant::from_millis(5_000))
        .iter()
        .map(|s| s.initiator)
        .collect();
    live.sort_unstable();
    last.sort_unstable();
    assert_eq!(live, last);
    let bytes_at_limit = st.table_bytes;
    // The half-open sessions time out (synwait 30 s): new connections work again.
    e.handle_timeout(Instant::from_millis(40_000));
    assert_eq!(e.stats().half_open, 0);
    assert!(!e.stats().half_open_aggressive);
    let c: SocketAddr = "10.0.0.10:1234".parse().expect("addr");
    let s: SocketAddr = "211.0.0.10:80".parse().expect("addr");
    assert_eq!(
        e.process(Instant::from_millis(40_001), &build::syn(c, s, 1), IN, OUT),
        Verdict::Accept
    );
    assert_eq!(
        e.process(
            Instant::from_millis(40_002),
            &build::tcp(s, c, TcpFlags::SYN | TcpFlags::ACK, 9, 2, 0),
            OUT,
            IN
        ),
        Verdict::Accept
    );
    // Memory stayed where the limit put it.
    assert!(e.stats().table_bytes <= bytes_at_limit);
}

#[test]
fn random_five_tuple_flood_is_bounded_by_the_session_cap() {
    let cap = 5_000;
    let mut e = Engine::new(config(cap, None, None), 43);
    let mut rng = Rng(9);
    for i in 0..60_000u64 {
        let now = Instant::from_millis(i / 100);
        let (src, dst) = (rng.addr(), rng.addr());
        let pkt = if i % 2 == 0 {
            build::udp(src, dst, 8)
        } else {
            build::syn(src, dst, i as u32)
        };
        let v = e.process(now, &pkt, IN, OUT);
        assert!(matches!(
            v,
            Verdict::Accept | Verdict::Drop(DropReason::SessionLimit)
        ));
        assert!(e.session_count() <= cap);
    }
    let st = e.stats();
    assert_eq!(st.sessions, u64::from(cap));
    assert_eq!(st.drops.session_limit, 60_000 - u64::from(cap));
    // Slab + indexes stay proportional to the cap (entries are 112 bytes; indexes add well under 2x).
    assert!(
        st.table_bytes < u64::from(cap) * 400,
        "table {} bytes",
        st.table_bytes
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Arbitrary bytes on the packet path: never a panic, never more sessions than the cap.
    #[test]
    fn arbitrary_packets_never_panic(pkts in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..80), 1..50)) {
        let mut e = Engine::new(config(16, Some(8), Some(4)), 1);
        for (i, p) in pkts.iter().enumerate() {
            let mut p = p.clone();
            // Bias towards plausible IPv4 headers so the deeper parsers get exercised.
            if i % 2 == 0 && p.len() >= 20 {
                p[0] = 0x45;
                let len = p.len() as u16;
                p[2..4].copy_from_slice(&len.to_be_bytes());
                p[9] = [6u8, 17, 1][i % 3];
            }
            let _ = e.process(Instant::from_millis(i as u64), &p, IN, OUT);
            let _ = e.process(Instant::from_millis(i as u64), &p, OUT, IN);
            e.handle_timeout(Instant::from_millis(i as u64 * 1000));
        }
        prop_assert!(e.session_count() <= 16);
    }
}
