//! HA hooks of the engine across two engines in virtual time: dynamic add/update/delete applied to a
//! standby, bulk export and digest equality, standby expiry, promotion with stale TCP numbers.

use std::net::SocketAddr;

use inspect::build;
use inspect::record::L4Proto;
use inspect::wire::TcpFlags;
use inspect::{DropReason, Engine, EngineConfig, EngineEvent, HaRole, HaState, Verdict};
use timebase::Instant;

const IN: Option<u16> = Some(0);
const OUT: Option<u16> = Some(1);

fn sa(s: &str) -> SocketAddr {
    s.parse().expect("address")
}

fn t(ms: u64) -> Instant {
    Instant::from_millis(ms)
}

fn config() -> EngineConfig {
    EngineConfig {
        ha_update_interval_s: 10,
        ..build::seed_firewall_config()
    }
}

/// Feeds the Active's HA events to the standby; returns how many were applied.
fn sync(active: &mut Engine, standby: &mut Engine, now: Instant) -> usize {
    let mut n = 0;
    while let Some(ev) = active.poll_event() {
        match ev {
            EngineEvent::HaAdd(r) | EngineEvent::HaUpdate(r) => {
                assert!(standby.apply_standby(now, &r));
                n += 1;
            }
            EngineEvent::HaDelete(id) => {
                assert!(standby.remove_standby(id));
                n += 1;
            }
            _ => {}
        }
    }
    n
}

fn open_tcp(e: &mut Engine, now: Instant, cport: u16) -> (SocketAddr, SocketAddr) {
    let c = sa(&format!("10.0.0.10:{cport}"));
    let s = sa("211.0.0.10:23");
    assert_eq!(e.process(now, &build::syn(c, s, 1000), IN, OUT), Verdict::Accept);
    assert_eq!(
        e.process(
            now,
            &build::tcp(s, c, TcpFlags::SYN | TcpFlags::ACK, 5000, 1001, 0),
            OUT,
            IN
        ),
        Verdict::Accept
    );
    assert_eq!(
        e.process(now, &build::tcp(c, s, TcpFlags::ACK, 1001, 5001, 0), IN, OUT),
        Verdict::Accept
    );
    (c, s)
}

#[test]
fn dynamic_sync_keeps_the_standby_in_step_and_digests_match() {
    let mut active = Engine::new(config(), 1);
    let mut standby = Engine::new(config(), 2);
    standby.set_ha_role(t(0), HaRole::Standby);
    for p in 0..20 {
        open_tcp(&mut active, t(100), 30_000 + p);
        active.process(
            t(100),
            &build::udp(sa(&format!("10.0.0.10:{}", 40_000 + p)), sa("211.0.0.10:53"), 10),
            IN,
            OUT,
        );
    }
    sync(&mut active, &mut standby, t(100));
    assert_eq!(active.ha_digest(), standby.ha_digest());
    assert_eq!(active.ha_digest().0, 40);
    // A non-HA interface's sessions are not HA sessions.
    let mut cfg = config();
    cfg.interfaces[1]
        .inspect_out
        .as_mut()
        .expect("binding")
        .redundancy_group = None;
    let mut plain = Engine::new(cfg, 3);
    open_tcp(&mut plain, t(0), 1);
    assert!(std::iter::from_fn(|| plain.poll_event()).all(|e| !matches!(e, EngineEvent::HaAdd(_))));
    assert_eq!(plain.ha_digest().0, 0);

    // Standby sessions are listed as STANDBY and hold the synced state.
    let ss = standby.sessions(t(100));
    assert_eq!(ss.len(), 40);
    assert!(ss.iter().all(|s| s.ha_state == HaState::Standby));
    let open = ss.iter().filter(|s| s.state == "SIS_OPEN").count();
    assert_eq!(
        open, 40,
        "the add carries the state at creation, the handshake state arrives with updates"
    );

    // Periodic updates arrive for 60 s while some UDP flows go idle and expire on the Active.
    let mut now = 100;
    while now < 60_000 {
        now += 100;
        if now % 5_000 == 0 {
            for p in 0..20 {
                let c = sa(&format!("10.0.0.10:{}", 30_000 + p));
                active.process(
                    t(now),
                    &build::tcp(c, sa("211.0.0.10:23"), TcpFlags::ACK, 1001, 5001, 0),
                    IN,
                    OUT,
                );
            }
        }
        active.handle_timeout(t(now));
        standby.handle_timeout(t(now));
        sync(&mut active, &mut standby, t(now));
    }
    // UDP idle 30 s: expired on the Active, deleted on the standby.
    assert_eq!(active.session_count(), 20);
    assert_eq!(standby.session_count(), 20);
    assert_eq!(active.ha_digest(), standby.ha_digest());
    let st = active.stats();
    assert_eq!(st.ha_adds, 40);
    assert_eq!(st.ha_deletes, 20);
    assert!(st.ha_updates >= 20 * 5, "updates {}", st.ha_updates);
}

