//! Split brain: both routers ACTIVE while every link between them is cut, healed to one Active
//! without losing sessions (also on lossy links across seeds).

use timebase::Duration;

use crate::sim::PairConfig;
use crate::sim::scenario::*;
use crate::steps::{both_rf_active, lossy_pair, one_hsrp_active_per_group, open_synced_flows};

#[test]
fn split_brain_heals_to_one_active_without_losing_sessions() {
    let (mut p, a, s) = converged(PairConfig::default());
    let (mut tcp, udp) = open_synced_flows(&mut p, a, s, 40, 10, secs(1));
    p.partition_all(true);
    let ok = p.run_until_true(secs(20), ms(50), both_rf_active);
    assert!(ok, "no dual Active during the partition\n{}", p.trace(30));
    p.run_for(secs(2));
    for r in 0..2 {
        assert_eq!(p.snapshot(r).hsrp_state(1), "Active");
        assert_eq!(
            p.ha_sessions(r).len(),
            50,
            "router {r} lost sessions in the partition"
        );
    }
    let keys_before = [p.ha_keys(0), p.ha_keys(1)];
    p.partition_all(false);
    let heal = p.now;
    let hold = Duration::from_millis(10_000);
    let ok = p.run_until_true(hold, ms(10), one_hsrp_active_per_group);
    assert!(
        ok,
        "still two Actives one hold time after the heal\n{}",
        p.trace(30)
    );
    eprintln!(
        "split brain healed to one Active after {} ms",
        (p.now - heal).as_millis()
    );
    let (a2, s2) = settle(&mut p, secs(120));
    assert!(
        p.router(s2).logged_since(heal, "%RF-5-RF_RELOAD"),
        "the loser did not reload\n{}",
        p.trace(30)
    );
    assert!(p.router(a2).logged_since(heal, "DUAL_ACTIVE") || p.router(s2).logged_since(heal, "DUAL_ACTIVE"));
    p.run_for(ms(20));
    assert_eq!(p.ha_keys(a2), keys_before[a2], "the survivor lost sessions");
    assert_synced(&p, a2, s2);
    assert_flows_pass(&mut p, a2, &mut tcp, &udp);
}

#[test]
fn split_brain_across_seeds_on_lossy_links() {
    for seed in 1..=8 {
        let mut p = lossy_pair(seed, 0.1, Duration::ZERO, 0.1);
        let (a, s) = settle(&mut p, secs(300));
        let (mut tcp, udp) = open_synced_flows(&mut p, a, s, 30, 10, secs(1));
        p.partition_all(true);
        let ok = p.run_until_true(secs(30), ms(50), both_rf_active);
        assert!(ok, "seed {seed}: no dual Active\n{}", p.trace(30));
        p.run_for(secs(2));
        p.partition_all(false);
        let one_active = p.run_until_true(secs(10), ms(10), one_hsrp_active_per_group);
        assert!(
            one_active,
            "seed {seed}: two Actives one hold time after the heal"
        );
        let (a2, s2) = settle(&mut p, secs(120));
        p.run_for(ms(50));
        assert_synced(&p, a2, s2);
        assert_eq!(p.ha_sessions(a2).len(), 40, "seed {seed}: sessions lost");
        assert_flows_pass(&mut p, a2, &mut tcp, &udp);
    }
}
