//! Simulated pair in virtual time: the RF progression and the HA rules end to end.
#![allow(clippy::unwrap_used)] // test code: a panic is a test failure

mod sim;

use sim::{FW, Sim, seed_summary};
use sso::{ClientNotice, HsrpRole, MismatchKind, RefusalReason, RfState};
use timebase::Duration;

const SECS: fn(u64) -> Duration = Duration::from_secs;

#[test]
fn progression_to_standby_hot() {
    let sim = Sim::hot_pair(1, 1000);
    let standby = &sim.units[1];
    assert_eq!(
        standby.path(),
        vec![
            RfState::Initialization,
            RfState::Negotiation,
            RfState::StandbyCold,
            RfState::StandbyColdBulk,
            RfState::StandbyHot
        ]
    );
    assert_eq!(standby.sessions, 1000, "the standby holds the ACTIVE's sessions");
    assert_eq!(standby.count_notice(&ClientNotice::StartBulkSync), 1);
    assert_eq!(standby.count_notice(&ClientNotice::BecomeStandby), 1);
    assert!(standby.has_log("%RF-5-STANDBY_HOT"));
    let active = &sim.units[0];
    assert_eq!(
        active.path(),
        vec![
            RfState::Initialization,
            RfState::ActiveFast,
            RfState::ActiveDrain,
            RfState::ActivePreconfig,
            RfState::ActivePostconfig,
            RfState::Active
        ]
    );
    assert_eq!(active.count_notice(&ClientNotice::ServeBulk), 1);
    assert_eq!(active.count_notice(&ClientNotice::BecomeActive), 1);
    let s = sim.status(0);
    assert_eq!((s.my_state.as_str(), s.my_state_code), ("ACTIVE", 13));
    assert_eq!((s.peer_state.as_str(), s.peer_state_code), ("STANDBY HOT", 8));
    assert_eq!((s.mode.as_str(), s.communications.as_str()), ("Duplex", "Up"));
    assert!(s.mismatches.is_empty());
    assert_eq!(
        s.switchover_count, 0,
        "becoming ACTIVE alone at boot is not a switchover"
    );
    let s1 = sim.status(1);
    assert_eq!(s1.clients[0].bulk_state, "done");
    assert_eq!(s1.clients[0].bulk_sessions, Some(1000));
    assert_eq!(s1.clients[0].bulk_ms, Some(500));
    // The ACTIVE's history shows the peer's progression too.
    let peer_states: Vec<_> = s
        .history
        .iter()
        .filter(|e| e.changed == sso::Changed::Peer)
        .map(|e| e.peer_state)
        .collect();
    assert!(peer_states.ends_with(&[
        RfState::StandbyCold,
        RfState::StandbyColdBulk,
        RfState::StandbyHot
    ]));
    // JSON carries the documented fields.
    let json = serde_json::to_value(&s).unwrap();
    for key in [
        "my_state",
        "my_state_code",
        "peer_state",
        "peer_state_code",
        "mode",
        "communications",
        "scheme_group",
        "last_switchover_reason",
        "client_count",
        "mismatches",
        "preempt_held",
    ] {
        assert!(json.get(key).is_some(), "missing {key}");
    }
}

#[test]
fn peer_loss_and_return_resyncs_automatically() {
    let mut sim = Sim::hot_pair(2, 1000);
    sim.set_ipc(false);
    sim.run_for(SECS(1));
    let s = sim.status(1);
    assert_eq!(s.my_state, "INITIALIZATION");
    assert_eq!(
        (s.peer_state.as_str(), s.mode.as_str(), s.communications.as_str()),
        ("DISABLED", "Simplex", "Down")
    );
    assert_eq!(
        sim.units[1].sessions, 1000,
        "a lost peer does not flush the standby's data"
    );
    assert_eq!(sim.units[1].count_notice(&ClientNotice::PeerDown), 1);
    assert_eq!(sim.units[0].state(), RfState::Active);
    assert_eq!(sim.status(0).peer_state, "DISABLED");
    // The ACTIVE keeps working; meanwhile its table changes.
    sim.units[0].sessions = 1500;
    sim.set_ipc(true);
    sim.run_for(SECS(3));
    assert_eq!(sim.units[1].state(), RfState::StandbyHot);
    assert_eq!(sim.units[1].sessions, 1500, "resynchronized on its own");
    assert_eq!(sim.units[1].count_notice(&ClientNotice::StartBulkSync), 2);
    assert_eq!(sim.status(1).clients[0].bulk_syncs, 2);
    assert_eq!(sim.status(1).counters.peer_losses, 1);
}

