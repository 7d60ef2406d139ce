//! The per-shard session table: a slab of compact entries, a seeded hash index over the normalized flow
//! key (both directions of a flow find the same entry) and a hashed timing wheel threaded through the
//! entries themselves (intrusive doubly-linked lists: no timer objects, no allocation per timer).
//!
//! Memory per session: one [`Session`] (112 bytes, checked by a test) in the slab, one `u32` bucket in the
//! flow index ([`index`]; 4–8 bytes per session with its load between 3/8 and 3/4), nothing in the wheel
//! beyond one `u32` head per slot. The wheel is lazy: an entry is linked to the slot of the deadline it had
//! when it was (re)linked; packets only refresh `last_ms`, and when the slot comes round the engine
//! re-checks the entry and either expires it or links it again further on.

mod index;

use std::hash::BuildHasher;

use foldhash::fast::FixedState;
use hashbrown::HashTable;

use crate::prefetch;
use crate::tcp::{Side, TcpState};
use index::FlowIndex;

/// No entry.
pub(crate) const NIL: u32 = u32::MAX;
/// Wheel resolution.
pub(crate) const TICK_MS: u64 = 100;
/// Slots in the wheel (one turn = 102.4 s).
pub(crate) const SLOTS: usize = 1024;
const NO_SLOT: u16 = u16::MAX;

/// Entry flags.
pub(crate) mod flag {
    /// Slot in use.
    pub(crate) const LIVE: u8 = 0x01;
    /// Opened by an `out` rule (else `in`).
    pub(crate) const DIR_OUT: u8 = 0x02;
    /// IPv6 addresses.
    pub(crate) const V6: u8 = 0x04;
    /// HA session (interface has `redundancy stateful`).
    pub(crate) const HA: u8 = 0x08;
    /// Standby copy of a session of the peer (not used for forwarding while the role is Standby).
    pub(crate) const STANDBY: u8 = 0x10;
    /// Present in the HA-id index (standby copies).
    pub(crate) const ID_INDEXED: u8 = 0x20;
}

/// One session. Field order keeps the struct at 112 bytes.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Session {
    pub(crate) init_addr: [u8; 16],
    pub(crate) resp_addr: [u8; 16],
    pub(crate) bytes: [u64; 2],
    pub(crate) tcp: TcpState,
    pub(crate) init_port: u16,
    pub(crate) resp_port: u16,
    /// Engine time of creation, whole seconds.
    pub(crate) created_s: u32,
    /// Engine time of the last accepted packet, milliseconds modulo 2^32 (compared with wrapping arithmetic;
    /// the wheel re-checks every entry at least once per turn, far inside the 49-day wrap).
    pub(crate) last_ms: u32,
    pub(crate) ha_id: u32,
    /// Engine time of the last HA add/update, milliseconds modulo 2^32.
    pub(crate) ha_last_ms: u32,
    pub(crate) prev: u32,
    pub(crate) next: u32,
    pub(crate) slot: u16,
    pub(crate) iface: u16,
    pub(crate) proto: u8,
    pub(crate) flags: u8,
}

impl Session {
    pub(crate) const fn has(&self, f: u8) -> bool {
        self.flags & f != 0
    }
    /// Which side of this session sent a packet of flow `t`, if it belongs to this session.
    #[inline]
    fn matches(&self, t: &FlowTuple) -> Option<Side> {
        if self.proto != t.proto {
            return None;
        }
        let (init, resp) = (addr_key(&self.init_addr), addr_key(&self.resp_addr));
        if self.init_port == t.src_port && self.resp_port == t.dst_port && init == t.src && resp == t.dst {
            Some(Side::Initiator)
        } else if self.init_port == t.dst_port
            && self.resp_port == t.src_port
            && init == t.dst
            && resp == t.src
        {
            Some(Side::Responder)
        } else {
            None
        }
    }
}

/// A 16-byte address as the integer the flow key uses (`u128::from_ne_bytes`: a plain 16-byte load).
#[inline]
pub(crate) fn addr_key(a: &[u8; 16]) -> u128 {
    u128::from_ne_bytes(*a)
}

