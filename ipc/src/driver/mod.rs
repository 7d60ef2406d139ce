//! The association driver (feature `runtime`): one OS thread running a current-thread tokio runtime owns
//! the sans-IO [`Association`] (the userspace SCTP stack is `!Send`) and its packet path. Clients talk to
//! it through a cloneable [`IpcHandle`] (non-blocking, bounded) and receive [`IpcEvent`]s on a bounded
//! channel.
//!
//! Logs: `target: "syslog"` lines (`%IPC-5-ASSOC_UP`, `%IPC-4-ASSOC_DOWN`, `%IPC-3-AUTH_FAIL`,
//! `%IPC-4-PATH_CHANGE`, `%IPC-6-TRANSPORT`), and debug lines on `debug.ipc` (messages, notices) and
//! `debug.sctp` (packets).

pub(crate) mod io;
pub(crate) mod kernel;
mod select;

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration as StdDuration;

use timebase::Instant;
use tokio::sync::{Notify, mpsc, oneshot};

use crate::assoc::{Action, Association, IpcEvent, Notice};
use crate::config::AssociationConfig;
use crate::envelope::{ClientId, MAX_PAYLOAD_LEN, MessageKind};
use crate::error::{IpcError, SendError};
use crate::status::AssociationStatus;

pub use select::{Selected, kernel_sctp_available, raw_ip_available, select_transport};

/// What [`spawn`] returns: the handle and the event receiver.
pub type Spawned = (IpcHandle, mpsc::Receiver<IpcEvent>);

/// Capacity of the command queue from the handles to the driver (messages).
pub const COMMAND_QUEUE: usize = 8192;
/// Capacity of the command queue in bytes (payload plus envelope overhead of every queued message):
/// with large messages the queue fills by bytes long before 8192 messages, so a saturated
/// association lags its clients by at most this much data (one message is always accepted into an
/// empty queue).
pub const COMMAND_QUEUE_BYTES: usize = 4 << 20;
/// Capacity of the event queue from the driver to the client. Received messages are taken from the
/// userspace SCTP stack as they arrive (its receive window must stay open: it sends no window update
/// when a client drains it late), so a client that falls this far behind loses messages, counted in
/// `drop_rx_queue_full`.
pub const EVENT_QUEUE: usize = 65_536;
/// How often the published status snapshot is refreshed.
pub const STATUS_REFRESH: StdDuration = StdDuration::from_millis(100);
/// Most commands taken from the queue in one driver turn, and most payload bytes.
const BATCH: usize = 4096;
const BATCH_BYTES: usize = 256 * 1024;
/// Envelope bytes added to each payload (header + tag).
const ENVELOPE_OVERHEAD: usize = crate::envelope::HEADER_LEN + crate::envelope::TAG_LEN;
/// Send-queue room needed before more commands are taken (one largest message).
const ROOM_NEEDED: usize = crate::envelope::MAX_ENVELOPE_LEN;

pub(crate) enum Command {
    Send {
        client: ClientId,
        kind: MessageKind,
        payload: Vec<u8>,
    },
    Status(oneshot::Sender<AssociationStatus>),
}

#[derive(Default)]
pub(crate) struct HandleCounters {
    pub(crate) queue_full: AtomicU64,
    pub(crate) not_up: AtomicU64,
    pub(crate) too_large: AtomicU64,
    pub(crate) rx_queue_full: AtomicU64,
}

pub(crate) struct Shared {
    /// Bytes of the `Send` commands queued between the handles and the driver.
    pub(crate) budget: QueueBudget,
    pub(crate) up: AtomicBool,
    pub(crate) stop: AtomicBool,
    pub(crate) stop_notify: Notify,
    pub(crate) status: Mutex<AssociationStatus>,
    pub(crate) counters: HandleCounters,
}

/// What a queued message counts against [`COMMAND_QUEUE_BYTES`].
fn queue_cost(payload_len: usize) -> usize {
    payload_len + ENVELOPE_OVERHEAD
}

/// The byte bound of the command queue, shared by the handles (reserve) and the driver (release).
#[derive(Debug)]
pub(crate) struct QueueBudget {
    queued: AtomicUsize,
    limit: usize,
}

impl QueueBudget {
    pub(crate) fn new(limit: usize) -> Self {
        Self {
            queued: AtomicUsize::new(0),
            limit,
        }
    }

