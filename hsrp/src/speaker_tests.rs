use std::net::Ipv4Addr;

use timebase::{Duration, Instant};

use super::*;
use crate::config::GroupConfig;
use crate::packet::{DEFAULT_AUTH, V1Packet};

fn speaker(prio: u8) -> Speaker {
    let mut g = GroupConfig::new(1, Version::V1);
    g.priority = prio;
    g.virtual_ip = Some(Ipv4Addr::new(10, 0, 0, 3));
    Speaker::new(vec![InterfaceConfig {
        name: "e0".into(),
        address: Ipv4Addr::new(10, 0, 0, 1),
        mac: [2, 0, 0, 0, 0, 1],
        delay: None,
        groups: vec![g],
    }])
    .unwrap()
}

fn drain(s: &mut Speaker) -> Vec<Action> {
    std::iter::from_fn(|| s.poll_action()).collect()
}

fn hello(state: State, prio: u8) -> Vec<u8> {
    Packet::V1(V1Packet {
        opcode: Opcode::HELLO,
        state: state.v1(),
        hellotime: 3,
        holdtime: 10,
        priority: prio,
        group: 1,
        reserved: 0,
        auth_data: DEFAULT_AUTH,
        virtual_ip: Ipv4Addr::new(10, 0, 0, 3),
        md5: None,
    })
    .encode()
}

fn at(s: u64) -> Instant {
    Instant::ZERO + Duration::from_secs(s)
}

#[test]
fn alone_on_the_lan_becomes_active_after_two_hold_times() {
    let mut s = speaker(100);
    assert_eq!(s.poll_timeout(), None, "nothing runs before start");
    s.handle_start(at(0));
    assert_eq!(s.state("e0", 1), Some(State::Listen));
    assert_eq!(s.poll_timeout(), Some(at(10)));
    drain(&mut s);
    s.handle_timeout(at(10));
    assert_eq!(s.state("e0", 1), Some(State::Speak));
    let acts = drain(&mut s);
    assert!(
        acts.iter().all(|a| !matches!(a, Action::Send { .. })),
        "the first hello waits one hello time"
    );
    assert_eq!(s.poll_timeout(), Some(at(13)));
    s.handle_timeout(at(13));
    let acts = drain(&mut s);
    assert!(matches!(
        &acts[..],
        [Action::Send {
            from_virtual_mac: false,
            ..
        }]
    ));
    while s.state("e0", 1) != Some(State::Active) {
        let t = s.poll_timeout().unwrap();
        assert!(t <= at(20));
        s.handle_timeout(t);
    }
    let acts = drain(&mut s);
    assert!(acts.iter().any(|a| matches!(a, Action::InstallVirtual { .. })));
    assert!(acts.iter().any(|a| matches!(
        a,
        Action::Send {
            from_virtual_mac: true,
            ..
        }
    )));
    assert!(acts.iter().any(|a| matches!(a, Action::GratuitousArp { .. })));
}

#[test]
fn active_answers_a_lower_active_with_a_coup_and_yields_to_a_higher_one() {
    let mut s = speaker(100);
    s.handle_start(at(0));
    for t in [10, 20] {
        s.handle_timeout(at(t));
    }
    while s.state("e0", 1) != Some(State::Active) {
        let t = s.poll_timeout().unwrap();
        s.handle_timeout(t);
    }
    drain(&mut s);
    let now = at(21);
    s.handle_packet(
        now,
        "e0",
        Ipv4Addr::new(10, 0, 0, 9),
        1,
        &hello(State::Active, 50),
    );
    let acts = drain(&mut s);
    assert_eq!(s.state("e0", 1), Some(State::Active));
    let coup = acts.iter().find_map(|a| match a {
        Action::Send { bytes, .. } => Some(Packet::decode(bytes).unwrap()),
        _ => None,
    });
    assert!(matches!(coup, Some(Packet::V1(p)) if p.opcode == Opcode::COUP));
    // Same priority, higher address: it wins, we step down to Speak.
    s.handle_packet(
        now,
        "e0",
        Ipv4Addr::new(10, 0, 0, 9),
        1,
        &hello(State::Active, 100),
    );
    assert_eq!(s.state("e0", 1), Some(State::Speak));
    let acts = drain(&mut s);
    assert!(acts.iter().any(|a| matches!(a, Action::RemoveVirtual { .. })));
    let st = s.status(now);
    assert_eq!(st[0].active_router, "10.0.0.9");
    assert_eq!(st[0].active_priority, Some(100));
}

#[test]
fn hello_from_a_lower_speaker_is_ignored_but_counted() {
    let mut s = speaker(100);
    s.handle_start(at(0));
    s.handle_timeout(at(10));
    drain(&mut s);
    s.handle_packet(
        at(11),
        "e0",
        Ipv4Addr::new(10, 0, 0, 0),
        1,
        &hello(State::Speak, 100),
    );
    assert_eq!(s.state("e0", 1), Some(State::Speak));
    assert_eq!(s.status(at(11))[0].counters.hellos_in, 1);
    s.handle_packet(
        at(11),
        "e0",
        Ipv4Addr::new(10, 0, 0, 5),
        1,
        &hello(State::Speak, 100),
    );
    assert_eq!(
        s.state("e0", 1),
        Some(State::Listen),
        "f: a higher speaker sends us back to Listen"
    );
}

proptest::proptest! {
    /// The receive path never panics and never changes state on arbitrary bytes, nor on valid packets
    /// with a wrong TTL or our own source address.
    #[test]
    fn arbitrary_bytes_never_change_state(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..80)) {
        let mut s = speaker(100);
        s.handle_start(at(0));
        s.handle_timeout(at(10));
        drain(&mut s);
        let before = s.status(at(11));
        s.handle_packet(at(11), "e0", Ipv4Addr::new(10, 0, 0, 1), 1, &bytes);
        s.handle_packet(at(11), "e0", Ipv4Addr::new(10, 0, 0, 7), 2, &bytes);
        let after = s.status(at(11));
        proptest::prop_assert_eq!(&before[0].state, &after[0].state);
        proptest::prop_assert_eq!(before[0].state_changes, after[0].state_changes);
        proptest::prop_assert_eq!(&before[0].active_router, &after[0].active_router);
    }

    /// Mutated valid packets from a peer may change state, but never panic and keep counters consistent.
    #[test]
    fn mutated_packets_never_panic(idx in 0usize..20, val in proptest::prelude::any::<u8>(), ttl in 0u8..3) {
        let mut s = speaker(100);
        s.handle_start(at(0));
        let mut b = hello(State::Active, 120);
        b[idx] = val;
        s.handle_packet(at(1), "e0", Ipv4Addr::new(10, 0, 0, 2), ttl, &b);
        s.handle_timeout(at(30));
        let st = s.status(at(30));
        let c = st[0].counters;
        proptest::prop_assert!(c.hellos_in + c.coups_in + c.resigns_in + c.bad_ttl + c.unknown_opcode + c.unknown_state + c.auth_failures + s.counters().no_group + s.counters().advertise_in + s.counters().malformed <= 1);
    }
}
