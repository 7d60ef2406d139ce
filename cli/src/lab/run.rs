//! `iosha lab`: the whole failover experiment on the seed's Figure 1, and its command-line front end.

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use super::configs::{ConfigOptions, TimerSet};
use super::pair::{Failure, Lab, LabSetup, StepError};
use super::report::{FlowReport, LabReport};
use super::topology::{Router, is_root};

/// Exit status when the run completed but a session was lost or the pair did not re-form.
const EXIT_FAILED: u8 = 1;
/// Exit status when the lab could not run (not root, topology or daemon error, interrupted).
const EXIT_NOT_RUN: u8 = 2;

/// Arguments of `iosha lab`.
#[derive(Debug, Clone, clap::Args)]
pub struct LabArgs {
    /// How to fail the Active router.
    #[arg(long, value_enum, default_value = "power-off")]
    pub failure: Failure,
    /// HSRP timers: the seed's (hello 1 s, hold 10 s) or fast (hello 50 ms, hold 150 ms, tighter IPC).
    #[arg(long, value_enum, default_value = "seed")]
    pub timers: TimerArg,
    /// Run every line of the seed's configurations as written (including the 120 s start-up delay).
    #[arg(long)]
    pub seed_config: bool,
    /// Number of TCP connections from h1 to h2.
    #[arg(long, value_name = "N", default_value_t = 20)]
    pub tcp: usize,
    /// Number of UDP flows from h1 to h2.
    #[arg(long, value_name = "M", default_value_t = 10)]
    pub udp: usize,
    /// Print the report as a JSON document on stdout (progress still goes to stderr).
    #[arg(long)]
    pub json: bool,
    /// Continue with the next step when one misses its deadline (the report lists what failed).
    #[arg(long)]
    pub keep_going: bool,
    /// Print no progress lines.
    #[arg(long, short)]
    pub quiet: bool,
}

/// `--timers` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum TimerArg {
    /// The seed's timers.
    Seed,
    /// Millisecond timers.
    Fast,
}

/// What one experiment runs.
#[derive(Debug, Clone)]
pub struct Experiment {
    /// The lab to build.
    pub setup: LabSetup,
    /// The failure.
    pub failure: Failure,
    /// TCP connections.
    pub tcp: usize,
    /// UDP flows.
    pub udp: usize,
    /// Continue after a missed deadline.
    pub keep_going: bool,
}

/// `iosha lab` (called by the binary).
pub fn main(args: &LabArgs) -> ExitCode {
    if !is_root() {
        eprintln!(
            "iosha lab: needs root: it creates network namespaces, veths and bridges (nothing is connected to \
             the host's own network). Run it as root, e.g. `sudo iosha lab`."
        );
        return ExitCode::from(EXIT_NOT_RUN);
    }
    let iosha = match std::env::current_exe() {
        Ok(p) => p,
        Err(e) => {
            eprintln!("iosha lab: cannot find the iosha binary: {e}");
            return ExitCode::from(EXIT_NOT_RUN);
        }
    };
    let cancel = Arc::new(AtomicBool::new(false));
    watch_interrupts(cancel.clone());
    let experiment = Experiment {
        setup: LabSetup {
            prefix: format!("il{}-", std::process::id()),
            iosha,
            configs: ConfigOptions {
                seed_config: args.seed_config,
                timers: match args.timers {
                    TimerArg::Seed => TimerSet::Seed,
                    TimerArg::Fast => TimerSet::Fast,
                },
            },
            progress: !args.quiet,
        },
        failure: args.failure,
        tcp: args.tcp,
        udp: args.udp,
        keep_going: args.keep_going,
    };
    match run(&experiment, Some(cancel)) {
        Ok(report) => {
            if args.json {
                match serde_json::to_string_pretty(&report) {
                    Ok(text) => println!("{text}"),
                    Err(e) => eprintln!("iosha lab: {e}"),
                }
            } else {
                print!("{}", report.render());
            }
            if report.passed {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(EXIT_FAILED)
            }
        }
        Err(e) => {
            eprintln!("iosha lab: {e}");
            ExitCode::from(EXIT_NOT_RUN)
        }
    }
}

