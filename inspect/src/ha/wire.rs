//! The sync wire format: one batch of records per IPC (SCTP) message.
//!
//! ```text
//! Batch header (6 bytes)
//!  0               1               2                               4
//! +---------------+---------------+-------------------------------+
//! |  version (1)  |  flags        |  sequence (u32, big endian)   :
//! +---------------+---------------+-------------------------------+
//! :  sequence     |  records ... to the end of the message
//! +---------------+
//! flags: bit 0 GAP = the sender dropped records before this batch (the receiver must resync).
//! sequence: +1 per batch from the same sender; a receiver that sees a jump resyncs.
//!
//! Record: one header byte = type (bits 0-2) | type-specific flags (bits 3-7), then the fields below.
//! varint = unsigned LEB128; zz = zigzag of a wrapping i32 difference; "id" = zz(id - previous id in the
//! batch, starting at 0).
//!
//! ADD (1)     flags: 0 initiator IPv6, 1 responder IPv6, 2 rule direction out, 3 TCP block, 4 counters
//!             info byte: bits 0-3 state (15: a state byte follows), bits 4-5 protocol (0 TCP, 1 UDP,
//!             2: a protocol byte follows), bit 6 interface equals the previous add's, bit 7 reserved (0)
//!             id, [state], [protocol], [interface varint], share byte (bits 0-3: bytes of the
//!             initiator endpoint equal to the previous add's, bits 4-7: same for the responder),
//!             the initiator's remaining bytes, the responder's remaining bytes (an endpoint is its
//!             address octets followed by its port, big endian),
//!             [TCP block: mask byte (bit 0 initiator next_seq, 1 responder ack, 2 responder next_seq,
//!             3 initiator ack, 4 initiator window, 5 responder window: each present when non-zero;
//!             6 initiator window is a multiple of 2^scale, 7 same for the responder), scale byte
//!             (initiator bits 0-3, responder bits 4-7; 15: a full scale byte follows, initiator first),
//!             then, when present: initiator next_seq u32, zz(responder ack - initiator next_seq),
//!             responder next_seq u32, zz(initiator ack - responder next_seq), each window as varint
//!             (divided by 2^scale when flagged a multiple)],
//!             [counters: varint bytes from initiator, bytes from responder, age s, idle ms]
//! UPDATE (2)  flags: 0 TCP positions, 1 idle time
//!             id, state byte, [initiator next_seq u32, initiator ack u32, zz(responder next_seq -
//!             initiator ack), zz(responder ack - initiator next_seq)], [idle ms varint]
//! DELETE (3)  id
//! BULK_REQUEST (4)  no fields
//! BULK_BEGIN (5)    epoch varint
//! BULK_END (6)      epoch varint, session count varint, digest u64 big endian
//! ```
//!
//! The "previous" values (id, interface, endpoints) start from zero in every batch, so each batch decodes
//! on its own. Unknown record types stop the decoding of a batch: the receiver counts the error and
//! resyncs. IPv6 flow labels and scope ids are not carried.
//!
//! The code is in three parts: `encode` ([`BatchEncoder`], [`encode_batch`]), `decode` ([`decode_header`],
//! [`BatchDecoder`], [`decode_batch`]) and `layout` (the flag bits, escape codes and per-batch compression
//! context both share).

mod decode;
mod encode;
mod layout;

pub use decode::{BatchDecoder, decode_batch, decode_header};
pub use encode::{BatchEncoder, encode_batch};

use super::store::SessionUpdate;
use crate::record::{HaSessionId, SessionRecord};

/// The batch format version this build speaks.
pub const VERSION: u8 = 1;
/// Length of the batch header.
pub const HEADER_LEN: usize = 6;

/// Type code of a record (3 bits on the wire). Unknown codes are reported, not lost.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RecordType(pub u8);

impl RecordType {
    /// A session was created (or is part of a bulk synchronization).
    pub const ADD: Self = Self(1);
    /// Periodic refresh of a session.
    pub const UPDATE: Self = Self(2);
    /// A session ended.
    pub const DELETE: Self = Self(3);
    /// The standby asks for a bulk synchronization.
    pub const BULK_REQUEST: Self = Self(4);
    /// A bulk synchronization starts: the standby flushes its HA sessions.
    pub const BULK_BEGIN: Self = Self(5);
    /// A bulk synchronization ends, with the table's count and digest.
    pub const BULK_END: Self = Self(6);
}

/// Batch header flags.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct BatchFlags(pub u8);

impl BatchFlags {
    /// The sender dropped records before this batch: the receiver must resynchronize.
    pub const GAP: u8 = 0x01;

    /// Whether the GAP flag is set.
    pub fn gap(self) -> bool {
        self.0 & Self::GAP != 0
    }
}

/// The header of one batch.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct BatchHeader {
    /// Format version ([`VERSION`]).
    pub version: u8,
    /// Flags.
    pub flags: BatchFlags,
    /// Batch sequence number of the sender.
    pub seq: u32,
}

impl BatchHeader {
    /// A header of the current version.
    pub fn new(seq: u32, gap: bool) -> Self {
        Self {
            version: VERSION,
            flags: BatchFlags(if gap { BatchFlags::GAP } else { 0 }),
            seq,
        }
    }
}

/// One sync record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Record {
    /// A session to create (or replace) on the standby.
    Add(SessionRecord),
    /// A refresh of an existing session.
    Update(SessionUpdate),
    /// A session that ended.
    Delete(HaSessionId),
    /// The standby asks for a bulk synchronization.
    BulkRequest,
    /// Start of bulk synchronization `epoch`.
    BulkBegin {
        /// Bulk synchronization number, chosen by the Active.
        epoch: u32,
    },
    /// End of bulk synchronization `epoch`.
    BulkEnd {
        /// Bulk synchronization number.
        epoch: u32,
        /// Number of HA sessions on the Active when this marker was queued.
        count: u64,
        /// Their digest ([`super::digest::TableDigest::sum`]).
        digest: u64,
    },
}

impl Record {
    /// The record's wire type.
    pub fn record_type(&self) -> RecordType {
        match self {
            Self::Add(_) => RecordType::ADD,
            Self::Update(_) => RecordType::UPDATE,
            Self::Delete(_) => RecordType::DELETE,
            Self::BulkRequest => RecordType::BULK_REQUEST,
            Self::BulkBegin { .. } => RecordType::BULK_BEGIN,
            Self::BulkEnd { .. } => RecordType::BULK_END,
        }
    }
}
