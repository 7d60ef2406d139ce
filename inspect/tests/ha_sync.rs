//! The sync client in a simulated pair (virtual time, in-memory link with latency, bandwidth, a bounded
//! send queue and loss), with in-memory session stores on both sides.
#![allow(clippy::unwrap_used)]

mod ha_common;

use ha_common::{Pair, SimLink};
use inspect::ha::workload::{Shape, Workload};
use inspect::ha::{
    MemoryStore, ResyncReason, SessionStore, SessionUpdate, SyncConfig, SyncNotice, SyncRole,
    render_statistics,
};
use inspect::record::{HaSessionId, SessionRecord};
use timebase::{Duration, Instant};

/// The Active's "engine": a table plus the events it reports to the sync client.
struct Sim {
    pair: Pair<MemoryStore, MemoryStore>,
    w: Workload,
    next_id: u32,
}

impl Sim {
    fn new(config: SyncConfig, a2s: SimLink) -> Self {
        let s2a = SimLink::new(Duration::from_micros(200), 0, 1024);
        Self {
            pair: Pair::new(config, MemoryStore::new(), MemoryStore::new(), a2s, s2a),
            w: Workload::new(7),
            next_id: 1,
        }
    }

    fn fast() -> Self {
        Self::new(
            SyncConfig::default(),
            SimLink::new(Duration::from_micros(200), 0, 1024),
        )
    }

    fn create(&mut self, shape: Shape) -> HaSessionId {
        let id = self.next_id;
        self.next_id += 1;
        let rec = self.w.record(id, shape);
        let now = self.pair.now;
        self.pair.active.handle_add(now, &rec);
        self.pair.a_store.insert(rec);
        HaSessionId(id)
    }

    /// Creates sessions without telling the sync client (they existed before the standby came up).
    fn preload(&mut self, n: usize) {
        for _ in 0..n {
            let rec = self.w.record(self.next_id, Shape::EstablishedTcp);
            self.next_id += 1;
            self.pair.a_store.insert(rec);
        }
    }

    fn update(&mut self, id: HaSessionId) {
        let now = self.pair.now;
        let Some(mut rec) = self.pair.a_store.get(id).cloned() else {
            return;
        };
        self.w.advance(&mut rec);
        self.pair.active.handle_update(now, &rec);
        self.pair.a_store.insert(rec);
    }

    fn delete(&mut self, id: HaSessionId) {
        let now = self.pair.now;
        if self.pair.a_store.take(id).is_some() {
            self.pair.active.handle_delete(now, id);
        }
    }

    fn random_live(&mut self) -> Option<HaSessionId> {
        let n = self.pair.a_store.len();
        if n == 0 {
            return None;
        }
        let k = self.w.rng().below(n as u64) as usize;
        self.pair.a_store.iter().nth(k).map(|r| r.id)
    }

    fn run_ms(&mut self, ms: u64) {
        self.pair.run_for(Duration::from_millis(ms));
    }

    /// The standby holds exactly the Active's sessions, with the fields adds and updates carry.
    fn assert_converged(&self) {
        let (a, s) = (&self.pair.a_store, &self.pair.s_store);
        assert_eq!(a.len(), s.len(), "session counts differ");
        assert_eq!(a.ha_table_digest(self.pair.now), s.ha_table_digest(self.pair.now));
        for rec in a.iter() {
            let got = s
                .get(rec.id)
                .unwrap_or_else(|| panic!("standby lacks {:?}", rec.id));
            assert_eq!(got.key, rec.key);
            assert_eq!(got.interface, rec.interface);
            assert_eq!(got.direction, rec.direction);
            assert_eq!(
                SessionUpdate::from_record(got),
                SessionUpdate::from_record(rec),
                "stale {:?}",
                rec.id
            );
        }
    }
}

