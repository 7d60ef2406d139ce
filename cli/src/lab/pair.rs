//! A running lab pair: the topology with both daemons, their state probes, the traffic, and the steps of a
//! failover experiment (wait for the pair, fail the Active, measure the takeover, restore, wait for the
//! rejoin). `iosha lab` and the fault-matrix tests are both built from these steps, so they cannot drift.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use super::configs::{ConfigOptions, LabConfigs, TimerSet, lab_configs};
use super::probe::{ControlProbe, GroupView, RedundancyView, all_groups, groups_text};
use super::topology::{H2_ADDR, Host, LabError, Router, Topology};
use super::traffic::{Ports, TrafficClient, TrafficServer, TrafficSpec};

/// How the Active router is failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Failure {
    /// Every link of the Active down and its daemon killed with SIGKILL; restored by links up + restart.
    #[default]
    PowerOff,
    /// The Active's daemon killed with SIGKILL (links stay up); restored by a restart.
    Crash,
    /// The Active's tracked outside link down; restored by link up.
    Link,
    /// The Active's daemon stopped with SIGSTOP past the hold time; restored by SIGCONT.
    Freeze,
}

impl Failure {
    /// Name used on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            Self::PowerOff => "power-off",
            Self::Crash => "crash",
            Self::Link => "link",
            Self::Freeze => "freeze",
        }
    }
}

/// Errors of a lab step.
#[derive(Debug, thiserror::Error)]
pub enum StepError {
    /// The topology or a daemon could not be handled.
    #[error(transparent)]
    Lab(#[from] LabError),
    /// The operator interrupted the run (Ctrl-C).
    #[error("interrupted")]
    Interrupted,
    /// A step did not reach its goal before its deadline.
    #[error("{what}: not reached within {:.1} s (last seen: {last})", timeout.as_secs_f64())]
    Deadline {
        /// The goal.
        what: String,
        /// The deadline.
        timeout: Duration,
        /// The last state seen.
        last: String,
    },
    /// The traffic tools failed.
    #[error("traffic: {0}")]
    Traffic(String),
}

/// What a lab needs to start.
#[derive(Debug, Clone)]
pub struct LabSetup {
    /// Namespace name prefix (unique per run).
    pub prefix: String,
    /// The `iosha` binary the daemons run.
    pub iosha: PathBuf,
    /// How the configurations derive from the seed's.
    pub configs: ConfigOptions,
    /// Print progress lines on stderr.
    pub progress: bool,
}

/// Deadlines that depend on the timers in use.
#[derive(Debug, Clone, Copy)]
pub struct Deadlines {
    /// Daemon answers on its control socket.
    pub ready: Duration,
    /// ACTIVE / STANDBY HOT after the start (or the rejoin after a restore).
    pub pair: Duration,
    /// Sessions on the standby / flows exchanging data.
    pub sessions: Duration,
    /// The survivor takes over.
    pub takeover: Duration,
    /// Every flow exchanges data again after the takeover (TCP backs off while the path is down).
    pub flows_after: Duration,
}

impl Deadlines {
    /// Deadlines for a configuration.
    pub fn for_options(options: ConfigOptions) -> Self {
        let seed_delay = if options.seed_config {
            Duration::from_secs(130)
        } else {
            Duration::ZERO
        };
        match options.timers {
            TimerSet::Seed => Self {
                ready: Duration::from_secs(20),
                pair: Duration::from_secs(60) + seed_delay,
                sessions: Duration::from_secs(30),
                takeover: Duration::from_secs(30),
                flows_after: Duration::from_secs(45),
            },
            TimerSet::Fast => Self {
                ready: Duration::from_secs(20),
                pair: Duration::from_secs(30) + seed_delay,
                sessions: Duration::from_secs(20),
                takeover: Duration::from_secs(10),
                flows_after: Duration::from_secs(20),
            },
        }
    }
}

/// What one router reported in one poll.
#[derive(Debug, Clone, Default)]
pub struct RouterView {
    /// HSRP groups (empty when unreachable).
    pub groups: Vec<GroupView>,
    /// RF state (None when unreachable).
    pub rf: Option<RedundancyView>,
}

impl RouterView {
    /// Short description for progress lines.
    pub fn text(&self) -> String {
        match &self.rf {
            Some(rf) => format!("{} [{}]", rf.my_state, groups_text(&self.groups)),
            None => "unreachable".to_owned(),
        }
    }

