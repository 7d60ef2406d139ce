//! Packet builders for tests, benches and fuzz seeds: well-formed IPv4/IPv6 packets with TCP, UDP or
//! ICMP payloads (checksums computed, so captures of them dissect cleanly).

use std::net::{IpAddr, SocketAddr};

use crate::config::{
    AclAction, AclConfig, AclEntry, AclProto, AddrMatch, EngineConfig, InspectRule, InterfaceConfig,
    InterfaceInspect, PortMatch, RuleProtocol,
};
use crate::record::L4Proto;
use crate::wire::{TcpFlags, ip_proto};

/// A TCP segment to build.
#[derive(Clone, Debug)]
pub struct TcpSpec {
    /// Source address and port.
    pub src: SocketAddr,
    /// Destination address and port.
    pub dst: SocketAddr,
    /// Sequence number.
    pub seq: u32,
    /// Acknowledgement number.
    pub ack: u32,
    /// Flags ([`TcpFlags`] bits).
    pub flags: u8,
    /// Raw window.
    pub window: u16,
    /// Window-scale option to include.
    pub window_scale: Option<u8>,
    /// MSS option to include.
    pub mss: Option<u16>,
    /// Payload length (filled with a pattern).
    pub payload_len: usize,
}

impl TcpSpec {
    /// A segment from `src` to `dst` with `flags`, window 65535 and no payload.
    pub fn new(src: SocketAddr, dst: SocketAddr, flags: u8, seq: u32, ack: u32) -> Self {
        Self {
            src,
            dst,
            seq,
            ack,
            flags,
            window: 65535,
            window_scale: None,
            mss: None,
            payload_len: 0,
        }
    }

    /// With `n` payload bytes.
    pub fn payload(mut self, n: usize) -> Self {
        self.payload_len = n;
        self
    }

    /// Builds the IP packet.
    pub fn build(&self) -> Vec<u8> {
        let mut opts = Vec::new();
        if let Some(mss) = self.mss {
            opts.extend_from_slice(&[2, 4]);
            opts.extend_from_slice(&mss.to_be_bytes());
        }
        if let Some(ws) = self.window_scale {
            opts.extend_from_slice(&[1, 3, 3, ws]);
        }
        while opts.len() % 4 != 0 {
            opts.push(0);
        }
        let hl = 20 + opts.len();
        let mut seg = Vec::with_capacity(hl + self.payload_len);
        seg.extend_from_slice(&self.src.port().to_be_bytes());
        seg.extend_from_slice(&self.dst.port().to_be_bytes());
        seg.extend_from_slice(&self.seq.to_be_bytes());
        seg.extend_from_slice(&self.ack.to_be_bytes());
        seg.push(((hl / 4) as u8) << 4);
        seg.push(self.flags);
        seg.extend_from_slice(&self.window.to_be_bytes());
        seg.extend_from_slice(&[0, 0, 0, 0]);
        seg.extend_from_slice(&opts);
        seg.extend((0..self.payload_len).map(|i| (i % 251) as u8));
        ip_packet(self.src.ip(), self.dst.ip(), ip_proto::TCP, seg, 16)
    }
}

/// A TCP segment with `flags` (see [`TcpFlags`]) and `payload_len` bytes of payload.
pub fn tcp(src: SocketAddr, dst: SocketAddr, flags: u8, seq: u32, ack: u32, payload_len: usize) -> Vec<u8> {
    TcpSpec::new(src, dst, flags, seq, ack)
        .payload(payload_len)
        .build()
}

/// A SYN.
pub fn syn(src: SocketAddr, dst: SocketAddr, seq: u32) -> Vec<u8> {
    tcp(src, dst, TcpFlags::SYN, seq, 0, 0)
}

