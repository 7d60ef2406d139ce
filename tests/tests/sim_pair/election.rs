//! Election and RF progression, configuration checks between the peers, HSRP stability on lossy
//! LANs, and determinism (the same seed gives the same run).

use sso::RfState;
use timebase::Instant;

use crate::sim::scenario::*;
use crate::sim::{PairConfig, SimPair};

#[test]
fn election_and_rf_progression_with_the_seed_start_delay() {
    // The seed's `standby delay minimum 120 reload 120`: virtual time makes it free.
    let cfg = PairConfig {
        start_delay: hsrp::StartDelay {
            minimum_s: 120,
            reload_s: 120,
        },
        ..PairConfig::default()
    };
    let (p, a, s) = converged(cfg);
    // Equal priorities: the higher interface address (ha-R2) wins the first election.
    assert_eq!(a, 1, "{}", p.trace(20));
    assert!(
        p.now >= Instant::from_millis(120_000),
        "groups started before the reload delay"
    );
    let (sa, ss) = (p.snapshot(a), p.snapshot(s));
    assert_eq!((sa.hsrp_state(1), sa.hsrp_state(2)), ("Active", "Active"));
    assert_eq!((ss.hsrp_state(1), ss.hsrp_state(2)), ("Standby", "Standby"));
    assert_eq!(
        (sa.sso.my_state.as_str(), sa.sso.peer_state.as_str()),
        ("ACTIVE", "STANDBY HOT")
    );
    assert_eq!(
        (ss.sso.my_state.as_str(), ss.sso.peer_state.as_str()),
        ("STANDBY HOT", "ACTIVE")
    );
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
        assert!(
            it.any(|x| *x == w),
            "{w} missing from the standby's path {path:?}"
        );
    }
    // Bulk sync done with a matching count and digest.
    let (_, report) = p.router(s).bulk_reports.last().copied().expect("no bulk report");
    assert!(report.ok, "{report:?}");
    assert!(ss.sync.in_sync && ss.sync.counters.bulk_syncs >= 1);
    assert_eq!(p.digest(a), p.digest(s));
    // The IOS renderers over the same snapshots.
    let states = sso::render::render_states(&sa.sso);
    assert!(states.contains("my state = 13 -ACTIVE"), "{states}");
    assert!(states.contains("peer state = 8  -STANDBY HOT"), "{states}");
    let brief = hsrp::render_standby_brief(&ss.hsrp);
    assert!(brief.contains("Standby") && brief.contains("10.0.0.3"), "{brief}");
    let stats = inspect::ha::render_statistics(&ss.sync);
    assert!(
        stats.contains("role Standby") && stats.contains("in sync"),
        "{stats}"
    );
    let fw = &ss.sso.clients[0];
    assert!(fw.bulk_state.starts_with("done"), "{fw:?}");
}

#[test]
fn configuration_mismatch_is_reported_and_does_not_stop_the_progression() {
    // ha-R1 sends updates every 30 s, ha-R2 every 10 s.
    let cfg = PairConfig {
        update_s: [30, 10],
        ..PairConfig::default()
    };
    let (p, a, s) = converged(cfg);
    assert_eq!((a, s), (1, 0));
    for r in [a, s] {
        let st = p.snapshot(r).sso;
        assert!(
            st.mismatches
                .iter()
                .any(|m| format!("{:?}", m.kind) == "UpdateIntervalMismatch"),
            "router {r}: {:?}",
            st.mismatches
        );
    }
    assert!(
        p.router(a).logged("UPDATE_INTERVAL_MISMATCH") || p.router(s).logged("UPDATE_INTERVAL_MISMATCH"),
        "{}",
        p.trace(30)
    );
    assert_ne!(p.snapshot(a).sso.config_digest, p.snapshot(s).sso.config_digest);
}

#[test]
fn lossy_lans_do_not_make_hsrp_flap() {
    let (mut p, a, s) = converged(PairConfig::default());
    let changes = |p: &SimPair| (0..2).map(|r| p.router(r).hsrp_changes.len()).sum::<usize>();
    let before = changes(&p);
    p.lans[0].loss = 0.2;
    p.lans[1].loss = 0.2;
    p.run_for(secs(120));
    assert_eq!(
        changes(&p),
        before,
        "HSRP changed state under 20 % hello loss\n{}",
        p.trace(20)
    );
    assert_eq!(hot_pair(&p), Some((a, s)));
    assert!(p.lans[0].lost > 0 && p.lans[1].lost > 0);
}

#[test]
fn the_same_seed_gives_the_same_run() {
    let run = || {
        let (p, old, new, _, _) = failover_mid_flow();
        let r = p.router(new);
        let log: Vec<String> = r
            .log
            .iter()
            .map(|l| format!("{} {}", l.at.as_micros(), l.text))
            .collect();
        (old, new, p.now, p.steps, log, p.ha_sessions(new))
    };
    let (x, y) = (run(), run());
    assert!(x == y, "two runs with the same seed differ");
}