#[test]
fn dynamic_adds_updates_and_deletes_reach_the_standby() {
    let mut sim = Sim::fast();
    for round in 0..50 {
        for _ in 0..20 {
            sim.create(if round % 3 == 0 { Shape::Udp } else { Shape::NewTcp });
        }
        for _ in 0..5 {
            if let Some(id) = sim.random_live() {
                sim.update(id);
            }
        }
        for _ in 0..4 {
            if let Some(id) = sim.random_live() {
                sim.delete(id);
            }
        }
        sim.run_ms(1);
    }
    sim.run_ms(10);
    sim.assert_converged();
    let c = sim.pair.active.counters().clone();
    assert_eq!(c.adds_sent, 1000);
    assert_eq!(c.deletes_sent, 200);
    assert_eq!(sim.pair.standby.counters().adds_received, 1000);
    assert_eq!(sim.pair.standby.counters().deletes_received, 200);
    assert_eq!(sim.pair.standby.counters().gaps, 0);
    // Batching: far fewer messages than records.
    assert!(c.batches_sent < 200, "{} batches", c.batches_sent);
}

#[test]
fn batching_delay_bounds_the_latency_of_a_lone_add() {
    let config = SyncConfig {
        batch_delay: Duration::from_millis(2),
        ..SyncConfig::default()
    };
    let mut sim = Sim::new(config, SimLink::new(Duration::from_micros(100), 0, 64));
    sim.create(Shape::NewTcp);
    sim.run_ms(1);
    assert_eq!(sim.pair.s_store.len(), 0, "sent before the batching delay");
    sim.run_ms(2);
    assert_eq!(sim.pair.s_store.len(), 1);
}

#[test]
fn periodic_updates_keep_standby_positions_current() {
    let mut sim = Sim::fast();
    let ids: Vec<_> = (0..300).map(|_| sim.create(Shape::EstablishedTcp)).collect();
    sim.run_ms(5);
    // Three update periods of 10 s, each session due 10 s after its last update.
    for _period in 0..3 {
        for chunk in ids.chunks(30) {
            for &id in chunk {
                sim.update(id);
            }
            sim.run_ms(1000);
        }
    }
    sim.run_ms(5);
    sim.assert_converged();
    assert_eq!(sim.pair.active.counters().updates_sent, 900);
    assert_eq!(sim.pair.standby.counters().updates_received, 900);
    assert_eq!(sim.pair.standby.counters().unknown_updates, 0);
}

#[test]
fn bulk_sync_with_concurrent_churn_ends_with_matching_digest() {
    bulk_with_churn(false);
}

#[test]
fn bulk_sync_from_a_record_snapshot_with_concurrent_churn_matches() {
    bulk_with_churn(true);
}

fn bulk_with_churn(snapshot: bool) {
    // 20 MB/s link: 20,000 sessions take several hundred ms, so churn overlaps the bulk.
    let config = SyncConfig {
        bulk_chunk: 256,
        ..SyncConfig::default()
    };
    let mut sim = Sim::new(config, SimLink::new(Duration::from_micros(300), 20_000, 8));
    if snapshot {
        sim.pair.a_store = MemoryStore::with_snapshot_bulk();
    }
    sim.preload(20_000);
    let now = sim.pair.now;
    sim.pair.standby.request_bulk(now);
    // Churn starts once the Active serves the bulk (before that, deletes of never-synced sessions are
    // legitimately unknown to the standby).
    sim.run_ms(1);
    assert!(sim.pair.active.bulk_in_progress());
    let mut rounds = 0;
    while sim.pair.reports.is_empty() {
        rounds += 1;
        assert!(rounds < 10_000, "bulk never ended");
        for _ in 0..10 {
            sim.create(Shape::NewTcp);
        }
        for _ in 0..10 {
            if let Some(id) = sim.random_live() {
                sim.delete(id);
            }
        }
        for _ in 0..10 {
            if let Some(id) = sim.random_live() {
                sim.update(id);
            }
        }
        sim.run_ms(1);
    }
    assert!(
        rounds > 20,
        "the bulk finished too fast to overlap churn ({rounds} ms)"
    );
    let report = sim.pair.reports[0];
    assert!(report.ok, "{report:?}");
    assert!(sim.pair.standby.in_sync());
    sim.run_ms(10);
    sim.assert_converged();
    let a = sim.pair.active.counters();
    assert!(a.bulk_superseded > 0, "churn never touched a pending session");
    let s = sim.pair.standby.counters();
    assert_eq!(s.bulk_syncs, 1);
    assert_eq!(s.unknown_deletes, 0, "a delete overtook its bulk add");
    assert_eq!(s.gaps, 0);
    let stats = sim.pair.standby.statistics(sim.pair.now, &sim.pair.s_store);
    assert_eq!(stats.last_bulk_sessions, report.sessions);
    assert!(stats.last_bulk_ms > 20);
}

