//! Batched judging: [`Engine::process_batch`] stages the lookups of several packets so that their cache
//! misses overlap (parse and hash all, prefetch the index buckets; prefetch the entries; then judge each in
//! order, exactly as [`Engine::process`] would).

use timebase::Instant;

use super::Engine;
use crate::memhint;
use crate::status::Verdict;
use crate::table::{FlowTuple, NIL};
use crate::wire::{self, L4Info, PacketInfo};

/// Packets between the stages of [`Engine::process_batch`]'s pipeline: how far ahead of its use a
/// bucket, then an entry, is prefetched.
const DISTANCE: usize = 8;
/// Slots of the pipeline (more than the `2 * DISTANCE` packets in flight).
const RING: usize = 32;

/// One packet of a batch for [`Engine::process_batch`]: its bytes (from the IP header) and the interfaces
/// it was forwarded between (as for [`Engine::process`]).
#[derive(Clone, Copy, Debug)]
pub struct BatchPacket<'a> {
    /// The packet, from the IP header.
    pub bytes: &'a [u8],
    /// Interface it arrived on.
    pub ingress: Option<u16>,
    /// Interface it leaves by.
    pub egress: Option<u16>,
}

/// A parsed packet with the hash of its flow (TCP and UDP; 0 otherwise).
#[derive(Clone, Copy)]
pub(super) struct Classified {
    /// `None` when the packet is malformed.
    pub(super) info: Option<PacketInfo>,
    pub(super) hash: u64,
    /// The entry the flow index points at first (see [`Table::lookup_hinted`]), or [`NIL`].
    pub(super) hint: u32,
}

impl Classified {
    pub(super) const MALFORMED: Self = Self {
        info: None,
        hash: 0,
        hint: NIL,
    };
}

/// The flow of a TCP or UDP packet (other packets have none).
#[inline]
pub(super) fn flow_of(info: &PacketInfo) -> Option<FlowTuple> {
    let (src_port, dst_port) = match info.l4 {
        L4Info::Tcp(t) => (t.src_port, t.dst_port),
        L4Info::Udp { src_port, dst_port } => (src_port, dst_port),
        L4Info::Fragment | L4Info::Icmp { .. } | L4Info::Other => return None,
    };
    Some(FlowTuple {
        proto: info.proto,
        src: info.src_key,
        src_port,
        dst: info.dst_key,
        dst_port,
    })
}

impl Engine {
    /// Judges a batch of packets, in order, with the same result as calling [`process`](Self::process) on
    /// each; pushes one verdict per packet onto `verdicts`.
    ///
    /// Faster than packet by packet on large session tables: the lookups of several packets are
    /// staged (parse and hash all, prefetch their index buckets; prefetch the entries the buckets point at;
    /// then judge each), so their cache misses overlap instead of following one another.
    pub fn process_batch(&mut self, now: Instant, packets: &[BatchPacket<'_>], verdicts: &mut Vec<Verdict>) {
        verdicts.reserve(packets.len());
        self.process_batch_with(now, packets, |v| verdicts.push(v));
    }

    /// [`process_batch`](Self::process_batch) handing each verdict, in order, to `each`.
    pub(crate) fn process_batch_with(
        &mut self,
        now: Instant,
        packets: &[BatchPacket<'_>],
        mut each: impl FnMut(Verdict),
    ) {
        self.observe(now);
        // A software pipeline: packet i is parsed and hashed (its bucket prefetched) while packet
        // i - DISTANCE has its entry prefetched and packet i - 2 * DISTANCE is judged.
        let mut ring = [Classified::MALFORMED; RING];
        let n = packets.len();
        for i in 0..n + 2 * DISTANCE {
            if let Some(ahead) = packets.get(i + DISTANCE).and_then(|p| p.bytes.first()) {
                // The headers of a packet a little further on (already cached when the data plane has
                // just received it, but not always).
                memhint::prefetch(ahead);
            }
            if let Some(p) = packets.get(i) {
                let c = self.classify(p.bytes);
                self.table.prefetch_bucket(c.hash);
                ring[i % RING] = c;
            }
            if let Some(j) = i.checked_sub(DISTANCE).filter(|&j| j < n) {
                let c = &mut ring[j % RING];
                c.hint = self.table.prefetch_entry(c.hash);
            }
            if let Some(j) = i.checked_sub(2 * DISTANCE).filter(|&j| j < n)
                && let Some(p) = packets.get(j)
            {
                each(self.judge(&ring[j % RING], p.ingress, p.egress));
            }
        }
    }

    /// Parses a packet and hashes its flow.
    #[inline]
    pub(super) fn classify(&self, packet: &[u8]) -> Classified {
        let Ok(info) = wire::parse(packet) else {
            return Classified::MALFORMED;
        };
        let hash = flow_of(&info).map_or(0, |t| self.table.flow_hash(&t));
        Classified {
            info: Some(info),
            hash,
            hint: NIL,
        }
    }
}
