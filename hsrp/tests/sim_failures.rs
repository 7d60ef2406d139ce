//! Simulated routers: failures, resign, learned and millisecond timers, authentication, loss, version 2,
//! bad input, and the `show standby` renderings.

mod common;

use std::net::Ipv4Addr;

use common::*;
use hsrp::packet::{Md5Tlv, Opcode, Packet, V1Packet, auth_field, sign};
use hsrp::{Action, AuthConfig, GroupConfig, State, Version};

const E0: &str = "Ethernet0/0";
const E1: &str = "Ethernet1/0";

fn started_pair(g1: GroupConfig, g2: GroupConfig) -> Lab {
    let mut lab = Lab::new();
    lab.add("r1", vec![iface(E0, 0, 1, vec![g1])]);
    lab.add("r2", vec![iface(E0, 0, 2, vec![g2])]);
    lab.start(0);
    lab.start(1);
    lab.run_for(secs(40));
    lab
}

#[test]
fn graceful_shutdown_resigns_and_standby_takes_over_at_once() {
    let mut lab = started_pair(group(1, 110, [10, 0, 0, 3]), group(1, 100, [10, 0, 0, 3]));
    assert_eq!(lab.actives(E0, 1), vec![0]);
    let t0 = lab.now;
    lab.shutdown(0);
    lab.run_for(ms(10));
    assert_eq!(lab.actives(E0, 1), vec![1]);
    assert_eq!(
        lab.became(1, 1, State::Active, t0).unwrap() - t0,
        LATENCY,
        "Resign handled on arrival"
    );
    assert_eq!(lab.group_status(0, E0, 1).counters.resigns_out, 1);
    assert_eq!(lab.group_status(1, E0, 1).counters.resigns_in, 1);
    assert_eq!(
        lab.count_actions(0, |a| matches!(a, Action::RemoveVirtual { .. })),
        1
    );
    assert_eq!(
        lab.count_actions(1, |a| matches!(a, Action::GratuitousArp { count: 3, .. })),
        1
    );
}

#[test]
fn link_down_on_the_active_moves_the_group_after_the_hold_time() {
    let mut lab = started_pair(group(1, 110, [10, 0, 0, 3]), group(1, 100, [10, 0, 0, 3]));
    let last = lab.now;
    lab.link(0, E0, false);
    assert_eq!(lab.state(0, E0, 1), State::Init);
    assert_eq!(
        lab.count_actions(0, |a| matches!(a, Action::RemoveVirtual { .. })),
        1
    );
    lab.run_for(secs(12));
    assert_eq!(lab.actives(E0, 1), vec![1]);
    assert!(lab.became(1, 1, State::Active, last).unwrap() - last <= secs(10));
    lab.link(0, E0, true);
    lab.run_for(secs(40));
    assert_eq!(lab.actives(E0, 1), vec![1], "no preempt configured");
    assert_eq!(lab.state(0, E0, 1), State::Standby);
}

#[test]
fn power_off_standby_takes_over_within_hold_time() {
    let mut lab = started_pair(group(1, 110, [10, 0, 0, 3]), group(1, 100, [10, 0, 0, 3]));
    lab.power_off(0);
    let last_hello = lab.last_send(0).unwrap();
    lab.run_for(secs(15));
    let became = lab.became(1, 1, State::Active, last_hello).unwrap();
    assert!(
        became - last_hello <= secs(10) + LATENCY,
        "{:?}",
        became - last_hello
    );
}

#[test]
fn learned_timers_and_virtual_ip() {
    let mut g2 = GroupConfig::new(1, Version::V1);
    g2.priority = 100;
    let lab = started_pair(timers(group(1, 110, [10, 0, 0, 3]), 1000, 4000), g2);
    let st = lab.group_status(1, E0, 1);
    assert_eq!(st.state, "Standby");
    assert_eq!(
        (st.hello_ms, st.hold_ms, st.timers_configured),
        (1000, 4000, false)
    );
    assert_eq!(st.virtual_ip, Some(Ipv4Addr::new(10, 0, 0, 3)));
    // The learner started in Learn (no VIP configured).
    assert!(
        lab.routers[1]
            .actions
            .iter()
            .any(|(_, a)| matches!(a, Action::StateChanged { to: State::Learn, .. }))
    );
}