#[test]
fn updates_coalesce_while_the_transport_is_blocked() {
    // One message in flight at 1 MB/s: the send queue refuses batches while updates keep coming.
    let config = SyncConfig {
        batch_records: 32,
        max_batch_bytes: 1024,
        ..SyncConfig::default()
    };
    let mut sim = Sim::new(config, SimLink::new(Duration::from_millis(1), 1000, 1));
    let ids: Vec<_> = (0..200).map(|_| sim.create(Shape::EstablishedTcp)).collect();
    sim.run_ms(50);
    sim.pair.a2s.bytes_per_ms = 100;
    for _ in 0..30 {
        for &id in &ids {
            sim.update(id);
        }
        sim.run_ms(1);
    }
    let c = sim.pair.active.counters().clone();
    assert!(c.send_blocked > 0, "the link never refused a batch");
    assert!(c.coalesced > 1000, "only {} updates coalesced", c.coalesced);
    assert_eq!(c.adds_dropped + c.deletes_dropped + c.updates_dropped, 0);
    sim.pair.a2s.bytes_per_ms = 0;
    sim.run_ms(2000);
    sim.assert_converged();
    assert_eq!(sim.pair.standby.counters().gaps, 0);
    let c = sim.pair.active.counters();
    assert_eq!(c.updates_sent + c.coalesced, 6000);
    assert_eq!(sim.pair.standby.counters().updates_received, c.updates_sent);
}

#[test]
fn queue_overflow_signals_a_gap_and_the_standby_resyncs() {
    let config = SyncConfig {
        max_queue_records: 100,
        batch_records: 16,
        ..SyncConfig::default()
    };
    let mut sim = Sim::new(config, SimLink::new(Duration::from_millis(1), 0, 1));
    sim.create(Shape::NewTcp);
    sim.run_ms(5);
    // The link stalls: its single slot is taken by a message that will take long to deliver.
    sim.pair.a2s.latency = Duration::from_millis(200);
    for _ in 0..500 {
        sim.create(Shape::NewTcp);
    }
    sim.run_ms(1);
    let c = sim.pair.active.counters().clone();
    assert!(c.adds_dropped > 0);
    assert!(c.gaps > 0);
    sim.pair.a2s.latency = Duration::from_millis(1);
    sim.run_ms(3000);
    let s = sim.pair.standby.counters();
    assert!(s.gaps >= 1, "standby missed the gap");
    assert!(s.resyncs >= 1);
    assert!(sim.pair.reports.last().is_some_and(|r| r.ok));
    sim.assert_converged();
}

#[test]
fn a_lost_message_is_detected_and_resynced() {
    let mut link = SimLink::new(Duration::from_micros(300), 0, 64);
    link.lose = vec![3];
    let mut sim = Sim::new(SyncConfig::default(), link);
    for _ in 0..10 {
        for _ in 0..10 {
            sim.create(Shape::NewTcp);
        }
        sim.run_ms(2);
    }
    sim.run_ms(100);
    assert!(
        sim.pair
            .notices
            .iter()
            .any(|n| matches!(n, SyncNotice::GapDetected { .. }))
    );
    assert!(
        sim.pair
            .notices
            .iter()
            .any(|n| matches!(n, SyncNotice::BulkRequested(ResyncReason::Gap)))
    );
    assert_eq!(sim.pair.standby.counters().resyncs, 1);
    assert!(sim.pair.reports.last().is_some_and(|r| r.ok));
    sim.assert_converged();
}

#[test]
fn garbage_counts_as_a_decode_error_and_resyncs() {
    let mut sim = Sim::fast();
    for _ in 0..50 {
        sim.create(Shape::Udp);
    }
    sim.run_ms(5);
    let now = sim.pair.now;
    sim.pair
        .standby
        .handle_message(now, &[9, 0, 0, 0, 0, 0], &mut sim.pair.s_store);
    sim.pair
        .standby
        .handle_message(now, &[1, 0, 0, 0, 0, 1, 0xa1], &mut sim.pair.s_store);
    sim.pair
        .standby
        .handle_message(now, &[1, 0, 0, 0, 0, 2, 7], &mut sim.pair.s_store);
    let c = sim.pair.standby.counters();
    assert_eq!(c.decode_errors, 3);
    assert_eq!(c.unsupported_version, 1);
    assert_eq!(c.truncated, 1);
    assert_eq!(c.unknown_record_type, 1);
    sim.run_ms(100);
    assert!(sim.pair.reports.last().is_some_and(|r| r.ok));
    sim.assert_converged();
}

