//! The inspect side of the node: one OS thread (`iosha-ha`) that owns the NFQUEUE data plane handle and the
//! HA sync object, and executes every session-store operation on the data-plane worker that owns the engine.
//!
//! Design: the engine lives in the data-plane worker thread (worker 0 is the home shard of HA sessions). The
//! [`HaSync`] sits in an `Arc<Mutex<_>>`; every call that needs the store (`handle_message`, `handle_timeout`,
//! `statistics`) is shipped to the worker with `on_worker(0, ..)` and runs there, between two verdict batches,
//! with `&mut Engine` in hand. Engine events (HA add/update/delete, audit lines) come back on the data
//! plane's bounded event channel and are fed to the sync here (they need no store). The packet path never
//! waits for this thread or for the IPC association: the worker only runs a job when it is between batches,
//! and everything this thread sends to the peer goes through the non-blocking `IpcHandle::send`.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration as StdDuration;

use crossbeam_channel::{Receiver, Sender, select, unbounded};
use inspect::driver::{DataPlane, DataPlaneSpec, EngineDataPlane};
use inspect::ha::{HaSync, SyncAction, SyncRole, feed_engine_event};
use inspect::{EngineEvent, HaRole, HaState};
use ipc::{IpcHandle, SendError};
use sso::ClientNotice;
use timebase::MonotonicClock;
use tokio::sync::{mpsc, oneshot};

use super::mapping::InspectPlan;
use crate::daemon::ExecOutput;

/// How long a batch refused with `QueueFull` waits before it is offered again.
const SEND_RETRY: StdDuration = StdDuration::from_millis(5);
/// Longest sleep of the loop when nothing is due (keeps the clock-driven sync honest).
const IDLE_WAKE: StdDuration = StdDuration::from_millis(500);

/// What the HA thread reports to the node's orchestration task.
#[derive(Debug)]
pub enum HaReport {
    /// A standby bulk sync ended (count and digest checked: `ok`).
    BulkDone {
        /// Sessions announced by the Active.
        sessions: u64,
        /// Count and digest matched.
        ok: bool,
    },
}

/// Requests to the HA thread.
pub enum HaCmd {
    /// Bytes from the peer's inspect HA client.
    Peer(Vec<u8>),
    /// The association came up.
    LinkUp,
    /// The association went down.
    LinkDown,
    /// A redundancy-manager notice for the inspect HA client.
    Notice(ClientNotice),
    /// The association handle to send with (None while there is none).
    SetIpc(Option<IpcHandle>),
    /// An exec command of the inspect component.
    Exec {
        /// Command key.
        key: String,
        /// Arguments.
        args: Vec<String>,
        /// The answer.
        reply: oneshot::Sender<ExecOutput>,
    },
    /// Flush the HA sessions and ask the Active for a bulk (standby without a redundancy manager).
    FlushAndResync,
    /// A new configuration that the data plane can take live.
    Reconfigure(Box<InspectPlan>, oneshot::Sender<Result<(), String>>),
    /// Stop: remove the rules and join the workers.
    Stop(oneshot::Sender<()>),
}

/// The running HA thread.
pub struct HaThread {
    tx: Sender<HaCmd>,
    join: Option<JoinHandle<()>>,
    plan: InspectPlan,
}

impl HaThread {
    /// Starts the data plane (in this process's network namespace) and the HA thread.
    pub fn start(
        plan: InspectPlan,
        sync_config: inspect::ha::SyncConfig,
        clock: MonotonicClock,
        reports: mpsc::UnboundedSender<HaReport>,
    ) -> Result<Self, String> {
        let (tx, rx) = unbounded();
        let (ready_tx, ready_rx) = std::sync::mpsc::channel::<Result<(), String>>();
        let thread_plan = plan.clone();
        let join = std::thread::Builder::new()
            .name("iosha-ha".into())
            .spawn(move || {
                let mut spec =
                    DataPlaneSpec::new(thread_plan.engine.clone(), thread_plan.interfaces.clone(), clock);
                spec.queue_base = thread_plan.queue_base;
                spec.workers = thread_plan.workers;
                spec.fail_open = thread_plan.fail_open;
                let dp: EngineDataPlane = match DataPlane::start(spec) {
                    Ok(dp) => dp,
                    Err(e) => {
                        let _ = ready_tx.send(Err(format!("inspect data plane: {e}")));
                        return;
                    }
                };
                let _ = ready_tx.send(Ok(()));
                let mut state = HaState_ {
                    sync: Arc::new(Mutex::new(HaSync::new(SyncRole::Standby, sync_config))),
                    dp: Some(dp),
                    ipc: None,
                    clock,
                    reports,
                    blocked_since: None,
                    plan: thread_plan,
                };
                state.run(&rx);
            })
            .map_err(|e| format!("cannot start the HA thread: {e}"))?;
        match ready_rx.recv() {
            Ok(Ok(())) => Ok(Self {
                tx,
                join: Some(join),
                plan,
            }),
            Ok(Err(e)) => {
                let _ = join.join();
                Err(e)
            }
            Err(_) => {
                let _ = join.join();
                Err("the HA thread ended during start".into())
            }
        }
    }

