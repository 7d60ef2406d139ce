//! The batch decoder: [`decode_header`] checks a batch header and returns a [`BatchDecoder`], an
//! iterator over the batch's records that stops at the first error.

use std::net::SocketAddr;

use super::layout::{
    Context, ENDPOINT_MAX, EndpointBytes, SCALE_ESCAPE, add_flag, add_info, endpoint_addr, endpoint_len,
    proto_code, tcp_mask, unzigzag, update_flag,
};
use super::{BatchFlags, BatchHeader, HEADER_LEN, Record, RecordType, VERSION};
use crate::ha::error::DecodeError;
use crate::ha::store::SessionUpdate;
use crate::record::{FlowKey, HaSessionId, L4Proto, RuleDirection, SessionRecord, TcpDirectionRecord};

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

    /// One endpoint of an ADD: `shared` bytes from `prev`, the rest from the batch.
    fn endpoint(
        &mut self,
        v6: bool,
        shared: usize,
        prev: EndpointBytes,
    ) -> Result<(EndpointBytes, SocketAddr), DecodeError> {
        let len = endpoint_len(v6);
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
        Ok((cur, endpoint_addr(&cur, v6)))
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
        if mask & tcp_mask::I_NEXT != 0 {
            i.next_seq = self.u32_be()?;
        }
        if mask & tcp_mask::R_ACK != 0 {
            r.ack = i.next_seq.wrapping_add(unzigzag(self.varint_u32()?));
        }
        if mask & tcp_mask::R_NEXT != 0 {
            r.next_seq = self.u32_be()?;
        }
        if mask & tcp_mask::I_ACK != 0 {
            i.ack = r.next_seq.wrapping_add(unzigzag(self.varint_u32()?));
        }
        if mask & tcp_mask::I_WIN != 0 {
            i.window = self.window(mask & tcp_mask::I_WIN_SCALED != 0, i.window_scale)?;
        }
        if mask & tcp_mask::R_WIN != 0 {
            r.window = self.window(mask & tcp_mask::R_WIN_SCALED != 0, r.window_scale)?;
        }
        Ok((i, r))
    }

    fn add(&mut self, flags: u8) -> Result<Record, DecodeError> {
        let info_at = self.pos;
        let info = self.u8()?;
        if info & add_info::RESERVED != 0 {
            return Err(DecodeError::InvalidField {
                field: "add info",
                offset: info_at,
            });
        }
        let id = self.id()?;
        let state = match info & add_info::STATE_ESCAPE {
            add_info::STATE_ESCAPE => self.u8()?,
            s => s,
        };
        let proto = match (info >> add_info::PROTO_SHIFT) & 0x03 {
            proto_code::TCP => L4Proto::TCP,
            proto_code::UDP => L4Proto::UDP,
            proto_code::EXPLICIT => L4Proto(self.u8()?),
            _ => {
                return Err(DecodeError::InvalidField {
                    field: "protocol code",
                    offset: info_at,
                });
            }
        };
        if info & add_info::IFACE_SAME == 0 {
            let offset = self.pos;
            self.ctx.prev_iface = u16::try_from(self.varint()?).map_err(|_| DecodeError::InvalidField {
                field: "interface",
                offset,
            })?;
        }
        let interface = self.ctx.prev_iface;
        let share = self.u8()?;
        let (init_bytes, initiator) = self.endpoint(
            flags & add_flag::INIT_V6 != 0,
            usize::from(share & 0x0f),
            self.ctx.prev_init,
        )?;
        let (resp_bytes, responder) = self.endpoint(
            flags & add_flag::RESP_V6 != 0,
            usize::from(share >> 4),
            self.ctx.prev_resp,
        )?;
        self.ctx.prev_init = init_bytes;
        self.ctx.prev_resp = resp_bytes;
        let direction = if flags & add_flag::DIR_OUT != 0 {
            RuleDirection::Out
        } else {
            RuleDirection::In
        };
        let (initiator_tcp, responder_tcp) = if flags & add_flag::TCP != 0 {
            self.tcp_block()?
        } else {
            (TcpDirectionRecord::default(), TcpDirectionRecord::default())
        };
        // Fields are read left to right: bytes from the initiator, from the responder, age, idle time.
        let (bytes_initiator, bytes_responder, age_s, idle_ms) = if flags & add_flag::COUNTERS != 0 {
            (
                self.varint()?,
                self.varint()?,
                self.varint_u32()?,
                self.varint_u32()?,
            )
        } else {
            (0, 0, 0, 0)
        };
        Ok(Record::Add(SessionRecord {
            id,
            key: FlowKey {
                proto,
                initiator,
                responder,
            },
            interface,
            direction,
            state,
            initiator_tcp,
            responder_tcp,
            bytes_initiator,
            bytes_responder,
            age_s,
            idle_ms,
        }))
    }

    fn update(&mut self, flags: u8) -> Result<Record, DecodeError> {
        let id = self.id()?;
        let state = self.u8()?;
        let mut u = SessionUpdate::new(id, state);
        if flags & update_flag::TCP != 0 {
            [
                u.initiator_next_seq,
                u.initiator_ack,
                u.responder_next_seq,
                u.responder_ack,
            ] = self.tcp_positions()?;
        }
        if flags & update_flag::IDLE != 0 {
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
            RecordType::UPDATE if flags & !(update_flag::TCP | update_flag::IDLE) == 0 => self.update(flags),
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
