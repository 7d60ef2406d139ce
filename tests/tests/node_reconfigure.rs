//! Live configuration changes on a running daemon (one router of the lab, seed configuration): inspect
//! settings are reconfigured in place, HSRP changes restart the HSRP driver with the new settings, and a
//! bad change is refused without touching the running configuration.

use std::time::Duration;

use iosha_tests::{Router, lab_available, seed_config, topology};

#[test]
fn running_daemon_takes_inspect_and_hsrp_changes() {
    if !lab_available() {
        return;
    }
    let mut topo =
        topology::Topology::build(&iosha_tests::unique_prefix("rc"), &iosha_tests::iosha_bin()).expect("lab");
    let (cfg, _) = topology::lab_config(seed_config(Router::R1), 0);
    topo.start_daemon(Router::R1, &cfg).expect("start");
    topo.wait_daemon_ready(Router::R1, Duration::from_secs(20))
        .expect("ready");
    let r = Router::R1;
    let log = |t: &topology::Topology| t.daemon_log(r);

    let all = topo
        .exec_json(r, "show ip inspect all")
        .unwrap_or_else(|e| panic!("{e}\n{}", log(&topo)));
    assert_eq!(all["config"]["tcp_idle_s"], 180, "{all}");
    topo.exec_text(r, &["configure terminal", "ip inspect tcp idle-time 300", "end"])
        .unwrap_or_else(|e| panic!("{e}\n{}", log(&topo)));
    let all = topo.exec_json(r, "show ip inspect all").expect("show");
    assert_eq!(
        all["config"]["tcp_idle_s"], 300,
        "inspect reconfigured live: {all}"
    );

    topo.exec_text(
        r,
        &[
            "configure terminal",
            "interface Ethernet0/0",
            "standby 1 priority 90",
            "end",
        ],
    )
    .unwrap_or_else(|e| panic!("{e}\n{}", log(&topo)));
    topology::poll_until(Duration::from_secs(10), "HSRP runs the new priority", || {
        let groups = topo.exec_json(r, "show standby").ok()?;
        groups
            .as_array()?
            .iter()
            .any(|g| g["group"] == 1 && g["configured_priority"] == 90)
            .then_some(())
    })
    .unwrap_or_else(|e| panic!("{e}\n{}", log(&topo)));

    // The IPC association restarts with new knobs and is still shown.
    topo.exec_text(
        r,
        &[
            "configure terminal",
            "ipc zone default",
            "association 1",
            "protocol sctp",
            "local-port 5000",
            "path-retransmit 3",
            "end",
        ],
    )
    .unwrap_or_else(|e| panic!("{e}\n{}", log(&topo)));
    let params = topo
        .exec_json(r, "show sctp association parameters")
        .unwrap_or_else(|e| panic!("{e}\n{}", log(&topo)));
    assert_eq!(
        params["path_retransmit"], 3,
        "association restarted with the new knob: {params}"
    );

    // A change the components refuse (or the validator rejects) leaves the running configuration alone.
    let bad = topo.exec_text(
        r,
        &[
            "configure terminal",
            "interface Ethernet0/0",
            "standby 1 timers 5 2",
            "end",
        ],
    );
    assert!(bad.is_err(), "hold below hello is refused");
    let all = topo.exec_json(r, "show ip inspect all").expect("show");
    assert_eq!(all["config"]["tcp_idle_s"], 300);
}
