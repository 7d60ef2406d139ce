//! Steps several scenarios of `sim_pair` share (the ones every simulation test may use are in
//! `sim/scenario.rs`).

use sso::RfState;
use timebase::{Duration, Instant};

use crate::sim::router::Router;
use crate::sim::scenario::{assert_synced, ms, open_flows, rf, secs, settle};
use crate::sim::{PairConfig, SimPair, TcpFlow, UdpFlow};

/// A pair in which only ha-R1 (router 0) is powered on, run until it is ACTIVE on its own.
pub(crate) fn active_alone(cfg: PairConfig) -> SimPair {
    let mut p = SimPair::new(cfg);
    p.power_on(0);
    assert!(
        p.run_until_true(secs(60), ms(100), |p| rf(p, 0) == Some(RfState::Active)),
        "{}",
        p.trace(20)
    );
    p
}

/// Both routers powered on together (default configuration with `seed`) on lossy links: the IPC path
/// loses `ipc_loss` of its packets and delays each by up to `ipc_jitter` more; each LAN loses
/// `lan_loss` of its frames.
pub(crate) fn lossy_pair(seed: u64, ipc_loss: f64, ipc_jitter: Duration, lan_loss: f64) -> SimPair {
    let cfg = PairConfig {
        seed,
        ..PairConfig::default()
    };
    let mut p = SimPair::new(cfg);
    p.ipc.faults.loss = ipc_loss;
    p.ipc.faults.jitter = ipc_jitter;
    p.lans[0].loss = lan_loss;
    p.lans[1].loss = lan_loss;
    p.power_on(0);
    p.power_on(1);
    p
}

/// Whether both routers are ACTIVE (split brain).
pub(crate) fn both_rf_active(p: &SimPair) -> bool {
    rf(p, 0) == Some(RfState::Active) && rf(p, 1) == Some(RfState::Active)
}

/// Whether each HSRP group is Active on exactly one router.
pub(crate) fn one_hsrp_active_per_group(p: &SimPair) -> bool {
    (1..=2).all(|g| {
        (0..2)
            .filter(|&r| p.snapshot(r).hsrp_state(g) == "Active")
            .count()
            == 1
    })
}

/// When `r` first reached RF state `state`.
pub(crate) fn first_rf_entry(r: &Router, state: RfState) -> Option<Instant> {
    r.rf_changes.iter().find(|c| c.2 == state).map(|c| c.0)
}

/// When an HSRP group of `r` first entered `state`.
pub(crate) fn first_hsrp_entry(r: &Router, state: hsrp::State) -> Option<Instant> {
    r.hsrp_changes.iter().find(|c| c.2 == state).map(|c| c.0)
}

/// When an HSRP group of `r` first left `state`.
pub(crate) fn first_hsrp_exit(r: &Router, state: hsrp::State) -> Option<Instant> {
    r.hsrp_changes.iter().find(|c| c.1 == state).map(|c| c.0)
}

/// Opens `tcp` TCP and `udp` UDP flows through Active `a` (ids from 0), runs for `wait`, and checks that
/// standby `s` then holds the same sessions.
pub(crate) fn open_synced_flows(
    p: &mut SimPair,
    a: usize,
    s: usize,
    tcp: u32,
    udp: u32,
    wait: Duration,
) -> (Vec<TcpFlow>, Vec<UdpFlow>) {
    let flows = open_flows(p, a, 0, tcp, udp);
    p.run_for(wait);
    assert_synced(p, a, s);
    flows
}

/// Settles the pair within `limit`, checks that the roles came out as `(active, standby)` (`unexpected`
/// says what a different outcome means), then lets the last sync records pass (20 ms) and checks that
/// the standby holds the Active's sessions.
pub(crate) fn settle_resynced(p: &mut SimPair, limit: Duration, roles: (usize, usize), unexpected: &str) {
    let got = settle(p, limit);
    assert_eq!(got, roles, "{unexpected}\n{}", p.trace(30));
    p.run_for(ms(20));
    assert_synced(p, roles.0, roles.1);
}
