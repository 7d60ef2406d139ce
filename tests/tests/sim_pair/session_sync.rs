//! Session sync while the roles hold: dynamic adds and deletes, periodic updates, bulk sync under
//! churn, coalescing on a slow association, `clear ip inspect ha sessions-all`, and the automatic resync
//! after an IPC-only outage.

use inspect::ha::SyncConfig;
use sso::RfState;
use timebase::Instant;

use crate::sim::scenario::*;
use crate::sim::{PairConfig, tcp_flow};
use crate::steps::{active_alone, open_synced_flows, settle_resynced};

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
            assert!(
                (10_000..=10_100).contains(&gap),
                "session {id}: updates {gap} ms apart"
            );
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
    // A small IPC send queue and small bulk steps: the bulk is paced by the link, so churn interleaves.
    let cfg = PairConfig {
        send_queue_bytes: 16 * 1024,
        sync: SyncConfig {
            bulk_chunk: 64,
            ..SyncConfig::default()
        },
        ..PairConfig::default()
    };
    let mut p = active_alone(cfg);
    let (mut tcp, _udp) = open_flows(&mut p, 0, 0, 3_000, 1_000);
    assert_eq!(tcp.len(), 3_000);
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
                let f = p
                    .open_tcp(tcp_flow(next))
                    .expect("new connection during the bulk");
                tcp.push(f);
                next += 1;
            }
            // Close connections from the end of the old set (their bulk adds are still to come) and
            // from its start (already sent).
            if closed < 1_000 {
                let (hi, lo) = (tcp[2_999 - closed], tcp[closed]);
                assert!(accepted_by(p.reset_tcp(&hi), 0));
                assert!(accepted_by(p.reset_tcp(&lo), 0));
                closed += 1;
            }
            churn_in_bulk += 1;
        }
        let t = p.now + ms(1);
        p.run_until(t);
    }
    assert_eq!(rf(&p, 1), Some(RfState::StandbyHot), "{}", p.trace(30));
    assert!(
        churn_in_bulk > 0,
        "no churn happened while the bulk was in flight"
    );
    p.run_for(ms(20));
    assert_synced(&p, 0, 1);
    let st = p.snapshot(1).sync;
    assert!(st.in_sync && st.counters.bulk_syncs >= 1, "{st:?}");
    assert!(
        p.snapshot(0).sync.counters.bulk_superseded > 0,
        "no event was folded into a pending bulk add"
    );
    assert_eq!(
        p.ha_sessions(1).len(),
        4_000 + 3 * churn_in_bulk as usize - 2 * closed
    );
    eprintln!(
        "bulk with churn: {churn_in_bulk} churn steps, {} sessions, superseded {}",
        p.ha_sessions(0).len(),
        p.snapshot(0).sync.counters.bulk_superseded
    );
}

