//! Errors of the HSRP crate: wire decoding and configuration checks.

use thiserror::Error;

/// Why a received datagram could not be decoded as HSRP.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// Fewer bytes than the smallest valid packet (or TLV) needs.
    #[error("truncated: {needed} bytes needed, {got} present")]
    Truncated {
        /// Bytes the structure needs.
        needed: usize,
        /// Bytes that were present.
        got: usize,
    },
    /// Larger than any HSRP packet this implementation accepts.
    #[error("oversized packet of {0} bytes")]
    Oversized(usize),
    /// A version 1 packet whose length is neither 20 (plain) nor 50 (with the MD5 TLV).
    #[error("version 1 packet of unexpected length {0}")]
    BadV1Length(usize),
    /// The 30 bytes after a version 1 packet are not an MD5 authentication TLV.
    #[error("version 1 trailer is not an MD5 TLV (type {typ}, length {len})")]
    BadV1Trailer {
        /// TLV type found.
        typ: u8,
        /// TLV length found.
        len: u8,
    },
    /// A known version 2 TLV with the wrong length.
    #[error("TLV type {typ} has length {len}, expected {expected}")]
    BadTlvLength {
        /// TLV type.
        typ: u8,
        /// Length found.
        len: u8,
        /// Length the type requires.
        expected: u8,
    },
    /// A version 2 TLV running past the end of the datagram.
    #[error("TLV type {typ} of length {len} runs past the end of the packet")]
    TlvOverrun {
        /// TLV type.
        typ: u8,
        /// Declared length.
        len: u8,
    },
    /// A version 2 packet without a group state TLV.
    #[error("version 2 packet without a group state TLV")]
    MissingGroupState,
    /// The group state TLV names an HSRP version other than 2.
    #[error("group state TLV carries version {0}, expected 2")]
    BadTlvVersion(u8),
    /// The group state TLV names an IP version other than 4 or 6.
    #[error("group state TLV carries IP version {0}")]
    BadIpVersion(u8),
}

/// A configuration value this implementation refuses.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// Group number out of range for the version.
    #[error("group {group} out of range for HSRP version {version} (max {max})")]
    GroupOutOfRange {
        /// Group number.
        group: u16,
        /// HSRP version.
        version: u8,
        /// Largest valid group.
        max: u16,
    },
    /// Hold time not greater than hello time, or out of range.
    #[error("invalid timers: hello {hello_ms} ms, hold {hold_ms} ms ({reason})")]
    BadTimers {
        /// Hello time in ms.
        hello_ms: u32,
        /// Hold time in ms.
        hold_ms: u32,
        /// Why.
        reason: &'static str,
    },
    /// The same (interface, version, group) configured twice.
    #[error("group {group} configured twice on {interface}")]
    DuplicateGroup {
        /// Interface name.
        interface: String,
        /// Group number.
        group: u16,
    },
    /// A text authentication string longer than 8 bytes.
    #[error("authentication text longer than 8 bytes")]
    AuthTextTooLong,
}