    /// HSRP Active on every group and RF ACTIVE.
    pub fn fully_active(&self) -> bool {
        all_groups(&self.groups, "Active") && self.rf.as_ref().is_some_and(RedundancyView::is_active)
    }
}

/// The takeover as measured on the survivor.
#[derive(Debug, Clone, Copy, Default)]
pub struct Takeover {
    /// Every HSRP group Active.
    pub hsrp: Option<Duration>,
    /// RF ACTIVE.
    pub rf: Option<Duration>,
}

impl Takeover {
    /// The later of the two.
    pub fn detection(&self) -> Option<Duration> {
        Some(self.hsrp?.max(self.rf?))
    }
}

/// A running lab: topology, daemons, probes and traffic. Dropping it removes everything.
#[derive(Debug)]
pub struct Lab {
    client: Option<TrafficClient>,
    server: Option<TrafficServer>,
    probes: [ControlProbe; 2],
    frozen: Option<Router>,
    cancel: Option<Arc<AtomicBool>>,
    progress: bool,
    started: Instant,
    /// The lab's configurations.
    pub configs: LabConfigs,
    /// Deadlines for the timers in use.
    pub deadlines: Deadlines,
    /// The namespaces and daemons (dropped last).
    pub topo: Topology,
}

fn index(r: Router) -> usize {
    match r {
        Router::R1 => 0,
        Router::R2 => 1,
    }
}

fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

impl Lab {
    /// Builds the topology and starts both daemons at the same moment on the lab configurations.
    pub fn start(setup: &LabSetup, cancel: Option<Arc<AtomicBool>>) -> Result<Self, StepError> {
        let started = Instant::now();
        let configs = lab_configs(setup.configs);
        let topo = Topology::build(&setup.prefix, &setup.iosha)?;
        let probes = [
            ControlProbe::new(&topo.control_path(Router::R1), Duration::from_secs(1)),
            ControlProbe::new(&topo.control_path(Router::R2), Duration::from_secs(1)),
        ];
        let mut lab = Self {
            client: None,
            server: None,
            probes,
            frozen: None,
            cancel,
            progress: setup.progress,
            started,
            deadlines: Deadlines::for_options(setup.configs),
            configs,
            topo,
        };
        lab.say("topology built: h1, r1, r2, h2 and two LAN bridges in network namespaces");
        for change in lab.configs.changes.clone() {
            lab.say(&format!("config: {change}"));
        }
        lab.topo.start_daemon(Router::R1, &lab.configs.r1)?;
        lab.topo.start_daemon(Router::R2, &lab.configs.r2)?;
        for r in Router::BOTH {
            lab.wait_ready(r)?;
        }
        lab.say("both daemons answer on their control sockets");
        Ok(lab)
    }

    /// Prints a progress line (stderr) with the time since the start.
    pub fn say(&self, text: &str) {
        if self.progress {
            eprintln!("[{:7.2}s] {text}", self.started.elapsed().as_secs_f64());
        }
    }

    fn check_cancel(&self) -> Result<(), StepError> {
        match &self.cancel {
            Some(c) if c.load(Ordering::SeqCst) => Err(StepError::Interrupted),
            _ => Ok(()),
        }
    }

    /// Polls `step` every `interval` until it returns Ok, showing each new status it reports.
    pub fn poll<T>(
        &mut self,
        what: &str,
        timeout: Duration,
        interval: Duration,
        mut step: impl FnMut(&mut Self) -> Result<T, String>,
    ) -> Result<T, StepError> {
        let deadline = Instant::now() + timeout;
        let mut last = String::new();
        loop {
            self.check_cancel()?;
            match step(self) {
                Ok(v) => return Ok(v),
                Err(status) => {
                    if status != last {
                        self.say(&format!("{what}: {status}"));
                        last = status;
                    }
                }
            }
            if Instant::now() >= deadline {
                return Err(StepError::Deadline {
                    what: what.to_owned(),
                    timeout,
                    last,
                });
            }
            std::thread::sleep(interval);
        }
    }

    /// Waits until the router's daemon answers (after a start or restart).
    pub fn wait_ready(&mut self, r: Router) -> Result<(), StepError> {
        self.probes[index(r)].reset();
        let timeout = self.deadlines.ready;
        self.poll(
            &format!("{r} daemon ready"),
            timeout,
            Duration::from_millis(20),
            |lab| {
                if !lab.topo.daemon_running(r) {
                    return Err(format!(
                        "the daemon exited; log:\n{}",
                        tail(&lab.topo.daemon_log(r), 20)
                    ));
                }
                lab.probes[index(r)]
                    .json("show version")
                    .map(|_| ())
                    .map_err(|e| {
                        if e.contains("No such file") {
                            "starting".to_owned()
                        } else {
                            e
                        }
                    })
            },
        )
    }

