//! Simulations of the association on the in-memory transport, in virtual time.
#![allow(clippy::unwrap_used)]

use std::net::IpAddr;

use ipc::sim::{Side, SimPair};
use ipc::{AssociationConfig, ClientId, DownReason, IpcEvent, MessageKind};
use timebase::Duration;

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn cfgs(pairs: usize, key_a: Option<&str>, key_b: Option<&str>) -> (AssociationConfig, AssociationConfig) {
    let (la, lb): (Vec<_>, Vec<_>) = [("10.0.0.1", "10.0.0.2"), ("10.0.1.1", "10.0.1.2")][..pairs]
        .iter()
        .map(|(a, b)| (ip(a), ip(b)))
        .unzip();
    let a = AssociationConfig::new(5000, 5000, la.clone(), lb.clone())
        .unwrap()
        .with_security_key(key_a.map(str::to_string))
        .unwrap();
    let b = AssociationConfig::new(5000, 5000, lb, la)
        .unwrap()
        .with_security_key(key_b.map(str::to_string))
        .unwrap();
    (a, b)
}

fn up(side: Side) -> impl Fn(Side, &IpcEvent) -> bool {
    move |s, e| s == side && matches!(e, IpcEvent::Up { .. })
}

fn down(side: Side) -> impl Fn(Side, &IpcEvent) -> bool {
    move |s, e| s == side && matches!(e, IpcEvent::Down { .. })
}

fn both_up(pair: &mut SimPair) {
    assert!(
        pair.run_until_event(Duration::from_secs(5), up(Side::A))
            .is_some(),
        "A not up"
    );
    if !pair.b.as_ref().unwrap().is_up() {
        assert!(
            pair.run_until_event(Duration::from_secs(5), up(Side::B))
                .is_some(),
            "B not up"
        );
    }
}

#[test]
fn comes_up_and_carries_messages_both_ways() {
    let (a, b) = cfgs(1, Some("k"), Some("k"));
    let mut pair = SimPair::new(a, b, 1);
    pair.start(Side::A, 11);
    pair.start(Side::B, 22);
    both_up(&mut pair);
    assert!(pair.now.as_millis() < 50, "up after {} ms", pair.now.as_millis());
    for i in 0..100u32 {
        pair.send(
            Side::A,
            ClientId::INSPECT,
            MessageKind::INSPECT_SYNC,
            i.to_be_bytes().to_vec(),
        )
        .unwrap();
        pair.send(Side::B, ClientId::RF, MessageKind::RF_CONTROL, vec![i as u8])
            .unwrap();
    }
    pair.run_for(Duration::from_millis(200));
    let at_b = pair.messages_at(Side::B);
    assert_eq!(at_b.len(), 100);
    for (i, (c, k, p)) in at_b.iter().enumerate() {
        assert_eq!((*c, *k), (ClientId::INSPECT, MessageKind::INSPECT_SYNC));
        assert_eq!(p, &(i as u32).to_be_bytes());
    }
    assert_eq!(pair.messages_at(Side::A).len(), 100);
    let st = pair.a.as_ref().unwrap().status(pair.now);
    assert_eq!(st.state, "ESTABLISHED");
    assert!(st.up && st.authentication);
    assert_eq!(st.stats.per_kind["inspect-sync"].xmit, 100);
    assert_eq!(st.stats.per_kind["rf-control"].rcv, 100);
    assert_eq!(st.stats.drops_total(), 0);
}

#[test]
fn either_start_order_works() {
    for first in [Side::A, Side::B] {
        let (a, b) = cfgs(1, None, None);
        let mut pair = SimPair::new(a, b, 2);
        pair.start(first, 1);
        pair.run_for(Duration::from_secs(30));
        assert!(pair.events.is_empty());
        let cfg = pair.side(first).unwrap().config().clone();
        pair.start(first.peer(), 2);
        let t0 = pair.now;
        let t = pair
            .run_until_event(Duration::from_secs(5), up(first))
            .expect("up");
        // The late side connects at once; the first side answers its INIT whatever its backoff.
        assert!(
            t.saturating_since(t0) <= cfg.rto_min() + cfg.rto_max(),
            "took {:?}",
            t.saturating_since(t0)
        );
    }
}

#[test]
fn survives_loss_and_reordering() {
    let (a, b) = cfgs(1, Some("k"), Some("k"));
    let mut pair = SimPair::new(a, b, 3);
    pair.link.faults.loss = 0.10;
    pair.link.faults.jitter = Duration::from_millis(5);
    pair.start(Side::A, 1);
    pair.start(Side::B, 2);
    both_up(&mut pair);
    for i in 0..300u32 {
        pair.send(
            Side::A,
            ClientId::INSPECT,
            MessageKind::INSPECT_SYNC,
            i.to_be_bytes().to_vec(),
        )
        .unwrap();
        pair.run_for(Duration::from_millis(2));
    }
    pair.run_for(Duration::from_secs(10));
    let got: Vec<u32> = pair
        .messages_at(Side::B)
        .iter()
        .map(|(_, _, p)| u32::from_be_bytes(p[..4].try_into().unwrap()))
        .collect();
    assert_eq!(got, (0..300).collect::<Vec<_>>());
    assert!(pair.link.stats.lost > 0);
    assert!(
        !pair
            .events
            .iter()
            .any(|(_, _, e)| matches!(e, IpcEvent::Down { .. }))
    );
    assert!(pair.a.as_ref().unwrap().status(pair.now).stats.retransmissions > 0);
}

