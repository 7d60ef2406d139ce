//! A minimal NFQUEUE client over a raw `NETLINK_NETFILTER` socket (no libnetfilter_queue, no `unsafe`).
//!
//! Why not the `nfq` crate: nfq 0.2.5 hides its socket (no `AsRawFd`), so a worker could not `poll` it
//! together with a wake-up descriptor and a timer deadline, and it has no `NFQNL_MSG_VERDICT_BATCH`.
//! This module speaks the same protocol (`include/uapi/linux/netfilter/nfnetlink_queue.h`) with `nix`
//! syscall wrappers; messages are built into and parsed from byte buffers with bounds checks, so a
//! malformed message from the kernel is counted and skipped, never trusted.

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};

use nix::errno::Errno;
use nix::sys::socket::{
    AddressFamily, MsgFlags, NetlinkAddr, SockFlag, SockProtocol, SockType, bind, recv, sendto, setsockopt,
    sockopt,
};

const NLMSG_HDRLEN: usize = 16;
const NFGEN_HDRLEN: usize = 4;
const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;
const NLMSG_MIN_TYPE: u16 = 0x10;
const NLM_F_REQUEST: u16 = 1;
const NLM_F_ACK: u16 = 4;

const NFNL_SUBSYS_QUEUE: u16 = 3;
const NFQNL_MSG_PACKET: u16 = 0;
const NFQNL_MSG_VERDICT: u16 = 1;
const NFQNL_MSG_CONFIG: u16 = 2;
const NFQNL_MSG_VERDICT_BATCH: u16 = 3;

const NFQA_PACKET_HDR: u16 = 1;
const NFQA_VERDICT_HDR: u16 = 2;
const NFQA_MARK: u16 = 3;
const NFQA_IFINDEX_INDEV: u16 = 5;
const NFQA_IFINDEX_OUTDEV: u16 = 6;
const NFQA_PAYLOAD: u16 = 10;
const NFQA_CAP_LEN: u16 = 13;

const NFQA_CFG_CMD: u16 = 1;
const NFQA_CFG_PARAMS: u16 = 2;
const NFQA_CFG_QUEUE_MAXLEN: u16 = 3;
const NFQA_CFG_MASK: u16 = 4;
const NFQA_CFG_FLAGS: u16 = 5;
const NFQNL_CFG_CMD_BIND: u8 = 1;
const NFQNL_CFG_CMD_UNBIND: u8 = 2;
const NFQNL_COPY_PACKET: u8 = 2;

/// Queue flag: accept packets instead of dropping them when the queue is full.
pub(crate) const NFQA_CFG_F_FAIL_OPEN: u32 = 1;
/// Queue flag: hand GSO super-packets up unsegmented.
pub(crate) const NFQA_CFG_F_GSO: u32 = 4;

/// Kernel verdict `NF_DROP`.
pub(crate) const NF_DROP: u32 = 0;
/// Kernel verdict `NF_ACCEPT`.
pub(crate) const NF_ACCEPT: u32 = 1;

/// Kernel verdict `NF_QUEUE` to queue `num` (re-queue the packet there, from the same hook).
pub(crate) const fn nf_queue(num: u16) -> u32 {
    ((num as u32) << 16) | 3
}

/// Largest payload the kernel copies to us (the whole packet: the kernel caps the range at 0xffff).
const COPY_RANGE: u32 = 0xffff;
/// Receive buffer: one full-size packet plus its netlink metadata.
pub(crate) const RECV_BUF_LEN: usize = 0x10000 + 8192;

/// A packet the kernel handed to userspace, borrowed from the receive buffer.
#[derive(Debug, Clone, Copy)]
pub(crate) struct QueuedPacket<'a> {
    /// The kernel's id of the packet within its queue (verdicts name it).
    pub(crate) id: u32,
    /// Ingress interface index (0 when none).
    pub(crate) indev: u32,
    /// Egress interface index (0 when none).
    pub(crate) outdev: u32,
    /// The packet's firewall mark.
    #[allow(dead_code)]
    pub(crate) mark: u32,
    /// Length of the packet before the copy range truncated it (equals `payload.len()` when whole).
    #[allow(dead_code)]
    pub(crate) original_len: usize,
    /// The packet from its IP header on.
    pub(crate) payload: &'a [u8],
}

