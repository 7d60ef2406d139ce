//! Benchmark of the userspace transport between two network namespaces over veth (needs root).
//!
//! `cargo run --release -p ipc --example ipc_bench -- [raw|udp] [key] [--bundle=BYTES]`
//!
//! Measures messages/s and goodput for 64-byte and 1 KiB messages (the driver bundles queued messages
//! of one stream into one SCTP user message, `--bundle=0` turns that off; default
//! `DEFAULT_BUNDLE_BYTES`), and one-way latency p50/p99 of unloaded 64-byte messages (both ends run in
//! this process, so send and receive times come from one clock).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fs::File;
use std::process::Command;
use std::time::{Duration, Instant};

use ipc::{AssociationConfig, ClientId, IpcEvent, IpcHandle, MessageKind, SendError, TransportChoice};
use nix::sched::{CloneFlags, setns};
use tokio::sync::mpsc::Receiver;

fn must(args: &[&str]) {
    let ok = Command::new(args[0])
        .args(&args[1..])
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    assert!(ok, "command failed: {}", args.join(" "));
}

struct Lab(String, String);

impl Drop for Lab {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.0]).status();
        let _ = Command::new("ip").args(["netns", "del", &self.1]).status();
    }
}

fn lab() -> Lab {
    let base = format!("ihb{}", std::process::id());
    let lab = Lab(format!("{base}-a"), format!("{base}-b"));
    must(&["ip", "netns", "add", &lab.0]);
    must(&["ip", "netns", "add", &lab.1]);
    must(&[
        "ip", "link", "add", "ihbench0", "netns", &lab.0, "type", "veth", "peer", "name", "ihbench1",
        "netns", &lab.1,
    ]);
    must(&[
        "ip",
        "-n",
        &lab.0,
        "addr",
        "add",
        "10.78.0.1/24",
        "dev",
        "ihbench0",
    ]);
    must(&[
        "ip",
        "-n",
        &lab.1,
        "addr",
        "add",
        "10.78.0.2/24",
        "dev",
        "ihbench1",
    ]);
    must(&["ip", "-n", &lab.0, "link", "set", "ihbench0", "up"]);
    must(&["ip", "-n", &lab.1, "link", "set", "ihbench1", "up"]);
    lab
}

fn spawn_in(ns: &str, cfg: AssociationConfig) -> (IpcHandle, Receiver<IpcEvent>) {
    let path = format!("/run/netns/{ns}");
    std::thread::spawn(move || {
        setns(File::open(&path).unwrap(), CloneFlags::CLONE_NEWNET).unwrap();
        ipc::spawn(cfg).unwrap()
    })
    .join()
    .unwrap()
}

async fn wait_up(rx: &mut Receiver<IpcEvent>) {
    loop {
        match tokio::time::timeout(Duration::from_secs(10), rx.recv()).await {
            Ok(Some(IpcEvent::Up { .. })) => return,
            Ok(Some(_)) => {}
            _ => panic!("association did not come up"),
        }
    }
}

/// CPU seconds (user + system) this process used so far, from /proc/self/stat.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap();
    let after = &stat[stat.rfind(')').unwrap() + 2..];
    let f: Vec<&str> = after.split(' ').collect();
    // Fields 14 and 15 (utime, stime) are at 11 and 12 after the command name; clock ticks of 10 ms.
    let ticks: f64 = f[11].parse::<f64>().unwrap() + f[12].parse::<f64>().unwrap();
    ticks / 100.0
}

async fn throughput(
    tx: &IpcHandle,
    peer: &IpcHandle,
    rx: &mut Receiver<IpcEvent>,
    size: usize,
    count: u64,
) -> (f64, f64) {
    let payload = vec![0x5a; size];
    let start = Instant::now();
    let cpu0 = cpu_seconds();
    let sender = {
        let tx = tx.clone();
        tokio::spawn(async move {
            let mut sent = 0u64;
            while sent < count {
                match tx.send(ClientId::INSPECT, MessageKind::INSPECT_SYNC, payload.clone()) {
                    Ok(()) => sent += 1,
                    Err(SendError::QueueFull) => tokio::time::sleep(Duration::from_micros(200)).await,
                    Err(e) => panic!("{e}"),
                }
            }
        })
    };
    let mut got = 0u64;
    while got < count {
        match tokio::time::timeout(Duration::from_secs(20), rx.recv()).await {
            Ok(Some(IpcEvent::Message { .. })) => got += 1,
            Ok(Some(other)) => panic!("unexpected {other:?}"),
            _ => {
                let (a, b) = (tx.status_now().await.unwrap(), peer.status_now().await.unwrap());
                panic!("stalled after {got} messages\nsender {a:#?}\nreceiver {b:#?}");
            }
        }
    }
    sender.await.unwrap();
    let secs = start.elapsed().as_secs_f64();
    println!(
        "  ({size} B phase: {secs:.2} s wall, {:.2} CPU cores busy in this process)",
        (cpu_seconds() - cpu0) / secs
    );
    (count as f64 / secs, (count as f64 * size as f64) / secs / 1e6)
}