#[test]
fn silent_peer_is_lost_after_the_dead_interval() {
    let mut sim = Sim::hot_pair(3, 10);
    // Gray failure: the association stays "up" but nothing gets through.
    sim.loss_per_mille = 1000;
    let t0 = sim.now;
    sim.run_for(SECS(2));
    assert!(
        sim.units[1].mgr().communications_up(),
        "not lost before 3 hello intervals"
    );
    sim.run_for(SECS(2));
    assert!(!sim.units[1].mgr().communications_up());
    let lost_at = sim.units[1]
        .logs
        .iter()
        .find(|(_, l)| l.contains("PEER_COMM_LOST"))
        .map(|(t, l)| (*t, l.clone()))
        .unwrap();
    assert!(lost_at.1.contains("peer silent for 3.000 sec"), "{}", lost_at.1);
    assert!(
        lost_at.0 - t0 <= SECS(3),
        "lost within the dead interval after the last message"
    );
    sim.loss_per_mille = 0;
    sim.run_for(SECS(3));
    assert_eq!(sim.units[1].state(), RfState::StandbyHot);
}

#[test]
fn lossy_link_still_converges() {
    let mut sim = Sim::new(4);
    sim.loss_per_mille = 300;
    sim.power_on(0);
    sim.run_for(SECS(5));
    sim.units[0].sessions = 77;
    sim.power_on(1);
    sim.run_for(SECS(30));
    assert_eq!(sim.units[1].state(), RfState::StandbyHot);
    assert_eq!(sim.units[1].sessions, 77);
    assert!(sim.dropped > 0);
}

#[test]
fn relinquish_reloads_and_resyncs() {
    let mut sim = Sim::hot_pair(5, 1000);
    sim.units[1].sessions = 1000;
    // Tracking lowers unit 0's priority: unit 1 (STANDBY HOT, not held) preempts.
    sim.units[0].priority = 90;
    sim.run_for(SECS(1));
    assert_eq!(sim.units[1].state(), RfState::Active);
    let old = &sim.units[0];
    assert!(old.has_log("%RF-5-RF_RELOAD: Self reload. Reason: Active relinquished (HSRP state Speak)"));
    assert_eq!(old.count_notice(&ClientNotice::Flush), 1);
    sim.run_for(SECS(3));
    assert_eq!(sim.units[0].state(), RfState::StandbyHot);
    assert_eq!(sim.units[0].sessions, 1000, "fresh bulk sync from the new ACTIVE");
    let p0 = sim.units[0].path();
    let reload = p0.iter().rposition(|s| *s == RfState::Initialization).unwrap();
    assert_eq!(
        &p0[reload..],
        &[
            RfState::Initialization,
            RfState::Negotiation,
            RfState::StandbyCold,
            RfState::StandbyColdBulk,
            RfState::StandbyHot
        ]
    );
    let s0 = sim.status(0);
    let s1 = sim.status(1);
    assert_eq!(s0.switchover_count, 1);
    assert_eq!(s1.switchover_count, 1);
    assert!(
        s1.last_switchover_reason
            .as_deref()
            .unwrap()
            .contains("took over from STANDBY HOT")
    );
    assert!(
        s0.last_switchover_reason
            .as_deref()
            .unwrap()
            .starts_with("Active relinquished")
    );
}

