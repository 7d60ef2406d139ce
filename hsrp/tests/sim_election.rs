//! Simulated routers on a virtual LAN (virtual time): election, ties, preemption and its delays, tracking.

mod common;

use common::*;
use hsrp::{Action, GroupSelector, State};
use timebase::Instant;

const E0: &str = "Ethernet0/0";
const E1: &str = "Ethernet1/0";

fn pair(p1: u8, p2: u8, f: impl Fn(hsrp::GroupConfig) -> hsrp::GroupConfig) -> Lab {
    let mut lab = Lab::new();
    lab.add("r1", vec![iface(E0, 0, 1, vec![f(group(1, p1, [10, 0, 0, 3]))])]);
    lab.add("r2", vec![iface(E0, 0, 2, vec![f(group(1, p2, [10, 0, 0, 3]))])]);
    lab
}

#[test]
fn election_higher_priority_wins_and_roles_are_stable() {
    let mut lab = pair(110, 100, |g| g);
    lab.start(0);
    lab.start(1);
    lab.run_for(secs(40));
    assert_eq!(lab.state(0, E0, 1), State::Active);
    assert_eq!(lab.state(1, E0, 1), State::Standby);
    // Startup went Init -> Listen -> Speak -> Standby -> Active on the winner.
    let path: Vec<State> = lab.routers[0]
        .actions
        .iter()
        .filter_map(|(_, a)| match a {
            Action::StateChanged { to, .. } => Some(*to),
            _ => None,
        })
        .collect();
    assert_eq!(path, [State::Listen, State::Speak, State::Standby, State::Active]);
    let changes = lab.group_status(0, E0, 1).state_changes;
    lab.run_for(secs(300));
    assert_eq!(lab.group_status(0, E0, 1).state_changes, changes, "no flapping");
    let st = lab.group_status(1, E0, 1);
    assert_eq!(st.active_router, "10.0.0.1");
    assert_eq!(st.standby_router, "local");
    assert!(st.counters.hellos_in > 90);
    let a = lab.group_status(0, E0, 1);
    assert_eq!(a.active_router, "local");
    assert_eq!(a.standby_router, "10.0.0.2");
    assert_eq!(
        lab.count_actions(
            0,
            |a| matches!(a, Action::InstallVirtual { vmac, .. } if vmac == &[0, 0, 0x0c, 7, 0xac, 1])
        ),
        1
    );
}

#[test]
fn tie_on_priority_higher_ip_wins() {
    let mut lab = pair(100, 100, |g| g);
    lab.start(0);
    lab.start(1);
    lab.run_for(secs(40));
    assert_eq!(lab.actives(E0, 1), vec![1], "10.0.0.2 has the higher address");
    assert_eq!(lab.state(0, E0, 1), State::Standby);
}

#[test]
fn equal_priority_never_preempts() {
    let mut lab = pair(100, 100, |g| preempt(g, 0, None, None));
    lab.start(0);
    lab.run_for(secs(40));
    assert_eq!(lab.state(0, E0, 1), State::Active);
    lab.start(1); // higher IP, same priority, preempt on
    lab.run_for(secs(60));
    assert_eq!(lab.actives(E0, 1), vec![0]);
    assert_eq!(lab.state(1, E0, 1), State::Standby);
    assert_eq!(lab.group_status(1, E0, 1).counters.coups_out, 0);
}

#[test]
fn without_preempt_a_higher_priority_latecomer_stays_standby() {
    let mut lab = pair(110, 100, |g| g);
    lab.start(1);
    lab.run_for(secs(40));
    lab.start(0);
    lab.run_for(secs(60));
    assert_eq!(lab.actives(E0, 1), vec![1]);
    assert_eq!(lab.state(0, E0, 1), State::Standby);
}

