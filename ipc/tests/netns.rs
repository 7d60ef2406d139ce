//! The association between two network namespaces over veth, driven through the public driver API.
//!
//! Needs root (network namespaces, raw sockets, nftables); skips with a message otherwise. Every test
//! builds its own namespaces (`ih<pid>-<tag>-a|b`), joined only to each other, and removes them on drop.
#![allow(clippy::unwrap_used, clippy::expect_used)]
#![cfg(feature = "runtime")]

use std::fs::File;
use std::net::IpAddr;
use std::process::Command;
use std::time::{Duration, Instant};

use ipc::{AssociationConfig, ClientId, IpcEvent, IpcHandle, MessageKind, TransportChoice};
use nix::sched::{CloneFlags, setns};
use tokio::sync::mpsc::Receiver;

fn sh(args: &[&str]) -> bool {
    Command::new(args[0])
        .args(&args[1..])
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

fn must(args: &[&str]) {
    assert!(sh(args), "command failed: {}", args.join(" "));
}

fn can_run() -> bool {
    if !nix::unistd::geteuid().is_root() {
        eprintln!("SKIP: namespace tests need root");
        return false;
    }
    if !Command::new("ip")
        .args(["netns", "list"])
        .output()
        .is_ok_and(|o| o.status.success())
    {
        eprintln!("SKIP: `ip netns` unavailable");
        return false;
    }
    true
}

/// Two namespaces `a` and `b` joined by one or two veth pairs: pair i is 10.77.i.1/24 (a) -- 10.77.i.2/24 (b).
struct Lab {
    a: String,
    b: String,
}

impl Lab {
    fn new(tag: &str, pairs: usize) -> Self {
        let base = format!("ih{}-{tag}", std::process::id());
        let lab = Self {
            a: format!("{base}-a"),
            b: format!("{base}-b"),
        };
        must(&["ip", "netns", "add", &lab.a]);
        must(&["ip", "netns", "add", &lab.b]);
        for i in 0..pairs {
            let (va, vb) = (format!("ih{tag}a{i}"), format!("ih{tag}b{i}"));
            must(&[
                "ip", "link", "add", &va, "netns", &lab.a, "type", "veth", "peer", "name", &vb, "netns",
                &lab.b,
            ]);
            for (ns, dev, host) in [(&lab.a, &va, 1), (&lab.b, &vb, 2)] {
                must(&[
                    "ip",
                    "-n",
                    ns,
                    "addr",
                    "add",
                    &format!("10.77.{i}.{host}/24"),
                    "dev",
                    dev,
                ]);
                must(&["ip", "-n", ns, "link", "set", dev, "up"]);
            }
        }
        must(&["ip", "-n", &lab.a, "link", "set", "lo", "up"]);
        must(&["ip", "-n", &lab.b, "link", "set", "lo", "up"]);
        lab
    }

    fn nft(&self, ns: &str, rule: &str) {
        must(&["ip", "netns", "exec", ns, "nft", "add", "table", "inet", "ihtest"]);
        must(&[
            "ip",
            "netns",
            "exec",
            ns,
            "nft",
            "add",
            "chain",
            "inet",
            "ihtest",
            "input",
            "{ type filter hook input priority 0; }",
        ]);
        let mut args = vec![
            "ip", "netns", "exec", ns, "nft", "add", "rule", "inet", "ihtest", "input",
        ];
        args.extend(rule.split(' '));
        must(&args);
    }

    fn nft_clear(&self, ns: &str) {
        must(&[
            "ip", "netns", "exec", ns, "nft", "delete", "table", "inet", "ihtest",
        ]);
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        let _ = sh(&["ip", "netns", "del", &self.a]);
        let _ = sh(&["ip", "netns", "del", &self.b]);
    }
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// Config for side `host` (1 = a, 2 = b) over `pairs` address pairs.
fn cfg(host: u8, pairs: usize, transport: TransportChoice, key: Option<&str>) -> AssociationConfig {
    let peer = 3 - host;
    let local = (0..pairs).map(|i| ip(&format!("10.77.{i}.{host}"))).collect();
    let remote = (0..pairs).map(|i| ip(&format!("10.77.{i}.{peer}"))).collect();
    AssociationConfig::new(5000, 5000, local, remote)
        .unwrap()
        .with_retransmit_timeout(300, 600)
        .unwrap()
        .with_heartbeat_interval(300)
        .unwrap()
        .with_assoc_retransmit(3)
        .unwrap()
        .with_path_retransmit(2)
        .unwrap()
        .with_transport(transport)
        .with_security_key(key.map(str::to_string))
        .unwrap()
}

/// Starts an association inside namespace `ns` (the driver thread inherits the namespace).
fn spawn_in(ns: &str, cfg: AssociationConfig) -> (IpcHandle, Receiver<IpcEvent>) {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_env("IPC_TEST_LOG"))
        .with_test_writer()
        .try_init();
    let path = format!("/run/netns/{ns}");
    std::thread::spawn(move || {
        let f = File::open(&path).expect("netns file");
        setns(&f, CloneFlags::CLONE_NEWNET).expect("setns");
        ipc::spawn(cfg).expect("spawn")
    })
    .join()
    .unwrap()
}

/// Waits for the next Up/Down event; returns it and when it arrived.
async fn next_state(rx: &mut Receiver<IpcEvent>, limit: Duration) -> Option<(IpcEvent, Instant)> {
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Some(IpcEvent::Message { .. })) => continue,
            Ok(Some(ev)) => return Some((ev, Instant::now())),
            _ => return None,
        }
    }
}

