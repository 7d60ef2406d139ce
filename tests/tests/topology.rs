//! The lab topology alone (no daemons): addresses, bridges and forwarding as DESIGN §8 draws them.

use iosha_tests::{Router, Topology, iosha_bin, lab_available, unique_prefix};

#[test]
fn figure_one_is_wired_and_cleaned_up() {
    if !lab_available() {
        return;
    }
    let prefix = unique_prefix("topo");
    let names: Vec<String>;
    {
        let topo = Topology::build(&prefix, &iosha_bin()).expect("build the topology");
        names = ["h1", "r1", "r2", "h2", "lan-in", "lan-out"]
            .iter()
            .map(|n| topo.ns(n))
            .collect();
        // Both routers reach both hosts directly; the hosts reach the routers' real addresses.
        for r in Router::BOTH {
            topo.exec("h1", "ping", &["-c1", "-W2", r.inside_addr()])
                .expect("h1 pings the router");
            topo.exec("h2", "ping", &["-c1", "-W2", r.outside_addr()])
                .expect("h2 pings the router");
            let fwd = topo
                .exec(r.short(), "sysctl", &["-n", "net.ipv4.ip_forward"])
                .expect("sysctl");
            assert_eq!(String::from_utf8_lossy(&fwd.stdout).trim(), "1");
        }
        // Link down on r1's inside: h1 loses it, r2 is still reachable.
        topo.set_link(Router::R1, false, false).expect("link down");
        assert!(topo.exec("h1", "ping", &["-c1", "-W1", "10.0.0.1"]).is_err());
        topo.exec("h1", "ping", &["-c1", "-W2", "10.0.0.2"])
            .expect("r2 still answers");
        topo.set_link(Router::R1, false, true).expect("link up");
    }
    let list = std::process::Command::new("ip")
        .args(["netns", "list"])
        .output()
        .expect("ip netns list");
    let list = String::from_utf8_lossy(&list.stdout);
    for n in names {
        assert!(
            !list
                .lines()
                .any(|l| l.split_whitespace().next() == Some(n.as_str())),
            "{n} left behind"
        );
    }
}
