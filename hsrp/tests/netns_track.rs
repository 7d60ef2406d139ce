//! Two real drivers in network namespaces on a bridge, with a host: r1 (priority 110) tracks object 1
//! (`Ethernet1/0` = its veth `e1`, line protocol) with `shutdown`, r2 (100) tracks nothing. When r1's `e1`
//! goes down, r1's group goes to Init (resigning) and r2 takes over; the host still reaches the VIP. When
//! `e1` comes back, r1 leaves Init and preempts back. A second object with a decrement shows in `tracked`.
//!
//! Needs root (CI and this machine run as root); skips with a message otherwise.

mod netns_support;

use std::sync::mpsc as smpsc;
use std::thread;
use std::time::Duration;

use hsrp::driver::HsrpDriver;
use hsrp::{GroupStatus, ObjectTrackConfig, TrackObjectConfig, TrackStatus};
use netns_support::*;

/// A driver with tracking objects on its own thread inside `ns`; answers status requests until dropped.
struct ObjectRouter {
    cmds: tokio::sync::mpsc::UnboundedSender<smpsc::Sender<(Vec<GroupStatus>, Vec<TrackStatus>)>>,
    thread: Option<thread::JoinHandle<()>>,
}

impl ObjectRouter {
    fn start(ns: &str, spec: hsrp::driver::DriverSpec, objects: Vec<TrackObjectConfig>) -> Self {
        let (tx, mut rx) =
            tokio::sync::mpsc::unbounded_channel::<smpsc::Sender<(Vec<GroupStatus>, Vec<TrackStatus>)>>();
        let (ready_tx, ready_rx) = smpsc::channel();
        let path = format!("/var/run/netns/{ns}");
        let thread = thread::spawn(move || {
            let f = std::fs::File::open(&path).expect("open netns");
            nix::sched::setns(f, nix::sched::CloneFlags::CLONE_NEWNET).expect("setns");
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async move {
                let h = match HsrpDriver::start_with_objects(spec, objects).await {
                    Ok(h) => h,
                    Err(e) => {
                        ready_tx.send(Err(e.to_string())).ok();
                        return;
                    }
                };
                ready_tx.send(Ok(())).ok();
                while let Some(reply) = rx.recv().await {
                    let groups = h.status().await.unwrap_or_default();
                    let objects = h.track_status().await.unwrap_or_default();
                    reply.send((groups, objects)).ok();
                }
                h.shutdown().await;
            });
        });
        ready_rx.recv().expect("driver thread").expect("driver start");
        Self {
            cmds: tx,
            thread: Some(thread),
        }
    }

    fn status(&self) -> (GroupStatus, Vec<TrackStatus>) {
        let (tx, rx) = smpsc::channel();
        self.cmds.send(tx).expect("driver alive");
        let (groups, objects) = rx.recv().expect("status");
        (groups.into_iter().next().expect("one group"), objects)
    }

    fn state(&self) -> String {
        self.status().0.state
    }
}

impl Drop for ObjectRouter {
    fn drop(&mut self) {
        let (tx, _) = tokio::sync::mpsc::unbounded_channel();
        // Closing the channel ends the loop; the driver shuts down cleanly.
        self.cmds = tx;
        if let Some(t) = self.thread.take() {
            t.join().ok();
        }
    }
}

#[test]
fn a_shutdown_object_moves_the_group_to_the_peer_and_back() {
    if !can_run() {
        eprintln!("SKIPPED: needs root and iproute2 to create network namespaces");
        return;
    }
    let (_ns, _br, r1, r2, h) = topology("trk");
    let mut s1 = spec(110, false);
    s1.interfaces[0].groups[0].track_objects = vec![
        ObjectTrackConfig {
            object: 1,
            decrement: 10,
            shutdown: true,
        },
        ObjectTrackConfig {
            object: 2,
            decrement: 5,
            shutdown: false,
        },
    ];
    let objects = vec![
        TrackObjectConfig {
            object: 1,
            interface: "Ethernet1/0".into(),
            delay_up_s: None,
            delay_down_s: None,
        },
        TrackObjectConfig {
            object: 2,
            interface: "Ethernet1/0".into(),
            delay_up_s: None,
            delay_down_s: None,
        },
    ];
    let a = ObjectRouter::start(&r1, s1, objects);
    let b = Router::start(&r2, spec(100, false));
    let limit = Duration::from_secs(10);

    wait_until("r1 Active and r2 Standby", limit, || {
        a.state() == "Active" && b.state() == "Standby"
    });
    let (st, objs) = a.status();
    assert_eq!(st.priority, 110);
    assert_eq!(
        st.tracked
            .iter()
            .map(|t| (t.object, t.interface.as_str(), t.up, t.shutdown))
            .collect::<Vec<_>>(),
        vec![
            (Some(1), "Ethernet1/0", true, true),
            (Some(2), "Ethernet1/0", true, false)
        ]
    );
    assert_eq!(objs.len(), 2);
    assert_eq!(objs[0].tracked_by, vec!["HSRP Ethernet0/0 1".to_string()]);
    wait_until("ping to the VIP", limit, || ping(&h));

    // The tracked link goes down: r1 goes to Init (Resign), r2 takes over at once.
    ok(&["ip", "-n", &r1, "link", "set", "e1", "down"]);
    let took = wait_until("r2 Active after r1's object went down", limit, || {
        b.state() == "Active"
    });
    let (st, objs) = a.status();
    assert_eq!(
        (st.state.as_str(), st.state_detail.as_deref()),
        ("Init", Some("tracking shutdown"))
    );
    assert_eq!(
        st.priority, 105,
        "object 2 still decrements while the group is shut"
    );
    assert_eq!(objs[0].state, "Down");
    assert!(
        took < Duration::from_millis(u64::from(HOLD_MS)) + Duration::from_secs(1),
        "{took:?}"
    );
    assert_eq!(vmac_devices(&r1), 0, "the virtual MAC left r1");
    wait_until("ping to the VIP through r2", limit, || ping(&h));

    // Back up: r1 leaves Init and preempts (110 > 100).
    ok(&["ip", "-n", &r1, "link", "set", "e1", "up"]);
    wait_until("r1 Active again", limit, || {
        a.state() == "Active" && b.state() == "Standby"
    });
    assert_eq!(a.status().1[0].changes, 3);
    wait_until("ping to the VIP through r1", limit, || ping(&h));
}
