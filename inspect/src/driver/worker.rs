//! One NFQUEUE worker: an OS thread that owns one queue and one engine shard.
//!
//! Loop: `poll` the queue socket and the wake-up socket with a timeout that ends at the engine's next
//! deadline (capped); read up to [`BATCH_MAX`] packets without blocking into one arena, judge them
//! together with [`Shard::process_batch`] (which overlaps their session lookups), send the drops one by
//! one and then a single batch accept for everything else; run
//! `handle_timeout` when due; move engine events to the bounded event channel (never blocking: a full
//! channel counts the lost event); serve control-plane commands.

use std::os::fd::AsFd;
use std::os::unix::net::UnixDatagram;
use std::sync::Arc;

use crossbeam_channel::{Receiver, Sender, TrySendError};
use nix::errno::Errno;
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use serde::Serialize;
use timebase::{Instant, MonotonicClock};

use super::Shard;
use super::ifmap::IfMap;
use super::nfqueue::{NF_ACCEPT, NF_DROP, NfQueue, RECV_BUF_LEN, Received, nf_queue};
use super::steer::{PRUNE_INTERVAL, Steering};
use crate::engine::BatchPacket;

/// Most packets judged per wake-up before verdicts are flushed.
pub(crate) const BATCH_MAX: usize = 128;
/// Receive arena of one batch: every receive needs [`RECV_BUF_LEN`] free bytes (a datagram may carry a
/// 64 KiB packet), so a batch ends early only when the arena holds several large packets.
const ARENA_LEN: usize = 4 * RECV_BUF_LEN;

/// The reusable buffers of [`Worker::read_batch`] (no allocation per batch for them).
#[derive(Default)]
struct BatchScratch {
    /// Received packets waiting for the batch to be judged.
    pending: Vec<Pending>,
    /// The shard's decisions, one per pending packet.
    accepted: Vec<bool>,
}

/// A received packet waiting for the batch to be judged: where it lies in the arena.
struct Pending {
    /// Its entry in the verdict list.
    slot: usize,
    start: usize,
    len: usize,
    ingress: Option<u16>,
    egress: Option<u16>,
}
/// Longest sleep when the engine has no deadline (commands wake the worker through its socket).
const MAX_WAIT_MS: u16 = 1000;

/// A control-plane request run on the worker's thread against its shard.
pub(crate) type Job<S> = Box<dyn FnOnce(&mut S, &mut WorkerContext, Instant) + Send>;

/// What a worker thread receives.
pub(crate) enum Command<S> {
    /// Run a job on the shard.
    Run(Job<S>),
    /// Finish pending packets and exit.
    Stop,
}

/// Driver-side counters of one worker (the engine keeps its own per-reason counters).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct WorkerCounters {
    /// Packets received from the queue.
    pub packets: u64,
    /// Packets accepted.
    pub accepted: u64,
    /// Packets dropped.
    pub dropped: u64,
    /// Receive rounds that produced at least one packet.
    pub batches: u64,
    /// Largest number of packets judged in one round.
    pub max_batch: u64,
    /// Verdict messages sent (one per drop plus one batch accept per round).
    pub verdict_messages: u64,
    /// Verdicts the socket refused to send (those packets stay queued until the queue closes).
    pub verdict_errors: u64,
    /// Times the queue socket overflowed (ENOBUFS): the kernel lost packets meanwhile.
    pub overruns: u64,
    /// Other receive errors.
    pub recv_errors: u64,
    /// Error reports from the kernel on the queue socket.
    pub kernel_errors: u64,
    /// Datagrams that were not packets.
    pub other_messages: u64,
    /// Packets whose in- or out-interface index was not in the interface table.
    pub unknown_ifindex: u64,
    /// Engine events lost because the event channel was full.
    pub events_dropped: u64,
    /// Engine events forwarded to the control plane.
    pub events_sent: u64,
    /// Packets re-queued to the home queue because the home shard holds their flow (HA, several queues).
    pub steered: u64,
}

/// What happens to one packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Decision {
    Accept,
    Drop,
    /// Re-queue to the home queue.
    Steer,
}

