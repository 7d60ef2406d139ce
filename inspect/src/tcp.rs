//! TCP tracking per direction: the IOS session states and sequence/window checks.
//!
//! States move only along the edges of [`TRANSITIONS`] (one state-change function, [`next_state`]).
//! The window check follows the classic scheme of Guido van Rooij's "Real Stateful TCP Packet Filtering"
//! (as used by Linux conntrack): for the sender S and receiver R of a segment,
//! * the segment may not start beyond the right edge R has opened for S (`seq <= S.maxend`);
//! * it may not end before what R could still be missing (`end >= S.end - R.maxwin`);
//! * its ACK may not acknowledge data R never sent (`ack <= R.end`), nor lie too far behind
//!   (`ack >= R.end - max(S.maxwin, 66000)`).
//!
//! A promoted (ex-standby) session's synced numbers may be stale, so each direction is *re-learned*:
//! the first segment from a direction is accepted and resets that direction's numbers; checks that
//! depend on a not-yet-relearned peer are skipped until the peer has sent too.

use serde::{Deserialize, Serialize};

use crate::record::TcpDirectionRecord;
use crate::wire::{TcpFlags, TcpInfo};

/// Session state with IOS spellings (UDP sessions are always `SIS_OPEN`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[repr(u8)]
pub enum SisState {
    /// SYN seen from the initiator.
    SynSent = 1,
    /// SYN-ACK seen from the responder.
    SynRcvd = 2,
    /// Three-way handshake complete (also every UDP session).
    Open = 3,
    /// One side has sent FIN.
    FinWait = 4,
    /// Both sides have sent FIN.
    Closing = 5,
    /// Both FINs acknowledged or reset.
    Closed = 6,
}

impl SisState {
    /// IOS spelling.
    pub const fn ios_name(self) -> &'static str {
        match self {
            Self::SynSent => "SIS_SYNSENT",
            Self::SynRcvd => "SIS_SYNRCVD",
            Self::Open => "SIS_OPEN",
            Self::FinWait => "SIS_FINWAIT",
            Self::Closing => "SIS_CLOSING",
            Self::Closed => "SIS_CLOSED",
        }
    }
    /// The numeric code carried in [`SessionRecord::state`](crate::record::SessionRecord).
    pub const fn code(self) -> u8 {
        self as u8
    }
    /// The state of a record's code (unknown codes are `None`).
    pub const fn from_code(code: u8) -> Option<Self> {
        Some(match code {
            1 => Self::SynSent,
            2 => Self::SynRcvd,
            3 => Self::Open,
            4 => Self::FinWait,
            5 => Self::Closing,
            6 => Self::Closed,
            _ => return None,
        })
    }
    /// Handshake not complete.
    pub const fn is_half_open(self) -> bool {
        matches!(self, Self::SynSent | Self::SynRcvd)
    }
}

impl std::fmt::Display for SisState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.ios_name())
    }
}

/// What happened on a session, as far as its state is concerned.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TcpEvent {
    /// The responder answered the SYN with a SYN-ACK.
    SynAck,
    /// The initiator acknowledged the SYN-ACK.
    HandshakeAck,
    /// The first FIN of the session.
    FirstFin,
    /// The second side's FIN.
    SecondFin,
    /// Both FINs are acknowledged.
    LastFinAcked,
    /// An accepted RST.
    Reset,
    /// A fresh SYN from the initiator reusing a closing/closed session's ports.
    Reopen,
    /// A promoted session still in its handshake sees mid-connection traffic (no SYN): the handshake
    /// finished while the update carrying it was in flight.
    ResumedOpen,
}

/// Every allowed state change: (from, event, to). A pair not listed leaves the state as it is.
pub const TRANSITIONS: &[(SisState, TcpEvent, SisState)] = &[
    (SisState::SynSent, TcpEvent::SynAck, SisState::SynRcvd),
    (SisState::SynSent, TcpEvent::Reset, SisState::Closed),
    (SisState::SynSent, TcpEvent::ResumedOpen, SisState::Open),
    (SisState::SynRcvd, TcpEvent::HandshakeAck, SisState::Open),
    (SisState::SynRcvd, TcpEvent::FirstFin, SisState::FinWait),
    (SisState::SynRcvd, TcpEvent::Reset, SisState::Closed),
    (SisState::SynRcvd, TcpEvent::ResumedOpen, SisState::Open),
    (SisState::Open, TcpEvent::FirstFin, SisState::FinWait),
    (SisState::Open, TcpEvent::Reset, SisState::Closed),
    (SisState::FinWait, TcpEvent::SecondFin, SisState::Closing),
    (SisState::FinWait, TcpEvent::Reset, SisState::Closed),
    (SisState::Closing, TcpEvent::LastFinAcked, SisState::Closed),
    (SisState::Closing, TcpEvent::Reset, SisState::Closed),
    (SisState::Closing, TcpEvent::Reopen, SisState::SynSent),
    (SisState::Closed, TcpEvent::Reopen, SisState::SynSent),
];

