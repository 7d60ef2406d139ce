//! Forwarding rate through the inspecting router vs. the same router without inspection.
//!
//! Builds the client — router — server namespace lab (root needed), then for each mode (plain
//! forwarding, then the NFQUEUE data plane running the real engine with `ip inspect P out` + a deny-all
//! ACL inbound on the server side) measures:
//! * UDP: one flow of small datagrams blasted from the client for `--seconds`; the server counts what
//!   arrives (packets/s delivered);
//! * TCP: one bulk stream client → server for `--seconds` (Mbit/s delivered).
//!
//! Usage: `cargo run --release -p inspect --example netns_dataplane_bench -- [--seconds 5] [--workers 1]
//! [--payload 64]`

#[path = "../tests/netns_support/mod.rs"]
mod netns_support;

use std::io::{Read, Write};
use std::net::{SocketAddrV4, TcpListener, TcpStream, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use inspect::driver::{DataPlane, DataPlaneSpec, EngineDataPlane};
use netns_support::{CLIENT, Lab, R_CLIENT_IF, R_SERVER_IF, SERVER};

struct Args {
    seconds: u64,
    workers: u16,
    payload: usize,
}

fn args() -> Args {
    let mut a = Args {
        seconds: 5,
        workers: 1,
        payload: 64,
    };
    let argv: Vec<String> = std::env::args().collect();
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

/// UDP packets/s delivered to the server during `secs` of blasting.
fn udp_rate(lab: &Lab, secs: u64, payload: usize) -> f64 {
    let stop = Arc::new(AtomicBool::new(false));
    let server = {
        let stop = stop.clone();
        let (tx, rx) = std::sync::mpsc::channel();
        let h = netns_support::spawn_in_ns(&lab.server, move || {
            let sock = UdpSocket::bind(SocketAddrV4::new(SERVER, 9000)).expect("bind");
            sock.set_read_timeout(Some(Duration::from_millis(100)))
                .expect("timeout");
            tx.send(()).expect("ready");
            let mut buf = [0u8; 2048];
            let mut count = 0u64;
            let mut first: Option<Instant> = None;
            let mut last = Instant::now();
            while !stop.load(Ordering::Relaxed) {
                if sock.recv(&mut buf).is_ok() {
                    count += 1;
                    last = Instant::now();
                    first.get_or_insert(last);
                }
            }
            let span = first.map_or(1.0, |f| last.duration_since(f).as_secs_f64().max(1e-3));
            count as f64 / span
        });
        rx.recv().expect("server ready");
        h
    };
    let blaster = netns_support::spawn_in_ns(&lab.client, move || {
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
    std::thread::sleep(Duration::from_millis(300));
    stop.store(true, Ordering::Relaxed);
    let rate = server.join().expect("server");
    eprintln!("    udp: sent {sent} datagrams in {secs} s, delivered {rate:.0} pkt/s");
    rate
}

/// TCP goodput client → server in Mbit/s.
fn tcp_rate(lab: &Lab, secs: u64) -> f64 {
    let listener = Lab::in_ns(&lab.server, || TcpListener::bind((SERVER, 9001)).expect("listen"));
    let server = std::thread::spawn(move || {
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

fn main() {
    let a = args();
    let lab = Lab::new("bench");
    eprintln!("plain forwarding:");
    let udp_plain = udp_rate(&lab, a.seconds, a.payload);
    let tcp_plain = tcp_rate(&lab, a.seconds);

    let cfg = netns_support::inspect_out_config(30);
    let mut spec = DataPlaneSpec::new(
        cfg,
        vec![(0, R_CLIENT_IF.to_owned()), (1, R_SERVER_IF.to_owned())],
        timebase::MonotonicClock::start(),
    );
    spec.workers = a.workers;
    let dp: EngineDataPlane =
        Lab::in_ns(&lab.router, move || DataPlane::start(spec)).expect("start the data plane");
    eprintln!(
        "inspecting router ({} queue(s), backend {:?}):",
        a.workers,
        dp.backend()
    );
    let udp_insp = udp_rate(&lab, a.seconds, a.payload);
    let tcp_insp = tcp_rate(&lab, a.seconds);
    let status = dp.status().expect("status");
    for w in &status.workers {
        let c = &w.counters;
        eprintln!(
            "    queue {}: {} packets, {} batches (avg {:.1}, max {}), {} verdict messages, {} overruns",
            w.queue,
            c.packets,
            c.batches,
            c.packets as f64 / c.batches.max(1) as f64,
            c.max_batch,
            c.verdict_messages,
            c.overruns
        );
    }
    eprintln!(
        "    engine: {} sessions created, drops {:?}",
        status.engine.created, status.engine.drops
    );
    dp.stop().expect("stop");

    println!("| test | plain | inspected | ratio |");
    println!("|---|---|---|---|");
    println!(
        "| UDP {} B payload, 1 flow (pkt/s) | {udp_plain:.0} | {udp_insp:.0} | {:.2} |",
        a.payload,
        udp_insp / udp_plain.max(1.0)
    );
    println!(
        "| TCP bulk, 1 flow (Mbit/s) | {tcp_plain:.0} | {tcp_insp:.0} | {:.2} |",
        tcp_insp / tcp_plain.max(1.0)
    );
}
