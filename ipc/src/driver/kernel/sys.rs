//! Kernel SCTP socket API (RFC 6458 as Linux implements it, `/usr/include/linux/sctp.h`): the option
//! structures, their constants, and the few syscalls the kernel backend needs.
//!
//! Struct layouts are checked against the installed headers by a test that compiles a C program.
#![allow(unsafe_code)]

use std::io;
use std::mem::size_of;
use std::net::{IpAddr, SocketAddr};
use std::os::fd::{AsRawFd, BorrowedFd};

use socket2::SockAddr;

/// `SOL_SCTP` / `IPPROTO_SCTP`.
pub(crate) const SOL_SCTP: libc::c_int = 132;
/// Socket options (level `SOL_SCTP`).
pub(crate) const SCTP_RTOINFO: libc::c_int = 0;
/// Association parameters.
pub(crate) const SCTP_ASSOCINFO: libc::c_int = 1;
/// INIT parameters.
pub(crate) const SCTP_INITMSG: libc::c_int = 2;
/// Disable bundling delay.
pub(crate) const SCTP_NODELAY: libc::c_int = 3;
/// Per-destination parameters.
pub(crate) const SCTP_PEER_ADDR_PARAMS: libc::c_int = 9;
/// Deliver `SCTP_RCVINFO` ancillary data with every message.
pub(crate) const SCTP_RECVRCVINFO: libc::c_int = 32;
/// `sctp_bindx(SCTP_BINDX_ADD_ADDR)`.
pub(crate) const SCTP_SOCKOPT_BINDX_ADD: libc::c_int = 100;
/// `sctp_connectx` (returns the association id).
pub(crate) const SCTP_SOCKOPT_CONNECTX: libc::c_int = 110;
/// Event subscription.
pub(crate) const SCTP_EVENT: libc::c_int = 127;
/// cmsg type carrying `sctp_sndinfo`.
pub(crate) const SCTP_SNDINFO: libc::c_int = 2;
/// cmsg type carrying `sctp_rcvinfo`.
pub(crate) const SCTP_RCVINFO: libc::c_int = 3;
/// `msg_flags` bit marking a notification.
pub(crate) const MSG_NOTIFICATION: libc::c_int = 0x8000;

/// Notification types.
pub(crate) const SCTP_ASSOC_CHANGE: u16 = (1 << 15) + 1;
/// A destination address changed state.
pub(crate) const SCTP_PEER_ADDR_CHANGE: u16 = (1 << 15) + 2;
/// The peer shut down.
pub(crate) const SCTP_SHUTDOWN_EVENT: u16 = (1 << 15) + 5;

/// `sac_state`: association lost.
pub(crate) const SCTP_COMM_LOST: u16 = 1;
/// Peer restarted.
pub(crate) const SCTP_RESTART: u16 = 2;
/// Shutdown complete.
pub(crate) const SCTP_SHUTDOWN_COMP: u16 = 3;

/// `spc_state` values.
pub(crate) const SCTP_ADDR_AVAILABLE: i32 = 0;
/// Address unreachable.
pub(crate) const SCTP_ADDR_UNREACHABLE: i32 = 1;
/// Address became primary.
pub(crate) const SCTP_ADDR_MADE_PRIM: i32 = 4;
/// Address potentially failed.
pub(crate) const SCTP_ADDR_POTENTIALLY_FAILED: i32 = 6;

/// `spp_flags`: heartbeats on.
pub(crate) const SPP_HB_ENABLE: u32 = 1 << 0;

/// `struct sctp_rtoinfo` (16 bytes).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct SctpRtoinfo {
    pub(crate) srto_assoc_id: i32,
    pub(crate) srto_initial: u32,
    pub(crate) srto_max: u32,
    pub(crate) srto_min: u32,
}

/// `struct sctp_assocparams` (20 bytes).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct SctpAssocparams {
    pub(crate) sasoc_assoc_id: i32,
    pub(crate) sasoc_asocmaxrxt: u16,
    pub(crate) sasoc_number_peer_destinations: u16,
    pub(crate) sasoc_peer_rwnd: u32,
    pub(crate) sasoc_local_rwnd: u32,
    pub(crate) sasoc_cookie_life: u32,
}

/// `struct sctp_initmsg` (8 bytes).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct SctpInitmsg {
    pub(crate) sinit_num_ostreams: u16,
    pub(crate) sinit_max_instreams: u16,
    pub(crate) sinit_max_attempts: u16,
    pub(crate) sinit_max_init_timeo: u16,
}

