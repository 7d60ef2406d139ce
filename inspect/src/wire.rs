//! Zero-copy, checked views of the packets the engine judges.
//!
//! Every view is built with `new_checked`, which verifies that each fixed field and each variable-length
//! part (IPv4 options, IPv6 extension headers, TCP options) lies inside the buffer; the accessors then read
//! without further checks and never panic. [`parse`] runs the views over one packet (bytes starting at
//! the IP header, as NFQUEUE delivers them) and returns a small [`PacketInfo`] summary.
//!
//! Fragments: the first fragment carries the transport header and is handled like a whole packet
//! (if its transport header is cut short it is malformed). Non-first fragments carry no ports: they are
//! reported with [`L4Info::Fragment`] and the engine judges them by the ACLs alone, where entries with
//! port conditions cannot match them (see the engine docs).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::error::ParseError;

/// IP protocol numbers the engine knows by name.
pub mod ip_proto {
    /// ICMP.
    pub const ICMP: u8 = 1;
    /// TCP.
    pub const TCP: u8 = 6;
    /// UDP.
    pub const UDP: u8 = 17;
    /// ICMPv6.
    pub const ICMPV6: u8 = 58;
}

fn be16(b: &[u8], at: usize) -> u16 {
    match b.get(at..at + 2) {
        Some(s) => u16::from_be_bytes([s[0], s[1]]),
        None => 0,
    }
}

fn be32(b: &[u8], at: usize) -> u32 {
    match b.get(at..at + 4) {
        Some(s) => u32::from_be_bytes([s[0], s[1], s[2], s[3]]),
        None => 0,
    }
}

// ===== IPv4 =====

/// A checked view of an IPv4 header (RFC 791).
///
/// ```text
///  0                   1                   2                   3
///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
/// |Version|  IHL  |Type of Service|          Total Length         |
/// |         Identification        |Flags|      Fragment Offset    |
/// |  Time to Live |    Protocol   |         Header Checksum       |
/// |                       Source Address                          |
/// |                    Destination Address                        |
/// |                    Options                    |    Padding    |
/// ```
#[derive(Clone, Copy, Debug)]
pub struct Ipv4Packet<'a> {
    buf: &'a [u8],
}

impl<'a> Ipv4Packet<'a> {
    /// Minimum header length.
    pub const MIN_HEADER: usize = 20;

    /// Checks version, IHL and total length against `buf`; trailing bytes beyond the total length
    /// (link-layer padding) are ignored.
    pub fn new_checked(buf: &'a [u8]) -> Result<Self, ParseError> {
        if buf.len() < Self::MIN_HEADER {
            return Err(ParseError::Truncated("IPv4"));
        }
        let version = buf[0] >> 4;
        if version != 4 {
            return Err(ParseError::BadVersion(version));
        }
        let ihl = buf[0] & 0x0f;
        let header_len = usize::from(ihl) * 4;
        if header_len < Self::MIN_HEADER || header_len > buf.len() {
            return Err(ParseError::BadHeaderLength(ihl));
        }
        let total = usize::from(be16(buf, 2));
        if total < header_len || total > buf.len() {
            return Err(ParseError::BadLength(total as u32));
        }
        Ok(Self { buf: &buf[..total] })
    }

    /// Header length in bytes (including options).
    pub fn header_len(&self) -> usize {
        usize::from(self.buf[0] & 0x0f) * 4
    }
    /// Total length in bytes.
    pub fn total_len(&self) -> usize {
        self.buf.len()
    }
    /// More-fragments flag.
    pub fn more_fragments(&self) -> bool {
        self.buf[6] & 0x20 != 0
    }
    /// Fragment offset in 8-byte units.
    pub fn fragment_offset(&self) -> u16 {
        be16(self.buf, 6) & 0x1fff
    }
    /// Protocol of the payload.
    pub fn protocol(&self) -> u8 {
        self.buf[9]
    }
    /// Source address.
    pub fn src(&self) -> Ipv4Addr {
        Ipv4Addr::new(self.buf[12], self.buf[13], self.buf[14], self.buf[15])
    }
    /// Destination address.
    pub fn dst(&self) -> Ipv4Addr {
        Ipv4Addr::new(self.buf[16], self.buf[17], self.buf[18], self.buf[19])
    }
    /// The options (possibly empty).
    pub fn options(&self) -> &'a [u8] {
        &self.buf[Self::MIN_HEADER..self.header_len()]
    }
    /// The payload after the header and options.
    pub fn payload(&self) -> &'a [u8] {
        &self.buf[self.header_len()..]
    }
}

