//! Failover benchmark in network namespaces (root only).
//!
//! Two drivers with `standby 1 timers msec 50 msec 150` on a bridge with a host. Each trial takes the
//! Active's LAN link down and measures, from the last hello of the Active that the host received:
//! * until the standby's driver reports the Active state;
//! * until the host receives the first ICMP echo reply from the VIP (it pings the VIP every 2 ms).
//!
//! Then the link comes back and the old Active preempts. Run with
//! `cargo bench -p hsrp --bench failover` (`TRIALS=N` to change the default of 20).

#[path = "../tests/netns_support/mod.rs"]
mod netns_support;

use std::io::Read;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use hsrp::driver::HsrpEvent;
use netns_support::*;
use socket2::{Domain, Protocol, Socket, Type};

#[derive(Default)]
struct Seen {
    r1_hellos: Vec<Instant>,
    /// (received, sequence number) of echo replies from the VIP.
    replies: Vec<(Instant, u16)>,
    /// When each sequence number was sent (indexed by sequence number).
    sent: Vec<Option<Instant>>,
}

fn checksum(b: &[u8]) -> u16 {
    let mut sum: u32 = 0;
    for c in b.chunks(2) {
        let w = if c.len() == 2 {
            u16::from_be_bytes([c[0], c[1]])
        } else {
            u16::from(c[0]) << 8
        };
        sum += u32::from(w);
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// Host-side observer: hellos from r1 and ICMP echo replies from the VIP, with their arrival times.
fn start_probe(host_ns: &str, stop: Arc<AtomicBool>, seen: Arc<Mutex<Seen>>) -> thread::JoinHandle<()> {
    let path = format!("/var/run/netns/{host_ns}");
    thread::spawn(move || {
        let f = std::fs::File::open(&path).expect("netns");
        nix::sched::setns(f, nix::sched::CloneFlags::CLONE_NEWNET).expect("setns");
        let hello = Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::UDP)).expect("udp");
        hello.set_reuse_address(true).expect("reuse");
        hello
            .bind(&SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 1985).into())
            .expect("bind");
        hello
            .join_multicast_v4(&Ipv4Addr::new(224, 0, 0, 2), &Ipv4Addr::new(10, 0, 0, 10))
            .expect("join");
        hello.set_nonblocking(true).expect("nb");
        let hello: std::net::UdpSocket = hello.into();
        let mut icmp = Socket::new(Domain::IPV4, Type::RAW, Some(Protocol::ICMPV4)).expect("raw icmp");
        icmp.set_nonblocking(true).expect("nb");
        let vip: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 3);
        let dst = SocketAddrV4::new(vip, 0).into();
        let mut seq: u16 = 0;
        let mut last_ping = Instant::now() - Duration::from_secs(1);
        let mut buf = [0u8; 2048];
        while !stop.load(Ordering::Relaxed) {
            while let Ok((_, from)) = hello.recv_from(&mut buf) {
                if from.ip() == std::net::IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)) {
                    seen.lock().expect("lock").r1_hellos.push(Instant::now());
                }
            }
            while let Ok(n) = icmp.read(&mut buf) {
                let ihl = usize::from(buf[0] & 0x0f) * 4;
                let from = Ipv4Addr::new(buf[12], buf[13], buf[14], buf[15]);
                if n >= ihl + 8 && from == vip && buf[ihl] == 0 {
                    let seq = u16::from_be_bytes([buf[ihl + 6], buf[ihl + 7]]);
                    seen.lock().expect("lock").replies.push((Instant::now(), seq));
                }
            }
            if last_ping.elapsed() >= Duration::from_millis(2) {
                seq = seq.wrapping_add(1);
                let mut p = vec![8, 0, 0, 0, 0x12, 0x34];
                p.extend_from_slice(&seq.to_be_bytes());
                p.extend_from_slice(&[0u8; 16]);
                let c = checksum(&p);
                p[2..4].copy_from_slice(&c.to_be_bytes());
                last_ping = Instant::now();
                {
                    let mut s = seen.lock().expect("lock");
                    s.sent.resize(65_536, None);
                    s.sent[usize::from(seq)] = Some(last_ping);
                }
                let _ = icmp.send_to(&p, &dst);
            }
            thread::sleep(Duration::from_micros(200));
        }
    })
}