/// The one state-change function: the state after `event` in `state`, or `None` if the table has no edge.
pub fn next_state(state: SisState, event: TcpEvent) -> Option<SisState> {
    TRANSITIONS
        .iter()
        .find(|(s, e, _)| *s == state && *e == event)
        .map(|&(_, _, to)| to)
}

/// Sequence-space state of one direction.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TcpWin {
    /// Highest sequence number sent by this side plus the segment length (SYN/FIN count one).
    pub end: u32,
    /// Right edge the peer has opened for this side (peer's ack + peer's window).
    pub maxend: u32,
    /// Largest window this side has advertised (scaled).
    pub maxwin: u32,
}

/// Side of a session.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    /// The side that opened the session.
    Initiator = 0,
    /// The other side.
    Responder = 1,
}

impl Side {
    /// The other side.
    pub const fn other(self) -> Self {
        match self {
            Self::Initiator => Self::Responder,
            Self::Responder => Self::Initiator,
        }
    }
    const fn idx(self) -> usize {
        self as usize
    }
}

/// Outcome of one segment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TcpVerdict {
    /// Forward it.
    Accept,
    /// Forward it; the session is reset and should be removed.
    Reset,
    /// Sequence or acknowledgement outside the window: drop.
    OutOfWindow,
    /// Flags impossible in this state (SYN+FIN, a bare segment from the responder before its SYN-ACK...).
    Invalid,
}

const FIN_I: u8 = 0x01;
const FIN_R: u8 = 0x02;
const FINACK_I: u8 = 0x04;
const FINACK_R: u8 = 0x08;
const RELEARN_I: u8 = 0x10;
const RELEARN_R: u8 = 0x20;
const WS_ANNOUNCED_I: u8 = 0x40;

/// Windows below this are treated as this when checking how far an ACK may lag (Linux's MAXACKWINCONST).
const MAX_ACK_WIN_CONST: u32 = 66_000;

fn seq_le(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) <= 0
}
fn seq_ge(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) >= 0
}
fn seq_max(a: u32, b: u32) -> u32 {
    if seq_ge(a, b) { a } else { b }
}

/// TCP tracking state of one session (28 bytes).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TcpState {
    /// Per direction: initiator, responder.
    pub win: [TcpWin; 2],
    /// Window-scale shifts in force, per direction.
    pub scale: [u8; 2],
    /// Session state.
    pub sis: SisState,
    bits: u8,
}

impl TcpState {
    /// State for a session opened by `syn` (SYN without ACK from the initiator).
    pub fn from_syn(syn: &TcpInfo) -> Self {
        let end = syn.seq.wrapping_add(1).wrapping_add(syn.payload_len);
        let win = u32::from(syn.window).max(1);
        let mut bits = 0;
        let mut scale = [0, 0];
        if let Some(ws) = syn.window_scale {
            bits |= WS_ANNOUNCED_I;
            scale[0] = ws;
        }
        Self {
            win: [
                TcpWin {
                    end,
                    maxend: end,
                    maxwin: win,
                },
                TcpWin::default(),
            ],
            scale,
            sis: SisState::SynSent,
            bits,
        }
    }

    /// UDP sessions use the same field with `SIS_OPEN` and no windows.
    pub const fn udp() -> Self {
        Self {
            win: [TcpWin {
                end: 0,
                maxend: 0,
                maxwin: 0,
            }; 2],
            scale: [0, 0],
            sis: SisState::Open,
            bits: 0,
        }
    }

    /// Whether a direction still has to be re-learned after promotion.
    pub fn relearning(&self, side: Side) -> bool {
        self.bits & relearn_bit(side) != 0
    }

    /// Marks both directions for re-learning (promotion of an established standby session).
    pub fn start_relearn(&mut self) {
        self.bits |= RELEARN_I | RELEARN_R;
    }

    /// Whether `side` has sent a FIN.
    pub fn fin_seen(&self, side: Side) -> bool {
        self.bits & fin_bit(side) != 0
    }

    fn apply(&mut self, event: TcpEvent) {
        if let Some(to) = next_state(self.sis, event) {
            self.sis = to;
        }
    }

