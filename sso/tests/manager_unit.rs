//! Single-manager tests driven by hand-made peer messages.
#![allow(clippy::unwrap_used)] // test code: a panic is a test failure

use sso::wire::{Body, Message, StateMsg};
use sso::{
    Action, ClientId, ClientNotice, HaConfigSummary, HsrpRole, Manager, RfState, SsoConfig, log_severity,
};
use timebase::{Duration, Instant};

fn state(seq: u32, boot: u64, rf: RfState, seen: sso::Digest) -> Vec<u8> {
    Message {
        seq,
        boot_id: boot,
        body: Body::State(StateMsg {
            rf_state: rf,
            hsrp_state: HsrpRole::Active.code(),
            flags: 0,
            config_digest: HaConfigSummary::default().digest(),
            peer_digest_seen: seen,
            software_version: "v1".into(),
        }),
    }
    .encode()
}

fn drain(m: &mut Manager) -> Vec<Action> {
    std::iter::from_fn(|| m.poll_action()).collect()
}

#[test]
fn sequence_numbers_may_wrap() {
    let t = Instant::from_millis(1);
    let mut m = Manager::new(SsoConfig::new("HAin", "v1", 1), HaConfigSummary::default(), t);
    m.handle_link(t, true, false);
    m.handle_peer_message(t, &state(u32::MAX, 2, RfState::Active, sso::Digest::NONE));
    m.handle_peer_message(t, &state(0, 2, RfState::Active, sso::Digest::NONE));
    m.handle_peer_message(t, &state(1, 2, RfState::Active, sso::Digest::NONE));
    m.handle_peer_message(t, &state(0, 2, RfState::Active, sso::Digest::NONE));
    let c = m.counters();
    assert_eq!((c.state_rx, c.out_of_order), (3, 1));
}

#[test]
fn standby_walks_the_progression_and_notifies_its_client() {
    let mut t = Instant::from_millis(1);
    let mine = HaConfigSummary::default().digest();
    let mut m = Manager::new(SsoConfig::new("HAin", "v1", 1), HaConfigSummary::default(), t);
    m.register_client(t, ClientId(1), "FW HA");
    m.handle_hsrp_role(t, HsrpRole::Standby);
    m.handle_link(t, true, false);
    let _ = drain(&mut m);
    m.handle_peer_message(t, &state(1, 2, RfState::Active, mine));
    assert_eq!(
        m.my_state(),
        RfState::StandbyCold,
        "waiting for the peer's summary"
    );
    let actions = drain(&mut m);
    assert!(actions.contains(&Action::Client(ClientId(1), ClientNotice::BecomeStandby)));
    assert!(actions.contains(&Action::HoldPreempt {
        held: true,
        reason: "SSO state STANDBY COLD: the HA state is not synchronized with the ACTIVE peer yet".into()
    }));
    // We asked for its configuration? No: it already holds ours; we still need its summary.
    let config = Message {
        seq: 2,
        boot_id: 2,
        body: Body::Config(HaConfigSummary::default()),
    }
    .encode();
    m.handle_peer_message(t, &config);
    assert_eq!(m.my_state(), RfState::StandbyColdBulk);
    assert!(drain(&mut m).contains(&Action::Client(ClientId(1), ClientNotice::StartBulkSync)));
    t += Duration::from_millis(200);
    m.handle_client(
        t,
        ClientId(1),
        sso::ClientReport::BulkDone {
            sessions: 3,
            ok: true,
        },
    );
    assert_eq!(m.my_state(), RfState::StandbyHot);
    let actions = drain(&mut m);
    assert!(actions.contains(&Action::HoldPreempt {
        held: false,
        reason: String::new()
    }));
    assert!(
        actions
            .iter()
            .any(|a| matches!(a, Action::Log(l) if l.starts_with("%RF-5-STANDBY_HOT")))
    );
    // Silence: lost after 3 intervals, back to INITIALIZATION, client told, data kept (no Flush).
    let mut saw = Vec::new();
    let end = t + Duration::from_secs(4);
    while let Some(d) = m.poll_timeout().filter(|d| *d <= end) {
        t = d;
        m.handle_timeout(t);
        saw.extend(drain(&mut m));
    }
    assert_eq!(m.my_state(), RfState::Initialization);
    assert!(saw.contains(&Action::Client(ClientId(1), ClientNotice::PeerDown)));
    assert!(!saw.contains(&Action::Client(ClientId(1), ClientNotice::Flush)));
    let sends = saw.iter().filter(|a| matches!(a, Action::SendPeer(_))).count();
    assert!(sends >= 3, "hellos keep going while the link is up");
}

#[test]
fn active_relinquish_logs_rf_reload_and_flushes() {
    let t = Instant::from_millis(1);
    let mut m = Manager::new(SsoConfig::new("HAin", "v1", 1), HaConfigSummary::default(), t);
    m.register_client(t, ClientId(1), "FW HA");
    m.handle_hsrp_role(t, HsrpRole::Active);
    assert_eq!(m.my_state(), RfState::Active);
    let _ = drain(&mut m);
    m.handle_hsrp_role(t, HsrpRole::Standby);
    let actions = drain(&mut m);
    let flush = actions
        .iter()
        .position(|a| *a == Action::Client(ClientId(1), ClientNotice::Flush))
        .unwrap();
    let change = actions
        .iter()
        .position(|a| matches!(a, Action::StateChanged { .. }))
        .unwrap();
    assert!(flush < change, "clients flush before the state restarts");
    let line = actions
        .iter()
        .find_map(|a| match a {
            Action::Log(l) if l.contains("RF_RELOAD") => Some(l.clone()),
            _ => None,
        })
        .unwrap();
    assert_eq!(
        line,
        "%RF-5-RF_RELOAD: Self reload. Reason: Active relinquished (HSRP state Standby)"
    );
    assert_eq!(log_severity(&line), Some(5));
    assert_eq!(m.my_state(), RfState::Initialization);
}

