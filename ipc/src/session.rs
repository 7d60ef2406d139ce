//! The message layer of one association incarnation: envelopes, per-stream sequences, authentication,
//! replay windows and the hello. Shared by the userspace and kernel backends; sans-IO.

use std::collections::VecDeque;

use crate::auth::{Authenticator, ReplayWindow};
use crate::envelope::{
    CONTROL_STREAM, ClientId, Envelope, HELLO_FLAG_KEYED, Hello, MessageKind, STREAM_COUNT,
};
use crate::error::{AuthError, DecodeError};
use crate::status::AssociationStats;

/// Messages held while the peer's hello has not arrived yet (they may overtake it on another stream).
pub(crate) const PRE_HELLO_LIMIT: usize = 1024;

/// What the session made of a received message.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum SessionOutput {
    /// A verified client message.
    Deliver {
        client: ClientId,
        kind: MessageKind,
        payload: Vec<u8>,
    },
    /// The peer's hello verified; the peer's boot id.
    PeerVerified { boot_id: u64 },
    /// A message failed authentication.
    AuthFailed(AuthError),
    /// A message could not be decoded.
    Decode(DecodeError),
}

#[derive(Debug)]
pub(crate) struct Session {
    auth: Authenticator,
    local_boot_id: u64,
    tx_seq: [u64; STREAM_COUNT as usize],
    rx_windows: [ReplayWindow; STREAM_COUNT as usize],
    /// Boot id claimed by the peer's latest hello (verified or not).
    claimed_peer_boot: Option<u64>,
    verified: bool,
    pending: VecDeque<(u16, Vec<u8>)>,
}

impl Session {
    pub(crate) fn new(key: Option<&str>, local_boot_id: u64) -> Self {
        Self {
            auth: Authenticator::new(key),
            local_boot_id,
            tx_seq: [0; STREAM_COUNT as usize],
            rx_windows: Default::default(),
            claimed_peer_boot: None,
            verified: false,
            pending: VecDeque::new(),
        }
    }

    /// Starts a new incarnation (new SCTP association or SCTP restart).
    pub(crate) fn reset(&mut self) {
        self.tx_seq = [0; STREAM_COUNT as usize];
        self.rx_windows = Default::default();
        self.claimed_peer_boot = None;
        self.verified = false;
        self.pending.clear();
    }

    #[cfg(test)]
    pub(crate) fn is_verified(&self) -> bool {
        self.verified
    }

    pub(crate) fn is_keyed(&self) -> bool {
        self.auth.is_keyed()
    }

    /// The hello to send first on a new incarnation: `(stream, bytes)`.
    pub(crate) fn hello(&mut self) -> (u16, Vec<u8>) {
        let flags = if self.auth.is_keyed() { HELLO_FLAG_KEYED } else { 0 };
        let payload = Hello {
            flags,
            boot_id: self.local_boot_id,
        }
        .encode();
        self.seal(ClientId::IPC, MessageKind::HELLO, payload)
    }

    /// Wraps a client message: `(stream, bytes)`.
    pub(crate) fn seal(&mut self, client: ClientId, kind: MessageKind, payload: Vec<u8>) -> (u16, Vec<u8>) {
        let stream = client.stream();
        let slot = &mut self.tx_seq[usize::from(stream)];
        *slot += 1;
        let mut env = Envelope::new(client, kind, *slot, payload);
        self.auth.sign(self.local_boot_id, &mut env);
        (stream, env.encode())
    }

    /// Handles one received SCTP user message.
    pub(crate) fn open(
        &mut self,
        stream: u16,
        bytes: Vec<u8>,
        stats: &mut AssociationStats,
        out: &mut Vec<SessionOutput>,
    ) {
        let is_hello = stream == CONTROL_STREAM
            && bytes.len() > 4
            && bytes[2..4] == ClientId::IPC.0.to_be_bytes()
            && bytes[4] == MessageKind::HELLO.0;
        if is_hello {
            self.open_hello(bytes, stats, out);
            // Messages that overtook the hello can be judged now.
            while let Some((s, b)) = self.pending.pop_front() {
                self.open_message(s, b, stats, out);
            }
            return;
        }
        if self.claimed_peer_boot.is_none() {
            if self.pending.len() >= PRE_HELLO_LIMIT {
                stats.drop_before_hello += 1;
            } else {
                self.pending.push_back((stream, bytes));
            }
            return;
        }
        self.open_message(stream, bytes, stats, out);
    }

