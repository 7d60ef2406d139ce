//! The peer protocol: compact, versioned binary messages carried on the IPC association's control stream.
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |      'R'      |      'F'      |    version    |     type      |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                      sequence (per boot)                      |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                       boot id (64 bits)                       |
//! +                                                               +
//! |                                                               |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |          body length          |  body ...
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```
//! All integers are big-endian. Text fields are a length byte and UTF-8 (at most 255 bytes; longer text is
//! cut at a character boundary when encoding). Bodies:
//! * STATE (1): RF state code u8, HSRP state code u8 (HSRP v1 numbering), flags u8, our config digest
//!   (16 bytes), the digest of the peer's config we hold (16 bytes, zero = none), software version text.
//! * CONFIG (2): the [`HaConfigSummary`]: scheme group text, update interval u16, VIP count u8 + texts,
//!   interface count u8 + per interface: name text, direction u8 (0 in, 1 out), rule text, group present
//!   u8 + group text, protocol count u8 + texts.
//! * SWITCHOVER (3): reason text (a planned switchover notice from the ACTIVE).

use crate::config::{Digest, Direction, HaConfigSummary, HaInterface};
use crate::error::DecodeError;
use crate::rf::RfState;

/// Magic at the start of every message.
pub const MAGIC: u16 = 0x5246; // "RF"
/// The protocol version this build speaks.
pub const VERSION: u8 = 1;
/// Header length in bytes.
pub const HEADER_LEN: usize = 18;

/// Message type code point (open: unknown values are reported, not lost).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct MsgType(pub u8);

impl MsgType {
    /// Periodic state message.
    pub const STATE: Self = Self(1);
    /// HA configuration summary.
    pub const CONFIG: Self = Self(2);
    /// Planned switchover notice.
    pub const SWITCHOVER: Self = Self(3);
}

/// The periodic state message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StateMsg {
    /// Sender's RF state.
    pub rf_state: RfState,
    /// Sender's HSRP state code for the scheme group (HSRP v1 numbering; unknown values kept).
    pub hsrp_state: u8,
    /// Flags, reserved (sent as zero, kept on receive).
    pub flags: u8,
    /// Digest of the sender's HA configuration summary.
    pub config_digest: Digest,
    /// Digest of the receiver's summary that the sender holds ([`Digest::NONE`] if none).
    pub peer_digest_seen: Digest,
    /// Sender's software version.
    pub software_version: String,
}

/// A message body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Body {
    /// STATE.
    State(StateMsg),
    /// CONFIG.
    Config(HaConfigSummary),
    /// SWITCHOVER with its reason.
    Switchover(String),
}

/// A whole peer message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    /// Sender's sequence number (increments per message within one boot).
    pub seq: u32,
    /// Sender's boot id.
    pub boot_id: u64,
    /// The body.
    pub body: Body,
}

impl Message {
    /// The message type of the body.
    pub fn msg_type(&self) -> MsgType {
        match self.body {
            Body::State(_) => MsgType::STATE,
            Body::Config(_) => MsgType::CONFIG,
            Body::Switchover(_) => MsgType::SWITCHOVER,
        }
    }

    /// Encodes the message.
    pub fn encode(&self) -> Vec<u8> {
        let mut body = Vec::with_capacity(64);
        match &self.body {
            Body::State(s) => {
                body.push(s.rf_state.code());
                body.push(s.hsrp_state);
                body.push(s.flags);
                body.extend_from_slice(&s.config_digest.0);
                body.extend_from_slice(&s.peer_digest_seen.0);
                put_text(&mut body, &s.software_version);
            }
            Body::Config(c) => encode_summary(c, &mut body),
            Body::Switchover(reason) => put_text(&mut body, reason),
        }
        // Bodies never exceed u16::MAX: at most 255 interfaces × (4 texts + 255 protocols) of 255 bytes
        // would, so the summary encoder caps counts; clamp defensively anyway.
        body.truncate(usize::from(u16::MAX));
        let mut out = Vec::with_capacity(HEADER_LEN + body.len());
        out.extend_from_slice(&MAGIC.to_be_bytes());
        out.push(VERSION);
        out.push(self.msg_type().0);
        out.extend_from_slice(&self.seq.to_be_bytes());
        out.extend_from_slice(&self.boot_id.to_be_bytes());
        out.extend_from_slice(&(body.len() as u16).to_be_bytes());
        out.extend_from_slice(&body);
        out
    }

    /// Decodes a message; never panics.
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes);
        let magic = r.u16()?;
        if magic != MAGIC {
            return Err(DecodeError::BadMagic(magic));
        }
        let version = r.u8()?;
        if version != VERSION {
            return Err(DecodeError::UnsupportedVersion(version));
        }
        let ty = MsgType(r.u8()?);
        let seq = r.u32()?;
        let boot_id = r.u64()?;
        let declared = usize::from(r.u16()?);
        let actual = r.remaining();
        if declared != actual {
            return Err(DecodeError::LengthMismatch { declared, actual });
        }
        let body = match ty {
            MsgType::STATE => {
                let code = r.u8()?;
                let rf_state = RfState::from_code(code).ok_or(DecodeError::BadRfState(code))?;
                Body::State(StateMsg {
                    rf_state,
                    hsrp_state: r.u8()?,
                    flags: r.u8()?,
                    config_digest: Digest(r.array()?),
                    peer_digest_seen: Digest(r.array()?),
                    software_version: r.text()?,
                })
            }
            MsgType::CONFIG => Body::Config(decode_summary(&mut r)?),
            MsgType::SWITCHOVER => Body::Switchover(r.text()?),
            MsgType(other) => return Err(DecodeError::UnknownType(other)),
        };
        if r.remaining() != 0 {
            return Err(DecodeError::TrailingBytes(r.remaining()));
        }
        Ok(Self { seq, boot_id, body })
    }
}

/// Most list entries a summary carries on the wire (longer lists are cut).
pub const MAX_LIST: usize = 255;

/// Appends the wire encoding of a configuration summary (also the input of its digest).
pub fn encode_summary(c: &HaConfigSummary, out: &mut Vec<u8>) {
    put_text(out, &c.scheme_group);
    out.extend_from_slice(&c.update_interval_s.to_be_bytes());
    put_list(out, &c.virtual_ips, |out, v| put_text(out, v));
    put_list(out, &c.interfaces, |out, i| {
        put_text(out, &i.name);
        out.push(match i.direction {
            Direction::In => 0,
            Direction::Out => 1,
        });
        put_text(out, &i.rule);
        match &i.redundancy_group {
            Some(g) => {
                out.push(1);
                put_text(out, g);
            }
            None => out.push(0),
        }
        put_list(out, &i.protocols, |out, p| put_text(out, p));
    });
}

fn decode_summary(r: &mut Reader<'_>) -> Result<HaConfigSummary, DecodeError> {
    let scheme_group = r.text()?;
    let update_interval_s = r.u16()?;
    let n = r.u8()?;
    let mut virtual_ips = Vec::with_capacity(usize::from(n));
    for _ in 0..n {
        virtual_ips.push(r.text()?);
    }
    let n = r.u8()?;
    let mut interfaces = Vec::with_capacity(usize::from(n));
    for _ in 0..n {
        let name = r.text()?;
        let direction = match r.u8()? {
            0 => Direction::In,
            1 => Direction::Out,
            d => return Err(DecodeError::BadDirection(d)),
        };
        let rule = r.text()?;
        let redundancy_group = if r.u8()? != 0 { Some(r.text()?) } else { None };
        let np = r.u8()?;
        let mut protocols = Vec::with_capacity(usize::from(np));
        for _ in 0..np {
            protocols.push(r.text()?);
        }
        interfaces.push(HaInterface {
            name,
            direction,
            rule,
            protocols,
            redundancy_group,
        });
    }
    Ok(HaConfigSummary {
        scheme_group,
        interfaces,
        update_interval_s,
        virtual_ips,
    })
}

fn put_list<T>(out: &mut Vec<u8>, items: &[T], mut put: impl FnMut(&mut Vec<u8>, &T)) {
    let items = &items[..items.len().min(MAX_LIST)];
    out.push(items.len() as u8);
    for i in items {
        put(out, i);
    }
}

/// The longest prefix of `s` that fits in 255 bytes and ends on a character boundary.
pub fn clip_text(s: &str) -> &str {
    if s.len() <= 255 {
        return s;
    }
    let mut end = 255;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

fn put_text(out: &mut Vec<u8>, s: &str) {
    let s = clip_text(s);
    out.push(s.len() as u8);
    out.extend_from_slice(s.as_bytes());
}

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn new(buf: &'a [u8]) -> Self {
        Self { buf, pos: 0 }
    }

    fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        if self.remaining() < n {
            return Err(DecodeError::Truncated {
                offset: self.pos,
                needed: n - self.remaining(),
            });
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.take(N)?);
        Ok(a)
    }

    fn u8(&mut self) -> Result<u8, DecodeError> {
        Ok(self.array::<1>()?[0])
    }

    fn u16(&mut self) -> Result<u16, DecodeError> {
        Ok(u16::from_be_bytes(self.array()?))
    }

    fn u32(&mut self) -> Result<u32, DecodeError> {
        Ok(u32::from_be_bytes(self.array()?))
    }

    fn u64(&mut self) -> Result<u64, DecodeError> {
        Ok(u64::from_be_bytes(self.array()?))
    }

    fn text(&mut self) -> Result<String, DecodeError> {
        let n = usize::from(self.u8()?);
        let bytes = self.take(n)?;
        std::str::from_utf8(bytes)
            .map(str::to_owned)
            .map_err(|_| DecodeError::BadUtf8)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state() -> Message {
        Message {
            seq: 7,
            boot_id: 0x0102_0304_0506_0708,
            body: Body::State(StateMsg {
                rf_state: RfState::StandbyHot,
                hsrp_state: 8,
                flags: 0,
                config_digest: Digest([0xaa; 16]),
                peer_digest_seen: Digest::NONE,
                software_version: "1.0".into(),
            }),
        }
    }

    #[test]
    fn state_vector() {
        let bytes = state().encode();
        let mut want = vec![
            b'R', b'F', 1, 1, 0, 0, 0, 7, 1, 2, 3, 4, 5, 6, 7, 8, 0, 39, 8, 8, 0,
        ];
        want.extend_from_slice(&[0xaa; 16]);
        want.extend_from_slice(&[0; 16]);
        want.extend_from_slice(&[3, b'1', b'.', b'0']);
        assert_eq!(bytes, want);
        assert_eq!(Message::decode(&bytes), Ok(state()));
    }

    #[test]
    fn rejects_each_malformation() {
        let good = state().encode();
        assert!(matches!(
            Message::decode(&good[..5]),
            Err(DecodeError::Truncated { .. })
        ));
        let mut b = good.clone();
        b[0] = 0;
        assert!(matches!(Message::decode(&b), Err(DecodeError::BadMagic(_))));
        let mut b = good.clone();
        b[2] = 9;
        assert_eq!(Message::decode(&b), Err(DecodeError::UnsupportedVersion(9)));
        let mut b = good.clone();
        b[3] = 77;
        assert_eq!(Message::decode(&b), Err(DecodeError::UnknownType(77)));
        let mut b = good.clone();
        b.push(0);
        assert!(matches!(
            Message::decode(&b),
            Err(DecodeError::LengthMismatch { .. })
        ));
        let mut b = good.clone();
        b[HEADER_LEN] = 0;
        assert_eq!(Message::decode(&b), Err(DecodeError::BadRfState(0)));
        // Declared length covering an extra byte that the body does not use.
        let mut b = good.clone();
        b.push(0);
        b[17] += 1;
        assert_eq!(Message::decode(&b), Err(DecodeError::TrailingBytes(1)));
        let mut b = good;
        let n = b.len();
        b[n - 1] = 0xff;
        assert_eq!(Message::decode(&b), Err(DecodeError::BadUtf8));
    }

    #[test]
    fn long_text_is_clipped_on_a_char_boundary() {
        let s = "é".repeat(200);
        let clipped = clip_text(&s);
        assert!(clipped.len() <= 255);
        assert_eq!(clipped.len() % 2, 0);
    }
}