    /// One router's state (frozen routers are reported unreachable without being asked).
    pub fn view(&mut self, r: Router) -> RouterView {
        if self.frozen == Some(r) {
            return RouterView::default();
        }
        let p = &mut self.probes[index(r)];
        let groups = p.standby().unwrap_or_default();
        let rf = p.redundancy().ok();
        RouterView { groups, rf }
    }

    /// HA sessions toward h2 held by the router (None when unreachable).
    pub fn ha_sessions(&mut self, r: Router) -> Option<usize> {
        if self.frozen == Some(r) {
            return None;
        }
        self.probes[index(r)].ha_sessions(H2_ADDR).ok()
    }

    /// A JSON document from the router (`show ...`), through the lab's control probe.
    pub fn show(&mut self, r: Router, command: &str) -> Result<serde_json::Value, String> {
        if self.frozen == Some(r) {
            return Err(format!("{r} is frozen"));
        }
        self.probes[index(r)].json(command)
    }

    /// Waits until one router is fully Active (every group, RF ACTIVE) and the other STANDBY HOT with every
    /// group in Standby; returns the Active one.
    pub fn wait_pair(&mut self, timeout: Duration) -> Result<Router, StepError> {
        self.poll(
            "waiting for ACTIVE / STANDBY HOT",
            timeout,
            Duration::from_millis(100),
            |lab| {
                let v1 = lab.view(Router::R1);
                let v2 = lab.view(Router::R2);
                // The standby is RF STANDBY HOT and HSRP Standby on every group (ready to take over).
                let hot = |v: &RouterView| {
                    v.rf.as_ref().is_some_and(RedundancyView::is_standby_hot)
                        && all_groups(&v.groups, "Standby")
                };
                if v1.fully_active() && hot(&v2) {
                    return Ok(Router::R1);
                }
                if v2.fully_active() && hot(&v1) {
                    return Ok(Router::R2);
                }
                Err(format!("r1 {}, r2 {}", v1.text(), v2.text()))
            },
        )
    }

    /// Starts the echo server on h2 and the flows on h1.
    pub fn start_traffic(&mut self, tcp: usize, udp: usize) -> Result<(), StepError> {
        let server_addr = H2_ADDR.parse().map_err(|e| StepError::Traffic(format!("{e}")))?;
        let h2 = PathBuf::from("/run/netns").join(self.topo.host_ns(Host::H2));
        let h1 = PathBuf::from("/run/netns").join(self.topo.host_ns(Host::H1));
        self.server = Some(
            TrafficServer::start(&h2, server_addr, Ports::default())
                .map_err(|e| StepError::Traffic(e.to_string()))?,
        );
        let spec = TrafficSpec::new(server_addr, tcp, udp);
        self.client = Some(TrafficClient::start(&h1, &spec).map_err(|e| StepError::Traffic(e.to_string()))?);
        self.say(&format!(
            "traffic: {tcp} TCP connections, {udp} UDP flows and a 5 ms UDP probe from h1 to h2"
        ));
        Ok(())
    }

    /// The traffic client (after [`Self::start_traffic`]).
    pub fn traffic(&self) -> Option<&TrafficClient> {
        self.client.as_ref()
    }

    /// Waits until every flow exchanged data at or after `since`; returns how many did (all of them).
    pub fn wait_flows_since(
        &mut self,
        since: Instant,
        timeout: Duration,
        what: &str,
    ) -> Result<usize, StepError> {
        self.poll(what, timeout, Duration::from_millis(50), |lab| {
            let Some(c) = lab.client.as_ref() else {
                return Err("no traffic".to_owned());
            };
            let flows = c.flows();
            let alive = c.alive_since(since).len();
            let failed = flows.iter().filter(|f| f.failure.is_some()).count();
            if alive == flows.len() {
                return Ok(alive);
            }
            if failed > 0 && alive + failed == flows.len() {
                // Failed flows never come back: no need to wait for them.
                return Ok(alive);
            }
            Err(format!(
                "{alive} of {} flows exchanging data, {failed} failed",
                flows.len()
            ))
        })
    }

    /// Waits until `standby` is STANDBY HOT holding at least `expected` sessions toward h2.
    pub fn wait_standby_sessions(
        &mut self,
        standby: Router,
        expected: usize,
        timeout: Duration,
    ) -> Result<usize, StepError> {
        self.poll(
            &format!("sessions on the standby {standby}"),
            timeout,
            Duration::from_millis(100),
            |lab| {
                let rf = lab
                    .view(standby)
                    .rf
                    .map(|rf| rf.my_state)
                    .unwrap_or_else(|| "unreachable".into());
                let n = lab.ha_sessions(standby);
                match n {
                    Some(n) if n >= expected && rf == "STANDBY HOT" => Ok(n),
                    _ => Err(format!(
                        "{rf}, {} of {expected} sessions",
                        n.map_or_else(|| "?".to_owned(), |n| n.to_string())
                    )),
                }
            },
        )
    }

