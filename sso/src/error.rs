//! Errors of the redundancy manager: peer-message decoding and refused operator requests.

use thiserror::Error;

/// Why a peer message could not be decoded. Every variant is counted by the manager; none is fatal.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// Fewer bytes than the structure being read needs.
    #[error("message truncated: needed {needed} more bytes at offset {offset}")]
    Truncated {
        /// Offset where the read started.
        offset: usize,
        /// Bytes that were missing.
        needed: usize,
    },
    /// The first two bytes are not the RF message magic.
    #[error("bad magic {0:#06x}")]
    BadMagic(u16),
    /// A protocol version this build does not speak.
    #[error("unsupported protocol version {0}")]
    UnsupportedVersion(u8),
    /// A message type this build does not know.
    #[error("unknown message type {0}")]
    UnknownType(u8),
    /// The declared body length does not match the bytes present.
    #[error("body length {declared} does not match the {actual} bytes present")]
    LengthMismatch {
        /// Length the header declares.
        declared: usize,
        /// Bytes actually following the header.
        actual: usize,
    },
    /// The body was parsed but bytes were left over.
    #[error("{0} unexpected trailing bytes")]
    TrailingBytes(usize),
    /// An RF state code outside 1..=13.
    #[error("invalid RF state code {0}")]
    BadRfState(u8),
    /// An interface direction other than in (0) or out (1).
    #[error("invalid direction code {0}")]
    BadDirection(u8),
    /// A text field that is not UTF-8.
    #[error("text field is not UTF-8")]
    BadUtf8,
}

/// Why an operator request (`redundancy force-switchover`, a resync) was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub enum RefusalReason {
    /// Redundancy is not configured or disabled.
    #[error("redundancy is disabled")]
    Disabled,
    /// A switchover can only be requested on the ACTIVE unit.
    #[error("this unit is not ACTIVE (state {0})")]
    NotActive(String),
    /// There is no communication with the peer.
    #[error("no communication with the peer")]
    NoPeer,
    /// The peer is not ready to take over.
    #[error("peer is not STANDBY HOT (peer state {0})")]
    PeerNotStandbyHot(String),
    /// A resync can only be requested on a standby unit whose peer is ACTIVE.
    #[error("this unit is not a standby of an ACTIVE peer (state {0})")]
    NotStandby(String),
    /// A planned switchover is already under way.
    #[error("a switchover is already in progress")]
    SwitchoverInProgress,
}
