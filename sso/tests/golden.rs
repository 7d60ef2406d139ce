//! Golden snapshots: the RF transition table and the `show redundancy` renderers.
//! Regenerate with `UPDATE_GOLDEN=1 cargo test -p sso --test golden` and review the diff.
#![allow(clippy::unwrap_used)] // test code: a panic is a test failure

mod sim;

use std::path::PathBuf;

use sim::Sim;
use sso::render;
use timebase::Duration;

fn check(name: &str, actual: &str) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (run with UPDATE_GOLDEN=1 to create it)", path.display()));
    assert_eq!(actual, expected, "golden file {name} differs");
}

#[test]
fn rf_transition_table() {
    check("rf_transitions.txt", &sso::rf::transition_matrix());
    check("rf_transitions.dot", &sso::rf::transition_dot());
}

#[test]
fn show_redundancy_on_a_hot_pair() {
    let mut sim = Sim::hot_pair(100, 1234);
    sim.run_for(Duration::from_secs(125));
    let act = sim.status(0);
    let stby = sim.status(1);
    check("active_states.txt", &render::render_states(&act));
    check("standby_states.txt", &render::render_states(&stby));
    check("active_inter_device.txt", &render::render_inter_device(&act));
    check("standby_history.txt", &render::render_history(&stby));
    check("active_history.txt", &render::render_history(&act));
    check("standby_clients.txt", &render::render_clients(&stby));
    check("active_summary.txt", &render::render_summary(&act));
    check("standby_json.json", &serde_json::to_string_pretty(&stby).unwrap());
}

#[test]
fn show_redundancy_alone_with_a_mismatch_history() {
    let mut sim = Sim::new(101);
    sim.units[1].summary.interfaces[0].rule = "other".into();
    sim.bulk_delay = Duration::from_secs(30);
    sim.power_on(0);
    sim.run_for(Duration::from_secs(5));
    sim.power_on(1);
    sim.run_for(Duration::from_secs(2));
    check(
        "standby_bulk_summary.txt",
        &render::render_summary(&sim.status(1)),
    );
    check("standby_bulk_states.txt", &render::render_states(&sim.status(1)));
    sim.power_off(0);
    sim.run_for(Duration::from_secs(5));
    let s = sim.status(1);
    check("simplex_states.txt", &render::render_states(&s));
    check("simplex_inter_device.txt", &render::render_inter_device(&s));
    check("simplex_summary.txt", &render::render_summary(&s));
    check("simplex_history.txt", &render::render_history(&s));
}
