use proptest::prelude::*;

use super::*;
use crate::auth::{Authenticator, ReplayWindow};
use crate::error::AuthError;

fn three(first: u64) -> Vec<u8> {
    let mut w = BundleWriter::new(1, first, 64);
    w.push(ClientId::INSPECT, MessageKind::INSPECT_SYNC, b"ab");
    w.push(ClientId::INSPECT, MessageKind::INSPECT_BULK, b"");
    w.push(ClientId::INSPECT, MessageKind::INSPECT_SYNC, b"xyz");
    assert_eq!(w.count(), 3);
    w.finish(false)
}

#[test]
fn golden_and_round_trip() {
    let b = three(7);
    let expected: Vec<u8> = [
        &[0xB1, 0x00, 0x00, 0x01][..],         // format, flags, stream 1
        &[0, 0, 0, 3],                         // count
        &[0, 0, 0, 0, 0, 0, 0, 7],             // first sequence
        &[0, 0, 0, 8 + 2 + 8 + 8 + 3],         // records length
        &[0, 2, 2, 0, 0, 0, 0, 2, b'a', b'b'], // client 2, kind 2, len 2
        &[0, 2, 3, 0, 0, 0, 0, 0],             // kind 3, empty
        &[0, 2, 2, 0, 0, 0, 0, 3, b'x', b'y', b'z'],
    ]
    .concat();
    assert_eq!(b, expected);
    assert!(is_bundle(&b));
    let v = BundleView::decode(&b).unwrap();
    assert_eq!(
        (v.stream(), v.count(), v.first_sequence(), v.last_sequence()),
        (1, 3, 7, 9)
    );
    assert_eq!(v.tag(), None);
    let recs: Vec<Record<'_>> = v.records().collect();
    assert_eq!(recs.len(), 3);
    assert_eq!(
        recs[0],
        Record {
            client: ClientId::INSPECT,
            kind: MessageKind::INSPECT_SYNC,
            sequence: 7,
            payload: b"ab"
        }
    );
    assert_eq!((recs[1].sequence, recs[1].payload), (8, &b""[..]));
    assert_eq!((recs[2].sequence, recs[2].payload), (9, &b"xyz"[..]));
    let envs = v.to_envelopes();
    assert_eq!(
        envs[2],
        Envelope::new(ClientId::INSPECT, MessageKind::INSPECT_SYNC, 9, b"xyz".to_vec())
    );
    assert_eq!(encode_envelopes(1, &envs), b);
    // An envelope is not a bundle.
    assert!(!is_bundle(
        &Envelope::new(ClientId::RF, MessageKind::RF_CONTROL, 1, vec![]).encode()
    ));
}