#[test]
fn partition_is_detected_within_the_bound_and_heals() {
    let (a, b) = cfgs(1, None, None);
    let mut pair = SimPair::new(a, b, 4);
    pair.start(Side::A, 1);
    pair.start(Side::B, 2);
    both_up(&mut pair);
    pair.run_for(Duration::from_secs(3));
    let cfg = pair.a.as_ref().unwrap().config().clone();
    let bound = cfg.idle_detection_bound();
    pair.link.set_partition(None, true);
    let cut = pair.now;
    let t = pair
        .run_until_event(bound + Duration::from_millis(50), down(Side::A))
        .expect("down within bound");
    let took = t.saturating_since(cut);
    // Detection needs assoc-retransmit + 1 missed heartbeats: never faster than assoc_retransmit intervals.
    assert!(
        took >= cfg
            .heartbeat_interval()
            .saturating_mul(cfg.assoc_retransmit.into()),
        "{took:?}"
    );
    assert!(took <= bound, "{took:?} > {bound:?}");
    assert!(pair.events.iter().any(|(_, s, e)| *s == Side::A
        && *e
            == IpcEvent::Down {
                reason: DownReason::RetransmitLimit
            }));
    assert!(
        pair.send(Side::A, ClientId::RF, MessageKind::RF_CONTROL, vec![1])
            .is_err()
    );
    // Stay partitioned for a while: attempts back off but keep going.
    pair.run_for(Duration::from_secs(20));
    pair.link.set_partition(None, false);
    let healed = pair.now;
    let t = pair
        .run_until_event(Duration::from_secs(5), up(Side::A))
        .expect("up again");
    assert!(t.saturating_since(healed) <= cfg.rto_min() + cfg.rto_max() + Duration::from_millis(50));
    assert!(pair.events.iter().any(|(_, s, e)| *s == Side::A
        && *e
            == IpcEvent::Up {
                peer_restarted: false
            }));
    let st = pair.a.as_ref().unwrap().status(pair.now);
    assert_eq!((st.ups, st.downs, st.restarts), (2, 1, 0));
}

#[test]
fn busy_association_detects_within_busy_bound() {
    let (a, b) = cfgs(1, None, None);
    let mut pair = SimPair::new(a, b, 5);
    pair.start(Side::A, 1);
    pair.start(Side::B, 2);
    both_up(&mut pair);
    let cfg = pair.a.as_ref().unwrap().config().clone();
    pair.link.set_partition(None, true);
    let cut = pair.now;
    pair.send(Side::A, ClientId::RF, MessageKind::RF_CONTROL, vec![0; 100])
        .unwrap();
    let t = pair
        .run_until_event(Duration::from_secs(10), down(Side::A))
        .expect("down");
    let took = t.saturating_since(cut);
    let bound = cfg.busy_detection_bound().max(cfg.idle_detection_bound());
    assert!(took <= bound, "{took:?} > {bound:?}");
}

#[test]
fn peer_restart_is_reported() {
    let (a, b) = cfgs(1, Some("k"), Some("k"));
    let mut pair = SimPair::new(a, b, 6);
    pair.start(Side::A, 1);
    pair.start(Side::B, 2);
    both_up(&mut pair);
    // Quick restart: B comes back before A notices; its INIT restarts the SCTP association.
    pair.crash(Side::B);
    pair.run_for(Duration::from_millis(100));
    pair.start(Side::B, 3);
    let t = pair.run_until_event(Duration::from_secs(5), |s, e| {
        s == Side::A && *e == IpcEvent::Up { peer_restarted: true }
    });
    assert!(t.is_some(), "events: {:?}", pair.events);
    assert!(pair.events.iter().any(|(_, s, e)| *s == Side::A
        && *e
            == IpcEvent::Down {
                reason: DownReason::PeerRestarted
            }));
    // Slow restart: A declares B dead first; B comes back with a new boot id.
    pair.crash(Side::B);
    assert!(
        pair.run_until_event(Duration::from_secs(5), down(Side::A))
            .is_some()
    );
    pair.run_for(Duration::from_secs(2));
    pair.start(Side::B, 4);
    let n = pair.events.len();
    assert!(
        pair.run_until_event(Duration::from_secs(5), up(Side::A))
            .is_some()
    );
    assert!(
        pair.events[n..]
            .iter()
            .any(|(_, s, e)| *s == Side::A && *e == IpcEvent::Up { peer_restarted: true })
    );
    assert_eq!(pair.a.as_ref().unwrap().status(pair.now).restarts, 2);
    // Messages flow on the new incarnation.
    pair.send(Side::A, ClientId::RF, MessageKind::RF_CONTROL, vec![9])
        .unwrap();
    pair.run_for(Duration::from_millis(50));
    assert_eq!(pair.messages_at(Side::B).len(), 1);
}

