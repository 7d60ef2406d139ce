//! The association's send path: checks, sealing, and bundling of queued messages.
//!
//! [`Association::send_batch`] takes whatever the driver found queued in one turn. Messages of the same
//! SCTP stream that arrive together are packed into bundles of at most `cfg.bundle_bytes` (one SCTP
//! user message, one tag, see [`crate::envelope::bundle`]); a message alone in its turn, a message too
//! large to share a bundle, or any message to a peer that does not accept bundles goes out as a single
//! envelope, exactly as before bundles existed. Nothing waits for more messages: bundling only uses
//! what is already queued, so it never adds latency.

use dcsctp::api::{Message, PpId, SendOptions, StreamId};
use timebase::Instant;

use super::{Association, PPID};
use crate::envelope::bundle::{BUNDLE_HEADER_LEN, BundleWriter};
use crate::envelope::{ClientId, MAX_PAYLOAD_LEN, MessageKind, STREAM_COUNT};
use crate::error::SendError;

/// One SCTP user message to build from a batch: message indices into the batch, in order, all of
/// one stream. One index: a single envelope; more: a bundle.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Unit {
    pub(crate) stream: u16,
    pub(crate) members: Vec<usize>,
    /// Encoded size of the bundle's header and records (a size hint for a single message).
    pub(crate) bytes: usize,
}

/// Groups the accepted messages `ok` (indices into `batch`, in order) into units: per stream, runs of
/// consecutive messages whose bundle stays within `limit` bytes. `limit == 0` never bundles. Units of
/// one stream come out in the order of their messages.
pub(crate) fn plan_units(
    batch: &[(ClientId, MessageKind, Vec<u8>)],
    ok: &[usize],
    limit: usize,
) -> Vec<Unit> {
    let mut units = Vec::new();
    let mut open: [Option<Unit>; STREAM_COUNT as usize] = Default::default();
    for &i in ok {
        let Some((client, _, payload)) = batch.get(i) else {
            continue;
        };
        let stream = client.stream();
        let slot = &mut open[usize::from(stream)];
        let record = BundleWriter::record_len(payload.len());
        if limit == 0 || BUNDLE_HEADER_LEN + record > limit {
            // Too large to share a bundle: what is open on this stream goes first, then this alone.
            units.extend(slot.take());
            units.push(Unit {
                stream,
                members: vec![i],
                bytes: payload.len(),
            });
            continue;
        }
        match slot {
            Some(u) if u.bytes + record <= limit => {
                u.members.push(i);
                u.bytes += record;
            }
            _ => {
                units.extend(slot.take());
                *slot = Some(Unit {
                    stream,
                    members: vec![i],
                    bytes: BUNDLE_HEADER_LEN + record,
                });
            }
        }
    }
    units.extend(open.into_iter().flatten());
    units
}

impl Association {
    /// Queues a client message. Non-blocking; refuses (and counts) when the association is down, the
    /// payload too large, or the bounded send queue full.
    pub fn send(
        &mut self,
        now: Instant,
        client: ClientId,
        kind: MessageKind,
        payload: Vec<u8>,
    ) -> Result<(), SendError> {
        self.send_batch(now, vec![(client, kind, payload)])
            .pop()
            .unwrap_or(Err(SendError::Stopped))
    }

