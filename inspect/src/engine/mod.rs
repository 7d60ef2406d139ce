//! The inspection engine of one data-plane shard.
//!
//! # Semantics (CBAC)
//! A packet forwarded from interface `ingress` to interface `egress` is judged so:
//! 1. It is parsed ([`wire::parse`]); a malformed packet is dropped (`Malformed`).
//! 2. TCP and UDP packets are looked up in the session table (both directions of a flow find the same
//!    session). A packet of a live session is tracked (TCP: state and window checks, which may drop it as
//!    `OutOfWindow`/`InvalidTcp`) and otherwise accepted **without consulting the interface ACLs**: the
//!    session is the pinhole for its return traffic (its opening packet was judged by the ACLs).
//! 3. Any other packet (ICMP, other protocols, non-first fragments, TCP/UDP without a session) is judged by
//!    the `in` ACL of the ingress interface and then the `out` ACL of the egress interface; a missing or
//!    undefined ACL permits. ACLs end with an implicit deny.
//! 4. A permitted TCP SYN (no ACK/RST/FIN) or UDP packet opens a session when the ingress interface has an
//!    `ip inspect NAME in` rule, or else the egress interface an `ip inspect NAME out` rule, inspecting that
//!    protocol; subject to `max-incomplete` and `max_sessions` (refusals are drops, counted by reason).
//!    ICMP is never inspected.
//!
//! ACLs judge forwarded traffic only: the data plane queues only forwarded packets, so the router's own
//! HSRP and IPC traffic never reaches the engine.
//!
//! Non-first IPv4/IPv6 fragments carry no ports: they cannot be matched to a session and are judged by the
//! ACLs alone, where an entry with a port condition never matches them. On Linux the FORWARD hook sees
//! reassembled datagrams whenever connection tracking is loaded (nf_defrag), so fragments mostly do not
//! reach the engine at all.
//!
//! # Timers
//! A session expires when idle for its state's timeout: `synwait-time` while the TCP handshake is
//! incomplete, the rule's `timeout` or the global `idle-time` while open (and after the first FIN),
//! `finwait-time` once both sides have sent FIN. Expiry happens at the first wheel tick (100 ms) at or
//! after the deadline. Standby copies get `2 × update interval` on top of their timeout, because they are
//! refreshed only by the periodic updates; the Active's delete removes them at once.
//!
//! # HA
//! Sessions opened through a binding with `redundancy stateful GROUP` while the role is Active are HA
//! sessions: [`EngineEvent::HaAdd`] on creation, [`EngineEvent::HaUpdate`] when a TCP handshake completes
//! and each time `update seconds` have passed since the session's last add/update (deterministic, spread
//! out by creation time), [`EngineEvent::HaDelete`] when they end. HA ids are `slot * shard_count + shard_index`, unique among
//! the live sessions of all shards.

mod batch;
mod compiled;
mod half_open;
mod standby;

use std::collections::VecDeque;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use timebase::Instant;

use crate::acl::AclStatus;
use crate::config::{AclAction, EngineConfig};
use crate::record::{FlowKey, HaSessionId, L4Proto, RuleDirection, SessionRecord, TcpDirectionRecord};
use crate::status::{
    AuditLine, DropReason, EngineEvent, EngineStats, HaRole, HaState, SessionStatus, Verdict,
};
use crate::table::{FlowTuple, Hot, Session, TICK_MS, Table, flag};
use crate::tcp::{Side, SisState, TcpState, TcpVerdict};
use crate::wire::{L4Info, PacketInfo, ip_proto};

pub use batch::BatchPacket;
use batch::{Classified, flow_of};
use compiled::{Binding, Compiled, dir_index};
pub use standby::session_digest;

/// Most events held before the oldest are dropped (and counted).
pub const MAX_EVENTS: usize = 1 << 20;

/// How a session ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum EndReason {
    Expired,
    Reset,
    Cleared,
    /// Removed by the HA layer (standby delete) or a flush: no HA delete, no counters of the Active.
    HaRemoved,
    /// Flushed silently (`clear_ha_sessions`, replaced by a standby copy).
    Flushed,
    /// The oldest half-open session, ended by `max-incomplete` to make room for a new one.
    HalfOpenLimit,
}