fn percentile(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(f64::total_cmp);
    let idx = ((p / 100.0) * (v.len() as f64 - 1.0)).round() as usize;
    v[idx.min(v.len() - 1)]
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    if !can_run() {
        eprintln!("SKIPPED: the failover bench needs root and iproute2");
        return;
    }
    let trials: usize = std::env::var("TRIALS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20);
    let (_ns, _br, r1, r2, h) = topology("b");
    let a = Router::start(&r1, spec_with_timers(110, false, 50, 150));
    let b = Router::start(&r2, spec_with_timers(100, false, 50, 150));
    let limit = Duration::from_secs(10);
    wait_until("initial election", limit, || {
        a.state() == "Active" && b.state() == "Standby"
    });
    let stop = Arc::new(AtomicBool::new(false));
    let seen = Arc::new(Mutex::new(Seen::default()));
    let probe = start_probe(&h, stop.clone(), seen.clone());
    wait_until("replies from the VIP", limit, || {
        !seen.lock().expect("lock").replies.is_empty()
    });

    let (mut to_active, mut to_traffic) = (Vec::new(), Vec::new());
    for trial in 0..trials {
        wait_until("steady state", limit, || {
            a.state() == "Active" && b.state() == "Standby"
        });
        thread::sleep(Duration::from_millis(300));
        while b.events.try_recv().is_ok() {}
        {
            // Sequence numbers wrap after 65536 probes: keep each trial's bookkeeping fresh.
            let mut s = seen.lock().expect("lock");
            s.replies.clear();
            s.sent.iter_mut().for_each(|t| *t = None);
            s.r1_hellos.retain(|t| t.elapsed() < Duration::from_secs(2));
        }
        ok(&["ip", "-n", &r1, "link", "set", "e0", "down"]);
        // From here on nothing can come from r1.
        let t_down = Instant::now();
        let t_active = loop {
            match b.events.recv_timeout(limit).expect("standby event") {
                (
                    t,
                    HsrpEvent::StateChange {
                        to: hsrp::State::Active,
                        ..
                    },
                ) => break t,
                _ => continue,
            }
        };
        let mut t_reply = None;
        wait_until("first reply after the failure", limit, || {
            // The first reply to an echo request sent after the link went down (so it cannot come from
            // r1, whatever the scheduling delay of this thread).
            let s = seen.lock().expect("lock");
            t_reply = s
                .replies
                .iter()
                .find(|(_, seq)| {
                    s.sent
                        .get(usize::from(*seq))
                        .copied()
                        .flatten()
                        .is_some_and(|t| t > t_down)
                })
                .map(|(t, _)| *t);
            t_reply.is_some()
        });
        let last_hello = seen
            .lock()
            .expect("lock")
            .r1_hellos
            .iter()
            .copied()
            .filter(|t| *t <= t_down)
            .max()
            .expect("r1 hellos seen");
        let da = t_active.saturating_duration_since(last_hello).as_secs_f64() * 1000.0;
        let dt = t_reply.map_or(f64::NAN, |t| {
            t.saturating_duration_since(last_hello).as_secs_f64() * 1000.0
        });
        eprintln!("trial {trial:2}: standby Active after {da:7.1} ms, host traffic after {dt:7.1} ms");
        to_active.push(da);
        to_traffic.push(dt);
        ok(&["ip", "-n", &r1, "link", "set", "e0", "up"]);
    }
    stop.store(true, Ordering::Relaxed);
    probe.join().ok();
    println!(
        "HSRP failover, timers msec 50 msec 150, {trials} trials (ms from the Active's last hello seen by the host)"
    );
    for (name, v) in [
        ("standby reaches Active", &mut to_active),
        ("first host packet through the VIP", &mut to_traffic),
    ] {
        let (p50, p99) = (percentile(v, 50.0), percentile(v, 99.0));
        let max = v.iter().copied().fold(f64::MIN, f64::max);
        println!("  {name:<34} p50 {p50:6.1}  p99 {p99:6.1}  max {max:6.1}");
    }
}
