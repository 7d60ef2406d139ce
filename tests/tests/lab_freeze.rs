//! Fault matrix: gray failure. The Active's daemon is stopped (SIGSTOP) past the hold time, the peer takes
//! over, then the daemon continues (SIGCONT) believing it is still Active. Within about one hold time there
//! is one Active again; the loser reloads its HA state and resyncs as STANDBY HOT; no session is lost.

mod lab_support;

use cli::lab::configs::TimerSet;
use cli::lab::pair::Failure;

#[test]
fn frozen_active_resolves_to_one_active_and_resyncs() {
    let Some(ex) = lab_support::experiment("frz", Failure::Freeze, TimerSet::Fast) else {
        return;
    };
    let report = lab_support::run_and_check(&ex);
    let resolved = report
        .split_brain_resolved_ms
        .expect("one Active again after SIGCONT");
    eprintln!(
        "one Active {resolved} ms after SIGCONT (hold {:?} ms)",
        report.hold_ms
    );
}