    /// Takes `cost` bytes if they fit; an empty queue takes any one message.
    pub(crate) fn try_reserve(&self, cost: usize) -> bool {
        let before = self.queued.fetch_add(cost, Ordering::AcqRel);
        if before > 0 && before + cost > self.limit {
            self.queued.fetch_sub(cost, Ordering::AcqRel);
            return false;
        }
        true
    }

    /// Gives back bytes of a message the driver took (or the channel refused).
    pub(crate) fn release(&self, cost: usize) {
        self.queued.fetch_sub(cost, Ordering::AcqRel);
    }

    #[cfg(test)]
    fn queued(&self) -> usize {
        self.queued.load(Ordering::Acquire)
    }
}

/// The driver's end of the command queue: releases the bytes of every message it takes.
pub(crate) struct Commands {
    rx: mpsc::Receiver<Command>,
    shared: Arc<Shared>,
}

impl Commands {
    fn taken(&self, c: Option<Command>) -> Option<Command> {
        if let Some(Command::Send { payload, .. }) = &c {
            self.shared.budget.release(queue_cost(payload.len()));
        }
        c
    }

    /// The next command (cancel-safe: nothing is taken unless it returns).
    pub(crate) async fn recv(&mut self) -> Option<Command> {
        let c = self.rx.recv().await;
        self.taken(c)
    }

    /// The next command if one is queued.
    pub(crate) fn try_recv(&mut self) -> Option<Command> {
        let c = self.rx.try_recv().ok();
        self.taken(c)
    }
}

/// A cloneable, non-blocking handle to a running association.
#[derive(Clone)]
pub struct IpcHandle {
    tx: mpsc::Sender<Command>,
    shared: Arc<Shared>,
}

impl std::fmt::Debug for IpcHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IpcHandle").field("up", &self.is_up()).finish()
    }
}

impl IpcHandle {
    /// Queues a message for the peer. Never blocks: fails with [`SendError::NotConnected`] while the
    /// association is down and [`SendError::QueueFull`] when the bounded queue is full (both counted).
    pub fn send(&self, client: ClientId, kind: MessageKind, payload: Vec<u8>) -> Result<(), SendError> {
        let c = &self.shared.counters;
        if payload.len() > MAX_PAYLOAD_LEN {
            c.too_large.fetch_add(1, Ordering::Relaxed);
            return Err(SendError::TooLarge(payload.len()));
        }
        if !self.shared.up.load(Ordering::Acquire) {
            c.not_up.fetch_add(1, Ordering::Relaxed);
            return Err(SendError::NotConnected);
        }
        let cost = queue_cost(payload.len());
        if !self.shared.budget.try_reserve(cost) {
            c.queue_full.fetch_add(1, Ordering::Relaxed);
            return Err(SendError::QueueFull);
        }
        let refused = match self.tx.try_send(Command::Send {
            client,
            kind,
            payload,
        }) {
            Ok(()) => return Ok(()),
            Err(mpsc::error::TrySendError::Full(_)) => {
                c.queue_full.fetch_add(1, Ordering::Relaxed);
                SendError::QueueFull
            }
            Err(mpsc::error::TrySendError::Closed(_)) => SendError::Stopped,
        };
        self.shared.budget.release(cost);
        Err(refused)
    }

    /// Whether the association is up.
    pub fn is_up(&self) -> bool {
        self.shared.up.load(Ordering::Acquire)
    }

    /// The latest status snapshot (refreshed every [`STATUS_REFRESH`] and at every up/down change).
    pub fn status(&self) -> AssociationStatus {
        let snap = match self.shared.status.lock() {
            Ok(s) => s.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        };
        self.merge(snap)
    }

    /// A fresh status snapshot from the driver.
    pub async fn status_now(&self) -> Option<AssociationStatus> {
        let (tx, rx) = oneshot::channel();
        self.tx.send(Command::Status(tx)).await.ok()?;
        rx.await.ok().map(|s| self.merge(s))
    }

    fn merge(&self, mut s: AssociationStatus) -> AssociationStatus {
        let c = &self.shared.counters;
        s.stats.drop_queue_full += c.queue_full.load(Ordering::Relaxed);
        s.stats.drop_not_up += c.not_up.load(Ordering::Relaxed);
        s.stats.drop_too_large += c.too_large.load(Ordering::Relaxed);
        s.stats.drop_rx_queue_full += c.rx_queue_full.load(Ordering::Relaxed);
        s
    }

    /// Stops the association (the peer is told with an ABORT) and the driver thread.
    pub fn shutdown(&self) {
        self.shared.stop.store(true, Ordering::Release);
        self.shared.stop_notify.notify_one();
    }
}