#[test]
fn standby_copies_are_not_used_for_forwarding_until_promotion() {
    let mut active = Engine::new(config(), 1);
    let mut standby = Engine::new(config(), 2);
    standby.set_ha_role(t(0), HaRole::Standby);
    let (c, s) = open_tcp(&mut active, t(0), 34386);
    // Data moves the real connection far ahead of what the standby holds.
    let mut ci = 1001u32;
    let mut si = 5001u32;
    for _ in 0..40 {
        active.process(t(10), &build::tcp(c, s, TcpFlags::ACK, ci, si, 1400), IN, OUT);
        ci += 1400;
        active.process(t(10), &build::tcp(s, c, TcpFlags::ACK, si, ci, 60_000), OUT, IN);
        si += 60_000;
    }
    // The standby received only the add (its numbers are stale by 2.4 MB of responder data).
    let add = std::iter::from_fn(|| active.poll_event())
        .find_map(|e| match e {
            EngineEvent::HaAdd(r) => Some(r),
            _ => None,
        })
        .expect("add");
    assert!(standby.apply_standby(t(10), &add));
    let ret = build::tcp(s, c, TcpFlags::ACK, si, ci, 100);
    // While Standby: the copy is not a pinhole, the ACL denies.
    assert_eq!(
        standby.process(t(20), &ret, OUT, IN),
        Verdict::Drop(DropReason::AclDenied)
    );
    assert_eq!(standby.session_count(), 1);
    // Failover.
    standby.set_ha_role(t(30), HaRole::Active);
    let evs: Vec<EngineEvent> = std::iter::from_fn(|| standby.poll_event()).collect();
    assert!(evs.contains(&EngineEvent::HaPromoted { sessions: 1 }));
    assert!(evs.iter().any(|e| matches!(e, EngineEvent::Audit(a)
        if a.text == "%FW-HA-6-SESS_AUDIT_TRAIL_STDBY_TO_ACT: Firewall HA transitioning from Standby to Active HA state")));
    assert_eq!(standby.sessions(t(30))[0].ha_state, HaState::Active);
    // The first segments in each direction re-learn the windows; the flow continues.
    assert_eq!(standby.process(t(31), &ret, OUT, IN), Verdict::Accept);
    assert_eq!(
        standby.process(
            t(31),
            &build::tcp(c, s, TcpFlags::ACK, ci, si + 100, 1400),
            IN,
            OUT
        ),
        Verdict::Accept
    );
    assert_eq!(
        standby.process(
            t(32),
            &build::tcp(s, c, TcpFlags::ACK, si + 100, ci + 1400, 1000),
            OUT,
            IN
        ),
        Verdict::Accept
    );
    // ... and afterwards the window check is strict again.
    let bogus = build::tcp(s, c, TcpFlags::ACK, si.wrapping_add(900_000_000), ci + 1400, 10);
    assert_eq!(
        standby.process(t(33), &bogus, OUT, IN),
        Verdict::Drop(DropReason::OutOfWindow)
    );
    // The promoted router now syncs its own sessions: updates fall due 10 s after promotion.
    standby.handle_timeout(t(30 + 10_000));
    assert!(std::iter::from_fn(|| standby.poll_event()).any(|e| matches!(e, EngineEvent::HaUpdate(_))));
}

#[test]
fn bulk_export_rebuilds_an_identical_table() {
    let mut active = Engine::new(config(), 1);
    for p in 0..300 {
        open_tcp(&mut active, t(0), 1000 + p);
        active.process(
            t(0),
            &build::udp(
                sa(&format!("[2001:db8::10]:{}", 2000 + p)),
                sa("[2001:db8:1::10]:53"),
                10,
            ),
            IN,
            OUT,
        );
    }
    let mut standby = Engine::new(config(), 99);
    standby.set_ha_role(t(0), HaRole::Standby);
    // Some stale copies from an earlier life: flushed before the bulk sync.
    let stale: Vec<_> = active.export_ha(t(0)).take(5).collect();
    for r in &stale {
        standby.apply_standby(t(0), r);
    }
    standby.clear_ha_sessions();
    assert_eq!(standby.session_count(), 0);
    for r in active.export_ha(t(5_000)) {
        assert!(standby.apply_standby(t(5_000), &r));
    }
    assert_eq!(active.ha_digest(), standby.ha_digest());
    assert_eq!(standby.ha_digest().0, 600);
    // The digest is a sum of per-record terms the HA layer can compute from records.
    let sum = active
        .export_ha(t(5_000))
        .fold(0u64, |a, r| a.wrapping_add(Engine::record_digest(&r)));
    assert_eq!(sum, active.ha_digest().1);
    // O(1) lookup by id on both sides.
    for r in active.export_ha(t(5_000)).step_by(37) {
        assert_eq!(active.ha_record(t(5_000), r.id).as_ref(), Some(&r));
        let copy = standby.ha_record(t(5_000), r.id).expect("standby copy");
        assert_eq!(
            (copy.key, copy.state, copy.interface),
            (r.key, r.state, r.interface)
        );
    }
    assert_eq!(active.ha_record(t(5_000), inspect::HaSessionId(1_000_000)), None);
    // One missing session changes both count and digest.
    let first = active.export_ha(t(5_000)).next().expect("a session");
    assert!(standby.remove_standby(first.id));
    assert_ne!(active.ha_digest(), standby.ha_digest());
    assert!(!standby.remove_standby(first.id));
    assert_eq!(standby.stats().standby_unknown_deletes, 1);
    // Re-applying the same record is an update, not a second session.
    standby.apply_standby(t(5_000), &first);
    standby.apply_standby(t(5_000), &first);
    assert_eq!(active.ha_digest(), standby.ha_digest());
}

