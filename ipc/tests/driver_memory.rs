//! The driver API over the in-memory link (no network needed).
#![allow(clippy::unwrap_used)]
#![cfg(feature = "runtime")]

use std::net::IpAddr;
use std::time::Duration;

use ipc::driver::spawn_memory_pair;
use ipc::{AssociationConfig, ClientId, IpcEvent, MessageKind, SendError};
use tokio::sync::mpsc::Receiver;
use tokio::time::timeout;

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

async fn next_state(rx: &mut Receiver<IpcEvent>) -> IpcEvent {
    loop {
        let ev = timeout(Duration::from_secs(10), rx.recv())
            .await
            .expect("event in time")
            .expect("driver alive");
        if !matches!(ev, IpcEvent::Message { .. }) {
            return ev;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_pair_up_send_status_shutdown() {
    // Lenient timers: this test is about delivery and backpressure, and a debug build on a loaded machine
    // can stall a driver thread for a while.
    let a = AssociationConfig::new(5000, 5000, vec![ip("10.0.0.1")], vec![ip("10.0.0.2")])
        .unwrap()
        .with_retransmit_timeout(1000, 3000)
        .unwrap()
        .with_assoc_retransmit(10)
        .unwrap()
        .with_security_key(Some("k".into()))
        .unwrap();
    let b = AssociationConfig::new(5000, 5000, vec![ip("10.0.0.2")], vec![ip("10.0.0.1")])
        .unwrap()
        .with_retransmit_timeout(1000, 3000)
        .unwrap()
        .with_assoc_retransmit(10)
        .unwrap()
        .with_security_key(Some("k".into()))
        .unwrap();
    let ((ha, mut ra), (hb, mut rb)) = spawn_memory_pair(a, b).unwrap();
    assert_eq!(
        next_state(&mut ra).await,
        IpcEvent::Up {
            peer_restarted: false
        }
    );
    assert_eq!(
        next_state(&mut rb).await,
        IpcEvent::Up {
            peer_restarted: false
        }
    );
    for i in 0..1000u32 {
        loop {
            match ha.send(
                ClientId::INSPECT,
                MessageKind::INSPECT_SYNC,
                i.to_be_bytes().to_vec(),
            ) {
                Ok(()) => break,
                Err(SendError::QueueFull) => tokio::time::sleep(Duration::from_millis(1)).await,
                Err(e) => panic!("{e}"),
            }
        }
    }
    for i in 0..1000u32 {
        let ev = timeout(Duration::from_secs(10), rb.recv())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            ev,
            IpcEvent::Message {
                client: ClientId::INSPECT,
                kind: MessageKind::INSPECT_SYNC,
                payload: i.to_be_bytes().to_vec()
            }
        );
    }
    // Three times the 1 MiB send queue: accepted messages must all arrive (backpressure shows up
    // as QueueFull at the handle, never as a loss after acceptance).
    let count = 3_000u32;
    let sender = {
        let ha = ha.clone();
        tokio::spawn(async move {
            let mut refused = 0u64;
            for i in 0..count {
                let mut payload = vec![0u8; 1024];
                payload[..4].copy_from_slice(&i.to_be_bytes());
                loop {
                    match ha.send(ClientId::INSPECT, MessageKind::INSPECT_SYNC, payload.clone()) {
                        Ok(()) => break,
                        Err(SendError::QueueFull) => {
                            refused += 1;
                            tokio::time::sleep(Duration::from_micros(200)).await;
                        }
                        Err(e) => panic!("{e}"),
                    }
                }
            }
            refused
        })
    };
    for i in 0..count {
        match timeout(Duration::from_secs(20), rb.recv())
            .await
            .unwrap()
            .unwrap()
        {
            IpcEvent::Message { payload, .. } => assert_eq!(payload[..4], i.to_be_bytes()),
            other => panic!("{other:?}"),
        }
    }
    let refused = sender.await.unwrap();
    let st = ha.status_now().await.unwrap();
    assert_eq!(
        st.stats.per_kind["inspect-sync"].xerr, 0,
        "no accepted message was dropped"
    );
    assert_eq!(st.stats.per_kind["inspect-sync"].xmit, 1000 + u64::from(count));
    eprintln!("handle refused {refused} sends while the queue was full");
    assert_eq!(st.state, "ESTABLISHED");
    assert_eq!(st.transport, "memory");
    let json = serde_json::to_value(&st).unwrap();
    assert_eq!(json["state"], "ESTABLISHED");
    assert_eq!(json["rto_min_ms"], 1000);
    // Shutting A down aborts the association: B notices at once.
    ha.shutdown();
    assert!(matches!(next_state(&mut rb).await, IpcEvent::Down { .. }));
    assert_eq!(
        hb.send(ClientId::RF, MessageKind::RF_CONTROL, vec![1]),
        Err(SendError::NotConnected)
    );
    assert!(hb.status().stats.drop_not_up >= 1);
    hb.shutdown();
}