#[test]
fn coalescing_on_a_slow_lossy_association_then_no_divergence() {
    // Knobs that let the association ride out a long bad spell instead of failing: a wide RTO range,
    // the most retransmissions, rare heartbeats, and a small send queue that fills quickly.
    let cfg = PairConfig {
        rto_ms: (300, 60_000),
        assoc_retransmit: 10,
        heartbeat_ms: 60_000,
        send_queue_bytes: 4 * 1024,
        ..PairConfig::default()
    };
    let (mut p, a, s) = converged(cfg);
    // 2 000 connections opened over 10 s, so their periodic updates are spread over the interval.
    let mut tcp = Vec::new();
    for k in 0..20u32 {
        let (t, _) = open_flows(&mut p, a, k * 100, 100, 0);
        tcp.extend(t);
        p.run_for(ms(500));
    }
    p.run_for(secs(2));
    assert_synced(&p, a, s);
    // A slow, lossy association for 40 s: 400 ms one way, 30 % loss.
    p.ipc.faults.delay = ms(400);
    p.ipc.faults.jitter = ms(50);
    p.ipc.faults.loss = 0.3;
    p.run_for(secs(40));
    let during = p.snapshot(a).sync;
    // Recovery.
    p.ipc.faults = ipc::sim::Faults::default();
    let (a2, s2) = settle(&mut p, secs(120));
    assert_eq!(
        (a2, s2),
        (a, s),
        "roles changed during the bad spell\n{}",
        p.trace(30)
    );
    p.run_for(ms(50));
    let after = p.snapshot(a).sync;
    eprintln!(
        "slow link: coalesced {}, send_blocked {}, dropped updates {}, gaps {}, standby resyncs {}, standby bulks {}",
        after.counters.coalesced,
        after.counters.send_blocked,
        after.counters.updates_dropped,
        after.counters.gaps,
        p.snapshot(s).sync.counters.resyncs,
        p.snapshot(s).sync.counters.bulk_syncs,
    );
    assert!(
        during.counters.send_blocked > 0,
        "the association never refused a batch: {during:?}"
    );
    assert!(after.counters.coalesced > 0, "no update was coalesced: {after:?}");
    assert_synced(&p, a, s);
    assert_eq!(p.ha_sessions(s).len(), 2_000);
    assert!(p.snapshot(s).sync.in_sync);
}

#[test]
fn clear_ha_sessions_all_on_the_standby_flushes_and_bulk_syncs_again() {
    let (mut p, a, s) = converged(PairConfig::default());
    let (_tcp, _udp) = open_synced_flows(&mut p, a, s, 60, 30, ms(10));
    let bulks = p.snapshot(s).sync.counters.bulk_syncs;
    assert!(
        p.clear_ha_sessions_all(a).is_err(),
        "the Active accepted a standby-only command"
    );
    p.clear_ha_sessions_all(s).expect("resync refused on the standby");
    assert_eq!(p.ha_sessions(s).len(), 0, "the standby's table was not flushed");
    assert!(p.run_until_true(secs(30), ms(1), |p| {
        rf(p, s) == Some(RfState::StandbyHot) && p.snapshot(s).sync.counters.bulk_syncs > bulks
    }));
    p.run_for(ms(10));
    assert_synced(&p, a, s);
    assert_eq!(p.ha_sessions(s).len(), 90);
    let (_, report) = p.router(s).bulk_reports.last().copied().unwrap();
    assert!(report.ok && report.sessions == 90, "{report:?}");
}

#[test]
fn ipc_loss_and_return_resyncs_the_standby_automatically() {
    let (mut p, a, s) = converged(PairConfig::default());
    let (mut tcp, udp) = open_synced_flows(&mut p, a, s, 40, 10, ms(10));
    // Only the association is cut: HSRP still sees both routers, so nobody takes over.
    p.ipc.set_partition(None, true);
    let ok = p.run_until_true(secs(20), ms(50), |p| rf(p, s) != Some(RfState::StandbyHot));
    assert!(ok, "the standby never noticed the lost peer");
    // Churn the standby cannot see: 20 new connections, 10 closed.
    let (new_tcp, _) = open_flows(&mut p, a, 1_000, 20, 0);
    for f in &tcp[..10] {
        assert!(accepted_by(p.reset_tcp(f), a));
    }
    p.run_for(secs(5));
    assert_eq!(p.active(), Some(a), "a takeover happened on an IPC-only failure");
    assert_eq!(
        p.ha_sessions(s).len(),
        50,
        "the standby dropped its copies while cut off"
    );
    p.ipc.set_partition(None, false);
    settle_resynced(&mut p, secs(120), (a, s), "roles changed on an IPC-only failure");
    assert_eq!(p.ha_sessions(s).len(), 60);
    assert!(p.snapshot(s).sync.counters.stale_removed >= 10);
    tcp.drain(..10);
    tcp.extend(new_tcp);
    assert_flows_pass(&mut p, a, &mut tcp, &udp);
}
