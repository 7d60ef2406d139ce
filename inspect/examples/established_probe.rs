//! A deterministic probe of the established-flow path for instruction counting: builds 10 000 established
//! TCP sessions, then runs 100 000 data packets of 64 of them through `Engine::process` (`one_by_one`) and
//! the same packets through `Engine::process_batch` (`batched`).
//!
//! ```text
//! cargo build --release -p inspect --example established_probe
//! valgrind --tool=callgrind --toggle-collect='established_probe::one_by_one' \
//!     target/release/examples/established_probe        # or ...::batched
//! ```
//! Instructions per packet = the collected total / 100 000 (see docs/inspect-engine.md).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use inspect::build;
use inspect::timebase::Instant;
use inspect::wire::TcpFlags;
use inspect::{BatchPacket, Engine, Verdict};

const PACKETS: usize = 100_000;
const IN: Option<u16> = Some(0);
const OUT: Option<u16> = Some(1);

fn endpoints(i: u32) -> (SocketAddr, SocketAddr) {
    let client = IpAddr::V4(Ipv4Addr::from(0x0a00_0000 | (i >> 6)));
    let server = IpAddr::V4(Ipv4Addr::new(211, 0, 0, 10));
    (
        SocketAddr::new(client, 1024 + (i & 63) as u16),
        SocketAddr::new(server, 80),
    )
}

#[inline(never)]
fn one_by_one(e: &mut Engine, pkts: &[Vec<u8>]) -> usize {
    let now = Instant::from_millis(2_000);
    (0..PACKETS)
        .filter(|i| e.process(now, &pkts[i % pkts.len()], IN, OUT) == Verdict::Accept)
        .count()
}

#[inline(never)]
fn batched(e: &mut Engine, pkts: &[Vec<u8>]) -> usize {
    let now = Instant::from_millis(2_000);
    let batch: Vec<BatchPacket<'_>> = pkts
        .iter()
        .map(|p| BatchPacket {
            bytes: p,
            ingress: IN,
            egress: OUT,
        })
        .collect();
    let mut verdicts = Vec::with_capacity(batch.len());
    let mut accepted = 0;
    for _ in 0..PACKETS / batch.len() {
        verdicts.clear();
        e.process_batch(now, &batch, &mut verdicts);
        accepted += verdicts.iter().filter(|&&v| v == Verdict::Accept).count();
    }
    accepted
}

fn main() {
    let mut cfg = build::seed_firewall_config();
    cfg.acls.clear();
    cfg.interfaces[1].acl_in = None;
    let mut e = Engine::new(cfg, 1);
    let now = Instant::from_millis(1_000);
    let n = 10_000;
    for i in 0..n {
        let (c, s) = endpoints(i);
        let [syn, syn_ack, ack] = build::handshake(c, s, 1000, 5000);
        e.process(now, &syn, IN, OUT);
        e.process(now, &syn_ack, OUT, IN);
        e.process(now, &ack, IN, OUT);
    }
    while e.poll_event().is_some() {}
    let pkts: Vec<Vec<u8>> = (0..64)
        .map(|k| {
            let (c, s) = endpoints(k * 97 % n);
            build::tcp(c, s, TcpFlags::ACK | TcpFlags::PSH, 1001, 5001, 64)
        })
        .collect();
    let a = one_by_one(&mut e, &pkts);
    let b = batched(&mut e, &pkts);
    println!(
        "accepted {a} one by one, {b} batched; drops {:?}",
        e.stats().drops
    );
}
