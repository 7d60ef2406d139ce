//! The per-shard session table: entries in parallel slabs split by temperature ([`entry`]), a seeded hash
//! index over the normalized flow key (both directions of a flow find the same entry, [`index`]) and a
//! hashed timing wheel threaded through the entries themselves (intrusive doubly-linked lists: no timer
//! objects, no allocation per timer).
//!
//! Memory per IPv4 session: one 64-byte [`Hot`] line and one 24-byte [`Cold`] part (checked by tests),
//! one `u32` bucket in the flow index (4–8 bytes per session with its load between 3/8 and 3/4), nothing
//! in the wheel beyond one `u32` head per slot; an IPv6 session adds 32 bytes in the IPv6 store. The
//! wheel is lazy: an entry is linked to the slot of the deadline it had when it was (re)linked; packets
//! only refresh `last_ms`, and when the slot comes round the engine re-checks the entry and either
//! expires it or links it again further on.

mod entry;
mod hash;
mod index;

use std::hash::BuildHasher;

use foldhash::fast::FixedState;
use hashbrown::HashTable;

use crate::memhint;
use crate::tcp::Side;
use entry::{Cold, V6Store};
pub(crate) use entry::{Hot, Session, addr_key, flag};
use hash::FlowHasher;
use index::FlowIndex;

/// No entry.
pub(crate) const NIL: u32 = u32::MAX;
/// Wheel resolution.
pub(crate) const TICK_MS: u64 = 100;
/// Slots in the wheel (one turn = 102.4 s).
pub(crate) const SLOTS: usize = 1024;
const NO_SLOT: u16 = u16::MAX;

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

    /// The tuple of a stored entry's opening direction.
    fn of_entry(hot: &Hot, v6: &V6Store) -> Self {
        let (src, dst) = hot.addr_keys(v6);
        Self {
            proto: hot.proto,
            src,
            src_port: hot.init_port,
            dst,
            dst_port: hot.resp_port,
        }
    }
}

/// Which side of entry `hot` sent a packet of flow `t`, if the packet belongs to it.
#[inline(always)]
fn side_of(hot: &Hot, v6: &V6Store, t: &FlowTuple) -> Option<Side> {
    if hot.proto != t.proto {
        return None;
    }
    let forward = hot.init_port == t.src_port && hot.resp_port == t.dst_port;
    let reverse = hot.init_port == t.dst_port && hot.resp_port == t.src_port;
    if !forward && !reverse {
        return None;
    }
    let (init, resp) = hot.addr_keys(v6);
    if forward && init == t.src && resp == t.dst {
        Some(Side::Initiator)
    } else if reverse && init == t.dst && resp == t.src {
        Some(Side::Responder)
    } else {
        None
    }
}

/// The table of one shard.
pub(crate) struct Table {
    hot: Vec<Hot>,
    cold: Vec<Cold>,
    v6: V6Store,
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
            hot: Vec::new(),
            cold: Vec::new(),
            v6: V6Store::default(),
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

    /// The session in entry `idx` (which must exist).
    pub(crate) fn session(&self, idx: u32) -> Session {
        let i = idx as usize;
        entry::join(&self.hot[i], &self.cold[i], &self.v6)
    }

    /// The session in entry `idx`, if it is live.
    pub(crate) fn get(&self, idx: u32) -> Option<Session> {
        let i = idx as usize;
        let hot = self.hot.get(i)?;
        hot.has(flag::LIVE)
            .then(|| entry::join(hot, &self.cold[i], &self.v6))
    }

    /// Writes back the mutable fields of `s` (everything but its flow key) into entry `idx`.
    pub(crate) fn set(&mut self, idx: u32, s: &Session) {
        let i = idx as usize;
        entry::store(s, &mut self.hot[i], &mut self.cold[i]);
    }

    /// The per-packet part of entry `idx`.
    #[inline]
    pub(crate) fn hot(&self, idx: u32) -> &Hot {
        &self.hot[idx as usize]
    }

    /// The per-packet part of entry `idx`, to update.
    #[inline]
    pub(crate) fn hot_mut(&mut self, idx: u32) -> &mut Hot {
        &mut self.hot[idx as usize]
    }