#[test]
fn standby_copies_expire_by_their_own_timers_unless_refreshed() {
    let mut standby = Engine::new(config(), 2);
    standby.set_ha_role(t(0), HaRole::Standby);
    let mut active = Engine::new(config(), 1);
    active.process(
        t(0),
        &build::udp(sa("10.0.0.10:5000"), sa("211.0.0.10:53"), 10),
        IN,
        OUT,
    );
    let rec = active.export_ha(t(0)).next().expect("session");
    standby.apply_standby(t(0), &rec);
    // UDP idle 30 s + 2 x 10 s update interval = 50 s without an update.
    standby.handle_timeout(t(49_000));
    assert_eq!(standby.session_count(), 1);
    standby.handle_timeout(t(50_200));
    assert_eq!(standby.session_count(), 0);
    assert_eq!(standby.stats().expired, 1);
    // An update (idle 0) keeps it alive.
    standby.apply_standby(t(60_000), &rec);
    for s in 1..=10u64 {
        let mut r = rec.clone();
        r.idle_ms = 0;
        standby.apply_standby(t(60_000 + s * 10_000), &r);
        standby.handle_timeout(t(60_000 + s * 10_000));
    }
    assert_eq!(standby.session_count(), 1);
}

#[test]
fn standby_audit_trail_lines() {
    let mut cfg = config();
    cfg.audit_trail = true;
    let mut standby = Engine::new(cfg, 2);
    standby.set_ha_role(t(0), HaRole::Standby);
    let mut active = Engine::new(config(), 1);
    open_tcp(&mut active, t(0), 22955);
    let rec = active.export_ha(t(0)).next().expect("session");
    standby.apply_standby(t(0), &rec);
    standby.remove_standby(rec.id);
    let lines: Vec<String> = std::iter::from_fn(|| standby.poll_event())
        .filter_map(|e| match e {
            EngineEvent::Audit(a) => Some(a.text),
            _ => None,
        })
        .collect();
    assert_eq!(
        lines,
        [
            "%FW-HA-6-SESS_AUDIT_TRAIL_STDBY_START: Start tcp standby session: initiator (10.0.0.10:22955) -- responder (211.0.0.10:23)",
            "%FW-HA-6-SESS_AUDIT_TRAIL_STDBY_STOP: Stop tcp standby session: initiator (10.0.0.10:22955) -- responder (211.0.0.10:23)",
        ]
    );
}

#[test]
fn bad_records_are_refused_and_counted() {
    let mut active = Engine::new(config(), 1);
    open_tcp(&mut active, t(0), 1);
    let good = active.export_ha(t(0)).next().expect("session");
    let mut standby = Engine::new(config(), 2);
    standby.set_ha_role(t(0), HaRole::Standby);
    let mut bad_state = good.clone();
    bad_state.state = 99;
    let mut bad_proto = good.clone();
    bad_proto.key.proto = L4Proto(1);
    let mut mixed = good.clone();
    mixed.key.responder = sa("[2001:db8::1]:23");
    let mut far_iface = good;
    far_iface.interface = 4000;
    assert!(!standby.apply_standby(t(0), &bad_state));
    assert!(!standby.apply_standby(t(0), &bad_proto));
    assert!(!standby.apply_standby(t(0), &mixed));
    // An interface this router doesn't know still gets the global timers.
    assert!(standby.apply_standby(t(0), &far_iface));
    assert_eq!(standby.stats().standby_rejected, 3);
    assert_eq!(standby.sessions(t(0))[0].interface, "#4000");
}

#[test]
fn shards_assign_disjoint_ids() {
    let mut ids = std::collections::BTreeSet::new();
    for shard in 0..4u32 {
        let mut cfg = config();
        cfg.shard_index = shard;
        cfg.shard_count = 4;
        let mut e = Engine::new(cfg, u64::from(shard));
        for p in 0..50 {
            open_tcp(&mut e, t(0), 1000 + p);
        }
        for r in e.export_ha(t(0)) {
            assert!(ids.insert(r.id), "duplicate id {:?}", r.id);
            assert_eq!(r.id.0 % 4, shard);
        }
    }
    assert_eq!(ids.len(), 200);
}
