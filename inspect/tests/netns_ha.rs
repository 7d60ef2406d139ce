//! HA through the data plane, in network namespaces: standby copies applied through the handle are held
//! (not used) while Standby, promoted on becoming Active, and then let the return traffic of the
//! failed-over flows through the deny-all inbound ACL — with one queue, and with two queues where the
//! copies live in the home shard and the other worker steers their packets to it. Needs root.

mod netns_support;

use std::net::{Ipv4Addr, SocketAddr, UdpSocket};
use std::time::Duration;

use inspect::driver::{DataPlane, DataPlaneSpec, EngineDataPlane};
use inspect::record::{FlowKey, HaSessionId, L4Proto, RuleDirection, SessionRecord, TcpDirectionRecord};
use inspect::status::{EngineEvent, HaRole, HaState};
use netns_support::{Lab, R_CLIENT_IF, R_SERVER_IF, SERVER, poll_until};

const FLOWS: u8 = 24;

fn clients() -> Vec<Ipv4Addr> {
    (0..FLOWS).map(|i| Ipv4Addr::new(10, 91, 1, 10 + i)).collect()
}

fn record(i: u8, client: Ipv4Addr) -> SessionRecord {
    SessionRecord {
        id: HaSessionId(1000 + u32::from(i)),
        key: FlowKey {
            proto: L4Proto::UDP,
            initiator: SocketAddr::from((client, 5555)),
            responder: SocketAddr::from((SERVER, 7200)),
        },
        interface: 1,
        direction: RuleDirection::Out,
        state: 3, // SIS_OPEN
        initiator_tcp: TcpDirectionRecord::default(),
        responder_tcp: TcpDirectionRecord::default(),
        bytes_initiator: 100,
        bytes_responder: 100,
        age_s: 5,
        idle_ms: 100,
    }
}

fn start(lab: &Lab, workers: u16) -> EngineDataPlane {
    let mut cfg = netns_support::inspect_out_config(30);
    if let Some(i) = cfg.interfaces[1].inspect_out.as_mut() {
        i.redundancy_group = Some("HAout".into());
    }
    let mut spec = DataPlaneSpec::new(
        cfg,
        vec![(0, R_CLIENT_IF.to_owned()), (1, R_SERVER_IF.to_owned())],
        timebase::MonotonicClock::start(),
    );
    spec.workers = workers;
    Lab::in_ns(&lab.router, move || DataPlane::start(spec)).expect("data plane starts")
}

/// Sends one datagram from SERVER:7200 to each client's port 5555; returns the clients that got it,
/// waiting until all did or `wait` passed.
fn server_to_clients(lab: &Lab, listeners: &[UdpSocket], wait: Duration) -> Vec<Ipv4Addr> {
    Lab::in_ns(&lab.server, || {
        let sock = UdpSocket::bind((SERVER, 7200)).expect("bind 7200");
        for c in clients() {
            sock.send_to(b"reply", (c, 5555)).expect("send");
        }
    });
    let mut got = Vec::new();
    let _ = poll_until(wait, || {
        for (c, l) in clients().into_iter().zip(listeners) {
            l.set_nonblocking(true).expect("nonblocking");
            let mut buf = [0u8; 16];
            if l.recv_from(&mut buf).is_ok() {
                got.push(c);
            }
        }
        (got.len() == usize::from(FLOWS)).then_some(())
    });
    got
}

fn standby_copies_carry_flows_after_promotion(tag: &str, workers: u16) {
    let lab = Lab::new(tag);
    for c in clients() {
        netns_support::sh(&[
            "ip",
            "-n",
            &lab.client,
            "addr",
            "add",
            &format!("{c}/24"),
            "dev",
            "eth0",
        ]);
    }
    let listeners: Vec<UdpSocket> = Lab::in_ns(&lab.client, || {
        clients()
            .into_iter()
            .map(|c| UdpSocket::bind((c, 5555)).expect("bind client"))
            .collect()
    });
    let dp = start(&lab, workers);
    let events = dp.events();

    dp.set_ha_role(HaRole::Standby).expect("standby");
    let records: Vec<SessionRecord> = clients()
        .into_iter()
        .enumerate()
        .map(|(i, c)| record(i as u8, c))
        .collect();
    assert_eq!(dp.apply_standby(records).expect("apply"), usize::from(FLOWS));
    assert_eq!(
        dp.steered_flows(),
        if workers > 1 { usize::from(FLOWS) } else { 0 }
    );
    let sessions = dp.sessions().expect("sessions");
    assert_eq!(
        sessions.iter().filter(|s| s.ha_state == HaState::Standby).count(),
        usize::from(FLOWS)
    );
    assert_eq!(dp.ha_digest().expect("digest").0, u64::from(FLOWS));

    // Held, not used: while Standby, the return traffic is judged by the deny-all ACL.
    assert!(
        server_to_clients(&lab, &listeners, Duration::from_millis(500)).is_empty(),
        "standby copies must not open pinholes"
    );

    dp.set_ha_role(HaRole::Active).expect("active");
    // Every shard reports its own promotion; the home shard holds all the copies.
    let mut promoted = 0;
    let mut reports = 0;
    let done = poll_until(Duration::from_secs(5), || {
        for e in events.try_iter() {
            if let EngineEvent::HaPromoted { sessions } = e {
                promoted += sessions;
                reports += 1;
            }
        }
        (reports == workers).then_some(promoted)
    });
    assert_eq!(done, Some(u64::from(FLOWS)));

    let got = server_to_clients(&lab, &listeners, Duration::from_secs(5));
    assert_eq!(
        got.len(),
        usize::from(FLOWS),
        "only {got:?} got their reply after promotion"
    );
    let st = dp.status().expect("status");
    let steered: u64 = st.workers.iter().map(|w| w.counters.steered).sum();
    if workers > 1 {
        // With 24 address pairs, some flow hashes to the non-home queue (all on one: probability 2^-24).
        assert!(steered > 0, "{st:?}");
        assert_eq!(st.workers[0].shard.ha_active_sessions, u64::from(FLOWS));
    } else {
        assert_eq!(steered, 0);
    }
    let active = dp
        .sessions()
        .expect("sessions")
        .into_iter()
        .filter(|s| s.ha_state == HaState::Active)
        .count();
    assert_eq!(active, usize::from(FLOWS));
    assert_eq!(dp.export_ha().expect("export").len(), usize::from(FLOWS));

    // A flush forgets them all, and the replies are denied again.
    dp.clear_ha_sessions().expect("flush");
    assert_eq!(dp.steered_flows(), 0);
    assert!(server_to_clients(&lab, &listeners, Duration::from_millis(500)).is_empty());
    dp.stop().expect("stop");
}

#[test]
fn one_queue_standby_copies_carry_flows_after_promotion() {
    standby_copies_carry_flows_after_promotion("h1", 1);
}

#[test]
fn two_queues_steer_failed_over_flows_to_the_home_shard() {
    standby_copies_carry_flows_after_promotion("h2", 2);
}
