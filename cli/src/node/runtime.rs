//! The orchestration task: one tokio task that owns the HSRP driver handle, the IPC association, the SSO
//! manager and the HA thread, and wires their events together (see docs/integration.md for the diagram).
//!
//! The daemon's components are thin: every `apply`, `exec` and `shutdown` is a message to this task with a
//! oneshot reply, so all state changes happen in one place and in order.

use std::future::Future;

use hsrp::driver::{HsrpDriver, HsrpEvent, HsrpHandle};
use ipc::{IpcEvent, IpcHandle};
use sso::{ClientId as RfClient, ClientNotice, ClientReport, HsrpRole, OtherHsrpState};
use timebase::MonotonicClock;
use tokio::sync::{broadcast, mpsc, oneshot};

use super::Part;
use super::ha::{HaCmd, HaReport, HaThread, log_line};
use super::mapping::{NodePlan, SsoPlan};
use crate::config::Config;
use crate::daemon::{ExecOutput, InterfaceMap};

/// Requests from the components.
pub enum NodeMsg {
    /// Move one part to the configuration `new`.
    Apply {
        /// Which part.
        part: Part,
        /// Interface map.
        interfaces: InterfaceMap,
        /// The new configuration.
        new: Box<Config>,
        /// Result.
        reply: oneshot::Sender<Result<(), String>>,
    },
    /// Run an exec command of one part.
    Exec {
        /// Which part.
        part: Part,
        /// Command key.
        key: String,
        /// Arguments.
        args: Vec<String>,
        /// The answer.
        reply: oneshot::Sender<ExecOutput>,
    },
    /// Stop one part.
    Shutdown {
        /// Which part.
        part: Part,
        /// Done.
        reply: oneshot::Sender<()>,
    },
}

/// The state of the node.
pub struct Node {
    clock: MonotonicClock,
    boot_id: u64,
    hsrp: Option<HsrpHandle>,
    hsrp_spec: Option<hsrp::driver::DriverSpec>,
    hsrp_objects: Vec<hsrp::TrackObjectConfig>,
    hsrp_events: Option<broadcast::Receiver<HsrpEvent>>,
    /// Every (interface, group) the preemption hold applies to.
    groups: Vec<(String, u16)>,
    /// The current hold (reapplied when HSRP restarts).
    hold: Option<String>,
    /// Last known HSRP state of the scheme group.
    scheme_state: Option<hsrp::State>,
    ipc: Option<IpcHandle>,
    ipc_cfg: Option<ipc::AssociationConfig>,
    ipc_events: Option<mpsc::Receiver<IpcEvent>>,
    ipc_up: bool,
    sso: Option<sso::Manager>,
    sso_plan: Option<SsoPlan>,
    ha: Option<HaThread>,
    /// The last role the redundancy manager gave the inspect HA client.
    ha_role: Option<ClientNotice>,
    ha_reports_tx: mpsc::UnboundedSender<HaReport>,
    ha_reports: mpsc::UnboundedReceiver<HaReport>,
}

async fn next_or_pending<T>(fut: Option<impl Future<Output = T>>) -> T {
    match fut {
        Some(f) => f.await,
        None => std::future::pending().await,
    }
}

fn role_of(state: hsrp::State) -> HsrpRole {
    match state {
        hsrp::State::Active => HsrpRole::Active,
        hsrp::State::Standby => HsrpRole::Standby,
        hsrp::State::Speak => HsrpRole::Other(OtherHsrpState::Speak),
        hsrp::State::Listen => HsrpRole::Other(OtherHsrpState::Listen),
        hsrp::State::Learn => HsrpRole::Other(OtherHsrpState::Learn),
        hsrp::State::Init => HsrpRole::Other(OtherHsrpState::Init),
    }
}

