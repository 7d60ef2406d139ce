//! Sockets of the driver: one UDP socket per HSRP interface (receive, and send while not Active) and one
//! AF_PACKET socket per interface (send frames sourced from the virtual MAC, and gratuitous ARP).
//!
//! This is the only module of the crate with `unsafe`: `bind`/`sendto` on an AF_PACKET socket need a
//! `sockaddr_ll`, which neither socket2 nor nix can build safely.
#![allow(unsafe_code)]

use std::io;
use std::io::IoSliceMut;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

use nix::sys::socket::{ControlMessageOwned, MsgFlags, SockaddrIn, recvmsg, setsockopt, sockopt};
use socket2::{Domain, Protocol, Socket, Type};
use tokio::io::Interest;
use tokio::net::UdpSocket;

use crate::packet::{UDP_PORT, V1_MULTICAST, V2_MULTICAST};

/// Opens the HSRP UDP socket of one interface: bound to the device and port 1985, member of both
/// HSRP groups, multicast TTL 1, no loopback of our own packets, TTL of received packets reported.
pub(crate) fn open_udp(linux_name: &str, addr: Ipv4Addr) -> io::Result<UdpSocket> {
    let s = Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::UDP))?;
    s.set_reuse_address(true)?;
    s.bind_device(Some(linux_name.as_bytes()))?;
    s.bind(&SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, UDP_PORT).into())?;
    s.join_multicast_v4(&V1_MULTICAST, &addr)?;
    s.join_multicast_v4(&V2_MULTICAST, &addr)?;
    s.set_multicast_if_v4(&addr)?;
    s.set_multicast_ttl_v4(1)?;
    s.set_multicast_loop_v4(false)?;
    s.set_tos_v4(0xc0)?;
    s.set_nonblocking(true)?;
    setsockopt(&s, sockopt::Ipv4RecvTtl, &true).map_err(io::Error::from)?;
    UdpSocket::from_std(s.into())
}

/// Receives one datagram: (source address, IP TTL, bytes). A missing TTL reads as 0 (and is dropped
/// by the core as a bad TTL).
pub(crate) async fn recv_with_ttl(sock: &UdpSocket, buf: &mut [u8]) -> io::Result<(Ipv4Addr, u8, usize)> {
    loop {
        sock.readable().await?;
        let fd = sock.as_raw_fd();
        let r = sock.try_io(Interest::READABLE, || {
            let mut cmsg = nix::cmsg_space!(libc::c_int);
            let mut iov = [IoSliceMut::new(buf)];
            let msg = recvmsg::<SockaddrIn>(fd, &mut iov, Some(&mut cmsg), MsgFlags::empty())
                .map_err(io::Error::from)?;
            let mut ttl = 0u8;
            if let Ok(cmsgs) = msg.cmsgs() {
                for c in cmsgs {
                    if let ControlMessageOwned::Ipv4Ttl(t) = c {
                        ttl = u8::try_from(t).unwrap_or(u8::MAX);
                    }
                }
            }
            let src = msg.address.map(|a| a.ip()).unwrap_or(Ipv4Addr::UNSPECIFIED);
            Ok((src, ttl, msg.bytes))
        });
        match r {
            Ok(v) => return Ok(v),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
            Err(e) => return Err(e),
        }
    }
}

/// A send-only AF_PACKET socket on one interface.
#[derive(Debug)]
pub(crate) struct PacketSocket {
    fd: OwnedFd,
    ifindex: i32,
}

const ETH_P_ALL_BE: u16 = (libc::ETH_P_ALL as u16).to_be();

fn sockaddr_ll(ifindex: i32, protocol_be: u16, dst: [u8; 6]) -> libc::sockaddr_ll {
    let mut addr = [0u8; 8];
    addr[..6].copy_from_slice(&dst);
    libc::sockaddr_ll {
        sll_family: libc::AF_PACKET as u16,
        sll_protocol: protocol_be,
        sll_ifindex: ifindex,
        sll_hatype: 0,
        sll_pkttype: 0,
        sll_halen: 6,
        sll_addr: addr,
    }
}

impl PacketSocket {
    /// Opens a raw packet socket that receives nothing (protocol 0) and sends on `ifindex`.
    pub(crate) fn open(ifindex: u32) -> io::Result<Self> {
        let ifindex = i32::try_from(ifindex).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
        // SAFETY: plain socket(2) call with constant arguments; the result is checked before use.
        let raw = unsafe {
            libc::socket(
                libc::AF_PACKET,
                libc::SOCK_RAW | libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK,
                0,
            )
        };
        if raw < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `raw` is a fresh, valid descriptor owned by nobody else.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        Ok(Self { fd, ifindex })
    }

    /// Sends one complete Ethernet frame.
    pub(crate) fn send(&self, frame: &[u8]) -> io::Result<()> {
        let mut dst = [0u8; 6];
        if frame.len() >= 6 {
            dst.copy_from_slice(&frame[..6]);
        }
        let sa = sockaddr_ll(self.ifindex, ETH_P_ALL_BE, dst);
        // SAFETY: `frame` is a valid buffer of the given length; `sa` is a fully initialised sockaddr_ll
        // that lives across the call, and its size is passed exactly.
        let n = unsafe {
            libc::sendto(
                self.fd.as_raw_fd(),
                frame.as_ptr().cast(),
                frame.len(),
                0,
                (&raw const sa).cast(),
                size_of::<libc::sockaddr_ll>() as libc::socklen_t,
            )
        };
        if n < 0 {
            Err(io::Error::last_os_error())
        } else {
            Ok(())
        }
    }
}