#[test]
fn msec_timers_fail_over_within_hold() {
    let mut lab = started_pair(
        timers(group(1, 110, [10, 0, 0, 3]), 50, 150),
        timers(group(1, 100, [10, 0, 0, 3]), 50, 150),
    );
    assert_eq!(lab.actives(E0, 1), vec![0]);
    assert!(hsrp::render_standby(&lab.status(0)).contains("Hello time 50 msec, hold time 150 msec"));
    for _ in 0..5 {
        let active = lab.actives(E0, 1)[0];
        let other = 1 - active;
        lab.power_off(active);
        let last = lab.last_send(active).unwrap();
        lab.run_for(ms(400));
        let became = lab.became(other, 1, State::Active, last).unwrap();
        assert!(became - last <= ms(151), "{:?}", became - last);
        lab.start(active);
        lab.run_for(secs(2));
        assert_eq!(lab.actives(E0, 1).len(), 1);
    }
}

#[test]
fn text_auth_mismatch_is_ignored_and_counted() {
    let mut g2 = group(1, 100, [10, 0, 0, 3]);
    g2.auth = AuthConfig::Text("other".into());
    let lab = started_pair(group(1, 110, [10, 0, 0, 3]), g2);
    // They cannot hear each other: both end up Active, and each counts the other's packets.
    assert_eq!(lab.actives(E0, 1), vec![0, 1]);
    assert!(lab.group_status(0, E0, 1).counters.auth_failures > 5);
    assert!(lab.group_status(1, E0, 1).counters.auth_failures > 5);
    assert_eq!(lab.group_status(1, E0, 1).counters.hellos_in, 0);
}

#[test]
fn md5_pair_works_and_wrong_key_or_spoofed_coup_changes_nothing() {
    let mut lab = started_pair(
        md5(group(1, 110, [10, 0, 0, 3]), "k1"),
        md5(group(1, 100, [10, 0, 0, 3]), "k1"),
    );
    assert_eq!(lab.actives(E0, 1), vec![0]);
    assert_eq!(lab.state(1, E0, 1), State::Standby);
    assert_eq!(lab.group_status(0, E0, 1).counters.auth_failures, 0);
    assert_eq!(lab.group_status(0, E0, 1).authentication, "md5");

    // An attacker's priority-255 Coup, signed with the wrong key (and one with no MD5 at all).
    let mut coup = Packet::V1(V1Packet {
        opcode: Opcode::COUP,
        state: State::Speak.v1(),
        hellotime: 3,
        holdtime: 10,
        priority: 255,
        group: 1,
        reserved: 0,
        auth_data: [0; 8],
        virtual_ip: Ipv4Addr::new(10, 0, 0, 3),
        md5: Some(Md5Tlv::unsigned(Ipv4Addr::new(10, 0, 0, 66), 0)),
    });
    sign(&mut coup, b"guess");
    let changes = lab.group_status(0, E0, 1).state_changes;
    lab.inject(0, E0, Ipv4Addr::new(10, 0, 0, 66), 1, &coup.encode());
    if let Packet::V1(v) = &mut coup {
        v.md5 = None;
        v.auth_data = auth_field("cisco");
    }
    lab.inject(0, E0, Ipv4Addr::new(10, 0, 0, 66), 1, &coup.encode());
    lab.run_for(secs(5));
    assert_eq!(lab.state(0, E0, 1), State::Active);
    let st = lab.group_status(0, E0, 1);
    assert_eq!(st.state_changes, changes);
    assert_eq!(st.counters.auth_failures, 2);
    assert_eq!(st.counters.coups_in, 0);
    assert!(lab.routers[0].actions.iter().any(|(_, a)| matches!(
        a,
        Action::Dropped {
            reason: hsrp::DropReason::AuthFailure,
            ..
        }
    )));

    // Wrong key on the peer: ignored.
    let lab = started_pair(
        md5(group(1, 110, [10, 0, 0, 3]), "k1"),
        md5(group(1, 100, [10, 0, 0, 3]), "k2"),
    );
    assert_eq!(lab.actives(E0, 1), vec![0, 1]);
    assert!(lab.group_status(1, E0, 1).counters.auth_failures > 5);
}

#[test]
fn version2_md5_pair() {
    let v2md5 = |p: u8, key: &str| {
        let mut g = md5(group(300, p, [10, 0, 0, 3]), key);
        g.version = Version::V2;
        g
    };
    let lab = started_pair(v2md5(110, "s3cret"), v2md5(100, "s3cret"));
    assert_eq!(lab.actives(E0, 300), vec![0]);
    assert_eq!(lab.state(1, E0, 300), State::Standby);
    assert_eq!(lab.group_status(1, E0, 300).counters.auth_failures, 0);
    let lab = started_pair(v2md5(110, "s3cret"), v2md5(100, "other"));
    assert_eq!(lab.actives(E0, 300), vec![0, 1]);
    assert!(lab.group_status(0, E0, 300).counters.auth_failures > 5);
}

