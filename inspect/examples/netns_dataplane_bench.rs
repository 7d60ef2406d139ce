//! Forwarding rate through the inspecting router vs. the same router without inspection.
//!
//! Builds the client — router — server namespace lab (root needed), then for each mode (plain
//! forwarding, then the NFQUEUE data plane running the real engine with `ip inspect P out` + a deny-all
//! ACL inbound on the server side) measures:
//! * UDP: one flow of small datagrams blasted from the client for `--seconds`; the forwarding rate is
//!   the growth of the router's `rs0` tx packet counter over the blast (packets/s forwarded; the server
//!   binds the port but does not read, so its socket is not the bottleneck);
//! * TCP: one bulk stream client → server for `--seconds` (Mbit/s delivered).
//!
//! Every thread of the experiment (sender, receiver, the data-plane worker, and with them the softirq
//! work of the veth links) is pinned to CPU 0 unless `--no-pin` is given: the figures are then the
//! capacity of one core, which does not depend on what else runs on the machine's other cores.
//!
//! Usage: `cargo run --release -p inspect --example netns_dataplane_bench -- [--seconds 5] [--workers 1]
//! [--payload 64]`

#[path = "../tests/netns_support/mod.rs"]
mod netns_support;

use std::io::{Read, Write};
use std::net::{SocketAddrV4, TcpListener, TcpStream, UdpSocket};
use std::time::{Duration, Instant};

use inspect::driver::{DataPlane, DataPlaneSpec, EngineDataPlane, Shard};
use netns_support::{CLIENT, Lab, R_CLIENT_IF, R_SERVER_IF, SERVER};

struct Args {
    seconds: u64,
    workers: u16,
    payload: usize,
    pin: bool,
}

/// Pins the calling thread to CPU 0 (threads it spawns inherit it).
fn pin(on: bool) {
    if on {
        let mut set = nix::sched::CpuSet::new();
        if set.set(0).is_ok() {
            let _ = nix::sched::sched_setaffinity(nix::unistd::Pid::from_raw(0), &set);
        }
    }
}

/// The router's tx packet counter of `ifname`.
fn tx_packets(lab: &Lab, ifname: &str) -> u64 {
    let path = format!("/sys/class/net/{ifname}/statistics/tx_packets");
    // sysfs shows the namespace of the process that mounted it; read through `ip netns exec` instead.
    let out = netns_support::sh(&["ip", "netns", "exec", &lab.router, "cat", &path]);
    out.trim().parse().unwrap_or(0)
}

fn args() -> Args {
    let mut a = Args {
        seconds: 5,
        workers: 1,
        payload: 64,
        pin: true,
    };
    let argv: Vec<String> = std::env::args().collect();
    a.pin = !argv.iter().any(|x| x == "--no-pin");
    for w in argv.windows(2) {
        match w[0].as_str() {
            "--seconds" => a.seconds = w[1].parse().unwrap_or(a.seconds),
            "--workers" => a.workers = w[1].parse().unwrap_or(a.workers),
            "--payload" => a.payload = w[1].parse().unwrap_or(a.payload),
            _ => {}
        }
    }
    a
}

/// UDP packets/s forwarded by the router during `secs` of blasting.
fn udp_rate(lab: &Lab, a: &Args) -> f64 {
    let (secs, payload, pinned) = (a.seconds, a.payload, a.pin);
    // Bound so the server answers nothing (no ICMP), never read: drops beyond its buffer are silent.
    let sink = Lab::in_ns(&lab.server, || {
        UdpSocket::bind(SocketAddrV4::new(SERVER, 9000)).expect("bind")
    });
    let before = tx_packets(lab, R_SERVER_IF);
    let started = Instant::now();
    let blaster = netns_support::spawn_in_ns(&lab.client, move || {
        pin(pinned);
        let sock = UdpSocket::bind(SocketAddrV4::new(CLIENT, 0)).expect("bind");
        sock.connect(SocketAddrV4::new(SERVER, 9000)).expect("connect");
        let msg = vec![0x5au8; payload];
        let end = Instant::now() + Duration::from_secs(secs);
        let mut sent = 0u64;
        while Instant::now() < end {
            for _ in 0..64 {
                if sock.send(&msg).is_ok() {
                    sent += 1;
                }
            }
        }
        sent
    });
    let sent = blaster.join().expect("blaster");
    let elapsed = started.elapsed().as_secs_f64();
    let forwarded = tx_packets(lab, R_SERVER_IF) - before;
    drop(sink);
    let rate = forwarded as f64 / elapsed;
    eprintln!(
        "    udp: sent {sent} datagrams, router forwarded {forwarded} in {elapsed:.2} s = {rate:.0} pkt/s"
    );
    rate
}