// ===== IPv6 =====

/// A checked view of an IPv6 fixed header (RFC 8200) with its extension-header chain walked.
#[derive(Clone, Copy, Debug)]
pub struct Ipv6Packet<'a> {
    buf: &'a [u8],
    upper_proto: u8,
    upper_offset: usize,
    fragment: Fragment,
}

impl<'a> Ipv6Packet<'a> {
    /// Fixed header length.
    pub const HEADER: usize = 40;
    /// Longest extension-header chain accepted; longer chains are malformed.
    pub const MAX_EXTENSION_HEADERS: usize = 8;

    /// Checks the fixed header and payload length, then skips hop-by-hop, routing, destination-options,
    /// fragment and AH headers, each checked to lie inside the packet.
    pub fn new_checked(buf: &'a [u8]) -> Result<Self, ParseError> {
        if buf.len() < Self::HEADER {
            return Err(ParseError::Truncated("IPv6"));
        }
        let version = buf[0] >> 4;
        if version != 6 {
            return Err(ParseError::BadVersion(version));
        }
        let payload_len = usize::from(be16(buf, 4));
        let total = Self::HEADER + payload_len;
        if total > buf.len() {
            return Err(ParseError::BadLength(total as u32));
        }
        let buf = &buf[..total];
        let mut next = buf[6];
        let mut offset = Self::HEADER;
        let mut fragment = Fragment::None;
        for _ in 0..=Self::MAX_EXTENSION_HEADERS {
            match next {
                // hop-by-hop, routing, destination options: (len + 1) * 8 bytes
                0 | 43 | 60 => {
                    let hdr = buf
                        .get(offset..offset + 2)
                        .ok_or(ParseError::BadExtensionHeaders)?;
                    let len = (usize::from(hdr[1]) + 1) * 8;
                    if offset + len > buf.len() {
                        return Err(ParseError::BadExtensionHeaders);
                    }
                    next = hdr[0];
                    offset += len;
                }
                // fragment header: 8 bytes
                44 => {
                    let hdr = buf
                        .get(offset..offset + 8)
                        .ok_or(ParseError::BadExtensionHeaders)?;
                    let frag_off = u16::from_be_bytes([hdr[2], hdr[3]]) >> 3;
                    let more = hdr[3] & 1 != 0;
                    fragment = if frag_off != 0 {
                        Fragment::NonFirst
                    } else if more {
                        Fragment::First
                    } else {
                        Fragment::None
                    };
                    next = hdr[0];
                    offset += 8;
                }
                // authentication header: (len + 2) * 4 bytes
                51 => {
                    let hdr = buf
                        .get(offset..offset + 2)
                        .ok_or(ParseError::BadExtensionHeaders)?;
                    let len = (usize::from(hdr[1]) + 2) * 4;
                    if offset + len > buf.len() {
                        return Err(ParseError::BadExtensionHeaders);
                    }
                    next = hdr[0];
                    offset += len;
                }
                _ => {
                    return Ok(Self {
                        buf,
                        upper_proto: next,
                        upper_offset: offset,
                        fragment,
                    });
                }
            }
            if fragment == Fragment::NonFirst {
                // The rest of the chain is in the first fragment; nothing more to read here.
                return Ok(Self {
                    buf,
                    upper_proto: next,
                    upper_offset: offset,
                    fragment,
                });
            }
        }
        Err(ParseError::BadExtensionHeaders)
    }