/// Sets `cancel` on SIGINT / SIGTERM (a background thread with its own small runtime).
fn watch_interrupts(cancel: Arc<AtomicBool>) {
    let spawned = std::thread::Builder::new()
        .name("lab-signals".into())
        .spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread().enable_all().build() else {
                return;
            };
            rt.block_on(async move {
                let Ok(mut term) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                else {
                    return;
                };
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
                eprintln!("\niosha lab: interrupted; removing the lab");
                cancel.store(true, Ordering::SeqCst);
            });
        });
    if let Err(e) = spawned {
        eprintln!("iosha lab: cannot watch for Ctrl-C ({e}); the lab is still removed at the end");
    }
}

fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// Records a missed step: with `keep_going` the run continues, else it stops here (the report so far is
/// still returned). An interruption always stops.
fn step<T>(
    result: Result<T, StepError>,
    report: &mut LabReport,
    keep_going: bool,
) -> Result<Option<T>, StepError> {
    match result {
        Ok(v) => Ok(Some(v)),
        Err(StepError::Interrupted) => Err(StepError::Interrupted),
        Err(e) => {
            report.problems.push(e.to_string());
            if keep_going { Ok(None) } else { Err(e) }
        }
    }
}

/// Runs one experiment and returns its report. Errors only when the lab could not be built or run at all
/// (or was interrupted); a missed step ends the run with a report listing it.
pub fn run(ex: &Experiment, cancel: Option<Arc<AtomicBool>>) -> Result<LabReport, StepError> {
    let mut report = LabReport {
        failure: ex.failure.name().to_owned(),
        timers: ex.setup.configs.timers.name().to_owned(),
        seed_config: ex.setup.configs.seed_config,
        standby_sessions_expected: ex.tcp + ex.udp + 1,
        ..LabReport::default()
    };
    let mut lab = Lab::start(&ex.setup, cancel)?;
    report.config_changes = lab.configs.changes.clone();
    let outcome = experiment(&mut lab, ex, &mut report);
    // Whatever happened, fill in the flows as they are now.
    if let Some(c) = lab.traffic()
        && report.flows.is_empty()
    {
        report.flows = c
            .flows()
            .iter()
            .map(|f| FlowReport::new(f, false, false))
            .collect();
    }
    match outcome {
        Ok(()) | Err(StepError::Deadline { .. } | StepError::Lab(_) | StepError::Traffic(_)) => {
            if let Err(e) = outcome
                && !report.problems.contains(&e.to_string())
            {
                report.problems.push(e.to_string());
            }
            report.finish();
            Ok(report)
        }
        Err(StepError::Interrupted) => Err(StepError::Interrupted),
    }
}