impl Node {
    /// A node with nothing running yet.
    pub fn new(clock: MonotonicClock) -> Self {
        let (ha_reports_tx, ha_reports) = mpsc::unbounded_channel();
        Self {
            clock,
            boot_id: boot_id(),
            hsrp: None,
            hsrp_spec: None,
            hsrp_objects: Vec::new(),
            hsrp_events: None,
            groups: Vec::new(),
            hold: None,
            scheme_state: None,
            ipc: None,
            ipc_cfg: None,
            ipc_events: None,
            ipc_up: false,
            sso: None,
            sso_plan: None,
            ha: None,
            ha_role: None,
            ha_reports_tx,
            ha_reports,
        }
    }

    /// Runs until every sender of `rx` is gone.
    pub async fn run(mut self, mut rx: mpsc::UnboundedReceiver<NodeMsg>) {
        loop {
            let deadline = self.sso.as_ref().and_then(sso::Manager::poll_timeout);
            let sleep = deadline.map(|d| tokio::time::sleep_until(self.clock.to_std(d).into()));
            tokio::select! {
                msg = rx.recv() => match msg {
                    Some(m) => self.on_msg(m).await,
                    None => break,
                },
                ev = next_or_pending(self.hsrp_events.as_mut().map(broadcast::Receiver::recv)) => match ev {
                    Ok(ev) => self.on_hsrp(ev),
                    Err(broadcast::error::RecvError::Lagged(n)) => {
                        tracing::warn!("node: {n} HSRP events lost");
                    }
                    Err(broadcast::error::RecvError::Closed) => self.hsrp_events = None,
                },
                ev = next_or_pending(self.ipc_events.as_mut().map(mpsc::Receiver::recv)) => match ev {
                    Some(ev) => self.on_ipc(ev),
                    None => self.ipc_events = None,
                },
                Some(report) = self.ha_reports.recv() => self.on_ha_report(report),
                () = next_or_pending(sleep) => {
                    let now = self.clock.now();
                    if let Some(m) = self.sso.as_mut() {
                        m.handle_timeout(now);
                    }
                }
            }
            self.drain_sso().await;
        }
        self.stop_all().await;
    }

    async fn stop_all(&mut self) {
        if let Some(h) = self.hsrp.take() {
            h.shutdown().await;
        }
        if let Some(h) = self.ipc.take() {
            h.shutdown();
        }
        if let Some(t) = self.ha.take() {
            t.stop().await;
        }
    }

    async fn on_msg(&mut self, msg: NodeMsg) {
        match msg {
            NodeMsg::Apply {
                part,
                interfaces,
                new,
                reply,
            } => {
                let plan = NodePlan::from_config(&new, &interfaces);
                let result = match part {
                    Part::Hsrp => self.apply_hsrp(&plan, &new).await,
                    Part::Ipc => self.apply_ipc(&plan),
                    Part::Redundancy => self.apply_sso(&plan),
                    Part::Inspect => self.apply_inspect(&plan, &new, &interfaces).await,
                };
                let _ = reply.send(result);
            }
            NodeMsg::Exec {
                part,
                key,
                args,
                reply,
            } => {
                let out = match part {
                    Part::Hsrp => self.exec_hsrp(&key, &args).await,
                    Part::Ipc => self.exec_ipc(&key).await,
                    Part::Redundancy => self.exec_sso(&key),
                    Part::Inspect => self.exec_inspect(key, args).await,
                };
                let _ = reply.send(out);
            }
            NodeMsg::Shutdown { part, reply } => {
                match part {
                    Part::Hsrp => {
                        if let Some(h) = self.hsrp.take() {
                            h.shutdown().await;
                        }
                        self.hsrp_events = None;
                        self.hsrp_spec = None;
                        self.hsrp_objects = Vec::new();
                    }
                    Part::Ipc => {
                        if let Some(h) = self.ipc.take() {
                            h.shutdown();
                        }
                        self.ipc_events = None;
                    }
                    Part::Redundancy => self.sso = None,
                    Part::Inspect => {
                        if let Some(t) = self.ha.take() {
                            t.stop().await;
                        }
                    }
                }
                let _ = reply.send(());
            }
        }
    }