/// `struct sctp_paddrparams`, `packed, aligned(4)` in C: 155 bytes of fields plus one pad byte.
#[repr(C, packed)]
#[derive(Clone, Copy)]
pub(crate) struct SctpPaddrparams {
    pub(crate) spp_assoc_id: i32,
    pub(crate) spp_address: [u8; 128],
    pub(crate) spp_hbinterval: u32,
    pub(crate) spp_pathmaxrxt: u16,
    pub(crate) spp_pathmtu: u32,
    pub(crate) spp_sackdelay: u32,
    pub(crate) spp_flags: u32,
    pub spp_ipv6_flowlabel: u32,
    pub(crate) spp_dscp: u8,
    pub(crate) _pad: u8,
}

impl Default for SctpPaddrparams {
    fn default() -> Self {
        Self {
            spp_assoc_id: 0,
            spp_address: [0; 128],
            spp_hbinterval: 0,
            spp_pathmaxrxt: 0,
            spp_pathmtu: 0,
            spp_sackdelay: 0,
            spp_flags: 0,
            spp_ipv6_flowlabel: 0,
            spp_dscp: 0,
            _pad: 0,
        }
    }
}

/// `struct sctp_event` (8 bytes).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct SctpEvent {
    pub(crate) se_assoc_id: i32,
    pub(crate) se_type: u16,
    pub(crate) se_on: u8,
}

/// `struct sctp_sndinfo` (16 bytes).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct SctpSndinfo {
    pub(crate) snd_sid: u16,
    pub(crate) snd_flags: u16,
    pub(crate) snd_ppid: u32,
    pub(crate) snd_context: u32,
    pub(crate) snd_assoc_id: i32,
}

/// `struct sctp_rcvinfo` (28 bytes).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct SctpRcvinfo {
    pub(crate) rcv_sid: u16,
    pub(crate) rcv_ssn: u16,
    pub(crate) rcv_flags: u16,
    pub(crate) rcv_ppid: u32,
    pub(crate) rcv_tsn: u32,
    pub(crate) rcv_cumtsn: u32,
    pub(crate) rcv_context: u32,
    pub(crate) rcv_assoc_id: i32,
}

/// Offsets of the notification fields the backend reads (`sctp_assoc_change`, `sctp_paddr_change`).
pub(crate) const SAC_STATE_OFFSET: usize = 8;
/// `spc_aaddr` offset.
pub(crate) const SPC_AADDR_OFFSET: usize = 8;
/// `spc_state` offset.
pub(crate) const SPC_STATE_OFFSET: usize = 136;

/// Sets a socket option from a plain-data struct.
pub(crate) fn setsockopt<T: Copy>(fd: BorrowedFd<'_>, name: libc::c_int, value: &T) -> io::Result<()> {
    let len = libc::socklen_t::try_from(size_of::<T>()).map_err(|_| io::Error::other("option too large"))?;
    // SAFETY: `value` points to `size_of::<T>()` initialized bytes of a `Copy` (plain-data, repr(C))
    // struct that outlives the call; the kernel only reads `len` bytes.
    let r = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            SOL_SCTP,
            name,
            std::ptr::from_ref(value).cast(),
            len,
        )
    };
    if r == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Packs addresses as the kernel's bindx/connectx expect: `sockaddr_in`/`sockaddr_in6` back to back.
pub(crate) fn pack_addrs(ips: &[IpAddr], port: u16) -> Vec<u8> {
    let mut out = Vec::new();
    for ip in ips {
        let sa = SockAddr::from(SocketAddr::new(*ip, port));
        let len = sa.len() as usize;
        // SAFETY: `as_ptr` points to a `sockaddr_storage` of which the first `len` bytes are the
        // initialized address; we copy exactly those bytes while `sa` is alive.
        let bytes = unsafe { std::slice::from_raw_parts(sa.as_ptr().cast::<u8>(), len) };
        out.extend_from_slice(bytes);
    }
    out
}

