//! HA session sync benchmark over a real IPC association between two network namespaces (issue 7,
//! "Performance"). Needs root.
//!
//! Two namespaces `ihb<pid>-a` / `ihb<pid>-b` joined by a veth (10.201.0.1/24 - 10.201.0.2/24) are
//! created and removed on exit (RAII guard). A thread in A runs the Active side (an `ipc::spawn`
//! association over the userspace raw-IP SCTP transport + an Active `HaSync` reading a `MemoryStore` of
//! 1,000,000 synthetic sessions); a thread in B runs the standby side (association + Standby `HaSync`
//! applying into a `MemoryStore`). Phases, each bounded by a hard timeout:
//!
//! 1. bulk sync of 1,000,000 sessions: standby `request_bulk` to `BulkComplete(ok)`;
//! 2. dynamic sync: adds / updates / deletes fed as fast as the association takes them for 5 s;
//!    events/s applied on the standby and add-to-standby lag p50 / p99;
//! 3. one periodic update round of the 1,000,000 sessions: CPU time of the Active thread.
//!
//! Run: `cargo build --release -p iosha-tests --example ha_sync_bench &&
//! sudo target/release/examples/ha_sync_bench` (see docs/bench-ha-sync.md).

use std::net::{IpAddr, Ipv4Addr};
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration as StdDuration, Instant as StdInstant};

use anyhow::{Context, bail};
use inspect::ha::workload::{Shape, Workload};
use inspect::ha::{
    HaSync, MemoryStore, SessionStore, SessionUpdate, SyncAction, SyncConfig, SyncRole, TableDigest,
};
use inspect::{HaSessionId, SessionRecord};
use ipc::{AssociationConfig, ClientId, IpcEvent, IpcHandle, MessageKind, SendError, TransportChoice};
use nix::sched::{CloneFlags, setns};
use timebase::Instant;

const SESSIONS: u32 = 1_000_000;
/// First id of the dynamic phase's sessions (the bulk uses 1..=SESSIONS).
const DYN_BASE: u32 = 2_000_000;
/// Send-time slots of dynamic adds (ids DYN_BASE.. DYN_BASE + DYN_SLOTS).
const DYN_SLOTS: usize = 16 << 20;
const DYN_FEED: StdDuration = StdDuration::from_secs(5);
const PERIOD_S: f64 = 10.0;
const ADDR_A: Ipv4Addr = Ipv4Addr::new(10, 201, 0, 1);
const ADDR_B: Ipv4Addr = Ipv4Addr::new(10, 201, 0, 2);
const PORT: u16 = 5000;
/// How long a refused batch waits before the transport is tried again.
const SEND_RETRY: StdDuration = StdDuration::from_micros(100);
/// Records queued in the Active's `HaSync` beyond which the feeder waits for the transport.
const FEED_QUEUE_LIMIT: usize = 4096;
const FEED_CHUNK: usize = 256;
/// The target rate (the first paced run, and the per-kind byte runs).
const PACED_RATE: f64 = 200_000.0;
/// Rates of the paced dynamic runs (events/s), to see where the lag target stops holding.
const PACED_RATES: &[f64] = &[PACED_RATE, 400_000.0, 800_000.0];

// ---------------------------------------------------------------------------------------------------------
// Namespaces

struct Netns {
    a: String,
    b: String,
}