    // ---- HSRP -------------------------------------------------------------------------------------------

    async fn apply_hsrp(&mut self, plan: &NodePlan, new: &Config) -> Result<(), String> {
        self.groups = new
            .standby_groups()
            .map(|(i, g)| (i.name.clone(), g.group))
            .collect();
        if plan.hsrp == self.hsrp_spec
            && plan.track_objects == self.hsrp_objects
            && (self.hsrp.is_some() || plan.hsrp.is_none())
        {
            return Ok(());
        }
        // The driver takes no live reconfiguration: restart it with the new spec (groups resign on the way).
        if let Some(h) = self.hsrp.take() {
            h.shutdown().await;
        }
        self.hsrp_events = None;
        self.hsrp_spec = None;
        self.hsrp_objects = Vec::new();
        self.scheme_state = None;
        let Some(spec) = plan.hsrp.clone() else {
            return Ok(());
        };
        let handle = HsrpDriver::start_with_objects(spec.clone(), plan.track_objects.clone())
            .await
            .map_err(|e| format!("HSRP: {e}"))?;
        self.hsrp_events = Some(handle.subscribe());
        self.hsrp = Some(handle);
        self.hsrp_spec = Some(spec);
        self.hsrp_objects = plan.track_objects.clone();
        let hold = self.hold.clone();
        self.apply_hold(hold).await;
        Ok(())
    }

    /// A planned switchover: every Active group of the pair resigns (Resign, then Speak; the driver does not
    /// preempt back for one hold time), so both LANs move to the peer together.
    async fn resign_hsrp(&mut self) {
        let Some(h) = self.hsrp.as_ref() else { return };
        let mut resigned = 0;
        for (interface, group) in &self.groups {
            let sel = hsrp::GroupSelector::Group {
                interface: interface.clone(),
                group: *group,
            };
            match h.resign(sel).await {
                Ok(n) => resigned += n,
                Err(e) => tracing::warn!("HSRP resign: {e}"),
            }
        }
        tracing::debug!(target: "debug.redundancy", "planned switchover: {resigned} HSRP groups resigned");
    }

    async fn apply_hold(&mut self, reason: Option<String>) {
        self.hold = reason.clone();
        let Some(h) = self.hsrp.as_ref() else { return };
        // The seed tracks each LAN from the other, so both groups of the pair move together: every group
        // follows the scheme group's hold.
        for (interface, group) in &self.groups {
            let sel = hsrp::GroupSelector::Group {
                interface: interface.clone(),
                group: *group,
            };
            if let Err(e) = h.set_preempt_hold(sel, reason.clone()).await {
                tracing::warn!("HSRP preemption hold: {e}");
            }
        }
    }

    fn on_hsrp(&mut self, ev: HsrpEvent) {
        let HsrpEvent::StateChange { name, to, .. } = ev;
        let scheme = self.sso_plan.as_ref().map(|p| p.scheme_group.as_str());
        if name.is_some() && name.as_deref() == scheme {
            self.scheme_state = Some(to);
            let now = self.clock.now();
            if let Some(m) = self.sso.as_mut() {
                m.handle_hsrp_role(now, role_of(to));
            }
        }
    }

    async fn exec_hsrp(&mut self, key: &str, args: &[String]) -> ExecOutput {
        let Some(h) = self.hsrp.as_ref() else {
            return ExecOutput::error("% HSRP is not configured");
        };
        if key.starts_with("show track") {
            let mut objects = match h.track_status().await {
                Ok(o) => o,
                Err(e) => return ExecOutput::error(format!("% HSRP: {e}")),
            };
            if let Some(n) = args.first().and_then(|a| a.parse::<u16>().ok()) {
                objects.retain(|o| o.object == n);
            }
            let text = if key.ends_with("brief") {
                hsrp::render_track_brief(&objects)
            } else {
                hsrp::render_track(&objects)
            };
            return ExecOutput::with_json(text, &objects);
        }
        let groups = match h.status().await {
            Ok(g) => g,
            Err(e) => return ExecOutput::error(format!("% HSRP: {e}")),
        };
        match key {
            "show standby brief" => ExecOutput::with_json(hsrp::render_standby_brief(&groups), &groups),
            _ => {
                let groups = match args.first() {
                    Some(iface) => hsrp::select(&groups, iface, args.get(1).and_then(|g| g.parse().ok())),
                    None => groups,
                };
                ExecOutput::with_json(hsrp::render_standby(&groups), &groups)
            }
        }
    }