    /// Whether entry `idx` has flag `f`.
    pub(crate) fn has(&self, idx: u32, f: u8) -> bool {
        self.hot.get(idx as usize).is_some_and(|h| h.has(f))
    }

    /// Starts loading the index bucket where the lookup of `hash` begins.
    #[inline]
    pub(crate) fn prefetch_bucket(&self, hash: u64) {
        self.index.prefetch(hash);
    }

    /// Starts loading the entry the lookup of `hash` will most likely compare (best after
    /// [`prefetch_bucket`](Self::prefetch_bucket) has had time to work) and returns its index as a hint for
    /// [`lookup_hinted`](Self::lookup_hinted) ([`NIL`] when there is no candidate).
    #[inline]
    pub(crate) fn prefetch_entry(&self, hash: u64) -> u32 {
        match self.index.first_candidate(hash) {
            Some(i) => {
                if let Some(h) = self.hot.get(i as usize) {
                    memhint::prefetch(h);
                }
                i
            }
            None => NIL,
        }
    }

    /// [`lookup_hashed`](Self::lookup_hashed) trying entry `hint` first: a live entry holding `t`'s flow
    /// is the only one (keys are unique among live entries), wherever the index has moved it since.
    #[inline(always)]
    pub(crate) fn lookup_hinted(&self, t: &FlowTuple, h: u64, hint: u32) -> Option<(u32, Side)> {
        if let Some(e) = self.hot.get(hint as usize)
            && e.has(flag::LIVE)
            && let Some(side) = side_of(e, &self.v6, t)
        {
            return Some((hint, side));
        }
        self.lookup_probing(t, h)
    }

    #[inline(never)]
    fn lookup_probing(&self, t: &FlowTuple, h: u64) -> Option<(u32, Side)> {
        self.lookup_hashed(t, h)
    }

    /// The live entry of `t`'s flow and which side sent `t`.
    #[inline]
    pub(crate) fn lookup(&self, t: &FlowTuple) -> Option<(u32, Side)> {
        self.lookup_hashed(t, self.flow_hash(t))
    }

