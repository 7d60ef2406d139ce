//! Two real drivers in network namespaces on a bridge, with a host: election, the host reaching the VIP
//! through the virtual MAC, failover when the Active loses its link, preemption back, failover on a
//! tracked link, crash leftovers removed at restart, clean removal on shutdown.
//!
//! Needs root (CI and this machine run as root); skips with a message otherwise.

mod netns_support;

use std::time::Duration;

use hsrp::driver::HsrpEvent;
use netns_support::*;

#[test]
fn two_routers_and_a_host_in_namespaces() {
    if !can_run() {
        eprintln!("SKIPPED: needs root and iproute2 to create network namespaces");
        return;
    }
    let (_ns, _br, r1, r2, h) = topology("t");
    let a = Router::start(&r1, spec(110, true));
    let b = Router::start(&r2, spec(100, false));
    let limit = Duration::from_secs(10);

    // Election: exactly one Active, the higher priority.
    wait_until("r1 Active and r2 Standby", limit, || {
        a.state() == "Active" && b.state() == "Standby"
    });
    assert_eq!(b.status().active_router, "10.0.0.1");
    assert_eq!(vmac_devices(&r1), 1);
    assert_eq!(vmac_devices(&r2), 0);
    // The host reaches the VIP through the virtual MAC.
    wait_until("ping to the VIP", limit, || ping(&h));
    let neigh = out(&["ip", "-n", &h, "neigh", "show", VIP]);
    assert!(
        neigh.contains("00:00:0c:07:ac:01"),
        "host ARP entry for the VIP: {neigh}"
    );
    // The Active's hellos leave from the virtual MAC (seen from the host).
    if run(&["tshark", "--version"]).status.success() {
        let cap = out(&[
            "ip",
            "netns",
            "exec",
            &h,
            "tshark",
            "-i",
            "e0",
            "-c",
            "2",
            "-a",
            "duration:5",
            "-f",
            "udp port 1985",
            "-T",
            "fields",
            "-e",
            "eth.src",
            "-e",
            "ip.src",
            "-e",
            "hsrp.state",
            "-e",
            "ip.ttl",
        ]);
        let lines: Vec<&str> = cap.lines().filter(|l| l.contains("10.0.0.1")).collect();
        assert!(!lines.is_empty(), "no hello from r1 captured: {cap}");
        for l in lines {
            assert_eq!(
                l.split('\t').collect::<Vec<_>>(),
                ["00:00:0c:07:ac:01", "10.0.0.1", "16", "1"],
                "{l}"
            );
        }
    } else {
        eprintln!("tshark not installed: the vMAC source of hellos is not checked");
    }
    assert_eq!(
        a.events
            .try_iter()
            .filter(|(_, e)| matches!(
                e,
                HsrpEvent::StateChange {
                    to: hsrp::State::Active,
                    ..
                }
            ))
            .count(),
        1
    );

    // Power off the Active (its LAN link down): r2 takes over within about one hold time.
    ok(&["ip", "-n", &r1, "link", "set", "e0", "down"]);
    let took = wait_until("r2 Active after r1 lost its link", limit, || {
        b.state() == "Active"
    });
    eprintln!("failover after link loss observed in {took:?} (hold {HOLD_MS} ms)");
    wait_until("r1 removed its virtual MAC device", limit, || {
        vmac_devices(&r1) == 0
    });
    assert_eq!(a.state(), "Init");
    wait_until("ping to the VIP through r2", limit, || ping(&h));
    assert_eq!(vmac_devices(&r2), 1);

    // r1 comes back: priority 110 > 100 with preempt → it takes the group back by Coup.
    ok(&["ip", "-n", &r1, "link", "set", "e0", "up"]);
    wait_until("r1 Active again by preemption", limit, || {
        a.state() == "Active" && b.state() == "Standby"
    });
    assert!(a.status().counters.coups_out >= 1);
    assert!(b.status().counters.resigns_out >= 1);
    wait_until("r2 removed its virtual MAC device", limit, || {
        vmac_devices(&r2) == 0
    });

    // Tracked link down on r1: 110 - 20 = 90 < 100 → r2 preempts.
    ok(&["ip", "-n", &r1, "link", "set", "e1", "down"]);
    wait_until("r2 Active after r1's tracked link went down", limit, || {
        b.state() == "Active"
    });
    let st = a.status();
    assert_eq!((st.priority, st.tracked[0].up), (90, false));
    wait_until("r1 Standby", limit, || a.state() == "Standby");
    wait_until("ping to the VIP after the tracked failover", limit, || ping(&h));

    // The tracked link recovers: r1 preempts back.
    ok(&["ip", "-n", &r1, "link", "set", "e1", "up"]);
    wait_until("r1 Active after its tracked link recovered", limit, || {
        a.state() == "Active" && b.state() == "Standby"
    });

    // Crash of the Active (no cleanup): its device is left behind; r2 takes over after the hold time;
    // the next start of r1 removes the leftover and preempts back.
    a.stop(Cmd::Crash);
    assert_eq!(vmac_devices(&r1), 1, "a crashed driver leaves its device");
    wait_until("r2 Active after r1's crash", limit, || b.state() == "Active");
    let a = Router::start(&r1, spec(110, true));
    assert_eq!(vmac_devices(&r1), 0, "leftover removed at start");
    wait_until("r1 Active again after restart", limit, || {
        a.state() == "Active" && b.state() == "Standby"
    });
    wait_until("ping to the VIP", limit, || ping(&h));

    // Planned switchover: r1 resigns, r2 takes over on the Resign; r1 (110, preempt) does not Coup back
    // for one hold time, then preempts as usual (no redundancy manager holds it here).
    let resigns_in = b.status().counters.resigns_in;
    let resigned = std::time::Instant::now();
    assert_eq!(a.resign(), 1);
    assert_ne!(a.state(), "Active");
    wait_until("r2 took over on r1's Resign", limit, || {
        b.status().counters.resigns_in > resigns_in
    });
    wait_until("r1 Active again once its resign hold passed", limit, || {
        a.state() == "Active" && b.state() == "Standby"
    });
    assert!(
        resigned.elapsed() >= Duration::from_millis(u64::from(HOLD_MS)),
        "r1 preempted back before one hold time"
    );
    wait_until("ping to the VIP", limit, || ping(&h));

    // Clean removal on shutdown: the Active resigns, the standby takes over at once.
    a.stop(Cmd::Shutdown);
    assert_eq!(vmac_devices(&r1), 0);
    wait_until("r2 Active after r1's graceful shutdown", limit, || {
        b.state() == "Active"
    });
    assert!(b.status().counters.resigns_in >= 1);
    wait_until("ping to the VIP through r2", limit, || ping(&h));
    b.stop(Cmd::Shutdown);
    assert_eq!(vmac_devices(&r2), 0);
    for n in [&r1, &r2] {
        let ign = out(&[
            "ip",
            "netns",
            "exec",
            n,
            "cat",
            "/proc/sys/net/ipv4/conf/e0/arp_ignore",
        ]);
        assert_eq!(ign.trim(), "1");
    }
}

