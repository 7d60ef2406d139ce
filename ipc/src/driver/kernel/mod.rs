//! Kernel SCTP backend: the kernel runs SCTP (with real multi-homing); this module sets it up from the
//! IOS knobs and carries envelopes over a one-to-one (`SOCK_STREAM`) socket.
//!
//! * `local-ip A [B]`: bind A, then `SCTP_SOCKOPT_BINDX_ADD` B; `remote-ip X [Y]`: `SCTP_SOCKOPT_CONNECTX`.
//! * `retransmit-timeout MIN MAX` → `SCTP_RTOINFO`; `path-retransmit` (+ heartbeat interval) →
//!   `SCTP_PEER_ADDR_PARAMS` (set first); `assoc-retransmit` → `SCTP_ASSOCINFO`.
//! * Events: `SCTP_EVENT` for association, address and shutdown changes.
//! * Roles: with one-to-one sockets an INIT collision would leave two associations, so the side with the
//!   lower primary local address connects and the other listens. The connecting side retries with the
//!   same backoff as the userspace backend (from `rto_min`, doubling, capped at `rto_max`).

pub(crate) mod sys;

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::os::fd::AsFd;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use socket2::{Domain, Protocol, Socket, Type};
use timebase::Instant;
use tokio::io::unix::AsyncFd;
use tokio::sync::mpsc;

use super::{Command, Commands, Shared, deliver, log_notice};
use crate::assoc::{DownReason, IpcEvent, Notice, PPID};
use crate::config::AssociationConfig;
use crate::envelope::{MAX_ENVELOPE_LEN, MAX_PAYLOAD_LEN, MessageKind, STREAM_COUNT};
use crate::session::{Session, SessionOutput};
use crate::status::{AssociationStats, AssociationStatus, PathStatus};
use sys::Received;

/// A notification from the kernel, decoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Notification {
    AssocChange { state: u16 },
    PeerAddrChange { addr: Option<IpAddr>, state: i32 },
    Shutdown,
    Other(u16),
}

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_ne_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