#[test]
fn preempt_by_coup_and_the_old_active_resigns() {
    let mut lab = pair(110, 100, |g| preempt(g, 0, None, None));
    lab.start(1);
    lab.run_for(secs(40));
    assert_eq!(lab.actives(E0, 1), vec![1]);
    let t0 = lab.now;
    lab.start(0);
    lab.run_for(secs(30));
    assert_eq!(lab.actives(E0, 1), vec![0]);
    let became = lab.became(0, 1, State::Active, t0).unwrap();
    // It needs to hear the Active first (one hello interval), then preempts at once.
    assert!(became - t0 <= secs(4), "{:?}", became - t0);
    assert_eq!(lab.group_status(0, E0, 1).counters.coups_out, 1);
    let old = lab.group_status(1, E0, 1);
    assert_eq!(old.counters.coups_in, 1);
    assert_eq!(old.counters.resigns_out, 1);
    assert!(lab.count_actions(1, |a| matches!(a, Action::RemoveVirtual { .. })) == 1);
    lab.run_for(secs(30));
    assert_eq!(lab.state(1, E0, 1), State::Standby);
}

#[test]
fn preempt_delay_minimum() {
    let mut lab = pair(110, 100, |g| preempt(g, 30, None, None));
    lab.start(1);
    lab.run_for(secs(40));
    let t0 = lab.now;
    lab.start(0);
    lab.run_for(secs(29));
    assert_eq!(lab.actives(E0, 1), vec![1], "still inside the minimum delay");
    lab.run_for(secs(2));
    assert_eq!(lab.actives(E0, 1), vec![0]);
    let became = lab.became(0, 1, State::Active, t0).unwrap();
    assert_eq!(became - t0, secs(30));
}

#[test]
fn preempt_delay_reload_applies_to_the_first_start_only() {
    let mut lab = pair(110, 100, |g| preempt(g, 5, Some(40), None));
    lab.start(1);
    lab.run_for(secs(40));
    let t0 = lab.now;
    lab.start(0);
    lab.run_for(secs(39));
    assert_eq!(lab.actives(E0, 1), vec![1], "reload delay after the first start");
    lab.run_for(secs(2));
    assert_eq!(lab.became(0, 1, State::Active, t0).unwrap() - t0, secs(40));
    // A link flap is not a reload: the minimum delay applies.
    lab.link(0, E0, false);
    lab.run_for(secs(30));
    assert_eq!(lab.actives(E0, 1), vec![1]);
    let t1 = lab.now;
    lab.link(0, E0, true);
    lab.run_for(secs(20));
    assert_eq!(lab.became(0, 1, State::Active, t1).unwrap() - t1, secs(5));
}

#[test]
fn preempt_hold_from_the_redundancy_manager_and_sync_delay() {
    // Without sync: held indefinitely, shown in status, released by clearing the hold.
    let mut lab = pair(110, 100, |g| preempt(g, 0, None, None));
    lab.start(1);
    lab.run_for(secs(40));
    let sel = GroupSelector::Group {
        interface: E0.into(),
        group: 1,
    };
    assert_eq!(lab.hold(0, &sel, Some("peer not STANDBY HOT")), 1);
    lab.start(0);
    lab.run_for(secs(120));
    assert_eq!(lab.actives(E0, 1), vec![1]);
    assert_eq!(
        lab.group_status(0, E0, 1).preempt_hold.as_deref(),
        Some("peer not STANDBY HOT")
    );
    assert!(hsrp::render_standby(&lab.status(0)).contains("Preemption held: peer not STANDBY HOT"));
    lab.hold(0, &sel, None);
    lab.run_for(secs(1));
    assert_eq!(lab.actives(E0, 1), vec![0]);

    // With sync 15: the hold is honoured for at most 15 s.
    let mut lab = pair(110, 100, |g| preempt(g, 0, None, Some(15)));
    lab.start(1);
    lab.run_for(secs(40));
    let t0 = lab.now;
    assert_eq!(lab.hold(0, &GroupSelector::Name("x".into()), Some("ignored")), 0);
    let sel = GroupSelector::Group {
        interface: E0.into(),
        group: 1,
    };
    lab.hold(0, &sel, Some("bulk sync"));
    lab.start(0);
    lab.run_for(secs(14));
    assert_eq!(lab.actives(E0, 1), vec![1]);
    lab.run_for(secs(2));
    assert_eq!(lab.became(0, 1, State::Active, t0).unwrap() - t0, secs(15));
}