    /// Sends a request (ignored when the thread is gone).
    pub fn send(&self, cmd: HaCmd) {
        let _ = self.tx.send(cmd);
    }

    /// The plan the data plane runs.
    pub fn plan(&self) -> &InspectPlan {
        &self.plan
    }

    /// Replaces the plan recorded after a live reconfiguration.
    pub fn set_plan(&mut self, plan: InspectPlan) {
        self.plan = plan;
    }

    /// Stops the data plane (rules removed) and joins the thread.
    pub async fn stop(mut self) {
        let (tx, rx) = oneshot::channel();
        if self.tx.send(HaCmd::Stop(tx)).is_ok() {
            let _ = rx.await;
        }
        if let Some(j) = self.join.take() {
            let _ = tokio::task::spawn_blocking(move || j.join()).await;
        }
    }
}

fn lock(sync: &Mutex<HaSync>) -> MutexGuard<'_, HaSync> {
    sync.lock().unwrap_or_else(PoisonError::into_inner)
}

// Named with a trailing underscore so it does not clash with inspect's `HaState` (a session's HA state).
struct HaState_ {
    sync: Arc<Mutex<HaSync>>,
    dp: Option<EngineDataPlane>,
    ipc: Option<IpcHandle>,
    clock: MonotonicClock,
    reports: mpsc::UnboundedSender<HaReport>,
    blocked_since: Option<std::time::Instant>,
    plan: InspectPlan,
}

impl HaState_ {
    fn run(&mut self, rx: &Receiver<HaCmd>) {
        let Some(events) = self.dp.as_ref().map(EngineDataPlane::events) else {
            return;
        };
        loop {
            let wait = self.next_wait();
            select! {
                recv(rx) -> cmd => match cmd {
                    Ok(HaCmd::Stop(reply)) => {
                        self.stop();
                        let _ = reply.send(());
                        return;
                    }
                    Ok(cmd) => self.handle(cmd),
                    Err(_) => {
                        self.stop();
                        return;
                    }
                },
                recv(events) -> ev => {
                    if let Ok(ev) = ev {
                        self.on_event(ev);
                        // Drain what else is queued in one go.
                        for _ in 0..4096 {
                            match events.try_recv() {
                                Ok(ev) => self.on_event(ev),
                                Err(_) => break,
                            }
                        }
                    }
                },
                default(wait) => {},
            }
            self.on_timers();
            self.drain_actions();
        }
    }

    fn stop(&mut self) {
        if let Some(dp) = self.dp.take()
            && let Err(e) = dp.stop()
        {
            tracing::warn!("inspect data plane stop: {e}");
        }
    }

    fn next_wait(&self) -> StdDuration {
        let now = self.clock.now();
        let mut wait = IDLE_WAKE;
        if let Some(due) = lock(&self.sync).poll_timeout() {
            wait = wait.min(due.saturating_since(now).to_std());
        }
        if self.blocked_since.is_some() {
            wait = wait.min(SEND_RETRY);
        }
        wait
    }

    fn on_timers(&mut self) {
        let now = self.clock.now();
        if let Some(since) = self.blocked_since
            && since.elapsed() >= SEND_RETRY
        {
            self.blocked_since = None;
            lock(&self.sync).handle_send_ready(now);
        }
        let due = lock(&self.sync).poll_timeout().is_some_and(|t| t <= now);
        if due {
            let sync = self.sync.clone();
            self.on_engine(move |eng, now| lock(&sync).handle_timeout(now, &*eng));
        }
    }

