//! Bundling of queued messages: in virtual time on the sans-IO core, and through the driver over the
//! in-memory link.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::net::IpAddr;

use ipc::sim::{Side, SimPair};
use ipc::{AssociationConfig, ClientId, IpcEvent, MessageKind};
use timebase::Duration;

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn cfgs(key: Option<&str>, bundle: usize) -> (AssociationConfig, AssociationConfig) {
    let mk = |l: &str, r: &str| {
        AssociationConfig::new(5000, 5000, vec![ip(l)], vec![ip(r)])
            .unwrap()
            .with_security_key(key.map(str::to_string))
            .unwrap()
            .with_bundle_bytes(bundle)
            .unwrap()
    };
    (mk("10.0.0.1", "10.0.0.2"), mk("10.0.0.2", "10.0.0.1"))
}

fn up_pair(key: Option<&str>, bundle: usize, seed: u64) -> SimPair {
    let (a, b) = cfgs(key, bundle);
    let mut pair = SimPair::new(a, b, seed);
    pair.start(Side::A, 11);
    pair.start(Side::B, 22);
    for side in [Side::A, Side::B] {
        pair.run_until_event(Duration::from_secs(5), |s, e| {
            s == side && matches!(e, IpcEvent::Up { .. })
        });
    }
    assert!(pair.a.as_ref().unwrap().is_up() && pair.b.as_ref().unwrap().is_up());
    pair
}

/// Messages for three clients on the three streams, each numbered per client, sizes varying.
fn workload(n: u32) -> Vec<(ClientId, MessageKind, Vec<u8>)> {
    let clients = [
        (ClientId::INSPECT, MessageKind::INSPECT_SYNC),
        (ClientId::RF, MessageKind::RF_CONTROL),
        (ClientId(7), MessageKind::INSPECT_BULK),
    ];
    let mut next = [0u32; 3];
    (0..n)
        .map(|i| {
            let c = (i % 7 % 3) as usize;
            let mut payload = next[c].to_be_bytes().to_vec();
            payload.resize(4 + (i as usize * 37) % 900, c as u8);
            next[c] += 1;
            (clients[c].0, clients[c].1, payload)
        })
        .collect()
}

/// Every client's messages arrived complete and in order.
fn assert_in_order(got: &[(ClientId, MessageKind, Vec<u8>)], sent: &[(ClientId, MessageKind, Vec<u8>)]) {
    let per_client = |v: &[(ClientId, MessageKind, Vec<u8>)]| {
        let mut m: BTreeMap<u16, Vec<(MessageKind, Vec<u8>)>> = BTreeMap::new();
        for (c, k, p) in v {
            m.entry(c.0).or_default().push((*k, p.clone()));
        }
        m
    };
    assert_eq!(got.len(), sent.len());
    assert_eq!(per_client(got), per_client(sent));
}

#[test]
fn queued_messages_are_bundled_and_delivered_complete_in_order() {
    for key in [None, Some("k")] {
        let mut pair = up_pair(key, 16 * 1024, 5);
        let packets_before = pair.link.stats.sent;
        let sent = workload(3000);
        for chunk in sent.chunks(500) {
            let r = pair.send_batch(Side::A, chunk.to_vec());
            assert!(r.iter().all(Result::is_ok));
            pair.run_for(Duration::from_millis(50));
        }
        pair.run_for(Duration::from_secs(1));
        assert_in_order(&pair.messages_at(Side::B), &sent);
        let a = pair.a.as_ref().unwrap().stats().clone();
        let b = pair.b.as_ref().unwrap().stats().clone();
        assert_eq!(a.msgs_sent, 3000);
        assert_eq!(b.msgs_received, 3000);
        assert_eq!(b.drops_total(), 0);
        // 500-message batches (about 230 KB each) over three streams: bundles of up to 16 KiB carry
        // tens of messages each, not one message per SCTP user message.
        assert!(
            a.bundles_sent >= 18 && a.bundles_sent <= 150,
            "{} bundles",
            a.bundles_sent
        );
        assert_eq!(b.bundles_received, a.bundles_sent);
        let packets = pair.link.stats.sent - packets_before;

        // The same load unbundled: every message its own SCTP user message, and more packets (each
        // carries a 16-byte DATA chunk header and a 20-byte envelope header per message).
        let mut plain = up_pair(key, 0, 5);
        let before = plain.link.stats.sent;
        for chunk in sent.chunks(500) {
            plain.send_batch(Side::A, chunk.to_vec());
            plain.run_for(Duration::from_millis(50));
        }
        plain.run_for(Duration::from_secs(1));
        assert_in_order(&plain.messages_at(Side::B), &sent);
        assert_eq!(plain.a.as_ref().unwrap().stats().bundles_sent, 0);
        assert!(
            plain.link.stats.sent - before > packets,
            "{} packets unbundled vs {packets} bundled",
            plain.link.stats.sent - before
        );
    }
}