    /// Source address.
    pub fn src(&self) -> Ipv6Addr {
        let mut a = [0u8; 16];
        a.copy_from_slice(&self.buf[8..24]);
        Ipv6Addr::from(a)
    }
    /// Destination address.
    pub fn dst(&self) -> Ipv6Addr {
        let mut a = [0u8; 16];
        a.copy_from_slice(&self.buf[24..40]);
        Ipv6Addr::from(a)
    }
    /// Protocol after the extension headers (59 = no next header).
    pub fn upper_protocol(&self) -> u8 {
        self.upper_proto
    }
    /// Fragment position of this packet.
    pub fn fragment(&self) -> Fragment {
        self.fragment
    }
    /// Total length in bytes.
    pub fn total_len(&self) -> usize {
        self.buf.len()
    }
    /// The upper-layer payload after the extension headers.
    pub fn payload(&self) -> &'a [u8] {
        &self.buf[self.upper_offset..]
    }
}

// ===== TCP =====

/// TCP flag bits.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TcpFlags(pub u8);

impl TcpFlags {
    /// FIN.
    pub const FIN: u8 = 0x01;
    /// SYN.
    pub const SYN: u8 = 0x02;
    /// RST.
    pub const RST: u8 = 0x04;
    /// PSH.
    pub const PSH: u8 = 0x08;
    /// ACK.
    pub const ACK: u8 = 0x10;

    /// Whether every bit of `mask` is set.
    pub const fn has(self, mask: u8) -> bool {
        self.0 & mask == mask
    }
    /// FIN set.
    pub const fn fin(self) -> bool {
        self.has(Self::FIN)
    }
    /// SYN set.
    pub const fn syn(self) -> bool {
        self.has(Self::SYN)
    }
    /// RST set.
    pub const fn rst(self) -> bool {
        self.has(Self::RST)
    }
    /// ACK set.
    pub const fn ack(self) -> bool {
        self.has(Self::ACK)
    }
}

/// A checked view of a TCP header (RFC 9293) with its options.
#[derive(Clone, Copy, Debug)]
pub struct TcpSegment<'a> {
    buf: &'a [u8],
}

impl<'a> TcpSegment<'a> {
    /// Minimum header length.
    pub const MIN_HEADER: usize = 20;

    /// Checks the fixed header and the data offset against `buf`.
    pub fn new_checked(buf: &'a [u8]) -> Result<Self, ParseError> {
        if buf.len() < Self::MIN_HEADER {
            return Err(ParseError::Truncated("TCP"));
        }
        let off = buf[12] >> 4;
        let hl = usize::from(off) * 4;
        if hl < Self::MIN_HEADER || hl > buf.len() {
            return Err(ParseError::BadDataOffset(off));
        }
        Ok(Self { buf })
    }
    /// Source port.
    pub fn src_port(&self) -> u16 {
        be16(self.buf, 0)
    }
    /// Destination port.
    pub fn dst_port(&self) -> u16 {
        be16(self.buf, 2)
    }
    /// Sequence number.
    pub fn seq(&self) -> u32 {
        be32(self.buf, 4)
    }
    /// Acknowledgement number.
    pub fn ack_number(&self) -> u32 {
        be32(self.buf, 8)
    }
    /// Header length including options.
    pub fn header_len(&self) -> usize {
        usize::from(self.buf[12] >> 4) * 4
    }
    /// Flags (FIN..ACK; ECN bits dropped).
    pub fn flags(&self) -> TcpFlags {
        TcpFlags(self.buf[13] & 0x3f)
    }
    /// Advertised window (unscaled).
    pub fn window(&self) -> u16 {
        be16(self.buf, 14)
    }
    /// Payload length.
    pub fn payload_len(&self) -> usize {
        self.buf.len() - self.header_len()
    }
    /// The option bytes.
    pub fn options(&self) -> &'a [u8] {
        &self.buf[Self::MIN_HEADER..self.header_len()]
    }
    /// MSS and window-scale options. A malformed option list stops the walk (what was read so far is kept).
    pub fn parse_options(&self) -> TcpOptions {
        let mut out = TcpOptions::default();
        let opts = self.options();
        let mut i = 0;
        while i < opts.len() {
            match opts[i] {
                0 => break,
                1 => i += 1,
                kind => {
                    let Some(&len) = opts.get(i + 1) else { break };
                    let len = usize::from(len);
                    if len < 2 || i + len > opts.len() {
                        break;
                    }
                    match (kind, len) {
                        (2, 4) => out.mss = Some(u16::from_be_bytes([opts[i + 2], opts[i + 3]])),
                        // RFC 7323: shifts above 14 are treated as 14.
                        (3, 3) => out.window_scale = Some(opts[i + 2].min(14)),
                        _ => {}
                    }
                    i += len;
                }
            }
        }
        out
    }
}

