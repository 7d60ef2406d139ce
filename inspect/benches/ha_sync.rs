//! HA sync benchmarks: codec throughput, the sync client's dynamic path, and an in-process bulk
//! synchronization of 1,000,000 sessions (export + encode + decode + apply + digest check).
//!
//! `cargo bench -p inspect --bench ha_sync` (figures in docs/inspect-ha.md).

use std::hint::black_box;
use std::time::{Duration as StdDuration, Instant as StdInstant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use inspect::ha::wire::{BatchEncoder, BatchHeader, Record, decode_header};
use inspect::ha::workload::{Shape, Workload};
use inspect::ha::{HaSync, MemoryStore, SessionStore, SessionUpdate, SyncAction, SyncConfig, SyncRole};
use inspect::record::HaSessionId;
use timebase::{Duration, Instant};

const BATCH_BYTES: usize = 16 * 1024;

fn records(shape: Option<Shape>, n: u32) -> Vec<Record> {
    let mut w = Workload::new(11);
    (1..=n)
        .map(|i| match shape {
            Some(s) => Record::Add(w.record(i, s)),
            None => {
                let mut r = w.record(i, Shape::EstablishedTcp);
                w.advance(&mut r);
                Record::Update(SessionUpdate::from_record(&r))
            }
        })
        .collect()
}

fn encode_all(recs: &[Record]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut enc = BatchEncoder::with_capacity(BatchHeader::new(0, false), BATCH_BYTES);
    for r in recs {
        if !enc.push_within(r, BATCH_BYTES) {
            let seq = out.len() as u32 + 1;
            out.push(
                std::mem::replace(
                    &mut enc,
                    BatchEncoder::with_capacity(BatchHeader::new(seq, false), BATCH_BYTES),
                )
                .finish(),
            );
            enc.push(r);
        }
    }
    out.push(enc.finish());
    out
}

fn codec(c: &mut Criterion) {
    let n = 10_000u32;
    let sets = [
        ("bulk_add", records(Some(Shape::EstablishedTcp), n)),
        ("dynamic_add", records(Some(Shape::NewTcp), n)),
        ("update", records(None, n)),
        (
            "delete",
            (1..=n).map(|i| Record::Delete(HaSessionId(i))).collect(),
        ),
    ];
    let mut g = c.benchmark_group("ha_codec");
    g.throughput(Throughput::Elements(u64::from(n)));
    g.measurement_time(StdDuration::from_secs(3));
    for (name, recs) in &sets {
        let batches = encode_all(recs);
        let bytes: usize = batches.iter().map(Vec::len).sum();
        println!(
            "ha_codec/{name}: {:.2} bytes per record on the wire",
            bytes as f64 / f64::from(n)
        );
        g.bench_function(format!("encode/{name}"), |b| {
            b.iter(|| black_box(encode_all(black_box(recs))))
        });
        g.bench_function(format!("decode/{name}"), |b| {
            b.iter(|| {
                let mut count = 0usize;
                for batch in &batches {
                    let (_, reader) = decode_header(batch).unwrap_or_else(|e| panic!("{e}"));
                    for r in reader {
                        black_box(r.is_ok());
                        count += 1;
                    }
                }
                count
            })
        });
    }
    g.finish();
}

/// Dynamic path: engine events into the Active client, batches out, decoded and applied by the standby.
fn dynamic(c: &mut Criterion) {
    let n = 20_000u32;
    let mut w = Workload::new(5);
    let adds: Vec<_> = (1..=n).map(|i| w.record(i, Shape::NewTcp)).collect();
    let mut g = c.benchmark_group("ha_dynamic");
    // Each iteration: n adds, n updates, n deletes.
    g.throughput(Throughput::Elements(3 * u64::from(n)));
    g.measurement_time(StdDuration::from_secs(3));
    g.bench_function("add_update_delete_end_to_end", |b| {
        b.iter(|| {
            let cfg = SyncConfig::default();
            let mut active = HaSync::new(SyncRole::Active, cfg);
            let mut standby = HaSync::new(SyncRole::Standby, cfg);
            let mut store = MemoryStore::new();
            let mut now = Instant::ZERO;
            let empty = MemoryStore::new();
            let drain = |active: &mut HaSync, standby: &mut HaSync, store: &mut MemoryStore, now| {
                // The driver's timer: the batching delay of the oldest queued record.
                active.handle_timeout(now, &empty);
                while let Some(a) = active.poll_action() {
                    if let SyncAction::Send(m) = a {
                        standby.handle_message(now, &m, store);
                    }
                }
            };
            for phase in 0..3 {
                for (k, rec) in adds.iter().enumerate() {
                    match phase {
                        0 => active.handle_add(now, rec),
                        1 => active.handle_update(now, rec),
                        _ => active.handle_delete(now, rec.id),
                    }
                    if k % 64 == 63 {
                        now += Duration::from_micros(100);
                        drain(&mut active, &mut standby, &mut store, now);
                    }
                }
                now += Duration::from_millis(2);
                drain(&mut active, &mut standby, &mut store, now);
            }
            assert_eq!(store.len(), 0);
            standby.counters().deletes_received
        })
    });
    g.finish();
}

/// Runs one bulk synchronization from `a_store` into an empty standby table; returns its duration.
fn bulk_once(a_store: &MemoryStore) -> (StdDuration, u64, u64, StdDuration) {
    let cfg = SyncConfig {
        bulk_chunk: 4096,
        max_batch_bytes: 64 * 1024,
        ..SyncConfig::default()
    };
    let mut active = HaSync::new(SyncRole::Active, cfg);
    let mut standby = HaSync::new(SyncRole::Standby, cfg);
    let mut s_store = MemoryStore::new();
    let mut now = Instant::ZERO;
    let mut bytes = 0u64;
    let mut standby_time = StdDuration::ZERO;
    let start = StdInstant::now();
    standby.request_bulk(now);
    loop {
        now += Duration::from_micros(1);
        while let Some(a) = standby.poll_action() {
            match a {
                SyncAction::Send(m) => active.handle_message(now, &m, &mut ReadOnly(a_store)),
                SyncAction::BulkComplete(r) => {
                    assert!(r.ok, "{r:?}");
                    return (start.elapsed(), r.sessions, bytes, standby_time);
                }
                SyncAction::Notice(_) => {}
            }
        }
        active.handle_timeout(now, a_store);
        while let Some(a) = active.poll_action() {
            if let SyncAction::Send(m) = a {
                bytes += m.len() as u64;
                let t = StdInstant::now();
                standby.handle_message(now, &m, &mut s_store);
                standby_time += t.elapsed();
            }
        }
    }
}

/// A store the Active may read but not modify (the Active never applies records).
struct ReadOnly<'a>(&'a MemoryStore);