/// One shard of the inspection engine. Sans-IO: packets and time go in, verdicts and events come out.
///
/// Polling order for a driver: after feeding packets with [`process`](Self::process) and expiries with
/// [`handle_timeout`](Self::handle_timeout), drain [`poll_event`](Self::poll_event), then re-arm the timer
/// from [`poll_timeout`](Self::poll_timeout).
pub struct Engine {
    cfg: EngineConfig,
    comp: Compiled,
    table: Table,
    role: HaRole,
    events: VecDeque<EngineEvent>,
    stats: EngineStats,
    half_open: u64,
    standby: u64,
    ha_active: u64,
    /// `max-incomplete` aggressive mode (see the `half_open` module).
    aggressive: bool,
    /// Half-open sessions in creation order while `max-incomplete` is configured: (entry, created_s).
    half_open_queue: VecDeque<(u32, u32)>,
    now_ms: u64,
    scratch: Vec<u32>,
}

pub(crate) fn addr16(a: IpAddr) -> ([u8; 16], bool) {
    match a {
        IpAddr::V4(v4) => (v4.to_ipv6_mapped().octets(), false),
        IpAddr::V6(v6) => (v6.octets(), true),
    }
}

/// Whether a session counts as half-open: a local TCP session before its handshake completes, or a local
/// UDP session the responder has not answered yet.
#[inline]
const fn half_open(flags: u8, proto: u8, sis: SisState, responder_bytes: u64) -> bool {
    flags & flag::STANDBY == 0
        && match proto {
            ip_proto::TCP => sis.is_half_open(),
            _ => responder_bytes == 0,
        }
}

#[inline]
fn hot_half_open(h: &Hot) -> bool {
    half_open(h.flags, h.proto, h.tcp.sis, h.bytes[1])
}

pub(crate) fn ip_of(a: &[u8; 16], v6: bool) -> IpAddr {
    if v6 {
        IpAddr::V6(Ipv6Addr::from(*a))
    } else {
        IpAddr::V4(Ipv4Addr::new(a[12], a[13], a[14], a[15]))
    }
}

pub(crate) const fn proto_name(p: u8) -> &'static str {
    match p {
        ip_proto::TCP => "tcp",
        ip_proto::UDP => "udp",
        _ => "ip",
    }
}

impl Engine {
    /// A shard with configuration `cfg` whose flow hash is seeded with `hash_seed` (the driver should pass a
    /// random seed; keys are chosen by whoever sends packets).
    pub fn new(cfg: EngineConfig, hash_seed: u64) -> Self {
        let comp = Compiled::new(&cfg, None);
        Self {
            cfg,
            comp,
            table: Table::new(hash_seed),
            role: HaRole::Active,
            events: VecDeque::new(),
            stats: EngineStats::default(),
            half_open: 0,
            standby: 0,
            ha_active: 0,
            aggressive: false,
            half_open_queue: VecDeque::new(),
            now_ms: 0,
            scratch: Vec::new(),
        }
    }

    /// Replaces the configuration. Sessions are kept (their interface index refers to the new list);
    /// hit counters of unchanged ACLs are kept; every session's timer is re-armed for the new timeouts.
    pub fn reconfigure(&mut self, cfg: EngineConfig) {
        self.comp = Compiled::new(&cfg, Some(&self.comp));
        self.cfg = cfg;
        self.rebuild_half_open_queue();
        self.update_aggressive();
        let live: Vec<u32> = self.table.live().collect();
        for idx in live {
            let due = self.due_ms(&self.table.session(idx));
            self.table.link(idx, due);
        }
    }

    /// The configuration in force.
    pub fn config(&self) -> &EngineConfig {
        &self.cfg
    }

    /// The HA role in force.
    pub fn ha_role(&self) -> HaRole {
        self.role
    }

    fn observe(&mut self, now: Instant) {
        self.now_ms = self.now_ms.max(now.as_millis());
        if self.table.tick.is_none() {
            self.table.tick = Some(self.now_ms / TICK_MS);
        }
    }

    fn now32(&self) -> u32 {
        self.now_ms as u32
    }

    fn push_event(&mut self, e: EngineEvent) {
        if self.events.len() >= MAX_EVENTS {
            self.stats.events_dropped += 1;
        } else {
            self.events.push_back(e);
        }
    }

    fn drop_packet(&mut self, r: DropReason) -> Verdict {
        self.stats.drops.count(r);
        Verdict::Drop(r)
    }

