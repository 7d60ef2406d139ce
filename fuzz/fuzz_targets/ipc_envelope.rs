//! Fuzzes the IPC envelope and bundle decoders, the hello decoder, tag verification and the replay
//! window: no input may panic, every envelope that decodes must re-encode to an envelope that decodes
//! to the same value, and every bundle that decodes must re-encode to a bundle with the same records.
#![no_main]

use ipc::auth::{Authenticator, ReplayWindow};
use ipc::envelope::bundle::encode_envelopes;
use ipc::envelope::{BundleView, Envelope, Hello};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(env) = Envelope::decode(data) {
        // Reserved bytes are ignored on receive and sent as zero, so compare decoded values.
        assert_eq!(Envelope::decode(&env.encode()).as_ref(), Ok(&env), "encode/decode must round-trip");
        assert_eq!(env.encoded_len(), data.len());
        let _ = Hello::decode(&env.payload);
        let keyed = Authenticator::new(Some("fuzz"));
        let _ = keyed.verify(0x0102_0304_0506_0708, &env);
        let _ = Authenticator::new(None).verify(0, &env);
        let mut window = ReplayWindow::new();
        let _ = window.check_and_record(env.sequence);
        let _ = window.check_and_record(env.sequence);
    }
    let _ = Hello::decode(data);
    // The same bytes as a bundle (first byte forced to the bundle format so most inputs get past it).
    let mut bytes = data.to_vec();
    if let Some(first) = bytes.first_mut() {
        *first = ipc::envelope::bundle::BUNDLE_FORMAT;
    }
    for candidate in [data, &bytes[..]] {
        if let Ok(view) = BundleView::decode(candidate) {
            let envs = view.to_envelopes();
            assert_eq!(envs.len() as u64, u64::from(view.count()));
            assert_eq!(envs.last().map(|e| e.sequence), Some(view.last_sequence()));
            let again = encode_envelopes(view.stream(), &envs);
            let back = BundleView::decode(&again).expect("a re-encoded bundle decodes");
            assert_eq!(back.to_envelopes(), envs, "bundle records must round-trip");
            let _ = Authenticator::new(Some("fuzz")).verify_bundle(7, &view);
            let _ = Authenticator::new(None).verify_bundle(7, &view);
            let mut window = ReplayWindow::new();
            let first = window.check_and_record_range(view.first_sequence(), view.count());
            if first.is_ok() {
                assert!(window.check_and_record_range(view.first_sequence(), view.count()).is_err());
            }
        }
    }
});
