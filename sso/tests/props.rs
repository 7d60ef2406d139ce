//! Property tests: the codec round-trips, arbitrary bytes never panic the decoder, and random input
//! sequences never panic the manager nor break its invariants.
#![allow(clippy::unwrap_used)] // test code: a panic is a test failure

use proptest::prelude::*;
use sso::render;
use sso::wire::{Body, Message, StateMsg};
use sso::{
    Action, ClientId, ClientReport, Digest, Direction, HaConfigSummary, HaInterface, HsrpRole, Manager,
    OtherHsrpState, RfState, SsoConfig,
};
use timebase::{Duration, Instant};

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Z0-9/ ._-]{0,24}",
        // Multi-byte text up to the 255-byte limit.
        "[éa-z]{0,120}".prop_filter("fits in 255 bytes", |s| s.len() <= 255),
    ]
}

fn summary() -> impl Strategy<Value = HaConfigSummary> {
    let iface = (
        text(),
        any::<bool>(),
        text(),
        prop::collection::vec(text(), 0..4),
        prop::option::of(text()),
    )
        .prop_map(|(name, out, rule, protocols, redundancy_group)| HaInterface {
            name,
            direction: if out { Direction::Out } else { Direction::In },
            rule,
            protocols,
            redundancy_group,
        });
    (
        text(),
        prop::collection::vec(iface, 0..4),
        any::<u16>(),
        prop::collection::vec(text(), 0..4),
    )
        .prop_map(
            |(scheme_group, interfaces, update_interval_s, virtual_ips)| HaConfigSummary {
                scheme_group,
                interfaces,
                update_interval_s,
                virtual_ips,
            },
        )
}

fn rf_state() -> impl Strategy<Value = RfState> {
    (1u8..=13).prop_map(|c| RfState::from_code(c).unwrap())
}

fn body() -> impl Strategy<Value = Body> {
    prop_oneof![
        (
            rf_state(),
            any::<u8>(),
            any::<u8>(),
            any::<[u8; 16]>(),
            any::<[u8; 16]>(),
            text()
        )
            .prop_map(
                |(rf_state, hsrp_state, flags, d, s, software_version)| Body::State(StateMsg {
                    rf_state,
                    hsrp_state,
                    flags,
                    config_digest: Digest(d),
                    peer_digest_seen: Digest(s),
                    software_version,
                })
            ),
        summary().prop_map(Body::Config),
        text().prop_map(Body::Switchover),
    ]
}

proptest! {
    #[test]
    fn codec_round_trip(seq in any::<u32>(), boot_id in any::<u64>(), body in body()) {
        let msg = Message { seq, boot_id, body };
        let bytes = msg.encode();
        prop_assert_eq!(Message::decode(&bytes), Ok(msg));
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
        if let Ok(m) = Message::decode(&bytes) {
            prop_assert_eq!(m.encode(), bytes);
        }
    }

    #[test]
    fn mutated_messages_never_panic(body in body(), flips in prop::collection::vec((any::<usize>(), any::<u8>()), 1..6),
                                    cut in any::<usize>()) {
        let mut bytes = Message { seq: 1, boot_id: 2, body }.encode();
        for (i, v) in flips {
            let n = bytes.len();
            bytes[i % n] ^= v;
        }
        let cut = cut % (bytes.len() + 1);
        let _ = Message::decode(&bytes[..cut]);
        let _ = Message::decode(&bytes);
    }
}

#[derive(Clone, Debug)]
enum Op {
    Hsrp(u8),
    Link(bool, bool),
    PeerState {
        boot: u64,
        replay: bool,
        state: RfState,
        hsrp: u8,
        mine_seen: bool,
        version: bool,
    },
    PeerConfig {
        boot: u64,
        summary: HaConfigSummary,
    },
    PeerSwitchover {
        boot: u64,
    },
    Raw(Vec<u8>),
    Config(bool),
    Client(u16, u8, u64),
    Advance(u64),
    Force,
    Resync,
    Register(u16),
    Enable(bool),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        1 => prop::sample::select(vec![0u8, 1, 2, 4, 8, 16]).prop_map(Op::Hsrp),
        1 => (prop::bool::weighted(0.8), prop::bool::weighted(0.2)).prop_map(|(a, b)| Op::Link(a, b)),
        4 => (prop::sample::select(vec![1000u64, 1000, 1000, 1001]), prop::bool::weighted(0.1),
              prop_oneof![3 => Just(RfState::Active), 1 => rf_state()], prop::sample::select(vec![0u8, 8, 16, 99]),
              prop::bool::weighted(0.8), prop::bool::weighted(0.2))
            .prop_map(|(boot, replay, state, hsrp, mine_seen, version)| Op::PeerState {
                boot, replay, state, hsrp, mine_seen, version
            }),
        1 => (prop::sample::select(vec![1000u64, 1000, 1000, 1001]), summary()).prop_map(|(boot, summary)| Op::PeerConfig { boot, summary }),
        1 => (1000u64..1002).prop_map(|boot| Op::PeerSwitchover { boot }),
        1 => prop::collection::vec(any::<u8>(), 0..64).prop_map(Op::Raw),
        1 => any::<bool>().prop_map(Op::Config),
        2 => (prop::sample::select(vec![1u16, 1, 1, 0, 2]), prop::sample::select(vec![0u8, 0, 0, 1, 2, 3]), 0u64..100)
            .prop_map(|(c, k, n)| Op::Client(c, k, n)),
        4 => (0u64..5000).prop_map(Op::Advance),
        1 => Just(Op::Force),
        1 => Just(Op::Resync),
        1 => prop::sample::select(vec![1u16, 1, 2]).prop_map(Op::Register),
        1 => prop::bool::weighted(0.9).prop_map(Op::Enable),
    ]
}

