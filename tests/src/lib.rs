//! Integration-test support for iosha: the two-router lab in network namespaces (built on
//! `cli::lab::topology`) and small traffic tools run inside the lab's host namespaces.

use std::path::PathBuf;

pub mod traffic;

pub use cli::lab::topology::{self, Host, LabError, Router, Topology};

/// The `iosha` binary the lab runs: `$IOSHA_BIN` when set, else the copy this package builds
/// (`iosha-lab-node`, compiled from the cli's `main.rs`, next to the `deps/` directory of the test binary).
pub fn iosha_bin() -> PathBuf {
    if let Some(p) = std::env::var_os("IOSHA_BIN") {
        return PathBuf::from(p);
    }
    let exe = std::env::current_exe().unwrap_or_default();
    let mut dir = exe.parent().map(PathBuf::from).unwrap_or_default();
    if dir.ends_with("deps") {
        dir.pop();
    }
    dir.join("iosha-lab-node")
}

/// A namespace prefix unique to this process and test (`ih<pid>-<tag>-`, kept short).
pub fn unique_prefix(tag: &str) -> String {
    format!("ih{}-{tag}-", std::process::id())
}

/// True when the lab can run here (root); tests print why they skip otherwise.
pub fn lab_available() -> bool {
    if topology::is_root() {
        true
    } else {
        eprintln!("skipping: the namespace lab needs root");
        false
    }
}

/// The seed's configuration of a router (`cli/tests/data/ha-R1.cfg` / `ha-R2.cfg`).
pub fn seed_config(router: Router) -> &'static str {
    match router {
        Router::R1 => include_str!("../../cli/tests/data/ha-R1.cfg"),
        Router::R2 => include_str!("../../cli/tests/data/ha-R2.cfg"),
    }
}

/// Builds the lab and starts both daemons on the seed configurations with the start-up delay shortened
/// (`standby delay minimum 120 reload 120` → [`topology::LAB_DELAY_SECONDS`]); waits until both answer.
pub fn start_seed_pair(tag: &str) -> Result<Topology, LabError> {
    let mut topo = Topology::build(&unique_prefix(tag), &iosha_bin())?;
    for r in Router::BOTH {
        let (cfg, replaced) = topology::lab_config(seed_config(r), topology::LAB_DELAY_SECONDS);
        assert_eq!(
            replaced, 2,
            "the seed config carries the delay line on both interfaces"
        );
        topo.start_daemon(r, &cfg)?;
    }
    for r in Router::BOTH {
        topo.wait_daemon_ready(r, std::time::Duration::from_secs(20))?;
    }
    Ok(topo)
}

/// `(my_state, peer_state)` of `show redundancy states --json`.
pub fn rf_states(topo: &Topology, router: Router) -> Option<(String, String)> {
    let doc = topo.exec_json(router, "show redundancy states").ok()?;
    Some((
        doc["my_state"].as_str()?.to_string(),
        doc["peer_state"].as_str()?.to_string(),
    ))
}

/// The HSRP state of every group (`show standby --json`) as (group, state).
pub fn hsrp_states(topo: &Topology, router: Router) -> Vec<(u64, String)> {
    let Ok(doc) = topo.exec_json(router, "show standby") else {
        return Vec::new();
    };
    doc.as_array()
        .map(|groups| {
            groups
                .iter()
                .filter_map(|g| Some((g["group"].as_u64()?, g["state"].as_str()?.to_string())))
                .collect()
        })
        .unwrap_or_default()
}

/// Waits until one router is RF ACTIVE with its peer STANDBY HOT, both HSRP groups Active on it and
/// Standby on the peer; returns the Active router.
pub fn wait_pair_formed(topo: &Topology, timeout: std::time::Duration) -> Result<Router, LabError> {
    topology::poll_until(timeout, "pair ACTIVE / STANDBY HOT", || {
        Router::BOTH.into_iter().find(|&r| {
            let mine = rf_states(topo, r);
            let peer = rf_states(topo, r.peer());
            mine.as_ref().map(|(m, p)| (m.as_str(), p.as_str())) == Some(("ACTIVE", "STANDBY HOT"))
                && peer.as_ref().map(|(m, _)| m.as_str()) == Some("STANDBY HOT")
                && hsrp_states(topo, r).iter().filter(|(_, s)| s == "Active").count() == 2
                && hsrp_states(topo, r.peer())
                    .iter()
                    .filter(|(_, s)| s == "Standby")
                    .count()
                    == 2
        })
    })
}

/// `(id-less flow key, ha_state)` of every HA session a router shows (`show ip inspect ha sessions --json`):
/// the key is `proto initiator responder`.
pub fn ha_sessions(topo: &Topology, router: Router) -> Vec<(String, String)> {
    let Ok(doc) = topo.exec_json(router, "show ip inspect ha sessions") else {
        return Vec::new();
    };
    doc.as_array()
        .map(|list| {
            list.iter()
                .filter_map(|s| {
                    let key = format!(
                        "{} {} {}",
                        s["proto"].as_str()?,
                        s["initiator"].as_str()?,
                        s["responder"].as_str()?
                    );
                    Some((key, s["ha_state"].as_str()?.to_string()))
                })
                .collect()
        })
        .unwrap_or_default()
}
