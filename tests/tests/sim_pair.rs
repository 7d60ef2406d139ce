//! Scenario tests of the simulated HA pair (DESIGN §9 step 4), built from the real sans-IO cores in
//! virtual time: election and RF progression, dynamic/periodic/bulk session sync, coalescing on a slow
//! link, failover mid-flow, return of the old Active, preemption held until STANDBY HOT, split brain,
//! planned switchover and `clear ip inspect ha sessions-all`. Assertions are on status snapshots and engine
//! verdicts, never on the host's clock. See `docs/simulation.md`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod sim;

use inspect::{DropReason, HaState, Verdict};
use sim::{PairConfig, SimPair, TcpFlow, UdpFlow, tcp_flow, udp_flow};
use sso::RfState;
use timebase::{Duration, Instant};

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

fn ms(m: u64) -> Duration {
    Duration::from_millis(m)
}

fn rf(p: &SimPair, r: usize) -> Option<RfState> {
    p.routers[r].as_ref().map(|x| x.sso.my_state())
}

/// (ACTIVE, STANDBY HOT) when the pair is in that shape.
fn hot_pair(p: &SimPair) -> Option<(usize, usize)> {
    match (rf(p, 0), rf(p, 1)) {
        (Some(RfState::Active), Some(RfState::StandbyHot)) => Some((0, 1)),
        (Some(RfState::StandbyHot), Some(RfState::Active)) => Some((1, 0)),
        _ => None,
    }
}

/// Runs until the pair is ACTIVE / STANDBY HOT and both HSRP groups have settled (Active on one router,
/// Standby on the other); returns (active, standby).
fn settle(p: &mut SimPair, limit: Duration) -> (usize, usize) {
    let ok = p.run_until_true(limit, ms(50), |p| {
        hot_pair(p).is_some_and(|(a, s)| {
            let (sa, ss) = (p.snapshot(a), p.snapshot(s));
            sa.hsrp_state(1) == "Active"
                && sa.hsrp_state(2) == "Active"
                && ss.hsrp_state(1) == "Standby"
                && ss.hsrp_state(2) == "Standby"
                && p.vmac_port == [Some(a), Some(a)]
        })
    });
    assert!(ok, "pair did not settle within {limit:?}\n{}", p.trace(40));
    hot_pair(p).unwrap()
}

/// Both routers powered on together; settled.
fn converged(cfg: PairConfig) -> (SimPair, usize, usize) {
    let mut p = SimPair::new(cfg);
    p.power_on(0);
    p.power_on(1);
    let (a, s) = settle(&mut p, secs(300));
    (p, a, s)
}

fn accepted_by(j: Option<(usize, Verdict)>, r: usize) -> bool {
    j == Some((r, Verdict::Accept))
}

/// Opens `n_tcp` connections (full handshakes) and `n_udp` flows through the Active `a`.
fn open_flows(p: &mut SimPair, a: usize, first: u32, n_tcp: u32, n_udp: u32) -> (Vec<TcpFlow>, Vec<UdpFlow>) {
    let mut tcp = Vec::new();
    for i in first..first + n_tcp {
        let f = p
            .open_tcp(tcp_flow(i))
            .unwrap_or_else(|j| panic!("handshake {i} not accepted: {j:?}"));
        tcp.push(f);
    }
    let mut udp = Vec::new();
    for i in first..first + n_udp {
        let f = udp_flow(i);
        assert!(accepted_by(p.udp_up(&f), a), "UDP flow {i} not accepted by router {a}");
        udp.push(f);
    }
    (tcp, udp)
}

/// Every flow still passes through router `r` in both directions.
fn assert_flows_pass(p: &mut SimPair, r: usize, tcp: &mut [TcpFlow], udp: &[UdpFlow]) {
    for f in tcp.iter_mut() {
        let (up, down) = p.exchange_tcp(f);
        assert!(
            accepted_by(up, r) && accepted_by(down, r),
            "TCP {f:?}: {up:?} / {down:?}\n{}",
            p.trace(20)
        );
    }
    for f in udp {
        let (up, down) = (p.udp_up(f), p.udp_down(f));
        assert!(accepted_by(up, r) && accepted_by(down, r), "UDP {f:?}: {up:?} / {down:?}");
    }
}