/// Per-worker state that jobs may read or change besides the shard.
#[derive(Debug)]
pub(crate) struct WorkerContext {
    /// This worker's queue number.
    pub(crate) queue: u16,
    /// Driver counters.
    pub(crate) counters: WorkerCounters,
    /// ifindex → engine index.
    pub(crate) ifmap: IfMap,
}

pub(crate) struct Worker<S: Shard> {
    pub(crate) shard: S,
    pub(crate) queue: NfQueue,
    pub(crate) ctx: WorkerContext,
    pub(crate) commands: Receiver<Command<S>>,
    pub(crate) wake: UnixDatagram,
    pub(crate) events: Sender<S::Event>,
    pub(crate) clock: MonotonicClock,
    /// Position of this worker (0 = the home shard).
    pub(crate) index: u16,
    pub(crate) steer: Arc<Steering>,
}

impl<S: Shard> Worker<S> {
    /// Runs until a `Stop` command arrives or the command channel closes.
    pub(crate) fn run(mut self) {
        let mut buf = vec![0u8; ARENA_LEN];
        let mut verdicts: Vec<(u32, Decision)> = Vec::with_capacity(BATCH_MAX);
        let mut scratch = BatchScratch::default();
        let mut next_prune = self.clock.now();
        loop {
            let now = self.clock.now();
            let wait = self.wait_for(now);
            let (queue_ready, wake_ready) = {
                let mut fds = [
                    PollFd::new(self.queue.as_fd(), PollFlags::POLLIN),
                    PollFd::new(self.wake.as_fd(), PollFlags::POLLIN),
                ];
                match poll(&mut fds, wait) {
                    Ok(_) => (fds[0].any().unwrap_or(false), fds[1].any().unwrap_or(false)),
                    Err(Errno::EINTR) => (false, false),
                    Err(e) => {
                        tracing::error!(target: "syslog", "%FW-3-DATAPLANE: queue {} poll failed: {e}", self.ctx.queue);
                        return;
                    }
                }
            };
            if queue_ready {
                self.read_batch(&mut buf, &mut verdicts, &mut scratch);
            }
            let now = self.clock.now();
            if self.shard.poll_timeout().is_some_and(|t| t <= now) {
                self.shard.handle_timeout(now);
            }
            if self.index == 0 && self.steer.active() && now >= next_prune {
                let held = self.shard.held_flows(now);
                self.steer.retain(|f| held.contains(f));
                next_prune = now + PRUNE_INTERVAL;
            }
            self.forward_events();
            if wake_ready {
                let mut sink = [0u8; 64];
                while self.wake.recv(&mut sink).is_ok() {}
            }
            if !self.serve_commands() {
                // Verdict whatever is already queued to us before leaving.
                self.read_batch(&mut buf, &mut verdicts, &mut scratch);
                self.forward_events();
                let _ = self.queue.unbind();
                return;
            }
        }
    }

    fn wait_for(&self, now: Instant) -> PollTimeout {
        match self.shard.poll_timeout() {
            Some(t) if t <= now => PollTimeout::ZERO,
            Some(t) => {
                // Round up so a sub-millisecond remainder does not spin.
                let ms = t.saturating_since(now).as_micros().div_ceil(1000);
                PollTimeout::from(u16::try_from(ms).unwrap_or(MAX_WAIT_MS).min(MAX_WAIT_MS))
            }
            None => PollTimeout::from(MAX_WAIT_MS),
        }
    }

