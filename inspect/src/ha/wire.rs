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

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};

use super::error::DecodeError;
use super::store::SessionUpdate;
use crate::record::{FlowKey, HaSessionId, L4Proto, RuleDirection, SessionRecord, TcpDirectionRecord};

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

const ADD_INIT_V6: u8 = 1 << 0;
const ADD_RESP_V6: u8 = 1 << 1;
const ADD_DIR_OUT: u8 = 1 << 2;
const ADD_TCP: u8 = 1 << 3;
const ADD_COUNTERS: u8 = 1 << 4;
const INFO_STATE_ESCAPE: u8 = 0x0f;
const INFO_PROTO_SHIFT: u8 = 4;
const INFO_IFACE_SAME: u8 = 1 << 6;
const INFO_RESERVED: u8 = 1 << 7;
const TCP_I_NEXT: u8 = 1 << 0;
const TCP_R_ACK: u8 = 1 << 1;
const TCP_R_NEXT: u8 = 1 << 2;
const TCP_I_ACK: u8 = 1 << 3;
const TCP_I_WIN: u8 = 1 << 4;
const TCP_R_WIN: u8 = 1 << 5;
const TCP_I_WIN_SCALED: u8 = 1 << 6;
const TCP_R_WIN_SCALED: u8 = 1 << 7;
const SCALE_ESCAPE: u8 = 0x0f;
const PROTO_TCP: u8 = 0;
const PROTO_UDP: u8 = 1;
const PROTO_EXPLICIT: u8 = 2;
const UPD_TCP: u8 = 1 << 0;
const UPD_IDLE: u8 = 1 << 1;
const ENDPOINT_MAX: usize = 18;
const SHARE_MAX: usize = 15;

/// Per-batch compression context, identical on both sides.
#[derive(Clone, Copy, Debug, Default)]
struct Context {
    prev_id: u32,
    prev_iface: u16,
    prev_init: [u8; ENDPOINT_MAX],
    prev_resp: [u8; ENDPOINT_MAX],
}

fn zigzag(d: u32) -> u32 {
    let d = d as i32;
    ((d << 1) ^ (d >> 31)) as u32
}

fn unzigzag(z: u32) -> u32 {
    (z >> 1) ^ (z & 1).wrapping_neg()
}

fn put_varint(buf: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        buf.push((v as u8) | 0x80);
        v >>= 7;
    }
    buf.push(v as u8);
}