#[test]
fn disabled_manager_ignores_roles_and_refuses_requests() {
    let t = Instant::from_millis(1);
    let mut m = Manager::new(SsoConfig::new("HAin", "v1", 1), HaConfigSummary::default(), t);
    m.set_enabled(t, false);
    m.handle_hsrp_role(t, HsrpRole::Active);
    assert_eq!(m.my_state(), RfState::Disabled);
    assert_eq!(m.force_switchover(t), Err(sso::RefusalReason::Disabled));
    assert_eq!(m.request_resync(t), Err(sso::RefusalReason::Disabled));
    m.set_enabled(t, true);
    assert_eq!(m.my_state(), RfState::Active, "re-enabled under HSRP Active");
}

fn state_with_role(seq: u32, boot: u64, rf: RfState, role: HsrpRole) -> Vec<u8> {
    Message {
        seq,
        boot_id: boot,
        body: Body::State(StateMsg {
            rf_state: rf,
            hsrp_state: role.code(),
            flags: 0,
            config_digest: HaConfigSummary::default().digest(),
            peer_digest_seen: HaConfigSummary::default().digest(),
            software_version: "v1".into(),
        }),
    }
    .encode()
}

fn last_hold(actions: &[Action]) -> Option<(bool, String)> {
    actions.iter().rev().find_map(|a| match a {
        Action::HoldPreempt { held, reason } => Some((*held, reason.clone())),
        _ => None,
    })
}

#[test]
fn a_restarted_unit_is_held_while_the_peer_holds_the_ha_state() {
    use sso::OtherHsrpState::{Listen, Speak};
    // A fresh unit (just restarted: no data) next to a peer that is STANDBY HOT, ACTIVE, or whose scheme
    // group is HSRP Standby/Active (a STANDBY HOT unit whose ACTIVE restarted drops to NEGOTIATION).
    for (rf, role, held) in [
        (RfState::Negotiation, HsrpRole::Standby, true),
        (RfState::StandbyHot, HsrpRole::Other(Listen), true),
        (RfState::Negotiation, HsrpRole::Other(Speak), false),
        (RfState::Initialization, HsrpRole::Other(Listen), false),
    ] {
        let t = Instant::from_millis(1);
        let mut m = Manager::new(SsoConfig::new("HAin", "v1", 1), HaConfigSummary::default(), t);
        m.register_client(t, ClientId(1), "FW HA");
        m.handle_link(t, true, false);
        let start = last_hold(&drain(&mut m));
        assert_eq!(
            start.map(|h| h.0),
            Some(true),
            "startup hold before the peer is heard"
        );
        m.handle_peer_message(t, &state_with_role(1, 2, rf, role));
        assert_eq!(m.my_state(), RfState::Negotiation);
        let got = m.preempt_hold().map(str::to_owned);
        assert_eq!(got.is_some(), held, "peer {rf} {role:?}: {got:?}");
        if held {
            assert!(got.unwrap().contains("holds HA state this unit lacks"));
            // When the peer becomes ACTIVE the usual hold (not STANDBY HOT yet) follows.
            m.handle_peer_message(t, &state_with_role(2, 2, RfState::Active, HsrpRole::Active));
            assert!(
                m.preempt_hold()
                    .unwrap()
                    .contains("not synchronized with the ACTIVE peer")
            );
        } else {
            assert_eq!(last_hold(&drain(&mut m)), Some((false, String::new())));
        }
    }
}

#[test]
fn a_standby_hot_unit_whose_active_restarted_is_not_held() {
    let mut t = Instant::from_millis(1);
    let mut m = Manager::new(SsoConfig::new("HAin", "v1", 1), HaConfigSummary::default(), t);
    m.handle_hsrp_role(t, HsrpRole::Standby);
    m.handle_link(t, true, false);
    m.handle_peer_message(t, &state_with_role(1, 2, RfState::Active, HsrpRole::Active));
    let config = Message {
        seq: 2,
        boot_id: 2,
        body: Body::Config(HaConfigSummary::default()),
    }
    .encode();
    m.handle_peer_message(t, &config);
    assert_eq!(m.my_state(), RfState::StandbyHot, "no clients: hot at once");
    assert_eq!(m.preempt_hold(), None);
    // The ACTIVE restarts: a new boot id, still in INITIALIZATION, and its groups come back in Listen;
    // later its restarted group might even be Standby. We keep our copies: never held.
    t += Duration::from_millis(10);
    m.handle_link(t, true, true);
    m.handle_peer_message(
        t,
        &state_with_role(1, 3, RfState::Initialization, HsrpRole::Standby),
    );
    assert_eq!(m.my_state(), RfState::Negotiation);
    assert_eq!(m.preempt_hold(), None);
}