    /// Tracks one segment from `from`; updates the state when accepted.
    #[inline]
    pub fn on_segment(&mut self, from: Side, seg: &TcpInfo) -> TcpVerdict {
        const CONTROL: u8 = TcpFlags::SYN | TcpFlags::FIN | TcpFlags::RST | TcpFlags::ACK;
        let plain_ack = seg.flags.0 & CONTROL == TcpFlags::ACK;
        if plain_ack && self.sis == SisState::Open && self.bits & (RELEARN_I | RELEARN_R | FIN_I | FIN_R) == 0
        {
            self.on_open_ack(from, seg)
        } else {
            self.on_any_segment(from, seg)
        }
    }

    /// [`on_segment`](Self::on_segment) for the bulk of traffic: an ACK without SYN, FIN or RST on an open
    /// session where nobody has sent FIN and nothing is being re-learned. The same checks and updates as the
    /// general path takes for such a segment, without the branches that cannot apply.
    #[inline]
    fn on_open_ack(&mut self, from: Side, seg: &TcpInfo) -> TcpVerdict {
        let (s, r) = (from.idx(), from.other().idx());
        let end = seg.seq.wrapping_add(seg.payload_len);
        let win_scaled = u32::from(seg.window) << self.scale[s];
        let (sw, rw) = (self.win[s], self.win[r]);
        let in_seq = seq_le(seg.seq, sw.maxend) && seq_ge(end, sw.end.wrapping_sub(rw.maxwin));
        let ack_ok =
            seq_le(seg.ack, rw.end) && seq_ge(seg.ack, rw.end.wrapping_sub(sw.maxwin.max(MAX_ACK_WIN_CONST)));
        if !(in_seq && ack_ok) {
            return TcpVerdict::OutOfWindow;
        }
        self.win[s].end = seq_max(sw.end, end);
        self.win[s].maxwin = sw.maxwin.max(win_scaled);
        let edge = seg.ack.wrapping_add(win_scaled.max(1));
        self.win[r].maxend = seq_max(rw.maxend, edge);
        TcpVerdict::Accept
    }