/// TCP options the tracker uses.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TcpOptions {
    /// Maximum segment size.
    pub mss: Option<u16>,
    /// Window scale shift (clamped to 14).
    pub window_scale: Option<u8>,
}

// ===== UDP =====

/// A checked view of a UDP header (RFC 768).
#[derive(Clone, Copy, Debug)]
pub struct UdpDatagram<'a> {
    buf: &'a [u8],
}

impl<'a> UdpDatagram<'a> {
    /// Header length.
    pub const HEADER: usize = 8;

    /// Checks the header and the length field (8 ≤ length ≤ bytes present).
    pub fn new_checked(buf: &'a [u8]) -> Result<Self, ParseError> {
        if buf.len() < Self::HEADER {
            return Err(ParseError::Truncated("UDP"));
        }
        let len = be16(buf, 4);
        if usize::from(len) < Self::HEADER || usize::from(len) > buf.len() {
            return Err(ParseError::BadUdpLength(len));
        }
        Ok(Self {
            buf: &buf[..usize::from(len)],
        })
    }
    /// Source port.
    pub fn src_port(&self) -> u16 {
        be16(self.buf, 0)
    }
    /// Destination port.
    pub fn dst_port(&self) -> u16 {
        be16(self.buf, 2)
    }
    /// Payload length.
    pub fn payload_len(&self) -> usize {
        self.buf.len() - Self::HEADER
    }
}

// ===== Summary =====

/// Where a packet sits in a fragmented datagram.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fragment {
    /// Not fragmented.
    None,
    /// First fragment (offset 0, more fragments follow): carries the transport header.
    First,
    /// A later fragment: no transport header.
    NonFirst,
}

/// What the engine needs from a TCP segment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TcpInfo {
    /// Source port.
    pub src_port: u16,
    /// Destination port.
    pub dst_port: u16,
    /// Sequence number.
    pub seq: u32,
    /// Acknowledgement number (meaningful when ACK is set).
    pub ack: u32,
    /// Flags.
    pub flags: TcpFlags,
    /// Raw (unscaled) window.
    pub window: u16,
    /// Window-scale option (SYN segments).
    pub window_scale: Option<u8>,
    /// Payload length in bytes.
    pub payload_len: u32,
}

/// The transport part of a packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum L4Info {
    /// TCP.
    Tcp(TcpInfo),
    /// UDP with its ports.
    Udp {
        /// Source port.
        src_port: u16,
        /// Destination port.
        dst_port: u16,
    },
    /// ICMP or ICMPv6 (ACL-judged, never inspected).
    Icmp {
        /// Type.
        icmp_type: u8,
        /// Code.
        code: u8,
    },
    /// A non-first fragment: protocol known, ports unknown.
    Fragment,
    /// Any other protocol.
    Other,
}

/// An address in the form flow keys use: `u128::from_ne_bytes` of its 16-byte form (IPv4 mapped into the
/// last four bytes), so that a stored address is compared and hashed with plain 16-byte loads.
#[inline]
pub(crate) fn addr_key(a: &[u8; 16]) -> u128 {
    u128::from_ne_bytes(*a)
}

/// The 16-byte form of `::ffff:0.0.0.0`.
const MAPPED_PREFIX: [u8; 16] = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 0, 0];

