//! HSRP wire formats: version 1 (RFC 2281, with the optional MD5 trailer and the opcode 3 advertisement)
//! and version 2 (Cisco TLVs, layout as Wireshark's `packet-hsrp.c` dissects it).
//!
//! Every code point is an open newtype so that unknown values survive decoding and can be counted by the
//! caller. `decode(encode(p)) == p` for every packet this module can represent, and encoding a decoded
//! packet reproduces the original bytes (unknown TLVs are kept verbatim), which is what the MD5 check
//! relies on.

use std::fmt;
use std::net::Ipv4Addr;

use md5::{Digest, Md5};
use serde::{Deserialize, Serialize};

use crate::error::DecodeError;

/// UDP port of HSRP over IPv4 (both versions).
pub const UDP_PORT: u16 = 1985;
/// UDP port of HSRP version 2 over IPv6.
pub const UDP_PORT_V6: u16 = 2029;
/// Destination of version 1 packets.
pub const V1_MULTICAST: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 2);
/// Destination of version 2 packets over IPv4.
pub const V2_MULTICAST: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 102);
/// Length of a plain version 1 packet.
pub const V1_LEN: usize = 20;
/// Length of the MD5 authentication TLV including its 2-byte header.
pub const MD5_TLV_LEN: usize = 30;
/// Largest datagram we try to decode.
pub const MAX_PACKET: usize = 1024;
/// Default authentication string, NUL padded to 8 bytes.
pub const DEFAULT_AUTH: [u8; 8] = *b"cisco\0\0\0";

/// An HSRP opcode (open: unknown values are kept).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Opcode(pub u8);

impl Opcode {
    /// Periodic announcement.
    pub const HELLO: Self = Self(0);
    /// "I want to become Active" (preemption).
    pub const COUP: Self = Self(1);
    /// "I am no longer Active".
    pub const RESIGN: Self = Self(2);
    /// Interface-state advertisement (version 1 only, not in the RFC).
    pub const ADVERTISE: Self = Self(3);

    /// Whether this opcode is one of the four known ones.
    pub const fn is_known(self) -> bool {
        self.0 <= 3
    }
}

impl fmt::Display for Opcode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::HELLO => f.write_str("Hello"),
            Self::COUP => f.write_str("Coup"),
            Self::RESIGN => f.write_str("Resign"),
            Self::ADVERTISE => f.write_str("Advertise"),
            Self(v) => write!(f, "Unknown({v})"),
        }
    }
}

/// The six protocol states, printed as IOS prints them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum State {
    /// Not running (interface down, not configured, or held by `standby delay`).
    Init,
    /// No virtual IP yet; waiting to learn it from the Active router.
    Learn,
    /// Knows the virtual IP; listens to the Active and Standby routers.
    Listen,
    /// Sends hellos and takes part in the election of Standby/Active.
    Speak,
    /// Next in line.
    Standby,
    /// Forwards for the virtual IP and MAC.
    Active,
}

impl State {
    /// All states in table order.
    pub const ALL: [Self; 6] = [
        Self::Init,
        Self::Learn,
        Self::Listen,
        Self::Speak,
        Self::Standby,
        Self::Active,
    ];

