//! HA hooks of the engine: standby copies, promotion, bulk export and the table digest.

use timebase::Instant;

use super::{EndReason, Engine, addr16, proto_name};
use crate::record::{RuleDirection, SessionRecord};
use crate::status::{AuditLine, EngineEvent, HaRole};
use crate::table::{FlowTuple, Session, addr_key, flag};
use crate::tcp::{SisState, TcpState};
use crate::wire::ip_proto;

/// Order-independent digest of a set of sessions: the wrapping sum of a 64-bit mix of each session's
/// stable fields (HA id, protocol, initiator, responder, interface, direction). Shards combine their
/// digests with `wrapping_add` and their counts with `+`.
pub fn session_digest(
    rec_id: u32,
    proto: u8,
    init: &[u8; 18],
    resp: &[u8; 18],
    iface: u16,
    out: bool,
) -> u64 {
    // FNV-1a over the fields, then the splitmix64 finalizer. Fixed (unseeded) on purpose: both peers must
    // compute the same value, and the digest is never used as a hash-table key.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut feed = |b: u8| {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    };
    rec_id.to_be_bytes().into_iter().for_each(&mut feed);
    feed(proto);
    init.iter().copied().for_each(&mut feed);
    resp.iter().copied().for_each(&mut feed);
    iface.to_be_bytes().into_iter().for_each(&mut feed);
    feed(u8::from(out));
    let mut z = h.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

fn endpoint(a: &[u8; 16], port: u16) -> [u8; 18] {
    let mut out = [0u8; 18];
    out[..16].copy_from_slice(a);
    out[16..].copy_from_slice(&port.to_be_bytes());
    out
}

impl Engine {
    /// Sets the HA role. Standby → Active promotes every standby copy: HA state ACTIVE, pinholes live at
    /// once, established TCP sessions re-learn their windows from the first segment of each direction,
    /// idle timers restart at `now`, periodic updates restart from `now`. Promoted sessions get fresh HA ids
    /// of this router (the peer reloads and bulk-syncs after a failover, so no id mapping is kept).
    /// Emits [`EngineEvent::HaPromoted`] and the `%FW-HA-6-SESS_AUDIT_TRAIL_STDBY_TO_ACT` audit line.
    /// Active → Standby only changes the role (the HA layer flushes with
    /// [`clear_ha_sessions`](Self::clear_ha_sessions) when it reloads).
    pub fn set_ha_role(&mut self, now: Instant, role: HaRole) {
        self.observe(now);
        let was = self.role;
        self.role = role;
        if was != HaRole::Standby || role != HaRole::Active {
            return;
        }
        let now32 = self.now32();
        let mut promoted = 0u64;
        self.table.clear_id_index();
        let live: Vec<u32> = self.table.live().collect();
        for idx in live {
            let mut e = self.table.session(idx);
            if !e.has(flag::STANDBY) {
                continue;
            }
            self.account(&e, false);
            let id = self.local_id(idx);
            e.flags &= !flag::STANDBY;
            e.flags |= flag::HA;
            e.ha_id = id;
            e.last_ms = now32;
            e.ha_last_ms = now32;
            if e.proto == ip_proto::TCP {
                e.tcp.start_relearn();
            }
            let s = e;
            self.table.set(idx, &s);
            self.account(&s, true);
            if Self::is_half_open(&s) {
                self.note_half_open(idx, s.created_s);
            }
            let due = self.due_ms(&s);
            self.table.link(idx, due);
            promoted += 1;
        }
        self.update_aggressive();
        self.stats.promoted += promoted;
        self.push_event(EngineEvent::HaPromoted { sessions: promoted });
        self.push_event(EngineEvent::Audit(AuditLine {
            text: "%FW-HA-6-SESS_AUDIT_TRAIL_STDBY_TO_ACT: Firewall HA transitioning from Standby to Active HA state"
                .to_string(),
        }));
    }

    /// Adds or refreshes the standby copy of the Active's session `rec` (found by HA id). A local session
    /// with the same flow is replaced. Returns false (and counts `standby_rejected`) when the record is
    /// unusable (not TCP/UDP, unknown state code, mixed address families) or the table is full.
    pub fn apply_standby(&mut self, now: Instant, rec: &SessionRecord) -> bool {
        self.observe(now);
        let proto = rec.key.proto.0;
        let sis = SisState::from_code(rec.state);
        let (init, init_v6) = addr16(rec.key.initiator.ip());
        let (resp, resp_v6) = addr16(rec.key.responder.ip());
        let valid = matches!(
            (proto, sis),
            (ip_proto::TCP, Some(_)) | (ip_proto::UDP, Some(SisState::Open))
        );
        let Some(sis) = sis.filter(|_| valid && init_v6 == resp_v6) else {
            self.stats.standby_rejected += 1;
            return false;
        };
        let now32 = self.now32();
        let tcp = if proto == ip_proto::TCP {
            TcpState::from_records(sis, &rec.initiator_tcp, &rec.responder_tcp)
        } else {
            TcpState::udp()
        };
        let last_ms = now32.wrapping_sub(rec.idle_ms);
        let t = FlowTuple {
            proto,
            src: addr_key(&init),
            src_port: rec.key.initiator.port(),
            dst: addr_key(&resp),
            dst_port: rec.key.responder.port(),
        };
        if let Some(idx) = self.table.lookup_id(rec.id.0) {
            let mut e = self.table.session(idx);
            let same_flow = e.proto == proto
                && e.init_addr == init
                && e.resp_addr == resp
                && e.init_port == t.src_port
                && e.resp_port == t.dst_port;
            if same_flow {
                e.tcp = tcp;
                e.bytes = [rec.bytes_initiator, rec.bytes_responder];
                e.last_ms = last_ms;
                e.iface = rec.interface;
                self.table.set(idx, &e);
                let due = self.due_ms(&e);
                self.table.link(idx, due);
                self.stats.standby_applied += 1;
                return true;
            }
            self.end_session(idx, EndReason::Flushed);
        }
        if let Some((idx, _)) = self.table.lookup(&t) {
            self.end_session(idx, EndReason::Flushed);
        }
        if self.table.len() >= self.cfg.max_sessions || self.table.is_full() {
            self.stats.standby_rejected += 1;
            return false;
        }
        let mut flags = flag::HA | flag::STANDBY;
        if init_v6 {
            flags |= flag::V6;
        }
        if rec.direction == RuleDirection::Out {
            flags |= flag::DIR_OUT;
        }
        let s = Session {
            init_addr: init,
            resp_addr: resp,
            bytes: [rec.bytes_initiator, rec.bytes_responder],
            tcp,
            init_port: t.src_port,
            resp_port: t.dst_port,
            created_s: ((self.now_ms / 1000) as u32).saturating_sub(rec.age_s),
            last_ms,
            ha_id: rec.id.0,
            ha_last_ms: now32,
            iface: rec.interface,
            proto,
            flags,
        };
        let Some(idx) = self.table.insert(s) else {
            self.stats.standby_rejected += 1;
            return false;
        };
        self.table.index_id(idx);
        let due = self.due_ms(&s);
        self.table.link(idx, due);
        self.account(&s, true);
        self.stats.standby_applied += 1;
        if self.cfg.audit_trail {
            let text = format!(
                "%FW-HA-6-SESS_AUDIT_TRAIL_STDBY_START: Start {} standby session: initiator ({}) -- responder ({})",
                proto_name(proto),
                rec.key.initiator,
                rec.key.responder
            );
            self.push_event(EngineEvent::Audit(AuditLine { text }));
        }
        true
    }

    /// Removes the standby copy with HA id `id` (the Active's delete). False = unknown id (counted in
    /// `standby_unknown_deletes`; the HA layer may treat repeated misses as a reason to resync).
    pub fn remove_standby(&mut self, id: crate::record::HaSessionId) -> bool {
        match self.table.lookup_id(id.0) {
            Some(idx) => {
                self.end_session(idx, EndReason::HaRemoved);
                true
            }
            None => {
                self.stats.standby_unknown_deletes += 1;
                false
            }
        }
    }

    /// Drops every HA session (standby copies and this router's own HA sessions) without events: the flush
    /// before a bulk sync or on an HA reload.
    pub fn clear_ha_sessions(&mut self) {
        let live: Vec<u32> = self.table.live().collect();
        for idx in live {
            if self.table.has(idx, flag::HA) {
                self.end_session(idx, EndReason::Flushed);
            }
        }
    }

    /// The record of the HA session with id `id` at `now`, in O(1): standby copies through the HA-id index,
    /// this router's own sessions through the id itself (`slot * shard_count + shard_index`).
    pub fn ha_record(&self, now: Instant, id: crate::record::HaSessionId) -> Option<SessionRecord> {
        let now_ms = self.now_ms.max(now.as_millis());
        let idx = match self.table.lookup_id(id.0) {
            Some(idx) => idx,
            None => {
                let count = self.cfg.shard_count.max(1);
                if id.0 % count != self.cfg.shard_index % count {
                    return None;
                }
                id.0 / count
            }
        };
        let s = self.table.get(idx)?;
        (s.has(flag::HA) && s.ha_id == id.0).then(|| self.record_at(idx, now_ms))
    }

    /// Every HA session as a record at `now` (the source of a bulk sync).
    pub fn export_ha(&self, now: Instant) -> impl Iterator<Item = SessionRecord> + '_ {
        let now_ms = self.now_ms.max(now.as_millis());
        self.table
            .live()
            .filter(|&i| self.table.has(i, flag::HA))
            .map(move |i| self.record_at(i, now_ms))
    }

    /// `(count, digest)` of the HA sessions (both HA states): equal on both routers when they hold the same
    /// session set. See [`session_digest`] for the definition and how shards combine.
    pub fn ha_digest(&self) -> (u64, u64) {
        let mut count = 0u64;
        let mut sum = 0u64;
        for i in self.table.live() {
            let s = &self.table.session(i);
            if !s.has(flag::HA) {
                continue;
            }
            count += 1;
            sum = sum.wrapping_add(session_digest(
                s.ha_id,
                s.proto,
                &endpoint(&s.init_addr, s.init_port),
                &endpoint(&s.resp_addr, s.resp_port),
                s.iface,
                s.has(flag::DIR_OUT),
            ));
        }
        (count, sum)
    }

    /// The digest term of one record (what [`ha_digest`](Self::ha_digest) adds for it), for the HA layer.
    pub fn record_digest(rec: &SessionRecord) -> u64 {
        let (init, _) = addr16(rec.key.initiator.ip());
        let (resp, _) = addr16(rec.key.responder.ip());
        session_digest(
            rec.id.0,
            rec.key.proto.0,
            &endpoint(&init, rec.key.initiator.port()),
            &endpoint(&resp, rec.key.responder.port()),
            rec.interface,
            rec.direction == RuleDirection::Out,
        )
    }
}