fn ip(args: &[&str]) -> anyhow::Result<()> {
    let out = Command::new("ip").args(args).output().context("running ip")?;
    if !out.status.success() {
        bail!(
            "ip {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(())
}

impl Netns {
    fn create() -> anyhow::Result<Self> {
        let pid = std::process::id();
        let a = format!("ihb{pid}-a");
        let b = format!("ihb{pid}-b");
        ip(&["netns", "add", &a])?;
        let guard = Self { a, b };
        ip(&["netns", "add", &guard.b])?;
        let (a, b) = (guard.a.as_str(), guard.b.as_str());
        ip(&[
            "-n", a, "link", "add", "va", "type", "veth", "peer", "name", "vb", "netns", b,
        ])?;
        ip(&["-n", a, "addr", "add", "10.201.0.1/24", "dev", "va"])?;
        ip(&["-n", b, "addr", "add", "10.201.0.2/24", "dev", "vb"])?;
        for (ns, dev) in [(a, "va"), (b, "vb")] {
            ip(&["-n", ns, "link", "set", "lo", "up"])?;
            ip(&["-n", ns, "link", "set", dev, "up"])?;
        }
        Ok(guard)
    }

    /// Bytes transmitted by `dev` in `ns` (IP packets plus the Ethernet header).
    fn tx_bytes(ns: &str, dev: &str) -> u64 {
        let Ok(out) = Command::new("ip")
            .args(["-n", ns, "-s", "-j", "link", "show", dev])
            .output()
        else {
            return 0;
        };
        let Ok(v) = serde_json::from_slice::<serde_json::Value>(&out.stdout) else {
            return 0;
        };
        v[0]["stats64"]["tx"]["bytes"].as_u64().unwrap_or(0)
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        for ns in [&self.a, &self.b] {
            if let Err(e) = ip(&["netns", "del", ns]) {
                eprintln!("cleanup: {e}");
            }
        }
    }
}

fn enter_netns(ns: &str) -> anyhow::Result<()> {
    let file = std::fs::File::open(format!("/run/netns/{ns}"))?;
    setns(&file, CloneFlags::CLONE_NEWNET)?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------------------
// Shared state and clocks

struct BulkResult {
    wall: StdDuration,
    /// CPU time of the standby's sync thread from the request to the end.
    standby_cpu: StdDuration,
    /// CPU time of the standby's IPC driver thread over the same time.
    standby_driver_cpu: StdDuration,
    ok: bool,
    sessions: u64,
    local_sessions: u64,
}

/// Association knobs from the command line.
#[derive(Clone, Debug, Default)]
struct Knobs {
    /// `--key STRING`: `security key` (every message authenticated with HMAC).
    key: Option<String>,
    /// `--mtu N`: SCTP packet size of the userspace stack.
    mtu: Option<u16>,
    /// `--send-queue-bytes N`.
    send_queue_bytes: Option<usize>,
}

impl Knobs {
    fn parse() -> anyhow::Result<Self> {
        let mut k = Self::default();
        let mut args = std::env::args().skip(1);
        while let Some(a) = args.next() {
            let mut value = || args.next().with_context(|| format!("{a} needs a value"));
            match a.as_str() {
                "--key" => k.key = Some(value()?),
                "--mtu" => k.mtu = Some(value()?.parse()?),
                "--send-queue-bytes" => k.send_queue_bytes = Some(value()?.parse()?),
                _ => bail!("usage: ha_sync_bench [--key STRING] [--mtu N] [--send-queue-bytes N]"),
            }
        }
        Ok(k)
    }
}

struct Shared {
    knobs: Knobs,
    epoch: StdInstant,
    stop: AtomicBool,
    request_bulk: AtomicBool,
    bulk: Mutex<Option<BulkResult>>,
    standby_up: AtomicBool,
    adds: AtomicU64,
    updates: AtomicU64,
    deletes: AtomicU64,
    /// Send time (µs since `epoch`, plus one; wraps after 71 min) of each dynamic add, by id - DYN_BASE.
    stamps: Vec<AtomicU32>,
    /// The Active's association is started (the standby starts its own after, see `task_ids`).
    active_spawned: AtomicBool,
}

impl Shared {
    fn micros(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_micros()).unwrap_or(u64::MAX)
    }

    fn applied(&self) -> u64 {
        self.adds.load(Ordering::Relaxed)
            + self.updates.load(Ordering::Relaxed)
            + self.deletes.load(Ordering::Relaxed)
    }
}

/// CPU time of the calling thread (`/proc/thread-self/schedstat`, nanoseconds on CPU).
fn thread_cpu() -> StdDuration {
    let ns = std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next().and_then(|f| f.parse::<u64>().ok()))
        .unwrap_or(0);
    StdDuration::from_nanos(ns)
}

/// CPU time of thread `tid` of this process.
fn task_cpu(tid: u32) -> StdDuration {
    let ns = std::fs::read_to_string(format!("/proc/self/task/{tid}/schedstat"))
        .ok()
        .and_then(|s| s.split_whitespace().next().and_then(|f| f.parse::<u64>().ok()))
        .unwrap_or(0);
    StdDuration::from_nanos(ns)
}

/// Thread ids of this process with their names.
fn task_ids() -> Vec<(u32, String)> {
    let Ok(dir) = std::fs::read_dir("/proc/self/task") else {
        return Vec::new();
    };
    dir.filter_map(|e| {
        let e = e.ok()?;
        let tid = e.file_name().to_str()?.parse::<u32>().ok()?;
        let comm = std::fs::read_to_string(e.path().join("comm")).ok()?;
        Some((tid, comm.trim().to_owned()))
    })
    .collect()
}

/// The IPC driver thread started since `before` was listed.
fn new_driver_thread(before: &[(u32, String)]) -> Option<u32> {
    let deadline = StdInstant::now() + StdDuration::from_secs(2);
    while StdInstant::now() < deadline {
        let found = task_ids()
            .into_iter()
            .find(|(tid, comm)| comm.starts_with("ipc-assoc") && !before.iter().any(|(t, _)| t == tid));
        if let Some((tid, _)) = found {
            return Some(tid);
        }
        std::thread::sleep(StdDuration::from_millis(1));
    }
    None
}

/// CPU time of the whole process (user + system, `/proc/self/stat`, clock ticks of 10 ms).
fn process_cpu() -> StdDuration {
    let ticks = std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|s| {
            let rest = s.rsplit_once(')')?.1.to_owned();
            let f: Vec<&str> = rest.split_whitespace().collect();
            // After the command: state is field 3; utime 14 and stime 15 are at 11 and 12 here.
            Some(f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?)
        })
        .unwrap_or(0);
    StdDuration::from_millis(ticks * 10)
}

