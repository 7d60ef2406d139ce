//! Message authentication (`security key STRING`) and replay protection.
//!
//! Every envelope carries an HMAC-SHA256 tag computed with the shared key over the sender's boot id
//! (8 bytes, learnt from its hello), the envelope header and the payload. Binding the boot id means a
//! message reflected back at its sender does not verify. Each side numbers its messages per stream;
//! the receiver keeps a sliding window (a bitmap of the last [`WINDOW_BITS`] sequence numbers) and
//! refuses numbers it has seen or that fell behind the window.

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::envelope::{BundleView, Envelope, FLAG_AUTH, TAG_LEN};
use crate::error::AuthError;

type HmacSha256 = Hmac<Sha256>;

/// Width of the replay window.
pub const WINDOW_BITS: u64 = 256;
const WORDS: usize = (WINDOW_BITS / 64) as usize;

/// Signs and verifies envelopes with the shared key (or passes them through without one).
#[derive(Clone)]
pub struct Authenticator {
    key: Option<Vec<u8>>,
}

impl std::fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the key.
        f.debug_struct("Authenticator")
            .field("keyed", &self.key.is_some())
            .finish()
    }
}

impl Authenticator {
    /// An authenticator for the configured key (`None`: messages are neither signed nor expected signed).
    pub fn new(key: Option<&str>) -> Self {
        Self {
            key: key.map(|k| k.as_bytes().to_vec()),
        }
    }

    /// Whether a key is configured.
    pub fn is_keyed(&self) -> bool {
        self.key.is_some()
    }

    fn compute(key: &[u8], sender_boot_id: u64, envelope: &Envelope) -> [u8; TAG_LEN] {
        // HMAC accepts keys of any length; new_from_slice cannot fail for it.
        let Ok(mut mac) = HmacSha256::new_from_slice(key) else {
            return [0u8; TAG_LEN];
        };
        mac.update(&sender_boot_id.to_be_bytes());
        let mut header = envelope.header();
        header[1] |= FLAG_AUTH;
        mac.update(&header);
        mac.update(&envelope.payload);
        let mut tag = [0u8; TAG_LEN];
        tag.copy_from_slice(&mac.finalize().into_bytes());
        tag
    }

    /// Adds the tag (when keyed). `sender_boot_id` is this side's boot id.
    pub fn sign(&self, sender_boot_id: u64, envelope: &mut Envelope) {
        match &self.key {
            Some(key) => {
                envelope.flags |= FLAG_AUTH;
                envelope.tag = Some(Self::compute(key, sender_boot_id, envelope));
            }
            None => {
                envelope.flags &= !FLAG_AUTH;
                envelope.tag = None;
            }
        }
    }

    /// Checks the tag of a received envelope. `sender_boot_id` is the peer's boot id.
    pub fn verify(&self, sender_boot_id: u64, envelope: &Envelope) -> Result<(), AuthError> {
        let tag = envelope.tag.as_ref().map(|t| &t[..]);
        self.check(sender_boot_id, &[&envelope.header(), &envelope.payload], tag)
    }

    /// The common rule of [`verify`](Self::verify) and [`verify_bundle`](Self::verify_bundle): a key needs
    /// a tag, no key refuses one, and a tag must be the HMAC of the boot id followed by `signed`.
    fn check(&self, sender_boot_id: u64, signed: &[&[u8]], tag: Option<&[u8]>) -> Result<(), AuthError> {
        match (&self.key, tag) {
            (None, None) => Ok(()),
            (None, Some(_)) => Err(AuthError::UnexpectedTag),
            (Some(_), None) => Err(AuthError::MissingTag),
            (Some(key), Some(tag)) => {
                let Ok(mut mac) = HmacSha256::new_from_slice(key) else {
                    return Err(AuthError::BadTag);
                };
                mac.update(&sender_boot_id.to_be_bytes());
                for part in signed {
                    mac.update(part);
                }
                // Constant-time comparison.
                mac.verify_slice(tag).map_err(|_| AuthError::BadTag)
            }
        }
    }
}

