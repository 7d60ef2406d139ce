//! The bit layout of the records (flag bits, escape codes, field sizes) and the per-batch compression
//! context, shared by the encoder and the decoder. The format itself is described in [`super`].

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};

/// Flags of an ADD record (bits 3-7 of its header byte, shifted down).
pub(super) mod add_flag {
    /// The initiator endpoint is IPv6.
    pub(in crate::ha::wire) const INIT_V6: u8 = 1 << 0;
    /// The responder endpoint is IPv6.
    pub(in crate::ha::wire) const RESP_V6: u8 = 1 << 1;
    /// The rule direction is out (in otherwise).
    pub(in crate::ha::wire) const DIR_OUT: u8 = 1 << 2;
    /// A TCP block follows the endpoints.
    pub(in crate::ha::wire) const TCP: u8 = 1 << 3;
    /// The byte, age and idle counters follow.
    pub(in crate::ha::wire) const COUNTERS: u8 = 1 << 4;
}

/// The info byte of an ADD record.
pub(super) mod add_info {
    /// Bits 0-3: the state; this value means a full state byte follows.
    pub(in crate::ha::wire) const STATE_ESCAPE: u8 = 0x0f;
    /// Bits 4-5: the protocol code (see [`super::proto_code`]).
    pub(in crate::ha::wire) const PROTO_SHIFT: u8 = 4;
    /// The interface equals the previous add's (no interface varint follows).
    pub(in crate::ha::wire) const IFACE_SAME: u8 = 1 << 6;
    /// Reserved, must be zero.
    pub(in crate::ha::wire) const RESERVED: u8 = 1 << 7;
}

/// The protocol code in an ADD info byte.
pub(super) mod proto_code {
    /// TCP.
    pub(in crate::ha::wire) const TCP: u8 = 0;
    /// UDP.
    pub(in crate::ha::wire) const UDP: u8 = 1;
    /// Any other protocol: a protocol byte follows.
    pub(in crate::ha::wire) const EXPLICIT: u8 = 2;
}

/// The mask byte of an ADD record's TCP block: which fields are present (non-zero), and which windows
/// are sent divided by 2^scale.
pub(super) mod tcp_mask {
    /// The initiator's next sequence number.
    pub(in crate::ha::wire) const I_NEXT: u8 = 1 << 0;
    /// The responder's acknowledgement.
    pub(in crate::ha::wire) const R_ACK: u8 = 1 << 1;
    /// The responder's next sequence number.
    pub(in crate::ha::wire) const R_NEXT: u8 = 1 << 2;
    /// The initiator's acknowledgement.
    pub(in crate::ha::wire) const I_ACK: u8 = 1 << 3;
    /// The initiator's window.
    pub(in crate::ha::wire) const I_WIN: u8 = 1 << 4;
    /// The responder's window.
    pub(in crate::ha::wire) const R_WIN: u8 = 1 << 5;
    /// The initiator's window is a multiple of 2^scale and sent divided.
    pub(in crate::ha::wire) const I_WIN_SCALED: u8 = 1 << 6;
    /// The responder's window is a multiple of 2^scale and sent divided.
    pub(in crate::ha::wire) const R_WIN_SCALED: u8 = 1 << 7;
}

/// A 4-bit window scale of this value means a full scale byte follows.
pub(super) const SCALE_ESCAPE: u8 = 0x0f;

/// Flags of an UPDATE record (bits 3-7 of its header byte, shifted down).
pub(super) mod update_flag {
    /// The four TCP positions follow.
    pub(in crate::ha::wire) const TCP: u8 = 1 << 0;
    /// The idle time follows.
    pub(in crate::ha::wire) const IDLE: u8 = 1 << 1;
}

/// Bytes of the longest endpoint: an IPv6 address and a port.
pub(super) const ENDPOINT_MAX: usize = 18;
/// Longest prefix shared with the previous endpoint that a share nibble can say.
pub(super) const SHARE_MAX: usize = 15;

/// An endpoint as it stands on the wire.
pub(super) type EndpointBytes = [u8; ENDPOINT_MAX];

/// Per-batch compression context, identical on both sides.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Context {
    pub(super) prev_id: u32,
    pub(super) prev_iface: u16,
    pub(super) prev_init: EndpointBytes,
    pub(super) prev_resp: EndpointBytes,
}

/// The zigzag code of a wrapping i32 difference.
pub(super) fn zigzag(d: u32) -> u32 {
    let d = d as i32;
    ((d << 1) ^ (d >> 31)) as u32
}

/// The inverse of [`zigzag`].
pub(super) fn unzigzag(z: u32) -> u32 {
    (z >> 1) ^ (z & 1).wrapping_neg()
}

/// Length of an endpoint on the wire: its address octets and its port.
pub(super) fn endpoint_len(v6: bool) -> usize {
    if v6 { 18 } else { 6 }
}

/// `addr` as address octets followed by its port (big endian), with its length.
pub(super) fn endpoint_bytes(addr: &SocketAddr) -> (EndpointBytes, usize) {
    let mut out = [0u8; ENDPOINT_MAX];
    let len = match addr {
        SocketAddr::V4(a) => {
            out[..4].copy_from_slice(&a.ip().octets());
            4
        }
        SocketAddr::V6(a) => {
            out[..16].copy_from_slice(&a.ip().octets());
            16
        }
    };
    out[len..len + 2].copy_from_slice(&addr.port().to_be_bytes());
    (out, len + 2)
}

/// The endpoint written by [`endpoint_bytes`] (flow label and scope id are not carried).
pub(super) fn endpoint_addr(bytes: &EndpointBytes, v6: bool) -> SocketAddr {
    let len = endpoint_len(v6);
    let port = u16::from_be_bytes([bytes[len - 2], bytes[len - 1]]);
    if v6 {
        let mut o = [0u8; 16];
        o.copy_from_slice(&bytes[..16]);
        SocketAddr::V6(SocketAddrV6::new(Ipv6Addr::from(o), port, 0, 0))
    } else {
        SocketAddr::V4(SocketAddrV4::new(
            Ipv4Addr::new(bytes[0], bytes[1], bytes[2], bytes[3]),
            port,
        ))
    }
}