/// The [`addr_key`] of the IPv4 address whose four bytes, read in memory order, are `v4`.
#[inline]
pub(crate) fn v4_key(v4: u32) -> u128 {
    let mut b = MAPPED_PREFIX;
    b[12..16].copy_from_slice(&v4.to_ne_bytes());
    u128::from_ne_bytes(b)
}

/// The four address bytes (memory order) of an IPv4-mapped key, or `None` for any other address.
#[inline]
pub(crate) fn key_v4(key: u128) -> Option<u32> {
    let b = key.to_ne_bytes();
    (b[..12] == MAPPED_PREFIX[..12]).then(|| u32::from_ne_bytes([b[12], b[13], b[14], b[15]]))
}

/// The address of an [`addr_key`] (IPv4 unless `v6`).
pub(crate) fn key_ip(key: u128, v6: bool) -> IpAddr {
    let b = key.to_ne_bytes();
    if v6 {
        IpAddr::V6(Ipv6Addr::from(b))
    } else {
        IpAddr::V4(Ipv4Addr::new(b[12], b[13], b[14], b[15]))
    }
}

/// The summary of one parsed packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PacketInfo {
    /// Source address as an [`addr_key`] (see [`src`](Self::src)).
    pub(crate) src_key: u128,
    /// Destination address as an [`addr_key`].
    pub(crate) dst_key: u128,
    /// Whether the packet is IPv6.
    pub(crate) v6: bool,
    /// IP protocol number (upper-layer protocol for IPv6).
    pub proto: u8,
    /// Bytes of the IP packet (IPv4 total length / IPv6 header + payload), what the byte counters count.
    pub ip_len: u32,
    /// Fragment position.
    pub fragment: Fragment,
    /// Transport summary.
    pub l4: L4Info,
}

/// Parses one packet starting at the IP header. Never panics; any inconsistency is a [`ParseError`].
#[inline]
pub fn parse(buf: &[u8]) -> Result<PacketInfo, ParseError> {
    match parse_plain_v4(buf) {
        Some(info) => Ok(info),
        None => parse_any(buf),
    }
}

/// The common case read straight from the bytes: IPv4 without options and not fragmented, carrying a
/// TCP segment without SYN (so no option is needed) or a UDP datagram, every length in range. Returns
/// what [`parse_any`] returns for such a packet, and `None` for everything else (then `parse_any` decides).
#[inline(always)]
fn parse_plain_v4(buf: &[u8]) -> Option<PacketInfo> {
    let ip: &[u8; 20] = buf.first_chunk()?;
    let total = usize::from(u16::from_be_bytes([ip[2], ip[3]]));
    // Version 4, IHL 5; no MF flag and offset 0; total length covers the header and fits the buffer.
    if ip[0] != 0x45 || u16::from_be_bytes([ip[6], ip[7]]) & 0x3fff != 0 || total < 20 || total > buf.len() {
        return None;
    }
    let l4 = buf.get(20..total)?;
    let proto = ip[9];
    let l4 = match proto {
        ip_proto::TCP => {
            let t: &[u8; 20] = l4.first_chunk()?;
            let header_len = usize::from(t[12] >> 4) * 4;
            let flags = TcpFlags(t[13] & 0x3f);
            if header_len < TcpSegment::MIN_HEADER || header_len > l4.len() || flags.syn() {
                return None;
            }
            L4Info::Tcp(TcpInfo {
                src_port: u16::from_be_bytes([t[0], t[1]]),
                dst_port: u16::from_be_bytes([t[2], t[3]]),
                seq: u32::from_be_bytes([t[4], t[5], t[6], t[7]]),
                ack: u32::from_be_bytes([t[8], t[9], t[10], t[11]]),
                flags,
                window: u16::from_be_bytes([t[14], t[15]]),
                window_scale: None,
                payload_len: (l4.len() - header_len) as u32,
            })
        }
        ip_proto::UDP => {
            let u: &[u8; 8] = l4.first_chunk()?;
            let len = usize::from(u16::from_be_bytes([u[4], u[5]]));
            if len < UdpDatagram::HEADER || len > l4.len() {
                return None;
            }
            L4Info::Udp {
                src_port: u16::from_be_bytes([u[0], u[1]]),
                dst_port: u16::from_be_bytes([u[2], u[3]]),
            }
        }
        _ => return None,
    };
    Some(PacketInfo {
        src_key: v4_key(u32::from_ne_bytes([ip[12], ip[13], ip[14], ip[15]])),
        dst_key: v4_key(u32::from_ne_bytes([ip[16], ip[17], ip[18], ip[19]])),
        v6: false,
        proto,
        ip_len: total as u32,
        fragment: Fragment::None,
        l4,
    })
}

