//! Packet paths for the userspace SCTP stack: raw IP protocol 132, UDP (RFC 6951), or in-memory channels.
//!
//! Raw and UDP sockets are opened with `socket2` and handed to tokio as datagram sockets (tokio's
//! `UdpSocket` only issues `recvfrom`/`sendto`, which raw IP sockets support), one socket per local
//! address, so the address pair of every packet is known.

use std::io;
use std::net::{IpAddr, SocketAddr};

use socket2::{Domain, Protocol, Socket, Type};
use tokio::net::UdpSocket;
use tokio::sync::mpsc;

use crate::config::AssociationConfig;
use crate::error::IpcError;

/// IANA protocol number of SCTP.
pub(crate) const IPPROTO_SCTP: i32 = 132;

/// Largest datagram accepted.
pub(crate) const RECV_BUF: usize = 65_536;

/// The way packets travel.
pub(crate) enum PacketIo {
    /// One socket per address pair; `raw` tells whether received IPv4 packets carry an IP header.
    Sockets {
        socks: Vec<UdpSocket>,
        remotes: Vec<SocketAddr>,
        raw: bool,
        buf: Vec<u8>,
    },
    /// In-memory: `(path, packet)` both ways.
    Memory {
        tx: mpsc::Sender<(usize, Vec<u8>)>,
        rx: mpsc::Receiver<(usize, Vec<u8>)>,
    },
}

fn io_err(context: String) -> impl FnOnce(io::Error) -> IpcError {
    move |source| IpcError::Io { context, source }
}

fn domain(ip: IpAddr) -> Domain {
    if ip.is_ipv4() { Domain::IPV4 } else { Domain::IPV6 }
}

/// Socket buffer size asked for; above `net.core.rmem_max` it needs CAP_NET_ADMIN (`SO_RCVBUFFORCE`).
const SOCKET_BUFFER: usize = 4 << 20;

fn big_buffers(s: &Socket) {
    if nix::sys::socket::setsockopt(s, nix::sys::socket::sockopt::RcvBufForce, &SOCKET_BUFFER).is_err() {
        let _ = s.set_recv_buffer_size(SOCKET_BUFFER);
    }
    if nix::sys::socket::setsockopt(s, nix::sys::socket::sockopt::SndBufForce, &SOCKET_BUFFER).is_err() {
        let _ = s.set_send_buffer_size(SOCKET_BUFFER);
    }
}

/// Opens one raw IP protocol 132 socket bound to `local`.
pub(crate) fn open_raw(local: IpAddr) -> io::Result<Socket> {
    let s = Socket::new(domain(local), Type::RAW, Some(Protocol::from(IPPROTO_SCTP)))?;
    s.bind(&SocketAddr::new(local, 0).into())?;
    s.set_nonblocking(true)?;
    big_buffers(&s);
    Ok(s)
}

fn open_udp(local: IpAddr, port: u16) -> io::Result<Socket> {
    let s = Socket::new(domain(local), Type::DGRAM, Some(Protocol::UDP))?;
    s.set_reuse_address(true)?;
    s.bind(&SocketAddr::new(local, port).into())?;
    s.set_nonblocking(true)?;
    big_buffers(&s);
    Ok(s)
}

impl PacketIo {
    /// Raw IP sockets, one per local address.
    pub(crate) fn raw(cfg: &AssociationConfig) -> Result<Self, IpcError> {
        let mut socks = Vec::new();
        for ip in &cfg.local_ips {
            let s = open_raw(*ip).map_err(io_err(format!("raw IP protocol 132 socket on {ip}")))?;
            socks.push(UdpSocket::from_std(s.into()).map_err(io_err("registering raw socket".into()))?);
        }
        let remotes = cfg.remote_ips.iter().map(|ip| SocketAddr::new(*ip, 0)).collect();
        Ok(Self::Sockets {
            socks,
            remotes,
            raw: true,
            buf: vec![0u8; RECV_BUF],
        })
    }

    /// UDP sockets on `cfg.udp_port`, one per local address.
    pub(crate) fn udp(cfg: &AssociationConfig) -> Result<Self, IpcError> {
        let mut socks = Vec::new();
        for ip in &cfg.local_ips {
            let s = open_udp(*ip, cfg.udp_port)
                .map_err(io_err(format!("UDP socket on {ip}:{}", cfg.udp_port)))?;
            socks.push(UdpSocket::from_std(s.into()).map_err(io_err("registering UDP socket".into()))?);
        }
        let remotes = cfg
            .remote_ips
            .iter()
            .map(|ip| SocketAddr::new(*ip, cfg.udp_port))
            .collect();
        Ok(Self::Sockets {
            socks,
            remotes,
            raw: false,
            buf: vec![0u8; RECV_BUF],
        })
    }

    /// Sends a packet on address pair `path` (waits only while the socket buffer is full).
    pub(crate) async fn send(&mut self, path: usize, packet: &[u8]) -> io::Result<()> {
        match self {
            Self::Sockets { socks, remotes, .. } => {
                let (Some(sock), Some(to)) = (socks.get(path), remotes.get(path)) else {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidInput,
                        "no such address pair",
                    ));
                };
                sock.send_to(packet, *to).await.map(|_| ())
            }
            Self::Memory { tx, .. } => tx
                .try_send((path, packet.to_vec()))
                .map_err(|_| io::Error::new(io::ErrorKind::WouldBlock, "memory link full")),
        }
    }

    /// Waits for at least one packet, then takes every packet already pending (up to `max`), pushing
    /// `(path, sctp_packet)` to `out`. Datagrams from addresses outside the association are counted in
    /// `foreign` and skipped.
    pub(crate) async fn recv_batch(
        &mut self,
        out: &mut Vec<(usize, Vec<u8>)>,
        max: usize,
        foreign: &mut u64,
    ) -> io::Result<()> {
        match self {
            Self::Sockets {
                socks,
                remotes,
                raw,
                buf,
            } => {
                let first = match socks.as_slice() {
                    [a] => a.readable().await.map(|()| 0)?,
                    [a, b, ..] => tokio::select! {
                        r = a.readable() => r.map(|()| 0)?,
                        r = b.readable() => r.map(|()| 1)?,
                    },
                    [] => return std::future::pending().await,
                };
                for path in std::iter::once(first).chain((0..socks.len()).filter(|&p| p != first)) {
                    while out.len() < max {
                        let (n, from) = match socks[path].try_recv_from(buf) {
                            Ok(v) => v,
                            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                            Err(e) => return Err(e),
                        };
                        if !remotes.iter().any(|r| r.ip() == from.ip()) {
                            *foreign += 1;
                            continue;
                        }
                        // Raw IPv4 sockets deliver the IP header; its length is IHL x 4.
                        let start = if *raw && from.is_ipv4() {
                            usize::from(buf[0] & 0x0f) * 4
                        } else {
                            0
                        };
                        if start >= n {
                            *foreign += 1;
                            continue;
                        }
                        out.push((path, buf[start..n].to_vec()));
                    }
                }
                Ok(())
            }
            Self::Memory { rx, .. } => {
                match rx.recv().await {
                    Some(item) => out.push(item),
                    None => return std::future::pending().await,
                }
                while out.len() < max {
                    match rx.try_recv() {
                        Ok(item) => out.push(item),
                        Err(_) => break,
                    }
                }
                Ok(())
            }
        }
    }
}