#[test]
fn partition_heals_to_one_active_within_a_hello() {
    let mut lab = started_pair(group(1, 110, [10, 0, 0, 3]), group(1, 100, [10, 0, 0, 3]));
    lab.partitioned = true;
    lab.run_for(secs(30));
    assert_eq!(lab.actives(E0, 1), vec![0, 1], "split brain while partitioned");
    let t0 = lab.now;
    lab.partitioned = false;
    lab.run_for(secs(4));
    assert_eq!(lab.actives(E0, 1), vec![0]);
    assert!(lab.became(1, 1, State::Speak, t0).unwrap() - t0 <= secs(3) + LATENCY);
    lab.run_for(secs(30));
    assert_eq!(lab.state(1, E0, 1), State::Standby);
    assert_eq!(lab.group_status(1, E0, 1).active_router, "10.0.0.1");
    assert_eq!(lab.group_status(0, E0, 1).active_router, "local");
}

#[test]
fn converges_with_packet_loss() {
    let mut lab = Lab::new();
    lab.loss_pct = 10;
    lab.add(
        "r1",
        vec![iface(
            E0,
            0,
            1,
            vec![preempt(group(1, 110, [10, 0, 0, 3]), 0, None, None)],
        )],
    );
    lab.add("r2", vec![iface(E0, 0, 2, vec![group(1, 100, [10, 0, 0, 3])])]);
    lab.start(0);
    lab.start(1);
    lab.run_for(secs(600));
    assert_eq!(lab.actives(E0, 1), vec![0]);
    assert_eq!(lab.state(1, E0, 1), State::Standby);
}

#[test]
fn version2_several_groups_and_interfaces_secondary_vips_and_mac_options() {
    let v2 = |n: u16, p: u8, vip: [u8; 4]| {
        let mut g = group(n, p, vip);
        g.version = Version::V2;
        g
    };
    let mut r1_g2 = v2(4000, 110, [10, 1, 0, 3]);
    r1_g2.secondary_ips = vec![Ipv4Addr::new(10, 1, 0, 4)];
    let mut r1_g3 = group(3, 90, [10, 0, 0, 5]);
    r1_g3.mac_address = Some([0x02, 0xaa, 0, 0, 0, 3]);
    let mut lab = Lab::new();
    lab.add(
        "r1",
        vec![
            iface(E0, 0, 1, vec![group(1, 110, [10, 0, 0, 3]), r1_g3]),
            iface(E1, 1, 1, vec![r1_g2]),
        ],
    );
    let mut r2_g1 = group(1, 100, [10, 0, 0, 3]);
    r2_g1.use_bia = true;
    lab.add(
        "r2",
        vec![
            iface(E0, 0, 2, vec![r2_g1, group(3, 100, [10, 0, 0, 5])]),
            iface(E1, 1, 2, vec![v2(4000, 100, [10, 1, 0, 3])]),
        ],
    );
    lab.start(0);
    lab.start(1);
    lab.run_for(secs(40));
    assert_eq!(lab.actives(E0, 1), vec![0]);
    assert_eq!(lab.actives(E0, 3), vec![1]);
    assert_eq!(lab.actives(E1, 4000), vec![0]);
    let st = lab.group_status(0, E1, 4000);
    assert_eq!((st.version, st.virtual_mac.as_str()), (2, "0000.0c9f.ffa0"));
    assert_eq!(st.standby_router, "10.1.0.2");
    let installs: Vec<_> = lab.routers[0]
        .actions
        .iter()
        .filter_map(|(_, a)| match a {
            Action::InstallVirtual {
                iface,
                group,
                vips,
                vmac,
            } => Some((iface.clone(), *group, vips.clone(), *vmac)),
            _ => None,
        })
        .collect();
    assert!(installs.contains(&(
        E1.to_owned(),
        4000,
        vec![Ipv4Addr::new(10, 1, 0, 3), Ipv4Addr::new(10, 1, 0, 4)],
        [0, 0, 0x0c, 0x9f, 0xff, 0xa0]
    )));
    assert_eq!(lab.group_status(0, E0, 3).virtual_mac, "02aa.0000.0003");
    assert_eq!(
        lab.group_status(1, E0, 1).virtual_mac,
        "0200.0000.0002",
        "use-bia"
    );
    // v2 hellos go out as v2.
    assert!(
        lab.routers[0]
            .actions
            .iter()
            .any(|(_, a)| matches!(a, Action::Send { version: Version::V2, iface, .. } if iface == E1))
    );
}

