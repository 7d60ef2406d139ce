//! Shared by the fault-matrix tests (`lab_*.rs`): the lab of `iosha lab` (`cli::lab`), set up for a test.
//! Each test drives only the outside of the pair: links, processes, control sockets / `iosha exec --json`.

#![allow(dead_code, unreachable_pub)]

use std::time::{Duration, Instant};

use cli::lab::configs::{ConfigOptions, TimerSet};
use cli::lab::pair::{Failure, Lab, LabSetup};
use cli::lab::report::LabReport;
use cli::lab::run::{Experiment, run};
use cli::lab::topology::Router;
use iosha_tests::{iosha_bin, lab_available, unique_prefix};

/// TCP connections and UDP flows each test opens (small: the matrix must stay fast on 2 shared cores).
pub const TCP: usize = 6;
/// See [`TCP`].
pub const UDP: usize = 3;

/// The lab setup of a test, None (and a message) when the lab cannot run here.
pub fn setup(tag: &str, timers: TimerSet) -> Option<LabSetup> {
    if !lab_available() {
        return None;
    }
    Some(LabSetup {
        prefix: unique_prefix(tag),
        iosha: iosha_bin(),
        configs: ConfigOptions {
            seed_config: false,
            timers,
        },
        progress: true,
    })
}

/// The whole `iosha lab` experiment for one failure mode.
pub fn experiment(tag: &str, failure: Failure, timers: TimerSet) -> Option<Experiment> {
    Some(Experiment {
        setup: setup(tag, timers)?,
        failure,
        tcp: TCP,
        udp: UDP,
        keep_going: false,
    })
}

/// Runs the experiment and fails the test with the printed report unless it passed.
pub fn run_and_check(ex: &Experiment) -> LabReport {
    let report = run(ex, None).unwrap_or_else(|e| panic!("the lab could not run: {e}"));
    eprintln!("{}", report.render());
    assert!(report.passed, "the experiment failed: {:?}", report.problems);
    assert_eq!(report.sessions_survived, TCP + UDP);
    assert!(report.detection_ms.is_some());
    report
}

/// Addresses configured in a router's namespace (`ip -o addr`).
pub fn addresses(lab: &Lab, r: Router) -> String {
    let out = lab
        .topo
        .exec(r.short(), "ip", &["-o", "addr", "show"])
        .expect("ip addr");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// True when the router's namespace holds either virtual IP.
pub fn holds_a_vip(lab: &Lab, r: Router) -> bool {
    let a = addresses(lab, r);
    a.contains(" 10.0.0.3/") || a.contains(" 211.0.0.3/")
}

/// Polls `f` every 20 ms until it is true; panics with `what` after `timeout`.
pub fn eventually(what: &str, timeout: Duration, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !f() {
        assert!(Instant::now() < deadline, "not within {timeout:?}: {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Starts the lab with traffic and waits until the standby holds every session; returns the Active router.
pub fn formed_with_traffic(lab: &mut Lab) -> Router {
    let d = lab.deadlines;
    let active = lab.wait_pair(d.pair).expect("the pair forms");
    lab.start_traffic(TCP, UDP).expect("traffic starts");
    lab.wait_flows_since(Instant::now(), d.sessions, "flows exchanging data")
        .expect("flows");
    lab.wait_standby_sessions(active.peer(), TCP + UDP + 1, d.sessions)
        .expect("sessions on the standby");
    active
}

/// Every flow is alive (no failure) and exchanged data since `since`.
pub fn assert_all_flows_since(lab: &mut Lab, since: Instant, what: &str) {
    let d = lab.deadlines;
    let n = lab.wait_flows_since(since, d.flows_after, what).expect(what);
    let flows = lab.traffic().expect("traffic").flows();
    let failed: Vec<_> = flows.iter().filter(|f| f.failure.is_some()).collect();
    assert!(failed.is_empty(), "{what}: flows failed: {failed:?}");
    assert_eq!(n, TCP + UDP, "{what}");
}

/// `show redundancy states` through `iosha exec --json` (the CLI path, not the lab's probe).
pub fn rf_state(lab: &Lab, r: Router) -> String {
    lab.topo
        .exec_json(r, "show redundancy states")
        .ok()
        .and_then(|d| d.get("my_state").and_then(|s| s.as_str()).map(str::to_owned))
        .unwrap_or_default()
}

/// Starts a lab or panics.
pub fn start(setup: &LabSetup) -> Lab {
    Lab::start(setup, None).unwrap_or_else(|e| panic!("lab start: {e}"))
}