#[test]
fn a_digest_mismatch_is_reported_and_retried() {
    let mut sim = Sim::new(
        SyncConfig {
            bulk_chunk: 64,
            ..SyncConfig::default()
        },
        SimLink::new(Duration::from_millis(1), 2000, 4),
    );
    sim.preload(2000);
    let now = sim.pair.now;
    sim.pair.standby.request_bulk(now);
    sim.run_ms(20);
    // A session appears on the standby that the Active never sent (a local bug or a stray write).
    let bogus = Workload::new(99).record(4_000_000, Shape::Udp);
    sim.pair.s_store.insert(bogus);
    sim.run_ms(5000);
    assert!(sim.pair.reports.len() >= 2);
    assert!(!sim.pair.reports[0].ok);
    assert_eq!(
        sim.pair.reports[0].local_sessions,
        sim.pair.reports[0].sessions + 1
    );
    assert!(sim.pair.reports.last().unwrap().ok);
    assert_eq!(sim.pair.standby.counters().bulk_failures, 1);
    sim.assert_converged();
}

#[test]
fn deletes_of_unknown_sessions_are_counted() {
    let mut sim = Sim::fast();
    let id = sim.create(Shape::Udp);
    sim.run_ms(5);
    sim.pair.s_store.take(id);
    sim.delete(id);
    sim.run_ms(5);
    assert_eq!(sim.pair.standby.counters().unknown_deletes, 1);
}

#[test]
fn an_unanswered_request_is_repeated_after_the_bulk_timeout() {
    let mut sim = Sim::fast();
    sim.preload(10);
    sim.pair.s2a.lose = vec![0];
    let now = sim.pair.now;
    sim.pair.standby.request_bulk(now);
    sim.run_ms(9_000);
    assert!(sim.pair.reports.is_empty());
    sim.run_ms(2_000);
    assert!(sim.pair.reports.last().is_some_and(|r| r.ok));
    assert!(
        sim.pair
            .notices
            .iter()
            .any(|n| matches!(n, SyncNotice::BulkRequested(ResyncReason::Timeout)))
    );
}

#[test]
fn association_loss_and_return_triggers_a_bulk_resync() {
    let mut sim = Sim::fast();
    for _ in 0..100 {
        sim.create(Shape::NewTcp);
    }
    sim.run_ms(5);
    let now = sim.pair.now;
    sim.pair.active.handle_link_down(now);
    sim.pair.standby.handle_link_down(now);
    // Sessions change while the association is down.
    for _ in 0..30 {
        let id = sim.random_live().unwrap();
        sim.delete(id);
    }
    for _ in 0..40 {
        sim.create(Shape::Udp);
    }
    sim.run_ms(50);
    assert_eq!(
        sim.pair.s_store.len(),
        100,
        "standby keeps its sessions while the peer is away"
    );
    let now = sim.pair.now;
    sim.pair.active.handle_link_up(now);
    sim.pair.standby.handle_link_up(now);
    sim.run_ms(100);
    assert!(sim.pair.reports.last().is_some_and(|r| r.ok));
    sim.assert_converged();
}

#[test]
fn roles_swap_after_a_failover_and_the_old_active_resyncs() {
    let mut sim = Sim::fast();
    for _ in 0..200 {
        sim.create(Shape::EstablishedTcp);
    }
    sim.run_ms(5);
    sim.assert_converged();
    // Failover: the standby becomes Active; the old Active comes back as standby with an empty table.
    let now = sim.pair.now;
    std::mem::swap(&mut sim.pair.active, &mut sim.pair.standby);
    std::mem::swap(&mut sim.pair.a_store, &mut sim.pair.s_store);
    sim.pair.active.set_role(now, SyncRole::Active);
    sim.pair.s_store.flush_ha_sessions();
    sim.pair.standby.set_role(now, SyncRole::Standby);
    sim.run_ms(50);
    assert!(sim.pair.reports.last().is_some_and(|r| r.ok && r.sessions == 200));
    // The new Active's own new sessions flow to the new standby.
    sim.next_id = 10_000;
    for _ in 0..10 {
        sim.create(Shape::NewTcp);
    }
    sim.run_ms(5);
    sim.assert_converged();
}