impl SessionStore for ReadOnly<'_> {
    fn for_each_session(&self, now: Instant, f: &mut dyn FnMut(&inspect::record::SessionRecord)) {
        self.0.for_each_session(now, f);
    }
    fn get_session(&self, now: Instant, id: HaSessionId) -> Option<inspect::record::SessionRecord> {
        self.0.get_session(now, id)
    }
    fn apply_add(&mut self, _: Instant, _: &inspect::record::SessionRecord) {}
    fn apply_update(&mut self, _: Instant, _: &SessionUpdate) -> bool {
        false
    }
    fn remove_session(&mut self, _: HaSessionId) -> bool {
        false
    }
    fn flush_ha_sessions(&mut self) {}
    fn ha_session_count(&self) -> usize {
        self.0.ha_session_count()
    }
    fn ha_table_digest(&self, now: Instant) -> inspect::ha::TableDigest {
        self.0.ha_table_digest(now)
    }
}

fn bulk_1m(c: &mut Criterion) {
    let n = 1_000_000u32;
    let mut w = Workload::new(1);
    let mut a_store = MemoryStore::new();
    for i in 1..=n {
        a_store.insert(w.record(
            i,
            if i % 4 == 0 {
                Shape::Udp
            } else {
                Shape::EstablishedTcp
            },
        ));
    }
    let (d, sessions, bytes, standby_time) = bulk_once(&a_store);
    println!(
        "ha_bulk/1M: {sessions} sessions in {:.3} s (standby decode+apply {:.3} s, Active export+encode {:.3} s), \
         {:.1} MB on the wire ({:.2} bytes/session)",
        d.as_secs_f64(),
        standby_time.as_secs_f64(),
        (d - standby_time).as_secs_f64(),
        bytes as f64 / 1e6,
        bytes as f64 / f64::from(n)
    );
    let mut g = c.benchmark_group("ha_bulk");
    g.sample_size(10);
    g.warm_up_time(StdDuration::from_millis(100));
    g.measurement_time(StdDuration::from_secs(10));
    g.throughput(Throughput::Elements(u64::from(n)));
    g.bench_function("export_encode_decode_apply_1m", |b| {
        b.iter_custom(|iters| (0..iters).map(|_| bulk_once(&a_store).0).sum())
    });
    g.finish();
}