#[test]
fn tracking_decrement_fails_over_and_recovers() {
    let mut lab = Lab::new();
    let g1 = track(
        track(preempt(group(1, 110, [10, 0, 0, 3]), 0, None, None), E1, 15),
        "Serial0",
        10,
    );
    let g2 = preempt(group(1, 100, [10, 0, 0, 3]), 0, None, None);
    lab.add("r1", vec![iface(E0, 0, 1, vec![g1])]);
    lab.add("r2", vec![iface(E0, 0, 2, vec![g2])]);
    lab.start(0);
    lab.start(1);
    lab.run_for(secs(40));
    assert_eq!(lab.actives(E0, 1), vec![0]);
    // One tracked link down: 110 - 15 = 95 < 100 → r2 preempts.
    let t0 = lab.now;
    lab.link(0, E1, false);
    assert_eq!(lab.group_status(0, E0, 1).priority, 95);
    lab.run_for(secs(5));
    assert_eq!(lab.actives(E0, 1), vec![1]);
    assert!(
        lab.became(1, 1, State::Active, t0).unwrap() - t0 <= secs(3),
        "within one hello"
    );
    // Both down: summed, 110 - 25 = 85.
    lab.link(0, "Serial0", false);
    let st = lab.group_status(0, E0, 1);
    assert_eq!(st.priority, 85);
    assert_eq!(st.tracked.iter().filter(|t| !t.up).count(), 2);
    // Recovery: both up → 110 > 100 → r1 preempts back.
    let t1 = lab.now;
    lab.link(0, E1, true);
    lab.link(0, "Serial0", true);
    lab.run_for(secs(5));
    assert_eq!(lab.actives(E0, 1), vec![0]);
    assert!(lab.became(0, 1, State::Active, t1).is_some());
}

#[test]
fn tracking_priority_never_goes_below_zero() {
    let mut lab = Lab::new();
    let g = track(track(group(1, 20, [10, 0, 0, 3]), "a", 15), "b", 15);
    lab.add("r1", vec![iface(E0, 0, 1, vec![g])]);
    lab.start(0);
    lab.link(0, "a", false);
    lab.link(0, "b", false);
    assert_eq!(lab.group_status(0, E0, 1).priority, 0);
    assert_eq!(lab.group_status(0, E0, 1).configured_priority, 20);
}

#[test]
fn three_routers_one_group() {
    let mut lab = Lab::new();
    for (i, p) in [(1u8, 120u8), (2, 110), (3, 100)] {
        lab.add(
            &format!("r{i}"),
            vec![iface(E0, 0, i, vec![group(1, p, [10, 0, 0, 254])])],
        );
    }
    for r in 0..3 {
        lab.start(r);
    }
    lab.run_for(secs(40));
    assert_eq!(lab.state(0, E0, 1), State::Active);
    assert_eq!(lab.state(1, E0, 1), State::Standby);
    assert_eq!(lab.state(2, E0, 1), State::Listen);
    let t0 = lab.now;
    lab.power_off(0);
    lab.run_for(secs(30));
    assert_eq!(lab.actives(E0, 1), vec![1]);
    assert_eq!(lab.state(2, E0, 1), State::Standby);
    let became = lab.became(1, 1, State::Active, t0).unwrap();
    assert!(became - t0 <= secs(10), "within the hold time: {:?}", became - t0);
}

#[test]
fn standby_delay_holds_groups_in_init() {
    let mut lab = Lab::new();
    let mut i = iface(E0, 0, 1, vec![group(1, 100, [10, 0, 0, 3])]);
    i.delay = Some(hsrp::StartDelay {
        minimum_s: 5,
        reload_s: 20,
    });
    lab.add("r1", vec![i]);
    lab.start(0);
    lab.run_for(secs(19));
    let st = lab.group_status(0, E0, 1);
    assert_eq!(
        (st.state.as_str(), st.state_detail.as_deref()),
        ("Init", Some("delay"))
    );
    assert!(hsrp::render_standby(&lab.status(0)).contains("State is Init (delay)"));
    lab.run_for(secs(2));
    assert_eq!(lab.state(0, E0, 1), State::Listen);
    assert_eq!(
        lab.became(0, 1, State::Listen, Instant::ZERO).unwrap(),
        Instant::ZERO + secs(20)
    );
    // Link flap: the minimum delay.
    lab.link(0, E0, false);
    assert_eq!(
        lab.group_status(0, E0, 1).state_detail.as_deref(),
        Some("interface down")
    );
    let t = lab.now;
    lab.link(0, E0, true);
    lab.run_for(secs(6));
    assert_eq!(lab.became(0, 1, State::Listen, t).unwrap() - t, secs(5));
}

