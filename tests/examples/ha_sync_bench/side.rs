//! One side of the benchmark: an IPC association and an HA sync client, pumped on the calling thread.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::{Duration as StdDuration, Instant as StdInstant};

use inspect::ha::{HaSync, SessionStore, SyncAction, SyncConfig, SyncRole};
use ipc::{AssociationConfig, ClientId, IpcEvent, IpcHandle, MessageKind, SendError, TransportChoice};
use timebase::Instant;

use crate::cpu_time::{driver_cpu, new_driver_thread, task_ids, thread_cpu};
use crate::shared::{BulkResult, Shared};
use crate::{FEED_QUEUE_LIMIT, PORT, SEND_RETRY};

/// An association and the sync client it carries.
pub(crate) struct Side {
    /// The sync client (Active or Standby).
    pub(crate) sync: HaSync,
    /// The association.
    pub(crate) ipc: IpcHandle,
    events: tokio::sync::mpsc::Receiver<IpcEvent>,
    shared: Arc<Shared>,
    /// Since when the association refuses batches (`QueueFull`); retried after [`SEND_RETRY`].
    blocked_since: Option<StdInstant>,
    /// The association is up.
    pub(crate) up: bool,
    /// Wall clock, thread CPU and driver CPU when this standby requested a bulk.
    bulk_started: Option<(StdInstant, StdDuration, StdDuration)>,
    /// The association's IPC driver thread, when found.
    pub(crate) driver_tid: Option<u32>,
}

impl Side {
    /// Spawns the association from `local` to `remote` (raw-IP SCTP, the knobs applied) and a sync client
    /// in `role`, and looks for the association's IPC driver thread (the only `ipc-assoc-*` thread that
    /// appears meanwhile: the other side must not start its association at the same time).
    pub(crate) fn start(
        role: SyncRole,
        local: Ipv4Addr,
        remote: Ipv4Addr,
        shared: Arc<Shared>,
    ) -> anyhow::Result<Self> {
        let mut cfg = AssociationConfig::new(PORT, PORT, vec![IpAddr::V4(local)], vec![IpAddr::V4(remote)])?;
        cfg.transport = TransportChoice::Raw;
        cfg.security_key.clone_from(&shared.knobs.key);
        if let Some(mtu) = shared.knobs.mtu {
            cfg.mtu = mtu;
        }
        if let Some(bytes) = shared.knobs.send_queue_bytes {
            cfg.send_queue_bytes = bytes;
        }
        let before = task_ids();
        let (ipc, events) = ipc::spawn(cfg)?;
        let driver_tid = new_driver_thread(&before);
        Ok(Self {
            sync: HaSync::new(role, SyncConfig::default()),
            ipc,
            events,
            shared,
            blocked_since: None,
            up: false,
            bulk_started: None,
            driver_tid,
        })
    }

    /// The benchmark's clock as the cores take it.
    pub(crate) fn now(&self) -> Instant {
        Instant::from_micros(self.shared.micros())
    }

    /// One round: IPC events, timers, actions. Returns whether anything happened.
    pub(crate) fn pump<S: SessionStore>(&mut self, store: &mut S) -> bool {
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
                                driver_cpu(self.driver_tid).saturating_sub(dcpu),
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

    /// Sleeps a moment when the last round found nothing to do.
    pub(crate) fn idle(&self, busy: bool) {
        if !busy {
            std::thread::sleep(StdDuration::from_micros(50));
        }
    }

    /// One round, then a moment's sleep when it found nothing to do.
    pub(crate) fn pump_idle<S: SessionStore>(&mut self, store: &mut S) {
        let busy = self.pump(store);
        self.idle(busy);
    }

    /// Pumps until `done` holds (true) or `deadline` passes (false).
    pub(crate) fn pump_until<S: SessionStore>(
        &mut self,
        store: &mut S,
        deadline: StdInstant,
        mut done: impl FnMut(&Self) -> bool,
    ) -> bool {
        loop {
            if done(self) {
                return true;
            }
            if StdInstant::now() >= deadline {
                return false;
            }
            self.pump_idle(store);
        }
    }

    /// Pumps for a moment so the last batches and acknowledgements pass and counters refresh.
    pub(crate) fn settle<S: SessionStore>(&mut self, store: &mut S) {
        self.pump_until(store, StdInstant::now() + StdDuration::from_millis(250), |_| {
            false
        });
    }

    /// Starts the clocks of a bulk synchronization this (standby) side requests: wall time, CPU of this
    /// thread and of the IPC driver.
    pub(crate) fn start_bulk_clock(&mut self) {
        self.bulk_started = Some((StdInstant::now(), thread_cpu(), driver_cpu(self.driver_tid)));
    }

    /// Whether the Active has handed everything to the transport.
    pub(crate) fn drained(&self) -> bool {
        self.blocked_since.is_none() && self.sync.queue_depth() == 0
    }

    /// Whether the Active may queue more records (the transport is not blocked, the queue is short).
    pub(crate) fn can_feed(&self) -> bool {
        self.blocked_since.is_none() && self.sync.queue_depth() < FEED_QUEUE_LIMIT
    }
}
