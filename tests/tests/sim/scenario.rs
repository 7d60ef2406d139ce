//! Shared steps of the scenario tests: convergence, host flows through the Active, sync checks, and the
//! failover-mid-flow setup several scenarios start from.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use inspect::{DropReason, HaState, Verdict};
use sso::RfState;
use timebase::Duration;

use super::{PairConfig, SimPair, TcpFlow, UdpFlow, tcp_flow, udp_flow};

pub fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

pub fn ms(m: u64) -> Duration {
    Duration::from_millis(m)
}

pub fn rf(p: &SimPair, r: usize) -> Option<RfState> {
    p.routers[r].as_ref().map(|x| x.sso.my_state())
}

/// (ACTIVE, STANDBY HOT) when the pair is in that shape.
pub fn hot_pair(p: &SimPair) -> Option<(usize, usize)> {
    match (rf(p, 0), rf(p, 1)) {
        (Some(RfState::Active), Some(RfState::StandbyHot)) => Some((0, 1)),
        (Some(RfState::StandbyHot), Some(RfState::Active)) => Some((1, 0)),
        _ => None,
    }
}

/// Runs until the pair is ACTIVE / STANDBY HOT and both HSRP groups have settled (Active on one router,
/// Standby on the other); returns (active, standby).
pub fn settle(p: &mut SimPair, limit: Duration) -> (usize, usize) {
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
pub fn converged(cfg: PairConfig) -> (SimPair, usize, usize) {
    let mut p = SimPair::new(cfg);
    p.power_on(0);
    p.power_on(1);
    let (a, s) = settle(&mut p, secs(300));
    (p, a, s)
}

pub fn accepted_by(j: Option<(usize, Verdict)>, r: usize) -> bool {
    j == Some((r, Verdict::Accept))
}

/// Opens `n_tcp` connections (full handshakes) and `n_udp` flows through the Active `a`.
pub fn open_flows(
    p: &mut SimPair,
    a: usize,
    first: u32,
    n_tcp: u32,
    n_udp: u32,
) -> (Vec<TcpFlow>, Vec<UdpFlow>) {
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
        assert!(
            accepted_by(p.udp_up(&f), a),
            "UDP flow {i} not accepted by router {a}"
        );
        udp.push(f);
    }
    (tcp, udp)
}

/// Every flow still passes through router `r` in both directions.
pub fn assert_flows_pass(p: &mut SimPair, r: usize, tcp: &mut [TcpFlow], udp: &[UdpFlow]) {
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
        assert!(
            accepted_by(up, r) && accepted_by(down, r),
            "UDP {f:?}: {up:?} / {down:?}"
        );
    }
}

pub fn assert_unsolicited_dropped(p: &mut SimPair, r: usize) {
    assert_eq!(
        p.unsolicited_inbound(),
        Some((r, Verdict::Drop(DropReason::AclDenied))),
        "an unsolicited inbound SYN passed"
    );
}

/// The standby holds exactly the Active's HA sessions (same ids and keys), as standby copies.
pub fn assert_synced(p: &SimPair, a: usize, s: usize) {
    assert_eq!(
        p.ha_sessions(a),
        p.ha_sessions(s),
        "HA tables differ\n{}",
        p.trace(30)
    );
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

/// A settled pair with 30 TCP connections and 20 UDP flows whose TCP sequence numbers moved on after the
/// last periodic update reached the standby; then the Active is powered off and the standby takes over.
/// Returns the pair, the old Active, the new Active and the flows.
pub fn failover_mid_flow() -> (SimPair, usize, usize, Vec<TcpFlow>, Vec<UdpFlow>) {
    failover_mid_flow_with(PairConfig::default())
}

pub fn failover_mid_flow_with(cfg: PairConfig) -> (SimPair, usize, usize, Vec<TcpFlow>, Vec<UdpFlow>) {
    let (mut p, a, s) = converged(cfg);
    let (mut tcp, udp) = open_flows(&mut p, a, 0, 30, 20);
    p.run_for(secs(3));
    assert_flows_pass(&mut p, a, &mut tcp, &udp);
    p.run_for(secs(12)); // periodic updates carried the positions above
    assert_synced(&p, a, s);
    assert_flows_pass(&mut p, a, &mut tcp, &udp); // positions the standby has not seen
    p.run_for(ms(100));
    let copies = p.ha_keys(s);
    let off_at = p.now;
    p.power_off(a);
    // HSRP: the standby takes over when the Active's hold time (10 s) expires.
    let ok = p.run_until_true(secs(15), ms(10), |p| {
        p.router(s).speaker.state(super::config::INSIDE, 1) == Some(hsrp::State::Active)
    });
    assert!(ok, "no takeover within 15 s\n{}", p.trace(30));
    let took = (p.now - off_at).as_millis();
    assert!(took <= 10_000 + 100, "takeover after {took} ms (hold time 10 s)");
    p.run_for(ms(200));
    let st = p.snapshot(s);
    assert_eq!(st.sso.my_state, "ACTIVE", "{}", p.trace(30));
    assert_eq!((st.hsrp_state(1), st.hsrp_state(2)), ("Active", "Active"));
    assert_eq!(p.vmac_port, [Some(s), Some(s)]);
    assert_eq!(st.engine.promoted, 50);
    assert_eq!(p.ha_keys(s), copies, "sessions changed across the promotion");
    assert!(p.router(s).logged("SESS_AUDIT_TRAIL_STDBY_TO_ACT"));
    (p, a, s, tcp, udp)
}