    fn on_any_segment(&mut self, from: Side, seg: &TcpInfo) -> TcpVerdict {
        let f = seg.flags;
        if (f.syn() && (f.fin() || f.rst())) || f.0 & 0x17 == 0 {
            return TcpVerdict::Invalid;
        }
        let (s, r) = (from.idx(), from.other().idx());
        let mut end = seg.seq.wrapping_add(seg.payload_len);
        if f.syn() {
            end = end.wrapping_add(1);
        }
        if f.fin() {
            end = end.wrapping_add(1);
        }

        let relearn_s = self.bits & relearn_bit(from) != 0;
        if relearn_s && !f.syn() && self.sis.is_half_open() {
            self.apply(TcpEvent::ResumedOpen);
        }

        // Handshake.
        match (self.sis, from) {
            (SisState::SynSent, Side::Initiator) if f.syn() => {
                // SYN retransmission: accepted when it is the same SYN.
                let same = seg.seq.wrapping_add(1) == self.win[0].end;
                return if same {
                    TcpVerdict::Accept
                } else {
                    TcpVerdict::Invalid
                };
            }
            (SisState::Closing | SisState::Closed, Side::Initiator) if f.syn() && !f.ack() => {
                *self = Self::from_syn(seg);
                self.sis = SisState::Closed;
                self.apply(TcpEvent::Reopen);
                return TcpVerdict::Accept;
            }
            (SisState::SynSent, Side::Responder) => {
                let acks_syn = f.ack() && seg.ack == self.win[0].end;
                if f.rst() {
                    if acks_syn {
                        self.apply(TcpEvent::Reset);
                        return TcpVerdict::Reset;
                    }
                    return TcpVerdict::OutOfWindow;
                }
                if !f.syn() || !acks_syn {
                    return TcpVerdict::Invalid;
                }
                match (self.bits & WS_ANNOUNCED_I != 0, seg.window_scale) {
                    (true, Some(ws)) => self.scale[1] = ws,
                    _ => self.scale = [0, 0],
                }
                let win = u32::from(seg.window).max(1);
                self.win[1] = TcpWin {
                    end,
                    maxend: end.wrapping_add(self.win[0].maxwin),
                    maxwin: win,
                };
                self.win[0].maxend = seq_max(self.win[0].maxend, seg.ack.wrapping_add(win));
                self.apply(TcpEvent::SynAck);
                return TcpVerdict::Accept;
            }
            (SisState::SynRcvd, Side::Responder) if f.syn() => {
                let same = end == self.win[1].end && f.ack();
                return if same {
                    TcpVerdict::Accept
                } else {
                    TcpVerdict::Invalid
                };
            }
            (SisState::SynRcvd, Side::Initiator) if f.syn() => {
                let same = seg.seq.wrapping_add(1) == self.win[0].end;
                return if same {
                    TcpVerdict::Accept
                } else {
                    TcpVerdict::Invalid
                };
            }
            (_, _) if f.syn() => return TcpVerdict::Invalid,
            _ => {}
        }

        let win_scaled = u32::from(seg.window) << self.scale[s];
        let relearn_r = self.bits & relearn_bit(from.other()) != 0;

        if relearn_s {
            // First segment of this direction since promotion: take its numbers as the truth.
            self.bits &= !relearn_bit(from);
            self.win[s].end = end;
            self.win[s].maxwin = win_scaled.max(1);
            let peer_win = self.win[r].maxwin.max(u32::from(u16::MAX));
            self.win[s].maxend = seq_max(self.win[s].maxend, end.wrapping_add(peer_win));
        } else {
            let sw = self.win[s];
            let rw = self.win[r];
            let in_seq = seq_le(seg.seq, sw.maxend) && seq_ge(end, sw.end.wrapping_sub(rw.maxwin));
            let ack_ok = !f.ack()
                || relearn_r
                || (seq_le(seg.ack, rw.end)
                    && seq_ge(seg.ack, rw.end.wrapping_sub(sw.maxwin.max(MAX_ACK_WIN_CONST))));
            if !(in_seq && ack_ok) {
                return TcpVerdict::OutOfWindow;
            }
            if f.rst() {
                self.apply(TcpEvent::Reset);
                return TcpVerdict::Reset;
            }
            self.win[s].end = seq_max(sw.end, end);
            self.win[s].maxwin = sw.maxwin.max(win_scaled);
        }
        if f.rst() {
            self.apply(TcpEvent::Reset);
            return TcpVerdict::Reset;
        }
        if f.ack() {
            let edge = seg.ack.wrapping_add(win_scaled.max(1));
            self.win[r].maxend = seq_max(self.win[r].maxend, edge);
            if self.sis == SisState::SynRcvd && from == Side::Initiator && seg.ack == self.win[1].end {
                self.apply(TcpEvent::HandshakeAck);
            }
            // ACK of the peer's FIN.
            if self.bits & fin_bit(from.other()) != 0 && seq_ge(seg.ack, self.win[r].end) {
                self.bits |= finack_bit(from.other());
            }
        }
        if f.fin() && self.bits & fin_bit(from) == 0 {
            self.bits |= fin_bit(from);
            if self.bits & fin_bit(from.other()) != 0 {
                self.apply(TcpEvent::SecondFin);
            } else {
                self.apply(TcpEvent::FirstFin);
            }
        }
        if self.bits & (FINACK_I | FINACK_R) == FINACK_I | FINACK_R {
            self.apply(TcpEvent::LastFinAcked);
        }
        TcpVerdict::Accept
    }

    /// The HA view of one direction. `ack` is derived: the right edge this side opened for its peer
    /// minus this side's largest window (what [`TcpState::from_records`] turns back into that edge).
    pub fn record(&self, side: Side) -> TcpDirectionRecord {
        let (s, r) = (side.idx(), side.other().idx());
        TcpDirectionRecord {
            next_seq: self.win[s].end,
            ack: self.win[r].maxend.wrapping_sub(self.win[s].maxwin),
            window: self.win[s].maxwin,
            window_scale: self.scale[s],
        }
    }

    /// Rebuilds the state from the records of both directions (standby side).
    pub fn from_records(sis: SisState, init: &TcpDirectionRecord, resp: &TcpDirectionRecord) -> Self {
        let mk = |me: &TcpDirectionRecord, peer: &TcpDirectionRecord| TcpWin {
            end: me.next_seq,
            maxend: peer.ack.wrapping_add(peer.window),
            maxwin: me.window,
        };
        // Which side sent the first FIN is not synced: in SIS_FINWAIT a FIN from either side is taken as
        // the first (no edge) and the next one from the other side moves the session on to SIS_CLOSING.
        Self {
            win: [mk(init, resp), mk(resp, init)],
            scale: [init.window_scale.min(14), resp.window_scale.min(14)],
            sis,
            bits: 0,
        }
    }
}

const fn fin_bit(side: Side) -> u8 {
    match side {
        Side::Initiator => FIN_I,
        Side::Responder => FIN_R,
    }
}
const fn finack_bit(side: Side) -> u8 {
    match side {
        Side::Initiator => FINACK_I,
        Side::Responder => FINACK_R,
    }
}
const fn relearn_bit(side: Side) -> u8 {
    match side {
        Side::Initiator => RELEARN_I,
        Side::Responder => RELEARN_R,
    }
}

#[cfg(test)]
mod tests;
