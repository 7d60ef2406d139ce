//! Data-plane mechanics in network namespaces with a toy shard (no inspection logic): rules installed
//! and removed, packets judged through NFQUEUE with batched verdicts, timers and events driven by the
//! worker, the router's own traffic never queued, fail-closed vs fail-open without a listener, stale
//! rules of a crashed run removed, and both directions of every flow on the same queue with two queues.
//! Needs root (CI runs as root).

mod netns_support;

use std::collections::BTreeSet;
use std::net::{Ipv4Addr, SocketAddrV4, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use inspect::driver::rules::{InstalledRules, RuleSpec};
use inspect::driver::{BackendChoice, DataPlane, DataPlaneHandle, DataPlaneSpec, Shard};
use netns_support::{CLIENT, Lab, R_CLIENT_IF, R_SERVER_IF, SERVER, poll_until, spawn_in_ns};
use timebase::{Instant, MonotonicClock};

/// Flow as seen by a shard: (src, dst, proto).
type SeenFlow = (Ipv4Addr, Ipv4Addr, u8);

/// Accepts everything except UDP to `drop_port`; remembers the address pairs it saw; arms a timer
/// 100 ms after each packet and reports its firing as an event.
struct ToyShard {
    cfg: ToyConfig,
    seen: BTreeSet<SeenFlow>,
    deadline: Option<Instant>,
    events: Vec<String>,
}

#[derive(Clone)]
struct ToyConfig {
    drop_port: u16,
}

impl Shard for ToyShard {
    type Config = ToyConfig;
    type Event = String;

    fn new_shard(cfg: ToyConfig, _index: u16, _count: u16, _seed: u64) -> Self {
        Self {
            cfg,
            seen: BTreeSet::new(),
            deadline: None,
            events: Vec::new(),
        }
    }
    fn reconfigure_shard(&mut self, cfg: ToyConfig, _index: u16, _count: u16) {
        self.cfg = cfg;
    }
    fn queued_interfaces(_cfg: &ToyConfig) -> Vec<u16> {
        vec![0, 1]
    }
    fn process(&mut self, now: Instant, p: &[u8], ingress: Option<u16>, egress: Option<u16>) -> bool {
        assert!(
            ingress.is_some() && egress.is_some(),
            "forwarded packets name both interfaces"
        );
        if p.len() < 24 || p[0] >> 4 != 4 {
            return true;
        }
        let src = Ipv4Addr::new(p[12], p[13], p[14], p[15]);
        let dst = Ipv4Addr::new(p[16], p[17], p[18], p[19]);
        self.seen.insert((src, dst, p[9]));
        self.deadline = Some(now + timebase::Duration::from_millis(100));
        let ihl = usize::from(p[0] & 0xf) * 4;
        let dport = p
            .get(ihl + 2..ihl + 4)
            .map_or(0, |b| u16::from_be_bytes([b[0], b[1]]));
        !(p[9] == 17 && dport == self.cfg.drop_port)
    }
    fn handle_timeout(&mut self, _now: Instant) {
        self.deadline = None;
        self.events.push("timer fired".into());
    }
    fn poll_timeout(&self) -> Option<Instant> {
        self.deadline
    }
    fn poll_event(&mut self) -> Option<String> {
        self.events.pop()
    }
}

fn start(lab: &Lab, workers: u16, fail_open: bool) -> DataPlaneHandle<ToyShard> {
    let mut spec = DataPlaneSpec::new(
        ToyConfig { drop_port: 9 },
        vec![(0, R_CLIENT_IF.to_owned()), (1, R_SERVER_IF.to_owned())],
        MonotonicClock::start(),
    );
    spec.workers = workers;
    spec.fail_open = fail_open;
    spec.queue_base = 10;
    Lab::in_ns(&lab.router, move || DataPlane::start::<ToyShard>(spec)).expect("data plane starts")
}

/// A UDP echo server in `ns` on `port`; stops when the returned flag is set.
fn udp_echo(ns: &str, addr: Ipv4Addr, port: u16) -> Arc<AtomicBool> {
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    spawn_in_ns(ns, move || {
        let sock = UdpSocket::bind(SocketAddrV4::new(addr, port)).expect("bind echo");
        sock.set_read_timeout(Some(Duration::from_millis(100)))
            .expect("timeout");
        ready_tx.send(()).expect("ready");
        let mut buf = [0u8; 2048];
        while !flag.load(Ordering::Relaxed) {
            if let Ok((n, peer)) = sock.recv_from(&mut buf) {
                let _ = sock.send_to(&buf[..n], peer);
            }
        }
    });
    ready_rx.recv().expect("echo ready");
    stop
}

/// Sends `msg` from `ns` (bound to `from`) to `to` until an echo arrives or `tries` run out.
fn udp_roundtrip(ns: &str, from: Ipv4Addr, to: SocketAddrV4, tries: u32) -> bool {
    Lab::in_ns(ns, move || {
        let sock = UdpSocket::bind(SocketAddrV4::new(from, 0)).expect("bind client");
        sock.set_read_timeout(Some(Duration::from_millis(200)))
            .expect("timeout");
        let mut buf = [0u8; 64];
        for _ in 0..tries {
            let _ = sock.send_to(b"ping", to);
            if let Ok((n, _)) = sock.recv_from(&mut buf) {
                return &buf[..n] == b"ping";
            }
        }
        false
    })
}

#[test]
fn queue_judges_forwarded_packets_and_rules_come_and_go() {
    let lab = Lab::new("q1");
    let dp = start(&lab, 1, false);
    let rules = lab.router_rules();
    assert!(
        rules.contains("-A IOSHA-FWD -i rc0 -j NFQUEUE --queue-num 10"),
        "{rules}"
    );
    assert!(
        rules.contains("-A IOSHA-FWD -o rs0 -j NFQUEUE --queue-num 10"),
        "{rules}"
    );
    assert!(!rules.contains("bypass"), "fail-closed by default: {rules}");
    assert_eq!(
        lab.mangle_rules("iptables").matches("-j IOSHA-FWD").count(),
        1,
        "{rules}"
    );

    let echo = udp_echo(&lab.server, SERVER, 7000);
    let drop_echo = udp_echo(&lab.server, SERVER, 9);
    let own = udp_echo(&lab.router, Ipv4Addr::new(10, 91, 1, 1), 9);
    assert!(udp_roundtrip(
        &lab.client,
        CLIENT,
        SocketAddrV4::new(SERVER, 7000),
        20
    ));
    // The operator's own filter rules still judge what the shard accepts (the data plane queues from
    // the mangle table, whose accept does not end the filter table).
    let operator_drop = udp_echo(&lab.server, SERVER, 7009);
    netns_support::sh(&[
        "ip",
        "netns",
        "exec",
        &lab.router,
        "iptables",
        "-w",
        "-A",
        "FORWARD",
        "-p",
        "udp",
        "--dport",
        "7009",
        "-j",
        "DROP",
    ]);
    assert!(!udp_roundtrip(
        &lab.client,
        CLIENT,
        SocketAddrV4::new(SERVER, 7009),
        3
    ));
    // The toy shard drops UDP to port 9 on the forward path ...
    assert!(!udp_roundtrip(
        &lab.client,
        CLIENT,
        SocketAddrV4::new(SERVER, 9),
        3
    ));
    // ... but the router's own traffic (INPUT/OUTPUT) is never queued.
    assert!(udp_roundtrip(
        &lab.client,
        CLIENT,
        SocketAddrV4::new(Ipv4Addr::new(10, 91, 1, 1), 9),
        5
    ));

    // TCP through the queue.
    let listener = Lab::in_ns(&lab.server, || {
        std::net::TcpListener::bind((SERVER, 7001)).expect("listen")
    });
    let server = std::thread::spawn(move || {
        use std::io::{Read, Write};
        let (mut s, _) = listener.accept().expect("accept");
        let mut buf = [0u8; 5];
        s.read_exact(&mut buf).expect("read");
        s.write_all(&buf).expect("write");
    });
    let got = Lab::in_ns(&lab.client, || {
        use std::io::{Read, Write};
        let mut s = std::net::TcpStream::connect_timeout(&(SERVER, 7001).into(), Duration::from_secs(5))
            .expect("connect through the router");
        s.set_read_timeout(Some(Duration::from_secs(5))).expect("timeout");
        s.write_all(b"hello").expect("write");
        let mut buf = [0u8; 5];
        s.read_exact(&mut buf).expect("read");
        buf
    });
    assert_eq!(&got, b"hello");
    server.join().expect("server");

    // The worker drives the shard's timer and forwards its events.
    let events = dp.events();
    assert_eq!(
        events.recv_timeout(Duration::from_secs(5)).expect("timer event"),
        "timer fired"
    );

    let status = dp.on_each(|s: &mut ToyShard, _now| s.seen.len()).expect("status");
    assert_eq!(status.len(), 1);
    let c = status[0].counters;
    assert!(c.packets >= 8 && c.dropped >= 3, "{c:?}");
    assert_eq!(c.packets, c.accepted + c.dropped);
    assert!(c.verdict_messages <= c.packets && c.batches >= 1, "{c:?}");
    assert_eq!(c.unknown_ifindex, 0);
    assert_eq!(status[0].interfaces.len(), 2);

    dp.stop().expect("stop");
    let rules = lab.router_rules();
    assert!(
        !rules.contains("IOSHA") && !rules.contains("iosha"),
        "rules left behind: {rules}"
    );
    let filter = netns_support::try_sh(&[
        "ip",
        "netns",
        "exec",
        &lab.router,
        "iptables",
        "-w",
        "-S",
        "FORWARD",
    ])
    .1;
    assert!(
        filter.contains("--dport 7009 -j DROP"),
        "the operator's rule is untouched: {filter}"
    );
    for flag in [echo, drop_echo, own, operator_drop] {
        flag.store(true, Ordering::Relaxed);
    }
}

#[test]
fn without_a_listener_fail_closed_drops_and_fail_open_passes() {
    let lab = Lab::new("q2");
    let echo = udp_echo(&lab.server, SERVER, 7000);
    let to = SocketAddrV4::new(SERVER, 7000);
    for fail_open in [false, true] {
        // Rules without a daemon behind them: what a crashed daemon leaves.
        let spec = RuleSpec {
            queue_base: 20,
            queues: 1,
            fail_open,
            interfaces: vec![R_CLIENT_IF.into(), R_SERVER_IF.into()],
        };
        let rules = Lab::in_ns(&lab.router, move || {
            InstalledRules::install(spec, BackendChoice::Auto)
        })
        .expect("install");
        assert_eq!(
            udp_roundtrip(&lab.client, CLIENT, to, 3),
            fail_open,
            "fail_open={fail_open}"
        );
        std::mem::forget(rules); // leave them behind like a crash would
    }
    // A new data plane removes the stale rules and installs its own (one jump only).
    let dp = start(&lab, 1, false);
    let rules = lab.mangle_rules("iptables");
    assert_eq!(rules.matches("-j IOSHA-FWD").count(), 1, "{rules}");
    assert!(!rules.contains("queue-num 20"), "{rules}");
    assert!(udp_roundtrip(&lab.client, CLIENT, to, 20));
    dp.stop().expect("stop");
    assert!(!lab.router_rules().contains("IOSHA"));
    echo.store(true, Ordering::Relaxed);
}

#[test]
fn two_queues_see_both_directions_of_each_flow() {
    let lab = Lab::new("q3");
    // 24 client addresses: the kernel hashes the address pair, so each gives a flow its own chance.
    let clients: Vec<Ipv4Addr> = (10..34).map(|i| Ipv4Addr::new(10, 91, 1, i)).collect();
    for a in &clients {
        netns_support::sh(&[
            "ip",
            "-n",
            &lab.client,
            "addr",
            "add",
            &format!("{a}/24"),
            "dev",
            "eth0",
        ]);
    }
    let dp = start(&lab, 2, true);
    let rules = lab.router_rules();
    assert!(rules.contains("--queue-balance 10:11 --queue-bypass"), "{rules}");
    let echo = udp_echo(&lab.server, SERVER, 7000);
    for a in &clients {
        assert!(
            udp_roundtrip(&lab.client, *a, SocketAddrV4::new(SERVER, 7000), 20),
            "{a}"
        );
    }
    let seen = dp.on_each(|s: &mut ToyShard, _| s.seen.clone()).expect("status");
    for a in &clients {
        let fwd = (*a, SERVER, 17);
        let rev = (SERVER, *a, 17);
        let owners: Vec<usize> = (0..2).filter(|&w| seen[w].shard.contains(&fwd)).collect();
        assert_eq!(owners.len(), 1, "{a} seen by {owners:?}");
        assert!(
            seen[owners[0]].shard.contains(&rev),
            "reply of {a} went to the other queue"
        );
        assert!(!seen[1 - owners[0]].shard.contains(&rev));
    }
    // With 24 flows, both queues are used (all on one queue has probability 2^-23).
    assert!(seen.iter().all(|w| !w.shard.is_empty()), "one queue unused");
    dp.stop().expect("stop");
    echo.store(true, Ordering::Relaxed);
    let _ = poll_until(Duration::from_millis(1), || Some(()));
}

/// Holds the first packet until the test opens the gate: a worker that cannot keep up, made
/// deterministic.
struct StuckShard {
    entered: crossbeam_channel::Sender<()>,
    gate: crossbeam_channel::Receiver<()>,
    first: bool,
}

impl Shard for StuckShard {
    type Config = (crossbeam_channel::Sender<()>, crossbeam_channel::Receiver<()>);
    type Event = ();
    fn new_shard(cfg: Self::Config, _: u16, _: u16, _: u64) -> Self {
        Self {
            entered: cfg.0,
            gate: cfg.1,
            first: true,
        }
    }
    fn reconfigure_shard(&mut self, _: Self::Config, _: u16, _: u16) {}
    fn queued_interfaces(_: &Self::Config) -> Vec<u16> {
        vec![0, 1]
    }
    fn process(&mut self, _: Instant, _: &[u8], _: Option<u16>, _: Option<u16>) -> bool {
        if std::mem::take(&mut self.first) {
            let _ = self.entered.send(());
            let _ = self.gate.recv();
        }
        true
    }
    fn handle_timeout(&mut self, _: Instant) {}
    fn poll_timeout(&self) -> Option<Instant> {
        None
    }
    fn poll_event(&mut self) -> Option<()> {
        None
    }
}

/// Overload: with a kernel queue of length 1 and the worker stuck on the first packet, later packets
/// find the queue full. Fail-closed drops them; fail-open lets them through uninspected.
#[test]
fn full_queue_drops_when_fail_closed_and_passes_when_fail_open() {
    for fail_open in [false, true] {
        let lab = Lab::new(if fail_open { "q5" } else { "q4" });
        let (entered_tx, entered_rx) = crossbeam_channel::unbounded();
        let (gate_tx, gate_rx) = crossbeam_channel::unbounded();
        let mut spec = DataPlaneSpec::new(
            (entered_tx, gate_rx),
            vec![(0, R_CLIENT_IF.to_owned()), (1, R_SERVER_IF.to_owned())],
            MonotonicClock::start(),
        );
        spec.fail_open = fail_open;
        spec.queue_max_len = 1;
        let dp = Lab::in_ns(&lab.router, move || DataPlane::start::<StuckShard>(spec)).expect("start");
        let sink = Lab::in_ns(&lab.server, || UdpSocket::bind((SERVER, 7500)).expect("bind"));
        let client = Lab::in_ns(&lab.client, || UdpSocket::bind((CLIENT, 0)).expect("bind"));
        client.send_to(b"first", (SERVER, 7500)).expect("send");
        entered_rx
            .recv_timeout(Duration::from_secs(5))
            .expect("worker holds the first packet");
        for _ in 0..5 {
            client.send_to(b"later", (SERVER, 7500)).expect("send");
        }
        sink.set_read_timeout(Some(Duration::from_millis(500)))
            .expect("timeout");
        let mut buf = [0u8; 16];
        let got = sink.recv_from(&mut buf).ok().map(|(n, _)| buf[..n].to_vec());
        if fail_open {
            assert_eq!(
                got.as_deref(),
                Some(&b"later"[..]),
                "fail-open passes what the full queue cannot hold"
            );
        } else {
            assert_eq!(got, None, "fail-closed drops what the full queue cannot hold");
        }
        // Release the worker: the first packet gets its verdict and arrives.
        gate_tx.send(()).expect("open the gate");
        sink.set_read_timeout(Some(Duration::from_secs(5)))
            .expect("timeout");
        let mut seen_first = false;
        while let Ok((n, _)) = sink.recv_from(&mut buf) {
            if &buf[..n] == b"first" {
                seen_first = true;
                break;
            }
        }
        assert!(seen_first, "the held packet is accepted once the worker answers");
        dp.stop().expect("stop");
    }
}