    // ---- IPC --------------------------------------------------------------------------------------------

    fn apply_ipc(&mut self, plan: &NodePlan) -> Result<(), String> {
        if let Some(problem) = &plan.ipc_problem {
            return Err(problem.clone());
        }
        if plan.ipc == self.ipc_cfg && (self.ipc.is_some() || plan.ipc.is_none()) {
            return Ok(());
        }
        // Association parameters are fixed when it starts: restart it (the peer sees a restart and resyncs).
        if let Some(h) = self.ipc.take() {
            h.shutdown();
        }
        self.ipc_events = None;
        self.ipc_cfg = None;
        if self.ipc_up {
            self.ipc_up = false;
            self.link_changed(false, false);
        }
        if let Some(cfg) = plan.ipc.clone() {
            let (handle, events) = ipc::spawn(cfg.clone()).map_err(|e| format!("IPC: {e}"))?;
            self.ipc = Some(handle);
            self.ipc_events = Some(events);
            self.ipc_cfg = Some(cfg);
        }
        if let Some(t) = self.ha.as_ref() {
            t.send(HaCmd::SetIpc(self.ipc.clone()));
        }
        Ok(())
    }

    fn link_changed(&mut self, up: bool, peer_restarted: bool) {
        let now = self.clock.now();
        if let Some(m) = self.sso.as_mut() {
            m.handle_link(now, up, peer_restarted);
        }
        if let Some(t) = self.ha.as_ref() {
            t.send(if up { HaCmd::LinkUp } else { HaCmd::LinkDown });
        }
    }

    fn on_ipc(&mut self, ev: IpcEvent) {
        match ev {
            IpcEvent::Up { peer_restarted } => {
                self.ipc_up = true;
                self.link_changed(true, peer_restarted);
            }
            IpcEvent::Down { .. } => {
                self.ipc_up = false;
                self.link_changed(false, false);
            }
            IpcEvent::Message { client, payload, .. } => {
                if client == ipc::ClientId::RF {
                    let now = self.clock.now();
                    if let Some(m) = self.sso.as_mut() {
                        m.handle_peer_message(now, &payload);
                    }
                } else if client == ipc::ClientId::INSPECT {
                    if let Some(t) = self.ha.as_ref() {
                        t.send(HaCmd::Peer(payload));
                    }
                } else {
                    tracing::debug!(target: "debug.ipc", "message for unknown client {client:?} dropped");
                }
            }
        }
    }

    async fn exec_ipc(&mut self, key: &str) -> ExecOutput {
        let Some(h) = self.ipc.as_ref() else {
            return ExecOutput::error("% IPC association is not configured or is shut down");
        };
        let status = match h.status_now().await {
            Some(s) => s,
            None => h.status(),
        };
        let text = match key {
            "show sctp association list" => ipc::render_association_list(std::slice::from_ref(&status)),
            "show sctp association parameters" => ipc::render_association_parameters(&status),
            _ => ipc::render_statistics(&status),
        };
        ExecOutput::with_json(text, &status)
    }

    // ---- SSO --------------------------------------------------------------------------------------------

