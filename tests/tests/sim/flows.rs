//! The hosts: h1 (10.0.0.x, inside) opens TCP connections and UDP flows to h2 (211.0.0.10, outside)
//! through whichever router owns the virtual MAC; each flow remembers its sequence numbers so the next
//! segments after a failover continue where the old Active left them.

use std::net::SocketAddr;

use inspect::wire::TcpFlags;
use inspect::{Verdict, build};

use super::pair::SimPair;

/// One TCP connection h1 → h2: the next sequence number of each side.
#[derive(Clone, Copy, Debug)]
pub struct TcpFlow {
    /// h1's end.
    pub client: SocketAddr,
    /// h2's end.
    pub server: SocketAddr,
    /// Client's next sequence number.
    pub c_seq: u32,
    /// Server's next sequence number.
    pub s_seq: u32,
}

/// One UDP flow h1 → h2.
#[derive(Clone, Copy, Debug)]
pub struct UdpFlow {
    /// h1's end.
    pub client: SocketAddr,
    /// h2's end.
    pub server: SocketAddr,
}

/// Verdicts of one exchange, with the router that judged each packet.
pub type Judged = Option<(usize, Verdict)>;

/// h1's TCP connection number `i` (distinct ports and initial sequence numbers).
pub fn tcp_flow(i: u32) -> TcpFlow {
    TcpFlow {
        client: SocketAddr::from(([10, 0, 0, 10], 20_000 + (i % 40_000) as u16)),
        server: SocketAddr::from(([211, 0, 0, 10], 80)),
        c_seq: 1_000 + i.wrapping_mul(7_919),
        s_seq: 900_000 + i.wrapping_mul(104_729),
    }
}

/// h1's UDP flow number `i`.
pub fn udp_flow(i: u32) -> UdpFlow {
    UdpFlow {
        client: SocketAddr::from(([10, 0, 0, 10], 60_000 + (i % 5_000) as u16)),
        server: SocketAddr::from(([211, 0, 0, 10], 53)),
    }
}

fn accepted(j: Judged) -> bool {
    matches!(j, Some((_, Verdict::Accept)))
}

impl SimPair {
    /// Full three-way handshake of `f` through the Active. Returns the flow with its next sequence numbers,
    /// or the first verdict that was not an accept.
    pub fn open_tcp(&mut self, f: TcpFlow) -> Result<TcpFlow, Judged> {
        let syn = build::syn(f.client, f.server, f.c_seq);
        let j = self.h1_sends(&syn);
        if !accepted(j) {
            return Err(j);
        }
        let synack = build::tcp(
            f.server,
            f.client,
            TcpFlags::SYN | TcpFlags::ACK,
            f.s_seq,
            f.c_seq + 1,
            0,
        );
        let j = self.h2_sends(&synack);
        if !accepted(j) {
            return Err(j);
        }
        let ack = build::tcp(f.client, f.server, TcpFlags::ACK, f.c_seq + 1, f.s_seq + 1, 0);
        let j = self.h1_sends(&ack);
        if !accepted(j) {
            return Err(j);
        }
        Ok(TcpFlow {
            c_seq: f.c_seq + 1,
            s_seq: f.s_seq + 1,
            ..f
        })
    }

    /// Data both ways on `f` (100 bytes up, 1000 down); advances its sequence numbers when accepted.
    pub fn exchange_tcp(&mut self, f: &mut TcpFlow) -> (Judged, Judged) {
        let up = build::tcp(
            f.client,
            f.server,
            TcpFlags::ACK | TcpFlags::PSH,
            f.c_seq,
            f.s_seq,
            100,
        );
        let a = self.h1_sends(&up);
        if accepted(a) {
            f.c_seq = f.c_seq.wrapping_add(100);
        }
        let down = build::tcp(
            f.server,
            f.client,
            TcpFlags::ACK | TcpFlags::PSH,
            f.s_seq,
            f.c_seq,
            1000,
        );
        let b = self.h2_sends(&down);
        if accepted(b) {
            f.s_seq = f.s_seq.wrapping_add(1000);
        }
        (a, b)
    }

    /// h1 resets `f` (the session ends at once on the Active).
    pub fn reset_tcp(&mut self, f: &TcpFlow) -> Judged {
        let rst = build::tcp(
            f.client,
            f.server,
            TcpFlags::RST | TcpFlags::ACK,
            f.c_seq,
            f.s_seq,
            0,
        );
        self.h1_sends(&rst)
    }

    /// A datagram h1 → h2 on `f`.
    pub fn udp_up(&mut self, f: &UdpFlow) -> Judged {
        self.h1_sends(&build::udp(f.client, f.server, 40))
    }

    /// A reply h2 → h1 on `f`.
    pub fn udp_down(&mut self, f: &UdpFlow) -> Judged {
        self.h2_sends(&build::udp(f.server, f.client, 400))
    }

    /// An unsolicited inbound SYN from h2's side (no session opened it): the outside ACL must drop it.
    pub fn unsolicited_inbound(&mut self) -> Judged {
        let stray = build::syn(
            SocketAddr::from(([211, 0, 0, 10], 4444)),
            SocketAddr::from(([10, 0, 0, 10], 22)),
            1,
        );
        self.h2_sends(&stray)
    }
}