#[test]
fn version2_md5_group_in_namespaces() {
    if !can_run() {
        eprintln!("SKIPPED: needs root and iproute2 to create network namespaces");
        return;
    }
    let (_ns, _br, r1, r2, h) = topology("v2");
    let v2 = |prio: u8| {
        let mut s = spec(prio, false);
        let g = &mut s.interfaces[0].groups[0];
        g.version = hsrp::Version::V2;
        g.group = 4000;
        g.auth = hsrp::AuthConfig::Md5 {
            key: "s3cret".into(),
            key_id: 0,
        };
        s
    };
    let a = Router::start(&r1, v2(110));
    let b = Router::start(&r2, v2(100));
    let limit = Duration::from_secs(10);
    wait_until("r1 Active and r2 Standby (v2, MD5)", limit, || {
        a.state() == "Active" && b.state() == "Standby"
    });
    let st = b.status();
    assert_eq!(
        (st.version, st.group, st.active_router.as_str()),
        (2, 4000, "10.0.0.1")
    );
    assert_eq!(st.counters.auth_failures, 0);
    assert!(st.counters.hellos_in > 0);
    wait_until("ping to the VIP", limit, || ping(&h));
    let neigh = out(&["ip", "-n", &h, "neigh", "show", VIP]);
    assert!(
        neigh.contains("00:00:0c:9f:ff:a0"),
        "host ARP entry for the VIP: {neigh}"
    );
    a.stop(Cmd::Shutdown);
    wait_until("r2 Active after r1's shutdown", limit, || b.state() == "Active");
    wait_until("ping to the VIP through r2", limit, || ping(&h));
    b.stop(Cmd::Shutdown);
    assert_eq!(vmac_devices(&r2), 0);
}
