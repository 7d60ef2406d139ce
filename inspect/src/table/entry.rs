//! How a session is stored: split by temperature.
//!
//! * [`Hot`], one 64-byte cache line, holds what every packet of an established flow reads or writes:
//!   the flow key, the TCP tracking state, the last-packet time and the byte counters. An IPv4 key fits
//!   inline; an IPv6 session keeps its two addresses in the table's [`V6Store`] and puts the store slot
//!   and a fingerprint of the pair in the key fields.
//! * [`Cold`] (24 bytes) holds what only the timers, the HA layer and `show` need.
//!
//! The engine reads and writes whole sessions through the logical [`Session`] value on its slow paths
//! and touches [`Hot`] directly on the per-packet path.

use crate::tcp::TcpState;
pub(crate) use crate::wire::addr_key;
use crate::wire::{key_v4, v4_key};

/// A 32-bit fingerprint of an IPv6 address pair (quick reject before the store is read).
#[inline]
fn v6_fingerprint(a: u128, b: u128) -> u32 {
    let x = a ^ b.rotate_left(17);
    let x = (x as u64) ^ ((x >> 64) as u64);
    (x ^ (x >> 32)) as u32
}

/// Entry flags.
pub(crate) mod flag {
    /// Slot in use.
    pub(crate) const LIVE: u8 = 0x01;
    /// Opened by an `out` rule (else `in`).
    pub(crate) const DIR_OUT: u8 = 0x02;
    /// IPv6 addresses (kept in the table's IPv6 store).
    pub(crate) const V6: u8 = 0x04;
    /// HA session (interface has `redundancy stateful`).
    pub(crate) const HA: u8 = 0x08;
    /// Standby copy of a session of the peer (not used for forwarding while the role is Standby).
    pub(crate) const STANDBY: u8 = 0x10;
    /// Present in the HA-id index (standby copies).
    pub(crate) const ID_INDEXED: u8 = 0x20;
}

/// The per-packet part of a session: exactly one cache line.
#[derive(Clone, Copy, Debug)]
#[repr(C, align(64))]
pub(crate) struct Hot {
    /// IPv4: the initiator's address bytes. IPv6: the slot of the address pair in the [`V6Store`].
    pub(crate) init_key: u32,
    /// IPv4: the responder's address bytes. IPv6: [`v6_fingerprint`] of the pair.
    pub(crate) resp_key: u32,
    pub(crate) init_port: u16,
    pub(crate) resp_port: u16,
    pub(crate) proto: u8,
    pub(crate) flags: u8,
    pub(crate) tcp: TcpState,
    /// Engine time of the last accepted packet, milliseconds modulo 2^32 (compared with wrapping arithmetic;
    /// the wheel re-checks every entry at least once per turn, far inside the 49-day wrap).
    pub(crate) last_ms: u32,
    /// Bytes sent by the initiator and by the responder.
    pub(crate) bytes: [u64; 2],
}

impl Hot {
    pub(crate) const fn has(&self, f: u8) -> bool {
        self.flags & f != 0
    }
}

/// The part of a session the timers, the HA layer and `show` use.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Cold {
    /// Engine time of creation, whole seconds.
    pub(crate) created_s: u32,
    pub(crate) ha_id: u32,
    /// Engine time of the last HA add/update, milliseconds modulo 2^32.
    pub(crate) ha_last_ms: u32,
    /// Timing-wheel links.
    pub(crate) prev: u32,
    pub(crate) next: u32,
    pub(crate) slot: u16,
    pub(crate) iface: u16,
}

/// A whole session as the engine sees it (assembled from [`Hot`], [`Cold`] and the IPv6 store).
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
    /// Engine time of the last accepted packet, milliseconds modulo 2^32.
    pub(crate) last_ms: u32,
    pub(crate) ha_id: u32,
    /// Engine time of the last HA add/update, milliseconds modulo 2^32.
    pub(crate) ha_last_ms: u32,
    pub(crate) iface: u16,
    pub(crate) proto: u8,
    pub(crate) flags: u8,
}

impl Session {
    pub(crate) const fn has(&self, f: u8) -> bool {
        self.flags & f != 0
    }
}

/// Address pairs of the IPv6 sessions, in slots reused through a free list.
#[derive(Debug, Default)]
pub(crate) struct V6Store {
    pairs: Vec<[u128; 2]>,
    free: Vec<u32>,
}

impl V6Store {
    fn add(&mut self, pair: [u128; 2]) -> u32 {
        match self.free.pop() {
            Some(i) => {
                self.pairs[i as usize] = pair;
                i
            }
            None => {
                self.pairs.push(pair);
                (self.pairs.len() - 1) as u32
            }
        }
    }

    fn release(&mut self, i: u32) {
        if (i as usize) < self.pairs.len() {
            self.free.push(i);
        }
    }

    /// The pair in slot `i` (zeros for a slot that does not exist).
    #[inline]
    pub(crate) fn pair(&self, i: u32) -> [u128; 2] {
        self.pairs.get(i as usize).copied().unwrap_or([0, 0])
    }

    pub(crate) fn allocated_bytes(&self) -> usize {
        self.pairs.capacity() * size_of::<[u128; 2]>() + self.free.capacity() * size_of::<u32>()
    }
}