    fn decode(bytes: &[u8], stats: &mut AssociationStats, out: &mut Vec<SessionOutput>) -> Option<Envelope> {
        match Envelope::decode(bytes) {
            Ok(env) => Some(env),
            Err(e) => {
                match e {
                    DecodeError::Truncated { .. } => stats.drop_truncated += 1,
                    DecodeError::Oversized { .. } => stats.drop_oversized += 1,
                    DecodeError::UnknownVersion(_) => stats.drop_unknown_version += 1,
                    DecodeError::TrailingBytes(_) => stats.drop_trailing += 1,
                    DecodeError::UnknownKind(_) => stats.drop_unknown_kind += 1,
                    DecodeError::BadHello => stats.drop_bad_hello += 1,
                }
                out.push(SessionOutput::Decode(e));
                None
            }
        }
    }

    fn open_hello(&mut self, bytes: Vec<u8>, stats: &mut AssociationStats, out: &mut Vec<SessionOutput>) {
        let Some(env) = Self::decode(&bytes, stats, out) else {
            return;
        };
        let hello = match Hello::decode(&env.payload) {
            Ok(h) => h,
            Err(e) => {
                stats.drop_bad_hello += 1;
                stats.kind(env.kind).rerr += 1;
                out.push(SessionOutput::Decode(e));
                return;
            }
        };
        self.claimed_peer_boot = Some(hello.boot_id);
        if let Err(e) = self.auth.verify(hello.boot_id, &env) {
            self.verified = false;
            stats.drop_auth += 1;
            stats.kind(env.kind).rerr += 1;
            out.push(SessionOutput::AuthFailed(e));
            return;
        }
        if let Err(e) = self.rx_windows[usize::from(CONTROL_STREAM)].check_and_record(env.sequence) {
            stats.drop_replay += 1;
            stats.kind(env.kind).rerr += 1;
            out.push(SessionOutput::AuthFailed(e));
            return;
        }
        stats.kind(env.kind).rcv += 1;
        self.verified = true;
        out.push(SessionOutput::PeerVerified {
            boot_id: hello.boot_id,
        });
    }