// ---------------------------------------------------------------------------------------------------------
// The standby's store: a MemoryStore that counts what it applies and measures add lag.

struct BenchStore {
    inner: MemoryStore,
    shared: Arc<Shared>,
    lags_us: Vec<(u32, u64)>,
}

impl SessionStore for BenchStore {
    fn for_each_session(&self, now: Instant, f: &mut dyn FnMut(&SessionRecord)) {
        self.inner.for_each_session(now, f);
    }
    fn has_fast_lookup(&self) -> bool {
        self.inner.has_fast_lookup()
    }
    fn get_session(&self, now: Instant, id: HaSessionId) -> Option<SessionRecord> {
        self.inner.get_session(now, id)
    }
    fn apply_add(&mut self, now: Instant, rec: &SessionRecord) {
        self.inner.apply_add(now, rec);
        self.shared.adds.fetch_add(1, Ordering::Relaxed);
        if let Some(slot) = rec.id.0.checked_sub(DYN_BASE)
            && let Some(stamp) = self.shared.stamps.get(slot as usize)
        {
            let sent = stamp.swap(0, Ordering::Relaxed);
            if sent != 0 {
                let now_us = self.shared.micros() as u32;
                self.lags_us
                    .push((rec.id.0, u64::from(now_us.wrapping_sub(sent - 1))));
            }
        }
    }
    fn apply_update(&mut self, now: Instant, update: &SessionUpdate) -> bool {
        self.shared.updates.fetch_add(1, Ordering::Relaxed);
        self.inner.apply_update(now, update)
    }
    fn remove_session(&mut self, id: HaSessionId) -> bool {
        self.shared.deletes.fetch_add(1, Ordering::Relaxed);
        self.inner.remove_session(id)
    }
    fn flush_ha_sessions(&mut self) {
        self.inner.flush_ha_sessions();
    }
    fn ha_session_count(&self) -> usize {
        self.inner.ha_session_count()
    }
    fn ha_table_digest(&self, now: Instant) -> TableDigest {
        self.inner.ha_table_digest(now)
    }
}

// ---------------------------------------------------------------------------------------------------------
// One side: association + sync client, pumped on the calling thread.

struct Side {
    sync: HaSync,
    ipc: IpcHandle,
    events: tokio::sync::mpsc::Receiver<IpcEvent>,
    shared: Arc<Shared>,
    blocked_since: Option<StdInstant>,
    up: bool,
    bulk_started: Option<(StdInstant, StdDuration, StdDuration)>,
    driver_tid: Option<u32>,
}

impl Side {
    fn start(role: SyncRole, local: Ipv4Addr, remote: Ipv4Addr, shared: Arc<Shared>) -> anyhow::Result<Self> {
        let mut cfg = AssociationConfig::new(PORT, PORT, vec![IpAddr::V4(local)], vec![IpAddr::V4(remote)])?;
        cfg.transport = TransportChoice::Raw;
        cfg.security_key.clone_from(&shared.knobs.key);
        if let Some(mtu) = shared.knobs.mtu {
            cfg.mtu = mtu;
        }
        if let Some(bytes) = shared.knobs.send_queue_bytes {
            cfg.send_queue_bytes = bytes;
        }
        let (ipc, events) = ipc::spawn(cfg)?;
        Ok(Self {
            sync: HaSync::new(role, SyncConfig::default()),
            ipc,
            events,
            shared,
            blocked_since: None,
            up: false,
            bulk_started: None,
            driver_tid: None,
        })
    }

    fn now(&self) -> Instant {
        Instant::from_micros(self.shared.micros())
    }