impl Authenticator {
    /// Appends the tag to a finished bundle (built with `authenticated = self.is_keyed()`): one
    /// HMAC-SHA256 over the sender's boot id, the bundle header and every record. Does nothing without
    /// a key.
    pub fn sign_bundle(&self, sender_boot_id: u64, bundle: &mut Vec<u8>) {
        let Some(key) = &self.key else {
            return;
        };
        let Ok(mut mac) = HmacSha256::new_from_slice(key) else {
            return;
        };
        mac.update(&sender_boot_id.to_be_bytes());
        mac.update(bundle);
        bundle.extend_from_slice(&mac.finalize().into_bytes());
    }

    /// Checks the tag of a received bundle (the same rules as [`Self::verify`]: a key needs a tag,
    /// no key refuses one).
    pub fn verify_bundle(&self, sender_boot_id: u64, bundle: &BundleView<'_>) -> Result<(), AuthError> {
        self.check(sender_boot_id, &[bundle.signed_bytes()], bundle.tag())
    }
}

/// A sliding replay window over one direction of one stream.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReplayWindow {
    /// Highest sequence accepted so far (0: none yet; senders start at 1).
    highest: u64,
    /// Bit i set: `highest - i` was accepted.
    bits: [u64; WORDS],
}

impl ReplayWindow {
    /// An empty window.
    pub fn new() -> Self {
        Self::default()
    }

    /// Highest sequence accepted so far.
    pub fn highest(&self) -> u64 {
        self.highest
    }

    fn bit(&self, offset: u64) -> bool {
        let (w, b) = ((offset / 64) as usize, offset % 64);
        self.bits[w] >> b & 1 == 1
    }

    fn set(&mut self, offset: u64) {
        let (w, b) = ((offset / 64) as usize, offset % 64);
        self.bits[w] |= 1 << b;
    }

    fn shift(&mut self, by: u64) {
        if by >= WINDOW_BITS {
            self.bits = [0; WORDS];
            return;
        }
        let words = (by / 64) as usize;
        let bits = by % 64;
        let mut out = [0u64; WORDS];
        for i in (0..WORDS).rev() {
            if i < words {
                continue;
            }
            let src = i - words;
            let mut v = self.bits[src] << bits;
            if bits > 0 && src > 0 {
                v |= self.bits[src - 1] >> (64 - bits);
            }
            out[i] = v;
        }
        self.bits = out;
    }

    /// Accepts `seq` if it is new and inside the window, recording it; refuses it otherwise.
    pub fn check_and_record(&mut self, seq: u64) -> Result<(), AuthError> {
        if seq == 0 {
            return Err(AuthError::Replayed(seq));
        }
        if seq > self.highest {
            self.shift(seq - self.highest);
            self.highest = seq;
            self.set(0);
            return Ok(());
        }
        let offset = self.highest - seq;
        if offset >= WINDOW_BITS || self.bit(offset) {
            return Err(AuthError::Replayed(seq));
        }
        self.set(offset);
        Ok(())
    }