#[test]
fn statistics_json_fields_rendering_and_clearing() {
    let mut sim = Sim::fast();
    for _ in 0..10 {
        sim.create(Shape::NewTcp);
    }
    sim.run_ms(5);
    let now = sim.pair.now;
    let stats = sim.pair.active.statistics(now, &sim.pair.a_store);
    let json = serde_json::to_value(&stats).unwrap();
    for field in [
        "role",
        "sessions",
        "adds_sent",
        "adds_received",
        "updates_sent",
        "updates_received",
        "deletes_sent",
        "deletes_received",
        "bulk_syncs",
        "last_bulk_sessions",
        "last_bulk_ms",
        "last_sync_age_ms",
        "queue_depth",
        "coalesced",
        "decode_errors",
        "resyncs",
        "gaps",
        "unknown_deletes",
    ] {
        assert!(json.get(field).is_some(), "missing {field}");
    }
    assert_eq!(json["role"], "active");
    assert_eq!(json["adds_sent"], 10);
    assert_eq!(json["sessions"], 10);
    let text = render_statistics(&stats);
    assert!(
        text.starts_with("IP Inspect HA statistics, role Active\n"),
        "{text}"
    );
    assert!(
        text.contains("  Session adds                  10             0\n"),
        "{text}"
    );
    let s = sim.pair.standby.statistics(now, &sim.pair.s_store);
    assert_eq!(serde_json::to_value(&s).unwrap()["adds_received"], 10);
    sim.pair.active.clear_statistics();
    assert_eq!(sim.pair.active.counters().adds_sent, 0);
    assert!(
        render_statistics(&sim.pair.active.statistics(now, &sim.pair.a_store)).contains("HA sessions: 10")
    );
}

#[test]
fn an_update_before_its_bulk_add_is_harmless() {
    // Direct check of the ordering rule on the Active side: events for sessions whose bulk add is still
    // to come are superseded by that add, which carries their latest state.
    let mut sim = Sim::new(
        SyncConfig {
            bulk_chunk: 8,
            ..SyncConfig::default()
        },
        SimLink::new(Duration::from_millis(1), 0, 1),
    );
    sim.preload(100);
    let now = sim.pair.now;
    sim.pair.standby.request_bulk(now);
    sim.run_ms(3);
    // Touch the last sessions of the snapshot while the bulk is still at its start.
    let last: Vec<HaSessionId> = {
        let mut ids: Vec<_> = sim.pair.a_store.iter().map(|r: &SessionRecord| r.id).collect();
        ids.sort();
        ids[90..].to_vec()
    };
    for &id in &last[..5] {
        sim.update(id);
    }
    for &id in &last[5..] {
        sim.delete(id);
    }
    assert!(sim.pair.active.counters().bulk_superseded >= 10);
    sim.run_ms(500);
    assert!(sim.pair.reports.last().is_some_and(|r| r.ok && r.sessions == 95));
    sim.assert_converged();
    assert_eq!(sim.pair.standby.counters().unknown_deletes, 0);
    let _ = Instant::ZERO;
}

