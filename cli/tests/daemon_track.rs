//! End to end through the daemon (root, network namespace): tracking objects follow a real veth. The router
//! namespace of the harness has `e0` (`Ethernet0/0`, 10.0.0.1/24) and `e1` (`Ethernet1/0`, 211.0.0.1/24).
//! Group 1 on Ethernet0/0 tracks object 1 (Ethernet1/0 line protocol, `delay down 1`) with decrement 20;
//! group 2 tracks object 2 (the same interface, no delay) with `shutdown`; group 3 tracks object 9, which
//! is not defined. `ip link set e1 down` must drop group 1's priority from 110 to 90 (after the 1 s delay)
//! and send group 2 to Init; `up` must restore both.
#![allow(clippy::unwrap_used)]

mod daemon_support;

use daemon_support::{Daemon, wait_for};

const CONFIG: &str = "\
hostname r1
!
track 1 interface Ethernet1/0 line-protocol
 delay down 1
!
track 2 interface Ethernet1/0 line-protocol
!
interface Ethernet0/0
 ip address 10.0.0.1 255.255.255.0
 standby 1 ip 10.0.0.3
 standby 1 priority 110
 standby 1 timers msec 100 msec 300
 standby 1 track 1 decrement 20
 standby 2 ip 10.0.0.4
 standby 2 timers msec 100 msec 300
 standby 2 track 2 shutdown
 standby 3 ip 10.0.0.5
 standby 3 timers msec 100 msec 300
 standby 3 track 9 decrement 30
!
interface Ethernet1/0
 ip address 211.0.0.1 255.255.255.0
!
end
";

fn group(daemon: &Daemon, number: u64) -> serde_json::Value {
    let all: serde_json::Value = serde_json::from_str(&daemon.exec_ok(&["--json", "show standby"])).unwrap();
    all.as_array()
        .unwrap()
        .iter()
        .find(|g| g["group"] == number)
        .cloned()
        .unwrap()
}

fn object(daemon: &Daemon, number: u64) -> serde_json::Value {
    let all: serde_json::Value = serde_json::from_str(&daemon.exec_ok(&["--json", "show track"])).unwrap();
    all.as_array()
        .unwrap()
        .iter()
        .find(|o| o["object"] == number)
        .cloned()
        .unwrap()
}

#[test]
fn a_tracked_link_going_down_lowers_the_priority_and_shuts_the_group() {
    let daemon = Daemon::start("track", CONFIG);
    let ip = |args: &[&str]| {
        let status = std::process::Command::new("ip")
            .args(["-n", &daemon.netns.name])
            .args(args)
            .status()
            .unwrap();
        assert!(status.success(), "ip {args:?}");
    };
    // Alone on the LAN, every group becomes Active; the undefined object 9 counts as down.
    wait_for("groups 1 and 2 Active", || {
        (group(&daemon, 1)["state"] == "Active" && group(&daemon, 2)["state"] == "Active").then_some(())
    });
    let g1 = group(&daemon, 1);
    assert_eq!(
        (g1["priority"].as_u64(), g1["configured_priority"].as_u64()),
        (Some(110), Some(110))
    );
    assert_eq!(
        g1["tracked"][0],
        serde_json::json!({"interface": "Ethernet1/0", "up": true, "decrement": 20, "object": 1})
    );
    let g3 = group(&daemon, 3);
    assert_eq!(g3["priority"].as_u64(), Some(70), "{g3}");
    assert_eq!(g3["tracked"][0]["up"], false);

    let text = daemon.exec_ok(&["show track 1"]);
    assert!(
        text.starts_with(
            "Track 1\n  Interface Ethernet1/0 line-protocol\n  Line protocol is Up\n    1 change, last change 00:00:"
        ),
        "{text}"
    );
    assert!(
        text.contains("  Delay down 1 secs\n  Tracked by:\n    HSRP Ethernet0/0 1\n"),
        "{text}"
    );
    let brief = daemon.exec_ok(&["show track brief"]);
    assert!(
        brief.lines().any(|l| l.starts_with("2     interface   Et1/0")),
        "{brief}"
    );
    let standby = daemon.exec_ok(&["show standby"]);
    assert!(
        standby.contains("    Track object 1 state Up decrement 20\n"),
        "{standby}"
    );
    assert!(
        standby.contains("    Track object 2 state Up shutdown\n"),
        "{standby}"
    );
    assert!(
        standby.contains("    Track object 9 state Down decrement 30\n"),
        "{standby}"
    );

    assert_eq!(daemon.exec_ok(&["debug track"]).trim(), "track debugging is on");

    // The tracked link goes down.
    ip(&["link", "set", "e1", "down"]);
    wait_for("group 2 in Init", || {
        (group(&daemon, 2)["state"] == "Init").then_some(())
    });
    let g2 = group(&daemon, 2);
    assert_eq!(g2["state_detail"], "tracking shutdown", "{g2}");
    daemon.wait_stderr("%TRACK-6-STATE: 2 interface Et1/0 line-protocol Up -> Down", 1);
    daemon.wait_stderr("%HSRP-5-STATECHANGE: Ethernet0/0 Grp 2 state Active -> Init", 1);
    daemon.wait_stderr("Track: 2 change state to Down", 1);
    assert!(
        daemon
            .exec_ok(&["show standby e0/0 2"])
            .contains("State is Init (tracking shutdown)")
    );
    // Object 1 reports the change only after its 1 s down delay.
    wait_for("group 1 priority 90", || {
        (group(&daemon, 1)["priority"] == 90).then_some(())
    });
    daemon.wait_stderr("%TRACK-6-STATE: 1 interface Et1/0 line-protocol Up -> Down", 1);
    let o1 = object(&daemon, 1);
    assert_eq!(
        (o1["state"].as_str(), o1["changes"].as_u64()),
        (Some("Down"), Some(2)),
        "{o1}"
    );
    assert_eq!(
        group(&daemon, 1)["state"],
        "Active",
        "a lower priority alone does not step down"
    );

    // And back up: no up delay, both recover.
    ip(&["link", "set", "e1", "up"]);
    wait_for("group 1 priority 110 and group 2 Active again", || {
        (group(&daemon, 1)["priority"] == 110 && group(&daemon, 2)["state"] == "Active").then_some(())
    });
    assert_eq!(object(&daemon, 2)["changes"], 3);
}
