//! Synthetic HA session records for tests, benchmarks and the lab: a deterministic generator of the
//! address and state mix a firewall pair sees (many clients in a /16, a few servers in a /24, well-known
//! server ports, ephemeral client ports, established TCP with data in flight, UDP flows).

use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};

use crate::record::{FlowKey, HaSessionId, L4Proto, RuleDirection, SessionRecord, TcpDirectionRecord};

/// A small deterministic pseudo-random generator (xorshift64*), so workloads are reproducible.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    /// A generator from `seed` (any value).
    pub fn new(seed: u64) -> Self {
        Self(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A value in `0..n` (`n > 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }

    /// A value spread evenly in magnitude between 2^lo and 2^hi bits.
    pub fn log_uniform(&mut self, lo_bits: u32, hi_bits: u32) -> u64 {
        let bits = lo_bits + self.below(u64::from(hi_bits - lo_bits + 1)) as u32;
        let top = 1u64 << bits.min(62);
        top / 2 + self.below(top / 2)
    }
}

/// The kind of record to generate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    /// A TCP session just opened (SYN seen): what a dynamic add carries.
    NewTcp,
    /// An established TCP session with data exchanged: what a bulk add carries.
    EstablishedTcp,
    /// A UDP flow.
    Udp,
}

/// TCP state codes used by the generator (the engine's numbering may differ; the protocol does not care).
pub const STATE_SYNSENT: u8 = 1;
/// See [`STATE_SYNSENT`].
pub const STATE_OPEN: u8 = 3;

/// Generates session records.
#[derive(Clone, Debug)]
pub struct Workload {
    rng: Rng,
    /// Use fully random IPv4 addresses instead of the client/server mix (worst case for compression).
    pub random_addresses: bool,
}

impl Workload {
    /// A generator from `seed`.
    pub fn new(seed: u64) -> Self {
        Self {
            rng: Rng::new(seed),
            random_addresses: false,
        }
    }

    /// The generator's random source.
    pub fn rng(&mut self) -> &mut Rng {
        &mut self.rng
    }

    fn endpoints(&mut self) -> (SocketAddr, SocketAddr) {
        let r = &mut self.rng;
        let client_port = 32768 + r.below(28232) as u16;
        let server_port = [80u16, 443, 22, 8080, 25][r.below(5) as usize];
        let (c, s) = if self.random_addresses {
            (
                Ipv4Addr::from(r.next_u64() as u32),
                Ipv4Addr::from(r.next_u64() as u32),
            )
        } else {
            let c = Ipv4Addr::new(10, 1, r.below(256) as u8, 1 + r.below(254) as u8);
            let s = Ipv4Addr::new(211, 0, 0, 1 + r.below(50) as u8);
            (c, s)
        };
        (
            SocketAddr::V4(SocketAddrV4::new(c, client_port)),
            SocketAddr::V4(SocketAddrV4::new(s, server_port)),
        )
    }

    /// One record of `shape` with id `id`.
    pub fn record(&mut self, id: u32, shape: Shape) -> SessionRecord {
        let (initiator, responder) = self.endpoints();
        let r = &mut self.rng;
        let mut rec = SessionRecord {
            id: HaSessionId(id),
            key: FlowKey {
                proto: L4Proto::TCP,
                initiator,
                responder,
            },
            interface: 1,
            direction: RuleDirection::Out,
            state: STATE_OPEN,
            initiator_tcp: TcpDirectionRecord::default(),
            responder_tcp: TcpDirectionRecord::default(),
            bytes_initiator: 0,
            bytes_responder: 0,
            age_s: 0,
            idle_ms: 0,
        };
        match shape {
            Shape::NewTcp => {
                rec.state = STATE_SYNSENT;
                rec.initiator_tcp = TcpDirectionRecord {
                    next_seq: r.next_u64() as u32,
                    ack: 0,
                    window: 64240,
                    window_scale: 7,
                };
                rec.bytes_initiator = 60;
            }
            Shape::EstablishedTcp => {
                let i_next = r.next_u64() as u32;
                let r_next = r.next_u64() as u32;
                let i_flight = r.log_uniform(0, 16) as u32;
                let r_flight = r.log_uniform(0, 16) as u32;
                rec.initiator_tcp = TcpDirectionRecord {
                    next_seq: i_next,
                    ack: r_next.wrapping_sub(r_flight),
                    window: (500 + r.below(1500) as u32) << 7,
                    window_scale: 7,
                };
                rec.responder_tcp = TcpDirectionRecord {
                    next_seq: r_next,
                    ack: i_next.wrapping_sub(i_flight),
                    window: (200 + r.below(800) as u32) << 9,
                    window_scale: 9,
                };
                rec.bytes_initiator = r.log_uniform(10, 20);
                rec.bytes_responder = r.log_uniform(10, 24);
                rec.age_s = r.below(3600) as u32;
                rec.idle_ms = r.below(10_000) as u32;
            }
            Shape::Udp => {
                rec.key.proto = L4Proto::UDP;
                rec.bytes_initiator = r.log_uniform(6, 16);
                rec.bytes_responder = r.log_uniform(6, 18);
                rec.age_s = r.below(30) as u32;
                rec.idle_ms = r.below(30_000) as u32;
            }
        }
        rec
    }

    /// Advances an established session: data in both directions, a fresh idle time.
    pub fn advance(&mut self, rec: &mut SessionRecord) {
        let r = &mut self.rng;
        if rec.key.proto == L4Proto::TCP {
            let sent_i = r.log_uniform(0, 16) as u32;
            let sent_r = r.log_uniform(0, 20) as u32;
            rec.initiator_tcp.next_seq = rec.initiator_tcp.next_seq.wrapping_add(sent_i);
            rec.responder_tcp.next_seq = rec.responder_tcp.next_seq.wrapping_add(sent_r);
            rec.initiator_tcp.ack = rec
                .responder_tcp
                .next_seq
                .wrapping_sub(r.log_uniform(0, 16) as u32);
            rec.responder_tcp.ack = rec
                .initiator_tcp
                .next_seq
                .wrapping_sub(r.log_uniform(0, 14) as u32);
            rec.bytes_initiator += u64::from(sent_i) + 40;
            rec.bytes_responder += u64::from(sent_r) + 40;
            rec.state = STATE_OPEN;
        } else {
            rec.bytes_initiator += r.below(2000);
            rec.bytes_responder += r.below(2000);
        }
        rec.idle_ms = r.below(10_000) as u32;
    }
}
