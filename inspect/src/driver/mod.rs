//! The Linux data plane: NFQUEUE workers that run engine shards on forwarded packets, and the
//! daemon's own packet-filter rules that feed them.
//!
//! [`DataPlane::start`] binds one queue per worker (each worker is an OS thread owning one engine
//! shard), then installs the rules (native nftables where the kernel supports `queue`, else the xtables
//! `NFQUEUE` target) that queue forwarded packets of the interfaces carrying `ip inspect` or
//! `ip access-group`. The returned [`DataPlaneHandle`] carries engine events to the control plane and
//! runs control-plane requests on the workers; [`DataPlaneHandle::stop`] removes the rules, then stops
//! the workers. Rule changes always run in the network namespace the data plane was started in, whatever
//! thread asks for them. See `docs/inspect-dataplane.md` for fail modes and the interplay with the
//! operator's rules.

mod engine;
mod error;
mod ifmap;
mod nfqueue;
pub mod rules;
mod steer;
mod worker;

use std::collections::HashSet;
use std::fs::File;
use std::hash::{BuildHasher, Hasher};
use std::os::unix::net::UnixDatagram;
use std::sync::Arc;
use std::thread::JoinHandle;

use crossbeam_channel::{Receiver, Sender, bounded};
use serde::Serialize;
use timebase::{Instant, MonotonicClock};

pub use engine::EngineDataPlane;
pub use error::{DataPlaneError, NfQueueError, RuleError};
pub use rules::{Backend, BackendChoice};
pub use steer::FlowId;
pub use worker::WorkerCounters;

use crate::engine::BatchPacket;
use rules::{InstalledRules, RuleSpec};
use steer::Steering;
use worker::{Command, Job, Worker, WorkerContext};

/// What the data plane needs from an engine shard. [`crate::Engine`] implements it; tests and
/// benchmarks may plug in something simpler.
pub trait Shard: Send + 'static {
    /// The shard's configuration.
    type Config: Clone + Send + 'static;
    /// Events the shard hands to the control plane.
    type Event: Send + 'static;
    /// Creates shard `index` of `count`.
    fn new_shard(cfg: Self::Config, index: u16, count: u16, hash_seed: u64) -> Self;
    /// Replaces the configuration of shard `index` of `count`.
    fn reconfigure_shard(&mut self, cfg: Self::Config, index: u16, count: u16);
    /// Engine indices of the interfaces whose forwarded packets must be queued.
    fn queued_interfaces(cfg: &Self::Config) -> Vec<u16>;
    /// Judges one packet (from its IP header on); true = accept.
    fn process(&mut self, now: Instant, packet: &[u8], ingress: Option<u16>, egress: Option<u16>) -> bool;
    /// Judges a batch of packets in order, pushing one decision (true = accept) per packet onto
    /// `accepted`. The default judges them one by one.
    fn process_batch(&mut self, now: Instant, packets: &[BatchPacket<'_>], accepted: &mut Vec<bool>) {
        accepted.extend(
            packets
                .iter()
                .map(|p| self.process(now, p.bytes, p.ingress, p.egress)),
        );
    }
    /// Runs expired timers.
    fn handle_timeout(&mut self, now: Instant);
    /// The next deadline.
    fn poll_timeout(&self) -> Option<Instant>;
    /// The next event.
    fn poll_event(&mut self) -> Option<Self::Event>;
    /// The direction-independent flow of a packet, for steering flows held by the home shard to it
    /// (several queues with HA). The default steers nothing.
    fn flow_of(_packet: &[u8]) -> Option<FlowId> {
        None
    }
    /// The flows this shard holds as HA sessions (the home shard prunes the steering set with it).
    fn held_flows(&mut self, _now: Instant) -> HashSet<FlowId> {
        HashSet::new()
    }
}

/// How to start the data plane.
#[derive(Clone, Debug)]
pub struct DataPlaneSpec<C> {
    /// First NFQUEUE queue number (default 0).
    pub queue_base: u16,
    /// Number of workers = queues (default 1; HA standby state needs 1, see the docs).
    pub workers: u16,
    /// Fail open: packets pass when the daemon is not listening (`bypass`) or a queue is full.
    /// Default false (fail closed: such packets are dropped).
    pub fail_open: bool,
    /// Rule backend (default: native nftables when the kernel supports it, else iptables).
    pub backend: BackendChoice,
    /// Kernel queue length per queue (packets waiting for a verdict; default 4096).
    pub queue_max_len: u32,
    /// Engine interface index → Linux interface name, for every configured interface.
    pub interfaces: Vec<(u16, String)>,
    /// The shards' configuration.
    pub engine_config: C,
    /// Capacity of the event channel (default 65536).
    pub event_capacity: usize,
    /// The daemon's clock (so instants agree with the rest of the daemon).
    pub clock: MonotonicClock,
}