impl Association {
    /// Starts an association driver on its own thread; see [`spawn`].
    pub fn spawn(cfg: AssociationConfig) -> Result<Spawned, IpcError> {
        spawn(cfg)
    }
}

/// Selects the transport (`cfg.transport`), opens it, and starts the association on its own thread.
/// The thread inherits the caller's network namespace.
pub fn spawn(cfg: AssociationConfig) -> Result<Spawned, IpcError> {
    let cfg = cfg.validated()?;
    start(cfg, None)
}

/// Two associations joined by an in-memory link (for driver-level tests without a network).
pub fn spawn_memory_pair(
    cfg_a: AssociationConfig,
    cfg_b: AssociationConfig,
) -> Result<(Spawned, Spawned), IpcError> {
    let (a_tx, b_rx) = mpsc::channel(4096);
    let (b_tx, a_rx) = mpsc::channel(4096);
    let a = start(
        cfg_a.validated()?,
        Some(io::PacketIo::Memory { tx: a_tx, rx: a_rx }),
    )?;
    let b = start(
        cfg_b.validated()?,
        Some(io::PacketIo::Memory { tx: b_tx, rx: b_rx }),
    )?;
    Ok((a, b))
}

/// The snapshot shown before the driver has published one.
fn initial_status(cfg: &AssociationConfig, memory: bool) -> AssociationStatus {
    let mut core = Association::new(cfg.clone(), 0);
    let transport = if memory {
        "memory"
    } else {
        select_transport(cfg).transport.as_str()
    };
    core.set_transport_name(transport);
    core.status(Instant::ZERO)
}

pub(crate) fn boot_id() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    h.write_u32(std::process::id());
    h.finish()
}

fn start(cfg: AssociationConfig, memory: Option<io::PacketIo>) -> Result<Spawned, IpcError> {
    let (cmd_tx, cmd_rx) = mpsc::channel(COMMAND_QUEUE);
    let (ev_tx, ev_rx) = mpsc::channel(EVENT_QUEUE);
    let shared = Arc::new(Shared {
        budget: QueueBudget::new(COMMAND_QUEUE_BYTES),
        up: AtomicBool::new(false),
        stop: AtomicBool::new(false),
        stop_notify: Notify::new(),
        status: Mutex::new(initial_status(&cfg, memory.is_some())),
        counters: HandleCounters::default(),
    });
    let (ready_tx, ready_rx) = std::sync::mpsc::channel::<Result<(), IpcError>>();
    let thread_shared = shared.clone();
    let cmd_rx = Commands {
        rx: cmd_rx,
        shared: shared.clone(),
    };
    std::thread::Builder::new()
        .name("ipc-assoc-1".into())
        .spawn(move || {
            let rt = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
                Ok(rt) => rt,
                Err(source) => {
                    let _ = ready_tx.send(Err(IpcError::Io {
                        context: "starting runtime".into(),
                        source,
                    }));
                    return;
                }
            };
            rt.block_on(async move {
                let opened = match memory {
                    Some(io) => Ok(select::Opened::Userspace(io, "memory")),
                    None => select::open(&cfg),
                };
                match opened {
                    Ok(select::Opened::Userspace(packet_io, transport)) => {
                        let _ = ready_tx.send(Ok(()));
                        run(cfg, packet_io, transport, cmd_rx, ev_tx, thread_shared).await;
                    }
                    Ok(select::Opened::Kernel) => {
                        let _ = ready_tx.send(Ok(()));
                        kernel::run(cfg, boot_id(), cmd_rx, ev_tx, thread_shared).await;
                    }
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                    }
                }
            });
        })
        .map_err(|source| IpcError::Io {
            context: "spawning the association thread".into(),
            source,
        })?;
    match ready_rx.recv() {
        Ok(Ok(())) => Ok((IpcHandle { tx: cmd_tx, shared }, ev_rx)),
        Ok(Err(e)) => Err(e),
        Err(_) => Err(IpcError::TransportUnavailable {
            transport: "any",
            reason: "driver thread ended".into(),
        }),
    }
}

struct Driver {
    assoc: Association,
    io: io::PacketIo,
    events: mpsc::Sender<IpcEvent>,
    shared: Arc<Shared>,
    epoch: std::time::Instant,
    remote: String,
    transport: &'static str,
    /// Events and notices of the current flush (kept to reuse its allocation).
    later: Vec<Action>,
}

impl Driver {
    fn now(&self) -> Instant {
        Instant::from_micros(u64::try_from(self.epoch.elapsed().as_micros()).unwrap_or(u64::MAX))
    }