#[test]
fn preemption_is_held_until_standby_hot() {
    let mut sim = Sim::new(6);
    sim.bulk_delay = SECS(5);
    sim.power_on(0);
    sim.run_for(SECS(5));
    sim.units[0].sessions = 4242;
    sim.units[1].priority = 110; // would preempt at once
    sim.power_on(1);
    sim.run_for(SECS(3));
    assert_eq!(sim.units[1].state(), RfState::StandbyColdBulk);
    assert_eq!(
        sim.units[0].state(),
        RfState::Active,
        "no takeover with an empty table"
    );
    assert!(sim.units[1].held);
    let s = sim.status(1);
    assert!(s.preempt_held);
    assert!(
        s.preempt_hold_reason
            .as_deref()
            .unwrap()
            .contains("STANDBY COLD-BULK"),
        "{s:?}"
    );
    sim.run_for(SECS(4));
    // Bulk done -> STANDBY HOT -> hold released -> HSRP preempts with a full table.
    assert!(!sim.units[1].held);
    assert_eq!(sim.units[1].state(), RfState::Active);
    assert_eq!(sim.units[1].sessions, 4242);
    assert!(!sim.units[1].has_log("TAKEOVER_NOT_HOT"));
    sim.run_for(SECS(10));
    assert_eq!(sim.units[0].state(), RfState::StandbyHot);
    assert_eq!(sim.units[0].sessions, 4242);
}

#[test]
fn preemption_is_held_while_the_peer_is_not_yet_heard() {
    let mut sim = Sim::new(7);
    sim.power_on(0);
    sim.run_for(SECS(5));
    sim.set_ipc(false);
    sim.units[1].priority = 110;
    sim.power_on(1);
    assert!(sim.units[1].held, "startup grace holds preemption");
    assert!(
        sim.units[1]
            .hold_reasons
            .last()
            .unwrap()
            .contains("waiting up to 3.000 sec for the peer")
    );
    sim.run_for(SECS(4));
    assert!(!sim.units[1].held, "released: no healthy ACTIVE heard");
}

#[test]
fn split_brain_heals_and_the_loser_resyncs() {
    let mut sim = Sim::hot_pair(8, 300);
    sim.set_lan(false);
    sim.set_ipc(false);
    sim.run_for(SECS(5));
    assert_eq!(sim.units[0].state(), RfState::Active);
    assert_eq!(sim.units[1].state(), RfState::Active);
    let s1 = sim.status(1);
    assert!(
        s1.last_switchover_reason
            .as_deref()
            .unwrap()
            .starts_with("active peer lost: IPC association down")
    );
    sim.units[1].sessions = 310;
    sim.units[0].sessions = 299;
    sim.set_ipc(true);
    sim.run_for(SECS(1));
    assert!(sim.units[0].has_log("%RF-3-DUAL_ACTIVE"));
    assert!(sim.status(0).dual_active);
    sim.set_lan(true);
    sim.run_for(SECS(5));
    // Equal priorities: HSRP keeps unit 1 (higher address); unit 0 reloads and resyncs from it.
    assert_eq!(sim.units[1].state(), RfState::Active);
    assert_eq!(sim.units[0].state(), RfState::StandbyHot);
    assert_eq!(sim.units[0].sessions, 310);
    assert!(sim.units[0].has_log("dual-active resolved"));
    assert!(!sim.status(0).dual_active);
}

#[test]
fn force_switchover_refused_then_accepted() {
    let mut sim = Sim::new(9);
    sim.bulk_delay = SECS(3);
    sim.power_on(0);
    sim.run_for(SECS(5));
    sim.power_on(1);
    sim.run_for(SECS(1));
    let now = sim.now;
    assert_eq!(sim.units[1].state(), RfState::StandbyColdBulk);
    assert_eq!(
        sim.units[0].mgr_mut().force_switchover(now),
        Err(RefusalReason::PeerNotStandbyHot("STANDBY COLD-BULK".into()))
    );
    assert_eq!(
        sim.units[1].mgr_mut().force_switchover(now),
        Err(RefusalReason::NotActive("STANDBY COLD-BULK".into()))
    );
    sim.run_for(SECS(4));
    sim.units[0].sessions = 55;
    sim.units[1].sessions = 55;
    let now = sim.now;
    assert_eq!(sim.units[0].mgr_mut().force_switchover(now), Ok(()));
    assert_eq!(
        sim.units[0].mgr_mut().force_switchover(now),
        Err(RefusalReason::SwitchoverInProgress)
    );
    sim.settle();
    assert!(sim.units[0].resign, "HSRP was asked to resign");
    sim.run_for(SECS(6));
    assert_eq!(sim.units[1].state(), RfState::Active);
    assert_eq!(sim.units[0].state(), RfState::StandbyHot);
    assert!(sim.units[0].has_log("Self reload. Reason: Active relinquished (planned switchover)"));
    let r = sim.status(1).last_switchover_reason.unwrap();
    assert!(r.starts_with("planned switchover requested on the peer"), "{r}");
    assert_eq!(sim.status(1).counters.switchover_rx, 1);
    // Without a peer, a switchover is refused.
    sim.set_ipc(false);
    let now = sim.now;
    assert_eq!(
        sim.units[1].mgr_mut().force_switchover(now),
        Err(RefusalReason::NoPeer)
    );
}