    /// Judges one packet (bytes start at the IP header) forwarded from interface `ingress` to `egress`
    /// (indices into the configuration's interface list; `None` = an interface the config doesn't mention).
    pub fn process(
        &mut self,
        now: Instant,
        packet: &[u8],
        ingress: Option<u16>,
        egress: Option<u16>,
    ) -> Verdict {
        self.observe(now);
        let classified = self.classify(packet);
        self.judge(&classified, ingress, egress)
    }

    /// Judges one classified packet (the engine's clock is already advanced).
    #[inline(always)]
    fn judge(&mut self, c: &Classified, ingress: Option<u16>, egress: Option<u16>) -> Verdict {
        self.stats.packets += 1;
        // The established-flow path, kept small; everything else is judged out of line.
        if let Some(info) = &c.info
            && let Some(t) = flow_of(info)
            && let Some((idx, side)) = self.table.lookup_hinted(&t, c.hash, c.hint)
            && (self.role == HaRole::Active || !self.table.hot(idx).has(flag::STANDBY))
        {
            return self.session_packet(idx, side, info);
        }
        self.judge_other(c, ingress, egress)
    }

    /// [`judge`](Self::judge) for every packet that is not part of a usable session.
    #[inline(never)]
    fn judge_other(&mut self, c: &Classified, ingress: Option<u16>, egress: Option<u16>) -> Verdict {
        let Some(info) = &c.info else {
            return self.drop_packet(DropReason::Malformed);
        };
        if info.l4 == L4Info::Fragment {
            self.stats.non_first_fragments += 1;
        }
        let flow = flow_of(info);
        if let Some(t) = &flow
            && let Some((idx, side)) = self.table.lookup_hinted(t, c.hash, c.hint)
        {
            let standby_copy = self.table.hot(idx).has(flag::STANDBY);
            if !standby_copy || self.role == HaRole::Active {
                return self.session_packet(idx, side, info);
            }
            // A standby copy while Standby: not used; the packet is judged by the ACLs and opens nothing.
            return self.judge_acls(info, ingress, egress);
        }
        let v = self.judge_acls(info, ingress, egress);
        if v != Verdict::Accept {
            return v;
        }
        match (flow, self.find_binding(info.proto, ingress, egress)) {
            (Some(t), Some((iface, dir, b))) => self.open_session(&t, info, iface, dir, b),
            _ => Verdict::Accept,
        }
    }

    #[cold]
    fn judge_acls(&mut self, info: &PacketInfo, ingress: Option<u16>, egress: Option<u16>) -> Verdict {
        self.stats.acl_judged += 1;
        let checks = [(ingress, 0usize), (egress, 1usize)];
        for (iface, dir) in checks {
            let Some(i) = iface else { continue };
            let Some(acl_idx) = self.comp.ifaces.get(usize::from(i)).and_then(|f| f.acl[dir]) else {
                continue;
            };
            let Some(acl) = self.comp.acls.get_mut(acl_idx) else {
                continue;
            };
            let action = acl.judge(info, self.now_ms);
            // `log` entries: their `%SEC-6-IPACCESSLOG*` lines (rate-limited in the ACL).
            for text in acl.take_log_lines() {
                self.push_event(EngineEvent::Audit(AuditLine { text }));
            }
            if action == AclAction::Deny {
                return self.drop_packet(DropReason::AclDenied);
            }
        }
        Verdict::Accept
    }

    fn find_binding(
        &self,
        proto: u8,
        ingress: Option<u16>,
        egress: Option<u16>,
    ) -> Option<(u16, usize, Binding)> {
        if let Some(i) = ingress
            && let Some(b) = self.comp.binding(i, 0)
            && b.idle_ms(proto).is_some()
        {
            return Some((i, 0, *b));
        }
        if let Some(e) = egress
            && let Some(b) = self.comp.binding(e, 1)
            && b.idle_ms(proto).is_some()
        {
            return Some((e, 1, *b));
        }
        None
    }

    fn is_half_open(s: &Session) -> bool {
        half_open(s.flags, s.proto, s.tcp.sis, s.bytes[1])
    }

