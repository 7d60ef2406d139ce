//! The flow index: an open-addressing hash table (linear probing, backward-shift deletion) from a flow's
//! hash to its slab entry.
//!
//! Each bucket is one `u32`: the entry's slab index plus one in the low 24 bits (0 = empty bucket) and an
//! 8-bit tag taken from the top of the hash in the high bits, so most non-matching buckets are skipped
//! without touching the slab. The table grows past 3/4 load, which keeps it at 4–8 bytes per session, and
//! a bucket's address is known from the hash alone, so a batch of lookups can prefetch its buckets before
//! probing them. The keys live in the slab; the index never stores them, so growing and deleting need the
//! caller's `rehash` (the hash of the flow held by a slab index).

use crate::memhint;

/// Bits of a bucket holding the slab index plus one.
const IDX_BITS: u32 = 24;
const IDX_MASK: u32 = (1 << IDX_BITS) - 1;
const EMPTY: u32 = 0;
/// Buckets allocated by the first insert.
const MIN_BUCKETS: usize = 64;

/// Largest slab index the index can hold, plus one: the most entries one shard's table can have.
pub(crate) const MAX_ENTRIES: u32 = IDX_MASK;

/// Hash → slab index.
#[derive(Debug, Default)]
pub(crate) struct FlowIndex {
    buckets: Vec<u32>,
    len: usize,
}

#[inline]
fn tag(hash: u64) -> u32 {
    ((hash >> 56) as u32) << IDX_BITS
}

#[inline]
fn encode(hash: u64, idx: u32) -> u32 {
    tag(hash) | (idx + 1)
}

#[inline]
fn slab_index(bucket: u32) -> u32 {
    (bucket & IDX_MASK) - 1
}

impl FlowIndex {
    fn mask(&self) -> usize {
        self.buckets.len().wrapping_sub(1)
    }

    #[inline]
    fn home(&self, hash: u64) -> usize {
        hash as usize & self.mask()
    }

    /// Starts loading the bucket where a lookup of `hash` begins.
    #[inline]
    pub(crate) fn prefetch(&self, hash: u64) {
        if let Some(b) = self.buckets.get(self.home(hash)) {
            memhint::prefetch(b);
        }
    }

    /// The first entry whose tag matches `hash` (a likely hit, unverified): what to prefetch next.
    #[inline]
    pub(crate) fn first_candidate(&self, hash: u64) -> Option<u32> {
        self.find(hash, |_| true)
    }

    /// The entry of `hash` for which `eq` holds.
    #[inline]
    pub(crate) fn find(&self, hash: u64, mut eq: impl FnMut(u32) -> bool) -> Option<u32> {
        let mask = self.mask();
        let want = tag(hash);
        let mut i = self.home(hash);
        loop {
            let b = *self.buckets.get(i)?;
            if b == EMPTY {
                return None;
            }
            if b & !IDX_MASK == want && eq(slab_index(b)) {
                return Some(slab_index(b));
            }
            i = (i + 1) & mask;
        }
    }

    /// Adds slab index `idx` (below [`MAX_ENTRIES`]) under `hash`; `rehash` gives the hash of any entry
    /// already present (used when the table grows).
    pub(crate) fn insert(&mut self, hash: u64, idx: u32, rehash: impl Fn(u32) -> u64) {
        debug_assert!(idx < MAX_ENTRIES);
        if (self.len + 1) * 4 > self.buckets.len() * 3 {
            self.grow(&rehash);
        }
        self.place(encode(hash, idx), self.home(hash));
        self.len += 1;
    }

    fn place(&mut self, bucket: u32, from: usize) {
        let mask = self.mask();
        let mut i = from;
        while self.buckets[i] != EMPTY {
            i = (i + 1) & mask;
        }
        self.buckets[i] = bucket;
    }

    fn grow(&mut self, rehash: &impl Fn(u32) -> u64) {
        let size = (self.buckets.len() * 2).max(MIN_BUCKETS);
        // Zeroed pages are only mapped when first written, so the advice comes in time.
        let fresh = vec![EMPTY; size];
        memhint::huge_pages(&fresh);
        let old = std::mem::replace(&mut self.buckets, fresh);
        for b in old.into_iter().filter(|&b| b != EMPTY) {
            let hash = rehash(slab_index(b));
            self.place(encode(hash, slab_index(b)), self.home(hash));
        }
    }

