//! The lab's own measuring tools, checked without any daemon: the VIPs are put on r1 by hand, the lab's
//! traffic (TCP connections, UDP flows, 5 ms probe) runs from h1 to h2 through them, and a known outage is
//! made by taking r1's outside link down for a while. The probe must report a gap at least that long, and
//! every flow must come back on the same connection.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use cli::lab::topology::{H2_ADDR, Host, Router, Topology};
use cli::lab::traffic::{Ports, TrafficClient, TrafficServer, TrafficSpec};
use iosha_tests::{iosha_bin, lab_available, unique_prefix};

fn wait_all_alive(client: &TrafficClient, since: Instant, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if client.alive_since(since).len() == n {
            return;
        }
        assert!(Instant::now() < deadline, "flows: {:#?}", client.flows());
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn probe_measures_a_known_outage_and_flows_survive_it() {
    if !lab_available() {
        return;
    }
    let topo = Topology::build(&unique_prefix("meas"), &iosha_bin()).expect("topology");
    topo.exec("r1", "ip", &["addr", "add", "10.0.0.3/24", "dev", "e0"])
        .expect("VIP in");
    topo.exec("r1", "ip", &["addr", "add", "211.0.0.3/24", "dev", "e1"])
        .expect("VIP out");
    let ns = |h| PathBuf::from("/run/netns").join(topo.host_ns(h));
    let server_addr = H2_ADDR.parse().expect("address");
    let _server = TrafficServer::start(&ns(Host::H2), server_addr, Ports::default()).expect("server");
    let (tcp, udp) = (4, 2);
    let client =
        TrafficClient::start(&ns(Host::H1), &TrafficSpec::new(server_addr, tcp, udp)).expect("client");
    wait_all_alive(&client, Instant::now(), tcp + udp);

    let outage = Duration::from_millis(400);
    let down_at = Instant::now();
    topo.set_link(Router::R1, true, false).expect("link down");
    std::thread::sleep(outage);
    topo.set_link(Router::R1, true, true).expect("link up");
    let up_at = Instant::now();
    wait_all_alive(&client, up_at, tcp + udp);

    let probe = client.probe(down_at);
    let gap = probe.largest_gap_ms.expect("a gap");
    eprintln!(
        "made {:?}, measured {gap} ms (probe {} sent, {} echoed)",
        up_at - down_at,
        probe.sent,
        probe.received
    );
    assert!(
        gap >= u64::try_from(outage.as_millis()).expect("ms"),
        "the probe saw only {gap} ms"
    );
    assert!(probe.received > 0 && probe.received < probe.sent);
    let flows = client.flows();
    assert!(
        flows.iter().all(|f| f.failure.is_none() && f.echoed > 0),
        "{flows:#?}"
    );
    // Before the outage the gaps were small: the probe window starting now shows no outage yet.
    assert!(
        client.probe(Instant::now()).largest_gap_ms.unwrap_or(0)
            < u64::try_from(outage.as_millis()).expect("ms")
    );
}
