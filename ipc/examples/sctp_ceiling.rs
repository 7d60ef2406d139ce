//! What the userspace SCTP stack allows on this CPU, with no I/O at all (no root needed).
//!
//! `cargo run --release -p ipc --example sctp_ceiling [-- SECONDS]`
//!
//! 1. Two bare dcsctp 0.1.16 sockets joined in memory on one thread: messages/s and goodput for 64 B,
//!    1 KiB and 64 KiB messages, the sender's queue kept full. Both ends run on the one thread, so the
//!    figure is what one core does for sender and receiver together; with each end on its own core
//!    (as in `ipc_bench`) the ceiling is at most twice that.
//! 2. The same through two `ipc::Association` cores (envelope, sequence window, optional HMAC,
//!    bundling), fed 256-message batches as the driver feeds them under load.
//!
//! Rates are per second of this thread's CPU time (`/proc/thread-self/schedstat`), so other load on
//! the machine does not distort them (wall-clock rates are printed alongside).
//! 3. The cost of the hex formatting dcsctp 0.1.16 performs on every sent and received packet
//!    (`dcsctp::logging::log_packet`, unconditional), reproduced here byte for byte, in ns per byte.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fmt::Write as _;
use std::time::{Duration, Instant as WallInstant};

use dcsctp::api::{DcSctpSocket, Message, Options, PpId, SendOptions, SocketEvent, SocketTime, StreamId};
use ipc::{Action, Association, AssociationConfig, ClientId, IpcEvent, MessageKind};
use timebase::Instant;

/// CPU time this thread has run, from the scheduler's accounting (nanoseconds, first field).
fn thread_cpu() -> Duration {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").unwrap();
    Duration::from_nanos(s.split_whitespace().next().unwrap().parse().unwrap())
}

/// Rates per CPU second and per wall second.
struct Rate {
    msgs: f64,
    mbytes: f64,
    cpu_share: f64,
}

fn rate(msgs: u64, bytes: u64, cpu0: Duration, wall0: WallInstant) -> Rate {
    let cpu = (thread_cpu() - cpu0).as_secs_f64();
    let wall = wall0.elapsed().as_secs_f64();
    Rate {
        msgs: msgs as f64 / cpu,
        mbytes: bytes as f64 / cpu / 1e6,
        cpu_share: cpu / wall,
    }
}

fn socket_time(epoch: WallInstant) -> SocketTime {
    SocketTime::zero() + epoch.elapsed()
}

fn options() -> Options {
    Options {
        mtu: 1400,
        max_message_size: 256 * 1024 + 64,
        max_send_buffer_size: 1 << 20,
        per_stream_send_queue_limit: 1 << 20,
        ..Options::default()
    }
}

/// Moves every pending packet between the two sockets; returns whether anything moved.
fn pump(a: &mut dyn DcSctpSocket, b: &mut dyn DcSctpSocket) -> bool {
    let mut moved = false;
    for (from, to) in [(0, 1), (1, 0)] {
        loop {
            let ev = if from == 0 { a.poll_event() } else { b.poll_event() };
            let Some(ev) = ev else { break };
            if let SocketEvent::SendPacket(p) = ev {
                moved = true;
                if to == 1 {
                    b.handle_input(&p);
                } else {
                    a.handle_input(&p);
                }
            }
        }
    }
    moved
}

fn bare_dcsctp(size: usize, run: Duration) -> Rate {
    let epoch = WallInstant::now();
    let mut a = dcsctp::new_socket("a", &options());
    let mut b = dcsctp::new_socket("b", &options());
    a.connect();
    while pump(a.as_mut(), b.as_mut()) {}
    let payload = vec![0x5a; size];
    let start = WallInstant::now();
    let cpu0 = thread_cpu();
    let (mut got, mut bytes) = (0u64, 0u64);
    while start.elapsed() < run {
        while a.buffered_amount(StreamId(1)) < 512 * 1024 {
            a.send(
                Message::new(StreamId(1), PpId(1), payload.clone()),
                &SendOptions::default(),
            )
            .unwrap();
        }
        pump(a.as_mut(), b.as_mut());
        while let Some(m) = b.get_next_message() {
            got += 1;
            bytes += m.payload.len() as u64;
        }
        let now = socket_time(epoch);
        a.advance_time(now);
        b.advance_time(now);
    }
    rate(got, bytes, cpu0, start)
}

fn now_of(epoch: WallInstant) -> Instant {
    Instant::from_micros(epoch.elapsed().as_micros() as u64)
}