#[test]
fn bad_packets_are_counted_and_change_nothing() {
    let mut lab = started_pair(group(1, 110, [10, 0, 0, 3]), group(1, 100, [10, 0, 0, 3]));
    let before = lab.group_status(1, E0, 1);
    let mut hello = lab.routers[1].speaker.status(lab.now); // keep borrowck simple
    hello.clear();
    let good = Packet::V1(V1Packet {
        opcode: Opcode::HELLO,
        state: State::Active.v1(),
        hellotime: 3,
        holdtime: 10,
        priority: 255,
        group: 1,
        reserved: 0,
        auth_data: auth_field("cisco"),
        virtual_ip: Ipv4Addr::new(10, 0, 0, 3),
        md5: None,
    });
    let bytes = good.encode();
    let peer = Ipv4Addr::new(10, 0, 0, 9);
    lab.inject(1, E0, peer, 2, &bytes); // TTL 2
    lab.inject(1, E0, Ipv4Addr::new(10, 0, 0, 2), 1, &bytes); // our own address
    lab.inject(1, E0, peer, 1, &bytes[..13]); // truncated
    let mut unknown_op = bytes.clone();
    unknown_op[1] = 7;
    lab.inject(1, E0, peer, 1, &unknown_op);
    let mut unknown_state = bytes.clone();
    unknown_state[2] = 3;
    lab.inject(1, E0, peer, 1, &unknown_state);
    lab.inject(1, E0, peer, 1, &[0, 3, 0, 1, 0, 10, 2, 0, 0, 1, 0, 0, 0, 0, 0, 0]); // advertise
    let mut other_group = bytes.clone();
    other_group[6] = 77;
    lab.inject(1, E0, peer, 1, &other_group);
    lab.inject(1, "eth9", peer, 1, &bytes);
    let after = lab.group_status(1, E0, 1);
    assert_eq!(after.state, before.state);
    assert_eq!(after.state_changes, before.state_changes);
    assert_eq!(after.active_router, "10.0.0.1");
    let c = after.counters;
    assert_eq!(
        (
            c.bad_ttl,
            c.from_self,
            c.malformed,
            c.unknown_opcode,
            c.unknown_state
        ),
        (1, 1, 1, 1, 1)
    );
    let sc = lab.routers[1].speaker.counters();
    assert_eq!(
        (sc.advertise_in, sc.no_group, sc.malformed, sc.unknown_interface),
        (1, 1, 1, 1)
    );
    // A valid higher-priority Active hello does move it (the control case).
    lab.inject(1, E0, peer, 1, &bytes);
    assert_eq!(lab.group_status(1, E0, 1).active_router, "10.0.0.9");
}

#[test]
fn show_standby_golden() {
    let mut g1 = track(preempt(group(1, 110, [10, 0, 0, 3]), 60, Some(90), None), E1, 10);
    g1.name = Some("HAin".into());
    g1.timers = Some(hsrp::TimersConfig {
        hello_ms: 1000,
        hold_ms: 10000,
    });
    let mut g2 = preempt(group(1, 100, [10, 0, 0, 3]), 0, None, None);
    g2.name = Some("HAin".into());
    g2.timers = g1.timers;
    let mut lab = Lab::new();
    lab.add("r1", vec![iface(E0, 0, 1, vec![g1])]);
    lab.add("r2", vec![iface(E0, 0, 2, vec![g2])]);
    lab.start(0);
    lab.start(1);
    lab.run_for(secs(40) + ms(1234));
    let text = format!(
        "== r1 show standby\n{}== r2 show standby\n{}== r1 show standby brief\n{}== r2 show standby brief\n{}",
        hsrp::render_standby(&lab.status(0)),
        hsrp::render_standby(&lab.status(1)),
        hsrp::render_standby_brief(&lab.status(0)),
        hsrp::render_standby_brief(&lab.status(1)),
    );
    assert_eq!(hsrp::select(&lab.status(0), "et0/0", Some(1)).len(), 1);
    assert_eq!(hsrp::select(&lab.status(0), "Ethernet0/0", None).len(), 1);
    assert!(hsrp::select(&lab.status(0), "Ethernet0/0", Some(2)).is_empty());
    let json = serde_json::to_string_pretty(&lab.status(0)).unwrap();
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/snapshots/show_standby.txt");
    let jpath = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/snapshots/show_standby.json");
    if std::env::var_os("HSRP_UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(path, &text).unwrap();
        std::fs::write(jpath, &json).unwrap();
    }
    assert_eq!(
        text,
        std::fs::read_to_string(path).expect("run with HSRP_UPDATE_SNAPSHOTS=1")
    );
    assert_eq!(
        json,
        std::fs::read_to_string(jpath).expect("run with HSRP_UPDATE_SNAPSHOTS=1")
    );
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    for key in [
        "interface",
        "group",
        "version",
        "name",
        "state",
        "priority",
        "configured_priority",
        "preempt",
        "virtual_ip",
        "virtual_mac",
        "active_router",
        "standby_router",
        "hello_ms",
        "hold_ms",
        "state_changes",
        "tracked",
        "counters",
        "preempt_hold",
    ] {
        assert!(v[0].get(key).is_some(), "missing {key}");
    }
}

