//! Fault matrix: the tracked outside link of the Active goes down. Both HSRP groups move to the peer
//! (group 2 because its interface died, group 1 because tracking lowered the priority and the peer preempts:
//! the seed's LAN/WAN lesson), sessions survive, and after link up the pair re-forms.

mod lab_support;

use cli::lab::configs::TimerSet;
use cli::lab::pair::Failure;

#[test]
fn tracked_outside_link_down_moves_both_groups() {
    let Some(ex) = lab_support::experiment("link", Failure::Link, TimerSet::Fast) else {
        return;
    };
    let report = lab_support::run_and_check(&ex);
    // The takeover is only counted when *every* group is Active on the survivor.
    assert!(report.hsrp_active_ms.is_some(), "both groups moved");
}