    fn publish(&self) {
        let s = self.assoc.status(self.now());
        if let Ok(mut slot) = self.shared.status.lock() {
            *slot = s;
        }
    }

    /// Carries out the association's outputs: packets first (SACKs and data should not wait behind
    /// client deliveries), then events and notices in their order, in one burst, so a client that
    /// waits on its channel is woken once per turn rather than once per packet.
    async fn flush(&mut self) {
        let mut changed = false;
        let mut later = std::mem::take(&mut self.later);
        while let Some(action) = self.assoc.poll_action() {
            match action {
                Action::Transmit { path, packet } => {
                    tracing::trace!(target: "debug.sctp", "SCTP: sent {} bytes on path {path}", packet.len());
                    if let Err(e) = self.io.send(path, &packet).await {
                        tracing::debug!(target: "debug.sctp", "SCTP: send on path {path} failed: {e}");
                    }
                }
                other => later.push(other),
            }
        }
        for action in later.drain(..) {
            match action {
                Action::Event(ev) => {
                    changed |= !matches!(ev, IpcEvent::Message { .. });
                    deliver(&self.events, &self.shared, ev, &self.remote, self.transport).await;
                }
                Action::Notice(n) => log_notice(n, self.assoc.config(), &self.remote),
                Action::Transmit { .. } => {}
            }
        }
        self.later = later;
        if changed {
            self.publish();
        }
    }
}

/// Logs an event, updates the shared up flag, and hands the event to the client. Messages are dropped
/// (and counted) when the client's queue is full; state changes wait for room.
pub(crate) async fn deliver(
    events: &mpsc::Sender<IpcEvent>,
    shared: &Shared,
    ev: IpcEvent,
    remote: &str,
    transport: &str,
) {
    match &ev {
        IpcEvent::Up { peer_restarted } => {
            shared.up.store(true, Ordering::Release);
            tracing::info!(target: "syslog",
                "%IPC-5-ASSOC_UP: Association 1 to {remote} is up over {transport} transport{}",
                if *peer_restarted { " (peer restarted)" } else { "" });
        }
        IpcEvent::Down { reason } => {
            shared.up.store(false, Ordering::Release);
            tracing::warn!(target: "syslog", "%IPC-4-ASSOC_DOWN: Association 1 to {remote} is down: {reason}");
        }
        IpcEvent::Message {
            client,
            kind,
            payload,
        } => {
            tracing::debug!(target: "debug.ipc",
                "IPC: rcvd client {} kind {} ({} bytes)", client.0, kind.name(), payload.len());
        }
    }
    if matches!(ev, IpcEvent::Message { .. }) {
        if events.try_send(ev).is_err() {
            shared.counters.rx_queue_full.fetch_add(1, Ordering::Relaxed);
        }
    } else {
        let _ = events.send(ev).await;
    }
}

/// Logs a notice of the association.
pub(crate) fn log_notice(n: Notice, cfg: &AssociationConfig, remote: &str) {
    match n {
        Notice::AuthFailure(e) => tracing::error!(target: "syslog",
            "%IPC-3-AUTH_FAIL: Association 1: message from {remote} refused: {e}"),
        Notice::PathSwitch { from, to } => {
            let desc = |i: usize| match (cfg.local_ips.get(i), cfg.remote_ips.get(i)) {
                (Some(l), Some(r)) => format!("{l} -> {r}"),
                _ => format!("pair {i}"),
            };
            tracing::warn!(target: "syslog",
                "%IPC-4-PATH_CHANGE: Association 1 moved from path {} to path {}", desc(from), desc(to));
        }
        Notice::DecodeFailure(e) => tracing::debug!(target: "debug.ipc", "IPC: dropped message: {e}"),
        Notice::SctpEstablished => tracing::debug!(target: "debug.sctp", "SCTP: association established"),
        Notice::Connecting => tracing::debug!(target: "debug.sctp", "SCTP: sending INIT to {remote}"),
        Notice::ConnectFailed { retry_in } => tracing::debug!(target: "debug.sctp",
            "SCTP: no answer from {remote}, next attempt in {} ms", retry_in.as_millis()),
        Notice::SctpError(e) => tracing::debug!(target: "debug.sctp", "SCTP: {e}"),
    }
}