#[test]
fn configuration_mismatches_are_reported_both_sides() {
    let mut sim = Sim::new(10);
    sim.units[1].summary.interfaces.clear();
    sim.power_on(0);
    sim.run_for(SECS(5));
    sim.power_on(1);
    sim.run_for(SECS(5));
    let want = "%FW_HA-6-NO_INSPECT_RULE_ON_STDBY: Firewall High availability - inspect rule is not configured \
                on standby for interface Ethernet1/0 dir out";
    assert!(sim.units[0].has_log(want));
    assert!(sim.units[1].has_log(want));
    assert_eq!(
        sim.status(0).mismatches[0].kind,
        MismatchKind::NoInspectRuleOnStandby
    );
    assert_eq!(
        sim.units[1].state(),
        RfState::StandbyHot,
        "a mismatch is reported, not fatal"
    );
    // The standby's operator fixes the rule but names it differently and uses another group.
    let mut fixed = seed_summary();
    fixed.interfaces[0].rule = "s_test".into();
    fixed.interfaces[0].redundancy_group = Some("s_grp".into());
    fixed.interfaces[0].protocols = vec!["tcp".into()];
    let now = sim.now;
    sim.units[1].mgr_mut().handle_config(now, fixed);
    sim.run_for(SECS(2));
    let kinds: Vec<_> = sim.status(0).mismatches.iter().map(|m| m.kind).collect();
    assert_eq!(
        kinds,
        vec![MismatchKind::ProtocolMismatch, MismatchKind::ConfigMismatch]
    );
    assert!(
        sim.units[0].has_log(
            "act:inspect rule ha-protocols, hsrp_grp HAin; standby:inspect rule s_test hsrp_grp s_grp"
        )
    );
    assert!(sim.units[1].has_log("%FW_HA-6-PROT_MISMATCH"));
    let now = sim.now;
    sim.units[1].mgr_mut().handle_config(now, seed_summary());
    sim.run_for(SECS(2));
    assert!(sim.status(0).mismatches.is_empty());
    assert!(sim.status(1).mismatches.is_empty());
    assert_eq!(
        sim.status(0).peer_config_digest,
        Some(sim.status(0).config_digest)
    );
}

#[test]
fn group_missing_on_standby_is_reported() {
    let mut sim = Sim::new(11);
    sim.units[1].summary.interfaces[0].redundancy_group = None;
    sim.power_on(0);
    sim.run_for(SECS(5));
    sim.power_on(1);
    sim.run_for(SECS(5));
    assert!(sim.units[1].has_log(
        "%FW_HA-6-NO_HSRP_GNAME_ON_STDBY: Firewall High availability - Inspect redundancy group is not \
         configured on standby for interface Ethernet1/0 dir out"
    ));
}

#[test]
fn another_software_version_is_reported() {
    let mut sim = Sim::new(12);
    sim.units[1].version = "iosha 0.2.0".into();
    sim.power_on(0);
    sim.run_for(SECS(5));
    sim.power_on(1);
    sim.run_for(SECS(5));
    assert!(sim.units[0].has_log(
        "%RF-4-VERSION_MISMATCH: Peer runs software version iosha 0.2.0, this unit runs iosha 0.1.0"
    ));
    let s = sim.status(0);
    assert!(s.version_mismatch);
    assert_eq!(s.peer_software_version.as_deref(), Some("iosha 0.2.0"));
    assert_eq!(sim.units[1].state(), RfState::StandbyHot);
    let logged = sim.units[0]
        .logs
        .iter()
        .filter(|(_, l)| l.contains("VERSION_MISMATCH"))
        .count();
    assert_eq!(logged, 1, "logged once per peer boot");
}