impl<C> DataPlaneSpec<C> {
    /// A spec with the defaults above.
    pub fn new(engine_config: C, interfaces: Vec<(u16, String)>, clock: MonotonicClock) -> Self {
        Self {
            queue_base: 0,
            workers: 1,
            fail_open: false,
            backend: BackendChoice::Auto,
            queue_max_len: 4096,
            interfaces,
            engine_config,
            event_capacity: 65536,
            clock,
        }
    }
}

/// Status of one worker.
#[derive(Clone, Debug, Serialize)]
pub struct WorkerStatus<T> {
    /// Queue number.
    pub queue: u16,
    /// Driver counters.
    pub counters: WorkerCounters,
    /// (ifindex, engine interface index) pairs currently resolved.
    pub interfaces: Vec<(u32, u16)>,
    /// What the caller asked the shard for.
    pub shard: T,
}

/// Entry point.
#[derive(Debug)]
pub struct DataPlane;

impl DataPlane {
    /// Binds the queues, starts the workers and installs the rules. Must be called on a thread that
    /// is in the router's network namespace; everything the data plane does later happens there.
    pub fn start<S: Shard>(spec: DataPlaneSpec<S::Config>) -> Result<DataPlaneHandle<S>, DataPlaneError> {
        if spec.workers == 0 {
            return Err(DataPlaneError::InvalidSpec("workers must be at least 1".into()));
        }
        if u32::from(spec.queue_base) + u32::from(spec.workers) > 65536 {
            return Err(DataPlaneError::InvalidSpec("queue numbers exceed 65535".into()));
        }
        // Rule changes requested later from other threads must happen in this namespace: remember it, and
        // refuse to start when it cannot be remembered rather than risk editing another namespace's rules.
        let netns = File::open("/proc/thread-self/ns/net").map_err(|e| {
            DataPlaneError::Namespace(nix::errno::Errno::from_raw(e.raw_os_error().unwrap_or(0)))
        })?;
        let (event_tx, event_rx) = bounded(spec.event_capacity.max(1));
        let steer = Arc::new(Steering::new(spec.queue_base));
        let mut workers = Vec::with_capacity(usize::from(spec.workers));
        let flags = if spec.fail_open {
            nfqueue::NFQA_CFG_F_FAIL_OPEN
        } else {
            0
        } | nfqueue::NFQA_CFG_F_GSO;
        for i in 0..spec.workers {
            let queue_num = spec.queue_base + i;
            let queue = nfqueue::NfQueue::open(queue_num, spec.queue_max_len, flags)?;
            let (wake_tx, wake_rx) = UnixDatagram::pair().map_err(DataPlaneError::Thread)?;
            wake_tx.set_nonblocking(true).map_err(DataPlaneError::Thread)?;
            wake_rx.set_nonblocking(true).map_err(DataPlaneError::Thread)?;
            let (cmd_tx, cmd_rx) = crossbeam_channel::unbounded();
            let cfg = spec.engine_config.clone();
            let names = spec.interfaces.clone();
            let events = event_tx.clone();
            let clock = spec.clock;
            let count = spec.workers;
            let steer_w = steer.clone();
            let thread = std::thread::Builder::new()
                .name(format!("nfq-{queue_num}"))
                .spawn(move || {
                    let worker = Worker {
                        shard: S::new_shard(cfg, i, count, random_seed()),
                        queue,
                        ctx: WorkerContext {
                            queue: queue_num,
                            counters: WorkerCounters::default(),
                            ifmap: ifmap::IfMap::new(names),
                        },
                        commands: cmd_rx,
                        wake: wake_rx,
                        events,
                        clock,
                        index: i,
                        steer: steer_w,
                    };
                    worker.run();
                })
                .map_err(DataPlaneError::Thread)?;
            workers.push(WorkerHandle {
                queue: queue_num,
                commands: cmd_tx,
                wake: wake_tx,
                thread: Some(thread),
            });
        }
        let rule_spec = RuleSpec {
            queue_base: spec.queue_base,
            queues: spec.workers,
            fail_open: spec.fail_open,
            interfaces: queued_names::<S>(&spec.engine_config, &spec.interfaces),
        };
        let mut handle = DataPlaneHandle {
            workers,
            events: event_rx,
            rules: None,
            netns,
            fail_open: spec.fail_open,
            interfaces: spec.interfaces,
            steer,
        };
        match InstalledRules::install(rule_spec, spec.backend) {
            Ok(rules) => {
                tracing::info!(
                    target: "syslog",
                    "%FW-6-DATAPLANE_START: {} queue(s) from {} via {:?}, fail-{}",
                    spec.workers,
                    spec.queue_base,
                    rules.backend(),
                    if spec.fail_open { "open" } else { "closed" }
                );
                handle.rules = Some(rules);
                Ok(handle)
            }
            Err(e) => {
                handle.stop_workers();
                Err(e.into())
            }
        }
    }
}