    /// Removes slab index `idx`, filed under `hash`; later buckets of its probe run move back so that no
    /// lookup stops short. Returns whether it was present.
    pub(crate) fn remove(&mut self, hash: u64, idx: u32, rehash: impl Fn(u32) -> u64) -> bool {
        let mask = self.mask();
        let mut i = self.home(hash);
        loop {
            match self.buckets.get(i) {
                None | Some(&EMPTY) => return false,
                Some(&b) if slab_index(b) == idx => break,
                Some(_) => i = (i + 1) & mask,
            }
        }
        let mut hole = i;
        let mut j = i;
        loop {
            j = (j + 1) & mask;
            let b = self.buckets[j];
            if b == EMPTY {
                break;
            }
            let home = self.home(rehash(slab_index(b)));
            // `b` may fill the hole unless its home lies cyclically after the hole (in (hole, j]).
            if (j.wrapping_sub(home) & mask) >= (j.wrapping_sub(hole) & mask) {
                self.buckets[hole] = b;
                hole = j;
            }
        }
        self.buckets[hole] = EMPTY;
        self.len -= 1;
        true
    }

    /// Entries held.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Bytes allocated.
    pub(crate) fn allocation_size(&self) -> usize {
        self.buckets.capacity() * size_of::<u32>()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use proptest::prelude::*;

    use super::*;

    /// A deliberately weak hash so that probe runs, collisions and wrap-around happen in small tables.
    fn weak(key: u32) -> u64 {
        u64::from(key % 7) | (u64::from(key % 3) << 56)
    }

    proptest! {
        /// Random inserts and removes agree with a `HashMap` model at every step.
        #[test]
        fn matches_a_model(ops in proptest::collection::vec((any::<bool>(), 0u32..200), 1..600)) {
            // slab index -> key; keys are unique among live entries.
            let mut slab: Vec<Option<u32>> = Vec::new();
            let mut model: HashMap<u32, u32> = HashMap::new();
            let mut index = FlowIndex::default();
            for (add, key) in ops {
                let rehash = |slab: &Vec<Option<u32>>, i: u32| weak(slab[i as usize].unwrap_or(u32::MAX));
                if add && !model.contains_key(&key) {
                    let idx = slab.len() as u32;
                    slab.push(Some(key));
                    let s = slab.clone();
                    index.insert(weak(key), idx, |i| rehash(&s, i));
                    model.insert(key, idx);
                } else if let Some(idx) = model.remove(&key) {
                    let s = slab.clone();
                    prop_assert!(index.remove(weak(key), idx, |i| rehash(&s, i)));
                    slab[idx as usize] = None;
                }
                prop_assert_eq!(index.len(), model.len());
                for (&k, &idx) in &model {
                    let found = index.find(weak(k), |i| slab[i as usize] == Some(k));
                    prop_assert_eq!(found, Some(idx));
                }
            }
        }
    }

    #[test]
    fn empty_index_finds_nothing() {
        let index = FlowIndex::default();
        assert_eq!(index.find(42, |_| true), None);
        assert_eq!(index.first_candidate(42), None);
        index.prefetch(42);
        assert_eq!(index.allocation_size(), 0);
    }

    #[test]
    fn remove_of_an_absent_entry_is_refused() {
        let mut index = FlowIndex::default();
        index.insert(5, 0, |_| 5);
        assert!(!index.remove(5, 1, |_| 5));
        assert!(!index.remove(6, 0, |_| 5));
        assert!(index.remove(5, 0, |_| 5));
        assert_eq!(index.len(), 0);
    }

    #[test]
    fn load_stays_at_or_below_three_quarters() {
        let mut index = FlowIndex::default();
        let hash = |i: u32| u64::from(i).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        for i in 0..10_000 {
            index.insert(hash(i), i, hash);
        }
        assert!(index.len() * 4 <= index.buckets.len() * 3);
        assert_eq!(index.buckets.len(), 16_384);
        for i in 0..10_000 {
            assert_eq!(index.find(hash(i), |j| j == i), Some(i));
        }
    }
}
