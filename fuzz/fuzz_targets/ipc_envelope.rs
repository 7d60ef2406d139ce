//! Fuzzes the IPC envelope decoder, the hello decoder and tag verification: no input may panic, and
//! every envelope that decodes must re-encode to an envelope that decodes to the same value.
#![no_main]

use ipc::auth::{Authenticator, ReplayWindow};
use ipc::envelope::{Envelope, Hello};
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
});