    /// IOS spelling.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Init => "Init",
            Self::Learn => "Learn",
            Self::Listen => "Listen",
            Self::Speak => "Speak",
            Self::Standby => "Standby",
            Self::Active => "Active",
        }
    }

    /// Version 1 wire code.
    pub const fn v1(self) -> V1State {
        V1State(match self {
            Self::Init => 0,
            Self::Learn => 1,
            Self::Listen => 2,
            Self::Speak => 4,
            Self::Standby => 8,
            Self::Active => 16,
        })
    }

    /// Version 2 wire code.
    pub const fn v2(self) -> V2State {
        V2State(match self {
            Self::Init => 1,
            Self::Learn => 2,
            Self::Listen => 3,
            Self::Speak => 4,
            Self::Standby => 5,
            Self::Active => 6,
        })
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A version 1 state code (open).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct V1State(pub u8);

impl V1State {
    /// The protocol state, if the code is known.
    pub fn state(self) -> Option<State> {
        State::ALL.into_iter().find(|s| s.v1() == self)
    }
}

/// A version 2 state code (open; 0 means "disabled" on the wire and maps to no state).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct V2State(pub u8);

impl V2State {
    /// The protocol state, if the code is known.
    pub fn state(self) -> Option<State> {
        State::ALL.into_iter().find(|s| s.v2() == self)
    }
}

/// A version 2 TLV type (open).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TlvType(pub u8);

impl TlvType {
    /// Group state.
    pub const GROUP_STATE: Self = Self(1);
    /// Interface state.
    pub const INTERFACE_STATE: Self = Self(2);
    /// Clear-text authentication.
    pub const TEXT_AUTH: Self = Self(3);
    /// MD5 authentication.
    pub const MD5_AUTH: Self = Self(4);
}

// ===== MD5 TLV =====

/// MD5 authentication TLV (type 4, length 28), used after a version 1 packet and inside version 2.
///
/// ```text
///  0               1               2               3
/// +---------------+---------------+---------------+---------------+
/// |    Type=4     |   Length=28   |   Algorithm   |    Padding    |
/// +---------------+---------------+---------------+---------------+
/// |             Flags             |      Sender IP address  ...   |
/// +---------------+---------------+---------------+---------------+
/// |   ... IP      |             Key ID (4 octets)  ...            |
/// +---------------+---------------+---------------+---------------+
/// |   ... Key ID  |       Digest (16 octets) ...                  |
/// +---------------+---------------+---------------+---------------+
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Md5Tlv {
    /// 1 = MD5.
    pub algorithm: u8,
    /// Padding byte.
    pub padding: u8,
    /// Flags (undefined, zero).
    pub flags: u16,
    /// IP address of the sending interface.
    pub ip_address: Ipv4Addr,
    /// Key identifier (0 for a key string).
    pub key_id: u32,
    /// The keyed digest.
    pub digest: [u8; 16],
}

impl Md5Tlv {
    /// A TLV for `sender` with a zero digest (to be filled by [`sign`]).
    pub const fn unsigned(sender: Ipv4Addr, key_id: u32) -> Self {
        Self {
            algorithm: 1,
            padding: 0,
            flags: 0,
            ip_address: sender,
            key_id,
            digest: [0; 16],
        }
    }

    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&[TlvType::MD5_AUTH.0, 28, self.algorithm, self.padding]);
        out.extend_from_slice(&self.flags.to_be_bytes());
        out.extend_from_slice(&self.ip_address.octets());
        out.extend_from_slice(&self.key_id.to_be_bytes());
        out.extend_from_slice(&self.digest);
    }

    /// Decodes the 28-byte value (after type and length).
    fn decode_value(v: &[u8]) -> Result<Self, DecodeError> {
        if v.len() != 28 {
            return Err(DecodeError::BadTlvLength {
                typ: 4,
                len: clamp_u8(v.len()),
                expected: 28,
            });
        }
        let mut digest = [0; 16];
        digest.copy_from_slice(&v[12..28]);
        Ok(Self {
            algorithm: v[0],
            padding: v[1],
            flags: u16::from_be_bytes([v[2], v[3]]),
            ip_address: Ipv4Addr::new(v[4], v[5], v[6], v[7]),
            key_id: u32::from_be_bytes([v[8], v[9], v[10], v[11]]),
            digest,
        })
    }
}

// ===== Version 1 =====