/// TCP goodput client → server in Mbit/s.
fn tcp_rate(lab: &Lab, a: &Args) -> f64 {
    let (secs, pinned) = (a.seconds, a.pin);
    let listener = Lab::in_ns(&lab.server, || TcpListener::bind((SERVER, 9001)).expect("listen"));
    let server = std::thread::spawn(move || {
        pin(pinned);
        let (mut s, _) = listener.accept().expect("accept");
        let mut buf = vec![0u8; 1 << 16];
        let mut total = 0u64;
        let start = Instant::now();
        while let Ok(n) = s.read(&mut buf) {
            if n == 0 {
                break;
            }
            total += n as u64;
        }
        total as f64 * 8.0 / start.elapsed().as_secs_f64() / 1e6
    });
    Lab::in_ns(&lab.client, move || {
        pin(pinned);
        let mut s = TcpStream::connect((SERVER, 9001)).expect("connect");
        let buf = vec![0xa5u8; 1 << 16];
        let end = Instant::now() + Duration::from_secs(secs);
        while Instant::now() < end {
            if s.write_all(&buf).is_err() {
                break;
            }
        }
    });
    let rate = server.join().expect("server");
    eprintln!("    tcp: {rate:.0} Mbit/s");
    rate
}

/// Accepts every packet without looking at it: isolates the cost of the NFQUEUE round trip.
struct PassShard;

impl Shard for PassShard {
    type Config = ();
    type Event = ();
    fn new_shard(_: (), _: u16, _: u16, _: u64) -> Self {
        Self
    }
    fn reconfigure_shard(&mut self, _: (), _: u16, _: u16) {}
    fn queued_interfaces(_: &()) -> Vec<u16> {
        vec![1]
    }
    fn process(&mut self, _: timebase::Instant, _: &[u8], _: Option<u16>, _: Option<u16>) -> bool {
        true
    }
    fn handle_timeout(&mut self, _: timebase::Instant) {}
    fn poll_timeout(&self) -> Option<timebase::Instant> {
        None
    }
    fn poll_event(&mut self) -> Option<()> {
        None
    }
}

fn report(dp_status: &[inspect::driver::WorkerCounters]) {
    for c in dp_status {
        eprintln!(
            "    {} packets, {} batches (avg {:.1}, max {}), {} verdict messages, {} overruns",
            c.packets,
            c.batches,
            c.packets as f64 / c.batches.max(1) as f64,
            c.max_batch,
            c.verdict_messages,
            c.overruns
        );
    }
}

fn main() {
    let a = args();
    let lab = Lab::new("bench");
    let ifaces = vec![(0, R_CLIENT_IF.to_owned()), (1, R_SERVER_IF.to_owned())];
    let pinned = a.pin;
    eprintln!("plain forwarding:");
    let udp_plain = udp_rate(&lab, &a);
    let tcp_plain = tcp_rate(&lab, &a);

    let mut spec = DataPlaneSpec::new((), ifaces.clone(), timebase::MonotonicClock::start());
    spec.workers = a.workers;
    let dp = Lab::in_ns(&lab.router, move || {
        pin(pinned);
        DataPlane::start::<PassShard>(spec)
    })
    .expect("start the pass-through data plane");
    eprintln!(
        "NFQUEUE round trip only (accept-all shard, {} queue(s)):",
        a.workers
    );
    let udp_pass = udp_rate(&lab, &a);
    let tcp_pass = tcp_rate(&lab, &a);
    report(
        &dp.on_each(|_: &mut PassShard, _| ())
            .expect("status")
            .iter()
            .map(|w| w.counters)
            .collect::<Vec<_>>(),
    );
    dp.stop().expect("stop");

    let mut spec = DataPlaneSpec::new(
        netns_support::inspect_out_config(30),
        ifaces,
        timebase::MonotonicClock::start(),
    );
    spec.workers = a.workers;
    let dp: EngineDataPlane = Lab::in_ns(&lab.router, move || {
        pin(pinned);
        DataPlane::start(spec)
    })
    .expect("start the data plane");
    eprintln!(
        "inspecting router ({} queue(s), backend {:?}):",
        a.workers,
        dp.backend()
    );
    let udp_insp = udp_rate(&lab, &a);
    let tcp_insp = tcp_rate(&lab, &a);
    let status = dp.status().expect("status");
    report(&status.workers.iter().map(|w| w.counters).collect::<Vec<_>>());
    eprintln!(
        "    engine: {} sessions created, drops {:?}",
        status.engine.created, status.engine.drops
    );
    dp.stop().expect("stop");

    println!(
        "| test ({}) | plain | NFQUEUE accept-all | inspected | inspected / plain |",
        if a.pin { "all on CPU 0" } else { "unpinned" }
    );
    println!("|---|---|---|---|---|");
    println!(
        "| UDP {} B payload, 1 flow (pkt/s) | {udp_plain:.0} | {udp_pass:.0} | {udp_insp:.0} | {:.2} |",
        a.payload,
        udp_insp / udp_plain.max(1.0)
    );
    println!(
        "| TCP bulk, 1 flow (Mbit/s) | {tcp_plain:.0} | {tcp_pass:.0} | {tcp_insp:.0} | {:.2} |",
        tcp_insp / tcp_plain.max(1.0)
    );
}
