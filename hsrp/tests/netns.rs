//! Two real drivers in network namespaces on a bridge, with a host: election, the host reaching the VIP
//! through the virtual MAC, failover when the Active loses its link, preemption back, failover on a
//! tracked link, crash leftovers removed at restart, clean removal on shutdown.
//!
//! Needs root (CI and this machine run as root); skips with a message otherwise.

use std::process::Command;
use std::sync::mpsc as smpsc;
use std::thread;
use std::time::{Duration, Instant};

use hsrp::driver::{DriverInterface, DriverSpec, HsrpDriver, HsrpEvent};
use hsrp::{GroupConfig, GroupStatus, PreemptConfig, TimersConfig, TrackConfig, Version};

fn run(args: &[&str]) -> std::process::Output {
    Command::new(args[0]).args(&args[1..]).output().expect("spawn")
}

fn ok(args: &[&str]) {
    let o = run(args);
    assert!(
        o.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

fn out(args: &[&str]) -> String {
    String::from_utf8_lossy(&run(args).stdout).into_owned()
}

/// Network namespaces removed on drop.
struct Namespaces(Vec<String>);

impl Namespaces {
    fn add(&mut self, name: &str) {
        ok(&["ip", "netns", "add", name]);
        self.0.push(name.to_owned());
        ok(&["ip", "-n", name, "link", "set", "lo", "up"]);
    }
}

impl Drop for Namespaces {
    fn drop(&mut self) {
        for n in self.0.iter().rev() {
            let _ = run(&["ip", "netns", "del", n]);
        }
    }
}

enum Cmd {
    Status(smpsc::Sender<Vec<GroupStatus>>),
    Shutdown,
    Crash,
}

/// A driver running on its own thread inside a router namespace.
struct Router {
    cmds: tokio::sync::mpsc::UnboundedSender<Cmd>,
    thread: Option<thread::JoinHandle<()>>,
    events: smpsc::Receiver<HsrpEvent>,
}

impl Router {
    fn start(ns: &str, spec: DriverSpec) -> Self {
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let (ready_tx, ready_rx) = smpsc::channel();
        let (ev_tx, ev_rx) = smpsc::channel();
        let path = format!("/var/run/netns/{ns}");
        let thread = thread::spawn(move || {
            let f = std::fs::File::open(&path).expect("open netns");
            nix::sched::setns(f, nix::sched::CloneFlags::CLONE_NEWNET).expect("setns");
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async move {
                let h = match HsrpDriver::start(spec).await {
                    Ok(h) => h,
                    Err(e) => {
                        ready_tx.send(Err(e.to_string())).ok();
                        return;
                    }
                };
                let mut events = h.subscribe();
                ready_tx.send(Ok(())).ok();
                loop {
                    tokio::select! {
                        Ok(ev) = events.recv() => { ev_tx.send(ev).ok(); }
                        cmd = rx.recv() => match cmd {
                            Some(Cmd::Status(reply)) => { reply.send(h.status().await.unwrap_or_default()).ok(); }
                            Some(Cmd::Shutdown) | None => { h.shutdown().await; return; }
                            Some(Cmd::Crash) => { h.abort(); return; }
                        },
                    }
                }
            });
        });
        ready_rx.recv().expect("driver thread").expect("driver start");
        Self {
            cmds: tx,
            thread: Some(thread),
            events: ev_rx,
        }
    }

    fn status(&self) -> GroupStatus {
        let (tx, rx) = smpsc::channel();
        self.cmds.send(Cmd::Status(tx)).expect("driver alive");
        rx.recv().expect("status").into_iter().next().expect("one group")
    }

    fn state(&self) -> String {
        self.status().state
    }

    fn stop(mut self, cmd: Cmd) {
        self.cmds.send(cmd).ok();
        if let Some(t) = self.thread.take() {
            t.join().ok();
        }
    }
}

impl Drop for Router {
    fn drop(&mut self) {
        self.cmds.send(Cmd::Shutdown).ok();
        if let Some(t) = self.thread.take() {
            t.join().ok();
        }
    }
}

fn wait_until(what: &str, limit: Duration, mut cond: impl FnMut() -> bool) -> Duration {
    let start = Instant::now();
    loop {
        if cond() {
            return start.elapsed();
        }
        assert!(
            start.elapsed() < limit,
            "timed out after {limit:?} waiting for {what}"
        );
        thread::sleep(Duration::from_millis(20));
    }
}

const VIP: &str = "10.0.0.3";
const HELLO_MS: u32 = 100;
const HOLD_MS: u32 = 400;

fn spec(priority: u8, track: bool) -> DriverSpec {
    let mut g = GroupConfig::new(1, Version::V1);
    g.priority = priority;
    g.virtual_ip = Some(std::net::Ipv4Addr::new(10, 0, 0, 3));
    g.preempt = Some(PreemptConfig::default());
    g.timers = Some(TimersConfig {
        hello_ms: HELLO_MS,
        hold_ms: HOLD_MS,
    });
    g.name = Some("HAin".into());
    if track {
        g.track.push(TrackConfig {
            interface: "Ethernet1/0".into(),
            decrement: 20,
        });
    }
    DriverSpec {
        interfaces: vec![DriverInterface {
            name: "Ethernet0/0".into(),
            linux_name: "e0".into(),
            delay: None,
            groups: vec![g],
        }],
        tracked: vec![("Ethernet1/0".into(), "e1".into())],
        garp_interval_ms: 50,
    }
}

fn ping(host: &str) -> bool {
    run(&["ip", "netns", "exec", host, "ping", "-c1", "-W1", VIP])
        .status
        .success()
}

fn vmac_devices(ns: &str) -> usize {
    out(&["ip", "-n", ns, "-o", "link", "show"])
        .lines()
        .filter(|l| l.contains(": hsrp"))
        .count()
}

#[test]
fn two_routers_and_a_host_in_namespaces() {
    if out(&["id", "-u"]).trim() != "0" || !run(&["ip", "-V"]).status.success() {
        eprintln!("SKIPPED: needs root and iproute2 to create network namespaces");
        return;
    }
    let p = format!("ih-{}-", std::process::id());
    let (br, r1, r2, h) = (
        format!("{p}br"),
        format!("{p}r1"),
        format!("{p}r2"),
        format!("{p}h"),
    );
    let mut ns = Namespaces(Vec::new());
    ns.add(&br);
    ok(&["ip", "-n", &br, "link", "add", "br0", "type", "bridge"]);
    ok(&["ip", "-n", &br, "link", "set", "br0", "up"]);
    for (n, port, addr) in [
        (&r1, "p1", "10.0.0.1/24"),
        (&r2, "p2", "10.0.0.2/24"),
        (&h, "ph", "10.0.0.10/24"),
    ] {
        ns.add(n);
        ok(&[
            "ip", "-n", &br, "link", "add", port, "type", "veth", "peer", "name", "e0", "netns", n,
        ]);
        ok(&["ip", "-n", &br, "link", "set", port, "master", "br0", "up"]);
        ok(&["ip", "-n", n, "addr", "add", addr, "dev", "e0"]);
        ok(&["ip", "-n", n, "link", "set", "e0", "up"]);
    }
    // The tracked uplink of r1.
    ok(&[
        "ip", "-n", &r1, "link", "add", "e1", "type", "veth", "peer", "name", "e1p",
    ]);
    ok(&["ip", "-n", &r1, "link", "set", "e1p", "up"]);
    ok(&["ip", "-n", &r1, "link", "set", "e1", "up"]);

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
            .filter(|e| matches!(
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