    /// Fails `active` as `failure` says; returns the moment of the failure.
    pub fn fail(&mut self, active: Router, failure: Failure) -> Result<Instant, StepError> {
        self.probes[index(active)].reset();
        let at = Instant::now();
        match failure {
            Failure::PowerOff => self.topo.power_off(active)?,
            Failure::Crash => self.topo.kill_daemon(active),
            Failure::Link => self.topo.set_link(active, true, false)?,
            Failure::Freeze => {
                self.frozen = Some(active);
                self.topo.freeze_daemon(active)?;
            }
        }
        self.say(&format!(
            "FAILURE: {} of the Active router {active}",
            failure.name()
        ));
        Ok(at)
    }

    /// Polls the survivor finely (every 2 ms) until it is HSRP Active on every group and RF ACTIVE.
    pub fn wait_takeover(&mut self, survivor: Router, since: Instant) -> Result<Takeover, StepError> {
        let mut t = Takeover::default();
        let timeout = self.deadlines.takeover;
        self.poll(
            &format!("{survivor} taking over"),
            timeout,
            Duration::from_millis(2),
            |lab| {
                let v = lab.view(survivor);
                let now = since.elapsed();
                if t.hsrp.is_none() && all_groups(&v.groups, "Active") {
                    t.hsrp = Some(now);
                }
                if t.rf.is_none() && v.rf.as_ref().is_some_and(RedundancyView::is_active) {
                    t.rf = Some(now);
                }
                if t.detection().is_some() {
                    Ok(t)
                } else {
                    Err(v.text())
                }
            },
        )
    }

    /// Brings the failed router back; returns the moment of the restore.
    pub fn restore(&mut self, failed: Router, failure: Failure) -> Result<Instant, StepError> {
        let at = Instant::now();
        match failure {
            Failure::PowerOff => {
                self.topo.power_on(failed)?;
                self.wait_ready(failed)?;
            }
            Failure::Crash => {
                self.topo.restart_daemon(failed)?;
                self.wait_ready(failed)?;
            }
            Failure::Link => self.topo.set_link(failed, true, true)?,
            Failure::Freeze => {
                self.topo.thaw_daemon(failed)?;
                self.frozen = None;
                self.probes[index(failed)].reset();
            }
        }
        self.say(&format!("restored {failed} ({})", failure.name()));
        Ok(at)
    }

    /// Waits until exactly one router is Active on every group and RF ACTIVE, and no group is Active on both.
    pub fn wait_single_active(&mut self, timeout: Duration) -> Result<Router, StepError> {
        self.poll("one Active router", timeout, Duration::from_millis(5), |lab| {
            let v1 = lab.view(Router::R1);
            let v2 = lab.view(Router::R2);
            let both_active = v1.groups.iter().any(|g| {
                g.state == "Active"
                    && v2
                        .groups
                        .iter()
                        .any(|h| h.group == g.group && h.state == "Active")
            });
            let rf_active = [&v1, &v2]
                .iter()
                .filter(|v| v.rf.as_ref().is_some_and(RedundancyView::is_active))
                .count();
            if !both_active && rf_active == 1 && v1.rf.is_some() && v2.rf.is_some() {
                if v1.fully_active() {
                    return Ok(Router::R1);
                }
                if v2.fully_active() {
                    return Ok(Router::R2);
                }
            }
            Err(format!("r1 {}, r2 {}", v1.text(), v2.text()))
        })
    }

    /// The hello and hold times `r` uses (from its first group).
    pub fn timers(&mut self, r: Router) -> (Option<u64>, Option<u64>) {
        let groups = self.view(r).groups;
        groups.first().map_or((None, None), |g| (g.hello_ms, g.hold_ms))
    }

    /// Milliseconds since the lab started.
    pub fn elapsed_ms(&self) -> u64 {
        ms(self.started.elapsed())
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        // Traffic threads first (they live in the namespaces), then the topology (daemons, namespaces).
        self.client = None;
        self.server = None;
        if self.progress {
            eprintln!(
                "[{:7.2}s] removing the lab (daemons, namespaces, files)",
                self.started.elapsed().as_secs_f64()
            );
        }
    }
}

/// The last `n` lines of a text.
pub fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}
