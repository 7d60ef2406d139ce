//! End to end: the built `iosha daemon` on the seed's ha-R1 configuration, driven by `iosha exec` and by raw
//! control-socket requests.
#![allow(clippy::unwrap_used)]

mod daemon_support;

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::os::unix::net::UnixStream;
use std::process::Command;

use daemon_support::{
    Daemon, HA_R1, INTERFACE_MAP, IOSHA, Netns, TestDir, netns_exists, output_within_deadline, wait_for,
};
use nix::sys::signal::Signal;

fn stderr_of(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn priority_of_group1(running: &serde_json::Value) -> u64 {
    let iface = running["interfaces"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["name"] == "Ethernet0/0")
        .unwrap();
    let group = iface["standby"]["groups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["group"] == 1)
        .unwrap();
    group["priority"].as_u64().unwrap()
}

/// The NFQUEUE rules the data plane installed in the namespace (`iptables-save` lines).
fn nfqueue_rules(ns: &Netns) -> Vec<String> {
    let out = ns.command("iptables-save").output().unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.contains("NFQUEUE"))
        .map(str::to_owned)
        .collect()
}

#[test]
fn invalid_config_or_mapping_refuses_to_start() {
    // Every daemon of this test runs in a namespace of its own, like the others: were one to start its
    // components by mistake, they would not touch the root namespace.
    let ns = Netns::new();
    let dir = TestDir::new("invalid");
    let bad = dir.path.join("bad.cfg");
    std::fs::write(
        &bad,
        "hostname r9\ninterface Ethernet0/0\n standby 1 timers 0 10\n",
    )
    .unwrap();
    let sock = dir.path.join("s.sock");
    let out = output_within_deadline(
        ns.command(IOSHA)
            .args(["daemon", "--config"])
            .arg(&bad)
            .arg("--control")
            .arg(&sock),
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr_of(&out));
    let err = stderr_of(&out);
    assert!(err.contains("% Invalid input detected at '^' marker."), "{err}");
    assert!(err.contains("bad.cfg:3"), "{err}");
    assert!(err.contains("not starting"), "{err}");
    assert!(!sock.exists());

    // A whole-config contradiction (hold time not above hello) is refused too.
    std::fs::write(&bad, "interface Ethernet0/0\n ip address 10.0.0.1 255.255.255.0\n standby 1 ip 10.0.0.3\n standby 1 timers 5 3\n").unwrap();
    let out = output_within_deadline(
        ns.command(IOSHA)
            .args(["daemon", "--config"])
            .arg(&bad)
            .arg("--control")
            .arg(&sock),
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr_of(&out));

    let good = dir.path.join("good.cfg");
    std::fs::write(&good, HA_R1).unwrap();
    let out = output_within_deadline(
        ns.command(IOSHA)
            .args(["daemon", "--config"])
            .arg(&good)
            .arg("--control")
            .arg(&sock)
            .args(["--interface", "Ethernet0/0"]),
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr_of(&out).contains("IOS=LINUX"), "{}", stderr_of(&out));

    let out = output_within_deadline(
        ns.command(IOSHA)
            .args(["daemon", "--config"])
            .arg(dir.path.join("missing.cfg")),
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr_of(&out).contains("cannot read"), "{}", stderr_of(&out));

    // Without --interface the seed's IOS names are flagged, and the components cannot start on them: the
    // daemon stops with status 1 before opening its socket.
    let out = output_within_deadline(
        ns.command(IOSHA)
            .args(["daemon", "--config"])
            .arg(&good)
            .arg("--control")
            .arg(&sock),
    );
    let err = stderr_of(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("interface Ethernet1/0 is not a Linux interface name"),
        "{err}"
    );
    assert!(err.contains("cannot start the components"), "{err}");
    assert!(!sock.exists());
    assert!(nfqueue_rules(&ns).is_empty(), "{:?}", nfqueue_rules(&ns));
}

#[test]
fn show_running_config_text_json_version_and_pipes() {
    let daemon = Daemon::start_with(
        "show",
        HA_R1,
        &["--interface", "e0/0=e0", "--interface", "Ethernet1/0=e1"],
    );
    let text = daemon.exec_ok(&["show running-config"]);
    for needle in [
        "hostname ha-R1",
        "interface Ethernet0/0",
        "standby 1 ip 10.0.0.3",
        "scheme standby HAin",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in:\n{text}");
    }
    let json = daemon.running_json();
    assert_eq!(json["hostname"], "ha-R1");
    assert_eq!(priority_of_group1(&json), 60);

    let version = daemon.exec_ok(&["show version"]);
    assert!(
        version.contains(&format!("Version {}", env!("CARGO_PKG_VERSION"))),
        "{version}"
    );
    // The abbreviated IOS name of the mapping was expanded.
    assert!(version.contains("Ethernet0/0 -> e0"), "{version}");
    assert!(
        !daemon.stderr().contains("not a Linux interface name"),
        "{}",
        daemon.stderr()
    );
    let v: serde_json::Value = serde_json::from_str(&daemon.exec_ok(&["--json", "show version"])).unwrap();
    assert_eq!(v["name"], "iosha");
    assert_eq!(v["interfaces"]["Ethernet1/0"], "e1");
    assert_eq!(v["config_file"], daemon.config.display().to_string());

    // Abbreviations and an output pipe.
    let filtered = daemon.exec_ok(&["sh run | include standby 1"]);
    assert!(!filtered.is_empty());
    assert!(filtered.lines().all(|l| l.contains("standby 1")), "{filtered}");
}

#[test]
fn components_show_their_real_state() {
    let daemon = Daemon::start("components", HA_R1);
    // Both interfaces are mapped: no warning about IOS names.
    assert!(
        !daemon.stderr().contains("not a Linux interface name"),
        "{}",
        daemon.stderr()
    );
    let version = daemon.exec_ok(&["show version"]);
    for name in ["HSRP", "IPC", "Inspect", "Redundancy"] {
        assert!(version.contains(name), "component {name} missing:\n{version}");
    }

    // HSRP: both groups on their interfaces, held in Init by `standby delay minimum 120`.
    let brief = daemon.exec_ok(&["show standby brief"]);
    let row = |iface: &str| {
        brief
            .lines()
            .find(|l| l.starts_with(iface))
            .unwrap_or_else(|| panic!("no {iface} row:\n{brief}"))
            .split_whitespace()
            .collect::<Vec<_>>()
    };
    assert_eq!(
        row("Et0/0"),
        ["Et0/0", "1", "60", "P", "Init", "unknown", "unknown", "10.0.0.3"]
    );
    assert_eq!(
        row("Et1/0"),
        ["Et1/0", "2", "60", "P", "Init", "unknown", "unknown", "211.0.0.3"]
    );
    let groups: serde_json::Value =
        serde_json::from_str(&daemon.exec_ok(&["--json", "show standby brief"])).unwrap();
    let groups = groups.as_array().unwrap();
    assert_eq!(groups.len(), 2, "{groups:?}");
    assert!(
        groups
            .iter()
            .any(|g| g["group"] == 1 && g.to_string().contains("Ethernet0/0")),
        "{groups:?}"
    );

    // Redundancy: no peer, so the unit is still initializing with communications down.
    let states = daemon.exec_ok(&["show redundancy states"]);
    assert!(states.contains("my state = 2  -INITIALIZATION"), "{states}");
    assert!(states.contains("peer state = 1  -DISABLED"), "{states}");
    assert!(states.contains("Communications = Down"), "{states}");

    // IPC: the configured association, not established (10.0.0.2 does not exist).
    let assoc = daemon.exec_ok(&["show sctp association list"]);
    for needle in [
        "AssocID: 1",
        "Local port: 5000, Addrs: 10.0.0.1",
        "Remote port: 5000, Addrs: 10.0.0.2",
    ] {
        assert!(assoc.contains(needle), "missing {needle:?} in:\n{assoc}");
    }
    assert!(!assoc.contains("ESTABLISHED"), "{assoc}");

    // Inspect: the HA sync exists (standby role, nothing synced) and the data plane queues e1.
    let stats = daemon.exec_ok(&["show ip inspect ha statistics"]);
    assert!(
        stats.contains("IP Inspect HA statistics, role Standby"),
        "{stats}"
    );
    assert!(stats.contains("HA sessions: 0"), "{stats}");
    let rules = nfqueue_rules(&daemon.netns);
    assert!(
        rules.iter().any(|r| r.contains("-i e1 ")) && rules.iter().any(|r| r.contains("-o e1 ")),
        "{rules:?}"
    );
}

#[test]
fn rejected_changes_leave_the_running_config_intact() {
    let daemon = Daemon::start("reject", HA_R1);
    let before = daemon.running_json();

    // A value the tree refuses: the caret lands under the offending token after the echoed prompt.
    let out = daemon.exec(&[
        "configure terminal",
        "interface Ethernet0/0",
        "standby 1 timers 0 10",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr_of(&out);
    let lines: Vec<&str> = err.lines().collect();
    let echoed = lines
        .iter()
        .position(|l| l.ends_with("standby 1 timers 0 10"))
        .unwrap_or_else(|| panic!("{err}"));
    assert_eq!(lines[echoed], "ha-R1(config-if)#standby 1 timers 0 10");
    let caret = lines[echoed + 1];
    assert_eq!(
        caret.find('^'),
        Some("ha-R1(config-if)#standby 1 timers ".len()),
        "{err}"
    );
    assert_eq!(lines[echoed + 2], "% Invalid input detected at '^' marker.");

    // Valid lines that break whole-config rules: a VIP outside the interface subnet, a scheme naming
    // another group than the inspect redundancy group, hold time not above hello time.
    let out = daemon.exec(&["conf t", "interface Ethernet0/0", "standby 1 ip 192.168.9.9"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr_of(&out);
    assert!(
        err.contains("192.168.9.9") && err.contains("% Change rejected"),
        "{err}"
    );
    let out = daemon.exec(&["conf t", "redundancy inter-device", "scheme standby HAout"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr_of(&out).contains("% Change rejected"),
        "{}",
        stderr_of(&out)
    );
    let out = daemon.exec(&["conf t", "interface Ethernet0/0", "standby 1 timers 5 3"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr_of(&out));

    assert_eq!(daemon.running_json(), before);
}

#[test]
fn accepted_change_write_memory_and_logging() {
    let daemon = Daemon::start("write", HA_R1);
    let out = daemon.exec_ok(&["conf t", "interface Ethernet0/0", "standby 1 priority 90", "end"]);
    assert!(out.contains("Enter configuration commands"), "{out}");
    assert_eq!(priority_of_group1(&daemon.running_json()), 90);
    daemon.wait_stderr("%SYS-5-CONFIG_I: Configured from console by vty0", 1);

    let out = daemon.exec_ok(&["write memory"]);
    assert!(out.contains("[OK]"), "{out}");
    let saved = std::fs::read_to_string(&daemon.config).unwrap();
    assert!(saved.contains("standby 1 priority 90"), "{saved}");
    // The saved file is a valid configuration on its own.
    let check = Command::new(IOSHA)
        .arg("check")
        .arg(&daemon.config)
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stdout)
    );
    let leftovers: Vec<_> = std::fs::read_dir(&daemon.dir.path)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");

    let logging = daemon.exec_ok(&["show logging"]);
    assert!(logging.starts_with("Syslog logging: enabled"), "{logging}");
    assert!(logging.contains("Log Buffer ("), "{logging}");
    assert!(
        logging.contains("%SYS-5-CONFIG_I: Configured from console by vty0"),
        "{logging}"
    );
    let line = logging.lines().find(|l| l.contains("%SYS-5-CONFIG_I")).unwrap();
    assert!(
        line.starts_with('*') && line.as_bytes()[line.find(": %").unwrap() - 4] == b'.',
        "{line}"
    );

    // Debug switches.
    daemon.exec_ok(&["debug standby packets"]);
    daemon.exec_ok(&["debug ip inspect ha"]);
    let logging = daemon.exec_ok(&["show logging"]);
    assert!(
        logging.contains("Debug categories on: ip.inspect.ha, standby.packets"),
        "{logging}"
    );
    daemon.exec_ok(&["no debug all"]);
    assert!(
        daemon
            .exec_ok(&["show logging"])
            .contains("Debug categories on: none")
    );
}

#[test]
fn sighup_reloads_the_file_and_keeps_running_config_on_errors() {
    let daemon = Daemon::start("hup", HA_R1);
    let changed = HA_R1.replace("standby 1 priority 60", "standby 1 priority 70");
    std::fs::write(&daemon.config, &changed).unwrap();
    daemon.signal(Signal::SIGHUP);
    wait_for("the reloaded priority", || {
        (priority_of_group1(&daemon.running_json()) == 70).then_some(())
    });
    daemon.wait_stderr("by reload signal", 1);

    std::fs::write(
        &daemon.config,
        changed.replace("standby 1 timers 1 10", "standby 1 timers 0 10"),
    )
    .unwrap();
    daemon.signal(Signal::SIGHUP);
    daemon.wait_stderr("%SYS-3-CONFIG_RELOAD", 1);
    assert_eq!(priority_of_group1(&daemon.running_json()), 70);
    // Still serving.
    assert!(daemon.exec_ok(&["show version"]).contains("ha-R1 uptime is"));
}

#[test]
fn several_commands_share_one_session_and_exit_stops_the_rest() {
    let daemon = Daemon::start("session", HA_R1);
    // Interface shutdown through a multi-command session.
    daemon.exec_ok(&["conf t", "interface Ethernet1/0", "shutdown", "end"]);
    let running = daemon.running_json();
    let iface = running["interfaces"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["name"] == "Ethernet1/0")
        .unwrap();
    assert_eq!(iface["shutdown"], true);
    // Each exec is its own session: a new one starts in exec mode.
    let out = daemon.exec(&["standby 1 priority 10"]);
    assert_eq!(out.status.code(), Some(1));
    // `exit` in exec mode ends the session; later commands are not run.
    let out = daemon.exec_ok(&["exit", "conf t"]);
    assert!(!out.contains("Enter configuration"), "{out}");
}

/// Sends raw lines on one connection, returning one parsed response per line.
fn raw_session(socket: &std::path::Path, lines: &[&[u8]]) -> Vec<serde_json::Value> {
    let stream = UnixStream::connect(socket).unwrap();
    let mut writer = stream.try_clone().unwrap();
    let mut reader = BufReader::new(stream);
    let mut out = Vec::new();
    for line in lines {
        writer.write_all(line).unwrap();
        writer.write_all(b"\n").unwrap();
        let mut answer = String::new();
        reader.read_line(&mut answer).unwrap();
        out.push(serde_json::from_str(&answer).unwrap());
    }
    out
}

#[test]
fn malformed_requests_get_clear_errors() {
    let daemon = Daemon::start("malformed", HA_R1);
    let answers = raw_session(
        &daemon.socket,
        &[
            b"garbage",
            br#"{"op":"reboot"}"#,
            br#"{"op":"exec","line":42}"#,
            br#"{"op":"exec","line":"x","unknown":1}"#,
            br#"{"op":"prompt"}"#,
            br#"{"op":"exec","line":"conf t"}"#,
            br#"{"op":"help","line":"","json":true}"#,
            br#"{"op":"complete","line":"interf"}"#,
        ],
    );
    for a in &answers[..4] {
        assert_eq!(a["ok"], false, "{a}");
        assert!(
            a["output"].as_str().unwrap().starts_with("% Malformed request"),
            "{a}"
        );
        assert_eq!(a["prompt"], "ha-R1#");
    }
    assert_eq!(answers[4]["ok"], true);
    assert_eq!(answers[4]["prompt"], "ha-R1#");
    assert_eq!(answers[5]["prompt"], "ha-R1(config)#");
    let help = answers[6]["json"].as_array().unwrap();
    assert!(help.iter().any(|h| h["token"] == "interface"), "{}", answers[6]);
    assert!(
        answers[6]["output"].as_str().unwrap().contains("  interface"),
        "{}",
        answers[6]
    );
    assert_eq!(answers[7]["ok"], true, "{}", answers[7]);
    assert!(
        answers[7]["json"].as_str().unwrap().starts_with("interface"),
        "{}",
        answers[7]
    );

    // Bytes that are not UTF-8, or an overlong line: an error, then the daemon closes that connection.
    let mut huge = vec![b'x'; 70 * 1024];
    huge.push(b'\n');
    for bad in [b"\xff\xfe{}\n".to_vec(), huge] {
        let mut stream = UnixStream::connect(&daemon.socket).unwrap();
        stream.write_all(&bad).unwrap();
        let mut all = String::new();
        stream.read_to_string(&mut all).unwrap();
        let v: serde_json::Value = serde_json::from_str(all.trim()).unwrap();
        assert_eq!(v["ok"], false);
        assert!(
            v["output"].as_str().unwrap().starts_with("% Malformed request"),
            "{v}"
        );
    }
    // The daemon is fine.
    assert!(daemon.exec_ok(&["show version"]).contains("iosha"));
}

#[test]
fn sigterm_stops_cleanly_and_removes_the_socket() {
    let mut daemon = Daemon::start("term", HA_R1);
    // An idle session (an operator's open shell) in configuration mode does not hold the stop.
    let mut idle = UnixStream::connect(&daemon.socket).unwrap();
    idle.write_all(b"{\"op\":\"exec\",\"line\":\"conf t\"}\n")
        .unwrap();
    let mut reader = BufReader::new(idle.try_clone().unwrap());
    let mut answer = String::new();
    reader.read_line(&mut answer).unwrap();
    assert!(answer.contains("(config)#"), "{answer}");
    assert!(!nfqueue_rules(&daemon.netns).is_empty());
    let status = daemon.stop();
    assert!(status.success(), "{status}\n{}", daemon.stderr());
    assert!(!daemon.socket.exists());
    daemon.wait_stderr("%SYS-5-RELOAD", 1);
    // The components stopped: the data plane removed its rules.
    daemon.wait_stderr("%FW-6-DATAPLANE_STOP", 1);
    assert!(
        nfqueue_rules(&daemon.netns).is_empty(),
        "{:?}",
        nfqueue_rules(&daemon.netns)
    );
    // The idle session was closed.
    answer.clear();
    assert_eq!(reader.read_line(&mut answer).unwrap(), 0);
    // The harness deletes the namespace with the daemon.
    let name = daemon.netns.name.clone();
    assert!(netns_exists(&name));
    drop(daemon);
    assert!(!netns_exists(&name), "namespace {name} left behind");
}

#[test]
fn a_second_daemon_on_the_same_socket_is_refused_and_a_stale_socket_is_replaced() {
    let mut first = Daemon::start("twice", HA_R1);
    // The second daemon runs in a namespace of its own, so its components start and the refusal comes from
    // the socket.
    let other = Netns::new();
    let out = output_within_deadline(
        other
            .command(IOSHA)
            .args(["daemon", "--config"])
            .arg(&first.config)
            .arg("--control")
            .arg(&first.socket)
            .args(INTERFACE_MAP),
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr_of(&out).contains("already serving"), "{}", stderr_of(&out));
    assert!(first.exec_ok(&["show version"]).contains("iosha"));
    // A stale socket (daemon killed) does not block a restart.
    first.signal(Signal::SIGKILL);
    let child = first.child.as_mut().unwrap();
    wait_for("the killed daemon", || child.try_wait().unwrap());
    first.child = None;
    assert!(first.socket.exists());
    let out = Command::new(IOSHA)
        .args(["exec", "--control"])
        .arg(&first.socket)
        .arg("show version")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "no daemon: exit 3");
    // Restarted in the same namespace, over what the killed daemon left there (its NFQUEUE rules).
    let mut second = first
        .netns
        .command(IOSHA)
        .args(["daemon", "--config"])
        .arg(&first.config)
        .arg("--control")
        .arg(&first.socket)
        .args(INTERFACE_MAP)
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let answered = wait_for("the restarted daemon", || {
        if second.try_wait().unwrap().is_some() {
            return Some(false);
        }
        let out = first.exec(&["show version"]);
        out.status.success().then_some(true)
    });
    let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(second.id() as i32), Signal::SIGTERM);
    let status = wait_for("the restarted daemon to stop", || second.try_wait().unwrap());
    assert!(answered, "the restarted daemon exited early ({status})");
    assert!(status.success());
}