/// A version 1 Hello, Coup or Resign (RFC 2281 §5.1), optionally followed by the MD5 TLV.
///
/// ```text
///  0               1               2               3
/// +---------------+---------------+---------------+---------------+
/// |   Version=0   |    Op Code    |     State     |   Hellotime   |
/// +---------------+---------------+---------------+---------------+
/// |   Holdtime    |   Priority    |     Group     |   Reserved    |
/// +---------------+---------------+---------------+---------------+
/// |                 Authentication Data (8 octets)                |
/// +---------------+---------------+---------------+---------------+
/// |                      Virtual IP Address                       |
/// +---------------+---------------+---------------+---------------+
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct V1Packet {
    /// Message type.
    pub opcode: Opcode,
    /// Sender's state.
    pub state: V1State,
    /// Hello time in seconds.
    pub hellotime: u8,
    /// Hold time in seconds.
    pub holdtime: u8,
    /// Sender's priority.
    pub priority: u8,
    /// Standby group.
    pub group: u8,
    /// Reserved byte (zero when we send).
    pub reserved: u8,
    /// Clear-text password (all zero when MD5 is used).
    pub auth_data: [u8; 8],
    /// Virtual IP address (0.0.0.0 when unknown).
    pub virtual_ip: Ipv4Addr,
    /// Optional MD5 trailer.
    pub md5: Option<Md5Tlv>,
}

/// A version 1 opcode 3 interface-state advertisement (decoded, counted, never acted on).
///
/// ```text
/// | Version | OpCode=3 | Type (2) | Length (2) | State | Rsvd | Active grps (2) | Passive grps (2) | Rsvd (4) |
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct V1Advertise {
    /// 1 = HSRP interface state, 2 = IP redundancy.
    pub adv_type: u16,
    /// Declared length.
    pub length: u16,
    /// 1 dormant, 2 passive, 3 active.
    pub state: u8,
    /// Reserved byte.
    pub reserved1: u8,
    /// Number of active groups.
    pub active_groups: u16,
    /// Number of passive groups.
    pub passive_groups: u16,
    /// Reserved word.
    pub reserved2: u32,
    /// Bytes after the 16 this format defines (kept so that encoding reproduces the datagram).
    pub trailer: Vec<u8>,
}

// ===== Version 2 =====

/// The version 2 group state TLV (type 1, length 40).
///
/// ```text
/// | Type=1 | Len=40 | Version=2 | Opcode | State | IP ver | Group (2) | Identifier (6) |
/// | Priority (4) | Hello time ms (4) | Hold time ms (4) | Virtual IP (16, IPv4 in the first 4) |
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupStateTlv {
    /// HSRP version (2).
    pub version: u8,
    /// Message type.
    pub opcode: Opcode,
    /// Sender's state.
    pub state: V2State,
    /// 4 or 6.
    pub ip_version: u8,
    /// Standby group (0–4095).
    pub group: u16,
    /// Sender's interface MAC address.
    pub identifier: [u8; 6],
    /// Sender's priority.
    pub priority: u32,
    /// Hello time in milliseconds.
    pub hellotime_ms: u32,
    /// Hold time in milliseconds.
    pub holdtime_ms: u32,
    /// Virtual address (IPv4 in the first four bytes, rest zero).
    pub virtual_ip: [u8; 16],
}

impl GroupStateTlv {
    /// The IPv4 virtual address (first four bytes).
    pub fn virtual_ipv4(&self) -> Ipv4Addr {
        Ipv4Addr::new(
            self.virtual_ip[0],
            self.virtual_ip[1],
            self.virtual_ip[2],
            self.virtual_ip[3],
        )
    }

    /// Builds the 16-byte field from an IPv4 address.
    pub fn ipv4_field(ip: Ipv4Addr) -> [u8; 16] {
        let mut f = [0; 16];
        f[..4].copy_from_slice(&ip.octets());
        f
    }
}

/// One version 2 TLV.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum V2Tlv {
    /// Type 1.
    GroupState(GroupStateTlv),
    /// Type 2: counts of active and passive groups on the interface.
    InterfaceState {
        /// Active groups.
        active: u16,
        /// Passive groups.
        passive: u16,
    },
    /// Type 3: 8-byte clear-text password.
    TextAuth([u8; 8]),
    /// Type 4.
    Md5Auth(Md5Tlv),
    /// Any other type, kept verbatim.
    Unknown {
        /// Type byte.
        typ: u8,
        /// Value bytes.
        value: Vec<u8>,
    },
}