    /// One round: IPC events, timers, actions. Returns whether anything happened.
    fn pump<S: SessionStore>(&mut self, store: &mut S) -> bool {
        let mut busy = false;
        for _ in 0..1024 {
            match self.events.try_recv() {
                Ok(IpcEvent::Message { payload, .. }) => {
                    let now = self.now();
                    self.sync.handle_message(now, &payload, store);
                    busy = true;
                }
                Ok(IpcEvent::Up { .. }) => self.up = true,
                Ok(IpcEvent::Down { reason }) => {
                    eprintln!("association down: {reason:?}");
                    self.up = false;
                    let now = self.now();
                    self.sync.handle_link_down(now);
                }
                Err(_) => break,
            }
        }
        if let Some(since) = self.blocked_since
            && since.elapsed() >= SEND_RETRY
        {
            self.blocked_since = None;
            let now = self.now();
            self.sync.handle_send_ready(now);
        }
        let now = self.now();
        if self.sync.poll_timeout().is_some_and(|t| t <= now) {
            self.sync.handle_timeout(now, store);
        }
        while self.blocked_since.is_none() {
            let Some(action) = self.sync.poll_action() else {
                break;
            };
            busy = true;
            match action {
                SyncAction::Send(batch) => {
                    match self
                        .ipc
                        .send(ClientId::INSPECT, MessageKind::INSPECT_SYNC, batch.clone())
                    {
                        Ok(()) => {}
                        Err(SendError::QueueFull) => {
                            let now = self.now();
                            self.sync.handle_send_blocked(now, batch);
                            self.blocked_since = Some(StdInstant::now());
                        }
                        Err(e) => eprintln!("batch not sent: {e}"),
                    }
                }
                SyncAction::BulkComplete(r) => {
                    let (wall, standby_cpu, standby_driver_cpu) = self
                        .bulk_started
                        .take()
                        .map(|(t, cpu, dcpu)| {
                            (
                                t.elapsed(),
                                thread_cpu().saturating_sub(cpu),
                                self.driver_tid
                                    .map(task_cpu)
                                    .unwrap_or_default()
                                    .saturating_sub(dcpu),
                            )
                        })
                        .unwrap_or_default();
                    if let Ok(mut b) = self.shared.bulk.lock() {
                        *b = Some(BulkResult {
                            wall,
                            standby_cpu,
                            standby_driver_cpu,
                            ok: r.ok,
                            sessions: r.sessions,
                            local_sessions: r.local_sessions,
                        });
                    }
                }
                SyncAction::Notice(_) => {}
            }
        }
        busy
    }

    fn idle(&self, busy: bool) {
        if !busy {
            std::thread::sleep(StdDuration::from_micros(50));
        }
    }

    /// Whether the Active has handed everything to the transport.
    fn drained(&self) -> bool {
        self.blocked_since.is_none() && self.sync.queue_depth() == 0
    }

    fn can_feed(&self) -> bool {
        self.blocked_since.is_none() && self.sync.queue_depth() < FEED_QUEUE_LIMIT
    }
}

// ---------------------------------------------------------------------------------------------------------
// Results

#[derive(Default)]
struct Figures {
    bulk: Option<(StdDuration, bool, u64, u64)>,
    /// CPU during the bulk: Active sync thread, Active IPC driver, standby sync thread, standby IPC driver.
    bulk_cpu: [StdDuration; 4],
    bulk_wire_bytes: u64,
    bulk_payload_bytes: u64,
    dyn_saturated: DynResult,
    dyn_paced: Vec<(f64, DynResult)>,
    /// Wire bytes per add, update, delete.
    kind_bytes: [f64; 3],
    periodic_cpu: StdDuration,
    periodic_process_cpu: StdDuration,
    periodic_driver_cpu: Option<StdDuration>,
    periodic_wall: StdDuration,
    periodic_applied: u64,
    periodic_standby_wall: StdDuration,
    periodic_wire_bytes: u64,
    notes: Vec<String>,
}