#[test]
fn a_resync_keeps_standby_copies_until_the_bulk_ends_then_removes_stale_ones() {
    let config = SyncConfig {
        bulk_chunk: 32,
        ..SyncConfig::default()
    };
    let mut sim = Sim::new(config, SimLink::new(Duration::from_millis(1), 200, 4));
    for _ in 0..500 {
        sim.create(Shape::EstablishedTcp);
    }
    sim.run_ms(1000);
    sim.assert_converged();
    let now = sim.pair.now;
    sim.pair.active.handle_link_down(now);
    sim.pair.standby.handle_link_down(now);
    for _ in 0..100 {
        let id = sim.random_live().unwrap();
        sim.delete(id);
    }
    for _ in 0..50 {
        sim.create(Shape::NewTcp);
    }
    let now = sim.pair.now;
    sim.pair.active.handle_link_up(now);
    sim.pair.standby.handle_link_up(now);
    // 0.2 MB/s: the bulk takes a while; a takeover during it would still find every old copy.
    let mut min_held = usize::MAX;
    let mut steps = 0;
    while sim.pair.reports.is_empty() {
        min_held = min_held.min(sim.pair.s_store.len());
        sim.run_ms(1);
        steps += 1;
        assert!(steps < 60_000, "bulk never ended");
    }
    assert!(steps > 20, "bulk too short to observe ({steps} ms)");
    assert!(
        min_held >= 500,
        "standby dropped to {min_held} sessions during the resync"
    );
    assert!(sim.pair.reports[0].ok);
    assert_eq!(sim.pair.standby.counters().stale_removed, 100);
    sim.assert_converged();
}

#[test]
fn a_lost_trailing_batch_is_noticed_through_the_keepalive() {
    let mut link = SimLink::new(Duration::from_micros(300), 0, 64);
    // Two bursts, one batch each; the second is lost and nothing else follows but keepalives.
    link.lose = vec![1];
    let mut sim = Sim::new(SyncConfig::default(), link);
    for _ in 0..300 {
        sim.create(Shape::NewTcp);
    }
    sim.run_ms(10);
    for _ in 0..50 {
        sim.create(Shape::NewTcp);
    }
    sim.run_ms(10);
    assert_eq!(sim.pair.s_store.len(), 300);
    assert_eq!(
        sim.pair.standby.counters().gaps,
        0,
        "noticed before any later batch"
    );
    sim.run_ms(1500);
    assert_eq!(sim.pair.standby.counters().gaps, 1);
    assert!(sim.pair.reports.last().is_some_and(|r| r.ok));
    sim.assert_converged();
}

mod random_ops {
    use proptest::prelude::*;

    use super::*;

    #[derive(Clone, Debug)]
    enum Op {
        Create(bool),
        Update(u16),
        Delete(u16),
        Run(u8),
        Stall(u8),
        LoseNext,
        RequestBulk,
        Flap,
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            8 => any::<bool>().prop_map(Op::Create),
            5 => any::<u16>().prop_map(Op::Update),
            4 => any::<u16>().prop_map(Op::Delete),
            4 => (1u8..20).prop_map(Op::Run),
            1 => (1u8..50).prop_map(Op::Stall),
            1 => Just(Op::LoseNext),
            1 => Just(Op::RequestBulk),
            1 => Just(Op::Flap),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        /// Whatever happens (churn, stalls that overflow the queue, lost batches, bulk requests, association
        /// flaps), once things calm down the standby holds exactly the Active's sessions and knows it.
        #[test]
        fn the_standby_converges_after_any_history(ops in prop::collection::vec(op(), 1..120), preload in 0usize..300) {
            let config = SyncConfig { max_queue_records: 64, bulk_chunk: 16, batch_records: 8, ..SyncConfig::default() };
            let mut sim = Sim::new(config, SimLink::new(Duration::from_micros(500), 50, 4));
            sim.preload(preload);
            let now = sim.pair.now;
            sim.pair.standby.request_bulk(now);
            for op in ops {
                let now = sim.pair.now;
                match op {
                    Op::Create(tcp) => { sim.create(if tcp { Shape::EstablishedTcp } else { Shape::Udp }); }
                    Op::Update(k) | Op::Delete(k) if sim.pair.a_store.is_empty() => { let _ = k; }
                    Op::Update(k) => {
                        let id = sim.pair.a_store.iter().nth(usize::from(k) % sim.pair.a_store.len()).map(|r| r.id).unwrap();
                        sim.update(id);
                    }
                    Op::Delete(k) => {
                        let id = sim.pair.a_store.iter().nth(usize::from(k) % sim.pair.a_store.len()).map(|r| r.id).unwrap();
                        sim.delete(id);
                    }
                    Op::Run(ms) => sim.run_ms(u64::from(ms)),
                    Op::Stall(ms) => {
                        sim.pair.a2s.latency = Duration::from_millis(u64::from(ms) * 10);
                        sim.run_ms(1);
                        sim.pair.a2s.latency = Duration::from_micros(500);
                    }
                    Op::LoseNext => {
                        // The next batch the link accepts is lost.
                        let next = sim.pair.a2s.accepted();
                        sim.pair.a2s.lose.push(next);
                    }
                    Op::RequestBulk => sim.pair.standby.request_bulk(now),
                    Op::Flap => {
                        sim.pair.active.handle_link_down(now);
                        sim.pair.standby.handle_link_down(now);
                        sim.run_ms(3);
                        let now = sim.pair.now;
                        sim.pair.active.handle_link_up(now);
                        sim.pair.standby.handle_link_up(now);
                    }
                }
            }
            // Calm: no more events; keepalives expose trailing losses, timeouts retry lost requests.
            sim.run_ms(60_000);
            prop_assert!(sim.pair.standby.in_sync(), "standby not in sync: {:?}", sim.pair.standby.counters());
            let (a, s) = (&sim.pair.a_store, &sim.pair.s_store);
            prop_assert_eq!(a.ha_table_digest(sim.pair.now), s.ha_table_digest(sim.pair.now));
        }
    }
}

