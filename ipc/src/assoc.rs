//! The sans-IO association: userspace SCTP (dcsctp) + message session + path selection + reconnection.
//!
//! Inputs: [`Association::handle_packet`] (an SCTP packet that arrived on address pair `path`),
//! [`Association::handle_timeout`], [`Association::send`]. Outputs: [`Association::poll_action`]
//! (packets to transmit on a pair, events for the clients, notices for the log) and
//! [`Association::poll_timeout`]. Time is a [`timebase::Instant`] argument, so the same code runs in
//! the daemon and in virtual-time simulations.
//!
//! Both sides connect (SCTP handles the simultaneous open); when an attempt or the association fails,
//! the side waits a backoff (from `rto_min`, doubling, capped at `rto_max`) and connects again, while
//! still accepting the peer's INIT at any time. After SCTP is up each side sends a hello carrying its
//! boot id; the association is reported [`IpcEvent::Up`] only when the peer's hello verified, so a peer
//! with a wrong key never gets a message delivered.

use std::collections::VecDeque;
use std::fmt;

use dcsctp::api::{
    DcSctpSocket, ErrorKind, Message, Options, PpId, SendOptions, SocketEvent, SocketState, SocketTime,
    StreamId,
};
use serde::{Deserialize, Serialize};
use timebase::{Duration, Instant};

use crate::config::AssociationConfig;
use crate::envelope::{ClientId, MAX_ENVELOPE_LEN, MessageKind, STREAM_COUNT};
use crate::error::{AuthError, DecodeError};
use crate::path::{PathManager, build_probe, parse_probe};
use crate::session::{Session, SessionOutput};
use crate::status::{AssociationStats, AssociationStatus, PathStatus};

mod send;

/// SCTP payload protocol identifier of the envelope ("IHIP").
pub const PPID: u32 = 0x4948_4950;
/// Delayed-ACK ceiling used on the LAN between the routers.
pub const DELAYED_ACK_MS: u64 = 20;

/// Why the association went down.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DownReason {
    /// `assoc-retransmit` consecutive retransmissions or heartbeats went unanswered.
    RetransmitLimit,
    /// The peer aborted the association.
    PeerAborted(String),
    /// The peer shut the association down.
    PeerShutdown,
    /// The peer restarted (a new SCTP association replaced the old one).
    PeerRestarted,
    /// A protocol error ended the association.
    Protocol(String),
    /// This side shut the association down.
    LocalShutdown,
}

impl fmt::Display for DownReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::RetransmitLimit => f.write_str("retransmission limit reached, peer not responding"),
            Self::PeerAborted(why) => write!(f, "aborted by peer ({why})"),
            Self::PeerShutdown => f.write_str("shut down by peer"),
            Self::PeerRestarted => f.write_str("peer restarted"),
            Self::Protocol(why) => write!(f, "protocol error ({why})"),
            Self::LocalShutdown => f.write_str("shut down locally"),
        }
    }
}

/// What the association reports to its clients.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum IpcEvent {
    /// The peer is reachable and authenticated; messages flow.
    Up {
        /// The peer restarted since it was last seen (its state is gone: resync).
        peer_restarted: bool,
    },
    /// The association is down; sends fail until the next `Up`.
    Down {
        /// Why.
        reason: DownReason,
    },
    /// A verified message from the peer.
    Message {
        /// Sending client.
        client: ClientId,
        /// Message kind.
        kind: MessageKind,
        /// The client's bytes.
        payload: Vec<u8>,
    },
}

/// Things worth a log line (the driver turns them into syslog or debug output).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Notice {
    /// The first refused message of an incarnation (later ones are only counted).
    AuthFailure(AuthError),
    /// A message could not be decoded.
    DecodeFailure(DecodeError),
    /// Traffic moved to another address pair.
    PathSwitch {
        /// Previous pair index.
        from: usize,
        /// New pair index.
        to: usize,
    },
    /// SCTP association established (before the hello check).
    SctpEstablished,
    /// A connection attempt started.
    Connecting,
    /// A connection attempt failed; the next one is after the backoff.
    ConnectFailed {
        /// Backoff before the next attempt.
        retry_in: Duration,
    },
    /// A non-fatal error reported by the SCTP stack.
    SctpError(String),
}

/// An output of the association.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Send this SCTP packet on address pair `path`.
    Transmit {
        /// Address pair index (0 = primary).
        path: usize,
        /// A complete SCTP packet.
        packet: Vec<u8>,
    },
    /// Report to the clients.
    Event(IpcEvent),
    /// Log.
    Notice(Notice),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    Idle,
    Connecting,
    Established,
    Backoff { until: Instant },
    Stopped,
}