    /// Adds (`sign` = true) or removes a session's contribution to the gauges.
    fn account(&mut self, s: &Session, add: bool) {
        let d = |v: &mut u64| {
            if add {
                *v += 1;
            } else {
                *v = v.saturating_sub(1);
            }
        };
        if Self::is_half_open(s) {
            d(&mut self.half_open);
        }
        if s.has(flag::STANDBY) {
            d(&mut self.standby);
        } else if s.has(flag::HA) {
            d(&mut self.ha_active);
        }
    }

    #[inline]
    fn session_packet(&mut self, idx: u32, side: Side, info: &PacketInfo) -> Verdict {
        let now32 = self.now32();
        let s = self.table.hot_mut(idx);
        let (was_half, old_sis) = (hot_half_open(s), s.tcp.sis);
        if let L4Info::Tcp(t) = &info.l4 {
            let v = s.tcp.on_segment(side, t);
            if v != TcpVerdict::Accept {
                return self.segment_not_accepted(idx, side, info, v);
            }
        }
        s.bytes[side as usize] += u64::from(info.ip_len);
        s.last_ms = now32;
        self.stats.session_packets += 1;
        if hot_half_open(s) != was_half || s.tcp.sis != old_sis {
            self.session_changed(idx, was_half, old_sis);
        }
        Verdict::Accept
    }

    /// A segment of a session the tracker did not simply accept: a reset ends the session (the RST itself
    /// is forwarded and counted), anything else is dropped.
    #[cold]
    fn segment_not_accepted(&mut self, idx: u32, side: Side, info: &PacketInfo, v: TcpVerdict) -> Verdict {
        match v {
            TcpVerdict::Reset => {
                let s = self.table.hot_mut(idx);
                s.bytes[side as usize] += u64::from(info.ip_len);
                s.last_ms = self.now_ms as u32;
                self.stats.session_packets += 1;
                self.end_session(idx, EndReason::Reset);
                Verdict::Accept
            }
            TcpVerdict::OutOfWindow => self.drop_packet(DropReason::OutOfWindow),
            TcpVerdict::Invalid | TcpVerdict::Accept => self.drop_packet(DropReason::InvalidTcp),
        }
    }

    /// Book-keeping after a packet moved a session to another state: the half-open gauge, the HA update
    /// of a completed handshake and the timer of the new state.
    #[cold]
    fn session_changed(&mut self, idx: u32, was_half: bool, old_sis: SisState) {
        let mut s = self.table.session(idx);
        let is_half = Self::is_half_open(&s);
        if was_half != is_half {
            if is_half {
                self.half_open += 1;
                self.note_half_open(idx, s.created_s);
            } else {
                self.half_open = self.half_open.saturating_sub(1);
            }
            self.update_aggressive();
        }
        if s.tcp.sis == old_sis {
            return;
        }
        // A completed handshake: the standby learns it now rather than at the next periodic update, so a
        // failover in between does not hand over a half-open session.
        let update = s.tcp.sis == SisState::Open && self.sends_updates(&s);
        self.update_and_relink(idx, &mut s, update);
    }

    /// Sends the HA update of entry `idx` (holding `s`) when `update`, then re-links its timer.
    fn update_and_relink(&mut self, idx: u32, s: &mut Session, update: bool) {
        if update {
            s.ha_last_ms = self.now32();
            self.table.set(idx, s);
            self.stats.ha_updates += 1;
            let rec = self.record(idx);
            self.push_event(EngineEvent::HaUpdate(rec));
        }
        let due = self.due_ms(s);
        self.table.link(idx, due);
    }