fn endpoint_bytes(addr: &SocketAddr) -> ([u8; ENDPOINT_MAX], usize) {
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

fn shared_prefix(cur: &[u8; ENDPOINT_MAX], prev: &[u8; ENDPOINT_MAX], len: usize) -> usize {
    cur[..len]
        .iter()
        .zip(&prev[..len])
        .take_while(|(a, b)| a == b)
        .count()
        .min(SHARE_MAX)
}

fn window_exact(d: &TcpDirectionRecord) -> bool {
    d.window_scale < SCALE_ESCAPE && (d.window >> d.window_scale) << d.window_scale == d.window
}

/// Builds one batch. Records are appended in order; [`Self::push_within`] refuses a record that would make
/// the batch exceed a size limit (the batch stays as it was).
#[derive(Clone, Debug)]
pub struct BatchEncoder {
    buf: Vec<u8>,
    ctx: Context,
    records: usize,
}

impl BatchEncoder {
    /// An empty batch with `header`.
    pub fn new(header: BatchHeader) -> Self {
        Self::with_capacity(header, 256)
    }

    /// An empty batch with room for `capacity` bytes.
    pub fn with_capacity(header: BatchHeader, capacity: usize) -> Self {
        let mut buf = Vec::with_capacity(capacity.max(HEADER_LEN));
        buf.push(header.version);
        buf.push(header.flags.0);
        buf.extend_from_slice(&header.seq.to_be_bytes());
        Self {
            buf,
            ctx: Context::default(),
            records: 0,
        }
    }

    /// Bytes so far, header included.
    pub fn len(&self) -> usize {
        self.buf.len()
    }

    /// Whether no record has been added.
    pub fn is_empty(&self) -> bool {
        self.records == 0
    }

    /// Number of records so far.
    pub fn records(&self) -> usize {
        self.records
    }

    /// The encoded batch.
    pub fn finish(self) -> Vec<u8> {
        self.buf
    }

    /// Appends `rec` if the batch then stays within `max_len` bytes or is otherwise empty; returns
    /// whether it was appended.
    pub fn push_within(&mut self, rec: &Record, max_len: usize) -> bool {
        let (len, ctx) = (self.buf.len(), self.ctx);
        self.push(rec);
        if self.buf.len() > max_len && self.records > 1 {
            self.buf.truncate(len);
            self.ctx = ctx;
            self.records -= 1;
            return false;
        }
        true
    }

    /// Appends `rec`.
    pub fn push(&mut self, rec: &Record) {
        self.records += 1;
        match rec {
            Record::Add(r) => self.push_add(r),
            Record::Update(u) => self.push_update(u),
            Record::Delete(id) => {
                self.buf.push(RecordType::DELETE.0);
                self.push_id(*id);
            }
            Record::BulkRequest => self.buf.push(RecordType::BULK_REQUEST.0),
            Record::BulkBegin { epoch } => {
                self.buf.push(RecordType::BULK_BEGIN.0);
                put_varint(&mut self.buf, u64::from(*epoch));
            }
            Record::BulkEnd { epoch, count, digest } => {
                self.buf.push(RecordType::BULK_END.0);
                put_varint(&mut self.buf, u64::from(*epoch));
                put_varint(&mut self.buf, *count);
                self.buf.extend_from_slice(&digest.to_be_bytes());
            }
        }
    }

    fn push_id(&mut self, id: HaSessionId) {
        put_varint(
            &mut self.buf,
            u64::from(zigzag(id.0.wrapping_sub(self.ctx.prev_id))),
        );
        self.ctx.prev_id = id.0;
    }

    fn push_tcp_positions(&mut self, i_next: u32, i_ack: u32, r_next: u32, r_ack: u32) {
        self.buf.extend_from_slice(&i_next.to_be_bytes());
        self.buf.extend_from_slice(&i_ack.to_be_bytes());
        put_varint(&mut self.buf, u64::from(zigzag(r_next.wrapping_sub(i_ack))));
        put_varint(&mut self.buf, u64::from(zigzag(r_ack.wrapping_sub(i_next))));
    }

    fn push_add(&mut self, r: &SessionRecord) {
        let (init, init_len) = endpoint_bytes(&r.key.initiator);
        let (resp, resp_len) = endpoint_bytes(&r.key.responder);
        let has_tcp = r.initiator_tcp != TcpDirectionRecord::default()
            || r.responder_tcp != TcpDirectionRecord::default();
        let has_counters = r.bytes_initiator != 0 || r.bytes_responder != 0 || r.age_s != 0 || r.idle_ms != 0;
        let mut flags = 0u8;
        if r.key.initiator.is_ipv6() {
            flags |= ADD_INIT_V6;
        }
        if r.key.responder.is_ipv6() {
            flags |= ADD_RESP_V6;
        }
        if r.direction == RuleDirection::Out {
            flags |= ADD_DIR_OUT;
        }
        if has_tcp {
            flags |= ADD_TCP;
        }
        if has_counters {
            flags |= ADD_COUNTERS;
        }
        let proto_code = match r.key.proto {
            L4Proto::TCP => PROTO_TCP,
            L4Proto::UDP => PROTO_UDP,
            _ => PROTO_EXPLICIT,
        };
        let mut info = r.state.min(INFO_STATE_ESCAPE) | (proto_code << INFO_PROTO_SHIFT);
        let iface_same = r.interface == self.ctx.prev_iface;
        if iface_same {
            info |= INFO_IFACE_SAME;
        }
        self.buf.push(RecordType::ADD.0 | (flags << 3));
        self.buf.push(info);
        self.push_id(r.id);
        if r.state >= INFO_STATE_ESCAPE {
            self.buf.push(r.state);
        }
        if proto_code == PROTO_EXPLICIT {
            self.buf.push(r.key.proto.0);
        }
        if !iface_same {
            put_varint(&mut self.buf, u64::from(r.interface));
            self.ctx.prev_iface = r.interface;
        }
        let init_shared = shared_prefix(&init, &self.ctx.prev_init, init_len);
        let resp_shared = shared_prefix(&resp, &self.ctx.prev_resp, resp_len);
        self.buf.push(init_shared as u8 | ((resp_shared as u8) << 4));
        self.buf.extend_from_slice(&init[init_shared..init_len]);
        self.buf.extend_from_slice(&resp[resp_shared..resp_len]);
        self.ctx.prev_init = init;
        self.ctx.prev_resp = resp;
        if has_tcp {
            self.push_tcp_block(&r.initiator_tcp, &r.responder_tcp);
        }
        if has_counters {
            put_varint(&mut self.buf, r.bytes_initiator);
            put_varint(&mut self.buf, r.bytes_responder);
            put_varint(&mut self.buf, u64::from(r.age_s));
            put_varint(&mut self.buf, u64::from(r.idle_ms));
        }
    }

    fn push_tcp_block(&mut self, i: &TcpDirectionRecord, r: &TcpDirectionRecord) {
        let mut mask = 0u8;
        for (bit, present) in [
            (TCP_I_NEXT, i.next_seq != 0),
            (TCP_R_ACK, r.ack != 0),
            (TCP_R_NEXT, r.next_seq != 0),
            (TCP_I_ACK, i.ack != 0),
            (TCP_I_WIN, i.window != 0),
            (TCP_R_WIN, r.window != 0),
            (TCP_I_WIN_SCALED, i.window != 0 && window_exact(i)),
            (TCP_R_WIN_SCALED, r.window != 0 && window_exact(r)),
        ] {
            if present {
                mask |= bit;
            }
        }
        self.buf.push(mask);
        self.buf
            .push(i.window_scale.min(SCALE_ESCAPE) | (r.window_scale.min(SCALE_ESCAPE) << 4));
        for d in [i, r] {
            if d.window_scale >= SCALE_ESCAPE {
                self.buf.push(d.window_scale);
            }
        }
        if mask & TCP_I_NEXT != 0 {
            self.buf.extend_from_slice(&i.next_seq.to_be_bytes());
        }
        if mask & TCP_R_ACK != 0 {
            put_varint(&mut self.buf, u64::from(zigzag(r.ack.wrapping_sub(i.next_seq))));
        }
        if mask & TCP_R_NEXT != 0 {
            self.buf.extend_from_slice(&r.next_seq.to_be_bytes());
        }
        if mask & TCP_I_ACK != 0 {
            put_varint(&mut self.buf, u64::from(zigzag(i.ack.wrapping_sub(r.next_seq))));
        }
        for (d, present, scaled) in [(i, TCP_I_WIN, TCP_I_WIN_SCALED), (r, TCP_R_WIN, TCP_R_WIN_SCALED)] {
            if mask & present != 0 {
                let w = if mask & scaled != 0 {
                    d.window >> d.window_scale
                } else {
                    d.window
                };
                put_varint(&mut self.buf, u64::from(w));
            }
        }
    }

    fn push_update(&mut self, u: &SessionUpdate) {
        let mut flags = 0u8;
        if u.has_tcp() {
            flags |= UPD_TCP;
        }
        if u.idle_ms != 0 {
            flags |= UPD_IDLE;
        }
        self.buf.push(RecordType::UPDATE.0 | (flags << 3));
        self.push_id(u.id);
        self.buf.push(u.state);
        if u.has_tcp() {
            self.push_tcp_positions(
                u.initiator_next_seq,
                u.initiator_ack,
                u.responder_next_seq,
                u.responder_ack,
            );
        }
        if u.idle_ms != 0 {
            put_varint(&mut self.buf, u64::from(u.idle_ms));
        }
    }
}

/// Encodes `records` as one batch.
pub fn encode_batch(header: BatchHeader, records: &[Record]) -> Vec<u8> {
    let mut enc = BatchEncoder::with_capacity(header, HEADER_LEN + records.len() * 40);
    for rec in records {
        enc.push(rec);
    }
    enc.finish()
}

/// Reads the records of one batch in order; stops after the first error.
#[derive(Clone, Debug)]
pub struct BatchDecoder<'a> {
    bytes: &'a [u8],
    pos: usize,
    ctx: Context,
    failed: bool,
}