/// What one received datagram contained.
#[derive(Debug)]
pub(crate) enum Received<'a> {
    /// A queued packet.
    Packet(QueuedPacket<'a>),
    /// An error report from the kernel for an earlier request (negative errno, 0 = ack).
    Error(i32),
    /// Something that is neither (netlink noise, or a message too short to be a packet).
    Other,
}

/// Errors of the NFQUEUE socket.
#[derive(Debug, thiserror::Error)]
pub enum NfQueueError {
    /// A socket call failed.
    #[error("nfqueue {op}: {errno}")]
    Sys {
        /// The operation that failed.
        op: &'static str,
        /// The errno.
        errno: Errno,
    },
    /// The kernel refused a configuration request.
    #[error("nfqueue {op} for queue {queue}: kernel answered {errno}")]
    Refused {
        /// The request.
        op: &'static str,
        /// Queue number.
        queue: u16,
        /// The kernel's errno.
        errno: Errno,
    },
}

fn sys(op: &'static str) -> impl FnOnce(Errno) -> NfQueueError {
    move |errno| NfQueueError::Sys { op, errno }
}

/// One bound NFQUEUE queue.
#[derive(Debug)]
pub(crate) struct NfQueue {
    fd: OwnedFd,
    queue: u16,
    seq: u32,
    out: Vec<u8>,
}

impl NfQueue {
    /// Opens a netfilter netlink socket, binds it to queue `queue`, asks for whole packets, sets the
    /// kernel queue length and flags (`flags` among `NFQA_CFG_F_*`, all other known flags cleared).
    pub(crate) fn open(queue: u16, max_len: u32, flags: u32) -> Result<Self, NfQueueError> {
        let fd = nix::sys::socket::socket(
            AddressFamily::Netlink,
            SockType::Raw,
            SockFlag::SOCK_CLOEXEC,
            SockProtocol::NetlinkNetFilter,
        )
        .map_err(sys("socket"))?;
        bind(fd.as_raw_fd(), &NetlinkAddr::new(0, 0)).map_err(sys("bind"))?;
        // A deep socket buffer absorbs bursts; without CAP_NET_ADMIN the forced size fails, which only
        // means the default buffer is used.
        let _ = setsockopt(&fd, sockopt::RcvBufForce, &(8 << 20));
        let mut q = Self {
            fd,
            queue,
            seq: 1,
            out: Vec::with_capacity(256),
        };
        q.config_cmd(NFQNL_CFG_CMD_BIND, "bind")?;
        // copy_range (u32 BE) + copy_mode (u8), padded by the attribute alignment.
        let mut params = COPY_RANGE.to_be_bytes().to_vec();
        params.push(NFQNL_COPY_PACKET);
        q.config(&[(NFQA_CFG_PARAMS, &params)], "copy range")?;
        q.config(&[(NFQA_CFG_QUEUE_MAXLEN, &max_len.to_be_bytes())], "queue maxlen")?;
        let mask = NFQA_CFG_F_FAIL_OPEN | NFQA_CFG_F_GSO;
        q.config(
            &[
                (NFQA_CFG_FLAGS, &(flags & mask).to_be_bytes()),
                (NFQA_CFG_MASK, &mask.to_be_bytes()),
            ],
            "flags",
        )?;
        Ok(q)
    }