fn socket_time(now: Instant) -> SocketTime {
    SocketTime::zero() + now.saturating_since(Instant::ZERO).to_std()
}

/// The SCTP stack's deadline (nanoseconds) as an [`Instant`] (microseconds), rounded **up**: at the
/// returned instant the stack's timer is due, so `handle_timeout(poll_timeout())` always makes progress
/// (truncating would report an instant at which nothing is due yet, and a virtual clock would spin there).
fn from_socket_time(t: SocketTime) -> Option<Instant> {
    let d = t - SocketTime::zero();
    u64::try_from(d.as_nanos().div_ceil(1_000))
        .ok()
        .filter(|&us| us < u64::MAX / 2)
        .map(Instant::from_micros)
}

/// dcsctp options for the IOS knobs.
pub fn sctp_options(cfg: &AssociationConfig) -> Options {
    let ms = |v: u64| std::time::Duration::from_millis(v);
    let mut o = Options {
        local_port: cfg.local_port,
        remote_port: cfg.remote_port,
        announced_maximum_incoming_streams: STREAM_COUNT,
        announced_maximum_outgoing_streams: STREAM_COUNT,
        mtu: usize::from(cfg.mtu),
        max_message_size: MAX_ENVELOPE_LEN,
        max_send_buffer_size: cfg.send_queue_bytes,
        per_stream_send_queue_limit: cfg.send_queue_bytes,
        total_buffered_amount_low_threshold: cfg.send_queue_bytes / 2,
        ..Options::default()
    };
    o.rto_min = ms(cfg.rto_min_ms.into());
    o.rto_max = ms(cfg.rto_max_ms.into());
    o.rto_initial = ms(cfg.rto_min_ms.into());
    o.max_timer_backoff_duration = Some(ms(cfg.rto_max_ms.into()));
    o.t1_init_timeout = ms(cfg.rto_min_ms.into());
    o.t1_cookie_timeout = ms(cfg.rto_min_ms.into());
    o.t2_shutdown_timeout = ms(cfg.rto_min_ms.into());
    o.heartbeat_interval = cfg.heartbeat_interval().to_std();
    o.heartbeat_interval_include_rtt = false;
    o.delayed_ack_max_timeout = ms(DELAYED_ACK_MS);
    o.min_rtt_variance = ms(DELAYED_ACK_MS);
    o.max_retransmissions = Some(u32::from(cfg.assoc_retransmit));
    // One INIT (or COOKIE ECHO) per attempt: the association's own backoff paces the attempts, so
    // a peer that comes back is found within `rto_min + rto_max`.
    o.max_init_retransmits = Some(0);
    o
}

/// One IPC association (sans-IO).
pub struct Association {
    cfg: AssociationConfig,
    sctp: Box<dyn DcSctpSocket>,
    phase: Phase,
    backoff: Duration,
    session: Session,
    paths: PathManager,
    up: bool,
    last_peer_boot: Option<u64>,
    restart_pending: bool,
    auth_noticed: bool,
    actions: VecDeque<Action>,
    stats: AssociationStats,
    transport: String,
    restarts: u64,
    ups: u64,
    downs: u64,
    last_change: Option<Instant>,
    last_down_reason: Option<DownReason>,
    rtx_base: u64,
    rtx_current: u64,
    now: Instant,
    fresh_socket_needed: bool,
}

impl fmt::Debug for Association {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Association")
            .field("phase", &self.phase)
            .field("up", &self.up)
            .finish()
    }
}