/// The three segments of a TCP handshake from `client` to `server`: SYN (sequence `client_isn`), SYN-ACK
/// (sequence `server_isn`) and the client's ACK.
pub fn handshake(client: SocketAddr, server: SocketAddr, client_isn: u32, server_isn: u32) -> [Vec<u8>; 3] {
    let (c1, s1) = (client_isn.wrapping_add(1), server_isn.wrapping_add(1));
    [
        syn(client, server, client_isn),
        tcp(server, client, TcpFlags::SYN | TcpFlags::ACK, server_isn, c1, 0),
        tcp(client, server, TcpFlags::ACK, c1, s1, 0),
    ]
}

/// A UDP datagram with `payload_len` bytes of payload.
pub fn udp(src: SocketAddr, dst: SocketAddr, payload_len: usize) -> Vec<u8> {
    let len = 8 + payload_len;
    let mut d = Vec::with_capacity(len);
    d.extend_from_slice(&src.port().to_be_bytes());
    d.extend_from_slice(&dst.port().to_be_bytes());
    d.extend_from_slice(&(len as u16).to_be_bytes());
    d.extend_from_slice(&[0, 0]);
    d.extend((0..payload_len).map(|i| (i % 253) as u8));
    ip_packet(src.ip(), dst.ip(), ip_proto::UDP, d, 6)
}

/// An ICMP (IPv4) or ICMPv6 echo request.
pub fn icmp_echo(src: IpAddr, dst: IpAddr) -> Vec<u8> {
    let (proto, ty, ck) = if src.is_ipv4() {
        (ip_proto::ICMP, 8u8, Some(2))
    } else {
        (ip_proto::ICMPV6, 128u8, None)
    };
    let body = vec![ty, 0, 0, 0, 0x12, 0x34, 0, 1];
    let mut p = ip_packet(src, dst, proto, body, 2);
    if let Some(off) = ck {
        // ICMPv4 checksum covers only the ICMP message.
        let ihl = 20;
        let c = checksum(&p[ihl..], 0);
        p[ihl + off..ihl + off + 2].copy_from_slice(&c.to_be_bytes());
    }
    p
}

/// Wraps `payload` in an IPv4 or IPv6 header; `ck_off` is the offset of the transport checksum to fill in
/// (pseudo-header included).
fn ip_packet(src: IpAddr, dst: IpAddr, proto: u8, mut payload: Vec<u8>, ck_off: usize) -> Vec<u8> {
    match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            if proto != ip_proto::ICMP {
                let mut pseudo = 0u32;
                for w in s.octets().chunks(2).chain(d.octets().chunks(2)) {
                    pseudo += u32::from(u16::from_be_bytes([w[0], w[1]]));
                }
                pseudo += u32::from(proto) + payload.len() as u32;
                let c = checksum(&payload, pseudo);
                payload[ck_off..ck_off + 2].copy_from_slice(&c.to_be_bytes());
            }
            let total = 20 + payload.len();
            let mut p = Vec::with_capacity(total);
            p.extend_from_slice(&[0x45, 0]);
            p.extend_from_slice(&(total as u16).to_be_bytes());
            p.extend_from_slice(&[0, 1, 0x40, 0, 64, proto, 0, 0]);
            p.extend_from_slice(&s.octets());
            p.extend_from_slice(&d.octets());
            let c = checksum(&p[..20], 0);
            p[10..12].copy_from_slice(&c.to_be_bytes());
            p.extend_from_slice(&payload);
            p
        }
        (s, d) => {
            let s6 = match s {
                IpAddr::V6(a) => a,
                IpAddr::V4(a) => a.to_ipv6_mapped(),
            };
            let d6 = match d {
                IpAddr::V6(a) => a,
                IpAddr::V4(a) => a.to_ipv6_mapped(),
            };
            let mut pseudo = 0u32;
            for w in s6.octets().chunks(2).chain(d6.octets().chunks(2)) {
                pseudo += u32::from(u16::from_be_bytes([w[0], w[1]]));
            }
            pseudo += u32::from(proto) + payload.len() as u32;
            let c = checksum(&payload, pseudo);
            payload[ck_off..ck_off + 2].copy_from_slice(&c.to_be_bytes());
            let mut p = Vec::with_capacity(40 + payload.len());
            p.extend_from_slice(&[0x60, 0, 0, 0]);
            p.extend_from_slice(&(payload.len() as u16).to_be_bytes());
            p.extend_from_slice(&[proto, 64]);
            p.extend_from_slice(&s6.octets());
            p.extend_from_slice(&d6.octets());
            p.extend_from_slice(&payload);
            p
        }
    }
}

