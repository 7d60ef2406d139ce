//! Fault matrix: the Active's daemon is killed (kill -9) and restarted. The crash leaves the virtual MAC /
//! virtual IPs behind in the router (nothing ran to remove them); the restarted daemon removes that stale
//! state, rejoins as standby, resyncs every session, and no session is lost.

mod lab_support;

use std::time::{Duration, Instant};

use cli::lab::configs::TimerSet;
use cli::lab::pair::Failure;
use lab_support::{assert_all_flows_since, eventually, holds_a_vip};

#[test]
fn crash_and_restart_cleans_stale_state_and_rejoins_as_standby() {
    let Some(setup) = lab_support::setup("crash", TimerSet::Fast) else {
        return;
    };
    let mut lab = lab_support::start(&setup);
    let active = lab_support::formed_with_traffic(&mut lab);
    let standby = active.peer();
    assert!(
        holds_a_vip(&lab, active),
        "the Active holds the VIPs:\n{}",
        lab_support::addresses(&lab, active)
    );
    assert!(!holds_a_vip(&lab, standby), "the standby holds no VIP");

    let failed_at = lab.fail(active, Failure::Crash).expect("kill -9");
    let takeover = lab
        .wait_takeover(standby, failed_at)
        .expect("the standby takes over");
    eprintln!("takeover after {:?}", takeover.detection());
    assert!(
        holds_a_vip(&lab, active),
        "a crash removes nothing: the stale VIPs are still in the crashed router"
    );
    assert_all_flows_since(&mut lab, Instant::now(), "flows after the takeover");

    lab.restore(active, Failure::Crash).expect("restart");
    eventually(
        "the restarted daemon removes the stale VIPs",
        Duration::from_secs(15),
        || !holds_a_vip(&lab, active),
    );
    let d = lab.deadlines;
    let now_active = lab.wait_pair(d.pair).expect("the pair re-forms");
    assert_eq!(
        now_active, standby,
        "the restarted router rejoins as standby (equal priorities do not preempt)"
    );
    lab.wait_standby_sessions(active, lab_support::TCP + lab_support::UDP + 1, d.sessions)
        .expect("the restarted router resyncs every session");
    assert_eq!(lab_support::rf_state(&lab, active), "STANDBY HOT");
    assert!(!holds_a_vip(&lab, active));
    assert_all_flows_since(&mut lab, Instant::now(), "flows after the rejoin");
}