    /// The socket, for `poll`.
    pub(crate) fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }

    /// Unbinds the queue (the kernel also does it when the socket closes).
    pub(crate) fn unbind(&mut self) -> Result<(), NfQueueError> {
        self.config_cmd(NFQNL_CFG_CMD_UNBIND, "unbind")
    }

    fn config_cmd(&mut self, cmd: u8, op: &'static str) -> Result<(), NfQueueError> {
        // struct nfqnl_msg_config_cmd { u8 command; u8 _pad; __be16 pf; }
        self.config(&[(NFQA_CFG_CMD, &[cmd, 0, 0, 0])], op)
    }

    fn config(&mut self, attrs: &[(u16, &[u8])], op: &'static str) -> Result<(), NfQueueError> {
        let seq = self.next_seq();
        self.begin(NFQNL_MSG_CONFIG, NLM_F_REQUEST | NLM_F_ACK, seq);
        for (kind, value) in attrs {
            put_attr(&mut self.out, *kind, value);
        }
        self.send("send config")?;
        // Wait for the ack of this request; packets that arrive meanwhile are not expected during setup
        // (the daemon's rules are installed after the queues are bound) and are skipped.
        let mut buf = vec![0u8; 8192];
        loop {
            let n = recv(self.fd.as_raw_fd(), &mut buf, MsgFlags::empty()).map_err(sys("recv ack"))?;
            let mut at = 0;
            while let Some((msg_type, _flags, msg_seq, body, next)) = next_msg(&buf[..n], at) {
                at = next;
                if msg_type == NLMSG_ERROR && msg_seq == seq {
                    let code = body
                        .get(..4)
                        .map_or(0, |b| i32::from_ne_bytes([b[0], b[1], b[2], b[3]]));
                    if code == 0 {
                        return Ok(());
                    }
                    return Err(NfQueueError::Refused {
                        op,
                        queue: self.queue,
                        errno: Errno::from_raw(-code),
                    });
                }
            }
        }
    }

    fn next_seq(&mut self) -> u32 {
        self.seq = self.seq.wrapping_add(1);
        self.seq
    }

    /// Starts a message in `self.out`: netlink header (length patched in `send`) and nfgenmsg.
    fn begin(&mut self, msg: u16, flags: u16, seq: u32) {
        self.out.clear();
        self.out.extend_from_slice(&0u32.to_ne_bytes());
        self.out
            .extend_from_slice(&((NFNL_SUBSYS_QUEUE << 8) | msg).to_ne_bytes());
        self.out.extend_from_slice(&flags.to_ne_bytes());
        self.out.extend_from_slice(&seq.to_ne_bytes());
        self.out.extend_from_slice(&0u32.to_ne_bytes());
        // nfgenmsg: family AF_UNSPEC, version NFNETLINK_V0, res_id = queue number (big-endian).
        self.out.extend_from_slice(&[0, 0]);
        self.out.extend_from_slice(&self.queue.to_be_bytes());
    }

    fn send(&mut self, op: &'static str) -> Result<(), NfQueueError> {
        let len = u32::try_from(self.out.len()).unwrap_or(u32::MAX);
        self.out[..4].copy_from_slice(&len.to_ne_bytes());
        sendto(
            self.fd.as_raw_fd(),
            &self.out,
            &NetlinkAddr::new(0, 0),
            MsgFlags::empty(),
        )
        .map_err(sys(op))?;
        Ok(())
    }

    /// Receives one datagram without blocking into the start of `buf`; returns its length and what it
    /// held, or `Ok(None)` when nothing is waiting.
    ///
    /// `ENOBUFS` (the socket overflowed and the kernel lost messages; those packets were dropped, or
    /// accepted in fail-open mode) is returned as an error for the caller to count.
    pub(crate) fn try_recv<'b>(&self, buf: &'b mut [u8]) -> Result<Option<(usize, Received<'b>)>, Errno> {
        let n = match recv(self.fd.as_raw_fd(), buf, MsgFlags::MSG_DONTWAIT) {
            Ok(n) => n.min(buf.len()),
            Err(Errno::EAGAIN) => return Ok(None),
            Err(e) => return Err(e),
        };
        let buf: &'b [u8] = &buf[..n];
        Ok(Some((n, parse_datagram(buf))))
    }

    /// Sets the verdict (`NF_DROP`, `NF_ACCEPT`, [`nf_queue`]) of one packet.
    pub(crate) fn verdict(&mut self, id: u32, verdict: u32) -> Result<(), NfQueueError> {
        self.send_verdict(NFQNL_MSG_VERDICT, id, verdict)
    }

    /// Sets the verdict of every packet of this queue with an id up to and including `id` (wrap-aware,
    /// in the kernel) that has no verdict yet.
    pub(crate) fn verdict_batch(&mut self, id: u32, verdict: u32) -> Result<(), NfQueueError> {
        self.send_verdict(NFQNL_MSG_VERDICT_BATCH, id, verdict)
    }

    fn send_verdict(&mut self, msg: u16, id: u32, verdict: u32) -> Result<(), NfQueueError> {
        let seq = self.next_seq();
        self.begin(msg, NLM_F_REQUEST, seq);
        let mut hdr = [0u8; 8];
        hdr[..4].copy_from_slice(&verdict.to_be_bytes());
        hdr[4..].copy_from_slice(&id.to_be_bytes());
        put_attr(&mut self.out, NFQA_VERDICT_HDR, &hdr);
        self.send("send verdict")
    }
}