#[test]
fn a_lone_message_goes_out_at_once_as_a_plain_envelope() {
    let mut pair = up_pair(Some("k"), 16 * 1024, 9);
    pair.run_for(Duration::from_millis(100));
    let t0 = pair.now;
    let before = pair.link.stats.sent;
    pair.send(Side::A, ClientId::RF, MessageKind::RF_CONTROL, b"alone".to_vec())
        .unwrap();
    // Handed to the link in the same instant: nothing waits for company.
    assert_eq!(pair.link.stats.sent, before + 1);
    assert_eq!(pair.now, t0);
    pair.run_for(Duration::from_millis(5));
    assert_eq!(
        pair.messages_at(Side::B),
        vec![(ClientId::RF, MessageKind::RF_CONTROL, b"alone".to_vec())]
    );
    assert_eq!(pair.a.as_ref().unwrap().stats().bundles_sent, 0);
    assert_eq!(pair.b.as_ref().unwrap().stats().bundles_received, 0);
    // Two messages of different streams in one turn are not bundled together either.
    pair.send_batch(
        Side::A,
        vec![
            (ClientId::RF, MessageKind::RF_CONTROL, b"r".to_vec()),
            (ClientId::INSPECT, MessageKind::INSPECT_SYNC, b"i".to_vec()),
        ],
    );
    pair.run_for(Duration::from_millis(5));
    assert_eq!(pair.messages_at(Side::B).len(), 3);
    assert_eq!(pair.a.as_ref().unwrap().stats().bundles_sent, 0);
}

#[test]
fn bundles_survive_loss_and_reordering() {
    for seed in 1..6 {
        let mut pair = up_pair(Some("k"), 4096, seed);
        pair.link.faults.loss = 0.05;
        pair.link.faults.jitter = Duration::from_micros(300);
        let sent = workload(1500);
        for chunk in sent.chunks(300) {
            assert!(pair.send_batch(Side::A, chunk.to_vec()).iter().all(Result::is_ok));
            pair.run_for(Duration::from_millis(100));
        }
        pair.run_for(Duration::from_secs(5));
        assert_in_order(&pair.messages_at(Side::B), &sent);
        assert!(pair.a.as_ref().unwrap().stats().bundles_sent > 0);
    }
}

#[cfg(feature = "runtime")]
mod driver {
    use std::time::Duration as StdDuration;

    use ipc::driver::spawn_memory_pair;
    use ipc::{ClientId, IpcEvent, MessageKind, SendError};
    use tokio::time::timeout;

    use super::cfgs;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn driver_bundles_under_load_and_sends_a_lone_message_alone() {
        let (a, b) = cfgs(Some("k"), 16 * 1024);
        let lenient = |c: ipc::AssociationConfig| {
            c.with_retransmit_timeout(1000, 3000)
                .unwrap()
                .with_assoc_retransmit(10)
                .unwrap()
        };
        let ((ha, mut ra), (hb, mut rb)) = spawn_memory_pair(lenient(a), lenient(b)).unwrap();
        for rx in [&mut ra, &mut rb] {
            loop {
                match timeout(StdDuration::from_secs(10), rx.recv())
                    .await
                    .unwrap()
                    .unwrap()
                {
                    IpcEvent::Up { .. } => break,
                    IpcEvent::Message { .. } => {}
                    other => panic!("{other:?}"),
                }
            }
        }
        // A burst far faster than one driver turn per message: the driver finds many queued.
        const N: u32 = 20_000;
        let sender = {
            let ha = ha.clone();
            tokio::spawn(async move {
                let mut i = 0u32;
                while i < N {
                    match ha.send(
                        ClientId::INSPECT,
                        MessageKind::INSPECT_SYNC,
                        i.to_be_bytes().to_vec(),
                    ) {
                        Ok(()) => i += 1,
                        Err(SendError::QueueFull) => tokio::time::sleep(StdDuration::from_millis(1)).await,
                        Err(e) => panic!("{e}"),
                    }
                }
            })
        };
        for i in 0..N {
            match timeout(StdDuration::from_secs(20), rb.recv())
                .await
                .unwrap()
                .unwrap()
            {
                IpcEvent::Message { payload, .. } => assert_eq!(payload, i.to_be_bytes()),
                other => panic!("{other:?}"),
            }
        }
        sender.await.unwrap();
        let sa = ha.status_now().await.unwrap().stats;
        let sb = hb.status_now().await.unwrap().stats;
        assert_eq!(sa.msgs_sent, u64::from(N));
        assert!(sa.bundles_sent > 0, "no bundle formed under load");
        assert!(sa.bundles_sent < u64::from(N) / 2);
        assert_eq!(sb.bundles_received, sa.bundles_sent);
        // Idle again: one message goes out by itself.
        ha.send(ClientId::RF, MessageKind::RF_CONTROL, b"alone".to_vec())
            .unwrap();
        match timeout(StdDuration::from_secs(10), rb.recv())
            .await
            .unwrap()
            .unwrap()
        {
            IpcEvent::Message { payload, .. } => assert_eq!(payload, b"alone"),
            other => panic!("{other:?}"),
        }
        let after = ha.status_now().await.unwrap().stats;
        assert_eq!(after.msgs_sent, sa.msgs_sent + 1);
        assert_eq!(after.bundles_sent, sa.bundles_sent);
        ha.shutdown();
        hb.shutdown();
    }
}