/// Internet checksum of `data` with `initial` (a pre-summed pseudo-header).
pub fn checksum(data: &[u8], initial: u32) -> u16 {
    let mut sum = initial;
    for c in data.chunks(2) {
        let w = if c.len() == 2 {
            u16::from_be_bytes([c[0], c[1]])
        } else {
            u16::from(c[0]) << 8
        };
        sum += u32::from(w);
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// The smallest inspecting firewall, for tests and benches: interface 0 `inside`, interface 1 `outside` with
/// `ip inspect fw out [redundancy stateful GROUP]`, rule `fw` inspecting TCP and UDP, no ACLs.
pub fn inspect_out_config(redundancy_group: Option<&str>) -> EngineConfig {
    let rule = |proto| RuleProtocol {
        proto,
        timeout_s: None,
    };
    EngineConfig {
        rules: vec![InspectRule {
            name: "fw".into(),
            protocols: vec![rule(L4Proto::TCP), rule(L4Proto::UDP)],
        }],
        interfaces: vec![
            InterfaceConfig {
                name: "inside".into(),
                ..Default::default()
            },
            InterfaceConfig {
                name: "outside".into(),
                inspect_out: Some(InterfaceInspect {
                    rule: "fw".into(),
                    redundancy_group: redundancy_group.map(str::to_owned),
                }),
                ..Default::default()
            },
        ],
        ..EngineConfig::default()
    }
}

/// The firewall of the specification's router 1 (ha-R1) as an engine configuration, for tests and benches:
/// inside `Ethernet0/0` (index 0), outside `Ethernet1/0` (index 1) with `ip access-group fw-ha-acl in` and
/// `ip inspect ha-protocols out redundancy stateful HAin`; `ip inspect name ha-protocols tcp|udp`,
/// `ip inspect tcp idle-time 180`, `ip inspect redundancy update seconds 60`.
pub fn seed_firewall_config() -> EngineConfig {
    let ip_entry = |seq, action, src, dst| AclEntry {
        seq,
        action,
        proto: AclProto::Ip,
        src,
        src_port: PortMatch::Any,
        dst,
        dst_port: PortMatch::Any,
        established: false,
        log: false,
    };
    let host = |a: [u8; 4]| AddrMatch::Host(IpAddr::from(a));
    let rule = |proto| RuleProtocol {
        proto,
        timeout_s: None,
    };
    EngineConfig {
        rules: vec![InspectRule {
            name: "ha-protocols".into(),
            protocols: vec![rule(L4Proto::TCP), rule(L4Proto::UDP)],
        }],
        interfaces: vec![
            InterfaceConfig {
                name: "Ethernet0/0".into(),
                ..Default::default()
            },
            InterfaceConfig {
                name: "Ethernet1/0".into(),
                inspect_out: Some(InterfaceInspect {
                    rule: "ha-protocols".into(),
                    redundancy_group: Some("HAin".into()),
                }),
                acl_in: Some("fw-ha-acl".into()),
                ..Default::default()
            },
        ],
        acls: vec![AclConfig {
            name: "fw-ha-acl".into(),
            entries: vec![
                ip_entry(10, AclAction::Permit, host([211, 0, 0, 2]), host([211, 0, 0, 1])),
                ip_entry(20, AclAction::Permit, host([211, 0, 0, 1]), host([211, 0, 0, 2])),
                ip_entry(30, AclAction::Deny, AddrMatch::Any, AddrMatch::Any),
            ],
        }],
        tcp_idle_s: 180,
        ha_update_interval_s: 60,
        ..EngineConfig::default()
    }
}