/// A version 2 packet: a sequence of TLVs, at least one of them a group state TLV.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct V2Packet {
    /// TLVs in wire order.
    pub tlvs: Vec<V2Tlv>,
}

impl V2Packet {
    /// The first group state TLV.
    pub fn group_state(&self) -> Option<&GroupStateTlv> {
        self.tlvs.iter().find_map(|t| match t {
            V2Tlv::GroupState(g) => Some(g),
            _ => None,
        })
    }

    /// The text authentication TLV, if present.
    pub fn text_auth(&self) -> Option<&[u8; 8]> {
        self.tlvs.iter().find_map(|t| match t {
            V2Tlv::TextAuth(a) => Some(a),
            _ => None,
        })
    }

    /// The MD5 authentication TLV, if present.
    pub fn md5(&self) -> Option<&Md5Tlv> {
        self.tlvs.iter().find_map(|t| match t {
            V2Tlv::Md5Auth(m) => Some(m),
            _ => None,
        })
    }

    /// Number of TLVs of unknown type.
    pub fn unknown_tlvs(&self) -> usize {
        self.tlvs
            .iter()
            .filter(|t| matches!(t, V2Tlv::Unknown { .. }))
            .count()
    }
}

/// Any HSRP datagram.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Packet {
    /// Version 1 Hello/Coup/Resign (or unknown opcode other than 3).
    V1(V1Packet),
    /// Version 1 opcode 3.
    Advertise(V1Advertise),
    /// Version 2.
    V2(V2Packet),
}

fn clamp_u8(n: usize) -> u8 {
    u8::try_from(n).unwrap_or(u8::MAX)
}

