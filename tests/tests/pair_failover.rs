//! The seed's pair (Figure 1, both example configurations with the start-up delay shortened) in network
//! namespaces: election, RF states, session sync, power-off failover with live TCP/UDP flows, and the old
//! Active's return as STANDBY HOT holding every session. Driven only from outside: links, processes and
//! `iosha exec --json`; every wait is a poll with a deadline.

use std::net::SocketAddr;
use std::time::Duration;

use iosha_tests::traffic::{EchoServer, TcpFlow, UdpFlow};
use iosha_tests::{
    Router, Topology, ha_sessions, lab_available, rf_states, start_seed_pair, topology, wait_pair_formed,
};

const TCP_FLOWS: usize = 4;
const UDP_FLOWS: usize = 2;
/// The seed's hold time is 10 s; detection may take up to that plus election and RF steps.
const TAKEOVER_DEADLINE: Duration = Duration::from_secs(25);

fn dump(topo: &Topology) -> String {
    let mut out = String::new();
    for r in Router::BOTH {
        out.push_str(&format!("===== {r} daemon log =====\n{}\n", topo.daemon_log(r)));
        for cmd in [
            "show redundancy states",
            "show standby brief",
            "show ip inspect ha statistics",
            "show ip inspect all",
            "show ip inspect sessions detail",
        ] {
            out.push_str(&format!(
                "----- {r}# {cmd}\n{}\n",
                topo.exec_text(r, &[cmd]).unwrap_or_else(|e| e.to_string())
            ));
        }
    }
    out
}

fn ports_synced(topo: &Topology, router: Router, ports: &[u16], state: &str) -> bool {
    let sessions = ha_sessions(topo, router);
    ports.iter().all(|p| {
        let needle = format!("10.0.0.10:{p} ");
        sessions.iter().any(|(k, s)| k.contains(&needle) && s == state)
    })
}

#[test]
fn seed_pair_fails_over_with_live_sessions_and_rejoins_hot() {
    if !lab_available() {
        return;
    }
    let mut topo = start_seed_pair("pf").expect("lab");
    let active = match wait_pair_formed(&topo, Duration::from_secs(90)) {
        Ok(r) => r,
        Err(e) => panic!("{e}\n{}", dump(&topo)),
    };
    let standby = active.peer();
    assert_eq!(
        rf_states(&topo, standby).map(|s| s.0).as_deref(),
        Some("STANDBY HOT")
    );

    // Traffic from h1 to h2 through the virtual IPs.
    let _server = EchoServer::start(&topo.ns("h2"), 7000, 7001).expect("echo server");
    let tcp_dst: SocketAddr = "211.0.0.10:7000".parse().expect("addr");
    let udp_dst: SocketAddr = "211.0.0.10:7001".parse().expect("addr");
    let h1 = topo.ns("h1");
    let mut tcp: Vec<TcpFlow> = (0..TCP_FLOWS)
        .map(|_| TcpFlow::connect(&h1, tcp_dst).unwrap_or_else(|e| panic!("connect: {e}\n{}", dump(&topo))))
        .collect();
    let mut udp: Vec<UdpFlow> = (0..UDP_FLOWS)
        .map(|_| UdpFlow::open(&h1, udp_dst).expect("udp"))
        .collect();
    for f in &mut tcp {
        f.exchange(Duration::from_secs(5))
            .unwrap_or_else(|e| panic!("tcp before failover: {e}\n{}", dump(&topo)));
    }
    for f in &mut udp {
        f.exchange(Duration::from_secs(5))
            .unwrap_or_else(|e| panic!("udp before failover: {e}\n{}", dump(&topo)));
    }
    let ports: Vec<u16> = tcp
        .iter()
        .map(TcpFlow::local_port)
        .chain(udp.iter().map(UdpFlow::local_port))
        .collect();

    // Every session is ACTIVE on the Active and STANDBY on the standby.
    let synced = topology::poll_until(Duration::from_secs(20), "sessions on both routers", || {
        (ports_synced(&topo, active, &ports, "ACTIVE") && ports_synced(&topo, standby, &ports, "STANDBY"))
            .then_some(())
    });
    if let Err(e) = synced {
        panic!("{e}\n{}", dump(&topo));
    }

    // Power off the Active: the standby takes over within the hold time plus a margin.
    topo.power_off(active).expect("power off");
    let took_over = topology::poll_until(TAKEOVER_DEADLINE, "standby becomes ACTIVE", || {
        (rf_states(&topo, standby).map(|s| s.0).as_deref() == Some("ACTIVE")).then_some(())
    });
    if let Err(e) = took_over {
        panic!("{e}\n{}", dump(&topo));
    }

    // The same TCP connections still exchange data (no reset, no new handshake), UDP continues.
    for (i, f) in tcp.iter_mut().enumerate() {
        if let Err(e) = f.exchange(Duration::from_secs(30)) {
            panic!("tcp flow {i} after failover: {e}\n{}", dump(&topo));
        }
    }
    for (i, f) in udp.iter_mut().enumerate() {
        if let Err(e) = f.exchange(Duration::from_secs(15)) {
            panic!("udp flow {i} after failover: {e}\n{}", dump(&topo));
        }
    }
    assert!(
        ports_synced(&topo, standby, &ports, "ACTIVE"),
        "promoted sessions are ACTIVE\n{}",
        dump(&topo)
    );

    // The old Active comes back as STANDBY HOT holding every session.
    topo.power_on(active).expect("power on");
    topo.wait_daemon_ready(active, Duration::from_secs(20))
        .expect("daemon back");
    let rejoined = topology::poll_until(Duration::from_secs(60), "old Active rejoins STANDBY HOT", || {
        (rf_states(&topo, active).map(|s| s.0).as_deref() == Some("STANDBY HOT")
            && rf_states(&topo, standby).map(|s| s.0).as_deref() == Some("ACTIVE")
            && ports_synced(&topo, active, &ports, "STANDBY"))
        .then_some(())
    });
    if let Err(e) = rejoined {
        panic!("{e}\n{}", dump(&topo));
    }
    for f in &mut tcp {
        f.exchange(Duration::from_secs(10))
            .unwrap_or_else(|e| panic!("tcp after rejoin: {e}\n{}", dump(&topo)));
    }
}