/// The seed's outside interface: `ip inspect ha-protocols out redundancy stateful HAin`.
fn engine_config() -> inspect::EngineConfig {
    use inspect::config::{InspectRule, InterfaceConfig, InterfaceInspect, RuleProtocol};
    use inspect::record::L4Proto;
    let rule = |proto| RuleProtocol {
        proto,
        timeout_s: None,
    };
    inspect::EngineConfig {
        rules: vec![InspectRule {
            name: "ha".into(),
            protocols: vec![rule(L4Proto::TCP), rule(L4Proto::UDP)],
        }],
        interfaces: vec![
            InterfaceConfig {
                name: "in".into(),
                ..Default::default()
            },
            InterfaceConfig {
                name: "out".into(),
                inspect_out: Some(InterfaceInspect {
                    rule: "ha".into(),
                    redundancy_group: Some("HAin".into()),
                }),
                ..Default::default()
            },
        ],
        udp_idle_s: 3600,
        ..inspect::EngineConfig::default()
    }
}

/// Bulk of 1,000,000 sessions from an Active engine into a fresh standby engine (export through the
/// engine's HA hooks, encode, decode, `apply_standby`, digests on both sides).
fn engine_bulk_once(active_engine: &mut inspect::Engine) -> (StdDuration, u64) {
    let cfg = SyncConfig {
        bulk_chunk: 4096,
        max_batch_bytes: 64 * 1024,
        ..SyncConfig::default()
    };
    let mut active = HaSync::new(SyncRole::Active, cfg);
    let mut standby = HaSync::new(SyncRole::Standby, cfg);
    let mut s_engine = inspect::Engine::new(engine_config(), 2);
    s_engine.set_ha_role(Instant::ZERO, inspect::HaRole::Standby);
    let mut now = Instant::from_millis(10);
    let start = StdInstant::now();
    standby.request_bulk(now);
    loop {
        now += Duration::from_micros(1);
        while let Some(a) = standby.poll_action() {
            match a {
                SyncAction::Send(m) => active.handle_message(now, &m, active_engine),
                SyncAction::BulkComplete(r) => {
                    assert!(r.ok, "{r:?}");
                    return (start.elapsed(), r.sessions);
                }
                SyncAction::Notice(_) => {}
            }
        }
        active.handle_timeout(now, active_engine);
        while let Some(a) = active.poll_action() {
            if let SyncAction::Send(m) = a {
                standby.handle_message(now, &m, &mut s_engine);
            }
        }
        while s_engine.poll_event().is_some() {}
    }
}

fn engine_bulk_1m(c: &mut Criterion) {
    let n = 1_000_000u32;
    let mut e = inspect::Engine::new(engine_config(), 1);
    let now = Instant::from_millis(5);
    for i in 0..n {
        let client = std::net::SocketAddr::from(([10, (i >> 16) as u8, (i >> 8) as u8, i as u8], 40000));
        let server = std::net::SocketAddr::from(([211, 0, 0, 10], 53));
        let v = e.process(now, &inspect::build::udp(client, server, 20), Some(0), Some(1));
        assert_eq!(v, inspect::Verdict::Accept);
    }
    while e.poll_event().is_some() {}
    let (d, sessions) = engine_bulk_once(&mut e);
    println!(
        "ha_bulk/engine_1M: {sessions} sessions engine to engine in {:.3} s",
        d.as_secs_f64()
    );
    let mut g = c.benchmark_group("ha_bulk");
    g.sample_size(10);
    g.warm_up_time(StdDuration::from_millis(100));
    g.measurement_time(StdDuration::from_secs(10));
    g.throughput(Throughput::Elements(u64::from(n)));
    g.bench_function("engine_to_engine_1m", |b| {
        b.iter_custom(|iters| (0..iters).map(|_| engine_bulk_once(&mut e).0).sum())
    });
    g.finish();
}

criterion_group!(benches, codec, dynamic, bulk_1m, engine_bulk_1m);
criterion_main!(benches);