    #[cold]
    fn open_session(
        &mut self,
        t: &FlowTuple,
        info: &PacketInfo,
        iface: u16,
        dir: usize,
        b: Binding,
    ) -> Verdict {
        let tcp = match &info.l4 {
            L4Info::Tcp(seg) => {
                let f = seg.flags;
                if !f.syn() || f.ack() || f.rst() || f.fin() {
                    // Not an opening segment: permitted by the ACLs, but no session.
                    return Verdict::Accept;
                }
                TcpState::from_syn(seg)
            }
            _ => TcpState::udp(),
        };
        if self.table.len() >= self.cfg.max_sessions || self.table.is_full() {
            return self.drop_packet(DropReason::SessionLimit);
        }
        if !self.make_room_for_half_open() {
            return self.drop_packet(DropReason::HalfOpenLimit);
        }
        let ha = b.ha && self.role == HaRole::Active;
        let now32 = self.now32();
        let mut flags = 0;
        if dir == 1 {
            flags |= flag::DIR_OUT;
        }
        if info.is_ipv6() {
            flags |= flag::V6;
        }
        if ha {
            flags |= flag::HA;
        }
        let s = Session {
            init_addr: t.src.to_ne_bytes(),
            resp_addr: t.dst.to_ne_bytes(),
            bytes: [u64::from(info.ip_len), 0],
            tcp,
            init_port: t.src_port,
            resp_port: t.dst_port,
            created_s: (self.now_ms / 1000) as u32,
            last_ms: now32,
            ha_id: 0,
            ha_last_ms: now32,
            iface,
            proto: t.proto,
            flags,
        };
        let Some(idx) = self.table.insert(s) else {
            return self.drop_packet(DropReason::SessionLimit);
        };
        let id = self.local_id(idx);
        let mut s = self.table.session(idx);
        s.ha_id = id;
        self.table.set(idx, &s);
        let due = self.due_ms(&s);
        self.table.link(idx, due);
        self.account(&s, true);
        if Self::is_half_open(&s) {
            self.note_half_open(idx, s.created_s);
        }
        self.update_aggressive();
        self.stats.created += 1;
        self.stats.session_packets += 1;
        if ha {
            self.stats.ha_adds += 1;
            let rec = self.record(idx);
            self.push_event(EngineEvent::HaAdd(rec));
        }
        if self.cfg.audit_trail {
            let text = format!(
                "%FW-6-SESS_AUDIT_TRAIL_START: Start {} session: initiator ({}) -- responder ({})",
                proto_name(s.proto),
                Self::initiator(&s),
                Self::responder(&s)
            );
            self.push_event(EngineEvent::Audit(AuditLine { text }));
        }
        Verdict::Accept
    }

    fn local_id(&self, idx: u32) -> u32 {
        let count = self.cfg.shard_count.max(1);
        idx.wrapping_mul(count).wrapping_add(self.cfg.shard_index % count)
    }

    pub(crate) fn initiator(s: &Session) -> SocketAddr {
        SocketAddr::new(ip_of(&s.init_addr, s.has(flag::V6)), s.init_port)
    }

    pub(crate) fn responder(s: &Session) -> SocketAddr {
        SocketAddr::new(ip_of(&s.resp_addr, s.has(flag::V6)), s.resp_port)
    }

    fn direction(s: &Session) -> RuleDirection {
        if s.has(flag::DIR_OUT) {
            RuleDirection::Out
        } else {
            RuleDirection::In
        }
    }

    /// Timeout of the session's current state, in milliseconds.
    fn timeout_ms(&self, s: &Session) -> u64 {
        let b = self.comp.binding(s.iface, dir_index(Self::direction(s)));
        let base = match s.proto {
            ip_proto::TCP => match s.tcp.sis {
                SisState::SynSent | SisState::SynRcvd => self.comp.synwait_ms,
                SisState::Open | SisState::FinWait => {
                    b.and_then(|b| b.tcp_idle_ms).unwrap_or(self.comp.tcp_idle_ms)
                }
                SisState::Closing | SisState::Closed => self.comp.finwait_ms,
            },
            _ => b.and_then(|b| b.udp_idle_ms).unwrap_or(self.comp.udp_idle_ms),
        };
        if s.has(flag::STANDBY) {
            base + 2 * self.comp.ha_interval_ms
        } else {
            base
        }
    }

    fn sends_updates(&self, s: &Session) -> bool {
        s.has(flag::HA) && !s.has(flag::STANDBY) && self.role == HaRole::Active
    }

    /// Absolute engine time (ms) at which the session next needs attention.
    fn due_ms(&self, s: &Session) -> u64 {
        let now32 = self.now32();
        let timeout = self.timeout_ms(s);
        let idle = u64::from(now32.wrapping_sub(s.last_ms));
        let mut due = self.now_ms + timeout.saturating_sub(idle);
        if self.sends_updates(s) {
            let since = u64::from(now32.wrapping_sub(s.ha_last_ms));
            due = due.min(self.now_ms + self.comp.ha_interval_ms.saturating_sub(since));
        }
        due
    }

    /// The HA record of entry `idx` at the engine's current time.
    fn record(&self, idx: u32) -> SessionRecord {
        self.record_at(idx, self.now_ms)
    }

