//! The message envelope carried in every SCTP user message of the association.
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +---------------+---------------+-------------------------------+
//! |  version (1)  |     flags     |           client id           |
//! +---------------+---------------+-------------------------------+
//! |     kind      |               reserved (sent as 0)            |
//! +---------------+-----------------------------------------------+
//! |                  sequence (64 bits, per stream)               |
//! |                                                               |
//! +---------------------------------------------------------------+
//! |                      payload length (32 bits)                 |
//! +---------------------------------------------------------------+
//! |                     payload (length bytes) ...                |
//! +---------------------------------------------------------------+
//! |   HMAC-SHA256 over header + payload (32 bytes, flag AUTH) ... |
//! +---------------------------------------------------------------+
//! ```
//!
//! All integers are big-endian. The tag is present exactly when the AUTH flag is set.

use serde::{Deserialize, Serialize};

use crate::error::DecodeError;

pub mod bundle;

pub use bundle::{BundleView, BundleWriter, Record, is_bundle};

/// Envelope version spoken by this build.
pub const VERSION: u8 = 1;
/// Header length in bytes.
pub const HEADER_LEN: usize = 20;
/// HMAC-SHA256 tag length.
pub const TAG_LEN: usize = 32;
/// Largest payload an envelope may carry.
pub const MAX_PAYLOAD_LEN: usize = 256 * 1024;
/// Largest encoded envelope.
pub const MAX_ENVELOPE_LEN: usize = HEADER_LEN + MAX_PAYLOAD_LEN + TAG_LEN;
/// Flag bit: an HMAC-SHA256 tag follows the payload.
pub const FLAG_AUTH: u8 = 0x01;

/// SCTP stream for association control (hello) and the RF and config clients.
pub const CONTROL_STREAM: u16 = 0;
/// SCTP stream for the inspect session-sync client.
pub const SYNC_STREAM: u16 = 1;
/// SCTP stream for other data clients.
pub const DATA_STREAM: u16 = 2;
/// Number of SCTP streams the association uses.
pub const STREAM_COUNT: u16 = 3;

/// Which subsystem a message belongs to (open newtype: unknown values decode and are counted).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ClientId(pub u16);

impl ClientId {
    /// The association itself (hello).
    pub const IPC: Self = Self(0);
    /// The redundancy facility (RF state progression, keepalives).
    pub const RF: Self = Self(1);
    /// Inspect HA session synchronization.
    pub const INSPECT: Self = Self(2);
    /// Configuration digest exchange.
    pub const CONFIG: Self = Self(3);

    /// The SCTP stream this client's messages use: control-class clients share the control stream,
    /// so a bulk transfer on a data stream never delays RF messages behind it.
    pub const fn stream(self) -> u16 {
        match self.0 {
            0 | 1 | 3 => CONTROL_STREAM,
            2 => SYNC_STREAM,
            _ => DATA_STREAM,
        }
    }
}

/// What a message is (open newtype; the association drops kinds it does not know, with a counter).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct MessageKind(pub u8);

impl MessageKind {
    /// Association hello (boot id, proves the key).
    pub const HELLO: Self = Self(0);
    /// RF control message (state progression, role).
    pub const RF_CONTROL: Self = Self(1);
    /// Inspect HA session sync (add/update/delete records).
    pub const INSPECT_SYNC: Self = Self(2);
    /// Inspect bulk synchronization (request, records, end marker).
    pub const INSPECT_BULK: Self = Self(3);
    /// Application keepalive.
    pub const KEEPALIVE: Self = Self(4);
    /// Configuration digest.
    pub const CONFIG_DIGEST: Self = Self(5);

    /// Every kind this build knows.
    pub const KNOWN: [Self; 6] = [
        Self::HELLO,
        Self::RF_CONTROL,
        Self::INSPECT_SYNC,
        Self::INSPECT_BULK,
        Self::KEEPALIVE,
        Self::CONFIG_DIGEST,
    ];

    /// Whether this build knows the kind.
    pub fn is_known(self) -> bool {
        Self::KNOWN.contains(&self)
    }

    /// A short name for counters and `show` output.
    pub const fn name(self) -> &'static str {
        match self.0 {
            0 => "hello",
            1 => "rf-control",
            2 => "inspect-sync",
            3 => "inspect-bulk",
            4 => "keepalive",
            5 => "config-digest",
            _ => "unknown",
        }
    }
}

/// A decoded envelope. The tag, when present, is checked by [`crate::auth::Authenticator`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Envelope {
    /// Flags (bit 0: AUTH).
    pub flags: u8,
    /// Sending client.
    pub client: ClientId,
    /// Message kind.
    pub kind: MessageKind,
    /// Per-stream sequence number of the sender.
    pub sequence: u64,
    /// The client's bytes.
    pub payload: Vec<u8>,
    /// The HMAC-SHA256 tag (when AUTH is set).
    pub tag: Option<[u8; TAG_LEN]>,
}

impl Envelope {
    /// An unauthenticated envelope.
    pub fn new(client: ClientId, kind: MessageKind, sequence: u64, payload: Vec<u8>) -> Self {
        Self {
            flags: 0,
            client,
            kind,
            sequence,
            payload,
            tag: None,
        }
    }