    /// Queues several messages at once: messages of one stream are bundled (up to `bundle_bytes`) when
    /// the peer accepts bundles, and the SCTP stack packs what it is given into shared packets. The
    /// results are in the order of `batch`; per stream, messages are delivered in that order.
    pub fn send_batch(
        &mut self,
        now: Instant,
        mut batch: Vec<(ClientId, MessageKind, Vec<u8>)>,
    ) -> Vec<Result<(), SendError>> {
        self.advance(now);
        let mut results = Vec::with_capacity(batch.len());
        let mut ok = Vec::with_capacity(batch.len());
        for (i, (_, kind, payload)) in batch.iter().enumerate() {
            let r = self.check_send(*kind, payload.len());
            if r.is_ok() {
                ok.push(i);
            }
            results.push(r);
        }
        let limit = if self.session.peer_accepts_bundles() {
            self.cfg.bundle_bytes
        } else {
            0
        };
        let units = plan_units(&batch, &ok, limit);
        // Single messages' payloads move into their envelopes: keep the sizes for the counters.
        let lens: Vec<usize> = batch.iter().map(|(_, _, p)| p.len()).collect();
        let mut msgs = Vec::with_capacity(units.len());
        for u in &units {
            let bytes = match u.members.as_slice() {
                [one] => {
                    let (client, kind, payload) = &mut batch[*one];
                    self.session.seal(*client, *kind, std::mem::take(payload)).1
                }
                many => {
                    let items = many.iter().map(|&i| {
                        let (client, kind, payload) = &batch[i];
                        (*client, *kind, payload.as_slice())
                    });
                    self.session.seal_bundle(u.stream, items, u.bytes)
                }
            };
            msgs.push(Message::new(StreamId(u.stream), PpId(PPID), bytes));
        }
        let failed = match self.sctp.send_many(msgs, &SendOptions::default()) {
            Ok(()) => Vec::new(),
            Err(e) => e.0.into_iter().map(|(pos, _)| pos).collect(),
        };
        for (pos, u) in units.iter().enumerate() {
            let refused = failed.contains(&pos);
            if !refused && u.members.len() > 1 {
                self.stats.bundles_sent += 1;
            }
            for &i in &u.members {
                let kind = batch[i].1;
                if refused {
                    self.stats.drop_queue_full += 1;
                    self.stats.kind(kind).xerr += 1;
                    results[i] = Err(SendError::QueueFull);
                } else {
                    self.stats.msgs_sent += 1;
                    self.stats.bytes_sent += lens[i] as u64;
                    self.stats.kind(kind).xmit += 1;
                }
            }
        }
        self.drain();
        results
    }

    fn check_send(&mut self, kind: MessageKind, len: usize) -> Result<(), SendError> {
        let err = if len > MAX_PAYLOAD_LEN {
            self.stats.drop_too_large += 1;
            SendError::TooLarge(len)
        } else if !self.up {
            self.stats.drop_not_up += 1;
            SendError::NotConnected
        } else {
            return Ok(());
        };
        self.stats.kind(kind).xerr += 1;
        Err(err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(client: ClientId, len: usize) -> (ClientId, MessageKind, Vec<u8>) {
        (client, MessageKind::INSPECT_SYNC, vec![0; len])
    }

    #[test]
    fn units_group_per_stream_in_order_within_the_limit() {
        let batch = vec![
            msg(ClientId::INSPECT, 100), // 0: stream 1
            msg(ClientId::RF, 10),       // 1: stream 0, alone in its stream
            msg(ClientId::INSPECT, 100), // 2
            msg(ClientId::INSPECT, 100), // 3: does not fit with 0 and 2 under 300 bytes
            msg(ClientId::INSPECT, 400), // 4: too large to share: alone, after 3's unit
            msg(ClientId(9), 5),         // 5: stream 2
            msg(ClientId(9), 5),         // 6
        ];
        let ok: Vec<usize> = (0..batch.len()).collect();
        let units = plan_units(&batch, &ok, 300);
        let members: Vec<(u16, Vec<usize>)> = units.iter().map(|u| (u.stream, u.members.clone())).collect();
        assert_eq!(
            members,
            vec![
                (1, vec![0, 2]),
                (1, vec![3]),
                (1, vec![4]),
                (0, vec![1]),
                (2, vec![5, 6])
            ]
        );
        assert_eq!(units[0].bytes, BUNDLE_HEADER_LEN + 2 * (8 + 100));
        // Off: one unit per message, in order.
        let off = plan_units(&batch, &ok, 0);
        assert_eq!(off.len(), batch.len());
        assert!(off.iter().enumerate().all(|(i, u)| u.members == vec![i]));
        // Refused messages are left out.
        let some = plan_units(&batch, &[0, 2, 3], 10_000);
        assert_eq!(some.len(), 1);
        assert_eq!(some[0].members, vec![0, 2, 3]);
    }
}