    fn apply_sso(&mut self, plan: &NodePlan) -> Result<(), String> {
        let now = self.clock.now();
        let restart = match (&self.sso_plan, &plan.sso) {
            (Some(old), Some(new)) => {
                old.scheme_group != new.scheme_group || old.security_configured != new.security_configured
            }
            (None, None) => false,
            _ => true,
        };
        let ha_client = plan.inspect.as_ref().is_some_and(|p| {
            p.engine.interfaces.iter().any(|i| {
                [&i.inspect_in, &i.inspect_out]
                    .iter()
                    .any(|b| b.as_ref().is_some_and(|b| b.redundancy_group.is_some()))
            })
        });
        if restart || self.sso.is_none() {
            self.sso = plan.sso.as_ref().map(|p| {
                let mut cfg =
                    sso::SsoConfig::new(p.scheme_group.clone(), env!("CARGO_PKG_VERSION"), self.boot_id);
                cfg.security_configured = p.security_configured;
                let mut m = sso::Manager::new(cfg, p.summary.clone(), now);
                if ha_client {
                    m.register_client(now, RfClient::FIREWALL_HA, "FW HA");
                }
                if self.ipc_up {
                    m.handle_link(now, true, false);
                }
                m
            });
            self.sso_plan = plan.sso.clone();
            // The scheme group's current state (if HSRP already runs) is not repeated as an event: look it up.
            if let (Some(m), Some(state)) = (self.sso.as_mut(), self.scheme_state) {
                m.handle_hsrp_role(now, role_of(state));
            }
        } else if let (Some(m), Some(p)) = (self.sso.as_mut(), plan.sso.as_ref()) {
            if self.sso_plan.as_ref().map(|o| &o.summary) != Some(&p.summary) {
                m.handle_config(now, p.summary.clone());
            }
            self.sso_plan = plan.sso.clone();
        }
        Ok(())
    }

    async fn drain_sso(&mut self) {
        loop {
            let Some(action) = self.sso.as_mut().and_then(sso::Manager::poll_action) else {
                return;
            };
            match action {
                sso::Action::SendPeer(bytes) => {
                    if let Some(h) = self.ipc.as_ref()
                        && let Err(e) = h.send(ipc::ClientId::RF, ipc::MessageKind::RF_CONTROL, bytes)
                    {
                        tracing::debug!(target: "debug.redundancy", "RF message not sent: {e}");
                    }
                }
                sso::Action::Client(id, notice) => {
                    if id != RfClient::FIREWALL_HA {
                        continue;
                    }
                    // Remember the role so an HA thread started later (data plane restart) takes it over.
                    match notice {
                        ClientNotice::BecomeActive => self.ha_role = Some(ClientNotice::BecomeActive),
                        ClientNotice::BecomeStandby | ClientNotice::Flush => {
                            self.ha_role = Some(ClientNotice::BecomeStandby);
                        }
                        _ => {}
                    }
                    if let Some(t) = self.ha.as_ref() {
                        t.send(HaCmd::Notice(notice));
                    }
                }
                sso::Action::HoldPreempt { held, reason } => {
                    self.apply_hold(held.then_some(reason)).await;
                }
                sso::Action::Resign => self.resign_hsrp().await,
                sso::Action::StateChanged { from, to, reason } => {
                    tracing::debug!(target: "debug.redundancy", "RF state {from:?} -> {to:?}: {reason}");
                }
                sso::Action::Log(line) => log_line(&line),
                sso::Action::Debug(line) => tracing::debug!(target: "debug.redundancy", "{line}"),
                other => tracing::debug!(target: "debug.redundancy", "unhandled action {other:?}"),
            }
        }
    }

    fn on_ha_report(&mut self, report: HaReport) {
        let now = self.clock.now();
        match report {
            HaReport::BulkDone { sessions, ok } => {
                if let Some(m) = self.sso.as_mut() {
                    m.handle_client(
                        now,
                        RfClient::FIREWALL_HA,
                        ClientReport::BulkDone { sessions, ok },
                    );
                }
            }
        }
    }