/// r0 Standby, r1 Active, r1 dies, and r2 (highest address, equal priority) starts at once. Returns the lab
/// after 60 s and the instant r1 died.
fn restart_next_to_a_standby(hold_on_newcomer: bool) -> (Lab, Instant) {
    let mut lab = Lab::new();
    for (name, idx) in [("r0", 1), ("r1", 2), ("r2", 3)] {
        lab.add(name, vec![iface(E0, 0, idx, vec![group(1, 100, [10, 0, 0, 3])])]);
    }
    lab.start(0);
    lab.run_for(secs(1));
    lab.start(1);
    lab.run_for(secs(40));
    assert_eq!(
        (lab.state(1, E0, 1), lab.state(0, E0, 1)),
        (State::Active, State::Standby)
    );
    let died = lab.now;
    lab.power_off(1);
    if hold_on_newcomer {
        let sel = GroupSelector::Group {
            interface: E0.into(),
            group: 1,
        };
        assert_eq!(
            lab.hold(2, &sel, Some("SSO state NEGOTIATION: the peer holds HA state")),
            1
        );
    }
    lab.start(2);
    lab.run_for(secs(60));
    (lab, died)
}

#[test]
fn a_held_group_does_not_take_the_standby_role_from_another_router() {
    // Without the hold, RFC 2281: the newcomer displaces the lower-addressed Standby and becomes Active
    // when the dead Active's hold time runs out.
    let (lab, _) = restart_next_to_a_standby(false);
    assert_eq!(lab.actives(E0, 1), vec![2]);

    // Held: it stays in Listen while r0 is Standby; r0 takes over, then the newcomer becomes Standby
    // (only an Active is around: it may join the election, still held).
    let (lab, died) = restart_next_to_a_standby(true);
    assert_eq!(lab.actives(E0, 1), vec![0]);
    assert_eq!(lab.state(2, E0, 1), State::Standby);
    let r0_active = lab.became(0, 1, State::Active, died).unwrap();
    assert!(r0_active - died <= secs(10) + LATENCY, "{:?}", r0_active - died);
    let r2_speak = lab.became(2, 1, State::Speak, died).unwrap();
    assert!(r2_speak >= r0_active, "spoke while r0 was Standby");
    assert_eq!(
        lab.became(0, 1, State::Listen, died),
        None,
        "r0 was never pushed out of Standby"
    );
    assert!(lab.group_status(2, E0, 1).preempt_hold.is_some());
}

#[test]
fn a_held_group_alone_still_becomes_active_and_a_speaking_one_steps_back() {
    let mut lab = pair(100, 100, |g| g);
    let sel = GroupSelector::Group {
        interface: E0.into(),
        group: 1,
    };
    lab.hold(0, &sel, Some("startup"));
    lab.start(0);
    lab.run_for(secs(40));
    assert_eq!(lab.actives(E0, 1), vec![0], "a lone held group is Active");

    // r1 Active, r0 Standby; r2 (highest address) starts unheld and speaks; a hold set then sends it back
    // to Listen, and it never takes the Standby role from r0.
    let mut lab = Lab::new();
    for (name, idx) in [("r0", 1), ("r1", 2), ("r2", 3)] {
        lab.add(name, vec![iface(E0, 0, idx, vec![group(1, 100, [10, 0, 0, 3])])]);
    }
    lab.start(0);
    lab.run_for(secs(1));
    lab.start(1);
    lab.run_for(secs(40));
    assert_eq!(
        (lab.state(1, E0, 1), lab.state(0, E0, 1)),
        (State::Active, State::Standby)
    );
    lab.start(2);
    let t = lab.now;
    // r2 reaches Speak (it outranks the Standby by address) before it can become Standby.
    lab.run_for(secs(4));
    assert_eq!(lab.state(2, E0, 1), State::Speak, "r2 speaks first");
    lab.hold(2, &sel, Some("SSO hold"));
    assert_eq!(
        lab.state(2, E0, 1),
        State::Listen,
        "the hold sends a speaking group back to Listen"
    );
    lab.run_for(secs(60));
    assert_eq!(lab.state(0, E0, 1), State::Standby, "r0 keeps the Standby role");
    assert_eq!(lab.state(2, E0, 1), State::Listen);
    assert!(lab.became(2, 1, State::Standby, t).is_none());
}