async fn latency(tx: &IpcHandle, rx: &mut Receiver<IpcEvent>, samples: usize) -> (Duration, Duration) {
    let epoch = Instant::now();
    let mut lat = Vec::with_capacity(samples);
    for _ in 0..samples {
        let mut payload = vec![0u8; 64];
        payload[..8].copy_from_slice(&(epoch.elapsed().as_nanos() as u64).to_be_bytes());
        tx.send(ClientId::RF, MessageKind::RF_CONTROL, payload).unwrap();
        match tokio::time::timeout(Duration::from_secs(5), rx.recv()).await {
            Ok(Some(IpcEvent::Message { payload, .. })) => {
                let sent = u64::from_be_bytes(payload[..8].try_into().unwrap());
                lat.push(Duration::from_nanos(epoch.elapsed().as_nanos() as u64 - sent));
            }
            other => panic!("unexpected {other:?}"),
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    lat.sort();
    (lat[samples / 2], lat[samples * 99 / 100])
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let transport = match args.get(1).map(String::as_str) {
        Some("udp") => TransportChoice::Udp,
        _ => TransportChoice::Raw,
    };
    let bundle = args
        .iter()
        .find_map(|a| a.strip_prefix("--bundle="))
        .map_or(ipc::config::DEFAULT_BUNDLE_BYTES, |v| {
            v.parse().expect("--bundle=BYTES")
        });
    let key = args.get(2).filter(|a| !a.starts_with("--")).cloned();
    let _lab = lab();
    let cfg = |l: &str, r: &str| {
        AssociationConfig::new(5000, 5000, vec![l.parse().unwrap()], vec![r.parse().unwrap()])
            .unwrap()
            .with_transport(transport)
            .with_security_key(key.clone())
            .unwrap()
            .with_bundle_bytes(bundle)
            .unwrap()
    };
    let (ha, mut ra) = spawn_in(&_lab.0, cfg("10.78.0.1", "10.78.0.2"));
    let (hb, mut rb) = spawn_in(&_lab.1, cfg("10.78.0.2", "10.78.0.1"));
    wait_up(&mut ra).await;
    wait_up(&mut rb).await;
    println!(
        "transport {} authentication {} bundle bytes {}",
        transport,
        if key.is_some() { "on" } else { "off" },
        bundle
    );
    let (p50, p99) = latency(&ha, &mut rb, 2000).await;
    println!(
        "one-way latency (64 B, unloaded): p50 {:.1} us  p99 {:.1} us",
        p50.as_secs_f64() * 1e6,
        p99.as_secs_f64() * 1e6
    );
    // `--only=64` or `--only=1024`: one size (for profiling).
    let only: Option<usize> = args
        .iter()
        .find_map(|a| a.strip_prefix("--only="))
        .map(|v| v.parse().expect("--only=SIZE"));
    for (size, count) in [(64usize, 400_000u64), (1024, 200_000)] {
        if only.is_some_and(|o| o != size) {
            continue;
        }
        let (mps, mbps) = throughput(&ha, &hb, &mut rb, size, count).await;
        println!("{size:>5} B messages: {mps:>10.0} msg/s  goodput {mbps:>7.1} MB/s");
    }
    let st = ha.status_now().await.unwrap();
    println!(
        "sender: messages {} bundles {} packets {} retransmissions {} drops {} (queue full {})",
        st.stats.msgs_sent,
        st.stats.bundles_sent,
        st.stats.packets_sent,
        st.stats.retransmissions,
        st.stats.drops_total(),
        st.stats.drop_queue_full
    );
    ha.shutdown();
    hb.shutdown();
}
