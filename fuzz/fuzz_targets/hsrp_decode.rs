//! Fuzz the HSRP decoder and the whole receive path of a `Speaker`.
//!
//! Every input is decoded (it must never panic, and whatever decodes must re-encode to the same bytes),
//! then handed to a running speaker as a packet from a peer, once with TTL 1 and once with TTL 255.
#![no_main]

use std::net::Ipv4Addr;

use hsrp::packet::Packet;
use hsrp::{AuthConfig, GroupConfig, InterfaceConfig, Speaker, Version};
use libfuzzer_sys::fuzz_target;
use hsrp::timebase::{Duration, Instant};

fn speaker() -> Speaker {
    let mut v1 = GroupConfig::new(1, Version::V1);
    v1.virtual_ip = Some(Ipv4Addr::new(10, 0, 0, 3));
    v1.preempt = Some(hsrp::PreemptConfig::default());
    let mut v2 = GroupConfig::new(1, Version::V2);
    v2.auth = AuthConfig::Md5 { key: "k".into(), key_id: 0 };
    let mut s = Speaker::new(vec![InterfaceConfig {
        name: "e0".into(),
        address: Ipv4Addr::new(10, 0, 0, 1),
        mac: [2, 0, 0, 0, 0, 1],
        delay: None,
        groups: vec![v1, v2],
    }])
    .expect("valid config");
    s.handle_start(Instant::ZERO);
    s
}

fuzz_target!(|data: &[u8]| {
    if let Ok(p) = Packet::decode(data) {
        assert_eq!(p.encode(), data);
    }
    let mut s = speaker();
    let mut now = Instant::ZERO;
    for ttl in [1u8, 255] {
        now += Duration::from_millis(500);
        s.handle_packet(now, "e0", Ipv4Addr::new(10, 0, 0, 2), ttl, data);
        s.handle_timeout(now);
        while s.poll_action().is_some() {}
    }
    let _ = s.status(now);
});