fn assert_unsolicited_dropped(p: &mut SimPair, r: usize) {
    assert_eq!(
        p.unsolicited_inbound(),
        Some((r, Verdict::Drop(DropReason::AclDenied))),
        "an unsolicited inbound SYN passed"
    );
}

/// The standby holds exactly the Active's HA sessions (same ids and keys), as standby copies.
fn assert_synced(p: &SimPair, a: usize, s: usize) {
    assert_eq!(p.ha_sessions(a), p.ha_sessions(s), "HA tables differ\n{}", p.trace(30));
    assert_eq!(p.digest(a), p.digest(s));
    let now = p.now;
    assert!(
        p.router(s)
            .engine
            .sessions(now)
            .iter()
            .all(|x| x.ha_state == HaState::Standby),
        "the standby holds sessions that are not standby copies"
    );
}

#[test]
fn election_and_rf_progression_with_the_seed_start_delay() {
    let mut cfg = PairConfig::default();
    // The seed's `standby delay minimum 120 reload 120`: virtual time makes it free.
    cfg.start_delay = hsrp::StartDelay {
        minimum_s: 120,
        reload_s: 120,
    };
    let (p, a, s) = converged(cfg);
    // Equal priorities: the higher interface address (ha-R2) wins the first election.
    assert_eq!(a, 1, "{}", p.trace(20));
    assert!(p.now >= Instant::from_millis(120_000), "groups started before the reload delay");
    let (sa, ss) = (p.snapshot(a), p.snapshot(s));
    assert_eq!((sa.hsrp_state(1), sa.hsrp_state(2)), ("Active", "Active"));
    assert_eq!((ss.hsrp_state(1), ss.hsrp_state(2)), ("Standby", "Standby"));
    assert_eq!((sa.sso.my_state.as_str(), sa.sso.peer_state.as_str()), ("ACTIVE", "STANDBY HOT"));
    assert_eq!((ss.sso.my_state.as_str(), ss.sso.peer_state.as_str()), ("STANDBY HOT", "ACTIVE"));
    assert_eq!(sa.sso.communications, "Up");
    assert_eq!(sa.sso.mode, "Duplex");
    assert!(sa.sso.mismatches.is_empty(), "{:?}", sa.sso.mismatches);
    assert!(!sa.sso.dual_active);
    // The standby's progression went through every IOS step, in order.
    let path: Vec<RfState> = p.router(s).rf_changes.iter().map(|c| c.2).collect();
    let want = [
        RfState::Negotiation,
        RfState::StandbyCold,
        RfState::StandbyColdBulk,
        RfState::StandbyHot,
    ];
    let mut it = path.iter();
    for w in want {
        assert!(it.any(|x| *x == w), "{w} missing from the standby's path {path:?}");
    }
    // Bulk sync done with a matching count and digest.
    let (_, report) = p.router(s).bulk_reports.last().copied().expect("no bulk report");
    assert!(report.ok, "{report:?}");
    assert!(ss.sync.in_sync && ss.sync.counters.bulk_syncs >= 1);
    assert_eq!(p.digest(a), p.digest(s));
    let fw = &ss.sso.clients[0];
    assert!(fw.bulk_state.starts_with("done"), "{fw:?}");
}

#[test]
fn dynamic_sync_of_tcp_and_udp_sessions() {
    let (mut p, a, s) = converged(PairConfig::default());
    let (mut tcp, udp) = open_flows(&mut p, a, 0, 50, 20);
    assert_eq!(p.ha_sessions(a).len(), 70);
    p.run_for(ms(5));
    assert_synced(&p, a, s);
    assert_eq!(p.ha_sessions(s).len(), 70);
    let st = p.snapshot(s).sync;
    assert_eq!(st.counters.adds_received, 70, "{st:?}");
    assert_eq!(st.counters.unknown_updates + st.counters.unknown_deletes, 0);
    // Closing half of the TCP connections removes their copies as quickly.
    for f in &tcp[..25] {
        assert!(accepted_by(p.reset_tcp(f), a));
    }
    p.run_for(ms(5));
    assert_synced(&p, a, s);
    assert_eq!(p.ha_sessions(s).len(), 45);
    assert_flows_pass(&mut p, a, &mut tcp[25..], &udp);
}