    /// Header bytes for this envelope (the AUTH flag set when a tag is present).
    pub fn header(&self) -> [u8; HEADER_LEN] {
        let mut h = [0u8; HEADER_LEN];
        h[0] = VERSION;
        h[1] = if self.tag.is_some() {
            self.flags | FLAG_AUTH
        } else {
            self.flags & !FLAG_AUTH
        };
        h[2..4].copy_from_slice(&self.client.0.to_be_bytes());
        h[4] = self.kind.0;
        h[8..16].copy_from_slice(&self.sequence.to_be_bytes());
        // The payload length is bounded by MAX_PAYLOAD_LEN (checked by callers), so it fits in 32 bits.
        let len = u32::try_from(self.payload.len()).unwrap_or(u32::MAX);
        h[16..20].copy_from_slice(&len.to_be_bytes());
        h
    }

    /// Encoded length.
    pub fn encoded_len(&self) -> usize {
        HEADER_LEN + self.payload.len() + if self.tag.is_some() { TAG_LEN } else { 0 }
    }

    /// Encodes the envelope into a new buffer.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.encoded_len());
        out.extend_from_slice(&self.header());
        out.extend_from_slice(&self.payload);
        if let Some(tag) = &self.tag {
            out.extend_from_slice(tag);
        }
        out
    }

    /// Decodes one envelope that must fill `bytes` exactly.
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        if bytes.len() < HEADER_LEN {
            return Err(DecodeError::Truncated {
                needed: HEADER_LEN,
                got: bytes.len(),
            });
        }
        let version = bytes[0];
        if version != VERSION {
            return Err(DecodeError::UnknownVersion(version));
        }
        let flags = bytes[1];
        let client = ClientId(u16::from_be_bytes([bytes[2], bytes[3]]));
        let kind = MessageKind(bytes[4]);
        let mut seq = [0u8; 8];
        seq.copy_from_slice(&bytes[8..16]);
        let sequence = u64::from_be_bytes(seq);
        let len = u32::from_be_bytes([bytes[16], bytes[17], bytes[18], bytes[19]]) as usize;
        if len > MAX_PAYLOAD_LEN {
            return Err(DecodeError::Oversized {
                len,
                max: MAX_PAYLOAD_LEN,
            });
        }
        let tag_len = if flags & FLAG_AUTH != 0 { TAG_LEN } else { 0 };
        let needed = HEADER_LEN + len + tag_len;
        exact_length(bytes, needed)?;
        let payload = bytes[HEADER_LEN..HEADER_LEN + len].to_vec();
        let tag = if tag_len > 0 {
            let mut t = [0u8; TAG_LEN];
            t.copy_from_slice(&bytes[HEADER_LEN + len..needed]);
            Some(t)
        } else {
            None
        };
        Ok(Self {
            flags,
            client,
            kind,
            sequence,
            payload,
            tag,
        })
    }
}

/// Length of a hello payload.
pub const HELLO_LEN: usize = 16;
/// Hello flag: the sender has a security key configured.
pub const HELLO_FLAG_KEYED: u8 = 0x01;
/// Hello flag: the sender accepts bundles ([`bundle`]); without it the peer sends one envelope per
/// SCTP user message (what builds before bundles did).
pub const HELLO_FLAG_BUNDLES: u8 = 0x02;

/// The hello each side sends first on a new association (kind HELLO, client IPC, control stream).
///
/// ```text
/// +---------------+---------------+-------------------------------+
/// | hello version |     flags     |        reserved (0)           |
/// +---------------+---------------+-------------------------------+
/// |              reserved (0)                                     |
/// +---------------------------------------------------------------+
/// |              boot id (64 bits, random per process start)      |
/// |                                                               |
/// +---------------------------------------------------------------+
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hello {
    /// Flags ([`HELLO_FLAG_KEYED`]).
    pub flags: u8,
    /// Random identity of the sender's process lifetime; a new value means the peer restarted.
    pub boot_id: u64,
}

impl Hello {
    /// Encodes the hello payload.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = vec![0u8; HELLO_LEN];
        out[0] = 1;
        out[1] = self.flags;
        out[8..16].copy_from_slice(&self.boot_id.to_be_bytes());
        out
    }

    /// Decodes a hello payload.
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        if bytes.len() != HELLO_LEN || bytes[0] != 1 {
            return Err(DecodeError::BadHello);
        }
        let mut b = [0u8; 8];
        b.copy_from_slice(&bytes[8..16]);
        Ok(Self {
            flags: bytes[1],
            boot_id: u64::from_be_bytes(b),
        })
    }
}