fn base_summary() -> HaConfigSummary {
    HaConfigSummary {
        scheme_group: "HAin".into(),
        interfaces: vec![HaInterface {
            name: "Ethernet1/0".into(),
            direction: Direction::Out,
            rule: "ha".into(),
            protocols: vec!["tcp".into(), "udp".into()],
            redundancy_group: Some("HAin".into()),
        }],
        update_interval_s: 10,
        virtual_ips: vec!["10.0.0.3".into()],
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]
    #[test]
    fn random_inputs_keep_the_manager_sane(ops in prop::collection::vec(op(), 1..120)) {
        let mut now = Instant::from_millis(1);
        let mut m = Manager::new(SsoConfig::new("HAin", "v1", 7), base_summary(), now);
        m.register_client(now, ClientId(1), "FW HA");
        let mut seq = 0u32;
        let mut role = HsrpRole::Other(OtherHsrpState::Init);
        let mut enabled = true;
        for op in ops {
            match op {
                Op::Hsrp(code) => {
                    role = HsrpRole::from_code(code).unwrap();
                    m.handle_hsrp_role(now, role);
                }
                Op::Link(up, restarted) => m.handle_link(now, up, restarted),
                Op::PeerState { boot, replay, state, hsrp, mine_seen, version } => {
                    if !replay { seq += 1; }
                    let seen = if mine_seen { base_summary().digest() } else { Digest::NONE };
                    let body = Body::State(StateMsg {
                        rf_state: state,
                        hsrp_state: hsrp,
                        flags: 0,
                        config_digest: base_summary().digest(),
                        peer_digest_seen: seen,
                        software_version: if version { "v2".into() } else { "v1".into() },
                    });
                    m.handle_peer_message(now, &Message { seq, boot_id: boot, body }.encode());
                }
                Op::PeerConfig { boot, summary } => {
                    seq += 1;
                    let s = if summary.interfaces.len() % 2 == 0 { base_summary() } else { summary };
                    m.handle_peer_message(now, &Message { seq, boot_id: boot, body: Body::Config(s) }.encode());
                }
                Op::PeerSwitchover { boot } => {
                    seq += 1;
                    let body = Body::Switchover("test".into());
                    m.handle_peer_message(now, &Message { seq, boot_id: boot, body }.encode());
                }
                Op::Raw(bytes) => m.handle_peer_message(now, &bytes),
                Op::Config(base) => {
                    let mut s = base_summary();
                    if !base { s.update_interval_s = 30; }
                    m.handle_config(now, s);
                }
                Op::Client(id, kind, n) => {
                    let report = match kind {
                        0 => ClientReport::BulkDone { sessions: n, ok: true },
                        1 => ClientReport::BulkDone { sessions: n, ok: false },
                        2 => ClientReport::BulkFailed { reason: "x".into() },
                        _ => ClientReport::ResyncNeeded { reason: "gap".into() },
                    };
                    m.handle_client(now, ClientId(id), report);
                }
                Op::Advance(ms) => {
                    let end = now + Duration::from_millis(ms);
                    while let Some(t) = m.poll_timeout().filter(|t| *t <= end) {
                        now = t.max(now);
                        m.handle_timeout(now);
                        prop_assert!(m.poll_timeout().is_none_or(|n| n > now), "timer does not advance");
                    }
                    now = end;
                }
                Op::Force => { let _ = m.force_switchover(now); }
                Op::Resync => { let _ = m.request_resync(now); }
                Op::Register(id) => m.register_client(now, ClientId(id), "client"),
                Op::Enable(on) => {
                    enabled = on;
                    m.set_enabled(now, on);
                }
            }
            while let Some(a) = m.poll_action() {
                if let Action::SendPeer(bytes) = a {
                    prop_assert!(Message::decode(&bytes).is_ok(), "we send what we can decode");
                }
            }
            let s = m.my_state();
            if !enabled {
                prop_assert_eq!(s, RfState::Disabled);
                continue;
            }
            if role == HsrpRole::Active {
                prop_assert_eq!(s, RfState::Active);
            } else {
                prop_assert!(!s.is_active_family(), "ACTIVE without HSRP Active: {:?}", s);
            }
            if s.is_standby_family() {
                prop_assert!(m.communications_up());
                prop_assert_eq!(m.peer_state(), RfState::Active);
            }
            let st = m.status(now);
            if s == RfState::StandbyHot {
                prop_assert!(st.clients.iter().all(|c| c.bulk_state == "done"));
            }
            if st.preempt_held {
                prop_assert!(s != RfState::StandbyHot && !s.is_active_family());
            }
            prop_assert_eq!(st.my_state_code, s.code());
            prop_assert!(serde_json::to_string(&st).is_ok());
            let _ = (render::render_summary(&st), render::render_states(&st), render::render_history(&st),
                     render::render_clients(&st), render::render_inter_device(&st));
        }
    }
}
