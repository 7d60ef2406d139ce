use std::net::SocketAddr;

use timebase::{Duration, Instant};

use super::*;
use crate::build;
use crate::config::{AclConfig, AclEntry, AclProto, AddrMatch, InterfaceConfig, InterfaceInspect, PortMatch};
use crate::wire::TcpFlags;

pub(crate) fn sa(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

fn entry(seq: u32, action: AclAction, src: AddrMatch, dst: AddrMatch) -> AclEntry {
    AclEntry {
        seq,
        action,
        proto: AclProto::Ip,
        src,
        src_port: PortMatch::Any,
        dst,
        dst_port: PortMatch::Any,
        established: false,
        log: false,
    }
}

/// The seed's router 1: inside Ethernet0/0 (index 0), outside Ethernet1/0 (index 1) with
/// `ip access-group fw-ha-acl in` and `ip inspect ha-protocols out redundancy stateful HAin`.
pub(crate) fn seed_config() -> EngineConfig {
    build::seed_firewall_config()
}

pub(crate) const IN: Option<u16> = Some(0);
pub(crate) const OUT: Option<u16> = Some(1);

fn t(ms: u64) -> Instant {
    Instant::from_millis(ms)
}

fn drain(e: &mut Engine) -> Vec<EngineEvent> {
    std::iter::from_fn(|| e.poll_event()).collect()
}

/// Client 10.0.0.10:34386 -> server 211.0.0.10:23 handshake; returns the next sequence numbers.
fn handshake(e: &mut Engine, now: Instant) -> (u32, u32) {
    let c = sa("10.0.0.10:34386");
    let s = sa("211.0.0.10:23");
    assert_eq!(e.process(now, &build::syn(c, s, 1000), IN, OUT), Verdict::Accept);
    let synack = build::tcp(s, c, TcpFlags::SYN | TcpFlags::ACK, 5000, 1001, 0);
    assert_eq!(e.process(now, &synack, OUT, IN), Verdict::Accept);
    let ack = build::tcp(c, s, TcpFlags::ACK, 1001, 5001, 0);
    assert_eq!(e.process(now, &ack, IN, OUT), Verdict::Accept);
    (1001, 5001)
}

#[test]
fn outbound_tcp_opens_a_pinhole_and_unsolicited_inbound_is_denied() {
    let mut e = Engine::new(seed_config(), 7);
    let now = t(1_000);
    // Unsolicited inbound SYN: denied by fw-ha-acl's deny any any.
    let inbound = build::syn(sa("211.0.0.10:4444"), sa("10.0.0.10:22"), 1);
    assert_eq!(
        e.process(now, &inbound, OUT, IN),
        Verdict::Drop(DropReason::AclDenied)
    );
    handshake(&mut e, now);
    let ss = e.sessions(now);
    assert_eq!(ss.len(), 1);
    assert_eq!(ss[0].state, "SIS_OPEN");
    assert_eq!(ss[0].ha_state, HaState::Active);
    assert_eq!(ss[0].interface, "Ethernet1/0");
    assert_eq!(ss[0].direction, "out");
    assert_eq!(ss[0].return_acl.as_deref(), Some("fw-ha-acl"));
    // Data both ways.
    let c = sa("10.0.0.10:34386");
    let s = sa("211.0.0.10:23");
    assert_eq!(
        e.process(now, &build::tcp(c, s, TcpFlags::ACK, 1001, 5001, 100), IN, OUT),
        Verdict::Accept
    );
    assert_eq!(
        e.process(now, &build::tcp(s, c, TcpFlags::ACK, 5001, 1101, 300), OUT, IN),
        Verdict::Accept
    );
    let st = e.stats();
    assert_eq!(st.sessions, 1);
    assert_eq!(st.half_open, 0);
    assert_eq!(st.drops.acl_denied, 1);
    // The ACL counted the denied SYN only (session traffic bypasses it).
    let acl = &e.acl_status()[0];
    assert_eq!(acl.entries[2].matches, 1);
    let ss = e.sessions(now);
    assert!(ss[0].bytes_responder > 300 && ss[0].bytes_initiator > 100);
}

#[test]
fn out_of_window_segment_is_dropped_and_counted() {
    let mut e = Engine::new(seed_config(), 7);
    let now = t(0);
    handshake(&mut e, now);
    let c = sa("10.0.0.10:34386");
    let s = sa("211.0.0.10:23");
    let far = build::tcp(s, c, TcpFlags::ACK, 5001u32.wrapping_add(50_000_000), 1001, 10);
    assert_eq!(
        e.process(now, &far, OUT, IN),
        Verdict::Drop(DropReason::OutOfWindow)
    );
    assert_eq!(e.stats().drops.out_of_window, 1);
}

#[test]
fn fin_exchange_moves_to_closing_then_finwait_expiry() {
    let mut cfg = seed_config();
    cfg.tcp_finwait_s = 5;
    let mut e = Engine::new(cfg, 7);
    handshake(&mut e, t(0));
    let c = sa("10.0.0.10:34386");
    let s = sa("211.0.0.10:23");
    e.process(
        t(10),
        &build::tcp(c, s, TcpFlags::FIN | TcpFlags::ACK, 1001, 5001, 0),
        IN,
        OUT,
    );
    assert_eq!(e.sessions(t(10))[0].state, "SIS_FINWAIT");
    e.process(
        t(20),
        &build::tcp(s, c, TcpFlags::FIN | TcpFlags::ACK, 5001, 1002, 0),
        OUT,
        IN,
    );
    assert_eq!(e.sessions(t(20))[0].state, "SIS_CLOSING");
    e.process(t(30), &build::tcp(c, s, TcpFlags::ACK, 1002, 5002, 0), IN, OUT);
    assert_eq!(e.sessions(t(30))[0].state, "SIS_CLOSED");
    drain(&mut e);
    e.handle_timeout(t(4_000));
    assert_eq!(e.session_count(), 1);
    e.handle_timeout(t(5_200));
    assert_eq!(e.session_count(), 0);
    assert_eq!(e.stats().expired, 1);
    assert!(
        drain(&mut e)
            .iter()
            .any(|ev| matches!(ev, EngineEvent::HaDelete(_)))
    );
}

#[test]
fn rst_closes_the_session_at_once() {
    let mut e = Engine::new(seed_config(), 7);
    handshake(&mut e, t(0));
    let c = sa("10.0.0.10:34386");
    let s = sa("211.0.0.10:23");
    assert_eq!(
        e.process(t(5), &build::tcp(s, c, TcpFlags::RST, 5001, 0, 0), OUT, IN),
        Verdict::Accept
    );
    assert_eq!(e.session_count(), 0);
    assert_eq!(e.stats().reset, 1);
    // Later return traffic is judged by the ACL again.
    let late = build::tcp(s, c, TcpFlags::ACK, 5001, 1001, 10);
    assert_eq!(
        e.process(t(6), &late, OUT, IN),
        Verdict::Drop(DropReason::AclDenied)
    );
}

#[test]
fn udp_session_expires_after_idle_time() {
    let mut e = Engine::new(seed_config(), 7);
    let c = sa("10.0.0.10:50121");
    let s = sa("211.0.0.10:53");
    assert_eq!(e.process(t(0), &build::udp(c, s, 30), IN, OUT), Verdict::Accept);
    assert_eq!(e.process(t(100), &build::udp(s, c, 90), OUT, IN), Verdict::Accept);
    assert_eq!(e.stats().half_open, 0);
    e.handle_timeout(t(15_000));
    // Traffic at 20 s restarts the idle timer (lazy re-check on expiry).
    e.process(t(20_000), &build::udp(c, s, 30), IN, OUT);
    e.handle_timeout(t(30_500));
    assert_eq!(e.session_count(), 1);
    e.handle_timeout(t(49_000));
    assert_eq!(e.session_count(), 1);
    e.handle_timeout(t(50_100));
    assert_eq!(e.session_count(), 0);
    assert_eq!(
        e.process(t(50_200), &build::udp(s, c, 90), OUT, IN),
        Verdict::Drop(DropReason::AclDenied)
    );
}

#[test]
fn synwait_expires_half_open_sessions() {
    let mut e = Engine::new(seed_config(), 7);
    e.process(
        t(0),
        &build::syn(sa("10.0.0.10:1000"), sa("211.0.0.10:80"), 1),
        IN,
        OUT,
    );
    assert_eq!(e.stats().half_open, 1);
    e.handle_timeout(t(29_900));
    assert_eq!(e.session_count(), 1);
    e.handle_timeout(t(30_100));
    assert_eq!(e.session_count(), 0);
    assert_eq!(e.stats().half_open, 0);
}

#[test]
fn rule_timeout_overrides_global_idle() {
    let mut cfg = seed_config();
    cfg.rules[0].protocols[1].timeout_s = Some(5);
    let mut e = Engine::new(cfg, 7);
    e.process(
        t(0),
        &build::udp(sa("10.0.0.10:1"), sa("211.0.0.10:2"), 1),
        IN,
        OUT,
    );
    assert_eq!(e.sessions(t(0))[0].timeout_s, 5);
    e.handle_timeout(t(5_100));
    assert_eq!(e.session_count(), 0);
}

#[test]
fn icmp_is_acl_judged_and_never_inspected() {
    let mut e = Engine::new(seed_config(), 7);
    let ping = build::icmp_echo("10.0.0.10".parse().unwrap(), "211.0.0.10".parse().unwrap());
    assert_eq!(e.process(t(0), &ping, IN, OUT), Verdict::Accept);
    assert_eq!(e.session_count(), 0);
    let back = build::icmp_echo("211.0.0.10".parse().unwrap(), "10.0.0.10".parse().unwrap());
    assert_eq!(
        e.process(t(0), &back, OUT, IN),
        Verdict::Drop(DropReason::AclDenied)
    );
}

fn syn_from(port: u16) -> Vec<u8> {
    build::syn(sa(&format!("10.0.0.10:{port}")), sa("211.0.0.10:80"), 1)
}

/// Completes the handshake of the session opened by `syn_from(port)`.
fn complete(e: &mut Engine, at: Instant, port: u16) {
    let [_, syn_ack, ack] = build::handshake(sa(&format!("10.0.0.10:{port}")), sa("211.0.0.10:80"), 1, 9);
    e.process(at, &syn_ack, OUT, IN);
    e.process(at, &ack, IN, OUT);
}

fn alerts(e: &mut Engine) -> Vec<String> {
    std::iter::from_fn(|| e.poll_event())
        .filter_map(|ev| match ev {
            EngineEvent::Audit(a) if a.text.starts_with("%FW-4-ALERT") => Some(a.text),
            _ => None,
        })
        .collect()
}

#[test]
fn half_open_limit_ends_the_oldest_half_open_sessions_until_below_low() {
    let mut cfg = seed_config();
    cfg.max_incomplete_high = Some(4);
    cfg.max_incomplete_low = Some(2);
    let mut e = Engine::new(cfg, 7);
    // Sessions 1000..1003, one second apart; 1000 completes, so it is not half-open.
    for p in 0..3u16 {
        let at = t(1000 * u64::from(p));
        assert_eq!(e.process(at, &syn_from(1000 + p), IN, OUT), Verdict::Accept);
    }
    complete(&mut e, t(3000), 1000);
    assert_eq!(e.process(t(3000), &syn_from(1003), IN, OUT), Verdict::Accept);
    assert_eq!(e.stats().half_open, 3);
    assert!(alerts(&mut e).is_empty());
    // The fourth half-open session reaches `high`: aggressive from now on.
    assert_eq!(e.process(t(5000), &syn_from(1004), IN, OUT), Verdict::Accept);
    assert!(e.stats().half_open_aggressive);
    assert_eq!(
        alerts(&mut e),
        ["%FW-4-ALERT_ON: getting aggressive, count (4/4)"]
    );
    // A flood: each new SYN ends the oldest half-open session (1001, 1002, ...); the count stays at high
    // and the established session is never touched.
    for p in 0..10u16 {
        assert_eq!(e.process(t(6000), &syn_from(2000 + p), IN, OUT), Verdict::Accept);
        assert_eq!(e.stats().half_open, 4);
    }
    let st = e.stats();
    assert_eq!(st.half_open_deleted, 10);
    assert_eq!(st.drops.half_open_limit, 0);
    let mut live: Vec<u16> = e.sessions(t(6000)).iter().map(|s| s.initiator.port()).collect();
    live.sort_unstable();
    assert_eq!(live, [1000, 2006, 2007, 2008, 2009]);
    // Handshakes complete: 2 half-open is not below low (2), 1 is: calm again.
    complete(&mut e, t(7000), 2006);
    complete(&mut e, t(7000), 2007);
    assert!(e.stats().half_open_aggressive);
    complete(&mut e, t(7000), 2008);
    assert!(!e.stats().half_open_aggressive);
    assert_eq!(alerts(&mut e), ["%FW-4-ALERT_OFF: calming down, count (1/2)"]);
    // Calm: new sessions are added without ending any.
    assert_eq!(e.process(t(8000), &syn_from(3000), IN, OUT), Verdict::Accept);
    assert_eq!(e.stats().half_open_deleted, 10);
    assert_eq!(e.stats().half_open, 2);
}

#[test]
fn half_open_queue_stays_bounded_when_sessions_complete() {
    let mut cfg = seed_config();
    cfg.max_incomplete_high = Some(1_000);
    let mut e = Engine::new(cfg, 7);
    for p in 0..5_000u16 {
        e.process(t(1), &syn_from(10_000 + p), IN, OUT);
        complete(&mut e, t(1), 10_000 + p);
        while e.poll_event().is_some() {}
    }
    assert_eq!(e.stats().half_open, 0);
    assert!(e.half_open_queue.len() <= 64 + 1, "{}", e.half_open_queue.len());
}

#[test]
fn half_open_limit_set_later_covers_older_sessions() {
    let mut e = Engine::new(seed_config(), 7);
    for p in 0..3u16 {
        e.process(t(1000 * u64::from(p)), &syn_from(1000 + p), IN, OUT);
    }
    let mut cfg = seed_config();
    cfg.max_incomplete_high = Some(3);
    e.reconfigure(cfg);
    assert!(e.stats().half_open_aggressive);
    assert_eq!(e.process(t(5000), &syn_from(2000), IN, OUT), Verdict::Accept);
    let mut ports: Vec<u16> = e.sessions(t(5000)).iter().map(|s| s.initiator.port()).collect();
    ports.sort_unstable();
    assert_eq!(ports, [1001, 1002, 2000]);
}

#[test]
fn session_cap_bounds_the_table() {
    let mut cfg = seed_config();
    cfg.max_sessions = 10;
    let mut e = Engine::new(cfg, 7);
    for p in 0..50u16 {
        e.process(
            t(0),
            &build::udp(sa(&format!("10.0.0.10:{}", 1000 + p)), sa("211.0.0.10:53"), 1),
            IN,
            OUT,
        );
    }
    assert_eq!(e.session_count(), 10);
    assert_eq!(e.stats().drops.session_limit, 40);
}

#[test]
fn ha_add_then_updates_every_interval_after_the_last_one() {
    let mut e = Engine::new(seed_config(), 7);
    handshake(&mut e, t(1_000));
    let ev = drain(&mut e);
    let EngineEvent::HaAdd(rec) = &ev[0] else {
        panic!("expected add, got {ev:?}")
    };
    assert_eq!(rec.key.initiator, sa("10.0.0.10:34386"));
    assert_eq!(rec.state, SisState::SynSent.code());
    // Interval 60 s: the first update falls due at 61 s (60 s after the add at 1 s), the next at 121 s.
    let mut updates = Vec::new();
    let mut now = 1_000;
    while now <= 130_000 {
        now += 100;
        // Keep the session alive with traffic.
        if now % 10_000 == 0 {
            let c = sa("10.0.0.10:34386");
            let s = sa("211.0.0.10:23");
            e.process(t(now), &build::tcp(c, s, TcpFlags::ACK, 1001, 5001, 0), IN, OUT);
        }
        e.handle_timeout(t(now));
        for ev in drain(&mut e) {
            if let EngineEvent::HaUpdate(r) = ev {
                assert_eq!(r.state, SisState::Open.code());
                updates.push(now);
            }
        }
    }
    assert_eq!(updates, vec![61_000, 121_000]);
}

#[test]
fn audit_trail_start_and_stop_lines() {
    let mut cfg = seed_config();
    cfg.audit_trail = true;
    let mut e = Engine::new(cfg, 7);
    let c = sa("10.0.0.10:50121");
    let s = sa("211.0.0.10:53");
    e.process(t(0), &build::udp(c, s, 10), IN, OUT);
    e.handle_timeout(t(31_000));
    let lines: Vec<String> = drain(&mut e)
        .into_iter()
        .filter_map(|ev| match ev {
            EngineEvent::Audit(a) => Some(a.text),
            _ => None,
        })
        .collect();
    assert_eq!(
        lines,
        vec![
            "%FW-6-SESS_AUDIT_TRAIL_START: Start udp session: initiator (10.0.0.10:50121) -- responder (211.0.0.10:53)"
                .to_string(),
            "%FW-6-SESS_AUDIT_TRAIL_STOP: Stop udp session: initiator (10.0.0.10:50121) sent 38 bytes -- responder (211.0.0.10:53) sent 0 bytes"
                .to_string(),
        ]
    );
}

#[test]
fn clear_sessions_emits_deletes() {
    let mut e = Engine::new(seed_config(), 7);
    handshake(&mut e, t(0));
    drain(&mut e);
    e.clear_sessions();
    assert_eq!(e.session_count(), 0);
    assert_eq!(drain(&mut e), vec![EngineEvent::HaDelete(HaSessionId(0))]);
}

#[test]
fn poll_timeout_follows_the_wheel() {
    let mut e = Engine::new(seed_config(), 7);
    assert_eq!(e.poll_timeout(), None);
    e.process(
        t(1_050),
        &build::udp(sa("10.0.0.10:1"), sa("211.0.0.10:2"), 1),
        IN,
        OUT,
    );
    assert_eq!(e.poll_timeout(), Some(t(1_100)));
    e.handle_timeout(t(1_100));
    assert_eq!(e.poll_timeout(), Some(t(1_200)));
    let _ = Duration::ZERO;
}

#[test]
fn malformed_packets_are_counted() {
    let mut e = Engine::new(seed_config(), 7);
    for p in [&[][..], &[0x45, 0, 0], &[0x60; 39], &[0x15; 60]] {
        assert_eq!(e.process(t(0), p, IN, OUT), Verdict::Drop(DropReason::Malformed));
    }
    assert_eq!(e.stats().drops.malformed, 4);
}

#[test]
fn inspect_in_opens_sessions_for_traffic_entering_the_interface() {
    let mut cfg = seed_config();
    // Inside interface: `ip inspect ha-protocols in` and an out ACL that denies everything.
    cfg.interfaces[0].inspect_in = Some(InterfaceInspect {
        rule: "ha-protocols".into(),
        redundancy_group: None,
    });
    cfg.interfaces[0].acl_out = Some("deny-all".into());
    cfg.interfaces[1] = InterfaceConfig {
        name: "Ethernet1/0".into(),
        ..Default::default()
    };
    cfg.acls.push(AclConfig {
        name: "deny-all".into(),
        entries: vec![entry(10, AclAction::Deny, AddrMatch::Any, AddrMatch::Any)],
    });
    let mut e = Engine::new(cfg, 3);
    let c = sa("10.0.0.10:40000");
    let s = sa("211.0.0.10:53");
    assert_eq!(
        e.process(t(0), &build::udp(s, c, 5), OUT, IN),
        Verdict::Drop(DropReason::AclDenied)
    );
    assert_eq!(e.process(t(1), &build::udp(c, s, 5), IN, OUT), Verdict::Accept);
    let ss = e.sessions(t(1));
    assert_eq!(
        (ss[0].interface.as_str(), ss[0].direction.as_str()),
        ("Ethernet0/0", "in")
    );
    assert_eq!(ss[0].ha_state, HaState::None);
    assert_eq!(ss[0].return_acl.as_deref(), Some("deny-all"));
    assert_eq!(e.process(t(2), &build::udp(s, c, 5), OUT, IN), Verdict::Accept);
    assert!(drain(&mut e).is_empty(), "no HA events without redundancy");
}

#[test]
fn ipv6_sessions_and_acls() {
    let mut e = Engine::new(seed_config(), 3);
    let c = sa("[2001:db8::10]:40000");
    let s = sa("[2001:db8:1::10]:443");
    assert_eq!(e.process(t(0), &build::syn(c, s, 7), IN, OUT), Verdict::Accept);
    assert_eq!(
        e.process(
            t(0),
            &build::tcp(s, c, TcpFlags::SYN | TcpFlags::ACK, 70, 8, 0),
            OUT,
            IN
        ),
        Verdict::Accept
    );
    assert_eq!(
        e.process(t(0), &build::tcp(c, s, TcpFlags::ACK, 8, 71, 0), IN, OUT),
        Verdict::Accept
    );
    let ss = e.sessions(t(0));
    assert_eq!(ss[0].initiator, c);
    assert_eq!(ss[0].state, "SIS_OPEN");
    // Unsolicited IPv6 is denied by `deny ip any any`.
    let probe = build::syn(sa("[2001:db8:1::99]:1"), sa("[2001:db8::10]:22"), 1);
    assert_eq!(
        e.process(t(1), &probe, OUT, IN),
        Verdict::Drop(DropReason::AclDenied)
    );
}

#[test]
fn unknown_interfaces_are_neither_filtered_nor_inspected() {
    let mut e = Engine::new(seed_config(), 3);
    let p = build::syn(sa("1.1.1.1:1"), sa("2.2.2.2:2"), 1);
    assert_eq!(e.process(t(0), &p, None, Some(77)), Verdict::Accept);
    assert_eq!(e.session_count(), 0);
}

#[test]
fn reconfigure_keeps_sessions_and_unchanged_acl_counters() {
    let mut e = Engine::new(seed_config(), 3);
    handshake(&mut e, t(0));
    e.process(
        t(0),
        &build::syn(sa("211.0.0.10:1"), sa("10.0.0.10:2"), 1),
        OUT,
        IN,
    );
    let mut cfg = seed_config();
    cfg.tcp_idle_s = 10;
    e.reconfigure(cfg);
    assert_eq!(e.acl_status()[0].entries[2].matches, 1);
    assert_eq!(e.session_count(), 1);
    // The shorter idle time applies at once.
    e.handle_timeout(t(10_200));
    assert_eq!(e.session_count(), 0);
}

#[test]
fn a_router_turned_standby_stops_speaking_for_its_sessions() {
    let mut e = Engine::new(seed_config(), 3);
    handshake(&mut e, t(0));
    drain(&mut e);
    e.set_ha_role(t(1), HaRole::Standby);
    e.handle_timeout(t(120_000));
    e.clear_sessions();
    let evs = drain(&mut e);
    assert!(
        evs.iter()
            .all(|ev| !matches!(ev, EngineEvent::HaUpdate(_) | EngineEvent::HaDelete(_))),
        "{evs:?}"
    );
}
