//! Engine benchmarks: the established-flow path at 10 k and 1 M sessions, new-session setup, and memory
//! per session at 1 M sessions (counting global allocator).
//!
//! Run: `cargo bench -p inspect --bench engine` (a few minutes on 2 cores; sample sizes are kept small).
//!
//! Times are the benchmark thread's CPU time (`CLOCK_THREAD_CPUTIME_ID`), not wall time, so that other
//! processes on a shared build machine do not inflate them (cache interference still shows).

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use inspect::build;
use inspect::wire::TcpFlags;
use inspect::{BatchPacket, Engine, EngineConfig, Verdict};
use timebase::Instant;

/// Counts live heap bytes so the bench can report memory per session.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);

#[allow(unsafe_code)]
// SAFETY: every method forwards to the system allocator unchanged and only adjusts a counter.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size(), Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(new_size, Ordering::Relaxed);
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

const IN: Option<u16> = Some(0);
const OUT: Option<u16> = Some(1);

fn config() -> EngineConfig {
    EngineConfig {
        max_sessions: 4_000_000,
        ..build::inspect_out_config(Some("HAin"))
    }
}

/// Client and server of flow `i` (distinct for i < 2^32).
fn endpoints(i: u32) -> (SocketAddr, SocketAddr) {
    let c = SocketAddr::new(
        IpAddr::V4(Ipv4Addr::from(0x0a00_0000 | (i >> 6))),
        1024 + (i & 63) as u16,
    );
    let s = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(211, 0, 0, 10)), 80);
    (c, s)
}

/// An engine holding `n` established TCP sessions, and for a sample of them a data segment of the client.
fn established(n: u32) -> (Engine, Vec<Vec<u8>>) {
    let mut e = Engine::new(config(), 0x1234_5678);
    let now = Instant::from_millis(1_000);
    for i in 0..n {
        let (c, s) = endpoints(i);
        let [syn, syn_ack, ack] = build::handshake(c, s, 1000, 5000);
        e.process(now, &syn, IN, OUT);
        e.process(now, &syn_ack, OUT, IN);
        e.process(now, &ack, IN, OUT);
    }
    while e.poll_event().is_some() {}
    // A pseudo-random sample so the 1 M case touches memory the way real traffic would.
    let mut x = 0x9e37_79b9u32;
    let pkts = (0..8192)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            let (c, s) = endpoints(x % n);
            build::tcp(c, s, TcpFlags::ACK | TcpFlags::PSH, 1001, 5001, 64)
        })
        .collect();
    (e, pkts)
}

/// CPU time consumed by this thread so far.
fn cpu_now() -> Duration {
    use nix::time::{ClockId, clock_gettime};
    clock_gettime(ClockId::CLOCK_THREAD_CPUTIME_ID).map_or(Duration::ZERO, Duration::from)
}

fn bench_established(c: &mut Criterion) {
    let mut g = c.benchmark_group("established_path");
    g.sample_size(10)
        .measurement_time(Duration::from_secs(3))
        .warm_up_time(Duration::from_millis(500));
    for n in [10_000u32, 1_000_000] {
        let (mut e, pkts) = established(n);
        g.throughput(Throughput::Elements(1));
        g.bench_function(format!("{n}_sessions"), |b| {
            let mut i = 0usize;
            let now = Instant::from_millis(2_000);
            b.iter_custom(|iters| {
                let start = cpu_now();
                for _ in 0..iters {
                    let p = &pkts[i & 8191];
                    i += 1;
                    let v = e.process(now, black_box(p), IN, OUT);
                    debug_assert_eq!(v, Verdict::Accept);
                    black_box(v);
                }
                cpu_now().saturating_sub(start)
            });
        });
        // The same packets through the batch API, 64 per call as the data plane reads them.
        g.bench_function(format!("{n}_sessions_batch64"), |b| {
            let mut i = 0usize;
            let now = Instant::from_millis(2_000);
            let mut verdicts = Vec::with_capacity(64);
            b.iter_custom(|iters| {
                let mut done = 0u64;
                let start = cpu_now();
                while done < iters {
                    let k = (iters - done).min(64) as usize;
                    let batch: [BatchPacket<'_>; 64] = std::array::from_fn(|j| BatchPacket {
                        bytes: &pkts[(i + j) & 8191],
                        ingress: IN,
                        egress: OUT,
                    });
                    i += k;
                    verdicts.clear();
                    e.process_batch(now, black_box(&batch[..k]), &mut verdicts);
                    black_box(&verdicts);
                    done += k as u64;
                }
                cpu_now().saturating_sub(start)
            });
        });
        assert_eq!(e.stats().drops.total(), 0);
        if n == 10_000 {
            // Parsing alone, for the breakdown.
            g.bench_function("parse_only", |b| {
                let mut i = 0usize;
                b.iter_custom(|iters| {
                    let start = cpu_now();
                    for _ in 0..iters {
                        let p = &pkts[i & 63];
                        i += 1;
                        black_box(inspect::wire::parse(black_box(p)).is_ok());
                    }
                    cpu_now().saturating_sub(start)
                });
            });
            // The same path with a hot working set (64 flows, as in a burst): what the code costs when the
            // entries are in cache, i.e. without the random-access cache misses of the case above.
            let hot: Vec<Vec<u8>> = pkts.iter().take(64).cloned().collect();
            g.bench_function(format!("{n}_sessions_hot64"), |b| {
                let mut i = 0usize;
                let now = Instant::from_millis(2_000);
                b.iter_custom(|iters| {
                    let start = cpu_now();
                    for _ in 0..iters {
                        let p = &hot[i & 63];
                        i += 1;
                        black_box(e.process(now, black_box(p), IN, OUT));
                    }
                    cpu_now().saturating_sub(start)
                });
            });
        }
    }
    g.finish();
}