#[test]
fn malformed_and_stale_messages_are_counted_not_trusted() {
    let mut sim = Sim::hot_pair(13, 5);
    let now = sim.now;
    let m = sim.units[1].mgr_mut();
    m.handle_peer_message(now, &[]);
    m.handle_peer_message(now, b"garbage that is not a message");
    let mut bad_version = vec![b'R', b'F', 99, 1];
    bad_version.extend_from_slice(&[0; 14]);
    m.handle_peer_message(now, &bad_version);
    let mut unknown_type = vec![b'R', b'F', 1, 200];
    unknown_type.extend_from_slice(&[0; 14]);
    m.handle_peer_message(now, &unknown_type);
    // A STATE claiming our own boot id (a loop).
    let own = sso::wire::Message {
        seq: 1,
        boot_id: sim.units[1].boot,
        body: sso::wire::Body::Switchover("loop".into()),
    };
    let now = sim.now;
    sim.units[1].mgr_mut().handle_peer_message(now, &own.encode());
    // A replay of an old message from the real peer: out of order.
    let replay = sso::wire::Message {
        seq: 1,
        boot_id: sim.units[0].boot,
        body: sso::wire::Body::Switchover("replayed".into()),
    };
    sim.units[1].mgr_mut().handle_peer_message(now, &replay.encode());
    sim.settle();
    let c = sim.status(1).counters;
    assert_eq!(c.decode_errors, 4);
    assert_eq!(
        (c.truncated, c.bad_magic, c.unsupported_version, c.unknown_type),
        (1, 1, 1, 1)
    );
    assert_eq!(c.own_messages, 1);
    assert_eq!(c.out_of_order, 1);
    assert_eq!(c.switchover_rx, 0, "the replayed notice was not trusted");
    assert_eq!(sim.units[1].state(), RfState::StandbyHot);
    sim.run_for(SECS(5));
    assert_eq!(sim.units[1].state(), RfState::StandbyHot);
}

#[test]
fn peer_restart_is_detected_and_the_standby_takes_over_or_resyncs() {
    let mut sim = Sim::hot_pair(14, 900);
    // The standby restarts faster than the dead interval.
    sim.power_off(1);
    sim.power_on(1);
    sim.run_for(SECS(5));
    assert_eq!(sim.units[1].state(), RfState::StandbyHot);
    assert_eq!(sim.units[1].sessions, 900);
    assert!(sim.status(0).counters.peer_restarts >= 1);
    // Now the ACTIVE loses power mid-flight: the STANDBY HOT unit takes over with every session.
    sim.power_off(0);
    sim.run_for(SECS(5));
    assert_eq!(sim.units[1].state(), RfState::Active);
    assert_eq!(sim.units[1].sessions, 900);
    let r = sim.status(1).last_switchover_reason.unwrap();
    assert!(
        r.contains("active peer lost") && r.contains("took over from STANDBY HOT"),
        "{r}"
    );
    // It comes back and ends STANDBY HOT.
    sim.power_on(0);
    sim.run_for(SECS(6));
    assert_eq!(sim.units[0].state(), RfState::StandbyHot);
    assert_eq!(sim.units[0].sessions, 900);
}

#[test]
fn takeover_before_standby_hot_is_logged() {
    let mut sim = Sim::new(15);
    sim.bulk_delay = SECS(20);
    sim.power_on(0);
    sim.run_for(SECS(5));
    sim.power_on(1);
    sim.run_for(SECS(2));
    assert_eq!(sim.units[1].state(), RfState::StandbyColdBulk);
    sim.power_off(0);
    sim.run_for(SECS(5));
    assert_eq!(sim.units[1].state(), RfState::Active);
    assert!(sim.units[1].has_log("%RF-4-TAKEOVER_NOT_HOT: Taking over from STANDBY COLD-BULK"));
}