async fn next_message(rx: &mut Receiver<IpcEvent>, limit: Duration) -> Option<Vec<u8>> {
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Some(IpcEvent::Message { payload, .. })) => return Some(payload),
            Ok(Some(_)) => continue,
            _ => return None,
        }
    }
}

async fn up_pair(lab: &Lab, pairs: usize, t: TransportChoice) -> [(IpcHandle, Receiver<IpcEvent>); 2] {
    let mut a = spawn_in(&lab.a, cfg(1, pairs, t, Some("lab-key")));
    let mut b = spawn_in(&lab.b, cfg(2, pairs, t, Some("lab-key")));
    let (ev, _) = next_state(&mut a.1, Duration::from_secs(10)).await.expect("a up");
    assert_eq!(
        ev,
        IpcEvent::Up {
            peer_restarted: false
        }
    );
    let (ev, _) = next_state(&mut b.1, Duration::from_secs(10)).await.expect("b up");
    assert_eq!(
        ev,
        IpcEvent::Up {
            peer_restarted: false
        }
    );
    [a, b]
}

async fn drop_and_recover(transport: TransportChoice, tag: &str, rule: &str) {
    let lab = Lab::new(tag, 1);
    let [(ha, mut ra), (hb, mut rb)] = up_pair(&lab, 1, transport).await;
    ha.send(ClientId::RF, MessageKind::RF_CONTROL, b"hello b".to_vec())
        .unwrap();
    assert_eq!(
        next_message(&mut rb, Duration::from_secs(5)).await.as_deref(),
        Some(&b"hello b"[..])
    );
    let st = ha.status_now().await.unwrap();
    assert_eq!(st.transport, transport.as_str());
    assert_eq!(st.state, "ESTABLISHED");
    let bound = cfg(1, 1, transport, None).idle_detection_bound().to_std();

    // B stops hearing anything from A: both sides must declare the association down within the bound.
    lab.nft(&lab.b, rule);
    let cut = Instant::now();
    let (ev, at) = next_state(&mut ra, bound + Duration::from_secs(2))
        .await
        .expect("a down");
    assert!(matches!(ev, IpcEvent::Down { .. }), "{ev:?}");
    let took = at - cut;
    // Slack for thread scheduling between the rule insertion and the driver's timers.
    assert!(
        took <= bound + Duration::from_millis(300),
        "down after {took:?}, bound {bound:?}"
    );
    assert!(
        next_state(&mut rb, bound + Duration::from_secs(2))
            .await
            .is_some()
    );
    assert!(!ha.is_up());

    lab.nft_clear(&lab.b);
    let healed = Instant::now();
    let (ev, at) = next_state(&mut ra, Duration::from_secs(10))
        .await
        .expect("a up again");
    assert_eq!(
        ev,
        IpcEvent::Up {
            peer_restarted: false
        }
    );
    assert!(
        at - healed <= Duration::from_millis(300 + 600 + 500),
        "up after {:?}",
        at - healed
    );
    assert!(next_state(&mut rb, Duration::from_secs(5)).await.is_some());
    hb.send(ClientId::INSPECT, MessageKind::INSPECT_SYNC, b"again".to_vec())
        .unwrap();
    assert_eq!(
        next_message(&mut ra, Duration::from_secs(5)).await.as_deref(),
        Some(&b"again"[..])
    );
    let st = ha.status_now().await.unwrap();
    assert_eq!((st.ups, st.downs), (2, 1));
    ha.shutdown();
    hb.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn raw_ip_up_drop_down_and_back() {
    if !can_run() {
        return;
    }
    drop_and_recover(TransportChoice::Raw, "raw", "ip protocol sctp drop").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn udp_up_drop_down_and_back() {
    if !can_run() {
        return;
    }
    drop_and_recover(TransportChoice::Udp, "udp", "udp dport 9899 drop").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auto_picks_raw_here() {
    if !can_run() {
        return;
    }
    if ipc::driver::kernel_sctp_available().is_ok() {
        eprintln!("SKIP: this kernel has SCTP; auto picks the kernel backend");
        return;
    }
    let lab = Lab::new("auto", 1);
    let [(ha, _ra), (hb, _rb)] = up_pair(&lab, 1, TransportChoice::Auto).await;
    assert_eq!(ha.status_now().await.unwrap().transport, "raw");
    ha.shutdown();
    hb.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn primary_pair_dropped_stays_up_on_second() {
    if !can_run() {
        return;
    }
    let lab = Lab::new("two", 2);
    let [(ha, mut ra), (hb, mut rb)] = up_pair(&lab, 2, TransportChoice::Raw).await;
    assert_eq!(
        ha.status_now().await.unwrap().primary_path,
        "10.77.0.1 -> 10.77.0.2"
    );
    // Everything arriving at B on the primary pair is dropped (both directions fail: A's data and B's
    // probe replies never make it).
    lab.nft(&lab.b, "ip daddr 10.77.0.2 drop");
    let cut = Instant::now();
    let limit = cfg(1, 2, TransportChoice::Raw, None)
        .idle_detection_bound()
        .to_std()
        * 3;
    let mut sent = 0u32;
    let mut got = 0u32;
    while cut.elapsed() < limit {
        if ha
            .send(
                ClientId::INSPECT,
                MessageKind::INSPECT_SYNC,
                sent.to_be_bytes().to_vec(),
            )
            .is_ok()
        {
            sent += 1;
        }
        while let Ok(ev) = rb.try_recv() {
            match ev {
                IpcEvent::Message { .. } => got += 1,
                other => panic!("B saw {other:?} while the second pair was healthy"),
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    while let Ok(ev) = ra.try_recv() {
        assert!(matches!(ev, IpcEvent::Message { .. }), "A saw {ev:?}");
    }
    let st = ha.status_now().await.unwrap();
    assert!(st.up);
    assert_eq!(st.primary_path, "10.77.1.1 -> 10.77.1.2");
    assert_eq!(st.paths[0].state, "FAILED");
    // Everything sent arrives (SCTP retransmits what was lost on the failed pair).
    let deadline = Instant::now() + Duration::from_secs(5);
    while got < sent && Instant::now() < deadline {
        if next_message(&mut rb, Duration::from_secs(1)).await.is_some() {
            got += 1;
        }
    }
    assert_eq!(got, sent);
    lab.nft_clear(&lab.b);
    let deadline = Instant::now() + Duration::from_secs(5);
    while ha.status_now().await.unwrap().primary_path != "10.77.0.1 -> 10.77.0.2" {
        assert!(Instant::now() < deadline, "primary pair not used again");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    ha.shutdown();
    hb.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_key_is_refused() {
    if !can_run() {
        return;
    }
    let lab = Lab::new("key", 1);
    let (ha, mut ra) = spawn_in(&lab.a, cfg(1, 1, TransportChoice::Raw, Some("right")));
    let (hb, mut rb) = spawn_in(&lab.b, cfg(2, 1, TransportChoice::Raw, Some("wrong")));
    assert!(
        next_state(&mut ra, Duration::from_secs(3)).await.is_none(),
        "A must not come up"
    );
    assert!(
        next_state(&mut rb, Duration::from_millis(100)).await.is_none(),
        "B must not come up"
    );
    assert!(hb.send(ClientId::RF, MessageKind::RF_CONTROL, vec![1]).is_err());
    let st = ha.status_now().await.unwrap();
    assert_eq!(st.state, "ESTABLISHED");
    assert!(!st.up);
    assert!(st.stats.drop_auth >= 1, "{:?}", st.stats);
    assert_eq!(st.stats.msgs_received, 0);
    ha.shutdown();
    hb.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn late_start_and_peer_restart() {
    if !can_run() {
        return;
    }
    let lab = Lab::new("rst", 1);
    // A starts alone and keeps trying; B comes later.
    let (ha, mut ra) = spawn_in(&lab.a, cfg(1, 1, TransportChoice::Raw, Some("k")));
    assert!(next_state(&mut ra, Duration::from_secs(2)).await.is_none());
    let st = ha.status();
    assert!(st.state == "CLOSED" || st.state == "COOKIE_WAIT", "{}", st.state);
    assert!(!st.up);
    let (hb, mut rb) = spawn_in(&lab.b, cfg(2, 1, TransportChoice::Raw, Some("k")));
    let started = Instant::now();
    let (ev, at) = next_state(&mut ra, Duration::from_secs(5)).await.expect("up");
    assert_eq!(
        ev,
        IpcEvent::Up {
            peer_restarted: false
        }
    );
    assert!(
        at - started <= Duration::from_millis(300 + 600 + 500),
        "{:?}",
        at - started
    );
    assert!(next_state(&mut rb, Duration::from_secs(5)).await.is_some());
    // B's daemon stops (ABORT): A goes down at once; a new B process is reported as a restarted peer.
    hb.shutdown();
    let (ev, _) = next_state(&mut ra, Duration::from_secs(2)).await.expect("down");
    assert!(matches!(ev, IpcEvent::Down { .. }), "{ev:?}");
    let (hb2, mut rb2) = spawn_in(&lab.b, cfg(2, 1, TransportChoice::Raw, Some("k")));
    let (ev, _) = next_state(&mut ra, Duration::from_secs(5))
        .await
        .expect("up again");
    assert_eq!(ev, IpcEvent::Up { peer_restarted: true });
    assert!(next_state(&mut rb2, Duration::from_secs(5)).await.is_some());
    hb2.send(ClientId::RF, MessageKind::RF_CONTROL, b"new b".to_vec())
        .unwrap();
    assert_eq!(
        next_message(&mut ra, Duration::from_secs(5)).await.as_deref(),
        Some(&b"new b"[..])
    );
    assert_eq!(ha.status_now().await.unwrap().restarts, 1);
    ha.shutdown();
    hb2.shutdown();
}