    fn open_message(
        &mut self,
        stream: u16,
        bytes: Vec<u8>,
        stats: &mut AssociationStats,
        out: &mut Vec<SessionOutput>,
    ) {
        let Some(env) = Self::decode(&bytes, stats, out) else {
            return;
        };
        let peer_boot = self.claimed_peer_boot.unwrap_or_default();
        if let Err(e) = self.auth.verify(peer_boot, &env) {
            stats.drop_auth += 1;
            stats.kind(env.kind).rerr += 1;
            out.push(SessionOutput::AuthFailed(e));
            return;
        }
        if !self.verified {
            // The tag verified but the hello did not: cannot happen with one key; refuse anyway.
            stats.drop_auth += 1;
            stats.kind(env.kind).rerr += 1;
            out.push(SessionOutput::AuthFailed(AuthError::BadTag));
            return;
        }
        let Some(window) = self.rx_windows.get_mut(usize::from(stream)) else {
            stats.drop_foreign_packets += 1;
            return;
        };
        if let Err(e) = window.check_and_record(env.sequence) {
            stats.drop_replay += 1;
            stats.kind(env.kind).rerr += 1;
            out.push(SessionOutput::AuthFailed(e));
            return;
        }
        if !env.kind.is_known() || env.kind == MessageKind::HELLO {
            stats.drop_unknown_kind += 1;
            stats.kind(env.kind).rerr += 1;
            out.push(SessionOutput::Decode(DecodeError::UnknownKind(env.kind.0)));
            return;
        }
        stats.msgs_received += 1;
        stats.bytes_received += env.payload.len() as u64;
        stats.kind(env.kind).rcv += 1;
        out.push(SessionOutput::Deliver {
            client: env.client,
            kind: env.kind,
            payload: env.payload,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair(ka: Option<&str>, kb: Option<&str>) -> (Session, Session) {
        (Session::new(ka, 1111), Session::new(kb, 2222))
    }

    fn deliver(from: &mut Session, to: &mut Session, stats: &mut AssociationStats) -> Vec<SessionOutput> {
        let mut out = Vec::new();
        let (s, b) = from.hello();
        to.open(s, b, stats, &mut out);
        let (s, b) = from.seal(ClientId::RF, MessageKind::RF_CONTROL, b"hi".to_vec());
        to.open(s, b, stats, &mut out);
        out
    }

    #[test]
    fn same_key_delivers() {
        let (mut a, mut b) = pair(Some("k"), Some("k"));
        let mut st = AssociationStats::default();
        let out = deliver(&mut a, &mut b, &mut st);
        assert_eq!(
            out,
            vec![
                SessionOutput::PeerVerified { boot_id: 1111 },
                SessionOutput::Deliver {
                    client: ClientId::RF,
                    kind: MessageKind::RF_CONTROL,
                    payload: b"hi".to_vec()
                },
            ]
        );
        assert_eq!(st.msgs_received, 1);
        assert!(b.is_verified());
    }

    #[test]
    fn wrong_or_missing_key_is_refused() {
        for (ka, kb, err) in [
            (Some("good"), Some("bad"), AuthError::BadTag),
            (None, Some("k"), AuthError::MissingTag),
            (Some("k"), None, AuthError::UnexpectedTag),
        ] {
            let (mut a, mut b) = pair(ka, kb);
            let mut st = AssociationStats::default();
            let out = deliver(&mut a, &mut b, &mut st);
            assert_eq!(
                out,
                vec![SessionOutput::AuthFailed(err), SessionOutput::AuthFailed(err)]
            );
            assert_eq!(st.drop_auth, 2);
            assert_eq!(st.msgs_received, 0);
            assert!(!b.is_verified());
        }
    }

    #[test]
    fn messages_overtaking_the_hello_are_held() {
        let (mut a, mut b) = pair(Some("k"), Some("k"));
        let mut st = AssociationStats::default();
        let mut out = Vec::new();
        let hello = a.hello();
        let (s, m) = a.seal(ClientId::INSPECT, MessageKind::INSPECT_SYNC, vec![7]);
        b.open(s, m, &mut st, &mut out);
        assert!(out.is_empty());
        b.open(hello.0, hello.1, &mut st, &mut out);
        assert_eq!(out.len(), 2);
        assert!(matches!(
            out[1],
            SessionOutput::Deliver {
                kind: MessageKind::INSPECT_SYNC,
                ..
            }
        ));
    }

    #[test]
    fn replay_and_unknown_kind_are_dropped() {
        let (mut a, mut b) = pair(Some("k"), Some("k"));
        let mut st = AssociationStats::default();
        let mut out = Vec::new();
        let (s, h) = a.hello();
        b.open(s, h, &mut st, &mut out);
        let (s, m) = a.seal(ClientId::RF, MessageKind::RF_CONTROL, vec![1]);
        b.open(s, m.clone(), &mut st, &mut out);
        b.open(s, m, &mut st, &mut out);
        assert_eq!(st.drop_replay, 1);
        let (s, m) = a.seal(ClientId::RF, MessageKind(99), vec![1]);
        b.open(s, m, &mut st, &mut out);
        assert_eq!(st.drop_unknown_kind, 1);
        b.open(s, vec![1, 2, 3], &mut st, &mut out);
        assert_eq!(st.drop_truncated, 1);
        assert_eq!(st.msgs_received, 1);
        assert_eq!(st.per_kind["rf-control"].rcv, 1);
        assert_eq!(st.per_kind["rf-control"].rerr, 1);
        assert_eq!(st.per_kind["kind-99"].rerr, 1);
    }

    #[test]
    fn reset_starts_sequences_again() {
        let (mut a, mut b) = pair(None, None);
        let mut st = AssociationStats::default();
        deliver(&mut a, &mut b, &mut st);
        a.reset();
        b.reset();
        let out = deliver(&mut a, &mut b, &mut st);
        assert_eq!(out.len(), 2);
        assert_eq!(st.msgs_received, 2);
        assert_eq!(st.drop_replay, 0);
    }
}