#[test]
fn failed_bulk_is_retried() {
    let mut sim = Sim::new(16);
    sim.units[1].bulk_fail_next = 2;
    sim.power_on(0);
    sim.run_for(SECS(5));
    sim.units[0].sessions = 8;
    sim.power_on(1);
    sim.run_for(SECS(10));
    assert_eq!(sim.units[1].state(), RfState::StandbyHot);
    assert_eq!(sim.units[1].sessions, 8);
    let s = sim.status(1);
    assert_eq!(s.clients[0].bulk_failures, 2);
    assert_eq!(sim.units[1].count_notice(&ClientNotice::StartBulkSync), 3);
    assert!(
        sim.units[1].has_log("%RF-4-BULK_SYNC_FAILED: Client FW HA (1) bulk sync failed: injected failure")
    );
}

#[test]
fn operator_and_client_resync_on_the_standby() {
    let mut sim = Sim::hot_pair(17, 20);
    let now = sim.now;
    assert!(matches!(
        sim.units[0].mgr_mut().request_resync(now),
        Err(RefusalReason::NotStandby(_))
    ));
    sim.units[0].sessions = 25;
    assert_eq!(sim.units[1].mgr_mut().request_resync(now), Ok(()));
    sim.settle();
    assert_eq!(sim.units[1].sessions, 0, "flushed");
    assert_eq!(sim.units[1].state(), RfState::StandbyColdBulk);
    assert!(
        sim.units[1].held,
        "not STANDBY HOT any more: preemption held again"
    );
    sim.run_for(SECS(2));
    assert_eq!(sim.units[1].state(), RfState::StandbyHot);
    assert_eq!(sim.units[1].sessions, 25);
    // The client itself detects a gap.
    let now = sim.now;
    sim.units[1]
        .mgr_mut()
        .handle_client(now, FW, sso::ClientReport::ResyncNeeded { reason: "gap".into() });
    sim.settle();
    assert_eq!(sim.units[1].state(), RfState::StandbyColdBulk);
    sim.run_for(SECS(2));
    assert_eq!(sim.units[1].state(), RfState::StandbyHot);
    // Reports from unknown clients or out of turn are counted.
    let now = sim.now;
    let m = sim.units[1].mgr_mut();
    m.handle_client(
        now,
        sso::ClientId(99),
        sso::ClientReport::BulkDone {
            sessions: 1,
            ok: true,
        },
    );
    m.handle_client(
        now,
        FW,
        sso::ClientReport::BulkDone {
            sessions: 1,
            ok: true,
        },
    );
    let c = m.counters();
    assert_eq!((c.unknown_client_reports, c.stray_client_reports), (1, 1));
}

#[test]
fn hsrp_role_reports_are_idempotent() {
    let mut sim = Sim::hot_pair(18, 1);
    let now = sim.now;
    let before = sim.units[0].changes.len();
    sim.units[0].mgr_mut().handle_hsrp_role(now, HsrpRole::Active);
    sim.units[1].mgr_mut().handle_hsrp_role(now, HsrpRole::Standby);
    sim.settle();
    assert_eq!(sim.units[0].changes.len(), before);
    assert_eq!(sim.units[1].state(), RfState::StandbyHot);
}

#[test]
fn startup_grace_covers_a_slow_association() {
    let mut sim = Sim::new(19);
    sim.bulk_delay = SECS(2);
    sim.power_on(0);
    sim.run_for(SECS(5));
    sim.units[0].sessions = 64;
    sim.units[1].priority = 110;
    sim.set_ipc(false);
    sim.power_on(1);
    // HSRP starts after 1 s and sees a lower-priority Active; the association only comes up at 2 s.
    sim.run_for(SECS(2));
    assert_eq!(sim.units[0].state(), RfState::Active, "held by the startup grace");
    sim.set_ipc(true);
    sim.run_for(Duration::from_millis(500));
    assert_eq!(sim.units[1].state(), RfState::StandbyColdBulk);
    assert!(sim.units[1].held);
    sim.run_for(SECS(3));
    assert_eq!(sim.units[1].state(), RfState::Active, "preempts once STANDBY HOT");
    assert_eq!(sim.units[1].sessions, 64);
}
