//! The batch encoder: [`BatchEncoder`] appends records to one batch, compressing each against the
//! previous ones of the same batch.

use super::layout::{
    Context, EndpointBytes, SCALE_ESCAPE, SHARE_MAX, add_flag, add_info, endpoint_bytes, proto_code,
    tcp_mask, update_flag, zigzag,
};
use super::{BatchHeader, HEADER_LEN, Record, RecordType};
use crate::ha::store::SessionUpdate;
use crate::record::{HaSessionId, L4Proto, RuleDirection, SessionRecord, TcpDirectionRecord};

/// Appends `v` as unsigned LEB128.
fn put_varint(buf: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        buf.push((v as u8) | 0x80);
        v >>= 7;
    }
    buf.push(v as u8);
}

/// How many of the first `len` bytes of `cur` equal `prev`'s (at most [`SHARE_MAX`]).
fn shared_prefix(cur: &EndpointBytes, prev: &EndpointBytes, len: usize) -> usize {
    cur[..len]
        .iter()
        .zip(&prev[..len])
        .take_while(|(a, b)| a == b)
        .count()
        .min(SHARE_MAX)
}

/// Whether `d`'s window can be sent divided by 2^scale.
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
            flags |= add_flag::INIT_V6;
        }
        if r.key.responder.is_ipv6() {
            flags |= add_flag::RESP_V6;
        }
        if r.direction == RuleDirection::Out {
            flags |= add_flag::DIR_OUT;
        }
        if has_tcp {
            flags |= add_flag::TCP;
        }
        if has_counters {
            flags |= add_flag::COUNTERS;
        }
        let proto = match r.key.proto {
            L4Proto::TCP => proto_code::TCP,
            L4Proto::UDP => proto_code::UDP,
            _ => proto_code::EXPLICIT,
        };
        let mut info = r.state.min(add_info::STATE_ESCAPE) | (proto << add_info::PROTO_SHIFT);
        let iface_same = r.interface == self.ctx.prev_iface;
        if iface_same {
            info |= add_info::IFACE_SAME;
        }
        self.buf.push(RecordType::ADD.0 | (flags << 3));
        self.buf.push(info);
        self.push_id(r.id);
        if r.state >= add_info::STATE_ESCAPE {
            self.buf.push(r.state);
        }
        if proto == proto_code::EXPLICIT {
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
            (tcp_mask::I_NEXT, i.next_seq != 0),
            (tcp_mask::R_ACK, r.ack != 0),
            (tcp_mask::R_NEXT, r.next_seq != 0),
            (tcp_mask::I_ACK, i.ack != 0),
            (tcp_mask::I_WIN, i.window != 0),
            (tcp_mask::R_WIN, r.window != 0),
            (tcp_mask::I_WIN_SCALED, i.window != 0 && window_exact(i)),
            (tcp_mask::R_WIN_SCALED, r.window != 0 && window_exact(r)),
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
        if mask & tcp_mask::I_NEXT != 0 {
            self.buf.extend_from_slice(&i.next_seq.to_be_bytes());
        }
        if mask & tcp_mask::R_ACK != 0 {
            put_varint(&mut self.buf, u64::from(zigzag(r.ack.wrapping_sub(i.next_seq))));
        }
        if mask & tcp_mask::R_NEXT != 0 {
            self.buf.extend_from_slice(&r.next_seq.to_be_bytes());
        }
        if mask & tcp_mask::I_ACK != 0 {
            put_varint(&mut self.buf, u64::from(zigzag(i.ack.wrapping_sub(r.next_seq))));
        }
        for (d, present, scaled) in [
            (i, tcp_mask::I_WIN, tcp_mask::I_WIN_SCALED),
            (r, tcp_mask::R_WIN, tcp_mask::R_WIN_SCALED),
        ] {
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
            flags |= update_flag::TCP;
        }
        if u.idle_ms != 0 {
            flags |= update_flag::IDLE;
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
