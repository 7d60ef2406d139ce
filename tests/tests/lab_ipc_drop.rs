//! Fault matrix: the IPC path is dropped by nftables inside one router's namespace (SCTP over raw IP and its
//! UDP encapsulation, both directions). Redundancy communications go Down on both routers while HSRP is
//! unaffected (same Active, traffic keeps flowing); when the rule is removed the association comes back and
//! the standby resyncs on its own to STANDBY HOT with every session.

mod lab_support;

use std::time::{Duration, Instant};

use cli::lab::configs::TimerSet;
use cli::lab::probe::all_groups;
use cli::lab::topology::Router;
use lab_support::assert_all_flows_since;

const TABLE: &str = "iosha_lab_ipc_drop";

fn drop_ipc(lab: &cli::lab::pair::Lab, r: Router) {
    let script = format!(
        "table inet {TABLE} {{\n\
         chain in {{ type filter hook input priority -10; policy accept; ip protocol 132 drop; udp dport 9899 drop; udp sport 9899 drop; }}\n\
         chain out {{ type filter hook output priority -10; policy accept; ip protocol 132 drop; udp dport 9899 drop; udp sport 9899 drop; }}\n\
         }}\n"
    );
    let path = lab.topo.dir().join("ipc-drop.nft");
    std::fs::write(&path, script).expect("write the nft script");
    lab.topo
        .exec(r.short(), "nft", &["-f", &path.display().to_string()])
        .expect("nft -f");
}

fn restore_ipc(lab: &cli::lab::pair::Lab, r: Router) {
    lab.topo
        .exec(r.short(), "nft", &["delete", "table", "inet", TABLE])
        .expect("nft delete table");
}

fn bulk_syncs(lab: &mut cli::lab::pair::Lab, r: Router) -> Option<u64> {
    lab.show(r, "show ip inspect ha statistics")
        .ok()?
        .get("bulk_syncs")?
        .as_u64()
}

#[test]
fn ipc_loss_takes_communications_down_without_moving_hsrp_and_resyncs() {
    let Some(setup) = lab_support::setup("ipc", TimerSet::Fast) else {
        return;
    };
    let mut lab = lab_support::start(&setup);
    let active = lab_support::formed_with_traffic(&mut lab);
    let standby = active.peer();
    let syncs_before = bulk_syncs(&mut lab, standby);

    drop_ipc(&lab, standby);
    let dropped_at = Instant::now();
    let mut hsrp_moved = Vec::new();
    lab.poll(
        "communications Down on both routers",
        Duration::from_secs(30),
        Duration::from_millis(50),
        |lab| {
            let a = lab.view(active);
            let s = lab.view(standby);
            if !all_groups(&a.groups, "Active") {
                hsrp_moved.push(format!("active: {}", a.text()));
            }
            if s.groups.iter().any(|g| g.state == "Active") {
                hsrp_moved.push(format!("standby: {}", s.text()));
            }
            let down =
                |v: &cli::lab::pair::RouterView| v.rf.as_ref().is_some_and(|rf| rf.communications == "Down");
            if down(&a) && down(&s) {
                Ok(())
            } else {
                Err(format!("{active} {}, {standby} {}", a.text(), s.text()))
            }
        },
    )
    .expect("communications Down");
    eprintln!("communications Down after {:?}", dropped_at.elapsed());
    assert!(
        hsrp_moved.is_empty(),
        "HSRP changed while only IPC was cut: {hsrp_moved:?}"
    );
    assert!(lab.view(active).fully_active(), "the Active stays ACTIVE");
    assert_all_flows_since(&mut lab, Instant::now(), "flows while IPC is down");

    restore_ipc(&lab, standby);
    let d = lab.deadlines;
    let formed = lab
        .wait_pair(d.pair)
        .expect("the pair re-forms after IPC returns");
    assert_eq!(formed, active, "HSRP unaffected: the same router is Active");
    lab.wait_standby_sessions(standby, lab_support::TCP + lab_support::UDP + 1, d.sessions)
        .expect("the standby resyncs every session");
    let before = syncs_before.expect("bulk_syncs in show ip inspect ha statistics");
    let after = bulk_syncs(&mut lab, standby).expect("bulk_syncs after");
    assert!(
        after > before,
        "a new bulk sync ran after IPC returned ({before} -> {after})"
    );
    assert_all_flows_since(&mut lab, Instant::now(), "flows after IPC returns");
}
