//! The per-shard session table: a slab of compact entries, a seeded hash index over the normalized flow
//! key (both directions of a flow find the same entry) and a hashed timing wheel threaded through the
//! entries themselves (intrusive doubly-linked lists: no timer objects, no allocation per timer).
//!
//! Memory per session: one [`Session`] (112 bytes, checked by a test) in the slab, one `u32` plus one
//! control byte in the hash index (at most 8/7 of that with hashbrown's load factor), nothing in the wheel
//! beyond one `u32` head per slot. The wheel is lazy: an entry is linked to the slot of the deadline it had
//! when it was (re)linked; packets only refresh `last_ms`, and when the slot comes round the engine
//! re-checks the entry and either expires it or links it again further on.

use std::hash::BuildHasher;

use foldhash::fast::FixedState;
use hashbrown::HashTable;

use crate::tcp::{Side, TcpState};

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
    fn matches(&self, proto: u8, a: &[u8; 16], ap: u16, b: &[u8; 16], bp: u16) -> Option<Side> {
        if self.proto != proto {
            return None;
        }
        if self.init_port == ap && self.resp_port == bp && self.init_addr == *a && self.resp_addr == *b {
            Some(Side::Initiator)
        } else if self.init_port == bp && self.resp_port == ap && self.init_addr == *b && self.resp_addr == *a
        {
            Some(Side::Responder)
        } else {
            None
        }
    }
}

/// Flow identity of a packet, addresses as 16 bytes (IPv4 mapped into the last four).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct FlowTuple {
    pub(crate) proto: u8,
    pub(crate) src: [u8; 16],
    pub(crate) src_port: u16,
    pub(crate) dst: [u8; 16],
    pub(crate) dst_port: u16,
}

/// The table of one shard.
pub(crate) struct Table {
    pub(crate) slab: Vec<Session>,
    free_head: u32,
    index: HashTable<u32>,
    id_index: HashTable<u32>,
    hasher: FixedState,
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
            index: HashTable::new(),
            id_index: HashTable::new(),
            hasher: FixedState::with_seed(seed),
            len: 0,
            heads: vec![NIL; SLOTS],
            tick: None,
        }
    }

    pub(crate) fn len(&self) -> u32 {
        self.len
    }

    fn flow_hash(&self, t: &FlowTuple) -> u64 {
        key_hash(&self.hasher, t.proto, &t.src, t.src_port, &t.dst, t.dst_port)
    }

    fn id_hash(&self, id: u32) -> u64 {
        self.hasher.hash_one(id)
    }

    /// The live entry of `t`'s flow and which side sent `t`.
    pub(crate) fn lookup(&self, t: &FlowTuple) -> Option<(u32, Side)> {
        let h = self.flow_hash(t);
        let slab = &self.slab;
        let mut side = Side::Initiator;
        let idx = self.index.find(h, |&i| match slab.get(i as usize) {
            Some(s) => match s.matches(t.proto, &t.src, t.src_port, &t.dst, t.dst_port) {
                Some(sd) => {
                    side = sd;
                    true
                }
                None => false,
            },
            None => false,
        })?;
        Some((*idx, side))
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

    /// Inserts `s` (its key must not be present); returns its index. The caller links it into the wheel.
    pub(crate) fn insert(&mut self, mut s: Session) -> u32 {
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
        let t = FlowTuple {
            proto: s.proto,
            src: s.init_addr,
            src_port: s.init_port,
            dst: s.resp_addr,
            dst_port: s.resp_port,
        };
        let h = self.flow_hash(&t);
        let (hasher, slab) = (&self.hasher, &self.slab);
        self.index.insert_unique(h, idx, |&i| rehash(hasher, slab, i));
        self.len += 1;
        idx
    }

    /// Adds entry `idx` to the HA-id index under its `ha_id`.
    pub(crate) fn index_id(&mut self, idx: u32) {
        let s = &mut self.slab[idx as usize];
        if s.has(flag::ID_INDEXED) {
            return;
        }
        s.flags |= flag::ID_INDEXED;
        let h = self.hasher.hash_one(s.ha_id);
        let (hasher, slab) = (&self.hasher, &self.slab);
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
        let h = self.hasher.hash_one(s.ha_id);
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
        let t = FlowTuple {
            proto: s.proto,
            src: s.init_addr,
            src_port: s.init_port,
            dst: s.resp_addr,
            dst_port: s.resp_port,
        };
        let h = self.flow_hash(&t);
        if let Ok(e) = self.index.find_entry(h, |&i| i == idx) {
            e.remove();
        }
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

fn rehash(hasher: &FixedState, slab: &[Session], i: u32) -> u64 {
    let Some(s) = slab.get(i as usize) else { return 0 };
    key_hash(
        hasher,
        s.proto,
        &s.init_addr,
        s.init_port,
        &s.resp_addr,
        s.resp_port,
    )
}

/// Hash of the normalized flow key: the lower (address, port) endpoint first, so both directions agree.
#[inline]
fn key_hash(hasher: &FixedState, proto: u8, a: &[u8; 16], ap: u16, b: &[u8; 16], bp: u16) -> u64 {
    let a = u128::from_ne_bytes(*a);
    let b = u128::from_ne_bytes(*b);
    let (lo, lp, hi, hp) = if (a, ap) <= (b, bp) {
        (a, ap, b, bp)
    } else {
        (b, bp, a, ap)
    };
    let tail = (u64::from(lp) << 32) | (u64::from(hp) << 16) | u64::from(proto);
    hasher.hash_one((lo, hi, tail))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_entry_is_compact() {
        assert_eq!(size_of::<Session>(), 112);
    }
}
