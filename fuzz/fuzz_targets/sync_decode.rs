//! Fuzzes the HA sync decoder and the standby sync client that consumes it.
//!
//! Properties: decoding never panics; whatever decodes re-encodes to bytes that decode to the same header
//! and records; a standby client fed the bytes counts errors and asks for a resync instead of panicking.
#![no_main]

use inspect::ha::{HaSync, MemoryStore, SyncConfig, SyncRole, decode_batch, encode_batch};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok((header, records)) = decode_batch(data) {
        let again = encode_batch(header, &records);
        match decode_batch(&again) {
            Ok((h2, r2)) => {
                assert_eq!(header, h2);
                assert_eq!(records, r2);
            }
            Err(e) => panic!("re-encoded batch does not decode: {e}"),
        }
    }
    let mut sync = HaSync::new(SyncRole::Standby, SyncConfig::default());
    let mut store = MemoryStore::new();
    sync.handle_message(Default::default(), data, &mut store);
    while sync.poll_action().is_some() {}
    let active_store = MemoryStore::new();
    let mut active = HaSync::new(SyncRole::Active, SyncConfig::default());
    active.handle_message(Default::default(), data, &mut store);
    active.handle_timeout(Default::default(), &active_store);
    while active.poll_action().is_some() {}
});