    /// [`lookup`](Self::lookup) with the flow's hash already computed.
    #[inline]
    pub(crate) fn lookup_hashed(&self, t: &FlowTuple, h: u64) -> Option<(u32, Side)> {
        let (hot, v6) = (&self.hot, &self.v6);
        let mut side = Side::Initiator;
        let idx = self.index.find(h, |i| match hot.get(i as usize) {
            Some(e) => match side_of(e, v6, t) {
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
        let cold = &self.cold;
        self.id_index
            .find(self.id_hash(id), |&i| {
                cold.get(i as usize).is_some_and(|c| c.ha_id == id)
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
        s.flags &= !flag::ID_INDEXED;
        let (hot, cold) = entry::split(&s, &mut self.v6);
        let idx = if self.free_head != NIL {
            let idx = self.free_head;
            let i = idx as usize;
            self.free_head = self.cold[i].next;
            self.hot[i] = hot;
            self.cold[i] = cold;
            idx
        } else {
            if self.hot.len() == self.hot.capacity() {
                memhint::grow(&mut self.hot, 64);
                memhint::grow(&mut self.cold, 64);
            }
            self.hot.push(hot);
            self.cold.push(cold);
            (self.hot.len() - 1) as u32
        };
        let h = self.flow_hash(&FlowTuple::of(&s));
        let (hasher, hot, v6) = (&self.hasher, &self.hot, &self.v6);
        self.index.insert(h, idx, |i| rehash(hasher, hot, v6, i));
        self.len += 1;
        Some(idx)
    }

    /// Adds entry `idx` to the HA-id index under its `ha_id`.
    pub(crate) fn index_id(&mut self, idx: u32) {
        let i = idx as usize;
        if self.hot[i].has(flag::ID_INDEXED) {
            return;
        }
        self.hot[i].flags |= flag::ID_INDEXED;
        let h = self.id_hasher.hash_one(self.cold[i].ha_id);
        let (hasher, cold) = (&self.id_hasher, &self.cold);
        self.id_index.insert_unique(h, idx, |&j| {
            hasher.hash_one(cold.get(j as usize).map_or(0, |c| c.ha_id))
        });
    }

    /// Removes entry `idx` from the HA-id index.
    pub(crate) fn unindex_id(&mut self, idx: u32) {
        let i = idx as usize;
        let Some(hot) = self.hot.get_mut(i) else {
            return;
        };
        if !hot.has(flag::ID_INDEXED) {
            return;
        }
        hot.flags &= !flag::ID_INDEXED;
        let h = self.id_hasher.hash_one(self.cold[i].ha_id);
        if let Ok(e) = self.id_index.find_entry(h, |&j| j == idx) {
            e.remove();
        }
    }

    /// Empties the HA-id index (promotion), keeping the entries.
    pub(crate) fn clear_id_index(&mut self) {
        for &i in self.id_index.iter() {
            if let Some(h) = self.hot.get_mut(i as usize) {
                h.flags &= !flag::ID_INDEXED;
            }
        }
        self.id_index = HashTable::new();
    }

    /// Removes entry `idx` from the index, the wheel and the HA-id index, and frees it.
    pub(crate) fn remove(&mut self, idx: u32) -> Option<Session> {
        let s = self.get(idx)?;
        self.unlink(idx);
        self.unindex_id(idx);
        let h = self.flow_hash(&FlowTuple::of(&s));
        let (hasher, hot, v6) = (&self.hasher, &self.hot, &self.v6);
        self.index.remove(h, idx, |i| rehash(hasher, hot, v6, i));
        let i = idx as usize;
        entry::release(&self.hot[i], &mut self.v6);
        self.hot[i].flags = 0;
        self.cold[i].next = self.free_head;
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
            self.cold[head as usize].prev = idx;
        }
        let c = &mut self.cold[idx as usize];
        c.prev = NIL;
        c.next = head;
        c.slot = slot as u16;
        self.heads[slot] = idx;
    }

    /// Takes entry `idx` out of its wheel slot (no-op when not linked).
    pub(crate) fn unlink(&mut self, idx: u32) {
        let Some(c) = self.cold.get(idx as usize) else {
            return;
        };
        if c.slot == NO_SLOT {
            return;
        }
        let (prev, next, slot) = (c.prev, c.next, c.slot as usize);
        if prev != NIL {
            self.cold[prev as usize].next = next;
        } else if let Some(h) = self.heads.get_mut(slot) {
            *h = next;
        }
        if next != NIL {
            self.cold[next as usize].prev = prev;
        }
        let c = &mut self.cold[idx as usize];
        c.prev = NIL;
        c.next = NIL;
        c.slot = NO_SLOT;
    }

    /// Detaches the whole list of the slot of `tick` and returns its entries.
    pub(crate) fn take_slot(&mut self, tick: u64, out: &mut Vec<u32>) {
        let slot = (tick % SLOTS as u64) as usize;
        let mut cur = std::mem::replace(&mut self.heads[slot], NIL);
        while cur != NIL {
            out.push(cur);
            let c = &mut self.cold[cur as usize];
            let next = c.next;
            c.prev = NIL;
            c.next = NIL;
            c.slot = NO_SLOT;
            cur = next;
        }
    }

    /// Indices of every live entry.
    pub(crate) fn live(&self) -> impl Iterator<Item = u32> + '_ {
        self.hot
            .iter()
            .enumerate()
            .filter(|(_, h)| h.has(flag::LIVE))
            .map(|(i, _)| i as u32)
    }

    /// Bytes held by the table's allocations (slabs, indexes, wheel).
    pub(crate) fn allocated_bytes(&self) -> usize {
        self.hot.capacity() * size_of::<Hot>()
            + self.cold.capacity() * size_of::<Cold>()
            + self.v6.allocated_bytes()
            + self.index.allocation_size()
            + self.id_index.allocation_size()
            + self.heads.capacity() * size_of::<u32>()
    }
}

fn rehash(hasher: &FlowHasher, hot: &[Hot], v6: &V6Store, i: u32) -> u64 {
    hot.get(i as usize)
        .map_or(0, |h| hasher.hash(&FlowTuple::of_entry(h, v6)))
}