    /// The HA record of entry `idx` at engine time `now_ms`.
    fn record_at(&self, idx: u32, now_ms: u64) -> SessionRecord {
        let s = &self.table.session(idx);
        let tcp = s.proto == ip_proto::TCP;
        SessionRecord {
            id: HaSessionId(s.ha_id),
            key: FlowKey {
                proto: L4Proto(s.proto),
                initiator: Self::initiator(s),
                responder: Self::responder(s),
            },
            interface: s.iface,
            direction: Self::direction(s),
            state: s.tcp.sis.code(),
            initiator_tcp: if tcp {
                s.tcp.record(Side::Initiator)
            } else {
                TcpDirectionRecord::default()
            },
            responder_tcp: if tcp {
                s.tcp.record(Side::Responder)
            } else {
                TcpDirectionRecord::default()
            },
            bytes_initiator: s.bytes[0],
            bytes_responder: s.bytes[1],
            age_s: ((now_ms / 1000) as u32).saturating_sub(s.created_s),
            idle_ms: (now_ms as u32).wrapping_sub(s.last_ms),
        }
    }

    #[cold]
    fn end_session(&mut self, idx: u32, reason: EndReason) {
        let Some(s) = self.table.remove(idx) else { return };
        self.account(&s, false);
        // Making room is one step: the new session follows at once, so the mode must not flap here.
        if reason != EndReason::HalfOpenLimit {
            self.update_aggressive();
        }
        match reason {
            EndReason::Expired => self.stats.expired += 1,
            EndReason::Reset => self.stats.reset += 1,
            EndReason::Cleared => self.stats.cleared += 1,
            EndReason::HaRemoved | EndReason::Flushed | EndReason::HalfOpenLimit => {}
        }
        if reason == EndReason::Flushed {
            return;
        }
        // Only an Active router speaks for its sessions: after a role change to Standby its leftover sessions
        // end silently (their ids may now name the new Active's sessions on the peer).
        if self.sends_updates(&s) && reason != EndReason::HaRemoved {
            self.stats.ha_deletes += 1;
            self.push_event(EngineEvent::HaDelete(HaSessionId(s.ha_id)));
        }
        if self.cfg.audit_trail {
            let text = if s.has(flag::STANDBY) {
                format!(
                    "%FW-HA-6-SESS_AUDIT_TRAIL_STDBY_STOP: Stop {} standby session: initiator ({}) -- responder ({})",
                    proto_name(s.proto),
                    Self::initiator(&s),
                    Self::responder(&s)
                )
            } else {
                format!(
                    "%FW-6-SESS_AUDIT_TRAIL_STOP: Stop {} session: initiator ({}) sent {} bytes -- responder ({}) sent {} bytes",
                    proto_name(s.proto),
                    Self::initiator(&s),
                    s.bytes[0],
                    Self::responder(&s),
                    s.bytes[1]
                )
            };
            self.push_event(EngineEvent::Audit(AuditLine { text }));
        }
    }

