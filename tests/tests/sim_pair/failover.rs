//! Unplanned failover: the Active powered off mid-flow (also on lossy links and repeatedly), its
//! return, a tracked interface going down, and daemon crashes with an immediate restart. Every flow must
//! keep passing through the new Active.

use sso::RfState;

use crate::sim::PairConfig;
use crate::sim::scenario::*;
use crate::steps::{lossy_pair, open_synced_flows, settle_resynced};

#[test]
fn failover_mid_flow_keeps_every_tcp_and_udp_flow() {
    let (mut p, _old, new, mut tcp, udp) = failover_mid_flow();
    // The next segments of every connection, both directions, with sequence numbers beyond the last
    // update, and the UDP flows in both directions: accepted by the new Active.
    assert_flows_pass(&mut p, new, &mut tcp, &udp);
    assert_flows_pass(&mut p, new, &mut tcp, &udp);
    assert_unsolicited_dropped(&mut p, new);
    let st = p.snapshot(new);
    assert_eq!(
        st.engine.sessions, 50,
        "a flow opened a new session instead of using its copy"
    );
}

#[test]
fn old_active_returns_reloads_and_reaches_standby_hot_with_every_session() {
    let (mut p, old, new, mut tcp, udp) = failover_mid_flow();
    assert_flows_pass(&mut p, new, &mut tcp, &udp);
    p.run_for(secs(5));
    p.power_on(old);
    settle_resynced(&mut p, secs(300), (new, old), "the returning router took over");
    assert_eq!(p.ha_sessions(old).len(), 50);
    let ss = p.snapshot(old);
    assert_eq!(ss.sso.my_state, "STANDBY HOT");
    assert!(ss.sync.in_sync);
    assert_flows_pass(&mut p, new, &mut tcp, &udp);
    assert_unsolicited_dropped(&mut p, new);
}

#[test]
fn tracked_interface_down_moves_both_groups_and_the_sessions() {
    let (mut p, a, s) = converged(PairConfig::default());
    let (mut tcp, udp) = open_synced_flows(&mut p, a, s, 40, 10, secs(1));
    // The Active's outside cable is pulled: group 2 goes to Init there, and mutual tracking lowers group
    // 1's priority to 50, so the STANDBY HOT peer (60, preempt) takes group 1 by coup at once and group 2
    // when the Active's hold time expires.
    let down_at = p.now;
    p.set_port(a, 1, false);
    let ok = p.run_until_true(secs(15), ms(10), |p| {
        let st = p.snapshot(s);
        st.hsrp_state(1) == "Active" && st.hsrp_state(2) == "Active"
    });
    assert!(ok, "the peer did not take both groups\n{}", p.trace(30));
    assert!((p.now - down_at).as_millis() <= 10_100);
    let st = p.snapshot(a);
    assert_eq!(st.hsrp_state(2), "Init");
    assert_eq!(st.hsrp.iter().find(|g| g.group == 1).unwrap().priority, 50);
    // The old Active relinquished, reloaded its HA state and is STANDBY HOT again (its inside LAN and the
    // IPC association still work), holding every session; the flows continue through the peer.
    let ok = p.run_until_true(secs(60), ms(50), |p| {
        rf(p, a) == Some(RfState::StandbyHot) && rf(p, s) == Some(RfState::Active)
    });
    assert!(ok, "{}", p.trace(30));
    assert!(p.router(a).logged("%RF-5-RF_RELOAD"));
    p.run_for(ms(20));
    assert_synced(&p, s, a);
    assert_eq!(p.ha_sessions(a).len(), 50);
    assert_eq!(p.vmac_port, [Some(s), Some(s)]);
    assert_flows_pass(&mut p, s, &mut tcp, &udp);
}