/// Whether `bytes` is exactly `needed` long (`Truncated` when shorter, `TrailingBytes` when longer).
pub(crate) fn exact_length(bytes: &[u8], needed: usize) -> Result<(), DecodeError> {
    match bytes.len() {
        got if got < needed => Err(DecodeError::Truncated { needed, got }),
        got if got > needed => Err(DecodeError::TrailingBytes(got - needed)),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn golden_plain() {
        let e = Envelope::new(
            ClientId::INSPECT,
            MessageKind::INSPECT_SYNC,
            0x0102_0304_0506_0708,
            vec![0xde, 0xad],
        );
        let bytes = e.encode();
        let expected: [u8; 22] = [
            0x01, 0x00, 0x00, 0x02, // version, flags, client 2
            0x02, 0x00, 0x00, 0x00, // kind 2, reserved
            0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, // sequence
            0x00, 0x00, 0x00, 0x02, // length
            0xde, 0xad,
        ];
        assert_eq!(bytes, expected);
        assert_eq!(Envelope::decode(&expected), Ok(e));
    }

    #[test]
    fn golden_hello() {
        let h = Hello {
            flags: HELLO_FLAG_KEYED,
            boot_id: 0x1122_3344_5566_7788,
        };
        assert_eq!(
            h.encode(),
            [
                1, 1, 0, 0, 0, 0, 0, 0, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88
            ]
        );
        assert_eq!(Hello::decode(&h.encode()), Ok(h));
        assert_eq!(Hello::decode(&[1, 0, 0]), Err(DecodeError::BadHello));
    }

    #[test]
    fn bad_inputs_are_typed() {
        assert_eq!(
            Envelope::decode(&[1, 0, 0]),
            Err(DecodeError::Truncated { needed: 20, got: 3 })
        );
        let mut b = Envelope::new(ClientId::RF, MessageKind::RF_CONTROL, 1, vec![1, 2, 3]).encode();
        b[0] = 2;
        assert_eq!(Envelope::decode(&b), Err(DecodeError::UnknownVersion(2)));
        b[0] = 1;
        assert_eq!(
            Envelope::decode(&b[..b.len() - 1]),
            Err(DecodeError::Truncated { needed: 23, got: 22 })
        );
        let mut long = b.clone();
        long.push(0);
        assert_eq!(Envelope::decode(&long), Err(DecodeError::TrailingBytes(1)));
        b[16..20].copy_from_slice(&(MAX_PAYLOAD_LEN as u32 + 1).to_be_bytes());
        assert_eq!(
            Envelope::decode(&b),
            Err(DecodeError::Oversized {
                len: MAX_PAYLOAD_LEN + 1,
                max: MAX_PAYLOAD_LEN
            })
        );
        // AUTH flag set but no tag bytes.
        let mut a = Envelope::new(ClientId::RF, MessageKind::RF_CONTROL, 1, vec![]).encode();
        a[1] = FLAG_AUTH;
        assert_eq!(
            Envelope::decode(&a),
            Err(DecodeError::Truncated { needed: 52, got: 20 })
        );
    }

    #[test]
    fn streams_by_client_class() {
        assert_eq!(ClientId::IPC.stream(), CONTROL_STREAM);
        assert_eq!(ClientId::RF.stream(), CONTROL_STREAM);
        assert_eq!(ClientId::CONFIG.stream(), CONTROL_STREAM);
        assert_eq!(ClientId::INSPECT.stream(), SYNC_STREAM);
        assert_eq!(ClientId(77).stream(), DATA_STREAM);
        assert!(MessageKind::RF_CONTROL.is_known());
        assert!(!MessageKind(200).is_known());
    }

    proptest! {
        #[test]
        fn round_trip(client in any::<u16>(), kind in any::<u8>(), seq in any::<u64>(),
                      payload in proptest::collection::vec(any::<u8>(), 0..512),
                      tag in proptest::option::of(any::<[u8; 32]>())) {
            let e = Envelope { flags: if tag.is_some() { FLAG_AUTH } else { 0 }, client: ClientId(client),
                kind: MessageKind(kind), sequence: seq, payload, tag };
            prop_assert_eq!(Envelope::decode(&e.encode()), Ok(e));
        }

        #[test]
        fn decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..128)) {
            if let Ok(e) = Envelope::decode(&bytes) {
                prop_assert_eq!(Envelope::decode(&e.encode()), Ok(e.clone()));
                prop_assert_eq!(e.encoded_len(), bytes.len());
            }
        }

        #[test]
        fn valid_headers_with_noise(client in any::<u16>(), kind in any::<u8>(), flags in any::<u8>(),
                                    len in 0usize..64, extra in 0usize..40, fill in any::<u8>()) {
            let mut b = vec![fill; HEADER_LEN + len + extra];
            b[0] = VERSION;
            b[1] = flags;
            b[2..4].copy_from_slice(&client.to_be_bytes());
            b[4] = kind;
            b[16..20].copy_from_slice(&(len as u32).to_be_bytes());
            let want = HEADER_LEN + len + if flags & FLAG_AUTH != 0 { TAG_LEN } else { 0 };
            match Envelope::decode(&b) {
                Ok(e) => {
                    prop_assert_eq!(b.len(), want);
                    prop_assert_eq!(Envelope::decode(&e.encode()), Ok(e));
                }
                Err(DecodeError::Truncated { needed, .. }) => prop_assert!(b.len() < want && needed == want),
                Err(DecodeError::TrailingBytes(n)) => prop_assert_eq!(n, b.len() - want),
                Err(other) => prop_assert!(false, "unexpected {:?}", other),
            }
        }
    }
}