/// Flow identity of a packet. Addresses are the [`addr_key`] of their 16-byte form (IPv4 mapped into the
/// last four bytes), kept as integers so that building and hashing a tuple stays in registers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct FlowTuple {
    pub(crate) proto: u8,
    pub(crate) src: u128,
    pub(crate) src_port: u16,
    pub(crate) dst: u128,
    pub(crate) dst_port: u16,
}

impl FlowTuple {
    /// The tuple of a session's opening direction.
    pub(crate) fn of(s: &Session) -> Self {
        Self {
            proto: s.proto,
            src: addr_key(&s.init_addr),
            src_port: s.init_port,
            dst: addr_key(&s.resp_addr),
            dst_port: s.resp_port,
        }
    }
}

/// The table of one shard.
pub(crate) struct Table {
    pub(crate) slab: Vec<Session>,
    free_head: u32,
    index: FlowIndex,
    id_index: HashTable<u32>,
    hasher: FlowHasher,
    id_hasher: FixedState,
    len: u32,
    heads: Vec<u32>,
    /// Last wheel tick processed (None until the engine has seen a time).
    pub(crate) tick: Option<u64>,
}

impl Table {
    pub(crate) fn new(seed: u64) -> Self {
        Self {
            slab: Vec::new(),
            free_head: NIL,
            index: FlowIndex::default(),
            id_index: HashTable::new(),
            hasher: FlowHasher::new(seed),
            id_hasher: FixedState::with_seed(seed.rotate_left(32) ^ 0x5851_f42d_4c95_7f2d),
            len: 0,
            heads: vec![NIL; SLOTS],
            tick: None,
        }
    }

    pub(crate) fn len(&self) -> u32 {
        self.len
    }

    /// The seeded hash of `t`'s flow (the same for both directions).
    #[inline]
    pub(crate) fn flow_hash(&self, t: &FlowTuple) -> u64 {
        self.hasher.hash(t)
    }

    fn id_hash(&self, id: u32) -> u64 {
        self.id_hasher.hash_one(id)
    }

    /// Whether the slab can take no more entries.
    pub(crate) fn is_full(&self) -> bool {
        self.len >= index::MAX_ENTRIES - 1
    }

    /// Starts loading the index bucket where the lookup of `hash` begins.
    #[inline]
    pub(crate) fn prefetch_bucket(&self, hash: u64) {
        self.index.prefetch(hash);
    }

    /// Starts loading the slab entry the lookup of `hash` will most likely compare (needs the bucket).
    #[inline]
    pub(crate) fn prefetch_entry(&self, hash: u64) {
        if let Some(s) = self
            .index
            .first_candidate(hash)
            .and_then(|i| self.slab.get(i as usize))
        {
            // An entry spans two or three cache lines: the key at its start, the counters and times at its end.
            prefetch::read(&s.init_addr);
            prefetch::read(&s.flags);
        }
    }

    /// The live entry of `t`'s flow and which side sent `t`.
    #[inline]
    pub(crate) fn lookup(&self, t: &FlowTuple) -> Option<(u32, Side)> {
        self.lookup_hashed(t, self.flow_hash(t))
    }

    /// [`lookup`](Self::lookup) with the flow's hash already computed.
    #[inline]
    pub(crate) fn lookup_hashed(&self, t: &FlowTuple, h: u64) -> Option<(u32, Side)> {
        let slab = &self.slab;
        let mut side = Side::Initiator;
        let idx = self.index.find(h, |i| match slab.get(i as usize) {
            Some(s) => match s.matches(t) {
                Some(sd) => {
                    side = sd;
                    true
                }
                None => false,
            },
            None => false,
        })?;
        Some((idx, side))
    }

    /// The entry holding HA id `id` (standby copies only).
    pub(crate) fn lookup_id(&self, id: u32) -> Option<u32> {
        let slab = &self.slab;
        self.id_index
            .find(self.id_hash(id), |&i| {
                slab.get(i as usize).is_some_and(|s| s.ha_id == id)
            })
            .copied()
    }