async fn run(
    cfg: AssociationConfig,
    io: io::PacketIo,
    transport: &'static str,
    mut commands: Commands,
    events: mpsc::Sender<IpcEvent>,
    shared: Arc<Shared>,
) {
    let remote = cfg
        .remote_ips
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(",");
    tracing::info!(target: "syslog", "%IPC-6-TRANSPORT: Association 1 uses the {transport} transport");
    let mut assoc = Association::new(cfg, boot_id());
    assoc.set_transport_name(transport);
    let mut d = Driver {
        assoc,
        io,
        events,
        shared,
        epoch: std::time::Instant::now(),
        remote,
        transport,
        later: Vec::new(),
    };
    let now = d.now();
    d.assoc.start(now);
    d.flush().await;
    d.publish();
    let mut refresh = tokio::time::interval(STATUS_REFRESH);
    let mut packets = Vec::with_capacity(64);
    let mut batch = Vec::with_capacity(BATCH);
    let mut foreign = 0u64;
    loop {
        if d.shared.stop.load(Ordering::Acquire) {
            break;
        }
        let deadline = d.assoc.poll_timeout().map(|t| {
            let wait = t.saturating_since(d.now()).to_std();
            tokio::time::Instant::now() + wait
        });
        let sleep = async {
            match deadline {
                Some(t) => tokio::time::sleep_until(t).await,
                None => std::future::pending().await,
            }
        };
        let has_room = d.assoc.send_room() >= ROOM_NEEDED;
        tokio::select! {
            biased;
            () = d.shared.stop_notify.notified() => break,
            r = d.io.recv_batch(&mut packets, 64, &mut foreign) => {
                if let Err(e) = r {
                    tracing::debug!(target: "debug.sctp", "SCTP: receive failed: {e}");
                }
                let now = d.now();
                d.assoc.count_foreign_packets(std::mem::take(&mut foreign));
                for (path, packet) in packets.drain(..) {
                    tracing::trace!(target: "debug.sctp", "SCTP: rcvd {} bytes on path {path}", packet.len());
                    d.assoc.handle_packet(now, path, &packet);
                }
            }
            cmd = commands.recv(), if has_room => {
                let Some(cmd) = cmd else { break };
                let mut room = d.assoc.send_room();
                let mut taken = 0usize;
                let mut next = Some(cmd);
                while let Some(c) = next.take() {
                    match c {
                        Command::Send { client, kind, payload } => {
                            room = room.saturating_sub(payload.len() + ENVELOPE_OVERHEAD);
                            taken += payload.len() + ENVELOPE_OVERHEAD;
                            batch.push((client, kind, payload));
                        }
                        Command::Status(reply) => {
                            let _ = reply.send(d.assoc.status(d.now()));
                        }
                    }
                    // Take more only while the SCTP send queue has room for a largest message: what is
                    // left waits in the bounded command queue, so the handles see QueueFull instead of
                    // messages being dropped after they were accepted.
                    if batch.len() < BATCH && taken < BATCH_BYTES && room >= ROOM_NEEDED {
                        next = commands.try_recv();
                    }
                }
                if !batch.is_empty() {
                    let now = d.now();
                    let n = batch.len();
                    let results = d.assoc.send_batch(now, std::mem::take(&mut batch));
                    let failed = results.iter().filter(|r| r.is_err()).count();
                    tracing::trace!(target: "debug.ipc", "IPC: queued {} messages, {failed} refused", n - failed);
                }
            }
            () = sleep => {
                let now = d.now();
                d.assoc.handle_timeout(now);
            }
            _ = refresh.tick() => d.publish(),
        }
        d.flush().await;
    }
    let now = d.now();
    d.assoc.shutdown(now);
    d.flush().await;
    d.shared.up.store(false, Ordering::Release);
    d.publish();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_queue_is_bounded_by_bytes() {
        let b = QueueBudget::new(1000);
        // One message always fits an empty queue, however large.
        assert!(b.try_reserve(5000));
        assert!(!b.try_reserve(1));
        b.release(5000);
        assert_eq!(b.queued(), 0);
        for _ in 0..10 {
            assert!(b.try_reserve(100));
        }
        assert!(!b.try_reserve(1), "1000 bytes queued: full");
        assert_eq!(b.queued(), 1000);
        b.release(100);
        assert!(!b.try_reserve(101));
        assert!(b.try_reserve(100));
        assert_eq!(b.queued(), 1000);
        // Large messages fill it by bytes long before the message count bound.
        let big = QueueBudget::new(COMMAND_QUEUE_BYTES);
        let cost = queue_cost(MAX_PAYLOAD_LEN);
        let taken = (0..COMMAND_QUEUE).take_while(|_| big.try_reserve(cost)).count();
        assert_eq!(taken, COMMAND_QUEUE_BYTES / cost);
    }
}