/// Linux names of the interfaces whose traffic is queued.
fn queued_names<S: Shard>(cfg: &S::Config, interfaces: &[(u16, String)]) -> Vec<String> {
    let wanted = S::queued_interfaces(cfg);
    let mut names: Vec<String> = interfaces
        .iter()
        .filter(|(i, _)| wanted.contains(i))
        .map(|(_, n)| n.clone())
        .collect();
    names.sort();
    names.dedup();
    names
}

/// A per-process random seed for a shard's hash (std's `RandomState` draws its keys from the OS).
fn random_seed() -> u64 {
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(0x9e37_79b9_7f4a_7c15);
    h.finish()
}

struct WorkerHandle<S> {
    queue: u16,
    commands: Sender<Command<S>>,
    wake: UnixDatagram,
    thread: Option<JoinHandle<()>>,
}

impl<S> WorkerHandle<S> {
    fn send(&self, cmd: Command<S>) -> Result<(), DataPlaneError> {
        self.commands
            .send(cmd)
            .map_err(|_| DataPlaneError::WorkerGone(self.queue))?;
        let _ = self.wake.send(&[1]);
        Ok(())
    }
}

/// The running data plane.
pub struct DataPlaneHandle<S: Shard> {
    workers: Vec<WorkerHandle<S>>,
    events: Receiver<S::Event>,
    rules: Option<InstalledRules>,
    netns: File,
    fail_open: bool,
    interfaces: Vec<(u16, String)>,
    steer: Arc<Steering>,
}

impl<S: Shard> std::fmt::Debug for DataPlaneHandle<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DataPlaneHandle")
            .field(
                "queues",
                &self.workers.iter().map(|w| w.queue).collect::<Vec<_>>(),
            )
            .field("rules", &self.rules)
            .field("fail_open", &self.fail_open)
            .finish_non_exhaustive()
    }
}

impl<S: Shard> DataPlaneHandle<S> {
    /// The engine events of every worker (HA add/update/delete, audit lines), in one bounded channel.
    pub fn events(&self) -> Receiver<S::Event> {
        self.events.clone()
    }

    /// Queue numbers, one per worker.
    pub fn queues(&self) -> Vec<u16> {
        self.workers.iter().map(|w| w.queue).collect()
    }

    /// The rule backend in use (None after `stop`).
    pub fn backend(&self) -> Option<Backend> {
        self.rules.as_ref().map(InstalledRules::backend)
    }

    /// Whether the data plane fails open.
    pub fn fail_open(&self) -> bool {
        self.fail_open
    }

    /// The engine index → Linux name map in force.
    pub fn interfaces(&self) -> &[(u16, String)] {
        &self.interfaces
    }

    /// Flows currently steered to the home shard (HA copies held there; 0 outside failovers).
    pub fn steered_flows(&self) -> usize {
        self.steer.len()
    }