fn active_main(ns: String, shared: Arc<Shared>) -> anyhow::Result<Figures> {
    enter_netns(&ns)?;
    let mut fig = Figures::default();
    let mut wl = Workload::new(7);
    let mut store = MemoryStore::new();
    let t = StdInstant::now();
    for id in 1..=SESSIONS {
        store.insert(wl.record(id, Shape::EstablishedTcp));
    }
    println!("active: {SESSIONS} sessions generated in {:.2?}", t.elapsed());
    let before = task_ids();
    let mut side = Side::start(SyncRole::Active, ADDR_A, ADDR_B, shared.clone())?;
    // The Active's IPC driver thread: the one new `ipc-assoc-*` thread (the standby starts its own after).
    let driver_tid = new_driver_thread(&before);
    shared.active_spawned.store(true, Ordering::Release);
    if driver_tid.is_none() {
        fig.notes
            .push("the Active's IPC driver thread was not found: its CPU is not reported".into());
    }

    // Association up on both sides.
    let deadline = StdInstant::now() + StdDuration::from_secs(20);
    while !(side.up && shared.standby_up.load(Ordering::Acquire)) {
        if StdInstant::now() > deadline {
            bail!("association not up within 20 s");
        }
        let busy = side.pump(&mut store);
        side.idle(busy);
    }
    println!("association up ({})", side.ipc.status().transport);

    // Phase 1: bulk.
    let wire0 = Netns::tx_bytes(&ns, "va");
    let payload0 = side.ipc.status().stats.bytes_sent;
    let bulk_cpu0 = thread_cpu();
    let bulk_dcpu0 = driver_tid.map(task_cpu).unwrap_or_default();
    shared.request_bulk.store(true, Ordering::Release);
    let deadline = StdInstant::now() + StdDuration::from_secs(60);
    loop {
        if let Ok(b) = shared.bulk.lock()
            && let Some(r) = b.as_ref()
        {
            fig.bulk = Some((r.wall, r.ok, r.sessions, r.local_sessions));
            fig.bulk_cpu = [
                thread_cpu().saturating_sub(bulk_cpu0),
                driver_tid
                    .map(task_cpu)
                    .unwrap_or_default()
                    .saturating_sub(bulk_dcpu0),
                r.standby_cpu,
                r.standby_driver_cpu,
            ];
            break;
        }
        if StdInstant::now() > deadline {
            fig.notes.push("bulk: no BulkComplete within 60 s".into());
            break;
        }
        let busy = side.pump(&mut store);
        side.idle(busy);
    }
    settle(&mut side, &mut store);
    fig.bulk_wire_bytes = Netns::tx_bytes(&ns, "va").saturating_sub(wire0);
    fig.bulk_payload_bytes = side.ipc.status().stats.bytes_sent.saturating_sub(payload0);
    println!("phase 1 done");

    // Phase 2: dynamic adds / updates / deletes: saturated, then paced at the target rate, then one kind
    // at a time for the bytes on the wire per add / update / delete.
    let mut dy = DynState {
        live: Vec::new(),
        next_id: DYN_BASE,
    };
    fig.dyn_saturated = run_dynamic(
        &mut side,
        &mut store,
        &mut wl,
        &shared,
        &mut dy,
        &ns,
        Mix::All,
        DYN_FEED,
        None,
    );
    println!("phase 2a (saturated) done");
    for &rate in PACED_RATES {
        let r = run_dynamic(
            &mut side,
            &mut store,
            &mut wl,
            &shared,
            &mut dy,
            &ns,
            Mix::All,
            DYN_FEED,
            Some(rate),
        );
        fig.dyn_paced.push((rate, r));
    }
    println!("phase 2b (paced) done");
    for (i, mix) in [Mix::Add, Mix::Update, Mix::Delete].into_iter().enumerate() {
        let r = run_dynamic(
            &mut side,
            &mut store,
            &mut wl,
            &shared,
            &mut dy,
            &ns,
            mix,
            StdDuration::from_millis(500),
            Some(PACED_RATE),
        );
        fig.kind_bytes[i] = r.wire_bytes as f64 / r.fed.max(1) as f64;
    }
    let c = side.sync.counters();
    let dropped = c.adds_dropped + c.updates_dropped + c.deletes_dropped;
    if dropped > 0 {
        fig.notes
            .push(format!("dynamic: {dropped} records dropped by queue overflow"));
    }
    println!("phase 2 done");

    // Phase 3: one periodic update round of the bulk sessions (records advanced beforehand, so the
    // measured CPU is the sync client's encode + hand-over to the association only).
    for id in 1..=SESSIONS {
        if let Some(rec) = store.get_mut(HaSessionId(id)) {
            wl.advance(rec);
        }
    }
    let wire0 = Netns::tx_bytes(&ns, "va");
    let applied0 = shared.updates.load(Ordering::Relaxed);
    let cpu0 = thread_cpu();
    let dcpu0 = driver_tid.map(task_cpu).unwrap_or_default();
    let pcpu0 = process_cpu();
    let start = StdInstant::now();
    let deadline = start + StdDuration::from_secs(60);
    let mut next = 1u32;
    while (next <= SESSIONS || !side.drained()) && StdInstant::now() < deadline {
        if next <= SESSIONS && side.can_feed() {
            let now = side.now();
            let end = (next + FEED_CHUNK as u32).min(SESSIONS + 1);
            for id in next..end {
                if let Some(rec) = store.get(HaSessionId(id)) {
                    side.sync.handle_update(now, rec);
                }
            }
            next = end;
        }
        let busy = side.pump(&mut store);
        if !side.can_feed() || next > SESSIONS {
            side.idle(busy);
        }
    }
    fig.periodic_cpu = thread_cpu().saturating_sub(cpu0);
    fig.periodic_wall = start.elapsed();
    let deadline = StdInstant::now() + StdDuration::from_secs(30);
    while shared.updates.load(Ordering::Relaxed) - applied0 < u64::from(SESSIONS)
        && StdInstant::now() < deadline
    {
        let busy = side.pump(&mut store);
        side.idle(busy);
    }
    fig.periodic_standby_wall = start.elapsed();
    fig.periodic_process_cpu = process_cpu().saturating_sub(pcpu0);
    // The driver keeps working (SCTP packets) after the hand-over: counted until the standby applied all.
    fig.periodic_driver_cpu = driver_tid.map(|t| task_cpu(t).saturating_sub(dcpu0));
    fig.periodic_applied = shared.updates.load(Ordering::Relaxed) - applied0;
    settle(&mut side, &mut store);
    fig.periodic_wire_bytes = Netns::tx_bytes(&ns, "va").saturating_sub(wire0);
    println!("phase 3 done");
    side.ipc.shutdown();
    Ok(fig)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mix {
    /// One third each of adds, updates (half of them on bulk sessions) and deletes.
    All,
    Add,
    Update,
    Delete,
}

struct DynState {
    live: Vec<u32>,
    next_id: u32,
}

#[derive(Default)]
struct DynResult {
    first_id: u32,
    end_id: u32,
    fed: u64,
    fed_adds: u64,
    window: StdDuration,
    applied_in_window: u64,
    applied_total: u64,
    expected: u64,
    drain: StdDuration,
    wire_bytes: u64,
    /// Batches the association refused with `QueueFull` (re-sent after `handle_send_ready`).
    queue_full: u64,
}

/// Feeds events for `duration` (as fast as the association takes them, or at `rate` events/s), then
/// waits (at most 10 s) until the standby applied all of them.
#[allow(clippy::too_many_arguments)]
fn run_dynamic(
    side: &mut Side,
    store: &mut MemoryStore,
    wl: &mut Workload,
    shared: &Shared,
    dy: &mut DynState,
    ns: &str,
    mix: Mix,
    duration: StdDuration,
    rate: Option<f64>,
) -> DynResult {
    let mut r = DynResult {
        first_id: dy.next_id,
        ..DynResult::default()
    };
    let wire0 = Netns::tx_bytes(ns, "va");
    let queue_full0 = side.ipc.status().stats.drop_queue_full;
    let applied0 = shared.applied();
    let coalesced0 = side.sync.counters().coalesced;
    let start = StdInstant::now();
    while start.elapsed() < duration {
        let mut budget = FEED_CHUNK as u64;
        if let Some(rate) = rate {
            let due = (start.elapsed().as_secs_f64() * rate) as u64;
            budget = budget.min(due.saturating_sub(r.fed));
        }
        if side.can_feed() && budget > 0 {
            let now = side.now();
            for _ in 0..budget {
                let pick = match mix {
                    Mix::All => wl.rng().below(3),
                    Mix::Add => 0,
                    Mix::Update => 1,
                    Mix::Delete => 2,
                };
                if pick == 0 || (pick == 2 && dy.live.is_empty()) {
                    let id = dy.next_id;
                    let rec = wl.record(id, Shape::NewTcp);
                    if let Some(slot) = shared.stamps.get((id - DYN_BASE) as usize) {
                        slot.store((shared.micros() as u32).wrapping_add(1).max(1), Ordering::Relaxed);
                    }
                    side.sync.handle_add(now, &rec);
                    store.insert(rec);
                    dy.live.push(id);
                    dy.next_id += 1;
                    r.fed_adds += 1;
                } else if pick == 1 {
                    let id = if dy.live.is_empty() || wl.rng().below(2) == 0 {
                        1 + wl.rng().below(u64::from(SESSIONS)) as u32
                    } else {
                        dy.live[wl.rng().below(dy.live.len() as u64) as usize]
                    };
                    if let Some(rec) = store.get_mut(HaSessionId(id)) {
                        wl.advance(rec);
                        let rec = rec.clone();
                        side.sync.handle_update(now, &rec);
                    }
                } else {
                    let i = wl.rng().below(dy.live.len() as u64) as usize;
                    let id = dy.live.swap_remove(i);
                    store.take(HaSessionId(id));
                    side.sync.handle_delete(now, HaSessionId(id));
                }
                r.fed += 1;
            }
        }
        let busy = side.pump(store);
        if !side.can_feed() || rate.is_some() {
            side.idle(busy);
        }
    }
    r.window = start.elapsed();
    r.applied_in_window = shared.applied() - applied0;
    let deadline = StdInstant::now() + StdDuration::from_secs(10);
    // Updates coalesced in the Active's queue reach the standby as one record.
    let expected = |side: &Side| r.fed - (side.sync.counters().coalesced - coalesced0);
    while shared.applied() - applied0 < expected(side) && StdInstant::now() < deadline {
        let busy = side.pump(store);
        side.idle(busy);
    }
    r.drain = start.elapsed();
    r.applied_total = shared.applied() - applied0;
    r.expected = expected(side);
    r.end_id = dy.next_id;
    settle(side, store);
    r.wire_bytes = Netns::tx_bytes(ns, "va").saturating_sub(wire0);
    r.queue_full = side
        .ipc
        .status()
        .stats
        .drop_queue_full
        .saturating_sub(queue_full0);
    r
}

/// Pumps for a moment so the last batches and acknowledgements pass and counters refresh.
fn settle<S: SessionStore>(side: &mut Side, store: &mut S) {
    let until = StdInstant::now() + StdDuration::from_millis(250);
    while StdInstant::now() < until {
        let busy = side.pump(store);
        side.idle(busy);
    }
}

fn standby_main(ns: String, shared: Arc<Shared>) -> anyhow::Result<Vec<(u32, u64)>> {
    enter_netns(&ns)?;
    let mut store = BenchStore {
        inner: MemoryStore::new(),
        shared: shared.clone(),
        lags_us: Vec::with_capacity(4 << 20),
    };
    let deadline = StdInstant::now() + StdDuration::from_secs(30);
    while !shared.active_spawned.load(Ordering::Acquire) {
        if StdInstant::now() > deadline {
            bail!("the Active did not start its association");
        }
        std::thread::sleep(StdDuration::from_millis(5));
    }
    let before = task_ids();
    let mut side = Side::start(SyncRole::Standby, ADDR_B, ADDR_A, shared.clone())?;
    side.driver_tid = new_driver_thread(&before);
    let hard_stop = StdInstant::now() + StdDuration::from_secs(300);
    while !shared.stop.load(Ordering::Acquire) && StdInstant::now() < hard_stop {
        let mut busy = side.pump(&mut store);
        if side.up {
            shared.standby_up.store(true, Ordering::Release);
        }
        if side.up && shared.request_bulk.swap(false, Ordering::AcqRel) {
            side.bulk_started = Some((
                StdInstant::now(),
                thread_cpu(),
                side.driver_tid.map(task_cpu).unwrap_or_default(),
            ));
            let now = side.now();
            side.sync.request_bulk(now);
            busy = true;
        }
        side.idle(busy);
    }
    side.ipc.shutdown();
    Ok(store.lags_us)
}

fn percentile(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i.min(sorted.len() - 1)] as f64 / 1000.0
}