fn bench_setup(c: &mut Criterion) {
    const POOL: u32 = 1 << 20;
    let syns: Vec<Vec<u8>> = (0..POOL)
        .map(|i| {
            let (c, s) = endpoints(i);
            build::syn(c, s, 1000)
        })
        .collect();
    let mut g = c.benchmark_group("session_setup");
    g.sample_size(10)
        .measurement_time(Duration::from_secs(3))
        .warm_up_time(Duration::from_millis(500));
    g.throughput(Throughput::Elements(1));
    g.bench_function("new_tcp_session", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            let mut done = 0u64;
            while done < iters {
                let mut e = Engine::new(config(), 7);
                let batch = (iters - done).min(u64::from(POOL));
                let now = Instant::from_millis(1_000);
                let start = cpu_now();
                for p in &syns[..batch as usize] {
                    black_box(e.process(now, black_box(p), IN, OUT));
                    // The driver drains events after each batch; the HA add is part of setup cost.
                    black_box(e.poll_event());
                }
                total += cpu_now().saturating_sub(start);
                done += batch;
            }
            total
        });
    });
    g.finish();
}

fn memory_per_session(_c: &mut Criterion) {
    let n = 1_000_000u32;
    // Packets are built beforehand so only the engine's allocations are counted.
    let syns: Vec<Vec<u8>> = (0..n)
        .map(|i| {
            let (c, s) = endpoints(i);
            build::syn(c, s, 1000)
        })
        .collect();
    let before = LIVE.load(Ordering::Relaxed);
    let mut e = Engine::new(config(), 7);
    let now = Instant::from_millis(1_000);
    for p in &syns {
        e.process(now, p, IN, OUT);
        while e.poll_event().is_some() {}
    }
    let after = LIVE.load(Ordering::Relaxed);
    let st = e.stats();
    println!(
        "memory_per_session: {} sessions, {} heap bytes ({:.1} B/session), table_bytes {} ({:.1} B/session)",
        st.sessions,
        after - before,
        (after - before) as f64 / f64::from(n),
        st.table_bytes,
        st.table_bytes as f64 / f64::from(n)
    );
    black_box(&e);
}

fn bench_clock(c: &mut Criterion) {
    // The cost of the CPU-time clock read itself, amortised over the iterations of one sample.
    let mut g = c.benchmark_group("overhead");
    g.sample_size(10)
        .measurement_time(Duration::from_secs(1))
        .warm_up_time(Duration::from_millis(200));
    g.bench_function("empty_loop", |b| {
        b.iter_custom(|iters| {
            let start = cpu_now();
            for i in 0..iters {
                black_box(i);
            }
            cpu_now().saturating_sub(start)
        });
    });
    g.finish();
}

criterion_group!(
    benches,
    memory_per_session,
    bench_established,
    bench_setup,
    bench_clock
);
criterion_main!(benches);