    /// Inserts `s` (its key must not be present); returns its index, or `None` when the table is
    /// [full](Self::is_full). The caller links it into the wheel.
    pub(crate) fn insert(&mut self, mut s: Session) -> Option<u32> {
        if self.is_full() {
            return None;
        }
        s.flags |= flag::LIVE;
        s.prev = NIL;
        s.next = NIL;
        s.slot = NO_SLOT;
        let idx = if self.free_head != NIL {
            let idx = self.free_head;
            self.free_head = self.slab[idx as usize].next;
            self.slab[idx as usize] = s;
            idx
        } else {
            self.slab.push(s);
            (self.slab.len() - 1) as u32
        };
        let h = self.flow_hash(&FlowTuple::of(&s));
        let (hasher, slab) = (&self.hasher, &self.slab);
        self.index.insert(h, idx, |i| rehash(hasher, slab, i));
        self.len += 1;
        Some(idx)
    }

    /// Adds entry `idx` to the HA-id index under its `ha_id`.
    pub(crate) fn index_id(&mut self, idx: u32) {
        let s = &mut self.slab[idx as usize];
        if s.has(flag::ID_INDEXED) {
            return;
        }
        s.flags |= flag::ID_INDEXED;
        let h = self.id_hasher.hash_one(s.ha_id);
        let (hasher, slab) = (&self.id_hasher, &self.slab);
        self.id_index.insert_unique(h, idx, |&i| {
            hasher.hash_one(slab.get(i as usize).map_or(0, |s| s.ha_id))
        });
    }

    /// Removes entry `idx` from the HA-id index.
    pub(crate) fn unindex_id(&mut self, idx: u32) {
        let Some(s) = self.slab.get_mut(idx as usize) else {
            return;
        };
        if !s.has(flag::ID_INDEXED) {
            return;
        }
        s.flags &= !flag::ID_INDEXED;
        let h = self.id_hasher.hash_one(s.ha_id);
        if let Ok(e) = self.id_index.find_entry(h, |&i| i == idx) {
            e.remove();
        }
    }

    /// Empties the HA-id index (promotion), keeping the entries.
    pub(crate) fn clear_id_index(&mut self) {
        for &i in self.id_index.iter() {
            if let Some(s) = self.slab.get_mut(i as usize) {
                s.flags &= !flag::ID_INDEXED;
            }
        }
        self.id_index = HashTable::new();
    }

    /// Removes entry `idx` from the index, the wheel and the HA-id index, and frees it.
    pub(crate) fn remove(&mut self, idx: u32) -> Option<Session> {
        let s = *self.slab.get(idx as usize)?;
        if !s.has(flag::LIVE) {
            return None;
        }
        self.unlink(idx);
        self.unindex_id(idx);
        let h = self.flow_hash(&FlowTuple::of(&s));
        let (hasher, slab) = (&self.hasher, &self.slab);
        self.index.remove(h, idx, |i| rehash(hasher, slab, i));
        let slot = &mut self.slab[idx as usize];
        slot.flags = 0;
        slot.next = self.free_head;
        self.free_head = idx;
        self.len -= 1;
        Some(s)
    }

    /// Links entry `idx` into the slot of `due_ms` (absolute engine milliseconds).
    pub(crate) fn link(&mut self, idx: u32, due_ms: u64) {
        self.unlink(idx);
        let cur = self.tick.unwrap_or(0);
        let due_tick = due_ms.div_ceil(TICK_MS).max(cur + 1);
        let slot = (due_tick % SLOTS as u64) as usize;
        let head = self.heads[slot];
        if head != NIL {
            self.slab[head as usize].prev = idx;
        }
        let s = &mut self.slab[idx as usize];
        s.prev = NIL;
        s.next = head;
        s.slot = slot as u16;
        self.heads[slot] = idx;
    }

    /// Takes entry `idx` out of its wheel slot (no-op when not linked).
    pub(crate) fn unlink(&mut self, idx: u32) {
        let Some(s) = self.slab.get(idx as usize) else {
            return;
        };
        if s.slot == NO_SLOT {
            return;
        }
        let (prev, next, slot) = (s.prev, s.next, s.slot as usize);
        if prev != NIL {
            self.slab[prev as usize].next = next;
        } else if let Some(h) = self.heads.get_mut(slot) {
            *h = next;
        }
        if next != NIL {
            self.slab[next as usize].prev = prev;
        }
        let s = &mut self.slab[idx as usize];
        s.prev = NIL;
        s.next = NIL;
        s.slot = NO_SLOT;
    }