#[test]
fn active_daemon_crash_and_immediate_restart_keeps_the_sessions() {
    // The Active's daemon is killed and restarted at once (the host stays up): it comes back with an empty
    // table, so it must not win the Active role back; the standby takes over when the hold time expires.
    let (mut p, a, s) = converged(PairConfig::default());
    let (mut tcp, udp) = open_synced_flows(&mut p, a, s, 40, 10, secs(1));
    p.power_off(a);
    p.power_on(a);
    settle_resynced(
        &mut p,
        secs(120),
        (s, a),
        "the restarted router (empty table) became Active",
    );
    assert_eq!(p.ha_sessions(s).len(), 50);
    assert_flows_pass(&mut p, s, &mut tcp, &udp);
}

#[test]
fn standby_daemon_crash_and_immediate_restart_resyncs() {
    let (mut p, a, s) = converged(PairConfig::default());
    let (mut tcp, udp) = open_flows(&mut p, a, 0, 40, 10);
    p.run_for(secs(1));
    p.power_off(s);
    p.power_on(s);
    assert_eq!(p.ha_sessions(s).len(), 0);
    let ok = p.run_until_true(secs(60), ms(10), |p| {
        rf(p, s) == Some(RfState::StandbyHot) && p.ha_sessions(s).len() == 50
    });
    assert!(ok, "{}", p.trace(30));
    assert_eq!(p.active(), Some(a));
    p.run_for(ms(20));
    assert_synced(&p, a, s);
    assert_flows_pass(&mut p, a, &mut tcp, &udp);
}

#[test]
fn repeated_failovers_keep_every_flow() {
    let (mut p, mut a, mut s) = converged(PairConfig::default());
    let (mut tcp, udp) = open_flows(&mut p, a, 0, 30, 10);
    for round in 0..4 {
        p.run_for(secs(2));
        assert_synced(&p, a, s);
        assert_flows_pass(&mut p, a, &mut tcp, &udp);
        p.power_off(a);
        let ok = p.run_until_true(secs(15), ms(10), |p| p.vmac_port == [Some(s), Some(s)]);
        assert!(ok, "round {round}: no takeover\n{}", p.trace(30));
        p.run_for(ms(100));
        assert_flows_pass(&mut p, s, &mut tcp, &udp);
        p.power_on(a);
        let (a2, s2) = settle(&mut p, secs(120));
        assert_eq!((a2, s2), (s, a), "round {round}");
        (a, s) = (a2, s2);
    }
    p.run_for(ms(20));
    assert_synced(&p, a, s);
    assert_eq!(p.ha_sessions(s).len(), 40);
}

#[test]
fn failover_on_lossy_links_across_seeds() {
    // The failover scenario on links that lose 20 % of the IPC packets (with 3 ms of jitter, so packets
    // overtake each other) and 20 % of the hellos, for 12 seeds. (30 seeds at 30 % loss and 20 ms of
    // jitter pass too; kept smaller to keep the suite fast.)
    for seed in 1..=12 {
        let mut p = lossy_pair(seed, 0.2, ms(3), 0.2);
        let (a, s) = settle(&mut p, secs(300));
        let (mut tcp, udp) = open_synced_flows(&mut p, a, s, 40, 10, secs(2));
        assert_flows_pass(&mut p, a, &mut tcp, &udp);
        p.run_for(ms(300));
        p.power_off(a);
        let ok = p.run_until_true(secs(15), ms(10), |p| {
            p.active() == Some(s) && p.vmac_port == [Some(s), Some(s)]
        });
        assert!(ok, "seed {seed}: no takeover\n{}", p.trace(30));
        p.run_for(ms(500));
        assert_eq!(rf(&p, s), Some(RfState::Active), "seed {seed}");
        assert_flows_pass(&mut p, s, &mut tcp, &udp);
        p.power_on(a);
        let (a2, s2) = settle(&mut p, secs(300));
        assert_eq!((a2, s2), (s, a), "seed {seed}");
        p.run_for(ms(50));
        assert_synced(&p, a2, s2);
        assert_eq!(p.ha_sessions(s2).len(), 50, "seed {seed}");
    }
}