fn main() -> anyhow::Result<()> {
    let knobs = Knobs::parse()?;
    println!("{knobs:?}");
    let netns = Netns::create()?;
    let shared = Arc::new(Shared {
        knobs,
        epoch: StdInstant::now(),
        stop: AtomicBool::new(false),
        request_bulk: AtomicBool::new(false),
        bulk: Mutex::new(None),
        standby_up: AtomicBool::new(false),
        adds: AtomicU64::new(0),
        updates: AtomicU64::new(0),
        deletes: AtomicU64::new(0),
        stamps: (0..DYN_SLOTS).map(|_| AtomicU32::new(0)).collect(),
        active_spawned: AtomicBool::new(false),
    });
    let standby = {
        let (ns, shared) = (netns.b.clone(), shared.clone());
        std::thread::Builder::new()
            .name("bench-standby".into())
            .spawn(move || standby_main(ns, shared))?
    };
    let active = {
        let (ns, shared) = (netns.a.clone(), shared.clone());
        std::thread::Builder::new()
            .name("bench-active".into())
            .spawn(move || active_main(ns, shared))?
    };
    let fig = active.join();
    shared.stop.store(true, Ordering::Release);
    let lags = standby.join();
    let fig = match fig {
        Ok(r) => r?,
        Err(_) => bail!("active thread panicked"),
    };
    let lags = match lags {
        Ok(r) => r?,
        Err(_) => bail!("standby thread panicked"),
    };
    report(&fig, &lags);
    drop(netns);
    Ok(())
}