/// The general parser behind [`parse`].
fn parse_any(buf: &[u8]) -> Result<PacketInfo, ParseError> {
    let Some(first) = buf.first() else {
        return Err(ParseError::Truncated("IP"));
    };
    let v6 = first >> 4 == 6;
    let (src_key, dst_key, proto, ip_len, fragment, payload) = match first >> 4 {
        4 => {
            let ip = Ipv4Packet::new_checked(buf)?;
            let fragment = if ip.fragment_offset() != 0 {
                Fragment::NonFirst
            } else if ip.more_fragments() {
                Fragment::First
            } else {
                Fragment::None
            };
            (
                v4_key(u32::from_ne_bytes(ip.src().octets())),
                v4_key(u32::from_ne_bytes(ip.dst().octets())),
                ip.protocol(),
                ip.total_len(),
                fragment,
                ip.payload(),
            )
        }
        6 => {
            let ip = Ipv6Packet::new_checked(buf)?;
            (
                addr_key(&ip.src().octets()),
                addr_key(&ip.dst().octets()),
                ip.upper_protocol(),
                ip.total_len(),
                ip.fragment(),
                ip.payload(),
            )
        }
        v => return Err(ParseError::BadVersion(v)),
    };
    let ip_len = ip_len as u32;
    let l4 = if fragment == Fragment::NonFirst {
        L4Info::Fragment
    } else {
        match proto {
            ip_proto::TCP => {
                let tcp = TcpSegment::new_checked(payload)?;
                let flags = tcp.flags();
                let window_scale = if flags.syn() {
                    tcp.parse_options().window_scale
                } else {
                    None
                };
                L4Info::Tcp(TcpInfo {
                    src_port: tcp.src_port(),
                    dst_port: tcp.dst_port(),
                    seq: tcp.seq(),
                    ack: tcp.ack_number(),
                    flags,
                    window: tcp.window(),
                    window_scale,
                    payload_len: tcp.payload_len() as u32,
                })
            }
            ip_proto::UDP => {
                // A first fragment's UDP length covers the whole datagram, not this fragment.
                if fragment == Fragment::First {
                    if payload.len() < UdpDatagram::HEADER {
                        return Err(ParseError::Truncated("UDP"));
                    }
                    L4Info::Udp {
                        src_port: be16(payload, 0),
                        dst_port: be16(payload, 2),
                    }
                } else {
                    let u = UdpDatagram::new_checked(payload)?;
                    L4Info::Udp {
                        src_port: u.src_port(),
                        dst_port: u.dst_port(),
                    }
                }
            }
            ip_proto::ICMP | ip_proto::ICMPV6 => {
                if payload.len() < 4 {
                    return Err(ParseError::Truncated("ICMP"));
                }
                L4Info::Icmp {
                    icmp_type: payload[0],
                    code: payload[1],
                }
            }
            _ => L4Info::Other,
        }
    };
    Ok(PacketInfo {
        src_key,
        dst_key,
        v6,
        proto,
        ip_len,
        fragment,
        l4,
    })
}

impl PacketInfo {
    /// Source address.
    pub fn src(&self) -> IpAddr {
        key_ip(self.src_key, self.v6)
    }
    /// Destination address.
    pub fn dst(&self) -> IpAddr {
        key_ip(self.dst_key, self.v6)
    }
    /// Whether the packet is IPv6.
    pub fn is_ipv6(&self) -> bool {
        self.v6
    }
}

#[cfg(test)]
mod tests;
