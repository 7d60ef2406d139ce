//! Fault matrix: both routers start at the same moment (`Lab::start` launches both daemons back to back).
//! The pair settles on exactly one Active (no group Active on both), the other reaches STANDBY HOT, and
//! synchronized sessions flow.

mod lab_support;

use std::time::{Duration, Instant};

use cli::lab::configs::TimerSet;
use lab_support::assert_all_flows_since;

#[test]
fn simultaneous_start_elects_one_active() {
    let Some(setup) = lab_support::setup("simul", TimerSet::Fast) else {
        return;
    };
    let mut lab = lab_support::start(&setup);
    let d = lab.deadlines;
    let active = lab.wait_single_active(d.pair).expect("one Active");
    let formed = lab.wait_pair(d.pair).expect("ACTIVE / STANDBY HOT");
    assert_eq!(
        active, formed,
        "the Active did not change while the standby came up"
    );
    assert_eq!(lab_support::rf_state(&lab, formed), "ACTIVE");
    assert_eq!(lab_support::rf_state(&lab, formed.peer()), "STANDBY HOT");
    lab.start_traffic(lab_support::TCP, lab_support::UDP)
        .expect("traffic");
    lab.wait_standby_sessions(formed.peer(), lab_support::TCP + lab_support::UDP + 1, d.sessions)
        .expect("sessions on the standby");
    // Stable: still one Active a few hold times later, and traffic flows.
    let later = Instant::now() + Duration::from_secs(1);
    while Instant::now() < later {
        assert_eq!(
            lab.wait_single_active(Duration::from_secs(2))
                .expect("still one Active"),
            formed
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_all_flows_since(&mut lab, Instant::now(), "flows");
}