impl Packet {
    /// Serializes the packet.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(64);
        match self {
            Self::V1(p) => {
                out.extend_from_slice(&[0, p.opcode.0, p.state.0, p.hellotime]);
                out.extend_from_slice(&[p.holdtime, p.priority, p.group, p.reserved]);
                out.extend_from_slice(&p.auth_data);
                out.extend_from_slice(&p.virtual_ip.octets());
                if let Some(m) = &p.md5 {
                    m.encode(&mut out);
                }
            }
            Self::Advertise(a) => {
                out.extend_from_slice(&[0, Opcode::ADVERTISE.0]);
                out.extend_from_slice(&a.adv_type.to_be_bytes());
                out.extend_from_slice(&a.length.to_be_bytes());
                out.extend_from_slice(&[a.state, a.reserved1]);
                out.extend_from_slice(&a.active_groups.to_be_bytes());
                out.extend_from_slice(&a.passive_groups.to_be_bytes());
                out.extend_from_slice(&a.reserved2.to_be_bytes());
                out.extend_from_slice(&a.trailer);
            }
            Self::V2(p) => {
                for tlv in &p.tlvs {
                    match tlv {
                        V2Tlv::GroupState(g) => {
                            out.extend_from_slice(&[1, 40, g.version, g.opcode.0, g.state.0, g.ip_version]);
                            out.extend_from_slice(&g.group.to_be_bytes());
                            out.extend_from_slice(&g.identifier);
                            out.extend_from_slice(&g.priority.to_be_bytes());
                            out.extend_from_slice(&g.hellotime_ms.to_be_bytes());
                            out.extend_from_slice(&g.holdtime_ms.to_be_bytes());
                            out.extend_from_slice(&g.virtual_ip);
                        }
                        V2Tlv::InterfaceState { active, passive } => {
                            out.extend_from_slice(&[2, 4]);
                            out.extend_from_slice(&active.to_be_bytes());
                            out.extend_from_slice(&passive.to_be_bytes());
                        }
                        V2Tlv::TextAuth(a) => {
                            out.extend_from_slice(&[3, 8]);
                            out.extend_from_slice(a);
                        }
                        V2Tlv::Md5Auth(m) => m.encode(&mut out),
                        V2Tlv::Unknown { typ, value } => {
                            out.push(*typ);
                            out.push(clamp_u8(value.len()));
                            out.extend_from_slice(&value[..value.len().min(255)]);
                        }
                    }
                }
            }
        }
        out
    }

    /// Parses a datagram. A first byte of 0 is version 1 (its version field); anything else starts a
    /// version 2 TLV sequence.
    pub fn decode(b: &[u8]) -> Result<Self, DecodeError> {
        if b.len() > MAX_PACKET {
            return Err(DecodeError::Oversized(b.len()));
        }
        let Some(&first) = b.first() else {
            return Err(DecodeError::Truncated { needed: 2, got: 0 });
        };
        if first == 0 {
            Self::decode_v1(b)
        } else {
            Self::decode_v2(b)
        }
    }

    fn decode_v1(b: &[u8]) -> Result<Self, DecodeError> {
        if b.len() >= 2 && Opcode(b[1]) == Opcode::ADVERTISE {
            if b.len() < 16 {
                return Err(DecodeError::Truncated {
                    needed: 16,
                    got: b.len(),
                });
            }
            return Ok(Self::Advertise(V1Advertise {
                adv_type: u16::from_be_bytes([b[2], b[3]]),
                length: u16::from_be_bytes([b[4], b[5]]),
                state: b[6],
                reserved1: b[7],
                active_groups: u16::from_be_bytes([b[8], b[9]]),
                passive_groups: u16::from_be_bytes([b[10], b[11]]),
                reserved2: u32::from_be_bytes([b[12], b[13], b[14], b[15]]),
                trailer: b[16..].to_vec(),
            }));
        }
        if b.len() < V1_LEN {
            return Err(DecodeError::Truncated {
                needed: V1_LEN,
                got: b.len(),
            });
        }
        let md5 = match b.len() {
            V1_LEN => None,
            n if n == V1_LEN + MD5_TLV_LEN => {
                let (typ, len) = (b[20], b[21]);
                if typ != TlvType::MD5_AUTH.0 || len != 28 {
                    return Err(DecodeError::BadV1Trailer { typ, len });
                }
                Some(Md5Tlv::decode_value(&b[22..50])?)
            }
            n => return Err(DecodeError::BadV1Length(n)),
        };
        let mut auth_data = [0; 8];
        auth_data.copy_from_slice(&b[8..16]);
        Ok(Self::V1(V1Packet {
            opcode: Opcode(b[1]),
            state: V1State(b[2]),
            hellotime: b[3],
            holdtime: b[4],
            priority: b[5],
            group: b[6],
            reserved: b[7],
            auth_data,
            virtual_ip: Ipv4Addr::new(b[16], b[17], b[18], b[19]),
            md5,
        }))
    }

    fn decode_v2(b: &[u8]) -> Result<Self, DecodeError> {
        let mut tlvs = Vec::new();
        let mut rest = b;
        while !rest.is_empty() {
            if rest.len() < 2 {
                return Err(DecodeError::Truncated {
                    needed: 2,
                    got: rest.len(),
                });
            }
            let (typ, len) = (rest[0], rest[1]);
            let end = 2 + usize::from(len);
            if rest.len() < end {
                return Err(DecodeError::TlvOverrun { typ, len });
            }
            let v = &rest[2..end];
            let expect = |expected: u8| {
                if len == expected {
                    Ok(())
                } else {
                    Err(DecodeError::BadTlvLength { typ, len, expected })
                }
            };
            let tlv = match TlvType(typ) {
                TlvType::GROUP_STATE => {
                    expect(40)?;
                    if v[0] != 2 {
                        return Err(DecodeError::BadTlvVersion(v[0]));
                    }
                    if v[3] != 4 && v[3] != 6 {
                        return Err(DecodeError::BadIpVersion(v[3]));
                    }
                    let mut identifier = [0; 6];
                    identifier.copy_from_slice(&v[6..12]);
                    let mut virtual_ip = [0; 16];
                    virtual_ip.copy_from_slice(&v[24..40]);
                    V2Tlv::GroupState(GroupStateTlv {
                        version: v[0],
                        opcode: Opcode(v[1]),
                        state: V2State(v[2]),
                        ip_version: v[3],
                        group: u16::from_be_bytes([v[4], v[5]]),
                        identifier,
                        priority: u32::from_be_bytes([v[12], v[13], v[14], v[15]]),
                        hellotime_ms: u32::from_be_bytes([v[16], v[17], v[18], v[19]]),
                        holdtime_ms: u32::from_be_bytes([v[20], v[21], v[22], v[23]]),
                        virtual_ip,
                    })
                }
                TlvType::INTERFACE_STATE => {
                    expect(4)?;
                    V2Tlv::InterfaceState {
                        active: u16::from_be_bytes([v[0], v[1]]),
                        passive: u16::from_be_bytes([v[2], v[3]]),
                    }
                }
                TlvType::TEXT_AUTH => {
                    expect(8)?;
                    let mut a = [0; 8];
                    a.copy_from_slice(v);
                    V2Tlv::TextAuth(a)
                }
                TlvType::MD5_AUTH => {
                    expect(28)?;
                    V2Tlv::Md5Auth(Md5Tlv::decode_value(v)?)
                }
                _ => V2Tlv::Unknown {
                    typ,
                    value: v.to_vec(),
                },
            };
            tlvs.push(tlv);
            rest = &rest[end..];
        }
        let p = V2Packet { tlvs };
        if p.group_state().is_none() {
            return Err(DecodeError::MissingGroupState);
        }
        Ok(Self::V2(p))
    }

    fn md5_mut(&mut self) -> Option<&mut Md5Tlv> {
        match self {
            Self::V1(p) => p.md5.as_mut(),
            Self::V2(p) => p.tlvs.iter_mut().find_map(|t| match t {
                V2Tlv::Md5Auth(m) => Some(m),
                _ => None,
            }),
            Self::Advertise(_) => None,
        }
    }

    /// The MD5 TLV, if the packet carries one.
    pub fn md5(&self) -> Option<&Md5Tlv> {
        match self {
            Self::V1(p) => p.md5.as_ref(),
            Self::V2(p) => p.md5(),
            Self::Advertise(_) => None,
        }
    }
}

