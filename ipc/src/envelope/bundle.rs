//! The bundle: several client messages of one SCTP stream carried in one SCTP user message.
//!
//! When messages queue up for the same stream, the sender packs them into one bundle instead of one
//! SCTP user message each; the receiver unpacks them in order. Bundles form only under load (the driver
//! flushes whatever is queued on each turn, never waits), and only toward a peer whose hello advertised
//! [`crate::envelope::HELLO_FLAG_BUNDLES`].
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +---------------+---------------+-------------------------------+
//! | format (0xB1) |     flags     |          SCTP stream          |
//! +---------------+---------------+-------------------------------+
//! |                     record count (32 bits)                    |
//! +---------------------------------------------------------------+
//! |            first sequence (64 bits, per stream)               |
//! |                                                               |
//! +---------------------------------------------------------------+
//! |                 records length (32 bits, bytes)               |
//! +---------------------------------------------------------------+
//! | records: client id (16) | kind (8) | reserved (8) | length (32) | payload ...  (count times)
//! +---------------------------------------------------------------+
//! |   HMAC-SHA256 over header + records (32 bytes, flag AUTH) ... |
//! +---------------------------------------------------------------+
//! ```
//!
//! Record `i` has the sequence number `first sequence + i`: a bundle of `count` records uses the same
//! `count` sequence numbers of its stream that the messages would have used one by one. The first byte
//! (`0xB1`, "bundle format 1") tells a bundle from an envelope (whose first byte is the envelope
//! version, 1). The stream is part of the header (and so of the tag): a bundle moved to another SCTP
//! stream is refused.

use crate::envelope::{ClientId, Envelope, FLAG_AUTH, MAX_PAYLOAD_LEN, MessageKind, TAG_LEN, exact_length};
use crate::error::DecodeError;

/// First byte of a bundle (bundle format 1).
pub const BUNDLE_FORMAT: u8 = 0xB1;
/// Bundle header length.
pub const BUNDLE_HEADER_LEN: usize = 20;
/// Per-record header length (client, kind, reserved, length).
pub const RECORD_HEADER_LEN: usize = 8;
/// Largest records area a received bundle may declare.
pub const MAX_BUNDLE_BODY: usize = MAX_PAYLOAD_LEN;
/// Largest encoded bundle (the SCTP stack's message size limit covers it).
pub const MAX_BUNDLE_LEN: usize = BUNDLE_HEADER_LEN + MAX_BUNDLE_BODY + TAG_LEN;

/// Whether `bytes` (an SCTP user message) is a bundle rather than a single envelope.
pub fn is_bundle(bytes: &[u8]) -> bool {
    bytes.first() == Some(&BUNDLE_FORMAT)
}

/// Builds one bundle in place: header, then records appended one by one, then (optionally) the tag.
#[derive(Debug)]
pub struct BundleWriter {
    buf: Vec<u8>,
    count: u32,
}

impl BundleWriter {
    /// Starts a bundle for `stream` whose first record gets sequence `first_sequence`; `capacity` is a
    /// size hint in bytes.
    pub fn new(stream: u16, first_sequence: u64, capacity: usize) -> Self {
        let mut buf = Vec::with_capacity(capacity.max(BUNDLE_HEADER_LEN) + TAG_LEN);
        buf.push(BUNDLE_FORMAT);
        buf.push(0);
        buf.extend_from_slice(&stream.to_be_bytes());
        buf.extend_from_slice(&[0; 4]);
        buf.extend_from_slice(&first_sequence.to_be_bytes());
        buf.extend_from_slice(&[0; 4]);
        Self { buf, count: 0 }
    }

    /// Bytes a record with a payload of `len` bytes adds.
    pub const fn record_len(len: usize) -> usize {
        RECORD_HEADER_LEN + len
    }

    /// Records so far.
    pub fn count(&self) -> u32 {
        self.count
    }

    /// Encoded length so far (without a tag).
    pub fn len(&self) -> usize {
        self.buf.len()
    }

    /// Whether no record was added yet.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Appends one record. The caller keeps payloads within [`MAX_PAYLOAD_LEN`] and the records area
    /// within [`MAX_BUNDLE_BODY`].
    pub fn push(&mut self, client: ClientId, kind: MessageKind, payload: &[u8]) {
        self.buf.extend_from_slice(&client.0.to_be_bytes());
        self.buf.push(kind.0);
        self.buf.push(0);
        let len = u32::try_from(payload.len()).unwrap_or(u32::MAX);
        self.buf.extend_from_slice(&len.to_be_bytes());
        self.buf.extend_from_slice(payload);
        self.count += 1;
    }

    /// Completes the header; with `authenticated` the AUTH flag is set and the caller appends the tag
    /// computed over the returned bytes (see [`crate::auth::Authenticator::sign_bundle`]).
    pub fn finish(mut self, authenticated: bool) -> Vec<u8> {
        self.buf[1] = if authenticated { FLAG_AUTH } else { 0 };
        self.buf[4..8].copy_from_slice(&self.count.to_be_bytes());
        let body = u32::try_from(self.buf.len() - BUNDLE_HEADER_LEN).unwrap_or(u32::MAX);
        self.buf[16..20].copy_from_slice(&body.to_be_bytes());
        self.buf
    }
}

/// A received bundle, checked for structure but not yet authenticated (borrowed from the wire bytes).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BundleView<'a> {
    bytes: &'a [u8],
    body_end: usize,
}

/// One record of a bundle.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Record<'a> {
    /// Sending client.
    pub client: ClientId,
    /// Message kind.
    pub kind: MessageKind,
    /// The record's sequence number (first sequence + position).
    pub sequence: u64,
    /// The client's bytes.
    pub payload: &'a [u8],
}

