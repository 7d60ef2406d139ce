//! Two real engines synchronized through the sync protocol over a simulated slow, lossy link: the Active
//! engine inspects crafted TCP/UDP packets and emits HA events; the standby engine holds the copies; after
//! failover the standby engine forwards the synced flows.
#![allow(clippy::unwrap_used)]

mod ha_common;

use std::net::SocketAddr;

use ha_common::{Pair, SimLink};
use inspect::ha::{SessionStore, SyncConfig, SyncRole, feed_engine_event};
use inspect::wire::TcpFlags;
use inspect::{Engine, EngineConfig, EngineEvent, HaRole, HaState, Verdict, build};
use timebase::{Duration, Instant};

const IN: Option<u16> = Some(0);
const OUT: Option<u16> = Some(1);

fn sa(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

/// The seed's router: inside Ethernet0/0, outside Ethernet1/0 with `ip access-group fw-ha-acl in` and
/// `ip inspect ha-protocols out redundancy stateful HAin`; updates every 10 s.
fn config() -> EngineConfig {
    EngineConfig {
        ha_update_interval_s: 10,
        tcp_idle_s: EngineConfig::default().tcp_idle_s,
        ..build::seed_firewall_config()
    }
}

fn standby_engine() -> Engine {
    let mut e = Engine::new(config(), 99);
    e.set_ha_role(Instant::ZERO, HaRole::Standby);
    e
}

/// One TCP connection through the Active: client and server next sequence numbers.
#[derive(Clone, Copy, Debug)]
struct Conn {
    client: SocketAddr,
    server: SocketAddr,
    c_seq: u32,
    s_seq: u32,
}

struct Lab {
    pair: Pair<Engine, Engine>,
    conns: Vec<Conn>,
    udp: Vec<(SocketAddr, SocketAddr)>,
}

impl Lab {
    fn new(link: SimLink, sync_config: SyncConfig) -> Self {
        let mut pair = Pair::new(
            sync_config,
            Engine::new(config(), 1),
            standby_engine(),
            link,
            SimLink::new(Duration::from_micros(200), 0, 64),
        );
        pair.standby.request_bulk(Instant::ZERO);
        Self {
            pair,
            conns: Vec::new(),
            udp: Vec::new(),
        }
    }

    fn now(&self) -> Instant {
        self.pair.now
    }

    fn active(&mut self, pkt: &[u8], ingress: Option<u16>, egress: Option<u16>) -> Verdict {
        let now = self.now();
        self.pair.a_store.process(now, pkt, ingress, egress)
    }

    fn open_tcp(&mut self, i: u16) {
        let c = Conn {
            client: SocketAddr::from(([10, 0, 0, 10], 40000 + i)),
            server: SocketAddr::from(([211, 0, 0, 10], 80)),
            c_seq: 1000 + u32::from(i) * 7919,
            s_seq: 900_000 + u32::from(i) * 104_729,
        };
        assert_eq!(
            self.active(&build::syn(c.client, c.server, c.c_seq), IN, OUT),
            Verdict::Accept
        );
        let synack = build::tcp(
            c.server,
            c.client,
            TcpFlags::SYN | TcpFlags::ACK,
            c.s_seq,
            c.c_seq + 1,
            0,
        );
        assert_eq!(self.active(&synack, OUT, IN), Verdict::Accept);
        let ack = build::tcp(c.client, c.server, TcpFlags::ACK, c.c_seq + 1, c.s_seq + 1, 0);
        assert_eq!(self.active(&ack, IN, OUT), Verdict::Accept);
        self.conns.push(Conn {
            c_seq: c.c_seq + 1,
            s_seq: c.s_seq + 1,
            ..c
        });
    }

    /// Data both ways on connection `k`, through `engine`.
    fn exchange(engine: &mut Engine, now: Instant, c: &mut Conn) -> (Verdict, Verdict) {
        let up = build::tcp(
            c.client,
            c.server,
            TcpFlags::ACK | TcpFlags::PSH,
            c.c_seq,
            c.s_seq,
            100,
        );
        let v1 = engine.process(now, &up, IN, OUT);
        c.c_seq += 100;
        let down = build::tcp(
            c.server,
            c.client,
            TcpFlags::ACK | TcpFlags::PSH,
            c.s_seq,
            c.c_seq,
            1000,
        );
        let v2 = engine.process(now, &down, OUT, IN);
        c.s_seq += 1000;
        (v1, v2)
    }

    fn traffic(&mut self) {
        let now = self.now();
        for c in &mut self.conns {
            assert_eq!(
                Self::exchange(&mut self.pair.a_store, now, c),
                (Verdict::Accept, Verdict::Accept)
            );
        }
        for &(c, s) in &self.udp {
            assert_eq!(
                self.pair.a_store.process(now, &build::udp(c, s, 50), IN, OUT),
                Verdict::Accept
            );
            assert_eq!(
                self.pair.a_store.process(now, &build::udp(s, c, 400), OUT, IN),
                Verdict::Accept
            );
        }
    }

    fn open_udp(&mut self, i: u16) {
        let c = SocketAddr::from(([10, 0, 0, 11], 50000 + i));
        let s = sa("211.0.0.20:53");
        assert_eq!(self.active(&build::udp(c, s, 40), IN, OUT), Verdict::Accept);
        self.udp.push((c, s));
    }

    /// Runs both engines' timers and the sync pair, a millisecond at a time.
    fn run_ms(&mut self, ms: u64) {
        for _ in 0..ms {
            let now = self.pair.now + Duration::from_millis(1);
            self.pair.a_store.handle_timeout(now);
            while let Some(ev) = self.pair.a_store.poll_event() {
                feed_engine_event(&mut self.pair.active, now, &ev);
            }
            self.pair.s_store.handle_timeout(now);
            while let Some(ev) = self.pair.s_store.poll_event() {
                assert!(
                    !matches!(ev, EngineEvent::HaAdd(_) | EngineEvent::HaUpdate(_)),
                    "standby emitted {ev:?}"
                );
            }
            self.pair.run_until(now);
        }
    }

    fn run_s(&mut self, s: u64) {
        // Coarser steps for long idle periods (the engines' timers are per 100 ms wheel slots).
        for _ in 0..s * 10 {
            let now = self.pair.now + Duration::from_millis(100);
            self.pair.a_store.handle_timeout(now);
            while let Some(ev) = self.pair.a_store.poll_event() {
                feed_engine_event(&mut self.pair.active, now, &ev);
            }
            self.pair.s_store.handle_timeout(now);
            while self.pair.s_store.poll_event().is_some() {}
            self.pair.run_until(now);
        }
    }

    fn assert_tables_match(&self) {
        let now = self.now();
        let a = self.pair.a_store.ha_table_digest(now);
        let s = self.pair.s_store.ha_table_digest(now);
        assert_eq!(a, s, "HA tables differ");
        let standby = self.pair.s_store.sessions(now);
        assert_eq!(standby.len() as u64, a.count);
        assert!(standby.iter().all(|s| s.ha_state == HaState::Standby));
    }
}

#[test]
fn engines_sync_dynamically_update_periodically_and_fail_over() {
    // 2 MB/s, 300 us latency, and the 4th message is lost: the standby resyncs once on its own.
    let mut link = SimLink::new(Duration::from_micros(300), 2000, 16);
    link.lose = vec![3];
    let mut lab = Lab::new(link, SyncConfig::default());
    lab.run_ms(5);
    for i in 0..40 {
        lab.open_tcp(i);
        if i % 2 == 0 {
            lab.open_udp(i);
        }
        lab.run_ms(1);
    }
    lab.traffic();
    lab.run_ms(200);
    lab.assert_tables_match();
    assert_eq!(lab.pair.s_store.sessions(lab.now()).len(), 60);
    let st = lab.pair.standby.counters().clone();
    assert!(
        st.gaps >= 1 && st.resyncs >= 1,
        "the lost message went unnoticed: {st:?}"
    );
    assert!(lab.pair.standby.in_sync());

    // Periodic updates: traffic at ~2 s, then the 10 s updates carry the new positions.
    let (sent_before, received_before) = (
        lab.pair.active.counters().updates_sent,
        lab.pair.standby.counters().updates_received,
    );
    lab.run_s(2);
    lab.traffic();
    lab.run_s(10);
    lab.traffic();
    lab.run_s(11);
    lab.run_ms(50);
    let a = lab.pair.active.counters().clone();
    assert!(
        a.updates_sent - sent_before >= 120,
        "updates sent: {}",
        a.updates_sent - sent_before
    );
    assert_eq!(
        lab.pair.standby.counters().updates_received - received_before,
        a.updates_sent - sent_before
    );
    assert_eq!(lab.pair.standby.counters().unknown_updates, 0);
    let now = lab.now();
    let mut active: Vec<_> = lab.pair.a_store.export_ha(now).collect();
    let mut standby: Vec<_> = lab.pair.s_store.export_ha(now).collect();
    active.sort_by_key(|r| r.id);
    standby.sort_by_key(|r| r.id);
    for (x, y) in active.iter().zip(&standby) {
        assert_eq!(x.key, y.key);
        assert_eq!(x.state, y.state);
        assert_eq!(x.initiator_tcp.next_seq, y.initiator_tcp.next_seq, "{:?}", x.key);
        assert_eq!(x.responder_tcp.next_seq, y.responder_tcp.next_seq, "{:?}", x.key);
    }

    // Failover: the Active dies; the standby engine becomes Active and carries the flows on.
    let now = lab.now();
    lab.pair.standby.set_role(now, SyncRole::Active);
    lab.pair.s_store.set_ha_role(now, HaRole::Active);
    let promoted: Vec<_> = std::iter::from_fn(|| lab.pair.s_store.poll_event()).collect();
    assert!(
        promoted
            .iter()
            .any(|e| matches!(e, EngineEvent::HaPromoted { sessions: 60 })),
        "{promoted:?}"
    );
    let new_active = &mut lab.pair.s_store;
    for c in &mut lab.conns {
        assert_eq!(
            Lab::exchange(new_active, now, c),
            (Verdict::Accept, Verdict::Accept),
            "{c:?}"
        );
    }
    for &(c, s) in &lab.udp {
        assert_eq!(
            new_active.process(now, &build::udp(s, c, 400), OUT, IN),
            Verdict::Accept
        );
    }
    // The interface ACL still refuses what no session opened.
    let stray = build::syn(sa("211.0.0.10:4444"), sa("10.0.0.10:22"), 1);
    assert!(matches!(
        new_active.process(now, &stray, OUT, IN),
        Verdict::Drop(_)
    ));
    assert!(
        new_active
            .sessions(now)
            .iter()
            .all(|s| s.ha_state == HaState::Active)
    );
}

#[test]
fn engine_bulk_sync_with_concurrent_churn_matches() {
    let config = SyncConfig {
        bulk_chunk: 32,
        ..SyncConfig::default()
    };
    let mut lab = Lab::new(SimLink::new(Duration::from_micros(300), 0, 16), config);
    lab.pair.standby.handle_link_down(Instant::ZERO);
    lab.pair.active.handle_link_down(Instant::ZERO);
    for i in 0..600 {
        lab.open_tcp(i);
    }
    for i in 0..200 {
        lab.open_udp(i);
    }
    lab.run_ms(5);
    assert_eq!(lab.pair.s_store.sessions(lab.now()).len(), 0);
    // A standby that starts now (a slow link: 0.5 MB/s) gets everything by bulk sync while sessions come
    // and go on the Active.
    lab.pair.a2s.bytes_per_ms = 500;
    let now = lab.now();
    lab.pair.active.handle_link_up(now);
    lab.pair.standby.handle_link_up(now);
    // Churn starts once the Active serves the bulk (earlier deletes name sessions the standby never had).
    lab.run_ms(1);
    assert!(lab.pair.active.bulk_in_progress());
    let mut next = 600;
    let mut ms = 0;
    while lab.pair.reports.is_empty() {
        ms += 1;
        assert!(ms < 5000, "bulk never completed");
        lab.open_tcp(next);
        next += 1;
        // Close one of the first 600 connections, walking down from the last (whose bulk add is late).
        let port = 40000 + 599 - ms as u16;
        let Some(pos) = lab.conns.iter().position(|c| c.client.port() == port) else {
            continue;
        };
        let c = lab.conns.remove(pos);
        let rst = build::tcp(c.client, c.server, TcpFlags::RST, c.c_seq, 0, 0);
        assert_eq!(lab.active(&rst, IN, OUT), Verdict::Accept);
        lab.run_ms(1);
    }
    assert!(ms > 10, "the bulk ended before churn could overlap it ({ms} ms)");
    let report = lab.pair.reports[0];
    assert!(report.ok, "{report:?}");
    lab.run_ms(20);
    lab.assert_tables_match();
    assert!(lab.pair.active.counters().bulk_superseded > 0);
    assert_eq!(lab.pair.standby.counters().unknown_deletes, 0);
}
