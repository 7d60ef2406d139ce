//! Fuzz the SSO peer-message decoder and the manager behind it: arbitrary bytes must never panic, a
//! message that decodes must re-encode to the same bytes, and feeding the bytes (split into messages) to a
//! manager in every role must never panic nor leave it in an invalid state.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sso::wire::Message;
use sso::{HaConfigSummary, HsrpRole, Manager, OtherHsrpState, RfState, SsoConfig};
use sso::timebase::{Duration, Instant};

fuzz_target!(|data: &[u8]| {
    if let Ok(m) = Message::decode(data) {
        assert_eq!(m.encode(), data);
    }
    // First byte picks the HSRP role; the rest is a sequence of length-prefixed messages.
    let Some((&sel, rest)) = data.split_first() else { return };
    let role = match sel % 3 {
        0 => HsrpRole::Active,
        1 => HsrpRole::Standby,
        _ => HsrpRole::Other(OtherHsrpState::Speak),
    };
    let mut now = Instant::from_millis(1);
    let mut mgr = Manager::new(SsoConfig::new("HAin", "fuzz", 1), HaConfigSummary::default(), now);
    mgr.register_client(now, sso::ClientId(1), "FW HA");
    mgr.handle_hsrp_role(now, role);
    mgr.handle_link(now, true, false);
    let mut rest = rest;
    while let Some((&len, tail)) = rest.split_first() {
        let n = usize::from(len).min(tail.len());
        let (msg, tail) = tail.split_at(n);
        mgr.handle_peer_message(now, msg);
        now += Duration::from_millis(u64::from(len) * 10);
        if mgr.poll_timeout().is_some_and(|t| t <= now) {
            mgr.handle_timeout(now);
        }
        while mgr.poll_action().is_some() {}
        rest = tail;
    }
    let s = mgr.my_state();
    assert!(role != HsrpRole::Active || s == RfState::Active);
    let st = mgr.status(now);
    let _ = sso::render::render_summary(&st);
    let _ = sso::render::render_history(&st);
});