/// Delivers every pending action between the two cores; counts delivered messages.
fn pump_assoc(a: &mut Association, b: &mut Association, epoch: WallInstant, got: &mut (u64, u64)) -> bool {
    let mut moved = false;
    for dir in 0..2 {
        let (from, to) = if dir == 0 {
            (&mut *a, &mut *b)
        } else {
            (&mut *b, &mut *a)
        };
        let mut packets = Vec::new();
        while let Some(act) = from.poll_action() {
            match act {
                Action::Transmit { path, packet } => packets.push((path, packet)),
                Action::Event(IpcEvent::Message { payload, .. }) => {
                    got.0 += 1;
                    got.1 += payload.len() as u64;
                }
                _ => {}
            }
        }
        let now = now_of(epoch);
        for (path, p) in packets {
            moved = true;
            to.handle_packet(now, path, &p);
        }
    }
    moved
}

fn association(size: usize, key: Option<&str>, bundle: usize, run: Duration) -> Rate {
    let cfg = |l: &str, r: &str| {
        AssociationConfig::new(5000, 5000, vec![l.parse().unwrap()], vec![r.parse().unwrap()])
            .unwrap()
            .with_security_key(key.map(str::to_string))
            .unwrap()
            .with_bundle_bytes(bundle)
            .unwrap()
    };
    let epoch = WallInstant::now();
    let mut a = Association::new(cfg("10.0.0.1", "10.0.0.2"), 1);
    let mut b = Association::new(cfg("10.0.0.2", "10.0.0.1"), 2);
    a.start(now_of(epoch));
    b.start(now_of(epoch));
    let mut got = (0u64, 0u64);
    while !(a.is_up() && b.is_up()) {
        if !pump_assoc(&mut a, &mut b, epoch, &mut got) {
            let now = now_of(epoch);
            a.handle_timeout(now);
            b.handle_timeout(now);
        }
    }
    let payload = vec![0x5a; size];
    let start = WallInstant::now();
    let cpu0 = thread_cpu();
    got = (0, 0);
    while start.elapsed() < run {
        if a.send_room() >= 300 * 1024 {
            let batch = (0..256)
                .map(|_| (ClientId::INSPECT, MessageKind::INSPECT_SYNC, payload.clone()))
                .collect();
            let r = a.send_batch(now_of(epoch), batch);
            assert!(r.iter().all(Result::is_ok));
        }
        pump_assoc(&mut a, &mut b, epoch, &mut got);
        let now = now_of(epoch);
        a.handle_timeout(now);
        b.handle_timeout(now);
    }
    rate(got.0, got.1, cpu0, start)
}

/// The formatting `dcsctp::logging::log_packet` does for every packet, timed per byte.
fn hex_cost_ns_per_byte() -> f64 {
    let packet = vec![0xa5u8; 1400];
    let start = WallInstant::now();
    let cpu0 = thread_cpu();
    let mut n = 0u64;
    while start.elapsed() < Duration::from_millis(500) {
        let s = packet.iter().fold(String::new(), |mut out, c| {
            let _ = write!(out, " {c:02x}");
            out
        });
        std::hint::black_box(s);
        n += 1;
    }
    (thread_cpu() - cpu0).as_nanos() as f64 / (n as f64 * packet.len() as f64)
}

fn main() {
    let secs: f64 = std::env::args()
        .nth(1)
        .map_or(2.0, |s| s.parse().expect("SECONDS"));
    let run = Duration::from_secs_f64(secs);
    let ns = hex_cost_ns_per_byte();
    println!(
        "dcsctp per-packet hex formatting: {ns:.1} ns/byte -> {:.0} MB/s per core for one side",
        1e3 / ns
    );
    println!("bare dcsctp pair, both ends on one thread (per CPU second):");
    for size in [64usize, 1024, 65_536] {
        let r = bare_dcsctp(size, run);
        println!(
            "  {size:>6} B: {:>9.0} msg/s  {:>6.1} MB/s   (thread had {:.0} % of a core)",
            r.msgs,
            r.mbytes,
            r.cpu_share * 100.0
        );
    }
    println!("ipc::Association pair (256-message batches), both ends on one thread (per CPU second):");
    let configs = [
        (None, 0usize),
        (None, 1400),
        (None, 4096),
        (None, 16_384),
        (None, 65_536),
        (Some("k"), 0),
        (Some("k"), 16_384),
    ];
    for (key, bundle) in configs {
        for size in [64usize, 1024] {
            let r = association(size, key, bundle, run);
            println!(
                "  {size:>6} B  key {:<3}  bundle {:>5}: {:>9.0} msg/s  {:>6.1} MB/s   ({:.0} % of a core)",
                if key.is_some() { "on" } else { "off" },
                bundle,
                r.msgs,
                r.mbytes,
                r.cpu_share * 100.0
            );
        }
    }
}
