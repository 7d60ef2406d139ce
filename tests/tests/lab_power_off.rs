//! Fault matrix: power-off of the Active router (all its links down, daemon killed), with fast timers.
//! The standby takes over, every TCP connection and UDP flow keeps exchanging data, and the powered-on
//! router rejoins as STANDBY HOT with every session.

mod lab_support;

use cli::lab::configs::TimerSet;
use cli::lab::pair::Failure;

#[test]
fn power_off_of_the_active_keeps_every_session() {
    let Some(ex) = lab_support::experiment("pwr", Failure::PowerOff, TimerSet::Fast) else {
        return;
    };
    let report = lab_support::run_and_check(&ex);
    assert!(report.rejoined_standby_hot);
    assert_eq!(
        report.rejoined_router, report.failed_router,
        "the powered-on router is the new standby"
    );
}