    /// Runs `f` on the home shard's worker with the engine (blocking this thread, never the worker).
    fn on_engine<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut inspect::Engine, timebase::Instant) -> T + Send + 'static,
    ) -> Option<T> {
        let dp = self.dp.as_ref()?;
        match dp.on_worker(0, f) {
            Ok(v) => Some(v),
            Err(e) => {
                tracing::error!(target: "syslog", "%FW_HA-3-DATAPLANE: inspect worker unavailable: {e}");
                None
            }
        }
    }

    fn set_roles(&self, role: SyncRole) {
        let now = self.clock.now();
        let engine_role = match role {
            SyncRole::Active => HaRole::Active,
            SyncRole::Standby => HaRole::Standby,
        };
        if let Some(dp) = self.dp.as_ref()
            && let Err(e) = dp.set_ha_role(engine_role)
        {
            tracing::warn!("inspect: cannot set the HA role: {e}");
        }
        lock(&self.sync).set_role(now, role);
    }

    fn flush(&self, why: &str) {
        let now = self.clock.now();
        let removed = self
            .dp
            .as_ref()
            .and_then(|dp| dp.ha_digest().ok())
            .map_or(0, |(n, _)| n);
        if let Some(dp) = self.dp.as_ref()
            && let Err(e) = dp.clear_ha_sessions()
        {
            tracing::warn!("inspect: cannot clear the HA sessions: {e}");
        }
        tracing::info!(target: "syslog", "%FW_HA-6-HA_STATE_FLUSHED: {removed} HA sessions removed ({why})");
        let _ = now;
    }

    fn handle(&mut self, cmd: HaCmd) {
        let now = self.clock.now();
        match cmd {
            HaCmd::Peer(payload) => {
                let sync = self.sync.clone();
                self.on_engine(move |eng, now| lock(&sync).handle_message(now, &payload, eng));
            }
            HaCmd::LinkUp => lock(&self.sync).handle_link_up(now),
            HaCmd::LinkDown => lock(&self.sync).handle_link_down(now),
            HaCmd::SetIpc(h) => self.ipc = h,
            HaCmd::Notice(n) => self.on_notice(n),
            HaCmd::FlushAndResync => {
                self.flush("clear ip inspect ha sessions-all");
                lock(&self.sync).force_bulk(now);
            }
            HaCmd::Exec { key, args, reply } => {
                let out = self.exec(&key, &args);
                let _ = reply.send(out);
            }
            HaCmd::Reconfigure(plan, reply) => {
                let result = match self.dp.as_mut() {
                    Some(dp) => dp
                        .reconfigure(plan.engine.clone(), plan.interfaces.clone())
                        .map_err(|e| format!("inspect data plane: {e}")),
                    None => Err("inspect data plane is not running".into()),
                };
                if result.is_ok() {
                    self.plan = *plan;
                }
                let _ = reply.send(result);
            }
            HaCmd::Stop(_) => {}
        }
    }

    fn on_notice(&mut self, notice: ClientNotice) {
        let now = self.clock.now();
        tracing::debug!(target: "debug.ip.inspect.ha.manager", "redundancy notice {notice:?}");
        match notice {
            ClientNotice::BecomeActive => self.set_roles(SyncRole::Active),
            ClientNotice::BecomeStandby => self.set_roles(SyncRole::Standby),
            ClientNotice::StartBulkSync => lock(&self.sync).request_bulk(now),
            ClientNotice::Flush => {
                self.flush("redundancy reload");
                self.set_roles(SyncRole::Standby);
            }
            _ => {}
        }
    }

    fn on_event(&mut self, ev: EngineEvent) {
        let now = self.clock.now();
        if feed_engine_event(&mut lock(&self.sync), now, &ev) {
            return;
        }
        match ev {
            EngineEvent::Audit(line) => log_line(&line.text),
            EngineEvent::HaPromoted { sessions } => {
                tracing::debug!(target: "debug.ip.inspect.ha", "{sessions} standby sessions promoted to active");
            }
            _ => {}
        }
    }

    fn drain_actions(&mut self) {
        loop {
            if self.blocked_since.is_some() {
                return;
            }
            let action = lock(&self.sync).poll_action();
            let Some(action) = action else { return };
            match action {
                SyncAction::Send(batch) => {
                    let Some(ipc) = self.ipc.as_ref() else { continue };
                    match ipc.send(
                        ipc::ClientId::INSPECT,
                        ipc::MessageKind::INSPECT_SYNC,
                        batch.clone(),
                    ) {
                        Ok(()) => {}
                        Err(SendError::QueueFull) => {
                            lock(&self.sync).handle_send_blocked(self.clock.now(), batch);
                            self.blocked_since = Some(std::time::Instant::now());
                        }
                        Err(e) => {
                            tracing::debug!(target: "debug.ip.inspect.ha.update", "sync batch not sent: {e}");
                        }
                    }
                }
                SyncAction::BulkComplete(r) => {
                    tracing::debug!(target: "debug.ip.inspect.ha.manager", "bulk sync ended: {r:?}");
                    let _ = self.reports.send(HaReport::BulkDone {
                        sessions: r.sessions,
                        ok: r.ok,
                    });
                }
                SyncAction::Notice(n) => {
                    tracing::debug!(target: "debug.ip.inspect.ha.manager", "{n:?}");
                }
            }
        }
    }

    fn exec(&mut self, key: &str, args: &[String]) -> ExecOutput {
        let Some(dp) = self.dp.as_ref() else {
            return ExecOutput::error("% Inspect is not running");
        };
        let detail = key.ends_with(" detail");
        let failed =
            |e: inspect::driver::DataPlaneError| ExecOutput::error(format!("% Inspect data plane: {e}"));
        if key.starts_with("show ip inspect ha sessions") {
            return match dp.sessions() {
                Ok(s) => {
                    let ha: Vec<_> = s.into_iter().filter(|s| s.ha_state != HaState::None).collect();
                    ExecOutput::with_json(inspect::show::render_ha_sessions(&ha, detail), &ha)
                }
                Err(e) => failed(e),
            };
        }
        if key.starts_with("show ip inspect sessions") {
            return match dp.sessions() {
                Ok(s) => ExecOutput::with_json(inspect::show::render_sessions(&s, detail), &s),
                Err(e) => failed(e),
            };
        }
        match key {
            "show ip inspect ha statistics" => {
                let sync = self.sync.clone();
                match self.on_engine(move |eng, now| lock(&sync).statistics(now, &*eng)) {
                    Some(st) => ExecOutput::with_json(inspect::ha::render_statistics(&st), &st),
                    None => ExecOutput::error("% Inspect data plane is not answering"),
                }
            }
            "show ip inspect all" => match dp.status() {
                Ok(st) => {
                    let doc = serde_json::json!({ "config": &self.plan.engine, "status": &st });
                    ExecOutput::with_json(
                        inspect::show::render_inspect_all(&self.plan.engine, Some(&st.engine)),
                        &doc,
                    )
                }
                Err(e) => failed(e),
            },
            "show ip access-lists" => match dp.acl_status() {
                Ok(mut acls) => {
                    if let Some(name) = args.first() {
                        acls.retain(|a| &a.name == name);
                    }
                    ExecOutput::with_json(inspect::show::render_access_lists(&acls), &acls)
                }
                Err(e) => failed(e),
            },
            "clear ip inspect sessions" => match dp.clear_sessions() {
                Ok(()) => ExecOutput::text(""),
                Err(e) => failed(e),
            },
            "clear ip access-list counters" => match dp.clear_acl_counters() {
                Ok(()) => ExecOutput::text(""),
                Err(e) => failed(e),
            },
            "clear ip inspect ha statistics" => {
                lock(&self.sync).clear_statistics();
                ExecOutput::text("")
            }
            _ => ExecOutput::error(format!("% Inspect does not handle \"{key}\"")),
        }
    }
}

/// Logs a formatted `%FAC-SEV-MNEMONIC: ...` line on the syslog target at the level of its severity.
pub fn log_line(line: &str) {
    match sso::log_severity(line) {
        Some(0..=3) => tracing::error!(target: "syslog", "{line}"),
        Some(4) => tracing::warn!(target: "syslog", "{line}"),
        _ => tracing::info!(target: "syslog", "{line}"),
    }
}
