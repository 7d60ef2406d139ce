//! Tracking objects in the group core (virtual time): `standby N track OBJECT decrement D` lowers the
//! priority while the object is down, `standby N track OBJECT shutdown` holds the group in Init.

mod common;

use common::*;
use hsrp::{GroupConfig, ObjectTrackConfig, State};

const E0: &str = "Ethernet0/0";

fn object(mut g: GroupConfig, object: u16, decrement: u8, shutdown: bool) -> GroupConfig {
    g.track_objects.push(ObjectTrackConfig {
        object,
        decrement,
        shutdown,
    });
    g
}

/// Reports object `n` on router `r`, then lets the lab deliver what the speaker produced (`Lab::link` of
/// a link nobody uses changes nothing but drains the router's actions).
fn report(lab: &mut Lab, r: usize, n: u16, up: bool) {
    let now = lab.now;
    lab.routers[r].speaker.handle_track(now, n, up);
    lab.link(r, "unused-flush", true);
}

fn pair(g1: GroupConfig, g2: GroupConfig) -> Lab {
    let mut lab = Lab::new();
    lab.add("r1", vec![iface(E0, 0, 1, vec![g1])]);
    lab.add("r2", vec![iface(E0, 0, 2, vec![g2])]);
    lab.start(0);
    lab.start(1);
    lab.run_for(secs(40));
    lab
}

#[test]
fn a_down_object_lowers_the_priority_and_the_peer_preempts() {
    let g1 = object(preempt(group(1, 110, [10, 0, 0, 3]), 0, None, None), 1, 20, false);
    let g2 = preempt(group(1, 100, [10, 0, 0, 3]), 0, None, None);
    let mut lab = pair(g1, g2);
    assert_eq!(lab.actives(E0, 1), vec![0]);
    let t0 = lab.now;
    report(&mut lab, 0, 1, false);
    let st = lab.group_status(0, E0, 1);
    assert_eq!((st.priority, st.configured_priority), (90, 110));
    assert_eq!(
        (st.tracked[0].object, st.tracked[0].up, st.tracked[0].decrement),
        (Some(1), false, 20)
    );
    assert!(hsrp::render_standby(&lab.status(0)).contains("    Track object 1 state Down decrement 20\n"));
    lab.run_for(secs(5));
    assert_eq!(lab.actives(E0, 1), vec![1]);
    assert!(
        lab.became(1, 1, State::Active, t0)
            .is_some_and(|t| t - t0 <= secs(3))
    );
    // Another object number changes nothing.
    report(&mut lab, 0, 2, false);
    assert_eq!(lab.group_status(0, E0, 1).priority, 90);
    // Back up: 110 > 100, r1 preempts back.
    let t1 = lab.now;
    report(&mut lab, 0, 1, true);
    assert_eq!(lab.group_status(0, E0, 1).priority, 110);
    lab.run_for(secs(5));
    assert_eq!(lab.actives(E0, 1), vec![0]);
    assert!(lab.became(0, 1, State::Active, t1).is_some());
}

#[test]
fn object_and_interface_decrements_are_summed_with_floor_zero() {
    let g = object(
        object(track(group(1, 40, [10, 0, 0, 3]), "Serial0", 15), 3, 20, false),
        4,
        30,
        false,
    );
    let mut lab = Lab::new();
    lab.add("r1", vec![iface(E0, 0, 1, vec![g])]);
    lab.start(0);
    lab.link(0, "Serial0", false);
    report(&mut lab, 0, 3, false);
    assert_eq!(lab.group_status(0, E0, 1).priority, 5);
    report(&mut lab, 0, 4, false);
    assert_eq!(lab.group_status(0, E0, 1).priority, 0);
    report(&mut lab, 0, 3, true);
    report(&mut lab, 0, 4, true);
    assert_eq!(lab.group_status(0, E0, 1).priority, 25);
    // JSON: interface entries keep their old shape, object entries carry the object fields.
    let json = serde_json::to_value(lab.group_status(0, E0, 1)).unwrap();
    assert_eq!(
        json["tracked"][0],
        serde_json::json!({"interface": "Serial0", "up": false, "decrement": 15})
    );
    assert_eq!(
        json["tracked"][1],
        serde_json::json!({"interface": "", "up": true, "decrement": 20, "object": 3})
    );
}