impl Hot {
    /// The addresses of this entry as keys (initiator, responder).
    #[inline]
    pub(crate) fn addr_keys(&self, v6: &V6Store) -> (u128, u128) {
        if self.has(flag::V6) {
            let [a, b] = v6.pair(self.init_key);
            (a, b)
        } else {
            (v4_key(self.init_key), v4_key(self.resp_key))
        }
    }
}

/// Splits `s` for storage; an IPv6 (or non-mapped) address pair goes to `v6`.
pub(crate) fn split(s: &Session, v6: &mut V6Store) -> (Hot, Cold) {
    let (a, b) = (addr_key(&s.init_addr), addr_key(&s.resp_addr));
    let mut flags = s.flags & !flag::V6;
    let (init_key, resp_key) = match (key_v4(a), key_v4(b)) {
        (Some(x), Some(y)) if !s.has(flag::V6) => (x, y),
        _ => {
            flags |= flag::V6;
            (v6.add([a, b]), v6_fingerprint(a, b))
        }
    };
    let hot = Hot {
        init_key,
        resp_key,
        init_port: s.init_port,
        resp_port: s.resp_port,
        proto: s.proto,
        flags,
        tcp: s.tcp,
        last_ms: s.last_ms,
        bytes: s.bytes,
    };
    let cold = Cold {
        created_s: s.created_s,
        ha_id: s.ha_id,
        ha_last_ms: s.ha_last_ms,
        prev: u32::MAX,
        next: u32::MAX,
        slot: u16::MAX,
        iface: s.iface,
    };
    (hot, cold)
}

/// Frees what `hot` holds in `v6`.
pub(crate) fn release(hot: &Hot, v6: &mut V6Store) {
    if hot.has(flag::V6) {
        v6.release(hot.init_key);
    }
}

/// The whole session of a stored entry.
pub(crate) fn join(hot: &Hot, cold: &Cold, v6: &V6Store) -> Session {
    let (a, b) = hot.addr_keys(v6);
    Session {
        init_addr: a.to_ne_bytes(),
        resp_addr: b.to_ne_bytes(),
        bytes: hot.bytes,
        tcp: hot.tcp,
        init_port: hot.init_port,
        resp_port: hot.resp_port,
        created_s: cold.created_s,
        last_ms: hot.last_ms,
        ha_id: cold.ha_id,
        ha_last_ms: cold.ha_last_ms,
        iface: cold.iface,
        proto: hot.proto,
        flags: hot.flags,
    }
}

/// Writes the mutable fields of `s` (everything but the flow key) back into a stored entry.
pub(crate) fn store(s: &Session, hot: &mut Hot, cold: &mut Cold) {
    hot.flags = (s.flags & !flag::V6) | (hot.flags & flag::V6);
    hot.tcp = s.tcp;
    hot.last_ms = s.last_ms;
    hot.bytes = s.bytes;
    cold.created_s = s.created_s;
    cold.ha_id = s.ha_id;
    cold.ha_last_ms = s.ha_last_ms;
    cold.iface = s.iface;
}

#[cfg(test)]
mod tests {
    use std::net::{IpAddr, Ipv4Addr};

    use super::*;

    #[test]
    fn hot_part_is_one_cache_line_and_cold_part_is_small() {
        assert_eq!(size_of::<Hot>(), 64);
        assert_eq!(align_of::<Hot>(), 64);
        assert_eq!(size_of::<Cold>(), 24);
    }

    #[test]
    fn v4_keys_round_trip() {
        let ip = Ipv4Addr::new(10, 1, 2, 3);
        let key = addr_key(&ip.to_ipv6_mapped().octets());
        let raw = key_v4(key);
        assert_eq!(raw, Some(u32::from_ne_bytes(ip.octets())));
        assert_eq!(raw.map(v4_key), Some(key));
        let v6: IpAddr = "2001:db8::1".parse().unwrap_or(IpAddr::V4(ip));
        if let IpAddr::V6(v6) = v6 {
            assert_eq!(key_v4(addr_key(&v6.octets())), None);
        }
    }

    #[test]
    fn sessions_survive_split_and_join() {
        let mut store6 = V6Store::default();
        let v4 = Session {
            init_addr: Ipv4Addr::new(10, 0, 0, 1).to_ipv6_mapped().octets(),
            resp_addr: Ipv4Addr::new(10, 0, 0, 2).to_ipv6_mapped().octets(),
            bytes: [1, 2],
            tcp: TcpState::udp(),
            init_port: 1,
            resp_port: 2,
            created_s: 3,
            last_ms: 4,
            ha_id: 5,
            ha_last_ms: 6,
            iface: 7,
            proto: 17,
            flags: flag::LIVE | flag::HA,
        };
        let mut v6 = v4;
        v6.init_addr = [0x20; 16];
        v6.flags |= flag::V6;
        for s in [v4, v6] {
            let (hot, cold) = split(&s, &mut store6);
            let back = join(&hot, &cold, &store6);
            assert_eq!(back.init_addr, s.init_addr);
            assert_eq!(back.resp_addr, s.resp_addr);
            assert_eq!(
                (back.flags, back.ha_id, back.iface, back.bytes),
                (s.flags, s.ha_id, s.iface, s.bytes)
            );
        }
        assert_eq!(store6.pairs.len(), 1);
    }
}