    /// Runs the timers due at `now`: expiries and HA periodic updates.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.observe(now);
        self.roll_acl_logs();
        let target = self.now_ms / TICK_MS;
        let Some(cur) = self.table.tick else { return };
        if target <= cur {
            return;
        }
        let first = if target - cur > crate::table::SLOTS as u64 {
            target - crate::table::SLOTS as u64 + 1
        } else {
            cur + 1
        };
        let mut batch = std::mem::take(&mut self.scratch);
        for tick in first..=target {
            self.table.tick = Some(tick);
            batch.clear();
            self.table.take_slot(tick, &mut batch);
            for &idx in &batch {
                self.fire(idx);
            }
        }
        batch.clear();
        self.scratch = batch;
    }

    fn fire(&mut self, idx: u32) {
        let Some(mut s) = self.table.get(idx) else {
            return;
        };
        let now32 = self.now32();
        let idle = u64::from(now32.wrapping_sub(s.last_ms));
        if idle >= self.timeout_ms(&s) {
            self.end_session(idx, EndReason::Expired);
            return;
        }
        let update =
            self.sends_updates(&s) && u64::from(now32.wrapping_sub(s.ha_last_ms)) >= self.comp.ha_interval_ms;
        self.update_and_relink(idx, &mut s, update);
    }

    /// When [`handle_timeout`](Self::handle_timeout) should next run: the next wheel tick while any session
    /// exists, or earlier when an ACL's `log` summaries fall due.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let wheel = (self.table.len() > 0)
            .then_some(self.table.tick)
            .flatten()
            .map(|t| (t + 1) * TICK_MS);
        let logs = self.comp.acls.iter().filter_map(|a| a.log_summary_due_ms()).min();
        [wheel, logs]
            .into_iter()
            .flatten()
            .min()
            .map(Instant::from_millis)
    }

    /// ACL `log` summaries whose interval is over, even when no packet comes to bring them.
    fn roll_acl_logs(&mut self) {
        let now_ms = self.now_ms;
        let mut lines = Vec::new();
        for acl in &mut self.comp.acls {
            if acl.log_summary_due_ms().is_some_and(|due| due <= now_ms) {
                acl.roll_logs(now_ms);
                lines.extend(acl.take_log_lines());
            }
        }
        for text in lines {
            self.push_event(EngineEvent::Audit(AuditLine { text }));
        }
    }

    /// The next output event.
    pub fn poll_event(&mut self) -> Option<EngineEvent> {
        self.events.pop_front()
    }

    /// Snapshot of every session for `show ip inspect [ha] sessions`.
    pub fn sessions(&self, now: Instant) -> Vec<SessionStatus> {
        let now_ms = self.now_ms.max(now.as_millis());
        let now32 = now_ms as u32;
        self.table
            .live()
            .map(|idx| {
                let s = &self.table.session(idx);
                let dir = Self::direction(s);
                let iface_cfg = self.cfg.interfaces.get(usize::from(s.iface));
                let return_acl = iface_cfg.and_then(|i| match dir {
                    RuleDirection::Out => i.acl_in.clone(),
                    RuleDirection::In => i.acl_out.clone(),
                });
                SessionStatus {
                    id: s.ha_id,
                    proto: proto_name(s.proto).to_string(),
                    initiator: Self::initiator(s),
                    responder: Self::responder(s),
                    state: s.tcp.sis.ios_name().to_string(),
                    half_open: match s.proto {
                        ip_proto::TCP => s.tcp.sis.is_half_open(),
                        _ => s.bytes[1] == 0,
                    },
                    interface: iface_cfg.map_or_else(|| format!("#{}", s.iface), |i| i.name.clone()),
                    interface_index: s.iface,
                    direction: match dir {
                        RuleDirection::In => "in".to_string(),
                        RuleDirection::Out => "out".to_string(),
                    },
                    bytes_initiator: s.bytes[0],
                    bytes_responder: s.bytes[1],
                    age_s: (now_ms / 1000).saturating_sub(u64::from(s.created_s)),
                    idle_s: u64::from(now32.wrapping_sub(s.last_ms)) / 1000,
                    timeout_s: (self.timeout_ms(s) / 1000) as u32,
                    ha_state: if s.has(flag::STANDBY) {
                        HaState::Standby
                    } else if s.has(flag::HA) {
                        HaState::Active
                    } else {
                        HaState::None
                    },
                    return_acl,
                }
            })
            .collect()
    }

    /// Counters and gauges.
    pub fn stats(&self) -> EngineStats {
        let mut st = self.stats.clone();
        st.sessions = u64::from(self.table.len());
        st.half_open = self.half_open;
        st.standby_sessions = self.standby;
        st.ha_active_sessions = self.ha_active;
        st.half_open_aggressive = self.aggressive;
        st.table_bytes = self.table.allocated_bytes() as u64;
        st
    }

    /// ACLs with hit counters for `show ip access-lists`.
    pub fn acl_status(&self) -> Vec<AclStatus> {
        self.comp.acls.iter().map(|a| a.status()).collect()
    }

    /// `clear ip inspect sessions`: ends every session of this router (standby copies are kept); HA
    /// sessions emit deletes and audit lines as when they end normally.
    pub fn clear_sessions(&mut self) {
        let live: Vec<u32> = self.table.live().collect();
        for idx in live {
            if !self.table.has(idx, flag::STANDBY) {
                self.end_session(idx, EndReason::Cleared);
            }
        }
    }

    /// `clear ip access-lists counters`.
    pub fn clear_acl_counters(&mut self) {
        self.comp.acls.iter_mut().for_each(|a| a.clear_counters());
    }

    /// Number of live sessions.
    pub fn session_count(&self) -> u32 {
        self.table.len()
    }
}

#[cfg(test)]
pub(crate) mod tests;
