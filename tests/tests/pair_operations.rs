//! Operator actions on the seed pair in namespaces: `clear ip inspect ha sessions-all` on the standby
//! restores every session through a bulk sync, `redundancy force-switchover` swaps the roles with live
//! sessions, and SIGTERM stops a daemon cleanly (virtual IP, macvlan and
//! the data plane's packet-filter rules removed; the peer takes over).

use std::net::SocketAddr;
use std::time::Duration;

use iosha_tests::traffic::{EchoServer, TcpFlow, UdpFlow};
use iosha_tests::{
    Router, Topology, ha_sessions, hsrp_states, lab_available, rf_states, start_seed_pair, topology,
    wait_pair_formed,
};

fn dump(topo: &Topology) -> String {
    Router::BOTH
        .iter()
        .map(|r| format!("===== {r} =====\n{}\n", topo.daemon_log(*r)))
        .collect()
}

fn standby_count(topo: &Topology, r: Router) -> usize {
    ha_sessions(topo, r)
        .iter()
        .filter(|(_, s)| s == "STANDBY")
        .count()
}

#[test]
fn clear_sessions_all_on_the_standby_resyncs_and_sigterm_cleans_up() {
    if !lab_available() {
        return;
    }
    let mut topo = start_seed_pair("op").expect("lab");
    let active =
        wait_pair_formed(&topo, Duration::from_secs(90)).unwrap_or_else(|e| panic!("{e}\n{}", dump(&topo)));
    let standby = active.peer();

    let _server = EchoServer::start(&topo.ns("h2"), 7000, 7001).expect("echo server");
    let h1 = topo.ns("h1");
    let mut tcp: Vec<TcpFlow> = (0..3)
        .map(|_| {
            TcpFlow::connect(&h1, "211.0.0.10:7000".parse::<SocketAddr>().expect("addr")).expect("connect")
        })
        .collect();
    let mut udp = UdpFlow::open(&h1, "211.0.0.10:7001".parse().expect("addr")).expect("udp");
    for f in &mut tcp {
        f.exchange(Duration::from_secs(5)).expect("tcp");
    }
    udp.exchange(Duration::from_secs(5)).expect("udp");
    let total = 4;
    topology::poll_until(Duration::from_secs(20), "standby holds the sessions", || {
        (standby_count(&topo, standby) >= total).then_some(())
    })
    .unwrap_or_else(|e| panic!("{e}\n{}", dump(&topo)));

    // The operator flushes the standby's copies: a bulk sync brings the same count back, STANDBY HOT again.
    topo.exec_text(standby, &["clear ip inspect ha sessions-all"])
        .expect("clear");
    topology::poll_until(Duration::from_secs(30), "bulk resync after clear", || {
        (standby_count(&topo, standby) >= total
            && rf_states(&topo, standby).map(|s| s.0).as_deref() == Some("STANDBY HOT"))
        .then_some(())
    })
    .unwrap_or_else(|e| panic!("{e}\n{}", dump(&topo)));
    let stats = topo
        .exec_json(standby, "show ip inspect ha statistics")
        .expect("stats");
    assert!(
        stats["bulk_syncs"].as_u64().unwrap_or(0) >= 2,
        "a second bulk sync ran: {stats}"
    );

    // Planned switchover: the peer (STANDBY HOT) takes over, the old Active reloads its HA state and comes
    // back STANDBY HOT through a bulk sync, the TCP connections keep going.
    topo.exec_text(active, &["redundancy force-switchover"])
        .unwrap_or_else(|e| panic!("{e}\n{}", dump(&topo)));
    topology::poll_until(
        // The resigning router's groups restart (the driver has no resign request) and come back as HSRP
        // Standby after learning the new Active: wait for that too before failing the new Active.
        Duration::from_secs(60),
        "switchover: roles swapped, STANDBY HOT again",
        || {
            (rf_states(&topo, standby).map(|s| s.0).as_deref() == Some("ACTIVE")
                && rf_states(&topo, active).map(|s| s.0).as_deref() == Some("STANDBY HOT")
                && standby_count(&topo, active) >= total
                && hsrp_states(&topo, active)
                    .iter()
                    .filter(|(_, s)| s == "Standby")
                    .count()
                    == 2)
                .then_some(())
        },
    )
    .unwrap_or_else(|e| panic!("{e}\n{}", dump(&topo)));
    for f in &mut tcp {
        f.exchange(Duration::from_secs(20))
            .unwrap_or_else(|e| panic!("tcp after the switchover: {e}\n{}", dump(&topo)));
    }
    let (active, standby) = (standby, active);

    // SIGTERM on the Active: it resigns and cleans up; the standby takes over at once.
    let ns = topo.router_ns(active);
    assert!(
        topo.stop_daemon(active, Duration::from_secs(20)),
        "daemon exits on SIGTERM\n{}",
        dump(&topo)
    );
    let addrs = topo.exec(active.short(), "ip", &["-o", "addr"]).expect("ip addr");
    let addrs = String::from_utf8_lossy(&addrs.stdout).into_owned();
    assert!(
        !addrs.contains("10.0.0.3/") && !addrs.contains("211.0.0.3/"),
        "VIPs removed in {ns}:\n{addrs}"
    );
    let links = topo.exec(active.short(), "ip", &["-o", "link"]).expect("ip link");
    assert!(
        !String::from_utf8_lossy(&links.stdout).contains("hsrp"),
        "macvlans removed"
    );
    let rules = topo
        .exec(active.short(), "iptables-save", &[])
        .expect("iptables-save");
    assert!(
        !String::from_utf8_lossy(&rules.stdout).contains("NFQUEUE"),
        "NFQUEUE rules removed"
    );
    topology::poll_until(Duration::from_secs(20), "peer ACTIVE after the resign", || {
        (rf_states(&topo, standby).map(|s| s.0).as_deref() == Some("ACTIVE")).then_some(())
    })
    .unwrap_or_else(|e| panic!("{e}\n{}", dump(&topo)));
    for f in &mut tcp {
        f.exchange(Duration::from_secs(20))
            .unwrap_or_else(|e| panic!("tcp after the planned stop: {e}\n{}", dump(&topo)));
    }
}
