//! Error types of the `ipc` crate.

use thiserror::Error;

/// A configuration value outside the range the association accepts.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A numeric value outside its range.
    #[error("{field} {value} is out of range {min}-{max}")]
    OutOfRange {
        /// The IOS keyword or field name.
        field: &'static str,
        /// The rejected value.
        value: u64,
        /// Smallest accepted value.
        min: u64,
        /// Largest accepted value.
        max: u64,
    },
    /// `local-ip` or `remote-ip` with no address or more than two.
    #[error("{field} takes one or two addresses, got {count}")]
    AddressCount {
        /// `local-ip` or `remote-ip`.
        field: &'static str,
        /// The number of addresses given.
        count: usize,
    },
    /// The two sides of the association have a different number of addresses.
    #[error("local-ip has {local} addresses but remote-ip has {remote}")]
    AddressPairMismatch {
        /// Number of local addresses.
        local: usize,
        /// Number of remote addresses.
        remote: usize,
    },
    /// IPv4 and IPv6 mixed on one address pair.
    #[error("address pair {index} mixes IPv4 and IPv6")]
    MixedFamilies {
        /// Zero-based index of the pair.
        index: usize,
    },
    /// `retransmit-timeout MIN MAX` with MIN greater than MAX.
    #[error("retransmit-timeout minimum {min} ms exceeds maximum {max} ms")]
    RtoOrder {
        /// The minimum.
        min: u32,
        /// The maximum.
        max: u32,
    },
    /// An empty `security key`.
    #[error("security key must not be empty")]
    EmptyKey,
}

/// Why bytes received from the peer could not be turned into a message.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// Fewer bytes than the header or the declared payload needs.
    #[error("truncated message: need {needed} bytes, have {got}")]
    Truncated {
        /// Bytes required.
        needed: usize,
        /// Bytes available.
        got: usize,
    },
    /// A payload length above the envelope limit.
    #[error("oversized message: payload of {len} bytes exceeds {max}")]
    Oversized {
        /// Declared payload length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// An envelope version this build does not speak.
    #[error("unknown envelope version {0}")]
    UnknownVersion(u8),
    /// Bytes after the payload (and tag) that the header does not account for.
    #[error("{0} trailing bytes after the message")]
    TrailingBytes(usize),
    /// A message kind this build does not know.
    #[error("unknown message kind {0}")]
    UnknownKind(u8),
    /// The hello payload is malformed.
    #[error("malformed hello")]
    BadHello,
    /// A bundle whose record count is zero or differs from the records it carries.
    #[error("bundle declares {declared} records but carries {found}")]
    BadBundleCount {
        /// The count in the bundle header.
        declared: u32,
        /// Records found in the records area.
        found: u32,
    },
    /// A bundle whose sequence numbers would wrap around.
    #[error("bundle sequence numbers wrap around")]
    SequenceOverflow,
    /// A bundle that arrived on another SCTP stream than the one its sender put it on.
    #[error("bundle for stream {declared} arrived on stream {arrived}")]
    BundleStream {
        /// The stream in the bundle header.
        declared: u16,
        /// The stream it arrived on.
        arrived: u16,
    },
}

/// Why an incoming message failed authentication.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum AuthError {
    /// A key is configured but the message carries no tag.
    #[error("message is not authenticated but a security key is configured")]
    MissingTag,
    /// No key is configured but the peer authenticates its messages.
    #[error("peer authenticates its messages but no security key is configured")]
    UnexpectedTag,
    /// The tag does not match (wrong key or altered message).
    #[error("authentication tag mismatch (wrong key or altered message)")]
    BadTag,
    /// The sequence number was already seen or is older than the replay window.
    #[error("sequence {0} replayed or outside the replay window")]
    Replayed(u64),
}

/// Why a message could not be queued for sending.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum SendError {
    /// The bounded send queue is full; the message was dropped and counted.
    #[error("send queue full")]
    QueueFull,
    /// The association is not up; the message was dropped and counted.
    #[error("association is not up")]
    NotConnected,
    /// The payload exceeds the envelope limit.
    #[error("payload of {0} bytes exceeds the message size limit")]
    TooLarge(usize),
    /// The association driver has stopped.
    #[error("association driver has stopped")]
    Stopped,
}

/// Errors of the association driver.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum IpcError {
    /// The configuration was rejected.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The requested transport is not available on this host.
    #[error("transport {transport} unavailable: {reason}")]
    TransportUnavailable {
        /// The transport's name.
        transport: &'static str,
        /// Why.
        reason: String,
    },
    /// An operating-system error while setting up the transport.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
}