// ===== MD5 authentication =====
//
// The bytes Cisco covers are not publicly documented, so iosha defines one scheme and uses it for both
// versions: the digest is the keyed MD5 of RFC 1828 style, "key, message, key":
//
//     digest = MD5(key || packet' || key)
//
// where packet' is the whole HSRP payload (UDP payload: for version 1 the 20-byte header plus the MD5
// TLV, for version 2 every TLV in order) with the 16 digest bytes set to zero. Every other field,
// including the sender address and key id inside the TLV, is covered.

/// Computes the digest for `packet` (its own digest field is ignored).
pub fn md5_digest(packet: &Packet, key: &[u8]) -> [u8; 16] {
    let mut zeroed = packet.clone();
    if let Some(m) = zeroed.md5_mut() {
        m.digest = [0; 16];
    }
    let bytes = zeroed.encode();
    let mut h = Md5::new();
    h.update(key);
    h.update(&bytes);
    h.update(key);
    h.finalize().into()
}

/// Fills in the digest of the packet's MD5 TLV (no-op when it has none).
pub fn sign(packet: &mut Packet, key: &[u8]) {
    let d = md5_digest(packet, key);
    if let Some(m) = packet.md5_mut() {
        m.digest = d;
    }
}

/// Whether the packet's MD5 TLV carries the right digest for `key` (false without a TLV).
pub fn verify(packet: &Packet, key: &[u8]) -> bool {
    match packet.md5() {
        Some(m) => {
            let want = md5_digest(packet, key);
            // Constant-time comparison: the digest is a secret-derived value.
            want.iter()
                .zip(m.digest.iter())
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0
        }
        None => false,
    }
}

/// Pads a text password to the 8-byte wire field (truncating longer strings).
pub fn auth_field(text: &str) -> [u8; 8] {
    let mut f = [0; 8];
    for (d, s) in f.iter_mut().zip(text.as_bytes()) {
        *d = *s;
    }
    f
}

#[cfg(test)]
#[path = "packet_tests.rs"]
mod tests;
