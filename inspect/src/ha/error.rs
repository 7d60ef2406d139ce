//! Errors of the HA sync protocol.

use thiserror::Error;

/// Why a sync message could not be decoded. Every variant is counted by the sync client and resolved by a
/// resynchronization; none of them panics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The message or one of its records ends before its fields do.
    #[error("truncated sync message at byte {offset}")]
    Truncated {
        /// Offset of the first missing byte.
        offset: usize,
    },
    /// A batch version this build does not speak.
    #[error("unsupported sync version {0}")]
    UnsupportedVersion(u8),
    /// A record type this build does not know (the rest of the batch cannot be parsed).
    #[error("unknown sync record type {code} at byte {offset}")]
    UnknownRecordType {
        /// The 3-bit record type code.
        code: u8,
        /// Offset of the record.
        offset: usize,
    },
    /// A variable-length integer longer than its type allows.
    #[error("variable-length integer overflows at byte {offset}")]
    VarintOverflow {
        /// Offset of the integer.
        offset: usize,
    },
    /// A field holds a value that no encoder produces.
    #[error("invalid {field} at byte {offset}")]
    InvalidField {
        /// Name of the field.
        field: &'static str,
        /// Offset of the field.
        offset: usize,
    },
}

impl DecodeError {
    /// Short name of the error kind, used for counters and logs.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Truncated { .. } => "truncated",
            Self::UnsupportedVersion(_) => "unsupported_version",
            Self::UnknownRecordType { .. } => "unknown_record_type",
            Self::VarintOverflow { .. } => "varint_overflow",
            Self::InvalidField { .. } => "invalid_field",
        }
    }
}
