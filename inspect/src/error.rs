//! Errors of the inspect engine core.

use thiserror::Error;

/// Why a packet could not be parsed. Each variant is a drop reason of its own in
/// [`DropCounters`](crate::status::DropCounters)`::malformed`; the variant is kept for `debug ip inspect`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ParseError {
    /// Fewer bytes than the fixed part of a header.
    #[error("truncated {0} header")]
    Truncated(&'static str),
    /// The IP version nibble is neither 4 nor 6.
    #[error("IP version {0} is not supported")]
    BadVersion(u8),
    /// IPv4 header length below 20 bytes or beyond the packet.
    #[error("bad IPv4 header length {0}")]
    BadHeaderLength(u8),
    /// IPv4 total length / IPv6 payload length inconsistent with the bytes received.
    #[error("bad IP length {0}")]
    BadLength(u32),
    /// TCP data offset below 5 words or beyond the segment.
    #[error("bad TCP data offset {0}")]
    BadDataOffset(u8),
    /// UDP length field below 8 or beyond the datagram.
    #[error("bad UDP length {0}")]
    BadUdpLength(u16),
    /// Too many or malformed IPv6 extension headers.
    #[error("bad IPv6 extension header chain")]
    BadExtensionHeaders,
}