fn i32_at(b: &[u8], at: usize) -> Option<i32> {
    Some(i32::from_ne_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

/// Decodes a kernel notification (`sctp_notification` union) from its bytes.
pub(crate) fn parse_notification(b: &[u8]) -> Option<Notification> {
    let kind = u16_at(b, 0)?;
    Some(match kind {
        sys::SCTP_ASSOC_CHANGE => Notification::AssocChange {
            state: u16_at(b, sys::SAC_STATE_OFFSET)?,
        },
        sys::SCTP_PEER_ADDR_CHANGE => {
            let a = b.get(sys::SPC_AADDR_OFFSET..sys::SPC_AADDR_OFFSET + 128)?;
            let family = i32::from(u16_at(a, 0)?);
            let addr = if family == libc::AF_INET {
                a.get(4..8)
                    .and_then(|x| <[u8; 4]>::try_from(x).ok())
                    .map(IpAddr::from)
            } else if family == libc::AF_INET6 {
                a.get(8..24)
                    .and_then(|x| <[u8; 16]>::try_from(x).ok())
                    .map(IpAddr::from)
            } else {
                None
            };
            Notification::PeerAddrChange {
                addr,
                state: i32_at(b, sys::SPC_STATE_OFFSET)?,
            }
        }
        sys::SCTP_SHUTDOWN_EVENT => Notification::Shutdown,
        other => Notification::Other(other),
    })
}

fn domain(ip: IpAddr) -> Domain {
    if ip.is_ipv4() { Domain::IPV4 } else { Domain::IPV6 }
}

/// Creates a kernel SCTP socket with the association's options, bound to the local addresses.
pub(crate) fn configured_socket(cfg: &AssociationConfig) -> io::Result<Socket> {
    let first = *cfg
        .local_ips
        .first()
        .ok_or_else(|| io::Error::other("no local address"))?;
    let s = Socket::new(domain(first), Type::STREAM, Some(Protocol::SCTP))?;
    s.set_reuse_address(true)?;
    let fd = s.as_fd();
    // Per-path parameters first: the kernel checks assoc-retransmit against the sum of the paths'.
    let params = sys::SctpPaddrparams {
        spp_hbinterval: u32::try_from(cfg.heartbeat_interval().as_millis()).unwrap_or(u32::MAX),
        spp_pathmaxrxt: u16::from(cfg.path_retransmit),
        spp_flags: sys::SPP_HB_ENABLE,
        ..sys::SctpPaddrparams::default()
    };
    sys::setsockopt(fd, sys::SCTP_PEER_ADDR_PARAMS, &params)?;
    let rto = sys::SctpRtoinfo {
        srto_assoc_id: 0,
        srto_initial: cfg.rto_min_ms,
        srto_max: cfg.rto_max_ms,
        srto_min: cfg.rto_min_ms,
    };
    sys::setsockopt(fd, sys::SCTP_RTOINFO, &rto)?;
    let assoc = sys::SctpAssocparams {
        sasoc_asocmaxrxt: u16::from(cfg.assoc_retransmit),
        ..Default::default()
    };
    sys::setsockopt(fd, sys::SCTP_ASSOCINFO, &assoc)?;
    let init = sys::SctpInitmsg {
        sinit_num_ostreams: STREAM_COUNT,
        sinit_max_instreams: STREAM_COUNT,
        sinit_max_attempts: u16::from(cfg.assoc_retransmit),
        sinit_max_init_timeo: u16::try_from(cfg.rto_max_ms).unwrap_or(u16::MAX),
    };
    sys::setsockopt(fd, sys::SCTP_INITMSG, &init)?;
    sys::setsockopt(fd, sys::SCTP_NODELAY, &1i32)?;
    sys::setsockopt(fd, sys::SCTP_RECVRCVINFO, &1i32)?;
    for kind in [
        sys::SCTP_ASSOC_CHANGE,
        sys::SCTP_PEER_ADDR_CHANGE,
        sys::SCTP_SHUTDOWN_EVENT,
    ] {
        sys::setsockopt(
            fd,
            sys::SCTP_EVENT,
            &sys::SctpEvent {
                se_assoc_id: 0,
                se_type: kind,
                se_on: 1,
            },
        )?;
    }
    s.bind(&SocketAddr::new(first, cfg.local_port).into())?;
    if cfg.local_ips.len() > 1 {
        sys::setsockopt_bytes(
            fd,
            sys::SCTP_SOCKOPT_BINDX_ADD,
            &sys::pack_addrs(&cfg.local_ips[1..], cfg.local_port),
        )?;
    }
    s.set_nonblocking(true)?;
    Ok(s)
}

/// Connects to the peer's addresses; resolves when the association is up.
async fn connect(cfg: &AssociationConfig) -> io::Result<AsyncFd<Socket>> {
    let s = configured_socket(cfg)?;
    match sys::setsockopt_bytes(
        s.as_fd(),
        sys::SCTP_SOCKOPT_CONNECTX,
        &sys::pack_addrs(&cfg.remote_ips, cfg.remote_port),
    ) {
        Ok(_) => {}
        Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => {}
        Err(e) => return Err(e),
    }
    let fd = sys::register(s)?;
    let mut guard = fd.writable().await?;
    guard.clear_ready();
    drop(guard);
    if let Some(e) = fd.get_ref().take_error()? {
        return Err(e);
    }
    Ok(fd)
}

/// The association's bookkeeping on the kernel backend.
struct KernelAssoc {
    cfg: AssociationConfig,
    session: Session,
    stats: AssociationStats,
    connected: bool,
    up: bool,
    ups: u64,
    downs: u64,
    restarts: u64,
    last_peer_boot: Option<u64>,
    restart_pending: bool,
    auth_noticed: bool,
    last_down_reason: Option<DownReason>,
    last_change: Option<Instant>,
    reachable: Vec<bool>,
    primary: usize,
    path_switches: u64,
    epoch: std::time::Instant,
    out: Vec<IpcEvent>,
    notices: Vec<Notice>,
}

impl KernelAssoc {
    fn now(&self) -> Instant {
        Instant::from_micros(u64::try_from(self.epoch.elapsed().as_micros()).unwrap_or(u64::MAX))
    }

    fn on_connected(&mut self, conn: &AsyncFd<Socket>, restarted: bool) {
        self.connected = true;
        self.session.reset();
        self.auth_noticed = false;
        self.reachable = vec![true; self.cfg.path_count()];
        if restarted {
            self.restart_pending = true;
            if self.up {
                self.go_down(DownReason::PeerRestarted);
            }
        }
        let (stream, hello) = self.session.hello();
        match sys::send_message(conn.get_ref().as_fd(), stream, PPID, &hello) {
            Ok(_) => self.stats.kind(MessageKind::HELLO).xmit += 1,
            Err(_) => self.stats.kind(MessageKind::HELLO).xerr += 1,
        }
        self.notices.push(Notice::SctpEstablished);
    }

    /// Sends a sealed message; hands it back when the socket buffer is full.
    fn transmit(&mut self, conn: &AsyncFd<Socket>, m: Stalled) -> Option<Stalled> {
        match sys::send_message(conn.get_ref().as_fd(), m.stream, PPID, &m.bytes) {
            Ok(_) => {
                self.stats.msgs_sent += 1;
                self.stats.bytes_sent += m.len as u64;
                self.stats.packets_sent += 1;
                self.stats.kind(m.kind).xmit += 1;
                None
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Some(m),
            Err(_) => {
                // The association is failing; the notification that follows reports it.
                self.stats.drop_not_up += 1;
                self.stats.kind(m.kind).xerr += 1;
                None
            }
        }
    }

    fn go_down(&mut self, reason: DownReason) {
        self.up = false;
        self.downs += 1;
        self.last_change = Some(self.now());
        self.last_down_reason = Some(reason.clone());
        self.out.push(IpcEvent::Down { reason });
    }

    fn on_lost(&mut self, reason: DownReason) {
        self.connected = false;
        self.session.reset();
        if self.up {
            self.go_down(reason);
        }
    }

    fn on_data(&mut self, stream: u16, bytes: Vec<u8>) {
        self.stats.packets_received += 1;
        let mut outs = Vec::new();
        self.session.open(stream, bytes, &mut self.stats, &mut outs);
        for o in outs {
            match o {
                SessionOutput::Deliver {
                    client,
                    kind,
                    payload,
                } => {
                    if self.up {
                        self.out.push(IpcEvent::Message {
                            client,
                            kind,
                            payload,
                        });
                    } else {
                        self.stats.drop_before_hello += 1;
                    }
                }
                SessionOutput::PeerVerified { boot_id } => {
                    if !self.up {
                        let peer_restarted =
                            self.restart_pending || self.last_peer_boot.is_some_and(|b| b != boot_id);
                        self.restarts += u64::from(peer_restarted);
                        self.restart_pending = false;
                        self.last_peer_boot = Some(boot_id);
                        self.up = true;
                        self.ups += 1;
                        self.last_change = Some(self.now());
                        self.out.push(IpcEvent::Up { peer_restarted });
                    }
                }
                SessionOutput::AuthFailed(e) => {
                    if !self.auth_noticed {
                        self.auth_noticed = true;
                        self.notices.push(Notice::AuthFailure(e));
                    }
                }
                SessionOutput::Decode(e) => self.notices.push(Notice::DecodeFailure(e)),
            }
        }
    }

    fn on_peer_addr(&mut self, addr: Option<IpAddr>, state: i32) {
        let Some(i) = addr.and_then(|a| self.cfg.remote_ips.iter().position(|r| *r == a)) else {
            return;
        };
        match state {
            sys::SCTP_ADDR_AVAILABLE => self.reachable[i] = true,
            sys::SCTP_ADDR_UNREACHABLE | sys::SCTP_ADDR_POTENTIALLY_FAILED => self.reachable[i] = false,
            sys::SCTP_ADDR_MADE_PRIM => {}
            _ => return,
        }
        let want = (0..self.reachable.len())
            .find(|&p| self.reachable[p])
            .unwrap_or(self.primary);
        if state == sys::SCTP_ADDR_MADE_PRIM || want != self.primary {
            let to = if state == sys::SCTP_ADDR_MADE_PRIM {
                i
            } else {
                want
            };
            if to != self.primary {
                self.notices.push(Notice::PathSwitch {
                    from: self.primary,
                    to,
                });
                self.primary = to;
            }
        }
    }

    fn status(&self, listening: bool) -> AssociationStatus {
        let paths: Vec<PathStatus> = self
            .cfg
            .local_ips
            .iter()
            .zip(&self.cfg.remote_ips)
            .enumerate()
            .map(|(i, (l, r))| PathStatus {
                local_ip: *l,
                remote_ip: *r,
                state: if i == self.primary {
                    "ACTIVE"
                } else if self.reachable.get(i).copied().unwrap_or(true) {
                    "STANDBY"
                } else {
                    "FAILED"
                }
                .to_string(),
                failures: 0,
            })
            .collect();
        let primary_path = paths
            .get(self.primary)
            .map(|p| format!("{} -> {}", p.local_ip, p.remote_ip))
            .unwrap_or_default();
        let now = self.now();
        AssociationStatus {
            assoc_id: 1,
            state: if self.connected {
                "ESTABLISHED"
            } else if listening {
                "CLOSED"
            } else {
                "COOKIE_WAIT"
            }
            .to_string(),
            up: self.up,
            transport: "kernel".into(),
            local_port: self.cfg.local_port,
            remote_port: self.cfg.remote_port,
            local_ips: self.cfg.local_ips.clone(),
            remote_ips: self.cfg.remote_ips.clone(),
            primary_path,
            paths,
            path_switches: self.path_switches,
            rto_min_ms: self.cfg.rto_min_ms,
            rto_max_ms: self.cfg.rto_max_ms,
            path_retransmit: self.cfg.path_retransmit,
            assoc_retransmit: self.cfg.assoc_retransmit,
            heartbeat_interval_ms: u32::try_from(self.cfg.heartbeat_interval().as_millis())
                .unwrap_or(u32::MAX),
            detection_bound_ms: self.cfg.busy_detection_bound().as_millis()
                + self.cfg.heartbeat_interval().as_millis(),
            srtt_us: None,
            authentication: self.session.is_keyed(),
            restarts: self.restarts,
            ups: self.ups,
            downs: self.downs,
            last_down_reason: self.last_down_reason.as_ref().map(ToString::to_string),
            since_change_ms: self.last_change.map(|t| now.saturating_since(t).as_millis()),
            stats: self.stats.clone(),
        }
    }
}

/// What woke the serving loop.
enum Wake {
    Stop,
    Readable,
    Accept,
    Command(Option<Command>),
    Writable,
    Tick,
}

/// A sealed message the socket could not take yet.
struct Stalled {
    stream: u16,
    bytes: Vec<u8>,
    kind: MessageKind,
    len: usize,
}

/// Runs the association on kernel SCTP until shutdown.
pub(crate) async fn run(
    cfg: AssociationConfig,
    boot_id: u64,
    mut commands: Commands,
    events: mpsc::Sender<IpcEvent>,
    shared: Arc<Shared>,
) {
    let remote = cfg
        .remote_ips
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(",");
    let (local0, remote0) = (cfg.local_ips[0], cfg.remote_ips[0]);
    let initiator = local0 < remote0;
    tracing::info!(target: "syslog", "%IPC-6-TRANSPORT: Association 1 uses the kernel transport ({})",
        if initiator { "connecting" } else { "listening" });
    let mut k = KernelAssoc {
        session: Session::new(cfg.security_key.as_deref(), boot_id),
        stats: AssociationStats::default(),
        connected: false,
        up: false,
        ups: 0,
        downs: 0,
        restarts: 0,
        last_peer_boot: None,
        restart_pending: false,
        auth_noticed: false,
        last_down_reason: None,
        last_change: None,
        reachable: vec![true; cfg.path_count()],
        primary: 0,
        path_switches: 0,
        epoch: std::time::Instant::now(),
        out: Vec::new(),
        notices: Vec::new(),
        cfg: cfg.clone(),
    };
    let listener = if initiator {
        None
    } else {
        match configured_socket(&cfg)
            .and_then(|s| s.listen(4).map(|()| s))
            .and_then(sys::register)
        {
            Ok(l) => Some(l),
            Err(e) => {
                tracing::error!(target: "syslog", "%IPC-3-TRANSPORT_FAIL: Association 1: kernel SCTP listen failed: {e}");
                return;
            }
        }
    };
    let mut backoff = cfg.rto_min();
    let mut rx_blocked = false;
    let mut stalled: Option<Stalled> = None;
    let mut conn: Option<AsyncFd<Socket>> = None;
    let mut refresh = tokio::time::interval(super::STATUS_REFRESH);
    let mut buf = vec![0u8; MAX_ENVELOPE_LEN + 1];
    let publish = |k: &KernelAssoc| {
        if let Ok(mut slot) = shared.status.lock() {
            *slot = k.status(!initiator);
        }
    };
    publish(&k);
    loop {
        if shared.stop.load(Ordering::Acquire) {
            break;
        }
        // The initiator (re)connects when it has no association.
        if initiator && conn.is_none() {
            tracing::debug!(target: "debug.sctp", "SCTP: connecting to {remote}");
            match tokio::select! {
                () = shared.stop_notify.notified() => break,
                r = connect(&cfg) => r,
            } {
                Ok(c) => {
                    backoff = cfg.rto_min();
                    k.on_connected(&c, false);
                    conn = Some(c);
                }
                Err(e) => {
                    tracing::debug!(target: "debug.sctp", "SCTP: connect failed: {e}; retry in {} ms", backoff.as_millis());
                    tokio::select! {
                        () = shared.stop_notify.notified() => break,
                        () = tokio::time::sleep(backoff.to_std()) => {}
                    }
                    let doubled = backoff.saturating_mul(2);
                    backoff = if doubled > cfg.rto_max() {
                        cfg.rto_max()
                    } else {
                        doubled
                    };
                    continue;
                }
            }
        }
        let wake = tokio::select! {
            biased;
            () = shared.stop_notify.notified() => Wake::Stop,
            r = async { match &conn { Some(c) => c.readable().await.map(|mut g| g.clear_ready()), None => std::future::pending().await } } => {
                let _ = r;
                Wake::Readable
            }
            r = async { match &listener { Some(l) => l.readable().await.map(|mut g| g.clear_ready()), None => std::future::pending().await } } => {
                let _ = r;
                Wake::Accept
            }
            permit = events.reserve(), if rx_blocked => {
                drop(permit);
                Wake::Readable
            }
            c = commands.recv(), if stalled.is_none() => Wake::Command(c),
            r = async { match &conn { Some(c) => c.writable().await.map(|mut g| g.clear_ready()), None => std::future::pending().await } }, if stalled.is_some() => {
                let _ = r;
                Wake::Writable
            }
            _ = refresh.tick() => Wake::Tick,
        };
        match wake {
            Wake::Stop | Wake::Command(None) => break,
            Wake::Tick => publish(&k),
            Wake::Accept => {
                if let Some(l) = &listener {
                    while let Ok((s, from)) = l.get_ref().accept() {
                        tracing::debug!(target: "debug.sctp", "SCTP: accepted association from {:?}", from.as_socket());
                        let restarted = conn.is_some();
                        if s.set_nonblocking(true).is_err() {
                            continue;
                        }
                        let Ok(c) = sys::register(s) else { continue };
                        k.on_connected(&c, restarted);
                        conn = Some(c);
                    }
                }
            }
            Wake::Readable => {
                let mut lost = None;
                rx_blocked = false;
                if let Some(c) = &conn {
                    loop {
                        // A slow client: leave messages in the socket (the kernel closes the window).
                        if events.capacity() <= k.out.len() {
                            rx_blocked = true;
                            break;
                        }
                        match sys::recv_message(c.get_ref().as_fd(), &mut buf) {
                            Ok(Received::Data { stream, bytes }) => k.on_data(stream, bytes),
                            Ok(Received::Notification(n)) => match parse_notification(&n) {
                                Some(Notification::AssocChange {
                                    state: sys::SCTP_COMM_LOST,
                                }) => {
                                    lost = Some(DownReason::RetransmitLimit);
                                }
                                Some(Notification::AssocChange {
                                    state: sys::SCTP_RESTART,
                                }) => k.on_connected(c, true),
                                Some(Notification::AssocChange {
                                    state: sys::SCTP_SHUTDOWN_COMP,
                                })
                                | Some(Notification::Shutdown) => {
                                    lost = Some(DownReason::PeerShutdown);
                                }
                                Some(Notification::PeerAddrChange { addr, state }) => {
                                    k.on_peer_addr(addr, state)
                                }
                                _ => {}
                            },
                            Ok(Received::Closed) => {
                                lost.get_or_insert(DownReason::PeerShutdown);
                                break;
                            }
                            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                            Err(e) => {
                                lost.get_or_insert_with(|| DownReason::Protocol(e.to_string()));
                                break;
                            }
                        }
                    }
                }
                if let Some(reason) = lost {
                    k.on_lost(reason);
                    conn = None;
                    if let Some(m) = stalled.take() {
                        k.stats.drop_not_up += 1;
                        k.stats.kind(m.kind).xerr += 1;
                    }
                }
            }
            Wake::Command(Some(cmd)) => {
                let mut next = Some(cmd);
                while let Some(cmd) = next.take() {
                    match cmd {
                        Command::Status(reply) => {
                            let _ = reply.send(k.status(!initiator));
                        }
                        Command::Send {
                            client,
                            kind,
                            payload,
                        } => {
                            let len = payload.len();
                            match (&conn, k.up && len <= MAX_PAYLOAD_LEN) {
                                (Some(c), true) => {
                                    let (stream, bytes) = k.session.seal(client, kind, payload);
                                    stalled = k.transmit(
                                        c,
                                        Stalled {
                                            stream,
                                            bytes,
                                            kind,
                                            len,
                                        },
                                    );
                                    if stalled.is_some() {
                                        // The socket is full: stop taking commands until it drains,
                                        // so the handles see QueueFull instead of losing messages.
                                        break;
                                    }
                                }
                                _ => {
                                    k.stats.drop_not_up += 1;
                                    k.stats.kind(kind).xerr += 1;
                                }
                            }
                        }
                    }
                    next = commands.try_recv();
                }
            }
            Wake::Writable => {
                if let (Some(c), Some(m)) = (&conn, stalled.take()) {
                    stalled = k.transmit(c, m);
                }
            }
        }
        let changed = !k.out.is_empty();
        for n in std::mem::take(&mut k.notices) {
            log_notice(n, &cfg, &remote);
        }
        for ev in std::mem::take(&mut k.out) {
            deliver(&events, &shared, ev, &remote, "kernel").await;
        }
        if changed {
            publish(&k);
        }
    }
    if let Some(c) = conn {
        // Abortive close (SO_LINGER 0) so the peer notices at once.
        let _ = c.get_ref().set_linger(Some(std::time::Duration::ZERO));
    }
    if k.up {
        k.go_down(DownReason::LocalShutdown);
        for ev in std::mem::take(&mut k.out) {
            deliver(&events, &shared, ev, &remote, "kernel").await;
        }
    }
    shared.up.store(false, Ordering::Release);
    publish(&k);
}

/// Whether the kernel backend is compiled in.
pub(crate) const BACKEND_READY: bool = true;

#[cfg(test)]
mod tests;