fn put_attr(out: &mut Vec<u8>, kind: u16, value: &[u8]) {
    let len = u16::try_from(4 + value.len()).unwrap_or(u16::MAX);
    out.extend_from_slice(&len.to_ne_bytes());
    out.extend_from_slice(&kind.to_ne_bytes());
    out.extend_from_slice(value);
    while !out.len().is_multiple_of(4) {
        out.push(0);
    }
}

fn u16_ne(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_ne_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

fn u32_ne(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_ne_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn u32_be(b: &[u8]) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(..4)?.try_into().ok()?))
}

/// The netlink message starting at `at`: (type, flags, seq, body after the netlink header, next offset).
fn next_msg(buf: &[u8], at: usize) -> Option<(u16, u16, u32, &[u8], usize)> {
    let len = usize::try_from(u32_ne(buf, at)?).ok()?;
    if len < NLMSG_HDRLEN || at.checked_add(len)? > buf.len() {
        return None;
    }
    let msg_type = u16_ne(buf, at + 4)?;
    let flags = u16_ne(buf, at + 6)?;
    let seq = u32_ne(buf, at + 8)?;
    let body = &buf[at + NLMSG_HDRLEN..at + len];
    Some((msg_type, flags, seq, body, at + ((len + 3) & !3)))
}

/// Parses one datagram from the queue socket (the kernel sends one packet per datagram).
pub(crate) fn parse_datagram(buf: &[u8]) -> Received<'_> {
    let Some((msg_type, _flags, _seq, body, _next)) = next_msg(buf, 0) else {
        return Received::Other;
    };
    if msg_type == NLMSG_ERROR {
        return Received::Error(
            body.get(..4)
                .map_or(0, |b| i32::from_ne_bytes([b[0], b[1], b[2], b[3]])),
        );
    }
    if msg_type == NLMSG_DONE || msg_type < NLMSG_MIN_TYPE {
        return Received::Other;
    }
    if msg_type != ((NFNL_SUBSYS_QUEUE << 8) | NFQNL_MSG_PACKET) || body.len() < NFGEN_HDRLEN {
        return Received::Other;
    }
    let mut id = None;
    let mut pkt = QueuedPacket {
        id: 0,
        indev: 0,
        outdev: 0,
        mark: 0,
        original_len: 0,
        payload: &[],
    };
    let mut at = NFGEN_HDRLEN;
    while let Some(len) = u16_ne(body, at).map(usize::from) {
        let Some(kind) = u16_ne(body, at + 2) else { break };
        if len < 4 || at + len > body.len() {
            break;
        }
        let value = &body[at + 4..at + len];
        // Mask NLA_F_NESTED / NLA_F_NET_BYTEORDER.
        match kind & 0x3fff {
            NFQA_PACKET_HDR => id = u32_be(value),
            NFQA_MARK => pkt.mark = u32_be(value).unwrap_or(0),
            NFQA_IFINDEX_INDEV => pkt.indev = u32_be(value).unwrap_or(0),
            NFQA_IFINDEX_OUTDEV => pkt.outdev = u32_be(value).unwrap_or(0),
            NFQA_PAYLOAD => pkt.payload = value,
            NFQA_CAP_LEN => pkt.original_len = u32_be(value).map_or(0, |v| v as usize),
            _ => {}
        }
        at += (len + 3) & !3;
    }
    match id {
        Some(id) => {
            pkt.id = id;
            if pkt.original_len == 0 {
                pkt.original_len = pkt.payload.len();
            }
            Received::Packet(pkt)
        }
        None => Received::Other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn packet_msg(id: u32, indev: u32, outdev: u32, payload: &[u8]) -> Vec<u8> {
        let mut m = Vec::new();
        m.extend_from_slice(&0u32.to_ne_bytes());
        m.extend_from_slice(&((NFNL_SUBSYS_QUEUE << 8) | NFQNL_MSG_PACKET).to_ne_bytes());
        m.extend_from_slice(&[0; 10]);
        m.extend_from_slice(&[2, 0, 0, 7]);
        let mut hdr = id.to_be_bytes().to_vec();
        hdr.extend_from_slice(&[0x08, 0x00, 2]);
        put_attr(&mut m, NFQA_PACKET_HDR, &hdr);
        put_attr(&mut m, NFQA_IFINDEX_INDEV, &indev.to_be_bytes());
        put_attr(&mut m, NFQA_IFINDEX_OUTDEV, &outdev.to_be_bytes());
        put_attr(&mut m, NFQA_PAYLOAD, payload);
        let len = m.len() as u32;
        m[..4].copy_from_slice(&len.to_ne_bytes());
        m
    }

    #[test]
    fn parses_a_packet_message() {
        let m = packet_msg(77, 3, 4, &[0x45, 1, 2, 3, 4]);
        match parse_datagram(&m) {
            Received::Packet(p) => {
                assert_eq!((p.id, p.indev, p.outdev), (77, 3, 4));
                assert_eq!(p.payload, &[0x45, 1, 2, 3, 4]);
                assert_eq!(p.original_len, 5);
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn truncated_and_garbage_datagrams_are_not_packets() {
        let m = packet_msg(1, 1, 2, &[1, 2, 3, 4, 5, 6, 7, 8]);
        for cut in 0..m.len() {
            // A cut message is either rejected or parsed from what is present; never a panic.
            let _ = parse_datagram(&m[..cut]);
        }
        assert!(matches!(parse_datagram(&[0xff; 40]), Received::Other));
        // An attribute whose length overruns the message ends parsing: no packet header, no packet.
        let mut bad = packet_msg(1, 1, 2, &[]);
        let at = NLMSG_HDRLEN + NFGEN_HDRLEN;
        bad[at..at + 2].copy_from_slice(&0xfff0u16.to_ne_bytes());
        assert!(matches!(parse_datagram(&bad), Received::Other));
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_datagrams_never_panic(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..512)) {
            let _ = parse_datagram(&bytes);
        }

        #[test]
        fn corrupted_packet_messages_never_panic(pos in 0usize..64, val in proptest::num::u8::ANY) {
            let mut m = packet_msg(9, 1, 2, &[0x45; 24]);
            let at = pos % m.len();
            m[at] = val;
            if let Received::Packet(p) = parse_datagram(&m) {
                proptest::prop_assert!(p.payload.len() <= m.len());
            }
        }
    }

    #[test]
    fn error_messages_carry_the_errno() {
        let mut m = Vec::new();
        m.extend_from_slice(&36u32.to_ne_bytes());
        m.extend_from_slice(&NLMSG_ERROR.to_ne_bytes());
        m.extend_from_slice(&[0; 10]);
        m.extend_from_slice(&(-2i32).to_ne_bytes());
        m.extend_from_slice(&[0; 16]);
        assert!(matches!(parse_datagram(&m), Received::Error(-2)));
    }
}