#[test]
fn shutdown_sends_the_active_to_init_and_the_standby_takes_over() {
    let g1 = object(preempt(group(1, 110, [10, 0, 0, 3]), 0, None, None), 2, 10, true);
    let g2 = group(1, 100, [10, 0, 0, 3]);
    let mut lab = pair(g1, g2);
    assert_eq!(lab.actives(E0, 1), vec![0]);
    let t0 = lab.now;
    report(&mut lab, 0, 2, false);
    let st = lab.group_status(0, E0, 1);
    assert_eq!(st.state, "Init");
    assert_eq!(st.state_detail.as_deref(), Some("tracking shutdown"));
    assert_eq!(st.priority, 110, "shutdown does not decrement");
    assert!(
        st.last_change_reason.contains("tracked object 2 down"),
        "{}",
        st.last_change_reason
    );
    let text = hsrp::render_standby(&lab.status(0));
    assert!(text.contains("State is Init (tracking shutdown)"), "{text}");
    assert!(
        text.contains("    Track object 2 state Down shutdown\n"),
        "{text}"
    );
    lab.run_for(secs(12));
    assert_eq!(lab.actives(E0, 1), vec![1]);
    // The Active left by Resign, so the standby takes over at once rather than after the hold time.
    assert!(
        lab.became(1, 1, State::Active, t0)
            .is_some_and(|t| t - t0 < secs(1))
    );
    assert_eq!(
        lab.state(0, E0, 1),
        State::Init,
        "stays in Init while the object is down"
    );
    // Object up: r1 starts again and, with preempt and a higher priority, takes the group back.
    let t1 = lab.now;
    report(&mut lab, 0, 2, true);
    assert_ne!(lab.state(0, E0, 1), State::Init);
    lab.run_for(secs(15));
    assert_eq!(lab.actives(E0, 1), vec![0]);
    assert!(lab.became(0, 1, State::Active, t1).is_some());
    assert_eq!(lab.state(1, E0, 1), State::Standby);
}

#[test]
fn without_preempt_a_returning_group_does_not_take_back_the_active_role() {
    let g1 = object(group(1, 110, [10, 0, 0, 3]), 2, 10, true);
    let g2 = group(1, 100, [10, 0, 0, 3]);
    let mut lab = pair(g1, g2);
    report(&mut lab, 0, 2, false);
    lab.run_for(secs(12));
    report(&mut lab, 0, 2, true);
    lab.run_for(secs(30));
    assert_eq!(lab.actives(E0, 1), vec![1]);
    assert_eq!(lab.state(0, E0, 1), State::Standby);
}

#[test]
fn a_shutdown_object_down_before_start_keeps_the_group_in_init() {
    let g = object(group(1, 100, [10, 0, 0, 3]), 5, 10, true);
    let mut lab = Lab::new();
    lab.add("r1", vec![iface(E0, 0, 1, vec![g])]);
    report(&mut lab, 0, 5, false);
    assert_eq!(
        lab.group_status(0, E0, 1).state_detail.as_deref(),
        Some("not started")
    );
    lab.start(0);
    lab.run_for(secs(20));
    let st = lab.group_status(0, E0, 1);
    assert_eq!(
        (st.state.as_str(), st.state_detail.as_deref()),
        ("Init", Some("tracking shutdown"))
    );
    report(&mut lab, 0, 5, true);
    lab.run_for(secs(20));
    assert_eq!(lab.state(0, E0, 1), State::Active);
}

#[test]
fn an_object_coming_up_while_the_interface_is_down_does_not_start_the_group() {
    let g = object(group(1, 100, [10, 0, 0, 3]), 5, 10, true);
    let mut lab = Lab::new();
    lab.add("r1", vec![iface(E0, 0, 1, vec![g])]);
    lab.start(0);
    lab.run_for(secs(20));
    assert_eq!(lab.state(0, E0, 1), State::Active);
    report(&mut lab, 0, 5, false);
    lab.link(0, E0, false);
    report(&mut lab, 0, 5, true);
    let st = lab.group_status(0, E0, 1);
    assert_eq!(
        (st.state.as_str(), st.state_detail.as_deref()),
        ("Init", Some("interface down"))
    );
    lab.link(0, E0, true);
    lab.run_for(secs(20));
    assert_eq!(lab.state(0, E0, 1), State::Active);
}

#[test]
fn a_shutdown_object_going_down_during_standby_delay_wins_over_the_delay() {
    let g = object(group(1, 100, [10, 0, 0, 3]), 5, 10, true);
    let mut lab = Lab::new();
    let mut ifc = iface(E0, 0, 1, vec![g]);
    ifc.delay = Some(hsrp::StartDelay {
        minimum_s: 5,
        reload_s: 5,
    });
    lab.add("r1", vec![ifc]);
    lab.start(0);
    lab.run_for(secs(1));
    assert_eq!(lab.group_status(0, E0, 1).state_detail.as_deref(), Some("delay"));
    report(&mut lab, 0, 5, false);
    lab.run_for(secs(10));
    assert_eq!(
        lab.group_status(0, E0, 1).state_detail.as_deref(),
        Some("tracking shutdown")
    );
    report(&mut lab, 0, 5, true);
    lab.run_for(secs(30));
    assert_eq!(lab.state(0, E0, 1), State::Active);
}