#[test]
fn requested_resign_hands_over_at_once_and_does_not_preempt_back_for_a_hold_time() {
    let g = |prio| {
        let mut g = preempt(group(1, prio, [10, 0, 0, 3]), 0, None, None);
        g.name = Some("HAin".into());
        g
    };
    let mut lab = started_pair(g(110), g(100));
    assert_eq!(lab.actives(E0, 1), vec![0]);
    let by_name = hsrp::GroupSelector::Name("HAin".into());
    assert_eq!(lab.resign(1, &by_name), 0, "the Standby has nothing to resign");
    assert_eq!(lab.resign(0, &hsrp::GroupSelector::Name("other".into())), 0);
    let t0 = lab.now;
    assert_eq!(lab.resign(0, &by_name), 1);
    assert_eq!(lab.state(0, E0, 1), State::Speak);
    assert_eq!(lab.group_status(0, E0, 1).counters.resigns_out, 1);
    assert_eq!(
        lab.count_actions(0, |a| matches!(a, Action::RemoveVirtual { .. })),
        1
    );
    lab.run_for(ms(10));
    assert_eq!(lab.actives(E0, 1), vec![1]);
    assert_eq!(
        lab.became(1, 1, State::Active, t0).unwrap() - t0,
        LATENCY,
        "Resign handled on arrival"
    );
    // Higher priority and preempt, but no Coup back within one hold time (10 s).
    lab.run_for(secs(9));
    assert_eq!(lab.actives(E0, 1), vec![1]);
    assert_eq!(lab.state(0, E0, 1), State::Speak);
    assert_eq!(lab.group_status(0, E0, 1).counters.coups_out, 0);
    // A redundancy hold set meanwhile keeps it from preempting after that time too; it becomes Standby
    // when its Standby timer runs out.
    lab.hold(0, &by_name, Some("SSO state INITIALIZATION"));
    lab.run_for(secs(30));
    assert_eq!(lab.actives(E0, 1), vec![1]);
    assert_eq!(lab.state(0, E0, 1), State::Standby);
    // Without any hold, plain HSRP preemption applies again (priority 110 > 100).
    lab.hold(0, &by_name, None);
    lab.run_for(secs(1));
    assert_eq!(lab.actives(E0, 1), vec![0]);
}

#[test]
fn a_frozen_active_steps_down_when_it_thaws_instead_of_taking_the_group_back() {
    // Equal priorities with preempt (the seed's setup): r2 has the higher address and wins the election.
    let g = || preempt(group(1, 100, [10, 0, 0, 3]), 0, None, None);
    let mut lab = started_pair(g(), g());
    assert_eq!(lab.actives(E0, 1), vec![1]);
    // SIGSTOP: r2 is no longer driven at all; r1 takes over after the hold time.
    lab.power_off(1);
    lab.run_for(secs(15));
    assert_eq!(lab.actives(E0, 1), vec![0]);
    // SIGCONT: the same r2 speaker runs again, its timers long overdue. It must not reclaim the group
    // (equal priority, higher address) with the state it had before the freeze.
    let thawed = lab.now;
    lab.thaw(1);
    lab.run_for(secs(1));
    assert_eq!(
        lab.actives(E0, 1),
        vec![0],
        "the router that kept running stays Active"
    );
    assert_eq!(lab.group_status(1, E0, 1).counters.resigns_out, 1);
    assert!(lab.count_actions(1, |a| matches!(a, Action::RemoveVirtual { .. })) >= 1);
    lab.run_for(secs(30));
    assert_eq!(lab.actives(E0, 1), vec![0]);
    assert_eq!(lab.state(1, E0, 1), State::Standby);
    assert!(
        lab.became(0, 1, State::Active, thawed).is_none(),
        "r1 never left Active"
    );
}