#[test]
fn truncated_oversized_trailing_and_bad_counts_are_typed() {
    let b = three(1);
    assert_eq!(
        BundleView::decode(&b[..5]),
        Err(DecodeError::Truncated { needed: 20, got: 5 })
    );
    assert_eq!(
        BundleView::decode(&b[..b.len() - 1]),
        Err(DecodeError::Truncated {
            needed: b.len(),
            got: b.len() - 1
        })
    );
    let mut long = b.clone();
    long.push(0);
    assert_eq!(BundleView::decode(&long), Err(DecodeError::TrailingBytes(1)));
    let mut v = b.clone();
    v[0] = 0xB2;
    assert_eq!(BundleView::decode(&v), Err(DecodeError::UnknownVersion(0xB2)));
    // Records area above the limit.
    let mut big = b.clone();
    big[16..20].copy_from_slice(&(MAX_BUNDLE_BODY as u32 + 1).to_be_bytes());
    assert_eq!(
        BundleView::decode(&big),
        Err(DecodeError::Oversized {
            len: MAX_BUNDLE_BODY + 1,
            max: MAX_BUNDLE_BODY
        })
    );
    // A record declaring more than the envelope limit.
    let mut rec = b.clone();
    rec[24..28].copy_from_slice(&(MAX_PAYLOAD_LEN as u32 + 1).to_be_bytes());
    assert_eq!(
        BundleView::decode(&rec),
        Err(DecodeError::Oversized {
            len: MAX_PAYLOAD_LEN + 1,
            max: MAX_PAYLOAD_LEN
        })
    );
    // A record running past the records area.
    let mut over = b.clone();
    over[24..28].copy_from_slice(&100u32.to_be_bytes());
    assert_eq!(
        BundleView::decode(&over),
        Err(DecodeError::Truncated {
            needed: 20 + 8 + 100,
            got: b.len()
        })
    );
    // A record header cut by the end of the records area (shrink the area by 5 bytes).
    let mut cut = b[..b.len() - 5].to_vec();
    let area = (cut.len() - 20) as u32;
    cut[16..20].copy_from_slice(&area.to_be_bytes());
    assert_eq!(
        BundleView::decode(&cut),
        Err(DecodeError::Truncated {
            needed: 20 + 10 + 8 + 8,
            got: cut.len()
        })
    );
    // Declared counts that do not match.
    for (declared, found) in [(0u32, 3u32), (2, 3), (4, 3)] {
        let mut c = b.clone();
        c[4..8].copy_from_slice(&declared.to_be_bytes());
        assert_eq!(
            BundleView::decode(&c),
            Err(DecodeError::BadBundleCount { declared, found })
        );
    }
    let empty = BundleWriter::new(1, 1, 0).finish(false);
    assert_eq!(
        BundleView::decode(&empty),
        Err(DecodeError::BadBundleCount {
            declared: 0,
            found: 0
        })
    );
    assert_eq!(
        BundleView::decode(&three(u64::MAX - 1)),
        Err(DecodeError::SequenceOverflow)
    );
    assert!(BundleView::decode(&three(u64::MAX - 2)).is_ok());
}

fn signed(a: &Authenticator, boot: u64, first: u64) -> Vec<u8> {
    let mut w = BundleWriter::new(1, first, 64);
    w.push(ClientId::INSPECT, MessageKind::INSPECT_SYNC, b"one");
    w.push(ClientId::INSPECT, MessageKind::INSPECT_SYNC, b"two");
    let mut b = w.finish(a.is_keyed());
    a.sign_bundle(boot, &mut b);
    b
}

#[test]
fn one_tag_authenticates_the_whole_bundle() {
    let a = Authenticator::new(Some("k"));
    let b = signed(&a, 42, 1);
    assert_eq!(b.len(), 20 + 2 * 11 + TAG_LEN);
    let v = BundleView::decode(&b).unwrap();
    assert_eq!(v.flags() & FLAG_AUTH, FLAG_AUTH);
    assert_eq!(a.verify_bundle(42, &v), Ok(()));
    // Wrong key, reflected to its sender (other boot id), no key, missing tag.
    assert_eq!(
        Authenticator::new(Some("x")).verify_bundle(42, &v),
        Err(AuthError::BadTag)
    );
    assert_eq!(a.verify_bundle(43, &v), Err(AuthError::BadTag));
    assert_eq!(
        Authenticator::new(None).verify_bundle(42, &v),
        Err(AuthError::UnexpectedTag)
    );
    let plain = signed(&Authenticator::new(None), 42, 1);
    assert_eq!(
        a.verify_bundle(42, &BundleView::decode(&plain).unwrap()),
        Err(AuthError::MissingTag)
    );
    // Every single-byte change of header or records is caught: payloads, kinds, order, sequence, stream.
    for at in 0..v.signed_bytes().len() {
        let mut m = b.clone();
        m[at] ^= 0x04;
        if let Ok(mv) = BundleView::decode(&m) {
            assert_eq!(a.verify_bundle(42, &mv), Err(AuthError::BadTag), "byte {at}");
        }
    }
    // Records swapped (same lengths): refused.
    let mut swapped = b.clone();
    swapped[20..31].copy_from_slice(&b[31..42]);
    swapped[31..42].copy_from_slice(&b[20..31]);
    assert_eq!(
        a.verify_bundle(42, &BundleView::decode(&swapped).unwrap()),
        Err(AuthError::BadTag)
    );
    // A record spliced into another genuine bundle: refused.
    let other = signed(&a, 42, 3);
    let mut spliced = other;
    spliced[20..31].copy_from_slice(&b[31..42]);
    assert_eq!(
        a.verify_bundle(42, &BundleView::decode(&spliced).unwrap()),
        Err(AuthError::BadTag)
    );
    // An envelope's tag never verifies as a bundle's (the first byte differs) and vice versa.
    let mut env = Envelope::new(ClientId::INSPECT, MessageKind::INSPECT_SYNC, 1, b"one".to_vec());
    a.sign(42, &mut env);
    assert!(BundleView::decode(&env.encode()).is_err());
}