/// Checks a batch header and returns it with a reader over the batch's records.
pub fn decode_header(bytes: &[u8]) -> Result<(BatchHeader, BatchDecoder<'_>), DecodeError> {
    let Some(&version) = bytes.first() else {
        return Err(DecodeError::Truncated { offset: 0 });
    };
    if version != VERSION {
        return Err(DecodeError::UnsupportedVersion(version));
    }
    let Some(head) = bytes.get(..HEADER_LEN) else {
        return Err(DecodeError::Truncated { offset: bytes.len() });
    };
    let header = BatchHeader {
        version,
        flags: BatchFlags(head[1]),
        seq: u32::from_be_bytes([head[2], head[3], head[4], head[5]]),
    };
    Ok((
        header,
        BatchDecoder {
            bytes,
            pos: HEADER_LEN,
            ctx: Context::default(),
            failed: false,
        },
    ))
}

/// Decodes a whole batch.
pub fn decode_batch(bytes: &[u8]) -> Result<(BatchHeader, Vec<Record>), DecodeError> {
    let (header, reader) = decode_header(bytes)?;
    let records = reader.collect::<Result<Vec<_>, _>>()?;
    Ok((header, records))
}

impl BatchDecoder<'_> {
    fn u8(&mut self) -> Result<u8, DecodeError> {
        let b = *self
            .bytes
            .get(self.pos)
            .ok_or(DecodeError::Truncated { offset: self.pos })?;
        self.pos += 1;
        Ok(b)
    }

    fn take(&mut self, n: usize) -> Result<&[u8], DecodeError> {
        let end = self
            .pos
            .checked_add(n)
            .ok_or(DecodeError::Truncated { offset: self.pos })?;
        let s = self.bytes.get(self.pos..end).ok_or(DecodeError::Truncated {
            offset: self.bytes.len(),
        })?;
        self.pos = end;
        Ok(s)
    }

    fn u32_be(&mut self) -> Result<u32, DecodeError> {
        let s = self.take(4)?;
        Ok(u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
    }

    fn varint(&mut self) -> Result<u64, DecodeError> {
        let start = self.pos;
        let mut v = 0u64;
        for i in 0..10 {
            let b = self.u8()?;
            if i == 9 && b > 1 {
                return Err(DecodeError::VarintOverflow { offset: start });
            }
            v |= u64::from(b & 0x7f) << (7 * i);
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(DecodeError::VarintOverflow { offset: start })
    }

    fn varint_u32(&mut self) -> Result<u32, DecodeError> {
        let start = self.pos;
        u32::try_from(self.varint()?).map_err(|_| DecodeError::VarintOverflow { offset: start })
    }

    fn id(&mut self) -> Result<HaSessionId, DecodeError> {
        let id = self.ctx.prev_id.wrapping_add(unzigzag(self.varint_u32()?));
        self.ctx.prev_id = id;
        Ok(HaSessionId(id))
    }

    fn tcp_positions(&mut self) -> Result<[u32; 4], DecodeError> {
        let i_next = self.u32_be()?;
        let i_ack = self.u32_be()?;
        let r_next = i_ack.wrapping_add(unzigzag(self.varint_u32()?));
        let r_ack = i_next.wrapping_add(unzigzag(self.varint_u32()?));
        Ok([i_next, i_ack, r_next, r_ack])
    }

    fn endpoint(
        &mut self,
        v6: bool,
        shared: usize,
        prev: [u8; ENDPOINT_MAX],
    ) -> Result<([u8; ENDPOINT_MAX], SocketAddr), DecodeError> {
        let len = if v6 { 18 } else { 6 };
        if shared > len {
            return Err(DecodeError::InvalidField {
                field: "shared prefix",
                offset: self.pos,
            });
        }
        let mut cur = [0u8; ENDPOINT_MAX];
        cur[..shared].copy_from_slice(&prev[..shared]);
        let rest = self.take(len - shared)?;
        cur[shared..len].copy_from_slice(rest);
        let port = u16::from_be_bytes([cur[len - 2], cur[len - 1]]);
        let addr = if v6 {
            let mut o = [0u8; 16];
            o.copy_from_slice(&cur[..16]);
            SocketAddr::V6(SocketAddrV6::new(Ipv6Addr::from(o), port, 0, 0))
        } else {
            SocketAddr::V4(SocketAddrV4::new(
                Ipv4Addr::new(cur[0], cur[1], cur[2], cur[3]),
                port,
            ))
        };
        Ok((cur, addr))
    }

    fn window(&mut self, scaled: bool, scale: u8) -> Result<u32, DecodeError> {
        let offset = self.pos;
        let v = self.varint_u32()?;
        if !scaled {
            return Ok(v);
        }
        if scale >= SCALE_ESCAPE || v > u32::MAX >> scale {
            return Err(DecodeError::InvalidField {
                field: "window",
                offset,
            });
        }
        Ok(v << scale)
    }

    fn tcp_block(&mut self) -> Result<(TcpDirectionRecord, TcpDirectionRecord), DecodeError> {
        let mask = self.u8()?;
        let scales = self.u8()?;
        let mut i = TcpDirectionRecord {
            window_scale: scales & 0x0f,
            ..TcpDirectionRecord::default()
        };
        let mut r = TcpDirectionRecord {
            window_scale: scales >> 4,
            ..TcpDirectionRecord::default()
        };
        for d in [&mut i, &mut r] {
            if d.window_scale == SCALE_ESCAPE {
                d.window_scale = self.u8()?;
            }
        }
        if mask & TCP_I_NEXT != 0 {
            i.next_seq = self.u32_be()?;
        }
        if mask & TCP_R_ACK != 0 {
            r.ack = i.next_seq.wrapping_add(unzigzag(self.varint_u32()?));
        }
        if mask & TCP_R_NEXT != 0 {
            r.next_seq = self.u32_be()?;
        }
        if mask & TCP_I_ACK != 0 {
            i.ack = r.next_seq.wrapping_add(unzigzag(self.varint_u32()?));
        }
        if mask & TCP_I_WIN != 0 {
            i.window = self.window(mask & TCP_I_WIN_SCALED != 0, i.window_scale)?;
        }
        if mask & TCP_R_WIN != 0 {
            r.window = self.window(mask & TCP_R_WIN_SCALED != 0, r.window_scale)?;
        }
        Ok((i, r))
    }

    fn add(&mut self, flags: u8) -> Result<Record, DecodeError> {
        let info_at = self.pos;
        let info = self.u8()?;
        if info & INFO_RESERVED != 0 {
            return Err(DecodeError::InvalidField {
                field: "add info",
                offset: info_at,
            });
        }
        let id = self.id()?;
        let state = match info & INFO_STATE_ESCAPE {
            INFO_STATE_ESCAPE => self.u8()?,
            s => s,
        };
        let proto = match (info >> INFO_PROTO_SHIFT) & 0x03 {
            PROTO_TCP => L4Proto::TCP,
            PROTO_UDP => L4Proto::UDP,
            PROTO_EXPLICIT => L4Proto(self.u8()?),
            _ => {
                return Err(DecodeError::InvalidField {
                    field: "protocol code",
                    offset: info_at,
                });
            }
        };
        if info & INFO_IFACE_SAME == 0 {
            let offset = self.pos;
            self.ctx.prev_iface = u16::try_from(self.varint()?).map_err(|_| DecodeError::InvalidField {
                field: "interface",
                offset,
            })?;
        }
        let interface = self.ctx.prev_iface;
        let share = self.u8()?;
        let (init_bytes, initiator) = self.endpoint(
            flags & ADD_INIT_V6 != 0,
            usize::from(share & 0x0f),
            self.ctx.prev_init,
        )?;
        let (resp_bytes, responder) = self.endpoint(
            flags & ADD_RESP_V6 != 0,
            usize::from(share >> 4),
            self.ctx.prev_resp,
        )?;
        self.ctx.prev_init = init_bytes;
        self.ctx.prev_resp = resp_bytes;
        let mut rec = SessionRecord {
            id,
            key: FlowKey {
                proto,
                initiator,
                responder,
            },
            interface,
            direction: if flags & ADD_DIR_OUT != 0 {
                RuleDirection::Out
            } else {
                RuleDirection::In
            },
            state,
            initiator_tcp: TcpDirectionRecord::default(),
            responder_tcp: TcpDirectionRecord::default(),
            bytes_initiator: 0,
            bytes_responder: 0,
            age_s: 0,
            idle_ms: 0,
        };
        if flags & ADD_TCP != 0 {
            (rec.initiator_tcp, rec.responder_tcp) = self.tcp_block()?;
        }
        if flags & ADD_COUNTERS != 0 {
            rec.bytes_initiator = self.varint()?;
            rec.bytes_responder = self.varint()?;
            rec.age_s = self.varint_u32()?;
            rec.idle_ms = self.varint_u32()?;
        }
        Ok(Record::Add(rec))
    }

    fn update(&mut self, flags: u8) -> Result<Record, DecodeError> {
        let id = self.id()?;
        let state = self.u8()?;
        let mut u = SessionUpdate::new(id, state);
        if flags & UPD_TCP != 0 {
            [
                u.initiator_next_seq,
                u.initiator_ack,
                u.responder_next_seq,
                u.responder_ack,
            ] = self.tcp_positions()?;
        }
        if flags & UPD_IDLE != 0 {
            u.idle_ms = self.varint_u32()?;
        }
        Ok(Record::Update(u))
    }

    fn record(&mut self) -> Result<Record, DecodeError> {
        let offset = self.pos;
        let head = self.u8()?;
        let (code, flags) = (RecordType(head & 0x07), head >> 3);
        let no_flags = |r: Record| {
            if flags == 0 {
                Ok(r)
            } else {
                Err(DecodeError::InvalidField {
                    field: "record flags",
                    offset,
                })
            }
        };
        match code {
            RecordType::ADD => self.add(flags),
            RecordType::UPDATE if flags & !(UPD_TCP | UPD_IDLE) == 0 => self.update(flags),
            RecordType::UPDATE => Err(DecodeError::InvalidField {
                field: "record flags",
                offset,
            }),
            RecordType::DELETE => {
                let id = self.id()?;
                no_flags(Record::Delete(id))
            }
            RecordType::BULK_REQUEST => no_flags(Record::BulkRequest),
            RecordType::BULK_BEGIN => {
                let epoch = self.varint_u32()?;
                no_flags(Record::BulkBegin { epoch })
            }
            RecordType::BULK_END => {
                let epoch = self.varint_u32()?;
                let count = self.varint()?;
                let d = self.take(8)?;
                let mut digest = [0u8; 8];
                digest.copy_from_slice(d);
                no_flags(Record::BulkEnd {
                    epoch,
                    count,
                    digest: u64::from_be_bytes(digest),
                })
            }
            RecordType(code) => Err(DecodeError::UnknownRecordType { code, offset }),
        }
    }
}

impl Iterator for BatchDecoder<'_> {
    type Item = Result<Record, DecodeError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.pos >= self.bytes.len() {
            return None;
        }
        let r = self.record();
        self.failed = r.is_err();
        Some(r)
    }
}