#[test]
fn periodic_updates_every_n_seconds_per_session() {
    let (mut p, a, s) = converged(PairConfig::default());
    let (tcp, _) = open_flows(&mut p, a, 0, 30, 0);
    p.run_for(secs(1));
    let start = p.now;
    let sent0 = p.snapshot(a).sync.counters.updates_sent;
    let recv0 = p.snapshot(s).sync.counters.updates_received;
    p.run_for(secs(60));
    let end = p.now;
    let ids: Vec<u32> = p.ha_sessions(a).keys().copied().collect();
    assert_eq!(ids.len(), tcp.len());
    for id in ids {
        let times: Vec<Instant> = p
            .router(a)
            .updates
            .iter()
            .filter(|(t, x)| x.0 == id && *t > start && *t <= end)
            .map(|(t, _)| *t)
            .collect();
        assert_eq!(times.len(), 6, "session {id}: {} updates in 60 s", times.len());
        for w in times.windows(2) {
            let gap = (w[1] - w[0]).as_millis();
            assert!((10_000..=10_100).contains(&gap), "session {id}: updates {gap} ms apart");
        }
    }
    let sent = p.snapshot(a).sync.counters.updates_sent - sent0;
    let recv = p.snapshot(s).sync.counters.updates_received - recv0;
    assert_eq!(sent, 6 * tcp.len() as u64);
    assert_eq!(recv, sent);
    assert_synced(&p, a, s);
}

#[test]
fn bulk_sync_with_concurrent_churn_ends_with_equal_digests() {
    let mut cfg = PairConfig::default();
    // A small IPC send queue and small bulk steps: the bulk is paced by the link, so churn interleaves.
    cfg.send_queue_bytes = 16 * 1024;
    cfg.sync.bulk_chunk = 64;
    let mut p = SimPair::new(cfg);
    p.power_on(0);
    assert!(
        p.run_until_true(secs(60), ms(100), |p| rf(p, 0) == Some(RfState::Active)),
        "{}",
        p.trace(20)
    );
    let (mut tcp, _udp) = open_flows(&mut p, 0, 0, 3_000, 1_000);
    assert_eq!(p.ha_sessions(0).len(), 4_000);
    p.power_on(1);
    let mut next = 10_000u32;
    let mut churn_in_bulk = 0u32;
    let mut closed = 0usize;
    for _ in 0..200_000 {
        if rf(&p, 1) == Some(RfState::StandbyHot) {
            break;
        }
        let in_bulk = p.router(1).sync.bulk_in_progress() && p.router(1).sync.counters().adds_received > 0;
        if in_bulk {
            for _ in 0..3 {
                let f = p.open_tcp(tcp_flow(next)).expect("new connection during the bulk");
                tcp.push(f);
                next += 1;
            }
            if closed < tcp.len() {
                assert!(accepted_by(p.reset_tcp(&tcp[closed]), 0));
                closed += 2;
            }
            churn_in_bulk += 1;
        }
        let t = p.now + ms(1);
        p.run_until(t);
    }
    assert_eq!(rf(&p, 1), Some(RfState::StandbyHot), "{}", p.trace(30));
    assert!(churn_in_bulk > 0, "no churn happened while the bulk was in flight");
    p.run_for(ms(20));
    assert_synced(&p, 0, 1);
    let st = p.snapshot(1).sync;
    assert!(st.in_sync && st.counters.bulk_syncs >= 1, "{st:?}");
    eprintln!(
        "bulk with churn: {churn_in_bulk} churn steps, {} sessions, superseded {}",
        p.ha_sessions(0).len(),
        p.snapshot(0).sync.counters.bulk_superseded
    );
}
