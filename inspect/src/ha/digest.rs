//! The order-independent digest of an HA session table, compared at the end of a bulk synchronization.
//!
//! Each session contributes a 64-bit hash of its stable fields (HA id, protocol, both endpoints,
//! interface, rule direction); the digest is the wrapping sum of these hashes plus the session count.
//! A sum (not an xor) keeps duplicated entries visible. The hash is defined here, byte for byte, so both
//! peers compute the same value whatever their build: it is not a security measure (the association is
//! authenticated separately), only a consistency check.

use std::net::SocketAddr;

use serde::{Deserialize, Serialize};

use crate::record::{RuleDirection, SessionRecord};

/// Count and digest of a set of HA sessions.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TableDigest {
    /// Number of sessions.
    pub count: u64,
    /// Wrapping sum of [`record_hash`] over the sessions.
    pub sum: u64,
}

impl TableDigest {
    /// Adds one session.
    pub fn insert(&mut self, rec: &SessionRecord) {
        self.insert_hash(record_hash(rec));
    }

    /// Adds one session given its hash.
    pub fn insert_hash(&mut self, hash: u64) {
        self.count = self.count.wrapping_add(1);
        self.sum = self.sum.wrapping_add(hash);
    }

    /// Removes one session given its hash.
    pub fn remove_hash(&mut self, hash: u64) {
        self.count = self.count.wrapping_sub(1);
        self.sum = self.sum.wrapping_sub(hash);
    }
}

const SEED: u64 = 0x6973_6861_2d68_6131; // "isha-ha1"
const MUL: u64 = 0x9e37_79b9_7f4a_7c15;

/// The murmur3 64-bit finalizer.
const fn fmix64(mut k: u64) -> u64 {
    k ^= k >> 33;
    k = k.wrapping_mul(0xff51_afd7_ed55_8ccd);
    k ^= k >> 33;
    k = k.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    k ^= k >> 33;
    k
}

fn push_endpoint(buf: &mut [u8; 48], len: &mut usize, addr: &SocketAddr) {
    match addr {
        SocketAddr::V4(a) => {
            buf[*len] = 4;
            buf[*len + 1..*len + 5].copy_from_slice(&a.ip().octets());
            *len += 5;
        }
        SocketAddr::V6(a) => {
            buf[*len] = 6;
            buf[*len + 1..*len + 17].copy_from_slice(&a.ip().octets());
            *len += 17;
        }
    }
    buf[*len..*len + 2].copy_from_slice(&addr.port().to_be_bytes());
    *len += 2;
}

/// Hash of one session's stable fields. Canonical bytes: id (u32 BE), protocol (u8), direction (0 in,
/// 1 out), interface (u16 BE), then each endpoint as family (4|6), address octets, port (u16 BE); the
/// bytes are zero-padded to whole 64-bit little-endian words, each folded in as
/// `h = fmix64(h ^ word).rotate_left(29).wrapping_mul(0x9e3779b97f4a7c15)` from `h = 0x69736861_2d686131`,
/// and the result is `fmix64(h ^ length)`.
pub fn record_hash(rec: &SessionRecord) -> u64 {
    let mut buf = [0u8; 48];
    buf[0..4].copy_from_slice(&rec.id.0.to_be_bytes());
    buf[4] = rec.key.proto.0;
    buf[5] = match rec.direction {
        RuleDirection::In => 0,
        RuleDirection::Out => 1,
    };
    buf[6..8].copy_from_slice(&rec.interface.to_be_bytes());
    let mut len = 8;
    push_endpoint(&mut buf, &mut len, &rec.key.initiator);
    push_endpoint(&mut buf, &mut len, &rec.key.responder);
    let mut h = SEED;
    for chunk in buf[..len.div_ceil(8) * 8].chunks_exact(8) {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        h = fmix64(h ^ u64::from_le_bytes(word))
            .rotate_left(29)
            .wrapping_mul(MUL);
    }
    fmix64(h ^ len as u64)
}
