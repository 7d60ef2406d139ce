//! Fuzzes the inspect engine's packet path: arbitrary bytes through `wire::parse` and `Engine::process`
//! in both directions, with a seed-like configuration (inspect out + ACL in) and timer runs. No input may
//! panic; the table never exceeds its cap; a second engine fed the same packets through
//! `Engine::process_batch` reaches the same verdicts and counters.
#![no_main]

use inspect::config::{
    AclAction, AclConfig, AclEntry, AclProto, AddrMatch, InspectRule, InterfaceConfig, InterfaceInspect,
    PortMatch, RuleProtocol,
};
use inspect::record::L4Proto;
use inspect::timebase::Instant;
use inspect::{BatchPacket, Engine, EngineConfig, HaRole};
use libfuzzer_sys::fuzz_target;

fn config() -> EngineConfig {
    EngineConfig {
        rules: vec![InspectRule {
            name: "fw".into(),
            protocols: vec![
                RuleProtocol { proto: L4Proto::TCP, timeout_s: Some(5) },
                RuleProtocol { proto: L4Proto::UDP, timeout_s: None },
            ],
        }],
        interfaces: vec![
            InterfaceConfig { name: "in".into(), ..Default::default() },
            InterfaceConfig {
                name: "out".into(),
                inspect_out: Some(InterfaceInspect { rule: "fw".into(), redundancy_group: Some("g".into()) }),
                acl_in: Some("acl".into()),
                ..Default::default()
            },
        ],
        acls: vec![AclConfig {
            name: "acl".into(),
            entries: vec![AclEntry {
                seq: 10,
                action: AclAction::Permit,
                proto: AclProto::Udp,
                src: AddrMatch::Any,
                src_port: PortMatch::Eq(53),
                dst: AddrMatch::Any,
                dst_port: PortMatch::Range(1024, 65535),
                established: false,
                log: false,
            }],
        }],
        max_sessions: 64,
        max_incomplete_high: Some(16),
        max_incomplete_low: Some(8),
        ..EngineConfig::default()
    }
}

fuzz_target!(|data: &[u8]| {
    let _ = inspect::wire::parse(data);
    let mut e = Engine::new(config(), 0xf00d);
    let mut batched = Engine::new(config(), 0xf00d);
    // The input is a sequence of packets: [len: u8][bytes]...; the first byte's low bit picks the role.
    if data.first().is_some_and(|b| b & 1 == 1) {
        e.set_ha_role(Instant::ZERO, HaRole::Standby);
        batched.set_ha_role(Instant::ZERO, HaRole::Standby);
    }
    let mut rest = data.get(1..).unwrap_or_default();
    let mut ms = 0u64;
    while let Some((&len, tail)) = rest.split_first() {
        let n = usize::from(len).min(tail.len());
        let (pkt, next) = tail.split_at(n);
        ms += 250;
        let now = Instant::from_millis(ms);
        let one_by_one = [
            e.process(now, pkt, Some(0), Some(1)),
            e.process(now, pkt, Some(1), Some(0)),
            e.process(now, pkt, None, None),
        ];
        e.handle_timeout(now);
        let batch = [(Some(0), Some(1)), (Some(1), Some(0)), (None, None)]
            .map(|(ingress, egress)| BatchPacket { bytes: pkt, ingress, egress });
        let mut verdicts = Vec::new();
        batched.process_batch(now, &batch, &mut verdicts);
        batched.handle_timeout(now);
        while batched.poll_event().is_some() {}
        assert_eq!(verdicts, one_by_one);
        while let Some(ev) = e.poll_event() {
            if let inspect::EngineEvent::HaAdd(rec) = ev {
                let mut peer = Engine::new(config(), 1);
                peer.set_ha_role(now, HaRole::Standby);
                let _ = peer.apply_standby(now, &rec);
                peer.set_ha_role(now, HaRole::Active);
                let _ = peer.process(now, pkt, Some(1), Some(0));
            }
        }
        assert!(e.session_count() <= 64);
        rest = next;
    }
    assert_eq!(batched.stats(), e.stats());
    let _ = e.sessions(Instant::from_millis(ms));
    let _ = e.ha_digest();
    e.set_ha_role(Instant::from_millis(ms), HaRole::Active);
});