    fn exec_sso(&mut self, key: &str) -> ExecOutput {
        let now = self.clock.now();
        let Some(m) = self.sso.as_mut() else {
            return ExecOutput::error(
                "% Redundancy (redundancy inter-device / scheme standby) is not configured",
            );
        };
        if key == "redundancy force-switchover" {
            return match m.force_switchover(now) {
                Ok(()) => ExecOutput::text("Switchover accepted: the peer takes over."),
                Err(e) => ExecOutput::error(format!("% Switchover refused: {e}")),
            };
        }
        let status = m.status(now);
        let text = match key {
            "show redundancy states" => sso::render::render_states(&status),
            "show redundancy inter-device" => sso::render::render_inter_device(&status),
            "show redundancy history" => sso::render::render_history(&status),
            "show redundancy clients" => sso::render::render_clients(&status),
            _ => sso::render::render_summary(&status),
        };
        ExecOutput::with_json(text, &status)
    }

    // ---- inspect ----------------------------------------------------------------------------------------

    async fn apply_inspect(
        &mut self,
        plan: &NodePlan,
        config: &Config,
        interfaces: &InterfaceMap,
    ) -> Result<(), String> {
        let Some(mut new) = plan.inspect.clone() else {
            if let Some(t) = self.ha.take() {
                t.stop().await;
            }
            return Ok(());
        };
        super::mapping::add_vmac_interfaces(&mut new, config, interfaces, |name| {
            nix::net::if_::if_nametoindex(name).ok()
        });
        if let Some(t) = self.ha.as_mut() {
            if t.plan() == &new {
                return Ok(());
            }
            if !t.plan().needs_restart(&new) {
                let (tx, rx) = oneshot::channel();
                t.send(HaCmd::Reconfigure(Box::new(new.clone()), tx));
                let result = rx.await.unwrap_or_else(|_| Err("the HA thread is gone".into()));
                if result.is_ok() {
                    t.set_plan(new);
                }
                return result;
            }
        }
        // Queue numbers, worker count and fail mode are fixed when the data plane starts: restart it.
        if let Some(t) = self.ha.take() {
            t.stop().await;
        }
        let (clock, sync, reports) = (self.clock, plan.sync, self.ha_reports_tx.clone());
        let thread = tokio::task::spawn_blocking(move || HaThread::start(new, sync, clock, reports))
            .await
            .map_err(|e| format!("inspect: {e}"))??;
        thread.send(HaCmd::SetIpc(self.ipc.clone()));
        if self.ipc_up {
            thread.send(HaCmd::LinkUp);
        }
        let role = self.ha_role.clone();
        if let Some(n) = role.clone() {
            thread.send(HaCmd::Notice(n));
        }
        self.ha = Some(thread);
        // A standby whose data plane restarted lost its copies: walk it through a fresh bulk sync.
        if role == Some(ClientNotice::BecomeStandby)
            && let Some(m) = self.sso.as_mut()
        {
            let _ = m.request_resync(self.clock.now());
        }
        Ok(())
    }

    async fn exec_inspect(&mut self, key: String, args: Vec<String>) -> ExecOutput {
        if key == "clear ip inspect ha sessions-all" {
            let now = self.clock.now();
            if let Some(m) = self.sso.as_mut() {
                // The redundancy manager flushes the client and walks it through a fresh bulk sync.
                return match m.request_resync(now) {
                    Ok(()) => ExecOutput::text(""),
                    Err(e) => ExecOutput::error(format!("% Resync refused: {e}")),
                };
            }
            return match self.ha.as_ref() {
                Some(t) => {
                    t.send(HaCmd::FlushAndResync);
                    ExecOutput::text("")
                }
                None => ExecOutput::error("% Inspect is not configured"),
            };
        }
        let Some(t) = self.ha.as_ref() else {
            return ExecOutput::error("% Inspect is not configured (no ip inspect or ip access-group)");
        };
        let (tx, rx) = oneshot::channel();
        t.send(HaCmd::Exec { key, args, reply: tx });
        rx.await
            .unwrap_or_else(|_| ExecOutput::error("% Inspect is not answering"))
    }
}

fn boot_id() -> u64 {
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
