//! Shared by the namespace test and the failover bench: namespaces with RAII cleanup, and a driver
//! running on its own thread inside a router namespace.

#![allow(dead_code, unreachable_pub)]

use std::process::Command;
use std::sync::mpsc as smpsc;
use std::thread;
use std::time::{Duration, Instant};

use hsrp::driver::{DriverInterface, DriverSpec, HsrpDriver, HsrpEvent};
use hsrp::{GroupConfig, GroupSelector, GroupStatus, PreemptConfig, TimersConfig, TrackConfig, Version};

pub fn run(args: &[&str]) -> std::process::Output {
    Command::new(args[0]).args(&args[1..]).output().expect("spawn")
}

pub fn ok(args: &[&str]) {
    let o = run(args);
    assert!(
        o.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

pub fn out(args: &[&str]) -> String {
    String::from_utf8_lossy(&run(args).stdout).into_owned()
}

/// Network namespaces removed on drop.
pub struct Namespaces(pub Vec<String>);

impl Namespaces {
    pub fn add(&mut self, name: &str) {
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

pub enum Cmd {
    Status(smpsc::Sender<Vec<GroupStatus>>),
    Resign(smpsc::Sender<usize>),
    Shutdown,
    Crash,
}

/// A driver running on its own thread inside a router namespace.
pub struct Router {
    cmds: tokio::sync::mpsc::UnboundedSender<Cmd>,
    thread: Option<thread::JoinHandle<()>>,
    /// State changes, stamped with the moment the router thread received them.
    pub events: smpsc::Receiver<(Instant, HsrpEvent)>,
}

impl Router {
    pub fn start(ns: &str, spec: DriverSpec) -> Self {
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
                        Ok(ev) = events.recv() => { ev_tx.send((Instant::now(), ev)).ok(); }
                        cmd = rx.recv() => match cmd {
                            Some(Cmd::Status(reply)) => { reply.send(h.status().await.unwrap_or_default()).ok(); }
                            Some(Cmd::Resign(reply)) => {
                                reply.send(h.resign(GroupSelector::Name("HAin".into())).await.unwrap_or(0)).ok();
                            }
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

    pub fn status(&self) -> GroupStatus {
        let (tx, rx) = smpsc::channel();
        self.cmds.send(Cmd::Status(tx)).expect("driver alive");
        rx.recv().expect("status").into_iter().next().expect("one group")
    }

    /// Planned switchover: `HsrpHandle::resign` on the group named `HAin`; returns how many resigned.
    pub fn resign(&self) -> usize {
        let (tx, rx) = smpsc::channel();
        self.cmds.send(Cmd::Resign(tx)).expect("driver alive");
        rx.recv().expect("resign")
    }

    pub fn state(&self) -> String {
        self.status().state
    }

    pub fn stop(mut self, cmd: Cmd) {
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

pub fn wait_until(what: &str, limit: Duration, mut cond: impl FnMut() -> bool) -> Duration {
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

pub const VIP: &str = "10.0.0.3";
pub const HELLO_MS: u32 = 100;
pub const HOLD_MS: u32 = 400;

pub fn spec(priority: u8, track: bool) -> DriverSpec {
    spec_with_timers(priority, track, HELLO_MS, HOLD_MS)
}

/// A one-group specification with the given timers.
pub fn spec_with_timers(priority: u8, track: bool, hello_ms: u32, hold_ms: u32) -> DriverSpec {
    let mut g = GroupConfig::new(1, Version::V1);
    g.priority = priority;
    g.virtual_ip = Some(std::net::Ipv4Addr::new(10, 0, 0, 3));
    g.preempt = Some(PreemptConfig::default());
    g.timers = Some(TimersConfig { hello_ms, hold_ms });
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

pub fn ping(host: &str) -> bool {
    run(&["ip", "netns", "exec", host, "ping", "-c1", "-W1", VIP])
        .status
        .success()
}

pub fn vmac_devices(ns: &str) -> usize {
    out(&["ip", "-n", ns, "-o", "link", "show"])
        .lines()
        .filter(|l| l.contains(": hsrp"))
        .count()
}

/// The bridge, two routers (`e0` on the bridge, 10.0.0.1/.2) and a host (10.0.0.10); r1 also has a
/// veth `e1` (its tracked uplink). Returns (namespaces, br, r1, r2, h).
pub fn topology(tag: &str) -> (Namespaces, String, String, String, String) {
    let p = format!("ih-{}-{tag}", std::process::id());
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
    ok(&[
        "ip", "-n", &r1, "link", "add", "e1", "type", "veth", "peer", "name", "e1p",
    ]);
    ok(&["ip", "-n", &r1, "link", "set", "e1p", "up"]);
    ok(&["ip", "-n", &r1, "link", "set", "e1", "up"]);
    (ns, br, r1, r2, h)
}

/// Whether namespace tests can run here.
pub fn can_run() -> bool {
    out(&["id", "-u"]).trim() == "0" && run(&["ip", "-V"]).status.success()
}