/// A raw-bytes socket option (bindx/connectx take a packed address array). Returns the call's result.
pub(crate) fn setsockopt_bytes(
    fd: BorrowedFd<'_>,
    name: libc::c_int,
    bytes: &[u8],
) -> io::Result<libc::c_int> {
    let len = libc::socklen_t::try_from(bytes.len()).map_err(|_| io::Error::other("option too large"))?;
    // SAFETY: `bytes` is a live, initialized slice of `len` bytes; the kernel only reads it.
    let r = unsafe { libc::setsockopt(fd.as_raw_fd(), SOL_SCTP, name, bytes.as_ptr().cast(), len) };
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

/// Sends one message on `stream` with `ppid` (an `SCTP_SNDINFO` control message).
pub(crate) fn send_message(fd: BorrowedFd<'_>, stream: u16, ppid: u32, data: &[u8]) -> io::Result<usize> {
    let info = SctpSndinfo {
        snd_sid: stream,
        snd_ppid: ppid.to_be(),
        ..SctpSndinfo::default()
    };
    let info_len = size_of::<SctpSndinfo>() as u32;
    // SAFETY: CMSG_SPACE only computes a size.
    let space = unsafe { libc::CMSG_SPACE(info_len) } as usize;
    let mut control = vec![0u8; space];
    let mut iov = libc::iovec {
        iov_base: data.as_ptr().cast_mut().cast(),
        iov_len: data.len(),
    };
    // SAFETY: zeroed msghdr is a valid "empty" header; we fill the fields below.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &raw mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.as_mut_ptr().cast();
    msg.msg_controllen = space;
    // SAFETY: msg_control points to `space` bytes, enough for one cmsg of `info_len` bytes, so
    // CMSG_FIRSTHDR is non-null and CMSG_DATA has room for the struct; the write is unaligned-safe.
    unsafe {
        let cmsg = libc::CMSG_FIRSTHDR(&raw const msg);
        if cmsg.is_null() {
            return Err(io::Error::other("no room for control message"));
        }
        (*cmsg).cmsg_level = SOL_SCTP;
        (*cmsg).cmsg_type = SCTP_SNDINFO;
        (*cmsg).cmsg_len = libc::CMSG_LEN(info_len) as usize;
        std::ptr::write_unaligned(libc::CMSG_DATA(cmsg).cast::<SctpSndinfo>(), info);
    }
    // SAFETY: msg references `iov` (over `data`) and `control`, both alive for the call; the kernel
    // only reads them. The iov's mutable pointer is never written through by sendmsg.
    let n = unsafe { libc::sendmsg(fd.as_raw_fd(), &raw const msg, libc::MSG_NOSIGNAL) };
    if n < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(n as usize)
    }
}

/// What `recv_message` read.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Received {
    /// A user message on `stream`.
    Data { stream: u16, bytes: Vec<u8> },
    /// A notification (`MSG_NOTIFICATION`), raw bytes.
    Notification(Vec<u8>),
    /// The peer closed the connection (EOF).
    Closed,
}

/// Receives one message (or notification) into `buf`. Messages larger than `buf` are cut; the envelope
/// decoder then refuses them as truncated.
pub(crate) fn recv_message(fd: BorrowedFd<'_>, buf: &mut [u8]) -> io::Result<Received> {
    let mut control = [0u8; 128];
    let mut iov = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: buf.len(),
    };
    // SAFETY: zeroed msghdr is valid; fields are set below.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &raw mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.as_mut_ptr().cast();
    msg.msg_controllen = control.len();
    // SAFETY: msg references `buf` and `control`, both alive and writable for the call.
    let n = unsafe { libc::recvmsg(fd.as_raw_fd(), &raw mut msg, 0) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    let n = n as usize;
    if n == 0 {
        return Ok(Received::Closed);
    }
    let bytes = buf[..n.min(buf.len())].to_vec();
    if msg.msg_flags & MSG_NOTIFICATION != 0 {
        return Ok(Received::Notification(bytes));
    }
    let mut stream = 0u16;
    // SAFETY: the kernel filled `msg_controllen` bytes of `control`; CMSG_FIRSTHDR/NXTHDR walk only
    // within them, and the payload read is bounded by cmsg_len checked against the struct size.
    unsafe {
        let mut cmsg = libc::CMSG_FIRSTHDR(&raw const msg);
        while !cmsg.is_null() {
            if (*cmsg).cmsg_level == SOL_SCTP
                && (*cmsg).cmsg_type == SCTP_RCVINFO
                && (*cmsg).cmsg_len as usize >= libc::CMSG_LEN(size_of::<SctpRcvinfo>() as u32) as usize
            {
                let info = std::ptr::read_unaligned(libc::CMSG_DATA(cmsg).cast::<SctpRcvinfo>());
                stream = info.rcv_sid;
            }
            cmsg = libc::CMSG_NXTHDR(&raw const msg, cmsg);
        }
    }
    Ok(Received::Data { stream, bytes })
}

/// Registers a kernel SCTP socket with the tokio reactor.
pub(crate) fn register(s: socket2::Socket) -> io::Result<tokio::io::unix::AsyncFd<socket2::Socket>> {
    // SAFETY: a `socket2::Socket` owns its descriptor and returns that same descriptor from `as_raw_fd`
    // for as long as it lives; the `AsyncFd` takes ownership of the socket, so the descriptor stays open
    // and unchanged for the registration's whole lifetime.
    Ok(unsafe { tokio::io::unix::AsyncFd::register(s) }?)
}