fn experiment(lab: &mut Lab, ex: &Experiment, report: &mut LabReport) -> Result<(), StepError> {
    let kg = ex.keep_going;
    let d = lab.deadlines;
    let t0 = Instant::now();
    let active = step(lab.wait_pair(d.pair), report, kg)?.unwrap_or(Router::R1);
    report.pair_formed_ms = Some(ms(t0.elapsed()));
    let standby = active.peer();
    lab.say(&format!("pair formed: {active} ACTIVE, {standby} STANDBY HOT"));

    lab.start_traffic(ex.tcp, ex.udp)?;
    let since = Instant::now();
    step(
        lab.wait_flows_since(since, d.sessions, "flows exchanging data"),
        report,
        kg,
    )?;
    let expected = report.standby_sessions_expected;
    let before = step(
        lab.wait_standby_sessions(standby, expected, d.sessions),
        report,
        kg,
    )?;
    report.standby_sessions_before = before.or_else(|| lab.ha_sessions(standby));
    lab.say(&format!(
        "standby {standby} holds {} of {expected} sessions",
        report.standby_sessions_before.unwrap_or_default()
    ));

    // The failure.
    let failed_at = lab.fail(active, ex.failure)?;
    report.failed_router = Some(active.to_string());
    report.survivor = Some(standby.to_string());
    let takeover = step(lab.wait_takeover(standby, failed_at), report, kg)?.unwrap_or_default();
    report.hsrp_active_ms = takeover.hsrp.map(ms);
    report.rf_active_ms = takeover.rf.map(ms);
    report.detection_ms = takeover.detection().map(ms);
    lab.say(&format!(
        "{standby} took over: HSRP Active after {} ms, RF ACTIVE after {} ms",
        report
            .hsrp_active_ms
            .map_or_else(|| "-".into(), |v| v.to_string()),
        report.rf_active_ms.map_or_else(|| "-".into(), |v| v.to_string())
    ));
    (report.hello_ms, report.hold_ms) = lab.timers(standby);

    let mut restored_at = None;
    if ex.failure == Failure::Freeze {
        // Past the hold time (the takeover needed it); thaw and watch the pair settle on one Active.
        let thaw = lab.restore(active, ex.failure)?;
        restored_at = Some(thaw);
        let one = step(lab.wait_single_active(d.takeover), report, kg)?;
        report.split_brain_resolved_ms = one.map(|_| ms(thaw.elapsed()));
        if let Some(winner) = one {
            lab.say(&format!(
                "one Active again: {winner}, {} ms after SIGCONT",
                ms(thaw.elapsed())
            ));
        }
    }

    let takeover_at = failed_at + takeover.detection().unwrap_or_default();
    step(
        lab.wait_flows_since(takeover_at, d.flows_after, "flows after the takeover"),
        report,
        kg,
    )?;
    let after_takeover = lab
        .traffic()
        .map(|c| c.alive_since(takeover_at))
        .unwrap_or_default();
    if let Some(c) = lab.traffic() {
        let p = c.probe(failed_at);
        report.outage_failover_ms = p.largest_gap_ms;
    }
    lab.say(&format!(
        "{} flows exchanging data after the takeover",
        after_takeover.len()
    ));

    // Bring the failed router back and wait for the pair to re-form.
    let restored_at = match restored_at {
        Some(t) => t,
        None => lab.restore(active, ex.failure)?,
    };
    let rejoin = step(lab.wait_pair(d.pair), report, kg)?;
    if let Some(now_active) = rejoin {
        let hot = now_active.peer();
        let sessions = step(lab.wait_standby_sessions(hot, expected, d.sessions), report, kg)?;
        if let Some(n) = sessions {
            report.rejoined_standby_hot = true;
            report.rejoined_router = Some(hot.to_string());
            report.standby_sessions_after = Some(n);
            report.rejoin_ms = Some(ms(restored_at.elapsed()));
            lab.say(&format!("{hot} rejoined as STANDBY HOT with {n} sessions"));
        }
    }
    let check_from = Instant::now();
    step(
        lab.wait_flows_since(check_from, d.flows_after, "flows after the rejoin"),
        report,
        kg,
    )?;
    if let Some(c) = lab.traffic() {
        let after_rejoin = c.alive_since(check_from);
        report.outage_ms = c.probe(failed_at).largest_gap_ms;
        report.outage_rejoin_ms = c.probe(restored_at).largest_gap_ms;
        let p = c.probe(failed_at);
        report.probe_sent = p.sent;
        report.probe_received = p.received;
        report.flows_checked = true;
        report.flows = c
            .flows()
            .iter()
            .map(|f| {
                let a = after_takeover.iter().any(|x| x.id == f.id);
                let b = after_rejoin.iter().any(|x| x.id == f.id);
                FlowReport::new(f, a, b)
            })
            .collect();
    }
    Ok(())
}