#[test]
fn replayed_bundle_is_refused_by_its_range() {
    let mut w = ReplayWindow::new();
    assert_eq!(w.check_and_record_range(1, 3), Ok(()));
    assert_eq!(w.highest(), 3);
    assert_eq!(w.check_and_record_range(1, 3), Err(AuthError::Replayed(1)));
    // Overlapping a recorded number (a lone envelope 2 or a bundle 3..5) is refused whole.
    assert_eq!(w.check_and_record(2), Err(AuthError::Replayed(2)));
    assert_eq!(w.check_and_record_range(3, 3), Err(AuthError::Replayed(3)));
    assert_eq!(w.highest(), 3);
    assert_eq!(w.check_and_record_range(4, 2), Ok(()));
    assert_eq!(w.check_and_record(6), Ok(()));
    // Late but fresh and inside the window: accepted once.
    assert_eq!(w.check_and_record_range(100, 400), Ok(()));
    assert_eq!(w.highest(), 499);
    assert_eq!(w.check_and_record_range(250, 2), Err(AuthError::Replayed(250)));
    assert_eq!(w.check_and_record_range(0, 2), Err(AuthError::Replayed(0)));
    assert_eq!(
        w.check_and_record_range(u64::MAX, 2),
        Err(AuthError::Replayed(u64::MAX))
    );
    let mut gap = ReplayWindow::new();
    assert_eq!(gap.check_and_record_range(10, 5), Ok(()));
    assert_eq!(gap.check_and_record_range(5, 3), Ok(()));
    assert_eq!(gap.check_and_record_range(7, 2), Err(AuthError::Replayed(7)));
    assert_eq!(gap.check_and_record_range(8, 2), Ok(()));
}

proptest! {
    /// Any set of records round-trips through the writer and the decoder.
    #[test]
    fn records_round_trip(
        stream in 0u16..3,
        first in 1u64..u64::MAX / 2,
        recs in proptest::collection::vec((any::<u16>(), any::<u8>(), proptest::collection::vec(any::<u8>(), 0..40)), 1..20),
    ) {
        let mut w = BundleWriter::new(stream, first, 0);
        for (c, k, p) in &recs {
            w.push(ClientId(*c), MessageKind(*k), p);
        }
        let b = w.finish(false);
        let v = BundleView::decode(&b).unwrap();
        prop_assert_eq!(v.stream(), stream);
        let got: Vec<(u16, u8, Vec<u8>, u64)> =
            v.records().map(|r| (r.client.0, r.kind.0, r.payload.to_vec(), r.sequence)).collect();
        let want: Vec<(u16, u8, Vec<u8>, u64)> = recs
            .iter()
            .enumerate()
            .map(|(i, (c, k, p))| (*c, *k, p.clone(), first + i as u64))
            .collect();
        prop_assert_eq!(got, want);
    }

    /// Arbitrary bytes never panic; whatever decodes re-encodes to the same records.
    #[test]
    fn arbitrary_bytes_are_safe(mut bytes in proptest::collection::vec(any::<u8>(), 0..120)) {
        if let Some(b) = bytes.first_mut() {
            *b = BUNDLE_FORMAT;
        }
        if let Ok(v) = BundleView::decode(&bytes) {
            let again = encode_envelopes(v.stream(), &v.to_envelopes());
            let w = BundleView::decode(&again).unwrap();
            prop_assert_eq!(w.to_envelopes(), v.to_envelopes());
        }
    }
}
