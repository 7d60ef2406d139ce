//! The seeded flow hash.

use super::FlowTuple;

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