#[test]
fn wrong_key_is_refused() {
    for (ka, kb) in [(Some("right"), Some("wrong")), (Some("right"), None)] {
        let (a, b) = cfgs(1, ka, kb);
        let mut pair = SimPair::new(a, b, 7);
        pair.start(Side::A, 1);
        pair.start(Side::B, 2);
        pair.run_for(Duration::from_secs(2));
        assert!(
            !pair
                .events
                .iter()
                .any(|(_, _, e)| matches!(e, IpcEvent::Up { .. })),
            "{:?}",
            pair.events
        );
        assert!(
            pair.send(Side::B, ClientId::RF, MessageKind::RF_CONTROL, vec![1])
                .is_err()
        );
        let st = pair.a.as_ref().unwrap().status(pair.now);
        assert_eq!(st.state, "ESTABLISHED", "SCTP itself is up");
        assert!(!st.up);
        assert!(st.stats.drop_auth >= 1);
        assert_eq!(st.stats.msgs_received, 0);
        assert!(
            pair.notices
                .iter()
                .any(|(_, s, n)| *s == Side::A && matches!(n, ipc::Notice::AuthFailure(_)))
        );
    }
}

#[test]
fn second_address_pair_takes_over_and_gives_back() {
    let (a, b) = cfgs(2, None, None);
    let mut pair = SimPair::new(a, b, 8);
    pair.start(Side::A, 1);
    pair.start(Side::B, 2);
    both_up(&mut pair);
    pair.run_for(Duration::from_secs(2));
    let cfg = pair.a.as_ref().unwrap().config().clone();
    assert_eq!(
        pair.a.as_ref().unwrap().status(pair.now).primary_path,
        "10.0.0.1 -> 10.0.0.2"
    );
    pair.link.set_partition(Some(0), true);
    let cut = pair.now;
    let mut switched = None;
    while pair.now.saturating_since(cut) < Duration::from_secs(10) {
        pair.run_for(Duration::from_millis(10));
        if switched.is_none() && pair.a.as_ref().unwrap().active_path() == 1 {
            switched = Some(pair.now.saturating_since(cut));
        }
        // Traffic keeps flowing during the failure.
        pair.send(Side::A, ClientId::INSPECT, MessageKind::INSPECT_SYNC, vec![1])
            .unwrap();
    }
    let switched = switched.expect("moved to the second pair");
    assert!(
        switched <= cfg.path_failover_bound() + Duration::from_millis(20),
        "{switched:?}"
    );
    assert!(
        !pair
            .events
            .iter()
            .any(|(_, _, e)| matches!(e, IpcEvent::Down { .. })),
        "stayed up"
    );
    let st = pair.a.as_ref().unwrap().status(pair.now);
    assert_eq!(st.primary_path, "10.0.1.1 -> 10.0.1.2");
    assert_eq!(st.paths[0].state, "FAILED");
    pair.run_for(Duration::from_millis(300));
    let n = pair.messages_at(Side::B).len();
    assert!(n >= 900, "delivered {n}");
    pair.link.set_partition(Some(0), false);
    pair.run_for(cfg.rto_min().saturating_mul(4));
    assert_eq!(pair.a.as_ref().unwrap().active_path(), 0);
    assert_eq!(pair.a.as_ref().unwrap().status(pair.now).path_switches, 2);
}

/// Regression: with loss and reordering together the peer's hello can reach a side before its own
/// COOKIE ACK does; the hello must survive the side's establishment.
#[test]
fn loss_with_reordering_over_many_seeds() {
    for seed in 10..30u64 {
        let (a, b) = cfgs(1, Some("k"), Some("k"));
        let mut pair = SimPair::new(a, b, seed);
        pair.link.faults.loss = 0.1;
        pair.link.faults.jitter = Duration::from_millis(5);
        pair.start(Side::A, 1);
        pair.start(Side::B, 2);
        both_up(&mut pair);
        for i in 0..100u32 {
            pair.send(
                Side::A,
                ClientId::INSPECT,
                MessageKind::INSPECT_SYNC,
                i.to_be_bytes().to_vec(),
            )
            .unwrap();
            pair.run_for(Duration::from_millis(2));
        }
        pair.run_for(Duration::from_secs(5));
        assert_eq!(pair.messages_at(Side::B).len(), 100, "seed {seed}");
    }
}