    /// Accepts the `count` consecutive sequence numbers from `first` (a bundle) if none of them was
    /// seen and the first is inside the window, recording them all; refuses the whole range otherwise.
    pub fn check_and_record_range(&mut self, first: u64, count: u32) -> Result<(), AuthError> {
        let Some(last) = first.checked_add(u64::from(count.max(1)) - 1) else {
            return Err(AuthError::Replayed(first));
        };
        if first == 0 {
            return Err(AuthError::Replayed(first));
        }
        if first > self.highest {
            // All new: move the window to `last` and mark the range's slots (offsets 0..count).
            self.shift(last - self.highest);
            self.highest = last;
            for offset in 0..(last - first + 1).min(WINDOW_BITS) {
                self.set(offset);
            }
            return Ok(());
        }
        // Overlaps what the window covers: every number must be fresh (and the first inside it).
        let fresh =
            |w: &Self, s: u64| s > w.highest || (w.highest - s < WINDOW_BITS && !w.bit(w.highest - s));
        if self.highest - first >= WINDOW_BITS || !(first..=last.min(self.highest)).all(|s| fresh(self, s)) {
            return Err(AuthError::Replayed(first));
        }
        for s in first..=last {
            self.check_and_record(s)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::envelope::{ClientId, MessageKind};

    fn env(seq: u64) -> Envelope {
        Envelope::new(ClientId::RF, MessageKind::RF_CONTROL, seq, b"state".to_vec())
    }

    #[test]
    fn sign_and_verify() {
        let a = Authenticator::new(Some("s3cret"));
        let mut e = env(1);
        a.sign(42, &mut e);
        assert_eq!(a.verify(42, &e), Ok(()));
        // Round trip through the wire keeps it valid.
        let d = Envelope::decode(&e.encode()).unwrap();
        assert_eq!(a.verify(42, &d), Ok(()));
        // Another key, another boot id (reflection), altered payload, altered header: refused.
        assert_eq!(
            Authenticator::new(Some("other")).verify(42, &d),
            Err(AuthError::BadTag)
        );
        assert_eq!(a.verify(43, &d), Err(AuthError::BadTag));
        let mut p = d.clone();
        p.payload[0] ^= 1;
        assert_eq!(a.verify(42, &p), Err(AuthError::BadTag));
        let mut s = d.clone();
        s.sequence += 1;
        assert_eq!(a.verify(42, &s), Err(AuthError::BadTag));
        // Key mismatch in presence.
        assert_eq!(
            Authenticator::new(None).verify(42, &d),
            Err(AuthError::UnexpectedTag)
        );
        assert_eq!(a.verify(42, &env(1)), Err(AuthError::MissingTag));
        assert_eq!(Authenticator::new(None).verify(42, &env(1)), Ok(()));
    }

    #[test]
    fn golden_tag() {
        // HMAC-SHA256(key "cisco", 00..2a (boot id 42) || header || "state"), computed independently with Python `hmac` and
        // `openssl dgst -sha256 -mac HMAC -macopt key:cisco`.
        let a = Authenticator::new(Some("cisco"));
        let mut e = env(1);
        a.sign(42, &mut e);
        let hex: String = e.tag.unwrap().iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(hex, GOLDEN_TAG);
    }

    const GOLDEN_TAG: &str = "0e0f720007d9a30bae8f3f4a5597539bbe26b4dc56dcc5980cc34440ec8a204d";

    #[test]
    fn replay_window() {
        let mut w = ReplayWindow::new();
        assert_eq!(w.check_and_record(0), Err(AuthError::Replayed(0)));
        assert_eq!(w.check_and_record(1), Ok(()));
        assert_eq!(w.check_and_record(1), Err(AuthError::Replayed(1)));
        assert_eq!(w.check_and_record(5), Ok(()));
        assert_eq!(w.check_and_record(3), Ok(())); // late but inside the window
        assert_eq!(w.check_and_record(3), Err(AuthError::Replayed(3)));
        assert_eq!(w.check_and_record(300), Ok(()));
        assert_eq!(w.check_and_record(44), Err(AuthError::Replayed(44))); // 256 behind: outside
        assert_eq!(w.check_and_record(45), Ok(())); // 255 behind: the oldest slot
        assert_eq!(w.check_and_record(45), Err(AuthError::Replayed(45)));
        assert_eq!(w.highest(), 300);
    }

    proptest::proptest! {
        /// The bitmap agrees with a plain set-based model of the window.
        #[test]
        fn window_matches_model(seqs in proptest::collection::vec(1u64..600, 1..300)) {
            let mut w = ReplayWindow::new();
            let mut seen = std::collections::BTreeSet::new();
            let mut highest = 0u64;
            for s in seqs {
                let model_ok = !seen.contains(&s) && (s > highest || highest - s < WINDOW_BITS);
                let got = w.check_and_record(s).is_ok();
                proptest::prop_assert_eq!(got, model_ok, "seq {}", s);
                if model_ok {
                    seen.insert(s);
                    highest = highest.max(s);
                }
            }
        }
    }
}