    /// Detaches the whole list of the slot of `tick` and returns its entries.
    pub(crate) fn take_slot(&mut self, tick: u64, out: &mut Vec<u32>) {
        let slot = (tick % SLOTS as u64) as usize;
        let mut cur = std::mem::replace(&mut self.heads[slot], NIL);
        while cur != NIL {
            out.push(cur);
            let s = &mut self.slab[cur as usize];
            let next = s.next;
            s.prev = NIL;
            s.next = NIL;
            s.slot = NO_SLOT;
            cur = next;
        }
    }

    /// Indices of every live entry.
    pub(crate) fn live(&self) -> impl Iterator<Item = u32> + '_ {
        self.slab
            .iter()
            .enumerate()
            .filter(|(_, s)| s.has(flag::LIVE))
            .map(|(i, _)| i as u32)
    }

    /// Bytes held by the table's allocations (slab, indexes, wheel).
    pub(crate) fn allocated_bytes(&self) -> usize {
        self.slab.capacity() * size_of::<Session>()
            + self.index.allocation_size()
            + self.id_index.allocation_size()
            + self.heads.capacity() * size_of::<u32>()
    }
}

fn rehash(hasher: &FlowHasher, slab: &[Session], i: u32) -> u64 {
    slab.get(i as usize).map_or(0, |s| hasher.hash(&FlowTuple::of(s)))
}

/// The seeded flow hash: the flow key normalized (lower address and port first, so both directions of a
/// flow agree), then mixed by folded 64×64→128-bit multiplications with secret per-table keys (the
/// construction of foldhash, specialised to the key's shape). Keys are chosen by whoever sends packets,
/// hence the random seed.
#[derive(Clone, Copy, Debug)]
pub(crate) struct FlowHasher {
    keys: [u64; 6],
}

#[inline]
fn folded_multiply(a: u64, b: u64) -> u64 {
    let p = u128::from(a) * u128::from(b);
    (p as u64) ^ ((p >> 64) as u64)
}

impl FlowHasher {
    /// Keys derived from `seed` (splitmix64).
    pub(crate) fn new(seed: u64) -> Self {
        let mut state = seed;
        let mut next = || {
            state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^ (z >> 31)
        };
        Self {
            keys: [next(), next(), next(), next(), next(), next()],
        }
    }

    /// Hash of flow `t`, the same for both of its directions.
    #[inline]
    pub(crate) fn hash(&self, t: &FlowTuple) -> u64 {
        let (a, ap, b, bp) = (t.src, t.src_port, t.dst, t.dst_port);
        let (lo, lp, hi, hp) = if (a, ap) <= (b, bp) {
            (a, ap, b, bp)
        } else {
            (b, bp, a, ap)
        };
        let k = &self.keys;
        let tail = (u64::from(lp) << 32) | (u64::from(hp) << 16) | u64::from(t.proto);
        let x = folded_multiply(lo as u64 ^ k[0], (lo >> 64) as u64 ^ k[1]);
        let y = folded_multiply(hi as u64 ^ k[2], (hi >> 64) as u64 ^ k[3]);
        folded_multiply(x ^ tail ^ k[4], y ^ k[5])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_entry_is_compact() {
        assert_eq!(size_of::<Session>(), 112);
    }

    #[test]
    fn flow_hash_is_symmetric_and_seeded() {
        let t = |proto, src, src_port, dst, dst_port| FlowTuple {
            proto,
            src,
            src_port,
            dst,
            dst_port,
        };
        let h = FlowHasher::new(1);
        let fwd = h.hash(&t(6, 1, 10, 2, 20));
        assert_eq!(fwd, h.hash(&t(6, 2, 20, 1, 10)));
        assert_ne!(fwd, h.hash(&t(17, 1, 10, 2, 20)));
        assert_ne!(fwd, h.hash(&t(6, 1, 20, 2, 10)));
        assert_ne!(fwd, FlowHasher::new(2).hash(&t(6, 1, 10, 2, 20)));
    }
}