    /// Runs `f` on every worker's shard (on the worker threads) and returns the results in queue order.
    pub fn on_each<T, F>(&self, f: F) -> Result<Vec<WorkerStatus<T>>, DataPlaneError>
    where
        T: Send + 'static,
        F: Fn(&mut S, Instant) -> T + Clone + Send + 'static,
    {
        let mut replies = Vec::with_capacity(self.workers.len());
        for w in &self.workers {
            let (tx, rx) = bounded(1);
            let f = f.clone();
            let job: Job<S> = Box::new(move |shard, ctx, now| {
                let shard = f(shard, now);
                let _ = tx.send(WorkerStatus {
                    queue: ctx.queue,
                    counters: ctx.counters,
                    interfaces: ctx.ifmap.resolved().to_vec(),
                    shard,
                });
            });
            w.send(Command::Run(job))?;
            replies.push((w.queue, rx));
        }
        replies
            .into_iter()
            .map(|(q, rx)| rx.recv().map_err(|_| DataPlaneError::WorkerGone(q)))
            .collect()
    }

    /// Runs `f` on the shard of worker `index` only.
    pub fn on_worker<T, F>(&self, index: usize, f: F) -> Result<T, DataPlaneError>
    where
        T: Send + 'static,
        F: FnOnce(&mut S, Instant) -> T + Send + 'static,
    {
        let w = self
            .workers
            .get(index)
            .ok_or(DataPlaneError::WorkerGone(u16::MAX))?;
        let (tx, rx) = bounded(1);
        let job: Job<S> = Box::new(move |shard, _ctx, now| {
            let _ = tx.send(f(shard, now));
        });
        w.send(Command::Run(job))?;
        rx.recv().map_err(|_| DataPlaneError::WorkerGone(w.queue))
    }

    /// Applies a new configuration and interface map: every shard is reconfigured, every worker's
    /// interface table rebuilt, and the rules updated to the new set of queued interfaces.
    pub fn reconfigure(
        &mut self,
        cfg: S::Config,
        interfaces: Vec<(u16, String)>,
    ) -> Result<(), DataPlaneError> {
        let count = u16::try_from(self.workers.len()).unwrap_or(u16::MAX);
        let names = queued_names::<S>(&cfg, &interfaces);
        for (i, w) in self.workers.iter().enumerate() {
            let (tx, rx) = bounded(1);
            let cfg = cfg.clone();
            let map = interfaces.clone();
            let index = u16::try_from(i).unwrap_or(u16::MAX);
            let job: Job<S> = Box::new(move |shard, ctx, _now| {
                shard.reconfigure_shard(cfg, index, count);
                ctx.ifmap = ifmap::IfMap::new(map);
                let _ = tx.send(());
            });
            w.send(Command::Run(job))?;
            rx.recv().map_err(|_| DataPlaneError::WorkerGone(w.queue))?;
        }
        self.interfaces = interfaces;
        if let Some(rules) = self.rules.as_mut()
            && rules.spec().interfaces != names
        {
            in_netns(&self.netns, || rules.update(names))??;
        }
        Ok(())
    }

    /// Removes the rules, then stops the workers (each answers what is already queued to it first).
    pub fn stop(mut self) -> Result<(), DataPlaneError> {
        let result = self.remove_rules();
        self.stop_workers();
        result
    }

    fn remove_rules(&mut self) -> Result<(), DataPlaneError> {
        let Some(mut rules) = self.rules.take() else {
            return Ok(());
        };
        in_netns(&self.netns, || rules.remove())??;
        tracing::info!(target: "syslog", "%FW-6-DATAPLANE_STOP: data-plane rules removed");
        Ok(())
    }

    fn stop_workers(&mut self) {
        for w in &self.workers {
            let _ = w.send(Command::Stop);
        }
        for w in &mut self.workers {
            if let Some(t) = w.thread.take() {
                let _ = t.join();
            }
        }
    }
}

impl<S: Shard> Drop for DataPlaneHandle<S> {
    fn drop(&mut self) {
        if let Err(e) = self.remove_rules() {
            tracing::error!(target: "syslog", "%FW-3-DATAPLANE: cannot remove data-plane rules: {e}");
        }
        self.stop_workers();
    }
}

/// Runs `f` in the network namespace `ns` (on a short-lived thread that enters it).
fn in_netns<T: Send, F: FnOnce() -> T + Send>(ns: &File, f: F) -> Result<T, DataPlaneError> {
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                nix::sched::setns(ns, nix::sched::CloneFlags::CLONE_NEWNET)
                    .map_err(DataPlaneError::Namespace)?;
                Ok(f())
            })
            .join()
            .unwrap_or(Err(DataPlaneError::Namespace(nix::errno::Errno::EINTR)))
    })
}
