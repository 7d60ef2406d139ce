//! End to end through the daemon: an ACL with named ports, `established` and `log` loads, shows by name in
//! `show running-config` and `show ip access-lists`, and a logging entry that matches forwarded traffic
//! produces one `%SEC-6-IPACCESSLOGDP` syslog line (stderr and `show logging`) for repeated pings.
//!
//! The host side is a namespace of this test (`iha<pid>-<n>`) holding `e0p`, the peer of the router's `e0`:
//! 10.0.0.10/24 with the router as gateway. Pings to 211.0.0.10 are forwarded by the router namespace to
//! `e1` (nobody answers there; the FORWARD hook has judged them by then).
#![allow(clippy::unwrap_used)]

mod daemon_support;

use std::process::{Command, Stdio};

use daemon_support::{Daemon, HA_R1, add_netns, delete_netns, ip, wait_for};

/// A namespace of this test, deleted on drop.
struct HostNs {
    name: String,
}

impl HostNs {
    fn new() -> Self {
        Self {
            name: add_netns("iha"),
        }
    }
}

impl Drop for HostNs {
    fn drop(&mut self) {
        delete_netns(&self.name);
    }
}

const ACL: &str = "\
ip access-list extended from-lan
 permit icmp any any log
 permit tcp any any eq 80 log
 permit tcp any eq 23 any established
 deny udp any any eq snmp log
 permit ip any any
interface Ethernet0/0
 ip access-group from-lan in
";

#[test]
fn logging_acl_entries_reach_syslog_through_the_daemon() {
    let daemon = Daemon::start("acl-log", &format!("{HA_R1}{ACL}"));
    let router = daemon.netns.name.clone();

    // The configuration shows well-known ports by name.
    let running = daemon.exec_ok(&["show running-config"]);
    for line in [
        " permit icmp any any log",
        " permit tcp any any eq www log",
        " permit tcp any eq telnet any established",
        " deny udp any any eq snmp log",
    ] {
        assert!(running.contains(line), "{line:?} in:\n{running}");
    }
    let json = daemon.running_json();
    let acl = json["access_lists"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == "from-lan")
        .unwrap();
    assert_eq!(acl["entries"][1]["destination_port"]["eq"], 80);
    assert_eq!(acl["entries"][1]["log"], true);
    assert_eq!(acl["entries"][2]["established"], true);

    // The data plane queues e0 once the access-group is on it.
    wait_for("an NFQUEUE rule for e0", || {
        let out = daemon.netns.command("iptables-save").output().unwrap();
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .any(|l| l.contains("NFQUEUE") && l.contains("-i e0 "))
            .then_some(())
    });

    // A host behind e0 pings through the router.
    let host = HostNs::new();
    ip(&["-n", &router, "link", "set", "e0p", "netns", &host.name]);
    ip(&["-n", &host.name, "link", "set", "lo", "up"]);
    ip(&["-n", &host.name, "addr", "add", "10.0.0.10/24", "dev", "e0p"]);
    ip(&["-n", &host.name, "link", "set", "e0p", "up"]);
    ip(&["-n", &host.name, "route", "add", "default", "via", "10.0.0.1"]);
    ip(&[
        "netns",
        "exec",
        &router,
        "sysctl",
        "-q",
        "-w",
        "net.ipv4.ip_forward=1",
    ]);
    let pings = || {
        // No reply comes back (nobody owns 211.0.0.10): the exit status does not matter.
        let _ = Command::new("ip")
            .args([
                "netns",
                "exec",
                &host.name,
                "ping",
                "-n",
                "-q",
                "-c",
                "3",
                "-i",
                "0.2",
                "-W",
                "1",
                "211.0.0.10",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    };
    let line = "%SEC-6-IPACCESSLOGDP: list from-lan permitted icmp 10.0.0.10 -> 211.0.0.10 (8/0), 1 packet";
    let matched = wait_for("three pings judged by entry 10", || {
        pings();
        let acls: serde_json::Value =
            serde_json::from_str(&daemon.exec_ok(&["--json", "show ip access-lists"])).unwrap();
        let entry = acls.as_array()?.iter().find(|a| a["name"] == "from-lan")?["entries"][0].clone();
        (entry["matches"].as_u64()? >= 3).then_some(entry)
    });
    daemon.wait_stderr(line, 1);
    // Repeats are counted, not logged (one line for the flow in this 5-minute interval).
    assert_eq!(
        daemon.stderr().matches("%SEC-6-IPACCESSLOGDP").count(),
        1,
        "{}",
        daemon.stderr()
    );
    assert_eq!(matched["logged"], 1, "{matched}");
    assert_eq!(
        matched["log_suppressed"].as_u64().unwrap(),
        matched["matches"].as_u64().unwrap() - 1,
        "{matched}"
    );
    let logging = daemon.exec_ok(&["show logging"]);
    assert!(logging.contains(line), "{logging}");
    let text = daemon.exec_ok(&["show ip access-lists from-lan"]);
    assert!(text.contains("10 permit icmp any any log ("), "{text}");
    assert!(text.contains("20 permit tcp any any eq www log"), "{text}");
    assert!(
        text.contains("30 permit tcp any eq telnet any established"),
        "{text}"
    );
}