fn report(fig: &Figures, lags: &[(u32, u64)]) {
    let n = f64::from(SESSIONS);
    println!();
    println!("== (1) bulk sync of {SESSIONS} sessions");
    match fig.bulk {
        Some((wall, ok, sessions, local)) => {
            println!(
                "   {:.3} s request -> BulkComplete (ok={ok}, announced {sessions}, standby holds {local}); target <= 2 s",
                wall.as_secs_f64()
            );
        }
        None => println!("   did not complete"),
    }
    println!(
        "   CPU during the bulk: Active sync thread {:.2} s, Active IPC driver {:.2} s, standby sync thread {:.2} s, standby IPC driver {:.2} s",
        fig.bulk_cpu[0].as_secs_f64(),
        fig.bulk_cpu[1].as_secs_f64(),
        fig.bulk_cpu[2].as_secs_f64(),
        fig.bulk_cpu[3].as_secs_f64()
    );
    println!(
        "   wire {:.1} B/session (veth tx of the Active, frames), IPC payload {:.1} B/session",
        fig.bulk_wire_bytes as f64 / n,
        fig.bulk_payload_bytes as f64 / n
    );
    let mut runs = vec![(
        "saturated (fed as fast as the association takes them)".to_owned(),
        &fig.dyn_saturated,
    )];
    for (rate, r) in &fig.dyn_paced {
        runs.push((format!("paced at {rate:.0} events/s"), r));
    }
    for (name, r) in runs {
        let mut lag: Vec<u64> = lags
            .iter()
            .filter(|(id, _)| (r.first_id..r.end_id).contains(id))
            .map(|&(_, l)| l)
            .collect();
        lag.sort_unstable();
        let w = r.window.as_secs_f64();
        println!("== (2) dynamic sync, {name}, {w:.2} s");
        println!(
            "   fed {} events ({:.0}/s, {} adds); standby applied {:.0}/s during the window; {} of {} expected (after coalescing) applied {:.2} s after the start ({:.0}/s)",
            r.fed,
            r.fed as f64 / w,
            r.fed_adds,
            r.applied_in_window as f64 / w,
            r.applied_total,
            r.expected,
            r.drain.as_secs_f64(),
            r.applied_total as f64 / r.drain.as_secs_f64()
        );
        println!(
            "   add-to-standby lag over {} adds: p50 {:.3} ms, p99 {:.3} ms, max {:.3} ms (target: >= 200000 events/s with p99 <= 5 ms)",
            lag.len(),
            percentile(&lag, 0.5),
            percentile(&lag, 0.99),
            percentile(&lag, 1.0)
        );
        println!(
            "   wire {:.1} B/event; {} batches refused with QueueFull and re-sent",
            r.wire_bytes as f64 / r.fed.max(1) as f64,
            r.queue_full
        );
    }
    println!(
        "   wire bytes per add {:.1}, per update {:.1}, per delete {:.1} (500 ms of each kind alone at 200,000/s)",
        fig.kind_bytes[0], fig.kind_bytes[1], fig.kind_bytes[2]
    );
    println!("== (3) periodic update round of {SESSIONS} sessions, N = {PERIOD_S} s");
    println!(
        "   Active sync thread CPU {:.3} s = {:.1} % of one core over {PERIOD_S} s (target <= 10 %); handed over in {:.2} s",
        fig.periodic_cpu.as_secs_f64(),
        fig.periodic_cpu.as_secs_f64() / PERIOD_S * 100.0,
        fig.periodic_wall.as_secs_f64()
    );
    if let Some(d) = fig.periodic_driver_cpu {
        let total = fig.periodic_cpu + d;
        println!(
            "   Active IPC driver thread CPU {:.3} s; sync thread + driver {:.3} s = {:.1} % of one core over {PERIOD_S} s",
            d.as_secs_f64(),
            total.as_secs_f64(),
            total.as_secs_f64() / PERIOD_S * 100.0
        );
    }
    println!(
        "   whole process (both sides, both IPC drivers) CPU {:.2} s = {:.1} % of one core; standby applied {} updates after {:.2} s",
        fig.periodic_process_cpu.as_secs_f64(),
        fig.periodic_process_cpu.as_secs_f64() / PERIOD_S * 100.0,
        fig.periodic_applied,
        fig.periodic_standby_wall.as_secs_f64()
    );
    println!("   wire {:.1} B/update", fig.periodic_wire_bytes as f64 / n);
    for note in &fig.notes {
        println!("note: {note}");
    }
}