#[test]
fn debug_lines_read_well() {
    use inspect::ha::{BulkReport, DecodeError};
    assert_eq!(
        SyncNotice::GapDetected { expected: 3, got: 5 }.to_string(),
        "sequence gap: expected batch 3, got 5"
    );
    assert_eq!(
        SyncNotice::BulkRequested(ResyncReason::Mismatch).to_string(),
        "bulk sync requested (count/digest mismatch)"
    );
    assert_eq!(
        SyncNotice::Decode(DecodeError::UnsupportedVersion(9)).to_string(),
        "undecodable sync message: unsupported sync version 9"
    );
    let r = BulkReport {
        epoch: 2,
        sessions: 10,
        local_sessions: 10,
        duration: Duration::from_millis(1500),
        ok: true,
    };
    assert_eq!(
        r.to_string(),
        "bulk sync 2 complete: 10 sessions announced, 10 held, 1.500 sec"
    );
}

#[test]
fn a_second_request_during_a_bulk_is_coalesced_unless_forced() {
    let config = SyncConfig {
        bulk_chunk: 256,
        ..SyncConfig::default()
    };
    let mut sim = Sim::new(config, SimLink::new(Duration::from_micros(300), 20_000, 8));
    sim.preload(5_000);
    let now = sim.pair.now;
    sim.pair.standby.request_bulk(now);
    sim.run_ms(1);
    let before = sim.pair.standby.counters().clone();
    // The redundancy manager's StartBulkSync arrives while the bulk is under way: not repeated.
    let now = sim.pair.now;
    sim.pair.standby.request_bulk(now);
    let c = sim.pair.standby.counters().clone();
    assert_eq!(c.bulk_requests, before.bulk_requests);
    assert_eq!(c.bulk_requests_coalesced, before.bulk_requests_coalesced + 1);
    assert_eq!(c.bulk_aborted, before.bulk_aborted);
    sim.run_ms(2);
    assert!(sim.pair.notices.contains(&SyncNotice::BulkRequestCoalesced));
    assert_eq!(
        SyncNotice::BulkRequestCoalesced.to_string(),
        "bulk sync already in progress: request not repeated"
    );
    // `clear ip inspect ha sessions-all`: forced, the bulk under way is abandoned for a fresh one.
    let now = sim.pair.now;
    sim.pair.standby.force_bulk(now);
    let c = sim.pair.standby.counters().clone();
    assert_eq!(c.bulk_requests, before.bulk_requests + 1);
    assert_eq!(c.bulk_aborted, before.bulk_aborted + 1);
    let mut waited = 0;
    while sim.pair.reports.is_empty() {
        waited += 1;
        assert!(waited < 10_000, "bulk never ended");
        sim.run_ms(1);
    }
    sim.run_ms(50);
    assert!(sim.pair.reports.iter().all(|r| r.ok), "{:?}", sim.pair.reports);
    sim.assert_converged();
    // Once it is over, a new request starts a new bulk again.
    let n = sim.pair.standby.counters().bulk_requests;
    let now = sim.pair.now;
    sim.pair.standby.request_bulk(now);
    assert_eq!(sim.pair.standby.counters().bulk_requests, n + 1);
}