    /// Reads up to [`BATCH_MAX`] packets into `arena`, judges them as one batch, then sends their verdicts.
    fn read_batch(
        &mut self,
        arena: &mut [u8],
        verdicts: &mut Vec<(u32, Decision)>,
        scratch: &mut BatchScratch,
    ) {
        verdicts.clear();
        let now = self.clock.now();
        let BatchScratch { pending, accepted } = scratch;
        pending.clear();
        accepted.clear();
        let mut used = 0;
        while verdicts.len() < BATCH_MAX && arena.len() - used >= RECV_BUF_LEN {
            let base = arena.as_ptr() as usize;
            match self.queue.try_recv(&mut arena[used..]) {
                Ok(None) => break,
                Ok(Some((n, Received::Packet(p)))) => {
                    let start = p.payload.as_ptr() as usize - base;
                    let len = p.payload.len();
                    let c = &mut self.ctx.counters;
                    c.packets += 1;
                    let ingress = self.ctx.ifmap.lookup_or_refresh(p.indev, now);
                    let egress = self.ctx.ifmap.lookup_or_refresh(p.outdev, now);
                    if (p.indev != 0 && ingress.is_none()) || (p.outdev != 0 && egress.is_none()) {
                        self.ctx.counters.unknown_ifindex += 1;
                    }
                    if self.index != 0
                        && self.steer.active()
                        && S::flow_of(p.payload).is_some_and(|f| self.steer.contains(&f))
                    {
                        self.ctx.counters.steered += 1;
                        verdicts.push((p.id, Decision::Steer));
                    } else {
                        pending.push(Pending {
                            slot: verdicts.len(),
                            start,
                            len,
                            ingress,
                            egress,
                        });
                        verdicts.push((p.id, Decision::Drop));
                    }
                    // The next datagram goes after this one, 8-byte aligned.
                    used = (used + n).next_multiple_of(8);
                }
                Ok(Some((_, Received::Error(code)))) => {
                    if code != 0 {
                        self.ctx.counters.kernel_errors += 1;
                    }
                }
                Ok(Some((_, Received::Other))) => self.ctx.counters.other_messages += 1,
                Err(Errno::ENOBUFS) => self.ctx.counters.overruns += 1,
                Err(Errno::EINTR) => {}
                Err(e) => {
                    self.ctx.counters.recv_errors += 1;
                    tracing::debug!(target: "debug.ip.inspect", "queue {} recv: {e}", self.ctx.queue);
                    break;
                }
            }
        }
        let batch: Vec<BatchPacket<'_>> = pending
            .iter()
            .map(|q| BatchPacket {
                bytes: arena.get(q.start..q.start + q.len).unwrap_or_default(),
                ingress: q.ingress,
                egress: q.egress,
            })
            .collect();
        self.shard.process_batch(now, &batch, accepted);
        for (q, &ok) in pending.iter().zip(accepted.iter()) {
            if ok {
                verdicts[q.slot].1 = Decision::Accept;
            }
        }
        if verdicts.is_empty() {
            return;
        }
        let c = &mut self.ctx.counters;
        c.batches += 1;
        c.max_batch = c.max_batch.max(verdicts.len() as u64);
        // Drops (and re-queues) first, one by one; then one batch accept for the newest accepted id, which
        // covers every older packet of this queue still waiting (all accepted: the others are gone already).
        let mut last_accept = None;
        for &(id, decision) in verdicts.iter() {
            let verdict = match decision {
                Decision::Accept => {
                    c.accepted += 1;
                    last_accept = Some(id);
                    continue;
                }
                Decision::Drop => {
                    c.dropped += 1;
                    NF_DROP
                }
                Decision::Steer => nf_queue(self.steer.home_queue),
            };
            c.verdict_messages += 1;
            if self.queue.verdict(id, verdict).is_err() {
                c.verdict_errors += 1;
            }
        }
        if let Some(id) = last_accept {
            c.verdict_messages += 1;
            if self.queue.verdict_batch(id, NF_ACCEPT).is_err() {
                c.verdict_errors += 1;
            }
        }
    }

    fn forward_events(&mut self) {
        while let Some(ev) = self.shard.poll_event() {
            match self.events.try_send(ev) {
                Ok(()) => self.ctx.counters.events_sent += 1,
                Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => {
                    self.ctx.counters.events_dropped += 1;
                }
            }
        }
    }

    /// Serves every waiting command; false when the worker must stop.
    fn serve_commands(&mut self) -> bool {
        loop {
            match self.commands.try_recv() {
                Ok(Command::Run(job)) => {
                    let now = self.clock.now();
                    job(&mut self.shard, &mut self.ctx, now);
                    self.forward_events();
                }
                Ok(Command::Stop) => return false,
                Err(crossbeam_channel::TryRecvError::Empty) => return true,
                Err(crossbeam_channel::TryRecvError::Disconnected) => return false,
            }
        }
    }
}