impl<'a> BundleView<'a> {
    /// Checks the framing of a bundle that must fill `bytes` exactly: format, sizes, every record
    /// inside the records area, the declared count, and sequence numbers that do not wrap.
    pub fn decode(bytes: &'a [u8]) -> Result<Self, DecodeError> {
        if bytes.len() < BUNDLE_HEADER_LEN {
            return Err(DecodeError::Truncated {
                needed: BUNDLE_HEADER_LEN,
                got: bytes.len(),
            });
        }
        if bytes[0] != BUNDLE_FORMAT {
            return Err(DecodeError::UnknownVersion(bytes[0]));
        }
        let body_len = u32::from_be_bytes([bytes[16], bytes[17], bytes[18], bytes[19]]) as usize;
        if body_len > MAX_BUNDLE_BODY {
            return Err(DecodeError::Oversized {
                len: body_len,
                max: MAX_BUNDLE_BODY,
            });
        }
        let tag_len = if bytes[1] & FLAG_AUTH != 0 { TAG_LEN } else { 0 };
        let body_end = BUNDLE_HEADER_LEN + body_len;
        exact_length(bytes, body_end + tag_len)?;
        let view = Self { bytes, body_end };
        let declared = view.count();
        let mut found: u32 = 0;
        let mut at = BUNDLE_HEADER_LEN;
        while at < body_end {
            let Some(h) = bytes
                .get(at..at + RECORD_HEADER_LEN)
                .filter(|_| at + RECORD_HEADER_LEN <= body_end)
            else {
                return Err(DecodeError::Truncated {
                    needed: at + RECORD_HEADER_LEN,
                    got: body_end,
                });
            };
            let len = u32::from_be_bytes([h[4], h[5], h[6], h[7]]) as usize;
            if len > MAX_PAYLOAD_LEN {
                return Err(DecodeError::Oversized {
                    len,
                    max: MAX_PAYLOAD_LEN,
                });
            }
            let end = at + RECORD_HEADER_LEN + len;
            if end > body_end {
                return Err(DecodeError::Truncated {
                    needed: end,
                    got: body_end,
                });
            }
            found = found.saturating_add(1);
            at = end;
        }
        if declared == 0 || found != declared {
            return Err(DecodeError::BadBundleCount { declared, found });
        }
        if view
            .first_sequence()
            .checked_add(u64::from(declared) - 1)
            .is_none()
        {
            return Err(DecodeError::SequenceOverflow);
        }
        Ok(view)
    }

    /// Flags (bit 0: AUTH).
    pub fn flags(&self) -> u8 {
        self.bytes[1]
    }

    /// The SCTP stream the sender put the bundle on.
    pub fn stream(&self) -> u16 {
        u16::from_be_bytes([self.bytes[2], self.bytes[3]])
    }

    /// Number of records.
    pub fn count(&self) -> u32 {
        u32::from_be_bytes([self.bytes[4], self.bytes[5], self.bytes[6], self.bytes[7]])
    }

    /// Sequence number of the first record.
    pub fn first_sequence(&self) -> u64 {
        let mut s = [0u8; 8];
        s.copy_from_slice(&self.bytes[8..16]);
        u64::from_be_bytes(s)
    }

    /// Sequence number of the last record.
    pub fn last_sequence(&self) -> u64 {
        self.first_sequence()
            .saturating_add(u64::from(self.count()).saturating_sub(1))
    }

    /// Header and records: the bytes the tag covers.
    pub fn signed_bytes(&self) -> &'a [u8] {
        &self.bytes[..self.body_end]
    }

    /// The tag, when the AUTH flag is set.
    pub fn tag(&self) -> Option<&'a [u8]> {
        (self.flags() & FLAG_AUTH != 0).then(|| &self.bytes[self.body_end..])
    }

    /// The records in order.
    pub fn records(&self) -> impl Iterator<Item = Record<'a>> + 'a {
        let bytes = self.bytes;
        let body_end = self.body_end;
        let first = self.first_sequence();
        let mut at = BUNDLE_HEADER_LEN;
        let mut index = 0u64;
        std::iter::from_fn(move || {
            let h = bytes.get(at..at + RECORD_HEADER_LEN).filter(|_| at < body_end)?;
            let len = u32::from_be_bytes([h[4], h[5], h[6], h[7]]) as usize;
            let payload = bytes.get(at + RECORD_HEADER_LEN..at + RECORD_HEADER_LEN + len)?;
            let r = Record {
                client: ClientId(u16::from_be_bytes([h[0], h[1]])),
                kind: MessageKind(h[2]),
                sequence: first.wrapping_add(index),
                payload,
            };
            at += RECORD_HEADER_LEN + len;
            index += 1;
            Some(r)
        })
    }

    /// The records as unauthenticated envelopes (the same values the messages would have had if sent
    /// one by one, without tags): for tests and the fuzz target.
    pub fn to_envelopes(&self) -> Vec<Envelope> {
        self.records()
            .map(|r| Envelope::new(r.client, r.kind, r.sequence, r.payload.to_vec()))
            .collect()
    }
}

/// Encodes `envelopes` (consecutive sequence numbers, the first one's sequence first) as an
/// unauthenticated bundle on `stream`: for tests and the fuzz target.
pub fn encode_envelopes(stream: u16, envelopes: &[Envelope]) -> Vec<u8> {
    let first = envelopes.first().map_or(0, |e| e.sequence);
    let mut w = BundleWriter::new(stream, first, 0);
    for e in envelopes {
        w.push(e.client, e.kind, &e.payload);
    }
    w.finish(false)
}

#[cfg(test)]
mod tests;