impl Association {
    /// A new association; `boot_id` identifies this process lifetime (random, from the driver).
    pub fn new(cfg: AssociationConfig, boot_id: u64) -> Self {
        let sctp = dcsctp::new_socket("ipc-assoc-1", &sctp_options(&cfg));
        let session = Session::new(cfg.security_key.as_deref(), boot_id);
        let paths = PathManager::new(cfg.path_count(), cfg.rto_min(), cfg.path_retransmit);
        Self {
            backoff: cfg.rto_min(),
            sctp,
            phase: Phase::Idle,
            session,
            paths,
            up: false,
            last_peer_boot: None,
            restart_pending: false,
            auth_noticed: false,
            actions: VecDeque::new(),
            stats: AssociationStats::default(),
            transport: "memory".to_string(),
            restarts: 0,
            ups: 0,
            downs: 0,
            last_change: None,
            last_down_reason: None,
            rtx_base: 0,
            rtx_current: 0,
            now: Instant::ZERO,
            fresh_socket_needed: false,
            cfg,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &AssociationConfig {
        &self.cfg
    }

    /// Names the transport for `show` (set by the driver).
    pub fn set_transport_name(&mut self, name: &str) {
        self.transport = name.to_string();
    }

    /// Whether the association is up (peer verified).
    pub fn is_up(&self) -> bool {
        self.up
    }

    /// The address pair currently carrying traffic.
    pub fn active_path(&self) -> usize {
        self.paths.active()
    }

    /// Starts connecting.
    pub fn start(&mut self, now: Instant) {
        self.advance(now);
        if self.phase == Phase::Idle {
            self.connect();
            self.paths.start(now);
        }
        self.drain();
    }

    fn advance(&mut self, now: Instant) {
        if now > self.now {
            self.now = now;
        }
        self.sctp.advance_time(socket_time(self.now));
    }

    fn connect(&mut self) {
        self.phase = Phase::Connecting;
        self.actions.push_back(Action::Notice(Notice::Connecting));
        self.sctp.connect();
    }

    /// An SCTP packet (or path probe) arrived on address pair `path`.
    pub fn handle_packet(&mut self, now: Instant, path: usize, packet: &[u8]) {
        if self.phase == Phase::Stopped {
            return;
        }
        if packet.len() < 12 {
            self.stats.drop_foreign_packets += 1;
            return;
        }
        let src = u16::from_be_bytes([packet[0], packet[1]]);
        let dst = u16::from_be_bytes([packet[2], packet[3]]);
        if src != self.cfg.remote_port || dst != self.cfg.local_port {
            self.stats.drop_foreign_packets += 1;
            return;
        }
        self.advance(now);
        if let Some(probe) = parse_probe(packet) {
            if probe.reply {
                if let Some(sw) = self.paths.handle_reply(path, probe.seq) {
                    self.actions.push_back(Action::Notice(Notice::PathSwitch {
                        from: sw.from,
                        to: sw.to,
                    }));
                }
            } else {
                let reply = build_probe(self.cfg.local_port, self.cfg.remote_port, true, probe.seq, path);
                self.actions.push_back(Action::Transmit { path, packet: reply });
            }
            return;
        }
        self.stats.packets_received += 1;
        self.sctp.handle_input(packet);
        self.drain();
    }

    /// Time passed: fires due timers.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.advance(now);
        if let Phase::Backoff { until } = self.phase
            && now >= until
        {
            if self.sctp.state() == SocketState::Closed {
                self.connect();
            } else {
                self.phase = Phase::Connecting;
            }
        }
        if self.phase != Phase::Stopped {
            let mut probes = Vec::new();
            if let Some(sw) = self.paths.handle_timeout(now, &mut probes) {
                self.actions.push_back(Action::Notice(Notice::PathSwitch {
                    from: sw.from,
                    to: sw.to,
                }));
            }
            for (path, seq) in probes {
                let packet = build_probe(self.cfg.local_port, self.cfg.remote_port, false, seq, path);
                self.actions.push_back(Action::Transmit { path, packet });
            }
        }
        self.drain();
    }

    /// Closes the association (ABORT to the peer, so it notices at once) and stops reconnecting.
    pub fn shutdown(&mut self, now: Instant) {
        self.advance(now);
        self.sctp.close();
        self.drain();
        if self.up {
            self.go_down(DownReason::LocalShutdown);
        }
        self.phase = Phase::Stopped;
    }

    /// The next output, if any.
    pub fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    /// When [`Self::handle_timeout`] must be called next.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.phase == Phase::Stopped {
            return None;
        }
        let mut t = from_socket_time(self.sctp.poll_timeout());
        let mut consider = |c: Option<Instant>| {
            if let Some(c) = c {
                t = Some(t.map_or(c, |t| t.min(c)));
            }
        };
        if let Phase::Backoff { until } = self.phase {
            consider(Some(until));
        }
        consider(self.paths.poll_timeout());
        t
    }

    fn go_down(&mut self, reason: DownReason) {
        self.up = false;
        self.downs += 1;
        self.last_change = Some(self.now);
        self.last_down_reason = Some(reason.clone());
        self.actions.push_back(Action::Event(IpcEvent::Down { reason }));
    }

    fn on_closed(&mut self, reason: DownReason) {
        self.rtx_base += self.rtx_current;
        self.rtx_current = 0;
        self.session.reset();
        // A closed dcsctp socket keeps its stream sequence numbers; a peer that connects to it would wait
        // forever for the old numbers. Every incarnation gets a fresh socket.
        self.fresh_socket_needed = true;
        let was_connecting = !self.up;
        if self.up {
            self.go_down(reason);
        }
        if self.phase != Phase::Stopped {
            let retry_in = self.backoff;
            self.phase = Phase::Backoff {
                until: self.now + retry_in,
            };
            let doubled = self.backoff.saturating_mul(2);
            self.backoff = if doubled > self.cfg.rto_max() {
                self.cfg.rto_max()
            } else {
                doubled
            };
            if was_connecting {
                self.actions
                    .push_back(Action::Notice(Notice::ConnectFailed { retry_in }));
            }
        }
    }

    fn on_established(&mut self, restarted: bool) {
        if self.phase == Phase::Stopped {
            return;
        }
        self.phase = Phase::Established;
        self.backoff = self.cfg.rto_min();
        // The session was reset when the previous incarnation closed; the peer's hello may already have
        // arrived (DATA bundled before our COOKIE ACK was processed), so only a restart wipes it here.
        if restarted {
            self.session.reset();
        }
        self.auth_noticed = false;
        self.rtx_base += self.rtx_current;
        self.rtx_current = 0;
        if restarted {
            self.restart_pending = true;
            if self.up {
                self.go_down(DownReason::PeerRestarted);
            }
        }
        self.actions.push_back(Action::Notice(Notice::SctpEstablished));
        let (stream, hello) = self.session.hello();
        if self
            .sctp
            .send(
                Message::new(StreamId(stream), PpId(PPID), hello),
                &SendOptions::default(),
            )
            .is_ok()
        {
            self.stats.kind(MessageKind::HELLO).xmit += 1;
        } else {
            self.stats.kind(MessageKind::HELLO).xerr += 1;
        }
    }

    fn drain(&mut self) {
        loop {
            let mut progressed = false;
            while let Some(ev) = self.sctp.poll_event() {
                progressed = true;
                match ev {
                    SocketEvent::SendPacket(packet) => {
                        self.stats.packets_sent += 1;
                        let path = self.paths.active();
                        self.actions.push_back(Action::Transmit { path, packet });
                    }
                    SocketEvent::OnConnected() => self.on_established(false),
                    SocketEvent::OnConnectionRestarted() => self.on_established(true),
                    SocketEvent::OnAborted(kind, why) => {
                        let reason = match kind {
                            ErrorKind::TooManyRetries => DownReason::RetransmitLimit,
                            ErrorKind::PeerReported => DownReason::PeerAborted(why),
                            _ => DownReason::Protocol(why),
                        };
                        self.on_closed(reason);
                    }
                    SocketEvent::OnClosed() => self.on_closed(DownReason::PeerShutdown),
                    SocketEvent::OnError(_, why) => {
                        self.actions.push_back(Action::Notice(Notice::SctpError(why)));
                    }
                    _ => {}
                }
            }
            while let Some(msg) = self.sctp.get_next_message() {
                progressed = true;
                let mut outs = Vec::new();
                self.session
                    .open(msg.stream_id.0, msg.payload, &mut self.stats, &mut outs);
                for o in outs {
                    self.on_session_output(o);
                }
            }
            if self.fresh_socket_needed {
                self.fresh_socket_needed = false;
                self.sctp = dcsctp::new_socket("ipc-assoc-1", &sctp_options(&self.cfg));
                self.sctp.advance_time(socket_time(self.now));
                progressed = true;
            }
            if !progressed {
                break;
            }
        }
        if self.sctp.state() == SocketState::Connected
            && let Some(m) = self.sctp.get_metrics()
        {
            self.rtx_current = m.rtx_packets_count as u64;
        }
    }

    fn on_session_output(&mut self, o: SessionOutput) {
        match o {
            SessionOutput::Deliver {
                client,
                kind,
                payload,
            } => {
                if self.up {
                    self.actions.push_back(Action::Event(IpcEvent::Message {
                        client,
                        kind,
                        payload,
                    }));
                } else {
                    self.stats.drop_before_hello += 1;
                }
            }
            SessionOutput::PeerVerified { boot_id } => {
                if self.up {
                    return;
                }
                let peer_restarted =
                    self.restart_pending || self.last_peer_boot.is_some_and(|b| b != boot_id);
                if peer_restarted {
                    self.restarts += 1;
                }
                self.restart_pending = false;
                self.last_peer_boot = Some(boot_id);
                self.up = true;
                self.ups += 1;
                self.last_change = Some(self.now);
                self.actions
                    .push_back(Action::Event(IpcEvent::Up { peer_restarted }));
            }
            SessionOutput::AuthFailed(e) => {
                if !self.auth_noticed {
                    self.auth_noticed = true;
                    self.actions.push_back(Action::Notice(Notice::AuthFailure(e)));
                }
            }
            SessionOutput::Decode(e) => self.actions.push_back(Action::Notice(Notice::DecodeFailure(e))),
        }
    }

    /// Bytes the send queue can still take before sends fail with `QueueFull` (approximate: envelope
    /// headers count too). Drivers feed messages only while there is room, so nothing they accepted is
    /// dropped.
    pub fn send_room(&self) -> usize {
        let queued: usize = (0..STREAM_COUNT)
            .map(|s| self.sctp.buffered_amount(StreamId(s)))
            .sum();
        self.cfg.send_queue_bytes.saturating_sub(queued)
    }

    /// Counts packets the driver discarded before they reached the association (wrong source).
    pub fn count_foreign_packets(&mut self, n: u64) {
        self.stats.drop_foreign_packets += n;
    }

    /// Counters.
    pub fn stats(&self) -> &AssociationStats {
        &self.stats
    }

    /// Snapshot for `show`.
    pub fn status(&self, now: Instant) -> AssociationStatus {
        let state = match self.sctp.state() {
            SocketState::Closed => "CLOSED",
            SocketState::Connecting => "COOKIE_WAIT",
            SocketState::Connected => "ESTABLISHED",
            SocketState::ShuttingDown => "SHUTDOWN_PENDING",
        };
        let active = self.paths.active();
        let described = self.paths.describe();
        let paths = self
            .cfg
            .local_ips
            .iter()
            .zip(&self.cfg.remote_ips)
            .enumerate()
            .map(|(i, (l, r))| {
                let (word, failures) = described.get(i).copied().unwrap_or(("ACTIVE", 0));
                PathStatus {
                    local_ip: *l,
                    remote_ip: *r,
                    state: word.to_string(),
                    failures,
                }
            })
            .collect::<Vec<_>>();
        let primary_path = paths
            .get(active)
            .map(|p| format!("{} -> {}", p.local_ip, p.remote_ip))
            .unwrap_or_default();
        let mut stats = self.stats.clone();
        stats.retransmissions = self.rtx_base + self.rtx_current;
        let srtt_us = self
            .sctp
            .get_metrics()
            .and_then(|m| u64::try_from(m.srtt.as_micros()).ok());
        AssociationStatus {
            assoc_id: 1,
            state: state.to_string(),
            up: self.up,
            transport: self.transport.clone(),
            local_port: self.cfg.local_port,
            remote_port: self.cfg.remote_port,
            local_ips: self.cfg.local_ips.clone(),
            remote_ips: self.cfg.remote_ips.clone(),
            primary_path,
            paths,
            path_switches: self.paths.switches(),
            rto_min_ms: self.cfg.rto_min_ms,
            rto_max_ms: self.cfg.rto_max_ms,
            path_retransmit: self.cfg.path_retransmit,
            assoc_retransmit: self.cfg.assoc_retransmit,
            heartbeat_interval_ms: u32::try_from(self.cfg.heartbeat_interval().as_millis())
                .unwrap_or(u32::MAX),
            detection_bound_ms: self.cfg.idle_detection_bound().as_millis(),
            srtt_us,
            authentication: self.session.is_keyed(),
            restarts: self.restarts,
            ups: self.ups,
            downs: self.downs,
            last_down_reason: self.last_down_reason.as_ref().map(ToString::to_string),
            since_change_ms: self.last_change.map(|t| now.saturating_since(t).as_millis()),
            stats,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn socket_deadlines_round_up_to_the_next_microsecond() {
        let at = |ns: u64| SocketTime::zero() + std::time::Duration::from_nanos(ns);
        assert_eq!(from_socket_time(at(0)), Some(Instant::from_micros(0)));
        assert_eq!(from_socket_time(at(2_000)), Some(Instant::from_micros(2)));
        assert_eq!(from_socket_time(at(2_001)), Some(Instant::from_micros(3)));
        assert_eq!(
            from_socket_time(at(54_033_410_600)),
            Some(Instant::from_micros(54_033_411))
        );
        assert_eq!(from_socket_time(SocketTime::infinite_future()), None);
        // At the reported instant the stack's timer is due (never before it).
        for ns in [1, 999, 1_000, 1_001, 123_456_789, 54_033_410_001] {
            let t = from_socket_time(at(ns)).unwrap();
            assert!(socket_time(t) >= at(ns), "{ns} ns reported as {t:?}");
            assert!(socket_time(t) < at(ns + 1_000));
        }
    }
}
