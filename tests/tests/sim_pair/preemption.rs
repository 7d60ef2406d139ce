//! Planned role changes: HSRP preemption held until the joining router is STANDBY HOT (with and
//! without a preempt delay) and `redundancy force-switchover`.

use sso::RfState;

use crate::sim::PairConfig;
use crate::sim::scenario::*;
use crate::steps::{active_alone, first_hsrp_entry, first_hsrp_exit, first_rf_entry, settle_resynced};

#[test]
fn preemption_is_held_until_standby_hot() {
    let cfg = PairConfig {
        priority: [60, 100], // ha-R2 outranks ha-R1 and preempts
        ..PairConfig::default()
    };
    let mut p = active_alone(cfg);
    let (mut tcp, udp) = open_flows(&mut p, 0, 0, 200, 50);
    p.power_on(1);
    let mut seen_held = false;
    let ok = p.run_until_true(secs(120), ms(1), |p| {
        let st = p.snapshot(1);
        if st.sso.preempt_held && st.hsrp.iter().all(|g| g.preempt_hold.is_some()) {
            seen_held = true;
        }
        st.hsrp_state(1) == "Active"
    });
    assert!(ok, "the higher-priority router never took over\n{}", p.trace(40));
    assert!(seen_held, "SSO never held HSRP preemption on the joining router");
    let r1 = p.router(1);
    let hot_at =
        first_rf_entry(r1, RfState::StandbyHot).expect("ha-R2 never reached STANDBY HOT before taking over");
    let active_at = first_hsrp_entry(r1, hsrp::State::Active).unwrap();
    assert!(
        hot_at <= active_at,
        "HSRP Active at {active_at:?} before STANDBY HOT at {hot_at:?}"
    );
    // The takeover kept the sessions, and ha-R1 relinquished, reloaded and came back STANDBY HOT.
    let (a, s) = settle(&mut p, secs(120));
    assert_eq!((a, s), (1, 0));
    assert!(p.router(0).logged("%RF-5-RF_RELOAD"), "{}", p.trace(30));
    p.run_for(ms(20));
    assert_synced(&p, a, s);
    assert_eq!(p.ha_sessions(a).len(), 250);
    assert_flows_pass(&mut p, 1, &mut tcp, &udp);
}

#[test]
fn preemption_waits_for_its_delay_and_for_standby_hot() {
    // ha-R2 outranks ha-R1 with `preempt delay minimum 30`: it may take over only once it is STANDBY HOT
    // and its groups have been up for 30 s.
    let cfg = PairConfig {
        priority: [60, 100],
        preempt_delay_s: [0, 30],
        ..PairConfig::default()
    };
    let mut p = active_alone(cfg);
    let (mut tcp, udp) = open_flows(&mut p, 0, 0, 50, 10);
    p.power_on(1);
    let booted = p.now;
    let ok = p.run_until_true(secs(120), ms(10), |p| p.snapshot(1).hsrp_state(1) == "Active");
    assert!(ok, "{}", p.trace(30));
    let r1 = p.router(1);
    let group_up = first_hsrp_exit(r1, hsrp::State::Init).unwrap();
    let hot_at = first_rf_entry(r1, RfState::StandbyHot).unwrap();
    let active_at = first_hsrp_entry(r1, hsrp::State::Active).unwrap();
    assert!(
        hot_at < group_up + secs(30),
        "the delay did not outlast the bulk here"
    );
    assert!(
        active_at >= group_up + secs(30),
        "took over {} ms after its groups came up",
        (active_at - group_up).as_millis()
    );
    assert!(active_at <= group_up + secs(31), "the takeover came late");
    eprintln!(
        "preempt delay: booted {:?}, groups up +{} ms, STANDBY HOT +{} ms, Active +{} ms",
        booted,
        (group_up - booted).as_millis(),
        (hot_at - booted).as_millis(),
        (active_at - booted).as_millis()
    );
    settle_resynced(&mut p, secs(120), (1, 0), "ha-R2 did not stay Active");
    assert_flows_pass(&mut p, 1, &mut tcp, &udp);
}

#[test]
fn force_switchover_refused_until_the_peer_is_standby_hot() {
    let mut p = active_alone(PairConfig::default());
    let (mut tcp, udp) = open_flows(&mut p, 0, 0, 100, 20);
    assert!(p.force_switchover(0).is_err(), "accepted without a peer");
    p.power_on(1);
    // Stop at the first step where the joining router is between NEGOTIATION and STANDBY HOT.
    let ok = p.run_until_step(secs(60), |p| {
        matches!(
            rf(p, 1),
            Some(RfState::StandbyCold | RfState::StandbyColdBulk | RfState::Negotiation)
        )
    });
    assert!(ok, "{}", p.trace(40));
    let refused = p.force_switchover(0);
    assert!(
        matches!(refused, Err(sso::RefusalReason::PeerNotStandbyHot(_))),
        "{refused:?} while the peer is {:?}",
        rf(&p, 1)
    );
    assert_eq!(p.router(0).resigns, 0);
    settle_resynced(
        &mut p,
        secs(120),
        (0, 1),
        "ha-R1 lost the Active role to a joining peer",
    );
    assert_eq!(
        p.force_switchover(1),
        Err(sso::RefusalReason::NotActive("STANDBY HOT".into()))
    );
    p.force_switchover(0)
        .expect("switchover refused with a STANDBY HOT peer");
    let (a, s) = settle(&mut p, secs(120));
    assert_eq!((a, s), (1, 0), "{}", p.trace(30));
    assert!(p.router(0).logged("%RF-5-RF_RELOAD"));
    p.run_for(ms(20));
    assert_synced(&p, 1, 0);
    assert_eq!(p.ha_sessions(1).len(), 120);
    assert_flows_pass(&mut p, 1, &mut tcp, &udp);
    assert_unsolicited_dropped(&mut p, 1);
}
